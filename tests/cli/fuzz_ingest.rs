//! Fuzz target (property-based, proptest): the table readers. Arbitrary bytes, and mutations of
//! valid CSV, gzip CSV, JSONL and Parquet tables, are written as one of the three tables (the
//! other two valid) and loaded with `ingest::read_dataset` and `ingest::load`. Nothing may
//! panic, a failure is a `DataError` naming the file, and a data set that loads accounts for
//! every row it read. `FUZZ_CASES` sets the number of cases (scripts/fuzz.sh).

use std::path::Path;
use std::sync::OnceLock;

use handoff::error::DataError;
use handoff::ingest::{self, IngestOptions};
use polars::prelude::TimeUnit;
use proptest::prelude::*;

use crate::harness::*;
use crate::strategies::{fuzz_config, ByteMutation};

const TABLES: [(&str, &str); 3] =
    [("conversations", CONVERSATIONS), ("messages", MESSAGES), ("outcomes", OUTCOMES)];
const EXTENSIONS: [&str; 4] = ["csv", "csv.gz", "jsonl", "parquet"];

/// The valid bytes of table `t` in format `f` (Parquet encoded once, then cached).
fn valid_bytes(t: usize, f: usize) -> Vec<u8> {
    static PARQUET: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let text = TABLES[t].1;
    match EXTENSIONS[f] {
        "csv" => text.as_bytes().to_vec(),
        "csv.gz" => gzip(text.as_bytes()),
        "jsonl" => csv_to_jsonl(text).into_bytes(),
        _ => PARQUET
            .get_or_init(|| {
                let dir = Workdir::new();
                TABLES
                    .iter()
                    .map(|(name, text)| {
                        let path = dir.join(format!("{name}.parquet"));
                        csv_to_parquet(text, &path, TimeUnit::Milliseconds, Some("UTC"), false);
                        std::fs::read(&path).expect("parquet bytes")
                    })
                    .collect()
            })
            .get(t)
            .cloned()
            .unwrap_or_default(),
    }
}

/// Byte fragments that steer mutations towards the readers' interesting paths.
const TOKENS: &[&[u8]] = &[
    b",",
    b"\"",
    b"\n",
    b"\r\n",
    b"{",
    b"}",
    b"null",
    b"NaN",
    b"-1",
    b"\xff",
    b"9999999999999999999999",
    b"1969-12-31T23:59:59Z",
    b"[1]",
    b"c1",
    b"prospect",
    b"\xef\xbb\xbf",
];

/// Writes the data set with table `t` replaced by `bytes` in format `f`; loads it and checks.
fn check(t: usize, f: usize, bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = Workdir::new();
    for (i, (name, text)) in TABLES.iter().enumerate() {
        if i != t {
            dir.write(&format!("{name}.csv"), text.as_bytes());
        }
    }
    let label = format!("{}.{}", TABLES[t].0, EXTENSIONS[f]);
    dir.write(&label, bytes);
    check_loaded(dir.path(), &label)
}

fn check_loaded(dir: &Path, label: &str) -> Result<(), TestCaseError> {
    match ingest::read_dataset(dir) {
        Ok(data) => {
            let kept = data.conversations.len() as u64;
            prop_assert_eq!(kept + data.rejected_conversations, data.total_conversation_ids);
            let rows = |t: &str| data.rows_read.get(t).copied().unwrap_or(0);
            let kept_messages = data.message_count() as u64;
            let kept_outcomes = data.conversations.iter().filter(|c| c.outcome.is_some()).count();
            prop_assert!(rows("conversations") >= kept);
            prop_assert!(rows("messages") >= kept_messages);
            prop_assert!(rows("outcomes") >= kept_outcomes as u64);
            let dropped = rows("conversations") > kept
                || rows("messages") > kept_messages
                || rows("outcomes") > kept_outcomes as u64;
            // A row read and not kept is always explained by a rejection.
            prop_assert!(!dropped || !data.rejections.is_empty(), "silent drop");
            prop_assert!(data.rejected_rows as usize <= data.rejections.len());
            for c in &data.conversations {
                prop_assert!(
                    !data.rejections.iter().any(|r| r.conversation_id.as_deref() == Some(&c.id)),
                    "{} accepted and rejected",
                    c.id
                );
            }
            // The usability check answers without panicking either way.
            let _ = ingest::check_usable(&data, &IngestOptions { max_rejected: 0.5 });
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(!message.is_empty());
            if let DataError::Unreadable { file, .. } | DataError::MissingColumn { file, .. } = &e {
                prop_assert_eq!(file.as_str(), label, "the error names the file");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_config(48, 500))]

    #[test]
    fn arbitrary_bytes_as_any_table_never_panic(
        t in 0usize..3,
        f in 0usize..4,
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        check(t, f, &bytes)?;
    }

    #[test]
    fn mutated_valid_tables_never_panic(
        t in 0usize..3,
        f in 0usize..4,
        mutations in prop::collection::vec(ByteMutation::arb(TOKENS), 1..6),
    ) {
        let bytes = mutations.iter().fold(valid_bytes(t, f), |b, m| m.apply(b));
        check(t, f, &bytes)?;
    }
}

#[test]
fn the_unmutated_fixtures_load() {
    for (t, (table, _)) in TABLES.iter().enumerate() {
        for (f, extension) in EXTENSIONS.iter().enumerate() {
            let dir = Workdir::new();
            for (i, (name, text)) in TABLES.iter().enumerate() {
                if i != t {
                    dir.write(&format!("{name}.csv"), text.as_bytes());
                }
            }
            dir.write(&format!("{table}.{extension}"), &valid_bytes(t, f));
            let data = ingest::read_dataset(dir.path()).expect("valid fixture");
            assert_eq!(data.conversations.len(), 3, "{t} {f}");
        }
    }
}
