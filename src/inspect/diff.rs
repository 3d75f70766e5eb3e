//! The pure part of `dbtwin diff A B`: compares two [`Catalog`]s on what an application depends on
//! (server version, encoding and collation, extensions, tables with their columns, keys, checks,
//! foreign keys and indexes, views, sequences, enums and domains) and renders the differences.
//! Reading the catalogs, matching databases across environments and printing belong to others.
//!
//! Objects are matched by name, the way an application refers to them. A table present on one side
//! only is one difference, not one per column. Constraints and indexes are matched by name first;
//! those left over are then matched by definition, so a foreign key called `orders_ibfk_1` on one
//! side and `fk_orders_user` on the other is reported as a rename, not as one removed and one added.
//! What an application cannot see is never compared: column order (applications name their
//! columns), row estimates, and a server version's build suffix.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::schema::{
    Catalog, Check, Column, Domain, ForeignKey, Index, Key, Sequence, Table, View,
    collapse_whitespace,
};

/// One way in which the two catalogs differ. Serialised as is, it is the JSON form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What kind of object: "server", "extension", "database", "table", "column", "primary key",
    /// "unique", "check", "foreign key", "index", "view", "sequence", "enum", "domain".
    pub object: &'static str,
    /// Path of the object: "users", "users.email", "users.users_email_key", "pgcrypto",
    /// "server version". Objects that belong to a table are `table.name`, named as in A when the
    /// two sides name them differently.
    pub path: String,
    pub change: Change,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// The object exists in A only; `a` describes it in one line.
    OnlyInA { a: String },
    /// The object exists in B only; `b` describes it in one line.
    OnlyInB { b: String },
    /// The object exists on both sides and one of its fields differs (`type`: `text` in A,
    /// `character varying(80)` in B). An absent value reads `(none)`.
    Changed { field: String, a: String, b: String },
}

/// How an absent optional value (a default, a collation, a predicate) reads in a [`Change`].
const ABSENT: &str = "(none)";

/// Compares two catalogs, A then B. The order is fixed: server version, database encoding and
/// collation, extensions; then each table by name (its own presence, its columns in A's order then
/// those only in B, primary key, uniques, checks, foreign keys, indexes); then views, sequences,
/// enums and domains, each by name.
///
/// Column order is deliberately not a difference: applications select and insert by column name,
/// so two tables with the same columns in another order behave the same. Row estimates are never
/// compared.
pub fn diff(a: &Catalog, b: &Catalog) -> Vec<Difference> {
    let mut out = Differences::default();
    if !same_release(&a.server_version, &b.server_version) {
        out.changed(
            "server",
            "server version".into(),
            "version",
            a.server_version.trim().into(),
            b.server_version.trim().into(),
        );
    }
    for (field, va, vb) in
        [("encoding", &a.encoding, &b.encoding), ("collation", &a.collation, &b.collation)]
    {
        if va != vb {
            out.changed("database", "database".into(), field, optional(va), optional(vb));
        }
    }
    out.keyed("extension", &a.extensions, &b.extensions);
    for name in union(&a.tables, &b.tables) {
        match (a.tables.get(name), b.tables.get(name)) {
            (Some(ta), Some(tb)) => out.table(name, ta, tb),
            (Some(ta), None) => out.only_in_a("table", name.clone(), describe_table(ta)),
            (None, Some(tb)) => out.only_in_b("table", name.clone(), describe_table(tb)),
            (None, None) => {}
        }
    }
    out.keyed("view", &a.views, &b.views);
    out.keyed("sequence", &a.sequences, &b.sequences);
    out.keyed("enum", &a.enums, &b.enums);
    out.keyed("domain", &a.domains, &b.domains);
    out.0
}

