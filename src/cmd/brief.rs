//! `handoff brief`: the context packet a rep receives at the handoff a policy makes in one
//! conversation: the conversation so far, qualification, intent signals, objections, account.

use crate::cli::BriefArgs;
use crate::cmd::options::init_logging;
use crate::error::UsageError;
use crate::pipeline::prepare;
use crate::policy::all_policies;
use crate::replay::decide;
use crate::report::brief::{
    build_packet, render_markdown, NOTE_HISTORY_NEVER_HANDED_OFF, NOTE_POLICY_NEVER_HANDS_OFF,
};

pub fn run(args: &BriefArgs) -> anyhow::Result<()> {
    init_logging(&args.common);
    let prepared = prepare(&(&args.common).into(), &(&args.policy_args).into())?;
    let index = find_conversation(&prepared.dataset, &args.conversation)?;
    let conv = &prepared.dataset.conversations[index];
    let timeline = &prepared.timelines[index];
    let signals = &prepared.signals.per_conversation[index];
    let (name, turn, note) = match args.policy.as_deref() {
        None | Some("historical") => {
            let turn = conv.outcome.as_ref().and_then(|o| o.handoff_turn);
            let note = turn.is_none().then(|| NOTE_HISTORY_NEVER_HANDED_OFF.to_string());
            ("historical".to_string(), turn, note)
        }
        Some(wanted) => {
            let (policies, variants) = all_policies(&prepared.policies);
            // A routed policy hands off where the plain policy of this conversation's value
            // does.
            let routed = prepared.policies.routed.iter().find(|r| r.name == wanted).map(|r| {
                let value = crate::slicing::value(&prepared.dataset, index, &r.route_by);
                &policies[r.target(value.as_deref())]
            });
            let named = || {
                let plain = policies.iter().map(|p| (p.name.as_str(), p));
                let swept = variants.iter().map(|v| (v.name.as_str(), &v.policy));
                plain.chain(swept).find(|(name, _)| *name == wanted).map(|(_, p)| p)
            };
            let policy = routed.or_else(named).ok_or_else(|| {
                UsageError(format!(
                    "--policy {wanted:?} is not in {}; known: historical, {}",
                    args.policy_args.policies.display(),
                    named_in_file_order(&prepared.policies).join(", ")
                ))
            })?;
            let turn = decide(policy, timeline).turn(timeline);
            let note = turn.is_none().then(|| NOTE_POLICY_NEVER_HANDS_OFF.to_string());
            (wanted.to_string(), turn, note)
        }
    };
    let packet = build_packet(conv, signals, turn, &name, note);
    let text = if args.json {
        serde_json::to_string_pretty(&packet)? + "\n"
    } else {
        render_markdown(&packet)
    };
    print!("{text}");
    Ok(())
}

/// The names of the file's plain and routed policies, in file order.
fn named_in_file_order(file: &crate::policy::PoliciesFile) -> Vec<&str> {
    let mut names: Vec<&str> = file.policies.iter().map(|p| p.name.as_str()).collect();
    let mut routed: Vec<_> = file.routed.iter().collect();
    routed.sort_by_key(|r| r.position);
    for r in routed {
        names.insert(r.position.min(names.len()), r.name.as_str());
    }
    names
}

fn find_conversation(dataset: &crate::model::Dataset, id: &str) -> anyhow::Result<usize> {
    if let Some(i) = dataset.conversations.iter().position(|c| c.id == id) {
        return Ok(i);
    }
    if let Some(r) = dataset.rejections.iter().find(|r| r.conversation_id.as_deref() == Some(id)) {
        return Err(UsageError(format!(
            "conversation {id:?} was rejected: {}",
            crate::ingest::rejected::rejection_line(r)
        ))
        .into());
    }
    Err(UsageError(format!("no conversation {id:?} in the data set")).into())
}
