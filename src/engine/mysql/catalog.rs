//! Reads one MySQL or MariaDB database's catalog from `information_schema`, one query per kind of
//! object for the whole database (tables, columns, constraints, index parts, checks, foreign keys,
//! views, and sequences on MariaDB).
//!
//! MySQL (8.0, 9.x) and MariaDB (10.11, 11.x) describe the same schema differently; the reader
//! normalises what it can so that the same DDL gives the same [`Catalog`] on both:
//! - integer display widths: MariaDB prints `int(11)`, `bigint(20) unsigned`, `year(4)`; MySQL 8+
//!   prints `int`, `bigint unsigned`, `year`. Widths are dropped, except `tinyint(1)` (read as a
//!   boolean by applications, and kept by MySQL too) and `zerofill` columns (where the width is
//!   meaningful, and MySQL keeps it).
//! - defaults: MariaDB returns SQL (`'pending'`, `current_timestamp()`, the string `NULL` for "no
//!   default"), MySQL the raw value (`pending`, `CURRENT_TIMESTAMP` marked `DEFAULT_GENERATED`).
//!   Both become: string literals quoted (`'pending'`, quotes doubled, backslashes escaped), numbers
//!   and bit literals bare, expressions normalised like checks (`current_timestamp()`,
//!   `current_timestamp(3)`), no default `None`.
//! - `JSON`: MariaDB's is `longtext` with a `json_valid(col)` CHECK named after the column; such a
//!   column reads as `json` (no collation) and that automatic check is dropped, as on MySQL.
//! - expressions (checks, generated columns, expression defaults and index parts): MySQL wraps
//!   every operation in parentheses and adds charset introducers (`_utf8mb4'x'`) and backslash
//!   escapes; MariaDB prints the minimal form. Both go through [`normalise_expression`]: introducers
//!   dropped, literals re-quoted one way, keywords lowercased, identifiers back-quoted, redundant
//!   parentheses removed by operator precedence, and one spacing.
//! - foreign key actions: InnoDB treats `NO ACTION` as `RESTRICT`; MySQL reports an unspecified
//!   action as `NO ACTION`, MariaDB as `RESTRICT`. Both read as `restrict`.
//! - spatial index parts: MariaDB reports a sub-part of 32 that MySQL does not; ignored.
//!
//! Other choices:
//! - `generated` holds `auto_increment`, `stored: <expr>` / `virtual: <expr>` (MariaDB's
//!   `PERSISTENT` reads as stored), or, when the column has none of these,
//!   `on update current_timestamp()` for a column refreshed on every update.
//! - A column's collation is kept only when it differs from its table's default collation.
//! - Unique constraints whose parts are all plain ascending columns are [`Table::uniques`]; a unique
//!   index with a prefix, a descending or an expression part is listed in [`Table::indexes`] with
//!   `unique: true`, so nothing about it is lost.
//! - Index parts render as `column`, `column(10)` (prefix), `column desc`, or `(expression)`.
//!   Indexes InnoDB creates for foreign keys are real and are listed, named as the server named
//!   them (after the constraint when it has a name).
//! - Views: the definition whitespace-collapsed, with the database's own name removed from
//!   qualified names, so `shop` and `shop_prod` compare equal. MySQL and MariaDB still print views
//!   differently (MySQL adds parentheses); they are not re-parsed.
//! - Sequences (MariaDB 10.3+): from `information_schema.SEQUENCES` where it exists (MariaDB 11.5+),
//!   else by selecting the sequence's own state row (one query per sequence, which does not advance
//!   it).

use std::collections::{BTreeMap, BTreeSet};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use crate::schema::{
    Catalog, Check, Column, ForeignKey, Index, Key, Sequence, Table, View, collapse_whitespace,
    is_tool_table,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    Mysql,
    Mariadb,
}

