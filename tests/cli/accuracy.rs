//! Estimation accuracy against known truth (docs/accuracy.md), through the real binary: `generate`
//! writes a synthetic world and the exact expected results of every policy (`--truth`),
//! `report` estimates them from the sampled history alone, and the default estimator (`dr`)
//! must land near the truth with honest intervals. Also: history that never hands off gives
//! no confident number for a policy that does, and says so in plain words.
//!
//! The acceptance criteria (docs/accuracy.md) are checked as stated, at the size they are
//! stated for: 20,000 conversations, |error| <= 0.02 on meeting and opportunity rates, the
//! truth inside the 95% interval for at least 90% of the estimates, each sweep's chosen
//! optimum within 0.5 net objective per 100 conversations of the true best. The world is
//! generated with one fixed seed (11, the seed of docs/accuracy.md's tables, chosen before the
//! current generator), so the test is deterministic; docs/accuracy.md reports how often the
//! criteria hold over 24 seeds. The dev profile is optimised (`opt-level = 1`) so this runs
//! in well under a minute.

use std::path::Path;

use serde_json::Value;

use crate::harness::*;

/// Conversations in the test's world: the size the acceptance criteria are stated for.
const N: u64 = 20_000;
const MAX_ERROR: f64 = 0.02;
const MAX_REGRET: f64 = 0.5;
const MIN_COVERAGE: f64 = 0.90;

fn generate(out: &Path, conversations: u64, seed: u64, format: &str, truth: Option<&Path>) {
    let mut cmd = handoff();
    cmd.args(["generate", "--quiet", "--format", format])
        .args(["--conversations", &conversations.to_string(), "--seed", &seed.to_string()])
        .arg("--out")
        .arg(out)
        .arg("--policies")
        .arg(POLICIES);
    if let Some(t) = truth {
        cmd.arg("--truth").arg(t);
    }
    cmd.assert().success();
}

/// Runs `report` on `data` (every conversation: the window `all`) with `extra` flags and
/// returns the folder.
fn report_with(data: &Path, out: &Path, extra: &[&str]) -> std::path::PathBuf {
    handoff()
        .args(["report", "--quiet", "--data"])
        .arg(data)
        .arg("--out")
        .arg(out)
        .arg("--policies")
        .arg(POLICIES)
        .args(extra)
        .assert()
        .success();
    out.join("all")
}

fn report(data: &Path, out: &Path) -> std::path::PathBuf {
    report_with(data, out, &[])
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no policy {name}"))
}

/// One estimate against its truth.
struct Check {
    label: String,
    truth: f64,
    estimate: Option<f64>,
    interval: Option<(f64, f64)>,
}

impl Check {
    fn error(&self) -> Option<f64> {
        self.estimate.map(|e| e - self.truth)
    }
    fn covered(&self) -> Option<bool> {
        self.interval.map(|(lo, hi)| lo <= self.truth && self.truth <= hi)
    }
}

fn check(label: String, truth: &Value, estimate: &Value) -> Option<Check> {
    let truth = truth.as_f64()?;
    let interval = estimate["low"].as_f64().zip(estimate["high"].as_f64());
    Some(Check { label, truth, estimate: estimate["estimate"].as_f64(), interval })
}

