//! The estimators' arithmetic on plain numbers, separate from model fitting so that each can
//! be checked by hand: per conversation, whether the policy agrees with history, the
//! propensity of history's observed path, the outcome model's prediction at the policy's
//! decision and the observed outcome. Produces per-conversation contributions as
//! `intervals::Statistic`s.
//!
//! - `matched`: `sum a_i y_i / sum a_i` (`a_i` = agreement within the tolerance);
//! - `dm`: `mean m(x_i, hp_i)`;
//! - `ipw`: `mean w_i y_i`, `w_i = 1{hp_i = h0_i} / p_i` clipped at `clip`;
//! - `snipw`: `sum w_i y_i / sum w_i`;
//! - `dr`: `mean [m(x_i, hp_i) + w_i (y_i - m(x_i, h0_i))]`. Where `w_i > 0` the policy agrees
//!   with history, so `m(x_i, h0_i) = m(x_i, hp_i)`: one prediction per conversation suffices.
//!
//! `handoff_to_*` = (the same estimator on `y_i 1{hp_i}` and `m 1{hp_i}`) / handoff rate.

use super::intervals::{Column, Mean, Statistic};
use super::{ColumnSensitivities, EstimatorKind};

/// One conversation of the window as the estimators see it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UnitInput {
    /// The policy hands off exactly where history did (both never counts).
    pub agree: bool,
    /// Agreement within `--tolerance` (for `matched`).
    pub agree_within_tolerance: bool,
    /// Probability of history's observed path (only read where `agree`).
    pub propensity: f64,
    pub policy_hands_off: bool,
    /// Observed meeting, opportunity, amount.
    pub y: [f64; 3],
    /// `m(x, hp)` for meeting, opportunity, pipeline.
    pub m: [f64; 3],
}

/// The clipped importance weight `1{agree} / p`, at most `clip`.
pub fn weight(input: &UnitInput, clip: f64) -> f64 {
    if !input.agree {
        return 0.0;
    }
    if input.propensity > 0.0 && input.propensity.is_finite() {
        (1.0 / input.propensity).min(clip)
    } else {
        clip
    }
}

/// Per-conversation statistics of one policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyStatistics {
    pub handoff_rate: Statistic,
    /// meeting, opportunity, pipeline per conversation.
    pub outcomes: [Statistic; 3],
    /// handoff_to_meeting, handoff_to_opportunity.
    pub handoff_to: [Statistic; 2],
    /// Share of conversations agreeing with history (within the tolerance for `matched`).
    pub matched_share: f64,
    /// `(sum w)^2 / sum w^2`; `None` for `matched` and `dm`.
    pub effective_sample_size: Option<f64>,
    /// Number of agreeing conversations.
    pub matched: usize,
}

impl PolicyStatistics {
    /// The statistics a policy's estimate gives intervals for: meeting, opportunity and
    /// pipeline, then handoff-to-meeting and handoff-to-opportunity.
    pub fn interval_statistics(&self) -> [&Statistic; 5] {
        let [a, b, c] = &self.outcomes;
        let [d, e] = &self.handoff_to;
        [a, b, c, d, e]
    }

    /// Every column those statistics sum (for `Resampler::prime`).
    pub fn interval_columns(&self) -> impl Iterator<Item = &Column> {
        self.interval_statistics().into_iter().flat_map(Statistic::columns)
    }
}

/// One conversation's values in a policy's columns.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Contribution {
    /// 1 when the policy hands off.
    pub handoff: f64,
    /// Meeting, opportunity, pipeline.
    pub outcomes: [f64; 3],
    /// Meeting and opportunity over the policy's handoffs (0 where it keeps the conversation).
    pub handoff_to: [f64; 2],
    /// The self-normalising denominator: `matched`'s agreement, `snipw`'s weight (else 0).
    pub denominator: f64,
    pub weight: f64,
    pub agreeing: bool,
}

