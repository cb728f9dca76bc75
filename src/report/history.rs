//! `<out>/history.parquet`: one row per ISO-week window and policy, so charts can show the
//! week-over-week trend, and with `--by` one more per window, cut, slice and policy (columns
//! `by` and `value`, null on the overall rows) so a trend can be drawn per slice. Rerunning a
//! window replaces all its rows, slices included (a week is never counted twice); only
//! ISO-week windows enter it. Rows are kept sorted by window, then the order the report gave
//! them (the overall rows first, then each cut's slices).
//!
//! The `by` and `value` columns are written only when some row has a slice: a history made
//! without `--by` keeps exactly the bytes it had before slices existed, and a file of either
//! layout reads back (a missing column is null).

use std::io::Cursor;
use std::path::Path;

use anyhow::Context;
use polars::prelude::{
    Column, DataFrame, DataType, ParquetReader, ParquetWriter, PolarsResult, SerReader,
};
use serde::{Deserialize, Serialize};

use crate::summary::{Estimate, PolicySummary, Rate, Rates, Summary};
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
    /// The `--by` column of a slice row; null on the overall rows.
    #[serde(default)]
    pub by: Option<String>,
    /// The slice's value (`(none)`, `(other)` included); null on the overall rows.
    #[serde(default)]
    pub value: Option<String>,
}

impl HistoryRow {
    /// Whether the row is a figure over all the window's conversations (not a slice's): the
    /// only rows the trend chart draws.
    pub fn is_overall(&self) -> bool {
        self.by.is_none()
    }
}

/// Somewhere else the trend is kept (`--history-db`: `history_db::HistoryDb`), written
/// after `history.parquet`, under the same lock.
pub trait HistorySink: Send {
    /// Replaces every row of the windows in `rows` by `rows`, all at once.
    fn replace_windows(&mut self, rows: &[HistoryRow]) -> anyhow::Result<()>;
}

/// The file name under the reports root.
pub const HISTORY_FILE: &str = "history.parquet";

/// The interval figures the trend keeps, in column order.
const TREND_RATES: [Rate; 4] =
    [Rate::Meeting, Rate::Opportunity, Rate::HandoffToMeeting, Rate::HandoffToOpportunity];

