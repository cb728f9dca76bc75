//! The report folder end to end through the library: every file of outputs.md, escaping,
//! determinism, history replacement, atomic replacement on failure, stale temporaries and the
//! lock. Charts come from a stub renderer (the real charts are tested in their own module).

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use handoff::decisions::{DecisionRow, DecisionTable};
use handoff::model::Rejection;
use handoff::report::charts::ChartFile;
use handoff::report::export::{all_exporters, Exporter};
use handoff::report::folder::{acquire_lock, ReportWriter};
use handoff::report::history::{self, HistoryRow, HISTORY_FILE};
use handoff::report::{ReportData, RunInfo};
use handoff::summary::*;
use handoff::window::Window;
use polars::prelude::{DataType, ParquetReader, SerReader};

use crate::harness::{entries, Workdir, REPORT_FILES};

const STUB_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="240" viewBox="0 0 1000 240"><rect width="1000" height="240" fill="#ffffff"/><rect x="80" y="60" width="220" height="140" fill="#1f5fa8"/><rect x="340" y="100" width="220" height="100" fill="#e07b39"/><text x="500" y="30" font-family="sans-serif" font-size="20" text-anchor="middle">Stub chart</text></svg>"##;
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn policy(
    name: &str,
    kind: &str,
    handoffs: u64,
    rate: f64,
    warnings: Vec<String>,
) -> PolicySummary {
    PolicySummary {
        name: name.into(),
        kind: match kind {
            "historical" => PolicyKind::Historical,
            "variant" => PolicyKind::Variant,
            _ => PolicyKind::Policy,
        },
        conversations: 400,
        handoffs,
        rates: Rates {
            handoff_rate: rate,
            meeting_rate: Estimate::new(0.21, 0.17, 0.25),
            opportunity_rate: Estimate::new(0.08, 0.055, 0.105),
            handoff_to_meeting: Estimate::new(0.42, 0.35, 0.49),
            handoff_to_opportunity: Estimate::new(0.16, 0.11, 0.21),
            pipeline_per_conversation: Estimate::new(1520.0, 1100.5, 1990.25),
        },
        quality_score: Estimate::new(0.71, 0.66, 0.76),
        premature_handoffs: 3,
        late_handoffs: 7,
        missed_human_requests: 1,
        median_handoff_turn: Some(5.0),
        matched_share: Some(0.62),
        effective_sample_size: if kind == "historical" { None } else { Some(211.4) },
        warnings,
        timing: BTreeMap::from([("earlier".to_string(), 40), ("same".to_string(), 300)]),
        context_transferred: (kind == "historical").then_some(0.55),
        mean_rep_rating: (kind == "historical").then_some(3.8),
        sensitivity: None,
    }
}

fn point(value: f64, net: f64) -> SweepPoint {
    SweepPoint {
        value,
        variant: format!("intent-score@threshold={value}"),
        net_objective_per_100: Estimate::new(net, net - 2.0, net + 2.0),
        rates: Rates {
            handoff_rate: 0.5 - value / 2.0,
            meeting_rate: Estimate::new(0.2, 0.18, 0.22),
            opportunity_rate: Estimate::new(0.08, 0.07, 0.09),
            handoff_to_meeting: Estimate::new(0.4, 0.35, 0.45),
            handoff_to_opportunity: Estimate::NULL,
            pipeline_per_conversation: Estimate::new(1500.0, 1400.0, 1600.0),
        },
        sensitivity: None,
    }
}

