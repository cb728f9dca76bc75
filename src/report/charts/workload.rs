//! Human workload against results: handoffs per 100 conversations (x) against opportunities per
//! 100 conversations (y), one labelled point per policy with its opportunity interval; history
//! is highlighted and its levels drawn as dashed guides, so "up and to the left" reads as
//! better than history.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::{decimals_for, finite, padded_range, scaled};
use super::elements::{draw_header, draw_message, draw_whisker};
use super::labels::fit_text;
use super::style::{
    anchored, bold, is_historical, text, Palette, AXIS_TITLE_SIZE, GRID, HISTORICAL_COLOR,
    LABEL_SIZE, MUTED,
};
use super::{Chart, DrawResult};
use crate::summary::Summary;

struct Dot {
    name: String,
    color: RGBColor,
    historical: bool,
    /// Handoffs per 100 conversations.
    x: f64,
    /// Opportunities per 100 conversations, with its interval.
    y: (f64, Option<(f64, f64)>),
}

pub(crate) struct WorkloadChart {
    window: String,
    dots: Vec<Dot>,
    /// Policies that cannot be placed (null or non-finite figures), named in the subtitle.
    missing: Vec<String>,
}

impl WorkloadChart {
    pub(crate) fn new(summary: &Summary, palette: &Palette) -> WorkloadChart {
        let mut dots = Vec::new();
        let mut missing = Vec::new();
        for policy in &summary.policies {
            let x = finite(Some(policy.rates.handoff_rate * 100.0));
            match (x, scaled(&policy.rates.opportunity_rate, 100.0)) {
                (Some(x), Some(y)) => dots.push(Dot {
                    name: policy.name.clone(),
                    color: palette.color(&policy.name),
                    historical: is_historical(policy),
                    x,
                    y,
                }),
                _ => missing.push(policy.name.clone()),
            }
        }
        WorkloadChart { window: summary.window.label.clone(), dots, missing }
    }

    pub(crate) fn title(&self) -> String {
        "Human workload against opportunities".to_string()
    }

    fn subtitle(&self) -> String {
        let mut text = format!(
            "Window {} · one point per policy, whiskers: 95% interval, dashed: historical",
            self.window
        );
        if !self.missing.is_empty() {
            text.push_str(&format!(" · n/a: {}", self.missing.join(", ")));
        }
        text
    }
}

impl Chart for WorkloadChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let body = draw_header(root, &self.title(), &self.subtitle())?;
        if self.dots.is_empty() {
            return draw_message(
                &body,
                "No policy has both a handoff rate and an opportunity rate",
            );
        }
        let (x_min, x_max) = padded_range(self.dots.iter().map(|d| d.x), true);
        // Extra room on the right for labels of the rightmost points.
        let x_max = x_max + (x_max - x_min) * 0.12;
        let ys = self.dots.iter().flat_map(|d| {
            let (v, interval) = d.y;
            let (low, high) = interval.unwrap_or((v, v));
            [v, low, high]
        });
        let (y_min, y_max) = padded_range(ys, true);
        let x_decimals = decimals_for(x_max - x_min);
        let y_decimals = decimals_for(y_max - y_min);

        let mut chart = ChartBuilder::on(&body)
            .margin(16)
            .margin_top(4)
            .margin_right(24)
            .x_label_area_size(58)
            .y_label_area_size(80)
            .build_cartesian_2d(x_min..x_max, y_min..y_max)?;
        chart
            .configure_mesh()
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|v| format!("{v:.x_decimals$}"))
            .y_label_formatter(&|v| format!("{v:.y_decimals$}"))
            .x_desc("Handoffs to a human per 100 conversations")
            .y_desc("Opportunities per 100 conversations")
            .axis_desc_style(text(AXIS_TITLE_SIZE))
            .label_style(text(LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .draw()?;

        if let Some(history) = self.dots.iter().find(|d| d.historical) {
            let guide = HISTORICAL_COLOR.mix(0.6).stroke_width(1);
            chart.draw_series(DashedLineSeries::new(
                [(history.x, y_min), (history.x, y_max)],
                6,
                5,
                guide,
            ))?;
            chart.draw_series(DashedLineSeries::new(
                [(x_min, history.y.0), (x_max, history.y.0)],
                6,
                5,
                guide,
            ))?;
        }

        let mut pixels = Vec::new();
        let mut whiskers = Vec::new();
        for dot in &self.dots {
            let (px, py) = chart.backend_coord(&(dot.x, dot.y.0));
            if let Some((low, high)) = dot.y.1 {
                let (_, y_low) = chart.backend_coord(&(dot.x, low));
                let (_, y_high) = chart.backend_coord(&(dot.x, high));
                draw_whisker(root, px, (y_low, y_high), 6, dot.color)?;
                whiskers.push((px - 7, y_high.min(y_low) - 1, px + 7, y_high.max(y_low) + 1));
            }
            pixels.push((px, py));
        }
        // Markers after whiskers so every marker stays visible.
        for (dot, &(px, py)) in self.dots.iter().zip(&pixels) {
            if dot.historical {
                root.draw(&Rectangle::new(
                    [(px - 8, py - 8), (px + 8, py + 8)],
                    dot.color.filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(px - 8, py - 8), (px + 8, py + 8)],
                    WHITE.stroke_width(2),
                ))?;
            } else {
                root.draw(&Circle::new((px, py), 8, dot.color.filled()))?;
                root.draw(&Circle::new((px, py), 8, WHITE.stroke_width(2)))?;
            }
        }
        let (plot_x0, plot_y0) = chart.backend_coord(&(x_min, y_max));
        let (plot_x1, plot_y1) = chart.backend_coord(&(x_max, y_min));
        self.draw_labels(root, &pixels, &whiskers, (plot_x0, plot_y0, plot_x1, plot_y1))
    }
}

