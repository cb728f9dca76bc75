//! The report: `summary` holds the computed figures; one exporter per format writes them
//! (`export`); the folder is assembled in a temporary sibling and swapped into place
//! (`folder`); single files are replaced through one atomic write (`atomic`), among them the
//! one-table outputs of `replay` and `signals` (`frame`); `window` decides what a run covers;
//! `history` keeps the week-over-week rows; `brief` renders the context packet a rep receives.

pub mod atomic;
pub mod brief;
pub mod charts;
pub mod decisions;
pub mod export;
pub mod folder;
pub mod frame;
pub mod history;
pub mod page;
