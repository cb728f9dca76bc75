//! The per-conversation decision table: one row per conversation and policy, sweep variants
//! included (`report::decisions` writes it as `decisions.parquet`). Pure data.
//!
//! A report over a million conversations has tens of millions of rows, so the table is
//! compact (`CompactDecisions`): per row only the decision point and the situation (5 bytes);
//! per conversation its id, history's handoff and the turn of each decision point, from which
//! a row's handoff turn and timing are derived when it is written. It becomes polars frames
//! only a slice at a time. Hand-built tables (`rows`) come first, then the compact rows.

use rayon::prelude::*;

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

/// One policy's decision in one conversation, without its names, as `CompactDecisions::row`
/// derives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompactCell {
    pub handoff_turn: Option<i64>,
    pub situation: Option<Situation>,
    pub timing: Timing,
    pub decision_point: Option<u32>,
}

/// One conversation of a `CompactDecisions`, borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompactConversation<'a> {
    pub id: &'a str,
    /// `outcomes.handoff_turn`.
    pub historical_turn: Option<i64>,
    /// History's handoff as a 1-based decision point (`Timeline::historical`).
    pub historical_point: Option<u32>,
    /// The turn of each decision point, in order.
    pub turns: &'a [i64],
}

/// Rows stored conversation-major: row `c * policies.len() + p` is conversation `c` under
/// policy `p`. Built with `push_conversation` and `push_decision`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompactDecisions {
    pub policies: Vec<String>,
    /// Every conversation id, concatenated; conversation `c`'s is `ids[id_ends[c - 1]..id_ends[c]]`
    /// (from 0 for the first).
    ids: String,
    id_ends: Vec<usize>,
    historical_turns: Vec<Option<i64>>,
    historical_points: Vec<Option<u32>>,
    /// Every conversation's decision point turns, concatenated; conversation `c`'s end at
    /// `turn_ends[c]`.
    turns: Vec<i64>,
    turn_ends: Vec<usize>,
    /// Per row: the 1-based decision point, 0 = never hands off.
    points: Vec<u32>,
    /// Per row: 0 = no situation, `k + 1` = `Situation::ALL[k]`.
    situations: Vec<u8>,
}

impl CompactDecisions {
    /// An empty table over `policies`, with room for `conversations` conversations.
    pub fn with_capacity(policies: Vec<String>, conversations: usize) -> CompactDecisions {
        let rows = conversations.saturating_mul(policies.len());
        CompactDecisions {
            policies,
            ids: String::new(),
            id_ends: Vec::with_capacity(conversations),
            historical_turns: Vec::with_capacity(conversations),
            historical_points: Vec::with_capacity(conversations),
            turns: Vec::new(),
            turn_ends: Vec::with_capacity(conversations),
            points: Vec::with_capacity(rows),
            situations: Vec::with_capacity(rows),
        }
    }

    /// Starts the next conversation; its `policies.len()` decisions follow with
    /// `push_decision`, in policy order.
    pub fn push_conversation(
        &mut self,
        id: &str,
        historical_turn: Option<i64>,
        historical_point: Option<u32>,
        turns: impl IntoIterator<Item = i64>,
    ) {
        self.ids.push_str(id);
        self.id_ends.push(self.ids.len());
        self.historical_turns.push(historical_turn);
        self.historical_points.push(historical_point);
        self.turns.extend(turns);
        self.turn_ends.push(self.turns.len());
    }

    /// The next row's decision (of the latest conversation, next policy).
    pub fn push_decision(&mut self, decision: Decision) {
        self.points.push(decision.point.unwrap_or(0));
        self.situations.push(situation_code(decision.situation));
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Number of conversations.
    pub fn conversations(&self) -> usize {
        self.id_ends.len()
    }

    /// Conversation `c`.
    pub fn conversation(&self, c: usize) -> Option<CompactConversation<'_>> {
        let id_start = if c == 0 { 0 } else { *self.id_ends.get(c - 1)? };
        let turn_start = if c == 0 { 0 } else { *self.turn_ends.get(c - 1)? };
        Some(CompactConversation {
            id: self.ids.get(id_start..*self.id_ends.get(c)?)?,
            historical_turn: *self.historical_turns.get(c)?,
            historical_point: *self.historical_points.get(c)?,
            turns: self.turns.get(turn_start..*self.turn_ends.get(c)?)?,
        })
    }

