//! One chart per slice cut (`--by COLUMN`): small multiples, one panel per slice (the 12
//! largest at most), each showing every named policy's meeting and opportunity rates per 100
//! conversations as a dot with its 95% interval whisker, history as a dark square with a
//! dashed level. Every panel uses the same y axis, so that heights compare across slices; a
//! slice with too few conversations is greyed and says so in its title.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::{decimals_for, padded_range, scaled};
use super::elements::{draw_header, draw_legend_row, draw_message, draw_whisker, LegendItem};
use super::labels::{fit_text, fit_text_end};
use super::style::{
    anchored, bold, is_historical, text, Palette, GRID, HISTORICAL_COLOR, INK, LABEL_SIZE, MARGIN,
    MUTED, SUBTITLE_SIZE,
};
use super::{Chart, DrawResult};
use crate::format::{fixed, thousands};
use crate::report::slices::{is_thin, policy_names};
use crate::summary::{SliceCut, Summary};

/// At most this many panels: past a dozen, small multiples stop being readable at a glance
/// (slices.md's default `--max-slices` is 12 too).
pub(crate) const MAX_PANELS: usize = 12;

/// A panel row's height in pixels (title, plot and the two group labels).
const ROW_HEIGHT: u32 = 220;
/// The title and subtitle (`elements::draw_header`), the notes line, one legend row.
const HEADER_HEIGHT: u32 = 70;
const NOTES_HEIGHT: u32 = SUBTITLE_SIZE + 8;
const LEGEND_ROW: u32 = LABEL_SIZE + 10;
const WIDTH: u32 = 1000;
/// The figure-wide axis title sits in this strip left of the panels.
const AXIS_STRIP: i32 = 28;
const Y_LABEL_AREA: i32 = 44;
const GROUP_LABEL_AREA: i32 = 24;
/// The plot background of a slice with too few conversations.
const THIN_BACKGROUND: RGBColor = RGBColor(240, 240, 240);

type Figure = Option<(f64, Option<(f64, f64)>)>;

/// One policy in one panel: its two rates per 100 conversations.
struct Mark {
    /// Index into `SlicesChart::policies`, so a policy sits at the same x in every panel.
    slot: usize,
    meeting: Figure,
    opportunity: Figure,
}

struct Panel {
    /// The slice's value, shortened to fit when drawn.
    value: String,
    /// ` (n = 2,012)`, and the thin mark: always shown whole.
    suffix: String,
    thin: bool,
    marks: Vec<Mark>,
}

/// A policy of the chart: its colour and whether it is history.
struct Policy {
    name: String,
    color: RGBColor,
    historical: bool,
}

pub(crate) struct SlicesChart {
    by: String,
    window: String,
    estimator: String,
    min_slice: u64,
    policies: Vec<Policy>,
    panels: Vec<Panel>,
    /// The cut's slices, shown or not (more than `MAX_PANELS` are said so in the subtitle).
    slices: usize,
}

impl SlicesChart {
    pub(crate) fn new(summary: &Summary, cut: &SliceCut, palette: &Palette) -> SlicesChart {
        let mut names = policy_names(summary, cut);
        // The palette's order is the policy table's; names only a slice knows go last.
        names.sort_by_key(|n| palette.rank(n));
        let everyone = summary.policies.iter().chain(cut.values.iter().flat_map(|s| &s.policies));
        let policies: Vec<Policy> = names
            .iter()
            .map(|name| Policy {
                name: name.clone(),
                color: palette.color(name),
                historical: everyone.clone().any(|p| p.name == *name && is_historical(p)),
            })
            .collect();
        let panels = cut
            .values
            .iter()
            .take(MAX_PANELS)
            .map(|slice| {
                let thin = is_thin(cut, slice);
                let mut suffix = format!(" (n = {})", thousands(slice.conversations));
                if thin {
                    suffix.push_str(" · too few");
                }
                let marks = slice
                    .policies
                    .iter()
                    .filter_map(|p| {
                        let slot = names.iter().position(|n| *n == p.name)?;
                        Some(Mark {
                            slot,
                            meeting: scaled(&p.rates.meeting_rate, 100.0),
                            opportunity: scaled(&p.rates.opportunity_rate, 100.0),
                        })
                    })
                    .collect();
                Panel { value: slice.value.clone(), suffix, thin, marks }
            })
            .collect();
        SlicesChart {
            by: cut.by.clone(),
            window: summary.window.label.clone(),
            estimator: summary.estimator.clone(),
            min_slice: cut.min_slice,
            policies,
            panels,
            slices: cut.values.len(),
        }
    }

