//! PostgreSQL through tokio-postgres: readiness, the application's role and grants, extensions.
//!
//! The official image initialises a new data directory with a temporary server that listens on
//! no TCP port; only the final server answers through the published port. A probe that connects
//! from the host over TCP and runs a query therefore cannot be fooled by the init server.

mod catalog;
mod load;
mod source;

use std::collections::BTreeMap;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls};

use super::session::{ApplyError, HistoryRow, NewHistoryRow};
use super::target::{Target, TlsMode};
use super::{Credentials, Endpoint, EngineError, ProbeError};
use crate::profile::Grants;
use crate::schema::Catalog;

pub(super) fn server_args(throwaway: bool, settings: &BTreeMap<String, String>) -> Vec<String> {
    let mut args = Vec::new();
    if throwaway {
        for s in ["fsync=off", "synchronous_commit=off", "full_page_writes=off"] {
            args.extend(["-c".to_string(), s.to_string()]);
        }
    }
    for (k, v) in settings {
        args.extend(["-c".to_string(), format!("{k}={v}")]);
    }
    args
}

async fn connect_admin(
    at: &Endpoint,
    creds: &Credentials,
) -> Result<Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&at.host)
        .port(at.port)
        .user(&creds.admin_user)
        .password(&creds.admin_password)
        .dbname(&creds.database)
        .application_name("dbtwin")
        .connect_timeout(super::PROBE_TIMEOUT);
    let (client, connection) = config.connect(NoTls).await?;
    // The connection drives the socket; it ends when the client is dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn classify(e: tokio_postgres::Error) -> ProbeError {
    match e.code() {
        Some(c) if *c == SqlState::CANNOT_CONNECT_NOW => {
            ProbeError::retry("the server is starting up")
        }
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            ProbeError::fatal(format!(
                "the server refused the admin password ({e}); was the data directory created by \
                 another environment?"
            ))
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => ProbeError::fatal(e.to_string()),
        _ => {
            let mut msg = e.to_string();
            if let Some(source) = std::error::Error::source(&e) {
                msg = format!("{msg}: {source}");
            }
            ProbeError::retry(msg)
        }
    }
}

pub(super) async fn probe(at: &Endpoint, creds: &Credentials) -> Result<String, ProbeError> {
    let client = connect_admin(at, creds).await.map_err(classify)?;
    let row = client.query_one("SHOW server_version", &[]).await.map_err(classify)?;
    Ok(row.get::<_, String>(0))
}

/// Quotes an identifier for SQL.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes a string literal for SQL.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The statements that give the application role its grants on the database's public schema,
/// now and for tables the admin creates later (migrations run as the admin).
fn grant_statements(creds: &Credentials, grants: Grants) -> Vec<String> {
    let (role, db, admin) =
        (ident(&creds.app_user), ident(&creds.database), ident(&creds.admin_user));
    let defaults = |what: &str, on: &str| {
        format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {admin} IN SCHEMA public GRANT {what} ON {on} TO {role}"
        )
    };
    match grants {
        Grants::Owner => vec![
            format!("ALTER DATABASE {db} OWNER TO {role}"),
            format!("ALTER SCHEMA public OWNER TO {role}"),
            format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"),
            format!("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"),
            defaults("ALL", "TABLES"),
            defaults("ALL", "SEQUENCES"),
        ],
        Grants::ReadWrite => vec![
            format!("GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}"),
            format!("GRANT USAGE ON SCHEMA public TO {role}"),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
            ),
            format!("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}"),
            defaults("SELECT, INSERT, UPDATE, DELETE", "TABLES"),
            defaults("USAGE, SELECT, UPDATE", "SEQUENCES"),
        ],
        Grants::ReadOnly => vec![
            format!("GRANT CONNECT ON DATABASE {db} TO {role}"),
            format!("GRANT USAGE ON SCHEMA public TO {role}"),
            format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"),
            format!("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
            defaults("SELECT", "TABLES"),
            defaults("SELECT", "SEQUENCES"),
        ],
    }
}

