//! `handoff generate`: a synthetic data set with known truth (see `generate`).

use crate::cli::GenerateArgs;
use crate::generate::GenerateOptions;
use crate::logging::LogFormat;

pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    crate::logging::init(LogFormat::Text, args.quiet);
    let options = GenerateOptions::try_from(args)?;
    let stats = crate::generate::run(&options)?;
    tracing::info!(
        "wrote {} conversations, {} messages, {} outcome rows ({} handed off) to {}",
        stats.conversations,
        stats.messages,
        stats.outcomes,
        stats.handoffs,
        args.out.display()
    );
    Ok(())
}
