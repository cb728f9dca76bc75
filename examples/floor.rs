//! The floor of `handoff report` at scale: what any program must at least do with the same
//! data. Polars reads the three Parquet tables whole (every column), then ONE multi-pattern
//! (Aho-Corasick, ASCII case-insensitive, overlapping) pass runs over every message text with
//! the default lexicon. `scripts/bench.sh` compares the report's time against this.
//!
//! Usage: `cargo run --release --example floor -- DATA_DIR` (a folder written by
//! `handoff generate --format parquet`). Prints one line of `key=value` figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use anyhow::Context;
use handoff::signals::lexicon::Lexicon;
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
    Ok(())
}
