//! `cargo bench --bench seed`: how long `dbtwin seed` takes to generate and load 1,000,000 `users`
//! and 3,000,000 `orders` rows referencing them into a migrated database, ending with every key,
//! index and foreign key in place and valid, against two baselines measured in the same run on
//! the same servers (`benches/seed/profile.yaml`: PostgreSQL 17 and MariaDB 11.8, tmpfs,
//! throwaway durability):
//!
//! * **(a) the best raw load of the same rows.** Before any clock starts, what dbtwin loaded is
//!   exported to CSV files in a temporary directory (`\copy … TO` from PostgreSQL, `SELECT … INTO
//!   OUTFILE` from MariaDB). Timed: `COPY` (MariaDB: `LOAD DATA LOCAL INFILE`) into bare tables of
//!   a fresh database on the same server, then the keys added. Once as 1 stream (users, then
//!   orders, then the keys) and once as 2 parallel streams (users and their keys beside orders and
//!   theirs, then the foreign key); the faster is the baseline. The goal: dbtwin at most 1.2× it.
//! * **(b) the Python script people write** (`benches/seed/faker_seed.py`: Faker with defaults,
//!   row by row, csv.writer), its CSV loaded with COPY into the migrated schema. Timed on a
//!   100,000-row sample of each table (generation and COPY), each scaled to its full count (×10
//!   users, ×30 orders), plus one interpreter start. PostgreSQL only. Linear scaling flatters
//!   Faker slightly (`fake.unique` checks a set that would be 10× larger). The goal: (b) at least
//!   30× dbtwin. Faker lives in a venv under the target directory, installed with pip when
//!   missing; when that fails, (b) is reported as not run.
//!
//! Also printed: dbtwin's peak RSS (`/usr/bin/time -f %M` when present, else `VmHWM` polled from
//! /proc) and rows per second. Every database is checked after each timed step (row counts; keys,
//! unique, check and foreign key constraints present and valid; no invalid index; MariaDB: no
//! orphaned order), and, once, `dbtwin diff` compares the schema the raw load ends with to
//! dbtwin's.
//!
//! Environment: `DBTWIN_BENCH_RUNS` (default 1: these are big; later runs time `seed --reseed`,
//! which empties the tables first), `DBTWIN_BENCH_SCALE` (default 1.0) multiplies every row count
//! (`seed --rows-scale`; 0.05 to develop), `DBTWIN_BENCH_CSV_FROM_PYTHON=1` writes the CSV files
//! of (a) with the Faker script instead of exporting them from dbtwin's databases, so (a) and (b)
//! can be measured when `dbtwin seed` fails (its failure is then reported, not fatal).
//!
//! The environment `bench-seed` is brought up at the start (`up --no-data`: containers,
//! migrations, no rows) and removed at the end, on error, on panic and on Ctrl-C. The bench prints
//! figures and never fails on slowness; it fails only when it cannot measure.

#![forbid(unsafe_code)]

#[path = "support/process.rs"]
mod process;

use process::{Running, interrupted, run};

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The release build of dbtwin that cargo builds for this bench.
const DBTWIN: &str = env!("CARGO_BIN_EXE_dbtwin");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ENV: &str = "bench-seed";
const PROFILES: [&str; 2] = ["benches/seed/profile.yaml", "profiles/offline.yaml"];
const IMAGES: [&str; 2] = ["dbtwin-offline/postgres:17", "dbtwin-offline/mariadb:11.8"];
const PG_MIGRATION: &str = "benches/seed/pg/V1__users_orders.sql";
const FAKER_SCRIPT: &str = "benches/seed/faker_seed.py";
/// The MariaDB container, where `SELECT … INTO OUTFILE` writes.
const MARIA_CONTAINER: &str = "dbtwin-bench-seed.bench.maria";

const USERS: u64 = 1_000_000;
const ORDERS: u64 = 3_000_000;
/// Rows of each table that (b) generates and loads; its time is scaled to the full count.
const SAMPLE: u64 = 100_000;

const USERS_COLUMNS: &str =
    "id, email, full_name, phone, street, city, country, created_at, balance";
const ORDERS_COLUMNS: &str = "id, user_id, amount, status, created_at";

/// dbtwin's time as a multiple of (a)'s, and (b)'s as a multiple of dbtwin's, that the issue asks
/// for.
const GOAL_RAW: f64 = 1.2;
const GOAL_FAKER: f64 = 30.0;

/// The two timed phases of a raw load: 1 stream loads both tables, then adds every key; 2 streams
/// each load and index one table, then the foreign key joins them.
const LOAD_KEYS: (&str, &str) = ("load", "keys");
const STREAMS_FK: (&str, &str) = ("streams", "foreign key");

// ---------------------------------------------------------------------------------------------
// The raw baselines' schema: the migrations' (benches/seed/{pg,maria}/V1__users_orders.sql), split
// into bare tables and what is added after the load, with the same names, so both sides end with
// the same catalog (`dbtwin diff` checks it).

/// Bare tables: columns, NOT NULL, defaults and row checks (checked per row as it arrives, as
/// cheap during the load as after it), no keys.
const PG_BARE: &str = "
CREATE TABLE users (
    id bigint NOT NULL, email varchar(255) NOT NULL, full_name text NOT NULL,
    phone varchar(40), street text, city text, country text,
    created_at timestamptz NOT NULL, balance numeric(12,2) NOT NULL DEFAULT 0);
