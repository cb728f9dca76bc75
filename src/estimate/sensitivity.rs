//! Sensitivity to hidden confounding (sensitivity.md): how far the doubly robust estimate of a
//! policy could move if history's handoffs also depended on something the data does not
//! record, under the marginal sensitivity model with strength `Gamma`.
//!
//! Per window conversation the analysis needs only what is policy-independent: the fitted
//! probability `pi_i` of history's observed path, the outcome model's residual `r_i = y_i -
//! m(x_i, h0_i)` (where a policy agrees with history its handoff point is `h0_i`, so the
//! residual it corrects with is this one) and whether `pi_i` was logged rather than fitted.
//! The dr estimate is `mean(m(x_i, hp_i)) + mean(w_i r_i)` over the agreeing conversations;
//! under `Gamma` each agreeing weight may lie anywhere in `[1 + (1/pi - 1)/Gamma, 1 + (1/pi -
//! 1) Gamma]` (clipped at `--clip` as the weights are), so the highest estimate takes the
//! largest weight where `r_i > 0` and the smallest where `r_i < 0`, and the lowest the
//! reverse. A bound is therefore the dr estimate plus one sum over the agreeing conversations
//! of `(w*_i - w_i) r_i`: one pass per policy, for every `Gamma` at once.
//!
//! A paired difference A - B has the residual term `w*_i (1{A agrees} - 1{B agrees}) r_i`
//! (where both agree the residuals cancel), so its bounds follow by the same rule with the sign
//! of each conversation's side. The robustness value is the largest `Gamma` in `[1, 10]`, to
//! two decimals, at which the difference's lower bound stays above zero. Pure: no I/O.

/// The default `--gammas`.
pub const DEFAULT_GAMMAS: [f64; 4] = [1.25, 1.5, 2.0, 3.0];

/// The search range of the robustness value.
pub const MAX_GAMMA: f64 = 10.0;

/// Why the analysis is skipped, in the words the report prints.
pub const LOGGED: &str =
    "history's handoff probabilities are logged, so no unrecorded reason can have driven its \
     handoffs";

/// Why the analysis is skipped under an estimator without a cross-fitted outcome model.
pub const NEEDS_DR: &str = "the bounds are of the doubly robust form and need its cross-fitted \
     outcome model; run with --estimator dr (the default) to get them";

/// One window conversation as the bounds see it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Conversation {
    /// Probability of history's observed path given the recorded state.
    pub propensity: f64,
    /// `y - m(x, h0)` for meeting, opportunity and pipeline.
    pub residual: [f64; 3],
    /// The probability was logged: its weight is known, no `Gamma` moves it.
    pub known: bool,
    /// History's handoff point (as `history_point` gives it).
    pub history: Option<u32>,
}

/// The policy-independent inputs of the bounds, per window conversation (window order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    pub conversations: Vec<Conversation>,
    pub clip: f64,
}

/// The lowest and highest value of a figure over the weights a `Gamma` allows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn point(v: f64) -> Interval {
        Interval { low: v, high: v }
    }

    /// `self` moved by `shift` (a sum of weight changes times residuals) scaled by `scale`.
    pub fn shifted(estimate: f64, shift: Interval, scale: f64) -> Interval {
        Interval { low: estimate + scale * shift.low, high: estimate + scale * shift.high }
    }

    /// Kept inside `[lower, upper]` (a rate stays within 0 and 1, pipeline above 0).
    pub fn clamped(self, lower: f64, upper: f64) -> Interval {
        Interval { low: self.low.clamp(lower, upper), high: self.high.clamp(lower, upper) }
    }
}

/// The weight `min(1 / pi, clip)` the dr estimate uses (as `estimators::weight`).
pub fn base_weight(propensity: f64, clip: f64) -> f64 {
    if propensity > 0.0 && propensity.is_finite() {
        (1.0 / propensity).min(clip)
    } else {
        clip
    }
}

/// The smallest and largest weight `Gamma` allows, clipped at `clip` as the weights are.
/// A known (logged) propensity or one the weights cannot read keeps its base weight.
pub fn weight_range(c: &Conversation, gamma: f64, clip: f64) -> (f64, f64) {
    let base = base_weight(c.propensity, clip);
    if c.known || !(c.propensity > 0.0 && c.propensity.is_finite()) {
        return (base, base);
    }
    let odds = (1.0 / c.propensity - 1.0).max(0.0);
    let low = (1.0 + odds / gamma).min(clip);
    let high = (1.0 + odds * gamma).min(clip);
    (low.min(base), high.max(base))
}