/// The rows a report contributes: one per named policy (not sweep variants), then one per
/// cut, slice and named policy; none unless the window is an ISO week.
pub fn rows_from_summary(window: &Window, summary: &Summary) -> Vec<HistoryRow> {
    if !window.is_iso_week {
        return Vec::new();
    }
    let info = window.info();
    let row = |p: &PolicySummary, slice: Option<(&str, &str)>| HistoryRow {
        window: info.label.clone(),
        since: info.since.clone().unwrap_or_default(),
        until: info.until.clone().unwrap_or_default(),
        policy: p.name.clone(),
        handoffs: p.handoffs,
        rates: Rates { pipeline_per_conversation: Estimate::NULL, ..p.rates },
        quality_score: p.quality_score.estimate,
        by: slice.map(|(by, _)| by.to_string()),
        value: slice.map(|(_, value)| value.to_string()),
    };
    let overall = summary.policies.iter().map(|p| row(p, None));
    let sliced = summary.slices.iter().flat_map(|cut| {
        cut.values.iter().flat_map(move |slice| {
            // Named policies only, as overall: sweep variants live in `slice.variants`.
            let key = (cut.by.as_str(), slice.value.as_str());
            slice.policies.iter().map(move |p| (p, key))
        })
    });
    overall.chain(sliced.map(|(p, key)| row(p, Some(key)))).collect()
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
    // Last, so that the older layout is this one's prefix; only when needed (module doc).
    if rows.iter().any(|r| !r.is_overall()) {
        let optional = |name: &str, f: fn(&HistoryRow) -> Option<&str>| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<Option<&str>>>())
        };
        columns.push(optional("by", |r| r.by.as_deref()));
        columns.push(optional("value", |r| r.value.as_deref()));
    }
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
    // A history written before slices, or without any, has neither column: all null.
    let optional_text = |name: &str| -> PolarsResult<Vec<Option<String>>> {
        match df.column(name) {
            Ok(column) => {
                // An all-null column may come back without the string type.
                let column = column.cast(&DataType::String)?;
                Ok(column.str()?.iter().map(|v| v.map(str::to_string)).collect())
            }
            Err(_) => Ok(vec![None; df.height()]),
        }
    };
    let (by, value) = (optional_text("by")?, optional_text("value")?);
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
            by: by[i].clone(),
            value: value[i].clone(),
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
            by: None,
            value: None,
        }
    }

    fn slice_row(window: &str, by: &str, value: &str, policy: &str) -> HistoryRow {
        HistoryRow { by: Some(by.into()), value: Some(value.into()), ..row(window, policy, 7) }
    }

    fn column_names(bytes: Vec<u8>) -> Vec<String> {
        let df = ParquetReader::new(Cursor::new(bytes)).finish().unwrap();
        df.get_column_names().iter().map(|n| n.to_string()).collect()
    }

    /// The layout of every history written before `--by` existed, column for column.
    const OVERALL_COLUMNS: [&str; 18] = [
        "window",
        "since",
        "until",
        "policy",
        "handoffs",
        "handoff_rate",
        "meeting_rate",
        "meeting_rate_low",
        "meeting_rate_high",
        "opportunity_rate",
        "opportunity_rate_low",
        "opportunity_rate_high",
        "handoff_to_meeting",
        "handoff_to_meeting_low",
        "handoff_to_meeting_high",
        "handoff_to_opportunity",
        "handoff_to_opportunity_low",
        "handoff_to_opportunity_high",
    ];

    #[test]
    fn without_slices_the_layout_is_the_old_one() {
        let bytes = history_parquet(&[row("2026-W46", "historical", 1)]).unwrap();
        let mut expected: Vec<&str> = OVERALL_COLUMNS.to_vec();
        expected.push("quality_score");
        assert_eq!(column_names(bytes), expected);
    }

    #[test]
    fn slice_rows_add_by_and_value_last_and_round_trip() {
        let rows = vec![
            row("2026-W46", "historical", 1),
            slice_row("2026-W46", "segment", "enterprise", "historical"),
            slice_row("2026-W46", "segment", "(none)", "historical"),
        ];
        let bytes = history_parquet(&rows).unwrap();
        let names = column_names(bytes.clone());
        assert_eq!(names[names.len() - 3..], ["quality_score", "by", "value"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HISTORY_FILE);
        std::fs::write(&path, &bytes).unwrap();
        let back = read_history(&path).unwrap();
        assert_eq!(back, rows);
        assert!(back[0].is_overall() && !back[1].is_overall());
    }

    /// A history.parquet written by the version before slices (two weeks of the sample
    /// data, `handoff report --week 2026-W47` then `--week 2026-W46`, then W47 again).
    const BEFORE_SLICES: &[u8] =
        include_bytes!("../../tests/fixtures/history-before-slices.parquet");

    #[test]
    fn a_history_from_before_slices_reads_and_rewrites_to_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HISTORY_FILE);
        std::fs::write(&path, BEFORE_SLICES).unwrap();
        let rows = read_history(&path).unwrap();
        assert_eq!(rows.len(), 14, "two weeks of historical and six policies");
        assert!(rows.iter().all(HistoryRow::is_overall));
        // What a run without --by writes back is byte for byte what the older version wrote.
        assert_eq!(history_parquet(&rows).unwrap(), BEFORE_SLICES);
    }

    #[test]
    fn an_old_history_without_the_slice_columns_reads_as_overall_rows() {
        // The bytes an older version wrote: the same frame, without `by` and `value`.
        let rows = vec![row("2026-W45", "historical", 1), row("2026-W45", "p", 2)];
        let bytes = history_parquet(&rows).unwrap();
        assert!(!column_names(bytes.clone()).contains(&"by".to_string()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HISTORY_FILE);
        std::fs::write(&path, &bytes).unwrap();
        let back = read_history(&path).unwrap();
        assert!(back.iter().all(|r| r.by.is_none() && r.value.is_none()));
        // Adding a sliced week to it writes the new layout, and the old rows stay overall.
        let merged = merge(back, vec![slice_row("2026-W46", "channel", "chat", "historical")]);
        std::fs::write(&path, history_parquet(&merged).unwrap()).unwrap();
        let again = read_history(&path).unwrap();
        assert_eq!(again, merged);
        assert_eq!(again.iter().filter(|r| r.is_overall()).count(), 2);
    }

    #[test]
    fn rerunning_a_week_replaces_its_slice_rows_too() {
        let first = vec![
            row("2026-W46", "historical", 1),
            slice_row("2026-W46", "segment", "smb", "historical"),
            row("2026-W47", "historical", 1),
            slice_row("2026-W47", "segment", "smb", "historical"),
            slice_row("2026-W47", "segment", "enterprise", "historical"),
        ];
        // W47 again, now cut by channel only: its segment rows go, W46's stay.
        let rerun = vec![
            row("2026-W47", "historical", 5),
            slice_row("2026-W47", "channel", "chat", "historical"),
        ];
        let merged = merge(first, rerun.clone());
        let keys: Vec<(&str, Option<&str>, Option<&str>)> = merged
            .iter()
            .map(|r| (r.window.as_str(), r.by.as_deref(), r.value.as_deref()))
            .collect();
        assert_eq!(
            keys,
            [
                ("2026-W46", None, None),
                ("2026-W46", Some("segment"), Some("smb")),
                ("2026-W47", None, None),
                ("2026-W47", Some("channel"), Some("chat")),
            ]
        );
        assert_eq!(merge(merged.clone(), rerun), merged, "a second rerun changes nothing");
    }

    #[test]
    fn a_report_contributes_overall_rows_then_one_per_slice_and_named_policy() {
        use crate::summary::{PolicyKind, PolicySummary, Slice, SliceCut};
        let named = |name: &str| PolicySummary {
            name: name.into(),
            kind: PolicyKind::Policy,
            handoffs: 3,
            ..PolicySummary::default()
        };
        let slice = |value: &str| Slice {
            value: value.into(),
            conversations: 10,
            policies: vec![named("historical"), named("p")],
            variants: vec![named("p@threshold=1")],
            ..Slice::default()
        };
        let summary = Summary {
            policies: vec![named("historical"), named("p")],
            variants: vec![named("p@threshold=1")],
            slices: vec![SliceCut {
                by: "segment".into(),
                values: vec![slice("smb"), slice("enterprise")],
                ..SliceCut::default()
            }],
            ..Summary::default()
        };
        let rows = rows_from_summary(&Window::iso_week("2026-W47").unwrap(), &summary);
        let keys: Vec<(Option<&str>, &str)> =
            rows.iter().map(|r| (r.value.as_deref(), r.policy.as_str())).collect();
        assert_eq!(
            keys,
            [
                (None, "historical"),
                (None, "p"),
                (Some("smb"), "historical"),
                (Some("smb"), "p"),
                (Some("enterprise"), "historical"),
                (Some("enterprise"), "p"),
            ]
        );
        assert!(rows[2..].iter().all(|r| r.by.as_deref() == Some("segment")));
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
