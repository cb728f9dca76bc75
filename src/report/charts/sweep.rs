//! One chart per sweep: the net objective per 100 conversations against the swept parameter's
//! value, its 95% interval as a shaded band, the optimum marked and labelled.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::{decimals_for, finite, padded_range, plottable, scaled};
use super::elements::{draw_header, draw_message, draw_whisker};
use super::style::{anchored, bold, text, AXIS_TITLE_SIZE, GRID, INK, LABEL_SIZE, MUTED};
use super::{Chart, DrawResult};
use crate::format::{adaptive, shortest};
use crate::summary::SweepSummary;

const LINE_COLOR: RGBColor = RGBColor(0, 114, 178);
const OPTIMUM_COLOR: RGBColor = RGBColor(213, 94, 0);

/// A sweep point that can be placed on the x axis.
struct Point {
    value: f64,
    estimate: Option<(f64, Option<(f64, f64)>)>,
}

pub(crate) struct SweepChart {
    policy: String,
    parameter: String,
    objective: String,
    handoff_cost: f64,
    /// Sorted by value.
    points: Vec<Point>,
    /// Points without a finite parameter value (cannot be placed; counted in the subtitle).
    unplaceable: usize,
    optimum: Option<Optimum>,
}

struct Optimum {
    value: f64,
    estimate: Option<(f64, Option<(f64, f64)>)>,
    beats_runner_up: bool,
    has_runner_up: bool,
}

impl SweepChart {
    pub(crate) fn new(sweep: &SweepSummary) -> SweepChart {
        let mut points: Vec<Point> = sweep
            .points
            .iter()
            .filter(|p| plottable(p.value))
            .map(|p| Point { value: p.value, estimate: scaled(&p.net_objective_per_100, 1.0) })
            .collect();
        points.sort_by(|a, b| a.value.total_cmp(&b.value));
        let optimum = sweep.optimal.as_ref().filter(|o| plottable(o.value)).map(|o| Optimum {
            value: o.value,
            estimate: scaled(&o.net_objective_per_100, 1.0),
            beats_runner_up: o.beats_runner_up,
            has_runner_up: finite(o.runner_up).is_some(),
        });
        SweepChart {
            policy: sweep.policy.clone(),
            parameter: sweep.parameter.clone(),
            objective: sweep.objective.clone(),
            handoff_cost: sweep.handoff_cost,
            unplaceable: sweep.points.len() - points.len(),
            points,
            optimum,
        }
    }

    pub(crate) fn title(&self) -> String {
        format!("Sweep of {} over {}", self.policy, self.parameter)
    }

    fn subtitle(&self) -> String {
        let missing =
            self.points.iter().filter(|p| p.estimate.is_none()).count() + self.unplaceable;
        let mut parts = vec![
            format!("Objective: {}", self.objective),
            format!("handoff cost {}", shortest(self.handoff_cost)),
            "line: estimate, band: 95% interval".to_string(),
        ];
        if missing > 0 {
            parts.push(format!("{missing} point(s) n/a"));
        }
        parts.join(" · ")
    }
}

impl Chart for SweepChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let body = draw_header(root, &self.title(), &self.subtitle())?;
        if self.points.iter().all(|p| p.estimate.is_none()) {
            return draw_message(&body, "No sweep point could be estimated");
        }

        // The optimum is placed from its own figures: the axes must hold it too.
        let optimum_x = self.optimum.as_ref().map(|o| o.value);
        let optimum_y = self.optimum.as_ref().and_then(|o| o.estimate);
        let (x_min, x_max) =
            padded_range(self.points.iter().map(|p| p.value).chain(optimum_x), false);
        let ys = self.points.iter().filter_map(|p| p.estimate).chain(optimum_y).flat_map(
            |(v, interval)| {
                let (low, high) = interval.unwrap_or((v, v));
                [v, low, high]
            },
        );
        let (y_min, y_max) = padded_range(ys, false);
        let x_decimals = decimals_for(x_max - x_min).max(self.value_decimals());
        let y_decimals = decimals_for(y_max - y_min);

        let mut chart = ChartBuilder::on(&body)
            .margin(16)
            .margin_top(4)
            .x_label_area_size(58)
            .y_label_area_size(80)
            .build_cartesian_2d(x_min..x_max, y_min..y_max)?;
        let y_desc = format!("Net {} per 100 conversations", self.objective);
        let x_desc = format!("{} (parameter value)", self.parameter);
        chart
            .configure_mesh()
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|v| format!("{v:.x_decimals$}"))
            .y_label_formatter(&|v| format!("{v:.y_decimals$}"))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .axis_desc_style(text(AXIS_TITLE_SIZE))
            .label_style(text(LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .draw()?;

        if y_min < 0.0 && y_max > 0.0 {
            chart.draw_series(LineSeries::new(
                [(x_min, 0.0), (x_max, 0.0)],
                MUTED.stroke_width(1),
            ))?;
        }
        self.draw_band(&mut chart, root)?;
        for run in runs(&self.points, |p| p.estimate.map(|(v, _)| (p.value, v))) {
            chart.draw_series(LineSeries::new(run, LINE_COLOR.stroke_width(3)))?;
        }
        chart.draw_series(self.points.iter().filter_map(|p| {
            p.estimate.map(|(v, _)| Circle::new((p.value, v), 4, LINE_COLOR.filled()))
        }))?;
        self.draw_optimum(&chart, root, (x_min, x_max), (y_min, y_max))
    }
}

type SweepContext<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

impl SweepChart {
    /// Decimals the parameter values themselves need (0.05 steps need two).
    fn value_decimals(&self) -> usize {
        let needs = |decimals: i32| {
            self.points.iter().any(|p| {
                let scaled = p.value * 10f64.powi(decimals);
                (scaled - scaled.round()).abs() > 1e-6
            })
        };
        (0..3).find(|d| !needs(*d)).unwrap_or(3) as usize
    }

