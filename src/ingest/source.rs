//! Where a data set's three tables come from. Ingest reads through a `Source`: it hands over
//! the rows of each table as raw cells, and everything after that (validation, the cross-row
//! checks, rejections) is the same whatever the source. `FolderSource` is the data folder, its
//! tables discovered once when it is opened; `ingest::postgres::PostgresSource` is a
//! PostgreSQL schema.

use std::path::{Path, PathBuf};

use super::build::Builder;
use super::discover::{discover, relative_label, Format, TableFiles};
use super::rows::{self, ExtraColumns, FileStats, RawRow, RowBatch, TableSpec};
use super::{csv, jsonl, parquet};
use crate::error::DataError;

/// A place the conversations, messages and outcomes tables can be read from.
pub trait Source {
    /// Whether the messages table has a `signals` column, judged without reading its rows;
    /// `None` when that cannot be told so cheaply (the real read then says).
    fn messages_have_signals_column(&self) -> Option<bool>;

    /// How the rows of `table` are named when they are not a file's (a database's
    /// `schema.table`); `None` for a source of files.
    fn table_label(&self, _table: &str) -> Option<String> {
        None
    }

    /// When the data was exported, if the source records it (a folder's `export.json`).
    fn export(&self) -> Result<Option<Export>, DataError> {
        Ok(None)
    }

    /// Reads every row of the table `spec` names into `rows`, in a fixed order. Unknown
    /// columns are registered in `extras` (and kept when `spec.keep_extras`).
    fn read_table(
        &self,
        spec: &TableSpec,
        extras: &mut ExtraColumns,
        rows: &mut TableRows<'_>,
    ) -> Result<TableRead, DataError>;
}

/// What reading one table reports besides its rows.
#[derive(Clone, Debug, Default)]
pub struct TableRead {
    /// Rows handed over (rejected ones included).
    pub rows: u64,
    /// Per known column of the spec: whether any part of the table has it.
    pub present: Vec<bool>,
    /// The files read, in order (for `run.json`'s hashes); empty for a source without files.
    pub files: Vec<PathBuf>,
}

/// Where a source hands one table's rows: in parts (a file each, for a folder), each part
/// named in the rejections of its rows.
pub struct TableRows<'a> {
    builder: &'a mut Builder,
    add: fn(&mut Builder, u32, RawRow),
    /// How the table adds a batch of rows, when it has a way of its own (else row by row).
    add_batch: Option<fn(&mut Builder, u32, &dyn RowBatch)>,
}

impl<'a> TableRows<'a> {
    pub(crate) fn new(
        builder: &'a mut Builder,
        add: fn(&mut Builder, u32, RawRow),
        add_batch: Option<fn(&mut Builder, u32, &dyn RowBatch)>,
    ) -> Self {
        TableRows { builder, add, add_batch }
    }

    /// Starts a part named `label`; its rows are then added with the returned number.
    pub fn part(&mut self, label: &str) -> u32 {
        self.builder.file(label)
    }

    /// Adds one row of part `part`.
    pub fn row(&mut self, part: u32, row: RawRow) {
        (self.add)(self.builder, part, row);
    }

    /// Adds the rows of `batch`, in order, to part `part`: the same as adding them one by one.
    pub fn rows(&mut self, part: u32, batch: &dyn RowBatch) {
        match self.add_batch {
            Some(add_batch) => add_batch(self.builder, part, batch),
            None => (0..batch.len()).for_each(|i| (self.add)(self.builder, part, batch.row(i))),
        }
    }
}