    pub(crate) fn title(&self) -> String {
        format!("Meeting and opportunity rates by {}", self.by)
    }

    fn subtitle(&self) -> String {
        format!(
            "Window {} · {} estimator · per 100 conversations, one axis for all panels · \
             whiskers: 95% interval · square and dashed: historical",
            self.window, self.estimator
        )
    }

    /// What only some cuts need explaining, on a line of its own under the subtitle (the two
    /// would not fit on one line of the canvas).
    fn notes(&self) -> String {
        let mut parts = Vec::new();
        if self.panels.iter().any(|p| p.thin) {
            parts.push(format!(
                "Grey panels: too few conversations for a reliable estimate (under {})",
                thousands(self.min_slice)
            ));
        }
        let missing = |m: &Mark| m.meeting.is_none() || m.opportunity.is_none();
        if self.panels.iter().any(|p| p.marks.iter().any(missing)) {
            parts.push("×: no estimate".to_string());
        }
        if self.slices > self.panels.len() {
            parts.push(format!("the {} largest of {} slices", self.panels.len(), self.slices));
        }
        parts.join(" · ")
    }

    /// The header, the notes line when there is one, and up to two legend rows.
    fn top(&self) -> u32 {
        let notes = if self.notes().is_empty() { 0 } else { NOTES_HEIGHT };
        HEADER_HEIGHT + notes + 2 * LEGEND_ROW
    }

    /// Columns of the grid: one row up to 3 panels, 2 x 2 for 4, then 3 columns (12 panels
    /// are 3 x 4): a panel ~300 px wide keeps a long value and its count on one title line and
    /// gives each of several policies room for its dot and whisker.
    fn columns(&self) -> usize {
        match self.panels.len() {
            0..=3 => self.panels.len().max(1),
            4 => 2,
            _ => 3,
        }
    }

    fn rows(&self) -> usize {
        self.panels.len().max(1).div_ceil(self.columns())
    }

    /// The shared y range over every panel's figures and intervals (zero included, so heights
    /// read as amounts).
    fn y_range(&self) -> (f64, f64) {
        let values: Vec<f64> = self
            .panels
            .iter()
            .flat_map(|p| &p.marks)
            .flat_map(|m| [m.meeting, m.opportunity])
            .flatten()
            .flat_map(|(v, interval)| {
                let (low, high) = interval.unwrap_or((v, v));
                [v, low, high]
            })
            .collect();
        if values.is_empty() {
            (0.0, 100.0)
        } else {
            padded_range(values, true)
        }
    }
}

impl Chart for SlicesChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let mut body = draw_header(root, &self.title(), &self.subtitle())?;
        let (width, _) = body.dim_in_pixel();
        let notes = self.notes();
        if !notes.is_empty() {
            let style = anchored(text(SUBTITLE_SIZE).color(&MUTED), HPos::Left, VPos::Top);
            let shown = fit_text(&body, &notes, &style, width as i32 - 2 * MARGIN as i32);
            body.draw_text(&shown, &style, (MARGIN as i32, 0))?;
            body = body.margin(NOTES_HEIGHT as i32, 0, 0, 0);
        }
        let legend: Vec<LegendItem> = self
            .policies
            .iter()
            .map(|p| LegendItem { label: p.name.clone(), color: p.color, line: false })
            .collect();
        let used =
            draw_legend_row(&body, &legend, (MARGIN as i32, 0), width as i32 - MARGIN as i32)?;
        let grid = body.margin(used + 4, MARGIN as i32, MARGIN as i32, AXIS_STRIP);
        // One axis title for the whole figure: the panels share the axis, so it is said once.
        let (_, grid_top) = grid.get_base_pixel();
        let (_, grid_height) = grid.dim_in_pixel();
        let axis_style = anchored(text(LABEL_SIZE).color(&MUTED), HPos::Center, VPos::Center)
            .transform(FontTransform::Rotate270);
        let middle = grid_top + grid_height as i32 / 2;
        root.draw_text("Per 100 conversations", &axis_style, (MARGIN as i32, middle))?;

        if self.panels.is_empty() {
            return draw_message(&grid, "No slice to show");
        }
        let range = self.y_range();
        let areas = grid.split_evenly((self.rows(), self.columns()));
        for (panel, area) in self.panels.iter().zip(&areas) {
            self.draw_panel(root, area, panel, range)?;
        }
        Ok(())
    }

    /// As tall as its rows need: twelve panels squeezed into the common canvas would leave
    /// each plot under 120 px high.
    fn size(&self) -> (u32, u32) {
        (WIDTH, self.top() + self.rows() as u32 * ROW_HEIGHT + MARGIN)
    }
}

