//! The per-conversation decision table: one row per conversation and policy, sweep variants
//! included (`report::decisions` writes it as `decisions.parquet`). Pure data.
//!
//! A report over a million conversations has tens of millions of rows, so the table is
//! compact (`CompactDecisions`: one id per conversation, one name per policy, 32 bytes per
//! row) and becomes polars frames only a slice at a time when written. Hand-built tables
//! (`rows`) come first, then the compact rows.

use crate::model::Conversation;
use crate::replay::{Decision, Timeline, Timing};
use crate::signals::Situation;

/// One policy's decision in one conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct DecisionRow {
    pub conversation_id: String,
    pub policy: String,
    /// The turn after which the policy hands off; `None` = never.
    pub handoff_turn: Option<i64>,
    /// The situation reported for the handoff (`Situation::name`), if any.
    pub situation: Option<String>,
    pub historical_handoff_turn: Option<i64>,
    pub timing: Timing,
    /// The 1-based decision point of the handoff; `None` = never.
    pub decision_point: Option<u32>,
}

/// One policy's decision in one conversation, without its names (see `CompactDecisions`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompactCell {
    pub handoff_turn: Option<i64>,
    pub situation: Option<Situation>,
    pub timing: Timing,
    pub decision_point: Option<u32>,
}

/// Rows stored conversation-major: row `c * policies.len() + p` is conversation `c` under
/// policy `p`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompactDecisions {
    /// Per conversation: its id and history's handoff turn.
    pub conversations: Vec<(String, Option<i64>)>,
    pub policies: Vec<String>,
    /// `conversations.len() * policies.len()` cells.
    pub cells: Vec<CompactCell>,
}

impl CompactDecisions {
    /// The row `index` (conversation-major) in full.
    pub fn row(&self, index: usize) -> Option<(&str, &str, Option<i64>, &CompactCell)> {
        let width = self.policies.len();
        let cell = self.cells.get(index)?;
        let (id, historical) = self.conversations.get(index / width)?;
        let policy = self.policies.get(index % width)?;
        Some((id.as_str(), policy.as_str(), *historical, cell))
    }
}

/// The rows in the order the report writes them (the caller's order: conversations in data
/// order, policies in report order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecisionTable {
    pub rows: Vec<DecisionRow>,
    /// Rows after `rows`, stored compactly (what the analysis builds).
    pub compact: CompactDecisions,
}

impl DecisionTable {
    /// The compact table of `names[k]` with `decisions[k]` (per conversation, aligned with
    /// `conversations` and `timelines`), over the conversations `members`.
    pub fn build(
        conversations: &[Conversation],
        timelines: &[Timeline],
        members: &[usize],
        names: &[&str],
        decisions: &[Vec<Decision>],
    ) -> DecisionTable {
        let mut compact = CompactDecisions {
            conversations: Vec::with_capacity(members.len()),
            policies: names.iter().map(|n| n.to_string()).collect(),
            cells: Vec::with_capacity(members.len() * names.len()),
        };
        for &i in members {
            let conv = &conversations[i];
            let tl = &timelines[i];
            let historical_turn = conv.outcome.as_ref().and_then(|o| o.handoff_turn);
            compact.conversations.push((conv.id.clone(), historical_turn));
            for per_conv in decisions {
                let d = per_conv[i];
                compact.cells.push(CompactCell {
                    handoff_turn: d.turn(tl),
                    situation: d.situation,
                    timing: Timing::of(d.point, tl.historical),
                    decision_point: d.point,
                });
            }
        }
        DecisionTable { rows: Vec::new(), compact }
    }

    /// Number of rows (hand-built and compact).
    pub fn len(&self) -> usize {
        self.rows.len() + self.compact.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
