//! Detection: one multi-pattern pass over each prospect message's text, and the merge with
//! upstream tags according to `signal_source`.
//!
//! Every phrase of every signal goes into ONE Aho-Corasick automaton (ASCII case-insensitive,
//! standard match semantics, overlapping search), so a message costs one pass over its text
//! whatever the size of the lexicon, and carries every signal one of whose phrases it contains.
//! A match counts only on word boundaries: the characters just outside it must not be Unicode
//! alphanumeric (where the phrase itself starts or ends with one).
//!
//! Beside the lexicon, a `Detector` may hold the learned model (learned/): with
//! `DetectorKind::Model` only the model's signals count; with `Ensemble` (the default of every
//! command) the model's signals and the lexicon matches the model finds plausible (a gate per
//! signal), while a phrase the user added counts as written and a signal whose phrases the
//! user replaced is the lexicon's alone (`Detector::detect_detail`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rayon::prelude::*;

use super::learned::{Learned, LearnedError, Scores};
use super::lexicon::{DefaultLexiconError, Lexicon, LexiconConfig};
use super::vocabulary::{Signal, SignalSet};
use super::{DetectorKind, SignalSource};
use crate::model::{CompactMessages, Conversation, Dataset, Sender};

/// A lexicon that cannot be turned into a detector (exit 2: the lexicon comes from the
/// policies file; the shipped default is checked by a unit test).
#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    #[error(transparent)]
    DefaultLexicon(#[from] DefaultLexiconError),
    /// A blank phrase would match every message.
    #[error("the lexicon has a blank phrase for {0}")]
    BlankPhrase(Signal),
    /// The automaton has size limits that only an absurdly large lexicon reaches.
    #[error("the lexicon cannot be compiled: {0}")]
    Automaton(String),
    /// The shipped model or table does not load (a build problem, exit 1).
    #[error("the shipped detector model cannot be used: {0}")]
    ShippedModel(LearnedError),
    /// A `detector_model` file that cannot be used (exit 2).
    #[error("{path}: {source}")]
    Model { path: String, source: LearnedError },
}

/// Finds the lexicon's phrases in text: case-insensitive, on word boundaries, overlapping.
pub struct Detector {
    automaton: Option<AhoCorasick>,
    /// Per pattern id: its signal and whether its first / last character is a word character
    /// (only then does a boundary need checking on that side).
    patterns: Vec<PatternInfo>,
    /// Per pattern id, the phrase (for `--explain`).
    phrases: Vec<String>,
    kind: DetectorKind,
    /// Present unless `kind` is `Lexicon`.
    learned: Option<Learned>,
    /// The signals whose phrases `[lexicon]` replaces: the ensemble takes the lexicon alone
    /// for them (the model learned from the shipped phrases).
    replaced: SignalSet,
    /// No `[lexicon]` or `[lexicon.extend]`: the lexicon is the shipped one, the very one
    /// whose matches are the model's features, so the model's pass finds its signals too.
    shipped_lexicon: bool,
}

/// What each detector found in one message.
#[derive(Clone, Copy, Debug)]
pub struct Detection {
    pub lexicon: SignalSet,
    /// The model's scores, when the detector has a model.
    pub model: Option<Scores>,
    /// What the detector's kind makes of the two.
    pub found: SignalSet,
}

#[derive(Clone, Copy, Debug)]
struct PatternInfo {
    signal: Signal,
    word_start: bool,
    word_end: bool,
    /// Written by the user (`[lexicon]` or `[lexicon.extend]`), not a shipped phrase.
    user: bool,
}

impl Detector {
    /// The lexicon alone: the shipped default lexicon with `config`'s overrides and
    /// extensions.
    pub fn new(config: &LexiconConfig) -> Result<Detector, DetectorError> {
        let mut detector = Detector::compile(Lexicon::shipped()?, config)?;
        detector.shipped_lexicon = config.overrides.is_empty() && config.extend.is_empty();
        Ok(detector)
    }

