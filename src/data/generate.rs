//! Rows from a plan: each value a pure function of (seed, table, column, row), written straight
//! into the engines' text bulk format.
//!
//! PostgreSQL's `COPY … FROM STDIN` text format and MySQL's `LOAD DATA` defaults are the same
//! format: tab between fields, newline after each row, `\N` for NULL, backslash escapes. So one
//! writer serves both, and only a few values print differently (`t`/`1`).
//!
//! Uniqueness is by construction, never by retries or a set of values seen: sequences count rows,
//! unique numbers come from a bijection of the row numbers onto the range ([`Permutation`]),
//! unique text carries the row number as a suffix that no other row can produce, and a foreign
//! key that must be unique (one-to-one, or a join table's composite key) picks parent rows through
//! a bijection too. A row's values never depend on other rows, so generation can run in any order
//! on any number of threads and still give the same data.

use std::fmt::Write as _;
use std::sync::Arc;

use super::fakes::{FakeKind, Locale, format_uuid};
use super::rng::{Permutation, RowRng, key};
use super::seedfile::{Distribution, Scalar};

/// How values print for an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Mysql,
}

/// What a column holds, as far as formatting goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Int,
    /// Exact numeric with this many decimals.
    Decimal(u32),
    Float,
    Text,
    Bool,
    Date,
    Timestamp,
    /// A time zone aware timestamp (PostgreSQL `timestamptz`): printed with `+00`.
    TimestampTz,
    Time,
    Uuid,
    Json,
    /// PostgreSQL `bytea`, MySQL blobs: printed as hex.
    Bytes,
    Year,
}

/// A computed value, before formatting.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    /// Unix seconds.
    Time(i64),
    Uuid(u128),
}

