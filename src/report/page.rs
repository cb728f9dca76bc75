//! The report page: one view model built from `ReportData` (every number already formatted),
//! rendered twice: as Markdown (`report.md`, charts linked as PNG) and as one self-contained
//! HTML page (`report.html`, minijinja with auto-escaping, charts inlined as data: URIs so the
//! page loads nothing from the network and no chart markup can inject script).

use anyhow::Context;
use serde::Serialize;

use crate::estimate::Rate;
use crate::format::{exact_or_na, fixed, fixed_or_na, percent_or_na, shortest, thousands};
use crate::report::charts::{slice_chart_names, SENSITIVITY_CHART};
use crate::report::slices::{
    bonferroni_slices, headline_label, headline_rate, is_thin, policy_names, THIN_WARNING,
};
use crate::report::ReportData;
use crate::summary::{Estimate, PolicySummary, Slice, SliceCut, Summary, SweepSummary};

const HTML_TEMPLATE: &str = include_str!("templates/report.html");
const MARKDOWN_TEMPLATE: &str = include_str!("templates/report.md");

#[derive(Debug, Serialize)]
struct PageView {
    title: String,
    window_label: String,
    window_span: String,
    /// The Recommendation section (Markdown), first on the page; empty without searches.
    recommendation: String,
    /// The same, as plain lines for the HTML page.
    recommendation_lines: Vec<String>,
    findings: Vec<String>,
    warnings: Vec<String>,
    policies: Vec<PolicyView>,
    charts: Vec<ChartView>,
    sweeps: Vec<SweepView>,
    /// One section per `--by` column; empty without `--by` (the page is then unchanged).
    slices: Vec<SliceCutView>,
    /// The sensitivity section; absent with `--gammas none` (the page is then unchanged).
    sensitivity: Option<SensitivityView>,
    data: Vec<(String, String)>,
    quality: Vec<(String, String)>,
    settings: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
struct PolicyView {
    name: String,
    kind: String,
    handoffs: Fig,
    handoff_rate: Fig,
    handoff_to_meeting: Fig,
    handoff_to_opportunity: Fig,
    meeting_rate: Fig,
    opportunity_rate: Fig,
    pipeline: Fig,
    quality: Fig,
    median_turn: Fig,
    support: Fig,
    warnings: Vec<String>,
}

/// A figure and its interval, kept apart so the page can stack them; Markdown joins them.
#[derive(Debug, Serialize)]
struct Fig {
    v: String,
    ci: String,
}

impl Fig {
    fn plain(v: String) -> Fig {
        Fig { v, ci: String::new() }
    }
    fn percent(e: Estimate) -> Fig {
        match (e.estimate, e.low, e.high) {
            (Some(_), Some(_), Some(_)) => Fig {
                v: percent_or_na(e.estimate),
                ci: format!(
                    "{}–{}",
                    percent_or_na(e.low).trim_end_matches('%'),
                    percent_or_na(e.high)
                ),
            },
            _ => Fig::plain(percent_or_na(e.estimate)),
        }
    }
    /// A share as a count per 100 with one decimal, interval included (`24.1`, `19.0 to
    /// 29.5`), as the findings write rates per conversation.
    fn per_hundred(e: Estimate) -> Fig {
        let scale = |x: Option<f64>| x.map(|v| 100.0 * v);
        Fig::fixed(
            Estimate { estimate: scale(e.estimate), low: scale(e.low), high: scale(e.high) },
            1,
        )
    }
    fn fixed(e: Estimate, decimals: usize) -> Fig {
        match (e.estimate, e.low, e.high) {
            (Some(_), Some(_), Some(_)) => Fig {
                v: fixed_or_na(e.estimate, decimals),
                ci: format!(
                    "{} to {}",
                    fixed_or_na(e.low, decimals),
                    fixed_or_na(e.high, decimals)
                ),
            },
            _ => Fig::plain(fixed_or_na(e.estimate, decimals)),
        }
    }
}

#[derive(Debug, Serialize)]
struct ChartView {
    name: String,
    title: String,
    /// A `data:` URI (SVG preferred, PNG otherwise); empty when neither file could be read.
    src: String,
    /// `charts/<name>.png`, for Markdown.
    png: String,
}

/// Sensitivity to hidden confounding (sensitivity.md): how to read it, the robustness value
/// of each headline comparison, and the chart.
#[derive(Debug, Serialize)]
struct SensitivityView {
    /// How to read the section (or why it was skipped).
    notes: Vec<String>,
    rows: Vec<ComparisonView>,
    chart: Option<ChartView>,
}

#[derive(Debug, Serialize)]
struct ComparisonView {
    comparison: String,
    objective: String,
    difference: Fig,
    robustness: String,
}

#[derive(Debug, Serialize)]
struct SweepView {
    title: String,
    objective: String,
    optimum: String,
    points: Vec<SweepPointView>,
}

/// A `--by` column's section: its findings, the Bonferroni note, the slice x policy table of
/// the headline objective and its small-multiples chart.
#[derive(Debug, Serialize)]
struct SliceCutView {
    title: String,
    /// The chart's file stem, also the section's HTML id.
    anchor: String,
    findings: Vec<String>,
    level_note: String,
    /// What the table's cells are, and how to read them.
    caption: String,
    /// The named policies, then one column per sweep (its optimum in the slice).
    columns: Vec<String>,
    rows: Vec<SliceRowView>,
    /// (slice, warning), the slice's own warnings first, then its policies'.
    warnings: Vec<(String, String)>,
    chart: Option<ChartView>,
}

#[derive(Debug, Serialize)]
struct SliceRowView {
    value: String,
    conversations: String,
    thin: bool,
    cells: Vec<CellView>,
}

#[derive(Debug, Serialize)]
struct CellView {
    fig: Fig,
    /// The slice's highest headline estimate (shown in bold; a reading aid, not a verdict).
    top: bool,
}

#[derive(Debug, Serialize)]
struct SweepPointView {
    value: String,
    net: Fig,
    handoff_rate: Fig,
    handoff_to_meeting: Fig,
    handoff_to_opportunity: Fig,
    is_optimal: bool,
}

/// `report.md`: the embedded Markdown template, its text escaped by the `md` and `cell`
/// filters (Markdown has no auto-escaping).
pub fn render_markdown(data: &ReportData) -> anyhow::Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // Block tags sit on lines of their own; the page's blank lines are written out.
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_filter("md", |text: String| md_text(&text));
    env.add_filter("cell", |text: String| md_cell(&text));
    env.add_template("report.md", MARKDOWN_TEMPLATE).context("parsing the report.md template")?;
    let template = env.get_template("report.md").context("loading the report.md template")?;
    template.render(view(data)).context("rendering report.md")
}

