//! Sampling one synthetic conversation: the prospect and account, the signals that arrive over
//! the conversation, qualification, history's stochastic handoff, message layout, text and the
//! outcome. Each conversation is a pure function of (seed, index): its own ChaCha8 stream.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, LogNormal, Poisson};

use super::model::{
    expected_amount_given_opportunity, handoff_hazard, opportunity_given_meeting,
    outcome_probabilities, reference_point, situation_onsets, ConversationTruth, PointState,
    Region, Segment, AMOUNT_MEDIAN, AMOUNT_SIGMA, ENTERPRISE_EMPLOYEES, PLAYBOOKS,
};
use super::text::Phrasings;
use crate::model::{Conversation, Message, Micros, Outcome, QualMask, Sender};
use crate::signals::vocabulary::{Signal, SignalSet};

const SECOND: Micros = 1_000_000;
const MINUTE: Micros = 60 * SECOND;
const HOUR: Micros = 60 * MINUTE;
const DAY: Micros = 24 * HOUR;

/// The extra conversations columns of the slice-effects world, in `Conversation::extra` order.
pub const EXTRA_COLUMNS: [&str; 1] = ["region"];

/// The run-wide settings every conversation depends on.
#[derive(Clone, Copy, Debug)]
pub struct WorldConfig {
    pub seed: u64,
    pub conversations: u64,
    pub weeks: u32,
    /// Midnight UTC of the first day.
    pub start: Micros,
    /// The slice-effects world: effects differ by segment and region, and conversations carry
    /// a `region` (docs/generator.md).
    pub slice_effects: bool,
    /// Hidden confounding (docs/generator.md): history's hazard also moves with the
    /// prospect's latent readiness, `C` log-odds per standard deviation; 0 leaves it alone.
    pub confound: f64,
}

impl WorldConfig {
    fn accounts(&self) -> u64 {
        (self.conversations * 2 / 5).max(1)
    }
}

/// One generated conversation: its rows (as the model ingest would build) and its truth.
#[derive(Clone, Debug)]
pub struct Generated {
    pub conversation: Conversation,
    pub truth: ConversationTruth,
    /// The true signals of each prospect message, in turn order.
    pub prospect_signals: Vec<SignalSet>,
}

/// Stable per-conversation behaviours, drawn once.
struct Traits {
    rho: f64,
    segment: Segment,
    wants_human: bool,
    unhappy: bool,
    objection: Option<Signal>,
    complexity: f64,
}

/// The account of a conversation: a pure function of (seed, account number) so conversations
/// that share an account agree on its segment and size.
struct Account {
    number: u64,
    segment: Segment,
    employees: i64,
    domain: String,
    /// Only in the slice-effects world.
    region: Option<Region>,
}

fn rng_for(seed: u64, stream: u64, salt: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.set_stream(stream);
    rng
}

fn log_uniform<R: Rng>(rng: &mut R, low: f64, high: f64) -> f64 {
    (low.ln() + rng.random::<f64>() * (high.ln() - low.ln())).exp()
}

fn account(cfg: &WorldConfig, phrasings: &Phrasings, number: u64) -> Account {
    let mut rng = rng_for(cfg.seed, number, 1);
    let u: f64 = rng.random();
    let (segment, low, high) = if u < 0.55 {
        (Segment::Smb, 5.0, 200.0)
    } else if u < 0.85 {
        (Segment::MidMarket, 200.0, 1500.0)
    } else {
        (Segment::Enterprise, 1000.0, 50_000.0)
    };
    let employees = log_uniform(&mut rng, low, high).round() as i64;
    // The region has its own stream (salt 2), so drawing it leaves every other number of the
    // default world untouched.
    let region = cfg
        .slice_effects
        .then(|| Region::from_uniform(rng_for(cfg.seed, number, 2).random::<f64>()));
    Account { number, segment, employees, domain: phrasings.company_domain(number), region }
}

