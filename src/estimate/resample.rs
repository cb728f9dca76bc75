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
    weight_with_salt(key, replicate_salt(seed, replicate))
}

/// The part of a weight's hash that depends on the run and the replicate only: computed once
/// per replicate, not once per conversation and replicate.
fn replicate_salt(seed: u64, replicate: u32) -> u64 {
    mix(seed ^ (u64::from(replicate) << 32 | 0x5851_f42d))
}

fn weight_with_salt(key: u64, salt: u64) -> u8 {
    poisson_of_uniform(mix(key ^ salt))
}

/// The Poisson(1) count whose interval of `POISSON_CDF` holds `u`: the number of bounds at or
/// below it (the bounds ascend). Counted without branches: a search that stops at the first
/// bound above `u` mispredicts about once a weight, and a run draws hundreds of millions.
fn poisson_of_uniform(u: u64) -> u8 {
    POISSON_CDF.iter().map(|&bound| u8::from(u >= bound)).sum()
}

/// The weights of `keys` in replicates `0..replicates`, conversation-major.
pub fn weights_of(keys: &[u64], seed: u64, replicates: usize) -> Vec<u8> {
    let mut out = vec![0; keys.len() * replicates];
    fill_weights(keys, &salts(seed, replicates), &mut out);
    out
}

fn salts(seed: u64, replicates: usize) -> Vec<u64> {
    (0..replicates).map(|r| replicate_salt(seed, r as u32)).collect()
}

/// Writes the weights of `keys` (conversation-major) into `out`, `keys.len() x salts.len()`.
fn fill_weights(keys: &[u64], salts: &[u64], out: &mut [u8]) {
    if salts.is_empty() {
        return;
    }
    for (&key, row) in keys.iter().zip(out.chunks_exact_mut(salts.len())) {
        for (w, &salt) in row.iter_mut().zip(salts) {
            *w = weight_with_salt(key, salt);
        }
    }
}

