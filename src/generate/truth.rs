//! The known truth of a generated data set: for `historical` and every policy and sweep
//! variant of a policies file, the expected rates under the causal model (probabilities, not
//! sampled outcomes), averaged over all generated conversations. Pure apart from the caller's
//! final JSON write.

use serde::Serialize;

use super::model::{outcome_probabilities, ConversationTruth};
use crate::estimate::sweep::objective_rate;
use crate::estimate::Rates;
use crate::model::Conversation;
use crate::policy::sweep::{expand, format_value};
use crate::policy::{Objective, PoliciesFile, Policy};
use crate::replay::{build_timeline, decide};
use crate::signals::vocabulary::SignalSet;

/// A policy whose truth is computed; `None` is history's logged behaviour.
#[derive(Clone, Debug)]
pub struct Evaluated {
    pub name: String,
    pub policy: Option<Policy>,
    /// (sweep index, value) for sweep variants.
    pub sweep_point: Option<(usize, f64)>,
}

/// `historical`, the file's policies in file order, then every sweep variant in grid order.
pub fn evaluated_policies(file: &PoliciesFile) -> Vec<Evaluated> {
    let mut out = vec![Evaluated { name: "historical".into(), policy: None, sweep_point: None }];
    for p in &file.policies {
        out.push(Evaluated { name: p.name.clone(), policy: Some(p.clone()), sweep_point: None });
    }
    for (si, sweep) in file.sweeps.iter().enumerate() {
        let Some(base) = file.policies.iter().find(|p| p.name == sweep.policy) else { continue };
        for v in expand(si, sweep, base) {
            let point = Some((si, v.value));
            out.push(Evaluated { name: v.name, policy: Some(v.policy), sweep_point: point });
        }
    }
    out
}

/// Sums of expected outcomes for one policy.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    pub conversations: f64,
    pub handoffs: f64,
    pub meetings: f64,
    pub opportunities: f64,
    pub pipeline: f64,
    pub meetings_handed_off: f64,
    pub opportunities_handed_off: f64,
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.conversations += other.conversations;
        self.handoffs += other.handoffs;
        self.meetings += other.meetings;
        self.opportunities += other.opportunities;
        self.pipeline += other.pipeline;
        self.meetings_handed_off += other.meetings_handed_off;
        self.opportunities_handed_off += other.opportunities_handed_off;
    }

    fn of(truth: &ConversationTruth, h: Option<u32>) -> Totals {
        let p = outcome_probabilities(truth, h);
        let handed = f64::from(u8::from(h.is_some()));
        Totals {
            conversations: 1.0,
            handoffs: handed,
            meetings: p.meeting,
            opportunities: p.opportunity,
            pipeline: p.expected_amount,
            meetings_handed_off: handed * p.meeting,
            opportunities_handed_off: handed * p.opportunity,
        }
    }
}

