//! `handoff detector train`: the shipped labelled messages plus the user's, trained into a
//! model file; the cross-validated figures on stdout.

use anyhow::Context;

use crate::cli::DetectorTrainArgs;
use crate::report::atomic::replace_file;
use crate::signals::learned::train::{
    cv_table, read_labels, shipped_generated, shipped_rows, train as fit, TrainOptions,
};
use crate::signals::learned::Featurizer;

pub fn train(args: &DetectorTrainArgs) -> anyhow::Result<()> {
    let mut rows = if args.no_shipped { Vec::new() } else { shipped_rows()? };
    if let Some(path) = &args.labels {
        let theirs = read_labels(path).map_err(|e| crate::error::UsageError(e.to_string()))?;
        if theirs.is_empty() {
            // Training on nothing would write a model that finds every signal everywhere.
            return Err(crate::error::UsageError(format!(
                "{}: no labelled message (the file has a header but no rows)",
                path.display()
            ))
            .into());
        }
        rows.extend(theirs);
    }
    if rows.is_empty() {
        return Err(crate::error::UsageError(
            "nothing to train on: --no-shipped needs --labels FILE.csv".into(),
        )
        .into());
    }
    let generated = if args.no_shipped { Vec::new() } else { shipped_generated()? };
    let featurizer = Featurizer::shipped()?;
    let trained = fit(&rows, &generated, &featurizer, &TrainOptions::default());
    print!("{}", cv_table(&trained, rows.len()));
    replace_file(&args.out, &trained.model.to_bytes())
        .with_context(|| format!("writing the model {}", args.out.display()))?;
    Ok(())
}
