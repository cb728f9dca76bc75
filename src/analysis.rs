//! The analysis behind `handoff report`: from inputs timelines to the `Summary` and the
//! decision table. Replays every policy and sweep variant, fits the estimation models once,
//! estimates each policy, computes the exact timing metrics, finds each sweep's optimum and
//! writes the findings and warnings in plain sentences. No I/O: the command writes the result.

mod sensitivity;

use std::borrow::Cow;
use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::decisions::DecisionTable;
use crate::estimate::intervals::paired_difference_at;
use crate::estimate::search::RouteCut;
use crate::estimate::slices::{historical_slice, Cut, Scopes};
use crate::estimate::sweep::{evaluate_sweep_at, objective_rate, SweepCandidate};
use crate::estimate::{
    historical_evaluation, paired_difference, Estimation, EstimationConfig, Observed,
    PolicyEvaluation, Rate, Statistic, Unit,
};
use crate::metrics::{
    historical_extras, policies_metrics_grouped, MetricConversation, PolicyMetrics,
};
use crate::model::{Conversation, Dataset, Micros};
use crate::policy::{all_policies, PoliciesFile, Variant};
use crate::replay::{Decision, Replayed, Timeline};
use crate::searching::{run_searches, SearchSummary};
use crate::signals::detect::DatasetSignals;
use crate::signals::SignalSource;
use crate::slicing::{self, CutPlan, SliceSettings};
use crate::summary::{Comparison, Slice, SliceCut};
use crate::summary::{
    DataCounts, DataQualitySummary, Estimate, Optimal, PolicyKind, PolicySummary, Settings,
    Summary, SweepPoint, SweepSummary,
};
use crate::time::{date_or_rfc3339_seconds, MICROS_PER_DAY};
use crate::window::Window;
use sensitivity::{Scope, State};

/// The settings of one analysis run.
#[derive(Clone, Debug)]
pub struct AnalysisSettings {
    pub estimation: EstimationConfig,
    pub outcome_days: u32,
    pub as_of: Micros,
    /// `--by` and its limits; the columns must have passed `slicing::check_columns`.
    pub slices: SliceSettings,
    /// `--gammas` (sensitivity.md), ascending; empty: no sensitivity analysis.
    pub gammas: Vec<f64>,
}

/// What the analysis reads: the policies, the validated data, its signals and one timeline
/// per conversation (aligned with `dataset.conversations`).
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub policies: &'a PoliciesFile,
    pub dataset: &'a Dataset,
    pub signals: &'a DatasetSignals,
    pub timelines: &'a [Timeline],
    /// The signal source the run used.
    pub source: SignalSource,
}

/// What the report is made of.
pub struct Analysis {
    pub summary: Summary,
    pub decisions: DecisionTable,
}

