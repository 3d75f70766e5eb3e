//! The labels dbtwin puts on every container, network and volume it creates. The engine is the
//! source of truth: `ls`, `down`, `env` and the reconcile logic of `up` read these labels back,
//! so there is no state file that could drift from reality.

/// The environment an object belongs to. Every object dbtwin creates carries it.
pub const ENV: &str = "dbtwin.env";
/// What the object is: [`KIND_DATABASE`], [`KIND_LOCK`], [`KIND_NETWORK`] or [`KIND_VOLUME`].
pub const KIND: &str = "dbtwin.kind";
pub const SERVICE: &str = "dbtwin.service";
pub const DATABASE: &str = "dbtwin.database";
pub const ENGINE: &str = "dbtwin.engine";
/// The version as pinned in the profile.
pub const VERSION: &str = "dbtwin.version";
/// A hash of everything that would change the container (image, arguments, mounts, limits).
pub const SPEC: &str = "dbtwin.spec";
pub const PROFILE: &str = "dbtwin.profile";
/// Seconds since the Unix epoch.
pub const CREATED_AT: &str = "dbtwin.created-at";
/// The `up` run that created the object: a failed or interrupted run removes exactly these.
pub const RUN: &str = "dbtwin.run";
/// Who holds an environment lock: `host:boot:pid`.
pub const LOCK_OWNER: &str = "dbtwin.lock-owner";
/// When that process started (clock ticks since boot), where it can be read: a pid used again by
/// a later process is not the holder. A label of its own, so that dbtwin releases that read only
/// the owner keep understanding it.
pub const LOCK_START: &str = "dbtwin.lock-start";
/// The database name inside the server, and the application's role.
pub const DB_NAME: &str = "dbtwin.db-name";
pub const APP_USER: &str = "dbtwin.app-user";
/// The database's migrations folder (absolute) and the team's own migration command, so that
/// `migrate` and `status` work on an environment without naming its profile again.
pub const MIGRATIONS: &str = "dbtwin.migrations";
/// The database's seed file (absolute) and seed, so that `seed` works without the profile.
pub const DATA: &str = "dbtwin.data";
pub const SEED: &str = "dbtwin.seed";
pub const MIGRATIONS_COMMAND: &str = "dbtwin.migrations-command";

pub const KIND_DATABASE: &str = "database";
pub const KIND_LOCK: &str = "lock";
pub const KIND_NETWORK: &str = "network";
pub const KIND_VOLUME: &str = "volume";

/// Names of the objects of one environment. Docker names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]*`;
/// environment, service and database names are validated to hold no `.`, so the dots keep
/// `dbtwin-a-b.c.main` (env `a-b`) apart from `dbtwin-a.b-c.main` (env `a`).
pub fn container_name(env: &str, service: &str, database: &str) -> String {
    format!("dbtwin-{env}.{service}.{database}")
}

pub fn volume_name(env: &str, service: &str, database: &str) -> String {
    format!("dbtwin-{env}.{service}.{database}.data")
}

pub fn network_name(env: &str) -> String {
    format!("dbtwin-{env}")
}

pub fn lock_name(env: &str) -> String {
    format!("dbtwin-{env}.lock")
}
