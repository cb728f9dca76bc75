//! The common row shape every reader delivers, so validation is written once for all formats:
//! table specs (known columns), the `Cell` value type, and the registry of extra columns.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// One value as a reader found it, before typed validation. Text borrows from the reader's
/// buffer where it can (a CSV record, a Parquet column), so that a row costs no allocation
/// per field; validation copies only what it keeps.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    Null,
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A native timestamp, already in UTC microseconds.
    Micros(i64),
}

impl<'a> Cell<'a> {
    /// A text cell borrowing `text`.
    pub fn text(text: &'a str) -> Cell<'a> {
        Cell::Str(Cow::Borrowed(text))
    }

    /// A text cell owning `text`.
    pub fn owned(text: String) -> Cell<'a> {
        Cell::Str(Cow::Owned(text))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }

    /// The value as text, for string columns (`None` for a null).
    pub fn to_text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Str(s) => Some(s.to_string()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Float(f) => Some(f.to_string()),
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Micros(us) => Some(crate::time::rfc3339_exact(*us)),
        }
    }

    /// The value as text, moving a string out instead of copying it.
    pub fn into_text(self) -> Option<String> {
        match self {
            Cell::Str(s) => Some(s.into_owned()),
            other => other.to_text(),
        }
    }

    /// Takes the value out, leaving a null.
    pub fn take(&mut self) -> Cell<'a> {
        std::mem::replace(self, Cell::Null)
    }

    /// How the value is quoted in a rejection reason.
    pub fn describe(&self) -> String {
        match self {
            Cell::Null => "an empty value".to_string(),
            Cell::Str(s) => format!("{s:?}"),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Micros(us) => crate::time::rfc3339_exact(*us),
        }
    }
}

/// Rows a reader can hand over together, each made on demand from the reader's columns (a
/// decoded Parquet slice): a table's builder may then check many rows at once, on every core,
/// before adding them in order (`Builder::add_message_batch`).
pub trait RowBatch: Sync {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th row (`i < len()`), its cells borrowing the batch's strings.
    fn row(&self, i: usize) -> RawRow<'_>;
}

/// A problem that makes a row unusable as read (unparseable line, invalid UTF-8, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct RowProblem {
    pub column: Option<String>,
    pub reason: String,
}

/// The most known columns a table of the data contract has.
pub const MAX_KNOWN_COLUMNS: usize = 9;
const _: () = assert!(
    CONVERSATIONS.columns.len() <= MAX_KNOWN_COLUMNS
        && MESSAGES.columns.len() <= MAX_KNOWN_COLUMNS
        && OUTCOMES.columns.len() <= MAX_KNOWN_COLUMNS
);

/// One data row: cells aligned with the table's known columns, plus extra columns.
#[derive(Clone, Debug)]
pub struct RawRow<'a> {
    /// 1-based data row (CSV record, Parquet row) or JSON line number.
    pub row: u64,
    /// Aligned with the table's known columns; the cells past them stay null. An array, not a
    /// vector: millions of rows are read, and a row then costs no allocation.
    pub cells: [Cell<'a>; MAX_KNOWN_COLUMNS],
    /// Values of unknown columns, by index into `ExtraColumns` (kept tables only).
    pub extras: Vec<(usize, Cell<'a>)>,
    /// Problems found while reading; cells hold whatever could still be read.
    pub problems: Vec<RowProblem>,
}

impl<'a> RawRow<'a> {
    /// An empty row of a table with `width` known columns (at most `MAX_KNOWN_COLUMNS`).
    pub fn new(row: u64, width: usize) -> RawRow<'a> {
        debug_assert!(width <= MAX_KNOWN_COLUMNS);
        RawRow {
            row,
            cells: [const { Cell::Null }; MAX_KNOWN_COLUMNS],
            extras: Vec::new(),
            problems: Vec::new(),
        }
    }

    pub fn problem(&mut self, column: Option<&str>, reason: impl Into<String>) {
        self.problems
            .push(RowProblem { column: column.map(str::to_string), reason: reason.into() });
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub required: bool,
}

/// A table of the data contract: its known columns, in a fixed order readers align cells to.
#[derive(Clone, Copy, Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [ColumnSpec],
    /// Whether unknown columns are kept (conversations) or ignored.
    pub keep_extras: bool,
    /// Known columns whose presence is checked but whose values the command does not need:
    /// header-based readers (CSV, Parquet) leave them unread, as nulls.
    pub skipped: &'static [usize],
}