type Box4 = (i32, i32, i32, i32);

impl WorkloadChart {
    /// Labels each point, trying right, left, above and below (then further out) and taking the
    /// first spot that overlaps no marker, no earlier label and stays inside the plot.
    fn draw_labels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        pixels: &[(i32, i32)],
        whiskers: &[Box4],
        plot: Box4,
    ) -> DrawResult<DB> {
        let markers: Vec<Box4> = pixels
            .iter()
            .map(|&(x, y)| (x - 10, y - 10, x + 10, y + 10))
            .chain(whiskers.iter().copied())
            .collect();
        let mut placed: Vec<Box4> = Vec::new();
        for (dot, &(px, py)) in self.dots.iter().zip(pixels) {
            let base = if dot.historical { bold(LABEL_SIZE) } else { text(LABEL_SIZE) };
            let probe = anchored(base.clone(), HPos::Left, VPos::Top);
            let label = fit_text(root, &dot.name, &probe, 260);
            let (w, h) = root.estimate_text_size(&label, &probe)?;
            let (w, h) = (w as i32, h as i32 + 2);
            let candidates = label_candidates(px, py, w, h);
            let inside =
                |b: &Box4| b.0 >= plot.0 && b.2 <= plot.2 && b.1 >= plot.1 && b.3 <= plot.3;
            let free =
                |b: &Box4| !placed.iter().chain(markers.iter()).any(|other| overlaps(b, other));
            let chosen = candidates
                .iter()
                .find(|b| inside(b) && free(b))
                .or_else(|| candidates.iter().find(|b| inside(b)))
                .copied()
                .unwrap_or(candidates[0]);
            let ink = text_color(dot);
            if !adjacent(&chosen, px) {
                draw_leader(root, (px, py), &chosen, ink)?;
            }
            let style = anchored(base.color(&ink), HPos::Left, VPos::Top);
            root.draw(&Rectangle::new(
                [(chosen.0 - 2, chosen.1 - 1), (chosen.2 + 2, chosen.3 + 1)],
                WHITE.mix(0.8).filled(),
            ))?;
            root.draw_text(&label, &style, (chosen.0, chosen.1))?;
            placed.push(chosen);
        }
        Ok(())
    }
}

fn text_color(dot: &Dot) -> RGBColor {
    if dot.historical {
        HISTORICAL_COLOR
    } else {
        // Label text in a darkened policy colour keeps the link to the point and stays legible.
        let RGBColor(r, g, b) = dot.color;
        let dark = |c: u8| (c as f64 * 0.7) as u8;
        let c = RGBColor(dark(r), dark(g), dark(b));
        if c == RGBColor(0, 0, 0) {
            MUTED
        } else {
            c
        }
    }
}

/// Label boxes around a point of `(w, h)` text, nearest first.
fn label_candidates(px: i32, py: i32, w: i32, h: i32) -> Vec<Box4> {
    let mut boxes = Vec::new();
    for step in 0..6 {
        let d = 13 + step * (h + 2);
        boxes.push((
            px + 13,
            py - h / 2 - step * (h + 2),
            px + 13 + w,
            py + h / 2 - step * (h + 2),
        ));
        boxes.push((
            px + 13,
            py - h / 2 + step * (h + 2),
            px + 13 + w,
            py + h / 2 + step * (h + 2),
        ));
        boxes.push((
            px - 13 - w,
            py - h / 2 - step * (h + 2),
            px - 13,
            py + h / 2 - step * (h + 2),
        ));
        boxes.push((
            px - 13 - w,
            py - h / 2 + step * (h + 2),
            px - 13,
            py + h / 2 + step * (h + 2),
        ));
        boxes.push((px - w / 2, py - d - h, px + w / 2 + w % 2, py - d));
        boxes.push((px - w / 2, py + d, px + w / 2 + w % 2, py + d + h));
    }
    boxes
}

/// Whether a label box sits right beside its point (then no leader line is needed).
fn adjacent(label: &Box4, px: i32) -> bool {
    label.0 == px + 13 || label.2 == px - 13
}

/// A thin line from the marker's edge to the nearest point of its label's box, so a label
/// pushed away by its neighbours still points at its dot.
fn draw_leader<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (px, py): (i32, i32),
    label: &Box4,
    color: RGBColor,
) -> DrawResult<DB> {
    let target = (px.clamp(label.0, label.2), py.clamp(label.1, label.3));
    let (dx, dy) = ((target.0 - px) as f64, (target.1 - py) as f64);
    let length = (dx * dx + dy * dy).sqrt();
    if length <= 12.0 {
        return Ok(());
    }
    let start = (px + (dx / length * 10.0) as i32, py + (dy / length * 10.0) as i32);
    root.draw(&PathElement::new(vec![start, target], color.mix(0.7).stroke_width(1)))
}

fn overlaps(a: &Box4, b: &Box4) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}
