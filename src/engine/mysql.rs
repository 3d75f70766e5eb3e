//! MySQL and MariaDB through mysql_async: readiness, the application's user and grants.
//!
//! Both official images initialise with a temporary server started with `--skip-networking` and
//! then restart the real one, so only the final server answers over TCP.

mod catalog;

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

use super::{Credentials, Endpoint, EngineError, ProbeError};
use crate::profile::{EngineKind, Grants};

pub(super) fn server_args(
    kind: EngineKind,
    throwaway: bool,
    settings: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    if throwaway {
        args.extend(
            [
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=OFF",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
            ]
            .map(String::from),
        );
        if kind == EngineKind::Mysql {
            // MySQL writes a binary log by default (MariaDB does not).
            args.extend(["--skip-log-bin", "--sync-binlog=0"].map(String::from));
        }
    }
    for (k, v) in settings {
        args.push(format!("--{}={v}", k.replace('_', "-")));
    }
    args
}

/// The admin's connection options: dbtwin talks to the server only as the admin.
fn admin_opts(at: &Endpoint, creds: &Credentials) -> OptsBuilder {
    OptsBuilder::default()
        .ip_or_hostname(at.host.clone())
        .tcp_port(at.port)
        .user(Some(&creds.admin_user))
        .pass(Some(&creds.admin_password))
        .db_name(Some(&creds.database))
        .prefer_socket(false)
}

fn classify(e: mysql_async::Error) -> ProbeError {
    match &e {
        // 1045: access denied; 1049: unknown database. Waiting will not fix either.
        mysql_async::Error::Server(s) if s.code == 1045 => ProbeError::fatal(format!(
            "the server refused the admin password ({}); was the data directory created by another \
             environment?",
            s.message
        )),
        mysql_async::Error::Server(s) if s.code == 1049 => ProbeError::fatal(s.message.clone()),
        _ => ProbeError::retry(e.to_string()),
    }
}

pub(super) async fn probe(at: &Endpoint, creds: &Credentials) -> Result<String, ProbeError> {
    let mut conn = Conn::new(admin_opts(at, creds)).await.map_err(classify)?;
    let version: Option<String> = conn.query_first("SELECT VERSION()").await.map_err(classify)?;
    let _ = conn.disconnect().await;
    version.ok_or_else(|| ProbeError::retry("the server returned no version"))
}

/// Quotes a string literal; user names and passwords are validated or generated, but quoting keeps
/// that an implementation detail.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

fn grant_statement(creds: &Credentials, grants: Grants) -> String {
    let what = match grants {
        Grants::Owner => "ALL PRIVILEGES",
        Grants::ReadWrite => {
            "SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES, LOCK TABLES"
        }
        Grants::ReadOnly => "SELECT, SHOW VIEW",
    };
    format!("GRANT {what} ON {}.* TO {}@'%'", ident(&creds.database), literal(&creds.app_user))
}

pub(super) async fn configure(
    at: &Endpoint,
    creds: &Credentials,
    grants: Grants,
) -> Result<(), EngineError> {
    let mut conn = Conn::new(admin_opts(at, creds)).await.map_err(|e| {
        EngineError::new(format!("failed to connect to database {} as admin", creds.database))
            .with_source(e)
    })?;
    let user = format!("{}@'%'", literal(&creds.app_user));
    let password = literal(&creds.app_password);
    let statements = [
        format!("CREATE DATABASE IF NOT EXISTS {}", ident(&creds.database)),
        format!("CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {password}"),
        format!("ALTER USER {user} IDENTIFIED BY {password}"),
        grant_statement(creds, grants),
    ];
    for statement in statements {
        conn.query_drop(&statement).await.map_err(|e| {
            EngineError::new(format!(
                "failed to configure user {} on database {}",
                creds.app_user, creds.database
            ))
            .with_source(e)
        })?;
    }
    let _ = conn.disconnect().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_skips_its_binary_log_when_throwaway() {
        let none = BTreeMap::new();
        assert!(
            server_args(EngineKind::Mysql, true, &none).contains(&"--skip-log-bin".to_string())
        );
        assert!(
            !server_args(EngineKind::Mariadb, true, &none).contains(&"--skip-log-bin".to_string())
        );
        let settings = BTreeMap::from([("max_connections".to_string(), "500".to_string())]);
        assert_eq!(
            server_args(EngineKind::Mariadb, false, &settings),
            vec!["--max-connections=500"]
        );
    }
}
