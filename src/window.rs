//! Report windows: which conversations a run covers (`--week`, `--since`/`--until`, or all
//! data), its folder label, and the `--as-of` instant. Pure: the current time is passed in.
//!
//! Windows are in UTC and half-open (`since` inclusive, `until` exclusive); a conversation
//! belongs to the window in which it started.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};

use crate::error::UsageError;
use crate::model::Micros;
use crate::summary::WindowInfo;
use crate::time::{date_or_rfc3339_seconds, date_to_micros, micros_to_date, MICROS_PER_DAY};

/// The span of time a report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The folder name: `2026-W47`, `<since>_<until>` (an open side is `open`), or `all`.
    pub label: String,
    /// Inclusive start (UTC micros); `None` = from the beginning of the data.
    pub since: Option<Micros>,
    /// Exclusive end (UTC micros); `None` = up to the end of the data.
    pub until: Option<Micros>,
    /// Only ISO-week windows enter `history.parquet`.
    pub is_iso_week: bool,
}

impl Window {
    /// All data: no bound on either side.
    pub fn all() -> Window {
        Window { label: "all".to_string(), since: None, until: None, is_iso_week: false }
    }

    /// Resolves the window flags. `week` is `YYYY-Www` or `last`; `since`/`until` are dates
    /// (either alone is an open-ended window); none at all is every conversation.
    pub fn resolve(
        week: Option<&str>,
        since: Option<&str>,
        until: Option<&str>,
        as_of: Micros,
    ) -> Result<Window, UsageError> {
        match (week, since, until) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(UsageError(
                "--week cannot be combined with --since or --until; use one or the other".into(),
            )),
            (Some(w), None, None) if w.trim().eq_ignore_ascii_case("last") => {
                Ok(Window::last_complete_week(as_of))
            }
            (Some(w), None, None) => Window::iso_week(w),
            (None, None, None) => Ok(Window::all()),
            (None, s, u) => Window::between(s, u),
        }
    }

    /// The ISO week `YYYY-Www` (Monday 00:00 UTC to the next Monday).
    pub fn iso_week(text: &str) -> Result<Window, UsageError> {
        let bad = || {
            UsageError(format!(
                "--week {text:?} is not an ISO week: expected YYYY-Www (e.g. 2026-W47) or `last`"
            ))
        };
        let trimmed = text.trim();
        let (year, week) = trimmed.split_once(['-']).ok_or_else(bad)?;
        let week = week.strip_prefix(['W', 'w']).ok_or_else(bad)?;
        if year.len() != 4 || week.is_empty() || week.len() > 2 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let week: u32 = week.parse().map_err(|_| bad())?;
        let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(|| {
            UsageError(format!("--week {text:?}: the year {year} has no ISO week {week}"))
        })?;
        Ok(Window::week_starting(monday))
    }

    /// The last ISO week that ended at or before `as_of`.
    pub fn last_complete_week(as_of: Micros) -> Window {
        let day = micros_to_date(as_of);
        let this_monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
        Window::week_starting(this_monday - Duration::days(7))
    }

    fn week_starting(monday: NaiveDate) -> Window {
        let iso = monday.iso_week();
        let since = date_to_micros(monday);
        Window {
            label: format!("{:04}-W{:02}", iso.year(), iso.week()),
            since: Some(since),
            until: Some(since + 7 * MICROS_PER_DAY),
            is_iso_week: true,
        }
    }

    /// `--since D` and/or `--until D` (dates, UTC, `until` exclusive).
    pub fn between(since: Option<&str>, until: Option<&str>) -> Result<Window, UsageError> {
        let since_date = since.map(|s| parse_date("--since", s)).transpose()?;
        let until_date = until.map(|s| parse_date("--until", s)).transpose()?;
        if let (Some(s), Some(u)) = (since_date, until_date) {
            if s >= u {
                return Err(UsageError(format!(
                    "--since {s} is not before --until {u} (--until is exclusive): the window is empty"
                )));
            }
        }
        let side = |d: Option<NaiveDate>| d.map_or("open".to_string(), |d| d.to_string());
        Ok(Window {
            label: format!("{}_{}", side(since_date), side(until_date)),
            since: since_date.map(date_to_micros),
            until: until_date.map(date_to_micros),
            is_iso_week: false,
        })
    }

    /// Whether a conversation that started at `started_at` belongs to this window.
    pub fn contains(&self, started_at: Micros) -> bool {
        self.since.is_none_or(|s| started_at >= s) && self.until.is_none_or(|u| started_at < u)
    }

    /// The `window` block of `summary.json`: dates, `until` exclusive.
    pub fn info(&self) -> WindowInfo {
        WindowInfo {
            label: self.label.clone(),
            since: self.since.map(|m| micros_to_date(m).to_string()),
            until: self.until.map(|m| micros_to_date(m).to_string()),
        }
    }

    /// A warning sentence when `as_of` comes before the window's end plus `outcome_days`: later
    /// meetings and opportunities are not in the data yet. For a window open at the end,
    /// `latest_start` (the last conversation start in the window) stands for its end.
    pub fn outcome_warning(
        &self,
        as_of: Micros,
        outcome_days: u32,
        latest_start: Option<Micros>,
    ) -> Option<String> {
        let end = self.until.or(latest_start)?;
        let settled = end.saturating_add(i64::from(outcome_days).saturating_mul(MICROS_PER_DAY));
        if as_of >= settled {
            return None;
        }
        Some(format!(
            "outcomes of this window may not be final: --as-of {} is earlier than the window's \
             end ({}) plus --outcome-days {} ({}); meetings and opportunities that come later are \
             counted as none, so rerun the window after {}",
            date_or_rfc3339_seconds(as_of),
            date_or_rfc3339_seconds(end),
            outcome_days,
            date_or_rfc3339_seconds(settled),
            date_or_rfc3339_seconds(settled),
        ))
    }
}

