//! Writing generated tables in chunks: a small column buffer per table (`Table`) and one sink
//! per file that appends chunks in order as CSV (csv crate), JSONL (serde_json) or Parquet
//! (polars batched writer, one row group per chunk). Memory stays bounded by one chunk.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use polars::prelude::{
    Column, DataFrame, Int64Chunked, IntoColumn, IntoSeries, NamedFrom, ParquetCompression,
    ParquetWriter, PlSmallStr, PolarsResult, TimeUnit, TimeZone,
};

use crate::model::{Conversation, Micros, CONTEXT_ITEMS, QUAL_FIELDS};
use crate::time::rfc3339_seconds;

/// One column's values for a chunk.
#[derive(Clone, Debug)]
pub enum Values {
    Str(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    /// Microseconds since the epoch, UTC.
    Time(Vec<Option<Micros>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Str(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Time(v) => v.len(),
        }
    }

    /// The value of one row as CSV text (empty for null).
    fn csv_cell(&self, row: usize) -> String {
        match self {
            Values::Str(v) => v[row].clone().unwrap_or_default(),
            Values::Int(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
            Values::Float(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
            Values::Time(v) => v[row].and_then(rfc3339_seconds).unwrap_or_default(),
        }
    }

    fn json_value(&self, row: usize) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Values::Str(v) => v[row].clone().map_or(Value::Null, Value::String),
            Values::Int(v) => v[row].map_or(Value::Null, Value::from),
            Values::Float(v) => v[row].map_or(Value::Null, Value::from),
            Values::Time(v) => v[row]
                .map_or(Value::Null, |t| Value::String(rfc3339_seconds(t).unwrap_or_default())),
        }
    }

    fn to_column(&self, name: &str) -> PolarsResult<Column> {
        let name = PlSmallStr::from_str(name);
        Ok(match self {
            Values::Str(v) => Column::new(name, v),
            Values::Int(v) => Column::new(name, v),
            Values::Float(v) => Column::new(name, v),
            Values::Time(v) => Int64Chunked::new(name, v)
                .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                .into_series()
                .into_column(),
        })
    }
}

/// A chunk of one table: named columns of equal length.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub columns: Vec<(&'static str, Values)>,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    fn to_frame(&self) -> PolarsResult<DataFrame> {
        let columns =
            self.columns.iter().map(|(n, v)| v.to_column(n)).collect::<PolarsResult<Vec<_>>>()?;
        DataFrame::new(self.rows(), columns)
    }
}

/// Which optional columns to write.
#[derive(Clone, Copy, Debug)]
pub struct Columns {
    pub tags: bool,
    pub propensity: bool,
    /// Extra conversations columns after the contract's, aligned with `Conversation::extra`.
    pub extra: &'static [&'static str],
}

fn labels(mask: u8, names: &[&str; 4]) -> Option<String> {
    let items: Vec<&str> =
        names.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, n)| *n).collect();
    (!items.is_empty()).then(|| items.join(";"))
}

/// The three tables of a chunk of conversations.
pub fn tables(convs: &[&Conversation], cols: Columns) -> [Table; 3] {
    [conversations_table(convs, cols.extra), messages_table(convs, cols), outcomes_table(convs)]
}

