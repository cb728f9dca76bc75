//! L2-regularised logistic regression by Newton's method (IRLS) with a dense Cholesky solve.
//!
//! Hand-written rather than taken from a crate because the problem is small and specific:
//! few columns (tens) and many rows (up to millions of decision points), so one pass that
//! accumulates `X'WX` and the gradient per row chunk over the rows' non-zero entries
//! (`SparseRows`), in parallel with a fixed reduction order (deterministic), plus a `k x k`
//! Cholesky solve, is all it needs. Owning it gives control
//! over what matters here (no panic on separable or constant data, a fixed iteration budget,
//! an unpenalised intercept) without a linear-algebra dependency.

use rayon::prelude::*;

/// Rows per parallel chunk; the reduction adds chunk results in chunk order.
const CHUNK_ROWS: usize = 4096;

/// Fitting controls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogisticOptions {
    /// L2 penalty on every coefficient except column 0 (the intercept).
    pub lambda: f64,
    pub max_iterations: usize,
    /// Stop when the largest Newton step is below this.
    pub tolerance: f64,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions { lambda: 1.0, max_iterations: 50, tolerance: 1e-8 }
    }
}

/// A fitted model: `P(y = 1 | x) = sigmoid(x . coef)`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticFit {
    pub coef: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
    /// The penalised information at `coef` (`X'WX` plus the penalty on the diagonal, full
    /// `k x k`, row-major): what the models' uncertainty divides by (`uncertainty`).
    pub information: Vec<f64>,
}

impl LogisticFit {
    pub fn predict(&self, row: &[f64]) -> f64 {
        sigmoid(dot(&self.coef, row))
    }
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Per-chunk sums: the upper triangle of `X'WX` (row-major, full `k x k` for simplicity),
/// the gradient `X'(y - p)` and the log-likelihood.
struct Accum {
    hessian: Vec<f64>,
    gradient: Vec<f64>,
    loglik: f64,
}

impl Accum {
    fn zero(k: usize) -> Accum {
        Accum { hessian: vec![0.0; k * k], gradient: vec![0.0; k], loglik: 0.0 }
    }
    fn add(mut self, other: &Accum) -> Accum {
        self.hessian.iter_mut().zip(&other.hessian).for_each(|(a, b)| *a += b);
        self.gradient.iter_mut().zip(&other.gradient).for_each(|(a, b)| *a += b);
        self.loglik += other.loglik;
        self
    }
}

/// Which rows a fit uses: every row, or those whose group is not the excluded one (a
/// cross-fitting fold fitted on every fold but its own).
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    All,
    Excluding {
        groups: &'a [u8],
        excluded: u8,
    },
    /// The rows of one group only.
    Only {
        groups: &'a [u8],
        group: u8,
    },
}

impl Rows<'_> {
    fn keeps(&self, row: usize) -> bool {
        match self {
            Rows::All => true,
            Rows::Excluding { groups, excluded } => groups.get(row) != Some(excluded),
            Rows::Only { groups, group } => groups.get(row) == Some(group),
        }
    }
}

/// A fit from zero on more rows than this starts from the fit on every `WARM_STEP`-th row:
/// Newton's method takes six to eight steps from zero, and two or three from a subsample's
/// optimum, so most of the steps cost an eighth of a pass.
const WARM_ROWS: usize = 1 << 17;
const WARM_STEP: usize = 8;

/// How much of `X'WX` a pass takes: every row's share, or (on a large design, while Newton's
/// steps are still long) every `SAMPLED_STEP`-th row's, scaled up. The curvature only
/// steers the steps; the gradient, always over every row, decides where they end, so a
/// sampled `X'WX` moves the path, not the optimum. At 5.5 million hazard rows a sampled pass
/// took 0.35-0.46 s against 0.66-0.70 s for an exact one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curvature {
    Exact,
    Sampled,
}

/// Rows per sampled row of `Curvature::Sampled` (the rows whose number is a multiple of it,
/// each weighted by it; used only on designs over `WARM_ROWS` rows).
const SAMPLED_STEP: usize = 8;

/// Once a step is shorter than this, the passes take the exact `X'WX`: the last ones then
/// converge as fast as with it throughout, and the information returned is exact.
const EXACT_NEAR: f64 = 1e-3;

/// A fold's first step longer than this has `fit_folds` take the fold's `X'WX` afresh.
const REFRESH_STEP: f64 = 1e-3;

/// `sigmoid(z)` and `ln sigmoid(z)` from one exponential and one logarithm (a fit's pass
/// needs both for every row).
fn sigmoid_and_log(z: f64) -> (f64, f64) {
    let e = (-z.abs()).exp();
    if z >= 0.0 {
        (1.0 / (1.0 + e), -e.ln_1p())
    } else {
        (e / (1.0 + e), z - e.ln_1p())
    }
}

#[cfg(test)]
fn log_sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        -(-z).exp().ln_1p()
    } else {
        z - z.exp().ln_1p()
    }
}

/// Fits the model on the row-major matrix `x` (`y.len()` rows of `k` columns, column 0 the
/// intercept) and 0/1 targets `y`. Never panics: with no rows it returns zeros; separable or
/// constant data end at the iteration budget with finite coefficients.
pub fn fit(x: &[f64], y: &[f64], k: usize, options: LogisticOptions) -> LogisticFit {
    if k == 0 || x.len() != y.len() * k {
        return LogisticFit {
            coef: vec![0.0; k],
            iterations: 0,
            converged: false,
            information: Vec::new(),
        };
    }
    let mut rows = SparseRows::new(k);
    for row in x.chunks_exact(k) {
        rows.push(row);
    }
    let penalties: Vec<f64> = (0..k).map(|a| if a == 0 { 0.0 } else { options.lambda }).collect();
    fit_sparse(&rows, y, &penalties, options)
}

