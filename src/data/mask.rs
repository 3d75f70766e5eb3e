//! Masking: the transformers that replace personal values in rows copied from a production source.
//!
//! Every transformer is a pure function of (project key, rule, input value[, tweak]) and of nothing
//! else: not the table, not the column, not the run. The same e-mail address therefore masks to the
//! same output in every table of every database, so joins still line up, and nobody without the key
//! can recompute or reverse the mapping. The key is a [`MaskKey`] derived from the project's secret;
//! each rule draws its own subkey from it (so `fake: name` and `keep-format` of one value are
//! unrelated), never a per-table or per-column one.
//!
//! Key, unique and foreign-key columns need a keyed *bijection* so uniqueness holds by construction:
//! `keep-format`, `email`, and `hash` on integers, decimals and UUIDs are format-preserving
//! permutations ([`Masker::unmask`] inverts them, given the key). The permutation is a small
//! Feistel-like cipher over the value's "symbols" (digits in radix 10, letters in radix 26, hex digits
//! in radix 16, a number's leading digit in radix 9), everything else staying in place; see
//! [`permute`]. The other rules ([`Rule::Fake`], text [`Rule::Hash`], [`Rule::Redact`], …) are
//! plain keyed functions.
//!
//! A [`Masker`] is a rule prepared for one column's [`ColumnShape`]: subkeys derived once, so
//! [`Masker::apply`] costs one SipHash plus a few multiplications per character and allocates only
//! what it writes.

use std::fmt;
use std::hash::Hasher as _;

use sha2::{Digest, Sha256};
use siphasher::sip128::{Hasher128 as _, SipHasher13};

use super::fakes::{FakeKind, Locale};
use super::rng::{RowRng, mix};
use crate::schema::Column;

/// The project's masking key: 32 bytes derived from its secret. Never printed: [`MaskKey::id`] is
/// the public fingerprint to record in reports.
#[derive(Clone)]
pub struct MaskKey {
    bytes: [u8; 32],
    /// Kept ready: the leak check fingerprints every original value.
    fingerprint: SubKey,
}

impl MaskKey {
    /// The key of a project secret (any bytes; a passphrase or random bytes from a secret store).
    pub fn derive(secret: &[u8]) -> MaskKey {
        let digest =
            Sha256::new().chain_update(b"dbtwin mask key v1\0").chain_update(secret).finalize();
        let mut bytes = [0; 32];
        bytes.copy_from_slice(&digest);
        let mut key = MaskKey { bytes, fingerprint: SubKey { k0: 0, k1: 0 } };
        key.fingerprint = key.subkey("fingerprint");
        key
    }

    /// A short public fingerprint of the key (8 hex digits), safe to print and record: it tells
    /// whether two runs used the same key without saying anything about the key.
    pub fn id(&self) -> String {
        let digest =
            Sha256::new().chain_update(b"dbtwin mask key id\0").chain_update(self.bytes).finalize();
        digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
    }

    /// A keyed 64-bit hash of `value`. The leak check keeps sets of these rather than of the
    /// originals, so the originals never sit in memory longer than a row.
    pub fn fingerprint(&self, value: &[u8]) -> u64 {
        self.fingerprint.hash64(value)
    }

    /// The subkey of one rule domain (`"keep-format"`, `"fake name en"`, …).
    fn subkey(&self, domain: &str) -> SubKey {
        let digest = Sha256::new()
            .chain_update(b"dbtwin mask subkey\0")
            .chain_update(self.bytes)
            .chain_update(domain.as_bytes())
            .finalize();
        let word = |i: usize| u64::from_le_bytes(digest[i..i + 8].try_into().expect("8 bytes"));
        SubKey { k0: word(0), k1: word(8) }
    }
}

impl fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaskKey({})", self.id())
    }
}

/// A 128-bit SipHash key of one rule domain.
#[derive(Clone, Copy)]
struct SubKey {
    k0: u64,
    k1: u64,
}

impl SubKey {
    fn sip(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }

    fn hash64(&self, value: &[u8]) -> u64 {
        let mut h = self.sip();
        h.write(value);
        h.finish()
    }

    /// Hash of `value` with a small discriminator (a retry counter, or which of value/tweak).
    fn hash128(&self, tag: u8, value: &[u8]) -> (u64, u64) {
        let mut h = self.sip();
        h.write_u8(tag);
        h.write(value);
        let out = h.finish128();
        (out.h1, out.h2)
    }
}

/// What a column holds, as far as masking cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Integer,
    Decimal,
    Date,
    Timestamp,
    Json,
    Uuid,
    Bool,
    Other,
}

impl ValueKind {
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Text => "text",
            ValueKind::Integer => "integer",
            ValueKind::Decimal => "decimal",
            ValueKind::Date => "date",
            ValueKind::Timestamp => "timestamp",
            ValueKind::Json => "json",
            ValueKind::Uuid => "uuid",
            ValueKind::Bool => "boolean",
            ValueKind::Other => "other",
        }
    }
}

/// The facts about a column a rule needs: what it holds and what fits in it.
#[derive(Clone, Debug)]
pub struct ColumnShape {
    pub kind: ValueKind,
    /// Maximum length in characters (character types).
    pub max_length: Option<u32>,
    /// Digits after the decimal point (exact numerics).
    pub scale: Option<u32>,
    pub nullable: bool,
    /// The inclusive range of an integer type (`smallint`: -32768..=32767, `int unsigned`:
    /// 0..=4294967295); `None` means a 64-bit signed integer. Integer permutations cycle-walk to
    /// stay inside it.
    pub int_range: Option<(i128, i128)>,
}

impl ColumnShape {
    /// A nullable column of `kind` without length, scale or range limits.
    pub fn new(kind: ValueKind) -> ColumnShape {
        ColumnShape { kind, max_length: None, scale: None, nullable: true, int_range: None }
    }

    pub fn with_max_length(mut self, max_length: u32) -> ColumnShape {
        self.max_length = Some(max_length);
        self
    }

    pub fn with_scale(mut self, scale: u32) -> ColumnShape {
        self.scale = Some(scale);
        self
    }

    pub fn with_nullable(mut self, nullable: bool) -> ColumnShape {
        self.nullable = nullable;
        self
    }

    pub fn with_int_range(mut self, min: i128, max: i128) -> ColumnShape {
        self.int_range = Some((min, max));
        self
    }
}

/// The shape of a catalogue column, from its type in PostgreSQL's or MySQL's spelling. Unknown
/// base types are text: on PostgreSQL they are enums and domains named by the user, as in `infer`.
pub fn shape_of(column: &Column) -> ColumnShape {
    let base = column.base_type.trim().to_lowercase();
    let data_type = column.data_type.trim().to_lowercase();
    let int_range = |min: i128, max: i128| {
        if column.unsigned { Some((0, max * 2 + 1)) } else { Some((min, max)) }
    };
    let (kind, int_range) = if data_type.ends_with("[]") || base.starts_with('_') {
        // PostgreSQL arrays print as `{a,b}`: no transformer here understands that syntax.
        (ValueKind::Other, None)
    } else {
        match base.as_str() {
            "tinyint" if data_type.starts_with("tinyint(1)") => (ValueKind::Bool, None),
            "bool" | "boolean" => (ValueKind::Bool, None),
            "tinyint" => (ValueKind::Integer, int_range(-128, 127)),
            "smallint" | "int2" | "smallserial" | "serial2" => {
                (ValueKind::Integer, int_range(-32_768, 32_767))
            }
            "mediumint" => (ValueKind::Integer, int_range(-8_388_608, 8_388_607)),
            "int" | "integer" | "int4" | "serial" | "serial4" => {
                (ValueKind::Integer, int_range(i32::MIN.into(), i32::MAX.into()))
            }
            "bigint" | "int8" | "bigserial" | "serial8" => {
                (ValueKind::Integer, int_range(i64::MIN.into(), i64::MAX.into()))
            }
            "numeric" | "decimal" | "dec" | "fixed" | "real" | "float" | "float4" | "float8"
            | "double" | "double precision" => (ValueKind::Decimal, None),
            "date" => (ValueKind::Date, None),
            "timestamp"
            | "timestamptz"
            | "datetime"
            | "timestamp with time zone"
            | "timestamp without time zone" => (ValueKind::Timestamp, None),
            "json" | "jsonb" => (ValueKind::Json, None),
            "uuid" | "uniqueidentifier" => (ValueKind::Uuid, None),
            "bytea"
            | "blob"
            | "tinyblob"
            | "mediumblob"
            | "longblob"
            | "binary"
            | "varbinary"
            | "bit"
            | "varbit"
            | "bit varying"
            | "inet"
            | "cidr"
            | "macaddr"
            | "macaddr8"
            | "interval"
            | "time"
            | "timetz"
            | "time with time zone"
            | "time without time zone"
            | "year"
            | "xml"
            | "money"
            | "tsvector"
            | "tsquery"
            | "point"
            | "line"
            | "lseg"
            | "box"
            | "path"
            | "polygon"
            | "circle"
            | "geometry"
            | "geography"
            | "oid"
            | "array"
            | "vector" => (ValueKind::Other, None),
            b if b.ends_with("range") => (ValueKind::Other, None),
            _ => (ValueKind::Text, None),
        }
    };
    ColumnShape {
        kind,
        max_length: column.max_length,
        scale: column.numeric_scale,
        nullable: column.nullable,
        int_range,
    }
}

/// A location inside a JSON document: `$.a.b`, `$.list[*].email`, `$.a[0]`, `$['odd key']`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath(Vec<Step>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    /// `[*]` or `.*`: every element of an array, every value of an object.
    All,
}

/// Parses a JSON path: `$` followed by `.key`, `.*`, `[n]`, `[*]` or `['key']` / `["key"]` steps.
pub fn parse_json_path(text: &str) -> Result<JsonPath, String> {
    let Some(rest) = text.trim().strip_prefix('$') else {
        return Err(format!("json path {text:?} must start with '$'"));
    };
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && !matches!(chars[end], '.' | '[') {
                    end += 1;
                }
                let key: String = chars[start..end].iter().collect();
                if key.is_empty() {
                    return Err(format!("json path {text:?} has an empty key after '.'"));
                }
                steps.push(if key == "*" { Step::All } else { Step::Key(key) });
                i = end;
            }
            '[' => {
                let Some(close) = closing_bracket(&chars, i + 1) else {
                    return Err(format!("json path {text:?} has an unclosed '['"));
                };
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                steps.push(if inner == "*" {
                    Step::All
                } else if let Some(quoted) = unquote(inner) {
                    Step::Key(quoted)
                } else if let Ok(index) = inner.parse::<usize>() {
                    Step::Index(index)
                } else {
                    return Err(format!(
                        "json path {text:?} has [{inner}]; expected [*], [number] or ['key']"
                    ));
                });
                i = close + 1;
            }
            c => return Err(format!("json path {text:?} has {c:?} where '.' or '[' belongs")),
        }
    }
    Ok(JsonPath(steps))
}

