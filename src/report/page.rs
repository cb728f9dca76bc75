//! The report page: one view model built from `ReportData` (every number already formatted),
//! rendered twice: as Markdown (`report.md`, charts linked as PNG) and as one self-contained
//! HTML page (`report.html`, minijinja with auto-escaping, charts inlined as data: URIs so the
//! page loads nothing from the network and no chart markup can inject script).

use anyhow::Context;
use serde::Serialize;

use crate::format::{exact_or_na, fixed_or_na, percent_or_na};
use crate::report::ReportData;
use crate::summary::{Estimate, PolicySummary, Summary, SweepSummary};

const HTML_TEMPLATE: &str = include_str!("templates/report.html");
const MARKDOWN_TEMPLATE: &str = include_str!("templates/report.md");

#[derive(Debug, Serialize)]
struct PageView {
    title: String,
    window_label: String,
    window_span: String,
    findings: Vec<String>,
    warnings: Vec<String>,
    policies: Vec<PolicyView>,
    charts: Vec<ChartView>,
    sweeps: Vec<SweepView>,
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

#[derive(Debug, Serialize)]
struct SweepView {
    title: String,
    objective: String,
    optimum: String,
    points: Vec<SweepPointView>,
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
    PageView {
        title: format!("Handoff policy report: {}", s.window.label),
        window_label: s.window.label.clone(),
        window_span: window_span(s),
        findings: s.findings.clone(),
        warnings: s.warnings.clone(),
        policies: s.policies.iter().map(policy_view).collect(),
        charts: data.charts.iter().map(chart_view).collect(),
        sweeps: s.sweeps.iter().map(sweep_view).collect(),
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

    #[test]
    fn the_markdown_template_renders_an_empty_report() {
        let md = render_markdown(&ReportData::default()).expect("the template renders");
        assert!(md.starts_with("# Handoff policy report: \n\nAll conversations in the data:"));
        assert!(md.contains("\n## Policies\n\n| Policy |"), "{md}");
        assert!(!md.contains("## Charts") && !md.contains("## Sweeps"), "{md}");
        assert!(md.ends_with("- As of: \n"), "{md}");
    }
}
