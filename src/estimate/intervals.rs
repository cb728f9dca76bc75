//! Statistics built from per-conversation contributions and their 95% intervals.
//!
//! Every figure the estimators produce is a sum of terms `coef * top / bottom`, where `top`
//! and `bottom` are ratios of sums over the window's conversations (`sum num / sum den`). A
//! plain mean, a self-normalised ratio, `handoff_to_meeting` (a ratio of two such means), a
//! sweep's net objective and a paired difference between two policies are all of this form,
//! so one interval machinery serves them all. The sums are over `Column`s: a column's
//! replicate sums are computed once (one pass, `Resampler::prime`) and cached in it, so the
//! dozens of statistics built from the same columns cost nothing more.
//!
//! - bootstrap (`replicates > 0`): replicate `r` weights each conversation by a Poisson(1)
//!   draw keyed by its id (`resample`), and moves the models by one Newton step on the same
//!   weights (`uncertainty`): a column's replicate sum is `sum_i w_ir a_i + g . shift_r`,
//!   with `g` the gradient of `sum_i a_i` in the models' coefficients. Percentile intervals.
//! - normal (`replicates == 0`): the delta method on the contributions corrected for the
//!   models (`a_i + g . H^-1 s_i`, the conversation's influence through the fitted
//!   coefficients), `estimate +- 1.96 sd / sqrt(n)`.

use std::sync::{Arc, Mutex};

use super::resample::{weighted_sums_over, Resampler};
use super::uncertainty::Sensitivity;
use super::value::Estimate;

/// The two-sided 95% normal quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A column's replicate sums, tagged with the id of the resampler they came from.
type CachedSums = Arc<Mutex<Option<(u64, Arc<[f64]>)>>>;

/// Some of the window's conversations (a slice, slices.md): their positions in the window,
/// ascending. A column restricted to a subset reads as zero outside it, so a slice's figure
/// is built from the same per-conversation values as the overall one, and its resamples are
/// the same weights restricted to the slice.
#[derive(Debug, PartialEq)]
pub struct Subset {
    pub rows: Vec<u32>,
}

