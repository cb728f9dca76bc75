//! Fuzz target (property-based, proptest): the replay core. Arbitrary conversations (any turn
//! numbers, duplicates, senders, participants, qualification bits, signal bits outside the
//! vocabulary) become timelines, replayed under arbitrary policies (any parameter value,
//! NaN and infinite weights and thresholds, huge delays). Nothing may panic, and the
//! invariants of policies.md hold. `FUZZ_CASES` sets the number of cases (scripts/fuzz.sh).

use handoff::model::{Conversation, Message, Outcome, Sender};
use handoff::policy::Policy;
use handoff::replay::{build_timeline, decide, replay_all, situation_onsets, Timeline, Timing};
use handoff::signals::vocabulary::{Guard, SignalSet, Situation};
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, max_shrink_iters: 2000, ..ProptestConfig::default() }
}

fn arb_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -5.0f64..5.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => any::<f64>(),
    ]
}

fn arb_message() -> impl Strategy<Value = Message> {
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

fn arb_conversation() -> impl Strategy<Value = (Conversation, Vec<SignalSet>)> {
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

fn arb_policy() -> impl Strategy<Value = Policy> {
    let all = Situation::ALL.to_vec();
    (
        prop::sample::subsequence(all.clone(), 0..=8).prop_shuffle(),
        prop::sample::subsequence(Guard::ALL.to_vec(), 0..=3),
        prop::sample::subsequence(all, 0..=8),
        any::<u8>(),
        prop_oneof![3 => 0u32..5, 1 => any::<u32>()],
        any::<i64>(),
        prop_oneof![3 => 0u32..5, 1 => any::<u32>()],
        prop_oneof![3 => 0u32..5, 1 => any::<u32>()],
        prop::collection::vec(arb_f64(), 21),
        arb_f64(),
    )
        .prop_map(|(on, unless, bypass, mq, roa, ee, min_turn, delay, w, threshold)| {
            let mut p = Policy::new("fuzz", on);
            p.unless = unless;
            p.bypass = bypass;
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

/// The timeline invariants of `build_timeline`'s contract.
fn check_timeline(conversation: &Conversation, tl: &Timeline) -> Result<(), TestCaseError> {
    let prospects = conversation.prospect_messages().count();
    prop_assert_eq!(tl.points.len(), prospects);
    for pair in tl.points.windows(2) {
        prop_assert!(pair[0].turn <= pair[1].turn, "turns out of order");
        prop_assert_eq!(pair[0].qualified & !pair[1].qualified, 0, "qualification shrank");
        prop_assert!(pair[0].participants <= pair[1].participants, "participants shrank");
    }
    match tl.historical {
        Some(h) => {
            prop_assert!(h >= 1 && h as usize <= tl.points.len(), "historical {}", h);
        }
        None => prop_assert!(
            tl.points.is_empty()
                || conversation.outcome.as_ref().and_then(|o| o.handoff_turn).is_none()
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn replay_never_panics_and_keeps_its_invariants(
        (conversation, signals) in arb_conversation(),
        policies in prop::collection::vec(arb_policy(), 1..4),
    ) {
        let tl = build_timeline(&conversation, &signals);
        check_timeline(&conversation, &tl)?;
        let refs: Vec<&Policy> = policies.iter().collect();
        let all = replay_all(&refs, std::slice::from_ref(&tl));
        prop_assert_eq!(all.len(), policies.len());
        for (policy, row) in policies.iter().zip(&all) {
            let d = decide(policy, &tl);
            prop_assert_eq!(row[0], d, "replay_all agrees with decide");
            let onsets = situation_onsets(policy, &tl);
            for onset in onsets.iter().flatten() {
                prop_assert!(*onset >= 1 && *onset as usize <= tl.points.len());
            }
            match d.point {
                Some(p) => {
                    prop_assert!(p >= 1 && p as usize <= tl.points.len());
                    let earliest = policy.min_turn.max(1).saturating_add(policy.delay);
                    prop_assert!(p >= earliest, "{} before min_turn + delay", p);
                    let situation = d.situation.expect("a handoff reports its situation");
                    prop_assert!(policy.hand_off_on.contains(&situation));
                    prop_assert_eq!(d.turn(&tl), Some(tl.points[p as usize - 1].turn));
                }
                None => {
                    prop_assert_eq!(d.situation, None);
                    prop_assert_eq!(d.turn(&tl), None);
                }
            }
            let timing = Timing::of(d.point, tl.historical);
            prop_assert!(Timing::ALL.contains(&timing));
        }
    }
}
