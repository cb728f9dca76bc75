//! The weekly report and the brief through the real binary: the folder's contents and
//! byte-identical reruns, the windows (ISO week edges, time zones, `--week last`, dates,
//! `HANDOFF_WEEK`), empty and invalid windows, the history replacement and the trend chart,
//! the atomic write when a run is killed or fails midway, hostile text, `handoff brief`, and
//! the logging flags. Data is either a 300-conversation generated set or a hand-written fixture
//! whose conversations sit on the week edges.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use handoff::report::history::read_history;
use serde_json::Value;

use crate::harness::*;

/// `handoff generate --conversations 300` into `<dir>/data` (two ISO weeks, 2026-W46 and W47).
fn generate(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let o = run(handoff().args(["generate", "--conversations", "300", "--out"]).arg(&data));
    assert_ok(&o);
    data
}

/// `handoff report --data DATA --policies <shipped, without its searches> --out OUT` plus
/// `extra` (search.md's outputs have their own tests, `search_cli`).
fn report(data: &Path, out: &Path, extra: &[&str]) -> std::process::Command {
    let mut cmd = handoff();
    cmd.arg("report").arg("--data").arg(data).arg("--policies").arg(policies_without_searches());
    cmd.arg("--out").arg(out).args(extra);
    cmd
}

fn summary(folder: &Path) -> Value {
    let text = fs::read_to_string(folder.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

fn conversations(folder: &Path) -> u64 {
    summary(folder)["data"]["conversations"].as_u64().expect("data.conversations")
}

/// The names of the files that differ between two folder listings (or exist in only one).
fn differing(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names.into_iter().filter(|n| a.get(*n) != b.get(*n)).cloned().collect()
}

fn csv_header(path: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(path).expect("csv");
    reader.headers().expect("header").iter().map(String::from).collect()
}

fn history_windows(root: &Path) -> BTreeMap<String, usize> {
    let mut windows = BTreeMap::new();
    for row in read_history(&root.join("history.parquet")).expect("history.parquet") {
        *windows.entry(row.window).or_insert(0) += 1;
    }
    windows
}

// ---------------------------------------------------------------------------------------------
// The folder and determinism

#[test]
fn report_writes_every_file_of_the_folder() {
    let dir = Workdir::new();
    let data = generate(dir.path());
    let out = dir.join("reports");
    let o = run(&mut report(&data, &out, &["--week", "2026-W47", "--bootstrap", "20"]));
    assert_ok(&o);
    assert!(stdout(&o).is_empty(), "report prints nothing on stdout: {}", stdout(&o));

    let folder = out.join("2026-W47");
    for file in REPORT_FILES {
        assert!(folder.join(file).is_file(), "{file} is missing");
    }
    let charts: Vec<String> = entries(&folder.join("charts"));
    for chart in ["policy-rates", "timing", "workload"] {
        for ext in ["svg", "png"] {
            assert!(charts.contains(&format!("{chart}.{ext}")), "charts/{chart}.{ext} missing");
        }
    }
    let sweeps = charts.iter().filter(|c| c.starts_with("sweep-") && c.ends_with(".png")).count();
    let s = summary(&folder);
    assert_eq!(sweeps, s["sweeps"].as_array().unwrap().len(), "one chart per sweep");
    assert!(!charts.iter().any(|c| c.starts_with("trend")), "no trend with a single week");

    assert_eq!(s["window"]["label"], "2026-W47");
    assert_eq!(s["window"]["since"], "2026-11-16");
    assert_eq!(s["window"]["until"], "2026-11-23");
    assert_eq!(s["policies"][0]["name"], "historical", "historical comes first");
    assert_eq!(
        csv_header(&folder.join("rejected.csv")).join(","),
        "file,row,column,conversation_id,reason"
    );
    let sweeps_header = csv_header(&folder.join("sweeps.csv"));
    for column in ["policy", "parameter", "value"] {
        assert!(sweeps_header.iter().any(|h| h == column), "sweeps.csv lacks {column}");
    }
    let decisions = fs::read(folder.join("decisions.parquet")).unwrap();
    assert!(decisions.starts_with(b"PAR1"), "decisions.parquet is Parquet");

    let html = fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(html.contains("2026-W47"));
    for external in ["src=\"http", "href=\"http", "url(http", "@import", "src=\"charts/"] {
        assert!(!html.contains(external), "report.html must be self-contained: found {external}");
    }
    let md = fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("charts/policy-rates.png"), "the Markdown links the PNG charts");

    let run_json: Value =
        serde_json::from_slice(&fs::read(folder.join("run.json")).unwrap()).unwrap();
    assert!(run_json.to_string().contains("42"), "run.json records the seed: {run_json}");
    assert_eq!(entries(&out), [".handoff.lock", "2026-W47", "history.parquet"], "no temporaries");
}

#[test]
fn two_runs_with_the_same_seed_are_byte_identical_but_run_json() {
    let dir = Workdir::new();
    let data = generate(dir.path());
    let (a, b) = (dir.join("a"), dir.join("b"));
    assert_ok(&run(&mut report(&data, &a, &["--week", "2026-W47"])));
    assert_ok(&run(&mut report(&data, &b, &["--week", "2026-W47"])));
    let (fa, fb) =
        (file_tree_but_run_json(&a.join("2026-W47")), file_tree_but_run_json(&b.join("2026-W47")));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between two runs with the same seed");
    }
    assert!(fa.len() >= 17, "the folder has the files and charts: {:?}", fa.keys());
    assert_eq!(
        fs::read(a.join("history.parquet")).unwrap(),
        fs::read(b.join("history.parquet")).unwrap()
    );

    // Another seed changes the intervals, so the comparison above could have failed.
    let c = dir.join("c");
    assert_ok(&run(&mut report(&data, &c, &["--week", "2026-W47", "--seed", "7"])));
    let fc = file_tree_but_run_json(&c.join("2026-W47"));
    assert!(fa["summary.json"] != fc["summary.json"], "the seed reaches the estimates");
}

