//! MySQL and MariaDB through mysql_async: readiness, the application's user and grants.
//!
//! Both official images initialise with a temporary server started with `--skip-networking` and
//! then restart the real one, so only the final server answers over TCP.

mod catalog;
mod indexes;
mod load;
mod source;
mod triggers;

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

use super::session::{ApplyError, HistoryRow, NewHistoryRow};
use super::target::{Target, TlsMode};
use super::{Credentials, Endpoint, EngineError, ProbeError};
use crate::profile::{EngineKind, Grants};
use crate::schema::Catalog;

pub(super) fn server_args(
    kind: EngineKind,
    throwaway: bool,
    settings: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    if throwaway {
        args.extend(
            [
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=OFF",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
            ]
            .map(String::from),
        );
        if kind == EngineKind::Mysql {
            // MySQL writes a binary log by default (MariaDB does not).
            args.extend(["--skip-log-bin", "--sync-binlog=0"].map(String::from));
        }
    }
    for (k, v) in settings {
        args.push(format!("--{}={v}", k.replace('_', "-")));
    }
    args
}

/// The admin's connection options: dbtwin talks to the server only as the admin.
fn admin_opts(at: &Endpoint, creds: &Credentials) -> OptsBuilder {
    OptsBuilder::default()
        .ip_or_hostname(at.host.clone())
        .tcp_port(at.port)
        .user(Some(&creds.admin_user))
        .pass(Some(&creds.admin_password))
        .db_name(Some(&creds.database))
        .prefer_socket(false)
}

fn classify(e: mysql_async::Error) -> ProbeError {
    match &e {
        // 1045: access denied; 1049: unknown database. Waiting will not fix either.
        mysql_async::Error::Server(s) if s.code == 1045 => ProbeError::fatal(format!(
            "the server refused the admin password ({}); was the data directory created by another \
             environment?",
            s.message
        )),
        mysql_async::Error::Server(s) if s.code == 1049 => ProbeError::fatal(s.message.clone()),
        _ => ProbeError::retry(e.to_string()),
    }
}

pub(super) async fn probe(at: &Endpoint, creds: &Credentials) -> Result<String, ProbeError> {
    let mut conn = Conn::new(admin_opts(at, creds)).await.map_err(classify)?;
    let version: Option<String> = conn.query_first("SELECT VERSION()").await.map_err(classify)?;
    let _ = conn.disconnect().await;
    version.ok_or_else(|| ProbeError::retry("the server returned no version"))
}

/// Quotes a string literal; user names and passwords are validated or generated, but quoting keeps
/// that an implementation detail.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

fn grant_statement(creds: &Credentials, grants: Grants) -> String {
    let what = match grants {
        Grants::Owner => "ALL PRIVILEGES",
        Grants::ReadWrite => {
            "SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES, LOCK TABLES"
        }
        Grants::ReadOnly => "SELECT, SHOW VIEW",
    };
    format!("GRANT {what} ON {}.* TO {}@'%'", ident(&creds.database), literal(&creds.app_user))
}

pub(super) async fn configure(
    at: &Endpoint,
    creds: &Credentials,
    grants: Grants,
) -> Result<(), EngineError> {
    let mut conn = Conn::new(admin_opts(at, creds)).await.map_err(|e| {
        EngineError::new(format!("failed to connect to database {} as admin", creds.database))
            .with_source(e)
    })?;
    let user = format!("{}@'%'", literal(&creds.app_user));
    let password = literal(&creds.app_password);
    let statements = [
        format!("CREATE DATABASE IF NOT EXISTS {}", ident(&creds.database)),
        format!("CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {password}"),
        format!("ALTER USER {user} IDENTIFIED BY {password}"),
        grant_statement(creds, grants),
    ];
    for statement in statements {
        conn.query_drop(&statement).await.map_err(|e| {
            EngineError::new(format!(
                "failed to configure user {} on database {}",
                creds.app_user, creds.database
            ))
            .with_source(e)
        })?;
    }
    let _ = conn.disconnect().await;
    Ok(())
}

/// A connection for `migrate`, `status` and `diff`.
pub(super) struct Session {
    conn: Conn,
    database: String,
    /// dbtwin's tables, qualified with the database: a migration's `USE other` must not lose
    /// them.
    history: String,
    state: String,
}

fn query_error(what: &str, e: mysql_async::Error) -> EngineError {
    EngineError::new(what.to_string()).with_source(e)
}

