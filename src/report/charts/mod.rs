//! Charts (owned by the charts helper; this is a placeholder so the report branch builds on its
//! own: at merge the charts branch's module replaces it). `render_all` writes `<name>.svg` and
//! `<name>.png` under `dir` and says which files it wrote.

use std::path::{Path, PathBuf};

use crate::report::history::HistoryRow;
use crate::report::summary::Summary;

/// One chart written as SVG and PNG.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartFile {
    pub name: String,
    pub title: String,
    pub svg: PathBuf,
    pub png: PathBuf,
}

/// Placeholder: draws nothing.
pub fn render_all(
    _summary: &Summary,
    _history: &[HistoryRow],
    _dir: &Path,
) -> anyhow::Result<Vec<ChartFile>> {
    Ok(Vec::new())
}
