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

// The replay kernel. A situation, once it holds, stays pending, so what a policy has pending at
// decision point `d` is the set of situations whose onset (first point at which it holds) is at
// most `d`: per conversation the eight onsets say it all, and only the guards vary from point
// to point. So one pass over a timeline (`Facts::fill`) gathers, for every policy at once, what
// the onsets depend on, and one byte per decision point of the guards that hold there; a
// policy's decision is then a few minima over its situation mask and a scan of those bytes
// (`Rule::ready`), a few instructions per decision point and no allocation. Policies that
// differ only in their delay, or in parameters their situations do not read, share a `Rule`
// and so its scan. A search (search.md, "Fast candidates") evaluates its candidates the same
// way.

/// Situation masks: bit `k` is `Situation::ALL[k]` (declaration order).
fn situation_bit(s: Situation) -> u8 {
    1 << (s as u8)
}

/// Onset of a situation that never holds (timelines are far shorter than `u32::MAX` points).
const NEVER_HOLDS: u32 = u32::MAX;

/// The signal bits of the six situations that signals make hold, by slot (`Situation::ALL`
/// order; `multiple_stakeholders` also holds on participants, `enterprise` on the account).
const SIGNAL_SITUATIONS: [(u8, u32); 6] = {
    use Signal as S;
    const fn bits(signals: &[Signal]) -> u32 {
        let mut b = 0u32;
        let mut i = 0;
        while i < signals.len() {
            b |= 1 << (signals[i] as u8);
            i += 1;
        }
        b
    }
    [
        (0, bits(&[S::HumanRequest])),
        (1, bits(&[S::DemoRequest, S::Pricing, S::Timeline])),
        (2, bits(&[S::Technical, S::CustomWorkflow, S::Integration])),
        (3, bits(&[S::Stakeholders])),
        (4, bits(&[S::Procurement, S::SecurityReview, S::CustomPricing])),
        (5, bits(&[S::Dissatisfaction, S::Escalation, S::Competitor])),
    ]
};

/// The bits of the five objection signals (`Signal::OBJECTIONS`, in order from bit
/// `Signal::ObjectionPrice`).
const OBJECTION_SHIFT: u32 = Signal::ObjectionPrice as u32;

/// Guard bits of one decision point (`Facts::guards`). `qualification_incomplete` depends on
/// `min_qualified`, so the point carries it for every value: bit `QUALIFIED_BELOW << (k - 1)`
/// says fewer than `k` fields (k = 1..=4) were captured; `GUARD_ALWAYS` stands for
/// `min_qualified` above 4, which no point satisfies.
const GUARD_SCHEDULING: u8 = 1 << 0;
const GUARD_SIMPLE_QUESTION: u8 = 1 << 1;
const GUARD_QUALIFIED_BELOW: u8 = 1 << 2;
const GUARD_ALWAYS: u8 = 1 << 6;

/// The guard bits that hold at `point`.
fn guard_bits(point: &DecisionPoint) -> u8 {
    let captured = (point.qualified & 0x0f).count_ones();
    // Bit k - 1 of `below` (k = 1..=4) is set when `captured < k`.
    let below = (0b1111u8 << captured) & 0b1111;
    let signals = point.signals;
    let scheduling = if signals.contains(Signal::Scheduling) { GUARD_SCHEDULING } else { 0 };
    let simple = if signals.contains(Signal::SimpleQuestion) { GUARD_SIMPLE_QUESTION } else { 0 };
    GUARD_ALWAYS | (below * GUARD_QUALIFIED_BELOW) | scheduling | simple
}

/// The sum of the weights of the distinct signals in `seen`.
fn score_of(weights: &[f64; Signal::ALL.len()], seen: SignalSet) -> f64 {
    seen.iter().map(|s| weights[s.index()]).sum()
}

