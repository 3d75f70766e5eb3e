//! Database engines: a closed set, dispatched by `match` on [`EngineKind`]. For each engine this
//! module knows the official image for a version, the container it needs (environment, port, data
//! directory, server arguments), how to tell that the server truly answers, how to give the
//! application its own role, and its connection URLs. Each engine's driver is seen only in that
//! engine's file.

pub mod bulk;
pub mod mysql;
pub mod postgres;
pub mod redis;
pub mod session;
pub mod target;
mod tls;

pub use session::{ApplyError, HistoryRow, NewHistoryRow, Script, Session};
pub use target::{Target, TlsMode, UrlError};

use std::collections::BTreeMap;
use std::time::Duration;

use rand::RngExt;

use crate::profile::{Database, Durability, EngineKind, PinnedVersion};

/// How long one readiness probe may take before it counts as a failed attempt.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a server answers: the host and published port a client on this machine uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// The credentials of one database: the admin account dbtwin keeps for its own work, and the
/// application's own role.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub admin_user: String,
    pub admin_password: String,
    pub app_user: String,
    pub app_password: String,
    /// The database inside the server (Redis: the logical database number, `0`).
    pub database: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("admin_user", &self.admin_user)
            .field("app_user", &self.app_user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// Environment variables dbtwin adds to every container so `env` can read the credentials back
/// by inspecting it (the engine is the source of truth; there is no state file).
pub const ENV_ADMIN_PASSWORD: &str = "DBTWIN_ADMIN_PASSWORD";
pub const ENV_APP_USER: &str = "DBTWIN_APP_USER";
pub const ENV_APP_PASSWORD: &str = "DBTWIN_APP_PASSWORD";
pub const ENV_DATABASE: &str = "DBTWIN_DATABASE";

/// A fresh random password: 24 alphanumeric characters (about 143 bits), safe in URLs and shells
/// without quoting.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..24).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// The admin account of each engine's official image.
pub fn admin_user(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Postgres => "postgres",
        EngineKind::Mysql | EngineKind::Mariadb => "root",
        EngineKind::Redis => "default",
    }
}

/// New credentials for a database about to be created.
pub fn new_credentials(kind: EngineKind, db: &Database) -> Credentials {
    Credentials {
        admin_user: admin_user(kind).to_string(),
        admin_password: generate_password(),
        app_user: db.role.name.clone(),
        app_password: generate_password(),
        database: match kind {
            EngineKind::Redis => "0".to_string(),
            _ => db.name.clone(),
        },
    }
}

/// Reads the credentials back from a container's environment.
pub fn credentials_from_env(
    kind: EngineKind,
    env: &BTreeMap<String, String>,
) -> Option<Credentials> {
    Some(Credentials {
        admin_user: admin_user(kind).to_string(),
        admin_password: env.get(ENV_ADMIN_PASSWORD)?.clone(),
        app_user: env.get(ENV_APP_USER)?.clone(),
        app_password: env.get(ENV_APP_PASSWORD)?.clone(),
        database: env.get(ENV_DATABASE)?.clone(),
    })
}

/// The official image's repository for an engine.
pub fn official_repository(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Postgres => "postgres",
        EngineKind::Mysql => "mysql",
        EngineKind::Mariadb => "mariadb",
        EngineKind::Redis => "redis",
    }
}

/// The official image for a pinned version: `postgres:17`, or `postgres@sha256:…` for a digest.
pub fn official_image(kind: EngineKind, version: &PinnedVersion) -> String {
    let repo = official_repository(kind);
    if version.is_digest() {
        format!("{repo}@{}", version.as_str())
    } else {
        format!("{repo}:{}", version.as_str())
    }
}

/// The port the server listens on inside the container.
pub fn container_port(kind: EngineKind) -> u16 {
    match kind {
        EngineKind::Postgres => 5432,
        EngineKind::Mysql | EngineKind::Mariadb => 3306,
        EngineKind::Redis => 6379,
    }
}

