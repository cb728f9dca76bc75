//! `handoff replay` and `handoff signals` through the real binary on the hand-worked fixture
//! (tests/fixtures/replay_small, decisions worked out by hand in expected.csv): the decision
//! table's columns and values in CSV and Parquet, sweep variant names, the output-extension
//! check, and the `signals` table with its `source` tag per `--signal-source`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::process::Command;

use crate::harness::*;

/// The columns outputs.md gives the decision table, in order.
const DECISION_COLUMNS: [&str; 6] =
    ["conversation_id", "policy", "handoff_turn", "situation", "historical_handoff_turn", "timing"];

type Row = BTreeMap<String, String>;

/// `handoff <command> --data <data> --policies <policies> --quiet`.
fn subcommand(command: &str, data: &Path, policies: &Path) -> Command {
    let mut cmd = handoff();
    cmd.arg(command).arg("--data").arg(data).arg("--policies").arg(policies).arg("--quiet");
    cmd
}

fn fixture_policies() -> PathBuf {
    Path::new(REPLAY_SMALL).join("policies.toml")
}

/// Runs `handoff replay --out <dir>/<file>` and returns the output path.
fn replay(dir: &Path, policies: &Path, file: &str) -> PathBuf {
    let out = dir.join(file);
    subcommand("replay", Path::new(REPLAY_SMALL), policies)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    out
}

/// A CSV file's header and its rows keyed by column name.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Row>) {
    let mut reader = csv::Reader::from_path(path).expect("csv");
    let header: Vec<String> = reader.headers().expect("header").iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            header.iter().cloned().zip(r.iter().map(String::from)).collect()
        })
        .collect();
    (header, rows)
}

/// A Parquet file's column names and its rows with every value as text (null as "").
fn read_parquet(path: &Path) -> (Vec<String>, Vec<Row>) {
    use polars::prelude::*;
    let file = std::fs::File::open(path).expect("parquet");
    let frame = ParquetReader::new(file).finish().expect("read parquet");
    let header: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    let mut rows = vec![Row::new(); frame.height()];
    for column in frame.columns() {
        let text = column.cast(&DataType::String).expect("cast to text");
        let values = text.str().expect("strings");
        for (row, value) in rows.iter_mut().zip(values.iter()) {
            row.insert(column.name().to_string(), value.unwrap_or_default().to_string());
        }
    }
    (header, rows)
}

/// (conversation, policy) -> the row's decision columns.
fn by_key(rows: &[Row]) -> BTreeMap<(String, String), Vec<String>> {
    rows.iter()
        .map(|r| {
            let key = (r["conversation_id"].clone(), r["policy"].clone());
            (key, DECISION_COLUMNS[2..].iter().map(|c| r[*c].clone()).collect())
        })
        .collect()
}

/// The decision table worked out by hand: expected.csv's handoff_turn and situation, the raw
/// `outcomes.handoff_turn`, and `timing` from the decision points of both handoffs.
fn expected_table() -> BTreeMap<(String, String), Vec<String>> {
    let (_, expected) = read_csv(&Path::new(REPLAY_SMALL).join("expected.csv"));
    let (_, outcomes) = read_csv(&Path::new(REPLAY_SMALL).join("outcomes.csv"));
    let (_, messages) = read_csv(&Path::new(REPLAY_SMALL).join("messages.csv"));
    let raw_handoff: BTreeMap<&str, &str> = outcomes
        .iter()
        .map(|r| (r["conversation_id"].as_str(), r["handoff_turn"].as_str()))
        .collect();
    // The decision point of a prospect turn is its rank among the conversation's prospect turns.
    let mut points: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in messages.iter().filter(|m| m["sender"] == "prospect") {
        let n = counts.entry(m["conversation_id"].clone()).or_default();
        *n += 1;
        points.insert((m["conversation_id"].clone(), m["turn"].clone()), *n);
    }
    let point = |conv: &str, turn: &str| -> Option<usize> {
        (!turn.is_empty()).then(|| points[&(conv.to_string(), turn.to_string())])
    };
    let historical: BTreeMap<String, Option<usize>> = expected
        .iter()
        .filter(|r| r["policy"] == "historical")
        .map(|r| (r["conversation_id"].clone(), point(&r["conversation_id"], &r["handoff_turn"])))
        .collect();
    expected
        .iter()
        .map(|r| {
            let conv = r["conversation_id"].as_str();
            let timing = match (point(conv, &r["handoff_turn"]), historical[conv]) {
                (None, None) => "neither",
                (Some(_), None) => "only_policy",
                (None, Some(_)) => "only_history",
                (Some(p), Some(h)) if p < h => "earlier",
                (Some(p), Some(h)) if p == h => "same",
                (Some(_), Some(_)) => "later",
            };
            let values = vec![
                r["handoff_turn"].clone(),
                r["situation"].clone(),
                raw_handoff.get(conv).copied().unwrap_or_default().to_string(),
                timing.to_string(),
            ];
            ((conv.to_string(), r["policy"].clone()), values)
        })
        .collect()
}