/// Runs the whole analysis of `window` (conversations that started in it; models fitted on
/// every accepted conversation that started before the window ends).
pub fn analyse(
    inputs: &Inputs,
    window: &Window,
    members: &[usize],
    settings: &AnalysisSettings,
) -> Analysis {
    let dataset = &inputs.dataset;
    let single_currency = dataset.quality.currencies.len() <= 1;
    let (fit_indices, units) = fit_units(inputs, window, settings.outcome_days);

    let (policies, variants) = all_policies(inputs.policies);
    let reference = &inputs.policies.quality.policy;
    let late_after = inputs.policies.quality.late_after;
    // The quality reference is replayed in the same pass as the policies.
    let (replayed, mut extra) =
        Replayed::run_with(&policies, &variants, &[reference], inputs.timelines);
    let routed = &inputs.policies.routed;
    let replayed = replayed.with_routed(policies.len(), routed, dataset);
    // Plain and routed policies, in the file's order; the sweep variants follow.
    let named_count = policies.len() + routed.len();
    let reference_decisions: Vec<Decision> = extra.pop().unwrap_or_default();
    let historical = replayed.historical();
    // Named policies (plain and routed, in file order), then sweep variants.
    let replayed_policies = &replayed.decisions[1..];
    crate::stage!("stage: replayed", policies = replayed_policies.len());

    let estimation = Estimation::fit_with_reference(&units, &settings.estimation, reference);
    crate::stage!("stage: models fitted", units = units.len());
    let pick = |per_conv: &[Decision]| -> Vec<Decision> {
        fit_indices.iter().map(|&i| per_conv[i]).collect()
    };
    let (plans, unit_slices) = cut_plans(dataset, members, &fit_indices, &settings.slices);
    let cuts: Vec<Cut> = plans
        .iter()
        .zip(&unit_slices)
        .map(|(p, s)| Cut { slice_of: s, slices: p.names.len() })
        .collect();
    let routable = routable_slices(&plans, settings.slices.min_slice);
    let route_cuts = route_cuts(&plans, &unit_slices, &routable);
    let mut searches = run_searches(&estimation, &units, inputs.policies, None, &route_cuts);
    // Metrics of the whole window (group 0) and of every slice (group 1 + its flat index),
    // in one pass per policy.
    let per_member = 1 + plans.len();
    let mut metric_targets: Vec<usize> = Vec::with_capacity(members.len() * per_member);
    for &i in members {
        metric_targets.push(0);
        let mut first = 1;
        for p in &plans {
            metric_targets.push(first + p.slice_of[i] as usize);
            first += p.names.len();
        }
    }
    let metric_groups = 1 + plans.iter().map(|p| p.names.len()).sum::<usize>();
    // Every policy's metrics (history's first) in passes over the conversations that read
    // each timeline once for several policies.
    let metric_conversations: Vec<MetricConversation> = members
        .iter()
        .zip(metric_targets.chunks_exact(per_member))
        .map(|(&i, groups)| MetricConversation {
            timeline: &inputs.timelines[i],
            reference: reference_decisions.get(i).copied().unwrap_or(Decision::NEVER),
            index: i,
            groups,
        })
        .collect();
    let measured: Vec<&[Decision]> =
        std::iter::once(historical).chain(replayed_policies.iter().map(|d| &d[..])).collect();
    let mut all_metrics =
        policies_metrics_grouped(&metric_conversations, &measured, metric_groups, late_after)
            .into_iter()
            .map(|mut grouped| {
                let slices = grouped.split_off(1);
                (grouped.pop().unwrap_or_default(), slices)
            });
    drop(metric_conversations);
    drop(measured);
    // Historical baseline from observed outcomes.
    let hist_eval = historical_evaluation(&units);
    let (hist_metrics, hist_slice_metrics) = all_metrics.next().unwrap_or_default();
    let mut hist_summary =
        policy_summary("historical", PolicyKind::Historical, &hist_eval, &hist_metrics);
    let extras = historical_extras(members.iter().map(|&i| &dataset.conversations[i]));
    hist_summary.context_transferred = extras.context_transferred;
    hist_summary.mean_rep_rating = extras.mean_rep_rating;

    // Named policies and sweep variants, in parallel (each evaluation is independent).
    // The fitted units are every conversation unless the window ends before the data does:
    // then each policy's decisions are narrowed to them, else borrowed as they are.
    let narrowed: Vec<Cow<[Decision]>> = replayed_policies
        .par_iter()
        .map(|per_conv| {
            if fit_indices.len() == per_conv.len() {
                Cow::Borrowed(&per_conv[..])
            } else {
                Cow::Owned(pick(per_conv))
            }
        })
        .collect();
    let named: Vec<(&str, &[Decision])> =
        replayed.names[1..].iter().zip(&narrowed).map(|(name, d)| (*name, &d[..])).collect();
    let (sliced, scopes) = estimation.evaluate_policies_sliced(&units, &named, &cuts);
    let estimated = sliced.overall;
    drop(named);
    drop(narrowed);
    let (metrics, slice_metrics): (Vec<PolicyMetrics>, Vec<Vec<PolicyMetrics>>) =
        all_metrics.unzip();
    let evaluations: Vec<(PolicyEvaluation, PolicyMetrics)> =
        estimated.into_iter().zip(metrics).collect();
    crate::stage!("stage: policies estimated");
    // Each search's recommendation, evaluated as a named policy, for its robustness against
    // history (sensitivity.md's comparisons); after every other policy in the bounds' order.
    // Each search's recommendation, already evaluated by the search, for its robustness
    // against history (sensitivity.md's comparisons); after every other policy in the bounds'
    // order. Taken out of the summaries either way: the report does not keep it.
    let recommended: Vec<(usize, PolicyEvaluation)> = searches
        .iter_mut()
        .enumerate()
        .filter_map(|(j, s)| s.evaluation.take().map(|e| (j, e)))
        .filter(|_| !settings.gammas.is_empty())
        .collect();
    let mut evaluated: Vec<&PolicyEvaluation> = evaluations.iter().map(|(e, _)| e).collect();
    evaluated.extend(recommended.iter().map(|(_, e)| e));
    let bounds = State::new(&settings.gammas, &estimation, &units, &evaluated, &cuts);
    drop(evaluated);
    if !settings.gammas.is_empty() {
        crate::stage!("stage: sensitivity bounds");
    }
    hist_summary.sensitivity = bounds.historical();
    let mut summaries: Vec<PolicySummary> = Vec::with_capacity(evaluations.len());
    for (k, (eval, metrics)) in evaluations.iter().enumerate() {
        let kind = if k < named_count { PolicyKind::Policy } else { PolicyKind::Variant };
        let mut summary = policy_summary(replayed.names[k + 1], kind, eval, metrics);
        summary.sensitivity = bounds.policy(k, Scope::Whole, eval);
        summaries.push(summary);
    }
    let sweep_bounds = SweepBounds { state: &bounds, scope: Scope::Whole, scopes: &scopes };
    let sweeps = sweep_summaries(
        inputs,
        &variants,
        &evaluations[named_count..],
        named_count,
        &estimation,
        0.95,
        &sweep_bounds,
    );
    let comparisons = bounds.run().map_or_else(Vec::new, |run| {
        let named = &evaluations[..named_count];
        let mut out: Vec<Comparison> =
            best_versus_history(run, named, &hist_eval, &scopes, &estimation)
                .map(|(k, c)| Comparison { policy: replayed.names[k + 1].to_string(), ..c })
                .into_iter()
                .collect();
        // Each sweep optimum against its runner-up (figures from the sweep's summary).
        for sweep in &sweeps {
            let Some(optimal) = &sweep.optimal else { continue };
            let Some(runner) = optimal.runner_up else { continue };
            let versus = sweep.points.iter().find(|p| p.value == runner);
            out.push(Comparison {
                policy: optimal.variant.clone(),
                versus: versus.map_or_else(String::new, |p| p.variant.clone()),
                objective: format!("{} (net per 100)", sweep.objective),
                difference: optimal.difference,
                bounds: optimal.difference_bounds.clone(),
                robustness_gamma: optimal.robustness_gamma.flatten(),
            });
        }
        // Each search's recommendation against `historical` (search.md), on its objective.
        for (r, (j, eval)) in recommended.iter().enumerate() {
            let search = &searches[*j];
            let (k, rate) = match search.objective.as_str() {
                "meetings" => (0, Rate::Meeting),
                "pipeline" => (2, Rate::Pipeline),
                _ => (1, Rate::Opportunity),
            };
            let difference = if eval.supported && hist_eval.supported {
                paired_difference(
                    &eval.statistics.outcomes[k],
                    &hist_eval.statistics.outcomes[k],
                    estimation.resampler(),
                )
            } else {
                Estimate::NULL
            };
            let index = evaluations.len() + r;
            let (bounds, robustness_gamma) =
                run.difference(index, None, rate, Scope::Whole, &scopes, difference.estimate, 1.0);
            out.push(Comparison {
                // The routed policy when it is what the search recommends.
                policy: match search.recommended_routed() {
                    Some(routed) => format!("{}: a policy per {}", search.name, routed.by),
                    None => {
                        search.recommended.as_ref().map_or_else(String::new, |c| c.name.clone())
                    }
                },
                versus: "historical".to_string(),
                objective: search.objective.clone(),
                difference,
                bounds,
                robustness_gamma,
            });
        }
        out
    });

    let mut policy_rows = vec![hist_summary];
    policy_rows.extend(summaries.drain(..named_count));
    let mut variant_rows = summaries;
    if !single_currency {
        for p in policy_rows.iter_mut().chain(variant_rows.iter_mut()) {
            null_pipeline(p);
        }
    }

    crate::stage!("stage: sweeps estimated");
    let context = SliceContext {
        inputs,
        units: &units,
        members,
        settings,
        estimation: &estimation,
        scopes: &scopes,
        bounds: &bounds,
        historical: &hist_eval,
        named_policies: named_count,
        variants: &variants,
        names: &replayed.names,
        metrics: &slice_metrics,
        historical_metrics: &hist_slice_metrics,
        single_currency,
    };
    let mut first = 0;
    let mut slices: Vec<SliceCut> = Vec::with_capacity(plans.len());
    for (c, ((plan, cut), evaluations)) in plans.iter().zip(&cuts).zip(sliced.slices).enumerate() {
        slices.push(context.cut(c, first, plan, cut, evaluations));
        first += plan.names.len();
    }
    if !slices.is_empty() {
        crate::stage!("stage: slices summarised", cuts = slices.len());
    }
    let decisions = DecisionTable::build(
        &dataset.conversations,
        inputs.timelines,
        members,
        &replayed.names,
        &replayed.decisions,
    );
    crate::stage!("stage: decision table built", rows = decisions.len());

    let mut summary = Summary {
        window: window.info(),
        data: DataCounts {
            conversations: members.len() as u64,
            messages: members
                .iter()
                .map(|&i| dataset.conversations[i].message_count() as u64)
                .sum(),
            rejected_conversations: dataset.rejected_conversations,
            rejected_rows: dataset.rejected_rows,
        },
        estimator: settings.estimation.estimator.name().to_string(),
        policies: policy_rows,
        sweeps,
        warnings: Vec::new(),
        findings: Vec::new(),
        settings: Settings {
            estimator: settings.estimation.estimator.name().to_string(),
            clip: settings.estimation.clip,
            tolerance: settings.estimation.tolerance,
            bootstrap: settings.estimation.bootstrap,
            seed: settings.estimation.seed,
            outcome_days: settings.outcome_days,
            signal_source: inputs.source.name().to_string(),
            as_of: date_or_rfc3339_seconds(settings.as_of),
        },
        data_quality: data_quality(inputs),
        variants: variant_rows,
        slices,
        sensitivity: bounds.summary(comparisons),
        searches: Vec::new(),
    };
    summary.warnings = warnings(inputs, window, members, settings, &summary);
    summary.findings = crate::findings::findings(&summary);
    summary.searches = searches;
    Analysis { summary, decisions }
}

