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

/// Why `value` cannot be given to `parameter` (policies.md ranges; integer parameters take
/// integral values only), or `None` when it can.
pub fn parameter_value_problem(parameter: SweepParameter, value: f64) -> Option<String> {
    let name = parameter.name();
    if !value.is_finite() {
        return Some(format!("{name} = {value} is not a finite number"));
    }
    let (min, max, range) = match parameter {
        SweepParameter::Threshold | SweepParameter::Weight(_) => {
            return (value < 0.0).then(|| format!("{name} = {value} is out of range (>= 0)"));
        }
        SweepParameter::Delay => (0.0, f64::from(u32::MAX), ">= 0"),
        SweepParameter::MinTurn => (1.0, f64::from(u32::MAX), ">= 1"),
        SweepParameter::MinQualified => (0.0, 4.0, "0 to 4"),
        SweepParameter::RepeatedObjectionAfter => (2.0, f64::from(u32::MAX), ">= 2"),
        SweepParameter::EnterpriseEmployees => (1.0, 9.0e15, ">= 1"),
    };
    if integral(value).is_none() {
        return Some(format!("{name} = {value} is not an integer"));
    }
    (value < min - INTEGRAL_TOLERANCE || value > max + INTEGRAL_TOLERANCE)
        .then(|| format!("{name} = {value} is out of range ({range})"))
}

/// How far a grid point may sit from an integer and still count as one (`0.1 * 30`).
const INTEGRAL_TOLERANCE: f64 = 1e-9;

/// The integer `value` stands for, when it is one (within the grid's rounding error).
fn integral(value: f64) -> Option<i64> {
    let rounded = value.round();
    ((value - rounded).abs() <= INTEGRAL_TOLERANCE && rounded.abs() < 9.0e15)
        .then_some(rounded as i64)
}