/// Reads `database`'s catalog. Object names carry no database prefix; a foreign key to another
/// database names its table `db.table`.
pub(crate) async fn read_catalog(
    conn: &mut Conn,
    database: &str,
) -> Result<Catalog, mysql_async::Error> {
    let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
    let version = version.unwrap_or_default();
    let flavor = if version.contains("MariaDB") { Flavor::Mariadb } else { Flavor::Mysql };
    let mut catalog = Catalog { server_version: short_version(&version), ..Catalog::default() };

    let schema: Vec<Row> = conn
        .exec(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
               FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (database,),
        )
        .await?;
    let Some(schema) = schema.first() else {
        return Err(mysql_async::Error::Other(format!("no database named {database}").into()));
    };
    catalog.encoding = text(schema, 0);
    catalog.collation = text(schema, 1);

    // Tables, with their default collation (columns keep theirs only when it differs).
    let mut table_collation: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut sequence_names = Vec::new();
    let rows: Vec<Row> = conn
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS, TABLE_COLLATION
               FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (database,),
        )
        .await?;
    for row in &rows {
        let (Some(name), Some(kind)) = (text(row, 0), text(row, 1)) else { continue };
        match kind.as_str() {
            "BASE TABLE" if !is_tool_table(&name) => {
                let table = Table { approx_rows: unsigned(row, 2), ..Table::default() };
                table_collation.insert(name.clone(), text(row, 3));
                catalog.tables.insert(name, table);
            }
            "SEQUENCE" => sequence_names.push(name),
            _ => {}
        }
    }

    // Checks first: MariaDB's JSON columns are recognised by theirs.
    let check_sql = match flavor {
        // MariaDB names checks per table (a column check is named after its column), and its
        // CHECK_CONSTRAINTS carries the table name.
        Flavor::Mariadb => {
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
               FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?"
        }
        Flavor::Mysql => {
            "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE
               FROM information_schema.CHECK_CONSTRAINTS cc
               JOIN information_schema.TABLE_CONSTRAINTS tc
                 ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA
                AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK'
              WHERE cc.CONSTRAINT_SCHEMA = ?"
        }
    };
    let rows: Vec<Row> = conn.exec(check_sql, (database,)).await?;
    let mut checks: BTreeMap<String, Vec<Check>> = BTreeMap::new();
    for row in &rows {
        let (Some(table), Some(name)) = (text(row, 0), text(row, 1)) else { continue };
        let clause = text(row, 2).unwrap_or_default();
        let expression = normalise_expression(&unescape(flavor, &clause));
        checks.entry(table).or_default().push(Check { name, expression });
    }

    let rows: Vec<Row> = conn
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH,
                    NUMERIC_PRECISION, NUMERIC_SCALE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
                    GENERATION_EXPRESSION, COLLATION_NAME
               FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?
              ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        .await?;
    for row in &rows {
        let Some(table_name) = text(row, 0) else { continue };
        let Some(table) = catalog.tables.get_mut(&table_name) else { continue };
        let table_checks = checks.entry(table_name.clone()).or_default();
        let default_collation = table_collation.get(&table_name).cloned().flatten();
        table.columns.push(column(flavor, row, table_checks, default_collation.as_deref()));
    }

    for (table, mut list) in checks {
        if let Some(t) = catalog.tables.get_mut(&table) {
            list.sort_by(|a, b| a.name.cmp(&b.name));
            t.checks = list;
        }
    }

    // Keys and indexes: constraint names from TABLE_CONSTRAINTS, parts from STATISTICS.
    let rows: Vec<Row> = conn
        .exec(
            "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.TABLE_CONSTRAINTS
              WHERE TABLE_SCHEMA = ? AND CONSTRAINT_TYPE = 'UNIQUE'",
            (database,),
        )
        .await?;
    let unique_constraints: BTreeSet<(String, String)> =
        rows.iter().filter_map(|r| Some((text(r, 0)?, text(r, 1)?))).collect();
    let expression = match flavor {
        Flavor::Mysql => "EXPRESSION",
        // MariaDB has no functional index parts (it indexes virtual columns instead).
        Flavor::Mariadb => "NULL",
    };
    let rows: Vec<Row> = conn
        .exec(
            format!(
                "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, COLLATION,
                        INDEX_TYPE, {expression}
                   FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?
                  ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
            ),
            (database,),
        )
        .await?;
    let mut indexes: BTreeMap<(String, String), RawIndex> = BTreeMap::new();
    for row in &rows {
        let (Some(table), Some(name)) = (text(row, 0), text(row, 1)) else { continue };
        let method = text(row, 6).unwrap_or_default().to_lowercase();
        let index = indexes.entry((table, name)).or_insert_with(|| RawIndex {
            unique: unsigned(row, 2) == Some(0),
            method: method.clone(),
            parts: Vec::new(),
        });
        index.parts.push(KeyPart {
            column: text(row, 3),
            // MariaDB gives spatial parts a sub-part (32) that MySQL does not report.
            prefix: if method == "spatial" { None } else { unsigned(row, 4) },
            descending: text(row, 5).as_deref() == Some("D"),
            expression: text(row, 7).map(|e| normalise_expression(&unescape(flavor, &e))),
        });
    }
    for ((table_name, name), index) in indexes {
        let Some(table) = catalog.tables.get_mut(&table_name) else { continue };
        let plain = index.parts.iter().all(KeyPart::is_plain);
        if name == "PRIMARY" {
            let columns = index.parts.iter().map(KeyPart::name).collect();
            table.primary_key = Some(Key { name, columns });
        } else if plain && unique_constraints.contains(&(table_name, name.clone())) {
            let columns = index.parts.iter().map(KeyPart::name).collect();
            table.uniques.push(Key { name, columns });
        } else {
            let columns = index.parts.iter().map(KeyPart::render).collect();
            table.indexes.push(Index {
                name,
                columns,
                unique: index.unique,
                method: index.method,
                predicate: None,
            });
        }
    }

    read_foreign_keys(conn, database, &mut catalog).await?;

    let rows: Vec<Row> = conn
        .exec(
            "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS
              WHERE TABLE_SCHEMA = ?",
            (database,),
        )
        .await?;
    let qualifier = format!("`{}`.", database.replace('`', "``"));
    for row in &rows {
        let Some(name) = text(row, 0) else { continue };
        let definition = text(row, 1).unwrap_or_default().replace(&qualifier, "");
        let definition = collapse_whitespace(&definition);
        catalog.views.insert(name, View { definition, materialized: false });
    }

    if !sequence_names.is_empty() {
        read_sequences(conn, database, &sequence_names, &mut catalog).await?;
    }

    for table in catalog.tables.values_mut() {
        table.uniques.sort_by(|a, b| a.name.cmp(&b.name));
        table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        table.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(catalog)
}

/// "11.8.3-MariaDB-ubu2404" → "11.8.3-MariaDB"; "9.4.0-2" (Debian) → "9.4.0"; "9.4.0" stays.
fn short_version(version: &str) -> String {
    match version.find("-MariaDB") {
        Some(i) => version[..i + "-MariaDB".len()].to_string(),
        None => version.split('-').next().unwrap_or_default().to_string(),
    }
}

struct RawIndex {
    unique: bool,
    method: String,
    parts: Vec<KeyPart>,
}

struct KeyPart {
    column: Option<String>,
    prefix: Option<u64>,
    descending: bool,
    expression: Option<String>,
}

impl KeyPart {
    fn is_plain(&self) -> bool {
        self.column.is_some() && self.prefix.is_none() && !self.descending
    }

    fn name(&self) -> String {
        self.column.clone().unwrap_or_else(|| self.render())
    }

    /// `email`, `name(10)`, `created_at desc`, `(lower(`email`))`.
    fn render(&self) -> String {
        let mut s = match (&self.column, &self.expression) {
            (Some(c), _) => c.clone(),
            (None, Some(e)) => format!("({e})"),
            (None, None) => "?".to_string(),
        };
        if let Some(n) = self.prefix {
            s.push_str(&format!("({n})"));
        }
        if self.descending {
            s.push_str(" desc");
        }
        s
    }
}

fn column(
    flavor: Flavor,
    row: &Row,
    table_checks: &mut Vec<Check>,
    table_collation: Option<&str>,
) -> Column {
    let name = text(row, 1).unwrap_or_default();
    let column_type = text(row, 2).unwrap_or_default();
    let mut base_type = text(row, 3).unwrap_or_default().to_lowercase();
    let mut data_type = normalise_type(&column_type);
    let mut collation = text(row, 11);
    let extra = text(row, 9).unwrap_or_default();
    let extra_lower = extra.to_lowercase();

    // MariaDB's JSON is longtext plus an automatic `json_valid(col)` check named after the column.
    if flavor == Flavor::Mariadb && base_type == "longtext" {
        let json_check = format!("json_valid({})", quote_ident(&name));
        if let Some(i) =
            table_checks.iter().position(|c| c.name == name && c.expression == json_check)
        {
            table_checks.remove(i);
            data_type = "json".to_string();
            base_type = "json".to_string();
            collation = None;
        }
    }

    let max_length = match base_type.as_str() {
        "char" | "varchar" | "binary" | "varbinary" => {
            unsigned(row, 4).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        }
        _ => None,
    };
    let (numeric_precision, numeric_scale) = match base_type.as_str() {
        "decimal" | "numeric" => (
            unsigned(row, 5).and_then(|n| u32::try_from(n).ok()),
            unsigned(row, 6).and_then(|n| u32::try_from(n).ok()),
        ),
        _ => (None, None),
    };
    let unsigned_type = data_type.contains(" unsigned");
    let nullable = text(row, 7).as_deref() == Some("YES");
    let default = normalise_default(flavor, text(row, 8), &extra_lower, &base_type);

    let generation = text(row, 10).filter(|e| !e.trim().is_empty());
    let generated = if extra_lower.contains("auto_increment") {
        Some("auto_increment".to_string())
    } else if let Some(expr) = generation {
        let kind = if extra_lower.contains("virtual") { "virtual" } else { "stored" };
        Some(format!("{kind}: {}", normalise_expression(&unescape(flavor, &expr))))
    } else {
        extra_lower.find("on update ").map(|i| {
            let expr = &extra[i + "on update ".len()..];
            format!("on update {}", normalise_expression(expr))
        })
    };

    let collation = collation.filter(|c| Some(c.as_str()) != table_collation);
    Column {
        name,
        data_type,
        base_type,
        max_length,
        numeric_precision,
        numeric_scale,
        unsigned: unsigned_type,
        nullable,
        default,
        generated,
        collation,
    }
}