    /// The detector `kind` with the lexicon of `config` and `learned` (`None`: the shipped
    /// model), which is not loaded for `Lexicon`.
    pub fn with_kind(
        config: &LexiconConfig,
        kind: DetectorKind,
        learned: Option<Learned>,
    ) -> Result<Detector, DetectorError> {
        let mut detector = Detector::new(config)?;
        detector.kind = kind;
        if kind != DetectorKind::Lexicon {
            detector.learned = Some(match learned {
                Some(l) => l,
                None => Learned::shipped().map_err(DetectorError::ShippedModel)?,
            });
        }
        Ok(detector)
    }

    /// Loads the model file `path` (`detector_model`).
    pub fn load_model(path: &std::path::Path) -> Result<Learned, DetectorError> {
        let error = |source| DetectorError::Model { path: path.display().to_string(), source };
        let bytes = std::fs::read(path).map_err(|e| {
            error(LearnedError::Model(super::learned::model::ModelError::Format(format!(
                "cannot be read: {e}"
            ))))
        })?;
        let model = super::learned::model::Model::from_bytes(&bytes)
            .map_err(|e| error(LearnedError::Model(e)))?;
        Learned::new(model).map_err(error)
    }

    pub fn kind(&self) -> DetectorKind {
        self.kind
    }

    /// The model, when the detector has one.
    pub fn learned(&self) -> Option<&Learned> {
        self.learned.as_ref()
    }

    /// The signals of `text`: the lexicon's, the model's or both, as the kind says.
    pub fn detect(&self, text: &str) -> SignalSet {
        match (self.kind, &self.learned) {
            // The model alone needs no lexicon pass.
            (DetectorKind::Model, Some(l)) => l.score(text).found,
            _ => self.detect_detail(text).found,
        }
    }

    /// Both detectors' findings on `text` (for `handoff signals`).
    ///
    /// The ensemble takes the model's signals and the lexicon matches the model finds
    /// plausible (its gate); but the user's own lexicon keeps working as written: a match of a
    /// phrase the user added counts whatever the model says, and for a signal whose phrases
    /// `[lexicon]` replaces, the lexicon alone decides.
    pub fn detect_detail(&self, text: &str) -> Detection {
        let model = self.learned.as_ref().map(|l| l.score(text));
        let (lexicon, user) = match &model {
            // One pass of the automaton instead of two (a third of the ensemble's time).
            Some(m) if self.shipped_lexicon => (m.lexicon, SignalSet::EMPTY),
            _ => self.detect_lexicon_split(text),
        };
        let found = match (self.kind, model) {
            (DetectorKind::Lexicon, _) | (_, None) => lexicon,
            (DetectorKind::Model, Some(m)) => m.found,
            (DetectorKind::Ensemble, Some(m)) => {
                let gated = m.ensemble(lexicon);
                let kept = SignalSet(gated.0 & !self.replaced.0);
                kept.union(SignalSet(lexicon.0 & self.replaced.0)).union(user)
            }
        };
        Detection { lexicon, model, found }
    }

    /// The lexicon phrases of `signal` found in `text`, in the order they occur.
    pub fn matched_phrases(&self, text: &str, signal: Signal) -> Vec<&str> {
        let mut out = Vec::new();
        self.for_each_match(text, |id| {
            if let (Some(info), Some(phrase)) = (self.patterns.get(id), self.phrases.get(id)) {
                if info.signal == signal && !out.contains(&phrase.as_str()) {
                    out.push(phrase.as_str());
                }
            }
            true
        });
        out
    }

