//! The causal model of the synthetic world as pure functions: the observable state a policy
//! sees at each decision point (policies.md semantics, default parameters), the history's
//! logistic handoff hazard, and the outcome probabilities given any handoff decision point.
//! `truth` evaluates any policy with `outcome_probabilities`; `world` samples from them.

use crate::model::QualMask;
use crate::signals::vocabulary::{Signal, SignalSet, Situation};

/// The defaults of policies.md that the world's reference and hazard use.
pub const REPEATED_OBJECTION_AFTER: u32 = 2;
pub const ENTERPRISE_EMPLOYEES: i64 = 1000;
pub const REFERENCE_MIN_QUALIFIED: u32 = 3;

/// How one AI agent decides to hand off, on top of the hazard every agent shares. Real
/// deployments run different playbooks (a cautious agent, one tuned to the framework, an eager
/// one, one that waits for full qualification); that variety is also what lets history speak
/// about policies it did not follow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Playbook {
    pub agent: &'static str,
    /// The hazard's intercept: eagerness in a calm moment.
    pub alpha: f64,
    /// Multiplies the situations' coefficients: how strongly the agent reacts to them.
    pub situation_weight: f64,
    /// Added when the framework (the default quality reference) would hand off now.
    pub framework_bonus: f64,
    /// Added when a situation is pending and all four qualification fields are captured.
    pub qualified_bonus: f64,
}

/// The four AI agents of the synthetic history.
pub const PLAYBOOKS: [Playbook; 4] = [
    // Cautious: hands off mostly on a request for a human.
    Playbook {
        agent: "sdr-atlas",
        alpha: -5.5,
        situation_weight: 1.0,
        framework_bonus: 0.0,
        qualified_bonus: 0.0,
    },
    // Tuned to the framework: hands off when the framework says so.
    Playbook {
        agent: "sdr-beacon",
        alpha: -5.0,
        situation_weight: 1.0,
        framework_bonus: 3.5,
        qualified_bonus: 0.0,
    },
    // Eager: hands off as soon as any situation arises, qualified or not.
    Playbook {
        agent: "sdr-comet",
        alpha: -4.5,
        situation_weight: 7.0,
        framework_bonus: 0.0,
        qualified_bonus: 0.0,
    },
    // Waits for budget, authority, need and timeline before handing off a situation.
    Playbook {
        agent: "sdr-delta-v2",
        alpha: -5.5,
        situation_weight: 1.0,
        framework_bonus: 0.0,
        qualified_bonus: 4.0,
    },
];

/// Hazard coefficients of the seven situations, in `Situation::SEVEN` order. `human_request`
/// has its own coefficient `HAZARD_HUMAN_REQUEST` (gamma) instead.
pub const HAZARD_SITUATION: [f64; 7] = [0.0, 1.0, 0.5, 0.4, 0.6, 0.7, 0.5];
pub const HAZARD_HUMAN_REQUEST: f64 = 3.0;
/// Per share of qualification fields captured (delta * qualified_count / 4).
pub const HAZARD_QUALIFIED: f64 = 0.8;
/// Per log decision point (eta * ln d).
pub const HAZARD_LOG_POINT: f64 = 0.1;
/// When the current message is a scheduling request or a simple question.
pub const HAZARD_GUARD_MESSAGE: f64 = -0.5;
pub const HAZARD_MIN: f64 = 0.02;
pub const HAZARD_MAX: f64 = 0.9;

/// Outcome model coefficients (see docs/generator.md).
pub const MEETING_A0: f64 = -2.6;
pub const MEETING_RHO: f64 = 3.0;
pub const MEETING_ENTERPRISE: f64 = 0.3;
pub const EFFECT_HUMAN: f64 = 1.3;
pub const EFFECT_PREMATURE: f64 = -1.1;
pub const EFFECT_LATE_PER_POINT: f64 = -0.3;
pub const EFFECT_REQUEST_IGNORED: f64 = -1.0;
pub const EFFECT_REQUEST_WAITED: f64 = -0.5;
pub const EFFECT_REQUEST_WAIT_PER_POINT: f64 = -0.15;
pub const OPPORTUNITY_B0: f64 = -1.0;
pub const OPPORTUNITY_RHO: f64 = 2.0;
pub const OPPORTUNITY_ENTERPRISE: f64 = 0.4;
/// Log-normal amount: median by segment (smb, mid_market, enterprise) and log-scale sigma.
pub const AMOUNT_MEDIAN: [f64; 3] = [8_000.0, 25_000.0, 90_000.0];
pub const AMOUNT_SIGMA: f64 = 0.5;