impl Val {
    fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) | Val::Time(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// A column's generator, resolved against the schema.
#[derive(Clone, Debug)]
pub enum Gen {
    Null,
    Const(Scalar),
    Sequence {
        start: i64,
        step: i64,
    },
    Int {
        min: i64,
        max: i64,
        distribution: Distribution,
        unique: bool,
    },
    Decimal {
        min: f64,
        max: f64,
        distribution: Distribution,
    },
    OneOf {
        values: Vec<Scalar>,
        /// Running totals of the weights.
        cumulative: Vec<u64>,
        unique: bool,
    },
    Fake {
        kind: FakeKind,
        locale: Locale,
        unique: bool,
    },
    /// Lorem words between `min` and `max` characters.
    Text {
        min: usize,
        max: usize,
        unique: bool,
    },
    Template(Vec<Part>),
    /// A foreign key: a parent row, and that row's value of the referenced column.
    Ref(Box<Ref>),
    /// Unix seconds in `from..=to`.
    Time {
        from: i64,
        to: i64,
        unique: bool,
    },
    /// Column `column` of the same row plus `min..=max`. When that column is NULL in the row,
    /// so is this one, unless this one takes no NULL: then the other column's value as it would
    /// have been is the base.
    After {
        column: usize,
        min: i64,
        max: i64,
        nullable: bool,
    },
    Bool,
    Uuid,
    Json,
    Bytes {
        unique: bool,
    },
    /// A foreign key to a table dbtwin does not fill (reference data a migration inserted): one
    /// of its rows as read, picked per row.
    Existing {
        rows: Arc<Vec<Vec<Option<String>>>>,
        index: usize,
        fk_key: u64,
    },
}

#[derive(Clone, Debug)]
pub enum Part {
    Text(String),
    Seq { width: usize },
    Column(usize),
    Digits(usize),
    Letters(usize),
    Hex(usize),
    Uuid,
}

/// Which parent row a foreign key points at.
#[derive(Clone, Debug)]
pub struct Ref {
    /// The parent table's index in the plan's tables.
    pub parent: usize,
    pub parent_column: usize,
    /// The key of the foreign key: all its columns pick the same parent row.
    pub fk_key: u64,
    pub pick: Pick,
}

#[derive(Clone, Debug)]
pub enum Pick {
    /// The parent row this row was generated under (`rows_per`).
    Owner,
    /// A self-reference: an earlier row of the same table (row 0 gets NULL, or itself when the
    /// column takes no NULL), so the rows form trees.
    Earlier {
        nullable: bool,
    },
    Random(Distribution),
    /// One parent row per child row (a unique foreign key): a bijection.
    Unique,
    /// A digit of the row's position in a composite unique key over several foreign keys:
    /// `(perm(row) / divisor) % parent_rows`.
    Combo {
        divisor: u64,
        space: u64,
    },
}

/// One column: its generator and how it prints.
#[derive(Clone, Debug)]
pub struct ColumnGen {
    pub name: String,
    pub shape: Shape,
    pub generator: Gen,
    pub null_ratio: f64,
    /// Longest text the column takes, in characters.
    pub max_length: Option<usize>,
    /// The column's random key: hash of seed, table and column.
    pub key: u64,
}

/// A table's rows: `rows` of them, or `min..=max` per row of a parent.
#[derive(Clone, Debug)]
pub struct TableGen {
    pub name: String,
    pub columns: Vec<ColumnGen>,
    pub rows: u64,
    /// For `rows_per` tables: the end row of each parent row's children (running totals).
    pub owners: Option<Vec<u64>>,
    pub key: u64,
}

impl TableGen {
    /// The table generator with `rows` rows, or with `min..=max` rows per `parent` row.
    pub fn new(
        seed: u64,
        name: &str,
        columns: Vec<ColumnGen>,
        rows: u64,
        per: Option<(u64, u64, u64)>,
    ) -> TableGen {
        let key = key(seed, &[name, "\u{0}rows"]);
        let owners = per.map(|(parent_rows, min, max)| {
            let mut total = 0;
            (0..parent_rows)
                .map(|p| {
                    total += min + RowRng::new(key, p).below(max - min + 1);
                    total
                })
                .collect::<Vec<u64>>()
        });
        let rows = owners.as_ref().map_or(rows, |o| o.last().copied().unwrap_or(0));
        TableGen { name: name.to_owned(), columns, rows, owners, key }
    }

    /// The parent row that row `row` of a `rows_per` table belongs to.
    pub fn owner(&self, row: u64) -> u64 {
        self.owners.as_ref().map_or(0, |o| o.partition_point(|end| *end <= row) as u64)
    }

    /// The value of column `index` in row `row`.
    pub fn value(&self, tables: &[TableGen], index: usize, row: u64) -> Val {
        let column = &self.columns[index];
        let mut rng = RowRng::new(column.key, row);
        if column.null_ratio > 0.0 && rng.unit() < column.null_ratio {
            return Val::Null;
        }
        let value = self.draw(tables, column, row, &mut rng);
        match (value, column.max_length) {
            (Val::Text(text), Some(max)) if text.chars().count() > max => {
                if unique_text(&column.generator) {
                    Val::Text(fit_unique(&text, max, row, self.rows))
                } else {
                    Val::Text(text.chars().take(max).collect())
                }
            }
            (value, _) => value,
        }
    }

    fn draw(&self, tables: &[TableGen], column: &ColumnGen, row: u64, rng: &mut RowRng) -> Val {
        match &column.generator {
            Gen::Null => Val::Null,
            Gen::Const(s) => scalar(s),
            Gen::Sequence { start, step } => Val::Int(start + step * row as i64),
            Gen::Int { min, max, distribution, unique } => {
                let span = (*max as i128 - *min as i128 + 1) as u64;
                let offset = if *unique {
                    Permutation::new(column.key, span).apply(row)
                } else {
                    pick(rng, span, *distribution)
                };
                Val::Int((*min as i128 + offset as i128) as i64)
            }
            Gen::Decimal { min, max, distribution } => {
                let u = match distribution {
                    Distribution::Uniform => rng.unit(),
                    Distribution::Normal => (0.5 + rng.normal() / 6.0).clamp(0.0, 1.0),
                    Distribution::Zipf { skew } => rng.zipf(1_000_000, *skew) as f64 / 1_000_000.0,
                };
                Val::Float(min + (max - min) * u)
            }
            Gen::OneOf { values, cumulative, unique } => {
                let total = cumulative.last().copied().unwrap_or(1);
                let index = if *unique {
                    Permutation::new(column.key, values.len() as u64).apply(row) as usize
                } else {
                    let at = rng.below(total);
                    cumulative.partition_point(|c| *c <= at)
                };
                scalar(&values[index.min(values.len() - 1)])
            }
            Gen::Fake { kind, locale, unique } => {
                let value = kind.draw(*locale, rng);
                Val::Text(if *unique { make_unique(&value, row) } else { value })
            }
            Gen::Text { min, max, unique } => {
                let mut text = String::new();
                let target = min + rng.below((max - min + 1) as u64) as usize;
                while text.len() < target {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(&FakeKind::Word.draw(Locale::En, rng));
                }
                let mut text = truncate(&text, (*max).max(1));
                // A fixed-width column ignores trailing spaces when it counts characters.
                if text.ends_with(' ') {
                    text.pop();
                    text.push('x');
                }
                Val::Text(if *unique { make_unique(&text, row) } else { text })
            }
            Gen::Template(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        Part::Text(t) => out.push_str(t),
                        Part::Seq { width } => {
                            let _ = write!(out, "{:0width$}", row + 1, width = *width);
                        }
                        Part::Column(i) => match self.value(tables, *i, row) {
                            Val::Null => {}
                            v => out.push_str(&plain(&v)),
                        },
                        Part::Digits(n) => {
                            (0..*n).for_each(|_| out.push((b'0' + rng.below(10) as u8) as char))
                        }
                        Part::Letters(n) => {
                            (0..*n).for_each(|_| out.push((b'A' + rng.below(26) as u8) as char))
                        }
                        Part::Hex(n) => (0..*n).for_each(|_| {
                            out.push(char::from_digit(rng.below(16) as u32, 16).unwrap_or('0'))
                        }),
                        Part::Uuid => out.push_str(&format_uuid(unique_uuid(self.key, row))),
                    }
                }
                Val::Text(out)
            }
            Gen::Ref(r) => {
                let parent = &tables[r.parent];
                let parent_rows = parent.rows.max(1);
                let mut fk_rng = RowRng::new(r.fk_key, row);
                let parent_row = match &r.pick {
                    Pick::Owner => self.owner(row),
                    Pick::Earlier { nullable } => match row {
                        0 if *nullable => return Val::Null,
                        0 => 0,
                        _ => fk_rng.below(row),
                    },
                    Pick::Random(distribution) => {
                        let index = pick(&mut fk_rng, parent_rows, *distribution);
                        // Skew favours low indices; scatter them so the popular parents are not
                        // simply the first ones.
                        match distribution {
                            Distribution::Zipf { .. } => {
                                Permutation::new(r.fk_key, parent_rows).apply(index)
                            }
                            _ => index,
                        }
                    }
                    Pick::Unique => Permutation::new(r.fk_key, parent_rows).apply(row),
                    Pick::Combo { divisor, space } => {
                        (Permutation::new(r.fk_key, *space).apply(row) / divisor) % parent_rows
                    }
                };
                parent.value(tables, r.parent_column, parent_row)
            }
            Gen::Time { from, to, unique } => {
                let span = (to - from + 1) as u64;
                let offset = if *unique {
                    // Distinct in the unit the column keeps: days for a date, seconds of one day
                    // for a time of day.
                    let (step, span) = time_unit(&column.shape, span);
                    Permutation::new(column.key, span).apply(row) as i64 * step
                } else {
                    rng.below(span) as i64
                };
                Val::Time(from + offset)
            }
            Gen::After { column: other, min, max, nullable } => {
                let base = match self.value(tables, *other, row) {
                    Val::Null if !nullable => {
                        let c = &self.columns[*other];
                        self.draw(tables, c, row, &mut RowRng::new(c.key, row))
                    }
                    v => v,
                };
                let delta = min + rng.below((max - min + 1) as u64) as i64;
                match base {
                    Val::Time(t) => Val::Time(t + delta),
                    Val::Int(i) => Val::Int(i + delta),
                    Val::Float(f) => Val::Float(f + delta as f64),
                    other => other,
                }
            }
            Gen::Bool => Val::Bool(rng.below(2) == 1),
            Gen::Uuid => Val::Uuid(unique_uuid(column.key, row)),
            Gen::Json => {
                let word = FakeKind::Word.draw(Locale::En, rng);
                Val::Text(format!("{{\"tag\": \"{word}\", \"n\": {}}}", rng.below(1000)))
            }
            Gen::Bytes { unique } => {
                let mut text = String::new();
                (0..16).for_each(|_| {
                    let _ = write!(text, "{:02x}", rng.below(256));
                });
                Val::Text(if *unique { make_unique(&text, row) } else { text })
            }
            Gen::Existing { rows, index, fk_key } => {
                let at = RowRng::new(*fk_key, row).below(rows.len().max(1) as u64) as usize;
                match rows.get(at).and_then(|r| r.get(*index)).cloned().flatten() {
                    Some(text) => Val::Text(text),
                    None => Val::Null,
                }
            }
        }
    }

    /// Writes rows `rows` as text bulk-format lines into `out`.
    pub fn write_rows(
        &self,
        tables: &[TableGen],
        rows: std::ops::Range<u64>,
        dialect: Dialect,
        out: &mut Vec<u8>,
    ) {
        let mut scratch = String::new();
        for row in rows {
            for (i, column) in self.columns.iter().enumerate() {
                if i > 0 {
                    out.push(b'\t');
                }
                let value = self.value(tables, i, row);
                write_value(&value, &column.shape, dialect, &mut scratch, out);
            }
            out.push(b'\n');
        }
    }
}

