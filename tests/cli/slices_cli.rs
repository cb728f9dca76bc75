//! Slices (slices.md) through the real binary: `--by` and `HANDOFF_BY`, the files it adds
//! (`slices.csv`, the small-multiples charts, `summary.json`'s `slices`, the slice rows of
//! `history.parquet`), `--min-slice` and `--max-slices`, the usage errors, determinism, and
//! nothing added without `--by`.

use std::fs;
use std::path::{Path, PathBuf};

use handoff::report::history::read_history;
use serde_json::Value;

use crate::harness::*;

/// 1,500 generated conversations over two ISO weeks.
fn generate(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let o = run(handoff()
        .args(["generate", "--conversations", "1500", "--seed", "3", "--out"])
        .arg(&data));
    assert_ok(&o);
    data
}

fn report(data: &Path, out: &Path, extra: &[&str]) -> std::process::Command {
    let mut cmd = handoff();
    cmd.arg("report").arg("--data").arg(data).arg("--policies").arg(POLICIES);
    cmd.arg("--out").arg(out).args(["--bootstrap", "40"]).args(extra);
    cmd
}

fn summary(folder: &Path) -> Value {
    let text = fs::read_to_string(folder.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

#[test]
fn by_segment_and_channel_adds_every_slice_file_and_figure() {
    let w = Workdir::new();
    let data = generate(w.path());
    let out = w.join("reports");
    assert_ok(&run(&mut report(&data, &out, &["--by", "segment,channel"])));
    let folder = out.join("all");
    let s = summary(&folder);
    let cuts = s["slices"].as_array().expect("slices");
    assert_eq!(cuts.len(), 2);
    let total = s["data"]["conversations"].as_u64().unwrap();
    for (cut, by) in cuts.iter().zip(["segment", "channel"]) {
        assert_eq!(cut["by"], by);
        assert_eq!(cut["min_slice"], 200);
        let values = cut["values"].as_array().unwrap();
        let sizes: Vec<u64> = values.iter().map(|v| v["conversations"].as_u64().unwrap()).collect();
        assert_eq!(sizes.iter().sum::<u64>(), total, "{by}: slices partition the window");
        assert!(sizes.windows(2).all(|p| p[0] >= p[1]), "{by}: by decreasing size {sizes:?}");
        for v in values {
            let policies = v["policies"].as_array().unwrap();
            assert_eq!(policies[0]["name"], "historical");
            assert_eq!(policies.len(), s["policies"].as_array().unwrap().len());
            assert_eq!(
                v["sweeps"].as_array().unwrap().len(),
                s["sweeps"].as_array().unwrap().len()
            );
        }
        assert_eq!(cut["findings"].as_array().unwrap().len(), 1);
        assert!(folder.join(format!("charts/slices-{by}.svg")).is_file());
        assert!(folder.join(format!("charts/slices-{by}.png")).is_file());
    }
    let segments: Vec<&str> = cuts[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert_eq!(segments, ["smb", "mid_market", "enterprise"]);
    // slices.csv: by, value, then policies.csv's columns; one row per cut, slice and policy.
    let mut reader = csv::Reader::from_path(folder.join("slices.csv")).expect("slices.csv");
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut policies = csv::Reader::from_path(folder.join("policies.csv")).unwrap();
    let policy_header: Vec<String> = policies.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..2], ["by", "value"]);
    assert_eq!(header[2..], policy_header[..]);
    let rows = reader.records().count();
    let policy_rows = policies.records().count();
    assert_eq!(rows, policy_rows * (3 + 3), "every policy row once per slice");
    let md = fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("## By segment") && md.contains("## By channel"), "{md}");
    // history.parquet: the overall rows plus one per slice and named policy.
    let history = read_history(&out.join("history.parquet")).unwrap();
    assert!(history.is_empty(), "the whole-data window adds no history rows");
}