/// Historical plus two policies (one with a hostile name and warning) and one sweep.
fn summary(hostile: &str) -> Summary {
    let points = vec![point(0.3, 3.1), point(0.5, 5.2), point(0.7, 2.4)];
    let variants = points
        .iter()
        .map(|p| policy(&p.variant, "variant", 100, p.rates.handoff_rate, vec![]))
        .collect();
    Summary {
        window: Window::iso_week("2026-W47").unwrap().info(),
        data: DataCounts { conversations: 400, messages: 5123, rejected_conversations: 2, rejected_rows: 5 },
        estimator: "dr".into(),
        policies: vec![
            policy("historical", "historical", 120, 0.3, vec![]),
            policy("framework-v1", "policy", 150, 0.375, vec![]),
            policy(hostile, "policy", 90, 0.225, vec![format!("thin support: {hostile}")]),
        ],
        sweeps: vec![SweepSummary {
            policy: "intent-score".into(),
            parameter: "threshold".into(),
            objective: "opportunities".into(),
            handoff_cost: 0.5,
            points,
            optimal: Some(Optimal {
                value: 0.5,
                variant: "intent-score@threshold=0.5".into(),
                net_objective_per_100: Estimate::new(5.2, 3.2, 7.2),
                runner_up: Some(0.3),
                difference: Estimate::new(2.1, 0.4, 3.8),
                beats_runner_up: true,
                ..Optimal::default()
            }),
        }],
        warnings: vec!["2 conversations were rejected; see rejected.csv".into()],
        findings: vec![
            "framework-v1 hands off 25% more often than history and converts handoffs to meetings at the same rate.".into(),
        ],
        settings: Settings {
            estimator: "dr".into(),
            clip: 20.0,
            tolerance: 1,
            bootstrap: 200,
            seed: 7,
            outcome_days: 30,
            signal_source: "auto".into(),
            as_of: "2026-12-31T00:00:00Z".into(),
        },
        data_quality: DataQualitySummary {
            rejections_by_reason: BTreeMap::from([("duplicate turn".to_string(), 5)]),
            ..DataQualitySummary::default()
        },
        variants,
        slices: Vec::new(),
        sensitivity: None,
        searches: Vec::new(),
    }
}

fn data(hostile: &str) -> ReportData {
    let decisions = DecisionTable {
        rows: vec![
            DecisionRow {
                conversation_id: "c1".into(),
                policy: "historical".into(),
                handoff_turn: Some(4),
                situation: None,
                historical_handoff_turn: Some(4),
                timing: handoff::replay::Timing::Same,
                decision_point: Some(2),
            },
            DecisionRow {
                conversation_id: "c1".into(),
                policy: "framework-v1".into(),
                handoff_turn: None,
                situation: None,
                historical_handoff_turn: Some(4),
                timing: handoff::replay::Timing::OnlyHistory,
                decision_point: None,
            },
        ],
        ..DecisionTable::default()
    };
    ReportData {
        summary: summary(hostile),
        decisions,
        rejections: vec![Rejection {
            file: "messages.csv".into(),
            row: Some(12),
            column: Some("turn".into()),
            conversation_id: Some("c9".into()),
            reason: "duplicate turn: 3, \"quoted\"".into(),
        }],
        charts: Vec::new(),
        run: RunInfo { version: "test".into(), seed: 7, ..RunInfo::default() },
        ..ReportData::default()
    }
}

fn stub_charts(_: &Summary, _: &[HistoryRow], dir: &Path) -> anyhow::Result<Vec<ChartFile>> {
    let (svg, png) = (dir.join("policy-rates.svg"), dir.join("policy-rates.png"));
    fs::write(&svg, STUB_SVG)?;
    fs::write(&png, PNG_MAGIC)?;
    Ok(vec![ChartFile {
        name: "policy-rates".into(),
        title: "Handoff rates by policy".into(),
        svg,
        png,
    }])
}

fn writer() -> ReportWriter {
    ReportWriter {
        exporters: all_exporters(),
        render_charts: Box::new(stub_charts),
        lock_timeout: Duration::from_millis(300),
        history_sink: None,
    }
}

fn write(out: &Path, window: &str, d: ReportData) -> anyhow::Result<std::path::PathBuf> {
    let w = Window::iso_week(window).unwrap();
    let rows = history::rows_from_summary(&w, &d.summary);
    writer().write(out, &w, d, rows)
}

fn header(path: &Path) -> String {
    fs::read_to_string(path).unwrap().lines().next().unwrap_or_default().to_string()
}

