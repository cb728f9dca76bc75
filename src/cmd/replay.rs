//! `handoff replay`: the per-conversation decision table of every policy and sweep variant.

use crate::cli::ReplayArgs;
use crate::decisions::DecisionTable;
use crate::pipeline::{self, prepare_without_text, write_frame};
use crate::policy::all_policies;
use crate::replay::Replayed;

pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    crate::logging::init(args.common.log_format, args.common.quiet);
    crate::pipeline::is_parquet_output(&args.out)?;
    pipeline::check_window_flags(&args.window)?;
    let prepared = prepare_without_text(&args.common, &args.policy)?;
    let (window, _) = pipeline::resolve_window(&args.window, &prepared.dataset)?;
    let members = pipeline::window_members(&prepared.dataset, &window)?;
    let (policies, variants) = all_policies(&prepared.policies);
    let replayed = Replayed::run(&policies, &variants, &prepared.timelines);
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
