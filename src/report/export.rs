//! Exporters: one per file of the report folder, behind one trait, all reading the same
//! `ReportData` (`crate::report`). Each returns the file's bytes; `folder` decides where they
//! go. Every file but `run.json` is a function of the data alone, so identical runs give
//! identical bytes.

use anyhow::Context;
use polars::prelude::{Column, CsvWriter, DataFrame, PolarsResult, SerWriter};

use crate::replay::Timing;
use crate::report::decisions::write_parquet;
use crate::report::history::estimate_columns;
use crate::report::page;
use crate::report::ReportData;
use crate::summary::{Estimate, PolicySummary, Rate, Rates, SliceCut, Summary};

/// One file of the report folder.
pub trait Exporter: Send + Sync {
    /// The file's name inside the folder.
    fn file_name(&self) -> &str;
    /// The file's bytes.
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>>;
    /// Whether the file may be rendered while the charts are drawn: its bytes read neither
    /// `data.charts` nor the clock. Otherwise it is rendered after the charts, in list order.
    fn concurrent_with_charts(&self) -> bool {
        false
    }
    /// Whether the folder has this file for `data` at all. Every file always does but
    /// `slices.csv`, which exists only with `--by` (without it, the folder is what it was
    /// before slices, file for file).
    fn applies(&self, _data: &ReportData) -> bool {
        true
    }
}

/// Every exporter of outputs.md, in the order they are written.
pub fn all_exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(SummaryJson),
        Box::new(PoliciesCsv),
        Box::new(SweepsCsv),
        Box::new(SlicesCsv),
        Box::new(SearchJson),
        Box::new(SearchCsv),
        Box::new(RecommendedToml),
        Box::new(RejectedCsv),
        Box::new(DecisionsParquet),
        Box::new(ReportMarkdown),
        Box::new(ReportHtml),
        Box::new(RunJson),
    ]
}

pub struct SummaryJson;
pub struct PoliciesCsv;
pub struct SweepsCsv;
pub struct SlicesCsv;
pub struct RejectedCsv;
pub struct SearchJson;
pub struct SearchCsv;
pub struct RecommendedToml;
pub struct DecisionsParquet;
pub struct ReportMarkdown;
pub struct ReportHtml;
pub struct RunJson;

