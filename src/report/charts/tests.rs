//! Tests of the charts: files written, titles present, valid PNGs, byte-identical reruns and no
//! panic on degenerate summaries.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::axis::*;
use super::labels::*;
use super::style::*;
use super::*;
use crate::summary::{
    Estimate, Optimal, PolicyKind, PolicySummary, Rates, Summary, SweepPoint, SweepSummary,
    WindowInfo,
};

fn est(v: f64, half: f64) -> Estimate {
    Estimate::new(v, v - half, v + half)
}

fn timing(counts: [u64; 6]) -> BTreeMap<String, u64> {
    ["earlier", "same", "later", "only_policy", "only_history", "neither"]
        .iter()
        .zip(counts)
        .map(|(k, c)| (k.to_string(), c))
        .collect()
}

fn policy(name: &str, kind: PolicyKind, handoff_rate: f64, meet: f64, opp: f64) -> PolicySummary {
    PolicySummary {
        name: name.to_string(),
        kind,
        conversations: 400,
        handoffs: (400.0 * handoff_rate) as u64,
        rates: Rates {
            handoff_rate,
            meeting_rate: est(meet * handoff_rate, 0.02),
            opportunity_rate: est(opp * handoff_rate, 0.015),
            handoff_to_meeting: est(meet, 0.05),
            handoff_to_opportunity: est(opp, 0.04),
            pipeline_per_conversation: Estimate::NULL,
        },
        ..PolicySummary::default()
    }
}

/// Historical + 3 policies (one with a long name) + one sweep of 5 points.
pub(crate) fn fabricated_summary() -> Summary {
    let mut historical = policy("historical", PolicyKind::Historical, 0.42, 0.31, 0.18);
    historical.timing = timing([0, 168, 0, 0, 0, 232]);
    let mut fast = policy("fast-follow", PolicyKind::Policy, 0.55, 0.27, 0.16);
    fast.timing = timing([120, 60, 20, 40, 8, 152]);
    let mut qualified = policy("qualified-only", PolicyKind::Policy, 0.30, 0.39, 0.24);
    qualified.timing = timing([10, 80, 30, 0, 48, 232]);
    let mut long = policy(
        "escalate_on_pricing_or_explicit_human_request_v2",
        PolicyKind::Policy,
        0.47,
        0.34,
        0.21,
    );
    long.timing = timing([60, 90, 24, 20, 14, 192]);
    let points: Vec<SweepPoint> = [(0.5, 3.1), (0.6, 4.4), (0.7, 5.2), (0.8, 4.6), (0.9, 2.9)]
        .iter()
        .map(|&(value, net)| SweepPoint {
            value,
            variant: format!("fast-follow@score_threshold={value}"),
            net_objective_per_100: est(net, 1.1),
            rates: Rates { handoff_rate: 0.6 - value * 0.3, ..Rates::default() },
            sensitivity: None,
        })
        .collect();
    Summary {
        window: WindowInfo {
            label: "2026-W47".to_string(),
            since: Some("2026-11-16".to_string()),
            until: Some("2026-11-23".to_string()),
        },
        estimator: "dr".to_string(),
        policies: vec![historical, fast, qualified, long],
        sweeps: vec![SweepSummary {
            policy: "fast-follow".to_string(),
            parameter: "score_threshold".to_string(),
            objective: "opportunities".to_string(),
            handoff_cost: 0.05,
            points,
            optimal: Some(Optimal {
                value: 0.7,
                variant: "fast-follow@score_threshold=0.7".to_string(),
                net_objective_per_100: est(5.2, 1.1),
                runner_up: Some(0.8),
                difference: est(0.6, 0.8),
                beats_runner_up: false,
                ..Optimal::default()
            }),
        }],
        ..Summary::default()
    }
}

fn history_row(window: &str, since: &str, policy: &str, meet: f64, opp: f64) -> HistoryRow {
    HistoryRow {
        window: window.to_string(),
        since: since.to_string(),
        until: String::new(),
        policy: policy.to_string(),
        handoffs: 100,
        rates: Rates {
            handoff_rate: 0.4,
            meeting_rate: est(meet * 0.4, 0.02),
            opportunity_rate: est(opp * 0.4, 0.02),
            handoff_to_meeting: est(meet, 0.05),
            handoff_to_opportunity: est(opp, 0.04),
            pipeline_per_conversation: Estimate::NULL,
        },
        quality_score: None,
        by: None,
        value: None,
    }
}