/// `report.html`: the embedded template, auto-escaped (the template's name ends in `.html`).
pub fn render_html(data: &ReportData) -> anyhow::Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("report.html", HTML_TEMPLATE).context("parsing the report.html template")?;
    let template = env.get_template("report.html").context("loading the report.html template")?;
    let mut html = template.render(view(data)).context("rendering report.html")?;
    if !html.ends_with('\n') {
        html.push('\n');
    }
    Ok(html)
}

fn view(data: &ReportData) -> PageView {
    let s = &data.summary;
    let slice_charts = slice_chart_names(&s.slices);
    PageView {
        title: format!("Handoff policy report: {}", s.window.label),
        window_label: s.window.label.clone(),
        window_span: window_span(s),
        recommendation: crate::report::search::recommendation_markdown(&data.summary.searches),
        recommendation_lines: crate::report::search::recommendation_lines(&data.summary.searches),
        findings: s.findings.clone(),
        warnings: s.warnings.clone(),
        policies: s.policies.iter().map(policy_view).collect(),
        // A cut's chart is shown in its own section, not twice; so is the sensitivity chart.
        charts: data
            .charts
            .iter()
            .filter(|c| !slice_charts.contains(&c.name) && c.name != SENSITIVITY_CHART)
            .map(chart_view)
            .collect(),
        sweeps: s.sweeps.iter().map(sweep_view).collect(),
        slices: s
            .slices
            .iter()
            .zip(&slice_charts)
            .map(|(cut, name)| {
                let chart = data.charts.iter().find(|c| c.name == *name);
                slice_cut_view(s, cut, name, chart)
            })
            .collect(),
        sensitivity: sensitivity_view(data),
        data: data_rows(s),
        quality: quality_rows(s),
        settings: settings_rows(s),
    }
}

