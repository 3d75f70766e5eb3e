//! Seeding one database: plan against its schema, then stream generated rows through the
//! engine's bulk path, several tables at once, generation in parallel with loading.
//!
//! Memory stays bounded whatever the row counts: each table's rows are generated on a blocking
//! thread into chunks of about [`CHUNK_BYTES`], and a channel of [`CHUNKS_IN_FLIGHT`] chunks
//! carries them to the connection that loads them, so a generator waits when the server is the
//! slower side. Tables load on [`streams`] connections at once; the keys and indexes the loader
//! took away (PostgreSQL) are rebuilt in parallel too, then the foreign keys, which the server
//! validates as it adds them.
//!
//! A database is seeded once: the seeding is recorded in dbtwin_state (`seeded`), and a later run
//! leaves it alone unless asked to reseed, which empties the tables it fills and fills them again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::Sender;

use super::copy::{MaskedInput, MaskedSources, Unruled};
use super::generate::{Dialect, TableGen, plain};
use super::infer::{self, Existing, Plan};
use super::seedfile::{RedisValue, SeedFile};
use crate::engine::EngineError;
use crate::engine::bulk::Format;
use crate::engine::session::{Restore, Session};
use crate::engine::target::Target;
use crate::event::{DbRef, Event, Events};
use crate::profile::{EngineKind, ProfileErrors};
use crate::schema::Catalog;

pub use crate::engine::bulk::CHUNK_BYTES;
/// Chunks waiting per table: the memory bound is about `CHUNK_BYTES × CHUNKS_IN_FLIGHT × streams`.
pub const CHUNKS_IN_FLIGHT: usize = 4;
/// Redis commands per pipeline.
const REDIS_BATCH: usize = 1_000;
/// The dbtwin_state key that records a seeding.
pub const SEEDED_KEY: &str = "seeded";

/// Connections loading at once: one per core, at least 2 (the server works while we generate).
pub fn streams() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8)
}

/// What to seed.
pub struct Request<'a> {
    pub db: DbRef,
    pub target: &'a Target,
    pub file: &'a SeedFile,
    pub seed: u64,
    pub scale: f64,
    /// Empty and refill a database seeded before.
    pub reseed: bool,
    /// The run's production sources (opened on first use), for seed files that copy one.
    pub sources: Option<&'a MaskedSources>,
}

/// What a seeding did.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Rows (Redis: keys) per table (key family), in load order.
    pub tables: Vec<(String, u64)>,
    pub rows: u64,
    pub elapsed_ms: u64,
    /// Tables left as they were (reference data the migrations inserted).
    pub kept: Vec<String>,
    /// Set when nothing was done because the database was seeded before.
    pub skipped: Option<String>,
}

/// The record kept in dbtwin_state.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Seeded {
    seed: u64,
    file: String,
    checksum: String,
    scale: f64,
    at: String,
    rows: BTreeMap<String, u64>,
    #[serde(default)]
    kept: Vec<String>,
    /// False while a seeding is under way (written before the first row): a seeding that failed
    /// or was interrupted is redone by the next run, and the tables it half filled are not taken
    /// for reference data.
    #[serde(default = "complete_default")]
    complete: bool,
}

fn complete_default() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The seed file does not fit the schema; found before any row was written.
    #[error("{db}: the seed file {file} does not fit the schema:\n{errors}")]
    Plan { db: DbRef, file: String, errors: ProfileErrors },
    #[error("{db}: failed to seed")]
    Engine {
        db: DbRef,
        #[source]
        source: EngineError,
    },
    #[error("{db}: failed to read the source")]
    Source {
        db: DbRef,
        #[source]
        source: EngineError,
    },
    /// Columns that look personal have no masking rule (`unmasked: fail`).
    #[error(
        "{db}: {} columns look personal and have no masking rule in {file}:\n{}",
        columns.len(),
        columns.iter().map(|c| format!("  {c}")).collect::<Vec<_>>().join("\n")
    )]
    Unmasked { db: DbRef, file: String, columns: Vec<Unruled> },
    /// Masking needs a secret and none was given.
    #[error("{db}: no masking key: {message}")]
    Key { db: DbRef, message: String },
    /// A failure of work shared by several databases (opening the run's sources), the same for
    /// each.
    #[error(transparent)]
    Shared(Arc<DataError>),
}