/// What every policy's decision in one timeline depends on, gathered in one pass
/// (`fill`); reused from timeline to timeline so that replay allocates nothing per
/// conversation.
#[derive(Debug, Default)]
pub struct Facts {
    /// Decision points.
    points: u32,
    /// Per slot, the onset of the parameter-free situations (`enterprise` from its signals
    /// only; `repeated_objection` and `score` are not filled here).
    onsets: [u32; 8],
    /// Per decision point, the guard bits holding there.
    guards: Vec<u8>,
    /// `reach[k]`: the first point at which one objection category has appeared in `k + 1`
    /// distinct prospect messages.
    reach: Vec<u32>,
    /// The points at which the set of signals seen so far grows (the first point always).
    seen: Vec<u32>,
    /// Per weight vector of the replayer, per entry of `seen`, the score of the signals seen.
    scores: Vec<f64>,
    /// The account: `segment = enterprise`, and `employee_count`.
    enterprise_segment: bool,
    employee_count: Option<i64>,
}

impl Facts {
    /// Gathers `tl`'s facts, with the scores under each of `weights`.
    pub fn fill(&mut self, tl: &Timeline, weights: &[[f64; Signal::ALL.len()]]) {
        self.points = u32::try_from(tl.points.len()).unwrap_or(u32::MAX);
        self.onsets = [NEVER_HOLDS; 8];
        self.guards.clear();
        self.reach.clear();
        self.seen.clear();
        self.scores.clear();
        self.enterprise_segment = tl.enterprise_segment;
        self.employee_count = tl.employee_count;
        let mut seen_sets = [SignalSet::EMPTY; Signal::ALL.len() + 1];
        let mut seen = SignalSet::EMPTY;
        // The situations that hold by now, and those whose onset is recorded.
        let mut held: u8 = 0;
        let mut known: u8 = 0;
        let mut objections = [0u32; 5];
        let mut most = 0u32;
        for (i, point) in tl.points.iter().enumerate() {
            let d = u32::try_from(i + 1).unwrap_or(u32::MAX);
            self.guards.push(guard_bits(point));
            let signals = point.signals;
            let grown = seen.union(signals);
            if i == 0 || grown != seen {
                seen = grown;
                // Out-of-vocabulary bits may grow the set without changing any score: only
                // vocabulary growth is recorded (at most 22 entries).
                let vocabulary = SignalSet(seen.0 & ((1 << Signal::ALL.len()) - 1));
                let k = self.seen.len();
                if k == 0 || seen_sets[k - 1] != vocabulary {
                    seen_sets[k] = vocabulary;
                    self.seen.push(d);
                }
                for (slot, bits) in SIGNAL_SITUATIONS {
                    if seen.0 & bits != 0 {
                        held |= 1 << slot;
                    }
                }
            }
            if point.participants >= 2 {
                held |= situation_bit(Situation::MultipleStakeholders);
            }
            let objection_bits = (signals.0 >> OBJECTION_SHIFT) & 0b1_1111;
            if objection_bits != 0 {
                for (k, count) in objections.iter_mut().enumerate() {
                    if objection_bits & (1 << k) != 0 {
                        *count = count.saturating_add(1);
                        most = most.max(*count);
                    }
                }
                // The most frequent category grows by at most one per message.
                while self.reach.len() < most as usize {
                    self.reach.push(d);
                }
            }
            let mut new = held & !known;
            known = held;
            while new != 0 {
                let slot = new.trailing_zeros() as usize;
                self.onsets[slot] = d;
                new &= new - 1;
            }
        }
        for w in weights {
            self.scores.extend(seen_sets[..self.seen.len()].iter().map(|s| score_of(w, *s)));
        }
    }
}

/// A policy compiled for replay: everything its decision depends on but its delay. The
/// parameters its situations do not read are normalised away, so policies that decide alike
/// compare equal.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rule {
    /// `hand_off_on` as slots, in order, first occurrences only.
    order: [u8; 8],
    len: u8,
    /// `hand_off_on`, and the part of it in `bypass`, as situation masks.
    hand: u8,
    bypass: u8,
    /// The guard bits (`Facts::guards`) of `unless` under `min_qualified`.
    unless: u8,
    /// `min_turn`, at least 1.
    first: u32,
    /// `enterprise_employees`, when `enterprise` is listed.
    enterprise_employees: Option<i64>,
    /// `repeated_objection_after`, when `repeated_objection` is listed.
    repeated_objection_after: Option<u32>,
    /// When `score` is listed: the index of its weights in the replayer's list, and
    /// `threshold - SCORE_TOLERANCE` (as bits, so that NaN compares equal to itself).
    score: Option<(usize, u64)>,
}

