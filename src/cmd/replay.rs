//! `handoff replay`.

use crate::cli::ReplayArgs;

pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    anyhow::bail!("handoff replay is not implemented yet ({args:?})")
}
