//! Handoff policies: their semantics as data (`Policy`), the policies file (`file`), routed
//! policies (`routed`), the expansion of sweeps into named variants (`sweep`), and the
//! families of candidates that searches explore (`search`).

pub mod file;
pub mod routed;
pub mod search;
pub mod sweep;

use crate::signals::vocabulary::{Guard, Signal, Situation};

pub use file::{parse_policies, PoliciesFile, PolicyFileError};
pub use routed::RoutedPolicy;
pub use search::{Candidate, Search, SearchKey};
pub use sweep::{Objective, Sweep, SweepParameter, Variant};

/// The plain named policies of `file` followed by every sweep variant, in file order (the
/// routed policies, `file.routed`, are composed from the plain ones after replay:
/// `routed::insert_routed`).
pub fn all_policies(file: &PoliciesFile) -> (Vec<Policy>, Vec<Variant>) {
    let mut variants = Vec::new();
    for (index, sw) in file.sweeps.iter().enumerate() {
        if let Some(base) = file.policies.iter().find(|p| p.name == sw.policy) {
            variants.extend(sweep::expand(index, sw, base));
        }
    }
    (file.policies.clone(), variants)
}

/// One handoff policy, with every default filled in (see policies.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub name: String,
    pub hand_off_on: Vec<Situation>,
    pub unless: Vec<Guard>,
    pub bypass: Vec<Situation>,
    pub min_qualified: u8,
    pub repeated_objection_after: u32,
    pub enterprise_employees: i64,
    pub min_turn: u32,
    pub delay: u32,
    /// Score weights per signal, indexed by `Signal::index()`; zero where not given.
    pub weights: [f64; Signal::ALL.len()],
    pub threshold: f64,
}

impl Policy {
    /// A policy with the spec's defaults and the given situations.
    pub fn new(name: &str, hand_off_on: Vec<Situation>) -> Policy {
        let bypass = if hand_off_on.contains(&Situation::HumanRequest) {
            vec![Situation::HumanRequest]
        } else {
            vec![]
        };
        Policy {
            name: name.to_string(),
            hand_off_on,
            unless: vec![],
            bypass,
            min_qualified: 3,
            repeated_objection_after: 2,
            enterprise_employees: 1000,
            min_turn: 1,
            delay: 0,
            weights: [0.0; Signal::ALL.len()],
            threshold: 0.0,
        }
    }

    pub fn weight(&self, s: Signal) -> f64 {
        self.weights[s.index()]
    }
}

/// The `[quality]` reference: the policy every timing metric is judged against.
#[derive(Clone, Debug, PartialEq)]
pub struct QualityReference {
    pub policy: Policy,
    /// Decision points after the reference before a handoff counts as late (>= 1).
    pub late_after: u32,
}

impl Default for QualityReference {
    fn default() -> Self {
        let mut policy = Policy::new("quality-reference", Situation::SEVEN.to_vec());
        policy.unless = Guard::ALL.to_vec();
        QualityReference { policy, late_after: 2 }
    }
}
