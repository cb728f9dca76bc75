//! `handoff validate`: reads and checks a data set, prints a readable summary on stdout (files,
//! rows, accepted and rejected conversations, rejections by kind with examples, data-quality
//! warnings, missing optional columns), optionally writes every rejection to a CSV file, and
//! fails with the `DataError` (exit 3) when the data is unusable.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use crate::cli::ValidateArgs;
use crate::cmd::options::init_logging;
use crate::ingest::{self, IngestOptions};
use crate::model::{Dataset, Rejection};

/// Rejections shown in full; the rest are only counted.
const EXAMPLES: usize = 10;

pub fn run(args: &ValidateArgs) -> anyhow::Result<()> {
    init_logging(&args.common);
    let dir = &args.common.data;
    let shown = crate::pipeline::data_display(dir);
    let context = || format!("reading the data set in {shown}");
    let source = crate::pipeline::open_source(dir).with_context(context)?;
    let dataset =
        ingest::read_from(source.as_ref(), ingest::MessageText::Compact).with_context(context)?;
    match source.table_label(ingest::rows::CONVERSATIONS.name) {
        Some(_) => print!("{}", database_summary_text(&shown, source.as_ref(), &dataset)),
        None => print!("{}", summary_text(dir, &dataset)),
    }
    if let Some(path) = &args.rejected {
        ingest::rejected::write_rejected_csv(path, &dataset.rejections)
            .with_context(|| format!("writing rejections to {}", path.display()))?;
        println!("Rejections written to {}", path.display());
    }
    let options = IngestOptions { max_rejected: args.common.max_rejected };
    ingest::check_usable(&dataset, &options)
        .with_context(|| format!("the data set in {shown} is unusable"))?;
    println!("The data set is usable.");
    Ok(())
}

/// The whole stdout summary.
pub fn summary_text(dir: &Path, dataset: &Dataset) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Data folder: {}", dir.display());
    for table in ["conversations", "messages", "outcomes"] {
        let files: Vec<String> = dataset
            .files
            .iter()
            .filter(|f| belongs_to(dir, f, table))
            .map(|f| ingest::discover::relative_label(dir, f))
            .collect();
        let rows = dataset.rows_read.get(table).copied().unwrap_or(0);
        let _ = writeln!(out, "  {table}: {rows} rows read from {}", files.join(", "));
    }
    write_body(&mut out, dataset);
    out
}

/// What follows the per-table lines, whatever the source.
fn write_body(out: &mut String, dataset: &Dataset) {
    let total = dataset.total_conversation_ids;
    let _ = writeln!(
        out,
        "Conversations: {} accepted, {} rejected of {} ({} rejected); {} rejected rows",
        dataset.conversations.len(),
        dataset.rejected_conversations,
        total,
        crate::format::percent_of(dataset.rejected_conversations, total),
        dataset.rejected_rows,
    );
    write_rejection_summary(out, &dataset.rejections);
    write_warnings(out, dataset);
}

/// `summary_text` for a database: the tables by their `schema.table` names.
pub fn database_summary_text(
    shown: &str,
    source: &dyn ingest::Source,
    dataset: &Dataset,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Database: {shown}");
    for table in ["conversations", "messages", "outcomes"] {
        let rows = dataset.rows_read.get(table).copied().unwrap_or(0);
        let label = source.table_label(table).unwrap_or_else(|| table.to_string());
        let _ = writeln!(out, "  {table}: {rows} rows read from {label}");
    }
    write_body(&mut out, dataset);
    out
}

fn belongs_to(dir: &Path, file: &Path, table: &str) -> bool {
    let label = ingest::discover::relative_label(dir, file);
    label.split('/').next().is_some_and(|first| {
        first == table || first.strip_prefix(table).is_some_and(|rest| rest.starts_with('.'))
    })
}

