//! How the searches are written (search.md, "Where it runs and what it writes"):
//! `search.json`, `search.csv`, `recommended.toml` (a policies file that `handoff report
//! --policies` reads back) and the Recommendation section of the pages.

use std::fmt::Write as _;

use anyhow::Context;
use polars::prelude::{Column, DataFrame, PolarsResult};
use serde::Serialize;

use crate::format::{fixed_or_na, interval_or_na};
use crate::policy::routed::FALLBACK;
use crate::policy::sweep::format_value;
use crate::policy::Policy;
use crate::report::history::estimate_columns;
use crate::searching::{RoutedSummary, SearchSummary};
use crate::signals::vocabulary::{Signal, Situation};

/// What `recommended.toml` carries over from the run besides the searches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecommendedContext {
    /// The command to evaluate it every week.
    pub command: String,
    pub window: String,
    /// sha256 over the data files' hashes.
    pub data_hash: String,
    /// The run's as-of (the date of the data).
    pub as_of: String,
    /// The input file's `signal_source`, `detector` and `detector_model` lines, TOML (empty
    /// when not given). `detector_model` is written as an absolute path, so that it names the
    /// same file wherever `recommended.toml` is read from.
    pub signal_source: String,
    /// The input file's `[lexicon]`, `[lexicon.extend]` and `[quality]` tables, TOML.
    pub tables: String,
    /// Every plain policy of the input file (the searches' bases among them).
    pub bases: Vec<Policy>,
}

impl RecommendedContext {
    /// The parts of the policies file `text` that `recommended.toml` repeats.
    /// `detector_model` is the file's model path as resolved when it was read.
    pub fn carry(
        text: &str,
        bases: Vec<Policy>,
        detector_model: Option<&std::path::Path>,
    ) -> anyhow::Result<RecommendedContext> {
        let table: toml::Table = toml::from_str(text).context("re-reading the policies file")?;
        // The keys that decide the signals, in this order, when the file has them.
        let mut signal_source = String::new();
        for key in ["signal_source", "detector"] {
            if let Some(v) = table.get(key) {
                signal_source.push_str(&format!("{key} = {v}\n"));
            }
        }
        if let Some(model) = detector_model {
            let absolute = std::path::absolute(model).unwrap_or_else(|_| model.to_path_buf());
            let value = toml::Value::String(absolute.display().to_string());
            signal_source.push_str(&format!("detector_model = {value}\n"));
        }
        let mut carried = toml::Table::new();
        for key in ["lexicon", "quality"] {
            if let Some(v) = table.get(key) {
                carried.insert(key.to_string(), v.clone());
            }
        }
        let tables = if carried.is_empty() {
            String::new()
        } else {
            toml::to_string(&carried).context("writing the carried tables")?
        };
        Ok(RecommendedContext { signal_source, tables, bases, ..Default::default() })
    }
}

/// `search.json`.
pub fn search_json(searches: &[SearchSummary]) -> anyhow::Result<Vec<u8>> {
    #[derive(Serialize)]
    struct File<'a> {
        searches: &'a [SearchSummary],
    }
    let mut bytes =
        serde_json::to_vec_pretty(&File { searches }).context("encoding search.json")?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `search.csv`: one row per candidate of every search; one column per key any search varies