/// Text values that carry their row number (so truncation must keep it).
pub fn unique_text(generator: &Gen) -> bool {
    match generator {
        Gen::Fake { unique, .. } | Gen::Text { unique, .. } | Gen::Bytes { unique } => *unique,
        Gen::Template(parts) => parts.iter().any(|p| matches!(p, Part::Seq { .. } | Part::Uuid)),
        _ => false,
    }
}

/// Digits of `n` in base 36: the width of a row number written in `0-9a-z`.
pub fn base36_width(n: u64) -> usize {
    let mut width = 1;
    let mut n = n / 36;
    while n > 0 {
        width += 1;
        n /= 36;
    }
    width
}

/// `text` cut to `max` characters yet unique to `row`: its head, then the row number in base 36
/// at a fixed width (that of the table's row count), so the last characters alone tell rows apart.
fn fit_unique(text: &str, max: usize, row: u64, rows: u64) -> String {
    let width = base36_width(rows).min(max);
    let mut digits = Vec::with_capacity(width);
    let mut n = row;
    for _ in 0..width {
        digits.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
    }
    let mut out: String = text.chars().take(max - width).collect();
    out.extend(digits.into_iter().rev());
    out
}

/// A unique time's step and number of distinct values, in the unit the shape keeps.
pub fn time_unit(shape: &Shape, span_seconds: u64) -> (i64, u64) {
    match shape {
        Shape::Date => (86_400, (span_seconds / 86_400).max(1)),
        Shape::Time => (1, span_seconds.min(86_400)),
        _ => (1, span_seconds),
    }
}

