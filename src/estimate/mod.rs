//! Estimation (estimation.md): what each policy would have achieved, from history that
//! followed another policy. Models of history's handoff behaviour (a discrete-time hazard) and
//! of outcomes (`m(x, h)`), the estimators `matched`, `dm`, `ipw`, `snipw`, `dr`, and their
//! intervals. Pure: no I/O.
//!
//! Layout: `features` (the state at a decision point), `logistic` (the fitter), `models`
//! (hazard and outcome models), `estimators` (the arithmetic on plain numbers), `intervals`
//! (bootstrap, normal and Wilson intervals, paired differences), `sweep` (net objective and
//! the optimal transition point). This file ties them together and adds the honesty rules:
//! null estimates where history gives no support, and plain warnings where an estimate rests
//! on the outcome model.
//!
//! Use: `let est = Estimation::fit(&units, &config)` once per run (all units: the accepted
//! conversations that started before the window ends); then per policy
//! `est.evaluate_policy(name, &units, &decisions)` (decisions aligned with `units`), and
//! `historical_estimate(&units)` (or `historical_evaluation`) for history itself. A
//! `PolicyEvaluation` keeps the per-conversation contributions: `sweep::evaluate_sweep` and
//! `paired_difference` compare evaluations paired over the same conversations and bootstrap
//! resamples.

pub mod estimators;
pub mod features;
pub mod intervals;
pub mod logistic;
pub mod models;
pub mod refit;
pub mod sweep;
pub mod value;

use rayon::prelude::*;

use crate::model::Conversation;
use crate::policy::{Policy, QualityReference};
use crate::replay::{Decision, Timeline};

use estimators::{PolicyStatistics, UnitInput};
use logistic::LogisticOptions;
use models::{history_point, CrossFitted, HazardModel, OutcomeModels, Prepared};

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
    /// Refits of the models on resamples (0: none), to widen the intervals by the models'
    /// own uncertainty (see `refit`).
    pub refits: u32,
    /// Largest resample a refit uses (m-out-of-n; the spread is scaled by `sqrt(m / n)`).
    pub refit_size: usize,
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
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyEvaluation {
    pub estimate: PolicyEstimate,
    /// Over the window's conversations, in unit order.
    pub statistics: PolicyStatistics,
    /// The policy's handoff point per window conversation (to tell policies apart).
    pub handoff_points: Vec<Option<u32>>,
    /// False when history gives no support: every figure is null.
    pub supported: bool,
    /// Per refit replicate (`refit`): the rates re-estimated with refitted models (NaN where
    /// undefined). Empty without refits.
    pub refit_values: Vec<Rates<f64>>,
    /// `sqrt(m / n)`: what a refit's spread is multiplied by.
    pub refit_scale: f64,
}

/// The outcome model as an estimator uses it.
enum Outcome {
    /// Fitted on every unit (`dm`: the estimate is the model's).
    InSample(OutcomeModels),
    /// Out of fold (`dr`: the residuals must be out of sample).
    CrossFitted(CrossFitted),
}

/// The fitted models and settings; `evaluate` must be given the same units as `fit`.
pub struct Estimation {
    config: EstimationConfig,
    prepared: Prepared,
    /// Probability of history's observed path per unit (policy-independent, so computed
    /// once); `None` when the estimator needs no propensity.
    propensities: Option<Vec<f64>>,
    outcomes: Option<Outcome>,
    history_hands_off: bool,
    history_keeps_some: bool,
    /// The models refitted on resamples (see `refit`); empty without `--refits`.
    refits: Vec<Replicate>,
    refit_scale: f64,
}

