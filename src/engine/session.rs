//! An open connection to one database, whichever the engine: what `migrate`, `status` and `diff`
//! need from a server (its version, its catalog, dbtwin's history table, other tools' history
//! tables, applying a migration) without seeing a driver. Dispatch is a `match` over the closed set
//! of engines; each arm lives in that engine's file.

use std::time::Duration;

use serde::Serialize;

use super::bulk::Format;
use super::target::Target;
use super::{EngineError, mysql, postgres, redis};
use crate::profile::EngineKind;
use crate::schema::Catalog;

/// dbtwin's migration history, one per database (a hash of that name in Redis).
pub const HISTORY_TABLE: &str = "dbtwin_schema_history";
/// dbtwin's small key/value record in each database: the schema fingerprint after the last
/// migration (so `status` can tell a hand-made change), and later how the data was seeded.
pub const STATE_TABLE: &str = "dbtwin_state";

/// One row of `dbtwin_schema_history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    /// Order of application (1, 2, …).
    pub rank: i64,
    /// `None` for a repeatable migration.
    pub version: Option<String>,
    pub description: String,
    pub script: String,
    pub checksum: String,
    pub applied_at: String,
    pub duration_ms: i64,
    pub success: bool,
    /// How many statements of the file ran. For a failed file on an engine without transactional
    /// DDL, these stayed applied.
    pub statements_applied: i64,
    pub statements_total: i64,
}

/// What to record for a migration being applied.
#[derive(Clone, Debug)]
pub struct NewHistoryRow {
    pub version: Option<String>,
    pub description: String,
    pub script: String,
    pub checksum: String,
}

/// A migration's body, as the engine runs it.
#[derive(Clone, Copy, Debug)]
pub enum Script<'a> {
    /// SQL statements in order.
    Sql(&'a [String]),
    /// Redis commands, each a list of arguments.
    Redis(&'a [Vec<String>]),
}

/// The dbtwin_state key under which what a load took away ([`Restore`]) is kept until it is
/// back: written before anything is dropped, so a load that did not end leaves it behind.
pub(in crate::engine) const RESTORE_KEY: &str = "seed_restore";

/// What loading took away and must put back, as the server printed it: per table its primary and
/// unique keys and indexes, then every foreign key. Recreated under the same names and
/// definitions, so `status` and `diff` see no drift.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Restore {
    pub keys: Vec<(String, Vec<String>)>,
    pub foreign_keys: Vec<String>,
    /// The tables the load emptied, as the engine names them in SQL (PostgreSQL quoted and
    /// qualified; MySQL/MariaDB bare): a load that did not end leaves their rows to no one, and
    /// mending empties them all before the keys come back. Absent from older records.
    #[serde(default)]
    pub emptied: Vec<String>,
}