impl SlicesChart {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        panel: &Panel,
        (y_min, y_max): (f64, f64),
    ) -> DrawResult<DB> {
        let (width, _) = area.dim_in_pixel();
        let title_color = if panel.thin { MUTED } else { INK };
        let title_style = bold(LABEL_SIZE).color(&title_color);
        // The value gives way first: the count and the thin mark are what panels compare by.
        let suffix_px = area.estimate_text_size(&panel.suffix, &title_style).map_or(0, |(w, _)| w);
        let room = width as i32 - 16 - suffix_px as i32;
        let title = format!(
            "{}{}",
            fit_text_end(area, &panel.value, &title_style, room.max(12)),
            panel.suffix
        );
        let decimals = decimals_for(y_max - y_min);
        let mut chart = ChartBuilder::on(area)
            .margin(6)
            .margin_right(10)
            .caption(title, title_style)
            .x_label_area_size(GROUP_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(0f64..2f64, y_min..y_max)?;
        if panel.thin {
            chart.plotting_area().fill(&THIN_BACKGROUND)?;
        }
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(5)
            .y_label_formatter(&|v| fixed(*v, decimals))
            .label_style(text(LABEL_SIZE - 2))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .draw()?;
        // The two groups, meetings left and opportunities right, apart by a thin rule.
        chart.draw_series(std::iter::once(PathElement::new(
            [(1.0, y_min), (1.0, y_max)],
            GRID.stroke_width(1),
        )))?;
        let group_style = anchored(text(LABEL_SIZE - 2).color(&MUTED), HPos::Center, VPos::Top);
        let (_, axis_y) = chart.backend_coord(&(0.0, y_min));
        for (g, label) in ["Meetings", "Opportunities"].iter().enumerate() {
            let (x, _) = chart.backend_coord(&(g as f64 + 0.5, y_min));
            root.draw_text(label, &group_style, (x, axis_y + 5))?;
        }

        let n = self.policies.len().max(1) as f64;
        // Policies spread over the middle 80% of each group, in the same order everywhere.
        let x_of = |group: usize, slot: f64| group as f64 + 0.1 + 0.8 * (slot + 0.5) / n;
        let slot_px = {
            let (a, _) = chart.backend_coord(&(x_of(0, 0.0), y_min));
            let (b, _) = chart.backend_coord(&(x_of(0, 1.0), y_min));
            (b - a).max(1)
        };
        let cap = (slot_px / 3).clamp(2, 5);
        for group in 0..2 {
            let figure = |m: &Mark| if group == 0 { m.meeting } else { m.opportunity };
            // History's dashed level first, so every dot and whisker sits over it.
            for mark in &panel.marks {
                let policy = &self.policies[mark.slot];
                if let (true, Some((v, _))) = (policy.historical, figure(mark)) {
                    let line = [(group as f64 + 0.04, v), (group as f64 + 0.96, v)];
                    let color = faded(HISTORICAL_COLOR, panel.thin);
                    chart.draw_series(DashedLineSeries::new(line, 6, 4, color.stroke_width(1)))?;
                }
            }
            for mark in &panel.marks {
                let policy = &self.policies[mark.slot];
                let x = x_of(group, mark.slot as f64);
                let color = faded(policy.color, panel.thin);
                let Some((v, interval)) = figure(mark) else {
                    let (px, py) = chart.backend_coord(&(x, y_min));
                    root.draw(&Cross::new((px, py - 6), 4, MUTED.stroke_width(2)))?;
                    continue;
                };
                if let Some((low, high)) = interval {
                    let (px, y_low) = chart.backend_coord(&(x, low));
                    let (_, y_high) = chart.backend_coord(&(x, high));
                    draw_whisker(root, px, (y_low, y_high), cap, color)?;
                }
                let (px, py) = chart.backend_coord(&(x, v));
                if policy.historical {
                    root.draw(&Rectangle::new(
                        [(px - 5, py - 5), (px + 5, py + 5)],
                        color.filled(),
                    ))?;
                } else {
                    root.draw(&Circle::new((px, py), 5, color.filled()))?;
                    root.draw(&Circle::new((px, py), 5, WHITE.stroke_width(1)))?;
                }
            }
        }
        Ok(())
    }
}

/// `color` washed towards white for a slice with too few conversations (a plain colour, so the
/// whiskers and dots keep drawing as they do elsewhere).
fn faded(color: RGBColor, thin: bool) -> RGBColor {
    if !thin {
        return color;
    }
    let wash = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * 0.55).round() as u8;
    RGBColor(wash(color.0), wash(color.1), wash(color.2))
}