CREATE TABLE orders (
    id bigint NOT NULL, user_id bigint NOT NULL,
    amount numeric(12,2) NOT NULL CONSTRAINT orders_amount_check CHECK (amount >= 0),
    status text NOT NULL CONSTRAINT orders_status_check
        CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
    created_at timestamptz NOT NULL);";
const PG_USERS_KEYS: [&str; 2] = [
    "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id)",
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
];
const PG_ORDERS_KEYS: [&str; 2] = [
    "ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id)",
    "CREATE INDEX orders_user_id_idx ON orders (user_id)",
];
const PG_FOREIGN_KEY: &str = "ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey \
                              FOREIGN KEY (user_id) REFERENCES users (id)";
/// What a bulk load would set in its own sessions for the index builds (PostgreSQL's default is
/// 64MB).
const PG_INDEX_MEMORY: &str = "SET maintenance_work_mem = '256MB'";

/// MariaDB's bare tables keep their primary key: InnoDB stores a table in its primary key, so
/// adding it afterwards rebuilds the whole table, while rows arriving in key order (as the CSV
/// files hold them) just append. MariaDB's own advice for bulk loads: the primary key in
/// place, secondary indexes after.
const MARIA_BARE: &str = "
CREATE TABLE users (
    id bigint NOT NULL, email varchar(255) NOT NULL, full_name text NOT NULL,
    phone varchar(40), street text, city text, country text,
    created_at datetime(6) NOT NULL, balance decimal(12,2) NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
CREATE TABLE orders (
    id bigint NOT NULL, user_id bigint NOT NULL, amount decimal(12,2) NOT NULL,
    status varchar(32) NOT NULL, created_at datetime(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT orders_amount_check CHECK (amount >= 0),
    CONSTRAINT orders_status_check CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;";
const MARIA_USERS_KEYS: &str = "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)";
const MARIA_ORDERS_KEYS: &str = "CREATE INDEX orders_user_id_idx ON orders (user_id)";
/// With checks on, MariaDB adds a foreign key by copying the whole table; with them off it only
/// records it, and one anti-join (timed) proves every order's user exists, which is what the
/// copy would have checked.
const MARIA_FOREIGN_KEY: &str = "SET foreign_key_checks = 0; \
    ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id); \
    SET foreign_key_checks = 1; \
    SELECT count(*) FROM orders o LEFT JOIN users u ON u.id = o.user_id WHERE u.id IS NULL";

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) if interrupted() => {
            eprintln!("interrupted; everything the bench started is removed");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Config {
    runs: usize,
    scale: f64,
    users: u64,
    orders: u64,
    csv_from_python: bool,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let runs =
            match std::env::var("DBTWIN_BENCH_RUNS") {
                Err(_) => 1,
                Ok(s) => s.trim().parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    format!("DBTWIN_BENCH_RUNS must be a positive number, not `{s}`")
                })?,
            };
        let scale = match std::env::var("DBTWIN_BENCH_SCALE") {
            Err(_) => 1.0,
            Ok(s) => {
                s.trim().parse::<f64>().ok().filter(|&x| x > 0.0 && x.is_finite()).ok_or_else(
                    || format!("DBTWIN_BENCH_SCALE must be a number above 0, not `{s}`"),
                )?
            }
        };
        let count = |n: u64| ((n as f64 * scale).round() as u64).max(1);
        let csv_from_python =
            std::env::var("DBTWIN_BENCH_CSV_FROM_PYTHON").is_ok_and(|v| !v.is_empty() && v != "0");
        Ok(Config { runs, scale, users: count(USERS), orders: count(ORDERS), csv_from_python })
    }

    fn rows(&self) -> u64 {
        self.users + self.orders
    }
}

