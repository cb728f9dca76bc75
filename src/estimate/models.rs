//! The fitted models of history: a discrete-time hazard of history's handoff (for the
//! propensity of the observed path) and outcome models `m(x, h)`.
//!
//! - Hazard: `p_d = P(history hands off at d | not before, x_d)`, one row per decision point
//!   up to and including the historical handoff (every point when it never handed off),
//!   logistic on the features. A conversation whose every prospect message logs
//!   `handoff_probability` uses those instead.
//! - Outcomes: logistic models for meeting and opportunity, fitted on every unit's observed
//!   `(x(h0), y)`. The features are interacted with a no-handoff indicator (one coefficient
//!   block for a handoff, one for none), so `m(x, none)` is not tied to `m(x, h)`. `dr` uses
//!   them cross-fitted (`CrossFitted`: each unit predicted by the model fitted without its
//!   fold), `dm` fitted on every unit.
//! - Pipeline: `E[amount | x, h] = P(opportunity | x, h) * mean amount of the segment's
//!   opportunities` (shrunk towards the overall mean with a prior weight of `AMOUNT_PRIOR`
//!   opportunities). This assumes a handoff's timing changes whether an opportunity opens, not
//!   its size: amounts are too few and too skewed per week to model timing effects on them.
//!
//! The outcome models' columns are standardised (on the fitting rows; shared by the cross-fitted
//! folds); the hazard is fitted on raw columns with the equivalent penalties (`HazardModel`).
//! The intercept is not penalised.

use super::features::{onsets, FeatureSpace};
use super::logistic::{self, LogisticFit, LogisticOptions, SparseRows};
use super::{Observed, Unit};
use crate::policy::Policy;
use crate::replay::decide;
use rayon::prelude::*;

/// Prior weight (in opportunities) pulling a segment's mean amount towards the overall mean.
pub const AMOUNT_PRIOR: f64 = 5.0;
/// Hazards are kept inside `[P_FLOOR, 1 - P_FLOOR]` so that no path has probability zero.
pub const P_FLOOR: f64 = 1e-6;

/// Column means and standard deviations of the fitting rows (constant columns map to 0).
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    mean: Vec<f64>,
    inv_sd: Vec<f64>,
}

impl Standardizer {
    pub fn learn(rows: &[f64], k: usize) -> Standardizer {
        let n = rows.len().checked_div(k).unwrap_or(0);
        let mut mean = vec![0.0; k];
        let mut sq = vec![0.0; k];
        for row in rows.chunks_exact(k.max(1)) {
            for (j, v) in row.iter().enumerate() {
                mean[j] += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        for row in rows.chunks_exact(k.max(1)) {
            for (j, v) in row.iter().enumerate() {
                sq[j] += (v - mean[j]).powi(2);
            }
        }
        let inv_sd = sq
            .iter()
            .map(|s| {
                let sd = (s / n.max(1) as f64).sqrt();
                if sd > 1e-12 {
                    1.0 / sd
                } else {
                    0.0
                }
            })
            .collect();
        Standardizer { mean, inv_sd }
    }

    pub fn apply(&self, row: &mut [f64]) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - self.mean[j]) * self.inv_sd[j];
        }
    }
}

/// Per-unit data computed once: the onsets of the seven situations and the quality
/// reference's own handoff point.
pub struct Prepared {
    pub space: FeatureSpace,
    pub reference: Policy,
    pub onsets: Vec<[Option<u32>; 7]>,
    pub reference_points: Vec<Option<u32>>,
    /// Per unit, its segment, AI agent and channel levels (`FeatureSpace::levels_of`).
    pub levels: Vec<[Option<usize>; 3]>,
}

impl Prepared {
    pub fn new(units: &[Unit], reference: &Policy) -> Prepared {
        let space = FeatureSpace::learn(units);
        let levels = units.par_iter().map(|u| space.levels_of(u.conversation)).collect();
        Prepared {
            levels,
            space,
            reference: reference.clone(),
            onsets: units.par_iter().map(|u| onsets(reference, u.timeline)).collect(),
            reference_points: units
                .par_iter()
                .map(|u| decide(reference, u.timeline).point)
                .collect(),
        }
    }

