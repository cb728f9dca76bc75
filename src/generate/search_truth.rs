//! The known truth of every `[[search]]` of a policies file (search.md): each candidate's true
//! net objective per 100 conversations, overall and per segment, and the true best, so that
//! tests can measure a recommendation's regret. Candidates are replayed together (one
//! `Replayer`: one pass over each timeline for the whole family), and their expected outcomes
//! summed in fixed blocks of conversations, so the figures do not depend on the threads.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::model::{outcome_probabilities, ConversationTruth};
use super::Generated;
use crate::policy::search::candidates;
use crate::policy::{Objective, PoliciesFile, Policy};
use crate::replay::{build_timeline, Facts, Replayer};

/// Conversations summed together before their block is added in order.
const BLOCK: usize = 256;

/// One search's candidates and their running sums.
struct Family {
    name: String,
    objective: Objective,
    handoff_cost: f64,
    names: Vec<String>,
    /// Index of the family's first candidate in the shared replayer.
    first: usize,
}

/// Per segment value: its conversations and every candidate's sum.
type SegmentSums = BTreeMap<String, (u64, Vec<f64>)>;

/// Running sums of every search's candidates (overall and per segment).
pub struct SearchTruthBuilder {
    families: Vec<Family>,
    replayer: Replayer,
    candidates: usize,
    /// Per candidate: sum of the net objective per conversation; per segment value the same.
    overall: Vec<f64>,
    segments: SegmentSums,
    conversations: u64,
}

/// The truth of one candidate.
#[derive(Debug, Serialize)]
pub struct CandidateTruth {
    pub name: String,
    pub net_objective_per_100: f64,
    /// Per segment value, the same over that segment's conversations.
    pub segments: BTreeMap<String, f64>,
}

/// The truth of one search.
#[derive(Debug, Serialize)]
pub struct SearchTruth {
    pub name: String,
    pub objective: String,
    pub handoff_cost: f64,
    pub candidates: Vec<CandidateTruth>,
    /// The candidate with the highest true net objective (the earliest among ties).
    pub best: String,
    pub best_net_objective_per_100: f64,
    /// Per segment value, its best candidate and value.
    pub best_per_segment: BTreeMap<String, (String, f64)>,
}

impl SearchTruthBuilder {
    /// `None` when the file has no search.
    pub fn new(file: &PoliciesFile) -> Option<SearchTruthBuilder> {
        if file.searches.is_empty() {
            return None;
        }
        let mut families = Vec::new();
        let mut policies: Vec<Policy> = Vec::new();
        for search in &file.searches {
            let Some(base) = file.policies.iter().find(|p| p.name == search.policy) else {
                continue;
            };
            let family = candidates(search, base);
            families.push(Family {
                name: search.name.clone(),
                objective: search.objective,
                handoff_cost: search.handoff_cost,
                names: family.iter().map(|c| c.name.clone()).collect(),
                first: policies.len(),
            });
            policies.extend(family.into_iter().map(|c| c.policy));
        }
        let refs: Vec<&Policy> = policies.iter().collect();
        let candidates = policies.len();
        Some(SearchTruthBuilder {
            families,
            replayer: Replayer::new(&refs),
            candidates,
            overall: vec![0.0; candidates],
            segments: BTreeMap::new(),
            conversations: 0,
        })
    }

    /// Which family candidate `c` (in the shared order) belongs to.
    fn family_of(&self, c: usize) -> &Family {
        let f = self.families.partition_point(|f| f.first <= c);
        &self.families[f.saturating_sub(1)]
    }

    /// Adds one chunk of generated conversations, in order.
    pub fn add(&mut self, chunk: &[Generated]) {
        let n = self.candidates;
        let costs: Vec<f64> = (0..n).map(|c| self.family_of(c).handoff_cost).collect();
        let objectives: Vec<Objective> = (0..n).map(|c| self.family_of(c).objective).collect();
        let blocks: Vec<(Vec<f64>, SegmentSums)> = chunk
            .par_chunks(BLOCK)
            .map(|block| {
                let mut facts = Facts::default();
                let mut ready = Vec::new();
                let mut overall = vec![0.0; n];
                let mut segments: SegmentSums = BTreeMap::new();
                let mut values = vec![0.0; n];
                for g in block {
                    let tl = build_timeline(&g.conversation, &g.prospect_signals);
                    let points = tl.points.len() as u32;
                    self.replayer.decide_into(&tl, &mut facts, &mut ready, |c, d| {
                        let h = d.point.filter(|_| points > 0).map(|p| p.clamp(1, points));
                        values[c] = net(&g.truth, h, objectives[c], costs[c]);
                    });
                    let segment = segment_of(g);
                    let slot = segments.entry(segment).or_insert_with(|| (0, vec![0.0; n]));
                    slot.0 += 1;
                    for c in 0..n {
                        overall[c] += values[c];
                        slot.1[c] += values[c];
                    }
                }
                (overall, segments)
            })
            .collect();
        for (overall, segments) in blocks {
            self.overall.iter_mut().zip(&overall).for_each(|(a, b)| *a += b);
            for (value, (count, sums)) in segments {
                let slot = self.segments.entry(value).or_insert_with(|| (0, vec![0.0; n]));
                slot.0 += count;
                slot.1.iter_mut().zip(&sums).for_each(|(a, b)| *a += b);
            }
        }
        self.conversations += chunk.len() as u64;
    }

    /// Every search's truth.
    pub fn finish(&self) -> Vec<SearchTruth> {
        let per_100 = |sum: f64, count: u64| 100.0 * sum / (count.max(1) as f64);
        self.families
            .iter()
            .map(|f| {
                let range = f.first..f.first + f.names.len();
                let candidates: Vec<CandidateTruth> = range
                    .clone()
                    .zip(&f.names)
                    .map(|(c, name)| CandidateTruth {
                        name: name.clone(),
                        net_objective_per_100: per_100(self.overall[c], self.conversations),
                        segments: self
                            .segments
                            .iter()
                            .map(|(v, (count, sums))| (v.clone(), per_100(sums[c], *count)))
                            .collect(),
                    })
                    .collect();
                let best = best_of(candidates.iter().map(|c| c.net_objective_per_100));
                let best_per_segment = self
                    .segments
                    .keys()
                    .map(|v| {
                        let b = best_of(candidates.iter().map(|c| c.segments[v]));
                        (v.clone(), (candidates[b].name.clone(), candidates[b].segments[v]))
                    })
                    .collect();
                SearchTruth {
                    name: f.name.clone(),
                    objective: f.objective.name().to_string(),
                    handoff_cost: f.handoff_cost,
                    best: candidates[best].name.clone(),
                    best_net_objective_per_100: candidates[best].net_objective_per_100,
                    best_per_segment,
                    candidates,
                }
            })
            .collect()
    }
}

/// The earliest index of the largest value.
fn best_of(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// A conversation's expected net objective under a handoff at `h`.
fn net(truth: &ConversationTruth, h: Option<u32>, objective: Objective, cost: f64) -> f64 {
    let p = outcome_probabilities(truth, h);
    let value = match objective {
        Objective::Meetings => p.meeting,
        Objective::Opportunities => p.opportunity,
        Objective::Pipeline => p.expected_amount,
    };
    value - if h.is_some() { cost } else { 0.0 }
}

/// The segment as slices.md compares it (trimmed, lower-cased, `(none)` when empty).
fn segment_of(g: &Generated) -> String {
    match g.conversation.segment.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => v.to_lowercase(),
        None => super::truth::NONE_VALUE.to_string(),
    }
}