/// Per outcome, how far one agreeing conversation's residual term can move under `gamma`:
/// `(lowest, highest)` of `(w* - w) r`, `lowest <= 0 <= highest`.
pub fn shifts(c: &Conversation, gamma: f64, clip: f64) -> [Interval; 3] {
    let base = base_weight(c.propensity, clip);
    let (low, high) = weight_range(c, gamma, clip);
    c.residual.map(|r| {
        let (a, b) = ((low - base) * r, (high - base) * r);
        Interval { low: a.min(b), high: a.max(b) }
    })
}

/// Per `gamma` and outcome, the summed shifts of one policy over a set of conversations.
#[derive(Clone, Debug, PartialEq)]
pub struct Sums {
    /// `gammas.len()` entries of three outcomes each.
    pub per_gamma: Vec<[Interval; 3]>,
}

impl Sums {
    pub fn zero(gammas: usize) -> Sums {
        Sums { per_gamma: vec![[Interval::default(); 3]; gammas] }
    }

    pub fn add(&mut self, other: &Sums) {
        for (a, b) in self.per_gamma.iter_mut().zip(&other.per_gamma) {
            for (x, y) in a.iter_mut().zip(b) {
                x.low += y.low;
                x.high += y.high;
            }
        }
    }
}

/// Adds conversation `c`'s shifts at every gamma (`shifts` precomputed per gamma) to `sums`.
fn accumulate(sums: &mut Sums, per_gamma: &[[Interval; 3]]) {
    for (a, b) in sums.per_gamma.iter_mut().zip(per_gamma) {
        for (x, y) in a.iter_mut().zip(b) {
            x.low += y.low;
            x.high += y.high;
        }
    }
}

/// Every policy's summed shifts over every group of conversations, in one pass.
///
/// `points[p][w]`: policy `p`'s handoff point at window position `w`; `groups_of(w, out)`
/// writes the groups position `w` counts in (group 0 the whole window, then slices);
/// `groups` their number. Returns `[policy][group]`. Chunks are summed in a fixed order, so
/// the result does not depend on the thread count.
pub fn policy_sums(
    inputs: &Inputs,
    gammas: &[f64],
    points: &[&[Option<u32>]],
    groups: usize,
    groups_of: &(dyn Fn(usize, &mut Vec<usize>) + Sync),
) -> Vec<Vec<Sums>> {
    use rayon::prelude::*;
    let n = inputs.conversations.len();
    let ranges = super::resample::fixed_chunks(n);
    let chunk = |range: std::ops::Range<usize>| -> Vec<Sums> {
        let mut out = vec![Sums::zero(gammas.len()); points.len() * groups];
        let mut targets = Vec::new();
        let mut per_gamma = vec![[Interval::default(); 3]; gammas.len()];
        let mut agreeing = Vec::with_capacity(points.len());
        for w in range {
            let c = &inputs.conversations[w];
            if c.known {
                continue;
            }
            agreeing.clear();
            agreeing.extend(
                (0..points.len()).filter(|&p| points[p].get(w).is_some_and(|&h| h == c.history)),
            );
            // Nothing moves where no policy agrees with history.
            if agreeing.is_empty() {
                continue;
            }
            for (slot, &g) in per_gamma.iter_mut().zip(gammas) {
                *slot = shifts(c, g, inputs.clip);
            }
            groups_of(w, &mut targets);
            for &p in &agreeing {
                for &g in &targets {
                    if let Some(s) = out.get_mut(p * groups + g) {
                        accumulate(s, &per_gamma);
                    }
                }
            }
        }
        out
    };
    let parts: Vec<Vec<Sums>> = ranges.into_par_iter().map(chunk).collect();
    let mut total = vec![Sums::zero(gammas.len()); points.len() * groups];
    for part in &parts {
        for (t, s) in total.iter_mut().zip(part) {
            t.add(s);
        }
    }
    let mut out = Vec::with_capacity(points.len());
    let mut rest = total.into_iter();
    for _ in 0..points.len() {
        out.push(rest.by_ref().take(groups).collect());
    }
    out
}

/// Which side of a paired difference A - B a conversation's residual term is on: +1 where only
/// A agrees with history, -1 where only B does, 0 otherwise (both or neither: nothing moves).
pub fn side(a: Option<Option<u32>>, b: Option<Option<u32>>, history: Option<u32>) -> i8 {
    let agrees = |p: Option<Option<u32>>| p.is_some_and(|p| p == history);
    i8::from(agrees(a)) - i8::from(agrees(b))
}

/// The conversations of a paired difference whose residual term can move: `(window position,
/// side)` for each of `rows` whose side (`side_of`) is not 0 and whose weight is not known.
/// Built once per comparison, so that each step of the robustness value's bisection passes
/// over these only.
pub fn moving(
    inputs: &Inputs,
    rows: &mut dyn Iterator<Item = usize>,
    side_of: &dyn Fn(usize) -> i8,
) -> Vec<(u32, i8)> {
    rows.filter_map(|w| {
        let c = inputs.conversations.get(w)?;
        let s = side_of(w);
        (s != 0 && !c.known).then_some((w as u32, s))
    })
    .collect()
}