pub(super) async fn configure(
    at: &Endpoint,
    creds: &Credentials,
    grants: Grants,
    extensions: &[String],
) -> Result<(), EngineError> {
    let client = connect_admin(at, creds).await.map_err(|e| {
        EngineError::new(format!("failed to connect to database {} as admin", creds.database))
            .with_source(e)
    })?;
    let role = &creds.app_user;
    let exists = client
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[role])
        .await
        .map_err(|e| EngineError::new(format!("failed to look up role {role}")).with_source(e))?
        .is_some();
    // NOSUPERUSER etc. are the defaults; spelled out because parity with production is the point.
    let verb = if exists { "ALTER" } else { "CREATE" };
    let create = format!(
        "{verb} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}",
        ident(role),
        literal(&creds.app_password)
    );
    client
        .batch_execute(&create)
        .await
        .map_err(|e| EngineError::new(format!("failed to create role {role}")).with_source(e))?;
    for ext in extensions {
        client
            .batch_execute(&format!("CREATE EXTENSION IF NOT EXISTS {}", ident(ext)))
            .await
            .map_err(|e| {
                EngineError::new(format!("failed to create extension {ext}")).with_source(e)
            })?;
    }
    for statement in grant_statements(creds, grants) {
        client.batch_execute(&statement).await.map_err(|e| {
            EngineError::new(format!("failed to grant privileges to role {role}")).with_source(e)
        })?;
    }
    Ok(())
}

/// A connection for `migrate`, `status` and `diff`.
pub(super) struct Session {
    client: Client,
    /// dbtwin's tables, qualified with the schema that was current at connect: a migration that
    /// changes `search_path` (a pg_dump baseline empties it) must not lose them.
    history: String,
    state: String,
}

fn query_error(what: &str, e: tokio_postgres::Error) -> EngineError {
    EngineError::new(what.to_string()).with_source(e)
}

/// The server's message with its detail and hint, which carry most of the useful part.
fn server_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut msg = db.message().to_string();
            if let Some(detail) = db.detail() {
                msg.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                msg.push_str(&format!("; hint: {hint}"));
            }
            msg
        }
        None => {
            let mut msg = e.to_string();
            if let Some(source) = std::error::Error::source(e) {
                msg = format!("{msg}: {source}");
            }
            msg
        }
    }
}

/// The 1-based line inside a statement that the server's error position points at.
fn error_line(e: &tokio_postgres::Error, statement: &str) -> Option<usize> {
    match e.as_db_error()?.position()? {
        tokio_postgres::error::ErrorPosition::Original(pos) => {
            Some(super::session::line_of_offset(statement, (*pos as usize).saturating_sub(1)))
        }
        tokio_postgres::error::ErrorPosition::Internal { .. } => None,
    }
}