impl Rule {
    /// `policy` compiled; `weight_index` gives the index of its weights when `score` is listed.
    fn of(policy: &Policy, weight_index: impl FnOnce() -> usize) -> Rule {
        let mut order = [0u8; 8];
        let mut len = 0u8;
        let mut hand = 0u8;
        for &s in &policy.hand_off_on {
            let bit = situation_bit(s);
            if hand & bit == 0 {
                order[usize::from(len)] = s as u8;
                len += 1;
                hand |= bit;
            }
        }
        let bypass = policy.bypass.iter().fold(0u8, |m, &s| m | situation_bit(s)) & hand;
        let qualification = match policy.min_qualified {
            0 => 0,
            k @ 1..=4 => GUARD_QUALIFIED_BELOW << (k - 1),
            _ => GUARD_ALWAYS,
        };
        let unless = policy.unless.iter().fold(0u8, |m, g| {
            m | match g {
                Guard::QualificationIncomplete => qualification,
                Guard::Scheduling => GUARD_SCHEDULING,
                Guard::SimpleQuestion => GUARD_SIMPLE_QUESTION,
            }
        });
        let listed = |s: Situation| hand & situation_bit(s) != 0;
        Rule {
            order,
            len,
            hand,
            bypass,
            unless,
            first: policy.min_turn.max(1),
            enterprise_employees: listed(Situation::Enterprise)
                .then_some(policy.enterprise_employees),
            repeated_objection_after: listed(Situation::RepeatedObjection)
                .then_some(policy.repeated_objection_after),
            score: listed(Situation::Score)
                .then(|| (weight_index(), (policy.threshold - SCORE_TOLERANCE).to_bits())),
        }
    }

    /// The onset of slot `slot` in `facts` under this rule's parameters (`NEVER_HOLDS` if
    /// none); `enterprise_employees` and `repeated_objection_after` are passed for the slots
    /// this rule does not list too (`situation_onsets`).
    fn onset(&self, facts: &Facts, slot: u8, enterprise_employees: i64, repeated: u32) -> u32 {
        let first_point = if facts.points > 0 { 1 } else { NEVER_HOLDS };
        match slot {
            4 => {
                let account = facts.enterprise_segment
                    || facts.employee_count.is_some_and(|n| n >= enterprise_employees);
                if account {
                    first_point
                } else {
                    facts.onsets[4]
                }
            }
            6 => match repeated {
                0 => first_point,
                k => facts.reach.get(k as usize - 1).copied().unwrap_or(NEVER_HOLDS),
            },
            7 => match self.score {
                Some((w, threshold)) => {
                    let threshold = f64::from_bits(threshold);
                    let per_seen = facts.seen.len();
                    let scores = &facts.scores[w * per_seen..(w + 1) * per_seen];
                    scores
                        .iter()
                        .position(|&score| score >= threshold)
                        .map_or(NEVER_HOLDS, |j| facts.seen[j])
                }
                None => NEVER_HOLDS,
            },
            _ => facts.onsets[usize::from(slot)],
        }
    }

