//! Reading a Redis source for masked copies, and writing its keys back: the keyspace is walked
//! with SCAN (Redis has no snapshot to read in: keys are read as they are when reached), each
//! batch of keys read in one pipeline (type, TTL, then the value by its type), and written to the
//! target in one pipeline per batch, binary-safe.

use redis::Value;

use super::{Session, redis_error};
use crate::engine::EngineError;
use crate::engine::session::{RedisData, RedisEntry};

/// dbtwin's own keys are never copied.
const OWN_PREFIX: &[u8] = b"dbtwin:";

impl Session {
    /// One SCAN step: the next cursor (0 at the end) and the application's keys it returned.
    pub(in crate::engine) async fn scan_keys(
        &mut self,
        cursor: u64,
        count: usize,
    ) -> Result<(u64, Vec<Vec<u8>>), EngineError> {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to list keys", e))?;
        Ok((next, keys.into_iter().filter(|k| !k.starts_with(OWN_PREFIX)).collect()))
    }

    /// Reads `keys` (two pipelines: types and TTLs, then values). Keys gone meanwhile are left
    /// out.
    pub(in crate::engine) async fn read_keys(
        &mut self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<RedisEntry>, EngineError> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("TYPE").arg(key).cmd("PTTL").arg(key);
        }
        let meta: Vec<Value> = pipe
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to read key types", e))?;
        let mut kinds = Vec::with_capacity(keys.len());
        let mut pipe = redis::pipe();
        for (i, key) in keys.iter().enumerate() {
            let kind = match &meta[2 * i] {
                Value::SimpleString(s) => s.clone(),
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            };
            let ttl = match meta[2 * i + 1] {
                Value::Int(ms) if ms > 0 => Some(ms),
                _ => None,
            };
            match kind.as_str() {
                "string" => pipe.cmd("GET").arg(key),
                "hash" => pipe.cmd("HGETALL").arg(key),
                "set" => pipe.cmd("SMEMBERS").arg(key),
                "zset" => pipe.cmd("ZRANGE").arg(key).arg(0).arg(-1).arg("WITHSCORES"),
                "list" => pipe.cmd("LRANGE").arg(key).arg(0).arg(-1),
                _ => pipe.cmd("EXISTS").arg(key),
            };
            kinds.push((kind, ttl));
        }
        let values: Vec<Value> = pipe
            .query_async(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to read values", e))?;
        let mut entries = Vec::with_capacity(keys.len());
        for ((key, (kind, ttl)), value) in keys.iter().zip(kinds).zip(values) {
            let data = match (kind.as_str(), value) {
                ("none", _) | (_, Value::Nil) => continue,
                ("string", Value::BulkString(b)) => RedisData::String(b),
                ("hash", v) => RedisData::Hash(pairs(v)),
                ("set", v) => RedisData::Set(items(v)),
                ("list", v) => RedisData::List(items(v)),
                ("zset", v) => RedisData::Zset(
                    pairs(v)
                        .into_iter()
                        .map(|(m, s)| (m, String::from_utf8_lossy(&s).parse().unwrap_or(0.0)))
                        .collect(),
                ),
                (other, _) => RedisData::Unsupported(other.to_owned()),
            };
            entries.push(RedisEntry { key: key.clone(), ttl_ms: ttl, data });
        }
        Ok(entries)
    }

    /// Writes `entries` in one pipeline (each key replaced whole, its TTL set again).
    pub(in crate::engine) async fn write_keys(
        &mut self,
        entries: &[RedisEntry],
    ) -> Result<(), EngineError> {
        let mut pipe = redis::pipe();
        for entry in entries {
            let key = &entry.key;
            pipe.cmd("DEL").arg(key).ignore();
            match &entry.data {
                RedisData::String(v) => {
                    pipe.cmd("SET").arg(key).arg(v).ignore();
                }
                RedisData::Hash(fields) if !fields.is_empty() => {
                    let cmd = pipe.cmd("HSET").arg(key);
                    for (f, v) in fields {
                        cmd.arg(f).arg(v);
                    }
                    cmd.ignore();
                }
                RedisData::Set(members) if !members.is_empty() => {
                    pipe.cmd("SADD").arg(key).arg(members).ignore();
                }
                RedisData::List(items) if !items.is_empty() => {
                    pipe.cmd("RPUSH").arg(key).arg(items).ignore();
                }
                RedisData::Zset(members) if !members.is_empty() => {
                    let cmd = pipe.cmd("ZADD").arg(key);
                    for (m, score) in members {
                        cmd.arg(*score).arg(m);
                    }
                    cmd.ignore();
                }
                _ => continue,
            }
            if let Some(ms) = entry.ttl_ms {
                pipe.cmd("PEXPIRE").arg(key).arg(ms).ignore();
            }
        }
        pipe.query_async::<()>(&mut self.conn)
            .await
            .map_err(|e| redis_error("failed to write keys", e))
    }
}

fn items(value: Value) -> Vec<Vec<u8>> {
    match value {
        Value::Array(items) | Value::Set(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::BulkString(b) => Some(b),
                Value::SimpleString(s) => Some(s.into_bytes()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A flat array of pairs (HGETALL, ZRANGE WITHSCORES on RESP2) or a map (RESP3).
fn pairs(value: Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    let bytes = |v: Value| match v {
        Value::BulkString(b) => b,
        Value::SimpleString(s) => s.into_bytes(),
        Value::Double(d) => d.to_string().into_bytes(),
        Value::Int(i) => i.to_string().into_bytes(),
        _ => Vec::new(),
    };
    match value {
        Value::Map(map) => map.into_iter().map(|(k, v)| (bytes(k), bytes(v))).collect(),
        Value::Array(items) => {
            let mut items = items.into_iter();
            let mut out = Vec::new();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                out.push((bytes(k), bytes(v)));
            }
            out
        }
        _ => Vec::new(),
    }
}
