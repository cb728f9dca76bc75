//! Estimation (estimation.md): what each policy would have achieved, from history that
//! followed another policy. Models of history's handoff behaviour (a discrete-time hazard) and
//! of outcomes (`m(x, h)`), the estimators `matched`, `dm`, `ipw`, `snipw`, `dr`, and their
//! intervals. Pure: no I/O.
//!
//! Layout: `features` (the state at a decision point), `logistic` (the fitter), `models`
//! (hazard and outcome models), `estimators` (the arithmetic on plain numbers), `resample`
//! (Poisson weights keyed by conversation), `uncertainty` (the models' own uncertainty as
//! coefficient shifts), `intervals` (bootstrap, normal and Wilson intervals, paired
//! differences), `sweep` (net objective and the optimal transition point), `slices` (every
//! figure per slice of a column, from the same models and resamples). This file ties
//! them together and adds the honesty rules: null estimates where history gives no support,
//! and plain warnings where an estimate rests on the outcome model.
//!
//! Use: `let est = Estimation::fit(&units, &config)` once per run (all units: the accepted
//! conversations that started before the window ends); then per policy
//! `est.evaluate_policy(name, &units, &decisions)` (decisions aligned with `units`), and
//! `historical_estimate(&units)` (or `historical_evaluation`) for history itself. A
//! `PolicyEvaluation` keeps the per-conversation contributions: `sweep::evaluate_sweep` and
//! `paired_difference` compare evaluations paired over the same conversations and the same
//! resamples (`est.resampler()`). `est.evaluate_policies_sliced(&units, &policies, &cuts)`
//! also gives every policy per slice of each cut (slices.md).

pub mod estimators;
pub mod features;
pub mod intervals;
pub mod logistic;
pub mod models;
pub mod resample;
pub mod search;
pub mod sensitivity;
pub mod slices;
pub mod sweep;
pub mod uncertainty;
pub mod value;

use std::sync::Arc;

use rayon::prelude::*;

use crate::model::Conversation;
use crate::policy::{Policy, QualityReference};
use crate::replay::{Decision, Timeline};

use estimators::{ColumnsRange, PolicyColumns, PolicyStatistics, Totals, UnitInput};
use logistic::LogisticOptions;
use models::{history_point, CrossFitted, HazardModel, OutcomeModels, Outcomes, Prepared, FOLDS};
use resample::{conversation_key, Resampler};
use slices::{Cut, Scopes, Sliced};
use uncertainty::{ModelGroup, ModelShifts, Sensitivity};

pub use intervals::{paired_difference, Statistic};
pub use value::{Estimate, Rate, Rates};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EstimatorKind {
    Matched,
    Dm,
    Ipw,
    Snipw,
    #[default]
    Dr,
}

impl EstimatorKind {
    pub fn name(self) -> &'static str {
        match self {
            EstimatorKind::Matched => "matched",
            EstimatorKind::Dm => "dm",
            EstimatorKind::Ipw => "ipw",
            EstimatorKind::Snipw => "snipw",
            EstimatorKind::Dr => "dr",
        }
    }

    fn uses_propensity(self) -> bool {
        matches!(self, EstimatorKind::Ipw | EstimatorKind::Snipw | EstimatorKind::Dr)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EstimationConfig {
    pub estimator: EstimatorKind,
    pub clip: f64,
    pub tolerance: u32,
    /// Bootstrap replicates; 0 = normal intervals on per-conversation contributions.
    pub bootstrap: u32,
    pub seed: u64,
}

/// What history observed after a conversation, with `--outcome-days` applied.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Observed {
    pub meeting: bool,
    pub opportunity: bool,
    /// The opportunity amount where counted (0 otherwise).
    pub amount: f64,
}

/// One conversation as estimation sees it.
#[derive(Clone, Copy, Debug)]
pub struct Unit<'a> {
    pub conversation: &'a Conversation,
    pub timeline: &'a Timeline,
    pub observed: Observed,
    /// Whether the conversation is in the reported window (models fit on all units).
    pub in_window: bool,
}

/// A policy's estimated outcomes over the window's conversations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyEstimate {
    pub conversations: u64,
    pub handoffs: u64,
    pub rates: Rates<Estimate>,
    pub matched_share: Option<f64>,
    pub effective_sample_size: Option<f64>,
    pub warnings: Vec<String>,
}

/// A policy's estimate plus the per-conversation contributions behind it (for paired
/// differences and sweeps).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyEvaluation {
    pub estimate: PolicyEstimate,
    /// Over the window's conversations, in unit order.
    pub statistics: PolicyStatistics,
    /// The policy's handoff point per window conversation (to tell policies apart); empty
    /// for a slice's evaluation, which has `digest` instead.
    pub handoff_points: Vec<Option<u32>>,
    /// A slice's evaluation: `slices::points_digest` of its handoff points over the slice
    /// (0 for the whole window's).
    pub digest: u64,
    /// False when history gives no support: every figure is null.
    pub supported: bool,
}

/// The outcome model as an estimator uses it.
enum Outcome {
    /// Fitted on every unit (`dm`: the estimate is the model's).
    InSample(OutcomeModels),
    /// Out of fold (`dr`: the residuals must be out of sample).
    CrossFitted(CrossFitted),
}

impl Outcome {
    /// The model that predicts unit `i`, and its index among the outcome's models.
    fn model_for(&self, i: usize) -> Option<(&OutcomeModels, usize)> {
        match self {
            Outcome::InSample(m) => Some((m, 0)),
            Outcome::CrossFitted(c) => {
                let f = c.fold_of(i);
                c.folds().get(f).map(|m| (m, f))
            }
        }
    }

    fn models(&self) -> &[OutcomeModels] {
        match self {
            Outcome::InSample(m) => std::slice::from_ref(m),
            Outcome::CrossFitted(c) => c.folds(),
        }
    }
}

/// Where each model's coefficients sit in the run's `ModelShifts`.
#[derive(Clone, Debug, Default)]
struct ModelIndex {
    hazard: Option<usize>,
    /// Per outcome (meeting, opportunity), the index of its first model; a cross-fitted
    /// outcome's fold `f` model is at `first + f`.
    outcome: Option<[usize; 2]>,
}

/// The columns of one policy's statistics whose sums move with the models: meeting,
/// opportunity, pipeline, handoff-to-meeting and handoff-to-opportunity numerators, and the
/// self-normalising weights (`snipw`).
const SENSITIVE_COLUMNS: usize = 6;