/// `text` made unique to `row` by construction. An email keeps its domain: the suffix goes
/// before `@` (`jane.doe.42@example.com`). Otherwise `-42`. The suffix after the last `.`/`-` is
/// the row number alone, so two rows can never produce the same text.
fn make_unique(text: &str, row: u64) -> String {
    match text.split_once('@') {
        Some((local, domain)) => format!("{local}.{}@{domain}", row + 1),
        None => format!("{text}-{}", row + 1),
    }
}

/// At most `max` characters.
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// An index in `0..n` by distribution.
fn pick(rng: &mut RowRng, n: u64, distribution: Distribution) -> u64 {
    match distribution {
        Distribution::Uniform => rng.below(n),
        Distribution::Normal => {
            let x = (0.5 + rng.normal() / 6.0).clamp(0.0, 1.0);
            ((x * n as f64) as u64).min(n - 1)
        }
        Distribution::Zipf { skew } => rng.zipf(n, skew),
    }
}

/// 128 bits unique to `row` under `key`: the low 64 are a bijection of the row.
fn unique_uuid(key: u64, row: u64) -> u128 {
    let unique = super::rng::mix(row ^ key);
    let random = super::rng::mix(key ^ row.rotate_left(17));
    // format_uuid overwrites the version and variant bits, which sit in the high half here.
    (u128::from(random) << 64) | u128::from(unique)
}