    /// Compiles `defaults` with `config`'s overrides and extensions.
    pub fn compile(defaults: &Lexicon, config: &LexiconConfig) -> Result<Detector, DetectorError> {
        let mut phrases = Vec::new();
        let mut patterns = Vec::new();
        let mut replaced = SignalSet::EMPTY;
        for signal in Signal::ALL {
            // The first `shipped` phrases are the defaults; the rest are the user's.
            let shipped = if config.overrides.contains_key(&signal) {
                replaced.insert(signal);
                0
            } else {
                defaults.phrases(signal).len()
            };
            for (k, phrase) in config.phrases(defaults, signal).into_iter().enumerate() {
                let phrase = normalize(&phrase);
                let (Some(first), Some(last)) = (phrase.chars().next(), phrase.chars().last())
                else {
                    return Err(DetectorError::BlankPhrase(signal));
                };
                patterns.push(PatternInfo {
                    signal,
                    word_start: first.is_alphanumeric(),
                    word_end: last.is_alphanumeric(),
                    user: k >= shipped,
                });
                phrases.push(phrase);
            }
        }
        // No phrase at all (every signal overridden with an empty list) is a valid lexicon
        // that finds nothing.
        let automaton = if phrases.is_empty() {
            None
        } else {
            let built = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&phrases)
                .map_err(|e| DetectorError::Automaton(e.to_string()))?;
            Some(built)
        };
        Ok(Detector {
            automaton,
            patterns,
            phrases,
            kind: DetectorKind::Lexicon,
            learned: None,
            replaced,
            shipped_lexicon: false,
        })
    }

    /// The signals whose phrases occur in `text`.
    pub fn detect_lexicon(&self, text: &str) -> SignalSet {
        self.detect_lexicon_split(text).0
    }

    /// The signals whose phrases occur in `text`, and those among them that a phrase of the
    /// user's (`[lexicon]`, `[lexicon.extend]`) found.
    fn detect_lexicon_split(&self, text: &str) -> (SignalSet, SignalSet) {
        let Some(automaton) = &self.automaton else {
            return (SignalSet::EMPTY, SignalSet::EMPTY);
        };
        let text = normalized(text);
        let text: &str = &text;
        let (mut found, mut user) = (SignalSet::EMPTY, SignalSet::EMPTY);
        for m in automaton.find_overlapping_iter(text) {
            let Some(info) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            let needed = !found.contains(info.signal) || (info.user && !user.contains(info.signal));
            if needed && on_boundaries(text, m.start(), m.end(), info) {
                found.insert(info.signal);
                if info.user {
                    user.insert(info.signal);
                }
            }
        }
        (found, user)
    }

    /// Calls `f` with the signal and phrase of every match on word boundaries (the learned
    /// model's lexicon features).
    pub(crate) fn for_each_phrase(&self, text: &str, mut f: impl FnMut(Signal, &str)) {
        self.for_each_match(text, |id| {
            if let (Some(info), Some(phrase)) = (self.patterns.get(id), self.phrases.get(id)) {
                f(info.signal, phrase);
            }
            true
        });
    }

    /// Calls `f` with the pattern id of every match on word boundaries, until it returns
    /// false.
    fn for_each_match(&self, text: &str, mut f: impl FnMut(usize) -> bool) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let text = normalized(text);
        let text: &str = &text;
        for m in automaton.find_overlapping_iter(text) {
            let id = m.pattern().as_usize();
            let Some(info) = self.patterns.get(id) else {
                continue;
            };
            if on_boundaries(text, m.start(), m.end(), info) && !f(id) {
                return;
            }
        }
    }
}

/// Whether the match `start..end` of `info`'s phrase lies on word boundaries of `text`.
fn on_boundaries(text: &str, start: usize, end: usize, info: &PatternInfo) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    let after = text.get(end..).and_then(|s| s.chars().next());
    let start_ok = !info.word_start || !before.is_some_and(char::is_alphanumeric);
    let end_ok = !info.word_end || !after.is_some_and(char::is_alphanumeric);
    start_ok && end_ok
}

/// `normalize`, without a copy when the text is ASCII with single spaces only: the automaton
/// ignores ASCII case, and ASCII word boundaries do not depend on it, so such a text matches
/// exactly as its normalised copy would. Most messages are such texts.
fn normalized(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut previous_space = true; // a leading space is trimmed by `normalize`
    for &b in bytes {
        // ASCII whitespace as `char::is_whitespace` sees it: tab to carriage return, space.
        let space = b == b' ' || (0x09..=0x0d).contains(&b);
        if !b.is_ascii() || (space && (b != b' ' || previous_space)) {
            return Cow::Owned(normalize(text));
        }
        previous_space = space;
    }
    if previous_space && !bytes.is_empty() {
        // A trailing space.
        return Cow::Owned(normalize(text));
    }
    Cow::Borrowed(text)
}

