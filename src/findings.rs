//! The headline findings: a few plain sentences that say what the figures mean, in the order
//! the page shows them. Pure: reads a finished `Summary`.

use crate::format;
use crate::policy::sweep::format_value;
use crate::summary::{Estimate, PolicyKind, PolicySummary, Summary, SweepSummary};

/// The findings of a summary (its `findings` field is ignored).
pub fn findings(summary: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    let Some(history) = summary.policies.iter().find(|p| p.kind == PolicyKind::Historical) else {
        return out;
    };
    out.push(history_sentence(summary, history));
    let others: Vec<&PolicySummary> =
        summary.policies.iter().filter(|p| p.kind != PolicyKind::Historical).collect();
    if let Some(best) = best_by_opportunities(&others) {
        let mut sentence = best_sentence(best, history, &summary.estimator);
        if let Some(clause) = robustness_sentence(summary, best, history) {
            sentence.push(' ');
            sentence.push_str(&clause);
        }
        out.push(sentence);
    }
    let unsupported: Vec<&str> = others
        .iter()
        .filter(|p| p.rates.opportunity_rate.estimate.is_none() && p.handoffs > 0)
        .map(|p| p.name.as_str())
        .collect();
    if !unsupported.is_empty() {
        out.push(format!(
            "No figure is given for {}: this history cannot support an estimate for {}.",
            unsupported.join(", "),
            if unsupported.len() == 1 { "it" } else { "them" }
        ));
    }
    for sweep in &summary.sweeps {
        if let Some(s) = sweep_sentence(sweep) {
            out.push(s);
        }
    }
    if let Some(s) = human_request_sentence(&others) {
        out.push(s);
    }
    out
}

fn history_sentence(summary: &Summary, h: &PolicySummary) -> String {
    format!(
        "Over {} conversations, history handed off {} of them ({}); {} of its handoffs led to a \
         meeting and {} to an opportunity.",
        summary.data.conversations,
        h.handoffs,
        format::percent(h.rates.handoff_rate),
        format::percent_or_na_if_missing(h.rates.handoff_to_meeting.estimate),
        format::percent_or_na_if_missing(h.rates.handoff_to_opportunity.estimate),
    )
}

fn best_by_opportunities<'a>(policies: &[&'a PolicySummary]) -> Option<&'a PolicySummary> {
    let mut best: Option<&PolicySummary> = None;
    for p in policies {
        let Some(v) = p.rates.opportunity_rate.estimate else { continue };
        if best.and_then(|b| b.rates.opportunity_rate.estimate).is_none_or(|b| v > b) {
            best = Some(p);
        }
    }
    best
}

fn best_sentence(best: &PolicySummary, history: &PolicySummary, estimator: &str) -> String {
    let (Some(b), Some(h)) =
        (best.rates.opportunity_rate.estimate, history.rates.opportunity_rate.estimate)
    else {
        return format!(
            "{} has the highest estimated opportunity rate, but history's rate is unknown.",
            best.name
        );
    };
    if b <= h {
        return format!(
            "None of the policies compared would have created more opportunities than history \
             ({} per 100 conversations); the best, {}, comes to {} ({}, estimator {}).",
            format::per_hundred(h),
            best.name,
            format::per_hundred(b),
            interval100(&best.rates.opportunity_rate),
            estimator,
        );
    }
    // History's own figure has an interval too; claim a difference only where they separate.
    let separated = best
        .rates
        .opportunity_rate
        .low
        .zip(history.rates.opportunity_rate.high)
        .is_some_and(|(l, hh)| l > hh);
    format!(
        "Of the policies compared, {} would have created the most opportunities: {} per 100 \
         conversations ({}, estimator {}), against {} historically{}, handing off {} of \
         conversations (history: {}).",
        best.name,
        format::per_hundred(b),
        interval100(&best.rates.opportunity_rate),
        estimator,
        format::per_hundred(h),
        if separated { "" } else { " (within the uncertainty)" },
        format::percent(best.rates.handoff_rate),
        format::percent(history.rates.handoff_rate),
    )
}

/// What the headline comparison's robustness value (sensitivity.md) says, where the best
/// policy's estimate is above history's and the analysis ran.
fn robustness_sentence(
    summary: &Summary,
    best: &PolicySummary,
    history: &PolicySummary,
) -> Option<String> {
    let (b, h) = (best.rates.opportunity_rate.estimate?, history.rates.opportunity_rate.estimate?);
    if b <= h {
        return None;
    }
    let comparison = summary
        .sensitivity
        .as_ref()?
        .comparisons
        .iter()
        .find(|c| c.policy == best.name && c.versus == history.name)?;
    Some(robustness_words(&best.name, comparison.robustness_gamma))
}

/// The plain-words reading of a robustness value of `policy`'s advantage over history.
pub fn robustness_words(policy: &str, gamma: Option<f64>) -> String {
    match gamma {
        None => format!(
            "{policy}'s advantage over history does not hold even without hidden confounding."
        ),
        Some(g) if g >= crate::estimate::sensitivity::MAX_GAMMA => format!(
            "{policy}'s advantage over history holds even if history's handoffs depended on \
             something unrecorded that moved the odds of a handoff by {} times (the most the \
             analysis tries).",
            format::fixed(g, 2)
        ),
        Some(g) => format!(
            "{policy}'s advantage over history holds unless history's handoffs depended on \
             something unrecorded that moved the odds of a handoff by more than {} times \
             (robustness value).",
            format::fixed(g, 2)
        ),
    }
}

