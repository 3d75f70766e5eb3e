//! One file per subcommand. Commands are thin: they wire the profile, the runtime, the
//! orchestrator and a reporter together, and print results on stdout. Their errors carry the exit
//! code (see [`crate::exit`]) and, where the user can act, a hint.

mod config;
mod diff;
mod down;
mod env;
mod logs;
mod ls;
mod mask;
mod migrate;
mod run;
mod seed;
mod shell;
mod status;
mod up;

use crate::cli::{Cli, Command, Global};
use crate::environment::{EnvName, EnvNameError};
use crate::exit;
use crate::migrate::apply::MigrateError;
use crate::profile::{ProfileErrors, url_variable};
use crate::provision::{self, ProvisionError, RunningDatabase};
use crate::report::{Mode, Reporter};
use crate::runtime::docker::{ConnectOptions, DockerRuntime};
use crate::runtime::{RuntimeError, RuntimeErrorKind};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("invalid profile:\n{0}")]
    Profile(#[from] ProfileErrors),
    #[error(transparent)]
    EnvName(#[from] EnvNameError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error("{message}")]
    NotFound { message: String, hint: Option<String> },
    /// The command line asks for something that cannot be done.
    #[error("{message}")]
    Usage { message: String, hint: Option<String> },
    #[error("{message}")]
    NotRunning { message: String, hint: Option<String> },
    #[error("{message}")]
    Io {
        message: String,
        #[source]
        source: std::io::Error,
    },
    /// A child process (`run`) exited with this code; dbtwin exits with it too.
    #[error("the command exited with code {0}")]
    Child(i32),
    /// A question's answer that is not "same": `diff` found differences, `status --check` drift.
    /// The command already printed it; this only carries the exit code.
    #[error("answered with exit code {0}")]
    Answered(i32),
    /// A database URL on the command line cannot be used.
    #[error(transparent)]
    Url(#[from] crate::engine::UrlError),
    /// A database could not be reached or read (`status --url`, `diff`).
    #[error(transparent)]
    Engine(crate::engine::EngineError),
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Profile(_) => exit::PROFILE_INVALID,
            CommandError::EnvName(_) => exit::USAGE,
            CommandError::Runtime(e) => runtime_code(e),
            CommandError::Provision(e) => match e {
                ProvisionError::Runtime(e) | ProvisionError::Engine { source: e, .. } => {
                    runtime_code(e)
                }
                ProvisionError::Conflicts(_) => exit::RUNTIME_FAILED,
                ProvisionError::Locked { .. } => exit::LOCKED,
                ProvisionError::NotReady { .. } | ProvisionError::Failed { .. } => exit::NOT_READY,
                ProvisionError::Migrate { source, .. } => match source.as_ref() {
                    MigrateError::Engine(e) if e.unreachable => exit::DATABASE_UNREACHABLE,
                    _ => exit::MIGRATION_FAILED,
                },
                ProvisionError::Data(e) => match e.root() {
                    crate::data::load::DataError::Engine { source, .. }
                    | crate::data::load::DataError::Source { source, .. }
                        if source.unreachable =>
                    {
                        exit::DATABASE_UNREACHABLE
                    }
                    _ => exit::DATA_FAILED,
                },
                ProvisionError::Interrupted => exit::INTERRUPTED,
            },
            CommandError::Answered(code) => *code,
            CommandError::Engine(_) => exit::DATABASE_UNREACHABLE,
            CommandError::Url(_) => exit::USAGE,
            CommandError::NotFound { .. } => exit::NOT_FOUND,
            CommandError::Usage { .. } => exit::USAGE,
            CommandError::NotRunning { .. } => exit::NOT_READY,
            CommandError::Io { .. } => exit::RUNTIME_FAILED,
            CommandError::Child(code) => *code,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            CommandError::Runtime(e) => e.hint.clone(),
            CommandError::Provision(e) => e.hint(),
            CommandError::NotFound { hint, .. }
            | CommandError::NotRunning { hint, .. }
            | CommandError::Usage { hint, .. } => hint.clone(),
            CommandError::EnvName(EnvNameError::NoBranch) => Some(
                "name the environment with `--env NAME`, or set the CI's branch variable (e.g. GITHUB_REF_NAME)"
                    .into(),
            ),
            CommandError::EnvName(_) => {
                Some("environment names use lowercase letters, digits, `-` and `_`; or pass `--env auto`".into())
            }
            _ => None,
        }
    }

    /// The last lines of a failing container's log, printed after the error.
    pub fn log_tail(&self) -> Option<&str> {
        match self {
            CommandError::Provision(ProvisionError::Migrate { source, .. }) => source.output_tail(),
            CommandError::Provision(e) => e.log_tail(),
            _ => None,
        }
    }
}

