//! The lexicon: the phrases that mark each signal. The shipped default is data
//! (`lexicon.toml`, embedded in the binary); a policies file's `[lexicon]` table replaces a
//! signal's phrases and `[lexicon.extend]` adds to them. One reader, `read_lexicon_table`,
//! serves both: the shipped file has the shape of a policies file's `[lexicon]` table.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::LazyLock;

use toml::de::{DeString, DeTable, DeValue};
use toml::Spanned;

use super::vocabulary::Signal;

/// The shipped default lexicon, embedded so the binary needs no file beside it.
const SHIPPED_TOML: &str = include_str!("lexicon.toml");

/// The shipped lexicon, parsed on first use.
static SHIPPED: LazyLock<Result<Lexicon, DefaultLexiconError>> =
    LazyLock::new(|| Lexicon::parse(SHIPPED_TOML));

/// `[lexicon]` (replace a signal's phrases) and `[lexicon.extend]` (add to them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LexiconConfig {
    pub overrides: BTreeMap<Signal, Vec<String>>,
    pub extend: BTreeMap<Signal, Vec<String>>,
}

impl LexiconConfig {
    /// The phrases of `signal` after `[lexicon]` and `[lexicon.extend]`: the override (or the
    /// default) followed by the extension.
    pub fn phrases(&self, defaults: &Lexicon, signal: Signal) -> Vec<String> {
        let mut phrases: Vec<String> = match self.overrides.get(&signal) {
            Some(own) => own.clone(),
            None => defaults.phrases(signal).to_vec(),
        };
        if let Some(extra) = self.extend.get(&signal) {
            phrases.extend(extra.iter().cloned());
        }
        phrases
    }
}

/// The phrases of every signal of the vocabulary, in the order the lexicon lists them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lexicon {
    phrases: BTreeMap<Signal, Vec<String>>,
}

impl Lexicon {
    /// The shipped default lexicon (`src/signals/lexicon.toml`).
    pub fn shipped() -> Result<&'static Lexicon, DefaultLexiconError> {
        SHIPPED.as_ref().map_err(Clone::clone)
    }

    /// Reads a lexicon file: a `[lexicon]` table listing every signal, nothing else.
    pub fn parse(text: &str) -> Result<Lexicon, DefaultLexiconError> {
        let invalid = |key: &str, message: String| DefaultLexiconError { key: key.into(), message };
        let document = DeTable::parse(text)
            .map_err(|e| invalid("(syntax)", e.message().trim().to_string()))?;
        let mut config = LexiconConfig::default();
        for (key, value) in entries_in_file_order(document.get_ref()) {
            if key.get_ref() != "lexicon" {
                return Err(invalid(
                    key.get_ref(),
                    "unknown top-level key (expected [lexicon])".into(),
                ));
            }
            let table = table(value, "lexicon").map_err(|e| invalid(&e.key, e.message))?;
            config = read_lexicon_table(table).map_err(|e| invalid(&e.key, e.message))?;
        }
        if !config.extend.is_empty() {
            return Err(invalid(
                "lexicon.extend",
                "a default lexicon has nothing to extend".into(),
            ));
        }
        if let Some(missing) = Signal::ALL.iter().find(|s| !config.overrides.contains_key(s)) {
            return Err(invalid(
                &format!("lexicon.{missing}"),
                "missing: the default lexicon lists every signal".into(),
            ));
        }
        Ok(Lexicon { phrases: config.overrides })
    }

    /// The phrases of `signal` (every signal has a list; see `parse`).
    pub fn phrases(&self, signal: Signal) -> &[String] {
        self.phrases.get(&signal).map(Vec::as_slice).unwrap_or_default()
    }
}

/// The shipped lexicon does not read (a build defect: a unit test reads it).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("the default lexicon (src/signals/lexicon.toml) is invalid: {key}: {message}")]
pub struct DefaultLexiconError {
    pub key: String,
    pub message: String,
}

/// A problem in a `[lexicon]` table: the key it is about, what is wrong, and the byte span of
/// the document it points at (the policies file turns the span into a line number).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct LexiconTableError {
    pub span: Range<usize>,
    pub key: String,
    pub message: String,
}

type Key<'i> = Spanned<DeString<'i>>;
type Value<'i> = Spanned<DeValue<'i>>;

