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

/// The SHA-256 of every file `generate` wrote before `--slice-effects` existed (commit
/// 5e6d532, `--conversations 300 --seed 11 --log-propensity --truth --policies
/// data/policies.toml`), per format: without the flag the output must not move by one byte,
/// since the accuracy studies and the shipped sample depend on it. The Parquet bytes also
/// depend on the polars writer: after a polars upgrade, re-record them only if the CSV and
/// JSONL hashes still hold.
const BEFORE_SLICE_EFFECTS: [(&str, [&str; 3]); 3] = [
    (
        "csv",
        [
            "5c7350bfd880e49b1cb754c900d41cdb8b3cbcb33c0f78cf490d9984545b7488",
            "3bf117fb6c703767b7111f74c5db54d8da2bb6a0499454ce176d98b03ef0421e",
            "dc1be6e5e26211f81eb2d8d873ac803293a4cb409f9a083793a0ca5098c8cd70",
        ],
    ),
    (
        "jsonl",
        [
            "dd0485477a201fefb8f59248d316d1a5c48387c848a3992bbcfa22bc6531c5c6",
            "d8d45eedb86124590001a6fd589cb878ff43f292391116f03e674486ad4ad1d5",
            "0ec9bd1937e634cc7026739792162382def59c0604debb131993fd6fb84c9d20",
        ],
    ),
    (
        "parquet",
        [
            "44582c9d6ee0857402730b3aea6abc1380d1c7206a843b365b7203f6d4b130d3",
            "3c9b40aaa7b7547a203a5a1190e9173768d82ae239edd4dfa258e52bf5403313",
            "08c5331492d234a95ac65611e0e7626b52e7f949c1b7d209f61fa4366b421bfd",
        ],
    ),
];
/// truth.json of the same run (identical in every format), before `slices` was appended.
const TRUTH_BEFORE_SLICES: &str =
    "f78066fd676357bfe256c788f01dfdfb79e56ec1d57f6a15e8765f5657a71ec4";

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("truth")).expect("json")
}

#[test]
fn without_slice_effects_every_file_is_byte_identical_to_before() {
    for (format, hashes) in BEFORE_SLICE_EFFECTS {
        let dir = Workdir::new();
        let truth = dir.join("truth.json");
        let mut cmd = handoff();
        cmd.args(["generate", "--conversations", "300", "--seed", "11", "--quiet"])
            .args(["--log-propensity", "--format", format, "--out"])
            .arg(dir.join("data"))
            .arg("--truth")
            .arg(&truth)
            .args(["--policies", POLICIES])
            .assert()
            .success();
        for (table, hash) in TABLES.iter().zip(hashes) {
            let file = format!("{table}.{format}");
            assert_eq!(sha256(&read(&dir.join("data"), &file)), hash, "{file}");
        }
        // The truth gained `slices` as its last member; everything before it is unchanged.
        let text = String::from_utf8(std::fs::read(&truth).expect("truth")).expect("utf8");
        let (before, _) = text.split_once(",\n  \"slices\": ").expect("a slices member");
        assert_eq!(sha256(format!("{before}\n}}\n").as_bytes()), TRUTH_BEFORE_SLICES, "{format}");
    }
}