/// The index of the `]` closing a bracket whose content starts at `from`, skipping quoted text.
fn closing_bracket(chars: &[char], from: usize) -> Option<usize> {
    let mut quote = None;
    let mut i = from;
    while i < chars.len() {
        match (quote, chars[i]) {
            (Some(_), '\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, c @ ('\'' | '"')) => quote = Some(c),
            (None, ']') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn unquote(inner: &str) -> Option<String> {
    let q = inner.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let body = inner.strip_prefix(q)?.strip_suffix(q)?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next()? } else { c });
    }
    Some(out)
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for step in &self.0 {
            match step {
                Step::Key(k)
                    if !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_') =>
                {
                    write!(f, ".{k}")?
                }
                Step::Key(k) => write!(f, "['{}']", k.replace('\\', "\\\\").replace('\'', "\\'"))?,
                Step::Index(i) => write!(f, "[{i}]")?,
                Step::All => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

/// What to do with one column's values.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Left as is: the user says the column is not personal.
    Keep,
    /// A realistic replacement from the `fakes` catalogue, drawn from a stream seeded by the keyed
    /// hash of the input (so equal inputs get equal fakes). Not a bijection: two inputs can share a
    /// fake. Drawn again (up to 8 times) when the fake equals the input.
    Fake {
        kind: FakeKind,
        locale: Locale,
    },
    /// Text: the lowercase hex of a keyed 128-bit hash, cut to the column's length. Integers,
    /// decimals and UUIDs: the same permutation as [`Rule::KeepFormat`], so a key masked with `hash`
    /// still joins a foreign key masked with `keep-format`.
    Hash,
    /// Every letter and digit (any script) becomes `*`; spaces and punctuation stay, so the length
    /// and the layout remain but no content does.
    Redact,
    SetNull,
    Constant(String),
    /// Digits stay digits, lowercase letters lowercase, uppercase letters uppercase; every other
    /// character stays in place. A bijection on strings of the same pattern, and on numbers of the
    /// same number of digits (a leading digit stays non-zero, integers stay in their type's range).
    KeepFormat,
    /// Letters and digits other than the last `keep_last` become `*`; punctuation stays.
    Partial {
        keep_last: usize,
    },
    /// Dates and timestamps move by a keyed number of days in `min_days..=max_days`, never 0. The
    /// offset is keyed by the tweak when there is one (all dates of one row or user move together),
    /// else by the value. Time of day, fraction and zone stay as they are.
    ShiftDate {
        min_days: i64,
        max_days: i64,
    },
    /// Numbers are multiplied by a keyed factor in `1 ± ratio` (`0 < ratio ≤ 1`), keeping their
    /// number of decimals and of integer digits, and never returned unchanged when non-zero.
    Noise {
        ratio: f64,
    },
    /// The local part is keep-format permuted; the domain is kept, or all its labels but the last
    /// are. A bijection either way. Without an `@`, keep-format of the whole value.
    Email {
        keep_domain: bool,
    },
    /// Rules at paths inside a JSON document; the output is compact JSON.
    Json(Vec<(JsonPath, Rule)>),
}

impl Rule {
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Keep => "keep",
            Rule::Fake { .. } => "fake",
            Rule::Hash => "hash",
            Rule::Redact => "redact",
            Rule::SetNull => "set-null",
            Rule::Constant(_) => "constant",
            Rule::KeepFormat => "keep-format",
            Rule::Partial { .. } => "partial",
            Rule::ShiftDate { .. } => "shift-date",
            Rule::Noise { .. } => "noise",
            Rule::Email { .. } => "email",
            Rule::Json(_) => "json",
        }
    }

    /// Whether distinct inputs always give distinct outputs in a column of `shape`: what a primary
    /// key, a unique column or a foreign key needs.
    pub fn is_bijection(&self, shape: &ColumnShape) -> bool {
        use ValueKind as K;
        match self {
            Rule::Keep => true,
            Rule::KeepFormat => matches!(shape.kind, K::Text | K::Integer | K::Decimal | K::Uuid),
            Rule::Email { .. } => matches!(shape.kind, K::Text),
            Rule::Hash => matches!(shape.kind, K::Integer | K::Decimal | K::Uuid),
            _ => false,
        }
    }

    /// Whether the rule can, by design, return `input` itself. The leak check allows a masked cell
    /// equal to its original only then. Conservative where unsure (`json`: paths may match nothing).
    pub fn may_keep(&self, input: &str) -> bool {
        // Any letter or digit of any script: a value left whole by keep-format (a script it does
        // not permute) must be caught by the leak check, never let through.
        let no_symbol = !input.chars().any(char::is_alphanumeric);
        match self {
            Rule::Keep | Rule::Json(_) => true,
            Rule::Fake { .. } | Rule::SetNull => false,
            // Number forms leave a lone zero integer part in place.
            Rule::Hash => matches!(input, "0" | "-0"),
            Rule::KeepFormat => no_symbol || matches!(input, "0" | "-0"),
            Rule::Redact => !input.chars().any(char::is_alphanumeric),
            Rule::Partial { keep_last } => {
                input.chars().filter(|c| c.is_alphanumeric()).count() <= *keep_last
            }
            Rule::Constant(c) => c == input,
            Rule::ShiftDate { .. } => parse_date(input).is_none(),
            Rule::Noise { .. } => parse_number(input).is_none_or(|n| n.mantissa == 0),
            Rule::Email { keep_domain } => match input.rsplit_once('@') {
                None => no_symbol,
                Some((local, domain)) => {
                    let permuted = if *keep_domain {
                        ""
                    } else {
                        domain.rsplit_once('.').map_or(domain, |(labels, _)| labels)
                    };
                    !local.chars().chain(permuted.chars()).any(char::is_alphanumeric)
                }
            },
        }
    }

    /// Refuses a rule that cannot produce valid values for a column of `shape`.
    pub fn check(&self, shape: &ColumnShape) -> Result<(), String> {
        use ValueKind as K;
        self.check_params()?;
        let kind = shape.kind;
        let fits = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(format!("{} cannot apply to a {} column", self.name(), kind.name()))
            }
        };
        match self {
            Rule::Keep => Ok(()),
            Rule::SetNull if !shape.nullable => {
                Err("set-null cannot apply to a not null column".to_string())
            }
            Rule::SetNull => Ok(()),
            Rule::Constant(value) => check_constant(value, shape),
            Rule::Fake { kind: fake, .. } => {
                let ok = match kind {
                    K::Text | K::Other => true,
                    K::Uuid => *fake == FakeKind::Uuid,
                    K::Decimal => matches!(fake, FakeKind::Latitude | FakeKind::Longitude),
                    _ => false,
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!("fake {} cannot fill a {} column", fake.name(), kind.name()))
                }
            }
            Rule::Hash | Rule::KeepFormat => {
                fits(matches!(kind, K::Text | K::Integer | K::Decimal | K::Uuid))
            }
            Rule::Redact | Rule::Partial { .. } | Rule::Email { .. } => fits(kind == K::Text),
            Rule::ShiftDate { .. } => fits(matches!(kind, K::Date | K::Timestamp)),
            Rule::Noise { .. } => fits(matches!(kind, K::Integer | K::Decimal)),
            Rule::Json(_) => fits(kind == K::Json),
        }
    }

    /// The checks that do not depend on the column: ranges, ratios, nesting.
    fn check_params(&self) -> Result<(), String> {
        match self {
            Rule::ShiftDate { min_days, max_days } => {
                if min_days > max_days {
                    Err(format!("shift-date range {min_days}..{max_days} is empty"))
                } else if *min_days == 0 && *max_days == 0 {
                    Err("shift-date range 0..0 would shift nothing".to_string())
                } else if min_days.abs() > MAX_SHIFT_DAYS || max_days.abs() > MAX_SHIFT_DAYS {
                    Err(format!("shift-date moves dates by at most {MAX_SHIFT_DAYS} days"))
                } else {
                    Ok(())
                }
            }
            Rule::Noise { ratio } if !(ratio.is_finite() && *ratio > 0.0 && *ratio <= 1.0) => {
                Err(format!("noise ratio {ratio} must be above 0 and at most 1"))
            }
            Rule::Json(rules) => {
                for (path, rule) in rules {
                    if matches!(rule, Rule::Json(_)) {
                        return Err(format!("json rule at {path} cannot hold another json rule"));
                    }
                    rule.check_params().map_err(|e| format!("at {path}: {e}"))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// About 10,000 years: a shift further than that cannot keep a date in 0001..9999 anyway.
const MAX_SHIFT_DAYS: i64 = 3_650_000;

fn check_constant(value: &str, shape: &ColumnShape) -> Result<(), String> {
    if let Some(max) = shape.max_length
        && value.chars().count() > max as usize
    {
        return Err(format!("constant {value:?} is longer than the column's {max} characters"));
    }
    let ok = match shape.kind {
        ValueKind::Text | ValueKind::Other => true,
        ValueKind::Integer => value.trim().parse::<i128>().is_ok_and(|v| {
            let (min, max) = shape.int_range.unwrap_or((i64::MIN.into(), i64::MAX.into()));
            (min..=max).contains(&v)
        }),
        ValueKind::Decimal => value.trim().parse::<f64>().is_ok(),
        ValueKind::Bool => matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "true" | "false" | "t" | "f" | "1" | "0" | "yes" | "no" | "on" | "off"
        ),
        ValueKind::Date => parse_date(value).is_some_and(|d| d.rest.is_empty()),
        ValueKind::Timestamp => parse_date(value).is_some(),
        ValueKind::Uuid => is_uuid(value),
        ValueKind::Json => serde_json::from_str::<serde_json::Value>(value).is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("constant {value:?} is not a valid {} value", shape.kind.name()))
    }
}

fn is_uuid(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() }
        })
}

/// A rule prepared for one column: subkeys derived, bounds encoded.
pub struct Masker {
    rule: &'static str,
    op: Op,
    /// Outputs longer than this (in characters) are cut; only rules whose output length does not
    /// follow the input's need it.
    max_length: Option<usize>,
}

enum Op {
    Keep,
    Null,
    Constant(String),
    Fake { kind: FakeKind, locale: Locale, key: SubKey },
    HashText(SubKey),
    Redact,
    Partial(usize),
    Text(SubKey),
    Number { key: SubKey, bounds: Bounds },
    Uuid(SubKey),
    Email { local: SubKey, domain: Option<SubKey> },
    ShiftDate { key: SubKey, min: i64, max: i64 },
    Noise { key: SubKey, ratio: f64, bounds: Option<(i128, i128)> },
    Json(Vec<JsonMasker>),
}

struct JsonMasker {
    path: JsonPath,
    /// Set-null and constant replace a whole node; the others apply to each scalar under it.
    whole: bool,
    text: Masker,
    number: Masker,
}

/// The largest in-range magnitudes of an integer type as symbol vectors (see `number_symbols`):
/// a positive value with as many digits as `positive` must not exceed it, likewise negatives.
#[derive(Default)]
struct Bounds {
    positive: Option<Vec<u8>>,
    negative: Option<Vec<u8>>,
}

impl Bounds {
    fn of(range: (i128, i128)) -> Bounds {
        let encode = |magnitude: u128| -> Vec<u8> {
            let digits = magnitude.to_string().into_bytes();
            digits
                .iter()
                .enumerate()
                .map(|(i, d)| if i == 0 { d - b'1' } else { d - b'0' })
                .collect()
        };
        let (min, max) = range;
        Bounds {
            positive: (max >= 1).then(|| encode(max.unsigned_abs())),
            negative: (min <= -1).then(|| encode(min.unsigned_abs())),
        }
    }
}

impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masker").field("rule", &self.rule).finish_non_exhaustive()
    }
}

impl Masker {
    /// Prepares `rule` for a column of `shape`. Does not check that the rule fits
    /// ([`Rule::check`] does); a rule that does not fit still gives some output, never a panic.
    pub fn new(key: &MaskKey, rule: &Rule, shape: &ColumnShape) -> Masker {
        use ValueKind as K;
        let number = |shape: &ColumnShape| {
            let bounds = match shape.kind {
                K::Integer => {
                    Bounds::of(shape.int_range.unwrap_or((i64::MIN.into(), i64::MAX.into())))
                }
                _ => Bounds::default(),
            };
            // Shared by keep-format and hash so that either on a key joins either on its foreign key.
            Op::Number { key: key.subkey("number"), bounds }
        };
        let op = match rule {
            Rule::Keep => Op::Keep,
            Rule::SetNull => Op::Null,
            Rule::Constant(value) => Op::Constant(value.clone()),
            Rule::Fake { kind, locale } => Op::Fake {
                kind: *kind,
                locale: *locale,
                key: key.subkey(&format!("fake {} {locale:?}", kind.name())),
            },
            Rule::Hash | Rule::KeepFormat => match shape.kind {
                K::Integer | K::Decimal => number(shape),
                K::Uuid => Op::Uuid(key.subkey("uuid")),
                _ if *rule == Rule::Hash => Op::HashText(key.subkey("hash")),
                _ => Op::Text(key.subkey("keep-format")),
            },
            Rule::Redact => Op::Redact,
            Rule::Partial { keep_last } => Op::Partial(*keep_last),
            Rule::ShiftDate { min_days, max_days } => {
                Op::ShiftDate { key: key.subkey("shift-date"), min: *min_days, max: *max_days }
            }
            Rule::Noise { ratio } => Op::Noise {
                key: key.subkey("noise"),
                ratio: *ratio,
                bounds: (shape.kind == K::Integer)
                    .then(|| shape.int_range.unwrap_or((i64::MIN.into(), i64::MAX.into()))),
            },
            Rule::Email { keep_domain } => Op::Email {
                local: key.subkey("email-local"),
                domain: (!keep_domain).then(|| key.subkey("email-domain")),
            },
            Rule::Json(rules) => Op::Json(
                rules
                    .iter()
                    .map(|(path, rule)| JsonMasker {
                        path: path.clone(),
                        whole: matches!(rule, Rule::SetNull | Rule::Constant(_)),
                        text: Masker::new(key, rule, &ColumnShape::new(K::Text)),
                        number: Masker::new(key, rule, &ColumnShape::new(K::Decimal)),
                    })
                    .collect(),
            ),
        };
        Masker { rule: rule.name(), op, max_length: shape.max_length.map(|m| m as usize) }
    }

