//! The learned detector's model: one logistic classifier per signal over the features of
//! features.rs, and the probability threshold above which each signal holds.
//!
//! File format (little-endian), what `handoff detector train --out` writes and
//! data/detector/model.bin is:
//!
//! ```text
//! magic       8 bytes  "HOMODEL\0"
//! version     u32      1
//! signals     u32      21 (the vocabulary, in its order)
//! dims        u32      50 (embedding dimensions)
//! buckets     u32      32768 (hash buckets)
//! table       u64      fingerprint of the embedding table trained with
//! names       21 x (u8 length, bytes)          the signal names, checked on load
//! thresholds  21 x f32                          probability thresholds
//! gates       21 x f32                          least probability for a lexicon match to count
//! bias        21 x f32
//! dense       21 x 50 x f32                     signal-major
//! sparse      buckets x 21 x f32                bucket-major (one row per bucket)
//! ```
//!
//! The sparse weights are bucket-major so that one feature touches one contiguous row of 21
//! weights: the hot loop of detection.

use std::sync::OnceLock;

use super::embeddings::{Embeddings, DIMS};
use super::features::{Features, BUCKETS};
use crate::signals::vocabulary::Signal;

/// Number of signals (the vocabulary's).
pub const SIGNALS: usize = Signal::ALL.len();

const MAGIC: &[u8; 8] = b"HOMODEL\0";
const VERSION: u32 = 1;

static SHIPPED: &[u8] = include_bytes!("../../../data/detector/model.bin");

/// A model file that cannot be used (exit 2 for a user's `detector_model`).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("not a handoff detector model ({0})")]
    Format(String),
    #[error("the model was trained with another embedding table (retrain it with `handoff detector train`)")]
    OtherTable,
}

/// One logistic classifier per signal.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub thresholds: [f32; SIGNALS],
    /// In the ensemble, a lexicon match counts only when the model's probability is at
    /// least this (0: always).
    pub gates: [f32; SIGNALS],
    pub bias: [f32; SIGNALS],
    /// Signal-major: `dense[s * DIMS + d]`.
    pub dense: Vec<f32>,
    /// Bucket-major: `sparse[b * SIGNALS + s]`.
    pub sparse: Vec<f32>,
    /// The embedding table's fingerprint.
    pub table: u64,
}

impl Model {
    /// All-zero weights (probability 0.5 everywhere) and thresholds of 0.5.
    pub fn zero(table: u64) -> Model {
        Model {
            thresholds: [0.5; SIGNALS],
            gates: [0.0; SIGNALS],
            bias: [0.0; SIGNALS],
            dense: vec![0.0; SIGNALS * DIMS],
            sparse: vec![0.0; BUCKETS * SIGNALS],
            table,
        }
    }

