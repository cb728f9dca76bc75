//! `handoff report`.

use crate::cli::ReportArgs;

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    anyhow::bail!("handoff report is not implemented yet ({args:?})")
}
