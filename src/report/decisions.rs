//! Writing the decision table (`decisions.parquet`, `replay --out`): the compact table of
//! `crate::decisions` becomes polars frames a slice at a time, so tens of millions of rows
//! never sit in one frame. `write_parquet` builds and encodes the slices in parallel and
//! writes them in order, the same bytes as polars' own writer of the whole table.

use std::io::Write;

use polars::io::parquet::write::{get_encodings, ParquetCompression, StatisticsOptions};
use polars::prelude::{
    polars_err, ArrayRef, Column, CompatLevel, DataFrame, ParquetWriter, PolarsResult,
};
use polars_arrow::array::{DictionaryArray, PrimitiveArray, Utf8ViewArray};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_arrow::datatypes::{ArrowDataType, IntegerType};
use polars_parquet::write::{array_to_columns, compress, CompressedPage, Version, WriteOptions};
use rayon::prelude::*;

use crate::decisions::{CompactCell, CompactDecisions, DecisionRow, DecisionTable};
use crate::replay::Timing;
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

/// The most distinct values per row for which a string column is handed to the encoder as a
/// dictionary directly: polars dictionary-encodes a column of more than 128 rows only when
/// its estimated distinct values are at most 0.75 per row, and below a quarter no estimate
/// can be that far off. Between the two, the plain column goes to polars to decide.
const DIRECT_DICTIONARY_SHARE: usize = 4;

/// `values` at `keys` (`None` = null) as the dictionary array polars' cast of the plain string
/// column builds: values in order of first occurrence, keys 0 and unset validity at nulls,
/// no validity when there is no null. The encoder then writes the same pages as for the plain
/// column; `None` when polars might have chosen the plain encoding instead.
fn dictionary_column(
    keys: Vec<u32>,
    validity: Option<MutableBitmap>,
    values: &[&str],
) -> PolarsResult<Option<ArrayRef>> {
    let rows = keys.len();
    if rows > 128 && values.len().saturating_mul(DIRECT_DICTIONARY_SHARE) > rows {
        return Ok(None);
    }
    let validity: Option<Bitmap> = validity.and_then(|v| v.into());
    let keys = PrimitiveArray::<u32>::new(ArrowDataType::UInt32, keys.into(), validity);
    let values = Utf8ViewArray::from_slice_values(values).boxed();
    let dtype =
        ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(ArrowDataType::Utf8View), false);
    Ok(Some(DictionaryArray::try_new(dtype, keys, values)?.boxed()))
}

/// First-occurrence codes for up to `N` kinds of value: `code(k)` is the dictionary key of
/// kind `k`, numbered as first seen.
struct FirstSeen<const N: usize> {
    keys: [u32; N],
    order: Vec<usize>,
}

impl<const N: usize> FirstSeen<N> {
    fn new() -> Self {
        FirstSeen { keys: [u32::MAX; N], order: Vec::with_capacity(N) }
    }
    fn code(&mut self, kind: usize) -> u32 {
        if self.keys[kind] == u32::MAX {
            self.keys[kind] = self.order.len() as u32;
            self.order.push(kind);
        }
        self.keys[kind]
    }
}