/// 3 ISO-week windows for the four fabricated policies (given out of time order on purpose).
pub(crate) fn fabricated_history() -> Vec<HistoryRow> {
    let weeks =
        [("2026-W47", "2026-11-16"), ("2026-W45", "2026-11-02"), ("2026-W46", "2026-11-09")];
    let mut rows = Vec::new();
    for (k, (week, since)) in weeks.iter().enumerate() {
        let drift = k as f64 * 0.015;
        rows.push(history_row(week, since, "historical", 0.31 - drift, 0.18 - drift / 2.0));
        rows.push(history_row(week, since, "fast-follow", 0.27 + drift, 0.16));
        rows.push(history_row(week, since, "qualified-only", 0.39 - drift, 0.24 + drift));
        rows.push(history_row(
            week,
            since,
            "escalate_on_pricing_or_explicit_human_request_v2",
            0.34,
            0.21 - drift,
        ));
    }
    rows
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Checks the PNG signature and chunk structure, then inflates the image data and checks it
/// holds exactly `height` scanlines of `width` RGB pixels (a real decode of the pixel stream).
fn assert_valid_png(bytes: &[u8], (width, height): (u32, u32)) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let mut pos = 8;
    let mut idat = Vec::new();
    let mut ihdr = None;
    let mut ended = false;
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => ihdr = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => ended = true,
            _ => {}
        }
        pos += 12 + len;
    }
    assert!(ended, "PNG has an IEND chunk");
    let ihdr = ihdr.expect("PNG has an IHDR chunk");
    assert_eq!(u32::from_be_bytes(ihdr[0..4].try_into().unwrap()), width);
    assert_eq!(u32::from_be_bytes(ihdr[4..8].try_into().unwrap()), height);
    assert_eq!(ihdr[8], 8, "8-bit depth");
    assert_eq!(ihdr[9], 2, "RGB colour type");
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).expect("IDAT inflates");
    assert_eq!(raw.len(), height as usize * (1 + width as usize * 3));
    // Not a blank canvas: some pixel differs from white.
    assert!(raw.chunks(3).any(|px| px.iter().any(|&c| c < 200)), "PNG has drawn content");
}

fn names(files: &[ChartFile]) -> Vec<&str> {
    files.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn render_all_writes_every_chart_as_svg_and_png() {
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&fabricated_summary(), &fabricated_history(), dir.path()).unwrap();
    assert_eq!(
        names(&files),
        ["policy-rates", "sweep-fast-follow-score-threshold", "timing", "workload", "trend"]
    );
    for file in &files {
        assert_eq!(file.svg, dir.path().join(format!("{}.svg", file.name)));
        assert_eq!(file.png, dir.path().join(format!("{}.png", file.name)));
        assert!(!file.title.is_empty());
        let svg = String::from_utf8(read(&file.svg)).unwrap();
        assert!(svg.starts_with("<svg"), "{} is an SVG", file.name);
        assert!(svg.contains("font-family=\"DejaVu Sans, sans-serif\""));
        assert_valid_png(&read(&file.png), SIZE);
    }
}

#[test]
fn svgs_contain_titles_and_axis_titles() {
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&fabricated_summary(), &fabricated_history(), dir.path()).unwrap();
    let svg = |name: &str| {
        let file = files.iter().find(|f| f.name == name).unwrap();
        String::from_utf8(read(&file.svg)).unwrap()
    };
    let expected: [(&str, &[&str]); 5] = [
        (
            "policy-rates",
            &[
                "Meetings per 100 handoffs (%)",
                "Opportunities per 100 handoffs (%)",
                "Policy",
                "n/a",
            ],
        ),
        (
            "sweep-fast-follow-score-threshold",
            &[
                "Net opportunities per 100 conversations",
                "score_threshold (parameter value)",
                "Optimum: score_threshold = 0.7",
            ],
        ),
        ("timing", &["Share of the policy&apos;s conversations (%)", "earlier than history"]),
        (
            "workload",
            &["Handoffs to a human per 100 conversations", "Opportunities per 100 conversations"],
        ),
        ("trend", &["ISO week", "Meetings per 100 handoffs (%)", "2026-W45"]),
    ];
    for (name, texts) in expected {
        let svg = svg(name);
        for text in texts {
            // "n/a" only appears where a figure is null; the fabricated summary has none.
            if *text == "n/a" {
                assert!(!svg.contains("\nn/a\n"), "{name}: no n/a without null estimates");
                continue;
            }
            assert!(svg.contains(text), "{name}.svg should contain {text:?}");
        }
    }
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let first = tempfile::TempDir::new().unwrap();
    let second = tempfile::TempDir::new().unwrap();
    let a = render_all(&fabricated_summary(), &fabricated_history(), first.path()).unwrap();
    let b = render_all(&fabricated_summary(), &fabricated_history(), second.path()).unwrap();
    assert_eq!(names(&a), names(&b));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(read(&x.svg), read(&y.svg), "{}.svg differs", x.name);
        assert_eq!(read(&x.png), read(&y.png), "{}.png differs", x.name);
    }
}

