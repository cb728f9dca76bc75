//! Rejections as people read them: the one-line form of the spec
//! (`messages.csv row 4: column turn: <reason>`) and the `rejected.csv` file.

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;

use crate::model::Rejection;

/// One rejection the way the spec words it: `messages.csv row 4: column turn: <reason>`.
pub fn rejection_line(r: &Rejection) -> String {
    let mut line = r.file.clone();
    if let Some(row) = r.row {
        let _ = write!(line, " row {row}");
    }
    if let Some(column) = &r.column {
        let _ = write!(line, ": column {column}");
    }
    let _ = write!(line, ": {}", r.reason);
    line
}

/// Writes `file,row,column,conversation_id,reason`, one line per rejection.
pub fn write_rejected_csv(path: &Path, rejections: &[Rejection]) -> PolarsResult<()> {
    let column = |name: &str, values: Vec<Option<String>>| Column::new(name.into(), values);
    let mut df = DataFrame::new(
        rejections.len(),
        vec![
            column("file", rejections.iter().map(|r| Some(r.file.clone())).collect()),
            Column::new("row".into(), rejections.iter().map(|r| r.row).collect::<Vec<_>>()),
            column("column", rejections.iter().map(|r| r.column.clone()).collect()),
            column(
                "conversation_id",
                rejections.iter().map(|r| r.conversation_id.clone()).collect(),
            ),
            column("reason", rejections.iter().map(|r| Some(r.reason.clone())).collect()),
        ],
    )?;
    let mut file = std::fs::File::create(path).map_err(PolarsError::from)?;
    CsvWriter::new(&mut file).include_header(true).finish(&mut df)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_spec_wording() {
        let mut r = Rejection {
            file: "messages.csv".to_string(),
            row: Some(1042),
            column: Some("turn".to_string()),
            conversation_id: Some("c1".to_string()),
            reason: "expected an integer, found \"3a\"".to_string(),
        };
        let expected = "messages.csv row 1042: column turn: expected an integer, found \"3a\"";
        assert_eq!(rejection_line(&r), expected);
        r.column = None;
        r.reason = "invalid UTF-8".to_string();
        assert_eq!(rejection_line(&r), "messages.csv row 1042: invalid UTF-8");
    }
}
