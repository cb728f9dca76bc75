//! Signals: the vocabulary, the default lexicon, and detection (tags, text, or both) that turns
//! every prospect message into a compact signal set, once, before any policy runs.

pub mod detect;
pub mod learned;
pub mod lexicon;
pub mod vocabulary;

pub use vocabulary::{Guard, Signal, SignalSet, Situation};

/// Where signals come from (policies.md, `signal_source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SignalSource {
    #[default]
    Auto,
    Tags,
    Text,
    Both,
}

impl SignalSource {
    pub fn parse(s: &str) -> Option<SignalSource> {
        match s {
            "auto" => Some(SignalSource::Auto),
            "tags" => Some(SignalSource::Tags),
            "text" => Some(SignalSource::Text),
            "both" => Some(SignalSource::Both),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            SignalSource::Auto => "auto",
            SignalSource::Tags => "tags",
            SignalSource::Text => "text",
            SignalSource::Both => "both",
        }
    }
}

/// Which detector reads text (`detector` / `--detector`, docs/signals.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DetectorKind {
    /// The phrase lexicon alone.
    Lexicon,
    /// The learned model alone.
    Model,
    /// The model's signals, and the lexicon's matches the model finds plausible (its
    /// per-signal gate); the user's own `[lexicon]` phrases count as written.
    #[default]
    Ensemble,
}

impl DetectorKind {
    pub fn parse(s: &str) -> Option<DetectorKind> {
        match s {
            "lexicon" => Some(DetectorKind::Lexicon),
            "model" => Some(DetectorKind::Model),
            "ensemble" => Some(DetectorKind::Ensemble),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::Lexicon => "lexicon",
            DetectorKind::Model => "model",
            DetectorKind::Ensemble => "ensemble",
        }
    }
}
