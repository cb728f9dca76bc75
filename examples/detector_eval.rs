//! Per-signal precision and recall of the lexicon, the learned model and the ensemble on a
//! labels file (columns `text,signals`), side by side; the figures of docs/signals.md.
//!
//! ```sh
//! cargo run --example detector_eval -- data/detector/heldout.csv [MODEL.bin]
//! ```
//!
//! Without a model file, the shipped model. Prints a Markdown table, then the micro averages.
//!
//! `detector_eval --flag TEXTS.csv [MODEL.bin]` instead reads any CSV with a `text` column and
//! writes `text,lexicon,model,ensemble` (the signals each finds, with MODEL.bin if given, else
//! the shipped model) to stdout, for scripts/detector_real_text.py.
//!
//! `detector_eval --probabilities TEXTS.csv [MODEL.bin]` writes `text,lexicon` and the
//! model's probability of every signal (one column per signal, five decimals): for studying
//! threshold rules offline beside `detector_cv --dump`.

use std::path::Path;

use handoff::signals::detect::{Detector, SignalCounts};
use handoff::signals::learned::train::read_labels;
use handoff::signals::lexicon::LexiconConfig;
use handoff::signals::{DetectorKind, Signal};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first() else {
        anyhow::bail!("usage: detector_eval LABELS.csv [MODEL.bin]");
    };
    if file == "--flag" || file == "--probabilities" {
        let (texts, model) = (args.get(1).map(String::as_str).unwrap_or("-"), args.get(2));
        return flag(texts, model.map(Path::new), file == "--probabilities");
    }
    let rows = read_labels(Path::new(file))?;
    let learned = |()| -> anyhow::Result<_> {
        Ok(match args.get(1) {
            Some(m) => Some(Detector::load_model(Path::new(m))?),
            None => None,
        })
    };
    let config = LexiconConfig::default();
    let kinds = [DetectorKind::Lexicon, DetectorKind::Model, DetectorKind::Ensemble];
    let mut counts = vec![[SignalCounts::default(); 3]; Signal::ALL.len()];
    let mut detectors = Vec::new();
    for kind in kinds {
        detectors.push(Detector::with_kind(&config, kind, learned(())?)?);
    }
    for row in &rows {
        for (k, d) in detectors.iter().enumerate() {
            let found = d.detect(&row.text);
            for s in Signal::ALL {
                let c = &mut counts[s.index()][k];
                match (found.contains(s), row.signals.contains(s)) {
                    (true, true) => c.tp += 1,
                    (true, false) => c.fp += 1,
                    (false, true) => c.fn_ += 1,
                    (false, false) => {}
                }
            }
        }
    }
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
    println!("{} messages in {file}\n", rows.len());
    println!(
        "| signal | n | lexicon P | lexicon R | model P | model R | ensemble P | ensemble R |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut total = [SignalCounts::default(); 3];
    for s in Signal::ALL {
        let c = &counts[s.index()];
        let n = c[0].tp + c[0].fn_;
        print!("| `{}` | {n} |", s.name());
        for k in 0..3 {
            print!(" {} | {} |", f(c[k].precision()), f(c[k].recall()));
            total[k].tp += c[k].tp;
            total[k].fp += c[k].fp;
            total[k].fn_ += c[k].fn_;
        }
        println!();
    }
    let n = total[0].tp + total[0].fn_;
    print!("| micro | {n} |");
    for t in &total {
        print!(" {} | {} |", f(t.precision()), f(t.recall()));
    }
    println!();
    Ok(())
}

fn flag(file: &str, model: Option<&Path>, probabilities: bool) -> anyhow::Result<()> {
    let config = LexiconConfig::default();
    let kinds = [DetectorKind::Lexicon, DetectorKind::Model, DetectorKind::Ensemble];
    let mut detectors = Vec::new();
    for kind in kinds {
        let learned = model.map(Detector::load_model).transpose()?;
        detectors.push(Detector::with_kind(&config, kind, learned)?);
    }
    let mut reader = csv::Reader::from_path(file)?;
    let at = reader
        .headers()?
        .iter()
        .position(|h| h == "text")
        .ok_or_else(|| anyhow::anyhow!("{file}: no text column"))?;
    let mut out = csv::Writer::from_writer(std::io::stdout());
    if probabilities {
        let mut header = vec!["text".to_string(), "lexicon".to_string()];
        header.extend(Signal::ALL.iter().map(|s| s.name().to_string()));
        out.write_record(&header)?;
    } else {
        out.write_record(["text", "lexicon", "model", "ensemble"])?;
    }
    for record in reader.records() {
        let record = record?;
        let text = record.get(at).unwrap_or("");
        let mut row = vec![text.to_string()];
        if probabilities {
            let detail = detectors[2].detect_detail(text);
            row.push(detail.lexicon.to_label_list());
            let scores = detail.model.ok_or_else(|| anyhow::anyhow!("no model loaded"))?;
            row.extend(Signal::ALL.iter().map(|&s| format!("{:.5}", scores.probability(s))));
        } else {
            row.extend(detectors.iter().map(|d| d.detect(text).to_label_list()));
        }
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(())
}
