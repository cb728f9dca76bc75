//! Assembles validated rows into a `Dataset`: attributes every row to its conversation, applies
//! the cross-row checks (duplicate keys, time order, handoff turn), rejects whole conversations,
//! and counts rejections and data-quality warnings.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use std::borrow::Cow;

use super::rows::{msg, Cell, RawRow, RowBatch, RowProblem};
use super::validate::{self, RowCheck};
use crate::model::{
    CompactMessage, CompactMessages, Conversation, DataQuality, Dataset, Message, Micros, Outcome,
    Rejection, ReleasedMessages,
};
use crate::signals::vocabulary::{Signal, SignalSet};

/// The maps keyed by ids and names, looked up once or more per row: foldhash (randomly
/// seeded, several times faster than the standard SipHash on short keys). Only looked up,
/// never iterated, so the seed cannot change any result.
type HashMap<K, V> = foldhash::HashMap<K, V>;

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
    /// The messages, when the builder keeps them whole.
    messages: Vec<(RowRef, Message)>,
    /// The messages with their `sent_at` (for the time-order check), when the builder keeps
    /// them compact; the row is kept as its number in `RowIndex` (8 bytes, not 16: millions
    /// are held).
    compact: Vec<CompactMessage>,
    /// Beside each of `compact`: its row number and `sent_at`. Apart from the messages, so that
    /// the accepted conversation takes the messages' vector as it is.
    compact_keys: Vec<(u64, Micros)>,
    /// `signals` labels outside the vocabulary, when the builder keeps messages compact.
    unknown_tags: Vec<String>,
    /// The first outcome row; nearly every conversation has at most one, so the rest (all
    /// duplicates, rejected) are kept apart rather than giving every entry a vector.
    outcome: Option<(RowRef, Outcome)>,
    more_outcomes: Vec<(RowRef, Outcome)>,
}

impl Entry {
    /// Every outcome row, in reading order.
    fn outcomes(&self) -> impl Iterator<Item = &(RowRef, Outcome)> {
        self.outcome.iter().chain(&self.more_outcomes)
    }

    fn message_count(&self) -> usize {
        self.messages.len() + self.compact.len()
    }

    /// Position, turn and `sent_at` of the `i`-th message in the current order.
    fn message_key(&self, i: usize, rows: &RowIndex) -> (RowRef, i64, Micros) {
        match self.messages.get(i) {
            Some((at, m)) => (*at, m.turn, m.sent_at),
            None => {
                let j = i - self.messages.len();
                let (seq, sent_at) = self.compact_keys[j];
                (rows.at(seq), self.compact[j].turn, sent_at)
            }
        }
    }

    fn sort_messages(&mut self) {
        self.messages.sort_by_key(|(at, m)| (m.turn, at.file, at.row));
        // Row numbers follow the reading order, so they order as (file, row) do.
        let key = |j: usize| (self.compact[j].turn, self.compact_keys[j].0);
        if (1..self.compact.len()).all(|j| key(j - 1) <= key(j)) {
            return;
        }
        let mut order: Vec<usize> = (0..self.compact.len()).collect();
        order.sort_by_key(|&j| key(j));
        self.compact = order.iter().map(|&j| self.compact[j]).collect();
        self.compact_keys = order.iter().map(|&j| self.compact_keys[j]).collect();
    }

    /// Whether some message has turn `turn` (messages sorted).
    fn has_turn(&self, turn: i64) -> bool {
        self.messages.binary_search_by_key(&turn, |(_, m)| m.turn).is_ok()
            || self.compact.binary_search_by_key(&turn, |m| m.turn).is_ok()
    }
}

/// Numbers the message rows in reading order and gives back where each came from, keeping
/// only the rows where the numbering leaves a file or skips a row.
#[derive(Debug, Default)]
struct RowIndex {
    breaks: Vec<(u64, RowRef)>,
    next: u64,
}

impl RowIndex {
    /// The number of the row at `at` (read after every row numbered so far).
    fn number(&mut self, at: RowRef) -> u64 {
        let seq = self.next;
        self.next += 1;
        let follows = self
            .breaks
            .last()
            .is_some_and(|&(s, r)| r.file == at.file && r.row.checked_add(seq - s) == Some(at.row));
        if !follows {
            self.breaks.push((seq, at));
        }
        seq
    }

    /// Where the row numbered `seq` came from.
    fn at(&self, seq: u64) -> RowRef {
        let after = self.breaks.partition_point(|&(s, _)| s <= seq);
        match after.checked_sub(1).and_then(|i| self.breaks.get(i)) {
            Some(&(s, r)) => RowRef { file: r.file, row: r.row.saturating_add(seq - s) },
            None => RowRef { file: 0, row: 0 },
        }
    }
}

