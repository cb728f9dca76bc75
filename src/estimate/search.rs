//! Policy search (search.md): every candidate of a family estimated without a refit, the
//! recommendation by the one-standard-error rule, and the honest, cross-fitted value of
//! "search this family and deploy the winner".
//!
//! **Why no refit per candidate.** With `dr`, a policy's contribution in conversation `i` is
//! `m(x_i, h_i) + w_i [h_i = h0_i] (y_i - m(x_i, h0_i))`: the outcome model at the policy's
//! handoff point `h_i`, and history's weighted residual where the policy agrees with history.
//! Both are computed once per conversation for every decision point and every fold model
//! (`Tables`), so a candidate costs its replay (shared by candidates with one rule: the
//! `Replayer` compiles each distinct rule once) and one lookup per conversation and model.
//!
//! **Why the honest value needs no more fits.** The outcome models are already cross-fitted
//! on folds keyed by `conversation_id` (`models::CrossFitted`): fold model `k` never saw fold
//! `k`. The search uses the same folds. For fold `k`, every candidate is estimated on the
//! other folds *with model `k`* (its residuals there are in-sample, as a model's own fit is),
//! one is chosen by the rule, and it is estimated on fold `k`, whose outcomes neither chose it
//! nor fitted the model. The hazard model is the run's (fitted on every conversation's
//! handoffs, never on an outcome), so no outcome of fold `k` reaches its choice. The
//! held-out estimates together are the value of searching; their per-conversation
//! contributions give its interval and the paired differences.
//!
//! Candidates' intervals are normal intervals on their per-conversation contributions (the
//! fitted models held fixed), so a leaderboard of thousands costs one pass each; the report
//! evaluates the recommendation as a named policy, with the run's full intervals, when
//! `recommended.toml` is read back.

use rayon::prelude::*;

use super::estimators::{weight, UnitInput};
use super::intervals::{intervals, paired_difference_at, Statistic, Z95};
use super::models::{history_point, FOLDS};
use super::sweep::net_objective;
use super::value::Estimate;
use super::{Estimation, EstimatorKind, Outcome, PolicyEvaluation, Unit};
use crate::policy::sweep::Objective;
use crate::policy::{Candidate, Policy};
use crate::replay::{Decision, Facts, Replayer};

/// Candidates replayed together: bounds the memory of their handoff points.
const BATCH: usize = 256;

/// The shares below which a candidate's estimate rests on the outcome model alone (the
/// report's warning rule, `Estimation::reliance_warning`): never recommended.
const MIN_MATCHED_SHARE: f64 = 0.05;
const MIN_EFFECTIVE_SAMPLE: f64 = 30.0;

/// Per window conversation, what every candidate's contribution is looked up from.
struct Tables {
    /// Per conversation, where its rows start in `m` (`points + 1` rows of `models`
    /// values: row 0 is "never hands off", row `p` a handoff at decision point `p`).
    offsets: Vec<usize>,
    points: Vec<u32>,
    /// `m_k(x, h)` of the objective, row-major by (conversation, row, model).
    m: Vec<f32>,
    /// Per conversation and model, `w (y - m_k(x, h0))`.
    residual: Vec<f32>,
    /// History's handoff point (0: never).
    history: Vec<u32>,
    /// The clipped weight of history's path (for the effective sample size).
    weight: Vec<f32>,
    /// Fold of the conversation.
    fold: Vec<u8>,
    /// The observed objective (for `historical`).
    observed: Vec<f32>,
    models: usize,
    /// The window positions in table order: grouped by fold (window order within a fold), so
    /// that a candidate's pass keeps each fold's sums in registers.
    order: Vec<usize>,
    /// Where each fold's conversations start in table order (`models + 1` entries).
    fold_starts: Vec<usize>,
    /// Per routing cut, each conversation's slice (table order); empty without `--by`.
    slice_of: Vec<Vec<u32>>,
    /// Per routing cut, where its slices start among `Sums::slices`.
    slice_base: Vec<usize>,
    /// Slices of every routing cut together.
    slice_blocks: usize,
}

/// One conversation's rows of `Tables`, computed in parallel: `m`, residuals, history's
/// point, weight, fold, observed objective and decision points.
type ConversationRows = (Vec<f32>, Vec<f32>, u32, f32, u8, f32, u32);

/// Sums over a set of conversations (the window, or one slice of a cut): per (model `k`,
/// fold `f`) the net contributions and their squares, and per fold the counts behind the
/// warnings.
#[derive(Clone, Copy, Debug)]
struct Block {
    net: [f64; FOLDS * FOLDS],
    squares: [f64; FOLDS * FOLDS],
    /// Per fold: conversations, handoffs, agreeing with history, sum of weights and of
    /// squared weights over the agreeing ones.
    count: [f64; FOLDS],
    handoffs: [f64; FOLDS],
    matched: [f64; FOLDS],
    weights: [f64; FOLDS],
    weights_squared: [f64; FOLDS],
}

impl Block {
    const EMPTY: Block = Block {
        net: [0.0; FOLDS * FOLDS],
        squares: [0.0; FOLDS * FOLDS],
        count: [0.0; FOLDS],
        handoffs: [0.0; FOLDS],
        matched: [0.0; FOLDS],
        weights: [0.0; FOLDS],
        weights_squared: [0.0; FOLDS],
    };
}

