//! `cargo bench --bench mask`: how long a masked copy of production takes, against the limit of
//! an unmasked copy of the same rows between the same two servers, measured in the same run
//! (`benches/mask/`: PostgreSQL 17 on both sides, tmpfs, throwaway durability).
//!
//! "Production" (`bench-mask-prod`) holds 1,000,000 users (email, unique; name; phone;
//! birth_date; and ordinary columns) and 3,000,000 orders referencing them, filled by `INSERT …
//! SELECT generate_series` (not timed), then frozen and analysed. The twin (`bench-mask-twin`)
//! has the same schema. Timed, in this order in every run:
//!
//! * **masked whole copy**: `dbtwin seed --reseed` of the twin, whose seed file
//!   (`benches/mask/whole.yaml`) copies the source through a read-only role with a rule on every
//!   personal column; the whole command, wall clock.
//! * **baseline, the limit**: the same tables unmasked, `COPY … TO STDOUT` from the source
//!   streamed into `COPY … FROM STDIN (FREEZE)` of the twin's tables with tokio-postgres (the
//!   client library dbtwin uses, so both sides pay the same protocol costs; the bytes are passed
//!   on untouched, in 256 KiB messages). As dbtwin does: the keys, indexes and the foreign key
//!   are dropped first, each table is emptied in its COPY's transaction, the 2 tables load in
//!   parallel (dbtwin's 2 streams on 2 cores) and each gets its keys back in its own stream
//!   (`maintenance_work_mem` 256MB, as dbtwin sets), then the foreign key, validated as dbtwin
//!   validates it (hash joins off: a merge of the two indexes). Timed from the first connection
//!   to the foreign key.
//! * **baseline + ANALYZE**: the text baseline with each table's statistics computed in its own
//!   stream once its keys are back, as dbtwin leaves the twin (`ANALYZE`). Not the issue's
//!   limit (the goal stays set against the bare copy): a second reference that separates what
//!   the statistics cost from what the masking and the tool's own steps do.
//! * **baseline in binary**: the same in `COPY`'s binary format (`FORMAT binary` both ways),
//!   which dbtwin uses for a table copied as it is between two PostgreSQL servers. The goal is
//!   set against the text baseline, `COPY`'s default; the binary one is a stricter limit, and its
//!   ratio is printed beside it.
//! * the same for a **10% subset**: `subset-seed.yaml` (`start: { users: { percent: 10 } },
//!   follow: children`) against `COPY (SELECT … FROM users WHERE share(id))` and the orders of
//!   those users (`WHERE share(user_id)`), where `share` is the condition dbtwin sends the source
//!   for a 10% share ([`SHARE`]): both copy exactly the same rows, selected alike, and both
//!   subsets are checked to hold exactly the source's count of them.
//!
//! The goal: masked at most 1.15× the baseline. Then **peak memory as data grows**: the source is
//! refilled with 4× the users and orders and the masked whole copy runs once more; dbtwin's peak
//! RSS (`/usr/bin/time -f %M`, else `VmHWM` polled from /proc) at both sizes, and their ratio.
//!
//! Every timed copy starts from the same quiet twin: its tables emptied (keys kept) and a
//! CHECKPOINT first (untimed), and autovacuum off there for the whole bench, so no copy pays for
//! dropping the rows the copy before it left (a subset after a whole copy would drop 4,000,000
//! rows, the next one a tenth of that), nor for that copy's leftover vacuum and analyze.
//!
//! Every copy is checked before its figure counts: row counts (a whole copy: the source's), every
//! key, unique and foreign key present and validated, no invalid index, and after a masked copy
//! no original email in the twin (one count joining the twin's users with every original email,
//! computed from the same formula that filled the source).
//!
//! Environment: `DBTWIN_BENCH_RUNS` (default 3, medians), `DBTWIN_BENCH_SUBSET_REPEATS` (the
//! subset's copies per run, each side; default 3: a subset takes a second, and single ones
//! spread by ±15% here), `DBTWIN_BENCH_USERS` (default 1,000,000), `DBTWIN_BENCH_ORDERS`
//! (default 3× the users), `DBTWIN_BENCH_LARGE_USERS` (default 4× the users; 0 skips the memory
//! step) and `DBTWIN_BENCH_LARGE_ORDERS` (default 3× those).
//!
//! `DBTWIN_BENCH_KEEP=1` fills the source, leaves both environments up and prints the command the
//! bench would time, for profiling by hand.
//!
//! Both environments are removed at the end, on error, on panic and on Ctrl-C. The bench prints
//! figures and never fails on slowness; it fails only when it cannot measure.

#![forbid(unsafe_code)]

#[path = "support/process.rs"]
mod process;

use process::{Running, interrupted, mask, run};

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};

/// The release build of dbtwin that cargo builds for this bench.
const DBTWIN: &str = env!("CARGO_BIN_EXE_dbtwin");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PROD_ENV: &str = "bench-mask-prod";
const TWIN_ENV: &str = "bench-mask-twin";
const PROD_PROFILES: [&str; 2] = ["benches/mask/prod.yaml", "profiles/offline.yaml"];
const TWIN_PROFILES: [&str; 2] = ["benches/mask/twin.yaml", "profiles/offline.yaml"];
/// Put after [`TWIN_PROFILES`]: the twin's seed file becomes the 10% subset.
const SUBSET_OVERLAY: &str = "benches/mask/subset.yaml";
const IMAGE: &str = "dbtwin-offline/postgres:17";
/// The masking secret of every masked copy (any value: the bench measures, it keeps nothing).
const MASK_KEY: &str = "bench-mask-key";
/// The read-only role the twin reads production through.
const READER: (&str, &str) = ("reader", "reader-pw");