/// The fitted models and settings; `evaluate` must be given the same units as `fit`.
pub struct Estimation {
    config: EstimationConfig,
    prepared: Prepared,
    /// Probability of history's observed path per unit (policy-independent, so computed
    /// once); `None` when the estimator needs no propensity.
    propensities: Option<Vec<f64>>,
    hazard: Option<HazardModel>,
    outcomes: Option<Outcome>,
    history_hands_off: bool,
    history_keeps_some: bool,
    /// The window's units, in unit order.
    window: Vec<usize>,
    /// Every unit's hazard score (`units x dim`), computed once: for the gradients of the
    /// weights and for the hazard's shifts.
    hazard_scores: Vec<f32>,
    models: ModelIndex,
    resampler: Resampler,
}

impl Estimation {
    /// Fits the hazard and outcome models on every unit (the accepted conversations that
    /// started before the window ends), with the default quality reference's parameters for
    /// the situations in the features.
    pub fn fit(units: &[Unit], config: &EstimationConfig) -> Estimation {
        Estimation::fit_with_reference(units, config, &QualityReference::default().policy)
    }

    /// As `fit`, with the situations of the features computed under `reference`.
    pub fn fit_with_reference(
        units: &[Unit],
        config: &EstimationConfig,
        reference: &Policy,
    ) -> Estimation {
        let prepared = Prepared::new(units, reference);
        let options = LogisticOptions::default();
        let kind = config.estimator;
        let keys: Vec<u64> =
            units.par_iter().map(|u| conversation_key(&u.conversation.id)).collect();
        let window: Vec<usize> = (0..units.len()).filter(|&i| units[i].in_window).collect();
        crate::stage!("stage: features prepared");
        // History's hazard and the outcome models are fitted from the same features and
        // independently of each other: at the same time, so that each one's sequential parts
        // (Newton's solves, the warm starts) leave the other core to the other.
        let fit_hazard = || {
            let fitted = kind
                .uses_propensity()
                .then(|| HazardModel::fit_with_paths(units, &prepared, options));
            crate::stage!("stage: hazard fitted");
            let (hazard, paths) = fitted.map_or((None, None), |(h, paths)| (Some(h), paths));
            let (propensities, scores) = match (&hazard, paths) {
                (_, Some(paths)) => (Some(paths.propensities), Some(paths.scores)),
                // Every unit logs its probabilities: no model, so nothing was read from a
                // design; the logs give the propensities.
                (Some(h), None) => {
                    let propensities = (0..units.len())
                        .into_par_iter()
                        .map(|i| h.path_propensity(units, &prepared, i))
                        .collect::<Vec<f64>>();
                    (Some(propensities), None)
                }
                (None, None) => (None, None),
            };
            crate::stage!("stage: propensities");
            (hazard, propensities, scores)
        };
        let fit_outcomes = || match kind {
            // `dr` corrects the model with each conversation's residual: out of fold, so the
            // residual is honest (see `models::CrossFitted`). Folds are keyed by conversation
            // id, so they do not depend on row order.
            EstimatorKind::Dr => {
                let fold_keys = keys.iter().map(|&k| (k % FOLDS as u64) as usize).collect();
                Some(Outcome::CrossFitted(CrossFitted::fit_keyed(
                    units,
                    &prepared,
                    options,
                    Some(fold_keys),
                )))
            }
            EstimatorKind::Dm => {
                Some(Outcome::InSample(OutcomeModels::fit(units, &prepared, options)))
            }
            _ => None,
        };
        let ((hazard, propensities, scores), outcomes) = rayon::join(fit_hazard, fit_outcomes);
        crate::stage!("stage: outcome models fitted");
        let mut estimation = Estimation {
            config: config.clone(),
            prepared,
            propensities,
            hazard,
            outcomes,
            history_hands_off: units.iter().any(|u| history_point(u).is_some()),
            history_keeps_some: units.iter().any(|u| history_point(u).is_none()),
            hazard_scores: Vec::new(),
            models: ModelIndex::default(),
            resampler: Resampler::normal(0),
            window,
        };
        estimation.hazard_scores = match scores {
            Some(scores) => scores,
            None => estimation.all_hazard_scores(units),
        };
        crate::stage!("stage: hazard scores");
        let (groups, models) = estimation.model_groups(units);
        let window_keys: Vec<u64> = estimation.window.iter().map(|&i| keys[i]).collect();
        let replicates = config.bootstrap as usize;
        // Every fitting conversation's weights, drawn once: the models' shifts sum over all of
        // them, the window's intervals over the window's.
        let weights = resample::all_weights(&keys, config.seed, replicates);
        let shifts = if kind == EstimatorKind::Matched {
            ModelShifts::none()
        } else {
            let score = |i: usize, out: &mut [f64]| estimation.scores(&models, units, i, out);
            ModelShifts::build(&groups, &weights, &estimation.window, replicates, &score)
        };
        crate::stage!("stage: model shifts");
        estimation.models = models;
        let window_weights = if estimation.window.len() == units.len() {
            weights
        } else {
            let of = |i: usize| &weights[i * replicates..(i + 1) * replicates];
            estimation.window.iter().flat_map(|&i| of(i).iter().copied()).collect()
        };
        estimation.resampler =
            Resampler::with_weights(window_keys, config.seed, replicates, window_weights, shifts);
        estimation
    }

    /// Every unit's hazard score (empty without a fitted hazard).
    fn all_hazard_scores(&self, units: &[Unit]) -> Vec<f32> {
        let Some(hazard) = self.hazard.as_ref().filter(|h| h.dim() > 0) else {
            return Vec::new();
        };
        let dim = hazard.dim();
        (0..units.len())
            .into_par_iter()
            .flat_map_iter(|i| {
                let mut row = vec![0.0; dim];
                hazard.add_score(units, &self.prepared, i, &mut row);
                row.into_iter().map(|v| v as f32)
            })
            .collect()
    }

    /// The model groups of the run, in the order `score` numbers them: the hazard (when the
    /// estimator uses it), then the meeting and opportunity models.
    fn model_groups(&self, units: &[Unit]) -> (Vec<ModelGroup>, ModelIndex) {
        let mut groups = Vec::new();
        let mut index = ModelIndex::default();
        let mut next = 0;
        if let Some(hazard) = self.hazard.as_ref().filter(|h| h.dim() > 0) {
            groups.push(ModelGroup {
                dim: hazard.dim(),
                information: vec![hazard.information().to_vec()],
                left_out: None,
            });
            index.hazard = Some(next);
            next += 1;
        }
        if let Some(outcome) = &self.outcomes {
            let models = outcome.models();
            let left_out = match outcome {
                Outcome::InSample(_) => None,
                Outcome::CrossFitted(c) => {
                    Some((0..units.len()).map(|i| c.fold_of(i) as u8).collect::<Vec<u8>>())
                }
            };
            let mut first = [0; 2];
            for (j, slot) in first.iter_mut().enumerate() {
                groups.push(ModelGroup {
                    dim: models.first().map_or(0, OutcomeModels::dim),
                    information: models.iter().map(|m| m.information(j).to_vec()).collect(),
                    left_out: left_out.clone(),
                });
                *slot = next;
                next += models.len();
            }
            index.outcome = Some(first);
        }
        (groups, index)
    }

