//! Tests of the whole estimation on hand-built timelines: a simulated world with a known
//! truth, the honesty rules, and logged propensities.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::features::tests::{conversation, point};
use super::logistic::sigmoid;
use super::*;
use crate::model::Conversation;
use crate::signals::vocabulary::Signal;

const POINTS: u32 = 4;

/// One simulated conversation: its latent-but-observable state and true outcome model.
struct World {
    conversations: Vec<Conversation>,
    timelines: Vec<Timeline>,
    observed: Vec<Observed>,
    /// True P(meeting | x, no handoff) per conversation.
    truth_never: Vec<f64>,
    /// True P(meeting | x, handoff at point 1) per conversation.
    truth_first: Vec<f64>,
    hot: Vec<bool>,
}

fn meeting_probability(q: u32, hot: bool, handoff: Option<u32>) -> f64 {
    let effect = match handoff {
        None => -0.6,
        Some(d) => 0.4 - 0.2 * f64::from(d - 1),
    };
    sigmoid(-1.8 + 0.5 * f64::from(q) + 1.0 * f64::from(u8::from(hot)) + effect)
}

/// History hands off with hazard `sigmoid(-3 + 0.4 q + 0.8 hot)` at each point: qualified,
/// hot leads are handed off more, and they also convert more (confounding).
fn simulate(n: usize, seed: u64) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut world = World {
        conversations: vec![],
        timelines: vec![],
        observed: vec![],
        truth_never: vec![],
        truth_first: vec![],
        hot: vec![],
    };
    for i in 0..n {
        let q: u32 = rng.random_range(0..=4);
        let hot = rng.random::<f64>() < 0.4;
        let mask = ((1u32 << q) - 1) as u8;
        let first = if hot { point(&[Signal::DemoRequest], mask) } else { point(&[], mask) };
        let mut points = vec![first];
        points.extend((1..POINTS).map(|_| point(&[], mask)));
        let hazard = sigmoid(-3.0 + 0.4 * f64::from(q) + 0.8 * f64::from(u8::from(hot)));
        let historical = (1..=POINTS).find(|_| rng.random::<f64>() < hazard);
        let meeting = rng.random::<f64>() < meeting_probability(q, hot, historical);
        world.conversations.push(conversation(&format!("c{i}")));
        world.timelines.push(Timeline { points, historical, ..Timeline::default() });
        world.observed.push(Observed { meeting, opportunity: meeting, amount: 0.0 });
        world.truth_never.push(meeting_probability(q, hot, None));
        world.truth_first.push(meeting_probability(q, hot, Some(1)));
        world.hot.push(hot);
    }
    world
}

fn units(world: &World) -> Vec<Unit<'_>> {
    (0..world.conversations.len())
        .map(|i| Unit {
            conversation: &world.conversations[i],
            timeline: &world.timelines[i],
            observed: world.observed[i],
            in_window: true,
        })
        .collect()
}

fn config(estimator: EstimatorKind) -> EstimationConfig {
    EstimationConfig { estimator, clip: 50.0, tolerance: 0, bootstrap: 0, seed: 7 }
}

fn meeting_estimate(units: &[Unit], kind: EstimatorKind, decisions: &[Decision]) -> f64 {
    let estimation = Estimation::fit(units, &config(kind));
    let e = estimation.evaluate(units, decisions);
    e.rates.meeting_rate.estimate.expect("supported")
}

#[test]
fn dr_and_ipw_recover_the_truth_where_matched_is_confounded() {
    let seed: u64 = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(11);
    let world = simulate(12000, seed);
    let units = units(&world);
    let never = vec![Decision::NEVER; units.len()];
    let truth = world.truth_never.iter().sum::<f64>() / units.len() as f64;
    let dr = meeting_estimate(&units, EstimatorKind::Dr, &never);
    let ipw = meeting_estimate(&units, EstimatorKind::Ipw, &never);
    let snipw = meeting_estimate(&units, EstimatorKind::Snipw, &never);
    let matched = meeting_estimate(&units, EstimatorKind::Matched, &never);
    eprintln!("truth {truth} dr {dr} ipw {ipw} snipw {snipw} matched {matched}");
    assert!((dr - truth).abs() < 0.02, "dr {dr} truth {truth}");
    assert!((ipw - truth).abs() < 0.02, "ipw {ipw} truth {truth}");
    assert!((snipw - truth).abs() < 0.02, "snipw {snipw} truth {truth}");
    // History keeps the cold, unqualified leads with the AI: their raw rate understates it.
    assert!(truth - matched > 0.04, "matched {matched} truth {truth}");
}

