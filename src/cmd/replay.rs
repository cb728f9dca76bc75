//! `handoff replay`: the per-conversation decision table of every policy and sweep variant.

use crate::cli::ReplayArgs;
use crate::cmd::options::init_logging;
use crate::decisions::DecisionTable;
use crate::pipeline::{self, prepare_without_text, WindowSpec};
use crate::policy::all_policies;
use crate::replay::Replayed;
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
    let replayed = Replayed::run(&policies, &variants, &prepared.timelines).with_routed(
        policies.len(),
        &prepared.policies.routed,
        &prepared.dataset,
    );
    let table = DecisionTable::build(
        &prepared.dataset.conversations,
        &prepared.timelines,
        &members,
        &replayed.names,
        &replayed.decisions,
    );
    let mut frame = table.to_frame()?;
    write_frame(&mut frame, &args.out)?;
    tracing::info!(
        rows = table.len(),
        policies = replayed.names.len(),
        conversations = members.len(),
        "wrote {}",
        args.out.display()
    );
    Ok(())
}
