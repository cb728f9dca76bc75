//! Sweeps (policies.md, "Sweeps"): the net objective per 100 conversations of each grid
//! value, the optimal transition point and whether it beats the runner-up.
//!
//! Net objective per 100 = `100 * (objective per conversation - handoff_cost * handoff_rate)`:
//! the cost is in objective units per handoff, so per 100 conversations it is charged on the
//! 100 * rate handoffs. Its interval comes from the same per-conversation contributions (and
//! the same bootstrap resamples) as the policy's other figures; the optimum-minus-runner-up
//! difference is paired over conversations.

use super::intervals::{intervals, paired_difference_at, Statistic};
use super::resample::Resampler;
use super::{Estimate, PolicyEvaluation, Rate};
use crate::policy::Objective;

/// One grid value and its evaluated variant.
#[derive(Clone, Copy, Debug)]
pub struct SweepCandidate<'a> {
    pub value: f64,
    pub variant: &'a str,
    pub evaluation: &'a PolicyEvaluation,
}

/// The per-conversation figure a sweep's objective maximises.
pub fn objective_rate(objective: Objective) -> Rate {
    match objective {
        Objective::Meetings => Rate::Meeting,
        Objective::Opportunities => Rate::Opportunity,
        Objective::Pipeline => Rate::Pipeline,
    }
}

/// The statistic of the net objective per 100 conversations; `None` when unsupported.
pub fn net_objective(
    evaluation: &PolicyEvaluation,
    objective: Objective,
    handoff_cost: f64,
) -> Option<Statistic> {
    if !evaluation.supported {
        return None;
    }
    let stats = &evaluation.statistics;
    let per_conversation = match objective_rate(objective) {
        Rate::Meeting => &stats.outcomes[0],
        Rate::Opportunity => &stats.outcomes[1],
        _ => &stats.outcomes[2],
    };
    let net =
        per_conversation.scaled(100.0).plus(&stats.handoff_rate.scaled(-100.0 * handoff_cost));
    net.value().is_some().then_some(net)
}

/// A sweep's figures: the net objective of each candidate (in the candidates' order) and the
/// optimum. The candidates' other figures are in their evaluations.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepEstimate {
    pub net_objective_per_100: Vec<Estimate>,
    /// `None` when no candidate could be estimated.
    pub optimum: Option<SweepOptimum>,
}

/// The best candidate and how it compares with the runner-up.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepOptimum {
    /// Index into the candidates.
    pub best: usize,
    /// The best other candidate whose decisions differ from the optimum's.
    pub runner_up: Option<usize>,
    /// Optimum minus runner-up, paired over conversations, with its interval.
    pub difference: Estimate,
    pub beats_runner_up: bool,
}

/// Estimates the net objective of every candidate (grid order) and finds the optimum.
pub fn evaluate_sweep(
    candidates: &[SweepCandidate],
    objective: Objective,
    handoff_cost: f64,
    resampler: &Resampler,
) -> SweepEstimate {
    evaluate_sweep_at(candidates, objective, handoff_cost, resampler, 0.95)
}

/// `evaluate_sweep`, with the optimum-minus-runner-up interval (and so `beats_runner_up`) at
/// confidence `level` (a slice's Bonferroni level, slices.md).
pub fn evaluate_sweep_at(
    candidates: &[SweepCandidate],
    objective: Objective,
    handoff_cost: f64,
    resampler: &Resampler,
    level: f64,
) -> SweepEstimate {
    let nets: Vec<Option<Statistic>> =
        candidates.iter().map(|c| net_objective(c.evaluation, objective, handoff_cost)).collect();
    let net_estimates: Vec<Estimate> = nets
        .iter()
        .map(|n| match n {
            Some(s) => intervals(&[s], resampler)[0],
            None => Estimate::NULL,
        })
        .collect();
    let optimum = best_index(&net_estimates, |_| true).map(|best| {
        let differs = |j: usize| {
            let (a, b) = (candidates[j].evaluation, candidates[best].evaluation);
            (&a.handoff_points, a.digest) != (&b.handoff_points, b.digest)
        };
        let runner = best_index(&net_estimates, |j| j != best && differs(j));
        let difference = match (runner, &nets[best]) {
            (Some(r), Some(b)) => nets[r]
                .as_ref()
                .map(|rs| paired_difference_at(b, rs, resampler, level))
                .unwrap_or(Estimate::NULL),
            _ => Estimate::NULL,
        };
        SweepOptimum {
            best,
            runner_up: runner,
            difference,
            beats_runner_up: difference.low.is_some_and(|low| low > 0.0),
        }
    });
    SweepEstimate { net_objective_per_100: net_estimates, optimum }
}

