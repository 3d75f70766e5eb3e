//! From the migrated schema and the seed file to a plan: which tables get how many rows, and one
//! generator per column.
//!
//! What the seed file names wins; everything else is inferred from the catalog: a column's type,
//! length, nullability, default, its simple checks (ranges, `IN` lists, comparisons between
//! columns, lengths) and its name (`email`, `city`, `created_at`…); every foreign key picks a
//! parent row (one-to-one keys and composite unique keys through a bijection, so they stay
//! unique). A table the seed file does not name and that already has rows after the migrations
//! (reference data) is kept as it is, and foreign keys to it pick among its rows.
//!
//! Everything that cannot be satisfied is reported here, before any row is written: a `ref` to a
//! missing column, `unique` over too small a domain, a check beyond the simple forms on columns
//! the seed file leaves to inference.
#![expect(
    clippy::result_large_err,
    reason = "a plan fails once, with the located error every caller prints"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::check::{self, Literal, Op, Rule};
use super::fakes::FakeKind;
use super::generate::{ColumnGen, Dialect, Gen, Part, Pick, Ref, Shape, TableGen};
use super::rng::key;
use super::seedfile::{ColumnRule, Distribution, Piece, Rows, RuleKind, Scalar, SeedFile};
use crate::profile::{ProfileError, suggest};
use crate::schema::{Catalog, Column, Table};

/// Rows already in a kept table, read for the foreign keys that point at it: (table, columns) →
/// rows of those columns.
pub type Existing = BTreeMap<(String, Vec<String>), Arc<Vec<Vec<Option<String>>>>>;

/// What to load.
#[derive(Debug)]
pub struct Plan {
    /// Every table that gets rows, in dependency order (parents first; a cycle's members in name
    /// order).
    pub tables: Vec<TableGen>,
    /// Tables left as they are: they hold rows the migrations inserted and the seed file does
    /// not name them.
    pub kept: Vec<String>,
    /// Tables that get no rows (`rows: 0`).
    pub empty: Vec<String>,
}

