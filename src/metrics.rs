//! Timing and quality metrics (policies.md, "Quality reference and metrics"): premature, late,
//! missed human requests, the quality score. They depend on the conversation alone, so they are
//! exact for every policy. Pure: no I/O.
//!
//! Per conversation, `p` is the evaluated policy's handoff point, `r` the quality reference's
//! and `q` the first decision point carrying `human_request` (all 1-based decision points).

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::estimate::intervals::normal_mean;
use crate::estimate::Estimate;
use crate::model::Conversation;
use crate::replay::{Decision, Timeline, Timing};
use crate::signals::vocabulary::Signal;

/// A policy's timing and quality figures over a set of conversations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyMetrics {
    pub premature_handoffs: u64,
    pub late_handoffs: u64,
    pub missed_human_requests: u64,
    /// Mean quality score over the policy's handoffs, with a normal interval; null when none.
    pub quality_score: Estimate,
    /// Median turn number of the policy's handoffs; `None` when none.
    pub median_handoff_turn: Option<f64>,
    /// Conversations per timing class (every class present, zero included).
    pub timing: BTreeMap<String, u64>,
}

/// Historical-only figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HistoricalExtras {
    /// Share of the four context items transferred, over history's handoffs.
    pub context_transferred: Option<f64>,
    /// Mean `rep_rating` over the handoffs that have one.
    pub mean_rep_rating: Option<f64>,
}

/// `p` exists and (`r` is none or `p < r`).
pub fn is_premature(p: Option<u32>, r: Option<u32>) -> bool {
    match (p, r) {
        (Some(_), None) => true,
        (Some(p), Some(r)) => p < r,
        _ => false,
    }
}

/// `r` exists and (`p` is none or `p - r > late_after`).
pub fn is_late(p: Option<u32>, r: Option<u32>, late_after: u32) -> bool {
    match (p, r) {
        (None, Some(_)) => true,
        (Some(p), Some(r)) => p > r && p - r > late_after,
        _ => false,
    }
}

/// `q` exists and (`p` is none or `p > q`).
pub fn misses_human_request(p: Option<u32>, q: Option<u32>) -> bool {
    match (p, q) {
        (None, Some(_)) => true,
        (Some(p), Some(q)) => p > q,
        _ => false,
    }
}

/// The first decision point whose prospect message carries `human_request`.
pub fn first_human_request(tl: &Timeline) -> Option<u32> {
    tl.points.iter().position(|pt| pt.signals.contains(Signal::HumanRequest)).map(|i| i as u32 + 1)
}

/// Timing component: 0 when premature, 1 within `[r, r + late_after]`, then falling linearly
/// to 0 over the next `late_after` decision points.
pub fn timing_component(p: u32, r: Option<u32>, late_after: u32) -> f64 {
    let Some(r) = r else { return 0.0 };
    if p < r {
        return 0.0;
    }
    let over = f64::from(p - r) - f64::from(late_after);
    if over <= 0.0 {
        return 1.0;
    }
    (1.0 - over / f64::from(late_after.max(1))).max(0.0)
}

/// Responsiveness: 1 when `q` is none or `q > p`, else `1 / (1 + p - q)`.
pub fn responsiveness(p: u32, q: Option<u32>) -> f64 {
    match q {
        Some(q) if q <= p => 1.0 / f64::from(1 + p - q),
        _ => 1.0,
    }
}

/// The quality score (0-100) of a handoff at `p` in `tl`.
pub fn quality_score(tl: &Timeline, p: u32, r: Option<u32>, late_after: u32) -> f64 {
    quality_score_given(tl, p, r, first_human_request(tl), late_after)
}

/// `quality_score` with the first human request `q` already found (a row's metrics need it
/// anyway; each search walks the timeline).
fn quality_score_given(
    tl: &Timeline,
    p: u32,
    r: Option<u32>,
    q: Option<u32>,
    late_after: u32,
) -> f64 {
    let qualified =
        p.checked_sub(1).and_then(|i| tl.points.get(i as usize)).map_or(0, |pt| pt.qualified);
    let qualification = f64::from((qualified & 0x0f).count_ones()) / 4.0;
    let timing = timing_component(p, r, late_after);
    let responsive = responsiveness(p, q);
    100.0 * (0.4 * timing + 0.3 * qualification + 0.3 * responsive)
}