/// Renders differences for a terminal: the two labels on top (`--- a: …`, `+++ b: …`), then one
/// line per difference, `-` for only in A, `+` for only in B, `~` for changed (`a → b`). A table's
/// differences sit indented under a `table NAME` heading; a table on one side only is a single line
/// of its own. `color` paints the lines red, green and yellow. No differences render as "".
pub fn render_text(diffs: &[Difference], label_a: &str, label_b: &str, color: bool) -> String {
    if diffs.is_empty() {
        return String::new();
    }
    let paint = |code: &str, line: String| {
        if color { format!("\x1b[{code}m{line}\x1b[0m") } else { line }
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint(RED, format!("--- a: {label_a}")));
    let _ = writeln!(out, "{}", paint(GREEN, format!("+++ b: {label_b}")));
    let mut heading: Option<&str> = None;
    for d in diffs {
        let (table, name) = split_table(d);
        if let Some(table_name) = table
            && table != heading
        {
            let _ = writeln!(out, "table {table_name}");
        }
        heading = table;
        let indent = if table.is_some() { "  " } else { "" };
        // The server version and the database settings have no name of their own.
        let label = if matches!(d.object, "server" | "database") {
            d.object.to_string()
        } else {
            format!("{} {name}", d.object)
        };
        let (code, line) = match &d.change {
            Change::OnlyInA { a } => (RED, format!("- {label}: {a}")),
            Change::OnlyInB { b } => (GREEN, format!("+ {label}: {b}")),
            Change::Changed { field, a, b } => (YELLOW, format!("~ {label} {field}: {a} → {b}")),
        };
        let _ = writeln!(out, "{indent}{}", paint(code, line));
    }
    out
}

const RED: &str = "31";
const GREEN: &str = "32";
const YELLOW: &str = "33";

/// The table a difference belongs to, and the object's own name. Objects inside a table have the
/// path `table.name`; table names may hold a schema (`audit.events`), object names hold no dot.
fn split_table(d: &Difference) -> (Option<&str>, &str) {
    let in_table =
        matches!(d.object, "column" | "primary key" | "unique" | "check" | "foreign key" | "index");
    match d.path.rsplit_once('.') {
        Some((table, name)) if in_table => (Some(table), name),
        _ => (None, &d.path),
    }
}

/// True when two server version strings name the same release: their leading numbers are compared
/// (`17.6 (Debian 17.6-1.pgdg120+1)` is `17.6`, `11.8.3-MariaDB-log` is `11.8.3`, `17` is `17.0`),
/// so a build suffix is never a difference but any numbered part is, since PROD parity pins exact
/// releases. Strings without a leading number compare whole.
fn same_release(a: &str, b: &str) -> bool {
    match (release(a), release(b)) {
        (Some(ra), Some(rb)) => ra == rb,
        _ => a.trim() == b.trim(),
    }
}

fn release(version: &str) -> Option<Vec<u64>> {
    let version = version.trim();
    let end = version.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(version.len());
    let mut numbers: Vec<u64> =
        version[..end].split('.').map_while(|part| part.parse().ok()).collect();
    while numbers.len() > 1 && numbers.last() == Some(&0) {
        numbers.pop();
    }
    (!numbers.is_empty()).then_some(numbers)
}

fn union<'m, T>(a: &'m BTreeMap<String, T>, b: &'m BTreeMap<String, T>) -> BTreeSet<&'m String> {
    a.keys().chain(b.keys()).collect()
}

fn optional(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| ABSENT.into())
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

fn flag(value: bool) -> String {
    value.to_string()
}

fn describe_table(table: &Table) -> String {
    let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    let noun = if names.len() == 1 { "column" } else { "columns" };
    format!("{} {noun}: {}", names.len(), list(&names))
}

/// The differences found so far, in report order.
#[derive(Default)]
struct Differences(Vec<Difference>);

impl Differences {
    fn only_in_a(&mut self, object: &'static str, path: String, a: String) {
        let change = Change::OnlyInA { a };
        self.0.push(Difference { object, path, change });
    }

    fn only_in_b(&mut self, object: &'static str, path: String, b: String) {
        let change = Change::OnlyInB { b };
        self.0.push(Difference { object, path, change });
    }

    fn changed(&mut self, object: &'static str, path: String, field: &str, a: String, b: String) {
        let change = Change::Changed { field: field.into(), a, b };
        self.0.push(Difference { object, path, change });
    }

    /// One [`Change::Changed`] per field that differs between two versions of one object.
    fn fields<T: Compared>(&mut self, object: &'static str, path: &str, a: &T, b: &T) {
        for ((field, va), (_, vb)) in a.fields().into_iter().zip(b.fields()) {
            if va != vb {
                self.changed(object, path.into(), field, va, vb);
            }
        }
    }

