//! Snapshot tests of `handoff validate`'s printed summary (outputs.md: "prints what is wrong")
//! on small fixtures: a clean data set, one with rejections and warnings that is still usable,
//! and the same data refused (exit 3). The temporary folder's path is replaced by `[DATA]` so
//! that the text is stable.

use std::path::Path;

use crate::harness::{run_validate, Workdir, CONVERSATIONS, MESSAGES, OUTCOMES};

/// Messages with a bad timestamp (rejects c3), an unknown sender (rejects c2) and an unknown
/// qualification label (a warning).
const FLAWED_MESSAGES: &str = "\
conversation_id,turn,sent_at,sender,participant,text,signals,qualified
c1,1,2026-11-16T09:00:00Z,prospect,ann@x.com,Hi there,,budget;vibes
c1,2,2026-11-16T09:01:00Z,ai,,Hello!,,
c1,3,2026-11-16T09:05:00Z,prospect,ann@x.com,What does it cost?,pricing,need
c2,1,2026-11-16T10:00:00Z,robot,bob@y.com,Need a demo,demo,
c3,1,yesterday,prospect,cy@z.com,Just looking,,
";

/// An orphan outcome (c9), an amount without an opportunity date and a rating without a
/// handoff.
const FLAWED_OUTCOMES: &str = "\
conversation_id,handoff_turn,handoff_at,context,meeting_at,opportunity_at,opportunity_amount,currency,rep_rating
c1,,,,2026-11-18T09:00:00Z,,5000,USD,4
c9,1,2026-11-16T10:01:00Z,history,,,,,
";

/// validate's stdout and stderr with the data folder's path replaced, and its exit code.
fn validate_text(dir: &Path, extra: &[&str]) -> (String, String, i32) {
    let (stdout, stderr, code) = run_validate(dir, extra);
    let path = dir.display().to_string();
    (stdout.replace(&path, "[DATA]"), stderr.replace(&path, "[DATA]"), code)
}

#[test]
fn clean_data_set() {
    let dir = Workdir::new();
    dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
    let (stdout, stderr, code) = validate_text(dir.path(), &["--quiet"]);
    assert_eq!(code, 0, "stderr:\n{stderr}");
    assert_eq!(stderr, "");
    insta::assert_snapshot!(stdout);
}

#[test]
fn rejections_and_warnings_within_the_allowed_share() {
    let dir = Workdir::new();
    dir.write_dataset(CONVERSATIONS, FLAWED_MESSAGES, FLAWED_OUTCOMES);
    let (stdout, stderr, code) = validate_text(dir.path(), &["--quiet", "--max-rejected", "0.7"]);
    assert_eq!(code, 0, "stderr:\n{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn too_many_rejections_exit_3() {
    let dir = Workdir::new();
    dir.write_dataset(CONVERSATIONS, FLAWED_MESSAGES, FLAWED_OUTCOMES);
    let (stdout, stderr, code) = validate_text(dir.path(), &["--quiet"]);
    assert_eq!(code, 3);
    insta::assert_snapshot!(format!("--- stdout\n{stdout}--- stderr\n{stderr}"));
}
