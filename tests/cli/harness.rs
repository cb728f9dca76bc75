//! The one harness of the integration tests, in the spirit of xsv's `Workdir`: a temporary
//! folder ([`Workdir`]) with writers for the three input tables (the tiny valid data set below,
//! mutated per test, as CSV, JSON lines, gzip or Parquet), a command builder for the real binary
//! ([`handoff`]) that inherits no `HANDOFF_*` variable from the caller's environment, the paths
//! of the shipped fixtures, and [`file_tree`] for comparing output folders byte for byte.
//! Every area module uses it through `use crate::harness::*`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use assert_cmd::assert::OutputAssertExt;
use tempfile::TempDir;

/// The shipped policies file (the one `cargo run -- report` uses).
pub const POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/policies.toml");

/// The shipped policies file without its `[[search]]` blocks (written once per test process),
/// for tests about the report folder itself, whose files a search's `search.csv` would dwarf.
pub fn policies_without_searches() -> &'static Path {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let text = std::fs::read_to_string(POLICIES).expect("the shipped policies file");
        let mut kept = String::new();
        let mut skipping = false;
        for line in text.lines() {
            if line.starts_with("[[search]]") {
                skipping = true;
                continue;
            }
            if line.starts_with('[') && !line.starts_with("[search") {
                skipping = false;
            }
            if !skipping {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        let path = std::env::temp_dir()
            .join(format!("handoff-tests-{}-policies-without-searches.toml", std::process::id()));
        std::fs::write(&path, kept).expect("writing the policies without searches");
        path
    })
}

/// The hand-worked replay fixture: six conversations, four policies, expected decisions.
pub const REPLAY_SMALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/replay_small");

/// The files of outputs.md that every report folder holds, besides `charts/`.
pub const REPORT_FILES: [&str; 8] = [
    "report.html",
    "report.md",
    "summary.json",
    "policies.csv",
    "decisions.parquet",
    "sweeps.csv",
    "rejected.csv",
    "run.json",
];

/// A file or folder under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// `handoff` (the binary of this package) with no `HANDOFF_*` variable inherited from the
/// caller's environment, so that a developer's settings (`HANDOFF_DATA`, `HANDOFF_LOG`, ...)
/// never change what a test sees. Tests that mean to set one do so on the returned command.
/// `.assert()` comes from assert_cmd's [`OutputAssertExt`], re-exported here.
pub fn handoff() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handoff"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HANDOFF_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// A temporary folder, removed when dropped, that the test writes its inputs into.
pub struct Workdir {
    dir: TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir { dir: TempDir::new().expect("temporary folder") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes `bytes` to `relative` (folders created as needed); the full path.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> PathBuf {
        write(self.path(), relative, bytes)
    }

    /// Writes the three tables as CSV into the folder.
    pub fn write_dataset(&self, conversations: &str, messages: &str, outcomes: &str) {
        write_dataset(self.path(), conversations, messages, outcomes);
    }

    /// Writes the baseline data set with one table's text replaced.
    pub fn baseline_with(&self, table: &str, text: &str) {
        baseline_with(self.path(), table, text);
    }
}

pub const CONVERSATIONS: &str = "\
conversation_id,started_at,account_id,segment,employee_count,channel,ai_agent
c1,2026-11-16T09:00:00Z,a1,SMB,12,chat,sdr-v1
c2,2026-11-16T10:00:00Z,a2, Enterprise ,5000,email,sdr-v1
c3,2026-11-17T11:00:00Z,a3,mid_market,300,chat,sdr-v2
";

pub const MESSAGES: &str = "\
conversation_id,turn,sent_at,sender,participant,text,signals,qualified,handoff_probability
c1,1,2026-11-16T09:00:00Z,prospect,Ann@x.com,Hi there,,budget,0.1
c1,2,2026-11-16T09:01:00Z,ai,,Hello!,,,
c1,3,2026-11-16T09:05:00Z,prospect,ann@x.com,What does it cost?,pricing,need,0.2
c2,1,2026-11-16T10:00:00Z,prospect,bob@y.com,Need a demo,demo,,0.5
c2,2,2026-11-16T10:02:00Z,ai,,Sure,,,
c3,1,2026-11-17T11:00:00Z,prospect,cy@z.com,Just looking,,,
";

pub const OUTCOMES: &str = "\
conversation_id,handoff_turn,handoff_at,context,meeting_at,opportunity_at,opportunity_amount,currency,rep_rating
c1,3,2026-11-16T09:06:00Z,history;signals,2026-11-18T09:00:00Z,,,,4
c2,1,2026-11-16T10:01:00Z,history,,2026-11-20T10:00:00Z,12000,USD,5
";

/// Writes the three tables as CSV into `dir`.
pub fn write_dataset(dir: &Path, conversations: &str, messages: &str, outcomes: &str) {
    write(dir, "conversations.csv", conversations.as_bytes());
    write(dir, "messages.csv", messages.as_bytes());
    write(dir, "outcomes.csv", outcomes.as_bytes());
}

/// Writes `bytes` to `dir/name` (folders created as needed); the full path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

/// The baseline with one table's text replaced.
pub fn baseline_with(dir: &Path, table: &str, text: &str) {
    let pick = |name: &str, default: &'static str| {
        if name == table {
            text.to_string()
        } else {
            default.to_string()
        }
    };
    write_dataset(
        dir,
        &pick("conversations", CONVERSATIONS),
        &pick("messages", MESSAGES),
        &pick("outcomes", OUTCOMES),
    );
}