fn window_span(s: &Summary) -> String {
    let conv = format!(
        "{} conversations, {} messages; estimator {}.",
        s.data.conversations, s.data.messages, s.estimator
    );
    match (&s.window.since, &s.window.until) {
        (Some(a), Some(b)) => {
            format!("Conversations started from {a} up to (not including) {b}, UTC: {conv}")
        }
        (Some(a), None) => format!("Conversations started from {a} on, UTC: {conv}"),
        (None, Some(b)) => format!("Conversations started before {b}, UTC: {conv}"),
        (None, None) => format!("All conversations in the data: {conv}"),
    }
}

fn policy_view(p: &PolicySummary) -> PolicyView {
    let matched = p.matched_share.map(|m| format!("matched {}", percent_or_na(Some(m))));
    let ess = p.effective_sample_size.map(|e| format!("ESS {}", fixed_or_na(Some(e), 0)));
    let support = match (matched, ess) {
        (Some(m), Some(e)) => Fig { v: m, ci: e },
        (Some(one), None) | (None, Some(one)) => Fig::plain(one),
        (None, None) => Fig::plain("n/a".into()),
    };
    PolicyView {
        name: p.name.clone(),
        kind: p.kind.name().to_string(),
        handoffs: Fig::plain(p.handoffs.to_string()),
        handoff_rate: Fig::plain(percent_or_na(Some(p.rates.handoff_rate))),
        handoff_to_meeting: Fig::percent(p.rates.handoff_to_meeting),
        handoff_to_opportunity: Fig::percent(p.rates.handoff_to_opportunity),
        meeting_rate: Fig::percent(p.rates.meeting_rate),
        opportunity_rate: Fig::percent(p.rates.opportunity_rate),
        pipeline: Fig::fixed(p.rates.pipeline_per_conversation, 0),
        quality: Fig::fixed(p.quality_score, 2),
        median_turn: Fig::plain(fixed_or_na(p.median_handoff_turn, 1)),
        support,
        warnings: p.warnings.clone(),
    }
}

fn sweep_view(s: &SweepSummary) -> SweepView {
    let optimum = match &s.optimal {
        None => "No value of this sweep could be estimated.".to_string(),
        Some(o) => {
            let best = format!(
                "Best {} = {}: net {} per 100 conversations {}",
                s.parameter,
                exact_or_na(o.value),
                s.objective,
                est_num(o.net_objective_per_100, 1)
            );
            match o.runner_up {
                None => format!("{best}; no other value decides differently."),
                Some(r) if o.beats_runner_up => format!(
                    "{best}; it beats the runner-up {} = {} by {}.",
                    s.parameter,
                    exact_or_na(r),
                    est_num(o.difference, 1)
                ),
                Some(r) => format!(
                    "{best}; it does not clearly beat the runner-up {} = {} (difference {}), \
                     so the data cannot tell these values apart.",
                    s.parameter,
                    exact_or_na(r),
                    est_num(o.difference, 1)
                ),
            }
        }
    };
    SweepView {
        title: format!(
            "{}: {} ({} objective, handoff cost {})",
            s.policy,
            s.parameter,
            s.objective,
            exact_or_na(s.handoff_cost)
        ),
        objective: format!("Net {} per 100", s.objective),
        optimum,
        points: s
            .points
            .iter()
            .map(|p| SweepPointView {
                value: exact_or_na(p.value),
                net: Fig::fixed(p.net_objective_per_100, 1),
                handoff_rate: Fig::plain(percent_or_na(Some(p.rates.handoff_rate))),
                handoff_to_meeting: Fig::percent(p.rates.handoff_to_meeting),
                handoff_to_opportunity: Fig::percent(p.rates.handoff_to_opportunity),
                is_optimal: s.optimal.as_ref().is_some_and(|o| o.variant == p.variant),
            })
            .collect(),
    }
}

