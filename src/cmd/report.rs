//! `handoff report`: the weekly job. Validate, replay every policy and sweep, estimate, and
//! write the report folder atomically (see `report::folder`).

use std::time::Instant;

use crate::analysis::{analyse, AnalysisSettings};
use crate::cli::ReportArgs;
use crate::cmd::options::init_logging;
use crate::estimate::EstimationConfig;
use crate::pipeline::{self, prepare_without_text, WindowSpec};
use crate::report::folder::ReportWriter;
use crate::report::history::{rows_from_summary, HistorySink};
use crate::report::history_db::HistoryDb;
use crate::report::search::RecommendedContext;
use crate::report::{ReportData, RunInfo};
use anyhow::Context;

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    init_logging(&args.common);
    let started = Instant::now();
    // run.json's start is the command's, so its duration covers loading and estimating too.
    let started_at = crate::time::rfc3339_millis(chrono::Utc::now());
    let window_spec = WindowSpec::from(&args.window);
    pipeline::check_window_flags(&window_spec)?;
    // A family too large is refused before any data is read.
    let file = crate::policy::file::load_policies(&args.policy.policies)?;
    let path = args.policy.policies.display().to_string();
    crate::searching::check_family_sizes(&file, &path, args.search_limits.max_candidates)?;
    // The trend's database is reached (and its table migrated) before any work.
    let history_db = match &args.history_db {
        Some(url) => {
            let url = crate::pg::PgUrl::parse(url)?;
            let db = HistoryDb::open(&url)
                .with_context(|| format!("opening the history database {url}"))?;
            Some(std::sync::Mutex::new(Box::new(db) as Box<dyn HistorySink>))
        }
        None => None,
    };
    let mut prepared = prepare_without_text(&(&args.common).into(), &(&args.policy).into())?;
    let (window, as_of) = pipeline::resolve_window(&window_spec, &prepared.dataset)?;
    let members = pipeline::window_members(&prepared.dataset, &window)?;
    let slices =
        crate::cmd::options::slice_settings(&args.slices, &prepared.dataset, &args.common.data)?;
    tracing::info!(window = %window.label, conversations = members.len(), "analysing");
    let settings = AnalysisSettings {
        estimation: EstimationConfig::from(&args.estimate),
        outcome_days: args.estimate.outcome_days,
        as_of,
        slices,
        gammas: args.gammas.0.clone(),
    };
    let analysis = analyse(&prepared.inputs(), &window, &members, &settings);
    let policies = prepared.policies.policies.clone();
    let detector_model = prepared.policies.detector_model.clone();
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
    // A database URL's password must not reach run.json.
    let argv = std::env::args().map(|a| crate::pg::redact(&a)).collect();
    let mut run = RunInfo::start(argv, &inputs, args.estimate.seed)?;
    run.started_at = started_at;
    let history = rows_from_summary(&window, &analysis.summary);
    let recommended = if analysis.summary.searches.is_empty() {
        RecommendedContext::default()
    } else {
        let s = &analysis.summary;
        recommended_context(
            &args.policy.policies,
            &args.common.data,
            &run,
            &s.window.label,
            &s.settings.as_of,
            &policies,
            detector_model.as_deref(),
        )?
    };
    let data = ReportData {
        summary: analysis.summary,
        decisions: analysis.decisions,
        rejections,
        charts: Vec::new(),
        run,
        recommended,
    };
    let writer = ReportWriter {
        lock_timeout: args.lock_timeout,
        history_sink: history_db,
        ..Default::default()
    };
    let folder = writer.write(&args.out, &window, data, history)?;
    tracing::info!(
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "wrote the report to {}",
        folder.display()
    );
    Ok(())
}

/// What `recommended.toml` repeats: the command that evaluates it, the window, the data's
/// hash and date, and the policies file's signal settings, quality reference and policies.
pub(crate) fn recommended_context(
    policies_file: &std::path::Path,
    data: &std::path::Path,
    run: &RunInfo,
    summary_window: &str,
    as_of: &str,
    policies: &[crate::policy::Policy],
    detector_model: Option<&std::path::Path>,
) -> anyhow::Result<RecommendedContext> {
    let text = std::fs::read_to_string(policies_file)
        .with_context(|| format!("{}: cannot be read", policies_file.display()))?;
    let mut context = RecommendedContext::carry(&text, policies.to_vec(), detector_model)
        .with_context(|| policies_file.display().to_string())?;
    // A database URL's password must not reach the file.
    let data = crate::pg::redact(&data.display().to_string());
    context.command = format!("handoff report --data {data} --policies recommended.toml");
    context.window = summary_window.to_string();
    context.as_of = as_of.to_string();
    context.data_hash = data_hash(run, policies_file);
    Ok(context)
}

/// sha256 over the data files' own hashes (in `run.json`'s order), the policies file left out;
/// empty when the data came from a database.
pub(crate) fn data_hash(run: &RunInfo, policies: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let policies = policies.display().to_string();
    let mut files = 0;
    for (_, hash) in run.inputs.iter().filter(|(f, _)| **f != policies) {
        hasher.update(hash.as_bytes());
        files += 1;
    }
    // A database has no files to hash: say so rather than hash nothing.
    if files == 0 {
        return String::new();
    }
    format!("{:x}", hasher.finalize())
}
