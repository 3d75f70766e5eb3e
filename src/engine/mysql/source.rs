//! Reading a MySQL/MariaDB source database for masked copies: one consistent read-only snapshot,
//! tables streamed in the text bulk format.
//!
//! MySQL has no exported snapshot for other sessions to join, so the session that opened the
//! snapshot reads every table, one after the other, inside `START TRANSACTION WITH CONSISTENT
//! SNAPSHOT, READ ONLY`. Rows come over the text protocol, where every value is the server's own
//! text (dates, decimals) or raw bytes (binary columns), which is what `LOAD DATA` takes back:
//! values are escaped, never converted.

use futures_util::StreamExt;
use mysql_async::prelude::Queryable;

use super::{Session, ident, query_error, server_error, text};
use crate::engine::EngineError;
use crate::engine::bulk::{CHUNK_BYTES, push_field};

/// How long the server may wait on a full socket while the loader is behind (default 60 s): the
/// reader follows the load's pace, and one slow flush on the target must not cut the read off.
const WRITE_WAIT_SECS: u32 = 3600;

/// The statement reading `columns` of `table`.
fn select_statement(table: &str, columns: &[String], filter: Option<&str>) -> String {
    let list = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
    match filter {
        None => format!("SELECT {list} FROM {}", ident(table)),
        Some(filter) => format!("SELECT {list} FROM {} WHERE {filter}", ident(table)),
    }
}

/// Appends one row as a line. The text protocol sends every value as bytes or NULL; other kinds
/// are written as the text the rest of dbtwin shows for them.
fn push_row(out: &mut Vec<u8>, values: Vec<mysql_async::Value>) {
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match value {
            mysql_async::Value::Bytes(bytes) => push_field(out, Some(&bytes)),
            other => push_field(out, text(other).as_deref().map(str::as_bytes)),
        }
    }
    out.push(b'\n');
}

impl Session {
    pub(in crate::engine) async fn begin_snapshot(&mut self) -> Result<(), EngineError> {
        let failed = |e: mysql_async::Error| {
            EngineError::new(format!("failed to open a snapshot: {}", server_error(&e).0))
        };
        let version: Option<String> = self
            .conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(|e| query_error("failed to read the server version", e))?;
        // A read-only session was given the target's statement bound when it connected; a large
        // table takes longer. MariaDB bounds every statement (seconds), MySQL SELECTs (ms).
        let unbound = if version.unwrap_or_default().contains("MariaDB") {
            "SET SESSION max_statement_time = 0"
        } else {
            "SET SESSION max_execution_time = 0"
        };
        for statement in [
            unbound.to_string(),
            format!("SET SESSION net_write_timeout = {WRITE_WAIT_SECS}"),
            // A snapshot exists only under REPEATABLE READ: a server whose default is READ
            // COMMITTED would ignore WITH CONSISTENT SNAPSHOT and let each table see a later
            // point in time. This sets the next transaction only.
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ".to_string(),
            "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY".to_string(),
        ] {
            self.conn.query_drop(statement).await.map_err(failed)?;
        }
        Ok(())
    }

    pub(in crate::engine) async fn copy_out(
        &mut self,
        table: &str,
        columns: &[String],
        filter: Option<&str>,
        chunks: tokio::sync::mpsc::Sender<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        let failed = |e: mysql_async::Error| {
            EngineError::new(format!("failed to read rows of {table}: {}", server_error(&e).0))
        };
        let sql = select_statement(table, columns, filter);
        let mut result = self.conn.query_iter(sql).await.map_err(failed)?;
        let Some(stream) = result.stream::<mysql_async::Row>().await.map_err(failed)? else {
            return Err(EngineError::new(format!(
                "failed to read rows of {table}: the server returned no result set"
            )));
        };
        let mut stream = std::pin::pin!(stream);
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + 4096);
        let mut rows = 0u64;
        while let Some(row) = stream.next().await {
            push_row(&mut chunk, row.map_err(failed)?.unwrap());
            rows += 1;
            if chunk.len() >= CHUNK_BYTES {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES + 4096));
                // The loader stopped: its own error says why. The rest of the result is read off
                // the connection by the driver before its next statement.
                if chunks.send(full).await.is_err() {
                    return Ok(rows);
                }
            }
        }
        if !chunk.is_empty() {
            let _ = chunks.send(chunk).await;
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(value: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        push_field(&mut out, value);
        out
    }

    #[test]
    fn fields_are_escaped_for_the_text_format() {
        let cases: &[(Option<&[u8]>, &[u8])] = &[
            (None, b"\\N"),
            (Some(b""), b""),
            (Some(b"plain"), b"plain"),
            (Some(b"a\tb"), b"a\\tb"),
            (Some(b"line\nnext"), b"line\\nnext"),
            (Some(b"crlf\r\n"), b"crlf\\r\\n"),
            (Some(b"back\\slash"), b"back\\\\slash"),
            (Some(b"\\N"), b"\\\\N"),
            (Some(b"NULL"), b"NULL"),
            (Some(b"nul\0byte"), b"nul\\0byte"),
            (Some(b"\\\t\n\r\0"), b"\\\\\\t\\n\\r\\0"),
            (Some(&[0xff, 0xfe, 0x5c, 0x80]), &[0xff, 0xfe, 0x5c, 0x5c, 0x80]),
            (Some("grüße 🙂".as_bytes()), "grüße 🙂".as_bytes()),
        ];
        for (value, expected) in cases {
            assert_eq!(
                field(*value),
                *expected,
                "{:?}",
                value.map(|v| String::from_utf8_lossy(v).into_owned())
            );
        }
    }

    #[test]
    fn rows_are_tab_separated_lines() {
        use mysql_async::Value;
        let mut out = Vec::new();
        push_row(
            &mut out,
            vec![Value::Bytes(b"1".to_vec()), Value::NULL, Value::Bytes(b"".into())],
        );
        push_row(&mut out, vec![Value::Bytes(b"a\tb".to_vec()), Value::Int(-3), Value::UInt(7)]);
        push_row(&mut out, vec![Value::Date(2024, 2, 29, 13, 5, 9, 0)]);
        assert_eq!(out, b"1\t\\N\t\na\\tb\t-3\t7\n2024-02-29 13:05:09\n");
    }

    #[test]
    fn select_quotes_names_and_keeps_the_filter() {
        let columns = ["id".to_string(), "e`mail".to_string()];
        assert_eq!(
            select_statement("users", &columns, None),
            "SELECT `id`, `e``mail` FROM `users`"
        );
        assert_eq!(
            select_statement("odd`t", &columns[..1], Some("id < 10")),
            "SELECT `id` FROM `odd``t` WHERE id < 10"
        );
    }
}
