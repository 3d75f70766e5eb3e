//! Seed files: how a database is filled, read strictly into a validated model.
//!
//! A seed file names what it wants and leaves the rest to inference (`infer`): tables with a row
//! count (`rows`) or a count per parent row (`rows_per`), and per column one generator rule.
//! Everything here is checked without a database: unknown keys and generators, ranges upside down,
//! weights that are not numbers. What needs the schema (a `ref` to a missing column, `unique` over a
//! domain too small) is checked by `infer` after the migrations, before any row is written. Every
//! error names the file, the key path and the line, like profile errors (and is one).
//!
//! The YAML is walked by hand rather than through serde derive: the rules have short forms
//! (`one_of` as a list or a weighted map, `sequence: 1` or `{start, step}`) and each error must say
//! which key is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::fakes::{FakeKind, Locale};
use super::maskfile::Masked;
use crate::profile::{self, LineIndex, ProfileError, ProfileErrors, child, suggest};

/// The default anchor: time values count back from 2026-01-01T00:00:00Z.
pub const DEFAULT_ANCHOR: i64 = 1_767_225_600;
/// Rows of a table the seed file does not size.
pub const DEFAULT_ROWS: u64 = 1_000;

/// A validated seed file.
#[derive(Debug)]
pub struct SeedFile {
    pub path: PathBuf,
    /// Unix seconds that `time` rules count from.
    pub anchor: i64,
    pub locale: Locale,
    /// Rows of every table the file does not size.
    pub default_rows: u64,
    pub tables: BTreeMap<String, TableRule>,
    /// Redis: key families.
    pub keys: BTreeMap<String, KeyRule>,
    /// A masked copy of a production source, for the tables `tables` does not generate.
    pub masked: Masked,
    /// SHA-256 of the file's text, recorded with the seeding.
    pub checksum: String,
    index: LineIndex,
}