    /// The decision point at which the policy is ready, and the slot of the situation it
    /// reports (policies.md, "Policy semantics"), before its delay.
    fn ready(&self, facts: &Facts) -> Option<(u32, u8)> {
        let enterprise = self.enterprise_employees.unwrap_or(i64::MAX);
        let repeated = self.repeated_objection_after.unwrap_or(u32::MAX);
        // The earliest onset among the listed situations, and the bypass ones (ties: the
        // first in `hand_off_on`).
        let (mut earliest, mut reported) = (NEVER_HOLDS, 0u8);
        let (mut earliest_bypass, mut reported_bypass) = (NEVER_HOLDS, 0u8);
        for &slot in &self.order[..usize::from(self.len)] {
            let onset = self.onset(facts, slot, enterprise, repeated);
            if onset < earliest {
                (earliest, reported) = (onset, slot);
            }
            if self.bypass & (1 << slot) != 0 && onset < earliest_bypass {
                (earliest_bypass, reported_bypass) = (onset, slot);
            }
        }
        // Nothing is pending before `earliest`, nor is the policy ready before `first`.
        let from = earliest.max(self.first);
        if earliest == NEVER_HOLDS || from > facts.points {
            return None;
        }
        if self.unless == 0 {
            return Some((from, reported));
        }
        // From `bypassed` on a bypass situation is pending, so the policy is ready there
        // whatever the guards; before it, it is ready at the first point no guard holds, and
        // then every pending situation made it ready (so the earliest is reported).
        let bypassed = earliest_bypass.max(from);
        let last = bypassed.min(facts.points);
        let unguarded = facts.guards[from as usize - 1..last as usize]
            .iter()
            .position(|g| g & self.unless == 0)
            .map(|k| from + k as u32);
        match unguarded {
            Some(d) => Some((d, reported)),
            None if bypassed <= facts.points => Some((bypassed, reported_bypass)),
            None => None,
        }
    }
}

/// The decision of a policy ready at `ready` with `delay`, in a timeline of `points` points.
fn delayed(ready: Option<(u32, u8)>, delay: u32, points: u32) -> Decision {
    let Some((d, slot)) = ready else { return Decision::NEVER };
    match d.checked_add(delay).filter(|p| *p <= points) {
        Some(point) => {
            Decision { point: Some(point), situation: Some(Situation::ALL[usize::from(slot)]) }
        }
        None => Decision::NEVER,
    }
}

/// Policies compiled for replay together: their distinct rules and score weights, evaluated
/// once per timeline each.
#[derive(Clone, Debug)]
pub struct Replayer {
    weights: Vec<[f64; Signal::ALL.len()]>,
    rules: Vec<Rule>,
    /// Per policy, in the caller's order: its rule and its delay.
    policies: Vec<(usize, u32)>,
}

/// Conversations per unit of parallel work in `Replayer::replay`.
const REPLAY_CHUNK: usize = 2048;

