//! The report's charts: every chart is drawn once by code generic over the plotters backend and
//! written twice, as SVG and PNG, from the same drawing. This module holds what the charts
//! share: the entry point `render_all`, the embedded font, sizes, the per-policy palette, the
//! interval whisker, label fitting and number formatting.
//!
//! Charts read only the `Summary` (and the `history` rows for the trend), never raw data.
//! Output bytes depend only on those inputs: no timestamps, no hash-ordered iteration.

mod policy_rates;
mod sweep;
mod timing;
mod trend;
mod workload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Context};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::report::history::HistoryRow;
use crate::summary::{Estimate, PolicyKind, PolicySummary, Summary};

/// One rendered chart: the same drawing as SVG and PNG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartFile {
    /// File stem, `[a-z0-9-]`, e.g. `policy-rates`.
    pub name: String,
    /// Human title (what the report shows as the caption).
    pub title: String,
    pub svg: PathBuf,
    pub png: PathBuf,
}

/// Renders every chart the summary supports into `dir` (created if missing) and lists them in a
/// fixed order: policy rates, one per sweep, timing, workload, then the trend when `history`
/// holds at least two windows.
pub fn render_all(
    summary: &Summary,
    history: &[HistoryRow],
    dir: &Path,
) -> anyhow::Result<Vec<ChartFile>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the charts folder {}", dir.display()))?;
    let palette = Palette::for_summary(summary, history);
    let mut files = Vec::new();

    let rates = policy_rates::PolicyRates::new(summary, &palette);
    files.push(render_chart(&rates, dir, "policy-rates", &rates.title())?);

    let mut used_names = Vec::new();
    for sweep in &summary.sweeps {
        let chart = sweep::SweepChart::new(sweep);
        let name = unique_name(
            &format!("sweep-{}", sanitize_name(&format!("{}-{}", sweep.policy, sweep.parameter))),
            &mut used_names,
        );
        files.push(render_chart(&chart, dir, &name, &chart.title())?);
    }

    let timing = timing::TimingChart::new(summary);
    files.push(render_chart(&timing, dir, "timing", &timing.title())?);

    let workload = workload::WorkloadChart::new(summary, &palette);
    files.push(render_chart(&workload, dir, "workload", &workload.title())?);

    if let Some(trend) = trend::TrendChart::new(history, &palette) {
        files.push(render_chart(&trend, dir, "trend", &trend.title())?);
    }
    Ok(files)
}

// ---------------------------------------------------------------------------------------------
// Drawing plumbing

/// Every chart's canvas, in pixels (SVG user units and PNG pixels alike).
pub(crate) const SIZE: (u32, u32) = (1000, 600);

/// The font family every text uses. The PNG draws it from the embedded DejaVu Sans bytes
/// registered under this exact name; the SVG writes it verbatim as a CSS font list, so viewers
/// use DejaVu Sans when installed (matching the PNG's metrics) and a sans-serif otherwise.
pub(crate) const FONT: &str = "DejaVu Sans, sans-serif";

pub(crate) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart kind: draws itself on a whole canvas, whatever the backend.
pub(crate) trait Chart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// Registers the embedded fonts once per process. plotters' ab_glyph text needs this before
/// any text is measured or drawn; no system font or fontconfig is involved.
fn ensure_fonts() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the embedded DejaVu Sans font is invalid".to_string())?;
            plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "the embedded DejaVu Sans Bold font is invalid".to_string())
        })
        .clone()
        .map_err(|message| anyhow!(message))
}

/// Draws `chart` into `<dir>/<name>.svg` and `<dir>/<name>.png`.
fn render_chart<C: Chart>(
    chart: &C,
    dir: &Path,
    name: &str,
    title: &str,
) -> anyhow::Result<ChartFile> {
    ensure_fonts()?;
    let svg = dir.join(format!("{name}.svg"));
    let png = dir.join(format!("{name}.png"));
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        draw_on(chart, &root).with_context(|| format!("drawing the chart {}", svg.display()))?;
    }
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        draw_on(chart, &root).with_context(|| format!("drawing the chart {}", png.display()))?;
    }
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