impl Exporter for SummaryJson {
    fn file_name(&self) -> &str {
        "summary.json"
    }
    fn concurrent_with_charts(&self) -> bool {
        true
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        // serde_json keeps the structs' field order and writes floats with ryu (shortest
        // round-trip form), so the bytes depend on the values only.
        let mut bytes =
            serde_json::to_vec_pretty(&data.summary).context("encoding summary.json")?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

impl Exporter for PoliciesCsv {
    fn file_name(&self) -> &str {
        "policies.csv"
    }
    fn concurrent_with_charts(&self) -> bool {
        true
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        let rows: Vec<&PolicySummary> =
            data.summary.policies.iter().chain(&data.summary.variants).collect();
        csv_bytes(policies_frame(&rows)?).context("encoding policies.csv")
    }
}

impl Exporter for SweepsCsv {
    fn file_name(&self) -> &str {
        "sweeps.csv"
    }
    fn concurrent_with_charts(&self) -> bool {
        true
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        csv_bytes(sweeps_frame(&data.summary)?).context("encoding sweeps.csv")
    }
}

impl Exporter for SlicesCsv {
    fn file_name(&self) -> &str {
        "slices.csv"
    }
    fn concurrent_with_charts(&self) -> bool {
        true
    }
    fn applies(&self, data: &ReportData) -> bool {
        !data.summary.slices.is_empty()
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        csv_bytes(slices_frame(&data.summary.slices)?).context("encoding slices.csv")
    }
}

impl Exporter for SearchJson {
    fn file_name(&self) -> &str {
        "search.json"
    }
    fn concurrent_with_charts(&self) -> bool {
        true
    }
    fn applies(&self, data: &ReportData) -> bool {
        !data.summary.searches.is_empty()
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        crate::report::search::search_json(&data.summary.searches)
    }
}

impl Exporter for SearchCsv {
    fn file_name(&self) -> &str {
        "search.csv"
    }
    fn concurrent_with_charts(&self) -> bool {
        true
    }
    fn applies(&self, data: &ReportData) -> bool {
        !data.summary.searches.is_empty()
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        csv_bytes(crate::report::search::search_frame(&data.summary.searches)?)
            .context("encoding search.csv")
    }
}

impl Exporter for RecommendedToml {
    fn file_name(&self) -> &str {
        "recommended.toml"
    }
    fn concurrent_with_charts(&self) -> bool {
        true
    }
    fn applies(&self, data: &ReportData) -> bool {
        !data.summary.searches.is_empty()
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        Ok(crate::report::search::recommended_toml(&data.summary.searches, &data.recommended)
            .into_bytes())
    }
}

impl Exporter for RejectedCsv {
    fn file_name(&self) -> &str {
        "rejected.csv"
    }
    fn concurrent_with_charts(&self) -> bool {
        true
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        let r = &data.rejections;
        let df = DataFrame::new_infer_height(vec![
            Column::new("file".into(), r.iter().map(|x| x.file.as_str()).collect::<Vec<_>>()),
            Column::new("row".into(), r.iter().map(|x| x.row).collect::<Vec<Option<u64>>>()),
            Column::new(
                "column".into(),
                r.iter().map(|x| x.column.as_deref()).collect::<Vec<Option<&str>>>(),
            ),
            Column::new(
                "conversation_id".into(),
                r.iter().map(|x| x.conversation_id.as_deref()).collect::<Vec<Option<&str>>>(),
            ),
            Column::new("reason".into(), r.iter().map(|x| x.reason.as_str()).collect::<Vec<_>>()),
        ])?;
        csv_bytes(df).context("encoding rejected.csv")
    }
}

impl Exporter for DecisionsParquet {
    fn file_name(&self) -> &str {
        "decisions.parquet"
    }
    fn concurrent_with_charts(&self) -> bool {
        true
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        let mut buf = Vec::new();
        write_parquet(&data.decisions, &mut buf).context("encoding decisions.parquet")?;
        Ok(buf)
    }
}

impl Exporter for ReportMarkdown {
    fn file_name(&self) -> &str {
        "report.md"
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        Ok(page::render_markdown(data)?.into_bytes())
    }
}

impl Exporter for ReportHtml {
    fn file_name(&self) -> &str {
        "report.html"
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        Ok(page::render_html(data)?.into_bytes())
    }
}

impl Exporter for RunJson {
    fn file_name(&self) -> &str {
        "run.json"
    }
    fn render(&self, data: &ReportData) -> anyhow::Result<Vec<u8>> {
        let mut run = data.run.clone();
        if run.finished_at.is_empty() {
            let now = chrono::Utc::now();
            run.finished_at = crate::time::rfc3339_millis(now);
            if let Ok(start) = chrono::DateTime::parse_from_rfc3339(&run.started_at) {
                let micros = (now - start.with_timezone(&chrono::Utc)).num_microseconds();
                run.duration_seconds = micros.unwrap_or(0) as f64 / 1e6;
            }
        }
        let mut bytes = serde_json::to_vec_pretty(&run).context("encoding run.json")?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// CSV with a header, `\n` line ends, empty cells for nulls, floats in shortest form.
fn csv_bytes(mut df: DataFrame) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).include_header(true).finish(&mut df)?;
    Ok(buf)
}

fn policies_frame(rows: &[&PolicySummary]) -> PolarsResult<DataFrame> {
    let text = |name: &str, f: &dyn Fn(&PolicySummary) -> String| {
        Column::new(name.into(), rows.iter().map(|p| f(p)).collect::<Vec<String>>())
    };
    let count = |name: &str, f: &dyn Fn(&PolicySummary) -> u64| {
        Column::new(name.into(), rows.iter().map(|p| f(p)).collect::<Vec<u64>>())
    };
    let opt = |name: &str, f: &dyn Fn(&PolicySummary) -> Option<f64>| {
        Column::new(name.into(), rows.iter().map(|p| f(p)).collect::<Vec<Option<f64>>>())
    };
    let est = |name: &str, f: &dyn Fn(&PolicySummary) -> Estimate| {
        estimate_columns(name, &rows.iter().map(|p| f(p)).collect::<Vec<_>>())
    };
    let mut columns = vec![
        text("name", &|p| p.name.clone()),
        text("kind", &|p| p.kind.name().to_string()),
        count("conversations", &|p| p.conversations),
        count("handoffs", &|p| p.handoffs),
    ];
    columns.extend(rates_columns(&rows.iter().map(|p| &p.rates).collect::<Vec<_>>()));
    columns.extend(est("quality_score", &|p| p.quality_score));
    columns.extend([
        count("premature_handoffs", &|p| p.premature_handoffs),
        count("late_handoffs", &|p| p.late_handoffs),
        count("missed_human_requests", &|p| p.missed_human_requests),
        opt("median_handoff_turn", &|p| p.median_handoff_turn),
        opt("matched_share", &|p| p.matched_share),
        opt("effective_sample_size", &|p| p.effective_sample_size),
    ]);
    for timing in Timing::ALL {
        let key = timing.name();
        columns.push(count(&format!("timing_{key}"), &|p| p.timing.get(key).copied().unwrap_or(0)));
    }
    columns.extend([
        opt("context_transferred", &|p| p.context_transferred),
        opt("mean_rep_rating", &|p| p.mean_rep_rating),
        text("warnings", &|p| p.warnings.join(" | ")),
    ]);
    DataFrame::new_infer_height(columns)
}

/// `slices.csv`: one row per cut, slice and policy, sweep variants included (named policies
/// first, as in `policies.csv`): `by`, `value`, then exactly `policies.csv`'s columns.
fn slices_frame(cuts: &[SliceCut]) -> PolarsResult<DataFrame> {
    let rows: Vec<(&str, &str, &PolicySummary)> = cuts
        .iter()
        .flat_map(|cut| {
            cut.values.iter().flat_map(move |slice| {
                let key = (cut.by.as_str(), slice.value.as_str());
                slice.policies.iter().chain(&slice.variants).map(move |p| (key.0, key.1, p))
            })
        })
        .collect();
    let policies: Vec<&PolicySummary> = rows.iter().map(|(_, _, p)| *p).collect();
    let mut df = policies_frame(&policies)?;
    df.insert_column(0, Column::new("by".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()))?;
    df.insert_column(1, Column::new("value".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()))?;
    Ok(df)
}

/// The rate columns shared by `policies.csv` and `sweeps.csv`: `handoff_rate`, then each of
/// `Rate::ALL` as `<rate>`, `<rate>_low`, `<rate>_high`.
fn rates_columns(rates: &[&Rates<Estimate>]) -> Vec<Column> {
    let mut columns = vec![Column::new(
        "handoff_rate".into(),
        rates.iter().map(|r| r.handoff_rate).collect::<Vec<_>>(),
    )];
    for rate in Rate::ALL {
        let values: Vec<Estimate> = rates.iter().map(|r| r.get(rate)).collect();
        columns.extend(estimate_columns(rate.name(), &values));
    }
    columns
}

fn sweeps_frame(summary: &Summary) -> PolarsResult<DataFrame> {
    struct Row<'a> {
        policy: &'a str,
        parameter: &'a str,
        objective: &'a str,
        point: &'a crate::summary::SweepPoint,
        is_optimal: bool,
    }
    let rows: Vec<Row> = summary
        .sweeps
        .iter()
        .flat_map(|s| {
            s.points.iter().map(move |p| Row {
                policy: &s.policy,
                parameter: &s.parameter,
                objective: &s.objective,
                point: p,
                is_optimal: s.optimal.as_ref().is_some_and(|o| o.variant == p.variant),
            })
        })
        .collect();
    let est = |name: &str, f: &dyn Fn(&Row) -> Estimate| {
        estimate_columns(name, &rows.iter().map(f).collect::<Vec<_>>())
    };
    let mut columns = vec![
        Column::new("policy".into(), rows.iter().map(|r| r.policy).collect::<Vec<_>>()),
        Column::new("parameter".into(), rows.iter().map(|r| r.parameter).collect::<Vec<_>>()),
        Column::new("value".into(), rows.iter().map(|r| r.point.value).collect::<Vec<_>>()),
        Column::new(
            "variant".into(),
            rows.iter().map(|r| r.point.variant.as_str()).collect::<Vec<_>>(),
        ),
        Column::new("objective".into(), rows.iter().map(|r| r.objective).collect::<Vec<_>>()),
    ];
    columns.extend(est("net_objective_per_100", &|r| r.point.net_objective_per_100));
    columns.extend(rates_columns(&rows.iter().map(|r| &r.point.rates).collect::<Vec<_>>()));
    columns.push(Column::new(
        "is_optimal".into(),
        rows.iter().map(|r| r.is_optimal).collect::<Vec<_>>(),
    ));
    DataFrame::new_infer_height(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::slices::fixture::cuts;
    use crate::summary::{PolicyKind, SweepSummary};

    fn policy(name: &str, kind: PolicyKind) -> PolicySummary {
        PolicySummary {
            name: name.into(),
            kind,
            conversations: 2000,
            handoffs: 800,
            rates: Rates {
                handoff_rate: 0.4,
                meeting_rate: Estimate::new(0.2, 0.18, 0.22),
                opportunity_rate: Estimate::new(0.1, 0.09, 0.11),
                handoff_to_meeting: Estimate::new(0.5, 0.45, 0.55),
                handoff_to_opportunity: Estimate::NULL,
                pipeline_per_conversation: Estimate::new(1500.0, 1400.0, 1600.0),
            },
            quality_score: Estimate::new(0.7, 0.65, 0.75),
            median_handoff_turn: Some(4.0),
            matched_share: Some(0.6),
            timing: [("same".to_string(), 1200)].into(),
            ..PolicySummary::default()
        }
    }

    /// Historical, one policy and one sweep variant, cut by segment (2 slices, one thin) and by
    /// a one-valued `ai_agent`.
    fn sliced() -> ReportData {
        let mut summary = Summary {
            policies: vec![
                policy("historical", PolicyKind::Historical),
                policy("framework", PolicyKind::Policy),
            ],
            variants: vec![policy("framework@threshold=0.5", PolicyKind::Variant)],
            sweeps: vec![SweepSummary::default()],
            ..Summary::default()
        };
        summary.slices = cuts(
            &summary,
            &[("segment", &["enterprise", "smb"][..]), ("ai_agent", &["sdr-beacon"][..])],
        );
        ReportData { summary, ..ReportData::default() }
    }

    #[test]
    fn slices_csv_snapshot() {
        let bytes = SlicesCsv.render(&sliced()).unwrap();
        insta::assert_snapshot!(String::from_utf8(bytes).unwrap());
    }

    #[test]
    fn slices_csv_is_by_value_then_exactly_the_policies_columns() {
        let data = sliced();
        let slices = String::from_utf8(SlicesCsv.render(&data).unwrap()).unwrap();
        let policies = String::from_utf8(PoliciesCsv.render(&data).unwrap()).unwrap();
        let header = |csv: &str| csv.lines().next().unwrap_or_default().to_string();
        assert_eq!(header(&slices), format!("by,value,{}", header(&policies)));
        // 3 slices x (2 named policies + 1 variant).
        assert_eq!(slices.lines().count(), 1 + 3 * 3);
        assert!(slices
            .lines()
            .nth(3)
            .unwrap()
            .starts_with("segment,enterprise,framework@threshold=0.5,variant,"));
    }

    #[test]
    fn slices_csv_exists_only_with_slices() {
        let mut data = sliced();
        assert!(SlicesCsv.applies(&data));
        data.summary.slices.clear();
        assert!(!SlicesCsv.applies(&data));
        // Every other file is always there, but the searches' (only with `[[search]]`).
        let optional = ["slices.csv", "search.json", "search.csv", "recommended.toml"];
        assert!(all_exporters()
            .iter()
            .filter(|e| !optional.contains(&e.file_name()))
            .all(|e| e.applies(&data)));
        assert!(!SearchJson.applies(&data) && !SearchCsv.applies(&data));
    }

    #[test]
    fn summary_json_has_slices_in_the_spec_shape_and_none_without() {
        let mut data = sliced();
        let json: serde_json::Value =
            serde_json::from_slice(&SummaryJson.render(&data).unwrap()).unwrap();
        let cut = &json["slices"][0];
        assert_eq!(cut["by"], "segment");
        assert_eq!(cut["min_slice"], 200);
        let slice = &cut["values"][0];
        // (serde_json's map sorts the keys; the file keeps the struct's order.)
        let keys: Vec<&str> = slice.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["conversations", "policies", "sweeps", "value", "warnings"]);
        assert_eq!(slice["value"], "enterprise");
        assert_eq!(slice["conversations"], 2012);
        // `policies` and `sweeps` have exactly the top level's shape, historical first.
        let shape = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(shape(&slice["policies"][0]), shape(&json["policies"][0]));
        assert_eq!(slice["policies"][0]["name"], "historical");
        assert_eq!(slice["policies"].as_array().unwrap().len(), 2, "no sweep variants");
        assert_eq!(shape(&slice["sweeps"][0]), shape(&json["sweeps"][0]));
        data.summary.slices.clear();
        let plain = String::from_utf8(SummaryJson.render(&data).unwrap()).unwrap();
        assert!(!plain.contains("\"slices\""), "absent without --by");
    }
}
