//! The per-conversation decision table (`decisions.parquet`): one row per conversation and
//! policy, sweep variants included.

use polars::prelude::{Column, DataFrame, PolarsResult};

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
    /// `Timing::name`: `earlier`, `same`, `later`, `only_policy`, `only_history`, `neither`.
    pub timing: String,
    /// The 1-based decision point of the handoff; `None` = never.
    pub decision_point: Option<u32>,
}

/// The rows in the order the report writes them (the caller's order: conversations in data
/// order, policies in report order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecisionTable {
    pub rows: Vec<DecisionRow>,
}

impl DecisionTable {
    /// The table as a frame with the columns of outputs.md (plus `decision_point`).
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let rows = &self.rows;
        DataFrame::new_infer_height(vec![
            Column::new(
                "conversation_id".into(),
                rows.iter().map(|r| r.conversation_id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "policy".into(),
                rows.iter().map(|r| r.policy.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "handoff_turn".into(),
                rows.iter().map(|r| r.handoff_turn).collect::<Vec<Option<i64>>>(),
            ),
            Column::new(
                "situation".into(),
                rows.iter().map(|r| r.situation.as_deref()).collect::<Vec<Option<&str>>>(),
            ),
            Column::new(
                "historical_handoff_turn".into(),
                rows.iter().map(|r| r.historical_handoff_turn).collect::<Vec<Option<i64>>>(),
            ),
            Column::new(
                "timing".into(),
                rows.iter().map(|r| r.timing.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "decision_point".into(),
                rows.iter().map(|r| r.decision_point.map(i64::from)).collect::<Vec<Option<i64>>>(),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
                    timing: "same".into(),
                    decision_point: Some(2),
                },
                DecisionRow {
                    conversation_id: "c1".into(),
                    policy: "never".into(),
                    timing: "only_history".into(),
                    historical_handoff_turn: Some(3),
                    ..DecisionRow::default()
                },
            ],
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
}