// ---------------------------------------------------------------------------------------------
// Style: fonts, sizes, margins

/// Sizes are even on purpose: plotters' ab_glyph text rounds each glyph's offset from `size / 2`,
/// which makes letters jitter by a pixel in the PNG at odd sizes.
pub(crate) const TITLE_SIZE: u32 = 26;
pub(crate) const SUBTITLE_SIZE: u32 = 16;
pub(crate) const AXIS_TITLE_SIZE: u32 = 18;
pub(crate) const LABEL_SIZE: u32 = 16;
pub(crate) const MARGIN: u32 = 16;

pub(crate) const INK: RGBColor = RGBColor(33, 33, 33);
pub(crate) const MUTED: RGBColor = RGBColor(110, 110, 110);
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);

pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

pub(crate) fn bold(size: u32) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold).into_font().color(&INK)
}

pub(crate) fn anchored<'a>(style: TextStyle<'a>, h: HPos, v: VPos) -> TextStyle<'a> {
    style.pos(Pos::new(h, v))
}

/// Draws the chart title and a muted subtitle at the top of `root` and returns the area left
/// below them.
pub(crate) fn draw_header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, _) = root.dim_in_pixel();
    let max = width as i32 - 2 * MARGIN as i32;
    let title_style = anchored(bold(TITLE_SIZE), HPos::Left, VPos::Top);
    root.draw_text(&fit_text(root, title, &title_style, max), &title_style, (MARGIN as i32, 12))?;
    let mut used = 12 + TITLE_SIZE as i32;
    if !subtitle.is_empty() {
        let sub_style = anchored(text(SUBTITLE_SIZE).color(&MUTED), HPos::Left, VPos::Top);
        root.draw_text(
            &fit_text(root, subtitle, &sub_style, max),
            &sub_style,
            (MARGIN as i32, used + 6),
        )?;
        used += 6 + SUBTITLE_SIZE as i32;
    }
    Ok(root.margin(used + 10, 0, 0, 0))
}

/// A centred, muted message for charts with nothing to plot (so the file still says why).
pub(crate) fn draw_message<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    message: &str,
) -> DrawResult<DB> {
    let (w, h) = area.dim_in_pixel();
    let style = anchored(text(AXIS_TITLE_SIZE).color(&MUTED), HPos::Center, VPos::Center);
    let shown = fit_text(area, message, &style, w as i32 - 2 * MARGIN as i32);
    area.draw_text(&shown, &style, (w as i32 / 2, h as i32 / 2))
}

/// One legend entry: a colour swatch and its label.
pub(crate) struct LegendItem {
    pub label: String,
    pub color: RGBColor,
    /// Drawn as a line with a dot (series) rather than a filled square (areas, bars).
    pub line: bool,
}

/// Draws legend entries left to right on one or more rows starting at `(x, y)` (pixels in
/// `area`), wrapping before `max_x`. Returns the height used.
pub(crate) fn draw_legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    (x0, y0): (i32, i32),
    max_x: i32,
) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    let style = anchored(text(LABEL_SIZE), HPos::Left, VPos::Center);
    let row_height = LABEL_SIZE as i32 + 10;
    let (mut x, mut y) = (x0, y0 + row_height / 2);
    for item in items {
        let label = fit_text(area, &item.label, &style, 260);
        let (text_w, _) = area.estimate_text_size(&label, &style)?;
        let entry_w = 22 + text_w as i32 + 18;
        if x > x0 && x + entry_w > max_x {
            x = x0;
            y += row_height;
        }
        if item.line {
            area.draw(&PathElement::new(vec![(x, y), (x + 16, y)], item.color.stroke_width(3)))?;
            area.draw(&Circle::new((x + 8, y), 4, item.color.filled()))?;
        } else {
            area.draw(&Rectangle::new([(x, y - 7), (x + 16, y + 7)], item.color.filled()))?;
            area.draw(&Rectangle::new([(x, y - 7), (x + 16, y + 7)], MUTED.stroke_width(1)))?;
        }
        area.draw_text(&label, &style, (x + 22, y))?;
        x += entry_w;
    }
    Ok(y + row_height / 2 - y0)
}