/// `handoff validate --data DIR` plus extra arguments.
pub fn validate(dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = handoff();
    cmd.arg("validate").arg("--data").arg(dir).args(extra);
    cmd
}

/// Runs validate; stdout, stderr and the exit code.
pub fn run_validate(dir: &Path, extra: &[&str]) -> (String, String, i32) {
    let output = validate(dir, extra).output().expect("run handoff");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code().unwrap_or(-1),
    )
}

/// A CSV table converted to JSON lines: numbers become JSON numbers, empty fields are left out.
pub fn csv_to_jsonl(csv_text: &str) -> String {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().expect("header").clone();
    let mut out = String::new();
    for record in reader.records() {
        let record = record.expect("record");
        let mut map = serde_json::Map::new();
        for (name, value) in header.iter().zip(record.iter()) {
            if value.is_empty() {
                continue;
            }
            let json = match value.parse::<f64>() {
                Ok(_) => serde_json::from_str(value).unwrap_or(serde_json::Value::from(value)),
                Err(_) => serde_json::Value::from(value),
            };
            map.insert(name.to_string(), json);
        }
        out.push_str(&serde_json::Value::Object(map).to_string());
        out.push('\n');
    }
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// The rejections CSV as records of `file,row,column,conversation_id,reason`.
pub fn read_rejected(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).expect("rejected csv");
    let header: Vec<String> = reader.headers().expect("header").iter().map(String::from).collect();
    assert_eq!(header, ["file", "row", "column", "conversation_id", "reason"]);
    reader.records().map(|r| r.expect("record").iter().map(String::from).collect()).collect()
}

/// Writes a CSV fixture as Parquet with native types: timestamps in `unit` with time zone `tz`,
/// integer and float columns typed; `float_turn` stores `turn` as floats instead.
pub fn csv_to_parquet(
    csv_text: &str,
    path: &Path,
    unit: polars::prelude::TimeUnit,
    tz: Option<&str>,
    float_turn: bool,
) {
    use polars::prelude::*;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().expect("header").iter().map(String::from).collect();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    let mut columns = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let values: Vec<Option<&str>> =
            records.iter().map(|r| r.get(i).filter(|v| !v.is_empty())).collect();
        let series = match name.as_str() {
            "started_at" | "sent_at" | "handoff_at" | "meeting_at" | "opportunity_at" => {
                let factor = match unit {
                    TimeUnit::Milliseconds => 1,
                    TimeUnit::Microseconds => 1_000,
                    TimeUnit::Nanoseconds => 1_000_000,
                };
                let ints: Vec<Option<i64>> = values
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            let ms = chrono::DateTime::parse_from_rfc3339(v)
                                .expect("fixture timestamp")
                                .timestamp_millis();
                            ms * factor
                        })
                    })
                    .collect();
                let zone = TimeZone::opt_try_new(tz).expect("time zone");
                Series::new(name.into(), ints)
                    .cast(&DataType::Datetime(unit, zone))
                    .expect("datetime cast")
            }
            "turn" if float_turn => {
                let floats: Vec<Option<f64>> =
                    values.iter().map(|v| v.map(|v| v.parse().expect("float"))).collect();
                Series::new(name.into(), floats)
            }
            "turn" | "handoff_turn" | "employee_count" | "rep_rating" => {
                let ints: Vec<Option<i64>> =
                    values.iter().map(|v| v.map(|v| v.parse().expect("integer"))).collect();
                Series::new(name.into(), ints)
            }
            "handoff_probability" | "opportunity_amount" => {
                let floats: Vec<Option<f64>> =
                    values.iter().map(|v| v.map(|v| v.parse().expect("float"))).collect();
                Series::new(name.into(), floats)
            }
            _ => Series::new(name.into(), values),
        };
        columns.push(series.into_column());
    }
    let mut df = DataFrame::new(records.len(), columns).expect("frame");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("folder");
    }
    let file = std::fs::File::create(path).expect("parquet file");
    ParquetWriter::new(file).finish(&mut df).expect("write parquet");
}

/// Every file under `root`, relative path -> bytes.
pub fn file_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list folder") {
            let path = entry.expect("folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("relative").display().to_string();
                files.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    files
}

/// [`file_tree`] without any `run.json`, the one output allowed to differ between runs
/// (timings, the command line).
pub fn file_tree_but_run_json(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = file_tree(root);
    files.retain(|path, _| Path::new(path).file_name().is_some_and(|n| n != "run.json"));
    files
}

/// The names in folder `dir` (hidden temporaries and the lock included), sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list folder")
        .map(|e| e.expect("folder entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `cmd` to completion.
pub fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("run handoff")
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the command succeeded, showing its stderr otherwise.
pub fn assert_ok(o: &std::process::Output) {
    assert_eq!(o.status.code(), Some(0), "handoff failed; stderr:\n{}", stderr(o));
}
