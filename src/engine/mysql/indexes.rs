//! Secondary indexes and foreign keys off for loading, on MySQL and MariaDB.
//!
//! Loading into tables whose secondary indexes are live costs MariaDB 1.3–1.9× what loading
//! bare tables and adding the indexes afterwards does (`benches/seed.rs`, 1M users + 3M
//! orders). The primary key stays: InnoDB stores rows in its order, and adding it later rebuilds
//! the table (11.6 s more in the same bench). So before a load, each loaded table's `KEY` and
//! `UNIQUE KEY` lines and every foreign key touching the loaded tables are read from
//! `SHOW CREATE TABLE`, recorded in dbtwin_state, and dropped; after it they are added back with
//! the same text. Foreign keys come back with the session's checks off (with them on, MariaDB
//! copies the whole table to check them: 60 s in the bench), and each is checked by one query
//! for rows without a parent instead, which fails the load if it finds one. Unique indexes check
//! themselves as they are built.

use mysql_async::prelude::Queryable;

use super::{Session, ident, query_error};
use crate::engine::EngineError;
use crate::engine::session::{RESTORE_KEY, Restore};

/// Marks a query of a restore that must find no row.
pub(super) const EXPECT_EMPTY: &str = "/* dbtwin:expect-empty */ ";

/// A name and its line of `SHOW CREATE TABLE`.
type Named = (String, String);

/// One foreign key as `SHOW CREATE TABLE` prints it.
struct ForeignKey {
    table: String,
    name: String,
    /// `CONSTRAINT `n` FOREIGN KEY (...) REFERENCES ...`, without a trailing comma.
    line: String,
}

impl Session {
    /// Drops the secondary indexes of `tables` and every foreign key touching them; returns
    /// what puts them back.
    pub(in crate::engine) async fn take_indexes(
        &mut self,
        tables: &[String],
        emptied: bool,
    ) -> Result<Restore, EngineError> {
        self.put_back_pending().await?;
        if tables.is_empty() {
            return Ok(Restore::default());
        }
        let quoted =
            tables.iter().map(|t| format!("'{}'", t.replace('\'', "''"))).collect::<Vec<_>>();
        let referencing: Vec<String> = self
            .conn
            .query(format!(
                "SELECT DISTINCT TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
                  WHERE CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IN ({})",
                quoted.join(", ")
            ))
            .await
            .map_err(|e| query_error("failed to list the foreign keys to the loaded tables", e))?;
        let mut involved: Vec<String> = tables.to_vec();
        for t in referencing {
            if !involved.contains(&t) {
                involved.push(t);
            }
        }
        let mut restore = Restore::default();
        let mut foreign_keys = Vec::new();
        let mut drop_indexes = Vec::new();
        for table in &involved {
            let row: Option<(String, String)> = self
                .conn
                .query_first(format!("SHOW CREATE TABLE {}", ident(table)))
                .await
                .map_err(|e| query_error(&format!("failed to read {table}"), e))?;
            let Some((_, create)) = row else { continue };
            let (keys, fks) = parse_create(&create);
            for (name, line) in fks {
                foreign_keys.push(ForeignKey { table: table.clone(), name, line });
            }
            if tables.contains(table) && !keys.is_empty() {
                let adds = keys.iter().map(|(_, line)| format!("ADD {line}")).collect::<Vec<_>>();
                let drops = keys
                    .iter()
                    .map(|(name, _)| format!("DROP INDEX {}", ident(name)))
                    .collect::<Vec<_>>();
                restore.keys.push((
                    table.clone(),
                    vec![format!("ALTER TABLE {} {}", ident(table), adds.join(", "))],
                ));
                drop_indexes.push(format!("ALTER TABLE {} {}", ident(table), drops.join(", ")));
            }
        }
        for fk in &foreign_keys {
            restore.foreign_keys.push(format!("ALTER TABLE {} ADD {}", ident(&fk.table), fk.line));
            if let Some(check) = orphan_query(&fk.table, &fk.line) {
                restore.foreign_keys.push(format!("{EXPECT_EMPTY}{check}"));
            }
        }
        if restore.is_empty() {
            return Ok(restore);
        }
        if emptied {
            restore.emptied = tables.to_vec();
        }
        // Recorded before anything is dropped: whatever happens next, the definitions survive.
        let json = serde_json::to_string(&restore).unwrap_or_default();
        self.set_state(RESTORE_KEY, &json).await?;
        let mut statements: Vec<String> = foreign_keys
            .iter()
            .map(|fk| {
                format!("ALTER TABLE {} DROP FOREIGN KEY {}", ident(&fk.table), ident(&fk.name))
            })
            .collect();
        statements.extend(drop_indexes);
        for statement in &statements {
            self.conn.query_drop(statement).await.map_err(|e| {
                query_error(&format!("failed to prepare the tables for loading ({statement})"), e)
            })?;
        }
        Ok(restore)
    }