    /// Unit `i`'s scores for every model group of `model_groups`, one after the other,
    /// added to `out`: the hazard's, then the meeting and opportunity models' (one design row,
    /// at history's own handoff point, serves both).
    fn scores(&self, index: &ModelIndex, units: &[Unit], i: usize, out: &mut [f64]) {
        let mut at = 0;
        if let Some(hazard) = self.hazard.as_ref().filter(|_| index.hazard.is_some()) {
            let dim = hazard.dim();
            if let Some(score) = self.hazard_scores.get(i * dim..(i + 1) * dim) {
                out[..dim].iter_mut().zip(score).for_each(|(o, s)| *o += f64::from(*s));
            }
            at = dim;
        }
        let Some((model, _)) = self.outcomes.as_ref().and_then(|o| o.model_for(i)) else {
            return;
        };
        let mut design = Vec::new();
        let h0 = history_point(&units[i]);
        let m = model.predict_with_row(units, &self.prepared, i, h0, &mut design);
        let o = units[i].observed;
        for (j, y) in [o.meeting, o.opportunity].into_iter().enumerate() {
            let residual = f64::from(u8::from(y)) - m[j];
            let target = &mut out[at + j * design.len()..at + (j + 1) * design.len()];
            for (acc, x) in target.iter_mut().zip(&design) {
                *acc += residual * x;
            }
        }
    }

    /// The same resamples with the models held fixed (what the intervals would be without
    /// the models' uncertainty), for tests that measure how much it adds.
    #[cfg(test)]
    pub(crate) fn hold_models_fixed(&mut self) {
        let keys = self.resampler.keys.clone();
        let (seed, replicates) = (self.resampler.seed, self.resampler.replicates);
        self.resampler = Resampler::new(keys, seed, replicates, ModelShifts::none());
    }

    pub fn config(&self) -> &EstimationConfig {
        &self.config
    }

    /// The window's units (indices into the fitted units), in unit order: window position `w`
    /// is unit `window()[w]`.
    pub fn window(&self) -> &[usize] {
        &self.window
    }