const USERS: u64 = 1_000_000;
const ORDERS_PER_USER: u64 = 3;
const LARGE_FACTOR: u64 = 4;

/// Masked time as a multiple of the baseline's that the issue asks for.
const GOAL: f64 = 1.15;

/// The condition dbtwin sends a PostgreSQL source for a `percent: 10` share of an integer key
/// (`sample_condition` in src/data/subset.rs: the key hashed by `hashint8extended` with dbtwin's
/// seed, below a tenth of 2^53), on `{key}`. The subset baseline selects its rows by it, so the
/// two subsets are the same rows; the counts checked after each copy prove it stays so.
const SHARE: &str = "(hashint8extended({key}::bigint, 110374023555438) & 9007199254740991) \
    < 900719925474099";

const USERS_COLUMNS: &str = "id, email, name, phone, birth_date, status, balance, created_at";
const ORDERS_COLUMNS: &str = "id, user_id, amount, status, created_at";

// ---------------------------------------------------------------------------------------------
// The schema's keys (benches/mask/migrations): what dbtwin takes off before loading and puts
// back after, under the same names; the baseline and the source fill do the same.

const DROP_KEYS: &str = "ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;
    ALTER TABLE users DROP CONSTRAINT users_pkey, DROP CONSTRAINT users_email_key;
    ALTER TABLE orders DROP CONSTRAINT orders_pkey;
    DROP INDEX orders_user_id_idx;";
const USERS_KEYS: &str = "SET maintenance_work_mem = '256MB';
    ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
    ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);";
const ORDERS_KEYS: &str = "SET maintenance_work_mem = '256MB';
    ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
    CREATE INDEX orders_user_id_idx ON orders (user_id);";
/// Validated as dbtwin validates a foreign key whose columns lead an index: hash joins off, so
/// the check merges the two indexes (about 0.4 s here against 2 s for the server's default plan,
/// which would otherwise weigh on the baseline alone).
const FOREIGN_KEY: &str = "SET maintenance_work_mem = '256MB'; SET enable_hashjoin = off;
    ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);
    RESET enable_hashjoin;";

// ---------------------------------------------------------------------------------------------
// The source's rows: pure functions of the row number, so the leak check can compute every
// original email again on the twin's server.

/// `i`, first and last name and the original email of users 1..={n}.
const PEOPLE: &str = "SELECT i, f, l,
        lower(f) || '.' || lower(l) || i || '@' || (ARRAY['gmail.com', 'yahoo.com', 'outlook.com',
            'proton.me', 'example.org', 'mail.example.com'])[1 + i % 6] AS email
    FROM generate_series(1::bigint, {n}) i
    CROSS JOIN LATERAL (SELECT
        (ARRAY['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda',
               'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica',
               'Thomas', 'Sarah', 'Charles', 'Karen', 'Anna', 'Lukas', 'Sofia'])[1 + i * 7 % 23] AS f,
        (ARRAY['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis',
               'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson',
               'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson',
               'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis'])[1 + i * 13 % 29] AS l) n";

const FILL_USERS: &str =
    "INSERT INTO users (id, email, name, phone, birth_date, status, balance, created_at)
    SELECT i, email, f || ' ' || l,
        '+1 (' || (200 + i * 7 % 800) || ') 555-' || lpad((i * 37 % 10000)::text, 4, '0'),
        date '1950-01-01' + (i * 37 % 18000)::int,
        (ARRAY['active', 'active', 'active', 'paused', 'closed'])[1 + i % 5],
        (i * 7919 % 500000) / 100.0,
        timestamptz '2020-01-01 00:00:00+00' + (i * 7919 % 157000000) * interval '1 second'
    FROM ({people}) p";

const FILL_ORDERS: &str = "INSERT INTO orders (id, user_id, amount, status, created_at)
    SELECT o, 1 + o * 2654435761 % {users},
        1 + (o * 31 % 90000) / 100.0,
        (ARRAY['pending', 'paid', 'paid', 'shipped', 'shipped', 'shipped', 'cancelled'])[1 + o % 7],
        timestamptz '2020-01-01 00:00:00+00' + (o * 104729 % 157000000) * interval '1 second'
    FROM generate_series(1::bigint, {orders}) o";

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

/// One size of the source.
#[derive(Clone, Copy)]
struct Size {
    users: u64,
    orders: u64,
}

impl Size {
    fn rows(self) -> u64 {
        self.users + self.orders
    }

    fn show(self) -> String {
        format!("{} users + {} orders", thousands(self.users), thousands(self.orders))
    }
}

