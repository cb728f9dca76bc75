//! The searches of a run (search.md): each `[[search]]` block's family listed
//! (`policy::search`), estimated (`Estimation::search`) and shaped as `search.json` reads it.
//! No I/O: `report` writes `search.json`, `search.csv` and `recommended.toml` from
//! `SearchSummary`, and `optimize` prints it.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use crate::estimate::search::{CandidateEstimate, SearchEstimate};
use crate::estimate::{Estimate, Estimation, PolicyEvaluation, Unit};
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
pub fn run_searches(
    estimation: &Estimation,
    units: &[Unit],
    file: &PoliciesFile,
    only: Option<&str>,
) -> Vec<SearchSummary> {
    file.searches
        .iter()
        .filter(|s| only.is_none_or(|name| s.name == name))
        .filter_map(|search| {
            let base = file.policies.iter().find(|p| p.name == search.policy)?;
            let family = candidates(search, base);
            let estimate =
                estimation.search(units, &family, search.objective, search.handoff_cost);
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
        all,
        policy: estimate.recommended.map(|r| family[r].policy.clone()),
        evaluation: estimate.recommended_evaluation,
    }
}