/// A state-dependent policy: hand off at once when the lead is hot, never otherwise.
#[test]
fn dr_recovers_a_state_dependent_policy_and_its_handoff_to_meeting() {
    let seed: u64 = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(21);
    let world = simulate(12000, seed);
    let units = units(&world);
    let decisions: Vec<Decision> = world
        .hot
        .iter()
        .map(
            |&hot| if hot { Decision { point: Some(1), situation: None } } else { Decision::NEVER },
        )
        .collect();
    let n = units.len() as f64;
    let per_unit =
        |i: usize| if world.hot[i] { world.truth_first[i] } else { world.truth_never[i] };
    let truth = (0..units.len()).map(per_unit).sum::<f64>() / n;
    let hot = world.hot.iter().filter(|h| **h).count() as f64;
    let truth_to_meeting =
        (0..units.len()).filter(|&i| world.hot[i]).map(|i| world.truth_first[i]).sum::<f64>() / hot;
    let e = Estimation::fit(&units, &config(EstimatorKind::Dr)).evaluate(&units, &decisions);
    let dr = e.rates.meeting_rate.estimate.unwrap();
    let to_meeting = e.rates.handoff_to_meeting.estimate.unwrap();
    eprintln!("truth {truth} dr {dr}; handoff_to_meeting truth {truth_to_meeting} dr {to_meeting}");
    assert!((dr - truth).abs() < 0.02, "dr {dr} truth {truth}");
    assert!((to_meeting - truth_to_meeting).abs() < 0.03, "{to_meeting} vs {truth_to_meeting}");
    assert!((e.rates.handoff_rate - hot / n).abs() < 1e-12);
}

#[test]
fn intervals_cover_and_bootstrap_is_reproducible() {
    let world = simulate(1500, 3);
    let units = units(&world);
    let never = vec![Decision::NEVER; units.len()];
    let mut cfg = config(EstimatorKind::Dr);
    cfg.bootstrap = 50;
    let a = Estimation::fit(&units, &cfg).evaluate(&units, &never);
    let b = Estimation::fit(&units, &cfg).evaluate(&units, &never);
    assert_eq!(a, b);
    let m = a.rates.meeting_rate;
    assert!(m.low.unwrap() < m.estimate.unwrap() && m.estimate.unwrap() < m.high.unwrap());
    assert_eq!(a.rates.handoff_to_meeting, Estimate::NULL, "a policy that never hands off");
    assert_eq!(a.handoffs, 0);
    assert!(a.effective_sample_size.unwrap() > 30.0);
}

#[test]
fn a_handing_off_policy_is_not_estimated_from_history_that_never_hands_off() {
    let mut world = simulate(50, 5);
    world.timelines.iter_mut().for_each(|t| t.historical = None);
    let units = units(&world);
    let at_one = vec![Decision { point: Some(1), situation: None }; units.len()];
    let e = Estimation::fit(&units, &config(EstimatorKind::Dr)).evaluate(&units, &at_one);
    assert_eq!(e.rates.meeting_rate, Estimate::NULL);
    assert_eq!(e.rates.handoff_to_meeting, Estimate::NULL);
    assert_eq!(e.rates.handoff_rate, 1.0);
    assert!(e.warnings[0].contains("history never hands off"), "{:?}", e.warnings);
}

#[test]
fn a_policy_that_never_hands_off_is_not_estimated_from_history_that_always_does() {
    let mut world = simulate(50, 5);
    world.timelines.iter_mut().for_each(|t| t.historical = Some(2));
    let units = units(&world);
    let never = vec![Decision::NEVER; units.len()];
    let e = Estimation::fit(&units, &config(EstimatorKind::Dm)).evaluate(&units, &never);
    assert_eq!(e.rates.opportunity_rate, Estimate::NULL);
    assert!(e.warnings[0].contains("history always hands off"), "{:?}", e.warnings);
}

