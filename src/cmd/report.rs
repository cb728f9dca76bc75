//! `handoff report`: the weekly job. Validate, replay every policy and sweep, estimate, and
//! write the report folder atomically (see `report::folder`).

use std::time::Instant;

use crate::analysis::{analyse, AnalysisSettings};
use crate::cli::ReportArgs;
use crate::cmd::options::init_logging;
use crate::estimate::EstimationConfig;
use crate::pipeline::{self, prepare_without_text, WindowSpec};
use crate::report::folder::ReportWriter;
use crate::report::history::rows_from_summary;
use crate::report::{ReportData, RunInfo};
use crate::slicing::SliceSettings;
use anyhow::Context;

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    init_logging(&args.common);
    let started = Instant::now();
    // run.json's start is the command's, so its duration covers loading and estimating too.
    let started_at = crate::time::rfc3339_millis(chrono::Utc::now());
    let window_spec = WindowSpec::from(&args.window);
    pipeline::check_window_flags(&window_spec)?;
    let mut prepared = prepare_without_text(&(&args.common).into(), &(&args.policy).into())?;
    let (window, as_of) = pipeline::resolve_window(&window_spec, &prepared.dataset)?;
    let members = pipeline::window_members(&prepared.dataset, &window)?;
    let by: Vec<String> =
        args.slices.by.iter().map(|b| b.trim().to_string()).filter(|b| !b.is_empty()).collect();
    crate::slicing::check_columns(&prepared.dataset, &by)
        .with_context(|| format!("{}: the conversations table", args.common.data.display()))?;
    tracing::info!(window = %window.label, conversations = members.len(), "analysing");
    let settings = AnalysisSettings {
        estimation: EstimationConfig {
            estimator: args.estimate.estimator.into(),
            clip: args.estimate.clip,
            tolerance: args.estimate.tolerance,
            bootstrap: args.estimate.bootstrap,
            seed: args.estimate.seed,
        },
        outcome_days: args.estimate.outcome_days,
        as_of,
        slices: SliceSettings {
            by,
            min_slice: args.slices.min_slice,
            max_slices: args.slices.max_slices as usize,
        },
        gammas: args.gammas.0.clone(),
    };
    let analysis = analyse(&prepared.inputs(), &window, &members, &settings);
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
    let mut run = RunInfo::start(std::env::args().collect(), &inputs, args.estimate.seed)?;
    run.started_at = started_at;
    let history = rows_from_summary(&window, &analysis.summary);
    let data = ReportData {
        summary: analysis.summary,
        decisions: analysis.decisions,
        rejections,
        charts: Vec::new(),
        run,
    };
    let writer = ReportWriter { lock_timeout: args.lock_timeout, ..Default::default() };
    let folder = writer.write(&args.out, &window, data, history)?;
    tracing::info!(
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "wrote the report to {}",
        folder.display()
    );
    Ok(())
}
