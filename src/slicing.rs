//! Which slice each conversation falls in (slices.md, "Which columns"), and the findings that
//! compare slices. Pure: `analysis` computes the per-slice figures, `report/` renders them.
//!
//! A cut is one `--by` column. Values are compared after trimming (`segment` is already
//! trimmed and lower-cased by ingest); a null or empty value is the slice `(none)`. Slices
//! are listed by decreasing size in the window, ties by value; past `--max-slices` the
//! largest `K - 1` are kept and the rest pooled into `(other)`, listed last.

use std::collections::BTreeMap;

use crate::error::UsageError;
use crate::model::{Conversation, Dataset};

/// The slice of null or empty values.
pub const NONE: &str = "(none)";
/// The slice that pools the values past `--max-slices`.
pub const OTHER: &str = "(other)";

/// `--by`, `--min-slice`, `--max-slices`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceSettings {
    pub by: Vec<String>,
    pub min_slice: u64,
    pub max_slices: usize,
}

impl Default for SliceSettings {
    fn default() -> SliceSettings {
        SliceSettings { by: Vec::new(), min_slice: 200, max_slices: 12 }
    }
}

/// One cut of the data set: every conversation's slice.
#[derive(Clone, Debug, PartialEq)]
pub struct CutPlan {
    pub by: String,
    /// Slice names, in report order.
    pub names: Vec<String>,
    /// Window conversations per slice.
    pub sizes: Vec<u64>,
    /// Per conversation of the data set, its slice (conversations outside the window whose
    /// value is no slice's fall into `(other)` if there is one, else the first slice: only
    /// the window's conversations are reported).
    pub slice_of: Vec<u32>,
    /// The values pooled into `(other)`, largest first.
    pub pooled: Vec<(String, u64)>,
}

impl CutPlan {
    /// The warning naming the values pooled into `(other)` (at most 10 names, then a count).
    pub fn pooled_warning(&self) -> Option<String> {
        if self.pooled.is_empty() {
            return None;
        }
        let names: Vec<&str> = self.pooled.iter().take(10).map(|(v, _)| v.as_str()).collect();
        let rest = self.pooled.len().saturating_sub(10);
        let more = if rest > 0 { format!(" and {rest} more") } else { String::new() };
        Some(format!(
            "{}: {} values pooled into {OTHER} (more than --max-slices allows): {}{more}",
            self.by,
            self.pooled.len(),
            names.join(", "),
        ))
    }
}

/// The columns `--by` may name in this data set.
pub fn available_columns(dataset: &Dataset) -> Vec<String> {
    let c = &dataset.columns;
    let mut out: Vec<String> = Vec::new();
    if dataset.conversations.iter().any(|v| v.account_id.is_some()) {
        out.push("account_id".into());
    }
    for (present, name) in [
        (c.segment, "segment"),
        (c.employee_count, "employee_count"),
        (c.channel, "channel"),
        (c.ai_agent, "ai_agent"),
    ] {
        if present {
            out.push(name.into());
        }
    }
    out.extend(dataset.extra_columns.iter().cloned());
    out
}

/// Refuses a `--by` column the conversations table lacks (naming the ones it has), and
/// `conversation_id` and `started_at`.
pub fn check_columns(dataset: &Dataset, by: &[String]) -> Result<(), UsageError> {
    for column in by {
        check_column(dataset, &format!("--by {column}"), column)?;
    }
    let mut seen = std::collections::BTreeSet::new();
    for column in by {
        if !seen.insert(column) {
            return Err(UsageError(format!("--by {column}: the column is named twice")));
        }
    }
    Ok(())
}

/// Refuses one column the conversations table lacks, and `conversation_id` and `started_at`;
/// the error starts with `what` (`--by segment`, or a routed policy's `route_by`).
pub fn check_column(dataset: &Dataset, what: &str, column: &str) -> Result<(), UsageError> {
    let available = available_columns(dataset);
    if column == "conversation_id" || column == "started_at" {
        return Err(UsageError(format!(
            "{what}: cannot slice by {column} (every value would be its own slice); \
             use one of: {}",
            available.join(", ")
        )));
    }
    if !available.iter().any(|a| a == column) {
        return Err(UsageError(format!(
            "{what}: the conversations table has no column {column}; the columns \
             that can be sliced by are: {}",
            if available.is_empty() { "none".to_string() } else { available.join(", ") }
        )));
    }
    Ok(())
}

