//! The proptest strategies the property tests and fuzz targets share: random policies (with
//! plausible or hostile values), conversations and timelines for the replay core, and the two
//! kinds of mutation of a valid input (bytes, for the table readers, and UTF-8 text, for the
//! policies-file parser), plus the configuration that `FUZZ_CASES` (scripts/fuzz.sh) scales.

use handoff::model::{Conversation, Message, Outcome, Sender};
use handoff::policy::Policy;
use handoff::replay::{DecisionPoint, Timeline};
use handoff::signals::vocabulary::{Guard, Signal, SignalSet, Situation};
use proptest::prelude::*;

/// `default` cases per property unless `FUZZ_CASES` says otherwise, and at most
/// `max_shrink_iters` steps to shrink a failure.
pub fn fuzz_config(default: u32, max_shrink_iters: u32) -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, max_shrink_iters, ..ProptestConfig::default() }
}

/// Mostly ordinary floats, often NaN and the infinities, sometimes any bit pattern.
pub fn arb_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -5.0f64..5.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => any::<f64>(),
    ]
}

/// The values [`arb_policy`] draws a policy's fields from.
#[derive(Clone, Copy, Debug)]
pub enum PolicyValues {
    /// Values a policies file could hold (small delays, weights in 0..1, the default bypass),
    /// for properties that only make sense for a meaningful policy.
    Plausible,
    /// Any value of each field's type, NaN and infinite weights and thresholds, huge delays
    /// and an arbitrary bypass, for fuzzing: nothing may panic.
    Hostile,
}

/// One strategy per field of a [`Policy`]; `bypass: None` keeps `Policy::new`'s default.
struct PolicyFields {
    name: &'static str,
    hand_off_on: BoxedStrategy<Vec<Situation>>,
    bypass: BoxedStrategy<Option<Vec<Situation>>>,
    min_qualified: BoxedStrategy<u8>,
    repeated_objection_after: BoxedStrategy<u32>,
    enterprise_employees: BoxedStrategy<i64>,
    min_turn: BoxedStrategy<u32>,
    delay: BoxedStrategy<u32>,
    weights: BoxedStrategy<Vec<f64>>,
    threshold: BoxedStrategy<f64>,
}

/// Mostly small, sometimes any `u32`.
fn small_or_any_u32() -> BoxedStrategy<u32> {
    prop_oneof![3 => 0u32..5, 1 => any::<u32>()].boxed()
}

impl PolicyFields {
    fn of(values: PolicyValues) -> PolicyFields {
        let situations = || prop::sample::subsequence(Situation::ALL.to_vec(), 0..=8);
        let signals = Signal::ALL.len();
        match values {
            PolicyValues::Plausible => PolicyFields {
                name: "p",
                hand_off_on: situations().boxed(),
                bypass: Just(None).boxed(),
                min_qualified: (0u8..=4).boxed(),
                repeated_objection_after: (2u32..4).boxed(),
                enterprise_employees: (1i64..3000).boxed(),
                min_turn: (1u32..5).boxed(),
                delay: (0u32..4).boxed(),
                weights: prop::collection::vec(0.0f64..1.0, signals).boxed(),
                threshold: (0.0f64..3.0).boxed(),
            },
            PolicyValues::Hostile => PolicyFields {
                name: "fuzz",
                hand_off_on: situations().prop_shuffle().boxed(),
                bypass: situations().prop_map(Some).boxed(),
                min_qualified: any::<u8>().boxed(),
                repeated_objection_after: small_or_any_u32(),
                enterprise_employees: any::<i64>().boxed(),
                min_turn: small_or_any_u32(),
                delay: small_or_any_u32(),
                weights: prop::collection::vec(arb_f64(), signals).boxed(),
                threshold: arb_f64().boxed(),
            },
        }
    }
}