#[test]
fn trend_needs_two_windows() {
    let dir = tempfile::TempDir::new().unwrap();
    let one_week: Vec<HistoryRow> =
        fabricated_history().into_iter().filter(|r| r.window == "2026-W46").collect();
    let files = render_all(&fabricated_summary(), &one_week, dir.path()).unwrap();
    assert!(!names(&files).contains(&"trend"));
    assert!(!dir.path().join("trend.svg").exists());
    let files = render_all(&fabricated_summary(), &[], dir.path()).unwrap();
    assert!(!names(&files).contains(&"trend"));
}

#[test]
fn trend_orders_windows_by_time() {
    let palette = Palette::for_summary(&fabricated_summary(), &fabricated_history());
    let trend = trend::TrendChart::new(&fabricated_history(), &palette).unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let file = render_chart(&trend, dir.path(), "trend", "t").unwrap();
    let svg = String::from_utf8(read(&file.svg)).unwrap();
    let at = |w: &str| svg.find(&format!("\n{w}\n")).unwrap_or_else(|| panic!("{w} missing"));
    assert!(at("2026-W45") < at("2026-W46") && at("2026-W46") < at("2026-W47"));
}

#[test]
fn null_estimates_show_na_instead_of_a_bar() {
    let mut summary = fabricated_summary();
    summary.policies[2].rates.handoff_to_meeting = Estimate::NULL;
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&summary, &[], dir.path()).unwrap();
    let svg = String::from_utf8(read(&files[0].svg)).unwrap();
    assert_eq!(svg.matches("\nn/a\n").count(), 1, "one null figure, one n/a");
}

#[test]
fn only_historical_renders_without_panicking() {
    let mut summary = fabricated_summary();
    summary.policies.truncate(1);
    summary.sweeps.clear();
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&summary, &[], dir.path()).unwrap();
    assert_eq!(names(&files), ["policy-rates", "timing", "workload"]);
    let timing = String::from_utf8(read(&dir.path().join("timing.svg"))).unwrap();
    assert!(timing.contains("No policy besides history to compare"));
    for file in &files {
        assert_valid_png(&read(&file.png), SIZE);
    }
}

#[test]
fn no_policies_at_all_renders_without_panicking() {
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&Summary::default(), &[], dir.path()).unwrap();
    assert_eq!(names(&files), ["policy-rates", "timing", "workload"]);
}

#[test]
fn all_null_and_non_finite_figures_render_without_panicking() {
    let mut summary = fabricated_summary();
    for (i, p) in summary.policies.iter_mut().enumerate() {
        p.rates.handoff_to_meeting = Estimate::NULL;
        p.rates.handoff_to_opportunity =
            Estimate { estimate: Some(f64::NAN), low: None, high: None };
        p.rates.opportunity_rate = if i == 0 { Estimate::NULL } else { est(f64::INFINITY, 1.0) };
        p.rates.handoff_rate = f64::NAN;
        p.timing = BTreeMap::new();
    }
    for point in &mut summary.sweeps[0].points {
        point.net_objective_per_100 = Estimate::NULL;
    }
    let mut history = fabricated_history();
    for row in &mut history {
        row.rates.handoff_to_meeting = Estimate::NULL;
        row.rates.handoff_to_opportunity =
            Estimate { estimate: Some(f64::NEG_INFINITY), low: None, high: None };
    }
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&summary, &history, dir.path()).unwrap();
    assert_eq!(files.len(), 5);
    let rates = String::from_utf8(read(&files[0].svg)).unwrap();
    assert_eq!(rates.matches("\nn/a\n").count(), 8, "4 policies x 2 panels, all n/a");
    let sweep = String::from_utf8(read(&files[1].svg)).unwrap();
    assert!(sweep.contains("No sweep point could be estimated"));
    let workload = String::from_utf8(read(&files[3].svg)).unwrap();
    assert!(workload.contains("No policy has both"));
    for file in &files {
        assert!(!String::from_utf8(read(&file.svg)).unwrap().contains("NaN"));
    }
}