fn slice_cut_view(
    s: &Summary,
    cut: &SliceCut,
    anchor: &str,
    chart: Option<&crate::report::charts::ChartFile>,
) -> SliceCutView {
    let rate = headline_rate(s);
    let names = policy_names(s, cut);
    let mut columns = names.clone();
    columns.extend(s.sweeps.iter().map(|w| format!("Best {} of {}", w.parameter, w.policy)));
    let rows = cut
        .values
        .iter()
        .map(|slice| {
            let thin = is_thin(cut, slice);
            let figures: Vec<Estimate> = names
                .iter()
                .map(|n| {
                    let policy = slice.policies.iter().find(|p| p.name == *n);
                    policy.map_or(Estimate::NULL, |p| p.rates.get(rate))
                })
                .collect();
            let top = if thin { None } else { highest(&figures) };
            let mut cells: Vec<CellView> = figures
                .iter()
                .enumerate()
                .map(|(i, e)| CellView { fig: headline_fig(rate, *e), top: top == Some(i) })
                .collect();
            cells.extend(
                s.sweeps.iter().map(|w| CellView { fig: slice_optimum(slice, w), top: false }),
            );
            SliceRowView {
                value: slice.value.clone(),
                conversations: thousands(slice.conversations),
                thin,
                cells,
            }
        })
        .collect();
    let mut caption = format!(
        "Each cell: {} under the policy in the slice, with its 95% interval.",
        headline_label(rate).to_lowercase()
    );
    caption
        .push_str(" Bold: the slice's highest estimate, not necessarily beyond the uncertainty.");
    if !s.sweeps.is_empty() {
        caption.push_str(" Best: the slice's own optimum of each sweep.");
    }
    SliceCutView {
        title: format!("By {}", cut.by),
        anchor: anchor.to_string(),
        findings: cut.findings.clone(),
        level_note: level_note(cut, !s.sweeps.is_empty()),
        caption,
        columns,
        rows,
        warnings: slice_warnings(cut),
        chart: chart.map(chart_view),
    }
}

/// The headline figure of one policy in one slice: per 100 conversations for a share, in the
/// page's pipeline form (no decimals) for pipeline per conversation.
fn headline_fig(rate: Rate, e: Estimate) -> Fig {
    if rate.is_share() {
        Fig::per_hundred(e)
    } else {
        Fig::fixed(e, 0)
    }
}

/// The index of the highest estimate, when at least two policies have one (one alone is not
/// "the highest" of anything).
fn highest(figures: &[Estimate]) -> Option<usize> {
    let known: Vec<(usize, f64)> = figures
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.estimate.filter(|v| v.is_finite()).map(|v| (i, v)))
        .collect();
    if known.len() < 2 {
        return None;
    }
    // The first of equal estimates, so the mark does not depend on float ties' order.
    known
        .iter()
        .fold(None, |best: Option<(usize, f64)>, &(i, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, _)| i)
}

/// A slice's optimum of `sweep` (matched by policy and parameter): the value, and whether it
/// beats its runner-up at the Bonferroni level.
fn slice_optimum(slice: &Slice, sweep: &SweepSummary) -> Fig {
    let own =
        slice.sweeps.iter().find(|w| w.policy == sweep.policy && w.parameter == sweep.parameter);
    match own.and_then(|w| w.optimal.as_ref()) {
        None => Fig::plain(crate::format::NOT_AVAILABLE.into()),
        Some(o) => Fig {
            v: exact_or_na(o.value),
            ci: match o.runner_up {
                None => "no other value differs".into(),
                Some(_) if o.beats_runner_up => "beats the runner-up".into(),
                Some(r) => format!("not told apart from {}", exact_or_na(r)),
            },
        },
    }
}

/// The one sentence on the Bonferroni level (slices.md): with `k` slices, one of them looks
/// better than its runner-up by chance unless each is held to `1 - 0.05/k`.
fn level_note(cut: &SliceCut, has_sweeps: bool) -> String {
    if !(cut.level > 0.0 && cut.level < 1.0) {
        return String::new();
    }
    let level = percent_or_na(Some(cut.level));
    let (start, rule) = match bonferroni_slices(cut.level) {
        Some(k) => (format!("With {k} slices, "), format!(" (1 − 0.05/{k}, Bonferroni)")),
        None => (String::new(), " (Bonferroni over the slices)".to_string()),
    };
    let claim = if has_sweeps {
        "each slice's optimum is called better than its runner-up"
    } else {
        "the best policy is said to differ between slices"
    };
    let mut sentence = format!(
        "{start}{claim} only at the {level} level{rule}, so that chance alone does not make one \
         slice look different."
    );
    if let Some(first) = sentence.get(..1) {
        sentence = first.to_uppercase() + &sentence[1..];
    }
    sentence
}