/// A design stored by its non-zero entries, in parts of consecutive rows (row `r` of a part
/// is `cols[offsets[r]..offsets[r + 1]]`, columns ascending): the hazard's rows, one per
/// decision point, are the largest matrix of a run and mostly zeros in their raw
/// (unstandardised) form, so this is a fraction of the dense matrix's memory and each pass
/// touches only the entries that are there. Parts let blocks built in parallel be joined
/// without copying (`concat`): at a million conversations the copy of the hazard's 5.5
/// million rows cost about a second and an eighth of the run's page faults.
#[derive(Clone, Debug, Default)]
pub struct SparseRows {
    pub width: usize,
    parts: Vec<Part>,
    /// `starts[p]` is the first row of part `p`; one more entry, the number of rows.
    starts: Vec<usize>,
}

/// Consecutive rows of a `SparseRows`.
#[derive(Clone, Debug, Default)]
struct Part {
    offsets: Vec<usize>,
    cols: Vec<u16>,
    vals: Vec<f32>,
}

impl Part {
    fn new() -> Part {
        Part { offsets: vec![0], cols: Vec::new(), vals: Vec::new() }
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn row(&self, r: usize) -> (&[u16], &[f32]) {
        let (a, b) = (self.offsets[r], self.offsets[r + 1]);
        (&self.cols[a..b], &self.vals[a..b])
    }
}

/// Reads the rows of a `SparseRows` in increasing order, finding each row's part from the
/// previous one's (a row read out of order is found by a search).
pub(crate) struct RowCursor<'a> {
    x: &'a SparseRows,
    part: usize,
}

impl<'a> RowCursor<'a> {
    pub(crate) fn row(&mut self, r: usize) -> (&'a [u16], &'a [f32]) {
        let starts = &self.x.starts;
        if r < starts[self.part] || r >= starts[self.part + 1] {
            self.part = self.x.part_of(r);
        }
        self.x.parts[self.part].row(r - starts[self.part])
    }
}

impl SparseRows {
    pub fn new(width: usize) -> SparseRows {
        SparseRows { width, parts: vec![Part::new()], starts: vec![0, 0] }
    }

    /// An empty design with room for `rows` rows of about `entries_per_row` non-zero
    /// entries each: a design grown by doubling copies its entries about twice over and
    /// faults in memory it then gives back.
    pub fn with_capacity(width: usize, rows: usize, entries_per_row: usize) -> SparseRows {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        let entries = rows.saturating_mul(entries_per_row);
        let part =
            Part { offsets, cols: Vec::with_capacity(entries), vals: Vec::with_capacity(entries) };
        SparseRows { width, parts: vec![part], starts: vec![0, 0] }
    }

    /// Appends a dense row (its zeros are not stored).
    pub fn push(&mut self, row: &[f64]) {
        let part = self.parts.last_mut().expect("a design has a part");
        for (c, &v) in row.iter().enumerate() {
            if v != 0.0 {
                part.cols.push(c as u16);
                part.vals.push(v as f32);
            }
        }
        part.offsets.push(part.cols.len());
        *self.starts.last_mut().expect("a design has a row count") += 1;
    }

    /// The rows of `parts` (of the same width), in order, as one design; their storage is
    /// moved, not copied.
    pub fn concat(width: usize, parts: Vec<SparseRows>) -> SparseRows {
        let mut out = SparseRows { width, parts: Vec::new(), starts: vec![0] };
        for part in parts.into_iter().flat_map(|p| p.parts) {
            if part.len() == 0 {
                continue;
            }
            let end = out.len() + part.len();
            out.parts.push(part);
            out.starts.push(end);
        }
        if out.parts.is_empty() {
            return SparseRows::new(width);
        }
        out
    }

    pub fn len(&self) -> usize {
        *self.starts.last().expect("a design has a row count")
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of non-zero entries stored.
    pub fn entries(&self) -> usize {
        self.parts.iter().map(|p| p.cols.len()).sum()
    }

    /// The part holding row `r` (`r < len`).
    fn part_of(&self, r: usize) -> usize {
        self.starts.partition_point(|&s| s <= r).saturating_sub(1).min(self.parts.len() - 1)
    }

    /// A reader of rows in increasing order.
    pub(crate) fn cursor(&self) -> RowCursor<'_> {
        RowCursor { x: self, part: 0 }
    }

    /// Rows 0, `step`, `2 * step`, ... as a design of their own.
    pub fn every(&self, step: usize) -> SparseRows {
        let step = step.max(1);
        let mut out = Part::new();
        let mut rows = self.cursor();
        for r in (0..self.len()).step_by(step) {
            let (cols, vals) = rows.row(r);
            out.cols.extend_from_slice(cols);
            out.vals.extend_from_slice(vals);
            out.offsets.push(out.cols.len());
        }
        let n = out.len();
        SparseRows { width: self.width, parts: vec![out], starts: vec![0, n] }
    }

    /// Drops the entries of the columns `keep` rejects, in place (nothing to do when it
    /// keeps every column).
    pub fn retain_columns(&mut self, keep: &[bool]) {
        if (0..self.width).all(|c| keep.get(c).copied().unwrap_or(false)) {
            return;
        }
        for part in &mut self.parts {
            let mut write = 0;
            let mut start = 0;
            for r in 0..part.len() {
                let end = part.offsets[r + 1];
                for e in start..end {
                    if keep.get(part.cols[e] as usize).copied().unwrap_or(false) {
                        part.cols[write] = part.cols[e];
                        part.vals[write] = part.vals[e];
                        write += 1;
                    }
                }
                start = end;
                part.offsets[r + 1] = write;
            }
            part.cols.truncate(write);
            part.vals.truncate(write);
        }
    }

