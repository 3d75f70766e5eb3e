//! `dbtwin down`: remove an environment (or all of them) by label.

use super::{CommandError, connect, reporter};
use crate::cli::{DownArgs, Global};
use crate::environment::EnvName;
use crate::provision;

pub(super) async fn run(g: &Global, args: &DownArgs) -> Result<(), CommandError> {
    let env = if args.all { None } else { Some(EnvName::resolve(&g.env)?) };
    let rt = connect(g).await?;
    let reporter = reporter(g);
    let removed =
        provision::down(&rt, env.as_ref(), args.keep_volumes, args.force, &reporter.events).await?;
    reporter.finish();
    let scope = env.as_ref().map_or("all environments".to_string(), |e| format!("environment {e}"));
    if g.json {
        crate::out!(
            "{}",
            serde_json::json!({ "result": "down", "env": env.as_ref().map(|e| e.as_str()), "removed": removed })
        );
    } else if !g.quiet {
        for skipped in &removed.skipped {
            eprintln!(
                "skipped environment {skipped}; `dbtwin down --force --env NAME` removes it anyway"
            );
        }
        if removed.containers.is_empty()
            && removed.volumes.is_empty()
            && removed.networks.is_empty()
        {
            eprintln!("{scope}: nothing to remove");
        } else {
            eprintln!(
                "{scope}: removed {} container(s), {} volume(s), {} network(s)",
                removed.containers.len(),
                removed.volumes.len(),
                removed.networks.len()
            );
        }
    }
    Ok(())
}
