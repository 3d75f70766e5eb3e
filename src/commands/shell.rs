//! `dbtwin shell SERVICE[.DB]`: the database's own client, inside its container.

use super::{CommandError, connect, environment_databases, select};
use crate::cli::{Global, ShellArgs};
use crate::engine;
use crate::environment::EnvName;
use crate::runtime::docker;

pub(super) async fn run(g: &Global, args: &ShellArgs) -> Result<(), CommandError> {
    let env = EnvName::resolve(&g.env)?;
    let rt = connect(g).await?;
    let dbs = environment_databases(&rt, &env).await?;
    let db = select(&dbs, &args.target, &env)?;
    let (Some(kind), Some(creds)) = (db.engine, &db.credentials) else {
        return Err(CommandError::NotFound {
            message: format!("container {} lacks dbtwin's labels or credentials", db.container),
            hint: None,
        });
    };
    let (argv, secrets) = engine::shell_command(kind, creds, args.admin);
    let mut command = docker::interactive_exec(&db.container, &argv, &secrets);
    let status = command.status().map_err(|source| CommandError::Io {
        message: "failed to run the docker client".into(),
        source,
    })?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(CommandError::Child(code)),
        None => Err(CommandError::Child(1)),
    }
}
