//! The learned detector's model: one logistic classifier per signal over the features of
//! features.rs, optionally with one shared hidden layer of ReLU units feeding every signal
//! (a "wide and deep" network: the linear part sees the features directly, the hidden units
//! learn combinations that all 21 signals share), and the probability threshold above which
//! each signal holds.
//!
//! File format (little-endian), what `handoff detector train --out` writes and
//! data/detector/model.bin is:
//!
//! ```text
//! magic       8 bytes  "HOMODEL\0"
//! version     u32      3 without a hidden layer, 4 with one (1 and 2: the same layout,
//!                      trained before decimal numbers were one word; refused)
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
//! version 4 only:
//! hidden      u32                               H, the hidden units (1 to MAX_HIDDEN)
//! h_bias      H x f32
//! h_dense     H x 50 x f32                      unit-major
//! h_sparse    buckets x H x f32                 bucket-major
//! h_out       21 x H x f32                      signal-major
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
const VERSION: u32 = 3;
const VERSION_HIDDEN: u32 = 4;
/// The versions of the files written before features.rs kept "0.20" as one word: their
/// weights belong to other features, so they are refused with a message to retrain.
const BEFORE_NUMBER_WORDS: [u32; 2] = [1, 2];

/// The most hidden units a model may have (the hidden activations live on the stack).
pub const MAX_HIDDEN: usize = 256;

/// The shared hidden layer: `h[j] = max(0, bias[j] + dense[j] . x_dense + sum of v *
/// sparse[b][j])`, and each signal's logit gains `out[s] . h`.
#[derive(Clone, Debug, PartialEq)]
pub struct Hidden {
    pub units: usize,
    pub bias: Vec<f32>,
    /// Unit-major: `dense[j * DIMS + d]`.
    pub dense: Vec<f32>,
    /// Bucket-major: `sparse[b * units + j]`.
    pub sparse: Vec<f32>,
    /// Signal-major: `out[s * units + j]`.
    pub out: Vec<f32>,
}

impl Hidden {
    /// All-zero weights of `units` units.
    pub fn zero(units: usize) -> Hidden {
        Hidden {
            units,
            bias: vec![0.0; units],
            dense: vec![0.0; units * DIMS],
            sparse: vec![0.0; BUCKETS * units],
            out: vec![0.0; SIGNALS * units],
        }
    }

