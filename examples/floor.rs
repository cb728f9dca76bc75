//! The floor of `handoff report`: what any program must at least do with the same data.
//! Polars reads the three tables whole (every column; Parquet or CSV, whichever the folder
//! holds), then ONE multi-pattern (Aho-Corasick, ASCII case-insensitive, overlapping) pass runs
//! over every message text with the default lexicon. `scripts/bench.sh` compares the report's
//! time against this.
//!
//! With `--detect`, it instead times the project's own text detection
//! (`signals::detect::Detector::detect`, the default lexicon) over every prospect message, on
//! one thread, so the figure is prospect messages per second per core.
//!
//! Usage: `cargo run --release --example floor -- [--detect] DATA_DIR` (a folder written by
//! `handoff generate`). Prints one line of `key=value` figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use anyhow::Context;
use handoff::signals::detect::Detector;
use handoff::signals::lexicon::{Lexicon, LexiconConfig};
use handoff::signals::Signal;
use polars::prelude::*;

/// `<dir>/<name>.parquet`, or `<dir>/<name>.csv` when there is no Parquet file.
fn read_table(dir: &Path, name: &str) -> anyhow::Result<DataFrame> {
    let parquet = dir.join(format!("{name}.parquet"));
    if parquet.exists() {
        let file = std::fs::File::open(&parquet)
            .with_context(|| format!("opening {}", parquet.display()))?;
        let read = ParquetReader::new(file).finish();
        return anyhow::Context::with_context(read, || format!("reading {}", parquet.display()));
    }
    let csv = dir.join(format!("{name}.csv"));
    let read = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(csv.clone()))
        .and_then(|reader| reader.finish());
    anyhow::Context::with_context(read, || format!("reading {}", csv.display()))
}

/// The floor: read the three tables, one automaton pass over every text.
fn floor(dir: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let conversations = read_table(dir, "conversations")?;
    let messages = read_table(dir, "messages")?;
    let outcomes = read_table(dir, "outcomes")?;
    let read_secs = started.elapsed().as_secs_f64();

    let lexicon = Lexicon::shipped()?;
    let phrases: Vec<&String> = Signal::ALL.iter().flat_map(|&s| lexicon.phrases(s)).collect();
    let automaton = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&phrases)
        .context("compiling the default lexicon")?;
    let scan = Instant::now();
    let text = messages.column("text")?.str()?;
    let mut matches = 0u64;
    let mut bytes = 0u64;
    for value in text.iter().flatten() {
        bytes += value.len() as u64;
        matches += automaton.find_overlapping_iter(value).count() as u64;
    }
    let scan_secs = scan.elapsed().as_secs_f64();
    println!(
        "conversations={} messages={} outcomes={} text_bytes={bytes} matches={matches} \
         read_secs={read_secs:.3} scan_secs={scan_secs:.3} total_secs={:.3}",
        conversations.height(),
        messages.height(),
        outcomes.height(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The project's detection over every prospect message's text, on this one thread.
fn detect(dir: &Path) -> anyhow::Result<()> {
    let messages = read_table(dir, "messages")?;
    let sender = messages.column("sender")?.str()?;
    let text = messages.column("text")?.str()?;
    let prospect: Vec<&str> = sender
        .iter()
        .zip(text.iter())
        .filter(|(s, _)| *s == Some("prospect"))
        .map(|(_, t)| t.unwrap_or_default())
        .collect();
    let detector = Detector::new(&LexiconConfig::default()).context("compiling the lexicon")?;
    let started = Instant::now();
    let mut signals = 0u64;
    for t in &prospect {
        signals += u64::from(std::hint::black_box(detector.detect(t)).0.count_ones());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "prospect_messages={} signals={signals} detect_secs={secs:.3} \
         messages_per_sec_per_core={:.0}",
        prospect.len(),
        prospect.len() as f64 / secs.max(1e-9)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1).peekable();
    let detect_mode = args.next_if(|a| a == "--detect").is_some();
    let dir: PathBuf = args
        .next()
        .map(PathBuf::from)
        .context("usage: floor [--detect] DATA_DIR (a data folder of Parquet or CSV tables)")?;
    if detect_mode {
        detect(&dir)
    } else {
        floor(&dir)
    }
}
