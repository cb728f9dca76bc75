//! Typed conversion of one raw row into a conversation, message or outcome, collecting every
//! problem in the spec's words (`column turn: expected an integer, found "3a"`).

use std::borrow::Cow;

use super::rows::{conv, msg, out, Cell, RawRow, RowProblem};
use crate::model::{
    context_bit, qual_bit, ContextMask, Conversation, Message, Micros, Outcome, QualMask, Sender,
};
use crate::time::{in_contract_range, parse_timestamp};

/// Collects the problems of one row while its cells are converted.
#[derive(Debug, Default)]
pub struct RowCheck {
    pub problems: Vec<RowProblem>,
}

impl RowCheck {
    fn keep<T>(&mut self, column: &str, result: Result<Option<T>, String>) -> Option<T> {
        match result {
            Ok(value) => value,
            Err(reason) => {
                self.problems.push(RowProblem { column: Some(column.to_string()), reason });
                None
            }
        }
    }

    fn required<T>(&mut self, column: &str, result: Result<Option<T>, String>) -> Option<T> {
        match result {
            Ok(None) => {
                self.problems.push(RowProblem {
                    column: Some(column.to_string()),
                    reason: "required value is missing".to_string(),
                });
                None
            }
            other => self.keep(column, other),
        }
    }
}

/// A text cell with blank text read as null.
fn non_blank<'c, 'a>(cell: &'c Cell<'a>) -> Option<&'c Cell<'a>> {
    match cell {
        Cell::Null => None,
        Cell::Str(s) if s.trim().is_empty() => None,
        other => Some(other),
    }
}

/// A text column's value; blank text is null. Takes the cell to avoid copying the string.
pub fn text(cell: &mut Cell) -> Result<Option<String>, String> {
    Ok(match non_blank(cell) {
        Some(_) => cell.take().into_text(),
        None => None,
    })
}

/// Whether a required text cell has a value (the id itself is read by `row_conversation_id`).
fn present(cell: &Cell) -> Result<Option<()>, String> {
    Ok(non_blank(cell).map(|_| ()))
}

/// A text column's value borrowed from its cell (blank text is null); other values as text.
fn text_ref<'c>(cell: &'c Cell<'_>) -> Result<Option<Cow<'c, str>>, String> {
    Ok(match non_blank(cell) {
        Some(Cell::Str(s)) => Some(Cow::Borrowed(s.as_ref())),
        Some(other) => other.to_text().map(Cow::Owned),
        None => None,
    })
}

pub fn integer(cell: &Cell) -> Result<Option<i64>, String> {
    let found = || format!("expected an integer, found {}", cell.describe());
    let Some(cell) = non_blank(cell) else { return Ok(None) };
    match cell {
        Cell::Int(i) => Ok(Some(*i)),
        Cell::Float(f) => integral(*f).map(Some).ok_or_else(found),
        Cell::Str(s) => {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(i) => Ok(Some(i)),
                // `3.0` is how many tools write an integer column that has nulls.
                Err(_) => s.parse::<f64>().ok().and_then(integral).map(Some).ok_or_else(found),
            }
        }
        _ => Err(found()),
    }
}

fn integral(f: f64) -> Option<i64> {
    let in_range = f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15;
    in_range.then_some(f as i64)
}

pub fn number(cell: &Cell) -> Result<Option<f64>, String> {
    let found = || format!("expected a number, found {}", cell.describe());
    let Some(cell) = non_blank(cell) else { return Ok(None) };
    let value = match cell {
        Cell::Int(i) => *i as f64,
        Cell::Float(f) => *f,
        Cell::Str(s) => s.trim().parse::<f64>().map_err(|_| found())?,
        _ => return Err(found()),
    };
    if value.is_finite() {
        Ok(Some(value))
    } else {
        Err(format!("expected a finite number, found {}", cell.describe()))
    }
}

