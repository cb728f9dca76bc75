//! `--data postgres://...` and `--history-db` against a real PostgreSQL server: the one
//! `scripts/pg-test-server.sh start` runs (`.ci/run` starts it and exports its URLs). Without
//! `HANDOFF_TEST_PG` these tests skip with a message, except in CI (`CI` set), where a missing
//! server fails them: they are never silently skipped there.
//!
//! Each test works in a schema of its own (dropped at the end), so they run in parallel on one
//! server. Data sets are generated, given bad rows of several kinds, written as CSV and loaded
//! into tables of native types (integer, timestamptz, timestamp, numeric) and text, with the
//! conversations table behind a `CREATE VIEW` mapping a CRM export's column names onto the
//! contract, as the README shows.

use std::path::Path;

use ::postgres::{Client, NoTls};
use handoff::report::history::read_history;

use crate::harness::*;

/// The test server's TCP URL (with its password), or `None` (and a message) to skip.
fn server_url() -> Option<String> {
    match std::env::var("HANDOFF_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "HANDOFF_TEST_PG is not set: in CI the PostgreSQL tests must run \
                 (.ci/run starts scripts/pg-test-server.sh)"
            );
            eprintln!(
                "skipping: HANDOFF_TEST_PG is not set (eval \"$(scripts/pg-test-server.sh start)\")"
            );
            None
        }
    }
}

/// The password in a `postgres://user:password@...` URL.
fn password_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let userinfo = rest.rsplit_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_string()
}

/// `url` without its password.
fn without_password(url: &str) -> String {
    url.replace(&format!(":{}@", password_of(url)), "@")
}

/// A schema of its own for one test, dropped when the test ends.
struct Schema {
    url: String,
    name: String,
    client: Client,
}

impl Schema {
    fn new(url: &str, test: &str) -> Schema {
        let name = format!("t_{test}_{}", std::process::id());
        let mut client = Client::connect(url, NoTls).expect("connect to the test server");
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"))
            .expect("create the test schema");
        Schema { url: url.to_string(), name, client }
    }

    /// `--data` for this schema.
    fn data_url(&self) -> String {
        format!("{}?schema={}", self.url, self.name)
    }