/// An interval whisker in pixel coordinates: a vertical line from `y_low` to `y_high` at `x`
/// with horizontal caps `cap` pixels wide on each side.
pub(crate) fn draw_whisker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: i32,
    (y_low, y_high): (i32, i32),
    cap: i32,
    color: RGBColor,
) -> DrawResult<DB> {
    let style = color.stroke_width(2);
    area.draw(&PathElement::new(vec![(x, y_low), (x, y_high)], style))?;
    area.draw(&PathElement::new(vec![(x - cap, y_low), (x + cap, y_low)], style))?;
    area.draw(&PathElement::new(vec![(x - cap, y_high), (x + cap, y_high)], style))
}

/// `text` shortened with an ellipsis in the middle until it fits in `max_px` when drawn with
/// `style`. The middle goes because names differ at both ends (`fast-follow@threshold=0.6`
/// and `...=0.65` share their start).
pub(crate) fn fit_text<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    text: &str,
    style: &TextStyle,
    max_px: i32,
) -> String {
    let fits = |candidate: &str| {
        area.estimate_text_size(candidate, style).map(|(w, _)| w as i32 <= max_px).unwrap_or(true)
    };
    if fits(text) {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    while keep > 1 {
        keep -= 1;
        let tail = keep * 2 / 5;
        let head = keep - tail;
        let candidate: String = chars[..head]
            .iter()
            .chain(std::iter::once(&'…'))
            .chain(&chars[chars.len() - tail..])
            .collect();
        if fits(&candidate) {
            return candidate;
        }
    }
    "…".to_string()
}

/// `text` shortened with an ellipsis at the end until it fits (for a line that continues a
/// wrapped name, where the start matters most).
pub(crate) fn fit_text_end<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    text: &str,
    style: &TextStyle,
    max_px: i32,
) -> String {
    let fits = |candidate: &str| {
        area.estimate_text_size(candidate, style).map(|(w, _)| w as i32 <= max_px).unwrap_or(true)
    };
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    if fits(text) {
        return text.to_string();
    }
    while keep > 1 {
        keep -= 1;
        let candidate: String = chars[..keep].iter().collect::<String>() + "…";
        if fits(&candidate) {
            return candidate;
        }
    }
    "…".to_string()
}

/// How category labels (policy names, window labels) are drawn under an axis.
pub(crate) enum LabelLayout {
    /// Horizontal, one or two lines each (long names wrap at a separator, then truncate).
    Horizontal(Vec<Vec<String>>),
    /// Rotated to read bottom-up, truncated to the label area's height; with the pixel length
    /// of the longest, so the area is no taller than the labels need.
    Rotated(Vec<String>, i32),
}