fn bench() -> Result<(), String> {
    let cfg = Config::from_env()?;
    check_tools()?;
    process::catch_interrupts(|| {
        let _ = down();
    })?;
    let dir =
        tempfile::tempdir().map_err(|e| format!("failed to make a temporary directory: {e}"))?;
    let python = python_with_faker();

    println!(
        "seed: {} users + {} orders (scale {}), PostgreSQL 17 and MariaDB 11.8 (tmpfs, throwaway), \
         {} run(s), medians",
        thousands(cfg.users),
        thousands(cfg.orders),
        cfg.scale,
        cfg.runs
    );
    println!("context: {}", context());
    if let Err(e) = &python {
        println!("(b) cannot run: {e}");
    }

    if leftover() {
        eprintln!("removing the environment `{ENV}` an earlier bench left");
        down()?;
    }
    let env = Environment::up()?;
    let urls = env.urls()?;

    let mut pg = Figures::new("PostgreSQL 17", "(a) COPY", true);
    let mut maria = Figures::new("MariaDB 11.8", "LOAD DATA", false);
    let mut csv = None;
    for run in 0..cfg.runs {
        // A database is seeded once; later runs empty and refill it (the emptying is a TRUNCATE).
        let reseed = run > 0;
        checkpoint(&urls.pg)?;
        pg.dbtwin_seed(&cfg, "bench.pg", reseed, || verify_pg(&urls.pg, &cfg))?;
        maria.dbtwin_seed(&cfg, "bench.maria", reseed, || verify_maria(&urls.maria, &cfg))?;
        if csv.is_none() {
            csv = Some(if cfg.csv_from_python {
                faker_csv(python.as_ref().map_err(Clone::clone)?, &cfg, dir.path())?
            } else {
                export_csv(&urls, dir.path())?
            });
        }
        let files = csv.as_ref().expect("made in the first run");

        let raw_pg = pg_database(&urls.pg, "raw");
        pg.raw1.push(pg_raw(&urls.pg, &raw_pg, files, false, &cfg)?);
        pg.raw2.push(pg_raw(&urls.pg, &raw_pg, files, true, &cfg)?);
        if run == 0 {
            pg.same_schema = Some(same_schema(&raw_pg, &urls.pg));
        }
        psql(&urls.pg, &["DROP DATABASE raw WITH (FORCE)"])?;
        match &python {
            Ok(python) => pg.faker.push(faker_sample(python, &urls.pg, &cfg, dir.path())?),
            Err(e) => pg.faker_error = Some(e.clone()),
        }

        let raw_maria = urls.maria.with_database("raw");
        maria.raw1.push(maria_raw(&urls.maria, &raw_maria, files, false, &cfg)?);
        maria.raw2.push(maria_raw(&urls.maria, &raw_maria, files, true, &cfg)?);
        if run == 0 {
            maria.same_schema = Some(same_schema(&raw_maria.url(), &urls.maria.url()));
        }
        mariadb(&urls.maria, "DROP DATABASE raw")?;
    }
    pg.print(&cfg);
    maria.print(&cfg);
    drop(env);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The environment.

/// The environment `bench-seed`: `dbtwin down` when dropped, after the runs, on an error and on
/// panic. Made before `up` runs, so a failed `up` is cleaned up too.
struct Environment;

impl Environment {
    /// `dbtwin up --no-data`: the containers, migrated, without rows.
    fn up() -> Result<Environment, String> {
        let env = Environment;
        run(&mut dbtwin(&["up", "--quiet", "--no-data", "--env", ENV]))?;
        Ok(env)
    }

    fn urls(&self) -> Result<Urls, String> {
        let json = run(&mut dbtwin(&["env", "--admin", "--format", "json", "--env", ENV]))?;
        let vars: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| format!("`dbtwin env` printed no JSON: {e}"))?;
        let var = |name: &str| {
            vars[name].as_str().map(str::to_string).ok_or(format!("`dbtwin env` printed no {name}"))
        };
        Ok(Urls {
            pg: var("BENCH_PG_ADMIN_URL")?,
            maria: MariaUrl::parse(&var("BENCH_MARIA_ADMIN_URL")?)?,
        })
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        if let Err(e) = down() {
            eprintln!("warning: `dbtwin down --env {ENV}` failed, remove it by hand: {e}");
        }
    }
}

