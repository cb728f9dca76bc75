//! The shared front of every command that runs policies: load the policies file, load and
//! validate the data, find the signals once, and reduce each conversation to a timeline.
//! Commands call `prepare` and then do only their own part.

use anyhow::Context;
use rayon::prelude::*;

use crate::cli::{CommonArgs, PolicyArgs};
use crate::ingest::{self, IngestOptions, MessageText};
use crate::model::Dataset;
use crate::policy::file::{load_policies, PoliciesFile};
use crate::replay::{build_timeline, Timeline};
use crate::signals::detect::{detect_dataset, DatasetSignals, Detector};
use crate::signals::SignalSource;

/// Everything downstream of ingest and signal detection, computed once.
pub struct Prepared {
    pub policies: PoliciesFile,
    pub dataset: Dataset,
    pub signals: DatasetSignals,
    /// One per conversation, aligned with `dataset.conversations`.
    pub timelines: Vec<Timeline>,
    /// The source asked for (flag over file over `auto`).
    pub source: SignalSource,
}

impl Prepared {
    /// What the analysis reads, borrowed.
    pub fn inputs(&self) -> crate::analysis::Inputs<'_> {
        crate::analysis::Inputs {
            policies: &self.policies,
            dataset: &self.dataset,
            signals: &self.signals,
            timelines: &self.timelines,
            source: self.source,
        }
    }
}

/// Loads the policies file first (a bad file is a usage error, reported before any data is
/// read), then the data, then signals and timelines.
pub fn prepare(common: &CommonArgs, policy_args: &PolicyArgs) -> anyhow::Result<Prepared> {
    prepare_with(common, policy_args, true)
}

/// `prepare` for commands that never show message text (`report`, `replay`): when the
/// signals come from tags, the text is not even read, which at scale is most of the memory.
/// Every figure is the same as with `prepare`.
pub fn prepare_without_text(
    common: &CommonArgs,
    policy_args: &PolicyArgs,
) -> anyhow::Result<Prepared> {
    prepare_with(common, policy_args, false)
}

fn prepare_with(
    common: &CommonArgs,
    policy_args: &PolicyArgs,
    keep_text: bool,
) -> anyhow::Result<Prepared> {
    let policies = load_policies(&policy_args.policies)?;
    let source = policy_args.signal_source.or(policies.signal_source).unwrap_or_default();
    let text_unused = match source {
        SignalSource::Tags => true,
        SignalSource::Auto => ingest::messages_have_signals_column(&common.data) == Some(true),
        SignalSource::Text | SignalSource::Both => false,
    };
    let text = if keep_text || !text_unused { MessageText::Keep } else { MessageText::Skip };
    let dataset = load_dataset_with(common, text)?;
    tracing::debug!(conversations = dataset.conversations.len(), ?text, "stage: data loaded");
    let detector = Detector::new(&policies.lexicon)?;
    let signals = detect_dataset(&dataset, source, &detector);
    tracing::debug!("stage: signals detected");
    let timelines = dataset
        .conversations
        .par_iter()
        .zip(&signals.per_conversation)
        .map(|(conv, sets)| build_timeline(conv, sets))
        .collect();
    Ok(Prepared { policies, dataset, signals, timelines, source })
}

/// Loads and validates the data folder named by `--data`.
pub fn load_dataset(common: &CommonArgs) -> anyhow::Result<Dataset> {
    load_dataset_with(common, MessageText::Keep)
}

fn load_dataset_with(common: &CommonArgs, text: MessageText) -> anyhow::Result<Dataset> {
    if !(0.0..=1.0).contains(&common.max_rejected) {
        return Err(crate::error::UsageError(format!(
            "--max-rejected must be a fraction between 0 and 1, found {}",
            common.max_rejected
        ))
        .into());
    }
    let options = IngestOptions { max_rejected: common.max_rejected };
    ingest::load_with(&common.data, &options, text)
        .with_context(|| format!("reading the data set in {}", common.data.display()))
}

/// The latest timestamp anywhere in the data: the default `--as-of`, so that a rerun on the
/// same data gives the same bytes.
pub fn latest_timestamp(dataset: &Dataset) -> crate::model::Micros {
    let mut latest = i64::MIN;
    for conv in &dataset.conversations {
        latest = latest.max(conv.started_at);
        if let Some(last) = conv.messages.last() {
            latest = latest.max(last.sent_at);
        }
        if let Some(o) = &conv.outcome {
            for t in [o.handoff_at, o.meeting_at, o.opportunity_at].into_iter().flatten() {
                latest = latest.max(t);
            }
        }
    }
    if latest == i64::MIN {
        0
    } else {
        latest
    }
}

/// Checks the window flags (`--week`, `--since`, `--until`, `--as-of`) before any data is
/// read, so a typo in a cron line fails at once with exit 2 instead of after loading the data.
pub fn check_window_flags(args: &crate::cli::WindowArgs) -> anyhow::Result<()> {
    use crate::window::{parse_as_of, Window};
    let now = chrono::Utc::now().timestamp_micros();
    let as_of = match &args.as_of {
        Some(text) => parse_as_of(text, now)?,
        None => now,
    };
    Window::resolve(args.week.as_deref(), args.since.as_deref(), args.until.as_deref(), as_of)?;
    Ok(())
}

/// Resolves `--as-of` and the window flags against the data.
pub fn resolve_window(
    args: &crate::cli::WindowArgs,
    dataset: &Dataset,
) -> anyhow::Result<(crate::window::Window, crate::model::Micros)> {
    use crate::window::{parse_as_of, Window};
    let now = chrono::Utc::now().timestamp_micros();
    let as_of = match &args.as_of {
        Some(text) => parse_as_of(text, now)?,
        None => latest_timestamp(dataset),
    };
    let window =
        Window::resolve(args.week.as_deref(), args.since.as_deref(), args.until.as_deref(), as_of)?;
    Ok((window, as_of))
}

/// Indices of the conversations that started in `window`; exit 3 when there is none.
pub fn window_members(
    dataset: &Dataset,
    window: &crate::window::Window,
) -> anyhow::Result<Vec<usize>> {
    let members: Vec<usize> = dataset
        .conversations
        .iter()
        .enumerate()
        .filter(|(_, c)| window.contains(c.started_at))
        .map(|(i, _)| i)
        .collect();
    if members.is_empty() {
        return Err(crate::error::DataError::NoConversations(format!(
            "no accepted conversation started in the window {}",
            window.label
        ))
        .into());
    }
    Ok(members)
}

/// Whether a table output is Parquet (`.parquet`) rather than CSV (`.csv`); any other name is a
/// usage error (exit 2). Commands call it before reading the data so a mistyped `--out` fails
/// at once instead of after the whole run.
pub fn is_parquet_output(path: &std::path::Path) -> Result<bool, crate::error::UsageError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.ends_with(".parquet") {
        Ok(true)
    } else if name.ends_with(".csv") {
        Ok(false)
    } else {
        Err(crate::error::UsageError(format!(
            "{}: the output must end in .csv or .parquet",
            path.display()
        )))
    }
}

/// Writes a frame to `path` as CSV or Parquet by extension, through a temporary sibling so a
/// failed run never leaves half a file.
pub fn write_frame(
    frame: &mut polars::prelude::DataFrame,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    use polars::prelude::{CsvWriter, ParquetWriter, SerWriter};
    let is_parquet = is_parquet_output(path)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the folder {}", parent.display()))?;
    }
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        if is_parquet {
            ParquetWriter::new(&mut file).finish(frame)?;
        } else {
            CsvWriter::new(&mut file).finish(frame)?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}
