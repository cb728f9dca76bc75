//! Cross-validated figures of the learned detector's training variants, for choosing them
//! without the held-out set (docs/signals.md, "The learned detector").
//!
//! ```sh
//! cargo run --example detector_cv -- [--extra LABELS.csv]... [--epochs N] [--l2 X] \
//!     [--train-only LABELS.csv]... [--positive-weight X] [--real-example-weight X] [--learning-rate X] [--seed N] \
//!     [--hidden UNITS] [--hidden-l2 X] [--hidden-init X] [--dump OOF.tsv]
//! ```
//!
//! Trains on the shipped rows (plus any `--extra` files) with 5-fold cross-validation once,
//! then, for each threshold rule (best F1; per-signal precision targets 0.80, 0.85, 0.90;
//! F-beta; the joint micro-precision rule at targets 0.85 to 0.88 and recall floors 0, 0.5
//! and 0.55, at floor 0.5 with real-text false alarms counting 2 and 3, and the shipped rule:
//! 3 and real-text precision 0.8 where a signal is found 20 times in real text), prints the
//! micro precision and recall of the model and the ensemble twice: with thresholds chosen on
//! all the out-of-fold probabilities (what `handoff detector train` prints) and nested (each
//! fold's thresholds chosen on the other folds only: the honest figure). `--extra` rows are
//! trained on and scored like the shipped ones; `--train-only` rows are in every fold's training
//! set and never scored.

use std::path::Path;

use handoff::signals::detect::SignalCounts;
use handoff::signals::learned::train::{
    out_of_fold, read_labels, shipped_rows, ThresholdRule, TrainOptions,
};
use handoff::signals::learned::Featurizer;
use handoff::signals::Signal;

fn main() -> anyhow::Result<()> {
    let mut rows = shipped_rows()?;
    let mut o = TrainOptions::default();
    let mut train_only = Vec::new();
    let mut dump = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--extra" => rows.extend(read_labels(Path::new(&value))?),
            "--train-only" => train_only.extend(read_labels(Path::new(&value))?),
            "--epochs" => o.epochs = value.parse()?,
            "--l2" => o.l2 = value.parse()?,
            "--positive-weight" => o.positive_weight = value.parse()?,
            "--real-example-weight" => o.real_example_weight = value.parse()?,
            "--learning-rate" => o.learning_rate = value.parse()?,
            "--dump" => dump = Some(value),
            "--hidden" => o.hidden = value.parse()?,
            "--seed" => o.seed = value.parse()?,
            "--hidden-l2" => o.hidden_l2 = value.parse()?,
            "--hidden-init" => o.hidden_init = value.parse()?,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    let featurizer = Featurizer::shipped()?;
    let unscored = train_only.len();
    rows.extend(train_only);
    let oof = out_of_fold(&rows, unscored, &featurizer, &o);
    println!("{} rows ({unscored} trained on only); {o:?}", rows.len());
    if let Some(path) = dump {
        // One line per scored row: fold, labels, lexicon signals (signal indices joined by
        // `;`), then the 21 out-of-fold probabilities: for studying rules and errors offline.
        let names = |s: handoff::signals::SignalSet| {
            Signal::ALL
                .iter()
                .filter(|x| s.contains(**x))
                .map(|x| x.name())
                .collect::<Vec<_>>()
                .join(";")
        };
        let mut out = String::new();
        for i in (0..rows.len()).filter(|&i| oof.scored[i]) {
            let p: Vec<String> = oof.probabilities[i].iter().map(|p| format!("{p:.5}")).collect();
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                oof.fold_of[i],
                names(oof.labels[i]),
                names(oof.lexicon[i]),
                p.join("\t"),
                rows[i].text.replace(['\t', '\n'], " ")
            ));
        }
        std::fs::write(&path, out)?;
    }
    let micro = |counts: &mut dyn Iterator<Item = SignalCounts>| {
        let mut t = SignalCounts::default();
        for c in counts {
            t.tp += c.tp;
            t.fp += c.fp;
            t.fn_ += c.fn_;
        }
        let f = |x: Option<f64>| x.unwrap_or(0.0);
        format!("P {:.3} R {:.3}", f(t.precision()), f(t.recall()))
    };
    let per_signal = [
        ThresholdRule::BestF1,
        ThresholdRule::Precision(0.8),
        ThresholdRule::Precision(0.85),
        ThresholdRule::Precision(0.9),
        ThresholdRule::FBeta(0.7),
        ThresholdRule::FBeta(0.5),
    ];
    // The joint rule over a grid of micro-precision targets and per-signal recall floors.
    let joint = [0.85, 0.86, 0.87, 0.88].into_iter().flat_map(|target| {
        [(0.0, 1, 0.0), (0.5, 1, 0.0), (0.55, 1, 0.0), (0.5, 2, 0.0), (0.5, 3, 0.0), (0.5, 3, 0.8)]
            .into_iter()
            .map(move |(floor, real_weight, real_precision)| ThresholdRule::MicroPrecision {
                target,
                floor,
                real_weight,
                real_precision,
                real_flags: 20,
            })
    });
    for rule in per_signal.into_iter().chain(joint) {
        let chosen = oof.choose_all(rule, |_| true);
        let model = micro(
            &mut Signal::ALL.iter().map(|&s| oof.counts(s, chosen[s.index()].0, None, |_| true)),
        );
        let ens = micro(&mut Signal::ALL.iter().map(|&s| {
            let (t, g) = chosen[s.index()];
            oof.counts(s, t, Some(g), |_| true)
        }));
        let nested = oof.nested(rule);
        let n_model = micro(&mut nested.iter().map(|x| x.1));
        let n_ens = micro(&mut nested.iter().map(|x| x.2));
        let worst = nested
            .iter()
            .map(|x| (x.2.recall().unwrap_or(0.0), x.0.name()))
            .fold((2.0, ""), |a, b| if b.0 < a.0 { b } else { a });
        println!(
            "{rule:?}: in-sample model {model}, ensemble {ens}; nested model {n_model}, \
             ensemble {n_ens}; lowest nested ensemble recall {:.2} ({})",
            worst.0, worst.1
        );
    }
    Ok(())
}