/// `dbtwin down`, also after an interruption (when [`run`] refuses to start anything).
fn down() -> Result<(), String> {
    let out = dbtwin(&["down", "--quiet", "--force", "--env", ENV])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("failed to run dbtwin down: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Whether a container of the environment exists (a killed earlier bench's).
fn leftover() -> bool {
    run(Command::new("docker").args([
        "ps",
        "--all",
        "--quiet",
        "--filter",
        &format!("label=dbtwin.env={ENV}"),
    ]))
    .is_ok_and(|ids| !ids.is_empty())
}

/// dbtwin with `args` and the bench's profiles (which only `up` and `seed` read).
fn dbtwin(args: &[&str]) -> Command {
    let mut cmd = Command::new(DBTWIN);
    cmd.current_dir(ROOT).args(args);
    if matches!(args.first(), Some(&"up" | &"seed")) {
        cmd.args(PROFILES.iter().flat_map(|p| ["--profile", p]));
    }
    cmd
}

/// The admin URLs of the two databases.
struct Urls {
    pg: String,
    maria: MariaUrl,
}

/// A `mysql://` URL of dbtwin's, in the parts the mariadb client takes.
#[derive(Clone)]
struct MariaUrl {
    user: String,
    password: String,
    host: String,
    port: String,
    database: String,
}

impl MariaUrl {
    fn parse(url: &str) -> Result<MariaUrl, String> {
        let bad =
            || "an admin URL of an unexpected form: mysql://USER:PASSWORD@HOST:PORT/DB".to_string();
        let rest = url.strip_prefix("mysql://").ok_or_else(bad)?;
        let (userinfo, rest) = rest.rsplit_once('@').ok_or_else(bad)?;
        let (user, password) = userinfo.split_once(':').ok_or_else(bad)?;
        let (hostport, database) = rest.split_once('/').ok_or_else(bad)?;
        let (host, port) = hostport.rsplit_once(':').ok_or_else(bad)?;
        Ok(MariaUrl {
            user: percent_decode(user),
            password: percent_decode(password),
            host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
            port: port.to_string(),
            database: percent_decode(database),
        })
    }

    fn with_database(&self, database: &str) -> MariaUrl {
        MariaUrl { database: database.to_string(), ..self.clone() }
    }

    /// Back to a URL, for `dbtwin diff` (the parts dbtwin makes need no escaping but these).
    fn url(&self) -> String {
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!(
            "mysql://{}:{}@{host}:{}/{}",
            percent_encode(&self.user),
            percent_encode(&self.password),
            self.port,
            percent_encode(&self.database)
        )
    }
}

/// The same PostgreSQL URL with another database.
fn pg_database(url: &str, database: &str) -> String {
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    format!("{base}/{database}")
}

// ---------------------------------------------------------------------------------------------
// dbtwin's side.

/// `dbtwin seed` of one database (`--reseed` to empty and refill it), and its peak RSS in KiB
/// when it could be read.
fn time_dbtwin_seed(
    cfg: &Config,
    target: &str,
    reseed: bool,
) -> Result<(Duration, Option<u64>), String> {
    let mut seed = dbtwin(&["seed", "--quiet", "--env", ENV]);
    if cfg.scale != 1.0 {
        seed.args(["--rows-scale", &cfg.scale.to_string()]);
    }
    if reseed {
        seed.arg("--reseed");
    }
    seed.arg(target);
    time_with_peak_rss(seed)
}

/// Runs a command to the end, timing it and reading its peak resident set: from `/usr/bin/time
/// -f %M` when the host has it (the kernel's own figure at exit), else by polling `VmHWM` (a
/// high-water mark, so a poll misses only growth in its last interval).
fn time_with_peak_rss(cmd: Command) -> Result<(Duration, Option<u64>), String> {
    const GNU_TIME: &str = "/usr/bin/time";
    if Path::new(GNU_TIME).exists() {
        let out = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        let mut timed = Command::new(GNU_TIME);
        timed.current_dir(ROOT).args(["-f", "%M", "-o"]).arg(out.path()).arg(cmd.get_program());
        timed.args(cmd.get_args());
        let start = Instant::now();
        run(&mut timed)?;
        let elapsed = start.elapsed();
        let rss = read(out.path())?.lines().last().and_then(|l| l.trim().parse().ok());
        return Ok((elapsed, rss));
    }
    let mut cmd = cmd;
    let start = Instant::now();
    let mut running = Running::spawn(&mut cmd)?;
    let status = format!("/proc/{}/status", running.id());
    let mut peak = None;
    while !running.finished()? {
        if let Some(kb) = std::fs::read_to_string(&status).ok().as_deref().and_then(vm_hwm) {
            peak = Some(kb);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    running.wait()?;
    Ok((elapsed, peak))
}

fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// The CSV files of (a).

/// The rows of (a), the same for every run, and the options that load them.
struct CsvFiles {
    users: PathBuf,
    orders: PathBuf,
    maria_users: PathBuf,
    maria_orders: PathBuf,
    /// The FIELDS clause of `LOAD DATA` for the MariaDB files.
    maria_fields: &'static str,
}

/// What dbtwin loaded, exported from its databases.
fn export_csv(urls: &Urls, dir: &Path) -> Result<CsvFiles, String> {
    let started = Instant::now();
    let files = CsvFiles {
        users: dir.join("users.csv"),
        orders: dir.join("orders.csv"),
        maria_users: dir.join("maria-users.tsv"),
        maria_orders: dir.join("maria-orders.tsv"),
        // SELECT … INTO OUTFILE writes what LOAD DATA reads by default.
        maria_fields: "",
    };
    psql(
        &urls.pg,
        &[
            &format!("\\copy users ({USERS_COLUMNS}) TO '{}' (FORMAT csv)", files.users.display()),
            &format!(
                "\\copy orders ({ORDERS_COLUMNS}) TO '{}' (FORMAT csv)",
                files.orders.display()
            ),
        ],
    )?;
    for (table, columns, file) in [
        ("users", USERS_COLUMNS, &files.maria_users),
        ("orders", ORDERS_COLUMNS, &files.maria_orders),
    ] {
        let inside = format!("/tmp/dbtwin-bench-{table}.tsv");
        docker_exec(&["rm", "-f", &inside])?;
        mariadb(&urls.maria, &format!("SELECT {columns} INTO OUTFILE '{inside}' FROM {table}"))?;
        run(Command::new("docker").arg("cp").arg(format!("{MARIA_CONTAINER}:{inside}")).arg(file))?;
        docker_exec(&["rm", "-f", &inside])?;
    }
    eprintln!(
        "exported dbtwin's rows to CSV in {:.1} s (not timed)",
        started.elapsed().as_secs_f64()
    );
    Ok(files)
}

fn docker_exec(args: &[&str]) -> Result<(), String> {
    run(Command::new("docker").args(["exec", MARIA_CONTAINER]).args(args)).map(drop)
}

/// Rows written by the Faker script (DBTWIN_BENCH_CSV_FROM_PYTHON=1), both tables at once.
fn faker_csv(python: &Path, cfg: &Config, dir: &Path) -> Result<CsvFiles, String> {
    eprintln!(
        "writing {} users and {} orders with Faker for (a) (not timed; minutes at full scale)",
        thousands(cfg.users),
        thousands(cfg.orders)
    );
    let started = Instant::now();
    let (users, orders) = (dir.join("users.csv"), dir.join("orders.csv"));
    let mut u = faker(python, "users", cfg.users, cfg.users, &users);
    let mut o = faker(python, "orders", cfg.orders, cfg.users, &orders);
    let u = Running::spawn(&mut u)?;
    let o = Running::spawn(&mut o)?;
    u.wait()?;
    o.wait()?;
    eprintln!("wrote them in {:.1} s", started.elapsed().as_secs_f64());
    Ok(CsvFiles {
        maria_users: users.clone(),
        maria_orders: orders.clone(),
        users,
        orders,
        // Python's csv module: quotes where needed, doubled inside.
        maria_fields: "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''",
    })
}

fn faker(python: &Path, table: &str, rows: u64, users: u64, out: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.current_dir(ROOT).arg(FAKER_SCRIPT).args([table, &rows.to_string()]);
    if table == "orders" {
        cmd.arg(users.to_string());
    }
    cmd.arg(out);
    cmd
}

// ---------------------------------------------------------------------------------------------
// (a) on PostgreSQL.

/// A fresh `raw` database with bare tables, then the timed load and keys; returns (load, keys),
/// where for 2 streams `load` lasts until both streams (each loading and indexing its table) are
/// done and `keys` is the foreign key after them.
fn pg_raw(
    admin: &str,
    raw: &str,
    files: &CsvFiles,
    parallel: bool,
    cfg: &Config,
) -> Result<(Duration, Duration), String> {
    psql(admin, &["DROP DATABASE IF EXISTS raw WITH (FORCE)", "CREATE DATABASE raw"])?;
    psql(raw, &[PG_BARE])?;
    checkpoint(admin)?;
    let copy_users =
        format!("\\copy users ({USERS_COLUMNS}) FROM '{}' (FORMAT csv)", files.users.display());
    let copy_orders =
        format!("\\copy orders ({ORDERS_COLUMNS}) FROM '{}' (FORMAT csv)", files.orders.display());

    let start = Instant::now();
    let (load, keys) = if parallel {
        let [users_pkey, users_email] = PG_USERS_KEYS;
        let [orders_pkey, orders_user_id] = PG_ORDERS_KEYS;
        let users = Running::spawn(&mut psql_command(
            raw,
            &[&copy_users, PG_INDEX_MEMORY, users_pkey, users_email],
        ))?;
        let orders = Running::spawn(&mut psql_command(
            raw,
            &[&copy_orders, PG_INDEX_MEMORY, orders_pkey, orders_user_id],
        ))?;
        users.wait()?;
        orders.wait()?;
        let streams = start.elapsed();
        psql(raw, &[PG_FOREIGN_KEY])?;
        (streams, start.elapsed() - streams)
    } else {
        psql(raw, &[&copy_users, &copy_orders])?;
        let load = start.elapsed();
        let mut keys = vec![PG_INDEX_MEMORY];
        keys.extend(PG_USERS_KEYS);
        keys.extend(PG_ORDERS_KEYS);
        keys.push(PG_FOREIGN_KEY);
        psql(raw, &keys)?;
        (load, start.elapsed() - load)
    };
    let streams = if parallel { "2 streams" } else { "1 stream" };
    verify_pg(raw, cfg).map_err(|e| format!("after (a) with {streams}: {e}"))?;
    Ok((load, keys))
}

/// Checks that a PostgreSQL database holds the bench's rows with every key valid.
fn verify_pg(url: &str, cfg: &Config) -> Result<(), String> {
    let tables = "('users'::regclass, 'orders'::regclass)";
    let got = psql_value(
        url,
        &format!(
            "SELECT concat_ws(' ',
               (SELECT count(*) FROM users), (SELECT count(*) FROM orders),
               (SELECT string_agg(contype::text, '' ORDER BY contype) FROM pg_constraint
                 WHERE conrelid IN {tables} AND contype IN ('p', 'u', 'f', 'c') AND convalidated),
               (SELECT count(*) FROM pg_constraint WHERE conrelid IN {tables} AND NOT convalidated),
               (SELECT count(*) FROM pg_index WHERE indrelid IN {tables}
                 AND indisvalid AND indisready AND indislive),
               (SELECT count(*) FROM pg_index WHERE indrelid IN {tables}
                 AND NOT (indisvalid AND indisready AND indislive)))"
        ),
    )?;
    // Constraints: 2 checks, 1 foreign key, 2 primary keys, 1 unique; indexes: 2 primary, the
    // unique one, orders(user_id).
    let want = format!("{} {} ccfppu 0 4 0", cfg.users, cfg.orders);
    if got != want {
        return Err(format!(
            "expected `{want}` (users, orders, valid constraints by type, invalid ones, valid \
             indexes, invalid ones), got `{got}`"
        ));
    }
    Ok(())
}

fn checkpoint(admin: &str) -> Result<(), String> {
    psql(admin, &["CHECKPOINT"])
}

// ---------------------------------------------------------------------------------------------
// (a) on MariaDB.

/// A fresh `raw` database with bare tables, then the timed `LOAD DATA` and keys; (load, keys) as
/// for PostgreSQL.
fn maria_raw(
    admin: &MariaUrl,
    raw: &MariaUrl,
    files: &CsvFiles,
    parallel: bool,
    cfg: &Config,
) -> Result<(Duration, Duration), String> {
    mariadb(admin, "DROP DATABASE IF EXISTS raw; CREATE DATABASE raw")?;
    mariadb(raw, MARIA_BARE)?;
    let load = |table: &str, columns: &str, file: &Path| {
        format!(
            "LOAD DATA LOCAL INFILE '{}' INTO TABLE {table} {} ({columns})",
            file.display(),
            files.maria_fields
        )
    };
    let load_users = load("users", USERS_COLUMNS, &files.maria_users);
    let load_orders = load("orders", ORDERS_COLUMNS, &files.maria_orders);

    let start = Instant::now();
    let (loaded, orphans) = if parallel {
        let users = Running::spawn(&mut mariadb_command(
            raw,
            &format!("{load_users}; {MARIA_USERS_KEYS}"),
        ))?;
        let orders = Running::spawn(&mut mariadb_command(
            raw,
            &format!("{load_orders}; {MARIA_ORDERS_KEYS}"),
        ))?;
        users.wait()?;
        orders.wait()?;
        let streams = start.elapsed();
        (streams, mariadb(raw, MARIA_FOREIGN_KEY)?)
    } else {
        mariadb(raw, &format!("{load_users}; {load_orders}"))?;
        let loaded = start.elapsed();
        (
            loaded,
            mariadb(raw, &format!("{MARIA_USERS_KEYS}; {MARIA_ORDERS_KEYS}; {MARIA_FOREIGN_KEY}"))?,
        )
    };
    let total = start.elapsed();
    if orphans.trim() != "0" {
        return Err(format!("(a) on MariaDB: {} orders reference no user", orphans.trim()));
    }
    let streams = if parallel { "2 streams" } else { "1 stream" };
    verify_maria(raw, cfg).map_err(|e| format!("after LOAD DATA with {streams}: {e}"))?;
    Ok((loaded, total - loaded))
}

/// Checks that a MariaDB database holds the bench's rows with every key in place and no order
/// without its user (MariaDB has no "validated" flag to read).
fn verify_maria(url: &MariaUrl, cfg: &Config) -> Result<(), String> {
    let tables = "TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('users', 'orders')";
    let got = mariadb(
        url,
        &format!(
            "SELECT concat_ws(' ',
               (SELECT count(*) FROM users), (SELECT count(*) FROM orders),
               (SELECT group_concat(CONSTRAINT_TYPE ORDER BY CONSTRAINT_TYPE SEPARATOR ',')
                  FROM information_schema.TABLE_CONSTRAINTS WHERE {tables}),
               (SELECT count(DISTINCT TABLE_NAME, INDEX_NAME)
                  FROM information_schema.STATISTICS WHERE {tables}),
               (SELECT count(*) FROM orders o LEFT JOIN users u ON u.id = o.user_id
                  WHERE u.id IS NULL))"
        ),
    )?;
    let want = format!(
        "{} {} CHECK,CHECK,FOREIGN KEY,PRIMARY KEY,PRIMARY KEY,UNIQUE 4 0",
        cfg.users, cfg.orders
    );
    if got.trim() != want {
        return Err(format!(
            "expected `{want}` (users, orders, constraints, indexes, orphaned orders), got `{}`",
            got.trim()
        ));
    }
    Ok(())
}

/// Whether the raw load ended with dbtwin's schema, as `dbtwin diff` sees it.
fn same_schema(raw: &str, seeded: &str) -> Result<(), String> {
    let out = Command::new(DBTWIN)
        .args(["diff", raw, seeded])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("failed to run dbtwin diff: {e}"))?;
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        _ => Err(format!("dbtwin diff failed: {}", String::from_utf8_lossy(&out.stderr).trim())),
    }
}

