//! The policies file (TOML): `signal_source`, `[[policy]]`, `[[sweep]]`, `[lexicon]`,
//! `[lexicon.extend]`, `[quality]`. Every error names the file, the line and the key.

use std::path::Path;

use super::{Policy, QualityReference, Sweep};
use crate::signals::lexicon::LexiconConfig;
use crate::signals::SignalSource;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoliciesFile {
    pub signal_source: Option<SignalSource>,
    /// In file order.
    pub policies: Vec<Policy>,
    pub sweeps: Vec<Sweep>,
    pub lexicon: LexiconConfig,
    pub quality: QualityReference,
}

/// A policies file that cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    #[error("{path}: cannot be read: {reason}")]
    Io { path: String, reason: String },
    #[error("{path}: line {line}: {key}: {message}")]
    Invalid { path: String, line: usize, key: String, message: String },
}

pub fn parse_policies(text: &str, path: &str) -> Result<PoliciesFile, PolicyFileError> {
    todo!("issue 3: {path} {}", text.len())
}

pub fn load_policies(path: &Path) -> Result<PoliciesFile, PolicyFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| PolicyFileError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    parse_policies(&text, &path.display().to_string())
}