    /// Objects keyed by name in the catalog (extensions, views, sequences, enums, domains).
    fn keyed<T: Compared>(
        &mut self,
        object: &'static str,
        a: &BTreeMap<String, T>,
        b: &BTreeMap<String, T>,
    ) {
        for name in union(a, b) {
            match (a.get(name), b.get(name)) {
                (Some(va), Some(vb)) => self.fields(object, name, va, vb),
                (Some(va), None) => self.only_in_a(object, name.clone(), va.describe()),
                (None, Some(vb)) => self.only_in_b(object, name.clone(), vb.describe()),
                (None, None) => {}
            }
        }
    }

    /// A table present on both sides.
    fn table(&mut self, table: &str, a: &Table, b: &Table) {
        for ca in &a.columns {
            let path = format!("{table}.{}", ca.name);
            match b.column(&ca.name) {
                Some(cb) => self.fields("column", &path, ca, cb),
                None => self.only_in_a("column", path, ca.describe()),
            }
        }
        for cb in b.columns.iter().filter(|c| a.column(&c.name).is_none()) {
            self.only_in_b("column", format!("{table}.{}", cb.name), cb.describe());
        }
        // A table has one primary key: whatever its names, the two sides' keys are the same
        // object, compared field by field.
        match (&a.primary_key, &b.primary_key) {
            (Some(ka), Some(kb)) => {
                let path = format!("{table}.{}", ka.name);
                if ka.name != kb.name {
                    self.changed(
                        "primary key",
                        path.clone(),
                        "name",
                        ka.name.clone(),
                        kb.name.clone(),
                    );
                }
                self.fields("primary key", &path, ka, kb);
            }
            (Some(ka), None) => {
                self.only_in_a("primary key", format!("{table}.{}", ka.name), ka.describe())
            }
            (None, Some(kb)) => {
                self.only_in_b("primary key", format!("{table}.{}", kb.name), kb.describe())
            }
            (None, None) => {}
        }
        self.named("unique", table, &a.uniques, &b.uniques);
        self.named("check", table, &a.checks, &b.checks);
        self.named("foreign key", table, &a.foreign_keys, &b.foreign_keys);
        self.named("index", table, &a.indexes, &b.indexes);
    }

    /// Constraints or indexes of one table. Matched by name first; the leftovers are then matched
    /// by definition (every compared field equal), which reports a renamed object as a `name`
    /// change; what is still unmatched is only in A or only in B. Reported in A's order, then
    /// those only in B in B's order.
    fn named<T: Named>(&mut self, object: &'static str, table: &str, a: &[T], b: &[T]) {
        #[derive(Clone, Copy)]
        enum Match {
            Name(usize),
            Definition(usize),
            None,
        }
        let mut taken = vec![false; b.len()];
        let mut matches = vec![Match::None; a.len()];
        for (i, x) in a.iter().enumerate() {
            if let Some(j) = (0..b.len()).find(|&j| !taken[j] && b[j].name() == x.name()) {
                taken[j] = true;
                matches[i] = Match::Name(j);
            }
        }
        for (i, x) in a.iter().enumerate() {
            if !matches!(matches[i], Match::None) {
                continue;
            }
            let fields = x.fields();
            if let Some(j) = (0..b.len()).find(|&j| !taken[j] && b[j].fields() == fields) {
                taken[j] = true;
                matches[i] = Match::Definition(j);
            }
        }
        for (x, m) in a.iter().zip(matches) {
            let path = format!("{table}.{}", x.name());
            match m {
                Match::Name(j) => self.fields(object, &path, x, &b[j]),
                Match::Definition(j) => {
                    self.changed(object, path, "name", x.name().into(), b[j].name().into())
                }
                Match::None => self.only_in_a(object, path, x.describe()),
            }
        }
        for (y, _) in b.iter().zip(taken).filter(|(_, taken)| !taken) {
            self.only_in_b(object, format!("{table}.{}", y.name()), y.describe());
        }
    }
}

