//! Applying a plan through an engine session: pending files in order, each split into statements
//! and run by the engine (in one transaction where the engine has transactional DDL), recorded in
//! `dbtwin_schema_history`; or the team's own tool run with the database URL. Afterwards the
//! schema's fingerprint is recorded, so `status` can tell a change made by hand from one made by
//! a migration.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::discover::{self, Discovered, MigrationFile, MigrationKind};
use super::plan::{self, Changed, Failed, Plan};
use super::split::{self, Dialect};
use crate::engine::{ApplyError, EngineError, NewHistoryRow, Script, Session};
use crate::event::{DbRef, Event, Events};
use crate::profile::EngineKind;

/// The state key under which the schema fingerprint after the last migration is kept.
pub const FINGERPRINT_KEY: &str = "schema_fingerprint";

/// The file extension of migrations for an engine: SQL files, or Redis command files.
pub fn extension(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Redis => "redis",
        _ => "sql",
    }
}

fn dialect(kind: EngineKind) -> Dialect {
    match kind {
        EngineKind::Postgres => Dialect::Postgres,
        _ => Dialect::Mysql,
    }
}

/// Whether a statement that fails leaves nothing behind: true for PostgreSQL (each statement is
/// its own transaction at least) and Redis (a command runs or it does not); MySQL and MariaDB
/// can half-run one (`DROP TABLE a, missing` drops `a`).
pub fn statements_are_atomic(kind: EngineKind) -> bool {
    matches!(kind, EngineKind::Postgres | EngineKind::Redis)
}

/// Reads a migrations folder for an engine.
pub fn load(dir: &Path, kind: EngineKind) -> Result<Discovered, MigrateError> {
    discover::discover(dir, extension(kind)).map_err(MigrateError::Discover)
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Discover(discover::DiscoverError),
    #[error("{}:{}", path.display(), source)]
    Split {
        path: PathBuf,
        #[source]
        source: SplitErrorAt,
    },
    #[error("{}", changed_message(.0))]
    Changed(Vec<Changed>),
    #[error("{}", failed_message(.0))]
    PreviouslyFailed(Vec<Failed>),
    #[error(
        "{}:{line}: {message}\n  statement {number} of {total}: {summary}\n  {outcome}",
        path.display()
    )]
    Statement {
        path: PathBuf,
        line: usize,
        number: usize,
        total: usize,
        summary: String,
        message: String,
        outcome: String,
    },
    #[error("migration command `{command}` failed ({status})")]
    Command { command: String, status: String, output: String },
    #[error("failed to run migration command `{command}`")]
    CommandSpawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A split error with the file line already computed.
#[derive(Debug, thiserror::Error)]
#[error("{line}: {message}")]
pub struct SplitErrorAt {
    pub line: usize,
    pub message: String,
}

fn changed_message(changed: &[Changed]) -> String {
    let mut msg = String::from("applied migrations were changed afterwards:");
    for c in changed {
        msg.push_str(&format!(
            "\n  {}: recorded checksum {}, file now {}",
            c.script,
            short(&c.recorded),
            short(&c.current)
        ));
    }
    msg
}

fn failed_message(failed: &[Failed]) -> String {
    let mut msg = String::from("migrations failed earlier and may have left changes behind:");
    for f in failed {
        msg.push_str(&format!(
            "\n  {}: {} of {} statements stayed applied",
            f.script, f.statements_applied, f.statements_total
        ));
    }
    msg
}

/// Checksums are long; twelve hex digits tell them apart in a message.
fn short(checksum: &str) -> &str {
    &checksum[..checksum.len().min(12)]
}