#[test]
fn zero_and_one_point_sweeps_render_without_panicking() {
    let mut summary = fabricated_summary();
    let mut one = summary.sweeps[0].clone();
    one.points.truncate(1);
    one.optimal.as_mut().unwrap().value = one.points[0].value;
    one.optimal.as_mut().unwrap().runner_up = None;
    let mut zero = summary.sweeps[0].clone();
    zero.parameter = "max_turn".to_string();
    zero.points.clear();
    zero.optimal = None;
    let mut nan_values = summary.sweeps[0].clone();
    nan_values.parameter = "Weird Param!!".to_string();
    nan_values.points[1].value = f64::NAN;
    summary.sweeps = vec![one, zero, nan_values];
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&summary, &[], dir.path()).unwrap();
    assert_eq!(
        names(&files)[1..4],
        [
            "sweep-fast-follow-score-threshold",
            "sweep-fast-follow-max-turn",
            "sweep-fast-follow-weird-param"
        ]
    );
    let nan_svg = String::from_utf8(read(&files[3].svg)).unwrap();
    assert!(nan_svg.contains("1 point(s) n/a"));
}

#[test]
fn sweeps_whose_names_sanitise_alike_get_distinct_files() {
    let mut summary = fabricated_summary();
    let mut twin = summary.sweeps[0].clone();
    twin.policy = "Fast_Follow".to_string();
    summary.sweeps.push(twin);
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&summary, &[], dir.path()).unwrap();
    assert_eq!(
        names(&files)[1..3],
        ["sweep-fast-follow-score-threshold", "sweep-fast-follow-score-threshold-2"]
    );
}

#[test]
fn sanitize_name_keeps_only_lowercase_digits_and_single_dashes() {
    assert_eq!(sanitize_name("Fast Follow@score_threshold=0.7"), "fast-follow-score-threshold-0-7");
    assert_eq!(sanitize_name("--A__b--"), "a-b");
    assert_eq!(sanitize_name("é!?"), "chart");
}

#[test]
fn long_labels_wrap_at_separators_and_truncate_the_last_line() {
    ensure_fonts().unwrap();
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
    let style = text(LABEL_SIZE);
    let wrap =
        |label: &str, width: i32, lines: usize| wrap_label(&root, label, &style, width, lines);
    assert_eq!(wrap("fast-follow", 400, 3), ["fast-follow"]);
    assert_eq!(
        wrap("fast-follow@score_threshold=0.7", 160, 3),
        ["fast-follow", "@score_threshold=0.7"]
    );
    let two = wrap("escalate_on_pricing_or_explicit_human_request_v2", 120, 2);
    assert_eq!(two.len(), 2);
    assert_eq!(two[0], "escalate_on_");
    assert!(two[1].starts_with("pricing_") && two[1].contains('…'), "{two:?}");
    assert!(two[1].ends_with("_v2"), "the end, where variants differ, is kept: {two:?}");
    for line in &two {
        assert!(root.estimate_text_size(line, &style).unwrap().0 <= 120, "{line} fits");
    }
}

#[test]
fn axis_ranges_hold_every_value() {
    assert_eq!(padded_range([f64::NAN], true), (0.0, 1.0));
    let (low, high) = padded_range([2.0, 2.0], false);
    assert!(low < 2.0 && high > 2.0);
}

#[test]
fn palette_is_stable_by_policy_order() {
    let palette = Palette::for_summary(&fabricated_summary(), &fabricated_history());
    assert_eq!(palette.color("historical"), HISTORICAL_COLOR);
    assert_eq!(palette.color("fast-follow"), POLICY_COLORS[0]);
    assert_eq!(palette.color("qualified-only"), POLICY_COLORS[1]);
    assert_eq!(palette.rank("qualified-only"), 2);
}

/// Writes the fabricated renders where a person can look at them when
/// `HANDOFF_CHARTS_PREVIEW=<dir>` is set (a no-op otherwise).
#[test]
fn write_preview_when_asked() {
    let Ok(dir) = std::env::var("HANDOFF_CHARTS_PREVIEW") else {
        return;
    };
    let files = render_all(&fabricated_summary(), &fabricated_history(), Path::new(&dir)).unwrap();
    assert_eq!(files.len(), 5);
}