fn traits<R: Rng>(rng: &mut R, segment: Segment) -> Traits {
    let rho = Beta::new(2.0, 3.0).map(|b| b.sample(rng)).unwrap_or(0.4);
    let objection = if rng.random_bool(0.35 - 0.2 * rho) {
        Signal::OBJECTIONS.choose(rng).copied()
    } else {
        None
    };
    let complexity = match segment {
        Segment::Smb => 0.3,
        Segment::MidMarket => 0.6,
        Segment::Enterprise => 1.0,
    };
    Traits {
        rho,
        segment,
        wants_human: rng.random_bool(0.15),
        unhappy: rng.random_bool(0.1),
        objection,
        complexity,
    }
}

/// A weekday-heavy start time with business-hours clustering, uniform over the weeks.
fn started_at<R: Rng>(rng: &mut R, cfg: &WorldConfig) -> Micros {
    let days = i64::from(cfg.weeks.max(1)) * 7;
    let mut day = rng.random_range(0..days);
    for _ in 0..4 {
        if day % 7 < 5 || rng.random_bool(0.3) {
            break;
        }
        day = rng.random_range(0..days);
    }
    let hour =
        (13.0 + 3.5 * (rng.random::<f64>() + rng.random::<f64>() - 1.0) * 1.7).clamp(0.0, 23.99);
    let seconds = (hour * 3600.0) as i64 + rng.random_range(0..60);
    cfg.start + day * DAY + seconds * SECOND
}

/// The relative weight of each signal on prospect message `k` of `n`.
fn signal_weights(t: &Traits, k: u32, n: u32) -> [f64; Signal::ALL.len()] {
    use Signal::*;
    let pos = f64::from(k) / f64::from(n);
    let ent = t.segment == Segment::Enterprise;
    // Ready prospects ask about buying early: the intent bump peaks near 1 - 0.8 rho.
    let peak = 1.0 - 0.8 * t.rho;
    let intent = 0.55 * t.rho * (-(pos - peak).powi(2) / 0.08).exp() + 0.02;
    let mut w = [0.0; Signal::ALL.len()];
    w[HumanRequest.index()] = if t.wants_human { 0.25 * pos + 0.05 } else { 0.006 };
    w[DemoRequest.index()] = 0.4 * intent;
    w[Pricing.index()] = 0.35 * intent;
    w[Timeline.index()] = 0.25 * intent;
    for s in [Technical, CustomWorkflow, Integration] {
        w[s.index()] = 0.035 * t.complexity;
    }
    w[Stakeholders.index()] = if ent { 0.05 } else { 0.015 };
    for s in [Procurement, SecurityReview, CustomPricing] {
        w[s.index()] = if ent { 0.06 * pos } else { 0.004 };
    }
    for s in [Dissatisfaction, Escalation] {
        w[s.index()] = if t.unhappy { 0.12 * pos } else { 0.004 };
    }
    w[Competitor.index()] = if t.unhappy { 0.08 } else { 0.015 };
    for s in Signal::OBJECTIONS {
        w[s.index()] = if t.objection == Some(s) { 0.2 } else { 0.01 * (1.0 - t.rho) };
    }
    w[Scheduling.index()] = 0.05 + 0.15 * pos * t.rho;
    w[SimpleQuestion.index()] = 0.12 * (1.0 - 0.5 * pos);
    w
}

fn draw_weighted<R: Rng>(
    rng: &mut R,
    w: &[f64; Signal::ALL.len()],
    exclude: Option<Signal>,
) -> Option<Signal> {
    let total: f64 =
        Signal::ALL.iter().filter(|s| Some(**s) != exclude).map(|s| w[s.index()]).sum();
    let mut x = rng.random::<f64>() * total;
    for s in Signal::ALL.iter().filter(|s| Some(**s) != exclude) {
        x -= w[s.index()];
        if x <= 0.0 {
            return Some(*s);
        }
    }
    None
}

/// Zero, one or two signals for one prospect message.
fn message_signals<R: Rng>(rng: &mut R, t: &Traits, k: u32, n: u32) -> Vec<Signal> {
    let w = signal_weights(t, k, n);
    let total: f64 = w.iter().sum();
    let p_any = 1.0 - (-total * 1.2).exp();
    if !rng.random_bool(p_any.clamp(0.0, 1.0)) {
        return vec![];
    }
    let mut out = Vec::with_capacity(2);
    if let Some(first) = draw_weighted(rng, &w, None) {
        out.push(first);
        if rng.random_bool(0.15) {
            if let Some(second) = draw_weighted(rng, &w, Some(first)) {
                out.push(second);
            }
        }
    }
    out.sort();
    out
}

