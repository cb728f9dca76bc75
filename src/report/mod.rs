//! The report: `summary` holds the computed figures; one exporter per format writes them
//! (`export`); the folder is assembled in a temporary sibling and swapped into place
//! (`folder`); `window` decides what a run covers; `history` keeps the week-over-week rows;
//! `brief` renders the context packet a rep receives.

pub mod brief;
pub mod charts;
pub mod decisions;
pub mod export;
pub mod folder;
pub mod history;
pub mod page;