/// Lower case, typographic apostrophes folded onto `'`, runs of whitespace made one space:
/// applied to phrases and texts alike so "don’t\n need" matches "don't need".
fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    let mut in_space = false;
    for c in lowered.trim().chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        out.push(match c {
            '\u{2019}' | '\u{2018}' | '\u{02bc}' => '\'',
            other => other,
        });
    }
    out
}

/// What `handoff signals` says of one message's text, beside its signals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DetectionText {
    /// Per signal found in the text, which detector found it: `pricing:lexicon+model;...`.
    pub found_by: String,
    /// Per signal found in the text, the model's probability: `pricing:0.93;...` (empty
    /// without a model).
    pub probabilities: String,
    /// With `explain`: per signal, the lexicon phrases that matched and the three features
    /// that weighed most in the model, with their contributions to the log-odds.
    pub explain: String,
}

/// The `found_by`, `probabilities` and (when asked) `explain` columns for `text`.
pub fn describe_detection(detector: &Detector, text: &str, explain: bool) -> DetectionText {
    let d = detector.detect_detail(text);
    let mut out = DetectionText::default();
    let join = |acc: &mut String, item: String| {
        if !acc.is_empty() {
            acc.push(';');
        }
        acc.push_str(&item);
    };
    for signal in d.found.iter() {
        let by_lexicon = d.lexicon.contains(signal) && detector.kind() != DetectorKind::Model;
        let by_model = d.model.is_some_and(|m| m.found.contains(signal));
        let by = match (by_lexicon, by_model) {
            (true, true) => "lexicon+model",
            (true, false) => "lexicon",
            _ => "model",
        };
        join(&mut out.found_by, format!("{}:{by}", signal.name()));
        if let Some(m) = d.model {
            join(&mut out.probabilities, format!("{}:{:.2}", signal.name(), m.probability(signal)));
        }
        if explain {
            let mut parts = Vec::new();
            if by_lexicon {
                let phrases = detector.matched_phrases(text, signal);
                parts.push(format!("lexicon \"{}\"", phrases.join("\", \"")));
            }
            if let (true, Some(learned)) = (by_model, detector.learned()) {
                let top = learned.explain(text, signal, 3);
                let listed: Vec<String> =
                    top.iter().map(|(name, w)| format!("{name} {w:+.2}")).collect();
                parts.push(format!("model {}", listed.join(", ")));
            }
            join(&mut out.explain, format!("{}: {}", signal.name(), parts.join("; ")));
        }
    }
    out
}

/// Where one message's signals came from (the `source` column of `handoff signals`).
///
/// With `tags` every message is `Tags` and with `text` every message is `Text` (`auto`
/// resolves to one of them for the whole data set). With `both`, a message is `Both` when
/// both sources contributed a signal or when neither found any (both were consulted), `Tags`
/// when only its tags gave signals and `Text` when only its text did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Tags,
    Text,
    Both,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::Tags => "tags",
            Origin::Text => "text",
            Origin::Both => "both",
        }
    }
}

/// The signals of every prospect message of a data set.
#[derive(Clone, Debug, Default)]
pub struct DatasetSignals {
    /// Per conversation (in `Dataset::conversations` order), one set per prospect message in
    /// turn order.
    pub per_conversation: Vec<Vec<SignalSet>>,
    /// Aligned with `per_conversation`: where each message's set came from.
    pub origins: Vec<Vec<Origin>>,
    /// The source actually used (`auto` resolved to `tags` or `text`).
    pub source_used: Option<SignalSource>,
    /// Labels of the `signals` column outside the vocabulary, with counts (data quality).
    /// Counted on every message whose tags were read (prospect or not).
    pub unknown_labels: BTreeMap<String, u64>,
    /// Messages not written by the prospect that carried tags, which are ignored
    /// (only prospect messages carry signals).
    pub non_prospect_tagged_messages: u64,
}

