//! `status`, the reading part: for one database, what version its server runs, whether it
//! answers, where its migrations stand (dbtwin's own history, or another tool's history table set
//! against the folder), its schema fingerprint and whether the schema changed since the last
//! migration, how many tables and rows it holds, and its last seeding (whether it ended, whether
//! it left keys off). Only reads: a URL's session is read-only.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::load::{self, Seeding};
use crate::engine::{EngineError, Session, Target};
use crate::migrate::apply::{self, FINGERPRINT_KEY};
use crate::migrate::discover::{Discovered, MigrationKind};
use crate::migrate::foreign::{self, FileRef, SqlDialect, ToolFile};
use crate::migrate::plan;
use crate::profile::{EngineKind, PinnedVersion};

/// What a database is expected to be: the profile's pin and its migrations folder.
#[derive(Clone, Debug, Default)]
pub struct Expected {
    pub pinned: Option<PinnedVersion>,
    pub migrations: Option<PathBuf>,
    /// The team's own tool runs the migrations: read its history, not dbtwin's.
    pub command: Option<String>,
    /// Whether a dbtwin run holds the database's environment now.
    pub lock: Lock,
}

/// An environment's lock as `status` found it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Lock {
    /// Not looked at: a database given by URL.
    #[default]
    Unknown,
    /// No live run holds it: a seeding that did not end has stopped.
    Free,
    /// A live run holds it (`pid N on HOST`): a seeding that did not end may be under way.
    Held(String),
}

/// Where one database's migrations stand.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Migrations {
    /// Whose history was read: `dbtwin`, or the tool (`flyway`, `sqlx`…); `none` when the
    /// database has no history at all.
    pub history: String,
    pub applied: usize,
    pub pending: Vec<String>,
    /// Applied migrations whose file changed since (`script: recorded → current`).
    pub changed: Vec<String>,
    /// Applied migrations the folder no longer has: a warning, not drift.
    pub unknown: Vec<String>,
    pub failed: Vec<String>,
    /// Whether checksums were compared (false where the tool's cannot be recomputed).
    pub checksums_verified: bool,
}

/// One row of `status`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DatabaseStatus {
    /// `service.database`, or the URL without its password.
    pub name: String,
    pub engine: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    pub server_version: Option<String>,
    pub reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<Migrations>,
    pub fingerprint: Option<String>,
    /// The fingerprint recorded after the last migration dbtwin ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrated_fingerprint: Option<String>,
    pub tables: Option<usize>,
    pub approx_rows: Option<u64>,
    /// The last seeding dbtwin did here, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeding: Option<Seeding>,
    /// Why the database is not what its profile and migrations say (empty: no drift).
    pub drift: Vec<String>,
    pub warnings: Vec<String>,
}

impl DatabaseStatus {
    pub fn has_drift(&self) -> bool {
        !self.drift.is_empty()
    }
}

/// The row of a database whose container is not running.
pub fn not_running(name: &str, engine: String, expected: &Expected, state: &str) -> DatabaseStatus {
    DatabaseStatus {
        name: name.to_string(),
        engine,
        pinned: expected.pinned.as_ref().map(|p| p.as_str().to_string()),
        error: Some(format!("its container is {state}")),
        drift: vec![format!("not running ({state})")],
        ..DatabaseStatus::default()
    }
}

/// Reads one database's status. Never fails: an unreachable database is a row that says so.
pub async fn inspect(name: &str, target: &Target, expected: &Expected) -> DatabaseStatus {
    let mut status = DatabaseStatus {
        name: name.to_string(),
        engine: target.kind.to_string(),
        pinned: expected.pinned.as_ref().map(|p| p.as_str().to_string()),
        ..DatabaseStatus::default()
    };
    let mut session = match Session::connect(target).await {
        Ok(s) => s,
        Err(e) => {
            status.error = Some(error_text(&e));
            status.drift.push("unreachable".into());
            return status;
        }
    };
    status.reachable = true;
    if let Err(e) = read(&mut session, target.kind, expected, &mut status).await {
        status.error = Some(error_text(&e));
        status.drift.push(format!("could not be read: {}", error_text(&e)));
    }
    session.close().await;
    status
}

fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.ends_with(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    text
}