/// The kind of problem a reason describes, for counting.
fn problem_kind(reason: &str) -> String {
    const KINDS: [(&str, &str); 11] = [
        ("required value is missing", "null in a required column"),
        ("duplicate conversation id", "duplicate conversation id"),
        ("duplicate turn", "duplicate turn"),
        ("duplicate outcome", "duplicate outcome"),
        ("no conversation", "orphan row (unknown conversation)"),
        ("handoff turn", "handoff turn the conversation lacks"),
        ("wrong field count", "wrong field count"),
        ("invalid UTF-8", "invalid UTF-8"),
        ("invalid JSON", "invalid JSON"),
        ("not a JSON object", "JSON line that is not an object"),
        ("expected a scalar", "JSON value that is not a scalar"),
    ];
    if let Some((_, kind)) = KINDS.iter().find(|(prefix, _)| reason.starts_with(prefix)) {
        return kind.to_string();
    }
    if reason.contains("sent_at must not decrease") {
        return "turns out of time order".to_string();
    }
    match reason.split_once(", found") {
        Some((expected, _)) => expected.to_string(),
        None => reason.to_string(),
    }
}

fn write_rejection_summary(out: &mut String, rejections: &[Rejection]) {
    if rejections.is_empty() {
        let _ = writeln!(out, "No rejections.");
        return;
    }
    let mut kinds: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in rejections {
        let column = r.column.clone().unwrap_or_else(|| "(line)".to_string());
        *kinds.entry((column, problem_kind(&r.reason))).or_insert(0) += 1;
    }
    let _ = writeln!(out, "Rejections by problem ({} in all):", rejections.len());
    for ((column, kind), count) in &kinds {
        let _ = writeln!(out, "  {count:>6}  column {column}: {kind}");
    }
    let shown = rejections.len().min(EXAMPLES);
    let _ = writeln!(out, "First {shown} rejections:");
    for r in rejections.iter().take(EXAMPLES) {
        let _ = writeln!(out, "  {}", ingest::rejected::rejection_line(r));
    }
}

fn write_warnings(out: &mut String, dataset: &Dataset) {
    let mut warnings = Vec::new();
    let q = &dataset.quality;
    let labels = |m: &BTreeMap<String, u64>| {
        m.iter().map(|(l, n)| format!("{l:?} ({n})")).collect::<Vec<_>>().join(", ")
    };
    if !q.unknown_qualified_labels.is_empty() {
        warnings.push(format!(
            "unknown qualified labels ignored: {}",
            labels(&q.unknown_qualified_labels)
        ));
    }
    if !q.unknown_context_labels.is_empty() {
        warnings
            .push(format!("unknown context labels ignored: {}", labels(&q.unknown_context_labels)));
    }
    let counted = [
        (q.amount_without_opportunity, "opportunity amounts without opportunity_at ignored"),
        (q.rating_without_handoff, "rep ratings without a handoff ignored"),
        (q.handoff_at_without_turn, "handoff_at values without handoff_turn ignored"),
        (
            q.conversations_without_prospect_message,
            "conversations without any prospect message (kept; no policy hands them off)",
        ),
    ];
    for (count, what) in counted {
        if count > 0 {
            warnings.push(format!("{count} {what}"));
        }
    }
    if q.currencies.len() > 1 {
        warnings.push(format!(
            "more than one currency ({}): pipeline amounts are not summed",
            q.currencies.join(", ")
        ));
    }
    let c = &dataset.columns;
    let missing = [
        (
            c.qualified,
            "no qualified column: every policy guarded by qualification_incomplete waits forever",
        ),
        (c.handoff_turn, "no handoff_turn values: history never hands off"),
        (c.signals, "no signals column: no upstream signal tags; signals come only from the text"),
        (
            c.participant,
            "no participant column: stakeholders on the prospect side cannot be counted",
        ),
        (
            c.handoff_probability,
            "no handoff_probability column: propensities are fitted, not logged",
        ),
        (c.segment, "no segment column: no conversation counts as enterprise"),
    ];
    for (present, warning) in missing {
        if !present {
            warnings.push(warning.to_string());
        }
    }
    if warnings.is_empty() {
        let _ = writeln!(out, "No data-quality warnings.");
        return;
    }
    let _ = writeln!(out, "Warnings:");
    for w in warnings {
        let _ = writeln!(out, "  - {w}");
    }
}