// ---------------------------------------------------------------------------------------------
// (b): the Faker script.

/// One measurement of (b): the sample of each table, and the scaled total.
struct FakerRun {
    users: SampleTimes,
    orders: SampleTimes,
    /// The interpreter's start and Faker's import, counted once.
    startup: Duration,
}

struct SampleTimes {
    rows: u64,
    generate: Duration,
    copy: Duration,
    /// Full count / sample.
    factor: f64,
}

impl SampleTimes {
    fn scaled(&self) -> f64 {
        (self.generate + self.copy).as_secs_f64() * self.factor
    }
}

impl FakerRun {
    fn total(&self) -> f64 {
        self.users.scaled() + self.orders.scaled() + self.startup.as_secs_f64()
    }
}

/// Generates and COPYs a sample of each table into a fresh database migrated like dbtwin's (keys in
/// place, as the script's users have them), timing each.
fn faker_sample(python: &Path, admin: &str, cfg: &Config, dir: &Path) -> Result<FakerRun, String> {
    psql(admin, &["DROP DATABASE IF EXISTS faker WITH (FORCE)", "CREATE DATABASE faker"])?;
    let db = pg_database(admin, "faker");
    run(Command::new("psql").current_dir(ROOT).args([
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        &db,
        "-f",
        PG_MIGRATION,
    ]))?;
    let users_rows = cfg.users.min(SAMPLE);
    let orders_rows = cfg.orders.min(SAMPLE);
    let mut startup = Duration::MAX;
    let mut sample = |table: &str, columns: &str, rows: u64, full: u64| {
        checkpoint(admin)?;
        let file = dir.join(format!("faker-{table}.csv"));
        let started = Instant::now();
        let printed = run(&mut faker(python, table, rows, users_rows, &file))?;
        let wall = started.elapsed();
        let generate = printed
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| format!("{FAKER_SCRIPT} printed `{printed}`, not its seconds"))?;
        startup = startup.min(wall.saturating_sub(generate));
        let copy = format!("\\copy {table} ({columns}) FROM '{}' (FORMAT csv)", file.display());
        let started = Instant::now();
        psql(&db, &[&copy])?;
        let copy = started.elapsed();
        let _ = std::fs::remove_file(&file);
        Ok::<_, String>(SampleTimes { rows, generate, copy, factor: full as f64 / rows as f64 })
    };
    let users = sample("users", USERS_COLUMNS, users_rows, cfg.users)?;
    let orders = sample("orders", ORDERS_COLUMNS, orders_rows, cfg.orders)?;
    let counts = psql_value(
        &db,
        "SELECT (SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM orders)",
    )?;
    if counts != format!("{users_rows} {orders_rows}") {
        return Err(format!("(b) loaded {counts} rows, not {users_rows} {orders_rows}"));
    }
    psql(admin, &["DROP DATABASE faker WITH (FORCE)"])?;
    Ok(FakerRun { users, orders, startup })
}

