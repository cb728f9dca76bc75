//! Assembles validated rows into a `Dataset`: attributes every row to its conversation, applies
//! the cross-row checks (duplicate keys, time order, handoff turn), rejects whole conversations,
//! and counts rejections and data-quality warnings.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::rows::{RawRow, RowProblem};
use super::validate::{self, RowCheck};
use crate::model::{Conversation, DataQuality, Dataset, Message, Outcome, Rejection};

/// Where a row came from, for naming it in a later rejection.
#[derive(Clone, Copy, Debug)]
struct RowRef {
    file: u32,
    row: u64,
}

/// Everything read for one conversation id of the conversations table.
#[derive(Debug, Default)]
struct Entry {
    id: String,
    conversation: Option<Conversation>,
    first: Option<RowRef>,
    rejected: bool,
    /// Some message row could not be read: its turn is unknown, so handoff turns are unchecked.
    messages_incomplete: bool,
    extras: Vec<(usize, String)>,
    messages: Vec<(RowRef, Message)>,
    outcomes: Vec<(RowRef, Outcome)>,
}

/// Accumulates rows table by table (conversations first) and then builds the data set.
#[derive(Debug, Default)]
pub struct Builder {
    labels: Vec<String>,
    index: HashMap<String, usize>,
    entries: Vec<Entry>,
    rejections: Vec<Rejection>,
    quality: DataQuality,
    pub handoff_turn_values: bool,
}

impl Builder {
    /// Registers a file label; rows are then added with the returned number.
    pub fn file(&mut self, label: &str) -> u32 {
        self.labels.push(label.to_string());
        (self.labels.len() - 1) as u32
    }

    fn reject(&mut self, at: RowRef, id: Option<&str>, problem: RowProblem) {
        self.rejections.push(Rejection {
            file: self.labels[at.file as usize].clone(),
            row: Some(at.row),
            column: problem.column,
            conversation_id: id.map(str::to_string),
            reason: problem.reason,
        });
    }

    fn reject_all(&mut self, at: RowRef, id: Option<&str>, problems: Vec<RowProblem>) {
        for problem in problems {
            self.reject(at, id, problem);
        }
    }

    fn describe(&self, at: RowRef) -> String {
        format!("{} row {}", self.labels[at.file as usize], at.row)
    }

    pub fn add_conversation(&mut self, file: u32, mut raw: RawRow) {
        let at = RowRef { file, row: raw.row };
        let id = validate::row_conversation_id(&raw).map(|id| id.into_owned());
        let mut check = RowCheck { problems: raw.problems.clone() };
        let parsed = if raw.problems.is_empty() {
            validate::conversation(&mut raw, &mut check)
        } else {
            None
        };
        let Some(id) = id else {
            if check.problems.is_empty() {
                check.problems.push(missing("conversation_id"));
            }
            return self.reject_all(at, None, check.problems);
        };
        let slot = match self.index.get(&id) {
            Some(&slot) => {
                let first = self.entries[slot].first.map(|f| self.describe(f)).unwrap_or_default();
                let problem = RowProblem {
                    column: Some("conversation_id".to_string()),
                    reason: format!("duplicate conversation id {id:?} (first at {first})"),
                };
                self.reject(at, Some(&id), problem);
                self.entries[slot].rejected = true;
                slot
            }
            None => {
                self.entries.push(Entry { id: id.clone(), first: Some(at), ..Entry::default() });
                self.index.insert(id.clone(), self.entries.len() - 1);
                let slot = self.entries.len() - 1;
                let extras = std::mem::take(&mut raw.extras);
                let extras = extras.into_iter().filter_map(|(i, c)| Some((i, c.into_text()?)));
                self.entries[slot].extras = extras.collect();
                self.entries[slot].conversation = parsed;
                slot
            }
        };
        if !check.problems.is_empty() {
            self.entries[slot].rejected = true;
            self.reject_all(at, Some(&id), check.problems);
        }
    }

