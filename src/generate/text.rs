//! Message text for the synthetic world: how a prospect message is put together from a
//! signal's phrasings, neutral small talk, openers and closers, and the AI's and the rep's
//! replies, names and company domains. The lists themselves are data (`phrasings.toml`,
//! embedded in the binary); this module holds the drawing logic. Pure: the caller passes the
//! RNG.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use rand::seq::IndexedRandom;
use rand::Rng;
use serde::Deserialize;

use crate::model::QUAL_FIELDS;
use crate::signals::vocabulary::Signal;

/// The shipped phrasings, embedded so the binary needs no file beside it.
const SHIPPED_TOML: &str = include_str!("phrasings.toml");

/// The shipped phrasings, parsed on first use.
static SHIPPED: LazyLock<Result<Phrasings, PhrasingsError>> =
    LazyLock::new(|| Phrasings::parse(SHIPPED_TOML));

/// The shipped phrasings do not read (a build defect: a unit test reads them).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("the generator's phrasings (src/generate/phrasings.toml) are invalid: {0}")]
pub struct PhrasingsError(String);

/// Every list the generator draws text from (see `phrasings.toml` for what each holds). The
/// order of each list matters: a draw picks an index.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phrasings {
    neutral: Vec<String>,
    openers: Vec<String>,
    closers: Vec<String>,
    ai_replies: Vec<String>,
    ai_connect: Vec<String>,
    human_replies: Vec<String>,
    first_names: Vec<String>,
    last_names: Vec<String>,
    company_first: Vec<String>,
    company_second: Vec<String>,
    /// Per qualification field (`QUAL_FIELDS`), the AI lines that go with capturing it.
    ai_qualification: BTreeMap<String, Vec<String>>,
    /// Per signal name, the prospect lines that carry it.
    signals: BTreeMap<String, Vec<String>>,
}

impl Phrasings {
    /// The shipped phrasings (`src/generate/phrasings.toml`).
    pub fn shipped() -> Result<&'static Phrasings, PhrasingsError> {
        SHIPPED.as_ref().map_err(Clone::clone)
    }

    /// Reads a phrasings file and checks that it has text for everything the generator draws:
    /// every list non-empty, every signal and every qualification field, nothing unknown.
    pub fn parse(text: &str) -> Result<Phrasings, PhrasingsError> {
        let phrasings: Phrasings =
            toml::from_str(text).map_err(|e| PhrasingsError(e.message().trim().to_string()))?;
        let lists = [
            ("neutral", &phrasings.neutral),
            ("openers", &phrasings.openers),
            ("closers", &phrasings.closers),
            ("ai_replies", &phrasings.ai_replies),
            ("ai_connect", &phrasings.ai_connect),
            ("human_replies", &phrasings.human_replies),
            ("first_names", &phrasings.first_names),
            ("last_names", &phrasings.last_names),
            ("company_first", &phrasings.company_first),
            ("company_second", &phrasings.company_second),
        ];
        if let Some((name, _)) = lists.iter().find(|(_, list)| list.is_empty()) {
            return Err(PhrasingsError(format!("`{name}` is empty")));
        }
        let signal_names: Vec<&str> = Signal::ALL.iter().map(|s| s.name()).collect();
        check_keys(&phrasings.signals, &signal_names, "signals")?;
        check_keys(&phrasings.ai_qualification, &QUAL_FIELDS, "ai_qualification")?;
        Ok(phrasings)
    }

    /// The phrasings of one signal.
    pub fn signal_phrases(&self, signal: Signal) -> &[String] {
        self.signals.get(signal.name()).map(Vec::as_slice).unwrap_or_default()
    }

    /// The e-mail domain of an account, a pure function of its number.
    pub fn company_domain(&self, account: u64) -> String {
        let (first, second) = (&self.company_first, &self.company_second);
        let firsts = first.len().max(1) as u64;
        let seconds = second.len().max(1) as u64;
        let a = first.get((account % firsts) as usize).map_or("", String::as_str);
        let b = second.get(((account / firsts) % seconds) as usize).map_or("", String::as_str);
        format!("{a}{b}{}.com", account / (firsts * seconds))
    }

    /// An e-mail-like participant address at `domain`.
    pub fn person_address<R: Rng>(&self, rng: &mut R, domain: &str) -> String {
        let first = pick(rng, &self.first_names);
        let last = pick(rng, &self.last_names);
        format!("{first}.{last}@{domain}")
    }

    /// A prospect message carrying exactly `signals` (zero, one or two).
    pub fn prospect_text<R: Rng>(&self, rng: &mut R, signals: &[Signal]) -> String {
        if signals.is_empty() {
            let mut line = pick(rng, &self.neutral).to_string();
            if rng.random_bool(0.2) {
                let opener = pick(rng, &self.openers);
                line = format!("{} {line}", maybe_typo(rng, opener));
            }
            return casual(rng, line);
        }
        let mut parts: Vec<String> = Vec::with_capacity(4);
        if rng.random_bool(0.3) {
            let opener = pick(rng, &self.openers);
            parts.push(maybe_typo(rng, opener));
        } else if rng.random_bool(0.15) {
            parts.push(pick(rng, &self.neutral).to_string());
        }
        for s in signals {
            parts.push(pick(rng, self.signal_phrases(*s)).to_string());
        }
        if rng.random_bool(0.2) {
            let closer = pick(rng, &self.closers);
            parts.push(maybe_typo(rng, closer));
        }
        casual(rng, parts.join(" "))
    }

    /// An AI reply; when it captures qualification fields (mask bits), it asks about them.
    pub fn ai_text<R: Rng>(&self, rng: &mut R, captured: u8) -> String {
        let mut parts = vec![pick(rng, &self.ai_replies).to_string()];
        for (i, field) in QUAL_FIELDS.iter().enumerate() {
            if captured & (1 << i) != 0 {
                let lines = self.ai_qualification.get(*field).map(Vec::as_slice);
                parts.push(pick(rng, lines.unwrap_or_default()).to_string());
            }
        }
        parts.join(" ")
    }

    /// The AI's message announcing a handoff.
    pub fn ai_connect_text<R: Rng>(&self, rng: &mut R) -> String {
        pick(rng, &self.ai_connect).to_string()
    }

    /// A human rep's reply after the handoff.
    pub fn human_text<R: Rng>(&self, rng: &mut R) -> String {
        pick(rng, &self.human_replies).to_string()
    }
}