pub fn timestamp(cell: &Cell) -> Result<Option<Micros>, String> {
    let found = || format!("expected a timestamp, found {}", cell.describe());
    let Some(cell) = non_blank(cell) else { return Ok(None) };
    match cell {
        Cell::Micros(us) if in_contract_range(*us) => Ok(Some(*us)),
        Cell::Micros(us) => {
            Err(format!("expected a timestamp in years 0000 to 9999, found {us} µs since 1970"))
        }
        Cell::Str(s) => parse_timestamp(s).map(Some).ok_or_else(found),
        _ => Err(found()),
    }
}

fn in_range<T: PartialOrd + std::fmt::Display>(
    value: Result<Option<T>, String>,
    low: T,
    high: Option<T>,
    wanted: &str,
) -> Result<Option<T>, String> {
    match value? {
        Some(v) if v < low || high.as_ref().is_some_and(|h| v > *h) => {
            Err(format!("expected {wanted}, found {v}"))
        }
        other => Ok(other),
    }
}

/// Trimmed and case-folded; `None` when empty. The text is kept, not copied, when it is
/// already trimmed and folded (the common case: a million conversations carry a segment).
fn folded(value: Option<String>) -> Option<String> {
    let value = value?;
    let unchanged = matches!(folded_ref(&value), Some(Cow::Borrowed(b)) if b.len() == value.len());
    if unchanged {
        Some(value)
    } else {
        folded_ref(&value).map(Cow::into_owned)
    }
}

/// `folded` without a copy when the text is already trimmed and folded (the common case).
pub fn folded_ref(value: &str) -> Option<Cow<'_, str>> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Some(Cow::Borrowed(trimmed))
    } else {
        Some(Cow::Owned(trimmed.to_lowercase()))
    }
}

/// The items of a `;`-separated list as `split_list` gives them, borrowed where possible.
pub fn list_items(cell: &str) -> impl Iterator<Item = Cow<'_, str>> {
    cell.split(';').filter_map(folded_ref)
}

/// Trimmed; `None` when empty. Kept without a copy when already trimmed.
fn trimmed(value: Option<String>) -> Option<String> {
    let value = value?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == value.len() {
        Some(value)
    } else {
        Some(trimmed.to_string())
    }
}

/// The conversation id a row belongs to, when it can be read (borrowed when it is text).
pub fn row_conversation_id<'r>(row: &'r RawRow<'_>) -> Option<Cow<'r, str>> {
    match non_blank(row.cells.first()?)? {
        Cell::Str(s) => Some(Cow::Borrowed(s.as_ref())),
        other => other.to_text().map(Cow::Owned),
    }
}

/// A conversations row; `None` when any column is unusable (problems in `check`).
pub fn conversation(row: &mut RawRow<'_>, check: &mut RowCheck) -> Option<Conversation> {
    let c = &mut row.cells;
    let id = check.required("conversation_id", text(&mut c[conv::ID]));
    let started_at = check.required("started_at", timestamp(&c[conv::STARTED_AT]));
    let account_id = check.keep("account_id", text(&mut c[conv::ACCOUNT_ID]));
    let segment = check.keep("segment", text(&mut c[conv::SEGMENT]));
    let employee_count = check.keep("employee_count", integer(&c[conv::EMPLOYEE_COUNT]));
    let channel = check.keep("channel", text(&mut c[conv::CHANNEL]));
    let ai_agent = check.keep("ai_agent", text(&mut c[conv::AI_AGENT]));
    if !check.problems.is_empty() {
        return None;
    }
    Some(Conversation {
        id: id?,
        started_at: started_at?,
        account_id: trimmed(account_id),
        segment: folded(segment),
        employee_count,
        channel: trimmed(channel),
        ai_agent: trimmed(ai_agent),
        extra: Vec::new(),
        messages: Vec::new(),
        outcome: None,
        released: None,
    })
}

/// Labels outside a known list, to count as data-quality warnings.
pub type UnknownLabels = Vec<String>;

/// A messages row as read, its text fields borrowed from the row: what `Message` and
/// `CompactMessage` are both made from.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRow<'r> {
    pub turn: i64,
    pub sent_at: Micros,
    pub sender: Sender,
    /// Trimmed and case-folded; `None` when empty or null.
    pub participant: Option<Cow<'r, str>>,
    /// Empty when null or not read.
    pub text: Cow<'r, str>,
    /// The raw `signals` cell; `None` when null.
    pub signals: Option<Cow<'r, str>>,
    pub qualified: QualMask,
    pub handoff_probability: Option<f64>,
}