impl Session {
    pub(super) async fn connect(target: &Target) -> Result<Session, EngineError> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&target.endpoint.host)
            .port(target.endpoint.port)
            .user(&target.user)
            .dbname(&target.database)
            .application_name("dbtwin")
            .connect_timeout(target.connect_timeout);
        if let Some(password) = &target.password {
            config.password(password);
        }
        let failed = |e: tokio_postgres::Error| {
            // The server answered (a wrong password, a missing database): it is reachable.
            let answered = e.as_db_error().is_some();
            let error = EngineError::new(format!("failed to connect to {}", target.display()))
                .with_source(e);
            if answered { error } else { error.unreachable() }
        };
        let client = if target.tls == TlsMode::Disable {
            let (client, connection) = config.connect(NoTls).await.map_err(failed)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
        } else {
            config.ssl_mode(if target.tls == TlsMode::Prefer {
                tokio_postgres::config::SslMode::Prefer
            } else {
                tokio_postgres::config::SslMode::Require
            });
            let tls =
                tokio_postgres_rustls::MakeRustlsConnect::new(super::tls::client_config(target)?);
            let (client, connection) = config.connect(tls).await.map_err(failed)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
        };
        // Where dbtwin's tables are: found through the search path (a reader with a schema of
        // its own still finds them in public), else where they will be made: the current schema.
        // One round trip: a read-only session is made so first, in the same message.
        const WHERE: &str = "SELECT (SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.oid = to_regclass('dbtwin_schema_history')),
                 (SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.oid = to_regclass('dbtwin_state')),
                 current_schema()::text";
        let opening = if target.read_only {
            // Set before any other query: the server itself then refuses any write, whatever a
            // later bug might send.
            let timeout_ms = target.statement_timeout.as_millis();
            format!(
                "SET default_transaction_read_only = on; SET statement_timeout = {timeout_ms}; \
                 SET lock_timeout = {timeout_ms}; {WHERE}"
            )
        } else {
            WHERE.to_string()
        };
        let answer = client.simple_query(&opening).await.map_err(|e| {
            let what = if target.read_only {
                "failed to make the session read-only and read its schema"
            } else {
                "failed to read the current schema"
            };
            query_error(what, e)
        })?;
        let row = answer
            .iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
                _ => None,
            })
            .ok_or_else(|| {
                EngineError::new("failed to read the current schema: no row came back")
            })?;
        let found = |i: usize| row.get(i).map(str::to_string);
        let current = found(2).unwrap_or_else(|| "public".to_string());
        let schema_of = |found: Option<String>| ident(found.as_deref().unwrap_or(&current));
        Ok(Session {
            history: format!("{}.dbtwin_schema_history", schema_of(found(0))),
            state: format!("{}.dbtwin_state", schema_of(found(1))),
            client,
        })
    }

    pub(super) async fn server_version(&mut self) -> Result<String, EngineError> {
        let row = self
            .client
            .query_one("SHOW server_version", &[])
            .await
            .map_err(|e| query_error("failed to read the server version", e))?;
        let full: String = row.get(0);
        Ok(full.split_whitespace().next().unwrap_or_default().to_string())
    }

    /// The catalog; `tables_only` leaves out what a copy does not use ([`catalog::Scope`]).
    pub(super) async fn catalog(&mut self, tables_only: bool) -> Result<Catalog, EngineError> {
        let scope = if tables_only { catalog::Scope::Tables } else { catalog::Scope::Everything };
        catalog::read_catalog(&self.client, scope)
            .await
            .map_err(|e| query_error("failed to read the catalog", e))
    }

    pub(super) async fn tool_tables(&mut self) -> Result<Vec<(String, Vec<String>)>, EngineError> {
        let rows = self
            .client
            .query(
                "SELECT table_name::text, array_agg(lower(column_name::text) ORDER BY ordinal_position)
                   FROM information_schema.columns
                  WHERE table_schema = current_schema() AND lower(table_name::text) = ANY($1)
                  GROUP BY table_name ORDER BY table_name",
                &[&crate::schema::TOOL_TABLES.to_vec()],
            )
            .await
            .map_err(|e| query_error("failed to list migration tools' tables", e))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub(super) async fn query_text(
        &mut self,
        sql: &str,
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        let messages = self.client.simple_query(sql).await.map_err(|e| {
            EngineError::new(format!("query failed: {}", server_message(&e))).with_source(e)
        })?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect::<Vec<_>>())
                }
                _ => None,
            })
            .collect())
    }

    async fn exists(&self, table: &str) -> Result<bool, EngineError> {
        let row = self
            .client
            .query_typed_one("SELECT to_regclass($1) IS NOT NULL", &[(&table, Type::TEXT)])
            .await
            .map_err(|e| query_error(&format!("failed to look for {table}"), e))?;
        Ok(row.get(0))
    }

    pub(super) async fn history(&mut self) -> Result<Option<Vec<HistoryRow>>, EngineError> {
        if !self.exists(&self.history).await? {
            return Ok(None);
        }
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT installed_rank::bigint, version, description, script, checksum,
                            to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                            duration_ms::bigint, success, statements_applied::bigint,
                            statements_total::bigint
                       FROM {} ORDER BY installed_rank",
                    self.history
                ),
                &[],
            )
            .await
            .map_err(|e| query_error("failed to read dbtwin_schema_history", e))?;
        Ok(Some(
            rows.iter()
                .map(|r| HistoryRow {
                    rank: r.get(0),
                    version: r.get(1),
                    description: r.get(2),
                    script: r.get(3),
                    checksum: r.get(4),
                    applied_at: r.get(5),
                    duration_ms: r.get(6),
                    success: r.get(7),
                    statements_applied: r.get(8),
                    statements_total: r.get(9),
                })
                .collect(),
        ))
    }

    pub(super) async fn ensure_history(&mut self) -> Result<(), EngineError> {
        self.client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    installed_rank     integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                    version            varchar(50),
                    description        varchar(200) NOT NULL,
                    script             varchar(1000) NOT NULL,
                    checksum           varchar(64) NOT NULL,
                    applied_at         timestamptz NOT NULL DEFAULT now(),
                    duration_ms        integer NOT NULL,
                    success            boolean NOT NULL,
                    statements_applied integer NOT NULL,
                    statements_total   integer NOT NULL
                 )",
                self.history
            ))
            .await
            .map_err(|e| query_error("failed to create dbtwin_schema_history", e))
    }

    async fn record(
        &self,
        record: &NewHistoryRow,
        duration_ms: i64,
        success: bool,
        applied: usize,
        total: usize,
    ) -> Result<(), tokio_postgres::Error> {
        self.client
            .execute(
                &format!(
                    "INSERT INTO {}
                        (version, description, script, checksum, duration_ms, success,
                         statements_applied, statements_total)
                     VALUES ($1, $2, $3, $4, $5::bigint::integer, $6, $7::bigint::integer,
                             $8::bigint::integer)",
                    self.history
                ),
                &[
                    &record.version,
                    &record.description,
                    &record.script,
                    &record.checksum,
                    &duration_ms,
                    &success,
                    &(applied as i64),
                    &(total as i64),
                ],
            )
            .await
            .map(|_| ())
    }

    /// Transactional: `BEGIN`, every statement, the history row, `COMMIT`; any error rolls the
    /// whole file back. Otherwise (a file that opted out, for `CREATE INDEX CONCURRENTLY`, or one
    /// that manages its own transactions, as golang-migrate users write them) the statements run
    /// one by one and a failure is recorded with how many stayed applied. Session settings a
    /// file changed (`SET search_path`) are reset afterwards, so they cannot leak into the next.
    pub(super) async fn apply(
        &mut self,
        statements: &[String],
        transactional: bool,
        record: &NewHistoryRow,
    ) -> Result<(), ApplyError> {
        let own_transactions = statements.iter().any(|s| transaction_control(s).is_some());
        let result = if transactional && !own_transactions {
            self.apply_in_transaction(statements, record).await
        } else {
            self.apply_each(statements, record).await
        };
        // Best effort: a failed reset must not hide what happened to the file. RESET ALL leaves a
        // `SET ROLE` in place, hence the two before it.
        let _ = self
            .client
            .batch_execute("RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL; DISCARD TEMP")
            .await;
        result
    }

    async fn apply_in_transaction(
        &mut self,
        statements: &[String],
        record: &NewHistoryRow,
    ) -> Result<(), ApplyError> {
        let started = std::time::Instant::now();
        let sql_failed =
            |what: &str, e: tokio_postgres::Error| ApplyError::Engine(query_error(what, e));
        self.client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| sql_failed("failed to begin the migration's transaction", e))?;
        for (index, statement) in statements.iter().enumerate() {
            if let Err(e) = self.client.batch_execute(statement).await {
                let _ = self.client.batch_execute("ROLLBACK").await;
                return Err(ApplyError::Statement {
                    index,
                    message: server_message(&e),
                    line_in_statement: error_line(&e, statement),
                    left_applied: 0,
                    rolled_back: true,
                });
            }
        }
        let ms = started.elapsed().as_millis() as i64;
        let finish = async {
            self.record(record, ms, true, statements.len(), statements.len()).await?;
            self.client.batch_execute("COMMIT").await
        };
        if let Err(e) = finish.await {
            // Whatever failed after BEGIN, the session must not stay inside the transaction.
            let _ = self.client.batch_execute("ROLLBACK").await;
            return Err(sql_failed("failed to record the migration", e));
        }
        Ok(())
    }

    async fn apply_each(
        &mut self,
        statements: &[String],
        record: &NewHistoryRow,
    ) -> Result<(), ApplyError> {
        let started = std::time::Instant::now();
        // Where the file's own open transaction began: a failure inside it rolls back to there.
        let mut open_since: Option<usize> = None;
        for (index, statement) in statements.iter().enumerate() {
            match self.client.batch_execute(statement).await {
                Ok(()) => match transaction_control(statement) {
                    Some(TransactionControl::Begin) => open_since = Some(index),
                    Some(TransactionControl::End) => open_since = None,
                    None => {}
                },
                Err(e) => {
                    let left_applied = match open_since {
                        Some(begin) => {
                            let _ = self.client.batch_execute("ROLLBACK").await;
                            begin
                        }
                        None => index,
                    };
                    let failure = ApplyError::Statement {
                        index,
                        message: server_message(&e),
                        line_in_statement: error_line(&e, statement),
                        left_applied,
                        rolled_back: false,
                    };
                    let ms = started.elapsed().as_millis() as i64;
                    if let Err(re) =
                        self.record(record, ms, false, left_applied, statements.len()).await
                    {
                        return Err(ApplyError::Engine(query_error(
                            &format!(
                                "statement {} failed ({}), and recording the failure failed too",
                                index + 1,
                                server_message(&e)
                            ),
                            re,
                        )));
                    }
                    return Err(failure);
                }
            }
        }
        if let Some(begin) = open_since {
            // The file left its own transaction open: the server would drop that work when the
            // session ends, so it is rolled back now and the file counts as failed, never as
            // applied.
            let _ = self.client.batch_execute("ROLLBACK").await;
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
        self.client
            .execute(
                &format!(
                    "UPDATE {} SET checksum = $2 WHERE installed_rank = $1::bigint::integer",
                    self.history
                ),
                &[&rank, &checksum],
            )
            .await
            .map(|_| ())
            .map_err(|e| query_error("failed to repair a checksum", e))
    }

    pub(super) async fn delete_failed(&mut self) -> Result<u64, EngineError> {
        self.client
            .execute(&format!("DELETE FROM {} WHERE NOT success", self.history), &[])
            .await
            .map_err(|e| query_error("failed to delete failed migrations", e))
    }

    /// The server's snapshot (`xmin:xmax:` as text), when no transaction that writes is under
    /// way; else `None`. Its `xmax` moves past every transaction that writes and ends (commit or
    /// rollback), so the same mark later proves no write ended in between. Under way: any other
    /// session holding a transaction id (the snapshot's own list leaves out those newer than
    /// its `xmax`). `txid_current_snapshot` is in every release (deprecated, not removed, since
    /// 13's `pg_current_snapshot`).
    pub(super) async fn change_mark(&mut self) -> Result<Option<String>, EngineError> {
        let row = self
            .client
            .query_typed_one(
                "SELECT txid_current_snapshot()::text,
                        EXISTS (SELECT 1 FROM pg_stat_activity
                                 WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid())",
                &[],
            )
            .await
            .map_err(|e| query_error("failed to read the server's snapshot", e))?;
        let (mark, writing): (String, bool) = (row.get(0), row.get(1));
        Ok((!writing && mark.ends_with(':')).then_some(mark))
    }

    pub(super) async fn state(&mut self, key: &str) -> Result<Option<String>, EngineError> {
        if !self.exists(&self.state).await? {
            return Ok(None);
        }
        let row = self
            .client
            .query_typed_opt(
                &format!("SELECT value FROM {} WHERE name = $1", self.state),
                &[(&key, Type::TEXT)],
            )
            .await
            .map_err(|e| query_error("failed to read dbtwin_state", e))?;
        Ok(row.map(|r| r.get(0)))
    }

    pub(super) async fn set_state(&mut self, key: &str, value: &str) -> Result<(), EngineError> {
        // Made here rather than with the history: a database migrated by the team's own tool
        // gets this one small table, not an empty dbtwin history beside its tool's.
        self.client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    name       varchar(100) PRIMARY KEY,
                    value      text NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                 )",
                self.state
            ))
            .await
            .map_err(|e| query_error("failed to create dbtwin_state", e))?;
        self.client
            .query_typed(
                &format!(
                    "INSERT INTO {} (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                    self.state
                ),
                &[(&key, Type::TEXT), (&value, Type::TEXT)],
            )
            .await
            .map(|_| ())
            .map_err(|e| query_error("failed to write dbtwin_state", e))
    }
}