    /// The hidden units' pre-activations for `f`, into `pre[..units]`.
    #[inline]
    pub fn pre_activations(&self, f: &Features, pre: &mut [f32]) {
        let h = self.units;
        pre[..h].copy_from_slice(&self.bias);
        for (j, p) in pre[..h].iter_mut().enumerate() {
            let w = &self.dense[j * DIMS..(j + 1) * DIMS];
            *p += w.iter().zip(&f.dense).map(|(a, b)| a * b).sum::<f32>();
        }
        for &(b, v) in &f.sparse {
            let start = b as usize * h;
            let Some(row) = self.sparse.get(start..start + h) else {
                continue;
            };
            for (p, w) in pre[..h].iter_mut().zip(row) {
                *p += v * w;
            }
        }
    }
}

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
    /// The shared hidden layer, if the model has one.
    pub hidden: Option<Hidden>,
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
            hidden: None,
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
        if let Some(hidden) = &self.hidden {
            let mut h = [0f32; MAX_HIDDEN];
            hidden.pre_activations(f, &mut h);
            let units = hidden.units;
            for a in &mut h[..units] {
                *a = a.max(0.0);
            }
            for (s, o) in out.iter_mut().enumerate() {
                let w = &hidden.out[s * units..(s + 1) * units];
                *o += w.iter().zip(&h[..units]).map(|(a, b)| a * b).sum::<f32>();
            }
        }
    }

    /// The hidden layer's part of every signal's logit for `f` (zeros without one): what
    /// `--explain` shows as one feature, since it is no sum of single features.
    pub fn hidden_logits(&self, f: &Features) -> [f32; SIGNALS] {
        let mut out = [0f32; SIGNALS];
        if let Some(hidden) = &self.hidden {
            let mut h = [0f32; MAX_HIDDEN];
            hidden.pre_activations(f, &mut h);
            let units = hidden.units;
            for (s, o) in out.iter_mut().enumerate() {
                let w = &hidden.out[s * units..(s + 1) * units];
                *o = w.iter().zip(&h[..units]).map(|(a, b)| a * b.max(0.0)).sum::<f32>();
            }
        }
        out
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
        let version = if self.hidden.is_some() { VERSION_HIDDEN } else { VERSION };
        for n in [version, SIGNALS as u32, DIMS as u32, BUCKETS as u32] {
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
        if let Some(h) = &self.hidden {
            out.extend_from_slice(&(h.units as u32).to_le_bytes());
            for x in h.bias.iter().chain(&h.dense).chain(&h.sparse).chain(&h.out) {
                out.extend_from_slice(&x.to_le_bytes());
            }
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
        if BEFORE_NUMBER_WORDS.contains(&header[0]) {
            return Err(bad(&format!(
                "version {} was written by an earlier handoff whose features differ (a \
                 decimal number such as 0.20 is now one word); train it again with \
                 `handoff detector train`",
                header[0]
            )));
        }
        let with_hidden = header[0] == VERSION_HIDDEN;
        if header[1..] != [SIGNALS as u32, DIMS as u32, BUCKETS as u32]
            || !(header[0] == VERSION || with_hidden)
        {
            return Err(bad(&format!(
                "version, signals, dimensions, buckets are {header:?}, expected \
                 [{VERSION} or {VERSION_HIDDEN}, {SIGNALS}, {DIMS}, {BUCKETS}]"
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
        let hidden = if with_hidden {
            // The count is a u32; read through `floats` (which holds the cursor), bit for bit.
            let units = floats(1)?[0].to_bits() as usize;
            if units == 0 || units > MAX_HIDDEN {
                return Err(bad(&format!("{units} hidden units (1 to {MAX_HIDDEN})")));
            }
            Some(Hidden {
                units,
                bias: floats(units)?,
                dense: floats(units * DIMS)?,
                sparse: floats(BUCKETS * units)?,
                out: floats(SIGNALS * units)?,
            })
        } else {
            None
        };
        if at != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        if thresholds
            .iter()
            .chain(&gates)
            .chain(&bias)
            .chain(&dense)
            .chain(&sparse)
            .chain(
                hidden
                    .iter()
                    .flat_map(|h| h.bias.iter().chain(&h.dense).chain(&h.sparse).chain(&h.out)),
            )
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
            hidden,
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
        // A file of the layout before decimal numbers were one word: refused, saying why.
        let mut old = bytes.clone();
        old[8] = 1;
        let message = Model::from_bytes(&old).expect_err("version 1").to_string();
        assert!(message.contains("train it again"), "{message}");
        // With a hidden layer: version 4, round trip, and its part of the logits.
        let mut h = Hidden::zero(3);
        h.bias = vec![1.0, -1.0, 0.5];
        h.out[Signal::Pricing.index() * 3] = 2.0;
        h.out[Signal::Pricing.index() * 3 + 1] = 7.0;
        m.hidden = Some(h);
        let bytes = m.to_bytes();
        assert_eq!(bytes[8], 4);
        assert_eq!(Model::from_bytes(&bytes).expect("round trip"), m);
        assert!(Model::from_bytes(&bytes[..bytes.len() - 4]).is_err());
        let f = Features::default();
        let part = m.hidden_logits(&f);
        // Unit 0 is active (1.0) and weighs 2; unit 1 is cut by the ReLU (-1.0), whatever its 7.
        assert_eq!(part[Signal::Pricing.index()], 2.0);
        let mut z = [0f32; SIGNALS];
        m.logits(&f, &mut z);
        assert_eq!(z[Signal::Pricing.index()], 2.0);
        assert_eq!(z[Signal::DemoRequest.index()], 0.0);
    }

    #[test]
    fn the_shipped_model_fits_the_shipped_table() {
        let m = Model::shipped().expect("the shipped model parses");
        let e = Embeddings::shipped().expect("the shipped table parses");
        m.check_table(e).expect("same table");
    }
}