impl MessageRow<'_> {
    /// The whole message, owning its text.
    pub fn into_message(self) -> Message {
        let mut tags: Vec<String> = match &self.signals {
            Some(s) => list_items(s).map(Cow::into_owned).collect(),
            None => Vec::new(),
        };
        // A collected vector starts at four slots; most messages carry one tag or none, and
        // there are millions of messages.
        tags.shrink_to_fit();
        Message {
            turn: self.turn,
            sent_at: self.sent_at,
            sender: self.sender,
            participant: self.participant.map(Cow::into_owned),
            text: self.text.into_owned(),
            tags,
            qualified: self.qualified,
            handoff_probability: self.handoff_probability,
        }
    }
}

/// A messages row; `None` when any column is unusable.
pub fn message<'r>(
    row: &'r RawRow<'_>,
    check: &mut RowCheck,
) -> Option<(MessageRow<'r>, UnknownLabels)> {
    let c = &row.cells;
    check.required("conversation_id", present(&c[msg::CONVERSATION_ID]));
    let turn = check.required("turn", in_range(integer(&c[msg::TURN]), 1, None, "an integer >= 1"));
    let sent_at = check.required("sent_at", timestamp(&c[msg::SENT_AT]));
    let sender_text = check.required("sender", text_ref(&c[msg::SENDER]));
    let sender = sender_text.as_deref().and_then(|s| match Sender::parse(s) {
        Some(sender) => Some(sender),
        None => {
            check.problems.push(RowProblem {
                column: Some("sender".to_string()),
                reason: format!("expected prospect, ai or human, found {s:?}"),
            });
            None
        }
    });
    let participant = check.keep("participant", text_ref(&c[msg::PARTICIPANT]));
    // A null text is an empty message, not a missing value.
    let body = match &c[msg::TEXT] {
        Cell::Null => Cow::Borrowed(""),
        Cell::Str(s) => Cow::Borrowed(s.as_ref()),
        other => Cow::Owned(other.to_text().unwrap_or_default()),
    };
    let signals = check.keep("signals", text_ref(&c[msg::SIGNALS]));
    let qualified = check.keep("qualified", text_ref(&c[msg::QUALIFIED]));
    let probability = check.keep(
        "handoff_probability",
        in_range(number(&c[msg::HANDOFF_PROBABILITY]), 0.0, Some(1.0), "a number from 0 to 1"),
    );
    if !check.problems.is_empty() {
        return None;
    }
    let (mask, unknown) = label_mask(qualified.as_deref(), qual_bit);
    let participant = participant.and_then(|p| match p {
        Cow::Borrowed(b) => folded_ref(b),
        Cow::Owned(o) => folded_ref(&o).map(|f| Cow::Owned(f.into_owned())),
    });
    let message = MessageRow {
        turn: turn?,
        sent_at: sent_at?,
        sender: sender?,
        participant,
        text: body,
        signals,
        qualified: mask,
        handoff_probability: probability,
    };
    Some((message, unknown))
}

/// Whether a text is blank (empty or whitespace only), deciding on the first byte when it is
/// a visible ASCII character (nearly always) instead of trimming.
fn blank(s: &str) -> bool {
    match s.as_bytes().first() {
        None => true,
        Some(b) if b.is_ascii_graphic() => false,
        Some(_) => s.trim().is_empty(),
    }
}

/// An optional text cell as `text_ref` reads it, for text and null cells only (`Err` for
/// any other cell: the fast path then gives up).
fn plain_text<'c>(cell: &'c Cell<'_>) -> Result<Option<&'c str>, ()> {
    match cell {
        Cell::Null => Ok(None),
        Cell::Str(s) if blank(s) => Ok(None),
        Cell::Str(s) => Ok(Some(s.as_ref())),
        _ => Err(()),
    }
}

