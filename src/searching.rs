//! The searches of a run (search.md): each `[[search]]` block's family listed
//! (`policy::search`), estimated (`Estimation::search`) and shaped as `search.json` reads it.
//! No I/O: `report` writes `search.json`, `search.csv` and `recommended.toml` from
//! `SearchSummary`, and `optimize` prints it.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use crate::estimate::search::{CandidateEstimate, RouteCut, RoutedEstimate, SearchEstimate};
use crate::estimate::{Estimate, Estimation, PolicyEvaluation, Unit};
use crate::format::{fixed_or_na, interval_or_na};
use crate::policy::search::{candidates, Search, SearchKey};
use crate::policy::{Candidate, PoliciesFile, Policy};

/// The default of `--max-candidates`.
pub const DEFAULT_MAX_CANDIDATES: u64 = 100_000;

/// Candidates in `search.json`'s leaderboard.
pub const LEADERBOARD: usize = 10;

/// A family larger than `--max-candidates` (exit 2).
#[derive(Debug, thiserror::Error)]
#[error(
    "{path}: line {line}: search `{name}`: its family has {size} candidates, more than \
     --max-candidates ({max}); vary fewer keys or fewer values, or raise --max-candidates"
)]
pub struct FamilyTooLarge {
    pub path: String,
    pub line: usize,
    pub name: String,
    pub size: u64,
    pub max: u64,
}

/// Refuses any search of `file` whose family exceeds `max` candidates.
pub fn check_family_sizes(file: &PoliciesFile, path: &str, max: u64) -> Result<(), FamilyTooLarge> {
    for search in &file.searches {
        let size = search.family_size();
        if size > max {
            return Err(FamilyTooLarge {
                path: path.to_string(),
                line: search.line,
                name: search.name.clone(),
                size,
                max,
            });
        }
    }
    Ok(())
}

/// A candidate's varied keys and their values, in the block's order (a JSON object).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Keys(pub Vec<(String, Value)>);

impl Keys {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Keys {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One candidate as `search.json` and `search.csv` show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CandidateSummary {
    pub name: String,
    /// The varied keys' values.
    pub keys: Keys,
    pub net_objective_per_100: Estimate,
    pub handoff_rate: f64,
    pub matched_share: f64,
    pub effective_sample_size: Option<f64>,
    pub eligible: bool,
    /// The earlier candidate with identical decisions, if any.
    pub duplicate_of: Option<String>,
    pub duplicates: usize,
}

/// The recommendation, estimated on all the data (optimistic: it was chosen on it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recommended {
    pub name: String,
    pub keys: Keys,
    /// In-sample, so optimistic (the winner's curse): the honest value is `honest`.
    pub in_sample_net_objective_per_100: Estimate,
    pub changed_keys: Vec<String>,
    pub handoff_rate: f64,
}

/// The cross-fitted value of searching and deploying the winner.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Honest {
    pub net_objective_per_100: Estimate,
    pub versus_historical: Estimate,
    pub versus_base: Estimate,
    pub folds: usize,
    pub stable_folds: usize,
    /// Per fold, the candidate it chose (null: none eligible there).
    pub fold_choices: Vec<Option<String>>,
}

/// The cross-fitted value of a routed policy, paired with the single policy's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoutedHonest {
    pub net_objective_per_100: Estimate,
    pub versus_historical: Estimate,
    pub versus_base: Estimate,
    /// Routed minus single, on the same held-out conversations.
    pub versus_single: Estimate,
    pub folds: usize,
}

/// One slice of a routed search.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SliceWinner {
    pub value: String,
    pub conversations: u64,
    /// The candidate this slice is routed to: its own winner, or the single recommendation
    /// (`own_winner` false: too small, `(none)`, `(other)`, or nothing eligible there).
    pub routed_to: String,
    pub own_winner: bool,
    pub keys: Keys,
    /// In this slice, on all the data (optimistic for a winner chosen there).
    pub in_sample_net_objective_per_100: Estimate,
    pub base_net_objective_per_100: Estimate,
    pub stable_folds: usize,
    pub fold_choices: Vec<Option<String>>,
}

/// The routed policy a search builds for one `--by` column (search.md, "A policy per slice").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoutedSummary {
    pub by: String,
    /// Whether it is recommended over the single policy.
    pub recommended: bool,
    /// The sentence the report prints.
    pub verdict: String,
    pub honest: RoutedHonest,
    pub in_sample_net_objective_per_100: Estimate,
    pub slices: Vec<SliceWinner>,
    /// Per slice with a winner of its own, its value and policy, then `"*"` and the single
    /// recommendation (`recommended.toml`); not in `search.json`.
    #[serde(skip)]
    pub routes: Vec<(String, Policy)>,
}

