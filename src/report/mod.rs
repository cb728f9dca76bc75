//! The report: `summary` holds the computed figures and `ReportData` (here) everything the
//! folder is made from; `page` renders the human pages (`report.md`, `report.html`) from
//! templates; one exporter per file writes the bytes (`export`); the folder is assembled in a
//! temporary sibling and swapped into place (`folder`); `charts` draws the figures; `window`
//! decides what a run covers; `history` keeps the week-over-week rows; `slices` holds how every
//! output reads the `--by` cuts; `brief` renders the context packet a rep receives.
//!
//! The data types live here, above the modules that read them, so that `export` uses `page`
//! and neither is the other's owner.

pub mod atomic;
pub mod brief;
pub mod charts;
pub mod decisions;
pub mod export;
pub mod folder;
pub mod frame;
pub mod history;
pub mod history_db;
pub mod page;
pub mod search;
pub mod slices;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::decisions::DecisionTable;
use crate::model::Rejection;
use crate::summary::Summary;
use charts::ChartFile;

/// Everything the report folder is made from.
#[derive(Clone, Debug, Default)]
pub struct ReportData {
    pub summary: Summary,
    pub decisions: DecisionTable,
    pub rejections: Vec<Rejection>,
    /// Filled by `folder::write_report` after the charts are drawn into the new folder.
    pub charts: Vec<ChartFile>,
    pub run: RunInfo,
    /// What `recommended.toml` repeats of the run and its policies file.
    pub recommended: search::RecommendedContext,
}

/// `run.json`: what makes a run reproducible or differ (the only file allowed to differ
/// between identical runs).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunInfo {
    pub version: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC; filled when `run.json` is rendered if empty.
    pub finished_at: String,
    pub duration_seconds: f64,
    /// The command line as given.
    pub argv: Vec<String>,
    /// Input file path -> sha256 (hex).
    pub inputs: BTreeMap<String, String>,
    pub seed: u64,
}

impl RunInfo {
    /// A run starting now, hashing `inputs` (the data files and the policies file).
    pub fn start(argv: Vec<String>, inputs: &[&Path], seed: u64) -> anyhow::Result<RunInfo> {
        use rayon::prelude::*;
        // In parallel: at scale the data files are hundreds of megabytes.
        let hashed: Vec<(String, String)> = inputs
            .par_iter()
            .map(|path| Ok((path.display().to_string(), sha256_file(path)?)))
            .collect::<anyhow::Result<_>>()?;
        let hashes: BTreeMap<String, String> = hashed.into_iter().collect();
        Ok(RunInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: crate::time::rfc3339_millis(chrono::Utc::now()),
            finished_at: String::new(),
            duration_seconds: 0.0,
            argv,
            inputs: hashes,
            seed,
        })
    }
}

/// The hex sha256 of a file's bytes, streamed (the file is never held in memory whole).
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let hash = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher)?;
        Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
    };
    hash().with_context(|| format!("hashing {}", path.display()))
}