fn runtime_code(e: &RuntimeError) -> i32 {
    match e.kind {
        RuntimeErrorKind::Unreachable => exit::ENGINE_UNREACHABLE,
        _ => exit::RUNTIME_FAILED,
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CommandError> {
    let g = &cli.global;
    match &cli.command {
        Command::Up(args) => up::run(g, args).await,
        Command::Down(args) => down::run(g, args).await,
        Command::Ls => ls::run(g).await,
        Command::Env(args) => env::run(g, args).await,
        Command::Run(args) => run::run(g, args).await,
        Command::Logs(args) => logs::run(g, args).await,
        Command::Shell(args) => shell::run(g, args).await,
        Command::Migrate(args) => migrate::run(g, args).await,
        Command::Seed(args) => seed::run(g, args).await,
        Command::Mask(args) => mask::run(g, args).await,
        Command::Status(args) => status::run(g, args).await,
        Command::Diff(args) => diff::run(g, args).await,
        Command::Config(args) => config::run(g, args),
    }
}

fn reporter(g: &Global) -> Reporter {
    Reporter::new(Mode::detect(g.json, g.quiet, g.verbose, g.color))
}

async fn connect(g: &Global) -> Result<DockerRuntime, CommandError> {
    Ok(DockerRuntime::connect(&ConnectOptions { docker_host: None, host: g.host.clone() }).await?)
}

/// The databases of the chosen environment; an error when it has none.
async fn environment_databases(
    rt: &DockerRuntime,
    env: &EnvName,
) -> Result<Vec<RunningDatabase>, CommandError> {
    let dbs = provision::databases(rt, Some(env)).await?;
    if dbs.is_empty() {
        return Err(CommandError::NotFound {
            message: format!("environment `{env}` has no databases on this engine"),
            hint: Some(
                "start it with `dbtwin up -p PROFILE`, or list environments with `dbtwin ls`"
                    .into(),
            ),
        });
    }
    Ok(dbs)
}

/// The databases named on the command line (`SERVICE` or `SERVICE.DATABASE`), or all of them.
fn chosen<'a>(
    dbs: &'a [RunningDatabase],
    targets: &[String],
    env: &EnvName,
) -> Result<Vec<&'a RunningDatabase>, CommandError> {
    if targets.is_empty() {
        return Ok(dbs.iter().collect());
    }
    targets.iter().map(|t| select(dbs, t, env)).collect()
}

/// Where a database answers and its admin's login, or why it cannot be reached: not running.
fn running(
    d: &RunningDatabase,
    env: &EnvName,
) -> Result<
    (crate::profile::EngineKind, crate::engine::Endpoint, crate::engine::Credentials),
    CommandError,
> {
    match (d.engine, d.endpoint.clone(), d.credentials.clone(), d.state.is_running()) {
        (Some(kind), Some(endpoint), Some(credentials), true) => Ok((kind, endpoint, credentials)),
        _ => Err(CommandError::NotRunning {
            message: format!("{} is not running ({})", d.db, d.state.label()),
            hint: Some(format!("start it with `dbtwin up -p PROFILE --env {env}`")),
        }),
    }
}

/// Picks one database by `SERVICE` (when it has only one) or `SERVICE.DATABASE`.
fn select<'a>(
    dbs: &'a [RunningDatabase],
    target: &str,
    env: &EnvName,
) -> Result<&'a RunningDatabase, CommandError> {
    let (service, database) = match target.split_once('.') {
        Some((s, d)) => (s, Some(d)),
        None => (target, None),
    };
    let matching: Vec<&RunningDatabase> = dbs
        .iter()
        .filter(|d| d.db.service == service && database.is_none_or(|name| d.db.database == name))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(CommandError::NotFound {
            message: format!("no database `{target}` in environment `{env}`"),
            hint: Some(format!(
                "databases: {}",
                dbs.iter().map(|d| d.db.to_string()).collect::<Vec<_>>().join(", ")
            )),
        }),
        several => Err(CommandError::NotFound {
            message: format!("service `{service}` has several databases"),
            hint: Some(format!(
                "name one: {}",
                several.iter().map(|d| d.db.to_string()).collect::<Vec<_>>().join(", ")
            )),
        }),
    }
}

/// The URLs of an environment as variables, in a stable order. A database that is not running
/// has no URL to give: that is an error naming it, never a silently missing variable.
fn url_variables(
    env: &EnvName,
    dbs: &[RunningDatabase],
    admin: bool,
) -> Result<Vec<(String, String)>, CommandError> {
    let mut vars = vec![("DBTWIN_ENV".to_string(), env.to_string())];
    let mut down = Vec::new();
    for d in dbs {
        let (Some(kind), Some(at), Some(creds), true) =
            (d.engine, &d.endpoint, &d.credentials, d.state.is_running())
        else {
            down.push(format!("{} ({})", d.db, d.state.label()));
            continue;
        };
        vars.push((
            url_variable(&d.db.service, &d.db.database, "URL"),
            crate::engine::app_url(kind, at, creds),
        ));
        if admin {
            vars.push((
                url_variable(&d.db.service, &d.db.database, "ADMIN_URL"),
                crate::engine::admin_url(kind, at, creds),
            ));
        }
    }
    if !down.is_empty() {
        return Err(CommandError::NotRunning {
            message: format!(
                "environment `{env}` has databases that are not running: {}",
                down.join(", ")
            ),
            hint: Some(format!("start them with `dbtwin up -p PROFILE --env {env}`")),
        });
    }
    Ok(vars)
}
