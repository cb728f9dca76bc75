//! Writing the decision table (`decisions.parquet`, `replay --out`): the compact table of
//! `crate::decisions` becomes polars frames a slice at a time, so tens of millions of rows
//! never sit in one frame.

use polars::prelude::{Column, DataFrame, PolarsResult};

use crate::decisions::{CompactCell, CompactDecisions, DecisionRow, DecisionTable};
use crate::signals::Situation;

/// Rows per frame slice when the table is written: polars' own Parquet row-group size, so a
/// slice is exactly one row group.
pub const FRAME_ROWS: usize = 512 * 512;

/// The seven columns of one slice, borrowed from the table.
#[derive(Default)]
struct SliceColumns<'a> {
    conversation_id: Vec<&'a str>,
    policy: Vec<&'a str>,
    handoff_turn: Vec<Option<i64>>,
    situation: Vec<Option<&'a str>>,
    historical_handoff_turn: Vec<Option<i64>>,
    timing: Vec<&'a str>,
    decision_point: Vec<Option<i64>>,
}

impl<'a> SliceColumns<'a> {
    fn with_capacity(rows: usize) -> Self {
        SliceColumns {
            conversation_id: Vec::with_capacity(rows),
            policy: Vec::with_capacity(rows),
            handoff_turn: Vec::with_capacity(rows),
            situation: Vec::with_capacity(rows),
            historical_handoff_turn: Vec::with_capacity(rows),
            timing: Vec::with_capacity(rows),
            decision_point: Vec::with_capacity(rows),
        }
    }

    fn push_row(&mut self, row: &'a DecisionRow) {
        self.conversation_id.push(&row.conversation_id);
        self.policy.push(&row.policy);
        self.handoff_turn.push(row.handoff_turn);
        self.situation.push(row.situation.as_deref());
        self.historical_handoff_turn.push(row.historical_handoff_turn);
        self.timing.push(row.timing.name());
        self.decision_point.push(row.decision_point.map(i64::from));
    }

    fn push_compact(&mut self, id: &'a str, policy: &'a str, hist: Option<i64>, c: CompactCell) {
        self.conversation_id.push(id);
        self.policy.push(policy);
        self.handoff_turn.push(c.handoff_turn);
        self.situation.push(c.situation.map(Situation::name));
        self.historical_handoff_turn.push(hist);
        self.timing.push(c.timing.name());
        self.decision_point.push(c.decision_point.map(i64::from));
    }

    /// The compact rows `start..end` (compact indices), a conversation at a time.
    fn push_compact_range(&mut self, table: &'a CompactDecisions, start: usize, end: usize) {
        let width = table.policies.len();
        let mut index = start;
        while index < end && width > 0 {
            let c = index / width;
            let Some(conversation) = table.conversation(c) else { break };
            let conversation_end = ((c + 1) * width).min(end);
            for (row, policy) in (index..conversation_end).zip(&table.policies[index % width..]) {
                if let Some(cell) = table.cell(row, &conversation) {
                    self.push_compact(conversation.id, policy, conversation.historical_turn, cell);
                }
            }
            index = conversation_end;
        }
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            Column::new("conversation_id".into(), self.conversation_id),
            Column::new("policy".into(), self.policy),
            Column::new("handoff_turn".into(), self.handoff_turn),
            Column::new("situation".into(), self.situation),
            Column::new("historical_handoff_turn".into(), self.historical_handoff_turn),
            Column::new("timing".into(), self.timing),
            Column::new("decision_point".into(), self.decision_point),
        ])
    }
}