fn scalar(s: &Scalar) -> Val {
    match s {
        Scalar::Null => Val::Null,
        Scalar::Bool(b) => Val::Bool(*b),
        Scalar::Int(i) => Val::Int(*i),
        Scalar::Float(f) => Val::Float(*f),
        Scalar::Text(t) => Val::Text(t.clone()),
    }
}

/// A value as text for templates and Redis: no escaping, times in ISO form.
pub fn plain(value: &Val) -> String {
    let mut out = Vec::new();
    let mut scratch = String::new();
    let shape = match value {
        Val::Time(_) => Shape::Timestamp,
        Val::Float(_) => Shape::Float,
        _ => Shape::Text,
    };
    write_raw(value, &shape, Dialect::Postgres, &mut scratch, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// One field in the bulk text format.
pub fn write_value(
    value: &Val,
    shape: &Shape,
    dialect: Dialect,
    scratch: &mut String,
    out: &mut Vec<u8>,
) {
    if matches!(value, Val::Null) {
        out.extend_from_slice(b"\\N");
        return;
    }
    let start = out.len();
    write_raw(value, shape, dialect, scratch, out);
    // Escape what the format gives meaning to; only text can hold such bytes.
    if out[start..].iter().any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        let raw = out.split_off(start);
        for b in raw {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b => out.push(b),
            }
        }
    }
}