    /// Appends the raw (unstandardised) features of unit `i` at `point` to `out`.
    pub fn write(&self, units: &[Unit], i: usize, point: Option<u32>, out: &mut Vec<f64>) {
        let levels = self
            .levels
            .get(i)
            .copied()
            .unwrap_or_else(|| self.space.levels_of(units[i].conversation));
        self.space.write_with_levels(
            &units[i],
            &self.onsets[i],
            self.reference_points[i],
            point,
            levels,
            out,
        );
    }

    /// Appends the hazard's row of unit `i` at decision point `d` (raw, unstandardised):
    /// the intercept and the features.
    pub fn write_hazard(&self, units: &[Unit], i: usize, d: u32, out: &mut Vec<f64>) {
        out.push(1.0);
        self.write(units, i, Some(d), out);
    }

    /// The width of a hazard row.
    pub fn hazard_width(&self) -> usize {
        1 + self.space.dim()
    }

    /// Raw (unstandardised) features of unit `i` at `point`.
    pub fn features(&self, units: &[Unit], i: usize, point: Option<u32>) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.space.dim());
        self.write(units, i, point, &mut out);
        out
    }
}

/// Whether every decision point of the unit logs history's handoff probability.
pub fn logs_probabilities(unit: &Unit) -> bool {
    !unit.timeline.points.is_empty()
        && unit.timeline.points.iter().all(|p| p.handoff_probability.is_some_and(f64::is_finite))
}

/// History's handoff point clamped into the timeline (`None`: never, or no decision point).
pub fn history_point(unit: &Unit) -> Option<u32> {
    let n = unit.timeline.points.len() as u32;
    unit.timeline.historical.filter(|_| n > 0).map(|h| h.clamp(1, n))
}

/// The hazard model; `None` inside when every unit logs its probabilities.
///
/// Fitted on the raw (unstandardised) rows, stored sparse: with the penalty on each raw
/// coefficient scaled by its column's variance (`lambda * sd^2`), this is exactly the model
/// fitted on standardised columns with an even penalty (the same predictions: the intercept
/// takes up the means), while the rows keep their zeros, so the design is a fraction of the
/// dense one's memory and each Newton step touches only its non-zero entries. Columns
/// constant over the rows carry nothing beyond the intercept and are left out (`live`).
pub struct HazardModel {
    fitted: Option<(Vec<bool>, LogisticFit)>,
    /// The penalty on each raw coefficient.
    penalties: Vec<f64>,
}

/// What every unit's fitting rows give once the hazard is fitted: history's path propensity
/// (`HazardModel::path_propensity`) and the score (`HazardModel::add_score`), read from the
/// design the fit used instead of rebuilding each row twice more.
pub struct HazardPaths {
    pub propensities: Vec<f64>,
    /// `units x dim`, conversation-major.
    pub scores: Vec<f32>,
}

impl HazardModel {
    pub fn fit(units: &[Unit], prep: &Prepared, options: LogisticOptions) -> HazardModel {
        HazardModel::fit_with_paths(units, prep, options).0
    }

