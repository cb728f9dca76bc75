//! Parquet reader (polars): reads only the known columns (and, for kept tables, the extras) in
//! slices of rows, converting native types (integers, floats, strings, booleans, dates,
//! timestamps of any unit with or without a time zone) to cells column by column.
//!
//! A corrupt file must end in a clean "cannot be read" (exit 3), never a crash. polars panics on
//! some corrupt files (caught here, silently: see `guarded`) and, worse, allocates whatever a
//! corrupt page header claims (a negative value count read as 2^64), which aborts the process
//! and cannot be caught; so every page header is checked first (`check_pages`).

use std::cell::Cell as ThreadFlag;
use std::fs::File;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use polars_parquet::parquet::page::{CompressedPage, DataPageHeader};
use polars_parquet::parquet::read::{get_page_iterator, read_metadata};

use polars::prelude::*;

use polars_arrow::array::{Array, BooleanArray, PrimitiveArray, Utf8ViewArray};

use super::rows::{map_header, Cell, ExtraColumns, FileStats, RawRow, RowBatch, Slot, TableSpec};
use crate::error::DataError;

/// Rows converted at a time (whole row groups, see `slice_bounds`): bounds memory on large
/// files.
const SLICE_ROWS: usize = 1 << 18;

/// Reads one Parquet file, handing its rows to `sink` a decoded slice at a time.
pub fn read_parquet(
    path: &Path,
    label: &str,
    spec: &TableSpec,
    extras: &mut ExtraColumns,
    sink: &mut dyn FnMut(&dyn RowBatch),
) -> Result<FileStats, DataError> {
    let unreadable = |reason: String| DataError::Unreadable { file: label.to_string(), reason };
    let open = || File::open(path).map_err(|e| unreadable(e.to_string()));
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    check_pages(bytes).map_err(unreadable)?;
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
    let slices = slice_bounds(metadata.row_groups.iter().map(|g| g.num_rows()), total);
    let names: Vec<String> = selected.iter().map(|(n, _)| n.clone()).collect();
    // Slice k+1 is decoded on a thread of its own while the rows of slice k are handed to
    // the sink here: decoding (polars, itself parallel over columns) and validating the rows
    // (on every core for the tables with a batch path, `Builder::add_message_batch`) then
    // overlap instead of taking turns. The channel holds one slice, so at most three are
    // alive at once (decoding, waiting, being read).
    std::thread::scope(|scope| -> Result<(), DataError> {
        // Both ends live inside the scope: when reading stops early on an error, the receiver
        // is dropped before the scope waits for the decoder, whose next send then fails.
        let (sent, decoded) = std::sync::mpsc::sync_channel::<Result<_, String>>(1);
        scope.spawn(move || {
            for (offset, len) in slices {
                let df = File::open(path).map_err(|e| e.to_string()).and_then(|file| {
                    let mut slice_reader = ParquetReader::new(file)
                        .with_columns(Some(names.clone()))
                        .with_slice(Some((offset, len)));
                    slice_reader.set_metadata(metadata.clone());
                    guarded(|| slice_reader.finish())
                });
                let failed = df.is_err();
                // A closed channel means the reading side stopped on an error: stop too.
                if sent.send(df.map(|df| (offset, df))).is_err() || failed {
                    break;
                }
            }
        });
        for slice in decoded {
            let (offset, df) = slice.map_err(unreadable)?;
            // Each column's native values, cast once per slice where the type needs it and in
            // one chunk, read cell by cell as the rows are made: no slice-sized vector of
            // cells per column.
            let mut native = Vec::with_capacity(selected.len());
            for (name, slot) in &selected {
                let column = df.column(name).map_err(|e| unreadable(e.to_string()))?;
                let column =
                    native_column(column).map_err(|e| unreadable(format!("column {name}: {e}")))?;
                native.push((*slot, name, column));
            }
            let mut columns = Vec::with_capacity(native.len());
            for (slot, name, column) in &native {
                let access = ColumnAccess::of(column)
                    .map_err(|e| unreadable(format!("column {name}: {e}")))?;
                columns.push((*slot, access));
            }
            let width = spec.columns.len();
            let batch = SliceBatch { offset, len: df.height(), width, columns };
            sink(&batch);
        }
        Ok(())
    })?;
    Ok(FileStats { rows: total as u64, present })
}