/// Where the official image keeps its data; dbtwin mounts its volume or tmpfs there, so the
/// image's own `VOLUME` never creates an anonymous volume.
pub fn data_dir(kind: EngineKind, version: &PinnedVersion) -> &'static str {
    match kind {
        // From 18 on, the official image keeps PGDATA in a versioned directory under
        // /var/lib/postgresql and declares that whole directory as its volume.
        EngineKind::Postgres if version.major().is_some_and(|m| m >= 18) => "/var/lib/postgresql",
        EngineKind::Postgres => "/var/lib/postgresql/data",
        EngineKind::Mysql | EngineKind::Mariadb => "/var/lib/mysql",
        EngineKind::Redis => "/data",
    }
}

/// The environment the official image expects, plus dbtwin's own read-back variables.
pub fn container_env(kind: EngineKind, creds: &Credentials) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = match kind {
        EngineKind::Postgres => vec![
            ("POSTGRES_PASSWORD".into(), creds.admin_password.clone()),
            ("POSTGRES_DB".into(), creds.database.clone()),
        ],
        EngineKind::Mariadb => vec![
            ("MARIADB_ROOT_PASSWORD".into(), creds.admin_password.clone()),
            ("MARIADB_DATABASE".into(), creds.database.clone()),
        ],
        EngineKind::Mysql => vec![
            ("MYSQL_ROOT_PASSWORD".into(), creds.admin_password.clone()),
            ("MYSQL_DATABASE".into(), creds.database.clone()),
        ],
        EngineKind::Redis => vec![],
    };
    env.extend([
        (ENV_ADMIN_PASSWORD.to_string(), creds.admin_password.clone()),
        (ENV_APP_USER.to_string(), creds.app_user.clone()),
        (ENV_APP_PASSWORD.to_string(), creds.app_password.clone()),
        (ENV_DATABASE.to_string(), creds.database.clone()),
    ]);
    env
}

/// Arguments for the image's entrypoint. They all start with `-`, which every official entrypoint
/// takes as "run the server with these flags", so the image's own server command is kept.
/// Throwaway tuning comes first so the profile's `settings` can override any of it.
pub fn server_args(kind: EngineKind, db: &Database) -> Vec<String> {
    let throwaway = db.durability == Durability::Throwaway;
    match kind {
        EngineKind::Postgres => postgres::server_args(throwaway, &db.settings),
        EngineKind::Mysql | EngineKind::Mariadb => {
            mysql::server_args(kind, throwaway, &db.settings)
        }
        EngineKind::Redis => redis::server_args(throwaway, &db.settings, db.role.grants),
    }
}

/// An entrypoint to use instead of the image's own, where the engine needs one (Redis: to keep
/// its passwords out of the command line).
pub fn entrypoint(kind: EngineKind) -> Option<Vec<String>> {
    (kind == EngineKind::Redis).then(redis::entrypoint)
}

/// Why one readiness probe failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProbeError {
    pub message: String,
    /// `false` for failures that will not pass by waiting (wrong password, unknown database).
    pub retryable: bool,
}

impl ProbeError {
    pub fn retry(message: impl Into<String>) -> Self {
        ProbeError { message: message.into(), retryable: true }
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        ProbeError { message: message.into(), retryable: false }
    }
}

/// One readiness probe: connect through the published port as the admin, run a real query, and
/// return the server's version. The caller owns the deadline and the backoff.
pub async fn probe(
    kind: EngineKind,
    at: &Endpoint,
    creds: &Credentials,
) -> Result<String, ProbeError> {
    let attempt = async {
        match kind {
            EngineKind::Postgres => postgres::probe(at, creds).await,
            EngineKind::Mysql | EngineKind::Mariadb => mysql::probe(at, creds).await,
            EngineKind::Redis => redis::probe(at, creds).await,
        }
    };
    match tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(ProbeError::retry("no answer within 5s")),
    }
}

