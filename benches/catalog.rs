//! `cargo bench --bench catalog`: how long `dbtwin status --url` takes to read a large schema
//! (connect, read the whole catalog, fingerprint it), against the tool people reach for to
//! compare schemas today: `pg_dump --schema-only` (and `mariadb-dump --no-data` when the host has
//! it), each writing to /dev/null. Ratios are measured in the same run, on the same server.
//!
//! The schema: `BENCH_TABLES` (default 500) tables of 8 columns each, a primary key, a unique
//! constraint, a check, a foreign key to the previous table and two indexes, plus one view per
//! ten tables. One warm-up run of each side, then `BENCH_ROUNDS` (default 7) rounds alternating
//! which side goes first; the median is reported. The bench prints figures and never fails on
//! slowness; it fails only when it cannot measure.

#![forbid(unsafe_code)]

use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const DBTWIN: &str = env!("CARGO_BIN_EXE_dbtwin");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ENV: &str = "bench-catalog";

const PROFILE: &str = r#"
name: bench-catalog
defaults: { storage: tmpfs, durability: throwaway }
services:
  pg:
    databases:
      main: { engine: postgres, version: "15" }
  my:
    databases:
      main: { engine: mariadb, version: "11.8" }
"#;

fn main() -> ExitCode {
    let result = bench();
    let _ = Command::new(DBTWIN).args(["down", "-q", "--force", "--env", ENV]).status();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn bench() -> Result<(), String> {
    let tables = env_number("BENCH_TABLES", 500);
    let rounds = env_number("BENCH_ROUNDS", 7);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let profile = dir.path().join("bench.yaml");
    std::fs::write(&profile, PROFILE).map_err(|e| e.to_string())?;
    let up = Command::new(DBTWIN)
        .current_dir(ROOT)
        .args(["up", "-q", "-p"])
        .arg(&profile)
        .args(["-p", "profiles/offline.yaml", "--env", ENV])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !up.success() {
        return Err("dbtwin up failed".into());
    }
    let env = Command::new(DBTWIN)
        .args(["env", "--admin", "--format", "json", "--env", ENV])
        .output()
        .map_err(|e| e.to_string())?;
    let urls: serde_json::Value = serde_json::from_slice(&env.stdout).map_err(|e| e.to_string())?;
    let pg = urls["PG_MAIN_ADMIN_URL"].as_str().ok_or("no PG_MAIN_ADMIN_URL")?.to_string();
    let my = urls["MY_MAIN_ADMIN_URL"].as_str().ok_or("no MY_MAIN_ADMIN_URL")?.to_string();

    psql(&pg, &schema(tables, Dialect::Postgres))?;
    mariadb(&my, &schema(tables, Dialect::Mysql))?;
    println!(
        "catalog read: {tables} tables (8 columns, pk, unique, check, fk, 2 indexes each), {rounds} rounds, medians"
    );

    let ours = |url: &str| {
        let url = url.to_string();
        move || run(Command::new(DBTWIN).args(["status", "--json", "--url", &url]))
    };
    let pg_dump = {
        let url = pg.clone();
        move || run(Command::new("pg_dump").args(["--schema-only", "--no-owner", "-d", &url]))
    };
    report("postgres 15", "pg_dump --schema-only", rounds, ours(&pg), pg_dump)?;

    if Command::new("mariadb-dump").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let url = my.clone();
        let dump = move || run(&mut mariadb_client("mariadb-dump", &["--no-data"], &url)?);
        report("mariadb 11.8", "mariadb-dump --no-data", rounds, ours(&my), dump)?;
    } else {
        println!("mariadb 11.8: not measured (no mariadb-dump on this host)");
    }
    Ok(())
}

