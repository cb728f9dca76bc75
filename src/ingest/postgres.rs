//! The PostgreSQL source: the tables (or views) `conversations`, `messages` and `outcomes` of
//! one schema, read under the same data contract as a data folder. Each table is streamed with
//! `COPY (SELECT ...) TO STDOUT` in PostgreSQL's text format and parsed line by line from one
//! reused buffer; a field borrows from it unless it has an escape, so a row costs no
//! allocation per field and no table is ever held whole.
//!
//! Cells by column type: `smallint`/`integer`/`bigint` are integers, `boolean` a boolean,
//! `timestamptz` and `timestamp` native timestamps (a `timestamp` without time zone is read
//! as UTC, as naive text is), and everything else (`text`, `numeric`, `double precision`,
//! `date`, ...) the text PostgreSQL prints for it, validated exactly as a CSV field would be.
//! An empty string reads as null, as an empty CSV field does. An infinite timestamp stays
//! text (`infinity`) and is rejected as one.
//!
//! Rows are ordered by the table's key (`conversation_id` in byte order, then `turn`, then,
//! for a plain table, its physical position), so the same table contents always give the
//! same rows in the same order: a rejection's `row` is the row's 1-based position in that
//! order, and its `file` is `schema.table`. A table loaded from a CSV file sorted by those
//! keys (as `handoff generate` writes them) then gives the rejections the CSV file gives,
//! row numbers included.
//!
//! The three tables are read in one read-only, repeatable-read transaction: one consistent
//! snapshot even while a loader is writing. The window is not pushed into the queries: which
//! conversations are rejected, `rejected.csv`, the rejected share and the default `--as-of`
//! are all figures of the whole data set (data.md), so filtering rows by date in the query
//! would change them. What is pushed down is the column list: only the known columns (and,
//! for conversations, the extra ones) are selected, and a message's `text` only when the
//! command reads it.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::BufRead;

use super::rows::{self, map_header, Cell, ExtraColumns, RawRow, Slot, TableSpec};
use super::source::{Source, TableRead, TableRows};
use crate::error::DataError;
use crate::pg::{error_text, quote_ident, PgUrl};

/// How a column's values become cells, by its PostgreSQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    /// Selected as microseconds since 1970 (text when infinite).
    Micros,
    Text,
}

#[derive(Clone, Debug)]
struct PgColumn {
    name: String,
    kind: Kind,
    /// Whether the type sorts by collation (text, varchar): ordered with `COLLATE "C"`.
    collatable: bool,
}

/// A table or view of the schema, as the catalog describes it.
#[derive(Clone, Debug)]
struct Relation {
    /// `schema.table`, naming its rows in rejections.
    label: String,
    /// `"schema"."table"`, for the query.
    ident: String,
    /// A plain table, whose physical row position (`ctid`) breaks ties between equal keys.
    plain_table: bool,
    columns: Vec<PgColumn>,
}

/// A schema of a PostgreSQL database holding the three tables.
pub struct PostgresSource {
    url: PgUrl,
    client: RefCell<postgres::Client>,
    tables: Vec<(&'static str, Result<Relation, DataError>)>,
}

impl std::fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresSource({})", self.url)
    }
}

