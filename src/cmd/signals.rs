//! `handoff signals`.

use crate::cli::SignalsArgs;

pub fn run(args: &SignalsArgs) -> anyhow::Result<()> {
    anyhow::bail!("handoff signals is not implemented yet ({args:?})")
}