/// Every slice's warnings, then its policies' that the slice does not already carry (a thin
/// slice's warning is repeated on each of its figures; the page says it once).
fn slice_warnings(cut: &SliceCut) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for slice in &cut.values {
        for w in &slice.warnings {
            out.push((slice.value.clone(), w.clone()));
        }
        let thin = is_thin(cut, slice);
        for p in &slice.policies {
            // The row already says a thin slice has too few conversations.
            let repeated =
                |w: &String| slice.warnings.contains(w) || (thin && w.contains(THIN_WARNING));
            for w in p.warnings.iter().filter(|w| !repeated(w)) {
                out.push((format!("{} · {}", slice.value, p.name), w.clone()));
            }
        }
    }
    out
}

fn sensitivity_view(data: &ReportData) -> Option<SensitivityView> {
    let sensitivity = data.summary.sensitivity.as_ref()?;
    if let Some(reason) = &sensitivity.skipped {
        return Some(SensitivityView {
            notes: vec![format!("No sensitivity analysis: {reason}.")],
            rows: Vec::new(),
            chart: None,
        });
    }
    let gammas: Vec<String> = sensitivity.gammas.iter().map(|g| shortest(*g)).collect();
    let notes = vec![
        format!(
            "Every estimate assumes history's handoffs depended only on what the data records. \
             The bounds (Γ = {} in summary.json, the chart below) say how far each estimate \
             could move if an unrecorded reason, such as tone or urgency a rep heard, moved the \
             odds of a handoff by up to Γ times.",
            gammas.join(", ")
        ),
        "A comparison's robustness value is the largest Γ at which its advantage still holds: \
         near 1 means a small unrecorded influence on history's handoffs could erase it; 2 or \
         more means such an influence would have to double the odds of a handoff, or more, \
         before the advantage could vanish."
            .to_string(),
    ];
    let rows = sensitivity
        .comparisons
        .iter()
        .map(|c| {
            let per_rate = !c.objective.contains("net per 100");
            ComparisonView {
                comparison: format!("{} vs {}", c.policy, c.versus),
                objective: if per_rate {
                    format!("{} per 100 conversations", c.objective)
                } else {
                    c.objective.clone()
                },
                difference: if per_rate {
                    Fig::per_hundred(c.difference)
                } else {
                    Fig::fixed(c.difference, 1)
                },
                robustness: match c.robustness_gamma {
                    Some(g) if g >= crate::estimate::sensitivity::MAX_GAMMA => {
                        format!("at least {}", fixed(g, 2))
                    }
                    Some(g) => fixed(g, 2),
                    None => "none (no advantage)".to_string(),
                },
            }
        })
        .collect();
    let chart = data.charts.iter().find(|c| c.name == SENSITIVITY_CHART).map(chart_view);
    Some(SensitivityView { notes, rows, chart })
}

fn chart_view(c: &crate::report::charts::ChartFile) -> ChartView {
    let src = match (std::fs::read(&c.svg), std::fs::read(&c.png)) {
        (Ok(svg), _) => format!("data:image/svg+xml;base64,{}", base64(&svg)),
        (_, Ok(png)) => format!("data:image/png;base64,{}", base64(&png)),
        _ => String::new(),
    };
    ChartView {
        name: c.name.clone(),
        title: c.title.clone(),
        src,
        png: format!("charts/{}.png", c.name),
    }
}

fn data_rows(s: &Summary) -> Vec<(String, String)> {
    vec![
        ("Conversations analysed".into(), s.data.conversations.to_string()),
        ("Messages".into(), s.data.messages.to_string()),
        ("Rejected conversations".into(), s.data.rejected_conversations.to_string()),
        ("Rejected rows".into(), s.data.rejected_rows.to_string()),
    ]
}

