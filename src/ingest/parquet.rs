//! Parquet reader (polars): reads only the known columns (and, for kept tables, the extras) in
//! slices of rows, converting native types (integers, floats, strings, booleans, dates,
//! timestamps of any unit with or without a time zone) to cells column by column.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use polars::prelude::*;

use super::rows::{map_header, Cell, ExtraColumns, FileStats, RawRow, Slot, TableSpec};
use crate::error::DataError;

/// Rows converted at a time: bounds memory on large files.
const SLICE_ROWS: usize = 1 << 18;

/// Reads one Parquet file, handing every row to `sink`.
pub fn read_parquet(
    path: &Path,
    label: &str,
    spec: &TableSpec,
    extras: &mut ExtraColumns,
    sink: &mut dyn FnMut(RawRow),
) -> Result<FileStats, DataError> {
    let unreadable = |reason: String| DataError::Unreadable { file: label.to_string(), reason };
    let open = || File::open(path).map_err(|e| unreadable(e.to_string()));
    let mut reader = ParquetReader::new(open()?);
    let metadata = guarded(|| reader.get_metadata().cloned()).map_err(unreadable)?;
    let schema = guarded(|| reader.schema()).map_err(unreadable)?;
    let header: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let (slots, present) = map_header(&header, spec, extras, label)?;
    let selected: Vec<(String, Slot)> = header
        .iter()
        .zip(&slots)
        .filter(|(_, slot)| **slot != Slot::Ignored)
        .map(|(name, slot)| (name.clone(), *slot))
        .collect();

    let total = metadata.num_rows;
    let mut offset = 0usize;
    while offset < total {
        let len = SLICE_ROWS.min(total - offset);
        let mut slice_reader = ParquetReader::new(open()?)
            .with_columns(Some(selected.iter().map(|(n, _)| n.clone()).collect()))
            .with_slice(Some((offset, len)));
        slice_reader.set_metadata(metadata.clone());
        let df = guarded(|| slice_reader.finish()).map_err(unreadable)?;
        let mut rows: Vec<RawRow> = (0..df.height())
            .map(|r| RawRow::new((offset + r + 1) as u64, spec.columns.len()))
            .collect();
        for (name, slot) in &selected {
            let column = df.column(name).map_err(|e| unreadable(e.to_string()))?;
            let cells =
                column_cells(column).map_err(|e| unreadable(format!("column {name}: {e}")))?;
            for (row, cell) in rows.iter_mut().zip(cells) {
                match *slot {
                    Slot::Known(i) => row.cells[i] = cell,
                    Slot::Extra(i) => row.extras.push((i, cell)),
                    Slot::Ignored => {}
                }
            }
        }
        rows.into_iter().for_each(&mut *sink);
        offset += len;
    }
    Ok(FileStats { rows: total as u64, present })
}

/// A Parquet file's column names, from its footer; `None` when it cannot be read.
pub fn column_names(path: &Path) -> Option<Vec<String>> {
    let mut reader = ParquetReader::new(File::open(path).ok()?);
    let schema = guarded(|| reader.schema()).ok()?;
    Some(schema.iter_names().map(|n| n.to_string()).collect())
}

/// Runs a polars call, turning both its errors and any panic on corrupt input into a reason.
fn guarded<T>(f: impl FnOnce() -> PolarsResult<T>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the file is corrupt (the Parquet decoder failed)".to_string()),
    }
}

/// One column's values as cells, by its native type.
fn column_cells(column: &Column) -> PolarsResult<Vec<Cell>> {
    let dtype = column.dtype().clone();
    let cells = match dtype {
        DataType::Null => vec![Cell::Null; column.len()],
        DataType::String => {
            column.str()?.iter().map(|v| v.map_or(Cell::Null, |s| Cell::Str(s.into()))).collect()
        }
        DataType::Boolean => {
            column.bool()?.iter().map(|v| v.map_or(Cell::Null, Cell::Bool)).collect()
        }
        DataType::Float32 | DataType::Float64 => {
            let cast = column.cast(&DataType::Float64)?;
            cast.f64()?.iter().map(|v| v.map_or(Cell::Null, Cell::Float)).collect()
        }
        d if d.is_integer() => {
            let cast = column.strict_cast(&DataType::Int64)?;
            cast.i64()?.iter().map(|v| v.map_or(Cell::Null, Cell::Int)).collect()
        }
        DataType::Datetime(unit, _) => {
            // The physical value is UTC whatever the time zone; only the unit differs.
            let to_micros = |v: i64| match unit {
                TimeUnit::Nanoseconds => v.div_euclid(1000),
                TimeUnit::Microseconds => v,
                TimeUnit::Milliseconds => v.saturating_mul(1000),
            };
            let phys = column.datetime()?.physical();
            phys.iter().map(|v| v.map_or(Cell::Null, |v| Cell::Micros(to_micros(v)))).collect()
        }
        DataType::Date => {
            let phys = column.date()?.physical();
            let day = 86_400_000_000i64;
            phys.iter()
                .map(|v| v.map_or(Cell::Null, |d| Cell::Micros(i64::from(d) * day)))
                .collect()
        }
        _ => {
            let cast = column.cast(&DataType::String)?;
            cast.str()?.iter().map(|v| v.map_or(Cell::Null, |s| Cell::Str(s.into()))).collect()
        }
    };
    Ok(cells)
}