/// `message` for a row whose every value is plainly valid (native or canonical text values,
/// nothing to trim or case-fold): the same result without collecting problems, which costs
/// several times more on the tens of millions of rows of a large data set. `None` whenever
/// anything is unusual; the caller then runs `message`, which says what is wrong.
pub fn plain_message<'r>(row: &'r RawRow<'_>) -> Option<(MessageRow<'r>, UnknownLabels)> {
    let c = &row.cells;
    match &c[msg::CONVERSATION_ID] {
        Cell::Str(s) if !blank(s) => {}
        _ => return None,
    }
    let turn = match &c[msg::TURN] {
        Cell::Int(i) => *i,
        // An integer that parses untrimmed is what `integer` reads after trimming.
        Cell::Str(s) => s.parse::<i64>().ok()?,
        _ => return None,
    };
    if turn < 1 {
        return None;
    }
    let sent_at = match &c[msg::SENT_AT] {
        Cell::Micros(us) if in_contract_range(*us) => *us,
        Cell::Str(s) => parse_timestamp(s)?,
        _ => return None,
    };
    // Exact names only; any other spelling goes through `Sender::parse`.
    let sender = match &c[msg::SENDER] {
        Cell::Str(s) => match s.as_ref() {
            "prospect" => Sender::Prospect,
            "ai" => Sender::Ai,
            "human" => Sender::Human,
            _ => return None,
        },
        _ => return None,
    };
    // `folded_ref` gives what `text_ref` then `folded_ref` give `message`, blank included.
    let participant = match &c[msg::PARTICIPANT] {
        Cell::Null => None,
        Cell::Str(s) => folded_ref(s),
        _ => return None,
    };
    let body = match &c[msg::TEXT] {
        Cell::Null => Cow::Borrowed(""),
        Cell::Str(s) => Cow::Borrowed(s.as_ref()),
        _ => return None,
    };
    let signals = plain_text(&c[msg::SIGNALS]).ok()?.map(Cow::Borrowed);
    let qualified = plain_text(&c[msg::QUALIFIED]).ok()?;
    let handoff_probability = match &c[msg::HANDOFF_PROBABILITY] {
        Cell::Null => None,
        Cell::Float(f) => Some(*f),
        Cell::Str(s) if blank(s) => None,
        // A number that parses untrimmed is what `number` reads after trimming.
        Cell::Str(s) => Some(s.parse::<f64>().ok()?),
        _ => return None,
    };
    if handoff_probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        // NaN and infinities fail the range too: `message` names the problem.
        return None;
    }
    let (mask, unknown) = label_mask(qualified, qual_bit);
    let message = MessageRow {
        turn,
        sent_at,
        sender,
        participant,
        text: body,
        signals,
        qualified: mask,
        handoff_probability,
    };
    Some((message, unknown))
}

/// An outcomes row; `None` when any column is unusable.
pub fn outcome(row: &mut RawRow<'_>, check: &mut RowCheck) -> Option<(Outcome, UnknownLabels)> {
    let c = &mut row.cells;
    check.required("conversation_id", present(&c[out::CONVERSATION_ID]));
    let handoff_turn = check.keep("handoff_turn", integer(&c[out::HANDOFF_TURN]));
    let handoff_at = check.keep("handoff_at", timestamp(&c[out::HANDOFF_AT]));
    let context = check.keep("context", text(&mut c[out::CONTEXT]));
    let meeting_at = check.keep("meeting_at", timestamp(&c[out::MEETING_AT]));
    let opportunity_at = check.keep("opportunity_at", timestamp(&c[out::OPPORTUNITY_AT]));
    let amount = check.keep("opportunity_amount", number(&c[out::OPPORTUNITY_AMOUNT]));
    let currency = check.keep("currency", text(&mut c[out::CURRENCY]));
    let rating = check.keep(
        "rep_rating",
        in_range(integer(&c[out::REP_RATING]), 1, Some(5), "an integer from 1 to 5"),
    );
    if !check.problems.is_empty() {
        return None;
    }
    let (context_mask, unknown): (ContextMask, _) = label_mask(context.as_deref(), context_bit);
    let outcome = Outcome {
        handoff_turn,
        handoff_at,
        context: context_mask,
        meeting_at,
        opportunity_at,
        opportunity_amount: amount,
        currency: trimmed(currency),
        rep_rating: rating.and_then(|r| u8::try_from(r).ok()),
    };
    Some((outcome, unknown))
}