/// One candidate's sums over the window and over every slice of the routing cuts.
#[derive(Clone, Debug)]
struct Sums {
    whole: Block,
    /// Per cut, per slice (flattened: `Tables::slice_base[cut] + slice`).
    slices: Vec<Block>,
    /// A 128-bit digest of the candidate's handoff points (to merge identical candidates).
    digest: u128,
}

/// What one candidate achieves over a set of folds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Figures {
    /// Net objective per conversation.
    mean: f64,
    se: f64,
    handoff_rate: f64,
    matched_share: f64,
    effective_sample_size: Option<f64>,
    eligible: bool,
}

/// One candidate of the family as estimated on all the data.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateEstimate {
    /// Net objective per 100 conversations, with its 95% interval.
    pub net_per_100: Estimate,
    pub handoff_rate: f64,
    pub matched_share: f64,
    pub effective_sample_size: Option<f64>,
    /// False when the estimate rests on the model alone or history gives no support.
    pub eligible: bool,
    /// The first candidate with identical decisions, when this one duplicates it.
    pub duplicate_of: Option<usize>,
    /// How many later candidates duplicate this one.
    pub duplicates: usize,
}

/// The honest value of searching the family and deploying the winner.
#[derive(Clone, Debug, PartialEq)]
pub struct HonestValue {
    pub net_per_100: Estimate,
    pub versus_historical: Estimate,
    pub versus_base: Estimate,
    pub folds: usize,
    /// Folds whose choice agrees with the recommendation's decisions in 95% of conversations.
    pub stable_folds: usize,
    /// Per fold, the candidate it chose (`None`: no eligible candidate there).
    pub choices: Vec<Option<usize>>,
    /// The recommendation on all the data (optimistic), with the run's full intervals.
    pub in_sample: Estimate,
}

/// A column a search may route by (`--by`, search.md "A policy per slice").
#[derive(Clone, Copy, Debug)]
pub struct RouteCut<'a> {
    pub by: &'a str,
    /// Per unit (aligned with the units the models were fitted on), its slice.
    pub slice_of: &'a [u32],
    /// Slice names, in report order.
    pub names: &'a [String],
    /// Per slice, whether it gets a winner of its own: a value with at least `--min-slice`
    /// window conversations. `(none)` and `(other)` never do: they take `"*"`.
    pub routable: &'a [bool],
}

/// One slice of a routed search.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceRoute {
    pub name: String,
    /// Window conversations in the slice.
    pub conversations: u64,
    /// Its own winner on all the data (`None`: it takes the single recommendation, `"*"`).
    pub winner: Option<usize>,
    /// In this slice, on all the data (optimistic for the winner): the policy it is routed
    /// to, and the base.
    pub net_per_100: Estimate,
    pub base_net_per_100: Estimate,
    /// Per fold, the candidate chosen for this slice on the other folds (`None`: none
    /// eligible, or the slice has no winner of its own).
    pub fold_choices: Vec<Option<usize>>,
    /// Folds whose choice for this slice agrees with its winner's decisions in 95% of the
    /// slice's conversations.
    pub stable_folds: usize,
}

/// The routed policy a search builds for one `--by` column.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutedEstimate {
    pub by: String,
    pub slices: Vec<SliceRoute>,
    /// The cross-fitted value of "choose a winner per slice and deploy the routed policy".
    pub net_per_100: Estimate,
    pub versus_historical: Estimate,
    pub versus_base: Estimate,
    /// Paired against the single policy's honest value (the same held-out conversations).
    pub versus_single: Estimate,
    /// The routed policy on all the data (optimistic), with the run's full intervals.
    pub in_sample: Estimate,
    /// Recommended over the single policy: its honest value is higher and the paired
    /// difference's 95% interval lies above zero.
    pub recommended: bool,
    /// The routed policy evaluated over the window (for the sensitivity analysis).
    pub evaluation: Option<PolicyEvaluation>,
}

/// A search's result.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchEstimate {
    /// Per candidate of the family, in order.
    pub candidates: Vec<CandidateEstimate>,
    pub distinct: usize,
    /// The recommended candidate (`None`: no candidate is eligible).
    pub recommended: Option<usize>,
    pub honest: Option<HonestValue>,
    /// The recommendation's net objective on all the data, with the run's full intervals
    /// (optimistic: the data chose it).
    pub recommended_net_per_100: Estimate,
    /// The recommendation evaluated as a named policy over the window (what the report's
    /// sensitivity analysis bounds).
    pub recommended_evaluation: Option<PolicyEvaluation>,
    /// History's observed net objective per 100 conversations.
    pub historical_net_per_100: f64,
    /// Per routing cut (`--by`), the routed policy; empty without cuts.
    pub routed: Vec<RoutedEstimate>,
    /// Why the search could not run, when it could not.
    pub problem: Option<String>,
}

/// Per routing cut, the slices' winners and fold choices (candidate indices).
struct RouteChoices {
    winners: Vec<Option<usize>>,
    /// Per slice, per fold.
    fold_choices: Vec<Vec<Option<usize>>>,
}

