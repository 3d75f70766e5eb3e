//! `dbtwin diff A B`: compares the schemas of two environments (database by database, matched by
//! service and database name) or of two databases named by URL (STAGE vs PROD). Exit codes as
//! diff(1): 0 same, 1 different, 2 and above trouble.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use serde_json::json;

use super::{CommandError, connect, environment_databases, select};
use crate::cli::{ColorChoice, DiffArgs, Global};
use crate::engine::Target;
use crate::environment::EnvName;
use crate::exit;
use crate::inspect::{self, diff};
use crate::schema::Catalog;

/// One side of the comparison: named databases (`service.database` → target), or one database.
struct Side {
    label: String,
    databases: BTreeMap<String, Target>,
    /// A single database (a URL or `ENV:SERVICE.DB`): it matches the other side's only database.
    single: bool,
}

pub(super) async fn run(g: &Global, args: &DiffArgs) -> Result<(), CommandError> {
    let a = side(g, &args.a).await?;
    let b = side(g, &args.b).await?;
    let pairs = match_sides(&a, &b)?;
    let mut compared = Vec::new();
    for (name, ta, tb) in &pairs.both {
        if !inspect::comparable(ta.kind, tb.kind) {
            return Err(CommandError::Usage {
                message: format!(
                    "{name}: cannot compare a {} database with a {} one",
                    ta.kind, tb.kind
                ),
                hint: Some(
                    "diff compares databases of one engine (MySQL and MariaDB count as one)".into(),
                ),
            });
        }
        let (ca, cb) = tokio::try_join!(read(ta), read(tb))?;
        compared.push((name.clone(), ta.display(), tb.display(), diff::diff(&ca, &cb)));
    }
    let same = pairs.only_a.is_empty()
        && pairs.only_b.is_empty()
        && compared.iter().all(|(_, _, _, d)| d.is_empty());
    if g.json {
        let databases: Vec<_> = compared
            .iter()
            .map(|(name, la, lb, d)| {
                // Two URLs have no `service.database` name to match them by.
                let name = (!name.is_empty()).then_some(name);
                json!({ "database": name, "a": la, "b": lb, "differences": d })
            })
            .collect();
        crate::out!(
            "{}",
            json!({ "a": a.label, "b": b.label, "same": same, "databases": databases,
                    "only_in_a": pairs.only_a, "only_in_b": pairs.only_b })
        );
    } else {
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stdout().is_terminal(),
        };
        for name in &pairs.only_a {
            crate::out!("- database {name}: only in {}", a.label);
        }
        for name in &pairs.only_b {
            crate::out!("+ database {name}: only in {}", b.label);
        }
        for (name, la, lb, d) in &compared {
            if d.is_empty() {
                continue;
            }
            let (label_a, label_b) = if name.is_empty() {
                (la.clone(), lb.clone())
            } else {
                (format!("{la} ({name})"), format!("{lb} ({name})"))
            };
            crate::out_raw!("{}", diff::render_text(d, &label_a, &label_b, color));
        }
        if same && !g.quiet {
            eprintln!("no differences ({} database(s) compared)", compared.len());
        }
    }
    if same { Ok(()) } else { Err(CommandError::Answered(exit::DIFFERENT)) }
}

async fn read(target: &Target) -> Result<Catalog, CommandError> {
    inspect::read_catalog(target).await.map_err(CommandError::Engine)
}

/// Reads `A`/`B`: a URL, `ENV`, or `ENV:SERVICE[.DATABASE]`.
async fn side(g: &Global, spec: &str) -> Result<Side, CommandError> {
    if spec.contains("://") {
        let target = Target::from_url(spec)?;
        let label = target.display();
        return Ok(Side {
            label,
            databases: BTreeMap::from([(String::new(), target)]),
            single: true,
        });
    }
    let (env, only) = match spec.split_once(':') {
        Some((env, db)) => (env, Some(db)),
        None => (spec, None),
    };
    let env = EnvName::resolve(env)?;
    let rt = connect(g).await?;
    let dbs = environment_databases(&rt, &env).await?;
    let chosen: Vec<_> = match only {
        Some(t) => vec![select(&dbs, t, &env)?],
        None => dbs.iter().collect(),
    };
    let mut databases = BTreeMap::new();
    for d in chosen {
        let (Some(kind), Some(at), Some(creds), true) =
            (d.engine, &d.endpoint, &d.credentials, d.state.is_running())
        else {
            return Err(CommandError::NotRunning {
                message: format!(
                    "{} in environment {env} is not running ({})",
                    d.db,
                    d.state.label()
                ),
                hint: Some(format!("start it with `dbtwin up -p PROFILE --env {env}`")),
            });
        };
        let mut target = Target::admin(kind, at, creds);
        target.read_only = true;
        target.statement_timeout = crate::engine::target::DEFAULT_STATEMENT_TIMEOUT;
        databases.insert(d.db.to_string(), target);
    }
    Ok(Side { label: format!("environment {env}"), databases, single: only.is_some() })
}

struct Pairs<'a> {
    both: Vec<(String, &'a Target, &'a Target)>,
    only_a: Vec<String>,
    only_b: Vec<String>,
}

/// Pairs databases by name; a single database pairs with the other side's only one.
fn match_sides<'a>(a: &'a Side, b: &'a Side) -> Result<Pairs<'a>, CommandError> {
    if a.single || b.single {
        let one = |s: &'a Side| -> Result<(&'a String, &'a Target), CommandError> {
            let mut it = s.databases.iter();
            match (it.next(), it.next()) {
                (Some(x), None) => Ok(x),
                _ => Err(CommandError::NotFound {
                    message: format!(
                        "{} has {} databases; a single database can only be compared with one",
                        s.label,
                        s.databases.len()
                    ),
                    hint: Some(format!(
                        "name one as ENV:SERVICE.DATABASE, e.g. {}",
                        s.databases.keys().next().map_or("dev:accounts.main".into(), |k| format!(
                            "{}:{k}",
                            s.label.trim_start_matches("environment ")
                        ))
                    )),
                }),
            }
        };
        let (na, ta) = one(a)?;
        let (nb, tb) = one(b)?;
        let name = if na.is_empty() { nb.clone() } else { na.clone() };
        return Ok(Pairs { both: vec![(name, ta, tb)], only_a: vec![], only_b: vec![] });
    }
    let mut pairs = Pairs { both: vec![], only_a: vec![], only_b: vec![] };
    for (name, ta) in &a.databases {
        match b.databases.get(name) {
            Some(tb) => pairs.both.push((name.clone(), ta, tb)),
            None => pairs.only_a.push(name.clone()),
        }
    }
    pairs.only_b = b.databases.keys().filter(|k| !a.databases.contains_key(*k)).cloned().collect();
    Ok(pairs)
}
