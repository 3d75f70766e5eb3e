//! Redis through the redis crate: readiness and the application's ACL user.

mod load;
mod source;

use std::collections::BTreeMap;

use redis::{ErrorKind, ServerErrorKind};

use super::session::{ApplyError, HistoryRow, NewHistoryRow};
use super::target::{Target, TlsMode};
use super::{
    Credentials, ENV_ADMIN_PASSWORD, ENV_APP_PASSWORD, ENV_APP_USER, Endpoint, EngineError,
    ProbeError,
};
use crate::profile::{EngineKind, Grants};
use crate::schema::Catalog;

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

/// The hash that holds dbtwin's migration history in a Redis database: field = zero-padded rank,
/// value = the row as JSON.
const HISTORY_KEY: &str = "dbtwin:schema_history";
const STATE_KEY: &str = "dbtwin:state";

/// A connection for `migrate` and `status`.
pub(super) struct Session {
    conn: redis::aio::MultiplexedConnection,
}

fn redis_error(what: &str, e: redis::RedisError) -> EngineError {
    EngineError::new(what.to_string()).with_source(e)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredRow {
    version: Option<String>,
    description: String,
    script: String,
    checksum: String,
    applied_at: String,
    duration_ms: i64,
    success: bool,
    statements_applied: i64,
    statements_total: i64,
}

impl Session {
    pub(super) async fn connect(target: &Target) -> Result<Session, EngineError> {
        let mut url = super::url(
            EngineKind::Redis,
            &target.endpoint,
            &target.user,
            target.password(),
            &target.database,
        );
        if target.tls != TlsMode::Disable {
            url = url.replacen("redis://", "rediss://", 1);
            if !target.tls.verifies() {
                url.push_str("#insecure");
            }
        }
        let client = redis::Client::open(url)
            .map_err(|_| EngineError::new(format!("invalid redis address {}", target.display())))?;
        let conn = client.get_multiplexed_async_connection().await.map_err(|e| {
            // An I/O failure never reached the server; a refusal (a wrong password) did.
            let unreachable = e.is_io_error() || e.is_timeout() || e.is_connection_refusal();
            let error = EngineError::new(format!("failed to connect to {}", target.display()))
                .with_source(e);
            if unreachable { error.unreachable() } else { error }
        })?;
        Ok(Session { conn })
    }

    pub(super) async fn server_version(&mut self) -> Result<String, EngineError> {
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to read the server version", e))?;
        Ok(info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_string())
            .unwrap_or_default())
    }

    /// Redis has no schema; its catalog carries the version, and the key count as the estimate
    /// of a single pseudo-table `keys`, so `status` can show how full it is.
    pub(super) async fn catalog(&mut self) -> Result<Catalog, EngineError> {
        let server_version = self.server_version().await?;
        let keys: u64 = redis::cmd("DBSIZE")
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to count keys", e))?;
        // dbtwin's own bookkeeping is not the application's data.
        let ours: u64 = redis::cmd("EXISTS")
            .arg(HISTORY_KEY)
            .arg(STATE_KEY)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to count keys", e))?;
        let keys = keys.saturating_sub(ours);
        let mut catalog = Catalog { server_version, ..Catalog::default() };
        catalog.tables.insert(
            "keys".to_string(),
            crate::schema::Table { approx_rows: Some(keys), ..Default::default() },
        );
        Ok(catalog)
    }

    pub(super) async fn history(&mut self) -> Result<Option<Vec<HistoryRow>>, EngineError> {
        let stored: BTreeMap<String, String> = redis::cmd("HGETALL")
            .arg(HISTORY_KEY)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to read dbtwin:schema_history", e))?;
        if stored.is_empty() {
            return Ok(None);
        }
        let mut rows = Vec::new();
        for (rank, json) in stored {
            let row: StoredRow = serde_json::from_str(&json).map_err(|e| {
                EngineError::new(format!("unreadable entry {rank} in {HISTORY_KEY}")).with_source(e)
            })?;
            rows.push(HistoryRow {
                rank: rank.parse().unwrap_or(0),
                version: row.version,
                description: row.description,
                script: row.script,
                checksum: row.checksum,
                applied_at: row.applied_at,
                duration_ms: row.duration_ms,
                success: row.success,
                statements_applied: row.statements_applied,
                statements_total: row.statements_total,
            });
        }
        rows.sort_by_key(|r| r.rank);
        Ok(Some(rows))
    }

    /// One past the highest rank recorded: ranks are never reused, even after `--repair`
    /// deleted a failed entry (a count would hand out a rank still in use).
    async fn next_rank(&mut self) -> Result<i64, EngineError> {
        let fields: Vec<String> = redis::cmd("HKEYS")
            .arg(HISTORY_KEY)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to read dbtwin:schema_history", e))?;
        Ok(fields.iter().filter_map(|f| f.parse::<i64>().ok()).max().unwrap_or(0) + 1)
    }

    async fn put(&mut self, rank: i64, row: &StoredRow) -> Result<(), EngineError> {
        let json = serde_json::to_string(row).expect("history rows serialise");
        redis::cmd("HSET")
            .arg(HISTORY_KEY)
            .arg(format!("{rank:08}"))
            .arg(json)
            .query_async::<()>(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to record the migration", e))
    }

    /// Commands run one by one (Redis has no rollback); a failure is recorded with how many ran.
    pub(super) async fn apply(
        &mut self,
        commands: &[Vec<String>],
        record: &NewHistoryRow,
    ) -> Result<(), ApplyError> {
        let started = std::time::Instant::now();
        let mut failed = None;
        for (index, args) in commands.iter().enumerate() {
            let Some((name, rest)) = args.split_first() else { continue };
            let mut cmd = redis::cmd(name);
            for arg in rest {
                cmd.arg(arg);
            }
            if let Err(e) = cmd.query_async::<redis::Value>(&mut self.conn).await {
                failed = Some((index, e.to_string()));
                break;
            }
        }
        let applied = failed.as_ref().map_or(commands.len(), |(i, _)| *i);
        let rank = self.next_rank().await?;
        let row = StoredRow {
            version: record.version.clone(),
            description: record.description.clone(),
            script: record.script.clone(),
            checksum: record.checksum.clone(),
            applied_at: super::utc_timestamp(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0),
            ),
            duration_ms: started.elapsed().as_millis() as i64,
            success: failed.is_none(),
            statements_applied: applied as i64,
            statements_total: commands.len() as i64,
        };
        self.put(rank, &row).await?;
        match failed {
            None => Ok(()),
            Some((index, message)) => Err(ApplyError::Statement {
                index,
                message,
                line_in_statement: None,
                left_applied: index,
                rolled_back: false,
            }),
        }
    }

    pub(super) async fn repair_checksum(
        &mut self,
        rank: i64,
        checksum: &str,
    ) -> Result<(), EngineError> {
        let json: Option<String> = redis::cmd("HGET")
            .arg(HISTORY_KEY)
            .arg(format!("{rank:08}"))
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to read dbtwin:schema_history", e))?;
        let Some(json) = json else { return Ok(()) };
        let mut row: StoredRow = serde_json::from_str(&json).map_err(|e| {
            EngineError::new(format!("unreadable entry {rank} in {HISTORY_KEY}")).with_source(e)
        })?;
        row.checksum = checksum.to_string();
        self.put(rank, &row).await
    }

    pub(super) async fn delete_failed(&mut self) -> Result<u64, EngineError> {
        let Some(rows) = self.history().await? else { return Ok(0) };
        let mut deleted = 0;
        for row in rows.iter().filter(|r| !r.success) {
            redis::cmd("HDEL")
                .arg(HISTORY_KEY)
                .arg(format!("{:08}", row.rank))
                .query_async::<()>(&mut self.conn)
                .await
                .map_err(|e| redis_error("failed to delete a failed migration", e))?;
            deleted += 1;
        }
        Ok(deleted)
    }

    pub(super) async fn state(&mut self, key: &str) -> Result<Option<String>, EngineError> {
        redis::cmd("HGET")
            .arg(STATE_KEY)
            .arg(key)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to read dbtwin:state", e))
    }

    pub(super) async fn set_state(&mut self, key: &str, value: &str) -> Result<(), EngineError> {
        redis::cmd("HSET")
            .arg(STATE_KEY)
            .arg(key)
            .arg(value)
            .query_async::<()>(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to write dbtwin:state", e))
    }
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