/// The server's message, and the line it names: MySQL and MariaDB end syntax errors with
/// "… near '…' at line N", counted from the start of the statement.
fn server_error(e: &mysql_async::Error) -> (String, Option<usize>) {
    match e {
        mysql_async::Error::Server(s) => {
            let line = s
                .message
                .rsplit_once(" at line ")
                .and_then(|(_, n)| n.trim().parse::<usize>().ok());
            (format!("{} (error {}, sqlstate {})", s.message, s.code, s.state), line)
        }
        other => (other.to_string(), None),
    }
}

/// A value as text, whatever type the server sent it as.
fn text(value: mysql_async::Value) -> Option<String> {
    use mysql_async::Value;
    match value {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        Value::Date(y, mo, d, h, mi, s, us) => Some(if us == 0 {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        } else {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
        }),
        Value::Time(neg, d, h, mi, s, _) => {
            Some(format!("{}{}:{mi:02}:{s:02}", if neg { "-" } else { "" }, d * 24 + h as u32))
        }
    }
}

impl Session {
    pub(super) async fn connect(target: &Target) -> Result<Session, EngineError> {
        let base = OptsBuilder::default()
            .ip_or_hostname(target.endpoint.host.clone())
            .tcp_port(target.endpoint.port)
            .user(Some(&target.user))
            .pass(target.password.as_deref())
            .db_name(Some(&target.database))
            .prefer_socket(false);
        let failed = |e: mysql_async::Error| {
            // The server answered (a wrong password, a missing database): it is reachable.
            let answered = matches!(e, mysql_async::Error::Server(_));
            let error = EngineError::new(format!("failed to connect to {}", target.display()))
                .with_source(e);
            if answered { error } else { error.unreachable() }
        };
        let mut conn = match target.tls {
            TlsMode::Disable => Conn::new(base).await.map_err(failed)?,
            mode => {
                let mut ssl = mysql_async::SslOpts::default();
                if !mode.verifies() {
                    ssl = ssl.with_danger_accept_invalid_certs(true);
                }
                if mode == TlsMode::VerifyCa {
                    ssl = ssl.with_danger_skip_domain_validation(true);
                }
                if let Some(ca) = &target.root_cert {
                    ssl = ssl.with_root_certs(vec![ca.clone().into()]);
                }
                match Conn::new(base.clone().ssl_opts(Some(ssl))).await {
                    Ok(conn) => conn,
                    // PREFERRED: a server without TLS is accepted in the clear, as the mysql
                    // client does.
                    Err(mysql_async::Error::Driver(
                        mysql_async::DriverError::NoClientSslFlagFromServer,
                    )) if mode == TlsMode::Prefer => Conn::new(base).await.map_err(failed)?,
                    Err(e) => return Err(failed(e)),
                }
            }
        };
        if target.read_only {
            let version: Option<String> = conn
                .query_first("SELECT VERSION()")
                .await
                .map_err(|e| query_error("failed to read the server version", e))?;
            let secs = target.statement_timeout.as_secs().max(1);
            // MariaDB bounds every statement (seconds); MySQL bounds SELECTs (milliseconds).
            let timeout = if version.unwrap_or_default().contains("MariaDB") {
                format!("SET SESSION max_statement_time = {secs}")
            } else {
                format!("SET SESSION max_execution_time = {}", secs * 1000)
            };
            for statement in ["SET SESSION TRANSACTION READ ONLY", timeout.as_str()] {
                conn.query_drop(statement)
                    .await
                    .map_err(|e| query_error("failed to make the session read-only", e))?;
            }
        }
        let db = ident(&target.database);
        Ok(Session {
            conn,
            database: target.database.clone(),
            history: format!("{db}.dbtwin_schema_history"),
            state: format!("{db}.dbtwin_state"),
        })
    }

    pub(super) async fn close(self) {
        let _ = self.conn.disconnect().await;
    }

    pub(super) async fn server_version(&mut self) -> Result<String, EngineError> {
        let version: Option<String> = self
            .conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(|e| query_error("failed to read the server version", e))?;
        let version = version.unwrap_or_default();
        // "11.8.3-MariaDB-ubu2404" → "11.8.3-MariaDB"; "9.4.0" stays.
        Ok(match version.find("-MariaDB") {
            Some(i) => version[..i + "-MariaDB".len()].to_string(),
            None => version.split('-').next().unwrap_or_default().to_string(),
        })
    }

    pub(super) async fn catalog(&mut self) -> Result<Catalog, EngineError> {
        catalog::read_catalog(&mut self.conn, &self.database)
            .await
            .map_err(|e| query_error("failed to read the catalog", e))
    }

