//! The charts' look: canvas size, the embedded font, text sizes and styles, greys, and the
//! per-policy palette (one colour per policy, the same in every chart).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use anyhow::anyhow;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::report::history::HistoryRow;
use crate::summary::{PolicyKind, PolicySummary, Summary};

/// Every chart's canvas, in pixels (SVG user units and PNG pixels alike).
pub(crate) const SIZE: (u32, u32) = (1000, 600);

/// The font family every text uses. The PNG draws it from the embedded DejaVu Sans bytes
/// registered under this exact name; the SVG writes it verbatim as a CSS font list, so viewers
/// use DejaVu Sans when installed (matching the PNG's metrics) and a sans-serif otherwise.
pub(crate) const FONT: &str = "DejaVu Sans, sans-serif";

/// Registers the embedded fonts once per process. plotters' ab_glyph text needs this before
/// any text is measured or drawn; no system font or fontconfig is involved.
pub(super) fn ensure_fonts() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the embedded DejaVu Sans font is invalid".to_string())?;
            plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "the embedded DejaVu Sans Bold font is invalid".to_string())
        })
        .clone()
        .map_err(|message| anyhow!(message))
}

/// Sizes are even on purpose: plotters' ab_glyph text rounds each glyph's offset from `size / 2`,
/// which makes letters jitter by a pixel in the PNG at odd sizes.
pub(crate) const TITLE_SIZE: u32 = 26;
pub(crate) const SUBTITLE_SIZE: u32 = 16;
pub(crate) const AXIS_TITLE_SIZE: u32 = 18;
pub(crate) const LABEL_SIZE: u32 = 16;
pub(crate) const MARGIN: u32 = 16;

pub(crate) const INK: RGBColor = RGBColor(33, 33, 33);
pub(crate) const MUTED: RGBColor = RGBColor(110, 110, 110);
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);

pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

pub(crate) fn bold(size: u32) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold).into_font().color(&INK)
}

pub(crate) fn anchored<'a>(style: TextStyle<'a>, h: HPos, v: VPos) -> TextStyle<'a> {
    style.pos(Pos::new(h, v))
}

/// History's colour: a neutral dark grey so the baseline reads as "the reference".
pub(crate) const HISTORICAL_COLOR: RGBColor = RGBColor(60, 60, 60);

/// Okabe–Ito based, colour-blind safe, legible on white (no yellow).
pub(super) const POLICY_COLORS: [RGBColor; 9] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(136, 34, 85),   // wine
    RGBColor(17, 119, 51),   // dark green
    RGBColor(68, 170, 153),  // teal
];

/// Colours assigned by policy order: the summary's policies first, then any policy only the
/// history rows know (an earlier week's policy), in first-seen order.
pub(crate) struct Palette {
    /// Name to (assignment order, colour). A name only a slice knows (none, as slices.md
    /// computes every policy per slice) comes last, so it can never shift another's colour.
    colors: BTreeMap<String, (usize, RGBColor)>,
}

impl Palette {
    pub(crate) fn for_summary(summary: &Summary, history: &[HistoryRow]) -> Palette {
        let mut colors = BTreeMap::new();
        let mut next = 0usize;
        let sliced = summary.slices.iter().flat_map(|cut| &cut.values).flat_map(|s| &s.policies);
        let names = summary
            .policies
            .iter()
            .map(|p| (p.name.as_str(), is_historical(p)))
            .chain(history.iter().map(|r| (r.policy.as_str(), r.policy == "historical")))
            .chain(sliced.map(|p| (p.name.as_str(), is_historical(p))));
        for (name, historical) in names {
            if colors.contains_key(name) {
                continue;
            }
            let color = if historical {
                HISTORICAL_COLOR
            } else {
                next += 1;
                POLICY_COLORS[(next - 1) % POLICY_COLORS.len()]
            };
            let rank = colors.len();
            colors.insert(name.to_string(), (rank, color));
        }
        Palette { colors }
    }

    pub(crate) fn color(&self, policy: &str) -> RGBColor {
        self.colors.get(policy).map(|(_, color)| *color).unwrap_or(MUTED)
    }

    /// The policy's place in the assignment order (unknown names last).
    pub(crate) fn rank(&self, policy: &str) -> usize {
        self.colors.get(policy).map(|(rank, _)| *rank).unwrap_or(usize::MAX)
    }
}

pub(crate) fn is_historical(policy: &PolicySummary) -> bool {
    policy.kind == PolicyKind::Historical || policy.name == "historical"
}
