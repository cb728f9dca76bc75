//! Hostile and malformed input across CSV, JSONL and Parquet. Every case checks the
//! documented behaviour (data.md, "Invalid data"; docs/reliability.md), that the binary never
//! panics, and that nothing is silently dropped: every row read is either in an accepted
//! conversation or accounted for by a rejection.

use std::path::Path;
use std::time::{Duration, Instant};

use handoff::ingest;
use handoff::model::Dataset;
use polars::prelude::TimeUnit;

use crate::harness::*;

/// Runs `handoff validate`, asserting it did not panic; stdout, stderr and the exit code.
fn validate_ok_or(dir: &Path, expected_code: i32) -> (String, String) {
    let (out, err, code) = run_validate(dir, &["--max-rejected", "1"]);
    assert!(!err.contains("panicked"), "panic on stderr:\n{err}");
    assert_eq!(code, expected_code, "stdout:\n{out}\nstderr:\n{err}");
    (out, err)
}

/// The data set as the library reads it (before the usable checks).
fn read(dir: &Path) -> Dataset {
    ingest::read_dataset(dir).expect("readable data set")
}

/// Accounting: `accepted` conversations kept, `rejected` rejected, every conversation id is one
/// or the other, every rejected conversation is named in a rejection, and every message row
/// read that is not kept (`dropped_messages` of them) is explained by some rejection.
fn assert_accounted(data: &Dataset, accepted: usize, rejected: u64, dropped_messages: u64) {
    assert_eq!(data.conversations.len(), accepted, "accepted conversations");
    assert_eq!(data.rejected_conversations, rejected, "rejected conversations");
    assert_eq!(
        data.conversations.len() as u64 + data.rejected_conversations,
        data.total_conversation_ids,
        "every conversation id is accepted or rejected"
    );
    let kept = data.message_count() as u64;
    assert_eq!(data.rows_read["messages"], kept + dropped_messages, "message rows accounted");
    if rejected > 0 || dropped_messages > 0 {
        assert!(!data.rejections.is_empty(), "a drop without a rejection");
    }
    let accepted_ids: Vec<&str> = data.conversations.iter().map(|c| c.id.as_str()).collect();
    for r in &data.rejections {
        if let Some(id) = &r.conversation_id {
            assert!(!accepted_ids.contains(&id.as_str()), "{id} is both rejected and accepted");
        }
    }
}

/// `assert_accounted` plus: the rejections name `needle` (file, row, column or reason).
fn assert_rejected_with(data: &Dataset, needle: &str) {
    let found = data.rejections.iter().any(|r| {
        format!("{} {:?} {:?} {:?} {}", r.file, r.row, r.column, r.conversation_id, r.reason)
            .contains(needle)
    });
    assert!(found, "no rejection mentions {needle:?}: {:#?}", data.rejections);
}

fn parquet_dataset(dir: &Path, conversations: &str, messages: &str, outcomes: &str) {
    let unit = TimeUnit::Microseconds;
    csv_to_parquet(conversations, &dir.join("conversations.parquet"), unit, Some("UTC"), false);
    csv_to_parquet(messages, &dir.join("messages.parquet"), unit, Some("UTC"), false);
    csv_to_parquet(outcomes, &dir.join("outcomes.parquet"), unit, Some("UTC"), false);
}

fn jsonl_dataset(dir: &Path, conversations: &str, messages: &str, outcomes: &str) {
    write(dir, "conversations.jsonl", csv_to_jsonl(conversations).as_bytes());
    write(dir, "messages.jsonl", csv_to_jsonl(messages).as_bytes());
    write(dir, "outcomes.jsonl", csv_to_jsonl(outcomes).as_bytes());
}

/// A Parquet table with every column stored as strings (a producer that lost its types).
fn string_parquet(csv_text: &str, path: &Path) {
    use polars::prelude::*;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let columns: Vec<Column> = header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values: Vec<Option<&str>> =
                records.iter().map(|r| r.get(i).filter(|v| !v.is_empty())).collect();
            Series::new(name.into(), values).into_column()
        })
        .collect();
    let mut df = DataFrame::new(records.len(), columns).unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap()).finish(&mut df).unwrap();
}

