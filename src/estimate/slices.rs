//! Slices (slices.md): every policy's figures over the conversations holding one value of a
//! column, from the same fitted models, the same per-conversation contributions and the same
//! resamples as the overall figures. A slice's statistic is the overall one restricted to the
//! slice (`intervals::Restriction`): its columns read as zero outside the slice, a plain mean
//! is divided by the slice's size, and its sums move with the models by the gradient of the
//! slice's own sum (accumulated per slice while the policies are drafted). So the overall
//! estimate of every per-conversation figure is the conversation-weighted mean of the
//! slices' estimates.

use std::sync::Arc;

use super::estimators::PolicyStatistics;
use super::intervals::{Column, Restriction, Subset};
use super::uncertainty::Sensitivity;
use super::{history_point, ColumnSensitivities, EstimatorKind, PolicyEvaluation, Unit};

/// One cut of the fitted units by the value of a column: each unit's slice.
#[derive(Clone, Copy, Debug)]
pub struct Cut<'a> {
    /// Per unit (aligned with the units the models were fitted on), its slice, `< slices`.
    pub slice_of: &'a [u32],
    pub slices: usize,
}

/// The most cells of the cuts' cross product that accumulations are keyed by (see
/// `Grouping`); past it, each unit is accumulated once per cut.
pub(crate) const MAX_CELLS: usize = 64;

/// How per-unit accumulations (gradients, totals, replicate sums) are keyed in a sliced run.
///
/// With few cells (the cross product of the cuts' slices: `segment x channel` is 9), each
/// unit goes to its one cell, so slicing costs one more key, not more work per unit; the
/// whole window is the sum of every cell and a slice the sum of its cells. With more, each
/// unit goes to group 0 (the whole window) and to its slice's group in every cut.
#[derive(Clone, Debug)]
pub(crate) struct Grouping {
    pub count: usize,
    cells: bool,
    /// Cells: each cut's stride (mixed radix); otherwise each cut's first group.
    steps: Vec<usize>,
    slices: Vec<usize>,
    /// Per cut, each window position's slice (kept inside the cut's slices).
    slice_at: Vec<Vec<u32>>,
}

impl Grouping {
    /// The grouping of `cuts` over `window` (the units in the window, in unit order).
    pub fn new(cuts: &[Cut], window: &[usize]) -> Grouping {
        let slice_at = cuts
            .iter()
            .map(|c| {
                let last = c.slices.saturating_sub(1) as u32;
                window.iter().map(|&i| c.slice_of.get(i).copied().unwrap_or(0).min(last)).collect()
            })
            .collect();
        let slices: Vec<usize> = cuts.iter().map(|c| c.slices.max(1)).collect();
        let product = slices.iter().try_fold(1usize, |a, &s| a.checked_mul(s));
        match product {
            Some(count) if count <= MAX_CELLS => {
                let mut steps = Vec::with_capacity(slices.len());
                let mut stride = 1;
                for &s in &slices {
                    steps.push(stride);
                    stride *= s;
                }
                Grouping { count, cells: true, steps, slices, slice_at }
            }
            _ => {
                let mut steps = Vec::with_capacity(slices.len());
                let mut next = 1;
                for &s in &slices {
                    steps.push(next);
                    next += s;
                }
                Grouping { count: next, cells: false, steps, slices, slice_at }
            }
        }
    }

    /// Whether each unit is in exactly one group (a cell).
    pub fn is_cells(&self) -> bool {
        self.cells
    }

    /// The groups of the unit at window position `w`.
    pub fn targets(&self, w: usize, out: &mut Vec<usize>) {
        out.clear();
        if self.cells {
            out.push(self.cell(w));
        } else {
            out.push(0);
            for (at, &first) in self.slice_at.iter().zip(&self.steps) {
                out.push(first + at[w] as usize);
            }
        }
    }

    /// Cells mode: the cell of the unit at window position `w`.
    pub fn cell(&self, w: usize) -> usize {
        self.slice_at.iter().zip(&self.steps).map(|(at, &s)| at[w] as usize * s).sum()
    }

