//! The integration tests: one test crate (one binary to build and link) with a module per
//! area, sharing one harness (`harness`: temporary folders, table writers, the command
//! builder for the real binary, `file_tree`) and one set of proptest strategies
//! (`strategies`). `cargo test --test cli <module>::` runs one area.

mod harness;
mod strategies;

mod accuracy;
mod bad_input;
mod crash_safety;
mod detector_cli;
mod determinism;
mod fuzz_ingest;
mod fuzz_policies;
mod fuzz_replay;
mod generate;
mod ingest;
mod lexicon_eval;
mod output_safety;
mod policies_cli;
mod postgres;
mod replay;
mod replay_cli;
mod report_cli;
mod report_folder;
mod routed_cli;
mod search_cli;
mod sensitivity_cli;
mod slices_cli;
mod validate_snapshots;