/// `weights_of` in parallel, by blocks written in place.
pub fn all_weights(keys: &[u64], seed: u64, replicates: usize) -> Vec<u8> {
    let mut out = vec![0; keys.len() * replicates];
    if replicates > 0 {
        let salts = salts(seed, replicates);
        out.par_chunks_mut(BLOCK * replicates)
            .zip(keys.par_chunks(BLOCK))
            .for_each(|(block, keys)| fill_weights(keys, &salts, block));
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
        let weights = all_weights(&keys, seed, replicates);
        Resampler::with_weights(keys, seed, replicates, weights, models)
    }

    /// `new`, with the keys' weights already drawn (`all_weights(&keys, seed, replicates)`).
    pub fn with_weights(
        keys: Vec<u64>,
        seed: u64,
        replicates: usize,
        weights: Vec<u8>,
        models: ModelShifts,
    ) -> Resampler {
        debug_assert_eq!(weights.len(), keys.len() * replicates);
        let ones = vec![1.0f32; keys.len()];
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

/// The most tasks a pass over the conversations is cut into. The cut depends only on the
/// number of conversations, so the partial sums and the order they are added in do not
/// depend on the thread count; few tasks keep the partial sums' memory small.
const MAX_CHUNKS: usize = 32;

/// The ranges of conversations a pass sums in parallel: whole blocks, at most `MAX_CHUNKS`.
pub fn fixed_chunks(n: usize) -> Vec<std::ops::Range<usize>> {
    let blocks = n.div_ceil(BLOCK);
    let per_chunk = blocks.div_ceil(MAX_CHUNKS).max(1) * BLOCK;
    (0..n).step_by(per_chunk).map(|start| start..(start + per_chunk).min(n)).collect()
}

/// Per column, its weighted sum in every replicate (`sum_i w_ir values_i`, with `weights`
/// conversation-major), in one pass over the conversations.
///
/// Each block of `BLOCK` conversations is one matrix product, `sums (R x K) += W_b' (R x B)
/// V_b (B x K)` (`matrixmultiply`'s register-blocked kernel, chosen at run time for the CPU):
/// at a million conversations, 200 replicates and the 150-odd columns of a report, this is
/// 3e10 multiply-adds, which a loop that updates one column's replicates per conversation
/// runs several times slower. Chunks (`fixed_chunks`) are summed in parallel and added in
/// order.
pub fn weighted_sums(weights: &[u8], replicates: usize, columns: &[&[f32]]) -> Vec<Vec<f64>> {
    weighted_sums_over(weights, replicates, columns, None)
}

/// `weighted_sums` over the conversations at `rows` only (ascending positions; `None`: all):
/// a slice's sums read only the slice's weights and values, so the slices of one column
/// cost one pass between them.
pub fn weighted_sums_over(
    weights: &[u8],
    replicates: usize,
    columns: &[&[f32]],
    rows: Option<&[u32]>,
) -> Vec<Vec<f64>> {
    let k = columns.len();
    if k == 0 || replicates == 0 {
        return vec![Vec::new(); k];
    }
    let n = (weights.len() / replicates).min(columns.iter().map(|c| c.len()).min().unwrap_or(0));
    let rows = rows.map(|r| {
        let inside = r.partition_point(|&x| (x as usize) < n);
        &r[..inside]
    });
    let count = rows.map_or(n, <[u32]>::len);
    let chunks: Vec<Vec<f64>> = fixed_chunks(count)
        .into_par_iter()
        .map(|range| {
            // Column-major: `sums[c * replicates + r]`.
            let mut sums = vec![0.0; k * replicates];
            let mut w = vec![0.0; BLOCK * replicates];
            let mut v = vec![0.0; BLOCK * k];
            let mut start = range.start;
            while start < range.end {
                let len = BLOCK.min(range.end - start);
                match rows {
                    None => {
                        let block = &weights[start * replicates..(start + len) * replicates];
                        w.iter_mut().zip(block).for_each(|(d, &x)| *d = f64::from(x));
                        for (c, column) in columns.iter().enumerate() {
                            let to = &mut v[c * len..(c + 1) * len];
                            to.iter_mut()
                                .zip(&column[start..start + len])
                                .for_each(|(t, &x)| *t = f64::from(x));
                        }
                    }
                    Some(rows) => gather(
                        weights,
                        replicates,
                        columns,
                        &rows[start..start + len],
                        &mut w,
                        &mut v,
                    ),
                }
                add_product(&w, &v, replicates, len, k, &mut sums, (1, replicates));
                start += len;
            }
            sums
        })
        .collect();
    let mut total = vec![0.0; k * replicates];
    for partial in &chunks {
        for (t, p) in total.iter_mut().zip(partial) {
            *t += p;
        }
    }
    total.chunks_exact(replicates).map(<[f64]>::to_vec).collect()
}

/// Per group, per column, its weighted sum in every replicate over the conversations of the
/// group (`group_of[i] < groups`): `[group][column][replicate]`, in one pass. Each row is in
/// exactly one group (a cell of the slices' cross product), so the pass costs what one
/// `weighted_sums` does: per block, the rows are bucketed by group and each group's rows
/// are one matrix product. Chunks are summed in waves of a few and folded in order, so the
/// partial sums' memory stays small and nothing depends on the thread count.
pub fn weighted_sums_grouped(
    weights: &[u8],
    replicates: usize,
    columns: &[&[f32]],
    group_of: &[u32],
    groups: usize,
) -> Vec<Vec<Vec<f64>>> {
    let k = columns.len();
    if k == 0 || replicates == 0 || groups == 0 {
        return vec![vec![Vec::new(); k]; groups];
    }
    let n = (weights.len() / replicates)
        .min(columns.iter().map(|c| c.len()).min().unwrap_or(0))
        .min(group_of.len());
    let width = k * replicates;
    let mut total = vec![0.0; groups * width];
    let ranges = fixed_chunks(n);
    for wave in ranges.chunks(WAVE) {
        let partials: Vec<Vec<f64>> = wave
            .par_iter()
            .map(|range| {
                // Per group, column-major: `sums[g * width + c * replicates + r]`.
                let mut sums = vec![0.0; groups * width];
                let mut w = vec![0.0; BLOCK * replicates];
                let mut v = vec![0.0; BLOCK * k];
                let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); groups];
                let mut start = range.start;
                while start < range.end {
                    let end = (start + BLOCK).min(range.end);
                    buckets.iter_mut().for_each(Vec::clear);
                    for (i, &g) in group_of.iter().enumerate().take(end).skip(start) {
                        if let Some(b) = buckets.get_mut(g as usize) {
                            b.push(i as u32);
                        }
                    }
                    for (g, rows) in buckets.iter().enumerate() {
                        let len = rows.len();
                        if len == 0 {
                            continue;
                        }
                        gather(weights, replicates, columns, rows, &mut w, &mut v);
                        let out = &mut sums[g * width..(g + 1) * width];
                        add_product(&w, &v, replicates, len, k, out, (1, replicates));
                    }
                    start = end;
                }
                sums
            })
            .collect();
        for partial in &partials {
            for (t, p) in total.iter_mut().zip(partial) {
                *t += p;
            }
        }
    }
    total
        .chunks_exact(width)
        .map(|g| g.chunks_exact(replicates).map(<[f64]>::to_vec).collect())
        .collect()
}

