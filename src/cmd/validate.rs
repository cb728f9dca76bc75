//! `handoff validate`.

use crate::cli::ValidateArgs;

pub fn run(args: &ValidateArgs) -> anyhow::Result<()> {
    anyhow::bail!("handoff validate is not implemented yet ({args:?})")
}
