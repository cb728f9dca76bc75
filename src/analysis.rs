//! The analysis behind `handoff report`: from prepared timelines to the `Summary` and the
//! decision table. Replays every policy and sweep variant, fits the estimation models once,
//! estimates each policy, computes the exact timing metrics, finds each sweep's optimum and
//! writes the findings and warnings in plain sentences. No I/O: the command writes the result.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::estimate::sweep::{evaluate_sweep, SweepCandidate};
use crate::estimate::{
    historical_evaluation, Estimation, EstimationConfig, Observed, PolicyEvaluation, Unit,
};
use crate::metrics::{historical_extras, policy_metrics, MetricRow, PolicyMetrics};
use crate::model::{Conversation, Micros};
use crate::pipeline::{all_policies, decision_table, Prepared};
use crate::policy::{Policy, Variant};
use crate::replay::{decide, replay_all, Decision};
use crate::report::decisions::DecisionTable;
use crate::report::summary::{
    DataCounts, DataQualitySummary, Estimate, PolicySummary, Settings, Summary, SweepSummary,
};
use crate::report::window::Window;
use crate::time::{date_or_rfc3339_seconds, MICROS_PER_DAY};

/// The settings of one analysis run.
#[derive(Clone, Debug)]
pub struct AnalysisSettings {
    pub estimation: EstimationConfig,
    pub outcome_days: u32,
    pub as_of: Micros,
}

/// What the report is made of.
pub struct Analysis {
    pub summary: Summary,
    pub decisions: DecisionTable,
}

