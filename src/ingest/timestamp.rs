//! The data contract's timestamps, under the names the readers use: parsing, the year range
//! and the exact text form all live in `crate::time`, so ingest and the report agree on what
//! a timestamp is.

pub use crate::time::{in_contract_range, parse_timestamp, MAX_MICROS, MIN_MICROS};

/// RFC 3339 in UTC with every fractional digit (`crate::time::rfc3339_exact`): how a native
/// timestamp reads where the contract expects text.
pub use crate::time::rfc3339_exact as format_micros;