/// One search's result (`search.json`'s `searches[]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchSummary {
    pub name: String,
    pub base: String,
    pub objective: String,
    pub handoff_cost: f64,
    /// The family's size (`#0` included).
    pub candidates: usize,
    pub distinct: usize,
    /// The varied keys, in the block's order.
    pub varied: Vec<String>,
    pub historical_net_objective_per_100: f64,
    /// The leaderboard: the best distinct candidates by net objective.
    pub top: Vec<CandidateSummary>,
    pub recommended: Option<Recommended>,
    pub honest: Option<Honest>,
    /// Why the search has no result, when it has none.
    pub problem: Option<String>,
    /// With `--by`: per column, the routed policy with a winner per slice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routed: Vec<RoutedSummary>,
    /// Every candidate, in family order (`search.csv`); not in `search.json`.
    #[serde(skip)]
    pub all: Vec<CandidateSummary>,
    /// The recommended policy itself (`recommended.toml`); not in `search.json`.
    #[serde(skip)]
    pub policy: Option<Policy>,
    /// The recommendation evaluated over the window (for the sensitivity analysis, which
    /// takes it out); not in `search.json`.
    #[serde(skip)]
    pub evaluation: Option<PolicyEvaluation>,
}

/// Runs every search of `file` over the estimation's window.
/// With routing `cuts` (`--by`), each search also builds a routed policy per cut.
pub fn run_searches(
    estimation: &Estimation,
    units: &[Unit],
    file: &PoliciesFile,
    only: Option<&str>,
    cuts: &[RouteCut],
) -> Vec<SearchSummary> {
    file.searches
        .iter()
        .filter(|s| only.is_none_or(|name| s.name == name))
        .filter_map(|search| {
            let base = file.policies.iter().find(|p| p.name == search.policy)?;
            let family = candidates(search, base);
            let estimate =
                estimation.search(units, &family, search.objective, search.handoff_cost, cuts);
            let summary = summarise(search, &family, estimate);
            crate::stage!("stage: search estimated", search = %search.name, candidates = family.len());
            Some(summary)
        })
        .collect()
}

/// A candidate's varied keys with typed values: lists as lists of names; numbers as written
/// in its `values` (integers as integers, `delay = 2`, others as the shortest float).
fn keys_of(search: &Search, candidate: &Candidate) -> Keys {
    let p = &candidate.policy;
    let names = |list: Vec<&'static str>| json!(list);
    let number = |text: &str| match text.parse::<i64>() {
        Ok(i) => json!(i),
        Err(_) => text.parse::<f64>().map_or(Value::String(text.to_string()), |v| json!(v)),
    };
    let keys = search.keys.iter().zip(&candidate.values).map(|(key, text)| {
        let value = match key {
            SearchKey::HandOffOn(_) => names(p.hand_off_on.iter().map(|s| s.name()).collect()),
            SearchKey::Bypass(_) => names(p.bypass.iter().map(|s| s.name()).collect()),
            SearchKey::Unless(_) => names(p.unless.iter().map(|g| g.name()).collect()),
            SearchKey::Numeric(..) => number(text),
        };
        (key.name(), value)
    });
    Keys(keys.collect())
}

fn candidate_summary(
    search: &Search,
    family: &[Candidate],
    c: usize,
    e: &CandidateEstimate,
) -> CandidateSummary {
    CandidateSummary {
        name: family[c].name.clone(),
        keys: keys_of(search, &family[c]),
        net_objective_per_100: e.net_per_100,
        handoff_rate: e.handoff_rate,
        matched_share: e.matched_share,
        effective_sample_size: e.effective_sample_size,
        eligible: e.eligible,
        duplicate_of: e.duplicate_of.map(|d| family[d].name.clone()),
        duplicates: e.duplicates,
    }
}

/// A routed estimate as `search.json` shows it.
fn routed_summary(
    search: &Search,
    family: &[Candidate],
    recommended: usize,
    r: &RoutedEstimate,
    folds: usize,
) -> RoutedSummary {
    let slices: Vec<SliceWinner> = r
        .slices
        .iter()
        .map(|s| {
            let to = s.winner.unwrap_or(recommended);
            SliceWinner {
                value: s.name.clone(),
                conversations: s.conversations,
                routed_to: family[to].name.clone(),
                own_winner: s.winner.is_some(),
                keys: keys_of(search, &family[to]),
                in_sample_net_objective_per_100: s.net_per_100,
                base_net_objective_per_100: s.base_net_per_100,
                stable_folds: s.stable_folds,
                fold_choices: s
                    .fold_choices
                    .iter()
                    .map(|c| c.map(|c| family[c].name.clone()))
                    .collect(),
            }
        })
        .collect();
    let mut routes: Vec<(String, Policy)> = r
        .slices
        .iter()
        .filter_map(|s| Some((s.name.clone(), family[s.winner?].policy.clone())))
        .collect();
    routes.push((crate::policy::routed::FALLBACK.to_string(), family[recommended].policy.clone()));
    let difference = fixed_or_na(r.versus_single.estimate, 2);
    let interval = interval_or_na(&r.versus_single, 2);
    let verdict = if r.recommended {
        format!(
            "A policy per {} is recommended: its honest value beats the single policy's by \
             {difference} net per 100 conversations (95% interval {interval}).",
            r.by
        )
    } else {
        format!(
            "The data does not support a policy per {}: routing by it changes the honest value \
             by {difference} net per 100 conversations (95% interval {interval}), not beyond \
             the uncertainty, so it is not recommended.",
            r.by
        )
    };
    RoutedSummary {
        by: r.by.clone(),
        recommended: r.recommended,
        verdict,
        honest: RoutedHonest {
            net_objective_per_100: r.net_per_100,
            versus_historical: r.versus_historical,
            versus_base: r.versus_base,
            versus_single: r.versus_single,
            folds,
        },
        in_sample_net_objective_per_100: r.in_sample,
        slices,
        routes,
    }
}