/// The conversations the models are fitted on (every accepted one that started before the
/// window ends: their indices in the data set) and their units.
fn fit_units<'a>(
    inputs: &Inputs<'a>,
    window: &Window,
    outcome_days: u32,
) -> (Vec<usize>, Vec<Unit<'a>>) {
    let dataset = inputs.dataset;
    let single_currency = dataset.quality.currencies.len() <= 1;
    let fit_indices: Vec<usize> = (0..dataset.conversations.len())
        .filter(|&i| window.until.is_none_or(|u| dataset.conversations[i].started_at < u))
        .collect();
    let units: Vec<Unit> = fit_indices
        .par_iter()
        .map(|&i| {
            let conversation = &dataset.conversations[i];
            Unit {
                conversation,
                timeline: &inputs.timelines[i],
                observed: observe(conversation, outcome_days, single_currency),
                in_window: window.contains(conversation.started_at),
            }
        })
        .collect();
    (fit_indices, units)
}

/// The searches alone (`handoff optimize`): the models fitted as `analyse` fits them, then
/// every search of the policies file (or the one named `only`).
pub fn analyse_searches(
    inputs: &Inputs,
    window: &Window,
    settings: &AnalysisSettings,
    only: Option<&str>,
) -> Vec<SearchSummary> {
    let (fit_indices, units) = fit_units(inputs, window, settings.outcome_days);
    let reference = &inputs.policies.quality.policy;
    let estimation = Estimation::fit_with_reference(&units, &settings.estimation, reference);
    crate::stage!("stage: models fitted", units = units.len());
    let members: Vec<usize> =
        fit_indices.iter().zip(&units).filter(|(_, u)| u.in_window).map(|(&i, _)| i).collect();
    let (plans, unit_slices) = cut_plans(inputs.dataset, &members, &fit_indices, &settings.slices);
    let routable = routable_slices(&plans, settings.slices.min_slice);
    let route_cuts = route_cuts(&plans, &unit_slices, &routable);
    run_searches(&estimation, &units, inputs.policies, only, &route_cuts)
}

