//! `handoff report`: the weekly job. Validate, replay every policy and sweep, estimate, and
//! write the report folder atomically (see `report::folder`).

use std::time::Instant;

use crate::analysis::{analyse, AnalysisSettings};
use crate::cli::ReportArgs;
use crate::error::UsageError;
use crate::estimate::EstimationConfig;
use crate::pipeline::{self, prepare_without_text};
use crate::report::export::{ReportData, RunInfo};
use crate::report::folder::write_report;
use crate::report::history::rows_from_summary;

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    crate::logging::init(args.common.log_format, args.common.quiet);
    let started = Instant::now();
    check_flags(args)?;
    let mut prepared = prepare_without_text(&args.common, &args.policy)?;
    let (window, as_of) = pipeline::resolve_window(&args.window, &prepared.dataset)?;
    let members = pipeline::window_members(&prepared.dataset, &window)?;
    tracing::info!(window = %window.label, conversations = members.len(), "analysing");
    let settings = AnalysisSettings {
        estimation: EstimationConfig {
            estimator: args.estimate.estimator,
            clip: args.estimate.clip,
            tolerance: args.estimate.tolerance,
            bootstrap: args.estimate.bootstrap,
            seed: args.estimate.seed,
        },
        outcome_days: args.estimate.outcome_days,
        as_of,
    };
    let analysis = analyse(&prepared, &window, &members, &settings);
    for warning in &analysis.summary.warnings {
        tracing::warn!("{warning}");
    }
    // Only the file list and the rejections outlive the analysis: the data set and its
    // timelines are freed before the report is encoded (the peak at scale).
    let files = std::mem::take(&mut prepared.dataset.files);
    let rejections = std::mem::take(&mut prepared.dataset.rejections);
    drop(prepared);
    let mut inputs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    inputs.push(&args.policy.policies);
    let run = RunInfo::start(std::env::args().collect(), &inputs, args.estimate.seed)?;
    let history = rows_from_summary(&window, &analysis.summary);
    let data = ReportData {
        summary: analysis.summary,
        decisions: analysis.decisions,
        rejections,
        charts: Vec::new(),
        run,
    };
    let folder = write_report(&args.out, &window, data, history)?;
    tracing::info!(
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "wrote the report to {}",
        folder.display()
    );
    Ok(())
}

fn check_flags(args: &ReportArgs) -> anyhow::Result<()> {
    let e = &args.estimate;
    if !(e.clip.is_finite() && e.clip >= 1.0) {
        return Err(UsageError(format!("--clip must be a number >= 1, found {}", e.clip)).into());
    }
    if e.bootstrap > 100_000 {
        return Err(UsageError(format!(
            "--bootstrap {} is more replicates than any interval needs (at most 100000)",
            e.bootstrap
        ))
        .into());
    }
    Ok(())
}