#[test]
fn rare_agreement_is_flagged_as_resting_on_the_model() {
    let world = simulate(400, 9);
    let units = units(&world);
    // Agrees with history in 2 of 400 conversations only.
    let last: Vec<Decision> = units
        .iter()
        .enumerate()
        .map(|(i, u)| match (i < 2, u.timeline.historical) {
            (true, h) => Decision { point: h, situation: None },
            (false, Some(_)) => Decision::NEVER,
            (false, None) => Decision { point: Some(POINTS), situation: None },
        })
        .collect();
    let estimation = Estimation::fit(&units, &config(EstimatorKind::Dr));
    let e = estimation.evaluate_policy("late", &units, &last).estimate;
    assert!(e.rates.meeting_rate.estimate.is_some());
    assert!(e.matched_share.unwrap() < 0.05);
    assert!(
        e.warnings
            .iter()
            .any(|w| w.starts_with("estimate for late rests mostly on the outcome model")),
        "{:?}",
        e.warnings
    );
    // ipw has nothing to average where nothing agrees; say so instead of printing zero.
    let none_agree: Vec<Decision> = units
        .iter()
        .map(|u| match u.timeline.historical {
            Some(_) => Decision::NEVER,
            None => Decision { point: Some(1), situation: None },
        })
        .collect();
    let ipw = Estimation::fit(&units, &config(EstimatorKind::Ipw)).evaluate(&units, &none_agree);
    assert_eq!(ipw.rates.meeting_rate, Estimate::NULL);
    assert!(ipw.warnings.iter().any(|w| w.contains("no conversation matches")));
}

#[test]
fn logged_probabilities_replace_the_hazard_model() {
    let mut world = simulate(30, 2);
    for tl in &mut world.timelines {
        for p in &mut tl.points {
            p.handoff_probability = Some(0.5);
        }
    }
    let units = units(&world);
    let prep = models::Prepared::new(&units, &QualityReference::default().policy);
    let hazard = HazardModel::fit(&units, &prep, LogisticOptions::default());
    for i in 0..units.len() {
        let expected = match units[i].timeline.historical {
            Some(h) => 0.5f64.powi(h as i32),
            None => 0.5f64.powi(POINTS as i32),
        };
        assert!((hazard.path_propensity(&units, &prep, i) - expected).abs() < 1e-12);
    }
}

#[test]
fn the_paths_read_from_the_design_match_the_rows_rebuilt() {
    let mut world = simulate(400, 9);
    // Some units log their probabilities: their propensities come from the logs.
    for tl in world.timelines.iter_mut().take(50) {
        for p in &mut tl.points {
            p.handoff_probability = Some(0.3);
        }
    }
    let units = units(&world);
    let prep = models::Prepared::new(&units, &QualityReference::default().policy);
    let (hazard, paths) = HazardModel::fit_with_paths(&units, &prep, LogisticOptions::default());
    let paths = paths.expect("a fitted hazard gives its paths");
    let dim = hazard.dim();
    assert!(dim > 0);
    assert_eq!(paths.scores.len(), units.len() * dim);
    for i in 0..units.len() {
        let rebuilt = hazard.path_propensity(&units, &prep, i);
        let read = paths.propensities[i];
        assert!((read - rebuilt).abs() <= 1e-6 * rebuilt.max(1e-12), "{i}: {read} vs {rebuilt}");
        let mut score = vec![0.0; dim];
        hazard.add_score(&units, &prep, i, &mut score);
        for (j, s) in score.iter().enumerate() {
            let got = f64::from(paths.scores[i * dim + j]);
            assert!((got - s).abs() <= 1e-5 * s.abs().max(1.0), "{i},{j}: {got} vs {s}");
        }
    }
}

#[test]
fn historical_uses_observed_outcomes_with_wilson_intervals() {
    let world = simulate(40, 4);
    let mut units = units(&world);
    units[0].in_window = false;
    let e = historical_estimate(&units);
    let window: Vec<&Unit> = units.iter().filter(|u| u.in_window).collect();
    let meetings = window.iter().filter(|u| u.observed.meeting).count() as u64;
    assert_eq!(e.conversations, 39);
    assert_eq!(e.rates.meeting_rate, intervals::wilson(meetings, 39));
    let handed: Vec<&&Unit> = window.iter().filter(|u| u.timeline.historical.is_some()).collect();
    let handed_meetings = handed.iter().filter(|u| u.observed.meeting).count() as u64;
    assert_eq!(e.handoffs, handed.len() as u64);
    assert_eq!(e.rates.handoff_to_meeting, intervals::wilson(handed_meetings, handed.len() as u64));
}

#[test]
fn misaligned_inputs_give_null_estimates_not_a_panic() {
    let world = simulate(20, 1);
    let units = units(&world);
    let estimation = Estimation::fit(&units, &config(EstimatorKind::Dr));
    let e = estimation.evaluate(&units, &[Decision::NEVER; 3]);
    assert_eq!(e.rates.meeting_rate, Estimate::NULL);
    assert!(e.warnings[0].contains("do not line up"));
    let e = estimation.evaluate(&units[..5], &[Decision::NEVER; 5]);
    assert_eq!(e.rates.meeting_rate, Estimate::NULL);
}