#[derive(Debug, Default)]
pub struct TableRule {
    pub rows: Option<Rows>,
    pub columns: BTreeMap<String, ColumnRule>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Rows {
    Count(u64),
    /// Between `min` and `max` rows for each row of `parent`.
    Per {
        parent: String,
        min: u64,
        max: u64,
    },
}

/// One column's generator, with its modifiers.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnRule {
    pub kind: RuleKind,
    /// Share of rows that get NULL.
    pub null_ratio: f64,
    pub unique: bool,
    /// The key path, for errors found later.
    pub key: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RuleKind {
    Fake {
        kind: FakeKind,
        locale: Option<Locale>,
    },
    Range {
        min: f64,
        max: f64,
        distribution: Distribution,
        decimals: Option<u32>,
    },
    OneOf {
        values: Vec<Scalar>,
        weights: Vec<u64>,
    },
    Sequence {
        start: i64,
        step: i64,
    },
    Template(Vec<Piece>),
    Ref {
        table: String,
        column: String,
        distribution: Distribution,
    },
    /// Seconds relative to the anchor.
    Time {
        from: i64,
        to: i64,
    },
    /// Another column of the row plus `min..=max` (seconds for times, units for numbers).
    After {
        column: String,
        min: i64,
        max: i64,
    },
    Value(Scalar),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    Uniform,
    Normal,
    Zipf { skew: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// A piece of a template: `"ORD-{seq:06}"` is `Text("ORD-")`, `Seq { width: 6 }`.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Text(String),
    /// The row number counted from 1, zero-padded to `width`.
    Seq {
        width: usize,
    },
    /// Another column's value in the same row.
    Column(String),
    Digits(usize),
    Letters(usize),
    Hex(usize),
    Uuid,
}

/// Redis: one family of keys.
#[derive(Clone, Debug)]
pub struct KeyRule {
    pub pattern: Vec<Piece>,
    pub count: u64,
    pub value: RedisValue,
    /// Seconds, drawn in `min..=max`.
    pub ttl: Option<(u64, u64)>,
}

#[derive(Clone, Debug)]
pub enum RedisValue {
    String(ColumnRule),
    Hash(BTreeMap<String, ColumnRule>),
    /// `set`, `zset` (with a score) and `list`: `min..=max` members per key.
    Set {
        members: (u64, u64),
        value: ColumnRule,
    },
    Zset {
        members: (u64, u64),
        value: ColumnRule,
        score: ColumnRule,
    },
    List {
        members: (u64, u64),
        value: ColumnRule,
    },
}

impl SeedFile {
    /// Reads and validates `path`; every problem is reported at once.
    pub fn load(path: &Path) -> Result<SeedFile, ProfileErrors> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ProfileErrors(vec![
                ProfileError::new(format!("cannot read seed file {}: {error}", path.display()))
                    .with_file(path),
            ])
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<SeedFile, ProfileErrors> {
        let document = match profile::parse_document(text) {
            Ok(Value::Mapping(map)) => map,
            Ok(Value::Null) => Mapping::new(),
            Ok(_) => {
                return Err(ProfileErrors(vec![
                    ProfileError::new("expected a map of keys at the top of the seed file")
                        .with_file(path),
                ]));
            }
            Err(error) => {
                let mut e = ProfileError::new(profile::syntax_message(&error)).with_file(path);
                if let Some(at) = error.location() {
                    e = e.with_position(at.line(), at.column());
                }
                return Err(ProfileErrors(vec![e]));
            }
        };
        let mut walker = Walker { path, index: LineIndex::build(text), errors: Vec::new() };
        let mut file = SeedFile {
            path: path.to_path_buf(),
            anchor: DEFAULT_ANCHOR,
            locale: Locale::En,
            default_rows: DEFAULT_ROWS,
            tables: BTreeMap::new(),
            keys: BTreeMap::new(),
            masked: Masked::default(),
            checksum: crate::migrate::checksum::checksum(text),
            index: LineIndex::default(),
        };
        for (key, value) in &document {
            let name = key_name(key);
            match name.as_str() {
                "anchor" => {
                    if let Some(anchor) = walker.anchor(&name, value) {
                        file.anchor = anchor;
                    }
                }
                "locale" => {
                    if let Some(locale) = walker.locale(&name, value) {
                        file.locale = locale;
                    }
                }
                "default_rows" => {
                    if let Some(rows) = walker.count(&name, value) {
                        file.default_rows = rows;
                    }
                }
                "tables" => {
                    for (table, value) in walker.map(&name, value) {
                        let key = child(&name, &table);
                        if let Some(rule) = walker.table(&key, value) {
                            file.tables.insert(table, rule);
                        }
                    }
                }
                "keys" => {
                    for (family, value) in walker.map(&name, value) {
                        let key = child(&name, &family);
                        if let Some(rule) = walker.key_rule(&key, value) {
                            file.keys.insert(family, rule);
                        }
                    }
                }
                masked if super::maskfile::KEYS.contains(&masked) => {
                    walker.masked(&mut file.masked, masked, value);
                }
                other => {
                    let mut known = vec!["anchor", "locale", "default_rows", "tables", "keys"];
                    known.extend(super::maskfile::KEYS);
                    walker.unknown(other, other, &known);
                }
            }
        }
        if !walker.errors.is_empty() {
            return Err(ProfileErrors(walker.errors));
        }
        file.index = walker.index;
        Ok(file)
    }

    /// An error about `key` of this file, located at its line (or its nearest parent's).
    pub fn error(&self, key: &str, message: impl Into<String>) -> ProfileError {
        locate(&self.path, &self.index, key, message)
    }

    /// The column rule the file names for `table.column`.
    pub fn column(&self, table: &str, column: &str) -> Option<&ColumnRule> {
        self.tables.get(table)?.columns.get(column)
    }
}

fn locate(path: &Path, index: &LineIndex, key: &str, message: impl Into<String>) -> ProfileError {
    let mut error = ProfileError::new(message).with_file(path);
    if !key.is_empty() {
        error = error.with_key(key);
    }
    let mut current = Some(key);
    // The document itself (the empty path) is no place to point at.
    while let Some(k) = current.filter(|k| !k.is_empty()) {
        if let Some(spot) = index.get(k) {
            return error.with_position(spot.line, spot.column);
        }
        current = k.rfind(['.', '[']).map(|cut| &k[..cut]);
    }
    error
}

pub(super) fn key_name(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "?".to_owned(),
    }
}

const COLUMN_KEYS: &[&str] = &[
    "fake",
    "locale",
    "range",
    "distribution",
    "skew",
    "decimals",
    "one_of",
    "sequence",
    "template",
    "ref",
    "time",
    "after",
    "within",
    "value",
    "null_ratio",
    "unique",
];
const KINDS: &[&str] =
    &["fake", "range", "one_of", "sequence", "template", "ref", "time", "after", "value"];

pub(super) struct Walker<'a> {
    pub(super) path: &'a Path,
    pub(super) index: LineIndex,
    pub(super) errors: Vec<ProfileError>,
}

