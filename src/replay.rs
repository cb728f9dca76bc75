//! Replay: the policy state machine of policies.md, run on compact per-conversation
//! timelines. Pure: no I/O. Text is matched once upstream (`signals`); here every decision
//! point is a bit set of signals plus cumulative qualification and participant counts.

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::model::{CompactMessage, Conversation, Message, QualMask, Sender};
use crate::policy::{Policy, Variant};
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timing {
    Earlier,
    Same,
    Later,
    OnlyPolicy,
    OnlyHistory,
    #[default]
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
    if conv.messages.is_sorted_by_key(|m| m.turn) {
        return timeline_of(&conv.messages, conv, prospect_signals);
    }
    let mut messages: Vec<&Message> = conv.messages.iter().collect();
    // Stable: messages that share a turn keep their input order.
    messages.sort_by_key(|m| m.turn);
    timeline_of(&messages, conv, prospect_signals)
}

/// `build_timeline` from a conversation's compact messages (`Dataset::compact`, sorted by
/// turn), the conversation itself giving the account and the logged handoff.
pub fn build_compact_timeline(
    conv: &Conversation,
    messages: &[CompactMessage],
    prospect_signals: &[SignalSet],
) -> Timeline {
    if messages.is_sorted_by_key(|m| m.turn) {
        return timeline_of(messages, conv, prospect_signals);
    }
    // Ingest gives them in turn order; sorting (stable) keeps the function total.
    let mut sorted: Vec<&CompactMessage> = messages.iter().collect();
    sorted.sort_by_key(|m| m.turn);
    timeline_of(&sorted, conv, prospect_signals)
}

/// What a timeline reads of one message, whole or compact.
trait TimelineMessage {
    /// Equal for the same participant, ordered.
    type Participant: Ord;
    fn turn(&self) -> i64;
    fn sender(&self) -> Sender;
    fn qualified(&self) -> QualMask;
    fn handoff_probability(&self) -> Option<f64>;
    fn participant(&self) -> Option<Self::Participant>;
}

impl<T: TimelineMessage> TimelineMessage for &T {
    type Participant = T::Participant;
    fn turn(&self) -> i64 {
        (*self).turn()
    }
    fn sender(&self) -> Sender {
        (*self).sender()
    }
    fn qualified(&self) -> QualMask {
        (*self).qualified()
    }
    fn handoff_probability(&self) -> Option<f64> {
        (*self).handoff_probability()
    }
    fn participant(&self) -> Option<T::Participant> {
        (*self).participant()
    }
}

impl TimelineMessage for Message {
    type Participant = String;
    fn turn(&self) -> i64 {
        self.turn
    }
    fn sender(&self) -> Sender {
        self.sender
    }
    fn qualified(&self) -> QualMask {
        self.qualified
    }
    fn handoff_probability(&self) -> Option<f64> {
        self.handoff_probability
    }
    fn participant(&self) -> Option<String> {
        normalized_participant(self.participant.as_deref())
    }
}

impl TimelineMessage for CompactMessage {
    type Participant = u32;
    fn turn(&self) -> i64 {
        self.turn
    }
    fn sender(&self) -> Sender {
        self.sender
    }
    fn qualified(&self) -> QualMask {
        self.qualified
    }
    fn handoff_probability(&self) -> Option<f64> {
        CompactMessage::handoff_probability(self)
    }
    fn participant(&self) -> Option<u32> {
        CompactMessage::participant(self)
    }
}