    /// Row `index`'s cell, given its conversation (`index / policies.len()`).
    pub fn cell(
        &self,
        index: usize,
        conversation: &CompactConversation<'_>,
    ) -> Option<CompactCell> {
        let point = Some(*self.points.get(index)?).filter(|&p| p > 0);
        let situation = match *self.situations.get(index)? {
            0 => None,
            k => Situation::ALL.get(usize::from(k) - 1).copied(),
        };
        Some(CompactCell {
            handoff_turn: point.and_then(|p| conversation.turns.get(p as usize - 1).copied()),
            situation,
            timing: Timing::of(point, conversation.historical_point),
            decision_point: point,
        })
    }

    /// The row `index` (conversation-major) in full: conversation id, policy, history's
    /// handoff turn and the cell.
    pub fn row(&self, index: usize) -> Option<(&str, &str, Option<i64>, CompactCell)> {
        let width = self.policies.len();
        if width == 0 {
            return None;
        }
        let conversation = self.conversation(index / width)?;
        let policy = self.policies.get(index % width)?;
        let cell = self.cell(index, &conversation)?;
        Some((conversation.id, policy.as_str(), conversation.historical_turn, cell))
    }
}

/// A row's stored situation: 0 = none, `k + 1` = `Situation::ALL[k]` (declaration order).
fn situation_code(situation: Option<Situation>) -> u8 {
    situation.map_or(0, |s| s as u8 + 1)
}

/// Conversations per unit of parallel work in `DecisionTable::build`.
const BUILD_CHUNK: usize = 4096;

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
        let policies: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let width = policies.len();
        let mut compact = CompactDecisions::with_capacity(policies, 0);
        compact.ids.reserve_exact(members.iter().map(|&i| conversations[i].id.len()).sum());
        compact.turns.reserve_exact(members.iter().map(|&i| timelines[i].points.len()).sum());
        compact.id_ends.reserve_exact(members.len());
        compact.historical_turns.reserve_exact(members.len());
        compact.historical_points.reserve_exact(members.len());
        compact.turn_ends.reserve_exact(members.len());
        for &i in members {
            let conv = &conversations[i];
            let tl = &timelines[i];
            let historical_turn = conv.outcome.as_ref().and_then(|o| o.handoff_turn);
            compact.push_conversation(
                &conv.id,
                historical_turn,
                tl.historical,
                tl.points.iter().map(|p| p.turn),
            );
        }
        // The cells, tens of millions at scale, are filled in parallel: each chunk of
        // conversations owns its rows, so the table does not depend on scheduling.
        let rows = members.len().saturating_mul(width);
        compact.points = vec![0; rows];
        compact.situations = vec![0; rows];
        if width > 0 {
            let chunk_rows = BUILD_CHUNK * width;
            compact
                .points
                .par_chunks_mut(chunk_rows)
                .zip(compact.situations.par_chunks_mut(chunk_rows))
                .zip(members.par_chunks(BUILD_CHUNK))
                .for_each(|((points, situations), members)| {
                    let rows = points.chunks_mut(width).zip(situations.chunks_mut(width));
                    for ((points, situations), &i) in rows.zip(members) {
                        for ((point, situation), per_conv) in
                            points.iter_mut().zip(situations.iter_mut()).zip(decisions)
                        {
                            let decision = per_conv[i];
                            *point = decision.point.unwrap_or(0);
                            *situation = situation_code(decision.situation);
                        }
                    }
                });
        }
        DecisionTable { rows: Vec::new(), compact }
    }

    /// Number of rows (hand-built and compact).
    pub fn len(&self) -> usize {
        self.rows.len() + self.compact.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