impl Subset {
    pub fn new(rows: Vec<u32>) -> Arc<Subset> {
        Arc::new(Subset { rows })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One per-conversation column of contributions, with how its sum moves with the models'
/// coefficients (`None`: it does not depend on a model).
///
/// The values are kept in single precision: a report holds seven columns per policy for
/// every conversation (a gigabyte at a million conversations in double precision), while a
/// contribution carries far fewer than seven significant digits of information. Sums are
/// taken in double precision.
///
/// A column restricted to a `Subset` keeps the whole window's values (shared, not copied)
/// and reads as zero outside the subset.
#[derive(Clone, Debug)]
pub struct Column {
    pub values: Arc<[f32]>,
    pub sensitivity: Option<Arc<Sensitivity>>,
    /// `Some`: the column is zero outside these conversations.
    pub subset: Option<Arc<Subset>>,
    /// Replicate sums, tagged with the resampler they came from.
    sums: CachedSums,
    /// The plain sum of the values (over the subset), computed once.
    sum: Arc<std::sync::OnceLock<f64>>,
}

impl PartialEq for Column {
    fn eq(&self, other: &Column) -> bool {
        self.values == other.values
            && self.sensitivity == other.sensitivity
            && self.subset == other.subset
    }
}

impl Column {
    pub fn new(values: Vec<f64>) -> Column {
        Column::from_values(values.into_iter().map(|v| v as f32).collect())
    }

    pub fn from_values(values: Vec<f32>) -> Column {
        Column {
            values: values.into(),
            sensitivity: None,
            subset: None,
            sums: Arc::default(),
            sum: Arc::default(),
        }
    }

    /// The same values, with `sensitivity` (and no cached sums).
    pub fn with_sensitivity(&self, sensitivity: Option<Arc<Sensitivity>>) -> Column {
        Column { sensitivity, sums: Arc::default(), sum: Arc::clone(&self.sum), ..self.clone() }
    }

    /// The same values restricted to `subset` (zero elsewhere), whose sum moves with the
    /// models as `sensitivity` says.
    pub fn restricted(
        &self,
        subset: &Arc<Subset>,
        sensitivity: Option<Arc<Sensitivity>>,
    ) -> Column {
        Column {
            values: self.values.clone(),
            sensitivity,
            subset: Some(Arc::clone(subset)),
            sums: Arc::default(),
            sum: Arc::default(),
        }
    }

    /// 1 on `subset`, 0 elsewhere, over `ones.len()` conversations (`ones`: all ones,
    /// shared by every slice of a run).
    /// A whole-window column of shared values (no sensitivity).
    pub fn shared(values: &Arc<[f32]>) -> Column {
        Column {
            values: Arc::clone(values),
            sensitivity: None,
            subset: None,
            sums: Arc::default(),
            sum: Arc::default(),
        }
    }

    pub fn indicator(ones: &Arc<[f32]>, subset: &Arc<Subset>) -> Column {
        Column {
            values: Arc::clone(ones),
            sensitivity: None,
            subset: Some(Arc::clone(subset)),
            sums: Arc::default(),
            sum: Arc::default(),
        }
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    fn total(&self) -> f64 {
        *self.sum.get_or_init(|| self.sum_values())
    }

    fn sum_values(&self) -> f64 {
        match &self.subset {
            None => self.values.iter().map(|&v| f64::from(v)).sum(),
            Some(s) => s
                .rows
                .iter()
                .map(|&r| self.values.get(r as usize).map_or(0.0, |&v| f64::from(v)))
                .sum(),
        }
    }

    /// The values as the whole window's column: zero outside the subset.
    fn dense(&self) -> Vec<f64> {
        match &self.subset {
            None => self.values.iter().map(|&v| f64::from(v)).collect(),
            Some(s) => {
                let mut out = vec![0.0; self.len()];
                for &r in &s.rows {
                    if let (Some(o), Some(&v)) =
                        (out.get_mut(r as usize), self.values.get(r as usize))
                    {
                        *o = f64::from(v);
                    }
                }
                out
            }
        }
    }

    fn cached(&self, resampler: &Resampler) -> Option<Arc<[f64]>> {
        let guard = self.sums.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().filter(|(id, _)| *id == resampler.id).map(|(_, s)| Arc::clone(s))
    }

    fn store(&self, resampler: &Resampler, sums: Arc<[f64]>) {
        let mut guard = self.sums.lock().unwrap_or_else(|p| p.into_inner());
        *guard = Some((resampler.id, sums));
    }

    /// Replicate sums: the weighted contributions plus the models' shift per replicate.
    pub(crate) fn replicate_sums(&self, resampler: &Resampler) -> Arc<[f64]> {
        if let Some(hit) = self.cached(resampler) {
            return hit;
        }
        resampler.prime(&[self]);
        self.cached(resampler).unwrap_or_else(|| vec![0.0; resampler.replicates].into())
    }

    /// Per-conversation values corrected for the models (normal intervals).
    fn corrected(&self, resampler: &Resampler) -> Vec<f64> {
        let mut values = self.dense();
        if let Some(s) = &self.sensitivity {
            resampler.models.add_influence(s, &mut values);
        }
        values
    }
}

impl Resampler {
    /// Computes and caches the replicate sums of every column not yet summed, in one pass
    /// over the conversations.
    pub fn prime(&self, columns: &[&Column]) {
        if self.replicates == 0 {
            return;
        }
        let missing: Vec<&Column> = columns
            .iter()
            .copied()
            .filter(|c| c.cached(self).is_none() && c.len() == self.keys.len())
            .collect();
        if missing.is_empty() {
            return;
        }
        // One pass per subset: the whole window's columns first, then each slice's (a
        // slice's pass reads only its own conversations).
        let mut groups: Vec<(Option<&Arc<Subset>>, Vec<&Column>)> = Vec::new();
        for column in missing {
            let key = column.subset.as_ref();
            let same = |g: &&mut (Option<&Arc<Subset>>, Vec<&Column>)| match (g.0, key) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            };
            match groups.iter_mut().find(same) {
                Some(g) => g.1.push(column),
                None => groups.push((key, vec![column])),
            }
        }
        for (subset, group) in groups {
            let values: Vec<&[f32]> = group.iter().map(|c| &c.values[..]).collect();
            let rows = subset.map(|s| &s.rows[..]);
            let sums = weighted_sums_over(&self.weights, self.replicates, &values, rows);
            for (column, mut sums) in group.into_iter().zip(sums) {
                if let Some(s) = &column.sensitivity {
                    self.models.add_shifts(s, &mut sums);
                }
                column.store(self, sums.into());
            }
        }
    }
}

/// A column restricted to a slice, the whole-window column it restricts, and the cells
/// (`weighted_sums_grouped`'s groups) the slice is made of.
pub struct CellRestriction<'a> {
    pub source: &'a Column,
    pub restricted: &'a Column,
    pub cells: &'a [usize],
}

impl Resampler {
    /// Replicate sums of `whole` columns and of their restrictions to slices, in one pass
    /// over the window by cell (`cell_of[w] < cells`, a cell of the slices' cross product):
    /// a whole column's sums are the sum over every cell, a slice's over its cells, each
    /// plus its own models' shifts. Columns already summed are left as they are.
    pub fn prime_cells(
        &self,
        whole: &[&Column],
        restricted: &[CellRestriction],
        cell_of: &[u32],
        cells: usize,
    ) {
        if self.replicates == 0 {
            return;
        }
        // The distinct value columns to sum, by address.
        let mut sources: Vec<&Arc<[f32]>> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let all = whole.iter().copied().chain(restricted.iter().map(|r| r.source));
        for c in all.filter(|c| c.len() == self.keys.len()) {
            index.entry(c.values.as_ptr() as usize).or_insert_with(|| {
                sources.push(&c.values);
                sources.len() - 1
            });
        }
        if sources.is_empty() {
            return;
        }
        let values: Vec<&[f32]> = sources.iter().map(|v| &v[..]).collect();
        let by_cell = super::resample::weighted_sums_grouped(
            &self.weights,
            self.replicates,
            &values,
            cell_of,
            cells,
        );
        let sum_over = |j: usize, which: &mut dyn Iterator<Item = usize>| -> Vec<f64> {
            let mut out = vec![0.0; self.replicates];
            for g in which {
                if let Some(s) = by_cell.get(g).and_then(|c| c.get(j)) {
                    out.iter_mut().zip(s).for_each(|(o, v)| *o += v);
                }
            }
            out
        };
        let finish = |column: &Column, mut sums: Vec<f64>| {
            if let Some(s) = &column.sensitivity {
                self.models.add_shifts(s, &mut sums);
            }
            column.store(self, sums.into());
        };
        for c in whole {
            let Some(&j) = index.get(&(c.values.as_ptr() as usize)) else { continue };
            if c.cached(self).is_none() {
                finish(c, sum_over(j, &mut (0..cells)));
            }
        }
        for r in restricted {
            let Some(&j) = index.get(&(r.source.values.as_ptr() as usize)) else { continue };
            if r.restricted.cached(self).is_none() {
                finish(r.restricted, sum_over(j, &mut r.cells.iter().copied()));
            }
        }
    }
}

/// `sum num / sum den` over the window's conversations; `den = None` divides by the count.
#[derive(Clone, Debug, PartialEq)]
pub struct Mean {
    pub num: Column,
    pub den: Option<Column>,
}

impl Mean {
    /// A plain mean of per-conversation values.
    pub fn plain(values: Vec<f64>) -> Mean {
        Mean { num: Column::new(values), den: None }
    }

