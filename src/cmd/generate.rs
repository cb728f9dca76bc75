//! `handoff generate`: a synthetic data set with known truth (see `generate`).

use crate::cli::{GenerateArgs, LogFormat};

pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    crate::logging::init(LogFormat::Text, args.quiet);
    let stats = crate::generate::run(args)?;
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