/// The signals of one conversation's prospect messages, with their origins.
pub struct ConversationSignals {
    /// One per prospect message, in turn order.
    pub sets: Vec<SignalSet>,
    pub origins: Vec<Origin>,
    pub unknown_labels: BTreeMap<String, u64>,
    pub non_prospect_tagged: u64,
}

/// The source `auto` resolves to for `ds` (`tags` when its messages have a `signals` column).
pub fn resolve_source(ds: &Dataset, source: SignalSource) -> SignalSource {
    match source {
        SignalSource::Auto if ds.columns.signals => SignalSource::Tags,
        SignalSource::Auto => SignalSource::Text,
        other => other,
    }
}

impl DatasetSignals {
    /// Empty signals for the source actually used (`resolve_source`); conversations are then
    /// added in order with `add`.
    pub fn new(used: SignalSource) -> DatasetSignals {
        DatasetSignals { source_used: Some(used), ..DatasetSignals::default() }
    }

    /// Adds the next conversation's counts; its sets and origins too when `keep_sets`.
    pub fn add(&mut self, conv: ConversationSignals, keep_sets: bool) {
        for (label, n) in conv.unknown_labels {
            *self.unknown_labels.entry(label).or_insert(0) += n;
        }
        self.non_prospect_tagged_messages += conv.non_prospect_tagged;
        if keep_sets {
            self.per_conversation.push(conv.sets);
            self.origins.push(conv.origins);
        }
    }
}

/// The signals of one conversation kept as compact messages (`Dataset::compact`), whose
/// text was not read: under `text` or `both` its text contributes no signal.
pub fn compact_signals(compact: &CompactMessages, used: SignalSource) -> ConversationSignals {
    let reads_tags = matches!(used, SignalSource::Tags | SignalSource::Both);
    let mut out = ConversationSignals {
        sets: vec![],
        origins: vec![],
        unknown_labels: BTreeMap::new(),
        non_prospect_tagged: 0,
    };
    if reads_tags {
        for label in &compact.unknown_tags {
            *out.unknown_labels.entry(label.clone()).or_insert(0) += 1;
        }
    }
    let mut sorted: Vec<_>;
    let messages: &mut dyn Iterator<Item = _> = if compact.messages.is_sorted_by_key(|m| m.turn) {
        &mut compact.messages.iter()
    } else {
        sorted = compact.messages.iter().collect();
        sorted.sort_by_key(|m| m.turn);
        &mut sorted.into_iter()
    };
    for m in messages {
        if m.sender != Sender::Prospect {
            if reads_tags && m.tagged {
                out.non_prospect_tagged += 1;
            }
            continue;
        }
        let tags = if reads_tags { m.tags } else { SignalSet::EMPTY };
        out.sets.push(tags);
        out.origins.push(origin(used, tags, SignalSet::EMPTY));
    }
    out
}

/// Where a message's signals came from, given those of its tags and of its text.
fn origin(used: SignalSource, tags: SignalSet, text: SignalSet) -> Origin {
    match used {
        SignalSource::Tags => Origin::Tags,
        SignalSource::Text | SignalSource::Auto => Origin::Text,
        SignalSource::Both => match (tags.is_empty(), text.is_empty()) {
            (false, true) => Origin::Tags,
            (true, false) => Origin::Text,
            _ => Origin::Both,
        },
    }
}

