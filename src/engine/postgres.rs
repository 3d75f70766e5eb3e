//! PostgreSQL through tokio-postgres: readiness, the application's role and grants, extensions.
//!
//! The official image initialises a new data directory with a temporary server that listens on
//! no TCP port; only the final server answers through the published port. A probe that connects
//! from the host over TCP and runs a query therefore cannot be fooled by the init server.

mod catalog;

use std::collections::BTreeMap;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use super::{Credentials, Endpoint, EngineError, ProbeError};
use crate::profile::Grants;

pub(super) fn server_args(throwaway: bool, settings: &BTreeMap<String, String>) -> Vec<String> {
    let mut args = Vec::new();
    if throwaway {
        for s in ["fsync=off", "synchronous_commit=off", "full_page_writes=off"] {
            args.extend(["-c".to_string(), s.to_string()]);
        }
    }
    for (k, v) in settings {
        args.extend(["-c".to_string(), format!("{k}={v}")]);
    }
    args
}

async fn connect_admin(
    at: &Endpoint,
    creds: &Credentials,
) -> Result<Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&at.host)
        .port(at.port)
        .user(&creds.admin_user)
        .password(&creds.admin_password)
        .dbname(&creds.database)
        .application_name("dbtwin")
        .connect_timeout(super::PROBE_TIMEOUT);
    let (client, connection) = config.connect(NoTls).await?;
    // The connection drives the socket; it ends when the client is dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn classify(e: tokio_postgres::Error) -> ProbeError {
    match e.code() {
        Some(c) if *c == SqlState::CANNOT_CONNECT_NOW => {
            ProbeError::retry("the server is starting up")
        }
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            ProbeError::fatal(format!(
                "the server refused the admin password ({e}); was the data directory created by \
                 another environment?"
            ))
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => ProbeError::fatal(e.to_string()),
        _ => {
            let mut msg = e.to_string();
            if let Some(source) = std::error::Error::source(&e) {
                msg = format!("{msg}: {source}");
            }
            ProbeError::retry(msg)
        }
    }
}

pub(super) async fn probe(at: &Endpoint, creds: &Credentials) -> Result<String, ProbeError> {
    let client = connect_admin(at, creds).await.map_err(classify)?;
    let row = client.query_one("SHOW server_version", &[]).await.map_err(classify)?;
    Ok(row.get::<_, String>(0))
}

/// Quotes an identifier for SQL.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes a string literal for SQL.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The statements that give the application role its grants on the database's public schema,
/// now and for tables the admin creates later (migrations run as the admin).
fn grant_statements(creds: &Credentials, grants: Grants) -> Vec<String> {
    let (role, db, admin) =
        (ident(&creds.app_user), ident(&creds.database), ident(&creds.admin_user));
    let defaults = |what: &str, on: &str| {
        format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {admin} IN SCHEMA public GRANT {what} ON {on} TO {role}"
        )
    };
    match grants {
        Grants::Owner => vec![
            format!("ALTER DATABASE {db} OWNER TO {role}"),
            format!("ALTER SCHEMA public OWNER TO {role}"),
            format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"),
            format!("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"),
            defaults("ALL", "TABLES"),
            defaults("ALL", "SEQUENCES"),
        ],
        Grants::ReadWrite => vec![
            format!("GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}"),
            format!("GRANT USAGE ON SCHEMA public TO {role}"),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
            ),
            format!("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}"),
            defaults("SELECT, INSERT, UPDATE, DELETE", "TABLES"),
            defaults("USAGE, SELECT, UPDATE", "SEQUENCES"),
        ],
        Grants::ReadOnly => vec![
            format!("GRANT CONNECT ON DATABASE {db} TO {role}"),
            format!("GRANT USAGE ON SCHEMA public TO {role}"),
            format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"),
            format!("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
            defaults("SELECT", "TABLES"),
            defaults("SELECT", "SEQUENCES"),
        ],
    }
}

pub(super) async fn configure(
    at: &Endpoint,
    creds: &Credentials,
    grants: Grants,
    extensions: &[String],
) -> Result<(), EngineError> {
    let client = connect_admin(at, creds).await.map_err(|e| {
        EngineError::new(format!("failed to connect to database {} as admin", creds.database))
            .with_source(e)
    })?;
    let role = &creds.app_user;
    let exists = client
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[role])
        .await
        .map_err(|e| EngineError::new(format!("failed to look up role {role}")).with_source(e))?
        .is_some();
    // NOSUPERUSER etc. are the defaults; spelled out because parity with production is the point.
    let verb = if exists { "ALTER" } else { "CREATE" };
    let create = format!(
        "{verb} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}",
        ident(role),
        literal(&creds.app_password)
    );
    client
        .batch_execute(&create)
        .await
        .map_err(|e| EngineError::new(format!("failed to create role {role}")).with_source(e))?;
    for ext in extensions {
        client
            .batch_execute(&format!("CREATE EXTENSION IF NOT EXISTS {}", ident(ext)))
            .await
            .map_err(|e| {
                EngineError::new(format!("failed to create extension {ext}")).with_source(e)
            })?;
    }
    for statement in grant_statements(creds, grants) {
        client.batch_execute(&statement).await.map_err(|e| {
            EngineError::new(format!("failed to grant privileges to role {role}")).with_source(e)
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throwaway_comes_first_so_settings_win() {
        let settings = BTreeMap::from([("fsync".to_string(), "on".to_string())]);
        let args = server_args(true, &settings);
        assert_eq!(args.first().map(String::as_str), Some("-c"));
        assert_eq!(args.last().map(String::as_str), Some("fsync=on"));
        assert!(server_args(false, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
