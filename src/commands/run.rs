//! `dbtwin run -- CMD`: run a command with the environment's URLs in its environment.

use super::{CommandError, connect, environment_databases, url_variables};
use crate::cli::{Global, RunArgs};
use crate::environment::EnvName;

pub(super) async fn run(g: &Global, args: &RunArgs) -> Result<(), CommandError> {
    let env = EnvName::resolve(&g.env)?;
    let rt = connect(g).await?;
    let dbs = environment_databases(&rt, &env).await?;
    let vars = url_variables(&env, &dbs, args.admin)?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut command = std::process::Command::new(program);
    command.args(rest).envs(vars);
    let spawn_error =
        |source| CommandError::Io { message: format!("failed to run `{program}`"), source };
    #[cfg(unix)]
    {
        // Replace dbtwin with the command, so signals and the exit status are the command's own.
        use std::os::unix::process::CommandExt;
        Err(spawn_error(command.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(spawn_error)?;
        match status.code() {
            Some(0) => Ok(()),
            Some(code) => Err(CommandError::Child(code)),
            None => Err(CommandError::Child(1)),
        }
    }
}
