//! Bulk loading into MySQL and MariaDB: `LOAD DATA LOCAL INFILE` fed straight from the
//! generator's channel, with foreign key and unique checks off for the load's session.
//!
//! Unlike PostgreSQL, the keys stay: InnoDB stores rows in primary key order, so a table without
//! its key would be rebuilt when the key came back, and MariaDB already builds the indexes of an
//! empty table in bulk when the session's checks are off (a million rows with a random unique
//! email loaded in 4 to 8 s that way, against 38 s with the checks on, in a 32 MB buffer pool).
//! Each load runs in one transaction and fails on the first warning: with `LOCAL` the server
//! turns bad values and duplicate keys into warnings (it cannot stop the client mid-file), and a
//! table silently holding truncated or skipped rows is worse than no rows.

use std::collections::BTreeSet;

use bytes::Bytes;
use futures_util::StreamExt;
use mysql_async::prelude::Queryable;

use super::{Session, ident, query_error, server_error, text};
use crate::engine::EngineError;
use crate::engine::session::Restore;

/// The largest piece sent in one packet. The server reassembles a packet split at 16 MiB and
/// refuses one larger than its `max_allowed_packet` (16 MiB on MariaDB by default), while the
/// file's bytes may be cut anywhere: a big chunk goes as several packets.
const PIECE: usize = 1 << 20;

/// Server errors meaning LOAD DATA LOCAL is turned off: MariaDB's older 1148 and newer 4166,
/// MySQL's 3948.
const LOCAL_REFUSED: [u16; 3] = [1148, 3948, 4166];