/// Times both sides alternately and prints the medians and their ratio.
fn report(
    what: &str,
    baseline_name: &str,
    rounds: usize,
    ours: impl Fn() -> Result<Duration, String>,
    baseline: impl Fn() -> Result<Duration, String>,
) -> Result<(), String> {
    ours()?;
    baseline()?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            a.push(ours()?);
            b.push(baseline()?);
        } else {
            b.push(baseline()?);
            a.push(ours()?);
        }
    }
    let (a, b) = (median(a), median(b));
    println!(
        "{what}: dbtwin status --url {:.0} ms, {baseline_name} {:.0} ms, ratio {:.2}x",
        a.as_secs_f64() * 1000.0,
        b.as_secs_f64() * 1000.0,
        a.as_secs_f64() / b.as_secs_f64()
    );
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run(cmd: &mut Command) -> Result<Duration, String> {
    let started = Instant::now();
    let out =
        cmd.stdout(Stdio::null()).stderr(Stdio::piped()).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(started.elapsed())
}

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    Postgres,
    Mysql,
}

/// The benchmark schema: a chain of tables, each referencing the previous one.
fn schema(tables: usize, dialect: Dialect) -> String {
    let mut sql = String::new();
    let id = match dialect {
        Dialect::Postgres => "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        Dialect::Mysql => "BIGINT AUTO_INCREMENT PRIMARY KEY",
    };
    for t in 0..tables {
        let parent = if t == 0 {
            String::new()
        } else {
            format!(", parent_id bigint REFERENCES t{} (id) ON DELETE CASCADE", t - 1)
        };
        sql.push_str(&format!(
            "CREATE TABLE t{t} (id {id}, code varchar(40) NOT NULL UNIQUE, name varchar(200) NOT NULL,
               amount numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount >= 0), note text,
               created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, flag boolean NOT NULL DEFAULT false{parent});
             CREATE INDEX t{t}_name ON t{t} (name);
             CREATE INDEX t{t}_created ON t{t} (created_at, amount);\n"
        ));
        if t % 10 == 9 {
            sql.push_str(&format!(
                "CREATE VIEW v{t} AS SELECT id, code, amount FROM t{t} WHERE amount > 0;\n"
            ));
        }
    }
    sql
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    feed(Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", url]), sql)
}

/// A MariaDB client on the host for one of dbtwin's `mysql://` URLs, the password in its
/// environment.
fn mariadb_client(program: &str, options: &[&str], url: &str) -> Result<Command, String> {
    let (user, password, host, port, db) = parts(url)?;
    let mut cmd = Command::new(program);
    cmd.env("MYSQL_PWD", password).args(options).args([
        "--skip-ssl",
        "-h",
        &host,
        "-P",
        &port,
        "-u",
        &user,
        &db,
    ]);
    Ok(cmd)
}

fn mariadb(url: &str, sql: &str) -> Result<(), String> {
    if Command::new("mariadb").arg("--version").output().is_ok_and(|o| o.status.success()) {
        feed(&mut mariadb_client("mariadb", &[], url)?, sql)
    } else {
        // No client on the host: the server's own, inside its container.
        let (user, password, _, _, db) = parts(url)?;
        feed(
            Command::new("docker").args([
                "exec",
                "-i",
                "-e",
                &format!("MYSQL_PWD={password}"),
                &format!("dbtwin-{ENV}.my.main"),
                "mariadb",
                "-u",
                &user,
                &db,
            ]),
            sql,
        )
    }
}

fn feed(cmd: &mut Command, sql: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::null()).spawn().map_err(|e| e.to_string())?;
    child.stdin.take().ok_or("no stdin")?.write_all(sql.as_bytes()).map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed")) }
}

/// `mysql://user:password@host:port/db` → its parts (dbtwin's own URLs: no escapes to undo).
fn parts(url: &str) -> Result<(String, String, String, String, String), String> {
    let rest = url.strip_prefix("mysql://").ok_or("not a mysql url")?;
    let (userinfo, rest) = rest.split_once('@').ok_or("no user")?;
    let (user, password) = userinfo.split_once(':').ok_or("no password")?;
    let (hostport, db) = rest.split_once('/').ok_or("no database")?;
    let (host, port) = hostport.rsplit_once(':').ok_or("no port")?;
    Ok((user.into(), password.into(), host.into(), port.into(), db.into()))
}
