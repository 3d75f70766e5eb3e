//! Bulk loading into PostgreSQL: `COPY … FROM STDIN` with the keys taken off and put back.
//!
//! Loading into a table whose primary key, unique indexes and foreign keys are live costs several
//! times what loading bare tables and building them afterwards does (the issue measured 5× for a
//! live foreign key and 1.4× for a key and a unique index; `benches/seed.rs` measures ours). So
//! `prepare_load` reads each constraint's and index's definition as the server prints it
//! (`pg_get_constraintdef`, `pg_get_indexdef`), records them in dbtwin_state, and drops them;
//! after the load they are recreated under the same names, and the server validates every key
//! and foreign key as it builds them. Triggers do not fire during the load
//! (`session_replication_role = replica`, as a data-only restore does): the rows are generated
//! consistent, and a trigger writing into another table would add rows dbtwin did not plan.
//!
//! A foreign key comes back validated by one query over both tables. When an index leads with
//! the referencing columns (the usual index on `orders.user_id`), the query is run as a merge of
//! the two indexes, in key order, instead of the hash join the server picks by default for a
//! big table (measured 0.39 s against 2.1–2.3 s for 3,000,000 orders referencing 1,000,000
//! users: the hash join of a foreign key check runs on one core, with
//! `maintenance_work_mem` as its memory).

use std::collections::BTreeSet;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::types::Type;

use super::{Session, ident, query_error, server_message};
use crate::engine::EngineError;
use crate::engine::bulk::{self, Format};
use crate::engine::session::{RESTORE_KEY, Restore};

/// Marks a foreign key whose referencing columns lead a btree index: its validation merges the
/// two indexes. A comment, so the statement stays valid SQL as it is recorded.
const INDEXED: &str = "/* indexed */ ";

/// `schema.table` as the catalog names it (public unprefixed) → a quoted, qualified name.
pub(super) fn qualified(table: &str) -> String {
    match table.split_once('.') {
        Some((schema, name)) => format!("{}.{}", ident(schema), ident(name)),
        None => format!("public.{}", ident(table)),
    }
}

impl Session {
    pub(in crate::engine) async fn filled_tables(
        &mut self,
        tables: &[String],
    ) -> Result<BTreeSet<String>, EngineError> {
        if tables.is_empty() {
            return Ok(BTreeSet::new());
        }
        let sql = tables
            .iter()
            .enumerate()
            .map(|(i, t)| format!("SELECT {i} WHERE EXISTS (SELECT 1 FROM {})", qualified(t)))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows = self
            .client
            .query(&sql, &[])
            .await
            .map_err(|e| query_error("failed to count rows", e))?;
        Ok(rows.iter().map(|r| tables[r.get::<_, i32>(0) as usize].clone()).collect())
    }

    pub(in crate::engine) async fn key_rows(
        &mut self,
        table: &str,
        columns: &[String],
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        let list = columns.iter().map(|c| format!("{}::text", ident(c))).collect::<Vec<_>>();
        let order = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {} FROM {} ORDER BY {order}", list.join(", "), qualified(table));
        let rows = self
            .client
            .query(&sql, &[])
            .await
            .map_err(|e| query_error(&format!("failed to read {table}"), e))?;
        Ok(rows.iter().map(|r| (0..columns.len()).map(|i| r.get(i)).collect()).collect())
    }