/// A statement that opens or closes a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TransactionControl {
    Begin,
    End,
}

/// Recognises `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK` (not `ROLLBACK TO`
/// a savepoint, not a function body's `BEGIN … END`, which the splitter keeps inside its
/// statement).
fn transaction_control(statement: &str) -> Option<TransactionControl> {
    let words: Vec<String> = statement
        .split_whitespace()
        .take(4)
        .map(|w| w.trim_end_matches(';').to_ascii_lowercase())
        .collect();
    let word = |i: usize| words.get(i).map(String::as_str);
    // `COMMIT AND CHAIN` ends one transaction and opens the next at once.
    let chained = word(1) == Some("and") && word(2) == Some("chain");
    match word(0)? {
        // A standalone statement starting with BEGIN opens a transaction whatever follows
        // (`ISOLATION LEVEL`, `NOT DEFERRABLE`…); `BEGIN ATOMIC` only lives inside a function.
        "begin" if word(1) != Some("atomic") => Some(TransactionControl::Begin),
        "start" if word(1) == Some("transaction") => Some(TransactionControl::Begin),
        "commit" | "end" | "abort" | "rollback" if chained => Some(TransactionControl::Begin),
        "commit" | "end" | "abort"
            if matches!(word(1), None | Some("transaction" | "work" | "and")) =>
        {
            Some(TransactionControl::End)
        }
        "rollback" if matches!(word(1), None | Some("transaction" | "work" | "and")) => {
            Some(TransactionControl::End)
        }
        "prepare" if word(1) == Some("transaction") => Some(TransactionControl::End),
        _ => None,
    }
}