    /// The name of the rule this masker applies.
    pub fn rule_name(&self) -> &'static str {
        self.rule
    }

    /// Masks one value, given as the raw (unescaped) text the database prints, and appends the
    /// result to `out`. Returns false, writing nothing, when the result is NULL. `tweak` keys
    /// `shift-date` (one offset per row or user); every other rule ignores it, so keys still join.
    pub fn apply(&self, input: &str, tweak: Option<&str>, out: &mut String) -> bool {
        let start = out.len();
        match &self.op {
            Op::Keep => out.push_str(input),
            Op::Null => return false,
            Op::Constant(value) => out.push_str(value),
            Op::Fake { kind, locale, key } => {
                let mut rng = RowRng::new(key.hash64(input.as_bytes()), 0);
                for _ in 0..8 {
                    out.truncate(start);
                    out.push_str(&kind.draw(*locale, &mut rng));
                    self.cut(out, start);
                    if out[start..] != *input {
                        break;
                    }
                }
            }
            Op::HashText(key) => {
                for attempt in 0..8 {
                    out.truncate(start);
                    let (h1, h2) = key.hash128(attempt, input.as_bytes());
                    push_hex(out, (u128::from(h1) << 64) | u128::from(h2));
                    self.cut(out, start);
                    if out[start..] != *input {
                        break;
                    }
                }
            }
            Op::Redact => {
                out.extend(input.chars().map(|c| if c.is_alphanumeric() { '*' } else { c }))
            }
            Op::Partial(keep_last) => {
                let hide = input
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .count()
                    .saturating_sub(*keep_last);
                let mut seen = 0;
                for c in input.chars() {
                    if c.is_alphanumeric() {
                        seen += 1;
                        out.push(if seen <= hide { '*' } else { c });
                    } else {
                        out.push(c);
                    }
                }
            }
            Op::Text(key) => text_format(key, input, Direction::Mask, out),
            Op::Number { key, bounds } => number_format(key, bounds, input, Direction::Mask, out),
            Op::Uuid(key) => uuid_format(key, input, Direction::Mask, out),
            Op::Email { local, domain } => {
                email(local, domain.as_ref(), input, Direction::Mask, out)
            }
            Op::ShiftDate { key, min, max } => shift_date(key, *min, *max, input, tweak, out),
            Op::Noise { key, ratio, bounds } => noise(key, *ratio, *bounds, input, out),
            Op::Json(rules) => json(rules, input, tweak, out),
        }
        true
    }

    /// Recovers the original of a value masked by a bijective rule ([`Rule::is_bijection`]), given
    /// the same key: for support ("which customer is masked id 4711?") and for the tests that prove
    /// the permutations are permutations. Returns false, writing nothing, for other rules.
    pub fn unmask(&self, masked: &str, out: &mut String) -> bool {
        match &self.op {
            Op::Keep => out.push_str(masked),
            Op::Text(key) => text_format(key, masked, Direction::Unmask, out),
            Op::Number { key, bounds } => {
                number_format(key, bounds, masked, Direction::Unmask, out)
            }
            Op::Uuid(key) => uuid_format(key, masked, Direction::Unmask, out),
            Op::Email { local, domain } => {
                email(local, domain.as_ref(), masked, Direction::Unmask, out)
            }
            _ => return false,
        }
        true
    }

    /// Cuts what was written since `start` to the column's length, at a character boundary.
    fn cut(&self, out: &mut String, start: usize) {
        if let Some(max) = self.max_length
            && let Some((at, _)) = out[start..].char_indices().nth(max)
        {
            out.truncate(start + at);
        }
    }
}

fn push_hex(out: &mut String, value: u128) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..32).rev() {
        out.push(char::from(HEX[((value >> (shift * 4)) & 0xf) as usize]));
    }
}

// ---------------------------------------------------------------------------------------------
// The format-preserving permutation.
//
// A value is read as a vector of symbols `d[i]` in radices `r[i]`, plus a "pattern" (the radices
// and every fixed character). The pattern, hashed with the rule's subkey (one SipHash per value),
// gives the keys. A value whose symbols make two halves of fewer than 2^64 values each (phones,
// most emails' parts, ids) is read as those two integers and goes through an alternating
// Feistel network of eight rounds (`encrypt`): a few multiplications where the symbol passes
// below cost one per symbol per pass. Longer values take four passes. A forward pass replaces each symbol, left to right, with
// `(d[i] + F(s, i)) mod r[i]`, where `s` chains over the symbols already *written*, so the pass can
// be undone left to right; a backward pass does the same from the right. Each pass is a bijection,
// so their composition is one, and after a forward and a backward pass every output symbol
// depends on every input symbol. `F` is SplitMix64's finaliser: cheap, and the subkey is secret.
//
// Small domains get two more properties. Integers in a typed column must stay in the type's
// range: values that land outside are encrypted again (cycle walking), which is a bijection on the
// in-range set. And a random permutation of a small set has fixed points (a 1-in-9 chance that a
// one-digit number masks to itself), which the leak check would rightly flag: below 2^40 values,
// the permutation is conjugated with "add one", `E ∘ (+1) ∘ E⁻¹`, which has no fixed point at all.

const PASSES: usize = 4;
const DERANGE_BELOW: u128 = 1 << 40;
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Mask,
    Unmask,
}

/// The per-pass keys of one pattern.
struct PassKeys([u64; PASSES]);

impl PassKeys {
    fn of(pattern: &SipHasher13) -> PassKeys {
        let h = pattern.finish128();
        PassKeys([h.h1, h.h2, mix(h.h1 ^ GOLDEN), mix(h.h2 ^ GOLDEN.rotate_left(32))])
    }
}

/// Hashes a pattern in chunks, without allocating.
struct PatternHash {
    hasher: SipHasher13,
    buf: [u8; 64],
    len: usize,
}

impl PatternHash {
    fn new(key: &SubKey, scheme: u8) -> Self {
        let mut p = PatternHash { hasher: key.sip(), buf: [0; 64], len: 0 };
        p.byte(scheme);
        p
    }

    #[inline]
    fn byte(&mut self, b: u8) {
        if self.len == self.buf.len() {
            self.hasher.write(&self.buf);
            self.len = 0;
        }
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn char(&mut self, c: char) {
        let mut utf8 = [0; 4];
        for b in c.encode_utf8(&mut utf8).bytes() {
            self.byte(b);
        }
    }

    fn finish(mut self) -> PassKeys {
        self.hasher.write(&self.buf[..self.len]);
        PassKeys::of(&self.hasher)
    }
}

/// One step of a pass: the symbol `x` (radix `radix`, position `i`) moves by an offset drawn from
/// the chained state `s`; returns the state after it, which depends on the symbol *written*.
#[inline(always)]
fn encrypt_step(s: u64, i: usize, x: &mut u8, radix: u8) -> u64 {
    let t = mix(s ^ (i as u64).wrapping_mul(GOLDEN));
    let shift = (((t >> 32) * u64::from(radix)) >> 32) as u16;
    // In u16: radices run up to 255.
    let sum = u16::from(*x) + shift;
    let radix16 = u16::from(radix);
    *x = if sum >= radix16 { sum - radix16 } else { sum } as u8;
    t ^ u64::from(*x)
}

#[inline(always)]
fn decrypt_step(s: u64, i: usize, x: &mut u8, radix: u8) -> u64 {
    let t = mix(s ^ (i as u64).wrapping_mul(GOLDEN));
    let shift = (((t >> 32) * u64::from(radix)) >> 32) as u16;
    let written = *x;
    let w = u16::from(written);
    *x = if w >= shift { w - shift } else { w + u16::from(radix) - shift } as u8;
    t ^ u64::from(written)
}

/// How many vectors of radices `r` there are, when fewer than 2^128.
fn product(r: &[u8]) -> Option<u128> {
    let mut n = 1_u128;
    for &radix in r {
        // Below 2^120, a radix (below 2^8) cannot overflow: no checked 128-bit multiply.
        n = if n < 1 << 120 { n * u128::from(radix) } else { n.checked_mul(u128::from(radix))? };
    }
    Some(n)
}

/// Rounds of the Feistel network of [`encrypt`] on values read as two integers.
const ROUNDS: usize = 8;

/// A value of radices `r` read as two integers, its symbols before `split` (`a` values) and
/// from it (`b` values), the halves as even as the radices allow; `None` when either half is
/// not below 2^64 or the value has fewer than two symbols.
struct Halves {
    split: usize,
    a: u64,
    b: u64,
}

impl Halves {
    fn of(r: &[u8]) -> Option<Halves> {
        Halves::sized(r, product(r)?)
    }

    /// [`Halves::of`] with the values' count known. Integer arithmetic only, so every machine
    /// splits alike; and cheap arithmetic (no 128-bit square or division), as it runs per value.
    fn sized(r: &[u8], total: u128) -> Option<Halves> {
        if r.len() < 2 {
            return None;
        }
        // The first split whose left half holds at least as many values as its right (a² ≥ total;
        // a left half of 2^64 values or more holds more than the right).
        let (mut split, mut a) = (r.len() - 1, 1_u128);
        for (at, &radix) in r.iter().enumerate().take(r.len() - 1) {
            a *= u128::from(radix);
            if u64::try_from(a).map_or(true, |x| u128::from(x) * u128::from(x) >= total) {
                split = at + 1;
                break;
            }
        }
        let half =
            |radices: &[u8]| radices.iter().try_fold(1_u64, |n, &x| n.checked_mul(u64::from(x)));
        let (a, b) = (half(&r[..split])?, half(&r[split..])?);
        (a > 1 && b > 1).then_some(Halves { split, a, b })
    }

    /// `d` read as its two halves, changed by `f`, and written back.
    fn permute(&self, d: &mut [u8], r: &[u8], f: impl FnOnce(&Halves, (u64, u64)) -> (u64, u64)) {
        let (left, right) = d.split_at_mut(self.split);
        let (rl, rr) = r.split_at(self.split);
        let (a, b) = f(self, (Halves::read(left, rl), Halves::read(right, rr)));
        Halves::write(a, left, rl);
        Halves::write(b, right, rr);
    }

    #[inline(always)]
    fn encrypt(&self, keys: &[u64; ROUNDS], (mut a, mut b): (u64, u64)) -> (u64, u64) {
        for (j, &key) in keys.iter().enumerate() {
            if j % 2 == 0 {
                a = add_mod(a, round(key, b, self.a), self.a);
            } else {
                b = add_mod(b, round(key, a, self.b), self.b);
            }
        }
        (a, b)
    }

    #[inline(always)]
    fn decrypt(&self, keys: &[u64; ROUNDS], (mut a, mut b): (u64, u64)) -> (u64, u64) {
        for (j, &key) in keys.iter().enumerate().rev() {
            if j % 2 == 0 {
                a = sub_mod(a, round(key, b, self.a), self.a);
            } else {
                b = sub_mod(b, round(key, a, self.b), self.b);
            }
        }
        (a, b)
    }

    /// The next value (`b` the low half), wrapping: [`increment`] on the integers.
    fn next(&self, (a, b): (u64, u64)) -> (u64, u64) {
        match (b + 1 < self.b, a + 1 < self.a) {
            (true, _) => (a, b + 1),
            (false, true) => (a + 1, 0),
            (false, false) => (0, 0),
        }
    }

    /// The inverse of [`Halves::next`].
    fn previous(&self, (a, b): (u64, u64)) -> (u64, u64) {
        match (b > 0, a > 0) {
            (true, _) => (a, b - 1),
            (false, true) => (a - 1, self.b - 1),
            (false, false) => (self.a - 1, self.b - 1),
        }
    }

    fn read(d: &[u8], r: &[u8]) -> u64 {
        d.iter().zip(r).fold(0, |n, (&x, &radix)| n * u64::from(radix) + u64::from(x))
    }