#[test]
fn the_shipped_sample_is_what_generate_writes() {
    // docs/generator.md: data/ is `--conversations 2000 --weeks 2 --start 2026-11-09 --seed 7
    // --format csv`; the default world must keep writing exactly that.
    let dir = Workdir::new();
    let mut cmd = handoff();
    cmd.args(["generate", "--conversations", "2000", "--weeks", "2", "--start", "2026-11-09"])
        .args(["--seed", "7", "--format", "csv", "--quiet", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    for table in TABLES {
        let file = format!("{table}.csv");
        assert!(read(dir.path(), &file) == read(&shipped, &file), "{file} differs from data/");
    }
}

const REGIONS: [&str; 4] = ["na", "emea", "apac", "latam"];

#[test]
fn slice_effects_add_a_region_column_and_the_truth_has_slices() {
    let dir = Workdir::new();
    let data = dir.join("data");
    let truth = dir.join("truth.json");
    let mut cmd = handoff();
    cmd.args(["generate", "--conversations", "600", "--seed", "5", "--quiet", "--slice-effects"])
        .arg("--out")
        .arg(&data)
        .arg("--truth")
        .arg(&truth)
        .args(["--policies", POLICIES])
        .assert()
        .success();

    let mut reader = csv::Reader::from_path(data.join("conversations.csv")).expect("csv");
    let header: Vec<String> = reader.headers().expect("header").iter().map(String::from).collect();
    assert_eq!(header.last().map(String::as_str), Some("region"), "{header:?}");
    let seg = header.iter().position(|h| h == "segment").expect("segment");
    let mut counts = std::collections::BTreeMap::<(String, String), u64>::new();
    for row in reader.records() {
        let row = row.expect("row");
        let region = row.get(header.len() - 1).expect("region").to_string();
        assert!(REGIONS.contains(&region.as_str()), "{region}");
        *counts.entry(("region".into(), region)).or_default() += 1;
        *counts.entry(("segment".into(), row[seg].to_string())).or_default() += 1;
    }

    let doc = read_json(&truth);
    assert_eq!(doc["conversations"], 600);
    let cuts = doc["slices"].as_array().expect("slices");
    let by: Vec<&str> = cuts.iter().filter_map(|c| c["by"].as_str()).collect();
    assert_eq!(by, ["segment", "channel", "ai_agent", "region"]);
    let names = |policies: &serde_json::Value| -> Vec<String> {
        let list = policies.as_array().expect("policies");
        list.iter().filter_map(|p| p["name"].as_str().map(String::from)).collect()
    };
    let overall = names(&doc["policies"]);
    assert_eq!(overall[0], "historical");
    for cut in cuts {
        let values = cut["values"].as_array().expect("values");
        let sizes: Vec<u64> =
            values.iter().map(|v| v["conversations"].as_u64().expect("n")).collect();
        assert_eq!(sizes.iter().sum::<u64>(), 600, "{}", cut["by"]);
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        for v in values {
            assert_eq!(names(&v["policies"]), overall);
            assert_eq!(
                v["sweeps"].as_array().map(Vec::len),
                doc["sweeps"].as_array().map(Vec::len)
            );
            let by = cut["by"].as_str().expect("by");
            if by == "segment" || by == "region" {
                let key = (by.to_string(), v["value"].as_str().expect("value").to_string());
                assert_eq!(counts.get(&key).copied(), v["conversations"].as_u64(), "{key:?}");
            }
        }
    }
}

#[test]
fn region_is_written_in_every_format_and_the_env_variable_turns_effects_on() {
    for format in ["jsonl", "parquet"] {
        let dir = Workdir::new();
        let mut cmd = handoff();
        cmd.env("HANDOFF_GENERATE_SLICE_EFFECTS", "true")
            .args(["generate", "--conversations", "50", "--quiet", "--format", format, "--out"])
            .arg(dir.path())
            .assert()
            .success();
        // validate reads it back: the column is an extra column, kept, and the data is clean.
        let mut validate = handoff();
        validate.args(["validate", "--quiet", "--data"]).arg(dir.path()).assert().success();
        let bytes = read(dir.path(), &format!("conversations.{format}"));
        if format == "jsonl" {
            let text = String::from_utf8(bytes).expect("utf8");
            for line in text.lines() {
                let row: serde_json::Value = serde_json::from_str(line).expect("json");
                assert!(REGIONS.contains(&row["region"].as_str().expect("region")), "{line}");
            }
        } else {
            use polars::prelude::{ParquetReader, SerReader};
            let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish().expect("parquet");
            let region = df.column("region").expect("a region column");
            assert_eq!(region.null_count(), 0);
            assert_eq!(df.height(), 50);
        }
    }
}

#[test]
fn the_slice_world_is_deterministic_whatever_the_thread_count() {
    let run = |threads: Option<&str>| {
        let dir = Workdir::new();
        let mut cmd = handoff();
        if let Some(n) = threads {
            cmd.env("RAYON_NUM_THREADS", n);
        }
        cmd.args([
            "generate",
            "--conversations",
            "300",
            "--seed",
            "4",
            "--quiet",
            "--slice-effects",
        ])
        .arg("--out")
        .arg(dir.join("data"))
        .arg("--truth")
        .arg(dir.join("truth.json"))
        .args(["--policies", POLICIES])
        .assert()
        .success();
        dir
    };
    let (a, b) = (run(None), run(Some("1")));
    for file in ["data/conversations.csv", "data/messages.csv", "data/outcomes.csv", "truth.json"] {
        assert!(read(a.path(), file) == read(b.path(), file), "{file} differs");
    }
}
