//! Policy searches (search.md) through the real binary: the report's search files and its
//! Recommendation section, `recommended.toml` read back by `handoff report`, `handoff
//! optimize`'s table and files, and the family-size limit.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use crate::harness::*;

const SEARCH_POLICIES: &str = r#"
[[policy]]
name = "framework"
hand_off_on = ["human_request", "high_intent", "complex_discovery", "sensitive"]
unless = ["qualification_incomplete", "scheduling"]
min_qualified = 3

[[policy]]
name = "early"
hand_off_on = ["human_request", "high_intent"]

[[search]]
name = "fs"
policy = "framework"
handoff_cost = 0.05
hand_off_on = "subsets"
unless = [[], ["scheduling"], ["qualification_incomplete", "scheduling"]]
min_qualified = [2, 3]
delay = [0, 1]
"#;

/// 1 + 15 subsets x 3 guard sets x 2 x 2.
const FAMILY: u64 = 181;

fn setup(w: &Workdir) -> (PathBuf, PathBuf) {
    let data = w.join("data");
    assert_ok(&run(handoff()
        .args(["generate", "--conversations", "1500", "--seed", "7", "--out"])
        .arg(&data)));
    let policies = w.write("policies.toml", SEARCH_POLICIES.as_bytes());
    (data, policies)
}

fn report(data: &PathBuf, policies: &PathBuf, out: &PathBuf) -> std::process::Output {
    run(handoff()
        .arg("report")
        .arg("--data")
        .arg(data)
        .arg("--policies")
        .arg(policies)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--bootstrap", "20"]))
}

/// `handoff optimize` on `data` with `policies`, writing `target` (and its `.json`).
fn optimize(
    data: &PathBuf,
    policies: &PathBuf,
    target: &PathBuf,
    extra: &[&str],
) -> std::process::Output {
    run(handoff()
        .arg("optimize")
        .arg("--data")
        .arg(data)
        .arg("--policies")
        .arg(policies)
        .arg("--out")
        .arg(target)
        .args(["--quiet", "--bootstrap", "20"])
        .args(extra))
}

#[test]
fn a_report_with_a_search_recommends_and_writes_its_files() {
    let w = Workdir::new();
    let (data, policies) = setup(&w);
    let out = w.join("reports");
    assert_ok(&report(&data, &policies, &out));
    let folder = out.join("all");
    for file in [
        "search.json",
        "search.csv",
        "recommended.toml",
        "charts/search-fs.svg",
        "charts/search-fs.png",
    ] {
        assert!(folder.join(file).is_file(), "{file} missing");
    }
    let json: Value =
        serde_json::from_slice(&fs::read(folder.join("search.json")).unwrap()).unwrap();
    let s = &json["searches"][0];
    assert_eq!(s["name"], "fs");
    assert_eq!(s["candidates"].as_u64(), Some(FAMILY));
    let distinct = s["distinct"].as_u64().unwrap();
    // With no qualification guard, min_qualified changes nothing: duplicates are merged.
    assert!(distinct < FAMILY && distinct > 10, "distinct {distinct}");
    assert_eq!(s["varied"], serde_json::json!(["hand_off_on", "unless", "min_qualified", "delay"]));
    let honest = &s["honest"];
    assert_eq!(honest["folds"].as_u64(), Some(5));
    let v = &honest["net_objective_per_100"];
    assert!(v["low"].as_f64().unwrap() <= v["estimate"].as_f64().unwrap());
    assert!(v["estimate"].as_f64().unwrap() <= v["high"].as_f64().unwrap());
    assert!(honest["versus_historical"]["estimate"].is_number());
    assert!(s["recommended"]["name"].as_str().unwrap().starts_with("fs#"));
    // The keys keep the block's order, integers as integers.
    let top = &s["top"][0]["keys"];
    let keys: Vec<&String> = top.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4);
    assert!(top["delay"].is_u64(), "{top}");

    let csv_text = fs::read_to_string(folder.join("search.csv")).unwrap();
    assert!(csv_text.starts_with("search,name,hand_off_on,unless,min_qualified,delay,"));
    assert_eq!(csv_text.lines().count() as u64, FAMILY + 1);

    let md = fs::read_to_string(folder.join("report.md")).unwrap();
    let rec = md.find("## Recommendation").expect("a Recommendation section");
    assert!(rec < md.find("## Findings").unwrap_or(usize::MAX), "Recommendation comes first");
    assert!(md.contains("honestly achieve"));
    let html = fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(html.contains("<h2>Recommendation</h2>"));

    // sensitivity.md: the recommendation against history is one of the comparisons.
    let summary: Value =
        serde_json::from_slice(&fs::read(folder.join("summary.json")).unwrap()).unwrap();
    let comparisons = summary["sensitivity"]["comparisons"].as_array().expect("comparisons");
    let rec = s["recommended"]["name"].as_str().unwrap();
    let c = comparisons.iter().find(|c| c["policy"] == rec).expect("the recommendation's");
    assert_eq!(c["versus"], "historical");
    assert_eq!(c["objective"], "opportunities");
}