fn assert_decision_table(header: &[String], rows: &[Row]) {
    assert_eq!(header[..6], DECISION_COLUMNS, "the columns of outputs.md, in order");
    let got = by_key(rows);
    assert_eq!(got.len(), rows.len(), "one row per conversation and policy");
    let expected = expected_table();
    assert_eq!(expected.len(), 30);
    for (key, values) in &expected {
        assert_eq!(
            got.get(key),
            Some(values),
            "{key:?}: handoff_turn, situation, historical, timing"
        );
    }
    assert_eq!(got.len(), expected.len(), "no rows beyond the hand-worked ones");
}

#[test]
fn replay_csv_matches_the_hand_worked_decisions() {
    let dir = Workdir::new();
    let out = replay(dir.path(), &fixture_policies(), "decisions.csv");
    let (header, rows) = read_csv(&out);
    assert_decision_table(&header, &rows);
}

#[test]
fn replay_parquet_matches_the_hand_worked_decisions_and_the_csv() {
    let dir = Workdir::new();
    let parquet = replay(dir.path(), &fixture_policies(), "out/decisions.parquet");
    let (header, rows) = read_parquet(&parquet);
    assert_decision_table(&header, &rows);
    let csv = replay(dir.path(), &fixture_policies(), "decisions.csv");
    let (csv_header, csv_rows) = read_csv(&csv);
    assert_eq!(header, csv_header);
    assert_eq!(rows, csv_rows, "the same table in both formats, in the same order");
}

#[test]
fn replay_output_is_deterministic() {
    let dir = Workdir::new();
    let first = std::fs::read(replay(dir.path(), &fixture_policies(), "a.csv")).expect("a");
    let second = std::fs::read(replay(dir.path(), &fixture_policies(), "b.csv")).expect("b");
    assert_eq!(first, second);
}