fn conversations_table(convs: &[&Conversation], extra: &[&'static str]) -> Table {
    let strs = |f: &dyn Fn(&Conversation) -> Option<String>| {
        Values::Str(convs.iter().map(|c| f(c)).collect())
    };
    let mut table = Table {
        columns: vec![
            ("conversation_id", strs(&|c| Some(c.id.clone()))),
            ("started_at", Values::Time(convs.iter().map(|c| Some(c.started_at)).collect())),
            ("account_id", strs(&|c| c.account_id.clone())),
            ("segment", strs(&|c| c.segment.clone())),
            ("employee_count", Values::Int(convs.iter().map(|c| c.employee_count).collect())),
            ("channel", strs(&|c| c.channel.clone())),
            ("ai_agent", strs(&|c| c.ai_agent.clone())),
        ],
    };
    for (i, name) in extra.iter().enumerate() {
        table.columns.push((*name, strs(&|c| c.extra.get(i).cloned().flatten())));
    }
    table
}

fn messages_table(convs: &[&Conversation], cols: Columns) -> Table {
    let msgs: Vec<(&str, &crate::model::Message)> =
        convs.iter().flat_map(|c| c.messages.iter().map(move |m| (c.id.as_str(), m))).collect();
    let mut columns = vec![
        ("conversation_id", Values::Str(msgs.iter().map(|(id, _)| Some(id.to_string())).collect())),
        ("turn", Values::Int(msgs.iter().map(|(_, m)| Some(m.turn)).collect())),
        ("sent_at", Values::Time(msgs.iter().map(|(_, m)| Some(m.sent_at)).collect())),
        (
            "sender",
            Values::Str(msgs.iter().map(|(_, m)| Some(m.sender.as_str().to_string())).collect()),
        ),
        ("participant", Values::Str(msgs.iter().map(|(_, m)| m.participant.clone()).collect())),
        ("text", Values::Str(msgs.iter().map(|(_, m)| Some(m.text.clone())).collect())),
    ];
    if cols.tags {
        let tags = msgs.iter().map(|(_, m)| (!m.tags.is_empty()).then(|| m.tags.join(";")));
        columns.push(("signals", Values::Str(tags.collect())));
    }
    columns.push((
        "qualified",
        Values::Str(msgs.iter().map(|(_, m)| labels(m.qualified, &QUAL_FIELDS)).collect()),
    ));
    if cols.propensity {
        let p = msgs.iter().map(|(_, m)| m.handoff_probability);
        columns.push(("handoff_probability", Values::Float(p.collect())));
    }
    Table { columns }
}

fn outcomes_table(convs: &[&Conversation]) -> Table {
    let rows: Vec<(&str, &crate::model::Outcome)> =
        convs.iter().filter_map(|c| c.outcome.as_ref().map(|o| (c.id.as_str(), o))).collect();
    let times = |f: &dyn Fn(&crate::model::Outcome) -> Option<Micros>| {
        Values::Time(rows.iter().map(|(_, o)| f(o)).collect())
    };
    Table {
        columns: vec![
            (
                "conversation_id",
                Values::Str(rows.iter().map(|(id, _)| Some(id.to_string())).collect()),
            ),
            ("handoff_turn", Values::Int(rows.iter().map(|(_, o)| o.handoff_turn).collect())),
            ("handoff_at", times(&|o| o.handoff_at)),
            (
                "context",
                Values::Str(rows.iter().map(|(_, o)| labels(o.context, &CONTEXT_ITEMS)).collect()),
            ),
            ("meeting_at", times(&|o| o.meeting_at)),
            ("opportunity_at", times(&|o| o.opportunity_at)),
            (
                "opportunity_amount",
                Values::Float(rows.iter().map(|(_, o)| o.opportunity_amount).collect()),
            ),
            ("currency", Values::Str(rows.iter().map(|(_, o)| o.currency.clone()).collect())),
            (
                "rep_rating",
                Values::Int(rows.iter().map(|(_, o)| o.rep_rating.map(i64::from)).collect()),
            ),
        ],
    }
}

/// One JSON object per line, keys in column order (as in the CSV header).
fn json_line(out: &mut impl Write, table: &Table, row: usize) -> anyhow::Result<()> {
    out.write_all(b"{")?;
    for (i, (name, v)) in table.columns.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, name)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, &v.json_value(row))?;
    }
    out.write_all(b"}\n")?;
    Ok(())
}

/// One output file that receives chunks in order.
pub struct Sink {
    path: PathBuf,
    kind: SinkKind,
}

enum SinkKind {
    Csv {
        out: Box<csv::Writer<BufWriter<File>>>,
        header_written: bool,
    },
    Jsonl(BufWriter<File>),
    Parquet {
        file: Option<File>,
        writer: Option<Box<polars::io::parquet::write::BatchedWriter<File>>>,
    },
}

/// The file format the generated tables are written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataFormat {
    #[default]
    Csv,
    Jsonl,
    Parquet,
}

pub fn extension(format: DataFormat) -> &'static str {
    match format {
        DataFormat::Csv => "csv",
        DataFormat::Jsonl => "jsonl",
        DataFormat::Parquet => "parquet",
    }
}

impl Sink {
    pub fn create(dir: &Path, table: &str, format: DataFormat) -> anyhow::Result<Sink> {
        let path = dir.join(format!("{table}.{}", extension(format)));
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let kind = match format {
            DataFormat::Csv => SinkKind::Csv {
                out: Box::new(csv::Writer::from_writer(BufWriter::new(file))),
                header_written: false,
            },
            DataFormat::Jsonl => SinkKind::Jsonl(BufWriter::new(file)),
            DataFormat::Parquet => SinkKind::Parquet { file: Some(file), writer: None },
        };
        Ok(Sink { path, kind })
    }