impl DataError {
    /// The error itself, through [`DataError::Shared`].
    pub fn root(&self) -> &DataError {
        match self {
            DataError::Shared(e) => e.root(),
            e => e,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            DataError::Shared(e) => e.hint(),
            DataError::Plan { .. } => Some(
                "name the columns or tables in the seed file; a rule there wins over inference"
                    .into(),
            ),
            DataError::Engine { .. } | DataError::Source { .. } => None,
            DataError::Key { .. } => Some(
                "set DBTWIN_MASK_KEY (or DBTWIN_MASK_KEY_FILE, or `key_file:` in the seed file) \
                 to the project's masking secret; the same key gives the same masked values"
                    .into(),
            ),
            DataError::Unmasked { .. } => Some(
                "give each a rule under `mask:` (`keep` if it is not personal), or set \
                 `unmasked: warn` to copy them as they are"
                    .into(),
            ),
        }
    }
}

/// What [`seed`] reads of a database before it writes anything, read while the environment's
/// lock is being taken (`dbtwin seed`): the session, the seeding record, the catalog and, for a
/// masked copy, the load streams' sessions. Nothing is written. Once the lock is held the reads
/// count only if the database's [change mark](Session::change_mark) is still the one taken
/// before them (no write ended since, none was under way); else they are made again.
pub struct Ahead {
    session: Session,
    mark: Option<String>,
    previous: Option<Seeded>,
    catalog: Option<Catalog>,
    loaders: Vec<Session>,
}

/// What was read ahead and still holds.
#[derive(Default)]
struct Known {
    /// The seeding record, when read ahead (`Some(None)`: there is none).
    previous: Option<Option<Seeded>>,
    catalog: Option<Catalog>,
    /// Sessions for the load streams.
    loaders: Vec<Session>,
}

impl Ahead {
    /// Connects and reads, without writing. Reads only on an engine with a change mark; the
    /// catalog and the streams' sessions only when the database will be seeded.
    pub async fn read(
        target: &Target,
        file: &SeedFile,
        reseed: bool,
    ) -> Result<Ahead, EngineError> {
        let mut session = Session::connect(target).await?;
        let mark = session.change_mark().await?;
        let mut ahead = Ahead { session, mark, previous: None, catalog: None, loaders: Vec::new() };
        if ahead.mark.is_none() {
            return Ok(ahead);
        }
        ahead.previous = read_previous(&mut ahead.session).await?;
        if reseed || !ahead.previous.as_ref().is_some_and(|p| p.complete) {
            let streams = if file.masked.source.is_some() { streams() } else { 0 };
            let loaders = (0..streams).map(|_| Session::connect(target));
            let (catalog, loaders) =
                tokio::join!(ahead.session.catalog(), futures_util::future::join_all(loaders));
            ahead.catalog = Some(catalog?);
            ahead.loaders = loaders.into_iter().flatten().collect();
        }
        Ok(ahead)
    }

    /// Drops what was read and keeps the sessions: for a lock taken over from a run that died,
    /// whose last statements the server may still be ending.
    pub fn forget(self) -> Ahead {
        Ahead { mark: None, previous: None, catalog: None, ..self }
    }

    /// Whether what was read still holds: it was read (the engine has a mark and no write was
    /// under way) and the database's mark is still the one taken before the reads.
    pub async fn holds(&mut self) -> Result<bool, EngineError> {
        Ok(match &self.mark {
            Some(mark) => self.session.change_mark().await?.as_ref() == Some(mark),
            None => false,
        })
    }

    /// Under the lock: the session, and the reads if they still hold.
    async fn confirm(mut self) -> Result<(Session, Known), EngineError> {
        let known = if self.holds().await? {
            Known { previous: Some(self.previous), catalog: self.catalog, loaders: self.loaders }
        } else {
            Known { loaders: self.loaders, ..Known::default() }
        };
        Ok((self.session, known))
    }
}

async fn read_previous(session: &mut Session) -> Result<Option<Seeded>, EngineError> {
    Ok(session.state(SEEDED_KEY).await?.and_then(|json| serde_json::from_str(&json).ok()))
}

