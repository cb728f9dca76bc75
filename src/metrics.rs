//! Timing and quality metrics (policies.md, "Quality reference and metrics"): premature, late,
//! missed human requests, the quality score. They depend on the conversation alone, so they are
//! exact for every policy. Pure: no I/O.
