//! `dbtwin status`: one row per database: server version against the pin, migrations, schema
//! fingerprint and drift, tables and rows. `--check` turns drift into exit code 1 for CI gates.

use super::{CommandError, chosen, connect, environment_databases};
use crate::cli::{Global, StatusArgs};
use crate::engine::Target;
use crate::environment::EnvName;
use crate::exit;
use crate::inspect::status::{self, DatabaseStatus, Expected};
use crate::profile::PinnedVersion;

pub(super) async fn run(g: &Global, args: &StatusArgs) -> Result<(), CommandError> {
    let targets = if args.urls.is_empty() {
        environment_targets(g, args).await?
    } else {
        args.urls
            .iter()
            .map(|url| {
                let target = Target::from_url(url)?;
                let expected =
                    Expected { migrations: args.migrations.clone(), ..Expected::default() };
                Ok((target.display(), Ok(target), expected))
            })
            .collect::<Result<Vec<_>, CommandError>>()?
    };
    let rows: Vec<DatabaseStatus> = futures_util::future::join_all(targets.into_iter().map(
        |(name, target, expected)| async move {
            match target {
                Ok(target) => status::inspect(&name, &target, &expected).await,
                Err(row) => row,
            }
        },
    ))
    .await;
    if g.json {
        crate::out!(
            "{}",
            serde_json::json!({ "databases": rows, "drift": rows.iter().any(DatabaseStatus::has_drift) })
        );
    } else {
        crate::out_raw!("{}", render(&rows));
        if !g.quiet {
            for row in &rows {
                for w in &row.warnings {
                    eprintln!("warning: {}: {w}", row.name);
                }
                if let Some(e) = &row.error {
                    eprintln!("{}: {e}", row.name);
                }
            }
        }
    }
    if args.check && rows.iter().any(DatabaseStatus::has_drift) {
        return Err(CommandError::Answered(exit::DIFFERENT));
    }
    Ok(())
}

/// The environment's databases, as dbtwin's admin but read-only, with what each should be: the
/// pin and migrations it was created with, or those of `-p PROFILE` when given.
async fn environment_targets(
    g: &Global,
    args: &StatusArgs,
) -> Result<Vec<(String, Result<Target, DatabaseStatus>, Expected)>, CommandError> {
    let env = EnvName::resolve(&g.env)?;
    let profile = if args.profile.profiles.is_empty() {
        None
    } else {
        Some(crate::profile::load(&args.profile.profiles)?)
    };
    let rt = connect(g).await?;
    let dbs = environment_databases(&rt, &env).await?;
    // Not knowing it leaves the rows less precise, never the command failed.
    let lock = match crate::provision::lock_holder(&rt, &env).await {
        Ok(Some(holder)) => status::Lock::Held(holder),
        Ok(None) => status::Lock::Free,
        Err(_) => status::Lock::Unknown,
    };
    let chosen = chosen(&dbs, &args.targets, &env)?;
    let mut out = Vec::new();
    for d in chosen {
        let from_profile = profile.as_ref().and_then(|p| {
            p.databases()
                .find(|(s, n, _)| s.as_str() == d.db.service && n.as_str() == d.db.database)
                .map(|(_, _, db)| db)
        });
        let expected = match from_profile {
            Some(db) => Expected {
                pinned: Some(db.version.clone()),
                migrations: db.migrations.as_ref().map(|m| m.dir.clone()),
                command: db.migrations.as_ref().and_then(|m| m.command.clone()),
                lock: lock.clone(),
            },
            None => Expected {
                pinned: PinnedVersion::parse(&d.version).ok(),
                migrations: d.migrations.as_ref().map(|m| m.dir.clone()),
                command: d.migrations.as_ref().and_then(|m| m.command.clone()),
                lock: lock.clone(),
            },
        };
        let target = match (d.engine, &d.endpoint, &d.credentials, d.state.is_running()) {
            (Some(kind), Some(at), Some(creds), true) => {
                let mut t = Target::admin(kind, at, creds);
                t.read_only = true;
                t.statement_timeout = crate::engine::target::DEFAULT_STATEMENT_TIMEOUT;
                Ok(t)
            }
            // Not running: a row that says so (drift), not an error that hides the others.
            (kind, ..) => Err(status::not_running(
                &d.db.to_string(),
                kind.map_or("?".into(), |k| k.to_string()),
                &expected,
                &d.state.label(),
            )),
        };
        out.push((d.db.to_string(), target, expected));
    }
    Ok(out)
}

/// The table for a person: one row per database, drift spelled out in the last column.
fn render(rows: &[DatabaseStatus]) -> String {
    let header =
        ["DATABASE", "ENGINE", "VERSION", "MIGRATIONS", "FINGERPRINT", "TABLES", "ROWS", "STATUS"];
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for r in rows {
        let version = match (&r.server_version, &r.pinned) {
            (Some(v), Some(p)) => format!("{v} (pin {p})"),
            (Some(v), None) => v.clone(),
            (None, Some(p)) => format!("? (pin {p})"),
            (None, None) => "?".into(),
        };
        let migrations = match &r.migrations {
            Some(m) => {
                let mut parts = vec![format!("{} applied", m.applied)];
                if !m.pending.is_empty() {
                    parts.push(format!("{} pending", m.pending.len()));
                }
                if !m.changed.is_empty() {
                    parts.push(format!("{} changed", m.changed.len()));
                }
                if !m.failed.is_empty() {
                    parts.push(format!("{} failed", m.failed.len()));
                }
                if !m.unknown.is_empty() {
                    parts.push(format!("{} unknown", m.unknown.len()));
                }
                format!("{} ({})", parts.join(", "), m.history)
            }
            None => "-".into(),
        };
        let status = if r.drift.is_empty() { "ok".to_string() } else { r.drift.join("; ") };
        table.push(vec![
            r.name.clone(),
            r.engine.clone(),
            version,
            migrations,
            r.fingerprint.clone().unwrap_or_else(|| "-".into()),
            r.tables.map_or("-".into(), |t| t.to_string()),
            r.approx_rows.map_or("-".into(), |n| n.to_string()),
            status,
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| table.iter().map(|row| row[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(
                |(i, c)| {
                    if i + 1 == row.len() { c.clone() } else { format!("{c:<w$}", w = widths[i]) }
                },
            )
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