/// The slice-effects world (`--slice-effects`, docs/generator.md): coefficients that differ
/// by segment (indexed by `Segment::index`) and region (by `Region::index`). The default world
/// uses the constants above for every segment and has no region.
///
/// A premature handoff costs a small buyer more (a rep calling before the prospect is ready
/// reads as pressure), an enterprise buyer nothing (the rep qualifies the committee themselves).
pub const SLICE_PREMATURE: [f64; 3] = [-1.8, -1.1, 0.0];
/// Per decision point a handoff comes after the first situation arose (`h - s`): an enterprise
/// buying committee (the `enterprise` situation holds from its first message) wants a rep
/// from the start and goes cold while the AI qualifies it.
pub const SLICE_WAIT_PER_POINT: [f64; 3] = [0.0, 0.0, -0.4];
/// Added to any handoff's effect by region: APAC is covered by reps in other time zones, so
/// a handoff there is worth less.
pub const SLICE_REGION_HANDOFF: [f64; 4] = [0.0, 0.0, -0.8, 0.0];
/// Shares of the regions (na, emea, apac, latam), drawn per account.
pub const REGION_SHARE: [f64; 4] = [0.40, 0.30, 0.18, 0.12];

/// The prospect's company size class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Segment {
    Smb,
    MidMarket,
    Enterprise,
}

impl Segment {
    pub fn name(self) -> &'static str {
        match self {
            Segment::Smb => "smb",
            Segment::MidMarket => "mid_market",
            Segment::Enterprise => "enterprise",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Where an account is based: only in the slice-effects world, written as the extra
/// conversations column `region`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Region {
    Na,
    Emea,
    Apac,
    Latam,
}

impl Region {
    pub const ALL: [Region; 4] = [Region::Na, Region::Emea, Region::Apac, Region::Latam];

