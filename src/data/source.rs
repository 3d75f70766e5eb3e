//! A production source as the masked copy reads it: a database opened read-only in one consistent
//! snapshot, or a directory of CSV exports. Everything read from it (the subset's key scans, the
//! PII sampling, the rows themselves) comes from the same point in time: PostgreSQL sessions join
//! the snapshot the first one exported and read tables in parallel; MySQL/MariaDB cannot share a
//! snapshot between sessions without a global read lock, so its tables are read one after another
//! on the session that holds it. A snapshot spans one database: several services' databases are
//! read at nearby, not equal, instants.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::Mutex;

use super::csvsource::{self, CsvTable};
use super::maskfile::Source;
use crate::engine::bulk::Format;
use crate::engine::session::{RedisEntry, Session};
use crate::engine::{EngineError, Target};
use crate::profile::EngineKind;
use crate::schema::Catalog;

pub struct SourceDb {
    inner: Inner,
}

#[expect(clippy::large_enum_variant, reason = "one per source of a run, never moved in bulk")]
enum Inner {
    Database {
        target: Target,
        /// The session holding the snapshot; MySQL reads everything through it.
        main: Mutex<Session>,
        snapshot: Option<String>,
        catalog: Catalog,
        /// Sessions already in the snapshot, opened ahead of the reads that take them.
        readers: std::sync::Mutex<Vec<Session>>,
        /// Held while readers open, so two callers do not both open the missing ones.
        opening: tokio::sync::Mutex<()>,
    },
    Csv {
        dir: PathBuf,
        tables: BTreeMap<String, Arc<CsvTable>>,
    },
}

impl SourceDb {
    /// Opens `source`: connects read-only and takes the snapshot, or lists the CSV files.
    pub async fn open(source: &Source) -> Result<SourceDb, EngineError> {
        match source {
            Source::Url(url) => {
                let mut target =
                    Target::from_url(url).map_err(|e| EngineError::new(e.to_string()))?;
                target.read_only = true;
                let (main, catalog, snapshot, readers) = open_sessions(&target).await?;
                let (main, readers, opening) =
                    (Mutex::new(main), std::sync::Mutex::new(readers), Default::default());
                let inner = Inner::Database { target, main, snapshot, catalog, readers, opening };
                Ok(SourceDb { inner })
            }
            Source::Csv(dir) => {
                let tables = csvsource::discover(dir)
                    .map_err(|e| EngineError::new(format!("failed to read the exports: {e}")))?;
                let tables = tables.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
                Ok(SourceDb { inner: Inner::Csv { dir: dir.clone(), tables } })
            }
        }
    }

    /// The source as shown to people (never with a password).
    pub fn display(&self) -> String {
        match &self.inner {
            Inner::Database { target, .. } => target.display(),
            Inner::Csv { dir, .. } => dir.display().to_string(),
        }
    }

    /// The engine, for a database source.
    pub fn kind(&self) -> Option<EngineKind> {
        match &self.inner {
            Inner::Database { target, .. } => Some(target.kind),
            Inner::Csv { .. } => None,
        }
    }

    /// The source's own catalog (a CSV directory has none: the target's schema stands in).
    pub fn catalog(&self) -> Option<&Catalog> {
        match &self.inner {
            Inner::Database { catalog, .. } => Some(catalog),
            Inner::Csv { .. } => None,
        }
    }

    /// Tables the source holds.
    pub fn tables(&self) -> BTreeSet<String> {
        match &self.inner {
            Inner::Database { catalog, .. } => catalog.tables.keys().cloned().collect(),
            Inner::Csv { tables, .. } => tables.keys().cloned().collect(),
        }
    }

    /// The columns `table` has in the source.
    pub fn columns(&self, table: &str) -> Option<Vec<String>> {
        match &self.inner {
            Inner::Database { catalog, .. } => catalog
                .tables
                .get(table)
                .map(|t| t.columns.iter().map(|c| c.name.clone()).collect()),
            Inner::Csv { tables, .. } => tables.get(table).map(|t| t.columns.clone()),
        }
    }

    /// Whether tables can be read at once (PostgreSQL and CSV) or only one at a time.
    pub fn parallel(&self) -> bool {
        match &self.inner {
            Inner::Database { snapshot, .. } => snapshot.is_some(),
            Inner::Csv { .. } => true,
        }
    }

    /// Whether `where` filters and `limit`s can be sent to the source.
    pub fn queries(&self) -> bool {
        matches!(self.inner, Inner::Database { .. })
    }

    /// Streams `columns` of `table` (rows matching `filter`, a SQL condition that may end in
    /// `ORDER BY … LIMIT n`) as text bulk format lines (or, from PostgreSQL, binary `COPY`
    /// rows), from the snapshot.
    pub async fn stream(
        &self,
        table: &str,
        columns: &[String],
        filter: Option<&str>,
        format: Format,
        chunks: tokio::sync::mpsc::Sender<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        match &self.inner {
            // The exported snapshot lives as long as `main`'s transaction, that is as long as
            // this source.
            Inner::Database { target, snapshot: Some(id), readers, .. } => {
                let ready = readers.lock().ok().and_then(|mut r| r.pop());
                let mut session = match ready {
                    Some(session) => session,
                    None => reader(target, id).await?,
                };
                let result = session.copy_out(table, columns, filter, format, chunks).await;
                session.close().await;
                result
            }
            Inner::Database { main, .. } => {
                main.lock().await.copy_out(table, columns, filter, format, chunks).await
            }
            Inner::Csv { .. } if format == Format::Binary => {
                Err(EngineError::new("CSV exports are read as text"))
            }
            Inner::Csv { .. } => self.stream_csv(table, columns, filter, chunks).await,
        }
    }

