//! Determinism: `generate` and `report` write byte-identical files across runs and
//! across thread counts (RAYON_NUM_THREADS and POLARS_MAX_THREADS 1 vs 2). Only `run.json`
//! (timings, the command line) may differ.

use std::collections::BTreeMap;
use std::path::Path;

use std::process::Command;

use crate::harness::*;

/// `handoff` on `threads` threads (rayon and polars), quiet.
fn on_threads(threads: u32) -> Command {
    let mut cmd = handoff();
    cmd.env("RAYON_NUM_THREADS", threads.to_string())
        .env("POLARS_MAX_THREADS", threads.to_string())
        .env("HANDOFF_QUIET", "true");
    cmd
}

fn generate(out: &Path, threads: u32, format: &str) {
    on_threads(threads)
        .args([
            "generate",
            "--conversations",
            "400",
            "--start",
            "2026-11-09",
            "--format",
            format,
            "--policies",
            POLICIES,
        ])
        .arg("--out")
        .arg(out)
        .arg("--truth")
        .arg(out.join("truth.json"))
        .assert()
        .success();
}

fn report(data: &Path, out: &Path, threads: u32, window: &[&str]) {
    on_threads(threads)
        .args(["report", "--policies", POLICIES, "--bootstrap", "40"])
        .args(window)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{what}: file lists");
    for (name, bytes) in a {
        assert!(bytes == &b[name], "{what}: {name} differs");
    }
}

#[test]
fn generate_is_byte_identical_across_runs_and_thread_counts() {
    for format in ["csv", "parquet"] {
        let tmp = Workdir::new();
        let runs: Vec<_> = [(1, "a"), (2, "b"), (2, "c")]
            .iter()
            .map(|(threads, name)| {
                let out = tmp.join(name);
                generate(&out, *threads, format);
                file_tree_but_run_json(&out)
            })
            .collect();
        assert!(runs[0].len() >= 4, "{format}: {:?}", runs[0].keys());
        assert_same(&runs[0], &runs[1], &format!("generate {format}, 1 vs 2 threads"));
        assert_same(&runs[1], &runs[2], &format!("generate {format}, two runs"));
    }
}

#[test]
fn report_is_byte_identical_across_runs_and_thread_counts_except_run_json() {
    let tmp = Workdir::new();
    let data = tmp.join("data");
    generate(&data, 2, "csv");
    let mut runs = Vec::new();
    for (threads, name) in [(1, "a"), (2, "b"), (2, "c")] {
        let out = tmp.join(name);
        // A week (writes history.parquet too) and the default window.
        report(&data, &out, threads, &["--week", "2026-W47"]);
        report(&data, &out, threads, &[]);
        runs.push(file_tree_but_run_json(&out));
    }
    let names: Vec<&String> = runs[0].keys().collect();
    for expected in ["history.parquet", "2026-W47/summary.json", "2026-W47/report.html"] {
        assert!(runs[0].contains_key(expected), "{expected} missing from {names:?}");
    }
    assert!(names.iter().any(|n| n.contains("charts/")), "{names:?}");
    assert_same(&runs[0], &runs[1], "report, 1 vs 2 threads");
    assert_same(&runs[1], &runs[2], "report, two runs");
}