impl Walker<'_> {
    pub(super) fn error(&mut self, key: &str, message: impl Into<String>) {
        let error = locate(self.path, &self.index, key, message);
        self.errors.push(error);
    }

    pub(super) fn error_hint(
        &mut self,
        key: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let error = locate(self.path, &self.index, key, message).with_hint(hint);
        self.errors.push(error);
    }

    pub(super) fn unknown(&mut self, key: &str, word: &str, known: &[&str]) {
        self.error_hint(key, format!("unknown key `{word}`"), suggest(word, known));
    }

    pub(super) fn map(&mut self, key: &str, value: &Value) -> Vec<(String, Value)> {
        match value {
            Value::Mapping(map) => map.iter().map(|(k, v)| (key_name(k), v.clone())).collect(),
            Value::Null => Vec::new(),
            _ => {
                self.error(key, "expected a map");
                Vec::new()
            }
        }
    }

    pub(super) fn count(&mut self, key: &str, value: &Value) -> Option<u64> {
        match value.as_u64() {
            Some(n) => Some(n),
            None => {
                self.error(key, "expected a whole number of 0 or more");
                None
            }
        }
    }

    pub(super) fn number(&mut self, key: &str, value: &Value) -> Option<f64> {
        match value.as_f64() {
            Some(n) if n.is_finite() => Some(n),
            _ => {
                self.error(key, "expected a number");
                None
            }
        }
    }

    pub(super) fn text<'v>(&mut self, key: &str, value: &'v Value) -> Option<&'v str> {
        match value.as_str() {
            Some(s) => Some(s),
            None => {
                self.error(key, "expected a string");
                None
            }
        }
    }

    fn anchor(&mut self, key: &str, value: &Value) -> Option<i64> {
        let text = match value {
            Value::String(s) => s.clone(),
            _ => {
                self.error(key, "expected a date such as 2026-01-01 or 2026-01-01T12:00:00Z");
                return None;
            }
        };
        match parse_instant(&text) {
            Some(t) => Some(t),
            None => {
                self.error_hint(
                    key,
                    format!("`{text}` is not a date"),
                    "write 2026-01-01 or 2026-01-01T12:00:00Z (UTC)",
                );
                None
            }
        }
    }

    pub(super) fn locale(&mut self, key: &str, value: &Value) -> Option<Locale> {
        let name = self.text(key, value)?;
        match Locale::from_name(name) {
            Some(locale) => Some(locale),
            None => {
                self.error_hint(
                    key,
                    format!("unknown locale `{name}`"),
                    suggest(name, Locale::NAMES),
                );
                None
            }
        }
    }

    fn table(&mut self, key: &str, value: Value) -> Option<TableRule> {
        let mut rule = TableRule::default();
        let before = self.errors.len();
        for (name, value) in self.map(key, &value) {
            let at = child(key, &name);
            match name.as_str() {
                "rows" => rule.rows = self.count(&at, &value).map(Rows::Count),
                "rows_per" => {
                    let entries = self.map(&at, &value);
                    if entries.len() != 1 {
                        self.error(
                            &at,
                            "expected one parent table: `rows_per: { users: [0, 20] }`",
                        );
                        continue;
                    }
                    let (parent, span) = &entries[0];
                    let span_key = child(&at, parent);
                    if let Some((min, max)) = self.span(&span_key, span) {
                        rule.rows = Some(Rows::Per { parent: parent.clone(), min, max });
                    }
                }
                "columns" => {
                    for (column, value) in self.map(&at, &value) {
                        let column_key = child(&at, &column);
                        if let Some(c) = self.column(&column_key, &value) {
                            rule.columns.insert(column, c);
                        }
                    }
                }
                other => self.unknown(&at, other, &["rows", "rows_per", "columns"]),
            }
        }
        (self.errors.len() == before).then_some(rule)
    }

    /// `[min, max]` of whole numbers, or one number for both.
    pub(super) fn span(&mut self, key: &str, value: &Value) -> Option<(u64, u64)> {
        if let Some(n) = value.as_u64() {
            return Some((n, n));
        }
        match value.as_sequence().map(|s| s.iter().map(Value::as_u64).collect::<Vec<_>>()) {
            Some(items) if items.len() == 2 && items.iter().all(Option::is_some) => {
                let (min, max) = (items[0].unwrap_or(0), items[1].unwrap_or(0));
                if min > max {
                    self.error(key, format!("the range [{min}, {max}] is upside down"));
                    return None;
                }
                Some((min, max))
            }
            _ => {
                self.error(key, "expected [min, max] whole numbers, such as [0, 20]");
                None
            }
        }
    }

    fn column(&mut self, key: &str, value: &Value) -> Option<ColumnRule> {
        let Value::Mapping(map) = value else {
            self.error_hint(
                key,
                "expected a generator rule",
                "write a map such as `{ fake: name }`, `{ range: [0, 100] }`, `{ one_of: [a, b] }`",
            );
            return None;
        };
        let before = self.errors.len();
        let mut fields: BTreeMap<String, Value> = BTreeMap::new();
        for (k, v) in map {
            let name = key_name(k);
            let at = child(key, &name);
            if COLUMN_KEYS.contains(&name.as_str()) {
                fields.insert(name, v.clone());
            } else {
                self.unknown(&at, &name, COLUMN_KEYS);
            }
        }
        let kinds: Vec<&str> =
            KINDS.iter().copied().filter(|k| fields.contains_key(*k)).collect::<Vec<_>>();
        if kinds.len() != 1 {
            let message = if kinds.is_empty() {
                "the rule names no generator".to_owned()
            } else {
                format!("the rule names {} generators ({})", kinds.len(), kinds.join(", "))
            };
            self.error_hint(key, message, format!("name one of {}", profile::quoted_list(KINDS)));
            return None;
        }
        let kind_name = kinds[0];
        let at = |k: &str| child(key, k);
        let distribution = self.distribution(key, &fields);
        let kind = match kind_name {
            "fake" => {
                let name = self.text(&at("fake"), &fields["fake"]).unwrap_or_default().to_owned();
                let locale = fields.get("locale").and_then(|v| self.locale(&at("locale"), v));
                match FakeKind::from_name(&name) {
                    Some(kind) => Some(RuleKind::Fake { kind, locale }),
                    None => {
                        self.error_hint(
                            &at("fake"),
                            format!("unknown fake generator `{name}`"),
                            suggest(&name, &FakeKind::names()),
                        );
                        None
                    }
                }
            }
            "range" => self.range(&at("range"), &fields["range"]).map(|(min, max)| {
                let decimals = fields
                    .get("decimals")
                    .and_then(|v| self.count(&at("decimals"), v))
                    .map(|d| d.min(12) as u32);
                RuleKind::Range { min, max, distribution, decimals }
            }),
            "one_of" => self.one_of(&at("one_of"), &fields["one_of"]),
            "sequence" => self.sequence(&at("sequence"), &fields["sequence"]),
            "template" => self
                .text(&at("template"), &fields["template"])
                .map(str::to_owned)
                .and_then(|t| match parse_template(&t) {
                    Ok(pieces) => Some(RuleKind::Template(pieces)),
                    Err(message) => {
                        self.error(&at("template"), message);
                        None
                    }
                }),
            "ref" => {
                let text = self.text(&at("ref"), &fields["ref"]).unwrap_or_default().to_owned();
                match text.rsplit_once('.') {
                    Some((table, column)) if !table.is_empty() && !column.is_empty() => {
                        Some(RuleKind::Ref {
                            table: table.to_owned(),
                            column: column.to_owned(),
                            distribution,
                        })
                    }
                    _ => {
                        self.error(&at("ref"), format!("expected `table.column`, got `{text}`"));
                        None
                    }
                }
            }
            "time" => self.time(&at("time"), &fields["time"]),
            "after" => {
                let column = self.text(&at("after"), &fields["after"]).map(str::to_owned);
                let within = match fields.get("within") {
                    Some(v) => self.duration_span(&at("within"), v),
                    None => Some((0, 30 * 86_400)),
                };
                match (column, within) {
                    (Some(column), Some((min, max))) => Some(RuleKind::After { column, min, max }),
                    _ => None,
                }
            }
            "value" => Some(RuleKind::Value(scalar(&fields["value"]))),
            _ => None,
        };
        for (modifier, applies) in [
            ("locale", kind_name == "fake"),
            ("distribution", matches!(kind_name, "range" | "ref")),
            ("skew", matches!(kind_name, "range" | "ref")),
            ("decimals", kind_name == "range"),
            ("within", kind_name == "after"),
        ] {
            if fields.contains_key(modifier) && !applies {
                self.error(&at(modifier), format!("`{modifier}` does not apply to `{kind_name}`"));
            }
        }
        let null_ratio = match fields.get("null_ratio") {
            Some(v) => match self.number(&at("null_ratio"), v) {
                Some(r) if (0.0..=1.0).contains(&r) => r,
                Some(r) => {
                    self.error(&at("null_ratio"), format!("{r} is not between 0 and 1"));
                    0.0
                }
                None => 0.0,
            },
            None => 0.0,
        };
        let unique = match fields.get("unique") {
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.error(&at("unique"), "expected true or false");
                false
            }
            None => false,
        };
        if unique && null_ratio > 0.0 && kind_name == "value" {
            self.error(&at("unique"), "a constant value cannot be unique");
        }
        if self.errors.len() != before {
            return None;
        }
        kind.map(|kind| ColumnRule { kind, null_ratio, unique, key: key.to_owned() })
    }

    fn distribution(&mut self, key: &str, fields: &BTreeMap<String, Value>) -> Distribution {
        let skew = match fields.get("skew") {
            Some(v) => match self.number(&child(key, "skew"), v) {
                Some(s) if s > 0.0 => s,
                Some(_) => {
                    self.error(&child(key, "skew"), "expected a number above 0, such as 1.1");
                    1.1
                }
                None => 1.1,
            },
            None => 1.1,
        };
        match fields.get("distribution") {
            None => Distribution::Uniform,
            Some(v) => match v.as_str() {
                Some("uniform") => Distribution::Uniform,
                Some("normal") => Distribution::Normal,
                Some("zipf") => Distribution::Zipf { skew },
                other => {
                    let word = other.unwrap_or("?");
                    self.error_hint(
                        &child(key, "distribution"),
                        format!("unknown distribution `{word}`"),
                        suggest(word, &["uniform", "normal", "zipf"]),
                    );
                    Distribution::Uniform
                }
            },
        }
    }

    fn range(&mut self, key: &str, value: &Value) -> Option<(f64, f64)> {
        let items = value.as_sequence().filter(|s| s.len() == 2);
        let Some(items) = items else {
            self.error(key, "expected [min, max], such as [0, 100]");
            return None;
        };
        let min = self.number(&profile_item(key, 0), &items[0])?;
        let max = self.number(&profile_item(key, 1), &items[1])?;
        if min > max {
            self.error(key, format!("the range [{min}, {max}] is upside down"));
            return None;
        }
        Some((min, max))
    }

    fn one_of(&mut self, key: &str, value: &Value) -> Option<RuleKind> {
        let (values, weights) = match value {
            Value::Sequence(items) => (items.iter().map(scalar).collect(), vec![1; items.len()]),
            Value::Mapping(map) => {
                let mut values = Vec::new();
                let mut weights = Vec::new();
                for (k, v) in map {
                    let at = child(key, &key_name(k));
                    match v.as_u64() {
                        Some(w) => {
                            values.push(scalar(k));
                            weights.push(w);
                        }
                        None => self.error(&at, "expected a whole-number weight, such as 5"),
                    }
                }
                (values, weights)
            }
            _ => {
                self.error(key, "expected a list of values or a map of value: weight");
                return None;
            }
        };
        if values.is_empty() || weights.iter().all(|w| *w == 0) {
            self.error(key, "expected at least one value with a weight above 0");
            return None;
        }
        Some(RuleKind::OneOf { values, weights })
    }

    fn sequence(&mut self, key: &str, value: &Value) -> Option<RuleKind> {
        if let Some(start) = value.as_i64() {
            return Some(RuleKind::Sequence { start, step: 1 });
        }
        let mut start = 1;
        let mut step = 1;
        for (name, v) in self.map(key, value) {
            let at = child(key, &name);
            match (name.as_str(), v.as_i64()) {
                ("start", Some(n)) => start = n,
                ("step", Some(n)) if n != 0 => step = n,
                ("start" | "step", _) => self.error(&at, "expected a whole number (step not 0)"),
                (other, _) => self.unknown(&at, other, &["start", "step"]),
            }
        }
        Some(RuleKind::Sequence { start, step })
    }

    fn time(&mut self, key: &str, value: &Value) -> Option<RuleKind> {
        let mut from = -365 * 86_400;
        let mut to = 0;
        for (name, v) in self.map(key, value) {
            let at = child(key, &name);
            match name.as_str() {
                "from" => from = self.duration(&at, &v)?,
                "to" => to = self.duration(&at, &v)?,
                other => self.unknown(&at, other, &["from", "to"]),
            }
        }
        if from > to {
            self.error(key, "`from` is after `to`");
            return None;
        }
        Some(RuleKind::Time { from, to })
    }

    fn duration(&mut self, key: &str, value: &Value) -> Option<i64> {
        let parsed = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => parse_duration(s),
            _ => None,
        };
        if parsed.is_none() {
            self.error_hint(
                key,
                "expected a duration",
                "write a number with a unit: -365d, 12h, 30m, 45s, 2w, -18y (seconds when bare)",
            );
        }
        parsed
    }

    fn duration_span(&mut self, key: &str, value: &Value) -> Option<(i64, i64)> {
        match value {
            Value::Sequence(items) if items.len() == 2 => {
                let min = self.duration(&profile_item(key, 0), &items[0])?;
                let max = self.duration(&profile_item(key, 1), &items[1])?;
                if min > max {
                    self.error(key, "the span is upside down");
                    return None;
                }
                Some((min, max))
            }
            other => self.duration(key, other).map(|max| (0.min(max), max.max(0))),
        }
    }

    fn key_rule(&mut self, key: &str, value: Value) -> Option<KeyRule> {
        let before = self.errors.len();
        let mut pattern = None;
        let mut count = None;
        let mut kind = "string".to_owned();
        let mut ttl = None;
        let mut value_rule = None;
        let mut fields = None;
        let mut members = (1, 5);
        let mut score = None;
        for (name, v) in self.map(key, &value) {
            let at = child(key, &name);
            match name.as_str() {
                "pattern" => {
                    if let Some(text) = self.text(&at, &v) {
                        match parse_template(text) {
                            Ok(p) => pattern = Some(p),
                            Err(message) => self.error(&at, message),
                        }
                    }
                }
                "count" => count = self.count(&at, &v),
                "type" => match v.as_str() {
                    Some(t @ ("string" | "hash" | "set" | "zset" | "list")) => kind = t.to_owned(),
                    other => {
                        let word = other.unwrap_or("?");
                        self.error_hint(
                            &at,
                            format!("unknown type `{word}`"),
                            suggest(word, &["string", "hash", "set", "zset", "list"]),
                        );
                    }
                },
                "ttl" => ttl = self.span(&at, &v),
                "value" => value_rule = self.column(&at, &v),
                "score" => score = self.column(&at, &v),
                "members" => {
                    if let Some(span) = self.span(&at, &v) {
                        members = span;
                    }
                }
                "fields" => {
                    let mut map = BTreeMap::new();
                    for (field, v) in self.map(&at, &v) {
                        if let Some(rule) = self.column(&child(&at, &field), &v) {
                            map.insert(field, rule);
                        }
                    }
                    fields = Some(map);
                }
                other => self.unknown(
                    &at,
                    other,
                    &["pattern", "count", "type", "ttl", "value", "fields", "members", "score"],
                ),
            }
        }
        let Some(pattern) = pattern else {
            self.error_hint(key, "the key family has no `pattern`", "such as `session:{uuid}`");
            return None;
        };
        if !pattern.iter().any(|p| matches!(p, Piece::Seq { .. } | Piece::Uuid)) {
            self.error_hint(
                &child(key, "pattern"),
                "the pattern makes the same key for every row",
                "put `{seq}` or `{uuid}` in it so each key is distinct",
            );
        }
        let default_value = || ColumnRule {
            kind: RuleKind::Fake { kind: FakeKind::Word, locale: None },
            null_ratio: 0.0,
            unique: false,
            key: child(key, "value"),
        };
        let value = match kind.as_str() {
            "hash" => match fields {
                Some(f) if !f.is_empty() => RedisValue::Hash(f),
                _ => {
                    self.error(key, "a hash needs `fields`");
                    return None;
                }
            },
            "set" => RedisValue::Set { members, value: value_rule.unwrap_or_else(default_value) },
            "list" => RedisValue::List { members, value: value_rule.unwrap_or_else(default_value) },
            "zset" => RedisValue::Zset {
                members,
                value: value_rule.unwrap_or_else(default_value),
                score: score.unwrap_or(ColumnRule {
                    kind: RuleKind::Range {
                        min: 0.0,
                        max: 1000.0,
                        distribution: Distribution::Uniform,
                        decimals: None,
                    },
                    null_ratio: 0.0,
                    unique: false,
                    key: child(key, "score"),
                }),
            },
            _ => RedisValue::String(value_rule.unwrap_or_else(default_value)),
        };
        (self.errors.len() == before).then_some(KeyRule {
            pattern,
            count: count.unwrap_or(DEFAULT_ROWS),
            value,
            ttl,
        })
    }
}

