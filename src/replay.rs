//! Replay: the policy state machine of policies.md, run on compact per-conversation
//! timelines. Pure: no I/O. Text is matched once upstream (`signals`); here every decision
//! point is a bit set of signals plus cumulative qualification and participant counts.

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::model::{Conversation, Message, QualMask, Sender};
use crate::policy::Policy;
use crate::signals::vocabulary::{Guard, Signal, SignalSet, Situation};

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
///
/// Qualification at a decision point is the OR of `qualified` over every message (any sender)
/// whose turn is at or before the prospect message's turn, so a field captured in the AI's
/// reply counts from the next decision point on. A prospect message without a signal set (a
/// shorter `prospect_signals`) carries no signals.
///
/// `historical` is the last decision point whose turn is at or before `outcomes.handoff_turn`.
/// When the logged handoff turn precedes the first prospect message, history is taken to have
/// handed off at decision point 1: the earliest point a policy can act, so history is never
/// dropped from the comparison. A conversation without prospect messages has no decision
/// points and so no historical decision point either.
pub fn build_timeline(conv: &Conversation, prospect_signals: &[SignalSet]) -> Timeline {
    let mut messages: Vec<&Message> = conv.messages.iter().collect();
    // Stable: messages that share a turn keep their input order.
    messages.sort_by_key(|m| m.turn);

    let mut points = Vec::new();
    let mut participants: BTreeSet<String> = BTreeSet::new();
    let mut next_unread = 0usize;
    let mut qualified: QualMask = 0;
    for message in messages.iter().filter(|m| m.sender == Sender::Prospect) {
        // Fold in every message (any sender) with a turn up to and including this one.
        while let Some(m) = messages.get(next_unread).filter(|m| m.turn <= message.turn) {
            qualified |= m.qualified;
            if m.sender == Sender::Prospect {
                if let Some(p) = normalized_participant(m.participant.as_deref()) {
                    participants.insert(p);
                }
            }
            next_unread += 1;
        }
        let signals = prospect_signals.get(points.len()).copied().unwrap_or(SignalSet::EMPTY);
        points.push(DecisionPoint {
            turn: message.turn,
            signals,
            qualified,
            participants: u32::try_from(participants.len()).unwrap_or(u32::MAX),
            handoff_probability: message.handoff_probability,
        });
    }

    let historical = conv
        .outcome
        .as_ref()
        .and_then(|o| o.handoff_turn)
        .and_then(|turn| historical_point(&points, turn));
    Timeline {
        points,
        enterprise_segment: conv.is_enterprise_segment(),
        employee_count: conv.employee_count,
        historical,
    }
}

/// Trimmed, case-folded participant; `None` when empty.
fn normalized_participant(p: Option<&str>) -> Option<String> {
    let p = p?.trim();
    (!p.is_empty()).then(|| p.to_lowercase())
}

/// The last decision point at or before `handoff_turn` (1 when it precedes them all).
fn historical_point(points: &[DecisionPoint], handoff_turn: i64) -> Option<u32> {
    if points.is_empty() {
        return None;
    }
    let at_or_before = points.iter().take_while(|p| p.turn <= handoff_turn).count();
    Some(u32::try_from(at_or_before.max(1)).unwrap_or(u32::MAX))
}

/// Tolerance of the score comparison (policies.md: 0.1 + 0.2 reaches 0.3).
const SCORE_TOLERANCE: f64 = 1e-9;

/// The first 1-based decision point at which each situation holds, for all eight situations
/// (indexed by `situation_slot`), under `policy`'s parameters.
fn all_onsets(policy: &Policy, tl: &Timeline) -> [Option<u32>; 8] {
    let mut onsets = [None; 8];
    let enterprise_account = tl.enterprise_segment
        || tl.employee_count.is_some_and(|n| n >= policy.enterprise_employees);
    let mut seen = SignalSet::EMPTY;
    let mut objection_messages = [0u32; 5];
    for (i, point) in tl.points.iter().enumerate() {
        let d = u32::try_from(i + 1).unwrap_or(u32::MAX);
        seen = seen.union(point.signals);
        for (count, objection) in objection_messages.iter_mut().zip(Signal::OBJECTIONS) {
            if point.signals.contains(objection) {
                *count += 1;
            }
        }
        for situation in ALL_SITUATIONS {
            let slot = situation_slot(situation);
            if onsets[slot].is_some() {
                continue;
            }
            let holds = match situation {
                Situation::MultipleStakeholders => {
                    seen.intersects(situation.signals()) || point.participants >= 2
                }
                Situation::Enterprise => enterprise_account || seen.intersects(situation.signals()),
                Situation::RepeatedObjection => {
                    objection_messages.iter().any(|&n| n >= policy.repeated_objection_after)
                }
                Situation::Score => score_of(policy, seen) >= policy.threshold - SCORE_TOLERANCE,
                _ => seen.intersects(situation.signals()),
            };
            if holds {
                onsets[slot] = Some(d);
            }
        }
    }
    onsets
}

