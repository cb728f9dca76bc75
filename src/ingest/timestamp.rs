//! Timestamp text to UTC microseconds: RFC 3339 with any offset, or a naive
//! `YYYY-MM-DD HH:MM:SS[.fff]` (space or `T` separator) read as UTC.
//!
//! Every timestamp, text or native, must fall in years 0000 to 9999 (`in_contract_range`): the
//! years a four-digit `YYYY` can write. One rule for every format, so that an instant a CSV
//! cannot express is not accepted from Parquet either.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use crate::model::Micros;

const NAIVE_FORMATS: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"];

/// 0000-01-01T00:00:00Z.
pub const MIN_MICROS: Micros = -62_167_219_200_000_000;
/// 9999-12-31T23:59:59.999999Z.
pub const MAX_MICROS: Micros = 253_402_300_799_999_999;

/// Whether an instant lies in years 0000 to 9999 (UTC).
pub fn in_contract_range(us: Micros) -> bool {
    (MIN_MICROS..=MAX_MICROS).contains(&us)
}

/// Parses a timestamp; `None` when the text is not one of the accepted forms or falls outside
/// years 0000 to 9999 once in UTC.
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

/// RFC 3339 in UTC, for messages and text columns holding native timestamps.
pub fn format_micros(us: Micros) -> String {
    match DateTime::<Utc>::from_timestamp_micros(us) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => format!("{us} µs since 1970"),
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
    fn formatting_round_trips() {
        assert_eq!(format_micros(T0), "2025-11-17T14:03:00Z");
        assert_eq!(parse_timestamp(&format_micros(T0 + 7)), Some(T0 + 7));
    }
}