/// Every `--by` cut of the window's `members`, and each fitted unit's slice in it.
fn cut_plans(
    dataset: &Dataset,
    members: &[usize],
    fit_indices: &[usize],
    slices: &slicing::SliceSettings,
) -> (Vec<CutPlan>, Vec<Vec<u32>>) {
    let plans: Vec<CutPlan> =
        slices.by.iter().map(|by| slicing::plan(dataset, members, by, slices.max_slices)).collect();
    let unit_slices =
        plans.iter().map(|p| fit_indices.iter().map(|&i| p.slice_of[i]).collect()).collect();
    (plans, unit_slices)
}

/// Per cut, which slices a routed search gives a winner of their own: a value (not `(none)`,
/// `(other)` or `*`, which take `"*"`) with at least `min_slice` window conversations.
fn routable_slices(plans: &[CutPlan], min_slice: u64) -> Vec<Vec<bool>> {
    plans
        .iter()
        .map(|p| {
            // The pooled `(other)` slice is the last one when values were pooled (a literal
            // value spelt `(other)` stays a value of its own, as in `slicing::plan`).
            let pooled = (!p.pooled.is_empty()).then(|| p.names.len() - 1);
            p.names
                .iter()
                .zip(&p.sizes)
                .enumerate()
                .map(|(k, (name, &size))| {
                    // `*` is the routed policy's fallback key: a value spelt so takes it.
                    size >= min_slice
                        && Some(k) != pooled
                        && name != slicing::NONE
                        && name != crate::policy::routed::FALLBACK
                })
                .collect()
        })
        .collect()
}

fn route_cuts<'a>(
    plans: &'a [CutPlan],
    unit_slices: &'a [Vec<u32>],
    routable: &'a [Vec<bool>],
) -> Vec<RouteCut<'a>> {
    plans
        .iter()
        .zip(unit_slices)
        .zip(routable)
        .map(|((p, slice_of), routable)| RouteCut {
            by: &p.by,
            slice_of,
            names: &p.names,
            routable,
        })
        .collect()
}

/// What history observed, with `--outcome-days` applied: a meeting or opportunity counts when
/// it came within that many days of the conversation's start.
pub fn observe(conv: &Conversation, outcome_days: u32, single_currency: bool) -> Observed {
    let Some(o) = &conv.outcome else {
        return Observed::default();
    };
    let horizon = conv.started_at.saturating_add(i64::from(outcome_days) * MICROS_PER_DAY);
    let within = |t: Option<Micros>| t.is_some_and(|t| t <= horizon);
    let meeting = within(o.meeting_at);
    let opportunity = within(o.opportunity_at);
    let amount = if opportunity && single_currency {
        o.opportunity_amount.filter(|a| a.is_finite()).unwrap_or(0.0)
    } else {
        0.0
    };
    Observed { meeting, opportunity, amount }
}

fn policy_summary(
    name: &str,
    kind: PolicyKind,
    eval: &PolicyEvaluation,
    metrics: &PolicyMetrics,
) -> PolicySummary {
    let e = &eval.estimate;
    PolicySummary {
        name: name.to_string(),
        kind,
        conversations: e.conversations,
        handoffs: e.handoffs,
        rates: e.rates,
        quality_score: metrics.quality_score,
        premature_handoffs: metrics.premature_handoffs,
        late_handoffs: metrics.late_handoffs,
        missed_human_requests: metrics.missed_human_requests,
        median_handoff_turn: metrics.median_handoff_turn,
        matched_share: e.matched_share,
        effective_sample_size: e.effective_sample_size,
        warnings: e.warnings.clone(),
        timing: metrics.timing.clone(),
        context_transferred: None,
        mean_rep_rating: None,
        sensitivity: None,
    }
}