    /// What the sensitivity bounds need per window conversation (sensitivity.md): the
    /// probability of history's path, the outcome model's out-of-fold residual at history's
    /// own handoff point, and whether the probability was logged. `Err` with the sentence the
    /// report prints when the analysis does not apply: every probability logged, or an
    /// estimator without `dr`'s cross-fitted outcome model.
    pub fn sensitivity_inputs(&self, units: &[Unit]) -> Result<sensitivity::Inputs, &'static str> {
        let window = &self.window;
        let logged = |w: &usize| units.get(*w).is_some_and(models::logs_probabilities);
        if !window.is_empty() && window.iter().all(logged) {
            return Err(sensitivity::LOGGED);
        }
        let (Some(propensities), Some(Outcome::CrossFitted(_))) =
            (self.propensities.as_ref(), self.outcomes.as_ref())
        else {
            return Err(sensitivity::NEEDS_DR);
        };
        if self.prepared.onsets.len() != units.len() {
            return Err(sensitivity::NEEDS_DR);
        }
        let outcomes = self.outcomes.as_ref();
        let conversations = window
            .par_iter()
            .map_init(Vec::new, |design, &i| {
                let unit = &units[i];
                let history = history_point(unit);
                let o = unit.observed;
                let y = [
                    f64::from(u8::from(o.meeting)),
                    f64::from(u8::from(o.opportunity)),
                    finite(o.amount),
                ];
                let m = match outcomes.and_then(|o| o.model_for(i)) {
                    Some((model, _)) => {
                        model.predict_with_row(units, &self.prepared, i, history, design)
                    }
                    None => y,
                };
                sensitivity::Conversation {
                    propensity: propensities.get(i).copied().unwrap_or(1.0),
                    residual: [y[0] - m[0], y[1] - m[1], y[2] - m[2]],
                    known: models::logs_probabilities(unit),
                    history,
                }
            })
            .collect();
        Ok(sensitivity::Inputs { conversations, clip: self.config.clip })
    }

    /// The resamples every interval of the run shares (for sweeps and paired differences).
    pub fn resampler(&self) -> &Resampler {
        &self.resampler
    }

    /// Estimates a policy from its decisions (aligned with `units`).
    pub fn evaluate(&self, units: &[Unit], decisions: &[Decision]) -> PolicyEstimate {
        self.evaluate_policy("this policy", units, decisions).estimate
    }

    /// Estimates the policy `name` from its decisions (aligned with `units`), keeping the
    /// per-conversation contributions. Warnings name the policy.
    pub fn evaluate_policy(
        &self,
        name: &str,
        units: &[Unit],
        decisions: &[Decision],
    ) -> PolicyEvaluation {
        self.evaluate_policies(units, &[(name, decisions)]).pop().unwrap_or_default()
    }

    /// Estimates several policies (each `(name, decisions aligned with units)`) in one pass
    /// over the conversations: per conversation, the outcome model is evaluated once per
    /// distinct handoff point among the policies (most policies agree on most
    /// conversations), and every policy's contributions and gradients are written from it.
    /// Then every column's replicate sums in one more pass (one matrix product per block for
    /// all policies), then each policy's figures from the cached sums.
    pub fn evaluate_policies(
        &self,
        units: &[Unit],
        policies: &[(&str, &[Decision])],
    ) -> Vec<PolicyEvaluation> {
        self.evaluate_policies_sliced(units, policies, &[]).0.overall
    }

    /// `evaluate_policies`, and every policy over every slice of `cuts` (slices.md): the
    /// slices' gradients and totals are accumulated in the same pass over the conversations,
    /// and each cut's replicate sums take one more pass between its slices. Also returns the
    /// slices' scopes (for `slices::historical_slice`).
    pub fn evaluate_policies_sliced(
        &self,
        units: &[Unit],
        policies: &[(&str, &[Decision])],
        cuts: &[Cut],
    ) -> (Sliced, Scopes) {
        let decisions: Vec<&[Decision]> = policies.iter().map(|(_, d)| *d).collect();
        let grouping = slices::Grouping::new(cuts, &self.window);
        let drafts = self.drafts(units, &decisions, cuts, &grouping);
        crate::stage!("stage: policies drafted");
        let scopes = Scopes::new(&self.window, cuts);
        let flat: Vec<(usize, usize)> = scopes.flat().collect();
        let kind = self.config.estimator;
        // Per policy, per slice (flat order): the restricted statistics, and which
        // whole-window column each of their columns restricts.
        type Restricted = Option<(PolicyStatistics, Vec<(intervals::Column, intervals::Column)>)>;
        let restricted: Vec<Vec<Restricted>> = drafts
            .par_iter()
            .map(|d| {
                flat.iter()
                    .enumerate()
                    .map(|(g, &(c, k))| {
                        let part = d.slices.get(g)?;
                        let usable = d.problem.is_none() && d.aligned;
                        usable.then(|| {
                            slices::restrict(
                                &d.statistics,
                                &d.sensitivities,
                                &part.sensitivities,
                                &part.totals,
                                kind,
                                &scopes.slices[c][k],
                            )
                        })
                    })
                    .collect()
            })
            .collect();
        let whole: Vec<&intervals::Column> = drafts
            .iter()
            .filter(|d| d.problem.is_none())
            .flat_map(|d| d.statistics.interval_columns())
            .collect();
        if cuts.is_empty() || !grouping.is_cells() {
            self.resampler.prime(&whole);
            crate::stage!("stage: replicate sums");
            // One pass per cut, its slices' rows only (`Resampler::prime` groups by subset).
            for c in 0..cuts.len() {
                let columns: Vec<&intervals::Column> = restricted
                    .iter()
                    .flat_map(|per| per.iter().zip(&flat).filter(|(_, &(cc, _))| cc == c))
                    .filter_map(|(s, _)| s.as_ref())
                    .flat_map(|(s, _)| s.interval_columns())
                    .collect();
                self.resampler.prime(&columns);
            }
        } else {
            // One pass for the whole window and every slice, keyed by cell.
            let cell_of: Vec<u32> =
                (0..self.window.len()).map(|w| grouping.cell(w) as u32).collect();
            let cells_of: Vec<Vec<usize>> =
                flat.iter().map(|&(c, k)| grouping.slice(c, k)).collect();
            let mut pairs: Vec<intervals::CellRestriction> = Vec::new();
            for per in &restricted {
                for (g, r) in per.iter().enumerate() {
                    let Some((_, made)) = r else { continue };
                    for (source, column) in made {
                        pairs.push(intervals::CellRestriction {
                            source,
                            restricted: column,
                            cells: &cells_of[g],
                        });
                    }
                }
            }
            for (g, &(c, k)) in flat.iter().enumerate() {
                pairs.push(intervals::CellRestriction {
                    source: &scopes.ones,
                    restricted: &scopes.slices[c][k].1,
                    cells: &cells_of[g],
                });
            }
            self.resampler.prime_cells(&whole, &pairs, &cell_of, grouping.count);
            crate::stage!("stage: replicate sums");
        }
        drop(whole);
        let restricted: Vec<Vec<Option<PolicyStatistics>>> = restricted
            .into_iter()
            .map(|per| per.into_iter().map(|r| r.map(|(s, _)| s)).collect())
            .collect();
        if !cuts.is_empty() {
            crate::stage!("stage: slice sums", slices = flat.len());
        }
        let mut by_slice: Vec<Vec<Vec<PolicyEvaluation>>> =
            scopes.slices.iter().map(|s| vec![Vec::new(); s.len()]).collect();
        // Per slice: whether history hands off in some of its conversations, and keeps some.
        let support: Vec<HistorySupport> = flat
            .iter()
            .map(|&(c, k)| {
                let rows = &scopes.slices[c][k].0.rows;
                let handed = |r: &u32| history_point(&units[self.window[*r as usize]]).is_some();
                HistorySupport {
                    hands_off: rows.iter().any(handed),
                    keeps_some: rows.iter().any(|r| !handed(r)),
                }
            })
            .collect();
        let finished: Vec<Vec<PolicyEvaluation>> = drafts
            .par_iter()
            .zip(restricted)
            .zip(policies.par_iter())
            .map(|((draft, per), (name, _))| {
                per.into_iter()
                    .zip(&flat)
                    .zip(&support)
                    .map(|((statistics, &(c, k)), &history)| {
                        let subset = &scopes.slices[c][k].0;
                        self.finish_slice(name, draft, statistics, subset, history)
                    })
                    .collect()
            })
            .collect();
        for per_policy in finished {
            for (evaluation, &(c, k)) in per_policy.into_iter().zip(&flat) {
                by_slice[c][k].push(evaluation);
            }
        }
        let overall = drafts
            .into_par_iter()
            .zip(policies.par_iter())
            .map(|(draft, (name, _))| self.finish(name, draft))
            .collect();
        (Sliced { overall, slices: by_slice }, scopes)
    }

    /// A drafted policy over one slice, from its restricted statistics (`None`: the policy
    /// could not be estimated at all).
    fn finish_slice(
        &self,
        name: &str,
        draft: &Draft,
        statistics: Option<PolicyStatistics>,
        subset: &intervals::Subset,
        history: HistorySupport,
    ) -> PolicyEvaluation {
        let points =
            || subset.rows.iter().map(|&r| draft.handoff_points.get(r as usize).copied().flatten());
        let handoffs = points().filter(Option::is_some).count() as u64;
        let conversations = subset.len();
        // Restricted statistics are missing exactly when the whole window has a problem or
        // the decisions are misaligned, which `support_problem` names.
        let problem = draft.problem.clone().or_else(|| {
            Estimation::support_problem(
                !draft.aligned,
                conversations,
                handoffs > 0,
                (handoffs as usize) < conversations,
                history,
            )
        });
        let statistics = statistics.unwrap_or_default();
        let mut evaluation =
            self.conclude(name, draft.aligned, statistics, problem, handoffs, conversations as u64);
        evaluation.digest = slices::points_digest(points());
        evaluation
    }

    /// Every policy's contributions and statistics, before any interval. Chunks of the
    /// window (`resample::fixed_chunks`) run in parallel, each writing its own range of every
    /// policy's columns; their gradients and totals are added in chunk order, so nothing
    /// depends on the thread count.
    /// A unit's gradients and totals go to its groups (`grouping`, of `cuts`): without cuts,
    /// one group, the whole window.
    fn drafts(
        &self,
        units: &[Unit],
        policies: &[&[Decision]],
        cuts: &[Cut],
        grouping: &slices::Grouping,
    ) -> Vec<Draft> {
        let window = &self.window;
        let groups = grouping.count;
        let cfg = &self.config;
        let (kind, clip) = (cfg.estimator, cfg.clip);
        let handoff_points: Vec<Vec<Option<u32>>> = policies
            .par_iter()
            .map(|d| {
                window.iter().map(|&i| d.get(i).and_then(|x| policy_point(&units[i], x))).collect()
            })
            .collect();
        let fitted = self.prepared.onsets.len() == units.len();
        let aligned: Vec<bool> =
            policies.iter().map(|d| fitted && d.len() == units.len()).collect();
        let live: Vec<usize> = (0..policies.len()).filter(|&p| aligned[p]).collect();
        let ranges = resample::fixed_chunks(window.len());
        let bounds: Vec<usize> = ranges.iter().map(|r| r.end).collect();
        let mut columns: Vec<PolicyColumns> =
            live.iter().map(|_| PolicyColumns::zeroed(kind, window.len())).collect();
        let mut cut: Vec<_> = columns.iter_mut().map(|c| c.ranges(&bounds).into_iter()).collect();
        let tasks: Vec<(std::ops::Range<usize>, Vec<ColumnsRange>)> = ranges
            .into_iter()
            .map(|range| (range, cut.iter_mut().filter_map(Iterator::next).collect()))
            .collect();
        drop(cut);
        let draft_chunk = |(range, mut out): (std::ops::Range<usize>, Vec<ColumnsRange>)| {
            let mut gradients: Vec<Gradients> =
                (0..live.len() * groups).map(|_| Gradients::new(self)).collect();
            let mut group_totals = vec![Totals::default(); live.len() * groups];
            let mut targets: Vec<usize> = Vec::with_capacity(1 + cuts.len());
            // Per distinct handoff point of the conversation: the point, the prediction,
            // and where its design row starts in `rows`.
            let mut memo: Vec<(Option<u32>, Outcomes, usize)> = Vec::new();
            let mut rows: Vec<f64> = Vec::new();
            let mut scratch = Vec::new();
            let model = self.outcomes.as_ref();
            // A sliced run visits the chunk's units cell by cell, so that one cell's
            // accumulators stay in cache; within a cell the order is the window's, so every
            // sum is the same as in window order.
            let order: Vec<usize> = if grouping.is_cells() && groups > 1 {
                let mut keyed: Vec<(usize, usize)> =
                    range.clone().map(|w| (grouping.cell(w), w)).collect();
                keyed.sort_unstable();
                keyed.into_iter().map(|(_, w)| w).collect()
            } else {
                range.clone().collect()
            };
            for w in order {
                let i = window[w];
                grouping.targets(w, &mut targets);
                memo.clear();
                rows.clear();
                let fitted_model = model.and_then(|o| o.model_for(i));
                let amount = fitted_model.map_or(0.0, |(m, _)| m.amount(units, &self.prepared, i));
                for (slot, &p) in live.iter().enumerate() {
                    let hp = handoff_points[p][w];
                    let entry = match memo.iter().position(|e| e.0 == hp) {
                        Some(e) => e,
                        None => {
                            let m = match fitted_model {
                                Some((model, _)) => model.predict_with_row(
                                    units,
                                    &self.prepared,
                                    i,
                                    hp,
                                    &mut scratch,
                                ),
                                None => [0.0; 3],
                            };
                            memo.push((hp, m, rows.len()));
                            rows.extend_from_slice(&scratch);
                            memo.len() - 1
                        }
                    };
                    let (_, m, at) = memo[entry];
                    let design = &rows[at..at + scratch.len()];
                    let prediction =
                        fitted_model.map(|(_, member)| Prediction { m, design, member, amount });
                    let of_slot = &mut gradients[slot * groups..(slot + 1) * groups];
                    let input = self.unit_input(units, i, hp, prediction, of_slot, &targets);
                    let c = estimators::contribution(kind, clip, &input);
                    out[slot].set(w - range.start, &c);
                    if !cuts.is_empty() {
                        for &g in &targets {
                            group_totals[slot * groups + g].count(&c);
                        }
                    }
                }
            }
            let totals: Vec<Totals> = out.into_iter().map(|o| o.totals).collect();
            (totals, gradients, group_totals)
        };
        // Chunks' sums are added in chunk order; a sliced run drafts a few chunks at a time so
        // that its per-group gradients stay small (the order of the additions is the same).
        let wave = if groups > 1 { resample::WAVE } else { tasks.len().max(1) };
        let mut totals = vec![Totals::default(); live.len()];
        let mut gradients: Vec<Gradients> =
            (0..live.len() * groups).map(|_| Gradients::new(self)).collect();
        let mut group_totals = vec![Totals::default(); live.len() * groups];
        let mut tasks = tasks.into_iter();
        loop {
            let batch: Vec<_> = tasks.by_ref().take(wave).collect();
            if batch.is_empty() {
                break;
            }
            let chunks: Vec<(Vec<Totals>, Vec<Gradients>, Vec<Totals>)> =
                batch.into_par_iter().map(draft_chunk).collect();
            for (chunk_totals, chunk_gradients, chunk_groups) in &chunks {
                for (t, c) in totals.iter_mut().zip(chunk_totals) {
                    t.add(c);
                }
                for (g, c) in gradients.iter_mut().zip(chunk_gradients) {
                    g.add(c);
                }
                for (t, c) in group_totals.iter_mut().zip(chunk_groups) {
                    t.add(c);
                }
            }
        }
        // Per policy: its whole-window gradients, and per slice (flat order) its gradients
        // and totals, summed over the slice's groups.
        let whole = grouping.whole();
        let flat: Vec<Vec<usize>> = cuts
            .iter()
            .enumerate()
            .flat_map(|(c, cut)| (0..cut.slices).map(move |k| (c, k)))
            .map(|(c, k)| grouping.slice(c, k))
            .collect();
        let sum_of = |of: &[Gradients], which: &[usize]| -> Gradients {
            match which {
                [one] => of[*one].clone(),
                _ => {
                    let mut g = Gradients::new(self);
                    for &k in which {
                        g.add(&of[k]);
                    }
                    g
                }
            }
        };
        let per_slot: Vec<(Gradients, Vec<(Gradients, Totals)>)> = (0..live.len())
            .map(|slot| {
                let of = &gradients[slot * groups..(slot + 1) * groups];
                let tot = &group_totals[slot * groups..(slot + 1) * groups];
                let slices = flat
                    .iter()
                    .map(|which| {
                        let mut t = Totals::default();
                        for &k in which {
                            t.add(&tot[k]);
                        }
                        (sum_of(of, which), t)
                    })
                    .collect();
                (sum_of(of, &whole), slices)
            })
            .collect();
        drop(gradients);
        let mut assembled = columns.into_iter().zip(totals).zip(per_slot);
        (0..policies.len())
            .zip(handoff_points)
            .map(|(p, points)| {
                let mut sensitivities = ColumnSensitivities::default();
                let mut slices = Vec::new();
                let statistics = if aligned[p] {
                    match assembled.next() {
                        Some(((columns, totals), (whole, per_slice))) => {
                            sensitivities = whole.into_sensitivities(&self.models);
                            slices = per_slice
                                .into_iter()
                                .map(|(g, totals)| SliceDraft {
                                    totals,
                                    sensitivities: g.into_sensitivities(&self.models),
                                })
                                .collect();
                            columns.assemble(kind, totals, &sensitivities)
                        }
                        None => estimators::build(kind, clip, &[], &Default::default()),
                    }
                } else {
                    estimators::build(kind, clip, &[], &Default::default())
                };
                let problem = Estimation::support_problem(
                    !aligned[p],
                    points.len(),
                    points.iter().any(Option::is_some),
                    points.iter().any(Option::is_none),
                    self.history_support(),
                );
                Draft {
                    handoff_points: points,
                    aligned: aligned[p],
                    statistics,
                    problem,
                    sensitivities,
                    slices,
                }
            })
            .collect()
    }

    /// A drafted policy's estimate and intervals (its columns' sums are cached when
    /// `evaluate_policies` primed them).
    fn finish(&self, name: &str, draft: Draft) -> PolicyEvaluation {
        let Draft { handoff_points, aligned, statistics, problem, .. } = draft;
        let handoffs = handoff_points.iter().filter(|p| p.is_some()).count() as u64;
        let conversations = self.window.len() as u64;
        let evaluation = self.conclude(name, aligned, statistics, problem, handoffs, conversations);
        PolicyEvaluation { handoff_points, ..evaluation }
    }

    /// A policy's estimate and intervals over `conversations` (the window or a slice) from
    /// its statistics; `problem`: why it cannot be estimated at all.
    fn conclude(
        &self,
        name: &str,
        aligned: bool,
        statistics: PolicyStatistics,
        problem: Option<String>,
        handoffs: u64,
        conversations: u64,
    ) -> PolicyEvaluation {
        let cfg = &self.config;
        let handoff_points = Vec::new();
        let mut estimate = PolicyEstimate {
            conversations,
            handoffs,
            rates: Rates {
                handoff_rate: if conversations == 0 {
                    0.0
                } else {
                    handoffs as f64 / conversations as f64
                },
                ..Rates::default()
            },
            matched_share: Some(statistics.matched_share),
            effective_sample_size: statistics.effective_sample_size,
            ..PolicyEstimate::default()
        };
        if !aligned {
            estimate.matched_share = None;
            estimate.effective_sample_size = None;
        }
        if let Some(reason) = problem {
            estimate.warnings.push(format!("{name}: {reason}"));
            return PolicyEvaluation {
                estimate,
                statistics,
                handoff_points,
                digest: 0,
                supported: false,
            };
        }
        let s = &statistics;
        let figures = intervals::intervals(&s.interval_statistics(), &self.resampler);
        // In the order of `interval_statistics`.
        let figured = [
            Rate::Meeting,
            Rate::Opportunity,
            Rate::Pipeline,
            Rate::HandoffToMeeting,
            Rate::HandoffToOpportunity,
        ];
        for (figure, rate) in figures.into_iter().zip(figured) {
            let per_handoff = matches!(rate, Rate::HandoffToMeeting | Rate::HandoffToOpportunity);
            if handoffs > 0 || !per_handoff {
                let upper = if rate.is_share() { 1.0 } else { f64::INFINITY };
                estimate.rates.set(rate, clamped(figure, 0.0, upper));
            }
        }
        let mut supported = true;
        if let Some(w) = self.reliance_warning(name, s) {
            if s.matched == 0
                && cfg.estimator != EstimatorKind::Dm
                && cfg.estimator != EstimatorKind::Dr
            {
                // Without one agreeing conversation matched, ipw and snipw have nothing to
                // average: print no number rather than a zero.
                null_outcomes(&mut estimate);
                supported = false;
            }
            estimate.warnings.push(w);
        }
        PolicyEvaluation { estimate, statistics, handoff_points, digest: 0, supported }
    }

    /// Unit `i` as the estimators see it; its derivatives go into `gradients`.
    fn unit_input(
        &self,
        units: &[Unit],
        i: usize,
        hp: Option<u32>,
        prediction: Option<Prediction>,
        gradients: &mut [Gradients],
        targets: &[usize],
    ) -> UnitInput {
        let unit = &units[i];
        let h0 = history_point(unit);
        let agree = hp == h0;
        let tolerance = self.config.tolerance;
        let agree_within_tolerance = match (hp, h0) {
            (Some(p), Some(h)) => p.abs_diff(h) <= tolerance,
            (None, None) => true,
            _ => false,
        };
        let propensity = self.propensities.as_ref().and_then(|p| p.get(i).copied()).unwrap_or(1.0);
        let kind = self.config.estimator;
        let o = unit.observed;
        let y =
            [f64::from(u8::from(o.meeting)), f64::from(u8::from(o.opportunity)), finite(o.amount)];
        let mut m = [0.0; 3];
        let input_without_m = UnitInput {
            agree,
            agree_within_tolerance,
            propensity,
            policy_hands_off: hp.is_some(),
            y,
            m,
        };
        let weight = estimators::weight(&input_without_m, self.config.clip);
        if let Some(Prediction { m: predicted, design, member, amount }) = prediction {
            m = predicted;
            // d m / d b = m (1 - m) x for both logistic models; pipeline = opportunity x
            // the segment's amount. `dr`'s column m + w (y - m) moves as (1 - w) m.
            let factor = if kind == EstimatorKind::Dr { 1.0 - weight } else { 1.0 };
            let d_meeting = factor * m[0] * (1.0 - m[0]);
            let d_opportunity = factor * m[1] * (1.0 - m[1]);
            let handoff = if hp.is_some() { 1.0 } else { 0.0 };
            for &t in targets {
                let g = &mut gradients[t];
                g.add_outcome(design, 0, member, 0, d_meeting);
                g.add_outcome(design, 1, member, 1, d_opportunity);
                g.add_outcome(design, 2, member, 1, d_opportunity * amount);
                g.add_outcome(design, 3, member, 0, handoff * d_meeting);
                g.add_outcome(design, 4, member, 1, handoff * d_opportunity);
            }
        }
        // d w / d b = -w s_i where the weight is not clipped and history's path is modelled
        // (w = 1 / p, and d ln p / d b is the hazard score).
        let modelled = !models::logs_probabilities(unit);
        if agree && kind.uses_propensity() && modelled && weight > 0.0 && weight < self.config.clip
        {
            let dim = gradients.first().map_or(0, |g| g.hazard_dim);
            if let Some(score) = self.hazard_scores.get(i * dim..(i + 1) * dim) {
                let handoff = if hp.is_some() { 1.0 } else { 0.0 };
                let target = |j: usize| match kind {
                    EstimatorKind::Dr => y[j] - m[j],
                    _ => y[j],
                };
                let mut coefficients = [0.0; SENSITIVE_COLUMNS];
                for (j, c) in coefficients.iter_mut().take(3).enumerate() {
                    *c = -weight * target(j);
                }
                coefficients[3] = handoff * coefficients[0];
                coefficients[4] = handoff * coefficients[1];
                coefficients[5] = -weight;
                for &t in targets {
                    gradients[t].add_hazard(&coefficients, score);
                }
            }
        }
        UnitInput { m, ..input_without_m }
    }

    /// Whether history hands off in some of the window's conversations, and keeps some.
    fn history_support(&self) -> HistorySupport {
        HistorySupport { hands_off: self.history_hands_off, keeps_some: self.history_keeps_some }
    }

    /// Why a policy cannot be estimated at all from this history, if it cannot.
    fn support_problem(
        misaligned: bool,
        conversations: usize,
        any_handoff: bool,
        any_kept: bool,
        history: HistorySupport,
    ) -> Option<String> {
        if misaligned {
            return Some(
                "its decisions or conversations do not line up with those the models were \
                 fitted on"
                    .into(),
            );
        }
        if conversations == 0 {
            return Some("no conversations in the window".into());
        }
        if !history.hands_off && any_handoff {
            return Some(
                "history never hands off: a policy that hands off cannot be estimated from it"
                    .into(),
            );
        }
        if !history.keeps_some && any_kept {
            return Some(
                "history always hands off: a policy that leaves a conversation with the AI \
                 cannot be estimated from it"
                    .into(),
            );
        }
        None
    }

    /// The plain-words warning when the estimate rests on the model alone or on very few
    /// conversations (matched share under 5% or effective sample size under 30).
    fn reliance_warning(&self, name: &str, s: &PolicyStatistics) -> Option<String> {
        let share = s.matched_share;
        let ess = s.effective_sample_size;
        let weak = share < 0.05 || ess.is_some_and(|e| e < 30.0);
        if !weak {
            return None;
        }
        let pct = crate::format::percent_in_words(share);
        let ess_text = ess.map(|e| format!(" (effective sample size {e:.0})")).unwrap_or_default();
        Some(match self.config.estimator {
            EstimatorKind::Dm | EstimatorKind::Dr => format!(
                "estimate for {name} rests mostly on the outcome model: only {pct} of \
                 conversations match history's handoff{ess_text}"
            ),
            EstimatorKind::Matched => format!(
                "estimate for {name} rests on only {} conversations that match history's \
                 handoff ({pct})",
                s.matched
            ),
            EstimatorKind::Ipw | EstimatorKind::Snipw if s.matched == 0 => format!(
                "{name} cannot be estimated by {}: no conversation matches history's handoff",
                self.config.estimator.name()
            ),
            EstimatorKind::Ipw | EstimatorKind::Snipw => format!(
                "estimate for {name} rests on few conversations: only {pct} match history's \
                 handoff{ess_text}; its interval may be too narrow"
            ),
        })
    }
}