/// A database's last seeding as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Seeding {
    /// The seed file's path, as dbtwin resolved it from the profile.
    pub file: String,
    pub seed: u64,
    /// When it ended (UTC, RFC 3339); empty while it has not.
    pub at: String,
    /// Rows (Redis: keys) it wrote; 0 while it has not ended.
    pub rows: u64,
    /// False when it has not ended: still running, or stopped (failed, killed, the machine
    /// went down). The next `dbtwin seed` does it again.
    pub complete: bool,
    /// What it took off to load (keys, indexes, foreign keys; triggers on MySQL and MariaDB) is
    /// still off: a load that did not end and could not put it back. The next load does.
    pub keys_off: bool,
}

/// Reads a database's last seeding, without writing; `None` when dbtwin never seeded it.
/// `keys_off`: [`Session::load_pending`], read by the caller (it means something without a
/// seeding record too).
pub async fn seeding(
    session: &mut Session,
    keys_off: bool,
) -> Result<Option<Seeding>, EngineError> {
    Ok(read_previous(session).await?.map(|s| Seeding {
        file: s.file,
        seed: s.seed,
        at: s.at,
        rows: s.rows.values().sum(),
        complete: s.complete,
        keys_off,
    }))
}

/// Seeds one database; `ahead` is what was read of it before the environment's lock was held.
pub async fn seed(
    request: &Request<'_>,
    ahead: Option<Result<Ahead, EngineError>>,
    events: &Events,
) -> Result<Outcome, DataError> {
    let wrap = |source: EngineError| DataError::Engine { db: request.db.clone(), source };
    let started = Instant::now();
    let (mut session, Known { previous, mut catalog, loaders }) = match ahead {
        Some(ahead) => ahead.map_err(wrap)?.confirm().await.map_err(wrap)?,
        None => (Session::connect(request.target).await.map_err(wrap)?, Known::default()),
    };
    let previous = match previous {
        Some(previous) => previous,
        None => read_previous(&mut session).await.map_err(wrap)?,
    };
    if let Some(previous) = previous.as_ref().filter(|p| p.complete)
        && !request.reseed
    {
        session.close().await;
        close_all(loaders).await;
        let mut reason = format!("seeded before (at {}, seed {})", previous.at, previous.seed);
        // Say when the data no longer follows what the files say: the user may want a reseed.
        if previous.checksum != request.file.checksum {
            reason.push_str("; the seed file changed since");
        }
        if previous.seed != request.seed {
            reason.push_str(&format!("; the seed is now {}", request.seed));
        }
        events.emit(Event::SeedDone {
            db: request.db.clone(),
            rows: 0,
            elapsed_ms: 0,
            skipped: Some(reason.clone()),
        });
        return Ok(Outcome {
            tables: Vec::new(),
            rows: 0,
            elapsed_ms: 0,
            kept: Vec::new(),
            skipped: Some(reason),
        });
    }
    // A load that did not end (killed, the machine stopped) may have left keys off: they come
    // back first, the tables that load emptied emptied again, so that the plan and the checks
    // below read the schema whole (a primary key missing there would be generated as any
    // column, and collide when it comes back).
    if session.load_pending().await.map_err(wrap)? {
        session.mend_load().await.map_err(wrap)?;
        catalog = None;
    }
    let masked = match (&request.file.masked.source, request.sources) {
        (None, _) => None,
        (Some(_), Some(sources)) => sources.input(&request.db).await?,
        (Some(_), None) => None,
    };
    let result = match masked {
        Some(input) => seed_masked(&mut session, request, &input, catalog, loaders, events).await,
        None => {
            close_all(loaders).await;
            if request.file.masked.source.is_some() {
                Err(wrap(EngineError::new(
                    "the seed file copies a source, and this command opened none",
                )))
            } else if session.kind() == EngineKind::Redis {
                seed_redis(&mut session, request, events).await
            } else {
                seed_tables(&mut session, request, previous.as_ref(), catalog, events).await
            }
        }
    };
    let outcome = match result {
        Ok(mut outcome) => {
            outcome.elapsed_ms = started.elapsed().as_millis() as u64;
            let record = Seeded {
                seed: request.seed,
                file: request.file.path.display().to_string(),
                checksum: request.file.checksum.clone(),
                scale: request.scale,
                at: crate::engine::utc_timestamp(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64),
                ),
                rows: outcome.tables.iter().cloned().collect(),
                kept: outcome.kept.clone(),
                complete: true,
            };
            let json = serde_json::to_string(&record).unwrap_or_default();
            session.set_state(SEEDED_KEY, &json).await.map_err(wrap)?;
            events.emit(Event::SeedDone {
                db: request.db.clone(),
                rows: outcome.rows,
                elapsed_ms: outcome.elapsed_ms,
                skipped: None,
            });
            Ok(outcome)
        }
        Err(e) => Err(e),
    };
    session.close().await;
    outcome
}