async fn read_foreign_keys(
    conn: &mut Conn,
    database: &str,
    catalog: &mut Catalog,
) -> Result<(), mysql_async::Error> {
    let rows: Vec<Row> = conn
        .exec(
            // KEY_COLUMN_USAGE shows a foreign key to anyone who may read its table; MariaDB
            // shows REFERENTIAL_CONSTRAINTS (the actions) only to a role with more than SELECT,
            // so a read-only source's actions come from SHOW CREATE TABLE instead.
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA,
                    k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, rc.UPDATE_RULE,
                    rc.DELETE_RULE
               FROM information_schema.KEY_COLUMN_USAGE k
               LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc
                 ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND rc.TABLE_NAME = k.TABLE_NAME
                AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME
              WHERE k.CONSTRAINT_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
              ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            (database,),
        )
        .await?;
    let mut keys: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for row in &rows {
        let (Some(table), Some(name)) = (text(row, 0), text(row, 1)) else { continue };
        let fk = keys.entry((table, name.clone())).or_insert_with(|| {
            let ref_schema = text(row, 3).unwrap_or_default();
            let ref_name = text(row, 4).unwrap_or_default();
            ForeignKey {
                name,
                columns: Vec::new(),
                ref_table: if ref_schema == database || ref_schema.is_empty() {
                    ref_name
                } else {
                    format!("{ref_schema}.{ref_name}")
                },
                ref_columns: Vec::new(),
                on_delete: action(text(row, 7)),
                on_update: action(text(row, 6)),
                deferrable: false,
            }
        });
        fk.columns.push(text(row, 2).unwrap_or_default());
        fk.ref_columns.push(text(row, 5).unwrap_or_default());
    }
    let hidden: BTreeSet<String> =
        rows.iter().filter(|row| text(row, 6).is_none()).filter_map(|row| text(row, 0)).collect();
    for table in hidden {
        let create: Option<(String, String)> =
            conn.query_first(format!("SHOW CREATE TABLE `{}`", table.replace('`', "``"))).await?;
        let Some((_, create)) = create else { continue };
        for ((t, name), fk) in keys.iter_mut() {
            if *t == table {
                (fk.on_delete, fk.on_update) = declared_actions(&create, name);
            }
        }
    }
    for ((table, _), fk) in keys {
        if let Some(t) = catalog.tables.get_mut(&table) {
            t.foreign_keys.push(fk);
        }
    }
    Ok(())
}

/// The `ON DELETE` and `ON UPDATE` actions of constraint `name` in a `SHOW CREATE TABLE`
/// statement (which leaves out the default, `restrict`).
fn declared_actions(create: &str, name: &str) -> (String, String) {
    let quoted = format!("CONSTRAINT `{}` FOREIGN KEY", name.replace('`', "``"));
    let line = create.lines().find(|l| l.contains(&quoted)).unwrap_or_default();
    let on = |event: &str| {
        let rest = line.split_once(event).map_or("", |(_, rest)| rest.trim_start());
        ["CASCADE", "SET NULL", "SET DEFAULT", "NO ACTION", "RESTRICT"]
            .into_iter()
            .find(|a| rest.starts_with(a))
            .map(|a| action(Some(a.to_owned())))
            .unwrap_or_else(|| action(None))
    };
    (on("ON DELETE"), on("ON UPDATE"))
}

/// `CASCADE` → `cascade`; `NO ACTION` reads as `restrict`, which is what InnoDB does with it.
fn action(rule: Option<String>) -> String {
    let rule = rule.unwrap_or_default().to_lowercase();
    if rule == "no action" || rule.is_empty() { "restrict".to_string() } else { rule }
}

async fn read_sequences(
    conn: &mut Conn,
    database: &str,
    names: &[String],
    catalog: &mut Catalog,
) -> Result<(), mysql_async::Error> {
    let has_view: Option<u64> = conn
        .query_first(
            "SELECT COUNT(*) FROM information_schema.TABLES
              WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'SEQUENCES'",
        )
        .await?;
    if has_view.unwrap_or(0) > 0 {
        let rows: Vec<Row> = conn
            .exec(
                "SELECT SEQUENCE_NAME, DATA_TYPE, START_VALUE, INCREMENT, MINIMUM_VALUE,
                        MAXIMUM_VALUE, CYCLE_OPTION
                   FROM information_schema.SEQUENCES WHERE SEQUENCE_SCHEMA = ?",
                (database,),
            )
            .await?;
        for row in &rows {
            let Some(name) = text(row, 0) else { continue };
            let data_type = text(row, 1).unwrap_or_else(|| "bigint".into()).to_lowercase();
            catalog.sequences.insert(name, sequence(row, 2, data_type));
        }
        return Ok(());
    }
    // MariaDB before 11.5: a sequence is a one-row table holding its own settings; reading that
    // row does not advance the sequence.
    for name in names {
        let sql = format!(
            "SELECT start_value, increment, minimum_value, maximum_value, cycle_option
               FROM `{}`.`{}`",
            database.replace('`', "``"),
            name.replace('`', "``")
        );
        let row: Option<Row> = conn.query_first(sql).await?;
        if let Some(row) = row {
            catalog.sequences.insert(name.clone(), sequence(&row, 0, "bigint".into()));
        }
    }
    Ok(())
}

/// A sequence from five columns starting at `at`: start, increment, min, max, cycle.
fn sequence(row: &Row, at: usize, data_type: String) -> Sequence {
    Sequence {
        data_type,
        start: signed(row, at).unwrap_or(1),
        increment: signed(row, at + 1).unwrap_or(1),
        min: signed(row, at + 2).unwrap_or(1),
        max: signed(row, at + 3).unwrap_or(i64::MAX),
        cycle: matches!(text(row, at + 4).as_deref(), Some("1" | "YES")),
        owned_by: None,
    }
}

// ---- values -------------------------------------------------------------------------------------

/// A value as text: information_schema columns come back as strings, numbers, or bytes (MariaDB's
/// LONGTEXT/VARBINARY columns); bytes are decoded as UTF-8, replacing what is not.
fn text(row: &Row, i: usize) -> Option<String> {
    match row.as_ref(i)? {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        other => Some(other.as_sql(true)),
    }
}

