//! Stories of `status` and `diff` against real servers (PostgreSQL 15 and 17, MariaDB 11.8),
//! through the binary: a fresh environment is clean and a hand-made change or a new migration file
//! is drift; other tools' history tables are read as those tools wrote them; two environments from
//! one profile are the same, and each kind of schema difference is found; URLs honour passwords
//! from the environment, TLS modes and timeouts, never print a password, and are only read.
//!
//! Every test starts its own environment (several databases in it, so few `up`s), and ends with
//! `down` and nothing left behind.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;
use dbtwin::exit;
use dbtwin::migrate::checksum::{flyway_checksum, refinery_checksum, sqlx_checksum};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

// ---- running dbtwin ----------------------------------------------------------------------------

/// `-p PROFILE -p profiles/offline.yaml`.
fn offline(profile: &Path) -> Vec<String> {
    vec![
        "-p".into(),
        profile.to_string_lossy().into_owned(),
        "-p".into(),
        path("profiles/offline.yaml"),
    ]
}

async fn up(env: &str, profiles: &[String]) {
    let mut cmd = dbtwin();
    cmd.args(["up", "-q"]).args(profiles).args(["--env", env]);
    assert_success(&run(cmd).await);
}

async fn down(env: &str) {
    let mut cmd = dbtwin();
    cmd.args(["down", "--env", env]);
    assert_success(&run(cmd).await);
}

/// Runs dbtwin with `args`; PGPASSWORD and MYSQL_PWD are never inherited.
async fn dbtwin_run(args: &[&str]) -> Output {
    dbtwin_with(args, &[]).await
}

async fn dbtwin_with(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = dbtwin();
    cmd.env_remove("PGPASSWORD").env_remove("MYSQL_PWD").args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(cmd).await
}

#[track_caller]
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

#[track_caller]
fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("stdout is not one JSON document ({e}):\n{}\nstderr:\n{}", stdout(o), stderr(o))
    })
}

/// The row of `status --json` named `name`.
#[track_caller]
fn row<'s>(status: &'s Value, name: &str) -> &'s Value {
    status["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {status:#}"))
}

/// An object's keys, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// What `migrations` of a status row holds when nothing is pending, changed, unknown or failed.
fn clean_migrations(history: &str, applied: u64, verified: bool) -> Value {
    json!({ "history": history, "applied": applied, "pending": [], "changed": [], "unknown": [],
            "failed": [], "checksums_verified": verified })
}

/// `dbtwin diff --json A B` of two URLs: its exit code and the differences of its one pair.
async fn diff_urls(a: &str, b: &str) -> (Option<i32>, Vec<Value>) {
    let out = dbtwin_run(&["diff", "--json", a, b]).await;
    let doc = json_of(&out);
    let databases = doc["databases"].as_array().expect("databases");
    assert_eq!(databases.len(), 1, "{doc:#}");
    let differences = databases[0]["differences"].as_array().unwrap().clone();
    assert_eq!(doc["same"], differences.is_empty(), "{doc:#}");
    (out.status.code(), differences)
}

/// `diff --json` of two environments: `[database, differences]` per pair of databases.
fn per_database(doc: &Value) -> Value {
    let databases = doc["databases"].as_array().unwrap();
    databases.iter().map(|d| json!([d["database"], d["differences"]])).collect()
}

fn only_a(object: &str, path: &str, a: &str) -> Value {
    json!({ "object": object, "path": path, "change": { "change": "only-in-a", "a": a } })
}

fn only_b(object: &str, path: &str, b: &str) -> Value {
    json!({ "object": object, "path": path, "change": { "change": "only-in-b", "b": b } })
}

fn changed(object: &str, path: &str, field: &str, a: &str, b: &str) -> Value {
    json!({ "object": object, "path": path,
            "change": { "change": "changed", "field": field, "a": a, "b": b } })
}

// ---- URLs and servers --------------------------------------------------------------------------

/// `url` naming another database on the same server.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (server, _) = base.rsplit_once('/').unwrap();
    match query {
        Some(q) => format!("{server}/{db}?{q}"),
        None => format!("{server}/{db}"),
    }
}

fn password(url: &str) -> String {
    let userinfo = url.split_once("://").unwrap().1.split_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_string()
}

/// The URL as dbtwin shows it: no password, the port always spelled out.
fn shown(url: &str) -> String {
    let url = url.split_once('?').map_or(url, |(u, _)| u);
    url.replacen(&format!(":{}@", password(url)), "@", 1)
}