/// One query telling which of `tables` hold a row: it returns their positions.
fn filled_query(tables: &[String]) -> String {
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!("SELECT {i} FROM DUAL WHERE EXISTS (SELECT 1 FROM {} LIMIT 1)", ident(t))
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The LOAD DATA statement for the text bulk format. The separators are hex literals so the
/// statement means the same under `NO_BACKSLASH_ESCAPES`, where `'\t'` would be two characters.
///
/// The file is UTF-8 text, except in the columns in `binary` (BINARY, VARBINARY, BLOB, BIT),
/// whose bytes are arbitrary. MySQL 8 and later refuse bytes that are not UTF-8 in a file read
/// as utf8mb4 (error 1300) even for a binary column; a table with such columns is read as
/// `binary` instead, its binary columns taking their bytes as they are and every other column
/// its text converted from UTF-8 (so a latin1 column still gets its characters, not the bytes).
fn load_statement(table: &str, columns: &[String], binary: &BTreeSet<String>) -> String {
    let format = "FIELDS TERMINATED BY X'09' ENCLOSED BY '' ESCAPED BY X'5C' \
                  LINES TERMINATED BY X'0A'";
    if !columns.iter().any(|c| binary.contains(c)) {
        let list = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        return format!(
            "LOAD DATA LOCAL INFILE 'dbtwin' INTO TABLE {} CHARACTER SET utf8mb4 {format} ({list})",
            ident(table)
        );
    }
    let vars = (0..columns.len()).map(|i| format!("@v{i}")).collect::<Vec<_>>().join(", ");
    let set = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if binary.contains(c) {
                format!("{} = @v{i}", ident(c))
            } else {
                format!("{} = CONVERT(@v{i} USING utf8mb4)", ident(c))
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "LOAD DATA LOCAL INFILE 'dbtwin' INTO TABLE {} CHARACTER SET binary {format} ({vars}) \
         SET {set}",
        ident(table)
    )
}

/// The server's message for a failed load, with what it means where the server is cryptic.
fn load_failure(e: &mysql_async::Error) -> String {
    let message = server_error(e).0;
    match e {
        mysql_async::Error::Server(s) if LOCAL_REFUSED.contains(&s.code) => {
            format!("the server refuses LOAD DATA LOCAL; set local_infile = ON ({message})")
        }
        // MariaDB builds the indexes of a table loaded empty with unique checks off at the end
        // of the load, and reports a duplicate found then as "Got error 1 … during COMMIT".
        mysql_async::Error::Server(s)
            if s.code == 1180 && s.message.starts_with("Got error 1 ") =>
        {
            format!("a unique index got a duplicate value ({message})")
        }
        _ => message,
    }
}

/// Cuts a chunk into pieces of at most [`PIECE`] bytes, without copying.
fn pieces(chunk: Vec<u8>) -> impl Iterator<Item = Bytes> {
    let bytes = Bytes::from(chunk);
    let count = bytes.len().div_ceil(PIECE);
    (0..count).map(move |i| bytes.slice(i * PIECE..bytes.len().min((i + 1) * PIECE)))
}

impl Session {
    pub(in crate::engine) async fn filled_tables(
        &mut self,
        tables: &[String],
    ) -> Result<BTreeSet<String>, EngineError> {
        if tables.is_empty() {
            return Ok(BTreeSet::new());
        }
        let found: Vec<u64> = self
            .conn
            .query(filled_query(tables))
            .await
            .map_err(|e| query_error("failed to count rows", e))?;
        Ok(found.into_iter().filter_map(|i| tables.get(i as usize).cloned()).collect())
    }

    pub(in crate::engine) async fn key_rows(
        &mut self,
        table: &str,
        columns: &[String],
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        let list = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {list} FROM {} ORDER BY {list}", ident(table));
        let rows: Vec<mysql_async::Row> = self
            .conn
            .query(sql)
            .await
            .map_err(|e| query_error(&format!("failed to read {table}"), e))?;
        Ok(rows.into_iter().map(|row| row.unwrap().into_iter().map(text).collect()).collect())
    }

    pub(in crate::engine) async fn prepare_load(
        &mut self,
        tables: &[String],
        empty: bool,
    ) -> Result<Restore, EngineError> {
        self.allow_local_infile().await?;
        if empty && !tables.is_empty() {
            // Foreign key checks off: InnoDB refuses to truncate a table another one refers to,
            // and the tables are emptied in no particular order.
            self.conn
                .query_drop("SET SESSION FOREIGN_KEY_CHECKS = 0")
                .await
                .map_err(|e| query_error("failed to turn foreign key checks off", e))?;
            let emptied = self.empty_tables(tables).await;
            let restored = self.conn.query_drop("SET SESSION FOREIGN_KEY_CHECKS = 1").await;
            emptied?;
            restored.map_err(|e| query_error("failed to turn foreign key checks back on", e))?;
        }
        Ok(Restore::default())
    }

    /// The table's columns whose values are bytes, not text.
    async fn binary_columns(&mut self, table: &str) -> Result<BTreeSet<String>, EngineError> {
        let names: Vec<String> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND DATA_TYPE IN \
                 ('binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit')",
                (table,),
            )
            .await
            .map_err(|e| query_error(&format!("failed to read the columns of {table}"), e))?;
        Ok(names.into_iter().collect())
    }

    /// MySQL 8 and later ship with `local_infile` off; MariaDB with it on. The admin may turn it
    /// on; an admin who may not gets the server's refusal, with its reason, at the first load.
    async fn allow_local_infile(&mut self) -> Result<(), EngineError> {
        let on: Option<i64> = self
            .conn
            .query_first("SELECT @@GLOBAL.local_infile")
            .await
            .map_err(|e| query_error("failed to read local_infile", e))?;
        if on == Some(1) {
            return Ok(());
        }
        match self.conn.query_drop("SET GLOBAL local_infile = 1").await {
            Ok(()) => Ok(()),
            // 1227: no privilege to set it; 1238: read-only (set at startup).
            Err(mysql_async::Error::Server(e)) if e.code == 1227 || e.code == 1238 => Ok(()),
            Err(e) => Err(query_error("failed to allow LOAD DATA LOCAL (local_infile)", e)),
        }
    }

    async fn empty_tables(&mut self, tables: &[String]) -> Result<(), EngineError> {
        for table in tables {
            let truncated = self.conn.query_drop(format!("TRUNCATE TABLE {}", ident(table))).await;
            // TRUNCATE needs the DROP privilege, which a read-write account may lack.
            if truncated.is_err() {
                self.conn.query_drop(format!("DELETE FROM {}", ident(table))).await.map_err(
                    |e| {
                        EngineError::new(format!("failed to empty {table}: {}", server_error(&e).0))
                    },
                )?;
            }
        }
        Ok(())
    }

    pub(in crate::engine) async fn load_rows(
        &mut self,
        table: &str,
        columns: &[String],
        chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        self.conn
            .query_drop("SET SESSION FOREIGN_KEY_CHECKS = 0, UNIQUE_CHECKS = 0")
            .await
            .map_err(|e| query_error("failed to turn key checks off for loading", e))?;
        let loaded = self.load_in_transaction(table, columns, chunks).await;
        let restored =
            self.conn.query_drop("SET SESSION FOREIGN_KEY_CHECKS = 1, UNIQUE_CHECKS = 1").await;
        let rows = loaded?;
        restored.map_err(|e| query_error("failed to turn key checks back on", e))?;
        Ok(rows)
    }

    async fn load_in_transaction(
        &mut self,
        table: &str,
        columns: &[String],
        chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        let failed = |message: String| {
            EngineError::new(format!("failed to load rows into {table}: {message}"))
        };
        self.conn.query_drop("START TRANSACTION").await.map_err(|e| failed(server_error(&e).0))?;
        // The driver takes this handler when the server asks for the file. The stream is made
        // inside the future: the handler must be `Sync`, a boxed stream is not.
        self.conn.set_infile_handler(async move {
            let stream = futures_util::stream::unfold(chunks, |mut rx| async move {
                rx.recv().await.map(|chunk| (futures_util::stream::iter(pieces(chunk)), rx))
            })
            .flatten()
            .map(Ok);
            Ok(stream.boxed())
        });
        let binary = match self.binary_columns(table).await {
            Ok(binary) => binary,
            Err(e) => {
                let _ = self.conn.query_drop("ROLLBACK").await;
                return Err(failed(e.to_string()));
            }
        };
        if let Err(e) = self.conn.query_drop(load_statement(table, columns, &binary)).await {
            // Refused before the server asked for the file, the handler is still set and holds
            // the channel: replacing it lets the generator see the load has stopped. The
            // replacement fails a later LOAD DATA LOCAL as if no handler were set, but keeps the
            // protocol in step.
            self.conn.set_infile_handler(async {
                let refused = std::io::Error::other("dbtwin has no file to send");
                Ok(futures_util::stream::iter([Err(refused)]).boxed())
            });
            let _ = self.conn.query_drop("ROLLBACK").await;
            return Err(failed(load_failure(&e)));
        }
        let rows = self.conn.affected_rows();
        if self.conn.get_warnings() > 0 {
            let warnings = self.warnings().await;
            if !warnings.is_empty() {
                let _ = self.conn.query_drop("ROLLBACK").await;
                return Err(failed(warnings));
            }
        }
        if let Err(e) = self.conn.query_drop("COMMIT").await {
            let _ = self.conn.query_drop("ROLLBACK").await;
            return Err(failed(load_failure(&e)));
        }
        Ok(rows)
    }

    /// The first of the last statement's warnings (notes aside), and how many more there were;
    /// empty when there were only notes.
    async fn warnings(&mut self) -> String {
        let rows: Vec<(String, u32, String)> = match self.conn.query("SHOW WARNINGS").await {
            Ok(rows) => rows,
            Err(e) => return format!("the server warned, and reading its warnings failed: {e}"),
        };
        let serious: Vec<_> =
            rows.into_iter().filter(|(level, _, _)| !level.eq_ignore_ascii_case("note")).collect();
        match serious.as_slice() {
            [] => String::new(),
            [(_, code, message)] => format!("{message} (warning {code})"),
            [(_, code, message), rest @ ..] => {
                format!("{message} (warning {code}, and {} more)", rest.len())
            }
        }
    }

    pub(in crate::engine) async fn run_all(
        &mut self,
        statements: &[String],
    ) -> Result<(), EngineError> {
        for statement in statements {
            // A foreign key's check: a row found is a row without its parent.
            if let Some(query) = statement.strip_prefix(super::indexes::EXPECT_EMPTY) {
                let found: Option<i64> = self.conn.query_first(query).await.map_err(|e| {
                    EngineError::new(format!(
                        "failed to check a foreign key ({query}): {}",
                        server_error(&e).0
                    ))
                })?;
                if found.is_some() {
                    return Err(EngineError::new(format!(
                        "a foreign key has rows without a parent ({query})"
                    )));
                }
                continue;
            }
            self.restore_one(statement).await.map_err(|e| {
                EngineError::new(format!(
                    "failed to put back what loading took away ({statement}): {}",
                    server_error(&e).0
                ))
            })?;
        }
        Ok(())
    }

    /// InnoDB moves AUTO_INCREMENT past the ids written by itself; only the statistics behind
    /// `status`'s row estimates need refreshing.
    pub(in crate::engine) async fn finish_load(
        &mut self,
        tables: &[String],
    ) -> Result<(), EngineError> {
        if tables.is_empty() {
            return Ok(());
        }
        let list = tables.iter().map(|t| ident(t)).collect::<Vec<_>>().join(", ");
        // ANALYZE reports a table's failure as a row, not as an error.
        let rows: Vec<(String, String, String, String)> = self
            .conn
            .query(format!("ANALYZE TABLE {list}"))
            .await
            .map_err(|e| query_error("failed to analyze the loaded tables", e))?;
        match rows.iter().find(|(_, _, kind, _)| kind.eq_ignore_ascii_case("error")) {
            Some((table, _, _, message)) => {
                Err(EngineError::new(format!("failed to analyze {table}: {message}")))
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_query_finds_the_filled_tables() {
        let tables = ["users".to_string(), "odd`name".to_string()];
        assert_eq!(
            filled_query(&tables),
            "SELECT 0 FROM DUAL WHERE EXISTS (SELECT 1 FROM `users` LIMIT 1) UNION ALL \
             SELECT 1 FROM DUAL WHERE EXISTS (SELECT 1 FROM `odd``name` LIMIT 1)"
        );
    }

    #[test]
    fn load_statement_reads_the_text_format() {
        let columns = ["id".to_string(), "e`mail".to_string()];
        let none = BTreeSet::new();
        assert_eq!(
            load_statement("orders", &columns, &none),
            "LOAD DATA LOCAL INFILE 'dbtwin' INTO TABLE `orders` CHARACTER SET utf8mb4 \
             FIELDS TERMINATED BY X'09' ENCLOSED BY '' ESCAPED BY X'5C' \
             LINES TERMINATED BY X'0A' (`id`, `e``mail`)"
        );
        // Bytes in one column: read as binary, the text converted from UTF-8.
        let binary = BTreeSet::from(["e`mail".to_string(), "elsewhere".to_string()]);
        assert_eq!(
            load_statement("orders", &columns, &binary),
            "LOAD DATA LOCAL INFILE 'dbtwin' INTO TABLE `orders` CHARACTER SET binary \
             FIELDS TERMINATED BY X'09' ENCLOSED BY '' ESCAPED BY X'5C' \
             LINES TERMINATED BY X'0A' (@v0, @v1) \
             SET `id` = CONVERT(@v0 USING utf8mb4), `e``mail` = @v1"
        );
    }

    #[test]
    fn big_chunks_go_in_pieces() {
        let chunk: Vec<u8> = (0..(2 * PIECE + 3)).map(|i| i as u8).collect();
        let parts: Vec<Bytes> = pieces(chunk.clone()).collect();
        assert_eq!(parts.iter().map(Bytes::len).collect::<Vec<_>>(), [PIECE, PIECE, 3]);
        assert_eq!(parts.concat(), chunk);
        assert_eq!(pieces(Vec::new()).count(), 0);
        assert_eq!(pieces(b"a\tb\n".to_vec()).collect::<Vec<_>>(), [Bytes::from("a\tb\n")]);
    }
}
