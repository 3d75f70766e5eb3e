//! Triggers off for loading: MySQL and MariaDB have no session switch for them, and a trigger
//! would write rows dbtwin did not plan (a history row per generated order, colliding with the
//! generated history) or run a procedure per row. So each trigger of the loaded tables is read
//! (`SHOW CREATE TRIGGER`), dropped, and created again from that text after the load, in its
//! original order. The catalog holds no triggers, so `status` sees no change either way. The
//! statements are recorded in dbtwin_state before anything is dropped, so a load that fails or is
//! interrupted halfway leaves them for the next `seed` to put back.

use mysql_async::prelude::Queryable;

use super::{Session, ident, query_error};
use crate::engine::EngineError;

/// The dbtwin_state key holding the triggers a load took away, until it put them back.
const TRIGGERS_KEY: &str = "seed_restore_triggers";

impl Session {
    /// Drops the triggers of `tables`; returns the statements that create them again.
    pub(in crate::engine) async fn take_triggers(
        &mut self,
        tables: &[String],
    ) -> Result<Vec<String>, EngineError> {
        if tables.is_empty() {
            return Ok(Vec::new());
        }
        let list =
            tables.iter().map(|t| format!("'{}'", t.replace('\'', "''"))).collect::<Vec<_>>();
        let names: Vec<String> = self
            .conn
            .query(format!(
                "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS
                  WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE IN ({})
                  ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
                list.join(", ")
            ))
            .await
            .map_err(|e| query_error("failed to list the tables' triggers", e))?;
        let mut create = Vec::new();
        for name in &names {
            let row: Option<mysql_async::Row> = self
                .conn
                .query_first(format!("SHOW CREATE TRIGGER {}", ident(name)))
                .await
                .map_err(|e| query_error(&format!("failed to read trigger {name}"), e))?;
            // Columns: Trigger, sql_mode, SQL Original Statement, …
            let statement: Option<String> = row.and_then(|r| r.get(2));
            match statement {
                Some(s) => create.push(s),
                None => return Err(EngineError::new(format!("trigger {name} has no definition"))),
            }
        }
        if !create.is_empty() {
            let json = serde_json::to_string(&create).unwrap_or_default();
            self.set_state(TRIGGERS_KEY, &json).await?;
        }
        for name in &names {
            self.conn
                .query_drop(format!("DROP TRIGGER {}", ident(name)))
                .await
                .map_err(|e| query_error(&format!("failed to drop trigger {name}"), e))?;
        }
        Ok(create)
    }
}

impl Session {
    /// Whether a load took triggers off and did not put them back.
    pub(in crate::engine) async fn triggers_pending(&mut self) -> Result<bool, EngineError> {
        Ok(self.state(TRIGGERS_KEY).await?.is_some())
    }

    /// Triggers an interrupted load took away and never put back: created again now (those that
    /// exist already are left as they are).
    pub(in crate::engine) async fn restore_pending_triggers(&mut self) -> Result<(), EngineError> {
        let Some(json) = self.state(TRIGGERS_KEY).await? else { return Ok(()) };
        let statements: Vec<String> = serde_json::from_str(&json).unwrap_or_default();
        for statement in &statements {
            if let Err(e) = self.conn.query_drop(statement).await {
                // 1359: the trigger already exists (the load got that far).
                let exists = matches!(&e, mysql_async::Error::Server(s) if s.code == 1359);
                if !exists {
                    return Err(query_error(
                        "failed to put back a trigger of an interrupted load",
                        e,
                    ));
                }
            }
        }
        self.forget_triggers().await
    }

    /// The load put its triggers back: the record goes.
    pub(in crate::engine) async fn forget_triggers(&mut self) -> Result<(), EngineError> {
        if self.state(TRIGGERS_KEY).await?.is_none() {
            return Ok(());
        }
        self.conn
            .exec_drop(format!("DELETE FROM {} WHERE name = ?", self.state), (TRIGGERS_KEY,))
            .await
            .map_err(|e| query_error("failed to clear the trigger record", e))
    }
}