/// The summed shift of a paired difference's outcome `j` at `gamma` over its `moving`
/// conversations.
pub fn difference_shift(
    inputs: &Inputs,
    gamma: f64,
    outcome: usize,
    moving: &[(u32, i8)],
) -> Interval {
    let mut total = Interval::default();
    for &(w, s) in moving {
        let Some(c) = inputs.conversations.get(w as usize) else { continue };
        let shift = shifts(c, gamma, inputs.clip)[outcome.min(2)];
        if s > 0 {
            total.low += shift.low;
            total.high += shift.high;
        } else {
            // B's term enters with a minus sign: its highest pulls the difference lowest.
            total.low -= shift.high;
            total.high -= shift.low;
        }
    }
    total
}

/// The largest `Gamma` in `[1, MAX_GAMMA]`, to two decimals, at which `lower(Gamma)` (the
/// lower bound of a difference, non-increasing in `Gamma`) stays above zero; `None` when it is
/// not above zero even at `Gamma = 1`.
pub fn robustness_value(lower: &dyn Fn(f64) -> f64) -> Option<f64> {
    if lower(1.0).partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let (mut ok, mut fails) = (100u32, (MAX_GAMMA * 100.0) as u32);
    if lower(MAX_GAMMA) > 0.0 {
        return Some(MAX_GAMMA);
    }
    // Hundredths: `ok` holds, `fails` does not; about ten evaluations.
    while fails - ok > 1 {
        let mid = (ok + fails) / 2;
        if lower(f64::from(mid) / 100.0) > 0.0 {
            ok = mid;
        } else {
            fails = mid;
        }
    }
    Some(f64::from(ok) / 100.0)
}