/// Timing on a larger world (run with `--ignored --nocapture`); not a correctness test.
#[test]
#[ignore]
fn timing_of_fit_and_bootstrap() {
    let world = simulate(100_000, 1);
    let units = units(&world);
    let mut cfg = config(EstimatorKind::Dr);
    cfg.bootstrap = 200;
    let start = std::time::Instant::now();
    let estimation = Estimation::fit(&units, &cfg);
    let fitted = start.elapsed();
    let never = vec![Decision::NEVER; units.len()];
    let e = estimation.evaluate(&units, &never);
    eprintln!(
        "fit {fitted:?}, evaluate with 200 replicates {:?}: {:?}",
        start.elapsed() - fitted,
        e.rates.meeting_rate
    );
}

#[test]
fn historical_contributions_reproduce_the_observed_rates() {
    let world = simulate(60, 8);
    let units = units(&world);
    let h = historical_evaluation(&units);
    let observed = h.statistics.outcomes[0].value().unwrap();
    assert_eq!(Some(observed), h.estimate.rates.meeting_rate.estimate);
    let to_meeting = h.statistics.handoff_to[0].value().unwrap();
    assert!((to_meeting - h.estimate.rates.handoff_to_meeting.estimate.unwrap()).abs() < 1e-12);
}

#[test]
fn tolerance_widens_agreement_for_matched_only() {
    let world = simulate(300, 6);
    let units = units(&world);
    // One point off history wherever history hands off; never where it does not.
    let off_by_one = |h: u32| if h < POINTS { h + 1 } else { h - 1 };
    let shifted: Vec<Decision> = units
        .iter()
        .map(|u| Decision { point: u.timeline.historical.map(off_by_one), situation: None })
        .collect();
    let exact = Estimation::fit(&units, &config(EstimatorKind::Matched)).evaluate(&units, &shifted);
    let mut wide = config(EstimatorKind::Matched);
    wide.tolerance = 1;
    let widened = Estimation::fit(&units, &wide).evaluate(&units, &shifted);
    let kept = units.iter().filter(|u| u.timeline.historical.is_none()).count() as f64;
    assert!((exact.matched_share.unwrap() - kept / 300.0).abs() < 1e-12);
    assert_eq!(widened.matched_share, Some(1.0));
    let mut dr_wide = config(EstimatorKind::Dr);
    dr_wide.tolerance = 1;
    let dr = Estimation::fit(&units, &dr_wide).evaluate(&units, &shifted);
    assert!(dr.matched_share.unwrap() < 1.0);
}

fn meeting_interval(units: &[Unit], config: &EstimationConfig, decisions: &[Decision]) -> Estimate {
    Estimation::fit(units, config).evaluate(units, decisions).rates.meeting_rate
}

#[test]
fn the_models_uncertainty_widens_a_model_based_interval_and_keeps_the_estimate() {
    let world = simulate(3000, 5);
    let units = units(&world);
    // Hand off everything at point 1: history rarely did, so `dm` extrapolates.
    let first = vec![Decision { point: Some(1), situation: None }; units.len()];
    for bootstrap in [200, 0] {
        let cfg = EstimationConfig { bootstrap, ..config(EstimatorKind::Dm) };
        let with_models = meeting_interval(&units, &cfg, &first);
        let mut fixed = Estimation::fit(&units, &cfg);
        fixed.hold_models_fixed();
        let held = fixed.evaluate(&units, &first).rates.meeting_rate;
        assert_eq!(held.estimate, with_models.estimate);
        let width = |e: &Estimate| e.high.unwrap() - e.low.unwrap();
        // Holding the model fixed, `dm`'s interval is only the noise of averaging predictions.
        assert!(
            width(&with_models) > 1.5 * width(&held),
            "bootstrap {bootstrap}: held {held:?} with the models {with_models:?}"
        );
        // Same seed, same interval.
        assert_eq!(with_models, meeting_interval(&units, &cfg, &first));
    }
}