#[test]
fn sweep_variants_are_named_policy_at_parameter_equals_value() {
    let dir = Workdir::new();
    let mut text = std::fs::read_to_string(fixture_policies()).expect("policies");
    text.push_str(
        "\n[[sweep]]\npolicy = \"score\"\nparameter = \"threshold\"\nfrom = 0.5\nto = 1.0\n\
         step = 0.25\n\n[[sweep]]\npolicy = \"intent_delay\"\nparameter = \"delay\"\n\
         values = [0, 1]\n",
    );
    let policies = dir.join("policies.toml");
    std::fs::write(&policies, text).expect("write policies");
    let (_, rows) = read_csv(&replay(dir.path(), &policies, "decisions.csv"));
    let names: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["policy"].as_str()).collect();
    let variants = [
        "score@threshold=0.5",
        "score@threshold=0.75",
        "score@threshold=1",
        "intent_delay@delay=0",
        "intent_delay@delay=1",
    ];
    for variant in variants {
        assert!(names.contains(variant), "{variant} missing from {names:?}");
    }
    assert_eq!(names.len(), 5 + variants.len(), "historical, four policies, five variants");
    assert_eq!(rows.len(), 6 * names.len());

    let got = by_key(&rows);
    let turn = |conv: &str, policy: &str| got[&(conv.to_string(), policy.to_string())][0].clone();
    for conv in ["c1", "c2", "c3", "c4", "c5", "c6"] {
        // A variant at the policy's own value decides exactly as the policy.
        assert_eq!(turn(conv, "score@threshold=1"), turn(conv, "score"), "{conv}");
        assert_eq!(turn(conv, "intent_delay@delay=1"), turn(conv, "intent_delay"), "{conv}");
    }
    // c1: pricing (0.5) at turn 3 reaches threshold 0.5 but not 0.75.
    assert_eq!(turn("c1", "score@threshold=0.5"), "3");
    assert_eq!(turn("c1", "score@threshold=0.75"), "");
    // c1: high_intent ready at decision point 2 (turn 3); no delay hands off there.
    assert_eq!(turn("c1", "intent_delay@delay=0"), "3");
    // c6: ready at decision point 2 (turn 3) with nothing after it: only delay 0 hands off.
    assert_eq!(turn("c6", "intent_delay@delay=0"), "3");
}

#[test]
fn replay_to_an_unknown_extension_exits_2_and_writes_nothing() {
    let dir = Workdir::new();
    let out = dir.join("decisions.txt");
    let output = subcommand("replay", Path::new(REPLAY_SMALL), &fixture_policies())
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("decisions.txt") && stderr.contains(".csv or .parquet"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "nothing written");
}

/// `handoff signals --signal-source <source> --detector lexicon` on `data`; the rows of its
/// CSV. (The learned detector has its own tests, tests/cli/detector_cli.rs.)
fn signals(data: &Path, source: &str, dir: &Path) -> Vec<Row> {
    let out = dir.join(format!("signals-{source}.csv"));
    subcommand("signals", data, &fixture_policies())
        .args(["--signal-source", source, "--detector", "lexicon", "--out"])
        .arg(&out)
        .assert()
        .success();
    let (header, rows) = read_csv(&out);
    let mut expected = vec!["conversation_id", "turn", "signals", "source"];
    if source != "tags" {
        // Text was read: which detector found each signal, and the model's probabilities.
        expected.extend(["found_by", "probabilities"]);
    }
    assert_eq!(header, expected);
    rows
}

fn cell(rows: &[Row], conv: &str, turn: &str, column: &str) -> String {
    let row = rows.iter().find(|r| r["conversation_id"] == conv && r["turn"] == turn);
    row.unwrap_or_else(|| panic!("no row for {conv} turn {turn}"))[column].clone()
}

#[test]
fn signals_lists_every_prospect_message_tagged_with_its_source() {
    let dir = Workdir::new();
    let (_, messages) = read_csv(&Path::new(REPLAY_SMALL).join("messages.csv"));
    let prospect = messages.iter().filter(|m| m["sender"] == "prospect").count();

    let tags = signals(Path::new(REPLAY_SMALL), "tags", dir.path());
    assert_eq!(tags.len(), prospect, "one row per prospect message, no other sender");
    assert!(tags.iter().all(|r| r["source"] == "tags"));
    // Tags are trimmed, lower-cased, in vocabulary order; unknown categories become other.
    assert_eq!(cell(&tags, "c6", "1", "signals"), "demo_request;pricing");
    assert_eq!(cell(&tags, "c6", "3", "signals"), "objection:other");

    let text = signals(Path::new(REPLAY_SMALL), "text", dir.path());
    assert_eq!(text.len(), prospect);
    assert!(text.iter().all(|r| r["source"] == "text"));
    // "Talk to a human about pricing please." is found in the text alone.
    assert_eq!(cell(&text, "c5", "1", "signals"), "human_request;pricing");
    assert_eq!(cell(&text, "c6", "3", "signals"), "", "`hmm` says nothing");
}

