//! Drawing pieces every chart shares: the title block, the empty-chart message, the legend row
//! and the interval whisker.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::labels::fit_text;
use super::style::{
    anchored, bold, text, AXIS_TITLE_SIZE, LABEL_SIZE, MARGIN, MUTED, SUBTITLE_SIZE, TITLE_SIZE,
};
use super::DrawResult;

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