#[test]
fn weekly_history_gets_slice_rows_and_the_variable_works_like_the_flag() {
    let w = Workdir::new();
    let data = generate(w.path());
    let out = w.join("reports");
    let mut cmd = report(&data, &out, &["--week", "2026-W46"]);
    cmd.env("HANDOFF_BY", "segment");
    assert_ok(&run(&mut cmd));
    let folder = out.join("2026-W46");
    let s = summary(&folder);
    assert_eq!(s["slices"][0]["by"], "segment");
    let history = read_history(&out.join("history.parquet")).unwrap();
    let overall = history.iter().filter(|r| r.by.is_none()).count();
    let sliced: Vec<_> = history.iter().filter(|r| r.by.as_deref() == Some("segment")).collect();
    assert!(overall > 0);
    assert_eq!(sliced.len(), overall * 3, "one row per segment and policy");
    assert!(sliced.iter().any(|r| r.value.as_deref() == Some("enterprise")));
}

#[test]
fn without_by_there_is_no_slice_file_or_key() {
    let w = Workdir::new();
    let data = generate(w.path());
    let out = w.join("reports");
    assert_ok(&run(&mut report(&data, &out, &[])));
    let folder = out.join("all");
    assert!(summary(&folder).get("slices").is_none());
    assert!(!folder.join("slices.csv").exists());
    assert!(!folder.join("charts/slices-segment.svg").exists());
}

#[test]
fn min_slice_warns_and_withholds_the_optimum() {
    let w = Workdir::new();
    let data = generate(w.path());
    let out = w.join("reports");
    assert_ok(&run(&mut report(&data, &out, &["--by", "segment", "--min-slice", "600"])));
    let s = summary(&out.join("all"));
    let values = s["slices"][0]["values"].as_array().unwrap().clone();
    let small: Vec<&Value> =
        values.iter().filter(|v| v["conversations"].as_u64().unwrap() < 600).collect();
    assert!(!small.is_empty());
    for v in &small {
        let warning = v["warnings"][0].as_str().unwrap();
        assert!(warning.contains("too few conversations for a reliable estimate"), "{warning}");
        for sweep in v["sweeps"].as_array().unwrap() {
            assert!(sweep["optimal"].is_null(), "no optimum under --min-slice");
        }
        let p = &v["policies"][1];
        assert!(p["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("too few")));
    }
    let large = values.iter().find(|v| v["conversations"].as_u64().unwrap() >= 600).unwrap();
    assert!(large["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn max_slices_pools_the_rest_into_other_and_names_them() {
    let w = Workdir::new();
    let data = generate(w.path());
    let out = w.join("reports");
    assert_ok(&run(&mut report(&data, &out, &["--by", "ai_agent", "--max-slices", "2"])));
    let s = summary(&out.join("all"));
    let values = s["slices"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values[1]["value"], "(other)");
    let warning = values[1]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("3 values pooled into (other)") && warning.contains("sdr-"),
        "{warning}"
    );
}

#[test]
fn an_unknown_or_refused_column_is_a_usage_error_naming_the_columns() {
    let w = Workdir::new();
    let data = generate(w.path());
    let out = w.join("reports");
    let o = run(&mut report(&data, &out, &["--by", "region"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("no column region") && e.contains("segment") && e.contains("ai_agent"),
        "{e}"
    );
    assert!(e.contains("conversations table"), "{e}");
    let o = run(&mut report(&data, &out, &["--by", "conversation_id"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot slice by conversation_id"));
    let o = run(&mut report(&data, &out, &["--by", "segment", "--max-slices", "0"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.join("all").exists(), "a refused run writes no report");
}

#[test]
fn a_sliced_report_is_byte_identical_across_runs_and_thread_counts() {
    let w = Workdir::new();
    let data = generate(w.path());
    let a = w.join("a");
    let b = w.join("b");
    assert_ok(&run(&mut report(&data, &a, &["--by", "segment,channel"])));
    let mut one_thread = report(&data, &b, &["--by", "segment,channel"]);
    one_thread.env("RAYON_NUM_THREADS", "1");
    assert_ok(&run(&mut one_thread));
    assert_eq!(file_tree_but_run_json(&a), file_tree_but_run_json(&b));
}