/// The venv's Python with Faker (target/bench-venv), made and filled with pip when missing.
fn python_with_faker() -> Result<PathBuf, String> {
    let target = Path::new(DBTWIN)
        .ancestors()
        .nth(2)
        .map_or_else(|| Path::new(ROOT).join("target"), Path::to_path_buf);
    let venv = target.join("bench-venv");
    let python = venv.join("bin/python");
    let has_faker = || {
        Command::new(&python)
            .args(["-c", "import faker"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has_faker() {
        return Ok(python);
    }
    eprintln!("installing Faker into {} with pip", venv.display());
    if !python.exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .map_err(|e| format!("could not make a venv for Faker: {e}"))?;
    }
    run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "faker"]))
        .map_err(|e| format!("pip could not install Faker: {e}"))?;
    if has_faker() { Ok(python) } else { Err("Faker installed but does not import".into()) }
}

// ---------------------------------------------------------------------------------------------
// Figures.

/// Every figure of one engine, over the runs.
struct Figures {
    engine: &'static str,
    /// How the raw baseline loads: `(a) COPY`, `LOAD DATA`.
    raw: &'static str,
    dbtwin: Vec<Duration>,
    /// Why `dbtwin seed` could not be measured (DBTWIN_BENCH_CSV_FROM_PYTHON=1 goes on without).
    dbtwin_error: Option<String>,
    /// Peak RSS of each `dbtwin seed`, KiB.
    rss: Vec<u64>,
    /// (load, keys) of each raw load with 1 stream, and (streams, foreign key) with 2.
    raw1: Vec<(Duration, Duration)>,
    raw2: Vec<(Duration, Duration)>,
    /// Whether (b) applies (PostgreSQL only).
    faker_applies: bool,
    faker: Vec<FakerRun>,
    faker_error: Option<String>,
    same_schema: Option<Result<(), String>>,
}

