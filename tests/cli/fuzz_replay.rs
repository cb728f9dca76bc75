//! Fuzz target (property-based, proptest): the replay core. Arbitrary conversations (any turn
//! numbers, duplicates, senders, participants, qualification bits, signal bits outside the
//! vocabulary) become timelines, replayed under arbitrary policies (any parameter value,
//! NaN and infinite weights and thresholds, huge delays). Nothing may panic, and the
//! invariants of policies.md hold. `FUZZ_CASES` sets the number of cases (scripts/fuzz.sh).

use handoff::model::Conversation;
use handoff::policy::Policy;
use handoff::replay::{build_timeline, decide, replay_all, situation_onsets, Timeline, Timing};
use proptest::prelude::*;

use crate::strategies::{arb_conversation, arb_policy, fuzz_config, PolicyValues};

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
    #![proptest_config(fuzz_config(512, 2000))]

    #[test]
    fn replay_never_panics_and_keeps_its_invariants(
        (conversation, signals) in arb_conversation(),
        policies in prop::collection::vec(arb_policy(PolicyValues::Hostile), 1..4),
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
