//! `<out>/history.parquet`: one row per ISO-week window and policy, so charts can show the
//! week-over-week trend. Rerunning a window replaces its rows (a week is never counted twice);
//! only ISO-week windows enter it. Rows are kept sorted by window, then policy order.

use std::io::Cursor;
use std::path::Path;

use anyhow::Context;
use polars::prelude::{
    Column, DataFrame, DataType, ParquetReader, ParquetWriter, PolarsResult, SerReader,
};
use serde::{Deserialize, Serialize};

use crate::summary::{Estimate, Rate, Rates, Summary};
use crate::window::Window;

/// One policy's headline figures in one ISO-week window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub window: String,
    pub since: String,
    pub until: String,
    pub policy: String,
    pub handoffs: u64,
    /// Pipeline per conversation is not kept in the trend (`TREND_RATES`): it stays null.
    #[serde(flatten)]
    pub rates: Rates<Estimate>,
    pub quality_score: Option<f64>,
}

/// The file name under the reports root.
pub const HISTORY_FILE: &str = "history.parquet";

/// The interval figures the trend keeps, in column order.
const TREND_RATES: [Rate; 4] =
    [Rate::Meeting, Rate::Opportunity, Rate::HandoffToMeeting, Rate::HandoffToOpportunity];

/// The rows a report contributes: one per named policy (not sweep variants); none unless the
/// window is an ISO week.
pub fn rows_from_summary(window: &Window, summary: &Summary) -> Vec<HistoryRow> {
    if !window.is_iso_week {
        return Vec::new();
    }
    let info = window.info();
    summary
        .policies
        .iter()
        .map(|p| HistoryRow {
            window: info.label.clone(),
            since: info.since.clone().unwrap_or_default(),
            until: info.until.clone().unwrap_or_default(),
            policy: p.name.clone(),
            handoffs: p.handoffs,
            rates: Rates { pipeline_per_conversation: Estimate::NULL, ..p.rates },
            quality_score: p.quality_score.estimate,
        })
        .collect()
}

/// Replaces `existing`'s rows of the windows in `new` by `new`. Windows sort by label (ISO
/// labels sort chronologically); within a window the rows keep the order the report gave them
/// (historical first, then the policies file's order).
pub fn merge(existing: Vec<HistoryRow>, new: Vec<HistoryRow>) -> Vec<HistoryRow> {
    let replaced: std::collections::BTreeSet<&str> =
        new.iter().map(|r| r.window.as_str()).collect();
    let mut kept: Vec<HistoryRow> =
        existing.into_iter().filter(|r| !replaced.contains(r.window.as_str())).collect();
    kept.extend(new);
    // A stable sort by window only: it keeps each window's policy order.
    kept.sort_by(|a, b| a.window.cmp(&b.window));
    kept
}

/// Reads `path`; a missing file is an empty history.
pub fn read_history(path: &Path) -> anyhow::Result<Vec<HistoryRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let df = ParquetReader::new(Cursor::new(bytes))
        .finish()
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
    rows_from_frame(&df).with_context(|| format!("{}: unexpected history layout", path.display()))
}

/// The Parquet bytes of `rows` (flat columns: `<metric>`, `<metric>_low`, `<metric>_high`).
pub fn history_parquet(rows: &[HistoryRow]) -> anyhow::Result<Vec<u8>> {
    let mut df = frame_from_rows(rows)?;
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(&mut df).context("encoding history.parquet")?;
    Ok(buf)
}

fn frame_from_rows(rows: &[HistoryRow]) -> PolarsResult<DataFrame> {
    let strings = |name: &str, f: fn(&HistoryRow) -> &str| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let mut columns = vec![
        strings("window", |r| &r.window),
        strings("since", |r| &r.since),
        strings("until", |r| &r.until),
        strings("policy", |r| &r.policy),
        Column::new("handoffs".into(), rows.iter().map(|r| r.handoffs).collect::<Vec<_>>()),
        Column::new(
            "handoff_rate".into(),
            rows.iter().map(|r| r.rates.handoff_rate).collect::<Vec<_>>(),
        ),
    ];
    for rate in TREND_RATES {
        let est: Vec<Estimate> = rows.iter().map(|r| r.rates.get(rate)).collect();
        columns.extend(estimate_columns(rate.name(), &est));
    }
    columns.push(Column::new(
        "quality_score".into(),
        rows.iter().map(|r| r.quality_score).collect::<Vec<_>>(),
    ));
    DataFrame::new_infer_height(columns)
}

/// Three flat nullable columns for one interval figure.
pub(crate) fn estimate_columns(name: &str, values: &[Estimate]) -> [Column; 3] {
    [
        Column::new(name.into(), values.iter().map(|e| e.estimate).collect::<Vec<_>>()),
        Column::new(format!("{name}_low").into(), values.iter().map(|e| e.low).collect::<Vec<_>>()),
        Column::new(
            format!("{name}_high").into(),
            values.iter().map(|e| e.high).collect::<Vec<_>>(),
        ),
    ]
}

