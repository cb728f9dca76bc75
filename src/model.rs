//! The in-memory data set after ingest: compact, validated, policy-independent.
//!
//! Everything downstream (signals, replay, estimation, report) reads these types and nothing
//! else; ingest is the only code that knows about files and formats.

use std::collections::BTreeMap;

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
    pub fn parse(s: &str) -> Option<Sender> {
        match s.trim().to_ascii_lowercase().as_str() {
            "prospect" => Some(Sender::Prospect),
            "ai" => Some(Sender::Ai),
            "human" => Some(Sender::Human),
            _ => None,
        }
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
    /// Sorted by turn.
    pub messages: Vec<Message>,
    /// `None` when the outcomes table has no row for it (no handoff, no meeting, no opportunity).
    pub outcome: Option<Outcome>,
}

impl Conversation {
    pub fn is_enterprise_segment(&self) -> bool {
        self.segment.as_deref() == Some("enterprise")
    }
    pub fn prospect_messages(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(|m| m.sender == Sender::Prospect)
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
}

impl Dataset {
    pub fn message_count(&self) -> usize {
        self.conversations.iter().map(|c| c.messages.len()).sum()
    }
}