/// Pipeline figures nulled (several currencies), with their bounds.
fn null_pipeline(p: &mut PolicySummary) {
    p.rates.pipeline_per_conversation = Estimate::NULL;
    if let Some(Some(bounds)) = &mut p.sensitivity {
        for b in bounds {
            b.pipeline_per_conversation = Default::default();
        }
    }
}

/// The headline comparison (findings.md): the named policy with the highest estimated
/// opportunity rate against `historical`, paired over the window's conversations; the index
/// of the policy among `named`, and the comparison without its policy's name.
fn best_versus_history(
    run: &sensitivity::Run,
    named: &[(PolicyEvaluation, PolicyMetrics)],
    historical: &PolicyEvaluation,
    scopes: &Scopes,
    estimation: &Estimation,
) -> Option<(usize, Comparison)> {
    let mut best: Option<(usize, f64)> = None;
    for (k, (eval, _)) in named.iter().enumerate() {
        let Some(v) = eval.estimate.rates.opportunity_rate.estimate else { continue };
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((k, v));
        }
    }
    let (k, _) = best?;
    let eval = &named[k].0;
    let difference = if eval.supported && historical.supported {
        paired_difference(
            &eval.statistics.outcomes[1],
            &historical.statistics.outcomes[1],
            estimation.resampler(),
        )
    } else {
        Estimate::NULL
    };
    let (bounds, robustness_gamma) =
        run.difference(k, None, Rate::Opportunity, Scope::Whole, scopes, difference.estimate, 1.0);
    Some((
        k,
        Comparison {
            policy: String::new(),
            versus: "historical".to_string(),
            objective: "opportunities".to_string(),
            difference,
            bounds,
            robustness_gamma,
        },
    ))
}

/// What a sweep's bounds read: the run's state and the sweep's conversations.
struct SweepBounds<'a, 'b> {
    state: &'a State<'b>,
    scope: Scope,
    scopes: &'a Scopes,
}

/// Each sweep's points and optimum; `level` is the confidence of the optimum-minus-runner-up
/// comparison (0.95 overall, Bonferroni's for slices). `evaluations` are the variants', the
/// first of them evaluation number `first` of the run (for their bounds).
fn sweep_summaries(
    inputs: &Inputs,
    variants: &[Variant],
    evaluations: &[(PolicyEvaluation, PolicyMetrics)],
    first: usize,
    estimation: &Estimation,
    level: f64,
    bounds: &SweepBounds,
) -> Vec<SweepSummary> {
    inputs
        .policies
        .sweeps
        .iter()
        .enumerate()
        .map(|(index, sweep)| {
            // Each candidate's evaluation number in the run.
            let numbers: Vec<usize> = variants
                .iter()
                .enumerate()
                .filter(|(_, v)| v.sweep == index)
                .map(|(j, _)| first + j)
                .collect();
            let candidates: Vec<SweepCandidate> = variants
                .iter()
                .zip(evaluations)
                .filter(|(v, _)| v.sweep == index)
                .map(|(v, (eval, _))| SweepCandidate {
                    value: v.value,
                    variant: &v.name,
                    evaluation: eval,
                })
                .collect();
            let rate = objective_rate(sweep.objective);
            let run = bounds.state.run();
            let estimate = evaluate_sweep_at(
                &candidates,
                sweep.objective,
                sweep.handoff_cost,
                estimation.resampler(),
                level,
            );
            let points = candidates
                .iter()
                .zip(&estimate.net_objective_per_100)
                .zip(&numbers)
                .map(|((c, net), &e)| SweepPoint {
                    value: c.value,
                    variant: c.variant.to_string(),
                    net_objective_per_100: *net,
                    rates: c.evaluation.estimate.rates,
                    sensitivity: match bounds.state {
                        State::Off => None,
                        State::Skipped(_) => Some(Vec::new()),
                        State::On(run) => Some(run.net(
                            e,
                            bounds.scope,
                            rate,
                            net,
                            c.evaluation.estimate.conversations,
                        )),
                    },
                })
                .collect();
            let optimal = estimate.optimum.map(|o| {
                let (difference_bounds, robustness) = match (run, o.runner_up) {
                    (Some(run), Some(r)) => run.difference(
                        numbers[o.best],
                        Some(numbers[r]),
                        rate,
                        bounds.scope,
                        bounds.scopes,
                        o.difference.estimate,
                        100.0,
                    ),
                    _ => (Vec::new(), None),
                };
                Optimal {
                    value: candidates[o.best].value,
                    variant: candidates[o.best].variant.to_string(),
                    net_objective_per_100: estimate.net_objective_per_100[o.best],
                    runner_up: o.runner_up.map(|r| candidates[r].value),
                    difference: o.difference,
                    beats_runner_up: o.beats_runner_up,
                    robustness_gamma: bounds.state.historical::<f64>().map(|_| robustness),
                    difference_bounds,
                }
            });
            SweepSummary {
                policy: sweep.policy.clone(),
                parameter: sweep.parameter.name(),
                objective: sweep.objective.name().to_string(),
                handoff_cost: sweep.handoff_cost,
                points,
                optimal,
            }
        })
        .collect()
}

