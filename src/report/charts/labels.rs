//! Label fitting: text shortened with an ellipsis to fit a width, long policy names wrapped at
//! their separators, and the choice between horizontal and rotated category labels.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{anchored, text, LABEL_SIZE};
use super::DrawResult;

/// `text` shortened with an ellipsis in the middle until it fits in `max_px` when drawn with
/// `style`. The middle goes because names differ at both ends (`fast-follow@threshold=0.6`
/// and `...=0.65` share their start).
pub(crate) fn fit_text<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    text: &str,
    style: &TextStyle,
    max_px: i32,
) -> String {
    shorten_until_fits(area, text, style, max_px, |chars, keep| {
        let tail = keep * 2 / 5;
        let head = keep - tail;
        chars[..head]
            .iter()
            .chain(std::iter::once(&'…'))
            .chain(&chars[chars.len() - tail..])
            .collect()
    })
}

/// `text` shortened with an ellipsis at the end until it fits (for a line that continues a
/// wrapped name, where the start matters most).
pub(crate) fn fit_text_end<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    text: &str,
    style: &TextStyle,
    max_px: i32,
) -> String {
    shorten_until_fits(area, text, style, max_px, |chars, keep| {
        chars[..keep].iter().collect::<String>() + "…"
    })
}

/// `text` if it fits in `max_px`, else the first of `shorten(chars, keep)` for `keep` from one
/// character fewer down to one that fits, else a lone ellipsis. A text whose size cannot be
/// measured counts as fitting.
fn shorten_until_fits<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    text: &str,
    style: &TextStyle,
    max_px: i32,
    shorten: impl Fn(&[char], usize) -> String,
) -> String {
    let fits = |candidate: &str| {
        area.estimate_text_size(candidate, style).map(|(w, _)| w as i32 <= max_px).unwrap_or(true)
    };
    if fits(text) {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    (1..chars.len())
        .rev()
        .map(|keep| shorten(&chars, keep))
        .find(|candidate| fits(candidate))
        .unwrap_or_else(|| "…".to_string())
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