/// Parses `--as-of`: RFC 3339 (with offset), a naive timestamp (UTC), a date (00:00 UTC), or
/// `now` (the `now` argument, so this stays pure).
pub fn parse_as_of(text: &str, now: Micros) -> Result<Micros, UsageError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc).timestamp_micros());
    }
    for format in
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(Utc.from_utc_datetime(&naive).timestamp_micros());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(date_to_micros(date));
    }
    Err(UsageError(format!(
        "--as-of {text:?} is not a timestamp: expected RFC 3339 (2026-11-23T08:00:00Z), \
         a UTC timestamp (2026-11-23 08:00:00), a date (2026-11-23) or `now`"
    )))
}

/// A `YYYY-MM-DD` date with a four-digit year: chrono alone also takes signed and longer years
/// (`-0001-01-01`, `+12345-01-01`), which would make a window label that is no plain folder name.
fn parse_date(flag: &str, text: &str) -> Result<NaiveDate, UsageError> {
    let text = text.trim();
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped.then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten().ok_or_else(|| {
        UsageError(format!("{flag} {text:?} is not a date: expected YYYY-MM-DD (UTC)"))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_need_a_plain_four_digit_year() {
        for bad in ["-0001-01-01", "+12345-01-01", "12345-01-01", "2026-1-01", "../../x", ""] {
            assert!(parse_date("--since", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_date("--since", " 0000-01-01 ").unwrap().to_string(), "0000-01-01");
        assert_eq!(parse_date("--until", "9999-12-31").unwrap().to_string(), "9999-12-31");
    }

    use super::*;

    fn at(rfc3339: &str) -> Micros {
        parse_as_of(rfc3339, 0).expect("valid timestamp")
    }

    proptest::proptest! {
        /// Every instant lies in exactly one ISO week: the one `--week last` names a week
        /// later, whose label parses back to the same window.
        #[test]
        fn every_instant_is_in_its_own_week(t in -2_000_000_000i64..5_000_000_000i64) {
            let t = t * 1_000_000;
            let week = Window::last_complete_week(t + 7 * MICROS_PER_DAY);
            proptest::prop_assert!(week.contains(t), "{} does not contain {}", week.label, t);
            let before = Window::last_complete_week(t);
            proptest::prop_assert!(!before.contains(t));
            proptest::prop_assert_eq!(Window::iso_week(&week.label).unwrap(), week);
        }
    }

    #[test]
    fn iso_week_is_monday_to_monday_utc() {
        let w = Window::iso_week("2026-W47").unwrap();
        assert_eq!(w.label, "2026-W47");
        assert_eq!(w.since, Some(at("2026-11-16")));
        assert_eq!(w.until, Some(at("2026-11-23")));
        assert!(w.is_iso_week);
        assert!(w.contains(at("2026-11-16T00:00:00Z")));
        assert!(w.contains(at("2026-11-22T23:59:59.999999Z")));
        assert!(!w.contains(at("2026-11-23T00:00:00Z")));
        assert!(!w.contains(at("2026-11-15T23:59:59Z")));
    }

    #[test]
    fn membership_is_decided_in_utc() {
        // 23:30 on Sunday at UTC-2 is 01:30 on Monday UTC: the next week.
        let t = at("2026-11-22T23:30:00-02:00");
        assert!(Window::iso_week("2026-W48").unwrap().contains(t));
        assert!(!Window::iso_week("2026-W47").unwrap().contains(t));
        // 00:30 on Monday at UTC+2 is Sunday 22:30 UTC: still the previous week.
        let t = at("2026-11-23T00:30:00+02:00");
        assert!(Window::iso_week("2026-W47").unwrap().contains(t));
    }

    #[test]
    fn week_one_can_start_in_the_previous_year() {
        // ISO 2026-W01 starts on Monday 2025-12-29.
        let w = Window::iso_week("2026-W01").unwrap();
        assert_eq!(w.since, Some(at("2025-12-29")));
        assert_eq!(w.info().since.as_deref(), Some("2025-12-29"));
        assert_eq!(w.info().until.as_deref(), Some("2026-01-05"));
    }

    #[test]
    fn week_53_exists_only_in_long_years() {
        let w = Window::iso_week("2026-W53").unwrap();
        assert_eq!(w.since, Some(at("2026-12-28")));
        assert_eq!(w.until, Some(at("2027-01-04")));
        assert!(Window::iso_week("2025-W53").is_err());
        assert!(Window::iso_week("2026-W00").is_err());
        assert!(Window::iso_week("2026-W54").is_err());
    }

    #[test]
    fn malformed_weeks_are_usage_errors() {
        for bad in ["2026W47", "2026-47", "26-W47", "2026-W", "2026-W470", "last week", ""] {
            assert!(Window::iso_week(bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(Window::iso_week(" 2026-w07 ").unwrap().label, "2026-W07");
    }

    #[test]
    fn last_week_is_the_last_complete_week_before_as_of() {
        let mid_week = Window::resolve(Some("last"), None, None, at("2026-11-25T10:00:00Z"));
        assert_eq!(mid_week.unwrap().label, "2026-W47");
        // At Monday 00:00 exactly, the week that just ended is complete.
        let monday = Window::resolve(Some("last"), None, None, at("2026-11-23T00:00:00Z"));
        assert_eq!(monday.unwrap().label, "2026-W47");
        let sunday = Window::resolve(Some("last"), None, None, at("2026-11-22T23:59:59Z"));
        assert_eq!(sunday.unwrap().label, "2026-W46");
        // Across a year boundary: Monday 2026-01-05 -> 2026-W01; Friday 2026-01-02 -> 2025-W52.
        assert_eq!(Window::last_complete_week(at("2026-01-05T12:00:00Z")).label, "2026-W01");
        assert_eq!(Window::last_complete_week(at("2026-01-02T12:00:00Z")).label, "2025-W52");
        assert_eq!(Window::last_complete_week(at("2027-01-06T00:00:00Z")).label, "2026-W53");
    }

    #[test]
    fn since_until_windows_and_open_ends() {
        let w = Window::resolve(None, Some("2026-11-01"), Some("2026-11-15"), 0).unwrap();
        assert_eq!(w.label, "2026-11-01_2026-11-15");
        assert!(!w.is_iso_week);
        assert!(w.contains(at("2026-11-14T23:59:59Z")));
        assert!(!w.contains(at("2026-11-15T00:00:00Z")));
        let open_end = Window::resolve(None, Some("2026-11-01"), None, 0).unwrap();
        assert_eq!(open_end.label, "2026-11-01_open");
        assert!(open_end.contains(at("2030-01-01")));
        let open_start = Window::resolve(None, None, Some("2026-11-15"), 0).unwrap();
        assert_eq!(open_start.label, "open_2026-11-15");
        assert!(open_start.contains(at("1990-01-01")));
        let all = Window::resolve(None, None, None, 0).unwrap();
        assert_eq!(all, Window::all());
        assert_eq!(all.info().since, None);
    }

    #[test]
    fn bad_window_flags_are_usage_errors() {
        assert!(Window::resolve(None, Some("2026-11-15"), Some("2026-11-15"), 0).is_err());
        assert!(Window::resolve(None, Some("2026-11-16"), Some("2026-11-15"), 0).is_err());
        assert!(Window::resolve(None, Some("15/11/2026"), None, 0).is_err());
        assert!(Window::resolve(Some("2026-W47"), Some("2026-11-01"), None, 0).is_err());
    }

    #[test]
    fn as_of_accepts_the_documented_forms() {
        assert_eq!(parse_as_of("2026-11-23", 0).unwrap(), at("2026-11-23T00:00:00Z"));
        assert_eq!(parse_as_of("2026-11-23 08:00:00", 0).unwrap(), at("2026-11-23T08:00:00Z"));
        assert_eq!(parse_as_of("2026-11-23T08:00:00", 0).unwrap(), at("2026-11-23T08:00:00Z"));
        assert_eq!(
            parse_as_of("2026-11-23T10:00:00+02:00", 0).unwrap(),
            at("2026-11-23T08:00:00Z")
        );
        assert_eq!(parse_as_of("now", 42).unwrap(), 42);
        assert!(parse_as_of("yesterday", 0).is_err());
    }

    #[test]
    fn outcome_warning_until_the_window_has_settled() {
        let w = Window::iso_week("2026-W47").unwrap();
        let early = w.outcome_warning(at("2026-11-25"), 30, None).expect("a warning");
        assert!(early.starts_with("outcomes of this window may not be final"), "{early}");
        assert!(early.contains("2026-12-23"), "{early}");
        assert_eq!(w.outcome_warning(at("2026-12-23"), 30, None), None);
        // An open end uses the latest conversation start; no conversation, no warning.
        let open = Window::all();
        assert!(open.outcome_warning(at("2026-11-25"), 30, Some(at("2026-11-20"))).is_some());
        assert_eq!(open.outcome_warning(at("2026-11-25"), 30, None), None);
    }
}
