//! Searches (search.md): a `[[search]]` block names a family of policies around a base
//! policy, the Cartesian product of the keys it varies, and this module lists the family's
//! candidates in the spec's order. Pure: which candidate is recommended is estimation's.

use super::sweep::{format_value, set_parameter, Objective, SweepParameter};
use super::Policy;
use crate::signals::vocabulary::{Guard, Situation};

/// One varied key of a search and its alternatives, in the order the block gives them.
#[derive(Clone, Debug, PartialEq)]
pub enum SearchKey {
    HandOffOn(Vec<Vec<Situation>>),
    Unless(Vec<Vec<Guard>>),
    Bypass(Vec<Vec<Situation>>),
    Numeric(SweepParameter, Vec<f64>),
}

impl SearchKey {
    /// The key's name as the policies file writes it.
    pub fn name(&self) -> String {
        match self {
            SearchKey::HandOffOn(_) => "hand_off_on".into(),
            SearchKey::Unless(_) => "unless".into(),
            SearchKey::Bypass(_) => "bypass".into(),
            SearchKey::Numeric(p, _) => p.name(),
        }
    }

    /// Number of alternatives.
    pub fn len(&self) -> usize {
        match self {
            SearchKey::HandOffOn(v) | SearchKey::Bypass(v) => v.len(),
            SearchKey::Unless(v) => v.len(),
            SearchKey::Numeric(_, v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A parsed `[[search]]` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    pub name: String,
    /// The base: a plain policy of the file.
    pub policy: String,
    pub objective: Objective,
    pub handoff_cost: f64,
    /// The varied keys, in the block's order (the first varies slowest).
    pub keys: Vec<SearchKey>,
    /// The block's line in the policies file (for the `--max-candidates` error).
    pub line: usize,
}

impl Search {
    /// The family's size, `#0` included (saturating: a family too large to count is refused
    /// by `--max-candidates` anyway).
    pub fn family_size(&self) -> u64 {
        self.keys.iter().fold(1u64, |n, k| n.saturating_mul(k.len() as u64)).saturating_add(1)
    }
}

/// One candidate of a family.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// `<search>#<k>`.
    pub name: String,
    /// `k` (0 for the base's own keys).
    pub index: usize,
    pub policy: Policy,
    /// Per varied key (in the block's order), its value as written in outputs.
    pub values: Vec<String>,
    /// How many varied keys differ from the base's value (the one-standard-error rule's
    /// tie-break: fewer is simpler).
    pub changed_keys: usize,
}

/// Every non-empty subset (`with_empty`: the empty one too) of `items`, by decreasing size,
/// equal sizes in lexicographic order of their positions; each subset keeps `items`' order.
pub fn subsets<T: Copy>(items: &[T], with_empty: bool) -> Vec<Vec<T>> {
    let n = items.len().min(16);
    let mut out = Vec::new();
    for size in (if with_empty { 0 } else { 1 }..=n).rev() {
        // Position sets of `size` in lexicographic order.
        let mut positions: Vec<usize> = (0..size).collect();
        loop {
            out.push(positions.iter().map(|&p| items[p]).collect());
            // The rightmost position that can still move right.
            let Some(i) = (0..size).rev().find(|&i| positions[i] < n - size + i) else { break };
            positions[i] += 1;
            for j in i + 1..size {
                positions[j] = positions[j - 1] + 1;
            }
        }
    }
    out
}

fn situations_text(list: &[Situation]) -> String {
    let names: Vec<&str> = list.iter().map(|s| s.name()).collect();
    format!("[{}]", names.join(", "))
}

fn guards_text(list: &[Guard]) -> String {
    let names: Vec<&str> = list.iter().map(|g| g.name()).collect();
    format!("[{}]", names.join(", "))
}

fn same_guards(a: &[Guard], b: &[Guard]) -> bool {
    a.len() == b.len() && a.iter().all(|g| b.contains(g))
}

/// The value of `parameter` in `policy`.
fn parameter_value(policy: &Policy, parameter: SweepParameter) -> f64 {
    match parameter {
        SweepParameter::Threshold => policy.threshold,
        SweepParameter::Weight(s) => policy.weight(s),
        SweepParameter::Delay => f64::from(policy.delay),
        SweepParameter::MinTurn => f64::from(policy.min_turn),
        SweepParameter::MinQualified => f64::from(policy.min_qualified),
        SweepParameter::RepeatedObjectionAfter => f64::from(policy.repeated_objection_after),
        SweepParameter::EnterpriseEmployees => policy.enterprise_employees as f64,
    }
}

/// Candidate `#0`: the base's own keys.
fn base_candidate(search: &Search, base: &Policy) -> Candidate {
    let mut policy = base.clone();
    policy.name = format!("{}#0", search.name);
    let values = search.keys.iter().map(|k| key_value(k, base)).collect();
    Candidate { name: policy.name.clone(), index: 0, policy, values, changed_keys: 0 }
}

/// How `policy`'s value of `key` is written.
fn key_value(key: &SearchKey, policy: &Policy) -> String {
    match key {
        SearchKey::HandOffOn(_) => situations_text(&policy.hand_off_on),
        SearchKey::Unless(_) => guards_text(&policy.unless),
        SearchKey::Bypass(_) => situations_text(&policy.bypass),
        SearchKey::Numeric(p, _) => format_value(parameter_value(policy, *p)),
    }
}

/// The family of `search` over `base`: `#0` first, then the Cartesian product of the varied
/// keys in the block's order (the first key varying slowest), named `<search>#<k>`.
pub fn candidates(search: &Search, base: &Policy) -> Vec<Candidate> {
    let mut out = vec![base_candidate(search, base)];
    if search.keys.iter().any(SearchKey::is_empty) {
        return out;
    }
    let sizes: Vec<usize> = search.keys.iter().map(SearchKey::len).collect();
    let mut choice = vec![0usize; sizes.len()];
    let mut k = 1;
    loop {
        out.push(candidate(search, base, &choice, k));
        k += 1;
        // Odometer: the last key moves fastest.
        let Some(i) = (0..choice.len()).rev().find(|&i| choice[i] + 1 < sizes[i]) else {
            break;
        };
        choice[i] += 1;
        choice[i + 1..].iter_mut().for_each(|c| *c = 0);
    }
    out
}

fn candidate(search: &Search, base: &Policy, choice: &[usize], k: usize) -> Candidate {
    let mut policy = base.clone();
    for (key, &c) in search.keys.iter().zip(choice) {
        match key {
            SearchKey::HandOffOn(alternatives) => policy.hand_off_on = alternatives[c].clone(),
            SearchKey::Unless(alternatives) => policy.unless = alternatives[c].clone(),
            SearchKey::Bypass(alternatives) => policy.bypass = alternatives[c].clone(),
            SearchKey::Numeric(parameter, values) => {
                set_parameter(&mut policy, *parameter, values[c])
            }
        }
    }
    // The bypass (the base's, or the varied value) within the candidate's situations.
    let hand = policy.hand_off_on.clone();
    policy.bypass.retain(|s| hand.contains(s));
    policy.name = format!("{}#{k}", search.name);
    let values: Vec<String> = search.keys.iter().map(|key| key_value(key, &policy)).collect();
    let changed_keys = search
        .keys
        .iter()
        .filter(|key| match key {
            SearchKey::HandOffOn(_) => policy.hand_off_on != base.hand_off_on,
            SearchKey::Unless(_) => !same_guards(&policy.unless, &base.unless),
            SearchKey::Bypass(_) => policy.bypass != base.bypass,
            SearchKey::Numeric(p, _) => {
                parameter_value(&policy, *p).to_bits() != parameter_value(base, *p).to_bits()
            }
        })
        .count();
    Candidate { name: policy.name.clone(), index: k, policy, values, changed_keys }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_come_by_decreasing_size_then_position() {
        let got = subsets(&['a', 'b', 'c'], false);
        let want: Vec<Vec<char>> = vec![
            vec!['a', 'b', 'c'],
            vec!['a', 'b'],
            vec!['a', 'c'],
            vec!['b', 'c'],
            vec!['a'],
            vec!['b'],
            vec!['c'],
        ];
        assert_eq!(got, want);
        let with_empty = subsets(&['a', 'b'], true);
        assert_eq!(with_empty, vec![vec!['a', 'b'], vec!['a'], vec!['b'], vec![]]);
        assert_eq!(subsets::<char>(&[], true), vec![Vec::<char>::new()]);
    }

    fn search(keys: Vec<SearchKey>) -> Search {
        Search {
            name: "s".into(),
            policy: "base".into(),
            objective: Objective::Opportunities,
            handoff_cost: 0.0,
            keys,
            line: 1,
        }
    }

    #[test]
    fn the_family_is_the_product_with_the_first_key_slowest() {
        let mut base = Policy::new("base", vec![Situation::HumanRequest, Situation::HighIntent]);
        base.delay = 1;
        let s = search(vec![
            SearchKey::HandOffOn(subsets(&base.hand_off_on, false)),
            SearchKey::Numeric(SweepParameter::Delay, vec![0.0, 1.0]),
        ]);
        assert_eq!(s.family_size(), 7);
        let family = candidates(&s, &base);
        let names: Vec<&str> = family.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["s#0", "s#1", "s#2", "s#3", "s#4", "s#5", "s#6"]);
        let delays: Vec<u32> = family.iter().map(|c| c.policy.delay).collect();
        assert_eq!(delays, [1, 0, 1, 0, 1, 0, 1]);
        // #3 and #4 hand off on human_request alone; the bypass stays within hand_off_on.
        assert_eq!(family[3].policy.hand_off_on, vec![Situation::HumanRequest]);
        assert_eq!(family[5].policy.hand_off_on, vec![Situation::HighIntent]);
        assert!(family[5].policy.bypass.is_empty());
        assert_eq!(family[3].policy.bypass, vec![Situation::HumanRequest]);
        // Changed keys: #2 is the base's keys again; #1 changes the delay only.
        assert_eq!(family[2].changed_keys, 0);
        assert_eq!(family[1].changed_keys, 1);
        assert_eq!(family[5].changed_keys, 2);
        assert_eq!(family[1].values, ["[human_request, high_intent]", "0"]);
        assert_eq!(family[0].values, ["[human_request, high_intent]", "1"]);
    }
}