/// A crowded, awkward summary: 9 policies with long variant names, null and negative figures,
/// a sweep crossing zero with its optimum at the edge, a one-point sweep, 8 windows with gaps.
fn stress_inputs() -> (Summary, Vec<HistoryRow>) {
    let mut summary = fabricated_summary();
    for (k, threshold) in [0.55, 0.6, 0.65, 0.7, 0.75].iter().enumerate() {
        let mut p = policy(
            &format!("fast-follow@score_threshold={threshold}"),
            PolicyKind::Variant,
            0.5 - k as f64 * 0.04,
            0.2 + k as f64 * 0.03,
            0.1 + k as f64 * 0.02,
        );
        p.timing = timing([k as u64 * 10, 50, 5, 3, 20, 100]);
        summary.policies.push(p);
    }
    summary.policies[2].rates.handoff_to_opportunity = Estimate::NULL;
    summary.policies[3].rates.handoff_to_meeting = Estimate::new(0.02, -0.06, 0.1);
    summary.policies[5].rates.opportunity_rate = Estimate::NULL;
    let sweep = &mut summary.sweeps[0];
    for (i, point) in sweep.points.iter_mut().enumerate() {
        point.net_objective_per_100 = est(-2.0 + i as f64 * 1.5, 1.8);
    }
    sweep.points[2].net_objective_per_100 = Estimate::NULL;
    let optimal = sweep.optimal.as_mut().unwrap();
    optimal.value = 0.9;
    optimal.net_objective_per_100 = est(4.0, 1.8);
    optimal.beats_runner_up = true;
    let mut one = sweep.clone();
    one.parameter = "min_prospect_turns".to_string();
    one.points.truncate(1);
    one.optimal.as_mut().unwrap().value = 0.5;
    one.optimal.as_mut().unwrap().net_objective_per_100 = one.points[0].net_objective_per_100;
    one.optimal.as_mut().unwrap().runner_up = None;
    summary.sweeps.push(one);
    let mut history = Vec::new();
    for week in 40..48 {
        let label = format!("2026-W{week}");
        let since = format!("2026-{week}");
        for (k, name) in ["historical", "fast-follow", "qualified-only"].iter().enumerate() {
            let mut row = history_row(&label, &since, name, 0.3 + k as f64 * 0.03, 0.2);
            if week == 43 && k == 1 {
                row.rates.handoff_to_meeting = Estimate::NULL;
            }
            history.push(row);
        }
    }
    (summary, history)
}

/// Writes the stress renders to `HANDOFF_CHARTS_STRESS=<dir>` for a visual check.
#[test]
fn write_stress_preview_when_asked() {
    let Ok(dir) = std::env::var("HANDOFF_CHARTS_STRESS") else {
        return;
    };
    let (summary, history) = stress_inputs();
    let files = render_all(&summary, &history, Path::new(&dir)).unwrap();
    assert_eq!(files.len(), 6);
    let mut only_history = fabricated_summary();
    only_history.policies.truncate(1);
    render_all(&only_history, &[], &Path::new(&dir).join("only-historical")).unwrap();
    let mut nulls = fabricated_summary();
    for p in &mut nulls.policies {
        p.rates.handoff_to_meeting = Estimate::NULL;
        p.rates.handoff_to_opportunity = Estimate::NULL;
        p.rates.opportunity_rate = Estimate::NULL;
    }
    nulls.sweeps[0].points.iter_mut().for_each(|p| p.net_objective_per_100 = Estimate::NULL);
    render_all(&nulls, &[], &Path::new(&dir).join("all-null")).unwrap();
}

#[test]
fn crowded_summary_renders_valid_files() {
    let (summary, history) = stress_inputs();
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&summary, &history, dir.path()).unwrap();
    assert_eq!(files.len(), 6);
    for file in &files {
        assert_valid_png(&read(&file.png), SIZE);
    }
}

#[test]
fn absurd_magnitudes_and_tiny_spans_render_without_panicking() {
    let mut summary = fabricated_summary();
    summary.policies[1].rates.handoff_to_meeting = Estimate::new(1e300, -1e300, f64::MAX);
    summary.policies[2].rates.handoff_rate = 1e200;
    summary.policies[3].rates.handoff_to_opportunity = Estimate::new(0.2, 0.2, 0.2);
    for (i, point) in summary.sweeps[0].points.iter_mut().enumerate() {
        point.value = 0.5 + i as f64 * 1e-12;
        point.net_objective_per_100 = Estimate::new(1.0 + i as f64 * 1e-13, 1.0, 1.0);
    }
    summary.sweeps[0].points[4].value = f64::MAX;
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&summary, &fabricated_history(), dir.path()).unwrap();
    assert_eq!(files.len(), 5);
    let workload = String::from_utf8(read(&files[3].svg)).unwrap();
    assert!(workload.contains("n/a: qualified-only"), "an absurd rate is reported as n/a");
    for file in &files {
        assert_valid_png(&read(&file.png), SIZE);
    }
}

