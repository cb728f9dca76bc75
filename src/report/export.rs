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
use crate::summary::{Estimate, PolicySummary, Rate, Rates, Summary};

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
}

/// Every exporter of outputs.md, in the order they are written.
pub fn all_exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(SummaryJson),
        Box::new(PoliciesCsv),
        Box::new(SweepsCsv),
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
pub struct RejectedCsv;
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