impl Estimation {
    /// Estimates every candidate of a family (objective and cost as the search's), chooses
    /// the recommendation and cross-fits the value of choosing. Needs `dr` (the cross-fitted
    /// outcome models and the hazard); other estimators get a `problem`. With routing `cuts`
    /// (`--by`), also a winner per slice and the routed policy's honest value.
    pub fn search(
        &self,
        units: &[Unit],
        candidates: &[Candidate],
        objective: Objective,
        handoff_cost: f64,
        cuts: &[RouteCut],
    ) -> SearchEstimate {
        let empty = |problem: String| SearchEstimate {
            candidates: Vec::new(),
            distinct: 0,
            recommended: None,
            honest: None,
            recommended_net_per_100: Estimate::NULL,
            recommended_evaluation: None,
            historical_net_per_100: 0.0,
            routed: Vec::new(),
            problem: Some(problem),
        };
        if self.config.estimator != EstimatorKind::Dr {
            return empty(format!(
                "searches use the dr estimator (this run uses {}): run with --estimator dr",
                self.config.estimator.name()
            ));
        }
        if self.window.is_empty() {
            return empty("no conversations in the window".into());
        }
        let Some(tables) = self.search_tables(units, objective, cuts) else {
            return empty("the outcome models could not be fitted".into());
        };
        let n = self.window.len();
        let historical_net = (0..n)
            .map(|w| {
                f64::from(tables.observed[w])
                    - handoff_cost * f64::from(u8::from(tables.history[w] > 0))
            })
            .sum::<f64>()
            / n as f64;
        let mut sums: Vec<Sums> = Vec::with_capacity(candidates.len());
        for batch in candidates.chunks(BATCH) {
            let policies: Vec<&Policy> = batch.iter().map(|c| &c.policy).collect();
            let points = self.candidate_points(units, &policies, &tables.order);
            let batch_sums: Vec<Sums> =
                points.par_iter().map(|p| tables.sums(p, handoff_cost)).collect();
            sums.extend(batch_sums);
        }
        let support = self.history_support();
        let folds = tables.models;
        let all: Vec<usize> = (0..folds).collect();
        let full: Vec<Figures> =
            sums.iter().map(|s| s.whole.figures(&all, None, support)).collect();

        // Identical decisions: the first in order stands for the others.
        let mut first_of: std::collections::HashMap<u128, usize> = Default::default();
        let mut duplicate_of = vec![None; sums.len()];
        let mut duplicates = vec![0usize; sums.len()];
        for (c, s) in sums.iter().enumerate() {
            match first_of.get(&s.digest) {
                Some(&first) => {
                    duplicate_of[c] = Some(first);
                    duplicates[first] += 1;
                }
                None => {
                    first_of.insert(s.digest, c);
                }
            }
        }
        let distinct: Vec<usize> = (0..sums.len()).filter(|&c| duplicate_of[c].is_none()).collect();
        let changed: Vec<usize> = candidates.iter().map(|c| c.changed_keys).collect();
        let recommended = choose(&distinct, &full, &changed);

        let estimates: Vec<CandidateEstimate> = full
            .iter()
            .enumerate()
            .map(|(c, f)| CandidateEstimate {
                net_per_100: interval(f.mean, f.se),
                handoff_rate: f.handoff_rate,
                matched_share: f.matched_share,
                effective_sample_size: f.effective_sample_size,
                eligible: f.eligible,
                duplicate_of: duplicate_of[c],
                duplicates: duplicates[c],
            })
            .collect();

        // Cross-fitting: per fold, choose on the other folds with that fold's model.
        let choices: Vec<Option<usize>> = (0..folds)
            .map(|k| {
                let train: Vec<usize> = (0..folds).filter(|&f| f != k).collect();
                let figures: Vec<Figures> =
                    sums.iter().map(|s| s.whole.figures(&train, Some(k), support)).collect();
                choose(&distinct, &figures, &changed)
            })
            .collect();
        // Per routing cut and slice: its own winner and per-fold choices, by the same rule
        // on the slice's sums.
        let route_choices: Vec<RouteChoices> = cuts
            .iter()
            .enumerate()
            .map(|(ci, cut)| {
                let per_slice = |s: usize, folds: &[usize], model: Option<usize>| {
                    let block = tables.slice_base[ci] + s;
                    let figures: Vec<Figures> = sums
                        .iter()
                        .map(|x| x.slices[block].figures(folds, model, support))
                        .collect();
                    choose(&distinct, &figures, &changed)
                };
                let routable = |s: usize| cut.routable.get(s).copied().unwrap_or(false);
                let winners = (0..cut.names.len())
                    .map(|s| if routable(s) { per_slice(s, &all, None) } else { None })
                    .collect();
                let fold_choices = (0..cut.names.len())
                    .map(|s| {
                        (0..folds)
                            .map(|k| {
                                let train: Vec<usize> = (0..folds).filter(|&f| f != k).collect();
                                if routable(s) {
                                    per_slice(s, &train, Some(k))
                                } else {
                                    None
                                }
                            })
                            .collect()
                    })
                    .collect();
                RouteChoices { winners, fold_choices }
            })
            .collect();
        let (honest, recommended_evaluation, routed_values) = match recommended {
            Some(rec) => {
                let (value, evaluation, routed) = self.honest_value(
                    units,
                    &tables,
                    candidates,
                    &choices,
                    &route_choices,
                    rec,
                    objective,
                    handoff_cost,
                );
                (Some(value), evaluation, routed)
            }
            None => (None, None, Vec::new()),
        };
        let routed = cuts
            .iter()
            .enumerate()
            .zip(route_choices)
            .zip(routed_values)
            .map(|(((ci, cut), choice), value)| {
                let slices = (0..cut.names.len())
                    .map(|s| {
                        let block = tables.slice_base[ci] + s;
                        let in_slice =
                            |c: usize| sums[c].slices[block].figures(&all, None, support);
                        let routed_to = choice.winners[s].or(recommended).unwrap_or(0);
                        let (f, b) = (in_slice(routed_to), in_slice(0));
                        SliceRoute {
                            name: cut.names[s].clone(),
                            conversations: sums
                                .first()
                                .map_or(0, |x| x.slices[block].count.iter().sum::<f64>() as u64),
                            winner: choice.winners[s],
                            net_per_100: interval(f.mean, f.se),
                            base_net_per_100: interval(b.mean, b.se),
                            fold_choices: choice.fold_choices[s].clone(),
                            stable_folds: value.stable_folds.get(s).copied().unwrap_or(0),
                        }
                    })
                    .collect();
                let beyond_noise = value.versus_single.low.is_some_and(|low| low > 0.0);
                let higher = match (
                    value.net_per_100.estimate,
                    honest.as_ref().and_then(|h| h.net_per_100.estimate),
                ) {
                    (Some(r), Some(single)) => r > single,
                    _ => false,
                };
                RoutedEstimate {
                    by: cut.by.to_string(),
                    slices,
                    net_per_100: value.net_per_100,
                    versus_historical: value.versus_historical,
                    versus_base: value.versus_base,
                    versus_single: value.versus_single,
                    in_sample: value.in_sample,
                    recommended: higher && beyond_noise,
                    evaluation: value.evaluation,
                }
            })
            .collect();
        let recommended_net_per_100 = honest.as_ref().map_or(Estimate::NULL, |h| h.in_sample);
        SearchEstimate {
            candidates: estimates,
            distinct: distinct.len(),
            recommended,
            honest,
            recommended_net_per_100,
            recommended_evaluation,
            historical_net_per_100: 100.0 * historical_net,
            routed,
            problem: None,
        }
    }

