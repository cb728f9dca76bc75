//! The figures of one report run (`summary.json`'s shape): what `analysis` computes and every
//! exporter of `report/` (JSON, CSV, Markdown, HTML, charts) reads. Pure data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::estimate::{Estimate, Rate, Rates};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowInfo {
    /// `2026-W47`, `<since>_<until>` or `all`.
    pub label: String,
    /// First day (inclusive), `YYYY-MM-DD`; null for `all`.
    pub since: Option<String>,
    /// Last day (exclusive), `YYYY-MM-DD`; null for `all`.
    pub until: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataCounts {
    /// Accepted conversations in the window.
    pub conversations: u64,
    /// Their messages.
    pub messages: u64,
    pub rejected_conversations: u64,
    pub rejected_rows: u64,
}

/// Where a row of the policies table comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// What history did, from observed outcomes.
    #[default]
    Historical,
    /// A policy of the policies file.
    Policy,
    /// One grid value of a sweep.
    Variant,
}

impl PolicyKind {
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Historical => "historical",
            PolicyKind::Policy => "policy",
            PolicyKind::Variant => "variant",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicySummary {
    pub name: String,
    pub kind: PolicyKind,
    pub conversations: u64,
    pub handoffs: u64,
    #[serde(flatten)]
    pub rates: Rates<Estimate>,
    pub quality_score: Estimate,
    pub premature_handoffs: u64,
    pub late_handoffs: u64,
    pub missed_human_requests: u64,
    pub median_handoff_turn: Option<f64>,
    pub matched_share: Option<f64>,
    pub effective_sample_size: Option<f64>,
    pub warnings: Vec<String>,
    /// Conversations per timing class (`earlier`, `same`, ... ) relative to history.
    pub timing: BTreeMap<String, u64>,
    /// Historical only: the share of the four context items transferred at handoff.
    pub context_transferred: Option<f64>,
    /// Historical only: the mean rep rating of its handoffs.
    pub mean_rep_rating: Option<f64>,
    /// The bounds per `--gammas` value (sensitivity.md): absent with `--gammas none`, null
    /// for `historical` (observed, nothing to bound) and where the analysis is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub sensitivity: Option<Option<Vec<PolicyBounds>>>,
}

/// A field that is absent (`None`), null (`Some(None)`) or a value (`Some(Some(v))`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The lowest and highest value a figure can take under one `Gamma` (null where the figure
/// itself is null).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// A policy's bounds at one `Gamma`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyBounds {
    pub gamma: f64,
    pub meeting_rate: Bounds,
    pub opportunity_rate: Bounds,
    pub pipeline_per_conversation: Bounds,
}

/// A sweep point's net objective bounds at one `Gamma`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetBounds {
    pub gamma: f64,
    pub net_objective_per_100: Bounds,
}

/// A difference's bounds at one `Gamma`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GammaBounds {
    pub gamma: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// The run's sensitivity analysis (sensitivity.md): its `Gamma`s and headline comparisons.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SensitivitySummary {
    pub gammas: Vec<f64>,
    pub comparisons: Vec<Comparison>,
    /// Why no bound was computed, when none was (the sentence the report prints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// A headline comparison: `policy` minus `versus` on `objective`, paired over the same