/// The arrays of the rows `start..start + len` of `table` when they are all compact rows,
/// built straight from the compact table (`SliceColumns` and a frame are the general path):
/// the integer columns as polars builds them, the string columns as the dictionaries its
/// encoder would make of them. `None` where this does not apply (hand-built rows, or a string
/// column polars might not dictionary-encode).
fn compact_arrays(
    table: &DecisionTable,
    start: usize,
    len: usize,
) -> PolarsResult<Option<(usize, Vec<ArrayRef>)>> {
    let compact = &table.compact;
    let width = compact.policies.len();
    let end = start.saturating_add(len).min(table.len());
    if start < table.rows.len() || start >= end || width == 0 {
        return Ok(None);
    }
    let (first, last) = (start - table.rows.len(), end - table.rows.len());
    let rows = last - first;
    let (first_conversation, last_conversation) = (first / width, (last - 1) / width);

    let mut conversation_keys = Vec::with_capacity(rows);
    let mut policy_keys = Vec::with_capacity(rows);
    let mut situation_keys = Vec::with_capacity(rows);
    let mut situation_valid = MutableBitmap::with_capacity(rows);
    let mut timing_keys = Vec::with_capacity(rows);
    let mut handoff_turn = Vec::with_capacity(rows);
    let mut historical_turn = Vec::with_capacity(rows);
    let mut decision_point = Vec::with_capacity(rows);
    let mut ids = Vec::with_capacity(last_conversation - first_conversation + 1);
    let mut situations = FirstSeen::<{ Situation::ALL.len() }>::new();
    let mut timings = FirstSeen::<{ Timing::ALL.len() }>::new();
    let first_policy = first % width;
    let mut index = first;
    for c in first_conversation..=last_conversation {
        let Some(conversation) = compact.conversation(c) else { return Ok(None) };
        ids.push(conversation.id);
        let conversation_end = ((c + 1) * width).min(last);
        for row in index..conversation_end {
            let Some(cell) = compact.cell(row, &conversation) else { return Ok(None) };
            conversation_keys.push((c - first_conversation) as u32);
            // Policies first appear in row order, from the slice's first row on.
            policy_keys.push(((row % width + width - first_policy) % width) as u32);
            match cell.situation {
                Some(s) => {
                    situation_keys.push(situations.code(s as usize));
                    situation_valid.push(true);
                }
                None => {
                    situation_keys.push(0);
                    situation_valid.push(false);
                }
            }
            timing_keys.push(timings.code(cell.timing as usize));
            handoff_turn.push(cell.handoff_turn);
            historical_turn.push(conversation.historical_turn);
            decision_point.push(cell.decision_point.map(i64::from));
        }
        index = conversation_end;
    }
    let policies: Vec<&str> = (0..width.min(rows))
        .map(|k| compact.policies[(first_policy + k) % width].as_str())
        .collect();
    let situation_names: Vec<&str> =
        situations.order.iter().map(|&k| Situation::ALL[k].name()).collect();
    let timing_names: Vec<&str> = timings.order.iter().map(|&k| Timing::ALL[k].name()).collect();
    let situation_validity = (situation_valid.unset_bits() > 0).then_some(situation_valid);
    let strings = [
        dictionary_column(conversation_keys, None, &ids)?,
        dictionary_column(policy_keys, None, &policies)?,
        dictionary_column(situation_keys, situation_validity, &situation_names)?,
        dictionary_column(timing_keys, None, &timing_names)?,
    ];
    let [Some(id), Some(policy), Some(situation), Some(timing)] = strings else {
        return Ok(None);
    };
    // The integer columns exactly as the frame path builds them.
    let integer = |name: &str, values: Vec<Option<i64>>| -> PolarsResult<ArrayRef> {
        let column = Column::new(name.into(), values);
        let series = column.as_materialized_series();
        if series.n_chunks() != 1 {
            return Err(polars_err!(ComputeError: "column {name} is not one chunk"));
        }
        Ok(series.to_arrow(0, CompatLevel::newest()))
    };
    Ok(Some((
        rows,
        vec![
            id,
            policy,
            integer("handoff_turn", handoff_turn)?,
            situation,
            integer("historical_handoff_turn", historical_turn)?,
            timing,
            integer("decision_point", decision_point)?,
        ],
    )))
}

