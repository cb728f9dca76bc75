//! Policies-file errors through the real binary (policies.md): each broken file makes
//! `handoff replay` (and `handoff report`) exit 2 with one message naming the file, the line and
//! the key, and write no output. The data is the small hand-worked fixture, which is valid, so
//! the policies file is the only thing that can fail.

use std::path::Path;

use std::process::Command;

use crate::harness::*;

/// A valid policy, used as the first table of files whose problem is further down.
const GOOD: &str = "\
[[policy]]
name = \"human_first\"
hand_off_on = [\"human_request\"]
";

/// `handoff <args> --data <the hand-worked fixture> --quiet`.
fn on_fixture(args: &[&str]) -> Command {
    let mut cmd = handoff();
    cmd.args(args).arg("--data").arg(REPLAY_SMALL).arg("--quiet");
    cmd
}

/// Runs `handoff <command>` with `text` as the policies file; returns the policies path, the
/// output path, stderr and the exit code.
fn run_with(command: &str, dir: &Path, text: &str) -> (String, std::path::PathBuf, String, i32) {
    let policies = dir.join("broken-policies.toml");
    std::fs::write(&policies, text).expect("write policies");
    let out = match command {
        "replay" => dir.join("decisions.csv"),
        _ => dir.join("reports"),
    };
    let output = on_fixture(&[command])
        .arg("--policies")
        .arg(&policies)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run handoff");
    (
        policies.display().to_string(),
        out,
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code().unwrap_or(-1),
    )
}

/// Asserts exit 2, no output written, and a message `<file>: line <line>: <key>: ...` that
/// also contains `mentions`.
fn assert_rejected(command: &str, text: &str, line: usize, key: &str, mentions: &str) {
    let dir = Workdir::new();
    let (path, out, stderr, code) = run_with(command, dir.path(), text);
    assert_eq!(code, 2, "exit code; stderr:\n{stderr}");
    let expected = format!("{path}: line {line}: {key}: ");
    assert!(stderr.contains(&expected), "expected `{expected}` in stderr:\n{stderr}");
    assert!(stderr.contains(mentions), "expected `{mentions}` in stderr:\n{stderr}");
    assert!(!out.exists(), "{} was written despite the error", out.display());
}

fn replay_rejects(text: &str, line: usize, key: &str, mentions: &str) {
    assert_rejected("replay", text, line, key, mentions);
}

#[test]
fn a_valid_file_is_accepted() {
    let dir = Workdir::new();
    let (_, out, stderr, code) = run_with("replay", dir.path(), GOOD);
    assert_eq!(code, 0, "stderr:\n{stderr}");
    assert!(out.exists());
}

#[test]
fn unknown_top_level_key() {
    // A bare key after a `[[policy]]` header would belong to that policy, so it comes first.
    let text = format!("colour = \"red\"\n\n{GOOD}");
    replay_rejects(&text, 1, "colour", "unknown top-level key");
}

#[test]
fn unknown_top_level_table() {
    replay_rejects(&format!("{GOOD}\n[policies]\nx = 1\n"), 5, "policies", "unknown top-level key");
}

#[test]
fn unknown_key_in_a_policy() {
    let text = format!(
        "{GOOD}\n[[policy]]\nname = \"b\"\nhand_off_on = [\"high_intent\"]\nmin_turns = 2\n"
    );
    replay_rejects(&text, 8, "policy.min_turns", "unknown key in [policy]");
}

#[test]
fn unknown_situation() {
    let text = "[[policy]]\nname = \"a\"\nhand_off_on = [\"human_request\",\n  \"hot_lead\"]\n";
    replay_rejects(text, 4, "policy.hand_off_on", "unknown situation `hot_lead`");
}

#[test]
fn unknown_guard() {
    let text = format!("{GOOD}unless = [\"scheduling\", \"weekend\"]\n");
    replay_rejects(&text, 4, "policy.unless", "unknown guard `weekend`");
}

#[test]
fn unknown_signal_in_weights() {
    let text = "[[policy]]\nname = \"s\"\nhand_off_on = [\"score\"]\nthreshold = 1.0\n\
                [policy.weights]\npricing = 0.5\nbudget = 0.5\n";
    replay_rejects(text, 7, "policy.weights.budget", "unknown signal `budget`");
}

#[test]
fn non_integer_delay() {
    let text = format!("{GOOD}delay = 1.5\n");
    replay_rejects(&text, 4, "policy.delay", "expected an integer, found float");
}

#[test]
fn min_turn_zero() {
    let text = format!("{GOOD}min_turn = 0\n");
    replay_rejects(&text, 4, "policy.min_turn", "0 is out of range (>= 1)");
}

#[test]
fn duplicate_policy_names() {
    let text = format!("{GOOD}\n{GOOD}");
    replay_rejects(&text, 6, "policy.name", "duplicate policy name `human_first`");
}

#[test]
fn a_policy_named_historical() {
    let text = "[[policy]]\nname = \"historical\"\nhand_off_on = []\n";
    replay_rejects(text, 2, "policy.name", "historical");
}

#[test]
fn bypass_not_in_hand_off_on() {
    let text = "[[policy]]\nname = \"a\"\nhand_off_on = [\"high_intent\"]\n\
                unless = [\"scheduling\"]\nbypass = [\"human_request\"]\n";
    replay_rejects(text, 5, "policy.bypass", "`human_request` is not listed in hand_off_on");
}

#[test]
fn score_without_threshold() {
    let text = "[[policy]]\nname = \"s\"\nhand_off_on = [\"score\"]\nweights = { pricing = 1.0 }\n";
    replay_rejects(text, 3, "policy.hand_off_on", "both `weights` and `threshold` are required");
}

#[test]
fn sweep_on_an_unknown_policy() {
    let text = format!(
        "{GOOD}\n[[sweep]]\nparameter = \"delay\"\npolicy = \"human_frist\"\nvalues = [0, 1]\n"
    );
    replay_rejects(&text, 7, "sweep.policy", "no policy named `human_frist`");
}

#[test]
fn sweep_with_both_values_and_a_grid() {
    let text = format!(
        "{GOOD}\n[[sweep]]\npolicy = \"human_first\"\nparameter = \"delay\"\n\
         from = 0\nto = 2\nstep = 1\nvalues = [0, 1]\n"
    );
    replay_rejects(&text, 11, "sweep.values", "not both");
}

#[test]
fn bad_signal_source() {
    let text = format!("signal_source = \"llm\"\n\n{GOOD}");
    replay_rejects(&text, 1, "signal_source", "unknown source `llm`");
}

#[test]
fn report_rejects_a_broken_file_the_same_way() {
    let text = format!("{GOOD}delay = -1\n");
    assert_rejected("report", &text, 4, "policy.delay", "-1 is out of range (>= 0)");
}

#[test]
fn a_missing_policies_file_exits_2_naming_it() {
    let dir = Workdir::new();
    let missing = dir.join("nowhere.toml");
    let output = on_fixture(&["replay"])
        .arg("--policies")
        .arg(&missing)
        .arg("--out")
        .arg(dir.join("d.csv"))
        .output()
        .expect("run handoff");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "stderr:\n{stderr}");
}
