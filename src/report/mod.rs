//! The report: `summary` holds the computed figures; one exporter per format writes them; the
//! folder is assembled in a temporary sibling and swapped into place.

pub mod charts;
pub mod history;
pub mod summary;
