//! The fitted models' own uncertainty, at the cost of one more pass over the data.
//!
//! An estimate that leans on a model moves when the model is fitted on another sample. For a
//! penalised logistic model with coefficients `b`, per-conversation scores `s_i` (the
//! gradient of conversation `i`'s log-likelihood) and information `H` (the penalised
//! Hessian at the optimum), refitting on resample weights `w_i` moves the coefficients by
//! `H^-1 sum_i (w_i - 1) s_i` to first order (one Newton step from the fitted `b`; the full
//! sample's score sum is the penalty's gradient, which cancels). A column of contributions
//! `a_i(b)` then moves by `g . shift`, with `g = sum_i d a_i / d b`. So:
//!
//! - bootstrap: per replicate and model, `shift_r = H^-1 sum_i (w_ir - 1) s_i` over every
//!   conversation the model was fitted on, with the same keyed weights as the contributions
//!   (`resample`); a column's replicate sum gains `g . shift_r`;
//! - normal intervals: each conversation's contribution gains its influence through the
//!   coefficients, `g . H^-1 s_i`.
//!
//! Both are the delta method for the models' coefficients, the linearisation a refit would
//! reproduce for large samples. Cross-fitted models (`dr`) come as a fold group: model `f` is
//! fitted on every fold but `f`, so a conversation scores for every model but its own fold's;
//! its score is taken at its out-of-fold prediction for all of them (the fold models differ
//! by one fold of data, so their residuals at one conversation agree to first order).

use rayon::prelude::*;

use super::logistic::Factor;
use super::resample::{add_product_replicate_major_f32, fixed_chunks, BLOCK};

/// How the sum of one column moves with the coefficients of the models it depends on: per
/// model (an index into `ModelShifts`), the gradient of the column's sum.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sensitivity {
    pub gradients: Vec<(usize, Vec<f64>)>,
}

/// One group of models sharing a score layout: a single model, or the fold models of one
/// cross-fitted outcome.
#[derive(Clone, Debug)]
pub struct ModelGroup {
    pub dim: usize,
    /// Per member model, its penalised information matrix (`dim x dim`, row-major).
    pub information: Vec<Vec<f64>>,
    /// Fold groups: per fitting conversation, the member it was left out of (it scores for
    /// every other member). `None`: one member, fitted on every conversation.
    pub left_out: Option<Vec<u8>>,
}

/// The per-model state the intervals read.
#[derive(Clone, Debug)]
struct Member {
    group: usize,
    /// The member's index within its group (its fold).
    fold: u8,
    dim: usize,
    /// The Cholesky factor of the member's information, computed once (`None`: nothing to
    /// factor, e.g. a model fitted on no rows).
    factor: Option<Factor>,
    /// Bootstrap: replicate-major shifts (`replicates x dim`).
    shifts: Vec<f64>,
}

/// Per group, the window conversations' scores (normal intervals).
#[derive(Clone, Debug, Default)]
struct WindowScores {
    dim: usize,
    /// `window x dim`.
    scores: Vec<f32>,
    /// Per window conversation, the fold it was left out of (fold groups).
    left_out: Option<Vec<u8>>,
}

/// The models' coefficient shifts per replicate, or their per-conversation influences.
#[derive(Clone, Debug, Default)]
pub struct ModelShifts {
    members: Vec<Member>,
    window: Vec<WindowScores>,
}

impl ModelShifts {
    /// No model uncertainty (the models held fixed).
    pub fn none() -> ModelShifts {
        ModelShifts::default()
    }