#[test]
fn every_file_of_the_contract_exists_and_parses() {
    let out = Workdir::new();
    let dir = write(out.path(), "2026-W47", data("careful")).unwrap();
    assert_eq!(dir, out.join("2026-W47"));
    for f in REPORT_FILES.iter().chain(&["charts/policy-rates.svg", "charts/policy-rates.png"]) {
        assert!(dir.join(f).is_file(), "{f} missing");
    }

    let json = fs::read_to_string(dir.join("summary.json")).unwrap();
    let back: Summary = serde_json::from_str(&json).unwrap();
    let expected = Summary { variants: Vec::new(), ..summary("careful") };
    assert_eq!(back, expected);
    assert!(
        !json.contains("intent-score@threshold=0.3\",\n    \"kind\""),
        "variants stay out of summary.json"
    );

    let policies = header(&dir.join("policies.csv"));
    assert!(policies.starts_with("name,kind,conversations,handoffs,handoff_rate,meeting_rate,meeting_rate_low,meeting_rate_high"), "{policies}");
    assert!(policies.ends_with("effective_sample_size,timing_earlier,timing_same,timing_later,timing_only_policy,timing_only_history,timing_neither,context_transferred,mean_rep_rating,warnings"), "{policies}");
    // historical + 2 policies + 3 sweep variants, plus the header.
    assert_eq!(fs::read_to_string(dir.join("policies.csv")).unwrap().lines().count(), 7);

    let sweeps = fs::read_to_string(dir.join("sweeps.csv")).unwrap();
    assert!(sweeps.starts_with("policy,parameter,value,variant,objective,net_objective_per_100,net_objective_per_100_low,net_objective_per_100_high,handoff_rate,"), "{sweeps}");
    assert_eq!(sweeps.lines().filter(|l| l.ends_with(",true")).count(), 1, "one optimum");
    assert!(
        sweeps.contains("intent-score,threshold,0.5,intent-score@threshold=0.5,opportunities,5.2,"),
        "{sweeps}"
    );

    let rejected = fs::read_to_string(dir.join("rejected.csv")).unwrap();
    assert_eq!(rejected.lines().next(), Some("file,row,column,conversation_id,reason"));
    assert!(
        rejected.contains("messages.csv,12,turn,c9,\"duplicate turn: 3, \"\"quoted\"\"\""),
        "{rejected}"
    );

    let bytes = fs::read(dir.join("decisions.parquet")).unwrap();
    let df = ParquetReader::new(Cursor::new(bytes)).finish().unwrap();
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(
        names,
        [
            "conversation_id",
            "policy",
            "handoff_turn",
            "situation",
            "historical_handoff_turn",
            "timing",
            "decision_point"
        ]
    );
    assert_eq!(df.column("handoff_turn").unwrap().dtype(), &DataType::Int64);
    assert_eq!(df.height(), 2);

    let run: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["seed"], 7);
    assert!(run["finished_at"].as_str().is_some_and(|s| !s.is_empty()));

    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("![Handoff rates by policy](charts/policy-rates.png)"), "{md}");
}

#[test]
fn identical_inputs_give_identical_files_except_run_json() {
    let (a, b) = (Workdir::new(), Workdir::new());
    let da = write(a.path(), "2026-W47", data("p")).unwrap();
    let db = write(b.path(), "2026-W47", data("p")).unwrap();
    for f in REPORT_FILES.iter().filter(|f| **f != "run.json") {
        assert_eq!(fs::read(da.join(f)).unwrap(), fs::read(db.join(f)).unwrap(), "{f} differs");
    }
    assert_eq!(fs::read(a.join(HISTORY_FILE)).unwrap(), fs::read(b.join(HISTORY_FILE)).unwrap());
}

#[test]
fn html_escapes_hostile_text_and_loads_nothing_from_the_network() {
    let out = Workdir::new();
    let dir = write(out.path(), "2026-W47", data("<script>alert(1)</script>")).unwrap();
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains("<script"), "unescaped script in the page");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "escaped name missing");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page references the network"
    );
    assert!(html.contains("src=\"data:image/svg+xml;base64,"), "chart not inlined");
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(!md.contains("<script"), "unescaped script in the Markdown");
}

#[test]
fn rerunning_a_week_replaces_its_history_rows() {
    let out = Workdir::new();
    write(out.path(), "2026-W47", data("p")).unwrap();
    write(out.path(), "2026-W47", data("p")).unwrap();
    let rows = history::read_history(&out.join(HISTORY_FILE)).unwrap();
    assert_eq!(rows.len(), 3, "one row per policy, not doubled");
    write(out.path(), "2026-W46", data("p")).unwrap();
    let rows = history::read_history(&out.join(HISTORY_FILE)).unwrap();
    let keys: Vec<(String, String)> =
        rows.iter().map(|r| (r.window.clone(), r.policy.clone())).collect();
    assert_eq!(keys[0], ("2026-W46".to_string(), "historical".to_string()));
    assert_eq!(keys[3], ("2026-W47".to_string(), "historical".to_string()));
    assert_eq!(rows.len(), 6);
}

