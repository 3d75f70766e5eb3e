//! Redis through the redis crate: readiness and the application's ACL user.

use std::collections::BTreeMap;

use redis::{ErrorKind, ServerErrorKind};

use super::{
    Credentials, ENV_ADMIN_PASSWORD, ENV_APP_PASSWORD, ENV_APP_USER, Endpoint, ProbeError,
};
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

/// The entrypoint: the image's own, started through `sh` so that the passwords come from the
/// container's environment. Were they arguments, `docker ps --no-trunc` and the host's process
/// list would show them.
pub(super) fn entrypoint() -> Vec<String> {
    let script = format!(
        "exec docker-entrypoint.sh redis-server --requirepass \"${ENV_ADMIN_PASSWORD}\" \
         --user \"${ENV_APP_USER}\" on \">${ENV_APP_PASSWORD}\" \"$@\""
    );
    vec!["sh".into(), "-c".into(), script, "redis-server".into()]
}

/// The arguments after the entrypoint's own: the application user's ACL rules (the user is part
/// of the server's configuration, so it survives restarts), then throwaway tuning, then settings.
pub(super) fn server_args(
    throwaway: bool,
    settings: &BTreeMap<String, String>,
    grants: Grants,
) -> Vec<String> {
    let mut args: Vec<String> = acl_rules(grants).iter().map(|r| r.to_string()).collect();
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
    fn passwords_stay_out_of_the_arguments() {
        let args = server_args(true, &BTreeMap::new(), Grants::ReadOnly);
        assert_eq!(args.join(" "), "~* &* -@all +@read +@connection --save  --appendonly no");
        let script = &entrypoint()[2];
        assert!(script.contains("--requirepass \"$DBTWIN_ADMIN_PASSWORD\""), "{script}");
        assert!(script.contains("on \">$DBTWIN_APP_PASSWORD\" \"$@\""), "{script}");
    }
}