struct Config {
    runs: usize,
    /// Subset copies (each side) per run: a subset takes a second, and single ones spread by
    /// ±15% on these machines, so their medians take more of them.
    subset_repeats: usize,
    size: Size,
    /// The size the memory step grows to; `None` skips it.
    large: Option<Size>,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let number = |name: &str, default: u64, zero: bool| match std::env::var(name) {
            Err(_) => Ok(default),
            Ok(s) => s
                .trim()
                .replace('_', "")
                .parse::<u64>()
                .ok()
                .filter(|&n| zero || n > 0)
                .ok_or_else(|| format!("{name} must be a positive whole number, not `{s}`")),
        };
        let runs = number("DBTWIN_BENCH_RUNS", 3, false)? as usize;
        let subset_repeats = number("DBTWIN_BENCH_SUBSET_REPEATS", 3, false)? as usize;
        let users = number("DBTWIN_BENCH_USERS", USERS, false)?;
        let orders = number("DBTWIN_BENCH_ORDERS", users * ORDERS_PER_USER, false)?;
        let large_users = number("DBTWIN_BENCH_LARGE_USERS", users * LARGE_FACTOR, true)?;
        let large_orders =
            number("DBTWIN_BENCH_LARGE_ORDERS", large_users * orders / users, large_users == 0)?;
        let large = (large_users > 0).then_some(Size { users: large_users, orders: large_orders });
        Ok(Config { runs, subset_repeats, size: Size { users, orders }, large })
    }
}