/// The expected contribution of one conversation to every evaluated policy, in order.
pub fn conversation_totals(
    policies: &[Evaluated],
    conv: &Conversation,
    prospect_signals: &[SignalSet],
    truth: &ConversationTruth,
) -> Vec<Totals> {
    let needs_timeline = policies.iter().any(|p| p.policy.is_some());
    let timeline = needs_timeline.then(|| build_timeline(conv, prospect_signals));
    policies
        .iter()
        .map(|e| {
            let h = match (&e.policy, &timeline) {
                (Some(policy), Some(tl)) => decide(policy, tl).point,
                _ => truth.historical,
            };
            Totals::of(truth, h)
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct PolicyTruth {
    pub name: String,
    /// Expected rates; `handoff_to_*` (expected meetings or opportunities among handed-off
    /// conversations per handoff) are null without handoffs, the others always hold a value.
    #[serde(flatten)]
    pub rates: Rates<Option<f64>>,
}

#[derive(Debug, Serialize)]
pub struct SweepPointTruth {
    pub value: f64,
    pub variant: String,
    pub net_objective_per_100: f64,
    #[serde(flatten)]
    pub rates: PolicyTruth,
}

#[derive(Debug, Serialize)]
pub struct SweepTruth {
    pub policy: String,
    pub parameter: String,
    pub objective: String,
    pub handoff_cost: f64,
    pub points: Vec<SweepPointTruth>,
}

#[derive(Debug, Serialize)]
pub struct Truth {
    pub conversations: u64,
    pub policies: Vec<PolicyTruth>,
    pub sweeps: Vec<SweepTruth>,
}

fn rates(name: &str, t: &Totals) -> PolicyTruth {
    let n = t.conversations.max(1.0);
    let per_handoff = |x: f64| (t.handoffs > 0.0).then(|| x / t.handoffs);
    PolicyTruth {
        name: name.to_string(),
        rates: Rates {
            handoff_rate: t.handoffs / n,
            meeting_rate: Some(t.meetings / n),
            opportunity_rate: Some(t.opportunities / n),
            handoff_to_meeting: per_handoff(t.meetings_handed_off),
            handoff_to_opportunity: per_handoff(t.opportunities_handed_off),
            pipeline_per_conversation: Some(t.pipeline / n),
        },
    }
}

/// 100 x (the objective per conversation minus `handoff_cost` x the handoff rate): the cost of
/// one handoff, in objective units, charged on each of the 100 x rate handoffs per 100
/// conversations (the same reading as `estimate::sweep::net_objective`; see the README).
pub fn net_objective_per_100(r: &PolicyTruth, objective: Objective, handoff_cost: f64) -> f64 {
    let per_conversation = r.rates.get(objective_rate(objective)).unwrap_or(f64::NAN);
    100.0 * (per_conversation - handoff_cost * r.rates.handoff_rate)
}

/// Assembles the truth document from the per-policy totals (aligned with `policies`).
pub fn summarize(
    file: &PoliciesFile,
    policies: &[Evaluated],
    totals: &[Totals],
    conversations: u64,
) -> Truth {
    let mut out = Truth { conversations, policies: vec![], sweeps: vec![] };
    for sweep in &file.sweeps {
        out.sweeps.push(SweepTruth {
            policy: sweep.policy.clone(),
            parameter: sweep.parameter.name(),
            objective: sweep.objective.name().to_string(),
            handoff_cost: sweep.handoff_cost,
            points: vec![],
        });
    }
    for (e, t) in policies.iter().zip(totals) {
        let r = rates(&e.name, t);
        match e.sweep_point {
            None => out.policies.push(r),
            Some((si, value)) => {
                let (Some(sweep), Some(target)) = (file.sweeps.get(si), out.sweeps.get_mut(si))
                else {
                    continue;
                };
                target.points.push(SweepPointTruth {
                    // The grid value as the variant's name gives it (0.6, not 0.6000000000000001).
                    value: format_value(value).parse().unwrap_or(value),
                    variant: e.name.clone(),
                    net_objective_per_100: net_objective_per_100(
                        &r,
                        sweep.objective,
                        sweep.handoff_cost,
                    ),
                    rates: r,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::model::Segment;
    use crate::policy::{Sweep, SweepParameter};
    use crate::signals::vocabulary::{Signal, Situation};

    fn file() -> PoliciesFile {
        let mut base = Policy::new("intent-score", vec![Situation::Score]);
        base.weights[Signal::Pricing.index()] = 0.5;
        base.threshold = 0.5;
        PoliciesFile {
            policies: vec![base],
            sweeps: vec![Sweep {
                policy: "intent-score".into(),
                parameter: SweepParameter::Threshold,
                values: vec![0.25, 0.5],
                objective: Objective::Meetings,
                handoff_cost: 2.0,
            }],
            ..PoliciesFile::default()
        }
    }

    #[test]
    fn variants_follow_the_policies_and_set_the_parameter() {
        let list = evaluated_policies(&file());
        let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "historical",
                "intent-score",
                "intent-score@threshold=0.25",
                "intent-score@threshold=0.5"
            ]
        );
        assert_eq!(list[2].policy.as_ref().map(|p| p.threshold), Some(0.25));
    }

    #[test]
    fn summary_averages_and_computes_the_net_objective() {
        let f = file();
        let list = evaluated_policies(&f);
        let truth = ConversationTruth {
            rho: 0.5,
            segment: Segment::Smb,
            reference: Some(2),
            human_request: None,
            historical: Some(2),
            decision_points: 4,
        };
        let one = Totals::of(&truth, Some(2));
        let none = Totals::of(&truth, None);
        let mut both = one;
        both.add(&none);
        let totals = vec![both; list.len()];
        let out = summarize(&f, &list, &totals, 2);
        assert_eq!(out.policies.len(), 2);
        let h = &out.policies[0];
        assert!((h.rates.handoff_rate - 0.5).abs() < 1e-12);
        let meeting_rate = h.rates.meeting_rate.unwrap();
        assert!((meeting_rate - (one.meetings + none.meetings) / 2.0).abs() < 1e-12);
        assert_eq!(h.rates.handoff_to_meeting, Some(one.meetings));
        let point = &out.sweeps[0].points[0];
        let expected = 100.0 * (meeting_rate - 2.0 * 0.5);
        assert!((point.net_objective_per_100 - expected).abs() < 1e-9);
    }
}
