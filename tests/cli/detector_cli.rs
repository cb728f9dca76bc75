//! The learned detector through the real binary (docs/signals.md): `handoff detector train`
//! (its labels errors, its output, the shipped model reproduced byte for byte), the
//! `detector` and `detector_model` keys, `--detector`, and the columns `handoff signals` adds
//! when it reads text. Also the figures of the three detectors on both held-out sets, printed
//! with floors.

use handoff::signals::detect::{Detector, SignalCounts};
use handoff::signals::learned::train::read_labels;
use handoff::signals::lexicon::LexiconConfig;
use handoff::signals::{DetectorKind, Signal};

use crate::harness::*;

const SMALL_LABELS: &str = "text,signals\n\
how much does it cost,pricing\n\
what is the price per seat,pricing\n\
can we book a demo,demo_request\n\
show me a demo please,demo_request\n\
thanks a lot,\n\
we are a small agency,\n";

fn signals_cmd(
    dir: &std::path::Path,
    policies: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let mut cmd = handoff();
    cmd.args(["signals", "--quiet", "--signal-source", "text", "--data", REPLAY_SMALL])
        .arg("--policies")
        .arg(policies)
        .arg("--out")
        .arg(dir.join("signals.csv"))
        .args(extra);
    run(&mut cmd)
}

#[test]
fn a_bad_labels_file_names_file_row_and_column() {
    let w = Workdir::new();
    let labels = w.write("labels.csv", b"text,signals\nhi,\nhow much,pricey\n");
    let o = run(handoff()
        .args(["detector", "train", "--labels"])
        .arg(&labels)
        .arg("--out")
        .arg(w.join("m.bin")));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("labels.csv: row 2: column signals: unknown signal `pricey`"), "{err}");
    assert!(!w.join("m.bin").exists());
    let missing = w.write("missing.csv", b"text\nhi\n");
    let o = run(handoff()
        .args(["detector", "train", "--labels"])
        .arg(&missing)
        .arg("--out")
        .arg(w.join("m.bin")));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing required column signals"), "{}", stderr(&o));
    // A header and no row: refused, not a model that finds every signal everywhere.
    let empty = w.write("empty.csv", b"text,signals\n");
    let o = run(handoff()
        .args(["detector", "train", "--no-shipped", "--labels"])
        .arg(&empty)
        .arg("--out")
        .arg(w.join("m.bin")));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("empty.csv: no labelled message"), "{}", stderr(&o));
    assert!(!w.join("m.bin").exists());
}

#[test]
fn a_trained_model_is_loaded_by_detector_model() {
    let w = Workdir::new();
    let labels = w.write("labels.csv", SMALL_LABELS.as_bytes());
    let model = w.join("m.bin");
    let o = run(handoff()
        .args(["detector", "train", "--no-shipped", "--labels"])
        .arg(&labels)
        .arg("--out")
        .arg(&model));
    assert_ok(&o);
    let out = stdout(&o);
    assert!(out.contains("6 labelled messages") && out.contains("micro"), "{out}");
    // The policies file names the model relative to its own folder.
    let policies = w.write("p.toml", b"detector = \"model\"\ndetector_model = \"m.bin\"\n");
    let o = signals_cmd(w.path(), &policies, &["--explain"]);
    assert_ok(&o);
    let csv = std::fs::read_to_string(w.join("signals.csv")).expect("signals written");
    let header = csv.lines().next().unwrap_or_default();
    assert_eq!(header, "conversation_id,turn,signals,source,found_by,probabilities,explain");
    // A broken model file is a usage error naming it.
    let broken = w.write("broken.bin", b"not a model");
    let policies = w.write("q.toml", b"detector_model = \"broken.bin\"\n");
    let o = signals_cmd(w.path(), &policies, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&broken.display().to_string()), "{}", stderr(&o));
}