fn unsigned(row: &Row, i: usize) -> Option<u64> {
    match row.as_ref(i)? {
        Value::UInt(n) => Some(*n),
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => text(row, i)?.trim().parse().ok(),
    }
}

/// A signed value; one past `i64` (an unsigned MariaDB sequence's bounds) saturates.
fn signed(row: &Row, i: usize) -> Option<i64> {
    match row.as_ref(i)? {
        Value::Int(n) => Some(*n),
        Value::UInt(n) => Some(i64::try_from(*n).unwrap_or(i64::MAX)),
        _ => {
            let t = text(row, i)?;
            let t = t.trim();
            t.parse::<i64>().ok().or_else(|| {
                t.parse::<i128>().ok().map(|n| n.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
            })
        }
    }
}

// ---- types and defaults -------------------------------------------------------------------------

/// Lowercases a COLUMN_TYPE outside its quoted labels and drops integer display widths
/// (`int(11)` → `int`, `bigint(20) unsigned` → `bigint unsigned`, `year(4)` → `year`), keeping
/// `tinyint(1)` and zerofill widths.
fn normalise_type(column_type: &str) -> String {
    let mut out = String::with_capacity(column_type.len());
    let mut in_quote = false;
    for c in column_type.trim().chars() {
        if c == '\'' {
            in_quote = !in_quote;
        }
        if in_quote || c == '\'' {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    if out.contains("zerofill") {
        return out;
    }
    const INTEGERS: &[&str] = &["tinyint", "smallint", "mediumint", "int", "integer", "bigint"];
    let Some(open) = out.find('(') else { return out };
    let (base, rest) = out.split_at(open);
    let Some(close) = rest.find(')') else { return out };
    let width = &rest[1..close];
    let is_int = INTEGERS.contains(&base);
    if !width.chars().all(|c| c.is_ascii_digit())
        || !(is_int || (base == "year" && width == "4"))
        || (base == "tinyint" && width == "1")
    {
        return out;
    }
    format!("{base}{}", &rest[close + 1..])
}

const NUMERIC_TYPES: &[&str] = &[
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "integer",
    "bigint",
    "decimal",
    "numeric",
    "float",
    "double",
    "real",
    "year",
    "bit",
];

/// One form for both servers: `'text'`, `42`, `b'101'`, `current_timestamp()`, or None.
fn normalise_default(
    flavor: Flavor,
    raw: Option<String>,
    extra_lower: &str,
    base_type: &str,
) -> Option<String> {
    let raw = raw?;
    let lower = raw.to_lowercase();
    let is_bit_literal =
        (lower.starts_with("b'") || lower.starts_with("x'")) && raw.ends_with('\'');
    match flavor {
        Flavor::Mariadb => {
            if raw == "NULL" {
                None
            } else if raw.starts_with('\'') {
                Some(quote_literal(&parse_literal(&raw)))
            } else if is_bit_literal {
                Some(format!("{}{}", &lower[..1], &raw[1..]))
            } else if is_number(&raw) {
                Some(raw)
            } else {
                Some(normalise_expression(&raw))
            }
        }
        Flavor::Mysql => {
            if extra_lower.contains("default_generated") {
                Some(normalise_expression(&unescape(flavor, &raw)))
            } else if is_bit_literal {
                Some(format!("{}{}", &lower[..1], &raw[1..]))
            } else if NUMERIC_TYPES.contains(&base_type) && is_number(&raw) {
                Some(raw)
            } else {
                Some(quote_literal(&raw))
            }
        }
    }
}

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = mantissa.chars().filter(|c| c.is_ascii_digit()).count();
    let dots = mantissa.chars().filter(|&c| c == '.').count();
    let mantissa_ok = digits > 0 && dots <= 1 && digits + dots == mantissa.len();
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// MySQL stores expressions (checks, generated columns, expression defaults) with their quotes
/// backslash-escaped (`_utf8mb4\'x\'`); one level of escaping is removed. MariaDB's are plain.
fn unescape(flavor: Flavor, text: &str) -> String {
    if flavor == Flavor::Mariadb || !text.contains("\\'") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('\'' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of a quoted SQL string literal (`'it''s'`, `'a\\b'`).
fn parse_literal(quoted: &str) -> String {
    let inner = quoted.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).unwrap_or(quoted);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\\' => out.push(chars.next().map_or('\\', escaped)),
            c => out.push(c),
        }
    }
    out
}

/// The character a backslash escape stands for (`\n` → newline, `\'` → `'`).
fn escaped(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        'Z' => '\x1a',
        c => c,
    }
}

/// The one quoting both servers' values are printed with: quotes doubled, backslashes escaped.
fn quote_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

// ---- expressions --------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A string literal's value (any charset introducer dropped).
    Str(String),
    /// A back-quoted identifier.
    Ident(String),
    /// An unquoted word (keyword or function name), lowercased.
    Word(String),
    /// A number, or a bit/hex literal, as printed.
    Num(String),
    /// Punctuation and operators.
    Op(String),
}

/// Words that are operators or syntax rather than function names or values.
const KEYWORDS: &[&str] = &[
    "and", "or", "xor", "not", "is", "in", "like", "rlike", "regexp", "between", "div", "mod",
    "case", "when", "then", "else", "end", "escape", "collate", "interval", "member", "of",
    "sounds", "binary", "as", "distinct",
];

fn tokenize(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let quoted = |i: &mut usize, q: char| -> String {
        let mut out = String::new();
        *i += 1;
        while *i < chars.len() {
            let c = chars[*i];
            if c == q {
                if chars.get(*i + 1) == Some(&q) {
                    out.push(q);
                    *i += 2;
                    continue;
                }
                *i += 1;
                return out;
            }
            if c == '\\' && q == '\'' {
                out.push(chars.get(*i + 1).map_or('\\', |&n| escaped(n)));
                *i += 2;
                continue;
            }
            out.push(c);
            *i += 1;
        }
        out
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            toks.push(Tok::Str(quoted(&mut i, c)));
        } else if c == '`' {
            toks.push(Tok::Ident(quoted(&mut i, '`')));
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len() {
                let c = chars[i];
                let exponent_sign = (c == '-' || c == '+')
                    && matches!(chars[i - 1], 'e' | 'E')
                    && chars[start..i - 1].iter().all(|c| c.is_ascii_digit() || *c == '.');
                if !(c.is_ascii_alphanumeric() || c == '.' || exponent_sign) {
                    break;
                }
                i += 1;
            }
            toks.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
            if chars.get(i) == Some(&'\'') {
                if word.starts_with('_') || word == "n" {
                    // A charset introducer (`_utf8mb4'x'`) or a national literal: the value only.
                    continue;
                }
                if word == "b" || word == "x" {
                    let value = quoted(&mut i, '\'');
                    toks.push(Tok::Num(format!("{word}'{value}'")));
                    continue;
                }
            }
            toks.push(Tok::Word(word));
        } else {
            const OPS: &[&str] = &["<=>", "<=", ">=", "<>", "!=", "||", "&&", "<<", ">>", ":="];
            let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
            let op = OPS.iter().find(|op| rest.starts_with(*op)).map(|op| op.to_string());
            let op = op.unwrap_or_else(|| c.to_string());
            i += op.chars().count();
            toks.push(Tok::Op(op));
        }
    }
    toks
}