/// Fields captured by a reply to prospect message `k`: each missing field with a probability
/// rising with readiness and with the turn.
fn captured_fields<R: Rng>(rng: &mut R, rho: f64, k: u32, have: QualMask) -> QualMask {
    let p = super::model::sigmoid(-2.8 + 2.5 * rho + 0.35 * f64::from(k));
    let mut got: QualMask = 0;
    for bit in [1u8, 2, 4, 8] {
        if have & bit == 0 && got.count_ones() < 2 && rng.random_bool(p) {
            got |= bit;
        }
    }
    got
}

/// Gap before a prospect message, a reply by the AI, or a reply by a rep.
fn gap<R: Rng>(rng: &mut R, channel: &str, sender: Sender) -> Micros {
    let (low, high) = match (channel, sender) {
        ("email", Sender::Prospect) => (0.5 * 3600.0, 20.0 * 3600.0),
        ("email", Sender::Ai) => (60.0, 1800.0),
        ("email", Sender::Human) => (1800.0, 6.0 * 3600.0),
        ("sms", Sender::Prospect) => (60.0, 3600.0),
        (_, Sender::Prospect) => (15.0, 300.0),
        (_, Sender::Ai) => (3.0, 40.0),
        (_, Sender::Human) => (60.0, 1800.0),
    };
    log_uniform(rng, low, high).round() as Micros * SECOND
}

