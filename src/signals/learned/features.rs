//! The features of one message, as the learned detector sees it.
//!
//! The text is lower-cased, typographic apostrophes are folded onto `'`, and it is cut into
//! words at every character that is not a letter or digit, except a point or comma between
//! two digits ("0.20", "1,000" are one word each: a model file of version 1 or 2 was trained
//! before that rule, model.rs). Then:
//!
//! - a dense part: the mean of the embedding vectors of the words the table knows
//!   (embeddings.rs), L2-normalised (all zero when no word is known);
//! - a sparse part, hashed into `BUCKETS` buckets: every word (unigram), every pair of
//!   adjacent words (bigram), and the character 3- and 4-grams of every word written with
//!   boundary marks (`<price>` gives `<pr`, `pri`, ..., `<pri`, ...), which is what lets a
//!   misspelt word ("pricng", "intergrate") share most of its features with the right one.
//!   Each group's counts are scaled by 1/sqrt(n), n the group's size, so that long and short
//!   messages weigh alike.
//!
//! The hash is FNV-1a (64 bit), written out here, with one tag byte per feature group: the
//! features, and so every model file, never change with a dependency upgrade.
//!
//! `extract` allocates nothing once its `Scratch` has grown to the longest message seen.

use super::embeddings::{Embeddings, DIMS};

/// Number of hash buckets of the sparse part (a power of two).
pub const BUCKETS: usize = 1 << 15;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv_extend(FNV_OFFSET, bytes)
}

fn fnv_extend(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

fn bucket(h: u64) -> u32 {
    // Fold the high bits in: FNV's low bits alone mix less well.
    ((h ^ (h >> 32)) as usize & (BUCKETS - 1)) as u32
}

/// One message's features.
#[derive(Clone, Debug)]
pub struct Features {
    pub dense: [f32; DIMS],
    /// (bucket, value); a bucket may occur more than once (its values add up).
    pub sparse: Vec<(u32, f32)>,
}

impl Default for Features {
    fn default() -> Self {
        Features { dense: [0.0; DIMS], sparse: Vec::new() }
    }
}

/// Buffers reused from one message to the next.
#[derive(Default)]
pub struct Scratch {
    lowered: String,
    words: Vec<(usize, usize)>,
    marked: Vec<u8>,
    starts: Vec<usize>,
    pub features: Features,
    /// The signals the shipped lexicon found (`add_lexicon_features`).
    pub lexicon: crate::signals::SignalSet,
}

/// What each sparse feature is, for `--explain` (aligned with `Features::sparse`).
pub type Names = Vec<String>;

/// The features of `text` into `scratch.features`.
pub fn extract(text: &str, embeddings: &Embeddings, scratch: &mut Scratch) {
    extract_with_names(text, embeddings, scratch, None);
}

/// `extract`, also naming every sparse feature when `names` is given (for `--explain`).
pub fn extract_with_names(
    text: &str,
    embeddings: &Embeddings,
    scratch: &mut Scratch,
    mut names: Option<&mut Names>,
) {
    let Scratch { lowered, words, marked, starts, features, lexicon } = scratch;
    *lexicon = crate::signals::SignalSet::EMPTY;
    lowered.clear();
    words.clear();
    features.sparse.clear();
    features.dense = [0.0; DIMS];
    if let Some(n) = names.as_deref_mut() {
        n.clear();
    }
    let mut start = None;
    let mut chars = text.chars().peekable();
    let mut after_digit = false;
    while let Some(c) = chars.next() {
        let c = match c {
            '\u{2019}' | '\u{2018}' | '\u{02bc}' => '\'',
            other => other,
        };
        // A point or comma between digits stays inside the number: "$0.20" is the word
        // "0.20", not "0" (a refusal's "$0") and "20".
        let inside_number = matches!(c, '.' | ',')
            && after_digit
            && chars.peek().is_some_and(|next| next.is_ascii_digit());
        after_digit = c.is_ascii_digit();
        if c.is_alphanumeric() || inside_number {
            if start.is_none() {
                start = Some(lowered.len());
            }
            if c.is_ascii() {
                lowered.push(c.to_ascii_lowercase());
            } else {
                lowered.extend(c.to_lowercase());
            }
        } else {
            if let Some(s) = start.take() {
                words.push((s, lowered.len()));
            }
            lowered.push(' ');
        }
    }
    if let Some(s) = start {
        words.push((s, lowered.len()));
    }
    let word = |k: usize| -> &str {
        let (s, e) = words[k];
        &lowered[s..e]
    };

    // Dense: mean-pooled, L2-normalised (the mean's scale cancels out).
    let mut known = false;
    for k in 0..words.len() {
        known |= embeddings.add_to(word(k), &mut features.dense);
    }
    if known {
        let norm = features.dense.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for x in &mut features.dense {
                *x /= norm;
            }
        }
    }

    // Sparse.
    let n = words.len();
    if n == 0 {
        return;
    }
    let unigram = 1.0 / (n as f32).sqrt();
    for k in 0..n {
        let w = word(k);
        features.sparse.push((bucket(fnv_extend(fnv1a(b"w"), w.as_bytes())), unigram));
        if let Some(n) = names.as_deref_mut() {
            n.push(format!("word \"{w}\""));
        }
    }
    if n > 1 {
        let bigram = 1.0 / ((n - 1) as f32).sqrt();
        for k in 1..n {
            let h = fnv_extend(fnv1a(b"b"), word(k - 1).as_bytes());
            let h = fnv_extend(fnv_extend(h, b" "), word(k).as_bytes());
            features.sparse.push((bucket(h), bigram));
            if let Some(n) = names.as_deref_mut() {
                n.push(format!("pair \"{} {}\"", word(k - 1), word(k)));
            }
        }
    }
    let first_char_gram = features.sparse.len();
    for k in 0..n {
        marked.clear();
        marked.push(b'<');
        marked.extend_from_slice(word(k).as_bytes());
        marked.push(b'>');
        starts.clear();
        // Char boundaries of `marked` (valid UTF-8: `<`, a word, `>`), then its end.
        starts.extend((0..marked.len()).filter(|&i| (marked[i] & 0xc0) != 0x80));
        starts.push(marked.len());
        let chars = starts.len() - 1;
        for len in [3usize, 4] {
            if chars < len {
                continue;
            }
            for i in 0..=chars - len {
                let gram = &marked[starts[i]..starts[i + len]];
                let h = fnv_extend(fnv1a(b"c"), gram);
                features.sparse.push((bucket(h), 1.0));
                if let Some(n) = names.as_deref_mut() {
                    n.push(format!("letters \"{}\"", String::from_utf8_lossy(gram)));
                }
            }
        }
    }
    let grams = features.sparse.len() - first_char_gram;
    if grams > 0 {
        let scale = 1.0 / (grams as f32).sqrt();
        for f in &mut features.sparse[first_char_gram..] {
            f.1 = scale;
        }
    }
}