impl SearchSummary {
    /// The routed policy recommended over the single one, if any: the one with the highest
    /// honest value among the recommended.
    pub fn recommended_routed(&self) -> Option<&RoutedSummary> {
        best_routed(&self.routed).map(|k| &self.routed[k])
    }
}

/// The recommended routed policy with the highest honest value (the first among equals).
fn best_routed(routed: &[RoutedSummary]) -> Option<usize> {
    let value = |r: &RoutedSummary| r.honest.net_objective_per_100.estimate.unwrap_or(f64::MIN);
    (0..routed.len()).filter(|&k| routed[k].recommended).fold(None, |best, k| match best {
        Some(b) if value(&routed[b]) >= value(&routed[k]) => Some(b),
        _ => Some(k),
    })
}

fn summarise(search: &Search, family: &[Candidate], estimate: SearchEstimate) -> SearchSummary {
    let all: Vec<CandidateSummary> = estimate
        .candidates
        .iter()
        .enumerate()
        .map(|(c, e)| candidate_summary(search, family, c, e))
        .collect();
    let mut ranked: Vec<usize> =
        (0..all.len()).filter(|&c| estimate.candidates[c].duplicate_of.is_none()).collect();
    // Best first; ties keep family order (the sort is stable).
    ranked.sort_by(|&a, &b| {
        let (x, y) = (
            all[a].net_objective_per_100.estimate.unwrap_or(f64::NEG_INFINITY),
            all[b].net_objective_per_100.estimate.unwrap_or(f64::NEG_INFINITY),
        );
        y.total_cmp(&x)
    });
    let top = ranked.iter().take(LEADERBOARD).map(|&c| all[c].clone()).collect();
    let base = &family[0];
    let recommended = estimate.recommended.map(|r| {
        let candidate = &family[r];
        let changed = search
            .keys
            .iter()
            .zip(candidate.values.iter().zip(&base.values))
            .filter(|(_, (a, b))| a != b)
            .map(|(k, _)| k.name())
            .collect();
        Recommended {
            name: candidate.name.clone(),
            keys: keys_of(search, candidate),
            in_sample_net_objective_per_100: estimate.recommended_net_per_100,
            changed_keys: changed,
            handoff_rate: estimate.candidates[r].handoff_rate,
        }
    });
    let honest = estimate.honest.as_ref().map(|h| Honest {
        net_objective_per_100: h.net_per_100,
        versus_historical: h.versus_historical,
        versus_base: h.versus_base,
        folds: h.folds,
        stable_folds: h.stable_folds,
        fold_choices: h.choices.iter().map(|c| c.map(|c| family[c].name.clone())).collect(),
    });
    let folds = estimate.honest.as_ref().map_or(0, |h| h.folds);
    let routed: Vec<RoutedSummary> = match estimate.recommended {
        Some(rec) => {
            estimate.routed.iter().map(|r| routed_summary(search, family, rec, r, folds)).collect()
        }
        None => Vec::new(),
    };
    // The sensitivity analysis bounds what is recommended: the routed policy when it is.
    let evaluation = match best_routed(&routed) {
        Some(k) => estimate.routed[k].evaluation.clone(),
        None => estimate.recommended_evaluation,
    };
    SearchSummary {
        name: search.name.clone(),
        base: search.policy.clone(),
        objective: search.objective.name().to_string(),
        handoff_cost: search.handoff_cost,
        candidates: family.len(),
        distinct: estimate.distinct,
        varied: search.keys.iter().map(SearchKey::name).collect(),
        historical_net_objective_per_100: estimate.historical_net_per_100,
        top,
        recommended,
        honest,
        problem: estimate.problem.clone(),
        routed,
        all,
        policy: estimate.recommended.map(|r| family[r].policy.clone()),
        evaluation,
    }
}