/// The timeline of `messages` (sorted by turn) of `conv`.
fn timeline_of<M: TimelineMessage>(
    messages: &[M],
    conv: &Conversation,
    prospect_signals: &[SignalSet],
) -> Timeline {
    // Exact size: millions of timelines are held for the whole run.
    let prospect = messages.iter().filter(|m| m.sender() == Sender::Prospect).count();
    let mut points = Vec::with_capacity(prospect);
    let mut participants = Distinct::default();
    let mut next_unread = 0usize;
    let mut qualified: QualMask = 0;
    for message in messages.iter().filter(|m| m.sender() == Sender::Prospect) {
        // Fold in every message (any sender) with a turn up to and including this one.
        while let Some(m) = messages.get(next_unread).filter(|m| m.turn() <= message.turn()) {
            qualified |= m.qualified();
            if m.sender() == Sender::Prospect {
                if let Some(p) = m.participant() {
                    participants.insert(p);
                }
            }
            next_unread += 1;
        }
        let signals = prospect_signals.get(points.len()).copied().unwrap_or(SignalSet::EMPTY);
        points.push(DecisionPoint {
            turn: message.turn(),
            signals,
            qualified,
            participants: u32::try_from(participants.len()).unwrap_or(u32::MAX),
            handoff_probability: message.handoff_probability(),
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

/// Distinct values, counted without a tree while they are few (a conversation rarely has more
/// than a handful of participants).
#[derive(Debug)]
struct Distinct<K: Ord> {
    few: Vec<K>,
    many: BTreeSet<K>,
}

impl<K: Ord> Default for Distinct<K> {
    fn default() -> Self {
        Distinct { few: Vec::new(), many: BTreeSet::new() }
    }
}

impl<K: Ord> Distinct<K> {
    const FEW: usize = 16;

    fn insert(&mut self, key: K) {
        if !self.many.is_empty() {
            self.many.insert(key);
        } else if !self.few.contains(&key) {
            if self.few.len() < Self::FEW {
                self.few.push(key);
            } else {
                self.many.extend(self.few.drain(..));
                self.many.insert(key);
            }
        }
    }

    fn len(&self) -> usize {
        self.few.len() + self.many.len()
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
        for situation in Situation::ALL {
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
    // Policy-major straight away: no per-conversation vectors to allocate and transpose.
    policies.iter().map(|p| timelines.par_iter().map(|tl| decide(p, tl)).collect()).collect()
}

/// History's own decisions, as `Decision`s (no situation is reported for them).
pub fn historical_decisions(timelines: &[Timeline]) -> Vec<Decision> {
    timelines.iter().map(|tl| Decision { point: tl.historical, situation: None }).collect()
}

/// Every policy of a run replayed on every timeline: `historical` first, then the named
/// policies in file order, then every sweep variant; `names` and `decisions` align.
pub struct Replayed<'a> {
    pub names: Vec<&'a str>,
    /// Per policy, per conversation.
    pub decisions: Vec<Vec<Decision>>,
}

impl<'a> Replayed<'a> {
    pub fn run(policies: &'a [Policy], variants: &'a [Variant], timelines: &[Timeline]) -> Self {
        let mut names: Vec<&str> = vec!["historical"];
        names.extend(policies.iter().map(|p| p.name.as_str()));
        names.extend(variants.iter().map(|v| v.name.as_str()));
        let every: Vec<&Policy> =
            policies.iter().chain(variants.iter().map(|v| &v.policy)).collect();
        let mut decisions = vec![historical_decisions(timelines)];
        decisions.extend(replay_all(&every, timelines));
        Replayed { names, decisions }
    }

    pub fn historical(&self) -> &[Decision] {
        &self.decisions[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Outcome};
    use Signal as S;
    use Situation as Sit;

    /// A timeline of prospect messages at turns 1, 3, 5, ... with the given signals and
    /// cumulative qualification masks.
    fn timeline(points: &[(&[Signal], QualMask)]) -> Timeline {
        Timeline {
            points: points
                .iter()
                .enumerate()
                .map(|(i, (signals, qualified))| DecisionPoint {
                    turn: 2 * i as i64 + 1,
                    signals: SignalSet::of(signals),
                    qualified: *qualified,
                    participants: 1,
                    handoff_probability: None,
                })
                .collect(),
            ..Timeline::default()
        }
    }

    fn plain(n: usize) -> Timeline {
        timeline(&vec![(&[][..], 0); n])
    }

    fn at(point: u32, situation: Situation) -> Decision {
        Decision { point: Some(point), situation: Some(situation) }
    }

    fn message(
        turn: i64,
        sender: Sender,
        participant: Option<&str>,
        qualified: QualMask,
    ) -> Message {
        Message {
            turn,
            sent_at: turn * 1_000_000,
            sender,
            participant: participant.map(str::to_string),
            text: String::new(),
            tags: vec![],
            qualified,
            handoff_probability: None,
        }
    }

    fn conversation(messages: Vec<Message>, handoff_turn: Option<i64>) -> Conversation {
        Conversation {
            id: "c".into(),
            messages,
            outcome: handoff_turn.map(|t| Outcome { handoff_turn: Some(t), ..Outcome::default() }),
            ..Conversation::default()
        }
    }

    #[test]
    fn each_signal_situation_holds_from_its_first_signal() {
        let cases = [
            (Sit::HumanRequest, S::HumanRequest),
            (Sit::HighIntent, S::DemoRequest),
            (Sit::HighIntent, S::Pricing),
            (Sit::HighIntent, S::Timeline),
            (Sit::ComplexDiscovery, S::Technical),
            (Sit::ComplexDiscovery, S::CustomWorkflow),
            (Sit::ComplexDiscovery, S::Integration),
            (Sit::MultipleStakeholders, S::Stakeholders),
            (Sit::Enterprise, S::Procurement),
            (Sit::Enterprise, S::SecurityReview),
            (Sit::Enterprise, S::CustomPricing),
            (Sit::Sensitive, S::Dissatisfaction),
            (Sit::Sensitive, S::Escalation),
            (Sit::Sensitive, S::Competitor),
        ];
        for (situation, signal) in cases {
            let tl = timeline(&[(&[], 0), (&[S::SimpleQuestion], 0), (&[signal], 0), (&[], 0)]);
            let policy = Policy::new("p", vec![situation]);
            assert_eq!(decide(&policy, &tl), at(3, situation), "{situation} via {signal}");
            // The other situations do not fire on this signal's message.
            for other in Situation::SEVEN.into_iter().filter(|s| *s != situation) {
                if other.signals().contains(signal) {
                    continue;
                }
                let d = decide(&Policy::new("p", vec![other]), &tl);
                assert_eq!(d, Decision::NEVER, "{other} must not fire on {signal}");
            }
        }
    }

    #[test]
    fn situations_stay_pending_after_their_signal() {
        let tl = timeline(&[(&[S::Pricing], 0), (&[], 0), (&[], 0)]);
        let mut policy = Policy::new("p", vec![Sit::HighIntent]);
        policy.min_turn = 3;
        assert_eq!(decide(&policy, &tl), at(3, Sit::HighIntent));
    }

    #[test]
    fn empty_hand_off_on_never_hands_off() {
        let tl = timeline(&[(&[S::HumanRequest, S::Pricing], 0xf)]);
        assert_eq!(decide(&Policy::new("p", vec![]), &tl), Decision::NEVER);
    }

    #[test]
    fn no_pending_situation_never_hands_off() {
        let policy = Policy::new("p", Situation::SEVEN.to_vec());
        assert_eq!(decide(&policy, &plain(5)), Decision::NEVER);
    }

    #[test]
    fn guards_hold_back_until_they_stop_holding() {
        let mut policy = Policy::new("p", vec![Sit::HighIntent]);
        policy.unless = vec![Guard::Scheduling, Guard::SimpleQuestion];
        let tl =
            timeline(&[(&[S::Pricing, S::SimpleQuestion], 0), (&[S::Scheduling], 0), (&[], 0)]);
        assert_eq!(decide(&policy, &tl), at(3, Sit::HighIntent));
    }

    #[test]
    fn qualification_incomplete_holds_below_min_qualified() {
        let mut policy = Policy::new("p", vec![Sit::HighIntent]);
        policy.unless = vec![Guard::QualificationIncomplete];
        // budget, then budget+need, then budget+need+timeline (3 fields).
        let tl = timeline(&[(&[S::Pricing], 0b0001), (&[], 0b0101), (&[], 0b1101)]);
        assert_eq!(decide(&policy, &tl), at(3, Sit::HighIntent));
        policy.min_qualified = 2;
        assert_eq!(decide(&policy, &tl), at(2, Sit::HighIntent));
        policy.min_qualified = 0;
        assert_eq!(decide(&policy, &tl), at(1, Sit::HighIntent));
        policy.min_qualified = 4;
        assert_eq!(decide(&policy, &tl), Decision::NEVER);
    }

    #[test]
    fn bypass_situations_pass_guards_and_are_the_only_ones_reported() {
        let mut policy = Policy::new("p", vec![Sit::HighIntent, Sit::HumanRequest]);
        policy.unless = vec![Guard::SimpleQuestion];
        assert_eq!(policy.bypass, vec![Sit::HumanRequest]);
        // high_intent pending since 1, held back by the guard; human_request bypasses at 2.
        let tl = timeline(&[
            (&[S::Pricing, S::SimpleQuestion], 0),
            (&[S::HumanRequest, S::SimpleQuestion], 0),
        ]);
        assert_eq!(decide(&policy, &tl), at(2, Sit::HumanRequest));
        // Without a guard holding, every pending situation made it ready: the earliest wins.
        let tl = timeline(&[(&[S::Pricing, S::SimpleQuestion], 0), (&[S::HumanRequest], 0)]);
        assert_eq!(decide(&policy, &tl), at(2, Sit::HighIntent));
        // No bypass: the guard holds human_request back too.
        policy.bypass = vec![];
        let tl = timeline(&[(&[S::HumanRequest, S::SimpleQuestion], 0), (&[], 0)]);
        assert_eq!(decide(&policy, &tl), at(2, Sit::HumanRequest));
    }

    #[test]
    fn min_turn_applies_to_bypass_situations_too() {
        let mut policy = Policy::new("p", vec![Sit::HumanRequest]);
        policy.min_turn = 3;
        let tl = timeline(&[(&[S::HumanRequest], 0), (&[], 0), (&[], 0), (&[], 0)]);
        assert_eq!(decide(&policy, &tl), at(3, Sit::HumanRequest));
        policy.min_turn = 5;
        assert_eq!(decide(&policy, &tl), Decision::NEVER);
    }

    #[test]
    fn delay_hands_off_later_without_consulting_guards_and_not_beyond_the_end() {
        let mut policy = Policy::new("p", vec![Sit::HighIntent]);
        policy.unless = vec![Guard::Scheduling];
        policy.delay = 2;
        let tl = timeline(&[(&[S::Pricing], 0), (&[], 0), (&[S::Scheduling], 0)]);
        assert_eq!(decide(&policy, &tl), at(3, Sit::HighIntent));
        policy.delay = 3;
        assert_eq!(decide(&policy, &tl), Decision::NEVER);
    }

    #[test]
    fn score_counts_distinct_signals_with_tolerance() {
        let mut policy = Policy::new("p", vec![Sit::Score]);
        policy.weights[S::Pricing.index()] = 0.1;
        policy.weights[S::DemoRequest.index()] = 0.2;
        policy.threshold = 0.3;
        // Pricing twice adds once; 0.1 + 0.2 reaches 0.3 despite floating point.
        let tl = timeline(&[(&[S::Pricing], 0), (&[S::Pricing], 0), (&[S::DemoRequest], 0)]);
        policy.threshold = 0.3;
        assert_eq!(decide(&policy, &tl), at(3, Sit::Score));
        policy.threshold = 0.30000000000000004 + 1e-12;
        assert_eq!(decide(&policy, &tl), at(3, Sit::Score));
        policy.threshold = 0.3 + 1e-6;
        assert_eq!(decide(&policy, &tl), Decision::NEVER);
        policy.threshold = 0.1;
        assert_eq!(decide(&policy, &tl), at(1, Sit::Score));
    }

    #[test]
    fn score_within_tolerance_below_threshold_reaches_it() {
        let mut policy = Policy::new("p", vec![Sit::Score]);
        policy.weights[S::Pricing.index()] = 0.1;
        policy.weights[S::DemoRequest.index()] = 0.2;
        policy.weights[S::Timeline.index()] = 0.3;
        // 0.1 + 0.2 + 0.3 = 0.6000000000000001 in floating point; the sum in some orders is
        // below 0.6 by an ulp, which the tolerance absorbs.
        policy.threshold = 0.6 + 5e-10;
        let tl = timeline(&[(&[S::Pricing], 0), (&[S::DemoRequest], 0), (&[S::Timeline], 0)]);
        assert_eq!(decide(&policy, &tl), at(3, Sit::Score));
    }

    #[test]
    fn repeated_objection_needs_the_same_category_in_distinct_messages() {
        let policy = Policy::new("p", vec![Sit::RepeatedObjection]);
        let one = timeline(&[(&[S::ObjectionPrice, S::ObjectionTiming], 0), (&[], 0)]);
        assert_eq!(decide(&policy, &one), Decision::NEVER);
        let mixed = timeline(&[(&[S::ObjectionPrice], 0), (&[S::ObjectionTiming], 0)]);
        assert_eq!(decide(&policy, &mixed), Decision::NEVER);
        let twice = timeline(&[(&[S::ObjectionPrice], 0), (&[], 0), (&[S::ObjectionPrice], 0)]);
        assert_eq!(decide(&policy, &twice), at(3, Sit::RepeatedObjection));
        let mut three = policy.clone();
        three.repeated_objection_after = 3;
        assert_eq!(decide(&three, &twice), Decision::NEVER);
    }

    #[test]
    fn multiple_stakeholders_from_participants() {
        let policy = Policy::new("p", vec![Sit::MultipleStakeholders]);
        let mut tl = plain(3);
        tl.points[1].participants = 2;
        tl.points[2].participants = 2;
        assert_eq!(decide(&policy, &tl), at(2, Sit::MultipleStakeholders));
    }

    #[test]
    fn enterprise_from_segment_or_employee_count() {
        let mut policy = Policy::new("p", vec![Sit::Enterprise]);
        let mut tl = plain(2);
        assert_eq!(decide(&policy, &tl), Decision::NEVER);
        tl.employee_count = Some(999);
        assert_eq!(decide(&policy, &tl), Decision::NEVER);
        tl.employee_count = Some(1000);
        assert_eq!(decide(&policy, &tl), at(1, Sit::Enterprise));
        policy.enterprise_employees = 5000;
        assert_eq!(decide(&policy, &tl), Decision::NEVER);
        tl.enterprise_segment = true;
        assert_eq!(decide(&policy, &tl), at(1, Sit::Enterprise));
    }

    #[test]
    fn reported_situation_is_the_first_pending_with_ties_in_list_order() {
        let tl = timeline(&[(&[S::Competitor], 0), (&[S::Pricing, S::Technical], 0)]);
        let mut policy =
            Policy::new("p", vec![Sit::HighIntent, Sit::ComplexDiscovery, Sit::Sensitive]);
        policy.min_turn = 2;
        assert_eq!(decide(&policy, &tl), at(2, Sit::Sensitive));
        policy.hand_off_on = vec![Sit::ComplexDiscovery, Sit::HighIntent];
        assert_eq!(decide(&policy, &tl), at(2, Sit::ComplexDiscovery));
        policy.hand_off_on = vec![Sit::HighIntent, Sit::ComplexDiscovery];
        assert_eq!(decide(&policy, &tl), at(2, Sit::HighIntent));
    }

    #[test]
    fn onsets_cover_the_seven_situations() {
        let mut tl = timeline(&[
            (&[S::ObjectionNeed], 0),
            (&[S::HumanRequest, S::ObjectionNeed], 0),
            (&[S::Integration], 0),
        ]);
        tl.enterprise_segment = true;
        let onsets = situation_onsets(&Policy::new("p", vec![]), &tl);
        assert_eq!(onsets, [Some(2), None, Some(3), None, Some(1), None, Some(2)]);
    }

    #[test]
    fn timeline_accumulates_qualification_and_participants() {
        let conv = conversation(
            vec![
                message(1, Sender::Ai, None, 0),
                message(2, Sender::Prospect, Some("Ann"), 0b0001),
                // Captured in the AI's reply: counts from the next decision point.
                message(3, Sender::Ai, None, 0b0010),
                message(4, Sender::Prospect, Some(" ann "), 0),
                message(5, Sender::Prospect, Some(""), 0),
                message(6, Sender::Prospect, Some("Bob"), 0b0100),
            ],
            Some(5),
        );
        let signals = [SignalSet::of(&[S::Pricing]), SignalSet::EMPTY];
        let tl = build_timeline(&conv, &signals);
        let turns: Vec<i64> = tl.points.iter().map(|p| p.turn).collect();
        assert_eq!(turns, vec![2, 4, 5, 6]);
        let qualified: Vec<QualMask> = tl.points.iter().map(|p| p.qualified).collect();
        assert_eq!(qualified, vec![0b0001, 0b0011, 0b0011, 0b0111]);
        let participants: Vec<u32> = tl.points.iter().map(|p| p.participants).collect();
        assert_eq!(participants, vec![1, 1, 1, 2]);
        // Missing signal sets mean no signals rather than a panic.
        assert_eq!(tl.points[0].signals, SignalSet::of(&[S::Pricing]));
        assert_eq!(tl.points[3].signals, SignalSet::EMPTY);
        assert_eq!(tl.historical, Some(3));
    }

    #[test]
    fn ai_qualification_counts_at_the_next_decision_point_for_the_guard() {
        let conv = conversation(
            vec![
                message(1, Sender::Prospect, None, 0b0011),
                message(2, Sender::Ai, None, 0b0100),
                message(3, Sender::Prospect, None, 0),
            ],
            None,
        );
        let tl = build_timeline(&conv, &[SignalSet::of(&[S::Pricing]), SignalSet::EMPTY]);
        let mut policy = Policy::new("p", vec![Sit::HighIntent]);
        policy.unless = vec![Guard::QualificationIncomplete];
        assert_eq!(decide(&policy, &tl), at(2, Sit::HighIntent));
    }

    #[test]
    fn historical_is_the_last_point_at_or_before_the_handoff_turn() {
        let messages = vec![
            message(2, Sender::Ai, None, 0),
            message(3, Sender::Prospect, None, 0),
            message(4, Sender::Ai, None, 0),
            message(5, Sender::Prospect, None, 0),
        ];
        let at_turn = |t| build_timeline(&conversation(messages.clone(), t), &[]).historical;
        assert_eq!(at_turn(None), None);
        assert_eq!(at_turn(Some(3)), Some(1));
        assert_eq!(at_turn(Some(4)), Some(1));
        assert_eq!(at_turn(Some(9)), Some(2));
        // Before the first prospect message: decision point 1.
        assert_eq!(at_turn(Some(2)), Some(1));
        let no_prospect = conversation(vec![message(1, Sender::Ai, None, 0)], Some(1));
        assert_eq!(build_timeline(&no_prospect, &[]).historical, None);
    }

    #[test]
    fn replay_all_is_per_policy_then_per_conversation() {
        let a = Policy::new("a", vec![Sit::HighIntent]);
        let b = Policy::new("b", vec![]);
        let tls = vec![timeline(&[(&[S::Pricing], 0)]), plain(2)];
        let out = replay_all(&[&a, &b], &tls);
        assert_eq!(
            out,
            vec![vec![at(1, Sit::HighIntent), Decision::NEVER], vec![Decision::NEVER; 2]]
        );
    }
}