#[test]
fn bootstrap_and_normal_intervals_agree_with_the_models_uncertainty() {
    let world = simulate(3000, 5);
    let units = units(&world);
    let first = vec![Decision { point: Some(1), situation: None }; units.len()];
    for kind in [EstimatorKind::Dm, EstimatorKind::Dr, EstimatorKind::Ipw] {
        let boot =
            meeting_interval(&units, &EstimationConfig { bootstrap: 400, ..config(kind) }, &first);
        let normal =
            meeting_interval(&units, &EstimationConfig { bootstrap: 0, ..config(kind) }, &first);
        let width = |e: &Estimate| e.high.unwrap() - e.low.unwrap();
        let ratio = width(&boot) / width(&normal);
        assert!((0.75..1.33).contains(&ratio), "{kind:?}: bootstrap {boot:?} normal {normal:?}");
    }
}

/// At a penalised optimum, each model's scores sum to the penalty's gradient (`lambda * b`
/// off the intercept, 0 on it): a check that `scores` lays every group out where
/// `model_groups` says it is, since the shifts are built from those sums.
#[test]
fn every_models_scores_sum_to_its_penalty_gradient() {
    let world = simulate(2000, 3);
    let units = units(&world);
    for kind in [EstimatorKind::Dm, EstimatorKind::Ipw] {
        let estimation = Estimation::fit(&units, &config(kind));
        let (groups, index) = estimation.model_groups(&units);
        let width: usize = groups.iter().map(|g| g.dim).sum();
        let mut total = vec![0.0; width];
        for i in 0..units.len() {
            let mut row = vec![0.0; width];
            estimation.scores(&index, &units, i, &mut row);
            total.iter_mut().zip(&row).for_each(|(t, r)| *t += r);
        }
        let lambda = LogisticOptions::default().lambda;
        // Per model, its coefficients and the penalty on each.
        let mut coefficients: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
        let even = |k: usize| (0..k).map(|j| if j == 0 { 0.0 } else { lambda }).collect();
        if let Some(h) = &estimation.hazard {
            coefficients.push((h.coefficients().to_vec(), h.penalties().to_vec()));
        }
        if let Some(Outcome::InSample(m)) = &estimation.outcomes {
            for outcome in 0..2 {
                let coef = m.coefficients(outcome).to_vec();
                let k = coef.len();
                coefficients.push((coef, even(k)));
            }
        }
        assert_eq!(coefficients.len(), groups.len(), "{kind:?}");
        let mut at = 0;
        for (coef, penalties) in coefficients {
            for (j, b) in coef.iter().enumerate() {
                let expected = penalties[j] * b;
                let got = total[at + j];
                // Hazard scores are kept as f32: their sum carries that rounding.
                assert!(
                    (got - expected).abs() < 1e-3,
                    "{kind:?} coordinate {j}: {got} vs {expected}"
                );
            }
            at += coef.len();
        }
    }
}

/// The sums behind every interval are sums over conversations with keyed weights: computed
/// over two shards and added, they give the one-pass sums, so the estimates and intervals are
/// the same (to rounding) however the data is split.
#[test]
fn partial_sums_over_two_shards_add_up_to_one_pass() {
    use super::resample::{weighted_sums, weights_of};
    let world = simulate(1500, 4);
    let units = units(&world);
    let cfg = EstimationConfig { bootstrap: 60, ..config(EstimatorKind::Dr) };
    let estimation = Estimation::fit(&units, &cfg);
    let first = vec![Decision { point: Some(1), situation: None }; units.len()];
    let evaluation = estimation.evaluate_policy("first", &units, &first);
    let resampler = estimation.resampler();
    let (keys, seed, b) = (&resampler.keys, resampler.seed, resampler.replicates);
    let cut = 611;
    let s = &evaluation.statistics;
    let columns: Vec<_> =
        s.outcomes.iter().chain(&s.handoff_to).flat_map(|st| st.columns()).collect();
    assert!(columns.iter().any(|c| c.sensitivity.is_some()), "the models move some column");
    for column in columns {
        let one_pass = column.replicate_sums(resampler);
        let a = weighted_sums(&weights_of(&keys[..cut], seed, b), b, &[&column.values[..cut]]);
        let rest = weighted_sums(&weights_of(&keys[cut..], seed, b), b, &[&column.values[cut..]]);
        let mut added: Vec<f64> = a[0].iter().zip(&rest[0]).map(|(x, y)| x + y).collect();
        if let Some(sensitivity) = &column.sensitivity {
            resampler.models.add_shifts(sensitivity, &mut added);
        }
        for (x, y) in one_pass.iter().zip(&added) {
            assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{x} vs {y}");
        }
    }
}

