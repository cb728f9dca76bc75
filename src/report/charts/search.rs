//! One chart per search (search.md): every distinct candidate's net objective per 100
//! conversations against its handoff rate, the frontier (the best net objective reached at or
//! below each handoff rate), and the recommendation, the base policy and `historical` marked.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{decimals_for, padded_range};
use super::elements::{draw_header, draw_message};
use super::style::{text, AXIS_TITLE_SIZE, GRID, INK, LABEL_SIZE, MUTED};
use super::{Chart, DrawResult};
use crate::format::shortest;
use crate::searching::SearchSummary;
use crate::summary::{PolicyKind, Summary};

const CANDIDATE_COLOR: RGBColor = RGBColor(0, 114, 178);
const FRONTIER_COLOR: RGBColor = RGBColor(0, 158, 115);
const RECOMMENDED_COLOR: RGBColor = RGBColor(213, 94, 0);

pub(crate) struct SearchChart {
    name: String,
    objective: String,
    handoff_cost: f64,
    /// (handoff rate in %, net per 100, eligible) of every distinct candidate with a figure.
    points: Vec<(f64, f64, bool)>,
    /// The frontier, by increasing handoff rate.
    frontier: Vec<(f64, f64)>,
    recommended: Option<(f64, f64)>,
    base: Option<(f64, f64)>,
    historical: Option<(f64, f64)>,
}

impl SearchChart {
    pub(crate) fn new(summary: &Summary, search: &SearchSummary) -> SearchChart {
        let point = |c: &crate::searching::CandidateSummary| {
            c.net_objective_per_100
                .estimate
                .filter(|v| v.is_finite())
                .map(|v| (100.0 * c.handoff_rate, v))
        };
        let points: Vec<(f64, f64, bool)> = search
            .all
            .iter()
            .filter(|c| c.duplicate_of.is_none())
            .filter_map(|c| point(c).map(|(x, y)| (x, y, c.eligible)))
            .collect();
        let mut eligible: Vec<(f64, f64)> =
            points.iter().filter(|p| p.2).map(|&(x, y, _)| (x, y)).collect();
        eligible.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut frontier: Vec<(f64, f64)> = Vec::new();
        for (x, y) in eligible {
            if frontier.last().is_none_or(|&(_, best)| y > best) {
                frontier.push((x, y));
            }
        }
        let named = |name: &str| search.all.iter().find(|c| c.name == name).and_then(point);
        let recommended = search.recommended.as_ref().and_then(|r| named(&r.name));
        let base = search.all.first().and_then(point);
        let historical = summary
            .policies
            .iter()
            .find(|p| p.kind == PolicyKind::Historical)
            .map(|p| (100.0 * p.rates.handoff_rate, search.historical_net_objective_per_100));
        SearchChart {
            name: search.name.clone(),
            objective: search.objective.clone(),
            handoff_cost: search.handoff_cost,
            points,
            frontier,
            recommended,
            base,
            historical,
        }
    }

    pub(crate) fn title(&self) -> String {
        format!("Search {}: every candidate", self.name)
    }

    fn subtitle(&self) -> String {
        format!(
            "Handoff cost {} · grey: not eligible · line: frontier · ring: recommended · \
             triangle: base · square: history",
            shortest(self.handoff_cost)
        )
    }
}

impl Chart for SearchChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let body = draw_header(root, &self.title(), &self.subtitle())?;
        if self.points.is_empty() {
            return draw_message(&body, "No candidate could be estimated");
        }
        let marks = [self.recommended, self.base, self.historical];
        let xs = self.points.iter().map(|p| p.0).chain(marks.iter().flatten().map(|m| m.0));
        let ys = self.points.iter().map(|p| p.1).chain(marks.iter().flatten().map(|m| m.1));
        let (x_min, x_max) = padded_range(xs, false);
        let (y_min, y_max) = padded_range(ys, false);
        let (xd, yd) = (decimals_for(x_max - x_min), decimals_for(y_max - y_min));
        let mut chart = ChartBuilder::on(&body)
            .margin(16)
            .margin_top(4)
            .x_label_area_size(58)
            .y_label_area_size(80)
            .build_cartesian_2d(x_min..x_max, y_min..y_max)?;
        chart
            .configure_mesh()
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|v| format!("{v:.xd$}%"))
            .y_label_formatter(&|v| format!("{v:.yd$}"))
            .x_desc("Handoff rate")
            .y_desc(format!("Net {} per 100 conversations", self.objective))
            .axis_desc_style(text(AXIS_TITLE_SIZE))
            .label_style(text(LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .draw()?;
        chart.draw_series(
            self.points
                .iter()
                .filter(|p| !p.2)
                .map(|&(x, y, _)| Circle::new((x, y), 2, MUTED.mix(0.5).filled())),
        )?;
        chart.draw_series(
            self.points
                .iter()
                .filter(|p| p.2)
                .map(|&(x, y, _)| Circle::new((x, y), 2, CANDIDATE_COLOR.mix(0.45).filled())),
        )?;
        if self.frontier.len() > 1 {
            chart.draw_series(LineSeries::new(
                self.frontier.iter().copied(),
                FRONTIER_COLOR.stroke_width(2),
            ))?;
        }
        if let Some((x, y)) = self.historical {
            let (px, py) = chart.backend_coord(&(x, y));
            root.draw(&Rectangle::new([(px - 6, py - 6), (px + 6, py + 6)], INK.filled()))?;
        }
        if let Some((x, y)) = self.base {
            chart.draw_series(std::iter::once(TriangleMarker::new((x, y), 8, INK.filled())))?;
        }
        if let Some((x, y)) = self.recommended {
            let (px, py) = chart.backend_coord(&(x, y));
            root.draw(&Circle::new((px, py), 10, RECOMMENDED_COLOR.stroke_width(3)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::Estimate;
    use crate::searching::{CandidateSummary, Keys};

    fn candidate(name: &str, rate: f64, net: f64, eligible: bool) -> CandidateSummary {
        CandidateSummary {
            name: name.into(),
            keys: Keys::default(),
            net_objective_per_100: Estimate::new(net, net - 1.0, net + 1.0),
            handoff_rate: rate,
            matched_share: 0.5,
            effective_sample_size: Some(100.0),
            eligible,
            duplicate_of: None,
            duplicates: 0,
        }
    }

    #[test]
    fn the_frontier_is_the_best_net_at_or_below_each_handoff_rate() {
        let search = SearchSummary {
            name: "s".into(),
            base: "b".into(),
            objective: "opportunities".into(),
            handoff_cost: 0.05,
            candidates: 4,
            distinct: 4,
            varied: vec![],
            routed: vec![],
            historical_net_objective_per_100: 10.0,
            top: vec![],
            recommended: None,
            honest: None,
            problem: None,
            all: vec![
                candidate("s#0", 0.5, 12.0, true),
                candidate("s#1", 0.3, 11.0, true),
                candidate("s#2", 0.6, 11.5, true),
                candidate("s#3", 0.7, 20.0, false),
            ],
            policy: None,
            evaluation: None,
        };
        let chart = SearchChart::new(&Summary::default(), &search);
        assert_eq!(chart.frontier, vec![(30.0, 11.0), (50.0, 12.0)]);
        assert_eq!(chart.points.len(), 4);
        assert_eq!(chart.base, Some((50.0, 12.0)));
    }
}