// ---------------------------------------------------------------------------------------------
// Windows

/// Conversations on the edges of ISO weeks 2026-W46 (Nov 9-15) and W47 (Nov 16-22), some
/// stamped in other time zones; the `<script>` message and label test escaping.
const EDGE_CONVERSATIONS: &str = "\
conversation_id,started_at,account_id,segment,employee_count,channel,ai_agent
w45-last-second,2026-11-08T23:59:59Z,a1,smb,12,chat,sdr-v1
w46-first-second,2026-11-09T00:00:00Z,a2,smb,12,chat,sdr-v1
w46-last-second,2026-11-15T23:59:59Z,a3,enterprise,5000,email,sdr-v1
w46-monday-in-paris,2026-11-16T00:30:00+01:00,a4,mid_market,300,chat,sdr-v2
w47-sunday-in-brazil,2026-11-15T23:30:00-02:00,a5,smb,20,chat,sdr-v2
w47-sunday,2026-11-22T12:00:00Z,a6,smb,20,chat,sdr-v2
w48-first-second,2026-11-23T00:00:00Z,a7,smb,20,chat,sdr-v2
";

const EDGE_MESSAGES: &str = "\
conversation_id,turn,sent_at,sender,participant,text,signals,qualified
w45-last-second,1,2026-11-08T23:59:59Z,prospect,p1@x.com,Hi there,,
w45-last-second,2,2026-11-09T00:01:00Z,ai,,Hello!,,
w46-first-second,1,2026-11-09T00:00:00Z,prospect,p2@x.com,What does it cost?,pricing,budget
w46-first-second,2,2026-11-09T00:01:00Z,ai,,It depends.,,
w46-first-second,3,2026-11-09T00:02:00Z,prospect,p2@x.com,Can I talk to a human?,,need
w46-last-second,1,2026-11-15T23:59:59Z,prospect,p3@x.com,We need a demo,,
w46-last-second,2,2026-11-16T00:01:00Z,ai,,Sure,,
w46-monday-in-paris,1,2026-11-16T00:30:00+01:00,prospect,p4@x.com,Just looking,,
w46-monday-in-paris,2,2026-11-15T23:31:00Z,ai,,Welcome,,
w47-sunday-in-brazil,1,2026-11-15T23:30:00-02:00,prospect,p5@x.com,<script>alert('x')</script> pricing please,pricing,budget
w47-sunday-in-brazil,2,2026-11-16T01:31:00Z,ai,,Here is our pricing page,,
w47-sunday-in-brazil,3,2026-11-16T01:32:00Z,prospect,p5@x.com,Let's book a call,<script>alert(3)</script>,timeline
w47-sunday,1,2026-11-22T12:00:00Z,prospect,p6@x.com,Hi,,
w47-sunday,2,2026-11-22T12:01:00Z,ai,,Hello,,
w48-first-second,1,2026-11-23T00:00:00Z,prospect,p7@x.com,Hello,,
";