/// Adds the lexicon features to `scratch.features`: one per signal the shipped lexicon finds
/// (value 1) and one per phrase it matches (value 1/sqrt(m), m matches), so the model learns
/// how far to trust each phrase. `lexicon` must be the shipped default lexicon (a policies
/// file's `[lexicon]` changes what the ensemble's lexicon finds, never the model's input).
pub fn add_lexicon_features(
    text: &str,
    lexicon: &crate::signals::detect::Detector,
    scratch: &mut Scratch,
    mut names: Option<&mut Names>,
) {
    let sparse = &mut scratch.features.sparse;
    let first = sparse.len();
    let mut signals = crate::signals::SignalSet::EMPTY;
    lexicon.for_each_phrase(text, |signal, phrase| {
        signals.insert(signal);
        let h = fnv_extend(fnv1a(b"p"), phrase.as_bytes());
        sparse.push((bucket(fnv_extend(h, signal.name().as_bytes())), 1.0));
        if let Some(n) = names.as_deref_mut() {
            n.push(format!("lexicon phrase \"{phrase}\""));
        }
    });
    let phrases = sparse.len() - first;
    if phrases > 0 {
        let scale = 1.0 / (phrases as f32).sqrt();
        for f in &mut sparse[first..] {
            f.1 = scale;
        }
    }
    scratch.lexicon = signals;
    let sparse = &mut scratch.features.sparse;
    for signal in signals.iter() {
        sparse.push((bucket(fnv_extend(fnv1a(b"s"), signal.name().as_bytes())), 1.0));
        if let Some(n) = names.as_deref_mut() {
            n.push(format!("lexicon finds {}", signal.name()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(text: &str) -> Features {
        let e = Embeddings::shipped().expect("table");
        let mut s = Scratch::default();
        extract(text, e, &mut s);
        s.features
    }

    #[test]
    fn hashing_is_fixed() {
        // FNV-1a's published test vectors: the features must never change.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn case_apostrophes_and_punctuation_do_not_matter() {
        let a = features("We DON’T need it!!");
        let b = features("we don't need it");
        assert_eq!(a.sparse, b.sparse);
        assert_eq!(a.dense, b.dense);
    }

    #[test]
    fn groups_are_scaled_and_dense_is_unit_length() {
        let f = features("pricing please");
        // 2 words, 1 pair, char grams of <pricing> (7 + 6) and <please> (6 + 5).
        assert_eq!(f.sparse.len(), 2 + 1 + 13 + 11);
        assert!((f.sparse[0].1 - 1.0 / 2f32.sqrt()).abs() < 1e-6);
        assert!((f.sparse[2].1 - 1.0).abs() < 1e-6);
        assert!((f.sparse[3].1 - 1.0 / 24f32.sqrt()).abs() < 1e-6);
        let norm: f32 = f.dense.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        assert!(f.sparse.iter().all(|(b, _)| (*b as usize) < BUCKETS));
    }

    #[test]
    fn a_decimal_number_is_one_word() {
        let e = Embeddings::shipped().expect("table");
        let mut s = Scratch::default();
        let mut names = Names::new();
        extract_with_names("I'll donate $0.20, not $0.", e, &mut s, Some(&mut names));
        assert!(names.contains(&"word \"0.20\"".to_string()), "{names:?}");
        assert_eq!(names.iter().filter(|n| *n == "word \"0\"").count(), 1, "{names:?}");
        extract_with_names("1,000 seats. 2. 3,", e, &mut s, Some(&mut names));
        assert!(names.contains(&"word \"1,000\"".to_string()), "{names:?}");
        assert!(names.contains(&"word \"2\"".to_string()), "{names:?}");
        assert!(names.contains(&"word \"3\"".to_string()), "{names:?}");
    }

    #[test]
    fn empty_and_unicode_texts_are_fine() {
        assert!(features("").sparse.is_empty());
        assert!(features("?!").dense.iter().all(|x| *x == 0.0));
        let f = features("Ärger über café");
        assert!(!f.sparse.is_empty());
        let e = Embeddings::shipped().expect("table");
        let mut s = Scratch::default();
        let mut names = Names::new();
        extract_with_names("a démo", e, &mut s, Some(&mut names));
        assert_eq!(names.len(), s.features.sparse.len());
        assert!(names.contains(&"letters \"dém\"".to_string()), "{names:?}");
    }
}
