//! The fast paths of ingest give the same data as the plain ones: reading without message
//! text (CSV and Parquet) loses nothing but the text, the `signals` header peek agrees with
//! what a full read finds, and invalid UTF-8 in a skipped column still rejects its row.

mod common;

use std::path::Path;

use common::*;
use handoff::ingest::{self, IngestOptions, MessageText};
use handoff::model::Dataset;
use polars::prelude::TimeUnit;
use tempfile::TempDir;

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
    let dir = TempDir::new().unwrap();
    write_dataset(dir.path(), CONVERSATIONS, MESSAGES, OUTCOMES);
    assert_same_but_text(
        &load(dir.path(), MessageText::Keep),
        &load(dir.path(), MessageText::Skip),
    );
    assert_eq!(ingest::messages_have_signals_column(dir.path()), Some(true));
}

#[test]
fn parquet_without_text_is_the_same_data_set_without_text() {
    let dir = TempDir::new().unwrap();
    for (name, csv) in
        [("conversations", CONVERSATIONS), ("messages", MESSAGES), ("outcomes", OUTCOMES)]
    {
        let path = dir.path().join(format!("{name}.parquet"));
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
    let dir = TempDir::new().unwrap();
    let without: String = MESSAGES
        .lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(',').collect();
            fields.remove(6);
            fields.join(",") + "\n"
        })
        .collect();
    write_dataset(dir.path(), CONVERSATIONS, &without, OUTCOMES);
    assert_eq!(ingest::messages_have_signals_column(dir.path()), Some(false));
    assert!(!load(dir.path(), MessageText::Skip).columns.signals);

    let jsonl = TempDir::new().unwrap();
    write(jsonl.path(), "conversations.csv", CONVERSATIONS.as_bytes());
    write(jsonl.path(), "messages.jsonl", csv_to_jsonl(MESSAGES).as_bytes());
    write(jsonl.path(), "outcomes.csv", OUTCOMES.as_bytes());
    assert_eq!(ingest::messages_have_signals_column(jsonl.path()), None);
}

#[test]
fn invalid_utf8_in_the_skipped_text_still_rejects_the_row() {
    let dir = TempDir::new().unwrap();
    let mut messages = MESSAGES.as_bytes().to_vec();
    let at = messages.windows(5).position(|w| w == b"Sure,").expect("fixture text");
    messages[at] = 0xff;
    write(dir.path(), "conversations.csv", CONVERSATIONS.as_bytes());
    write(dir.path(), "messages.csv", &messages);
    write(dir.path(), "outcomes.csv", OUTCOMES.as_bytes());
    let kept = load(dir.path(), MessageText::Keep);
    let skipped = load(dir.path(), MessageText::Skip);
    assert_eq!(kept.rejections.len(), 1);
    assert_eq!(kept.rejections, skipped.rejections);
    assert_eq!(kept.conversations.len(), skipped.conversations.len());
}