    /// A ratio of sums with per-conversation denominators.
    pub fn ratio(num: Vec<f64>, den: Column) -> Mean {
        Mean { num: Column::new(num), den: Some(den) }
    }

    fn len(&self) -> usize {
        self.num.len()
    }

    fn columns(&self) -> impl Iterator<Item = &Column> {
        std::iter::once(&self.num).chain(self.den.as_ref())
    }

    /// The value on the sample itself; `None` when the denominator sums to zero.
    fn value(&self) -> Option<f64> {
        let den = match &self.den {
            Some(d) => d.total(),
            None => self.len() as f64,
        };
        ratio_or_none(self.num.total(), den)
    }

    /// The value in every replicate.
    fn replicates(&self, resampler: &Resampler) -> Vec<Option<f64>> {
        let num = self.num.replicate_sums(resampler);
        let den = match &self.den {
            Some(d) => d.replicate_sums(resampler),
            None => resampler.weight_totals.clone().into(),
        };
        num.iter().zip(den.iter()).map(|(&n, &d)| ratio_or_none(n, d)).collect()
    }

    /// Per-conversation influence on the value (delta method, contributions corrected for
    /// the models), scaled so that the standard error is `sd(influence) / sqrt(n)`; `None`
    /// when undefined.
    fn influence(&self, resampler: &Resampler) -> Option<(f64, Vec<f64>)> {
        let n = self.len() as f64;
        let value = self.value()?;
        let num = self.num.corrected(resampler);
        let den = self.den.as_ref().map(|d| d.corrected(resampler));
        let mean_den = match &self.den {
            Some(d) => d.total() / n,
            None => 1.0,
        };
        let infl = (0..self.len())
            .map(|i| {
                let den_i = den.as_ref().map_or(1.0, |d| d[i]);
                (num[i] - value * den_i) / mean_den
            })
            .collect();
        Some((value, infl))
    }
}

fn ratio_or_none(num: f64, den: f64) -> Option<f64> {
    if den.abs() < 1e-12 || !num.is_finite() || !den.is_finite() {
        None
    } else {
        Some(num / den)
    }
}

/// `coef * top / bottom` (`bottom = None`: 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    pub coef: f64,
    pub top: Mean,
    pub bottom: Option<Mean>,
}

