//! The catalog model: what one database holds that an application depends on (server version,
//! extensions, encoding, tables with their columns, keys, checks and indexes, views, sequences,
//! enum types and domains). Engines fill it by reading their catalog (never by parsing dumps);
//! `status` fingerprints it, `diff` compares two of them, and the data issues read it to know what
//! rows a database accepts.
//!
//! Everything is kept in a canonical order (maps by name, columns by position, constraints by name)
//! so two catalogs of the same schema serialise identically whatever order the server listed them
//! in. Names are as the application writes them: PostgreSQL objects in the `public` schema carry
//! no prefix (`users`), others do (`audit.events`); MySQL/MariaDB objects carry no database name,
//! so a laptop's `shop` and production's `shop_prod` compare equal.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// One database's catalog.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Catalog {
    /// The server's own version string (`17.6`, `11.8.3-MariaDB`).
    pub server_version: String,
    /// Database encoding / default character set (`UTF8`, `utf8mb4`).
    pub encoding: Option<String>,
    /// Default collation (`en_US.utf8`, `utf8mb4_uca1400_ai_ci`).
    pub collation: Option<String>,
    /// Installed extensions (PostgreSQL) and their versions.
    pub extensions: BTreeMap<String, String>,
    pub tables: BTreeMap<String, Table>,
    pub views: BTreeMap<String, View>,
    pub sequences: BTreeMap<String, Sequence>,
    /// Enum types (PostgreSQL `CREATE TYPE … AS ENUM`), labels in their declared order.
    pub enums: BTreeMap<String, Vec<String>>,
    pub domains: BTreeMap<String, Domain>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Columns in their ordinal order.
    pub columns: Vec<Column>,
    pub primary_key: Option<Key>,
    /// Unique constraints, by name (unique indexes that are not constraints are in `indexes`).
    pub uniques: Vec<Key>,
    pub checks: Vec<Check>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes other than those backing the primary key and unique constraints, by name.
    pub indexes: Vec<Index>,
    /// The server's row estimate (statistics, not a count). Not part of the schema: ignored by
    /// [`Catalog::fingerprint`] and by `diff`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approx_rows: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    /// The full type as the server prints it: `character varying(255)`, `numeric(10,2)`,
    /// `bigint unsigned`, `enum('a','b')`, `public.order_status`.
    pub data_type: String,
    /// The base type without modifiers (`varchar`, `numeric`, `bigint`, `enum`, or the enum's or
    /// domain's name), for code that picks a generator by type.
    pub base_type: String,
    /// Maximum length in characters for character types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Precision and scale of exact numerics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric_precision: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric_scale: Option<u32>,
    /// True for MySQL/MariaDB `UNSIGNED` numerics.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unsigned: bool,
    pub nullable: bool,
    /// The default expression as the server prints it, normalised (`now()`, `'pending'`, `0`).
    pub default: Option<String>,
    /// How the server generates the value: `identity always`, `identity by default`,
    /// `auto_increment`, or `stored: <expression>` / `virtual: <expression>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// The column's collation when it differs from its default: the type's default collation
    /// on PostgreSQL, the table's default on MySQL/MariaDB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
}