const EDGE_OUTCOMES: &str = "\
conversation_id,handoff_turn,handoff_at,context,meeting_at,opportunity_at,opportunity_amount,currency,rep_rating
w46-first-second,3,2026-11-09T00:03:00Z,history,2026-11-10T09:00:00Z,,,,4
w46-last-second,1,2026-11-16T00:00:30Z,history,,2026-11-20T10:00:00Z,12000,USD,5
w47-sunday-in-brazil,3,2026-11-16T01:33:00Z,history,2026-11-18T09:00:00Z,,,,4
";

fn edge_data(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("conversations.csv"), EDGE_CONVERSATIONS).unwrap();
    fs::write(data.join("messages.csv"), EDGE_MESSAGES).unwrap();
    fs::write(data.join("outcomes.csv"), EDGE_OUTCOMES).unwrap();
    data
}

/// Runs the report with `args`; the label of the one folder it wrote and its conversations.
fn window_of(data: &Path, out: &Path, args: &[&str]) -> (String, u64) {
    let mut all = vec!["--bootstrap", "0", "--quiet"];
    all.extend_from_slice(args);
    assert_ok(&run(&mut report(data, out, &all)));
    let s = summary(&out.join(summary_label(out)));
    (
        s["window"]["label"].as_str().unwrap().to_string(),
        s["data"]["conversations"].as_u64().unwrap(),
    )
}

/// The single report folder under a fresh reports root.
fn summary_label(out: &Path) -> String {
    let folders: Vec<String> = entries(out)
        .into_iter()
        .filter(|n| !n.starts_with('.') && !n.ends_with(".parquet"))
        .collect();
    assert_eq!(folders.len(), 1, "one report folder: {folders:?}");
    folders[0].clone()
}

#[test]
fn iso_weeks_are_utc_and_include_their_edges() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    // W46: its first and last second, and Monday 00:30 in Paris (still Sunday 23:30 UTC).
    let (label, n) = window_of(&data, &dir.join("w46"), &["--week", "2026-W46"]);
    assert_eq!((label.as_str(), n), ("2026-W46", 3));
    // W47: Sunday 23:30 at UTC-2 is Monday 01:30 UTC; the first second of W48 is out.
    let (label, n) = window_of(&data, &dir.join("w47"), &["--week", "2026-W47"]);
    assert_eq!((label.as_str(), n), ("2026-W47", 2));
    let (label, n) = window_of(&data, &dir.join("all"), &[]);
    assert_eq!((label.as_str(), n), ("all", 7), "no window means all data");
}

#[test]
fn week_last_is_the_last_complete_week_before_as_of() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let at_monday = ["--week", "last", "--as-of", "2026-11-23T00:00:00Z"];
    let (label, n) = window_of(&data, &dir.join("a"), &at_monday);
    assert_eq!((label.as_str(), n), ("2026-W47", 2), "W47 is complete at Monday 00:00");
    let on_sunday = ["--week", "last", "--as-of", "2026-11-22T23:59:59Z"];
    let (label, n) = window_of(&data, &dir.join("b"), &on_sunday);
    assert_eq!((label.as_str(), n), ("2026-W46", 3), "W47 is not complete yet on Sunday");
}