    /// The model embedded in the binary (data/detector/model.bin), parsed once.
    pub fn shipped() -> Result<&'static Model, ModelError> {
        static MODEL: OnceLock<Result<Model, String>> = OnceLock::new();
        MODEL
            .get_or_init(|| {
                Model::from_bytes(SHIPPED).map_err(|e| match e {
                    ModelError::Format(what) => what,
                    other => other.to_string(),
                })
            })
            .as_ref()
            .map_err(|e| ModelError::Format(e.clone()))
    }

    /// The shipped model's bytes (for the reproduction test).
    pub fn shipped_bytes() -> &'static [u8] {
        SHIPPED
    }

    /// Logits (log-odds) of every signal for `f`, into `out`.
    #[inline]
    pub fn logits(&self, f: &Features, out: &mut [f32; SIGNALS]) {
        *out = self.bias;
        for (s, o) in out.iter_mut().enumerate() {
            let w = &self.dense[s * DIMS..(s + 1) * DIMS];
            *o += w.iter().zip(&f.dense).map(|(a, b)| a * b).sum::<f32>();
        }
        for &(b, v) in &f.sparse {
            let start = b as usize * SIGNALS;
            let Some(row) = self.sparse.get(start..start + SIGNALS) else {
                continue;
            };
            for (o, w) in out.iter_mut().zip(row) {
                *o += v * w;
            }
        }
    }

    /// The threshold of every signal as a logit (what `logits` is compared with).
    pub fn threshold_logits(&self) -> [f32; SIGNALS] {
        self.thresholds.map(logit)
    }

    /// The gates as logits (a gate of 0 is minus infinity: every match counts; a gate of 1
    /// is plus infinity: no match counts on its own).
    pub fn gate_logits(&self) -> [f32; SIGNALS] {
        self.gates.map(|g| {
            if g <= 0.0 {
                f32::NEG_INFINITY
            } else if g >= 1.0 {
                f32::INFINITY
            } else {
                logit(g)
            }
        })
    }

    /// Checks that the model fits `embeddings`.
    pub fn check_table(&self, embeddings: &Embeddings) -> Result<(), ModelError> {
        if self.table == embeddings.fingerprint {
            Ok(())
        } else {
            Err(ModelError::OtherTable)
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 4 * (self.dense.len() + self.sparse.len()));
        out.extend_from_slice(MAGIC);
        for n in [VERSION, SIGNALS as u32, DIMS as u32, BUCKETS as u32] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(&self.table.to_le_bytes());
        for s in Signal::ALL {
            out.push(s.name().len() as u8);
            out.extend_from_slice(s.name().as_bytes());
        }
        let floats = self
            .thresholds
            .iter()
            .chain(&self.gates)
            .chain(&self.bias)
            .chain(&self.dense)
            .chain(&self.sparse);
        for x in floats {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        let bad = |what: &str| ModelError::Format(what.to_string());
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], ModelError> {
            let end =
                at.checked_add(n).filter(|&e| e <= bytes.len()).ok_or_else(|| bad("truncated"))?;
            let out = &bytes[at..end];
            at = end;
            Ok(out)
        };
        if take(8)? != MAGIC {
            return Err(bad("bad magic"));
        }
        let header: Vec<u32> = (0..4)
            .map(|_| take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect::<Result<_, _>>()?;
        if header != [VERSION, SIGNALS as u32, DIMS as u32, BUCKETS as u32] {
            return Err(bad(&format!(
                "version, signals, dimensions, buckets are {header:?}, expected \
                 [{VERSION}, {SIGNALS}, {DIMS}, {BUCKETS}]"
            )));
        }
        let t = take(8)?;
        let table = u64::from_le_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]]);
        for s in Signal::ALL {
            let len = take(1)?[0] as usize;
            if take(len)? != s.name().as_bytes() {
                return Err(bad("its signals are not this vocabulary's"));
            }
        }
        let mut floats = |n: usize| -> Result<Vec<f32>, ModelError> {
            Ok(take(4 * n)?
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        };
        let thresholds = floats(SIGNALS)?;
        let gates = floats(SIGNALS)?;
        let bias = floats(SIGNALS)?;
        let dense = floats(SIGNALS * DIMS)?;
        let sparse = floats(BUCKETS * SIGNALS)?;
        if at != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        if thresholds
            .iter()
            .chain(&gates)
            .chain(&bias)
            .chain(&dense)
            .chain(&sparse)
            .any(|x| !x.is_finite())
        {
            return Err(bad("a weight is not finite"));
        }
        let array = |v: Vec<f32>| -> [f32; SIGNALS] {
            let mut a = [0.0; SIGNALS];
            a.copy_from_slice(&v);
            a
        };
        Ok(Model {
            thresholds: array(thresholds),
            gates: array(gates),
            bias: array(bias),
            dense,
            sparse,
            table,
        })
    }
}

fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// The logistic function.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_corruption_is_refused() {
        let mut m = Model::zero(42);
        m.thresholds[3] = 0.7;
        m.sparse[5] = -1.25;
        let bytes = m.to_bytes();
        assert_eq!(Model::from_bytes(&bytes).expect("round trip"), m);
        assert!(Model::from_bytes(&bytes[..bytes.len() - 4]).is_err());
        assert!(Model::from_bytes(b"HOMODEL\0").is_err());
        let mut nan = bytes.clone();
        let last = nan.len() - 4;
        nan[last..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Model::from_bytes(&nan).is_err());
    }

    #[test]
    fn the_shipped_model_fits_the_shipped_table() {
        let m = Model::shipped().expect("the shipped model parses");
        let e = Embeddings::shipped().expect("the shipped table parses");
        m.check_table(e).expect("same table");
    }
}
