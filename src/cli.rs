//! The command line: one clap-derive struct per command. Every flag has a default and may come
//! from a `HANDOFF_*` environment variable (for cron and systemd). Values are range-checked
//! here, as they are parsed (a usage error, exit 2); `cmd` maps the parsed flags onto the
//! library's option structs, so nothing below `cmd` sees clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "handoff",
    version,
    about = "Replay AI-SDR conversations through handoff policies and estimate what each would have achieved."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The weekly job: validate, replay every policy and sweep, estimate, write the report folder.
    Report(ReportArgs),
    /// The per-conversation decision table only.
    Replay(ReplayArgs),
    /// Check a data set against the contract; exit 3 where it is unusable.
    Validate(ValidateArgs),
    /// Write a synthetic data set (and optionally its known truth).
    Generate(GenerateArgs),
    /// The signals found in each prospect message, for checking a lexicon.
    Signals(SignalsArgs),
    /// The context packet a rep receives for one conversation.
    Brief(BriefArgs),
    /// Run the policy searches alone: the leaderboard, the recommendation and its honest
    /// value on stdout, `recommended.toml` written.
    Optimize(OptimizeArgs),
    /// The learned signal detector: train a model on the shipped labels plus your own.
    #[command(subcommand)]
    Detector(DetectorCommand),
}

#[derive(Debug, Subcommand)]
pub enum DetectorCommand {
    /// Train a model on the shipped labelled messages (and --labels), print its
    /// cross-validated precision and recall per signal, write it to --out (load it with
    /// `detector_model = "FILE"` in the policies file).
    Train(DetectorTrainArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DetectorTrainArgs {
    /// Your labelled messages: CSV with columns `text` and `signals` (`;`-separated signal
    /// names, empty for none), added to the shipped ones.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// The model file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Train on --labels only, without the shipped data.
    #[arg(long, requires = "labels")]
    pub no_shipped: bool,
}

impl Command {
    /// The flags every command but `generate` shares (logging, data folder).
    pub fn common(&self) -> Option<&CommonArgs> {
        match self {
            Command::Report(a) => Some(&a.common),
            Command::Replay(a) => Some(&a.common),
            Command::Validate(a) => Some(&a.common),
            Command::Signals(a) => Some(&a.common),
            Command::Brief(a) => Some(&a.common),
            Command::Optimize(a) => Some(&a.common),
            Command::Generate(_) | Command::Detector(_) => None,
        }
    }
}

/// `--log-format`; maps onto `logging::LogFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `--estimator`; maps onto `estimate::EstimatorKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EstimatorKind {
    Matched,
    Dm,
    Ipw,
    Snipw,
    Dr,
}

/// `--signal-source`; maps onto `signals::SignalSource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignalSource {
    Auto,
    Tags,
    Text,
    Both,
}

/// `--detector`; maps onto `signals::DetectorKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DetectorKind {
    Lexicon,
    Model,
    Ensemble,
}

/// Flags every command shares.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Data folder holding the conversations, messages and outcomes tables, or a PostgreSQL
    /// URL whose schema holds them: postgres://user@host:port/db?schema=sdr
    // The value is never echoed back by --help: a URL may carry a password.
    #[arg(long, env = "HANDOFF_DATA", default_value = "data", hide_env_values = true)]
    pub data: PathBuf,
    /// Only errors on stderr.
    #[arg(long, env = "HANDOFF_QUIET")]
    pub quiet: bool,
    /// Log format on stderr.
    #[arg(long, env = "HANDOFF_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Largest share of conversations that may be rejected before the run fails (exit 3).
    #[arg(long, env = "HANDOFF_MAX_REJECTED", default_value_t = 0.01, value_parser = fraction)]
    pub max_rejected: f64,
}

/// Flags of commands that run policies.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// The policies file.
    #[arg(long, env = "HANDOFF_POLICIES", default_value = "data/policies.toml")]
    pub policies: PathBuf,
    /// Where signals come from; overrides the policies file's `signal_source`.
    #[arg(long, env = "HANDOFF_SIGNAL_SOURCE", value_enum)]
    pub signal_source: Option<SignalSource>,
    /// Which detector reads message text (default `ensemble`: the learned model, with the
    /// lexicon's matches it finds plausible and your own phrases as written); overrides the
    /// policies file's `detector`.
    #[arg(long, env = "HANDOFF_DETECTOR", value_enum)]
    pub detector: Option<DetectorKind>,
}

/// Which conversations a run covers.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// An ISO week (`2026-W47`) or `last` (the last complete ISO week before --as-of).
    #[arg(long, env = "HANDOFF_WEEK", conflicts_with_all = ["since", "until"])]
    pub week: Option<String>,
    /// First day of the window (UTC, inclusive), `YYYY-MM-DD`.
    #[arg(long, env = "HANDOFF_SINCE")]
    pub since: Option<String>,
    /// End of the window (UTC, exclusive), `YYYY-MM-DD`.
    #[arg(long, env = "HANDOFF_UNTIL")]
    pub until: Option<String>,
    /// The run's "now": a timestamp, or `now`. Default: the latest timestamp in the data.
    #[arg(long, env = "HANDOFF_AS_OF")]
    pub as_of: Option<String>,
}

