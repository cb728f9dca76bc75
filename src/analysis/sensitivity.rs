//! The sensitivity analysis of a report run (sensitivity.md), in the summary's terms: every
//! policy's bounds (overall and per slice), every sweep point's net-objective bounds, and the
//! robustness values of the headline comparisons. The arithmetic is
//! `estimate::sensitivity`'s; this file picks the conversations, the estimates and the scales.

use crate::estimate::sensitivity::{
    difference_shift, moving, policy_sums, robustness_value, side, Inputs, Interval, Sums,
};
use crate::estimate::slices::{Cut, Scopes};
use crate::estimate::{Estimation, PolicyEvaluation, Rate, Unit};
use crate::summary::{
    Bounds, Comparison, Estimate, GammaBounds, NetBounds, PolicyBounds, SensitivitySummary,
};

/// Whether the run has bounds, and what they rest on.
pub(super) enum State<'a> {
    /// `--gammas none`: no trace in any output.
    Off,
    /// The analysis does not apply; the sentence says why.
    Skipped(&'static str),
    On(Run<'a>),
}

/// Every policy's summed shifts, per group of conversations: group 0 is the whole window,
/// then every slice of every cut in flat order.
pub(super) struct Run<'a> {
    inputs: Inputs,
    gammas: Vec<f64>,
    /// `[evaluation][group]`.
    sums: Vec<Vec<Sums>>,
    /// Each evaluation's handoff points over the window (empty when unsupported).
    points: Vec<&'a [Option<u32>]>,
    /// Per cut, its first group.
    first_group: Vec<usize>,
}

/// Where a figure's conversations are: the whole window, or slice `k` of cut `c`.
#[derive(Clone, Copy, Debug)]
pub(super) enum Scope {
    Whole,
    Slice(usize, usize),
}

impl<'a> State<'a> {
    /// The run's state: bounds for every evaluation (named policies and sweep variants, in
    /// evaluation order) over the window and every slice of `cuts`.
    pub(super) fn new(
        gammas: &[f64],
        estimation: &Estimation,
        units: &[Unit],
        evaluations: &[&'a PolicyEvaluation],
        cuts: &[Cut],
    ) -> State<'a> {
        if gammas.is_empty() {
            return State::Off;
        }
        let inputs = match estimation.sensitivity_inputs(units) {
            Ok(inputs) => inputs,
            Err(reason) => return State::Skipped(reason),
        };
        let window = estimation.window();
        let points: Vec<&[Option<u32>]> = evaluations
            .iter()
            .map(|e| if e.supported { &e.handoff_points[..] } else { &[][..] })
            .collect();
        let mut first_group = Vec::with_capacity(cuts.len());
        let mut groups = 1;
        for cut in cuts {
            first_group.push(groups);
            groups += cut.slices;
        }
        let slice_at: Vec<Vec<u32>> = cuts
            .iter()
            .map(|c| window.iter().map(|&i| c.slice_of.get(i).copied().unwrap_or(0)).collect())
            .collect();
        let groups_of = |w: usize, out: &mut Vec<usize>| {
            out.clear();
            out.push(0);
            for ((at, &first), cut) in slice_at.iter().zip(&first_group).zip(cuts) {
                let k = at.get(w).map_or(0, |&k| k as usize);
                if k < cut.slices {
                    out.push(first + k);
                }
            }
        };
        let sums = policy_sums(&inputs, gammas, &points, groups, &groups_of);
        State::On(Run { inputs, gammas: gammas.to_vec(), sums, points, first_group })
    }

    /// Historical's `sensitivity` (and any field that is absent when off, null otherwise).
    pub(super) fn historical<T>(&self) -> Option<Option<T>> {
        (!matches!(self, State::Off)).then_some(None)
    }

    pub(super) fn run(&self) -> Option<&Run<'a>> {
        match self {
            State::On(run) => Some(run),
            _ => None,
        }
    }

    /// A policy's `sensitivity` field: absent when off, null when skipped.
    pub(super) fn policy(
        &self,
        evaluation: usize,
        scope: Scope,
        figure: &PolicyEvaluation,
    ) -> Option<Option<Vec<PolicyBounds>>> {
        match self {
            State::Off => None,
            State::Skipped(_) => Some(None),
            State::On(run) => Some(run.policy(evaluation, scope, figure)),
        }
    }

    /// The top-level `sensitivity`, with `comparisons`.
    pub(super) fn summary(&self, comparisons: Vec<Comparison>) -> Option<SensitivitySummary> {
        match self {
            State::Off => None,
            State::Skipped(reason) => Some(SensitivitySummary {
                gammas: Vec::new(),
                comparisons: Vec::new(),
                skipped: Some(reason.to_string()),
            }),
            State::On(run) => {
                Some(SensitivitySummary { gammas: run.gammas.clone(), comparisons, skipped: None })
            }
        }
    }
}

/// The outcome column of a rate (meeting, opportunity, pipeline).
fn column(rate: Rate) -> usize {
    match rate {
        Rate::Meeting => 0,
        Rate::Opportunity => 1,
        _ => 2,
    }
}