#[test]
fn recommended_toml_is_read_back_by_report() {
    let w = Workdir::new();
    let (data, policies) = setup(&w);
    let out = w.join("reports");
    assert_ok(&report(&data, &policies, &out));
    let recommended = out.join("all").join("recommended.toml");
    let text = fs::read_to_string(&recommended).unwrap();
    assert!(text.contains("name = \"recommended\""), "{text}");
    assert!(text.lines().any(|l| l.starts_with("# Evaluate it every week: handoff report")));
    let again = w.join("again");
    assert_ok(&report(&data, &recommended, &again));
    let summary: Value =
        serde_json::from_slice(&fs::read(again.join("all").join("summary.json")).unwrap()).unwrap();
    let names: Vec<&str> =
        summary["policies"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["historical", "recommended", "framework", "early"]);
    // Read back, the file has no search: the folder has no search files.
    assert!(!again.join("all").join("search.json").exists());
}

#[test]
fn optimize_prints_the_table_and_writes_what_the_report_writes() {
    let w = Workdir::new();
    let (data, policies) = setup(&w);
    let out = w.join("reports");
    assert_ok(&report(&data, &policies, &out));
    let target = w.join("rec.toml");
    let o = optimize(&data, &policies, &target, &["--top", "3"]);
    assert_ok(&o);
    let text = stdout(&o);
    assert!(text.contains("search fs (base framework"), "{text}");
    assert!(text.contains("honest value of searching (cross-fitted, 5 folds)"), "{text}");
    assert!(text.contains("versus historical"), "{text}");
    let rows = text.lines().filter(|l| l.trim_start().starts_with("fs#")).count();
    assert_eq!(rows, 3, "{text}");
    // The same searches as the report's, byte for byte.
    let json = fs::read(w.join("rec.json")).unwrap();
    assert_eq!(json, fs::read(out.join("all").join("search.json")).unwrap());
    assert!(fs::read_to_string(&target).unwrap().contains("name = \"recommended\""));
}

#[test]
fn a_family_over_max_candidates_is_refused_before_reading_data() {
    let w = Workdir::new();
    let policies = w.write("policies.toml", SEARCH_POLICIES.as_bytes());
    let o = run(handoff()
        .arg("report")
        .args(["--data", "/nonexistent/folder", "--max-candidates", "100", "--policies"])
        .arg(&policies));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("line 12") && err.contains("search `fs`"), "{err}");
    assert!(err.contains(&format!("{FAMILY} candidates")), "{err}");
    let o = run(handoff()
        .arg("optimize")
        .args(["--data", "/nonexistent/folder", "--search", "nope", "--policies"])
        .arg(&policies));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no search named `nope`"), "{}", stderr(&o));
    let plain =
        w.write("plain.toml", b"[[policy]]\nname = \"a\"\nhand_off_on = [\"high_intent\"]\n");
    let o = run(handoff()
        .arg("optimize")
        .args(["--data", "/nonexistent/folder", "--policies"])
        .arg(&plain));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("has no [[search]] block"), "{}", stderr(&o));
}

