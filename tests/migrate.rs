//! Migration stories against real servers (PostgreSQL 15 and 17, MariaDB 11.8, Redis 7.0), through
//! the binary: every naming scheme ordered by version, checksums that refuse an edited file and
//! ignore line endings, `--repair`, failures in the middle of a file (rolled back on PostgreSQL,
//! recorded precisely on MariaDB), files that opt out of the transaction, `DELIMITER` blocks, Redis
//! command files, a team's own migration tool, and a second `up` that applies only what is new.
//!
//! Each test writes its own profile and migrations folder in a temporary directory, uses its own
//! environment, and ends with `down` and nothing of the environment left on the engine.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;

use common::*;
use dbtwin::exit;
use dbtwin::runtime::docker::DockerRuntime;
use dbtwin::runtime::{LabelFilter, Runtime, labels};
use mysql_async::prelude::Queryable;
use sha2::{Digest, Sha256};

/// Fast, in-memory databases: every profile here starts with this.
const DEFAULTS: &str = "defaults: { storage: tmpfs, durability: throwaway }\n";

/// A test's own folder: the profile and the migrations it names, edited as the story goes.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A folder holding `p.yaml` (the profile, whose relative paths resolve against this folder).
    fn new(profile: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        write_profile(dir.path(), "p.yaml", profile);
        Project { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file, creating its folders.
    fn write(&self, relative: &str, content: impl AsRef<[u8]>) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn remove(&self, relative: &str) {
        std::fs::remove_file(self.path(relative)).unwrap();
    }

    /// `-p FILE -p profiles/offline.yaml`, so images resolve to the offline builds.
    fn profiles(&self, file: &str) -> Vec<String> {
        vec![
            "-p".into(),
            self.path(file).to_string_lossy().into_owned(),
            "-p".into(),
            path("profiles/offline.yaml"),
        ]
    }
}

async fn up(env: &str, profiles: &[String], extra: &[&str]) -> Output {
    let mut cmd = dbtwin();
    cmd.arg("up").args(profiles).args(["--env", env]).args(extra);
    run(cmd).await
}

/// `dbtwin migrate --env ENV ARGS…`.
async fn migrate(env: &str, args: &[&str]) -> Output {
    let mut cmd = dbtwin();
    cmd.args(["migrate", "--env", env]).args(args);
    run(cmd).await
}

/// `dbtwin status --env ENV --check --json`: the exit code and the parsed document.
async fn status(env: &str) -> (Option<i32>, serde_json::Value) {
    let mut cmd = dbtwin();
    cmd.args(["status", "--env", env, "--check", "--json"]);
    let out = run(cmd).await;
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status prints JSON ({e}): {}\n{}", stdout(&out), stderr(&out)));
    (out.status.code(), doc)
}

/// `down`, then nothing of the environment may be left on the engine.
async fn finish(rt: &DockerRuntime, env: &str) {
    let mut cmd = dbtwin();
    cmd.args(["down", "--env", env]);
    assert_success(&run(cmd).await);
    assert_eq!(leftovers(rt, env).await, Vec::<String>::new());
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

#[track_caller]
fn assert_contains(text: &str, wanted: &str) {
    assert!(text.contains(wanted), "expected {wanted:?} in:\n{text}");
}

/// The password of a URL `scheme://user:password@host…`.
fn password_of(url: &str) -> String {
    let userinfo = url.split_once("://").unwrap().1.split_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_string()
}

/// dbtwin's checksum as documented, computed here independently: SHA-256 of the text with a BOM
/// removed, CRLF turned into LF and the final newlines dropped.
fn checksum_of(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).replace("\r\n", "\n");
    Sha256::digest(text.trim_end_matches('\n').as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The twelve hex digits messages show of a checksum.
fn short(checksum: &str) -> &str {
    &checksum[..12]
}

/// One row of `dbtwin_schema_history`, as any engine stores it.
#[derive(Clone, Debug, PartialEq)]
struct History {
    version: Option<String>,
    script: String,
    success: bool,
    applied: i64,
    total: i64,
    checksum: String,
    applied_at: String,
}

/// (version, script) of each row, in the order they were applied.
fn order(rows: &[History]) -> Vec<(Option<&str>, &str)> {
    rows.iter().map(|r| (r.version.as_deref(), r.script.as_str())).collect()
}

async fn pg(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

async fn pg_history(url: &str) -> Vec<History> {
    pg(url)
        .await
        .query(
            "SELECT version, script, success, statements_applied::bigint,
                    statements_total::bigint, checksum, applied_at::text
               FROM dbtwin_schema_history ORDER BY installed_rank",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| History {
            version: r.get(0),
            script: r.get(1),
            success: r.get(2),
            applied: r.get(3),
            total: r.get(4),
            checksum: r.get(5),
            applied_at: r.get(6),
        })
        .collect()
}

/// Whether a table, view, index or other relation exists.
async fn pg_exists(url: &str, relation: &str) -> bool {
    pg(url)
        .await
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&relation])
        .await
        .unwrap()
        .get(0)
}

async fn my(url: &str) -> mysql_async::Conn {
    mysql_async::Conn::from_url(url).await.unwrap()
}

async fn my_history(url: &str) -> Vec<History> {
    let mut conn = my(url).await;
    type Raw = (Option<String>, String, bool, i64, i64, String, String);
    let rows: Vec<Raw> = conn
        .query(
            "SELECT version, script, success, statements_applied, statements_total, checksum,
                    CAST(applied_at AS CHAR)
               FROM dbtwin_schema_history ORDER BY installed_rank",
        )
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    rows.into_iter()
        .map(|(version, script, success, applied, total, checksum, applied_at)| History {
            version,
            script,
            success,
            applied,
            total,
            checksum,
            applied_at,
        })
        .collect()
}

async fn my_tables(url: &str) -> Vec<String> {
    let mut conn = my(url).await;
    let tables: Vec<String> = conn
        .query(
            "SELECT table_name FROM information_schema.tables
              WHERE table_schema = DATABASE() ORDER BY table_name",
        )
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    tables
}

async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

/// The Redis history hash, field by field (`00000001` → the row as JSON).
async fn redis_history(url: &str) -> Vec<(String, serde_json::Value)> {
    let mut conn = redis_conn(url).await;
    let stored: BTreeMap<String, String> =
        redis::cmd("HGETALL").arg("dbtwin:schema_history").query_async(&mut conn).await.unwrap();
    stored.into_iter().map(|(rank, json)| (rank, serde_json::from_str(&json).unwrap())).collect()
}

/// `(service, script)` of every `migration_applied` event in `up --json`'s output.
fn applied_events(out: &Output) -> Vec<(String, String)> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("every line is JSON"))
        .filter(|e| e["event"] == "migration_applied")
        .map(|e| {
            (e["db"]["service"].as_str().unwrap().to_string(), e["script"].as_str().unwrap().into())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Naming schemes

#[tokio::test(flavor = "multi_thread")]
async fn every_naming_scheme_is_applied_in_version_order() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("schemes");
    let _cleanup = Cleanup(env.clone());
    let p = Project::new(&format!(
        "name: schemes\n{DEFAULTS}services:
  flyway:
    databases:
      main: {{ engine: postgres, version: \"15\", migrations: flyway }}
  stamps:
    databases:
      main: {{ engine: postgres, version: \"17\", migrations: stamps }}
  diesel:
    databases:
      main: {{ engine: postgres, version: \"17\", migrations: diesel }}
"
    ));

    // Flyway: V10 needs V2's table and V1.1's column, so ordering the names as strings (V10 before
    // V1__ and V2) fails; the repeatable views need V10's column, so they come after every
    // versioned file. The undo script and the misnamed file must not run.
    p.write(
        "flyway/V1__create_accounts.sql",
        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE);\n",
    );
    p.write("flyway/V1_1__add_account_name.sql", "ALTER TABLE accounts ADD COLUMN name text;\n");
    p.write(
        "flyway/V2__create_orders.sql",
        "CREATE TABLE orders (\n    id bigint PRIMARY KEY,\n    account_id bigint NOT NULL REFERENCES accounts (id),\n    total numeric(10, 2) NOT NULL\n);\n",
    );
    p.write(
        "flyway/V10__order_dates.sql",
        "ALTER TABLE orders ADD COLUMN placed_at timestamptz NOT NULL DEFAULT now();\nCREATE INDEX orders_by_account ON orders (account_id, placed_at);\nCREATE INDEX accounts_by_name ON accounts (name);\n",
    );
    p.write(
        "flyway/R__order_totals.sql",
        "CREATE OR REPLACE VIEW order_totals AS\n  SELECT account_id, sum(total) AS total, max(placed_at) AS last_order\n    FROM orders GROUP BY account_id;\n",
    );
    p.write(
        "flyway/R__active_accounts.sql",
        "CREATE OR REPLACE VIEW active_accounts AS\n  SELECT a.* FROM accounts a WHERE EXISTS (SELECT 1 FROM orders o WHERE o.account_id = a.id);\n",
    );
    p.write("flyway/U2__drop_orders.sql", "DROP TABLE orders;\n");
    p.write("flyway/V3_missing_underscore.sql", "CREATE TABLE typo_ran (id int);\n");
    p.write("flyway/README.md", "# not a migration\n");

    // sqlx, dbmate and golang-migrate share the timestamp scheme; each file needs the one before.
    p.write(
        "stamps/20240101120000_create_users.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n",
    );
    p.write(
        "stamps/20240102090000_create_items.sql",
        "-- migrate:up\nCREATE TABLE items (id bigint PRIMARY KEY, owner bigint NOT NULL REFERENCES users (id));\n\n-- migrate:down\nDROP TABLE items;\nCREATE TABLE dbmate_down_ran (id int);\n",
    );
    p.write(
        "stamps/20240103150000_create_tags.up.sql",
        "CREATE TABLE tags (\n    item bigint NOT NULL REFERENCES items (id),\n    tag text NOT NULL,\n    PRIMARY KEY (item, tag)\n);\n",
    );
    p.write(
        "stamps/20240103150000_create_tags.down.sql",
        "DROP TABLE tags;\nCREATE TABLE golang_down_ran (id int);\n",
    );

    // diesel: one folder per migration, its generated setup first (dollar-quoted functions), a
    // migration that uses it, and one that opts out of the transaction in metadata.toml.
    p.write("diesel/00000000000000_diesel_initial_setup/up.sql", DIESEL_SETUP);
    p.write(
        "diesel/00000000000000_diesel_initial_setup/down.sql",
        "DROP FUNCTION IF EXISTS diesel_manage_updated_at(_tbl regclass);\nDROP FUNCTION IF EXISTS diesel_set_updated_at();\nCREATE TABLE diesel_down_ran (id int);\n",
    );
    p.write(
        "diesel/2024-01-01-120000_create_posts/up.sql",
        "CREATE TABLE posts (\n  id SERIAL PRIMARY KEY,\n  title VARCHAR NOT NULL,\n  updated_at TIMESTAMP NOT NULL DEFAULT NOW()\n);\n\nSELECT diesel_manage_updated_at('posts');\n",
    );
    p.write("diesel/2024-01-01-120000_create_posts/down.sql", "DROP TABLE posts;\n");
    p.write(
        "diesel/2024-01-02-080000_create_comments/up.sql",
        "CREATE TABLE comments (id SERIAL PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id), body TEXT NOT NULL);\n",
    );
    p.write("diesel/2024-01-02-080000_create_comments/down.sql", "DROP TABLE comments;\n");
    p.write(
        "diesel/2024-01-03-000000_index_comments/up.sql",
        "CREATE INDEX CONCURRENTLY comments_by_post ON comments (post_id);\n",
    );
    p.write(
        "diesel/2024-01-03-000000_index_comments/metadata.toml",
        "run_in_transaction = false\n",
    );

    let out = up(&env, &p.profiles("p.yaml"), &[]).await;
    assert_success(&out);
    assert_contains(
        &stderr(&out),
        &format!(
            "warning: flyway.main: {}: the name matches no migration scheme, so it is skipped",
            p.path("flyway/V3_missing_underscore.sql").display()
        ),
    );
    let urls = env_urls(&env).await;

    let flyway = &urls["FLYWAY_MAIN_ADMIN_URL"];
    let history = pg_history(flyway).await;
    assert_eq!(
        order(&history),
        [
            (Some("1"), "V1__create_accounts.sql"),
            (Some("1.1"), "V1_1__add_account_name.sql"),
            (Some("2"), "V2__create_orders.sql"),
            (Some("10"), "V10__order_dates.sql"),
            (None, "R__active_accounts.sql"),
            (None, "R__order_totals.sql"),
        ]
    );
    assert!(history.iter().all(|r| r.success && r.applied == r.total), "{history:?}");
    assert_eq!(history[3].total, 3, "V10 holds three statements");
    assert_eq!(
        history[2].checksum,
        checksum_of(&std::fs::read_to_string(p.path("flyway/V2__create_orders.sql")).unwrap())
    );
    for relation in ["accounts", "orders", "order_totals", "active_accounts", "orders_by_account"] {
        assert!(pg_exists(flyway, relation).await, "{relation} exists");
    }
    assert!(!pg_exists(flyway, "typo_ran").await, "a misnamed file never runs");
    let client = pg(flyway).await;
    client
        .batch_execute(
            "INSERT INTO accounts (id, email, name) VALUES (1, 'a@example.com', 'A');
             INSERT INTO orders (id, account_id, total) VALUES (1, 1, 5.50), (2, 1, 4.50);",
        )
        .await
        .unwrap();
    let total: String =
        client.query_one("SELECT total::text FROM order_totals", &[]).await.unwrap().get(0);
    assert_eq!(total, "10.00", "the repeatable view works over V10's table");

    let stamps = &urls["STAMPS_MAIN_ADMIN_URL"];
    assert_eq!(
        order(&pg_history(stamps).await),
        [
            (Some("20240101120000"), "20240101120000_create_users.sql"),
            (Some("20240102090000"), "20240102090000_create_items.sql"),
            (Some("20240103150000"), "20240103150000_create_tags.up.sql"),
        ]
    );
    for relation in ["users", "items", "tags"] {
        assert!(pg_exists(stamps, relation).await, "{relation} exists");
    }
    for relation in ["dbmate_down_ran", "golang_down_ran"] {
        assert!(!pg_exists(stamps, relation).await, "a down migration ran: {relation}");
    }
    // dbmate's checksum covers the up section only.
    let items = &pg_history(stamps).await[1];
    assert_eq!(
        items.checksum,
        checksum_of(
            "CREATE TABLE items (id bigint PRIMARY KEY, owner bigint NOT NULL REFERENCES users (id));\n\n"
        )
    );
    assert_eq!(items.total, 1, "the down section is not part of the file's statements");

    let diesel = &urls["DIESEL_MAIN_ADMIN_URL"];
    assert_eq!(
        order(&pg_history(diesel).await),
        [
            (Some("0"), "00000000000000_diesel_initial_setup/up.sql"),
            (Some("20240101120000"), "2024-01-01-120000_create_posts/up.sql"),
            (Some("20240102080000"), "2024-01-02-080000_create_comments/up.sql"),
            (Some("20240103000000"), "2024-01-03-000000_index_comments/up.sql"),
        ]
    );
    assert!(!pg_exists(diesel, "diesel_down_ran").await);
    let client = pg(diesel).await;
    let triggers: Vec<String> = client
        .query(
            "SELECT tgname::text FROM pg_trigger
              WHERE tgrelid = 'posts'::regclass AND NOT tgisinternal",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(triggers, ["set_updated_at"], "diesel_manage_updated_at('posts') made its trigger");
    let valid: bool = client
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'comments_by_post'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(valid, "the concurrently built index is valid");

    // A fresh environment is clean: nothing pending, nothing drifted.
    let (code, doc) = status(&env).await;
    assert_eq!(code, Some(exit::OK), "{doc:#}");
    let applied: Vec<(&str, u64)> = doc["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["migrations"]["applied"].as_u64().unwrap()))
        .collect();
    assert_eq!(applied, [("diesel.main", 4), ("flyway.main", 6), ("stamps.main", 3)]);

    finish(&rt, &env).await;
}

/// What `diesel setup` writes into `00000000000000_diesel_initial_setup/up.sql`.
const DIESEL_SETUP: &str = r#"-- This file was automatically created by Diesel to setup helper functions
-- and other internal bookkeeping. This file is safe to edit, any future
-- changes will be added to existing projects as new migrations.




-- Sets up a trigger for the given table to automatically set a column called
-- `updated_at` whenever the row is modified (unless `updated_at` was included
-- in the modified columns)
--
-- # Example
--
-- ```sql
-- CREATE TABLE users (id SERIAL PRIMARY KEY, updated_at TIMESTAMP NOT NULL DEFAULT NOW());
--
-- SELECT diesel_manage_updated_at('users');
-- ```
CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass) RETURNS VOID AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s
                    FOR EACH ROW EXECUTE PROCEDURE diesel_set_updated_at()', _tbl);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION diesel_set_updated_at() RETURNS trigger AS $$
BEGIN
    IF (
        NEW IS DISTINCT FROM OLD AND
        NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
    ) THEN
        NEW.updated_at := current_timestamp;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"#;

// ---------------------------------------------------------------------------------------------
// 2. Changed files, --repair, line endings

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_migration_is_refused_until_repaired_and_line_endings_are_no_change() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("checksum");
    let _cleanup = Cleanup(env.clone());
    let p = Project::new(&format!(
        "name: checksums\n{DEFAULTS}services:
  accounts:
    databases:
      main: {{ engine: postgres, version: \"17\", migrations: pg }}
  orders:
    databases:
      main: {{ engine: mariadb, version: \"11.8\", migrations: my }}
"
    ));
    let v1_pg = "CREATE TABLE notes (\n    id int PRIMARY KEY,\n    body text\n);\n";
    let v1_my = "CREATE TABLE notes (\n    id INT PRIMARY KEY,\n    body VARCHAR(200)\n);\n";
    let v2 = "CREATE INDEX notes_body ON notes (body);\n";
    p.write("pg/V1__create_notes.sql", v1_pg);
    p.write("pg/V2__index_notes.sql", v2);
    p.write("my/V1__create_notes.sql", v1_my);
    p.write("my/V2__index_notes.sql", v2);
    assert_success(&up(&env, &p.profiles("p.yaml"), &[]).await);
    let urls = env_urls(&env).await;
    let (pg_url, my_url) = (&urls["ACCOUNTS_MAIN_ADMIN_URL"], &urls["ORDERS_MAIN_ADMIN_URL"]);
    let pg_before = pg_history(pg_url).await;
    let my_before = my_history(my_url).await;
    assert_eq!(pg_before[1].checksum, checksum_of(v2));
    assert_eq!(my_before[1].checksum, checksum_of(v2));

    // Someone edits applied V2 in both folders, and adds V3.
    let edited = "-- searched by prefix\nCREATE INDEX notes_body ON notes (body);\n";
    p.write("pg/V2__index_notes.sql", edited);
    p.write("my/V2__index_notes.sql", edited);
    p.write("pg/V3__add_title.sql", "ALTER TABLE notes ADD COLUMN title text;\n");
    p.write("my/V3__add_title.sql", "ALTER TABLE notes ADD COLUMN title VARCHAR(100);\n");
    let (recorded, current) = (checksum_of(v2), checksum_of(edited));
    for service in ["accounts", "orders"] {
        let out = migrate(&env, &[service]).await;
        assert_exit(&out, exit::MIGRATION_FAILED);
        let err = stderr(&out);
        assert_contains(
            &err,
            &format!(
                "error: {service}.main: applied migrations were changed afterwards:\n  V2__index_notes.sql: recorded checksum {}, file now {}\n",
                short(&recorded),
                short(&current)
            ),
        );
        assert_contains(&err, "hint: an applied migration should never be edited");
        assert_contains(&err, "`dbtwin migrate --repair` records the new checksums");
    }
    // The whole environment is refused too, and nothing ran: V3 waits.
    assert_exit(&migrate(&env, &[]).await, exit::MIGRATION_FAILED);
    assert_eq!(pg_history(pg_url).await, pg_before);
    assert_eq!(my_history(my_url).await, my_before);
    let (code, doc) = status(&env).await;
    assert_eq!(code, Some(exit::DIFFERENT), "{doc:#}");

    // --repair records the new checksum deliberately, then applies what is pending.
    let out = migrate(&env, &["--repair"]).await;
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        "accounts.main: applied 1: V3__add_title.sql; repaired checksums of V2__index_notes.sql\n\
         orders.main: applied 1: V3__add_title.sql; repaired checksums of V2__index_notes.sql\n"
    );
    for history in [pg_history(pg_url).await, my_history(my_url).await] {
        assert_eq!(
            order(&history),
            [
                (Some("1"), "V1__create_notes.sql"),
                (Some("2"), "V2__index_notes.sql"),
                (Some("3"), "V3__add_title.sql"),
            ]
        );
        assert_eq!(history[1].checksum, current, "the new checksum is recorded");
        assert!(history.iter().all(|r| r.success));
    }
    let pg_repaired = pg_history(pg_url).await;
    let my_repaired = my_history(my_url).await;
    assert_eq!(pg_repaired[1].applied_at, pg_before[1].applied_at, "repair does not re-run V2");
    let (code, doc) = status(&env).await;
    assert_eq!(code, Some(exit::OK), "{doc:#}");
    for db in doc["databases"].as_array().unwrap() {
        assert_eq!(db["drift"], serde_json::json!([]), "{db:#}");
        assert_eq!(db["migrations"]["applied"], 3, "{db:#}");
    }

    // The same files with Windows line endings (and a BOM) are the same migrations.
    for (file, text) in [
        ("pg/V1__create_notes.sql", v1_pg),
        ("my/V1__create_notes.sql", v1_my),
        ("pg/V2__index_notes.sql", edited),
    ] {
        p.write(file, text.replace('\n', "\r\n"));
    }
    p.write("my/V2__index_notes.sql", format!("\u{feff}{}", edited.replace('\n', "\r\n")));
    let out = migrate(&env, &[]).await;
    assert_success(&out);
    assert_eq!(stdout(&out), "accounts.main: up to date\norders.main: up to date\n");
    assert_eq!(pg_history(pg_url).await, pg_repaired);
    assert_eq!(my_history(my_url).await, my_repaired);
    let (code, doc) = status(&env).await;
    assert_eq!(code, Some(exit::OK), "{doc:#}");

    finish(&rt, &env).await;
}

// ---------------------------------------------------------------------------------------------
// 3. PostgreSQL: a failing statement rolls its file back

/// Three statements; the second names a column `v1_base` does not have (file line 5).
const BAD_V2_PG: &str = "-- copies the base rows
CREATE TABLE v2_made (id int PRIMARY KEY, name text);

INSERT INTO v2_made (id, name)
SELECT id, missing_column
  FROM v1_base;

CREATE INDEX v2_made_name ON v2_made (name);
";

#[tokio::test(flavor = "multi_thread")]
async fn postgres_rolls_a_failing_file_back_and_names_its_line() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("pgfail");
    let _cleanup = Cleanup(env.clone());
    let p = Project::new(&format!(
        "name: pgfail\n{DEFAULTS}services:
  ledger:
    databases:
      main: {{ engine: postgres, version: \"15\", migrations: migrations }}
"
    ));
    p.write(
        "migrations/V1__base.sql",
        "CREATE TABLE v1_base (id int PRIMARY KEY, label text NOT NULL);\nINSERT INTO v1_base VALUES (1, 'one'), (2, 'two');\n",
    );
    p.write("migrations/V2__fill.sql", BAD_V2_PG);
    let v2 = p.path("migrations/V2__fill.sql");
    let expected = format!(
        "error: ledger.main: {}:5: column \"missing_column\" does not exist\n  statement 2 of 3: INSERT INTO v2_made (id, name)\n  the file was rolled back: nothing of it is applied\n",
        v2.display()
    );

    // During `up`: the run fails with the migration's exit code and removes what it created.
    let out = up(&env, &p.profiles("p.yaml"), &[]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(&stderr(&out), &expected);
    assert_contains(&stderr(&out), "removing what this run created");
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());

    // On a running environment: V1 first, then the broken V2 through `migrate`.
    p.remove("migrations/V2__fill.sql");
    assert_success(&up(&env, &p.profiles("p.yaml"), &[]).await);
    let url = &env_urls(&env).await["LEDGER_MAIN_ADMIN_URL"];
    p.write("migrations/V2__fill.sql", BAD_V2_PG);
    let out = migrate(&env, &[]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(&stderr(&out), &expected);
    assert!(!pg_exists(url, "v2_made").await, "the first statement's table was rolled back");
    assert_eq!(order(&pg_history(url).await), [(Some("1"), "V1__base.sql")], "no V2 row");

    // Fixed, it applies.
    p.write("migrations/V2__fill.sql", BAD_V2_PG.replace("missing_column", "label"));
    let out = migrate(&env, &[]).await;
    assert_success(&out);
    assert_eq!(stdout(&out), "ledger.main: applied 1: V2__fill.sql\n");
    let history = pg_history(url).await;
    assert_eq!(order(&history), [(Some("1"), "V1__base.sql"), (Some("2"), "V2__fill.sql")]);
    assert!(history[1].success && history[1].applied == 3 && history[1].total == 3);
    let names: Vec<String> = pg(url)
        .await
        .query("SELECT name FROM v2_made ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["one", "two"]);
    assert!(pg_exists(url, "v2_made_name").await);

    finish(&rt, &env).await;
}

// ---------------------------------------------------------------------------------------------
// 4. MariaDB: a failing statement leaves what ran before it, and says so

const BAD_V2_MY: &str = "-- copies the base rows
CREATE TABLE v2_made (id INT PRIMARY KEY, name VARCHAR(20));

INSERT INTO v2_made (id, name)
SELECT id, missing_column
  FROM v1_base;

CREATE INDEX v2_made_name ON v2_made (name);
";

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_records_what_a_failing_file_left_applied() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("myfail");
    let _cleanup = Cleanup(env.clone());
    let p = Project::new(&format!(
        "name: myfail\n{DEFAULTS}services:
  ledger:
    databases:
      main: {{ engine: mariadb, version: \"11.8\", migrations: migrations }}
"
    ));
    p.write(
        "migrations/V1__base.sql",
        "CREATE TABLE v1_base (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL);\nINSERT INTO v1_base VALUES (1, 'one'), (2, 'two');\n",
    );
    p.write("migrations/V2__fill.sql", BAD_V2_MY);
    let v2 = p.path("migrations/V2__fill.sql");
    // MariaDB names no line for an unknown column: the statement's own line is given.
    let expected = format!(
        "error: ledger.main: {}:4: Unknown column 'missing_column' in 'SELECT' (error 1054, sqlstate 42S22)\n  statement 2 of 3: INSERT INTO v2_made (id, name)\n  statements 1-1 of the file stayed applied (this engine cannot roll back DDL); the failure is recorded in dbtwin_schema_history\n",
        v2.display()
    );

    // During `up`: the run fails with the migration's exit code and removes what it created.
    let out = up(&env, &p.profiles("p.yaml"), &[]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(&stderr(&out), &expected);
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());

    // On a running environment.
    p.remove("migrations/V2__fill.sql");
    assert_success(&up(&env, &p.profiles("p.yaml"), &[]).await);
    let url = &env_urls(&env).await["LEDGER_MAIN_ADMIN_URL"];
    p.write("migrations/V2__fill.sql", BAD_V2_MY);
    let out = migrate(&env, &[]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(&stderr(&out), &expected);
    assert_eq!(
        my_tables(url).await,
        ["dbtwin_schema_history", "dbtwin_state", "v1_base", "v2_made"]
    );
    let history = my_history(url).await;
    assert_eq!(order(&history), [(Some("1"), "V1__base.sql"), (Some("2"), "V2__fill.sql")]);
    assert!(history[0].success);
    assert_eq!(
        (history[1].success, history[1].applied, history[1].total),
        (false, 1, 3),
        "{history:?}"
    );
    assert_eq!(history[1].checksum, checksum_of(BAD_V2_MY));

    // Until someone deals with it, migrate refuses to build on top of the half-applied file.
    let out = migrate(&env, &[]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(
        &stderr(&out),
        "error: ledger.main: migrations failed earlier and may have left changes behind:\n  V2__fill.sql: 1 of 3 statements stayed applied\n",
    );
    assert_contains(
        &stderr(&out),
        "hint: fix or undo what the failed statements left behind, then `dbtwin migrate --repair`",
    );
    assert_eq!(my_history(url).await, history, "nothing ran");

    // Undo by hand, fix the file, and --repair forgets the failure so the file runs again.
    let mut conn = my(url).await;
    conn.query_drop("DROP TABLE v2_made").await.unwrap();
    conn.disconnect().await.unwrap();
    let fixed = BAD_V2_MY.replace("missing_column", "label");
    p.write("migrations/V2__fill.sql", &fixed);
    let out = migrate(&env, &["--repair"]).await;
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        "ledger.main: applied 1: V2__fill.sql; forgot 1 failed migration(s)\n"
    );
    let history = my_history(url).await;
    assert_eq!(order(&history), [(Some("1"), "V1__base.sql"), (Some("2"), "V2__fill.sql")]);
    assert!(history.iter().all(|r| r.success && r.applied == r.total));
    assert_eq!(history[1].checksum, checksum_of(&fixed));
    let mut conn = my(url).await;
    let names: Vec<String> = conn.query("SELECT name FROM v2_made ORDER BY id").await.unwrap();
    conn.disconnect().await.unwrap();
    assert_eq!(names, ["one", "two"]);
    let (code, doc) = status(&env).await;
    assert_eq!(code, Some(exit::OK), "{doc:#}");

    // A syntax error: the server counts lines from the statement's start, the message from the
    // file's.
    p.write(
        "migrations/V3__notes.sql",
        "-- notes per row\nCREATE TABLE notes (\n  id INT PRIMARY KEY,\n  body TEXT NOT NULL DEFAULTT ''\n);\n",
    );
    let out = migrate(&env, &[]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(
        &stderr(&out),
        &format!(
            "error: ledger.main: {}:4: You have an error in your SQL syntax; ",
            p.path("migrations/V3__notes.sql").display()
        ),
    );
    assert_contains(
        &stderr(&out),
        "at line 3 (error 1064, sqlstate 42000)\n  statement 1 of 1: CREATE TABLE notes (\n  nothing of the file was applied\n",
    );
    let last = my_history(url).await.pop().unwrap();
    assert_eq!(
        (last.script.as_str(), last.success, last.applied, last.total),
        ("V3__notes.sql", false, 0, 1)
    );

    finish(&rt, &env).await;
}

// ---------------------------------------------------------------------------------------------
// 5, 6, 7, 9. Each engine's own forms, and a second `up` that applies only what was added

const COUNTERS_V1: &str = "CREATE TABLE counters (name VARCHAR(50) PRIMARY KEY, n INT NOT NULL);
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, n INT NOT NULL);

DELIMITER //
CREATE PROCEDURE bump(IN which VARCHAR(50))
BEGIN
  INSERT INTO counters (name, n) VALUES (which, 1)
    ON DUPLICATE KEY UPDATE n = n + 1;
  SELECT n FROM counters WHERE name = which;
END //

CREATE TRIGGER counters_audit AFTER UPDATE ON counters
FOR EACH ROW
BEGIN
  INSERT INTO audit (name, n) VALUES (NEW.name, NEW.n);
END//
DELIMITER ;

INSERT INTO counters (name, n) VALUES ('seed', 0);
";

#[tokio::test(flavor = "multi_thread")]
async fn each_engine_applies_its_own_forms_and_a_second_up_applies_only_what_was_added() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("forms");
    let _cleanup = Cleanup(env.clone());
    let p = Project::new(&format!(
        "name: forms\n{DEFAULTS}services:
  events:
    databases:
      main: {{ engine: postgres, version: \"17\", migrations: pg }}
  counters:
    databases:
      main: {{ engine: mariadb, version: \"11.8\", migrations: my }}
  flags:
    databases:
      main: {{ engine: redis, version: \"7.0\", migrations: redis }}
"
    ));
    p.write(
        "pg/V1__create_events.sql",
        "CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, at timestamptz NOT NULL DEFAULT now());\n",
    );
    p.write(
        "pg/V2__index_events_online.sql",
        "-- dbtwin:no-transaction\n-- builds the index without blocking writes\nCREATE INDEX CONCURRENTLY events_by_kind ON events (kind);\n",
    );
    p.write("my/V1__counters.sql", COUNTERS_V1);
    // The last file to run decides `search`: V10 only wins when versions compare as numbers.
    p.write(
        "redis/V1__feature_flags.redis",
        "# defaults\nHSET flags checkout on search off\nSET greeting \"hello world\"\n",
    );
    p.write("redis/V2__search_on.redis", "HSET flags search on\nRPUSH queue a b\n");
    p.write("redis/V10__search_beta.redis", "HSET flags search beta\nRPUSH queue c\n");

    assert_success(&up(&env, &p.profiles("p.yaml"), &[]).await);
    let urls = env_urls(&env).await;
    let (pg_url, my_url, redis_url) = (
        &urls["EVENTS_MAIN_ADMIN_URL"],
        &urls["COUNTERS_MAIN_ADMIN_URL"],
        &urls["FLAGS_MAIN_ADMIN_URL"],
    );

    // 5. PostgreSQL: the file outside a transaction built its index concurrently.
    let valid: bool = pg(pg_url)
        .await
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_by_kind'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(valid);
    let pg_first = pg_history(pg_url).await;
    assert_eq!(
        order(&pg_first),
        [(Some("1"), "V1__create_events.sql"), (Some("2"), "V2__index_events_online.sql")]
    );

    // 6. MariaDB: the DELIMITER block made a procedure and a trigger, and the procedure works.
    let mut conn = my(my_url).await;
    let first: Option<i64> = conn.query_first("CALL bump('hits')").await.unwrap();
    assert_eq!(first, Some(1));
    let second: Option<i64> = conn.query_first("CALL bump('hits')").await.unwrap();
    assert_eq!(second, Some(2));
    let audit: Vec<(String, i64)> =
        conn.query("SELECT name, n FROM audit ORDER BY id").await.unwrap();
    assert_eq!(audit, [("hits".to_string(), 2)], "the trigger fired on the update");
    conn.disconnect().await.unwrap();
    let my_first = my_history(my_url).await;
    assert_eq!(order(&my_first), [(Some("1"), "V1__counters.sql")]);
    assert_eq!(my_first[0].total, 5, "two tables, the procedure, the trigger, the insert");

    // 7. Redis: command files in version order, recorded in the history hash.
    let mut kv = redis_conn(redis_url).await;
    let flags: BTreeMap<String, String> =
        redis::cmd("HGETALL").arg("flags").query_async(&mut kv).await.unwrap();
    assert_eq!(flags["search"], "beta");
    assert_eq!(flags["checkout"], "on");
    let greeting: String = redis::cmd("GET").arg("greeting").query_async(&mut kv).await.unwrap();
    assert_eq!(greeting, "hello world");
    let queue: Vec<String> =
        redis::cmd("LRANGE").arg("queue").arg(0).arg(-1).query_async(&mut kv).await.unwrap();
    assert_eq!(queue, ["a", "b", "c"]);
    let history = redis_history(redis_url).await;
    let rows: Vec<(&str, &str, &str, bool, i64)> = history
        .iter()
        .map(|(rank, row)| {
            (
                rank.as_str(),
                row["version"].as_str().unwrap(),
                row["script"].as_str().unwrap(),
                row["success"].as_bool().unwrap(),
                row["statements_applied"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("00000001", "1", "V1__feature_flags.redis", true, 2),
            ("00000002", "2", "V2__search_on.redis", true, 2),
            ("00000003", "10", "V10__search_beta.redis", true, 2),
        ]
    );
    assert_eq!(
        history[0].1["checksum"],
        checksum_of(
            "# defaults\nHSET flags checkout on search off\nSET greeting \"hello world\"\n"
        )
    );

    // 9. New files in every folder; a second `up` applies those and leaves the rest alone. One
    // comes from a merged branch: older than what is applied, it runs, with a warning.
    p.write("pg/V3__add_source.sql", "ALTER TABLE events ADD COLUMN source text;\n");
    p.write("pg/V1_5__create_kinds.sql", "CREATE TABLE kinds (name text PRIMARY KEY);\n");
    p.write("my/V2__audit_by_name.sql", "CREATE INDEX audit_by_name ON audit (name);\n");
    p.write("redis/V11__limits.redis", "SET limit:requests 100\n");
    pg(pg_url)
        .await
        .batch_execute("INSERT INTO events (id, kind) VALUES (1, 'signup')")
        .await
        .unwrap();
    let ids = |cs: Vec<dbtwin::runtime::ContainerInfo>| {
        let mut v: Vec<(String, String)> = cs.into_iter().map(|c| (c.name, c.id)).collect();
        v.sort();
        v
    };
    let filter =
        LabelFilter::default().eq(labels::ENV, &env).eq(labels::KIND, labels::KIND_DATABASE);
    let containers = ids(rt.list_containers(&filter).await.unwrap());

    let out = up(&env, &p.profiles("p.yaml"), &["--json"]).await;
    assert_success(&out);
    let applied = applied_events(&out);
    let of = |service: &str| -> Vec<&str> {
        applied.iter().filter(|(s, _)| s == service).map(|(_, f)| f.as_str()).collect()
    };
    assert_eq!(of("events"), ["V1_5__create_kinds.sql", "V3__add_source.sql"]);
    assert_eq!(of("counters"), ["V2__audit_by_name.sql"]);
    assert_eq!(of("flags"), ["V11__limits.redis"]);
    assert_eq!(applied.len(), 4, "{applied:?}");
    assert_contains(
        &stdout(&out),
        r#""message":"V1_5__create_kinds.sql is older than migrations already applied; applying it now""#,
    );
    assert_eq!(ids(rt.list_containers(&filter).await.unwrap()), containers, "nothing re-created");
    let pg_second = pg_history(pg_url).await;
    assert_eq!(pg_second[..2], pg_first[..], "applied rows are left alone");
    assert_eq!(
        order(&pg_second[2..]),
        [(Some("1.5"), "V1_5__create_kinds.sql"), (Some("3"), "V3__add_source.sql")]
    );
    let kinds: Vec<(String, Option<String>)> = pg(pg_url)
        .await
        .query("SELECT kind, source FROM events", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(kinds, [("signup".to_string(), None)], "the data stays");
    let my_second = my_history(my_url).await;
    assert_eq!(my_second[..1], my_first[..]);
    assert_eq!(my_second[1].script, "V2__audit_by_name.sql");
    let mut conn = my(my_url).await;
    let hits: Option<i64> =
        conn.query_first("SELECT n FROM counters WHERE name = 'hits'").await.unwrap();
    assert_eq!(hits, Some(2));
    conn.disconnect().await.unwrap();
    let history = redis_history(redis_url).await;
    assert_eq!(history.len(), 4);
    assert_eq!(history[3].0, "00000004");
    assert_eq!(history[3].1["script"], "V11__limits.redis");
    let limit: String = redis::cmd("GET").arg("limit:requests").query_async(&mut kv).await.unwrap();
    assert_eq!(limit, "100");
    // A third `up` has nothing to apply.
    let out = up(&env, &p.profiles("p.yaml"), &["--json"]).await;
    assert_success(&out);
    assert_eq!(applied_events(&out), []);

    // 5, the other side: the same statement in a transactional file fails, with a hint.
    p.write(
        "pg/V4__index_source.sql",
        "CREATE INDEX CONCURRENTLY events_by_source ON events (source);\n",
    );
    let out = migrate(&env, &["events"]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    let err = stderr(&out);
    assert_contains(
        &err,
        &format!(
            "error: events.main: {}:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block\n  statement 1 of 1: CREATE INDEX CONCURRENTLY events_by_source ON events (source)\n  the file was rolled back: nothing of it is applied\n",
            p.path("pg/V4__index_source.sql").display()
        ),
    );
    assert_contains(
        &err,
        "hint: put `-- dbtwin:no-transaction` at the top of the file to run it outside a transaction",
    );
    assert!(!pg_exists(pg_url, "events_by_source").await);
    assert_eq!(pg_history(pg_url).await.len(), 4, "no V4 row");

    // Outside a transaction, a failure in the middle leaves the statements before it, and the
    // history says how many.
    p.write(
        "pg/V4__index_source.sql",
        "-- dbtwin:no-transaction\nCREATE INDEX CONCURRENTLY events_by_source ON events (source);\nCREATE INDEX CONCURRENTLY events_by_nothing ON events (nothing);\n",
    );
    let out = migrate(&env, &["events"]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(
        &stderr(&out),
        &format!(
            "error: events.main: {}:3: column \"nothing\" does not exist\n  statement 2 of 2: CREATE INDEX CONCURRENTLY events_by_nothing ON events (nothing)\n  statements 1-1 of the file stayed applied (the file runs outside a transaction); the failure is recorded in dbtwin_schema_history\n",
            p.path("pg/V4__index_source.sql").display()
        ),
    );
    assert!(pg_exists(pg_url, "events_by_source").await);
    let last = pg_history(pg_url).await.pop().unwrap();
    assert_eq!(
        (last.script.as_str(), last.success, last.applied, last.total),
        ("V4__index_source.sql", false, 1, 2)
    );

    // Redis has no rollback either: the commands before the failing one stay, and are recorded.
    p.write("redis/V12__broken.redis", "SET partial yes\nHSET greeting f v\nSET never yes\n");
    let out = migrate(&env, &["flags"]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(
        &stderr(&out),
        &format!(
            "error: flags.main: {}:2: \"WRONGTYPE\": Operation against a key holding the wrong kind of value\n  statement 2 of 3: HSET greeting f v\n  statements 1-1 of the file stayed applied (Redis has no rollback); the failure is recorded in dbtwin:schema_history\n",
            p.path("redis/V12__broken.redis").display()
        ),
    );
    let (rank, row) = redis_history(redis_url).await.pop().unwrap();
    assert_eq!(rank, "00000005");
    assert_eq!(
        (&row["script"], &row["success"], &row["statements_applied"], &row["statements_total"]),
        (&"V12__broken.redis".into(), &false.into(), &1.into(), &3.into())
    );
    let kept: Vec<Option<String>> =
        redis::cmd("MGET").arg("partial").arg("never").query_async(&mut kv).await.unwrap();
    assert_eq!(kept, [Some("yes".to_string()), None]);

    finish(&rt, &env).await;
}

// ---------------------------------------------------------------------------------------------
// 8. A team's own migration tool

/// Whether a host tool exists; outside CI a missing one skips the test (said plainly), in CI it
/// fails it.
fn host_tool(name: &str) -> bool {
    let found = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    if !found {
        assert!(
            !in_ci,
            "CI is set but `{name}` is not installed (apt-get install postgresql-client)"
        );
        eprintln!("SKIPPED: `{name}` is not installed");
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn a_teams_own_tool_gets_the_url_and_its_failure_shows_its_output_without_the_password() {
    if !host_tool("psql") {
        return;
    }
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("tool");
    let _cleanup = Cleanup(env.clone());
    let profile = |command: &str| {
        format!(
            "name: tool\n{DEFAULTS}services:
  billing:
    databases:
      main:
        engine: postgres
        version: \"15\"
        migrations: {{ dir: db/migrations, command: '{command}' }}
"
        )
    };
    // The tool runs in the folder's parent, so its paths are relative to `db/`.
    let p = Project::new(&profile(
        r#"echo "$DATABASE_URL" > seen-url && psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q -f sql/create.sql"#,
    ));
    p.write("db/migrations/.keep", "");
    p.write(
        "db/sql/create.sql",
        "CREATE TABLE invoices (id int PRIMARY KEY, total numeric NOT NULL);\nCREATE TABLE tool_history (version text PRIMARY KEY);\nINSERT INTO tool_history VALUES ('1');\n",
    );
    p.write(
        "db/sql/broken.sql",
        "SELECT 1;\nINSERT INTO no_such_table VALUES (1);\nCREATE TABLE never_made (id int);\n",
    );
    write_profile(
        p.dir.path(),
        "broken.yaml",
        &profile(
            r#"echo "connecting to $DATABASE_URL"; psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f sql/broken.sql"#,
        ),
    );

    let out = up(&env, &p.profiles("p.yaml"), &[]).await;
    assert_success(&out);
    let urls = env_urls(&env).await;
    let admin = &urls["BILLING_MAIN_ADMIN_URL"];
    assert_eq!(
        std::fs::read_to_string(p.path("db/seen-url")).unwrap().trim_end(),
        admin.as_str(),
        "DATABASE_URL is the admin's URL"
    );
    assert!(pg_exists(admin, "invoices").await, "the tool's migration ran");
    let owner: String = pg(admin)
        .await
        .query_one("SELECT tableowner::text FROM pg_tables WHERE tablename = 'invoices'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, admin.split_once("://").unwrap().1.split_once(':').unwrap().0);
    let password = password_of(admin);
    assert!(!stderr(&out).contains(&password) && !stdout(&out).contains(&password));

    // The profile now runs a migration that fails: exit 7, the tail of the tool's output, and
    // the URL it echoed shown without its password.
    let mut cmd = dbtwin();
    cmd.args(["migrate", "--env", &env]).args(p.profiles("broken.yaml"));
    let out = run(cmd).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    let err = stderr(&out);
    assert_contains(
        &err,
        r#"error: billing.main: migration command `echo "connecting to $DATABASE_URL"; psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f sql/broken.sql` failed (exit status: 3)"#,
    );
    assert_contains(&err, "  | connecting to $DATABASE_URL\n");
    assert_contains(
        &err,
        "psql:sql/broken.sql:2: ERROR:  relation \"no_such_table\" does not exist",
    );
    assert!(!err.contains(&password), "the password leaked:\n{err}");
    assert!(!stdout(&out).contains(&password));
    assert!(!pg_exists(admin, "never_made").await, "ON_ERROR_STOP stopped the tool");

    finish(&rt, &env).await;
}

// ---------------------------------------------------------------------------------------------
// 10. Files that change their own session: a pg_dump baseline that empties `search_path`, a file
// with its own BEGIN/COMMIT (as golang-migrate users write them), MySQL's `USE other`. Each runs
// as written, the history still lands in the environment's database, and the next file starts
// from a clean session.

#[tokio::test(flavor = "multi_thread")]
async fn files_that_change_their_own_session_run_as_written_and_do_not_leak() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("session");
    let _cleanup = Cleanup(env.clone());
    let project = Project::new(&format!(
        "{DEFAULTS}services:\n  pg:\n    databases:\n      main: {{ engine: postgres, version: \"17\", migrations: pg }}\n  my:\n    databases:\n      main: {{ engine: mariadb, version: \"11.8\", migrations: my }}\n"
    ));
    project.write(
        "pg/V1__baseline.sql",
        "-- as pg_dump writes it\nSELECT pg_catalog.set_config('search_path', '', false);\n\
         CREATE TABLE public.base (id integer PRIMARY KEY);\n",
    );
    project.write(
        "pg/V2__own_transaction.sql",
        "BEGIN;\nCREATE TABLE public.t2 (id integer);\nCOMMIT;\nCREATE TABLE public.t3 (id integer);\n",
    );
    // Unqualified: fails with "no schema has been selected" if V1's empty search_path leaked.
    // A role switch must not outlive its file either: the next file runs as the admin again.
    project.write("pg/V2_5__as_app.sql", "SET ROLE app;\nSELECT 1;\n");
    project.write("pg/V3__after.sql", "CREATE TABLE after_reset (id integer);\n");
    project.write(
        "my/V1__init.sql",
        "CREATE TABLE a (id INT PRIMARY KEY);\nCREATE DATABASE IF NOT EXISTS other;\nUSE other;\n\
         CREATE TABLE elsewhere (id INT);\n",
    );
    project.write("my/V2__next.sql", "CREATE TABLE b (id INT PRIMARY KEY);\n");
    let out = up(&env, &project.profiles("p.yaml"), &[]).await;
    assert_success(&out);
    let urls = env_urls(&env).await;
    let (pg_url, my_url) = (&urls["PG_MAIN_ADMIN_URL"], &urls["MY_MAIN_ADMIN_URL"]);

    let history = pg_history(pg_url).await;
    assert_eq!(
        order(&history),
        [
            (Some("1"), "V1__baseline.sql"),
            (Some("2"), "V2__own_transaction.sql"),
            (Some("2.5"), "V2_5__as_app.sql"),
            (Some("3"), "V3__after.sql")
        ]
    );
    let owner: String = pg(pg_url)
        .await
        .query_one("SELECT tableowner::text FROM pg_tables WHERE tablename = 'after_reset'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, "postgres");
    assert!(history.iter().all(|h| h.success));
    for table in ["base", "t2", "t3", "after_reset"] {
        assert!(pg_exists(pg_url, &format!("public.{table}")).await, "{table}");
    }
    assert_eq!(my_tables(my_url).await, ["a", "b", "dbtwin_schema_history", "dbtwin_state"]);
    assert_eq!(my_history(my_url).await.len(), 2);

    // A failure inside the file's own transaction: what came before its BEGIN stays, the rest
    // is rolled back by the server, and the record says so.
    project.write(
        "pg/V4__fails_inside.sql",
        "CREATE TABLE public.before_tx (id integer);\nBEGIN;\nCREATE TABLE public.in_tx (id integer);\nSELECT 1/0;\nCOMMIT;\n",
    );
    let out = migrate(&env, &["pg"]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    let err = stderr(&out);
    assert_contains(&err, "V4__fails_inside.sql:4: division by zero");
    assert_contains(&err, "statement 4 of 5: SELECT 1/0");
    assert_contains(&err, "statements 1-1 of the file stayed applied");
    assert!(pg_exists(pg_url, "public.before_tx").await);
    assert!(!pg_exists(pg_url, "public.in_tx").await);
    let last = pg_history(pg_url).await.pop().unwrap();
    assert_eq!(
        (last.script.as_str(), last.success, last.applied, last.total),
        ("V4__fails_inside.sql", false, 1, 5)
    );

    // A file that opens a transaction and never commits it has not applied anything after its
    // BEGIN: it is a failure, never a success whose work vanished with the session.
    project.remove("pg/V4__fails_inside.sql");
    project.write(
        "pg/V5__left_open.sql",
        "CREATE TABLE public.kept (id integer);\nBEGIN;\nCREATE TABLE public.left_open (id integer);\n",
    );
    let out = migrate(&env, &["pg"]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(&stderr(&out), "V5__left_open.sql:2: this transaction is never committed");
    assert!(pg_exists(pg_url, "public.kept").await);
    assert!(!pg_exists(pg_url, "public.left_open").await);
    let last = pg_history(pg_url).await.pop().unwrap();
    assert_eq!((last.script.as_str(), last.success, last.applied), ("V5__left_open.sql", false, 1));

    // MariaDB: settings a file loosens (foreign key checks, sql_mode) do not reach the next
    // file, which therefore meets the server's strict defaults.
    project.write(
        "my/V3__loose.sql",
        "SET FOREIGN_KEY_CHECKS = 0;\nSET sql_mode = '';\nCREATE TABLE c (id INT PRIMARY KEY, v VARCHAR(2));\n",
    );
    project.write("my/V4__strict.sql", "INSERT INTO c VALUES (1, 'toolong');\n");
    let out = migrate(&env, &["my"]).await;
    assert_exit(&out, exit::MIGRATION_FAILED);
    assert_contains(&stderr(&out), "V4__strict.sql:1: Data too long for column 'v'");
    let history = my_history(my_url).await;
    assert_eq!(
        history.iter().map(|h| (h.script.as_str(), h.success)).collect::<Vec<_>>(),
        [
            ("V1__init.sql", true),
            ("V2__next.sql", true),
            ("V3__loose.sql", true),
            ("V4__strict.sql", false)
        ]
    );

    finish(&rt, &env).await;
}

// ---------------------------------------------------------------------------------------------
// 11. A change made by hand stays drift through later runs until `--repair` accepts it: an `up`
// or `migrate` must not quietly adopt it as the new baseline.

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_change_stays_drift_across_runs_until_repair_accepts_it() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("handmade");
    let _cleanup = Cleanup(env.clone());
    let project = Project::new(&format!(
        "{DEFAULTS}services:\n  pg:\n    databases:\n      main: {{ engine: postgres, version: \"15\", migrations: m }}\n"
    ));
    project.write("m/V1__init.sql", "CREATE TABLE items (id integer PRIMARY KEY);\n");
    assert_success(&up(&env, &project.profiles("p.yaml"), &[]).await);
    assert_eq!(status(&env).await.0, Some(exit::OK));
    let url = env_urls(&env).await["PG_MAIN_ADMIN_URL"].clone();
    pg(&url).await.batch_execute("ALTER TABLE items ADD COLUMN by_hand text").await.unwrap();

    // Another up (nothing to apply) and a migrate that applies a new file: both warn, and the
    // drift is still reported afterwards.
    let out = up(&env, &project.profiles("p.yaml"), &[]).await;
    assert_success(&out);
    assert_contains(&stderr(&out), "the schema was changed outside migrations since the last run");
    project.write("m/V2__more.sql", "CREATE TABLE more_items (id integer PRIMARY KEY);\n");
    let out = migrate(&env, &[]).await;
    assert_success(&out);
    assert_contains(&stdout(&out), "applied 1: V2__more.sql");
    assert_contains(&stderr(&out), "`dbtwin migrate --repair` accepts it");
    let (code, doc) = status(&env).await;
    assert_eq!(code, Some(exit::DIFFERENT));
    assert_eq!(
        doc["databases"][0]["drift"],
        serde_json::json!(["schema changed since the last migration"])
    );

    // --repair accepts the schema as it is.
    assert_success(&migrate(&env, &["--repair"]).await);
    let (code, doc) = status(&env).await;
    assert_eq!(code, Some(exit::OK), "{doc}");

    // The everyday loop: one file applies, the next fails and is rolled back, it is fixed and
    // run again. What the first file changed is the migrations' own doing, never drift.
    project.write("m/V3__good.sql", "CREATE TABLE good (id integer PRIMARY KEY);\n");
    project.write("m/V4__bad.sql", "CREATE TABLE bad (id integer);\nSELECT 1/0;\n");
    assert_exit(&migrate(&env, &[]).await, exit::MIGRATION_FAILED);
    project.write("m/V4__bad.sql", "CREATE TABLE bad (id integer);\n");
    let out = migrate(&env, &[]).await;
    assert_success(&out);
    assert!(!stderr(&out).contains("changed outside migrations"), "{}", stderr(&out));
    let (code, doc) = status(&env).await;
    assert_eq!(code, Some(exit::OK), "{doc}");
    finish(&rt, &env).await;
}