/// Weights and folds are keyed by conversation id: the same conversations in another order
/// give the same estimates and intervals, to rounding (the models' shifts are summed in
/// single precision, in blocks that another order fills differently: about 1e-8).
#[test]
fn row_order_does_not_change_the_figures() {
    let world = simulate(1200, 8);
    let forward = units(&world);
    let mut backward = forward.clone();
    backward.reverse();
    let cfg = EstimationConfig { bootstrap: 80, ..config(EstimatorKind::Dr) };
    let first = vec![Decision { point: Some(1), situation: None }; forward.len()];
    let a = Estimation::fit(&forward, &cfg).evaluate(&forward, &first).rates;
    let b = Estimation::fit(&backward, &cfg).evaluate(&backward, &first).rates;
    for rate in Rate::ALL {
        let (x, y) = (a.get(rate), b.get(rate));
        for (u, v) in [(x.estimate, y.estimate), (x.low, y.low), (x.high, y.high)] {
            let (u, v) = (u.unwrap(), v.unwrap());
            assert!((u - v).abs() <= 1e-7 * u.abs().max(1.0), "{rate:?}: {x:?} vs {y:?}");
        }
    }
}

/// Slices (slices.md): the hot/cold cut of the simulated world, with and without a second
/// cut (cells mode and, with many slices, one group per cut).
fn sliced_run(
    world: &World,
    cfg: &EstimationConfig,
    second: Option<(&[u32], usize)>,
) -> (Vec<PolicyEvaluation>, Vec<Vec<Vec<PolicyEvaluation>>>) {
    let units = units(world);
    let decisions: Vec<Decision> = world
        .hot
        .iter()
        .map(|&h| if h { Decision { point: Some(1), situation: None } } else { Decision::NEVER })
        .collect();
    let never = vec![Decision::NEVER; units.len()];
    let hot: Vec<u32> = world.hot.iter().map(|&h| u32::from(h)).collect();
    let mut cuts = vec![slices::Cut { slice_of: &hot, slices: 2 }];
    if let Some((slice_of, slices)) = second {
        cuts.push(slices::Cut { slice_of, slices });
    }
    let estimation = Estimation::fit(&units, cfg);
    let policies: [(&str, &[Decision]); 2] = [("hot-first", &decisions), ("never", &never)];
    let (sliced, _) = estimation.evaluate_policies_sliced(&units, &policies, &cuts);
    (sliced.overall, sliced.slices)
}

#[test]
fn slice_estimates_recover_each_slice_s_truth_and_average_to_the_whole() {
    let world = simulate(12000, 31);
    let mut cfg = config(EstimatorKind::Dr);
    cfg.bootstrap = 60;
    let (overall, slices) = sliced_run(&world, &cfg, None);
    let n = world.hot.len() as f64;
    for (k, slice) in slices[0].iter().enumerate() {
        let members: Vec<usize> =
            (0..world.hot.len()).filter(|&i| u32::from(world.hot[i]) as usize == k).collect();
        // "never" in this slice: the mean of its conversations' true never-rate.
        let truth =
            members.iter().map(|&i| world.truth_never[i]).sum::<f64>() / members.len() as f64;
        let e = &slice[1].estimate;
        assert_eq!(e.conversations, members.len() as u64);
        let m = e.rates.meeting_rate;
        let v = m.estimate.unwrap();
        assert!((v - truth).abs() < 0.03, "slice {k}: {v} vs truth {truth}");
        assert!(m.low.unwrap() < v && v < m.high.unwrap());
        // The hot slice is handed off at once by "hot-first"; the cold never.
        let handoffs = slice[0].estimate.handoffs;
        assert_eq!(handoffs, if k == 1 { members.len() as u64 } else { 0 });
    }
    // Per-conversation figures: the whole window is the slices' conversation-weighted mean.
    for p in 0..2 {
        let whole = overall[p].estimate.rates.meeting_rate.estimate.unwrap();
        let mean: f64 = slices[0]
            .iter()
            .map(|s| {
                s[p].estimate.conversations as f64
                    * s[p].estimate.rates.meeting_rate.estimate.unwrap()
            })
            .sum::<f64>()
            / n;
        assert!((whole - mean).abs() < 1e-9, "policy {p}: {whole} vs {mean}");
    }
}