fn quality_rows(s: &Summary) -> Vec<(String, String)> {
    let q = &s.data_quality;
    let mut rows = Vec::new();
    let mut labels = |name: &str, map: &std::collections::BTreeMap<String, u64>| {
        if !map.is_empty() {
            let list: Vec<String> = map.iter().map(|(k, v)| format!("{k} ({v})")).collect();
            rows.push((name.to_string(), list.join(", ")));
        }
    };
    labels("Unknown signal labels", &q.unknown_signal_labels);
    labels("Unknown qualification labels", &q.unknown_qualified_labels);
    labels("Unknown context labels", &q.unknown_context_labels);
    labels("Rejections by reason", &q.rejections_by_reason);
    let counts = [
        ("Opportunity amounts without an opportunity", q.amount_without_opportunity),
        ("Rep ratings without a handoff", q.rating_without_handoff),
        ("Handoff times without a handoff turn", q.handoff_at_without_turn),
        ("Conversations without a prospect message", q.conversations_without_prospect_message),
    ];
    for (name, n) in counts {
        if n > 0 {
            rows.push((name.to_string(), n.to_string()));
        }
    }
    if rows.is_empty() {
        rows.push(("Inconsistent optional fields".into(), "none".into()));
    }
    rows
}

fn settings_rows(s: &Summary) -> Vec<(String, String)> {
    let t = &s.settings;
    vec![
        ("Estimator".into(), t.estimator.clone()),
        ("Weight clip".into(), exact_or_na(t.clip)),
        ("Timing tolerance (decision points)".into(), t.tolerance.to_string()),
        ("Bootstrap resamples".into(), t.bootstrap.to_string()),
        ("Seed".into(), t.seed.to_string()),
        ("Outcome days".into(), t.outcome_days.to_string()),
        ("Signal source".into(), t.signal_source.clone()),
        ("As of".into(), t.as_of.clone()),
    ]
}

/// `4.2 (-1.1 to 7.3)`: `to` because either end may be negative.
fn est_num(e: Estimate, decimals: usize) -> String {
    match (e.estimate, e.low, e.high) {
        (Some(_), Some(_), Some(_)) => format!(
            "{} ({} to {})",
            fixed_or_na(e.estimate, decimals),
            fixed_or_na(e.low, decimals),
            fixed_or_na(e.high, decimals)
        ),
        (Some(_), _, _) => fixed_or_na(e.estimate, decimals),
        _ => "n/a".into(),
    }
}

