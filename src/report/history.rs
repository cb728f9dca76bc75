//! `history.parquet` rows: one per ISO-week window and policy, the input of the trend chart.
//! (Minimal shape only; the history helper owns reading and writing it.)

use serde::{Deserialize, Serialize};

use crate::report::summary::Estimate;

/// One window's headline figures for one policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub window: String,
    pub since: String,
    pub until: String,
    pub policy: String,
    pub handoffs: u64,
    pub handoff_rate: f64,
    pub meeting_rate: Estimate,
    pub opportunity_rate: Estimate,
    pub handoff_to_meeting: Estimate,
    pub handoff_to_opportunity: Estimate,
    pub quality_score: Option<f64>,
}