fn profile_item(key: &str, index: usize) -> String {
    format!("{key}[{index}]")
}

fn scalar(value: &Value) -> Scalar {
    match value {
        Value::Null => Scalar::Null,
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Scalar::Int(i),
            None => Scalar::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Scalar::Text(s.clone()),
        other => Scalar::Text(serde_yaml::to_string(other).unwrap_or_default().trim().to_owned()),
    }
}

/// `-365d`, `12h`, `30m`, `45s`, `2w`, `-18y` → seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let (number, factor) = match unit {
        's' => (&text[..text.len() - 1], 1),
        'm' => (&text[..text.len() - 1], 60),
        'h' => (&text[..text.len() - 1], 3_600),
        'd' => (&text[..text.len() - 1], 86_400),
        'w' => (&text[..text.len() - 1], 7 * 86_400),
        'y' => (&text[..text.len() - 1], 365 * 86_400),
        _ => (text, 1),
    };
    number.trim().parse::<i64>().ok()?.checked_mul(factor)
}

/// `2026-01-01` or `2026-01-01T12:30:00Z` (UTC) → Unix seconds.
pub fn parse_instant(text: &str) -> Option<i64> {
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.trim_end_matches('Z'))),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut seconds = days_from_civil(y, m, d) * 86_400;
    if let Some(time) = time {
        let mut t = time.split(':');
        let h: i64 = t.next()?.parse().ok()?;
        let min: i64 = t.next().unwrap_or("0").parse().ok()?;
        let s: i64 = t.next().unwrap_or("0").parse().ok()?;
        if !(0..24).contains(&h) || !(0..60).contains(&min) || !(0..61).contains(&s) {
            return None;
        }
        seconds += h * 3_600 + min * 60 + s;
    }
    Some(seconds)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `"ORD-{seq:06}"` → pieces. Placeholders: `{seq}`, `{seq:06}`, `{digits:4}`, `{letters:3}`,