impl TableSpec {
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

const fn req(name: &'static str) -> ColumnSpec {
    ColumnSpec { name, required: true }
}
const fn opt(name: &'static str) -> ColumnSpec {
    ColumnSpec { name, required: false }
}

/// Column positions of the conversations table.
pub mod conv {
    pub const ID: usize = 0;
    pub const STARTED_AT: usize = 1;
    pub const ACCOUNT_ID: usize = 2;
    pub const SEGMENT: usize = 3;
    pub const EMPLOYEE_COUNT: usize = 4;
    pub const CHANNEL: usize = 5;
    pub const AI_AGENT: usize = 6;
}

/// Column positions of the messages table.
pub mod msg {
    pub const CONVERSATION_ID: usize = 0;
    pub const TURN: usize = 1;
    pub const SENT_AT: usize = 2;
    pub const SENDER: usize = 3;
    pub const PARTICIPANT: usize = 4;
    pub const TEXT: usize = 5;
    pub const SIGNALS: usize = 6;
    pub const QUALIFIED: usize = 7;
    pub const HANDOFF_PROBABILITY: usize = 8;
}

/// Column positions of the outcomes table.
pub mod out {
    pub const CONVERSATION_ID: usize = 0;
    pub const HANDOFF_TURN: usize = 1;
    pub const HANDOFF_AT: usize = 2;
    pub const CONTEXT: usize = 3;
    pub const MEETING_AT: usize = 4;
    pub const OPPORTUNITY_AT: usize = 5;
    pub const OPPORTUNITY_AMOUNT: usize = 6;
    pub const CURRENCY: usize = 7;
    pub const REP_RATING: usize = 8;
}

pub const CONVERSATIONS: TableSpec = TableSpec {
    name: "conversations",
    columns: &[
        req("conversation_id"),
        req("started_at"),
        opt("account_id"),
        opt("segment"),
        opt("employee_count"),
        opt("channel"),
        opt("ai_agent"),
    ],
    keep_extras: true,
    skipped: &[],
};

pub const MESSAGES: TableSpec = TableSpec {
    name: "messages",
    columns: &[
        req("conversation_id"),
        req("turn"),
        req("sent_at"),
        req("sender"),
        opt("participant"),
        req("text"),
        opt("signals"),
        opt("qualified"),
        opt("handoff_probability"),
    ],
    keep_extras: false,
    skipped: &[],
};

pub const OUTCOMES: TableSpec = TableSpec {
    name: "outcomes",
    columns: &[
        req("conversation_id"),
        opt("handoff_turn"),
        opt("handoff_at"),
        opt("context"),
        opt("meeting_at"),
        opt("opportunity_at"),
        opt("opportunity_amount"),
        opt("currency"),
        opt("rep_rating"),
    ],
    keep_extras: false,
    skipped: &[],
};

/// Names of the unknown columns kept for one table, in order of first appearance.
#[derive(Clone, Debug, Default)]
pub struct ExtraColumns {
    names: Vec<String>,
    index: BTreeMap<String, usize>,
}

impl ExtraColumns {
    /// The index of `name`, registering it on first sight.
    pub fn index(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// What a reader reports about one file besides its rows.
#[derive(Clone, Debug, Default)]
pub struct FileStats {
    pub rows: u64,
    /// Per known column: whether the file has it.
    pub present: Vec<bool>,
}

/// Where a header-based reader finds each known column, or an extra column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Slot {
    Known(usize),
    Extra(usize),
    Ignored,
}

/// Maps a file's header to slots; checks duplicates and required columns.
pub fn map_header(
    header: &[String],
    spec: &TableSpec,
    extras: &mut ExtraColumns,
    label: &str,
) -> Result<(Vec<Slot>, Vec<bool>), crate::error::DataError> {
    use crate::error::DataError;
    let mut seen = std::collections::BTreeSet::new();
    for name in header {
        if !seen.insert(name.as_str()) {
            return Err(DataError::Unreadable {
                file: label.to_string(),
                reason: format!("duplicated header name {name:?}"),
            });
        }
    }
    let mut present = vec![false; spec.columns.len()];
    let mut slots = Vec::with_capacity(header.len());
    for name in header {
        let slot = match spec.index_of(name) {
            Some(i) if spec.skipped.contains(&i) => {
                present[i] = true;
                Slot::Ignored
            }
            Some(i) => {
                present[i] = true;
                Slot::Known(i)
            }
            None if spec.keep_extras => Slot::Extra(extras.index(name)),
            None => Slot::Ignored,
        };
        slots.push(slot);
    }
    check_required(spec, &present, label)?;
    Ok((slots, present))
}

/// `MissingColumn` for the first required column a file lacks.
pub fn check_required(
    spec: &TableSpec,
    present: &[bool],
    label: &str,
) -> Result<(), crate::error::DataError> {
    for (column, &has) in spec.columns.iter().zip(present) {
        if column.required && !has {
            return Err(crate::error::DataError::MissingColumn {
                file: label.to_string(),
                column: column.name.to_string(),
            });
        }
    }
    Ok(())
}