/// The bit mask of a `;`-list's known labels, and the unknown labels.
fn label_mask(cell: Option<&str>, bit: fn(&str) -> Option<QualMask>) -> (u8, UnknownLabels) {
    let mut mask = 0u8;
    let mut unknown = Vec::new();
    for item in cell.into_iter().flat_map(|c| c.split(';')) {
        // Most items are already a known label as written: then no trimming or folding.
        if let Some(b) = bit(item) {
            mask |= b;
            continue;
        }
        let Some(label) = folded_ref(item) else { continue };
        match bit(&label) {
            Some(b) => mask |= b,
            None => unknown.push(label.into_owned()),
        }
    }
    (mask, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::split_list;

    fn s(v: &str) -> Cell<'static> {
        Cell::owned(v.to_string())
    }

    #[test]
    fn integers_accept_integral_values_only() {
        assert_eq!(integer(&s(" 7 ")), Ok(Some(7)));
        assert_eq!(integer(&s("3.0")), Ok(Some(3)));
        assert_eq!(integer(&Cell::Float(4.0)), Ok(Some(4)));
        assert_eq!(integer(&Cell::Null), Ok(None));
        assert_eq!(integer(&s("  ")), Ok(None));
        assert_eq!(integer(&s("3a")), Err("expected an integer, found \"3a\"".to_string()));
        assert_eq!(integer(&Cell::Float(2.5)), Err("expected an integer, found 2.5".to_string()));
        assert!(integer(&Cell::Bool(true)).is_err());
    }

    #[test]
    fn numbers_must_be_finite() {
        assert_eq!(number(&s("0.25")), Ok(Some(0.25)));
        assert_eq!(number(&Cell::Int(2)), Ok(Some(2.0)));
        assert!(number(&s("NaN")).is_err());
        assert!(number(&Cell::Float(f64::INFINITY)).is_err());
        assert!(number(&s("lots")).is_err());
    }

    #[test]
    fn ranges_name_what_was_expected() {
        let r = in_range(integer(&s("0")), 1, None, "an integer >= 1");
        assert_eq!(r, Err("expected an integer >= 1, found 0".to_string()));
        let p = in_range(number(&s("1.5")), 0.0, Some(1.0), "a number from 0 to 1");
        assert_eq!(p, Err("expected a number from 0 to 1, found 1.5".to_string()));
        assert_eq!(in_range(number(&s("1")), 0.0, Some(1.0), "x"), Ok(Some(1.0)));
    }

    #[test]
    fn timestamps_accept_native_and_text() {
        assert_eq!(timestamp(&Cell::Micros(5)), Ok(Some(5)));
        assert_eq!(timestamp(&s("1970-01-01T00:00:01Z")), Ok(Some(1_000_000)));
        assert!(timestamp(&Cell::Int(5)).is_err());
        // Native instants follow the text rule: years 0000 to 9999 only.
        assert!(timestamp(&Cell::Micros(i64::MAX)).is_err());
        assert!(timestamp(&Cell::Micros(i64::MIN)).is_err());
    }

    #[test]
    fn label_lists_split_known_and_unknown() {
        let (mask, unknown) = label_mask(Some(" Budget; ;NEED;pricing "), qual_bit);
        assert_eq!(mask, 1 | 4);
        assert_eq!(unknown, vec!["pricing".to_string()]);
        assert_eq!(split_list(" A ;; b;").collect::<Vec<_>>(), vec!["a", "b"]);
        let borrowed: Vec<Cow<str>> = list_items(" A ;; b;é").collect();
        assert_eq!(borrowed, vec!["a", "b", "é"]);
        assert!(matches!(borrowed[1], Cow::Borrowed(_)));
        assert_eq!(folded_ref("  Ann@X.io "), Some(Cow::Owned("ann@x.io".to_string())));
        assert_eq!(folded_ref(" ÄB "), Some(Cow::Owned("äb".to_string())));
        assert_eq!(folded_ref("   "), None);
    }

    #[test]
    fn the_plain_path_reads_messages_as_the_full_one_does() {
        // Every combination of usual and unusual values: wherever the plain path gives an
        // answer, it is the full path's, with no problem.
        let ids = [s("c1"), s(" c1"), s(""), Cell::Int(4), Cell::Null];
        let turns = [Cell::Int(3), Cell::Int(0), s("2"), s(" 2"), s("2.0"), Cell::Float(2.0)];
        let sent = [Cell::Micros(1_000_000), Cell::Micros(i64::MAX), s("2026-01-01T00:00:00Z")];
        let senders = [s("ai"), s("AI"), s(" human "), s("bot"), Cell::Null];
        let participants = [Cell::Null, s("ann@x.io"), s(" Ann@X.io "), s("  "), Cell::Int(1)];
        let signals = [Cell::Null, s("pricing;budget"), s(" "), Cell::Bool(true)];
        let qualified = [Cell::Null, s("budget; Need ;pricing"), s("need"), s("")];
        let probabilities =
            [Cell::Null, Cell::Float(0.5), Cell::Float(f64::NAN), s("1.5"), s(" 0.2"), s("")];
        let mut plain = 0;
        for (a, b, c, d) in combinations(&ids, &turns, &sent, &senders) {
            for (e, f, g, h) in combinations(&participants, &signals, &qualified, &probabilities) {
                let mut row = RawRow::new(1, 9);
                row.cells[msg::CONVERSATION_ID] = a.clone();
                row.cells[msg::TURN] = b.clone();
                row.cells[msg::SENT_AT] = c.clone();
                row.cells[msg::SENDER] = d.clone();
                row.cells[msg::PARTICIPANT] = e.clone();
                row.cells[msg::SIGNALS] = f.clone();
                row.cells[msg::QUALIFIED] = g.clone();
                row.cells[msg::HANDOFF_PROBABILITY] = h.clone();
                if let Some(fast) = plain_message(&row) {
                    plain += 1;
                    let mut check = RowCheck::default();
                    assert_eq!(message(&row, &mut check), Some(fast), "{row:?}");
                    assert!(check.problems.is_empty());
                }
            }
        }
        assert!(plain > 100);
    }

    /// Every combination of one value from each of four lists.
    fn combinations<'a, A, B, C, D>(
        a: &'a [A],
        b: &'a [B],
        c: &'a [C],
        d: &'a [D],
    ) -> impl Iterator<Item = (&'a A, &'a B, &'a C, &'a D)> {
        a.iter().flat_map(move |a| {
            b.iter()
                .flat_map(move |b| c.iter().flat_map(move |c| d.iter().map(move |d| (a, b, c, d))))
        })
    }

    #[test]
    fn trimming_and_folding_keep_or_copy_alike() {
        let some = |v: &str| Some(v.to_string());
        assert_eq!(folded(some(" Enterprise ")), some("enterprise"));
        assert_eq!(folded(some("smb")), some("smb"));
        assert_eq!(folded(some("ÄB")), some("äb"));
        assert_eq!(folded(some("  ")), None);
        assert_eq!(folded(None), None);
        assert_eq!(trimmed(some(" sdr-1 ")), some("sdr-1"));
        assert_eq!(trimmed(some("Chat")), some("Chat"));
        assert_eq!(trimmed(some("")), None);
        assert_eq!(trimmed(some(" \u{a0}")), None);
    }

    #[test]
    fn a_message_row_with_a_bad_sender_is_rejected() {
        let mut row = RawRow::new(1, 9);
        row.cells[msg::CONVERSATION_ID] = s("c1");
        row.cells[msg::TURN] = s("1");
        row.cells[msg::SENT_AT] = s("2026-01-01 00:00:00");
        row.cells[msg::SENDER] = s("bot");
        let mut check = RowCheck::default();
        assert!(message(&row, &mut check).is_none());
        assert_eq!(check.problems[0].column.as_deref(), Some("sender"));
        assert_eq!(check.problems[0].reason, "expected prospect, ai or human, found \"bot\"");
    }
}