#[test]
fn a_second_cut_leaves_the_first_cut_s_figures_and_many_slices_agree_with_cells() {
    let world = simulate(3000, 41);
    let mut cfg = config(EstimatorKind::Dr);
    cfg.bootstrap = 40;
    let (_, one) = sliced_run(&world, &cfg, None);
    let parity: Vec<u32> = (0..world.hot.len() as u32).map(|i| i % 3).collect();
    let (_, two) = sliced_run(&world, &cfg, Some((&parity, 3)));
    // 2 x 3 cells; and 2 x 40 slices (past MAX_CELLS: one group per slice of every cut).
    let many: Vec<u32> = (0..world.hot.len() as u32).map(|i| i % 40).collect();
    let (_, wide) = sliced_run(&world, &cfg, Some((&many, 40)));
    let close = |a: &Estimate, b: &Estimate| {
        let pairs = [(a.estimate, b.estimate), (a.low, b.low), (a.high, b.high)];
        pairs.iter().all(|(x, y)| (x.unwrap() - y.unwrap()).abs() < 1e-9)
    };
    for k in 0..2 {
        for p in 0..2 {
            let a = &one[0][k][p].estimate.rates.meeting_rate;
            assert!(close(a, &two[0][k][p].estimate.rates.meeting_rate), "cells, slice {k}");
            assert!(close(a, &wide[0][k][p].estimate.rates.meeting_rate), "per cut, slice {k}");
        }
    }
    assert_eq!(two[1].len(), 3);
    assert_eq!(wide[1].len(), 40);
    let sizes: u64 = wide[1].iter().map(|s| s[0].estimate.conversations).sum();
    assert_eq!(sizes, world.hot.len() as u64);
}

#[test]
fn restricting_a_mean_divides_by_the_slice_and_keeps_its_own_ratio() {
    use intervals::{Column, Mean, Restriction, Subset};
    // Values 1, 2, 3, 4; slice {0, 2}: mean (1 + 3) / 2 = 2.
    let s = Statistic::of(Mean::plain(vec![1.0, 2.0, 3.0, 4.0]), None);
    let subset = Subset::new(vec![0, 2]);
    let ones: Arc<[f32]> = vec![1.0f32; 4].into();
    let indicator = Column::indicator(&ones, &subset);
    let none = |_: &Column| None;
    let r = Restriction::new(&subset, &indicator, &none);
    assert!((s.restricted(&r).value().unwrap() - 2.0).abs() < 1e-12);
    // A ratio of sums keeps the slice's own numerator and denominator: (2 + 0) / (1 + 1).
    let ratio = Statistic::of(
        Mean::ratio(vec![2.0, 5.0, 0.0, 5.0], Column::new(vec![1.0, 0.0, 1.0, 9.0])),
        None,
    );
    assert!((ratio.restricted(&r).value().unwrap() - 1.0).abs() < 1e-12);
    // Its normal interval treats the slice as a domain of the window: value +- z sd / sqrt(n)
    // of (v_i - 2) / (2 / 4) on the slice and 0 elsewhere: (-2, 0, 2, 0).
    let e = s.restricted(&r).normal_interval(&resample::Resampler::normal(4));
    let sd = intervals::sample_sd(&[-2.0, 0.0, 2.0, 0.0]);
    assert!((e.high.unwrap() - (2.0 + intervals::Z95 * sd / 2.0)).abs() < 1e-9, "{e:?}");
}

#[test]
fn bonferroni_intervals_are_wider_and_the_quantile_is_exact_at_95() {
    assert_eq!(intervals::normal_quantile(0.975), intervals::Z95);
    assert!((intervals::normal_quantile(0.995) - 2.575_829_303_549).abs() < 1e-8);
    assert!((intervals::normal_quantile(0.025) + 1.959_963_984_540).abs() < 1e-8);
    let s =
        Statistic::of(intervals::Mean::plain((0..100).map(|i| f64::from(i % 7)).collect()), None);
    let r = resample::Resampler::normal(100);
    let a = intervals::intervals_at(&[&s], &r, 0.95)[0];
    let b = intervals::intervals_at(&[&s], &r, 0.99)[0];
    assert!(b.low.unwrap() < a.low.unwrap() && b.high.unwrap() > a.high.unwrap());
}

#[test]
fn a_cut_of_one_slice_has_the_window_s_figures_and_support() {
    // One slice (a column with one value in the window, or `--max-slices 1`): one group,
    // whose totals must still be counted (`ipw` needs its agreeing conversations).
    let world = simulate(2000, 51);
    let units = units(&world);
    let never = vec![Decision::NEVER; units.len()];
    let one = vec![0u32; units.len()];
    let cuts = [slices::Cut { slice_of: &one, slices: 1 }];
    for kind in [EstimatorKind::Ipw, EstimatorKind::Dr] {
        let estimation = Estimation::fit(&units, &config(kind));
        let policies: [(&str, &[Decision]); 1] = [("never", &never)];
        let (sliced, _) = estimation.evaluate_policies_sliced(&units, &policies, &cuts);
        let whole = &sliced.overall[0].estimate;
        let slice = &sliced.slices[0][0][0].estimate;
        assert_eq!(slice.matched_share, whole.matched_share, "{kind:?}");
        assert_eq!(slice.effective_sample_size, whole.effective_sample_size, "{kind:?}");
        let (a, b) = (slice.rates.meeting_rate.estimate, whole.rates.meeting_rate.estimate);
        assert!((a.unwrap() - b.unwrap()).abs() < 1e-9, "{kind:?}: {a:?} vs {b:?}");
        assert!(slice.warnings.is_empty(), "{kind:?}: {:?}", slice.warnings);
    }
}

