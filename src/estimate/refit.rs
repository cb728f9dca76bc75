//! The models' own uncertainty. The bootstrap of `intervals` resamples per-conversation
//! contributions with the fitted models held fixed (so a weekly run stays fast), which leaves
//! out how much the estimate would move had the models been fitted on another sample of the
//! same size. That part is large exactly where a policy departs from history: there the
//! estimate leans on the outcome model (clipped weights, `dm`) or on the hazard model.
//!
//! `--refits R` refits every model on `R` resamples of the conversations (with replacement,
//! of size `m = min(n, --refit-size)`), re-estimates every policy on each, and takes the
//! spread of those estimates, scaled by `sqrt(m / n)` when `m < n` (the m-out-of-n bootstrap:
//! for an estimate that is an average, the spread shrinks as the square root of the size).
//! Each interval is then stretched about its estimate, keeping its asymmetry, until half its
//! length is at least 1.96 times that spread; an interval that is already wider stays as it
//! is, so refits can only widen. Pure: no I/O.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::intervals::{sample_sd, Z95};
use super::value::Estimate;

/// Refit resamples draw from streams far from the bootstrap's (`0..B`), so the two never
/// share a resample.
const STREAM_OFFSET: u64 = 1 << 32;

/// The original indices of refit replicate `replicate`: `m` draws with replacement from
/// `0..n`, sorted (so a conversation drawn twice sits in one cross-fitting fold).
pub fn resample(seed: u64, replicate: u32, n: usize, m: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(STREAM_OFFSET + u64::from(replicate));
    let mut indices: Vec<usize> = (0..m).map(|_| rng.random_range(0..n)).collect();
    indices.sort_unstable();
    indices
}

/// The standard deviation of the finite replicate values times `scale`; `None` with fewer
/// than two finite values.
pub fn spread(values: impl Iterator<Item = f64>, scale: f64) -> Option<f64> {
    let finite: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    (finite.len() >= 2).then(|| sample_sd(&finite) * scale)
}

/// `e` stretched about its estimate (both sides by the same factor, so its asymmetry stays)
/// until half its length is at least `1.96 * spread`, then
/// kept inside `[lower, upper]` (a rate stays within 0 and 1). Unchanged without a spread or
/// without an estimate.
pub fn widen(e: Estimate, spread: Option<f64>, lower: f64, upper: f64) -> Estimate {
    let (Some(value), Some(low), Some(high), Some(spread)) = (e.estimate, e.low, e.high, spread)
    else {
        return e;
    };
    let wanted = Z95 * spread;
    let half = (high - low) / 2.0;
    let (down, up) = if half > 0.0 && wanted > half {
        let factor = wanted / half;
        ((value - low) * factor, (high - value) * factor)
    } else if half <= 0.0 && wanted > 0.0 {
        (wanted, wanted)
    } else {
        return e;
    };
    Estimate::new(value, (value - down).max(lower), (value + up).min(upper))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_are_seeded_sorted_and_in_range() {
        let a = resample(7, 3, 100, 50);
        assert_eq!(a, resample(7, 3, 100, 50));
        assert_ne!(a, resample(7, 4, 100, 50));
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
        assert!(a.iter().all(|&i| i < 100));
        assert!(resample(7, 0, 0, 10).is_empty());
    }

    #[test]
    fn spread_is_the_scaled_sample_sd_of_finite_values() {
        // Values 1, 2, 3: sd 1.
        let s = spread([1.0, f64::NAN, 2.0, 3.0].into_iter(), 0.5).unwrap();
        assert!((s - 0.5).abs() < 1e-12);
        assert_eq!(spread([1.0, f64::NAN].into_iter(), 1.0), None);
    }

    #[test]
    fn widen_only_widens_keeps_asymmetry_and_bounds() {
        let e = Estimate::new(0.5, 0.4, 0.7); // half-width 0.15
                                              // 1.96 * 0.1 wanted: factor 0.196 / 0.15.
        let w = widen(e, Some(0.1), 0.0, 1.0);
        let factor = Z95 * 0.1 / 0.15;
        assert!((w.low.unwrap() - (0.5 - 0.1 * factor)).abs() < 1e-12);
        assert!((w.high.unwrap() - (0.5 + 0.2 * factor)).abs() < 1e-12);
        assert_eq!(w.estimate, Some(0.5));
        // Narrower spread: unchanged.
        assert_eq!(widen(e, Some(0.01), 0.0, 1.0), e);
        assert_eq!(widen(e, None, 0.0, 1.0), e);
        // Clamped to the bounds.
        let wide = widen(e, Some(1.0), 0.0, 1.0);
        assert_eq!((wide.low, wide.high), (Some(0.0), Some(1.0)));
        // A degenerate interval gets the spread symmetrically.
        let point =
            widen(Estimate::new(2.0, 2.0, 2.0), Some(1.0), f64::NEG_INFINITY, f64::INFINITY);
        assert!((point.high.unwrap() - (2.0 + Z95)).abs() < 1e-12);
        assert_eq!(widen(Estimate::NULL, Some(1.0), 0.0, 1.0), Estimate::NULL);
    }
}
