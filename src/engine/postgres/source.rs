//! Reading a PostgreSQL source database for masked copies: one snapshot exported by the first
//! session and joined by the others, so tables are read in parallel from one point in time, each
//! with `COPY … TO STDOUT` in the text format that `COPY … FROM STDIN` takes back (or, into
//! PostgreSQL when the types allow, the binary format).

use futures_util::StreamExt;

use super::load::qualified;
use super::{Session, ident, server_message};
use crate::engine::EngineError;
use crate::engine::bulk::{self, CHUNK_BYTES, Format};

/// Dates and intervals as the masking rules read them (and as the binary codecs write them),
/// whatever the source's own `DateStyle`: `2024-02-29`, not `02/29/2024`.
const TEXT_STYLE: &str = "SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'";

impl Session {
    pub(in crate::engine) async fn begin_snapshot(
        &mut self,
    ) -> Result<Option<String>, EngineError> {
        let failed = |e: tokio_postgres::Error| {
            EngineError::new(format!("failed to open a snapshot: {}", server_message(&e)))
        };
        self.client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = 0; \
                 SET LOCAL idle_in_transaction_session_timeout = 0; {TEXT_STYLE}"
            ))
            .await
            .map_err(failed)?;
        let row =
            self.client.query_one("SELECT pg_export_snapshot()", &[]).await.map_err(failed)?;
        Ok(Some(row.get(0)))
    }

    pub(in crate::engine) async fn join_snapshot(&mut self, id: &str) -> Result<(), EngineError> {
        let failed = |e: tokio_postgres::Error| {
            EngineError::new(format!("failed to join snapshot {id}: {}", server_message(&e)))
        };
        let literal = id.replace('\'', "''");
        self.client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SET TRANSACTION SNAPSHOT '{literal}'; SET LOCAL statement_timeout = 0; \
                 SET LOCAL idle_in_transaction_session_timeout = 0; {TEXT_STYLE}"
            ))
            .await
            .map_err(failed)
    }

    pub(in crate::engine) async fn copy_out(
        &mut self,
        table: &str,
        columns: &[String],
        filter: Option<&str>,
        format: Format,
        chunks: tokio::sync::mpsc::Sender<Vec<u8>>,
    ) -> Result<u64, EngineError> {
        let failed = |e: tokio_postgres::Error| {
            EngineError::new(format!("failed to read rows of {table}: {}", server_message(&e)))
        };
        let name = qualified(table);
        let list = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        let options = match format {
            Format::Text => "",
            Format::Binary => " (FORMAT binary)",
        };
        let sql = match filter {
            None => format!("COPY {name} ({list}) TO STDOUT{options}"),
            Some(filter) => {
                format!("COPY (SELECT {list} FROM {name} WHERE {filter}) TO STDOUT{options}")
            }
        };
        let stream = self.client.copy_out(&sql).await.map_err(failed)?;
        let mut stream = std::pin::pin!(stream);
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + 4096);
        let mut rows = 0u64;
        let mut first = true;
        while let Some(data) = stream.next().await {
            let data = data.map_err(failed)?;
            // Binary rows travel without the stream's header (it comes with the first row) and
            // trailer (a message of its own), so chunks are rows alone, in any order; the loader
            // writes both again.
            // A stream without rows sends its header and trailer in one message.
            let data = match format {
                Format::Text => &data[..],
                Format::Binary if first => bulk::strip_binary_header(&data),
                Format::Binary => &data[..],
            };
            first = false;
            if format == Format::Binary && bulk::is_binary_trailer(data) {
                continue;
            }
            chunk.extend_from_slice(data);
            if chunk.len() >= CHUNK_BYTES {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES + 4096));
                // The server sends one row per message; rows are counted to be sure, a chunk
                // at a time (one message is too short for a fast count).
                rows += format.count_rows(&full);
                if chunks.send(full).await.is_err() {
                    return Ok(rows);
                }
            }
        }
        if !chunk.is_empty() {
            rows += format.count_rows(&chunk);
            let _ = chunks.send(chunk).await;
        }
        Ok(rows)
    }
}