/// Accumulates rows table by table (conversations first) and then builds the data set.
#[derive(Debug, Default)]
pub struct Builder {
    labels: Vec<String>,
    index: HashMap<String, usize>,
    /// Boxed: a vector of large entries would keep up to twice their size as growth slack,
    /// and could not give each one back as it is turned into a conversation.
    #[allow(clippy::vec_box)]
    entries: Vec<Box<Entry>>,
    rejections: Vec<Rejection>,
    quality: DataQuality,
    pub handoff_turn_values: bool,
    /// Keep messages as `CompactMessage`s (into `Dataset::compact`) instead of `Message`s.
    compact: bool,
    /// Participant names numbered for `CompactMessage::participant`.
    participants: HashMap<Box<str>, u32>,
    /// The entry the last messages or outcomes row belonged to.
    last_owner: Option<usize>,
    /// Where the compact messages' rows came from.
    rows: RowIndex,
    /// The last two participant names numbered, with their numbers: a conversation's rows
    /// name the same one or two participants over and over.
    recent_participants: Vec<(String, u32)>,
    /// Compact messages of one entry (`staged_for`) added by `add_message_batch` and not yet
    /// given to it: a conversation's rows come together, so its entry's vector is then made
    /// once at its size instead of grown row by row.
    staged: Vec<CompactMessage>,
    staged_keys: Vec<(u64, Micros)>,
    staged_for: Option<usize>,
}

impl Builder {
    /// A builder that keeps messages whole (`compact` false) or compact.
    pub fn new(compact: bool) -> Builder {
        Builder { compact, ..Builder::default() }
    }

    /// The number of a participant name, numbering it on first sight.
    fn participant_number(&mut self, name: &str) -> u32 {
        if let Some(&(_, n)) = self.recent_participants.iter().find(|(p, _)| p == name) {
            return n;
        }
        let n = self.participant_number_uncached(name);
        if self.recent_participants.len() < 2 {
            self.recent_participants.push((name.to_string(), n));
        } else {
            // The older of the two makes way (its buffer reused).
            self.recent_participants.swap(0, 1);
            let (older, number) = &mut self.recent_participants[1];
            older.clear();
            older.push_str(name);
            *number = n;
        }
        n
    }

    fn participant_number_uncached(&mut self, name: &str) -> u32 {
        if let Some(&n) = self.participants.get(name) {
            return n;
        }
        // Saturates rather than wraps: 4 billion distinct names do not fit in memory anyway.
        let n = u32::try_from(self.participants.len())
            .unwrap_or(u32::MAX)
            .min(CompactMessage::MAX_PARTICIPANT);
        self.participants.insert(name.into(), n);
        n
    }

    /// `message` reduced to a `CompactMessage`; its unknown tag labels go to `unknown`.
    fn compact_message(
        &mut self,
        message: validate::MessageRow<'_>,
        unknown: &mut Vec<String>,
    ) -> CompactMessage {
        let participant = message.participant.as_deref().map(|p| self.participant_number(p));
        unnumbered_compact(&message, unknown).with_participant(participant)
    }

    /// Registers a file label; rows are then added with the returned number.
    pub fn file(&mut self, label: &str) -> u32 {
        self.labels.push(label.to_string());
        (self.labels.len() - 1) as u32
    }

    fn reject(&mut self, at: RowRef, id: Option<&str>, problem: RowProblem) {
        let rejection = self.rejection(at, id, problem);
        self.rejections.push(rejection);
    }

    fn rejection(&self, at: RowRef, id: Option<&str>, problem: RowProblem) -> Rejection {
        Rejection {
            file: self.labels[at.file as usize].clone(),
            row: Some(at.row),
            column: problem.column,
            conversation_id: id.map(str::to_string),
            reason: problem.reason,
        }
    }

    fn reject_all(&mut self, at: RowRef, id: Option<&str>, problems: Vec<RowProblem>) {
        for problem in problems {
            self.reject(at, id, problem);
        }
    }

    fn describe(&self, at: RowRef) -> String {
        format!("{} row {}", self.labels[at.file as usize], at.row)
    }

    pub fn add_conversation(&mut self, file: u32, raw: RawRow) {
        self.add_checked_conversation(file, CheckedConversation::of(raw));
    }

    /// Adds the conversations rows of `batch` in order, as `add_conversation` one by one
    /// would: each row is checked on any core, then the rows are added in order, a block's
    /// adding overlapping the next block's checking (`pipelined`).
    pub fn add_conversation_batch(&mut self, file: u32, batch: &dyn RowBatch) {
        self.index.reserve(batch.len());
        self.entries.reserve(batch.len());
        pipelined(
            batch.len(),
            |block| {
                block
                    .into_par_iter()
                    .with_min_len(BATCH_CHUNK)
                    .map(|i| CheckedConversation::of(batch.row(i)))
                    .collect::<Vec<_>>()
            },
            |_, checked: Vec<CheckedConversation>| {
                for one in checked {
                    self.add_checked_conversation(file, one);
                }
            },
        );
    }