/// Text for Markdown: HTML-significant characters as entities, so a name or warning holding
/// markup shows as text in any Markdown renderer.
pub fn md_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A Markdown table cell: text escaping plus `|` and line breaks.
fn md_cell(s: &str) -> String {
    md_text(s).replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Standard base64 with padding (for data: URIs; no crate needed for this much).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn figures_format_with_intervals_and_nulls() {
        let rate = Fig::percent(Estimate::new(0.123, 0.091, 0.156));
        assert_eq!((rate.v.as_str(), rate.ci.as_str()), ("12.3%", "9.1–15.6%"));
        let missing = Fig::percent(Estimate::NULL);
        assert_eq!((missing.v.as_str(), missing.ci.as_str()), ("n/a", ""));
        let signed = Fig::fixed(Estimate::new(-0.0001, -1.26, 2.0), 1);
        assert_eq!((signed.v.as_str(), signed.ci.as_str()), ("0.0", "-1.3 to 2.0"));
        assert_eq!(est_num(Estimate::new(4.2, -1.1, 7.3), 1), "4.2 (-1.1 to 7.3)");
    }

    #[test]
    fn markdown_cells_escape_markup_and_pipes() {
        assert_eq!(md_cell("<script>a|b</script>"), "&lt;script&gt;a\\|b&lt;/script&gt;");
    }

    use crate::report::charts::ChartFile;
    use crate::report::slices::fixture::{cuts, make_thin};
    use crate::summary::{Optimal, PolicyKind, Rates};

    fn policy(name: &str, kind: PolicyKind, opportunity: f64) -> PolicySummary {
        PolicySummary {
            name: name.into(),
            kind,
            conversations: 4000,
            rates: Rates {
                handoff_rate: 0.4,
                meeting_rate: Estimate::new(0.2, 0.18, 0.22),
                opportunity_rate: Estimate::new(
                    opportunity,
                    opportunity - 0.02,
                    opportunity + 0.02,
                ),
                pipeline_per_conversation: Estimate::new(1500.0, 1400.0, 1600.0),
                ..Rates::default()
            },
            ..PolicySummary::default()
        }
    }

    /// Historical and two policies, one opportunities sweep, cut by segment (3 slices, the
    /// last thin) and by channel; each cut's chart listed by its name.
    fn sliced(with_sweep: bool) -> ReportData {
        let mut summary = Summary {
            window: crate::summary::WindowInfo { label: "2026-W47".into(), ..Default::default() },
            policies: vec![
                policy("historical", PolicyKind::Historical, 0.1),
                policy("framework", PolicyKind::Policy, 0.12),
                policy("late", PolicyKind::Policy, 0.11),
            ],
            ..Summary::default()
        };
        if with_sweep {
            summary.sweeps = vec![SweepSummary {
                policy: "intent-score".into(),
                parameter: "threshold".into(),
                objective: "opportunities".into(),
                optimal: Some(Optimal { value: 0.5, runner_up: Some(0.6), ..Optimal::default() }),
                ..SweepSummary::default()
            }];
        }
        summary.slices = cuts(
            &summary,
            &[
                ("segment", &["enterprise", "mid_market", "smb"][..]),
                ("channel", &["chat", "email"][..]),
            ],
        );
        make_thin(&mut summary.slices[0], 2);
        summary.slices[0].values[1].policies[1].warnings =
            vec!["thin support: 12 conversations".into()];
        let charts = ["policy-rates", "slices-segment", "slices-channel"]
            .iter()
            .map(|name| ChartFile {
                name: name.to_string(),
                title: format!("Chart {name}"),
                svg: format!("/nonexistent/{name}.svg").into(),
                png: format!("/nonexistent/{name}.png").into(),
            })
            .collect();
        ReportData { summary, charts, ..ReportData::default() }
    }

    /// The Markdown from `start` up to (not including) `end`.
    fn section<'a>(md: &'a str, start: &str, end: &str) -> &'a str {
        let from = md.find(start).unwrap_or_else(|| panic!("{start:?} missing in {md}"));
        let to = md[from..].find(end).map_or(md.len(), |i| from + i);
        &md[from..to]
    }

    #[test]
    fn markdown_slice_sections_snapshot() {
        let md = render_markdown(&sliced(true)).unwrap();
        insta::assert_snapshot!(section(&md, "## By segment", "## Data quality"));
    }

    #[test]
    fn without_a_sweep_the_table_compares_opportunities_and_the_note_says_so() {
        let md = render_markdown(&sliced(false)).unwrap();
        let segment = section(&md, "## By segment", "## By channel");
        assert!(
            segment.contains("| Slice | Conversations | historical | framework | late |\n"),
            "{segment}"
        );
        assert!(
            segment.contains("opportunities per 100 conversations under the policy"),
            "{segment}"
        );
        assert!(segment.contains(
            "With 3 slices, the best policy is said to differ between slices only at the 98.3% level (1 − 0.05/3, Bonferroni)"
        ), "{segment}");
        assert!(!segment.contains("Best "), "no sweep column without a sweep");
    }

    #[test]
    fn a_pipeline_sweep_makes_pipeline_the_headline() {
        let mut data = sliced(true);
        data.summary.sweeps[0].objective = "pipeline".into();
        let md = render_markdown(&data).unwrap();
        let segment = section(&md, "## By segment", "## By channel");
        assert!(segment.contains("pipeline per conversation under the policy"), "{segment}");
        assert!(segment.contains(" 1500 (") || segment.contains("**1"), "{segment}");
    }

    #[test]
    fn the_slice_charts_sit_in_their_sections_not_in_the_chart_list() {
        let data = sliced(true);
        let md = render_markdown(&data).unwrap();
        let charts = section(&md, "## Charts", "## Sweeps");
        assert!(
            charts.contains("charts/policy-rates.png") && !charts.contains("slices-"),
            "{charts}"
        );
        let channel = section(&md, "## By channel", "## Data quality");
        assert!(
            channel.contains("![Chart slices-channel](charts/slices-channel.png)"),
            "{channel}"
        );
        let html = render_html(&data).unwrap();
        assert!(html.contains("<h2 id=\"slices-segment\">By segment</h2>"));
        assert!(html.contains("<figure id=\"chart-slices-channel\">"));
        assert!(html.contains("<tr class=\"thin\">"), "the thin slice's row is marked");
        assert_eq!(html.matches("<small class=\"thin\">too few conversations</small>").count(), 1);
    }

    #[test]
    fn slice_text_is_escaped_in_both_pages() {
        let mut data = sliced(true);
        data.summary.slices[0].values[0].value = "<script>x|y</script>".into();
        data.summary.slices[0].findings = vec!["For <b>this</b>, more.".into()];
        let html = render_html(&data).unwrap();
        assert!(!html.contains("<script>") && !html.contains("<b>this"), "escaped in HTML");
        let md = render_markdown(&data).unwrap();
        assert!(md.contains("| &lt;script&gt;x\\|y&lt;/script&gt; |"), "{md}");
        assert!(md.contains("- For &lt;b&gt;this&lt;/b&gt;, more."), "{md}");
    }

    #[test]
    fn without_slices_the_pages_have_no_trace_of_them() {
        let mut data = sliced(true);
        data.summary.slices.clear();
        data.charts.truncate(1);
        let html = render_html(&data).unwrap();
        for trace in ["tr.thin", "slice-warnings", "<h2 id=\"slices-", "Slice"] {
            assert!(!html.contains(trace), "{trace} without slices");
        }
        let md = render_markdown(&data).unwrap();
        assert!(!md.contains("## By ") && !md.contains("Slice"), "{md}");
    }

    #[test]
    fn the_highest_estimate_is_marked_only_among_two_or_more() {
        let e = |v: f64| Estimate::new(v, v, v);
        assert_eq!(highest(&[e(0.1), e(0.3), e(0.3), Estimate::NULL]), Some(1));
        assert_eq!(highest(&[e(0.1), Estimate::NULL]), None);
        assert_eq!(highest(&[]), None);
        assert_eq!(
            highest(&[Estimate { estimate: Some(f64::NAN), ..e(0.0) }, e(0.2), e(0.1)]),
            Some(1)
        );
    }

    #[test]
    fn the_level_note_reads_k_from_the_level() {
        let cut = |level: f64| SliceCut { level, ..SliceCut::default() };
        assert_eq!(
            level_note(&cut(1.0 - 0.05 / 12.0), true),
            "With 12 slices, each slice's optimum is called better than its runner-up only at \
             the 99.6% level (1 − 0.05/12, Bonferroni), so that chance alone does not make one \
             slice look different."
        );
        assert!(level_note(&cut(0.97), true).starts_with("Each slice's optimum"));
        assert_eq!(level_note(&cut(0.0), true), "");
    }

    /// Writes `report.html`, `report.md` and the real charts of a report cut by segment (3
    /// slices, one thin) and by a 12-valued column to `HANDOFF_PAGE_PREVIEW=<dir>`, for a look
    /// in a browser; a no-op otherwise.
    #[test]
    fn write_sliced_page_preview_when_asked() {
        let Ok(dir) = std::env::var("HANDOFF_PAGE_PREVIEW") else { return };
        let dir = std::path::Path::new(&dir);
        let mut data = sliced(true);
        let summary = &mut data.summary;
        let regions = cuts(summary, &[("region", &crate::report::slices::fixture::REGIONS[..])]);
        summary.slices.truncate(1);
        summary.slices.extend(regions);
        data.charts = crate::report::charts::render_all(&data.summary, &[], &dir.join("charts"))
            .expect("charts");
        std::fs::write(dir.join("report.html"), render_html(&data).unwrap()).unwrap();
        std::fs::write(dir.join("report.md"), render_markdown(&data).unwrap()).unwrap();
    }

    #[test]
    fn the_markdown_template_renders_an_empty_report() {
        let md = render_markdown(&ReportData::default()).expect("the template renders");
        assert!(md.starts_with("# Handoff policy report: \n\nAll conversations in the data:"));
        assert!(md.contains("\n## Policies\n\n| Policy |"), "{md}");
        assert!(!md.contains("## Charts") && !md.contains("## Sweeps"), "{md}");
        assert!(md.ends_with("- As of: \n"), "{md}");
    }
}
