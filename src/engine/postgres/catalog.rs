//! Reads a PostgreSQL database's catalog (PostgreSQL 13 to 18) into [`crate::schema::Catalog`],
//! from pg_catalog only: never a dump, never `psql \d`.
//!
//! One query per kind of object, each for the whole database at once (not one per table), all
//! sent together on the one connection (tokio-postgres pipelines them), so a database with
//! hundreds of tables reads in one round trip's time; the maps are built here in Rust. The queries
//! run in one read-only repeatable-read transaction, so they all see the same snapshot, with
//! `search_path` set to `public` alone: the server then prints objects of `public` without a
//! prefix and all others with their schema (types, casts, `regclass` literals), which is exactly
//! how [`crate::schema`] names things, whatever search path the connecting role has.
//!
//! Expressions (defaults, generated columns, checks, index predicates and expression keys) are the
//! server's pretty-printed deparse (`pg_get_expr(…, true)`), which carries no author formatting and
//! no redundant outer parentheses.

use std::collections::HashMap;
use std::task::{Context, Waker};

use tokio_postgres::{Client, Row};

use crate::schema::{
    Catalog, Check, Column, Domain, ForeignKey, Index, Key, Sequence, Table, View,
    collapse_whitespace, is_tool_table,
};

/// Schemas that hold the system, not the application (alias `n` for pg_namespace). `pg_toast*`
/// also covers `pg_toast_temp_N`.
macro_rules! user_schema {
    () => {
        "n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND left(n.nspname, 8) <> 'pg_toast' AND left(n.nspname, 7) <> 'pg_temp'"
    };
}

/// Leaves out objects that belong to an extension (PostGIS's `spatial_ref_sys`, an extension's
/// own types): they come with `CREATE EXTENSION`, which [`Catalog::extensions`] already records.
macro_rules! not_in_extension {
    ($catalog:literal, $oid:literal) => {
        concat!(
            "NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = '",
            $catalog,
            "'::regclass AND e.objid = ",
            $oid,
            " AND e.deptype = 'e')"
        )
    };
}

/// The application's relations: tables (plain and partitioned, partitions left out), views and
/// materialized views. Every per-table query starts from this.
macro_rules! relations {
    () => {
        concat!(
            "WITH rel AS (SELECT c.oid, n.nspname::text AS nspname, c.relname::text AS relname, \
                    c.relkind::text AS relkind \
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition AND ",
            user_schema!(),
            " AND ",
            not_in_extension!("pg_class", "c.oid"),
            ") "
        )
    };
}

/// The server and the database. `to_jsonb` reads the locale columns that only some versions have
/// (`datlocprovider` from 15, `daticulocale` in 15 and 16, `datlocale` from 17) without a
/// per-version query: a missing column is just null.
const DATABASE: &str = "\
SELECT current_setting('server_version') AS version, \
       current_setting('server_version_num')::int AS version_num, \
       pg_encoding_to_char(d.encoding)::text AS encoding, \
       d.datcollate::text AS collate, \
       to_jsonb(d) ->> 'datlocprovider' AS provider, \
       coalesce(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale') AS locale \
  FROM pg_database d WHERE d.datname = current_database()";

const EXTENSIONS: &str = "\
SELECT extname::text AS name, extversion AS version FROM pg_extension WHERE extname <> 'plpgsql'";

/// Tables and views. For a partitioned table the statistics live on its leaf partitions, so their
/// estimates come along as arrays.
const RELATIONS: &str = concat!(
    relations!(),
    "SELECT rel.oid::bigint AS oid, rel.nspname, rel.relname, rel.relkind, \
            c.reltuples::float8 AS tuples, c.relpages::bigint AS pages, \
            CASE WHEN rel.relkind = 'p' THEN ARRAY(SELECT l.reltuples::float8 \
                 FROM pg_partition_tree(rel.oid) t JOIN pg_class l ON l.oid = t.relid \
                WHERE t.isleaf ORDER BY l.oid) END AS leaf_tuples, \
            CASE WHEN rel.relkind = 'p' THEN ARRAY(SELECT l.relpages::bigint \
                 FROM pg_partition_tree(rel.oid) t JOIN pg_class l ON l.oid = t.relid \
                WHERE t.isleaf ORDER BY l.oid) END AS leaf_pages, \
            CASE WHEN rel.relkind IN ('v', 'm') THEN pg_get_viewdef(rel.oid, true) END AS definition, \
            CASE WHEN rel.relkind IN ('v', 'm') THEN ( \
                 SELECT CASE WHEN count(DISTINCT d.refobjid) = 1 THEN min(src.relname::text) END \
                   FROM pg_rewrite rw \
                   JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid \
                                   AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rel.oid \
                                   AND d.refobjsubid > 0 \
                   JOIN pg_class src ON src.oid = d.refobjid AND src.relkind IN ('r', 'p', 'v', 'm', 'f') \
                  WHERE rw.ev_class = rel.oid) END AS single_source \
       FROM rel JOIN pg_class c ON c.oid = rel.oid"
);

/// Columns of every table. `scalar_oid`/`scalar_typmod` are the type that carries the length or
/// precision: the element of an array, the base of a domain (`varchar(20)[]` keeps its typmod on
/// the column; a domain keeps it on the domain).
const COLUMNS: &str = concat!(
    relations!(),
    "SELECT a.attrelid::bigint AS oid, a.attname::text AS name, \
            format_type(a.atttypid, a.atttypmod) AS data_type, \
            tn.nspname::text AS type_schema, t.typname::text AS type_name, \
            etn.nspname::text AS elem_schema, et.typname::text AS elem_name, \
            (CASE WHEN coalesce(et.typtype, t.typtype) = 'd' \
                  THEN coalesce(et.typbasetype, t.typbasetype) \
                  ELSE coalesce(et.oid, t.oid) END)::bigint AS scalar_oid, \
            CASE WHEN coalesce(et.typtype, t.typtype) = 'd' \
                 THEN coalesce(et.typtypmod, t.typtypmod) \
                 ELSE a.atttypmod END AS scalar_typmod, \
            a.attnotnull AS not_null, \
            a.attidentity::text AS identity, a.attgenerated::text AS generated, \
            pg_get_expr(ad.adbin, ad.adrelid, true) AS expr, \
            cn.nspname::text AS coll_schema, co.collname::text AS coll_name \
       FROM rel \
       JOIN pg_attribute a ON a.attrelid = rel.oid \
       JOIN pg_type t ON t.oid = a.atttypid \
       JOIN pg_namespace tn ON tn.oid = t.typnamespace \
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A' \
       LEFT JOIN pg_namespace etn ON etn.oid = et.typnamespace \
       LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
       LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> t.typcollation \
       LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace \
      WHERE rel.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
      ORDER BY a.attrelid, a.attnum"
);

