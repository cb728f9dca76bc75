//! Sensitivity to hidden confounding (sensitivity.md): for the policy of the headline
//! comparison and the three others with the highest estimates, the bounds of the opportunity
//! rate widening with `Gamma` (a shaded band from the `dr` estimate at `Gamma = 1`), and
//! history's observed rate as a dashed line. Only drawn when the summary has bounds.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::{decimals_for, finite, padded_range};
use super::elements::{draw_header, draw_legend_row, LegendItem};
use super::style::{
    anchored, is_historical, text, Palette, AXIS_TITLE_SIZE, GRID, HISTORICAL_COLOR, LABEL_SIZE,
    MARGIN,
};
use super::{Chart, DrawResult};
use crate::format::{percent_units, shortest};
use crate::summary::{PolicyKind, Summary};

/// How many policies besides the headline one are drawn.
const OTHERS: usize = 3;

/// One policy's band: per `Gamma` (from 1), the low and high opportunity rate in percent.
struct Band {
    policy: String,
    color: RGBColor,
    points: Vec<(f64, f64, f64)>,
}

pub(crate) struct SensitivityChart {
    window: String,
    gammas: Vec<f64>,
    bands: Vec<Band>,
    /// History's observed opportunity rate, in percent.
    historical: Option<f64>,
}

impl SensitivityChart {
    /// The chart, or nothing when the summary has no bounds to draw.
    pub(crate) fn new(summary: &Summary, palette: &Palette) -> Option<SensitivityChart> {
        let sensitivity = summary.sensitivity.as_ref().filter(|s| s.skipped.is_none())?;
        let headline = sensitivity
            .comparisons
            .iter()
            .find(|c| c.versus == "historical")
            .map(|c| c.policy.as_str());
        let mut ranked: Vec<(&str, f64)> = summary
            .policies
            .iter()
            .filter(|p| p.kind == PolicyKind::Policy && Some(p.name.as_str()) != headline)
            .filter_map(|p| Some((p.name.as_str(), finite(p.rates.opportunity_rate.estimate)?)))
            .collect();
        // Highest first; ties keep the file's order.
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let names: Vec<&str> =
            headline.into_iter().chain(ranked.into_iter().take(OTHERS).map(|r| r.0)).collect();
        let bands: Vec<Band> = names
            .iter()
            .filter_map(|name| {
                let p = summary.policies.iter().find(|p| p.name == *name)?;
                let bounds = p.sensitivity.as_ref()?.as_ref()?;
                let estimate = finite(p.rates.opportunity_rate.estimate)? * 100.0;
                let mut points = vec![(1.0, estimate, estimate)];
                for b in bounds {
                    let (Some(low), Some(high)) =
                        (finite(b.opportunity_rate.low), finite(b.opportunity_rate.high))
                    else {
                        continue;
                    };
                    points.push((b.gamma, 100.0 * low, 100.0 * high));
                }
                Some(Band { policy: p.name.clone(), color: palette.color(&p.name), points })
            })
            .collect();
        if bands.is_empty() {
            return None;
        }
        let historical = summary
            .policies
            .iter()
            .find(|p| is_historical(p))
            .and_then(|p| finite(p.rates.opportunity_rate.estimate))
            .map(|v| 100.0 * v);
        let mut gammas = vec![1.0];
        gammas.extend(sensitivity.gammas.iter().copied().filter(|g| *g > 1.0 && g.is_finite()));
        Some(SensitivityChart { window: summary.window.label.clone(), gammas, bands, historical })
    }

    pub(crate) fn title(&self) -> String {
        "How far hidden confounding could move the opportunity rate".to_string()
    }
}

const Y_LABEL_AREA: i32 = 78;

impl Chart for SensitivityChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let subtitle = format!(
            "Window {} · bands: lowest to highest estimate if unrecorded reasons moved the odds \
             of history's handoffs up to Γ times · dashed: historical",
            self.window
        );
        let body = draw_header(root, &self.title(), &subtitle)?;
        let (width, _) = body.dim_in_pixel();
        let mut legend: Vec<LegendItem> = self
            .bands
            .iter()
            .map(|b| LegendItem { label: b.policy.clone(), color: b.color, line: false })
            .collect();
        if self.historical.is_some() {
            legend.push(LegendItem {
                label: "historical (observed)".into(),
                color: HISTORICAL_COLOR,
                line: true,
            });
        }
        let used =
            draw_legend_row(&body, &legend, (MARGIN as i32, 0), width as i32 - MARGIN as i32)?;
        let plot = body.margin(used + 6, 0, 0, 0);

        let values = self
            .bands
            .iter()
            .flat_map(|b| b.points.iter().flat_map(|&(_, l, h)| [l, h]))
            .chain(self.historical);
        let (y_min, y_max) = padded_range(values.collect::<Vec<f64>>(), true);
        let decimals = decimals_for(y_max - y_min);
        let last = self.gammas.last().copied().unwrap_or(1.0).max(1.0);
        let pad = ((last - 1.0) * 0.04).max(0.05);
        let (x_min, x_max) = (1.0 - pad, last + pad);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .margin_top(4)
            .x_label_area_size(LABEL_SIZE as i32 + AXIS_TITLE_SIZE as i32 + 22)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x_min..x_max, y_min..y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(8)
            .y_label_formatter(&|v| percent_units(*v, decimals))
            .x_desc("Γ: how many times an unrecorded reason may move the odds of a handoff")
            .y_desc("Opportunities per 100 conversations (%)")
            .axis_desc_style(text(AXIS_TITLE_SIZE))
            .label_style(text(LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .draw()?;

        if let Some(h) = self.historical {
            let line = [(x_min, h), (x_max, h)];
            chart.draw_series(DashedLineSeries::new(
                line,
                8,
                5,
                HISTORICAL_COLOR.stroke_width(2),
            ))?;
        }
        for band in &self.bands {
            let mut outline: Vec<(f64, f64)> =
                band.points.iter().map(|&(g, _, h)| (g, h)).collect();
            outline.extend(band.points.iter().rev().map(|&(g, l, _)| (g, l)));
            chart.draw_series(std::iter::once(Polygon::new(outline, band.color.mix(0.14))))?;
            for pick in [|p: &(f64, f64, f64)| (p.0, p.1), |p: &(f64, f64, f64)| (p.0, p.2)] {
                let line: Vec<(f64, f64)> = band.points.iter().map(pick).collect();
                chart.draw_series(LineSeries::new(line, band.color.stroke_width(2)))?;
            }
            if let Some(&(g, v, _)) = band.points.first() {
                chart.draw_series(std::iter::once(Circle::new((g, v), 5, band.color.filled())))?;
            }
        }

        // One tick label per Gamma of the run (the axis is not a continuous scale to read).
        let (_, axis_y) = chart.backend_coord(&(1.0, y_min));
        let style = anchored(text(LABEL_SIZE), HPos::Center, VPos::Top);
        for &g in &self.gammas {
            let (x, _) = chart.backend_coord(&(g, y_min));
            root.draw(&PathElement::new(vec![(x, axis_y), (x, axis_y + 5)], GRID.stroke_width(1)))?;
            root.draw_text(&shortest(g), &style, (x, axis_y + 7))?;
        }
        Ok(())
    }
}