/// Estimation flags.
#[derive(Debug, Clone, Args)]
pub struct EstimateArgs {
    #[arg(long, env = "HANDOFF_ESTIMATOR", value_enum, default_value_t = EstimatorKind::Dr)]
    pub estimator: EstimatorKind,
    /// Largest inverse-propensity weight.
    #[arg(long, env = "HANDOFF_CLIP", default_value_t = 50.0, value_parser = clip)]
    pub clip: f64,
    /// `matched` only: agreement within this many decision points.
    #[arg(long, env = "HANDOFF_TOLERANCE", default_value_t = 0)]
    pub tolerance: u32,
    /// Bootstrap replicates for the intervals (0: normal intervals). Either way the intervals
    /// carry the fitted models' own uncertainty.
    #[arg(long, env = "HANDOFF_BOOTSTRAP", default_value_t = 200,
          value_parser = clap::value_parser!(u32).range(..=i64::from(MAX_BOOTSTRAP)))]
    pub bootstrap: u32,
    /// Seed for every random choice (bootstrap).
    #[arg(long, env = "HANDOFF_SEED", default_value_t = 42)]
    pub seed: u64,
    /// A meeting or opportunity counts when it comes within this many days of the start.
    #[arg(long, env = "HANDOFF_OUTCOME_DAYS", default_value_t = 30)]
    pub outcome_days: u32,
}

/// Slicing flags (slices.md).
#[derive(Debug, Clone, Args)]
pub struct SliceArgs {
    /// Also report every figure per value of this conversations column (`segment`,
    /// `channel`, `ai_agent` or any extra column); repeat or comma-separate for several cuts.
    #[arg(long, env = "HANDOFF_BY", value_delimiter = ',', value_name = "COLUMN")]
    pub by: Vec<String>,
    /// Slices with fewer conversations are reported with a warning and get no optimum.
    #[arg(long, env = "HANDOFF_MIN_SLICE", default_value_t = 200)]
    pub min_slice: u64,
    /// At most this many slices per column: the largest K - 1 values, then `(other)`.
    #[arg(long, env = "HANDOFF_MAX_SLICES", default_value_t = 12,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub max_slices: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub estimate: EstimateArgs,
    #[command(flatten)]
    pub slices: SliceArgs,
    #[command(flatten)]
    pub search_limits: SearchLimitArgs,
    /// Strengths of hidden confounding to bound every estimate under (sensitivity.md): how
    /// many times an unrecorded reason may move the odds of history's handoff. `none`: no
    /// sensitivity analysis.
    #[arg(long, env = "HANDOFF_GAMMAS", default_value = "1.25,1.5,2,3", value_parser = gammas)]
    pub gammas: Gammas,
    /// The reports root; the report goes to `<out>/<label>/`.
    #[arg(long, env = "HANDOFF_OUT", default_value = "reports")]
    pub out: PathBuf,
    /// Seconds to wait while another run writes to the same reports root before giving up
    #[arg(long, env = "HANDOFF_LOCK_TIMEOUT", default_value = "60", value_parser = lock_timeout)]
    pub lock_timeout: Duration,
    /// Also write the trend rows (history.parquet's) into the table handoff_history of this
    /// PostgreSQL database: postgres://user@host:port/db?schema=reporting
    #[arg(long, env = "HANDOFF_HISTORY_DB", value_name = "URL", hide_env_values = true)]
    pub history_db: Option<String>,
}

/// The limits of `[[search]]` families (search.md), shared by `report` and `optimize`.
#[derive(Debug, Clone, Args)]
pub struct SearchLimitArgs {
    /// A `[[search]]` whose family has more candidates is refused (exit 2).
    #[arg(long, env = "HANDOFF_MAX_CANDIDATES", default_value_t = crate::searching::DEFAULT_MAX_CANDIDATES)]
    pub max_candidates: u64,
}

#[derive(Debug, Clone, Args)]
pub struct OptimizeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub estimate: EstimateArgs,
    /// Run only the search of this name (default: every `[[search]]` of the policies file).
    #[arg(long, env = "HANDOFF_SEARCH")]
    pub search: Option<String>,
    #[command(flatten)]
    pub search_limits: SearchLimitArgs,
    /// `--by`: also a winner per slice, and the routed policy when it beats the single one.
    #[command(flatten)]
    pub slices: SliceArgs,
    /// Candidates shown in the table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// The policies file written with the recommendation; `FILE.json` beside it gets the
    /// same content as a report's `search.json`.
    #[arg(long, env = "HANDOFF_OPTIMIZE_OUT", default_value = "recommended.toml")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// The decision table, `.csv` or `.parquet`.
    #[arg(long, env = "HANDOFF_REPLAY_OUT", default_value = "reports/decisions.csv")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Also write every rejection to this CSV file.
    #[arg(long)]
    pub rejected: Option<PathBuf>,
}

