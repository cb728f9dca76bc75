//! `handoff replay`: the per-conversation decision table of every policy and sweep variant.

use crate::cli::ReplayArgs;
use crate::pipeline::{self, all_policies, decision_table, prepare_without_text, write_frame};
use crate::replay::{replay_all, Decision};

pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    crate::logging::init(args.common.log_format, args.common.quiet);
    crate::pipeline::is_parquet_output(&args.out)?;
    pipeline::check_window_flags(&args.window)?;
    let prepared = prepare_without_text(&args.common, &args.policy)?;
    let (window, _) = pipeline::resolve_window(&args.window, &prepared.dataset)?;
    let members = pipeline::window_members(&prepared.dataset, &window)?;
    let (policies, variants) = all_policies(&prepared.policies);
    let all: Vec<&crate::policy::Policy> =
        policies.iter().chain(variants.iter().map(|v| &v.policy)).collect();
    let mut names: Vec<&str> = vec!["historical"];
    names.extend(policies.iter().map(|p| p.name.as_str()));
    names.extend(variants.iter().map(|v| v.name.as_str()));
    let mut decisions: Vec<Vec<Decision>> = vec![historical_decisions(&prepared)];
    decisions.extend(replay_all(&all, &prepared.timelines));
    let table = decision_table(&prepared, &members, &names, &decisions);
    let mut frame = table.to_frame()?;
    write_frame(&mut frame, &args.out)?;
    tracing::info!(
        rows = table.len(),
        policies = names.len(),
        conversations = members.len(),
        "wrote {}",
        args.out.display()
    );
    Ok(())
}

/// History's own decisions, as `Decision`s (no situation is reported for them).
pub fn historical_decisions(prepared: &pipeline::Prepared) -> Vec<Decision> {
    prepared.timelines.iter().map(|tl| Decision { point: tl.historical, situation: None }).collect()
}
