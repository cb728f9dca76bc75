//! The shipped default lexicon (phrases per signal) and its overrides from the policies file.

use std::collections::BTreeMap;

use super::vocabulary::Signal;

/// `[lexicon]` (replace a signal's phrases) and `[lexicon.extend]` (add to them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LexiconConfig {
    pub overrides: BTreeMap<Signal, Vec<String>>,
    pub extend: BTreeMap<Signal, Vec<String>>,
}

/// The default phrases for one signal.
pub fn default_phrases(signal: Signal) -> &'static [&'static str] {
    todo!("issue 3: {signal}")
}
