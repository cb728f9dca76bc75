//! `handoff generate`.

use crate::cli::GenerateArgs;

pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    anyhow::bail!("handoff generate is not implemented yet ({args:?})")
}