/// Signals of every prospect message: `auto` reads tags when the messages table has a
/// `signals` column and text otherwise. Parallel over conversations; the result is the same
/// for any thread count.
pub fn detect_dataset(ds: &Dataset, source: SignalSource, detector: &Detector) -> DatasetSignals {
    let used = resolve_source(ds, source);
    let per_conv: Vec<ConversationSignals> = if ds.compact.is_empty() {
        ds.conversations.par_iter().map(|c| conversation_signals(c, used, detector)).collect()
    } else {
        ds.compact.par_iter().map(|c| compact_signals(c, used)).collect()
    };
    let mut out = DatasetSignals::new(used);
    for conv in per_conv {
        out.add(conv, true);
    }
    out
}

/// The signals of one conversation's prospect messages (whole messages).
pub fn conversation_signals(
    conv: &Conversation,
    used: SignalSource,
    detector: &Detector,
) -> ConversationSignals {
    let reads_tags = matches!(used, SignalSource::Tags | SignalSource::Both);
    let reads_text = matches!(used, SignalSource::Text | SignalSource::Both);
    let mut out = ConversationSignals {
        sets: vec![],
        origins: vec![],
        unknown_labels: BTreeMap::new(),
        non_prospect_tagged: 0,
    };
    let mut messages: Vec<_> = conv.messages.iter().collect();
    messages.sort_by_key(|m| m.turn);
    for m in messages {
        let tags = if reads_tags {
            parse_tags(&m.tags, &mut out.unknown_labels)
        } else {
            SignalSet::EMPTY
        };
        if m.sender != Sender::Prospect {
            if reads_tags && !m.tags.is_empty() {
                out.non_prospect_tagged += 1;
            }
            continue;
        }
        let text = if reads_text { detector.detect(&m.text) } else { SignalSet::EMPTY };
        out.sets.push(tags.union(text));
        out.origins.push(origin(used, tags, text));
    }
    out
}

/// Maps raw labels onto the vocabulary; unknown ones are counted in `unknown`.
fn parse_tags(tags: &[String], unknown: &mut BTreeMap<String, u64>) -> SignalSet {
    let mut set = SignalSet::EMPTY;
    for tag in tags {
        let label = tag.trim().to_lowercase();
        if label.is_empty() {
            continue;
        }
        match Signal::parse(&label) {
            Some(signal) => set.insert(signal),
            None => *unknown.entry(label).or_insert(0) += 1,
        }
    }
    set
}

/// True positives, false positives and false negatives of one signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalCounts {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
}

impl SignalCounts {
    /// Precision, `None` when nothing was detected.
    pub fn precision(&self) -> Option<f64> {
        let detected = self.tp + self.fp;
        (detected > 0).then(|| self.tp as f64 / detected as f64)
    }
    /// Recall, `None` when nothing was expected.
    pub fn recall(&self) -> Option<f64> {
        let expected = self.tp + self.fn_;
        (expected > 0).then(|| self.tp as f64 / expected as f64)
    }
}

