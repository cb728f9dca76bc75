//! `handoff optimize`: the searches alone, for an analyst. Fits the models as `report` does,
//! runs every `[[search]]` (or `--search NAME`), prints the leaderboard, the recommendation
//! and its honest value, and writes `recommended.toml` with `recommended.json` beside it.

use std::fmt::Write as _;

use crate::analysis::{analyse_searches, AnalysisSettings};
use crate::cli::OptimizeArgs;
use crate::cmd::options::init_logging;
use crate::error::UsageError;
use crate::estimate::EstimationConfig;
use crate::format::{fixed_or_na, interval_or_na, percent};
use crate::pipeline::{self, prepare_without_text, WindowSpec};
use crate::report::atomic::replace_file;
use crate::report::search::{recommended_toml, search_json};
use crate::report::RunInfo;
use crate::searching::SearchSummary;

pub fn run(args: &OptimizeArgs) -> anyhow::Result<()> {
    init_logging(&args.common);
    let window_spec = WindowSpec::from(&args.window);
    pipeline::check_window_flags(&window_spec)?;
    let file = crate::policy::file::load_policies(&args.policy.policies)?;
    let path = args.policy.policies.display().to_string();
    if file.searches.is_empty() {
        return Err(UsageError(format!("{path}: has no [[search]] block to run")).into());
    }
    if let Some(name) = &args.search {
        if !file.searches.iter().any(|s| &s.name == name) {
            let names: Vec<&str> = file.searches.iter().map(|s| s.name.as_str()).collect();
            return Err(UsageError(format!(
                "{path}: no search named `{name}` (it has {})",
                names.join(", ")
            ))
            .into());
        }
    }
    crate::searching::check_family_sizes(&file, &path, args.search_limits.max_candidates)?;
    let prepared = prepare_without_text(&(&args.common).into(), &(&args.policy).into())?;
    let (window, as_of) = pipeline::resolve_window(&window_spec, &prepared.dataset)?;
    let members = pipeline::window_members(&prepared.dataset, &window)?;
    let slices =
        crate::cmd::options::slice_settings(&args.slices, &prepared.dataset, &args.common.data)?;
    let settings = AnalysisSettings {
        estimation: EstimationConfig::from(&args.estimate),
        outcome_days: args.estimate.outcome_days,
        as_of,
        slices,
        // The searches alone: no sensitivity analysis (the report's has the bounds).
        gammas: Vec::new(),
    };
    tracing::info!(window = %window.label, conversations = members.len(), "searching");
    let searches = analyse_searches(&prepared.inputs(), &window, &settings, args.search.as_deref());
    let mut inputs: Vec<&std::path::Path> =
        prepared.dataset.files.iter().map(|p| p.as_path()).collect();
    inputs.push(&args.policy.policies);
    let argv = std::env::args().map(|a| crate::pg::redact(&a)).collect();
    let run = RunInfo::start(argv, &inputs, args.estimate.seed)?;
    let context = crate::cmd::report::recommended_context(
        &args.policy.policies,
        &args.common.data,
        &run,
        &window.label,
        &crate::time::date_or_rfc3339_seconds(as_of),
        &prepared.policies.policies,
        prepared.policies.detector_model.as_deref(),
    )?;
    let toml = recommended_toml(&searches, &context);
    let json = search_json(&searches)?;
    let json_path = args.out.with_extension("json");
    replace_file(&args.out, toml.as_bytes())?;
    replace_file(&json_path, &json)?;
    print!("{}", table(&searches, args.top));
    println!("\nwrote {} and {}", args.out.display(), json_path.display());
    Ok(())
}

/// The table a person reads: per search, the top candidates, the recommendation, its honest
/// value and the comparisons.
fn table(searches: &[SearchSummary], top: usize) -> String {
    let mut out = String::new();
    for s in searches {
        let _ = writeln!(
            out,
            "search {} (base {}, objective {}, handoff cost {}): {} candidates, {} distinct",
            s.name, s.base, s.objective, s.handoff_cost, s.candidates, s.distinct
        );
        if let Some(problem) = &s.problem {
            let _ = writeln!(out, "  not run: {problem}");
            continue;
        }
        let _ = writeln!(
            out,
            "  {:<24} {:>8} {:>19} {:>8} {:>8} {:>8}  keys",
            "candidate", "net/100", "95% interval", "handoff", "matched", "eligible"
        );
        let shown: Vec<_> = s.top.iter().take(top).collect();
        for c in shown {
            let keys: Vec<String> = c.keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let e = c.net_objective_per_100;
            let _ = writeln!(
                out,
                "  {:<24} {:>8} {:>19} {:>8} {:>8} {:>8}  {}",
                c.name,
                fixed_or_na(e.estimate, 2),
                format!("{} to {}", fixed_or_na(e.low, 2), fixed_or_na(e.high, 2)),
                percent(c.handoff_rate),
                percent(c.matched_share),
                if c.eligible { "yes" } else { "no" },
                keys.join(" ")
            );
        }
        match (&s.recommended, &s.honest) {
            (Some(r), Some(h)) => {
                let e = r.in_sample_net_objective_per_100;
                let _ = writeln!(
                    out,
                    "  recommended: {} (changes {}); on the data that chose it (optimistic) {} \
                     net per 100",
                    r.name,
                    if r.changed_keys.is_empty() {
                        "nothing".into()
                    } else {
                        r.changed_keys.join(", ")
                    },
                    fixed_or_na(e.estimate, 2)
                );
                let v = h.net_objective_per_100;
                let _ = writeln!(
                    out,
                    "  honest value of searching (cross-fitted, {} folds): {} net per 100 ({} to {})",
                    h.folds,
                    fixed_or_na(v.estimate, 2),
                    fixed_or_na(v.low, 2),
                    fixed_or_na(v.high, 2)
                );
                for (label, d) in
                    [("historical", h.versus_historical), (s.base.as_str(), h.versus_base)]
                {
                    let _ = writeln!(
                        out,
                        "    versus {label}: {} ({} to {})",
                        fixed_or_na(d.estimate, 2),
                        fixed_or_na(d.low, 2),
                        fixed_or_na(d.high, 2)
                    );
                }
                let _ = writeln!(
                    out,
                    "  the search chose the same policy in {} of {} folds",
                    h.stable_folds, h.folds
                );
                for routed in &s.routed {
                    let _ = writeln!(out, "  per {}:", routed.by);
                    for slice in &routed.slices {
                        let e = slice.in_sample_net_objective_per_100;
                        let _ = writeln!(
                            out,
                            "    {:<20} {:>7} conversations -> {} ({} net per 100 there, \
                             optimistic; {})",
                            slice.value,
                            slice.conversations,
                            slice.routed_to,
                            fixed_or_na(e.estimate, 2),
                            if slice.own_winner {
                                format!("chosen in {} of {} folds", slice.stable_folds, h.folds)
                            } else {
                                "as *: no winner of its own".to_string()
                            }
                        );
                    }
                    let v = routed.honest.net_objective_per_100;
                    let d = routed.honest.versus_single;
                    let _ = writeln!(
                        out,
                        "    honest value {} ({}); versus the single policy {} ({})",
                        fixed_or_na(v.estimate, 2),
                        interval_or_na(&v, 2),
                        fixed_or_na(d.estimate, 2),
                        interval_or_na(&d, 2)
                    );
                    let _ = writeln!(out, "    {}", routed.verdict);
                }
            }
            _ => {
                let _ = writeln!(out, "  recommended: none (no candidate has enough support)");
            }
        }
    }
    out
}
