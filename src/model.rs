//! The in-memory data set after ingest: compact, validated, policy-independent.
//!
//! Everything downstream (signals, replay, estimation, report) reads these types and nothing
//! else; ingest is the only code that knows about files and formats.

use std::collections::BTreeMap;

use crate::signals::vocabulary::SignalSet;

/// A UTC instant as microseconds since the Unix epoch.
pub type Micros = i64;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Prospect,
    Ai,
    Human,
}

impl Sender {
    /// ASCII case-insensitive, surrounding whitespace ignored.
    pub fn parse(s: &str) -> Option<Sender> {
        let s = s.trim();
        [Sender::Prospect, Sender::Ai, Sender::Human]
            .into_iter()
            .find(|sender| sender.as_str().eq_ignore_ascii_case(s))
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Prospect => "prospect",
            Sender::Ai => "ai",
            Sender::Human => "human",
        }
    }
}

/// The four qualification fields as a bit mask (`budget`=1, `authority`=2, `need`=4, `timeline`=8).
pub type QualMask = u8;
pub const QUAL_FIELDS: [&str; 4] = ["budget", "authority", "need", "timeline"];

/// Parses one qualification label; `None` for a label outside the four.
pub fn qual_bit(label: &str) -> Option<QualMask> {
    QUAL_FIELDS.iter().position(|f| *f == label).map(|i| 1u8 << i)
}

/// The four context items a rep can receive, as a bit mask (`history`=1, `qualification`=2,
/// `signals`=4, `objections`=8).
pub type ContextMask = u8;
pub const CONTEXT_ITEMS: [&str; 4] = ["history", "qualification", "signals", "objections"];

pub fn context_bit(label: &str) -> Option<ContextMask> {
    CONTEXT_ITEMS.iter().position(|f| *f == label).map(|i| 1u8 << i)
}

/// Splits a `;`-separated list: items trimmed and lower-cased, empty items ignored.
pub fn split_list(cell: &str) -> impl Iterator<Item = String> + '_ {
    cell.split(';').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty())
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub turn: i64,
    pub sent_at: Micros,
    pub sender: Sender,
    /// Trimmed and case-folded; `None` when empty or null.
    pub participant: Option<String>,
    pub text: String,
    /// The raw labels of the `signals` column (trimmed, lower-cased); empty when null.
    /// Mapped onto the vocabulary by `signals`.
    pub tags: Vec<String>,
    /// Qualification fields captured in this turn (unknown labels dropped at ingest, counted).
    pub qualified: QualMask,
    pub handoff_probability: Option<f64>,
}

/// A message reduced to what signal detection from tags and replay read, for runs that never
/// show a message (`report`, `replay`, `validate`): no text, no strings, 32 bytes, so that
/// millions of them fit where `Message`s would not.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompactMessage {
    pub turn: i64,
    /// NaN when not logged (a logged probability is validated finite).
    handoff_probability: f64,
    /// `NO_PARTICIPANT` when empty or null.
    participant: u32,
    /// The labels of the `signals` column that are in the vocabulary.
    pub tags: SignalSet,
    pub sender: Sender,
    pub qualified: QualMask,
    /// Whether the `signals` column had any label at all (known or not).
    pub tagged: bool,
}

impl CompactMessage {
    /// The largest participant number; larger ones are taken as this one.
    pub const MAX_PARTICIPANT: u32 = u32::MAX - 1;
    const NO_PARTICIPANT: u32 = u32::MAX;

    /// A message without a participant, a logged probability, tags or qualification.
    pub fn new(turn: i64, sender: Sender) -> CompactMessage {
        CompactMessage {
            turn,
            handoff_probability: f64::NAN,
            participant: Self::NO_PARTICIPANT,
            tags: SignalSet::EMPTY,
            sender,
            qualified: 0,
            tagged: false,
        }
    }

    /// The logged probability that history hands off right after this message. A non-finite
    /// value (never accepted by ingest) is taken as not logged.
    pub fn handoff_probability(&self) -> Option<f64> {
        self.handoff_probability.is_finite().then_some(self.handoff_probability)
    }

    pub fn with_handoff_probability(mut self, p: Option<f64>) -> CompactMessage {
        self.handoff_probability = p.unwrap_or(f64::NAN);
        self
    }

    /// The participant (trimmed, case-folded) as a number: equal numbers for equal names
    /// within one data set; `None` when empty or null.
    pub fn participant(&self) -> Option<u32> {
        (self.participant != Self::NO_PARTICIPANT).then_some(self.participant)
    }

    pub fn with_participant(mut self, number: Option<u32>) -> CompactMessage {
        self.participant = number.map_or(Self::NO_PARTICIPANT, |n| n.min(Self::MAX_PARTICIPANT));
        self
    }
}

/// One conversation's messages as `CompactMessage`s, sorted by turn, with what detection
/// needs besides them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompactMessages {
    pub messages: Vec<CompactMessage>,
    /// Labels of the `signals` column outside the vocabulary, once per occurrence (any sender).
    pub unknown_tags: Vec<String>,
}