/// Closes sessions that were opened ahead and not used.
pub(super) async fn close_all(sessions: Vec<Session>) {
    futures_util::future::join_all(sessions.into_iter().map(Session::close)).await;
}

/// A masked copy, then the tables the seed file generates (which may reference copied rows).
/// `catalog` and `loaders` are the target's, when read and opened ahead.
async fn seed_masked(
    session: &mut Session,
    request: &Request<'_>,
    input: &MaskedInput,
    catalog: Option<Catalog>,
    loaders: Vec<Session>,
    events: &Events,
) -> Result<Outcome, DataError> {
    let wrap = |source: EngineError| DataError::Engine { db: request.db.clone(), source };
    let pending = Seeded {
        seed: request.seed,
        file: request.file.path.display().to_string(),
        checksum: request.file.checksum.clone(),
        scale: request.scale,
        complete: false,
        ..Seeded::default()
    };
    let json = serde_json::to_string(&pending).unwrap_or_default();
    session.set_state(SEEDED_KEY, &json).await.map_err(wrap)?;
    let mut outcome = if session.kind() == EngineKind::Redis {
        close_all(loaders).await;
        super::copy_redis::copy(session, request, input, events).await?
    } else {
        super::copy::copy(session, request, input, catalog, loaders, events).await?
    };
    if !request.file.tables.is_empty() {
        // The copied tables are reference data for the generated ones.
        let copied = Seeded {
            kept: outcome.tables.iter().map(|(t, _)| t.clone()).collect(),
            ..Seeded::default()
        };
        let generated = seed_tables(session, request, Some(&copied), None, events).await?;
        outcome.rows += generated.rows;
        outcome.tables.extend(generated.tables);
    }
    Ok(outcome)
}

/// Generated rows for the seed file's tables; `catalog` is the target's, when read ahead.
async fn seed_tables(
    session: &mut Session,
    request: &Request<'_>,
    previous: Option<&Seeded>,
    catalog: Option<Catalog>,
    events: &Events,
) -> Result<Outcome, DataError> {
    let wrap = |source: EngineError| DataError::Engine { db: request.db.clone(), source };
    let catalog = match catalog {
        Some(catalog) => catalog,
        None => session.catalog().await.map_err(wrap)?,
    };
    let names: Vec<String> = catalog.tables.keys().cloned().collect();
    // Tables holding rows now are reference data, unless dbtwin filled them (a reseed keeps
    // what the first seeding kept).
    let filled = match previous {
        Some(p) => p.kept.iter().cloned().collect(),
        None => session.filled_tables(&names).await.map_err(wrap)?,
    };
    let mut existing: Existing = BTreeMap::new();
    for (table, columns) in infer::kept_references(&catalog, request.file, &filled) {
        let rows = session.key_rows(&table, &columns).await.map_err(wrap)?;
        existing.insert((table, columns), Arc::new(rows));
    }
    let dialect =
        if session.kind() == EngineKind::Postgres { Dialect::Postgres } else { Dialect::Mysql };
    let plan = infer::plan(
        &catalog,
        request.file,
        request.seed,
        request.scale,
        dialect,
        &filled,
        &existing,
    )
    .map_err(|errors| DataError::Plan {
        db: request.db.clone(),
        file: request.file.path.display().to_string(),
        errors: ProfileErrors(errors),
    })?;
    events.emit(Event::SeedPlanned {
        db: request.db.clone(),
        tables: plan.tables.len(),
        rows: plan.total_rows(),
        kept: plan.kept.clone(),
    });

    let pending = Seeded {
        seed: request.seed,
        file: request.file.path.display().to_string(),
        checksum: request.file.checksum.clone(),
        scale: request.scale,
        kept: plan.kept.clone(),
        complete: false,
        ..Seeded::default()
    };
    let json = serde_json::to_string(&pending).unwrap_or_default();
    session.set_state(SEEDED_KEY, &json).await.map_err(wrap)?;

    let loaded: Vec<String> = plan.tables.iter().map(|t| t.name.clone()).collect();
    let mut emptied = loaded.clone();
    emptied.extend(plan.empty.iter().cloned());
    let restore = session.prepare_load(&emptied, true, &loaded).await.map_err(wrap)?;

    let Plan { tables, kept, .. } = plan;
    let tables = Arc::new(tables);
    let (own_keys, other_keys) = split_keys(&restore, &loaded);
    let counts = match load_all(request, &tables, &own_keys, dialect, events).await {
        Ok(counts) => counts,
        Err(e) => return Err(abandon(session, request, &emptied, e, events).await),
    };
    if let Err(e) = restore_rest(session, request, &restore, other_keys, events).await {
        return Err(abandon(session, request, &emptied, e, events).await);
    }
    let rows = counts.iter().map(|(_, n)| n).sum();
    Ok(Outcome { tables: counts, rows, elapsed_ms: 0, kept, skipped: None })
}