    /// `fit`, with every unit's `HazardPaths` when a model was fitted.
    pub fn fit_with_paths(
        units: &[Unit],
        prep: &Prepared,
        options: LogisticOptions,
    ) -> (HazardModel, Option<HazardPaths>) {
        if units.iter().all(logs_probabilities) {
            return (HazardModel { fitted: None, penalties: Vec::new() }, None);
        }
        let width = prep.hazard_width();
        let row_count: usize = units.iter().map(fitting_rows).sum();
        // Built by blocks of units in parallel, joined in unit order.
        let blocks: Vec<(SparseRows, Vec<f64>)> = (0..units.len())
            .into_par_iter()
            .chunks(4096)
            .map(|block| {
                let block_rows: usize = block.iter().map(|&i| fitting_rows(&units[i])).sum();
                // Rows hold under a third of their columns (11 of 37 at 100,000 conversations:
                // `entries` in the `hazard fit` debug event); room never written is never
                // faulted in, and a block that holds more grows as any vector does.
                let mut rows = SparseRows::with_capacity(width, block_rows, width.div_ceil(3));
                let mut targets = Vec::with_capacity(block_rows);
                let mut row = Vec::with_capacity(width);
                for i in block {
                    let unit = &units[i];
                    let n = unit.timeline.points.len() as u32;
                    let h0 = history_point(unit);
                    for d in 1..=h0.unwrap_or(n) {
                        row.clear();
                        prep.write_hazard(units, i, d, &mut row);
                        rows.push(&row);
                        targets.push(if Some(d) == h0 { 1.0 } else { 0.0 });
                    }
                }
                (rows, targets)
            })
            .collect();
        // The columns' spreads from the blocks' sums (added in block order), the constant
        // columns dropped in each block, then the blocks joined into one design.
        let (sum, sq) = blocks
            .par_iter()
            .map(|(rows, _)| rows.column_sums())
            .collect::<Vec<_>>()
            .into_iter()
            .fold((vec![0.0; width], vec![0.0; width]), |(mut s, mut q), (bs, bq)| {
                s.iter_mut().zip(&bs).for_each(|(a, b)| *a += b);
                q.iter_mut().zip(&bq).for_each(|(a, b)| *a += b);
                (s, q)
            });
        let (_, sd) = logistic::moments_of(&sum, &sq, row_count);
        // The same threshold as `Standardizer`: a column that does not vary is left out.
        let live: Vec<bool> = sd.iter().enumerate().map(|(j, s)| j == 0 || *s > 1e-12).collect();
        let mut targets = Vec::with_capacity(row_count);
        let mut parts = Vec::with_capacity(blocks.len());
        for (block_rows, block_targets) in blocks {
            parts.push(block_rows);
            targets.extend(block_targets);
        }
        parts.par_iter_mut().for_each(|rows| rows.retain_columns(&live));
        let rows = SparseRows::concat(width, parts);
        let penalties: Vec<f64> = (0..width)
            .map(|j| match (j, live[j]) {
                (0, _) => 0.0,
                (_, true) => options.lambda * sd[j] * sd[j],
                // No data: the penalty alone holds the coefficient at zero.
                (_, false) => options.lambda,
            })
            .collect();
        let fit = logistic::fit_sparse(&rows, &targets, &penalties, options);
        tracing::debug!(
            rows = targets.len(),
            width,
            entries = rows.entries(),
            iterations = fit.iterations,
            converged = fit.converged,
            "hazard fit"
        );
        let paths = paths_from_design(units, &rows, &targets, &fit);
        (HazardModel { fitted: Some((live, fit)), penalties }, Some(paths))
    }

    /// The number of coefficients (intercept included); 0 without a fitted model.
    pub fn dim(&self) -> usize {
        self.fitted.as_ref().map_or(0, |(_, fit)| fit.coef.len())
    }

    /// The penalty on each coefficient (empty without a fitted model).
    pub fn penalties(&self) -> &[f64] {
        &self.penalties
    }

    /// The fitted coefficients (empty without a fitted model).
    pub fn coefficients(&self) -> &[f64] {
        self.fitted.as_ref().map_or(&[], |(_, fit)| &fit.coef)
    }

    /// The fitted model's penalised information (empty without a fitted model).
    pub fn information(&self) -> &[f64] {
        self.fitted.as_ref().map_or(&[], |(_, fit)| &fit.information)
    }

    /// Adds unit `i`'s score, `sum_d (y_d - p_d) x_d` over its fitting rows, to `out`; also
    /// the derivative of `ln P(history's path)` in the coefficients.
    pub fn add_score(&self, units: &[Unit], prep: &Prepared, i: usize, out: &mut [f64]) {
        let Some((live, fit)) = &self.fitted else { return };
        let unit = &units[i];
        let n = unit.timeline.points.len() as u32;
        let h0 = history_point(unit);
        let mut row = Vec::with_capacity(fit.coef.len());
        for d in 1..=h0.unwrap_or(n) {
            row.clear();
            prep.write_hazard(units, i, d, &mut row);
            let residual = if Some(d) == h0 { 1.0 } else { 0.0 } - fit.predict(&row);
            for ((o, x), &l) in out.iter_mut().zip(&row).zip(live) {
                if l {
                    *o += residual * x;
                }
            }
        }
    }

    /// `p_d` for unit `i` at decision point `d`; `row` is scratch space for its design row.
    fn hazard(&self, units: &[Unit], prep: &Prepared, i: usize, d: u32, row: &mut Vec<f64>) -> f64 {
        let unit = &units[i];
        let logged = logs_probabilities(unit)
            .then(|| unit.timeline.points[d as usize - 1].handoff_probability)
            .flatten();
        let p = match (logged, &self.fitted) {
            (Some(p), _) => p,
            (None, Some((_, fit))) => {
                // Columns left out have coefficient zero: the raw row predicts as it is.
                row.clear();
                prep.write_hazard(units, i, d, row);
                fit.predict(row)
            }
            // Unreachable by construction (a unit without logs implies a fitted model).
            (None, None) => 0.5,
        };
        p.clamp(P_FLOOR, 1.0 - P_FLOOR)
    }

