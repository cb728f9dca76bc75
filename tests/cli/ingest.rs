//! `handoff validate` on tiny fixtures: accepted variants, row-level rejections (named in the
//! output and in `--rejected`), and fatal problems (exit 3); and the readers' fast paths
//! (no message text, the `signals` header peek) against the plain ones.

use std::path::Path;

use handoff::ingest::{self, IngestOptions};

use crate::harness::*;

fn assert_usable(dir: &Path, accepted: usize) -> String {
    let (out, err, code) = run_validate(dir, &[]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let expected = format!("{accepted} accepted, 0 rejected of {accepted}");
    assert!(out.contains(&expected), "{out}");
    out
}

fn load(dir: &Path) -> handoff::model::Dataset {
    ingest::load(dir, &IngestOptions { max_rejected: 1.0 }).expect("usable data set")
}

#[test]
fn baseline_is_usable_and_normalised() {
    let dir = Workdir::new();
    dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
    let out = assert_usable(dir.path(), 3);
    assert!(out.contains("messages: 6 rows read from messages.csv"), "{out}");
    let data = load(dir.path());
    let ids: Vec<&str> = data.conversations.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2", "c3"]);
    let c2 = &data.conversations[1];
    assert_eq!(c2.segment.as_deref(), Some("enterprise"));
    assert_eq!(data.conversations[0].messages[0].participant.as_deref(), Some("ann@x.com"));
    assert_eq!(data.conversations[0].messages[2].tags, ["pricing"]);
    assert_eq!(data.conversations[0].messages[1].text, "Hello!");
    assert_eq!(c2.outcome.as_ref().and_then(|o| o.opportunity_amount), Some(12000.0));
    assert!(data.columns.handoff_turn && data.columns.qualified);
    assert_eq!(data.total_conversation_ids, 3);
}

#[test]
fn accepts_crlf_line_ends_and_a_bom() {
    let dir = Workdir::new();
    let crlf = |s: &str| format!("\u{feff}{}", s.replace('\n', "\r\n"));
    dir.write_dataset(&crlf(CONVERSATIONS), &crlf(MESSAGES), &crlf(OUTCOMES));
    assert_usable(dir.path(), 3);
    assert_eq!(load(dir.path()).conversations[2].ai_agent.as_deref(), Some("sdr-v2"));
}

#[test]
fn accepts_reordered_and_extra_columns() {
    let dir = Workdir::new();
    let conversations = "\
region,started_at,conversation_id
emea,2026-11-16T09:00:00Z,c1
,2026-11-16T10:00:00Z,c2
apac,2026-11-17T11:00:00Z,c3
";
    let messages = "\
text,sender,sent_at,turn,conversation_id,colour
Hi,prospect,2026-11-16T09:00:00Z,1,c1,red
Hello,ai,2026-11-16T09:01:00Z,2,c1,red
Demo?,prospect,2026-11-16T10:00:00Z,1,c2,
Look,prospect,2026-11-17T11:00:00Z,1,c3,
";
    let outcomes = "conversation_id\nc1\n";
    dir.write_dataset(conversations, messages, outcomes);
    let out = assert_usable(dir.path(), 3);
    assert!(out.contains("no qualified column"), "{out}");
    assert!(out.contains("no handoff_turn values: history never hands off"), "{out}");
    let data = load(dir.path());
    assert_eq!(data.extra_columns, ["region"]);
    assert_eq!(data.conversations[0].extra, [Some("emea".to_string())]);
    assert_eq!(data.conversations[1].extra, [None]);
    assert!(!data.columns.qualified && !data.columns.handoff_turn);
}

#[test]
fn accepts_quoted_newlines_in_text() {
    let dir = Workdir::new();
    let messages = MESSAGES.replace("Hello!", "\"Hello,\nhow \"\"are\"\" you?\"");
    dir.baseline_with("messages", &messages);
    assert_usable(dir.path(), 3);
    let data = load(dir.path());
    assert_eq!(data.conversations[0].messages[1].text, "Hello,\nhow \"are\" you?");
    // The record after the quoted newline keeps its data-row number: row 3 is still c1 turn 3.
    let bad = messages.replace("What does it cost?", "x").replace("c1,3,", "c1,3a,");
    dir.baseline_with("messages", &bad);
    let (out, _, _) = run_validate(dir.path(), &["--max-rejected", "1"]);
    assert!(out.contains("messages.csv row 3: column turn: expected an integer"), "{out}");
}

#[test]
fn time_zone_offsets_are_normalised_to_utc() {
    let dir = Workdir::new();
    let conversations = CONVERSATIONS
        .replace("2026-11-16T09:00:00Z", "2026-11-16T10:00:00+01:00")
        .replace("2026-11-17T11:00:00Z", "2026-11-17 11:00:00");
    // 10:00:30+01:00 is 09:00:30Z: before turn 3 at 09:05Z, after turn 1 at 09:00Z.
    let messages = MESSAGES.replace("c1,2,2026-11-16T09:01:00Z", "c1,2,2026-11-16T10:00:30+01:00");
    dir.write_dataset(&conversations, &messages, OUTCOMES);
    assert_usable(dir.path(), 3);
    let data = load(dir.path());
    let baseline_dir = Workdir::new();
    baseline_dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
    let baseline = load(baseline_dir.path());
    assert_eq!(data.conversations[0].started_at, baseline.conversations[0].started_at);
    assert_eq!(data.conversations[2].started_at, baseline.conversations[2].started_at);
    let m = &data.conversations[0].messages[1];
    assert_eq!(m.sent_at, baseline.conversations[0].messages[0].sent_at + 30_000_000);
}

#[test]
fn accepts_gzip_compressed_csv() {
    let dir = Workdir::new();
    dir.write("conversations.csv", CONVERSATIONS.as_bytes());
    dir.write("messages.csv.gz", &gzip(MESSAGES.as_bytes()));
    dir.write("outcomes.csv", OUTCOMES.as_bytes());
    let out = assert_usable(dir.path(), 3);
    assert!(out.contains("6 rows read from messages.csv.gz"), "{out}");
}

#[test]
fn accepts_jsonl_and_ndjson() {
    let dir = Workdir::new();
    dir.write("conversations.jsonl", csv_to_jsonl(CONVERSATIONS).as_bytes());
    // A blank line is skipped but still counted in line numbers.
    let messages = format!("\n{}", csv_to_jsonl(MESSAGES));
    dir.write("messages.ndjson", messages.as_bytes());
    dir.write("outcomes.jsonl", csv_to_jsonl(OUTCOMES).as_bytes());
    let out = assert_usable(dir.path(), 3);
    assert!(out.contains("messages: 6 rows read from messages.ndjson"), "{out}");
    let csv_dir = Workdir::new();
    csv_dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
    assert_eq!(load(dir.path()).conversations, load(csv_dir.path()).conversations);
}

#[test]
fn accepts_a_partitioned_csv_folder() {
    let dir = Workdir::new();
    let mut lines = MESSAGES.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let part = |rows: &[&str]| format!("{header}\n{}\n", rows.join("\n"));
    dir.write("conversations.csv", CONVERSATIONS.as_bytes());
    dir.write("outcomes.csv", OUTCOMES.as_bytes());
    dir.write("messages/week=2026-W47/part-1.csv", part(&rows[3..]).as_bytes());
    dir.write("messages/week=2026-W47/part-0.csv", part(&rows[..3]).as_bytes());
    let out = assert_usable(dir.path(), 3);
    assert!(
        out.contains("messages/week=2026-W47/part-0.csv, messages/week=2026-W47/part-1.csv"),
        "{out}"
    );
}

#[test]
fn a_folder_of_mixed_formats_is_unusable() {
    let dir = Workdir::new();
    dir.write("conversations.csv", CONVERSATIONS.as_bytes());
    dir.write("outcomes.csv", OUTCOMES.as_bytes());
    dir.write("messages/a.csv", MESSAGES.as_bytes());
    dir.write("messages/b.jsonl", csv_to_jsonl(MESSAGES).as_bytes());
    let (_, err, code) = run_validate(dir.path(), &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("mixed formats in one table folder"), "{err}");
}

/// Runs validate with `--rejected` and `--max-rejected 1`; asserts exit 0, the line in stdout
/// and the record in the CSV.
fn assert_rejection(dir: &Path, line: &str, record: [&str; 5]) -> String {
    let rejected = dir.join("rejected.csv");
    let rejected_arg = rejected.to_string_lossy().into_owned();
    let (out, err, code) = run_validate(dir, &["--max-rejected", "1", "--rejected", &rejected_arg]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains(line), "expected {line:?} in:\n{out}");
    let records = read_rejected(&rejected);
    assert!(records.iter().any(|r| r == &record), "expected {record:?} in {records:?}");
    out
}

#[test]
fn a_bad_value_rejects_its_conversation() {
    let dir = Workdir::new();
    dir.baseline_with("messages", &MESSAGES.replace("c1,3,", "c1,3a,"));
    let out = assert_rejection(
        dir.path(),
        "messages.csv row 3: column turn: expected an integer, found \"3a\"",
        ["messages.csv", "3", "turn", "c1", "expected an integer, found \"3a\""],
    );
    assert!(out.contains("2 accepted, 1 rejected of 3"), "{out}");
    assert!(out.contains("1 rejected rows"), "{out}");
    let data = ingest::load(dir.path(), &IngestOptions { max_rejected: 1.0 }).unwrap();
    assert!(data.conversations.iter().all(|c| c.id != "c1"));
}

#[test]
fn out_of_range_values_are_rejected() {
    let dir = Workdir::new();
    dir.baseline_with("outcomes", &OUTCOMES.replace(",USD,5", ",USD,7"));
    assert_rejection(
        dir.path(),
        "outcomes.csv row 2: column rep_rating: expected an integer from 1 to 5, found 7",
        ["outcomes.csv", "2", "rep_rating", "c2", "expected an integer from 1 to 5, found 7"],
    );
    dir.baseline_with("messages", &MESSAGES.replace(",0.5\n", ",1.5\n"));
    assert_rejection(
        dir.path(),
        "messages.csv row 4: column handoff_probability: expected a number from 0 to 1, found 1.5",
        [
            "messages.csv",
            "4",
            "handoff_probability",
            "c2",
            "expected a number from 0 to 1, found 1.5",
        ],
    );
    dir.baseline_with("messages", &MESSAGES.replace("c3,1,", "c3,0,"));
    assert_rejection(
        dir.path(),
        "messages.csv row 6: column turn: expected an integer >= 1, found 0",
        ["messages.csv", "6", "turn", "c3", "expected an integer >= 1, found 0"],
    );
    dir.baseline_with("messages", &MESSAGES.replace(",ai,,Sure", ",bot,,Sure"));
    assert_rejection(
        dir.path(),
        "messages.csv row 5: column sender: expected prospect, ai or human, found \"bot\"",
        ["messages.csv", "5", "sender", "c2", "expected prospect, ai or human, found \"bot\""],
    );
}

#[test]
fn a_null_in_a_required_column_is_rejected() {
    let dir = Workdir::new();
    dir.baseline_with("messages", &MESSAGES.replace("c2,1,2026-11-16T10:00:00Z", "c2,1,"));
    assert_rejection(
        dir.path(),
        "messages.csv row 4: column sent_at: required value is missing",
        ["messages.csv", "4", "sent_at", "c2", "required value is missing"],
    );
}

#[test]
fn a_duplicate_conversation_id_is_rejected() {
    let dir = Workdir::new();
    let conversations = format!("{CONVERSATIONS}c1,2026-11-18T09:00:00Z,a9,smb,1,chat,x\n");
    dir.baseline_with("conversations", &conversations);
    let reason = "duplicate conversation id \"c1\" (first at conversations.csv row 1)";
    let out = assert_rejection(
        dir.path(),
        &format!("conversations.csv row 4: column conversation_id: {reason}"),
        ["conversations.csv", "4", "conversation_id", "c1", reason],
    );
    assert!(out.contains("2 accepted, 1 rejected of 3"), "{out}");
}

#[test]
fn a_duplicate_turn_is_rejected() {
    let dir = Workdir::new();
    let messages = format!("{MESSAGES}c3,1,2026-11-17T11:00:00Z,prospect,,again,,,\n");
    dir.baseline_with("messages", &messages);
    let reason = "duplicate turn 1 in conversation \"c3\" (first at messages.csv row 6)";
    assert_rejection(
        dir.path(),
        &format!("messages.csv row 7: column turn: {reason}"),
        ["messages.csv", "7", "turn", "c3", reason],
    );
}

#[test]
fn a_duplicate_outcome_is_rejected() {
    let dir = Workdir::new();
    let outcomes = format!("{OUTCOMES}c1,,,,,,,,\n");
    dir.baseline_with("outcomes", &outcomes);
    let reason = "duplicate outcome for conversation \"c1\" (first at outcomes.csv row 1)";
    assert_rejection(
        dir.path(),
        &format!("outcomes.csv row 3: column conversation_id: {reason}"),
        ["outcomes.csv", "3", "conversation_id", "c1", reason],
    );
}

#[test]
fn turns_out_of_time_order_are_rejected() {
    let dir = Workdir::new();
    let messages = MESSAGES.replace("c2,2,2026-11-16T10:02:00Z", "c2,2,2026-11-16T09:59:00Z");
    dir.baseline_with("messages", &messages);
    let reason = "turn 2 was sent at 2026-11-16T09:59:00Z, before turn 1 at 2026-11-16T10:00:00Z \
                  (sent_at must not decrease with turn)";
    assert_rejection(
        dir.path(),
        &format!("messages.csv row 5: column sent_at: {reason}"),
        ["messages.csv", "5", "sent_at", "c2", reason],
    );
}

#[test]
fn an_orphan_outcome_is_rejected_alone() {
    let dir = Workdir::new();
    dir.baseline_with("outcomes", &format!("{OUTCOMES}c9,,,,,,,,\n"));
    let reason = "no conversation \"c9\" in the conversations table";
    let rejected = dir.join("rejected.csv");
    // The default --max-rejected holds: no conversation is rejected.
    let (out, err, code) = run_validate(dir.path(), &["--rejected", rejected.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!("outcomes.csv row 3: column conversation_id: {reason}")),
        "{out}"
    );
    assert!(out.contains("3 accepted, 0 rejected of 3"), "{out}");
    assert!(out.contains("1 rejected rows"), "{out}");
    assert_eq!(read_rejected(&rejected), [["outcomes.csv", "3", "conversation_id", "c9", reason]]);
}

#[test]
fn a_handoff_turn_the_conversation_lacks_is_rejected() {
    let dir = Workdir::new();
    dir.baseline_with("outcomes", &OUTCOMES.replace("c2,1,", "c2,7,"));
    let reason = "handoff turn 7 is not a turn of conversation \"c2\"";
    assert_rejection(
        dir.path(),
        &format!("outcomes.csv row 2: column handoff_turn: {reason}"),
        ["outcomes.csv", "2", "handoff_turn", "c2", reason],
    );
}

#[test]
fn invalid_utf8_in_csv_is_rejected() {
    let dir = Workdir::new();
    let mut messages = MESSAGES.replace("Just looking", "Just @@").into_bytes();
    let at = messages.windows(2).position(|w| w == b"@@").unwrap();
    messages[at] = 0xff;
    messages[at + 1] = 0xfe;
    dir.write("conversations.csv", CONVERSATIONS.as_bytes());
    dir.write("messages.csv", &messages);
    dir.write("outcomes.csv", OUTCOMES.as_bytes());
    assert_rejection(
        dir.path(),
        "messages.csv row 6: column text: invalid UTF-8",
        ["messages.csv", "6", "text", "c3", "invalid UTF-8"],
    );
}

#[test]
fn a_wrong_field_count_is_rejected() {
    let dir = Workdir::new();
    dir.baseline_with("messages", &MESSAGES.replace("Sure,,,", "Sure,,,,extra"));
    let reason = "wrong field count: expected 9 fields, found 10";
    let out = assert_rejection(
        dir.path(),
        &format!("messages.csv row 5: {reason}"),
        ["messages.csv", "5", "", "c2", reason],
    );
    assert!(out.contains("2 accepted, 1 rejected of 3"), "{out}");
}

fn jsonl_dataset(dir: &Path, messages: &[u8]) {
    write(dir, "conversations.jsonl", csv_to_jsonl(CONVERSATIONS).as_bytes());
    write(dir, "messages.jsonl", messages);
    write(dir, "outcomes.jsonl", csv_to_jsonl(OUTCOMES).as_bytes());
}

#[test]
fn invalid_utf8_in_jsonl_is_rejected() {
    let dir = Workdir::new();
    let mut messages = csv_to_jsonl(MESSAGES).into_bytes();
    let at = messages.windows(7).position(|w| w == b"looking").unwrap();
    messages[at] = 0xff;
    jsonl_dataset(dir.path(), &messages);
    assert_rejection(
        dir.path(),
        "messages.jsonl row 6: invalid UTF-8",
        ["messages.jsonl", "6", "", "c3", "invalid UTF-8"],
    );
}

#[test]
fn a_json_line_that_is_not_an_object_is_rejected_alone() {
    let dir = Workdir::new();
    let messages =
        format!("{}[1,2]\n{{\"conversation_id\": \"c1\", oops\n", csv_to_jsonl(MESSAGES));
    jsonl_dataset(dir.path(), messages.as_bytes());
    let out = assert_rejection(
        dir.path(),
        "messages.jsonl row 7: not a JSON object (found an array)",
        ["messages.jsonl", "7", "", "", "not a JSON object (found an array)"],
    );
    assert!(out.contains("messages.jsonl row 8: invalid JSON"), "{out}");
    // The invalid line still names c1, which is rejected whole; the array names nothing.
    assert!(
        out.contains("2 accepted, 1 rejected of 3 (33.33% rejected); 2 rejected rows"),
        "{out}"
    );
}

fn assert_fatal(dir: &Path, message: &str) {
    let (out, err, code) = run_validate(dir, &[]);
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains(message), "expected {message:?} in:\n{err}");
}