/// Median of values (mean of the two middle ones for an even count); `None` when empty.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// One conversation as every policy's metrics see it.
#[derive(Clone, Copy, Debug)]
pub struct MetricConversation<'a> {
    pub timeline: &'a Timeline,
    /// The quality reference's decision.
    pub reference: Decision,
    /// Where the policies' decisions for it are (`policies[k][index]`).
    pub index: usize,
    /// The groups it is counted in (slices.md: group 0 the window, the others its slices).
    pub groups: &'a [usize],
}

/// Conversations per task of `policies_metrics_grouped`: fixed, so that the order in which
/// the quality scores are added (and so their sums) does not depend on the thread count.
const METRICS_CHUNK: usize = 8192;

/// The timing and quality metrics of several policies (`policies[k]`: policy k's decisions,
/// looked up by `MetricConversation::index`; a missing one counts as never handing off) over
/// `groups` groups, in one pass over the conversations per `POLICIES_PER_PASS` policies: each
/// conversation's timeline is read, and its first human request found, once per pass rather
/// than once per policy (a pass per policy read every timeline again, which cost more than
/// the arithmetic). Returns `[policy][group]`.
pub fn policies_metrics_grouped(
    conversations: &[MetricConversation],
    policies: &[&[Decision]],
    groups: usize,
    late_after: u32,
) -> Vec<Vec<PolicyMetrics>> {
    policies
        .chunks(POLICIES_PER_PASS)
        .flat_map(|batch| batch_metrics(conversations, batch, groups, late_after))
        .collect()
}

/// Policies measured in one pass of `policies_metrics_grouped`: each keeps every handoff's
/// quality score and turn until its median and interval are taken (16 bytes a handoff), so
/// a pass over all of them at once would hold them all.
const POLICIES_PER_PASS: usize = 8;

/// `policies_metrics_grouped` for a few policies.
fn batch_metrics(
    conversations: &[MetricConversation],
    policies: &[&[Decision]],
    groups: usize,
    late_after: u32,
) -> Vec<Vec<PolicyMetrics>> {
    let chunk_sums = |chunk: &[MetricConversation]| -> Vec<Accumulator> {
        let mut accs: Vec<Accumulator> =
            (0..policies.len() * groups).map(|_| Accumulator::default()).collect();
        for c in chunk {
            let n = c.timeline.points.len() as u32;
            let r = c.reference.point.filter(|&r| r >= 1 && r <= n);
            let q = first_human_request(c.timeline);
            for (k, decisions) in policies.iter().enumerate() {
                let policy = decisions.get(c.index).copied().unwrap_or(Decision::NEVER);
                let m = RowMetrics::of(c.timeline, policy, r, q, late_after);
                let of_policy = &mut accs[k * groups..(k + 1) * groups];
                for &g in c.groups {
                    if let Some(acc) = of_policy.get_mut(g) {
                        acc.add(&m);
                    }
                }
            }
        }
        accs
    };
    let chunks: Vec<Vec<Accumulator>> =
        conversations.par_chunks(METRICS_CHUNK).map(chunk_sums).collect();
    let mut total: Vec<Accumulator> =
        (0..policies.len() * groups).map(|_| Accumulator::default()).collect();
    for chunk in chunks {
        for (t, c) in total.iter_mut().zip(chunk) {
            t.absorb(c);
        }
    }
    let mut total = total.into_iter();
    policies
        .iter()
        .map(|_| total.by_ref().take(groups).map(Accumulator::finish).collect())
        .collect()
}