/// Random summaries mixing nulls, NaN, infinities, negatives, huge and equal values, long and
/// empty names: `render_all` must return (Ok or Err), never panic.
#[test]
fn random_awkward_summaries_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let figure = |rng: &mut rand_chacha::ChaCha8Rng| -> Option<f64> {
        match rng.random_range(0..8) {
            0 => None,
            1 => Some(f64::NAN),
            2 => Some(f64::INFINITY),
            3 => Some(1e15),
            4 => Some(0.0),
            _ => Some(rng.random_range(-0.5..1.5)),
        }
    };
    for case in 0..30 {
        let mut summary = fabricated_summary();
        let n = rng.random_range(0..10);
        summary.policies.truncate(1);
        for k in 0..n {
            let name = match rng.random_range(0..3) {
                0 => String::new(),
                1 => format!("p{k}@a_very_long_parameter_name_that_goes_on={k}.{case}"),
                _ => format!("p{k}"),
            };
            let mut p = policy(&name, PolicyKind::Policy, 0.4, 0.3, 0.2);
            p.rates.handoff_rate = figure(&mut rng).unwrap_or(f64::NAN);
            p.rates.handoff_to_meeting = Estimate {
                estimate: figure(&mut rng),
                low: figure(&mut rng),
                high: figure(&mut rng),
            };
            p.rates.opportunity_rate = Estimate::new(
                figure(&mut rng).unwrap_or(0.0),
                figure(&mut rng).unwrap_or(0.0),
                figure(&mut rng).unwrap_or(0.0),
            );
            p.timing = timing([rng.random_range(0..3), 0, rng.random_range(0..5), 0, 1, 0]);
            summary.policies.push(p);
        }
        let sweep = &mut summary.sweeps[0];
        sweep.points.truncate(rng.random_range(0..6));
        for point in &mut sweep.points {
            point.value = figure(&mut rng).unwrap_or(0.5);
            point.net_objective_per_100 = Estimate {
                estimate: figure(&mut rng),
                low: figure(&mut rng),
                high: figure(&mut rng),
            };
        }
        let mut history = fabricated_history();
        history.truncate(rng.random_range(0..12));
        let dir = tempfile::TempDir::new().unwrap();
        let result = render_all(&summary, &history, dir.path());
        assert!(result.is_ok(), "case {case}: {result:?}");
    }
}

/// The fabricated summary cut two ways: by segment (3 slices, the usual case) and by an extra
/// column with the 12 slices of `--max-slices 12`, the last two under `--min-slice`.
pub(crate) fn sliced_summary() -> Summary {
    use crate::report::slices::fixture::{cuts, REGIONS};
    let mut summary = fabricated_summary();
    let segments: &[&str] = &["enterprise", "mid_market", "smb"];
    summary.slices = cuts(&summary, &[("segment", segments), ("region", &REGIONS)]);
    summary
}

fn slices_chart(summary: &Summary, cut: usize) -> slices::SlicesChart {
    let palette = Palette::for_summary(summary, &[]);
    slices::SlicesChart::new(summary, &summary.slices[cut], &palette)
}

#[test]
fn every_cut_gets_a_small_multiples_chart_after_the_others() {
    let dir = tempfile::TempDir::new().unwrap();
    let summary = sliced_summary();
    let files = render_all(&summary, &fabricated_history(), dir.path()).unwrap();
    assert_eq!(names(&files)[5..], ["slices-segment", "slices-region"]);
    for (file, cut) in files[5..].iter().zip(0..) {
        let size = slices_chart(&summary, cut).size();
        assert_valid_png(&read(&file.png), size);
        let svg = String::from_utf8(read(&file.svg)).unwrap();
        assert!(svg.starts_with("<svg"), "{} is an SVG", file.name);
        assert!(svg.contains("Per 100 conversations"), "the shared axis is titled once");
    }
    // Twelve panels are laid out 3 x 4, so the canvas grows instead of squeezing them.
    // (header 70, notes 24 when some panel is grey, legend 2 x 26, rows, margin 16)
    assert_eq!(slices_chart(&summary, 1).size(), (1000, 70 + 24 + 52 + 4 * 220 + 16));
    assert_eq!(slices_chart(&summary, 0).size().1, 70 + 52 + 220 + 16);
}