/// Generates conversation `index` (0-based) of the run, its text drawn from `phrasings`.
pub fn generate_conversation(cfg: &WorldConfig, phrasings: &Phrasings, index: u64) -> Generated {
    let mut rng = rng_for(cfg.seed, index, 0);
    let acct = account(cfg, phrasings, rng.random_range(0..cfg.accounts()));
    let t = traits(&mut rng, acct.segment);
    let channel = pick_channel(&mut rng);
    let playbook = &PLAYBOOKS[rng.random_range(0..PLAYBOOKS.len())];
    let start = started_at(&mut rng, cfg);
    let enterprise_account =
        acct.segment == Segment::Enterprise || acct.employees >= ENTERPRISE_EMPLOYEES;

    // The prospect side: how many messages, their signals and authors.
    let rate = 4.5 + 4.0 * t.rho + if acct.segment == Segment::Enterprise { 1.5 } else { 0.0 };
    let extra = Poisson::new(rate).map(|p| p.sample(&mut rng)).unwrap_or(rate);
    let n = (2.0 + extra).min(14.0) as u32;
    let primary = phrasings.person_address(&mut rng, &acct.domain);
    let second = phrasings.person_address(&mut rng, &acct.domain);
    let second_from = if rng.random_bool(if enterprise_account { 0.25 } else { 0.08 }) {
        rng.random_range(2..=n.max(2))
    } else {
        u32::MAX
    };
    let mut signals = Vec::with_capacity(n as usize);
    let mut authors = Vec::with_capacity(n as usize);
    for k in 1..=n {
        let second_writes = k >= second_from && (k == second_from || rng.random_bool(0.3));
        let mut s = message_signals(&mut rng, &t, k, n);
        if second_writes && k == second_from && s.is_empty() && rng.random_bool(0.4) {
            s.push(Signal::Stakeholders);
        }
        signals.push(s);
        authors.push(if second_writes { second.clone() } else { primary.clone() });
    }
    // Double messages: no reply between two prospect messages (never after the last).
    let doubled: Vec<bool> = (1..=n).map(|k| k < n && rng.random_bool(0.1)).collect();
    let captured: Vec<QualMask> = {
        let mut have = 0u8;
        (1..=n)
            .map(|k| {
                if doubled[k as usize - 1] {
                    return 0;
                }
                let got = captured_fields(&mut rng, t.rho, k, have);
                have |= got;
                got
            })
            .collect()
    };

    // The observable state at each decision point.
    let mut points = Vec::with_capacity(n as usize);
    let mut qual: QualMask = 0;
    let mut seen_authors: Vec<&str> = Vec::new();
    for k in 0..n as usize {
        if !seen_authors.contains(&authors[k].as_str()) {
            seen_authors.push(&authors[k]);
        }
        points.push(PointState {
            signals: SignalSet::of(&signals[k]),
            qualified: qual,
            participants: seen_authors.len() as u32,
        });
        qual |= captured[k];
    }
    let onsets = situation_onsets(&points, enterprise_account);
    let reference = reference_point(&points, &onsets);
    let hazards: Vec<f64> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let hazard = handoff_hazard(playbook, p, &onsets, i as u32 + 1);
            round6(confounded(hazard, cfg.confound, t.rho))
        })
        .collect();
    let historical = hazards.iter().position(|p| rng.random_bool(*p)).map(|i| i as u32 + 1);

    let truth = ConversationTruth {
        rho: t.rho,
        segment: acct.segment,
        reference,
        human_request: onsets[0],
        historical,
        decision_points: n,
        first_situation: onsets.iter().flatten().min().copied(),
        region: acct.region,
    };

    // Lay out the messages.
    let mut messages = Vec::with_capacity(2 * n as usize);
    let mut now = start;
    let mut handoff_turn = None;
    let mut handoff_at = None;
    for k in 1..=n {
        let i = k as usize - 1;
        if k > 1 {
            now += gap(&mut rng, channel, Sender::Prospect);
        }
        let turn = messages.len() as i64 + 1;
        messages.push(Message {
            turn,
            sent_at: now,
            sender: Sender::Prospect,
            participant: Some(authors[i].clone()),
            text: phrasings.prospect_text(&mut rng, &signals[i]),
            tags: signals[i].iter().map(|s| s.name().to_string()).collect(),
            qualified: 0,
            handoff_probability: Some(hazards[i]),
        });
        let handed_here = historical == Some(k);
        if handed_here {
            handoff_turn = Some(turn);
            handoff_at = Some(now);
        }
        if doubled[i] {
            continue;
        }
        let after_handoff = historical.is_some_and(|h| k > h);
        let connect = handed_here && rng.random_bool(0.2);
        let sender =
            if after_handoff || (handed_here && !connect) { Sender::Human } else { Sender::Ai };
        now += gap(&mut rng, channel, sender);
        let text = match sender {
            Sender::Human => phrasings.human_text(&mut rng),
            _ if connect => phrasings.ai_connect_text(&mut rng),
            _ => phrasings.ai_text(&mut rng, captured[i]),
        };
        let turn = messages.len() as i64 + 1;
        if connect {
            handoff_turn = Some(turn);
            handoff_at = Some(now);
        }
        messages.push(Message {
            turn,
            sent_at: now,
            sender,
            participant: (sender == Sender::Human).then(|| "rep@handoff-demo.io".to_string()),
            text,
            tags: vec![],
            qualified: captured[i],
            handoff_probability: None,
        });
    }
    let last_at = now;
    let outcome = sample_outcome(&mut rng, &truth, start, last_at, handoff_turn, handoff_at);

    Generated {
        conversation: Conversation {
            id: conversation_id(index),
            started_at: start,
            account_id: Some(format!("acct-{:06}", acct.number + 1)),
            segment: Some(acct.segment.name().to_string()),
            employee_count: Some(acct.employees),
            channel: Some(channel.to_string()),
            ai_agent: Some(playbook.agent.to_string()),
            // Aligned with `EXTRA_COLUMNS` when the world has regions.
            extra: acct.region.map(|r| vec![Some(r.name().to_string())]).unwrap_or_default(),
            messages,
            outcome,
            released: None,
        },
        truth,
        prospect_signals: points.iter().map(|p| p.signals).collect(),
    }
}

/// Readiness's mean and standard deviation (its `Beta(2, 3)`): the confounding moves the
/// hazard by standardised readiness.
const RHO_MEAN: f64 = 0.4;
const RHO_SD: f64 = 0.2;