    /// Opens sessions in the snapshot for the parallel reads ([`stream`](Self::stream)) to take,
    /// up to `n` waiting, while the copy gets ready: their connections are then off the copy's
    /// path. One that fails is left out; the read that would have taken it connects, and
    /// reports.
    pub async fn open_readers(&self, n: usize) {
        let Inner::Database { target, snapshot: Some(id), readers, opening, .. } = &self.inner
        else {
            return;
        };
        let _opening = opening.lock().await;
        let waiting = readers.lock().map_or(n, |r| r.len());
        let opened = futures_util::future::join_all((waiting..n).map(|_| reader(target, id))).await;
        if let Ok(mut readers) = readers.lock() {
            readers.extend(opened.into_iter().flatten());
        }
    }

    /// Redis: one SCAN step, its keys read (type, TTL, value). The cursor starts and ends at 0.
    pub async fn redis_batch(
        &self,
        cursor: u64,
        count: usize,
    ) -> Result<(u64, Vec<RedisEntry>), EngineError> {
        let Inner::Database { main, .. } = &self.inner else {
            return Err(EngineError::new("CSV exports hold no redis keys"));
        };
        let mut main = main.lock().await;
        let (next, keys) = main.scan_keys(cursor, count).await?;
        let entries = if keys.is_empty() { Vec::new() } else { main.read_keys(&keys).await? };
        Ok((next, entries))
    }

    /// [`stream`](Self::stream) on the session that holds the snapshot: no new connection, for
    /// reads that come one after another (the subset's scans, samples). Not for parallel reads.
    pub async fn stream_serial(
        &self,
        table: &str,
        columns: &[String],
        filter: Option<&str>,
        chunks: tokio::sync::mpsc::Sender<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        match &self.inner {
            Inner::Database { main, .. } => {
                main.lock().await.copy_out(table, columns, filter, Format::Text, chunks).await
            }
            Inner::Csv { .. } => self.stream_csv(table, columns, filter, chunks).await,
        }
    }

    async fn stream_csv(
        &self,
        table: &str,
        columns: &[String],
        filter: Option<&str>,
        chunks: tokio::sync::mpsc::Sender<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        let Inner::Csv { tables, .. } = &self.inner else {
            return Err(EngineError::new("not a CSV source"));
        };
        if filter.is_some() {
            return Err(EngineError::new(format!(
                "{table}: a CSV export cannot be filtered with `where` or `limit`"
            )));
        }
        let csv = tables
            .get(table)
            .cloned()
            .ok_or_else(|| EngineError::new(format!("the exports hold no {table}.csv")))?;
        let columns = columns.to_vec();
        tokio::task::spawn_blocking(move || csvsource::stream(&csv, &columns, chunks))
            .await
            .map_err(|e| EngineError::new(format!("reading {table}.csv stopped: {e}")))?
            .map_err(|e| EngineError::new(e.to_string()))
    }

    /// Ends the snapshot and disconnects.
    pub async fn close(self) {
        if let Inner::Database { main, readers, .. } = self.inner {
            for reader in readers.into_inner().unwrap_or_default() {
                reader.close().await;
            }
            main.into_inner().close().await;
        }
    }
}

/// A new session reading from the snapshot `id` exported.
/// A database source's sessions: the one that reads the catalog and holds the snapshot, the
/// catalog, the snapshot's id (PostgreSQL) and the sessions already in it. PostgreSQL tables are
/// read in parallel by sessions that join the snapshot: they connect at once, the first to answer
/// reads the catalog and takes the snapshot, the others join it when it is taken. One that fails
/// is left out (the read that would take it connects, and reports).
async fn open_sessions(
    target: &Target,
) -> Result<(Session, Catalog, Option<String>, Vec<Session>), EngineError> {
    let sessions = match target.kind {
        EngineKind::Postgres => 1 + super::load::streams(),
        _ => 1,
    };
    let mut connecting: futures_util::stream::FuturesUnordered<_> =
        (0..sessions).map(|_| Session::connect(target)).collect();
    let mut first_error = None;
    let mut main = loop {
        match connecting.next().await {
            Some(Ok(session)) => break session,
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => return Err(first_error.expect("each failed connection left its error")),
        }
    };
    let opening = async {
        // The catalog read runs (and ends) its own transaction: before the snapshot's. Redis
        // has no catalog a copy needs (and a read-only user may not run INFO).
        let catalog = match target.kind {
            EngineKind::Redis => Catalog::default(),
            _ => main.source_catalog().await?,
        };
        let snapshot = main.begin_snapshot().await?;
        Ok::<_, EngineError>((catalog, snapshot))
    };
    let mut spares = Vec::new();
    let others = async {
        while let Some(connected) = connecting.next().await {
            spares.extend(connected.ok());
        }
    };
    let (opened, ()) = tokio::join!(opening, others);
    let (catalog, snapshot) = opened?;
    let Some(id) = &snapshot else {
        futures_util::future::join_all(spares.into_iter().map(Session::close)).await;
        return Ok((main, catalog, snapshot, Vec::new()));
    };
    let joined = spares.into_iter().map(|mut session| async move {
        match session.join_snapshot(id).await {
            Ok(()) => Some(session),
            Err(_) => {
                session.close().await;
                None
            }
        }
    });
    let readers = futures_util::future::join_all(joined).await.into_iter().flatten().collect();
    Ok((main, catalog, snapshot, readers))
}

async fn reader(target: &Target, id: &str) -> Result<Session, EngineError> {
    let mut session = Session::connect(target).await?;
    match session.join_snapshot(id).await {
        Ok(()) => Ok(session),
        Err(e) => {
            session.close().await;
            Err(e)
        }
    }
}