/// The outcome model at a policy's handoff point in one conversation.
#[derive(Clone, Copy)]
struct Prediction<'a> {
    m: Outcomes,
    /// The model's design row at that point (`OutcomeModels::predict_with_row`).
    design: &'a [f64],
    /// The fold model (member) that predicted it.
    member: usize,
    /// The shrunk mean amount of the conversation's segment.
    amount: f64,
}

/// A policy evaluated up to its statistics (`Estimation::drafts`).
struct Draft {
    handoff_points: Vec<Option<u32>>,
    aligned: bool,
    statistics: PolicyStatistics,
    /// Why the policy cannot be estimated, if it cannot.
    problem: Option<String>,
    /// How the whole window's sums move with the models (as in `statistics`' columns).
    sensitivities: ColumnSensitivities,
    /// Per slice of every cut, in cut order (empty unless the run is sliced).
    slices: Vec<SliceDraft>,
}

/// Whether history hands off in some conversations of a set, and keeps some with the AI: a
/// policy that does what history never did there cannot be estimated there.
#[derive(Clone, Copy, Debug)]
struct HistorySupport {
    hands_off: bool,
    keeps_some: bool,
}

/// One slice's share of a policy's draft: its totals, and how its sums move with the models.
struct SliceDraft {
    totals: Totals,
    sensitivities: ColumnSensitivities,
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// The policy's decision point clamped into the timeline; `None` when it never hands off.
fn policy_point(unit: &Unit, decision: &Decision) -> Option<u32> {
    let n = unit.timeline.points.len() as u32;
    decision.point.filter(|_| n > 0).map(|p| p.clamp(1, n))
}

/// `e` kept inside `[lower, upper]` (a rate's interval stays within 0 and 1).
fn clamped(e: Estimate, lower: f64, upper: f64) -> Estimate {
    let clamp = |v: Option<f64>| v.map(|v| v.clamp(lower, upper));
    Estimate { estimate: e.estimate, low: clamp(e.low), high: clamp(e.high) }
}

/// Per sensitive column (`SENSITIVE_COLUMNS`), how its sum moves with the models.
pub type ColumnSensitivities = [Option<Arc<Sensitivity>>; SENSITIVE_COLUMNS];

/// The gradients of one policy's sensitive columns, accumulated unit by unit.
#[derive(Clone)]
struct Gradients {
    /// Per column, per outcome model member (meeting models then opportunity models), the
    /// gradient (`outcome_dim` each).
    outcome: Vec<Vec<f64>>,
    outcome_members: usize,
    outcome_dim: usize,
    /// Per column, the hazard gradient.
    hazard: Vec<Vec<f64>>,
    hazard_dim: usize,
}

impl Gradients {
    fn new(estimation: &Estimation) -> Gradients {
        let (members, dim) = estimation
            .outcomes
            .as_ref()
            .map_or((0, 0), |o| (o.models().len(), o.models().first().map_or(0, |m| m.dim())));
        let hazard_dim = estimation.hazard.as_ref().map_or(0, HazardModel::dim);
        let hazard_used = estimation.models.hazard.is_some();
        Gradients {
            outcome: vec![vec![0.0; 2 * members * dim]; SENSITIVE_COLUMNS],
            outcome_members: members,
            outcome_dim: dim,
            hazard: vec![vec![0.0; if hazard_used { hazard_dim } else { 0 }]; SENSITIVE_COLUMNS],
            hazard_dim,
        }
    }

