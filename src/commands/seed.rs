//! `dbtwin seed`: fill a running environment's databases from their seed files.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::{CommandError, chosen, connect, environment_databases, reporter, running};
use crate::cli::{Global, SeedArgs};
use crate::data::seedfile::SeedFile;
use crate::environment::EnvName;
use crate::profile::{self, Profile, ProfileErrors};
use crate::provision::{self, Cancel, SeedOptions, SeedTarget};

/// Every seed file of the profile, read and checked (by `service.database`). All problems of all
/// files are reported at once.
pub(super) fn seed_files(
    profile: &Profile,
) -> Result<BTreeMap<String, Arc<SeedFile>>, CommandError> {
    let mut files = BTreeMap::new();
    let mut errors = Vec::new();
    for (service, database, db) in profile.databases() {
        if let Some(path) = &db.data {
            match SeedFile::load(path) {
                Ok(file) => {
                    files.insert(format!("{service}.{database}"), Arc::new(file));
                }
                Err(ProfileErrors(mut e)) => errors.append(&mut e),
            }
        }
    }
    if errors.is_empty() { Ok(files) } else { Err(CommandError::Profile(ProfileErrors(errors))) }
}

pub(super) async fn run(g: &Global, args: &SeedArgs) -> Result<(), CommandError> {
    if !(args.rows_scale > 0.0 && args.rows_scale.is_finite()) {
        return Err(CommandError::Usage {
            message: format!("--rows-scale {} is not a positive number", args.rows_scale),
            hint: Some("such as 0.1 for a tenth of the rows, 2 for twice as many".into()),
        });
    }
    let env = EnvName::resolve(&g.env)?;
    // With -p, the profile's current seed files and seed; without, those the containers were
    // created with. Either way every file is checked before anything is touched.
    let from_profile = if args.profile.profiles.is_empty() {
        None
    } else {
        let profile = profile::load(&args.profile.profiles)?;
        let seeds: BTreeMap<String, Option<u64>> = profile
            .databases()
            .map(|(s, d, db)| (format!("{s}.{d}"), db.seed.or(profile.seed)))
            .collect();
        Some((seed_files(&profile)?, seeds))
    };
    let rt = connect(g).await?;
    let dbs = environment_databases(&rt, &env).await?;
    let chosen = chosen(&dbs, &args.targets, &env)?;
    let mut targets = Vec::new();
    for d in chosen {
        let name = d.db.to_string();
        let (file, seed) = match &from_profile {
            Some((files, seeds)) => {
                (files.get(&name).cloned(), seeds.get(&name).copied().flatten())
            }
            None => (d.data.as_deref().map(SeedFile::load).transpose()?.map(Arc::new), d.seed),
        };
        let Some(file) = file else {
            if !args.targets.is_empty() {
                return Err(CommandError::NotFound {
                    message: format!("{} has no seed file", d.db),
                    hint: Some("name one with `data:` in the profile".into()),
                });
            }
            continue;
        };
        let (kind, endpoint, credentials) = running(d, &env)?;
        targets.push(SeedTarget {
            db: d.db.clone(),
            kind,
            endpoint,
            credentials,
            file,
            seed: seed.unwrap_or(0),
        });
    }
    let lock_image = dbs.first().map(|d| d.image.clone()).unwrap_or_default();
    let reporter = reporter(g);
    // Ctrl-C and SIGTERM stop the loads at once; the lock is released and the interrupted
    // databases are seeded again by the next run (their record says the seeding is incomplete).
    let cancel = Cancel::default();
    let signals = tokio::spawn(super::up::watch_signals(cancel.clone(), env.to_string()));
    let result = provision::seed_environment(
        &rt,
        &env,
        &lock_image,
        &targets,
        SeedOptions { scale: args.rows_scale, reseed: args.reseed },
        &reporter.events,
        &cancel,
    )
    .await;
    signals.abort();
    reporter.finish();
    let outcomes = result?;
    if g.json {
        let databases: Vec<_> = outcomes
            .iter()
            .map(|(db, o)| {
                let tables: BTreeMap<&str, u64> =
                    o.tables.iter().map(|(t, n)| (t.as_str(), *n)).collect();
                json!({ "service": db.service, "database": db.database, "rows": o.rows,
                        "tables": tables, "kept": o.kept, "elapsed_ms": o.elapsed_ms,
                        "skipped": o.skipped })
            })
            .collect();
        crate::out!(
            "{}",
            json!({ "result": "seeded", "env": env.as_str(), "databases": databases })
        );
    } else {
        for (db, o) in &outcomes {
            match &o.skipped {
                Some(reason) => crate::out!("{db}: not seeded again: {reason}"),
                None => crate::out!(
                    "{db}: {} rows in {} table(s), {:.1}s",
                    o.rows,
                    o.tables.len(),
                    o.elapsed_ms as f64 / 1000.0
                ),
            }
        }
        if outcomes.is_empty() && !g.quiet {
            eprintln!("no database of environment {env} has a seed file");
        }
    }
    Ok(())
}