/// Unit `u`'s contribution under estimator `kind` (the formulas of the module's doc).
pub fn contribution(kind: EstimatorKind, clip: f64, u: &UnitInput) -> Contribution {
    let w = weight(u, clip);
    let agreeing = if kind == EstimatorKind::Matched { u.agree_within_tolerance } else { u.agree };
    let value = |j: usize| match kind {
        EstimatorKind::Matched => {
            if agreeing {
                u.y[j]
            } else {
                0.0
            }
        }
        EstimatorKind::Dm => u.m[j],
        EstimatorKind::Ipw | EstimatorKind::Snipw => w * u.y[j],
        EstimatorKind::Dr => u.m[j] + w * (u.y[j] - u.m[j]),
    };
    let outcomes = [value(0), value(1), value(2)];
    let handoff_to = if u.policy_hands_off { [outcomes[0], outcomes[1]] } else { [0.0; 2] };
    let denominator = match kind {
        EstimatorKind::Matched => f64::from(u8::from(agreeing)),
        EstimatorKind::Snipw => w,
        _ => 0.0,
    };
    Contribution {
        handoff: f64::from(u8::from(u.policy_hands_off)),
        outcomes,
        handoff_to,
        denominator,
        weight: w,
        agreeing,
    }
}

/// A policy's columns over the window, filled conversation by conversation (in parallel, by
/// disjoint ranges: `ranges`), then turned into statistics (`assemble`). Single precision,
/// as `intervals::Column` keeps them.
#[derive(Debug, Default)]
pub struct PolicyColumns {
    handoff: Vec<f32>,
    outcomes: [Vec<f32>; 3],
    handoff_to: [Vec<f32>; 2],
    /// Empty unless the estimator self-normalises (`matched`, `snipw`).
    denominator: Vec<f32>,
}

/// The sums over a range of conversations that `assemble` needs besides the columns.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    sum_w: f64,
    sum_w2: f64,
    matched: usize,
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.sum_w += other.sum_w;
        self.sum_w2 += other.sum_w2;
        self.matched += other.matched;
    }

    /// Counts one conversation's contribution.
    pub fn count(&mut self, c: &Contribution) {
        self.sum_w += c.weight;
        self.sum_w2 += c.weight * c.weight;
        self.matched += usize::from(c.agreeing);
    }

    /// `(sum w)^2 / sum w^2`; `None` for `matched` and `dm`.
    pub fn effective_sample_size(&self, kind: EstimatorKind) -> Option<f64> {
        match kind {
            EstimatorKind::Matched | EstimatorKind::Dm => None,
            _ => Some(if self.sum_w2 > 0.0 { self.sum_w * self.sum_w / self.sum_w2 } else { 0.0 }),
        }
    }

    /// Number of agreeing conversations.
    pub fn matched(&self) -> usize {
        self.matched
    }
}

/// A range of a policy's columns, written by one task.
pub struct ColumnsRange<'a> {
    handoff: &'a mut [f32],
    outcomes: [&'a mut [f32]; 3],
    handoff_to: [&'a mut [f32]; 2],
    denominator: &'a mut [f32],
    pub totals: Totals,
}

impl ColumnsRange<'_> {
    /// Writes the contribution of the range's conversation `offset`.
    pub fn set(&mut self, offset: usize, c: &Contribution) {
        self.handoff[offset] = c.handoff as f32;
        for (column, v) in self.outcomes.iter_mut().zip(c.outcomes) {
            column[offset] = v as f32;
        }
        for (column, v) in self.handoff_to.iter_mut().zip(c.handoff_to) {
            column[offset] = v as f32;
        }
        if let Some(d) = self.denominator.get_mut(offset) {
            *d = c.denominator as f32;
        }
        self.totals.count(c);
    }
}

impl PolicyColumns {
    /// Zeroed columns for `n` conversations.
    pub fn zeroed(kind: EstimatorKind, n: usize) -> PolicyColumns {
        let normalised = matches!(kind, EstimatorKind::Matched | EstimatorKind::Snipw);
        PolicyColumns {
            handoff: vec![0.0f32; n],
            outcomes: std::array::from_fn(|_| vec![0.0f32; n]),
            handoff_to: std::array::from_fn(|_| vec![0.0f32; n]),
            denominator: if normalised { vec![0.0f32; n] } else { Vec::new() },
        }
    }

