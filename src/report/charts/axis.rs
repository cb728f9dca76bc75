//! Axis arithmetic: which values can be plotted, estimates scaled to plot units, padded axis
//! ranges and tick decimals. Text for the figures comes from `crate::format`.

use crate::summary::Estimate;

/// Beyond this magnitude a figure is treated as not plottable: axis arithmetic on such values
/// overflows, and no rate or per-100 figure can honestly be that large.
const PLOTTABLE_LIMIT: f64 = 1e12;

/// Whether a value can be placed on an axis (finite and of sane magnitude).
pub(crate) fn plottable(value: f64) -> bool {
    value.is_finite() && value.abs() < PLOTTABLE_LIMIT
}

/// A plottable value, or nothing: charts never plot NaN, infinities or absurd magnitudes.
pub(crate) fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| plottable(*v))
}

/// An estimate scaled by `scale` as (point, optional (low, high)); nothing when the point
/// estimate is null or not finite. The interval is kept only when both ends are finite.
pub(crate) fn scaled(estimate: &Estimate, scale: f64) -> Option<(f64, Option<(f64, f64)>)> {
    let point = finite(estimate.estimate.map(|v| v * scale))?;
    let low = finite(estimate.low.map(|v| v * scale));
    let high = finite(estimate.high.map(|v| v * scale));
    let interval = low.zip(high).map(|(l, h)| (l.min(h), l.max(h)));
    Some((point, interval))
}

/// Decimals that keep axis ticks distinct over a span without clutter.
pub(crate) fn decimals_for(span: f64) -> usize {
    if !span.is_finite() || span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else {
        2
    }
}

/// An axis range that holds every value with some headroom, never empty.
pub(crate) fn padded_range(
    values: impl IntoIterator<Item = f64>,
    include_zero: bool,
) -> (f64, f64) {
    let mut low = f64::INFINITY;
    let mut high = f64::NEG_INFINITY;
    for value in values.into_iter().filter(|v| plottable(*v)) {
        low = low.min(value);
        high = high.max(value);
    }
    if !low.is_finite() || !high.is_finite() {
        return (0.0, 1.0);
    }
    if include_zero {
        low = low.min(0.0);
        high = high.max(0.0);
    }
    // Spans far below the values' own precision would make pixel arithmetic overflow; such
    // values are drawn as equal.
    let span = high - low;
    let pad = if span > 1e-9 * high.abs().max(low.abs()).max(1.0) {
        span * 0.08
    } else {
        high.abs().max(1.0) * 0.5
    };
    let low = if include_zero && low >= 0.0 { 0.0 } else { low - pad };
    (low, high + pad)
}