#[track_caller]
fn assert_no_secret(o: &Output, secret: &str) {
    assert!(
        !stdout(o).contains(secret) && !stderr(o).contains(secret),
        "a password was printed:\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// The two SQL engines these stories use, reached with their own drivers (not through dbtwin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Postgres,
    Mariadb,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Postgres => "postgres",
            Server::Mariadb => "mariadb",
        }
    }

    async fn exec(self, url: &str, sql: &str) {
        match self {
            Server::Postgres => {
                let client = pg(url).await;
                client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            }
            Server::Mariadb => {
                let mut conn = mysql_async::Conn::from_url(url).await.unwrap();
                conn.query_drop(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                conn.disconnect().await.unwrap();
            }
        }
    }

    async fn strings(self, url: &str, sql: &str) -> Vec<String> {
        match self {
            Server::Postgres => {
                let rows = pg(url).await.query(sql, &[]).await.unwrap();
                rows.iter().map(|r| r.get(0)).collect()
            }
            Server::Mariadb => {
                let mut conn = mysql_async::Conn::from_url(url).await.unwrap();
                let rows: Vec<String> = conn.query(sql).await.unwrap();
                conn.disconnect().await.unwrap();
                rows
            }
        }
    }

    /// Every table and view of the database, with its schema on PostgreSQL.
    async fn tables(self, url: &str) -> Vec<String> {
        let sql = match self {
            Server::Postgres => {
                "SELECT table_schema || '.' || table_name FROM information_schema.tables \
                  WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            }
            Server::Mariadb => {
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                  WHERE table_schema = DATABASE() ORDER BY 1"
            }
        };
        self.strings(url, sql).await
    }

    /// Creates database `db` (with `options`) on the server of `admin` and returns its URL.
    async fn create_database(self, admin: &str, db: &str, options: &str) -> String {
        self.exec(admin, &format!("CREATE DATABASE {db} {options}")).await;
        with_database(admin, db)
    }
}

async fn pg(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", shown(url)));
    tokio::spawn(conn);
    client
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ---- 1 and 3: the demo, twice ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn status_check_passes_on_fresh_demos_that_diff_the_same_until_hand_changes_and_new_files() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let (a, b) = (unique_env("insight-a"), unique_env("insight-b"));
    let (_ca, _cb) = (Cleanup(a.clone()), Cleanup(b.clone()));
    // A copy of the demo profile and its migrations: the story adds files to the folders.
    let dir = tempfile::tempdir().unwrap();
    for file in ["shop.yaml", "shop-ci.yaml"] {
        std::fs::create_dir_all(dir.path().join("profiles")).unwrap();
        std::fs::copy(root().join("profiles").join(file), dir.path().join("profiles").join(file))
            .unwrap();
    }
    copy_dir(&root().join("seeds/shop"), &dir.path().join("seeds/shop"));
    let profiles = offline(&dir.path().join("profiles/shop-ci.yaml"));
    tokio::join!(up(&a, &profiles), up(&b, &profiles));

    // Fresh: every database answers at its pin with every migration applied, and no drift.
    let out = dbtwin_run(&["status", "--env", &a, "--check", "--json"]).await;
    assert_exit(&out, exit::OK);
    let status = json_of(&out);
    assert_eq!(keys(&status), ["databases", "drift"]);
    assert_eq!(status["drift"], false);
    let demo = [
        ("accounts.main", "postgres", "17", 5),
        ("catalog.main", "postgres", "15", 4),
        ("orders.main", "mariadb", "11.8", 4),
        ("sessions.cache", "redis", "7.0", 2),
    ];
    let names: Vec<&Value> =
        status["databases"].as_array().unwrap().iter().map(|r| &r["name"]).collect();
    assert_eq!(names, demo.iter().map(|d| d.0).collect::<Vec<_>>());
    for (name, engine, pin, applied) in demo {
        let r = row(&status, name);
        let sql = engine != "redis";
        let mut expected_keys = vec![
            "approx_rows",
            "drift",
            "engine",
            "fingerprint",
            "migrated_fingerprint",
            "migrations",
            "name",
            "pinned",
            "reachable",
            "seeding",
            "server_version",
            "tables",
            "warnings",
        ];
        if !sql {
            expected_keys.retain(|k| *k != "migrated_fingerprint");
        }
        assert_eq!(keys(r), expected_keys, "{name}");
        assert_eq!(r["engine"], engine, "{name}");
        assert_eq!(r["pinned"], pin, "{name}");
        assert_eq!(r["reachable"], true, "{name}");
        let version = r["server_version"].as_str().unwrap();
        assert!(version.starts_with(&format!("{pin}.")), "{name} runs {version}, pinned {pin}");
        assert_eq!(r["migrations"], clean_migrations("dbtwin", applied, true), "{name}");
        assert_eq!(r["drift"], json!([]), "{name}");
        assert_eq!(r["warnings"], json!([]), "{name}");
        // `up` seeded it, to the end, every key back.
        let seeding = &r["seeding"];
        assert_eq!(seeding["complete"], true, "{name}: {seeding}");
        assert_eq!(seeding["keys_off"], false, "{name}: {seeding}");
        assert!(seeding["rows"].as_u64().unwrap() > 0, "{name}: {seeding}");
        let file =
            dir.path().join("seeds/shop").join(format!("{}.yaml", name.split('.').next().unwrap()));
        assert_eq!(seeding["file"], file.to_str().unwrap(), "{name}");
        if sql {
            let fingerprint = r["fingerprint"].as_str().unwrap();
            assert_eq!(fingerprint.len(), 16, "{name}");
            assert!(fingerprint.bytes().all(|c| c.is_ascii_hexdigit()), "{name}");
            assert_eq!(r["migrated_fingerprint"], fingerprint, "{name}");
            assert_eq!(r["tables"], 3, "{name}");
        } else {
            assert_eq!((&r["fingerprint"], &r["tables"]), (&Value::Null, &Value::Null));
            // The keys the demo's command files set (5) and its seed file's families (2,733:
            // 2,000 sessions, 500 carts, 3 leaderboards, 30 visitor sets, 200 counters), not
            // dbtwin's own history and state hashes.
            assert_eq!(r["approx_rows"], 2_738, "{name}");
        }
    }
    // The other environment from the same profile has the same schemas.
    let other = json_of(&dbtwin_run(&["status", "--env", &b, "--json"]).await);
    for (name, ..) in demo {
        assert_eq!(row(&other, name)["fingerprint"], row(&status, name)["fingerprint"], "{name}");
    }
    // The table for a person: one line per database, each `ok`.
    let out = dbtwin_run(&["status", "--env", &a, "--check"]).await;
    assert_exit(&out, exit::OK);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("DATABASE") && lines[0].ends_with("STATUS"), "{text}");
    assert_eq!(lines.len(), 5, "{text}");
    for (line, (name, _, pin, applied)) in lines[1..].iter().zip(demo) {
        assert!(line.starts_with(name) && line.ends_with("  ok"), "{text}");
        assert!(line.contains(&format!("(pin {pin})")), "{text}");
        assert!(line.contains(&format!("{applied} applied (dbtwin)")), "{text}");
    }

    // Story 3: two environments built from one profile do not differ, database by database.
    let out = dbtwin_run(&["diff", &a, &b]).await;
    assert_exit(&out, exit::OK);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("no differences (4 database(s) compared)"), "{}", stderr(&out));
    let out = dbtwin_run(&["diff", "--json", &a, &b]).await;
    assert_exit(&out, exit::OK);
    let same = json_of(&out);
    assert_eq!(same["same"], true);
    assert_eq!(same["a"], format!("environment {a}"));
    assert_eq!(same["b"], format!("environment {b}"));
    assert_eq!((&same["only_in_a"], &same["only_in_b"]), (&json!([]), &json!([])));
    let nothing = json!([]);
    let expected: Vec<Value> = demo.iter().map(|d| json!([d.0, nothing])).collect();
    assert_eq!(per_database(&same), json!(expected));

    // Someone alters a table by hand, on PostgreSQL and on MariaDB, with the admin URL.
    let urls = env_urls(&a).await;
    Server::Postgres
        .exec(&urls["ACCOUNTS_MAIN_ADMIN_URL"], "ALTER TABLE users ADD COLUMN nickname text")
        .await;
    Server::Mariadb
        .exec(
            &urls["ORDERS_MAIN_ADMIN_URL"],
            "ALTER TABLE orders ADD COLUMN note VARCHAR(200) NULL",
        )
        .await;
    let out = dbtwin_run(&["status", "--env", &a, "--check", "--json"]).await;
    assert_exit(&out, exit::DIFFERENT);
    let altered = json_of(&out);
    assert_eq!(altered["drift"], true);
    for (name, _, _, applied) in demo {
        let r = row(&altered, name);
        // The migrations did not change: the schema did.
        assert_eq!(r["migrations"], clean_migrations("dbtwin", applied, true), "{name}");
        if name == "accounts.main" || name == "orders.main" {
            assert_eq!(r["drift"], json!(["schema changed since the last migration"]), "{name}");
            assert_ne!(r["fingerprint"], r["migrated_fingerprint"], "{name}");
            assert_eq!(r["migrated_fingerprint"], row(&status, name)["fingerprint"], "{name}");
        } else {
            assert_eq!(r["drift"], json!([]), "{name}");
            assert_eq!(r["fingerprint"], row(&status, name)["fingerprint"], "{name}");
        }
    }
    let out = dbtwin_run(&["status", "--env", &a, "--check"]).await;
    assert_exit(&out, exit::DIFFERENT);
    let text = stdout(&out);
    for line in text.lines().skip(1) {
        let hand_made = line.starts_with("accounts.main") || line.starts_with("orders.main");
        let end = if hand_made { "  schema changed since the last migration" } else { "  ok" };
        assert!(line.ends_with(end), "{text}");
    }
    // …and `diff` says exactly what changed, in the database where it changed.
    let out = dbtwin_run(&["diff", "--json", &a, &b]).await;
    assert_exit(&out, exit::DIFFERENT);
    let different = json_of(&out);
    assert_eq!(different["same"], false);
    assert_eq!(
        per_database(&different),
        json!([
            ["accounts.main", [only_a("column", "users.nickname", "text")]],
            ["catalog.main", []],
            ["orders.main", [only_a("column", "orders.note", "varchar(200)")]],
            ["sessions.cache", []],
        ])
    );
    let out = dbtwin_run(&["diff", &a, &b]).await;
    assert_exit(&out, exit::DIFFERENT);
    let text = stdout(&out);
    assert!(text.contains("table users\n  - column nickname: text\n"), "{text}");
    assert!(text.contains("table orders\n  - column note: varchar(200)\n"), "{text}");

    // A new migration file in the folder: pending, and drift, in both environments.
    let seeds = dir.path().join("seeds/shop");
    std::fs::write(
        seeds.join("catalog/migrations/V4__product_tags.sql"),
        "CREATE TABLE product_tags (product_id bigint NOT NULL, tag text NOT NULL,\n\
         PRIMARY KEY (product_id, tag));\n",
    )
    .unwrap();
    std::fs::write(
        seeds.join("orders/migrations/V4__gift_notes.sql"),
        "ALTER TABLE orders ADD COLUMN gift_note VARCHAR(200) NULL;\n",
    )
    .unwrap();
    let out = dbtwin_run(&["status", "--env", &b, "--check", "--json"]).await;
    assert_exit(&out, exit::DIFFERENT);
    let pending = json_of(&out);
    for (name, script) in
        [("catalog.main", "V4__product_tags.sql"), ("orders.main", "V4__gift_notes.sql")]
    {
        let r = row(&pending, name);
        assert_eq!(r["migrations"]["pending"], json!([script]), "{name}");
        assert_eq!(r["migrations"]["applied"], 4, "{name}");
        assert_eq!(r["drift"], json!(["1 migration(s) pending"]), "{name}");
    }
    for name in ["accounts.main", "sessions.cache"] {
        assert_eq!(row(&pending, name)["drift"], json!([]), "{name}");
    }
    // In the environment changed by hand, both reasons show.
    let out = dbtwin_run(&["status", "--env", &a, "--check", "orders"]).await;
    assert_exit(&out, exit::DIFFERENT);
    let text = stdout(&out);
    let line = text.lines().nth(1).unwrap();
    assert!(line.starts_with("orders.main"), "{text}");
    assert!(line.contains("4 applied, 1 pending (dbtwin)"), "{text}");
    assert!(
        line.ends_with("1 migration(s) pending; schema changed since the last migration"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2, "only the database asked for: {text}");

    down(&a).await;
    down(&b).await;
    assert_eq!(leftovers(&rt, &a).await, Vec::<String>::new());
    assert_eq!(leftovers(&rt, &b).await, Vec::<String>::new());
}