    /// The columns cut at `bounds` (ascending ends of consecutive ranges from 0), one
    /// writable range per task.
    pub fn ranges(&mut self, bounds: &[usize]) -> Vec<ColumnsRange<'_>> {
        fn cut<'a>(mut column: &'a mut [f32], bounds: &[usize]) -> Vec<&'a mut [f32]> {
            let mut out = Vec::with_capacity(bounds.len());
            let mut at = 0;
            for &end in bounds {
                let len = if column.is_empty() { 0 } else { end - at };
                let (head, tail) = std::mem::take(&mut column).split_at_mut(len);
                out.push(head);
                column = tail;
                at = end;
            }
            out
        }
        let mut handoff = cut(&mut self.handoff, bounds).into_iter();
        let [o0, o1, o2] = &mut self.outcomes;
        let mut outcomes = [cut(o0, bounds), cut(o1, bounds), cut(o2, bounds)].map(Vec::into_iter);
        let [h0, h1] = &mut self.handoff_to;
        let mut handoff_to = [cut(h0, bounds), cut(h1, bounds)].map(Vec::into_iter);
        let mut denominator = cut(&mut self.denominator, bounds).into_iter();
        fn next<'a>(it: &mut std::vec::IntoIter<&'a mut [f32]>) -> &'a mut [f32] {
            it.next().unwrap_or_default()
        }
        let mut out = Vec::with_capacity(bounds.len());
        for _ in bounds {
            out.push(ColumnsRange {
                handoff: next(&mut handoff),
                outcomes: [next(&mut outcomes[0]), next(&mut outcomes[1]), next(&mut outcomes[2])],
                handoff_to: [next(&mut handoff_to[0]), next(&mut handoff_to[1])],
                denominator: next(&mut denominator),
                totals: Totals::default(),
            });
        }
        out
    }

    /// The policy's statistics from its filled columns; `sensitivities` say how its columns'
    /// sums move with the models (meeting, opportunity, pipeline, the two handoff
    /// numerators, the self-normalising weights).
    pub fn assemble(
        self,
        kind: EstimatorKind,
        totals: Totals,
        sensitivities: &ColumnSensitivities,
    ) -> PolicyStatistics {
        let n = self.handoff.len();
        let handoff_rate = Mean { num: Column::from_values(self.handoff), den: None };
        let denominator: Option<Column> = match kind {
            EstimatorKind::Matched => Some(Column::from_values(self.denominator)),
            EstimatorKind::Snipw => Some(
                Column::from_values(self.denominator).with_sensitivity(sensitivities[5].clone()),
            ),
            _ => None,
        };
        let mean_of = |values: Vec<f32>, column: usize| {
            let num = Column::from_values(values).with_sensitivity(sensitivities[column].clone());
            Mean { num, den: denominator.clone() }
        };
        let [o0, o1, o2] = self.outcomes;
        let outcomes = [(o0, 0), (o1, 1), (o2, 2)].map(|(v, j)| Statistic::of(mean_of(v, j), None));
        let [h0, h1] = self.handoff_to;
        let handoff_to = [(h0, 3), (h1, 4)]
            .map(|(v, j)| Statistic::of(mean_of(v, j), Some(handoff_rate.clone())));
        let effective_sample_size = totals.effective_sample_size(kind);
        let matched = totals.matched;
        PolicyStatistics {
            handoff_rate: Statistic::of(handoff_rate, None),
            outcomes,
            handoff_to,
            matched_share: if n == 0 { 0.0 } else { matched as f64 / n as f64 },
            effective_sample_size,
            matched,
        }
    }
}

