//! Detection: one multi-pattern pass over each prospect message's text, and the merge with
//! upstream tags according to `signal_source`.

use std::collections::BTreeMap;

use super::lexicon::LexiconConfig;
use super::vocabulary::SignalSet;
use super::SignalSource;
use crate::model::Dataset;

/// Finds the lexicon's phrases in text: case-insensitive, on word boundaries, overlapping.
pub struct Detector {
    _private: (),
}

impl Detector {
    pub fn new(config: &LexiconConfig) -> Detector {
        todo!("issue 3: {config:?}")
    }

    pub fn detect(&self, text: &str) -> SignalSet {
        todo!("issue 3: {text}")
    }
}

/// Where one message's signals came from (the `source` column of `handoff signals`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Tags,
    Text,
    Both,
}

/// The signals of every prospect message of a data set.
#[derive(Clone, Debug, Default)]
pub struct DatasetSignals {
    /// Per conversation (in `Dataset::conversations` order), one set per prospect message in
    /// turn order.
    pub per_conversation: Vec<Vec<SignalSet>>,
    /// The source actually used (`auto` resolved to `tags` or `text`).
    pub source_used: Option<SignalSource>,
    /// Labels of the `signals` column outside the vocabulary, with counts (data quality).
    pub unknown_labels: BTreeMap<String, u64>,
}

pub fn detect_dataset(ds: &Dataset, source: SignalSource, detector: &Detector) -> DatasetSignals {
    let _ = detector;
    todo!("issue 3: {} {source:?}", ds.conversations.len())
}