    /// Every window conversation's tables for `objective` (`None` without cross-fitted
    /// outcome models).
    fn search_tables(
        &self,
        units: &[Unit],
        objective: Objective,
        cuts: &[RouteCut],
    ) -> Option<Tables> {
        let Some(Outcome::CrossFitted(cross)) = &self.outcomes else { return None };
        let models = cross.folds();
        if models.len() != FOLDS {
            return None;
        }
        let j = match objective {
            Objective::Meetings => 0,
            Objective::Opportunities => 1,
            Objective::Pipeline => 2,
        };
        let k = models.len();
        let mut order: Vec<usize> = (0..self.window.len()).collect();
        order.sort_by_key(|&w| cross.fold_of(self.window[w]));
        let mut fold_starts = vec![0usize; k + 1];
        for &w in &order {
            fold_starts[cross.fold_of(self.window[w]) + 1] += 1;
        }
        for f in 0..k {
            fold_starts[f + 1] += fold_starts[f];
        }
        // Each conversation's slice per routing cut, in table order.
        let slice_of: Vec<Vec<u32>> = cuts
            .iter()
            .map(|c| {
                let slice = |w: usize| c.slice_of.get(self.window[w]).copied().unwrap_or(0);
                order.iter().map(|&w| slice(w)).collect()
            })
            .collect();
        let per: Vec<ConversationRows> = order
            .par_iter()
            .map(|&w| {
                let i = self.window[w];
                let unit = &units[i];
                let n = unit.timeline.points.len() as u32;
                let mut m = Vec::with_capacity((n as usize + 1) * k);
                let mut design = Vec::new();
                for h in 0..=n {
                    let point = (h > 0).then_some(h);
                    for model in models {
                        let p =
                            model.predict_with_row(units, &self.prepared, i, point, &mut design);
                        m.push(p[j] as f32);
                    }
                }
                let h0 = history_point(unit).unwrap_or(0);
                let propensity =
                    self.propensities.as_ref().and_then(|p| p.get(i).copied()).unwrap_or(1.0);
                let input = UnitInput {
                    agree: true,
                    agree_within_tolerance: true,
                    propensity,
                    policy_hands_off: h0 > 0,
                    y: [0.0; 3],
                    m: [0.0; 3],
                };
                let w = weight(&input, self.config.clip);
                let o = unit.observed;
                let y = match j {
                    0 => f64::from(u8::from(o.meeting)),
                    1 => f64::from(u8::from(o.opportunity)),
                    _ => super::finite(o.amount),
                };
                let row = h0 as usize * k;
                let residual: Vec<f32> =
                    (0..k).map(|f| (w * (y - f64::from(m[row + f]))) as f32).collect();
                let fold = cross.fold_of(i) as u8;
                (m, residual, h0, w as f32, fold, y as f32, n)
            })
            .collect();
        let mut t = Tables {
            offsets: Vec::with_capacity(per.len()),
            points: Vec::with_capacity(per.len()),
            m: Vec::new(),
            residual: Vec::with_capacity(per.len() * k),
            history: Vec::with_capacity(per.len()),
            weight: Vec::with_capacity(per.len()),
            fold: Vec::with_capacity(per.len()),
            observed: Vec::with_capacity(per.len()),
            models: k,
            slice_of,
            slice_base: cuts
                .iter()
                .scan(0, |next, c| {
                    let base = *next;
                    *next += c.names.len();
                    Some(base)
                })
                .collect(),
            slice_blocks: cuts.iter().map(|c| c.names.len()).sum(),
            order,
            fold_starts,
        };
        for (m, residual, h0, w, fold, y, n) in per {
            t.offsets.push(t.m.len());
            t.m.extend(m);
            t.residual.extend(residual);
            t.history.push(h0);
            t.weight.push(w);
            t.fold.push(fold);
            t.observed.push(y);
            t.points.push(n);
        }
        Some(t)
    }