/// A failure talking to a database: connecting, configuring it, reading or changing it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    pub message: String,
    /// True when the server could not be reached at all (as opposed to refusing a statement).
    pub unreachable: bool,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl EngineError {
    pub fn new(message: impl Into<String>) -> Self {
        EngineError { message: message.into(), unreachable: false, source: None }
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Marks the failure as "could not connect".
    pub fn unreachable(mut self) -> Self {
        self.unreachable = true;
        self
    }
}

/// Gives the application its own non-superuser role with the profile's grants, and creates the
/// profile's extensions. Idempotent: running it on a configured database changes nothing.
pub async fn configure(
    kind: EngineKind,
    at: &Endpoint,
    creds: &Credentials,
    db: &Database,
) -> Result<(), EngineError> {
    match kind {
        EngineKind::Postgres => {
            postgres::configure(at, creds, db.role.grants, &db.extensions).await
        }
        EngineKind::Mysql | EngineKind::Mariadb => {
            mysql::configure(at, creds, db.role.grants).await
        }
        // Redis gets its application user from its startup arguments (`--user`), so the ACL
        // survives a restart without an ACL file.
        EngineKind::Redis => Ok(()),
    }
}

/// A connection URL. Passwords are alphanumeric, so no escaping is needed, but user names and
/// hosts are checked anyway.
pub fn url(kind: EngineKind, at: &Endpoint, user: &str, password: &str, database: &str) -> String {
    let scheme = match kind {
        EngineKind::Postgres => "postgres",
        EngineKind::Mysql | EngineKind::Mariadb => "mysql",
        EngineKind::Redis => "redis",
    };
    let host = if at.host.contains(':') { format!("[{}]", at.host) } else { at.host.clone() };
    format!(
        "{scheme}://{}:{}@{host}:{}/{}",
        percent_encode(user),
        percent_encode(password),
        at.port,
        percent_encode(database)
    )
}

/// The URL the application uses: its own role.
pub fn app_url(kind: EngineKind, at: &Endpoint, creds: &Credentials) -> String {
    url(kind, at, &creds.app_user, &creds.app_password, &creds.database)
}

/// The URL dbtwin uses for its own work.
pub fn admin_url(kind: EngineKind, at: &Endpoint, creds: &Credentials) -> String {
    url(kind, at, &creds.admin_user, &creds.admin_password, &creds.database)
}

pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The URL with its password replaced, for anything a person or a log may see.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The last `@` ends the userinfo: a password may hold an unescaped `@`.
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
        None => url.to_string(),
    }
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, Howard Hinnant's
/// algorithm), so history timestamps read the same from every engine without a date crate.
pub(crate) fn utc_timestamp(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The engine's own client, run inside the container, with the password passed through the
/// environment rather than the command line.
pub fn shell_command(
    kind: EngineKind,
    creds: &Credentials,
    admin: bool,
) -> (Vec<String>, Vec<(String, String)>) {
    let (user, password) = if admin {
        (creds.admin_user.as_str(), creds.admin_password.as_str())
    } else {
        (creds.app_user.as_str(), creds.app_password.as_str())
    };
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match kind {
        EngineKind::Postgres => (
            s(&["psql", "-h", "127.0.0.1", "-U", user, "-d", &creds.database]),
            vec![("PGPASSWORD".into(), password.into())],
        ),
        EngineKind::Mariadb => (
            s(&["mariadb", "-h", "127.0.0.1", "-u", user, &creds.database]),
            vec![("MYSQL_PWD".into(), password.into())],
        ),
        EngineKind::Mysql => (
            s(&["mysql", "-h", "127.0.0.1", "-u", user, &creds.database]),
            vec![("MYSQL_PWD".into(), password.into())],
        ),
        EngineKind::Redis => {
            (s(&["redis-cli", "--user", user]), vec![("REDISCLI_AUTH".into(), password.into())])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_fresh_and_url_safe() {
        let (a, b) = (generate_password(), generate_password());
        assert_ne!(a, b);
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_795_651_199), "2026-11-25T23:59:59Z");
    }

    #[test]
    fn urls_are_built_and_redacted() {
        let at = Endpoint { host: "127.0.0.1".into(), port: 5433 };
        let u = url(EngineKind::Postgres, &at, "app", "s3cret", "accounts");
        assert_eq!(u, "postgres://app:s3cret@127.0.0.1:5433/accounts");
        assert_eq!(redact_url(&u), "postgres://app:****@127.0.0.1:5433/accounts");
        let v6 = Endpoint { host: "::1".into(), port: 6379 };
        assert_eq!(url(EngineKind::Redis, &v6, "app", "p", "0"), "redis://app:p@[::1]:6379/0");
        assert_eq!(
            url(EngineKind::Mariadb, &at, "a b", "p@", "d"),
            "mysql://a%20b:p%40@127.0.0.1:5433/d"
        );
    }
}