impl LabelLayout {
    /// Chooses horizontal labels (wrapped on up to three lines) when every label keeps at
    /// least half its characters in `slot_px`, rotated ones (at most `rotated_px` long)
    /// otherwise.
    pub(crate) fn choose<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        labels: &[String],
        slot_px: i32,
        rotated_px: i32,
    ) -> LabelLayout {
        let style = text(LABEL_SIZE);
        let width = (slot_px - 8).max(1);
        let wrapped: Vec<Vec<String>> =
            labels.iter().map(|label| wrap_label(area, label, &style, width, 3)).collect();
        // Horizontal is easier to read; accept it while labels keep most of their characters.
        let kept = |lines: &Vec<String>, label: &String| {
            let total = label.chars().count();
            let shown: usize = lines.iter().map(|l| l.trim_end_matches('…').chars().count()).sum();
            shown * 2 >= total && shown >= total.min(8)
        };
        if wrapped.iter().zip(labels).all(|(lines, label)| kept(lines, label)) {
            LabelLayout::Horizontal(wrapped)
        } else {
            let fitted: Vec<String> =
                labels.iter().map(|l| fit_text(area, l, &style, rotated_px)).collect();
            let longest = fitted
                .iter()
                .map(|l| area.estimate_text_size(l, &style).map_or(rotated_px, |(w, _)| w as i32))
                .max()
                .unwrap_or(0);
            LabelLayout::Rotated(fitted, longest.min(rotated_px))
        }
    }

    /// The pixel height the labels need below the axis.
    pub(crate) fn height(&self, rotated_px: i32) -> i32 {
        match self {
            LabelLayout::Horizontal(lines) => {
                let rows = lines.iter().map(Vec::len).max().unwrap_or(1) as i32;
                8 + rows * (LABEL_SIZE as i32 + 3)
            }
            LabelLayout::Rotated(_, longest) => (*longest).min(rotated_px) + 10,
        }
    }

    /// Draws label `i` centred on `xs[i]`, hanging down from `y_top` (pixels on `root`).
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        xs: &[i32],
        y_top: i32,
    ) -> DrawResult<DB> {
        match self {
            LabelLayout::Horizontal(all) => {
                let style = anchored(text(LABEL_SIZE), HPos::Center, VPos::Top);
                for (lines, &x) in all.iter().zip(xs) {
                    for (row, line) in lines.iter().enumerate() {
                        let y = y_top + 6 + row as i32 * (LABEL_SIZE as i32 + 3);
                        root.draw_text(line, &style, (x, y))?;
                    }
                }
            }
            LabelLayout::Rotated(labels, _) => {
                let style = anchored(text(LABEL_SIZE), HPos::Right, VPos::Center)
                    .transform(FontTransform::Rotate270);
                for (label, &x) in labels.iter().zip(xs) {
                    root.draw_text(label, &style, (x, y_top + 6))?;
                }
            }
        }
        Ok(())
    }
}

/// Wraps a long name on at most `max_lines` lines of `width` pixels, breaking after `_`, `-`,
/// `=`, `.` or a space, or before `@` (variant names read `policy` / `@parameter=value`); the
/// last line is truncated with an ellipsis when the name still does not fit.
pub(crate) fn wrap_label<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    label: &str,
    style: &TextStyle,
    width: i32,
    max_lines: usize,
) -> Vec<String> {
    let fits = |candidate: &str| fit_text(area, candidate, style, width) == candidate;
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for piece in label_pieces(label) {
        let joined = format!("{current}{piece}");
        let last_line = lines.len() + 1 == max_lines.max(1);
        // A variant's `@parameter=value` starts its own line whenever a line is left.
        let variant_break = piece.starts_with('@') && !current.is_empty() && !last_line;
        if !variant_break && (current.is_empty() || fits(&joined) || last_line) {
            current = joined;
        } else {
            lines.push(std::mem::replace(&mut current, piece));
        }
    }
    lines.push(current);
    let count = lines.len();
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            // The last line keeps its end (where variants differ); earlier lines their start.
            if i + 1 == count {
                fit_text(area, line.trim(), style, width)
            } else {
                fit_text_end(area, line.trim(), style, width)
            }
        })
        .collect()
}