/// (in order of first appearance), empty where a search does not vary it.
pub fn search_frame(searches: &[SearchSummary]) -> PolarsResult<DataFrame> {
    let mut keys: Vec<String> = Vec::new();
    for s in searches {
        for k in &s.varied {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let rows: Vec<(&SearchSummary, &crate::searching::CandidateSummary)> =
        searches.iter().flat_map(|s| s.all.iter().map(move |c| (s, c))).collect();
    let text = |name: &str, f: &dyn Fn(usize) -> Option<String>| {
        Column::new(name.into(), (0..rows.len()).map(f).collect::<Vec<Option<String>>>())
    };
    let mut columns = vec![
        text("search", &|r| Some(rows[r].0.name.clone())),
        text("name", &|r| Some(rows[r].1.name.clone())),
    ];
    for key in &keys {
        columns.push(text(key, &|r| rows[r].1.keys.get(key).map(key_text)));
    }
    let estimates: Vec<_> = rows.iter().map(|(_, c)| c.net_objective_per_100).collect();
    columns.extend(estimate_columns("net_objective_per_100", &estimates));
    columns.push(Column::new(
        "handoff_rate".into(),
        rows.iter().map(|(_, c)| c.handoff_rate).collect::<Vec<f64>>(),
    ));
    columns.push(Column::new(
        "matched_share".into(),
        rows.iter().map(|(_, c)| c.matched_share).collect::<Vec<f64>>(),
    ));
    columns.push(Column::new(
        "effective_sample_size".into(),
        rows.iter().map(|(_, c)| c.effective_sample_size).collect::<Vec<Option<f64>>>(),
    ));
    columns.push(Column::new(
        "eligible".into(),
        rows.iter().map(|(_, c)| c.eligible).collect::<Vec<bool>>(),
    ));
    columns.push(text("duplicate_of", &|r| rows[r].1.duplicate_of.clone()));
    columns.push(Column::new(
        "duplicates".into(),
        rows.iter().map(|(_, c)| c.duplicates as u64).collect::<Vec<u64>>(),
    ));
    DataFrame::new_infer_height(columns)
}

/// A key's value as one CSV cell: numbers as written, lists as `a|b` (`(none)` when empty).
fn key_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Array(items) if items.is_empty() => "(none)".into(),
        serde_json::Value::Array(items) => {
            items.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join("|")
        }
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The name of search `index`'s recommended policy in `recommended.toml`.
pub fn recommended_name(index: usize, search: &str) -> String {
    if index == 0 {
        "recommended".into()
    } else {
        format!("recommended-{search}")
    }
}

/// `recommended.toml`: each search's recommendation as a named policy, the input's plain
/// policies, and what the input file says of signals and the quality reference.
pub fn recommended_toml(searches: &[SearchSummary], context: &RecommendedContext) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Written by handoff {} for window {}.",
        env!("CARGO_PKG_VERSION"),
        context.window
    );
    match context.data_hash.as_str() {
        "" => writeln!(out, "# Data: read from a database (as of {}).", context.as_of),
        hash => writeln!(out, "# Data: sha256 {hash} (as of {}).", context.as_of),
    }
    .ok();
    for s in searches {
        if let (Some(r), Some(h)) = (&s.recommended, &s.honest) {
            let _ = writeln!(
                out,
                "# Search `{}`: recommended {} ({} changed from `{}`); honest value {} net {} per \
                 100 conversations (95% interval {} to {}), {} versus history.",
                s.name,
                r.name,
                if r.changed_keys.is_empty() {
                    "nothing".to_string()
                } else {
                    r.changed_keys.join(", ")
                },
                s.base,
                fixed_or_na(h.net_objective_per_100.estimate, 2),
                s.objective,
                fixed_or_na(h.net_objective_per_100.low, 2),
                fixed_or_na(h.net_objective_per_100.high, 2),
                fixed_or_na(h.versus_historical.estimate, 2),
            );
            if let Some(routed) = s.recommended_routed() {
                let v = &routed.honest;
                let _ = writeln!(
                    out,
                    "# Routed by {}: honest value {} (95% interval {}), {} versus the single \
                     policy ({}).",
                    routed.by,
                    fixed_or_na(v.net_objective_per_100.estimate, 2),
                    interval_or_na(&v.net_objective_per_100, 2),
                    fixed_or_na(v.versus_single.estimate, 2),
                    interval_or_na(&v.versus_single, 2),
                );
            }
        }
    }
    let _ = writeln!(out, "# Evaluate it every week: {}", context.command);
    out.push('\n');
    out.push_str(&context.signal_source);
    let mut taken: Vec<String> = context.bases.iter().map(|p| p.name.clone()).collect();
    for (index, s) in searches.iter().enumerate() {
        let Some(policy) = &s.policy else { continue };
        let name = unique(&mut taken, &recommended_name(index, &s.name));
        out.push('\n');
        match s.recommended_routed() {
            Some(routed) => {
                let _ = writeln!(
                    out,
                    "# The routed recommendation of search `{}`: a winner per {}",
                    s.name, routed.by
                );
                let mut route = Vec::new();
                let mut plain = Vec::new();
                for (value, p) in &routed.routes {
                    let suffix =
                        if value == FALLBACK { "default".to_string() } else { name_part(value) };
                    let target = unique(&mut taken, &format!("{name}-{suffix}"));
                    // A TOML quoted key: the string's own TOML form (every escape it needs).
                    let key = toml::Value::String(value.clone()).to_string();
                    route.push(format!("{key} = \"{target}\""));
                    plain.push((target, p));
                }
                let _ = writeln!(out, "[[policy]]");
                let _ = writeln!(out, "name = \"{name}\"");
                let _ = writeln!(out, "route_by = {}", toml::Value::String(routed.by.clone()));
                let _ = writeln!(out, "[policy.route]");
                for line in route {
                    let _ = writeln!(out, "{line}");
                }
                for (target, p) in plain {
                    out.push('\n');
                    write_policy(&mut out, &target, p);
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "# {} of search `{}`",
                    s.recommended.as_ref().map_or("", |r| &r.name),
                    s.name
                );
                write_policy(&mut out, &name, policy);
            }
        }
    }
    for base in &context.bases {
        out.push('\n');
        write_policy(&mut out, &base.name, base);
    }
    if !context.tables.is_empty() {
        out.push('\n');
        out.push_str(&context.tables);
    }
    out
}