    fn add_checked_conversation(&mut self, file: u32, checked: CheckedConversation) {
        let CheckedConversation { row, id, problems, parsed, extras } = checked;
        let at = RowRef { file, row };
        let Some(id) = id else {
            return self.reject_all(at, None, problems);
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
                let entry = Entry {
                    id: id.clone(),
                    first: Some(at),
                    extras,
                    conversation: parsed,
                    ..Entry::default()
                };
                self.entries.push(Box::new(entry));
                self.index.insert(id.clone(), self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        if !problems.is_empty() {
            self.entries[slot].rejected = true;
            self.reject_all(at, Some(&id), problems);
        }
    }

    /// The entry a messages or outcomes row belongs to; rejects orphans and unnamed rows.
    fn owner(&mut self, at: RowRef, raw: &RawRow, problems: &[RowProblem]) -> Option<usize> {
        let id = validate::row_conversation_id(raw);
        self.owner_of(at, id.as_deref(), problems)
    }

    /// `owner` of a row whose conversation id (`validate::row_conversation_id`) is `id`.
    fn owner_of(&mut self, at: RowRef, id: Option<&str>, problems: &[RowProblem]) -> Option<usize> {
        let Some(id) = id else {
            let mut problems = problems.to_vec();
            if problems.is_empty() {
                problems.push(missing("conversation_id"));
            }
            self.reject_all(at, None, problems);
            return None;
        };
        // Rows of one conversation usually come together: the previous owner first.
        if let Some(slot) = self.last_owner.filter(|&s| self.entries[s].id == id) {
            return Some(slot);
        }
        match self.index.get(id) {
            Some(&slot) => {
                self.last_owner = Some(slot);
                Some(slot)
            }
            None => {
                let mut all = vec![RowProblem {
                    column: Some("conversation_id".to_string()),
                    reason: format!("no conversation {id:?} in the conversations table"),
                }];
                all.extend(problems.iter().cloned());
                self.reject_all(at, Some(id), all);
                None
            }
        }
    }

    pub fn add_message(&mut self, file: u32, raw: RawRow) {
        let at = RowRef { file, row: raw.row };
        let mut check = RowCheck { problems: raw.problems.clone() };
        // The plain path first: nearly every row is plainly valid, and `message` collects
        // problems at several times the cost; it runs only when the plain path gives up.
        let parsed = if raw.problems.is_empty() {
            validate::plain_message(&raw).or_else(|| validate::message(&raw, &mut check))
        } else {
            None
        };
        let Some(slot) = self.owner(at, &raw, &check.problems) else { return };
        match parsed {
            Some((message, unknown)) => {
                count_labels(&mut self.quality.unknown_qualified_labels, unknown);
                if self.compact {
                    let sent_at = message.sent_at;
                    let mut unknown_tags = std::mem::take(&mut self.entries[slot].unknown_tags);
                    let compact = self.compact_message(message, &mut unknown_tags);
                    self.entries[slot].unknown_tags = unknown_tags;
                    let seq = self.rows.number(at);
                    let entry = &mut self.entries[slot];
                    entry.compact.push(compact);
                    entry.compact_keys.push((seq, sent_at));
                } else {
                    self.entries[slot].messages.push((at, message.into_message()));
                }
            }
            None => {
                self.entries[slot].messages_incomplete = true;
                self.reject_entry(slot, at, check.problems);
            }
        }
    }

    /// Adds the messages rows of `batch` in order, as `add_message` one by one would: the
    /// rows are read and checked on every core a block at a time, then added in order, with
    /// the rows of one conversation (which usually come together) given their entry once.
    /// A block is added while the next one is checked (`pipelined`).
    pub fn add_message_batch(&mut self, file: u32, batch: &dyn RowBatch) {
        if !self.compact {
            (0..batch.len()).for_each(|i| self.add_message(file, batch.row(i)));
            return;
        }
        pipelined(
            batch.len(),
            |block| {
                let end = block.end;
                block
                    .step_by(BATCH_CHUNK)
                    .collect::<Vec<_>>()
                    .into_par_iter()
                    .map(|from| {
                        let to = (from + BATCH_CHUNK).min(end);
                        let mut rows: Vec<Option<PlainMessage>> = Vec::with_capacity(to - from);
                        for i in from..to {
                            let mut plain = PlainMessage::of(batch, i);
                            if let (Some(p), Some(Some(before))) = (&mut plain, rows.last()) {
                                p.same_as_previous = p.id == before.id;
                            }
                            rows.push(plain);
                        }
                        rows
                    })
                    .collect::<Vec<_>>()
            },
            |block, checked: Vec<Vec<Option<PlainMessage>>>| {
                // The entry of the row before, when that row was added by the plain path.
                let mut previous: Option<usize> = None;
                for (i, plain) in block.zip(checked.into_iter().flatten()) {
                    previous = match plain {
                        Some(plain) => self.add_plain_message(file, plain, previous),
                        None => {
                            self.add_message(file, batch.row(i));
                            None
                        }
                    };
                }
            },
        );
        self.give_staged();
    }

    /// Adds a row the plain path read, given the entry of the row before it when that row
    /// was added this way; the row's entry, or `None` when there is no such conversation
    /// (the row is then rejected, as `add_message` would).
    fn add_plain_message(
        &mut self,
        file: u32,
        plain: PlainMessage<'_>,
        previous: Option<usize>,
    ) -> Option<usize> {
        let at = RowRef { file, row: plain.row };
        let slot = match previous.filter(|_| plain.same_as_previous) {
            Some(slot) => slot,
            None => self.owner_of(at, Some(plain.id), &[])?,
        };
        if let Some(unknown) = plain.unknown {
            let (tags, qualified) = *unknown;
            count_labels(&mut self.quality.unknown_qualified_labels, qualified);
            self.entries[slot].unknown_tags.extend(tags);
        }
        let participant = plain.participant.as_deref().map(|p| self.participant_number(p));
        let compact = plain.message.with_participant(participant);
        let seq = self.rows.number(at);
        if self.staged_for != Some(slot) {
            self.give_staged();
            self.staged_for = Some(slot);
        }
        self.staged.push(compact);
        self.staged_keys.push((seq, plain.sent_at));
        Some(slot)
    }

    /// Gives the staged compact messages to their entry (in any order: `finish` sorts each
    /// entry's messages by turn and row).
    fn give_staged(&mut self) {
        if let Some(slot) = self.staged_for.take() {
            let entry = &mut self.entries[slot];
            entry.compact.reserve_exact(self.staged.len());
            entry.compact.append(&mut self.staged);
            entry.compact_keys.reserve_exact(self.staged_keys.len());
            entry.compact_keys.append(&mut self.staged_keys);
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
                let entry = &mut self.entries[slot];
                if entry.outcome.is_none() {
                    entry.outcome = Some((at, outcome));
                } else {
                    entry.more_outcomes.push((at, outcome));
                }
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
        self.give_staged();
        let mut entries: Vec<Option<Box<Entry>>> =
            std::mem::take(&mut self.entries).into_iter().map(Some).collect();
        dataset.total_conversation_ids = entries.len() as u64;
        // In the order of the accepted conversations, (`started_at`, id), so that they come
        // out sorted and their compact messages aligned with them; ids are distinct, and
        // rejections and counts do not depend on this order. The keys are sorted beside their
        // index, not the entries (large) nor indices compared through them (every comparison
        // would then chase two pointers: most of the time at a million conversations).
        let order: Vec<usize> = {
            let mut keys: Vec<(Option<Micros>, &str, usize)> = entries
                .iter()
                .enumerate()
                .map(|(i, e)| match e {
                    Some(e) => (e.conversation.as_ref().map(|c| c.started_at), e.id.as_str(), i),
                    None => (None, "", i),
                })
                .collect();
            keys.par_sort_unstable();
            keys.into_iter().map(|(_, _, i)| i).collect()
        };
        dataset.conversations.reserve_exact(entries.len());
        if self.compact {
            dataset.compact.reserve_exact(entries.len());
        }
        let mut currencies = BTreeSet::new();
        // The numbering is only needed while messages are added.
        self.participants = HashMap::default();
        // Entries are settled in parallel a batch at a time (each one alone: its checks, its
        // rejections, its conversation), then recorded in order; a batch bounds how many
        // settled conversations wait beside the entries not yet freed.
        for batch in order.chunks(SETTLE_BATCH) {
            let taken: Vec<Box<Entry>> =
                batch.iter().filter_map(|&i| entries.get_mut(i).and_then(Option::take)).collect();
            let settled: Vec<Settled> = {
                let this = &self;
                taken.into_par_iter().map(|entry| this.settle(*entry, extra_columns)).collect()
            };
            for one in settled {
                self.rejections.extend(one.rejections);
                let q = &mut self.quality;
                q.amount_without_opportunity += one.quality.amount_without_opportunity;
                q.rating_without_handoff += one.quality.rating_without_handoff;
                q.handoff_at_without_turn += one.quality.handoff_at_without_turn;
                q.conversations_without_prospect_message +=
                    one.quality.conversations_without_prospect_message;
                let Some((conversation, compact)) = one.accepted else {
                    dataset.rejected_conversations += 1;
                    continue;
                };
                if let Some(o) = &conversation.outcome {
                    if let (Some(_), Some(currency)) = (o.opportunity_amount, &o.currency) {
                        if !currencies.contains(currency) {
                            currencies.insert(currency.clone());
                        }
                    }
                }
                dataset.conversations.push(conversation);
                if self.compact {
                    dataset.compact.push(compact);
                }
            }
        }

        self.quality.currencies = currencies.into_iter().collect();
        self.rejections.par_sort();
        let rows: BTreeSet<(&str, u64)> =
            self.rejections.iter().filter_map(|r| Some((r.file.as_str(), r.row?))).collect();
        dataset.rejected_rows = rows.len() as u64;
        dataset.rejections = self.rejections;
        dataset.quality = self.quality;
    }

    /// One entry's checks and, when it passes them, its conversation: what `finish` records.
    fn settle(&self, mut entry: Entry, extra_columns: usize) -> Settled {
        entry.sort_messages();
        let mut problems = self.message_problems(&entry);
        problems.extend(self.outcome_problems(&entry));
        let rejections: Vec<Rejection> =
            problems.into_iter().map(|(at, p)| self.rejection(at, Some(&entry.id), p)).collect();
        let mut quality = DataQuality::default();
        let accepted = if rejections.is_empty() && !entry.rejected {
            self.accept(entry, extra_columns, &mut quality)
        } else {
            None
        };
        Settled { rejections, accepted, quality }
    }

    /// Duplicate turns and turns sent before the turn preceding them.
    fn message_problems(&self, entry: &Entry) -> Vec<(RowRef, RowProblem)> {
        let mut problems = Vec::new();
        // Where the current turn first appeared, so that every duplicate names the original.
        let mut turn_start = 0;
        for i in 1..entry.message_count() {
            let (_, first_turn, first_sent_at) = entry.message_key(i - 1, &self.rows);
            let (at, turn, sent_at) = entry.message_key(i, &self.rows);
            if turn != first_turn {
                turn_start = i;
            }
            if turn == first_turn {
                let original = entry.message_key(turn_start, &self.rows).0;
                let reason = format!(
                    "duplicate turn {} in conversation {:?} (first at {})",
                    turn,
                    entry.id,
                    self.describe(original)
                );
                problems.push((at, problem("turn", reason)));
            } else if sent_at < first_sent_at {
                let reason = format!(
                    "turn {} was sent at {}, before turn {} at {} (sent_at must not decrease with turn)",
                    turn,
                    crate::time::rfc3339_exact(sent_at),
                    first_turn,
                    crate::time::rfc3339_exact(first_sent_at)
                );
                problems.push((at, problem("sent_at", reason)));
            }
        }
        problems
    }

    /// Duplicate outcome rows and handoff turns the conversation does not have.
    fn outcome_problems(&self, entry: &Entry) -> Vec<(RowRef, RowProblem)> {
        let mut problems = Vec::new();
        if let Some((first_at, _)) = &entry.outcome {
            for (at, _) in &entry.more_outcomes {
                let reason = format!(
                    "duplicate outcome for conversation {:?} (first at {})",
                    entry.id,
                    self.describe(*first_at)
                );
                problems.push((*at, problem("conversation_id", reason)));
            }
        }
        let outcomes = entry.outcomes().filter(|_| !entry.messages_incomplete);
        for (at, outcome) in outcomes {
            let Some(turn) = outcome.handoff_turn else { continue };
            if !entry.has_turn(turn) {
                let reason =
                    format!("handoff turn {turn} is not a turn of conversation {:?}", entry.id);
                problems.push((*at, problem("handoff_turn", reason)));
            }
        }
        problems
    }

    /// The accepted conversation (with its compact messages when the builder keeps them
    /// compact), with inconsistent optional fields ignored and counted.
    fn accept(
        &self,
        entry: Entry,
        extra_columns: usize,
        quality: &mut DataQuality,
    ) -> Option<(Conversation, CompactMessages)> {
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
        // The messages' vector as it is when it has no room to spare (a batch's are made at
        // their size), else copied into an exact one: growth slack kept for the whole run
        // would be a third of the messages' memory at scale.
        let mut messages = entry.compact;
        messages.shrink_to_fit();
        if self.compact {
            conversation.released = Some(ReleasedMessages {
                count: messages.len(),
                last_sent_at: entry.compact_keys.last().map(|(_, sent_at)| *sent_at),
            });
        }
        let has_prospect = conversation.prospect_messages().next().is_some()
            || messages.iter().any(|m| m.sender == crate::model::Sender::Prospect);
        let compact = CompactMessages { messages, unknown_tags: entry.unknown_tags };
        conversation.outcome = entry.outcome.map(|(_, o)| tidy(o, quality));
        if !has_prospect {
            quality.conversations_without_prospect_message += 1;
        }
        Some((conversation, compact))
    }
}

/// `message` as a `CompactMessage` without its participant (numbered by the builder, in row
/// order); its unknown tag labels go to `unknown`.
fn unnumbered_compact(
    message: &validate::MessageRow<'_>,
    unknown: &mut Vec<String>,
) -> CompactMessage {
    let mut tags = SignalSet::EMPTY;
    let mut tagged = false;
    for label in message.signals.as_deref().map(validate::list_items).into_iter().flatten() {
        tagged = true;
        match Signal::parse(&label) {
            Some(signal) => tags.insert(signal),
            None => unknown.push(label.into_owned()),
        }
    }
    let mut compact = CompactMessage::new(message.turn, message.sender)
        .with_handoff_probability(message.handoff_probability);
    compact.tags = tags;
    compact.qualified = message.qualified;
    compact.tagged = tagged;
    compact
}

/// Runs `check` on the blocks of `BATCH_BLOCK` rows of a batch of `rows` rows and `add` on
/// each block's result in block order, adding block k on one core while block k + 1 is
/// checked on the other: checking alone used both cores and adding alone one, so taking
/// turns left a core idle about half the time (at a million conversations the messages
/// table's reading ran at 1.2 cores out of 2). The rows are added in the same order as
/// before, so the data set is the same.
fn pipelined<T: Send>(
    rows: usize,
    check: impl Fn(std::ops::Range<usize>) -> T + Sync,
    mut add: impl FnMut(std::ops::Range<usize>, T) + Send,
) {
    let mut blocks =
        (0..rows).step_by(BATCH_BLOCK).map(|start| start..(start + BATCH_BLOCK).min(rows));
    let Some(first) = blocks.next() else { return };
    let mut pending = (first.clone(), check(first));
    for block in blocks {
        let (checked, ()) = rayon::join(
            || check(block.clone()),
            || {
                let (range, done) = pending;
                add(range, done);
            },
        );
        pending = (block, checked);
    }
    let (range, done) = pending;
    add(range, done);
}

/// Rows of a batch checked together, on every core, before they are added in order: large
/// enough to keep both cores busy, small enough that their results stay in cache.
const BATCH_BLOCK: usize = 1 << 14;
/// Rows one task checks.
const BATCH_CHUNK: usize = 1 << 11;

/// A messages row the plain path read (`validate::plain_message`), with what adding it needs;
/// made on any thread, added by `Builder::add_plain_message` in row order.
struct PlainMessage<'a> {
    row: u64,
    /// The conversation id, as `validate::row_conversation_id` gives it.
    id: &'a str,
    /// Whether the row before it (checked by the same task) has the same id.
    same_as_previous: bool,
    /// Trimmed and case-folded.
    participant: Option<Cow<'a, str>>,
    sent_at: Micros,
    message: CompactMessage,
    /// Labels outside the vocabulary: of `signals`, of `qualified` (rare, so boxed).
    unknown: Option<Box<(Vec<String>, Vec<String>)>>,
}

impl<'a> PlainMessage<'a> {
    /// Row `i` of `batch` when the plain path reads it and its strings are the batch's own;
    /// `None` sends the row down the full path (`Builder::add_message`), which says what
    /// is wrong with it, if anything.
    fn of(batch: &'a dyn RowBatch, i: usize) -> Option<PlainMessage<'a>> {
        let mut raw = batch.row(i);
        if !raw.problems.is_empty() {
            return None;
        }
        let (message, unknown_qualified) = validate::plain_message(&raw)?;
        let mut unknown_tags = Vec::new();
        let compact = unnumbered_compact(&message, &mut unknown_tags);
        let (sent_at, has_participant) = (message.sent_at, message.participant.is_some());
        drop(message);
        // The same strings, borrowed from the batch rather than from the row.
        let id = match raw.cells[msg::CONVERSATION_ID].take() {
            Cell::Str(Cow::Borrowed(id)) => id,
            _ => return None,
        };
        let participant = match raw.cells[msg::PARTICIPANT].take() {
            _ if !has_participant => None,
            Cell::Str(Cow::Borrowed(name)) => validate::folded_ref(name),
            _ => return None,
        };
        let unknown = (!unknown_tags.is_empty() || !unknown_qualified.is_empty())
            .then(|| Box::new((unknown_tags, unknown_qualified)));
        Some(PlainMessage {
            row: raw.row,
            id,
            same_as_previous: false,
            participant,
            sent_at,
            message: compact,
            unknown,
        })
    }
}

/// A conversations row checked on its own (on any thread): what `Builder` then adds.
struct CheckedConversation {
    row: u64,
    id: Option<String>,
    /// Its problems; a row without an id has at least one.
    problems: Vec<RowProblem>,
    parsed: Option<Conversation>,
    /// The kept extra columns' values.
    extras: Vec<(usize, String)>,
}

impl CheckedConversation {
    fn of(mut raw: RawRow) -> CheckedConversation {
        let id = validate::row_conversation_id(&raw).map(|id| id.into_owned());
        let mut check = RowCheck { problems: std::mem::take(&mut raw.problems) };
        let parsed = if check.problems.is_empty() {
            validate::conversation(&mut raw, &mut check)
        } else {
            None
        };
        if id.is_none() && check.problems.is_empty() {
            check.problems.push(missing("conversation_id"));
        }
        let extras = std::mem::take(&mut raw.extras);
        let extras = extras.into_iter().filter_map(|(i, c)| Some((i, c.into_text()?))).collect();
        CheckedConversation { row: raw.row, id, problems: check.problems, parsed, extras }
    }
}

/// Drops optional fields that contradict the rest of the outcome, counting each in `quality`.
fn tidy(mut outcome: Outcome, quality: &mut DataQuality) -> Outcome {
    if outcome.opportunity_amount.is_some() && outcome.opportunity_at.is_none() {
        quality.amount_without_opportunity += 1;
        outcome.opportunity_amount = None;
    }
    if outcome.rep_rating.is_some() && outcome.handoff_turn.is_none() {
        quality.rating_without_handoff += 1;
        outcome.rep_rating = None;
    }
    if outcome.handoff_at.is_some() && outcome.handoff_turn.is_none() {
        quality.handoff_at_without_turn += 1;
        outcome.handoff_at = None;
    }
    outcome
}

/// Entries settled at once by `Builder::finish`.
const SETTLE_BATCH: usize = 1 << 14;

/// One entry settled: its rejections, the quality counts of its accepted conversation, and
/// the conversation (with its compact messages) unless it was rejected.
struct Settled {
    rejections: Vec<Rejection>,
    accepted: Option<(Conversation, CompactMessages)>,
    quality: DataQuality,
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

    fn conversation_row(row: u64, id: &str) -> RawRow<'static> {
        let mut raw = RawRow::new(row, CONVERSATIONS.columns.len());
        raw.cells[0] = Cell::owned(id.to_string());
        raw.cells[1] = Cell::owned("2026-01-01T00:00:00Z".to_string());
        raw
    }

    fn message_row(row: u64, id: &str, turn: &str, sent_at: &str) -> RawRow<'static> {
        let mut raw = RawRow::new(row, MESSAGES.columns.len());
        raw.cells[msg::CONVERSATION_ID] = Cell::owned(id.to_string());
        raw.cells[msg::TURN] = Cell::owned(turn.to_string());
        raw.cells[msg::SENT_AT] = Cell::owned(sent_at.to_string());
        raw.cells[msg::SENDER] = Cell::owned("prospect".to_string());
        raw
    }

    #[test]
    fn row_numbers_give_back_their_rows() {
        let mut rows = RowIndex::default();
        let at = |file, row| RowRef { file, row };
        // Consecutive rows, a skipped row (a blank JSON line), then a second file.
        let read = [at(1, 1), at(1, 2), at(1, 3), at(1, 5), at(1, 6), at(2, 1), at(2, 2)];
        let numbers: Vec<u64> = read.iter().map(|&r| rows.number(r)).collect();
        assert_eq!(numbers, (0..7).collect::<Vec<u64>>());
        assert_eq!(rows.breaks.len(), 3);
        for (&n, r) in numbers.iter().zip(read) {
            let back = rows.at(n);
            assert_eq!((back.file, back.row), (r.file, r.row));
        }
    }

    #[test]
    fn compact_and_whole_messages_are_rejected_alike() {
        let run = |compact: bool| {
            let mut b = Builder::new(compact);
            let conversations = b.file("conversations.csv");
            let messages = b.file("messages.csv");
            b.add_conversation(conversations, conversation_row(1, "a"));
            b.add_conversation(conversations, conversation_row(2, "b"));
            b.add_message(messages, message_row(1, "a", "2", "2026-01-01T00:00:00Z"));
            b.add_message(messages, message_row(2, "a", "3", "2025-12-31T00:00:00Z"));
            b.add_message(messages, message_row(3, "b", "1", "2026-01-01T00:00:00Z"));
            b.add_message(messages, message_row(4, "b", "1", "2026-01-01T00:00:00Z"));
            b.add_message(messages, message_row(5, "b", "1", "2026-01-01T00:00:00Z"));
            let mut data = Dataset::default();
            b.finish(0, &mut data);
            data.rejections
        };
        assert_eq!(run(true), run(false));
        assert_eq!(run(true).len(), 3);
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

    /// Messages rows as a reader's batch, their strings borrowed from it as a Parquet slice's
    /// are (so the plain path can take them).
    struct TextBatch {
        first_row: u64,
        rows: Vec<Vec<Option<String>>>,
    }

    impl RowBatch for TextBatch {
        fn len(&self) -> usize {
            self.rows.len()
        }

        fn row(&self, i: usize) -> RawRow<'_> {
            let mut raw = RawRow::new(self.first_row + i as u64, MESSAGES.columns.len());
            for (cell, value) in raw.cells.iter_mut().zip(&self.rows[i]) {
                *cell = value.as_deref().map_or(Cell::Null, Cell::text);
            }
            raw
        }
    }

    /// Messages of every kind the full path handles, in a fixed pseudo-random mix: plain
    /// rows, orphans, blank ids, duplicate and backward turns, unusual senders, participants
    /// to fold, unknown labels and out-of-range probabilities, over more rows than a block.
    fn mixed_messages(n: usize) -> Vec<Vec<Option<String>>> {
        let mut state = 7u64;
        let mut next = move |m: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        let mut turn = 0;
        let mut conversation = 0;
        (0..n)
            .map(|_| {
                if next(5) == 0 {
                    conversation += 1;
                    turn = 0;
                }
                turn += 1;
                let mut row = vec![None; MESSAGES.columns.len()];
                let id = match next(200) {
                    0 => "zz-orphan".to_string(),
                    1 => "  ".to_string(),
                    _ => format!("c{}", conversation % 300),
                };
                let turn_value = match next(300) {
                    0 => (turn - 1).max(1),
                    1 => -3,
                    _ => turn,
                };
                let day = if next(400) == 0 { 1 } else { 2 + turn_value.clamp(0, 20) };
                row[msg::CONVERSATION_ID] = Some(id);
                row[msg::TURN] = Some(turn_value.to_string());
                row[msg::SENT_AT] = Some(format!("2026-01-{day:02}T00:00:00Z"));
                row[msg::SENDER] = Some(
                    ["prospect", "ai", "human", "Prospect", " ai", "robot"][next(6) as usize]
                        .to_string(),
                );
                row[msg::PARTICIPANT] = [None, Some("rep-a"), Some(" Rep-B "), Some("")]
                    [next(4) as usize]
                    .map(str::to_string);
                row[msg::SIGNALS] =
                    [None, Some("pricing"), Some("pricing;demo_request"), Some("made_up")]
                        [next(4) as usize]
                        .map(str::to_string);
                row[msg::QUALIFIED] = [None, Some("budget"), Some("budget;vibes")]
                    [next(3) as usize]
                    .map(str::to_string);
                row[msg::HANDOFF_PROBABILITY] =
                    [None, Some("0.25"), Some("1.5")][next(3) as usize].map(str::to_string);
                row
            })
            .collect()
    }

    #[test]
    fn messages_added_in_batches_give_what_rows_one_by_one_give() {
        let rows = mixed_messages(3 * BATCH_BLOCK + 77);
        let run = |batches: &[usize]| {
            let mut b = Builder::new(true);
            let conversations = b.file("conversations.csv");
            let messages = b.file("messages.parquet");
            for c in 0..300 {
                b.add_conversation(conversations, conversation_row(c + 1, &format!("c{c}")));
            }
            if batches.is_empty() {
                let batch = TextBatch { first_row: 1, rows: rows.clone() };
                (0..batch.len()).for_each(|i| b.add_message(messages, batch.row(i)));
            } else {
                let mut start = 0;
                for &len in batches {
                    let end = (start + len).min(rows.len());
                    let part =
                        TextBatch { first_row: start as u64 + 1, rows: rows[start..end].to_vec() };
                    b.add_message_batch(messages, &part);
                    start = end;
                }
            }
            let mut data = Dataset::default();
            b.finish(0, &mut data);
            format!(
                "{:?}\n{:?}\n{:?}\n{:?}",
                data.rejections, data.compact, data.quality, data.rejected_conversations
            )
        };
        let one_by_one = run(&[]);
        assert!(one_by_one.contains("no conversation \\\"zz-orphan\\\""), "{}", &one_by_one[..500]);
        assert_eq!(run(&[rows.len()]), one_by_one);
        assert_eq!(run(&[1, BATCH_CHUNK + 3, 5000, BATCH_BLOCK * 2, rows.len()]), one_by_one);
    }

    #[test]
    fn compact_messages_come_out_in_turn_order_whatever_the_row_order() {
        let mut b = Builder::new(true);
        let conversations = b.file("conversations.csv");
        let messages = b.file("messages.csv");
        b.add_conversation(conversations, conversation_row(1, "a"));
        for (row, turn) in [(1, "3"), (2, "1"), (3, "2")] {
            let sent_at = format!("2026-01-01T00:00:0{turn}Z");
            b.add_message(messages, message_row(row, "a", turn, &sent_at));
        }
        let mut data = Dataset::default();
        b.finish(0, &mut data);
        assert!(data.rejections.is_empty(), "{:?}", data.rejections);
        let turns: Vec<i64> = data.compact[0].messages.iter().map(|m| m.turn).collect();
        assert_eq!(turns, [1, 2, 3]);
        let released = data.conversations[0].released.unwrap();
        assert_eq!(released.count, 3);
        assert_eq!(released.last_sent_at, crate::time::parse_timestamp("2026-01-01T00:00:03Z"));
    }
}