fn write_raw(
    value: &Val,
    shape: &Shape,
    dialect: Dialect,
    scratch: &mut String,
    out: &mut Vec<u8>,
) {
    scratch.clear();
    match (value, shape) {
        (Val::Null, _) => {}
        (Val::Bool(b), Shape::Int) => scratch.push(if *b { '1' } else { '0' }),
        (Val::Bool(b), _) => scratch.push_str(match (dialect, b) {
            (Dialect::Postgres, true) => "t",
            (Dialect::Postgres, false) => "f",
            (Dialect::Mysql, true) => "1",
            (Dialect::Mysql, false) => "0",
        }),
        (Val::Int(i), Shape::Bool) => scratch.push(if *i != 0 { '1' } else { '0' }),
        (Val::Int(i), _) => push_int(scratch, *i),
        (v, Shape::Decimal(scale)) if v.as_f64().is_some() => {
            push_decimal(scratch, v.as_f64().unwrap_or(0.0), *scale);
        }
        (Val::Float(f), Shape::Int | Shape::Year) => {
            let _ = write!(scratch, "{}", f.round() as i64);
        }
        (Val::Float(f), _) => {
            let _ = write!(scratch, "{f}");
        }
        (Val::Time(t), Shape::Date) => write_date(scratch, t.div_euclid(86_400)),
        (Val::Time(t), Shape::Time) => {
            let s = t.rem_euclid(86_400);
            let _ = write!(scratch, "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
        }
        (Val::Time(t), Shape::Int | Shape::Year) => {
            let _ = write!(scratch, "{}", civil_from_days(t.div_euclid(86_400)).0);
        }
        (Val::Time(t), shape) => {
            write_date(scratch, t.div_euclid(86_400));
            let s = t.rem_euclid(86_400) as u64;
            scratch.push(' ');
            push_digits(scratch, s / 3600, 2);
            scratch.push(':');
            push_digits(scratch, s / 60 % 60, 2);
            scratch.push(':');
            push_digits(scratch, s % 60, 2);
            if *shape == Shape::TimestampTz && dialect == Dialect::Postgres {
                scratch.push_str("+00");
            }
        }
        (Val::Uuid(u), _) => scratch.push_str(&format_uuid(*u)),
        (Val::Text(t), Shape::Bytes) if dialect == Dialect::Postgres => {
            scratch.push_str("\\x");
            for b in t.bytes() {
                let _ = write!(scratch, "{b:02x}");
            }
        }
        (Val::Text(t), _) => {
            out.extend_from_slice(t.as_bytes());
            return;
        }
    }
    out.extend_from_slice(scratch.as_bytes());
}

fn write_date(out: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    if (0..10_000).contains(&y) {
        push_digits(out, y as u64, 4);
        out.push('-');
        push_digits(out, u64::from(m), 2);
        out.push('-');
        push_digits(out, u64::from(d), 2);
    } else {
        let _ = write!(out, "{y:04}-{m:02}-{d:02}");
    }
}

/// `v` in decimal, zero-padded to `width`: by hand, as `write!` is the slowest part of a row.
fn push_digits(out: &mut String, mut v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = i.min(buf.len() - width.min(20));
    out.extend(buf[start..].iter().map(|&b| b as char));
}

fn push_int(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_digits(out, v.unsigned_abs(), 1);
}

/// `v` with exactly `scale` decimals, rounded half away from zero.
fn push_decimal(out: &mut String, v: f64, scale: u32) {
    let factor = 10f64.powi(scale as i32);
    let scaled = (v * factor).round();
    if !scaled.is_finite() || scaled.abs() >= 9.0e18 {
        let _ = write!(out, "{:.*}", scale as usize, v);
        return;
    }
    let scaled = scaled as i64;
    if scaled < 0 {
        out.push('-');
    }
    let magnitude = scaled.unsigned_abs();
    let unit = 10u64.pow(scale);
    push_digits(out, magnitude / unit, 1);
    if scale > 0 {
        out.push('.');
        push_digits(out, magnitude % unit, scale as usize);
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, shape: Shape, generator: Gen) -> ColumnGen {
        ColumnGen {
            name: name.into(),
            shape,
            generator,
            null_ratio: 0.0,
            max_length: None,
            key: key(1, &["t", name]),
        }
    }

    fn lines(table: &TableGen, dialect: Dialect) -> Vec<String> {
        let mut out = Vec::new();
        table.write_rows(&[], 0..table.rows, dialect, &mut out);
        String::from_utf8(out).unwrap().lines().map(str::to_owned).collect()
    }

    #[test]
    fn rows_are_pure_functions_of_their_number() {
        let table = TableGen::new(
            1,
            "t",
            vec![
                column("id", Shape::Int, Gen::Sequence { start: 1, step: 1 }),
                column(
                    "email",
                    Shape::Text,
                    Gen::Fake { kind: FakeKind::SafeEmail, locale: Locale::En, unique: true },
                ),
                column("at", Shape::TimestampTz, Gen::Time { from: 0, to: 86_399, unique: false }),
                column(
                    "later",
                    Shape::TimestampTz,
                    Gen::After { column: 2, min: 60, max: 60, nullable: false },
                ),
                column("ok", Shape::Bool, Gen::Bool),
            ],
            50,
            None,
        );
        let all = lines(&table, Dialect::Postgres);
        let mut out = Vec::new();
        table.write_rows(&[], 20..21, Dialect::Postgres, &mut out);
        assert_eq!(String::from_utf8(out).unwrap().trim_end(), all[20]);
        let fields: Vec<&str> = all[0].split('\t').collect();
        assert_eq!(fields[0], "1");
        assert!(fields[1].contains(".1@"), "{}", fields[1]);
        assert!(fields[2].starts_with("1970-01-01 ") && fields[2].ends_with("+00"));
        assert!(fields[4] == "t" || fields[4] == "f");
        let emails: std::collections::BTreeSet<&str> =
            all.iter().map(|l| l.split('\t').nth(1).unwrap()).collect();
        assert_eq!(emails.len(), 50);
    }

    #[test]
    fn unique_ranges_and_one_of_are_bijections() {
        let table = TableGen::new(
            3,
            "t",
            vec![
                column(
                    "n",
                    Shape::Int,
                    Gen::Int {
                        min: 10,
                        max: 19,
                        distribution: Distribution::Uniform,
                        unique: true,
                    },
                ),
                column(
                    "c",
                    Shape::Text,
                    Gen::OneOf {
                        values: (0..10).map(Scalar::Int).collect(),
                        cumulative: (1..=10).collect(),
                        unique: true,
                    },
                ),
            ],
            10,
            None,
        );
        let all = lines(&table, Dialect::Mysql);
        let mut n: Vec<&str> = all.iter().map(|l| l.split('\t').next().unwrap()).collect();
        n.sort_unstable();
        n.dedup();
        assert_eq!(n.len(), 10);
        let mut c: Vec<&str> = all.iter().map(|l| l.split('\t').nth(1).unwrap()).collect();
        c.sort_unstable();
        c.dedup();
        assert_eq!(c.len(), 10);
    }

    #[test]
    fn text_is_escaped_and_nulls_print_as_backslash_n() {
        let mut out = Vec::new();
        let mut s = String::new();
        write_value(
            &Val::Text("a\tb\\c\nd".into()),
            &Shape::Text,
            Dialect::Postgres,
            &mut s,
            &mut out,
        );
        out.push(b'|');
        write_value(&Val::Null, &Shape::Text, Dialect::Postgres, &mut s, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "a\\tb\\\\c\\nd|\\N");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(truncate("abcdefgh", 5), "abcde");
        let mut t = String::new();
        push_decimal(&mut t, 12.345, 2);
        t.push('|');
        push_decimal(&mut t, -0.5, 2);
        t.push('|');
        push_decimal(&mut t, 7.0, 0);
        t.push('|');
        push_int(&mut t, -42);
        t.push('|');
        push_digits(&mut t, 7, 3);
        assert_eq!(t, "12.35|-0.50|7|-42|007");
        // Unique text cut short keeps a fixed-width base-36 row number: 1,000 rows in 2
        // characters stay distinct.
        let cut: std::collections::BTreeSet<String> =
            (0..1000).map(|r| fit_unique("C-000123", 2, r, 1000)).collect();
        assert_eq!(cut.len(), 1000);
        assert_eq!(fit_unique("abcdef", 4, 35, 1000), "ab0z");
        assert_eq!(make_unique("jane@example.com", 0), "jane.1@example.com");
    }

    #[test]
    fn rows_per_parent_and_owner_lookup_agree() {
        let parent = TableGen::new(1, "p", vec![], 5, None);
        let child = TableGen::new(1, "c", vec![], 0, Some((parent.rows, 0, 3)));
        let owners = child.owners.clone().unwrap();
        assert_eq!(owners.len(), 5);
        for row in 0..child.rows {
            let owner = child.owner(row) as usize;
            let start = if owner == 0 { 0 } else { owners[owner - 1] };
            assert!(start <= row && row < owners[owner]);
        }
    }
}