    /// After a load of `tables` that failed: when it took anything off (a restore or trigger
    /// record is there), the tables are emptied (the foreign keys come back unchecked, see
    /// [`Session::restore_one`]) and everything is put back. Otherwise nothing is touched.
    pub(in crate::engine) async fn recover_load(
        &mut self,
        tables: &[String],
    ) -> Result<(), EngineError> {
        if self.state(RESTORE_KEY).await?.is_none() && !self.triggers_pending().await? {
            return Ok(());
        }
        self.prepare_load(tables, true).await?;
        self.restore_pending_triggers().await?;
        self.put_back_pending().await
    }

    /// [`crate::engine::Session::mend_load`]: the tables the record says the load emptied (a
    /// record from before they were recorded: those whose indexes it holds).
    pub(in crate::engine) async fn mend_load(&mut self) -> Result<(), EngineError> {
        let tables = match self.state(RESTORE_KEY).await? {
            Some(json) => {
                serde_json::from_str::<Restore>(&json).unwrap_or_default().emptied_tables()
            }
            None => Vec::new(),
        };
        self.recover_load(&tables).await
    }

    /// What an interrupted load took away and never put back: added again now (what exists
    /// already is left as it is).
    async fn put_back_pending(&mut self) -> Result<(), EngineError> {
        let Some(json) = self.state(RESTORE_KEY).await? else { return Ok(()) };
        let restore: Restore = serde_json::from_str(&json).unwrap_or_default();
        let statements: Vec<String> =
            restore.keys.into_iter().flat_map(|(_, s)| s).chain(restore.foreign_keys).collect();
        for statement in &statements {
            if statement.starts_with(EXPECT_EMPTY) {
                continue;
            }
            if let Err(e) = self.restore_one(statement).await {
                // 1061 duplicate key name, 1826 duplicate foreign key name, 1022/121 duplicate
                // key on write: the interrupted load got that far.
                let exists = matches!(&e, mysql_async::Error::Server(s) if [1061, 1826, 1022, 121].contains(&s.code));
                if !exists {
                    return Err(query_error(
                        "failed to put back an index of an interrupted load",
                        e,
                    ));
                }
            }
        }
        self.forget_restore().await
    }

    /// One statement of a restore. A foreign key is added with the session's checks off (its
    /// rows are checked by the restore's own query instead of a table copy).
    pub(super) async fn restore_one(&mut self, statement: &str) -> Result<(), mysql_async::Error> {
        let foreign_key = statement.contains(" FOREIGN KEY ");
        if foreign_key {
            self.conn.query_drop("SET SESSION FOREIGN_KEY_CHECKS = 0").await?;
        }
        let result = self.conn.query_drop(statement).await;
        if foreign_key {
            self.conn.query_drop("SET SESSION FOREIGN_KEY_CHECKS = 1").await?;
        }
        result
    }

    /// The load put everything back: the record goes.
    pub(in crate::engine) async fn forget_restore(&mut self) -> Result<(), EngineError> {
        if self.state(RESTORE_KEY).await?.is_none() {
            return Ok(());
        }
        self.conn
            .exec_drop(format!("DELETE FROM {} WHERE name = ?", self.state), (RESTORE_KEY,))
            .await
            .map_err(|e| query_error("failed to clear the restore record", e))
    }
}

