//! Timestamp text to UTC microseconds: RFC 3339 with any offset, or a naive
//! `YYYY-MM-DD HH:MM:SS[.fff]` (space or `T` separator) read as UTC.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use crate::model::Micros;

const NAIVE_FORMATS: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"];

/// Parses a timestamp; `None` when the text is not one of the accepted forms.
pub fn parse_timestamp(text: &str) -> Option<Micros> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc).timestamp_micros());
    }
    NAIVE_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc().timestamp_micros())
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
    fn formatting_round_trips() {
        assert_eq!(format_micros(T0), "2025-11-17T14:03:00Z");
        assert_eq!(parse_timestamp(&format_micros(T0 + 7)), Some(T0 + 7));
    }
}