    fn write(mut n: u64, d: &mut [u8], r: &[u8]) {
        for (x, &radix) in d.iter_mut().zip(r).rev() {
            // The common radices divide by a constant (a multiplication).
            let (q, rem) = match radix {
                10 => (n / 10, n % 10),
                26 => (n / 26, n % 26),
                9 => (n / 9, n % 9),
                _ => (n / u64::from(radix), n % u64::from(radix)),
            };
            *x = rem as u8;
            n = q;
        }
    }
}

/// The round keys of the Feistel network, from the pattern's pass keys.
fn round_keys(keys: &PassKeys) -> [u64; ROUNDS] {
    std::array::from_fn(|j| {
        let key = keys.0[j % PASSES];
        if j < PASSES { key } else { mix(key ^ GOLDEN.wrapping_mul(j as u64)) }
    })
}

/// The round function: a keyed mix of one half, brought into `0..modulus`.
#[inline(always)]
fn round(key: u64, half: u64, modulus: u64) -> u64 {
    ((u128::from(mix(half ^ key)) * u128::from(modulus)) >> 64) as u64
}

/// `(x + y) mod m` for `x, y < m`.
#[inline(always)]
fn add_mod(x: u64, y: u64, m: u64) -> u64 {
    let (sum, over) = x.overflowing_add(y);
    if over || sum >= m { sum.wrapping_sub(m) } else { sum }
}

/// `(x - y) mod m` for `x, y < m`.
#[inline(always)]
fn sub_mod(x: u64, y: u64, m: u64) -> u64 {
    if x >= y { x - y } else { x + (m - y) }
}

/// The keyed permutation of symbol vectors: an alternating Feistel network on the value's two
/// halves as integers (each round adds a keyed function of one half to the other, modulo its
/// size, so each round is a bijection and every output symbol depends on every input symbol
/// after two), or, for values too long for two 64-bit halves, chained passes over the symbols.
fn encrypt(keys: &PassKeys, d: &mut [u8], r: &[u8]) {
    let Some(h) = Halves::of(r) else { return encrypt_chain(keys, d, r) };
    h.permute(d, r, |h, ab| h.encrypt(&round_keys(keys), ab));
}

fn decrypt(keys: &PassKeys, d: &mut [u8], r: &[u8]) {
    let Some(h) = Halves::of(r) else { return decrypt_chain(keys, d, r) };
    h.permute(d, r, |h, ab| h.decrypt(&round_keys(keys), ab));
}

fn encrypt_chain(keys: &PassKeys, d: &mut [u8], r: &[u8]) {
    for (pass, &key) in keys.0.iter().enumerate() {
        let mut s = key;
        let symbols = d.iter_mut().zip(r).enumerate();
        if pass % 2 == 0 {
            symbols.for_each(|(i, (x, &radix))| s = encrypt_step(s, i, x, radix));
        } else {
            symbols.rev().for_each(|(i, (x, &radix))| s = encrypt_step(s, i, x, radix));
        }
    }
}

fn decrypt_chain(keys: &PassKeys, d: &mut [u8], r: &[u8]) {
    for (pass, &key) in keys.0.iter().enumerate().rev() {
        let mut s = key;
        let symbols = d.iter_mut().zip(r).enumerate();
        if pass % 2 == 0 {
            symbols.for_each(|(i, (x, &radix))| s = decrypt_step(s, i, x, radix));
        } else {
            symbols.rev().for_each(|(i, (x, &radix))| s = decrypt_step(s, i, x, radix));
        }
    }
}

fn in_range(d: &[u8], bound: Option<&[u8]>) -> bool {
    bound.is_none_or(|b| d <= b)
}

fn encrypt_walk(keys: &PassKeys, d: &mut [u8], r: &[u8], bound: Option<&[u8]>) {
    loop {
        encrypt(keys, d, r);
        if in_range(d, bound) {
            return;
        }
    }
}

fn decrypt_walk(keys: &PassKeys, d: &mut [u8], r: &[u8], bound: Option<&[u8]>) {
    loop {
        decrypt(keys, d, r);
        if in_range(d, bound) {
            return;
        }
    }
}

/// The next vector in the in-range set, wrapping: a single cycle through all of it.
fn increment(d: &mut [u8], r: &[u8], bound: Option<&[u8]>) {
    if bound.is_some_and(|b| d == b) {
        d.fill(0);
        return;
    }
    for i in (0..d.len()).rev() {
        if d[i] + 1 < r[i] {
            d[i] += 1;
            return;
        }
        d[i] = 0;
    }
}

/// The inverse of `increment`.
fn decrement(d: &mut [u8], r: &[u8], bound: Option<&[u8]>) {
    if d.iter().all(|&x| x == 0) {
        match bound {
            Some(b) => d.copy_from_slice(b),
            None => d.iter_mut().zip(r).for_each(|(x, &radix)| *x = radix - 1),
        }
        return;
    }
    for i in (0..d.len()).rev() {
        if d[i] > 0 {
            d[i] -= 1;
            return;
        }
        d[i] = r[i] - 1;
    }
}

/// The keyed permutation of symbol vectors of radices `r` (no greater than `bound`, when given).
fn permute(keys: &PassKeys, d: &mut [u8], r: &[u8], bound: Option<&[u8]>, dir: Direction) {
    // A value outside the range belongs to no column of the type; permuting it without the bound
    // keeps the walk finite (its cycle might hold no in-range value).
    let bound = bound.filter(|b| b.len() == d.len() && in_range(d, Some(b)));
    let size = product(r);
    // Without a bound, a value of two halves is split, keyed and deranged once, as integers
    // (the same permutation as the steps below, in half the time).
    if bound.is_none()
        && let Some(n) = size
        && let Some(h) = Halves::sized(r, n)
    {
        let derange = n < DERANGE_BELOW;
        let keys = round_keys(keys);
        h.permute(d, r, |h, ab| match (derange, dir) {
            (true, Direction::Mask) => h.encrypt(&keys, h.next(h.decrypt(&keys, ab))),
            (true, Direction::Unmask) => h.encrypt(&keys, h.previous(h.decrypt(&keys, ab))),
            (false, Direction::Mask) => h.encrypt(&keys, ab),
            (false, Direction::Unmask) => h.decrypt(&keys, ab),
        });
        return;
    }
    match (size, dir) {
        (Some(0 | 1), _) => {}
        (Some(n), Direction::Mask) if n < DERANGE_BELOW => {
            decrypt_walk(keys, d, r, bound);
            increment(d, r, bound);
            encrypt_walk(keys, d, r, bound);
        }
        (Some(n), Direction::Unmask) if n < DERANGE_BELOW => {
            decrypt_walk(keys, d, r, bound);
            decrement(d, r, bound);
            encrypt_walk(keys, d, r, bound);
        }
        (_, Direction::Mask) => encrypt_walk(keys, d, r, bound),
        (_, Direction::Unmask) => decrypt_walk(keys, d, r, bound),
    }
}

/// Runs `f` with three scratch buffers of `n` bytes (symbols, radices, text), on the stack when
/// they are small.
fn with_scratch<R>(n: usize, f: impl FnOnce(&mut [u8], &mut [u8], &mut [u8]) -> R) -> R {
    const STACK: usize = 128;
    if n <= STACK {
        let (mut a, mut b, mut c) = ([0; STACK], [0; STACK], [0; STACK]);
        f(&mut a[..n], &mut b[..n], &mut c[..n])
    } else {
        f(&mut vec![0; n], &mut vec![0; n], &mut vec![0; n])
    }
}

/// Runs of code points masked as symbols: (first, count, split, pattern mark). Letters of a
/// script with case fold it (the same mark and radix for both cases), so masking commutes with
/// lowercasing and a case-insensitive unique index (citext, `lower(email)`) stays unique; digits
/// of every script share ASCII's mark. A run longer than 255 is two symbols, of radices
/// `count / split` and `split`. Every code point of every run is assigned, so an output is always
/// a real letter or digit of the input's script. Letters outside these runs stay in place, and
/// the leak check catches a value left whole by it (`may_keep` is false for any letter).
const RUNS: &[(u32, u32, u32, u8)] = &[
    (0x30, 10, 0, b'0'),         // 0-9
    (0x61, 26, 0, b'a'),         // a-z
    (0x41, 26, 0, b'a'),         // A-Z
    (0x3B1, 25, 0, b'g'),        // Greek small letters, final sigma included
    (0x391, 17, 0, b'G'),        // Greek capitals Alpha to Rho
    (0x3A3, 7, 0, b'H'),         // Greek capitals Sigma to Omega
    (0x430, 32, 0, b'c'),        // Cyrillic а-я
    (0x410, 32, 0, b'c'),        // Cyrillic А-Я
    (0x5D0, 27, 0, b'h'),        // Hebrew letters
    (0x621, 26, 0, b'r'),        // Arabic letters hamza to ghain
    (0x641, 10, 0, b's'),        // Arabic letters feh to yeh
    (0x660, 10, 0, b'0'),        // Arabic-Indic digits
    (0x6F0, 10, 0, b'0'),        // Extended Arabic-Indic digits
    (0x966, 10, 0, b'0'),        // Devanagari digits
    (0x9E6, 10, 0, b'0'),        // Bengali digits
    (0xE50, 10, 0, b'0'),        // Thai digits
    (0xFF10, 10, 0, b'0'),       // fullwidth digits
    (0x3041, 86, 0, b'j'),       // Hiragana
    (0x30A1, 90, 0, b'k'),       // Katakana
    (0x4E00, 20_992, 164, b'z'), // CJK unified ideographs
    (0xAC00, 11_172, 114, b'q'), // Hangul syllables
];

/// The run `c` belongs to: (first, count, split, mark).
#[inline]
fn run_of(c: char) -> Option<(u32, u32, u32, u8)> {
    let c = c as u32;
    RUNS.iter().copied().find(|&(first, count, _, _)| (first..first + count).contains(&c))
}

/// Keep-format of text: digits, letters (keeping case and script), everything else fixed.
fn text_format(key: &SubKey, input: &str, dir: Direction, out: &mut String) {
    if input.is_ascii() {
        return text_format_ascii(key, input.as_bytes(), dir, out);
    }
    text_format_general(key, input, dir, out);
}

/// [`text_format`] of any text, char by char.
fn text_format_general(key: &SubKey, input: &str, dir: Direction, out: &mut String) {
    with_scratch(input.len(), |d, r, _| {
        let mut pattern = PatternHash::new(key, b't');
        let mut n = 0;
        for c in input.chars() {
            match run_of(c) {
                Some((first, count, split, mark)) => {
                    pattern.byte(mark);
                    let v = c as u32 - first;
                    match (v.checked_div(split), count.checked_div(split)) {
                        (Some(high), Some(radix)) => {
                            (d[n], r[n]) = (high as u8, radix as u8);
                            (d[n + 1], r[n + 1]) = ((v % split) as u8, split as u8);
                            n += 2;
                        }
                        _ => {
                            (d[n], r[n]) = (v as u8, count as u8);
                            n += 1;
                        }
                    }
                }
                None => pattern.char(c),
            }
        }
        permute(&pattern.finish(), &mut d[..n], &r[..n], None, dir);
        let mut k = 0;
        for c in input.chars() {
            match run_of(c) {
                Some((first, _, split, _)) => {
                    let v = if split == 0 {
                        k += 1;
                        u32::from(d[k - 1])
                    } else {
                        k += 2;
                        u32::from(d[k - 2]) * split + u32::from(d[k - 1])
                    };
                    // Every code point of a run is a letter or digit of its script.
                    out.push(char::from_u32(first + v).unwrap_or(c));
                }
                None => out.push(c),
            }
        }
    });
}

/// `text_format` of ASCII text, byte by byte: the common case, and twice as fast. Same pattern
/// bytes, hashed in one piece, so the same output.
fn text_format_ascii(key: &SubKey, input: &[u8], dir: Direction, out: &mut String) {
    with_scratch(input.len(), |d, r, text| {
        let mut n = 0;
        for (p, &b) in text.iter_mut().zip(input) {
            let (value, radix, mark) = match b {
                b'0'..=b'9' => (b - b'0', 10, b'0'),
                b'a'..=b'z' => (b - b'a', 26, b'a'),
                b'A'..=b'Z' => (b - b'A', 26, b'a'),
                _ => {
                    *p = b;
                    continue;
                }
            };
            (d[n], r[n], *p) = (value, radix, mark);
            n += 1;
        }
        let mut hasher = key.sip();
        hasher.write(b"t");
        hasher.write(text);
        permute(&PassKeys::of(&hasher), &mut d[..n], &r[..n], None, dir);
        let mut k = 0;
        for (p, &b) in text.iter_mut().zip(input) {
            let base = match b {
                b'0'..=b'9' => b'0',
                b'a'..=b'z' => b'a',
                b'A'..=b'Z' => b'A',
                _ => continue,
            };
            *p = base + d[k];
            k += 1;
        }
        out.push_str(std::str::from_utf8(text).expect("ascii in, ascii out"));
    });
}

/// Keep-format of a number as the database prints it: `-?digits(.digits)?`. The leading digit
/// stays non-zero (radix 9), so n-digit numbers map to n-digit numbers and no `0123` appears; a
/// lone `0` integer part stays. Integers as long as their type's bound are cycle-walked below it.
/// Anything else (`1e5`, `NaN`, `007`) gets keep-format of its digits only.
fn number_format(key: &SubKey, bounds: &Bounds, input: &str, dir: Direction, out: &mut String) {
    let (negative, body) = match input.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, input),
    };
    let (int, frac) = match body.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (body, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let canonical =
        all_digits(int) && (int == "0" || !int.starts_with('0')) && frac.is_none_or(all_digits);
    if !canonical {
        return digits_format(key, input, dir, out);
    }
    let lone_zero = int == "0";
    with_scratch(body.len(), |d, r, _| {
        let mut pattern = PatternHash::new(key, b'n');
        pattern.byte(u8::from(negative));
        let mut n = 0;
        for (i, b) in int.bytes().enumerate() {
            if lone_zero {
                pattern.byte(b'z');
            } else if i == 0 {
                (d[n], r[n]) = (b - b'1', 9);
                n += 1;
                pattern.byte(b'9');
            } else {
                (d[n], r[n]) = (b - b'0', 10);
                n += 1;
                pattern.byte(b'0');
            }
        }
        if let Some(frac) = frac {
            pattern.byte(b'.');
            for b in frac.bytes() {
                (d[n], r[n]) = (b - b'0', 10);
                n += 1;
                pattern.byte(b'0');
            }
        }
        let bound = match (frac, negative) {
            (None, false) => bounds.positive.as_deref(),
            (None, true) => bounds.negative.as_deref(),
            (Some(_), _) => None,
        };
        permute(&pattern.finish(), &mut d[..n], &r[..n], bound, dir);
        if negative {
            out.push('-');
        }
        let mut k = 0;
        for (i, _) in int.bytes().enumerate() {
            if lone_zero {
                out.push('0');
            } else {
                out.push(char::from(if i == 0 { b'1' } else { b'0' } + d[k]));
                k += 1;
            }
        }
        if let Some(frac) = frac {
            out.push('.');
            for _ in frac.bytes() {
                out.push(char::from(b'0' + d[k]));
                k += 1;
            }
        }
    });
}