/// Whether a column of this type (as the catalog prints it: `numeric(12,2)`, `integer[]`) may
/// travel in the binary `COPY` format between two servers that both give the column this very
/// type. Built-in types only: their binary forms have not changed since release 10 (before it a
/// server could keep timestamps as floats), and an array's carries its element type's OID, which
/// only built-in types share between databases (an enum's, a domain's, a composite's or an
/// extension type's differ, and the server would refuse the rows). Others go as text.
pub fn binary_copyable(data_type: &str) -> bool {
    const BUILT_IN: &[&str] = &[
        "smallint",
        "integer",
        "bigint",
        "numeric",
        "real",
        "double precision",
        "boolean",
        "text",
        "character varying",
        "character",
        "\"char\"",
        "name",
        "bytea",
        "date",
        "time without time zone",
        "time with time zone",
        "timestamp without time zone",
        "timestamp with time zone",
        "interval",
        "uuid",
        "json",
        "jsonb",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
        "money",
        "oid",
        "bit",
        "bit varying",
    ];
    BUILT_IN.contains(&base_type(data_type).as_str())
}

/// Whether the binary form of this type is its text, as the leak check reads cells: `text`,
/// `varchar`, `char` and `json` (not `jsonb`, whose form starts with a version byte).
pub fn binary_is_text(data_type: &str) -> bool {
    !data_type.ends_with("[]")
        && matches!(
            base_type(data_type).as_str(),
            "text" | "character varying" | "character" | "json"
        )
}

