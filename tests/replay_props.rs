//! Properties of the replay state machine over random timelines and policies.

use handoff::policy::Policy;
use handoff::replay::{decide, DecisionPoint, Timeline};
use handoff::signals::vocabulary::{Guard, Signal, SignalSet, Situation};
use proptest::prelude::*;

fn arb_timeline() -> impl Strategy<Value = Timeline> {
    let point = (any::<u32>(), 0u8..16, 1u32..4);
    (
        prop::collection::vec(point, 0..12),
        any::<bool>(),
        prop::option::of(0i64..3000),
        any::<bool>(),
    )
        .prop_map(|(raw, enterprise_segment, employee_count, historical)| {
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
                        signals: SignalSet(bits & (bits >> 7) & (bits >> 13) & ((1 << 21) - 1)),
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

fn arb_policy() -> impl Strategy<Value = Policy> {
    let situations = prop::sample::subsequence(Situation::ALL.to_vec(), 0..=8);
    let guards = prop::sample::subsequence(Guard::ALL.to_vec(), 0..=3);
    (
        situations,
        guards,
        0u8..=4,
        2u32..4,
        1i64..3000,
        1u32..5,
        0u32..4,
        prop::collection::vec(0.0f64..1.0, 21),
        0.0f64..3.0,
    )
        .prop_map(|(hand_off_on, unless, mq, roa, ee, min_turn, delay, w, threshold)| {
            let mut p = Policy::new("p", hand_off_on);
            p.unless = unless;
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

proptest! {
    #[test]
    fn more_delay_never_hands_off_earlier(policy in arb_policy(), tl in arb_timeline(), extra in 1u32..4) {
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
    fn empty_hand_off_on_never_hands_off(mut policy in arb_policy(), tl in arb_timeline()) {
        policy.hand_off_on.clear();
        policy.bypass.clear();
        prop_assert_eq!(decide(&policy, &tl).point, None);
    }

    #[test]
    fn decision_is_within_the_conversation_and_after_min_turn(policy in arb_policy(), tl in arb_timeline()) {
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