#[test]
fn a_missing_table_is_fatal() {
    let dir = Workdir::new();
    dir.write("conversations.csv", CONVERSATIONS.as_bytes());
    dir.write("messages.csv", MESSAGES.as_bytes());
    assert_fatal(dir.path(), "no outcomes table");
}

#[test]
fn two_files_for_one_table_are_fatal() {
    let dir = Workdir::new();
    dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
    dir.write("outcomes.jsonl", csv_to_jsonl(OUTCOMES).as_bytes());
    assert_fatal(dir.path(), "two files for the outcomes table: outcomes.csv and outcomes.jsonl");
}

#[test]
fn a_missing_required_column_is_fatal() {
    let dir = Workdir::new();
    let messages: String = MESSAGES
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            format!("{}\n", [&fields[..3], &fields[4..]].concat().join(","))
        })
        .collect();
    dir.baseline_with("messages", &messages);
    assert_fatal(dir.path(), "messages.csv: missing required column sender");
    // JSONL learns its columns from the objects.
    let jsonl = Workdir::new();
    jsonl_dataset(jsonl.path(), csv_to_jsonl(&messages).as_bytes());
    assert_fatal(jsonl.path(), "messages.jsonl: missing required column sender");
}

#[test]
fn a_truncated_gzip_is_fatal() {
    let dir = Workdir::new();
    let gz = gzip(MESSAGES.as_bytes());
    dir.write("conversations.csv", CONVERSATIONS.as_bytes());
    dir.write("messages.csv.gz", &gz[..gz.len() / 2]);
    dir.write("outcomes.csv", OUTCOMES.as_bytes());
    assert_fatal(dir.path(), "messages.csv.gz: cannot be read");
}