/// `wanted`, or `wanted-2`, `wanted-3`, ... when taken; the name is then taken.
fn unique(taken: &mut Vec<String>, wanted: &str) -> String {
    let mut name = wanted.to_string();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{wanted}-{n}");
        n += 1;
    }
    taken.push(name.clone());
    name
}

/// A slice value as part of a policy name: every character other than a letter, a digit,
/// `-` or `_` becomes `-`; `(none)` is `none` (search.md).
fn name_part(value: &str) -> String {
    if value == crate::slicing::NONE {
        return "none".into();
    }
    value
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect()
}

fn names<T: Copy>(list: &[T], name: impl Fn(T) -> &'static str) -> String {
    let quoted: Vec<String> = list.iter().map(|&x| format!("\"{}\"", name(x))).collect();
    format!("[{}]", quoted.join(", "))
}

/// One `[[policy]]` table with every key written out.
fn write_policy(out: &mut String, name: &str, p: &Policy) {
    let _ = writeln!(out, "[[policy]]");
    let _ = writeln!(out, "name = \"{name}\"");
    let _ = writeln!(out, "hand_off_on = {}", names(&p.hand_off_on, Situation::name));
    let _ = writeln!(out, "unless = {}", names(&p.unless, |g| g.name()));
    let _ = writeln!(out, "bypass = {}", names(&p.bypass, Situation::name));
    let _ = writeln!(out, "min_qualified = {}", p.min_qualified);
    let _ = writeln!(out, "repeated_objection_after = {}", p.repeated_objection_after);
    let _ = writeln!(out, "enterprise_employees = {}", p.enterprise_employees);
    let _ = writeln!(out, "min_turn = {}", p.min_turn);
    let _ = writeln!(out, "delay = {}", p.delay);
    if p.hand_off_on.contains(&Situation::Score) {
        let weights: Vec<String> = Signal::ALL
            .iter()
            .filter(|s| p.weight(**s) != 0.0)
            .map(|s| format!("\"{}\" = {}", s.name(), format_value(p.weight(*s))))
            .collect();
        let _ = writeln!(out, "weights = {{ {} }}", weights.join(", "));
        let _ = writeln!(out, "threshold = {}", format_value(p.threshold));
    }
}