/// Keep-format of the ASCII digits of a value, everything else fixed.
fn digits_format(key: &SubKey, input: &str, dir: Direction, out: &mut String) {
    with_scratch(input.len(), |d, r, _| {
        let mut pattern = PatternHash::new(key, b'd');
        let mut n = 0;
        for c in input.chars() {
            if c.is_ascii_digit() {
                (d[n], r[n]) = (c as u8 - b'0', 10);
                n += 1;
                pattern.byte(b'0');
            } else {
                pattern.char(c);
            }
        }
        permute(&pattern.finish(), &mut d[..n], &r[..n], None, dir);
        let mut k = 0;
        for c in input.chars() {
            if c.is_ascii_digit() {
                out.push(char::from(b'0' + d[k]));
                k += 1;
            } else {
                out.push(c);
            }
        }
    });
}

/// Keep-format of a UUID: hex digits in radix 16, the version and variant nibbles (13th and 17th
/// hex digits of 32) fixed so the result is a UUID of the same version. Case folds (equal UUIDs
/// in either case mask alike); the output is uppercase only if the input is.
fn uuid_format(key: &SubKey, input: &str, dir: Direction, out: &mut String) {
    let hex_count = input.bytes().filter(u8::is_ascii_hexdigit).count();
    let upper = input.bytes().any(|b| matches!(b, b'A'..=b'F'))
        && !input.bytes().any(|b| matches!(b, b'a'..=b'f'));
    let fixed = |j: usize| hex_count == 32 && (j == 12 || j == 16);
    with_scratch(input.len(), |d, r, _| {
        let mut pattern = PatternHash::new(key, b'u');
        let (mut n, mut j) = (0, 0);
        for c in input.chars() {
            if let Some(value) = c.to_digit(16).filter(|_| c.is_ascii()) {
                if fixed(j) {
                    pattern.char(c.to_ascii_lowercase());
                } else {
                    (d[n], r[n]) = (value as u8, 16);
                    n += 1;
                    pattern.byte(b'x');
                }
                j += 1;
            } else {
                pattern.char(c);
            }
        }
        permute(&pattern.finish(), &mut d[..n], &r[..n], None, dir);
        let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
        let (mut k, mut j) = (0, 0);
        for c in input.chars() {
            if c.is_ascii_hexdigit() {
                if fixed(j) {
                    out.push(c);
                } else {
                    out.push(char::from(digits[usize::from(d[k])]));
                    k += 1;
                }
                j += 1;
            } else {
                out.push(c);
            }
        }
    });
}

/// `local@labels.tld`: keep-format of the local part, and of `labels` unless the domain is kept.
/// Split at the last `@` and the last `.`, which the permutation leaves in place, so the output
/// splits the same way and the whole is a bijection.
fn email(
    local_key: &SubKey,
    domain_key: Option<&SubKey>,
    input: &str,
    dir: Direction,
    out: &mut String,
) {
    let Some((local, domain)) = input.rsplit_once('@') else {
        return text_format(local_key, input, dir, out);
    };
    text_format(local_key, local, dir, out);
    out.push('@');
    match (domain_key, domain.rsplit_once('.')) {
        (None, _) => out.push_str(domain),
        (Some(key), Some((labels, tld))) => {
            text_format(key, labels, dir, out);
            out.push('.');
            out.push_str(tld);
        }
        (Some(key), None) => text_format(key, domain, dir, out),
    }
}

// ---------------------------------------------------------------------------------------------
// Dates.

/// A date at the start of a value; `rest` is the time, fraction and zone, kept as they are.
struct DatePrefix<'a> {
    days: i64,
    rest: &'a str,
}

fn parse_date(input: &str) -> Option<DatePrefix<'_>> {
    let b = input.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range]
            .iter()
            .try_fold(0_i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let rest = &input[10..];
    if !(rest.is_empty() || rest.starts_with([' ', 'T'])) {
        return None;
    }
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(DatePrefix { days: days_from_civil(year, month, day), rest })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Shifts a date by a keyed offset in `min..=max` other than 0. Unparseable values (`infinity`,
/// MySQL's zero date) stay as they are: there is no date in them to hide.
fn shift_date(
    key: &SubKey,
    min: i64,
    max: i64,
    input: &str,
    tweak: Option<&str>,
    out: &mut String,
) {
    let Some(date) = parse_date(input) else {
        return out.push_str(input);
    };
    let (h, _) = match tweak {
        Some(tweak) => key.hash128(b't', tweak.as_bytes()),
        None => key.hash128(b'v', input.as_bytes()),
    };
    let zero_inside = min <= 0 && max >= 0;
    let count = (max - min + 1 - i64::from(zero_inside)).max(1) as u64;
    let mut offset = min + ((u128::from(h) * u128::from(count)) >> 64) as i64;
    if zero_inside && offset >= 0 {
        offset += 1;
    }
    let mut shifted = civil_from_days(date.days + offset);
    if !(1..=9999).contains(&shifted.0) {
        // Still not 0, and back inside the four-digit years the input had.
        shifted = civil_from_days(date.days - offset);
    }
    let (y, m, d) = shifted;
    if !(1..=9999).contains(&y) {
        use std::fmt::Write as _;
        let _ = write!(out, "{y:04}-{m:02}-{d:02}{}", date.rest);
        return;
    }
    // By hand: `write!` with widths took a third of this function's time.
    let digit = |n: i64| char::from(b'0' + n as u8);
    for n in [y / 1000, y / 100 % 10, y / 10 % 10, y % 10] {
        out.push(digit(n));
    }
    for (n, dash) in [(m, '-'), (d, '-')] {
        out.push(dash);
        out.push(digit(n / 10));
        out.push(digit(n % 10));
    }
    out.push_str(date.rest);
}

// ---------------------------------------------------------------------------------------------
// Numbers with noise.

/// A decimal number as digits: `-12.30e5` is mantissa -1230, 2 decimals, exponent text `e5`.
struct Number<'a> {
    mantissa: i128,
    decimals: usize,
    int_digits: usize,
    exponent: &'a str,
}

fn parse_number(input: &str) -> Option<Number<'_>> {
    let (body, exponent) = match input.find(['e', 'E']) {
        Some(at) => (&input[..at], &input[at..]),
        None => (input, ""),
    };
    let (negative, body) = match body.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, body.strip_prefix('+').unwrap_or(body)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() || int.len() + frac.len() > 38 {
        return None;
    }
    let mut mantissa: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        mantissa = mantissa * 10 + i128::from(b - b'0');
    }
    let int_digits = int.trim_start_matches('0').len().max(1);
    Some(Number {
        mantissa: if negative { -mantissa } else { mantissa },
        decimals: frac.len(),
        int_digits,
        exponent,
    })
}