/// Primary keys, unique constraints, checks and foreign keys. Constraints cloned onto partitions,
/// and the extra rows a foreign key to a partitioned table gets for each referenced partition,
/// have a `conparentid`; the original alone is kept. NOT NULL constraints (`n`, in pg_constraint
/// from PostgreSQL 18) are the columns' `nullable`.
const CONSTRAINTS: &str = concat!(
    relations!(),
    "SELECT con.conrelid::bigint AS oid, con.conname::text AS name, con.contype::text AS kind, \
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) \
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num \
                 ORDER BY k.ord) AS columns, \
            rn.nspname::text AS ref_schema, rc.relname::text AS ref_name, \
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) \
                  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num \
                 ORDER BY k.ord) AS ref_columns, \
            con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update, \
            con.condeferrable AS deferrable, \
            CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid, true) END AS expr \
       FROM rel \
       JOIN pg_constraint con ON con.conrelid = rel.oid \
       LEFT JOIN pg_class rc ON rc.oid = con.confrelid \
       LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
      WHERE rel.relkind IN ('r', 'p') AND con.contype IN ('p', 'u', 'c', 'f') \
        AND con.conparentid = 0"
);

/// Indexes other than those backing a primary key or unique constraint. Only the index's own
/// constraint counts: a foreign key's `conindid` names the referenced table's index, which may be
/// a plain unique index that must stay listed. Key parts only (`INCLUDE` columns left out).
/// `int2vector` subscripts start at 0.
const INDEXES: &str = concat!(
    relations!(),
    "SELECT i.indrelid::bigint AS oid, ic.relname::text AS name, \
            ARRAY(SELECT CASE WHEN i.indkey[k - 1] = 0 \
                              THEN pg_get_indexdef(i.indexrelid, k, true) \
                              ELSE (SELECT a.attname::text FROM pg_attribute a \
                                     WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]) \
                         END \
                    FROM generate_series(1, i.indnkeyatts::int) AS k ORDER BY k) AS columns, \
            i.indisunique AS is_unique, am.amname::text AS method, \
            pg_get_expr(i.indpred, i.indrelid, true) AS predicate \
       FROM rel \
       JOIN pg_index i ON i.indrelid = rel.oid \
       JOIN pg_class ic ON ic.oid = i.indexrelid \
       JOIN pg_am am ON am.oid = ic.relam \
      WHERE rel.relkind IN ('r', 'p') \
        AND NOT EXISTS (SELECT FROM pg_constraint con WHERE con.conindid = i.indexrelid \
                           AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u'))"
);

/// Sequences with the column that owns them: `a` (serial, `OWNED BY`) or `i` (identity).
const SEQUENCES: &str = concat!(
    "SELECT n.nspname::text AS schema, c.relname::text AS name, \
            format_type(s.seqtypid, NULL) AS data_type, s.seqstart AS start, \
            s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max, s.seqcycle AS cycle, \
            otn.nspname::text AS owner_schema, ot.relname::text AS owner_table, \
            oa.attname::text AS owner_column \
       FROM pg_sequence s \
       JOIN pg_class c ON c.oid = s.seqrelid \
       JOIN pg_namespace n ON n.oid = c.relnamespace \
       LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid \
            AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 \
            AND d.deptype IN ('a', 'i') \
       LEFT JOIN pg_class ot ON ot.oid = d.refobjid \
       LEFT JOIN pg_namespace otn ON otn.oid = ot.relnamespace \
       LEFT JOIN pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid \
      WHERE ",
    user_schema!(),
    " AND ",
    not_in_extension!("pg_class", "c.oid")
);

const ENUMS: &str = concat!(
    "SELECT n.nspname::text AS schema, t.typname::text AS name, \
            ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid \
                   ORDER BY e.enumsortorder) AS labels \
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
      WHERE t.typtype = 'e' AND ",
    user_schema!(),
    " AND ",
    not_in_extension!("pg_type", "t.oid")
);

/// Domains with their checks (two arrays in the same order). From PostgreSQL 17 a domain's NOT
/// NULL is also a constraint (`n`); `typnotnull` says it on every version.
const DOMAINS: &str = concat!(
    "SELECT n.nspname::text AS schema, t.typname::text AS name, \
            format_type(t.typbasetype, t.typtypmod) AS data_type, t.typnotnull AS not_null, \
            pg_get_expr(t.typdefaultbin, 0, true) AS default_expr, \
            ARRAY(SELECT con.conname::text FROM pg_constraint con \
                   WHERE con.contypid = t.oid AND con.contype = 'c' \
                   ORDER BY con.conname) AS check_names, \
            ARRAY(SELECT pg_get_expr(con.conbin, 0, true) FROM pg_constraint con \
                   WHERE con.contypid = t.oid AND con.contype = 'c' \
                   ORDER BY con.conname) AS check_exprs \
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
      WHERE t.typtype = 'd' AND ",
    user_schema!(),
    " AND ",
    not_in_extension!("pg_type", "t.oid")
);