/// What is kept of a conversation's messages once they have been released.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReleasedMessages {
    pub count: usize,
    /// `sent_at` of the last message in turn order.
    pub last_sent_at: Option<Micros>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub handoff_turn: Option<i64>,
    pub handoff_at: Option<Micros>,
    pub context: ContextMask,
    pub meeting_at: Option<Micros>,
    pub opportunity_at: Option<Micros>,
    pub opportunity_amount: Option<f64>,
    pub currency: Option<String>,
    pub rep_rating: Option<u8>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    pub id: String,
    pub started_at: Micros,
    pub account_id: Option<String>,
    /// Trimmed and lower-cased.
    pub segment: Option<String>,
    pub employee_count: Option<i64>,
    pub channel: Option<String>,
    pub ai_agent: Option<String>,
    /// Values of the unknown extra columns, aligned with `Dataset::extra_columns`.
    pub extra: Vec<Option<String>>,
    /// Sorted by turn. Empty once released (see `released`): runs that never show a message
    /// keep only their timelines.
    pub messages: Vec<Message>,
    /// `None` when the outcomes table has no row for it (no handoff, no meeting, no opportunity).
    pub outcome: Option<Outcome>,
    /// Set when the messages were released or never materialised (`messages` is then empty).
    pub released: Option<ReleasedMessages>,
}

impl Conversation {
    pub fn is_enterprise_segment(&self) -> bool {
        self.segment.as_deref() == Some("enterprise")
    }
    pub fn prospect_messages(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(|m| m.sender == Sender::Prospect)
    }

    /// How many messages the conversation has, whether or not they are still held.
    pub fn message_count(&self) -> usize {
        self.released.map_or(self.messages.len(), |r| r.count)
    }

    /// `sent_at` of its last message (in turn order), whether or not they are still held.
    pub fn last_sent_at(&self) -> Option<Micros> {
        match self.released {
            Some(r) => r.last_sent_at,
            None => self.messages.last().map(|m| m.sent_at),
        }
    }

    /// Drops the messages, keeping their count and last `sent_at`.
    pub fn release_messages(&mut self) {
        if self.released.is_none() {
            self.released = Some(ReleasedMessages {
                count: self.messages.len(),
                last_sent_at: self.messages.last().map(|m| m.sent_at),
            });
        }
        self.messages = Vec::new();
    }
}

/// One rejected row or conversation, as written to `rejected.csv`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Rejection {
    pub file: String,
    /// 1-based data row (or JSON line) in `file`; `None` for a problem of the whole conversation.
    pub row: Option<u64>,
    pub column: Option<String>,
    pub conversation_id: Option<String>,
    pub reason: String,
}

/// Which optional columns the input had (a policy may depend on them).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ColumnPresence {
    pub signals: bool,
    pub qualified: bool,
    pub participant: bool,
    pub handoff_probability: bool,
    pub handoff_turn: bool,
    pub segment: bool,
    pub employee_count: bool,
    pub ai_agent: bool,
    pub channel: bool,
}

/// Inconsistent optional fields: not rejections, counted as data-quality warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DataQuality {
    pub unknown_qualified_labels: BTreeMap<String, u64>,
    pub unknown_context_labels: BTreeMap<String, u64>,
    pub amount_without_opportunity: u64,
    pub rating_without_handoff: u64,
    pub handoff_at_without_turn: u64,
    pub conversations_without_prospect_message: u64,
    /// Distinct currencies among counted opportunity amounts.
    pub currencies: Vec<String>,
}

/// A validated data set: the accepted conversations and everything that was rejected.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Accepted conversations, sorted by (`started_at`, `id`) so every run sees one order.
    pub conversations: Vec<Conversation>,
    pub columns: ColumnPresence,
    pub extra_columns: Vec<String>,
    pub rejections: Vec<Rejection>,
    /// Distinct conversation ids seen in the conversations table (accepted and rejected).
    pub total_conversation_ids: u64,
    pub rejected_conversations: u64,
    pub rejected_rows: u64,
    /// Rows read per table (`conversations`, `messages`, `outcomes`).
    pub rows_read: BTreeMap<String, u64>,
    pub quality: DataQuality,
    /// The files read, for `run.json` hashes.
    pub files: Vec<std::path::PathBuf>,
    /// When the data was exported, where the source records it (the default `--as-of`).
    pub export: Option<crate::ingest::source::Export>,
    /// Aligned with `conversations` when ingest was asked for compact messages
    /// (`ingest::MessageText::Compact`; the conversations' `messages` are then empty), else
    /// empty. Taken out by whoever turns them into signals and timelines.
    pub compact: Vec<CompactMessages>,
}

impl Dataset {
    pub fn message_count(&self) -> usize {
        self.conversations.iter().map(Conversation::message_count).sum()
    }
}