    /// Per column, the sum of its values and of their squares over the rows.
    pub fn column_sums(&self) -> (Vec<f64>, Vec<f64>) {
        let mut sum = vec![0.0; self.width];
        let mut sq = vec![0.0; self.width];
        for part in &self.parts {
            for (&c, &v) in part.cols.iter().zip(&part.vals) {
                sum[c as usize] += f64::from(v);
                sq[c as usize] += f64::from(v) * f64::from(v);
            }
        }
        (sum, sq)
    }

    /// Per column, the mean and the standard deviation of its values over the rows.
    pub fn moments(&self) -> (Vec<f64>, Vec<f64>) {
        let (sum, sq) = self.column_sums();
        moments_of(&sum, &sq, self.len())
    }
}

/// The means and standard deviations of columns over `rows` rows, from their sums and sums
/// of squares (`SparseRows::column_sums`, added over parts).
pub fn moments_of(sum: &[f64], sq: &[f64], rows: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows.max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let sd = sq.iter().zip(&mean).map(|(q, m)| (q / n - m * m).max(0.0).sqrt()).collect();
    (mean, sd)
}

/// `fit` on a sparse design with one penalty per coefficient (0: unpenalised).
pub fn fit_sparse(
    x: &SparseRows,
    y: &[f64],
    penalties: &[f64],
    options: LogisticOptions,
) -> LogisticFit {
    fit_sparse_rows(x, y, penalties, options, Rows::All, None)
}

/// `fit_sparse` on the rows `rows` keeps, from `start` when given (see `fit_rows`).
pub fn fit_sparse_rows(
    x: &SparseRows,
    y: &[f64],
    penalties: &[f64],
    options: LogisticOptions,
    rows: Rows,
    start: Option<&[f64]>,
) -> LogisticFit {
    let k = x.width;
    if k == 0 || y.is_empty() || x.len() != y.len() || penalties.len() != k {
        let coef = vec![0.0; k];
        return LogisticFit { coef, iterations: 0, converged: false, information: Vec::new() };
    }
    let warm = match (start, rows) {
        (None, Rows::All) => warm_start(x, y, penalties, options),
        _ => None,
    };
    let sampled = warm.is_some();
    let start = warm.as_deref().or(start);
    newton(k, penalties, options, start, sampled, |coef, curvature| {
        accumulate_sparse(x, y, coef, rows, curvature)
    })
}

/// On more than `WARM_ROWS` rows, the optimum on every `WARM_STEP`-th row (itself started
/// the same way when it is over `WARM_ROWS` rows), to start the full fit from. The
/// subsample's penalty is scaled with its size, so its optimum is near the full one's; the full fit then converges to the same optimum as from zero. The
/// subsample is copied into a design of its own: its passes then touch only its rows, in
/// full chunks (skipping seven rows in eight of the whole design cost as much as the full
/// fit's own passes).
fn warm_start(
    x: &SparseRows,
    y: &[f64],
    penalties: &[f64],
    options: LogisticOptions,
) -> Option<Vec<f64>> {
    if x.len() <= WARM_ROWS {
        return None;
    }
    let scaled: Vec<f64> = penalties.iter().map(|p| p / WARM_STEP as f64).collect();
    let sub_x = x.every(WARM_STEP);
    let sub_y: Vec<f64> = y.iter().step_by(WARM_STEP).copied().collect();
    let loose = LogisticOptions { tolerance: options.tolerance.max(1e-6), ..options };
    // The subsample's own fit starts from its subsample's when it is itself large: Newton's
    // method from zero takes eight or nine steps, and on a million conversations' 690,000
    // subsampled rows those steps were most of the warm start's time.
    let start = warm_start(&sub_x, &sub_y, &scaled, options);
    let fit = newton(x.width, &scaled, loose, start.as_deref(), false, |coef, _| {
        accumulate_sparse(&sub_x, &sub_y, coef, Rows::All, Curvature::Exact)
    });
    Some(fit.coef)
}

fn accumulate_sparse(
    x: &SparseRows,
    y: &[f64],
    coef: &[f64],
    rows: Rows,
    curvature: Curvature,
) -> Accum {
    let k = x.width;
    let chunks = x.len().div_ceil(CHUNK_ROWS);
    let partials: Vec<Accum> = (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let range = chunk * CHUNK_ROWS..((chunk + 1) * CHUNK_ROWS).min(x.len());
            accumulate_chunk(x, y, coef, rows, range, curvature)
        })
        .collect();
    partials.iter().fold(Accum::zero(k), |acc, p| acc.add(p))
}

/// One chunk's sums. The gradient and the likelihood take one pass over each row's entries;
/// `X'WX` is one matrix product: the chunk's rows, scaled by `sqrt(w)`, are laid out densely
/// over the columns the chunk uses, and `Z'Z` (`matrixmultiply`'s kernel) is added to the
/// Hessian. Rows of one layout come together (the outcome design is ordered by case, see
/// `models::OutcomeDesign`), so a chunk uses a few dozen columns, and the product runs
/// several times faster than updating the Hessian entry by entry.
fn accumulate_chunk(
    x: &SparseRows,
    y: &[f64],
    coef: &[f64],
    rows: Rows,
    range: std::ops::Range<usize>,
    curvature: Curvature,
) -> Accum {
    CHUNK_SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        accumulate_chunk_in(x, y, coef, rows, range, curvature, &mut scratch)
    })
}