    /// Computes the shifts (`replicates > 0`) or stores the window's scores (normal
    /// intervals). `score(i, out)` adds fitting conversation `i`'s scores for every group, one
    /// after the other (`dim` values each), to `out` (zeroed); `weights` are the fitting
    /// conversations' resample weights (`resample::weights_of`, conversation-major); `window`
    /// lists the fitting conversations that are in the reported window, in unit order.
    pub fn build(
        groups: &[ModelGroup],
        weights: &[u8],
        window: &[usize],
        replicates: usize,
        score: &(dyn Fn(usize, &mut [f64]) + Sync),
    ) -> ModelShifts {
        let mut members = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            for (fold, information) in group.information.iter().enumerate() {
                members.push(Member {
                    group: g,
                    fold: fold as u8,
                    dim: group.dim,
                    factor: Factor::of(&mut information.clone(), group.dim),
                    shifts: Vec::new(),
                });
            }
        }
        let offsets: Vec<usize> = groups
            .iter()
            .scan(0, |at, g| {
                let start = *at;
                *at += g.dim;
                Some(start)
            })
            .collect();
        let width: usize = groups.iter().map(|g| g.dim).sum();
        if replicates == 0 {
            let mut window_scores: Vec<WindowScores> = groups
                .iter()
                .map(|group| WindowScores {
                    dim: group.dim,
                    scores: vec![0f32; window.len() * group.dim],
                    left_out: group
                        .left_out
                        .as_ref()
                        .map(|l| window.iter().map(|&i| l[i]).collect()),
                })
                .collect();
            let mut row = vec![0.0; width];
            for (w, &i) in window.iter().enumerate() {
                row.iter_mut().for_each(|v| *v = 0.0);
                score(i, &mut row);
                for (g, ws) in window_scores.iter_mut().enumerate() {
                    let from = &row[offsets[g]..offsets[g] + ws.dim];
                    for (s, v) in ws.scores[w * ws.dim..].iter_mut().zip(from) {
                        *s = *v as f32;
                    }
                }
            }
            return ModelShifts { members, window: window_scores };
        }
        let partials = score_sums(groups, &offsets, width, weights, replicates, score);
        for (g, group) in groups.iter().enumerate() {
            let folds = group.information.len().max(1);
            let partial = &partials[g];
            for member in members.iter_mut().filter(|m| m.group == g) {
                let dim = group.dim;
                let mut shifts = vec![0.0; replicates * dim];
                let Some(factor) = &member.factor else { continue };
                for r in 0..replicates {
                    // The member's score sum: every fold's partial but its own (fold groups).
                    let mut total = vec![0.0; dim];
                    for f in 0..folds {
                        if group.left_out.is_some() && f == usize::from(member.fold) {
                            continue;
                        }
                        let p = &partial[(f * replicates + r) * dim..][..dim];
                        total.iter_mut().zip(p).for_each(|(t, v)| *t += v);
                    }
                    shifts[r * dim..(r + 1) * dim].copy_from_slice(&factor.solve(&total));
                }
                member.shifts = shifts;
            }
        }
        ModelShifts { members, window: Vec::new() }
    }

    /// `sums[r] += g . shift_r` for every model the column depends on.
    pub fn add_shifts(&self, sensitivity: &Sensitivity, sums: &mut [f64]) {
        for (model, gradient) in &sensitivity.gradients {
            let Some(member) = self.members.get(*model) else { continue };
            if member.shifts.is_empty() {
                continue;
            }
            for (r, sum) in sums.iter_mut().enumerate() {
                let shift = &member.shifts[r * member.dim..(r + 1) * member.dim];
                *sum += dot(gradient, shift);
            }
        }
    }

    /// `values[i] += g . H^-1 s_i` for every model the column depends on (normal intervals).
    pub fn add_influence(&self, sensitivity: &Sensitivity, values: &mut [f64]) {
        for (model, gradient) in &sensitivity.gradients {
            let Some(member) = self.members.get(*model) else { continue };
            let Some(window) = self.window.get(member.group) else { continue };
            let Some(v) = member.factor.as_ref().map(|f| f.solve(gradient)) else { continue };
            for (i, value) in values.iter_mut().enumerate() {
                if window.left_out.as_ref().is_some_and(|l| l.get(i) == Some(&member.fold)) {
                    continue;
                }
                let Some(s) = window.scores.get(i * window.dim..(i + 1) * window.dim) else {
                    continue;
                };
                *value += v.iter().zip(s).map(|(a, b)| a * f64::from(*b)).sum::<f64>();
            }
        }
    }
}

