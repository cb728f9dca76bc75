//! The floor of `handoff report` at scale: what any program must at least do with the same
//! data. Polars reads the three Parquet tables whole (every column), then ONE multi-pattern
//! (Aho-Corasick, ASCII case-insensitive, overlapping) pass runs over every message text with
//! the default lexicon. `scripts/bench.sh` compares the report's time against this.
//!
//! Usage: `cargo run --release --example floor -- DATA_DIR [--detector]` (a folder written by
//! `handoff generate --format parquet`). Prints one line of `key=value` figures.
//!
//! With `--detector`, after the floor it also times `handoff`'s own `Detector` (the one
//! `report` uses for signals from text: normalisation, the automaton, word boundaries) on one
//! thread over every prospect message's text, and prints its throughput per core; that time
//! is not part of the floor.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use anyhow::Context;
use handoff::signals::detect::Detector;
use handoff::signals::lexicon::{Lexicon, LexiconConfig};
use handoff::signals::Signal;
use polars::prelude::*;

fn read_table(dir: &Path, name: &str) -> anyhow::Result<DataFrame> {
    let path = dir.join(format!("{name}.parquet"));
    let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    anyhow::Context::with_context(ParquetReader::new(file).finish(), || {
        format!("reading {}", path.display())
    })
}

fn main() -> anyhow::Result<()> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .context("usage: floor DATA_DIR (a Parquet data folder)")?;
    let started = Instant::now();
    let conversations = read_table(&dir, "conversations")?;
    let messages = read_table(&dir, "messages")?;
    let outcomes = read_table(&dir, "outcomes")?;
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
    if std::env::args().skip(2).any(|a| a == "--detector") {
        time_detector(&messages)?;
    }
    Ok(())
}

/// Times `Detector::detect` on one thread over every prospect message's text.
fn time_detector(messages: &DataFrame) -> anyhow::Result<()> {
    let detector = Detector::new(&LexiconConfig::default())?;
    let text = messages.column("text")?.str()?;
    let sender = messages.column("sender")?.str()?;
    let prospect: Vec<&str> = text
        .iter()
        .zip(sender.iter())
        .filter(|(_, s)| *s == Some("prospect"))
        .filter_map(|(t, _)| t)
        .collect();
    let started = Instant::now();
    let mut with_signals = 0u64;
    for value in &prospect {
        with_signals += u64::from(!detector.detect(value).is_empty());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "detector_prospect_messages={} detector_with_signals={with_signals} \
         detector_secs={secs:.3} detector_messages_per_sec_per_core={:.0}",
        prospect.len(),
        prospect.len() as f64 / secs.max(1e-9)
    );
    Ok(())
}
