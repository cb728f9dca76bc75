//! Sweeps: a parameter of one policy varied over a grid, each value a named variant.

use super::Policy;
use crate::signals::vocabulary::Signal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepParameter {
    Threshold,
    Delay,
    MinTurn,
    MinQualified,
    RepeatedObjectionAfter,
    EnterpriseEmployees,
    Weight(Signal),
}

impl SweepParameter {
    pub fn name(&self) -> String {
        match self {
            SweepParameter::Threshold => "threshold".into(),
            SweepParameter::Delay => "delay".into(),
            SweepParameter::MinTurn => "min_turn".into(),
            SweepParameter::MinQualified => "min_qualified".into(),
            SweepParameter::RepeatedObjectionAfter => "repeated_objection_after".into(),
            SweepParameter::EnterpriseEmployees => "enterprise_employees".into(),
            SweepParameter::Weight(s) => format!("weights.{}", s.name()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    Meetings,
    Opportunities,
    Pipeline,
}

impl Objective {
    pub fn name(self) -> &'static str {
        match self {
            Objective::Meetings => "meetings",
            Objective::Opportunities => "opportunities",
            Objective::Pipeline => "pipeline",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub policy: String,
    pub parameter: SweepParameter,
    /// The grid, already expanded from `from`/`to`/`step` or taken from `values`.
    pub values: Vec<f64>,
    pub objective: Objective,
    pub handoff_cost: f64,
}

/// One point of a sweep: the base policy with the parameter set to `value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// `<policy>@<parameter>=<value>`.
    pub name: String,
    /// Index of the sweep in the policies file.
    pub sweep: usize,
    pub value: f64,
    pub policy: Policy,
}