/// Copies the weights (`w`, conversation-major) and the columns' values (`v`, column-major)
/// of the conversations at `rows` into a block's buffers, in double precision.
fn gather(
    weights: &[u8],
    replicates: usize,
    columns: &[&[f32]],
    rows: &[u32],
    w: &mut [f64],
    v: &mut [f64],
) {
    let len = rows.len();
    for (to, &row) in w.chunks_exact_mut(replicates).zip(rows) {
        let row = row as usize;
        let from = &weights[row * replicates..(row + 1) * replicates];
        to.iter_mut().zip(from).for_each(|(d, &x)| *d = f64::from(x));
    }
    for (c, column) in columns.iter().enumerate() {
        let to = &mut v[c * len..(c + 1) * len];
        to.iter_mut().zip(rows).for_each(|(t, &row)| *t = f64::from(column[row as usize]));
    }
}

/// Chunks summed at a time by `weighted_sums_grouped` (and the drafts of sliced runs):
/// enough to keep two cores busy, few enough that per-group partial sums stay small.
pub const WAVE: usize = 4;

/// `c (m x n) += a' b`, where `a` is `len x m` row-major (a block's weights,
/// conversation-major), `b` is `len x n` column-major (the block's columns), and `c` has
/// the row and column strides `c_strides`.
fn add_product(
    a: &[f64],
    b: &[f64],
    m: usize,
    len: usize,
    n: usize,
    c: &mut [f64],
    c_strides: (usize, usize),
) {
    let (rsc, csc) = c_strides;
    let reach = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    if m == 0 || n == 0 || len == 0 {
        return;
    }
    assert!(a.len() >= len * m && b.len() >= len * n && c.len() > reach(m, n, rsc, csc));
    // SAFETY: the assert keeps every element the strides reach inside the three slices:
    // `a[i * m + r]` for i < len, r < m; `b[j * len + i]`; `c[r * rsc + j * csc]`.
    unsafe {
        matrixmultiply::dgemm(
            m,
            len,
            n,
            1.0,
            a.as_ptr(),
            1,
            m as isize,
            b.as_ptr(),
            1,
            len as isize,
            1.0,
            c.as_mut_ptr(),
            rsc as isize,
            csc as isize,
        );
    }
}

