//! Estimation (estimation.md): what each policy would have achieved, from history that
//! followed another policy. Models of history's handoff behaviour (a discrete-time hazard) and
//! of outcomes (`m(x, h)`), the estimators `matched`, `dm`, `ipw`, `snipw`, `dr`, and their
//! intervals. Pure: no I/O.

use crate::model::Conversation;
use crate::replay::{Decision, Timeline};
use crate::report::summary::Estimate;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EstimatorKind {
    Matched,
    Dm,
    Ipw,
    Snipw,
    #[default]
    Dr,
}

impl EstimatorKind {
    pub fn name(self) -> &'static str {
        match self {
            EstimatorKind::Matched => "matched",
            EstimatorKind::Dm => "dm",
            EstimatorKind::Ipw => "ipw",
            EstimatorKind::Snipw => "snipw",
            EstimatorKind::Dr => "dr",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EstimationConfig {
    pub estimator: EstimatorKind,
    pub clip: f64,
    pub tolerance: u32,
    /// Bootstrap replicates; 0 = normal intervals on per-conversation contributions.
    pub bootstrap: u32,
    pub seed: u64,
}

/// What history observed after a conversation, with `--outcome-days` applied.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Observed {
    pub meeting: bool,
    pub opportunity: bool,
    /// The opportunity amount where counted (0 otherwise).
    pub amount: f64,
}

/// One conversation as estimation sees it.
#[derive(Clone, Copy, Debug)]
pub struct Unit<'a> {
    pub conversation: &'a Conversation,
    pub timeline: &'a Timeline,
    pub observed: Observed,
    /// Whether the conversation is in the reported window (models fit on all units).
    pub in_window: bool,
}

/// A policy's estimated outcomes over the window's conversations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyEstimate {
    pub conversations: u64,
    pub handoffs: u64,
    pub handoff_rate: f64,
    pub meeting_rate: Estimate,
    pub opportunity_rate: Estimate,
    pub pipeline_per_conversation: Estimate,
    pub handoff_to_meeting: Estimate,
    pub handoff_to_opportunity: Estimate,
    pub matched_share: Option<f64>,
    pub effective_sample_size: Option<f64>,
    pub warnings: Vec<String>,
}

/// Placeholder for the fitted models; issue 4 fills it.
pub struct Estimation {
    _private: (),
}

impl Estimation {
    /// Fits the hazard and outcome models on every unit (the accepted conversations that
    /// started before the window ends).
    pub fn fit(units: &[Unit], config: &EstimationConfig) -> Estimation {
        todo!("issue 4: {} {config:?}", units.len())
    }

    /// Estimates a policy from its decisions (aligned with `units`).
    pub fn evaluate(&self, units: &[Unit], decisions: &[Decision]) -> PolicyEstimate {
        todo!("issue 4: {} {}", units.len(), decisions.len())
    }
}