/// `{hex:8}`, `{uuid}`, and `{column}` for another column of the row. `{{` and `}}` are braces.
pub fn parse_template(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => inner.push(c),
                        None => return Err(format!("`{{{inner}` is not closed with `}}`")),
                    }
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                let (name, arg) = match inner.split_once(':') {
                    Some((n, a)) => (n.trim(), Some(a.trim())),
                    None => (inner.trim(), None),
                };
                let width = |arg: Option<&str>, default: usize| -> Result<usize, String> {
                    match arg {
                        None => Ok(default),
                        Some(a) => a
                            .parse::<usize>()
                            .ok()
                            .filter(|w| *w <= 64)
                            .ok_or_else(|| format!("`{{{inner}}}`: expected a width up to 64")),
                    }
                };
                pieces.push(match name {
                    "seq" => Piece::Seq { width: width(arg, 0)? },
                    "digits" => Piece::Digits(width(arg, 4)?),
                    "letters" => Piece::Letters(width(arg, 4)?),
                    "hex" => Piece::Hex(width(arg, 8)?),
                    "uuid" => Piece::Uuid,
                    "" => return Err("`{}` names nothing".to_owned()),
                    column if arg.is_none() => Piece::Column(column.to_owned()),
                    _ => {
                        return Err(format!(
                            "unknown placeholder `{{{inner}}}`: expected seq, digits, letters, \
                             hex, uuid or a column name"
                        ));
                    }
                });
            }
            '}' => return Err("a `}` with no `{` (write `}}` for a brace)".to_owned()),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match SeedFile::parse(Path::new("seeds/x.yaml"), text) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_full_file_parses() {
        let file = SeedFile::parse(
            Path::new("s.yaml"),
            "anchor: 2025-06-01\nlocale: de_de\ndefault_rows: 50\ntables:\n  users:\n    rows: 10\n    columns:\n      email: { fake: safe_email, unique: true }\n      country: { one_of: { US: 5, DE: 2 } }\n      balance: { range: [0, 10.5], distribution: normal, decimals: 2 }\n      code: { template: \"U-{seq:04}\" }\n      created_at: { time: { from: -30d, to: 0d } }\n      updated_at: { after: created_at, within: [1h, 2d] }\n      nick: { fake: username, null_ratio: 0.5 }\n  orders:\n    rows_per: { users: [0, 3] }\n    columns:\n      user_id: { ref: users.id, distribution: zipf, skew: 1.3 }\n      n: { sequence: { start: 100, step: 10 } }\nkeys:\n  sessions:\n    pattern: \"session:{uuid}\"\n    count: 5\n    type: hash\n    ttl: [60, 120]\n    fields:\n      user: { range: [1, 10] }\n",
        )
        .unwrap();
        assert_eq!(file.anchor, 1_748_736_000);
        assert_eq!(file.locale, Locale::DeDe);
        assert_eq!(file.default_rows, 50);
        let users = &file.tables["users"];
        assert_eq!(users.rows, Some(Rows::Count(10)));
        assert!(users.columns["email"].unique);
        assert_eq!(
            users.columns["updated_at"].kind,
            RuleKind::After { column: "created_at".into(), min: 3_600, max: 172_800 }
        );
        assert_eq!(
            users.columns["code"].kind,
            RuleKind::Template(vec![Piece::Text("U-".into()), Piece::Seq { width: 4 }])
        );
        assert_eq!(
            file.tables["orders"].rows,
            Some(Rows::Per { parent: "users".into(), min: 0, max: 3 })
        );
        assert_eq!(
            file.tables["orders"].columns["user_id"].kind,
            RuleKind::Ref {
                table: "users".into(),
                column: "id".into(),
                distribution: Distribution::Zipf { skew: 1.3 }
            }
        );
        assert!(matches!(file.keys["sessions"].value, RedisValue::Hash(_)));
        assert_eq!(file.keys["sessions"].ttl, Some((60, 120)));
    }

    #[test]
    fn errors_name_the_file_key_and_line() {
        let cases: &[(&str, &str)] = &[
            (
                "tables:\n  users:\n    rows: ten\n",
                "seeds/x.yaml:3:5: tables.users.rows: expected a whole number of 0 or more",
            ),
            (
                "tables:\n  users:\n    columns:\n      email: { fake: safe_emial }\n",
                "seeds/x.yaml:4:16: tables.users.columns.email.fake: unknown fake generator `safe_emial`\n  hint: did you mean `safe_email`?",
            ),
            (
                "tables:\n  users:\n    colums: {}\n",
                "seeds/x.yaml:3:5: tables.users.colums: unknown key `colums`\n  hint: did you mean `columns`?",
            ),
            (
                "tables:\n  t:\n    columns:\n      a: { range: [5, 1] }\n",
                "seeds/x.yaml:4:12: tables.t.columns.a.range: the range [5, 1] is upside down",
            ),
            (
                "tables:\n  t:\n    columns:\n      a: { range: [1, 5], one_of: [1] }\n",
                "seeds/x.yaml:4:7: tables.t.columns.a: the rule names 2 generators (range, one_of)\n  hint: name one of `fake`, `range`, `one_of`, `sequence`, `template`, `ref`, `time`, `after`, `value`",
            ),
            (
                "tables:\n  t:\n    columns:\n      a: { template: \"X-{seq\" }\n",
                "seeds/x.yaml:4:12: tables.t.columns.a.template: `{seq` is not closed with `}`",
            ),
            (
                "tables:\n  t:\n    columns:\n      a: { ref: users }\n",
                "seeds/x.yaml:4:12: tables.t.columns.a.ref: expected `table.column`, got `users`",
            ),
            (
                "anchor: yesterday\n",
                "seeds/x.yaml:1:1: anchor: `yesterday` is not a date\n  hint: write 2026-01-01 or 2026-01-01T12:00:00Z (UTC)",
            ),
            (
                "keys:\n  s:\n    pattern: session\n",
                "seeds/x.yaml:3:5: keys.s.pattern: the pattern makes the same key for every row\n  hint: put `{seq}` or `{uuid}` in it so each key is distinct",
            ),
            (
                "tables:\n  t:\n    columns:\n      a: { fake: name, decimals: 2 }\n",
                "seeds/x.yaml:4:24: tables.t.columns.a.decimals: `decimals` does not apply to `fake`",
            ),
        ];
        let mut wrong = Vec::new();
        for (text, expected) in cases {
            let got = errors(text);
            if got.first().map(String::as_str) != Some(*expected) {
                wrong.push(format!("for {text:?}:\n  got      {got:?}\n  expected {expected:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn durations_and_instants() {
        assert_eq!(parse_duration("-365d"), Some(-365 * 86_400));
        assert_eq!(parse_duration("12h"), Some(43_200));
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_instant("1970-01-01"), Some(0));
        assert_eq!(parse_instant("2026-01-01"), Some(DEFAULT_ANCHOR));
        assert_eq!(parse_instant("2000-02-29T12:00:00Z"), Some(951_825_600));
        assert_eq!(parse_instant("2000-13-01"), None);
    }
}