/// An object compared field by field.
trait Compared {
    /// The compared fields in report order, each as (field name, value). Values are normalised
    /// for comparison: expressions and view definitions whitespace-collapsed, absent values
    /// [`ABSENT`].
    fn fields(&self) -> Vec<(&'static str, String)>;
    /// The object in one line, for when it is on one side only.
    fn describe(&self) -> String;
}

/// A constraint or index: named, but matched by definition when the names disagree.
trait Named: Compared {
    fn name(&self) -> &str;
}

impl Compared for Column {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("type", self.data_type.clone()),
            ("nullable", flag(self.nullable)),
            ("default", optional(&self.default)),
            (
                "generated",
                self.generated.as_deref().map_or_else(|| ABSENT.into(), collapse_whitespace),
            ),
            ("collation", optional(&self.collation)),
        ]
    }

    fn describe(&self) -> String {
        let mut text = self.data_type.clone();
        if !self.nullable {
            text.push_str(" not null");
        }
        if let Some(default) = &self.default {
            let _ = write!(text, " default {default}");
        }
        if let Some(generated) = &self.generated {
            let _ = write!(text, " generated {}", collapse_whitespace(generated));
        }
        if let Some(collation) = &self.collation {
            let _ = write!(text, " collate {collation}");
        }
        text
    }
}

impl Compared for Key {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("columns", list(&self.columns))]
    }

    fn describe(&self) -> String {
        format!("({})", list(&self.columns))
    }
}

impl Named for Key {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Compared for Check {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("expression", collapse_whitespace(&self.expression))]
    }

    fn describe(&self) -> String {
        collapse_whitespace(&self.expression)
    }
}

impl Named for Check {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Compared for ForeignKey {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("columns", list(&self.columns)),
            ("references", format!("{}({})", self.ref_table, list(&self.ref_columns))),
            ("on delete", self.on_delete.clone()),
            ("on update", self.on_update.clone()),
            ("deferrable", flag(self.deferrable)),
        ]
    }

    fn describe(&self) -> String {
        let mut text = format!(
            "({}) references {}({}) on delete {} on update {}",
            list(&self.columns),
            self.ref_table,
            list(&self.ref_columns),
            self.on_delete,
            self.on_update
        );
        if self.deferrable {
            text.push_str(" deferrable");
        }
        text
    }
}

impl Named for ForeignKey {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Compared for Index {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let columns: Vec<String> = self.columns.iter().map(|c| collapse_whitespace(c)).collect();
        vec![
            ("columns", list(&columns)),
            ("unique", flag(self.unique)),
            ("method", self.method.clone()),
            (
                "predicate",
                self.predicate.as_deref().map_or_else(|| ABSENT.into(), collapse_whitespace),
            ),
        ]
    }

    fn describe(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| collapse_whitespace(c)).collect();
        let unique = if self.unique { "unique " } else { "" };
        let mut text = format!("{unique}{} ({})", self.method, list(&columns));
        if let Some(predicate) = &self.predicate {
            let _ = write!(text, " where {}", collapse_whitespace(predicate));
        }
        text
    }
}

impl Named for Index {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Compared for View {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("definition", collapse_whitespace(&self.definition)),
            ("materialized", flag(self.materialized)),
        ]
    }

    fn describe(&self) -> String {
        let kind = if self.materialized { "materialized " } else { "" };
        format!("{kind}{}", collapse_whitespace(&self.definition))
    }
}

impl Compared for Sequence {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("type", self.data_type.clone()),
            ("start", self.start.to_string()),
            ("increment", self.increment.to_string()),
            ("min", self.min.to_string()),
            ("max", self.max.to_string()),
            ("cycle", flag(self.cycle)),
            ("owned by", optional(&self.owned_by)),
        ]
    }

    fn describe(&self) -> String {
        let mut text = format!(
            "{} start {} increment {} min {} max {}",
            self.data_type, self.start, self.increment, self.min, self.max
        );
        if self.cycle {
            text.push_str(" cycle");
        }
        if let Some(owner) = &self.owned_by {
            let _ = write!(text, " owned by {owner}");
        }
        text
    }
}

/// An enum's labels, in their declared order (the order `<` and `ORDER BY` follow).
impl Compared for Vec<String> {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("labels", list(self))]
    }

    fn describe(&self) -> String {
        list(self)
    }
}

/// An extension's version.
impl Compared for String {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("version", self.clone())]
    }

    fn describe(&self) -> String {
        format!("version {self}")
    }
}