/// `generate --format`; maps onto `generate::DataFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Csv,
    Jsonl,
    Parquet,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    #[arg(long, env = "HANDOFF_GENERATE_CONVERSATIONS", default_value_t = 2000)]
    pub conversations: u64,
    #[arg(long, env = "HANDOFF_SEED", default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 2)]
    pub weeks: u32,
    /// First day of the data (a Monday is natural), `YYYY-MM-DD`.
    #[arg(long, default_value = "2026-11-09")]
    pub start: String,
    #[arg(long, value_enum, default_value_t = DataFormat::Csv)]
    pub format: DataFormat,
    #[arg(long, default_value = "generated")]
    pub out: PathBuf,
    /// Leave the `signals` column out, so signals must come from text.
    #[arg(long)]
    pub no_tags: bool,
    /// Log the history's handoff probability per prospect message (`handoff_probability`).
    #[arg(long)]
    pub log_propensity: bool,
    /// Make the causal effects differ by segment and add a `region` column with its own
    /// effect (docs/generator.md), to check per-slice estimates against known truth.
    #[arg(long, env = "HANDOFF_GENERATE_SLICE_EFFECTS")]
    pub slice_effects: bool,
    /// Hidden confounding: history's handoffs also depend on the prospect's latent readiness
    /// (never written), with this many log-odds per standard deviation of it (0: none; the
    /// policies' true values do not change). For checking the sensitivity bounds.
    #[arg(long, env = "HANDOFF_GENERATE_CONFOUND", default_value_t = 0.0, value_parser = confound)]
    pub confound: f64,
    /// Also write the true expected rates of every policy and sweep point to this JSON file.
    #[arg(long, requires = "policies")]
    pub truth: Option<PathBuf>,
    /// The policies whose truth `--truth` computes.
    #[arg(long)]
    pub policies: Option<PathBuf>,
    #[arg(long, env = "HANDOFF_QUIET")]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SignalsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Output file, `.csv` or `.parquet`.
    #[arg(long, default_value = "reports/signals.csv")]
    pub out: PathBuf,
    /// Add an `explain` column: the lexicon phrase, or the features that weighed most in the
    /// model, behind each signal found in text.
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BriefArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub policy_args: PolicyArgs,
    /// The conversation id.
    #[arg(long)]
    pub conversation: String,
    /// The packet at this policy's handoff (default: history's).
    #[arg(long)]
    pub policy: Option<String>,
    /// JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
}

/// More bootstrap replicates than any interval needs.
pub const MAX_BOOTSTRAP: u32 = 100_000;

/// Longest `--lock-timeout`, in seconds (a day).
pub const MAX_LOCK_TIMEOUT_SECONDS: f64 = 86_400.0;

/// A number parsed as `f64` that is finite and passes `allowed`; otherwise `expected` says
/// what was wanted (clap names the flag and the value around it).
fn bounded(text: &str, allowed: impl Fn(f64) -> bool, expected: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && allowed(value) => Ok(value),
        _ => Err(expected.to_string()),
    }
}

/// `--max-rejected`: a fraction from 0 to 1.
fn fraction(text: &str) -> Result<f64, String> {
    bounded(text, |v| (0.0..=1.0).contains(&v), "must be a fraction from 0 to 1")
}

/// `--clip`: a weight of at least 1.
fn clip(text: &str) -> Result<f64, String> {
    bounded(text, |v| v >= 1.0, "must be a number >= 1")
}

/// `--confound`: a strength from 0 to 10.
fn confound(text: &str) -> Result<f64, String> {
    bounded(text, |v| (0.0..=10.0).contains(&v), "must be a number from 0 to 10")
}

/// `--gammas`, ascending (empty for `none`).
#[derive(Debug, Clone, PartialEq)]
pub struct Gammas(pub Vec<f64>);

fn gammas(text: &str) -> Result<Gammas, String> {
    crate::estimate::sensitivity::parse_gammas(text).map(Gammas)
}

/// `--lock-timeout`: seconds from 0 to a day.
fn lock_timeout(text: &str) -> Result<Duration, String> {
    let seconds = bounded(
        text,
        |v| (0.0..=MAX_LOCK_TIMEOUT_SECONDS).contains(&v),
        "must be a number of seconds from 0 to 86400",
    )?;
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_parsers_accept_their_bounds_and_refuse_the_rest() {
        assert_eq!(fraction("0"), Ok(0.0));
        assert_eq!(fraction("1"), Ok(1.0));
        for bad in ["-0.1", "1.01", "NaN", "inf", "x", ""] {
            assert!(fraction(bad).is_err(), "{bad:?}");
        }
        assert_eq!(clip("1"), Ok(1.0));
        for bad in ["0.99", "inf", "NaN", "-5"] {
            assert!(clip(bad).is_err(), "{bad:?}");
        }
        assert_eq!(lock_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(lock_timeout("86400"), Ok(Duration::from_secs(86_400)));
        for bad in ["-1", "86400.5", "NaN", "1e300"] {
            assert!(lock_timeout(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bootstrap_is_capped() {
        let parse = |value: &str| Cli::try_parse_from(["handoff", "report", "--bootstrap", value]);
        assert!(parse("100000").is_ok());
        assert!(parse("100001").is_err());
    }
}
