//! `dbtwin mask --check`: the masking plan of every seed file that copies a production source,
//! checked against the source's schema and a sample of its values, without copying a row.

use std::sync::Arc;

use serde_json::json;

use super::CommandError;
use crate::cli::{Global, MaskArgs};
use crate::data::copy::{self, MaskedSources};
use crate::data::load::DataError;
use crate::data::seedfile::SeedFile;
use crate::event::DbRef;
use crate::profile::{self, EngineKind};
use crate::provision::ProvisionError;

pub(super) async fn run(g: &Global, args: &MaskArgs) -> Result<(), CommandError> {
    if !args.check {
        return Err(CommandError::Usage {
            message: "`dbtwin mask` only checks so far: add --check".into(),
            hint: Some("copies are made by `dbtwin up` and `dbtwin seed`".into()),
        });
    }
    let profile = profile::load(&args.profile.profiles)?;
    let files = super::seed::seed_files(&profile)?;
    let mut chosen: Vec<(DbRef, Arc<SeedFile>, EngineKind)> = Vec::new();
    for (service, database, db) in profile.databases() {
        let name = format!("{service}.{database}");
        let wanted = args.targets.is_empty()
            || args.targets.iter().any(|t| *t == name || *t == service.to_string());
        if let Some(file) = files.get(&name).filter(|f| f.masked.source.is_some())
            && wanted
        {
            chosen.push((
                DbRef::new(service.to_string(), database.to_string()),
                file.clone(),
                db.engine,
            ));
        }
    }
    if chosen.is_empty() {
        return Err(CommandError::NotFound {
            message: "no seed file of the profile copies a source".into(),
            hint: Some("name one with `source: { url: … }` in a database's seed file".into()),
        });
    }
    let sources =
        MaskedSources::for_check(chosen.iter().map(|(db, file, _)| (db.clone(), file.clone())));
    let data = |e: DataError| CommandError::Provision(ProvisionError::Data(Box::new(e)));
    let mut failing = false;
    let mut reports = Vec::new();
    for (db, file, kind) in &chosen {
        let input = sources.input(db).await.map_err(data)?.expect("a source was opened");
        let Some(catalog) = input.source.catalog() else {
            return Err(CommandError::Usage {
                message: format!("{db}: a CSV source has no schema to check against"),
                hint: Some("run `dbtwin up` and let `seed` check it against the database".into()),
            });
        };
        let checked = copy::check(db, file, *kind, catalog, &input).await.map_err(data)?;
        let fails = !checked.unruled.is_empty()
            && file.masked.unmasked == crate::data::maskfile::Unmasked::Fail;
        failing |= fails;
        reports.push((db.clone(), input.source.display(), checked, fails));
    }
    if g.json {
        let databases: Vec<_> = reports
            .iter()
            .map(|(db, source, checked, fails)| {
                json!({ "service": db.service, "database": db.database, "source": source,
                        "unmasked": checked.unruled, "absent": checked.absent, "ok": !fails })
            })
            .collect();
        crate::out!("{}", json!({ "result": "mask-check", "databases": databases }));
    } else {
        for (db, source, checked, fails) in &reports {
            if checked.unruled.is_empty() {
                crate::out!("{db}: every column that looks personal has a rule (source {source})");
            } else {
                let verdict = if *fails { "stops the copy" } else { "copied as is (warn)" };
                crate::out!(
                    "{db}: {} column(s) look personal and have no rule ({verdict}):",
                    checked.unruled.len()
                );
                for column in &checked.unruled {
                    crate::out!("  {column}");
                }
            }
            for table in &checked.absent {
                crate::out!("  {table}: not in the source; left empty");
            }
        }
    }
    if failing { Err(CommandError::Answered(crate::exit::DATA_FAILED)) } else { Ok(()) }
}