/// Per group, per fold and replicate, `sum_i (w_ir - 1) s_i` over the group's fitting
/// conversations (`[(fold * replicates + r) * dim + j]`). Each conversation's scores are
/// computed once for every group; per block of conversations and per fold, the sums are one
/// matrix product (`(W_f - 1)' S_f`, see `resample::add_product`), and the blocks' partial
/// sums are added in a fixed order, whatever the thread count.
fn score_sums(
    groups: &[ModelGroup],
    offsets: &[usize],
    width: usize,
    weights: &[u8],
    replicates: usize,
    score: &(dyn Fn(usize, &mut [f64]) + Sync),
) -> Vec<Vec<f64>> {
    let n = weights.len() / replicates.max(1);
    let folds: usize = groups.iter().map(|g| g.information.len().max(1)).max().unwrap_or(1);
    let sizes: Vec<usize> =
        groups.iter().map(|g| g.information.len().max(1) * replicates * g.dim).collect();
    let zero = || sizes.iter().map(|&n| vec![0.0; n]).collect::<Vec<Vec<f64>>>();
    let chunks = fixed_chunks(n);
    let partials: Vec<Vec<Vec<f64>>> = chunks
        .par_iter()
        .map(|range| {
            let mut partial = zero();
            let mut row = vec![0.0; width];
            // Per fold, the block's rows: weights minus one (`len x replicates`) and scores
            // (column-major, `width x len`).
            let mut w: Vec<Vec<f32>> = vec![Vec::new(); folds];
            let mut s: Vec<f32> = Vec::new();
            let mut members: Vec<Vec<f64>> = vec![Vec::new(); folds];
            let mut product: Vec<f32> = Vec::new();
            let mut start = range.start;
            while start < range.end {
                let end = (start + BLOCK).min(range.end);
                members.iter_mut().for_each(Vec::clear);
                w.iter_mut().for_each(Vec::clear);
                for i in start..end {
                    row.iter_mut().for_each(|v| *v = 0.0);
                    score(i, &mut row);
                    if row.iter().all(|v| *v == 0.0) {
                        continue;
                    }
                    // Fold groups share one fold assignment (the outcome models of one run).
                    let fold = groups
                        .iter()
                        .find_map(|g| g.left_out.as_ref().map(|l| usize::from(l[i])))
                        .unwrap_or(0)
                        .min(folds - 1);
                    members[fold].extend_from_slice(&row);
                    let wi = &weights[i * replicates..(i + 1) * replicates];
                    w[fold].extend(wi.iter().map(|&x| f32::from(x) - 1.0));
                }
                for f in 0..folds {
                    let len = w[f].len() / replicates.max(1);
                    if len == 0 {
                        continue;
                    }
                    // Row-major rows to column-major columns.
                    s.clear();
                    s.resize(len * width, 0.0);
                    for (i, r) in members[f].chunks_exact(width).enumerate() {
                        for (j, v) in r.iter().enumerate() {
                            s[j * len + i] = *v as f32;
                        }
                    }
                    for (g, group) in groups.iter().enumerate() {
                        let fold = if group.left_out.is_some() { f } else { 0 };
                        let out = &mut partial[g][fold * replicates * group.dim..]
                            [..replicates * group.dim];
                        let columns = &s[offsets[g] * len..(offsets[g] + group.dim) * len];
                        product.clear();
                        product.resize(replicates * group.dim, 0.0);
                        add_product_replicate_major_f32(
                            &w[f],
                            columns,
                            replicates,
                            len,
                            group.dim,
                            &mut product,
                        );
                        out.iter_mut().zip(&product).for_each(|(o, p)| *o += f64::from(*p));
                    }
                }
                start = end;
            }
            partial
        })
        .collect();
    let mut total = zero();
    for partial in &partials {
        for (t, p) in total.iter_mut().zip(partial) {
            t.iter_mut().zip(p).for_each(|(a, b)| *a += b);
        }
    }
    total
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::super::resample::{poisson_weight, weights_of};
    use super::*;

    /// A one-coefficient "model" (the mean of y, information n): the shift of replicate r is
    /// `sum (w - 1)(y - mean) / n`, i.e. the resampled mean minus the mean, exactly.
    #[test]
    fn the_shift_of_a_mean_is_the_resampled_mean_minus_the_mean() {
        let y: Vec<f64> = (0..400).map(|i| f64::from(i % 5)).collect();
        let n = y.len() as f64;
        let mean = y.iter().sum::<f64>() / n;
        let keys: Vec<u64> = (0..400).map(|i| 1000 + i as u64).collect();
        let group = ModelGroup { dim: 1, information: vec![vec![n]], left_out: None };
        let score = |i: usize, out: &mut [f64]| out[0] = y[i] - mean;
        let window: Vec<usize> = (0..400).collect();
        let weights = weights_of(&keys, 3, 10);
        let shifts = ModelShifts::build(&[group], &weights, &window, 10, &score);
        for r in 0..10u32 {
            let w: Vec<f64> = keys.iter().map(|&k| f64::from(poisson_weight(k, 3, r))).collect();
            let resampled = w.iter().zip(&y).map(|(w, y)| w * (y - mean)).sum::<f64>() / n;
            let got = shifts.members[0].shifts[r as usize];
            assert!((got - resampled).abs() < 1e-12, "{got} vs {resampled}");
        }
        // A column whose sum moves one for one with the coefficient gains exactly the shift.
        let sensitivity = Sensitivity { gradients: vec![(0, vec![1.0])] };
        let mut sums = vec![0.0; 10];
        shifts.add_shifts(&sensitivity, &mut sums);
        assert_eq!(sums[4], shifts.members[0].shifts[4]);
    }

    #[test]
    fn a_fold_member_ignores_its_own_folds_scores() {
        let left_out = vec![0, 1, 0, 1, 0, 1];
        let group = ModelGroup {
            dim: 1,
            information: vec![vec![1.0], vec![1.0]],
            left_out: Some(left_out.clone()),
        };
        // Normal intervals: a conversation left out of fold 0 has no influence through it.
        let score = |_i: usize, out: &mut [f64]| out[0] = 1.0;
        let window: Vec<usize> = (0..6).collect();
        let shifts = ModelShifts::build(&[group], &[], &window, 0, &score);
        let mut values = vec![0.0; 6];
        shifts.add_influence(&Sensitivity { gradients: vec![(0, vec![2.0])] }, &mut values);
        assert_eq!(values, vec![0.0, 2.0, 0.0, 2.0, 0.0, 2.0]);
    }
}
