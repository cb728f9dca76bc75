//! The report's charts: every chart is drawn once by code generic over the plotters backend and
//! written twice, as SVG and PNG, from the same drawing. This module holds the entry point
//! `render_all` and the `Chart` trait; `style` the look (font, sizes, palette), `labels` label
//! fitting, `elements` the shared drawing pieces and `axis` the axis arithmetic. Numbers are
//! written by `crate::format`.
//!
//! Charts read only the `Summary` (and the `history` rows for the trend), never raw data.
//! Most charts share one canvas size (`style::SIZE`); a chart whose content grows (the
//! small multiples of a slice cut) says its own through `Chart::size`.
//! Output bytes depend only on those inputs: no timestamps, no hash-ordered iteration.

mod axis;
mod elements;
mod labels;
mod policy_rates;
mod search;
mod sensitivity;
mod slices;
mod style;
mod sweep;
mod timing;
mod trend;
mod workload;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;

use crate::report::history::HistoryRow;
use crate::summary::{SliceCut, Summary};
use style::{ensure_fonts, Palette, SIZE};

/// One rendered chart: the same drawing as SVG and PNG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartFile {
    /// File stem, `[a-z0-9_-]`, e.g. `policy-rates` or `slices-ai_agent`.
    pub name: String,
    /// Human title (what the report shows as the caption).
    pub title: String,
    pub svg: PathBuf,
    pub png: PathBuf,
}

/// The sensitivity chart's file stem (the page shows it in its own section).
pub const SENSITIVITY_CHART: &str = "sensitivity";

/// Renders every chart the summary supports into `dir` (created if missing) and lists them in a
/// fixed order: policy rates, one per sweep, one per search, timing, workload, the trend when `history`
/// holds at least two windows, the sensitivity bounds when the summary has them, then one
/// small-multiples chart per slice cut (`--by`).
pub fn render_all(
    summary: &Summary,
    history: &[HistoryRow],
    dir: &Path,
) -> anyhow::Result<Vec<ChartFile>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the charts folder {}", dir.display()))?;
    let palette = Palette::for_summary(summary, history);
    // Every chart is built first (names made unique in order), then drawn in parallel: each
    // drawing depends on its own chart only, so the files are the same whatever the threads.
    let mut charts: Vec<(AnyChart, String, String)> = Vec::new();

    let rates = policy_rates::PolicyRates::new(summary, &palette);
    let title = rates.title();
    charts.push((AnyChart::Rates(rates), "policy-rates".to_string(), title));

    let mut used_names = Vec::new();
    for sweep in &summary.sweeps {
        let chart = sweep::SweepChart::new(sweep);
        let name = unique_name(
            &format!("sweep-{}", sanitize_name(&format!("{}-{}", sweep.policy, sweep.parameter))),
            &mut used_names,
        );
        let title = chart.title();
        charts.push((AnyChart::Sweep(chart), name, title));
    }

    for search in &summary.searches {
        let chart = search::SearchChart::new(summary, search);
        let name = unique_name(&format!("search-{}", sanitize_name(&search.name)), &mut used_names);
        let title = chart.title();
        charts.push((AnyChart::Search(chart), name, title));
    }

    let timing = timing::TimingChart::new(summary);
    let title = timing.title();
    charts.push((AnyChart::Timing(timing), "timing".to_string(), title));

    let workload = workload::WorkloadChart::new(summary, &palette);
    let title = workload.title();
    charts.push((AnyChart::Workload(workload), "workload".to_string(), title));

    if let Some(trend) = trend::TrendChart::new(history, &palette) {
        let title = trend.title();
        charts.push((AnyChart::Trend(trend), "trend".to_string(), title));
    }

    if let Some(chart) = sensitivity::SensitivityChart::new(summary, &palette) {
        let title = chart.title();
        charts.push((AnyChart::Sensitivity(chart), SENSITIVITY_CHART.to_string(), title));
    }

    for (cut, name) in summary.slices.iter().zip(slice_chart_names(&summary.slices)) {
        let chart = slices::SlicesChart::new(summary, cut, &palette);
        let title = chart.title();
        charts.push((AnyChart::Slices(chart), name, title));
    }

    ensure_fonts()?;
    let drawn: Vec<anyhow::Result<ChartFile>> = charts
        .par_iter()
        .map(|(chart, name, title)| render_chart(chart, dir, name, title))
        .collect();
    // The first failure in chart order, so the error does not depend on the threads either.
    drawn.into_iter().collect()
}