impl Compared for Domain {
    /// The checks are one field, each `name: expression`, in the catalog's order (by name).
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("type", self.data_type.clone()),
            ("nullable", flag(self.nullable)),
            ("default", optional(&self.default)),
            ("checks", domain_checks(&self.checks).unwrap_or_else(|| ABSENT.into())),
        ]
    }

    fn describe(&self) -> String {
        let mut text = self.data_type.clone();
        if !self.nullable {
            text.push_str(" not null");
        }
        if let Some(default) = &self.default {
            let _ = write!(text, " default {default}");
        }
        if let Some(checks) = domain_checks(&self.checks) {
            let _ = write!(text, " check {checks}");
        }
        text
    }
}

fn domain_checks(checks: &[Check]) -> Option<String> {
    let parts: Vec<String> = checks
        .iter()
        .map(|c| format!("{}: {}", c.name, collapse_whitespace(&c.expression)))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, ty: &str, nullable: bool) -> Column {
        Column { nullable, ..Column::new(name, ty) }
    }

    fn key(name: &str, columns: &[&str]) -> Key {
        Key { name: name.into(), columns: columns.iter().map(|c| c.to_string()).collect() }
    }

    fn check(name: &str, expression: &str) -> Check {
        Check { name: name.into(), expression: expression.into() }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A small PostgreSQL schema with one of everything.
    fn catalog() -> Catalog {
        let mut c = Catalog {
            server_version: "17.6".into(),
            encoding: Some("UTF8".into()),
            collation: Some("en_US.utf8".into()),
            ..Catalog::default()
        };
        c.extensions.insert("pgcrypto".into(), "1.3".into());
        let mut id = column("id", "bigint", false);
        id.generated = Some("identity always".into());
        c.tables.insert(
            "users".into(),
            Table {
                columns: vec![
                    id.clone(),
                    column("email", "text", false),
                    column("name", "text", true),
                ],
                primary_key: Some(key("users_pkey", &["id"])),
                uniques: vec![key("users_email_key", &["email"])],
                checks: vec![check("users_email_check", "email ~ '@'")],
                indexes: vec![Index {
                    name: "users_name_idx".into(),
                    columns: strings(&["name"]),
                    unique: false,
                    method: "btree".into(),
                    predicate: None,
                }],
                approx_rows: Some(10),
                ..Table::default()
            },
        );
        c.tables.insert(
            "orders".into(),
            Table {
                columns: vec![
                    id,
                    column("user_id", "bigint", false),
                    column("amount", "numeric(10,2)", false),
                ],
                primary_key: Some(key("orders_pkey", &["id"])),
                checks: vec![check("orders_amount_check", "amount > 0")],
                foreign_keys: vec![ForeignKey {
                    name: "orders_user_id_fkey".into(),
                    columns: strings(&["user_id"]),
                    ref_table: "users".into(),
                    ref_columns: strings(&["id"]),
                    on_delete: "cascade".into(),
                    on_update: "no action".into(),
                    deferrable: false,
                }],
                approx_rows: Some(100),
                ..Table::default()
            },
        );
        c.views.insert(
            "active_users".into(),
            View {
                definition: "SELECT id, email FROM users WHERE name IS NOT NULL".into(),
                materialized: false,
            },
        );
        c.sequences.insert(
            "invoice_no".into(),
            Sequence {
                data_type: "bigint".into(),
                start: 1,
                increment: 1,
                min: 1,
                max: i64::MAX,
                cycle: false,
                owned_by: None,
            },
        );
        c.enums.insert("mood".into(), strings(&["sad", "ok"]));
        c.domains.insert(
            "email_address".into(),
            Domain {
                data_type: "text".into(),
                nullable: true,
                default: None,
                checks: vec![check("email_address_check", "VALUE ~ '@'")],
            },
        );
        c
    }

    fn table<'c>(c: &'c mut Catalog, name: &str) -> &'c mut Table {
        c.tables.get_mut(name).unwrap()
    }

    fn only_a(object: &'static str, path: &str, a: &str) -> Difference {
        Difference { object, path: path.into(), change: Change::OnlyInA { a: a.into() } }
    }

    fn only_b(object: &'static str, path: &str, b: &str) -> Difference {
        Difference { object, path: path.into(), change: Change::OnlyInB { b: b.into() } }
    }

    fn changed(object: &'static str, path: &str, field: &str, a: &str, b: &str) -> Difference {
        let change = Change::Changed { field: field.into(), a: a.into(), b: b.into() };
        Difference { object, path: path.into(), change }
    }

    type Edit = fn(&mut Catalog);

    fn none(_: &mut Catalog) {}

    fn audit_log(c: &mut Catalog) {
        c.tables.insert(
            "audit.log".into(),
            Table {
                columns: vec![column("id", "bigint", false), column("message", "text", true)],
                ..Table::default()
            },
        );
    }

    #[test]
    fn each_kind_of_difference() {
        #[rustfmt::skip]
        let cases: Vec<(&str, Edit, Edit, Vec<Difference>)> = vec![
            ("table only in A", audit_log, none,
             vec![only_a("table", "audit.log", "2 columns: id, message")]),
            ("table only in B", none, audit_log,
             vec![only_b("table", "audit.log", "2 columns: id, message")]),
            ("column added", none, |c| {
                let mut phone = column("phone", "text", false);
                phone.default = Some("''::text".into());
                table(c, "users").columns.push(phone);
             },
             vec![only_b("column", "users.phone", "text not null default ''::text")]),
            ("column type", none, |c| table(c, "users").columns[1].data_type = "character varying(80)".into(),
             vec![changed("column", "users.email", "type", "text", "character varying(80)")]),
            ("nullability", none, |c| table(c, "users").columns[2].nullable = false,
             vec![changed("column", "users.name", "nullable", "true", "false")]),
            ("default", none, |c| table(c, "users").columns[2].default = Some("'anonymous'::text".into()),
             vec![changed("column", "users.name", "default", "(none)", "'anonymous'::text")]),
            ("generated", none, |c| table(c, "orders").columns[0].generated = Some("identity by default".into()),
             vec![changed("column", "orders.id", "generated", "identity always", "identity by default")]),
            ("collation", |c| table(c, "users").columns[1].collation = Some("C".into()), none,
             vec![changed("column", "users.email", "collation", "C", "(none)")]),
            ("primary key columns", none, |c| {
                table(c, "orders").primary_key = Some(key("orders_pkey", &["id", "user_id"]));
             },
             vec![changed("primary key", "orders.orders_pkey", "columns", "id", "id, user_id")]),
            ("primary key only in A", none, |c| table(c, "orders").primary_key = None,
             vec![only_a("primary key", "orders.orders_pkey", "(id)")]),
            ("unique added", none, |c| table(c, "users").uniques.push(key("users_name_key", &["name"])),
             vec![only_b("unique", "users.users_name_key", "(name)")]),
            ("check changed", none, |c| table(c, "orders").checks[0].expression = "amount >= 0".into(),
             vec![changed("check", "orders.orders_amount_check", "expression", "amount > 0", "amount >= 0")]),
            ("foreign key action", none, |c| table(c, "orders").foreign_keys[0].on_delete = "restrict".into(),
             vec![changed("foreign key", "orders.orders_user_id_fkey", "on delete", "cascade", "restrict")]),
            ("foreign key renamed only", |c| table(c, "orders").foreign_keys[0].name = "orders_ibfk_1".into(),
             |c| table(c, "orders").foreign_keys[0].name = "fk_orders_user".into(),
             vec![changed("foreign key", "orders.orders_ibfk_1", "name", "orders_ibfk_1", "fk_orders_user")]),
            ("foreign key renamed and changed is removed and added", none, |c| {
                let fk = &mut table(c, "orders").foreign_keys[0];
                fk.name = "fk_orders_user".into();
                fk.on_delete = "restrict".into();
             },
             vec![
                only_a("foreign key", "orders.orders_user_id_fkey",
                       "(user_id) references users(id) on delete cascade on update no action"),
                only_b("foreign key", "orders.fk_orders_user",
                       "(user_id) references users(id) on delete restrict on update no action"),
             ]),
            ("index method", none, |c| table(c, "users").indexes[0].method = "hash".into(),
             vec![changed("index", "users.users_name_idx", "method", "btree", "hash")]),
            ("index columns", none, |c| table(c, "users").indexes[0].columns.push("email".into()),
             vec![changed("index", "users.users_name_idx", "columns", "name", "name, email")]),
            ("index predicate", none, |c| table(c, "users").indexes[0].predicate = Some("name IS NOT NULL".into()),
             vec![changed("index", "users.users_name_idx", "predicate", "(none)", "name IS NOT NULL")]),
            ("view definition", none, |c| {
                c.views.get_mut("active_users").unwrap().definition = "SELECT id FROM users".into();
             },
             vec![changed("view", "active_users", "definition",
                           "SELECT id, email FROM users WHERE name IS NOT NULL", "SELECT id FROM users")]),
            ("view whitespace only is no difference", none, |c| {
                c.views.get_mut("active_users").unwrap().definition =
                    " SELECT id,\n       email\n  FROM users\n WHERE name IS NOT NULL".into();
             },
             vec![]),
            ("sequence increment", none, |c| c.sequences.get_mut("invoice_no").unwrap().increment = 10,
             vec![changed("sequence", "invoice_no", "increment", "1", "10")]),
            ("enum label added", none, |c| c.enums.get_mut("mood").unwrap().push("happy".into()),
             vec![changed("enum", "mood", "labels", "sad, ok", "sad, ok, happy")]),
            ("domain check", none, |c| {
                c.domains.get_mut("email_address").unwrap().checks[0].expression = "VALUE ~ '^.+@.+$'".into();
             },
             vec![changed("domain", "email_address", "checks",
                           "email_address_check: VALUE ~ '@'", "email_address_check: VALUE ~ '^.+@.+$'")]),
            ("extension missing in B", none, |c| c.extensions.clear(),
             vec![only_a("extension", "pgcrypto", "version 1.3")]),
            ("extension version", none, |c| { c.extensions.insert("pgcrypto".into(), "1.4".into()); },
             vec![changed("extension", "pgcrypto", "version", "1.3", "1.4")]),
            ("server major version", none, |c| c.server_version = "16.4".into(),
             vec![changed("server", "server version", "version", "17.6", "16.4")]),
            ("server minor version", none, |c| c.server_version = "17.7".into(),
             vec![changed("server", "server version", "version", "17.6", "17.7")]),
            ("server build suffix is no difference", none, |c| c.server_version = "17.6 (Debian 17.6-1.pgdg120+1)".into(),
             vec![]),
            ("mariadb build suffix is no difference", |c| c.server_version = "11.8.3-MariaDB".into(),
             |c| c.server_version = "11.8.3-MariaDB-ubu2404-log".into(),
             vec![]),
            ("encoding and collation", none, |c| {
                c.encoding = Some("LATIN1".into());
                c.collation = None;
             },
             vec![
                changed("database", "database", "encoding", "UTF8", "LATIN1"),
                changed("database", "database", "collation", "en_US.utf8", "(none)"),
             ]),
            ("column order is no difference", none, |c| table(c, "users").columns.reverse(),
             vec![]),
            ("row estimates are no difference", none, |c| table(c, "users").approx_rows = Some(1_000_000),
             vec![]),
        ];
        for (name, edit_a, edit_b, expected) in cases {
            let (mut a, mut b) = (catalog(), catalog());
            edit_a(&mut a);
            edit_b(&mut b);
            assert_eq!(diff(&a, &b), expected, "{name}");
        }
    }

    #[test]
    fn identical_catalogs_have_no_differences() {
        assert_eq!(diff(&catalog(), &catalog()), vec![]);
        assert_eq!(diff(&Catalog::default(), &Catalog::default()), vec![]);
    }

    #[test]
    fn a_renamed_index_among_others_is_matched_by_definition() {
        let a = catalog();
        let mut b = catalog();
        let indexes = &mut table(&mut b, "users").indexes;
        indexes[0].name = "idx_users_name".into();
        indexes.push(Index {
            name: "users_email_idx".into(),
            columns: strings(&["lower(email)"]),
            unique: true,
            method: "btree".into(),
            predicate: None,
        });
        assert_eq!(
            diff(&a, &b),
            vec![
                changed(
                    "index",
                    "users.users_name_idx",
                    "name",
                    "users_name_idx",
                    "idx_users_name"
                ),
                only_b("index", "users.users_email_idx", "unique btree (lower(email))"),
            ]
        );
    }

    #[test]
    fn differences_come_in_the_documented_order() {
        let mut a = catalog();
        let mut b = catalog();
        audit_log(&mut b);
        a.server_version = "16.4".into();
        b.encoding = Some("LATIN1".into());
        b.extensions.insert("citext".into(), "1.6".into());
        let users = table(&mut b, "users");
        users.indexes[0].method = "hash".into();
        users.checks.clear();
        users.uniques.clear();
        users.primary_key = None;
        users.columns.insert(0, column("tenant", "int", false));
        users.columns[2].data_type = "citext".into();
        table(&mut a, "users").columns.push(column("legacy", "text", true));
        table(&mut b, "orders").foreign_keys[0].on_update = "cascade".into();
        b.views.clear();
        b.sequences.get_mut("invoice_no").unwrap().cycle = true;
        b.enums.insert("color".into(), strings(&["red"]));
        b.domains.clear();
        let order: Vec<(&str, String)> =
            diff(&a, &b).into_iter().map(|d| (d.object, d.path)).collect();
        let expected = [
            ("server", "server version"),
            ("database", "database"),
            ("extension", "citext"),
            ("table", "audit.log"),
            ("foreign key", "orders.orders_user_id_fkey"),
            ("column", "users.email"),
            ("column", "users.legacy"),
            ("column", "users.tenant"),
            ("primary key", "users.users_pkey"),
            ("unique", "users.users_email_key"),
            ("check", "users.users_email_check"),
            ("index", "users.users_name_idx"),
            ("view", "active_users"),
            ("sequence", "invoice_no"),
            ("enum", "color"),
            ("domain", "email_address"),
        ];
        let expected: Vec<(&str, String)> =
            expected.iter().map(|(o, p)| (*o, p.to_string())).collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn json_form() {
        let d = changed("column", "users.email", "type", "text", "citext");
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"object":"column","path":"users.email","change":{"change":"changed","field":"type","a":"text","b":"citext"}}"#
        );
        let d = only_a("table", "legacy", "1 column: id");
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"object":"table","path":"legacy","change":{"change":"only-in-a","a":"1 column: id"}}"#
        );
    }

    fn small_case() -> Vec<Difference> {
        let mut a = catalog();
        let mut b = catalog();
        audit_log(&mut a);
        b.server_version = "16.4".into();
        b.extensions.insert("citext".into(), "1.6".into());
        let users = table(&mut b, "users");
        users.columns[1].data_type = "character varying(80)".into();
        users.columns.push(column("phone", "text", true));
        table(&mut b, "orders").foreign_keys[0].name = "fk_orders_user".into();
        b.enums.get_mut("mood").unwrap().push("happy".into());
        diff(&a, &b)
    }

    #[test]
    fn render_text_groups_by_table() {
        let text = render_text(
            &small_case(),
            "laptop (accounts.main)",
            "postgres://…@stage:5432/accounts",
            false,
        );
        let expected = "\
--- a: laptop (accounts.main)
+++ b: postgres://…@stage:5432/accounts
~ server version: 17.6 → 16.4
+ extension citext: version 1.6
- table audit.log: 2 columns: id, message
table orders
  ~ foreign key orders_user_id_fkey name: orders_user_id_fkey → fk_orders_user
table users
  ~ column email type: text → character varying(80)
  + column phone: text
~ enum mood labels: sad, ok → sad, ok, happy
";
        assert_eq!(text, expected);
    }

    #[test]
    fn render_text_colors_only_when_asked() {
        let diffs = small_case();
        let text = render_text(&diffs, "a", "b", true);
        assert!(text.contains("\x1b[31m--- a: a\x1b[0m\n"));
        assert!(text.contains("\x1b[33m~ server version: 17.6 → 16.4\x1b[0m\n"));
        assert!(text.contains("\x1b[32m+ extension citext: version 1.6\x1b[0m\n"));
        assert!(text.contains("\x1b[31m- table audit.log: 2 columns: id, message\x1b[0m\n"));
        assert!(text.contains("  \x1b[32m+ column phone: text\x1b[0m\n"));
        assert!(!render_text(&diffs, "a", "b", false).contains('\x1b'));
    }

    #[test]
    fn no_differences_render_as_nothing() {
        assert_eq!(render_text(&[], "a", "b", true), "");
    }
}
