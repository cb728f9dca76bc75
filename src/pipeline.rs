//! The shared front of every command that runs policies: load the policies file, load and
//! validate the data, find the signals once, and reduce each conversation to a timeline.
//! Commands call `prepare` and then do only their own part; what they write is `report`'s.

use std::path::PathBuf;

use anyhow::Context;
use rayon::prelude::*;

use crate::error::DataError;
use crate::ingest::{self, FolderSource, IngestOptions, MessageText, Source};
use crate::model::Dataset;
use crate::policy::file::{load_policies, PoliciesFile};
use crate::replay::{build_compact_timeline, build_timeline, Timeline};
use crate::signals::detect::{
    compact_signals, detect_dataset, resolve_source, DatasetSignals, Detector,
};
use crate::signals::{DetectorKind, SignalSource};

/// The data a run reads.
#[derive(Clone, Debug)]
pub struct DataOptions {
    /// The data folder holding the conversations, messages and outcomes tables, or a
    /// PostgreSQL URL (`crate::pg`) whose schema holds them.
    pub data: PathBuf,
    /// Largest share of conversations that may be rejected before the run fails (0 to 1).
    pub max_rejected: f64,
}

/// The policies a run replays and where their signals come from.
#[derive(Clone, Debug)]
pub struct PolicyOptions {
    /// The policies file.
    pub policies: PathBuf,
    /// Overrides the policies file's `signal_source` when given.
    pub signal_source: Option<SignalSource>,
    /// Overrides the policies file's `detector` when given.
    pub detector: Option<DetectorKind>,
}

/// Which conversations a run covers, as written on the command line (resolved against the
/// data by `resolve_window`).
#[derive(Clone, Debug, Default)]
pub struct WindowSpec {
    /// An ISO week (`2026-W47`) or `last`.
    pub week: Option<String>,
    /// First day of the window (UTC, inclusive), `YYYY-MM-DD`.
    pub since: Option<String>,
    /// End of the window (UTC, exclusive), `YYYY-MM-DD`.
    pub until: Option<String>,
    /// The run's "now": a timestamp or `now`; by default the latest timestamp in the data.
    pub as_of: Option<String>,
}

