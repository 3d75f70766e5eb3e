//! Triggers off for loading: MySQL and MariaDB have no session switch for them, and a trigger
//! would write rows dbtwin did not plan (a history row per generated order, colliding with the
//! generated history) or run a procedure per row. So each trigger of the loaded tables is read
//! (`SHOW CREATE TRIGGER`), dropped, and created again from that text after the load, in its
//! original order. The catalog holds no triggers, so `status` sees no change either way.

use mysql_async::prelude::Queryable;

use super::{Session, ident, query_error};
use crate::engine::EngineError;

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
        for name in &names {
            self.conn
                .query_drop(format!("DROP TRIGGER {}", ident(name)))
                .await
                .map_err(|e| query_error(&format!("failed to drop trigger {name}"), e))?;
        }
        Ok(create)
    }
}