    /// The groups whose sum is the whole window.
    pub fn whole(&self) -> Vec<usize> {
        if self.cells {
            (0..self.count).collect()
        } else {
            vec![0]
        }
    }

    /// The groups whose sum is slice `k` of cut `c`.
    pub fn slice(&self, c: usize, k: usize) -> Vec<usize> {
        if self.cells {
            let (stride, n) = (self.steps[c], self.slices[c]);
            (0..self.count).filter(|g| (g / stride) % n == k).collect()
        } else {
            vec![self.steps[c] + k]
        }
    }
}

/// The window's conversations of every slice of every cut.
#[derive(Debug)]
pub struct Scopes {
    /// Per cut, per slice: the slice's window positions and its indicator column.
    pub(crate) slices: Vec<Vec<(Arc<Subset>, Column)>>,
    /// 1 for every window conversation: the column the indicators restrict.
    pub(crate) ones: Column,
}

impl Scopes {
    /// The slices of `cuts` over `window` (the units in the window, in unit order).
    pub fn new(window: &[usize], cuts: &[Cut]) -> Scopes {
        let ones: Arc<[f32]> = vec![1.0f32; window.len()].into();
        let slices = cuts
            .iter()
            .map(|cut| {
                let mut rows: Vec<Vec<u32>> = vec![Vec::new(); cut.slices];
                for (w, &i) in window.iter().enumerate() {
                    if let Some(r) = cut.slice_of.get(i).and_then(|&s| rows.get_mut(s as usize)) {
                        r.push(w as u32);
                    }
                }
                rows.into_iter()
                    .map(|r| {
                        let subset = Subset::new(r);
                        let indicator = Column::indicator(&ones, &subset);
                        (subset, indicator)
                    })
                    .collect()
            })
            .collect();
        Scopes { slices, ones: Column::shared(&ones) }
    }

    /// The flat index of (cut, slice) among every slice of every cut.
    pub(crate) fn flat(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.slices.iter().enumerate().flat_map(|(c, s)| (0..s.len()).map(move |k| (c, k)))
    }
}

/// A policy's statistics over one slice. `whole` says how the whole window's columns move
/// with the models (the sensitivities the statistics carry), `slice` how the slice's sums
/// do, in the same column order; `matched` and the weights' totals are the slice's.
pub(crate) fn restrict(
    statistics: &PolicyStatistics,
    whole: &ColumnSensitivities,
    slice: &ColumnSensitivities,
    totals: &super::estimators::Totals,
    kind: EstimatorKind,
    scope: &(Arc<Subset>, Column),
) -> (PolicyStatistics, Vec<(Column, Column)>) {
    let map = |c: &Column| -> Option<Arc<Sensitivity>> {
        let s = c.sensitivity.as_ref()?;
        let j = whole.iter().position(|w| w.as_ref().is_some_and(|w| Arc::ptr_eq(w, s)))?;
        slice[j].clone()
    };
    let r = Restriction::new(&scope.0, &scope.1, &map);
    let n = scope.0.len();
    let matched = totals.matched();
    let restricted = PolicyStatistics {
        handoff_rate: statistics.handoff_rate.restricted(&r),
        outcomes: std::array::from_fn(|j| statistics.outcomes[j].restricted(&r)),
        handoff_to: std::array::from_fn(|j| statistics.handoff_to[j].restricted(&r)),
        matched_share: if n == 0 { 0.0 } else { matched as f64 / n as f64 },
        effective_sample_size: totals.effective_sample_size(kind),
        matched,
    };
    (restricted, r.into_made())
}

/// Every policy's figures per slice: `[cut][slice][policy]`, policies in the order given.
#[derive(Debug, Default)]
pub struct Sliced {
    pub overall: Vec<PolicyEvaluation>,
    pub slices: Vec<Vec<Vec<PolicyEvaluation>>>,
}