/// The working buffers of `accumulate_chunk`, kept per thread across chunks and passes: a
/// chunk's dense block is over half a megabyte, which every chunk of every pass allocated and
/// zeroed afresh.
#[derive(Default)]
struct ChunkScratch {
    slot: Vec<usize>,
    used: Vec<usize>,
    kept: Vec<(usize, f64)>,
    z: Vec<f32>,
    gram: Vec<f32>,
}

thread_local! {
    static CHUNK_SCRATCH: std::cell::RefCell<ChunkScratch> =
        std::cell::RefCell::new(ChunkScratch::default());
}

fn accumulate_chunk_in(
    x: &SparseRows,
    y: &[f64],
    coef: &[f64],
    rows: Rows,
    range: std::ops::Range<usize>,
    curvature: Curvature,
    scratch: &mut ChunkScratch,
) -> Accum {
    let k = x.width;
    let mut acc = Accum::zero(k);
    // The chunk's columns: `slot[c]` is column c's place among them (`NONE`: unused).
    const NONE: usize = usize::MAX;
    let ChunkScratch { slot, used, kept, z, gram } = scratch;
    slot.clear();
    slot.resize(k, NONE);
    used.clear();
    kept.clear();
    // Sampled: the rows whose number is a multiple of the step, weighted by the step.
    let (every, weight) = match curvature {
        Curvature::Exact => (1, 1.0),
        Curvature::Sampled => (SAMPLED_STEP, SAMPLED_STEP as f64),
    };
    let mut reader = x.cursor();
    for r in range {
        if !rows.keeps(r) {
            continue;
        }
        let target = y[r];
        let (cols, vals) = reader.row(r);
        let eta: f64 = cols.iter().zip(vals).map(|(&c, &v)| coef[c as usize] * f64::from(v)).sum();
        let (p, log_p) = sigmoid_and_log(eta);
        let w = (p * (1.0 - p)).max(1e-12);
        // ln(1 - p) = ln p - eta.
        acc.loglik += target * log_p + (1.0 - target) * (log_p - eta);
        for (&c, &v) in cols.iter().zip(vals) {
            let c = c as usize;
            acc.gradient[c] += f64::from(v) * (target - p);
            if slot[c] == NONE {
                slot[c] = used.len();
                used.push(c);
            }
        }
        if r % every == 0 {
            kept.push((r, (w * weight).sqrt()));
        }
    }
    let (len, u) = (kept.len(), used.len());
    if len == 0 || u == 0 {
        return acc;
    }
    // Row-major `len x u`, in single precision: `X'WX` only steers Newton's steps (the
    // gradient, in double precision, decides where they end) and gives the information the
    // intervals divide by, to six significant digits; the product runs twice as fast.
    z.clear();
    z.resize(len * u, 0.0);
    let mut reader = x.cursor();
    for (i, &(r, root_w)) in kept.iter().enumerate() {
        let (cols, vals) = reader.row(r);
        let out = &mut z[i * u..(i + 1) * u];
        for (&c, &v) in cols.iter().zip(vals) {
            out[slot[c as usize]] = (root_w * f64::from(v)) as f32;
        }
    }
    gram.clear();
    gram.resize(u * u, 0.0);
    // SAFETY: `z` is `len x u` row-major and `gram` is `u x u`: with the strides below every
    // element read or written is inside them (`z[i * u + j]`, `gram[a * u + b]`).
    unsafe {
        matrixmultiply::sgemm(
            u,
            len,
            u,
            1.0,
            z.as_ptr(),
            1,
            u as isize,
            z.as_ptr(),
            u as isize,
            1,
            0.0,
            gram.as_mut_ptr(),
            u as isize,
            1,
        );
    }
    for (a, &ca) in used.iter().enumerate() {
        for (b, &cb) in used.iter().enumerate() {
            // The upper triangle, as the rest of this module reads it.
            if ca <= cb {
                acc.hessian[ca * k + cb] += f64::from(gram[a * u + b]);
            }
        }
    }
    acc
}