#[test]
fn duplicated_header_names_are_fatal() {
    let dir = Workdir::new();
    baseline_with(
        dir.path(),
        "outcomes",
        &OUTCOMES.replace("currency,rep_rating", "currency,currency"),
    );
    assert_fatal(dir.path(), "outcomes.csv: cannot be read: duplicated header name \"currency\"");
}

#[test]
fn too_many_rejected_conversations_are_fatal() {
    let dir = Workdir::new();
    dir.baseline_with("messages", &MESSAGES.replace("c1,3,", "c1,3a,"));
    let (out, err, code) = run_validate(dir.path(), &[]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(err.contains("1 of 3 conversations rejected (33.33%)"), "{err}");
    // The rejections are still shown before the failure.
    assert!(out.contains("messages.csv row 3: column turn"), "{out}");
}

#[test]
fn no_conversation_left_is_fatal() {
    let dir = Workdir::new();
    let header = CONVERSATIONS.lines().next().unwrap();
    dir.baseline_with("conversations", &format!("{header}\n"));
    assert_fatal(dir.path(), "no conversation left to analyse");
}

#[test]
fn data_quality_problems_are_warnings_not_rejections() {
    let dir = Workdir::new();
    let outcomes = "\
conversation_id,handoff_turn,handoff_at,context,meeting_at,opportunity_at,opportunity_amount,currency,rep_rating
c1,,2026-11-16T09:06:00Z,history;gossip,,,500,EUR,3
c2,1,,history,,2026-11-20T10:00:00Z,12000,USD,5
c3,1,,,,2026-11-21T10:00:00Z,10,EUR,
";
    let messages = MESSAGES.replace(",budget,", ",budget;mood,");
    dir.write_dataset(CONVERSATIONS, &messages, outcomes);
    let out = assert_usable(dir.path(), 3);
    for warning in [
        "unknown qualified labels ignored: \"mood\" (1)",
        "unknown context labels ignored: \"gossip\" (1)",
        "1 opportunity amounts without opportunity_at ignored",
        "1 rep ratings without a handoff ignored",
        "1 handoff_at values without handoff_turn ignored",
        "more than one currency (EUR, USD)",
    ] {
        assert!(out.contains(warning), "expected {warning:?} in:\n{out}");
    }
    let data = load(dir.path());
    let c1 = data.conversations[0].outcome.as_ref().unwrap();
    assert_eq!((c1.opportunity_amount, c1.rep_rating, c1.handoff_at), (None, None, None));
    assert_eq!(data.quality.currencies, ["EUR", "USD"]);
}

mod parquet {
    use super::*;
    use polars::prelude::TimeUnit;

    #[test]
    fn accepts_parquet_with_any_timestamp_unit_and_time_zone() {
        let dir = Workdir::new();
        let d = dir.path();
        let paris = Some("Europe/Paris");
        csv_to_parquet(
            CONVERSATIONS,
            &d.join("conversations.parquet"),
            TimeUnit::Milliseconds,
            paris,
            false,
        );
        csv_to_parquet(MESSAGES, &d.join("messages.parquet"), TimeUnit::Nanoseconds, None, false);
        csv_to_parquet(
            OUTCOMES,
            &d.join("outcomes.parquet"),
            TimeUnit::Microseconds,
            Some("UTC"),
            false,
        );
        let out = assert_usable(d, 3);
        assert!(out.contains("messages: 6 rows read from messages.parquet"), "{out}");
        let csv_dir = Workdir::new();
        csv_dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
        let (from_parquet, from_csv) = (load(d), load(csv_dir.path()));
        assert_eq!(from_parquet.conversations, from_csv.conversations);
        assert_eq!(from_parquet.columns, from_csv.columns);
    }

    #[test]
    fn accepts_a_partitioned_parquet_folder() {
        let dir = Workdir::new();
        let d = dir.path();
        let mut lines = MESSAGES.lines();
        let header = lines.next().unwrap();
        let rows: Vec<&str> = lines.collect();
        let part = |rows: &[&str]| format!("{header}\n{}\n", rows.join("\n"));
        let us = TimeUnit::Microseconds;
        write(d, "conversations.csv", CONVERSATIONS.as_bytes());
        write(d, "outcomes.csv", OUTCOMES.as_bytes());
        let p0 = d.join("messages/week=2026-W47/part-0.parquet");
        let p1 = d.join("messages/week=2026-W48/part-0.parquet");
        csv_to_parquet(&part(&rows[..4]), &p0, us, None, false);
        csv_to_parquet(&part(&rows[4..]), &p1, us, None, false);
        let out = assert_usable(d, 3);
        assert!(out.contains("messages: 6 rows read from messages/week=2026-W47/part-0.parquet, messages/week=2026-W48/part-0.parquet"), "{out}");
        assert_eq!(load(d).message_count(), 6);
    }

    #[test]
    fn a_float_in_turn_is_rejected() {
        let dir = Workdir::new();
        let d = dir.path();
        write(d, "conversations.csv", CONVERSATIONS.as_bytes());
        write(d, "outcomes.csv", OUTCOMES.as_bytes());
        let messages = MESSAGES.replace("c2,2,", "c2,2.5,");
        csv_to_parquet(&messages, &d.join("messages.parquet"), TimeUnit::Milliseconds, None, true);
        assert_rejection(
            d,
            "messages.parquet row 5: column turn: expected an integer, found 2.5",
            ["messages.parquet", "5", "turn", "c2", "expected an integer, found 2.5"],
        );
        // Integral floats (how nullable integer columns often arrive) are accepted.
        csv_to_parquet(MESSAGES, &d.join("messages.parquet"), TimeUnit::Milliseconds, None, true);
        assert_usable(d, 3);
    }

    #[test]
    fn a_truncated_parquet_file_is_fatal() {
        let dir = Workdir::new();
        let d = dir.path();
        write(d, "conversations.csv", CONVERSATIONS.as_bytes());
        write(d, "outcomes.csv", OUTCOMES.as_bytes());
        let path = d.join("messages.parquet");
        csv_to_parquet(MESSAGES, &path, TimeUnit::Milliseconds, None, false);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert_fatal(d, "messages.parquet: cannot be read");
    }

    #[test]
    fn a_csv_posing_as_parquet_is_fatal() {
        let dir = Workdir::new();
        let d = dir.path();
        write(d, "conversations.csv", CONVERSATIONS.as_bytes());
        write(d, "outcomes.csv", OUTCOMES.as_bytes());
        write(d, "messages.parquet", MESSAGES.as_bytes());
        assert_fatal(d, "messages.parquet: cannot be read");
    }
}

#[test]
fn a_max_rejected_outside_zero_to_one_is_a_usage_error() {
    let dir = Workdir::new();
    dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
    let (_, err, code) = run_validate(dir.path(), &["--max-rejected", "5"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("for '--max-rejected <MAX_REJECTED>': must be a fraction from 0 to 1"),
        "{err}"
    );
}

#[test]
fn a_missing_data_folder_is_fatal() {
    let dir = Workdir::new();
    assert_fatal(&dir.join("nowhere"), "no such data folder");
}

/// The fast paths give the same data as the plain ones: reading without message
/// text (CSV and Parquet) loses nothing but the text, the `signals` header peek agrees with
/// what a full read finds, and invalid UTF-8 in a skipped column still rejects its row.
mod fast_paths {
    use std::path::Path;

    use handoff::ingest::{self, IngestOptions, MessageText};
    use handoff::model::Dataset;
    use polars::prelude::TimeUnit;

    use crate::harness::*;

    fn load(dir: &Path, text: MessageText) -> Dataset {
        ingest::load_with(dir, &IngestOptions { max_rejected: 1.0 }, text).expect("usable data set")
    }

    /// Asserts that `skipped` is `kept` with every message text blanked.
    fn assert_same_but_text(kept: &Dataset, skipped: &Dataset) {
        let mut blanked = kept.conversations.clone();
        for m in blanked.iter_mut().flat_map(|c| c.messages.iter_mut()) {
            m.text.clear();
        }
        assert_eq!(blanked, skipped.conversations);
        assert_eq!(kept.rejections, skipped.rejections);
        assert_eq!(kept.columns, skipped.columns);
        assert!(kept.conversations.iter().flat_map(|c| &c.messages).any(|m| !m.text.is_empty()));
    }

    #[test]
    fn csv_without_text_is_the_same_data_set_without_text() {
        let dir = Workdir::new();
        dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
        assert_same_but_text(
            &load(dir.path(), MessageText::Keep),
            &load(dir.path(), MessageText::Skip),
        );
        assert_eq!(ingest::messages_have_signals_column(dir.path()), Some(true));
    }

    #[test]
    fn parquet_without_text_is_the_same_data_set_without_text() {
        let dir = Workdir::new();
        for (name, csv) in
            [("conversations", CONVERSATIONS), ("messages", MESSAGES), ("outcomes", OUTCOMES)]
        {
            let path = dir.join(format!("{name}.parquet"));
            csv_to_parquet(csv, &path, TimeUnit::Microseconds, Some("UTC"), false);
        }
        assert_same_but_text(
            &load(dir.path(), MessageText::Keep),
            &load(dir.path(), MessageText::Skip),
        );
        assert_eq!(ingest::messages_have_signals_column(dir.path()), Some(true));
    }

    #[test]
    fn the_signals_peek_sees_a_missing_column_and_gives_up_on_json_lines() {
        let dir = Workdir::new();
        let without: String = MESSAGES
            .lines()
            .map(|line| {
                let mut fields: Vec<&str> = line.split(',').collect();
                fields.remove(6);
                fields.join(",") + "\n"
            })
            .collect();
        dir.write_dataset(CONVERSATIONS, &without, OUTCOMES);
        assert_eq!(ingest::messages_have_signals_column(dir.path()), Some(false));
        assert!(!load(dir.path(), MessageText::Skip).columns.signals);

        let jsonl = Workdir::new();
        jsonl.write("conversations.csv", CONVERSATIONS.as_bytes());
        jsonl.write("messages.jsonl", csv_to_jsonl(MESSAGES).as_bytes());
        jsonl.write("outcomes.csv", OUTCOMES.as_bytes());
        assert_eq!(ingest::messages_have_signals_column(jsonl.path()), None);
    }

    #[test]
    fn invalid_utf8_in_the_skipped_text_still_rejects_the_row() {
        let dir = Workdir::new();
        let mut messages = MESSAGES.as_bytes().to_vec();
        let at = messages.windows(5).position(|w| w == b"Sure,").expect("fixture text");
        messages[at] = 0xff;
        dir.write("conversations.csv", CONVERSATIONS.as_bytes());
        dir.write("messages.csv", &messages);
        dir.write("outcomes.csv", OUTCOMES.as_bytes());
        let kept = load(dir.path(), MessageText::Keep);
        let skipped = load(dir.path(), MessageText::Skip);
        assert_eq!(kept.rejections.len(), 1);
        assert_eq!(kept.rejections, skipped.rejections);
        assert_eq!(kept.conversations.len(), skipped.conversations.len());
    }
}