fn is_keyword(t: &Tok) -> bool {
    matches!(t, Tok::Word(w) if KEYWORDS.contains(&w.as_str()))
}

/// True when a token ends an operand (so a following `-` is binary, a following `not` infix).
fn ends_operand(t: Option<&Tok>) -> bool {
    match t {
        None => false,
        Some(Tok::Op(o)) => o == ")",
        Some(t @ Tok::Word(_)) => !is_keyword(t),
        Some(_) => true,
    }
}

/// Binding strength of each token used as an operator (higher binds tighter), after MySQL's
/// precedence table; None for operands and punctuation. `between … and`'s `and` is not a logical
/// `and`; `is not`, `not in`, `not like` are comparisons.
fn precedences(toks: &[Tok]) -> Vec<Option<u8>> {
    let mut out = vec![None; toks.len()];
    let mut pending_between: Vec<u32> = vec![0];
    for (i, t) in toks.iter().enumerate() {
        let prev = if i == 0 { None } else { toks.get(i - 1) };
        let p = match t {
            Tok::Op(o) => match o.as_str() {
                "(" => {
                    pending_between.push(0);
                    None
                }
                ")" => {
                    if pending_between.len() > 1 {
                        pending_between.pop();
                    }
                    None
                }
                "||" => Some(1),
                "&&" => Some(3),
                "=" | "<=>" | ">=" | ">" | "<=" | "<" | "<>" | "!=" => Some(6),
                "|" => Some(7),
                "&" => Some(8),
                "<<" | ">>" => Some(9),
                "-" | "+" if ends_operand(prev) => Some(10),
                "*" | "/" | "%" => Some(11),
                "^" => Some(12),
                "-" | "+" | "~" | "!" => Some(13),
                _ => None,
            },
            Tok::Word(w) => match w.as_str() {
                "or" => Some(1),
                "xor" => Some(2),
                "and" => {
                    let pending = pending_between.last_mut().expect("never empty");
                    if *pending > 0 {
                        *pending -= 1;
                        Some(5)
                    } else {
                        Some(3)
                    }
                }
                "not" => {
                    let after_is = matches!(prev, Some(Tok::Word(p)) if p == "is");
                    if after_is || ends_operand(prev) { Some(6) } else { Some(4) }
                }
                "between" => {
                    *pending_between.last_mut().expect("never empty") += 1;
                    Some(5)
                }
                "is" | "like" | "rlike" | "regexp" | "in" | "sounds" | "member" => Some(6),
                "div" | "mod" => Some(11),
                "collate" => Some(14),
                _ => None,
            },
            _ => None,
        };
        out[i] = p;
    }
    out
}