/// Conversation `index`'s value in `column`, compared as slices compare values: trimmed,
/// `None` for null or empty (or a column the data set lacks).
pub fn value<'a>(
    dataset: &'a Dataset,
    index: usize,
    column_name: &str,
) -> Option<std::borrow::Cow<'a, str>> {
    let col = column(dataset, column_name)?;
    value_of(dataset.conversations.get(index)?, &col)
}

/// A conversation's value in `column` (trimmed; `None` for null or empty).
fn value_of<'a>(
    conversation: &'a Conversation,
    column: &Column,
) -> Option<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    let text: Option<Cow<str>> = match column {
        Column::AccountId => conversation.account_id.as_deref().map(Cow::Borrowed),
        Column::Segment => conversation.segment.as_deref().map(Cow::Borrowed),
        Column::EmployeeCount => conversation.employee_count.map(|n| Cow::Owned(n.to_string())),
        Column::Channel => conversation.channel.as_deref().map(Cow::Borrowed),
        Column::AiAgent => conversation.ai_agent.as_deref().map(Cow::Borrowed),
        Column::Extra(k) => {
            conversation.extra.get(*k).and_then(|v| v.as_deref()).map(Cow::Borrowed)
        }
    };
    text.and_then(|t| -> Option<Cow<'a, str>> {
        let trimmed: Cow<'a, str> = match t {
            Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
            Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
        };
        (!trimmed.is_empty()).then_some(trimmed)
    })
}

enum Column {
    AccountId,
    Segment,
    EmployeeCount,
    Channel,
    AiAgent,
    Extra(usize),
}

fn column(dataset: &Dataset, by: &str) -> Option<Column> {
    Some(match by {
        "account_id" => Column::AccountId,
        "segment" => Column::Segment,
        "employee_count" => Column::EmployeeCount,
        "channel" => Column::Channel,
        "ai_agent" => Column::AiAgent,
        other => Column::Extra(dataset.extra_columns.iter().position(|c| c == other)?),
    })
}

/// The cut of `dataset` by `by` (checked by `check_columns`), sized over the window's
/// `members`.
pub fn plan(dataset: &Dataset, members: &[usize], by: &str, max_slices: usize) -> CutPlan {
    let Some(col) = column(dataset, by) else {
        return CutPlan {
            by: by.to_string(),
            names: vec![NONE.to_string()],
            sizes: vec![members.len() as u64],
            slice_of: vec![0; dataset.conversations.len()],
            pooled: Vec::new(),
        };
    };
    let label = |i: usize| -> String {
        value_of(&dataset.conversations[i], &col)
            .map_or_else(|| NONE.to_string(), |v| v.into_owned())
    };
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for &i in members {
        *counts.entry(label(i)).or_default() += 1;
    }
    let mut ranked: Vec<(String, u64)> = counts.into_iter().collect();
    // Decreasing size, ties by value (the map's order is the value's).
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let max = max_slices.max(1);
    let pooled: Vec<(String, u64)> =
        if ranked.len() > max { ranked.split_off(max - 1) } else { Vec::new() };
    let mut names: Vec<String> = ranked.iter().map(|(v, _)| v.clone()).collect();
    let mut sizes: Vec<u64> = ranked.iter().map(|(_, n)| *n).collect();
    if !pooled.is_empty() {
        names.push(OTHER.to_string());
        sizes.push(pooled.iter().map(|(_, n)| n).sum());
    }
    // Keyed by the kept values' ranks, so that a literal value spelt like `(other)` stays
    // its own slice.
    let index: BTreeMap<&str, u32> =
        ranked.iter().enumerate().map(|(k, (v, _))| (v.as_str(), k as u32)).collect();
    let fallback = if pooled.is_empty() { 0 } else { (names.len() - 1) as u32 };
    let slice_of = (0..dataset.conversations.len())
        .map(|i| index.get(label(i).as_str()).copied().unwrap_or(fallback))
        .collect();
    CutPlan { by: by.to_string(), names, sizes, slice_of, pooled }
}

