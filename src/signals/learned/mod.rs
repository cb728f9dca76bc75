//! The learned signal detector: word embeddings and hashed word and letter features, one
//! logistic classifier per signal, and a probability threshold per signal chosen by
//! cross-validation (docs/signals.md, "The learned detector").
//!
//! - embeddings.rs: the shipped GloVe table (int8);
//! - features.rs: text to features (no allocation per message once warmed up);
//! - model.rs: the weights, their file format, the logits;
//! - train.rs: labelled messages to a model, deterministically.
//!
//! Everything is offline and embedded in the binary: data/detector/glove-50d-int8.bin and
//! data/detector/model.bin (the latter produced by `handoff detector train` on the shipped
//! data, data/detector/README.md).

pub mod embeddings;
pub mod features;
pub mod model;
pub mod train;

use std::cell::RefCell;

use super::detect::{Detector, DetectorError};
use super::lexicon::LexiconConfig;
use embeddings::{Embeddings, EmbeddingsError, DIMS};
use features::{add_lexicon_features, extract, extract_with_names, Names, Scratch};
use model::{sigmoid, Model, ModelError, SIGNALS};

use super::vocabulary::{Signal, SignalSet};

/// The learned detector failed to load.
#[derive(Debug, thiserror::Error)]
pub enum LearnedError {
    #[error(transparent)]
    Embeddings(#[from] EmbeddingsError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the shipped lexicon: {0}")]
    Lexicon(String),
}

/// Everything the features of a message need: the embedding table and the shipped lexicon.
pub struct Featurizer {
    pub embeddings: &'static Embeddings,
    lexicon: Box<Detector>,
}

impl Featurizer {
    pub fn shipped() -> Result<Featurizer, LearnedError> {
        let embeddings = Embeddings::shipped()?;
        let lexicon = Detector::new(&LexiconConfig::default())
            .map_err(|e: DetectorError| LearnedError::Lexicon(e.to_string()))?;
        Ok(Featurizer { embeddings, lexicon: Box::new(lexicon) })
    }

    /// The features of `text` into `scratch.features`.
    pub fn extract(&self, text: &str, scratch: &mut Scratch) {
        extract(text, self.embeddings, scratch);
        add_lexicon_features(text, &self.lexicon, scratch, None);
    }

    /// What the shipped lexicon finds in `text`.
    pub fn lexicon_signals(&self, text: &str) -> SignalSet {
        self.lexicon.detect_lexicon(text)
    }

    /// `extract`, naming every sparse feature.
    pub fn extract_named(&self, text: &str, scratch: &mut Scratch, names: &mut Names) {
        extract_with_names(text, self.embeddings, scratch, Some(names));
        add_lexicon_features(text, &self.lexicon, scratch, Some(names));
    }
}

/// A model ready to score messages.
pub struct Learned {
    featurizer: Featurizer,
    model: Model,
    thresholds: [f32; SIGNALS],
    gates: [f32; SIGNALS],
}

/// What the model says of one message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// The signals whose probability reaches their threshold.
    pub found: SignalSet,
    /// The signals whose probability reaches their gate: those a lexicon match may add in
    /// the ensemble.
    pub plausible: SignalSet,
    /// Per signal (vocabulary order), the logit.
    pub logits: [f32; SIGNALS],
    /// What the shipped lexicon found (the model's lexicon features).
    pub lexicon: SignalSet,
}

impl Scores {
    /// The ensemble's signals given the lexicon's: the model's, and the lexicon's that the
    /// model finds plausible.
    pub fn ensemble(&self, lexicon: SignalSet) -> SignalSet {
        self.found.union(SignalSet(lexicon.0 & self.plausible.0))
    }

    pub fn probability(&self, signal: Signal) -> f32 {
        sigmoid(self.logits[signal.index()])
    }
}