/// The seven situations and `score`, in slot order.
const ALL_SITUATIONS: [Situation; 8] = [
    Situation::HumanRequest,
    Situation::HighIntent,
    Situation::ComplexDiscovery,
    Situation::MultipleStakeholders,
    Situation::Enterprise,
    Situation::Sensitive,
    Situation::RepeatedObjection,
    Situation::Score,
];

fn situation_slot(s: Situation) -> usize {
    match s {
        Situation::HumanRequest => 0,
        Situation::HighIntent => 1,
        Situation::ComplexDiscovery => 2,
        Situation::MultipleStakeholders => 3,
        Situation::Enterprise => 4,
        Situation::Sensitive => 5,
        Situation::RepeatedObjection => 6,
        Situation::Score => 7,
    }
}

/// The sum of the weights of the distinct signals in `seen`.
fn score_of(policy: &Policy, seen: SignalSet) -> f64 {
    seen.iter().map(|s| policy.weight(s)).sum()
}

/// Whether `guard` holds at one decision point.
fn guard_holds(policy: &Policy, guard: Guard, point: &DecisionPoint) -> bool {
    match guard {
        Guard::QualificationIncomplete => {
            (point.qualified & 0x0f).count_ones() < u32::from(policy.min_qualified)
        }
        Guard::Scheduling => point.signals.contains(Signal::Scheduling),
        Guard::SimpleQuestion => point.signals.contains(Signal::SimpleQuestion),
    }
}

/// The decision of `policy` in one conversation (policies.md, "Policy semantics").
pub fn decide(policy: &Policy, tl: &Timeline) -> Decision {
    if policy.hand_off_on.is_empty() {
        return Decision::NEVER;
    }
    let onsets = all_onsets(policy, tl);
    let onset_of = |s: Situation| onsets[situation_slot(s)];
    let first = policy.min_turn.max(1);
    for d in first..=u32::try_from(tl.points.len()).unwrap_or(u32::MAX) {
        let Some(point) = tl.points.get(d as usize - 1) else { break };
        let pending: Vec<Situation> = policy
            .hand_off_on
            .iter()
            .copied()
            .filter(|s| onset_of(*s).is_some_and(|o| o <= d))
            .collect();
        if pending.is_empty() {
            continue;
        }
        let guarded = policy.unless.iter().any(|g| guard_holds(policy, *g, point));
        let made_ready: Vec<Situation> = if guarded {
            pending.into_iter().filter(|s| policy.bypass.contains(s)).collect()
        } else {
            pending
        };
        // `made_ready` keeps `hand_off_on` order, so `min_by_key` breaks onset ties by it.
        let Some(reported) = made_ready.iter().copied().min_by_key(|s| onset_of(*s)) else {
            continue;
        };
        let handoff = d.checked_add(policy.delay).filter(|p| *p as usize <= tl.points.len());
        return match handoff {
            Some(point) => Decision { point: Some(point), situation: Some(reported) },
            None => Decision::NEVER,
        };
    }
    Decision::NEVER
}

/// For each of the seven situations (in `Situation::SEVEN` order), the first 1-based decision
/// point at which it holds under `policy`'s parameters (`repeated_objection_after`,
/// `enterprise_employees`), or `None`. Used by the estimator's features and by the generator.
pub fn situation_onsets(policy: &Policy, tl: &Timeline) -> [Option<u32>; 7] {
    let all = all_onsets(policy, tl);
    Situation::SEVEN.map(|s| all[situation_slot(s)])
}

/// Every policy's decision in every conversation: `result[p][c]` is `policies[p]` in
/// `timelines[c]`. Parallel over conversations; the result does not depend on scheduling.
pub fn replay_all(policies: &[&Policy], timelines: &[Timeline]) -> Vec<Vec<Decision>> {
    let per_conversation: Vec<Vec<Decision>> = timelines
        .par_iter()
        .map(|tl| policies.iter().map(|p| decide(p, tl)).collect())
        .collect();
    (0..policies.len())
        .map(|p| per_conversation.iter().map(|row| row[p]).collect())
        .collect()
}