#[test]
fn detector_keys_and_flag() {
    let w = Workdir::new();
    let policies = w.write("p.toml", b"signal_source = \"text\"\ndetector = \"bayes\"\n");
    let o = signals_cmd(w.path(), &policies, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 2: detector: unknown detector `bayes`"), "{}", stderr(&o));
    // The flag overrides the file; lexicon alone has no model probabilities.
    let policies = w.write("ok.toml", b"detector = \"model\"\n");
    let o = signals_cmd(w.path(), &policies, &["--detector", "lexicon"]);
    assert_ok(&o);
    let csv = std::fs::read_to_string(w.join("signals.csv")).expect("signals written");
    assert!(csv.lines().next().unwrap_or_default().ends_with("found_by,probabilities"));
    for line in csv.lines().skip(1) {
        assert!(line.ends_with(",\"\"") || line.contains(":lexicon"), "{line}");
    }
    // From tags, `handoff signals` has its old columns.
    let mut cmd = handoff();
    cmd.args(["signals", "--quiet", "--signal-source", "tags", "--data", REPLAY_SMALL])
        .arg("--policies")
        .arg(&policies)
        .arg("--out")
        .arg(w.join("tags.csv"));
    assert_ok(&run(&mut cmd));
    let csv = std::fs::read_to_string(w.join("tags.csv")).expect("signals written");
    assert_eq!(csv.lines().next(), Some("conversation_id,turn,signals,source"));
}

/// `handoff detector train --out` on the shipped data reproduces data/detector/model.bin byte
/// for byte (about 10 s in a debug build).
#[test]
fn the_shipped_model_is_what_training_on_the_shipped_data_gives() {
    let w = Workdir::new();
    let model = w.join("model.bin");
    assert_ok(&run(handoff().args(["detector", "train", "--out"]).arg(&model)));
    let shipped = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/detector/model.bin"))
        .expect("shipped model");
    let trained = std::fs::read(&model).expect("trained model");
    assert!(
        trained == shipped,
        "retrain: cargo run -- detector train --out data/detector/model.bin"
    );
}

/// The three detectors on a held-out labels file (never trained on): prints the per-signal
/// table of docs/signals.md and returns the micro counts of the lexicon, the model and the
/// ensemble, and the ensemble's lowest recall of a signal with 15 or more examples.
fn heldout_micro(name: &str) -> ([SignalCounts; 3], f64) {
    let file = format!("{}/data/detector/{name}", env!("CARGO_MANIFEST_DIR"));
    let rows = read_labels(std::path::Path::new(&file)).expect("held-out set reads");
    assert!(rows.len() >= 400);
    let kinds = [DetectorKind::Lexicon, DetectorKind::Model, DetectorKind::Ensemble];
    let mut micro = [SignalCounts::default(); 3];
    let mut lowest_recall = 1f64;
    println!("{name}");
    println!(
        "{:<22} {:>4} {:>11} {:>11} {:>11}",
        "signal", "n", "lexicon P/R", "model P/R", "ensemble P/R"
    );
    let detectors: Vec<Detector> = kinds
        .iter()
        .map(|k| Detector::with_kind(&LexiconConfig::default(), *k, None).expect("loads"))
        .collect();
    for s in Signal::ALL {
        let mut line = String::new();
        let mut n = 0;
        for (k, d) in detectors.iter().enumerate() {
            let mut c = SignalCounts::default();
            for r in &rows {
                match (d.detect(&r.text).contains(s), r.signals.contains(s)) {
                    (true, true) => c.tp += 1,
                    (true, false) => c.fp += 1,
                    (false, true) => c.fn_ += 1,
                    (false, false) => {}
                }
            }
            n = c.tp + c.fn_;
            let f = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.2}"));
            line.push_str(&format!(" {:>5}/{:<5}", f(c.precision()), f(c.recall())));
            micro[k].tp += c.tp;
            micro[k].fp += c.fp;
            micro[k].fn_ += c.fn_;
            if k == 2 && n >= 15 {
                lowest_recall = lowest_recall.min(c.recall().unwrap_or(0.0));
            }
        }
        println!("{:<22} {n:>4}{line}", s.name());
    }
    for (k, c) in kinds.iter().zip(&micro) {
        let (p, r) = (c.precision().unwrap_or(0.0), c.recall().unwrap_or(0.0));
        println!("{}: micro precision {p:.3}, recall {r:.3}", k.name());
    }
    println!("ensemble: lowest recall of a signal with 15+ examples {lowest_recall:.3}");
    (micro, lowest_recall)
}