impl PostgresSource {
    /// Connects, opens the snapshot and looks the three tables up in the catalog. Fails only
    /// when the server cannot be reached; a missing table is reported when it is read.
    pub fn open(url: &PgUrl) -> Result<PostgresSource, DataError> {
        let mut client = url.connect()?;
        let fail = |e: postgres::Error| DataError::Connect {
            server: url.server(),
            reason: error_text(&e),
        };
        // Text output the parser can rely on whatever the server's or role's settings.
        client
            .batch_execute(
                "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1; \
                 SET client_encoding = 'UTF8'; \
                 BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            )
            .map_err(fail)?;
        let mut tables = Vec::new();
        for name in [rows::CONVERSATIONS.name, rows::MESSAGES.name, rows::OUTCOMES.name] {
            let relation = describe(&mut client, url, name).map_err(fail)?;
            let relation = relation.ok_or_else(|| DataError::MissingRelation {
                server: url.server(),
                table: url.table_label(name),
            });
            tables.push((name, relation));
        }
        Ok(PostgresSource { url: url.clone(), client: RefCell::new(client), tables })
    }

    fn table(&self, name: &str) -> Result<&Relation, DataError> {
        match self.tables.iter().find(|(n, _)| *n == name) {
            Some((_, Ok(relation))) => Ok(relation),
            Some((_, Err(e))) => Err(e.clone()),
            None => Err(DataError::MissingRelation {
                server: self.url.server(),
                table: self.url.table_label(name),
            }),
        }
    }
}

/// The catalog's description of `schema.name`; `None` when there is no such table or view.
fn describe(
    client: &mut postgres::Client,
    url: &PgUrl,
    name: &str,
) -> Result<Option<Relation>, postgres::Error> {
    let found = client.query_opt(
        "SELECT c.oid, c.relkind::text FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'v', 'm', 'p', 'f')",
        &[&url.schema, &name],
    )?;
    let Some(found) = found else { return Ok(None) };
    let oid: u32 = found.get(0);
    let relkind: String = found.get(1);
    // A domain is read as its base type.
    let columns = client
        .query(
            "SELECT a.attname::text, t.typname::text FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_type t0 ON t0.oid = a.atttypid \
             JOIN pg_catalog.pg_type t ON t.oid = \
               CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&oid],
        )?
        .into_iter()
        .map(|row| {
            let name: String = row.get(0);
            let typname: String = row.get(1);
            PgColumn { name, kind: kind_of(&typname), collatable: collatable(&typname) }
        })
        .collect();
    Ok(Some(Relation {
        label: url.table_label(name),
        ident: format!("{}.{}", quote_ident(&url.schema), quote_ident(name)),
        plain_table: relkind == "r",
        columns,
    }))
}

fn kind_of(typname: &str) -> Kind {
    match typname {
        "int2" | "int4" | "int8" => Kind::Int,
        "bool" => Kind::Bool,
        "timestamptz" | "timestamp" => Kind::Micros,
        _ => Kind::Text,
    }
}

fn collatable(typname: &str) -> bool {
    matches!(typname, "text" | "varchar" | "bpchar" | "name" | "citext")
}

/// The `COPY` statement reading `selected` columns of `relation` in key order.
fn copy_query(relation: &Relation, selected: &[&PgColumn]) -> String {
    let expr = |c: &PgColumn| {
        let q = quote_ident(&c.name);
        match c.kind {
            // Exact: `extract(epoch ...)` is a numeric with microseconds.
            Kind::Micros => format!(
                "CASE WHEN isfinite({q}) THEN (extract(epoch FROM {q}) * 1000000)::bigint::text \
                 ELSE {q}::text END"
            ),
            _ => q,
        }
    };
    let list: Vec<String> = selected.iter().map(|c| expr(c)).collect();
    let mut order = Vec::new();
    for key in ["conversation_id", "turn"] {
        if let Some(c) = relation.columns.iter().find(|c| c.name == key) {
            let q = quote_ident(&c.name);
            order.push(if c.collatable { format!("{q} COLLATE \"C\"") } else { q });
        }
    }
    if relation.plain_table {
        order.push("ctid".to_string());
    }
    let order =
        if order.is_empty() { String::new() } else { format!(" ORDER BY {}", order.join(", ")) };
    let list = if list.is_empty() { "1".to_string() } else { list.join(", ") };
    format!("COPY (SELECT {list} FROM {}{order}) TO STDOUT", relation.ident)
}

impl Source for PostgresSource {
    fn messages_have_signals_column(&self) -> Option<bool> {
        let relation = self.table(rows::MESSAGES.name).ok()?;
        Some(relation.columns.iter().any(|c| c.name == "signals"))
    }

    fn table_label(&self, table: &str) -> Option<String> {
        Some(self.url.table_label(table))
    }

