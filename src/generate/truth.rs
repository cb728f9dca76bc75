//! The known truth of a generated data set: for `historical` and every policy and sweep
//! variant of a policies file, the expected rates under the causal model (probabilities, not
//! sampled outcomes), averaged over all generated conversations, and the same per value of
//! `segment`, `channel`, `ai_agent` and the extra columns (slices.md). Pure apart from the
//! caller's final JSON write.

use std::collections::BTreeMap;

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
    /// One entry per column (`segment`, `channel`, `ai_agent`, then the extra columns); last,
    /// so that the members before it read exactly as they did before slices existed.
    pub slices: Vec<SliceTruth>,
    /// Every `[[search]]`'s candidates (search.md); absent without searches, so the document
    /// reads exactly as before them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub searches: Vec<super::search_truth::SearchTruth>,
}

/// The truth per value of one conversations column.
#[derive(Debug, Serialize)]
pub struct SliceTruth {
    pub by: String,
    /// By decreasing count, ties by value.
    pub values: Vec<SliceValueTruth>,
}

/// The truth over the conversations whose column holds `value`: `policies` and `sweeps` have
/// the shape of `Truth`'s.
#[derive(Debug, Serialize)]
pub struct SliceValueTruth {
    pub value: String,
    pub conversations: u64,
    pub policies: Vec<PolicyTruth>,
    pub sweeps: Vec<SweepTruth>,
}

/// The value slices.md gives a null or empty cell.
pub const NONE_VALUE: &str = "(none)";

/// The columns every generated conversation has a value in, before the extra columns.
pub const SLICE_COLUMNS: [&str; 3] = ["segment", "channel", "ai_agent"];

/// Per-policy totals per (column, value), accumulated conversation by conversation alongside
/// the overall totals, so the slices cost no second pass over the conversations.
#[derive(Clone, Debug, Default)]
pub struct SliceTotals {
    columns: Vec<SliceColumn>,
}

#[derive(Clone, Debug)]
struct SliceColumn {
    by: String,
    values: BTreeMap<String, SliceValue>,
}

#[derive(Clone, Debug, Default)]
struct SliceValue {
    conversations: u64,
    /// Aligned with the evaluated policies.
    totals: Vec<Totals>,
}

impl SliceTotals {
    /// Empty totals for `SLICE_COLUMNS` then `extra_columns` (aligned with
    /// `Conversation::extra`).
    pub fn new(extra_columns: &[&str]) -> SliceTotals {
        let columns = SLICE_COLUMNS
            .iter()
            .chain(extra_columns)
            .map(|by| SliceColumn { by: by.to_string(), values: BTreeMap::new() })
            .collect();
        SliceTotals { columns }
    }

    /// Adds one conversation's per-policy totals to the slice it falls in, for every column.
    pub fn add(&mut self, conv: &Conversation, totals: &[Totals]) {
        for (k, column) in self.columns.iter_mut().enumerate() {
            let cell = match k {
                0 => conv.segment.as_deref(),
                1 => conv.channel.as_deref(),
                2 => conv.ai_agent.as_deref(),
                _ => conv.extra.get(k - SLICE_COLUMNS.len()).and_then(|c| c.as_deref()),
            };
            let value = slice_value(k == 0, cell);
            // Look up before inserting: one allocation per value seen, not per conversation.
            if !column.values.contains_key(value.as_ref()) {
                let fresh =
                    SliceValue { conversations: 0, totals: vec![Totals::default(); totals.len()] };
                column.values.insert(value.to_string(), fresh);
            }
            if let Some(slot) = column.values.get_mut(value.as_ref()) {
                slot.conversations += 1;
                for (acc, t) in slot.totals.iter_mut().zip(totals) {
                    acc.add(t);
                }
            }
        }
    }
}

/// A cell as slices.md compares it: trimmed, `segment` lower-cased, null or empty `(none)`.
fn slice_value(lower: bool, cell: Option<&str>) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match cell.map(str::trim).filter(|v| !v.is_empty()) {
        None => Cow::Borrowed(NONE_VALUE),
        Some(v) if lower && v.chars().any(char::is_uppercase) => Cow::Owned(v.to_lowercase()),
        Some(v) => Cow::Borrowed(v),
    }
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