impl Replayer {
    pub fn new(policies: &[&Policy]) -> Replayer {
        let mut weights: Vec<[f64; Signal::ALL.len()]> = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        let mut compiled = Vec::with_capacity(policies.len());
        for policy in policies {
            let rule = Rule::of(policy, || {
                let bits = policy.weights.map(f64::to_bits);
                weights.iter().position(|w| w.map(f64::to_bits) == bits).unwrap_or_else(|| {
                    weights.push(policy.weights);
                    weights.len() - 1
                })
            });
            let index = rules.iter().position(|r| *r == rule).unwrap_or_else(|| {
                rules.push(rule);
                rules.len() - 1
            });
            compiled.push((index, policy.delay));
        }
        Replayer { weights, rules, policies: compiled }
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Every policy's decision in `tl`, into `out` (one per policy, in order); `facts` and
    /// `ready` are scratch space reused between calls.
    pub fn decide_into(
        &self,
        tl: &Timeline,
        facts: &mut Facts,
        ready: &mut Vec<Option<(u32, u8)>>,
        mut out: impl FnMut(usize, Decision),
    ) {
        facts.fill(tl, &self.weights);
        ready.clear();
        ready.extend(self.rules.iter().map(|rule| rule.ready(facts)));
        for (p, &(rule, delay)) in self.policies.iter().enumerate() {
            out(p, delayed(ready[rule], delay, facts.points));
        }
    }

    /// Every policy's decision in every timeline: `result[p][c]` is policy `p` in
    /// `timelines[c]`. Parallel over chunks of conversations, each writing its part of every
    /// policy's column; the result does not depend on scheduling.
    pub fn replay(&self, timelines: &[Timeline]) -> Vec<Vec<Decision>> {
        let mut columns: Vec<Vec<Decision>> =
            (0..self.len()).map(|_| vec![Decision::NEVER; timelines.len()]).collect();
        let chunks = timelines.len().div_ceil(REPLAY_CHUNK);
        let mut parts: Vec<Vec<&mut [Decision]>> =
            (0..chunks).map(|_| Vec::with_capacity(self.len())).collect();
        for column in &mut columns {
            for (part, slice) in parts.iter_mut().zip(column.chunks_mut(REPLAY_CHUNK)) {
                part.push(slice);
            }
        }
        parts.into_par_iter().zip(timelines.par_chunks(REPLAY_CHUNK)).for_each(
            |(mut part, tls)| {
                let mut facts = Facts::default();
                let mut ready = Vec::with_capacity(self.rules.len());
                for (c, tl) in tls.iter().enumerate() {
                    self.decide_into(tl, &mut facts, &mut ready, |p, d| part[p][c] = d);
                }
            },
        );
        columns
    }
}

thread_local! {
    /// `decide`'s and `situation_onsets`' scratch space, so that a call allocates nothing
    /// once a thread has seen a timeline as long.
    static SCRATCH: std::cell::RefCell<Facts> = std::cell::RefCell::new(Facts::default());
}

/// The decision of `policy` in one conversation (policies.md, "Policy semantics").
pub fn decide(policy: &Policy, tl: &Timeline) -> Decision {
    if policy.hand_off_on.is_empty() {
        return Decision::NEVER;
    }
    let rule = Rule::of(policy, || 0);
    let weights: &[[f64; Signal::ALL.len()]] = match rule.score {
        Some(_) => std::slice::from_ref(&policy.weights),
        None => &[],
    };
    SCRATCH.with_borrow_mut(|facts| {
        facts.fill(tl, weights);
        delayed(rule.ready(facts), policy.delay, facts.points)
    })
}

/// For each of the seven situations (in `Situation::SEVEN` order), the first 1-based decision
/// point at which it holds under `policy`'s parameters (`repeated_objection_after`,
/// `enterprise_employees`), or `None`. Used by the estimator's features and by the generator.
pub fn situation_onsets(policy: &Policy, tl: &Timeline) -> [Option<u32>; 7] {
    let rule = Rule::of(policy, || 0);
    SCRATCH.with_borrow_mut(|facts| {
        facts.fill(tl, &[]);
        Situation::SEVEN.map(|s| {
            let onset = rule.onset(
                facts,
                s as u8,
                policy.enterprise_employees,
                policy.repeated_objection_after,
            );
            (onset != NEVER_HOLDS).then_some(onset)
        })
    })
}

/// Every policy's decision in every conversation: `result[p][c]` is `policies[p]` in
/// `timelines[c]` (`Replayer::replay`).
pub fn replay_all(policies: &[&Policy], timelines: &[Timeline]) -> Vec<Vec<Decision>> {
    Replayer::new(policies).replay(timelines)
}

/// History's own decisions, as `Decision`s (no situation is reported for them).
pub fn historical_decisions(timelines: &[Timeline]) -> Vec<Decision> {
    timelines.iter().map(|tl| Decision { point: tl.historical, situation: None }).collect()
}

/// Every policy of a run replayed on every timeline: `historical` first, then the named
/// policies in file order (routed ones only after `with_routed`), then every sweep variant;
/// `names` and `decisions` align.
pub struct Replayed<'a> {
    pub names: Vec<&'a str>,
    /// Per policy, per conversation.
    pub decisions: Vec<Vec<Decision>>,
}

impl<'a> Replayed<'a> {
    pub fn run(policies: &'a [Policy], variants: &'a [Variant], timelines: &[Timeline]) -> Self {
        Replayed::run_with(policies, variants, &[], timelines).0
    }

    /// `run`, with `extra` policies replayed in the same pass (the quality reference: a pass
    /// over a million timelines costs more than the decisions of one more policy); their
    /// decisions come second, per extra policy, per conversation.
    pub fn run_with(
        policies: &'a [Policy],
        variants: &'a [Variant],
        extra: &[&Policy],
        timelines: &[Timeline],
    ) -> (Self, Vec<Vec<Decision>>) {
        let mut names: Vec<&str> = vec!["historical"];
        names.extend(policies.iter().map(|p| p.name.as_str()));
        names.extend(variants.iter().map(|v| v.name.as_str()));
        let every: Vec<&Policy> = policies
            .iter()
            .chain(variants.iter().map(|v| &v.policy))
            .chain(extra.iter().copied())
            .collect();
        let mut decisions = vec![historical_decisions(timelines)];
        decisions.extend(replay_all(&every, timelines));
        let extra_decisions = decisions.split_off(decisions.len() - extra.len());
        (Replayed { names, decisions }, extra_decisions)
    }

