//! Crash safety of the report folder (outputs.md, "Behaviour a scheduler relies on"):
//! a run killed with SIGKILL while writing leaves the previous report intact and the next run
//! cleans up after it; two runs writing one reports root at once never mix their folders, and a
//! run that cannot get the lock in `--lock-timeout` seconds gives up with a clear message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

fn command() -> std::process::Command {
    let mut cmd = handoff();
    cmd.env("HANDOFF_QUIET", "true");
    cmd
}

fn generate(out: &Path, conversations: u32) {
    let status = command()
        .args(["generate", "--start", "2026-11-09", "--conversations"])
        .arg(conversations.to_string())
        .arg("--out")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
}

fn report(data: &Path, out: &Path, seed: u32) -> std::process::Command {
    let mut cmd = command();
    cmd.args(["report", "--week", "2026-W46", "--policies", POLICIES, "--seed"])
        .arg(seed.to_string())
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .stderr(Stdio::piped());
    cmd
}

fn run_ok(mut cmd: std::process::Command) {
    let output = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn temporaries(out: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(".tmp-")))
        .collect()
}

/// Polls until `<out>/.<label>.tmp-*` appears; false when the child ended first.
fn wait_for_temporary(child: &mut Child, out: &Path, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if out.is_dir() && !temporaries(out).is_empty() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

#[test]
fn a_run_killed_midway_leaves_the_previous_report_and_the_next_run_cleans_up() {
    let tmp = Workdir::new();
    let data = tmp.join("data");
    let out = tmp.join("reports");
    generate(&data, 3000);
    run_ok(report(&data, &out, 1));
    let before = file_tree(&out);
    assert!(before.contains_key("2026-W46/summary.json"), "{:?}", before.keys());

    // A run with other results (another seed), killed while it writes its temporary folder.
    let mut child = report(&data, &out, 2).stderr(Stdio::null()).spawn().unwrap();
    let caught = wait_for_temporary(&mut child, &out, Duration::from_secs(600));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(caught, "the run ended before its temporary folder could be seen");
    assert!(!temporaries(&out).is_empty(), "the killed run's temporary is left behind");
    let after_kill: BTreeMap<String, Vec<u8>> =
        file_tree(&out).into_iter().filter(|(name, _)| !name.contains(".tmp-")).collect();
    assert!(after_kill == before, "the previous report changed under a killed run");

    // The next run completes and removes the leftovers.
    run_ok(report(&data, &out, 2));
    assert_eq!(temporaries(&out), Vec::<PathBuf>::new());
    let next = file_tree(&out);
    assert_eq!(next.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
    assert!(next["2026-W46/summary.json"] != before["2026-W46/summary.json"], "seed 2 differs");
}

#[test]
fn two_runs_at_once_never_mix_their_folders() {
    let tmp = Workdir::new();
    let data = tmp.join("data");
    generate(&data, 300);
    // The two possible outcomes, written alone.
    let alone: Vec<BTreeMap<String, Vec<u8>>> = [1, 2]
        .iter()
        .map(|seed| {
            let out = tmp.join(format!("alone-{seed}"));
            run_ok(report(&data, &out, *seed));
            file_tree_but_run_json(&out.join("2026-W46"))
        })
        .collect();
    assert!(alone[0]["summary.json"] != alone[1]["summary.json"]);

    let out = tmp.join("reports");
    let first = report(&data, &out, 1).spawn().unwrap();
    let second = report(&data, &out, 2).spawn().unwrap();
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{err}");
    }
    let folder = file_tree_but_run_json(&out.join("2026-W46"));
    assert!(folder == alone[0] || folder == alone[1], "the folder mixes the two runs");
    assert_eq!(temporaries(&out), Vec::<PathBuf>::new());
}

#[test]
fn a_run_that_cannot_get_the_lock_gives_up_with_a_clear_message() {
    let tmp = Workdir::new();
    let data = tmp.join("data");
    let out = tmp.join("reports");
    generate(&data, 100);
    std::fs::create_dir_all(&out).unwrap();
    let lock = std::fs::File::create(out.join(".handoff.lock")).unwrap();
    lock.lock().unwrap();
    let mut cmd = report(&data, &out, 1);
    cmd.args(["--lock-timeout", "0.5"]);
    let output = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("another handoff run is writing to"), "{err}");
    assert!(!out.join("2026-W46").exists());
    assert_eq!(temporaries(&out), Vec::<PathBuf>::new());
    drop(lock);
    let mut bad = report(&data, &out, 1);
    bad.args(["--lock-timeout", "-1"]);
    assert_eq!(bad.output().unwrap().status.code(), Some(2));
}