/// `value` rounded to 10 significant digits, so a grid step's floating-point noise
/// (`0.6000000000000001`) never reaches a name or an output.
pub fn round_value(value: f64) -> f64 {
    let rounded: f64 = format!("{value:.9e}").parse().unwrap_or(value);
    if rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

/// `value` in its shortest form after rounding to 10 significant digits (`0.15`, `3`).
pub fn format_value(value: f64) -> String {
    let rounded = round_value(value);
    if rounded == 0.0 {
        // Also turns -0 into 0.
        return "0".into();
    }
    format!("{rounded}")
}

/// The variants of sweep number `sweep_index` of the policies file over its base `policy`:
/// one per grid value, in grid order, named `<policy>@<parameter>=<value>`. Values are assumed
/// validated (`parameter_value_problem`); integer parameters are set to the nearest integer.
pub fn expand(sweep_index: usize, sweep: &Sweep, policy: &Policy) -> Vec<Variant> {
    sweep
        .values
        .iter()
        .map(|&raw| {
            let value = round_value(raw);
            let mut variant = policy.clone();
            set_parameter(&mut variant, sweep.parameter, value);
            let name =
                format!("{}@{}={}", policy.name, sweep.parameter.name(), format_value(value));
            variant.name = name.clone();
            Variant { name, sweep: sweep_index, value, policy: variant }
        })
        .collect()
}

pub(crate) fn set_parameter(policy: &mut Policy, parameter: SweepParameter, value: f64) {
    let whole = integral(value).unwrap_or(value.round() as i64).max(0);
    let as_u32 = u32::try_from(whole).unwrap_or(u32::MAX);
    match parameter {
        SweepParameter::Threshold => policy.threshold = value,
        SweepParameter::Weight(s) => policy.weights[s.index()] = value,
        SweepParameter::Delay => policy.delay = as_u32,
        SweepParameter::MinTurn => policy.min_turn = as_u32.max(1),
        SweepParameter::MinQualified => {
            policy.min_qualified = u8::try_from(whole.min(4)).unwrap_or(4)
        }
        SweepParameter::RepeatedObjectionAfter => policy.repeated_objection_after = as_u32,
        SweepParameter::EnterpriseEmployees => policy.enterprise_employees = whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::vocabulary::Situation;

    fn sweep(parameter: SweepParameter, values: Vec<f64>) -> Sweep {
        Sweep {
            policy: "base".into(),
            parameter,
            values,
            objective: Objective::Opportunities,
            handoff_cost: 0.0,
        }
    }

    #[test]
    fn values_are_written_in_shortest_form_after_rounding() {
        assert_eq!(format_value(0.15), "0.15");
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.1 + 0.2), "0.3");
        assert_eq!(format_value(0.1 + 2.0 * 0.05), "0.2");
        assert_eq!(format_value(1.0 / 3.0), "0.3333333333");
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(2500.0), "2500");
    }

    #[test]
    fn expand_names_and_sets_each_variant() {
        let base = Policy::new("base", vec![Situation::Score]);
        let s = sweep(SweepParameter::Threshold, vec![0.1, 0.1 + 0.05, 0.1 + 2.0 * 0.05]);
        let variants = expand(4, &s, &base);
        let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["base@threshold=0.1", "base@threshold=0.15", "base@threshold=0.2"]);
        assert!(variants.iter().all(|v| v.sweep == 4 && v.policy.name == v.name));
        // The variant runs with the value its name shows, not the grid's floating-point noise.
        assert_eq!(variants[1].policy.threshold, 0.15);
        assert_eq!(variants[1].value, 0.15);

        let s = sweep(SweepParameter::Weight(Signal::ObjectionPrice), vec![2.0]);
        let v = &expand(0, &s, &base)[0];
        assert_eq!(v.name, "base@weights.objection:price=2");
        assert_eq!(v.policy.weight(Signal::ObjectionPrice), 2.0);
    }

    #[test]
    fn integer_parameters_take_the_nearest_integer() {
        let base = Policy::new("base", vec![Situation::HighIntent]);
        type Read = fn(&Policy) -> i64;
        let cases: [(SweepParameter, f64, Read, i64); 5] = [
            (SweepParameter::Delay, 3.0000000000004, |p| i64::from(p.delay), 3),
            (SweepParameter::MinTurn, 2.0, |p| i64::from(p.min_turn), 2),
            (SweepParameter::MinQualified, 4.0, |p| i64::from(p.min_qualified), 4),
            (
                SweepParameter::RepeatedObjectionAfter,
                5.0,
                |p| i64::from(p.repeated_objection_after),
                5,
            ),
            (SweepParameter::EnterpriseEmployees, 250.0, |p| p.enterprise_employees, 250),
        ];
        for (parameter, value, read, expected) in cases {
            let v = &expand(0, &sweep(parameter, vec![value]), &base)[0];
            assert_eq!(read(&v.policy), expected, "{}", parameter.name());
            assert_eq!(v.name, format!("base@{}={expected}", parameter.name()));
        }
    }

    #[test]
    fn value_problems_follow_the_ranges() {
        use SweepParameter::*;
        assert!(parameter_value_problem(Delay, -1.0).is_some());
        assert!(parameter_value_problem(Delay, 1.5).is_some());
        assert!(parameter_value_problem(Delay, 0.0).is_none());
        assert!(parameter_value_problem(MinTurn, 0.0).is_some());
        assert!(parameter_value_problem(MinQualified, 5.0).is_some());
        assert!(parameter_value_problem(RepeatedObjectionAfter, 1.0).is_some());
        assert!(parameter_value_problem(EnterpriseEmployees, 0.0).is_some());
        assert!(parameter_value_problem(Threshold, 0.25).is_none());
        assert!(parameter_value_problem(Threshold, -0.25).is_some());
        assert!(parameter_value_problem(Weight(Signal::Pricing), f64::NAN).is_some());
        assert!(parameter_value_problem(MinQualified, 0.1 * 30.0).is_none());
    }
}