/// One refit: the resample's original unit indices and the models fitted on it.
struct Replicate {
    indices: Vec<usize>,
    fit: Estimation,
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
        let mut estimation = Estimation::fit_models(units, config, reference, None);
        let n = units.len();
        let wants_refits = config.refits > 0 && config.estimator != EstimatorKind::Matched;
        if wants_refits && n >= 2 {
            let m = config.refit_size.clamp(2, n);
            estimation.refit_scale = (m as f64 / n as f64).sqrt();
            estimation.refits = (0..config.refits)
                .into_par_iter()
                .map(|r| {
                    let indices = refit::resample(config.seed, r, n, m);
                    let resampled: Vec<Unit> = indices.iter().map(|&i| units[i]).collect();
                    let fit = Estimation::fit_models(
                        &resampled,
                        config,
                        reference,
                        Some(indices.clone()),
                    );
                    Replicate { indices, fit }
                })
                .collect();
        }
        estimation
    }

    /// The models alone, on `units`; `keys` are the original indices of a resample.
    fn fit_models(
        units: &[Unit],
        config: &EstimationConfig,
        reference: &Policy,
        keys: Option<Vec<usize>>,
    ) -> Estimation {
        let prepared = Prepared::new(units, reference);
        let options = LogisticOptions::default();
        let kind = config.estimator;
        let propensities = kind.uses_propensity().then(|| {
            let hazard = HazardModel::fit(units, &prepared, options);
            (0..units.len())
                .into_par_iter()
                .map(|i| hazard.path_propensity(units, &prepared, i))
                .collect()
        });
        let outcomes = match kind {
            // `dr` corrects the model with each conversation's residual: out of fold, so the
            // residual is honest (see `models::CrossFitted`).
            EstimatorKind::Dr => {
                Some(Outcome::CrossFitted(CrossFitted::fit_keyed(units, &prepared, options, keys)))
            }
            EstimatorKind::Dm => {
                Some(Outcome::InSample(OutcomeModels::fit(units, &prepared, options)))
            }
            _ => None,
        };
        Estimation {
            config: config.clone(),
            prepared,
            propensities,
            outcomes,
            history_hands_off: units.iter().any(|u| history_point(u).is_some()),
            history_keeps_some: units.iter().any(|u| history_point(u).is_none()),
            refits: Vec::new(),
            refit_scale: 1.0,
        }
    }

    pub fn config(&self) -> &EstimationConfig {
        &self.config
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
        let window: Vec<usize> = (0..units.len()).filter(|&i| units[i].in_window).collect();
        let handoff_points: Vec<Option<u32>> = window
            .iter()
            .map(|&i| decisions.get(i).and_then(|d| policy_point(&units[i], d)))
            .collect();
        let aligned = decisions.len() == units.len() && self.prepared.onsets.len() == units.len();
        let inputs: Vec<UnitInput> = if aligned {
            window.par_iter().map(|&i| self.unit_input(units, decisions, i)).collect()
        } else {
            Vec::new()
        };
        let cfg = &self.config;
        let statistics = estimators::build(cfg.estimator, cfg.clip, &inputs);
        let handoffs = handoff_points.iter().filter(|p| p.is_some()).count() as u64;
        let conversations = window.len() as u64;
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
        if let Some(reason) = self.support_problem(!aligned, &handoff_points) {
            estimate.warnings.push(format!("{name}: {reason}"));
            return PolicyEvaluation {
                estimate,
                statistics,
                handoff_points,
                supported: false,
                refit_values: Vec::new(),
                refit_scale: 1.0,
            };
        }
        let s = &statistics;
        let figures = intervals::intervals(
            &[&s.outcomes[0], &s.outcomes[1], &s.outcomes[2], &s.handoff_to[0], &s.handoff_to[1]],
            cfg.bootstrap,
            cfg.seed,
        );
        let refit_values = self.refit_values(units, decisions);
        // `figures` is in the order of the statistics given to `intervals` above.
        let figured = [
            Rate::Meeting,
            Rate::Opportunity,
            Rate::Pipeline,
            Rate::HandoffToMeeting,
            Rate::HandoffToOpportunity,
        ];
        for (figure, rate) in figures.iter().zip(figured) {
            let per_handoff = matches!(rate, Rate::HandoffToMeeting | Rate::HandoffToOpportunity);
            if handoffs > 0 || !per_handoff {
                let upper = if rate.is_share() { 1.0 } else { f64::INFINITY };
                let spread =
                    refit::spread(refit_values.iter().map(|v| v.get(rate)), self.refit_scale);
                estimate.rates.set(rate, refit::widen(*figure, spread, 0.0, upper));
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
        PolicyEvaluation {
            estimate,
            statistics,
            handoff_points,
            supported,
            refit_values,
            refit_scale: self.refit_scale,
        }
    }

    /// The policy re-estimated by every refit, on its own resample (empty without refits).
    fn refit_values(&self, units: &[Unit], decisions: &[Decision]) -> Vec<Rates<f64>> {
        self.refits
            .par_iter()
            .map(|r| {
                let resampled: Vec<Unit> = r.indices.iter().map(|&i| units[i]).collect();
                let picked: Vec<Decision> = r.indices.iter().map(|&i| decisions[i]).collect();
                r.fit.point_values(&resampled, &picked)
            })
            .collect()
    }

    /// The point estimates alone (no intervals): the five figures and the handoff rate.
    fn point_values(&self, units: &[Unit], decisions: &[Decision]) -> Rates<f64> {
        let window: Vec<usize> = (0..units.len()).filter(|&i| units[i].in_window).collect();
        let inputs: Vec<UnitInput> =
            window.iter().map(|&i| self.unit_input(units, decisions, i)).collect();
        let s = estimators::build(self.config.estimator, self.config.clip, &inputs);
        let value = |st: &Statistic| st.value().unwrap_or(f64::NAN);
        Rates {
            handoff_rate: value(&s.handoff_rate),
            meeting_rate: value(&s.outcomes[0]),
            opportunity_rate: value(&s.outcomes[1]),
            handoff_to_meeting: value(&s.handoff_to[0]),
            handoff_to_opportunity: value(&s.handoff_to[1]),
            pipeline_per_conversation: value(&s.outcomes[2]),
        }
    }

    /// Why a policy cannot be estimated at all from this history, if it cannot.
    fn support_problem(&self, misaligned: bool, points: &[Option<u32>]) -> Option<String> {
        if misaligned {
            return Some(
                "its decisions or conversations do not line up with those the models were \
                 fitted on"
                    .into(),
            );
        }
        if points.is_empty() {
            return Some("no conversations in the window".into());
        }
        if !self.history_hands_off && points.iter().any(Option::is_some) {
            return Some(
                "history never hands off: a policy that hands off cannot be estimated from it"
                    .into(),
            );
        }
        if !self.history_keeps_some && points.iter().any(Option::is_none) {
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

    fn unit_input(&self, units: &[Unit], decisions: &[Decision], i: usize) -> UnitInput {
        let unit = &units[i];
        let hp = decisions.get(i).and_then(|d| policy_point(unit, d));
        let h0 = history_point(unit);
        let agree = hp == h0;
        let tolerance = self.config.tolerance;
        let agree_within_tolerance = match (hp, h0) {
            (Some(p), Some(h)) => p.abs_diff(h) <= tolerance,
            (None, None) => true,
            _ => false,
        };
        let prep = &self.prepared;
        let propensity = self.propensities.as_ref().and_then(|p| p.get(i).copied()).unwrap_or(1.0);
        let m = match &self.outcomes {
            Some(Outcome::InSample(models)) => models.predict(units, prep, i, hp),
            Some(Outcome::CrossFitted(models)) => models.predict(units, prep, i, hp),
            None => [0.0; 3],
        };
        let o = unit.observed;
        UnitInput {
            agree,
            agree_within_tolerance,
            propensity,
            policy_hands_off: hp.is_some(),
            y: [
                f64::from(u8::from(o.meeting)),
                f64::from(u8::from(o.opportunity)),
                finite(o.amount),
            ],
            m,
        }
    }
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
    let mut statistics = estimators::build(EstimatorKind::Matched, 1.0, &inputs);
    statistics.matched_share = 1.0;
    PolicyEvaluation {
        estimate: historical_estimate(units),
        handoff_points: window.iter().map(|u| history_point(u)).collect(),
        supported: !window.is_empty(),
        statistics,
        refit_values: Vec::new(),
        refit_scale: 1.0,
    }
}

#[cfg(test)]
mod tests;
