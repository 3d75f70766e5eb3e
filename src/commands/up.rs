//! `dbtwin up`: load the profile, bring the environment up (or reconcile it), print the URLs.

use std::time::Duration;

use serde_json::json;

use super::{CommandError, connect, reporter};
use crate::cli::{Global, UpArgs};
use crate::engine;
use crate::environment::EnvName;
use crate::profile::{self, url_variable};
use crate::provision::{self, Cancel, UpOptions};

pub(super) async fn run(g: &Global, args: &UpArgs) -> Result<(), CommandError> {
    // Everything that can be checked without the engine is checked first: a bad profile starts
    // nothing.
    let profile = profile::load(&args.profile.profiles)?;
    let seed_files =
        if args.no_data { Default::default() } else { super::seed::seed_files(&profile)? };
    let env = EnvName::resolve(&g.env)?;
    let rt = connect(g).await?;
    let reporter = reporter(g);
    let cancel = Cancel::default();
    let signals = tokio::spawn(watch_signals(cancel.clone(), env.to_string()));
    let opts = UpOptions {
        env,
        recreate: args.recreate,
        keep_on_failure: args.keep_on_failure,
        ready_timeout: Duration::from_secs(args.ready_timeout),
        no_data: args.no_data,
        seed_files,
    };
    let outcome = provision::up(&rt, &profile, &opts, &reporter.events, &cancel).await;
    signals.abort();
    reporter.finish();
    let outcome = outcome?;

    // URLs carry passwords, so they are shown redacted; `dbtwin env` prints them whole.
    let rows: Vec<_> = outcome
        .databases
        .iter()
        .map(|d| {
            let url = engine::redact_url(&engine::app_url(d.engine, &d.endpoint, &d.credentials));
            (d, url)
        })
        .collect();
    if g.json {
        let databases: Vec<_> = rows
            .iter()
            .map(|(d, url)| {
                json!({
                    "service": d.db.service, "database": d.db.database, "engine": d.engine.as_str(),
                    "pinned": d.pinned, "server_version": d.server_version, "action": d.action,
                    "container": d.container, "host": d.endpoint.host, "port": d.endpoint.port,
                    "variable": url_variable(&d.db.service, &d.db.database, "URL"), "url": url,
                })
            })
            .collect();
        crate::out!(
            "{}",
            json!({ "result": "up", "env": outcome.env.as_str(), "network": outcome.network, "databases": databases })
        );
    } else {
        for (d, url) in &rows {
            crate::out!("{:<28} {}", url_variable(&d.db.service, &d.db.database, "URL"), url);
        }
        if !g.quiet {
            eprintln!(
                "environment {} is up; `dbtwin env{}` prints the URLs with their passwords",
                outcome.env,
                if outcome.env.as_str() == "default" {
                    String::new()
                } else {
                    format!(" --env {}", outcome.env)
                }
            );
        }
    }
    Ok(())
}

/// Ctrl-C or SIGTERM cancels the run; `up` then removes what it created before exiting. A second
/// one stops at once, saying what may be left.
pub(super) async fn watch_signals(cancel: Cancel, env: String) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) =
            (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
        else {
            return;
        };
        for round in 0..2 {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if round == 0 {
                cancel.cancel();
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        cancel.cancel();
        let _ = tokio::signal::ctrl_c().await;
    }
    eprintln!("interrupted again: stopping now; `dbtwin down --env {env}` removes what is left");
    std::process::exit(crate::exit::INTERRUPTED);
}
