//! Handoff timing relative to history: per policy, a 100% stacked horizontal bar of its
//! conversations by timing class (earlier, same, later, only the policy hands off, only history
//! did, neither), with a legend. History itself is not drawn: against itself it is all "same".

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::elements::{draw_header, draw_legend_row, draw_message, LegendItem};
use super::labels::wrap_label;
use super::style::{
    anchored, is_historical, text, AXIS_TITLE_SIZE, GRID, INK, LABEL_SIZE, MARGIN, MUTED,
};
use super::{Chart, DrawResult};
use crate::format::percent_units;
use crate::summary::Summary;

/// The spec's timing classes in reading order, with legend text and colour.
const CLASSES: [(&str, &str, RGBColor); 6] = [
    ("earlier", "earlier than history", RGBColor(0, 114, 178)),
    ("same", "same turn", RGBColor(160, 160, 160)),
    ("later", "later", RGBColor(230, 159, 0)),
    ("only_policy", "only the policy hands off", RGBColor(0, 158, 115)),
    ("only_history", "only history handed off", RGBColor(213, 94, 0)),
    ("neither", "neither hands off", RGBColor(226, 226, 226)),
];

/// Colours for classes the spec does not name (shown, never dropped).
const EXTRA_COLORS: [RGBColor; 3] =
    [RGBColor(136, 34, 85), RGBColor(68, 170, 153), RGBColor(204, 121, 167)];

struct Class {
    key: String,
    label: String,
    color: RGBColor,
}

struct Row {
    name: String,
    /// Counts in `classes` order.
    counts: Vec<u64>,
}

pub(crate) struct TimingChart {
    window: String,
    classes: Vec<Class>,
    rows: Vec<Row>,
}

impl TimingChart {
    pub(crate) fn new(summary: &Summary) -> TimingChart {
        let policies: Vec<_> = summary.policies.iter().filter(|p| !is_historical(p)).collect();
        let mut classes: Vec<Class> = CLASSES
            .iter()
            .map(|(key, label, color)| Class {
                key: key.to_string(),
                label: label.to_string(),
                color: *color,
            })
            .collect();
        for policy in &policies {
            for key in policy.timing.keys() {
                if !classes.iter().any(|c| &c.key == key) {
                    let extra = classes.len() - CLASSES.len();
                    classes.push(Class {
                        key: key.clone(),
                        label: key.replace('_', " "),
                        color: EXTRA_COLORS[extra % EXTRA_COLORS.len()],
                    });
                }
            }
        }
        let rows = policies
            .iter()
            .map(|p| Row {
                name: p.name.clone(),
                counts: classes
                    .iter()
                    .map(|c| p.timing.get(&c.key).copied().unwrap_or(0))
                    .collect(),
            })
            .collect();
        TimingChart { window: summary.window.label.clone(), classes, rows }
    }

    pub(crate) fn title(&self) -> String {
        "Handoff timing compared with history".to_string()
    }
}

const Y_LABEL_AREA: u32 = 250;

impl Chart for TimingChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let subtitle = format!(
            "Window {} · share of each policy's conversations by when it hands off, relative to \
             history",
            self.window
        );
        let body = draw_header(root, &self.title(), &subtitle)?;
        if self.rows.is_empty() {
            return draw_message(&body, "No policy besides history to compare");
        }
        let (width, _) = body.dim_in_pixel();
        let legend: Vec<LegendItem> = self
            .classes
            .iter()
            .map(|c| LegendItem { label: c.label.clone(), color: c.color, line: false })
            .collect();
        let used =
            draw_legend_row(&body, &legend, (MARGIN as i32, 0), width as i32 - MARGIN as i32)?;
        let plot = body.margin(used + 6, 0, 0, 0);

        let n = self.rows.len();
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .margin_top(4)
            .margin_right(30)
            .x_label_area_size(56)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(0f64..100f64, -0.5f64..(n as f64 - 0.5))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(11)
            .x_label_formatter(&|v| percent_units(*v, 0))
            .x_desc("Share of the policy's conversations (%)")
            .y_desc("Policy")
            .axis_desc_style(text(AXIS_TITLE_SIZE))
            .label_style(text(LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .draw()?;

        for (i, row) in self.rows.iter().enumerate() {
            // The first policy on top.
            let y = (n - 1 - i) as f64;
            self.draw_row(&mut chart, root, row, y)?;
            self.draw_row_label(&chart, root, &row.name, y)?;
        }
        Ok(())
    }
}

type TimingContext<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

impl TimingChart {
    fn draw_row<DB: DrawingBackend>(
        &self,
        chart: &mut TimingContext<'_, DB>,
        root: &DrawingArea<DB, Shift>,
        row: &Row,
        y: f64,
    ) -> DrawResult<DB> {
        let total: u64 = row.counts.iter().sum();
        if total == 0 {
            let (px, py) = chart.backend_coord(&(50.0, y));
            let style = anchored(text(LABEL_SIZE).color(&MUTED), HPos::Center, VPos::Center);
            return root.draw_text("no conversations", &style, (px, py));
        }
        // Bars fill most of their slot but stay at most 90 px thick.
        let slot_px =
            (chart.backend_coord(&(0.0, 0.0)).1 - chart.backend_coord(&(0.0, 1.0)).1).max(1);
        let half_bar = 0.32f64.min(45.0 / slot_px as f64);
        let mut start = 0.0;
        for (class, &count) in self.classes.iter().zip(&row.counts) {
            if count == 0 {
                continue;
            }
            let share = 100.0 * count as f64 / total as f64;
            let end = (start + share).min(100.0);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(start, y - half_bar), (end, y + half_bar)],
                class.color.filled(),
            )))?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(start, y - half_bar), (end, y + half_bar)],
                WHITE.stroke_width(1),
            )))?;
            let (x0, py) = chart.backend_coord(&(start, y));
            let (x1, _) = chart.backend_coord(&(end, y));
            let label = percent_units(share, 0);
            let ink = label_color(class.color);
            let style = anchored(text(LABEL_SIZE).color(&ink), HPos::Center, VPos::Center);
            let (label_w, _) = root.estimate_text_size(&label, &style)?;
            if x1 - x0 >= label_w as i32 + 8 {
                root.draw_text(&label, &style, ((x0 + x1) / 2, py))?;
            }
            start = end;
        }
        Ok(())
    }

    /// The policy name right-aligned left of the axis, on two lines when long.
    fn draw_row_label<DB: DrawingBackend>(
        &self,
        chart: &TimingContext<'_, DB>,
        root: &DrawingArea<DB, Shift>,
        name: &str,
        y: f64,
    ) -> DrawResult<DB> {
        let (px, py) = chart.backend_coord(&(0.0, y));
        let style = anchored(text(LABEL_SIZE), HPos::Right, VPos::Center);
        let max = Y_LABEL_AREA as i32 - 40;
        let lines = wrap_label(root, name, &style, max, 2);
        let line_height = LABEL_SIZE as i32 + 3;
        let top = py - line_height * (lines.len() as i32 - 1) / 2;
        for (i, line) in lines.iter().enumerate() {
            root.draw_text(line, &style, (px - 8, top + i as i32 * line_height))?;
        }
        Ok(())
    }
}

/// Dark text on light fills, white on dark ones.
fn label_color(fill: RGBColor) -> RGBColor {
    let RGBColor(r, g, b) = fill;
    let luminance = 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64;
    if luminance > 150.0 {
        INK
    } else {
        WHITE
    }
}
