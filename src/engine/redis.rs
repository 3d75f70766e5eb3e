//! Redis through the redis crate: readiness and the application's ACL user.

use std::collections::BTreeMap;

use redis::{ErrorKind, ServerErrorKind};

use super::{Credentials, Endpoint, ProbeError};
use crate::profile::Grants;

/// The ACL rules of each grant level. `readwrite` may run everything but administration;
/// `readonly` may read and manage its own connection.
fn acl_rules(grants: Grants) -> &'static [&'static str] {
    match grants {
        Grants::Owner => &["~*", "&*", "+@all"],
        Grants::ReadWrite => &["~*", "&*", "+@all", "-@admin"],
        Grants::ReadOnly => &["~*", "&*", "-@all", "+@read", "+@connection"],
    }
}

pub(super) fn server_args(
    throwaway: bool,
    settings: &BTreeMap<String, String>,
    creds: &Credentials,
    grants: Grants,
) -> Vec<String> {
    let mut args = vec!["--requirepass".to_string(), creds.admin_password.clone()];
    // The application user is part of the server's configuration, so it survives restarts.
    args.extend([
        "--user".to_string(),
        creds.app_user.clone(),
        "on".to_string(),
        format!(">{}", creds.app_password),
    ]);
    args.extend(acl_rules(grants).iter().map(|r| r.to_string()));
    if throwaway {
        args.extend(["--save", "", "--appendonly", "no"].map(String::from));
    }
    for (k, v) in settings {
        args.extend([format!("--{k}"), v.clone()]);
    }
    args
}

fn classify(e: redis::RedisError) -> ProbeError {
    match e.kind() {
        ErrorKind::AuthenticationFailed => {
            ProbeError::fatal(format!("the server refused the admin password ({e})"))
        }
        ErrorKind::Server(ServerErrorKind::BusyLoading) => {
            ProbeError::retry("the server is loading its data")
        }
        _ => ProbeError::retry(e.to_string()),
    }
}

fn client(
    at: &Endpoint,
    user: &str,
    password: &str,
    database: &str,
) -> Result<redis::Client, ProbeError> {
    let url = super::url(crate::profile::EngineKind::Redis, at, user, password, database);
    // The URL holds the password, so the error names the address only.
    redis::Client::open(url)
        .map_err(|_| ProbeError::fatal(format!("invalid redis address {}:{}", at.host, at.port)))
}

pub(super) async fn probe(at: &Endpoint, creds: &Credentials) -> Result<String, ProbeError> {
    let client = client(at, &creds.admin_user, &creds.admin_password, &creds.database)?;
    let mut conn = client.get_multiplexed_async_connection().await.map_err(classify)?;
    let info: String =
        redis::cmd("INFO").arg("server").query_async(&mut conn).await.map_err(classify)?;
    info.lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| ProbeError::retry("INFO did not report redis_version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_user_is_in_the_startup_arguments() {
        let creds = Credentials {
            admin_user: "default".into(),
            admin_password: "adminpw".into(),
            app_user: "app".into(),
            app_password: "apppw".into(),
            database: "0".into(),
        };
        let args = server_args(true, &BTreeMap::new(), &creds, Grants::ReadOnly);
        let joined = args.join(" ");
        assert!(
            joined.starts_with("--requirepass adminpw --user app on >apppw ~* &* -@all +@read")
        );
        assert!(joined.ends_with("--save  --appendonly no"));
    }
}
