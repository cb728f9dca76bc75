//! Finds each table of a data folder: one file `<table>.<ext>` or a folder `<table>/` of files of
//! one format (searched recursively, read in sorted path order).

use std::path::{Path, PathBuf};

use crate::error::DataError;

/// The file formats a table can be stored in, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    CsvGz,
    Jsonl,
    Parquet,
}

impl Format {
    /// Extensions in the order they are tried; `.csv.gz` before `.csv`'s suffix match matters.
    const EXTENSIONS: [(&'static str, Format); 5] = [
        (".csv.gz", Format::CsvGz),
        (".csv", Format::Csv),
        (".jsonl", Format::Jsonl),
        (".ndjson", Format::Jsonl),
        (".parquet", Format::Parquet),
    ];

    /// The format a file name says, if any.
    pub fn of_name(name: &str) -> Option<Format> {
        Format::EXTENSIONS.iter().find(|(ext, _)| name.ends_with(ext)).map(|(_, f)| *f)
    }
}

/// The files of one table, all of one format, in read order.
#[derive(Clone, Debug)]
pub struct TableFiles {
    pub format: Format,
    pub files: Vec<PathBuf>,
}

/// Locates `table` in `dir`.
pub fn discover(dir: &Path, table: &str) -> Result<TableFiles, DataError> {
    let mut candidates: Vec<PathBuf> = Format::EXTENSIONS
        .iter()
        .map(|(ext, _)| dir.join(format!("{table}{ext}")))
        .filter(|p| p.is_file())
        .collect();
    let folder = dir.join(table);
    if folder.is_dir() {
        candidates.push(folder.clone());
    }
    match candidates.as_slice() {
        [] => Err(DataError::MissingTable { dir: dir.to_path_buf(), table: table.to_string() }),
        [one] if one.is_dir() => discover_folder(dir, table, one),
        [one] => {
            let name =
                one.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let format = Format::of_name(&name).ok_or_else(|| DataError::Unreadable {
                file: one.display().to_string(),
                reason: "unknown file extension".to_string(),
            })?;
            Ok(TableFiles { format, files: vec![one.clone()] })
        }
        [first, second, ..] => Err(DataError::TwoFiles {
            dir: dir.to_path_buf(),
            table: table.to_string(),
            first: relative_label(dir, first),
            second: relative_label(dir, second),
        }),
    }
}

/// The files of a partitioned table: every data file below `folder`, one format only.
fn discover_folder(dir: &Path, table: &str, folder: &Path) -> Result<TableFiles, DataError> {
    let mut files = Vec::new();
    collect_files(folder, &mut files).map_err(|e| DataError::Unreadable {
        file: folder.display().to_string(),
        reason: e.to_string(),
    })?;
    files.sort();
    let mut format: Option<(Format, PathBuf)> = None;
    let mut data_files = Vec::new();
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // Hidden files and markers such as `_SUCCESS` are not data.
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let Some(this) = Format::of_name(&name) else {
            return Err(DataError::Unreadable {
                file: relative_label(dir, &file),
                reason: format!("not a data file of a supported format in the {table}/ folder"),
            });
        };
        match &format {
            Some((f, first)) if *f != this => {
                return Err(DataError::Unreadable {
                    file: relative_label(dir, folder),
                    reason: format!(
                        "mixed formats in one table folder: {} and {}",
                        relative_label(dir, first),
                        relative_label(dir, &file)
                    ),
                })
            }
            Some(_) => {}
            None => format = Some((this, file.clone())),
        }
        data_files.push(file);
    }
    match format {
        Some((format, _)) => Ok(TableFiles { format, files: data_files }),
        None => Err(DataError::Unreadable {
            file: relative_label(dir, folder),
            reason: "the table folder holds no data file".to_string(),
        }),
    }
}

fn collect_files(folder: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// A file's name as shown in messages: its path relative to the data folder.
pub fn relative_label(dir: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(dir).unwrap_or(file);
    rel.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_map_to_formats() {
        assert_eq!(Format::of_name("messages.csv.gz"), Some(Format::CsvGz));
        assert_eq!(Format::of_name("messages.csv"), Some(Format::Csv));
        assert_eq!(Format::of_name("m.ndjson"), Some(Format::Jsonl));
        assert_eq!(Format::of_name("part-0.parquet"), Some(Format::Parquet));
        assert_eq!(Format::of_name("notes.txt"), None);
    }
}
