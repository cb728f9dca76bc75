//! Ingest: find the three tables in a data folder, read them in any supported format, validate
//! every row against the data contract, and assemble a `model::Dataset` with its rejections.
//!
//! Everything is read through a `source::Source` (the data folder: `source::FolderSource`; a
//! PostgreSQL schema: `postgres::PostgresSource`).
//! Readers (`csv`, `jsonl`, `parquet`) stream rows as `rows::Cell`s to `build::Builder`, which
//! converts them with `validate` and applies the cross-row checks; nothing is held twice.
//! Parquet hands over a decoded slice at a time (`rows::RowBatch`), whose conversations and
//! messages rows the builder checks on every core before adding them in order.

pub mod build;
pub mod csv;
pub mod discover;
pub mod jsonl;
pub mod parquet;
pub mod postgres;
pub mod rejected;
pub mod rows;
pub mod source;
pub mod validate;

use std::path::Path;

use crate::error::DataError;
use crate::model::Dataset;
use build::Builder;
use rows::{ExtraColumns, RawRow, RowBatch, TableSpec};
use source::TableRows;
pub use source::{FolderSource, Source};

#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Largest share of rejected conversations before the data counts as unusable.
    pub max_rejected: f64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions { max_rejected: 0.01 }
    }
}

/// Whether ingest keeps the messages' `text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageText {
    Keep,
    /// Leave the text unread where the format allows (CSV, Parquet: every message's `text`
    /// is then empty); JSON lines are read whole whatever this says. For commands whose
    /// signals come from tags: at scale the text is most of the data set's memory.
    Skip,
    /// `Skip`, and every message kept only as a `CompactMessage` (in `Dataset::compact`,
    /// the conversations' `messages` left empty): for commands that only need signals from
    /// tags, timelines and counts, at a small fraction of `Message`'s memory.
    Compact,
}

/// Loads and validates the data set in `dir`; fails when it is unusable as a whole.
pub fn load(dir: &Path, options: &IngestOptions) -> Result<Dataset, DataError> {
    load_with(dir, options, MessageText::Keep)
}

/// `load`, saying whether the message text is kept.
pub fn load_with(
    dir: &Path,
    options: &IngestOptions,
    text: MessageText,
) -> Result<Dataset, DataError> {
    load_from(&FolderSource::open(dir)?, options, text)
}

/// Loads and validates the data set of `source`; fails when it is unusable as a whole.
pub fn load_from(
    source: &dyn Source,
    options: &IngestOptions,
    text: MessageText,
) -> Result<Dataset, DataError> {
    let dataset = read_from(source, text)?;
    check_usable(&dataset, options)?;
    Ok(dataset)
}

/// Whether the messages table in `dir` has a `signals` column (see
/// `Source::messages_have_signals_column`); `None` also when `dir` is not a folder.
pub fn messages_have_signals_column(dir: &Path) -> Option<bool> {
    FolderSource::open(dir).ok()?.messages_have_signals_column()
}

/// Reads and validates `dir` without the rejected-share and empty checks of `check_usable`,
/// so that `validate` can show the rejections of a data set it then declares unusable.
pub fn read_dataset(dir: &Path) -> Result<Dataset, DataError> {
    read_dataset_with(dir, MessageText::Keep)
}

/// `read_dataset`, saying whether the message text is kept.
pub fn read_dataset_with(dir: &Path, text: MessageText) -> Result<Dataset, DataError> {
    read_from(&FolderSource::open(dir)?, text)
}

/// Reads and validates the three tables of `source` (conversations first) without the checks
/// of `check_usable`.
pub fn read_from(source: &dyn Source, text: MessageText) -> Result<Dataset, DataError> {
    let mut dataset = Dataset::default();
    let mut builder = Builder::new(text == MessageText::Compact);
    let mut extras = ExtraColumns::default();
    let mut ignored = ExtraColumns::default();

    let present = read_table(
        source,
        &rows::CONVERSATIONS,
        &mut extras,
        &mut dataset,
        &mut builder,
        Builder::add_conversation,
        Some(Builder::add_conversation_batch),
    )?;
    let messages_spec = match text {
        MessageText::Keep => rows::MESSAGES,
        MessageText::Skip | MessageText::Compact => {
            TableSpec { skipped: &[rows::msg::TEXT], ..rows::MESSAGES }
        }
    };
    let present_m = read_table(
        source,
        &messages_spec,
        &mut ignored,
        &mut dataset,
        &mut builder,
        Builder::add_message,
        Some(Builder::add_message_batch),
    )?;
    let present_o = read_table(
        source,
        &rows::OUTCOMES,
        &mut ignored,
        &mut dataset,
        &mut builder,
        Builder::add_outcome,
        None,
    )?;

    let columns = &mut dataset.columns;
    columns.segment = present[rows::conv::SEGMENT];
    columns.employee_count = present[rows::conv::EMPLOYEE_COUNT];
    columns.channel = present[rows::conv::CHANNEL];
    columns.ai_agent = present[rows::conv::AI_AGENT];
    columns.participant = present_m[rows::msg::PARTICIPANT];
    columns.signals = present_m[rows::msg::SIGNALS];
    columns.qualified = present_m[rows::msg::QUALIFIED];
    columns.handoff_probability = present_m[rows::msg::HANDOFF_PROBABILITY];
    columns.handoff_turn = present_o[rows::out::HANDOFF_TURN] && builder.handoff_turn_values;

    dataset.extra_columns = extras.names().to_vec();
    builder.finish(dataset.extra_columns.len(), &mut dataset);
    dataset.export = source.export()?;
    if let Some(export) = &dataset.export {
        dataset.files.push(export.file.clone());
    }
    Ok(dataset)
}

/// Reads one table of `source` into the builder; which known columns any part of it had.
fn read_table(
    source: &dyn Source,
    spec: &TableSpec,
    extras: &mut ExtraColumns,
    dataset: &mut Dataset,
    builder: &mut Builder,
    add: fn(&mut Builder, u32, RawRow),
    add_batch: Option<fn(&mut Builder, u32, &dyn RowBatch)>,
) -> Result<Vec<bool>, DataError> {
    let read = source.read_table(spec, extras, &mut TableRows::new(builder, add, add_batch))?;
    let files = read.files.len();
    dataset.files.extend(read.files);
    dataset.rows_read.insert(spec.name.to_string(), read.rows);
    tracing::info!(table = spec.name, files, rows = read.rows, "table read");
    Ok(read.present)
}

/// Fails when too many conversations were rejected or none is left.
pub fn check_usable(dataset: &Dataset, options: &IngestOptions) -> Result<(), DataError> {
    let total = dataset.total_conversation_ids;
    let rejected = dataset.rejected_conversations;
    if total > 0 {
        let share = rejected as f64 / total as f64;
        if share > options.max_rejected {
            return Err(DataError::TooManyRejected {
                rejected,
                total,
                share: share * 100.0,
                max: options.max_rejected * 100.0,
            });
        }
    }
    if dataset.conversations.is_empty() {
        let why = if total == 0 {
            "the conversations table has no usable row".to_string()
        } else {
            format!("all {total} conversations were rejected")
        };
        return Err(DataError::NoConversations(why));
    }
    Ok(())
}