    /// Each policy's handoff point (0: never) in every window conversation, in `order` (window
    /// positions).
    fn candidate_points(
        &self,
        units: &[Unit],
        policies: &[&Policy],
        order: &[usize],
    ) -> Vec<Vec<u32>> {
        let replayer = Replayer::new(policies);
        let chunk = 1024;
        let parts: Vec<Vec<Vec<u32>>> = order
            .par_chunks(chunk)
            .map(|ws| {
                let mut facts = Facts::default();
                let mut ready = Vec::new();
                let mut out: Vec<Vec<u32>> = vec![Vec::with_capacity(ws.len()); policies.len()];
                for &w in ws {
                    let tl = units[self.window[w]].timeline;
                    let n = tl.points.len() as u32;
                    replayer.decide_into(tl, &mut facts, &mut ready, |p, d| {
                        let point = d.point.filter(|_| n > 0).map_or(0, |p| p.clamp(1, n));
                        out[p].push(point);
                    });
                }
                out
            })
            .collect();
        (0..policies.len())
            .map(|p| parts.iter().flat_map(|part| part[p].iter().copied()).collect())
            .collect()
    }

    /// The cross-fitted value of the fold choices, and the paired differences; and the same
    /// for each routing cut's routed policy.
    ///
    /// "Deploy what each fold chose" is itself a policy: in a conversation of fold `k`, the
    /// decisions of fold `k`'s choice. Its `dr` estimate scores each conversation with the
    /// fold model that never saw it, which is exactly the held-out scoring, so it is evaluated
    /// like any named policy: its interval and the paired differences against `historical`
    /// and the base carry the models' own uncertainty and share the run's resamples. A routed
    /// search is the same with fold `k`'s choice for the conversation's slice.
    #[allow(clippy::too_many_arguments)]
    fn honest_value(
        &self,
        units: &[Unit],
        tables: &Tables,
        candidates: &[Candidate],
        choices: &[Option<usize>],
        routes: &[RouteChoices],
        recommended: usize,
        objective: Objective,
        handoff_cost: f64,
    ) -> (HonestValue, Option<PolicyEvaluation>, Vec<RoutedValue>) {
        let n = tables.history.len();
        let mut wanted: Vec<usize> = vec![recommended, 0];
        wanted.extend(choices.iter().flatten().copied());
        for r in routes {
            wanted.extend(r.winners.iter().flatten().copied());
            wanted.extend(r.fold_choices.iter().flatten().flatten().copied());
        }
        wanted.sort_unstable();
        wanted.dedup();
        let policies: Vec<&Policy> = wanted.iter().map(|&c| &candidates[c].policy).collect();
        let points = self.candidate_points(units, &policies, &tables.order);
        let of = |c: usize| &points[wanted.iter().position(|&x| x == c).unwrap_or(0)];
        let rec_points = of(recommended);
        let stable_folds = choices
            .iter()
            .flatten()
            .filter(|&&c| {
                let same = of(c).iter().zip(rec_points).filter(|(a, b)| a == b).count();
                same as f64 >= 0.95 * n as f64
            })
            .count();
        // Decisions aligned with `units` (only the window's are read).
        let decisions = |point_of: &dyn Fn(usize) -> u32| -> Vec<Decision> {
            let mut out = vec![Decision::NEVER; units.len()];
            for (t, &w) in tables.order.iter().enumerate() {
                let p = point_of(t);
                out[self.window[w]] = Decision { point: (p > 0).then_some(p), situation: None };
            }
            out
        };
        // A fold without a choice deploys the recommendation there, as deploying would.
        let single_choice = |t: usize| choices.get(usize::from(tables.fold[t])).copied().flatten();
        let chosen = |t: usize| of(single_choice(t).unwrap_or(recommended))[t];
        let composite = decisions(&chosen);
        let base = decisions(&|t| of(0)[t]);
        let rec = decisions(&|t| rec_points[t]);
        // Per cut: the routed composite (fold `k`'s choice for the slice, else fold `k`'s
        // single choice) and the routed policy on all the data.
        let routed_decisions: Vec<(Vec<Decision>, Vec<Decision>)> = routes
            .iter()
            .zip(&tables.slice_of)
            .map(|(r, slice_of)| {
                let slice = |t: usize| slice_of[t] as usize;
                let fold_pick = |t: usize| {
                    let f = usize::from(tables.fold[t]);
                    r.fold_choices[slice(t)].get(f).copied().flatten()
                };
                let composite =
                    decisions(&|t| of(fold_pick(t).or(single_choice(t)).unwrap_or(recommended))[t]);
                let in_sample = decisions(&|t| of(r.winners[slice(t)].unwrap_or(recommended))[t]);
                (composite, in_sample)
            })
            .collect();
        let names: Vec<String> = (0..routes.len())
            .flat_map(|c| [format!("routed search {c}"), format!("routed {c}")])
            .collect();
        let mut list: Vec<(&str, &[Decision])> =
            vec![("search and deploy", &composite), ("base", &base), ("recommended", &rec)];
        for (c, (composite, in_sample)) in routed_decisions.iter().enumerate() {
            list.push((&names[2 * c], composite));
            list.push((&names[2 * c + 1], in_sample));
        }
        let evaluations = self.evaluate_policies(units, &list);
        let history = super::historical_evaluation(units);
        let net = |e: &PolicyEvaluation| net_objective(e, objective, handoff_cost);
        let estimate = |s: &Option<Statistic>| match s {
            Some(s) => intervals(&[s], &self.resampler)[0],
            None => Estimate::NULL,
        };
        let versus = |a: &Option<Statistic>, b: &Option<Statistic>| match (a, b) {
            (Some(a), Some(b)) => paired_difference_at(a, b, &self.resampler, 0.95),
            _ => Estimate::NULL,
        };
        let nets: Vec<Option<Statistic>> = evaluations.iter().map(net).collect();
        let stat = |k: usize| nets.get(k).cloned().flatten();
        let (honest, base, rec) = (stat(0), stat(1), stat(2));
        let history = net(&history);
        let value = HonestValue {
            net_per_100: estimate(&honest),
            versus_historical: versus(&honest, &history),
            versus_base: versus(&honest, &base),
            folds: tables.models,
            stable_folds,
            choices: choices.to_vec(),
            in_sample: estimate(&rec),
        };
        let routed = routes
            .iter()
            .zip(&tables.slice_of)
            .enumerate()
            .map(|(c, (r, slice_of))| {
                let (composite, in_sample) = (stat(3 + 2 * c), stat(4 + 2 * c));
                // Per slice: folds whose choice agrees with the slice's winner in 95% of
                // the slice's conversations.
                let stable_folds = r
                    .winners
                    .iter()
                    .enumerate()
                    .map(|(s, winner)| {
                        let Some(w) = winner else { return 0 };
                        let rows: Vec<usize> =
                            (0..n).filter(|&t| slice_of[t] as usize == s).collect();
                        r.fold_choices[s]
                            .iter()
                            .flatten()
                            .filter(|&&c| {
                                let (a, b) = (of(c), of(*w));
                                let same = rows.iter().filter(|&&t| a[t] == b[t]).count();
                                same as f64 >= 0.95 * rows.len() as f64
                            })
                            .count()
                    })
                    .collect();
                RoutedValue {
                    net_per_100: estimate(&composite),
                    versus_historical: versus(&composite, &history),
                    versus_base: versus(&composite, &base),
                    versus_single: versus(&composite, &honest),
                    in_sample: estimate(&in_sample),
                    stable_folds,
                    evaluation: evaluations.get(4 + 2 * c).cloned(),
                }
            })
            .collect();
        (value, evaluations.into_iter().nth(2), routed)
    }
}