/// The slices `(offset, rows)` to read a file of `total` rows in: whole row groups, as many
/// together as fit in `SLICE_ROWS` (at least one). A slice that cut a row group would make
/// polars decode that group once for each slice it touches.
fn slice_bounds(groups: impl Iterator<Item = usize>, total: usize) -> Vec<(usize, usize)> {
    let mut slices = Vec::new();
    let (mut start, mut len) = (0usize, 0usize);
    for rows in groups {
        if len > 0 && len + rows > SLICE_ROWS {
            slices.push((start, len));
            start += len;
            len = 0;
        }
        len += rows;
    }
    if len > 0 {
        slices.push((start, len));
    }
    // Metadata whose groups do not add up to the rows it declares: plain slices, as before.
    if start + len != total {
        return (0..total)
            .step_by(SLICE_ROWS)
            .map(|offset| (offset, SLICE_ROWS.min(total - offset)))
            .collect();
    }
    slices
}

/// The largest page (compressed or not) a file may declare: far above what writers produce
/// (about 1 MiB), far below what would exhaust memory.
const MAX_PAGE_BYTES: usize = 1 << 30;

/// Walks every page header of every column chunk and refuses the file when one declares
/// impossible sizes: a negative or oversized value count (more values than its row group has
/// rows, for a flat column), negative null or row counts, or a page larger than
/// `MAX_PAGE_BYTES`. These are the values polars would allocate by without checking.
fn check_pages(bytes: Vec<u8>) -> Result<(), String> {
    let corrupt = |what: String| format!("the file is corrupt ({what})");
    let buffer = polars_buffer::Buffer::from(bytes);
    let outcome = quietly(|| -> Result<(), String> {
        let metadata =
            read_metadata(&mut Cursor::new(buffer.clone())).map_err(|e| corrupt(e.to_string()))?;
        for (g, group) in metadata.row_groups.iter().enumerate() {
            let rows = group.num_rows();
            for column in group.parquet_columns() {
                let flat = column.descriptor().descriptor.max_rep_level == 0;
                let name = column.descriptor().path_in_schema.join(".");
                let pages =
                    get_page_iterator(column, Cursor::new(buffer.clone()), vec![], MAX_PAGE_BYTES)
                        .map_err(|e| corrupt(format!("column {name}: {e}")))?;
                for page in pages {
                    let page = page.map_err(|e| corrupt(format!("column {name}: {e}")))?;
                    if let CompressedPage::Data(data) = page {
                        page_problem(data.header(), data.uncompressed_size(), rows, flat)
                            .map_err(|p| corrupt(format!("column {name}, row group {g}: {p}")))?;
                    }
                }
            }
        }
        Ok(())
    });
    match outcome {
        Ok(result) => result,
        Err(()) => Err(corrupt("the Parquet decoder failed".to_string())),
    }
}

/// What is impossible about one data page header, if anything.
fn page_problem(
    header: &DataPageHeader,
    uncompressed: usize,
    rows: usize,
    flat: bool,
) -> Result<(), String> {
    let (values, extra) = match header {
        DataPageHeader::V1(h) => (h.num_values, vec![]),
        DataPageHeader::V2(h) => (
            h.num_values,
            vec![
                ("null count", h.num_nulls),
                ("row count", h.num_rows),
                ("definition levels length", h.definition_levels_byte_length),
                ("repetition levels length", h.repetition_levels_byte_length),
            ],
        ),
    };
    let values = usize::try_from(values)
        .map_err(|_| format!("a page declares a negative value count {values}"))?;
    if flat && values > rows {
        return Err(format!("a page declares {values} values in a row group of {rows} rows"));
    }
    if let Some((what, n)) = extra.into_iter().find(|(_, n)| *n < 0) {
        return Err(format!("a page declares a negative {what} {n}"));
    }
    if uncompressed > MAX_PAGE_BYTES {
        return Err(format!("a page declares {uncompressed} bytes"));
    }
    Ok(())
}

