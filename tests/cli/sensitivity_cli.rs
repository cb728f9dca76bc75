//! Sensitivity to hidden confounding (sensitivity.md) through the real binary: `--gammas`,
//! the bounds in `summary.json` (at `Gamma = 1` they are the `dr` estimate, and they widen),
//! the robustness values, the chart and the page section, `--gammas none` leaving no trace,
//! the skip where propensities are logged, and `generate --confound`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

/// 2,000 generated conversations (`extra`: more `generate` flags).
fn generate(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let data = dir.join(name);
    let o = run(handoff()
        .args(["generate", "--conversations", "2000", "--seed", "5", "--quiet", "--out"])
        .arg(&data)
        .args(extra));
    assert_ok(&o);
    data
}

fn report(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    run(handoff()
        .arg("report")
        .arg("--data")
        .arg(data)
        .arg("--policies")
        .arg(POLICIES)
        .arg("--out")
        .arg(out)
        .args(["--bootstrap", "20", "--quiet"])
        .args(extra))
}

fn summary(folder: &Path) -> Value {
    let text = fs::read_to_string(folder.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[test]
fn bounds_start_at_the_dr_estimate_widen_with_gamma_and_reach_every_output() {
    let w = Workdir::new();
    let data = generate(w.path(), "data", &[]);
    let out = w.join("reports");
    assert_ok(&report(&data, &out, &["--gammas", "2,1,1.5", "--by", "segment"]));
    let folder = out.join("all");
    let s = summary(&folder);
    assert_eq!(s["sensitivity"]["gammas"], serde_json::json!([1.0, 1.5, 2.0]));
    let policies = s["policies"].as_array().unwrap();
    assert!(policies[0]["sensitivity"].is_null(), "historical is observed: null");
    let mut checked = 0;
    for p in &policies[1..] {
        let bounds = p["sensitivity"].as_array().expect("a policy's bounds");
        assert_eq!(bounds.len(), 3);
        for rate in ["meeting_rate", "opportunity_rate", "pipeline_per_conversation"] {
            let estimate = f(&p[rate]["estimate"]);
            let upper = if rate == "pipeline_per_conversation" { f64::INFINITY } else { 1.0 };
            let at_one = &bounds[0][rate];
            if (0.0..=upper).contains(&estimate) {
                assert!((f(&at_one["low"]) - estimate).abs() < 1e-9, "{}: {rate}", p["name"]);
                assert!((f(&at_one["high"]) - estimate).abs() < 1e-9, "{}: {rate}", p["name"]);
                checked += 1;
            }
            for pair in bounds.windows(2) {
                assert!(f(&pair[1][rate]["low"]) <= f(&pair[0][rate]["low"]) + 1e-12);
                assert!(f(&pair[1][rate]["high"]) >= f(&pair[0][rate]["high"]) - 1e-12);
            }
        }
    }
    assert!(checked >= 10, "{checked} estimates checked at Gamma = 1");
    // The headline comparison and one per sweep optimum with a runner-up.
    let comparisons = s["sensitivity"]["comparisons"].as_array().unwrap();
    let headline = &comparisons[0];
    assert_eq!(headline["versus"], "historical");
    assert_eq!(headline["objective"], "opportunities");
    let sweeps = s["sweeps"].as_array().unwrap();
    for sweep in sweeps {
        let optimal = &sweep["optimal"];
        assert!(optimal.get("robustness_gamma").is_some(), "{optimal}");
        for point in sweep["points"].as_array().unwrap() {
            assert_eq!(point["sensitivity"].as_array().unwrap().len(), 3);
        }
    }
    let robustness = headline["robustness_gamma"].as_f64();
    let findings = s["findings"].as_array().unwrap();
    if let Some(g) = robustness {
        assert!((1.0..=10.0).contains(&g));
        let text = format!("by more than {g:.2} times");
        assert!(findings.iter().any(|f| f.as_str().unwrap().contains(&text)), "{findings:?}");
    }
    // Per slice too.
    let slice = &s["slices"][0]["values"][0];
    assert!(slice["policies"][1]["sensitivity"].as_array().is_some_and(|b| b.len() == 3));
    assert!(slice["policies"][0]["sensitivity"].is_null());
    for file in ["charts/sensitivity.svg", "charts/sensitivity.png"] {
        assert!(folder.join(file).is_file(), "{file}");
    }
    let md = fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("## Sensitivity to hidden confounding"), "{md}");
    assert!(md.contains("![How far hidden confounding could move the opportunity rate]"));
    let html = fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(html.contains("<h2 id=\"sensitivity\">"));
}

#[test]
fn gammas_none_leaves_no_trace_and_bad_gammas_are_refused() {
    let w = Workdir::new();
    let data = generate(w.path(), "data", &[]);
    let out = w.join("reports");
    assert_ok(&report(&data, &out, &["--gammas", "none"]));
    let folder = out.join("all");
    let text = fs::read_to_string(folder.join("summary.json")).unwrap();
    assert!(!text.contains("sensitivity") && !text.contains("robustness"));
    assert!(!folder.join("charts/sensitivity.svg").exists());
    let md = fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(!md.contains("Sensitivity") && !md.contains("robustness value"));
    for bad in ["0.5", "x", "1,,2"] {
        let o = report(&data, &w.join("bad"), &["--gammas", bad]);
        assert_eq!(o.status.code(), Some(2), "--gammas {bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("--gammas"), "{}", stderr(&o));
    }
}

#[test]
fn logged_propensities_skip_the_analysis_with_the_reason() {
    let w = Workdir::new();
    let data = generate(w.path(), "data", &["--log-propensity"]);
    let out = w.join("reports");
    assert_ok(&report(&data, &out, &[]));
    let folder = out.join("all");
    let s = summary(&folder);
    let skipped = s["sensitivity"]["skipped"].as_str().expect("skipped");
    assert!(skipped.contains("handoff probabilities are logged"), "{skipped}");
    assert!(s["policies"][1]["sensitivity"].is_null());
    assert!(!folder.join("charts/sensitivity.svg").exists());
    let md = fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("No sensitivity analysis: history's handoff probabilities are logged"));
}

#[test]
fn confound_zero_is_todays_data_and_confounding_keeps_the_policies_truth() {
    let w = Workdir::new();
    // Each data set with its truth file (`<name>.json`).
    let with_truth = |name: &str, confound: Option<&str>| -> PathBuf {
        let truth = w.join(format!("{name}.json"));
        let mut args = vec!["--truth", truth.to_str().unwrap(), "--policies", POLICIES];
        if let Some(c) = confound {
            args.extend(["--confound", c]);
        }
        generate(w.path(), name, &args)
    };
    let plain = with_truth("plain", None);
    let zero = with_truth("zero", Some("0"));
    let strong = with_truth("strong", Some("1.5"));
    assert_eq!(file_tree(&plain), file_tree(&zero), "--confound 0 changes nothing");
    assert_eq!(fs::read(w.join("plain.json")).unwrap(), fs::read(w.join("zero.json")).unwrap());
    assert_ne!(file_tree(&plain), file_tree(&strong), "--confound 1.5 moves history");
    // Every policy's and sweep point's truth is the same; only history's own differs.
    let json = |name: &str| -> Value {
        serde_json::from_str(&fs::read_to_string(w.join(name)).unwrap()).unwrap()
    };
    let (a, b) = (json("plain.json"), json("strong.json"));
    let policies = |v: &Value| -> Vec<Value> {
        let all = v["policies"].as_array().unwrap();
        all.iter().filter(|p| p["name"] != "historical").cloned().collect()
    };
    assert_eq!(policies(&a), policies(&b));
    assert_eq!(a["sweeps"], b["sweeps"]);
    let bad = run(handoff().args(["generate", "--confound", "-1", "--out"]).arg(w.join("bad")));
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}