#[test]
fn dr_estimates_land_near_the_known_truth_with_honest_intervals() {
    let dir = Workdir::new();
    let data = dir.join("data");
    let truth_path = dir.join("truth.json");
    generate(&data, N, 11, "parquet", Some(&truth_path));
    let folder = report(&data, &dir.join("reports"));
    let summary = read_json(&folder.join("summary.json"));
    let truth = read_json(&truth_path);
    assert_eq!(summary["estimator"], "dr", "dr is the default estimator");

    let mut checks = Vec::new();
    for t in truth["policies"].as_array().expect("truth policies") {
        let name = t["name"].as_str().expect("name");
        if name == "historical" {
            continue; // observed, not estimated
        }
        let s = by_name(&summary["policies"], name);
        for rate in
            ["meeting_rate", "opportunity_rate", "handoff_to_meeting", "handoff_to_opportunity"]
        {
            checks.extend(check(format!("{name} {rate}"), &t[rate], &s[rate]));
        }
    }
    let report_lines: Vec<String> = checks
        .iter()
        .map(|c| {
            format!(
                "{}: truth {:.3}, estimate {:?}, interval {:?}",
                c.label, c.truth, c.estimate, c.interval
            )
        })
        .collect();
    let table = report_lines.join("\n");

    let max_error = MAX_ERROR;
    for c in checks
        .iter()
        .filter(|c| c.label.ends_with(" meeting_rate") || c.label.ends_with(" opportunity_rate"))
    {
        let error = c.error().unwrap_or_else(|| panic!("{} not estimated\n{table}", c.label));
        assert!(error.abs() <= max_error, "{}: error {error:+.3} > {max_error}\n{table}", c.label);
    }
    let judged: Vec<bool> = checks.iter().filter_map(Check::covered).collect();
    assert_eq!(judged.len(), checks.len(), "every estimate has an interval\n{table}");
    let coverage = judged.iter().filter(|c| **c).count() as f64 / judged.len() as f64;
    assert!(coverage >= MIN_COVERAGE, "coverage {coverage:.2} < {MIN_COVERAGE}\n{table}");

    let max_regret = MAX_REGRET;
    for sweep in summary["sweeps"].as_array().expect("sweeps") {
        let t = truth["sweeps"]
            .as_array()
            .and_then(|a| {
                a.iter().find(|t| {
                    t["policy"] == sweep["policy"] && t["parameter"] == sweep["parameter"]
                })
            })
            .expect("the sweep's truth");
        let points = t["points"].as_array().expect("truth points");
        let net = |p: &Value| p["net_objective_per_100"].as_f64().expect("net objective");
        let best = points.iter().map(net).fold(f64::NEG_INFINITY, f64::max);
        let chosen = sweep["optimal"]["value"].as_f64().expect("an optimum is chosen");
        let chosen_truth = points
            .iter()
            .find(|p| (p["value"].as_f64().unwrap_or(f64::NAN) - chosen).abs() < 1e-9)
            .map(net)
            .expect("the chosen value is a grid point");
        let regret = best - chosen_truth;
        assert!(
            regret <= max_regret,
            "sweep {} {}: chose {chosen} (true {chosen_truth:.2}), true best {best:.2}",
            sweep["policy"],
            sweep["parameter"]
        );
    }
}

/// Rewrites a generated outcomes.csv as if the AI had never handed off: no handoff turn,
/// time, context or rating, and no row for a conversation left with no outcome at all.
fn remove_handoffs(outcomes_csv: &Path) {
    let mut reader = csv::Reader::from_path(outcomes_csv).expect("outcomes.csv");
    let header = reader.headers().expect("header").clone();
    let blank = ["handoff_turn", "handoff_at", "context", "rep_rating"];
    let keep = ["meeting_at", "opportunity_at"];
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).expect("header");
    for record in reader.records() {
        let record = record.expect("record");
        let row: Vec<&str> = header
            .iter()
            .zip(record.iter())
            .map(|(name, value)| if blank.contains(&name) { "" } else { value })
            .collect();
        let has_outcome =
            header.iter().zip(&row).any(|(name, value)| keep.contains(&name) && !value.is_empty());
        if has_outcome {
            writer.write_record(&row).expect("row");
        }
    }
    std::fs::write(outcomes_csv, writer.into_inner().expect("csv bytes")).expect("write");
}