#[test]
fn since_until_windows_are_dates_with_until_exclusive_and_stay_out_of_history() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let out = dir.join("range");
    let (label, n) = window_of(&data, &out, &["--since", "2026-11-09", "--until", "2026-11-16"]);
    assert_eq!((label.as_str(), n), ("2026-11-09_2026-11-16", 3), "the same as W46");
    assert!(!out.join("history.parquet").exists(), "only ISO weeks enter the history");
    let (label, n) = window_of(&data, &dir.join("open"), &["--since", "2026-11-16"]);
    assert_eq!((label.as_str(), n), ("2026-11-16_open", 3));
    let s = summary(&dir.join("open").join("2026-11-16_open"));
    assert_eq!(s["window"]["since"], "2026-11-16");
    assert_eq!(s["window"]["until"], Value::Null);
}

#[test]
fn handoff_week_variable_works_like_the_flag() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let out = dir.join("reports");
    let o = run(report(&data, &out, &["--bootstrap", "0"]).env("HANDOFF_WEEK", "2026-W46"));
    assert_ok(&o);
    assert_eq!(entries(&out), [".handoff.lock", "2026-W46", "history.parquet"]);
    assert_eq!(conversations(&out.join("2026-W46")), 3);
}

#[test]
fn a_window_without_conversations_exits_3_and_writes_nothing() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let out = dir.join("reports");
    let o = run(&mut report(&data, &out, &["--week", "2026-W40"]));
    assert_eq!(o.status.code(), Some(3), "stderr: {}", stderr(&o));
    assert!(stderr(&o).contains("2026-W40"), "the message names the window: {}", stderr(&o));
    assert!(!out.join("2026-W40").exists());
}