    /// Appends one chunk (the header or schema comes from the first chunk).
    pub fn write(&mut self, table: &Table) -> anyhow::Result<()> {
        let path = self.path.display().to_string();
        match &mut self.kind {
            SinkKind::Csv { out, header_written } => {
                if !*header_written {
                    out.write_record(table.columns.iter().map(|(n, _)| *n))
                        .with_context(|| format!("writing {path}"))?;
                    *header_written = true;
                }
                for row in 0..table.rows() {
                    out.write_record(table.columns.iter().map(|(_, v)| v.csv_cell(row)))
                        .with_context(|| format!("writing {path}"))?;
                }
            }
            SinkKind::Jsonl(out) => {
                for row in 0..table.rows() {
                    json_line(out, table, row).with_context(|| format!("writing {path}"))?;
                }
            }
            SinkKind::Parquet { file, writer } => {
                let df = table.to_frame().with_context(|| format!("building {path}"))?;
                if writer.is_none() {
                    let f = file.take().context("parquet writer already finished")?;
                    let w = ParquetWriter::new(f)
                        .with_compression(ParquetCompression::Zstd(None))
                        .batched(df.schema())
                        .with_context(|| format!("writing {path}"))?;
                    *writer = Some(Box::new(w));
                }
                if let Some(w) = writer.as_mut() {
                    if df.height() > 0 {
                        w.write_batch(&df).with_context(|| format!("writing {path}"))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> anyhow::Result<()> {
        let path = self.path.display().to_string();
        match self.kind {
            SinkKind::Csv { mut out, .. } => out.flush().with_context(|| format!("writing {path}")),
            SinkKind::Jsonl(mut out) => out.flush().with_context(|| format!("writing {path}")),
            SinkKind::Parquet { writer, .. } => {
                if let Some(w) = writer {
                    w.finish().with_context(|| format!("writing {path}"))?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table {
            columns: vec![
                ("id", Values::Str(vec![Some("a".into()), Some("b,\"c".into())])),
                ("at", Values::Time(vec![Some(1_794_182_400_000_000), None])),
                ("n", Values::Int(vec![None, Some(3)])),
                ("p", Values::Float(vec![Some(0.25), None])),
            ],
        }
    }

    fn write_all(format: DataFormat) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let mut sink = Sink::create(dir.path(), "t", format).expect("create");
        sink.write(&sample()).expect("write");
        sink.write(&sample()).expect("write again");
        sink.finish().expect("finish");
        let path = dir.path().join(format!("t.{}", extension(format)));
        (dir, path)
    }

    #[test]
    fn csv_has_one_header_and_quotes_where_needed() {
        let (_dir, path) = write_all(DataFormat::Csv);
        let text = std::fs::read_to_string(path).expect("read");
        let rows = "a,2026-11-09T00:00:00Z,,0.25\n\"b,\"\"c\",,3,\n";
        assert_eq!(text, format!("id,at,n,p\n{rows}{rows}"));
    }

    #[test]
    fn jsonl_keeps_column_order_and_nulls() {
        let (_dir, path) = write_all(DataFormat::Jsonl);
        let text = std::fs::read_to_string(path).expect("read");
        let first = text.lines().next().expect("a line");
        assert_eq!(first, r#"{"id":"a","at":"2026-11-09T00:00:00Z","n":null,"p":0.25}"#);
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn parquet_reads_back_with_utc_timestamps() {
        use polars::prelude::{DataType, ParquetReader, SerReader};
        let (_dir, path) = write_all(DataFormat::Parquet);
        let file = File::open(path).expect("open");
        let df = ParquetReader::new(file).finish().expect("read parquet");
        assert_eq!(df.height(), 4);
        let at = df.column("at").expect("at");
        assert_eq!(at.dtype(), &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)));
        assert_eq!(df.column("n").expect("n").null_count(), 2);
    }

    #[test]
    fn extra_conversation_columns_follow_the_contract_columns() {
        let with = Conversation { extra: vec![Some("emea".into())], ..Conversation::default() };
        let without = Conversation::default();
        let table = conversations_table(&[&with, &without], &["region"]);
        let names: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.last(), Some(&"region"));
        assert_eq!(names.len(), 8);
        let (_, region) = &table.columns[7];
        assert_eq!((region.csv_cell(0).as_str(), region.csv_cell(1).as_str()), ("emea", ""));
        assert_eq!(conversations_table(&[&with], &[]).columns.len(), 7);
    }

    #[test]
    fn labels_join_in_canonical_order() {
        assert_eq!(labels(0b1010, &QUAL_FIELDS).as_deref(), Some("authority;timeline"));
        assert_eq!(labels(0, &QUAL_FIELDS), None);
    }
}