/// A data folder: each table one file `<table>.<ext>` or a folder `<table>/` of files of one
/// format (see `discover`).
#[derive(Debug)]
pub struct FolderSource {
    dir: PathBuf,
    /// Each table's files, or why it cannot be read. A table's problem is reported only when
    /// that table is read, so problems come in table order as the tables are read.
    tables: Vec<(&'static str, Result<TableFiles, DataError>)>,
}

impl FolderSource {
    /// Discovers the three tables of `dir`; fails only when `dir` is not a folder.
    pub fn open(dir: &Path) -> Result<FolderSource, DataError> {
        if !dir.is_dir() {
            return Err(DataError::Unreadable {
                file: dir.display().to_string(),
                reason: "no such data folder".to_string(),
            });
        }
        let tables = [rows::CONVERSATIONS.name, rows::MESSAGES.name, rows::OUTCOMES.name]
            .into_iter()
            .map(|name| (name, discover(dir, name)))
            .collect();
        Ok(FolderSource { dir: dir.to_path_buf(), tables })
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn table(&self, name: &str) -> Result<&TableFiles, DataError> {
        match self.tables.iter().find(|(n, _)| *n == name) {
            Some((_, Ok(files))) => Ok(files),
            Some((_, Err(e))) => Err(e.clone()),
            // Only the contract's tables are discovered; any other is not there.
            None => Err(DataError::MissingTable { dir: self.dir.clone(), table: name.to_string() }),
        }
    }
}

/// The file beside the tables that records when a folder's data was exported.
pub const EXPORT_FILE: &str = "export.json";

/// When a data set was exported (data.md deviation, README "The data contract"): the default
/// `--as-of`, so that a complete export is not warned about as if outcomes could still come.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    pub at: crate::model::Micros,
    pub file: PathBuf,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportFile {
    exported_at: String,
}

/// Reads `export.json` (`{"exported_at": "<RFC 3339 timestamp>"}`).
pub fn read_export(path: &Path) -> Result<Export, DataError> {
    let unreadable =
        |reason: String| DataError::Unreadable { file: path.display().to_string(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    let file: ExportFile = serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
    let at = chrono::DateTime::parse_from_rfc3339(file.exported_at.trim()).map_err(|e| {
        unreadable(format!("exported_at {:?} is not an RFC 3339 timestamp: {e}", file.exported_at))
    })?;
    Ok(Export { at: at.timestamp_micros(), file: path.to_path_buf() })
}

impl Source for FolderSource {
    fn export(&self) -> Result<Option<Export>, DataError> {
        let path = self.dir.join(EXPORT_FILE);
        if path.is_file() {
            read_export(&path).map(Some)
        } else {
            Ok(None)
        }
    }

    fn messages_have_signals_column(&self) -> Option<bool> {
        let table = self.table(rows::MESSAGES.name).ok()?;
        let mut any = false;
        for path in &table.files {
            let header = match table.format {
                Format::Csv => csv::header_names(path, false)?,
                Format::CsvGz => csv::header_names(path, true)?,
                Format::Parquet => parquet::column_names(path)?,
                Format::Jsonl => return None,
            };
            any |= header.iter().any(|name| name == "signals");
        }
        Some(any)
    }

    fn read_table(
        &self,
        spec: &TableSpec,
        extras: &mut ExtraColumns,
        rows: &mut TableRows<'_>,
    ) -> Result<TableRead, DataError> {
        let table = self.table(spec.name)?;
        let mut read = TableRead { present: vec![false; spec.columns.len()], ..Default::default() };
        for path in &table.files {
            let label = relative_label(&self.dir, path);
            let part = rows.part(&label);
            let mut sink = |row: RawRow| rows.row(part, row);
            let stats: FileStats = match table.format {
                Format::Csv => csv::read_csv(path, &label, false, spec, extras, &mut sink)?,
                Format::CsvGz => csv::read_csv(path, &label, true, spec, extras, &mut sink)?,
                Format::Jsonl => jsonl::read_jsonl(path, &label, spec, extras, &mut sink)?,
                Format::Parquet => {
                    let mut sink = |batch: &dyn RowBatch| rows.rows(part, batch);
                    parquet::read_parquet(path, &label, spec, extras, &mut sink)?
                }
            };
            read.rows += stats.rows;
            for (any, here) in read.present.iter_mut().zip(&stats.present) {
                *any |= *here;
            }
            read.files.push(path.clone());
        }
        Ok(read)
    }
}
