//! Ingest: find the three tables in a data folder, read them in any supported format, validate
//! every row against the data contract, and assemble a `model::Dataset` with its rejections.

use std::path::Path;

use crate::error::DataError;
use crate::model::Dataset;

#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Largest share of rejected conversations before the data counts as unusable.
    pub max_rejected: f64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions { max_rejected: 0.01 }
    }
}

/// Loads and validates the data set in `dir`.
pub fn load(dir: &Path, options: &IngestOptions) -> Result<Dataset, DataError> {
    todo!("issue 2: {} {options:?}", dir.display())
}
