//! Routed policies (policies.md, "Routed policies") through the real binary: a routed policy
//! takes, per conversation, the decisions of the policy its segment routes to (checked row by
//! row in `decisions.parquet`), is reported in the file's order among the named policies and
//! per slice, works in `handoff brief`, and its errors exit 2.

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::{ParquetReader, SerReader};
use serde_json::Value;

use crate::harness::*;

const ROUTED_POLICIES: &str = r#"
[[policy]]
name = "framework"
hand_off_on = ["human_request", "high_intent", "complex_discovery",
               "multiple_stakeholders", "enterprise", "sensitive", "repeated_objection"]
unless = ["qualification_incomplete", "scheduling", "simple_question"]

[[policy]]
name = "by-segment"
route_by = "segment"
[policy.route]
" Enterprise " = "framework"
smb = "late"
"*" = "early"

[[policy]]
name = "early"
hand_off_on = ["human_request", "high_intent"]

[[policy]]
name = "late"
hand_off_on = ["high_intent"]
delay = 2

[[sweep]]
policy = "late"
parameter = "delay"
values = [0, 1]
"#;

fn setup(w: &Workdir) -> (PathBuf, PathBuf) {
    let data = w.join("data");
    assert_ok(&run(handoff()
        .args(["generate", "--conversations", "600", "--seed", "5", "--out"])
        .arg(&data)));
    let policies = w.write("policies.toml", ROUTED_POLICIES.as_bytes());
    (data, policies)
}

/// Conversation id to segment, from the generated conversations table.
fn segments(data: &Path) -> BTreeMap<String, String> {
    let mut reader = csv::Reader::from_path(data.join("conversations.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let id = header.iter().position(|h| h == "conversation_id").unwrap();
    let seg = header.iter().position(|h| h == "segment").unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[id].to_string(), r[seg].trim().to_lowercase())
        })
        .collect()
}

type Row = (Option<i64>, Option<String>, Option<i64>);

/// (conversation, policy) to (handoff_turn, situation, decision_point).
fn decisions(path: &Path) -> BTreeMap<(String, String), Row> {
    let df = ParquetReader::new(Cursor::new(fs::read(path).unwrap())).finish().unwrap();
    let col = |n: &str| df.column(n).unwrap().as_materialized_series().clone();
    let (ids, policies) = (col("conversation_id"), col("policy"));
    let (turns, situations, points) =
        (col("handoff_turn"), col("situation"), col("decision_point"));
    let (ids, policies) = (ids.str().unwrap(), policies.str().unwrap());
    let turns = turns.cast(&polars::prelude::DataType::Int64).unwrap();
    let points = points.cast(&polars::prelude::DataType::Int64).unwrap();
    let (turns, points, situations) =
        (turns.i64().unwrap(), points.i64().unwrap(), situations.str().unwrap());
    (0..df.height())
        .map(|i| {
            let key = (ids.get(i).unwrap().to_string(), policies.get(i).unwrap().to_string());
            (key, (turns.get(i), situations.get(i).map(str::to_string), points.get(i)))
        })
        .collect()
}

fn target(segment: &str) -> &'static str {
    match segment {
        "enterprise" => "framework",
        "smb" => "late",
        _ => "early",
    }
}