/// A routed policy's honest value and comparisons (`honest_value`).
struct RoutedValue {
    net_per_100: Estimate,
    versus_historical: Estimate,
    versus_base: Estimate,
    versus_single: Estimate,
    in_sample: Estimate,
    /// Per slice.
    stable_folds: Vec<usize>,
    evaluation: Option<PolicyEvaluation>,
}

impl Tables {
    /// A candidate's sums from its handoff points (in table order).
    fn sums(&self, points: &[u32], handoff_cost: f64) -> Sums {
        const K: usize = FOLDS;
        let mut whole = Block::EMPTY;
        let mut slices = vec![Block::EMPTY; self.slice_blocks];
        let (mut a, mut b) = (0xcbf2_9ce4_8422_2325u64, 0x8422_2325_cbf2_9ce4u64);
        for f in 0..K {
            let (mut net, mut squares) = ([0.0f64; K], [0.0f64; K]);
            let (mut handoffs, mut matched, mut sw, mut sw2) = (0.0, 0.0, 0.0, 0.0);
            for (w, &point) in
                points.iter().enumerate().take(self.fold_starts[f + 1]).skip(self.fold_starts[f])
            {
                a = (a ^ u64::from(point)).wrapping_mul(0x0000_0100_0000_01b3);
                b = (b.rotate_left(5) ^ u64::from(point)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let row = self.offsets[w] + point.min(self.points[w]) as usize * K;
                let m: &[f32; K] = self.m[row..row + K].try_into().unwrap_or(&[0.0; K]);
                let r: &[f32; K] =
                    self.residual[w * K..(w + 1) * K].try_into().unwrap_or(&[0.0; K]);
                let agree = point == self.history[w];
                let mask = if agree { 1.0 } else { 0.0 };
                let cost = if point > 0 { handoff_cost } else { 0.0 };
                let mut v = [0.0f64; K];
                for j in 0..K {
                    v[j] = f64::from(m[j]) - cost + mask * f64::from(r[j]);
                    net[j] += v[j];
                    squares[j] += v[j] * v[j];
                }
                let wt = f64::from(self.weight[w]);
                if point > 0 {
                    handoffs += 1.0;
                }
                if agree {
                    matched += 1.0;
                    sw += wt;
                    sw2 += wt * wt;
                }
                // The routing cuts' slices (none without `--by`).
                for (cut, base) in self.slice_of.iter().zip(&self.slice_base) {
                    let Some(block) = cut.get(w).and_then(|&s| slices.get_mut(base + s as usize))
                    else {
                        continue;
                    };
                    for (j, &x) in v.iter().enumerate() {
                        block.net[j * K + f] += x;
                        block.squares[j * K + f] += x * x;
                    }
                    block.count[f] += 1.0;
                    if point > 0 {
                        block.handoffs[f] += 1.0;
                    }
                    if agree {
                        block.matched[f] += 1.0;
                        block.weights[f] += wt;
                        block.weights_squared[f] += wt * wt;
                    }
                }
            }
            for j in 0..K {
                whole.net[j * K + f] = net[j];
                whole.squares[j * K + f] = squares[j];
            }
            whole.count[f] = (self.fold_starts[f + 1] - self.fold_starts[f]) as f64;
            whole.handoffs[f] = handoffs;
            whole.matched[f] = matched;
            whole.weights[f] = sw;
            whole.weights_squared[f] = sw2;
        }
        Sums { whole, slices, digest: (u128::from(a) << 64) | u128::from(b) }
    }
}

impl Block {
    /// The figures over `folds` (every fold's own model when `model` is `None`, else model
    /// `model` throughout).
    fn figures(
        &self,
        folds: &[usize],
        model: Option<usize>,
        support: super::HistorySupport,
    ) -> Figures {
        let k = FOLDS;
        let (mut total, mut squares, mut n, mut handoffs, mut matched, mut sw, mut sw2) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for &f in folds {
            let m = model.unwrap_or(f);
            total += self.net[m * k + f];
            squares += self.squares[m * k + f];
            n += self.count[f];
            handoffs += self.handoffs[f];
            matched += self.matched[f];
            sw += self.weights[f];
            sw2 += self.weights_squared[f];
        }
        if n == 0.0 {
            return Figures {
                mean: 0.0,
                se: 0.0,
                handoff_rate: 0.0,
                matched_share: 0.0,
                effective_sample_size: None,
                eligible: false,
            };
        }
        let mean = total / n;
        let variance = (squares / n - mean * mean).max(0.0);
        let se = (variance / n).sqrt();
        let matched_share = matched / n;
        let ess = (sw2 > 0.0).then(|| sw * sw / sw2);
        let unsupported =
            (!support.hands_off && handoffs > 0.0) || (!support.keeps_some && handoffs < n);
        let weak =
            matched_share < MIN_MATCHED_SHARE || ess.is_none_or(|e| e < MIN_EFFECTIVE_SAMPLE);
        Figures {
            mean,
            se,
            handoff_rate: handoffs / n,
            matched_share,
            effective_sample_size: ess,
            eligible: !unsupported && !weak,
        }
    }
}

/// The one-standard-error rule over the `distinct` candidates: among the eligible ones whose
/// mean is at least the best one's minus its standard error, the fewest changed keys, then
/// the higher mean, then the earlier candidate.
fn choose(distinct: &[usize], figures: &[Figures], changed: &[usize]) -> Option<usize> {
    let eligible: Vec<usize> = distinct.iter().copied().filter(|&c| figures[c].eligible).collect();
    let best = eligible.iter().copied().fold(None, |best: Option<usize>, c| match best {
        Some(b) if figures[b].mean >= figures[c].mean => Some(b),
        _ => Some(c),
    })?;
    let floor = figures[best].mean - figures[best].se;
    eligible.into_iter().filter(|&c| figures[c].mean >= floor).fold(None, |pick, c| match pick {
        None => Some(c),
        Some(p) => {
            let higher = figures[c].mean.total_cmp(&figures[p].mean).is_gt();
            let better = changed[c] < changed[p] || (changed[c] == changed[p] && higher);
            Some(if better { c } else { p })
        }
    })
}

/// A per-conversation mean per 100 conversations, with its normal 95% interval.
fn interval(mean: f64, se: f64) -> Estimate {
    Estimate::new(100.0 * mean, 100.0 * (mean - Z95 * se), 100.0 * (mean + Z95 * se))
}

const _: () = assert!(FOLDS <= u8::MAX as usize);

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(mean: f64, se: f64, eligible: bool) -> Figures {
        Figures {
            mean,
            se,
            handoff_rate: 0.5,
            matched_share: 0.5,
            effective_sample_size: Some(100.0),
            eligible,
        }
    }