/// Reads a `[lexicon]` table: a signal's list of phrases replaces its defaults, and a list in
/// `extend` is added to them. Entries are read in file order, so the first problem in the file
/// is the one reported; a blank phrase would match everywhere, so it is an error.
pub fn read_lexicon_table(lexicon: &DeTable<'_>) -> Result<LexiconConfig, LexiconTableError> {
    let mut config = LexiconConfig::default();
    for (k, v) in entries_in_file_order(lexicon) {
        if k.get_ref() == "extend" {
            for (ek, ev) in entries_in_file_order(table(v, "lexicon.extend")?) {
                let key = format!("lexicon.extend.{}", ek.get_ref());
                let signal = signal(ek, &key)?;
                config.extend.insert(signal, phrases(ev, &key)?);
            }
        } else {
            let key = format!("lexicon.{}", k.get_ref());
            let signal = signal(k, &key)?;
            config.overrides.insert(signal, phrases(v, &key)?);
        }
    }
    Ok(config)
}

/// A table's entries sorted by where their key appears in the document.
fn entries_in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<(&'a Key<'i>, &'a Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn type_error(value: &Value<'_>, key: &str, expected: &str) -> LexiconTableError {
    let found = value.get_ref().type_str();
    LexiconTableError {
        span: value.span(),
        key: key.into(),
        message: format!("expected {expected}, found {found}"),
    }
}

fn table<'a, 'i>(value: &'a Value<'i>, key: &str) -> Result<&'a DeTable<'i>, LexiconTableError> {
    value.get_ref().as_table().ok_or_else(|| type_error(value, key, "a table"))
}

fn signal(name: &Key<'_>, key: &str) -> Result<Signal, LexiconTableError> {
    Signal::parse_key(name.get_ref()).map_err(|message| LexiconTableError {
        span: name.span(),
        key: key.into(),
        message,
    })
}

fn phrases(value: &Value<'_>, key: &str) -> Result<Vec<String>, LexiconTableError> {
    let DeValue::Array(items) = value.get_ref() else {
        return Err(type_error(value, key, "an array"));
    };
    items
        .iter()
        .map(|item| {
            let phrase =
                item.get_ref().as_str().ok_or_else(|| type_error(item, key, "a string"))?;
            let trimmed = phrase.trim();
            if trimmed.is_empty() {
                return Err(LexiconTableError {
                    span: item.span(),
                    key: key.into(),
                    message: "a phrase must not be blank".into(),
                });
            }
            Ok(trimmed.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lexicon_parses_and_covers_every_signal() {
        let lexicon = Lexicon::shipped();
        assert!(lexicon.is_ok(), "{lexicon:?}");
        let Ok(lexicon) = lexicon else { return };
        for s in Signal::ALL {
            assert!(!lexicon.phrases(s).is_empty(), "{s} has no phrases");
        }
    }

    #[test]
    fn a_lexicon_file_must_list_every_signal_and_only_lexicon() {
        let err = Lexicon::parse("[lexicon]\npricing = [\"cost\"]\n").err();
        assert_eq!(err.map(|e| e.key), Some("lexicon.human_request".to_string()));
        let err = Lexicon::parse("[quality]\n").err();
        assert_eq!(err.map(|e| e.key), Some("quality".to_string()));
        let err = Lexicon::parse("[lexicon.extend]\npricing = [\"cost\"]\n").err();
        assert_eq!(err.map(|e| e.key), Some("lexicon.extend".to_string()));
        let err = Lexicon::parse("[lexicon\n").err();
        assert_eq!(err.map(|e| e.key), Some("(syntax)".to_string()));
    }

    #[test]
    fn overrides_replace_and_extensions_follow() {
        let defaults = Lexicon::parse(SHIPPED_TOML).unwrap_or_default();
        let mut config = LexiconConfig::default();
        config.overrides.insert(Signal::Competitor, vec!["acme crm".into()]);
        config.extend.insert(Signal::Competitor, vec!["rivalbot".into()]);
        config.extend.insert(Signal::Pricing, vec!["what's the damage".into()]);
        assert_eq!(config.phrases(&defaults, Signal::Competitor), ["acme crm", "rivalbot"]);
        let pricing = config.phrases(&defaults, Signal::Pricing);
        assert_eq!(pricing.len(), defaults.phrases(Signal::Pricing).len() + 1);
        assert_eq!(pricing.last().map(String::as_str), Some("what's the damage"));
    }
}
