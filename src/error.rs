//! Typed errors that decide the exit code: usage, policies-file and lexicon problems exit 2,
//! unusable data exits 3, anything else 1. Commands wrap them with `anyhow` context (always the
//! path); `main` finds them in the error chain.

use std::path::PathBuf;

use crate::signals::detect::DetectorError;

/// Bad usage: a flag value that cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Data that cannot be used as a whole (exit 3).
#[derive(Clone, Debug, thiserror::Error)]
pub enum DataError {
    #[error("{dir}: no {table} table (expected {table}.csv, {table}.csv.gz, {table}.jsonl, {table}.ndjson, {table}.parquet or a {table}/ folder)")]
    MissingTable { dir: PathBuf, table: String },
    #[error("{dir}: two files for the {table} table: {first} and {second}; keep exactly one")]
    TwoFiles { dir: PathBuf, table: String, first: String, second: String },
    #[error("{file}: missing required column {column}")]
    MissingColumn { file: String, column: String },
    #[error("{file}: cannot be read: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{rejected} of {total} conversations rejected ({share:.2}%), more than --max-rejected allows ({max:.2}%); see the rejections above")]
    TooManyRejected { rejected: u64, total: u64, share: f64, max: f64 },
    /// A database that cannot be reached or queried (`server` names it, never a password).
    #[error("{server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("{server}: no table or view {table}")]
    MissingRelation { server: String, table: String },
    #[error("no conversation left to analyse: {0}")]
    NoConversations(String),
}

/// The exit codes of outputs.md.
pub mod exit {
    pub const OK: u8 = 0;
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DATA: u8 = 3;
}

/// The exit code an error chain maps to.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<DataError>() {
            return exit::DATA;
        }
        if cause.is::<UsageError>()
            || cause.is::<crate::policy::PolicyFileError>()
            || cause.is::<crate::searching::FamilyTooLarge>()
        {
            return exit::USAGE;
        }
        if let Some(err) = cause.downcast_ref::<DetectorError>() {
            // The shipped lexicon is part of the build, not of the usage.
            return match err {
                DetectorError::DefaultLexicon(_) | DetectorError::ShippedModel(_) => exit::INTERNAL,
                _ => exit::USAGE,
            };
        }
    }
    exit::INTERNAL
}