async fn read(
    session: &mut Session,
    kind: EngineKind,
    expected: &Expected,
    status: &mut DatabaseStatus,
) -> Result<(), EngineError> {
    let catalog = session.catalog().await?;
    status.server_version = Some(catalog.server_version.clone());
    // A `mysql://` URL may lead to MariaDB: the server's version says which.
    if kind == EngineKind::Mysql && catalog.server_version.contains("MariaDB") {
        status.engine = EngineKind::Mariadb.to_string();
    }
    if let Some(pinned) = &expected.pinned
        && !pinned.matches(&catalog.server_version)
    {
        status.drift.push(format!(
            "server runs {}, pinned {}",
            catalog.server_version,
            pinned.as_str()
        ));
    }
    if kind == EngineKind::Redis {
        status.approx_rows = catalog.approx_rows();
    } else {
        status.fingerprint = Some(catalog.fingerprint());
        status.tables = Some(catalog.tables.len());
        status.approx_rows = catalog.approx_rows();
    }
    let discovered = match &expected.migrations {
        Some(dir) => match apply::load(dir, kind) {
            Ok(d) => Some(d),
            Err(e) => {
                status.warnings.push(error_text(&e));
                None
            }
        },
        None => None,
    };
    status.migrations = Some(migrations(session, kind, expected, discovered.as_ref()).await?);
    if let Some(m) = &status.migrations {
        if !m.pending.is_empty() {
            status.drift.push(format!("{} migration(s) pending", m.pending.len()));
        }
        if !m.changed.is_empty() {
            status.drift.push(format!("{} applied migration(s) changed", m.changed.len()));
        }
        if !m.failed.is_empty() {
            status.drift.push(format!("{} migration(s) failed", m.failed.len()));
        }
        for unknown in &m.unknown {
            status.warnings.push(format!("applied migration {unknown} is not in the folder"));
        }
    }
    let keys_off = session.load_pending().await?;
    status.seeding = load::seeding(session, keys_off).await?;
    // Keys off change the fingerprint: the schema is compared once they are back.
    if keys_off || status.seeding.as_ref().is_some_and(|s| !s.complete) {
        let off = if keys_off { ", its tables' keys and indexes off meanwhile" } else { "" };
        status.drift.push(match &expected.lock {
            Lock::Held(holder) => {
                format!("the seeding has not ended{off}; {holder} holds the environment now")
            }
            Lock::Free if keys_off => {
                "a seeding stopped before its end and left its tables' keys and indexes off (the \
                 schema is compared again once they are back): `dbtwin seed` puts them back"
                    .to_string()
            }
            Lock::Free => {
                "the last seeding stopped before its end: `dbtwin seed` redoes it".to_string()
            }
            Lock::Unknown => format!(
                "the last seeding did not end (still running, or stopped){off}: the \
                 environment's next `dbtwin seed` finishes it"
            ),
        });
    }
    if kind != EngineKind::Redis {
        status.migrated_fingerprint = session.state(FINGERPRINT_KEY).await?;
        if let (Some(now), Some(then)) = (&status.fingerprint, &status.migrated_fingerprint)
            && now != then
            && !keys_off
        {
            status.drift.push("schema changed since the last migration".into());
        }
    }
    Ok(())
}

async fn migrations(
    session: &mut Session,
    kind: EngineKind,
    expected: &Expected,
    discovered: Option<&Discovered>,
) -> Result<Migrations, EngineError> {
    let files = discovered.map(|d| d.files.as_slice()).unwrap_or_default();
    // An empty dbtwin history says nothing; another tool's may.
    let own = session.history().await?.filter(|rows| !rows.is_empty());
    if expected.command.is_none()
        && let Some(history) = &own
    {
        let p = plan::plan(files, history, apply::statements_are_atomic(kind));
        return Ok(Migrations {
            history: "dbtwin".into(),
            applied: history.iter().filter(|r| r.success).count(),
            pending: if discovered.is_some() { p.pending_scripts } else { Vec::new() },
            changed: p
                .changed
                .iter()
                .map(|c| format!("{}: {} → {}", c.script, short(&c.recorded), short(&c.current)))
                .collect(),
            unknown: if discovered.is_some() { p.missing } else { Vec::new() },
            failed: p.failed.iter().map(|f| f.script.clone()).collect(),
            checksums_verified: discovered.is_some(),
        });
    }
    // Another tool's history: the first one found (a database rarely has two).
    let dialect = match kind {
        EngineKind::Postgres => SqlDialect::Postgres,
        _ => SqlDialect::Mysql,
    };
    for (table, columns) in session.tool_tables().await? {
        let Some(tool) = foreign::identify(&table, &columns) else { continue };
        let rows = session.query_text(&tool.select_from(dialect, &table)).await?;
        let history = tool.parse_rows(rows).map_err(|e| {
            EngineError::new(format!("unreadable {} history in {table}", tool.name()))
                .with_source(e)
        })?;
        let history = match expected.migrations.as_deref().and_then(django_app) {
            Some(app) => history.for_django_app(&app),
            None => history,
        };
        // The folder as the tool lays it out where dbtwin's own discovery would not read it
        // (Prisma's folder per migration, Django's Python modules); else the discovered files.
        let tool_files: Option<Vec<ToolFile>> = match (&expected.migrations, discovered) {
            (Some(dir), _) => tool.read_folder(dir).transpose().map_err(|e| {
                EngineError::new(format!("failed to read migrations folder {}", dir.display()))
                    .with_source(e)
            })?,
            (None, _) => None,
        };
        let refs: Vec<FileRef> = match &tool_files {
            Some(files) => files.iter().map(ToolFile::as_file_ref).collect(),
            None => files
                .iter()
                .map(|f| FileRef {
                    version: match &f.kind {
                        MigrationKind::Versioned(v) => Some(v),
                        MigrationKind::Repeatable => None,
                    },
                    description: &f.description,
                    script: &f.script,
                    content: &f.content,
                })
                .collect(),
        };
        let compared = foreign::compare(&history, &refs);
        return Ok(Migrations {
            history: tool.name().to_string(),
            applied: compared.applied,
            pending: if discovered.is_some() { compared.pending } else { Vec::new() },
            changed: compared
                .changed
                .iter()
                .map(|c| format!("{}: {} → {}", c.script, c.recorded, c.current))
                .collect(),
            unknown: if discovered.is_some() { compared.unknown } else { Vec::new() },
            failed: compared.failed,
            checksums_verified: compared.checksums_verified && discovered.is_some(),
        });
    }
    // No history anywhere: everything in the folder is pending.
    Ok(Migrations {
        history: "none".into(),
        pending: files.iter().map(|f| f.script.clone()).collect(),
        ..Migrations::default()
    })
}

/// Django's default app label is the folder above `migrations/`.
fn django_app(dir: &Path) -> Option<String> {
    let parent = dir.parent()?;
    Some(parent.file_name()?.to_string_lossy().into_owned())
}

fn short(checksum: &str) -> &str {
    &checksum[..checksum.len().min(12)]
}