fn sweep_sentence(sweep: &SweepSummary) -> Option<String> {
    let optimal = sweep.optimal.as_ref()?;
    let verdict = match optimal.runner_up {
        None => "no other value of the grid decides differently".to_string(),
        Some(r) if optimal.beats_runner_up => format!(
            "it beats the runner-up ({} = {}) beyond the uncertainty",
            sweep.parameter,
            format_value(r)
        ),
        Some(r) => format!(
            "but it cannot be told apart from the runner-up ({} = {}) with this much data",
            sweep.parameter,
            format_value(r)
        ),
    };
    Some(format!(
        "For {}, the best {} is {}: a net {} {} per 100 conversations ({}); {}.",
        sweep.policy,
        sweep.parameter,
        format_value(optimal.value),
        format::fixed_signed_or_na(optimal.net_objective_per_100.estimate, 1),
        sweep.objective,
        interval_plain(&optimal.net_objective_per_100),
        verdict
    ))
}

fn human_request_sentence(policies: &[&PolicySummary]) -> Option<String> {
    let missing: Vec<String> = policies
        .iter()
        .filter(|p| p.missed_human_requests > 0 && p.handoffs > 0)
        .map(|p| format!("{} ({})", p.name, p.missed_human_requests))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!("Requests for a human left waiting or unserved: {}.", missing.join(", ")))
}

fn interval100(e: &Estimate) -> String {
    match (e.low, e.high) {
        (Some(l), Some(h)) => format!("95% interval {:.1} to {:.1}", 100.0 * l, 100.0 * h),
        _ => "no interval".to_string(),
    }
}

fn interval_plain(e: &Estimate) -> String {
    match (e.low, e.high) {
        (Some(l), Some(h)) => format!("95% interval {l:.1} to {h:.1}"),
        _ => "no interval".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{Optimal, SweepSummary};

    fn policy(name: &str, kind: PolicyKind, opp: Option<f64>, handoffs: u64) -> PolicySummary {
        PolicySummary {
            name: name.into(),
            kind,
            handoffs,
            rates: crate::summary::Rates {
                handoff_rate: 0.5,
                opportunity_rate: Estimate { estimate: opp, low: opp, high: opp },
                ..Default::default()
            },
            ..PolicySummary::default()
        }
    }

    #[test]
    fn the_headline_quotes_the_robustness_value() {
        use crate::summary::{Comparison, SensitivitySummary};
        let mut summary = Summary {
            estimator: "dr".into(),
            policies: vec![
                policy("historical", PolicyKind::Historical, Some(0.10), 50),
                policy("late", PolicyKind::Policy, Some(0.15), 40),
            ],
            ..Summary::default()
        };
        assert!(!findings(&summary)[1].contains("robustness"), "no analysis, no clause");
        let comparison = |g| Comparison {
            policy: "late".into(),
            versus: "historical".into(),
            robustness_gamma: g,
            ..Comparison::default()
        };
        summary.sensitivity = Some(SensitivitySummary {
            comparisons: vec![comparison(Some(1.7))],
            ..Default::default()
        });
        let f = findings(&summary);
        assert!(
            f[1].ends_with(
                "late's advantage over history holds unless history's handoffs depended on \
                 something unrecorded that moved the odds of a handoff by more than 1.70 times \
                 (robustness value)."
            ),
            "{f:?}"
        );
        summary.sensitivity.as_mut().unwrap().comparisons = vec![comparison(None)];
        assert!(findings(&summary)[1].ends_with("does not hold even without hidden confounding."));
        summary.sensitivity.as_mut().unwrap().comparisons = vec![comparison(Some(10.0))];
        assert!(findings(&summary)[1].contains("by 10.00 times (the most the analysis tries)"));
    }

    #[test]
    fn names_the_policy_with_most_opportunities_and_the_unsupported_ones() {
        let summary = Summary {
            estimator: "dr".into(),
            policies: vec![
                policy("historical", PolicyKind::Historical, Some(0.10), 50),
                policy("early", PolicyKind::Policy, Some(0.12), 60),
                policy("late", PolicyKind::Policy, Some(0.15), 40),
                policy("odd", PolicyKind::Policy, None, 10),
            ],
            ..Summary::default()
        };
        let f = findings(&summary);
        assert!(f[1].contains("late would have created the most opportunities: 15.0"), "{f:?}");
        assert!(f[2].contains("No figure is given for odd"), "{f:?}");
    }

    #[test]
    fn a_policy_no_better_than_history_is_not_called_a_win() {
        let summary = Summary {
            policies: vec![
                policy("historical", PolicyKind::Historical, Some(0.536), 0),
                policy("late", PolicyKind::Policy, Some(0.536), 0),
            ],
            ..Summary::default()
        };
        let f = findings(&summary);
        assert!(f[1].starts_with("None of the policies compared would have created more"), "{f:?}");
    }

    #[test]
    fn a_sweep_optimum_that_does_not_beat_its_runner_up_says_so() {
        let summary = Summary {
            policies: vec![policy("historical", PolicyKind::Historical, Some(0.1), 5)],
            sweeps: vec![SweepSummary {
                policy: "framework".into(),
                parameter: "delay".into(),
                objective: "opportunities".into(),
                optimal: Some(Optimal {
                    value: 1.0,
                    runner_up: Some(2.0),
                    beats_runner_up: false,
                    net_objective_per_100: Estimate::new(12.0, 10.0, 14.0),
                    ..Optimal::default()
                }),
                ..SweepSummary::default()
            }],
            ..Summary::default()
        };
        let f = findings(&summary);
        assert!(f.iter().any(|s| s.contains("best delay is 1")
            && s.contains("cannot be told apart from the runner-up (delay = 2)")));
    }
}