/// Everything downstream of ingest and signal detection, computed once.
pub struct Prepared {
    pub policies: PoliciesFile,
    /// From `prepare_without_text`, the conversations' messages are released (see
    /// `Conversation::released`): only the timelines are kept.
    pub dataset: Dataset,
    /// From `prepare_without_text`, only the counts: `per_conversation` and `origins` are
    /// empty (the timelines carry the sets).
    pub signals: DatasetSignals,
    /// One per conversation, aligned with `dataset.conversations`.
    pub timelines: Vec<Timeline>,
    /// The source asked for (flag over file over `auto`).
    pub source: SignalSource,
    /// The detector that read the text (the lexicon alone when no text is read).
    pub detector: Detector,
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
pub fn prepare(data: &DataOptions, policy: &PolicyOptions) -> anyhow::Result<Prepared> {
    prepare_with(data, policy, true)
}

/// `prepare` for commands that never show a message (`report`, `replay`): only the
/// timelines are kept. When the signals come from tags, the text is not even read and the
/// messages are read as `CompactMessage`s; otherwise the text is dropped with the messages
/// once the timelines are built. Every figure is the same as with `prepare`.
pub fn prepare_without_text(
    data: &DataOptions,
    policy: &PolicyOptions,
) -> anyhow::Result<Prepared> {
    prepare_with(data, policy, false)
}

fn prepare_with(
    data: &DataOptions,
    policy: &PolicyOptions,
    keep_text: bool,
) -> anyhow::Result<Prepared> {
    let policies = load_policies(&policy.policies)?;
    let source = policy.signal_source.or(policies.signal_source).unwrap_or_default();
    let tables = open_data(data)?;
    let text_unused = match source {
        SignalSource::Tags => true,
        SignalSource::Auto => tables.messages_have_signals_column() == Some(true),
        SignalSource::Text | SignalSource::Both => false,
    };
    let text = match (keep_text, text_unused) {
        (true, _) | (false, false) => MessageText::Keep,
        (false, true) => MessageText::Compact,
    };
    // A bad `detector_model` fails before the data is read, as a bad policies file does.
    let detector = build_detector(&policies, policy.detector, text_unused)?;
    let mut dataset = load_from(tables.as_ref(), data, text)?;
    // A routed policy's column is known only once the data is read (policies.md).
    crate::policy::routed::check_route_columns(&dataset, &policies.routed)?;
    crate::stage!("stage: data loaded", conversations = dataset.conversations.len(), ?text);
    let (signals, timelines) = if keep_text {
        let signals = detect_dataset(&dataset, source, &detector);
        crate::stage!("stage: signals detected");
        let timelines = dataset
            .conversations
            .par_iter()
            .zip(&signals.per_conversation)
            .map(|(conv, sets)| build_timeline(conv, sets))
            .collect();
        (signals, timelines)
    } else {
        lean_timelines(&mut dataset, source, &detector)
    };
    crate::stage!("stage: timelines built");
    Ok(Prepared { policies, dataset, signals, timelines, source, detector })
}

/// The detector a run uses: `--detector` over the file's `detector` over `ensemble`, with the
/// file's `detector_model` or the shipped model. When no text is read the model is not
/// loaded (the lexicon alone is built, and finds nothing since nothing is read), but a
/// `detector_model` that cannot be used is still an error.
pub fn build_detector(
    policies: &PoliciesFile,
    flag: Option<DetectorKind>,
    text_unused: bool,
) -> anyhow::Result<Detector> {
    let kind = flag.or(policies.detector).unwrap_or_default();
    let learned = match &policies.detector_model {
        Some(path) => Some(Detector::load_model(path)?),
        None => None,
    };
    let kind = if text_unused { DetectorKind::Lexicon } else { kind };
    Ok(Detector::with_kind(&policies.lexicon, kind, learned)?)
}

/// Signals and timelines for a run that shows no message: each conversation's signal sets
/// live only until its timeline is built, and the messages are released afterwards.
fn lean_timelines(
    dataset: &mut Dataset,
    source: SignalSource,
    detector: &Detector,
) -> (DatasetSignals, Vec<Timeline>) {
    let used = resolve_source(dataset, source);
    let compact = std::mem::take(&mut dataset.compact);
    let per_conv: Vec<_> = if compact.is_empty() {
        dataset
            .conversations
            .par_iter()
            .map(|conv| {
                let found = crate::signals::detect::conversation_signals(conv, used, detector);
                let timeline = build_timeline(conv, &found.sets);
                (found, timeline)
            })
            .collect()
    } else {
        dataset
            .conversations
            .par_iter()
            .zip(compact)
            .map(|(conv, messages)| {
                let found = compact_signals(&messages, used);
                let timeline = build_compact_timeline(conv, &messages.messages, &found.sets);
                (found, timeline)
            })
            .collect()
    };
    for conv in &mut dataset.conversations {
        conv.release_messages();
    }
    let mut signals = DatasetSignals::new(used);
    let mut timelines = Vec::with_capacity(per_conv.len());
    for (found, timeline) in per_conv {
        signals.add(found, false);
        timelines.push(timeline);
    }
    (signals, timelines)
}

/// Loads and validates the data folder of `data`.
pub fn load_dataset(data: &DataOptions) -> anyhow::Result<Dataset> {
    load_from(open_data(data)?.as_ref(), data, MessageText::Keep)
}

/// The data folder with its tables discovered, or the database with its tables looked up
/// (once, for the peek and the read).
fn open_data(data: &DataOptions) -> anyhow::Result<Box<dyn Source>> {
    open_source(&data.data).with_context(|| reading_context(data))
}

/// Opens `--data`: a PostgreSQL URL (`crate::pg`) or a data folder.
pub fn open_source(data: &std::path::Path) -> anyhow::Result<Box<dyn Source>> {
    match data.to_str().filter(|text| crate::pg::is_url(text)) {
        Some(url) => {
            let url = crate::pg::PgUrl::parse(url)?;
            Ok(Box::new(ingest::postgres::PostgresSource::open(&url)?))
        }
        None => Ok(Box::new(FolderSource::open(data)?)),
    }
}

/// `--data` as messages may show it: a database URL without its password.
pub fn data_display(data: &std::path::Path) -> String {
    crate::pg::redact(&data.display().to_string())
}

fn load_from(
    tables: &dyn Source,
    data: &DataOptions,
    text: MessageText,
) -> anyhow::Result<Dataset> {
    let options = IngestOptions { max_rejected: data.max_rejected };
    ingest::load_from(tables, &options, text).with_context(|| reading_context(data))
}

fn reading_context(data: &DataOptions) -> String {
    format!("reading the data set in {}", data_display(&data.data))
}

/// The latest timestamp anywhere in the data: the default `--as-of`, so that a rerun on the
/// same data gives the same bytes.
pub fn latest_timestamp(dataset: &Dataset) -> crate::model::Micros {
    let mut latest = i64::MIN;
    for conv in &dataset.conversations {
        latest = latest.max(conv.started_at);
        if let Some(last) = conv.last_sent_at() {
            latest = latest.max(last);
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
pub fn check_window_flags(args: &WindowSpec) -> anyhow::Result<()> {
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
    args: &WindowSpec,
    dataset: &Dataset,
) -> anyhow::Result<(crate::window::Window, crate::model::Micros)> {
    use crate::window::{parse_as_of, Window};
    let now = chrono::Utc::now().timestamp_micros();
    let as_of = match &args.as_of {
        Some(text) => parse_as_of(text, now)?,
        None => default_as_of(dataset)?,
    };
    let window =
        Window::resolve(args.week.as_deref(), args.since.as_deref(), args.until.as_deref(), as_of)?;
    Ok((window, as_of))
}

/// The default `--as-of`: when the data was exported (`export.json`), else its latest
/// timestamp. An export time earlier than the data itself is an error naming the file.
pub fn default_as_of(dataset: &Dataset) -> Result<crate::model::Micros, DataError> {
    let latest = latest_timestamp(dataset);
    match &dataset.export {
        Some(export) if export.at < latest => Err(DataError::Unreadable {
            file: export.file.display().to_string(),
            reason: format!(
                "exported_at {} is earlier than the latest timestamp in the data ({})",
                crate::time::rfc3339_exact(export.at),
                crate::time::rfc3339_exact(latest)
            ),
        }),
        Some(export) => Ok(export.at),
        None => Ok(latest),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped sample, prepared whole and lean.
    fn both(source: Option<SignalSource>) -> (Prepared, Prepared) {
        let data = DataOptions { data: PathBuf::from("data"), max_rejected: 0.01 };
        let policy = PolicyOptions {
            policies: PathBuf::from("data/policies.toml"),
            signal_source: source,
            detector: None,
        };
        let whole = prepare(&data, &policy).expect("the sample prepares");
        let lean = prepare_without_text(&data, &policy).expect("the sample prepares");
        (whole, lean)
    }

    #[test]
    fn lean_preparation_gives_the_same_timelines_and_counts() {
        for source in
            [None, Some(SignalSource::Tags), Some(SignalSource::Text), Some(SignalSource::Both)]
        {
            let (whole, lean) = both(source);
            assert!(!whole.timelines.is_empty());
            assert_eq!(whole.timelines, lean.timelines, "{source:?}");
            assert_eq!(whole.signals.unknown_labels, lean.signals.unknown_labels);
            assert_eq!(
                whole.signals.non_prospect_tagged_messages,
                lean.signals.non_prospect_tagged_messages
            );
            assert_eq!(whole.signals.source_used, lean.signals.source_used);
            assert_eq!(whole.dataset.message_count(), lean.dataset.message_count());
            assert_eq!(latest_timestamp(&whole.dataset), latest_timestamp(&lean.dataset));
            assert_eq!(whole.dataset.quality, lean.dataset.quality);
            assert_eq!(whole.dataset.rejections, lean.dataset.rejections);
            let ids = |p: &Prepared| -> Vec<String> {
                p.dataset.conversations.iter().map(|c| c.id.clone()).collect()
            };
            assert_eq!(ids(&whole), ids(&lean));
            assert!(lean.dataset.conversations.iter().all(|c| c.messages.is_empty()));
            assert!(lean.dataset.compact.is_empty());
        }
    }
}