    /// Adds `factor * design` to column `column`'s gradient in outcome `outcome`'s model
    /// `member`.
    fn add_outcome(
        &mut self,
        design: &[f64],
        column: usize,
        member: usize,
        outcome: usize,
        factor: f64,
    ) {
        if factor == 0.0 || self.outcome_dim == 0 {
            return;
        }
        let dim = self.outcome_dim;
        let offset = (outcome * self.outcome_members + member) * dim;
        let (Some(target), Some(x)) =
            (self.outcome[column].get_mut(offset..offset + dim), design.get(..dim))
        else {
            return;
        };
        // The design's non-zero part: the intercept, the no-handoff flag and one of the two
        // interaction blocks (see `models::interact`); whole slices, so the loop vectorises.
        let block = (dim - 2) / 2;
        let from = if x[1] != 0.0 { 2 + block } else { 2 };
        target[0] += factor * x[0];
        target[1] += factor * x[1];
        for (t, v) in target[from..from + block].iter_mut().zip(&x[from..from + block]) {
            *t += factor * v;
        }
    }

    /// Adds `coefficients[c] * score` to each column's hazard gradient.
    fn add_hazard(&mut self, coefficients: &[f64; SENSITIVE_COLUMNS], score: &[f32]) {
        for (gradient, &c) in self.hazard.iter_mut().zip(coefficients) {
            if c == 0.0 {
                continue;
            }
            for (g, s) in gradient.iter_mut().zip(score) {
                *g += c * f64::from(*s);
            }
        }
    }