/// A primary key or unique constraint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Key {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    /// The condition as the server prints it, without the outer `CHECK (…)`.
    pub expression: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    /// The referenced table, named like the keys of [`Catalog::tables`].
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// `cascade`, `set null`, `set default`, `restrict`, `no action`.
    pub on_delete: String,
    pub on_update: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deferrable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Index {
    pub name: String,
    /// Key parts in order: column names, or expressions as the server prints them.
    pub columns: Vec<String>,
    pub unique: bool,
    /// Access method (`btree`, `gin`, `hash`, `fulltext`…).
    pub method: String,
    /// Partial index predicate (PostgreSQL `WHERE …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct View {
    /// The view's query as the server prints it, whitespace collapsed.
    pub definition: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub materialized: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sequence {
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cycle: bool,
    /// The `table.column` that owns the sequence (serial and identity columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Domain {
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub checks: Vec<Check>,
}

/// Tables that migration tools keep for themselves: left out of catalogs, so a database migrated
/// by dbtwin and one migrated by Flyway fingerprint the same when their schemas are the same.
pub const TOOL_TABLES: &[&str] = &[
    "dbtwin_schema_history",
    "dbtwin_state",
    "flyway_schema_history",
    "databasechangelog",
    "databasechangeloglock",
    "_sqlx_migrations",
    "refinery_schema_history",
    "schema_migrations",
    "ar_internal_metadata",
    "goose_db_version",
    "alembic_version",
    "django_migrations",
    "_prisma_migrations",
];

/// True for a table a migration tool keeps for itself (see [`TOOL_TABLES`]).
pub fn is_tool_table(name: &str) -> bool {
    TOOL_TABLES.iter().any(|t| t.eq_ignore_ascii_case(name))
}

impl Catalog {
    /// A stable hash of the schema: tables, columns and types, constraints, indexes, views,
    /// sequences, enums, domains and extension names. The server version, extension versions,
    /// encoding and row estimates are left out, so a patch upgrade or a data load does not change
    /// it. Short hex (16 characters, 64 bits): enough to tell schemas apart at a glance.
    pub fn fingerprint(&self) -> String {
        let mut tables = self.tables.clone();
        for table in tables.values_mut() {
            table.approx_rows = None;
        }
        let canonical = serde_json::json!({
            "extensions": self.extensions.keys().collect::<Vec<_>>(),
            "tables": tables,
            "views": self.views,
            "sequences": self.sequences,
            "enums": self.enums,
            "domains": self.domains,
        });
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The sum of the tables' row estimates; `None` when the server has none at all (PostgreSQL
    /// before its first ANALYZE). Tables without an estimate count as empty.
    pub fn approx_rows(&self) -> Option<u64> {
        let known: Vec<u64> = self.tables.values().filter_map(|t| t.approx_rows).collect();
        (!known.is_empty()).then(|| known.iter().sum())
    }
}

impl Column {
    /// A NOT NULL column of a type, nothing else set: the start of a builder-style literal.
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Column {
        let data_type = data_type.into();
        Column {
            name: name.into(),
            base_type: data_type.clone(),
            data_type,
            max_length: None,
            numeric_precision: None,
            numeric_scale: None,
            unsigned: false,
            nullable: false,
            default: None,
            generated: None,
            collation: None,
        }
    }
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Collapses runs of whitespace into one space and trims: view definitions and expressions come
/// back from servers with the author's line breaks, which must not count as a difference.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog { server_version: "17.6".into(), ..Catalog::default() };
        c.tables.insert(
            "users".into(),
            Table {
                columns: vec![Column::new("id", "bigint"), Column::new("email", "text")],
                primary_key: Some(Key { name: "users_pkey".into(), columns: vec!["id".into()] }),
                approx_rows: Some(10),
                ..Table::default()
            },
        );
        c
    }

    #[test]
    fn fingerprint_ignores_server_version_and_row_estimates() {
        let a = catalog();
        let mut b = catalog();
        b.server_version = "17.7".into();
        b.tables.get_mut("users").unwrap().approx_rows = Some(1_000_000);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 16);
    }

    #[test]
    fn fingerprint_changes_with_a_column_type() {
        let a = catalog();
        let mut b = catalog();
        b.tables.get_mut("users").unwrap().columns[1].data_type = "character varying(80)".into();
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn tool_tables_are_recognised_case_insensitively() {
        assert!(is_tool_table("flyway_schema_history"));
        assert!(is_tool_table("DATABASECHANGELOG"));
        assert!(!is_tool_table("users"));
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(collapse_whitespace(" SELECT  a,\n\t b\nFROM t "), "SELECT a, b FROM t");
    }
}
