//! The context packet a rep receives at handoff (`handoff brief`): the conversation up to the
//! handoff, the account, what qualification was captured, the intent signals and the
//! objections. Pure: `build_packet` reads a conversation and its signals, `render_markdown`
//! writes text; JSON is the packet serialized with serde.

use serde::Serialize;

use crate::model::{Conversation, Micros, QUAL_FIELDS};
use crate::report::page::md_text;
use crate::signals::vocabulary::{Signal, SignalSet};

/// The note for a policy that never hands off in the conversation.
pub const NOTE_POLICY_NEVER_HANDS_OFF: &str =
    "this policy never hands off in this conversation: the whole conversation is shown";
/// The note for a conversation history never handed off (no `--policy` given).
pub const NOTE_HISTORY_NEVER_HANDED_OFF: &str =
    "history never handed off in this conversation: the whole conversation is shown";

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BriefPacket {
    pub conversation_id: String,
    pub account: BriefAccount,
    pub policy: String,
    /// The turn after which the rep takes over; `None` = no handoff (whole conversation).
    pub handoff_turn: Option<i64>,
    /// Says why the packet looks as it does (e.g. the policy never hands off here).
    pub note: Option<String>,
    pub transcript: Vec<TranscriptLine>,
    /// Fields captured up to the handoff, in the order they were captured.
    pub qualification: Vec<QualificationItem>,
    /// Fields not captured by the handoff.
    pub qualification_missing: Vec<String>,
    pub intent_signals: Vec<IntentSignal>,
    pub objections: Vec<ObjectionSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BriefAccount {
    pub id: Option<String>,
    pub segment: Option<String>,
    pub employee_count: Option<i64>,
    pub channel: Option<String>,
    pub ai_agent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TranscriptLine {
    pub turn: i64,
    /// RFC 3339, UTC.
    pub sent_at: String,
    pub sender: String,
    pub participant: Option<String>,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualificationItem {
    pub field: String,
    /// The first turn that captured it.
    pub turn: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntentSignal {
    pub signal: String,
    pub turn: i64,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectionSummary {
    /// `price`, `timing`, `authority`, `need` or `other`.
    pub category: String,
    pub count: u32,
    pub turns: Vec<i64>,
}

/// Builds the packet for `conv` handed off after `handoff_turn` (`None`: the whole
/// conversation). `prospect_signals` holds one set per prospect message, in turn order; a
/// shorter slice leaves the remaining messages without signals rather than failing.
pub fn build_packet(
    conv: &Conversation,
    prospect_signals: &[SignalSet],
    handoff_turn: Option<i64>,
    policy_name: &str,
    note: Option<String>,
) -> BriefPacket {
    let shown: Vec<_> =
        conv.messages.iter().filter(|m| handoff_turn.is_none_or(|h| m.turn <= h)).collect();
    let transcript = shown
        .iter()
        .map(|m| TranscriptLine {
            turn: m.turn,
            sent_at: rfc3339(m.sent_at),
            sender: m.sender.as_str().to_string(),
            participant: m.participant.clone(),
            text: m.text.clone(),
        })
        .collect();

    let mut qualification: Vec<QualificationItem> = Vec::new();
    for m in &shown {
        for (bit, field) in QUAL_FIELDS.iter().enumerate() {
            let captured = m.qualified & (1u8 << bit) != 0;
            if captured && !qualification.iter().any(|q| q.field == *field) {
                qualification.push(QualificationItem { field: field.to_string(), turn: m.turn });
            }
        }
    }
    let qualification_missing = QUAL_FIELDS
        .iter()
        .filter(|f| !qualification.iter().any(|q| q.field == **f))
        .map(|f| f.to_string())
        .collect();

    let mut intent_signals = Vec::new();
    let mut objections: Vec<ObjectionSummary> = Vec::new();
    let signalled = conv.prospect_messages().zip(prospect_signals.iter().copied());
    for (m, set) in signalled.filter(|(m, _)| handoff_turn.is_none_or(|h| m.turn <= h)) {
        for signal in set.iter() {
            if Signal::OBJECTIONS.contains(&signal) {
                record_objection(&mut objections, signal, m.turn);
            } else {
                let text = m.text.clone();
                intent_signals.push(IntentSignal {
                    signal: signal.name().into(),
                    turn: m.turn,
                    text,
                });
            }
        }
    }

    BriefPacket {
        conversation_id: conv.id.clone(),
        account: BriefAccount {
            id: conv.account_id.clone(),
            segment: conv.segment.clone(),
            employee_count: conv.employee_count,
            channel: conv.channel.clone(),
            ai_agent: conv.ai_agent.clone(),
        },
        policy: policy_name.to_string(),
        handoff_turn,
        note,
        transcript,
        qualification,
        qualification_missing,
        intent_signals,
        objections,
    }
}

fn record_objection(objections: &mut Vec<ObjectionSummary>, signal: Signal, turn: i64) {
    let category = signal.name().trim_start_matches("objection:").to_string();
    match objections.iter_mut().find(|o| o.category == category) {
        Some(o) => {
            o.count += 1;
            o.turns.push(turn);
        }
        None => objections.push(ObjectionSummary { category, count: 1, turns: vec![turn] }),
    }
}

/// The packet as Markdown. All data text is HTML-escaped, so a message holding markup shows
/// as text wherever the Markdown is rendered.
pub fn render_markdown(p: &BriefPacket) -> String {
    let mut md = format!("# Handoff brief: conversation {}\n\n", md_text(&p.conversation_id));
    let when = match p.handoff_turn {
        Some(t) => format!("hands off after turn {t}"),
        None => "no handoff".to_string(),
    };
    md.push_str(&format!("Policy **{}**: {when}.\n\n", md_text(&p.policy)));
    if let Some(note) = &p.note {
        md.push_str(&format!("> Note: {}\n\n", md_text(note)));
    }

    md.push_str("## Account\n\n");
    let a = &p.account;
    let or_unknown = |v: &Option<String>| v.as_deref().map_or("unknown".to_string(), md_text);
    md.push_str(&format!("- Account: {}\n", or_unknown(&a.id)));
    md.push_str(&format!("- Segment: {}\n", or_unknown(&a.segment)));
    let employees = a.employee_count.map_or("unknown".to_string(), |n| n.to_string());
    md.push_str(&format!("- Employees: {employees}\n"));
    md.push_str(&format!("- Channel: {}\n", or_unknown(&a.channel)));
    md.push_str(&format!("- AI agent: {}\n\n", or_unknown(&a.ai_agent)));

    md.push_str("## Qualification\n\n");
    for q in &p.qualification {
        md.push_str(&format!("- {}: captured at turn {}\n", q.field, q.turn));
    }
    if !p.qualification_missing.is_empty() {
        md.push_str(&format!("- Not captured yet: {}\n", p.qualification_missing.join(", ")));
    }

    md.push_str("\n## Intent signals\n\n");
    if p.intent_signals.is_empty() {
        md.push_str("- none\n");
    }
    for s in &p.intent_signals {
        md.push_str(&format!("- {} (turn {}): \"{}\"\n", s.signal, s.turn, one_line(&s.text)));
    }

    md.push_str("\n## Objections\n\n");
    if p.objections.is_empty() {
        md.push_str("- none\n");
    }
    for o in &p.objections {
        let turns: Vec<String> = o.turns.iter().map(i64::to_string).collect();
        let times = if o.count == 1 { "once" } else { "times" };
        let count = if o.count == 1 { String::new() } else { format!("{} ", o.count) };
        md.push_str(&format!("- {}: {count}{times} (turns {})\n", o.category, turns.join(", ")));
    }

    md.push_str("\n## Transcript\n");
    for line in &p.transcript {
        let who = match &line.participant {
            Some(name) => format!("{} ({})", line.sender, md_text(name)),
            None => line.sender.clone(),
        };
        md.push_str(&format!("\n**Turn {}** · {} · {who}\n\n", line.turn, line.sent_at));
        for text_line in md_text(&line.text).lines() {
            md.push_str(&format!("> {text_line}\n"));
        }
    }
    md
}

fn one_line(text: &str) -> String {
    md_text(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Always a full timestamp, midnights included; an instant beyond chrono's range clamps.
fn rfc3339(m: Micros) -> String {
    crate::time::rfc3339_seconds(m).unwrap_or_else(|| crate::time::date_or_rfc3339_seconds(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Sender};

    fn message(turn: i64, sender: Sender, text: &str, qualified: u8) -> Message {
        Message {
            turn,
            sent_at: 1_795_338_000_000_000 + turn * 60_000_000,
            sender,
            participant: (sender == Sender::Prospect).then(|| "dana".to_string()),
            text: text.to_string(),
            tags: Vec::new(),
            qualified,
            handoff_probability: None,
        }
    }

    fn conversation() -> Conversation {
        Conversation {
            id: "c-42".into(),
            started_at: 1_795_338_000_000_000,
            account_id: Some("acme".into()),
            segment: Some("enterprise".into()),
            employee_count: Some(1200),
            channel: Some("chat".into()),
            ai_agent: Some("sdr-v2".into()),
            extra: Vec::new(),
            messages: vec![
                message(1, Sender::Ai, "Hi! What brings you here?", 0),
                message(2, Sender::Prospect, "We need <b>SSO</b> & pricing for 300 seats.", 4),
                message(3, Sender::Ai, "Happy to help. What's your budget?", 0),
                message(4, Sender::Prospect, "Too expensive. <script>alert(1)</script>", 1),
                message(5, Sender::Prospect, "Still too pricey; can I talk to a person?", 0),
                message(6, Sender::Human, "Hi Dana, I'm Sam.", 0),
            ],
            outcome: None,
            released: None,
        }
    }

    fn signals() -> Vec<SignalSet> {
        vec![
            SignalSet::of(&[Signal::Pricing, Signal::Integration]),
            SignalSet::of(&[Signal::ObjectionPrice]),
            SignalSet::of(&[Signal::ObjectionPrice, Signal::HumanRequest]),
        ]
    }

    #[test]
    fn packet_stops_at_the_handoff_turn() {
        let p = build_packet(&conversation(), &signals(), Some(4), "intent", None);
        assert_eq!(p.transcript.last().map(|l| l.turn), Some(4));
        assert_eq!(p.objections.len(), 1);
        assert_eq!(p.objections[0].turns, vec![4]);
        assert_eq!(
            p.qualification.iter().map(|q| (q.field.as_str(), q.turn)).collect::<Vec<_>>(),
            [("need", 2), ("budget", 4)]
        );
        assert_eq!(p.qualification_missing, ["authority", "timeline"]);
    }

    #[test]
    fn no_handoff_shows_the_whole_conversation_and_short_signals_do_not_panic() {
        let note =
            "this policy never hands off in this conversation: the whole conversation is shown";
        let p = build_packet(&conversation(), &signals()[..1], None, "never", Some(note.into()));
        assert_eq!(p.transcript.len(), 6);
        assert!(p.objections.is_empty());
        assert!(render_markdown(&p).contains(note));
    }

    #[test]
    fn markdown_escapes_message_markup() {
        let md = render_markdown(&build_packet(&conversation(), &signals(), None, "p", None));
        assert!(!md.contains("<script>"), "{md}");
        assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn json_has_the_packet_fields() {
        let p = build_packet(&conversation(), &signals(), Some(5), "intent", None);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["account"]["employee_count"], 1200);
        assert_eq!(json["objections"][0]["count"], 2);
        assert_eq!(json["intent_signals"][0]["signal"], "pricing");
    }

    #[test]
    fn markdown_snapshot() {
        let p = build_packet(&conversation(), &signals(), Some(5), "intent-score", None);
        insta::assert_snapshot!(render_markdown(&p));
    }
}