fn rows_from_frame(df: &DataFrame) -> PolarsResult<Vec<HistoryRow>> {
    let text = |name: &str| -> PolarsResult<Vec<String>> {
        Ok(df.column(name)?.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect())
    };
    let floats = |name: &str| -> PolarsResult<Vec<Option<f64>>> {
        Ok(df.column(name)?.cast(&DataType::Float64)?.f64()?.iter().collect())
    };
    let estimates = |name: &str| -> PolarsResult<Vec<Estimate>> {
        let (e, l, h) =
            (floats(name)?, floats(&format!("{name}_low"))?, floats(&format!("{name}_high"))?);
        Ok((0..e.len()).map(|i| Estimate { estimate: e[i], low: l[i], high: h[i] }).collect())
    };
    let (window, since, until, policy) =
        (text("window")?, text("since")?, text("until")?, text("policy")?);
    let handoffs: Vec<Option<u64>> =
        df.column("handoffs")?.cast(&DataType::UInt64)?.u64()?.iter().collect();
    let handoff_rate = floats("handoff_rate")?;
    let est: Vec<Vec<Estimate>> =
        TREND_RATES.iter().map(|r| estimates(r.name())).collect::<PolarsResult<_>>()?;
    let quality = floats("quality_score")?;
    Ok((0..df.height())
        .map(|i| HistoryRow {
            window: window[i].clone(),
            since: since[i].clone(),
            until: until[i].clone(),
            policy: policy[i].clone(),
            handoffs: handoffs[i].unwrap_or(0),
            rates: {
                let mut rates =
                    Rates { handoff_rate: handoff_rate[i].unwrap_or(f64::NAN), ..Rates::default() };
                for (k, rate) in TREND_RATES.into_iter().enumerate() {
                    rates.set(rate, est[k][i]);
                }
                rates
            },
            quality_score: quality[i],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(window: &str, policy: &str, handoffs: u64) -> HistoryRow {
        HistoryRow {
            window: window.into(),
            since: "2026-11-16".into(),
            until: "2026-11-23".into(),
            policy: policy.into(),
            handoffs,
            rates: Rates {
                handoff_rate: 0.25,
                meeting_rate: Estimate::new(0.2, 0.1, 0.3),
                opportunity_rate: Estimate::NULL,
                handoff_to_meeting: Estimate { estimate: Some(0.5), low: None, high: Some(0.7) },
                handoff_to_opportunity: Estimate::new(0.1, 0.05, 0.15),
                pipeline_per_conversation: Estimate::NULL,
            },
            quality_score: None,
        }
    }

    #[test]
    fn merge_replaces_a_rerun_window_and_keeps_policy_order() {
        let old = vec![row("2026-W46", "historical", 1), row("2026-W47", "historical", 2)];
        let new = vec![row("2026-W47", "historical", 9), row("2026-W47", "b-first", 3)];
        let merged = merge(old, new);
        let keys: Vec<(&str, &str, u64)> =
            merged.iter().map(|r| (r.window.as_str(), r.policy.as_str(), r.handoffs)).collect();
        assert_eq!(
            keys,
            vec![
                ("2026-W46", "historical", 1),
                ("2026-W47", "historical", 9),
                ("2026-W47", "b-first", 3)
            ]
        );
    }

    #[test]
    fn merging_the_same_week_twice_changes_nothing() {
        let base = vec![row("2026-W45", "h", 1), row("2026-W46", "h", 2)];
        let new = vec![row("2026-W46", "h", 5), row("2026-W46", "p", 6)];
        let once = merge(base, new.clone());
        assert_eq!(merge(once.clone(), new), once);
    }

    #[test]
    fn merge_sorts_windows_chronologically() {
        let merged = merge(vec![row("2026-W48", "h", 1)], vec![row("2026-W02", "h", 1)]);
        assert_eq!(merged[0].window, "2026-W02");
    }

    #[test]
    fn parquet_round_trip_keeps_nulls_and_values() {
        let rows = vec![row("2026-W46", "historical", 1), row("2026-W47", "x<y>", 4)];
        let bytes = history_parquet(&rows).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HISTORY_FILE);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_history(&path).unwrap(), rows);
        // Deterministic bytes.
        assert_eq!(history_parquet(&rows).unwrap(), bytes);
    }

    #[test]
    fn missing_history_is_empty_and_non_week_windows_add_nothing() {
        assert!(read_history(Path::new("/nonexistent/history.parquet")).unwrap().is_empty());
        assert!(rows_from_summary(&Window::all(), &Summary::default()).is_empty());
    }
}