/// conversations, and how much hidden confounding it withstands.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub policy: String,
    pub versus: String,
    /// `meetings`, `opportunities` or `pipeline` (per conversation); a sweep's: its net
    /// objective per 100 conversations.
    pub objective: String,
    /// The paired difference and its 95% interval (rates per conversation).
    pub difference: Estimate,
    /// The difference's bounds per `Gamma`.
    pub bounds: Vec<GammaBounds>,
    /// The largest `Gamma` in `[1, 10]` at which the difference's lower bound stays above
    /// zero; null when the difference is not above zero even without hidden confounding.
    pub robustness_gamma: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub value: f64,
    /// The variant's name, `<policy>@<parameter>=<value>`.
    pub variant: String,
    pub net_objective_per_100: Estimate,
    #[serde(flatten)]
    pub rates: Rates<Estimate>,
    /// The net objective's bounds per `Gamma`; absent with `--gammas none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Vec<NetBounds>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Optimal {
    pub value: f64,
    pub variant: String,
    pub net_objective_per_100: Estimate,
    /// The best other value whose decisions differ from the optimum's.
    pub runner_up: Option<f64>,
    /// Optimum minus runner-up, paired over conversations, with its interval.
    pub difference: Estimate,
    pub beats_runner_up: bool,
    /// How much hidden confounding the optimum's lead over the runner-up withstands
    /// (sensitivity.md); absent with `--gammas none`, null without a lead or a runner-up.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub robustness_gamma: Option<Option<f64>>,
    /// The difference's bounds per `Gamma` (in the top-level comparisons, not here).
    #[serde(skip)]
    pub difference_bounds: Vec<GammaBounds>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub policy: String,
    pub parameter: String,
    pub objective: String,
    pub handoff_cost: f64,
    pub points: Vec<SweepPoint>,
    /// Null when no point could be estimated.
    pub optimal: Option<Optimal>,
}

/// Settings that shaped the numbers (so a reader can reproduce them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub estimator: String,
    pub clip: f64,
    pub tolerance: u32,
    pub bootstrap: u32,
    pub seed: u64,
    pub outcome_days: u32,
    pub signal_source: String,
    pub as_of: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataQualitySummary {
    pub unknown_signal_labels: BTreeMap<String, u64>,
    pub unknown_qualified_labels: BTreeMap<String, u64>,
    pub unknown_context_labels: BTreeMap<String, u64>,
    pub amount_without_opportunity: u64,
    pub rating_without_handoff: u64,
    pub handoff_at_without_turn: u64,
    pub conversations_without_prospect_message: u64,
    /// Rejections per reason kind (the reason text up to its first colon).
    pub rejections_by_reason: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub window: WindowInfo,
    pub data: DataCounts,
    pub estimator: String,
    /// `historical` first, then the policies file's order.
    pub policies: Vec<PolicySummary>,
    pub sweeps: Vec<SweepSummary>,
    pub warnings: Vec<String>,
    /// Plain-sentence headline findings, in the order the page shows them.
    pub findings: Vec<String>,
    pub settings: Settings,
    pub data_quality: DataQualitySummary,
    /// Sweep variants, one row each in `policies.csv`; not in `summary.json`.
    #[serde(skip)]
    pub variants: Vec<PolicySummary>,
    /// One cut per `--by` column (slices.md); absent from `summary.json` without `--by`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<SliceCut>,
    /// The sensitivity analysis; absent from `summary.json` with `--gammas none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<SensitivitySummary>,
    /// One per `[[search]]` block (search.md); not in `summary.json`, which they would
    /// dwarf: `search.json` holds them.
    #[serde(skip)]
    pub searches: Vec<crate::searching::SearchSummary>,
}

/// Every figure of the report per value of one conversations column (slices.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SliceCut {
    /// The column (`segment`, `channel`, `ai_agent` or an extra column).
    pub by: String,
    /// `--min-slice`: smaller slices get figures with a warning, but no optimum.
    pub min_slice: u64,
    /// By decreasing size, ties by value; `(other)` pools the values past `--max-slices`.
    pub values: Vec<Slice>,
    /// Plain-sentence findings about this column's slices (whether the best policy differs).
    pub findings: Vec<String>,
    /// The Bonferroni level of the per-slice `beats_runner_up` (`1 - 0.05 / slices`).
    pub level: f64,
}

/// One slice: the conversations whose column holds `value`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// The trimmed value, `(none)` for null or empty, `(other)` for the pooled rest.
    pub value: String,
    pub conversations: u64,
    /// Exactly the shape of the top-level `policies` (historical first).
    pub policies: Vec<PolicySummary>,
    /// Exactly the shape of the top-level `sweeps`.
    pub sweeps: Vec<SweepSummary>,
    pub warnings: Vec<String>,
    /// Sweep variants, one row each in `slices.csv`; not in `summary.json`.
    #[serde(skip)]
    pub variants: Vec<PolicySummary>,
}