    /// The entry a messages or outcomes row belongs to; rejects orphans and unnamed rows.
    fn owner(&mut self, at: RowRef, raw: &RawRow, problems: &[RowProblem]) -> Option<usize> {
        let Some(id) = validate::row_conversation_id(raw) else {
            let mut problems = problems.to_vec();
            if problems.is_empty() {
                problems.push(missing("conversation_id"));
            }
            self.reject_all(at, None, problems);
            return None;
        };
        match self.index.get(id.as_ref()) {
            Some(&slot) => Some(slot),
            None => {
                let mut all = vec![RowProblem {
                    column: Some("conversation_id".to_string()),
                    reason: format!("no conversation {id:?} in the conversations table"),
                }];
                all.extend(problems.iter().cloned());
                let id = id.into_owned();
                self.reject_all(at, Some(&id), all);
                None
            }
        }
    }

    pub fn add_message(&mut self, file: u32, mut raw: RawRow) {
        let at = RowRef { file, row: raw.row };
        let mut check = RowCheck { problems: raw.problems.clone() };
        let parsed =
            if raw.problems.is_empty() { validate::message(&mut raw, &mut check) } else { None };
        let Some(slot) = self.owner(at, &raw, &check.problems) else { return };
        match parsed {
            Some((message, unknown)) => {
                count_labels(&mut self.quality.unknown_qualified_labels, unknown);
                self.entries[slot].messages.push((at, message));
            }
            None => {
                self.entries[slot].messages_incomplete = true;
                self.reject_entry(slot, at, check.problems);
            }
        }
    }

    pub fn add_outcome(&mut self, file: u32, mut raw: RawRow) {
        let at = RowRef { file, row: raw.row };
        let mut check = RowCheck { problems: raw.problems.clone() };
        let parsed =
            if raw.problems.is_empty() { validate::outcome(&mut raw, &mut check) } else { None };
        let Some(slot) = self.owner(at, &raw, &check.problems) else { return };
        match parsed {
            Some((outcome, unknown)) => {
                self.handoff_turn_values |= outcome.handoff_turn.is_some();
                count_labels(&mut self.quality.unknown_context_labels, unknown);
                self.entries[slot].outcomes.push((at, outcome));
            }
            None => self.reject_entry(slot, at, check.problems),
        }
    }

    fn reject_entry(&mut self, slot: usize, at: RowRef, problems: Vec<RowProblem>) {
        self.entries[slot].rejected = true;
        let id = self.entries[slot].id.clone();
        self.reject_all(at, Some(&id), problems);
    }

    /// Applies the cross-row checks and fills `dataset` (conversations, rejections, counts).
    pub fn finish(mut self, extra_columns: usize, dataset: &mut Dataset) {
        let entries = std::mem::take(&mut self.entries);
        dataset.total_conversation_ids = entries.len() as u64;
        let mut currencies = BTreeSet::new();
        for mut entry in entries {
            entry.messages.sort_by_key(|(at, m)| (m.turn, at.file, at.row));
            let bad_messages = self.check_messages(&entry);
            let bad_outcomes = self.check_outcomes(&entry);
            if bad_messages || bad_outcomes || entry.rejected || entry.conversation.is_none() {
                dataset.rejected_conversations += 1;
                continue;
            }
            if let Some(conversation) = self.accept(entry, extra_columns, &mut currencies) {
                dataset.conversations.push(conversation);
            }
        }
        dataset.conversations.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        self.quality.currencies = currencies.into_iter().collect();
        self.rejections.sort();
        let rows: BTreeSet<(&str, u64)> =
            self.rejections.iter().filter_map(|r| Some((r.file.as_str(), r.row?))).collect();
        dataset.rejected_rows = rows.len() as u64;
        dataset.rejections = self.rejections;
        dataset.quality = self.quality;
    }

