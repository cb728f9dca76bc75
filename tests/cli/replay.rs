//! The replay core through the library: the hand-worked fixture (tests/fixtures/replay_small:
//! six conversations, four policies, decisions worked out by hand in expected.csv, with the
//! reasoning in its `why` column; the CSVs are read here with the `csv` crate, independently of
//! `ingest`), and properties of the replay state machine over random timelines and policies.

use std::collections::BTreeMap;

use handoff::model::{
    qual_bit, split_list, ColumnPresence, Conversation, Dataset, Message, Outcome, Sender,
};
use handoff::policy::file::parse_policies;
use handoff::replay::{build_timeline, decide, replay_all, Decision, Timeline};
use handoff::signals::detect::{detect_dataset, Detector};
use handoff::signals::lexicon::LexiconConfig;
use handoff::signals::SignalSource;

use crate::harness::REPLAY_SMALL;

fn rows(table: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(format!("{REPLAY_SMALL}/{table}.csv")).expect("fixture");
    let headers = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            headers.iter().zip(r.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()
        })
        .collect()
}

fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn micros(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts).expect("timestamp").timestamp_micros()
}

fn dataset() -> Dataset {
    let mut conversations: Vec<Conversation> = rows("conversations")
        .iter()
        .map(|r| Conversation {
            id: r["conversation_id"].clone(),
            started_at: micros(&r["started_at"]),
            segment: opt(&r["segment"]).map(|s| s.to_lowercase()),
            employee_count: opt(&r["employee_count"]).map(|n| n.parse().expect("integer")),
            ..Conversation::default()
        })
        .collect();
    for r in rows("messages") {
        let conv = conversations.iter_mut().find(|c| c.id == r["conversation_id"]).expect("known");
        conv.messages.push(Message {
            turn: r["turn"].parse().expect("turn"),
            sent_at: micros(&r["sent_at"]),
            sender: Sender::parse(&r["sender"]).expect("sender"),
            participant: opt(&r["participant"]).map(|p| p.to_lowercase()),
            text: r["text"].clone(),
            tags: split_list(&r["signals"]).collect(),
            qualified: split_list(&r["qualified"])
                .filter_map(|l| qual_bit(&l))
                .fold(0, |a, b| a | b),
            handoff_probability: None,
        });
    }
    for r in rows("outcomes") {
        let conv = conversations.iter_mut().find(|c| c.id == r["conversation_id"]).expect("known");
        conv.outcome = Some(Outcome {
            handoff_turn: opt(&r["handoff_turn"]).map(|t| t.parse().expect("turn")),
            ..Outcome::default()
        });
    }
    Dataset {
        conversations,
        columns: ColumnPresence { signals: true, ..ColumnPresence::default() },
        ..Dataset::default()
    }
}

fn timelines(ds: &Dataset) -> Vec<Timeline> {
    let detector = Detector::new(&LexiconConfig::default()).expect("the shipped lexicon compiles");
    let signals = detect_dataset(ds, SignalSource::Auto, &detector);
    assert_eq!(signals.source_used, Some(SignalSource::Tags));
    assert_eq!(signals.unknown_labels.get("foo"), Some(&1));
    ds.conversations
        .iter()
        .zip(&signals.per_conversation)
        .map(|(c, s)| build_timeline(c, s))
        .collect()
}

/// (conversation, policy) -> (handoff turn, situation name).
fn expected() -> BTreeMap<(String, String), (Option<i64>, Option<String>)> {
    rows("expected")
        .into_iter()
        .map(|r| {
            let turn = opt(&r["handoff_turn"]).map(|t| t.parse().expect("turn"));
            ((r["conversation_id"].clone(), r["policy"].clone()), (turn, opt(&r["situation"])))
        })
        .collect()
}

fn shown(d: &Decision, tl: &Timeline) -> (Option<i64>, Option<String>) {
    (d.turn(tl), d.situation.map(|s| s.name().to_string()))
}

#[test]
fn decisions_match_the_hand_worked_expectations() {
    let ds = dataset();
    let tls = timelines(&ds);
    let text = std::fs::read_to_string(format!("{REPLAY_SMALL}/policies.toml")).expect("policies");
    let file = parse_policies(&text, "policies.toml").expect("valid policies file");
    let expected = expected();
    assert_eq!(expected.len(), ds.conversations.len() * (file.policies.len() + 1));

    let mut checked = 0;
    for (conv, tl) in ds.conversations.iter().zip(&tls) {
        let historical = tl.historical.map(|p| tl.points[p as usize - 1].turn);
        assert_eq!(
            (historical, None),
            expected[&(conv.id.clone(), "historical".to_string())],
            "{} historical",
            conv.id
        );
        for policy in &file.policies {
            let got = shown(&decide(policy, tl), tl);
            assert_eq!(
                got,
                expected[&(conv.id.clone(), policy.name.clone())],
                "{} {}",
                conv.id,
                policy.name
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 24);

    // replay_all agrees with decide, per policy then per conversation.
    let refs: Vec<_> = file.policies.iter().collect();
    let all = replay_all(&refs, &tls);
    for (p, policy) in file.policies.iter().enumerate() {
        for (c, tl) in tls.iter().enumerate() {
            assert_eq!(all[p][c], decide(policy, tl));
        }
    }
}

/// Properties of the replay state machine over random timelines and policies.
mod properties {
    use handoff::policy::Policy;
    use handoff::replay::decide;
    use handoff::signals::vocabulary::{Guard, Signal, Situation};
    use proptest::prelude::*;

    use crate::strategies::{arb_policy, arb_timeline, PolicyValues};

    proptest! {
        #[test]
        fn more_delay_never_hands_off_earlier(policy in arb_policy(PolicyValues::Plausible), tl in arb_timeline(), extra in 1u32..4) {
            let base = decide(&policy, &tl);
            let mut later = policy.clone();
            later.delay += extra;
            let delayed = decide(&later, &tl);
            if let (Some(a), Some(b)) = (base.point, delayed.point) {
                prop_assert_eq!(b, a + extra);
            }
            if base.point.is_none() {
                prop_assert_eq!(delayed.point, None);
            }
        }

        #[test]
        fn human_request_only_hands_off_at_the_first_request(tl in arb_timeline(), unless in prop::sample::subsequence(Guard::ALL.to_vec(), 0..=3)) {
            let mut policy = Policy::new("p", vec![Situation::HumanRequest]);
            policy.unless = unless;
            let first = tl.points.iter().position(|p| p.signals.contains(Signal::HumanRequest));
            let d = decide(&policy, &tl);
            prop_assert_eq!(d.point, first.map(|i| i as u32 + 1));
            prop_assert_eq!(d.situation, first.map(|_| Situation::HumanRequest));
        }

        #[test]
        fn empty_hand_off_on_never_hands_off(mut policy in arb_policy(PolicyValues::Plausible), tl in arb_timeline()) {
            policy.hand_off_on.clear();
            policy.bypass.clear();
            prop_assert_eq!(decide(&policy, &tl).point, None);
        }

        #[test]
        fn decision_is_within_the_conversation_and_after_min_turn(policy in arb_policy(PolicyValues::Plausible), tl in arb_timeline()) {
            let d = decide(&policy, &tl);
            if let Some(p) = d.point {
                prop_assert!(p as usize <= tl.points.len());
                prop_assert!(p >= policy.min_turn + policy.delay);
                let situation = d.situation.expect("a handoff reports a situation");
                prop_assert!(policy.hand_off_on.contains(&situation));
            } else {
                prop_assert_eq!(d.situation, None);
            }
        }
    }
}