const VARCHAR_OID: i64 = 1043;
const BPCHAR_OID: i64 = 1042;
const NUMERIC_OID: i64 = 1700;
/// A typmod's header: character and numeric typmods count it in (`varchar(255)` is 259).
const VARHDRSZ: i32 = 4;

/// What a catalog read asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Everything,
    /// Tables, views, columns, keys and indexes: what a copy reads of its source. Sequences,
    /// enum and domain types and extensions are left out (four queries fewer, on the copy's
    /// path before its first row).
    Tables,
}

/// Reads the connected database's catalog, of `scope`. Runs its own transaction on `client`, so
/// it must not be called inside one the caller has open.
pub(crate) async fn read_catalog(
    client: &Client,
    scope: Scope,
) -> Result<Catalog, tokio_postgres::Error> {
    // Ends the transaction however this future ends, also when it is dropped half-way (a caller's
    // timeout): the connection must not go on inside a read-only transaction.
    let _end = EndTransaction(client);
    client
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = public",
        )
        .await?;
    read_in_transaction(client, scope).await
}

/// Sends `ROLLBACK` when dropped (read-only: there is nothing to keep, and the `SET LOCAL` goes
/// with it). A tokio-postgres request is queued on the connection when its future is first
/// polled, so one poll queues it behind everything sent before; its answer is not awaited (a
/// failure there means the connection is gone, which the caller's next request reports).
struct EndTransaction<'a>(&'a Client);

impl Drop for EndTransaction<'_> {
    fn drop(&mut self) {
        let rollback = std::pin::pin!(self.0.batch_execute("ROLLBACK"));
        let _ = rollback.poll(&mut Context::from_waker(Waker::noop()));
    }
}

async fn read_in_transaction(
    client: &Client,
    scope: Scope,
) -> Result<Catalog, tokio_postgres::Error> {
    let everything = scope == Scope::Everything;
    let unless_tables = |sql: &'static str| async move {
        if everything { client.query(sql, &[]).await } else { Ok(Vec::new()) }
    };
    let (database, extensions, relations, columns, constraints, indexes, sequences, enums, domains) =
        tokio::try_join!(
            client.query_one(DATABASE, &[]),
            unless_tables(EXTENSIONS),
            client.query(RELATIONS, &[]),
            client.query(COLUMNS, &[]),
            client.query(CONSTRAINTS, &[]),
            client.query(INDEXES, &[]),
            unless_tables(SEQUENCES),
            unless_tables(ENUMS),
            unless_tables(DOMAINS),
        )?;

    let version_num: i32 = database.get("version_num");
    let mut catalog = Catalog {
        server_version: leading_version(&database.get::<_, String>("version")),
        encoding: database.get("encoding"),
        collation: database_collation(&database),
        ..Catalog::default()
    };
    for row in &extensions {
        catalog.extensions.insert(row.get("name"), row.get("version"));
    }

    // Tables by oid while their parts come in; keyed by name at the end.
    let mut tables: HashMap<i64, (String, Table)> = HashMap::new();
    for row in &relations {
        let key = object_key(row.get("nspname"), row.get("relname"));
        match row.get::<_, &str>("relkind") {
            "v" | "m" => {
                let definition: String = row.get("definition");
                // PostgreSQL 15 and older print `orders.id` in a view over one table, 16 and
                // later `id`: without the qualifier, one view reads the same on every major.
                let definition = match row.get::<_, Option<&str>>("single_source") {
                    Some(source) => {
                        let definition = unqualify(&definition, source);
                        match alias_of(&definition, source) {
                            Some(alias) => unqualify(&definition, &alias),
                            None => definition,
                        }
                    }
                    None => definition,
                };
                let view = View {
                    definition: collapse_whitespace(&definition),
                    materialized: row.get::<_, &str>("relkind") == "m",
                };
                catalog.views.insert(key, view);
            }
            _ if is_tool_table(row.get("relname")) => {}
            _ => {
                let table =
                    Table { approx_rows: approx_rows(row, version_num), ..Table::default() };
                tables.insert(row.get("oid"), (key, table));
            }
        }
    }

    for row in &columns {
        if let Some((_, table)) = tables.get_mut(&row.get::<_, i64>("oid")) {
            table.columns.push(column(row));
        }
    }

    for row in &constraints {
        let Some((_, table)) = tables.get_mut(&row.get::<_, i64>("oid")) else { continue };
        let name: String = row.get("name");
        let columns: Vec<String> = row.get("columns");
        match row.get::<_, &str>("kind") {
            "p" => table.primary_key = Some(Key { name, columns }),
            "u" => table.uniques.push(Key { name, columns }),
            "c" => table.checks.push(Check { name, expression: row.get("expr") }),
            _ => table.foreign_keys.push(ForeignKey {
                name,
                columns,
                ref_table: object_key(row.get("ref_schema"), row.get("ref_name")),
                ref_columns: row.get("ref_columns"),
                on_delete: fk_action(row.get("on_delete")),
                on_update: fk_action(row.get("on_update")),
                deferrable: row.get("deferrable"),
            }),
        }
    }

    for row in &indexes {
        if let Some((_, table)) = tables.get_mut(&row.get::<_, i64>("oid")) {
            table.indexes.push(Index {
                name: row.get("name"),
                columns: row.get("columns"),
                unique: row.get("is_unique"),
                method: row.get("method"),
                predicate: row.get("predicate"),
            });
        }
    }

    for (key, mut table) in tables.into_values() {
        table.uniques.sort_by(|a, b| a.name.cmp(&b.name));
        table.checks.sort_by(|a, b| a.name.cmp(&b.name));
        table.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        catalog.tables.insert(key, table);
    }

    for row in &sequences {
        let owner: Option<&str> = row.get("owner_table");
        // A tool's own serial (goose's `goose_db_version_id_seq`) goes with its table.
        if owner.is_some_and(is_tool_table) {
            continue;
        }
        let owned_by = owner.map(|table| {
            let column: &str = row.get("owner_column");
            format!("{}.{column}", object_key(row.get("owner_schema"), table))
        });
        catalog.sequences.insert(
            object_key(row.get("schema"), row.get("name")),
            Sequence {
                data_type: row.get("data_type"),
                start: row.get("start"),
                increment: row.get("increment"),
                min: row.get("min"),
                max: row.get("max"),
                cycle: row.get("cycle"),
                owned_by,
            },
        );
    }

    for row in &enums {
        catalog.enums.insert(object_key(row.get("schema"), row.get("name")), row.get("labels"));
    }

    for row in &domains {
        let names: Vec<String> = row.get("check_names");
        let exprs: Vec<String> = row.get("check_exprs");
        let checks =
            names.into_iter().zip(exprs).map(|(name, expression)| Check { name, expression });
        catalog.domains.insert(
            object_key(row.get("schema"), row.get("name")),
            Domain {
                data_type: row.get("data_type"),
                nullable: !row.get::<_, bool>("not_null"),
                default: row.get("default_expr"),
                checks: checks.collect(),
            },
        );
    }

    Ok(catalog)
}