/// History's hazard with hidden confounding of strength `c`: `c` log-odds per standard
/// deviation of the prospect's readiness `rho` (never written, and what the outcomes depend
/// on), within the hazard's usual limits. `c = 0` returns `hazard` untouched, so the data stay
/// byte-identical.
pub fn confounded(hazard: f64, c: f64, rho: f64) -> f64 {
    if c == 0.0 || !c.is_finite() {
        return hazard;
    }
    let logit = (hazard / (1.0 - hazard)).ln() + c * (rho - RHO_MEAN) / RHO_SD;
    super::model::sigmoid(logit).clamp(super::model::HAZARD_MIN, super::model::HAZARD_MAX)
}

pub fn conversation_id(index: u64) -> String {
    format!("conv-{:07}", index + 1)
}

fn round6(p: f64) -> f64 {
    (p * 1e6).round() / 1e6
}

fn pick_channel<R: Rng>(rng: &mut R) -> &'static str {
    let u: f64 = rng.random();
    if u < 0.7 {
        "chat"
    } else if u < 0.9 {
        "email"
    } else {
        "sms"
    }
}

/// Draws the recorded outcome from the model's probabilities at history's handoff; `None`
/// when nothing happened (no handoff, no meeting).
fn sample_outcome<R: Rng>(
    rng: &mut R,
    truth: &ConversationTruth,
    start: Micros,
    last_at: Micros,
    handoff_turn: Option<i64>,
    handoff_at: Option<Micros>,
) -> Option<Outcome> {
    let probs = outcome_probabilities(truth, truth.historical);
    let meeting = rng.random_bool(probs.meeting);
    let opportunity = meeting && rng.random_bool(opportunity_given_meeting(truth));
    if !meeting && handoff_turn.is_none() {
        return None;
    }
    let mut out = Outcome { handoff_turn, handoff_at, ..Outcome::default() };
    if handoff_turn.is_some() {
        out.context = handoff_context(rng);
        if rng.random_bool(0.85) {
            out.rep_rating = Some(rep_rating(rng, truth));
        }
    }
    if meeting {
        let meeting_at = (start + rng.random_range(DAY..10 * DAY))
            .max(last_at + HOUR + rng.random_range(0..DAY));
        out.meeting_at = Some(round_to_minute(meeting_at));
        if opportunity {
            let at = meeting_at + rng.random_range(3 * DAY..15 * DAY);
            let median = AMOUNT_MEDIAN[truth.segment.index()];
            let amount = LogNormal::new(median.ln(), AMOUNT_SIGMA)
                .map(|d| d.sample(rng))
                .unwrap_or(expected_amount_given_opportunity(truth.segment));
            out.opportunity_at = Some(round_to_minute(at));
            out.opportunity_amount = Some((amount * 100.0).round() / 100.0);
            out.currency = Some("USD".to_string());
        }
    }
    Some(out)
}

fn round_to_minute(t: Micros) -> Micros {
    t - t.rem_euclid(MINUTE)
}

/// The items a rep received: usually history, often qualification and signals.
fn handoff_context<R: Rng>(rng: &mut R) -> u8 {
    let mut mask = 0;
    for (bit, p) in [(1u8, 0.95), (2, 0.8), (4, 0.7), (8, 0.5)] {
        if rng.random_bool(p) {
            mask |= bit;
        }
    }
    mask
}