/// One conversation's share of a policy's metrics.
struct RowMetrics {
    premature: bool,
    late: bool,
    missed: bool,
    /// Position of its timing class in `Timing::ALL`.
    timing: Option<usize>,
    /// Quality score and turn of the policy's handoff, if it hands off.
    handoff: Option<(f64, f64)>,
}

impl RowMetrics {
    /// `policy`'s share in `tl`, given the reference's point `r` (inside the timeline) and the
    /// first human request `q`.
    fn of(
        tl: &Timeline,
        policy: Decision,
        r: Option<u32>,
        q: Option<u32>,
        late_after: u32,
    ) -> RowMetrics {
        let n = tl.points.len() as u32;
        // Points outside the timeline cannot be handoffs; treat them as none.
        let p = policy.point.filter(|&p| p >= 1 && p <= n);
        let t = Timing::of(p, tl.historical);
        RowMetrics {
            premature: is_premature(p, r),
            late: is_late(p, r, late_after),
            missed: misses_human_request(p, q),
            timing: Timing::ALL.iter().position(|&x| x == t),
            handoff: p.map(|p| {
                let turn = tl.points[p as usize - 1].turn as f64;
                (quality_score_given(tl, p, r, q, late_after), turn)
            }),
        }
    }
}

/// The running sums of one group's metrics (`policy_metrics_grouped`).
#[derive(Default)]
struct Accumulator {
    premature: u64,
    late: u64,
    missed: u64,
    // Counted by position in `Timing::ALL`, named once at the end (no text per row).
    timing: [u64; Timing::ALL.len()],
    scores: Vec<f64>,
    turns: Vec<f64>,
}

impl Accumulator {
    fn add(&mut self, m: &RowMetrics) {
        self.premature += u64::from(m.premature);
        self.late += u64::from(m.late);
        self.missed += u64::from(m.missed);
        if let Some(slot) = m.timing.and_then(|s| self.timing.get_mut(s)) {
            *slot += 1;
        }
        if let Some((score, turn)) = m.handoff {
            self.scores.push(score);
            self.turns.push(turn);
        }
    }

    /// Adds the sums of the conversations that come after this accumulator's.
    fn absorb(&mut self, later: Accumulator) {
        self.premature += later.premature;
        self.late += later.late;
        self.missed += later.missed;
        for (a, b) in self.timing.iter_mut().zip(later.timing) {
            *a += b;
        }
        self.scores.extend(later.scores);
        self.turns.extend(later.turns);
    }

    fn finish(self) -> PolicyMetrics {
        let mut m = PolicyMetrics {
            timing: Timing::ALL.iter().map(|t| (t.name().to_string(), 0)).collect(),
            premature_handoffs: self.premature,
            late_handoffs: self.late,
            missed_human_requests: self.missed,
            ..PolicyMetrics::default()
        };
        for (t, count) in Timing::ALL.iter().zip(self.timing) {
            *m.timing.entry(t.name().to_string()).or_default() += count;
        }
        m.quality_score = normal_mean(&self.scores);
        m.median_handoff_turn = median(self.turns);
        m
    }
}