impl Term {
    fn value(&self) -> Option<f64> {
        let top = self.top.value()?;
        match &self.bottom {
            None => Some(self.coef * top),
            Some(b) => ratio_or_none(self.coef * top, b.value()?),
        }
    }

    fn replicates(&self, resampler: &Resampler) -> Vec<Option<f64>> {
        let top = self.top.replicates(resampler);
        match &self.bottom {
            None => top.iter().map(|t| t.map(|t| self.coef * t)).collect(),
            Some(b) => top
                .iter()
                .zip(b.replicates(resampler))
                .map(|(t, b)| match (t, b) {
                    (Some(t), Some(b)) => ratio_or_none(self.coef * t, b),
                    _ => None,
                })
                .collect(),
        }
    }

    fn influence(&self, resampler: &Resampler) -> Option<Vec<f64>> {
        let (t, it) = self.top.influence(resampler)?;
        match &self.bottom {
            None => Some(it.into_iter().map(|v| self.coef * v).collect()),
            Some(b) => {
                let (bv, ib) = b.influence(resampler)?;
                if bv.abs() < 1e-12 {
                    return None;
                }
                Some(
                    it.iter()
                        .zip(&ib)
                        .map(|(dt, db)| self.coef * (dt / bv - t * db / (bv * bv)))
                        .collect(),
                )
            }
        }
    }
}

/// A restricted column: its key (the addresses of its values and sensitivity), the
/// whole-window column, and the restriction.
type Made = ((usize, usize), Column, Column);

/// Restricts statistics to one subset of the window's conversations (slices.md), keeping
/// shared columns shared: a column that several statistics of a policy read (its handoff
/// column is in the handoff rate, both handoff ratios and every net objective) is restricted
/// once, so its sums over the subset are computed once.
pub struct Restriction<'a> {
    subset: Arc<Subset>,
    /// 1 on the subset: the denominator of a plain mean over it (shared by every policy of
    /// the slice, so its sums are computed once per slice).
    indicator: Column,
    /// How a restricted column's sum moves with the models, given the whole-window column.
    sensitivity: &'a (dyn Fn(&Column) -> Option<Arc<Sensitivity>> + Sync),
    /// Columns restricted so far, keyed by the addresses of their values and sensitivity,
    /// with the column each restricts.
    made: Mutex<Vec<Made>>,
}

impl<'a> Restriction<'a> {
    /// `indicator` must be `Column::indicator(_, subset)`.
    pub fn new(
        subset: &Arc<Subset>,
        indicator: &Column,
        sensitivity: &'a (dyn Fn(&Column) -> Option<Arc<Sensitivity>> + Sync),
    ) -> Restriction<'a> {
        Restriction {
            subset: Arc::clone(subset),
            indicator: indicator.clone(),
            sensitivity,
            made: Mutex::new(Vec::new()),
        }
    }

    pub fn subset(&self) -> &Arc<Subset> {
        &self.subset
    }

    fn column(&self, c: &Column) -> Column {
        let key = (
            c.values.as_ptr() as usize,
            c.sensitivity.as_ref().map_or(0, |s| Arc::as_ptr(s) as usize),
        );
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, hit)) = made.iter().find(|(k, _, _)| *k == key) {
            return hit.clone();
        }
        let restricted = c.restricted(&self.subset, (self.sensitivity)(c));
        made.push((key, c.clone(), restricted.clone()));
        restricted
    }

    /// Every column restricted so far, with the whole-window column it restricts.
    pub fn into_made(self) -> Vec<(Column, Column)> {
        let made = self.made.into_inner().unwrap_or_else(|p| p.into_inner());
        made.into_iter().map(|(_, source, restricted)| (source, restricted)).collect()
    }

    fn mean(&self, m: &Mean) -> Mean {
        let den = match &m.den {
            Some(d) => self.column(d),
            None => self.indicator.clone(),
        };
        Mean { num: self.column(&m.num), den: Some(den) }
    }
}