/// The rep's rating: higher when the handoff came at the right time.
fn rep_rating<R: Rng>(rng: &mut R, truth: &ConversationTruth) -> u8 {
    let Some(h) = truth.historical else { return 3 };
    let mut score: f64 = 3.0 + rng.random_range(-0.8..0.8);
    match truth.reference {
        Some(r) if h >= r && h <= r + 2 => score += 1.2,
        Some(r) if h > r + 2 => score -= 0.3,
        _ => score -= 1.0,
    }
    if truth.human_request.is_some_and(|q| h > q) {
        score -= 0.7;
    }
    score.round().clamp(1.0, 5.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrasings() -> &'static Phrasings {
        Phrasings::shipped().expect("the shipped phrasings parse")
    }

    fn cfg() -> WorldConfig {
        WorldConfig {
            seed: 7,
            conversations: 500,
            weeks: 2,
            start: 1_794_182_400 * SECOND,
            slice_effects: false,
            confound: 0.0,
        }
    }

    #[test]
    fn same_seed_and_index_give_the_same_conversation() {
        let a = generate_conversation(&cfg(), phrasings(), 17);
        let b = generate_conversation(&cfg(), phrasings(), 17);
        assert_eq!(a.conversation, b.conversation);
        let c = generate_conversation(&cfg(), phrasings(), 18);
        assert_ne!(a.conversation.messages, c.conversation.messages);
    }

    #[test]
    fn conversations_are_well_formed() {
        let cfg = cfg();
        for i in 0..300 {
            let g = generate_conversation(&cfg, phrasings(), i);
            let msgs = &g.conversation.messages;
            let prospects = msgs.iter().filter(|m| m.sender == Sender::Prospect).count();
            assert!((2..=14).contains(&prospects), "{prospects}");
            assert_eq!(prospects as u32, g.truth.decision_points);
            for (j, m) in msgs.iter().enumerate() {
                assert_eq!(m.turn, j as i64 + 1);
                assert!(m.tags.len() <= 2);
                if j > 0 {
                    assert!(m.sent_at >= msgs[j - 1].sent_at);
                }
            }
            assert!(g.conversation.started_at >= cfg.start);
            assert!(g.conversation.started_at < cfg.start + 14 * DAY);
            if let Some(o) = &g.conversation.outcome {
                if let Some(turn) = o.handoff_turn {
                    assert!(msgs.iter().any(|m| m.turn == turn));
                    // Everything after the handoff's prospect message is a rep's reply or
                    // the AI's "connecting you" message.
                }
                if o.opportunity_at.is_some() {
                    assert!(o.meeting_at.is_some());
                    assert!(o.opportunity_at > o.meeting_at);
                }
                let rating_ok = o.rep_rating.is_none_or(|r| (1..=5).contains(&r));
                assert!(rating_ok);
            }
        }
    }

    #[test]
    fn history_hands_off_at_its_decision_point() {
        let cfg = cfg();
        let mut handed = 0;
        for i in 0..300 {
            let g = generate_conversation(&cfg, phrasings(), i);
            let Some(h) = g.truth.historical else { continue };
            handed += 1;
            let turn = g.conversation.outcome.as_ref().and_then(|o| o.handoff_turn);
            let turn = turn.expect("handoff recorded");
            // The last prospect message at or before the handoff turn is decision point h.
            let d = g
                .conversation
                .messages
                .iter()
                .filter(|m| m.sender == Sender::Prospect && m.turn <= turn)
                .count();
            assert_eq!(d as u32, h);
        }
        assert!(handed > 30 && handed < 290, "{handed}");
    }

    #[test]
    fn handing_off_at_the_reference_beats_history_and_never_in_expectation() {
        let cfg = cfg();
        let (mut at_reference, mut history, mut never, mut delayed) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..2000 {
            let t = generate_conversation(&cfg, phrasings(), i).truth;
            at_reference += outcome_probabilities(&t, t.reference).meeting;
            history += outcome_probabilities(&t, t.historical).meeting;
            never += outcome_probabilities(&t, None).meeting;
            let late = t.reference.map(|r| r + 2).filter(|d| *d <= t.decision_points);
            delayed += outcome_probabilities(&t, late).meeting;
        }
        eprintln!("reference {at_reference} history {history} never {never} delayed {delayed}");
        assert!(at_reference > history && at_reference > never && at_reference > delayed);
    }

    /// Rebuilds each decision point from the rows alone, the way ingest and policies.md see
    /// them (signals from the tags, qualification of every sender up to the message's turn,
    /// distinct prospect participants), and checks the world's truth against it.
    fn points_from_rows(conv: &Conversation) -> Vec<PointState> {
        let mut points = vec![];
        let mut qualified = 0;
        let mut people: Vec<String> = vec![];
        for m in &conv.messages {
            qualified |= m.qualified;
            if m.sender != Sender::Prospect {
                continue;
            }
            if let Some(p) = &m.participant {
                let p = p.trim().to_lowercase();
                if !p.is_empty() && !people.contains(&p) {
                    people.push(p);
                }
            }
            let signals = m.tags.iter().filter_map(|t| Signal::parse(t)).collect::<Vec<_>>();
            points.push(PointState {
                signals: SignalSet::of(&signals),
                qualified,
                participants: people.len() as u32,
            });
        }
        points
    }

    #[test]
    fn truth_agrees_with_the_written_rows() {
        let cfg = cfg();
        let mut with_reference = 0;
        for i in 0..400 {
            let g = generate_conversation(&cfg, phrasings(), i);
            let c = &g.conversation;
            let points = points_from_rows(c);
            let enterprise = c.segment.as_deref() == Some("enterprise")
                || c.employee_count.is_some_and(|e| e >= ENTERPRISE_EMPLOYEES);
            let onsets = situation_onsets(&points, enterprise);
            assert_eq!(onsets[0], g.truth.human_request, "{}", c.id);
            assert_eq!(reference_point(&points, &onsets), g.truth.reference, "{}", c.id);
            let signals: Vec<SignalSet> = points.iter().map(|p| p.signals).collect();
            assert_eq!(signals, g.prospect_signals);
            with_reference += usize::from(g.truth.reference.is_some());
        }
        assert!(with_reference > 100 && with_reference < 400, "{with_reference}");
    }

    /// The world's own reading of policies.md against `replay`.
    #[test]
    fn world_reference_agrees_with_replay() {
        let cfg = cfg();
        let reference = crate::policy::QualityReference::default().policy;
        for i in 0..400 {
            let g = generate_conversation(&cfg, phrasings(), i);
            let tl = crate::replay::build_timeline(&g.conversation, &g.prospect_signals);
            let onsets = crate::replay::situation_onsets(&reference, &tl);
            let mine = situation_onsets(&points_from_rows(&g.conversation), {
                let c = &g.conversation;
                c.segment.as_deref() == Some("enterprise")
                    || c.employee_count.is_some_and(|e| e >= ENTERPRISE_EMPLOYEES)
            });
            assert_eq!(onsets, mine, "{}", g.conversation.id);
            assert_eq!(crate::replay::decide(&reference, &tl).point, g.truth.reference);
            assert_eq!(tl.historical, g.truth.historical);
        }
    }

    #[test]
    fn the_slice_world_adds_an_account_region_and_leaves_the_conversation_alone() {
        let plain = cfg();
        let sliced = WorldConfig { slice_effects: true, ..cfg() };
        let mut region_of = std::collections::BTreeMap::new();
        let mut apac = 0;
        for i in 0..300 {
            let a = generate_conversation(&plain, phrasings(), i);
            let b = generate_conversation(&sliced, phrasings(), i);
            assert!(a.conversation.extra.is_empty() && a.truth.region.is_none());
            // Same stream: the same prospect, messages and history; only outcomes may differ.
            assert_eq!(a.conversation.messages, b.conversation.messages);
            assert_eq!(a.conversation.account_id, b.conversation.account_id);
            assert_eq!(a.truth.historical, b.truth.historical);
            let region = b.truth.region.map(Region::name);
            assert!(region.is_some());
            assert_eq!(b.conversation.extra, vec![region.map(str::to_string)]);
            apac += usize::from(region == Some("apac"));
            // A function of the account, like the segment.
            let previous = region_of.insert(b.conversation.account_id.clone(), region);
            assert!(previous.is_none() || previous == Some(region));
        }
        assert!((20..100).contains(&apac), "{apac}");
    }

    #[test]
    fn average_length_is_about_sixteen_messages() {
        let cfg = cfg();
        let total: usize = (0..400)
            .map(|i| generate_conversation(&cfg, phrasings(), i).conversation.messages.len())
            .sum();
        let mean = total as f64 / 400.0;
        assert!((12.0..20.0).contains(&mean), "{mean}");
    }
}
