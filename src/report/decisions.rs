//! Writing the decision table (`decisions.parquet`, `replay --out`): the compact table of
//! `crate::decisions` becomes polars frames a slice at a time, so tens of millions of rows
//! never sit in one frame.

use polars::prelude::{Column, DataFrame, PolarsResult};

use crate::decisions::{CompactCell, DecisionRow, DecisionTable};
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
        let mut columns = SliceColumns::default();
        for index in start..end {
            if let Some(row) = self.rows.get(index) {
                columns.push_row(row);
            } else if let Some((id, policy, hist, cell)) = self.compact.row(index - self.rows.len())
            {
                columns.push_compact(id, policy, hist, *cell);
            }
        }
        columns.into_frame()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decisions::{CompactCell, CompactDecisions, DecisionRow};
    use crate::replay::Timing;
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
        let cell = |turn: Option<i64>| CompactCell {
            handoff_turn: turn,
            situation: turn.map(|_| Situation::HumanRequest),
            timing: if turn.is_some() { Timing::OnlyPolicy } else { Timing::Neither },
            decision_point: turn.map(|t| t as u32),
        };
        let table = DecisionTable {
            rows: vec![DecisionRow {
                conversation_id: "c0".into(),
                policy: "historical".into(),
                timing: Timing::Neither,
                ..DecisionRow::default()
            }],
            compact: CompactDecisions {
                conversations: vec![("c1".into(), None), ("c2".into(), Some(7))],
                policies: vec!["early".into(), "never".into()],
                cells: vec![cell(Some(1)), cell(None), cell(Some(2)), cell(None)],
            },
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
        let sliced: Vec<DataFrame> = (0..5).map(|i| table.slice_frame(i, 1).unwrap()).collect();
        let mut stacked = sliced[0].clone();
        for part in &sliced[1..] {
            stacked.vstack_mut(part).unwrap();
        }
        assert!(stacked.equals_missing(&whole));
    }
}