/// The secondary indexes (`KEY`, `UNIQUE KEY`: name, line) and foreign keys (name, line) of a
/// `SHOW CREATE TABLE` text. Full-text and spatial indexes stay live: they are rare in loaded
/// tables and rebuild differently.
fn parse_create(create: &str) -> (Vec<Named>, Vec<Named>) {
    let mut keys = Vec::new();
    let mut fks = Vec::new();
    for line in create.lines() {
        let line = line.trim().trim_end_matches(',');
        let name = || first_quoted(line);
        if line.starts_with("KEY `") || line.starts_with("UNIQUE KEY `") {
            if let Some(name) = name() {
                keys.push((name, line.to_owned()));
            }
        } else if line.starts_with("CONSTRAINT `")
            && line.contains(" FOREIGN KEY ")
            && let Some(name) = name()
        {
            fks.push((name, line.to_owned()));
        }
    }
    (keys, fks)
}

/// The first back-quoted identifier of `text` (doubled back quotes inside it undone).
fn first_quoted(text: &str) -> Option<String> {
    let start = text.find('`')? + 1;
    let mut out = String::new();
    let mut chars = text[start..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' if chars.peek() == Some(&'`') => {
                chars.next();
                out.push('`');
            }
            '`' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

/// Back-quoted identifiers in the first parenthesised list after `from`.
fn quoted_list(text: &str) -> Option<Vec<String>> {
    let open = text.find('(')?;
    let close = open + text[open..].find(')')?;
    let inside = &text[open + 1..close];
    let names: Vec<String> = inside.split(',').filter_map(first_quoted).collect();
    (!names.is_empty()).then_some(names)
}

/// A query finding a row of `table` whose foreign key `line` points at no parent row.
fn orphan_query(table: &str, line: &str) -> Option<String> {
    let after_fk = &line[line.find(" FOREIGN KEY ")? + " FOREIGN KEY ".len()..];
    let columns = quoted_list(after_fk)?;
    let references = &after_fk[after_fk.find(" REFERENCES ")? + " REFERENCES ".len()..];
    // A parent in another database (`db`.`t`) is left to the server.
    let parent_end = references.find(" (")?;
    let parent_text = &references[..parent_end];
    if parent_text.contains("`.`") {
        return None;
    }
    let parent = first_quoted(parent_text)?;
    let parent_columns = quoted_list(&references[parent_end..])?;
    if columns.len() != parent_columns.len() {
        return None;
    }
    let on = columns
        .iter()
        .zip(&parent_columns)
        .map(|(c, p)| format!("p.{} = c.{}", ident(p), ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let present = columns
        .iter()
        .map(|c| format!("c.{} IS NOT NULL", ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    Some(format!(
        "SELECT 1 FROM {} c LEFT JOIN {} p ON {on} WHERE {present} AND p.{} IS NULL LIMIT 1",
        ident(table),
        ident(&parent),
        ident(&parent_columns[0])
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: &str = "CREATE TABLE `order_lines` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `order_id` bigint(20) unsigned NOT NULL,
  `sku` varchar(64) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `order_lines_order_sku` (`order_id`,`sku`),
  KEY `by sku` (`sku`(10)),
  FULLTEXT KEY `ft` (`sku`),
  CONSTRAINT `order_lines_order` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE CASCADE,
  CONSTRAINT `qty` CHECK (`id` > 0)
) ENGINE=InnoDB";

    #[test]
    fn secondary_indexes_and_foreign_keys_are_found_with_their_text() {
        let (keys, fks) = parse_create(CREATE);
        assert_eq!(
            keys,
            [
                (
                    "order_lines_order_sku".to_owned(),
                    "UNIQUE KEY `order_lines_order_sku` (`order_id`,`sku`)".to_owned()
                ),
                ("by sku".to_owned(), "KEY `by sku` (`sku`(10))".to_owned()),
            ]
        );
        assert_eq!(fks.len(), 1);
        assert_eq!(fks[0].0, "order_lines_order");
        assert_eq!(
            orphan_query("order_lines", &fks[0].1).unwrap(),
            "SELECT 1 FROM `order_lines` c LEFT JOIN `orders` p ON p.`id` = c.`order_id` WHERE c.`order_id` IS NOT NULL AND p.`id` IS NULL LIMIT 1"
        );
        assert_eq!(first_quoted("KEY `a``b` (`x`)").as_deref(), Some("a`b"));
    }
}
