//! `handoff signals`: the signals of every prospect message and where they came from, for
//! checking a lexicon or a detector model against real text.

use polars::prelude::{Column, DataFrame};

use crate::cli::SignalsArgs;
use crate::cmd::options::init_logging;
use crate::model::Sender;
use crate::pipeline::prepare;
use crate::report::frame::{is_parquet_output, write_frame};
use crate::signals::detect::describe_detection;
use crate::signals::SignalSource;

pub fn run(args: &SignalsArgs) -> anyhow::Result<()> {
    init_logging(&args.common);
    is_parquet_output(&args.out)?;
    let prepared = prepare(&(&args.common).into(), &(&args.policy).into())?;
    // The detector columns exist only when text was read: from tags, the output is what it
    // always was.
    let reads_text =
        matches!(prepared.signals.source_used, Some(SignalSource::Text | SignalSource::Both));
    let mut ids = Vec::new();
    let mut turns = Vec::new();
    let mut labels = Vec::new();
    let mut sources = Vec::new();
    let mut found_by = Vec::new();
    let mut probabilities = Vec::new();
    let mut explains = Vec::new();
    for (k, conv) in prepared.dataset.conversations.iter().enumerate() {
        let sets = &prepared.signals.per_conversation[k];
        let origins = &prepared.signals.origins[k];
        let mut prospect: Vec<_> =
            conv.messages.iter().filter(|m| m.sender == Sender::Prospect).collect();
        prospect.sort_by_key(|m| m.turn);
        for ((msg, set), origin) in prospect.into_iter().zip(sets).zip(origins) {
            ids.push(conv.id.as_str());
            turns.push(msg.turn);
            labels.push(set.to_label_list());
            sources.push(origin.name());
            if reads_text {
                let d = describe_detection(&prepared.detector, &msg.text, args.explain);
                found_by.push(d.found_by);
                probabilities.push(d.probabilities);
                explains.push(d.explain);
            }
        }
    }
    let mut columns = vec![
        Column::new("conversation_id".into(), ids),
        Column::new("turn".into(), turns),
        Column::new("signals".into(), labels),
        Column::new("source".into(), sources),
    ];
    if reads_text {
        columns.push(Column::new("found_by".into(), found_by));
        columns.push(Column::new("probabilities".into(), probabilities));
        if args.explain {
            columns.push(Column::new("explain".into(), explains));
        }
    }
    let mut frame = DataFrame::new_infer_height(columns)?;
    write_frame(&mut frame, &args.out)?;
    tracing::info!(messages = frame.height(), "wrote {}", args.out.display());
    Ok(())
}