#[test]
fn bad_window_flags_exit_2_with_a_message() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let out = dir.join("reports");
    let cases: &[(&[&str], &str)] = &[
        (&["--since", "2026-13-01"], "is not a date"),
        (&["--until", "yesterday"], "is not a date"),
        (&["--since", "2026-11-16T00:00:00Z"], "is not a date"),
        (&["--since", "2026-11-20", "--until", "2026-11-10"], "is not before --until"),
        (&["--since", "2026-11-20", "--until", "2026-11-20"], "is not before --until"),
        (&["--week", "2026-W54"], "has no ISO week 54"),
        (&["--week", "2026-47"], "is not an ISO week"),
        (&["--week", "last", "--as-of", "soon"], "is not a timestamp"),
        (&["--week", "2026-W47", "--since", "2026-11-01"], "cannot be used with"),
    ];
    for (args, message) in cases {
        let o = run(&mut report(&data, &out, args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: stderr {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{args:?}: expected {message:?} in {}", stderr(&o));
    }
    assert!(!out.exists() || holds_no_report_folder(&out), "no report folder for a bad window");

    // Checked before the data is read: a bad week wins over a missing data folder.
    let missing = dir.join("no-such-data");
    let o = run(&mut report(&missing, &out, &["--week", "2026-W54"]));
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
    assert!(stderr(&o).contains("no ISO week 54"), "{}", stderr(&o));
}

fn holds_no_report_folder(out: &Path) -> bool {
    entries(out).iter().all(|n| n.starts_with('.'))
}

// ---------------------------------------------------------------------------------------------
// History and the trend chart

#[test]
fn rerunning_a_week_replaces_its_history_rows_and_two_weeks_draw_the_trend() {
    let dir = Workdir::new();
    let data = generate(dir.path());
    let out = dir.join("reports");
    let fast = ["--bootstrap", "0", "--quiet"];
    let week = |w: &str, estimator: &str| {
        let mut args = vec!["--week", w, "--estimator", estimator];
        args.extend_from_slice(&fast);
        assert_ok(&run(&mut report(&data, &out, &args)));
    };

    week("2026-W46", "dr");
    let policies_per_week = history_windows(&out)["2026-W46"];
    assert!(policies_per_week >= 2, "historical and the policies: {policies_per_week}");
    assert!(!out.join("2026-W46/charts/trend.svg").exists(), "one week has no trend");

    week("2026-W47", "dr");
    let windows = history_windows(&out);
    assert_eq!(windows.keys().collect::<Vec<_>>(), ["2026-W46", "2026-W47"]);
    assert_eq!(windows["2026-W47"], policies_per_week);
    for ext in ["svg", "png"] {
        assert!(out.join(format!("2026-W47/charts/trend.{ext}")).is_file(), "trend.{ext} missing");
    }
    let page = |w: &str| fs::read_to_string(out.join(format!("{w}/report.html"))).unwrap();
    assert!(page("2026-W47").contains("Week-over-week trend"), "the page shows the trend");
    assert!(!page("2026-W46").contains("Week-over-week trend"));

    // A rerun of W47 (another estimator) replaces its rows instead of adding to them.
    let before = fs::read(out.join("history.parquet")).unwrap();
    week("2026-W47", "matched");
    assert_eq!(history_windows(&out), windows, "rows not doubled");
    let replaced = fs::read(out.join("history.parquet")).unwrap() != before;
    assert!(replaced, "the W47 rows were replaced by the rerun's");

    // A date range never enters the history.
    let after = fs::read(out.join("history.parquet")).unwrap();
    let mut args = vec!["--since", "2026-11-09", "--until", "2026-11-23"];
    args.extend_from_slice(&fast);
    assert_ok(&run(&mut report(&data, &out, &args)));
    assert!(fs::read(out.join("history.parquet")).unwrap() == after, "history unchanged");
}

// ---------------------------------------------------------------------------------------------
// Atomic replacement

/// The report of `data` for W47 under `out`, with a file-size limit of `limit` bytes for the
/// process (RLIMIT_FSIZE): writing a bigger file fails midway through the folder. With
/// `ignore_signal` the write returns EFBIG and the run fails with an error; without it SIGXFSZ
/// kills the process as a crash would.
fn report_with_file_limit(data: &Path, out: &Path, limit: u64, ignore_signal: bool) -> Output {
    let mut cmd = report(data, out, &["--week", "2026-W47", "--seed", "7", "--quiet"]);
    let limit = limit as libc::rlim_t;
    // SAFETY: the closure runs in the forked child before exec and only calls the
    // async-signal-safe setrlimit and signal.
    unsafe {
        cmd.pre_exec(move || {
            let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if ignore_signal {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    run(&mut cmd)
}

/// A limit between report.html (the largest file, written last but one) and every other file,
/// so the run gets through the charts and most exporters and then fails.
fn limit_failing_at_the_page(folder: &Path) -> u64 {
    let sizes: BTreeMap<String, u64> =
        file_tree_but_run_json(folder).into_iter().map(|(n, b)| (n, b.len() as u64)).collect();
    let page = sizes["report.html"];
    let others = sizes.iter().filter(|(n, _)| *n != "report.html").map(|(_, s)| *s).max().unwrap();
    assert!(page > others + 8_000, "report.html should be the largest file: {sizes:?}");
    (page + others) / 2
}

fn previous_report(dir: &Path) -> (PathBuf, PathBuf, BTreeMap<String, Vec<u8>>, Vec<u8>) {
    let data = generate(dir);
    let out = dir.join("reports");
    assert_ok(&run(&mut report(&data, &out, &["--week", "2026-W47", "--quiet"])));
    let files = file_tree_but_run_json(&out.join("2026-W47"));
    let history = fs::read(out.join("history.parquet")).unwrap();
    (data, out, files, history)
}

#[test]
fn a_run_that_fails_midway_leaves_the_previous_folder_and_history() {
    let dir = Workdir::new();
    let (data, out, before, history) = previous_report(dir.path());
    let limit = limit_failing_at_the_page(&out.join("2026-W47"));

    let o = report_with_file_limit(&data, &out, limit, true);
    assert_eq!(o.status.code(), Some(1), "an I/O failure is an internal failure: {}", stderr(&o));
    assert!(stderr(&o).contains("report.html"), "the error names the file: {}", stderr(&o));
    let now = file_tree_but_run_json(&out.join("2026-W47"));
    assert_eq!(differing(&now, &before), Vec::<String>::new(), "the old report is intact");
    assert!(fs::read(out.join("history.parquet")).unwrap() == history, "history unchanged");
    assert_eq!(entries(&out), [".handoff.lock", "2026-W47", "history.parquet"], "temp removed");
}

#[test]
fn a_run_killed_midway_leaves_the_previous_folder_and_the_next_run_cleans_up() {
    let dir = Workdir::new();
    let (data, out, before, history) = previous_report(dir.path());
    let limit = limit_failing_at_the_page(&out.join("2026-W47"));

    let o = report_with_file_limit(&data, &out, limit, false);
    assert_eq!(o.status.code(), None, "killed by SIGXFSZ; stderr: {}", stderr(&o));
    let now = file_tree_but_run_json(&out.join("2026-W47"));
    assert_eq!(differing(&now, &before), Vec::<String>::new(), "the old report is intact");
    assert!(fs::read(out.join("history.parquet")).unwrap() == history, "history unchanged");
    let stale: Vec<String> = entries(&out).into_iter().filter(|n| n.contains(".tmp-")).collect();
    assert_eq!(stale.len(), 1, "the killed run left its half-written temporary: {stale:?}");

    let o = run(&mut report(&data, &out, &["--week", "2026-W47", "--seed", "7", "--quiet"]));
    assert_ok(&o);
    assert_eq!(
        entries(&out),
        [".handoff.lock", "2026-W47", "history.parquet"],
        "stale temp removed"
    );
    let after = file_tree_but_run_json(&out.join("2026-W47"));
    assert!(after["summary.json"] != before["summary.json"], "the new report replaced the old");
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// Hostile text

#[test]
fn hostile_text_is_escaped_in_the_page_and_kept_faithfully_in_the_data_files() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let out = dir.join("reports");
    assert_ok(&run(&mut report(&data, &out, &["--week", "2026-W47", "--bootstrap", "0"])));
    let folder = out.join("2026-W47");
    // The unknown label `<script>alert(3)</script>` reaches the data-quality section.
    let s = summary(&folder);
    assert_eq!(s["data_quality"]["unknown_signal_labels"]["<script>alert(3)</script>"], 1);
    let html = fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(html.contains("&lt;script&gt;alert(3)"), "the label is shown, escaped");
    assert!(!html.contains("<script"), "no script element in the page");
    let md = fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("alert(3)") && !md.contains("<script"), "Markdown escapes markup: {md}");
}

// ---------------------------------------------------------------------------------------------
// handoff brief

fn brief(data: &Path, args: &[&str]) -> Output {
    let mut cmd = handoff();
    cmd.arg("brief").arg("--data").arg(data).arg("--policies").arg(POLICIES).arg("--quiet");
    run(cmd.args(args))
}

fn brief_json(data: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = brief(data, &all);
    assert_ok(&o);
    serde_json::from_str(&stdout(&o)).expect("brief --json prints JSON")
}

fn transcript_turns(packet: &Value) -> Vec<i64> {
    packet["transcript"].as_array().unwrap().iter().map(|l| l["turn"].as_i64().unwrap()).collect()
}

#[test]
fn brief_shows_the_historical_handoff_and_keeps_text_faithful() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let o = brief(&data, &["--conversation", "w47-sunday-in-brazil"]);
    assert_ok(&o);
    let md = stdout(&o);
    assert!(md.contains("Policy **historical**: hands off after turn 3."), "{md}");
    assert!(md.contains("&lt;script&gt;alert('x')&lt;/script&gt; pricing please"), "{md}");
    assert!(!md.contains("<script"), "Markdown rendered as HTML must not run the text: {md}");
    assert!(stderr(&o).is_empty(), "--quiet: {}", stderr(&o));

    let packet = brief_json(&data, &["--conversation", "w47-sunday-in-brazil"]);
    assert_eq!(packet["policy"], "historical");
    assert_eq!(packet["handoff_turn"], 3);
    assert_eq!(packet["transcript"][0]["text"], "<script>alert('x')</script> pricing please");
    assert_eq!(packet["transcript"][0]["sent_at"], "2026-11-16T01:30:00Z", "times in UTC");

    // History never handed off in this one: the whole conversation, with a note.
    let packet = brief_json(&data, &["--conversation", "w47-sunday"]);
    assert_eq!(packet["handoff_turn"], Value::Null);
    assert!(packet["note"].as_str().unwrap().contains("history never handed off"));
    assert_eq!(transcript_turns(&packet), [1, 2]);
}

#[test]
fn brief_for_a_policy_matches_its_replayed_handoff() {
    let dir = Workdir::new();
    let data = generate(dir.path());
    let decisions = dir.join("decisions.csv");
    let mut replay = handoff();
    replay.arg("replay").arg("--data").arg(&data).arg("--policies").arg(POLICIES);
    assert_ok(&run(replay.arg("--quiet").arg("--out").arg(&decisions)));
    let mut reader = csv::Reader::from_path(&decisions).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, policy, turn) = (col("conversation_id"), col("policy"), col("handoff_turn"));
    // The first conversation where framework hands off after the first turn.
    let (conversation, expected) = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[policy] == "framework")
        .find_map(|r| {
            r[turn].parse::<i64>().ok().filter(|t| *t > 1).map(|t| (r[id].to_string(), t))
        })
        .expect("framework hands off somewhere in 300 conversations");

    let packet = brief_json(&data, &["--conversation", &conversation, "--policy", "framework"]);
    assert_eq!(packet["policy"], "framework");
    assert_eq!(packet["handoff_turn"], expected);
    assert_eq!(packet["note"], Value::Null);
    let turns = transcript_turns(&packet);
    assert_eq!(turns.last(), Some(&expected), "the transcript stops at the handoff: {turns:?}");

    let o = brief(&data, &["--conversation", &conversation, "--policy", "framework"]);
    assert_ok(&o);
    assert!(stdout(&o).contains(&format!("Policy **framework**: hands off after turn {expected}.")));

    // `never` shows the whole conversation and says so.
    let whole = brief_json(&data, &["--conversation", &conversation, "--policy", "never"]);
    assert_eq!(whole["handoff_turn"], Value::Null);
    assert!(whole["note"].as_str().unwrap().contains("never hands off"), "{}", whole["note"]);
    assert!(transcript_turns(&whole).len() > turns.len(), "the whole conversation is longer");
    let o = brief(&data, &["--conversation", &conversation, "--policy", "never"]);
    assert!(stdout(&o).contains("> Note: this policy never hands off in this conversation"));
}

#[test]
fn brief_with_an_unknown_conversation_or_policy_exits_2() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let o = brief(&data, &["--conversation", "c-nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no conversation \"c-nope\""), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let o = brief(&data, &["--conversation", "w47-sunday", "--policy", "sometimes"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--policy \"sometimes\" is not in"), "{}", stderr(&o));
    assert!(stderr(&o).contains("framework"), "the message lists the known policies");
}

// ---------------------------------------------------------------------------------------------
// Logging flags

#[test]
fn log_format_json_writes_json_lines_on_stderr_and_nothing_on_stdout() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let out = dir.join("reports");
    let args = ["--week", "2026-W47", "--bootstrap", "0", "--log-format", "json"];
    let o = run(&mut report(&data, &out, &args));
    assert_ok(&o);
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(&o));
    let lines: Vec<Value> = stderr(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["level"] == "INFO"), "info lines are logged");
    assert!(lines.iter().any(|l| l["level"] == "WARN"), "the window's warnings are logged");

    // A failure is one more JSON line, so a log collector never sees plain text.
    let o = run(&mut report(&data, &out, &["--week", "2026-W40", "--log-format", "json"]));
    assert_eq!(o.status.code(), Some(3));
    let last = stderr(&o).lines().last().unwrap_or_default().to_string();
    let error: Value =
        serde_json::from_str(&last).unwrap_or_else(|e| panic!("not JSON ({e}): {last}"));
    assert_eq!(error["level"], "ERROR");
    assert!(error.to_string().contains("2026-W40"), "{error}");
}

