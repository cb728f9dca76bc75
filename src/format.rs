//! Numbers as human-readable text: the one home for the figures the page, the findings, the
//! charts and `validate` write. Pure.
//!
//! Each function's name says what it produces; where two outputs differ (a missing figure as
//! `n/a` or not, a rounded zero with or without its minus sign, one decimal or adaptive ones),
//! they are different functions, because every report byte depends on them.

/// How a missing or unusable figure reads.
pub const NOT_AVAILABLE: &str = "n/a";

/// A rounded figure that shows as zero is written `0.0`, not `-0.0`: a tiny negative estimate
/// (floating-point noise in an estimator) must not read as a negative rate.
pub fn unsigned_zero(text: String) -> String {
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => text,
    }
}

/// `x` with exactly `decimals` decimals and no minus sign on a zero (`unsigned_zero`); a
/// non-finite value as Rust writes it (`NaN`, `inf`).
pub fn fixed(x: f64, decimals: usize) -> String {
    unsigned_zero(format!("{x:.decimals$}"))
}

/// `fixed`, or `n/a` for a missing or non-finite figure.
pub fn fixed_or_na(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(v) if v.is_finite() => fixed(v, decimals),
        _ => NOT_AVAILABLE.into(),
    }
}

/// An estimate's interval as `low to high` (`fixed_or_na` each).
pub fn interval_or_na(e: &crate::estimate::Estimate, decimals: usize) -> String {
    format!("{} to {}", fixed_or_na(e.low, decimals), fixed_or_na(e.high, decimals))
}

/// `x` with exactly `decimals` decimals as Rust writes it, minus sign of a rounded zero
/// included (`-0.0`); `n/a` when missing.
pub fn fixed_signed_or_na(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(|| NOT_AVAILABLE.into(), |v| format!("{v:.decimals$}"))
}

/// A share as a count per 100 with one decimal: `0.123` is `12.3` (no minus sign on a zero).
pub fn per_hundred(share: f64) -> String {
    fixed(100.0 * share, 1)
}

/// A share as a percentage with one decimal: `0.123` is `12.3%` (no minus sign on a zero; a
/// non-finite share as Rust writes it, `NaN%`).
pub fn percent(share: f64) -> String {
    format!("{}%", per_hundred(share))
}

/// A share as a percentage in plain words, as warnings use it: one decimal under 10% (so
/// 0.4% does not read as 0%), none above.
pub fn percent_in_words(share: f64) -> String {
    let pct = 100.0 * share;
    if pct < 10.0 && pct != 0.0 {
        format!("{pct:.1}%")
    } else {
        format!("{pct:.0}%")
    }
}

/// `percent`, or `n/a` when missing (a non-finite share still reads as Rust writes it).
pub fn percent_or_na_if_missing(share: Option<f64>) -> String {
    share.map_or_else(|| NOT_AVAILABLE.into(), percent)
}

/// `percent`, or `n/a` for a missing or non-finite share.
pub fn percent_or_na(share: Option<f64>) -> String {
    match share {
        Some(v) if v.is_finite() => percent(v),
        _ => NOT_AVAILABLE.into(),
    }
}

/// A value already in percent units with `decimals` decimals, as Rust writes it (minus sign
/// of a rounded zero included): `12.34` is `12.3%` with one (chart axes and bar labels, where
/// the value was scaled for plotting).
pub fn percent_units(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}%")
}

/// `part` of `whole` as a percentage with two decimals (`2.50%`); `0.00%` when `whole` is 0.
pub fn percent_of(part: u64, whole: u64) -> String {
    let share = if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 };
    format!("{share:.2}%")
}

/// A figure with as many decimals as its size needs: none from 100 on, one from 10, two
/// below (`1234`, `12.3`, `1.23`); no minus sign on a zero.
pub fn adaptive(value: f64) -> String {
    let decimals = if value.abs() >= 100.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else {
        2
    };
    fixed(value, decimals)
}

