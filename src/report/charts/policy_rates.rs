//! Policies side by side on the two headline rates (handoff-to-meeting and
//! handoff-to-opportunity): one panel each, a bar per policy (historical first) with its 95%
//! interval whisker, history's level as a dashed line, and "n/a" where no estimate exists.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::{decimals_for, padded_range, scaled};
use super::elements::{draw_header, draw_whisker};
use super::labels::LabelLayout;
use super::style::{
    anchored, bold, is_historical, text, Palette, AXIS_TITLE_SIZE, GRID, HISTORICAL_COLOR,
    LABEL_SIZE, MUTED,
};
use super::{Chart, DrawResult};
use crate::format::percent_units;
use crate::summary::{Estimate, PolicySummary, Summary};

/// One bar: a policy's figure in percent, with its interval when known.
struct Bar {
    name: String,
    color: RGBColor,
    value: Option<(f64, Option<(f64, f64)>)>,
    historical: bool,
}

/// One panel: a metric over every policy.
struct Panel {
    title: &'static str,
    axis: &'static str,
    bars: Vec<Bar>,
}

pub(crate) struct PolicyRates {
    window: String,
    estimator: String,
    panels: Vec<Panel>,
}

impl PolicyRates {
    pub(crate) fn new(summary: &Summary, palette: &Palette) -> PolicyRates {
        let panel = |title, axis, metric: fn(&PolicySummary) -> &Estimate| Panel {
            title,
            axis,
            bars: summary
                .policies
                .iter()
                .map(|p| Bar {
                    name: p.name.clone(),
                    color: palette.color(&p.name),
                    value: scaled(metric(p), 100.0),
                    historical: is_historical(p),
                })
                .collect(),
        };
        PolicyRates {
            window: summary.window.label.clone(),
            estimator: summary.estimator.clone(),
            panels: vec![
                panel("Handoff → meeting", "Meetings per 100 handoffs (%)", |p| {
                    &p.rates.handoff_to_meeting
                }),
                panel("Handoff → opportunity", "Opportunities per 100 handoffs (%)", |p| {
                    &p.rates.handoff_to_opportunity
                }),
            ],
        }
    }

    pub(crate) fn title(&self) -> String {
        "Conversion after handoff, by policy".to_string()
    }
}

impl Chart for PolicyRates {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let subtitle = format!(
            "Window {} · {} estimator · bars: estimate, whiskers: 95% interval, dashed: historical",
            self.window, self.estimator
        );
        let body = draw_header(root, &self.title(), &subtitle)?;
        let panels = body.split_evenly((1, self.panels.len().max(1)));
        for (panel, area) in self.panels.iter().zip(&panels) {
            draw_panel(root, area, panel)?;
        }
        Ok(())
    }
}

const Y_LABEL_AREA: i32 = 78;
const ROTATED_LABEL_PX: i32 = 170;

fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
) -> DrawResult<DB> {
    let n = panel.bars.len().max(1);
    let (width, _) = area.dim_in_pixel();
    let slot = (width as i32 - Y_LABEL_AREA - 30) / n as i32;
    let names: Vec<String> = panel.bars.iter().map(|b| b.name.clone()).collect();
    let labels = LabelLayout::choose(root, &names, slot, ROTATED_LABEL_PX);
    let x_desc_height = AXIS_TITLE_SIZE as i32 + 10;

    let values = panel.bars.iter().filter_map(|b| b.value).flat_map(|(v, interval)| {
        let (low, high) = interval.unwrap_or((v, v));
        [v, low, high]
    });
    let values: Vec<f64> = values.collect();
    // With nothing to show, a 0-100% axis rather than a misleading 0-1%.
    let (y_min, y_max) = if values.is_empty() { (0.0, 100.0) } else { padded_range(values, true) };
    // Headroom for the value labels above the whiskers.
    let y_max = y_max + (y_max - y_min) * 0.08;
    let decimals = decimals_for(y_max - y_min);

    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_top(4)
        .caption(panel.title, bold(AXIS_TITLE_SIZE + 2))
        .x_label_area_size(labels.height(ROTATED_LABEL_PX) + x_desc_height)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y_min..y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(8)
        .y_label_formatter(&|v| percent_units(*v, decimals))
        .y_desc(panel.axis)
        .x_desc("Policy")
        .axis_desc_style(text(AXIS_TITLE_SIZE))
        .label_style(text(LABEL_SIZE))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(GRID)
        .draw()?;

    let historical = panel.bars.iter().find(|b| b.historical).and_then(|b| b.value);
    // Bars fill most of their slot but stay at most 110 px wide (one lone bar is not a wall).
    let slot_px = (chart.backend_coord(&(1.0, 0.0)).0 - chart.backend_coord(&(0.0, 0.0)).0).max(1);
    let half_bar = 0.32f64.min(55.0 / slot_px as f64);
    // Bars and whiskers first, then history's dashed level over them, then the figures on
    // top so the line never strikes through a number.
    let mut figures = Vec::new();
    for (i, bar) in panel.bars.iter().enumerate() {
        let x = i as f64;
        let Some((v, interval)) = bar.value else {
            figures.push((chart.backend_coord(&(x, 0.0)), None));
            continue;
        };
        let style = if bar.historical { bar.color.mix(0.85) } else { bar.color.mix(0.9) };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - half_bar, 0.0), (x + half_bar, v)],
            style.filled(),
        )))?;
        let top = match interval {
            Some((low, high)) => {
                let (px, y_low) = chart.backend_coord(&(x, low));
                let (_, y_high) = chart.backend_coord(&(x, high));
                draw_whisker(root, px, (y_low, y_high), 8, RGBColor(20, 20, 20))?;
                high.max(v)
            }
            None => v,
        };
        figures.push((chart.backend_coord(&(x, top)), Some(v)));
    }

    if let Some((baseline, _)) = historical {
        let line = [(-0.5, baseline), (n as f64 - 0.5, baseline)];
        chart.draw_series(DashedLineSeries::new(line, 8, 5, HISTORICAL_COLOR.stroke_width(2)))?;
    }

    for ((px, py), value) in figures {
        match value {
            Some(v) => draw_figure(root, (px, py), v, slot)?,
            None => {
                let style =
                    anchored(bold(LABEL_SIZE + 2).color(&MUTED), HPos::Center, VPos::Bottom);
                root.draw_text("n/a", &style, (px, py - 6))?;
            }
        }
    }

    let xs: Vec<i32> =
        (0..panel.bars.len()).map(|i| chart.backend_coord(&(i as f64, 0.0)).0).collect();
    let (_, axis_y) = chart.backend_coord(&(0.0, y_min));
    labels.draw(root, &xs, axis_y)
}

/// A bar's figure just above its whisker, on a white backing so it stays legible over the
/// dashed baseline; narrow slots get a shorter, smaller figure so neighbours never touch.
fn draw_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (px, py): (i32, i32),
    value: f64,
    slot: i32,
) -> DrawResult<DB> {
    let (label, size) = if slot >= 64 {
        (percent_units(value, 1), LABEL_SIZE)
    } else {
        (percent_units(value, 0), LABEL_SIZE - 2)
    };
    let style = anchored(bold(size), HPos::Center, VPos::Bottom);
    let (w, h) = root.estimate_text_size(&label, &style)?;
    let (half, h) = (w as i32 / 2 + 2, h as i32);
    root.draw(&Rectangle::new(
        [(px - half, py - 9 - h), (px + half, py - 4)],
        WHITE.mix(0.85).filled(),
    ))?;
    root.draw_text(&label, &style, (px, py - 7))
}
