//! Fuzz target (property-based, proptest): the policies-file parser on arbitrary text and on
//! mutations of the shipped data/policies.toml. It must never panic; an error names the file
//! and a line inside it; a file it accepts expands into policies and sweep variants that
//! replay without panicking. `FUZZ_CASES` sets the number of cases (scripts/fuzz.sh).

use handoff::model::{Conversation, Message, Sender};
use handoff::policy::all_policies;
use handoff::policy::file::MAX_SWEEP_POINTS;
use handoff::policy::{parse_policies, PolicyFileError};
use handoff::replay::{build_timeline, decide};
use handoff::signals::vocabulary::SignalSet;
use proptest::prelude::*;

use crate::strategies::{fuzz_config, TextMutation};

const SHIPPED: &str = include_str!("../../data/policies.toml");

/// TOML fragments that steer mutations towards the parser's interesting paths.
const TOKENS: &[&str] = &[
    "[[policy]]",
    "[[sweep]]",
    "[lexicon]",
    "[lexicon.extend]",
    "[quality]",
    "[policy.weights]",
    "name = \"x\"",
    "name = \"a/b\"",
    "name = \"\"",
    "policy = \"framework\"",
    "delay = -1",
    "delay = 4294967296",
    "min_turn = 0",
    "threshold = nan",
    "threshold = inf",
    "step = 0",
    "step = 1e-300",
    "from = 0",
    "to = 1e300",
    "values = []",
    "values = [1, \"a\"]",
    "parameter = \"weights.pricing\"",
    "parameter = \"delay\"",
    "hand_off_on = []",
    "hand_off_on = [\"score\"]",
    "unless = [1]",
    "= = =",
    "\"",
    "'''",
    "[",
    "]",
    "{",
    "}",
    "\n",
    "\u{0}",
    "\u{feff}",
    "é",
    "𝄞",
    "#",
    "0x7fffffffffffffff",
    "1979-05-27T07:32:00Z",
];

/// A small conversation in which most situations occur.
fn conversation() -> Conversation {
    let message = |turn: i64, sender: Sender| Message {
        turn,
        sent_at: turn,
        sender,
        participant: Some(format!("p{}", turn % 3)),
        text: String::new(),
        tags: vec![],
        qualified: (turn % 16) as u8,
        handoff_probability: None,
    };
    Conversation {
        id: "c".into(),
        segment: Some("enterprise".into()),
        employee_count: Some(5000),
        messages: (1..=12)
            .map(|t| message(t, if t % 2 == 1 { Sender::Prospect } else { Sender::Ai }))
            .collect(),
        ..Conversation::default()
    }
}

fn check(text: &str) -> Result<(), TestCaseError> {
    match parse_policies(text, "fuzz.toml") {
        Ok(file) => {
            let (policies, variants) = all_policies(&file);
            for sweep in &file.sweeps {
                prop_assert!(!sweep.values.is_empty() && sweep.values.len() <= MAX_SWEEP_POINTS);
                prop_assert!(sweep.values.iter().all(|v| v.is_finite()), "{:?}", sweep.values);
            }
            let mut names: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
            names.sort_unstable();
            prop_assert!(names.windows(2).all(|w| w[0] != w[1]), "duplicate names {:?}", names);
            let signals: Vec<SignalSet> = (0..6).map(|i| SignalSet(0x1f_ffff >> i)).collect();
            let tl = build_timeline(&conversation(), &signals);
            for policy in policies.iter().chain(variants.iter().map(|v| &v.policy)) {
                let d = decide(policy, &tl);
                prop_assert!(d.point.is_none_or(|p| p >= 1 && p as usize <= tl.points.len()));
            }
            decide(&file.quality.policy, &tl);
        }
        Err(PolicyFileError::Invalid { path, line, key, message }) => {
            prop_assert_eq!(path, "fuzz.toml");
            prop_assert!(
                line >= 1 && line <= text.lines().count() + 1,
                "line {} of {}",
                line,
                text
            );
            prop_assert!(!key.is_empty() && !message.is_empty());
        }
        Err(other) => prop_assert!(false, "unexpected error kind {other}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_config(256, 2000))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check(&text)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn mutated_shipped_file_never_panics(mutations in prop::collection::vec(TextMutation::arb(TOKENS), 1..8)) {
        let text = mutations.iter().fold(SHIPPED.to_string(), |t, m| m.apply(&t));
        check(&text)?;
    }
}

#[test]
fn the_shipped_file_parses() {
    parse_policies(SHIPPED, "data/policies.toml").expect("shipped policies file");
}