impl Figures {
    fn new(engine: &'static str, raw: &'static str, faker_applies: bool) -> Figures {
        Figures {
            engine,
            raw,
            dbtwin: Vec::new(),
            dbtwin_error: None,
            rss: Vec::new(),
            raw1: Vec::new(),
            raw2: Vec::new(),
            faker_applies,
            faker: Vec::new(),
            faker_error: None,
            same_schema: None,
        }
    }

    /// Times `dbtwin seed` of one database and checks what it left. A failure ends the bench,
    /// unless the CSV files come from Python: then the baselines do not need dbtwin's rows, and
    /// the failure is reported with them.
    fn dbtwin_seed(
        &mut self,
        cfg: &Config,
        target: &str,
        reseed: bool,
        verify: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        if self.dbtwin_error.is_some() {
            return Ok(());
        }
        let measured = time_dbtwin_seed(cfg, target, reseed).and_then(|(t, rss)| {
            verify().map_err(|e| format!("after dbtwin seed {target}: {e}"))?;
            Ok((t, rss))
        });
        match measured {
            Ok((t, rss)) => {
                self.dbtwin.push(t);
                self.rss.extend(rss);
                Ok(())
            }
            Err(e) if cfg.csv_from_python && !interrupted() => {
                eprintln!("dbtwin seed {target} failed; measuring the baselines without it:\n{e}");
                self.dbtwin_error = Some(e);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn print(&self, cfg: &Config) {
        println!();
        println!("{}", self.engine);
        let dbtwin = (self.dbtwin_error.is_none() && !self.dbtwin.is_empty())
            .then(|| median(&self.dbtwin).as_secs_f64());
        match dbtwin {
            Some(d) => {
                let rss = self
                    .rss
                    .iter()
                    .max()
                    .map_or("?".to_string(), |kb| format!("{} MiB", kb / 1024));
                println!(
                    "  {:<34} {d:>8.2} s {:>11} rows/s   peak RSS {rss}{}",
                    "dbtwin seed",
                    rate(cfg.rows(), d),
                    each_run(self.dbtwin.iter().map(Duration::as_secs_f64)),
                );
            }
            None => {
                let why = self.dbtwin_error.as_deref().unwrap_or("not run");
                println!(
                    "  {:<34} not measured: {}",
                    "dbtwin seed",
                    why.lines().next().unwrap_or("")
                );
            }
        }
        let raw1 =
            print_raw(cfg, &format!("{}, 1 stream, then keys", self.raw), &self.raw1, LOAD_KEYS);
        let raw2 =
            print_raw(cfg, &format!("{}, 2 streams, then keys", self.raw), &self.raw2, STREAMS_FK);
        let faker = self.print_faker(cfg);
        match &self.same_schema {
            Some(Ok(())) => {
                println!("  schema after the raw load: the same as dbtwin's (dbtwin diff)")
            }
            Some(Err(e)) => {
                println!("  schema after the raw load: NOT the same as dbtwin's:");
                for line in e.lines() {
                    println!("    {line}");
                }
            }
            None => {}
        }
        let (baseline, which) = if raw2 < raw1 { (raw2, "2 streams") } else { (raw1, "1 stream") };
        println!("  baseline {} = {which}, the faster", self.raw);
        let Some(dbtwin) = dbtwin else {
            println!("  ratios: none, dbtwin seed was not measured");
            return;
        };
        print_ratio(&format!("dbtwin / {}", self.raw), dbtwin / baseline, GOAL_RAW, false);
        if let Some(faker) = faker {
            print_ratio("(b) / dbtwin", faker / dbtwin, GOAL_FAKER, true);
        }
    }

    /// Prints (b), and returns its median scaled seconds.
    fn print_faker(&self, cfg: &Config) -> Option<f64> {
        if !self.faker_applies {
            return None;
        }
        let Some(last) = self.faker.last() else {
            let why = self.faker_error.as_deref().unwrap_or("not run");
            println!("  (b) Faker + COPY: could not run: {why}");
            return None;
        };
        let total = median_f64(self.faker.iter().map(FakerRun::total).collect());
        println!(
            "  {:<34} {total:>8.2} s {:>11} rows/s{}",
            "(b) Faker + COPY, scaled",
            rate(cfg.rows(), total),
            each_run(self.faker.iter().map(FakerRun::total)),
        );
        for (table, s) in [("users", &last.users), ("orders", &last.orders)] {
            println!(
                "      {table}: {} sampled, Faker {:.2} s + COPY {:.2} s, ×{:.1} = {:.1} s",
                thousands(s.rows),
                s.generate.as_secs_f64(),
                s.copy.as_secs_f64(),
                s.factor,
                s.scaled()
            );
        }
        println!("      Python start and Faker import, once: {:.2} s", last.startup.as_secs_f64());
        Some(total)
    }
}

/// Prints a raw load's median with the two phases of the run closest to it (named by `names`);
/// returns the median in seconds.
fn print_raw(cfg: &Config, what: &str, runs: &[(Duration, Duration)], names: (&str, &str)) -> f64 {
    let totals: Vec<Duration> = runs.iter().map(|(a, b)| *a + *b).collect();
    let total = median(&totals);
    let (first, rest) =
        runs.iter().min_by_key(|(a, b)| (*a + *b).abs_diff(total)).copied().unwrap_or_default();
    println!(
        "  {what:<34} {:>8.2} s {:>11} rows/s   ({} {:.2} s + {} {:.2} s){}",
        total.as_secs_f64(),
        rate(cfg.rows(), total.as_secs_f64()),
        names.0,
        first.as_secs_f64(),
        names.1,
        rest.as_secs_f64(),
        each_run(totals.iter().map(Duration::as_secs_f64)),
    );
    total.as_secs_f64()
}

/// Every run's seconds, when there were several: the spread behind a median.
fn each_run(seconds: impl Iterator<Item = f64>) -> String {
    let all: Vec<String> = seconds.map(|s| format!("{s:.2}")).collect();
    if all.len() < 2 { String::new() } else { format!("   runs: {}", all.join(", ")) }
}

fn print_ratio(what: &str, ratio: f64, goal: f64, at_least: bool) {
    let met = if at_least { ratio >= goal } else { ratio <= goal };
    let sign = if at_least { "≥" } else { "≤" };
    println!(
        "  {what:<20} {ratio:>6.2}×   goal {sign} {goal}: {}",
        if met { "met" } else { "NOT met" }
    );
}

fn rate(rows: u64, seconds: f64) -> String {
    thousands((rows as f64 / seconds).round() as u64)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn median(xs: &[Duration]) -> Duration {
    let mut v = xs.to_vec();
    v.sort();
    let n = v.len();
    if n == 0 {
        Duration::ZERO
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

fn median_f64(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

// ---------------------------------------------------------------------------------------------
// Checks and context.

fn check_tools() -> Result<(), String> {
    run(Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]))
        .map_err(|e| format!("cannot talk to the Docker daemon: {e}"))?;
    for (tool, package) in [("psql", "postgresql-client"), ("mariadb", "mariadb-client")] {
        run(Command::new(tool).arg("--version")).map_err(|e| {
            format!("{e}\nhint: the bench needs {tool} (apt-get install {package})")
        })?;
    }
    let missing: Vec<&str> = IMAGES
        .iter()
        .copied()
        .filter(|image| {
            run(Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", image]))
                .is_err()
        })
        .collect();
    if !missing.is_empty() {
        let tags: Vec<&str> =
            missing.iter().map(|i| i.trim_start_matches("dbtwin-offline/")).collect();
        return Err(format!(
            "the bench runs on local images, and these are missing: {}\n\
             hint: build them with `sudo tests/images/build {}`",
            missing.join(", "),
            tags.join(" ")
        ));
    }
    Ok(())
}

/// One line that says what machine the figures come from.
fn context() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let read = |path: &str| {
        std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_else(|_| "?".into())
    };
    let docker = run(Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]))
        .unwrap_or_else(|_| "?".into());
    let others =
        run(Command::new("docker").args(["ps", "--quiet"])).map_or(0, |s| s.lines().count());
    let load = read("/proc/loadavg");
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cpus} CPUs, Linux {}, load {}, Docker {docker}, dbtwin {} (release), {others} other \
         container(s) running",
        read("/proc/sys/kernel/osrelease"),
        load.join(" "),
        env!("CARGO_PKG_VERSION"),
    )
}

// ---------------------------------------------------------------------------------------------
// Clients.

fn psql_command(url: &str, commands: &[&str]) -> Command {
    let mut cmd = Command::new("psql");
    cmd.current_dir(ROOT).args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
    for c in commands {
        cmd.args(["-c", c]);
    }
    cmd
}

/// Runs each command (SQL or one psql meta-command) in order, in one session.
fn psql(url: &str, commands: &[&str]) -> Result<(), String> {
    run(&mut psql_command(url, commands)).map(drop)
}

/// One value, unaligned.
fn psql_value(url: &str, sql: &str) -> Result<String, String> {
    let mut cmd = psql_command(url, &[sql]);
    cmd.args(["-A", "-t"]);
    run(&mut cmd)
}

/// The mariadb client on the host, batch output, the password in its environment.
fn mariadb_command(url: &MariaUrl, sql: &str) -> Command {
    let mut cmd = Command::new("mariadb");
    cmd.current_dir(ROOT).env("MYSQL_PWD", &url.password).args([
        "--skip-ssl",
        "--local-infile=1",
        "--batch",
        "--skip-column-names",
        "-h",
        &url.host,
        "-P",
        &url.port,
        "-u",
        &url.user,
        "-e",
        sql,
        &url.database,
    ]);
    cmd
}

/// Runs the statements (`;`-separated) in one session; what they printed.
fn mariadb(url: &MariaUrl, sql: &str) -> Result<String, String> {
    run(&mut mariadb_command(url, sql))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("failed to read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Processes and interruption.