/// A load of `tables` that failed once it may have taken keys off: if it did, the tables are
/// emptied and the keys put back now (failing that, a warning: the next load puts them back).
/// The seeding record still says incomplete. Returns the load's error.
pub(super) async fn abandon(
    session: &mut Session,
    request: &Request<'_>,
    tables: &[String],
    error: DataError,
    events: &Events,
) -> DataError {
    if let Err(e) = session.recover_load(tables).await {
        events.emit(Event::Warning {
            db: Some(request.db.clone()),
            message: format!(
                "the keys taken off for the load are not back ({e}); the next seed puts them back"
            ),
        });
    }
    error
}

/// Loads every table, [`streams`] at a time, each on its own connection.
async fn load_all(
    request: &Request<'_>,
    tables: &Arc<Vec<TableGen>>,
    keys: &BTreeMap<String, Vec<String>>,
    dialect: Dialect,
    events: &Events,
) -> Result<Vec<(String, u64)>, DataError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let results: Vec<(usize, u64)> = stream::iter(0..tables.len())
        .map(|index| {
            let table = &tables[index];
            let fill = Fill {
                name: table.name.clone(),
                columns: table.columns.iter().map(|c| c.name.clone()).collect(),
                total: table.rows,
                keys: keys.get(&table.name).map_or(&[][..], Vec::as_slice),
                format: Format::Text,
                session: None,
            };
            let tables = tables.clone();
            let produce = move |tx: Sender<Vec<u8>>, done: Arc<AtomicU64>| async move {
                let generated = tokio::task::spawn_blocking(move || {
                    let table = &tables[index];
                    let mut row = 0;
                    while row < table.rows {
                        let mut chunk = Vec::with_capacity(CHUNK_BYTES + 4096);
                        let start = row;
                        // Rows in small steps until the chunk is full: sizes are not known ahead.
                        while row < table.rows && chunk.len() < CHUNK_BYTES {
                            let end = (row + 256).min(table.rows);
                            table.write_rows(&tables, row..end, dialect, &mut chunk);
                            row = end;
                        }
                        done.fetch_add(row - start, Ordering::Relaxed);
                        // The loader went away (it failed, or the run was interrupted): stop.
                        if tx.blocking_send(chunk).is_err() {
                            return row;
                        }
                    }
                    row
                })
                .await;
                generated.map_err(|_| "the row generator stopped early".to_owned())
            };
            async move { fill_table(request, fill, produce, events).await.map(|rows| (index, rows)) }
        })
        .buffer_unordered(streams())
        .try_collect()
        .await?;
    let mut counts: Vec<(String, u64)> = tables.iter().map(|t| (t.name.clone(), 0)).collect();
    for (index, rows) in results {
        counts[index].1 = rows;
    }
    Ok(counts)
}

