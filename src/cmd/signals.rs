//! `handoff signals`: the signals of every prospect message and where they came from, for
//! checking a lexicon against real text.

use polars::prelude::{Column, DataFrame};

use crate::cli::SignalsArgs;
use crate::cmd::options::init_logging;
use crate::model::Sender;
use crate::pipeline::prepare;
use crate::report::frame::{is_parquet_output, write_frame};

pub fn run(args: &SignalsArgs) -> anyhow::Result<()> {
    init_logging(&args.common);
    is_parquet_output(&args.out)?;
    let prepared = prepare(&(&args.common).into(), &(&args.policy).into())?;
    let mut ids = Vec::new();
    let mut turns = Vec::new();
    let mut labels = Vec::new();
    let mut sources = Vec::new();
    for (k, conv) in prepared.dataset.conversations.iter().enumerate() {
        let sets = &prepared.signals.per_conversation[k];
        let origins = &prepared.signals.origins[k];
        let prospect = conv.messages.iter().filter(|m| m.sender == Sender::Prospect);
        for ((msg, set), origin) in prospect.zip(sets).zip(origins) {
            ids.push(conv.id.as_str());
            turns.push(msg.turn);
            labels.push(set.to_label_list());
            sources.push(origin.name());
        }
    }
    let mut frame = DataFrame::new_infer_height(vec![
        Column::new("conversation_id".into(), ids),
        Column::new("turn".into(), turns),
        Column::new("signals".into(), labels),
        Column::new("source".into(), sources),
    ])?;
    write_frame(&mut frame, &args.out)?;
    tracing::info!(messages = frame.height(), "wrote {}", args.out.display());
    Ok(())
}