    /// Probability of history's observed path in unit `i`: `p_h0 * prod_{d<h0} (1 - p_d)`, or
    /// `prod_d (1 - p_d)` when it never handed off.
    pub fn path_propensity(&self, units: &[Unit], prep: &Prepared, i: usize) -> f64 {
        let unit = &units[i];
        let n = unit.timeline.points.len() as u32;
        let h0 = history_point(unit);
        let mut prob = 1.0;
        let mut row = Vec::with_capacity(prep.hazard_width());
        for d in 1..=h0.unwrap_or(n) {
            let p = self.hazard(units, prep, i, d, &mut row);
            prob *= if Some(d) == h0 { p } else { 1.0 - p };
        }
        prob
    }
}

/// The hazard's fitting rows of a unit: its decision points up to history's handoff, or all
/// of them when history never handed off.
fn fitting_rows(unit: &Unit) -> usize {
    history_point(unit).unwrap_or(unit.timeline.points.len() as u32) as usize
}

/// `HazardPaths` from the fitted design: unit `i`'s rows are the next `h0` (or `n`) rows, in
/// unit order, as `HazardModel::fit` built them. A unit that logs its probabilities takes them
/// for its propensity, as `HazardModel::hazard` does; its score is the model's all the same.
fn paths_from_design(
    units: &[Unit],
    rows: &SparseRows,
    targets: &[f64],
    fit: &LogisticFit,
) -> HazardPaths {
    let dim = fit.coef.len();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(units.iter().scan(0, |at, u| {
            *at += fitting_rows(u);
            Some(*at)
        }))
        .collect();
    let mut propensities = vec![0.0; units.len()];
    let mut scores = vec![0.0f32; units.len() * dim];
    const BLOCK: usize = 2048;
    propensities
        .par_chunks_mut(BLOCK)
        .zip(scores.par_chunks_mut((BLOCK * dim).max(1)))
        .enumerate()
        .for_each(|(b, (props, block_scores))| {
            let mut score = vec![0.0f64; dim];
            let mut reader = rows.cursor();
            for (j, prop) in props.iter_mut().enumerate() {
                let i = b * BLOCK + j;
                let unit = &units[i];
                let logged = logs_probabilities(unit);
                let h0 = history_point(unit);
                score.iter_mut().for_each(|v| *v = 0.0);
                let mut prob = 1.0;
                for (k, r) in (starts[i]..starts[i + 1]).enumerate() {
                    let (cols, vals) = reader.row(r);
                    let eta: f64 = cols
                        .iter()
                        .zip(vals)
                        .map(|(&c, &v)| fit.coef[c as usize] * f64::from(v))
                        .sum();
                    let p_fit = logistic::sigmoid(eta);
                    let residual = targets[r] - p_fit;
                    for (&c, &v) in cols.iter().zip(vals) {
                        score[c as usize] += residual * f64::from(v);
                    }
                    let d = k as u32 + 1;
                    let p = if logged {
                        unit.timeline.points[k].handoff_probability.unwrap_or(p_fit)
                    } else {
                        p_fit
                    }
                    .clamp(P_FLOOR, 1.0 - P_FLOOR);
                    prob *= if Some(d) == h0 { p } else { 1.0 - p };
                }
                *prop = prob;
                if dim > 0 {
                    let out = &mut block_scores[j * dim..(j + 1) * dim];
                    out.iter_mut().zip(&score).for_each(|(o, v)| *o = *v as f32);
                }
            }
        });
    HazardPaths { propensities, scores }
}

/// Outcome predictions for one action: meeting, opportunity, pipeline (expected amount).
pub type Outcomes = [f64; 3];

/// `m(x, h)` for meeting, opportunity and pipeline.
pub struct OutcomeModels {
    standardizer: Standardizer,
    meeting: LogisticFit,
    opportunity: LogisticFit,
    /// Shrunk mean amount per segment level (index = segment level), and the overall one.
    segment_amount: Vec<f64>,
    overall_amount: f64,
}