/// One table to fill through the engine's bulk path.
pub(super) struct Fill<'k> {
    pub name: String,
    pub columns: Vec<String>,
    /// Rows expected (an estimate when the rows come from a source), for progress.
    pub total: u64,
    /// The table's own keys and indexes, rebuilt on the same connection once its rows are in.
    pub keys: &'k [String],
    /// How the rows are written.
    pub format: Format,
    /// A session to the target opened ahead, else the fill connects one.
    pub session: Option<Session>,
}

/// Fills one table on its own connection: `produce` writes chunks of rows in `fill`'s format
/// (the text bulk format, or PostgreSQL's binary one) into the channel, counts them in `done` as it goes, and returns how many it wrote;
/// the rows the server took must be exactly those. Then the table's keys come back and its
/// sequences and statistics are brought up to date.
pub(super) async fn fill_table<P, F>(
    request: &Request<'_>,
    fill: Fill<'_>,
    produce: P,
    events: &Events,
) -> Result<u64, DataError>
where
    P: FnOnce(Sender<Vec<u8>>, Arc<AtomicU64>) -> F,
    F: Future<Output = Result<u64, String>>,
{
    let wrap = |source: EngineError| DataError::Engine { db: request.db.clone(), source };
    let Fill { name, columns, total, keys, format, session } = fill;
    let mut session = match session {
        Some(session) => session,
        None => Session::connect(request.target).await.map_err(wrap)?,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
    let done = Arc::new(AtomicU64::new(0));
    let producing = produce(tx, done.clone());
    events.emit(Event::SeedProgress {
        db: request.db.clone(),
        table: name.clone(),
        rows: 0,
        total,
        elapsed_ms: 0,
        done: false,
    });
    let started = Instant::now();
    let loading = session.load_rows(&name, &columns, format, rx);
    let progress = async {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            events.emit(Event::SeedProgress {
                db: request.db.clone(),
                table: name.clone(),
                rows: done.load(Ordering::Relaxed),
                total: total.max(done.load(Ordering::Relaxed)),
                elapsed_ms: started.elapsed().as_millis() as u64,
                done: false,
            });
        }
    };
    // A producer that fails (a leak found, a source that broke) must not let the rows already
    // sent commit: the load is dropped mid-stream, which aborts it (PostgreSQL's COPY fails,
    // MySQL's connection is closed with its transaction), and the session is not used again.
    let (loaded, produced) = {
        tokio::pin!(loading, producing, progress);
        let (mut loaded, mut produced) = (None, None);
        while loaded.is_none() || produced.is_none() {
            tokio::select! {
                l = &mut loading, if loaded.is_none() => loaded = Some(l),
                p = &mut producing, if produced.is_none() => {
                    let failed = p.is_err();
                    produced = Some(p);
                    if failed {
                        break;
                    }
                }
                () = &mut progress => unreachable!("the progress loop never ends"),
            }
        }
        (loaded, produced)
    };
    let produced = produced.expect("the loop ends once the producer has ended");
    let Some(loaded) = loaded else {
        drop(session);
        let e = produced.expect_err("only a failed producer leaves the load unfinished");
        return Err(wrap(EngineError::new(format!("{name}: {e}; nothing of it was loaded"))));
    };
    let rebuilt = match (&loaded, &produced) {
        (Ok(_), Ok(_)) => match session.restore(keys).await {
            Ok(()) => session.finish_tables(std::slice::from_ref(&name)).await,
            Err(e) => Err(e),
        },
        _ => Ok(()),
    };
    session.close().await;
    // A producer that failed ended its stream early: what the server took is not all of it.
    let produced = produced.map_err(|e| wrap(EngineError::new(format!("{name}: {e}"))))?;
    let rows = loaded.map_err(wrap)?;
    if rows != produced {
        return Err(wrap(EngineError::new(format!(
            "{name}: {rows} of {produced} rows were loaded (the rows stopped early)"
        ))));
    }
    rebuilt.map_err(wrap)?;
    events.emit(Event::SeedProgress {
        db: request.db.clone(),
        table: name,
        rows,
        total: rows,
        elapsed_ms: started.elapsed().as_millis() as u64,
        done: true,
    });
    Ok(rows)
}