/// A printed type without its modifiers and array brackets: `timestamp(3) with time zone` is
/// `timestamp with time zone`, `character varying(20)[]` is `character varying`.
pub fn base_type(data_type: &str) -> String {
    let mut base = String::with_capacity(data_type.len());
    let mut depth = 0u32;
    for c in data_type.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => base.push(c),
            _ => {}
        }
    }
    let base = base.trim_end_matches("[]").trim();
    base.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_copies_take_built_in_types_only() {
        for built_in in [
            "bigint",
            "numeric(12,2)",
            "timestamp(3) with time zone",
            "character varying(255)",
            "integer[]",
            "character varying(20)[]",
            "\"char\"",
        ] {
            assert!(binary_copyable(built_in), "{built_in}");
        }
        // Their binary forms name the database's own OIDs, or are not known here.
        for other in ["public.mood", "mood[]", "citext", "public.address", "geometry(Point,4326)"] {
            assert!(!binary_copyable(other), "{other}");
        }
        assert!(binary_is_text("character varying(255)"));
        assert!(binary_is_text("json"));
        assert!(!binary_is_text("jsonb"), "a version byte comes first");
        assert!(!binary_is_text("text[]"), "an array's form holds lengths and an OID");
        assert!(!binary_is_text("bigint"));
    }

    #[test]
    fn throwaway_comes_first_so_settings_win() {
        let settings = BTreeMap::from([("fsync".to_string(), "on".to_string())]);
        let args = server_args(true, &settings);
        assert_eq!(args.first().map(String::as_str), Some("-c"));
        assert_eq!(args.last().map(String::as_str), Some("fsync=on"));
        assert!(server_args(false, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn transaction_control_is_told_from_lookalikes() {
        use TransactionControl::*;
        for (sql, expected) in [
            ("BEGIN", Some(Begin)),
            ("begin transaction isolation level serializable", Some(Begin)),
            ("START TRANSACTION", Some(Begin)),
            ("COMMIT", Some(End)),
            ("end", Some(End)),
            ("ROLLBACK", Some(End)),
            ("ROLLBACK TO SAVEPOINT a", None),
            ("BEGIN NOT DEFERRABLE", Some(Begin)),
            ("COMMIT AND CHAIN", Some(Begin)),
            ("COMMIT AND NO CHAIN", Some(End)),
            ("PREPARE TRANSACTION 'x'", Some(End)),
            ("BEGIN ATOMIC SELECT 1; END", None),
            ("CREATE TABLE begin_x (id int)", None),
            ("SELECT 1", None),
        ] {
            assert_eq!(transaction_control(sql), expected, "{sql}");
        }
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