/// A name cut into pieces that may end a line: after `_-=. `, and before `@`.
fn label_pieces(label: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for c in label.chars() {
        if c == '@' && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        current.push(c);
        if "_-=. ".contains(c) {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

// ---------------------------------------------------------------------------------------------
// Palette: one colour per policy, the same in every chart

/// History's colour: a neutral dark grey so the baseline reads as "the reference".
pub(crate) const HISTORICAL_COLOR: RGBColor = RGBColor(60, 60, 60);

/// Okabe–Ito based, colour-blind safe, legible on white (no yellow).
const POLICY_COLORS: [RGBColor; 9] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(136, 34, 85),   // wine
    RGBColor(17, 119, 51),   // dark green
    RGBColor(68, 170, 153),  // teal
];

/// Colours assigned by policy order: the summary's policies first, then any policy only the
/// history rows know (an earlier week's policy), in first-seen order.
pub(crate) struct Palette {
    /// Name to (assignment order, colour).
    colors: BTreeMap<String, (usize, RGBColor)>,
}

impl Palette {
    pub(crate) fn for_summary(summary: &Summary, history: &[HistoryRow]) -> Palette {
        let mut colors = BTreeMap::new();
        let mut next = 0usize;
        let names = summary
            .policies
            .iter()
            .map(|p| (p.name.as_str(), is_historical(p)))
            .chain(history.iter().map(|r| (r.policy.as_str(), r.policy == "historical")));
        for (name, historical) in names {
            if colors.contains_key(name) {
                continue;
            }
            let color = if historical {
                HISTORICAL_COLOR
            } else {
                next += 1;
                POLICY_COLORS[(next - 1) % POLICY_COLORS.len()]
            };
            let rank = colors.len();
            colors.insert(name.to_string(), (rank, color));
        }
        Palette { colors }
    }

    pub(crate) fn color(&self, policy: &str) -> RGBColor {
        self.colors.get(policy).map(|(_, color)| *color).unwrap_or(MUTED)
    }

    /// The policy's place in the assignment order (unknown names last).
    pub(crate) fn rank(&self, policy: &str) -> usize {
        self.colors.get(policy).map(|(rank, _)| *rank).unwrap_or(usize::MAX)
    }
}

pub(crate) fn is_historical(policy: &PolicySummary) -> bool {
    policy.kind == PolicyKind::Historical || policy.name == "historical"
}

// ---------------------------------------------------------------------------------------------
// Numbers

/// Beyond this magnitude a figure is treated as not plottable: axis arithmetic on such values
/// overflows, and no rate or per-100 figure can honestly be that large.
const PLOTTABLE_LIMIT: f64 = 1e12;

/// Whether a value can be placed on an axis (finite and of sane magnitude).
pub(crate) fn plottable(value: f64) -> bool {
    value.is_finite() && value.abs() < PLOTTABLE_LIMIT
}

/// A plottable value, or nothing: charts never plot NaN, infinities or absurd magnitudes.
pub(crate) fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| plottable(*v))
}

/// An estimate scaled by `scale` as (point, optional (low, high)); nothing when the point
/// estimate is null or not finite. The interval is kept only when both ends are finite.
pub(crate) fn scaled(estimate: &Estimate, scale: f64) -> Option<(f64, Option<(f64, f64)>)> {
    let point = finite(estimate.estimate.map(|v| v * scale))?;
    let low = finite(estimate.low.map(|v| v * scale));
    let high = finite(estimate.high.map(|v| v * scale));
    let interval = low.zip(high).map(|(l, h)| (l.min(h), l.max(h)));
    Some((point, interval))
}

/// Decimals that keep axis ticks distinct over a span without clutter.
pub(crate) fn decimals_for(span: f64) -> usize {
    if !span.is_finite() || span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else {
        2
    }
}

/// A value in percent units (already multiplied by 100) as `12.3%`.
pub(crate) fn fmt_pct(value: f64) -> String {
    format!("{value:.1}%")
}

/// A plain figure with up to two decimals, `-0` shown as `0`.
pub(crate) fn fmt_num(value: f64) -> String {
    let text = if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// An axis range that holds every value with some headroom, never empty.
pub(crate) fn padded_range(
    values: impl IntoIterator<Item = f64>,
    include_zero: bool,
) -> (f64, f64) {
    let mut low = f64::INFINITY;
    let mut high = f64::NEG_INFINITY;
    for value in values.into_iter().filter(|v| plottable(*v)) {
        low = low.min(value);
        high = high.max(value);
    }
    if !low.is_finite() || !high.is_finite() {
        return (0.0, 1.0);
    }
    if include_zero {
        low = low.min(0.0);
        high = high.max(0.0);
    }
    // Spans far below the values' own precision would make pixel arithmetic overflow; such
    // values are drawn as equal.
    let span = high - low;
    let pad = if span > 1e-9 * high.abs().max(low.abs()).max(1.0) {
        span * 0.08
    } else {
        high.abs().max(1.0) * 0.5
    };
    let low = if include_zero && low >= 0.0 { 0.0 } else { low - pad };
    (low, high + pad)
}

/// A file stem made of `[a-z0-9-]`: lower-cased, other characters replaced by `-`, runs of
/// `-` collapsed, no leading or trailing `-`.
pub(crate) fn sanitize_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' };
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