#[test]
fn history_that_never_hands_off_gives_no_confident_number_for_handing_off_policies() {
    let dir = Workdir::new();
    let data = dir.join("data");
    generate(&data, 300, 5, "csv", None);
    remove_handoffs(&data.join("outcomes.csv"));
    let folder = report(&data, &dir.join("reports"));
    let summary = read_json(&folder.join("summary.json"));

    let historical = by_name(&summary["policies"], "historical");
    assert_eq!(historical["handoffs"], 0, "the rewrite left no handoff");
    let mut handing_off = 0;
    for policy in summary["policies"].as_array().expect("policies") {
        let name = policy["name"].as_str().expect("name");
        if name == "historical" || policy["handoffs"] == 0 {
            continue;
        }
        handing_off += 1;
        for rate in ["meeting_rate", "opportunity_rate", "pipeline_per_conversation"] {
            for field in ["estimate", "low", "high"] {
                assert!(policy[rate][field].is_null(), "{name} {rate} {field} is a number");
            }
        }
        let warned = policy["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("history never hands off")));
        assert!(warned, "{name} has no plain warning: {}", policy["warnings"]);
    }
    assert!(handing_off >= 4, "the shipped policies that hand off were replayed");
    // `never` agrees with history everywhere: it is estimated as usual.
    assert!(by_name(&summary["policies"], "never")["meeting_rate"]["estimate"].is_number());

    let page = std::fs::read_to_string(folder.join("report.md")).expect("report.md");
    assert!(page.contains("history never hands off"), "report.md says why:\n{page}");
    for sweep in summary["sweeps"].as_array().expect("sweeps") {
        assert!(
            sweep["optimal"].is_null(),
            "no optimum is claimed from unsupported estimates: {sweep}"
        );
    }
}

/// `report --by BY` on `data` (window `all`); returns its `summary.json` path.
fn report_by(data: &Path, out: &Path, by: &str) -> std::path::PathBuf {
    report_with(data, out, &["--by", by]).join("summary.json")
}

/// Slices (issue 14) against the generator's per-slice truth: on a world whose causal effects
/// differ by segment and region (`generate --slice-effects`, docs/generator.md), every slice
/// of `segment` and `region` with at least 2,000 conversations; on a world without them, the
/// finding must not claim a difference. What this asserts, and what it cannot, is in
/// docs/accuracy.md ("Slices"): the intervals cover, the errors are small on average, and the
/// finding names the segment difference the world has; the largest single error of a slice of
/// 2,000 to 3,000 conversations is of the order of its interval's half-width (0.05 to 0.08),
/// not the 0.04 issue 14 asks for.
#[test]
fn slice_estimates_cover_their_truth_and_the_finding_names_the_segment_difference() {
    let w = Workdir::new();
    let data = w.join("data");
    let truth_path = w.join("truth.json");
    let mut cmd = handoff();
    cmd.args(["generate", "--quiet", "--format", "parquet", "--slice-effects"])
        .args(["--conversations", &N.to_string(), "--seed", "11"])
        .arg("--out")
        .arg(&data)
        .arg("--policies")
        .arg(POLICIES)
        .arg("--truth")
        .arg(&truth_path);
    cmd.assert().success();
    let summary = read_json(&report_by(&data, &w.join("reports"), "segment,region"));
    let truth = read_json(&truth_path);
    for (k, by) in ["segment", "region"].iter().enumerate() {
        let cut = &summary["slices"][k];
        assert_eq!(cut["by"], *by);
        let truth_cut = truth["slices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["by"] == *by)
            .unwrap_or_else(|| panic!("truth has no slices by {by}"));
        let (mut n, mut inside, mut total_error) = (0usize, 0usize, 0.0);
        for slice in cut["values"].as_array().unwrap() {
            if slice["conversations"].as_u64().unwrap() < 2000 {
                continue;
            }
            let value = &slice["value"];
            let truth_slice = truth_cut["values"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["value"] == *value)
                .unwrap_or_else(|| panic!("truth has no {by} = {value}"));
            for policy in slice["policies"].as_array().unwrap() {
                let name = policy["name"].as_str().unwrap();
                let t = by_name(&truth_slice["policies"], name);
                for rate in ["meeting_rate", "opportunity_rate"] {
                    let (Some(est), Some(tv)) =
                        (policy[rate]["estimate"].as_f64(), t[rate].as_f64())
                    else {
                        continue;
                    };
                    let (low, high) = (
                        policy[rate]["low"].as_f64().unwrap(),
                        policy[rate]["high"].as_f64().unwrap(),
                    );
                    n += 1;
                    inside += usize::from(low <= tv && tv <= high);
                    total_error += (est - tv).abs();
                }
            }
        }
        assert!(n >= 40, "{by}: {n} estimates");
        let coverage = inside as f64 / n as f64;
        let mean_error = total_error / n as f64;
        eprintln!("{by}: coverage {coverage:.3}, mean |error| {mean_error:.4} over {n}");
        assert!(coverage >= 0.85, "{by}: truth inside the interval for {coverage:.3}");
        assert!(mean_error <= 0.025, "{by}: mean |error| {mean_error:.4}");
    }
    let segment = summary["slices"][0]["findings"][0].as_str().unwrap();
    assert!(segment.contains("the best policy differs"), "{segment}");
    assert!(segment.contains("enterprise, early"), "{segment}");
    let region = summary["slices"][1]["findings"][0].as_str().unwrap();
    assert!(region.contains("does not show"), "{region}");

    // Without segment effects, no difference is claimed.
    let plain = w.join("plain");
    generate(&plain, N, 11, "parquet", None);
    let summary = read_json(&report_by(&plain, &w.join("plain-reports"), "segment,channel"));
    for cut in summary["slices"].as_array().unwrap() {
        let f = cut["findings"][0].as_str().unwrap();
        assert!(f.contains("does not show"), "{f}");
    }
}

/// Search (search.md) against known truth, on the seed docs/accuracy.md's search table starts
/// with: the shipped family on 20,000 conversations with segment effects. The recommendation's
/// true net objective is within 1.0 per 100 conversations of the family's true best and not
/// below the base's, and the honest interval holds it. With `--by segment`, the routed
/// policy (a winner per segment) is worth at least the single one in truth, is recommended
/// here (where `early`-like eagerness wins in enterprise), its honest interval holds its true
/// value, and its `recommended.toml` is read back by `report`.
#[test]
fn the_search_recommends_near_the_true_best_and_its_honest_interval_holds_the_truth() {
    let dir = Workdir::new();
    let data = dir.join("data");
    let truth_path = dir.join("truth.json");
    handoff()
        .args(["generate", "--quiet", "--conversations", &N.to_string(), "--seed", "11"])
        .arg("--slice-effects")
        .arg("--out")
        .arg(&data)
        .arg("--policies")
        .arg(POLICIES)
        .arg("--truth")
        .arg(&truth_path)
        .assert()
        .success();
    let folder = report_with(&data, &dir.join("reports"), &["--by", "segment"]);
    let search = &read_json(&folder.join("search.json"))["searches"][0];
    let truth = read_json(&truth_path);
    let t = by_name(&truth["searches"], "framework-search");
    let true_of = |name: &str| by_name(&t["candidates"], name)["net_objective_per_100"].as_f64();
    let recommended = search["recommended"]["name"].as_str().expect("a recommendation");
    let value = true_of(recommended).expect("the recommendation's truth");
    let best = t["best_net_objective_per_100"].as_f64().unwrap();
    let base = true_of("framework-search#0").unwrap();
    assert!(best - value <= 1.0, "regret {} (recommended {recommended})", best - value);
    assert!(value >= base - 1e-9, "below the base: {value} < {base}");
    let honest = &search["honest"]["net_objective_per_100"];
    let (low, high) = (honest["low"].as_f64().unwrap(), honest["high"].as_f64().unwrap());
    assert!(low <= value && value <= high, "honest interval {low}..{high} misses {value}");

    // The routed policy: each segment's share times its routed-to candidate's true value.
    let routed = &search["routed"][0];
    assert_eq!(routed["by"], "segment");
    let slices = routed["slices"].as_array().unwrap();
    let n: f64 = slices.iter().map(|x| x["conversations"].as_f64().unwrap()).sum();
    let routed_value: f64 = slices
        .iter()
        .map(|x| {
            let c = by_name(&t["candidates"], x["routed_to"].as_str().unwrap());
            let segment = x["value"].as_str().unwrap();
            x["conversations"].as_f64().unwrap() * c["segments"][segment].as_f64().unwrap()
        })
        .sum::<f64>()
        / n;
    assert!(routed_value >= value, "routed {routed_value} below the single policy's {value}");
    assert_eq!(routed["recommended"], true, "{routed}");
    let honest = &routed["honest"]["net_objective_per_100"];
    let (low, high) = (honest["low"].as_f64().unwrap(), honest["high"].as_f64().unwrap());
    assert!(low <= routed_value && routed_value <= high, "{low}..{high} misses {routed_value}");
    let md = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("**Run a policy per segment**"), "{md}");
    // The sensitivity analysis bounds what is recommended: the routed policy.
    let summary = read_json(&folder.join("summary.json"));
    let comparisons = summary["sensitivity"]["comparisons"].as_array().unwrap();
    assert!(
        comparisons.iter().any(|c| c["policy"] == "framework-search: a policy per segment"),
        "{comparisons:?}"
    );

    // recommended.toml routes by segment and is read back.
    let recommended = folder.join("recommended.toml");
    let text = std::fs::read_to_string(&recommended).unwrap();
    assert!(text.contains("route_by = \"segment\""), "{text}");
    assert!(text.contains("\"*\" = \"recommended-default\""), "{text}");
    let again = dir.join("again");
    handoff()
        .args(["report", "--quiet", "--bootstrap", "20", "--gammas", "none", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&again)
        .arg("--policies")
        .arg(&recommended)
        .assert()
        .success();
    let summary = read_json(&again.join("all").join("summary.json"));
    assert!(by_name(&summary["policies"], "recommended")["opportunity_rate"].is_object());
}
