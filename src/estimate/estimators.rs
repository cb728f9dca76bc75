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
#[derive(Clone, Debug, PartialEq)]
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

/// Builds the statistics of one policy from its conversations' inputs; `sensitivities` say
/// how its columns' sums move with the models (meeting, opportunity, pipeline, the two
/// handoff numerators, the self-normalising weights).
pub fn build(
    kind: EstimatorKind,
    clip: f64,
    inputs: &[UnitInput],
    sensitivities: &ColumnSensitivities,
) -> PolicyStatistics {
    let n = inputs.len();
    let weights: Vec<f64> = inputs.iter().map(|u| weight(u, clip)).collect();
    let agreeing: Vec<bool> = inputs
        .iter()
        .map(|u| if kind == EstimatorKind::Matched { u.agree_within_tolerance } else { u.agree })
        .collect();
    let handoff: Vec<f64> =
        inputs.iter().map(|u| f64::from(u8::from(u.policy_hands_off))).collect();
    let handoff_rate = Mean::plain(handoff.clone());
    let denominator: Option<Column> = match kind {
        EstimatorKind::Matched => {
            Some(Column::new(agreeing.iter().map(|&a| f64::from(u8::from(a))).collect()))
        }
        EstimatorKind::Snipw => {
            Some(Column::new(weights.clone()).with_sensitivity(sensitivities[5].clone()))
        }
        _ => None,
    };
    let contribution = |j: usize, only_handoffs: bool| -> Vec<f64> {
        inputs
            .iter()
            .zip(&weights)
            .zip(&agreeing)
            .map(|((u, &w), &a)| {
                let value = match kind {
                    EstimatorKind::Matched => {
                        if a {
                            u.y[j]
                        } else {
                            0.0
                        }
                    }
                    EstimatorKind::Dm => u.m[j],
                    EstimatorKind::Ipw | EstimatorKind::Snipw => w * u.y[j],
                    EstimatorKind::Dr => u.m[j] + w * (u.y[j] - u.m[j]),
                };
                if only_handoffs && !u.policy_hands_off {
                    0.0
                } else {
                    value
                }
            })
            .collect()
    };
    let mean_of = |values: Vec<f64>, column: usize| {
        let num = Column::new(values).with_sensitivity(sensitivities[column].clone());
        Mean { num, den: denominator.clone() }
    };
    let outcomes = [0, 1, 2].map(|j| Statistic::of(mean_of(contribution(j, false), j), None));
    let handoff_to = [0, 1]
        .map(|j| Statistic::of(mean_of(contribution(j, true), 3 + j), Some(handoff_rate.clone())));
    let sum_w: f64 = weights.iter().sum();
    let sum_w2: f64 = weights.iter().map(|w| w * w).sum();
    let effective_sample_size = match kind {
        EstimatorKind::Matched | EstimatorKind::Dm => None,
        _ => Some(if sum_w2 > 0.0 { sum_w * sum_w / sum_w2 } else { 0.0 }),
    };
    let matched = agreeing.iter().filter(|a| **a).count();
    PolicyStatistics {
        handoff_rate: Statistic::of(handoff_rate, None),
        outcomes,
        handoff_to,
        matched_share: if n == 0 { 0.0 } else { matched as f64 / n as f64 },
        effective_sample_size,
        matched,
    }
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

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
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