    #[test]
    fn the_one_standard_error_rule_prefers_fewer_changed_keys() {
        // Best is #2 (0.30 +- 0.05); #1 (0.26) is within one SE and changes one key.
        let figures = [fig(0.20, 0.05, true), fig(0.26, 0.05, true), fig(0.30, 0.05, true)];
        assert_eq!(choose(&[0, 1, 2], &figures, &[0, 1, 2]), Some(1));
        // The base itself is within one SE: it wins with no key changed.
        let figures = [fig(0.27, 0.05, true), fig(0.26, 0.05, true), fig(0.30, 0.05, true)];
        assert_eq!(choose(&[0, 1, 2], &figures, &[0, 1, 2]), Some(0));
        // Equal changed keys: the higher mean; an ineligible best is never chosen.
        let figures = [fig(0.1, 0.01, true), fig(0.26, 0.05, true), fig(0.9, 0.05, false)];
        assert_eq!(choose(&[0, 1, 2], &figures, &[1, 1, 0]), Some(1));
        assert_eq!(choose(&[0, 1], &[fig(0.1, 0.0, false), fig(0.2, 0.0, false)], &[0, 0]), None);
    }

    #[test]
    fn a_table_lookup_adds_the_residual_only_where_history_agrees() {
        // One conversation (fold 1), two points, five models; history hands off at point 1.
        let k = FOLDS;
        let m: Vec<f32> = (0..3 * k).map(|x| x as f32 / 100.0).collect();
        let residual: Vec<f32> = (0..k).map(|j| 0.01 * (j as f32 + 1.0)).collect();
        let mut fold_starts = vec![0, 0];
        fold_starts.extend(std::iter::repeat_n(1, k - 1));
        let t = Tables {
            offsets: vec![0],
            points: vec![2],
            m,
            residual,
            history: vec![1],
            weight: vec![2.0],
            fold: vec![1],
            observed: vec![1.0],
            models: k,
            order: vec![0],
            fold_starts,
            slice_of: Vec::new(),
            slice_base: Vec::new(),
            slice_blocks: 0,
        };
        // `net[model * K + fold]`; the conversation is in fold 1.
        let net = |point: u32, model: usize| t.sums(&[point], 0.1).whole.net[model * k + 1];
        // Never: row 0, no cost; at point 1 (history's): row 1, its residual and the cost; at
        // point 2: row 2 and the cost, no residual.
        assert!((net(0, 0) - 0.0).abs() < 1e-6);
        assert!((net(1, 0) - (0.05 + 0.01 - 0.1)).abs() < 1e-6);
        assert!((net(1, 1) - (0.06 + 0.02 - 0.1)).abs() < 1e-6);
        assert!((net(2, 1) - (0.11 - 0.1)).abs() < 1e-6);
        let s = t.sums(&[1], 0.1).whole;
        assert_eq!((s.count[1], s.handoffs[1], s.matched[1]), (1.0, 1.0, 1.0));
        assert_eq!(s.count[0], 0.0);
        assert_eq!(t.sums(&[2], 0.1).whole.matched[1], 0.0);
    }