/// Runs the whole analysis of `window` (conversations that started in it; models fitted on
/// every accepted conversation that started before the window ends).
pub fn analyse(
    prepared: &Prepared,
    window: &Window,
    members: &[usize],
    settings: &AnalysisSettings,
) -> Analysis {
    let dataset = &prepared.dataset;
    let single_currency = dataset.quality.currencies.len() <= 1;
    let fit_indices: Vec<usize> = (0..dataset.conversations.len())
        .filter(|&i| window.until.is_none_or(|u| dataset.conversations[i].started_at < u))
        .collect();
    let units: Vec<Unit> = fit_indices
        .iter()
        .map(|&i| {
            let conversation = &dataset.conversations[i];
            Unit {
                conversation,
                timeline: &prepared.timelines[i],
                observed: observe(conversation, settings.outcome_days, single_currency),
                in_window: window.contains(conversation.started_at),
            }
        })
        .collect();

    let (policies, variants) = all_policies(&prepared.policies);
    let every: Vec<&Policy> = policies.iter().chain(variants.iter().map(|v| &v.policy)).collect();
    let all_decisions = replay_all(&every, &prepared.timelines);
    tracing::debug!(policies = every.len(), "stage: replayed");
    let reference = &prepared.policies.quality.policy;
    let late_after = prepared.policies.quality.late_after;
    let reference_decisions: Vec<Decision> =
        prepared.timelines.par_iter().map(|tl| decide(reference, tl)).collect();
    let historical: Vec<Decision> = prepared
        .timelines
        .iter()
        .map(|tl| Decision { point: tl.historical, situation: None })
        .collect();

    let estimation = Estimation::fit_with_reference(&units, &settings.estimation, reference);
    tracing::debug!(units = units.len(), "stage: models fitted");
    let pick = |per_conv: &[Decision]| -> Vec<Decision> {
        fit_indices.iter().map(|&i| per_conv[i]).collect()
    };
    let metrics_of = |per_conv: &[Decision]| -> PolicyMetrics {
        policy_metrics(
            members.iter().map(|&i| MetricRow {
                timeline: &prepared.timelines[i],
                policy: per_conv[i],
                reference: reference_decisions[i],
            }),
            late_after,
        )
    };

    // Historical baseline from observed outcomes.
    let hist_eval = historical_evaluation(&units);
    let mut hist_summary =
        policy_summary("historical", "historical", &hist_eval, &metrics_of(&historical));
    let extras = historical_extras(members.iter().map(|&i| &dataset.conversations[i]));
    hist_summary.context_transferred = extras.context_transferred;
    hist_summary.mean_rep_rating = extras.mean_rep_rating;

    // Named policies and sweep variants, in parallel (each evaluation is independent).
    let evaluations: Vec<(PolicyEvaluation, PolicyMetrics)> = every
        .par_iter()
        .zip(all_decisions.par_iter())
        .map(|(policy, per_conv)| {
            let eval = estimation.evaluate_policy(&policy.name, &units, &pick(per_conv));
            (eval, metrics_of(per_conv))
        })
        .collect();
    tracing::debug!("stage: policies estimated");
    let variant_names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
    let mut summaries: Vec<PolicySummary> = Vec::with_capacity(every.len());
    for (k, (eval, metrics)) in evaluations.iter().enumerate() {
        let (name, kind) = if k < policies.len() {
            (policies[k].name.as_str(), "policy")
        } else {
            (variant_names[k - policies.len()], "variant")
        };
        summaries.push(policy_summary(name, kind, eval, metrics));
    }
    let sweeps = sweep_summaries(prepared, &variants, &evaluations[policies.len()..], settings);

    let mut policy_rows = vec![hist_summary];
    policy_rows.extend(summaries.drain(..policies.len()));
    let mut variant_rows = summaries;
    if !single_currency {
        for p in policy_rows.iter_mut().chain(variant_rows.iter_mut()) {
            p.pipeline_per_conversation = Estimate::NULL;
        }
    }

    let mut names: Vec<&str> = vec!["historical"];
    names.extend(policies.iter().map(|p| p.name.as_str()));
    names.extend(variant_names.iter().copied());
    let mut table_decisions = vec![historical];
    table_decisions.extend(all_decisions);
    tracing::debug!("stage: sweeps estimated");
    let decisions = decision_table(prepared, members, &names, &table_decisions);
    tracing::debug!(rows = decisions.len(), "stage: decision table built");

    let mut summary = Summary {
        window: window.info(),
        data: DataCounts {
            conversations: members.len() as u64,
            messages: members.iter().map(|&i| dataset.conversations[i].messages.len() as u64).sum(),
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
            signal_source: prepared.source.name().to_string(),
            as_of: date_or_rfc3339_seconds(settings.as_of),
        },
        data_quality: data_quality(prepared),
        variants: variant_rows,
    };
    summary.warnings = warnings(prepared, window, members, settings, &summary);
    summary.findings = crate::findings::findings(&summary);
    Analysis { summary, decisions }
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
    kind: &str,
    eval: &PolicyEvaluation,
    metrics: &PolicyMetrics,
) -> PolicySummary {
    let e = &eval.estimate;
    PolicySummary {
        name: name.to_string(),
        kind: kind.to_string(),
        conversations: e.conversations,
        handoffs: e.handoffs,
        handoff_rate: e.handoff_rate,
        meeting_rate: e.meeting_rate,
        opportunity_rate: e.opportunity_rate,
        handoff_to_meeting: e.handoff_to_meeting,
        handoff_to_opportunity: e.handoff_to_opportunity,
        pipeline_per_conversation: e.pipeline_per_conversation,
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
    }
}

fn sweep_summaries(
    prepared: &Prepared,
    variants: &[Variant],
    evaluations: &[(PolicyEvaluation, PolicyMetrics)],
    settings: &AnalysisSettings,
) -> Vec<SweepSummary> {
    prepared
        .policies
        .sweeps
        .iter()
        .enumerate()
        .map(|(index, sweep)| {
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
            let (points, optimal) = evaluate_sweep(
                &candidates,
                sweep.objective,
                sweep.handoff_cost,
                &settings.estimation,
            );
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

fn data_quality(prepared: &Prepared) -> DataQualitySummary {
    let q = &prepared.dataset.quality;
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for r in &prepared.dataset.rejections {
        *by_reason.entry(reason_kind(&r.reason)).or_default() += 1;
    }
    DataQualitySummary {
        unknown_signal_labels: prepared.signals.unknown_labels.clone(),
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
    prepared: &Prepared,
    window: &Window,
    members: &[usize],
    settings: &AnalysisSettings,
    summary: &Summary,
) -> Vec<String> {
    let dataset = &prepared.dataset;
    let mut out = Vec::new();
    if !prepared.timelines.iter().any(|tl| tl.historical.is_some()) {
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
    let guards_qualification = prepared.policies.policies.iter().any(|p| {
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
    let unknown: u64 = prepared.signals.unknown_labels.values().sum();
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