impl OutcomeModels {
    pub fn fit(units: &[Unit], prep: &Prepared, options: LogisticOptions) -> OutcomeModels {
        OutcomeModels::fit_on(units, prep, options, |_| true)
    }

    /// Fits on the units `i` with `include(i)` only.
    pub fn fit_on(
        units: &[Unit],
        prep: &Prepared,
        options: LogisticOptions,
        include: impl Fn(usize) -> bool,
    ) -> OutcomeModels {
        let chosen: Vec<usize> = (0..units.len()).filter(|&i| include(i)).collect();
        let standardizer = outcome_standardizer(units, prep, &chosen);
        let design = OutcomeDesign::build(units, prep, &standardizer, &chosen);
        let penalties = outcome_penalties(design.x.width, options);
        let fit = |y: &[f64]| logistic::fit_sparse(&design.x, y, &penalties, options);
        let (meeting, opportunity) =
            rayon::join(|| fit(&design.meeting), || fit(&design.opportunity));
        tracing::debug!(
            meeting = meeting.iterations,
            opportunity = opportunity.iterations,
            converged = meeting.converged && opportunity.converged,
            "outcome fits"
        );
        let (segment_amount, overall_amount) = segment_amounts(units, prep);
        OutcomeModels { standardizer, meeting, opportunity, segment_amount, overall_amount }
    }

    /// `m(x_i, point)` for unit `i`.
    pub fn predict(
        &self,
        units: &[Unit],
        prep: &Prepared,
        i: usize,
        point: Option<u32>,
    ) -> Outcomes {
        let mut design = Vec::new();
        self.predict_with_row(units, prep, i, point, &mut design)
    }

    /// `predict`, leaving the model's design row (standardised, interacted) in `design`: the
    /// derivative of a prediction `m` in the coefficients is `m (1 - m) design`.
    pub fn predict_with_row(
        &self,
        units: &[Unit],
        prep: &Prepared,
        i: usize,
        point: Option<u32>,
        design: &mut Vec<f64>,
    ) -> Outcomes {
        // The raw features go at the end of `design`, are standardised there, and are then
        // laid out in front of them: no allocation per prediction.
        design.clear();
        let k = prep.space.dim();
        design.resize(2 * k + 2, 0.0);
        prep.write(units, i, point, design);
        let (front, raw) = design.split_at_mut(2 * k + 2);
        self.standardizer.apply(raw);
        let none = point.is_none() || units[i].timeline.points.is_empty();
        front[0] = 1.0;
        front[1] = if none { 1.0 } else { 0.0 };
        let block = if none { 2 + k } else { 2 };
        front[block..block + k].copy_from_slice(raw);
        design.truncate(2 * k + 2);
        // Only the intercept, the flag and the case's block are non-zero.
        let eta = |fit: &LogisticFit| {
            let c = &fit.coef;
            let x = &design[..];
            c[0] * x[0]
                + c[1] * x[1]
                + c[block..block + k]
                    .iter()
                    .zip(&x[block..block + k])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
        };
        let meeting = logistic::sigmoid(eta(&self.meeting));
        let opportunity = logistic::sigmoid(eta(&self.opportunity));
        [meeting, opportunity, opportunity * self.amount(units, prep, i)]
    }

    /// The shrunk mean amount of unit `i`'s segment (what pipeline multiplies by).
    pub fn amount(&self, units: &[Unit], prep: &Prepared, i: usize) -> f64 {
        let segment = match prep.levels.get(i) {
            Some(levels) => levels[0],
            None => prep.space.segments.index(units[i].conversation.segment.as_deref()),
        };
        segment.and_then(|s| self.segment_amount.get(s).copied()).unwrap_or(self.overall_amount)
    }

    /// The coefficients of the meeting (`0`) or opportunity (`1`) model.
    pub fn coefficients(&self, outcome: usize) -> &[f64] {
        if outcome == 0 {
            &self.meeting.coef
        } else {
            &self.opportunity.coef
        }
    }

    /// The penalised information of the meeting (`0`) or opportunity (`1`) model.
    pub fn information(&self, outcome: usize) -> &[f64] {
        if outcome == 0 {
            &self.meeting.information
        } else {
            &self.opportunity.information
        }
    }

    /// The number of coefficients of each outcome model.
    pub fn dim(&self) -> usize {
        self.meeting.coef.len()
    }
}

/// Number of folds of the cross-fitted outcome models.
pub const FOLDS: usize = 5;

