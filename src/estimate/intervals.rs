//! Statistics built from per-conversation contributions and their 95% intervals.
//!
//! Every figure the estimators produce is a sum of terms `coef * top / bottom`, where `top`
//! and `bottom` are ratios of sums over the window's conversations (`sum num / sum den`). A
//! plain mean, a self-normalised ratio, `handoff_to_meeting` (a ratio of two such means), a
//! sweep's net objective and a paired difference between two policies are all of this form,
//! so one interval machinery serves them all:
//!
//! - bootstrap (`config.bootstrap > 0`): replicate `r` resamples the conversations with a
//!   ChaCha8 stream seeded by `(config.seed, r)`; the same resample serves every statistic and
//!   every policy, so numerators and denominators move together and paired differences are
//!   consistent. Models are not refitted. Percentile intervals. The resampling counts are
//!   drawn once per `(seed, replicates, n)` and cached for the whole run (as bytes when every
//!   count fits), so the dozens of `intervals` calls of a report share one set of draws.
//! - normal (`config.bootstrap == 0`): the delta method on the contributions (the influence of
//!   each conversation on the statistic), `estimate +- 1.96 sd / sqrt(n)`.

use std::sync::{Arc, Mutex};

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::value::Estimate;

/// The two-sided 95% normal quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// `sum num / sum den` over the window's conversations; `den = None` divides by the count.
#[derive(Clone, Debug, PartialEq)]
pub struct Mean {
    pub num: Arc<[f64]>,
    pub den: Option<Arc<[f64]>>,
}

impl Mean {
    /// A plain mean of per-conversation values.
    pub fn plain(values: Vec<f64>) -> Mean {
        Mean { num: values.into(), den: None }
    }

    /// A ratio of sums with per-conversation denominators.
    pub fn ratio(num: Vec<f64>, den: Arc<[f64]>) -> Mean {
        Mean { num: num.into(), den: Some(den) }
    }

    fn len(&self) -> usize {
        self.num.len()
    }

    /// Value with resampling counts (`None` = the sample itself); `None` when the
    /// denominator sums to zero.
    fn eval(&self, counts: Option<Counts>) -> Option<f64> {
        let (num, den) = match counts {
            None => (
                self.num.iter().sum::<f64>(),
                match &self.den {
                    Some(d) => d.iter().sum::<f64>(),
                    None => self.len() as f64,
                },
            ),
            Some(c) => weighted_sums(&self.num, self.den.as_deref(), c),
        };
        ratio_or_none(num, den)
    }

    /// Per-conversation influence on the value (delta method), scaled so that the standard
    /// error is `sd(influence) / sqrt(n)`; `None` when undefined.
    fn influence(&self) -> Option<(f64, Vec<f64>)> {
        let n = self.len() as f64;
        let value = self.eval(None)?;
        let mean_den = match &self.den {
            Some(d) => d.iter().sum::<f64>() / n,
            None => 1.0,
        };
        let infl = (0..self.len())
            .map(|i| {
                let den_i = self.den.as_ref().map_or(1.0, |d| d[i]);
                (self.num[i] - value * den_i) / mean_den
            })
            .collect();
        Some((value, infl))
    }
}