#[test]
fn non_week_windows_do_not_enter_history() {
    let out = Workdir::new();
    let w = Window::all();
    writer().write(out.path(), &w, data("p"), Vec::new()).unwrap();
    assert!(out.join("all/summary.json").is_file());
    assert!(!out.join(HISTORY_FILE).exists());
}

struct Failing;
impl Exporter for Failing {
    fn file_name(&self) -> &str {
        "zz-fails.txt"
    }
    fn render(&self, _: &ReportData) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!("disk full (simulated)")
    }
}

#[test]
fn a_failed_write_leaves_the_previous_report_and_no_temporary() {
    let out = Workdir::new();
    let dir = write(out.path(), "2026-W47", data("before")).unwrap();
    let before = fs::read(dir.join("summary.json")).unwrap();
    let history_before = fs::read(out.join(HISTORY_FILE)).unwrap();

    let mut failing = writer();
    failing.exporters.push(Box::new(Failing));
    let w = Window::iso_week("2026-W47").unwrap();
    let err = failing.write(out.path(), &w, data("after"), Vec::new()).unwrap_err();
    assert!(format!("{err:#}").contains("disk full (simulated)"), "{err:#}");

    assert_eq!(fs::read(dir.join("summary.json")).unwrap(), before, "previous report changed");
    assert_eq!(fs::read(out.join(HISTORY_FILE)).unwrap(), history_before);
    assert_eq!(entries(out.path()), [".handoff.lock", "2026-W47", "history.parquet"]);
}

#[test]
fn a_rerun_replaces_the_folder_and_removes_stale_temporaries() {
    let out = Workdir::new();
    let dir = write(out.path(), "2026-W47", data("before")).unwrap();
    fs::write(dir.join("leftover.txt"), "from an older version").unwrap();
    let stale = out.join(".2026-W47.tmp-999999");
    fs::create_dir(&stale).unwrap();
    fs::write(stale.join("summary.json"), "{").unwrap();
    fs::write(out.join(".history.parquet.tmp-999999"), "x").unwrap();

    write(out.path(), "2026-W47", data("after")).unwrap();
    assert!(fs::read_to_string(dir.join("summary.json")).unwrap().contains("\"after\""));
    assert!(!dir.join("leftover.txt").exists(), "the folder is replaced, not merged");
    assert_eq!(entries(out.path()), [".handoff.lock", "2026-W47", "history.parquet"]);
}

#[test]
fn a_second_writer_gives_up_with_a_clear_message_while_the_lock_is_held() {
    let out = Workdir::new();
    let held = acquire_lock(out.path(), Duration::from_secs(1)).unwrap();
    let started = Instant::now();
    let err = write(out.path(), "2026-W47", data("p")).unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("another handoff run is writing to"), "{message}");
    assert!(started.elapsed() >= Duration::from_millis(300), "did not wait for the timeout");
    assert!(!out.join("2026-W47").exists());
    drop(held);
    write(out.path(), "2026-W47", data("p")).unwrap();
}

#[test]
fn report_markdown_snapshot() {
    let out = Workdir::new();
    let dir = write(out.path(), "2026-W47", data("<b>bold</b> | piped")).unwrap();
    insta::assert_snapshot!(fs::read_to_string(dir.join("report.md")).unwrap());
}

/// Writes the fabricated report to `$HANDOFF_PREVIEW_DIR` (for screenshots) with the real
/// chart renderer, three weeks so the trend has points; skipped otherwise.
#[test]
fn write_preview_when_asked() {
    let Ok(target) = std::env::var("HANDOFF_PREVIEW_DIR") else { return };
    for week in ["2026-W45", "2026-W46", "2026-W47"] {
        let w = Window::iso_week(week).unwrap();
        let mut d = data("<script>alert(1)</script>");
        d.summary.window = w.info();
        let rows = history::rows_from_summary(&w, &d.summary);
        let real = ReportWriter {
            render_charts: Box::new(handoff::report::charts::render_all),
            ..ReportWriter::default()
        };
        real.write(Path::new(&target), &w, d, rows).unwrap();
    }
}