/// A random policy: any situations and guards, every parameter drawn from `values`.
pub fn arb_policy(values: PolicyValues) -> impl Strategy<Value = Policy> {
    let f = PolicyFields::of(values);
    let name = f.name;
    (
        f.hand_off_on,
        prop::sample::subsequence(Guard::ALL.to_vec(), 0..=3),
        f.bypass,
        f.min_qualified,
        f.repeated_objection_after,
        f.enterprise_employees,
        f.min_turn,
        f.delay,
        f.weights,
        f.threshold,
    )
        .prop_map(move |(on, unless, bypass, mq, roa, ee, min_turn, delay, w, threshold)| {
            let mut p = Policy::new(name, on);
            p.unless = unless;
            if let Some(bypass) = bypass {
                p.bypass = bypass;
            }
            p.min_qualified = mq;
            p.repeated_objection_after = roa;
            p.enterprise_employees = ee;
            p.min_turn = min_turn;
            p.delay = delay;
            p.weights.copy_from_slice(&w);
            p.threshold = threshold;
            p
        })
}

/// A message with any turn number, sender, participant spelling and qualification bits.
pub fn arb_message() -> impl Strategy<Value = Message> {
    (
        prop_oneof![3 => -3i64..40, 1 => any::<i64>()],
        prop_oneof![Just(Sender::Prospect), Just(Sender::Ai), Just(Sender::Human)],
        prop::option::of(prop_oneof![Just(""), Just(" A@x "), Just("a@x"), Just("b"), Just("C")]),
        any::<u8>(),
        prop::option::of(arb_f64()),
    )
        .prop_map(|(turn, sender, participant, qualified, p)| Message {
            turn,
            sent_at: 0,
            sender,
            participant: participant.map(String::from),
            text: String::new(),
            tags: vec![],
            qualified,
            handoff_probability: p,
        })
}

/// A conversation of arbitrary messages (duplicate and unordered turns included) and signal
/// sets for its prospect messages, with bits outside the vocabulary and too many or too few.
pub fn arb_conversation() -> impl Strategy<Value = (Conversation, Vec<SignalSet>)> {
    (
        prop::collection::vec(arb_message(), 0..40),
        prop::option::of(prop_oneof![Just("enterprise"), Just("smb"), Just("")]),
        prop::option::of(any::<i64>()),
        prop::option::of(prop::option::of(prop_oneof![3 => -3i64..40, 1 => any::<i64>()])),
        prop::collection::vec(any::<u32>().prop_map(SignalSet), 0..45),
    )
        .prop_map(|(messages, segment, employee_count, outcome, signals)| {
            let conversation = Conversation {
                id: "c".into(),
                segment: segment.map(String::from),
                employee_count,
                messages,
                outcome: outcome.map(|handoff_turn| Outcome { handoff_turn, ..Outcome::default() }),
                ..Conversation::default()
            };
            (conversation, signals)
        })
}

/// A well-formed timeline: odd turns, sparse signals inside the vocabulary, qualification and
/// participants that only grow, and a historical handoff at the first point or none.
pub fn arb_timeline() -> impl Strategy<Value = Timeline> {
    let point = (any::<u32>(), 0u8..16, 1u32..4);
    (
        prop::collection::vec(point, 0..12),
        any::<bool>(),
        prop::option::of(0i64..3000),
        any::<bool>(),
    )
        .prop_map(|(raw, enterprise_segment, employee_count, historical)| {
            let vocabulary = (1u32 << Signal::ALL.len()) - 1;
            let mut qualified = 0u8;
            let mut participants = 1u32;
            let points: Vec<DecisionPoint> = raw
                .iter()
                .enumerate()
                .map(|(i, (bits, q, p))| {
                    qualified |= q;
                    participants = participants.max(*p);
                    DecisionPoint {
                        turn: 2 * i as i64 + 1,
                        // Sparse signals: keep about a quarter of the vocabulary bits.
                        signals: SignalSet(bits & (bits >> 7) & (bits >> 13) & vocabulary),
                        qualified,
                        participants,
                        handoff_probability: None,
                    }
                })
                .collect();
            let historical = (historical && !points.is_empty()).then_some(1);
            Timeline { points, enterprise_segment, employee_count, historical }
        })
}

/// A byte-level change to a valid table, for readers of binary as well as text formats
/// (positions wrap around the input's length).
#[derive(Clone, Debug)]
pub enum ByteMutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