#[test]
fn slice_panels_are_titled_with_their_size_and_thin_ones_say_so() {
    let dir = tempfile::TempDir::new().unwrap();
    let summary = sliced_summary();
    let files = render_all(&summary, &[], dir.path()).unwrap();
    let svg = |name: &str| {
        let file = files.iter().find(|f| f.name == name).unwrap();
        String::from_utf8(read(&file.svg)).unwrap()
    };
    let region = svg("slices-region");
    assert!(region.contains("Meeting and opportunity rates by region"), "title");
    assert!(region.contains("north-america-east (n = 2,012)"), "largest panel");
    assert!(region.contains("(other) (n = 150) · too few"), "thin panel marked");
    assert_eq!(region.matches("· too few").count(), 2, "the two slices under 200");
    assert!(region.contains("Grey panels: too few conversations"), "the notes explain the grey");
    assert_eq!(region.matches("\nOpportunities\n").count(), 12, "one group label per panel");
    let segment = svg("slices-segment");
    assert!(segment.contains("enterprise (n = 2,012)") && !segment.contains("too few"));
    // Every named policy in the legend (long names shortened); sweep variants are not drawn.
    for p in &summary.policies {
        let start: String = p.name.chars().take(10).collect();
        assert!(segment.contains(&start), "{} in the legend", p.name);
    }
    assert!(!segment.contains("score_threshold="), "no sweep variant in the chart");
}

#[test]
fn slice_panels_share_one_axis() {
    let mut summary = sliced_summary();
    // One slice with much higher rates: every panel's axis must reach it.
    let big = &mut summary.slices[1].values[0].policies[1];
    big.rates.meeting_rate = Estimate::new(0.9, 0.8, 0.95);
    let chart = slices_chart(&summary, 1);
    let dir = tempfile::TempDir::new().unwrap();
    let file = render_chart(&chart, dir.path(), "slices-region", "t").unwrap();
    let svg = String::from_utf8(read(&file.svg)).unwrap();
    // The axis runs past 95 per 100 in every one of the 12 panels, the tiny ones included.
    assert_eq!(svg.matches("\n100\n").count(), 12, "the same top tick in every panel");
}

#[test]
fn more_than_twelve_slices_show_the_twelve_largest() {
    let mut summary = sliced_summary();
    let extra = summary.slices[1].values[11].clone();
    for k in 0..3 {
        let mut slice = extra.clone();
        slice.value = format!("tail-{k}");
        slice.conversations = 100 - k;
        summary.slices[1].values.push(slice);
    }
    let chart = slices_chart(&summary, 1);
    let dir = tempfile::TempDir::new().unwrap();
    let file = render_chart(&chart, dir.path(), "slices-region", "t").unwrap();
    let svg = String::from_utf8(read(&file.svg)).unwrap();
    assert!(svg.contains("the 12 largest of 15 slices"), "the subtitle says what is left out");
    assert!(!svg.contains("tail-0"));
    assert_valid_png(&read(&file.png), chart.size());
}

#[test]
fn slice_chart_names_are_safe_and_distinct() {
    let cut = |by: &str| crate::summary::SliceCut { by: by.into(), ..Default::default() };
    let cuts = [cut("ai_agent"), cut("Region"), cut("region"), cut("../Évil name!"), cut("")];
    assert_eq!(
        slice_chart_names(&cuts),
        ["slices-ai_agent", "slices-region", "slices-region-2", "slices-vil-name", "slices-chart"]
    );
}

#[test]
fn degenerate_slices_render_without_panicking() {
    let mut summary = sliced_summary();
    let cut = &mut summary.slices[0];
    cut.values[0].policies.clear();
    cut.values[1].policies.truncate(1);
    for p in &mut cut.values[2].policies {
        p.rates.meeting_rate = Estimate::NULL;
        p.rates.opportunity_rate = Estimate { estimate: Some(f64::NAN), low: None, high: None };
    }
    let mut empty = cut.clone();
    empty.by = "channel".into();
    empty.values.clear();
    summary.slices.push(empty);
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&summary, &[], dir.path()).unwrap();
    assert_eq!(names(&files)[4..], ["slices-segment", "slices-region", "slices-channel"]);
    let segment = String::from_utf8(read(&files[4].svg)).unwrap();
    assert!(segment.contains("×: no estimate"));
    assert!(!segment.contains("NaN"));
}