fn data_quality(inputs: &Inputs) -> DataQualitySummary {
    let q = &inputs.dataset.quality;
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for r in &inputs.dataset.rejections {
        *by_reason.entry(reason_kind(&r.reason)).or_default() += 1;
    }
    DataQualitySummary {
        unknown_signal_labels: inputs.signals.unknown_labels.clone(),
        unknown_qualified_labels: q.unknown_qualified_labels.clone(),
        unknown_context_labels: q.unknown_context_labels.clone(),
        amount_without_opportunity: q.amount_without_opportunity,
        rating_without_handoff: q.rating_without_handoff,
        handoff_at_without_turn: q.handoff_at_without_turn,
        conversations_without_prospect_message: q.conversations_without_prospect_message,
        rejections_by_reason: by_reason,
    }
}

/// The kind of a rejection reason: its text up to the first colon or quote, so that counts
/// group "expected an integer, found "3a"" with "expected an integer, found "x"".
fn reason_kind(reason: &str) -> String {
    let cut = reason.find([':', '"']).unwrap_or(reason.len());
    reason[..cut].trim().trim_end_matches(',').to_string()
}

/// The run's warnings, plain sentences a person can act on.
fn warnings(
    inputs: &Inputs,
    window: &Window,
    members: &[usize],
    settings: &AnalysisSettings,
    summary: &Summary,
) -> Vec<String> {
    let dataset = &inputs.dataset;
    let mut out = Vec::new();
    if !inputs.timelines.iter().any(|tl| tl.historical.is_some()) {
        out.push(
            "history never hands off: no policy that hands off can be estimated from it, so \
             those policies show no figures"
                .to_string(),
        );
    }
    let latest_start = members.iter().map(|&i| dataset.conversations[i].started_at).max();
    if let Some(w) = window.outcome_warning(settings.as_of, settings.outcome_days, latest_start) {
        out.push(w);
    }
    if dataset.rejected_conversations > 0 || dataset.rejected_rows > 0 {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        out.push(format!(
            "{} ({}) rejected and left out of every figure; rejected.csv lists each with its \
             file, row, column and reason",
            plural(dataset.rejected_conversations, "conversation was", "conversations were"),
            plural(dataset.rejected_rows, "row", "rows"),
        ));
    }
    let columns = &dataset.columns;
    let guards_qualification = inputs.policies.policies.iter().any(|p| {
        p.unless.contains(&crate::signals::Guard::QualificationIncomplete) && p.min_qualified > 0
    });
    if !columns.qualified && guards_qualification {
        out.push(
            "the messages table has no `qualified` column: every policy guarded by \
             qualification_incomplete waits forever (it hands off only where a bypass applies)"
                .to_string(),
        );
    }
    if !columns.handoff_turn {
        out.push(
            "the outcomes table has no handoff_turn values: history never hands off".to_string(),
        );
    }
    if dataset.quality.currencies.len() > 1 {
        out.push(format!(
            "opportunity amounts come in several currencies ({}): pipeline figures are not summed",
            dataset.quality.currencies.join(", ")
        ));
    }
    let unknown: u64 = inputs.signals.unknown_labels.values().sum();
    if unknown > 0 {
        out.push(format!(
            "{unknown} labels in the signals column are outside the vocabulary and were ignored \
             (see data quality)"
        ));
    }
    let q = &dataset.quality;
    let odd = q.amount_without_opportunity + q.rating_without_handoff + q.handoff_at_without_turn;
    if odd > 0 {
        out.push(format!(
            "{odd} outcome fields were inconsistent and ignored ({} amounts without \
             opportunity_at, {} ratings without a handoff, {} handoff_at without handoff_turn)",
            q.amount_without_opportunity, q.rating_without_handoff, q.handoff_at_without_turn
        ));
    }
    let thin: Vec<&str> = summary
        .policies
        .iter()
        .filter(|p| !p.warnings.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    if !thin.is_empty() {
        out.push(format!(
            "some estimates rest on thin support or none ({}): see each policy's warnings",
            thin.join(", ")
        ));
    }
    out
}

/// What the per-slice figures read: the run's inputs, models and overall evaluations.
struct SliceContext<'a> {
    inputs: &'a Inputs<'a>,
    units: &'a [Unit<'a>],
    members: &'a [usize],
    settings: &'a AnalysisSettings,
    estimation: &'a Estimation,
    scopes: &'a Scopes,
    /// The sensitivity bounds (per slice too).
    bounds: &'a State<'a>,
    historical: &'a PolicyEvaluation,
    /// How many of the evaluations are named policies (the rest are sweep variants).
    named_policies: usize,
    variants: &'a [Variant],
    /// `historical`, then the evaluations' names.
    names: &'a [&'a str],
    /// Per named policy and variant, its metrics per slice (flat order: every slice of every
    /// cut).
    metrics: &'a [Vec<PolicyMetrics>],
    historical_metrics: &'a [PolicyMetrics],
    single_currency: bool,
}