    pub(super) async fn tool_tables(&mut self) -> Result<Vec<(String, Vec<String>)>, EngineError> {
        let names: Vec<String> =
            crate::schema::TOOL_TABLES.iter().map(|t| literal(t)).collect::<Vec<_>>();
        let sql = format!(
            "SELECT table_name, GROUP_CONCAT(LOWER(column_name) ORDER BY ordinal_position SEPARATOR ',')
               FROM information_schema.columns
              WHERE table_schema = DATABASE() AND LOWER(table_name) IN ({})
              GROUP BY table_name ORDER BY table_name",
            names.join(", ")
        );
        let rows = self.query_text(&sql).await.map_err(|e| {
            EngineError::new("failed to list migration tools' tables").with_source(e)
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|mut r| {
                let columns = r.pop()??;
                let table = r.pop()??;
                Some((table, columns.split(',').map(str::to_string).collect()))
            })
            .collect())
    }

    pub(super) async fn query_text(
        &mut self,
        sql: &str,
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        let rows: Vec<mysql_async::Row> = self.conn.query(sql).await.map_err(|e| {
            EngineError::new(format!("query failed: {}", server_error(&e).0)).with_source(e)
        })?;
        Ok(rows.into_iter().map(|row| row.unwrap().into_iter().map(text).collect()).collect())
    }