/// One Redis key as a masked copy reads and writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct RedisEntry {
    pub key: Vec<u8>,
    /// Milliseconds left to live; `None` for a key without expiry.
    pub ttl_ms: Option<i64>,
    pub data: RedisData,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RedisData {
    String(Vec<u8>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    Set(Vec<Vec<u8>>),
    List(Vec<Vec<u8>>),
    Zset(Vec<(Vec<u8>, f64)>),
    /// Streams and module types: not copied.
    Unsupported(String),
}

impl Restore {
    pub fn is_empty(&self) -> bool {
        self.keys.iter().all(|(_, s)| s.is_empty()) && self.foreign_keys.is_empty()
    }

    /// What mending empties: [`Restore::emptied`], or for a record written before that was
    /// recorded, the tables whose keys it holds.
    pub(in crate::engine) fn emptied_tables(&self) -> Vec<String> {
        if self.emptied.is_empty() {
            self.keys.iter().map(|(table, _)| table.clone()).collect()
        } else {
            self.emptied.clone()
        }
    }
}

/// Why applying a migration stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A statement failed on the server.
    #[error("statement {} failed: {message}", index + 1)]
    Statement {
        /// Zero-based index of the failing statement.
        index: usize,
        /// The server's message (with detail and hint where it gives them).
        message: String,
        /// 1-based line inside the failing statement, where the server tells.
        line_in_statement: Option<usize>,
        /// Statements that ran before it and stay applied (0 when the file was rolled back).
        left_applied: usize,
        /// True when the engine rolled the whole file back (PostgreSQL, transactional file).
        rolled_back: bool,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ApplyError {
    /// The file opened a transaction at statement `begin` and ended without committing it: the
    /// engine rolled that work back, and what ran before `begin` stays.
    pub(super) fn left_open(begin: usize) -> ApplyError {
        ApplyError::Statement {
            index: begin,
            message: "this transaction is never committed: the file ends inside it, so its work \
                      was rolled back"
                .into(),
            line_in_statement: None,
            left_applied: begin,
            rolled_back: false,
        }
    }
}

pub(super) enum Inner {
    Postgres(postgres::Session),
    Mysql(mysql::Session),
    Redis(redis::Session),
}

/// An open connection.
pub struct Session {
    kind: EngineKind,
    target_display: String,
    timeout: Duration,
    inner: Inner,
}

impl Session {
    /// Connects, bounded by the target's connect timeout; a read-only target's session is put in
    /// read-only mode with the target's statement timeout before anything else runs.
    pub async fn connect(target: &Target) -> Result<Session, EngineError> {
        let connecting = async {
            Ok::<_, EngineError>(match target.kind {
                EngineKind::Postgres => Inner::Postgres(postgres::Session::connect(target).await?),
                EngineKind::Mysql | EngineKind::Mariadb => {
                    Inner::Mysql(mysql::Session::connect(target).await?)
                }
                EngineKind::Redis => Inner::Redis(redis::Session::connect(target).await?),
            })
        };
        let inner =
            tokio::time::timeout(target.connect_timeout, connecting).await.map_err(|_| {
                EngineError::new(format!(
                    "no answer from {} within {}s",
                    target.display(),
                    target.connect_timeout.as_secs()
                ))
                .unreachable()
            })??;
        Ok(Session {
            kind: target.kind,
            target_display: target.display(),
            // A URL's read-only session also has the server enforce the statement timeout; this
            // bound catches a silent network, for every session.
            timeout: target.statement_timeout + Duration::from_secs(5),
            inner,
        })
    }

    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// The target as shown to people: its URL without the password.
    pub fn display(&self) -> &str {
        &self.target_display
    }

    /// The server's version (`17.6`, `11.8.3-MariaDB`, `7.0.15`).
    pub async fn server_version(&mut self) -> Result<String, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "reading the server version", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.server_version().await,
                Inner::Mysql(s) => s.server_version().await,
                Inner::Redis(s) => s.server_version().await,
            }
        })
        .await
    }

    /// The database's catalog, read from the server's own catalog tables. Redis has no schema:
    /// its catalog holds the version only and, as its one "table", the key count.
    pub async fn catalog(&mut self) -> Result<Catalog, EngineError> {
        self.read_catalog(false).await
    }

    /// What a copy reads of its source's catalog: its tables (on PostgreSQL without the
    /// sequences, enum and domain types and extensions, which a copy does not use).
    pub async fn source_catalog(&mut self) -> Result<Catalog, EngineError> {
        self.read_catalog(true).await
    }

    async fn read_catalog(&mut self, tables_only: bool) -> Result<Catalog, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "reading the catalog", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.catalog(tables_only).await,
                Inner::Mysql(s) => s.catalog().await,
                Inner::Redis(s) => s.catalog().await,
            }
        })
        .await
    }

    /// Migration tools' history tables present in the database, each with its column names.
    pub async fn tool_tables(&mut self) -> Result<Vec<(String, Vec<String>)>, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "listing migration tools' tables", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.tool_tables().await,
                Inner::Mysql(s) => s.tool_tables().await,
                Inner::Redis(_) => Ok(Vec::new()),
            }
        })
        .await
    }

    /// Runs a read-only query and returns every value as text (NULL as `None`).
    pub async fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "a query", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.query_text(sql).await,
                Inner::Mysql(s) => s.query_text(sql).await,
                Inner::Redis(_) => Err(EngineError::new("redis takes no SQL")),
            }
        })
        .await
    }

    /// dbtwin's history, oldest first; `None` when the database has no history table yet.
    pub async fn history(&mut self) -> Result<Option<Vec<HistoryRow>>, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "reading the history", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.history().await,
                Inner::Mysql(s) => s.history().await,
                Inner::Redis(s) => s.history().await,
            }
        })
        .await
    }

    /// Creates the history table when missing (the state table is made by `set_state`).
    pub async fn ensure_history(&mut self) -> Result<(), EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "creating the history table", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.ensure_history().await,
                Inner::Mysql(s) => s.ensure_history().await,
                Inner::Redis(_) => Ok(()),
            }
        })
        .await
    }

    /// Applies one migration and records it. `transactional`: the statements and the history row
    /// commit together or not at all (PostgreSQL only; elsewhere statements run one by one and a
    /// failure is recorded with how many ran).
    pub async fn apply(
        &mut self,
        script: Script<'_>,
        transactional: bool,
        record: &NewHistoryRow,
    ) -> Result<(), ApplyError> {
        match (&mut self.inner, script) {
            (Inner::Postgres(s), Script::Sql(statements)) => {
                s.apply(statements, transactional, record).await
            }
            (Inner::Mysql(s), Script::Sql(statements)) => s.apply(statements, record).await,
            (Inner::Redis(s), Script::Redis(commands)) => s.apply(commands, record).await,
            _ => Err(EngineError::new(format!(
                "{} cannot run a script of this kind",
                self.target_display
            ))
            .into()),
        }
    }

    /// Records a new checksum for an applied migration (`migrate --repair`).
    pub async fn repair_checksum(&mut self, rank: i64, checksum: &str) -> Result<(), EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "repairing a checksum", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.repair_checksum(rank, checksum).await,
                Inner::Mysql(s) => s.repair_checksum(rank, checksum).await,
                Inner::Redis(s) => s.repair_checksum(rank, checksum).await,
            }
        })
        .await
    }

    /// Deletes the records of failed migrations (`migrate --repair`, after the database was fixed
    /// by hand), so they run again.
    pub async fn delete_failed(&mut self) -> Result<u64, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "deleting failed migrations", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.delete_failed().await,
                Inner::Mysql(s) => s.delete_failed().await,
                Inner::Redis(s) => s.delete_failed().await,
            }
        })
        .await
    }

    /// A mark of the database's committed state that changes whenever a transaction that
    /// writes ends, when the engine has one and no such transaction is under way: reads made
    /// after it still hold while a later mark equals it. PostgreSQL only; `None` elsewhere.
    pub async fn change_mark(&mut self) -> Result<Option<String>, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "reading the server's snapshot", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.change_mark().await,
                Inner::Mysql(_) | Inner::Redis(_) => Ok(None),
            }
        })
        .await
    }

    pub async fn state(&mut self, key: &str) -> Result<Option<String>, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "reading dbtwin_state", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.state(key).await,
                Inner::Mysql(s) => s.state(key).await,
                Inner::Redis(s) => s.state(key).await,
            }
        })
        .await
    }

    pub async fn set_state(&mut self, key: &str, value: &str) -> Result<(), EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "writing dbtwin_state", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.set_state(key, value).await,
                Inner::Mysql(s) => s.set_state(key, value).await,
                Inner::Redis(s) => s.set_state(key, value).await,
            }
        })
        .await
    }

    /// The tables of `tables` that hold at least one row.
    pub async fn filled_tables(
        &mut self,
        tables: &[String],
    ) -> Result<std::collections::BTreeSet<String>, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "counting rows", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.filled_tables(tables).await,
                Inner::Mysql(s) => s.filled_tables(tables).await,
                Inner::Redis(_) => Ok(Default::default()),
            }
        })
        .await
    }

    /// Every row of `columns` of `table` (reference data a foreign key will pick from), in a
    /// stable order.
    pub async fn key_rows(
        &mut self,
        table: &str,
        columns: &[String],
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        let (timeout, display) = (self.timeout, self.target_display.clone());
        within(timeout, "reading reference rows", &display, async {
            match &mut self.inner {
                Inner::Postgres(s) => s.key_rows(table, columns).await,
                Inner::Mysql(s) => s.key_rows(table, columns).await,
                Inner::Redis(_) => Ok(Vec::new()),
            }
        })
        .await
    }

    /// Gets `tables` ready for bulk loading: optionally emptied, and on PostgreSQL without their
    /// keys, indexes and foreign keys (what they were is returned, and recorded in dbtwin_state
    /// first, so an interrupted load can still put them back). No time bound: this waits for
    /// locks the application may hold. On PostgreSQL the tables in `loading` are left for their
    /// loads to empty, each in its own transaction ([`Session::load_rows`]), so old rows go in
    /// parallel, table by table, rather than all here first.
    pub async fn prepare_load(
        &mut self,
        tables: &[String],
        empty: bool,
        loading: &[String],
    ) -> Result<Restore, EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.prepare_load(tables, empty, loading).await,
            Inner::Mysql(s) => {
                s.restore_pending_triggers().await?;
                let mut restore = s.prepare_load(tables, empty).await?;
                let indexes = s.take_indexes(tables, empty).await?;
                restore.keys.extend(indexes.keys);
                restore.foreign_keys.extend(indexes.foreign_keys);
                let triggers = s.take_triggers(tables).await?;
                if !triggers.is_empty() {
                    restore.keys.push(("triggers".to_owned(), triggers));
                }
                Ok(restore)
            }
            Inner::Redis(s) => s.prepare_load(empty).await.map(|()| Restore::default()),
        }
    }

    /// Streams rows in the text bulk format (tab-separated, `\N` for NULL, backslash escapes)
    /// into `table`'s `columns`: PostgreSQL `COPY … FROM STDIN`, MySQL `LOAD DATA LOCAL INFILE`.
    /// Returns the rows the server took. Triggers and foreign key checks are off for the load
    /// (the rows are consistent by construction, and keys are checked when they come back).
    /// PostgreSQL also takes its binary `COPY` format ([`Format::Binary`]): chunks of rows only,
    /// the stream's header and trailer written here.
    pub async fn load_rows(
        &mut self,
        table: &str,
        columns: &[String],
        format: Format,
        chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.load_rows(table, columns, format, chunks).await,
            Inner::Mysql(_) if format == Format::Binary => {
                Err(EngineError::new("MySQL takes rows in the text bulk format only"))
            }
            Inner::Mysql(s) => s.load_rows(table, columns, chunks).await,
            Inner::Redis(_) => Err(EngineError::new("redis has no tables to load rows into")),
        }
    }

    /// Runs statements of a [`Restore`], in order.
    pub async fn restore(&mut self, statements: &[String]) -> Result<(), EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.run_all(statements).await,
            Inner::Mysql(s) => s.run_all(statements).await,
            Inner::Redis(_) => Ok(()),
        }
    }

    /// After a load of `tables` that failed half-way (its keys, indexes, foreign keys and
    /// triggers taken off): the tables are emptied and all of that is put back, so the database
    /// keeps its whole schema rather than wait for the next load to mend it. A load that took
    /// nothing off yet (no restore record) is left as it is.
    pub async fn recover_load(&mut self, tables: &[String]) -> Result<(), EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.recover_load(tables).await,
            Inner::Mysql(s) => s.recover_load(tables).await,
            Inner::Redis(_) => Ok(()),
        }
    }

    /// Whether a load that did not end (killed, or the machine stopped) left what it took off
    /// for the next load to put back: keys, indexes, foreign keys, and on MySQL and MariaDB
    /// triggers. Reads only.
    pub async fn load_pending(&mut self) -> Result<bool, EngineError> {
        if matches!(self.inner, Inner::Redis(_)) {
            return Ok(false);
        }
        if self.state(RESTORE_KEY).await?.is_some() {
            return Ok(true);
        }
        match &mut self.inner {
            Inner::Mysql(s) => s.triggers_pending().await,
            Inner::Postgres(_) | Inner::Redis(_) => Ok(false),
        }
    }

    /// Puts back what a load that did not end left off ([`Session::load_pending`]), emptying
    /// the tables whose keys it took off first (that load had emptied them; rows it left there
    /// could break the keys). Nothing to do: nothing touched.
    pub async fn mend_load(&mut self) -> Result<(), EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.mend_load().await,
            Inner::Mysql(s) => s.mend_load().await,
            Inner::Redis(_) => Ok(()),
        }
    }

    /// After loading and putting everything back: the restore records cleared.
    pub async fn finish_load(&mut self) -> Result<(), EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.forget_restore().await,
            Inner::Mysql(s) => {
                s.forget_restore().await?;
                s.forget_triggers().await
            }
            Inner::Redis(_) => Ok(()),
        }
    }

    /// After one table is loaded (and its keys are back): sequences moved past the keys dbtwin
    /// wrote, statistics refreshed (so `status` counts its rows). Runs beside other tables' loads.
    pub async fn finish_tables(&mut self, tables: &[String]) -> Result<(), EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.finish_tables(tables).await,
            Inner::Mysql(s) => s.finish_load(tables).await,
            Inner::Redis(_) => Ok(()),
        }
    }

    /// Redis: runs batches of commands (each a list of arguments) through pipelines. Returns the
    /// number of commands run.
    pub async fn load_commands(
        &mut self,
        batches: tokio::sync::mpsc::Receiver<Vec<Vec<String>>>,
    ) -> Result<u64, EngineError> {
        match &mut self.inner {
            Inner::Redis(s) => s.load_commands(batches).await,
            _ => Err(EngineError::new("only redis takes commands")),
        }
    }

    /// Source side: opens one consistent, read-only snapshot on this session (PostgreSQL
    /// `REPEATABLE READ READ ONLY`, MySQL `WITH CONSISTENT SNAPSHOT, READ ONLY`) with no
    /// statement timeout inside it (a large table takes longer than `status`'s bound). Returns
    /// PostgreSQL's exported snapshot, which other sessions [`join_snapshot`](Self::join_snapshot)
    /// to read in parallel from the same point in time; other engines return `None`.
    pub async fn begin_snapshot(&mut self) -> Result<Option<String>, EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.begin_snapshot().await,
            Inner::Mysql(s) => s.begin_snapshot().await.map(|()| None),
            Inner::Redis(_) => Ok(None),
        }
    }

    /// Source side (PostgreSQL): reads from the snapshot another session exported.
    pub async fn join_snapshot(&mut self, id: &str) -> Result<(), EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.join_snapshot(id).await,
            _ => Err(EngineError::new("only postgres shares snapshots between sessions")),
        }
    }

    /// Source side: streams `SELECT columns FROM table [WHERE filter]` in the text bulk format
    /// [`load_rows`](Self::load_rows) takes (each chunk whole lines; tab-separated, `\N` for
    /// NULL, backslash escapes), or PostgreSQL's binary `COPY` format (whole rows a chunk,
    /// without the stream's header and trailer, which `load_rows` writes). Returns the rows read. Stops quietly when the receiver goes.
    pub async fn copy_out(
        &mut self,
        table: &str,
        columns: &[String],
        filter: Option<&str>,
        format: Format,
        chunks: tokio::sync::mpsc::Sender<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        match &mut self.inner {
            Inner::Postgres(s) => s.copy_out(table, columns, filter, format, chunks).await,
            Inner::Mysql(_) if format == Format::Binary => {
                Err(EngineError::new("MySQL sends rows in the text bulk format only"))
            }
            Inner::Mysql(s) => s.copy_out(table, columns, filter, chunks).await,
            Inner::Redis(_) => Err(EngineError::new("redis has no tables to read rows from")),
        }
    }

    /// Redis source: one SCAN step (the next cursor, 0 at the end, and the application's keys).
    pub async fn scan_keys(
        &mut self,
        cursor: u64,
        count: usize,
    ) -> Result<(u64, Vec<Vec<u8>>), EngineError> {
        match &mut self.inner {
            Inner::Redis(s) => s.scan_keys(cursor, count).await,
            _ => Err(EngineError::new("only redis has keys to scan")),
        }
    }

    /// Redis source: the type, TTL and value of each key (keys gone meanwhile are left out).
    pub async fn read_keys(&mut self, keys: &[Vec<u8>]) -> Result<Vec<RedisEntry>, EngineError> {
        match &mut self.inner {
            Inner::Redis(s) => s.read_keys(keys).await,
            _ => Err(EngineError::new("only redis has keys to read")),
        }
    }

    /// Redis target: writes keys whole, with their TTLs, in one pipeline.
    pub async fn write_keys(&mut self, entries: &[RedisEntry]) -> Result<(), EngineError> {
        match &mut self.inner {
            Inner::Redis(s) => s.write_keys(entries).await,
            _ => Err(EngineError::new("only redis takes keys")),
        }
    }

    /// Closes the connection politely (MySQL wants a goodbye; the others close on drop).
    pub async fn close(self) {
        if let Inner::Mysql(s) = self.inner {
            s.close().await;
        }
    }
}

/// Bounds one exchange with the server: a silent network must not hang `status` forever.
async fn within<T>(
    timeout: Duration,
    what: &str,
    display: &str,
    fut: impl Future<Output = Result<T, EngineError>>,
) -> Result<T, EngineError> {
    tokio::time::timeout(timeout, fut).await.map_err(|_| {
        EngineError::new(format!("{what} on {display} took longer than {}s", timeout.as_secs()))
    })?
}

/// Maps an 0-based char offset inside a statement to a 1-based line.
pub(super) fn line_of_offset(statement: &str, offset: usize) -> usize {
    statement.chars().take(offset).filter(|&c| c == '\n').count() + 1
}