/// Cross-fitting: per fold `f < folds`, the model fitted on every row whose group is not `f`
/// (`groups[r]` is row r's fold), all with the same penalties.
///
/// Newton's method per fold would cost four or five passes over the data each (every step
/// rebuilds `X'WX`). Here the model is fitted once on every row, the per-fold pieces of
/// `X'WX` at that optimum come from one more pass, and each fold model then iterates from
/// the common optimum with its own fixed `X'WX` (a chord method): a step costs only a
/// gradient pass and converges fast because the fold optima lie within a fold's worth of
/// data of the common one. The fixed point is the fold's own optimum (gradient zero), the
/// same as Newton's to the tolerance; a fold that does not settle is finished by Newton's
/// method. Each fold's information is its `X'WX` at the common optimum (the fold models
/// differ from it to first order only, as the models' shifts are themselves first order).
pub fn fit_folds(
    x: &SparseRows,
    y: &[f64],
    groups: &[u8],
    folds: usize,
    penalties: &[f64],
    options: LogisticOptions,
) -> Vec<LogisticFit> {
    let k = x.width;
    if k == 0 || y.len() != x.len() || groups.len() != x.len() || penalties.len() != k {
        let all = fit_sparse_rows(x, y, penalties, options, Rows::All, None);
        return (0..folds).map(|_| all.clone()).collect();
    }
    // The all-rows fit, accumulating its sums per group: the last accumulation is at the
    // returned coefficients, so its pieces are the per-fold `X'WX` at the common optimum.
    let last_pieces: std::sync::Mutex<Vec<Accum>> = std::sync::Mutex::new(Vec::new());
    let start = warm_start(x, y, penalties, options);
    // Exact passes throughout: the outcome designs are a fifth of the hazard's, and with a
    // sampled `X'WX` their fits took longer (0.64 -> 1.32 s at 1,000,000 conversations).
    let all = newton(k, penalties, options, start.as_deref(), false, |coef, _| {
        let pieces = accumulate_groups(x, y, coef, groups, folds);
        let total = pieces.iter().fold(Accum::zero(k), |acc, p| acc.add(p));
        *last_pieces.lock().unwrap_or_else(|p| p.into_inner()) = pieces;
        total
    });
    let pieces = last_pieces.into_inner().unwrap_or_else(|p| p.into_inner());
    if all.information.is_empty() || pieces.len() != folds {
        return (0..folds).map(|_| all.clone()).collect();
    }
    (0..folds)
        .into_par_iter()
        .map(|f| {
            let mut fixed = Accum::zero(k);
            for (g, piece) in pieces.iter().enumerate() {
                if g != f {
                    fixed = fixed.add(piece);
                }
            }
            let rows = Rows::Excluding { groups, excluded: f as u8 };
            // The fold's information is taken at the common optimum, whichever `X'WX` steers
            // the steps below: the steering changes how fast the fit gets there, not the
            // intervals (docs/accuracy.md, 2026-12-02).
            let information = information(&fixed, k, penalties);
            let Some(mut factor) = Factor::of(&mut information.clone(), k) else {
                return fit_sparse_rows(x, y, penalties, options, rows, Some(&all.coef));
            };
            let mut coef = all.coef.clone();
            let mut gradient = fixed.gradient.clone();
            let mut previous = f64::INFINITY;
            let mut refreshed = false;
            for iteration in 1..=options.max_iterations {
                for a in 0..k {
                    gradient[a] -= penalties[a] * coef[a];
                }
                let step = factor.solve(&gradient);
                let largest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
                if !largest.is_finite() || largest > previous {
                    // Not settling: Newton's method from here.
                    return fit_sparse_rows(x, y, penalties, options, rows, Some(&coef));
                }
                coef.iter_mut().zip(&step).for_each(|(c, s)| *c += s);
                if largest < options.tolerance {
                    return LogisticFit {
                        coef,
                        iterations: iteration,
                        converged: true,
                        information,
                    };
                }
                previous = largest;
                if !refreshed && largest > REFRESH_STEP {
                    // A long first move (a weakly determined coefficient the fold moves far):
                    // the common optimum's `X'WX` then steers the rest slowly (each step
                    // about a tenth of the one before), so it is taken once more where the
                    // fold's fit has landed, and the rest converge several times faster.
                    let acc = accumulate_sparse(x, y, &coef, rows, Curvature::Exact);
                    let mut fresh = self::information(&acc, k, penalties);
                    if let Some(f) = Factor::of(&mut fresh, k) {
                        (factor, gradient) = (f, acc.gradient);
                        refreshed = true;
                        previous = f64::INFINITY;
                        continue;
                    }
                }
                gradient = gradient_sparse(x, y, &coef, rows);
            }
            fit_sparse_rows(x, y, penalties, options, rows, Some(&coef))
        })
        .collect()
}

/// `accumulate_sparse`'s sums per group (`groups[r] < folds`), in one pass: each chunk's
/// rows go to their group's sums, chunks added in order.
fn accumulate_groups(
    x: &SparseRows,
    y: &[f64],
    coef: &[f64],
    groups: &[u8],
    folds: usize,
) -> Vec<Accum> {
    let k = x.width;
    let chunks = x.len().div_ceil(CHUNK_ROWS);
    let partials: Vec<Vec<Accum>> = (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let range = chunk * CHUNK_ROWS..((chunk + 1) * CHUNK_ROWS).min(x.len());
            (0..folds)
                .map(|g| {
                    let rows = Rows::Only { groups, group: g as u8 };
                    accumulate_chunk(x, y, coef, rows, range.clone(), Curvature::Exact)
                })
                .collect()
        })
        .collect();
    let mut total: Vec<Accum> = (0..folds).map(|_| Accum::zero(k)).collect();
    for partial in partials {
        total = total.into_iter().zip(&partial).map(|(t, p)| t.add(p)).collect();
    }
    total
}

/// The log-likelihood's gradient `X'(y - p)` over the rows `rows` keeps (no `X'WX`).
fn gradient_sparse(x: &SparseRows, y: &[f64], coef: &[f64], rows: Rows) -> Vec<f64> {
    let k = x.width;
    let chunks = x.len().div_ceil(CHUNK_ROWS);
    let partials: Vec<Vec<f64>> = (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let mut gradient = vec![0.0; k];
            let mut reader = x.cursor();
            let end = ((chunk + 1) * CHUNK_ROWS).min(x.len());
            for (r, &target) in y.iter().enumerate().take(end).skip(chunk * CHUNK_ROWS) {
                if !rows.keeps(r) {
                    continue;
                }
                let (cols, vals) = reader.row(r);
                let eta: f64 =
                    cols.iter().zip(vals).map(|(&c, &v)| coef[c as usize] * f64::from(v)).sum();
                let residual = target - sigmoid(eta);
                for (&c, &v) in cols.iter().zip(vals) {
                    gradient[c as usize] += f64::from(v) * residual;
                }
            }
            gradient
        })
        .collect();
    let mut total = vec![0.0; k];
    for partial in &partials {
        total.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
    }
    total
}

fn weighted_penalty(coef: &[f64], penalties: &[f64]) -> f64 {
    0.5 * coef.iter().zip(penalties).map(|(c, l)| l * c * c).sum::<f64>()
}