    fn read_table(
        &self,
        spec: &TableSpec,
        extras: &mut ExtraColumns,
        rows: &mut TableRows<'_>,
    ) -> Result<TableRead, DataError> {
        let relation = self.table(spec.name)?;
        let header: Vec<String> = relation.columns.iter().map(|c| c.name.clone()).collect();
        let (slots, present) = map_header(&header, spec, extras, &relation.label)?;
        let mut selected = Vec::new();
        let mut layout = Vec::new();
        for (column, slot) in relation.columns.iter().zip(&slots) {
            if *slot != Slot::Ignored {
                selected.push(column);
                layout.push(Field { slot: *slot, kind: column.kind, name: column.name.as_str() });
            }
        }
        let query = copy_query(relation, &selected);
        let unreadable = |reason: String| DataError::Unreadable {
            file: format!("{}: {}", self.url.server(), relation.label),
            reason,
        };
        let mut client = self.client.borrow_mut();
        let mut reader = client.copy_out(query.as_str()).map_err(|e| unreadable(error_text(&e)))?;
        let part = rows.part(&relation.label);
        let mut line = Vec::with_capacity(4096);
        let mut count = 0u64;
        loop {
            line.clear();
            let read =
                reader.read_until(b'\n', &mut line).map_err(|e| unreadable(e.to_string()))?;
            if read == 0 {
                break;
            }
            count += 1;
            rows.row(part, parse_line(&line, &layout, count, spec.columns.len()));
        }
        Ok(TableRead { rows: count, present, files: Vec::new() })
    }
}

/// Where one selected column's field goes.
#[derive(Clone, Copy, Debug)]
struct Field<'a> {
    slot: Slot,
    kind: Kind,
    name: &'a str,
}

/// One line of `COPY ... TO STDOUT` (text format) as a row: tab-separated fields, `\N` for
/// null, backslash escapes.
fn parse_line<'l>(line: &'l [u8], layout: &[Field<'_>], row: u64, width: usize) -> RawRow<'l> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut out = RawRow::new(row, width);
    let fields = if layout.is_empty() { 0 } else { line.split(|&b| b == b'\t').count() };
    if fields != layout.len() {
        // Only a server bug could do this; the row is rejected rather than misread.
        out.problem(None, format!("expected {} fields, found {fields}", layout.len()));
        return out;
    }
    for (raw, field) in line.split(|&b| b == b'\t').zip(layout) {
        let cell = match text_of(raw) {
            Ok(None) => Cell::Null,
            Ok(Some(text)) => cell_of(text, field.kind),
            Err(()) => {
                out.problem(Some(field.name), "invalid UTF-8");
                continue;
            }
        };
        match field.slot {
            Slot::Known(i) => out.cells[i] = cell,
            Slot::Extra(i) => out.extras.push((i, cell)),
            Slot::Ignored => {}
        }
    }
    out
}

/// A field's text (`None` for `\N`), borrowed unless it has an escape.
fn text_of(raw: &[u8]) -> Result<Option<Cow<'_, str>>, ()> {
    if raw == b"\\N" {
        return Ok(None);
    }
    if !raw.contains(&b'\\') {
        return std::str::from_utf8(raw).map(|s| Some(Cow::Borrowed(s))).map_err(|_| ());
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'r') => out.push(b'\r'),
            Some(b'b') => out.push(0x08),
            Some(b'f') => out.push(0x0c),
            Some(b'v') => out.push(0x0b),
            Some(&other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    String::from_utf8(out).map(|s| Some(Cow::Owned(s))).map_err(|_| ())
}

