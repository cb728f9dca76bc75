//! Features of the observable state of a conversation at a decision point (or at its end, for
//! no handoff), shared by the hazard and outcome models.
//!
//! Per situation of the seven (under the quality reference's parameters): pending, and
//! `ln(1 + decision points pending)`; the decision points a request for a human has waited
//! (linear: a waiting prospect's patience runs out point by point); the qualification fields
//! captured (count / 4 and the four indicators); `ln h`; whether the message at `h` is a
//! scheduling request or a simple question (the moments the framework's guards hold back a
//! handoff, so history's agents do too); whether the quality reference (the user's own
//! definition of the right moment, `[quality]`) would have handed off by `h`, and how many
//! decision points ago (the timing the report judges handoffs by: premature before it, late
//! after it); the segment one-hot; `ln(1 + employee_count)` with a missing indicator; the
//! `ai_agent` and `channel` one-hots. Category levels come from the data, sorted; levels
//! seen in fewer than `RARE_LEVEL` conversations are pooled into one "other" level, and a
//! missing value is a level of its own.

use std::collections::BTreeMap;

use super::Unit;
use crate::model::Conversation;
use crate::policy::Policy;
use crate::replay::Timeline;
use crate::signals::vocabulary::Signal;

/// Category levels with fewer conversations than this are pooled.
pub const RARE_LEVEL: usize = 20;
const MISSING: &str = "(missing)";
const OTHER: &str = "(other)";

/// The first 1-based decision point at which each of the seven situations holds, under
/// `policy`'s parameters: replay's own definition, so the features and the policies agree.
pub fn onsets(policy: &Policy, tl: &Timeline) -> [Option<u32>; 7] {
    crate::replay::situation_onsets(policy, tl)
}

/// Category levels of one column, sorted, with rare ones pooled.
#[derive(Clone, Debug, PartialEq)]
pub struct Levels {
    names: Vec<String>,
}

impl Levels {
    fn from_values<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Levels {
        // Counted by the borrowed values: a String per conversation and column was most of
        // the cost at a million conversations.
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for v in values {
            *counts.entry(v.unwrap_or(MISSING)).or_default() += 1;
        }
        let mut names: Vec<String> = counts
            .iter()
            .filter(|(_, &c)| c >= RARE_LEVEL)
            .map(|(k, _)| (*k).to_string())
            .collect();
        if counts.values().any(|&c| c < RARE_LEVEL) {
            names.push(OTHER.to_string());
        }
        Levels { names }
    }

    fn len(&self) -> usize {
        self.names.len()
    }

    /// Index of a value's level: its own, else the pooled level, else none.
    pub fn index(&self, value: Option<&str>) -> Option<usize> {
        let key = value.unwrap_or(MISSING);
        self.names
            .iter()
            .position(|n| n == key)
            .or_else(|| self.names.iter().position(|n| n == OTHER))
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// The feature layout, learned from the units the models are fitted on.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureSpace {
    pub segments: Levels,
    pub agents: Levels,
    pub channels: Levels,
}

/// Features per situation, human-request wait, qualification, turn, guard message, reference
/// timing and size before the category one-hots.
const FIXED: usize = 7 * 2 + 1 + 5 + 1 + 1 + 2 + 2;

impl FeatureSpace {
    pub fn learn(units: &[Unit]) -> FeatureSpace {
        let convs = || units.iter().map(|u| u.conversation);
        FeatureSpace {
            segments: Levels::from_values(convs().map(|c| c.segment.as_deref())),
            agents: Levels::from_values(convs().map(|c| c.ai_agent.as_deref())),
            channels: Levels::from_values(convs().map(|c| c.channel.as_deref())),
        }
    }

    /// Number of features (no intercept).
    pub fn dim(&self) -> usize {
        FIXED + self.segments.len() + self.agents.len() + self.channels.len()
    }

    /// Appends the features of `unit` at decision point `point` (`None`: the conversation's
    /// end, the state a policy that never hands off leaves it in) to `out`. `reference` is the
    /// quality reference's own handoff point in this conversation.
    pub fn write(
        &self,
        unit: &Unit,
        onsets: &[Option<u32>; 7],
        reference: Option<u32>,
        point: Option<u32>,
        out: &mut Vec<f64>,
    ) {
        let levels = self.levels_of(unit.conversation);
        self.write_with_levels(unit, onsets, reference, point, levels, out);
    }

