//! Determinism: `generate` and `report` write byte-identical files across runs and
//! across thread counts (RAYON_NUM_THREADS and POLARS_MAX_THREADS 1 vs 2). Only `run.json`
//! (timings, the command line) may differ.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

const POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/policies.toml");

/// Every file under `root` (relative path -> bytes), except `run.json`.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = common::file_tree(root);
    files.retain(|path, _| Path::new(path).file_name().is_some_and(|n| n != "run.json"));
    files
}

fn handoff(threads: u32) -> Command {
    let mut cmd = Command::cargo_bin("handoff").unwrap();
    cmd.env("RAYON_NUM_THREADS", threads.to_string())
        .env("POLARS_MAX_THREADS", threads.to_string())
        .env_remove("HANDOFF_SEED")
        .env("HANDOFF_QUIET", "true");
    cmd
}

fn generate(out: &Path, threads: u32, format: &str) {
    handoff(threads)
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
    handoff(threads)
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
        let tmp = TempDir::new().unwrap();
        let runs: Vec<_> = [(1, "a"), (2, "b"), (2, "c")]
            .iter()
            .map(|(threads, name)| {
                let out = tmp.path().join(name);
                generate(&out, *threads, format);
                tree(&out)
            })
            .collect();
        assert!(runs[0].len() >= 4, "{format}: {:?}", runs[0].keys());
        assert_same(&runs[0], &runs[1], &format!("generate {format}, 1 vs 2 threads"));
        assert_same(&runs[1], &runs[2], &format!("generate {format}, two runs"));
    }
}

#[test]
fn report_is_byte_identical_across_runs_and_thread_counts_except_run_json() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    generate(&data, 2, "csv");
    let mut runs = Vec::new();
    for (threads, name) in [(1, "a"), (2, "b"), (2, "c")] {
        let out = tmp.path().join(name);
        // A week (writes history.parquet too) and the default window.
        report(&data, &out, threads, &["--week", "2026-W47"]);
        report(&data, &out, threads, &[]);
        runs.push(tree(&out));
    }
    let names: Vec<&String> = runs[0].keys().collect();
    for expected in ["history.parquet", "2026-W47/summary.json", "2026-W47/report.html"] {
        assert!(runs[0].contains_key(expected), "{expected} missing from {names:?}");
    }
    assert!(names.iter().any(|n| n.contains("charts/")), "{names:?}");
    assert_same(&runs[0], &runs[1], "report, 1 vs 2 threads");
    assert_same(&runs[1], &runs[2], "report, two runs");
}