/// Newton's method with step halving on the penalised log-likelihood whose sums
/// `accumulate(coef, curvature)` computes. With `sampled`, the passes take a sampled `X'WX`
/// until a step is shorter than `EXACT_NEAR`, and the information returned is always from an
/// exact one.
fn newton(
    k: usize,
    penalties: &[f64],
    options: LogisticOptions,
    start: Option<&[f64]>,
    sampled: bool,
    accumulate: impl Fn(&[f64], Curvature) -> Accum,
) -> LogisticFit {
    let mut coef = match start {
        Some(s) if s.len() == k && s.iter().all(|c| c.is_finite()) => s.to_vec(),
        _ => vec![0.0; k],
    };
    let mut curvature = if sampled { Curvature::Sampled } else { Curvature::Exact };
    let mut acc = accumulate(&coef, curvature);
    // The information at `coef`, from an exact pass (one more when the last was sampled).
    let exact_information = |acc: &Accum, curvature: Curvature, coef: &[f64]| match curvature {
        Curvature::Exact => information(acc, k, penalties),
        Curvature::Sampled => information(&accumulate(coef, Curvature::Exact), k, penalties),
    };
    let mut objective = -acc.loglik + weighted_penalty(&coef, penalties);
    for iteration in 1..=options.max_iterations {
        let (mut hessian, mut gradient) = (acc.hessian.clone(), acc.gradient.clone());
        for a in 0..k {
            hessian[a * k + a] += penalties[a];
            gradient[a] -= penalties[a] * coef[a];
        }
        let Some(step) = solve_symmetric(&mut hessian, &gradient, k) else {
            let information = exact_information(&acc, curvature, &coef);
            return LogisticFit { coef, iterations: iteration, converged: false, information };
        };
        // Converged when what is left to go is below the tolerance: stopping here, where the
        // sums were taken, saves the pass over the rows a last tiny step would cost, and the
        // information is then exactly that of the returned coefficients.
        let length = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        if length < options.tolerance {
            let information = exact_information(&acc, curvature, &coef);
            return LogisticFit { coef, iterations: iteration, converged: true, information };
        }
        if length < EXACT_NEAR {
            curvature = Curvature::Exact;
        }
        // Step halving keeps the penalised likelihood from going down (a safeguard; a full
        // Newton step almost always succeeds for this convex problem).
        let mut scale = 1.0;
        loop {
            let trial: Vec<f64> = coef.iter().zip(&step).map(|(c, s)| c + scale * s).collect();
            let trial_acc = accumulate(&trial, curvature);
            let trial_objective = -trial_acc.loglik + weighted_penalty(&trial, penalties);
            if trial_objective <= objective + 1e-12 * objective.abs().max(1.0) || scale < 1e-6 {
                coef = trial;
                acc = trial_acc;
                objective = trial_objective;
                break;
            }
            scale *= 0.5;
        }
        let largest = step.iter().fold(0.0f64, |m, s| m.max((scale * s).abs()));
        if largest < options.tolerance {
            let information = exact_information(&acc, curvature, &coef);
            return LogisticFit { coef, iterations: iteration, converged: true, information };
        }
    }
    let information = exact_information(&acc, curvature, &coef);
    LogisticFit { coef, iterations: options.max_iterations, converged: false, information }
}

/// The penalised Hessian of `acc` (upper triangle filled) as a full symmetric matrix.
fn information(acc: &Accum, k: usize, penalties: &[f64]) -> Vec<f64> {
    let mut h = acc.hessian.clone();
    for a in 0..k {
        for b in 0..a {
            h[a * k + b] = h[b * k + a];
        }
        h[a * k + a] += penalties[a];
    }
    h
}

/// Solves `H s = g` for symmetric positive (semi)definite `H` whose upper triangle is filled,
/// by Cholesky; a small ridge is added when it is not numerically positive definite.
/// `None` only when even that fails.
pub fn solve_symmetric(upper: &mut [f64], g: &[f64], k: usize) -> Option<Vec<f64>> {
    Factor::of(upper, k).map(|f| f.solve(g))
}

/// A Cholesky factor of a symmetric positive (semi)definite matrix, computed once to solve
/// for many right-hand sides (the models' shifts solve one system per resample).
#[derive(Clone, Debug)]
pub struct Factor {
    lower: Vec<f64>,
    k: usize,
}

impl Factor {
    /// Factors `upper` (its upper triangle filled; the lower is filled in place), adding a
    /// small ridge when it is not numerically positive definite; `None` only when even that
    /// fails.
    pub fn of(upper: &mut [f64], k: usize) -> Option<Factor> {
        // A fit on no rows has no information matrix: nothing to factor.
        if k == 0 || upper.len() != k * k {
            return None;
        }
        for a in 0..k {
            for b in 0..a {
                upper[a * k + b] = upper[b * k + a];
            }
        }
        let scale = (0..k).map(|a| upper[a * k + a].abs()).fold(0.0f64, f64::max).max(1e-12);
        for jitter in [0.0, 1e-10, 1e-8, 1e-6, 1e-4] {
            let mut h = upper.to_vec();
            for a in 0..k {
                h[a * k + a] += jitter * scale;
            }
            if let Some(lower) = cholesky(&h, k) {
                return Some(Factor { lower, k });
            }
        }
        None
    }

    /// `H^-1 g`.
    pub fn solve(&self, g: &[f64]) -> Vec<f64> {
        cholesky_solve(&self.lower, g, self.k)
    }
}