/// Outcome models fitted out of fold (cross-fitting): unit `i` is predicted by the model
/// fitted on every fold but `i % FOLDS`, so that its residual `y_i - m(x_i, h0_i)` is an
/// honest out-of-sample error. Fitted in sample, a logistic model's residuals sum to zero on
/// its own fitting rows: `dr`'s correction term then hides the noise that the model
/// absorbed, and intervals that hold the model fixed (the bootstrap refits nothing) come out
/// too narrow. Out of fold, the per-conversation contributions carry that noise, so the
/// bootstrap over them covers.
pub struct CrossFitted {
    folds: Vec<OutcomeModels>,
    /// Per unit, the key its fold is `key % FOLDS` of (`None`: its position).
    keys: Option<Vec<usize>>,
}

impl CrossFitted {
    pub fn fit(units: &[Unit], prep: &Prepared, options: LogisticOptions) -> CrossFitted {
        CrossFitted::fit_keyed(units, prep, options, None)
    }

    /// As `fit`, with unit `i` in fold `keys[i] % FOLDS`: a resample passes the original
    /// indices, so a conversation drawn twice is never both fitted on and predicted.
    ///
    /// The folds share one design, standardised on every unit (the features' means and
    /// spreads carry no outcome), so a conversation's design row is the same for every fold
    /// model; the fold models are fitted together from one fit on every unit (`logistic::fit_folds`).
    pub fn fit_keyed(
        units: &[Unit],
        prep: &Prepared,
        options: LogisticOptions,
        keys: Option<Vec<usize>>,
    ) -> CrossFitted {
        let mut fitted = CrossFitted { folds: Vec::new(), keys };
        let all: Vec<usize> = (0..units.len()).collect();
        let standardizer = outcome_standardizer(units, prep, &all);
        let design = OutcomeDesign::build(units, prep, &standardizer, &all);
        let groups: Vec<u8> = design.units.iter().map(|&i| fitted.fold_of(i) as u8).collect();
        // Every fold at once, from one fit on every conversation (`logistic::fit_folds`).
        let penalties = outcome_penalties(design.x.width, options);
        let fit =
            |y: &[f64]| logistic::fit_folds(&design.x, y, &groups, FOLDS, &penalties, options);
        let (meeting, opportunity) =
            rayon::join(|| fit(&design.meeting), || fit(&design.opportunity));
        let (segment_amount, overall_amount) = segment_amounts(units, prep);
        let folds: Vec<OutcomeModels> = meeting
            .into_iter()
            .zip(opportunity)
            .map(|(meeting, opportunity)| {
                tracing::debug!(
                    meeting = meeting.iterations,
                    opportunity = opportunity.iterations,
                    converged = meeting.converged && opportunity.converged,
                    "outcome fold fits"
                );
                OutcomeModels {
                    standardizer: standardizer.clone(),
                    meeting,
                    opportunity,
                    segment_amount: segment_amount.clone(),
                    overall_amount,
                }
            })
            .collect();
        fitted.folds = folds;
        fitted
    }

    /// The fold models, fold `f` fitted without fold `f`.
    pub fn folds(&self) -> &[OutcomeModels] {
        &self.folds
    }

    /// The fold unit `i` belongs to: its key's, else its position's.
    pub fn fold_of(&self, i: usize) -> usize {
        self.keys.as_ref().and_then(|k| k.get(i).copied()).unwrap_or(i) % FOLDS
    }

    /// `m(x_i, point)` for unit `i`, by the model that did not see unit `i`.
    pub fn predict(
        &self,
        units: &[Unit],
        prep: &Prepared,
        i: usize,
        point: Option<u32>,
    ) -> Outcomes {
        match self.folds.get(self.fold_of(i)) {
            Some(model) => model.predict(units, prep, i, point),
            None => [0.0; 3],
        }
    }
}

/// The outcome models' penalties: `lambda` on every standardised column, none on the
/// intercept.
fn outcome_penalties(width: usize, options: LogisticOptions) -> Vec<f64> {
    (0..width).map(|j| if j == 0 { 0.0 } else { options.lambda }).collect()
}

/// The standardiser of the outcome features at history's own handoff point, learned on
/// `chosen`.
fn outcome_standardizer(units: &[Unit], prep: &Prepared, chosen: &[usize]) -> Standardizer {
    let k = prep.space.dim();
    let mut base = Vec::with_capacity(chosen.len() * k);
    for &i in chosen {
        prep.write(units, i, history_point(&units[i]), &mut base);
    }
    Standardizer::learn(&base, k)
}