/// Context transferred and mean rep rating over history's handoffs in `conversations`.
pub fn historical_extras<'a>(
    conversations: impl IntoIterator<Item = &'a Conversation>,
) -> HistoricalExtras {
    let (mut context_sum, mut handoffs) = (0.0, 0u64);
    let (mut rating_sum, mut ratings) = (0.0, 0u64);
    for c in conversations {
        let Some(outcome) = c.outcome.as_ref().filter(|o| o.handoff_turn.is_some()) else {
            continue;
        };
        handoffs += 1;
        context_sum += f64::from((outcome.context & 0x0f).count_ones()) / 4.0;
        if let Some(r) = outcome.rep_rating {
            rating_sum += f64::from(r);
            ratings += 1;
        }
    }
    HistoricalExtras {
        context_transferred: (handoffs > 0).then(|| context_sum / handoffs as f64),
        mean_rep_rating: (ratings > 0).then(|| rating_sum / ratings as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use crate::replay::DecisionPoint;
    use crate::signals::vocabulary::SignalSet;

    fn at(p: Option<u32>) -> Decision {
        Decision { point: p, situation: None }
    }

    /// One conversation with one policy's decision, as the tests write them.
    #[derive(Clone, Copy)]
    struct MetricRow<'a> {
        timeline: &'a Timeline,
        policy: Decision,
        reference: Decision,
    }

    /// One policy's metrics over `groups` groups (each row with the groups it is in).
    fn policy_metrics_grouped<'a>(
        rows: impl IntoIterator<Item = (MetricRow<'a>, &'a [usize])>,
        groups: usize,
        late_after: u32,
    ) -> Vec<PolicyMetrics> {
        let rows: Vec<(MetricRow, &[usize])> = rows.into_iter().collect();
        let decisions: Vec<Decision> = rows.iter().map(|(r, _)| r.policy).collect();
        let conversations: Vec<MetricConversation> = rows
            .iter()
            .enumerate()
            .map(|(index, (r, groups))| MetricConversation {
                timeline: r.timeline,
                reference: r.reference,
                index,
                groups,
            })
            .collect();
        policies_metrics_grouped(&conversations, &[&decisions], groups, late_after)
            .pop()
            .unwrap_or_default()
    }

    /// The metrics of one group: every row.
    fn policy_metrics<'a>(
        rows: impl IntoIterator<Item = MetricRow<'a>>,
        late_after: u32,
    ) -> PolicyMetrics {
        let whole: &[usize] = &[0];
        let mut out = policy_metrics_grouped(rows.into_iter().map(|r| (r, whole)), 1, late_after);
        out.pop().unwrap_or_default()
    }

    /// Five points at turns 2, 4, 6, 8, 10; human request at point 3; qualification grows.
    fn timeline() -> Timeline {
        let quals = [0b0000, 0b0001, 0b0011, 0b0111, 0b1111];
        let points = (0..5)
            .map(|i| DecisionPoint {
                turn: 2 * (i as i64 + 1),
                signals: if i == 2 {
                    SignalSet::of(&[Signal::HumanRequest])
                } else {
                    SignalSet::EMPTY
                },
                qualified: quals[i],
                participants: 1,
                handoff_probability: None,
            })
            .collect();
        Timeline { points, historical: Some(3), ..Timeline::default() }
    }

    #[test]
    fn premature_late_and_missed_follow_the_rules() {
        assert!(is_premature(Some(1), None));
        assert!(is_premature(Some(1), Some(2)));
        assert!(!is_premature(Some(2), Some(2)));
        assert!(!is_premature(None, Some(2)));
        assert!(is_late(None, Some(2), 2));
        assert!(!is_late(Some(4), Some(2), 2));
        assert!(is_late(Some(5), Some(2), 2));
        assert!(!is_late(Some(1), Some(2), 2));
        assert!(!is_late(None, None, 2));
        assert!(misses_human_request(None, Some(3)));
        assert!(misses_human_request(Some(4), Some(3)));
        assert!(!misses_human_request(Some(3), Some(3)));
        assert!(!misses_human_request(Some(3), None));
    }

    #[test]
    fn timing_component_falls_linearly_after_the_window() {
        assert_eq!(timing_component(1, Some(2), 2), 0.0);
        assert_eq!(timing_component(3, None, 2), 0.0);
        assert_eq!(timing_component(2, Some(2), 2), 1.0);
        assert_eq!(timing_component(4, Some(2), 2), 1.0);
        assert_eq!(timing_component(5, Some(2), 2), 0.5);
        assert_eq!(timing_component(6, Some(2), 2), 0.0);
        assert_eq!(timing_component(9, Some(2), 2), 0.0);
    }

    #[test]
    fn quality_score_by_hand() {
        let tl = timeline();
        // p = 4, r = 2: timing 1; 3 of 4 fields; q = 3 <= p: 1 / (1 + 4 - 3) = 0.5.
        let s = quality_score(&tl, 4, Some(2), 2);
        assert!((s - 100.0 * (0.4 + 0.3 * 0.75 + 0.3 * 0.5)).abs() < 1e-12);
        // p = 2 (before the request at 3), r = 3: premature, 1 field, responsive 1.
        let s = quality_score(&tl, 2, Some(3), 2);
        assert!((s - 100.0 * (0.3 * 0.25 + 0.3)).abs() < 1e-12);
    }

    #[test]
    fn policy_metrics_count_and_summarise() {
        let tl = timeline();
        let rows = [
            // p 4 vs r 2: neither premature nor late; misses the request at 3; later than h 3.
            MetricRow { timeline: &tl, policy: at(Some(4)), reference: at(Some(2)) },
            // p 1 vs r 2: premature; responsive; earlier.
            MetricRow { timeline: &tl, policy: at(Some(1)), reference: at(Some(2)) },
            // never vs r 2: late and missed; only history.
            MetricRow { timeline: &tl, policy: at(None), reference: at(Some(2)) },
        ];
        let m = policy_metrics(rows, 2);
        assert_eq!(m.premature_handoffs, 1);
        assert_eq!(m.late_handoffs, 1);
        assert_eq!(m.missed_human_requests, 2);
        // Turns 8 and 2: median 5.
        assert_eq!(m.median_handoff_turn, Some(5.0));
        let s1 = 100.0 * (0.4 + 0.3 * 0.75 + 0.3 * 0.5);
        let s2 = 100.0 * 0.3;
        assert!((m.quality_score.estimate.unwrap() - (s1 + s2) / 2.0).abs() < 1e-9);
        assert_eq!(m.timing["later"], 1);
        assert_eq!(m.timing["earlier"], 1);
        assert_eq!(m.timing["only_history"], 1);
        assert_eq!(m.timing["same"], 0);
        assert_eq!(m.timing.len(), 6);
    }

    #[test]
    fn grouped_metrics_count_each_row_in_each_of_its_groups() {
        let tl = timeline();
        let early = MetricRow { timeline: &tl, policy: at(Some(1)), reference: at(Some(2)) };
        let never = MetricRow { timeline: &tl, policy: at(None), reference: at(Some(2)) };
        // Group 0: both rows; group 1: the early one; group 2: the one that never hands off.
        let rows = [(early, &[0usize, 1][..]), (never, &[0usize, 2][..])];
        let g = policy_metrics_grouped(rows, 3, 2);
        assert_eq!(g.len(), 3);
        assert_eq!(g[0], policy_metrics([early, never], 2));
        assert_eq!(g[1], policy_metrics([early], 2));
        assert_eq!(g[2], policy_metrics([never], 2));
        assert_eq!((g[1].premature_handoffs, g[2].late_handoffs), (1, 1));
    }

    #[test]
    fn no_handoffs_give_null_quality_and_median() {
        let tl = timeline();
        let m =
            policy_metrics([MetricRow { timeline: &tl, policy: at(None), reference: at(None) }], 2);
        assert_eq!(m.quality_score, Estimate::NULL);
        assert_eq!(m.median_handoff_turn, None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
    }

    #[test]
    fn historical_extras_average_over_handoffs() {
        let mut a = crate::estimate::features::tests::conversation("a");
        a.outcome = Some(Outcome {
            handoff_turn: Some(3),
            context: 0b0111,
            rep_rating: Some(4),
            ..Outcome::default()
        });
        let mut b = crate::estimate::features::tests::conversation("b");
        b.outcome = Some(Outcome { handoff_turn: Some(5), context: 0b0001, ..Outcome::default() });
        let mut c = crate::estimate::features::tests::conversation("c");
        c.outcome = Some(Outcome { context: 0b1111, rep_rating: Some(1), ..Outcome::default() });
        let e = historical_extras([&a, &b, &c]);
        assert_eq!(e.context_transferred, Some(0.5)); // (3/4 + 1/4) / 2
        assert_eq!(e.mean_rep_rating, Some(4.0));
        assert_eq!(historical_extras([&c]), HistoricalExtras::default());
    }
}