#[test]
fn a_slice_where_history_never_hands_off_gives_no_figure_for_a_handing_off_policy() {
    // History hands off only in the cold slice: in the hot slice, a policy that hands off
    // has no support, and says so, while the cold slice is estimated.
    let mut world = simulate(3000, 61);
    for (t, &hot) in world.timelines.iter_mut().zip(&world.hot) {
        if hot {
            t.historical = None;
        }
    }
    let units = units(&world);
    let at_one = vec![Decision { point: Some(1), situation: None }; units.len()];
    let hot: Vec<u32> = world.hot.iter().map(|&h| u32::from(h)).collect();
    let cuts = [slices::Cut { slice_of: &hot, slices: 2 }];
    let estimation = Estimation::fit(&units, &config(EstimatorKind::Dr));
    let policies: [(&str, &[Decision]); 1] = [("first", &at_one)];
    let (sliced, _) = estimation.evaluate_policies_sliced(&units, &policies, &cuts);
    let cold = &sliced.slices[0][0][0];
    let hot = &sliced.slices[0][1][0];
    assert!(cold.supported && cold.estimate.rates.meeting_rate.estimate.is_some());
    assert!(!hot.supported);
    assert_eq!(hot.estimate.rates.meeting_rate, Estimate::NULL);
    assert!(
        hot.estimate.warnings[0].contains("history never hands off"),
        "{:?}",
        hot.estimate.warnings
    );
}

/// The sensitivity inputs (sensitivity.md) under `dr`: one per window conversation, with
/// history's own point; the bounds at Gamma 1 are the estimate and at Gamma 3 hold the truth.
#[test]
fn sensitivity_bounds_start_at_dr_and_widen_around_the_truth() {
    let world = simulate(4000, 5);
    let units = units(&world);
    let estimation = Estimation::fit(&units, &config(EstimatorKind::Dr));
    let inputs = estimation.sensitivity_inputs(&units).expect("dr has its inputs");
    assert_eq!(inputs.conversations.len(), units.len());
    assert!(inputs.conversations.iter().all(|c| !c.known && c.propensity > 0.0));
    let never = vec![Decision::NEVER; units.len()];
    let evaluation = estimation.evaluate_policy("never", &units, &never);
    let dr = evaluation.estimate.rates.meeting_rate.estimate.unwrap();
    let sums = sensitivity::policy_sums(
        &inputs,
        &[1.0, 3.0],
        &[&evaluation.handoff_points],
        1,
        &|_, out| {
            out.clear();
            out.push(0);
        },
    );
    let n = units.len() as f64;
    let at = |g: usize| sensitivity::Interval::shifted(dr, sums[0][0].per_gamma[g][0], 1.0 / n);
    assert_eq!(at(0), sensitivity::Interval::point(dr));
    let truth = world.truth_never.iter().sum::<f64>() / n;
    let wide = at(1);
    assert!(wide.low < truth && truth < wide.high, "{wide:?} truth {truth}");
    assert!(wide.low < dr - 0.01 && wide.high > dr + 0.01, "{wide:?} widens around {dr}");
}

#[test]
fn sensitivity_is_skipped_where_probabilities_are_logged_or_the_estimator_is_not_dr() {
    let mut world = simulate(60, 2);
    let units_before = units(&world);
    let ipw = Estimation::fit(&units_before, &config(EstimatorKind::Ipw));
    assert_eq!(ipw.sensitivity_inputs(&units_before).err(), Some(sensitivity::NEEDS_DR));
    for tl in &mut world.timelines {
        for p in &mut tl.points {
            p.handoff_probability = Some(0.5);
        }
    }
    let units = units(&world);
    let dr = Estimation::fit(&units, &config(EstimatorKind::Dr));
    assert_eq!(dr.sensitivity_inputs(&units).err(), Some(sensitivity::LOGGED));
}