/// The outcome models' design on `chosen` (standardised, interacted) and their targets.
///
/// Stored sparse: a row's interaction block for the other case is zeros, so half of every row
/// is not kept. The rows are ordered by case (the units history handed off, then those it
/// did not, each in unit order: `units`), so that the fits' chunks each use one case's
/// columns (`logistic::accumulate_chunk`).
struct OutcomeDesign {
    x: SparseRows,
    meeting: Vec<f64>,
    opportunity: Vec<f64>,
    /// The unit of each row.
    units: Vec<usize>,
}

impl OutcomeDesign {
    fn build(
        units: &[Unit],
        prep: &Prepared,
        standardizer: &Standardizer,
        chosen: &[usize],
    ) -> OutcomeDesign {
        let k = prep.space.dim();
        let width = 2 * k + 2;
        let handed_off = |i: usize| history_point(&units[i]).is_some();
        let chosen: Vec<usize> = chosen
            .iter()
            .copied()
            .filter(|&i| handed_off(i))
            .chain(chosen.iter().copied().filter(|&i| !handed_off(i)))
            .collect();
        // Built by blocks of units in parallel, joined in order.
        let blocks: Vec<SparseRows> = chosen
            .par_chunks(4096)
            .map(|block| {
                let mut x = SparseRows::new(width);
                let mut row = Vec::with_capacity(k);
                let mut design = Vec::with_capacity(width);
                for &i in block {
                    row.clear();
                    prep.write(units, i, history_point(&units[i]), &mut row);
                    standardizer.apply(&mut row);
                    design.clear();
                    interact(&row, history_point(&units[i]).is_none(), &mut design);
                    x.push(&design);
                }
                x
            })
            .collect();
        let x = SparseRows::concat(width, blocks);
        let target = |f: fn(&Observed) -> bool| -> Vec<f64> {
            chosen.iter().map(|&i| f64::from(u8::from(f(&units[i].observed)))).collect()
        };
        OutcomeDesign {
            x,
            meeting: target(|o| o.meeting),
            opportunity: target(|o| o.opportunity),
            units: chosen,
        }
    }
}

/// `[1, none, x * (1 - none), x * none]`: separate coefficient blocks for handoff and none.
fn interact(row: &[f64], none: bool, out: &mut Vec<f64>) {
    out.push(1.0);
    out.push(if none { 1.0 } else { 0.0 });
    let zeros = std::iter::repeat_n(0.0, row.len());
    if none {
        out.extend(zeros);
        out.extend_from_slice(row);
    } else {
        out.extend_from_slice(row);
        out.extend(zeros);
    }
}

fn segment_amounts(units: &[Unit], prep: &Prepared) -> (Vec<f64>, f64) {
    let levels = prep.space.segments.names().len();
    let mut sums = vec![0.0; levels];
    let mut counts = vec![0.0; levels];
    let (mut total, mut count) = (0.0, 0.0);
    for unit in units.iter().filter(|u| u.observed.opportunity) {
        let amount = if unit.observed.amount.is_finite() { unit.observed.amount } else { 0.0 };
        total += amount;
        count += 1.0;
        if let Some(s) = prep.space.segments.index(unit.conversation.segment.as_deref()) {
            sums[s] += amount;
            counts[s] += 1.0;
        }
    }
    let overall = if count > 0.0 { total / count } else { 0.0 };
    let per_segment = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| (s + AMOUNT_PRIOR * overall) / (c + AMOUNT_PRIOR))
        .collect();
    (per_segment, overall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardizer_centres_and_scales_and_zeroes_constant_columns() {
        let rows = vec![1.0, 5.0, 3.0, 5.0];
        let st = Standardizer::learn(&rows, 2);
        let mut r = vec![3.0, 5.0];
        st.apply(&mut r);
        assert_eq!(r, vec![1.0, 0.0]);
    }

    #[test]
    fn interaction_puts_features_in_the_right_block() {
        let mut out = Vec::new();
        interact(&[2.0, 3.0], false, &mut out);
        interact(&[2.0, 3.0], true, &mut out);
        assert_eq!(out, vec![1.0, 0.0, 2.0, 3.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 2.0, 3.0]);
    }
}
