//! Resamples keyed by conversation (estimation.md, "Confidence intervals").
//!
//! Replicate `r` gives each conversation a Poisson(1) weight drawn from a hash of its
//! `conversation_id`, the run's seed and `r` (the Poisson bootstrap): a conversation's weight
//! does not depend on its row, on the other conversations or on how the data is split into
//! shards, so per-shard sums of weighted contributions add up to the sums of one pass. Every
//! policy, sweep point and paired difference of a run sees the same weights, which is what
//! makes differences paired.
//!
//! `Resampler` holds what every interval of a run shares: the window's per-conversation keys,
//! the replicate count, and the models' coefficient shifts per replicate (`uncertainty`), so
//! that a column's replicate sums are `sum_i w_ir a_i + g . shift_r` (the contributions
//! resampled, plus the move of the models refitted on the same resample, to first order).
//! Sums are computed once per column and cached in it (`intervals::Column`), so the many
//! statistics built from one column cost one pass.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::uncertainty::ModelShifts;

/// Conversations per block of the accumulation: blocks are summed in order, so the result is
/// the same whatever the thread count.
pub const BLOCK: usize = 2048;

/// A stable 64-bit key of a conversation id (FNV-1a, then a SplitMix64 finaliser to spread
/// the bits): the same on every machine and in every release, unlike `std`'s hasher.
pub fn conversation_key(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// SplitMix64's finaliser: a bijection of `u64` with good avalanche.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Upper bounds of a uniform `u64` for Poisson(1) counts 0, 1, 2, ...: `P(X <= k) * 2^64`.
/// The tail past 9 (probability 1e-7) is folded into 10.
const POISSON_CDF: [u64; 10] = {
    // P(X <= k) for Poisson(1), k = 0..9.
    const CDF: [f64; 10] = [
        0.367_879_441_171_442_3,
        0.735_758_882_342_884_6,
        0.919_698_602_928_605_8,
        0.981_011_843_123_846_2,
        0.996_340_153_172_656_3,
        0.999_405_815_182_418_3,
        0.999_916_758_850_711_9,
        0.999_989_750_803_325_3,
        0.999_998_874_797_402_2,
        0.999_999_888_574_521_9,
    ];
    let mut out = [0u64; 10];
    let mut k = 0;
    while k < 10 {
        out[k] = (CDF[k] * 18_446_744_073_709_551_616.0) as u64;
        k += 1;
    }
    out
};

/// The Poisson(1) weight of the conversation with `key` in replicate `replicate` of a run
/// seeded `seed`.
pub fn poisson_weight(key: u64, seed: u64, replicate: u32) -> u8 {
    let u = mix(key ^ mix(seed ^ (u64::from(replicate) << 32 | 0x5851_f42d)));
    POISSON_CDF.iter().position(|&bound| u < bound).unwrap_or(POISSON_CDF.len()) as u8
}

/// The weights of `keys` in replicates `0..replicates`, conversation-major.
pub fn weights_of(keys: &[u64], seed: u64, replicates: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(keys.len() * replicates);
    for &key in keys {
        out.extend((0..replicates).map(|r| poisson_weight(key, seed, r as u32)));
    }
    out
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What the intervals of one run share.
#[derive(Debug)]
pub struct Resampler {
    /// Distinguishes the cached sums of one resampler from another's.
    pub(crate) id: u64,
    pub(crate) seed: u64,
    /// 0: normal intervals (delta method).
    pub(crate) replicates: usize,
    /// The window's conversation keys, in unit order (the columns' order).
    pub(crate) keys: Vec<u64>,
    /// The window's weights, conversation-major (`keys.len() x replicates`), drawn once.
    pub(crate) weights: Vec<u8>,
    /// Per replicate, the sum of the window's weights (the denominator of a plain mean).
    pub(crate) weight_totals: Vec<f64>,
    /// The models' shifts per replicate (bootstrap) and per-conversation scores (normal).
    pub(crate) models: ModelShifts,
}

impl Resampler {
    /// A resampler over the window's conversation keys; `replicates == 0` gives normal
    /// intervals. `models` carries the models' uncertainty (`ModelShifts::none()` to hold the
    /// models fixed).
    pub fn new(keys: Vec<u64>, seed: u64, replicates: usize, models: ModelShifts) -> Resampler {
        let weights: Vec<u8> = keys
            .par_chunks(BLOCK)
            .flat_map_iter(|chunk| weights_of(chunk, seed, replicates))
            .collect();
        let ones = vec![1.0; keys.len()];
        let weight_totals = weighted_sums(&weights, replicates, &[&ones]).pop().unwrap_or_default();
        Resampler {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            seed,
            replicates,
            keys,
            weights,
            weight_totals,
            models,
        }
    }

    /// Normal intervals with the models held fixed, over `n` conversations keyed by position.
    pub fn normal(n: usize) -> Resampler {
        Resampler::new((0..n as u64).map(mix).collect(), 0, 0, ModelShifts::none())
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn replicates(&self) -> usize {
        self.replicates
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Per column, its weighted sum in every replicate (`sum_i w_ir values_i`, with `weights`
/// conversation-major), in one pass over the conversations: blocks of `BLOCK` conversations
/// in parallel, each reading its weights once for all columns, added in block order.
pub fn weighted_sums(weights: &[u8], replicates: usize, columns: &[&[f64]]) -> Vec<Vec<f64>> {
    let k = columns.len();
    if k == 0 || replicates == 0 {
        return vec![Vec::new(); k];
    }
    let blocks: Vec<Vec<f64>> = weights
        .par_chunks(BLOCK * replicates)
        .enumerate()
        .map(|(block, weights)| {
            let start = block * BLOCK;
            // Column-major partials: `partial[c * replicates + r]`. Each conversation's weights
            // are widened once and serve every column.
            let mut partial = vec![0.0; k * replicates];
            let mut wide = vec![0.0; replicates];
            for (offset, w) in weights.chunks_exact(replicates).enumerate() {
                let mut widened = false;
                for (c, column) in columns.iter().enumerate() {
                    let value = column[start + offset];
                    if value == 0.0 {
                        continue;
                    }
                    if !widened {
                        wide.iter_mut().zip(w).for_each(|(d, &x)| *d = f64::from(x));
                        widened = true;
                    }
                    let sums = &mut partial[c * replicates..(c + 1) * replicates];
                    for (s, &wr) in sums.iter_mut().zip(&wide) {
                        *s += wr * value;
                    }
                }
            }
            partial
        })
        .collect();
    let mut total = vec![0.0; k * replicates];
    for partial in &blocks {
        for (t, p) in total.iter_mut().zip(partial) {
            *t += p;
        }
    }
    total.chunks_exact(replicates).map(<[f64]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_poisson_one_and_keyed() {
        let keys: Vec<u64> = (0..20_000).map(|i| conversation_key(&format!("conv-{i}"))).collect();
        let draws: Vec<u8> = keys.iter().map(|&k| poisson_weight(k, 42, 3)).collect();
        let n = draws.len() as f64;
        let mean = draws.iter().map(|&d| f64::from(d)).sum::<f64>() / n;
        let var = draws.iter().map(|&d| (f64::from(d) - mean).powi(2)).sum::<f64>() / n;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        let zeros = draws.iter().filter(|&&d| d == 0).count() as f64 / n;
        assert!((zeros - (-1f64).exp()).abs() < 0.02, "P(0) {zeros}");
        // Keyed: the same conversation gets the same weight whatever else is drawn; another
        // replicate or seed gives another weight.
        assert_eq!(poisson_weight(keys[7], 42, 3), draws[7]);
        let other: Vec<u8> = keys.iter().map(|&k| poisson_weight(k, 42, 4)).collect();
        assert_ne!(draws, other);
        assert_ne!(draws, keys.iter().map(|&k| poisson_weight(k, 43, 3)).collect::<Vec<_>>());
    }

    #[test]
    fn keys_are_stable_across_releases() {
        // Fixed values: changing the key function changes every interval of every report.
        assert_eq!(conversation_key(""), mix(0xcbf2_9ce4_8422_2325));
        assert_ne!(conversation_key("conv-1"), conversation_key("conv-2"));
    }

    #[test]
    fn sums_of_two_shards_add_up_to_one_pass() {
        let keys: Vec<u64> = (0..5000).map(|i| conversation_key(&format!("c{i}"))).collect();
        let values: Vec<f64> = (0..5000).map(|i| f64::from(i % 13) / 7.0).collect();
        let whole = weighted_sums(&weights_of(&keys, 9, 50), 50, &[&values]);
        let cut = 1234;
        let a = weighted_sums(&weights_of(&keys[..cut], 9, 50), 50, &[&values[..cut]]);
        let b = weighted_sums(&weights_of(&keys[cut..], 9, 50), 50, &[&values[cut..]]);
        for r in 0..50 {
            let sum = a[0][r] + b[0][r];
            assert!((sum - whole[0][r]).abs() <= 1e-9 * whole[0][r].abs().max(1.0));
        }
    }
}
