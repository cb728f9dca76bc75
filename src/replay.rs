//! Replay: the policy state machine of policies.md, run on compact per-conversation
//! timelines. Pure: no I/O. Text is matched once upstream (`signals`); here every decision
//! point is a bit set of signals plus cumulative qualification and participant counts.

use crate::model::{Conversation, QualMask};
use crate::policy::Policy;
use crate::signals::vocabulary::{SignalSet, Situation};

/// The state a policy sees at one decision point (one prospect message).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DecisionPoint {
    /// The prospect message's turn number (a handoff here is "after this turn").
    pub turn: i64,
    /// Signals carried by this prospect message.
    pub signals: SignalSet,
    /// Qualification fields captured so far (any sender, turns up to and including this one).
    pub qualified: QualMask,
    /// Distinct non-empty prospect participants so far.
    pub participants: u32,
    /// Logged probability that history hands off right after this message, if logged.
    pub handoff_probability: Option<f64>,
}

/// A conversation reduced to what policies read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub points: Vec<DecisionPoint>,
    pub enterprise_segment: bool,
    pub employee_count: Option<i64>,
    /// History's handoff as a 1-based decision point: the last decision point at or before
    /// `outcomes.handoff_turn`; `None` when history never handed off.
    pub historical: Option<u32>,
}

/// Where a policy hands off in one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// 1-based decision point; `None` = never hands off.
    pub point: Option<u32>,
    /// The situation reported for the handoff.
    pub situation: Option<Situation>,
}

impl Decision {
    pub const NEVER: Decision = Decision { point: None, situation: None };

    /// The turn number of the handoff in `tl`.
    pub fn turn(&self, tl: &Timeline) -> Option<i64> {
        self.point.map(|p| tl.points[p as usize - 1].turn)
    }
}

/// How a policy's handoff compares with history's (the `timing` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timing {
    Earlier,
    Same,
    Later,
    OnlyPolicy,
    OnlyHistory,
    Neither,
}

impl Timing {
    pub const ALL: [Timing; 6] = [
        Timing::Earlier,
        Timing::Same,
        Timing::Later,
        Timing::OnlyPolicy,
        Timing::OnlyHistory,
        Timing::Neither,
    ];

    pub fn of(policy: Option<u32>, history: Option<u32>) -> Timing {
        match (policy, history) {
            (Some(p), Some(h)) if p < h => Timing::Earlier,
            (Some(p), Some(h)) if p == h => Timing::Same,
            (Some(_), Some(_)) => Timing::Later,
            (Some(_), None) => Timing::OnlyPolicy,
            (None, Some(_)) => Timing::OnlyHistory,
            (None, None) => Timing::Neither,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Timing::Earlier => "earlier",
            Timing::Same => "same",
            Timing::Later => "later",
            Timing::OnlyPolicy => "only_policy",
            Timing::OnlyHistory => "only_history",
            Timing::Neither => "neither",
        }
    }
}

/// Builds a conversation's timeline from its messages and the per-prospect-message signal sets
/// (one per prospect message, in turn order, as produced by `signals::detect`).
pub fn build_timeline(conv: &Conversation, prospect_signals: &[SignalSet]) -> Timeline {
    todo!("issue 3: {} {}", conv.id, prospect_signals.len())
}

/// The decision of `policy` in one conversation.
pub fn decide(policy: &Policy, tl: &Timeline) -> Decision {
    todo!("issue 3: {} {}", policy.name, tl.points.len())
}

/// For each of the seven situations (in `Situation::SEVEN` order), the first 1-based decision
/// point at which it holds under `policy`'s parameters (`repeated_objection_after`,
/// `enterprise_employees`), or `None`. Used by the estimator's features and by the generator.
pub fn situation_onsets(policy: &Policy, tl: &Timeline) -> [Option<u32>; 7] {
    todo!("issue 3: {} {}", policy.name, tl.points.len())
}