    pub(in crate::engine) async fn prepare_load(
        &mut self,
        tables: &[String],
        empty: bool,
        loading: &[String],
    ) -> Result<Restore, EngineError> {
        let names: Vec<String> = tables.iter().map(|t| qualified(t)).collect();
        // A restore left by an interrupted load comes first: its keys are still missing.
        self.recover(&names, empty).await?;
        let oids = "SELECT array_agg(to_regclass(n)) FROM unnest($1::text[]) AS n";
        let keys_sql = format!(
            "WITH t AS (SELECT unnest(({oids})) AS oid)
             SELECT c.conrelid::regclass::text, c.conname::text, c.contype::text,
                    pg_get_constraintdef(c.oid),
                    c.contype = 'f' AND EXISTS (
                      SELECT 1 FROM pg_index i
                        JOIN pg_class ic ON ic.oid = i.indexrelid
                        JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
                       WHERE i.indrelid = c.conrelid AND i.indpred IS NULL
                         AND i.indnkeyatts >= cardinality(c.conkey)
                         AND (SELECT array_agg(k) FROM unnest(i.indkey::int2[])
                                WITH ORDINALITY AS u(k, n)
                               WHERE n <= cardinality(c.conkey)) @> c.conkey)
               FROM pg_constraint c
              WHERE (c.contype IN ('p', 'u', 'x') AND c.conrelid IN (SELECT oid FROM t))
                 OR (c.contype = 'f' AND (c.conrelid IN (SELECT oid FROM t)
                                          OR c.confrelid IN (SELECT oid FROM t)))
              ORDER BY c.conrelid::regclass::text, c.conname"
        );
        let indexes_sql = format!(
            "WITH t AS (SELECT unnest(({oids})) AS oid)
             SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text,
                    pg_get_indexdef(i.indexrelid)
               FROM pg_index i
              WHERE i.indrelid IN (SELECT oid FROM t)
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                                  AND c.contype IN ('p', 'u', 'x'))
              ORDER BY 1, 2"
        );
        // Both asked at once (one round trip).
        let params: [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 1] =
            [(&names, Type::TEXT_ARRAY)];
        let (constraints, indexes) = tokio::join!(
            self.client.query_typed(&keys_sql, &params),
            self.client.query_typed(&indexes_sql, &params)
        );
        let constraints =
            constraints.map_err(|e| query_error("failed to read the tables' keys", e))?;
        let indexes = indexes.map_err(|e| query_error("failed to read the tables' indexes", e))?;

        let mut restore = Restore::default();
        let mut drop_fks = Vec::new();
        let mut drop_keys = Vec::new();
        let mut by_table: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for row in &constraints {
            let (table, name, kind, definition): (String, String, String, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let add = format!("ALTER TABLE {table} ADD CONSTRAINT {} {definition}", ident(&name));
            let drop = format!("ALTER TABLE {table} DROP CONSTRAINT {}", ident(&name));
            if kind == "f" {
                let indexed = row.get::<_, bool>(4);
                restore.foreign_keys.push(if indexed { format!("{INDEXED}{add}") } else { add });
                drop_fks.push(drop);
            } else {
                by_table.entry(table).or_default().push(add);
                drop_keys.push(drop);
            }
        }
        let mut drop_indexes = Vec::new();
        for row in &indexes {
            let (table, index, definition): (String, String, String) =
                (row.get(0), row.get(1), row.get(2));
            by_table.entry(table).or_default().push(definition);
            drop_indexes.push(format!("DROP INDEX {index}"));
        }
        restore.keys = by_table.into_iter().collect();

        if empty {
            restore.emptied = names.clone();
        }
        // Recorded before anything is dropped: whatever happens next, the definitions survive.
        if !restore.is_empty() {
            let json = serde_json::to_string(&restore).unwrap_or_default();
            self.set_state(RESTORE_KEY, &json).await?;
        }
        let mut script = String::from("BEGIN;\n");
        for statement in drop_fks.iter().chain(&drop_keys).chain(&drop_indexes) {
            script.push_str(statement);
            script.push_str(";\n");
        }
        // Tables about to be loaded are emptied by their loads (see `load_rows`).
        let unloaded: Vec<&str> = tables
            .iter()
            .zip(&names)
            .filter(|(table, _)| !loading.contains(table))
            .map(|(_, name)| name.as_str())
            .collect();
        if empty && !unloaded.is_empty() {
            script.push_str(&format!("TRUNCATE {};\n", unloaded.join(", ")));
        }
        script.push_str("COMMIT;");
        if let Err(e) = self.client.batch_execute(&script).await {
            let _ = self.client.batch_execute("ROLLBACK").await;
            let _ = self.clear_restore().await;
            return Err(EngineError::new(format!(
                "failed to prepare the tables for loading: {}",
                server_message(&e)
            )));
        }
        Ok(restore)
    }

