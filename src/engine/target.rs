//! A database to connect to: one dbtwin started (admin credentials read back from its container),
//! or one named by a URL (STAGE, PROD) for `status --url` and `diff`. URLs are parsed here rather
//! than by each driver so that every engine honours the same things the same way: TLS modes
//! (PostgreSQL `sslmode`, MySQL `ssl-mode`, `rediss://`), bounded connect and statement timeouts,
//! a password taken from the environment when the URL has none, and a display form that never
//! shows a password.

use std::path::PathBuf;
use std::time::Duration;

use super::{Credentials, Endpoint};
use crate::profile::EngineKind;

/// How long connecting to a URL may take unless the URL says otherwise (`connect_timeout=`).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one catalog query may run on a server dbtwin does not own.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// TLS, from weakest to strictest. The names follow libpq's `sslmode`; MySQL's `ssl-mode` values
/// map onto them (`PREFERRED` → prefer, `REQUIRED` → require, `VERIFY_CA`, `VERIFY_IDENTITY` →
/// verify-full). As in libpq, `require` encrypts without checking the certificate; `verify-ca`
/// checks the chain; `verify-full` checks the chain and the host name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    fn parse_postgres(value: &str) -> Option<TlsMode> {
        Some(match value {
            "disable" => TlsMode::Disable,
            // libpq's `allow` falls back to TLS when plain is refused; preferring TLS protects
            // at least as much.
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            _ => return None,
        })
    }

    fn parse_mysql(value: &str) -> Option<TlsMode> {
        Some(match value.to_ascii_uppercase().as_str() {
            "DISABLED" => TlsMode::Disable,
            "PREFERRED" => TlsMode::Prefer,
            "REQUIRED" => TlsMode::Require,
            "VERIFY_CA" => TlsMode::VerifyCa,
            "VERIFY_IDENTITY" => TlsMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn verifies(self) -> bool {
        self >= TlsMode::VerifyCa
    }
}

/// Where and how to connect.
#[derive(Clone)]
pub struct Target {
    /// `Mysql` stands for both MySQL and MariaDB when read from a URL: they speak one protocol and
    /// the server's version says which it is.
    pub kind: EngineKind,
    pub endpoint: Endpoint,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
    pub tls: TlsMode,
    /// A PEM file of CA certificates to trust instead of the system's (`sslrootcert`, `ssl-ca`).
    pub root_cert: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    /// Only read: the session is put in read-only mode before any query. Always true for URLs.
    pub read_only: bool,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl Target {
    /// The admin connection to a database dbtwin started and owns.
    pub fn admin(kind: EngineKind, at: &Endpoint, creds: &Credentials) -> Target {
        Target {
            kind,
            endpoint: at.clone(),
            user: creds.admin_user.clone(),
            password: Some(creds.admin_password.clone()),
            database: creds.database.clone(),
            tls: TlsMode::Disable,
            root_cert: None,
            connect_timeout: super::PROBE_TIMEOUT,
            statement_timeout: Duration::from_secs(600),
            read_only: false,
        }
    }

    /// Parses a database URL: `postgres://` / `postgresql://`, `mysql://` / `mariadb://`,
    /// `redis://` / `rediss://`. A missing password is taken from the variable the engine's own
    /// client reads (`PGPASSWORD`, `MYSQL_PWD`, `REDISCLI_AUTH`), so it never has to be typed on a
    /// command line.
    pub fn from_url(url: &str) -> Result<Target, UrlError> {
        // Messages show the URL without its userinfo password and without its query string
        // (libpq's `?password=` lives there); only the offending key is named.
        let shown = shown(url);
        let bad = |what: &str| UrlError(format!("invalid database url {shown}: {what}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let (kind, default_port, password_var) = match scheme {
            "postgres" | "postgresql" => (EngineKind::Postgres, 5432, "PGPASSWORD"),
            "mysql" | "mariadb" => (EngineKind::Mysql, 3306, "MYSQL_PWD"),
            "redis" | "rediss" => (EngineKind::Redis, 6379, "REDISCLI_AUTH"),
            other => {
                return Err(bad(&format!(
                    "unknown scheme {other}: (expected postgres, mysql, mariadb or redis)"
                )));
            }
        };
        // The last `@` ends the userinfo: a generated password may hold an unescaped `@`, `/`,
        // `?` or `#`, so the userinfo is cut off before the path, query or fragment are looked for.
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, rest),
        };
        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (rest, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (hostport, path) = match rest.split_once('/') {
            Some((a, p)) => (a, p),
            None => (rest, ""),
        };
        let (user, mut password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (decode(user), Some(decode(pass))),
                None => (decode(u), None),
            },
            None => (String::new(), None),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| bad("bad host or port"))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = port.unwrap_or(default_port);
        let database = decode(path);
        let mut user = if user.is_empty() {
            match kind {
                EngineKind::Postgres => "postgres".to_string(),
                EngineKind::Redis => "default".to_string(),
                _ => "root".to_string(),
            }
        } else {
            user
        };
        let mut target = Target {
            kind,
            endpoint: Endpoint { host, port },
            user: String::new(),
            password: None,
            database: match kind {
                EngineKind::Redis if database.is_empty() => "0".to_string(),
                EngineKind::Postgres if database.is_empty() => "postgres".to_string(),
                _ => database,
            },
            // What each engine's own client does without a setting: libpq and the mysql client
            // prefer TLS, redis:// is plain and rediss:// verifies.
            tls: match scheme {
                "rediss" => TlsMode::VerifyFull,
                "redis" => TlsMode::Disable,
                _ => TlsMode::Prefer,
            },
            root_cert: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            read_only: true,
        };
        if target.database.is_empty() {
            return Err(bad("no database name in the path"));
        }
        // The redis crate's own spelling: `rediss://host/0#insecure`.
        if kind == EngineKind::Redis && fragment == Some("insecure") {
            target.tls = TlsMode::Require;
        }
        let mut system_roots = false;
        let explicit_mode = query
            .is_some_and(|q| q.split('&').any(|p| p.to_ascii_lowercase().starts_with("sslmode=")));
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = key.to_ascii_lowercase().replace('_', "-");
            let value = decode(value);
            let seconds = |value: &str| {
                value
                    .parse::<u64>()
                    .map(|s| Duration::from_secs(s.max(1)))
                    .map_err(|_| bad(&format!("{key} (expected whole seconds)")))
            };
            match (kind, key.as_str()) {
                (EngineKind::Postgres, "sslmode") => {
                    target.tls = TlsMode::parse_postgres(&value).ok_or_else(|| {
                        bad(&format!(
                            "sslmode={value} (expected disable, allow, prefer, require, verify-ca \
                             or verify-full)"
                        ))
                    })?;
                }
                (EngineKind::Mysql, "ssl-mode" | "sslmode") => {
                    target.tls = TlsMode::parse_mysql(&value).ok_or_else(|| {
                        bad(&format!(
                            "{key}={value} (expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or \
                             VERIFY_IDENTITY)"
                        ))
                    })?;
                }
                // libpq 16: the system's roots, and verify-full unless sslmode says otherwise.
                (EngineKind::Postgres, "sslrootcert") if value == "system" => {
                    system_roots = true;
                }
                (EngineKind::Postgres, "sslrootcert") | (EngineKind::Mysql, "ssl-ca") => {
                    target.root_cert = Some(PathBuf::from(value));
                }
                // libpq settings that change how, not whether, the connection is protected.
                (EngineKind::Postgres, "sslcompression" | "sslsni" | "sslnegotiation") => {}
                (EngineKind::Redis, "insecure") => target.tls = TlsMode::Require,
                (_, "connect-timeout") => target.connect_timeout = seconds(&value)?,
                (_, "statement-timeout") => target.statement_timeout = seconds(&value)?,
                (_, "password") => password = Some(value),
                (_, "user") => user = value,
                // A TLS setting this parser does not know (JDBC's `sslMode`, Go's `tls=`,
                // `sslcert` client certificates…) must not be ignored: the connection would go
                // out less protected than its author meant.
                (_, k) if k.contains("ssl") || k.contains("tls") => {
                    return Err(bad(&format!(
                        "`{key}` is not supported here (TLS is set with {})",
                        match kind {
                            EngineKind::Postgres => "sslmode= and sslrootcert=",
                            EngineKind::Redis => "rediss:// and #insecure or ?insecure",
                            _ => "ssl-mode= and ssl-ca=",
                        }
                    )));
                }
                // Parameters for the application's own driver (application_name, pool sizes…)
                // mean nothing to a read-only inspection.
                _ => {}
            }
        }
        if target.root_cert.is_some() && target.tls < TlsMode::VerifyCa {
            target.tls = TlsMode::VerifyCa;
        }
        if system_roots && !explicit_mode {
            target.tls = TlsMode::VerifyFull;
        }
        target.user = user;
        target.password = password.or_else(|| std::env::var(password_var).ok());
        Ok(target)
    }

    /// The URL without its password: safe for tables, logs and JSON.
    pub fn display(&self) -> String {
        let scheme = match (self.kind, self.tls) {
            (EngineKind::Postgres, _) => "postgres",
            (EngineKind::Redis, TlsMode::Disable | TlsMode::Prefer) => "redis",
            (EngineKind::Redis, _) => "rediss",
            _ => "mysql",
        };
        let host = if self.endpoint.host.contains(':') {
            format!("[{}]", self.endpoint.host)
        } else {
            self.endpoint.host.clone()
        };
        format!("{scheme}://{}@{host}:{}/{}", self.user, self.endpoint.port, self.database)
    }

    pub fn password(&self) -> &str {
        self.password.as_deref().unwrap_or("")
    }
}

/// A URL that cannot be used: a usage error, whose message never holds the password.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(String);

/// The URL for messages: no password (the last `@` ends the userinfo) and no query string.
fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a url)".to_string();
    };
    // The userinfo ends at the last `@`, whatever it holds; only its user name is shown.
    let (user, rest) = match rest.rsplit_once('@') {
        Some((userinfo, rest)) => {
            (format!("{}@", userinfo.split(':').next().unwrap_or_default()), rest)
        }
        None => (String::new(), rest),
    };
    let base = rest.split(['?', '#']).next().unwrap_or_default();
    format!("{scheme}://{user}{base}")
}

fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((host, port)) => Some((decode(host), Some(port.parse().ok()?))),
        None => Some((decode(s), None)),
    }
}

/// Percent-decoding for the parts of a URL (user names and passwords often hold `@` or `:`).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_parse_with_tls_and_timeouts() {
        let t = Target::from_url(
            "postgresql://reader:p%40ss@db.stage.internal:6432/accounts?sslmode=verify-full&connect_timeout=3&application_name=x",
        )
        .unwrap();
        assert_eq!(t.kind, EngineKind::Postgres);
        assert_eq!(t.endpoint, Endpoint { host: "db.stage.internal".into(), port: 6432 });
        assert_eq!((t.user.as_str(), t.password()), ("reader", "p@ss"));
        assert_eq!(t.database, "accounts");
        assert_eq!(t.tls, TlsMode::VerifyFull);
        assert_eq!(t.connect_timeout, Duration::from_secs(3));
        assert!(t.read_only);
        assert_eq!(t.display(), "postgres://reader@db.stage.internal:6432/accounts");
    }

    #[test]
    fn mysql_urls_take_ssl_mode_and_default_port() {
        let t = Target::from_url("mysql://app:x@[::1]/shop?ssl-mode=REQUIRED").unwrap();
        assert_eq!(t.kind, EngineKind::Mysql);
        assert_eq!(t.endpoint, Endpoint { host: "::1".into(), port: 3306 });
        assert_eq!(t.tls, TlsMode::Require);
        assert_eq!(t.display(), "mysql://app@[::1]:3306/shop");
        let ca = Target::from_url("mariadb://app:x@h/shop?ssl-ca=/etc/ca.pem").unwrap();
        assert_eq!(ca.tls, TlsMode::VerifyCa);
        // As the mysql client: TLS when the server offers it.
        assert_eq!(Target::from_url("mysql://app:x@h/shop").unwrap().tls, TlsMode::Prefer);
        // JDBC's spelling of the key works too.
        let jdbc = Target::from_url("mysql://app:x@h/shop?sslMode=VERIFY_IDENTITY").unwrap();
        assert_eq!(jdbc.tls, TlsMode::VerifyFull);
    }

    #[test]
    fn bad_urls_are_refused_without_showing_the_password() {
        for (url, expected) in [
            ("mongodb://u:secret@h/db", "unknown scheme mongodb"),
            ("postgres://u:secret@h/db?sslmode=maybe", "sslmode=maybe"),
            ("postgres://u:secret@h:99999/db", "bad host or port"),
            ("mysql://u:secret@h", "no database name"),
            ("no-scheme", "no scheme"),
            ("postgres://u:top@secret@h/db?sslmode=bogus", "sslmode=bogus"),
            ("postgres://u@h/db?password=secret&sslmode=bogus", "postgres://u@h/db"),
            ("postgres://u:pa/ss/secret@127.0.0.1:99999/db", "postgres://u@127.0.0.1:99999/db"),
            ("postgres://u:p#secret@h/db?sslmode=bogus", "postgres://u@h/db"),
            ("postgres://u:p?secret@h/db?sslmode=bogus", "postgres://u@h/db"),
            ("mysql://u:secret@h/db?useSSL=true", "`usessl` is not supported"),
            ("postgres://u:secret@h/db?sslcert=/c.pem", "`sslcert` is not supported"),
            ("mysql://u:secret@h/db?tls=true", "`tls` is not supported"),
        ] {
            let err = Target::from_url(url).unwrap_err().to_string();
            assert!(err.contains(expected), "{url}: {err}");
            assert!(!err.contains("secret"), "{url}: {err}");
        }
    }

    #[test]
    fn a_password_may_hold_an_at_sign_or_come_as_a_parameter() {
        let t = Target::from_url("postgres://reader:top@secret@db:5432/x").unwrap();
        assert_eq!(
            (t.user.as_str(), t.password(), t.endpoint.host.as_str()),
            ("reader", "top@secret", "db")
        );
        let t = Target::from_url("postgres://db/x?user=reader&password=p%26w").unwrap();
        assert_eq!((t.user.as_str(), t.password()), ("reader", "p&w"));
    }

    #[test]
    fn libpq_spellings_are_understood() {
        let t = Target::from_url("postgres://u:p@h/db?sslrootcert=system&sslsni=1").unwrap();
        assert_eq!((t.tls, t.root_cert.clone()), (TlsMode::VerifyFull, None));
        let t = Target::from_url("postgres://u:p@h/db?sslmode=require&sslrootcert=system").unwrap();
        assert_eq!(t.tls, TlsMode::Require);
        let t = Target::from_url("postgres://u:p/q?r#s@h/db").unwrap();
        assert_eq!((t.password(), t.endpoint.host.as_str()), ("p/q?r#s", "h"));
        let t = Target::from_url("rediss://h/0#insecure").unwrap();
        assert_eq!((t.tls, t.database.as_str()), (TlsMode::Require, "0"));
    }

    #[test]
    fn redis_defaults() {
        let t = Target::from_url("rediss://h").unwrap();
        assert_eq!((t.database.as_str(), t.user.as_str()), ("0", "default"));
        assert_eq!(t.tls, TlsMode::VerifyFull);
    }
}