fn cholesky(h: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = (0..j).map(|m| l[i * k + m] * l[j * k + m]).sum();
            if i == j {
                let d = h[i * k + i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i * k + i] = d.sqrt();
            } else {
                l[i * k + j] = (h[i * k + j] - s) / l[j * k + j];
            }
        }
    }
    Some(l)
}

fn cholesky_solve(l: &[f64], g: &[f64], k: usize) -> Vec<f64> {
    let mut z = vec![0.0; k];
    for i in 0..k {
        let s: f64 = (0..i).map(|m| l[i * k + m] * z[m]).sum();
        z[i] = (g[i] - s) / l[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|m| l[m * k + i] * x[m]).sum();
        x[i] = (z[i] - s) / l[i * k + i];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fit_on_no_rows_has_nothing_to_factor() {
        let fit =
            fit_sparse(&SparseRows::new(3), &[], &[0.0, 1.0, 1.0], LogisticOptions::default());
        assert_eq!(fit.coef, vec![0.0; 3]);
        assert!(Factor::of(&mut fit.information.clone(), 3).is_none());
        assert!(solve_symmetric(&mut [], &[1.0], 1).is_none());
    }

    fn logit(p: f64) -> f64 {
        (p / (1.0 - p)).ln()
    }

    /// One binary covariate: the unpenalised MLE reproduces the two group log-odds exactly.
    #[test]
    fn recovers_group_log_odds_for_a_binary_covariate() {
        // Group 0: 3 of 10 positive; group 1: 8 of 10 positive.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..10 {
            x.extend([1.0, 0.0]);
            y.push(if i < 3 { 1.0 } else { 0.0 });
            x.extend([1.0, 1.0]);
            y.push(if i < 8 { 1.0 } else { 0.0 });
        }
        let options = LogisticOptions { lambda: 0.0, ..LogisticOptions::default() };
        let fit = fit(&x, &y, 2, options);
        assert!(fit.converged);
        assert!((fit.coef[0] - logit(0.3)).abs() < 1e-6, "{fit:?}");
        assert!((fit.coef[1] - (logit(0.8) - logit(0.3))).abs() < 1e-6, "{fit:?}");
        assert!((fit.predict(&[1.0, 1.0]) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn the_penalty_shrinks_the_slope() {
        let x = vec![1.0, -1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0];
        let y = vec![0.0, 1.0, 1.0, 1.0];
        let loose = fit(&x, &y, 2, LogisticOptions { lambda: 0.01, ..Default::default() });
        let tight = fit(&x, &y, 2, LogisticOptions { lambda: 10.0, ..Default::default() });
        assert!(tight.coef[1].abs() < loose.coef[1].abs());
    }

    #[test]
    fn separable_and_constant_data_do_not_panic_and_stay_finite() {
        // Perfectly separable on column 1.
        let x = vec![1.0, -2.0, 1.0, -1.0, 1.0, 1.0, 1.0, 2.0];
        let y = vec![0.0, 0.0, 1.0, 1.0];
        let f = fit(&x, &y, 2, LogisticOptions { lambda: 0.0, ..Default::default() });
        assert!(f.coef.iter().all(|c| c.is_finite()));
        assert!(f.predict(&[1.0, 2.0]) > 0.99);
        // Constant column and all-zero targets.
        let x = vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let y = vec![0.0, 0.0, 0.0];
        let f = fit(&x, &y, 2, LogisticOptions::default());
        assert!(f.coef.iter().all(|c| c.is_finite()));
        assert!(f.predict(&[1.0, 0.0]) < 1e-6);
        // No rows at all.
        let f = fit(&[], &[], 3, LogisticOptions::default());
        assert_eq!(f.coef, vec![0.0; 3]);
    }

    /// A reproducible design: an intercept and three covariates (one binary, two with
    /// zeros), targets from a known logistic model.
    fn synthetic(n: usize) -> (SparseRows, Vec<f64>) {
        let mut rows = SparseRows::new(4);
        let mut y = Vec::with_capacity(n);
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..n {
            let a = if uniform() < 0.4 { 1.0 } else { 0.0 };
            let b = if uniform() < 0.5 { 0.0 } else { uniform() * 3.0 - 1.0 };
            let c = uniform() - 0.5;
            let eta = -0.7 + 1.1 * a - 0.8 * b + 0.5 * c;
            y.push(if uniform() < sigmoid(eta) { 1.0 } else { 0.0 });
            rows.push(&[1.0, a, b, c]);
        }
        (rows, y)
    }

    #[test]
    fn fold_fits_reach_the_same_optimum_as_newton_per_fold() {
        let (x, y) = synthetic(6000);
        let groups: Vec<u8> = (0..x.len()).map(|r| (r * 7 % 5) as u8).collect();
        let penalties = [0.0, 1.0, 1.0, 1.0];
        let options = LogisticOptions::default();
        let folds = fit_folds(&x, &y, &groups, 5, &penalties, options);
        assert_eq!(folds.len(), 5);
        for (f, fit) in folds.iter().enumerate() {
            let rows = Rows::Excluding { groups: &groups, excluded: f as u8 };
            let newton = fit_sparse_rows(&x, &y, &penalties, options, rows, None);
            assert!(fit.converged && newton.converged);
            for (a, b) in fit.coef.iter().zip(&newton.coef) {
                assert!((a - b).abs() < 1e-7, "fold {f}: {:?} vs {:?}", fit.coef, newton.coef);
            }
            // The information at the common optimum is within a percent of the fold's own
            // (relative to its scale, the largest diagonal entry).
            let scale = (0..4).map(|a| newton.information[a * 4 + a]).fold(0.0, f64::max);
            for (a, b) in fit.information.iter().zip(&newton.information) {
                assert!((a - b).abs() <= 0.01 * scale, "fold {f}: {a} vs {b} (scale {scale})");
            }
        }
    }

    #[test]
    fn a_design_joined_from_parts_reads_and_fits_as_one_built_whole() {
        let (whole, y) = synthetic(3000);
        // The same rows pushed into uneven parts (one empty), then joined without copying.
        let mut parts = Vec::new();
        let mut reader = whole.cursor();
        for (from, to) in [(0, 7), (7, 7), (7, 1500), (1500, 2999), (2999, 3000)] {
            let mut part = SparseRows::new(whole.width);
            for r in from..to {
                let (cols, vals) = reader.row(r);
                let mut dense = vec![0.0; whole.width];
                cols.iter().zip(vals).for_each(|(&c, &v)| dense[c as usize] = f64::from(v));
                part.push(&dense);
            }
            parts.push(part);
        }
        let joined = SparseRows::concat(whole.width, parts);
        assert_eq!(joined.len(), whole.len());
        let (mut a, mut b) = (whole.cursor(), joined.cursor());
        // In order, out of order (a search), and every row of `every`.
        for r in (0..3000).chain([2999, 0, 1499, 1500, 6, 7]) {
            assert_eq!(a.row(r), b.row(r), "row {r}");
        }
        let (sub_a, sub_b) = (whole.every(7), joined.every(7));
        let (mut a, mut b) = (sub_a.cursor(), sub_b.cursor());
        for r in 0..sub_a.len() {
            assert_eq!(a.row(r), b.row(r), "row {r} of every 7th");
        }
        assert_eq!(whole.column_sums(), joined.column_sums());
        let penalties = vec![1.0; whole.width];
        let options = LogisticOptions::default();
        let (fa, fb) = (
            fit_sparse(&whole, &y, &penalties, options),
            fit_sparse(&joined, &y, &penalties, options),
        );
        assert_eq!(fa.coef, fb.coef);
        assert_eq!(fa.information, fb.information);
        let mut kept = joined.clone();
        kept.retain_columns(&vec![true; whole.width]);
        assert_eq!(kept.column_sums(), joined.column_sums());
        // A dropped column leaves every part's rows alike.
        let keep = [true, false, true, true];
        let (mut whole_kept, mut joined_kept) = (whole.clone(), joined.clone());
        whole_kept.retain_columns(&keep);
        joined_kept.retain_columns(&keep);
        assert_eq!(whole_kept.entries(), joined_kept.entries());
        assert!(whole_kept.entries() < whole.entries());
        let (mut a, mut b) = (whole_kept.cursor(), joined_kept.cursor());
        for r in 0..whole.len() {
            let (cols, _) = a.row(r);
            assert!(!cols.contains(&1), "row {r}");
            assert_eq!(a.row(r), b.row(r), "row {r}");
        }
    }

    #[test]
    fn a_large_fit_from_a_subsample_reaches_the_optimum_from_zero() {
        // Once with a subsample fitted from zero, once with a subsample itself large enough
        // to start from its own subsample (the nested warm start).
        for rows in [WARM_ROWS + 5000, WARM_STEP * WARM_ROWS + 40_000] {
            large_fit_reaches_the_optimum_from_zero(rows);
        }
    }

    fn large_fit_reaches_the_optimum_from_zero(rows: usize) {
        let (x, y) = synthetic(rows);
        let penalties = [0.0, 1.0, 1.0, 1.0];
        let options = LogisticOptions::default();
        let warm = fit_sparse(&x, &y, &penalties, options);
        let cold = newton(4, &penalties, options, None, false, |c, _| {
            accumulate_sparse(&x, &y, c, Rows::All, Curvature::Exact)
        });
        assert!(warm.converged && cold.converged);
        assert!(warm.iterations < cold.iterations, "{} vs {}", warm.iterations, cold.iterations);
        // Each stops once the step left to go is below the tolerance.
        for (a, b) in warm.coef.iter().zip(&cold.coef) {
            assert!((a - b).abs() < 2.0 * options.tolerance, "{:?} vs {:?}", warm.coef, cold.coef);
        }
        // Its steps took a sampled X'WX, but the information it returns is the exact one at
        // its coefficients.
        let exact = accumulate_sparse(&x, &y, &warm.coef, Rows::All, Curvature::Exact);
        assert_eq!(warm.information, information(&exact, 4, &penalties));
        let sampled = accumulate_sparse(&x, &y, &warm.coef, Rows::All, Curvature::Sampled);
        assert_ne!(sampled.hessian, exact.hessian);
        assert_eq!(sampled.gradient, exact.gradient);
    }

    #[test]
    fn sigmoid_and_its_log_agree_with_the_separate_functions() {
        for z in [-40.0, -3.5, -0.2, 0.0, 0.7, 12.0, 40.0] {
            let (p, log_p) = sigmoid_and_log(z);
            assert!((p - sigmoid(z)).abs() < 1e-15, "{z}");
            assert!((log_p - log_sigmoid(z)).abs() < 1e-12, "{z}");
            assert!((log_p - z - log_sigmoid(-z)).abs() < 1e-12, "{z}");
        }
    }

    #[test]
    fn cholesky_solves_a_known_system() {
        // [[4, 2], [2, 3]] s = [2, 1] -> s = [0.5, 0].
        let mut h = vec![4.0, 2.0, 0.0, 3.0];
        let s = solve_symmetric(&mut h, &[2.0, 1.0], 2).unwrap();
        assert!((s[0] - 0.5).abs() < 1e-12 && s[1].abs() < 1e-12);
    }
}