/// A value as short as it can be written exactly (`3`, `1.4`, `0.05`), zero as `0` whatever
/// its sign; a non-finite value as Rust writes it.
pub fn shortest(value: f64) -> String {
    if value == 0.0 {
        "0".to_string()
    } else {
        format!("{value}")
    }
}

/// A count with thousands separators, as a person reads it: `2012` is `2,012`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A parameter value as short as it can be written exactly (`0.5`, `3`), `n/a` if not finite.
pub fn exact_or_na(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        NOT_AVAILABLE.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_in_words_keeps_one_decimal_only_under_ten() {
        assert_eq!(percent_in_words(0.004), "0.4%");
        assert_eq!(percent_in_words(0.0), "0%");
        assert_eq!(percent_in_words(0.256), "26%");
    }

    #[test]
    fn a_figure_rounding_to_zero_has_no_minus_sign() {
        assert_eq!(percent_or_na(Some(-1e-19)), "0.0%");
        assert_eq!(fixed_or_na(Some(-0.0001), 2), "0.00");
        assert_eq!(percent_or_na(Some(-0.002)), "-0.2%");
        assert_eq!(fixed_or_na(Some(-1.5), 0), "-2");
        assert_eq!(unsigned_zero("-10".into()), "-10");
        assert_eq!(unsigned_zero("-0.00".into()), "0.00");
        assert_eq!(per_hundred(-0.0001), "0.0");
        assert_eq!(adaptive(-0.001), "0.00");
    }

    #[test]
    fn the_signed_forms_keep_what_rust_writes() {
        assert_eq!(fixed_signed_or_na(Some(-0.01), 1), "-0.0");
        assert_eq!(fixed_signed_or_na(Some(12.25), 1), "12.2");
        assert_eq!(fixed_signed_or_na(None, 1), "n/a");
        assert_eq!(percent_units(-0.01, 1), "-0.0%");
        assert_eq!(percent_units(12.34, 1), "12.3%");
        assert_eq!(percent_units(12.5001, 0), "13%");
    }

    #[test]
    fn missing_and_non_finite_figures() {
        assert_eq!(percent_or_na(Some(f64::NAN)), "n/a");
        assert_eq!(percent_or_na(None), "n/a");
        assert_eq!(percent_or_na_if_missing(None), "n/a");
        assert_eq!(percent_or_na_if_missing(Some(f64::NAN)), "NaN%");
        assert_eq!(fixed_or_na(Some(f64::INFINITY), 1), "n/a");
        assert_eq!(fixed(f64::INFINITY, 1), "inf");
        assert_eq!(exact_or_na(f64::NAN), "n/a");
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(2012), "2,012");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn shares_and_percentages() {
        assert_eq!(percent(0.123), "12.3%");
        assert_eq!(percent_or_na_if_missing(Some(0.5)), "50.0%");
        assert_eq!(per_hundred(0.0456), "4.6");
        assert_eq!(percent_of(1, 40), "2.50%");
        assert_eq!(percent_of(3, 0), "0.00%");
    }

    #[test]
    fn adaptive_decimals_follow_the_size() {
        assert_eq!(adaptive(1234.4), "1234");
        assert_eq!(adaptive(-150.2), "-150");
        assert_eq!(adaptive(12.34), "12.3");
        assert_eq!(adaptive(1.234), "1.23");
        assert_eq!(adaptive(5.2), "5.20");
        assert_eq!(adaptive(-250.0), "-250");
        assert_eq!(percent_units(31.04, 1), "31.0%");
        assert_eq!(exact_or_na(0.5), "0.5");
        assert_eq!(exact_or_na(3.0), "3");
        assert_eq!(exact_or_na(-0.0), "-0");
        assert_eq!(shortest(-0.0), "0");
        assert_eq!(shortest(0.05), "0.05");
        assert_eq!(shortest(1.4), "1.4");
        assert_eq!(shortest(3.0), "3");
    }
}