/// Each table's own keys and indexes are rebuilt on its connection as soon as its rows are in,
/// while other tables still load; what belongs to no loaded table (MySQL's triggers, keys of
/// tables that get no rows) comes after every load. Returns (own keys by table, the rest).
pub(super) fn split_keys(
    restore: &Restore,
    loaded: &[String],
) -> (BTreeMap<String, Vec<String>>, Vec<Vec<String>>) {
    let mut own_keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut other_keys: Vec<Vec<String>> = Vec::new();
    for (table, statements) in &restore.keys {
        if loaded.contains(table) {
            own_keys.entry(table.clone()).or_default().extend(statements.iter().cloned());
        } else {
            other_keys.push(statements.clone());
        }
    }
    (own_keys, other_keys)
}

/// After every table is in: what belongs to no table, then the foreign keys (the server
/// validates each as it comes back), then the restore records cleared.
pub(super) async fn restore_rest(
    session: &mut Session,
    request: &Request<'_>,
    restore: &Restore,
    other_keys: Vec<Vec<String>>,
    events: &Events,
) -> Result<(), DataError> {
    let started = Instant::now();
    run_parallel(session, request, other_keys).await?;
    let fks: Vec<Vec<String>> = restore.foreign_keys.iter().map(|s| vec![s.clone()]).collect();
    run_parallel(session, request, fks).await?;
    session
        .finish_load()
        .await
        .map_err(|source| DataError::Engine { db: request.db.clone(), source })?;
    if !restore.is_empty() {
        events.emit(Event::SeedKeysRestored {
            db: request.db.clone(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        });
    }
    Ok(())
}

/// Runs groups of statements, each group in order on its own connection, [`streams`] at once:
/// the first on `session`, the others on connections of their own.
async fn run_parallel(
    session: &mut Session,
    request: &Request<'_>,
    groups: Vec<Vec<String>>,
) -> Result<(), DataError> {
    use futures_util::stream::{self, StreamExt};
    let wrap = |source: EngineError| DataError::Engine { db: request.db.clone(), source };
    let mut groups = groups.into_iter().filter(|g| !g.is_empty());
    let Some(first) = groups.next() else {
        return Ok(());
    };
    let on_session = async {
        let result = session.restore(&first).await;
        (first, result)
    };
    let others = stream::iter(groups)
        .map(|group| async move {
            let result = match Session::connect(request.target).await {
                Ok(mut session) => {
                    let result = session.restore(&group).await;
                    session.close().await;
                    result
                }
                Err(e) => Err(e),
            };
            (group, result)
        })
        .buffer_unordered(streams().saturating_sub(1).max(1))
        .collect::<Vec<_>>();
    let (first, mut results) = tokio::join!(on_session, others);
    results.insert(0, first);
    // Two foreign keys between the same tables, added at once in opposite directions (a cycle),
    // can deadlock on the tables' locks: the server gives up one of them, which then runs again
    // alone. A single statement that failed changed nothing, so running it again is safe.
    let mut again = Vec::new();
    for (group, result) in results {
        match result {
            Ok(()) => {}
            Err(e) if group.len() == 1 && deadlocked(&e) => again.push(group),
            Err(e) => return Err(wrap(e)),
        }
    }
    if again.is_empty() {
        return Ok(());
    }
    for group in &again {
        session.restore(group).await.map_err(wrap)?;
    }
    Ok(())
}

/// Whether the server chose this statement as a deadlock's victim.
fn deadlocked(error: &EngineError) -> bool {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.contains("deadlock detected") || text.contains("Deadlock found")
}

/// Redis: each key family's keys, values and TTLs as pipelined commands.
async fn seed_redis(
    session: &mut Session,
    request: &Request<'_>,
    events: &Events,
) -> Result<Outcome, DataError> {
    let wrap = |source: EngineError| DataError::Engine { db: request.db.clone(), source };
    let families =
        infer::redis_plan(request.file, request.seed, request.scale).map_err(|errors| {
            DataError::Plan {
                db: request.db.clone(),
                file: request.file.path.display().to_string(),
                errors: ProfileErrors(errors),
            }
        })?;
    let total: u64 = families.iter().map(|f| f.keys.rows).sum();
    events.emit(Event::SeedPlanned {
        db: request.db.clone(),
        tables: families.len(),
        rows: total,
        kept: Vec::new(),
    });
    session.prepare_load(&[], request.reseed, &[]).await.map_err(wrap)?;
    let mut counts = Vec::new();
    for family in families {
        let family = Arc::new(family);
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Vec<String>>>(CHUNKS_IN_FLIGHT);
        let generator = {
            let family = family.clone();
            tokio::task::spawn_blocking(move || {
                let mut batch = Vec::with_capacity(REDIS_BATCH);
                for row in 0..family.keys.rows {
                    batch.extend(family.commands(row));
                    if batch.len() >= REDIS_BATCH
                        && tx.blocking_send(std::mem::take(&mut batch)).is_err()
                    {
                        return;
                    }
                }
                if !batch.is_empty() {
                    let _ = tx.blocking_send(batch);
                }
            })
        };
        let started = Instant::now();
        let result = session.load_commands(rx).await;
        let generated = generator.await;
        result.map_err(wrap)?;
        if generated.is_err() {
            return Err(wrap(EngineError::new(format!(
                "{}: the key generator stopped early",
                family.name
            ))));
        }
        events.emit(Event::SeedProgress {
            db: request.db.clone(),
            table: family.name.clone(),
            rows: family.keys.rows,
            total: family.keys.rows,
            elapsed_ms: started.elapsed().as_millis() as u64,
            done: true,
        });
        counts.push((family.name.clone(), family.keys.rows));
    }
    let rows = counts.iter().map(|(_, n)| n).sum();
    Ok(Outcome { tables: counts, rows, elapsed_ms: 0, kept: Vec::new(), skipped: None })
}

/// One Redis key family, generated like a table: column 0 is the key, the others the values.
pub struct KeyFamily {
    pub name: String,
    pub keys: TableGen,
    /// Per-member values for sets, sorted sets and lists (row `key × max + j`).
    pub members: Option<TableGen>,
    pub value: RedisValue,
    pub ttl: Option<(u64, u64)>,
}

impl KeyFamily {
    /// The commands that write key `row`.
    pub fn commands(&self, row: u64) -> Vec<Vec<String>> {
        let text = |t: &TableGen, i: usize, r: u64| plain(&t.value(&[], i, r));
        let key = text(&self.keys, 0, row);
        let mut commands = Vec::new();
        match &self.value {
            RedisValue::String(_) => {
                commands.push(vec!["SET".into(), key.clone(), text(&self.keys, 1, row)]);
            }
            RedisValue::Hash(fields) => {
                let mut command = vec!["HSET".to_owned(), key.clone()];
                for (i, field) in fields.keys().enumerate() {
                    command.push(field.clone());
                    command.push(text(&self.keys, i + 1, row));
                }
                commands.push(command);
            }
            RedisValue::Set { members, .. }
            | RedisValue::List { members, .. }
            | RedisValue::Zset { members, .. } => {
                let (min, max) = *members;
                let count = min + super::rng::RowRng::new(self.keys.key, row).below(max - min + 1);
                let Some(values) = &self.members else { return commands };
                let verb = match &self.value {
                    RedisValue::Set { .. } => "SADD",
                    RedisValue::List { .. } => "RPUSH",
                    _ => "ZADD",
                };
                let mut command = vec![verb.to_owned(), key.clone()];
                for j in 0..count {
                    let r = row * max.max(1) + j;
                    if verb == "ZADD" {
                        command.push(text(values, 1, r));
                    }
                    command.push(text(values, 0, r));
                }
                if count > 0 {
                    commands.push(command);
                }
            }
        }
        if let Some((min, max)) = self.ttl {
            let ttl = min + super::rng::RowRng::new(self.keys.key ^ 1, row).below(max - min + 1);
            commands.push(vec!["EXPIRE".into(), key, ttl.max(1).to_string()]);
        }
        commands
    }
}