    fn add(&mut self, other: &Gradients) {
        for (a, b) in self.outcome.iter_mut().zip(&other.outcome) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        for (a, b) in self.hazard.iter_mut().zip(&other.hazard) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
    }

    fn into_sensitivities(self, index: &ModelIndex) -> ColumnSensitivities {
        let mut out: ColumnSensitivities = Default::default();
        for (c, slot) in out.iter_mut().enumerate() {
            let mut gradients = Vec::new();
            if let Some(h) = index.hazard {
                if self.hazard[c].iter().any(|g| *g != 0.0) {
                    gradients.push((h, self.hazard[c].clone()));
                }
            }
            if let Some(first) = index.outcome {
                for (outcome, &start) in first.iter().enumerate() {
                    for member in 0..self.outcome_members {
                        let offset = (outcome * self.outcome_members + member) * self.outcome_dim;
                        let g = &self.outcome[c][offset..offset + self.outcome_dim];
                        if g.iter().any(|v| *v != 0.0) {
                            gradients.push((start + member, g.to_vec()));
                        }
                    }
                }
            }
            if !gradients.is_empty() {
                *slot = Some(Arc::new(Sensitivity { gradients }));
            }
        }
        out
    }
}

fn null_outcomes(e: &mut PolicyEstimate) {
    e.rates.null_outcomes();
}

/// `historical` from observed outcomes over the window: Wilson intervals for the rates
/// (`handoff_to_*` over history's handoffs), a normal interval for pipeline.
pub fn historical_estimate(units: &[Unit]) -> PolicyEstimate {
    let window: Vec<&Unit> = units.iter().filter(|u| u.in_window).collect();
    let n = window.len() as u64;
    let handed: Vec<&&Unit> = window.iter().filter(|u| history_point(u).is_some()).collect();
    let count = |it: &mut dyn Iterator<Item = bool>| it.filter(|b| *b).count() as u64;
    let meetings = count(&mut window.iter().map(|u| u.observed.meeting));
    let opportunities = count(&mut window.iter().map(|u| u.observed.opportunity));
    let amounts: Vec<f64> = window.iter().map(|u| finite(u.observed.amount)).collect();
    let handoffs = handed.len() as u64;
    let mut warnings = Vec::new();
    if n == 0 {
        warnings.push("historical: no conversations in the window".to_string());
    }
    PolicyEstimate {
        conversations: n,
        handoffs,
        rates: Rates {
            handoff_rate: if n == 0 { 0.0 } else { handoffs as f64 / n as f64 },
            meeting_rate: intervals::wilson(meetings, n),
            opportunity_rate: intervals::wilson(opportunities, n),
            handoff_to_meeting: intervals::wilson(
                count(&mut handed.iter().map(|u| u.observed.meeting)),
                handoffs,
            ),
            handoff_to_opportunity: intervals::wilson(
                count(&mut handed.iter().map(|u| u.observed.opportunity)),
                handoffs,
            ),
            pipeline_per_conversation: intervals::normal_mean(&amounts),
        },
        matched_share: None,
        effective_sample_size: None,
        warnings,
    }
}

/// `historical` as an evaluation: its figures from `historical_estimate`, and per-conversation
/// contributions of the observed outcomes (so a policy can be compared with history, paired
/// over the same conversations, with `paired_difference`).
pub fn historical_evaluation(units: &[Unit]) -> PolicyEvaluation {
    let window: Vec<&Unit> = units.iter().filter(|u| u.in_window).collect();
    let inputs: Vec<UnitInput> = window
        .iter()
        .map(|u| {
            let y = [
                f64::from(u8::from(u.observed.meeting)),
                f64::from(u8::from(u.observed.opportunity)),
                finite(u.observed.amount),
            ];
            UnitInput {
                agree: true,
                agree_within_tolerance: true,
                propensity: 1.0,
                policy_hands_off: history_point(u).is_some(),
                y,
                m: y,
            }
        })
        .collect();
    let mut statistics =
        estimators::build(EstimatorKind::Matched, 1.0, &inputs, &ColumnSensitivities::default());
    statistics.matched_share = 1.0;
    PolicyEvaluation {
        estimate: historical_estimate(units),
        handoff_points: window.iter().map(|u| history_point(u)).collect(),
        digest: 0,
        supported: !window.is_empty(),
        statistics,
    }
}

#[cfg(test)]
mod tests;