/// Removes one pair of parentheses that does not change the meaning, if any; returns whether it
/// did.
fn remove_one_redundant_group(toks: &mut Vec<Tok>) -> bool {
    let prec = precedences(toks);
    let mut stack = Vec::new();
    for i in 0..toks.len() {
        match &toks[i] {
            Tok::Op(o) if o == "(" => stack.push(i),
            Tok::Op(o) if o == ")" => {
                let Some(open) = stack.pop() else { return false };
                if is_redundant(toks, &prec, open, i) {
                    toks.remove(i);
                    toks.remove(open);
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn is_redundant(toks: &[Tok], prec: &[Option<u8>], open: usize, close: usize) -> bool {
    if close == open + 1 {
        return false;
    }
    let before = if open == 0 { None } else { toks.get(open - 1) };
    // A function call's or an `in`'s parentheses, or a row after `)`, are syntax.
    match before {
        Some(Tok::Word(w)) if !KEYWORDS.contains(&w.as_str()) || w == "in" || w == "of" => {
            return false;
        }
        Some(Tok::Ident(_) | Tok::Str(_) | Tok::Num(_)) => return false,
        Some(Tok::Op(o)) if o == ")" => return false,
        _ => {}
    }
    // The loosest operator at the group's top level; commas (rows) and subqueries stay.
    let mut depth = 0;
    let mut inner = u8::MAX;
    for (k, t) in toks.iter().enumerate().take(close).skip(open + 1) {
        match t {
            Tok::Op(o) if o == "(" => depth += 1,
            Tok::Op(o) if o == ")" => depth -= 1,
            Tok::Op(o) if o == "," && depth == 0 => return false,
            Tok::Word(w) if depth == 0 && (w == "select" || w == "case") => return false,
            _ if depth == 0 => {
                if let Some(p) = prec[k] {
                    inner = inner.min(p);
                }
            }
            _ => {}
        }
    }
    let boundary = |t: Option<&Tok>| match t {
        None => true,
        Some(Tok::Op(o)) => o == "(" || o == ")" || o == ",",
        Some(Tok::Word(w)) => matches!(w.as_str(), "when" | "then" | "else" | "end"),
        _ => false,
    };
    let left = if boundary(before) { None } else { prec[open - 1] };
    let after = toks.get(close + 1);
    let right = if boundary(after) { None } else { prec[close + 1] };
    if (!boundary(before) && left.is_none()) || (!boundary(after) && right.is_none()) {
        return false;
    }
    // Logical and/or/xor are associative; the others bind left to right.
    let associative = |p: u8| matches!(p, 1..=3);
    let left_ok = left.is_none_or(|l| inner > l || (inner == l && associative(l)));
    let right_ok = right.is_none_or(|r| inner >= r);
    left_ok && right_ok
}

/// Prints an expression (check, generated column, expression default, index part) one way for
/// both servers: charset introducers dropped, string literals re-quoted, keywords and function
/// names lowercased, identifiers back-quoted, redundant parentheses removed, one spacing;
/// `CURRENT_TIMESTAMP`/`now()` read as `current_timestamp()`.
fn normalise_expression(expr: &str) -> String {
    let mut toks = tokenize(expr);
    // Synonyms of the current time, with or without parentheses.
    let mut i = 0;
    while i < toks.len() {
        if let Tok::Word(w) = &toks[i] {
            let now =
                matches!(w.as_str(), "current_timestamp" | "now" | "localtime" | "localtimestamp");
            if now {
                toks[i] = Tok::Word("current_timestamp".into());
                if toks.get(i + 1) != Some(&Tok::Op("(".into())) {
                    toks.insert(i + 1, Tok::Op("(".into()));
                    toks.insert(i + 2, Tok::Op(")".into()));
                }
            }
        }
        i += 1;
    }
    while remove_one_redundant_group(&mut toks) {}
    render(&toks)
}

fn render(toks: &[Tok]) -> String {
    let prec = precedences(toks);
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        let prev = if i == 0 { None } else { toks.get(i - 1) };
        let glue = match (prev, t) {
            (None, _) => true,
            (_, Tok::Op(o)) if o == ")" || o == "," || o == "." => true,
            (Some(Tok::Op(p)), _) if p == "(" || p == "," || p == "." => true,
            // A function call: `concat(`.
            (Some(p @ Tok::Word(_)), Tok::Op(o)) if o == "(" && !is_keyword(p) => true,
            (Some(Tok::Ident(_)), Tok::Op(o)) if o == "(" => true,
            // After a unary operator: `-x`, `!x`.
            (Some(Tok::Op(_)), _) if prec[i - 1] == Some(13) => true,
            _ => false,
        };
        if !glue {
            out.push(' ');
        }
        match t {
            Tok::Str(s) => out.push_str(&quote_literal(s)),
            Tok::Ident(s) => out.push_str(&quote_ident(s)),
            Tok::Word(s) | Tok::Num(s) | Tok::Op(s) => out.push_str(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_roles_foreign_key_actions_come_from_the_create_statement() {
        let create = "CREATE TABLE `lines` (\n  `id` bigint NOT NULL,\n  `order_id` bigint NOT NULL,\n  `sku` int DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  CONSTRAINT `lines_ibfk_1` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE CASCADE,\n  CONSTRAINT `lines_sku` FOREIGN KEY (`sku`) REFERENCES `skus` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION,\n  CONSTRAINT `plain` FOREIGN KEY (`sku`) REFERENCES `skus` (`id`)\n) ENGINE=InnoDB";
        let pair = |d: &str, u: &str| (d.to_owned(), u.to_owned());
        assert_eq!(declared_actions(create, "lines_ibfk_1"), pair("cascade", "restrict"));
        assert_eq!(declared_actions(create, "lines_sku"), pair("set null", "restrict"));
        assert_eq!(declared_actions(create, "plain"), pair("restrict", "restrict"));
        assert_eq!(declared_actions(create, "absent"), pair("restrict", "restrict"));
    }

    #[test]
    fn display_widths_go_except_boolean_and_zerofill() {
        assert_eq!(normalise_type("int(11)"), "int");
        assert_eq!(normalise_type("bigint(20) unsigned"), "bigint unsigned");
        assert_eq!(normalise_type("tinyint(1)"), "tinyint(1)");
        assert_eq!(normalise_type("tinyint(4)"), "tinyint");
        assert_eq!(normalise_type("year(4)"), "year");
        assert_eq!(normalise_type("int(5) unsigned zerofill"), "int(5) unsigned zerofill");
        assert_eq!(normalise_type("decimal(10,2)"), "decimal(10,2)");
        assert_eq!(normalise_type("varchar(20)"), "varchar(20)");
        assert_eq!(normalise_type("ENUM('Pending','paid')"), "enum('Pending','paid')");
    }

    #[test]
    fn defaults_read_alike() {
        let m = |raw: &str, extra: &str, ty: &str| {
            normalise_default(Flavor::Mysql, Some(raw.into()), extra, ty)
        };
        let d = |raw: &str, ty: &str| normalise_default(Flavor::Mariadb, Some(raw.into()), "", ty);
        assert_eq!(m("pending", "", "enum"), d("'pending'", "enum"));
        assert_eq!(d("'pending'", "enum").as_deref(), Some("'pending'"));
        assert_eq!(m("it's", "", "varchar"), d("'it''s'", "varchar"));
        assert_eq!(m("a\\b", "", "varchar"), d("'a\\\\b'", "varchar"));
        assert_eq!(m("", "", "varchar"), d("''", "varchar"));
        assert_eq!(m("NULL", "", "varchar").as_deref(), Some("'NULL'"));
        assert_eq!(d("NULL", "varchar"), None);
        assert_eq!(m("0.00", "", "decimal"), d("0.00", "decimal"));
        assert_eq!(m("1", "", "varchar").as_deref(), Some("'1'"));
        assert_eq!(m("-3", "", "smallint").as_deref(), Some("-3"));
        assert_eq!(m("b'101'", "", "bit"), d("b'101'", "bit"));
        let now = m("CURRENT_TIMESTAMP", "default_generated", "datetime");
        assert_eq!(now.as_deref(), Some("current_timestamp()"));
        assert_eq!(now, d("current_timestamp()", "datetime"));
        assert_eq!(
            m("CURRENT_TIMESTAMP(3)", "default_generated", "datetime"),
            d("current_timestamp(3)", "datetime")
        );
        assert_eq!(m("(1 + 2)", "default_generated", "int").as_deref(), Some("1 + 2"));
        assert_eq!(m("_utf8mb4\\'x\\'", "default_generated", "text"), d("'x'", "text"));
        assert_eq!(m("uuid()", "default_generated", "varchar"), d("uuid()", "varchar"));
    }

    #[test]
    fn expressions_read_alike() {
        let my = |s: &str| normalise_expression(&unescape(Flavor::Mysql, s));
        let pairs = [
            ("((`score` >= 0) and (`score` < 1000))", "`score` >= 0 and `score` < 1000"),
            ("(`total` >= 0)", "`total` >= 0"),
            ("(`total` * 1.2)", "`total` * 1.2"),
            ("concat(_utf8mb4\\'s:\\',`status`)", "concat('s:',`status`)"),
            (
                "((`a` in (_utf8mb4\\'x\\',_utf8mb4\\'y\\')) or ((`n` between 1 and 5) and (`q` is not null)))",
                "`a` in ('x','y') or `n` between 1 and 5 and `q` is not null",
            ),
            (
                "((-(`n`) < 3) and (`k` like _utf8mb4\\'a%\\') and (((`n` + 1) * 2) > (`n` - (1 - `q`))))",
                "-`n` < 3 and `k` like 'a%' and (`n` + 1) * 2 > `n` - (1 - `q`)",
            ),
            ("json_valid(`meta`)", "json_valid(`meta`)"),
        ];
        for (mysql, mariadb) in pairs {
            assert_eq!(my(mysql), normalise_expression(mariadb), "{mysql}");
            assert_eq!(normalise_expression(mariadb), mariadb, "{mariadb}");
        }
        // Parentheses that matter stay.
        assert_eq!(normalise_expression("(`a` or `b`) and `c`"), "(`a` or `b`) and `c`");
        assert_eq!(normalise_expression("`a` - (`b` - `c`)"), "`a` - (`b` - `c`)");
        assert_eq!(normalise_expression("not (`a` and `b`)"), "not (`a` and `b`)");
        assert_eq!(normalise_expression("CURRENT_TIMESTAMP"), "current_timestamp()");
    }

    #[test]
    fn versions_lose_their_build_suffix() {
        assert_eq!(short_version("11.8.3-MariaDB-ubu2404"), "11.8.3-MariaDB");
        assert_eq!(short_version("10.11.19-MariaDB-0+deb12u1"), "10.11.19-MariaDB");
        assert_eq!(short_version("9.4.0"), "9.4.0");
        assert_eq!(short_version("9.7.4-2"), "9.7.4");
    }

    #[test]
    fn numbers_are_recognised() {
        for n in ["0", "-3", "1.5", "0.00", "-10000000000", "1e10", "+2.5E-3", ".5"] {
            assert!(is_number(n), "{n}");
        }
        for n in ["", "-", "abc", "1.2.3", "1e", "0x1f", "'1'"] {
            assert!(!is_number(n), "{n}");
        }
    }
}

/// Against a real server: `DBTWIN_TEST_MYSQL_URL=mysql://root:pw@127.0.0.1:PORT/ cargo test --lib
/// engine::mysql::catalog -- --ignored`. Checked with MariaDB 10.11 and 11.8 and MySQL 9.
#[cfg(test)]
mod server_tests {
    use super::*;

    const SCHEMA: &[&str] = &[
        "CREATE TABLE customers (
           id bigint unsigned NOT NULL AUTO_INCREMENT,
           email varchar(120) NOT NULL,
           name varchar(80) COLLATE utf8mb4_bin DEFAULT NULL,
           country char(2) NOT NULL DEFAULT 'US',
           active tinyint(1) NOT NULL DEFAULT 1,
           score int NOT NULL DEFAULT 0,
           small smallint DEFAULT -3,
           ratio double DEFAULT 1.5,
           parent_id bigint unsigned DEFAULT NULL,
           bio text,
           joined date DEFAULT '2020-01-01',
           mask bit(3) DEFAULT b'101',
           token varchar(36) DEFAULT (uuid()),
           quip varchar(10) DEFAULT 'it''s',
           path varchar(10) DEFAULT 'a\\\\b',
           word varchar(10) DEFAULT 'NULL',
           blank varchar(5) NOT NULL DEFAULT '',
           PRIMARY KEY (id),
           UNIQUE KEY customers_email_key (email),
           KEY customers_name_prefix (name(10)),
           FULLTEXT KEY customers_bio_ft (bio),
           CONSTRAINT customers_parent_fk FOREIGN KEY (parent_id) REFERENCES customers (id)
             ON DELETE SET NULL,
           CONSTRAINT customers_score_check CHECK (score >= 0 AND score < 1000)
         ) ENGINE=InnoDB",
        "CREATE TABLE orders (
           region smallint unsigned NOT NULL,
           order_no int NOT NULL,
           customer_id bigint unsigned NOT NULL,
           status enum('pending','paid','it''s') NOT NULL DEFAULT 'pending',
           flags set('a','b','c') DEFAULT 'a,b',
           total decimal(10,2) NOT NULL DEFAULT 0.00,
           qty int unsigned NOT NULL DEFAULT 1,
           meta json DEFAULT NULL,
           created_at datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
           updated_at timestamp NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
           touched datetime(3) DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
           total_with_tax decimal(12,2) GENERATED ALWAYS AS (total * 1.2) STORED,
           status_label varchar(40) GENERATED ALWAYS AS (concat('s:', status)) VIRTUAL,
           yr year DEFAULT 2020,
           zf int(5) unsigned zerofill,
           PRIMARY KEY (region, order_no),
           KEY orders_created_idx (created_at DESC, status),
           CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
             ON DELETE CASCADE ON UPDATE RESTRICT,
           CONSTRAINT orders_total_check CHECK (total >= 0)
         ) ENGINE=InnoDB",
        "CREATE TABLE order_lines (
           region smallint unsigned NOT NULL,
           order_no int NOT NULL,
           line_no int NOT NULL,
           sku varchar(20) NOT NULL,
           PRIMARY KEY (region, order_no, line_no),
           UNIQUE KEY order_lines_sku_key (region, order_no, sku),
           CONSTRAINT order_lines_order_fk FOREIGN KEY (region, order_no)
             REFERENCES orders (region, order_no) ON DELETE CASCADE ON UPDATE CASCADE
         ) ENGINE=InnoDB",
        "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50))",
        "CREATE VIEW paid_orders AS SELECT o.region, o.order_no, c.email
           FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = 'paid'",
    ];

    fn describe(c: &Column) -> String {
        let mut s = format!("{} {} ({})", c.name, c.data_type, c.base_type);
        if c.nullable {
            s.push_str(" null");
        }
        if let Some(d) = &c.default {
            s.push_str(&format!(" default {d}"));
        }
        if let Some(g) = &c.generated {
            s.push_str(&format!(" [{g}]"));
        }
        if let Some(n) = c.max_length {
            s.push_str(&format!(" len={n}"));
        }
        if let (Some(p), Some(sc)) = (c.numeric_precision, c.numeric_scale) {
            s.push_str(&format!(" p={p},{sc}"));
        }
        if c.unsigned {
            s.push_str(" unsigned");
        }
        if let Some(coll) = &c.collation {
            s.push_str(&format!(" collate {coll}"));
        }
        s
    }

    #[tokio::test]
    #[ignore = "needs a MySQL or MariaDB server: DBTWIN_TEST_MYSQL_URL"]
    async fn reads_a_rich_schema_alike_on_every_server() {
        let url = std::env::var("DBTWIN_TEST_MYSQL_URL").expect("DBTWIN_TEST_MYSQL_URL");
        let opts = mysql_async::Opts::from_url(&url).expect("a mysql:// URL");
        let mut conn = Conn::new(opts).await.expect("connect");
        let version: String = conn.query_first("SELECT VERSION()").await.unwrap().unwrap();
        let mariadb = version.contains("MariaDB");
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let db = format!("dbtwin_cat_{:x}", (nanos as u64) ^ u64::from(std::process::id()));
        conn.query_drop(format!("CREATE DATABASE `{db}`")).await.unwrap();
        conn.query_drop(format!("USE `{db}`")).await.unwrap();
        let mut statements: Vec<String> = SCHEMA.iter().map(|s| s.to_string()).collect();
        if mariadb {
            statements.push(
                "CREATE SEQUENCE seq_a START WITH 100 INCREMENT BY 5 MINVALUE 10 MAXVALUE 100000 \
                 CYCLE"
                    .into(),
            );
        } else {
            statements
                .push("CREATE INDEX customers_email_lower ON customers ((lower(email)))".into());
        }
        let mut outcome = Ok(());
        for s in &statements {
            if let Err(e) = conn.query_drop(s).await {
                outcome = Err(format!("{s}: {e}"));
                break;
            }
        }
        let first = read_catalog(&mut conn, &db).await;
        let second = read_catalog(&mut conn, &db).await;
        conn.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
        let _ = conn.disconnect().await;
        outcome.unwrap();
        let catalog = first.unwrap();
        let second = second.unwrap();
        println!("{}", serde_json::to_string_pretty(&catalog).unwrap());
        println!("fingerprint {}", catalog.fingerprint());
        assert_eq!(catalog.fingerprint(), second.fingerprint());
        assert_eq!(catalog, second);

        assert!(!catalog.server_version.is_empty());
        assert_eq!(catalog.server_version.ends_with("-MariaDB"), mariadb);
        assert_eq!(catalog.encoding.as_deref(), Some("utf8mb4"));
        assert!(catalog.extensions.is_empty() && catalog.enums.is_empty());
        let names: Vec<&str> = catalog.tables.keys().map(String::as_str).collect();
        assert_eq!(names, ["customers", "order_lines", "orders"]);

        let customers = &catalog.tables["customers"];
        let columns: Vec<String> = customers.columns.iter().map(describe).collect();
        assert_eq!(
            columns,
            [
                "id bigint unsigned (bigint) [auto_increment] unsigned",
                "email varchar(120) (varchar) len=120",
                "name varchar(80) (varchar) null len=80 collate utf8mb4_bin",
                "country char(2) (char) default 'US' len=2",
                "active tinyint(1) (tinyint) default 1",
                "score int (int) default 0",
                "small smallint (smallint) null default -3",
                "ratio double (double) null default 1.5",
                "parent_id bigint unsigned (bigint) null unsigned",
                "bio text (text) null",
                "joined date (date) null default '2020-01-01'",
                "mask bit(3) (bit) null default b'101'",
                "token varchar(36) (varchar) null default uuid() len=36",
                "quip varchar(10) (varchar) null default 'it''s' len=10",
                "path varchar(10) (varchar) null default 'a\\\\b' len=10",
                "word varchar(10) (varchar) null default 'NULL' len=10",
                "blank varchar(5) (varchar) default '' len=5",
            ]
        );
        let orders = &catalog.tables["orders"];
        let columns: Vec<String> = orders.columns.iter().map(describe).collect();
        assert_eq!(
            columns,
            [
                "region smallint unsigned (smallint) unsigned",
                "order_no int (int)",
                "customer_id bigint unsigned (bigint) unsigned",
                "status enum('pending','paid','it''s') (enum) default 'pending'",
                "flags set('a','b','c') (set) null default 'a,b'",
                "total decimal(10,2) (decimal) default 0.00 p=10,2",
                "qty int unsigned (int) default 1 unsigned",
                "meta json (json) null",
                "created_at datetime (datetime) default current_timestamp()",
                "updated_at timestamp (timestamp) null default current_timestamp() \
                 [on update current_timestamp()]",
                "touched datetime(3) (datetime) null default current_timestamp(3) \
                 [on update current_timestamp(3)]",
                "total_with_tax decimal(12,2) (decimal) null [stored: `total` * 1.2] p=12,2",
                "status_label varchar(40) (varchar) null [virtual: concat('s:',`status`)] len=40",
                "yr year (year) null default 2020",
                "zf int(5) unsigned zerofill (int) null unsigned",
            ]
        );

        let key = |name: &str, columns: &[&str]| Key {
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
        };
        assert_eq!(customers.primary_key, Some(key("PRIMARY", &["id"])));
        assert_eq!(orders.primary_key, Some(key("PRIMARY", &["region", "order_no"])));
        assert_eq!(customers.uniques, [key("customers_email_key", &["email"])]);
        let lines = &catalog.tables["order_lines"];
        assert_eq!(lines.uniques, [key("order_lines_sku_key", &["region", "order_no", "sku"])]);
        assert_eq!(lines.primary_key, Some(key("PRIMARY", &["region", "order_no", "line_no"])));
        assert!(lines.indexes.is_empty(), "{:?}", lines.indexes);

        let check = |name: &str, expression: &str| Check {
            name: name.into(),
            expression: expression.into(),
        };
        assert_eq!(
            customers.checks,
            [check("customers_score_check", "`score` >= 0 and `score` < 1000")]
        );
        assert_eq!(orders.checks, [check("orders_total_check", "`total` >= 0")]);

        let fk = |name: &str, cols: &[&str], table: &str, refs: &[&str], del: &str, upd: &str| {
            ForeignKey {
                name: name.into(),
                columns: cols.iter().map(|c| c.to_string()).collect(),
                ref_table: table.into(),
                ref_columns: refs.iter().map(|c| c.to_string()).collect(),
                on_delete: del.into(),
                on_update: upd.into(),
                deferrable: false,
            }
        };
        assert_eq!(
            customers.foreign_keys,
            [fk(
                "customers_parent_fk",
                &["parent_id"],
                "customers",
                &["id"],
                "set null",
                "restrict"
            )]
        );
        assert_eq!(
            orders.foreign_keys,
            [fk(
                "orders_customer_fk",
                &["customer_id"],
                "customers",
                &["id"],
                "cascade",
                "restrict"
            )]
        );
        assert_eq!(
            lines.foreign_keys,
            [fk(
                "order_lines_order_fk",
                &["region", "order_no"],
                "orders",
                &["region", "order_no"],
                "cascade",
                "cascade"
            )]
        );

        let index = |name: &str, columns: &[&str], method: &str| Index {
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            unique: false,
            method: method.into(),
            predicate: None,
        };
        let mut expected = vec![
            index("customers_bio_ft", &["bio"], "fulltext"),
            index("customers_name_prefix", &["name(10)"], "btree"),
            index("customers_parent_fk", &["parent_id"], "btree"),
        ];
        if !mariadb {
            expected.insert(1, index("customers_email_lower", &["(lower(`email`))"], "btree"));
        }
        assert_eq!(customers.indexes, expected);
        assert_eq!(
            orders.indexes,
            [
                index("orders_created_idx", &["created_at desc", "status"], "btree"),
                index("orders_customer_fk", &["customer_id"], "btree"),
            ]
        );

        let views: Vec<&str> = catalog.views.keys().map(String::as_str).collect();
        assert_eq!(views, ["paid_orders"]);
        let view = &catalog.views["paid_orders"].definition;
        assert!(!view.contains(&db), "{view}");
        assert!(view.contains("from (`orders` `o` join `customers` `c` on("), "{view}");

        if mariadb {
            let expected = Sequence {
                data_type: "bigint".into(),
                start: 100,
                increment: 5,
                min: 10,
                max: 100000,
                cycle: true,
                owned_by: None,
            };
            assert_eq!(catalog.sequences.get("seq_a"), Some(&expected));
        } else {
            assert!(catalog.sequences.is_empty());
        }
    }
}
