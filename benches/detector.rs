//! Criterion benchmark of text detection per detector (docs/signals.md, "Speed"): the
//! lexicon, the learned model and the ensemble over every prospect message of the shipped
//! data set (data/: 2,000 generated conversations), on one thread, so the throughput is
//! prospect messages per second per core. The issue asks the ensemble for at least 200,000.
//!
//! Run with `cargo bench --bench detector` (release settings).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use handoff::ingest::{load, IngestOptions};
use handoff::model::Sender;
use handoff::signals::detect::Detector;
use handoff::signals::lexicon::LexiconConfig;
use handoff::signals::DetectorKind;

fn detection(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dataset = load(&root.join("data"), &IngestOptions::default()).expect("data/ loads");
    let texts: Vec<&str> = dataset
        .conversations
        .iter()
        .flat_map(|conv| conv.messages.iter())
        .filter(|m| m.sender == Sender::Prospect)
        .map(|m| m.text.as_str())
        .collect();
    let mut group = c.benchmark_group("detector");
    group.throughput(Throughput::Elements(texts.len() as u64));
    for kind in [DetectorKind::Lexicon, DetectorKind::Model, DetectorKind::Ensemble] {
        let detector = Detector::with_kind(&LexiconConfig::default(), kind, None)
            .expect("the shipped detector loads");
        group.bench_function(kind.name(), |b| {
            b.iter(|| texts.iter().map(|t| detector.detect(black_box(t)).0).sum::<u32>())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = detection
}
criterion_main!(benches);