/// The Bonferroni level of comparisons across `k` slices: `1 - 0.05 / k`.
pub fn bonferroni_level(k: usize) -> f64 {
    1.0 - 0.05 / k.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(segments: &[Option<&str>]) -> Dataset {
        let conversations = segments
            .iter()
            .enumerate()
            .map(|(i, s)| Conversation {
                id: format!("c{i}"),
                segment: s.map(str::to_string),
                extra: vec![Some(format!(" r{} ", i % 3))],
                ..Conversation::default()
            })
            .collect();
        let mut d =
            Dataset { conversations, extra_columns: vec!["region".into()], ..Dataset::default() };
        d.columns.segment = true;
        d
    }

    #[test]
    fn slices_by_decreasing_size_ties_by_value_with_none() {
        let d = dataset(&[
            Some("smb"),
            Some("ent"),
            None,
            Some("smb"),
            Some(""),
            Some("ent"),
            Some("mid"),
        ]);
        let all: Vec<usize> = (0..7).collect();
        let p = plan(&d, &all, "segment", 12);
        assert_eq!(p.names, ["(none)", "ent", "smb", "mid"]);
        assert_eq!(p.sizes, [2, 2, 2, 1]);
        assert_eq!(p.slice_of, [2, 1, 0, 2, 0, 1, 3]);
        assert!(p.pooled.is_empty() && p.pooled_warning().is_none());
    }

    #[test]
    fn values_past_max_slices_pool_into_other() {
        let d =
            dataset(&[Some("a"), Some("a"), Some("a"), Some("b"), Some("b"), Some("c"), Some("d")]);
        let all: Vec<usize> = (0..7).collect();
        let p = plan(&d, &all, "segment", 3);
        assert_eq!(p.names, ["a", "b", "(other)"]);
        assert_eq!(p.sizes, [3, 2, 2]);
        assert_eq!(p.slice_of, [0, 0, 0, 1, 1, 2, 2]);
        let w = p.pooled_warning().unwrap();
        assert!(w.contains("2 values pooled into (other)") && w.ends_with(": c, d"), "{w}");
    }

    #[test]
    fn the_pooled_warning_names_ten_then_counts() {
        let names: Vec<String> = (0..15).map(|i| format!("v{i:02}")).collect();
        let segs: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();
        let d = dataset(&segs);
        let all: Vec<usize> = (0..15).collect();
        let p = plan(&d, &all, "segment", 2);
        assert_eq!(p.names, ["v00", "(other)"]);
        let w = p.pooled_warning().unwrap();
        assert!(w.contains("v01, v02") && w.ends_with("v10 and 4 more"), "{w}");
    }

    #[test]
    fn extra_columns_are_trimmed_and_sized_over_the_window() {
        let d = dataset(&[Some("a"); 6]);
        let p = plan(&d, &[0, 1, 3], "region", 12);
        // Window: r0, r1, r0.
        assert_eq!(p.names, ["r0", "r1"]);
        assert_eq!(p.sizes, [2, 1]);
        // r2 (outside the window) is no slice: the first.
        assert_eq!(p.slice_of, [0, 1, 0, 0, 1, 0]);
    }

    #[test]
    fn unknown_and_refused_columns_are_usage_errors_naming_the_columns() {
        let d = dataset(&[Some("a")]);
        let e = check_columns(&d, &["region2".into()]).unwrap_err().0;
        assert!(e.contains("no column region2") && e.contains("segment, region"), "{e}");
        let e = check_columns(&d, &["started_at".into()]).unwrap_err().0;
        assert!(e.contains("cannot slice by started_at"), "{e}");
        assert!(check_columns(&d, &["segment".into(), "region".into()]).is_ok());
        assert!(check_columns(&d, &["segment".into(), "segment".into()]).is_err());
    }

    #[test]
    fn bonferroni_divides_the_error_rate() {
        assert!((bonferroni_level(4) - 0.9875).abs() < 1e-12);
        assert_eq!(bonferroni_level(1), 0.95);
    }
}