    /// The interval as a shaded band over each run of consecutive points with an interval; a
    /// lone point's interval is a whisker instead (a band needs two points).
    fn draw_band<DB: DrawingBackend>(
        &self,
        chart: &mut SweepContext<'_, DB>,
        root: &DrawingArea<DB, Shift>,
    ) -> DrawResult<DB> {
        let band = LINE_COLOR.mix(0.18);
        for run in runs(&self.points, |p| p.estimate.and_then(|(_, i)| i).map(|i| (p.value, i))) {
            if run.len() == 1 {
                let (x, (low, high)) = run[0];
                let (px, y_low) = chart.backend_coord(&(x, low));
                let (_, y_high) = chart.backend_coord(&(x, high));
                draw_whisker(root, px, (y_low, y_high), 8, LINE_COLOR)?;
                continue;
            }
            let upper = run.iter().map(|(x, (_, high))| (*x, *high));
            let lower = run.iter().rev().map(|(x, (low, _))| (*x, *low));
            chart.draw_series(std::iter::once(Polygon::new(
                upper.chain(lower).collect::<Vec<_>>(),
                band.filled(),
            )))?;
        }
        Ok(())
    }

    fn draw_optimum<DB: DrawingBackend>(
        &self,
        chart: &SweepContext<'_, DB>,
        root: &DrawingArea<DB, Shift>,
        (x_min, x_max): (f64, f64),
        (y_min, y_max): (f64, f64),
    ) -> DrawResult<DB> {
        let Some(optimum) = &self.optimum else {
            return Ok(());
        };
        let Some((net, interval)) = optimum.estimate else {
            return Ok(());
        };
        let (px, py) = chart.backend_coord(&(optimum.value, net));
        let (_, axis_y) = chart.backend_coord(&(optimum.value, y_min));
        root.draw(&PathElement::new(
            vec![(px, py + 10), (px, axis_y)],
            OPTIMUM_COLOR.stroke_width(1),
        ))?;
        root.draw(&Circle::new((px, py), 9, OPTIMUM_COLOR.stroke_width(3)))?;
        root.draw(&Circle::new((px, py), 4, OPTIMUM_COLOR.filled()))?;

        let mut lines = vec![
            // The value as the sweep table writes it (`3`, not `3.00`); the estimate and its
            // interval with one shared precision (`13.8 [9.0, 18.7]`, not `[9.04, 18.7]`).
            format!("Optimum: {} = {}", self.parameter, shortest(optimum.value)),
            match interval {
                Some((low, high)) => {
                    let d = decimals_for_magnitude(net.abs().max(low.abs()).max(high.abs()));
                    format!("net {net:.d$} [{low:.d$}, {high:.d$}]")
                }
                None => format!("net {}", adaptive(net)),
            },
        ];
        if optimum.has_runner_up {
            lines.push(if optimum.beats_runner_up {
                "clearly beats the runner-up".to_string()
            } else {
                "not clearly better than the runner-up".to_string()
            });
        }
        // Put the label on the side of the point with more room.
        let right_side = optimum.value <= (x_min + x_max) / 2.0;
        let (h, x) = if right_side { (HPos::Left, px + 16) } else { (HPos::Right, px - 16) };
        let first = anchored(bold(LABEL_SIZE + 2).color(&OPTIMUM_COLOR), h, VPos::Center);
        let rest = anchored(text(LABEL_SIZE).color(&INK), h, VPos::Center);
        let line_height = LABEL_SIZE as i32 + 5;
        let (_, plot_top) = chart.backend_coord(&(x_min, y_max));
        let plot_bottom = axis_y;
        let block = line_height * lines.len() as i32;
        // Keep the block inside the plot: below the point when near the top.
        let mut y0 = py - block - 12;
        if y0 < plot_top + 4 {
            y0 = py + 18;
        }
        y0 = y0.min(plot_bottom - block - 4);
        let width = lines
            .iter()
            .map(|l| root.estimate_text_size(l, &first).map(|(w, _)| w as i32).unwrap_or(0))
            .max()
            .unwrap_or(0);
        let (bx0, bx1) = if right_side { (x - 6, x + width + 6) } else { (x - width - 6, x + 6) };
        root.draw(&Rectangle::new(
            [(bx0, y0 - 4), (bx1, y0 + block + 2)],
            WHITE.mix(0.85).filled(),
        ))?;
        for (row, line) in lines.iter().enumerate() {
            let style = if row == 0 { &first } else { &rest };
            root.draw_text(line, style, (x, y0 + line_height / 2 + row as i32 * line_height))?;
        }
        Ok(())
    }
}

/// Maximal runs of consecutive points for which `value` is defined (a null breaks the line).
fn runs<T: Copy>(points: &[Point], value: impl Fn(&Point) -> Option<T>) -> Vec<Vec<T>> {
    let mut all = Vec::new();
    let mut current = Vec::new();
    for point in points {
        match value(point) {
            Some(v) => current.push(v),
            None if !current.is_empty() => all.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

/// Decimals for figures up to `magnitude`: 0 from 100, 1 from 1, 2 below.
fn decimals_for_magnitude(magnitude: f64) -> usize {
    if magnitude >= 100.0 {
        0
    } else if magnitude >= 1.0 {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_shares_the_precision_of_its_largest_figure() {
        assert_eq!(decimals_for_magnitude(18.7), 1);
        assert_eq!(decimals_for_magnitude(250.0), 0);
        assert_eq!(decimals_for_magnitude(0.4), 2);
    }
}