    pub(in crate::engine) async fn load_rows(
        &mut self,
        table: &str,
        columns: &[String],
        format: Format,
        mut chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        let failed = |e: tokio_postgres::Error| {
            EngineError::new(format!("failed to load rows into {table}: {}", server_message(&e)))
        };
        // The table is emptied in the COPY's own transaction (`prepare_load` leaves it to this):
        // the old rows go in parallel with other tables' loads, and the new rows are written
        // frozen (no later pass to set their visibility hints, which the key builds right after
        // would otherwise do).
        let name = qualified(table);
        self.client
            .batch_execute(&format!(
                "SET session_replication_role = replica; SET synchronous_commit = off; \
                 BEGIN; TRUNCATE {name}"
            ))
            .await
            .map_err(failed)?;
        let list = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        let options = match format {
            Format::Text => "FREEZE",
            Format::Binary => "FORMAT binary, FREEZE",
        };
        let sql = format!("COPY {name} ({list}) FROM STDIN ({options})");
        let copied = async {
            let sink = self.client.copy_in::<_, Bytes>(&sql).await?;
            let mut sink = std::pin::pin!(sink);
            // Binary chunks are rows alone (`copy_out` takes the header and trailer away).
            if format == Format::Binary {
                sink.send(Bytes::from(bulk::binary_header())).await?;
            }
            while let Some(chunk) = chunks.recv().await {
                sink.send(Bytes::from(chunk)).await?;
            }
            if format == Format::Binary {
                sink.send(Bytes::from_static(&bulk::BINARY_TRAILER)).await?;
            }
            sink.as_mut().finish().await
        }
        .await;
        let rows = match copied {
            Ok(rows) => rows,
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                return Err(failed(e));
            }
        };
        self.client
            .batch_execute("COMMIT; RESET session_replication_role")
            .await
            .map_err(failed)?;
        Ok(rows)
    }

    pub(in crate::engine) async fn run_all(
        &mut self,
        statements: &[String],
    ) -> Result<(), EngineError> {
        // Index builds sort in memory up to this much (the default, 64 MB, spills to disk for a
        // million-row table); for this session only.
        // A foreign key's validation gets as much (the server uses it as the check's work_mem).
        if statements.iter().any(|s| {
            s.contains(" INDEX ")
                || s.contains("PRIMARY KEY")
                || s.contains(" UNIQUE")
                || s.contains(" FOREIGN KEY ")
        }) {
            self.client
                .batch_execute("SET maintenance_work_mem = '256MB'")
                .await
                .map_err(|e| query_error("failed to size the index builds", e))?;
        }
        for statement in statements {
            let (indexed, statement) = match statement.strip_prefix(INDEXED) {
                Some(rest) => (true, rest),
                None => (false, statement.as_str()),
            };
            let run = async {
                if !indexed {
                    return self.client.batch_execute(statement).await;
                }
                // The check's join, as a merge of the two indexes; this session only.
                self.client.batch_execute("SET enable_hashjoin = off").await?;
                let ran = self.client.batch_execute(statement).await;
                let reset = self.client.batch_execute("RESET enable_hashjoin").await;
                ran.and(reset)
            };
            run.await.map_err(|e| {
                EngineError::new(format!(
                    "failed to put back what loading took away ({statement}): {}",
                    server_message(&e)
                ))
            })?;
        }
        Ok(())
    }

    /// What a load that did not end took away comes back. The tables about to be emptied
    /// (`empty`) are emptied before, so rows that broke a key (the reason the load may have
    /// failed) cannot stop the keys from coming back.
    async fn recover(&mut self, names: &[String], empty: bool) -> Result<(), EngineError> {
        let Some(pending) = self.state(RESTORE_KEY).await? else { return Ok(()) };
        if empty && !names.is_empty() {
            self.client
                .batch_execute(&format!("TRUNCATE {}", names.join(", ")))
                .await
                .map_err(|e| query_error("failed to empty the tables", e))?;
        }
        let restore: Restore = serde_json::from_str(&pending).unwrap_or_default();
        self.put_back(&restore).await
    }

    /// [`crate::engine::Session::mend_load`]: the recorded tables are SQL names already (quoted
    /// and qualified when emptied; the server's `regclass` text for the keys' tables).
    pub(in crate::engine) async fn mend_load(&mut self) -> Result<(), EngineError> {
        let Some(pending) = self.state(RESTORE_KEY).await? else { return Ok(()) };
        let restore: Restore = serde_json::from_str(&pending).unwrap_or_default();
        self.recover(&restore.emptied_tables(), true).await
    }

    /// After a load of `tables` that failed: they are emptied and what the load took away
    /// comes back.
    pub(in crate::engine) async fn recover_load(
        &mut self,
        tables: &[String],
    ) -> Result<(), EngineError> {
        let names: Vec<String> = tables.iter().map(|t| qualified(t)).collect();
        self.recover(&names, true).await
    }

    async fn put_back(&mut self, restore: &Restore) -> Result<(), EngineError> {
        for (_, statements) in &restore.keys {
            for statement in statements {
                // Already there (the interrupted load got this far): skip.
                if let Err(e) = self.client.batch_execute(statement).await
                    && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT)
                    && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_TABLE)
                    && e.code() != Some(&tokio_postgres::error::SqlState::INVALID_TABLE_DEFINITION)
                {
                    return Err(query_error("failed to put back a key of an interrupted load", e));
                }
            }
        }
        for statement in &restore.foreign_keys {
            if let Err(e) = self.client.batch_execute(statement).await
                && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT)
            {
                return Err(query_error(
                    "failed to put back a foreign key of an interrupted load",
                    e,
                ));
            }
        }
        self.clear_restore().await
    }

    async fn clear_restore(&mut self) -> Result<(), EngineError> {
        self.client
            .query_typed(
                &format!("DELETE FROM {} WHERE name = $1", self.state),
                &[(&RESTORE_KEY, Type::TEXT)],
            )
            .await
            .map(|_| ())
            .map_err(|e| query_error("failed to clear the restore record", e))
    }

    pub(in crate::engine) async fn finish_tables(
        &mut self,
        tables: &[String],
    ) -> Result<(), EngineError> {
        let names: Vec<String> = tables.iter().map(|t| qualified(t)).collect();
        // Sequences owned by the loaded tables' columns (serial and identity) move past the keys
        // dbtwin wrote, so the application's next insert does not collide.
        let rows = self
            .client
            .query(
                "SELECT format('SELECT setval(%L, COALESCE((SELECT max(%I) FROM %s), 0) + 1, false)',
                               s.oid::regclass::text, a.attname, d.refobjid::regclass)
                   FROM pg_depend d
                   JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                    AND d.deptype IN ('a', 'i')
                    AND d.refobjid IN (SELECT to_regclass(n) FROM unnest($1::text[]) AS n)",
                &[&names],
            )
            .await
            .map_err(|e| query_error("failed to find the tables' sequences", e))?;
        let mut script: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
        if !names.is_empty() {
            script.push(format!("ANALYZE {}", names.join(", ")));
        }
        self.run_all(&script).await
    }

    /// Every table's keys are back: the restore record goes.
    pub(in crate::engine) async fn forget_restore(&mut self) -> Result<(), EngineError> {
        if self.state(RESTORE_KEY).await?.is_some() {
            self.clear_restore().await?;
        }
        Ok(())
    }
}