#[test]
fn quiet_prints_nothing_on_success_and_only_the_error_on_failure() {
    let dir = Workdir::new();
    let data = edge_data(dir.path());
    let out = dir.join("reports");
    let o = run(&mut report(&data, &out, &["--week", "2026-W47", "--bootstrap", "0", "--quiet"]));
    assert_ok(&o);
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "stderr: {}", stderr(&o));
    let o = run(report(&data, &out, &["--week", "2026-W40"]).env("HANDOFF_QUIET", "true"));
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stderr(&o).lines().count(), 1, "only the error: {}", stderr(&o));
}

/// `framework`'s meeting rate interval (low, estimate, high) in a report folder.
fn framework_meeting(folder: &Path) -> (f64, f64, f64) {
    let s = summary(folder);
    let policy = s["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["name"] == "framework")
        .expect("framework")
        .clone();
    let field = |k: &str| policy["meeting_rate"][k].as_f64().expect(k);
    (field("low"), field("estimate"), field("high"))
}

#[test]
fn bootstrap_and_normal_intervals_both_carry_the_models_uncertainty() {
    let dir = Workdir::new();
    let data = generate(dir.path());
    let boot = dir.join("boot");
    let normal = dir.join("normal");
    let common = ["--estimator", "dm", "--quiet"];
    assert_ok(&run(report(&data, &boot, &common).args(["--bootstrap", "200"])));
    assert_ok(&run(report(&data, &normal, &common).args(["--bootstrap", "0"])));
    let (bl, be, bh) = framework_meeting(&boot.join("all"));
    let (nl, ne, nh) = framework_meeting(&normal.join("all"));
    assert_eq!(be, ne, "the interval method changes intervals, not estimates");
    // Both widths include the outcome model's own uncertainty, so they agree; either alone
    // would be far narrower than the other if one of them left it out.
    let ratio = (bh - bl) / (nh - nl);
    assert!((0.7..1.4).contains(&ratio), "bootstrap [{bl}, {bh}] against normal [{nl}, {nh}]");
}

#[test]
fn the_removed_refit_flags_are_usage_errors() {
    let dir = Workdir::new();
    for flag in [["--refits", "30"], ["--refit-size", "20000"]] {
        let o = run(&mut report(&dir.join("data"), &dir.join("out"), &flag));
        assert_eq!(o.status.code(), Some(2), "stderr {}", stderr(&o));
        assert!(stderr(&o).contains(flag[0]), "{}", stderr(&o));
    }
}

/// `export.json` beside the tables says when the data was exported: it is the default
/// `--as-of`, so a complete export carries no "outcomes may not be final" warning; without it
/// the latest timestamp is, and the warning applies. A bad file, or an export time earlier
/// than the data, exits 3 naming the file.
#[test]
fn export_json_is_the_default_as_of() {
    let w = Workdir::new();
    let data = generate(w.path());
    let export = data.join("export.json");
    let written: Value = serde_json::from_str(&fs::read_to_string(&export).unwrap()).unwrap();
    let exported_at = written["exported_at"].as_str().unwrap().to_string();
    let warnings = |out: &str| -> Vec<String> {
        assert_ok(&run(&mut report(&data, &w.join(out), &["--quiet", "--bootstrap", "20"])));
        let s = summary(&w.join(out).join("all"));
        s["warnings"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().into()).collect()
    };
    let not_final = |ws: &[String]| ws.iter().any(|x| x.contains("may not be final"));
    assert!(!not_final(&warnings("with")), "{:?}", warnings("with"));
    let run_json: Value =
        serde_json::from_str(&fs::read_to_string(w.join("with/all/run.json")).unwrap()).unwrap();
    assert!(run_json.to_string().contains("export.json"), "hashed: {run_json}");

    fs::remove_file(&export).unwrap();
    assert!(not_final(&warnings("without")));

    for (text, problem) in [
        ("{\"exported_at\": \"soon\"}", "not an RFC 3339 timestamp"),
        ("{\"exported\": \"2026-12-01T00:00:00Z\"}", "unknown field"),
        ("{\"exported_at\": \"2020-01-01T00:00:00Z\"}", "earlier than the latest timestamp"),
    ] {
        fs::write(&export, text).unwrap();
        let o = run(&mut report(&data, &w.join("bad"), &["--quiet"]));
        assert_eq!(o.status.code(), Some(3), "{text}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("export.json") && err.contains(problem), "{text}: {err}");
        assert!(!w.join("bad").join("all").exists());
    }
    fs::write(&export, format!("{{\"exported_at\": \"{exported_at}\"}}")).unwrap();
    assert!(!not_final(&warnings("again")));
}