/// Scores the held-out set `name` and holds the ensemble's micro precision and recall to
/// floors, and its recall above the lexicon's; returns the lowest recall of a signal.
fn assert_heldout(name: &str, min_precision: f64, min_recall: f64) -> f64 {
    let (micro, lowest_recall) = heldout_micro(name);
    let (p, r) = (micro[2].precision().unwrap_or(0.0), micro[2].recall().unwrap_or(0.0));
    assert!(
        r >= min_recall && p >= min_precision,
        "ensemble micro precision {p:.3}, recall {r:.3}"
    );
    let lexicon_recall = micro[0].recall().unwrap_or(0.0);
    assert!(r > lexicon_recall, "the ensemble must find more than the lexicon");
    lowest_recall
}

/// The first held-out set (data/detector/heldout.csv), with floors under the measured figures.
#[test]
fn heldout_figures() {
    // Measured 0.924 / 0.862 (docs/signals.md, the thirteenth scoring, twelfth round; 0.930 /
    // 0.852 in the eleventh, 0.927 / 0.857 in the eighth); the floors leave a small margin.
    assert_heldout("heldout.csv", 0.90, 0.84);
}

/// The second held-out set (data/detector/heldout-2.csv, written apart from everything else
/// and first scored with the fourth round's model), with floors under the measured figures.
#[test]
fn heldout_2_figures() {
    // Measured 0.898 / 0.797 (docs/signals.md, its eighth scoring, twelfth round; 0.918 /
    // 0.783 in the eleventh, 0.909 / 0.783 in the tenth, whose real-text weight trades recall
    // for precision; 0.904 / 0.787 in the seventh, where the PersuasionForGood rows cost 0.02
    // of recall, 0.89 / 0.81 before; 0.885 / 0.672 at its first); the floors leave a small
    // margin.
    assert_heldout("heldout-2.csv", 0.87, 0.78);
}

/// The third held-out set (data/detector/heldout-3.csv, written apart from everything else
/// and first scored with the fifth round's model), with floors under the measured figures.
#[test]
fn heldout_3_figures() {
    // Measured 0.904 / 0.834 (docs/signals.md, its seventh scoring, twelfth round; 0.909 /
    // 0.818 in the eleventh, 0.883 / 0.842 in the eighth, 0.895 / 0.800 at its first); the
    // floors leave a small margin.
    assert_heldout("heldout-3.csv", 0.87, 0.82);
}

/// The fourth held-out set (data/detector/heldout-4.csv, written apart from everything else
/// and first scored with the sixth round's model), with floors under the measured figures.
#[test]
fn heldout_4_figures() {
    // Measured 0.913 / 0.882, lowest recall `stakeholders` 0.72 (docs/signals.md, its sixth
    // scoring, twelfth round; 0.921 / 0.868 and 0.60 in the eleventh, 0.910 / 0.882 in the
    // eighth); the recall floors are the goals: 0.85 micro, 0.6 for every signal with
    // 15 or more examples.
    let lowest_recall = assert_heldout("heldout-4.csv", 0.89, 0.85);
    assert!(lowest_recall >= 0.6, "lowest recall of a signal {lowest_recall:.3}");
}

/// `--detector` is accepted by every command that runs policies, and on text the detectors
/// give different decisions only through their signals (the run succeeds with each).
#[test]
fn every_policy_command_takes_detector() {
    let w = Workdir::new();
    for kind in ["lexicon", "model", "ensemble"] {
        let out = w.join(format!("decisions-{kind}.csv"));
        let mut cmd = handoff();
        cmd.args(["replay", "--quiet", "--signal-source", "text", "--detector", kind])
            .args(["--data", REPLAY_SMALL, "--policies", POLICIES])
            .arg("--out")
            .arg(&out);
        assert_ok(&run(&mut cmd));
        assert!(out.exists());
    }
    let mut cmd = handoff();
    cmd.args(["brief", "--quiet", "--signal-source", "text", "--detector", "model"]).args([
        "--data",
        REPLAY_SMALL,
        "--policies",
        POLICIES,
        "--conversation",
        "c1",
    ]);
    assert_ok(&run(&mut cmd));
    let mut cmd = handoff();
    cmd.args(["replay", "--quiet", "--detector", "neural", "--data", REPLAY_SMALL]);
    assert_eq!(run(&mut cmd).status.code(), Some(2));
}