/// Compares the detector with labelled texts: per signal, in vocabulary order.
pub fn evaluate<T: AsRef<str>>(
    detector: &Detector,
    labelled: &[(T, SignalSet)],
) -> Vec<(Signal, SignalCounts)> {
    let mut counts = [SignalCounts::default(); Signal::ALL.len()];
    for (text, expected) in labelled {
        let found = detector.detect(text.as_ref());
        for signal in Signal::ALL {
            let c = &mut counts[signal.index()];
            match (found.contains(signal), expected.contains(signal)) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => {}
            }
        }
    }
    Signal::ALL.iter().map(|s| (*s, counts[s.index()])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ColumnPresence, Message};

    fn default_detector() -> Detector {
        Detector::new(&LexiconConfig::default()).expect("the shipped lexicon compiles")
    }

    #[test]
    fn the_ensemble_reuses_the_models_lexicon_pass_only_for_the_shipped_lexicon() {
        let texts = [
            "Can I talk to a human? What does the enterprise plan cost, is it SOC 2 compliant?",
            "our capital is rapid",
            "we use Drift today, can we get a demo next Tuesday at 3?",
            "",
        ];
        let ensemble = Detector::with_kind(&LexiconConfig::default(), DetectorKind::Ensemble, None)
            .expect("loads");
        for t in texts {
            assert_eq!(ensemble.detect_detail(t).lexicon, default_detector().detect_lexicon(t));
        }
        // With `[lexicon.extend]` the user's phrase is found by the lexicon's own pass.
        let mut config = LexiconConfig::default();
        config.extend.insert(Signal::Competitor, vec!["acme widgets".into()]);
        let extended = Detector::with_kind(&config, DetectorKind::Ensemble, None).expect("loads");
        let d = extended.detect_detail("we run Acme Widgets");
        assert!(d.lexicon.contains(Signal::Competitor));
        assert!(d.found.contains(Signal::Competitor));
    }

    #[test]
    fn matches_case_insensitively_on_word_boundaries() {
        let d = default_detector();
        assert!(d.detect("Can I TALK TO A HUMAN please").contains(Signal::HumanRequest));
        // `api` inside `capital` or `rapid` is not a match.
        assert!(!d.detect("our capital is rapid").contains(Signal::Technical));
        assert!(d.detect("Do you have an API?").contains(Signal::Technical));
        assert!(d.detect("(api)").contains(Signal::Technical));
        // Unicode letters count as word characters.
        assert!(!d.detect("ädemo").contains(Signal::DemoRequest));
        assert!(d.detect("could we get a demo?").contains(Signal::DemoRequest));
    }

    #[test]
    fn overlapping_phrases_give_every_signal() {
        let d = default_detector();
        let set = d.detect("What does the enterprise plan cost, and is it SOC 2 compliant?");
        assert!(set.contains(Signal::Pricing));
        assert!(set.contains(Signal::CustomPricing));
        assert!(set.contains(Signal::SecurityReview));
    }

    #[test]
    fn the_copy_free_path_matches_the_normalised_copy() {
        let d = default_detector();
        for text in [
            "",
            " ",
            "Can I TALK TO A HUMAN please",
            "can i talk  to a human",
            " talk to a human ",
            "talk to a\thuman",
            "talk to a human\n",
            "We need SOC 2 and an API",
            "ÄDEMO demo",
            "we don’t need it",
        ] {
            assert_eq!(
                d.detect(text),
                d.detect(&normalize(text)),
                "{text:?} and its normalised copy differ"
            );
            if let Cow::Borrowed(b) = normalized(text) {
                assert_eq!(b.to_ascii_lowercase(), normalize(text), "{text:?}");
            }
        }
        assert!(matches!(normalized("a plain text"), Cow::Borrowed(_)));
        assert!(matches!(normalized("two  spaces"), Cow::Owned(_)));
    }

    #[test]
    fn typographic_apostrophes_and_whitespace_are_folded() {
        let d = default_detector();
        assert!(d.detect("we don’t\n  need this").contains(Signal::ObjectionNeed));
    }

    #[test]
    fn overrides_replace_and_extensions_add() {
        let mut config = LexiconConfig::default();
        config.overrides.insert(Signal::Competitor, vec!["Acme CRM".into()]);
        config.extend.insert(Signal::Pricing, vec!["what's the damage".into()]);
        let d = Detector::new(&config).expect("compiles");
        assert!(d.detect("we run acme crm today").contains(Signal::Competitor));
        assert!(!d.detect("we looked at salesloft").contains(Signal::Competitor));
        assert!(d.detect("so what's the damage?").contains(Signal::Pricing));
        assert!(d.detect("how much is it").contains(Signal::Pricing));
        config.overrides.insert(Signal::Competitor, vec![]);
        let d = Detector::new(&config).expect("compiles");
        assert!(!d.detect("acme crm").contains(Signal::Competitor));
    }

    #[test]
    fn a_lexicon_that_cannot_be_built_is_an_error() {
        let mut config = LexiconConfig::default();
        config.extend.insert(Signal::Pricing, vec!["cost".into(), " \n ".into()]);
        let err = Detector::new(&config).err();
        assert!(matches!(err, Some(DetectorError::BlankPhrase(Signal::Pricing))), "{err:?}");
        let broken = Lexicon::parse("[lexicon]\npricing = [\"cost\"]\n");
        assert!(broken.is_err());
        let from_broken = broken.map_err(DetectorError::from).err();
        assert!(matches!(from_broken, Some(DetectorError::DefaultLexicon(_))));
    }

    #[test]
    fn every_signal_has_a_sizeable_default_lexicon() {
        for s in Signal::ALL {
            let phrases = Lexicon::shipped().map(|l| l.phrases(s)).unwrap_or_default();
            let n = phrases.len();
            assert!(n >= 15, "{s} has only {n} phrases");
            for p in phrases {
                assert_eq!(*p, normalize(p), "phrase `{p}` of {s} is not normalized");
            }
        }
    }

    fn message(turn: i64, sender: Sender, text: &str, tags: &[&str]) -> Message {
        Message {
            turn,
            sent_at: 0,
            sender,
            participant: None,
            text: text.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            qualified: 0,
            handoff_probability: None,
        }
    }

    fn dataset(has_tags: bool) -> Dataset {
        let conv = Conversation {
            id: "c1".into(),
            messages: vec![
                message(1, Sender::Ai, "want a demo?", &["pricing"]),
                message(2, Sender::Prospect, "how much is it?", &["demo_request", "Bogus"]),
                message(3, Sender::Prospect, "ok", &["objection:weird"]),
                message(4, Sender::Prospect, "talk to a human", &[]),
            ],
            ..Conversation::default()
        };
        Dataset {
            conversations: vec![conv],
            columns: ColumnPresence { signals: has_tags, ..ColumnPresence::default() },
            ..Dataset::default()
        }
    }

    #[test]
    fn sources_resolve_and_merge() {
        let d = default_detector();
        let set = |labels: &[Signal]| SignalSet::of(labels);

        let tags = detect_dataset(&dataset(true), SignalSource::Auto, &d);
        assert_eq!(tags.source_used, Some(SignalSource::Tags));
        assert_eq!(
            tags.per_conversation[0],
            vec![set(&[Signal::DemoRequest]), set(&[Signal::ObjectionOther]), SignalSet::EMPTY]
        );
        assert_eq!(tags.origins[0], vec![Origin::Tags; 3]);
        assert_eq!(tags.unknown_labels.get("bogus"), Some(&1));
        assert_eq!(tags.non_prospect_tagged_messages, 1);

        let text = detect_dataset(&dataset(false), SignalSource::Auto, &d);
        assert_eq!(text.source_used, Some(SignalSource::Text));
        assert_eq!(
            text.per_conversation[0],
            vec![set(&[Signal::Pricing]), SignalSet::EMPTY, set(&[Signal::HumanRequest])]
        );
        assert!(text.unknown_labels.is_empty());

        let both = detect_dataset(&dataset(true), SignalSource::Both, &d);
        assert_eq!(
            both.per_conversation[0],
            vec![
                set(&[Signal::DemoRequest, Signal::Pricing]),
                set(&[Signal::ObjectionOther]),
                set(&[Signal::HumanRequest])
            ]
        );
        assert_eq!(both.origins[0], vec![Origin::Both, Origin::Tags, Origin::Text]);
    }

    #[test]
    fn evaluate_counts_per_signal() {
        let d = default_detector();
        let labelled = [
            ("how much does it cost", SignalSet::of(&[Signal::Pricing])),
            ("book a demo", SignalSet::of(&[Signal::Pricing])),
        ];
        let counts = evaluate(&d, &labelled);
        let pricing = counts.iter().find(|(s, _)| *s == Signal::Pricing).unwrap().1;
        assert_eq!(pricing, SignalCounts { tp: 1, fp: 0, fn_: 1 });
        let demo = counts.iter().find(|(s, _)| *s == Signal::DemoRequest).unwrap().1;
        assert_eq!(demo, SignalCounts { tp: 0, fp: 1, fn_: 0 });
        assert_eq!(pricing.recall(), Some(0.5));
        assert_eq!(demo.precision(), Some(0.0));
    }
}