    async fn has_table(&mut self, name: &str) -> Result<bool, EngineError> {
        let found: Option<i64> = self
            .conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.tables
                  WHERE table_schema = ? AND table_name = ?",
                (&self.database, name),
            )
            .await
            .map_err(|e| query_error(&format!("failed to look for {name}"), e))?;
        Ok(found.unwrap_or(0) > 0)
    }

    pub(super) async fn history(&mut self) -> Result<Option<Vec<HistoryRow>>, EngineError> {
        if !self.has_table("dbtwin_schema_history").await? {
            return Ok(None);
        }
        // UNIX_TIMESTAMP reads a TIMESTAMP as UTC whatever the session's time zone, which the
        // migrations' own NOW() must keep.
        let rows = self
            .query_text(&format!(
                "SELECT installed_rank, version, description, script, checksum,
                        UNIX_TIMESTAMP(applied_at), duration_ms,
                        success, statements_applied, statements_total
                   FROM {} ORDER BY installed_rank",
                self.history
            ))
            .await?;
        let int = |v: &Option<String>| v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
        Ok(Some(
            rows.iter()
                .map(|r| HistoryRow {
                    rank: int(&r[0]),
                    version: r[1].clone(),
                    description: r[2].clone().unwrap_or_default(),
                    script: r[3].clone().unwrap_or_default(),
                    checksum: r[4].clone().unwrap_or_default(),
                    applied_at: super::utc_timestamp(int(&r[5])),
                    duration_ms: int(&r[6]),
                    success: int(&r[7]) != 0,
                    statements_applied: int(&r[8]),
                    statements_total: int(&r[9]),
                })
                .collect(),
        ))
    }

    pub(super) async fn ensure_history(&mut self) -> Result<(), EngineError> {
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {} (
                installed_rank     INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                version            VARCHAR(50),
                description        VARCHAR(200) NOT NULL,
                script             VARCHAR(1000) NOT NULL,
                checksum           VARCHAR(64) NOT NULL,
                applied_at         TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                duration_ms        INT NOT NULL,
                success            BOOL NOT NULL,
                statements_applied INT NOT NULL,
                statements_total   INT NOT NULL
             ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4",
            self.history
        );
        self.conn
            .query_drop(create)
            .await
            .map_err(|e| query_error("failed to create dbtwin_schema_history", e))
    }

    async fn record(
        &mut self,
        record: &NewHistoryRow,
        duration_ms: i64,
        success: bool,
        applied: usize,
        total: usize,
    ) -> Result<(), mysql_async::Error> {
        self.conn
            .exec_drop(
                format!(
                    "INSERT INTO {}
                        (version, description, script, checksum, duration_ms, success,
                         statements_applied, statements_total)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    self.history
                ),
                (
                    &record.version,
                    &record.description,
                    &record.script,
                    &record.checksum,
                    duration_ms,
                    success,
                    applied as i64,
                    total as i64,
                ),
            )
            .await
    }

    /// One statement at a time: DDL commits implicitly on MySQL and MariaDB, so a transaction
    /// could not undo it. A failure is recorded with how many statements ran and stay applied.
    pub(super) async fn apply(
        &mut self,
        statements: &[String],
        record: &NewHistoryRow,
    ) -> Result<(), ApplyError> {
        let result = self.apply_each(statements, record).await;
        // Nothing a file set may reach the next one: `SET FOREIGN_KEY_CHECKS=0`, `sql_mode`, a
        // `USE other`. COM_RESET_CONNECTION clears the session; the database is chosen again.
        let _ = self.conn.reset().await;
        let _ = self.conn.query_drop(format!("USE {}", ident(&self.database))).await;
        result
    }

    async fn apply_each(
        &mut self,
        statements: &[String],
        record: &NewHistoryRow,
    ) -> Result<(), ApplyError> {
        let started = std::time::Instant::now();
        for (index, statement) in statements.iter().enumerate() {
            if let Err(e) = self.conn.query_drop(statement).await {
                let (message, line_in_statement) = server_error(&e);
                let ms = started.elapsed().as_millis() as i64;
                if let Err(re) = self.record(record, ms, false, index, statements.len()).await {
                    // The statement's own failure is what the user must see first.
                    return Err(ApplyError::Engine(query_error(
                        &format!(
                            "statement {} failed ({message}), and recording the failure failed too",
                            index + 1
                        ),
                        re,
                    )));
                }
                return Err(ApplyError::Statement {
                    index,
                    message,
                    line_in_statement,
                    left_applied: index,
                    rolled_back: false,
                });
            }
        }
        // A file that opened a transaction and never committed it: its DML would be lost with
        // the session, and the history row would ride inside it. Roll back and say so.
        let open: Option<i64> =
            self.conn.query_first("SELECT @@in_transaction").await.unwrap_or(None);
        if open == Some(1) {
            let _ = self.conn.query_drop("ROLLBACK").await;
            let begin = statements
                .iter()
                .rposition(|s| {
                    let s = s.trim_start().to_ascii_lowercase();
                    s.starts_with("begin") || s.starts_with("start transaction")
                })
                .unwrap_or(statements.len().saturating_sub(1));
            let ms = started.elapsed().as_millis() as i64;
            self.record(record, ms, false, begin, statements.len()).await.map_err(|e| {
                ApplyError::Engine(query_error("failed to record the failed migration", e))
            })?;
            return Err(ApplyError::left_open(begin));
        }
        let ms = started.elapsed().as_millis() as i64;
        self.record(record, ms, true, statements.len(), statements.len())
            .await
            .map_err(|e| ApplyError::Engine(query_error("failed to record the migration", e)))
    }

    pub(super) async fn repair_checksum(
        &mut self,
        rank: i64,
        checksum: &str,
    ) -> Result<(), EngineError> {
        self.conn
            .exec_drop(
                format!("UPDATE {} SET checksum = ? WHERE installed_rank = ?", self.history),
                (checksum, rank),
            )
            .await
            .map_err(|e| query_error("failed to repair a checksum", e))
    }

    pub(super) async fn delete_failed(&mut self) -> Result<u64, EngineError> {
        self.conn
            .query_drop(format!("DELETE FROM {} WHERE NOT success", self.history))
            .await
            .map_err(|e| query_error("failed to delete failed migrations", e))?;
        Ok(self.conn.affected_rows())
    }

    pub(super) async fn state(&mut self, key: &str) -> Result<Option<String>, EngineError> {
        if !self.has_table("dbtwin_state").await? {
            return Ok(None);
        }
        self.conn
            .exec_first(format!("SELECT value FROM {} WHERE name = ?", self.state), (key,))
            .await
            .map_err(|e| query_error("failed to read dbtwin_state", e))
    }

    pub(super) async fn set_state(&mut self, key: &str, value: &str) -> Result<(), EngineError> {
        // Made here rather than with the history: a database migrated by the team's own tool
        // gets this one small table, not an empty dbtwin history beside its tool's.
        self.conn
            .query_drop(format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    name       VARCHAR(100) NOT NULL PRIMARY KEY,
                    value      TEXT NOT NULL,
                    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
                 ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4",
                self.state
            ))
            .await
            .map_err(|e| query_error("failed to create dbtwin_state", e))?;
        self.conn
            .exec_drop(
                format!(
                    "INSERT INTO {} (name, value) VALUES (?, ?)
                     ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = CURRENT_TIMESTAMP",
                    self.state
                ),
                (key, value),
            )
            .await
            .map_err(|e| query_error("failed to write dbtwin_state", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_skips_its_binary_log_when_throwaway() {
        let none = BTreeMap::new();
        assert!(
            server_args(EngineKind::Mysql, true, &none).contains(&"--skip-log-bin".to_string())
        );
        assert!(
            !server_args(EngineKind::Mariadb, true, &none).contains(&"--skip-log-bin".to_string())
        );
        let settings = BTreeMap::from([("max_connections".to_string(), "500".to_string())]);
        assert_eq!(
            server_args(EngineKind::Mariadb, false, &settings),
            vec!["--max-connections=500"]
        );
    }
}
