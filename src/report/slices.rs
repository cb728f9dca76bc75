//! How the report reads `Summary.slices` (slices.md, `--by`): which figure a cut's table
//! compares (the headline objective), which slices are too small to trust, and the order of
//! the policies across slices. One home for these choices, so that `slices.csv`, the page,
//! `report.md` and the small-multiples chart always agree. Pure.

use crate::estimate::Rate;
use crate::policy::sweep::Objective;
use crate::summary::{PolicyKind, Slice, SliceCut, Summary};

/// The words of the warning slices.md gives a slice under `--min-slice` ("too few
/// conversations for a reliable estimate"); matched as a phrase so a rewording of the rest of
/// the sentence does not silently drop the mark.
pub const THIN_WARNING: &str = "too few conversations";

/// The figure the slice tables compare: the first sweep's objective as a per-conversation
/// rate when there are sweeps (that is what the sweeps optimise), else the opportunity rate
/// (the figure the overall findings lead with).
pub fn headline_rate(summary: &Summary) -> Rate {
    let objective = summary.sweeps.first().map(|s| s.objective.as_str());
    if objective == Some(Objective::Meetings.name()) {
        Rate::Meeting
    } else if objective == Some(Objective::Pipeline.name()) {
        Rate::Pipeline
    } else {
        Rate::Opportunity
    }
}

/// What the headline figure's numbers are, as a table caption says it.
pub fn headline_label(rate: Rate) -> &'static str {
    match rate {
        Rate::Meeting => "Meetings per 100 conversations",
        Rate::Pipeline => "Pipeline per conversation",
        _ => "Opportunities per 100 conversations",
    }
}

/// Whether a slice's figures are flagged as unreliable: fewer conversations than the cut's
/// `--min-slice`, or the warning saying so on the slice (either is enough, so the mark does not
/// hang on one of the two being filled in).
pub fn is_thin(cut: &SliceCut, slice: &Slice) -> bool {
    slice.conversations < cut.min_slice || slice.warnings.iter().any(|w| w.contains(THIN_WARNING))
}

/// The named policies (no sweep variants) of a cut, in the order of the overall policy table
/// (historical first, then the policies file's), then any name only a slice knows, so that a
/// policy sits in the same column or position in every slice.
pub fn policy_names(summary: &Summary, cut: &SliceCut) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let named = summary
        .policies
        .iter()
        .chain(cut.values.iter().flat_map(|s| &s.policies))
        .filter(|p| p.kind != PolicyKind::Variant);
    for p in named {
        if !names.contains(&p.name) {
            names.push(p.name.clone());
        }
    }
    names
}