/// `c (m x n, replicate-major: c[r * n + j]) += a' b` in single precision, with `a` and `b`
/// laid out as in `add_product`: for the models' shifts, first-order corrections of the
/// intervals, where seven significant digits are far more than they carry (and the product
/// runs twice as fast). Each block's product is added to the caller's `f64` sums.
pub(crate) fn add_product_replicate_major_f32(
    a: &[f32],
    b: &[f32],
    m: usize,
    len: usize,
    n: usize,
    c: &mut [f32],
) {
    if m == 0 || n == 0 || len == 0 {
        return;
    }
    assert!(a.len() >= len * m && b.len() >= len * n && c.len() >= m * n);
    // SAFETY: the assert keeps every element the strides reach inside the three slices:
    // `a[i * m + r]` for i < len, r < m; `b[j * len + i]`; `c[r * n + j]`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            len,
            n,
            1.0,
            a.as_ptr(),
            1,
            m as isize,
            b.as_ptr(),
            1,
            len as isize,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_the_bounds_is_the_first_bound_above() {
        let first_above =
            |u: u64| POISSON_CDF.iter().position(|&b| u < b).unwrap_or(POISSON_CDF.len()) as u8;
        let mut probes = vec![0, 1, u64::MAX, u64::MAX - 1];
        for &b in &POISSON_CDF {
            probes.extend([b - 1, b, b + 1]);
        }
        probes.extend((0..100_000u64).map(mix));
        for u in probes {
            assert_eq!(poisson_of_uniform(u), first_above(u), "{u}");
        }
    }

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
    fn matrix_product_sums_equal_the_plain_double_loop() {
        // Sizes that end mid-block and mid-group, with zero and non-zero columns.
        let n = 40 * BLOCK + 37;
        let replicates = 13;
        let keys: Vec<u64> = (0..n).map(|i| conversation_key(&format!("k{i}"))).collect();
        let weights = weights_of(&keys, 4, replicates);
        let a: Vec<f32> = (0..n).map(|i| (i % 17) as f32 - 8.5).collect();
        let b = vec![0.0f32; n];
        let c: Vec<f32> = (0..n).map(|i| 1.0 / (1.0 + i as f32)).collect();
        let got = weighted_sums(&weights, replicates, &[&a, &b, &c]);
        for (column, sums) in [&a, &b, &c].iter().zip(&got) {
            for (r, &sum) in sums.iter().enumerate() {
                let want: f64 = (0..n)
                    .map(|i| f64::from(weights[i * replicates + r]) * f64::from(column[i]))
                    .sum();
                assert!((sum - want).abs() <= 1e-9 * want.abs().max(1.0), "{sum} vs {want}");
            }
        }
    }

    #[test]
    fn sums_over_rows_equal_the_sums_of_the_masked_column() {
        let n = 3 * BLOCK + 11;
        let replicates = 7;
        let keys: Vec<u64> = (0..n).map(|i| conversation_key(&format!("r{i}"))).collect();
        let weights = weights_of(&keys, 5, replicates);
        let values: Vec<f32> = (0..n).map(|i| (i % 11) as f32 - 3.0).collect();
        let rows: Vec<u32> = (0..n as u32).filter(|i| i % 3 != 1).collect();
        let masked: Vec<f32> = (0..n).map(|i| if i % 3 != 1 { values[i] } else { 0.0 }).collect();
        let over = weighted_sums_over(&weights, replicates, &[&values], Some(&rows));
        let whole = weighted_sums(&weights, replicates, &[&masked]);
        for (a, b) in over[0].iter().zip(&whole[0]) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn grouped_sums_equal_the_sums_over_each_group() {
        let n = 2 * BLOCK + 101;
        let replicates = 5;
        let keys: Vec<u64> = (0..n).map(|i| conversation_key(&format!("g{i}"))).collect();
        let weights = weights_of(&keys, 3, replicates);
        let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32 * 0.5).collect();
        let b: Vec<f32> = (0..n).map(|i| 1.0 / (1.0 + (i % 5) as f32)).collect();
        let group_of: Vec<u32> = (0..n).map(|i| ((i * 7) % 3) as u32).collect();
        let grouped = weighted_sums_grouped(&weights, replicates, &[&a, &b], &group_of, 3);
        for g in 0..3u32 {
            let rows: Vec<u32> = (0..n as u32).filter(|&i| group_of[i as usize] == g).collect();
            let want = weighted_sums_over(&weights, replicates, &[&a, &b], Some(&rows));
            for (got, want) in grouped[g as usize].iter().zip(&want) {
                for (x, y) in got.iter().zip(want) {
                    assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn sums_of_two_shards_add_up_to_one_pass() {
        let keys: Vec<u64> = (0..5000).map(|i| conversation_key(&format!("c{i}"))).collect();
        let values: Vec<f32> = (0..5000).map(|i| (i % 13) as f32 / 7.0).collect();
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