    pub fn historical(&self) -> &[Decision] {
        &self.decisions[0]
    }

    /// Adds the routed policies, composed from the `plain` named policies replayed (no new
    /// pass), each at its place in the file among the named policies (before every variant).
    pub fn with_routed(
        mut self,
        plain: usize,
        routed: &'a [crate::policy::RoutedPolicy],
        dataset: &crate::model::Dataset,
    ) -> Self {
        crate::policy::routed::insert_routed(
            &mut self.names,
            &mut self.decisions,
            plain,
            routed,
            dataset,
        );
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Outcome};
    use proptest::prelude::*;
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

    /// The replay of policies.md written the plain way (the implementation before the bit-set
    /// kernel): the onsets per situation, then every decision point in turn. The kernel must
    /// decide exactly as this does.
    mod plain {
        use super::*;

        fn holds(policy: &Policy, tl: &Timeline) -> Vec<[bool; 8]> {
            let enterprise_account = tl.enterprise_segment
                || tl.employee_count.is_some_and(|n| n >= policy.enterprise_employees);
            let mut seen = SignalSet::EMPTY;
            let mut objections = [0u32; 5];
            let mut out = Vec::new();
            for point in &tl.points {
                seen = seen.union(point.signals);
                for (count, objection) in objections.iter_mut().zip(Signal::OBJECTIONS) {
                    if point.signals.contains(objection) {
                        *count += 1;
                    }
                }
                out.push(Situation::ALL.map(|situation| match situation {
                    Situation::MultipleStakeholders => {
                        seen.intersects(situation.signals()) || point.participants >= 2
                    }
                    Situation::Enterprise => {
                        enterprise_account || seen.intersects(situation.signals())
                    }
                    Situation::RepeatedObjection => {
                        objections.iter().any(|&n| n >= policy.repeated_objection_after)
                    }
                    Situation::Score => {
                        let score: f64 = seen.iter().map(|s| policy.weight(s)).sum();
                        score >= policy.threshold - SCORE_TOLERANCE
                    }
                    _ => seen.intersects(situation.signals()),
                }));
            }
            out
        }

        pub fn onsets(policy: &Policy, tl: &Timeline) -> [Option<u32>; 8] {
            let holds = holds(policy, tl);
            std::array::from_fn(|k| {
                holds.iter().position(|h| h[k]).map(|i| u32::try_from(i + 1).unwrap())
            })
        }

        fn guard_holds(policy: &Policy, guard: Guard, point: &DecisionPoint) -> bool {
            match guard {
                Guard::QualificationIncomplete => {
                    (point.qualified & 0x0f).count_ones() < u32::from(policy.min_qualified)
                }
                Guard::Scheduling => point.signals.contains(Signal::Scheduling),
                Guard::SimpleQuestion => point.signals.contains(Signal::SimpleQuestion),
            }
        }

        pub fn decide(policy: &Policy, tl: &Timeline) -> Decision {
            let onsets = onsets(policy, tl);
            let onset_of = |s: Situation| onsets[s as usize];
            for d in policy.min_turn.max(1)..=u32::try_from(tl.points.len()).unwrap() {
                let point = &tl.points[d as usize - 1];
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
                let Some(reported) = made_ready.iter().copied().min_by_key(|s| onset_of(*s)) else {
                    continue;
                };
                return match d.checked_add(policy.delay).filter(|p| *p as usize <= tl.points.len())
                {
                    Some(point) => Decision { point: Some(point), situation: Some(reported) },
                    None => Decision::NEVER,
                };
            }
            Decision::NEVER
        }
    }