fn noise(key: &SubKey, ratio: f64, bounds: Option<(i128, i128)>, input: &str, out: &mut String) {
    let Some(number) = parse_number(input) else {
        return out.push_str(input);
    };
    let m = number.mantissa;
    if m == 0 {
        return out.push_str(input);
    }
    let (h, _) = key.hash128(0, input.as_bytes());
    // A factor in 1 ± ratio, keyed by the value.
    let u = (h >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0;
    let delta = (m as f64 * ratio * u).round() as i128;
    let scale = 10_i128.pow(number.decimals as u32);
    let fits = |v: i128| {
        let int_digits = (v.unsigned_abs() / scale.unsigned_abs()).to_string().len();
        v != 0
            && v.signum() == m.signum()
            && int_digits <= number.int_digits
            && bounds.is_none_or(|(min, max)| (min..=max).contains(&(v / scale)))
    };
    // The keyed direction first; the other when it would grow the number out of its column.
    let step = if delta == 0 { if u >= 0.0 { m.signum() } else { -m.signum() } } else { delta };
    let value = [m + step, m - step, m + m.signum(), m - m.signum()]
        .into_iter()
        .find(|&v| fits(v))
        .unwrap_or(m);
    if value < 0 {
        out.push('-');
    }
    let digits = value.unsigned_abs().to_string();
    if number.decimals == 0 {
        out.push_str(&digits);
    } else {
        let padded = format!("{digits:0>width$}", width = number.decimals + 1);
        let (int, frac) = padded.split_at(padded.len() - number.decimals);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
    out.push_str(number.exponent);
}

// ---------------------------------------------------------------------------------------------
// JSON.

fn json(rules: &[JsonMasker], input: &str, tweak: Option<&str>, out: &mut String) {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(input) else {
        // Not JSON (a json column always holds JSON): nothing located to mask.
        return out.push_str(input);
    };
    for rule in rules {
        visit(&mut doc, &rule.path.0, &mut |node| {
            if rule.whole {
                *node = mask_scalar(&rule.text, "", tweak, |_| serde_json::Value::Null);
            } else {
                mask_leaves(rule, node, tweak);
            }
        });
    }
    out.push_str(&doc.to_string());
}

fn visit(node: &mut serde_json::Value, steps: &[Step], f: &mut dyn FnMut(&mut serde_json::Value)) {
    use serde_json::Value;
    let Some((step, rest)) = steps.split_first() else {
        return f(node);
    };
    match (step, node) {
        (Step::Key(k), Value::Object(map)) => {
            if let Some(child) = map.get_mut(k) {
                visit(child, rest, f);
            }
        }
        (Step::Index(i), Value::Array(items)) => {
            if let Some(child) = items.get_mut(*i) {
                visit(child, rest, f);
            }
        }
        (Step::All, Value::Array(items)) => items.iter_mut().for_each(|c| visit(c, rest, f)),
        (Step::All, Value::Object(map)) => map.values_mut().for_each(|c| visit(c, rest, f)),
        _ => {}
    }
}

fn mask_leaves(rule: &JsonMasker, node: &mut serde_json::Value, tweak: Option<&str>) {
    use serde_json::Value;
    match node {
        Value::Null => {}
        Value::Array(items) => items.iter_mut().for_each(|c| mask_leaves(rule, c, tweak)),
        Value::Object(map) => map.values_mut().for_each(|c| mask_leaves(rule, c, tweak)),
        Value::String(s) => *node = mask_scalar(&rule.text, s, tweak, |t| Value::String(t.into())),
        Value::Number(n) => {
            *node = mask_scalar(&rule.number, &n.to_string(), tweak, |t| {
                serde_json::from_str::<serde_json::Number>(t)
                    .map_or_else(|_| Value::String(t.into()), Value::Number)
            })
        }
        Value::Bool(b) => {
            *node = mask_scalar(&rule.text, if *b { "true" } else { "false" }, tweak, |t| match t {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(t.into()),
            })
        }
    }
}

fn mask_scalar(
    masker: &Masker,
    input: &str,
    tweak: Option<&str>,
    make: impl FnOnce(&str) -> serde_json::Value,
) -> serde_json::Value {
    let mut text = String::new();
    if masker.apply(input, tweak, &mut text) {
        match &masker.op {
            Op::Constant(_) => serde_json::Value::String(text),
            _ => make(&text),
        }
    } else {
        serde_json::Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MaskKey {
        MaskKey::derive(b"test secret")
    }

    fn text() -> ColumnShape {
        ColumnShape::new(ValueKind::Text)
    }

    fn mask_with(key: &MaskKey, rule: &Rule, shape: &ColumnShape, input: &str) -> Option<String> {
        let mut out = String::new();
        Masker::new(key, rule, shape).apply(input, None, &mut out).then_some(out)
    }

    fn mask(rule: &Rule, shape: &ColumnShape, input: &str) -> String {
        mask_with(&key(), rule, shape, input).expect("not null")
    }

    fn unmask(masker: &Masker, masked: &str) -> String {
        let mut out = String::new();
        assert!(masker.unmask(masked, &mut out));
        out
    }

    /// The class of each character: what keep-format must preserve.
    fn pattern(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '0'..='9' => '9',
                'a'..='z' => 'a',
                'A'..='Z' => 'A',
                c => c,
            })
            .collect()
    }

    /// A deterministic stream of test strings over a given alphabet.
    fn strings(count: usize, alphabet: &[char], max_len: usize) -> Vec<String> {
        let mut rng = RowRng::new(99, 0);
        (0..count)
            .map(|_| {
                let len = 1 + rng.below(max_len as u64) as usize;
                (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect()
            })
            .collect()
    }

    #[test]
    fn the_key_is_never_printed_and_its_id_is_stable() {
        let k = key();
        let shown = format!("{k:?}");
        assert_eq!(shown, format!("MaskKey({})", k.id()));
        assert_eq!(k.id().len(), 8);
        assert_eq!(k.id(), MaskKey::derive(b"test secret").id());
        assert_ne!(k.id(), MaskKey::derive(b"other secret").id());
        let hex: String = k.bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!shown.contains(&hex[..8]));
        assert_eq!(k.fingerprint(b"a@b.c"), key().fingerprint(b"a@b.c"));
        assert_ne!(k.fingerprint(b"a@b.c"), MaskKey::derive(b"x").fingerprint(b"a@b.c"));
        assert_ne!(k.fingerprint(b"a@b.c"), k.fingerprint(b"a@b.d"));
    }

    #[test]
    fn keep_format_keeps_the_pattern_and_changes_the_value() {
        for input in
            ["john.smith@example.com", "Ab-12 x", "+33 6 12 34 56 78", "Zoë Ünal", "a", "7", "ZZ"]
        {
            let out = mask(&Rule::KeepFormat, &text(), input);
            assert_eq!(pattern(&out), pattern(input), "{input} → {out}");
            assert_eq!(out.chars().count(), input.chars().count());
            assert_ne!(out, input);
        }
        // Non-ASCII letters and punctuation stay in place.
        let out = mask(&Rule::KeepFormat, &text(), "Zoë Ünal");
        assert_eq!(out.chars().nth(2), Some('ë'));
        assert_eq!(out.chars().nth(4), Some('Ü'));
        assert_eq!(mask(&Rule::KeepFormat, &text(), "--- ..."), "--- ...");
        assert_eq!(mask(&Rule::KeepFormat, &text(), ""), "");
    }

    #[test]
    fn masking_is_deterministic_and_keyed_but_knows_no_column() {
        let rules = [
            Rule::KeepFormat,
            Rule::Hash,
            Rule::Email { keep_domain: false },
            Rule::Fake { kind: FakeKind::Name, locale: Locale::En },
            Rule::Noise { ratio: 0.2 },
        ];
        for rule in &rules {
            let shape = if matches!(rule, Rule::Noise { .. }) {
                ColumnShape::new(ValueKind::Decimal)
            } else {
                text()
            };
            let input = if matches!(rule, Rule::Noise { .. }) {
                "1234.56"
            } else {
                "jane.doe@mail.example.org"
            };
            let a = mask(rule, &shape, input);
            assert_eq!(a, mask(rule, &shape, input), "{rule:?}");
            // The same rule prepared for another column of the same type gives the same value.
            let other = shape.clone().with_nullable(false);
            assert_eq!(a, mask(rule, &other, input), "{rule:?}");
            let other_key =
                mask_with(&MaskKey::derive(b"another secret"), rule, &shape, input).unwrap();
            assert_ne!(a, other_key, "{rule:?}");
        }
        // Different rules draw different subkeys.
        let kf = mask(&Rule::KeepFormat, &text(), "jane");
        let em = mask(&Rule::Email { keep_domain: true }, &text(), "jane");
        assert_ne!(kf, em);
    }

    #[test]
    fn text_keep_format_is_invertible() {
        let masker = Masker::new(&key(), &Rule::KeepFormat, &text());
        let alphabet: Vec<char> = "abcXYZ0189 .-@_é".chars().collect();
        for input in strings(20_000, &alphabet, 24) {
            let mut out = String::new();
            masker.apply(&input, None, &mut out);
            assert_eq!(pattern(&out), pattern(&input));
            assert_eq!(unmask(&masker, &out), input, "{out}");
        }
        // Long values go through the heap scratch.
        let long = "Ab1".repeat(100);
        let out = mask(&Rule::KeepFormat, &text(), &long);
        assert_eq!(unmask(&masker, &out), long);
    }

    #[test]
    fn keep_format_is_a_bijection_on_a_whole_small_domain() {
        // Every 3-letter lowercase string: 17,576 inputs, 17,576 distinct outputs, no fixed point.
        let masker = Masker::new(&key(), &Rule::KeepFormat, &text());
        let mut seen = std::collections::HashSet::new();
        for a in b'a'..=b'z' {
            for b in b'a'..=b'z' {
                for c in b'a'..=b'z' {
                    let input = String::from_utf8(vec![a, b, c]).unwrap();
                    let mut out = String::new();
                    masker.apply(&input, None, &mut out);
                    assert_ne!(out, input);
                    assert!(seen.insert(out));
                }
            }
        }
        assert_eq!(seen.len(), 26 * 26 * 26);
    }

    #[test]
    fn the_integer_derangement_is_the_symbol_steps() {
        // Radices of phones, emails' parts and ids; below and above 2^40 values.
        let shapes: [&[u8]; 5] =
            [&[10; 11], &[26, 26, 10, 10, 10], &[9, 10, 10], &[26; 12], &[10; 14]];
        let mut state = 7_u64;
        for r in shapes {
            for _ in 0..2_000 {
                state = mix(state);
                let keys = PassKeys([state, mix(state ^ 1), mix(state ^ 2), mix(state ^ 3)]);
                let d: Vec<u8> = r
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| (mix(state ^ i as u64 ^ 9) % u64::from(x)) as u8)
                    .collect();
                for dir in [Direction::Mask, Direction::Unmask] {
                    let mut fast = d.clone();
                    permute(&keys, &mut fast, r, None, dir);
                    let mut steps = d.clone();
                    if r.iter().map(|&x| u128::from(x)).product::<u128>() < DERANGE_BELOW {
                        decrypt_walk(&keys, &mut steps, r, None);
                        match dir {
                            Direction::Mask => increment(&mut steps, r, None),
                            Direction::Unmask => decrement(&mut steps, r, None),
                        }
                        encrypt_walk(&keys, &mut steps, r, None);
                    } else if dir == Direction::Mask {
                        encrypt_walk(&keys, &mut steps, r, None);
                    } else {
                        decrypt_walk(&keys, &mut steps, r, None);
                    }
                    assert_eq!(fast, steps, "{r:?} {d:?}");
                }
            }
        }
        // The wrap at both ends.
        let keys = PassKeys([1, 2, 3, 4]);
        for d in [[9_u8, 9, 9], [0, 0, 0]] {
            for dir in [Direction::Mask, Direction::Unmask] {
                let (mut fast, mut steps) = (d.to_vec(), d.to_vec());
                permute(&keys, &mut fast, &[10; 3], None, dir);
                decrypt_walk(&keys, &mut steps, &[10; 3], None);
                match dir {
                    Direction::Mask => increment(&mut steps, &[10; 3], None),
                    Direction::Unmask => decrement(&mut steps, &[10; 3], None),
                }
                encrypt_walk(&keys, &mut steps, &[10; 3], None);
                assert_eq!(fast, steps);
            }
        }
    }

    #[test]
    fn one_changed_digit_changes_every_output_digit_as_chance_would() {
        // 9 digits: the Feistel network on two integer halves. A changed input digit must move
        // every output digit, wherever it is, as often as a fresh random digit would (9 in 10).
        let masker = Masker::new(&key(), &Rule::KeepFormat, &text());
        let mut changed = [[0_u32; 9]; 9];
        let samples = 2_000;
        for i in 0..samples {
            let input = format!("{:09}", (i as u64).wrapping_mul(2_654_435_761) % 1_000_000_000);
            let before = mask_with(&key(), &Rule::KeepFormat, &text(), &input).unwrap();
            for at in 0..9 {
                let mut flipped = input.clone().into_bytes();
                flipped[at] = b'0' + (flipped[at] - b'0' + 1 + (i % 9) as u8) % 10;
                let mut after = String::new();
                masker.apply(std::str::from_utf8(&flipped).unwrap(), None, &mut after);
                for (out, (x, y)) in before.bytes().zip(after.bytes()).enumerate() {
                    changed[at][out] += u32::from(x != y);
                }
            }
        }
        for (at, row) in changed.iter().enumerate() {
            for (out, &n) in row.iter().enumerate() {
                let share = f64::from(n) / f64::from(samples);
                assert!((0.86..=0.94).contains(&share), "digit {at} → output {out}: {share}");
            }
        }
    }

    #[test]
    fn keep_format_gives_100k_distinct_outputs_for_100k_distinct_inputs() {
        let masker = Masker::new(&key(), &Rule::Email { keep_domain: false }, &text());
        let mut outputs = std::collections::HashSet::new();
        for i in 0..100_000 {
            let mut out = String::new();
            masker.apply(&format!("user{i}@example.com"), None, &mut out);
            outputs.insert(out);
        }
        assert_eq!(outputs.len(), 100_000);
    }

    #[test]
    fn the_ascii_path_hashes_the_pattern_as_the_general_path_does() {
        for input in ["john.smith@example.com", "Ab-12 x", "", "x".repeat(200).as_str()] {
            let (mut fast, mut general) = (String::new(), String::new());
            text_format(&key().subkey("t"), input, Direction::Mask, &mut fast);
            text_format_general(&key().subkey("t"), input, Direction::Mask, &mut general);
            assert_eq!(fast, general, "{input}");
        }
    }

    #[test]
    fn other_scripts_are_permuted_within_their_script_and_invertibly() {
        for input in
            ["Иван Петров", "山田太郎", "김민준", "٠١٢٣٤٥٦٧٨٩", "Αλέξης", "שלום", "ｶ", "José"]
        {
            let masked = mask(&Rule::KeepFormat, &text(), input);
            assert_eq!(masked.chars().count(), input.chars().count(), "{input} → {masked}");
            if input != "ｶ" {
                assert_ne!(masked, input, "{input}");
            }
            for (a, b) in masked.chars().zip(input.chars()) {
                assert_eq!(a.is_alphanumeric(), b.is_alphanumeric(), "{input} → {masked}");
                assert_eq!(run_of(a).map(|r| r.3), run_of(b).map(|r| r.3), "{input} → {masked}");
            }
            let mut back = String::new();
            let key = key();
            let masker = Masker::new(&key, &Rule::KeepFormat, &text());
            assert!(masker.unmask(&masked, &mut back));
            assert_eq!(back, input);
        }
        // A letter no run covers is left in place, and the leak check is told so.
        assert!(!Rule::KeepFormat.may_keep("ｶ"));
        assert!(!Rule::Email { keep_domain: false }.may_keep("иван@почта.рф"));
    }

    #[test]
    fn case_folds_so_case_insensitive_uniqueness_survives() {
        let a = mask(&Rule::KeepFormat, &text(), "John.Smith");
        let b = mask(&Rule::KeepFormat, &text(), "john.smith");
        assert_eq!(a.to_lowercase(), b);
        assert_eq!(pattern(&a), pattern("John.Smith"));
    }

    #[test]
    fn integers_keep_their_digit_count_sign_and_range() {
        let int4 =
            ColumnShape::new(ValueKind::Integer).with_int_range(i32::MIN.into(), i32::MAX.into());
        let masker = Masker::new(&key(), &Rule::KeepFormat, &int4);
        let mut rng = RowRng::new(5, 5);
        for _ in 0..20_000 {
            let v = rng.draw() as i32 >> rng.below(31);
            let input = v.to_string();
            let mut out = String::new();
            masker.apply(&input, None, &mut out);
            let masked: i64 = out.parse().unwrap_or_else(|_| panic!("{input} → {out}"));
            assert!(i32::try_from(masked).is_ok(), "{input} → {out}");
            assert_eq!(out.len(), input.len(), "{input} → {out}");
            assert_eq!(masked.signum(), i64::from(v).signum());
            assert_eq!(unmask(&masker, &out), input);
        }
        for input in ["0", "-0"] {
            assert_eq!(mask(&Rule::KeepFormat, &int4, input), input);
        }
        // Hash on integers is the same permutation, so keys and foreign keys join either way.
        assert_eq!(mask(&Rule::Hash, &int4, "4711"), mask(&Rule::KeepFormat, &int4, "4711"));
        assert!(Rule::Hash.is_bijection(&int4));
    }

    #[test]
    fn every_one_digit_and_smallint_value_moves_and_stays_unique() {
        let smallint = ColumnShape::new(ValueKind::Integer).with_int_range(-32_768, 32_767);
        let masker = Masker::new(&key(), &Rule::KeepFormat, &smallint);
        let mut seen = std::collections::HashSet::new();
        for v in -32_768..=32_767_i32 {
            let input = v.to_string();
            let mut out = String::new();
            masker.apply(&input, None, &mut out);
            let masked: i16 = out.parse().unwrap_or_else(|_| panic!("{input} → {out}"));
            if v != 0 {
                assert_ne!(i32::from(masked), v);
            }
            assert!(seen.insert(masked));
        }
        assert_eq!(seen.len(), 65_536);
    }

    #[test]
    fn decimals_keep_digits_and_leading_digit() {
        let shape = ColumnShape::new(ValueKind::Decimal).with_scale(2);
        for input in ["12345.67", "-0.05", "0.00", "9.99", "100"] {
            let out = mask(&Rule::KeepFormat, &shape, input);
            assert_eq!(pattern(&out), pattern(input), "{input} → {out}");
            assert!(
                !out.starts_with('0') || input.starts_with("0") && out.starts_with("0."),
                "{out}"
            );
            let masker = Masker::new(&key(), &Rule::KeepFormat, &shape);
            assert_eq!(unmask(&masker, &out), input);
        }
        // Non-canonical forms fall back to keep-format of the digits.
        let out = mask(&Rule::KeepFormat, &shape, "1.5e-07");
        assert_eq!(pattern(&out), pattern("1.5e-07"));
        assert!(out.contains("e-"));
    }

    #[test]
    fn uuids_stay_uuids_of_the_same_version() {
        let shape = ColumnShape::new(ValueKind::Uuid);
        let masker = Masker::new(&key(), &Rule::Hash, &shape);
        for input in
            ["3f2b1c4e-9a7d-4e2f-8b1a-0c9d8e7f6a5b", "018f3a6c-1d2e-7f00-a1b2-c3d4e5f60718"]
        {
            let out = mask(&Rule::Hash, &shape, input);
            assert!(is_uuid(&out), "{out}");
            assert_ne!(out, input);
            assert_eq!(&out[14..15], &input[14..15]);
            assert_eq!(&out[19..20], &input[19..20]);
            assert_eq!(unmask(&masker, &out), input);
            let upper = mask(&Rule::KeepFormat, &shape, &input.to_uppercase());
            assert_eq!(upper, out.to_uppercase());
        }
    }

    #[test]
    fn emails_keep_their_shape_and_optionally_their_domain() {
        let keep = Rule::Email { keep_domain: true };
        let change = Rule::Email { keep_domain: false };
        let out = mask(&keep, &text(), "john.smith@example.com");
        assert!(out.ends_with("@example.com"), "{out}");
        assert_eq!(pattern(&out), pattern("john.smith@example.com"));
        let out = mask(&change, &text(), "john.smith@mail.example.co");
        assert!(out.ends_with(".co") && !out.ends_with("@mail.example.co"), "{out}");
        assert_eq!(pattern(&out), pattern("john.smith@mail.example.co"));
        // One domain masks alike in every address: a company's people still share a domain.
        let a = mask(&change, &text(), "ann@acme.com");
        let b = mask(&change, &text(), "bob@acme.com");
        assert_eq!(a.split_once('@').unwrap().1, b.split_once('@').unwrap().1);
        // No '@': keep-format of the whole.
        assert_eq!(pattern(&mask(&change, &text(), "not an email")), pattern("not an email"));
        for rule in [keep, change] {
            let masker = Masker::new(&key(), &rule, &text());
            for input in
                ["a@b.c", "x.y+tag@sub.example.org", "@", "odd@", "q@localhost", "\"a@b\"@c.de"]
            {
                let mut out = String::new();
                masker.apply(input, None, &mut out);
                assert_eq!(unmask(&masker, &out), input, "{rule:?} {input} → {out}");
            }
        }
    }

    #[test]
    fn outputs_fit_the_column() {
        let short = text().with_max_length(6);
        for rule in
            [Rule::Hash, Rule::Fake { kind: FakeKind::Name, locale: Locale::En }, Rule::KeepFormat]
        {
            let out = mask(&rule, &short, "Jane D");
            assert!(out.chars().count() <= 6, "{rule:?}: {out}");
        }
        let hash = mask(&Rule::Hash, &text(), "jane");
        assert_eq!(hash.len(), 32);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // Fake drawn with a multi-byte locale is cut at a character boundary.
        let cjk = mask(
            &Rule::Fake { kind: FakeKind::Name, locale: Locale::ZhCn },
            &text().with_max_length(1),
            "x",
        );
        assert_eq!(cjk.chars().count(), 1);
    }

    #[test]
    fn simple_rules_give_exact_outputs() {
        let cases: &[(Rule, &str, Option<&str>)] = &[
            (Rule::Keep, "Jane", Some("Jane")),
            (Rule::SetNull, "Jane", None),
            (Rule::Constant("n/a".into()), "Jane", Some("n/a")),
            (Rule::Redact, "Jane Doe, 42", Some("**** ***, **")),
            (Rule::Redact, "Zoë", Some("***")),
            (Rule::Partial { keep_last: 4 }, "4111-1111-1111-1234", Some("****-****-****-1234")),
            (Rule::Partial { keep_last: 2 }, "ab", Some("ab")),
            (Rule::Partial { keep_last: 0 }, "a-b", Some("*-*")),
        ];
        for (rule, input, expected) in cases {
            let got = mask_with(&key(), rule, &text(), input);
            assert_eq!(got.as_deref(), *expected, "{rule:?} {input}");
        }
    }

    #[test]
    fn fakes_are_seeded_by_the_value() {
        let rule = Rule::Fake { kind: FakeKind::Name, locale: Locale::En };
        let a = mask(&rule, &text(), "Jane Doe");
        assert_eq!(a, mask(&rule, &text(), "Jane Doe"));
        assert_ne!(a, mask(&rule, &text(), "John Roe"));
        assert!(a.contains(' '), "{a}");
        let email = mask(
            &Rule::Fake { kind: FakeKind::SafeEmail, locale: Locale::En },
            &text(),
            "Jane Doe",
        );
        assert!(email.contains('@'));
    }

    #[test]
    fn dates_shift_within_the_range_and_keep_the_rest() {
        let rule = Rule::ShiftDate { min_days: -30, max_days: 30 };
        let shape = ColumnShape::new(ValueKind::Timestamp);
        let masker = Masker::new(&key(), &rule, &shape);
        let base = days_from_civil(2024, 2, 29);
        for input in [
            "2024-02-29",
            "2024-02-29 13:45:07",
            "2024-02-29 13:45:07.123456+02",
            "2024-02-29T13:45:07Z",
            "2024-02-29 00:00:00+05:30",
        ] {
            let mut out = String::new();
            masker.apply(input, None, &mut out);
            let shifted = parse_date(&out).unwrap_or_else(|| panic!("{out}"));
            let offset = shifted.days - base;
            assert!(offset != 0 && (-30..=30).contains(&offset), "{input} → {out}");
            assert_eq!(shifted.rest, &input[10..]);
        }
        // One tweak, one offset: a user's dates move together.
        let offset = |input: &str, tweak: &str| {
            let mut out = String::new();
            masker.apply(input, Some(tweak), &mut out);
            parse_date(&out).unwrap().days - parse_date(input).unwrap().days
        };
        assert_eq!(offset("2020-01-01", "user 7"), offset("1999-12-31 10:00:00", "user 7"));
        let offsets: std::collections::HashSet<i64> =
            (0..200).map(|i| offset("2020-01-01", &i.to_string())).collect();
        assert!(offsets.len() > 40 && !offsets.contains(&0), "{offsets:?}");
        // Dates near the ends of the calendar stay four-digit; non-dates stay as they are.
        let late = mask(&Rule::ShiftDate { min_days: 1, max_days: 10 }, &shape, "9999-12-31");
        assert!(late.starts_with("9999-12-"), "{late}");
        for input in ["infinity", "0000-00-00", "2023-02-30", "20240101"] {
            assert_eq!(mask(&rule, &shape, input), input);
            assert!(rule.may_keep(input));
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn noise_keeps_scale_sign_and_digit_count_and_always_moves() {
        let decimal = ColumnShape::new(ValueKind::Decimal).with_scale(2);
        let int2 = ColumnShape::new(ValueKind::Integer).with_int_range(-32_768, 32_767);
        let rule = Rule::Noise { ratio: 0.1 };
        for (shape, input) in [
            (&decimal, "1234.50"),
            (&decimal, "-0.01"),
            (&decimal, "999.99"),
            (&decimal, "0.10"),
            (&int2, "1"),
            (&int2, "9"),
            (&int2, "32767"),
            (&int2, "-32768"),
            (&int2, "500"),
        ] {
            let out = mask(&rule, shape, input);
            assert_ne!(out, input);
            assert_eq!(out.contains('.'), input.contains('.'), "{input} → {out}");
            assert_eq!(out.split('.').nth(1).map(str::len), input.split('.').nth(1).map(str::len));
            assert_eq!(out.starts_with('-'), input.starts_with('-'), "{input} → {out}");
            let (a, b): (f64, f64) = (input.parse().unwrap(), out.parse().unwrap());
            if a.abs() >= 100.0 {
                assert!(((b - a) / a).abs() <= 0.1 + 1e-9, "{input} → {out}");
            }
            if shape.kind == ValueKind::Integer {
                assert!(out.parse::<i16>().is_ok(), "{input} → {out}");
            }
        }
        assert_eq!(mask(&rule, &decimal, "0.00"), "0.00");
        assert_eq!(mask(&rule, &decimal, "NaN"), "NaN");
        let float = mask(&rule, &decimal, "1.5e-07");
        assert!(float.ends_with("e-07") && float != "1.5e-07", "{float}");
    }

    #[test]
    fn json_rules_apply_at_paths() {
        let path = |p: &str| parse_json_path(p).unwrap();
        let rule = Rule::Json(vec![
            (path("$.contact.email"), Rule::Email { keep_domain: true }),
            (path("$.phones[*]"), Rule::KeepFormat),
            (path("$['full name']"), Rule::Redact),
            (path("$.ssn"), Rule::SetNull),
            (path("$.age"), Rule::KeepFormat),
            (path("$.address"), Rule::Redact),
        ]);
        let input = r#"{"contact":{"email":"ann@x.org"},"phones":["+1 555 0100","0612"],"full name":"Ann Lee","ssn":"123-45-6789","age":42,"address":{"street":"1 Main St","zip":"12345"},"plan":"gold"}"#;
        let out = mask(&rule, &ColumnShape::new(ValueKind::Json), input);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(doc["contact"]["email"].as_str().unwrap().ends_with("@x.org"));
        assert_ne!(doc["contact"]["email"], "ann@x.org");
        assert_eq!(pattern(doc["phones"][0].as_str().unwrap()), pattern("+1 555 0100"));
        assert_eq!(doc["full name"], "*** ***");
        assert_eq!(doc["ssn"], serde_json::Value::Null);
        assert!(doc["age"].is_u64() && doc["age"] != 42);
        assert_eq!(doc["address"]["street"], "* **** **");
        assert_eq!(doc["plan"], "gold");
        assert!(!out.contains(' ') || out.contains("\"full name\""), "compact: {out}");
        assert_eq!(mask(&rule, &ColumnShape::new(ValueKind::Json), "not json"), "not json");
    }

    #[test]
    fn json_paths_parse_or_say_why_not() {
        let ok = [
            ("$.a.b", "$.a.b"),
            ("$.list[*].email", "$.list[*].email"),
            ("$.a[0]", "$.a[0]"),
            ("$['odd key']", "$['odd key']"),
            ("$[\"it's\"]", "$['it\\'s']"),
            ("$.*", "$[*]"),
            ("$", "$"),
        ];
        for (text, shown) in ok {
            let path = parse_json_path(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(path.to_string(), shown);
            assert_eq!(parse_json_path(shown).unwrap(), path);
        }
        let bad = [
            ("a.b", "json path \"a.b\" must start with '$'"),
            ("$.", "json path \"$.\" has an empty key after '.'"),
            ("$.a[", "json path \"$.a[\" has an unclosed '['"),
            ("$[x]", "json path \"$[x]\" has [x]; expected [*], [number] or ['key']"),
            ("$a", "json path \"$a\" has 'a' where '.' or '[' belongs"),
        ];
        for (text, message) in bad {
            assert_eq!(parse_json_path(text).unwrap_err(), message);
        }
    }

    #[test]
    fn check_refuses_what_cannot_fit() {
        let not_null = text().with_nullable(false);
        let int = ColumnShape::new(ValueKind::Integer).with_int_range(-32_768, 32_767);
        let date = ColumnShape::new(ValueKind::Date);
        let json = ColumnShape::new(ValueKind::Json);
        let path = parse_json_path("$.a").unwrap();
        let cases: Vec<(Rule, ColumnShape, Result<(), &str>)> = vec![
            (Rule::SetNull, not_null.clone(), Err("set-null cannot apply to a not null column")),
            (Rule::SetNull, text(), Ok(())),
            (
                Rule::ShiftDate { min_days: 1, max_days: 5 },
                text(),
                Err("shift-date cannot apply to a text column"),
            ),
            (
                Rule::ShiftDate { min_days: 5, max_days: 1 },
                date.clone(),
                Err("shift-date range 5..1 is empty"),
            ),
            (
                Rule::ShiftDate { min_days: 0, max_days: 0 },
                date.clone(),
                Err("shift-date range 0..0 would shift nothing"),
            ),
            (Rule::ShiftDate { min_days: -5, max_days: 5 }, date.clone(), Ok(())),
            (Rule::Noise { ratio: 0.1 }, text(), Err("noise cannot apply to a text column")),
            (
                Rule::Noise { ratio: 0.0 },
                int.clone(),
                Err("noise ratio 0 must be above 0 and at most 1"),
            ),
            (Rule::Noise { ratio: 0.1 }, int.clone(), Ok(())),
            (Rule::Json(vec![]), text(), Err("json cannot apply to a text column")),
            (
                Rule::Json(vec![(path.clone(), Rule::Json(vec![]))]),
                json.clone(),
                Err("json rule at $.a cannot hold another json rule"),
            ),
            (
                Rule::Json(vec![(path, Rule::Noise { ratio: 2.0 })]),
                json.clone(),
                Err("at $.a: noise ratio 2 must be above 0 and at most 1"),
            ),
            (
                Rule::Constant("abcdefg".into()),
                text().with_max_length(5),
                Err("constant \"abcdefg\" is longer than the column's 5 characters"),
            ),
            (
                Rule::Constant("70000".into()),
                int.clone(),
                Err("constant \"70000\" is not a valid integer value"),
            ),
            (Rule::Constant("-7".into()), int.clone(), Ok(())),
            (Rule::Redact, int.clone(), Err("redact cannot apply to a integer column")),
            (Rule::KeepFormat, date.clone(), Err("keep-format cannot apply to a date column")),
            (Rule::KeepFormat, int.clone(), Ok(())),
            (
                Rule::Fake { kind: FakeKind::Name, locale: Locale::En },
                int.clone(),
                Err("fake name cannot fill a integer column"),
            ),
            (
                Rule::Fake { kind: FakeKind::Uuid, locale: Locale::En },
                ColumnShape::new(ValueKind::Uuid),
                Ok(()),
            ),
            (
                Rule::Email { keep_domain: true },
                ColumnShape::new(ValueKind::Uuid),
                Err("email cannot apply to a uuid column"),
            ),
        ];
        for (rule, shape, expected) in cases {
            assert_eq!(
                rule.check(&shape),
                expected.map_err(str::to_string),
                "{rule:?} on {:?}",
                shape.kind
            );
        }
    }

    #[test]
    fn may_keep_and_is_bijection_say_what_the_leak_check_may_allow() {
        let int = ColumnShape::new(ValueKind::Integer);
        let cases: &[(Rule, &str, bool)] = &[
            (Rule::Keep, "x", true),
            (Rule::KeepFormat, "x", false),
            (Rule::KeepFormat, "--", true),
            (Rule::KeepFormat, "0", true),
            (Rule::Redact, "***", true),
            (Rule::Redact, "a", false),
            (Rule::Partial { keep_last: 4 }, "1234", true),
            (Rule::Partial { keep_last: 4 }, "12345", false),
            (Rule::Constant("x".into()), "x", true),
            (Rule::Constant("x".into()), "y", false),
            (Rule::Email { keep_domain: true }, "a@b.c", false),
            (Rule::Email { keep_domain: true }, "+@b.c", true),
            (Rule::Email { keep_domain: false }, "+@b.c", false),
            (Rule::Email { keep_domain: false }, "+@.c", true),
            (Rule::Noise { ratio: 0.1 }, "0.00", true),
            (Rule::Noise { ratio: 0.1 }, "1.00", false),
            (Rule::Hash, "abc", false),
            (Rule::SetNull, "", false),
        ];
        for (rule, input, expected) in cases {
            assert_eq!(rule.may_keep(input), *expected, "{rule:?} {input:?}");
            // And it is true to its word: a rule that may not keep does not.
            let shape = if matches!(rule, Rule::Noise { .. }) {
                ColumnShape::new(ValueKind::Decimal)
            } else {
                text()
            };
            if !expected {
                assert_ne!(
                    mask_with(&key(), rule, &shape, input).as_deref(),
                    Some(*input),
                    "{rule:?}"
                );
            }
        }
        assert!(Rule::KeepFormat.is_bijection(&text()));
        assert!(Rule::Hash.is_bijection(&int));
        assert!(Rule::Hash.is_bijection(&ColumnShape::new(ValueKind::Uuid)));
        assert!(!Rule::Hash.is_bijection(&text()));
        assert!(Rule::Email { keep_domain: false }.is_bijection(&text()));
        assert!(!Rule::Fake { kind: FakeKind::Name, locale: Locale::En }.is_bijection(&text()));
        assert!(!Rule::Redact.is_bijection(&text()));
    }

    #[test]
    fn shapes_come_from_both_dialects_spellings() {
        let column = |base: &str, data_type: &str, unsigned: bool| Column {
            name: "c".into(),
            data_type: data_type.into(),
            base_type: base.into(),
            max_length: None,
            numeric_precision: None,
            numeric_scale: None,
            unsigned,
            nullable: true,
            default: None,
            generated: None,
            collation: None,
        };
        type Case<'a> = (&'a str, &'a str, bool, ValueKind, Option<(i128, i128)>);
        let cases: &[Case] = &[
            ("int4", "integer", false, ValueKind::Integer, Some((-2_147_483_648, 2_147_483_647))),
            ("int", "int unsigned", true, ValueKind::Integer, Some((0, 4_294_967_295))),
            ("bigint", "bigint unsigned", true, ValueKind::Integer, Some((0, u64::MAX.into()))),
            ("smallint", "smallint", false, ValueKind::Integer, Some((-32_768, 32_767))),
            ("serial", "integer", false, ValueKind::Integer, Some((-2_147_483_648, 2_147_483_647))),
            ("tinyint", "tinyint(1)", false, ValueKind::Bool, None),
            ("tinyint", "tinyint(4)", false, ValueKind::Integer, Some((-128, 127))),
            ("numeric", "numeric(10,2)", false, ValueKind::Decimal, None),
            ("decimal", "decimal(10,2)", false, ValueKind::Decimal, None),
            ("date", "date", false, ValueKind::Date, None),
            ("timestamptz", "timestamp with time zone", false, ValueKind::Timestamp, None),
            (
                "timestamp with time zone",
                "timestamp with time zone",
                false,
                ValueKind::Timestamp,
                None,
            ),
            ("datetime", "datetime(6)", false, ValueKind::Timestamp, None),
            ("jsonb", "jsonb", false, ValueKind::Json, None),
            ("json", "json", false, ValueKind::Json, None),
            ("uuid", "uuid", false, ValueKind::Uuid, None),
            ("boolean", "boolean", false, ValueKind::Bool, None),
            ("varchar", "character varying(255)", false, ValueKind::Text, None),
            ("character varying", "character varying(20)", false, ValueKind::Text, None),
            ("citext", "citext", false, ValueKind::Text, None),
            ("enum", "enum('a','b')", false, ValueKind::Text, None),
            ("order_status", "public.order_status", false, ValueKind::Text, None),
            ("inet", "inet", false, ValueKind::Other, None),
            ("text", "text[]", false, ValueKind::Other, None),
            ("bytea", "bytea", false, ValueKind::Other, None),
        ];
        for (base, data_type, unsigned, kind, range) in cases {
            let shape = shape_of(&column(base, data_type, *unsigned));
            assert_eq!((shape.kind, shape.int_range), (*kind, *range), "{base} / {data_type}");
        }
    }

    /// Throughput in release mode:
    /// `cargo test --release --lib data::mask::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, run in release mode"]
    fn throughput() {
        let emails: Vec<String> =
            (0..1_000_000).map(|i| format!("user.{i:07}@example.com")).collect();
        let names: Vec<String> = (0..1_000_000).map(|i| format!("Person Number {i:07}")).collect();
        let phones: Vec<String> = (0..1_000_000).map(|i| format!("+1 555 {i:07}")).collect();
        let cases = [
            ("phone keep-format", Rule::KeepFormat, &phones),
            ("email (keep domain)", Rule::Email { keep_domain: true }, &emails),
            ("email (mask domain)", Rule::Email { keep_domain: false }, &emails),
            ("keep-format", Rule::KeepFormat, &emails),
            ("hash", Rule::Hash, &emails),
            ("fake name", Rule::Fake { kind: FakeKind::Name, locale: Locale::En }, &names),
        ];
        for (label, rule, inputs) in cases {
            let masker = Masker::new(&key(), &rule, &text());
            let bytes: usize = inputs.iter().map(String::len).sum();
            let mut out = String::with_capacity(64);
            let mut check = 0_usize;
            // Best of three: the machine is shared, the best run is the least disturbed one.
            let mut secs = f64::MAX;
            for _ in 0..3 {
                let started = std::time::Instant::now();
                for input in inputs.iter() {
                    out.clear();
                    masker.apply(input, None, &mut out);
                    check = check.wrapping_add(out.len());
                }
                secs = secs.min(started.elapsed().as_secs_f64());
            }
            println!(
                "{label:>20}: {:>9.0} rows/s, {:>6.1} MB/s in ({:.1} bytes/row; check {check})",
                inputs.len() as f64 / secs,
                bytes as f64 / secs / 1e6,
                bytes as f64 / inputs.len() as f64,
            );
        }
    }
}