/// Runs `handoff report --quiet --policies <shipped>` plus `extra` on `dir` into `dir/reports`,
/// asserting that it completes without a panic (`context` starts the failure message).
fn assert_report_completes(dir: &Path, extra: &[&str], context: &str) {
    let output = handoff()
        .args(["report", "--quiet", "--policies", POLICIES])
        .args(extra)
        .arg("--data")
        .arg(dir)
        .arg("--out")
        .arg(dir.join("reports"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "{context}{err}");
    assert!(output.status.success(), "{context}{err}");
}

/// Runs `handoff replay` on `dir`; the decision table's text.
fn replay(dir: &Path) -> String {
    let out = dir.join("decisions.csv");
    let output = handoff()
        .args(["replay", "--quiet", "--max-rejected", "1", "--policies", POLICIES])
        .arg("--data")
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(output.status.success(), "replay failed:\n{err}");
    std::fs::read_to_string(&out).unwrap()
}

// ---- wrong types -------------------------------------------------------------------------

#[test]
fn wrong_types_reject_their_conversation_in_every_format() {
    let bad = MESSAGES.replace("c1,3,", "c1,three,");
    // CSV
    let dir = Workdir::new();
    dir.baseline_with("messages", &bad);
    let (out, _) = validate_ok_or(dir.path(), 0);
    assert!(out.contains("column turn: expected an integer"), "{out}");
    let data = read(dir.path());
    assert_accounted(&data, 2, 1, 3);
    // JSONL: the same text, and a boolean where an integer is expected.
    let dir = Workdir::new();
    jsonl_dataset(dir.path(), CONVERSATIONS, &bad, OUTCOMES);
    validate_ok_or(dir.path(), 0);
    assert_accounted(&read(dir.path()), 2, 1, 3);
    let dir = Workdir::new();
    let convs =
        csv_to_jsonl(CONVERSATIONS).replace("\"employee_count\":300", "\"employee_count\":true");
    dir.write("conversations.jsonl", convs.as_bytes());
    dir.write("messages.jsonl", csv_to_jsonl(MESSAGES).as_bytes());
    dir.write("outcomes.jsonl", csv_to_jsonl(OUTCOMES).as_bytes());
    validate_ok_or(dir.path(), 0);
    let data = read(dir.path());
    assert_rejected_with(&data, "employee_count");
    assert_accounted(&data, 2, 1, 1);
}

#[test]
fn parquet_string_where_an_integer_is_expected_rejects_the_conversation() {
    let dir = Workdir::new();
    parquet_dataset(dir.path(), CONVERSATIONS, MESSAGES, OUTCOMES);
    string_parquet(&MESSAGES.replace("c2,2,", "c2,2nd,"), &dir.join("messages.parquet"));
    let (out, _) = validate_ok_or(dir.path(), 0);
    assert!(out.contains("messages.parquet row 5: column turn"), "{out}");
    let data = read(dir.path());
    assert_rejected_with(&data, "expected an integer");
    assert_accounted(&data, 2, 1, 2);
    // Strings that do hold integers are read as integers.
    string_parquet(MESSAGES, &dir.join("messages.parquet"));
    validate_ok_or(dir.path(), 0);
    assert_accounted(&read(dir.path()), 3, 0, 0);
}

#[test]
fn parquet_float_turns_are_accepted_when_integral_and_rejected_otherwise() {
    let dir = Workdir::new();
    parquet_dataset(dir.path(), CONVERSATIONS, MESSAGES, OUTCOMES);
    let path = dir.join("messages.parquet");
    csv_to_parquet(MESSAGES, &path, TimeUnit::Nanoseconds, None, true);
    validate_ok_or(dir.path(), 0);
    assert_accounted(&read(dir.path()), 3, 0, 0);
    csv_to_parquet(&MESSAGES.replace("c3,1,", "c3,1.5,"), &path, TimeUnit::Nanoseconds, None, true);
    let (out, _) = validate_ok_or(dir.path(), 0);
    assert!(out.contains("column turn: expected an integer, found 1.5"), "{out}");
    assert_accounted(&read(dir.path()), 2, 1, 1);
}

// ---- nulls in required columns -----------------------------------------------------------

#[test]
fn nulls_in_required_columns_reject_their_conversation_in_every_format() {
    // sent_at of c2's second message is null.
    let bad = MESSAGES.replace("c2,2,2026-11-16T10:02:00Z,", "c2,2,,");
    for format in ["csv", "jsonl", "parquet"] {
        let dir = Workdir::new();
        match format {
            "csv" => dir.baseline_with("messages", &bad),
            "jsonl" => jsonl_dataset(dir.path(), CONVERSATIONS, &bad, OUTCOMES),
            _ => parquet_dataset(dir.path(), CONVERSATIONS, &bad, OUTCOMES),
        }
        let (out, _) = validate_ok_or(dir.path(), 0);
        assert!(out.contains("column sent_at"), "{format}: {out}");
        let data = read(dir.path());
        assert_accounted(&data, 2, 1, 2);
        assert!(data.conversations.iter().all(|c| c.id != "c2"), "{format}");
    }
    // An explicit JSON null in a required column.
    let dir = Workdir::new();
    let messages = csv_to_jsonl(MESSAGES).replacen("\"sender\":\"prospect\"", "\"sender\":null", 1);
    dir.write("conversations.jsonl", csv_to_jsonl(CONVERSATIONS).as_bytes());
    dir.write("messages.jsonl", messages.as_bytes());
    dir.write("outcomes.jsonl", csv_to_jsonl(OUTCOMES).as_bytes());
    validate_ok_or(dir.path(), 0);
    let data = read(dir.path());
    assert_rejected_with(&data, "sender");
    assert_accounted(&data, 2, 1, 3);
}

// ---- sizes ---------------------------------------------------------------------------------

#[test]
fn a_ten_megabyte_message_is_accepted_and_replayed() {
    let dir = Workdir::new();
    let huge = "word ".repeat(2 * 1024 * 1024); // 10 MiB
    let messages = MESSAGES.replace("Just looking", &format!("{huge}can I talk to a human"));
    dir.baseline_with("messages", &messages);
    validate_ok_or(dir.path(), 0);
    let data = read(dir.path());
    assert_accounted(&data, 3, 0, 0);
    let c3 = data.conversations.iter().find(|c| c.id == "c3").unwrap();
    assert!(c3.messages[0].text.len() > 10 * 1024 * 1024);
    let decisions = replay(dir.path());
    assert!(decisions.lines().any(|l| l.starts_with("c3,")), "c3 is replayed");
}

#[test]
fn a_conversation_of_ten_thousand_turns_is_replayed_in_linear_time() {
    let dir = Workdir::new();
    let mut messages = String::from(MESSAGES);
    let mut conversations = String::from(CONVERSATIONS);
    conversations.push_str("long,2026-11-18T08:00:00Z,a9,smb,10,chat,sdr-v1\n");
    for turn in 1..=10_000i64 {
        let (sender, text) =
            if turn % 2 == 1 { ("prospect", "tell me more") } else { ("ai", "ok") };
        let at = chrono::DateTime::from_timestamp(1_763_452_800 + turn, 0).unwrap();
        messages.push_str(&format!(
            "long,{turn},{},{sender},p@x.com,{text},,,\n",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    dir.baseline_with("conversations", &conversations);
    dir.write("messages.csv", messages.as_bytes());
    let started = Instant::now();
    validate_ok_or(dir.path(), 0);
    assert_accounted(&read(dir.path()), 4, 0, 0);
    let decisions = replay(dir.path());
    let elapsed = started.elapsed();
    assert!(decisions.lines().any(|l| l.starts_with("long,")));
    // Debug build; a quadratic replay of 5,000 decision points x 23 policies takes minutes.
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
}

#[test]
fn header_only_tables_stop_the_run_with_a_clear_message() {
    let header = |t: &str| format!("{}\n", t.lines().next().unwrap());
    // CSV: all three header-only.
    let dir = Workdir::new();
    dir.write_dataset(&header(CONVERSATIONS), &header(MESSAGES), &header(OUTCOMES));
    let (_, err) = validate_ok_or(dir.path(), 3);
    assert!(err.contains("no conversation left"), "{err}");
    assert_accounted(&read(dir.path()), 0, 0, 0);
    // Parquet with zero rows.
    let dir = Workdir::new();
    parquet_dataset(dir.path(), &header(CONVERSATIONS), &header(MESSAGES), &header(OUTCOMES));
    let (_, err) = validate_ok_or(dir.path(), 3);
    assert!(err.contains("no conversation left"), "{err}");
    // JSONL: empty files (JSONL has no header; an empty table is simply empty).
    let dir = Workdir::new();
    for t in ["conversations", "messages", "outcomes"] {
        dir.write(&format!("{t}.jsonl"), b"");
    }
    let (_, err) = validate_ok_or(dir.path(), 3);
    assert!(err.contains("no conversation left"), "{err}");
    // Only the messages are empty: every conversation is kept, with no message.
    let dir = Workdir::new();
    dir.write_dataset(CONVERSATIONS, &header(MESSAGES), OUTCOMES);
    validate_ok_or(dir.path(), 0);
}

#[test]
fn a_conversation_without_prospect_messages_is_kept_and_never_handed_off() {
    let dir = Workdir::new();
    let conversations = format!("{CONVERSATIONS}c4,2026-11-18T09:00:00Z,a4,smb,5,chat,sdr-v1\n");
    let messages = format!("{MESSAGES}c4,1,2026-11-18T09:00:00Z,ai,,Hello? Anyone?,,,\n");
    dir.write_dataset(&conversations, &messages, OUTCOMES);
    validate_ok_or(dir.path(), 0);
    assert_accounted(&read(dir.path()), 4, 0, 0);
    let decisions = replay(dir.path());
    let rows: Vec<&str> = decisions.lines().filter(|l| l.starts_with("c4,")).collect();
    assert!(!rows.is_empty(), "c4 is in the decision table");
    for row in rows {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields[2], "", "c4 handed off: {row}");
        assert_eq!(fields[5], "neither", "{row}");
    }
}

// ---- unreadable lines and files --------------------------------------------------------------

#[test]
fn invalid_utf8_rejects_the_row_in_csv_and_jsonl() {
    let corrupt = |text: String| {
        let mut bytes = text.into_bytes();
        let at = bytes.windows(5).position(|w| w == b"Hello").unwrap();
        bytes[at + 1] = 0xc3; // a truncated two-byte sequence
        bytes[at + 2] = 0x28;
        bytes
    };
    let dir = Workdir::new();
    dir.write_dataset(CONVERSATIONS, "", OUTCOMES);
    dir.write("messages.csv", &corrupt(MESSAGES.to_string()));
    let (out, _) = validate_ok_or(dir.path(), 0);
    assert!(out.contains("invalid UTF-8"), "{out}");
    assert_accounted(&read(dir.path()), 2, 1, 3);

    let dir = Workdir::new();
    dir.write("conversations.jsonl", csv_to_jsonl(CONVERSATIONS).as_bytes());
    dir.write("messages.jsonl", &corrupt(csv_to_jsonl(MESSAGES)));
    dir.write("outcomes.jsonl", csv_to_jsonl(OUTCOMES).as_bytes());
    let (out, _) = validate_ok_or(dir.path(), 0);
    assert!(out.contains("invalid UTF-8"), "{out}");
    assert_accounted(&read(dir.path()), 2, 1, 3);
}

#[test]
fn json_lines_that_are_not_objects_are_rejected_alone() {
    let dir = Workdir::new();
    let conversations = format!("{}42\n\"c9\"\nnull\n[\"c1\"]\n", csv_to_jsonl(CONVERSATIONS));
    dir.write("conversations.jsonl", conversations.as_bytes());
    dir.write("messages.jsonl", csv_to_jsonl(MESSAGES).as_bytes());
    dir.write("outcomes.jsonl", csv_to_jsonl(OUTCOMES).as_bytes());
    let (out, _) = validate_ok_or(dir.path(), 0);
    assert!(out.contains("4 rejected rows"), "{out}");
    let data = read(dir.path());
    assert_eq!(data.rows_read["conversations"], 7);
    assert_eq!(data.rejected_rows, 4);
    assert_accounted(&data, 3, 0, 0);
}

#[test]
fn a_truncated_gzip_or_parquet_stops_the_run() {
    let dir = Workdir::new();
    let gz = gzip(MESSAGES.as_bytes());
    dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
    std::fs::remove_file(dir.join("messages.csv")).unwrap();
    dir.write("messages.csv.gz", &gz[..gz.len() - 9]);
    let (_, err) = validate_ok_or(dir.path(), 3);
    assert!(err.contains("messages.csv.gz: cannot be read"), "{err}");

    let dir = Workdir::new();
    parquet_dataset(dir.path(), CONVERSATIONS, MESSAGES, OUTCOMES);
    let path = dir.join("messages.parquet");
    let full = std::fs::read(&path).unwrap();
    for cut in [full.len() - 1, full.len() - 8, full.len() / 2, 4, 0] {
        std::fs::write(&path, &full[..cut]).unwrap();
        let (_, err) = validate_ok_or(dir.path(), 3);
        assert!(err.contains("messages.parquet: cannot be read"), "cut at {cut}: {err}");
    }
}

// ---- values out of range ---------------------------------------------------------------------

#[test]
fn timestamps_before_1970_and_in_year_9999_are_accepted() {
    let dir = Workdir::new();
    let conversations = CONVERSATIONS
        .replace("c1,2026-11-16T09:00:00Z", "c1,1969-07-20T20:17:40Z")
        .replace("c3,2026-11-17T11:00:00Z", "c3,9999-12-31T23:00:00Z");
    let messages = MESSAGES
        .replace("c1,1,2026-11-16T09:00:00Z", "c1,1,1969-07-20T20:17:40Z")
        .replace("c3,1,2026-11-17T11:00:00Z", "c3,1,9999-12-31 23:59:59.999");
    dir.write_dataset(&conversations, &messages, OUTCOMES);
    validate_ok_or(dir.path(), 0);
    let data = read(dir.path());
    assert_accounted(&data, 3, 0, 0);
    assert!(data.conversations.iter().any(|c| c.started_at < 0));
    replay(dir.path());
    // Beyond year 9999 is not a timestamp of the contract: rejected with a reason.
    let beyond = conversations.replace("9999-12-31T23:00:00Z", "+10000-01-01T00:00:00Z");
    dir.baseline_with("conversations", &beyond);
    dir.write("messages.csv", messages.as_bytes());
    let (out, _) = validate_ok_or(dir.path(), 0);
    assert!(out.contains("column started_at"), "{out}");
    assert_accounted(&read(dir.path()), 2, 1, 1);
}

#[test]
fn a_report_over_extreme_timestamps_completes() {
    let dir = Workdir::new();
    let conversations = CONVERSATIONS.replace("c3,2026-11-17T11:00:00Z", "c3,9999-12-31T23:00:00Z");
    let messages = MESSAGES.replace("c3,1,2026-11-17T11:00:00Z", "c3,1,9999-12-31T23:00:00Z");
    dir.write_dataset(&conversations, &messages, OUTCOMES);
    assert_report_completes(dir.path(), &["--bootstrap", "20"], "");
}

#[test]
fn turn_zero_or_negative_is_rejected() {
    for turn in ["0", "-1", "-9223372036854775808"] {
        let dir = Workdir::new();
        dir.baseline_with("messages", &MESSAGES.replace("c3,1,", &format!("c3,{turn},")));
        let (out, _) = validate_ok_or(dir.path(), 0);
        assert!(out.contains("column turn"), "{turn}: {out}");
        assert_accounted(&read(dir.path()), 2, 1, 1);
    }
    let dir = Workdir::new();
    parquet_dataset(dir.path(), CONVERSATIONS, &MESSAGES.replace("c3,1,", "c3,0,"), OUTCOMES);
    validate_ok_or(dir.path(), 0);
    assert_accounted(&read(dir.path()), 2, 1, 1);
}

#[test]
fn nan_and_infinite_amounts_are_rejected() {
    for amount in ["NaN", "inf", "-inf", "Infinity", "1e400"] {
        let dir = Workdir::new();
        dir.baseline_with("outcomes", &OUTCOMES.replace("12000", amount));
        let (out, _) = validate_ok_or(dir.path(), 0);
        assert!(out.contains("column opportunity_amount"), "{amount}: {out}");
        let data = read(dir.path());
        assert_accounted(&data, 2, 1, 2);
        assert!(data.conversations.iter().all(|c| c.id != "c2"));
    }
    // Parquet floats hold real NaN and infinity.
    for amount in ["NaN", "inf"] {
        let dir = Workdir::new();
        parquet_dataset(dir.path(), CONVERSATIONS, MESSAGES, &OUTCOMES.replace("12000", amount));
        validate_ok_or(dir.path(), 0);
        let data = read(dir.path());
        assert_rejected_with(&data, "opportunity_amount");
        assert_accounted(&data, 2, 1, 2);
    }
    // JSON has no NaN: the line is invalid JSON; its conversation id is still read, so c2 is
    // rejected whole rather than kept without its outcome.
    let dir = Workdir::new();
    jsonl_dataset(dir.path(), CONVERSATIONS, MESSAGES, OUTCOMES);
    let outcomes = csv_to_jsonl(OUTCOMES).replace("12000", "NaN");
    dir.write("outcomes.jsonl", outcomes.as_bytes());
    validate_ok_or(dir.path(), 0);
    let data = read(dir.path());
    assert_rejected_with(&data, "invalid JSON");
    assert_eq!(data.rejected_rows, 1);
    assert_accounted(&data, 2, 1, 2);
}

#[test]
fn a_rep_rating_of_seven_is_rejected() {
    let bad = OUTCOMES.replace(",USD,5", ",USD,7");
    for format in ["csv", "jsonl", "parquet"] {
        let dir = Workdir::new();
        match format {
            "csv" => dir.baseline_with("outcomes", &bad),
            "jsonl" => jsonl_dataset(dir.path(), CONVERSATIONS, MESSAGES, &bad),
            _ => parquet_dataset(dir.path(), CONVERSATIONS, MESSAGES, &bad),
        }
        let (out, _) = validate_ok_or(dir.path(), 0);
        assert!(out.contains("column rep_rating"), "{format}: {out}");
        assert_accounted(&read(dir.path()), 2, 1, 2);
    }
}

#[test]
fn duplicated_headers_stop_the_run() {
    let dup = MESSAGES.replacen("signals,qualified", "signals,signals", 1);
    let dir = Workdir::new();
    dir.baseline_with("messages", &dup);
    let (_, err) = validate_ok_or(dir.path(), 3);
    assert!(err.contains("duplicated header name \"signals\""), "{err}");
    let dir = Workdir::new();
    dir.write_dataset(CONVERSATIONS, MESSAGES, OUTCOMES);
    std::fs::remove_file(dir.join("messages.csv")).unwrap();
    dir.write("messages.csv.gz", &gzip(dup.as_bytes()));
    let (_, err) = validate_ok_or(dir.path(), 3);
    assert!(err.contains("duplicated header name"), "{err}");
}

// ---- regressions found by fuzzing (scripts/fuzz.sh) -------------------------------------------

/// A copy of tests/fixtures/corrupt-parquet with `messages.parquet` taken from `source`.
fn corrupt_parquet_dataset(source: &str) -> Workdir {
    let fixtures = fixture("corrupt-parquet");
    let dir = Workdir::new();
    for name in ["conversations.parquet", "outcomes.parquet"] {
        std::fs::copy(fixtures.join(name), dir.join(name)).unwrap();
    }
    std::fs::copy(fixtures.join(source), dir.join("messages.parquet")).unwrap();
    dir
}

#[test]
fn a_parquet_page_declaring_a_negative_value_count_stops_the_run_without_aborting() {
    // Found by fuzz_ingest: polars read the count as 2^64 values and the allocation aborted
    // the process (SIGABRT, not even a panic).
    let dir = corrupt_parquet_dataset("messages.parquet");
    let (_, err) = validate_ok_or(dir.path(), 3);
    assert!(err.contains("messages.parquet: cannot be read: the file is corrupt"), "{err}");
    assert!(err.contains("negative value count"), "{err}");
}

#[test]
fn a_parquet_file_the_decoder_panics_on_stops_the_run_without_a_panic_message() {
    // The decoder panics on this file: the panic is caught, and its message and backtrace must
    // not reach stderr either, where a scheduler would read a crash.
    let dir = corrupt_parquet_dataset("messages-decoder-panic.parquet.bin");
    let output = handoff()
        .args(["validate", "--data"])
        .arg(dir.path())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(err.contains("messages.parquet: cannot be read: the file is corrupt"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
}

#[test]
fn parquet_timestamps_outside_years_0000_to_9999_are_rejected_like_text() {
    use polars::prelude::*;
    let cases = [
        (TimeUnit::Milliseconds, i64::MAX, false),
        (TimeUnit::Milliseconds, i64::MIN, false),
        (TimeUnit::Nanoseconds, i64::MIN, true), // 1677-09-21: inside the range
        (TimeUnit::Microseconds, i64::MAX, false),
        (TimeUnit::Milliseconds, 253_402_300_799_999, true), // 9999-12-31T23:59:59.999Z
    ];
    for (unit, extreme, accepted) in cases {
        let dir = Workdir::new();
        parquet_dataset(dir.path(), CONVERSATIONS, MESSAGES, OUTCOMES);
        // c3 starts at the extreme instant.
        let path = dir.join("conversations.parquet");
        let mut conversations =
            ParquetReader::new(std::fs::File::open(&path).unwrap()).finish().unwrap();
        let column = Series::new("started_at".into(), vec![Some(0i64), Some(1), Some(extreme)])
            .cast(&DataType::Datetime(unit, None))
            .unwrap();
        conversations.with_column(column.into_column()).unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut conversations)
            .unwrap();
        let (out, _) = validate_ok_or(dir.path(), 0);
        let data = read(dir.path());
        if accepted {
            assert_accounted(&data, 3, 0, 0);
        } else {
            assert!(out.contains("expected a timestamp in years 0000 to 9999"), "{out}");
            assert_accounted(&data, 2, 1, 1);
        }
        // And a report over what is left completes.
        let extra = ["--max-rejected", "1", "--bootstrap", "10"];
        assert_report_completes(dir.path(), &extra, &format!("{unit:?} {extreme}: "));
    }
}

#[test]
fn replay_is_linear_in_the_length_of_a_conversation() {
    use handoff::model::{Conversation, Message, Sender};
    use handoff::replay::{build_timeline, decide};
    use handoff::signals::vocabulary::SignalSet;
    // 100,000 messages: linear work is milliseconds per policy, quadratic work (10^10 steps)
    // would not finish within the bound even in a release build.
    let messages: Vec<Message> = (1..=100_000i64)
        .map(|turn| Message {
            turn,
            sent_at: turn,
            sender: if turn % 2 == 1 { Sender::Prospect } else { Sender::Ai },
            participant: Some(format!("p{}@x.com", turn % 7)),
            text: String::new(),
            tags: vec![],
            qualified: 0,
            handoff_probability: None,
        })
        .collect();
    let conversation = Conversation { id: "long".into(), messages, ..Conversation::default() };
    let file = handoff::policy::file::load_policies(Path::new(POLICIES)).unwrap();
    let (policies, variants) = handoff::policy::all_policies(&file);
    let started = Instant::now();
    // Signals only on the last prospect message: a policy that waits for one scans the whole
    // conversation (its worst case) and hands off at the very end.
    let mut signals = vec![SignalSet::EMPTY; 50_000];
    signals[49_999] = SignalSet::of(&[handoff::signals::vocabulary::Signal::HumanRequest]);
    let timeline = build_timeline(&conversation, &signals);
    assert_eq!(timeline.points.len(), 50_000);
    for policy in policies.iter().chain(variants.iter().map(|v| &v.policy)) {
        decide(policy, &timeline);
    }
    let human = policies.iter().find(|p| p.name == "human-request-only").unwrap();
    assert_eq!(decide(human, &timeline).point, Some(50_000));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}
