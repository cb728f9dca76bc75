//! The synthetic world: prospects with a latent readiness, signals arriving over a
//! conversation, AI agents that hand off stochastically, and outcomes from a documented causal
//! model in which handoff timing matters. Also the known truth of any policy under that model.
//! `handoff generate` (see docs/generator.md).
//!
//! Conversations are generated in chunks, each chunk in parallel, every conversation from its
//! own ChaCha8 stream (seed, index), and written in index order: the same seed gives the same
//! bytes whatever the thread count, and memory stays bounded by one chunk.

pub mod model;
pub mod search_truth;
pub mod text;
pub mod truth;
pub mod world;
pub mod write;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;

use crate::error::UsageError;
use crate::policy::file::load_policies;

pub use model::{outcome_probabilities, ConversationTruth, OutcomeProbs, Segment};
pub use world::{generate_conversation, Generated, WorldConfig};
pub use write::DataFormat;

/// Limits that keep every timestamp and count far from overflow.
pub const MAX_CONVERSATIONS: u64 = 100_000_000;
pub const MAX_WEEKS: u32 = 520;

/// Conversations generated (and held) at a time.
pub const CHUNK: u64 = 20_000;

/// What `run` generates and where it writes it.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub conversations: u64,
    pub seed: u64,
    pub weeks: u32,
    /// First day of the data, `YYYY-MM-DD` (checked by `run`).
    pub start: String,
    pub format: DataFormat,
    /// The folder the three tables are written to (created when missing).
    pub out: PathBuf,
    /// Whether the messages carry the upstream `signals` column.
    pub tags: bool,
    /// Whether the messages carry history's logged `handoff_probability`.
    pub log_propensity: bool,
    /// The slice-effects world: effects differ by segment and region, and the conversations
    /// carry a `region` column (docs/generator.md).
    pub slice_effects: bool,
    /// Hidden confounding strength (docs/generator.md); 0: none.
    pub confound: f64,
    /// Also write the known truth of these policies.
    pub truth: Option<TruthRequest>,
    /// Whether a progress bar is drawn (only ever on a terminal).
    pub progress: bool,
}

/// Where the truth goes and which policies it covers.
#[derive(Clone, Debug)]
pub struct TruthRequest {
    /// The JSON file written.
    pub out: PathBuf,
    /// The policies file whose policies and sweeps are evaluated.
    pub policies: PathBuf,
}

/// What a run wrote, for the log line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerateStats {
    pub conversations: u64,
    pub messages: u64,
    pub outcomes: u64,
    pub handoffs: u64,
}

/// Midnight UTC of `YYYY-MM-DD`, as microseconds.
pub fn parse_start(start: &str) -> Result<i64, UsageError> {
    let date = chrono::NaiveDate::parse_from_str(start.trim(), "%Y-%m-%d")
        .map_err(|e| UsageError(format!("--start {start:?}: expected YYYY-MM-DD ({e})")))?;
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| UsageError(format!("--start {start:?}: not a valid day")))?;
    Ok(midnight.and_utc().timestamp_micros())
}

fn config(options: &GenerateOptions) -> Result<WorldConfig, UsageError> {
    if !(1..=MAX_CONVERSATIONS).contains(&options.conversations) {
        return Err(UsageError(format!(
            "--conversations {}: must be between 1 and {MAX_CONVERSATIONS}",
            options.conversations
        )));
    }
    if !(1..=MAX_WEEKS).contains(&options.weeks) {
        return Err(UsageError(format!(
            "--weeks {}: must be between 1 and {MAX_WEEKS}",
            options.weeks
        )));
    }
    Ok(WorldConfig {
        seed: options.seed,
        conversations: options.conversations,
        weeks: options.weeks,
        start: parse_start(&options.start)?,
        slice_effects: options.slice_effects,
        confound: options.confound,
    })
}

/// `handoff generate`: writes the three tables (and the truth, when asked) into
/// `options.out`.
pub fn run(options: &GenerateOptions) -> anyhow::Result<GenerateStats> {
    let cfg = config(options)?;
    let phrasings = text::Phrasings::shipped()?;
    let policies_file = match &options.truth {
        Some(request) => {
            let p = &request.policies;
            Some(load_policies(p).with_context(|| format!("{}", p.display()))?)
        }
        None => None,
    };
    let evaluated = policies_file.as_ref().map(truth::evaluated_policies).unwrap_or_default();
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("creating {}", options.out.display()))?;
    let extra: &'static [&'static str] =
        if options.slice_effects { &world::EXTRA_COLUMNS } else { &[] };
    let cols = write::Columns { tags: options.tags, propensity: options.log_propensity, extra };
    let mut sinks = ["conversations", "messages", "outcomes"]
        .iter()
        .map(|t| write::Sink::create(&options.out, t, options.format))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let progress = progress_bar(options.conversations, options.progress);
    let mut totals = vec![truth::Totals::default(); evaluated.len()];
    let mut slices = truth::SliceTotals::new(extra);
    let mut searches = policies_file.as_ref().and_then(search_truth::SearchTruthBuilder::new);
    let mut stats = GenerateStats::default();

    // Chunk k is written (and its truth added) while chunk k + 1 is generated.
    let mut current = Some(generate_chunk(&cfg, phrasings, 0));
    while let Some(chunk) = current.take() {
        let first = chunk.first;
        let next_first = first + chunk.items.len() as u64;
        let (written, next) = rayon::join(
            || -> anyhow::Result<()> {
                let convs: Vec<_> = chunk.items.iter().map(|g| &g.conversation).collect();
                for (sink, table) in sinks.iter_mut().zip(write::tables(&convs, cols).iter()) {
                    sink.write(table)?;
                }
                if !evaluated.is_empty() {
                    add_truth(&evaluated, &chunk.items, &mut totals, &mut slices);
                }
                if let Some(searches) = searches.as_mut() {
                    searches.add(&chunk.items);
                }
                Ok(())
            },
            || {
                (next_first < cfg.conversations)
                    .then(|| generate_chunk(&cfg, phrasings, next_first))
            },
        );
        written?;
        count(&chunk.items, &mut stats);
        progress.inc(chunk.items.len() as u64);
        current = next;
    }
    for sink in sinks {
        sink.finish()?;
    }
    write_export(&options.out, &cfg)?;
    progress.finish_and_clear();
    if let (Some(request), Some(file)) = (&options.truth, &policies_file) {
        let mut doc = truth::summarize(file, &evaluated, &totals, &slices, cfg.conversations);
        doc.searches = searches.as_ref().map(|s| s.finish()).unwrap_or_default();
        write_json(&request.out, &doc)?;
    }
    Ok(stats)
}