    pub fn name(self) -> &'static str {
        match self {
            Region::Na => "na",
            Region::Emea => "emea",
            Region::Apac => "apac",
            Region::Latam => "latam",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The region a uniform draw `u` in [0, 1) falls into, by `REGION_SHARE`.
    pub fn from_uniform(u: f64) -> Region {
        let mut upper = 0.0;
        for (region, share) in Region::ALL.iter().zip(REGION_SHARE) {
            upper += share;
            if u < upper {
                return *region;
            }
        }
        // Rounding can leave the shares' sum a hair under 1.
        Region::Latam
    }
}

/// What the world knows about one conversation beyond its rows: a few numbers, so the truth
/// of a million conversations fits in memory (and is in fact never kept: it is recomputed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConversationTruth {
    /// Latent readiness in (0, 1), never observed.
    pub rho: f64,
    pub segment: Segment,
    /// The default quality reference's handoff decision point (`r`).
    pub reference: Option<u32>,
    /// The first decision point carrying `human_request` (`q`).
    pub human_request: Option<u32>,
    /// History's handoff decision point (`h0`).
    pub historical: Option<u32>,
    pub decision_points: u32,
    /// The first decision point at which any of the seven situations is pending (`s`).
    pub first_situation: Option<u32>,
    /// The account's region in the slice-effects world; `None` is the default world, whose
    /// effects do not depend on segment or region.
    pub region: Option<Region>,
}

/// Expected outcomes of one conversation given a handoff point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutcomeProbs {
    pub meeting: f64,
    pub opportunity: f64,
    /// `opportunity * E[amount | segment]`, USD.
    pub expected_amount: f64,
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The handoff's effect on the log-odds of a meeting (0 without a handoff and request).
pub fn handoff_effect(truth: &ConversationTruth, h: Option<u32>) -> f64 {
    let q = truth.human_request;
    let Some(h) = h else {
        return if q.is_some() { EFFECT_REQUEST_IGNORED } else { 0.0 };
    };
    // The default world adds exactly the same terms in the same order as before the slice
    // world existed, so its probabilities (and the sampled data) keep their bits.
    let premature = match truth.region {
        Some(_) => SLICE_PREMATURE[truth.segment.index()],
        None => EFFECT_PREMATURE,
    };
    let mut effect = EFFECT_HUMAN;
    match truth.reference {
        None => effect += premature,
        Some(r) if h < r => effect += premature,
        Some(r) => effect += EFFECT_LATE_PER_POINT * f64::from(h - r),
    }
    if let Some(q) = q {
        if h > q {
            effect += EFFECT_REQUEST_WAITED + EFFECT_REQUEST_WAIT_PER_POINT * f64::from(h - q);
        }
    }
    if let Some(region) = truth.region {
        effect += SLICE_REGION_HANDOFF[region.index()];
        if let Some(s) = truth.first_situation.filter(|&s| h > s) {
            effect += SLICE_WAIT_PER_POINT[truth.segment.index()] * f64::from(h - s);
        }
    }
    effect
}

/// Mean of the segment's log-normal amount.
pub fn expected_amount_given_opportunity(segment: Segment) -> f64 {
    AMOUNT_MEDIAN[segment.index()] * (AMOUNT_SIGMA * AMOUNT_SIGMA / 2.0).exp()
}

/// P(opportunity | meeting): does not depend on the handoff.
pub fn opportunity_given_meeting(truth: &ConversationTruth) -> f64 {
    let ent = f64::from(u8::from(truth.segment == Segment::Enterprise));
    sigmoid(OPPORTUNITY_B0 + OPPORTUNITY_RHO * truth.rho + OPPORTUNITY_ENTERPRISE * ent)
}

/// The outcome model: what a conversation yields in expectation when handed off at `h`.
pub fn outcome_probabilities(truth: &ConversationTruth, h: Option<u32>) -> OutcomeProbs {
    let ent = f64::from(u8::from(truth.segment == Segment::Enterprise));
    let meeting = sigmoid(
        MEETING_A0 + MEETING_RHO * truth.rho + MEETING_ENTERPRISE * ent + handoff_effect(truth, h),
    );
    let opportunity = meeting * opportunity_given_meeting(truth);
    OutcomeProbs {
        meeting,
        opportunity,
        expected_amount: opportunity * expected_amount_given_opportunity(truth.segment),
    }
}

/// One decision point's observable inputs, cumulative where policies.md says so.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PointState {
    /// Signals of this prospect message.
    pub signals: SignalSet,
    /// Qualification captured in turns up to and including this message.
    pub qualified: QualMask,
    /// Distinct prospect participants so far.
    pub participants: u32,
}

/// The first decision point (1-based) at which each of the seven situations holds, with the
/// default parameters of policies.md (`repeated_objection_after` 2, `enterprise_employees`
/// 1000).
pub fn situation_onsets(points: &[PointState], enterprise_account: bool) -> [Option<u32>; 7] {
    let mut onsets = [None; 7];
    let mut objection_counts = [0u32; 5];
    let mut seen = SignalSet::EMPTY;
    for (i, p) in points.iter().enumerate() {
        let d = i as u32 + 1;
        seen = seen.union(p.signals);
        for (k, obj) in Signal::OBJECTIONS.iter().enumerate() {
            if p.signals.contains(*obj) {
                objection_counts[k] += 1;
            }
        }
        for (k, situation) in Situation::SEVEN.iter().enumerate() {
            if onsets[k].is_some() {
                continue;
            }
            let holds = match situation {
                Situation::MultipleStakeholders => {
                    seen.intersects(situation.signals()) || p.participants >= 2
                }
                Situation::Enterprise => enterprise_account || seen.intersects(situation.signals()),
                Situation::RepeatedObjection => {
                    objection_counts.iter().any(|c| *c >= REPEATED_OBJECTION_AFTER)
                }
                other => seen.intersects(other.signals()),
            };
            if holds {
                onsets[k] = Some(d);
            }
        }
    }
    onsets
}