impl MigrateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            MigrateError::Changed(_) => Some(
                "an applied migration should never be edited: add a new one; if the edit is \
                 deliberate (a comment, a fix already made by hand), `dbtwin migrate --repair` \
                 records the new checksums"
                    .into(),
            ),
            MigrateError::PreviouslyFailed(_) => Some(
                "fix or undo what the failed statements left behind, then `dbtwin migrate \
                 --repair` forgets the failure so the file runs again"
                    .into(),
            ),
            MigrateError::Statement { message, .. }
                if message.contains("cannot run inside a transaction block") =>
            {
                Some(
                    "put `-- dbtwin:no-transaction` at the top of the file to run it outside a \
                     transaction"
                        .into(),
                )
            }
            _ => None,
        }
    }

    /// The tail of the team's migration tool's output, when that failed.
    pub fn output_tail(&self) -> Option<&str> {
        match self {
            MigrateError::Command { output, .. } if !output.is_empty() => Some(output),
            _ => None,
        }
    }
}

/// What `migrate` did to one database.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    pub applied: Vec<String>,
    pub repaired: Vec<String>,
    /// Failed records forgotten by `--repair`.
    pub forgotten: u64,
    /// The team's own tool ran instead of dbtwin's runner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// What to migrate and how.
pub struct Request<'a> {
    pub db: DbRef,
    pub kind: EngineKind,
    pub dir: &'a Path,
    /// The team's own migration tool, run instead of dbtwin's runner.
    pub command: Option<&'a str>,
    /// The URL the command gets as `DATABASE_URL` (the admin's: migrations create objects).
    pub admin_url: &'a str,
    pub repair: bool,
}

/// Brings one database's schema up to its migrations folder.
pub async fn migrate(
    session: &mut Session,
    request: &Request<'_>,
    events: &Events,
) -> Result<Outcome, MigrateError> {
    // A schema changed by hand since the last run stays visible: the recorded fingerprint only
    // moves when the run starts from what the migrations made (or `--repair` accepts the change).
    let has_schema = request.kind != EngineKind::Redis;
    let drifted = if has_schema {
        let before = session.catalog().await?.fingerprint();
        match session.state(FINGERPRINT_KEY).await? {
            Some(recorded) if recorded != before => Some((recorded, before)),
            _ => None,
        }
    } else {
        None
    };
    let result = match request.command {
        Some(command) => run_command(request, command, events).await,
        None => run_files(session, request, events).await,
    };
    if !has_schema {
        return result;
    }
    // Recorded after a failure too: the files applied before it changed the schema, and the
    // next run must not take that for a change made by hand.
    let after = match session.catalog().await {
        Ok(catalog) => catalog.fingerprint(),
        Err(e) => return result.and(Err(e.into())),
    };
    match &drifted {
        Some((recorded, found)) if !request.repair => {
            events.emit(Event::Warning {
                db: Some(request.db.clone()),
                message: format!(
                    "the schema was changed outside migrations since the last run (fingerprint \
                     {found}, recorded {recorded}); `dbtwin migrate --repair` accepts it"
                ),
            });
        }
        _ => {
            if let Err(e) = session.set_state(FINGERPRINT_KEY, &after).await {
                return result.and(Err(e.into()));
            }
        }
    }
    let mut outcome = result?;
    outcome.fingerprint = Some(after);
    Ok(outcome)
}