    /// Duplicate turns and turns sent before the turn preceding them.
    fn check_messages(&mut self, entry: &Entry) -> bool {
        let mut problems = Vec::new();
        // Where the current turn first appeared, so that every duplicate names the original.
        let mut turn_start = 0;
        for (i, pair) in entry.messages.windows(2).enumerate() {
            let ((_, first), (at, m)) = (&pair[0], &pair[1]);
            if m.turn != first.turn {
                turn_start = i + 1;
            }
            if m.turn == first.turn {
                let original = entry.messages[turn_start].0;
                let reason = format!(
                    "duplicate turn {} in conversation {:?} (first at {})",
                    m.turn,
                    entry.id,
                    self.describe(original)
                );
                problems.push((*at, problem("turn", reason)));
            } else if m.sent_at < first.sent_at {
                let reason = format!(
                    "turn {} was sent at {}, before turn {} at {} (sent_at must not decrease with turn)",
                    m.turn,
                    crate::time::rfc3339_exact(m.sent_at),
                    first.turn,
                    crate::time::rfc3339_exact(first.sent_at)
                );
                problems.push((*at, problem("sent_at", reason)));
            }
        }
        self.reject_entry_rows(entry, problems)
    }

    /// Duplicate outcome rows and handoff turns the conversation does not have.
    fn check_outcomes(&mut self, entry: &Entry) -> bool {
        let mut problems = Vec::new();
        if let Some((first_at, _)) = entry.outcomes.first() {
            for (at, _) in entry.outcomes.iter().skip(1) {
                let reason = format!(
                    "duplicate outcome for conversation {:?} (first at {})",
                    entry.id,
                    self.describe(*first_at)
                );
                problems.push((*at, problem("conversation_id", reason)));
            }
        }
        let outcomes = if entry.messages_incomplete { &[][..] } else { &entry.outcomes[..] };
        for (at, outcome) in outcomes {
            let Some(turn) = outcome.handoff_turn else { continue };
            let known = entry.messages.binary_search_by_key(&turn, |(_, m)| m.turn).is_ok();
            if !known {
                let reason =
                    format!("handoff turn {turn} is not a turn of conversation {:?}", entry.id);
                problems.push((*at, problem("handoff_turn", reason)));
            }
        }
        self.reject_entry_rows(entry, problems)
    }

    /// Records the problems; whether there were any (the conversation is then rejected).
    fn reject_entry_rows(&mut self, entry: &Entry, problems: Vec<(RowRef, RowProblem)>) -> bool {
        let any = !problems.is_empty();
        for (at, p) in problems {
            self.reject(at, Some(&entry.id), p);
        }
        any
    }

    /// The accepted conversation, with inconsistent optional fields ignored and counted.
    fn accept(
        &mut self,
        entry: Entry,
        extra_columns: usize,
        currencies: &mut BTreeSet<String>,
    ) -> Option<Conversation> {
        let mut conversation = entry.conversation?;
        let mut extra = vec![None; extra_columns];
        for (i, value) in entry.extras {
            if let Some(cell) = extra.get_mut(i) {
                *cell = Some(value);
            }
        }
        conversation.extra = extra;
        // Into an exact-size vector: collecting in place would keep the row-tagged buffer and
        // its growth slack alive for the whole run (a third of the messages' memory at scale).
        let mut messages = Vec::with_capacity(entry.messages.len());
        messages.extend(entry.messages.into_iter().map(|(_, m)| m));
        conversation.messages = messages;
        conversation.outcome = entry.outcomes.into_iter().next().map(|(_, o)| self.tidy(o));
        if let Some(o) = &conversation.outcome {
            if let (Some(_), Some(currency)) = (o.opportunity_amount, &o.currency) {
                currencies.insert(currency.clone());
            }
        }
        if conversation.prospect_messages().next().is_none() {
            self.quality.conversations_without_prospect_message += 1;
        }
        Some(conversation)
    }