impl Run<'_> {
    fn group(&self, scope: Scope) -> usize {
        match scope {
            Scope::Whole => 0,
            Scope::Slice(c, k) => self.first_group.get(c).map_or(usize::MAX, |f| f + k),
        }
    }

    /// The scope's window positions.
    fn rows<'s>(&self, scope: Scope, scopes: &'s Scopes) -> Box<dyn Iterator<Item = usize> + 's> {
        match scope {
            Scope::Whole => Box::new(0..self.inputs.conversations.len()),
            Scope::Slice(c, k) => match scopes.slices.get(c).and_then(|s| s.get(k)) {
                Some((subset, _)) => Box::new(subset.rows.iter().map(|&r| r as usize)),
                None => Box::new(std::iter::empty()),
            },
        }
    }

    /// The summed shifts of evaluation `e` over `scope`, per gamma.
    fn sums(&self, e: usize, scope: Scope) -> Option<&Sums> {
        self.sums.get(e)?.get(self.group(scope))
    }

    /// A policy's bounds over `scope`, from its figures there (`figure`); null when it has
    /// no estimate.
    fn policy(
        &self,
        e: usize,
        scope: Scope,
        figure: &PolicyEvaluation,
    ) -> Option<Vec<PolicyBounds>> {
        let n = figure.estimate.conversations;
        if !figure.supported || n == 0 {
            return None;
        }
        let sums = self.sums(e, scope)?;
        let rates = &figure.estimate.rates;
        let bound = |g: usize, rate: Rate| -> Bounds {
            let Some(estimate) = rates.get(rate).estimate else { return Bounds::default() };
            let shift = sums.per_gamma[g][column(rate)];
            let upper = if rate.is_share() { 1.0 } else { f64::INFINITY };
            let b = Interval::shifted(estimate, shift, 1.0 / n as f64).clamped(0.0, upper);
            Bounds { low: Some(b.low), high: Some(b.high) }
        };
        Some(
            self.gammas
                .iter()
                .enumerate()
                .map(|(g, &gamma)| PolicyBounds {
                    gamma,
                    meeting_rate: bound(g, Rate::Meeting),
                    opportunity_rate: bound(g, Rate::Opportunity),
                    pipeline_per_conversation: bound(g, Rate::Pipeline),
                })
                .collect(),
        )
    }

    /// A sweep point's net objective bounds (per 100 conversations, not clamped: a net can be
    /// negative).
    pub(super) fn net(
        &self,
        e: usize,
        scope: Scope,
        rate: Rate,
        net: &Estimate,
        conversations: u64,
    ) -> Vec<NetBounds> {
        let sums = self.sums(e, scope);
        self.gammas
            .iter()
            .enumerate()
            .map(|(g, &gamma)| {
                let b = match (net.estimate, sums) {
                    (Some(v), Some(s)) if conversations > 0 => {
                        let shift = s.per_gamma[g][column(rate)];
                        let i = Interval::shifted(v, shift, 100.0 / conversations as f64);
                        Bounds { low: Some(i.low), high: Some(i.high) }
                    }
                    _ => Bounds::default(),
                };
                NetBounds { gamma, net_objective_per_100: b }
            })
            .collect()
    }

    /// The bounds of a paired difference `a - b` (`b`: `None` for `historical`, whose figures
    /// are observed and have no weight to move) on `rate` over `scope`, per gamma, and its
    /// robustness value. `difference`: the paired estimate; `scale`: its unit per
    /// conversation's figure (1 for a rate, 100 for a net per 100).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn difference(
        &self,
        a: usize,
        b: Option<usize>,
        rate: Rate,
        scope: Scope,
        scopes: &Scopes,
        difference: Option<f64>,
        scale: f64,
    ) -> (Vec<GammaBounds>, Option<f64>) {
        let no_points: &[Option<u32>] = &[];
        let pa = self.points.get(a).copied().unwrap_or(no_points);
        let pb = b.map(|b| self.points.get(b).copied().unwrap_or(no_points));
        let history = |w: usize| self.inputs.conversations.get(w).and_then(|c| c.history);
        let side_of =
            |w: usize| side(pa.get(w).copied(), pb.and_then(|p| p.get(w).copied()), history(w));
        let n = self.rows(scope, scopes).count();
        let Some(d) = difference.filter(|_| n > 0 && !pa.is_empty()) else {
            let nulls =
                self.gammas.iter().map(|&gamma| GammaBounds { gamma, low: None, high: None });
            return (nulls.collect(), None);
        };
        let per = scale / n as f64;
        let pairs = moving(&self.inputs, &mut self.rows(scope, scopes), &side_of);
        let at = |gamma: f64| -> Interval {
            let shift = difference_shift(&self.inputs, gamma, column(rate), &pairs);
            Interval::shifted(d, shift, per)
        };
        let bounds = self
            .gammas
            .iter()
            .map(|&gamma| {
                let i = at(gamma);
                GammaBounds { gamma, low: Some(i.low), high: Some(i.high) }
            })
            .collect();
        (bounds, robustness_value(&|gamma| at(gamma).low))
    }
}