/// The warning a slice under `--min-slice` carries on every figure.
const TOO_FEW: &str = "too few conversations for a reliable estimate";

impl SliceContext<'_> {
    /// One cut's slices and findings (`evaluations`: per slice, per policy then variant).
    fn cut(
        &self,
        c: usize,
        first: usize,
        plan: &CutPlan,
        cut: &Cut,
        evaluations: Vec<Vec<PolicyEvaluation>>,
    ) -> SliceCut {
        let min_slice = self.settings.slices.min_slice;
        let level = slicing::bonferroni_level(plan.names.len());
        // Each slice's figures alone (in parallel: a slice's summaries and sweeps take as long
        // as the whole window's), collected in slice order.
        type SliceFigures = ((Slice, Vec<(PolicyEvaluation, PolicyMetrics)>), Option<Ranked>);
        let per_slice: Vec<SliceFigures> = evaluations
            .into_par_iter()
            .enumerate()
            .map(|(k, evaluations)| {
                let slice_members: Vec<usize> = self
                    .members
                    .iter()
                    .copied()
                    .filter(|&i| plan.slice_of[i] as usize == k)
                    .collect();
                let dataset = self.inputs.dataset;
                let hist_eval =
                    historical_slice(self.units, self.historical, cut, k, self.scopes, c);
                let flat = first + k;
                let no_metrics = PolicyMetrics::default();
                let mut hist = policy_summary(
                    "historical",
                    PolicyKind::Historical,
                    &hist_eval,
                    self.historical_metrics.get(flat).unwrap_or(&no_metrics),
                );
                let extras =
                    historical_extras(slice_members.iter().map(|&i| &dataset.conversations[i]));
                hist.context_transferred = extras.context_transferred;
                hist.mean_rep_rating = extras.mean_rep_rating;
                hist.sensitivity = self.bounds.historical();
                let metrics: Vec<PolicyMetrics> =
                    self.metrics.iter().map(|m| m.get(flat).cloned().unwrap_or_default()).collect();
                let evaluated: Vec<(PolicyEvaluation, PolicyMetrics)> =
                    evaluations.into_iter().zip(metrics).collect();
                let mut rows: Vec<PolicySummary> = evaluated
                    .iter()
                    .enumerate()
                    .map(|(j, (eval, m))| {
                        let kind = if j < self.named_policies {
                            PolicyKind::Policy
                        } else {
                            PolicyKind::Variant
                        };
                        let mut row = policy_summary(self.names[j + 1], kind, eval, m);
                        row.sensitivity = self.bounds.policy(j, Scope::Slice(c, k), eval);
                        row
                    })
                    .collect();
                let sweep_bounds = SweepBounds {
                    state: self.bounds,
                    scope: Scope::Slice(c, k),
                    scopes: self.scopes,
                };
                let mut sweeps = sweep_summaries(
                    self.inputs,
                    self.variants,
                    &evaluated[self.named_policies..],
                    self.named_policies,
                    self.estimation,
                    level,
                    &sweep_bounds,
                );
                let conversations = slice_members.len() as u64;
                let small = conversations < min_slice;
                let mut warnings = Vec::new();
                if small {
                    warnings.push(format!(
                        "{} = {}: {TOO_FEW} ({conversations} conversations, under --min-slice \
                         {min_slice}); no optimum or recommendation is given",
                        plan.by, plan.names[k]
                    ));
                    for sweep in &mut sweeps {
                        sweep.optimal = None;
                    }
                }
                let mut policies = vec![hist];
                policies.extend(rows.drain(..self.named_policies));
                let mut variant_rows = rows;
                for p in policies.iter_mut().chain(variant_rows.iter_mut()) {
                    if !self.single_currency {
                        null_pipeline(p);
                    }
                    if small {
                        p.warnings.push(TOO_FEW.to_string());
                    }
                }
                let ranked =
                    (!small).then(|| self.best(&evaluated[..self.named_policies])).flatten();
                (
                    (
                        Slice {
                            value: plan.names[k].clone(),
                            conversations,
                            policies,
                            sweeps,
                            warnings,
                            variants: variant_rows,
                        },
                        evaluated,
                    ),
                    ranked,
                )
            })
            .collect();
        let (values, ranked): (Vec<_>, Vec<_>) = per_slice.into_iter().unzip();
        let findings = vec![self.finding(plan, &values, &ranked, level)];
        let mut out: Vec<Slice> = values.into_iter().map(|(s, _)| s).collect();
        if let (Some(w), Some(first)) = (plan.pooled_warning(), out.iter_mut().last()) {
            if first.value == slicing::OTHER {
                first.warnings.insert(0, w);
            }
        }
        SliceCut { by: plan.by.clone(), min_slice, values: out, findings, level }
    }

    /// The objective the slices are compared on: the first sweep's, else opportunities.
    fn objective(&self) -> Rate {
        self.inputs
            .policies
            .sweeps
            .first()
            .map_or(Rate::Opportunity, |s| objective_rate(s.objective))
    }

    /// The named policy with the highest estimated objective in a slice.
    fn best(&self, evaluated: &[(PolicyEvaluation, PolicyMetrics)]) -> Option<Ranked> {
        let rate = self.objective();
        let mut best: Option<Ranked> = None;
        for (j, (eval, _)) in evaluated.iter().enumerate() {
            let e = eval.estimate.rates.get(rate);
            let Some(v) = e.estimate.filter(|_| eval.supported) else { continue };
            if best.as_ref().is_none_or(|b| b.estimate.estimate.is_some_and(|bv| v > bv)) {
                best = Some(Ranked { policy: j, estimate: e });
            }
        }
        best
    }

    /// Whether the best policy differs between slices (slices.md, "Findings").
    fn finding(
        &self,
        plan: &CutPlan,
        values: &[(Slice, Vec<(PolicyEvaluation, PolicyMetrics)>)],
        ranked: &[Option<Ranked>],
        level: f64,
    ) -> String {
        let rate = self.objective();
        let statistic = |eval: &PolicyEvaluation| -> Statistic {
            let s = &eval.statistics;
            match rate {
                Rate::Meeting => s.outcomes[0].clone(),
                Rate::Opportunity => s.outcomes[1].clone(),
                _ => s.outcomes[2].clone(),
            }
        };
        let resampler = self.estimation.resampler();
        // `a` beats `b` within slice `k` at the Bonferroni level.
        let beats = |k: usize, a: usize, b: usize| -> bool {
            let evaluated = &values[k].1;
            let d = paired_difference_at(
                &statistic(&evaluated[a].0),
                &statistic(&evaluated[b].0),
                resampler,
                level,
            );
            d.low.is_some_and(|low| low > 0.0)
        };
        let mut confirmed = vec![false; ranked.len()];
        for k in 0..ranked.len() {
            for l in k + 1..ranked.len() {
                let (Some(a), Some(b)) = (&ranked[k], &ranked[l]) else { continue };
                if a.policy != b.policy
                    && beats(k, a.policy, b.policy)
                    && beats(l, b.policy, a.policy)
                {
                    confirmed[k] = true;
                    confirmed[l] = true;
                }
            }
        }
        if !confirmed.iter().any(|c| *c) {
            return format!(
                "By {}, the data does not show the best policy differing between slices.",
                plan.by
            );
        }
        let parts: Vec<String> = ranked
            .iter()
            .zip(&confirmed)
            .enumerate()
            .filter(|(_, (_, c))| **c)
            .filter_map(|(k, (r, _))| r.as_ref().map(|r| (k, r)))
            .enumerate()
            .map(|(n, (k, r))| {
                let name = self.names[r.policy + 1];
                let figure = objective_figure(rate, &r.estimate);
                if n == 0 {
                    format!(
                        "For {}, {name} would have {} ({figure})",
                        values[k].0.value,
                        verb(rate)
                    )
                } else {
                    format!("for {}, {name} ({figure})", values[k].0.value)
                }
            })
            .collect();
        format!(
            "{}: by {}, the best policy differs between slices (each beats the other within its \
             slice at the {} level).",
            parts.join("; "),
            plan.by,
            crate::format::percent_units(100.0 * level, 1),
        )
    }
}

