//! `handoff replay`: the per-conversation decision table of every policy and sweep variant.

use crate::cli::ReplayArgs;
use crate::cmd::options::init_logging;
use crate::pipeline::{self, all_policies, decision_table, prepare_without_text, WindowSpec};
use crate::replay::{replay_all, Decision};
use crate::report::frame::{is_parquet_output, write_frame};

pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    init_logging(&args.common);
    is_parquet_output(&args.out)?;
    let window_spec = WindowSpec::from(&args.window);
    pipeline::check_window_flags(&window_spec)?;
    let prepared = prepare_without_text(&(&args.common).into(), &(&args.policy).into())?;
    let (window, _) = pipeline::resolve_window(&window_spec, &prepared.dataset)?;
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