#[test]
fn optimize_by_a_column_gives_each_slice_a_winner_and_says_whether_routing_pays() {
    let w = Workdir::new();
    let (data, policies) = setup(&w);
    let target = w.join("rec.toml");
    let optimize = |extra: &[&str]| optimize(&data, &policies, &target, extra);
    let o = optimize(&["--by", "segment", "--min-slice", "300"]);
    assert_ok(&o);
    let text = stdout(&o);
    assert!(text.contains("  per segment:"), "{text}");
    assert!(text.contains("versus the single policy"), "{text}");
    let json: Value = serde_json::from_slice(&fs::read(w.join("rec.json")).unwrap()).unwrap();
    let routed = &json["searches"][0]["routed"][0];
    assert_eq!(routed["by"], "segment");
    let slices = routed["slices"].as_array().unwrap();
    let values: Vec<&str> = slices.iter().map(|s| s["value"].as_str().unwrap()).collect();
    assert!(values.contains(&"smb") && values.contains(&"enterprise"), "{values:?}");
    let total: u64 = slices.iter().map(|s| s["conversations"].as_u64().unwrap()).sum();
    assert_eq!(total, 1500);
    for s in slices {
        // A slice under --min-slice takes the single recommendation ("*").
        let small = s["conversations"].as_u64().unwrap() < 300;
        if small {
            assert_eq!(s["own_winner"], false, "{s}");
            assert_eq!(s["routed_to"], json["searches"][0]["recommended"]["name"], "{s}");
        }
        assert!(s["routed_to"].as_str().unwrap().starts_with("fs#"));
        assert_eq!(s["fold_choices"].as_array().unwrap().len(), 5);
    }
    let verdict = routed["verdict"].as_str().unwrap();
    let recommended = routed["recommended"].as_bool().unwrap();
    assert_eq!(verdict.starts_with("A policy per segment is recommended"), recommended);
    assert_eq!(verdict.contains("does not support a policy per segment"), !recommended);
    let d = &routed["honest"]["versus_single"];
    assert!(d["low"].as_f64().unwrap() <= d["high"].as_f64().unwrap());
    // The recommended.toml routes only when routing is recommended; either way it is read back.
    let toml = fs::read_to_string(&target).unwrap();
    assert_eq!(toml.contains("route_by = \"segment\""), recommended, "{toml}");

    // Without --by, no routed member at all (the file is as before).
    assert_ok(&optimize(&[]));
    let json: Value = serde_json::from_slice(&fs::read(w.join("rec.json")).unwrap()).unwrap();
    assert!(json["searches"][0].get("routed").is_none());

    // A column the conversations table lacks: a usage error naming the columns that exist.
    let o = optimize(&["--by", "region"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("segment"), "{}", stderr(&o));
}

/// A relative `detector_model` names a file beside the policies file; `recommended.toml`,
/// written elsewhere, names the same file, so it reads back from its own folder.
#[test]
fn recommended_toml_keeps_a_relative_detector_model_readable() {
    let w = Workdir::new();
    let (data, _) = setup(&w);
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/detector/model.bin");
    fs::create_dir_all(w.join("conf")).unwrap();
    fs::copy(&model, w.join("conf/m.bin")).unwrap();
    let text = format!("detector_model = \"m.bin\"\n{SEARCH_POLICIES}");
    let policies = w.write("conf/policies.toml", text.as_bytes());
    let out = w.join("reports");
    assert_ok(&report(&data, &policies, &out));
    let recommended = out.join("all").join("recommended.toml");
    let written = fs::read_to_string(&recommended).unwrap();
    let line = written.lines().find(|l| l.starts_with("detector_model = ")).expect("carried");
    assert!(line.contains("conf/m.bin") && line.contains(&*w.path().to_string_lossy()), "{line}");
    assert_ok(&report(&data, &recommended, &w.join("again")));
}
