//! Bulk loading into Redis: batches of commands, each batch one pipeline.
//!
//! Emptying the database spares dbtwin's own keys (`dbtwin:…`: the migration history and the
//! state record), so it walks the keyspace with SCAN and UNLINKs the rest in batches rather than
//! running FLUSHDB; UNLINK frees large values in the background, so a big hash does not stall the
//! server.

use super::{Session, redis_error};
use crate::engine::EngineError;

/// dbtwin's keys all live under this prefix.
const OWN_PREFIX: &[u8] = b"dbtwin:";

/// Keys asked for per SCAN step, and so at most deleted per UNLINK.
const SCAN_COUNT: usize = 1000;

/// The keys of `keys` that are the application's, not dbtwin's.
fn theirs(keys: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    keys.into_iter().filter(|k| !k.starts_with(OWN_PREFIX)).collect()
}

/// A command for messages: its name and key, enough to find it in the seed file.
fn shown(command: &[String]) -> String {
    command.iter().take(2).map(String::as_str).collect::<Vec<_>>().join(" ")
}

impl Session {
    pub(in crate::engine) async fn prepare_load(&mut self, empty: bool) -> Result<(), EngineError> {
        if !empty {
            return Ok(());
        }
        // SCAN returns every key present from start to end at least once, whatever is deleted
        // meanwhile, so one pass deletes them all.
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut self.conn)
                .await
                .map_err(|e| redis_error("failed to list keys", e))?;
            let keys = theirs(keys);
            if !keys.is_empty() {
                redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async::<()>(&mut self.conn)
                    .await
                    .map_err(|e| redis_error("failed to delete keys", e))?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    pub(in crate::engine) async fn load_commands(
        &mut self,
        mut batches: tokio::sync::mpsc::Receiver<Vec<Vec<String>>>,
    ) -> Result<u64, EngineError> {
        let mut count = 0;
        while let Some(batch) = batches.recv().await {
            let batch: Vec<Vec<String>> = batch.into_iter().filter(|c| !c.is_empty()).collect();
            if batch.is_empty() {
                continue;
            }
            let mut pipe = redis::pipe();
            for command in &batch {
                pipe.cmd(&command[0]).arg(&command[1..]).ignore();
            }
            // A failed command does not stop the ones after it (Redis has no rollback); the
            // pipeline reports every failure, and the first names the command.
            if let Err(e) = pipe.query_async::<()>(&mut self.conn).await {
                let first =
                    e.clone().into_server_errors().and_then(|errors| errors.first().cloned());
                return Err(match first {
                    Some((index, error)) if index < batch.len() => {
                        // As the server wrote it (`WRONGTYPE Operation against …`).
                        let reply = match error.details() {
                            Some(details) => format!("{} {}", error.code(), details.trim_end()),
                            None => error.code().to_string(),
                        };
                        EngineError::new(format!("`{}` failed: {reply}", shown(&batch[index])))
                    }
                    _ => redis_error("failed to run a batch of commands", e),
                });
            }
            count += batch.len() as u64;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbtwin_keeps_its_own_keys() {
        let keys = ["dbtwin:state", "session:1", "dbtwin:schema_history", "dbtwin", "x:dbtwin:"]
            .map(|k| k.as_bytes().to_vec())
            .to_vec();
        assert_eq!(
            theirs(keys),
            ["session:1", "dbtwin", "x:dbtwin:"].map(|k| k.as_bytes().to_vec())
        );
    }

    #[test]
    fn a_command_shows_its_name_and_key() {
        let hset = ["HSET", "session:1", "ip", "1.2.3.4"].map(String::from);
        assert_eq!(shown(&hset), "HSET session:1");
        assert_eq!(shown(&["PING".to_string()]), "PING");
    }
}