/// A digest of a sequence of handoff points: slice evaluations keep no per-conversation
/// points (a million conversations times every policy and slice), only this, to tell two
/// policies' decisions apart within the slice (`sweep`'s runner-up).
pub fn points_digest(points: impl Iterator<Item = Option<u32>>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in points {
        let v = p.map_or(0u64, |p| u64::from(p) + 1);
        for b in v.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// `historical` over one slice: the observed figures of the slice's window conversations
/// (`historical_estimate`), and the overall contributions restricted to the slice.
pub fn historical_slice(
    units: &[Unit],
    overall: &PolicyEvaluation,
    cut: &Cut,
    slice: usize,
    scopes: &Scopes,
    cut_index: usize,
) -> PolicyEvaluation {
    let Some(scope) = scopes.slices.get(cut_index).and_then(|s| s.get(slice)) else {
        return PolicyEvaluation::default();
    };
    let members: Vec<Unit> = units
        .iter()
        .enumerate()
        .filter(|(i, u)| u.in_window && cut.slice_of.get(*i).is_some_and(|&s| s as usize == slice))
        .map(|(_, u)| *u)
        .collect();
    let none = |_: &Column| None;
    let r = Restriction::new(&scope.0, &scope.1, &none);
    let s = &overall.statistics;
    let statistics = PolicyStatistics {
        handoff_rate: s.handoff_rate.restricted(&r),
        outcomes: std::array::from_fn(|j| s.outcomes[j].restricted(&r)),
        handoff_to: std::array::from_fn(|j| s.handoff_to[j].restricted(&r)),
        matched_share: 1.0,
        effective_sample_size: None,
        matched: members.len(),
    };
    PolicyEvaluation {
        estimate: super::historical_estimate(&members),
        digest: points_digest(members.iter().map(history_point)),
        handoff_points: Vec::new(),
        supported: !members.is_empty(),
        statistics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_tell_decisions_apart() {
        let a = [Some(1), None, Some(3)];
        let b = [Some(1), Some(0), Some(3)];
        assert_eq!(points_digest(a.into_iter()), points_digest(a.into_iter()));
        assert_ne!(points_digest(a.into_iter()), points_digest(b.into_iter()));
        assert_ne!(points_digest([None].into_iter()), points_digest([Some(0)].into_iter()));
    }

    #[test]
    fn cells_partition_the_window_and_each_slice() {
        let a = [0u32, 1, 2, 0];
        let b = [1u32, 0, 1, 1];
        let cuts = [Cut { slice_of: &a, slices: 3 }, Cut { slice_of: &b, slices: 2 }];
        let window = [0, 1, 2, 3];
        let g = Grouping::new(&cuts, &window);
        assert!(g.is_cells());
        assert_eq!(g.count, 6);
        let mut t = Vec::new();
        g.targets(2, &mut t);
        assert_eq!(t, [2 + 3]);
        assert_eq!(g.whole(), (0..6).collect::<Vec<_>>());
        // Slice 1 of the first cut: cells (1, 0) and (1, 1).
        assert_eq!(g.slice(0, 1), [1, 4]);
        assert_eq!(g.slice(1, 1), [3, 4, 5]);
        // Too many cells: one group per slice of every cut, plus the whole window.
        let many: Vec<u32> = (0..9).collect();
        let cuts = [Cut { slice_of: &many, slices: 9 }, Cut { slice_of: &many, slices: 9 }];
        let g = Grouping::new(&cuts, &(0..9).collect::<Vec<_>>());
        assert!(!g.is_cells());
        assert_eq!(g.count, 19);
        g.targets(4, &mut t);
        assert_eq!(t, [0, 5, 14]);
        assert_eq!(g.whole(), [0]);
        assert_eq!(g.slice(1, 2), [12]);
    }

    #[test]
    fn scopes_list_each_slice_s_window_positions() {
        // Units 0..5, unit 2 outside the window; slices by unit: 1, 0, 1, 1, 0.
        let window = [0, 1, 3, 4];
        let slice_of = [1, 0, 1, 1, 0];
        let scopes = Scopes::new(&window, &[Cut { slice_of: &slice_of, slices: 2 }]);
        assert_eq!(scopes.slices[0][0].0.rows, vec![1, 3]);
        assert_eq!(scopes.slices[0][1].0.rows, vec![0, 2]);
        assert_eq!(scopes.flat().collect::<Vec<_>>(), vec![(0, 0), (0, 1)]);
    }
}
