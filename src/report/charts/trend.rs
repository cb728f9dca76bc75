//! Week-over-week trend of the headline rates (handoff-to-meeting and handoff-to-opportunity)
//! per policy over the `history` windows. Only drawn with at least two windows: one week is not
//! a trend. Only the overall rows are drawn: a slice's rows (`--by`) are figures over part of
//! a week's conversations and would read as a second value for the same policy and week.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{decimals_for, padded_range, scaled};
use super::elements::{draw_header, draw_legend_row, LegendItem};
use super::labels::LabelLayout;
use super::style::{
    bold, text, Palette, AXIS_TITLE_SIZE, GRID, HISTORICAL_COLOR, LABEL_SIZE, MARGIN,
};
use super::{Chart, DrawResult};
use crate::format::percent_units;
use crate::report::history::HistoryRow;

type Value = Option<f64>;

/// Picks one rate out of a window's (meeting, opportunity) pair.
type Pick = fn(&(Value, Value)) -> Value;

struct Series {
    policy: String,
    color: RGBColor,
    /// Per window (in `windows` order): (handoff-to-meeting, handoff-to-opportunity) in percent.
    values: Vec<(Value, Value)>,
}

pub(crate) struct TrendChart {
    windows: Vec<String>,
    series: Vec<Series>,
}

impl TrendChart {
    /// The trend of `history`, or nothing when it holds fewer than two windows.
    pub(crate) fn new(history: &[HistoryRow], palette: &Palette) -> Option<TrendChart> {
        let history: Vec<&HistoryRow> = history.iter().filter(|r| r.is_overall()).collect();
        // Windows in time order (ISO-week labels sort like their start dates; `since` first).
        let mut windows: Vec<(String, String)> =
            history.iter().map(|r| (r.since.clone(), r.window.clone())).collect();
        windows.sort();
        windows.dedup_by(|a, b| a.1 == b.1);
        let mut seen = Vec::new();
        windows.retain(|(_, w)| {
            let new = !seen.contains(w);
            seen.push(w.clone());
            new
        });
        if windows.len() < 2 {
            return None;
        }
        let index: BTreeMap<&str, usize> =
            windows.iter().enumerate().map(|(i, (_, w))| (w.as_str(), i)).collect();

        let mut policies: Vec<&str> = Vec::new();
        for row in &history {
            if !policies.contains(&row.policy.as_str()) {
                policies.push(&row.policy);
            }
        }
        policies.sort_by_key(|p| palette.rank(p));
        let series = policies
            .iter()
            .map(|policy| {
                let mut values = vec![(None, None); windows.len()];
                // A window rerun replaces its rows upstream; if duplicates slip through, the
                // last row wins.
                for row in history.iter().filter(|r| r.policy == *policy) {
                    if let Some(&i) = index.get(row.window.as_str()) {
                        values[i] = (
                            scaled(&row.rates.handoff_to_meeting, 100.0).map(|(v, _)| v),
                            scaled(&row.rates.handoff_to_opportunity, 100.0).map(|(v, _)| v),
                        );
                    }
                }
                Series { policy: policy.to_string(), color: palette.color(policy), values }
            })
            .collect();
        Some(TrendChart { windows: windows.into_iter().map(|(_, w)| w).collect(), series })
    }

    pub(crate) fn title(&self) -> String {
        "Week-over-week trend of the headline rates".to_string()
    }
}

const Y_LABEL_AREA: i32 = 78;
const ROTATED_LABEL_PX: i32 = 110;

impl Chart for TrendChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let subtitle = format!(
            "{} windows, {} to {} · point estimates per window (intervals in the report tables)",
            self.windows.len(),
            self.windows.first().map(String::as_str).unwrap_or(""),
            self.windows.last().map(String::as_str).unwrap_or("")
        );
        let body = draw_header(root, &self.title(), &subtitle)?;
        let (width, _) = body.dim_in_pixel();
        let legend: Vec<LegendItem> = self
            .series
            .iter()
            .map(|s| LegendItem { label: s.policy.clone(), color: s.color, line: true })
            .collect();
        let used =
            draw_legend_row(&body, &legend, (MARGIN as i32, 0), width as i32 - MARGIN as i32)?;
        let plot = body.margin(used + 6, 0, 0, 0);
        let panels = plot.split_evenly((1, 2));
        let metrics: [(&str, &str, Pick); 2] = [
            ("Handoff → meeting", "Meetings per 100 handoffs (%)", |v| v.0),
            ("Handoff → opportunity", "Opportunities per 100 handoffs (%)", |v| v.1),
        ];
        for ((title, axis, pick), area) in metrics.iter().zip(&panels) {
            self.draw_panel(root, area, title, axis, *pick)?;
        }
        Ok(())
    }
}

impl TrendChart {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        title: &str,
        axis: &str,
        pick: Pick,
    ) -> DrawResult<DB> {
        let n = self.windows.len();
        let (width, _) = area.dim_in_pixel();
        let slot = (width as i32 - Y_LABEL_AREA - 30) / n as i32;
        let labels = LabelLayout::choose(root, &self.windows, slot, ROTATED_LABEL_PX);
        let values = self.series.iter().flat_map(|s| s.values.iter().filter_map(pick));
        let values: Vec<f64> = values.collect();
        // With nothing to show, a 0-100% axis rather than a misleading 0-1%.
        let (y_min, y_max) =
            if values.is_empty() { (0.0, 100.0) } else { padded_range(values, true) };
        let decimals = decimals_for(y_max - y_min);

        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .margin_top(4)
            .caption(title, bold(AXIS_TITLE_SIZE + 2))
            .x_label_area_size(labels.height(ROTATED_LABEL_PX) + AXIS_TITLE_SIZE as i32 + 10)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(-0.4f64..(n as f64 - 0.6), y_min..y_max)?;
        chart
            .configure_mesh()
            .x_labels(0)
            .y_labels(8)
            .y_label_formatter(&|v| percent_units(*v, decimals))
            .x_desc("ISO week")
            .y_desc(axis)
            .axis_desc_style(text(AXIS_TITLE_SIZE))
            .label_style(text(LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .draw()?;

        for series in &self.series {
            let width = if series.color == HISTORICAL_COLOR { 4 } else { 3 };
            let points: Vec<Option<(f64, f64)>> = series
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| pick(v).map(|y| (i as f64, y)))
                .collect();
            for run in points.split(Option::is_none).filter(|run| !run.is_empty()) {
                let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
                chart
                    .draw_series(LineSeries::new(run.clone(), series.color.stroke_width(width)))?;
                chart.draw_series(run.iter().map(|&p| Circle::new(p, 5, series.color.filled())))?;
            }
        }

        let xs: Vec<i32> = (0..n).map(|i| chart.backend_coord(&(i as f64, y_min)).0).collect();
        let (_, axis_y) = chart.backend_coord(&(0.0, y_min));
        labels.draw(root, &xs, axis_y)
    }
}