    /// Signals: mostly a few of the vocabulary, sometimes any bits (outside it too).
    fn arb_signals() -> impl Strategy<Value = SignalSet> {
        prop_oneof![
            3 => Just(SignalSet::EMPTY),
            4 => prop::sample::subsequence(Signal::ALL.to_vec(), 0..3).prop_map(|s| SignalSet::of(&s)),
            1 => any::<u32>().prop_map(SignalSet),
        ]
    }

    fn arb_timeline() -> impl Strategy<Value = Timeline> {
        let point = (arb_signals(), any::<u8>(), 0u32..3).prop_map(|(signals, q, participants)| {
            DecisionPoint {
                turn: 0,
                signals,
                qualified: q,
                participants,
                handoff_probability: None,
            }
        });
        (prop::collection::vec(point, 0..14), any::<bool>(), prop::option::of(0i64..3000)).prop_map(
            |(mut points, enterprise_segment, employee_count)| {
                for (i, p) in points.iter_mut().enumerate() {
                    p.turn = 2 * i as i64 + 1;
                }
                Timeline { points, enterprise_segment, employee_count, historical: None }
            },
        )
    }

    fn arb_weight() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => prop::sample::select(vec![0.0, 0.1, 0.2, 0.3, 0.5, 1.0]),
            2 => -1.0f64..2.0,
            1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0]),
        ]
    }

    fn arb_policy() -> impl Strategy<Value = Policy> {
        let situations = || prop::sample::subsequence(Situation::ALL.to_vec(), 0..=8);
        (
            (situations().prop_shuffle(), prop::option::of(situations())),
            prop::sample::subsequence(Guard::ALL.to_vec(), 0..=3),
            (0u8..7, prop_oneof![0u32..5, Just(u32::MAX)], 0i64..3000),
            (prop_oneof![0u32..5, Just(u32::MAX)], prop_oneof![0u32..4, Just(u32::MAX)]),
            (prop::collection::vec(arb_weight(), Signal::ALL.len()), arb_weight()),
        )
            .prop_map(
                |((on, bypass), unless, (mq, roa, ee), (min_turn, delay), (w, t))| {
                    let mut p = Policy::new("p", on);
                    if let Some(bypass) = bypass {
                        p.bypass = bypass;
                    }
                    p.unless = unless;
                    p.min_qualified = mq;
                    p.repeated_objection_after = roa;
                    p.enterprise_employees = ee;
                    p.min_turn = min_turn;
                    p.delay = delay;
                    p.weights.copy_from_slice(&w);
                    p.threshold = t;
                    p
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn the_kernel_decides_as_the_plain_replay(
            tl in arb_timeline(),
            policies in prop::collection::vec(arb_policy(), 1..6),
        ) {
            let refs: Vec<&Policy> = policies.iter().collect();
            let all = replay_all(&refs, std::slice::from_ref(&tl));
            for (policy, row) in policies.iter().zip(&all) {
                let expected = plain::decide(policy, &tl);
                prop_assert_eq!(decide(policy, &tl), expected, "decide");
                prop_assert_eq!(row[0], expected, "replay_all");
                let onsets = plain::onsets(policy, &tl);
                prop_assert_eq!(situation_onsets(policy, &tl).to_vec(), onsets[..7].to_vec());
            }
        }

        #[test]
        fn policies_sharing_a_rule_decide_as_each_alone(
            tls in prop::collection::vec(arb_timeline(), 0..5),
            base in arb_policy(),
            delays in prop::collection::vec(0u32..4, 1..4),
            thresholds in prop::collection::vec(arb_weight(), 1..4),
        ) {
            // Delay and threshold variants of one policy, as sweeps make them.
            let mut policies = vec![base.clone()];
            policies.extend(delays.iter().map(|&d| Policy { delay: d, ..base.clone() }));
            policies.extend(thresholds.iter().map(|&t| Policy { threshold: t, ..base.clone() }));
            let refs: Vec<&Policy> = policies.iter().collect();
            let all = replay_all(&refs, &tls);
            for (policy, column) in policies.iter().zip(&all) {
                for (tl, d) in tls.iter().zip(column) {
                    prop_assert_eq!(*d, plain::decide(policy, tl));
                }
            }
        }
    }
}