impl ByteMutation {
    /// Any mutation; insertions are either one of `tokens` (fragments that steer towards the
    /// readers' interesting paths) or random bytes.
    pub fn arb(tokens: &'static [&'static [u8]]) -> impl Strategy<Value = ByteMutation> {
        let tokens: Vec<Vec<u8>> = tokens.iter().map(|t| t.to_vec()).collect();
        let bytes =
            prop_oneof![prop::sample::select(tokens), prop::collection::vec(any::<u8>(), 1..16)];
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(a, b)| ByteMutation::Flip(a, b)),
            (any::<usize>(), bytes).prop_map(|(a, b)| ByteMutation::Insert(a, b)),
            (any::<usize>(), 1usize..64).prop_map(|(a, n)| ByteMutation::Delete(a, n)),
            (any::<usize>(), 1usize..64).prop_map(|(a, n)| ByteMutation::Duplicate(a, n)),
            any::<usize>().prop_map(ByteMutation::Truncate),
        ]
    }

    pub fn apply(&self, mut bytes: Vec<u8>) -> Vec<u8> {
        let at = |a: usize, len: usize| if len == 0 { 0 } else { a % len };
        match self {
            ByteMutation::Flip(a, b) if !bytes.is_empty() => {
                let i = at(*a, bytes.len());
                bytes[i] ^= b.max(&1);
            }
            ByteMutation::Insert(a, ins) => {
                let i = at(*a, bytes.len() + 1);
                bytes.splice(i..i, ins.iter().copied());
            }
            ByteMutation::Delete(a, n) if !bytes.is_empty() => {
                let i = at(*a, bytes.len());
                bytes.drain(i..(i + n).min(bytes.len()));
            }
            ByteMutation::Duplicate(a, n) if !bytes.is_empty() => {
                let i = at(*a, bytes.len());
                let chunk = bytes[i..(i + n).min(bytes.len())].to_vec();
                bytes.splice(i..i, chunk);
            }
            ByteMutation::Truncate(a) => bytes.truncate(at(*a, bytes.len() + 1)),
            _ => {}
        }
        bytes
    }
}

/// A line- and character-level change to a valid text file that keeps it UTF-8, for parsers
/// that take `&str` (positions wrap around and move back to a character boundary).
#[derive(Clone, Debug)]
pub enum TextMutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Insert(usize, String),
    ReplaceChar(usize, char),
    Truncate(usize),
}

impl TextMutation {
    /// Any mutation; insertions are mostly one of `tokens`, sometimes random printable text.
    pub fn arb(tokens: &'static [&'static str]) -> impl Strategy<Value = TextMutation> {
        let token = prop_oneof![
            3 => prop::sample::select(tokens).prop_map(String::from),
            1 => "\\PC{0,12}",
        ];
        prop_oneof![
            any::<usize>().prop_map(TextMutation::DeleteLine),
            any::<usize>().prop_map(TextMutation::DuplicateLine),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| TextMutation::SwapLines(a, b)),
            (any::<usize>(), token).prop_map(|(at, t)| TextMutation::Insert(at, t)),
            (any::<usize>(), any::<char>()).prop_map(|(at, c)| TextMutation::ReplaceChar(at, c)),
            any::<usize>().prop_map(TextMutation::Truncate),
        ]
    }

    pub fn apply(&self, text: &str) -> String {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let n = lines.len().max(1);
        let boundary = |at: usize| {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        match self {
            TextMutation::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            TextMutation::DuplicateLine(i) if !lines.is_empty() => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            TextMutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            TextMutation::Insert(at, token) => {
                let at = boundary(*at);
                return format!("{}{token}{}", &text[..at], &text[at..]);
            }
            TextMutation::ReplaceChar(at, c) => {
                let at = boundary(*at);
                let rest = &text[at..];
                let skip = rest.chars().next().map_or(0, char::len_utf8);
                return format!("{}{c}{}", &text[..at], &rest[skip..]);
            }
            TextMutation::Truncate(at) => return text[..boundary(*at)].to_string(),
            _ => {}
        }
        lines.join("\n")
    }
}