/// Assembles the truth document from the per-policy totals (aligned with `policies`), overall
/// and per slice.
pub fn summarize(
    file: &PoliciesFile,
    policies: &[Evaluated],
    totals: &[Totals],
    slices: &SliceTotals,
    conversations: u64,
) -> Truth {
    let (overall, sweeps) = tables(file, policies, totals);
    let slices = slices
        .columns
        .iter()
        .map(|column| {
            let mut values: Vec<SliceValueTruth> = column
                .values
                .iter()
                .map(|(value, slot)| {
                    let (policies, sweeps) = tables(file, policies, &slot.totals);
                    SliceValueTruth {
                        value: value.clone(),
                        conversations: slot.conversations,
                        policies,
                        sweeps,
                    }
                })
                .collect();
            // The map iterates by value, so a stable sort by count keeps ties by value.
            values.sort_by_key(|v| std::cmp::Reverse(v.conversations));
            SliceTruth { by: column.by.clone(), values }
        })
        .collect();
    Truth { conversations, policies: overall, sweeps, slices, searches: Vec::new() }
}

/// The `policies` and `sweeps` tables of one set of totals (overall or one slice).
fn tables(
    file: &PoliciesFile,
    policies: &[Evaluated],
    totals: &[Totals],
) -> (Vec<PolicyTruth>, Vec<SweepTruth>) {
    let mut named = vec![];
    let mut sweeps: Vec<SweepTruth> = file
        .sweeps
        .iter()
        .map(|sweep| SweepTruth {
            policy: sweep.policy.clone(),
            parameter: sweep.parameter.name(),
            objective: sweep.objective.name().to_string(),
            handoff_cost: sweep.handoff_cost,
            points: vec![],
        })
        .collect();
    for (e, t) in policies.iter().zip(totals) {
        let r = rates(&e.name, t);
        match e.sweep_point {
            None => named.push(r),
            Some((si, value)) => {
                let (Some(sweep), Some(target)) = (file.sweeps.get(si), sweeps.get_mut(si)) else {
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
    (named, sweeps)
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
            first_situation: None,
            region: None,
        };
        let one = Totals::of(&truth, Some(2));
        let none = Totals::of(&truth, None);
        let mut both = one;
        both.add(&none);
        let totals = vec![both; list.len()];
        let out = summarize(&f, &list, &totals, &SliceTotals::new(&[]), 2);
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

    fn conversation(
        segment: &str,
        channel: &str,
        agent: Option<&str>,
        region: &[&str],
    ) -> Conversation {
        Conversation {
            segment: Some(segment.to_string()),
            channel: Some(channel.to_string()),
            ai_agent: agent.map(str::to_string),
            extra: region.iter().map(|r| Some(r.to_string())).collect(),
            ..Conversation::default()
        }
    }

    fn hand_totals(handed: bool, meetings: f64, pipeline: f64) -> Totals {
        let h = if handed { 1.0 } else { 0.0 };
        Totals {
            conversations: 1.0,
            handoffs: h,
            meetings,
            opportunities: meetings / 2.0,
            pipeline,
            meetings_handed_off: h * meetings,
            opportunities_handed_off: h * meetings / 2.0,
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn slices_average_over_their_own_conversations() {
        let f = file();
        let list = evaluated_policies(&f);
        let mut slices = SliceTotals::new(&["region"]);
        let mut overall = vec![Totals::default(); list.len()];
        let rows = [
            (conversation("smb", "chat", Some("sdr-a"), &["na"]), hand_totals(true, 0.4, 2000.0)),
            (
                conversation("enterprise", "chat", Some("sdr-b"), &["apac"]),
                hand_totals(false, 0.2, 9000.0),
            ),
            // Written as a user might: trimmed and lower-cased like the data, no agent and no
            // region are `(none)`.
            (conversation(" SMB ", "email", None, &[]), hand_totals(true, 0.6, 3000.0)),
        ];
        for (conv, t) in &rows {
            let per_policy = vec![*t; list.len()];
            slices.add(conv, &per_policy);
            for (acc, t) in overall.iter_mut().zip(&per_policy) {
                acc.add(t);
            }
        }
        let out = summarize(&f, &list, &overall, &slices, 3);
        let by: Vec<&str> = out.slices.iter().map(|c| c.by.as_str()).collect();
        assert_eq!(by, ["segment", "channel", "ai_agent", "region"]);
        let values = |k: usize| -> Vec<(&str, u64)> {
            out.slices[k].values.iter().map(|v| (v.value.as_str(), v.conversations)).collect()
        };
        assert_eq!(values(0), [("smb", 2), ("enterprise", 1)]);
        assert_eq!(values(1), [("chat", 2), ("email", 1)]);
        assert_eq!(values(2), [("(none)", 1), ("sdr-a", 1), ("sdr-b", 1)]);
        assert_eq!(values(3), [("(none)", 1), ("apac", 1), ("na", 1)]);

        // smb: the first and third conversations.
        let smb = &out.slices[0].values[0];
        let h = &smb.policies[0].rates;
        assert_eq!(smb.policies[0].name, "historical");
        assert!((h.handoff_rate - 1.0).abs() < 1e-12);
        assert!(close(h.meeting_rate, 0.5));
        assert!(close(h.opportunity_rate, 0.25));
        assert!(close(h.pipeline_per_conversation, 2500.0));
        assert!(close(h.handoff_to_meeting, 0.5));
        // Its sweep points: 100 x (0.5 meetings - 2.0 x 1.0 handoffs).
        assert_eq!(smb.sweeps[0].points.len(), 2);
        assert!((smb.sweeps[0].points[0].net_objective_per_100 + 150.0).abs() < 1e-9);
        // enterprise: no handoff, so no meetings per handoff.
        let ent = &out.slices[0].values[1].policies[0].rates;
        assert!(close(ent.meeting_rate, 0.2) && ent.handoff_to_meeting.is_none());
        // chat: the first two; one handoff.
        let chat = &out.slices[1].values[0].policies[1].rates;
        assert!((chat.handoff_rate - 0.5).abs() < 1e-12);
        assert!(close(chat.meeting_rate, 0.3));
        assert!(close(chat.handoff_to_meeting, 0.4));
    }

    /// The rates that are means over conversations (ratios per handoff are not).
    fn per_conversation_rates(p: &PolicyTruth) -> [f64; 4] {
        let r = &p.rates;
        let value = |x: Option<f64>| x.unwrap_or(f64::NAN);
        [
            r.handoff_rate,
            value(r.meeting_rate),
            value(r.opportunity_rate),
            value(r.pipeline_per_conversation),
        ]
    }

    #[test]
    fn slice_totals_weighted_by_counts_add_up_to_the_overall_totals() {
        use crate::generate::text::Phrasings;
        use crate::generate::world::{generate_conversation, WorldConfig, EXTRA_COLUMNS};
        let f = file();
        let list = evaluated_policies(&f);
        let cfg = WorldConfig {
            seed: 3,
            conversations: 300,
            weeks: 1,
            start: 1_794_182_400_000_000,
            slice_effects: true,
            confound: 0.0,
        };
        let phrasings = Phrasings::shipped().expect("the shipped phrasings parse");
        let mut slices = SliceTotals::new(&EXTRA_COLUMNS);
        let mut overall = vec![Totals::default(); list.len()];
        for i in 0..cfg.conversations {
            let g = generate_conversation(&cfg, phrasings, i);
            let row = conversation_totals(&list, &g.conversation, &g.prospect_signals, &g.truth);
            slices.add(&g.conversation, &row);
            for (acc, t) in overall.iter_mut().zip(&row) {
                acc.add(t);
            }
        }
        let out = summarize(&f, &list, &overall, &slices, cfg.conversations);
        assert_eq!(out.slices.len(), 4);
        let n = cfg.conversations as f64;
        for cut in &out.slices {
            assert!(cut.values.len() >= 3, "{}", cut.by);
            let counts: u64 = cut.values.iter().map(|v| v.conversations).sum();
            assert_eq!(counts, cfg.conversations, "{}", cut.by);
            assert!(cut.values.windows(2).all(|w| w[0].conversations >= w[1].conversations));
            for (k, overall) in out.policies.iter().enumerate() {
                let whole = per_conversation_rates(overall);
                let mut parts = [0.0; 4];
                for v in &cut.values {
                    for (part, rate) in parts.iter_mut().zip(per_conversation_rates(&v.policies[k]))
                    {
                        *part += v.conversations as f64 * rate / n;
                    }
                }
                for (whole, parts) in whole.iter().zip(parts) {
                    assert!(
                        (whole - parts).abs() <= 1e-9 * whole.abs().max(1.0),
                        "{whole} {parts}"
                    );
                }
            }
            for (s, sweep) in out.sweeps.iter().enumerate() {
                for (p, point) in sweep.points.iter().enumerate() {
                    let parts: f64 = cut
                        .values
                        .iter()
                        .map(|v| {
                            v.conversations as f64 * v.sweeps[s].points[p].net_objective_per_100
                        })
                        .sum::<f64>()
                        / n;
                    assert!((point.net_objective_per_100 - parts).abs() < 1e-9);
                }
            }
        }
        let regions: Vec<&str> = out.slices[3].values.iter().map(|v| v.value.as_str()).collect();
        assert!(regions.contains(&"apac") && !regions.contains(&NONE_VALUE), "{regions:?}");
    }
}
