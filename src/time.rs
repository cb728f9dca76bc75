//! Time: the one home for instants as UTC microseconds (`model::Micros`). It parses the
//! timestamp forms the data contract accepts, converts between instants and dates, and writes
//! instants as text in the few shapes the outputs use. Pure: the current time is always passed
//! in.
//!
//! Every timestamp of the data, text or native, must fall in years 0000 to 9999
//! (`in_contract_range`): the years a four-digit `YYYY` can write. One rule for every format,
//! so that an instant a CSV cannot express is not accepted from Parquet either.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};

use crate::model::Micros;

/// One day in microseconds (UTC days have no leap seconds in this model).
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// 0000-01-01T00:00:00Z.
pub const MIN_MICROS: Micros = -62_167_219_200_000_000;
/// 9999-12-31T23:59:59.999999Z.
pub const MAX_MICROS: Micros = 253_402_300_799_999_999;

/// The naive forms of the data contract, read as UTC.
const NAIVE_FORMATS: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"];

/// Whether an instant lies in years 0000 to 9999 (UTC).
pub fn in_contract_range(us: Micros) -> bool {
    (MIN_MICROS..=MAX_MICROS).contains(&us)
}

/// Parses a timestamp of the data contract: RFC 3339 with any offset, or a naive
/// `YYYY-MM-DD HH:MM:SS[.fff]` (space or `T` separator) read as UTC. `None` when the text is
/// none of these forms or falls outside years 0000 to 9999 once in UTC.
pub fn parse_timestamp(text: &str) -> Option<Micros> {
    let text = text.trim();
    let parsed = match DateTime::parse_from_rfc3339(text) {
        Ok(t) => Some(t.with_timezone(&Utc).timestamp_micros()),
        Err(_) => NAIVE_FORMATS
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .map(|t| t.and_utc().timestamp_micros()),
    };
    parsed.filter(|us| in_contract_range(*us))
}

/// Midnight UTC at the start of `date`.
pub fn date_to_micros(date: NaiveDate) -> Micros {
    date.and_time(NaiveTime::MIN).and_utc().timestamp_micros()
}

/// The UTC date an instant falls on (clamped like `micros_to_datetime`).
pub fn micros_to_date(us: Micros) -> NaiveDate {
    micros_to_datetime(us).date_naive()
}

/// The instant as a chrono time. Out-of-range instants clamp to chrono's first or last
/// instant rather than panic: data-derived values must not abort a run.
pub fn micros_to_datetime(us: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(if us < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// RFC 3339 in UTC with every fractional digit the instant has (`2025-11-17T14:03:00.25Z`), so
/// the text parses back to the same microsecond; `<n> µs since 1970` beyond chrono's range.
/// For message texts and text columns holding native timestamps.
pub fn rfc3339_exact(us: Micros) -> String {
    match DateTime::<Utc>::from_timestamp_micros(us) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => format!("{us} µs since 1970"),
    }
}

/// RFC 3339 in UTC to the second (`2026-11-17T14:03:00Z`, fractions dropped); `None` beyond
/// chrono's range.
pub fn rfc3339_seconds(us: Micros) -> Option<String> {
    DateTime::<Utc>::from_timestamp_micros(us).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// RFC 3339 in UTC to the millisecond (`2026-11-17T14:03:00.250Z`): the clock readings of
/// `run.json`.
pub fn rfc3339_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `2026-11-23` for midnight UTC, else `2026-11-23T08:30:00Z` (to the second): the shortest
/// text that names a window bound or `--as-of`. Out-of-range instants clamp.
pub fn date_or_rfc3339_seconds(us: Micros) -> String {
    let t = micros_to_datetime(us);
    if us.rem_euclid(MICROS_PER_DAY) == 0 {
        t.date_naive().to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Micros = 1_763_388_180_000_000; // 2025-11-17T14:03:00Z

    #[test]
    fn rfc3339_utc_and_offsets_normalise_to_the_same_instant() {
        assert_eq!(parse_timestamp("2025-11-17T14:03:00Z"), Some(T0));
        assert_eq!(parse_timestamp("2025-11-17T15:03:00+01:00"), Some(T0));
        assert_eq!(parse_timestamp("2025-11-17T09:03:00-05:00"), Some(T0));
        assert_eq!(parse_timestamp(" 2025-11-17T14:03:00.250Z "), Some(T0 + 250_000));
    }

    #[test]
    fn naive_forms_are_read_as_utc() {
        assert_eq!(parse_timestamp("2025-11-17 14:03:00"), Some(T0));
        assert_eq!(parse_timestamp("2025-11-17T14:03:00"), Some(T0));
        assert_eq!(parse_timestamp("2025-11-17 14:03:00.5"), Some(T0 + 500_000));
        assert_eq!(parse_timestamp("2025-11-17 14:03:00.123456"), Some(T0 + 123_456));
    }

    #[test]
    fn other_text_is_rejected() {
        for bad in ["", "yesterday", "2025-11-17", "2025-13-01 00:00:00", "17/11/2025 14:03"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn years_0000_to_9999_are_the_range() {
        assert_eq!(parse_timestamp("0000-01-01T00:00:00Z"), Some(MIN_MICROS));
        assert_eq!(parse_timestamp("9999-12-31T23:59:59.999999Z"), Some(MAX_MICROS));
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z"), Some(-1_000_000));
        // An offset that moves the instant out of the range, and longer or signed years.
        assert_eq!(parse_timestamp("0000-01-01T00:30:00+01:00"), None);
        assert_eq!(parse_timestamp("9999-12-31T23:30:00-01:00"), None);
        for bad in ["+10000-01-01T00:00:00Z", "10000-01-01 00:00:00", "-0001-01-01 00:00:00"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert!(!in_contract_range(i64::MIN) && !in_contract_range(i64::MAX));
    }

    #[test]
    fn exact_text_round_trips_to_the_microsecond() {
        assert_eq!(rfc3339_exact(T0), "2025-11-17T14:03:00Z");
        assert_eq!(rfc3339_exact(T0 + 250_000), "2025-11-17T14:03:00.250Z");
        assert_eq!(parse_timestamp(&rfc3339_exact(T0 + 7)), Some(T0 + 7));
        assert_eq!(rfc3339_exact(i64::MAX), format!("{} µs since 1970", i64::MAX));
    }

    #[test]
    fn the_shorter_forms_drop_what_they_say() {
        assert_eq!(rfc3339_seconds(T0 + 999_999).as_deref(), Some("2025-11-17T14:03:00Z"));
        assert_eq!(rfc3339_seconds(1_794_182_400_000_000).as_deref(), Some("2026-11-09T00:00:00Z"));
        assert_eq!(rfc3339_seconds(i64::MIN), None);
        let millis = DateTime::from_timestamp_micros(T0 + 250_400).expect("in range");
        assert_eq!(rfc3339_millis(millis), "2025-11-17T14:03:00.250Z");
        assert_eq!(date_or_rfc3339_seconds(1_794_182_400_000_000), "2026-11-09");
        assert_eq!(date_or_rfc3339_seconds(T0 + 500_000), "2025-11-17T14:03:00Z");
    }

    #[test]
    fn dates_and_instants_convert_both_ways() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 9).expect("a date");
        assert_eq!(date_to_micros(date), 1_794_182_400_000_000);
        assert_eq!(micros_to_date(1_794_182_400_000_000 + MICROS_PER_DAY - 1), date);
        assert_eq!(micros_to_datetime(i64::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(micros_to_datetime(i64::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