fn cell_of(text: Cow<'_, str>, kind: Kind) -> Cell<'_> {
    if text.is_empty() {
        return Cell::Null;
    }
    match kind {
        Kind::Int => match text.parse() {
            Ok(i) => Cell::Int(i),
            Err(_) => Cell::Str(text),
        },
        Kind::Micros => match text.parse() {
            Ok(us) => Cell::Micros(us),
            // `infinity`, `-infinity`: validated (and rejected) as text.
            Err(_) => Cell::Str(text),
        },
        Kind::Bool => match text.as_ref() {
            "t" => Cell::Bool(true),
            "f" => Cell::Bool(false),
            _ => Cell::Str(text),
        },
        Kind::Text => Cell::Str(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Vec<Field<'static>> {
        vec![
            Field { slot: Slot::Known(0), kind: Kind::Text, name: "conversation_id" },
            Field { slot: Slot::Known(1), kind: Kind::Int, name: "turn" },
            Field { slot: Slot::Known(2), kind: Kind::Micros, name: "sent_at" },
            Field { slot: Slot::Extra(0), kind: Kind::Bool, name: "vip" },
            Field { slot: Slot::Known(5), kind: Kind::Text, name: "text" },
        ]
    }

    #[test]
    fn lines_become_typed_cells() {
        let row = parse_line(b"c1\t3\t1000000\tt\tHi\\tthere\\\\\\n!\n", &layout(), 7, 9);
        assert_eq!(row.row, 7);
        assert!(row.problems.is_empty());
        assert_eq!(row.cells[0], Cell::text("c1"));
        assert!(matches!(row.cells[0], Cell::Str(Cow::Borrowed(_))));
        assert_eq!(row.cells[1], Cell::Int(3));
        assert_eq!(row.cells[2], Cell::Micros(1_000_000));
        assert_eq!(row.extras, vec![(0, Cell::Bool(true))]);
        assert_eq!(row.cells[5], Cell::owned("Hi\tthere\\\n!".to_string()));
    }

    #[test]
    fn nulls_empty_strings_and_odd_values() {
        let row = parse_line(b"\\N\t\t-infinity\tx\t\\N", &layout(), 1, 9);
        assert!(row.problems.is_empty());
        assert_eq!(row.cells[0], Cell::Null);
        assert_eq!(row.cells[1], Cell::Null);
        assert_eq!(row.cells[2], Cell::text("-infinity"));
        assert_eq!(row.extras, vec![(0, Cell::text("x"))]);
        assert_eq!(row.cells[5], Cell::Null);
    }

    #[test]
    fn a_wrong_field_count_or_bad_utf8_is_a_row_problem() {
        let row = parse_line(b"c1\t3", &layout(), 1, 9);
        assert_eq!(row.problems.len(), 1);
        let row = parse_line(b"c1\t3\t5\tt\t\xff", &layout(), 1, 9);
        assert_eq!(row.problems[0].column.as_deref(), Some("text"));
    }

    /// A value as `COPY ... TO STDOUT` writes it in the text format.
    fn escaped(value: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for b in value.bytes() {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\r' => out.extend_from_slice(b"\\r"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                0x0b => out.extend_from_slice(b"\\v"),
                b => out.push(b),
            }
        }
        out
    }

    proptest::proptest! {
        /// Whatever the text, the field reads back as it was written, borrowed when it had
        /// nothing to unescape.
        #[test]
        fn any_text_reads_back_unescaped(value in "\\PC*|[\\\\\t\n\r\x08\x0b\x0c a-z]*") {
            let raw = escaped(&value);
            let text = text_of(&raw).unwrap();
            // Even the text `\N` is no null: it is written escaped, `\\N`.
            proptest::prop_assert_eq!(text.as_deref(), Some(value.as_str()));
            if !raw.contains(&b'\\') {
                proptest::prop_assert!(matches!(text, Some(Cow::Borrowed(_))));
            }
        }
    }

    #[test]
    fn the_query_orders_by_the_key_and_quotes_names() {
        let col = |name: &str, kind, collatable| PgColumn { name: name.into(), kind, collatable };
        let relation = Relation {
            label: "s.messages".into(),
            ident: "\"s\".\"messages\"".into(),
            plain_table: true,
            columns: vec![
                col("conversation_id", Kind::Text, true),
                col("turn", Kind::Int, false),
                col("sent_at", Kind::Micros, false),
            ],
        };
        let selected: Vec<&PgColumn> = relation.columns.iter().collect();
        let q = copy_query(&relation, &selected);
        assert!(q.starts_with(
            "COPY (SELECT \"conversation_id\", \"turn\", CASE WHEN isfinite(\"sent_at\")"
        ));
        assert!(q.ends_with(
            "FROM \"s\".\"messages\" ORDER BY \"conversation_id\" COLLATE \"C\", \"turn\", ctid) TO STDOUT"
        ));
    }
}
