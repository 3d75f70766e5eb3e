//! `dbtwin seed`: fill a running environment's databases from their seed files.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::{CommandError, chosen, connect, environment_databases, reporter, running};
use crate::cli::{Global, SeedArgs};
use crate::data::copy::MaskedSources;
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

/// Whether `name` (`service.database`) is among the databases named on the command line
/// (`SERVICE` or `SERVICE.DATABASE`); every one when none is named.
fn named(name: &str, targets: &[String]) -> bool {
    targets.is_empty()
        || targets.iter().any(|t| {
            name == t || name.strip_prefix(t.as_str()).is_some_and(|rest| rest.starts_with('.'))
        })
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
    // With the profile's files and --reseed, every chosen database that copies a source copies
    // it: the sources open (read-only) and their subsets are planned while the engine is asked
    // for the environment, its lock is taken and the targets are read. A failure there is each
    // copy's error when it asks for its source.
    let early = match (&from_profile, args.reseed) {
        (Some((files, _)), true) => Some(MaskedSources::new(
            files
                .iter()
                .filter(|(name, _)| named(name, &args.targets))
                .filter_map(|(name, file)| Some((provision::db_ref(name)?, file.clone()))),
        )),
        _ => None,
    };
    let warming = async {
        if let Some(sources) = &early {
            let _ = sources.open().await;
        }
        std::future::pending().await
    };
    let seeding = seed_environment(g, args, &env, from_profile.as_ref(), early.as_ref());
    let outcomes = tokio::select! {
        outcomes = seeding => outcomes?,
        never = warming => never,
    };
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

/// The seed files by `service.database`, and each database's seed, from the profile.
type FromProfile = (BTreeMap<String, Arc<SeedFile>>, BTreeMap<String, Option<u64>>);

/// Seeds the environment's chosen databases (`dbtwin seed` past its arguments): from the
/// profile's files, else from those its containers were made with. `sources` are the profile's
/// sources, opened ahead.
async fn seed_environment(
    g: &Global,
    args: &SeedArgs,
    env: &EnvName,
    from_profile: Option<&FromProfile>,
    sources: Option<&MaskedSources>,
) -> Result<Vec<(crate::event::DbRef, crate::data::load::Outcome)>, CommandError> {
    let rt = connect(g).await?;
    let dbs = environment_databases(&rt, env).await?;
    let chosen = chosen(&dbs, &args.targets, env)?;
    let mut targets = Vec::new();
    for d in chosen {
        let name = d.db.to_string();
        let (file, seed) = match from_profile {
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
        let (kind, endpoint, credentials) = running(d, env)?;
        targets.push(SeedTarget {
            db: d.db.clone(),
            kind,
            endpoint,
            credentials,
            file,
            seed: seed.unwrap_or(0),
        });
    }
    let own;
    let sources = match sources {
        Some(sources) => sources,
        None => {
            own = MaskedSources::new(targets.iter().map(|t| (t.db.clone(), t.file.clone())));
            &own
        }
    };
    let lock_image = dbs.first().map(|d| d.image.clone()).unwrap_or_default();
    let reporter = reporter(g);
    // Ctrl-C and SIGTERM stop the loads at once; the lock is released and the interrupted
    // databases are seeded again by the next run (their record says the seeding is incomplete).
    let cancel = Cancel::default();
    let signals = tokio::spawn(super::up::watch_signals(cancel.clone(), env.to_string()));
    let result = provision::seed_environment(
        &rt,
        env,
        &lock_image,
        &targets,
        sources,
        SeedOptions { scale: args.rows_scale, reseed: args.reseed },
        &reporter.events,
        &cancel,
    )
    .await;
    signals.abort();
    reporter.finish();
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::named;

    #[test]
    fn databases_are_named_by_service_or_by_service_and_database() {
        let names = |targets: &[&str]| {
            let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
            ["accounts.main", "accounts.audit", "accountsx.main", "orders.main"]
                .into_iter()
                .filter(|n| named(n, &targets))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&[]).len(), 4, "none named: every one");
        assert_eq!(names(&["accounts"]), ["accounts.main", "accounts.audit"]);
        assert_eq!(names(&["accounts.audit", "orders"]), ["accounts.audit", "orders.main"]);
        assert!(names(&["account"]).is_empty(), "a prefix of a service is not the service");
    }
}