#[test]
fn a_routed_policy_takes_its_segments_policy_and_is_reported_in_file_order() {
    let w = Workdir::new();
    let (data, policies) = setup(&w);
    let out = w.join("reports");
    let o = run(handoff()
        .arg("report")
        .arg("--data")
        .arg(&data)
        .arg("--policies")
        .arg(&policies)
        .arg("--out")
        .arg(&out)
        .args(["--bootstrap", "30", "--by", "segment"]));
    assert_ok(&o);
    let folder = out.join("all");
    let segments = segments(&data);
    let rows = decisions(&folder.join("decisions.parquet"));
    let mut routed = 0;
    let mut seen = std::collections::BTreeSet::new();
    for ((id, policy), row) in &rows {
        if policy != "by-segment" {
            continue;
        }
        routed += 1;
        let segment = &segments[id];
        seen.insert(target(segment));
        let expected = &rows[&(id.clone(), target(segment).to_string())];
        assert_eq!(row, expected, "{id} ({segment}) takes {}'s decision", target(segment));
    }
    assert_eq!(routed, segments.len(), "one row per conversation");
    assert_eq!(seen.len(), 3, "every route is taken: {seen:?}");

    let s: Value =
        serde_json::from_str(&fs::read_to_string(folder.join("summary.json")).unwrap()).unwrap();
    let names: Vec<&str> =
        s["policies"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["historical", "framework", "by-segment", "early", "late"]);
    // The variants follow the named policies in policies.csv.
    let csv = fs::read_to_string(folder.join("policies.csv")).unwrap();
    let rows: Vec<&str> =
        csv.lines().skip(1).map(|l| l.split(',').next().unwrap_or_default()).collect();
    assert_eq!(
        rows,
        ["historical", "framework", "by-segment", "early", "late", "late@delay=0", "late@delay=1"]
    );
    let routed_summary = &s["policies"][2];
    assert_eq!(routed_summary["kind"], "policy");
    assert!(routed_summary["quality_score"]["estimate"].is_number(), "{routed_summary}");
    // Per slice, the routed policy's exact figures are its target's.
    for slice in s["slices"][0]["values"].as_array().unwrap() {
        let value = slice["value"].as_str().unwrap();
        let by_name = |n: &str| {
            slice["policies"].as_array().unwrap().iter().find(|p| p["name"] == n).unwrap().clone()
        };
        let (r, t) = (by_name("by-segment"), by_name(target(value)));
        for key in ["handoffs", "quality_score", "premature_handoffs", "late_handoffs"] {
            assert_eq!(r[key], t[key], "{value}: {key}");
        }
    }
    let md = fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("by-segment"), "{md}");

    // `handoff replay` lists it too, with the same decisions.
    let table = w.join("decisions.csv");
    assert_ok(&run(handoff()
        .arg("replay")
        .arg("--data")
        .arg(&data)
        .arg("--policies")
        .arg(&policies)
        .arg("--out")
        .arg(&table)));
    let text = fs::read_to_string(&table).unwrap();
    assert_eq!(text.lines().filter(|l| l.contains(",by-segment,")).count(), segments.len());

    // The brief of a routed policy hands off where its segment's policy does.
    let brief = |id: &str, policy: &str| -> Value {
        let o = run(handoff()
            .arg("brief")
            .arg("--data")
            .arg(&data)
            .arg("--policies")
            .arg(&policies)
            .args(["--quiet", "--json", "--conversation", id, "--policy", policy]));
        assert_ok(&o);
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    for wanted in ["enterprise", "smb", "mid_market"] {
        let (id, _) = segments.iter().find(|(_, s)| s.as_str() == wanted).unwrap();
        let routed = brief(id, "by-segment");
        let plain = brief(id, target(wanted));
        assert_eq!(routed["policy"], "by-segment");
        assert_eq!(routed["handoff_turn"], plain["handoff_turn"], "{id} ({wanted})");
        assert_eq!(routed["transcript"], plain["transcript"]);
    }
}

#[test]
fn routed_policy_errors_exit_2() {
    let w = Workdir::new();
    let (data, _) = setup(&w);
    let replay = |text: &str| {
        let policies = w.write("bad.toml", text.as_bytes());
        run(handoff()
            .arg("replay")
            .arg("--data")
            .arg(&data)
            .arg("--policies")
            .arg(&policies)
            .arg("--out")
            .arg(w.join("d.csv")))
    };
    let o = replay(&ROUTED_POLICIES.replace("route_by = \"segment\"", "route_by = \"region\""));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("policy `by-segment`: route_by region"), "{e}");
    assert!(e.contains("no column region") && e.contains("segment, employee_count"), "{e}");

    let o = replay(&ROUTED_POLICIES.replace("smb = \"late\"", "smb = \"later\""));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("line 13: policy.route.smb: no policy named `later`"), "{e}");

    let o = replay(&ROUTED_POLICIES.replace("policy = \"late\"", "policy = \"by-segment\""));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("sweep.policy: `by-segment` is a routed policy"), "{}", stderr(&o));
}