impl DecisionTable {
    /// The table as a frame with the columns of outputs.md (plus `decision_point`).
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        self.slice_frame(0, self.len())
    }

    /// Rows `start..start + len` (clamped to the table) as a frame.
    pub fn slice_frame(&self, start: usize, len: usize) -> PolarsResult<DataFrame> {
        let end = start.saturating_add(len).min(self.len());
        let mut columns = SliceColumns::with_capacity(end.saturating_sub(start));
        let hand_built = self.rows.len();
        for row in self.rows.get(start.min(hand_built)..end.min(hand_built)).unwrap_or_default() {
            columns.push_row(row);
        }
        let compact_start = start.max(hand_built) - hand_built;
        let compact_end = end.max(hand_built) - hand_built;
        columns.push_compact_range(&self.compact, compact_start, compact_end);
        columns.into_frame()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decisions::{CompactDecisions, DecisionRow};
    use crate::replay::{Decision, Timing};
    use crate::signals::Situation;
    use polars::prelude::DataType;

    #[test]
    fn frame_has_the_contract_columns_with_nullable_turns() {
        let table = DecisionTable {
            rows: vec![
                DecisionRow {
                    conversation_id: "c1".into(),
                    policy: "historical".into(),
                    handoff_turn: Some(3),
                    situation: None,
                    historical_handoff_turn: Some(3),
                    timing: Timing::Same,
                    decision_point: Some(2),
                },
                DecisionRow {
                    conversation_id: "c1".into(),
                    policy: "never".into(),
                    timing: Timing::OnlyHistory,
                    historical_handoff_turn: Some(3),
                    ..DecisionRow::default()
                },
            ],
            ..DecisionTable::default()
        };
        let df = table.to_frame().unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "conversation_id",
                "policy",
                "handoff_turn",
                "situation",
                "historical_handoff_turn",
                "timing",
                "decision_point"
            ]
        );
        assert_eq!(df.column("handoff_turn").unwrap().dtype(), &DataType::Int64);
        assert_eq!(df.column("handoff_turn").unwrap().null_count(), 1);
    }

    #[test]
    fn compact_rows_follow_hand_built_rows_and_slice_anywhere() {
        let decision = |point: Option<u32>| Decision {
            point,
            situation: point.map(|_| Situation::HumanRequest),
        };
        let mut compact = CompactDecisions::with_capacity(vec!["early".into(), "never".into()], 2);
        compact.push_conversation("c1", None, None, [1, 3]);
        compact.push_decision(decision(Some(1)));
        compact.push_decision(decision(None));
        compact.push_conversation("c2", Some(7), Some(3), [2, 4, 7]);
        compact.push_decision(decision(Some(2)));
        compact.push_decision(decision(None));
        let table = DecisionTable {
            rows: vec![DecisionRow {
                conversation_id: "c0".into(),
                policy: "historical".into(),
                timing: Timing::Neither,
                ..DecisionRow::default()
            }],
            compact,
        };
        assert_eq!(table.len(), 5);
        let whole = table.to_frame().unwrap();
        let ids: Vec<_> = whole.column("conversation_id").unwrap().str().unwrap().iter().collect();
        assert_eq!(ids, [Some("c0"), Some("c1"), Some("c1"), Some("c2"), Some("c2")]);
        let policies: Vec<_> = whole.column("policy").unwrap().str().unwrap().iter().collect();
        assert_eq!(
            policies,
            [Some("historical"), Some("early"), Some("never"), Some("early"), Some("never")]
        );
        let tail = table.slice_frame(3, 10).unwrap();
        assert_eq!(tail.height(), 2);
        let hist: Vec<_> =
            tail.column("historical_handoff_turn").unwrap().i64().unwrap().iter().collect();
        assert_eq!(hist, [Some(7), Some(7)]);
        let situation: Vec<_> = tail.column("situation").unwrap().str().unwrap().iter().collect();
        assert_eq!(situation, [Some("human_request"), None]);
        let turns: Vec<_> = whole.column("handoff_turn").unwrap().i64().unwrap().iter().collect();
        assert_eq!(turns, [None, Some(1), None, Some(4), None]);
        let timing: Vec<_> = whole.column("timing").unwrap().str().unwrap().iter().collect();
        assert_eq!(
            timing,
            [
                Some("neither"),
                Some("only_policy"),
                Some("neither"),
                Some("earlier"),
                Some("only_history")
            ]
        );
        let sliced: Vec<DataFrame> = (0..5).map(|i| table.slice_frame(i, 1).unwrap()).collect();
        let mut stacked = sliced[0].clone();
        for part in &sliced[1..] {
            stacked.vstack_mut(part).unwrap();
        }
        assert!(stacked.equals_missing(&whole));
    }
}