fn is_pending(onset: Option<u32>, d: u32) -> bool {
    onset.is_some_and(|o| o <= d)
}

/// The default `[quality]` reference policy's handoff point: all seven situations; guards
/// qualification_incomplete (min 3), scheduling, simple_question; bypass human_request;
/// min_turn 1, delay 0.
pub fn reference_point(points: &[PointState], onsets: &[Option<u32>; 7]) -> Option<u32> {
    (1..=points.len() as u32).find(|&d| reference_ready(&points[d as usize - 1], onsets, d))
}

/// Whether the default quality reference hands off at decision point `d` (state `p`).
fn reference_ready(p: &PointState, onsets: &[Option<u32>; 7], d: u32) -> bool {
    let guard = p.qualified.count_ones() < REFERENCE_MIN_QUALIFIED || guard_message(p);
    any_pending(onsets, d) && (!guard || is_pending(onsets[0], d))
}

fn any_pending(onsets: &[Option<u32>; 7], d: u32) -> bool {
    onsets.iter().any(|o| is_pending(*o, d))
}

/// The message is a scheduling request or a simple question.
fn guard_message(p: &PointState) -> bool {
    p.signals.contains(Signal::Scheduling) || p.signals.contains(Signal::SimpleQuestion)
}

/// History's hazard at decision point `d` of an agent running `playbook`.
pub fn handoff_hazard(
    playbook: &Playbook,
    p: &PointState,
    onsets: &[Option<u32>; 7],
    d: u32,
) -> f64 {
    let mut logit = playbook.alpha;
    for (k, beta) in HAZARD_SITUATION.iter().enumerate() {
        if is_pending(onsets[k], d) {
            logit += playbook.situation_weight * beta;
        }
    }
    if is_pending(onsets[0], d) {
        logit += HAZARD_HUMAN_REQUEST;
    }
    logit += HAZARD_QUALIFIED * f64::from(p.qualified.count_ones()) / 4.0;
    logit += HAZARD_LOG_POINT * f64::from(d).ln();
    if guard_message(p) {
        logit += HAZARD_GUARD_MESSAGE;
    }
    if reference_ready(p, onsets, d) {
        logit += playbook.framework_bonus;
    }
    if any_pending(onsets, d) && p.qualified.count_ones() >= 4 {
        logit += playbook.qualified_bonus;
    }
    sigmoid(logit).clamp(HAZARD_MIN, HAZARD_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(reference: Option<u32>, human_request: Option<u32>) -> ConversationTruth {
        ConversationTruth {
            rho: 0.5,
            segment: Segment::MidMarket,
            reference,
            human_request,
            historical: None,
            decision_points: 10,
            first_situation: None,
            region: None,
        }
    }

    fn meeting(t: &ConversationTruth, h: Option<u32>) -> f64 {
        outcome_probabilities(t, h).meeting
    }

    #[test]
    fn a_timely_handoff_beats_no_handoff() {
        let t = truth(Some(3), None);
        assert!(meeting(&t, Some(3)) > meeting(&t, None));
    }

    #[test]
    fn premature_handoff_lowers_meeting_probability() {
        let t = truth(Some(4), None);
        assert!(meeting(&t, Some(2)) < meeting(&t, Some(4)));
        let never_ready = truth(None, None);
        assert!(meeting(&never_ready, Some(2)) < meeting(&t, Some(4)));
        // Without a reference, a handoff is premature but a human still helps a little.
        assert!((handoff_effect(&never_ready, Some(2)) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn late_handoff_lowers_meeting_probability_more_the_later() {
        let t = truth(Some(3), None);
        let on_time = meeting(&t, Some(3));
        let late = meeting(&t, Some(5));
        let later = meeting(&t, Some(8));
        assert!(on_time > late && late > later);
    }

    #[test]
    fn ignored_human_request_lowers_meeting_probability() {
        let asked = truth(Some(2), Some(2));
        let not_asked = truth(Some(2), None);
        assert!(meeting(&asked, None) < meeting(&not_asked, None));
        assert!(meeting(&asked, Some(4)) < meeting(&not_asked, Some(4)));
        assert!(meeting(&asked, Some(2)) > meeting(&asked, Some(3)));
    }

    #[test]
    fn probabilities_stay_strictly_inside_zero_and_one() {
        for rho in [0.001, 0.3, 0.999] {
            for seg in [Segment::Smb, Segment::Enterprise] {
                for h in [None, Some(1), Some(5), Some(14)] {
                    let t = ConversationTruth { rho, segment: seg, ..truth(Some(2), Some(1)) };
                    let p = outcome_probabilities(&t, h);
                    assert!(p.meeting > 0.0 && p.meeting < 1.0);
                    assert!(p.opportunity > 0.0 && p.opportunity < p.meeting);
                    assert!(p.expected_amount > 0.0);
                }
            }
        }
    }

    fn sliced(segment: Segment, region: Region, reference: Option<u32>) -> ConversationTruth {
        ConversationTruth {
            segment,
            region: Some(region),
            first_situation: Some(2),
            ..truth(reference, None)
        }
    }

    #[test]
    fn the_default_world_ignores_segment_for_the_effect() {
        for segment in [Segment::Smb, Segment::MidMarket, Segment::Enterprise] {
            let t = ConversationTruth { segment, first_situation: Some(1), ..truth(Some(4), None) };
            assert_eq!(handoff_effect(&t, Some(2)), EFFECT_HUMAN + EFFECT_PREMATURE);
            assert_eq!(handoff_effect(&t, Some(6)), EFFECT_HUMAN + 2.0 * EFFECT_LATE_PER_POINT);
        }
    }

    #[test]
    fn slice_effects_follow_the_documented_formula() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // Premature (h = 2 < r = 4): 1.3 - 1.8 in smb, 1.3 - 0 in enterprise (and s = 2).
        assert!(close(handoff_effect(&sliced(Segment::Smb, Region::Na, Some(4)), Some(2)), -0.5));
        let ent = sliced(Segment::Enterprise, Region::Na, Some(4));
        assert!(close(handoff_effect(&ent, Some(2)), 1.3));
        // On time at r = 4, two points after the first situation (s = 2): -0.4 x 2 in
        // enterprise only.
        assert!(close(handoff_effect(&ent, Some(4)), 1.3 - 0.8));
        let smb = sliced(Segment::Smb, Region::Na, Some(4));
        assert!(close(handoff_effect(&smb, Some(4)), 1.3));
        // Late by one (h = 5): -0.3 after r, and -0.4 x 3 after s in enterprise.
        assert!(close(handoff_effect(&ent, Some(5)), 1.3 - 0.3 - 1.2));
        // APAC: every handoff is worth 0.8 less; no handoff is unchanged.
        let apac = sliced(Segment::MidMarket, Region::Apac, Some(4));
        assert!(close(handoff_effect(&apac, Some(4)), 0.5));
        assert_eq!(handoff_effect(&apac, None), 0.0);
        // Mid-market in NA is the default world.
        let mid = sliced(Segment::MidMarket, Region::Na, Some(4));
        let plain = truth(Some(4), None);
        for h in [None, Some(1), Some(4), Some(7)] {
            assert_eq!(handoff_effect(&mid, h), handoff_effect(&plain, h));
        }
    }

    #[test]
    fn regions_follow_their_shares() {
        assert_eq!(Region::from_uniform(0.0), Region::Na);
        assert_eq!(Region::from_uniform(0.39), Region::Na);
        assert_eq!(Region::from_uniform(0.41), Region::Emea);
        assert_eq!(Region::from_uniform(0.75), Region::Apac);
        assert_eq!(Region::from_uniform(0.95), Region::Latam);
        assert_eq!(Region::from_uniform(0.999_999_999), Region::Latam);
        assert!((REGION_SHARE.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    fn point(signals: &[Signal], qualified: QualMask, participants: u32) -> PointState {
        PointState { signals: SignalSet::of(signals), qualified, participants }
    }

    #[test]
    fn onsets_follow_policies_md() {
        use Signal::*;
        let points = [
            point(&[ObjectionPrice], 0, 1),
            point(&[Pricing, ObjectionTiming], 0, 1),
            point(&[ObjectionPrice], 0b0111, 2),
            point(&[HumanRequest], 0b0111, 2),
        ];
        let onsets = situation_onsets(&points, false);
        assert_eq!(onsets[0], Some(4)); // human_request
        assert_eq!(onsets[1], Some(2)); // high_intent via pricing
        assert_eq!(onsets[2], None); // complex_discovery
        assert_eq!(onsets[3], Some(3)); // two participants
        assert_eq!(onsets[4], None); // enterprise
        assert_eq!(onsets[6], Some(3)); // objection:price twice; timing once never counts
        assert_eq!(situation_onsets(&points, true)[4], Some(1));
    }

    #[test]
    fn reference_waits_for_guards_unless_a_human_is_requested() {
        use Signal::*;
        // High intent at 1 but qualification incomplete until 3, scheduling at 3.
        let points = [
            point(&[DemoRequest], 0, 1),
            point(&[], 0b0011, 1),
            point(&[Scheduling], 0b0111, 1),
            point(&[], 0b0111, 1),
        ];
        let onsets = situation_onsets(&points, false);
        assert_eq!(reference_point(&points, &onsets), Some(4));
        let asked = [point(&[HumanRequest, Scheduling], 0, 1)];
        let onsets = situation_onsets(&asked, false);
        assert_eq!(reference_point(&asked, &onsets), Some(1));
        let nothing = [point(&[Scheduling], 0b1111, 1)];
        assert_eq!(reference_point(&nothing, &situation_onsets(&nothing, false)), None);
    }

    #[test]
    fn hazard_is_clamped_and_rises_with_a_human_request() {
        let calm = point(&[], 0, 1);
        let none = [None; 7];
        let asked = [Some(1), None, None, None, None, None, None];
        let p0 = handoff_hazard(&PLAYBOOKS[3], &calm, &none, 1);
        let p1 = handoff_hazard(&PLAYBOOKS[3], &calm, &asked, 1);
        assert!(p1 > p0);
        let all = [Some(1); 7];
        let full = point(&[], 0b1111, 3);
        for playbook in &PLAYBOOKS {
            assert!(handoff_hazard(playbook, &full, &all, 14) <= HAZARD_MAX);
            assert!(handoff_hazard(playbook, &calm, &none, 1) >= HAZARD_MIN);
        }
    }

    #[test]
    fn playbooks_react_to_their_own_triggers() {
        let [cautious, framework, eager, qualifier] = PLAYBOOKS;
        // Pricing asked at 1 with nothing qualified: the eager agent jumps, the others wait.
        let intent = [None, Some(1), None, None, None, None, None];
        let unqualified = point(&[Signal::Pricing], 0, 1);
        let eager_p = handoff_hazard(&eager, &unqualified, &intent, 1);
        assert!(eager_p > 0.5, "{eager_p}");
        assert!(handoff_hazard(&cautious, &unqualified, &intent, 1) < 0.05);
        // Three fields captured: the framework is ready, so its agent hands off far more often.
        let ready = point(&[], 0b0111, 1);
        assert!(
            handoff_hazard(&framework, &ready, &intent, 2)
                > 10.0 * handoff_hazard(&cautious, &ready, &intent, 2)
        );
        // All four fields: the qualifying agent finally hands off.
        let complete = point(&[], 0b1111, 1);
        assert!(
            handoff_hazard(&qualifier, &complete, &intent, 3)
                > 10.0 * handoff_hazard(&qualifier, &ready, &intent, 3)
        );
    }
}
