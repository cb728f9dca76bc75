//! The shared front of every command that runs policies: load the policies file, load and
//! validate the data, find the signals once, and reduce each conversation to a timeline.
//! Commands call `prepare` and then do only their own part.

use anyhow::Context;

use crate::cli::{CommonArgs, PolicyArgs};
use crate::ingest::{self, IngestOptions};
use crate::model::Dataset;
use crate::policy::file::{load_policies, PoliciesFile};
use crate::policy::{sweep, Policy, Variant};
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

/// Loads the policies file first (a bad file is a usage error, reported before any data is
/// read), then the data, then signals and timelines.
pub fn prepare(common: &CommonArgs, policy_args: &PolicyArgs) -> anyhow::Result<Prepared> {
    let policies = load_policies(&policy_args.policies)?;
    let source = policy_args.signal_source.or(policies.signal_source).unwrap_or_default();
    let dataset = load_dataset(common)?;
    let detector = Detector::new(&policies.lexicon);
    let signals = detect_dataset(&dataset, source, &detector);
    let timelines = dataset
        .conversations
        .iter()
        .zip(&signals.per_conversation)
        .map(|(conv, sets)| build_timeline(conv, sets))
        .collect();
    Ok(Prepared { policies, dataset, signals, timelines, source })
}

/// Loads and validates the data folder named by `--data`.
pub fn load_dataset(common: &CommonArgs) -> anyhow::Result<Dataset> {
    if !(0.0..=1.0).contains(&common.max_rejected) {
        return Err(crate::error::UsageError(format!(
            "--max-rejected must be a fraction between 0 and 1, found {}",
            common.max_rejected
        ))
        .into());
    }
    let options = IngestOptions { max_rejected: common.max_rejected };
    ingest::load(&common.data, &options)
        .with_context(|| format!("reading the data set in {}", common.data.display()))
}

/// The named policies followed by every sweep variant, in file order.
pub fn all_policies(file: &PoliciesFile) -> (Vec<Policy>, Vec<Variant>) {
    let mut variants = Vec::new();
    for (index, sw) in file.sweeps.iter().enumerate() {
        if let Some(base) = file.policies.iter().find(|p| p.name == sw.policy) {
            variants.extend(sweep::expand(index, sw, base));
        }
    }
    (file.policies.clone(), variants)
}