#[test]
fn without_slices_no_slice_chart_is_drawn() {
    let dir = tempfile::TempDir::new().unwrap();
    let files = render_all(&fabricated_summary(), &[], dir.path()).unwrap();
    assert!(!names(&files).iter().any(|n| n.starts_with("slices-")));
}

#[test]
fn the_trend_ignores_slice_rows() {
    let mut history = fabricated_history();
    let with_slices: Vec<HistoryRow> = history
        .iter()
        .map(|r| HistoryRow {
            by: Some("segment".into()),
            value: Some("smb".into()),
            rates: Rates { handoff_to_meeting: est(0.99, 0.01), ..r.rates },
            ..r.clone()
        })
        .collect();
    let palette = Palette::for_summary(&fabricated_summary(), &history);
    let dir = tempfile::TempDir::new().unwrap();
    let plain = trend::TrendChart::new(&history, &palette).unwrap();
    let plain = render_chart(&plain, dir.path(), "plain", "t").unwrap();
    history.extend(with_slices);
    let mixed = trend::TrendChart::new(&history, &palette).unwrap();
    let mixed = render_chart(&mixed, dir.path(), "mixed", "t").unwrap();
    assert_eq!(read(&plain.svg), read(&mixed.svg), "slice rows change nothing in the trend");
}

/// Writes the sliced renders to `HANDOFF_CHARTS_SLICES=<dir>` for a visual check.
#[test]
fn write_slices_preview_when_asked() {
    let Ok(dir) = std::env::var("HANDOFF_CHARTS_SLICES") else {
        return;
    };
    render_all(&sliced_summary(), &fabricated_history(), Path::new(&dir)).unwrap();
}

/// The fabricated summary with bounds on every policy at Gamma 1.5 and 3, and the headline
/// comparison naming `name`.
fn with_sensitivity(name: &str) -> Summary {
    use crate::summary::{Bounds, Comparison, PolicyBounds, SensitivitySummary};
    let mut summary = fabricated_summary();
    for p in summary.policies.iter_mut().filter(|p| p.kind == PolicyKind::Policy) {
        let v = p.rates.opportunity_rate.estimate.unwrap_or(0.1);
        let at = |gamma: f64, spread: f64| PolicyBounds {
            gamma,
            opportunity_rate: Bounds { low: Some(v - spread), high: Some(v + spread) },
            ..PolicyBounds::default()
        };
        p.sensitivity = Some(Some(vec![at(1.5, 0.02), at(3.0, 0.05)]));
    }
    summary.sensitivity = Some(SensitivitySummary {
        gammas: vec![1.5, 3.0],
        comparisons: vec![Comparison {
            policy: name.into(),
            versus: "historical".into(),
            robustness_gamma: Some(1.7),
            ..Comparison::default()
        }],
        skipped: None,
    });
    summary
}

#[test]
fn the_sensitivity_chart_comes_with_bounds_only() {
    let dir = tempfile::TempDir::new().unwrap();
    let summary = with_sensitivity("fast-follow");
    let files = render_all(&summary, &[], dir.path()).unwrap();
    let chart = files.iter().find(|f| f.name == SENSITIVITY_CHART).expect("sensitivity chart");
    let svg = String::from_utf8(read(&chart.svg)).unwrap();
    assert!(svg.contains("How far hidden confounding could move the opportunity rate"));
    assert!(svg.contains("fast-follow") && svg.contains("historical (observed)"));
    assert_valid_png(&read(&chart.png), SIZE);
    // Skipped, or off: no chart.
    let mut skipped = summary.clone();
    if let Some(s) = skipped.sensitivity.as_mut() {
        s.skipped = Some("logged".into());
    }
    let files = render_all(&skipped, &[], dir.path()).unwrap();
    assert!(!names(&files).contains(&SENSITIVITY_CHART));
    let files = render_all(&fabricated_summary(), &[], dir.path()).unwrap();
    assert!(!names(&files).contains(&SENSITIVITY_CHART));
    // A headline policy without bounds, or with non-finite ones, does not panic.
    let mut odd = with_sensitivity("no-such-policy");
    for p in &mut odd.policies {
        if let Some(Some(b)) = p.sensitivity.as_mut() {
            b[0].opportunity_rate.high = Some(f64::INFINITY);
        }
    }
    render_all(&odd, &[], dir.path()).unwrap();
}