    /// The conversation's level of segment, AI agent and channel (`Levels::index`), looked up
    /// once per conversation rather than once per design row.
    pub fn levels_of(&self, c: &Conversation) -> [Option<usize>; 3] {
        [
            self.segments.index(c.segment.as_deref()),
            self.agents.index(c.ai_agent.as_deref()),
            self.channels.index(c.channel.as_deref()),
        ]
    }

    /// `write`, with the conversation's levels already looked up (`levels_of`).
    pub fn write_with_levels(
        &self,
        unit: &Unit,
        onsets: &[Option<u32>; 7],
        reference: Option<u32>,
        point: Option<u32>,
        levels: [Option<usize>; 3],
        out: &mut Vec<f64>,
    ) {
        let n = unit.timeline.points.len() as u32;
        let h = point.unwrap_or(n).min(n);
        for onset in onsets {
            match onset {
                Some(o) if *o <= h => {
                    out.push(1.0);
                    out.push(ln_1p_of(h - o + 1));
                }
                _ => out.extend([0.0, 0.0]),
            }
        }
        // Slot 0 of `Situation::SEVEN` is human_request.
        out.push(onsets[0].filter(|o| *o <= h).map_or(0.0, |o| f64::from(h - o)));
        let qualified = if h >= 1 { unit.timeline.points[h as usize - 1].qualified } else { 0 };
        out.push(f64::from((qualified & 0x0f).count_ones()) / 4.0);
        for bit in 0..4 {
            out.push(if qualified & (1 << bit) != 0 { 1.0 } else { 0.0 });
        }
        out.push(ln_of(h.max(1)));
        let guard_message = h >= 1 && {
            let signals = unit.timeline.points[h as usize - 1].signals;
            signals.contains(Signal::Scheduling) || signals.contains(Signal::SimpleQuestion)
        };
        out.push(if guard_message { 1.0 } else { 0.0 });
        match reference.filter(|r| *r <= h) {
            Some(r) => out.extend([1.0, f64::from(h - r)]),
            None => out.extend([0.0, 0.0]),
        }
        match unit.conversation.employee_count {
            Some(e) => out.extend([(e.max(0) as f64).ln_1p(), 0.0]),
            None => out.extend([0.0, 1.0]),
        }
        one_hot(self.segments.len(), levels[0], out);
        one_hot(self.agents.len(), levels[1], out);
        one_hot(self.channels.len(), levels[2], out);
    }
}

fn one_hot(levels: usize, hit: Option<usize>, out: &mut Vec<f64>) {
    out.extend((0..levels).map(|i| if Some(i) == hit { 1.0 } else { 0.0 }));
}

/// Small whole numbers whose logarithms are tabled: the features take `ln(1 + k)` and `ln k`
/// of turn counts for every row of every design (tens of millions at a million
/// conversations), almost all below this.
const TABLED: usize = 1024;

/// `ln(1 + k)` for `k < TABLED`, and `ln k`, computed once by the same functions, so a tabled
/// value is bit for bit the value computed on the spot.
static LOGS: std::sync::LazyLock<(Vec<f64>, Vec<f64>)> = std::sync::LazyLock::new(|| {
    let ln_1p = (0..TABLED).map(|k| (k as f64).ln_1p()).collect();
    let ln = (0..TABLED).map(|k| (k as f64).ln()).collect();
    (ln_1p, ln)
});

/// `ln(1 + k)`.
fn ln_1p_of(k: u32) -> f64 {
    LOGS.0.get(k as usize).copied().unwrap_or_else(|| f64::from(k).ln_1p())
}

/// `ln k`.
fn ln_of(k: u32) -> f64 {
    LOGS.1.get(k as usize).copied().unwrap_or_else(|| f64::from(k).ln())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn tabled_logarithms_equal_the_computed_ones() {
        for k in [0u32, 1, 2, 7, 100, 1023, 1024, 5000, u32::MAX] {
            assert_eq!(ln_1p_of(k).to_bits(), f64::from(k).ln_1p().to_bits(), "{k}");
            assert_eq!(ln_of(k).to_bits(), f64::from(k).ln().to_bits(), "{k}");
        }
    }
    use crate::estimate::Observed;
    use crate::model::Conversation;
    use crate::policy::QualityReference;
    use crate::replay::DecisionPoint;
    use crate::signals::vocabulary::SignalSet;

    pub(crate) fn conversation(id: &str) -> Conversation {
        Conversation { id: id.to_string(), ..Conversation::default() }
    }

    pub(crate) fn point(signals: &[Signal], qualified: u8) -> DecisionPoint {
        DecisionPoint {
            turn: 0,
            signals: SignalSet::of(signals),
            qualified,
            participants: 1,
            handoff_probability: None,
        }
    }

    #[test]
    fn onsets_follow_the_situation_rules() {
        let reference = QualityReference::default().policy;
        let mut tl = Timeline {
            points: vec![
                point(&[Signal::ObjectionPrice], 0),
                point(&[Signal::Pricing], 0),
                point(&[Signal::ObjectionTiming], 0),
                point(&[Signal::ObjectionPrice, Signal::HumanRequest], 0),
            ],
            ..Timeline::default()
        };
        tl.points[2].participants = 2;
        let o = onsets(&reference, &tl);
        assert_eq!(o, [Some(4), Some(2), None, Some(3), None, None, Some(4)]);
        tl.employee_count = Some(5000);
        assert_eq!(onsets(&reference, &tl)[4], Some(1));
    }

    #[test]
    fn features_describe_the_state_at_the_point() {
        let reference = QualityReference::default().policy;
        let mut conv = conversation("a");
        conv.segment = Some("smb".into());
        let tl = Timeline {
            points: vec![
                point(&[], 0),
                point(&[Signal::DemoRequest], 0b0011),
                point(&[Signal::HumanRequest, Signal::Scheduling], 0b0111),
                point(&[], 0b0111),
            ],
            ..Timeline::default()
        };
        let unit = Unit {
            conversation: &conv,
            timeline: &tl,
            observed: Observed::default(),
            in_window: true,
        };
        let space = FeatureSpace::learn(&[unit]);
        // One rare segment, agent and channel each: pooled into "(other)".
        assert_eq!(space.segments.names(), &["(other)".to_string()]);
        assert_eq!(space.dim(), FIXED + 3);
        let on = onsets(&reference, &tl);
        // The reference is taken as given: pretend it would have handed off at point 2.
        let mut at2 = Vec::new();
        space.write(&unit, &on, Some(2), Some(2), &mut at2);
        assert_eq!(at2.len(), space.dim());
        // high_intent pending since point 2: pending 1, ln(1 + 1).
        assert_eq!(&at2[2..4], &[1.0, 1f64.ln_1p()]);
        assert_eq!(at2[14], 0.0); // no request for a human yet
        assert_eq!(at2[15], 0.5); // two of four fields captured
        assert_eq!(&at2[16..20], &[1.0, 1.0, 0.0, 0.0]);
        assert_eq!(at2[20], 2f64.ln());
        assert_eq!(at2[21], 0.0); // no guard signal in message 2
        assert_eq!(&at2[22..24], &[1.0, 0.0]); // the reference is ready, since 0 points
        assert_eq!(&at2[24..26], &[0.0, 1.0]); // employee count missing
        let mut at3 = Vec::new();
        space.write(&unit, &on, Some(2), Some(3), &mut at3);
        assert_eq!(at3[21], 1.0); // message 3 is a scheduling request
        let mut before = Vec::new();
        space.write(&unit, &on, Some(2), Some(1), &mut before);
        assert_eq!(&before[22..24], &[0.0, 0.0]); // premature: the reference is not ready
        let mut end = Vec::new();
        space.write(&unit, &on, Some(2), None, &mut end);
        assert_eq!(&end[2..4], &[1.0, 3f64.ln_1p()]);
        assert_eq!(&end[0..2], &[1.0, 2f64.ln_1p()]); // human request pending since 3
        assert_eq!(end[14], 1.0); // and it has waited one decision point
        assert_eq!(end[15], 0.75);
        assert_eq!(&end[22..24], &[1.0, 2.0]);
        assert_eq!(end[21], 0.0);
    }
}
