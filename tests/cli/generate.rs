//! `handoff generate` end to end: determinism, formats, optional columns.

use std::path::Path;

use crate::harness::*;

fn generate(dir: &Path, extra: &[&str]) {
    let mut cmd = handoff();
    cmd.args(["generate", "--conversations", "300", "--quiet", "--out"]).arg(dir).args(extra);
    cmd.assert().success();
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

const TABLES: [&str; 3] = ["conversations", "messages", "outcomes"];

#[test]
fn same_seed_gives_identical_bytes_in_every_format_and_thread_count() {
    for format in ["csv", "jsonl", "parquet"] {
        let a = Workdir::new();
        let b = Workdir::new();
        generate(a.path(), &["--seed", "11", "--format", format]);
        let mut cmd = handoff();
        cmd.env("RAYON_NUM_THREADS", "1")
            .args(["generate", "--conversations", "300", "--quiet", "--seed", "11"])
            .args(["--format", format, "--out"])
            .arg(b.path())
            .assert()
            .success();
        for table in TABLES {
            let file = format!("{table}.{format}");
            let bytes = read(a.path(), &file);
            assert!(!bytes.is_empty(), "{file} is empty");
            assert_eq!(bytes, read(b.path(), &file), "{file} differs");
        }
    }
}

#[test]
fn different_seeds_give_different_data() {
    let a = Workdir::new();
    let b = Workdir::new();
    generate(a.path(), &["--seed", "1"]);
    generate(b.path(), &["--seed", "2"]);
    for table in TABLES {
        let file = format!("{table}.csv");
        assert_ne!(read(a.path(), &file), read(b.path(), &file), "{file}");
    }
}

fn messages(dir: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_path(dir.join("messages.csv")).expect("messages.csv");
    let header = reader.headers().expect("header").iter().map(str::to_string).collect();
    let rows = reader.records().map(|r| r.expect("row")).collect();
    (header, rows)
}

#[test]
fn tags_are_written_by_default_and_left_out_with_no_tags() {
    let a = Workdir::new();
    generate(a.path(), &[]);
    let (header, rows) = messages(a.path());
    let signals = header.iter().position(|h| h == "signals").expect("signals column");
    assert!(rows.iter().any(|r| !r[signals].is_empty()));
    assert!(!header.contains(&"handoff_probability".to_string()));

    let b = Workdir::new();
    generate(b.path(), &["--no-tags"]);
    let (header, _) = messages(b.path());
    assert!(!header.contains(&"signals".to_string()), "{header:?}");
    assert!(header.contains(&"text".to_string()));
}

#[test]
fn log_propensity_writes_probabilities_on_prospect_messages_only() {
    let dir = Workdir::new();
    generate(dir.path(), &["--log-propensity"]);
    let (header, rows) = messages(dir.path());
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (p, sender) = (col("handoff_probability"), col("sender"));
    let mut prospects = 0;
    for row in &rows {
        if &row[sender] == "prospect" {
            prospects += 1;
            let value: f64 = row[p].parse().expect("a number");
            assert!((0.0..=1.0).contains(&value), "{value}");
        } else {
            assert!(row[p].is_empty(), "{:?}", row);
        }
    }
    assert!(prospects > 300);
}

#[test]
fn outcomes_reference_existing_turns_and_most_conversations_have_a_row_or_not() {
    let dir = Workdir::new();
    generate(dir.path(), &["--format", "jsonl"]);
    let text = String::from_utf8(read(dir.path(), "outcomes.jsonl")).expect("utf8");
    let rows: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert!(!rows.is_empty() && rows.len() < 300);
    for row in &rows {
        if let Some(amount) = row["opportunity_amount"].as_f64() {
            assert!(amount > 0.0);
            assert_eq!(row["currency"], "USD");
            assert!(row["meeting_at"].is_string());
        }
    }
}

#[test]
fn bad_start_weeks_or_count_are_usage_errors() {
    for bad in [
        ["--start", "2026-02-30"],
        ["--weeks", "0"],
        ["--weeks", "100000"],
        ["--conversations", "0"],
    ] {
        let dir = Workdir::new();
        let mut cmd = handoff();
        cmd.arg("generate").args(bad).arg("--out").arg(dir.path());
        cmd.assert().code(2).stderr(predicates::str::contains(bad[0]));
    }
}

#[test]
fn truth_with_an_unreadable_policies_file_is_a_usage_error_naming_it() {
    let dir = Workdir::new();
    let mut cmd = handoff();
    cmd.args(["generate", "--conversations", "10", "--quiet", "--out"])
        .arg(dir.join("out"))
        .arg("--truth")
        .arg(dir.join("truth.json"))
        .arg("--policies")
        .arg(dir.join("missing.toml"));
    cmd.assert().code(2).stderr(predicates::str::contains("missing.toml"));
    assert!(!dir.join("truth.json").exists());
}

#[test]
fn truth_lists_historical_policies_and_sweep_points() {
    let dir = Workdir::new();
    let policies = dir.join("policies.toml");
    std::fs::write(
        &policies,
        r#"
[[policy]]
name = "framework"
hand_off_on = ["human_request", "high_intent", "complex_discovery", "multiple_stakeholders",
               "enterprise", "sensitive", "repeated_objection"]
unless = ["qualification_incomplete", "scheduling", "simple_question"]

[[sweep]]
policy = "framework"
parameter = "delay"
values = [0, 2]
objective = "meetings"
"#,
    )
    .expect("write policies");
    let truth = dir.join("truth.json");
    let out = dir.join("data");
    generate(
        &out,
        &["--truth", truth.to_str().expect("utf8"), "--policies", policies.to_str().expect("utf8")],
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&truth).expect("truth")).expect("json");
    assert_eq!(doc["conversations"], 300);
    let names: Vec<&str> = doc["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["historical", "framework"]);
    let points = doc["sweeps"][0]["points"].as_array().expect("points");
    assert_eq!(points.len(), 2);
    assert_eq!(points[0]["variant"], "framework@delay=0");
    // The framework is the world's reference: handing off on time beats waiting two points.
    let on_time = points[0]["meeting_rate"].as_f64().expect("rate");
    let delayed = points[1]["meeting_rate"].as_f64().expect("rate");
    assert!(on_time > delayed, "{on_time} {delayed}");
}