    #[test]
    fn the_slices_sums_add_up_to_the_window_sums() {
        // Three conversations in folds 0, 0 and 2; slices 1, 0, 1 of one routing cut.
        let k = FOLDS;
        let rows = |base: f32| -> Vec<f32> { (0..2 * k).map(|x| base + x as f32 / 50.0).collect() };
        let mut m = rows(0.1);
        m.extend(rows(0.2));
        m.extend(rows(0.3));
        let residual: Vec<f32> = (0..3 * k).map(|x| 0.01 * x as f32).collect();
        let t = Tables {
            offsets: vec![0, 2 * k, 4 * k],
            points: vec![1, 1, 1],
            m,
            residual,
            history: vec![1, 0, 1],
            weight: vec![2.0, 1.5, 3.0],
            fold: vec![0, 0, 2],
            observed: vec![1.0, 0.0, 1.0],
            models: k,
            order: vec![0, 1, 2],
            fold_starts: vec![0, 2, 2, 3, 3, 3],
            slice_of: vec![vec![1, 0, 1]],
            slice_base: vec![0],
            slice_blocks: 2,
        };
        let s = t.sums(&[1, 1, 0], 0.05);
        let (a, b) = (&s.slices[0], &s.slices[1]);
        for x in 0..k * k {
            assert!((a.net[x] + b.net[x] - s.whole.net[x]).abs() < 1e-12);
            assert!((a.squares[x] + b.squares[x] - s.whole.squares[x]).abs() < 1e-12);
        }
        assert_eq!((a.count[0], b.count[0], b.count[2]), (1.0, 1.0, 1.0));
        // Slice 1 holds conversations 0 (handed off, agrees: weight 2) and 2 (never, disagrees).
        assert_eq!((b.handoffs[0], b.matched[0], b.weights[0]), (1.0, 1.0, 2.0));
        assert_eq!((b.handoffs[2], b.matched[2]), (0.0, 0.0));
        // Conversation 1: point 1 disagrees with history's "never".
        assert_eq!((a.handoffs[0], a.matched[0]), (1.0, 0.0));
    }
}
