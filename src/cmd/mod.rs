//! One file per command; each is thin: parse flags, call the pure cores, write outputs.

pub mod brief;
pub mod detector;
pub mod generate;
pub mod optimize;
pub mod options;
pub mod replay;
pub mod report;
pub mod signals;
pub mod validate;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Report(args) => report::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Signals(args) => signals::run(&args),
        Command::Brief(args) => brief::run(&args),
        Command::Optimize(args) => optimize::run(&args),
        Command::Detector(crate::cli::DetectorCommand::Train(args)) => detector::train(&args),
    }
}