fn bench() -> Result<(), String> {
    let cfg = Config::from_env()?;
    check_tools()?;
    process::catch_interrupts(|| {
        for env in [TWIN_ENV, PROD_ENV] {
            let _ = down(env);
        }
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("failed to start the async runtime: {e}"))?;
    let started = Instant::now();

    println!(
        "mask: {} → a twin, PostgreSQL 17 on both sides (tmpfs, throwaway), {} run(s) ({} of \
         the subset), medians",
        cfg.size.show(),
        cfg.runs,
        cfg.runs * cfg.subset_repeats
    );
    println!("context: {}", context());

    for env in [PROD_ENV, TWIN_ENV] {
        if leftover(env) {
            eprintln!("removing the environment `{env}` an earlier bench left");
            down(env)?;
        }
    }
    let prod = Environment::up(PROD_ENV, &PROD_PROFILES, &[])?;
    let prod_admin = prod.admin_url("PROD_MAIN_ADMIN_URL")?;
    let prod_url = as_user(&prod_admin, READER.0, READER.1)?;
    let twin_env = [("PROD_URL", prod_url.as_str()), ("DBTWIN_MASK_KEY", MASK_KEY)];
    let twin = Environment::up(TWIN_ENV, &TWIN_PROFILES, &twin_env)?;
    let twin_url = twin.admin_url("TWIN_MAIN_ADMIN_URL")?;

    rt.block_on(fill_source(&prod_admin, cfg.size, true))?;
    let expected = rt.block_on(expected_counts(&prod_admin, cfg.size))?;
    rt.block_on(quiet(&twin_url))?;
    if std::env::var_os("DBTWIN_BENCH_KEEP").is_some() {
        // For profiling by hand: both environments stay up, filled, and the bench says how to
        // run the masked copy it would time.
        std::mem::forget((twin, prod));
        println!("kept: `dbtwin down --env {PROD_ENV}` and `--env {TWIN_ENV}` remove them");
        println!(
            "PROD_URL='{}' DBTWIN_MASK_KEY={MASK_KEY} {DBTWIN} seed --reseed --env {TWIN_ENV} {}",
            prod_url,
            TWIN_PROFILES.iter().map(|p| format!("-p {p}")).collect::<Vec<_>>().join(" ")
        );
        println!("TWIN_URL='{twin_url}'");
        return Ok(());
    }

    let mut figures = Figures::default();
    for run in 0..cfg.runs {
        eprintln!("run {} of {}", run + 1, cfg.runs);
        // Masked whole copy.
        rt.block_on(reset(&twin_url))?;
        let t = masked_copy(&twin_env, false)?;
        let whole = Counts { users: cfg.size.users, orders: cfg.size.orders };
        rt.block_on(verify(&twin_url, whole, Some(cfg.size.users)))
            .map_err(|e| format!("after the masked whole copy: {e}"))?;
        figures.whole_size = rt.block_on(table_bytes(&twin_url))?;
        figures.masked.push(t);

        // Baseline whole copy: text, text with statistics, binary.
        let timed = |statistics, format, what: &str| {
            let t = rt.block_on(baseline(&prod_url, &twin_url, false, format, statistics))?;
            rt.block_on(verify(&twin_url, whole, None))
                .map_err(|e| format!("after {what}: {e}"))?;
            Ok::<_, String>(t)
        };
        figures.baseline.push(timed(Statistics::None, Format::Text, "the baseline whole copy")?);
        figures.analyzed.push(timed(Statistics::Analyze, Format::Text, "it with statistics")?);
        figures.binary.push(timed(Statistics::None, Format::Binary, "the binary whole copy")?);

        // The subsets, masked then the same three baselines, several times in a row.
        let timed = |statistics, format, what: &str| {
            let t = rt.block_on(baseline(&prod_url, &twin_url, true, format, statistics))?;
            rt.block_on(verify(&twin_url, expected, None))
                .map_err(|e| format!("after {what}: {e}"))?;
            Ok::<_, String>(t)
        };
        for _ in 0..cfg.subset_repeats {
            // Masked subset.
            rt.block_on(reset(&twin_url))?;
            let t = masked_copy(&twin_env, true)?;
            rt.block_on(verify(&twin_url, expected, Some(cfg.size.users)))
                .map_err(|e| format!("after the masked subset: {e}"))?;
            figures.subset_size = rt.block_on(table_bytes(&twin_url))?;
            figures.masked_subset.push(t);

            // Baseline subset, the same three.
            figures.baseline_subset.push(timed(
                Statistics::None,
                Format::Text,
                "the baseline subset",
            )?);
            figures.analyzed_subset.push(timed(
                Statistics::Analyze,
                Format::Text,
                "it with statistics",
            )?);
            figures.binary_subset.push(timed(
                Statistics::None,
                Format::Binary,
                "the binary subset",
            )?);
        }
    }
    figures.subset_counts = expected;

    if let Some(large) = cfg.large {
        eprintln!("memory step: refilling the source with {}", large.show());
        rt.block_on(fill_source(&prod_admin, large, false))?;
        rt.block_on(reset(&twin_url))?;
        let t = masked_copy(&twin_env, false)?;
        let whole = Counts { users: large.users, orders: large.orders };
        rt.block_on(verify(&twin_url, whole, Some(large.users)))
            .map_err(|e| format!("after the masked whole copy of {}: {e}", large.show()))?;
        figures.large = Some((large, t));
    }

    figures.print(&cfg, started.elapsed());
    drop(twin);
    drop(prod);
    for env in [PROD_ENV, TWIN_ENV] {
        if leftover(env) {
            return Err(format!("`{env}` left containers or volumes behind"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The environments.

/// A running environment: `dbtwin down` when dropped, after the runs, on an error and on panic.
/// Made before `up` runs, so a failed `up` is cleaned up too.
struct Environment {
    name: &'static str,
}

impl Environment {
    /// `dbtwin up --no-data`: the container, migrated, without rows.
    fn up(
        name: &'static str,
        profiles: &[&str],
        vars: &[(&str, &str)],
    ) -> Result<Environment, String> {
        let env = Environment { name };
        let mut up = dbtwin(&["up", "--quiet", "--no-data", "--env", name], profiles);
        up.envs(vars.iter().copied());
        run(&mut up)?;
        Ok(env)
    }

    fn admin_url(&self, var: &str) -> Result<String, String> {
        let json =
            run(&mut dbtwin(&["env", "--admin", "--format", "json", "--env", self.name], &[]))?;
        let vars: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| format!("`dbtwin env` printed no JSON: {e}"))?;
        vars[var].as_str().map(str::to_string).ok_or(format!("`dbtwin env` printed no {var}"))
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        if let Err(e) = down(self.name) {
            eprintln!("warning: `dbtwin down --env {}` failed, remove it by hand: {e}", self.name);
        }
    }
}

/// `dbtwin down`, also after an interruption (when [`run`] refuses to start anything).
fn down(env: &str) -> Result<(), String> {
    let out = dbtwin(&["down", "--quiet", "--force", "--env", env], &[])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("failed to run dbtwin down: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Whether a container or volume of the environment exists (a killed earlier bench's, or one
/// `down` missed).
fn leftover(env: &str) -> bool {
    let filter = format!("label=dbtwin.env={env}");
    let containers =
        run(Command::new("docker").args(["ps", "--all", "--quiet", "--filter", &filter]));
    let volumes =
        run(Command::new("docker").args(["volume", "ls", "--quiet", "--filter", &filter]));
    [containers, volumes].into_iter().any(|ids| ids.is_ok_and(|ids| !ids.is_empty()))
}

/// dbtwin with `args`, then `profiles` (for the commands that read a profile).
fn dbtwin(args: &[&str], profiles: &[&str]) -> Command {
    let mut cmd = Command::new(DBTWIN);
    cmd.current_dir(ROOT).args(args).args(profiles.iter().flat_map(|p| ["--profile", p]));
    cmd
}

/// `postgres://admin:pw@host:port/db` → the same server and database as `user:password`.
fn as_user(url: &str, user: &str, password: &str) -> Result<String, String> {
    let (scheme, rest) = url.split_once("://").ok_or("an admin URL without a scheme")?;
    let (_, at) = rest.rsplit_once('@').ok_or("an admin URL without credentials")?;
    Ok(format!("{scheme}://{user}:{password}@{at}"))
}

// ---------------------------------------------------------------------------------------------
// The source.

/// Empties and fills the source with `size` rows: the keys off, users and orders inserted in
/// parallel, the keys back, then every row frozen and the statistics gathered (so no timed read
/// pays for setting hint bits). The first time, also the read-only role the twin reads through.
async fn fill_source(admin: &str, size: Size, first: bool) -> Result<(), String> {
    let started = Instant::now();
    let db = connect(admin).await?;
    if first {
        exec(
            &db,
            &format!(
                "CREATE ROLE {} LOGIN PASSWORD '{}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {0}",
                READER.0, READER.1
            ),
        )
        .await?;
    }
    exec(&db, &format!("{DROP_KEYS} TRUNCATE users, orders")).await?;
    let people = PEOPLE.replace("{n}", &size.users.to_string());
    let users = FILL_USERS.replace("{people}", &people);
    let orders = FILL_ORDERS
        .replace("{users}", &size.users.to_string())
        .replace("{orders}", &size.orders.to_string());
    let in_session = |sql: String| async move {
        let db = connect(admin).await?;
        exec(&db, "SET synchronous_commit = off").await?;
        exec(&db, &sql).await
    };
    tokio::try_join!(
        in_session(format!("{users}; {USERS_KEYS}")),
        in_session(format!("{orders}; {ORDERS_KEYS}")),
    )?;
    exec(&db, FOREIGN_KEY).await?;
    tokio::try_join!(
        in_session("VACUUM (FREEZE, ANALYZE) users".into()),
        in_session("VACUUM (FREEZE, ANALYZE) orders".into()),
    )?;
    exec(&db, "CHECKPOINT").await?;
    let counts = counts(&db).await?;
    if counts != (Counts { users: size.users, orders: size.orders }) {
        return Err(format!("the source holds {counts:?} after filling it with {}", size.show()));
    }
    eprintln!(
        "filled the source with {} in {:.1} s (not timed)",
        size.show(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// [`SHARE`] on the column `key`.
fn share(key: &str) -> String {
    SHARE.replace("{key}", key)
}

/// What both subsets copy: the users in the 10% share ([`SHARE`]) and their orders.
async fn expected_counts(admin: &str, size: Size) -> Result<Counts, String> {
    let db = connect(admin).await?;
    let users = count(&db, &format!("SELECT count(*) FROM users WHERE {}", share("id"))).await?;
    let orders =
        count(&db, &format!("SELECT count(*) FROM orders WHERE {}", share("user_id"))).await?;
    // About a tenth: a share that picked far more or fewer is not the 10% the bench means.
    if !(size.users / 20..=size.users * 3 / 20).contains(&users) || orders == 0 {
        return Err(format!(
            "a 10% subset of {} would be {users} users, {orders} orders",
            size.show()
        ));
    }
    Ok(Counts { users, orders })
}

// ---------------------------------------------------------------------------------------------
// The timed copies.

/// One timed copy: wall clock, and dbtwin's peak RSS in KiB when it ran and could be read.
#[derive(Clone, Copy)]
struct Timed {
    time: Duration,
    rss: Option<u64>,
    /// CPU time (user + system) of the client: dbtwin's, or the bench's own for a baseline.
    cpu: Option<Duration>,
}

/// `dbtwin seed --reseed` of the twin, the whole source or (`subset`) its 10% subset.
fn masked_copy(vars: &[(&str, &str)], subset: bool) -> Result<Timed, String> {
    let mut profiles = TWIN_PROFILES.to_vec();
    if subset {
        profiles.push(SUBSET_OVERLAY);
    }
    let mut seed = dbtwin(&["seed", "--quiet", "--reseed", "--env", TWIN_ENV], &profiles);
    seed.envs(vars.iter().copied());
    let (time, rss, cpu) = time_with_peak_rss(seed)?;
    Ok(Timed { time, rss, cpu })
}

/// Whether a baseline also computes each table's statistics once its keys are back, as dbtwin
/// does (`ANALYZE`, in the table's own stream): not part of the limit, a second
/// reference that shows what the masking and the tool's own steps cost beyond it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Statistics {
    None,
    Analyze,
}

/// How a baseline's rows travel: `COPY`'s default text format, or its binary one (what dbtwin
/// uses for a table copied as it is).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Binary,
}

/// The unmasked limit: the keys off, both tables streamed source → twin in parallel, each with
/// its keys back in its own stream, then the foreign key. `subset` keeps the users in the 10%
/// share ([`SHARE`]) and their orders.
async fn baseline(
    source: &str,
    twin: &str,
    subset: bool,
    format: Format,
    statistics: Statistics,
) -> Result<Timed, String> {
    // A task of the runtime, as dbtwin's commands are: the streams share the workers with the
    // connections they read and write (no thread woken from its sleep for each batch of rows).
    let (source, twin) = (source.to_owned(), twin.to_owned());
    tokio::spawn(async move { baseline_in_task(&source, &twin, subset, format, statistics).await })
        .await
        .map_err(|e| format!("the baseline stopped: {e}"))?
}

async fn baseline_in_task(
    source: &str,
    twin: &str,
    subset: bool,
    format: Format,
    statistics: Statistics,
) -> Result<Timed, String> {
    reset(twin).await?;
    let (users, orders) = if subset {
        (
            format!("(SELECT {USERS_COLUMNS} FROM users WHERE {})", share("id")),
            format!("(SELECT {ORDERS_COLUMNS} FROM orders WHERE {})", share("user_id")),
        )
    } else {
        (format!("users ({USERS_COLUMNS})"), format!("orders ({ORDERS_COLUMNS})"))
    };
    let start = Instant::now();
    let cpu = own_cpu();
    let db = connect(twin).await?;
    exec(&db, DROP_KEYS).await?;
    let (users_keys, orders_keys) = match statistics {
        Statistics::None => (USERS_KEYS.to_string(), ORDERS_KEYS.to_string()),
        Statistics::Analyze => {
            (format!("{USERS_KEYS} ANALYZE users;"), format!("{ORDERS_KEYS} ANALYZE orders;"))
        }
    };
    tokio::try_join!(
        stream_table(source, twin, &users, "users", USERS_COLUMNS, &users_keys, format),
        stream_table(source, twin, &orders, "orders", ORDERS_COLUMNS, &orders_keys, format),
    )?;
    exec(&db, FOREIGN_KEY).await?;
    let cpu = own_cpu().zip(cpu).map(|(after, before)| after.saturating_sub(before));
    Ok(Timed { time: start.elapsed(), rss: None, cpu })
}

/// `COPY {from} TO STDOUT` on the source into `COPY {table} FROM STDIN (FREEZE)` on the twin, in
/// a transaction that empties the table first; then `keys`.
async fn stream_table(
    source: &str,
    twin: &str,
    from: &str,
    table: &str,
    columns: &str,
    keys: &str,
    format: Format,
) -> Result<u64, String> {
    let (out, into) = match format {
        Format::Text => ("", "FREEZE"),
        Format::Binary => (" (FORMAT binary)", "FORMAT binary, FREEZE"),
    };
    const MESSAGE: usize = 256 * 1024;
    let (src, dst) = tokio::try_join!(connect(source), connect(twin))?;
    exec(&src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
    exec(&dst, &format!("SET synchronous_commit = off; BEGIN; TRUNCATE {table}")).await?;
    let failed = |what: &str, e: tokio_postgres::Error| format!("{what} {table}: {}", message(&e));
    let rows = src
        .copy_out(&format!("COPY {from} TO STDOUT{out}"))
        .await
        .map_err(|e| failed("failed to read", e))?;
    let sink = dst
        .copy_in::<_, Bytes>(&format!("COPY {table} ({columns}) FROM STDIN ({into})"))
        .await
        .map_err(|e| failed("failed to load", e))?;
    let (mut rows, mut sink) = (std::pin::pin!(rows), std::pin::pin!(sink));
    let mut buffer = BytesMut::with_capacity(MESSAGE + 4096);
    while let Some(data) = rows.next().await {
        buffer.extend_from_slice(&data.map_err(|e| failed("failed to read", e))?);
        if buffer.len() >= MESSAGE {
            sink.send(buffer.split().freeze()).await.map_err(|e| failed("failed to load", e))?;
        }
    }
    if !buffer.is_empty() {
        sink.send(buffer.split().freeze()).await.map_err(|e| failed("failed to load", e))?;
    }
    let loaded = sink.as_mut().finish().await.map_err(|e| failed("failed to load", e))?;
    exec(&src, "COMMIT").await?;
    exec(&dst, "COMMIT").await?;
    exec(&dst, keys).await?;
    Ok(loaded)
}

// ---------------------------------------------------------------------------------------------
// Checks.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    users: u64,
    orders: u64,
}

/// Checks the twin after a copy: the row counts, every key valid and, with `originals` (the
/// source's users), that no original email is in it.
async fn verify(twin: &str, want: Counts, originals: Option<u64>) -> Result<(), String> {
    let db = connect(twin).await?;
    let got = counts(&db).await?;
    if got != want {
        return Err(format!("expected {want:?}, the twin holds {got:?}"));
    }
    let tables = "('users'::regclass, 'orders'::regclass)";
    let keys: String = db
        .query_one(
            &format!(
                "SELECT concat_ws(' ',
                   (SELECT string_agg(contype::text, '' ORDER BY contype) FROM pg_constraint
                     WHERE conrelid IN {tables} AND contype IN ('p', 'u', 'f', 'c') AND convalidated),
                   (SELECT count(*) FROM pg_constraint WHERE conrelid IN {tables} AND NOT convalidated),
                   (SELECT count(*) FROM pg_index WHERE indrelid IN {tables}
                     AND indisvalid AND indisready AND indislive),
                   (SELECT count(*) FROM pg_index WHERE indrelid IN {tables}
                     AND NOT (indisvalid AND indisready AND indislive)))"
            ),
            &[],
        )
        .await
        .map_err(|e| format!("failed to read the twin's keys: {}", message(&e)))?
        .get(0);
    // Constraints: 1 check, 1 foreign key, 2 primary keys, 1 unique; indexes: 2 primary, the
    // unique one, orders(user_id).
    if keys != "cfppu 0 4 0" {
        return Err(format!(
            "expected `cfppu 0 4 0` (valid constraints by type, invalid ones, valid indexes, \
             invalid ones), got `{keys}`"
        ));
    }
    if let Some(n) = originals {
        let people = PEOPLE.replace("{n}", &n.to_string());
        let leaked =
            count(&db, &format!("SELECT count(*) FROM users u JOIN ({people}) p USING (email)"))
                .await?;
        if leaked > 0 {
            return Err(format!("{leaked} original emails are in the twin"));
        }
    }
    Ok(())
}

async fn counts(db: &tokio_postgres::Client) -> Result<Counts, String> {
    Ok(Counts {
        users: count(db, "SELECT count(*) FROM users").await?,
        orders: count(db, "SELECT count(*) FROM orders").await?,
    })
}

/// The loaded tables' size on the twin (heap, without indexes), for MB/s.
async fn table_bytes(twin: &str) -> Result<u64, String> {
    let db = connect(twin).await?;
    count(&db, "SELECT pg_table_size('users') + pg_table_size('orders')").await
}

/// Before every timed copy, masked or baseline (untimed): the twin's tables emptied (their keys
/// stay) and its dirty pages written.
async fn reset(url: &str) -> Result<(), String> {
    exec(&connect(url).await?, "TRUNCATE users, orders; CHECKPOINT").await
}

/// Autovacuum off on the twin: each copy leaves millions of fresh rows behind (the baseline's
/// without statistics), and their vacuum and analyze would otherwise run in whichever copy is
/// timed next. Each copy's own work (dbtwin's ANALYZE included) stays in its own time.
async fn quiet(twin: &str) -> Result<(), String> {
    let db = connect(twin).await?;
    exec(&db, "ALTER SYSTEM SET autovacuum = off").await?;
    exec(&db, "SELECT pg_reload_conf()").await
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL, through tokio-postgres.

async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("failed to connect to {}: {}", mask(url), message(&e)))?;
    tokio::spawn(conn);
    Ok(client)
}

async fn exec(db: &tokio_postgres::Client, sql: &str) -> Result<(), String> {
    db.batch_execute(sql)
        .await
        .map_err(|e| format!("`{}` failed: {}", first_line(sql), message(&e)))
}

async fn count(db: &tokio_postgres::Client, sql: &str) -> Result<u64, String> {
    let row = db
        .query_one(sql, &[])
        .await
        .map_err(|e| format!("`{}` failed: {}", first_line(sql), message(&e)))?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// The server's message when there is one (tokio-postgres' own Display says only "db error").
fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map_or_else(|| e.to_string(), |db| db.message().to_string())
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// Figures.

#[derive(Default)]
struct Figures {
    masked: Vec<Timed>,
    baseline: Vec<Timed>,
    /// The baseline with each table's statistics computed ([`Statistics::Analyze`]).
    analyzed: Vec<Timed>,
    /// The baseline in `COPY`'s binary format.
    binary: Vec<Timed>,
    masked_subset: Vec<Timed>,
    baseline_subset: Vec<Timed>,
    analyzed_subset: Vec<Timed>,
    binary_subset: Vec<Timed>,
    /// Rows of the subset (the same for dbtwin and the baseline; checked after every copy).
    subset_counts: Counts,
    /// Bytes of the twin's tables after the last masked copy of each kind.
    whole_size: u64,
    subset_size: u64,
    /// The memory step's size and its masked copy.
    large: Option<(Size, Timed)>,
}

impl Figures {
    fn print(&self, cfg: &Config, total: Duration) {
        let whole = cfg.size.rows();
        println!();
        println!(
            "{:<44} {:>9} {:>11} {:>8} {:>10}   runs",
            "", "seconds", "rows/s", "MB/s", "peak RSS"
        );
        println!(
            "whole copy: {} ({} MB in the twin's tables)",
            cfg.size.show(),
            self.whole_size / 1_000_000
        );
        let masked = row("masked: dbtwin seed --reseed", &self.masked, whole, self.whole_size);
        let base = row("baseline: COPY → COPY, 2 streams", &self.baseline, whole, self.whole_size);
        ratio("masked / baseline", masked / base);
        cpu("client CPU, user + system", &self.masked, &self.baseline);
        let analyzed =
            row("baseline + ANALYZE, as dbtwin leaves it", &self.analyzed, whole, self.whole_size);
        statistics("masked / baseline + ANALYZE", masked / analyzed);
        let binary = row("baseline in binary: COPY → COPY", &self.binary, whole, self.whole_size);
        reference("masked / baseline in binary", masked / binary);

        let s = self.subset_counts;
        println!(
            "10% subset: {} users + {} orders, the same rows both ways ({} MB)",
            thousands(s.users),
            thousands(s.orders),
            self.subset_size / 1_000_000
        );
        let (rows, size) = (s.users + s.orders, self.subset_size);
        let masked = row("masked: dbtwin seed --reseed, subset", &self.masked_subset, rows, size);
        let base = row("baseline: COPY (… share) → COPY", &self.baseline_subset, rows, size);
        ratio("masked / baseline", masked / base);
        cpu("client CPU, user + system", &self.masked_subset, &self.baseline_subset);
        let analyzed =
            row("baseline + ANALYZE, as dbtwin leaves it", &self.analyzed_subset, rows, size);
        statistics("masked / baseline + ANALYZE", masked / analyzed);
        let binary = row("baseline in binary: COPY (…) → COPY", &self.binary_subset, rows, size);
        reference("masked / baseline in binary", masked / binary);

        println!("peak memory of the masked whole copy (dbtwin's max RSS)");
        let small = self.masked.iter().filter_map(|t| t.rss).max();
        let small_time = median(self.masked.iter().map(|t| t.time).collect());
        println!(
            "  {:<42} {:>9.2} {:>11} {:>8} {:>10}",
            cfg.size.show(),
            small_time.as_secs_f64(),
            rate(whole, small_time.as_secs_f64()),
            "",
            mib(small)
        );
        match self.large {
            Some((size, t)) => {
                println!(
                    "  {:<42} {:>9.2} {:>11} {:>8} {:>10}   1 run",
                    size.show(),
                    t.time.as_secs_f64(),
                    rate(size.rows(), t.time.as_secs_f64()),
                    "",
                    mib(t.rss)
                );
                if let (Some(a), Some(b)) = (small, t.rss) {
                    println!(
                        "  {:<42} {:>8.2}×   for {:.1}× the rows (flat would be 1.0×)",
                        "peak RSS ratio",
                        b as f64 / a as f64,
                        size.rows() as f64 / whole as f64
                    );
                }
            }
            None => println!("  the larger size was not run (DBTWIN_BENCH_LARGE_USERS=0)"),
        }
        println!(
            "MB/s: the copied tables' size in the twin (heap, without indexes) per second. \
             The bench took {:.0} s.",
            total.as_secs_f64()
        );
    }
}

/// Prints one timed line (the median; rows and bytes for the rates); returns the median seconds.
fn row(what: &str, runs: &[Timed], rows: u64, bytes: u64) -> f64 {
    let t = median(runs.iter().map(|r| r.time).collect()).as_secs_f64();
    let rss = runs.iter().filter_map(|r| r.rss).max();
    println!(
        "  {what:<42} {t:>9.2} {:>11} {:>8.1} {:>10}{}",
        rate(rows, t),
        bytes as f64 / 1e6 / t,
        if runs.iter().any(|r| r.rss.is_some()) { mib(rss) } else { "-".into() },
        each_run(runs.iter().map(|r| r.time.as_secs_f64()))
    );
    t
}

fn ratio(what: &str, ratio: f64) {
    let met = if ratio <= GOAL { "met" } else { "NOT met" };
    println!("  {what:<42} {ratio:>8.2}×   goal ≤ {GOAL}×: {met}");
}

/// A ratio against the binary baseline: a stricter limit than the (`COPY`'s default
/// text format), shown beside it.
fn reference(what: &str, ratio: f64) {
    println!("  {what:<42} {ratio:>8.2}×   (against the faster limit; the goal is set on text)");
}

/// A ratio against the baseline that also computes statistics: what masking and the tool's own
/// steps (lock, records, guards) cost beyond the statistics, shown beside the goal's.
fn statistics(what: &str, ratio: f64) {
    println!("  {what:<42} {ratio:>8.2}×   (statistics on both sides; the goal is set without)");
}

/// The clients' CPU seconds (medians): what dbtwin spends beyond passing bytes on. On a machine
/// whose cores the servers already keep busy, it adds to the wall clock.
fn cpu(what: &str, masked: &[Timed], baseline: &[Timed]) {
    let median_cpu = |runs: &[Timed]| {
        let all: Option<Vec<Duration>> = runs.iter().map(|t| t.cpu).collect();
        all.filter(|a| !a.is_empty()).map(|a| median(a).as_secs_f64())
    };
    let show = |s: Option<f64>| s.map_or("?".to_string(), |s| format!("{s:.2} s"));
    println!(
        "  {what:<42} masked {}, baseline {}",
        show(median_cpu(masked)),
        show(median_cpu(baseline))
    );
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".to_string(), |kb| format!("{} MiB", kb / 1024))
}

/// Every run's seconds: the spread behind a median.
fn each_run(seconds: impl Iterator<Item = f64>) -> String {
    let all: Vec<String> = seconds.map(|s| format!("{s:.2}")).collect();
    format!("   {}", all.join(", "))
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

fn median(mut v: Vec<Duration>) -> Duration {
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

// ---------------------------------------------------------------------------------------------
// Checks and context.

fn check_tools() -> Result<(), String> {
    run(Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]))
        .map_err(|e| format!("cannot talk to the Docker daemon: {e}"))?;
    if run(Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", IMAGE])).is_err()
    {
        return Err(format!(
            "the bench runs on a local image, and {IMAGE} is missing\n\
             hint: build it with `sudo tests/images/build postgres:17`"
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
// Processes and interruption.

/// Runs a command to the end, timing it and reading its peak resident set: from `/usr/bin/time
/// -f %M` when the host has it (the kernel's own figure at exit), else by polling `VmHWM` (a
/// high-water mark, so a poll misses only growth in its last interval).
fn time_with_peak_rss(cmd: Command) -> Result<(Duration, Option<u64>, Option<Duration>), String> {
    const GNU_TIME: &str = "/usr/bin/time";
    if Path::new(GNU_TIME).exists() {
        let out = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        let mut timed = Command::new(GNU_TIME);
        timed.current_dir(ROOT).args(["-f", "%M %U %S", "-o"]).arg(out.path());
        timed.arg(cmd.get_program());
        timed.args(cmd.get_args());
        for (name, value) in cmd.get_envs() {
            match value {
                Some(value) => timed.env(name, value),
                None => timed.env_remove(name),
            };
        }
        let start = Instant::now();
        run(&mut timed)?;
        let elapsed = start.elapsed();
        let report = std::fs::read_to_string(out.path()).unwrap_or_default();
        let fields: Vec<&str> = report.lines().last().unwrap_or("").split_whitespace().collect();
        let rss = fields.first().and_then(|f| f.parse().ok());
        let seconds = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        let cpu = seconds(1).zip(seconds(2)).map(|(u, s)| Duration::from_secs_f64(u + s));
        return Ok((elapsed, rss, cpu));
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
    Ok((elapsed, peak, None))
}

/// This process's CPU time so far (user + system, every thread), from /proc.
fn own_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // utime and stime are fields 14 and 15, in USER_HZ (100 on Linux).
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