/// A slice's best named policy and its objective estimate.
struct Ranked {
    policy: usize,
    estimate: Estimate,
}

fn verb(rate: Rate) -> &'static str {
    match rate {
        Rate::Meeting => "booked the most meetings",
        Rate::Pipeline => "created the most pipeline",
        _ => "created the most opportunities",
    }
}

/// "24.1 per 100, 19.0 to 29.5" (pipeline: per conversation).
fn objective_figure(rate: Rate, e: &Estimate) -> String {
    let scale = if rate == Rate::Pipeline { 1.0 } else { 100.0 };
    let unit = if rate == Rate::Pipeline { " per conversation" } else { " per 100" };
    let v = e.estimate.map_or_else(|| "n/a".to_string(), |v| format!("{:.1}", scale * v));
    match (e.low, e.high) {
        (Some(l), Some(h)) => format!("{v}{unit}, {:.1} to {:.1}", scale * l, scale * h),
        _ => format!("{v}{unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_routed_search_gives_own_winners_only_to_real_values_of_enough_conversations() {
        // A literal value spelt `(other)` stays a value; the pooled `(other)` (last, as values
        // were pooled), `(none)`, `*` and a slice under --min-slice take the fallback.
        let plan = CutPlan {
            by: "region".into(),
            names: ["emea", "(other)", "*", "tiny", "(none)", "(other)"].map(String::from).into(),
            sizes: vec![500, 400, 300, 100, 300, 600],
            slice_of: Vec::new(),
            pooled: vec![("x".into(), 600)],
        };
        assert_eq!(
            routable_slices(std::slice::from_ref(&plan), 200),
            [vec![true, true, false, false, false, false]]
        );
        // Without pooling, nothing is taken for the pooled slice.
        let unpooled = CutPlan { pooled: Vec::new(), ..plan };
        assert!(routable_slices(&[unpooled], 200)[0][5]);
    }
}
