//! The typed events every layer emits while it works. Core code never prints: it sends events to
//! an [`Events`] sink, and a reporter (human, JSON Lines, quiet) decides how they look. Events
//! never carry a password: URLs in them are redacted before they are built.

use std::sync::Arc;

use serde::Serialize;

/// One database of an environment, as `service.database`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DbRef {
    pub service: String,
    pub database: String,
}

impl DbRef {
    pub fn new(service: impl Into<String>, database: impl Into<String>) -> Self {
        DbRef { service: service.into(), database: database.into() }
    }
}

impl std::fmt::Display for DbRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.service, self.database)
    }
}

/// Something that happened. Serialized with an `event` tag for the JSON Lines reporter.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// `up` decided what to do for each database.
    Plan {
        env: String,
        actions: Vec<PlannedAction>,
    },
    ImagePresent {
        image: String,
    },
    ImagePullStarted {
        image: String,
    },
    ImagePullProgress {
        image: String,
        current: u64,
        total: u64,
    },
    ImagePulled {
        image: String,
    },
    NetworkCreated {
        name: String,
    },
    LockAcquired {
        env: String,
    },
    /// A stale lock (its owner process is gone) was taken over.
    LockTakenOver {
        env: String,
        owner: String,
    },
    DatabaseCreated {
        db: DbRef,
        container: String,
    },
    DatabaseStarted {
        db: DbRef,
        port: u16,
    },
    /// Waiting for the server to answer; `attempt` counts probes.
    DatabaseWaiting {
        db: DbRef,
        attempt: u32,
        reason: String,
    },
    DatabaseReady {
        db: DbRef,
        engine: String,
        pinned: String,
        server_version: String,
        elapsed_ms: u64,
    },
    /// The application's role and the profile's extensions are in place.
    DatabaseConfigured {
        db: DbRef,
        role: String,
        extensions: Vec<String>,
    },
    /// A database is ready for the application: started, configured, migrated.
    DatabaseDone {
        db: DbRef,
        migrations_applied: usize,
    },
    /// The migrations of a database were compared with its history.
    MigrationsPlanned {
        db: DbRef,
        applied: usize,
        pending: usize,
    },
    MigrationApplied {
        db: DbRef,
        script: String,
        elapsed_ms: u64,
    },
    /// The team's own migration tool runs for a database.
    MigrationCommand {
        db: DbRef,
        command: String,
    },
    /// A database's seeding was planned against its schema.
    SeedPlanned {
        db: DbRef,
        tables: usize,
        rows: u64,
        /// Tables left as the migrations filled them.
        kept: Vec<String>,
    },
    /// Rows of one table (Redis: keys of one family) loaded so far; sent about twice a second.
    SeedProgress {
        db: DbRef,
        table: String,
        rows: u64,
        total: u64,
        elapsed_ms: u64,
        /// The table is loaded (its last event).
        done: bool,
    },
    /// The keys, indexes and foreign keys taken off for loading are back, and validated.
    SeedKeysRestored {
        db: DbRef,
        elapsed_ms: u64,
    },
    /// A database's seeding ended (`skipped` says why nothing was done).
    SeedDone {
        db: DbRef,
        rows: u64,
        elapsed_ms: u64,
        skipped: Option<String>,
    },
    Warning {
        db: Option<DbRef>,
        message: String,
    },
    /// `up` failed or was interrupted and removes what this run created.
    TearingDown {
        reason: String,
    },
    Removed {
        kind: String,
        name: String,
    },
}

/// What `up` does with one database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedAction {
    pub db: DbRef,
    pub action: Action,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// No container yet: create it.
    Create,
    /// The container exists and matches the profile but is not running: start it.
    Start,
    /// The container runs and matches the profile: leave it alone.
    Reuse,
    /// The container differs from the profile and `--recreate` was given.
    Recreate,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Start => "start",
            Action::Reuse => "reuse",
            Action::Recreate => "recreate",
        }
    }
}

/// Where events go. Cheap to clone; callable from any task.
#[derive(Clone)]
pub struct Events(Arc<dyn Fn(&Event) + Send + Sync>);

impl Events {
    pub fn new(sink: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        Events(Arc::new(sink))
    }

    /// A sink that drops everything.
    pub fn none() -> Self {
        Events::new(|_| {})
    }

    pub fn emit(&self, event: Event) {
        (self.0)(&event)
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}