    /// Drops optional fields that contradict the rest of the outcome, counting each.
    fn tidy(&mut self, mut outcome: Outcome) -> Outcome {
        if outcome.opportunity_amount.is_some() && outcome.opportunity_at.is_none() {
            self.quality.amount_without_opportunity += 1;
            outcome.opportunity_amount = None;
        }
        if outcome.rep_rating.is_some() && outcome.handoff_turn.is_none() {
            self.quality.rating_without_handoff += 1;
            outcome.rep_rating = None;
        }
        if outcome.handoff_at.is_some() && outcome.handoff_turn.is_none() {
            self.quality.handoff_at_without_turn += 1;
            outcome.handoff_at = None;
        }
        outcome
    }
}

fn missing(column: &str) -> RowProblem {
    problem(column, "required value is missing".to_string())
}

fn problem(column: &str, reason: String) -> RowProblem {
    RowProblem { column: Some(column.to_string()), reason }
}

fn count_labels(counts: &mut BTreeMap<String, u64>, labels: Vec<String>) {
    for label in labels {
        *counts.entry(label).or_insert(0) += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::rows::{msg, Cell, CONVERSATIONS, MESSAGES};

    fn conversation_row(row: u64, id: &str) -> RawRow {
        let mut raw = RawRow::new(row, CONVERSATIONS.columns.len());
        raw.cells[0] = Cell::Str(id.to_string());
        raw.cells[1] = Cell::Str("2026-01-01T00:00:00Z".to_string());
        raw
    }

    fn message_row(row: u64, id: &str, turn: &str, sent_at: &str) -> RawRow {
        let mut raw = RawRow::new(row, MESSAGES.columns.len());
        raw.cells[msg::CONVERSATION_ID] = Cell::Str(id.to_string());
        raw.cells[msg::TURN] = Cell::Str(turn.to_string());
        raw.cells[msg::SENT_AT] = Cell::Str(sent_at.to_string());
        raw.cells[msg::SENDER] = Cell::Str("prospect".to_string());
        raw
    }

    #[test]
    fn counts_distinct_rows_and_conversations() {
        let mut b = Builder::default();
        let conversations = b.file("conversations.csv");
        let messages = b.file("messages.csv");
        for (row, id) in [(1, "a"), (2, "b"), (3, "c")] {
            b.add_conversation(conversations, conversation_row(row, id));
        }
        // Two problems on one row: two rejections, one rejected row.
        b.add_message(messages, message_row(1, "a", "x", "never"));
        b.add_message(messages, message_row(2, "b", "1", "2026-01-01T00:00:00Z"));
        // An orphan: rejected alone.
        b.add_message(messages, message_row(3, "zz", "1", "2026-01-01T00:00:00Z"));
        let mut data = Dataset::default();
        b.finish(0, &mut data);
        assert_eq!(data.rejections.len(), 3);
        assert_eq!(data.rejected_rows, 2);
        assert_eq!(data.rejected_conversations, 1);
        assert_eq!(data.total_conversation_ids, 3);
        let ids: Vec<&str> = data.conversations.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(data.quality.conversations_without_prospect_message, 1);
    }

    #[test]
    fn time_order_and_duplicates_reject_the_conversation() {
        let mut b = Builder::default();
        let conversations = b.file("conversations.csv");
        let messages = b.file("messages.csv");
        b.add_conversation(conversations, conversation_row(1, "a"));
        b.add_conversation(conversations, conversation_row(2, "b"));
        b.add_message(messages, message_row(1, "a", "2", "2026-01-01T00:00:00Z"));
        b.add_message(messages, message_row(2, "a", "3", "2025-12-31T00:00:00Z"));
        b.add_message(messages, message_row(3, "b", "1", "2026-01-01T00:00:00Z"));
        b.add_message(messages, message_row(4, "b", "1", "2026-01-01T00:00:00Z"));
        let mut data = Dataset::default();
        b.finish(0, &mut data);
        assert_eq!(data.rejected_conversations, 2);
        let columns: Vec<_> = data.rejections.iter().map(|r| r.column.as_deref()).collect();
        assert_eq!(columns, [Some("sent_at"), Some("turn")]);
        assert_eq!(data.rejections[1].row, Some(4));
    }
}