/// The number of slices `level` was computed for (`level = 1 - 0.05 / k`), when it is such a
/// level; the page states both, and reading `k` back keeps the sentence true to the figure the
/// computation used.
pub fn bonferroni_slices(level: f64) -> Option<u64> {
    if !(level.is_finite() && (0.95..1.0).contains(&level)) {
        return None;
    }
    let k = (0.05 / (1.0 - level)).round();
    // Only a level that really is 1 - 0.05/k for a whole k (within rounding of the division).
    let exact = (1.0 - 0.05 / k - level).abs() < 1e-9;
    (exact && (1.0..1e6).contains(&k)).then_some(k as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{PolicySummary, SweepSummary};

    fn sweep(objective: &str) -> SweepSummary {
        SweepSummary { objective: objective.into(), ..SweepSummary::default() }
    }

    fn named(name: &str, kind: PolicyKind) -> PolicySummary {
        PolicySummary { name: name.into(), kind, ..PolicySummary::default() }
    }

    #[test]
    fn the_headline_is_the_first_sweeps_objective_else_opportunities() {
        let mut summary = Summary::default();
        assert_eq!(headline_rate(&summary), Rate::Opportunity);
        summary.sweeps = vec![sweep("pipeline"), sweep("meetings")];
        assert_eq!(headline_rate(&summary), Rate::Pipeline);
        summary.sweeps.remove(0);
        assert_eq!(headline_rate(&summary), Rate::Meeting);
        summary.sweeps = vec![sweep("opportunities")];
        assert_eq!(headline_rate(&summary), Rate::Opportunity);
        assert_eq!(headline_label(Rate::Pipeline), "Pipeline per conversation");
    }

    #[test]
    fn a_slice_is_thin_under_min_slice_or_with_the_warning() {
        let cut = SliceCut { min_slice: 200, ..SliceCut::default() };
        let big = Slice { conversations: 200, ..Slice::default() };
        assert!(!is_thin(&cut, &big));
        assert!(is_thin(&cut, &Slice { conversations: 199, ..Slice::default() }));
        let warned =
            Slice { warnings: vec!["too few conversations for a reliable estimate".into()], ..big };
        assert!(is_thin(&cut, &warned));
    }

    #[test]
    fn policy_names_follow_the_overall_table_and_skip_variants() {
        let summary = Summary {
            policies: vec![
                named("historical", PolicyKind::Historical),
                named("b", PolicyKind::Policy),
            ],
            ..Summary::default()
        };
        let cut = SliceCut {
            values: vec![Slice {
                policies: vec![
                    named("late-only", PolicyKind::Policy),
                    named("b", PolicyKind::Policy),
                    named("b@x=1", PolicyKind::Variant),
                ],
                ..Slice::default()
            }],
            ..SliceCut::default()
        };
        assert_eq!(policy_names(&summary, &cut), ["historical", "b", "late-only"]);
    }

    #[test]
    fn the_bonferroni_count_is_read_back_from_the_level() {
        assert_eq!(bonferroni_slices(1.0 - 0.05 / 12.0), Some(12));
        assert_eq!(bonferroni_slices(0.975), Some(2));
        assert_eq!(bonferroni_slices(0.95), Some(1));
        assert_eq!(bonferroni_slices(0.99), Some(5));
        assert_eq!(bonferroni_slices(0.97), None, "0.05/0.03 is not a whole number of slices");
        assert_eq!(bonferroni_slices(1.0), None);
        assert_eq!(bonferroni_slices(f64::NAN), None);
        assert_eq!(bonferroni_slices(0.5), None);
    }
}

/// Fabricated slice cuts for the exporters', the page's and the charts' tests.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::summary::{Estimate, PolicySummary, Slice, SliceCut, Summary};

    /// Twelve values of an extra column, for a cut at `--max-slices 12`.
    pub(crate) const REGIONS: [&str; 12] = [
        "north-america-east",
        "north-america-west",
        "emea-north",
        "emea-south",
        "latin-america",
        "apac",
        "anz",
        "japan",
        "india",
        "middle-east",
        "(none)",
        "(other)",
    ];

    /// Conversations per slice by rank: the last two under the default `--min-slice` 200.
    const SIZES: [u64; 12] = [2012, 1480, 930, 610, 450, 380, 300, 260, 230, 210, 180, 150];

    /// Rounded to 4 decimals, so snapshots show plain figures.
    fn round(x: f64) -> f64 {
        (x * 1e4).round() / 1e4
    }

    /// `e` scaled by `factor`, its interval widened for a slice of `n` conversations.
    fn shifted(e: Estimate, factor: f64, n: u64) -> Estimate {
        let Some(v) = e.estimate else { return e };
        let half = match (e.low, e.high) {
            (Some(l), Some(h)) => (h - l) / 2.0 * (2000.0 / n as f64).sqrt(),
            _ => return Estimate { estimate: Some(round(v * factor)), ..e },
        };
        let v = v * factor;
        Estimate::new(round(v), round((v - half).max(0.0)), round(v + half))
    }

    /// Makes slice `k` of `cut` one under `--min-slice`: 150 conversations, the thin warning on
    /// it and its figures, no optimum.
    pub(crate) fn make_thin(cut: &mut SliceCut, k: usize) {
        let slice = &mut cut.values[k];
        slice.conversations = 150;
        slice.warnings =
            vec![format!("{} for a reliable estimate (150 < 200)", super::THIN_WARNING)];
        for p in &mut slice.policies {
            p.warnings = vec![format!("{} for a reliable estimate", super::THIN_WARNING)];
        }
        for sweep in &mut slice.sweeps {
            sweep.optimal = None;
        }
    }

    fn slice_policy(p: &PolicySummary, factor: f64, n: u64, thin: bool) -> PolicySummary {
        let mut p = p.clone();
        p.conversations = n;
        p.handoffs = (n as f64 * p.rates.handoff_rate).round() as u64;
        for rate in crate::estimate::Rate::ALL {
            p.rates.set(rate, shifted(p.rates.get(rate), factor, n));
        }
        p.warnings = if thin {
            vec![super::THIN_WARNING.to_string() + " for a reliable estimate"]
        } else {
            Vec::new()
        };
        p
    }

    /// One cut per `(column, values)` of `summary`: slice `k` holds `SIZES[k]` conversations,
    /// every policy (variants included) with its rates scaled by a factor that differs by slice
    /// and policy (so the best policy changes between slices), and its own sweeps; slices under
    /// 200 conversations carry the thin warning and no optimum.
    pub(crate) fn cuts(summary: &Summary, columns: &[(&str, &[&str])]) -> Vec<SliceCut> {
        columns
            .iter()
            .map(|(by, values)| {
                let slices: Vec<Slice> = values
                    .iter()
                    .zip(SIZES)
                    .enumerate()
                    .map(|(k, (value, n))| {
                        let thin = n < 200;
                        let factor = |j: usize| 0.7 + 0.15 * ((k * 7 + j * 3) % 5) as f64;
                        let policies = summary
                            .policies
                            .iter()
                            .enumerate()
                            .map(|(j, p)| slice_policy(p, factor(j), n, thin))
                            .collect();
                        let variants = summary
                            .variants
                            .iter()
                            .map(|p| slice_policy(p, factor(k), n, thin))
                            .collect();
                        let mut sweeps = summary.sweeps.clone();
                        for sweep in &mut sweeps {
                            if thin {
                                sweep.optimal = None;
                            } else if let Some(o) = sweep.optimal.as_mut() {
                                o.beats_runner_up = k % 2 == 0;
                            }
                        }
                        let warnings = if thin {
                            vec![format!(
                                "{} for a reliable estimate ({n} < 200)",
                                super::THIN_WARNING
                            )]
                        } else {
                            Vec::new()
                        };
                        Slice {
                            value: value.to_string(),
                            conversations: n,
                            policies,
                            sweeps,
                            warnings,
                            variants,
                        }
                    })
                    .collect();
                let k = slices.len() as f64;
                SliceCut {
                    by: by.to_string(),
                    min_slice: 200,
                    findings: vec![format!(
                        "For {}, framework would have created the most opportunities (24.1 per \
                         100, 19.0 to 29.5); for {}, late (12.3 per 100, 9.0 to 15.6).",
                        values[0],
                        values.get(1).unwrap_or(&values[0])
                    )],
                    level: 1.0 - 0.05 / k,
                    values: slices,
                }
            })
            .collect()
    }
}