/// A Parquet file's column names, from its footer; `None` when it cannot be read.
pub fn column_names(path: &Path) -> Option<Vec<String>> {
    let mut reader = ParquetReader::new(File::open(path).ok()?);
    let schema = guarded(|| reader.schema()).ok()?;
    Some(schema.iter_names().map(|n| n.to_string()).collect())
}

/// Runs a polars call, turning both its errors and any panic on corrupt input into a reason.
fn guarded<T>(f: impl FnOnce() -> PolarsResult<T>) -> Result<T, String> {
    match quietly(f) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(()) => Err("the file is corrupt (the Parquet decoder failed)".to_string()),
    }
}

/// Guarded sections running now, process-wide (their panics may surface on rayon workers).
static QUIET_SECTIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is inside a guarded section.
    static IN_QUIET_SECTION: ThreadFlag<bool> = const { ThreadFlag::new(false) };
}

/// Runs `f`, catching a panic. The panic is expected (a decoder meeting a corrupt file) and is
/// reported as "cannot be read", so its message is kept off stderr, where it would read as a
/// crash: a panic hook, installed once, stays quiet for panics on this thread or on a rayon
/// worker while a section runs, and passes every other panic to the previous hook.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, ()> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let expected = QUIET_SECTIONS.load(Ordering::SeqCst) > 0
                && (IN_QUIET_SECTION.with(ThreadFlag::get)
                    || rayon::current_thread_index().is_some());
            if expected {
                tracing::debug!("the Parquet decoder panicked on a corrupt file: {info}");
            } else {
                previous(info);
            }
        }));
    });
    struct Section;
    impl Drop for Section {
        fn drop(&mut self) {
            IN_QUIET_SECTION.with(|flag| flag.set(false));
            QUIET_SECTIONS.fetch_sub(1, Ordering::SeqCst);
        }
    }
    QUIET_SECTIONS.fetch_add(1, Ordering::SeqCst);
    IN_QUIET_SECTION.with(|flag| flag.set(true));
    let _section = Section;
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| ())
}

/// The column in one chunk and in the type its cells are read from: integers as `Int64`
/// (strictly: a value out of range is an error), floats as `Float64`, strings, booleans,
/// dates and timestamps as they are, anything else as text.
fn native_column(column: &Column) -> PolarsResult<Column> {
    match column.dtype() {
        DataType::Null
        | DataType::String
        | DataType::Boolean
        | DataType::Float64
        | DataType::Int64
        | DataType::Datetime(_, _)
        | DataType::Date => Ok(column.rechunk()),
        DataType::Float32 => Ok(column.cast(&DataType::Float64)?.rechunk()),
        d if d.is_integer() => Ok(column.strict_cast(&DataType::Int64)?.rechunk()),
        _ => Ok(column.cast(&DataType::String)?.rechunk()),
    }
}