fn column(row: &Row) -> Column {
    let base_type = match row.get::<_, Option<&str>>("elem_name") {
        Some(elem) => format!("{}[]", object_key(row.get("elem_schema"), elem)),
        None => object_key(row.get("type_schema"), row.get("type_name")),
    };
    let scalar_oid: i64 = row.get("scalar_oid");
    let typmod: i32 = row.get("scalar_typmod");
    let max_length = match scalar_oid {
        VARCHAR_OID | BPCHAR_OID if typmod >= VARHDRSZ => u32::try_from(typmod - VARHDRSZ).ok(),
        _ => None,
    };
    let (numeric_precision, numeric_scale) = match scalar_oid {
        NUMERIC_OID if typmod >= VARHDRSZ => numeric_typmod(typmod),
        _ => (None, None),
    };
    let expr: Option<String> = row.get("expr");
    let (default, generated) =
        match (row.get::<_, &str>("identity"), row.get::<_, &str>("generated")) {
            (_, "s") => (None, expr.map(|e| format!("stored: {e}"))),
            // PostgreSQL 18: `GENERATED ALWAYS AS (…)` without STORED, or with VIRTUAL.
            (_, "v") => (None, expr.map(|e| format!("virtual: {e}"))),
            ("a", _) => (expr, Some("identity always".to_string())),
            ("d", _) => (expr, Some("identity by default".to_string())),
            _ => (expr, None),
        };
    let collation = row
        .get::<_, Option<&str>>("coll_name")
        .map(|name| object_key(row.get("coll_schema"), name));
    Column {
        name: row.get("name"),
        data_type: row.get("data_type"),
        base_type,
        max_length,
        numeric_precision,
        numeric_scale,
        unsigned: false,
        nullable: !row.get::<_, bool>("not_null"),
        default,
        generated,
        collation,
    }
}

/// Precision and scale of a `numeric(p,s)` typmod: `((p << 16) | s) + 4`, the scale an 11-bit
/// signed number since PostgreSQL 15 allows `numeric(5,-2)`. A negative scale has no place in
/// [`Column::numeric_scale`] and is left out (the data type still says it).
fn numeric_typmod(typmod: i32) -> (Option<u32>, Option<u32>) {
    let bits = typmod - VARHDRSZ;
    let precision = u32::try_from((bits >> 16) & 0xffff).ok();
    let raw_scale = bits & 0x7ff;
    let scale = if raw_scale & 0x400 != 0 { raw_scale - 0x800 } else { raw_scale };
    (precision, u32::try_from(scale).ok())
}

/// The row estimate. PostgreSQL 14+ says "never analysed" with -1; before, 0 tuples on 0 pages
/// was the only sign (an analysed empty table then reads as unknown too). A partitioned table sums
/// its leaf partitions that have an estimate.
fn approx_rows(row: &Row, version_num: i32) -> Option<u64> {
    let known = |tuples: f64, pages: i64| {
        let unknown =
            if version_num >= 140_000 { tuples < 0.0 } else { tuples == 0.0 && pages == 0 };
        // Estimates are whole, non-negative and far below 2^53; `as` saturates anyway.
        (!unknown).then_some(tuples.round() as u64)
    };
    match row.get::<_, &str>("relkind") {
        "p" => {
            let tuples: Vec<f64> = row.get("leaf_tuples");
            let pages: Vec<i64> = row.get("leaf_pages");
            let leaves: Vec<u64> =
                tuples.into_iter().zip(pages).filter_map(|(t, p)| known(t, p)).collect();
            (!leaves.is_empty()).then(|| leaves.iter().sum())
        }
        _ => known(row.get("tuples"), row.get("pages")),
    }
}

/// `17.6 (Debian 17.6-1.pgdg13+1)` → `17.6`.
fn leading_version(version: &str) -> String {
    version.split_whitespace().next().unwrap_or_default().to_string()
}

/// The database's default collation: the ICU locale (`en-US`, `und`) when ICU is the provider
/// (PostgreSQL 15+), the builtin provider's locale (`C.UTF-8`, PostgreSQL 17+), otherwise libc's
/// `datcollate` (`en_US.utf8`).
fn database_collation(database: &Row) -> Option<String> {
    let provider: Option<&str> = database.get("provider");
    let locale: Option<String> = database.get("locale");
    match provider {
        Some("i" | "b") if locale.is_some() => locale,
        _ => database.get("collate"),
    }
}

/// Names as [`crate::schema`] keys them: no prefix in `public` (and for built-in types in
/// `pg_catalog`), `schema.name` otherwise.
fn object_key(schema: &str, name: &str) -> String {
    match schema {
        "public" | "pg_catalog" => name.to_string(),
        _ => format!("{schema}.{name}"),
    }
}

fn fk_action(code: &str) -> String {
    match code {
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => "no action",
    }
    .to_string()
}