/// A figure computed from per-conversation contributions: a sum of terms.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Statistic {
    pub terms: Vec<Term>,
}

impl Statistic {
    /// A single term with coefficient 1.
    pub fn of(top: Mean, bottom: Option<Mean>) -> Statistic {
        Statistic { terms: vec![Term { coef: 1.0, top, bottom }] }
    }

    /// This statistic multiplied by `factor`.
    pub fn scaled(&self, factor: f64) -> Statistic {
        let terms =
            self.terms.iter().map(|t| Term { coef: t.coef * factor, ..t.clone() }).collect();
        Statistic { terms }
    }

    /// The sum of two statistics over the same conversations.
    pub fn plus(&self, other: &Statistic) -> Statistic {
        Statistic { terms: self.terms.iter().chain(&other.terms).cloned().collect() }
    }

    /// The same figure over a subset of the window's conversations (slices.md): the mean
    /// of the same contributions over the subset, with the same resamples restricted to it.
    pub fn restricted(&self, r: &Restriction) -> Statistic {
        let terms = self
            .terms
            .iter()
            .map(|t| Term {
                coef: t.coef,
                top: r.mean(&t.top),
                bottom: t.bottom.as_ref().map(|b| r.mean(b)),
            })
            .collect();
        Statistic { terms }
    }