    /// Creates the three tables (conversations behind a view) and loads `dir`'s CSV files.
    fn load(&mut self, dir: &Path) {
        let s = &self.name;
        self.client
            .batch_execute(&format!(
                "CREATE TABLE {s}.crm_conversations (
                    id text, created text, company text, tier text, headcount integer,
                    medium text, bot text);
                 CREATE VIEW {s}.conversations AS SELECT id AS conversation_id,
                    created AS started_at, company AS account_id, tier AS segment,
                    headcount AS employee_count, medium AS channel, bot AS ai_agent
                    FROM {s}.crm_conversations;
                 CREATE TABLE {s}.messages (
                    conversation_id text, turn integer, sent_at timestamptz, sender text,
                    participant text, text text, signals text, qualified text);
                 CREATE TABLE {s}.outcomes (
                    conversation_id text, handoff_turn integer, handoff_at timestamptz,
                    context text, meeting_at timestamp, opportunity_at timestamptz,
                    opportunity_amount numeric, currency text, rep_rating integer);"
            ))
            .expect("create the tables");
        for (table, file) in [
            ("crm_conversations", "conversations.csv"),
            ("messages", "messages.csv"),
            ("outcomes", "outcomes.csv"),
        ] {
            let bytes = std::fs::read(dir.join(file)).expect("read the CSV file");
            let mut writer = self
                .client
                .copy_in(&format!("COPY {s}.{table} FROM STDIN WITH (FORMAT csv, HEADER true)"))
                .expect("start COPY");
            std::io::Write::write_all(&mut writer, &bytes).expect("COPY the rows");
            writer.finish().expect("finish COPY");
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = self.client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// `handoff generate` into `dir`.
fn generate(dir: &Path, conversations: u32, seed: u32) {
    let o = run(handoff().args(["generate", "--quiet", "--out"]).arg(dir).args([
        "--conversations",
        &conversations.to_string(),
        "--seed",
        &seed.to_string(),
    ]));
    assert_ok(&o);
    // A database records no export time: without the folder's `export.json` both sources
    // default `--as-of` to the data's latest timestamp, so their reports can be compared.
    std::fs::remove_file(dir.join("export.json")).expect("generate writes export.json");
}

/// Rewrites `dir/<file>` with `edit` applied to its records (header kept).
fn edit_csv(dir: &Path, file: &str, edit: impl FnOnce(&csv::StringRecord, &mut Vec<Vec<String>>)) {
    let path = dir.join(file);
    let mut reader = csv::Reader::from_path(&path).expect("read CSV");
    let header = reader.headers().expect("header").clone();
    let mut records: Vec<Vec<String>> =
        reader.records().map(|r| r.expect("record").iter().map(str::to_string).collect()).collect();
    edit(&header, &mut records);
    let mut writer = csv::Writer::from_path(&path).expect("write CSV");
    writer.write_record(&header).expect("header");
    for record in records {
        writer.write_record(&record).expect("record");
    }
    writer.flush().expect("flush");
}

fn col(header: &csv::StringRecord, name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

/// Bad rows of every kind the types of `Schema::load` can hold, each keeping the files in
/// key order: a timestamp that is not one, a duplicate conversation, turns out of time order,
/// an unknown sender, an orphan message, an out-of-range rating, a handoff turn the
/// conversation lacks, a duplicate outcome.
fn add_bad_rows(dir: &Path) {
    edit_csv(dir, "conversations.csv", |h, rows| {
        rows[10][col(h, "started_at")] = "last tuesday".to_string();
        let dup = rows[20].clone();
        rows.insert(21, dup);
    });
    edit_csv(dir, "messages.csv", |h, rows| {
        let (id, turn, sent, sender) =
            (col(h, "conversation_id"), col(h, "turn"), col(h, "sent_at"), col(h, "sender"));
        let target = rows[200][id].clone();
        let second = rows.iter().position(|r| r[id] == target && r[turn] == "2").unwrap();
        rows[second][sent] = "2020-01-01T00:00:00Z".to_string();
        rows[500][sender] = "robot".to_string();
        let mut orphan = rows[0].clone();
        orphan[id] = "conv-9999999".to_string();
        rows.push(orphan);
    });
    edit_csv(dir, "outcomes.csv", |h, rows| {
        rows[5][col(h, "rep_rating")] = "9".to_string();
        rows[8][col(h, "handoff_turn")] = "99".to_string();
        let dup = rows[12].clone();
        rows.insert(13, dup);
    });
}

fn report(data: &str, out: &Path, week: &str, extra: &[&str]) -> std::process::Output {
    run(handoff()
        .args(["report", "--quiet", "--policies", POLICIES, "--bootstrap", "20", "--week", week])
        .args(["--data", data, "--out"])
        .arg(out)
        .args(extra))
}

/// Rejections as the database names their rows: `schema.table` for `table.csv`, in the
/// `file` column and in the reasons that point at an earlier row.
fn as_database_labels(rejected: &[u8], schema: &str) -> Vec<u8> {
    let mut text = String::from_utf8(rejected.to_vec()).unwrap();
    for table in ["conversations", "messages", "outcomes"] {
        text = text.replace(&format!("\n{table}.csv,"), &format!("\n{schema}.{table},"));
        text = text.replace(&format!("{table}.csv row"), &format!("{schema}.{table} row"));
    }
    text.into_bytes()
}

#[test]
fn postgres_and_csv_give_the_same_report_rejections_included() {
    let Some(url) = server_url() else { return };
    let work = Workdir::new();
    let csv_dir = work.join("csv");
    generate(&csv_dir, 20_000, 7);
    add_bad_rows(&csv_dir);
    let mut schema = Schema::new(&url, "same");
    schema.load(&csv_dir);

    let from_csv = report(csv_dir.to_str().unwrap(), &work.join("out-csv"), "2026-W46", &[]);
    assert_ok(&from_csv);
    let from_pg = report(&schema.data_url(), &work.join("out-pg"), "2026-W46", &[]);
    assert_ok(&from_pg);

    let csv_files = file_tree_but_run_json(&work.join("out-csv"));
    let pg_files = file_tree_but_run_json(&work.join("out-pg"));
    assert_eq!(csv_files.keys().collect::<Vec<_>>(), pg_files.keys().collect::<Vec<_>>());
    for (name, bytes) in &csv_files {
        let expected = if name.ends_with("rejected.csv") {
            as_database_labels(bytes, &schema.name)
        } else {
            bytes.clone()
        };
        if name.ends_with("recommended.toml") {
            // Its header names the data it was chosen on (the folder or the database, and
            // the files' hash): the policies below it are the same.
            let body = |b: &[u8]| {
                String::from_utf8_lossy(b)
                    .lines()
                    .filter(|l| !l.starts_with("# Data:") && !l.starts_with("# Evaluate"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(body(&pg_files[name]), body(&expected), "{name} differs");
            continue;
        }
        if name.ends_with(".csv") {
            // Text: a failure shows the lines.
            assert_eq!(
                String::from_utf8_lossy(&pg_files[name]),
                String::from_utf8_lossy(&expected),
                "{name} differs between PostgreSQL (left) and CSV"
            );
        }
        assert!(pg_files[name] == expected, "{name} differs between CSV and PostgreSQL");
    }
    // Every kind of bad row was there to compare.
    let rejected = String::from_utf8(pg_files["2026-W46/rejected.csv"].clone()).unwrap();
    for needle in [
        ",started_at,",
        "duplicate conversation id",
        "sent_at must not decrease",
        ",sender,",
        "no conversation",
        ",rep_rating,",
        "handoff turn 99",
        "duplicate outcome",
    ] {
        assert!(rejected.contains(needle), "no rejection with {needle:?}:\n{rejected}");
    }
    assert!(rejected.contains(&format!("{}.messages,", schema.name)), "{rejected}");

    // validate reads the same rows.
    let o = run(handoff().args(["validate", "--data", &schema.data_url()]));
    assert_ok(&o);
    let out = stdout(&o);
    assert!(out.contains(&format!("rows read from {}.messages", schema.name)), "{out}");
    let folder = run(handoff().args(["validate", "--data"]).arg(&csv_dir));
    let folder = String::from_utf8(as_database_labels(&folder.stdout, &schema.name)).unwrap();
    let body = |text: &str| text[text.find("Conversations: ").unwrap()..].to_string();
    assert_eq!(body(&out), body(&folder), "validate's summary");
}

/// The history rows in the database, in history.parquet's order, as `Debug` text (a NaN
/// compares equal to itself there).
fn history_in_db(client: &mut Client, schema: &str) -> Vec<String> {
    let rows = client
        .query(
            &format!(
                "SELECT \"window\", since::text, until::text, policy, handoffs, handoff_rate,
                    meeting_rate, meeting_rate_low, meeting_rate_high,
                    opportunity_rate, opportunity_rate_low, opportunity_rate_high,
                    handoff_to_meeting, handoff_to_meeting_low, handoff_to_meeting_high,
                    handoff_to_opportunity, handoff_to_opportunity_low,
                    handoff_to_opportunity_high, quality_score, \"by\", value
                 FROM {schema}.handoff_history ORDER BY \"window\", position"
            ),
            &[],
        )
        .expect("read handoff_history");
    rows.iter()
        .map(|r| {
            let f = |i: usize| r.get::<_, Option<f64>>(i);
            let e = |i: usize| handoff::summary::Estimate {
                estimate: f(i),
                low: f(i + 1),
                high: f(i + 2),
            };
            let row = handoff::report::history::HistoryRow {
                window: r.get(0),
                since: r.get(1),
                until: r.get(2),
                policy: r.get(3),
                handoffs: r.get::<_, i64>(4) as u64,
                rates: handoff::summary::Rates {
                    handoff_rate: r.get(5),
                    meeting_rate: e(6),
                    opportunity_rate: e(9),
                    handoff_to_meeting: e(12),
                    handoff_to_opportunity: e(15),
                    pipeline_per_conversation: handoff::summary::Estimate::NULL,
                },
                quality_score: r.get(18),
                by: r.get(19),
                value: r.get(20),
            };
            format!("{row:?}")
        })
        .collect()
}

#[test]
fn the_history_table_equals_history_parquet_after_two_weeks_and_a_rerun() {
    let Some(url) = server_url() else { return };
    let work = Workdir::new();
    let data = work.join("data");
    generate(&data, 2_000, 3);
    let mut schema = Schema::new(&url, "history");
    // The sink over the Unix socket when the server script gave one, else over TCP.
    let sink = match std::env::var("HANDOFF_TEST_PG_SOCKET") {
        Ok(socket) if !socket.is_empty() => format!("{socket}&schema={}", schema.name),
        _ => schema.data_url(),
    };
    let out = work.join("out");
    let by = ["--by", "segment", "--min-slice", "50"];
    for (week, seed) in [("2026-W46", "1"), ("2026-W47", "1"), ("2026-W46", "2")] {
        let mut extra = by.to_vec();
        extra.extend(["--seed", seed]);
        let o = run(handoff()
            .args([
                "report",
                "--quiet",
                "--policies",
                POLICIES,
                "--bootstrap",
                "20",
                "--week",
                week,
            ])
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .args(&extra)
            .env("HANDOFF_HISTORY_DB", &sink));
        assert_ok(&o);
    }
    let parquet: Vec<String> = read_history(&out.join("history.parquet"))
        .unwrap()
        .iter()
        .map(|r| format!("{r:?}"))
        .collect();
    assert!(parquet.iter().any(|r| r.contains("by: Some(\"segment\")")), "slices in the history");
    assert!(parquet.iter().any(|r| r.contains("2026-W47")));
    assert_eq!(history_in_db(&mut schema.client, &schema.name), parquet);
    let versions: Vec<i32> = schema
        .client
        .query(&format!("SELECT version FROM {}.handoff_schema_migrations", schema.name), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, vec![1]);
}

#[test]
fn a_missing_table_or_server_exits_3_naming_host_database_and_table() {
    let Some(url) = server_url() else { return };
    let mut schema = Schema::new(&url, "missing");
    schema
        .client
        .batch_execute(&format!(
            "CREATE TABLE {0}.conversations (conversation_id text, started_at text);
             CREATE TABLE {0}.outcomes (conversation_id text)",
            schema.name
        ))
        .unwrap();
    let work = Workdir::new();
    let o = report(&schema.data_url(), &work.join("out"), "2026-W46", &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("127.0.0.1") && err.contains("handoff_test"), "{err}");
    assert!(err.contains(&format!("{}.messages", schema.name)), "{err}");
    assert!(!err.contains(&password_of(&url)), "the password leaked: {err}");

    // Nothing listens on port 1.
    let port = url.rsplit_once(':').unwrap().1.split('/').next().unwrap().to_string();
    let refused = url.replace(&format!(":{port}/"), ":1/");
    let o = run(handoff().args(["validate", "--data", &refused]));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("127.0.0.1:1") && err.contains("handoff_test"), "{err}");
    assert!(!err.contains(&password_of(&url)), "the password leaked: {err}");
}

#[test]
fn the_password_never_appears_in_outputs_logs_or_errors() {
    let Some(url) = server_url() else { return };
    let password = password_of(&url);
    let work = Workdir::new();
    let data = work.join("data");
    generate(&data, 600, 11);
    let mut schema = Schema::new(&url, "secret");
    schema.load(&data);
    let out = work.join("out");
    // The URL with its password, on the command line and in the environment, logs on.
    let o = run(handoff()
        .args(["report", "--policies", POLICIES, "--bootstrap", "5", "--week", "2026-W46"])
        .args(["--log-format", "json", "--data", &schema.data_url(), "--out"])
        .arg(&out)
        .args(["--history-db", &schema.data_url()])
        .env("HANDOFF_LOG", "debug"));
    assert_ok(&o);
    let mut seen = vec![stdout(&o), stderr(&o)];
    for bytes in file_tree(&out).values() {
        seen.push(String::from_utf8_lossy(bytes).into_owned());
    }
    let run_json = std::fs::read_to_string(out.join("2026-W46/run.json")).unwrap();
    assert!(run_json.contains(&without_password(&schema.data_url())), "{run_json}");
    let o = run(handoff().args(["report", "--help"]).env("HANDOFF_DATA", schema.data_url()));
    seen.push(stdout(&o));
    // A URL that does not parse, and a wrong password.
    let bad = schema.data_url().replace("?schema=", "?bogus=");
    let o = run(handoff().args(["validate", "--data", &bad]));
    assert_eq!(o.status.code(), Some(2));
    seen.push(stderr(&o));
    let wrong = url.replace(&password, "not-the-password");
    let o = run(handoff().args(["validate", "--data", &wrong]));
    assert_eq!(o.status.code(), Some(3));
    seen.push(stderr(&o));
    for text in &seen {
        assert!(!text.contains(&password), "the password leaked:\n{text}");
    }

    // The password from PGPASSWORD, then from a password file.
    let plain = without_password(&schema.data_url());
    let o = run(handoff().args(["validate", "--data", &plain]).env("PGPASSWORD", &password));
    assert_ok(&o);
    let home = work.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let pgpass = home.join(".pgpass");
    std::fs::write(&pgpass, format!("127.0.0.1:*:handoff_test:handoff:{password}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let o = run(handoff()
        .args(["validate", "--data", &plain])
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .env("HOME", &home));
    assert_ok(&o);
}

#[test]
fn tls_is_used_and_verified_when_the_url_asks_for_it() {
    let Some(url) = server_url() else { return };
    let Ok(ca) = std::env::var("HANDOFF_TEST_PG_CA") else {
        assert!(std::env::var_os("CI").is_none(), "in CI the test server has TLS on");
        eprintln!("skipping: the test server has no TLS (HANDOFF_TEST_PG_CA is not set)");
        return;
    };
    let work = Workdir::new();
    let data = work.join("data");
    generate(&data, 200, 5);
    let mut schema = Schema::new(&url, "tls");
    schema.load(&data);
    let base = schema.data_url();
    // Encrypted whatever the certificate (libpq's require), checked against the CA, and
    // checked with the host name (the certificate names 127.0.0.1).
    for mode in [
        "require",
        &format!("verify-ca&sslrootcert={ca}"),
        &format!("verify-full&sslrootcert={ca}"),
    ] {
        let o = run(handoff().args(["validate", "--data", &format!("{base}&sslmode={mode}")]));
        assert_ok(&o);
    }
    // Without the CA, verify-ca refuses the server's certificate: no silent downgrade.
    let o = run(handoff().args(["validate", "--data", &format!("{base}&sslmode=verify-ca")]));
    assert_eq!(o.status.code(), Some(3), "a certificate from an unknown CA must be refused");
    assert!(stderr(&o).contains("certificate"), "{}", stderr(&o));
    // verify-full on a name the certificate does not carry (it names only 127.0.0.1).
    let renamed =
        format!("{base}&sslmode=verify-full&sslrootcert={ca}").replace("127.0.0.1", "localhost");
    let o = run(handoff().args(["validate", "--data", &renamed]));
    assert_eq!(o.status.code(), Some(3));
    let o = run(handoff().args(["validate", "--data", &format!("{base}&sslmode=disable")]));
    assert_ok(&o);
}