/// Writes `table` as Parquet into `out`: byte for byte what `ParquetWriter::new(out)` with its
/// default options writes for the whole table (row groups of `FRAME_ROWS` rows), but each row
/// group is built and encoded on its own thread and only the encoded pages are kept until
/// written.
pub fn write_parquet<W: Write + Send>(table: &DecisionTable, out: W) -> PolarsResult<()> {
    let first = table.slice_frame(0, 0)?;
    let mut writer = ParquetWriter::new(out).batched(first.schema())?;
    let fields = writer.parquet_schema().fields().to_vec();
    let encodings = {
        let file = writer
            .get_writer()
            .lock()
            .map_err(|_| polars_err!(ComputeError: "the Parquet writer's lock is poisoned"))?;
        get_encodings(file.schema())
    };
    // `ParquetWriter`'s defaults: what `batched` above was built with.
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: ParquetCompression::default().into(),
        data_page_size: None,
    };
    let encode = |start: usize| -> PolarsResult<(u64, Vec<Vec<CompressedPage>>)> {
        let (rows, arrays) = match compact_arrays(table, start, FRAME_ROWS)? {
            Some(direct) => direct,
            None => {
                let frame = table.slice_frame(start, FRAME_ROWS)?;
                // A slice frame is one chunk, so this is one record batch: one row group.
                let arrays = frame
                    .iter_chunks(CompatLevel::newest(), false)
                    .flat_map(|batch| batch.columns().to_vec())
                    .collect();
                (frame.height(), arrays)
            }
        };
        let mut columns = Vec::with_capacity(fields.len());
        for ((array, field), encoding) in arrays.iter().zip(&fields).zip(encodings.iter()) {
            for pages in array_to_columns(array, field.clone(), options, encoding)? {
                let compressed = pages
                    .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                    .collect::<PolarsResult<Vec<CompressedPage>>>()?;
                columns.push(compressed);
            }
        }
        Ok((rows as u64, columns))
    };
    let starts: Vec<usize> = (0..table.len()).step_by(FRAME_ROWS).collect();
    // A few row groups per thread at a time, so the encoded pages waiting to be written stay
    // a small part of the file.
    let batch = rayon::current_num_threads().max(1) * 2;
    for group in starts.chunks(batch) {
        let encoded: Vec<PolarsResult<(u64, Vec<Vec<CompressedPage>>)>> =
            group.par_iter().map(|&start| encode(start)).collect();
        for row_group in encoded {
            let (rows, columns) = row_group?;
            writer.write_row_group(rows, &columns)?;
        }
    }
    writer.finish()?;
    Ok(())
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

    /// polars' batched writer fed one slice frame at a time: what `write_parquet` must match.
    fn written_by_polars(table: &DecisionTable) -> Vec<u8> {
        let mut buf = Vec::new();
        let first = table.slice_frame(0, FRAME_ROWS).unwrap();
        let mut writer = ParquetWriter::new(&mut buf).batched(first.schema()).unwrap();
        let mut start = 0;
        while start < table.len() || start == 0 {
            let slice = table.slice_frame(start, FRAME_ROWS).unwrap();
            writer.write_batch(&slice).unwrap();
            start += slice.height().max(1);
        }
        writer.finish().unwrap();
        buf
    }

    #[test]
    fn parallel_parquet_is_byte_identical_to_polars_writer() {
        let policies: Vec<String> = (0..7).map(|p| format!("policy-{p}")).collect();
        let conversations = FRAME_ROWS * 2 / policies.len() + 123;
        let mut compact = CompactDecisions::with_capacity(policies, conversations);
        for c in 0..conversations {
            let points = (c % 9) as i64;
            let historical = (!c.is_multiple_of(4)).then_some((c % 5) as u32 + 1);
            compact.push_conversation(
                &format!("conv-{c:08}"),
                historical.map(|h| i64::from(h) * 2),
                historical,
                (1..=points).map(|t| t * 2),
            );
            for p in 0..7u32 {
                let point =
                    (!(c as u32 + p).is_multiple_of(3)).then_some((c as u32 * 7 + p) % 9 + 1);
                let point = point.filter(|&x| i64::from(x) <= points);
                let situation = point.map(|x| Situation::ALL[x as usize % Situation::ALL.len()]);
                compact.push_decision(Decision { point, situation });
            }
        }
        let table = DecisionTable {
            rows: vec![DecisionRow {
                conversation_id: "hand-built".into(),
                policy: "historical".into(),
                ..DecisionRow::default()
            }],
            compact,
        };
        assert!(table.len() > 2 * FRAME_ROWS);
        let mut ours = Vec::new();
        write_parquet(&table, &mut ours).unwrap();
        assert!(ours == written_by_polars(&table), "the bytes differ from polars' writer");

        let empty = DecisionTable::default();
        let mut ours = Vec::new();
        write_parquet(&empty, &mut ours).unwrap();
        assert!(ours == written_by_polars(&empty), "the empty table's bytes differ");
    }
}