#[test]
fn signals_both_says_which_source_found_each_message_signals() {
    let dir = Workdir::new();
    // A copy of the fixture whose c1 turn 3 has lost its `pricing` tag: only the text finds it.
    let data = dir.join("data");
    std::fs::create_dir(&data).expect("folder");
    for table in ["conversations", "outcomes"] {
        let name = format!("{table}.csv");
        std::fs::copy(Path::new(REPLAY_SMALL).join(&name), data.join(&name)).expect("copy");
    }
    let messages =
        std::fs::read_to_string(Path::new(REPLAY_SMALL).join("messages.csv")).expect("msgs");
    let untagged = messages.replace("10k a year.,pricing,budget", "10k a year.,,budget");
    assert_ne!(untagged, messages, "the fixture line to untag is still there");
    std::fs::write(data.join("messages.csv"), untagged).expect("write");

    let both = signals(&data, "both", dir.path());
    assert_eq!(cell(&both, "c1", "3", "signals"), "pricing");
    assert_eq!(cell(&both, "c1", "3", "source"), "text", "only the text found it");
    assert_eq!(cell(&both, "c6", "3", "signals"), "objection:other");
    assert_eq!(cell(&both, "c6", "3", "source"), "tags", "only the tags carried it");
    assert_eq!(cell(&both, "c5", "1", "source"), "both", "tags and text agree");
    assert_eq!(cell(&both, "c1", "1", "source"), "both", "both consulted, neither found any");
}

#[test]
fn the_output_extension_is_checked_before_the_data_is_read() {
    let dir = Workdir::new();
    let missing_data = dir.join("no-such-folder");
    for command in ["replay", "signals"] {
        let output = subcommand(command, &missing_data, &fixture_policies())
            .arg("--out")
            .arg(dir.join("out.json"))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        // A missing data folder would exit 3; the bad --out is found first.
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(stderr.contains("out.json: the output must end in .csv or .parquet"), "{stderr}");
    }
}

#[test]
fn signals_use_the_policies_file_lexicon_override_and_extension() {
    let dir = Workdir::new();
    let mut text = std::fs::read_to_string(fixture_policies()).expect("policies");
    text.push_str(
        "\n[lexicon]\npricing = [\"price sheet\"]\n\n[lexicon.extend]\n\
         \"objection:other\" = [\"hmm\"]\n",
    );
    let policies = dir.join("policies.toml");
    std::fs::write(&policies, text).expect("write policies");
    let out = dir.join("signals.csv");
    // The lexicon alone: in the default ensemble the model may still find pricing.
    subcommand("signals", Path::new(REPLAY_SMALL), &policies)
        .args(["--signal-source", "text", "--detector", "lexicon", "--out"])
        .arg(&out)
        .assert()
        .success();
    let (_, rows) = read_csv(&out);
    // The override replaces every default pricing phrase ("how much" among them).
    assert_eq!(cell(&rows, "c1", "3", "signals"), "");
    assert_eq!(cell(&rows, "c5", "1", "signals"), "human_request", "pricing gone, rest kept");
    // The extension adds to the defaults.
    assert_eq!(cell(&rows, "c6", "3", "signals"), "objection:other");
    assert_eq!(cell(&rows, "c3", "3", "signals"), "objection:timing", "defaults still apply");

    // The default ensemble keeps the user's lexicon as written: a replaced signal is the
    // lexicon's alone, and an added phrase counts whatever the model says.
    subcommand("signals", Path::new(REPLAY_SMALL), &policies)
        .args(["--signal-source", "text", "--out"])
        .arg(&out)
        .assert()
        .success();
    let (_, rows) = read_csv(&out);
    let has = |conv: &str, turn: &str, signal: &str| {
        cell(&rows, conv, turn, "signals").split(';').any(|s| s == signal)
    };
    assert!(!has("c1", "3", "pricing"), "replaced pricing phrases do not come back");
    assert!(!has("c5", "1", "pricing"));
    assert!(has("c6", "3", "objection:other"), "the added phrase counts");
}
