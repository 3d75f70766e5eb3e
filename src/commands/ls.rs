//! `dbtwin ls`: every environment on this engine, its databases, their age and health.

use std::time::{Duration, SystemTime};

use serde_json::json;

use super::{CommandError, connect};
use crate::cli::Global;
use crate::engine;
use crate::provision::{self, RunningDatabase};

/// How long `ls` waits for one database to answer before calling it unhealthy.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

async fn health(d: &RunningDatabase) -> (&'static str, Option<String>) {
    if !d.state.is_running() {
        return ("down", None);
    }
    let (Some(kind), Some(at), Some(creds)) = (d.engine, &d.endpoint, &d.credentials) else {
        return ("unknown", None);
    };
    match tokio::time::timeout(HEALTH_TIMEOUT, engine::probe(kind, at, creds)).await {
        Ok(Ok(version)) => ("healthy", Some(version)),
        _ => ("unhealthy", None),
    }
}

fn age(created: Option<SystemTime>) -> String {
    let Some(secs) =
        created.and_then(|c| SystemTime::now().duration_since(c).ok()).map(|d| d.as_secs())
    else {
        return "?".into();
    };
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

pub(super) async fn run(g: &Global) -> Result<(), CommandError> {
    let rt = connect(g).await?;
    let dbs = provision::databases(&rt, None).await?;
    let healths = futures_util::future::join_all(dbs.iter().map(health)).await;
    let extras = provision::extras(&rt).await?;
    if g.json {
        let rows: Vec<_> = dbs
            .iter()
            .zip(&healths)
            .map(|(d, (health, server))| {
                json!({
                    "env": d.env, "service": d.db.service, "database": d.db.database,
                    "engine": d.engine.map(|e| e.as_str()), "version": d.version, "server_version": server,
                    "profile": d.profile, "container": d.container, "state": d.state.label(),
                    "port": d.endpoint.as_ref().map(|e| e.port), "health": health,
                    "created_at": d.created_at.and_then(|c| c.duration_since(SystemTime::UNIX_EPOCH).ok()).map(|d| d.as_secs()),
                    "locked_by": extras.locks.get(&d.env),
                })
            })
            .chain(extras.kept_volumes.iter().map(|(env, db, engine, version)| {
                json!({
                    "env": env, "service": db.service, "database": db.database, "engine": engine,
                    "version": version, "state": "kept volume", "health": null,
                    "locked_by": extras.locks.get(env),
                })
            }))
            .collect();
        crate::out!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    if dbs.is_empty() && extras.kept_volumes.is_empty() && extras.locks.is_empty() {
        if !g.quiet {
            eprintln!("no dbtwin environments on this engine");
        }
        return Ok(());
    }
    let header =
        ["ENV", "DATABASE", "ENGINE", "PINNED", "SERVER", "STATE", "PORT", "AGE", "HEALTH"];
    let mut rows = vec![header.map(String::from).to_vec()];
    for (d, (health, server)) in dbs.iter().zip(&healths) {
        rows.push(vec![
            d.env.clone(),
            d.db.to_string(),
            d.engine.map_or("?", |e| e.as_str()).to_string(),
            d.version.clone(),
            // PostgreSQL reports `17.6 (Debian 17.6-1)`; the first word is the version.
            server.as_deref().and_then(|s| s.split_whitespace().next()).unwrap_or("-").to_string(),
            d.state.label(),
            d.endpoint.as_ref().map_or("-".to_string(), |e| e.port.to_string()),
            age(d.created_at),
            health.to_string(),
        ]);
    }
    for (env, db, engine, version) in &extras.kept_volumes {
        let dash = || "-".to_string();
        rows.push(vec![
            env.clone(),
            db.to_string(),
            engine.clone(),
            version.clone(),
            dash(),
            "kept volume".into(),
            dash(),
            dash(),
            dash(),
        ]);
    }
    crate::out_raw!("{}", table(&rows));
    for (env, owner) in &extras.locks {
        crate::out!(
            "environment {env} is locked by {owner} (an `up` in progress, or one that was killed)"
        );
    }
    Ok(())
}

/// Left-aligned columns, two spaces apart.
fn table(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