thread_local! {
    /// Per-thread buffers, so that scoring allocates nothing per message.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Learned {
    /// The shipped model (data/detector/model.bin).
    pub fn shipped() -> Result<Learned, LearnedError> {
        Learned::new(Model::shipped()?.clone())
    }

    /// `model` with the shipped embedding table (refused when trained with another).
    pub fn new(model: Model) -> Result<Learned, LearnedError> {
        let featurizer = Featurizer::shipped()?;
        model.check_table(featurizer.embeddings)?;
        let thresholds = model.threshold_logits();
        let gates = model.gate_logits();
        Ok(Learned { featurizer, model, thresholds, gates })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Scores `text`.
    pub fn score(&self, text: &str) -> Scores {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.score_with(text, &mut scratch),
            // Re-entrance cannot happen (nothing here calls back); a fresh buffer if it did.
            Err(_) => self.score_with(text, &mut Scratch::default()),
        })
    }

    fn score_with(&self, text: &str, scratch: &mut Scratch) -> Scores {
        self.featurizer.extract(text, scratch);
        let mut logits = [0f32; SIGNALS];
        self.model.logits(&scratch.features, &mut logits);
        let mut found = SignalSet::EMPTY;
        let mut plausible = SignalSet::EMPTY;
        for s in Signal::ALL {
            if logits[s.index()] >= self.thresholds[s.index()] {
                found.insert(s);
            }
            if logits[s.index()] >= self.gates[s.index()] {
                plausible.insert(s);
            }
        }
        Scores { found, plausible, logits, lexicon: scratch.lexicon }
    }

    /// The features that weighed most for `signal` in `text`, strongest first (at most
    /// `top`), each with its contribution to the logit; the embedding part counts as one
    /// feature, "meaning".
    pub fn explain(&self, text: &str, signal: Signal, top: usize) -> Vec<(String, f32)> {
        let mut scratch = Scratch::default();
        let mut names = Names::new();
        self.featurizer.extract_named(text, &mut scratch, &mut names);
        let s = signal.index();
        let mut parts: Vec<(String, f32)> = Vec::new();
        for ((b, v), name) in scratch.features.sparse.iter().zip(names) {
            let w = self.model.sparse.get(*b as usize * SIGNALS + s).copied().unwrap_or(0.0);
            match parts.iter_mut().find(|(n, _)| *n == name) {
                Some(p) => p.1 += v * w,
                None => parts.push((name, v * w)),
            }
        }
        let dense: f32 =
            (0..DIMS).map(|d| self.model.dense[s * DIMS + d] * scratch.features.dense[d]).sum();
        parts.push(("meaning (word vectors)".into(), dense));
        if self.model.hidden.is_some() {
            // The hidden layer's part is no sum of single features: it counts as one.
            let part = self.model.hidden_logits(&scratch.features)[s];
            parts.push(("combinations (hidden layer)".into(), part));
        }
        // Strongest first; ties in name order, so the listing is deterministic.
        parts.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        parts.truncate(top);
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ensemble_takes_the_model_and_the_plausible_lexicon_matches() {
        let scores = Scores {
            found: SignalSet::of(&[Signal::Pricing]),
            plausible: SignalSet::of(&[Signal::Pricing, Signal::DemoRequest]),
            logits: [0.0; SIGNALS],
            lexicon: SignalSet::EMPTY,
        };
        let lexicon = SignalSet::of(&[Signal::DemoRequest, Signal::Competitor]);
        assert_eq!(
            scores.ensemble(lexicon),
            SignalSet::of(&[Signal::Pricing, Signal::DemoRequest])
        );
        assert_eq!(scores.ensemble(SignalSet::EMPTY), SignalSet::of(&[Signal::Pricing]));
    }

    #[test]
    fn the_shipped_model_scores_and_explains() {
        let learned = Learned::shipped().expect("the shipped model loads");
        let s = learned.score("how much would 40 seats cost us per month?");
        assert!(s.found.contains(Signal::Pricing), "{:?}", s.found);
        assert!(
            s.probability(Signal::Pricing) > learned.model().thresholds[Signal::Pricing.index()]
        );
        let why = learned.explain("how much would 40 seats cost us per month?", Signal::Pricing, 3);
        assert_eq!(why.len(), 3);
        assert!(why[0].1 >= why[1].1 && why[1].1 >= why[2].1, "{why:?}");
        // Scoring twice gives the same scores (the buffers are reused, not carried over).
        assert_eq!(learned.score("hi there"), learned.score("hi there"));
        assert!(
            learned.score("").found.is_empty()
                || learned.score("").found == learned.score(" ").found
        );
    }
}