/// One column of a decoded slice, in the type `native_column` gave it, read by row.
enum ColumnAccess<'a> {
    Null,
    Str(&'a Utf8ViewArray),
    Bool(&'a BooleanArray),
    Float(&'a PrimitiveArray<f64>),
    Int(&'a PrimitiveArray<i64>),
    /// A timestamp's physical values and their unit (UTC whatever the time zone).
    Datetime(&'a PrimitiveArray<i64>, TimeUnit),
    /// Days since the epoch.
    Date(&'a PrimitiveArray<i32>),
}

impl<'a> ColumnAccess<'a> {
    /// The access to `column`, which must be one chunk (`native_column` makes it so).
    fn of(column: &'a Column) -> PolarsResult<ColumnAccess<'a>> {
        Ok(match column.dtype() {
            DataType::Null => ColumnAccess::Null,
            DataType::String => ColumnAccess::Str(one_chunk(column.str()?)?),
            DataType::Boolean => ColumnAccess::Bool(one_chunk(column.bool()?)?),
            DataType::Float64 => ColumnAccess::Float(one_chunk(column.f64()?)?),
            DataType::Int64 => ColumnAccess::Int(one_chunk(column.i64()?)?),
            DataType::Datetime(unit, _) => {
                ColumnAccess::Datetime(one_chunk(column.datetime()?.physical())?, *unit)
            }
            DataType::Date => ColumnAccess::Date(one_chunk(column.date()?.physical())?),
            other => polars_bail!(ComputeError: "unexpected column type {other} after conversion"),
        })
    }

    /// Row `i`'s value.
    fn cell(&self, i: usize) -> Cell<'a> {
        const DAY: i64 = 86_400_000_000;
        match *self {
            ColumnAccess::Null => Cell::Null,
            ColumnAccess::Str(a) if a.is_null(i) => Cell::Null,
            ColumnAccess::Str(a) => Cell::text(a.value(i)),
            ColumnAccess::Bool(a) if a.is_null(i) => Cell::Null,
            ColumnAccess::Bool(a) => Cell::Bool(a.value(i)),
            ColumnAccess::Float(a) if a.is_null(i) => Cell::Null,
            ColumnAccess::Float(a) => Cell::Float(a.value(i)),
            ColumnAccess::Int(a) if a.is_null(i) => Cell::Null,
            ColumnAccess::Int(a) => Cell::Int(a.value(i)),
            ColumnAccess::Datetime(a, _) if a.is_null(i) => Cell::Null,
            ColumnAccess::Datetime(a, unit) => {
                let v = a.value(i);
                Cell::Micros(match unit {
                    TimeUnit::Nanoseconds => v.div_euclid(1000),
                    TimeUnit::Microseconds => v,
                    TimeUnit::Milliseconds => v.saturating_mul(1000),
                })
            }
            ColumnAccess::Date(a) if a.is_null(i) => Cell::Null,
            ColumnAccess::Date(a) => Cell::Micros(i64::from(a.value(i)) * DAY),
        }
    }
}

/// The one array of a column `native_column` rechunked.
fn one_chunk<T: PolarsDataType>(column: &ChunkedArray<T>) -> PolarsResult<&T::Array> {
    match column.chunks().len() {
        1 => Ok(column.downcast_as_array()),
        n => Err(polars_err!(ComputeError: "a column of {n} chunks after rechunking")),
    }
}

/// A decoded slice of a file: `len` rows from row `offset` (0-based) on.
struct SliceBatch<'a> {
    offset: usize,
    len: usize,
    /// The table's known columns.
    width: usize,
    columns: Vec<(Slot, ColumnAccess<'a>)>,
}

impl RowBatch for SliceBatch<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn row(&self, i: usize) -> RawRow<'_> {
        let mut row = RawRow::new((self.offset + i + 1) as u64, self.width);
        for (slot, column) in &self.columns {
            match *slot {
                Slot::Known(k) => row.cells[k] = column.cell(i),
                Slot::Extra(e) => row.extras.push((e, column.cell(i))),
                Slot::Ignored => {}
            }
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_take_whole_row_groups_and_cover_every_row() {
        let big = SLICE_ROWS + 10;
        assert_eq!(slice_bounds([big, 5].into_iter(), big + 5), vec![(0, big), (big, 5)]);
        let half = SLICE_ROWS / 2;
        assert_eq!(
            slice_bounds([half, half, half].into_iter(), 3 * half),
            vec![(0, 2 * half), (2 * half, half)]
        );
        assert_eq!(slice_bounds(std::iter::empty(), 0), vec![]);
        // Groups that do not add up: plain slices over the declared rows.
        assert_eq!(slice_bounds([3].into_iter(), 7), vec![(0, 7)]);
    }
}
