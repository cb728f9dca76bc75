//! Table outputs of the commands that write one frame (`replay`, `signals`): CSV or Parquet
//! chosen by the file's extension, written atomically (see `atomic`).

use std::path::Path;

use anyhow::Context;
use polars::prelude::{CsvWriter, DataFrame, ParquetWriter, SerWriter};

use crate::error::UsageError;
use crate::report::atomic::write_atomically;

/// Whether a table output is Parquet (`.parquet`) rather than CSV (`.csv`); any other name is a
/// usage error (exit 2). Commands call it before reading the data so a mistyped `--out` fails
/// at once instead of after the whole run.
pub fn is_parquet_output(path: &Path) -> Result<bool, UsageError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.ends_with(".parquet") {
        Ok(true)
    } else if name.ends_with(".csv") {
        Ok(false)
    } else {
        Err(UsageError(format!("{}: the output must end in .csv or .parquet", path.display())))
    }
}

/// Writes a frame to `path` as CSV or Parquet by extension, creating the folder when missing;
/// a failed run never leaves half a file.
pub fn write_frame(frame: &mut DataFrame, path: &Path) -> anyhow::Result<()> {
    let is_parquet = is_parquet_output(path)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the folder {}", parent.display()))?;
    }
    write_atomically(path, |file| {
        if is_parquet {
            ParquetWriter::new(file).finish(frame)?;
        } else {
            CsvWriter::new(file).finish(frame)?;
        }
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))
}