impl Plan {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// The (table, columns) of kept tables that foreign keys of loaded tables point at: the loader
/// reads those rows before planning.
pub fn kept_references(
    catalog: &Catalog,
    file: &SeedFile,
    filled: &BTreeSet<String>,
) -> Vec<(String, Vec<String>)> {
    let kept = |t: &str| filled.contains(t) && !file.tables.contains_key(t);
    let mut out = BTreeSet::new();
    for (name, table) in &catalog.tables {
        if kept(name) {
            continue;
        }
        for fk in &table.foreign_keys {
            if kept(&fk.ref_table) {
                out.insert((fk.ref_table.clone(), fk.ref_columns.clone()));
            }
        }
    }
    out.into_iter().collect()
}

/// Builds the plan. `filled` are the tables that hold rows now; `scale` multiplies row counts.
pub fn plan(
    catalog: &Catalog,
    file: &SeedFile,
    seed: u64,
    scale: f64,
    dialect: Dialect,
    filled: &BTreeSet<String>,
    existing: &Existing,
) -> Result<Plan, Vec<ProfileError>> {
    let mut errors = Vec::new();
    let table_names: Vec<&str> = catalog.tables.keys().map(String::as_str).collect();

    // Names in the seed file must exist.
    for (name, rule) in &file.tables {
        let at = format!("tables.{name}");
        let Some(table) = catalog.tables.get(name) else {
            errors.push(
                file.error(&at, format!("the schema has no table `{name}`"))
                    .with_hint(suggest(name, &table_names)),
            );
            continue;
        };
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        for (column, c) in &rule.columns {
            if !columns.contains(&column.as_str()) {
                errors.push(
                    file.error(&c.key, format!("table `{name}` has no column `{column}`"))
                        .with_hint(suggest(column, &columns)),
                );
            }
            if let Some(rest) = referenced_columns(&c.kind) {
                for other in rest {
                    if !columns.contains(&other.as_str()) {
                        errors.push(
                            file.error(&c.key, format!("table `{name}` has no column `{other}`"))
                                .with_hint(suggest(&other, &columns)),
                        );
                    }
                }
            }
            if let RuleKind::Ref { table: target, column: target_column, .. } = &c.kind {
                match catalog.tables.get(target) {
                    None => errors.push(
                        file.error(
                            &format!("{}.ref", c.key),
                            format!("`ref` names table `{target}`, which the schema lacks"),
                        )
                        .with_hint(suggest(target, &table_names)),
                    ),
                    Some(t) if !t.columns.iter().any(|col| &col.name == target_column) => errors
                        .push(file.error(
                            &format!("{}.ref", c.key),
                            format!("`ref` names column `{target}.{target_column}`, which the schema lacks"),
                        )),
                    Some(_) => {}
                }
            }
        }
        if let Some(Rows::Per { parent, .. }) = &rule.rows
            && !catalog.tables.contains_key(parent)
        {
            errors.push(
                file.error(
                    &format!("{at}.rows_per.{parent}"),
                    format!("`rows_per` names table `{parent}`, which the schema lacks"),
                )
                .with_hint(suggest(parent, &table_names)),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Which tables are kept, empty, loaded; row counts (rows_per after their parent).
    let kept: Vec<String> = catalog
        .tables
        .keys()
        .filter(|t| filled.contains(*t) && !file.tables.contains_key(*t))
        .cloned()
        .collect();
    let scaled = |n: u64| ((n as f64) * scale).round() as u64;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut per: BTreeMap<String, (String, u64, u64)> = BTreeMap::new();
    for name in catalog.tables.keys() {
        if kept.contains(name) {
            continue;
        }
        match file.tables.get(name).and_then(|t| t.rows.clone()) {
            Some(Rows::Count(n)) => {
                counts.insert(name.clone(), scaled(n));
            }
            Some(Rows::Per { parent, min, max }) => {
                per.insert(name.clone(), (parent, min, max));
            }
            None => {
                counts.insert(name.clone(), scaled(file.default_rows));
            }
        }
    }
    // rows_per chains: resolve parents first; a cycle cannot be sized.
    let mut pending: Vec<String> = per.keys().cloned().collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|name| {
            let (parent, min, max) = &per[name];
            let parent_rows = if kept.contains(parent) {
                existing_rows(existing, parent)
            } else {
                match counts.get(parent) {
                    Some(n) => *n,
                    None => return true,
                }
            };
            // An estimate for ordering and messages; TableGen computes the exact count.
            counts.insert(name.clone(), parent_rows * (min + max) / 2);
            false
        });
        if pending.len() == before {
            for name in &pending {
                errors.push(file.error(
                    &format!("tables.{name}.rows_per"),
                    format!(
                        "`rows_per` of `{name}` goes round in a circle: {}",
                        pending.join(", ")
                    ),
                ));
            }
            return Err(errors);
        }
    }
    let empty: Vec<String> =
        counts.iter().filter(|(_, n)| **n == 0).map(|(t, _)| t.clone()).collect();
    let loaded: Vec<String> = dependency_order(
        catalog,
        counts.iter().filter(|(_, n)| **n > 0).map(|(t, _)| t.clone()).collect(),
        &per,
    );
    let index: BTreeMap<&str, usize> =
        loaded.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();

    // Build the tables in order: a rows_per table needs its parent's exact count.
    let mut tables: Vec<TableGen> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    for name in &loaded {
        let table = &catalog.tables[name];
        let context = Context {
            catalog,
            file,
            seed,
            dialect,
            name,
            table,
            index: &index,
            kept: &kept,
            existing,
            tables: &tables,
            owner_parent: per.get(name).map(|(p, _, _)| p.as_str()),
            rows: counts[name],
        };
        match context.table() {
            Ok(columns) => {
                let owner = per.get(name).map(|(parent, min, max)| {
                    let parent_rows = match index.get(parent.as_str()) {
                        Some(&i) => tables[i].rows,
                        None => existing_rows(existing, parent),
                    };
                    (parent_rows, *min, *max)
                });
                tables.push(TableGen::new(seed, name, columns, counts[name], owner));
            }
            Err(mut e) => {
                // A child's "does not generate" about this table would only repeat the cause.
                e.retain(|e| {
                    !failed.iter().any(|f: &String| e.message.contains(&format!("refers to `{f}.")))
                });
                failed.push(name.clone());
                errors.append(&mut e);
                // Keep indices aligned for the tables after it.
                tables.push(TableGen::new(seed, name, Vec::new(), 0, None));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    check_domains(&tables, file, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Plan { tables, kept, empty })
}

fn existing_rows(existing: &Existing, table: &str) -> u64 {
    existing.iter().find(|((t, _), _)| t == table).map_or(0, |(_, rows)| rows.len() as u64)
}

fn referenced_columns(kind: &RuleKind) -> Option<Vec<String>> {
    match kind {
        RuleKind::After { column, .. } => Some(vec![column.clone()]),
        RuleKind::Template(pieces) => Some(
            pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Column(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Parents before children along foreign keys and `rows_per`; cycles broken by name order (the
/// loaders do not depend on the order for correctness: constraints are checked after loading).
fn dependency_order(
    catalog: &Catalog,
    tables: BTreeSet<String>,
    per: &BTreeMap<String, (String, u64, u64)>,
) -> Vec<String> {
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for name in &tables {
        let entry = parents.entry(name.as_str()).or_default();
        for fk in &catalog.tables[name].foreign_keys {
            if fk.ref_table != *name && tables.contains(&fk.ref_table) {
                entry.insert(fk.ref_table.as_str());
            }
        }
    }
    let mut order = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    while done.len() < tables.len() {
        let ready: Vec<&str> = parents
            .iter()
            .filter(|(t, ps)| !done.contains(*t) && ps.iter().all(|p| done.contains(p)))
            .map(|(t, _)| *t)
            .collect();
        let next = if ready.is_empty() {
            // A cycle: take the first table whose rows_per parent (if any) is done.
            parents
                .keys()
                .copied()
                .find(|t| {
                    !done.contains(t)
                        && per.get(*t).is_none_or(|(p, _, _)| done.contains(p.as_str()))
                })
                .into_iter()
                .collect()
        } else {
            ready
        };
        if next.is_empty() {
            break;
        }
        for t in next {
            done.insert(t);
            order.push(t.to_owned());
        }
    }
    order
}

struct Context<'a> {
    catalog: &'a Catalog,
    file: &'a SeedFile,
    seed: u64,
    dialect: Dialect,
    name: &'a str,
    table: &'a Table,
    index: &'a BTreeMap<&'a str, usize>,
    kept: &'a [String],
    existing: &'a Existing,
    tables: &'a [TableGen],
    owner_parent: Option<&'a str>,
    /// The table's row count as planned (scaled; an estimate for `rows_per`).
    rows: u64,
}

impl Context<'_> {
    fn error(&self, message: String) -> ProfileError {
        self.file.error(&format!("tables.{}", self.name), message)
    }

    fn table(&self) -> Result<Vec<ColumnGen>, Vec<ProfileError>> {
        let mut errors = Vec::new();
        let table = self.table;
        // Columns the server computes are left out of the load.
        let columns: Vec<&Column> = table
            .columns
            .iter()
            .filter(|c| {
                !c.generated
                    .as_deref()
                    .is_some_and(|g| g.starts_with("stored") || g.starts_with("virtual"))
            })
            .collect();
        let position = |name: &str| columns.iter().position(|c| c.name == name);
        let rules = self.file.tables.get(self.name);
        let explicit = |column: &str| rules.and_then(|r| r.columns.get(column));

        // Checks: simple ones shape inferred generators; others must only touch named columns.
        let mut check_rules: Vec<Rule> = Vec::new();
        for c in &table.checks {
            match check::parse(&c.expression).or_else(|| null_or(&c.expression)) {
                Some(rules) => check_rules.extend(rules),
                None => {
                    let involved = check::columns(&c.expression);
                    let unnamed: Vec<&String> = involved
                        .iter()
                        .filter(|col| position(col).is_some() && explicit(col).is_none())
                        .collect();
                    if !unnamed.is_empty() {
                        errors.push(
                            self.error(format!(
                                "table `{}`: check `{}` ({}) is beyond what dbtwin infers",
                                self.name, c.name, c.expression
                            ))
                            .with_hint(format!(
                                "give column{} {} a rule in the seed file that satisfies it",
                                if unnamed.len() == 1 { "" } else { "s" },
                                unnamed
                                    .iter()
                                    .map(|c| format!("`{c}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                        );
                    }
                }
            }
        }
        // Domain checks apply to columns of that domain.
        for column in &columns {
            if let Some(domain) = self.catalog.domains.get(&column.base_type) {
                for c in &domain.checks {
                    let expression = c.expression.replace("VALUE", &column.name);
                    if let Some(rules) = check::parse(&expression) {
                        check_rules.extend(rules);
                    } else if explicit(&column.name).is_none() {
                        errors.push(self.error(format!(
                            "column `{}.{}`: domain check `{}` ({}) is beyond what dbtwin infers",
                            self.name, column.name, c.name, c.expression
                        )).with_hint(format!("give `{}` a rule in the seed file", column.name)));
                    }
                }
            }
        }

        let unique_single: BTreeSet<&str> = table
            .primary_key
            .iter()
            .chain(&table.uniques)
            .filter(|k| k.columns.len() == 1)
            .map(|k| k.columns[0].as_str())
            .chain(
                table
                    .indexes
                    .iter()
                    .filter(|i| i.unique && i.predicate.is_none() && i.columns.len() == 1)
                    .map(|i| i.columns[0].as_str()),
            )
            .collect();

        let mut gens: Vec<ColumnGen> = Vec::new();
        for column in &columns {
            let column_key = key(self.seed, &[self.name, &column.name]);
            let shape = self.shape(column);
            // A length check is a maximum too: truncation (which keeps unique values unique)
            // then holds to it.
            let checked_max = check_rules.iter().filter_map(|r| match r {
                Rule::Length { column: c, op: Op::Le | Op::Eq, value } if *c == column.name => {
                    Some((*value).max(1) as usize)
                }
                Rule::Length { column: c, op: Op::Lt, value } if *c == column.name => {
                    Some((*value - 1).max(1) as usize)
                }
                _ => None,
            });
            let max_length =
                column.max_length.map(|m| m as usize).into_iter().chain(checked_max).min();
            let unique = unique_single.contains(column.name.as_str());
            let result = match explicit(&column.name) {
                Some(rule) => self.explicit(rule, column, &shape, &position, unique),
                None => self.inferred(column, &shape, &check_rules, &position, unique),
            };
            match result {
                Ok(Some((generator, null_ratio))) => gens.push(ColumnGen {
                    name: column.name.clone(),
                    shape,
                    generator,
                    null_ratio,
                    max_length,
                    key: column_key,
                }),
                // Left to the server's default.
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        // Column indices in After/Template must point into the columns actually generated.
        let generated: Vec<String> = gens.iter().map(|g| g.name.clone()).collect();
        let own_index = self.index.get(self.name).copied();
        for g in &mut gens {
            remap(&mut g.generator, &columns, &generated, own_index);
        }
        // A column derived from another (`after`, `{column}`) must not go round in a circle.
        for (i, g) in gens.iter().enumerate() {
            let mut seen = vec![i];
            let mut current = derived_from(&g.generator);
            while let Some(next) = current.pop() {
                if seen.contains(&next) {
                    if next == i {
                        errors.push(self.error(format!(
                            "column `{}.{}` is derived from itself through other columns",
                            self.name, g.name
                        )));
                    }
                    continue;
                }
                seen.push(next);
                if let Some(n) = gens.get(next) {
                    current.extend(derived_from(&n.generator));
                }
            }
        }
        // Comparisons between two columns left to inference hold only if the greater one was
        // derived from the other (or, for `<>`, a self-reference points at an earlier row).
        for rule in &check_rules {
            let Rule::Columns { left, op, right } = rule else { continue };
            if explicit(left).is_some() || explicit(right).is_some() {
                continue;
            }
            let at = |c: &str| gens.iter().position(|g| g.name == c);
            let (Some(l), Some(r)) = (at(left), at(right)) else { continue };
            let after = |a: usize, b: usize, strict: bool| matches!(&gens[a].generator, Gen::After { column, min, .. } if *column == b && (!strict || *min > 0));
            let earlier = |a: usize, b: usize| matches!(&gens[a].generator, Gen::Ref(x) if Some(x.parent) == own_index && x.parent_column == b && matches!(x.pick, Pick::Earlier { .. }));
            let holds = match op {
                Op::Gt => after(l, r, true),
                Op::Ge => after(l, r, false),
                Op::Lt => after(r, l, true),
                Op::Le => after(r, l, false),
                Op::Ne => after(l, r, true) || after(r, l, true) || earlier(l, r) || earlier(r, l),
                Op::Eq => false,
            };
            if !holds {
                errors.push(
                    self.error(format!(
                        "table `{}`: the check `{left} {} {right}` is beyond what dbtwin infers for these columns",
                        self.name,
                        op_text(*op)
                    ))
                    .with_hint(format!("give `{left}` or `{right}` a rule in the seed file (`after:` makes one follow the other)")),
                );
            }
        }
        // Composite unique keys (and unique indexes): make sure some part is unique by
        // construction.
        let composite = table
            .primary_key
            .iter()
            .chain(&table.uniques)
            .map(|k| (&k.name, &k.columns))
            .chain(
                table
                    .indexes
                    .iter()
                    .filter(|i| i.unique && i.predicate.is_none())
                    .map(|i| (&i.name, &i.columns)),
            )
            .filter(|(_, columns)| columns.len() > 1);
        for (name, columns) in composite {
            if let Err(e) = self.composite_unique(name, columns, &mut gens) {
                errors.push(e);
            }
        }
        // A partial unique index holds only for some rows; dbtwin cannot tell which ones its
        // rows will be, unless its columns are unique anyway or the seed file decides the
        // predicate's columns.
        for index in table.indexes.iter().filter(|i| i.unique && i.predicate.is_some()) {
            let unique = index
                .columns
                .iter()
                .any(|c| gens.iter().any(|g| g.name == *c && unique_by_construction(&g.generator)));
            let predicate = index.predicate.as_deref().unwrap_or_default();
            let decided = check::columns(predicate).iter().any(|c| explicit(c).is_some());
            if !unique && !decided {
                errors.push(
                    self.error(format!(
                        "table `{}`: unique index `{}` ({}) WHERE {predicate} holds only for some rows, which dbtwin cannot tell",
                        self.name,
                        index.name,
                        index.columns.join(", ")
                    ))
                    .with_hint(format!(
                        "give {} a rule in the seed file (such as `value: false`) so that the rows it selects stay unique",
                        check::columns(predicate).iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                    )),
                );
            }
        }
        if errors.is_empty() { Ok(gens) } else { Err(errors) }
    }

    fn shape(&self, column: &Column) -> Shape {
        let base = underlying_type(column, self.catalog);
        let data_type = column.data_type.to_lowercase();
        match base.as_str() {
            "tinyint" if data_type.starts_with("tinyint(1)") => Shape::Bool,
            "smallint" | "integer" | "int" | "bigint" | "int2" | "int4" | "int8" | "mediumint"
            | "tinyint" | "serial" | "bigserial" | "smallserial" => Shape::Int,
            "numeric" | "decimal" | "money" => Shape::Decimal(column.numeric_scale.unwrap_or(2)),
            "real" | "double precision" | "float4" | "float8" | "float" | "double" => Shape::Float,
            "boolean" | "bool" => Shape::Bool,
            "date" => Shape::Date,
            "timestamp with time zone" | "timestamptz" => Shape::TimestampTz,
            "timestamp" | "timestamp without time zone" | "datetime" => {
                if self.dialect == Dialect::Postgres && data_type.contains("with time zone") {
                    Shape::TimestampTz
                } else {
                    Shape::Timestamp
                }
            }
            "time" | "time without time zone" => Shape::Time,
            "year" => Shape::Year,
            "uuid" => Shape::Uuid,
            "json" | "jsonb" => Shape::Json,
            "bytea" | "blob" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary" => {
                Shape::Bytes
            }
            _ => Shape::Text,
        }
    }

    fn explicit(
        &self,
        rule: &ColumnRule,
        column: &Column,
        shape: &Shape,
        position: &dyn Fn(&str) -> Option<usize>,
        unique_in_schema: bool,
    ) -> Result<Option<(Gen, f64)>, ProfileError> {
        let unique = rule.unique || unique_in_schema;
        let too_small = |domain: u64| {
            self.file.error(
                &rule.key,
                format!(
                    "`{}.{}` must be unique but its rule has only {domain} distinct values for {} rows",
                    self.name,
                    column.name,
                    self.rows_hint()
                ),
            )
        };
        let anchor = self.file.anchor;
        let generator = match &rule.kind {
            // A uuid column takes only uuids: unique ones by construction, not with a suffix.
            RuleKind::Fake { kind: FakeKind::Uuid, .. } => Gen::Uuid,
            RuleKind::Fake { kind, locale } => {
                Gen::Fake { kind: *kind, locale: locale.unwrap_or(self.file.locale), unique }
            }
            RuleKind::Range { min, max, distribution, decimals } => {
                let integer = matches!(shape, Shape::Int | Shape::Year)
                    || (decimals.is_none()
                        && min.fract() == 0.0
                        && max.fract() == 0.0
                        && !matches!(shape, Shape::Decimal(_) | Shape::Float));
                if integer {
                    let (min, max) = (min.ceil() as i64, max.floor() as i64);
                    if unique && ((max - min + 1) as u64) < self.rows_hint() {
                        return Err(too_small((max - min + 1) as u64));
                    }
                    Gen::Int { min, max, distribution: *distribution, unique }
                } else {
                    Gen::Decimal { min: *min, max: *max, distribution: *distribution }
                }
            }
            RuleKind::OneOf { values, weights } => {
                if unique && (values.len() as u64) < self.rows_hint() {
                    return Err(too_small(values.len() as u64));
                }
                let mut total = 0;
                let cumulative = weights
                    .iter()
                    .map(|w| {
                        total += w;
                        total
                    })
                    .collect();
                Gen::OneOf { values: values.clone(), cumulative, unique }
            }
            RuleKind::Sequence { start, step } => Gen::Sequence { start: *start, step: *step },
            RuleKind::Template(pieces) => Gen::Template(
                pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Text(t) => Part::Text(t.clone()),
                        Piece::Seq { width } => Part::Seq { width: *width },
                        Piece::Column(c) => Part::Column(position(c).unwrap_or(0)),
                        Piece::Digits(n) => Part::Digits(*n),
                        Piece::Letters(n) => Part::Letters(*n),
                        Piece::Hex(n) => Part::Hex(*n),
                        Piece::Uuid => Part::Uuid,
                    })
                    .collect(),
            ),
            RuleKind::Ref { table, column: target, distribution } => {
                let fk = self
                    .table
                    .foreign_keys
                    .iter()
                    .find(|fk| fk.ref_table == *table && fk.columns.contains(&column.name));
                let fk_name = fk.map_or_else(|| column.name.clone(), |f| f.name.clone());
                let ref_columns =
                    fk.map_or_else(|| vec![target.clone()], |f| f.ref_columns.clone());
                let pick = if self.owner_parent == Some(table.as_str()) {
                    Pick::Owner
                } else if unique {
                    Pick::Unique
                } else {
                    Pick::Random(*distribution)
                };
                match self.reference(
                    table,
                    target,
                    &ref_columns,
                    &fk_name,
                    pick,
                    column.nullable,
                )? {
                    Some(generator) => generator,
                    None => Gen::Null,
                }
            }
            RuleKind::Time { from, to } => {
                Gen::Time { from: anchor + from, to: anchor + to, unique }
            }
            RuleKind::After { column: other, min, max } => Gen::After {
                column: position(other).unwrap_or(0),
                min: *min,
                max: *max,
                nullable: column.nullable,
            },
            RuleKind::Value(Scalar::Null) => Gen::Null,
            RuleKind::Value(s) => Gen::Const(s.clone()),
        };
        Ok(Some((generator, rule.null_ratio)))
    }

    fn rows_hint(&self) -> u64 {
        self.rows
    }

    /// The generator of a foreign key column: a parent row's value.
    fn reference(
        &self,
        parent: &str,
        parent_column: &str,
        ref_columns: &[String],
        fk_name: &str,
        pick: Pick,
        nullable: bool,
    ) -> Result<Option<Gen>, ProfileError> {
        let fk_key = key(self.seed, &[self.name, "\u{0}fk", fk_name]);
        if self.kept.iter().any(|k| k == parent) {
            let rows = self
                .existing
                .get(&(parent.to_owned(), ref_columns.to_vec()))
                .cloned()
                .unwrap_or_default();
            if rows.is_empty() {
                return if nullable { Ok(Some(Gen::Null)) } else { Err(self.empty_parent(parent)) };
            }
            let index = ref_columns.iter().position(|c| c == parent_column).unwrap_or(0);
            return Ok(Some(Gen::Existing { rows, index, fk_key }));
        }
        let Some(&parent_index) = self.index.get(parent) else {
            return if nullable { Ok(Some(Gen::Null)) } else { Err(self.empty_parent(parent)) };
        };
        let self_reference = parent == self.name;
        let parent_gen = if self_reference { None } else { self.tables.get(parent_index) };
        let parent_column_index = match parent_gen {
            Some(t) => t.columns.iter().position(|c| c.name == parent_column),
            // A self-reference: this table's own generated columns (known after this table).
            None => self.catalog.tables.get(parent).and_then(|t| {
                t.columns
                    .iter()
                    .filter(|c| {
                        !c.generated
                            .as_deref()
                            .is_some_and(|g| g.starts_with("stored") || g.starts_with("virtual"))
                    })
                    .position(|c| c.name == parent_column)
            }),
        };
        let Some(parent_column_index) = parent_column_index else {
            return Err(self.error(format!(
                "`{}` refers to `{parent}.{parent_column}`, which dbtwin does not generate",
                self.name
            )));
        };
        let pick = if self_reference && matches!(pick, Pick::Random(_)) {
            Pick::Earlier { nullable }
        } else {
            pick
        };
        Ok(Some(Gen::Ref(Box::new(Ref {
            parent: parent_index,
            parent_column: parent_column_index,
            fk_key,
            pick,
        }))))
    }

    fn empty_parent(&self, parent: &str) -> ProfileError {
        self.error(format!(
            "`{}` needs rows in `{parent}` (a NOT NULL foreign key) but `{parent}` gets none",
            self.name
        ))
        .with_hint(format!("give `{parent}` rows in the seed file"))
    }

    fn inferred(
        &self,
        column: &Column,
        shape: &Shape,
        checks: &[Rule],
        position: &dyn Fn(&str) -> Option<usize>,
        unique: bool,
    ) -> Result<Option<(Gen, f64)>, ProfileError> {
        let name = column.name.to_lowercase();
        let anchor = self.file.anchor;
        let table = self.table;

        // Foreign keys first: the relationship decides the value.
        if let Some(fk) = table.foreign_keys.iter().find(|fk| fk.columns.contains(&column.name)) {
            let i = fk.columns.iter().position(|c| *c == column.name).unwrap_or(0);
            let unique_fk = table
                .primary_key
                .iter()
                .chain(&table.uniques)
                .any(|k| k.columns.iter().all(|c| fk.columns.contains(c)));
            let pick = if self.owner_parent == Some(fk.ref_table.as_str()) {
                Pick::Owner
            } else if unique_fk {
                Pick::Unique
            } else {
                Pick::Random(Distribution::Uniform)
            };
            let generator = self.reference(
                &fk.ref_table,
                &fk.ref_columns[i],
                &fk.ref_columns,
                &fk.name,
                pick,
                column.nullable,
            )?;
            return Ok(generator.map(|g| (g, 0.0)));
        }

        let is_pk = table.primary_key.as_ref().is_some_and(|k| k.columns == [column.name.clone()]);
        let mine: Vec<&Rule> =
            checks.iter().filter(|r| rule_column(r) == Some(&column.name)).collect();
        let not_null_check = mine.iter().any(|r| matches!(r, Rule::NotNull { .. }));
        // Nullable columns get some NULLs, as real data has; keys and checked columns do not.
        let null_ratio =
            if column.nullable && !unique && !not_null_check && !is_pk { 0.1 } else { 0.0 };

        // An IN list or an equality decides the value outright.
        for rule in &mine {
            match rule {
                Rule::In { values, .. } => {
                    let values: Vec<Scalar> = values.iter().map(literal).collect();
                    let n = values.len() as u64;
                    let cumulative = (1..=n).collect();
                    return Ok(Some((Gen::OneOf { values, cumulative, unique }, null_ratio)));
                }
                Rule::Compare { op: Op::Eq, value, .. } => {
                    return Ok(Some((Gen::Const(literal(value)), null_ratio)));
                }
                _ => {}
            }
        }
        // Enums.
        if let Some(labels) = self.enum_labels(column) {
            let n = labels.len() as u64;
            return Ok(Some((
                Gen::OneOf {
                    values: labels.into_iter().map(Scalar::Text).collect(),
                    cumulative: (1..=n).collect(),
                    unique,
                },
                null_ratio,
            )));
        }

        let rows = self.rows_hint().max(1);
        // `b > a`, `b >= a` (or `a < b`) between two numbers: b is derived from a.
        if matches!(shape, Shape::Int | Shape::Decimal(_) | Shape::Float) {
            let smaller = checks.iter().find_map(|r| match r {
                Rule::Columns { left, op: op @ (Op::Gt | Op::Ge), right }
                    if *left == column.name =>
                {
                    Some((right.clone(), *op == Op::Gt))
                }
                Rule::Columns { left, op: op @ (Op::Lt | Op::Le), right }
                    if *right == column.name =>
                {
                    Some((left.clone(), *op == Op::Lt))
                }
                _ => None,
            });
            if let Some((other, strict)) = smaller
                && let Some(other) = position(&other)
            {
                let generator = Gen::After {
                    column: other,
                    min: i64::from(strict),
                    max: 100,
                    nullable: column.nullable,
                };
                return Ok(Some((generator, 0.0)));
            }
        }
        let generator = match shape {
            Shape::Int => {
                let (type_min, type_max) = int_bounds(column);
                if is_pk || (unique && name.ends_with("id")) {
                    Gen::Sequence { start: 1, step: 1 }
                } else {
                    let (mut min, mut max) = match name.as_str() {
                        n if n.contains("age") => (18, 90),
                        n if n.contains("rating") || n.contains("stars") => (1, 5),
                        n if n.contains("year") => (1950, 2026),
                        n if n.contains("qty") || n.contains("quantity") => (1, 20),
                        n if n.contains("percent") => (0, 100),
                        _ => (0, 1000),
                    };
                    let mut bounded = false;
                    let mut excluded = Vec::new();
                    for rule in &mine {
                        if let Rule::Compare { op, value, .. } = rule
                            && let Some(v) = literal_f64(value)
                        {
                            bounded |= !matches!(op, Op::Ne);
                            match op {
                                Op::Gt => min = min.max(v.floor() as i64 + 1),
                                Op::Ge => min = min.max(v.ceil() as i64),
                                Op::Lt => max = max.min(v.ceil() as i64 - 1),
                                Op::Le => max = max.min(v.floor() as i64),
                                Op::Ne => excluded.push(v as i64),
                                Op::Eq => {}
                            }
                            if min > max {
                                // The check's range is narrower than the guess: use the check's.
                                match op {
                                    Op::Gt | Op::Ge => max = min + 1000,
                                    _ => min = max - 1000,
                                }
                            }
                        }
                    }
                    min = min.max(type_min);
                    max = max.min(type_max);
                    // `x <> v`: keep the larger side of the range without v.
                    for v in excluded {
                        if (min..=max).contains(&v) {
                            if v - min >= max - v { max = v - 1 } else { min = v + 1 }
                        }
                    }
                    if unique && ((max - min + 1) as u64) < rows {
                        if bounded {
                            return Err(self.error(format!(
                                "column `{}.{}` must be unique but its checks allow only {} values for {rows} rows",
                                self.name, column.name, max - min + 1
                            )).with_hint(format!("give `{}` fewer rows, or a rule in the seed file", self.name)));
                        }
                        max = (min + rows as i64 * 2).min(type_max);
                    }
                    if min > max {
                        return Err(self.error(format!(
                            "column `{}.{}`: its checks leave no value to generate",
                            self.name, column.name
                        )));
                    }
                    Gen::Int { min, max, distribution: Distribution::Uniform, unique }
                }
            }
            Shape::Decimal(scale) => {
                if unique || is_pk {
                    Gen::Sequence { start: 1, step: 1 }
                } else {
                    // The largest value the type holds: numeric(5,2) → 999.99, numeric(2,2) → 0.99.
                    let bound = column
                        .numeric_precision
                        .map(|p| {
                            10f64.powi(p.saturating_sub(*scale) as i32)
                                - 10f64.powi(-(*scale as i32))
                        })
                        .unwrap_or(1e9);
                    let (mut min, mut max): (f64, f64) = match name.as_str() {
                        n if n.starts_with("lat") => (-90.0, 90.0),
                        n if n.starts_with("lon") || n.starts_with("lng") => (-180.0, 180.0),
                        n if n.contains("balance") => (0.0, 5000.0),
                        n if n.contains("rate") || n.contains("discount") => (0.0, 1.0),
                        _ => (1.0, 1000.0),
                    };
                    let step = 10f64.powi(-(*scale as i32));
                    for rule in &mine {
                        if let Rule::Compare { op, value, .. } = rule
                            && let Some(v) = literal_f64(value)
                        {
                            match op {
                                Op::Gt => min = min.max(v + step),
                                Op::Ge => min = min.max(v),
                                Op::Lt => max = max.min(v - step),
                                Op::Le => max = max.min(v),
                                _ => {}
                            }
                        }
                    }
                    if min > max {
                        max = min + 1000.0;
                    }
                    let (mut min, max) = (min.max(-bound), max.min(bound));
                    if min > max {
                        min = max.min(0.0);
                    }
                    Gen::Decimal { min, max, distribution: Distribution::Uniform }
                }
            }
            Shape::Float => {
                let mut min = 0.0;
                let mut max = 1000.0;
                for rule in &mine {
                    if let Rule::Compare { op, value, .. } = rule
                        && let Some(v) = literal_f64(value)
                    {
                        match op {
                            Op::Gt | Op::Ge => min = f64::max(min, v),
                            Op::Lt | Op::Le => max = f64::min(max, v),
                            _ => {}
                        }
                    }
                }
                Gen::Decimal { min, max, distribution: Distribution::Uniform }
            }
            Shape::Bool => Gen::Bool,
            Shape::Uuid => Gen::Uuid,
            Shape::Json => Gen::Json,
            Shape::Bytes => Gen::Bytes { unique },
            Shape::Year => {
                Gen::Int { min: 1990, max: 2026, distribution: Distribution::Uniform, unique }
            }
            Shape::Date | Shape::Timestamp | Shape::TimestampTz | Shape::Time => {
                // `b > a` between two time columns: b comes after a.
                let after = checks.iter().find_map(|r| match r {
                    Rule::Columns { left, op: Op::Gt | Op::Ge, right } if *left == column.name => {
                        Some(right.clone())
                    }
                    Rule::Columns { left, op: Op::Lt | Op::Le, right } if *right == column.name => {
                        Some(left.clone())
                    }
                    _ => None,
                });
                let day = 86_400;
                let after = after.or_else(|| {
                    (name.starts_with("updated") || name.starts_with("modified"))
                        .then(|| "created_at".to_owned())
                        .filter(|c| position(c).is_some())
                });
                if let Some(other) = after.and_then(|c| position(&c)) {
                    let min = if checks
                        .iter()
                        .any(|r| matches!(r, Rule::Columns { op: Op::Gt | Op::Lt, .. }))
                    {
                        day
                    } else {
                        0
                    };
                    Gen::After { column: other, min, max: 30 * day, nullable: column.nullable }
                } else {
                    let (from, to) = match name.as_str() {
                        n if n.contains("birth") || n == "dob" => {
                            (-80 * 365 * day, -18 * 365 * day)
                        }
                        n if n.contains("expire") || n.contains("due") || n.contains("until") => {
                            (0, 365 * day)
                        }
                        _ => (-730 * day, 0),
                    };
                    // A unique date needs a day per row: reach further back when it must.
                    let (step, distinct) =
                        super::generate::time_unit(shape, (to - from + 1) as u64);
                    let from = if unique && distinct < rows && *shape != Shape::Time {
                        to - rows as i64 * step * 2
                    } else {
                        from
                    };
                    Gen::Time { from: anchor + from, to: anchor + to, unique }
                }
            }
            Shape::Text if matches!(column.base_type.as_str(), "inet" | "cidr") => {
                Gen::Fake { kind: FakeKind::Ipv4, locale: self.file.locale, unique }
            }
            Shape::Text if column.base_type.starts_with("macaddr") => {
                Gen::Fake { kind: FakeKind::MacAddress, locale: self.file.locale, unique }
            }
            // Seconds: PostgreSQL reads a bare number as an interval of that many seconds.
            Shape::Text if column.base_type == "interval" => {
                Gen::Int { min: 60, max: 30 * 86_400, distribution: Distribution::Uniform, unique }
            }
            Shape::Text => {
                if let Some(labels) = self.enum_labels(column) {
                    let n = labels.len() as u64;
                    Gen::OneOf {
                        values: labels.into_iter().map(Scalar::Text).collect(),
                        cumulative: (1..=n).collect(),
                        unique,
                    }
                } else if !is_text_type(column, self.catalog) {
                    // A type dbtwin has no generator for (geometry, ranges, arrays…).
                    if column.default.is_some() {
                        return Ok(None);
                    }
                    if column.nullable {
                        return Ok(Some((Gen::Null, 0.0)));
                    }
                    return Err(self
                        .error(format!(
                            "column `{}.{}` has type {}, which dbtwin cannot generate, and is NOT NULL without a default",
                            self.name, column.name, column.data_type
                        ))
                        .with_hint(format!("give `{}` a rule in the seed file (`value:` or `template:`)", column.name)));
                } else {
                    self.text(column, &name, &mine, unique || is_pk)
                }
            }
        };
        Ok(Some((generator, null_ratio)))
    }

    /// Text from the column's name, its length and its length checks.
    fn text(&self, column: &Column, name: &str, checks: &[&Rule], unique: bool) -> Gen {
        let person = [
            "user", "customer", "person", "people", "member", "employee", "contact", "author",
            "account", "client", "staff", "patient",
        ]
        .iter()
        .any(|w| self.name.contains(w));
        let fake = |kind| Gen::Fake { kind, locale: self.file.locale, unique };
        let by_name = match name {
            n if n.contains("email") => Some(FakeKind::SafeEmail),
            "first_name" | "firstname" | "given_name" | "forename" => Some(FakeKind::FirstName),
            "last_name" | "lastname" | "surname" | "family_name" => Some(FakeKind::LastName),
            "full_name" | "fullname" | "display_name" | "customer_name" | "contact_name" => {
                Some(FakeKind::Name)
            }
            "name" if person => Some(FakeKind::Name),
            "username" | "user_name" | "login" | "handle" | "nickname" => Some(FakeKind::Username),
            n if n.contains("phone") || n == "mobile" || n == "cell" || n == "telephone" => {
                Some(FakeKind::PhoneNumber)
            }
            "street" | "address" | "street_address" | "address_line1" | "address1" | "line1" => {
                Some(FakeKind::StreetAddress)
            }
            "address_line2" | "address2" | "line2" => Some(FakeKind::SecondaryAddress),
            "city" | "town" => Some(FakeKind::City),
            "state" | "province" | "region" => Some(FakeKind::StateName),
            "country" | "country_name" if column.max_length.is_some_and(|m| m <= 3) => {
                Some(FakeKind::CountryCode)
            }
            "country" | "country_name" => Some(FakeKind::CountryName),
            "country_code" | "iso_country" => Some(FakeKind::CountryCode),
            "zip" | "zipcode" | "zip_code" | "postal_code" | "postcode" => Some(FakeKind::ZipCode),
            "company" | "company_name" | "organization" | "organisation" | "employer" => {
                Some(FakeKind::CompanyName)
            }
            "job_title" | "position" | "occupation" => Some(FakeKind::JobTitle),
            "industry" => Some(FakeKind::Industry),
            "url" | "website" | "homepage" | "link" => Some(FakeKind::Url),
            "ip" | "ip_address" | "ipaddress" | "last_ip" => Some(FakeKind::Ipv4),
            "user_agent" => Some(FakeKind::UserAgent),
            "currency" | "currency_code" => Some(FakeKind::CurrencyCode),
            "color" | "colour" => Some(FakeKind::HexColor),
            "timezone" | "time_zone" | "tz" => Some(FakeKind::TimeZone),
            "iban" | "card_number" | "credit_card" | "cc_number" => {
                Some(FakeKind::CreditCardNumber)
            }
            "description" | "bio" | "about" | "summary" | "notes" | "note" | "comment" | "body"
            | "content" | "message" => Some(FakeKind::Sentence),
            "uuid" | "guid" | "external_id" => Some(FakeKind::Uuid),
            "mime_type" | "content_type" => Some(FakeKind::MimeType),
            "file_name" | "filename" => Some(FakeKind::FileName),
            "version" => Some(FakeKind::Semver),
            _ => None,
        };
        let (mut min, mut max) = (4usize, column.max_length.map_or(40, |m| (m as usize).min(40)));
        for rule in checks {
            if let Rule::Length { op, value, .. } = rule {
                let v = (*value).max(0) as usize;
                match op {
                    Op::Eq => (min, max) = (v, v),
                    Op::Gt => min = min.max(v + 1),
                    Op::Ge => min = min.max(v),
                    Op::Lt => max = max.min(v.saturating_sub(1)),
                    Op::Le => max = max.min(v),
                    Op::Ne => {}
                }
            }
        }
        match by_name {
            Some(kind) if !checks.iter().any(|r| matches!(r, Rule::Length { .. })) => fake(kind),
            _ if name.contains("password") || name.contains("token") || name.contains("hash") => {
                Gen::Template(vec![Part::Hex(max.clamp(8, 64))])
            }
            _ if name == "sku" || name == "code" || name.ends_with("_code") || name == "slug" => {
                Gen::Template(vec![
                    Part::Text(format!("{}-", initials(self.name))),
                    Part::Seq { width: 6 },
                ])
            }
            _ => Gen::Text { min: min.min(max), max: max.max(1), unique },
        }
    }

    fn enum_labels(&self, column: &Column) -> Option<Vec<String>> {
        if let Some(labels) = self.catalog.enums.get(&column.base_type) {
            return Some(labels.clone());
        }
        let data_type = column.data_type.trim();
        let inner = data_type
            .strip_prefix("enum(")
            .or_else(|| data_type.strip_prefix("set("))?
            .strip_suffix(')')?;
        let mut labels = Vec::new();
        let mut current = String::new();
        let mut quoted = false;
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' if quoted && chars.peek() == Some(&'\'') => {
                    chars.next();
                    current.push('\'');
                }
                '\'' => {
                    quoted = !quoted;
                    if !quoted {
                        labels.push(std::mem::take(&mut current));
                    }
                }
                c if quoted => current.push(c),
                _ => {}
            }
        }
        Some(labels)
    }

    /// A composite primary or unique key: unique by construction if one of its columns is;
    /// otherwise its foreign keys pick parents jointly (a join table), or one plain column is made
    /// unique.
    fn composite_unique(
        &self,
        key_name: &str,
        columns: &[String],
        gens: &mut [ColumnGen],
    ) -> Result<(), ProfileError> {
        let at = |c: &str| gens.iter().position(|g| g.name == c);
        let members: Vec<usize> = columns.iter().filter_map(|c| at(c)).collect();
        if members.iter().any(|&i| unique_by_construction(&gens[i].generator)) {
            return Ok(());
        }
        // Foreign keys among the key's columns, each with its parent's row count.
        let mut fks: Vec<(u64, u64)> = Vec::new(); // (fk_key, parent rows)
        for &i in &members {
            if let Gen::Ref(r) = &gens[i].generator
                && !fks.iter().any(|(k, _)| *k == r.fk_key)
            {
                let rows = if r.parent < self.tables.len() {
                    self.tables[r.parent].rows
                } else {
                    self.rows_hint()
                };
                fks.push((r.fk_key, rows.max(1)));
            }
        }
        let fk_columns: usize =
            members.iter().filter(|&&i| matches!(gens[i].generator, Gen::Ref(_))).count();
        if fks.len() >= 2 && fk_columns == members.len() {
            let space: u64 = fks.iter().map(|(_, n)| *n).fold(1u64, |a, n| a.saturating_mul(n));
            let mut divisor: u64 = 1;
            let combo_key = fks[0].0;
            let mut divisors = BTreeMap::new();
            for (k, n) in &fks {
                divisors.insert(*k, divisor);
                divisor = divisor.saturating_mul(*n);
            }
            for &i in &members {
                if let Gen::Ref(r) = &mut gens[i].generator {
                    r.pick = Pick::Combo { divisor: divisors[&r.fk_key], space };
                    r.fk_key = combo_key;
                }
            }
            if self.rows_hint() > space {
                return Err(self.error(format!(
                    "key `{key_name}` of `{}` allows only {space} distinct rows (the product of its parents' rows)",
                    self.name
                )).with_hint(format!("give `{}` at most {space} rows", self.name)));
            }
            return Ok(());
        }
        // One column that is not a foreign key becomes unique.
        for &i in &members {
            match &mut gens[i].generator {
                Gen::Int { unique, min, max, .. } => {
                    *unique = true;
                    if ((*max - *min + 1) as u64) < self.rows_hint() {
                        *max = *min + self.rows_hint() as i64 * 2;
                    }
                    return Ok(());
                }
                Gen::Fake { unique, .. } | Gen::Text { unique, .. } | Gen::Time { unique, .. } => {
                    *unique = true;
                    return Ok(());
                }
                Gen::Decimal { .. } => {
                    gens[i].generator = Gen::Sequence { start: 1, step: 1 };
                    return Ok(());
                }
                _ => {}
            }
        }
        Err(self
            .error(format!("cannot make key `{key_name}` of `{}` unique by inference", self.name))
            .with_hint("give one of its columns a `sequence` or a `template` with `{seq}`"))
    }
}

/// Check rules whose subject is one column.
fn rule_column(rule: &Rule) -> Option<&String> {
    match rule {
        Rule::Compare { column, .. }
        | Rule::In { column, .. }
        | Rule::Length { column, .. }
        | Rule::NotNull { column } => Some(column),
        Rule::Columns { .. } => None,
    }
}

fn unique_by_construction(generator: &Gen) -> bool {
    match generator {
        Gen::Sequence { .. } | Gen::Uuid => true,
        Gen::Int { unique, .. }
        | Gen::OneOf { unique, .. }
        | Gen::Fake { unique, .. }
        | Gen::Text { unique, .. }
        | Gen::Time { unique, .. }
        | Gen::Bytes { unique } => *unique,
        Gen::Template(parts) => parts.iter().any(|p| matches!(p, Part::Seq { .. } | Part::Uuid)),
        Gen::Ref(r) => matches!(r.pick, Pick::Unique),
        _ => false,
    }
}

/// Column positions were taken among the table's insertable columns; some of those may have been
/// left to their defaults. Re-point them into the generated list.
fn remap(generator: &mut Gen, columns: &[&Column], generated: &[String], own_index: Option<usize>) {
    let fix = |i: &mut usize| {
        if let Some(name) = columns.get(*i).map(|c| &c.name)
            && let Some(j) = generated.iter().position(|g| g == name)
        {
            *i = j;
        }
    };
    match generator {
        Gen::After { column, .. } => fix(column),
        // A self-reference points into this table's own columns.
        Gen::Ref(r) if Some(r.parent) == own_index => fix(&mut r.parent_column),
        Gen::Template(parts) => {
            for p in parts {
                if let Part::Column(i) = p {
                    fix(i);
                }
            }
        }
        _ => {}
    }
}

fn literal(l: &Literal) -> Scalar {
    match l {
        Literal::Int(i) => Scalar::Int(*i),
        Literal::Decimal(f) => Scalar::Float(*f),
        Literal::Text(t) => Scalar::Text(t.clone()),
        Literal::Bool(b) => Scalar::Bool(*b),
    }
}

fn literal_f64(l: &Literal) -> Option<f64> {
    match l {
        Literal::Int(i) => Some(*i as f64),
        Literal::Decimal(f) => Some(*f),
        Literal::Text(t) => t.parse().ok(),
        Literal::Bool(_) => None,
    }
}

fn base_of(data_type: &str) -> String {
    data_type.split('(').next().unwrap_or(data_type).trim().to_lowercase()
}

fn int_bounds(column: &Column) -> (i64, i64) {
    let base = column.base_type.to_lowercase();
    let (min, max) = match base.as_str() {
        "smallint" | "int2" | "smallserial" => (i16::MIN as i64, i16::MAX as i64),
        "tinyint" => (-128, 127),
        "mediumint" => (-8_388_608, 8_388_607),
        "integer" | "int" | "int4" | "serial" => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN / 2, i64::MAX / 2),
    };
    if column.unsigned { (0, max * 2 + 1) } else { (min, max) }
}

/// The column's base type, seen through its domain if it has one.
fn underlying_type(column: &Column, catalog: &Catalog) -> String {
    catalog
        .domains
        .get(&column.base_type)
        .map(|d| base_of(&d.data_type))
        .unwrap_or_else(|| column.base_type.to_lowercase())
}

fn is_text_type(column: &Column, catalog: &Catalog) -> bool {
    let base = underlying_type(column, catalog);
    matches!(
        base.as_str(),
        "text"
            | "varchar"
            | "character varying"
            | "char"
            | "character"
            | "bpchar"
            | "citext"
            | "tinytext"
            | "mediumtext"
            | "longtext"
            | "name"
            | "enum"
            | "set"
            | "inet"
            | "cidr"
            | "macaddr"
            | "interval"
            | "xml"
    ) || column.data_type.starts_with("enum(")
}

/// `order_items` → `OI`: a short prefix for inferred codes.
fn initials(table: &str) -> String {
    table.split(['_', '.']).filter_map(|w| w.chars().next()).collect::<String>().to_uppercase()
}

/// A unique rule over a domain smaller than the rows is an error (explicit rules were checked
/// against the seed file's counts; here against the plan's real ones, rows_per included).
fn check_domains(tables: &[TableGen], file: &SeedFile, errors: &mut Vec<ProfileError>) {
    for t in tables {
        for c in &t.columns {
            let domain = match &c.generator {
                Gen::Int { min, max, unique: true, .. } => Some((*max - *min + 1) as u64),
                Gen::OneOf { values, unique: true, .. } => Some(values.len() as u64),
                Gen::Time { from, to, unique: true } => {
                    Some(super::generate::time_unit(&c.shape, (to - from + 1) as u64).1)
                }
                Gen::Ref(r) if matches!(r.pick, Pick::Unique) => Some(tables[r.parent].rows),
                // Unique text cut to its length keeps a base-36 row number in its last
                // characters: the length must hold one for every row.
                g if super::generate::unique_text(g)
                    && c.max_length.is_some_and(|m| super::generate::base36_width(t.rows) > m) =>
                {
                    Some(36u64.saturating_pow(c.max_length.unwrap_or(0) as u32))
                }
                _ => None,
            };
            if let Some(domain) = domain
                && domain < t.rows
            {
                let key = format!("tables.{}.columns.{}", t.name, c.name);
                errors.push(file.error(
                    &key,
                    format!(
                        "`{}.{}` must be unique but has only {domain} possible values for {} rows",
                        t.name, c.name, t.rows
                    ),
                ).with_hint("widen its rule or lower the table's rows"));
            }
        }
    }
}

/// Redis: each key family as a generator of keys (column 0, the pattern) and values.
pub fn redis_plan(
    file: &SeedFile,
    seed: u64,
    scale: f64,
) -> Result<Vec<super::load::KeyFamily>, Vec<ProfileError>> {
    use super::seedfile::RedisValue;
    let mut errors = Vec::new();
    let mut families = Vec::new();
    for (name, rule) in &file.keys {
        let at = format!("keys.{name}");
        let rows = ((rule.count as f64) * scale).round() as u64;
        let pattern = ColumnRule {
            kind: RuleKind::Template(rule.pattern.clone()),
            null_ratio: 0.0,
            unique: false,
            key: format!("{at}.pattern"),
        };
        let mut fields: Vec<(String, &ColumnRule)> = vec![("\u{0}key".to_owned(), &pattern)];
        let mut member_fields: Vec<(String, &ColumnRule)> = Vec::new();
        match &rule.value {
            RedisValue::String(v) => fields.push(("value".to_owned(), v)),
            RedisValue::Hash(map) => fields.extend(map.iter().map(|(k, v)| (k.clone(), v))),
            RedisValue::Set { value, .. } | RedisValue::List { value, .. } => {
                member_fields.push(("member".to_owned(), value));
            }
            RedisValue::Zset { value, score, .. } => {
                member_fields.push(("member".to_owned(), value));
                member_fields.push(("score".to_owned(), score));
            }
        }
        let build =
            |table: &str, list: &[(String, &ColumnRule)], errors: &mut Vec<ProfileError>| {
                let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
                let mut columns = Vec::new();
                for (field, rule) in list {
                    match schemaless(file, rule, &names) {
                        Ok(generator) => columns.push(ColumnGen {
                            name: field.clone(),
                            shape: Shape::Text,
                            generator,
                            null_ratio: 0.0,
                            max_length: None,
                            key: key(seed, &[table, field]),
                        }),
                        Err(e) => errors.push(e),
                    }
                }
                columns
            };
        let columns = build(name, &fields, &mut errors);
        let keys = TableGen::new(seed, name, columns, rows, None);
        let members = if member_fields.is_empty() {
            None
        } else {
            let max = match &rule.value {
                RedisValue::Set { members, .. }
                | RedisValue::List { members, .. }
                | RedisValue::Zset { members, .. } => members.1.max(1),
                _ => 1,
            };
            let columns = build(&format!("{name}\u{0}members"), &member_fields, &mut errors);
            Some(TableGen::new(seed, &format!("{name}\u{0}members"), columns, rows * max, None))
        };
        families.push(super::load::KeyFamily {
            name: name.clone(),
            keys,
            members,
            value: rule.value.clone(),
            ttl: rule.ttl,
        });
    }
    if errors.is_empty() { Ok(families) } else { Err(errors) }
}

/// A rule's generator where there is no schema (Redis): references name other fields.
fn schemaless(file: &SeedFile, rule: &ColumnRule, names: &[&str]) -> Result<Gen, ProfileError> {
    let position = |c: &str| names.iter().position(|n| *n == c);
    let missing = |c: &str| file.error(&rule.key, format!("no field `{c}` to refer to"));
    Ok(match &rule.kind {
        RuleKind::Fake { kind, locale } => {
            Gen::Fake { kind: *kind, locale: locale.unwrap_or(file.locale), unique: rule.unique }
        }
        RuleKind::Range { min, max, distribution, decimals } => {
            if decimals.is_none() && min.fract() == 0.0 && max.fract() == 0.0 {
                Gen::Int {
                    min: *min as i64,
                    max: *max as i64,
                    distribution: *distribution,
                    unique: rule.unique,
                }
            } else {
                Gen::Decimal { min: *min, max: *max, distribution: *distribution }
            }
        }
        RuleKind::OneOf { values, weights } => {
            let mut total = 0;
            let cumulative = weights
                .iter()
                .map(|w| {
                    total += w;
                    total
                })
                .collect();
            Gen::OneOf { values: values.clone(), cumulative, unique: rule.unique }
        }
        RuleKind::Sequence { start, step } => Gen::Sequence { start: *start, step: *step },
        RuleKind::Template(pieces) => {
            let mut parts = Vec::new();
            for p in pieces {
                parts.push(match p {
                    Piece::Text(t) => Part::Text(t.clone()),
                    Piece::Seq { width } => Part::Seq { width: *width },
                    Piece::Column(c) => Part::Column(position(c).ok_or_else(|| missing(c))?),
                    Piece::Digits(n) => Part::Digits(*n),
                    Piece::Letters(n) => Part::Letters(*n),
                    Piece::Hex(n) => Part::Hex(*n),
                    Piece::Uuid => Part::Uuid,
                });
            }
            Gen::Template(parts)
        }
        RuleKind::Time { from, to } => {
            Gen::Time { from: file.anchor + from, to: file.anchor + to, unique: rule.unique }
        }
        RuleKind::After { column, min, max } => Gen::After {
            column: position(column).ok_or_else(|| missing(column))?,
            min: *min,
            max: *max,
            nullable: true,
        },
        RuleKind::Value(s) => Gen::Const(s.clone()),
        RuleKind::Ref { .. } => {
            return Err(file.error(&rule.key, "`ref` needs tables: redis has none"));
        }
    })
}

/// `x IS NULL OR <rule>`: a generated `x` is NULL or satisfies the rule, so the rule alone is
/// what a generator must meet (a common shape for optional columns).
fn null_or(expression: &str) -> Option<Vec<Rule>> {
    let text = expression.trim();
    let text = text.strip_prefix("CHECK").map_or(text, str::trim);
    let mut inner = text;
    while let Some(stripped) = inner.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        inner = stripped.trim();
    }
    let lower = inner.to_lowercase();
    let at = lower.find(" or ")?;
    let (left, right) = (&inner[..at], &inner[at + 4..]);
    let left_lower = left.to_lowercase();
    let subject = left_lower
        .trim()
        .trim_matches(['(', ')'])
        .trim()
        .strip_suffix("is null")?
        .trim()
        .to_owned();
    let subject = subject.trim_matches(['"', '`']).to_owned();
    let rules = check::parse(right)?;
    // Only when the rule is about that same column.
    rules
        .iter()
        .all(|r| match r {
            Rule::Columns { left, right, .. } => *left == subject || *right == subject,
            other => rule_column(other).is_some_and(|c| *c == subject),
        })
        .then_some(rules)
}

/// The columns a generator reads from its own row.
fn derived_from(generator: &Gen) -> Vec<usize> {
    match generator {
        Gen::After { column, .. } => vec![*column],
        Gen::Template(parts) => parts
            .iter()
            .filter_map(|p| match p {
                Part::Column(i) => Some(*i),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Eq => "=",
        Op::Ne => "<>",
    }
}