    /// Number of conversations it averages over.
    pub fn len(&self) -> usize {
        self.terms.first().map_or(0, |t| t.top.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every column the statistic sums (for `Resampler::prime`).
    pub fn columns(&self) -> impl Iterator<Item = &Column> {
        self.terms
            .iter()
            .flat_map(|t| t.top.columns().chain(t.bottom.iter().flat_map(Mean::columns)))
    }

    /// The point estimate; `None` when a denominator is zero or there are no terms.
    pub fn value(&self) -> Option<f64> {
        if self.terms.is_empty() {
            return None;
        }
        self.terms.iter().map(Term::value).sum()
    }

    /// The value in every replicate of `resampler` (`None` where undefined).
    fn replicates(&self, resampler: &Resampler) -> Vec<Option<f64>> {
        let mut total: Vec<Option<f64>> = vec![Some(0.0); resampler.replicates];
        for t in &self.terms {
            for (acc, v) in total.iter_mut().zip(t.replicates(resampler)) {
                *acc = match (*acc, v) {
                    (Some(a), Some(v)) => Some(a + v),
                    _ => None,
                };
            }
        }
        total
    }

    /// Normal interval by the delta method: `value +- 1.96 sd(influence) / sqrt(n)`.
    pub fn normal_interval(&self, resampler: &Resampler) -> Estimate {
        self.normal_interval_z(resampler, Z95)
    }

    /// `value +- z sd(influence) / sqrt(n)`.
    fn normal_interval_z(&self, resampler: &Resampler, z: f64) -> Estimate {
        let Some(value) = self.value() else { return Estimate::NULL };
        let n = self.len();
        let mut total = vec![0.0; n];
        for t in &self.terms {
            let Some(infl) = t.influence(resampler) else { return Estimate::NULL };
            for (acc, v) in total.iter_mut().zip(infl) {
                *acc += v;
            }
        }
        let half = z * sample_sd(&total) / (n as f64).sqrt();
        Estimate::new(value, value - half, value + half)
    }
}

/// Sample standard deviation (n - 1); 0 for fewer than two values.
pub fn sample_sd(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    (ss / (n - 1) as f64).sqrt()
}

/// The 95% intervals of several statistics over the same conversations: bootstrap when the
/// resampler has replicates (one pass over every column first), normal otherwise.
pub fn intervals(stats: &[&Statistic], resampler: &Resampler) -> Vec<Estimate> {
    intervals_at(stats, resampler, 0.95)
}

/// `intervals` at confidence `level` (0.95 for every figure of a report; higher for the
/// Bonferroni comparisons of slices.md).
pub fn intervals_at(stats: &[&Statistic], resampler: &Resampler, level: f64) -> Vec<Estimate> {
    let z = normal_quantile(0.5 + level / 2.0);
    // Exactly 0.025 at 95% (`(1 - 0.95) / 2` is 0.025000000000000022 in floating point).
    let tail = if level == 0.95 { 0.025 } else { (1.0 - level) / 2.0 };
    if resampler.replicates == 0 {
        return stats.iter().map(|s| s.normal_interval_z(resampler, z)).collect();
    }
    let columns: Vec<&Column> = stats.iter().flat_map(|s| s.columns()).collect();
    resampler.prime(&columns);
    stats
        .iter()
        .map(|s| {
            let Some(value) = s.value() else { return Estimate::NULL };
            if s.len() != resampler.len() {
                return s.normal_interval_z(resampler, z);
            }
            let mut draws: Vec<f64> = s.replicates(resampler).into_iter().flatten().collect();
            // Too few defined replicates for percentiles: fall back to the normal interval.
            if draws.len() < 2 || draws.len() * 2 < resampler.replicates {
                return s.normal_interval_z(resampler, z);
            }
            draws.sort_by(f64::total_cmp);
            Estimate::new(value, percentile(&draws, tail), percentile(&draws, 1.0 - tail))
        })
        .collect()
}

/// Percentile of sorted values with linear interpolation (type 7).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Wilson score interval for `successes` out of `n`; null when `n == 0`.
pub fn wilson(successes: u64, n: u64) -> Estimate {
    if n == 0 {
        return Estimate::NULL;
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z95 / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    Estimate::new(p, (centre - half).max(0.0), (centre + half).min(1.0))
}

/// Normal interval of a plain mean; null when empty.
pub fn normal_mean(values: &[f64]) -> Estimate {
    if values.is_empty() {
        return Estimate::NULL;
    }
    Statistic::of(Mean::plain(values.to_vec()), None)
        .normal_interval(&Resampler::normal(values.len()))
}

/// Optimum-minus-runner-up (or any `a - b`) paired over the same conversations, with its
/// interval from the same resamples as each policy's own figures.
pub fn paired_difference(a: &Statistic, b: &Statistic, resampler: &Resampler) -> Estimate {
    paired_difference_at(a, b, resampler, 0.95)
}

/// `paired_difference` with its interval at confidence `level`.
pub fn paired_difference_at(
    a: &Statistic,
    b: &Statistic,
    resampler: &Resampler,
    level: f64,
) -> Estimate {
    if a.len() != b.len() {
        return Estimate::NULL;
    }
    let diff = a.plus(&b.scaled(-1.0));
    intervals_at(&[&diff], resampler, level).pop().unwrap_or(Estimate::NULL)
}

/// The standard normal quantile at `p` (0 < p < 1): Acklam's rational approximation
/// (relative error under 1.2e-9, far finer than an interval needs), exactly `Z95` at 0.975.
/// Hand-written because the only use is turning a confidence level into `z`, which a
/// statistics crate would add a dependency tree for.
pub fn normal_quantile(p: f64) -> f64 {
    if p == 0.975 {
        return Z95;
    }
    if !(p > 0.0 && p < 1.0) {
        return if p <= 0.0 { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let low = 0.024_25;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::resample::conversation_key;
    use crate::estimate::uncertainty::ModelShifts;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn bootstrap(n: usize, replicates: usize, seed: u64) -> Resampler {
        let keys = (0..n).map(|i| conversation_key(&format!("c{i}"))).collect();
        Resampler::new(keys, seed, replicates, ModelShifts::none())
    }

    #[test]
    fn wilson_matches_a_hand_computed_interval() {
        // 5 of 10: centre 0.5, half = 1.96/(1+0.384)*sqrt(0.025+0.0096) = 0.2659...
        let e = wilson(5, 10);
        assert_eq!(e.estimate, Some(0.5));
        assert!(close(e.low.unwrap(), 0.2366, 1e-3), "{e:?}");
        assert!(close(e.high.unwrap(), 0.7634, 1e-3), "{e:?}");
        assert_eq!(wilson(0, 0), Estimate::NULL);
        assert_eq!(wilson(0, 10).low, Some(0.0));
    }

    #[test]
    fn normal_interval_of_a_mean_is_mean_plus_minus_z_se() {
        let e = normal_mean(&[1.0, 2.0, 3.0, 4.0]);
        let se = sample_sd(&[1.0, 2.0, 3.0, 4.0]) / 2.0;
        assert_eq!(e.estimate, Some(2.5));
        assert!(close(e.low.unwrap(), 2.5 - Z95 * se, 1e-12));
        assert!(close(e.high.unwrap(), 2.5 + Z95 * se, 1e-12));
    }

    #[test]
    fn ratio_of_sums_and_ratio_of_ratios_evaluate_exactly() {
        let den = Column::new(vec![1.0, 0.0, 2.0]);
        let top = Mean::ratio(vec![2.0, 0.0, 4.0], den);
        // top = 6 / 3 = 2; bottom = mean(1, 0, 1) = 2/3; value = 3.
        let bottom = Mean::plain(vec![1.0, 0.0, 1.0]);
        let s = Statistic::of(top, Some(bottom));
        assert!(close(s.value().unwrap(), 3.0, 1e-12));
        let zero = Statistic::of(Mean::ratio(vec![1.0], Column::new(vec![0.0])), None);
        assert_eq!(zero.value(), None);
        assert_eq!(zero.normal_interval(&Resampler::normal(1)), Estimate::NULL);
    }

    #[test]
    fn bootstrap_is_deterministic_and_covers_the_estimate() {
        let values: Vec<f64> = (0..200).map(|i| f64::from(i % 7)).collect();
        let s = Statistic::of(Mean::plain(values), None);
        let a = intervals(&[&s], &bootstrap(200, 100, 42));
        let b = intervals(&[&s], &bootstrap(200, 100, 42));
        assert_eq!(a, b);
        let e = a[0];
        assert!(e.low.unwrap() < e.estimate.unwrap() && e.estimate.unwrap() < e.high.unwrap());
        let normal = s.normal_interval(&Resampler::normal(200));
        // The two intervals agree roughly on a well-behaved mean.
        assert!(close(e.low.unwrap(), normal.low.unwrap(), 0.15), "{e:?} {normal:?}");
        assert_ne!(a, intervals(&[&s], &bootstrap(200, 100, 43)));
    }

    #[test]
    fn a_column_is_summed_once_per_resampler() {
        let s = Statistic::of(Mean::plain(vec![1.0, 0.0, 1.0, 1.0]), None);
        let resampler = bootstrap(4, 20, 1);
        let first = intervals(&[&s], &resampler);
        // Statistics sharing the column reuse its cached sums and agree with a fresh pass.
        let doubled = s.scaled(2.0);
        let twice = intervals(&[&doubled], &resampler)[0];
        let fresh = Statistic::of(Mean::plain(vec![1.0, 0.0, 1.0, 1.0]), None).scaled(2.0);
        assert_eq!(twice, intervals(&[&fresh], &resampler)[0]);
        assert_eq!(first, intervals(&[&s], &resampler));
    }

    #[test]
    fn paired_difference_of_identical_statistics_is_exactly_zero() {
        let s = Statistic::of(Mean::plain(vec![0.0, 1.0, 1.0, 0.0, 1.0]), None);
        let d = paired_difference(&s, &s, &bootstrap(5, 50, 7));
        assert_eq!(d, Estimate::new(0.0, 0.0, 0.0));
        let t = Statistic::of(Mean::plain(vec![1.0, 1.0, 1.0, 1.0, 1.0]), None);
        let d = paired_difference(&t, &s, &Resampler::normal(5));
        assert!(close(d.estimate.unwrap(), 0.4, 1e-12));
        // Paired: the difference's sd is that of (1 - s_i).
        let se = sample_sd(&[1.0, 0.0, 0.0, 1.0, 0.0]) / 5f64.sqrt();
        assert!(close(d.high.unwrap(), 0.4 + Z95 * se, 1e-12));
    }

    #[test]
    fn percentile_interpolates() {
        assert_eq!(percentile(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(percentile(&[3.0], 0.975), 3.0);
    }
}