/// The alias a view gives its one relation (`FROM orders o`, `FROM orders AS o`), which
/// PostgreSQL 15 prints before every column and 16 and later do not.
fn alias_of(definition: &str, relation: &str) -> Option<String> {
    const NOT_ALIASES: &[&str] = &[
        "where",
        "group",
        "order",
        "limit",
        "offset",
        "having",
        "window",
        "union",
        "except",
        "intersect",
        "fetch",
        "for",
        "join",
        "inner",
        "left",
        "right",
        "full",
        "cross",
        "natural",
        "on",
        "using",
        "tablesample",
        "with",
    ];
    let words: Vec<&str> = definition.split_whitespace().collect();
    let from = words.iter().position(|w| w.eq_ignore_ascii_case("from"))?;
    let named = words.get(from + 1)?.trim_end_matches([';', ')']);
    let bare = named.rsplit('.').next().unwrap_or(named).trim_matches('"');
    if bare != relation {
        return None;
    }
    let mut next = from + 2;
    if words.get(next).is_some_and(|w| w.eq_ignore_ascii_case("as")) {
        next += 1;
    }
    let alias = words.get(next)?.trim_end_matches(';');
    let lower = alias.to_ascii_lowercase();
    let is_name = alias.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '"');
    (is_name && !alias.is_empty() && !NOT_ALIASES.contains(&lower.as_str()))
        .then(|| alias.trim_matches('"').to_string())
}