/// Every chart kind, so the charts can be drawn from one list.
enum AnyChart {
    Rates(policy_rates::PolicyRates),
    Sweep(sweep::SweepChart),
    Search(search::SearchChart),
    Timing(timing::TimingChart),
    Workload(workload::WorkloadChart),
    Trend(trend::TrendChart),
    Slices(slices::SlicesChart),
    Sensitivity(sensitivity::SensitivityChart),
}

impl Chart for AnyChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        match self {
            AnyChart::Rates(chart) => chart.draw(root),
            AnyChart::Sweep(chart) => chart.draw(root),
            AnyChart::Search(chart) => chart.draw(root),
            AnyChart::Timing(chart) => chart.draw(root),
            AnyChart::Workload(chart) => chart.draw(root),
            AnyChart::Trend(chart) => chart.draw(root),
            AnyChart::Slices(chart) => chart.draw(root),
            AnyChart::Sensitivity(chart) => chart.draw(root),
        }
    }

    fn size(&self) -> (u32, u32) {
        match self {
            AnyChart::Slices(chart) => chart.size(),
            AnyChart::Rates(_)
            | AnyChart::Sweep(_)
            | AnyChart::Search(_)
            | AnyChart::Timing(_)
            | AnyChart::Workload(_)
            | AnyChart::Trend(_)
            | AnyChart::Sensitivity(_) => SIZE,
        }
    }
}

pub(crate) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart kind: draws itself on a whole canvas, whatever the backend.
pub(crate) trait Chart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
    /// The canvas in pixels (SVG user units and PNG pixels alike).
    fn size(&self) -> (u32, u32) {
        SIZE
    }
}

/// Draws `chart` into `<dir>/<name>.svg` and `<dir>/<name>.png` (the two at once).
fn render_chart<C: Chart + Sync>(
    chart: &C,
    dir: &Path,
    name: &str,
    title: &str,
) -> anyhow::Result<ChartFile> {
    ensure_fonts()?;
    let svg = dir.join(format!("{name}.svg"));
    let png = dir.join(format!("{name}.png"));
    let size = chart.size();
    let (svg_drawn, png_drawn) = rayon::join(
        || {
            let root = SVGBackend::new(&svg, size).into_drawing_area();
            draw_on(chart, &root).with_context(|| format!("drawing the chart {}", svg.display()))
        },
        || {
            let root = BitMapBackend::new(&png, size).into_drawing_area();
            draw_on(chart, &root).with_context(|| format!("drawing the chart {}", png.display()))
        },
    );
    svg_drawn?;
    png_drawn?;
    Ok(ChartFile { name: name.to_string(), title: title.to_string(), svg, png })
}

fn draw_on<C: Chart, DB: DrawingBackend>(
    chart: &C,
    root: &DrawingArea<DB, Shift>,
) -> anyhow::Result<()> {
    let result: DrawResult<DB> = (|| {
        root.fill(&WHITE)?;
        chart.draw(root)?;
        root.present()
    })();
    result.map_err(|e| anyhow!("{e}"))
}
/// The file stems of the slice cuts' charts, in cut order: `slices-<column>`, the column
/// sanitised to `[a-z0-9_-]` (`ai_agent` stays `ai_agent`), made unique (`Region` and
/// `region` must not overwrite each other). The page finds each cut's chart by this name.
pub fn slice_chart_names(cuts: &[SliceCut]) -> Vec<String> {
    let mut used = Vec::new();
    cuts.iter()
        .map(|cut| unique_name(&format!("slices-{}", sanitize_stem(&cut.by, true)), &mut used))
        .collect()
}

/// A file stem made of `[a-z0-9-]`: lower-cased, other characters replaced by `-`, runs of
/// `-` collapsed, no leading or trailing `-`.
pub(crate) fn sanitize_name(raw: &str) -> String {
    sanitize_stem(raw, false)
}

/// `sanitize_name`, keeping `_` too when `keep_underscore` (column names are snake_case, and
/// `slices-ai_agent` reads as the column it is).
fn sanitize_stem(raw: &str, keep_underscore: bool) -> String {
    let mut out = String::new();
    for c in raw.chars().flat_map(char::to_lowercase) {
        let kept = c.is_ascii_lowercase() || c.is_ascii_digit() || (keep_underscore && c == '_');
        let c = if kept { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "chart".to_string()
    } else {
        out
    }
}

/// `base`, or `base-2`, `base-3`, ... when already used (two sweeps whose names sanitise to the
/// same stem must not overwrite each other).
fn unique_name(base: &str, used: &mut Vec<String>) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while used.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    used.push(name.clone());
    name
}

#[cfg(test)]
mod tests;