// ---- 2 and 6: other tools' histories, read and never written -----------------------------------

const TWO_SERVERS: &str = r#"
name: insight-tools
defaults: { storage: tmpfs, durability: throwaway }
services:
  pg:
    databases:
      main: { engine: postgres, version: "17" }
  maria:
    databases:
      main: { engine: mariadb, version: "11.8" }
"#;

/// What `status` must read from one tool's fixture (tests/fixtures/foreign/TOOL.*.sql, which
/// insert the rows that tool writes after applying the folder's files).
struct ToolCase {
    /// The fixture's name: `tests/fixtures/foreign/{tool}/migrations`, `{tool}.postgres.sql`.
    tool: &'static str,
    history: &'static str,
    applied: u64,
    pending: &'static [&'static str],
    checksums_verified: bool,
    /// A migration added to the folder in the tool's own naming scheme (path, content): it must
    /// show as pending. `None` where the history cannot tell (Alembic keeps only its head,
    /// Liquibase's changesets live inside changelog files).
    new_file: Option<(&'static str, &'static str)>,
}

const TOOLS: &[ToolCase] = &[
    ToolCase {
        tool: "flyway",
        history: "flyway",
        applied: 3,
        pending: &[],
        checksums_verified: true,
        new_file: Some(("V2__add_orders.sql", "CREATE TABLE orders (id BIGINT);\n")),
    },
    ToolCase {
        tool: "sqlx",
        history: "sqlx",
        applied: 2,
        pending: &[],
        checksums_verified: true,
        new_file: Some(("20240103100000_add_orders.sql", "CREATE TABLE orders (id BIGINT);\n")),
    },
    ToolCase {
        tool: "golang-migrate",
        history: "golang-migrate",
        applied: 2,
        pending: &["000003_add_country.up.sql"],
        checksums_verified: false,
        new_file: Some(("000004_add_orders.up.sql", "CREATE TABLE orders (id BIGINT);\n")),
    },
    ToolCase {
        tool: "goose",
        history: "goose",
        applied: 2,
        pending: &[],
        checksums_verified: false,
        new_file: Some((
            "00003_add_orders.sql",
            "-- +goose Up\nCREATE TABLE orders (id BIGINT);\n\n-- +goose Down\nDROP TABLE orders;\n",
        )),
    },
    ToolCase {
        tool: "dbmate",
        history: "dbmate/rails",
        applied: 2,
        pending: &[],
        checksums_verified: false,
        new_file: Some((
            "20240103100000_add_orders.sql",
            "-- migrate:up\nCREATE TABLE orders (id BIGINT);\n\n-- migrate:down\nDROP TABLE orders;\n",
        )),
    },
    ToolCase {
        tool: "refinery",
        history: "refinery",
        applied: 2,
        pending: &[],
        checksums_verified: true,
        new_file: Some(("V3__add_orders.sql", "CREATE TABLE orders (id BIGINT);\n")),
    },
    ToolCase {
        tool: "liquibase",
        history: "liquibase",
        applied: 2,
        pending: &[],
        checksums_verified: false,
        new_file: None,
    },
    ToolCase {
        tool: "django",
        history: "django",
        applied: 2,
        pending: &[],
        checksums_verified: false,
        new_file: Some((
            "0003_add_orders.py",
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    \
             dependencies = [(\"shop\", \"0002_add_email_index\")]\n    operations = []\n",
        )),
    },
    ToolCase {
        tool: "prisma",
        history: "prisma",
        applied: 2,
        pending: &[],
        checksums_verified: true,
        new_file: Some((
            "20240103100000_add_orders/migration.sql",
            "-- CreateTable\nCREATE TABLE orders (id BIGINT);\n",
        )),
    },
    ToolCase {
        tool: "alembic",
        history: "alembic",
        applied: 1,
        pending: &[],
        checksums_verified: false,
        new_file: None,
    },
];

// The checksums the fixtures record (the tools' own, checked by migrate::foreign's unit tests).
const FLYWAY_V1: &str = "600337741";
/// SHA-256 of prisma/migrations/20240101120000_init/migration.sql, as the fixture records it.
const PRISMA_INIT: &str = "a9ffaebad1156d26f65deb496ea48151744e2a026c6726b589eab24104e8c895";
const SQLX_1: &str = "d31d7cc10bc1831608d193b5bc3085025b8e8fe0f080d7d817680a66bac2b6e074a257ab9a3d0c8db206b782ecffcfba";
const REFINERY_1: &str = "8365088458435486553";

/// `status --check --json --url URL --migrations DIR`: the exit code and the one row.
async fn status_url(url: &str, migrations: &Path) -> (Option<i32>, Value) {
    let dir = migrations.to_string_lossy();
    let args = ["status", "--check", "--json", "--url", url, "--migrations", dir.as_ref()];
    let out = dbtwin_run(&args).await;
    assert_no_secret(&out, &password(url));
    let doc = json_of(&out);
    let rows = doc["databases"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{doc:#}");
    (out.status.code(), rows[0].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn other_tools_history_tables_are_read_as_the_tools_wrote_them_and_never_written() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("insight-tools");
    let _cleanup = Cleanup(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), "tools.yaml", TWO_SERVERS);
    up(&env, &offline(&profile)).await;
    let urls = env_urls(&env).await;
    let fixtures = root().join("tests/fixtures/foreign");

    for (server, admin, dialect) in [
        (Server::Postgres, &urls["PG_MAIN_ADMIN_URL"], "postgres"),
        (Server::Mariadb, &urls["MARIA_MAIN_ADMIN_URL"], "mysql"),
    ] {
        for case in TOOLS {
            let what = format!("{} on {}", case.tool, server.name());
            let db = format!("tool_{}", case.tool.replace('-', "_"));
            let url = server.create_database(admin, &db, "").await;
            let sql =
                std::fs::read_to_string(fixtures.join(format!("{}.{dialect}.sql", case.tool)))
                    .unwrap();
            server.exec(&url, &sql).await;
            let tables = server.tables(&url).await;
            assert_eq!(
                tables.len(),
                1,
                "{what}: the fixture makes the tool's table only: {tables:?}"
            );

            // The folder as the tool left it.
            let folder = fixtures.join(case.tool).join("migrations");
            let (code, r) = status_url(&url, &folder).await;
            assert_eq!(r["name"], shown(&url), "{what}");
            assert_eq!(r["engine"], server.name(), "{what}");
            assert_eq!(r["reachable"], true, "{what}: {r:#}");
            assert_eq!(
                r["migrations"],
                json!({ "history": case.history, "applied": case.applied, "pending": case.pending,
                        "changed": [], "unknown": [], "failed": [],
                        "checksums_verified": case.checksums_verified }),
                "{what}"
            );
            assert_eq!(r["warnings"], json!([]), "{what}");
            let drift: Vec<String> = if case.pending.is_empty() {
                vec![]
            } else {
                vec![format!("{} migration(s) pending", case.pending.len())]
            };
            assert_eq!(r["drift"], json!(drift), "{what}");
            assert_eq!(code, Some(if drift.is_empty() { exit::OK } else { exit::DIFFERENT }));
            // The tool's own table is not the application's schema.
            assert_eq!(r["tables"], 0, "{what}");

            // A new migration in the tool's naming scheme is pending.
            if let Some((file, content)) = case.new_file {
                let copy = tempfile::tempdir().unwrap();
                copy_dir(&folder, copy.path());
                let new = copy.path().join(file);
                std::fs::create_dir_all(new.parent().unwrap()).unwrap();
                std::fs::write(&new, content).unwrap();
                let (code, r) = status_url(&url, copy.path()).await;
                let mut pending: Vec<&str> = case.pending.to_vec();
                pending.push(file);
                assert_eq!(r["migrations"]["pending"], json!(pending), "{what}: {r:#}");
                assert_eq!(r["migrations"]["applied"], case.applied, "{what}");
                assert_eq!(r["migrations"]["unknown"], json!([]), "{what}");
                assert_eq!(code, Some(exit::DIFFERENT), "{what}");
            }

            // Status only read: the database holds exactly what it held.
            assert_eq!(server.tables(&url).await, tables, "{what}: status created something");
        }

        // An applied file edited since: reported with both checksums, in the tool's own form,
        // where the tool's checksum can be recomputed.
        for (tool, script, recorded) in [
            ("flyway", "V1__create_users.sql", FLYWAY_V1),
            ("sqlx", "20240101120000_create_users.sql", SQLX_1),
            ("refinery", "V1__create_users.sql", REFINERY_1),
            ("prisma", "20240101120000_init/migration.sql", PRISMA_INIT),
        ] {
            let what = format!("{tool} on {}", server.name());
            let copy = tempfile::tempdir().unwrap();
            copy_dir(&fixtures.join(tool).join("migrations"), copy.path());
            let file = copy.path().join(script);
            let mut content = std::fs::read(&file).unwrap();
            content.extend_from_slice(b"-- edited after it was applied\n");
            std::fs::write(&file, &content).unwrap();
            let current = match tool {
                "flyway" => flyway_checksum(&content).to_string(),
                "sqlx" => sqlx_checksum(&content).iter().map(|b| format!("{b:02x}")).collect(),
                "prisma" => Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect(),
                _ => refinery_checksum("create_users", 1, std::str::from_utf8(&content).unwrap())
                    .to_string(),
            };
            assert_ne!(current, recorded);
            let url = with_database(admin, &format!("tool_{tool}"));
            let (code, r) = status_url(&url, copy.path()).await;
            assert_eq!(
                r["migrations"]["changed"],
                json!([format!("{script}: {recorded} → {current}")]),
                "{what}"
            );
            assert_eq!(r["migrations"]["pending"], json!([]), "{what}");
            assert_eq!(r["migrations"]["checksums_verified"], true, "{what}");
            assert_eq!(r["drift"], json!(["1 applied migration(s) changed"]), "{what}");
            assert_eq!(code, Some(exit::DIFFERENT), "{what}");
        }
    }

    down(&env).await;
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}

// ---- 4: each kind of difference ----------------------------------------------------------------

const PG_SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE users (
    id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email   text NOT NULL,
    name    text,
    age     int CONSTRAINT users_age_check CHECK (age > 0),
    feeling mood,
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE TABLE orders (
    id      bigint PRIMARY KEY,
    user_id bigint NOT NULL CONSTRAINT orders_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    amount  numeric(10,2) NOT NULL CONSTRAINT orders_amount_check CHECK (amount > 0),
    note    varchar(80)
);
CREATE TABLE audit_log (id bigint, message text);
CREATE INDEX orders_user_idx ON orders (user_id);
CREATE INDEX users_name_idx ON users (name);
CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
CREATE VIEW user_orders AS SELECT u.id AS user_id, o.id AS order_id FROM users u JOIN orders o ON o.user_id = u.id;
CREATE SEQUENCE invoice_no;
-- One relation under an alias, and one beside a sequence: PostgreSQL 15 qualifies their columns
-- (`o.id`, `orders.id`), 16 and later do not.
CREATE VIEW aliased_orders AS SELECT o.id, o.user_id FROM orders o WHERE o.id > 5;
CREATE VIEW numbered_orders AS SELECT id, nextval('invoice_no') AS invoice FROM orders;
";

const MARIADB_SCHEMA: &str = "
CREATE TABLE users (
    id    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(200) NOT NULL,
    name  VARCHAR(100) NULL,
    age   INT NULL,
    mood  ENUM('sad', 'ok') NULL,
    CONSTRAINT users_age_check CHECK (age > 0),
    CONSTRAINT users_email_key UNIQUE (email),
    KEY users_name_idx (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
CREATE TABLE orders (
    id      BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    user_id BIGINT UNSIGNED NOT NULL,
    amount  DECIMAL(10,2) NOT NULL,
    note    VARCHAR(80) NULL,
    CONSTRAINT orders_amount_check CHECK (amount > 0),
    CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    KEY orders_user_idx (user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
CREATE TABLE audit_log (id BIGINT, message TEXT) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
CREATE VIEW user_orders AS SELECT u.id AS user_id, o.id AS order_id FROM users u JOIN orders o ON o.user_id = u.id;
CREATE SEQUENCE invoice_no;
";

const THREE_SERVERS: &str = r#"
name: insight-diff
defaults: { storage: tmpfs, durability: throwaway }
services:
  old:
    databases:
      main: { engine: postgres, version: "15" }
  new:
    databases:
      main: { engine: postgres, version: "17" }
  shop:
    databases:
      main: { engine: mariadb, version: "11.8" }
"#;

/// One case: how database B is created (`CREATE DATABASE b {options}`), the change made to it
/// after the common schema, and the differences `diff A B` must report, exactly.
struct DiffCase {
    what: &'static str,
    options: String,
    change: &'static str,
    expected: Vec<Value>,
}

fn case(what: &'static str, change: &'static str, expected: Vec<Value>) -> DiffCase {
    DiffCase { what, options: String::new(), change, expected }
}

/// Creates `a` with `schema`, then per case a database `b_N` with the same schema and the case's
/// change, and checks what `diff a b_N` reports.
async fn diff_cases(server: Server, admin: &str, schema: &str, cases: Vec<DiffCase>) {
    let a = server.create_database(admin, "a", "").await;
    server.exec(&a, schema).await;
    // A database compared with itself, and with a twin: the same.
    let twin = server.create_database(admin, "twin", "").await;
    server.exec(&twin, schema).await;
    for b in [&a, &twin] {
        let (code, differences) = diff_urls(&a, b).await;
        assert_eq!((code, differences), (Some(exit::OK), vec![]), "{} a = {}", server.name(), b);
    }
    let out = dbtwin_run(&["diff", &a, &twin]).await;
    assert_exit(&out, exit::OK);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("no differences (1 database(s) compared)"), "{}", stderr(&out));

    for (i, case) in cases.into_iter().enumerate() {
        let what = format!("{}: {}", server.name(), case.what);
        let b = server.create_database(admin, &format!("b_{i}"), &case.options).await;
        server.exec(&b, schema).await;
        if !case.change.is_empty() {
            server.exec(&b, case.change).await;
        }
        let (code, differences) = diff_urls(&a, &b).await;
        assert_eq!(differences, case.expected, "{what}");
        assert_eq!(code, Some(exit::DIFFERENT), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_finds_each_kind_of_difference_on_postgres_and_mariadb_and_across_majors() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("insight-diff");
    let _cleanup = Cleanup(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), "diff.yaml", THREE_SERVERS);
    up(&env, &offline(&profile)).await;
    let urls = env_urls(&env).await;
    let (pg15, pg17, maria) =
        (&urls["OLD_MAIN_ADMIN_URL"], &urls["NEW_MAIN_ADMIN_URL"], &urls["SHOP_MAIN_ADMIN_URL"]);

    // PostgreSQL 17. The values that depend on the image are asked from the server.
    let pg = Server::Postgres;
    let available = pg
        .strings(
            pg17,
            "SELECT name || ' ' || default_version FROM pg_available_extensions \
              WHERE name IN ('pg_trgm', 'pgcrypto') ORDER BY name = 'pg_trgm' DESC",
        )
        .await;
    let (extension, extension_version) = available[0].split_once(' ').unwrap();
    let create_extension: &'static str = if extension == "pg_trgm" {
        "CREATE EXTENSION pg_trgm"
    } else {
        "CREATE EXTENSION pgcrypto"
    };
    let database = pg
        .strings(
            pg17,
            "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database() \
             UNION ALL SELECT datcollate::text FROM pg_database WHERE datname = current_database()",
        )
        .await;
    let (encoding, collation) = (database[0].as_str(), database[1].as_str());
    let mut encoding_case = case(
        "database encoding and collation",
        "",
        vec![changed("database", "database", "encoding", encoding, "LATIN1")],
    );
    if collation != "C" {
        encoding_case.expected.push(changed("database", "database", "collation", collation, "C"));
    }
    encoding_case.options =
        "TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'".into();
    let cases = vec![
        case(
            "table only in B",
            "CREATE TABLE extra (id int)",
            vec![only_b("table", "extra", "1 column: id")],
        ),
        case(
            "table only in A",
            "DROP TABLE audit_log",
            vec![only_a("table", "audit_log", "2 columns: id, message")],
        ),
        case(
            "column added",
            "ALTER TABLE users ADD COLUMN phone text",
            vec![only_b("column", "users.phone", "text")],
        ),
        case(
            "column type",
            "ALTER TABLE orders ALTER COLUMN note TYPE text",
            vec![changed("column", "orders.note", "type", "character varying(80)", "text")],
        ),
        case(
            "nullability",
            "ALTER TABLE users ALTER COLUMN name SET NOT NULL",
            vec![changed("column", "users.name", "nullable", "true", "false")],
        ),
        case(
            "default",
            "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'anonymous'",
            vec![changed("column", "users.name", "default", "(none)", "'anonymous'::text")],
        ),
        case(
            "column collation",
            "ALTER TABLE users ALTER COLUMN email TYPE text COLLATE \"C\"",
            vec![changed("column", "users.email", "collation", "(none)", "C")],
        ),
        case(
            "primary key columns",
            "ALTER TABLE orders DROP CONSTRAINT orders_pkey, ADD PRIMARY KEY (id, user_id)",
            vec![changed("primary key", "orders.orders_pkey", "columns", "id", "id, user_id")],
        ),
        case(
            "primary key dropped",
            "ALTER TABLE orders DROP CONSTRAINT orders_pkey",
            vec![only_a("primary key", "orders.orders_pkey", "(id)")],
        ),
        case(
            "unique added",
            "ALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE (name)",
            vec![only_b("unique", "users.users_name_key", "(name)")],
        ),
        case(
            "check changed",
            "ALTER TABLE users DROP CONSTRAINT users_age_check, \
             ADD CONSTRAINT users_age_check CHECK (age >= 18)",
            vec![changed("check", "users.users_age_check", "expression", "age > 0", "age >= 18")],
        ),
        case(
            "foreign key on delete",
            "ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey, ADD CONSTRAINT orders_user_id_fkey \
             FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT",
            vec![changed(
                "foreign key",
                "orders.orders_user_id_fkey",
                "on delete",
                "cascade",
                "restrict",
            )],
        ),
        case(
            "foreign key renamed only",
            "ALTER TABLE orders RENAME CONSTRAINT orders_user_id_fkey TO fk_orders_user",
            vec![changed(
                "foreign key",
                "orders.orders_user_id_fkey",
                "name",
                "orders_user_id_fkey",
                "fk_orders_user",
            )],
        ),
        case(
            "index added",
            "CREATE INDEX orders_amount_idx ON orders (amount)",
            vec![only_b("index", "orders.orders_amount_idx", "btree (amount)")],
        ),
        case(
            "index columns",
            "DROP INDEX users_name_idx; CREATE INDEX users_name_idx ON users (name, email)",
            vec![changed("index", "users.users_name_idx", "columns", "name", "name, email")],
        ),
        case(
            "partial index predicate",
            "DROP INDEX users_name_idx; CREATE INDEX users_name_idx ON users (name) WHERE name IS NOT NULL",
            vec![changed(
                "index",
                "users.users_name_idx",
                "predicate",
                "(none)",
                "name IS NOT NULL",
            )],
        ),
        case(
            "view definition",
            "CREATE OR REPLACE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 1000",
            vec![changed(
                "view",
                "big_orders",
                "definition",
                "SELECT id, amount FROM orders WHERE amount > 100::numeric;",
                "SELECT id, amount FROM orders WHERE amount > 1000::numeric;",
            )],
        ),
        case(
            "sequence increment",
            "ALTER SEQUENCE invoice_no INCREMENT BY 10",
            vec![changed("sequence", "invoice_no", "increment", "1", "10")],
        ),
        case(
            "enum label added",
            "ALTER TYPE mood ADD VALUE 'happy'",
            vec![changed("enum", "mood", "labels", "sad, ok", "sad, ok, happy")],
        ),
        case(
            "extension added",
            create_extension,
            vec![only_b("extension", extension, &format!("version {extension_version}"))],
        ),
        encoding_case,
    ];
    diff_cases(pg, pg17, PG_SCHEMA, cases).await;

    // The readable form of one case: grouped under its table, `~` for a change.
    let out = dbtwin_run(&["diff", &with_database(pg17, "a"), &with_database(pg17, "b_4")]).await;
    assert_exit(&out, exit::DIFFERENT);
    let text = stdout(&out);
    assert!(text.starts_with(&format!("--- a: {}", shown(&with_database(pg17, "a")))), "{text}");
    assert!(text.contains("table users\n  ~ column name nullable: true → false\n"), "{text}");

    // MariaDB: the same core cases, in its own words (`PRIMARY`, backquoted checks, enum columns).
    let my = Server::Mariadb;
    let schemata = my
        .strings(
            maria,
            "SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME) \
               FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()",
        )
        .await;
    let (my_encoding, my_collation) = schemata[0].split_once(' ').unwrap();
    let latin1_collation = my
        .strings(
            maria,
            "SELECT DEFAULT_COLLATE_NAME FROM information_schema.CHARACTER_SETS \
              WHERE CHARACTER_SET_NAME = 'latin1'",
        )
        .await
        .remove(0);
    let mut charset_case = case(
        "database character set and collation",
        "",
        vec![
            changed("database", "database", "encoding", my_encoding, "latin1"),
            changed("database", "database", "collation", my_collation, &latin1_collation),
        ],
    );
    charset_case.options = "CHARACTER SET latin1".into();
    let cases = vec![
        case(
            "table only in B",
            "CREATE TABLE extra (id INT)",
            vec![only_b("table", "extra", "1 column: id")],
        ),
        case(
            "table only in A",
            "DROP TABLE audit_log",
            vec![only_a("table", "audit_log", "2 columns: id, message")],
        ),
        case(
            "column added",
            "ALTER TABLE users ADD COLUMN phone VARCHAR(20) NULL",
            vec![only_b("column", "users.phone", "varchar(20)")],
        ),
        case(
            "column type",
            "ALTER TABLE orders MODIFY note TEXT NULL",
            vec![changed("column", "orders.note", "type", "varchar(80)", "text")],
        ),
        case(
            "nullability",
            "ALTER TABLE users MODIFY name VARCHAR(100) NOT NULL",
            vec![changed("column", "users.name", "nullable", "true", "false")],
        ),
        case(
            "default",
            "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'anonymous'",
            vec![changed("column", "users.name", "default", "(none)", "'anonymous'")],
        ),
        case(
            "column collation",
            "ALTER TABLE users MODIFY email VARCHAR(200) COLLATE utf8mb4_bin NOT NULL",
            vec![changed("column", "users.email", "collation", "(none)", "utf8mb4_bin")],
        ),
        case(
            "primary key columns",
            "ALTER TABLE orders DROP PRIMARY KEY, ADD PRIMARY KEY (id, user_id)",
            vec![changed("primary key", "orders.PRIMARY", "columns", "id", "id, user_id")],
        ),
        case(
            "unique added",
            "ALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE (name)",
            vec![only_b("unique", "users.users_name_key", "(name)")],
        ),
        case(
            "check changed",
            "ALTER TABLE orders DROP CONSTRAINT orders_amount_check, \
             ADD CONSTRAINT orders_amount_check CHECK (amount >= 0)",
            vec![changed(
                "check",
                "orders.orders_amount_check",
                "expression",
                "`amount` > 0",
                "`amount` >= 0",
            )],
        ),
        // MariaDB refuses to drop and re-add a foreign key of one name in one ALTER (errno 121).
        case(
            "foreign key on delete",
            "ALTER TABLE orders DROP FOREIGN KEY orders_user; ALTER TABLE orders ADD CONSTRAINT \
             orders_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT",
            vec![changed("foreign key", "orders.orders_user", "on delete", "cascade", "restrict")],
        ),
        case(
            "index added",
            "CREATE INDEX orders_amount_idx ON orders (amount)",
            vec![only_b("index", "orders.orders_amount_idx", "btree (amount)")],
        ),
        case(
            "index columns",
            "ALTER TABLE users DROP INDEX users_name_idx, ADD INDEX users_name_idx (name, email)",
            vec![changed("index", "users.users_name_idx", "columns", "name", "name, email")],
        ),
        case(
            "view definition",
            "CREATE OR REPLACE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 1000",
            vec![changed(
                "view",
                "big_orders",
                "definition",
                "select `orders`.`id` AS `id`,`orders`.`amount` AS `amount` from `orders` \
                 where `orders`.`amount` > 100",
                "select `orders`.`id` AS `id`,`orders`.`amount` AS `amount` from `orders` \
                 where `orders`.`amount` > 1000",
            )],
        ),
        case(
            "sequence increment",
            "ALTER SEQUENCE invoice_no INCREMENT BY 10",
            vec![changed("sequence", "invoice_no", "increment", "1", "10")],
        ),
        case(
            "enum label added",
            "ALTER TABLE users MODIFY mood ENUM('sad', 'ok', 'happy') NULL",
            vec![changed(
                "column",
                "users.mood",
                "type",
                "enum('sad','ok')",
                "enum('sad','ok','happy')",
            )],
        ),
        charset_case,
    ];
    diff_cases(my, maria, MARIADB_SCHEMA, cases).await;

    // PostgreSQL 15 and 17 with the same DDL: only the server version differs. PostgreSQL 15
    // prints a one-table view with qualified columns (`orders.id`), 16 and later do not; the
    // catalog reader drops that qualifier, so the view is not a false difference.
    let old = pg.create_database(pg15, "same", "").await;
    pg.exec(&old, PG_SCHEMA).await;
    let new = pg.create_database(pg17, "same", "").await;
    pg.exec(&new, PG_SCHEMA).await;
    let version = |url: String| async move {
        let full = pg.strings(&url, "SELECT current_setting('server_version')").await.remove(0);
        full.split_whitespace().next().unwrap().to_string()
    };
    let (v15, v17) = (version(old.clone()).await, version(new.clone()).await);
    assert!(v15.starts_with("15.") && v17.starts_with("17."), "{v15} {v17}");
    let (code, differences) = diff_urls(&old, &new).await;
    assert_eq!(differences, [changed("server", "server version", "version", &v15, &v17),]);
    assert_eq!(code, Some(exit::DIFFERENT));

    down(&env).await;
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}

// ---- 5 and 6: URLs -----------------------------------------------------------------------------

const URL_SERVERS: &str = r#"
name: insight-urls
defaults: { storage: tmpfs, durability: throwaway }
services:
  pg:
    databases:
      main: { engine: postgres, version: "15" }
  maria:
    databases:
      main: { engine: mariadb, version: "11.8" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn urls_take_passwords_from_the_environment_honour_tls_and_timeouts_and_are_only_read() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("insight-urls");
    let _cleanup = Cleanup(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), "urls.yaml", URL_SERVERS);
    up(&env, &offline(&profile)).await;
    let urls = env_urls(&env).await;
    let (pg_admin, my_admin) = (&urls["PG_MAIN_ADMIN_URL"], &urls["MARIA_MAIN_ADMIN_URL"]);
    let (pg_pass, my_pass) = (password(pg_admin), password(my_admin));

    // A database someone else made, with a migrations folder that has one file it never ran.
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(migrations.join("V1__notes.sql"), "CREATE TABLE notes (id INT PRIMARY KEY);\n")
        .unwrap();
    let folder = migrations.to_string_lossy().into_owned();
    for (server, admin, secret, var) in [
        (Server::Postgres, pg_admin, &pg_pass, "PGPASSWORD"),
        (Server::Mariadb, my_admin, &my_pass, "MYSQL_PWD"),
    ] {
        let what = server.name();
        let url = server.create_database(admin, "untouched", "").await;
        server.exec(&url, "CREATE TABLE notes (id INT PRIMARY KEY)").await;
        let before = server.tables(&url).await;
        let bare = shown(&url);
        assert!(!bare.contains(secret.as_str()));

        // The password from the client's own variable, not the URL.
        let args = ["status", "--check", "--json", "--url", &bare, "--migrations", &folder];
        let out = dbtwin_with(&args, &[(var, secret)]).await;
        assert_no_secret(&out, secret);
        assert_exit(&out, exit::DIFFERENT);
        let doc = json_of(&out);
        let r = &doc["databases"][0];
        assert_eq!(r["name"], bare, "{what}");
        assert_eq!(r["reachable"], true, "{what}: {r:#}");
        assert_eq!(r["engine"], what);
        assert_eq!(r["tables"], 1, "{what}");
        assert_eq!(
            r["migrations"],
            json!({ "history": "none", "applied": 0, "pending": ["V1__notes.sql"], "changed": [],
                    "unknown": [], "failed": [], "checksums_verified": false }),
            "{what}"
        );
        assert_eq!(r["drift"], json!(["1 migration(s) pending"]), "{what}");
        // Without the variable there is no password at all: refused by the server.
        let out = dbtwin_run(&["status", "--check", "--json", "--url", &bare]).await;
        assert_exit(&out, exit::DIFFERENT);
        let r = &json_of(&out)["databases"][0];
        assert_eq!((&r["reachable"], &r["drift"]), (&json!(false), &json!(["unreachable"])));
        assert!(r["error"].as_str().unwrap().starts_with(&format!("failed to connect to {bare}")));

        // With the password in the URL, in both output forms: never printed.
        for json in [true, false] {
            let mut args = vec!["status", "--check", "--url", &url];
            if json {
                args.push("--json");
            }
            let out = dbtwin_run(&args).await;
            assert_no_secret(&out, secret);
            assert_exit(&out, exit::OK);
            assert!(stdout(&out).contains(&bare), "{what}: {}", stdout(&out));
        }

        // Status only read: no history or state table of dbtwin's appeared, nothing else either.
        let after = server.tables(&url).await;
        assert!(after.iter().all(|t| !t.contains("dbtwin_")), "{what}: {after:?}");
        assert_eq!(after, before, "{what}: status created something");
    }

    // TLS required by the URL, from a server that has none configured: unreachable, saying why.
    let require = format!("{}?sslmode=require", with_database(pg_admin, "untouched"));
    let out = dbtwin_run(&["status", "--check", "--url", &require]).await;
    assert_no_secret(&out, &pg_pass);
    assert_exit(&out, exit::DIFFERENT);
    let line = stdout(&out).lines().nth(1).unwrap().to_string();
    assert!(line.ends_with("unreachable"), "{line}");
    assert!(stderr(&out).contains("server does not support TLS"), "{}", stderr(&out));
    let out = dbtwin_run(&["status", "--json", "--url", &require]).await;
    assert_exit(&out, exit::OK); // without --check, drift is reported, not an exit code
    let r = &json_of(&out)["databases"][0];
    assert_eq!(r["reachable"], false);
    assert!(r["error"].as_str().unwrap().contains("TLS"), "{r:#}");

    // A port where something accepts connections and never answers: unreachable within the
    // URL's connect timeout, both engines at once.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let pg_silent = format!("postgres://postgres:{pg_pass}@127.0.0.1:{port}/x?connect_timeout=2");
    let my_silent = format!("mysql://root:{my_pass}@127.0.0.1:{port}/x?connect_timeout=2");
    let started = Instant::now();
    let out =
        dbtwin_run(&["status", "--check", "--json", "--url", &pg_silent, "--url", &my_silent])
            .await;
    let took = started.elapsed();
    assert_no_secret(&out, &pg_pass);
    assert_no_secret(&out, &my_pass);
    assert_exit(&out, exit::DIFFERENT);
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let doc = json_of(&out);
    assert_eq!(doc["drift"], true);
    for (r, url) in doc["databases"].as_array().unwrap().iter().zip([&pg_silent, &my_silent]) {
        assert_eq!(r["name"], shown(url));
        assert_eq!((&r["reachable"], &r["drift"]), (&json!(false), &json!(["unreachable"])));
        assert_eq!(r["error"], format!("no answer from {} within 2s", shown(url)));
    }

    // `diff` cannot answer when one side cannot be read: trouble, not "different".
    let out = dbtwin_run(&["diff", &with_database(pg_admin, "untouched"), &pg_silent]).await;
    assert_no_secret(&out, &pg_pass);
    assert_exit(&out, exit::DATABASE_UNREACHABLE);
    assert!(
        stderr(&out).contains(&format!("no answer from {} within 2s", shown(&pg_silent))),
        "{}",
        stderr(&out)
    );
    drop(silent);

    // A URL that cannot be used is a usage error, and its message holds no password.
    let bad = format!("postgres://postgres:{pg_pass}@127.0.0.1:{port}/x?sslmode=maybe");
    let out = dbtwin_run(&["status", "--check", "--url", &bad]).await;
    assert_no_secret(&out, &pg_pass);
    assert_exit(&out, exit::USAGE);
    assert!(stderr(&out).contains("sslmode=maybe"), "{}", stderr(&out));

    down(&env).await;
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}