/// Builds the statistics of one policy from its conversations' inputs (`contribution` per
/// conversation, then `PolicyColumns::assemble`).
pub fn build(
    kind: EstimatorKind,
    clip: f64,
    inputs: &[UnitInput],
    sensitivities: &ColumnSensitivities,
) -> PolicyStatistics {
    let mut columns = PolicyColumns::zeroed(kind, inputs.len());
    let totals = {
        let mut ranges = columns.ranges(&[inputs.len()]);
        let range = &mut ranges[0];
        for (i, u) in inputs.iter().enumerate() {
            range.set(i, &contribution(kind, clip, u));
        }
        range.totals
    };
    columns.assemble(kind, totals, sensitivities)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(agree: bool, p: f64, hands_off: bool, y: f64, m: f64) -> UnitInput {
        UnitInput {
            agree,
            agree_within_tolerance: agree,
            propensity: p,
            policy_hands_off: hands_off,
            y: [y, y, 100.0 * y],
            m: [m, m, 100.0 * m],
        }
    }

    /// Four conversations, worked by hand:
    /// 1: agrees, p 0.5, hands off, y 1, m 0.6
    /// 2: agrees, p 0.25, never,    y 0, m 0.2
    /// 3: differs,         hands off, y 1, m 0.5
    /// 4: differs,         never,    y 0, m 0.1
    fn four() -> Vec<UnitInput> {
        vec![
            input(true, 0.5, true, 1.0, 0.6),
            input(true, 0.25, false, 0.0, 0.2),
            input(false, 0.9, true, 1.0, 0.5),
            input(false, 0.9, false, 0.0, 0.1),
        ]
    }

    fn value(s: &Statistic) -> f64 {
        s.value().unwrap()
    }

    /// Columns hold single-precision values (`intervals::Column`): a sum of a few of them
    /// matches the hand-computed figure to about 1e-8.
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * a.abs().max(1.0)
    }

    #[test]
    fn matched_is_the_mean_over_agreeing_conversations() {
        let s = build(EstimatorKind::Matched, 50.0, &four(), &Default::default());
        assert!(close(value(&s.outcomes[0]), 0.5)); // (1 + 0) / 2
        assert!(close(value(&s.outcomes[2]), 50.0));
        assert_eq!(s.matched_share, 0.5);
        assert_eq!(s.effective_sample_size, None);
        // handoff_to_meeting: (1 / 2) / (2 / 4) = 1.
        assert!(close(value(&s.handoff_to[0]), 1.0));
    }

    #[test]
    fn dm_is_the_mean_prediction() {
        let s = build(EstimatorKind::Dm, 50.0, &four(), &Default::default());
        assert!(close(value(&s.outcomes[0]), (0.6 + 0.2 + 0.5 + 0.1) / 4.0));
        // E[m 1{hp}] = (0.6 + 0.5) / 4; / rate 0.5 = 0.55.
        assert!(close(value(&s.handoff_to[0]), 0.55));
        assert!(close(value(&s.handoff_rate), 0.5));
    }

    #[test]
    fn ipw_and_snipw_weight_by_inverse_propensity() {
        // w = (2, 4, 0, 0); w y = (2, 0, 0, 0).
        let ipw = build(EstimatorKind::Ipw, 50.0, &four(), &Default::default());
        assert!(close(value(&ipw.outcomes[0]), 0.5));
        assert!(close(ipw.effective_sample_size.unwrap(), 36.0 / 20.0));
        let snipw = build(EstimatorKind::Snipw, 50.0, &four(), &Default::default());
        assert!(close(value(&snipw.outcomes[0]), 2.0 / 6.0));
        // (2 / 6) / 0.5.
        assert!(close(value(&snipw.handoff_to[0]), 2.0 / 3.0));
        // Clipping at 3 turns w into (2, 3, 0, 0).
        let clipped = build(EstimatorKind::Snipw, 3.0, &four(), &Default::default());
        assert!(close(value(&clipped.outcomes[0]), 2.0 / 5.0));
    }

    #[test]
    fn dr_corrects_the_model_with_weighted_residuals() {
        // 1: 0.6 + 2 (1 - 0.6) = 1.4; 2: 0.2 + 4 (0 - 0.2) = -0.6; 3: 0.5; 4: 0.1.
        let s = build(EstimatorKind::Dr, 50.0, &four(), &Default::default());
        assert!(close(value(&s.outcomes[0]), (1.4 - 0.6 + 0.5 + 0.1) / 4.0));
        // Numerator over the policy's handoffs only: (1.4 + 0.5) / 4, / 0.5.
        assert!(close(value(&s.handoff_to[0]), 1.9 / 4.0 / 0.5));
        assert!(close(value(&s.outcomes[2]), 100.0 * 1.4 / 4.0));
    }

    #[test]
    fn weight_handles_zero_and_missing_propensity() {
        let mut u = input(true, 0.0, true, 1.0, 0.5);
        assert_eq!(weight(&u, 50.0), 50.0);
        u.propensity = f64::NAN;
        assert_eq!(weight(&u, 50.0), 50.0);
        u.agree = false;
        assert_eq!(weight(&u, 50.0), 0.0);
    }

    #[test]
    fn a_policy_that_never_hands_off_has_no_handoff_rate_ratio() {
        let inputs: Vec<UnitInput> =
            four().into_iter().map(|u| UnitInput { policy_hands_off: false, ..u }).collect();
        let s = build(EstimatorKind::Dr, 50.0, &inputs, &Default::default());
        assert_eq!(s.handoff_to[0].value(), None);
    }
}