/// `map` has a non-empty list for every one of `wanted` and no other key.
fn check_keys(
    map: &BTreeMap<String, Vec<String>>,
    wanted: &[&str],
    table: &str,
) -> Result<(), PhrasingsError> {
    if let Some(missing) = wanted.iter().find(|w| map.get(**w).is_none_or(Vec::is_empty)) {
        return Err(PhrasingsError(format!("[{table}] has no lines for `{missing}`")));
    }
    if let Some(unknown) = map.keys().find(|k| !wanted.contains(&k.as_str())) {
        return Err(PhrasingsError(format!(
            "[{table}] has unknown key `{unknown}` (expected one of {})",
            wanted.join(", ")
        )));
    }
    Ok(())
}

/// One entry of `pool`, uniformly (empty only if the file check was skipped).
fn pick<'a, R: Rng>(rng: &mut R, pool: &'a [String]) -> &'a str {
    pool.choose(rng).map_or("", String::as_str)
}

/// Drops one letter of a filler word now and then, the way people type.
fn maybe_typo<R: Rng>(rng: &mut R, word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() > 3 && rng.random_bool(0.15) {
        let at = rng.random_range(1..chars.len() - 1);
        chars.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, c)| *c).collect()
    } else {
        word.to_string()
    }
}

/// Some people write everything in lower case.
fn casual<R: Rng>(rng: &mut R, text: String) -> String {
    if rng.random_bool(0.12) {
        text.to_lowercase()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> &'static Phrasings {
        Phrasings::shipped().expect("the shipped phrasings parse")
    }

    #[test]
    fn every_signal_has_at_least_twelve_distinct_phrasings() {
        for s in Signal::ALL {
            let phrases = shipped().signal_phrases(s);
            let distinct: std::collections::BTreeSet<_> = phrases.iter().collect();
            assert!(distinct.len() >= 12, "{s}: {}", distinct.len());
        }
    }

    #[test]
    fn every_qualification_field_has_lines_and_the_neutral_pool_is_large() {
        for field in QUAL_FIELDS {
            assert!(shipped().ai_qualification.get(field).is_some_and(|l| !l.is_empty()));
        }
        assert!(shipped().neutral.len() >= 50);
    }

    #[test]
    fn a_phrasings_file_must_cover_what_the_generator_draws() {
        let without_pricing = SHIPPED_TOML.replace("\npricing = [", "\nprice = [");
        let err = Phrasings::parse(&without_pricing).err();
        assert!(err.is_some_and(|e| e.0.contains("`pricing`")));
        let with_unknown_list = format!("extra = [\"x\"]\n{SHIPPED_TOML}");
        assert!(Phrasings::parse(&with_unknown_list).is_err());
    }

    #[test]
    fn company_domains_differ_between_nearby_accounts() {
        let p = shipped();
        assert_ne!(p.company_domain(1), p.company_domain(2));
        assert_ne!(p.company_domain(1), p.company_domain(225));
        assert_eq!(p.company_domain(0), "bluewave0.com");
        assert_eq!(p.company_domain(224), "bluewave1.com");
    }
}
