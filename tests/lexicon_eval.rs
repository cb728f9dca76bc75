//! The default lexicon against hand-labelled prospect messages (tests/fixtures/lexicon_eval.csv):
//! prints per-signal precision and recall and holds micro-averaged floors.

use handoff::signals::detect::{evaluate, Detector, SignalCounts};
use handoff::signals::lexicon::LexiconConfig;
use handoff::signals::{Signal, SignalSet};

fn labelled() -> Vec<(String, SignalSet)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lexicon_eval.csv");
    let mut reader = csv::Reader::from_path(path).expect("fixture readable");
    reader
        .records()
        .map(|r| {
            let r = r.expect("valid csv row");
            let mut set = SignalSet::EMPTY;
            for label in r[1].split(';').map(str::trim).filter(|l| !l.is_empty()) {
                let signal = Signal::parse_exact(label)
                    .unwrap_or_else(|| panic!("fixture label `{label}` is not a signal"));
                set.insert(signal);
            }
            (r[0].to_string(), set)
        })
        .collect()
}

fn pct(x: Option<f64>) -> String {
    x.map_or("   -".into(), |v| format!("{:5.1}", 100.0 * v))
}

#[test]
fn default_lexicon_meets_precision_and_recall_floors() {
    let rows = labelled();
    assert!(rows.len() >= 200, "only {} labelled messages", rows.len());
    assert!(
        rows.iter().filter(|(_, s)| s.is_empty()).count() >= 15,
        "too few signal-free messages"
    );
    let detector = Detector::new(&LexiconConfig::default());
    let counts = evaluate(&detector, &rows);
    let mut total = SignalCounts::default();
    println!("{:<22} {:>4} {:>4} {:>4} {:>6} {:>6}", "signal", "tp", "fp", "fn", "prec", "recall");
    for (signal, c) in &counts {
        println!(
            "{:<22} {:>4} {:>4} {:>4} {:>6} {:>6}",
            signal.name(),
            c.tp,
            c.fp,
            c.fn_,
            pct(c.precision()),
            pct(c.recall())
        );
        total.tp += c.tp;
        total.fp += c.fp;
        total.fn_ += c.fn_;
    }
    let (precision, recall) = (total.precision().unwrap_or(0.0), total.recall().unwrap_or(0.0));
    println!(
        "micro: precision {:.3}, recall {:.3} over {} messages",
        precision,
        recall,
        rows.len()
    );
    for (text, expected) in &rows {
        let found = detector.detect(text);
        if found != *expected {
            println!(
                "  {:?}\n    expected [{}] found [{}]",
                text,
                expected.to_label_list(),
                found.to_label_list()
            );
        }
    }
    assert!(recall >= 0.6, "micro recall {recall:.3} below 0.6");
    assert!(precision >= 0.8, "micro precision {precision:.3} below 0.8");
}