/// Parses `--gammas`: `none`, or a comma-separated list of numbers of at least 1 (sorted,
/// duplicates dropped).
pub fn parse_gammas(text: &str) -> Result<Vec<f64>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let v: f64 = part.parse().map_err(|_| {
            format!("`{part}` is not a number (expected e.g. 1.25,1.5,2,3 or none)")
        })?;
        if !(v.is_finite() && v >= 1.0) {
            return Err(format!("every gamma must be a number of at least 1, not `{part}`"));
        }
        out.push(v);
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn conv(p: f64, r: f64, history: Option<u32>) -> Conversation {
        Conversation { propensity: p, residual: [r, r, 10.0 * r], known: false, history }
    }

    /// Two conversations at Gamma = 2, worked by hand. Both agree with the policy.
    /// 1: pi 0.5 (w 2), r +0.6: weights in [1 + 1/2, 1 + 2] = [1.5, 3], shifts (-0.3, +0.6);
    /// 2: pi 0.25 (w 4), r -0.2: weights in [1 + 3/2, 1 + 6] = [2.5, 7], shifts (-0.6, +0.3).
    /// Over n = 2: low = dr - 0.45, high = dr + 0.45.
    #[test]
    fn two_conversations_at_gamma_two() {
        let inputs = Inputs {
            conversations: vec![conv(0.5, 0.6, Some(1)), conv(0.25, -0.2, None)],
            clip: 50.0,
        };
        let points: Vec<Option<u32>> = vec![Some(1), None];
        let sums = policy_sums(&inputs, &[2.0], &[&points], 1, &|_, out| {
            out.clear();
            out.push(0);
        });
        let s = sums[0][0].per_gamma[0][0];
        assert!((s.low - (-0.3 - 0.6)).abs() < 1e-12, "{s:?}");
        assert!((s.high - (0.6 + 0.3)).abs() < 1e-12, "{s:?}");
        let dr = 0.4;
        let bounds = Interval::shifted(dr, s, 0.5);
        assert!((bounds.low - (0.4 - 0.45)).abs() < 1e-12);
        assert!((bounds.high - (0.4 + 0.45)).abs() < 1e-12);
        // Pipeline's residual is ten times larger: so are its shifts.
        assert!((sums[0][0].per_gamma[0][2].high - 9.0).abs() < 1e-12);
    }

    #[test]
    fn clipping_caps_the_largest_weight() {
        // pi 0.25 at Gamma 2 allows up to 7; clipped at 5 (and the base weight 4 stays).
        let c = conv(0.25, 1.0, None);
        assert_eq!(weight_range(&c, 2.0, 5.0), (2.5, 5.0));
        // Clipped below the base: the base weight is the clip, the low side still moves.
        assert_eq!(weight_range(&c, 2.0, 3.0), (2.5, 3.0));
        assert_eq!(shifts(&c, 2.0, 3.0)[0], Interval { low: -0.5, high: 0.0 });
    }

    #[test]
    fn a_policy_that_disagrees_or_a_logged_probability_moves_nothing() {
        let mut known = conv(0.5, 0.6, Some(2));
        known.known = true;
        let inputs = Inputs { conversations: vec![known, conv(0.5, 0.6, Some(3))], clip: 50.0 };
        // Agrees on the first (logged), disagrees on the second.
        let points: Vec<Option<u32>> = vec![Some(2), Some(1)];
        let sums = policy_sums(&inputs, &[3.0], &[&points], 1, &|_, out| {
            out.clear();
            out.push(0);
        });
        assert_eq!(sums[0][0].per_gamma[0][0], Interval::default());
    }

    #[test]
    fn the_difference_takes_each_side_with_its_sign() {
        let inputs = Inputs {
            conversations: vec![conv(0.5, 0.6, Some(1)), conv(0.25, -0.2, None)],
            clip: 50.0,
        };
        // A agrees on the first only, B on the second only.
        let sides = [1i8, -1];
        let pairs = moving(&inputs, &mut (0..2), &|w| sides[w]);
        assert_eq!(pairs, vec![(0, 1), (1, -1)]);
        let d = difference_shift(&inputs, 2.0, 0, &pairs);
        // A's (-0.3, 0.6), minus B's (-0.6, 0.3): (-0.3 - 0.3, 0.6 + 0.6).
        assert!((d.low + 0.6).abs() < 1e-12 && (d.high - 1.2).abs() < 1e-12, "{d:?}");
        assert_eq!(side(Some(Some(1)), Some(None), Some(1)), 1);
        assert_eq!(side(Some(None), Some(None), None), 0);
        assert_eq!(side(None, Some(None), None), -1);
    }

    /// The lower bound `0.3 - 0.1 (Gamma - 1)` crosses zero at 4: the bisection finds 3.99
    /// (the largest hundredth where it stays above zero).
    #[test]
    fn the_bisection_finds_the_crossing_to_two_decimals() {
        assert_eq!(robustness_value(&|g| 0.3 - 0.1 * (g - 1.0)), Some(3.99));
        assert_eq!(robustness_value(&|g| 0.3 - 0.1 * (g - 1.0) + 1e-9), Some(4.0));
        assert_eq!(robustness_value(&|_| 1.0), Some(MAX_GAMMA));
        assert_eq!(robustness_value(&|_| 0.0), None);
        assert_eq!(robustness_value(&|_| f64::NAN), None);
        assert_eq!(robustness_value(&|g| 0.01 - (g - 1.0)), Some(1.0));
    }

    #[test]
    fn gammas_parse_sorted_or_none() {
        assert_eq!(parse_gammas("2, 1.5,1.5").unwrap(), vec![1.5, 2.0]);
        assert_eq!(parse_gammas("none").unwrap(), Vec::<f64>::new());
        assert!(parse_gammas("0.5").is_err());
        assert!(parse_gammas("x").is_err());
        assert!(parse_gammas("").is_err());
    }

    proptest! {
        /// Bounds widen with Gamma, contain the dr estimate, and equal it at Gamma = 1.
        #[test]
        fn bounds_widen_and_contain_the_estimate(
            rows in proptest::collection::vec(
                (0.001f64..1.0, -1.0f64..1.0, any::<bool>(), any::<bool>()), 1..40),
            clip in 1.0f64..100.0,
            g1 in 1.0f64..5.0,
            dg in 0.0f64..5.0,
        ) {
            let conversations: Vec<Conversation> = rows
                .iter()
                .map(|&(p, r, known, _)| Conversation {
                    propensity: p, residual: [r, -r, 3.0 * r], known, history: Some(1),
                })
                .collect();
            let points: Vec<Option<u32>> =
                rows.iter().map(|&(_, _, _, a)| if a { Some(1) } else { None }).collect();
            let inputs = Inputs { conversations, clip };
            let one = |_: usize, out: &mut Vec<usize>| { out.clear(); out.push(0); };
            let sums = policy_sums(&inputs, &[1.0, g1, g1 + dg], &[&points], 1, &one);
            let s = &sums[0][0].per_gamma;
            for ((one, mid), wide) in s[0].iter().zip(&s[1]).zip(&s[2]) {
                prop_assert!(one.low.abs() < 1e-12 && one.high.abs() < 1e-12);
                prop_assert!(mid.low <= 1e-12 && mid.high >= -1e-12);
                prop_assert!(wide.low <= mid.low + 1e-12);
                prop_assert!(wide.high >= mid.high - 1e-12);
            }
        }
    }
}
