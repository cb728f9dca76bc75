//! Newline-delimited JSON reader (`.jsonl`, `.ndjson`): one object per line. A line that is not
//! UTF-8, not JSON or not an object is a problem of that row; blank lines are skipped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use super::rows::{check_required, Cell, ExtraColumns, FileStats, RawRow, TableSpec};
use crate::error::DataError;

/// Reads one JSONL file, handing every non-blank line to `sink`.
pub fn read_jsonl(
    path: &Path,
    label: &str,
    spec: &TableSpec,
    extras: &mut ExtraColumns,
    sink: &mut dyn FnMut(RawRow<'_>),
) -> Result<FileStats, DataError> {
    let unreadable = |reason: String| DataError::Unreadable { file: label.to_string(), reason };
    let file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut reader = BufReader::new(file);
    let mut present = vec![false; spec.columns.len()];
    let mut objects = 0u64;
    let mut rows = 0u64;
    let mut line_no = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(|e| unreadable(e.to_string()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        rows += 1;
        let row = row_of_line(trimmed, line_no, spec, extras, &mut present);
        if row.problems.is_empty() {
            objects += 1;
        }
        sink(row);
    }
    // Columns are known only after reading: a required key no object had is a missing column.
    if objects > 0 {
        check_required(spec, &present, label)?;
    }
    Ok(FileStats { rows, present })
}

fn row_of_line(
    line: &[u8],
    line_no: u64,
    spec: &TableSpec,
    extras: &mut ExtraColumns,
    present: &mut [bool],
) -> RawRow<'static> {
    let mut out = RawRow::new(line_no, spec.columns.len());
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(_) => {
            out.problem(None, "invalid UTF-8");
            // Still name the conversation when the rest of the line parses.
            let lossy = String::from_utf8_lossy(line);
            if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&lossy) {
                out.cells[0] = id_cell(&map, spec);
            }
            return out;
        }
    };
    let map = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        Ok(other) => {
            out.problem(None, format!("not a JSON object (found {})", json_kind(&other)));
            return out;
        }
        Err(e) => {
            out.problem(None, format!("invalid JSON: {e}"));
            // Name the conversation when its id can still be read, so that it is rejected
            // whole rather than kept without this row.
            if let Some(id) = salvage_id(text, spec.columns[0].name) {
                out.cells[0] = Cell::owned(id);
            }
            return out;
        }
    };
    for (key, value) in map {
        match spec.index_of(&key) {
            Some(i) => {
                present[i] = true;
                match json_cell(value) {
                    Ok(cell) => out.cells[i] = cell,
                    Err(kind) => {
                        out.problem(Some(&key), format!("expected a scalar value, found {kind}"))
                    }
                }
            }
            // An extra column keeps a nested value as its JSON text.
            None if spec.keep_extras => {
                let cell =
                    json_cell(value.clone()).unwrap_or_else(|_| Cell::owned(value.to_string()));
                out.extras.push((extras.index(&key), cell));
            }
            None => {}
        }
    }
    out
}

/// The string value of `"<key>": "..."` in a line that is not valid JSON as a whole. The key
/// with its own unescaped quotes cannot occur inside a JSON string value, so a match is the key.
fn salvage_id(text: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    text.match_indices(&quoted).find_map(|(at, _)| {
        let rest = text[at + quoted.len()..].trim_start().strip_prefix(':')?.trim_start();
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<String>();
        values.next()?.ok().filter(|id| !id.is_empty())
    })
}

fn id_cell(map: &Map<String, Value>, spec: &TableSpec) -> Cell<'static> {
    map.get(spec.columns[0].name).cloned().and_then(|v| json_cell(v).ok()).unwrap_or(Cell::Null)
}

/// A scalar JSON value as a cell; arrays and objects are not cells.
fn json_cell(value: Value) -> Result<Cell<'static>, &'static str> {
    Ok(match value {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Cell::owned(s),
        other => return Err(json_kind(&other)),
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::rows::{CONVERSATIONS, MESSAGES};

    fn row(line: &str, spec: &TableSpec, extras: &mut ExtraColumns) -> RawRow<'static> {
        let mut present = vec![false; spec.columns.len()];
        row_of_line(line.as_bytes(), 1, spec, extras, &mut present)
    }

    #[test]
    fn nested_values_are_problems_only_in_known_columns() {
        let mut extras = ExtraColumns::default();
        let r =
            row(r#"{"conversation_id":"c1","turn":[1],"meta":{"a":1}}"#, &MESSAGES, &mut extras);
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].column.as_deref(), Some("turn"));
        let r = row(r#"{"conversation_id":"c1","meta":{"a":1}}"#, &CONVERSATIONS, &mut extras);
        assert!(r.problems.is_empty());
        assert_eq!(r.extras, vec![(0, Cell::owned(r#"{"a":1}"#.to_string()))]);
    }

    #[test]
    fn an_invalid_line_still_names_its_conversation_when_it_can() {
        assert_eq!(
            salvage_id(r#"{"conversation_id": "c1", oops"#, "conversation_id"),
            Some("c1".into())
        );
        assert_eq!(
            salvage_id(r#"{"x":1,"conversation_id":"c\u00e9","a":NaN}"#, "conversation_id"),
            Some("cé".into())
        );
        assert_eq!(
            salvage_id(r#"{"text":"\"conversation_id\": \"c9\"", oops"#, "conversation_id"),
            None
        );
        assert_eq!(salvage_id(r#"{"conversation_id": 7, oops"#, "conversation_id"), None);
        assert_eq!(salvage_id(r#"{"conversation_id": "unterminated"#, "conversation_id"), None);
        assert_eq!(salvage_id("", "conversation_id"), None);
    }

    #[test]
    fn unparseable_lines_are_row_problems() {
        let mut extras = ExtraColumns::default();
        assert_eq!(
            row("42", &MESSAGES, &mut extras).problems[0].reason,
            "not a JSON object (found a number)"
        );
        assert!(row("{oops", &MESSAGES, &mut extras).problems[0]
            .reason
            .starts_with("invalid JSON"));
    }
}