/// One replicate's resampling counts, borrowed: bytes when every count fits in one (the
/// usual case: a count is about Poisson(1)), `u32` otherwise.
#[derive(Clone, Copy, Debug)]
enum Counts<'a> {
    Narrow(&'a [u8]),
    Wide(&'a [u32]),
}

fn weighted_sums(num: &[f64], den: Option<&[f64]>, counts: Counts) -> (f64, f64) {
    match (counts, den) {
        (Counts::Narrow(c), Some(d)) => sums_with_den(num, d, c),
        (Counts::Narrow(c), None) => sums_without_den(num, c),
        (Counts::Wide(c), Some(d)) => sums_with_den(num, d, c),
        (Counts::Wide(c), None) => sums_without_den(num, c),
    }
}

/// `(sum c*num, sum c*den)` in conversation order (the order fixes the rounding).
fn sums_with_den<C: Copy + Into<u32>>(num: &[f64], den: &[f64], counts: &[C]) -> (f64, f64) {
    let mut s_num = 0.0;
    let mut s_den = 0.0;
    for ((&c, &x), &d) in counts.iter().zip(num).zip(den) {
        let c: u32 = c.into();
        if c == 0 {
            continue;
        }
        let c = f64::from(c);
        s_num += c * x;
        s_den += c * d;
    }
    (s_num, s_den)
}

/// `(sum c*num, sum c)` in conversation order.
fn sums_without_den<C: Copy + Into<u32>>(num: &[f64], counts: &[C]) -> (f64, f64) {
    let mut s_num = 0.0;
    let mut s_den = 0.0;
    for (&c, &x) in counts.iter().zip(num) {
        let c: u32 = c.into();
        if c == 0 {
            continue;
        }
        let c = f64::from(c);
        s_num += c * x;
        s_den += c;
    }
    (s_num, s_den)
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
    fn eval(&self, counts: Option<Counts>) -> Option<f64> {
        let top = self.top.eval(counts)?;
        match &self.bottom {
            None => Some(self.coef * top),
            Some(b) => ratio_or_none(self.coef * top, b.eval(counts)?),
        }
    }

    fn influence(&self) -> Option<Vec<f64>> {
        let (t, it) = self.top.influence()?;
        match &self.bottom {
            None => Some(it.into_iter().map(|v| self.coef * v).collect()),
            Some(b) => {
                let (bv, ib) = b.influence()?;
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

    /// Number of conversations it averages over.
    pub fn len(&self) -> usize {
        self.terms.first().map_or(0, |t| t.top.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The point estimate; `None` when a denominator is zero or there are no terms.
    pub fn value(&self) -> Option<f64> {
        self.eval(None)
    }

    fn eval(&self, counts: Option<Counts>) -> Option<f64> {
        if self.terms.is_empty() {
            return None;
        }
        self.terms.iter().map(|t| t.eval(counts)).sum()
    }

    /// Normal interval by the delta method: `value +- 1.96 sd(influence) / sqrt(n)`.
    pub fn normal_interval(&self) -> Estimate {
        let Some(value) = self.value() else { return Estimate::NULL };
        let n = self.len();
        let mut total = vec![0.0; n];
        for t in &self.terms {
            let Some(infl) = t.influence() else { return Estimate::NULL };
            for (acc, v) in total.iter_mut().zip(infl) {
                *acc += v;
            }
        }
        let half = Z95 * sample_sd(&total) / (n as f64).sqrt();
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

/// Resampling counts of replicate `replicate` over `n` conversations: `n` draws with
/// replacement from a ChaCha8 stream fixed by `(seed, replicate)`. The same for every policy
/// and statistic, which is what makes paired differences paired.
pub fn bootstrap_counts(seed: u64, replicate: u32, n: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::from(replicate));
    let mut counts = vec![0u32; n];
    if n == 0 {
        return counts;
    }
    for _ in 0..n {
        counts[rng.random_range(0..n)] += 1;
    }
    counts
}

/// One replicate's counts, owned.
#[derive(Debug)]
enum OwnedCounts {
    Narrow(Box<[u8]>),
    Wide(Box<[u32]>),
}

impl OwnedCounts {
    fn borrow(&self) -> Counts<'_> {
        match self {
            OwnedCounts::Narrow(c) => Counts::Narrow(c),
            OwnedCounts::Wide(c) => Counts::Wide(c),
        }
    }

    /// Replicate `replicate`'s counts (`bootstrap_counts`), narrowed to bytes when they fit.
    fn draw(seed: u64, replicate: u32, n: usize) -> OwnedCounts {
        let wide = bootstrap_counts(seed, replicate, n);
        if wide.iter().all(|&c| c <= u32::from(u8::MAX)) {
            OwnedCounts::Narrow(wide.iter().map(|&c| c as u8).collect())
        } else {
            OwnedCounts::Wide(wide.into_boxed_slice())
        }
    }
}

/// Every replicate's counts for one `(seed, replicates, n)`.
#[derive(Debug)]
struct Resamples {
    key: (u64, u32, usize),
    counts: Vec<OwnedCounts>,
}

/// The resamples of the latest `(seed, replicates, n)` asked for: a report asks for the same
/// ones for every policy, variant and difference, and drawing them is most of an interval's
/// cost. Only one set is kept, so memory stays at `replicates * n` bytes.
static RESAMPLES: Mutex<Option<Arc<Resamples>>> = Mutex::new(None);

fn resamples(seed: u64, bootstrap: u32, n: usize) -> Arc<Resamples> {
    let key = (seed, bootstrap, n);
    // A poisoned lock only means another thread panicked mid-draw; the cache is then empty
    // or complete, never partial (it is replaced whole).
    let mut cached = RESAMPLES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(hit) = cached.as_ref().filter(|r| r.key == key) {
        return Arc::clone(hit);
    }
    // Drawn sequentially on purpose: a rayon job here could steal another `intervals` job
    // that then blocks on this very lock.
    let counts = (0..bootstrap).map(|r| OwnedCounts::draw(seed, r, n)).collect();
    let fresh = Arc::new(Resamples { key, counts });
    *cached = Some(Arc::clone(&fresh));
    fresh
}

/// The 95% intervals of several statistics over the same conversations: bootstrap when
/// `bootstrap > 0` (one resample per replicate shared by all of them), normal otherwise.
pub fn intervals(stats: &[&Statistic], bootstrap: u32, seed: u64) -> Vec<Estimate> {
    if bootstrap == 0 {
        return stats.iter().map(|s| s.normal_interval()).collect();
    }
    let n = stats.first().map_or(0, |s| s.len());
    let resamples = resamples(seed, bootstrap, n);
    let replicates: Vec<Vec<Option<f64>>> = resamples
        .counts
        .par_iter()
        .map(|counts| stats.iter().map(|s| s.eval(Some(counts.borrow()))).collect())
        .collect();
    stats
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let Some(value) = s.value() else { return Estimate::NULL };
            let mut draws: Vec<f64> = replicates.iter().filter_map(|r| r[k]).collect();
            // Too few defined replicates for percentiles: fall back to the normal interval.
            if draws.len() < 2 || draws.len() * 2 < bootstrap as usize {
                return s.normal_interval();
            }
            draws.sort_by(f64::total_cmp);
            Estimate::new(value, percentile(&draws, 0.025), percentile(&draws, 0.975))
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
    Statistic::of(Mean::plain(values.to_vec()), None).normal_interval()
}

/// Optimum-minus-runner-up (or any `a - b`) paired over the same conversations, with its
/// interval from the same resamples as each policy's own figures.
pub fn paired_difference(a: &Statistic, b: &Statistic, bootstrap: u32, seed: u64) -> Estimate {
    if a.len() != b.len() {
        return Estimate::NULL;
    }
    let diff = a.plus(&b.scaled(-1.0));
    intervals(&[&diff], bootstrap, seed).pop().unwrap_or(Estimate::NULL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
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
        let den: Arc<[f64]> = vec![1.0, 0.0, 2.0].into();
        let top = Mean::ratio(vec![2.0, 0.0, 4.0], den);
        // top = 6 / 3 = 2; bottom = mean(1, 0, 1) = 2/3; value = 3.
        let bottom = Mean::plain(vec![1.0, 0.0, 1.0]);
        let s = Statistic::of(top, Some(bottom));
        assert!(close(s.value().unwrap(), 3.0, 1e-12));
        let zero = Statistic::of(Mean::ratio(vec![1.0], vec![0.0].into()), None);
        assert_eq!(zero.value(), None);
        assert_eq!(zero.normal_interval(), Estimate::NULL);
    }

    #[test]
    fn bootstrap_is_deterministic_and_covers_the_estimate() {
        let values: Vec<f64> = (0..200).map(|i| f64::from(i % 7)).collect();
        let s = Statistic::of(Mean::plain(values), None);
        let a = intervals(&[&s], 100, 42);
        let b = intervals(&[&s], 100, 42);
        assert_eq!(a, b);
        let e = a[0];
        assert!(e.low.unwrap() < e.estimate.unwrap() && e.estimate.unwrap() < e.high.unwrap());
        let normal = s.normal_interval();
        // The two intervals agree roughly on a well-behaved mean.
        assert!(close(e.low.unwrap(), normal.low.unwrap(), 0.15), "{e:?} {normal:?}");
        assert_eq!(bootstrap_counts(1, 3, 50).iter().sum::<u32>(), 50);
        assert_ne!(bootstrap_counts(1, 3, 50), bootstrap_counts(1, 4, 50));
    }

    #[test]
    fn paired_difference_of_identical_statistics_is_exactly_zero() {
        let s = Statistic::of(Mean::plain(vec![0.0, 1.0, 1.0, 0.0, 1.0]), None);
        let d = paired_difference(&s, &s, 50, 7);
        assert_eq!(d, Estimate::new(0.0, 0.0, 0.0));
        let t = Statistic::of(Mean::plain(vec![1.0, 1.0, 1.0, 1.0, 1.0]), None);
        let d = paired_difference(&t, &s, 0, 7);
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