/// The index with the highest estimate among those `eligible` (ties: the first).
fn best_index(estimates: &[Estimate], eligible: impl Fn(usize) -> bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, e) in estimates.iter().enumerate() {
        let Some(v) = e.estimate else { continue };
        if !eligible(i) {
            continue;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::estimators::{build, UnitInput};
    use crate::estimate::{EstimatorKind, PolicyEstimate};

    /// An evaluation under `dm` whose model predicts `m` for each conversation.
    fn evaluation(m: &[f64], points: &[Option<u32>]) -> PolicyEvaluation {
        let inputs: Vec<UnitInput> = m
            .iter()
            .zip(points)
            .map(|(&m, p)| UnitInput {
                agree: false,
                agree_within_tolerance: false,
                propensity: 1.0,
                policy_hands_off: p.is_some(),
                y: [0.0; 3],
                m: [m, m, m],
            })
            .collect();
        PolicyEvaluation {
            estimate: PolicyEstimate::default(),
            statistics: build(EstimatorKind::Dm, 50.0, &inputs, &Default::default()),
            handoff_points: points.to_vec(),
            digest: 0,
            supported: true,
        }
    }

    fn config() -> Resampler {
        Resampler::normal(4)
    }

    #[test]
    fn net_objective_charges_the_handoff_cost_per_handoff() {
        let e = evaluation(&[0.2, 0.4, 0.6, 0.8], &[Some(1), None, Some(2), None]);
        let net = net_objective(&e, Objective::Meetings, 0.1).unwrap();
        // 100 * (0.5 - 0.1 * 0.5) = 45 (to the columns' single precision).
        assert!((net.value().unwrap() - 45.0).abs() < 1e-5);
    }

    #[test]
    fn optimum_runner_up_and_paired_difference() {
        let a = evaluation(&[0.2, 0.2, 0.2, 0.2], &[Some(1), Some(1), Some(1), Some(1)]);
        // Same decisions as `c`, higher value: the optimum.
        let b = evaluation(&[0.9, 0.8, 0.9, 0.8], &[Some(2), Some(2), Some(2), Some(2)]);
        let c = evaluation(&[0.9, 0.8, 0.9, 0.8], &[Some(2), Some(2), Some(2), Some(2)]);
        let candidates = [
            SweepCandidate { value: 1.0, variant: "p@threshold=1", evaluation: &a },
            SweepCandidate { value: 2.0, variant: "p@threshold=2", evaluation: &b },
            SweepCandidate { value: 3.0, variant: "p@threshold=3", evaluation: &c },
        ];
        let sweep = evaluate_sweep(&candidates, Objective::Meetings, 0.0, &config());
        assert_eq!(sweep.net_objective_per_100.len(), 3);
        let optimal = sweep.optimum.unwrap();
        // Tie between 2 and 3: the first in grid order wins.
        assert_eq!(optimal.best, 1);
        // 3 makes the same decisions as 2: the runner-up is 1.
        assert_eq!(optimal.runner_up, Some(0));
        // Difference per conversation is (70, 60, 70, 60): mean 65, sd 5.77.
        assert!((optimal.difference.estimate.unwrap() - 65.0).abs() < 1e-5);
        assert!(optimal.beats_runner_up);
    }

    #[test]
    fn an_unsupported_sweep_has_no_optimum() {
        let mut a = evaluation(&[0.2], &[Some(1)]);
        a.supported = false;
        let candidates = [SweepCandidate { value: 1.0, variant: "p@delay=1", evaluation: &a }];
        let sweep = evaluate_sweep(&candidates, Objective::Pipeline, 0.0, &config());
        assert_eq!(sweep.net_objective_per_100[0], Estimate::NULL);
        assert!(sweep.optimum.is_none());
    }
}
