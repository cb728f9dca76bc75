//! The parsed flags (`cli`) mapped onto the library's option structs, so that the library
//! never sees clap.

use crate::cli;
use crate::error::UsageError;
use crate::estimate::EstimatorKind;
use crate::generate::{self, GenerateOptions, TruthRequest};
use crate::logging;
use crate::pipeline::{DataOptions, PolicyOptions, WindowSpec};
use crate::signals::{DetectorKind, SignalSource};

impl From<cli::LogFormat> for logging::LogFormat {
    fn from(format: cli::LogFormat) -> Self {
        match format {
            cli::LogFormat::Text => logging::LogFormat::Text,
            cli::LogFormat::Json => logging::LogFormat::Json,
        }
    }
}

impl From<cli::DataFormat> for generate::DataFormat {
    fn from(format: cli::DataFormat) -> Self {
        match format {
            cli::DataFormat::Csv => generate::DataFormat::Csv,
            cli::DataFormat::Jsonl => generate::DataFormat::Jsonl,
            cli::DataFormat::Parquet => generate::DataFormat::Parquet,
        }
    }
}

impl From<cli::EstimatorKind> for EstimatorKind {
    fn from(kind: cli::EstimatorKind) -> Self {
        match kind {
            cli::EstimatorKind::Matched => EstimatorKind::Matched,
            cli::EstimatorKind::Dm => EstimatorKind::Dm,
            cli::EstimatorKind::Ipw => EstimatorKind::Ipw,
            cli::EstimatorKind::Snipw => EstimatorKind::Snipw,
            cli::EstimatorKind::Dr => EstimatorKind::Dr,
        }
    }
}

impl From<cli::SignalSource> for SignalSource {
    fn from(source: cli::SignalSource) -> Self {
        match source {
            cli::SignalSource::Auto => SignalSource::Auto,
            cli::SignalSource::Tags => SignalSource::Tags,
            cli::SignalSource::Text => SignalSource::Text,
            cli::SignalSource::Both => SignalSource::Both,
        }
    }
}

impl From<cli::DetectorKind> for DetectorKind {
    fn from(kind: cli::DetectorKind) -> Self {
        match kind {
            cli::DetectorKind::Lexicon => DetectorKind::Lexicon,
            cli::DetectorKind::Model => DetectorKind::Model,
            cli::DetectorKind::Ensemble => DetectorKind::Ensemble,
        }
    }
}

impl From<&cli::EstimateArgs> for crate::estimate::EstimationConfig {
    fn from(a: &cli::EstimateArgs) -> Self {
        crate::estimate::EstimationConfig {
            estimator: a.estimator.into(),
            clip: a.clip,
            tolerance: a.tolerance,
            bootstrap: a.bootstrap,
            seed: a.seed,
        }
    }
}

impl From<&cli::CommonArgs> for DataOptions {
    fn from(args: &cli::CommonArgs) -> Self {
        DataOptions { data: args.data.clone(), max_rejected: args.max_rejected }
    }
}

impl From<&cli::PolicyArgs> for PolicyOptions {
    fn from(args: &cli::PolicyArgs) -> Self {
        PolicyOptions {
            policies: args.policies.clone(),
            signal_source: args.signal_source.map(SignalSource::from),
            detector: args.detector.map(DetectorKind::from),
        }
    }
}

impl From<&cli::WindowArgs> for WindowSpec {
    fn from(args: &cli::WindowArgs) -> Self {
        WindowSpec {
            week: args.week.clone(),
            since: args.since.clone(),
            until: args.until.clone(),
            as_of: args.as_of.clone(),
        }
    }
}

impl TryFrom<&cli::GenerateArgs> for GenerateOptions {
    type Error = UsageError;

    fn try_from(args: &cli::GenerateArgs) -> Result<Self, UsageError> {
        let truth = match (&args.truth, &args.policies) {
            (Some(out), Some(policies)) => {
                Some(TruthRequest { out: out.clone(), policies: policies.clone() })
            }
            (Some(_), None) => return Err(UsageError("--truth needs --policies".into())),
            (None, _) => None,
        };
        Ok(GenerateOptions {
            conversations: args.conversations,
            seed: args.seed,
            weeks: args.weeks,
            start: args.start.clone(),
            format: args.format.into(),
            out: args.out.clone(),
            tags: !args.no_tags,
            log_propensity: args.log_propensity,
            slice_effects: args.slice_effects,
            confound: args.confound,
            truth,
            progress: !args.quiet,
        })
    }
}

/// Starts logging as the shared flags ask.
pub fn init_logging(common: &cli::CommonArgs) {
    logging::init(common.log_format.into(), common.quiet);
}

/// `--by`, `--min-slice`, `--max-slices` checked against the data's conversations columns.
pub fn slice_settings(
    args: &crate::cli::SliceArgs,
    dataset: &crate::model::Dataset,
    data: &std::path::Path,
) -> anyhow::Result<crate::slicing::SliceSettings> {
    use anyhow::Context as _;
    let by: Vec<String> =
        args.by.iter().map(|b| b.trim().to_string()).filter(|b| !b.is_empty()).collect();
    crate::slicing::check_columns(dataset, &by).with_context(|| {
        format!("{}: the conversations table", crate::pipeline::data_display(data))
    })?;
    Ok(crate::slicing::SliceSettings {
        by,
        min_slice: args.min_slice,
        max_slices: args.max_slices as usize,
    })
}
