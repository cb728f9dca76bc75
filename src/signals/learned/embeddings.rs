//! The word-embedding table of the learned detector: GloVe 6B 50d (Pennington, Socher and
//! Manning, 2014; data/detector/EMBEDDINGS-LICENSE.md), pruned to the 100,000 most frequent
//! words plus every word of the training files, each vector quantised to int8 with one f32
//! scale. Built by scripts/build_embeddings.py into data/detector/glove-50d-int8.bin and
//! embedded in the binary, so the detector never reads or downloads anything at run time.
//!
//! Format (little-endian): magic `HOGLOVE\0`, version u32 (1), dims u32, count u32; then
//! `count` words as (length u8, UTF-8 bytes) in GloVe's frequency order; `count` f32 scales;
//! `count * dims` i8 components.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The embedding dimension the detector is built for.
pub const DIMS: usize = 50;

const MAGIC: &[u8; 8] = b"HOGLOVE\0";
const VERSION: u32 = 1;

/// The shipped table's bytes.
static SHIPPED: &[u8] = include_bytes!("../../../data/detector/glove-50d-int8.bin");

/// A table that cannot be read (only a corrupt build gets one: a unit test reads the
/// shipped table).
#[derive(Debug, thiserror::Error)]
#[error("the embedding table is corrupt: {0}")]
pub struct EmbeddingsError(pub String);

/// Words and their quantised vectors.
pub struct Embeddings {
    index: HashMap<Box<str>, u32, foldhash::fast::FixedState>,
    scales: Vec<f32>,
    vectors: Vec<i8>,
    /// A fingerprint of the table (word count and an FNV-1a hash of its bytes), stored in
    /// every model file so that a model is never used with a table it was not trained on.
    pub fingerprint: u64,
}

impl Embeddings {
    /// The table embedded in the binary, parsed once.
    pub fn shipped() -> Result<&'static Embeddings, EmbeddingsError> {
        static TABLE: OnceLock<Result<Embeddings, String>> = OnceLock::new();
        TABLE
            .get_or_init(|| Embeddings::parse(SHIPPED).map_err(|e| e.0))
            .as_ref()
            .map_err(|e| EmbeddingsError(e.clone()))
    }

    pub fn parse(bytes: &[u8]) -> Result<Embeddings, EmbeddingsError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(8)? != MAGIC {
            return Err(EmbeddingsError("bad magic".into()));
        }
        let version = r.u32()?;
        if version != VERSION {
            return Err(EmbeddingsError(format!("version {version}, expected {VERSION}")));
        }
        let dims = r.u32()? as usize;
        if dims != DIMS {
            return Err(EmbeddingsError(format!("{dims} dimensions, expected {DIMS}")));
        }
        let count = r.u32()? as usize;
        let mut index =
            HashMap::with_capacity_and_hasher(count, foldhash::fast::FixedState::default());
        for k in 0..count {
            let len = r.take(1)?[0] as usize;
            let word = std::str::from_utf8(r.take(len)?)
                .map_err(|_| EmbeddingsError(format!("word {k} is not UTF-8")))?;
            index.entry(word.into()).or_insert(k as u32);
        }
        let scales = r
            .take(4 * count)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let vectors = r.take(count * DIMS)?.iter().map(|&b| b as i8).collect();
        if r.at != bytes.len() {
            return Err(EmbeddingsError("trailing bytes".into()));
        }
        let fingerprint = super::features::fnv1a(bytes) ^ count as u64;
        Ok(Embeddings { index, scales, vectors, fingerprint })
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.scales.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// Adds `word`'s vector to `sum`; false when the word is unknown.
    pub fn add_to(&self, word: &str, sum: &mut [f32; DIMS]) -> bool {
        let Some(&k) = self.index.get(word) else {
            return false;
        };
        let k = k as usize;
        let scale = self.scales[k];
        let q = &self.vectors[k * DIMS..(k + 1) * DIMS];
        for (s, &x) in sum.iter_mut().zip(q) {
            *s += scale * f32::from(x);
        }
        true
    }
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], EmbeddingsError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| EmbeddingsError("truncated".into()))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32, EmbeddingsError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_reads_and_knows_common_words() {
        let e = Embeddings::shipped().expect("the shipped table parses");
        assert!(e.len() >= 100_000, "{} words", e.len());
        let mut sum = [0.0; DIMS];
        assert!(e.add_to("price", &mut sum));
        assert!(sum.iter().any(|x| *x != 0.0));
        assert!(!e.add_to("qqqzzzxx", &mut sum));
    }

    #[test]
    fn a_corrupt_table_is_an_error() {
        assert!(Embeddings::parse(b"").is_err());
        assert!(Embeddings::parse(b"HOGLOVE\0\x02\0\0\0").is_err());
        let mut bytes = SHIPPED[..64].to_vec();
        bytes[0] = b'X';
        assert!(Embeddings::parse(&bytes).is_err());
        assert!(Embeddings::parse(&SHIPPED[..SHIPPED.len() - 1]).is_err());
    }
}
