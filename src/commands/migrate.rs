//! `dbtwin migrate`: apply pending migrations to a running environment's databases.

use serde_json::json;

use super::{CommandError, chosen, connect, environment_databases, reporter, running};
use crate::cli::{Global, MigrateArgs, OptionalProfileArgs};
use crate::environment::EnvName;
use crate::profile::{self, Migrations};
use crate::provision::{self, MigrateTarget};

pub(super) async fn run(g: &Global, args: &MigrateArgs) -> Result<(), CommandError> {
    let env = EnvName::resolve(&g.env)?;
    let overrides = profile_migrations(&args.profile)?;
    let rt = connect(g).await?;
    let dbs = environment_databases(&rt, &env).await?;
    let chosen = chosen(&dbs, &args.targets, &env)?;
    let mut targets = Vec::new();
    for d in chosen {
        let migrations = match &overrides {
            Some(map) => map.get(&d.db.to_string()).cloned().flatten(),
            None => d.migrations.clone(),
        };
        let Some(migrations) = migrations else {
            if !args.targets.is_empty() {
                return Err(CommandError::NotFound {
                    message: format!("{} has no migrations", d.db),
                    hint: Some("name a folder with `migrations:` in the profile".into()),
                });
            }
            continue;
        };
        let (kind, endpoint, credentials) = running(d, &env)?;
        targets.push(MigrateTarget { db: d.db.clone(), kind, endpoint, credentials, migrations });
    }
    let lock_image = dbs.first().map(|d| d.image.clone()).unwrap_or_default();
    let reporter = reporter(g);
    let result = provision::migrate_environment(
        &rt,
        &env,
        &lock_image,
        &targets,
        args.repair,
        &reporter.events,
    )
    .await;
    reporter.finish();
    let outcomes = result?;
    if g.json {
        let databases: Vec<_> = outcomes
            .iter()
            .map(|(db, o)| {
                json!({ "service": db.service, "database": db.database, "applied": o.applied,
                        "repaired": o.repaired, "forgotten_failures": o.forgotten,
                        "command": o.command, "fingerprint": o.fingerprint })
            })
            .collect();
        crate::out!(
            "{}",
            json!({ "result": "migrated", "env": env.as_str(), "databases": databases })
        );
    } else {
        for (db, o) in &outcomes {
            let mut parts = Vec::new();
            match (&o.command, o.applied.len()) {
                (Some(command), _) => parts.push(format!("ran `{command}`")),
                (None, 0) => parts.push("up to date".to_string()),
                (None, n) => parts.push(format!("applied {n}: {}", o.applied.join(", "))),
            }
            if !o.repaired.is_empty() {
                parts.push(format!("repaired checksums of {}", o.repaired.join(", ")));
            }
            if o.forgotten > 0 {
                parts.push(format!("forgot {} failed migration(s)", o.forgotten));
            }
            crate::out!("{db}: {}", parts.join("; "));
        }
        if outcomes.is_empty() && !g.quiet {
            eprintln!("no database of environment {env} has migrations");
        }
    }
    Ok(())
}

/// With `-p`, each database's migrations as the profile now says (by `service.database`);
/// without it, `None`: the ones the containers were created with.
pub(super) fn profile_migrations(
    args: &OptionalProfileArgs,
) -> Result<Option<std::collections::BTreeMap<String, Option<Migrations>>>, CommandError> {
    if args.profiles.is_empty() {
        return Ok(None);
    }
    let profile = profile::load(&args.profiles)?;
    Ok(Some(
        profile.databases().map(|(s, d, db)| (format!("{s}.{d}"), db.migrations.clone())).collect(),
    ))
}