/// Days after the last day of conversations by which every generated outcome has come (a
/// meeting within 10 days of the start, an opportunity within 15 more) and the export is
/// taken: the default `--outcome-days`, so that a report on generated data is final.
const EXPORT_AFTER_DAYS: i64 = 30;

/// `export.json`: when the generated data was "exported" (README, "The data contract").
fn write_export(out: &std::path::Path, cfg: &WorldConfig) -> anyhow::Result<()> {
    let days = i64::from(cfg.weeks.max(1)) * 7 + EXPORT_AFTER_DAYS;
    let at = cfg.start + days * crate::time::MICROS_PER_DAY;
    let text = format!(
        "{{\"exported_at\": \"{}\"}}\n",
        crate::time::rfc3339_seconds(at).unwrap_or_default()
    );
    let path = out.join(crate::ingest::source::EXPORT_FILE);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// Conversations `first ..` of one chunk, in index order.
struct Chunk {
    first: u64,
    items: Vec<Generated>,
}

fn generate_chunk(cfg: &WorldConfig, phrasings: &text::Phrasings, first: u64) -> Chunk {
    let last = (first + CHUNK).min(cfg.conversations);
    let items =
        (first..last).into_par_iter().map(|i| generate_conversation(cfg, phrasings, i)).collect();
    Chunk { first, items }
}

/// Adds one chunk's expected outcomes, overall and to each conversation's slices, summed in
/// conversation order (deterministic).
fn add_truth(
    evaluated: &[truth::Evaluated],
    chunk: &[Generated],
    totals: &mut [truth::Totals],
    slices: &mut truth::SliceTotals,
) {
    let per_conversation: Vec<Vec<truth::Totals>> = chunk
        .par_iter()
        .map(|g| {
            truth::conversation_totals(evaluated, &g.conversation, &g.prospect_signals, &g.truth)
        })
        .collect();
    for (g, row) in chunk.iter().zip(&per_conversation) {
        for (acc, t) in totals.iter_mut().zip(row) {
            acc.add(t);
        }
        slices.add(&g.conversation, row);
    }
}

fn count(chunk: &[Generated], stats: &mut GenerateStats) {
    for g in chunk {
        stats.conversations += 1;
        stats.messages += g.conversation.messages.len() as u64;
        stats.outcomes += u64::from(g.conversation.outcome.is_some());
        stats.handoffs += u64::from(g.truth.historical.is_some());
    }
}

fn progress_bar(total: u64, wanted: bool) -> indicatif::ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} generating [{bar:40}] {pos}/{len} conversations ({eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(value).context("serialising the truth")?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(out: &Path, format: DataFormat, slice_effects: bool) -> GenerateOptions {
        GenerateOptions {
            conversations: 120,
            seed: 9,
            weeks: 1,
            start: "2026-11-09".into(),
            format,
            out: out.to_path_buf(),
            tags: true,
            log_propensity: false,
            slice_effects,
            confound: 0.0,
            truth: None,
            progress: false,
        }
    }

    #[test]
    fn ingest_keeps_the_region_as_an_extra_column_in_every_format() {
        for format in [DataFormat::Csv, DataFormat::Jsonl, DataFormat::Parquet] {
            let dir = tempfile::TempDir::new().expect("tempdir");
            run(&options(dir.path(), format, true)).expect("generate");
            let data = crate::ingest::read_dataset(dir.path()).expect("the data reads back");
            assert_eq!(data.extra_columns, ["region"], "{format:?}");
            assert_eq!(data.conversations.len(), 120);
            assert!(data.rejections.is_empty(), "{:?}", data.rejections.first());
            for c in &data.conversations {
                let region = c.extra.first().cloned().flatten().unwrap_or_default();
                assert!(["na", "emea", "apac", "latam"].contains(&region.as_str()), "{region}");
            }

            let plain = tempfile::TempDir::new().expect("tempdir");
            run(&options(plain.path(), format, false)).expect("generate");
            let data = crate::ingest::read_dataset(plain.path()).expect("the data reads back");
            assert!(data.extra_columns.is_empty());
        }
    }

    #[test]
    fn start_is_midnight_utc() {
        assert_eq!(parse_start("2026-11-09").ok(), Some(1_794_182_400_000_000));
        assert!(parse_start("2026-13-01").is_err());
    }
}
