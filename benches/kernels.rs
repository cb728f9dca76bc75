//! Criterion benchmarks of the three kernels of `handoff report`, on the shipped data set
//! (data/: 2,000 generated conversations, data/policies.toml):
//!
//! - `signals/detect_text`: text detection with the default lexicon (throughput in messages);
//! - `replay/all_policies`: every named policy and sweep variant over every timeline
//!   (throughput in conversation-policy decisions); `replay/decide_each`: the same decisions
//!   one `decide` call each;
//! - `estimate/fit` and `estimate/evaluate`: fitting the models, and estimating one policy
//!   with its bootstrap intervals;
//! - `report/decisions_parquet`: encoding the decision table of every policy and sweep variant
//!   over the shipped conversations repeated 25 times (50,000 conversations, about 1.1 million
//!   rows; throughput in rows).
//!
//! Run with `cargo bench --bench kernels` (release settings). CI only type-checks this file
//! (`cargo clippy --all-targets`).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use handoff::analysis::observe;
use handoff::decisions::DecisionTable;
use handoff::estimate::{Estimation, EstimationConfig, EstimatorKind, Unit};
use handoff::ingest::{load, IngestOptions};
use handoff::model::{Dataset, Sender};
use handoff::policy::all_policies;
use handoff::policy::file::{load_policies, PoliciesFile};
use handoff::policy::Policy;
use handoff::replay::{build_timeline, decide, replay_all, Timeline};
use handoff::report::export::{DecisionsParquet, Exporter};
use handoff::report::ReportData;
use handoff::signals::detect::{detect_dataset, Detector};
use handoff::signals::SignalSource;

/// The shipped data set, its policies and its timelines (signals from tags, as `report`).
struct Fixture {
    dataset: Dataset,
    policies: PoliciesFile,
    timelines: Vec<Timeline>,
}

fn fixture() -> Fixture {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dataset = load(&root.join("data"), &IngestOptions::default()).expect("data/ loads");
    let policies = load_policies(&root.join("data/policies.toml")).expect("policies load");
    let detector = Detector::new(&policies.lexicon).expect("the lexicon compiles");
    let signals = detect_dataset(&dataset, SignalSource::Auto, &detector);
    let timelines = dataset
        .conversations
        .iter()
        .zip(&signals.per_conversation)
        .map(|(conv, sets)| build_timeline(conv, sets))
        .collect();
    Fixture { dataset, policies, timelines }
}

fn signal_detection(c: &mut Criterion, fx: &Fixture) {
    let detector = Detector::new(&fx.policies.lexicon).expect("the lexicon compiles");
    let texts: Vec<&str> = fx
        .dataset
        .conversations
        .iter()
        .flat_map(|conv| conv.messages.iter())
        .filter(|m| m.sender == Sender::Prospect)
        .map(|m| m.text.as_str())
        .collect();
    let mut group = c.benchmark_group("signals");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("detect_text", |b| {
        b.iter(|| texts.iter().map(|t| detector.detect(black_box(t)).0).sum::<u32>())
    });
    group.finish();
}

fn replay(c: &mut Criterion, fx: &Fixture) {
    let (policies, variants) = all_policies(&fx.policies);
    let every: Vec<&Policy> = policies.iter().chain(variants.iter().map(|v| &v.policy)).collect();
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements((every.len() * fx.timelines.len()) as u64));
    group.bench_function("all_policies", |b| {
        b.iter(|| replay_all(black_box(&every), black_box(&fx.timelines)))
    });
    // One `decide` per policy and conversation (the brief, the truth of `generate`, the
    // reference's points): no rule or per-timeline work shared between policies.
    group.bench_function("decide_each", |b| {
        b.iter(|| {
            every
                .iter()
                .flat_map(|p| fx.timelines.iter().map(move |tl| decide(black_box(p), tl)))
                .filter(|d| d.point.is_some())
                .count()
        })
    });
    group.finish();
}

fn estimation(c: &mut Criterion, fx: &Fixture) {
    let units: Vec<Unit> = fx
        .dataset
        .conversations
        .iter()
        .zip(&fx.timelines)
        .map(|(conversation, timeline)| Unit {
            conversation,
            timeline,
            observed: observe(conversation, 30, true),
            in_window: true,
        })
        .collect();
    let config = EstimationConfig {
        estimator: EstimatorKind::Dr,
        clip: 50.0,
        tolerance: 0,
        bootstrap: 200,
        seed: 42,
    };
    let (policies, _) = all_policies(&fx.policies);
    let framework = &policies[0];
    let decisions = replay_all(&[framework], &fx.timelines).remove(0);
    let mut group = c.benchmark_group("estimate");
    group.sample_size(10);
    group.bench_function("fit", |b| b.iter(|| Estimation::fit(black_box(&units), &config)));
    let fitted = Estimation::fit(&units, &config);
    group.bench_function("evaluate", |b| {
        b.iter(|| fitted.evaluate(black_box(&units), black_box(&decisions)))
    });
    group.finish();
}

fn decision_table(c: &mut Criterion, fx: &Fixture) {
    let (policies, variants) = all_policies(&fx.policies);
    let every: Vec<&Policy> = policies.iter().chain(variants.iter().map(|v| &v.policy)).collect();
    let names: Vec<&str> = every.iter().map(|p| p.name.as_str()).collect();
    let decisions = replay_all(&every, &fx.timelines);
    let copies = 25;
    let members: Vec<usize> = (0..copies).flat_map(|_| 0..fx.dataset.conversations.len()).collect();
    let table = DecisionTable::build(
        &fx.dataset.conversations,
        &fx.timelines,
        &members,
        &names,
        &decisions,
    );
    let data = ReportData { decisions: table, ..ReportData::default() };
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.throughput(Throughput::Elements(data.decisions.len() as u64));
    group.bench_function("decisions_parquet", |b| {
        b.iter(|| DecisionsParquet.render(black_box(&data)).expect("encodes"))
    });
    group.finish();
}

fn kernels(c: &mut Criterion) {
    let fx = fixture();
    signal_detection(c, &fx);
    replay(c, &fx);
    estimation(c, &fx);
    decision_table(c, &fx);
}

criterion_group!(benches, kernels);
criterion_main!(benches);
