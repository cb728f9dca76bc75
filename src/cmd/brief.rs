//! `handoff brief`.

use crate::cli::BriefArgs;

pub fn run(args: &BriefArgs) -> anyhow::Result<()> {
    anyhow::bail!("handoff brief is not implemented yet ({args:?})")
}
