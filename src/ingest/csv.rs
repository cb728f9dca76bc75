//! CSV and gzip-compressed CSV reader. Records are read as bytes so that invalid UTF-8 and a
//! wrong field count are problems of one row, not of the file.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::rows::{map_header, Cell, ExtraColumns, FileStats, RawRow, Slot, TableSpec};
use crate::error::DataError;

/// Reads one CSV file (gzip-compressed when `gzip`), handing every data row to `sink`.
pub fn read_csv(
    path: &Path,
    label: &str,
    gzip: bool,
    spec: &TableSpec,
    extras: &mut ExtraColumns,
    sink: &mut dyn FnMut(RawRow<'_>),
) -> Result<FileStats, DataError> {
    let unreadable = |reason: String| DataError::Unreadable { file: label.to_string(), reason };
    let file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let input: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(input);
    let header = read_header(&mut reader).map_err(unreadable)?;
    let (slots, present) = map_header(&header, spec, extras, label)?;
    let id_slot = slots.iter().position(|s| *s == Slot::Known(0));

    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(unreadable(csv_error_reason(&e, rows + 1))),
        }
        rows += 1;
        sink(row_of_record(&record, rows, &header, &slots, id_slot, spec.columns.len()));
    }
    Ok(FileStats { rows, present })
}

/// A CSV file's header names (as `read_csv` sees them); `None` when it cannot be read.
pub fn header_names(path: &Path, gzip: bool) -> Option<Vec<String>> {
    let file = File::open(path).ok()?;
    let input: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(input);
    read_header(&mut reader).ok()
}

/// The header names, trimmed, with a UTF-8 byte-order mark removed.
fn read_header<R: Read>(reader: &mut csv::Reader<R>) -> Result<Vec<String>, String> {
    let header = reader.byte_headers().map_err(|e| csv_error_reason(&e, 0))?.clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err("no header row".to_string());
    }
    let mut names = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let raw = if i == 0 { raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw) } else { raw };
        let name = std::str::from_utf8(raw)
            .map_err(|_| format!("header column {} is not valid UTF-8", i + 1))?;
        names.push(name.trim().to_string());
    }
    Ok(names)
}

fn csv_error_reason(err: &csv::Error, row: u64) -> String {
    match err.kind() {
        csv::ErrorKind::Io(io) => format!("{io} (while reading data row {row})"),
        _ => err.to_string(),
    }
}

/// Converts one record; empty fields are nulls. Cells borrow from `record`.
fn row_of_record<'r>(
    record: &'r csv::ByteRecord,
    row: u64,
    header: &[String],
    slots: &[Slot],
    id_slot: Option<usize>,
    width: usize,
) -> RawRow<'r> {
    let mut out = RawRow::new(row, width);
    if record.len() != header.len() {
        out.problem(
            None,
            format!("wrong field count: expected {} fields, found {}", header.len(), record.len()),
        );
        // Keep only the conversation id, so the right conversation is rejected.
        if let Some(field) = id_slot.and_then(|i| record.get(i)) {
            if let Ok(id) = std::str::from_utf8(field) {
                out.cells[0] = text_cell(id);
            }
        }
        return out;
    }
    for ((field, slot), name) in record.iter().zip(slots).zip(header) {
        // Every field is checked for UTF-8, but only the fields kept are copied.
        let cell = match std::str::from_utf8(field) {
            Ok(_) if *slot == Slot::Ignored => continue,
            Ok(text) => text_cell(text),
            Err(_) => {
                out.problem(Some(name), "invalid UTF-8");
                continue;
            }
        };
        match *slot {
            Slot::Known(i) => out.cells[i] = cell,
            Slot::Extra(i) => out.extras.push((i, cell)),
            Slot::Ignored => {}
        }
    }
    out
}

fn text_cell(text: &str) -> Cell<'_> {
    if text.is_empty() {
        Cell::Null
    } else {
        Cell::text(text)
    }
}