/// The Recommendation section of `report.md` (and the page), before everything else.
pub fn recommendation_markdown(searches: &[SearchSummary]) -> String {
    let mut out = String::new();
    if searches.is_empty() {
        return out;
    }
    out.push_str("## Recommendation\n\n");
    for s in searches {
        let unit = format!("net {} per 100 conversations", s.objective);
        match (&s.recommended, &s.honest) {
            (Some(r), Some(h)) => {
                let changed = if r.changed_keys.is_empty() {
                    format!("the base policy `{}` as it is", s.base)
                } else {
                    format!("`{}` with {} changed", s.base, r.changed_keys.join(", "))
                };
                if let Some(routed) = s.recommended_routed() {
                    out.push_str(&routed_recommendation(s, routed, &changed, &r.name, &unit));
                } else {
                    let _ = writeln!(
                        out,
                        "**Run {changed}** (`{}`, search `{}`, {} candidates, {} distinct).\n",
                        r.name, s.name, s.candidates, s.distinct
                    );
                    let _ = writeln!(
                        out,
                        "- What searching and deploying the winner would honestly achieve \
                         (cross-fitted over {} folds): **{}** {unit} (95% interval {} to {}); \
                         {} versus history ({} to {}), {} versus `{}` ({} to {}).",
                        h.folds,
                        fixed_or_na(h.net_objective_per_100.estimate, 2),
                        fixed_or_na(h.net_objective_per_100.low, 2),
                        fixed_or_na(h.net_objective_per_100.high, 2),
                        fixed_or_na(h.versus_historical.estimate, 2),
                        fixed_or_na(h.versus_historical.low, 2),
                        fixed_or_na(h.versus_historical.high, 2),
                        fixed_or_na(h.versus_base.estimate, 2),
                        s.base,
                        fixed_or_na(h.versus_base.low, 2),
                        fixed_or_na(h.versus_base.high, 2),
                    );
                    let _ = writeln!(
                        out,
                        "- The search chose the same policy in {} of {} folds.",
                        h.stable_folds, h.folds
                    );
                    let _ = writeln!(
                        out,
                        "- Estimated on the same data that chose it (optimistic): {} {unit} \
                         ({} to {}); history achieved {:.2}.",
                        fixed_or_na(r.in_sample_net_objective_per_100.estimate, 2),
                        fixed_or_na(r.in_sample_net_objective_per_100.low, 2),
                        fixed_or_na(r.in_sample_net_objective_per_100.high, 2),
                        s.historical_net_objective_per_100,
                    );
                    // Routing that does not pay says so.
                    for routed in &s.routed {
                        out.push_str(&routed_markdown(s, routed));
                    }
                }
                let _ = writeln!(
                    out,
                    "- `recommended.toml` in this folder holds it: `handoff report --policies \
                     recommended.toml` evaluates it every week.\n"
                );
            }
            _ => {
                let why = s.problem.clone().unwrap_or_else(|| {
                    "no candidate has enough support in the data (each rests on the outcome \
                     model alone)"
                        .into()
                });
                let _ = writeln!(out, "Search `{}` recommends nothing: {why}.\n", s.name);
            }
        }
    }
    // One line break at the end: the page puts the blank line after it.
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

/// The Recommendation of a search whose routed policy is recommended: the routes, the routed
/// policy's honest value against history and the single policy, the single policy it beats,
/// the folds' stability per slice, and the optimistic in-sample figure.
fn routed_recommendation(
    s: &SearchSummary,
    r: &RoutedSummary,
    single: &str,
    single_name: &str,
    unit: &str,
) -> String {
    let mut out = String::new();
    let routes = routes_text(r);
    let h = &r.honest;
    let _ = writeln!(
        out,
        "**Run a policy per {}**: {} (search `{}`, {} candidates, {} distinct).\n",
        r.by, routes, s.name, s.candidates, s.distinct
    );
    let _ = writeln!(
        out,
        "- What choosing a winner per {} and deploying them would honestly achieve \
         (cross-fitted over {} folds): **{}** {unit} (95% interval {}); {} versus history ({}), \
         {} versus the single policy ({}).",
        r.by,
        h.folds,
        fixed_or_na(h.net_objective_per_100.estimate, 2),
        interval_or_na(&h.net_objective_per_100, 2),
        fixed_or_na(h.versus_historical.estimate, 2),
        interval_or_na(&h.versus_historical, 2),
        fixed_or_na(h.versus_single.estimate, 2),
        interval_or_na(&h.versus_single, 2),
    );
    if let Some(single_value) = &s.honest {
        let _ = writeln!(
            out,
            "- The single policy it beats: {single} (`{single_name}`), honestly {} {unit} ({}).",
            fixed_or_na(single_value.net_objective_per_100.estimate, 2),
            interval_or_na(&single_value.net_objective_per_100, 2),
        );
    }
    let stability: Vec<String> = r
        .slices
        .iter()
        .filter(|slice| slice.own_winner)
        .map(|slice| format!("{} {} of {}", slice.value, slice.stable_folds, h.folds))
        .collect();
    let _ =
        writeln!(out, "- Each {}'s winner was chosen again in: {}.", r.by, stability.join(", "));
    let e = r.in_sample_net_objective_per_100;
    let _ = writeln!(
        out,
        "- Estimated on the same data that chose it (optimistic): {} {unit} ({}); history \
         achieved {:.2}.",
        fixed_or_na(e.estimate, 2),
        interval_or_na(&e, 2),
        s.historical_net_objective_per_100,
    );
    // The other columns' routed policies, with their verdicts.
    for other in s.routed.iter().filter(|o| o.by != r.by) {
        out.push_str(&routed_markdown(s, other));
    }
    out
}

/// "smb → `#3`, enterprise → `#0` (as `*`)": where each slice is routed.
fn routes_text(r: &RoutedSummary) -> String {
    let routes: Vec<String> = r
        .slices
        .iter()
        .map(|slice| {
            let how = if slice.own_winner { "" } else { " (as `*`)" };
            format!("{} → `{}`{how}", slice.value, slice.routed_to)
        })
        .collect();
    routes.join(", ")
}

/// The bullets of one routed search: each slice's winner and the routed policy's honest
/// value against the single policy's.
pub fn routed_markdown(s: &SearchSummary, r: &RoutedSummary) -> String {
    let routes = routes_text(r);
    let h = &r.honest;
    format!(
        "- A policy per {}: {}. Honest value {} net {} per 100 conversations ({}), {} versus \
         the single policy ({}). {}\n",
        r.by,
        routes,
        fixed_or_na(h.net_objective_per_100.estimate, 2),
        s.objective,
        interval_or_na(&h.net_objective_per_100, 2),
        fixed_or_na(h.versus_single.estimate, 2),
        interval_or_na(&h.versus_single, 2),
        r.verdict,
    )
}

/// The Recommendation section as plain lines (the HTML page escapes and lays them out).
pub fn recommendation_lines(searches: &[SearchSummary]) -> Vec<String> {
    recommendation_markdown(searches)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("## "))
        .map(|l| l.trim_start_matches("- ").replace("**", "").replace('`', ""))
        .collect()
}
