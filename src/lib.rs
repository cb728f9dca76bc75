//! `handoff`: replays historical AI-SDR conversations through alternative human-handoff
//! policies and estimates, honestly, what each policy would have achieved.
//!
//! The pipeline flows one way: `ingest` (files to a validated `model::Dataset`) → `signals`
//! (one text pass to per-message signal sets) → `replay` (policies on compact timelines) →
//! `estimate` and `metrics` (what each policy would have achieved) → `report` (exporters and
//! charts). `generate` writes synthetic data with known truth; `cmd` holds one thin file per
//! command. `format` (numbers as text) and `time` (instants, dates and their text) are the
//! pure helpers every layer shares.

pub mod analysis;
pub mod cli;
pub mod cmd;
pub mod decisions;
pub mod error;
pub mod estimate;
pub mod findings;
pub mod format;
pub mod generate;
pub mod ingest;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod pg;
pub mod pipeline;
pub mod policy;
pub mod replay;
pub mod report;
pub mod searching;
pub mod signals;
pub mod slicing;
pub mod summary;
pub mod time;
pub mod window;