#[test]
fn an_empty_summary_still_writes_a_complete_folder() {
    let out = Workdir::new();
    let d = ReportData { summary: Summary::default(), ..ReportData::default() };
    let w = Window::between(Some("2026-11-01"), None).unwrap();
    let dir = writer().write(out.path(), &w, d, Vec::new()).unwrap();
    assert_eq!(dir, out.join("2026-11-01_open"));
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Policies</h2>"));
    assert_eq!(header(&dir.join("rejected.csv")), "file,row,column,conversation_id,reason");
    assert!(header(&dir.join("sweeps.csv")).starts_with("policy,parameter,value,variant"));
}

/// `data` cut by segment into two slices (the second one small), each with the summary's
/// policies, sweeps and variants; the figures are the overall ones (the folder's plumbing is
/// under test here, not the numbers).
fn sliced(hostile: &str) -> ReportData {
    let mut d = data(hostile);
    let s = &d.summary;
    let slice = |value: &str, conversations: u64, warnings: Vec<String>| Slice {
        value: value.into(),
        conversations,
        policies: s.policies.clone(),
        sweeps: s.sweeps.clone(),
        warnings,
        variants: s.variants.clone(),
    };
    let cut = SliceCut {
        by: "segment".into(),
        min_slice: 200,
        values: vec![
            slice("enterprise", 250, vec![]),
            slice("smb", 150, vec!["too few conversations for a reliable estimate".into()]),
        ],
        findings: vec!["The data does not show the best policy differing between slices.".into()],
        level: 0.975,
    };
    d.summary.slices = vec![cut];
    d
}

#[test]
fn with_slices_the_folder_gains_slices_csv_and_history_slice_rows() {
    let out = Workdir::new();
    let dir = write(out.path(), "2026-W47", sliced("p")).unwrap();
    let slices = fs::read_to_string(dir.join("slices.csv")).unwrap();
    assert!(slices.starts_with("by,value,name,kind,conversations,"), "{slices}");
    // 2 slices x (3 named policies + 3 variants), plus the header.
    assert_eq!(slices.lines().count(), 13);
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["slices"][0]["values"][1]["value"], "smb");
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("\n## By segment\n"), "{md}");

    // History: 3 overall rows, then 2 x 3 slice rows; a rerun replaces all 9.
    let rows = history::read_history(&out.join(HISTORY_FILE)).unwrap();
    assert_eq!(rows.len(), 9);
    assert_eq!(rows.iter().filter(|r| r.is_overall()).count(), 3);
    assert_eq!(rows[3].by.as_deref(), Some("segment"));
    assert_eq!(rows[3].value.as_deref(), Some("enterprise"));
    write(out.path(), "2026-W47", sliced("p")).unwrap();
    assert_eq!(history::read_history(&out.join(HISTORY_FILE)).unwrap(), rows);
    // A week without --by next to it: its rows are overall only, the sliced week's stay.
    write(out.path(), "2026-W46", data("p")).unwrap();
    let rows = history::read_history(&out.join(HISTORY_FILE)).unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows[..3].iter().all(|r| r.window == "2026-W46" && r.is_overall()));
}

#[test]
fn without_slices_the_folder_is_what_it_was() {
    let (plain, cut) = (Workdir::new(), Workdir::new());
    let a = write(plain.path(), "2026-W47", data("p")).unwrap();
    let b = write(cut.path(), "2026-W47", sliced("p")).unwrap();
    assert!(!a.join("slices.csv").exists(), "slices.csv only with --by");
    let mut listed = entries(&a);
    listed.sort();
    let mut expected: Vec<String> =
        REPORT_FILES.iter().map(|f| f.to_string()).chain(["charts".to_string()]).collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert!(b.join("slices.csv").is_file());
    // Same data without slices: the history has no `by` / `value` columns at all.
    let bytes = fs::read(plain.join(HISTORY_FILE)).unwrap();
    let df = ParquetReader::new(Cursor::new(bytes)).finish().unwrap();
    assert!(!df.get_column_names().iter().any(|n| n.as_str() == "by" || n.as_str() == "value"));
}