async fn run_files(
    session: &mut Session,
    request: &Request<'_>,
    events: &Events,
) -> Result<Outcome, MigrateError> {
    let discovered = load(request.dir, request.kind)?;
    for ignored in &discovered.ignored {
        events.emit(Event::Warning {
            db: Some(request.db.clone()),
            message: format!(
                "{}: the name matches no migration scheme, so it is skipped",
                request.dir.join(ignored).display()
            ),
        });
    }
    let files = &discovered.files;
    // Every file is split before anything runs: a syntax slip in the last file stops the run
    // before the first one touches the database.
    let scripts = files.iter().map(|f| prepare(f, request.kind)).collect::<Result<Vec<_>, _>>()?;
    session.ensure_history().await?;
    let history = session.history().await?.unwrap_or_default();
    let mut outcome = Outcome::default();
    let atomic = statements_are_atomic(request.kind);
    let mut plan = plan::plan(files, &history, atomic);
    if request.repair {
        for changed in &plan.changed {
            session.repair_checksum(changed.rank, &changed.current).await?;
            outcome.repaired.push(changed.script.clone());
        }
        outcome.forgotten = session.delete_failed().await?;
        if !plan.changed.is_empty() || outcome.forgotten > 0 {
            let history = session.history().await?.unwrap_or_default();
            plan = plan::plan(files, &history, atomic);
        }
    }
    check(&plan)?;
    for script in &plan.out_of_order {
        events.emit(Event::Warning {
            db: Some(request.db.clone()),
            message: format!("{script} is older than migrations already applied; applying it now"),
        });
    }
    for missing in &plan.missing {
        events.emit(Event::Warning {
            db: Some(request.db.clone()),
            message: format!(
                "applied migration {missing} is no longer in {}",
                request.dir.display()
            ),
        });
    }
    events.emit(Event::MigrationsPlanned {
        db: request.db.clone(),
        applied: plan.applied.len(),
        pending: plan.pending.len(),
    });
    for &index in &plan.pending {
        let file = &files[index];
        let started = Instant::now();
        apply_one(session, file, &scripts[index]).await?;
        events.emit(Event::MigrationApplied {
            db: request.db.clone(),
            script: file.script.clone(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        });
        outcome.applied.push(file.script.clone());
    }
    Ok(outcome)
}

/// Refuses a plan with edited or failed migrations: running on top of them would build a schema
/// nobody wrote.
fn check(plan: &Plan) -> Result<(), MigrateError> {
    if !plan.failed.is_empty() {
        return Err(MigrateError::PreviouslyFailed(plan.failed.clone()));
    }
    if !plan.changed.is_empty() {
        return Err(MigrateError::Changed(plan.changed.clone()));
    }
    Ok(())
}

/// A file's body split for its engine, with each statement's line in the file.
pub enum Prepared {
    Sql(Vec<(String, usize, String)>),
    Redis(Vec<(Vec<String>, usize)>),
}

fn prepare(file: &MigrationFile, kind: EngineKind) -> Result<Prepared, MigrateError> {
    let at = |line: usize| file.body_line + line - 1;
    let split_failed = |e: split::SplitError| {
        let line = match &e {
            split::SplitError::Unterminated { line, .. }
            | split::SplitError::EmptyDelimiter { line } => *line,
        };
        let message = e.to_string();
        let message = message.split_once(": ").map_or(message.clone(), |(_, m)| m.to_string());
        MigrateError::Split {
            path: file.path.clone(),
            source: SplitErrorAt { line: at(line), message },
        }
    };
    Ok(match kind {
        EngineKind::Redis => Prepared::Redis(
            split::split_redis(&file.body)
                .map_err(split_failed)?
                .into_iter()
                .map(|c| (c.args, at(c.line)))
                .collect(),
        ),
        _ => Prepared::Sql(
            split::split(&file.body, dialect(kind))
                .map_err(split_failed)?
                .into_iter()
                .map(|s| {
                    let summary = s.summary();
                    (s.sql, at(s.line), summary)
                })
                .collect(),
        ),
    })
}

async fn apply_one(
    session: &mut Session,
    file: &MigrationFile,
    prepared: &Prepared,
) -> Result<(), MigrateError> {
    let record = NewHistoryRow {
        version: match &file.kind {
            MigrationKind::Versioned(v) => Some(v.to_string()),
            MigrationKind::Repeatable => None,
        },
        description: file.description.clone(),
        script: file.script.clone(),
        checksum: file.checksum.clone(),
    };
    let (result, total) = match prepared {
        Prepared::Sql(statements) => {
            let sql: Vec<String> = statements.iter().map(|(s, _, _)| s.clone()).collect();
            (session.apply(Script::Sql(&sql), file.transactional, &record).await, sql.len())
        }
        Prepared::Redis(commands) => {
            let args: Vec<Vec<String>> = commands.iter().map(|(a, _)| a.clone()).collect();
            (session.apply(Script::Redis(&args), false, &record).await, args.len())
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(ApplyError::Engine(e)) => Err(e.into()),
        Err(ApplyError::Statement {
            index,
            message,
            line_in_statement,
            left_applied,
            rolled_back,
        }) => {
            let (start_line, summary) = match prepared {
                Prepared::Sql(s) => (s[index].1, s[index].2.clone()),
                Prepared::Redis(c) => (c[index].1, c[index].0.join(" ")),
            };
            let line = start_line + line_in_statement.map_or(0, |l| l - 1);
            // Why nothing undid them, and where the failure is kept, differ by engine.
            let (why, history) = match session.kind() {
                EngineKind::Redis => ("Redis has no rollback", "dbtwin:schema_history"),
                EngineKind::Postgres => {
                    ("the file runs outside a transaction", "dbtwin_schema_history")
                }
                EngineKind::Mysql | EngineKind::Mariadb => {
                    ("this engine cannot roll back DDL", "dbtwin_schema_history")
                }
            };
            let outcome = if rolled_back {
                "the file was rolled back: nothing of it is applied".to_string()
            } else if left_applied == 0 {
                "nothing of the file was applied".to_string()
            } else {
                format!(
                    "statements 1-{left_applied} of the file stayed applied ({why}); the failure \
                     is recorded in {history}"
                )
            };
            Err(MigrateError::Statement {
                path: file.path.clone(),
                line,
                number: index + 1,
                total,
                summary,
                message,
                outcome,
            })
        }
    }
}

/// Runs the team's own migration tool in the folder's parent (where tools look for
/// `./migrations`), with the database's URL in `DATABASE_URL` and its parts in `DBTWIN_DB_*`.
/// The URL travels in the environment, never on a command line.
async fn run_command(
    request: &Request<'_>,
    command: &str,
    events: &Events,
) -> Result<Outcome, MigrateError> {
    events.emit(Event::MigrationCommand { db: request.db.clone(), command: command.to_string() });
    let cwd = request.dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(cwd)
        .env("DATABASE_URL", request.admin_url)
        .env("DBTWIN_MIGRATIONS_DIR", request.dir)
        .env("DBTWIN_ENGINE", request.kind.as_str())
        .stdin(std::process::Stdio::null())
        // Ctrl-C on `up` drops this future: the tool must not go on migrating alone.
        .kill_on_drop(true);
    // The URL's parts, for tools that take a host and port rather than a URL (Flyway's JDBC URL,
    // Liquibase).
    if let Ok(target) = crate::engine::Target::from_url(request.admin_url) {
        cmd.env("DBTWIN_DB_HOST", &target.endpoint.host)
            .env("DBTWIN_DB_PORT", target.endpoint.port.to_string())
            .env("DBTWIN_DB_USER", &target.user)
            .env("DBTWIN_DB_PASSWORD", target.password())
            .env("DBTWIN_DB_NAME", &target.database);
    }
    let output = cmd
        .output()
        .await
        .map_err(|source| MigrateError::CommandSpawn { command: command.to_string(), source })?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        return Err(MigrateError::Command {
            command: command.to_string(),
            status: output.status.to_string(),
            output: redact(&tail, request.admin_url),
        });
    }
    Ok(Outcome { command: Some(command.to_string()), ..Outcome::default() })
}

/// Tools echo their URL in errors; the tail shown to people must not carry the password.
fn redact(text: &str, url: &str) -> String {
    let mut text = text.replace(url, "$DATABASE_URL");
    if let Ok(target) = crate::engine::Target::from_url(url)
        && let Some(password) = target.password.filter(|p| !p.is_empty())
    {
        // As it is, and as it appears inside a URL.
        text = text.replace(&password, "****");
        text = text.replace(&crate::engine::percent_encode(&password), "****");
    }
    text
}