/// Removes `relation.` (and `"relation".`) qualifiers outside string literals, where the
/// qualifier starts a name (not `x.relation.`). Only for views over exactly one relation, where a
/// qualifier cannot choose between two columns.
fn unqualify(definition: &str, relation: &str) -> String {
    let plain = format!("{relation}.");
    let quoted = format!("\"{}\".", relation.replace('"', "\"\""));
    let mut out = String::with_capacity(definition.len());
    let mut in_string = false;
    let mut i = 0;
    while i < definition.len() {
        let rest = &definition[i..];
        let c = rest.chars().next().unwrap_or_default();
        if c == '\'' {
            in_string = !in_string;
        }
        let starts_name = !in_string
            && out
                .chars()
                .last()
                .is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '"' || p == '.'));
        if starts_name
            && let Some(prefix) =
                [&plain, &quoted].into_iter().find(|p| rest.starts_with(p.as_str()))
        {
            i += prefix.len();
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_single_relation_alias_is_found() {
        assert_eq!(super::alias_of("SELECT o.id FROM orders o;", "orders").as_deref(), Some("o"));
        assert_eq!(
            super::alias_of("SELECT o.id FROM public.orders AS o WHERE o.id > 1", "orders")
                .as_deref(),
            Some("o")
        );
        assert_eq!(super::alias_of("SELECT id FROM orders WHERE id > 1", "orders"), None);
        assert_eq!(super::alias_of("SELECT id FROM orders;", "orders"), None);
    }

    #[test]
    fn single_table_view_qualifiers_go_away_outside_strings() {
        assert_eq!(
            super::unqualify(
                "SELECT orders.id, orders.amount FROM orders WHERE orders.note = 'orders.x' AND x.orders.y = 1",
                "orders"
            ),
            "SELECT id, amount FROM orders WHERE note = 'orders.x' AND x.orders.y = 1"
        );
        assert_eq!(
            super::unqualify("SELECT \"Order\".id FROM \"Order\"", "Order"),
            "SELECT id FROM \"Order\""
        );
    }

    use std::time::{SystemTime, UNIX_EPOCH};

    use tokio_postgres::NoTls;

    use super::*;

    #[test]
    fn numeric_typmods_decode() {
        // numeric(10,2), numeric(1000,0), numeric(5,-2) (PostgreSQL 15+).
        assert_eq!(numeric_typmod((10 << 16 | 2) + 4), (Some(10), Some(2)));
        assert_eq!(numeric_typmod((1000 << 16) + 4), (Some(1000), Some(0)));
        assert_eq!(numeric_typmod((5 << 16 | (0x800 - 2)) + 4), (Some(5), None));
    }

    #[test]
    fn versions_keep_the_leading_number() {
        assert_eq!(leading_version("17.6 (Debian 17.6-1.pgdg13+1)"), "17.6");
        assert_eq!(leading_version("18beta1"), "18beta1");
        assert_eq!(leading_version("15.14"), "15.14");
    }

    /// A new enum label must be committed before use, and one `batch_execute` is one transaction.
    const ENUM: &str = "CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped'); \
                        ALTER TYPE order_status ADD VALUE 'cancelled' BEFORE 'shipped'";

    const SCHEMA: &str = r#"
CREATE EXTENSION pg_trgm;
CREATE SCHEMA audit;
CREATE TYPE audit.level AS ENUM ('info', 'warn');
CREATE DOMAIN email AS text NOT NULL DEFAULT 'x@example.com' CHECK (VALUE LIKE '%@%');
CREATE DOMAIN audit.positive AS integer CONSTRAINT positive_check CHECK (VALUE > 0);
CREATE DOMAIN short_code AS varchar(8);
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email email,
  name varchar(255) NOT NULL,
  code char(3) COLLATE "POSIX",
  nick text COLLATE "C",
  balance numeric(10,2) NOT NULL DEFAULT 0,
  ratio numeric,
  tags text[] NOT NULL DEFAULT '{}',
  labels varchar(20)[],
  status order_status NOT NULL DEFAULT 'pending',
  statuses order_status[],
  lvl audit.level,
  voucher short_code,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  name_upper text GENERATED ALWAYS AS (upper(name)) STORED,
  manager_id bigint REFERENCES users (id) ON DELETE SET NULL,
  CONSTRAINT users_email_key UNIQUE (email),
  CONSTRAINT balance_nonneg CHECK (balance >= 0)
);
CREATE TABLE coupons (code text NOT NULL, percent int);
CREATE UNIQUE INDEX coupons_code_idx ON coupons (code);
CREATE TABLE orders (
  id serial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE ON UPDATE RESTRICT,
  status order_status NOT NULL DEFAULT 'pending',
  total numeric(12,4),
  note varchar,
  qty audit.positive,
  coupon text REFERENCES coupons (code),
  placed_at timestamp without time zone
);
ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;
ALTER TABLE orders DROP COLUMN note;
ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX orders_pending_idx ON orders (user_id, placed_at DESC) WHERE status = 'pending';
CREATE UNIQUE INDEX users_lower_name_idx ON users (lower(name), code);
CREATE INDEX users_tags_gin ON users USING gin (tags);
CREATE INDEX users_name_trgm ON users USING gin (name gin_trgm_ops);
CREATE INDEX orders_note_hash ON orders USING hash (note);
CREATE TABLE audit.events (
  tenant_id integer,
  event_id bigint,
  order_id integer,
  kind audit.level NOT NULL DEFAULT 'info',
  payload jsonb,
  PRIMARY KEY (tenant_id, event_id),
  UNIQUE (order_id, kind)
);
CREATE TABLE audit.event_links (
  tenant_id integer NOT NULL,
  event_id bigint NOT NULL,
  parent_event_id bigint,
  order_id integer,
  CONSTRAINT event_links_event_fkey FOREIGN KEY (tenant_id, event_id)
    REFERENCES audit.events (tenant_id, event_id) ON UPDATE CASCADE,
  CONSTRAINT event_links_parent_fkey FOREIGN KEY (tenant_id, parent_event_id)
    REFERENCES audit.events (tenant_id, event_id) ON DELETE SET DEFAULT,
  CONSTRAINT event_links_order_fkey FOREIGN KEY (order_id)
    REFERENCES public.orders (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE SEQUENCE invoice_no AS integer START 1000 INCREMENT 5 MINVALUE 1000 MAXVALUE 999999 CYCLE;
CREATE SEQUENCE audit.standalone;
CREATE TABLE measurements (
  id bigint GENERATED BY DEFAULT AS IDENTITY,
  taken_on date NOT NULL,
  value double precision,
  PRIMARY KEY (id, taken_on)
) PARTITION BY RANGE (taken_on);
CREATE TABLE measurements_2024 PARTITION OF measurements
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE measurements_2025 PARTITION OF measurements
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX measurements_taken_idx ON measurements (taken_on);
CREATE TABLE readings (
  measurement_id bigint,
  taken_on date,
  CONSTRAINT readings_measurement_fkey FOREIGN KEY (measurement_id, taken_on)
    REFERENCES measurements (id, taken_on)
);
CREATE TABLE flyway_schema_history (installed_rank integer PRIMARY KEY, version varchar(50));
CREATE TABLE audit.schema_migrations (id serial PRIMARY KEY, version text);
CREATE VIEW active_users AS SELECT id, email,
   name FROM users   WHERE status <> 'cancelled';
CREATE MATERIALIZED VIEW audit.order_totals AS
  SELECT user_id, sum(total) AS total FROM orders GROUP BY user_id;
INSERT INTO users (email, name) VALUES ('a@b.c', 'alice'), ('b@b.c', 'bob');
INSERT INTO measurements (taken_on) VALUES ('2024-05-01'), ('2025-05-01'), ('2025-06-01');
ANALYZE users;
ANALYZE measurements;
"#;

    /// PostgreSQL 18's virtual generated columns.
    const SCHEMA_18: &str = "ALTER TABLE coupons ADD COLUMN double_percent int \
                             GENERATED ALWAYS AS (percent * 2) VIRTUAL;";

    async fn connect(config: &tokio_postgres::Config) -> Client {
        let (client, connection) = config.connect(NoTls).await.expect("connect");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    fn col(
        name: &str,
        data_type: &str,
        base_type: &str,
        nullable: bool,
        default: Option<&str>,
    ) -> Column {
        Column {
            name: name.into(),
            data_type: data_type.into(),
            base_type: base_type.into(),
            max_length: None,
            numeric_precision: None,
            numeric_scale: None,
            unsigned: false,
            nullable,
            default: default.map(Into::into),
            generated: None,
            collation: None,
        }
    }

    fn key(name: &str, columns: &[&str]) -> Key {
        Key { name: name.into(), columns: columns.iter().map(|c| c.to_string()).collect() }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// Against a real server: `DBTWIN_TEST_PG_URL=postgres://postgres:pw@127.0.0.1:PORT/postgres
    /// cargo test --lib postgres::catalog -- --ignored`. Makes a database of its own and drops it.
    #[tokio::test]
    #[ignore = "needs a PostgreSQL server in DBTWIN_TEST_PG_URL"]
    async fn reads_a_rich_schema() {
        let url = std::env::var("DBTWIN_TEST_PG_URL").expect("DBTWIN_TEST_PG_URL");
        let admin_config: tokio_postgres::Config = url.parse().expect("url");
        let admin = connect(&admin_config).await;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        let database = format!("dbtwin_catalog_{}_{nanos}", std::process::id());
        admin.batch_execute(&format!("CREATE DATABASE {database}")).await.unwrap();

        let mut config = admin_config.clone();
        config.dbname(&database);
        let outcome = tokio::spawn(async move {
            let client = connect(&config).await;
            check_rich_schema(&client).await;
        })
        .await;

        admin.batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)")).await.unwrap();
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    async fn check_rich_schema(client: &Client) {
        client.batch_execute(ENUM).await.unwrap();
        client.batch_execute(SCHEMA).await.unwrap();
        let version_num: i32 = client
            .query_one("SHOW server_version_num", &[])
            .await
            .unwrap()
            .get::<_, String>(0)
            .parse()
            .unwrap();
        if version_num >= 180_000 {
            client.batch_execute(SCHEMA_18).await.unwrap();
        }

        let catalog = read_catalog(client, Scope::Everything).await.unwrap();
        let major = (version_num / 10_000).to_string();
        assert!(catalog.server_version.starts_with(&format!("{major}.")), "{catalog:?}");
        assert!(!catalog.server_version.contains(' '));
        assert_eq!(catalog.encoding.as_deref(), Some("UTF8"));
        assert!(catalog.collation.is_some());
        assert_eq!(catalog.extensions.keys().collect::<Vec<_>>(), ["pg_trgm"]);

        // Tool tables (in any schema) and partitions are left out.
        assert_eq!(
            catalog.tables.keys().collect::<Vec<_>>(),
            [
                "audit.event_links",
                "audit.events",
                "coupons",
                "measurements",
                "orders",
                "readings",
                "users"
            ]
        );

        let users = &catalog.tables["users"];
        let mut expected = vec![
            Column {
                generated: Some("identity always".into()),
                ..col("id", "bigint", "int8", false, None)
            },
            col("email", "email", "email", true, None),
            Column {
                max_length: Some(255),
                ..col("name", "character varying(255)", "varchar", false, None)
            },
            Column {
                max_length: Some(3),
                collation: Some("POSIX".into()),
                ..col("code", "character(3)", "bpchar", true, None)
            },
            Column { collation: Some("C".into()), ..col("nick", "text", "text", true, None) },
            Column {
                numeric_precision: Some(10),
                numeric_scale: Some(2),
                ..col("balance", "numeric(10,2)", "numeric", false, Some("0"))
            },
            col("ratio", "numeric", "numeric", true, None),
            col("tags", "text[]", "text[]", false, Some("'{}'::text[]")),
            Column {
                max_length: Some(20),
                ..col("labels", "character varying(20)[]", "varchar[]", true, None)
            },
            col("status", "order_status", "order_status", false, Some("'pending'::order_status")),
            col("statuses", "order_status[]", "order_status[]", true, None),
            col("lvl", "audit.level", "audit.level", true, None),
            Column {
                max_length: Some(8),
                ..col("voucher", "short_code", "short_code", true, None)
            },
            col("created_at", "timestamp with time zone", "timestamptz", false, Some("now()")),
            Column {
                generated: Some("stored: upper(name::text)".into()),
                ..col("name_upper", "text", "text", true, None)
            },
            col("manager_id", "bigint", "int8", true, None),
        ];
        assert_eq!(users.columns, expected);
        assert_eq!(users.primary_key, Some(key("users_pkey", &["id"])));
        assert_eq!(users.uniques, [key("users_email_key", &["email"])]);
        assert_eq!(
            users.checks,
            [Check { name: "balance_nonneg".into(), expression: "balance >= 0::numeric".into() }]
        );
        assert_eq!(
            users.foreign_keys,
            [ForeignKey {
                name: "users_manager_id_fkey".into(),
                columns: strings(&["manager_id"]),
                ref_table: "users".into(),
                ref_columns: strings(&["id"]),
                on_delete: "set null".into(),
                on_update: "no action".into(),
                deferrable: false,
            }]
        );
        assert_eq!(
            users.indexes,
            [
                Index {
                    name: "users_lower_name_idx".into(),
                    columns: strings(&["lower(name::text)", "code"]),
                    unique: true,
                    method: "btree".into(),
                    predicate: None,
                },
                Index {
                    name: "users_name_trgm".into(),
                    columns: strings(&["name"]),
                    unique: false,
                    method: "gin".into(),
                    predicate: None,
                },
                Index {
                    name: "users_tags_gin".into(),
                    columns: strings(&["tags"]),
                    unique: false,
                    method: "gin".into(),
                    predicate: None,
                },
            ]
        );
        assert_eq!(users.approx_rows, Some(2));

        let orders = &catalog.tables["orders"];
        let names: Vec<&str> = orders.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["id", "user_id", "status", "total", "qty", "coupon", "placed_at", "note"],
            "dropped columns are skipped, the rest in attnum order"
        );
        assert_eq!(
            orders.columns[0],
            col("id", "integer", "int4", false, Some("nextval('orders_id_seq'::regclass)"))
        );
        assert_eq!(
            orders.columns[3],
            Column {
                numeric_precision: Some(12),
                numeric_scale: Some(4),
                ..col("total", "numeric(12,4)", "numeric", true, None)
            }
        );
        assert_eq!(orders.columns[4], col("qty", "audit.positive", "audit.positive", true, None));
        assert_eq!(
            orders.checks,
            [Check { name: "total_positive".into(), expression: "total > 0::numeric".into() }]
        );
        let fks: Vec<_> = orders
            .foreign_keys
            .iter()
            .map(|f| {
                (f.name.as_str(), f.ref_table.as_str(), f.on_delete.as_str(), f.on_update.as_str())
            })
            .collect();
        assert_eq!(
            fks,
            [
                ("orders_coupon_fkey", "coupons", "no action", "no action"),
                ("orders_user_id_fkey", "users", "cascade", "restrict"),
            ]
        );
        assert_eq!(
            orders.indexes,
            [
                Index {
                    name: "orders_note_hash".into(),
                    columns: strings(&["note"]),
                    unique: false,
                    method: "hash".into(),
                    predicate: None,
                },
                Index {
                    name: "orders_pending_idx".into(),
                    columns: strings(&["user_id", "placed_at"]),
                    unique: false,
                    method: "btree".into(),
                    predicate: Some("status = 'pending'::order_status".into()),
                },
            ]
        );
        assert_eq!(orders.approx_rows, None, "never analysed");

        // A plain unique index that a foreign key references is still an index.
        let coupons = &catalog.tables["coupons"];
        assert_eq!(
            coupons.indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["coupons_code_idx"]
        );
        assert!(coupons.indexes[0].unique);
        assert_eq!(coupons.primary_key, None);
        if version_num >= 180_000 {
            assert_eq!(
                coupons.columns[2].generated.as_deref(),
                Some("virtual: percent * 2"),
                "{:?}",
                coupons.columns
            );
            assert_eq!(coupons.columns[2].default, None);
        }

        let events = &catalog.tables["audit.events"];
        assert_eq!(events.primary_key, Some(key("events_pkey", &["tenant_id", "event_id"])));
        assert_eq!(events.uniques, [key("events_order_id_kind_key", &["order_id", "kind"])]);
        assert_eq!(
            events.columns[3],
            col("kind", "audit.level", "audit.level", false, Some("'info'::audit.level"))
        );
        assert!(events.indexes.is_empty());

        let links = &catalog.tables["audit.event_links"];
        assert_eq!(
            links.foreign_keys,
            [
                ForeignKey {
                    name: "event_links_event_fkey".into(),
                    columns: strings(&["tenant_id", "event_id"]),
                    ref_table: "audit.events".into(),
                    ref_columns: strings(&["tenant_id", "event_id"]),
                    on_delete: "no action".into(),
                    on_update: "cascade".into(),
                    deferrable: false,
                },
                ForeignKey {
                    name: "event_links_order_fkey".into(),
                    columns: strings(&["order_id"]),
                    ref_table: "orders".into(),
                    ref_columns: strings(&["id"]),
                    on_delete: "no action".into(),
                    on_update: "no action".into(),
                    deferrable: true,
                },
                ForeignKey {
                    name: "event_links_parent_fkey".into(),
                    columns: strings(&["tenant_id", "parent_event_id"]),
                    ref_table: "audit.events".into(),
                    ref_columns: strings(&["tenant_id", "event_id"]),
                    on_delete: "set default".into(),
                    on_update: "no action".into(),
                    deferrable: false,
                },
            ]
        );

        let measurements = &catalog.tables["measurements"];
        expected = vec![
            Column {
                generated: Some("identity by default".into()),
                ..col("id", "bigint", "int8", false, None)
            },
            col("taken_on", "date", "date", false, None),
            col("value", "double precision", "float8", true, None),
        ];
        assert_eq!(measurements.columns, expected);
        assert_eq!(measurements.primary_key, Some(key("measurements_pkey", &["id", "taken_on"])));
        assert_eq!(
            measurements.indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["measurements_taken_idx"]
        );
        assert_eq!(measurements.approx_rows, Some(3), "the sum of the analysed partitions");

        // A foreign key to a partitioned table is one key, not one per partition.
        let readings = &catalog.tables["readings"];
        assert_eq!(readings.foreign_keys.len(), 1, "{:?}", readings.foreign_keys);
        assert_eq!(readings.foreign_keys[0].ref_table, "measurements");

        // PostgreSQL 16 stopped qualifying the columns of a one-table query.
        let definition = if version_num >= 160_000 {
            "SELECT id, email, name FROM users WHERE status <> 'cancelled'::order_status;"
        } else {
            "SELECT users.id, users.email, users.name FROM users \
             WHERE users.status <> 'cancelled'::order_status;"
        };
        assert_eq!(
            catalog.views["active_users"],
            View { definition: definition.into(), materialized: false }
        );
        assert!(catalog.views["audit.order_totals"].materialized);
        assert_eq!(catalog.views.len(), 2);

        assert_eq!(
            catalog.sequences.keys().collect::<Vec<_>>(),
            [
                "audit.standalone",
                "invoice_no",
                "measurements_id_seq",
                "orders_id_seq",
                "users_id_seq"
            ],
            "the tool table's serial is left out with its table"
        );
        assert_eq!(
            catalog.sequences["invoice_no"],
            Sequence {
                data_type: "integer".into(),
                start: 1000,
                increment: 5,
                min: 1000,
                max: 999_999,
                cycle: true,
                owned_by: None,
            }
        );
        assert_eq!(catalog.sequences["orders_id_seq"].owned_by.as_deref(), Some("orders.id"));
        assert_eq!(catalog.sequences["orders_id_seq"].data_type, "integer");
        assert_eq!(catalog.sequences["users_id_seq"].owned_by.as_deref(), Some("users.id"));
        assert_eq!(catalog.sequences["users_id_seq"].max, i64::MAX);
        assert_eq!(
            catalog.sequences["measurements_id_seq"].owned_by.as_deref(),
            Some("measurements.id")
        );
        assert_eq!(catalog.sequences["audit.standalone"].owned_by, None);

        assert_eq!(catalog.enums.len(), 2);
        assert_eq!(catalog.enums["order_status"], ["pending", "paid", "cancelled", "shipped"]);
        assert_eq!(catalog.enums["audit.level"], ["info", "warn"]);

        assert_eq!(
            catalog.domains["email"],
            Domain {
                data_type: "text".into(),
                nullable: false,
                default: Some("'x@example.com'::text".into()),
                checks: vec![Check {
                    name: "email_check".into(),
                    expression: "VALUE ~~ '%@%'::text".into(),
                }],
            }
        );
        assert_eq!(
            catalog.domains["audit.positive"],
            Domain {
                data_type: "integer".into(),
                nullable: true,
                default: None,
                checks: vec![Check {
                    name: "positive_check".into(),
                    expression: "VALUE > 0".into(),
                }],
            }
        );
        assert_eq!(catalog.domains["short_code"].data_type, "character varying(8)");
        assert_eq!(catalog.domains.len(), 3);

        let again = read_catalog(client, Scope::Everything).await.unwrap();
        assert_eq!(again.fingerprint(), catalog.fingerprint());
        assert_eq!(again, catalog);

        // The reading's transaction and search path are gone, also after a reading dropped
        // half-way (after its BEGIN went out), as a caller's timeout drops it.
        let settings =
            "SELECT current_setting('search_path'), current_setting('transaction_read_only')";
        let row = client.query_one(settings, &[]).await.unwrap();
        assert_eq!((row.get::<_, &str>(0), row.get::<_, &str>(1)), ("\"$user\", public", "off"));
        {
            let mut reading = std::pin::pin!(read_catalog(client, Scope::Everything));
            let polled = reading.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            assert!(polled.is_pending());
        }
        let row = client.query_one(settings, &[]).await.unwrap();
        assert_eq!((row.get::<_, &str>(0), row.get::<_, &str>(1)), ("\"$user\", public", "off"));
    }
}
