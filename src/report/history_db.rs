//! `--history-db`: the trend rows of `history.parquet` (slices included) also written into
//! the PostgreSQL table `handoff_history`, where dashboards read. A rerun window's rows are
//! deleted and the new ones inserted in one transaction, so a reader never sees a week twice
//! or half a week. The table lives in the URL's schema (default `public`) and is created when
//! missing; `handoff_schema_migrations` records which version of its layout is applied, so a
//! later layout is a new numbered migration, applied once, under an advisory lock that keeps
//! two runs from migrating at the same time.
//!
//! Columns are history.parquet's, with the same names, plus `position` (the row's place in its
//! window, as history.parquet orders it: the overall rows, then each cut's slices) and
//! `written_at`. `ORDER BY "window", position` gives history.parquet's order.

use anyhow::Context;

use crate::error::DataError;
use crate::pg::{error_text, quote_ident, PgUrl};
use crate::report::history::{HistoryRow, HistorySink};

/// The versioned layouts of the table; applied in order, each once.
const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "handoff_history: one row per ISO-week window, policy and slice",
    "CREATE TABLE {schema}.handoff_history (
        \"window\" text NOT NULL,
        since date NOT NULL,
        until date NOT NULL,
        policy text NOT NULL,
        handoffs bigint NOT NULL,
        handoff_rate double precision,
        meeting_rate double precision,
        meeting_rate_low double precision,
        meeting_rate_high double precision,
        opportunity_rate double precision,
        opportunity_rate_low double precision,
        opportunity_rate_high double precision,
        handoff_to_meeting double precision,
        handoff_to_meeting_low double precision,
        handoff_to_meeting_high double precision,
        handoff_to_opportunity double precision,
        handoff_to_opportunity_low double precision,
        handoff_to_opportunity_high double precision,
        quality_score double precision,
        \"by\" text,
        value text,
        position integer NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (\"window\", position)
    );
    CREATE INDEX handoff_history_policy ON {schema}.handoff_history (policy, \"window\");",
)];

/// The layout version this build writes.
pub const SCHEMA_VERSION: i32 = 1;

/// A connection to the database the trend is written into, its table migrated.
pub struct HistoryDb {
    url: PgUrl,
    client: postgres::Client,
}

impl HistoryDb {
    /// Connects and brings the table to `SCHEMA_VERSION`; before any work, so a wrong URL
    /// fails in seconds rather than after the analysis. Exit 3 when it cannot.
    pub fn open(url: &PgUrl) -> Result<HistoryDb, DataError> {
        let mut client = url.connect()?;
        migrate(&mut client, &url.schema).map_err(|e| DataError::Connect {
            server: url.server(),
            reason: format!("preparing the table handoff_history: {}", error_text(&e)),
        })?;
        Ok(HistoryDb { url: url.clone(), client })
    }
}

/// Applies the migrations not yet recorded, in one transaction.
fn migrate(client: &mut postgres::Client, schema: &str) -> Result<(), postgres::Error> {
    let s = quote_ident(schema);
    let mut tx = client.transaction()?;
    // Two first runs at once would both try to create the tables.
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('handoff_schema_migrations'))", &[])?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {s}.handoff_schema_migrations (
            version integer PRIMARY KEY,
            description text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )"
    ))?;
    let applied: Option<i32> = tx
        .query_one(&format!("SELECT max(version) FROM {s}.handoff_schema_migrations"), &[])?
        .get(0);
    let applied = applied.unwrap_or(0);
    for (version, description, sql) in MIGRATIONS {
        if *version <= applied {
            continue;
        }
        tx.batch_execute(&sql.replace("{schema}", &s))?;
        tx.execute(
            &format!(
                "INSERT INTO {s}.handoff_schema_migrations (version, description) VALUES ($1, $2)"
            ),
            &[version as &(dyn postgres::types::ToSql + Sync), description],
        )?;
    }
    tx.commit()
}

impl HistorySink for HistoryDb {
    fn replace_windows(&mut self, rows: &[HistoryRow]) -> anyhow::Result<()> {
        let server = self.url.server();
        write_rows(&mut self.client, &self.url.schema, rows)
            .map_err(|e| anyhow::anyhow!(error_text(&e)))
            .with_context(|| format!("writing the trend into handoff_history of {server}"))
    }
}

fn write_rows(
    client: &mut postgres::Client,
    schema: &str,
    rows: &[HistoryRow],
) -> Result<(), postgres::Error> {
    let table = format!("{}.handoff_history", quote_ident(schema));
    let mut windows: Vec<String> = rows.iter().map(|r| r.window.clone()).collect();
    windows.sort();
    windows.dedup();
    let mut tx = client.transaction()?;
    tx.execute(&format!("DELETE FROM {table} WHERE \"window\" = ANY($1)"), &[&windows])?;
    let insert = tx.prepare(&format!(
        "INSERT INTO {table} (\"window\", since, until, policy, handoffs, handoff_rate,
            meeting_rate, meeting_rate_low, meeting_rate_high,
            opportunity_rate, opportunity_rate_low, opportunity_rate_high,
            handoff_to_meeting, handoff_to_meeting_low, handoff_to_meeting_high,
            handoff_to_opportunity, handoff_to_opportunity_low, handoff_to_opportunity_high,
            quality_score, \"by\", value, position)
         VALUES ($1, $2::text::date, $3::text::date, $4, $5, $6, $7, $8, $9, $10, $11, $12,
            $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
    ))?;
    let mut position: i32 = 0;
    let mut last_window: Option<&str> = None;
    for row in rows {
        if last_window != Some(row.window.as_str()) {
            position = 0;
            last_window = Some(row.window.as_str());
        }
        let handoffs = i64::try_from(row.handoffs).unwrap_or(i64::MAX);
        let r = &row.rates;
        let e =
            [r.meeting_rate, r.opportunity_rate, r.handoff_to_meeting, r.handoff_to_opportunity];
        tx.execute(
            &insert,
            &[
                &row.window,
                &row.since,
                &row.until,
                &row.policy,
                &handoffs,
                &r.handoff_rate,
                &e[0].estimate,
                &e[0].low,
                &e[0].high,
                &e[1].estimate,
                &e[1].low,
                &e[1].high,
                &e[2].estimate,
                &e[2].low,
                &e[2].high,
                &e[3].estimate,
                &e[3].low,
                &e[3].high,
                &row.quality_score,
                &row.by,
                &row.value,
                &position,
            ],
        )?;
        position += 1;
    }
    tx.commit()
}
