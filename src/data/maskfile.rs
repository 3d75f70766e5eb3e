//! The masked-copy half of a seed file: where production rows come from (`source`), which of
//! them (`subset`), how each personal column is replaced (`mask`), and what to do about personal
//! columns without a rule (`unmasked`). Read strictly, like the rest of the seed file: every
//! error names the file, the key path and the line.
//!
//! ```yaml
//! source: { url: "${PROD_ACCOUNTS_URL}" }      # or { csv: exports/accounts }
//! subset:
//!   start: { users: { percent: 5 } }           # percent, limit, where
//!   follow: parents                            # or children
//!   relations:                                 # keys the database does not declare
//!     - { from: orders.customer_id, to: users.id, in: accounts }
//! mask:
//!   users: { email: email, name: { fake: name }, phone: keep-format }
//! unmasked: fail                               # or warn
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml::Value;

use super::fakes::{FakeKind, Locale};
use super::mask::{self, Rule};
use super::seedfile::{Walker, key_name};
use crate::profile::{self, child, suggest};

/// Where production rows come from.
#[derive(Clone, PartialEq)]
pub enum Source {
    /// A database URL, `${VAR}` expanded; opened read-only. Never shown with its password.
    Url(String),
    /// A directory of `<table>.csv` exports.
    Csv(PathBuf),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Url(url) => match crate::engine::Target::from_url(url) {
                Ok(target) => write!(f, "Url({})", target.display()),
                Err(_) => f.write_str("Url(…)"),
            },
            Source::Csv(dir) => write!(f, "Csv({})", dir.display()),
        }
    }
}

/// Which rows to copy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Subset {
    pub start: BTreeMap<String, Start>,
    pub follow: Follow,
    pub relations: Vec<Relation>,
}

impl Subset {
    pub fn is_whole(&self) -> bool {
        self.start.is_empty()
    }
}

/// The rows a subset starts from in one table; the conditions combine (`where`, then a share,
/// then at most `limit` rows, lowest key first).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Start {
    pub percent: Option<f64>,
    pub limit: Option<u64>,
    pub filter: Option<String>,
    pub key: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Follow {
    /// Every kept row's parents come along; children stay only when their parents did.
    #[default]
    Parents,
    /// Also the children of the start rows (and theirs), with their parents.
    Children,
}

/// A foreign key the database does not declare, possibly into another service's database.
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    pub table: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// `service` or `service.database` holding `ref_table`; `None` is this database.
    pub database: Option<String>,
    pub key: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unmasked {
    /// A column that looks personal and has no rule stops the run.
    #[default]
    Fail,
    Warn,
}

/// One column's masking rule.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskRule {
    pub rule: Rule,
    /// `shift-date … by`: another column of the row whose value keys the offset, so a row's
    /// dates move together.
    pub by: Option<String>,
    pub key: String,
}

/// The masked-copy keys of a seed file.
#[derive(Clone, Debug, Default)]
pub struct Masked {
    pub source: Option<Source>,
    pub subset: Subset,
    /// table → column → rule.
    pub mask: BTreeMap<String, BTreeMap<String, MaskRule>>,
    pub unmasked: Unmasked,
    /// A file holding the masking secret, relative to the seed file.
    pub key_file: Option<PathBuf>,
}

pub const KEYS: &[&str] = &["source", "subset", "mask", "unmasked", "key_file"];

const RULES: &[&str] = &[
    "keep",
    "fake",
    "hash",
    "redact",
    "set-null",
    "constant",
    "keep-format",
    "partial",
    "shift-date",
    "noise",
    "email",
    "json",
];

impl Walker<'_> {
    /// Reads one of [`KEYS`] into `masked`.
    pub(super) fn masked(&mut self, masked: &mut Masked, name: &str, value: &Value) {
        match name {
            "source" => masked.source = self.source(name, value),
            "subset" => masked.subset = self.subset(name, value),
            "mask" => {
                for (table, columns) in self.map(name, value) {
                    let table_key = child(name, &table);
                    let mut rules = BTreeMap::new();
                    for (column, rule) in self.map(&table_key, &columns) {
                        let key = child(&table_key, &column);
                        if let Some(rule) = self.mask_rule(&key, &rule) {
                            rules.insert(column, rule);
                        }
                    }
                    masked.mask.insert(table, rules);
                }
            }
            "unmasked" => {
                masked.unmasked = match value.as_str() {
                    Some("fail") => Unmasked::Fail,
                    Some("warn") => Unmasked::Warn,
                    _ => {
                        self.error(name, "expected `fail` or `warn`");
                        Unmasked::Fail
                    }
                }
            }
            "key_file" => {
                if let Some(path) = self.text(name, value) {
                    let base = self.path.parent().unwrap_or(std::path::Path::new("."));
                    masked.key_file = Some(base.join(path));
                }
            }
            _ => unreachable!("only masked keys come here"),
        }
    }

    fn source(&mut self, key: &str, value: &Value) -> Option<Source> {
        let entries = self.map(key, value);
        if entries.len() != 1 {
            self.error_hint(
                key,
                "expected one source",
                "write `source: { url: \"${PROD_URL}\" }` or `source: { csv: exports/accounts }`",
            );
            return None;
        }
        let (kind, value) = &entries[0];
        let at = child(key, kind);
        let text = self.text(&at, value)?.to_owned();
        match kind.as_str() {
            "url" => {
                let url = match profile::expand(&text, &|name| std::env::var(name).ok()) {
                    Ok(url) => url,
                    Err(e) => {
                        self.error_hint(&at, e.message(), e.hint());
                        return None;
                    }
                };
                if let Err(e) = crate::engine::Target::from_url(&url) {
                    self.error(&at, e.to_string());
                    return None;
                }
                Some(Source::Url(url))
            }
            "csv" => {
                let base = self.path.parent().unwrap_or(std::path::Path::new("."));
                Some(Source::Csv(base.join(text)))
            }
            other => {
                self.unknown(&at, other, &["url", "csv"]);
                None
            }
        }
    }

    fn subset(&mut self, key: &str, value: &Value) -> Subset {
        let mut subset = Subset::default();
        for (name, value) in self.map(key, value) {
            let at = child(key, &name);
            match name.as_str() {
                "start" => {
                    for (table, rule) in self.map(&at, &value) {
                        let table_key = child(&at, &table);
                        if let Some(start) = self.start(&table_key, &rule) {
                            subset.start.insert(table, start);
                        }
                    }
                }
                "follow" => {
                    subset.follow = match value.as_str() {
                        Some("parents" | "foreign-keys") => Follow::Parents,
                        Some("children") => Follow::Children,
                        _ => {
                            self.error(&at, "expected `parents` or `children`");
                            Follow::Parents
                        }
                    }
                }
                "relations" => match value.as_sequence() {
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            let item_key = format!("{at}[{i}]");
                            if let Some(relation) = self.relation(&item_key, item) {
                                subset.relations.push(relation);
                            }
                        }
                    }
                    None => self.error(&at, "expected a list of `{ from: …, to: … }`"),
                },
                other => self.unknown(&at, other, &["start", "follow", "relations"]),
            }
        }
        subset
    }

    fn start(&mut self, key: &str, value: &Value) -> Option<Start> {
        let mut start = Start { key: key.to_owned(), ..Start::default() };
        let before = self.errors.len();
        for (name, value) in self.map(key, value) {
            let at = child(key, &name);
            match name.as_str() {
                "percent" => match self.number(&at, &value) {
                    Some(p) if p > 0.0 && p <= 100.0 => start.percent = Some(p),
                    Some(_) => self.error(&at, "expected a share above 0 and at most 100"),
                    None => {}
                },
                "limit" => start.limit = self.count(&at, &value),
                "where" => start.filter = self.text(&at, &value).map(str::to_owned),
                other => self.unknown(&at, other, &["percent", "limit", "where"]),
            }
        }
        if start.percent.is_none() && start.limit.is_none() && start.filter.is_none() {
            self.error_hint(
                key,
                "the start names no rows",
                "write `{ percent: 5 }`, `{ limit: 1000 }` or `{ where: \"country = 'DE'\" }`",
            );
        }
        (self.errors.len() == before).then_some(start)
    }

    fn relation(&mut self, key: &str, value: &Value) -> Option<Relation> {
        let before = self.errors.len();
        let (mut from, mut to, mut database) = (None, None, None);
        for (name, value) in self.map(key, value) {
            let at = child(key, &name);
            match name.as_str() {
                "from" => from = self.text(&at, &value).and_then(|t| self.columns_ref(&at, t)),
                "to" => to = self.text(&at, &value).and_then(|t| self.columns_ref(&at, t)),
                "in" => database = self.text(&at, &value).map(str::to_owned),
                other => self.unknown(&at, other, &["from", "to", "in"]),
            }
        }
        let (Some((table, columns)), Some((ref_table, ref_columns))) = (from, to) else {
            if self.errors.len() == before {
                self.error_hint(
                    key,
                    "a relation needs `from` and `to`",
                    "write `{ from: orders.customer_id, to: users.id, in: accounts }`",
                );
            }
            return None;
        };
        if columns.len() != ref_columns.len() {
            self.error(key, "`from` and `to` name different numbers of columns");
            return None;
        }
        (self.errors.len() == before).then(|| Relation {
            table,
            columns,
            ref_table,
            ref_columns,
            database,
            key: key.to_owned(),
        })
    }

    /// `table.column` or `table.(a, b)`; the table may be schema-qualified (`audit.events.id`).
    fn columns_ref(&mut self, key: &str, text: &str) -> Option<(String, Vec<String>)> {
        let parsed = if let Some(open) = text.find(".(")
            && text.ends_with(')')
        {
            let columns: Vec<String> = text[open + 2..text.len() - 1]
                .split(',')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect();
            Some((text[..open].to_owned(), columns))
        } else {
            text.rsplit_once('.').map(|(t, c)| (t.to_owned(), vec![c.to_owned()]))
        };
        match parsed {
            Some((table, columns)) if !table.is_empty() && !columns.is_empty() => {
                Some((table, columns))
            }
            _ => {
                self.error_hint(
                    key,
                    format!("`{text}` names no column"),
                    "write `table.column`, or `table.(a, b)` for a composite key",
                );
                None
            }
        }
    }

    fn mask_rule(&mut self, key: &str, value: &Value) -> Option<MaskRule> {
        let mut by = None;
        let rule = match value {
            Value::String(name) => self.named_rule(key, name, None)?,
            Value::Mapping(map) => {
                let mut kind = None;
                let mut locale = None;
                for (k, v) in map {
                    let name = key_name(k);
                    let at = child(key, &name);
                    match name.as_str() {
                        "locale" => locale = self.locale(&at, v),
                        "by" => by = self.text(&at, v).map(str::to_owned),
                        n if RULES.contains(&n) => {
                            if kind.is_some() {
                                self.error(key, "the rule names more than one transformer");
                                return None;
                            }
                            kind = Some((name.clone(), v.clone()));
                        }
                        other => {
                            let mut known = RULES.to_vec();
                            known.extend(["locale", "by"]);
                            self.unknown(&at, other, &known);
                            return None;
                        }
                    }
                }
                let Some((name, argument)) = kind else {
                    self.error_hint(
                        key,
                        "the rule names no transformer",
                        format!("name one of {}", profile::quoted_list(RULES)),
                    );
                    return None;
                };
                let rule = self.rule_with(&child(key, &name), &name, &argument, locale)?;
                if by.is_some() && !matches!(rule, Rule::ShiftDate { .. }) {
                    self.error(&child(key, "by"), "`by` goes with `shift-date` only");
                    return None;
                }
                rule
            }
            _ => {
                self.error_hint(
                    key,
                    "expected a masking rule",
                    "write a name such as `keep-format` or a map such as `{ fake: name }`",
                );
                return None;
            }
        };
        Some(MaskRule { rule, by, key: key.to_owned() })
    }

    /// A rule written as a bare name (`keep-format`), with its defaults.
    fn named_rule(&mut self, key: &str, name: &str, locale: Option<Locale>) -> Option<Rule> {
        Some(match name {
            "keep" => Rule::Keep,
            "hash" => Rule::Hash,
            "redact" => Rule::Redact,
            "set-null" => Rule::SetNull,
            "keep-format" => Rule::KeepFormat,
            "email" => Rule::Email { keep_domain: false },
            "shift-date" => Rule::ShiftDate { min_days: -30, max_days: 30 },
            "noise" => Rule::Noise { ratio: 0.1 },
            "partial" => Rule::Partial { keep_last: 4 },
            "fake" | "constant" | "json" => {
                self.error(key, format!("`{name}` needs an argument: `{{ {name}: … }}`"));
                return None;
            }
            other => {
                let _ = locale;
                self.error_hint(
                    key,
                    format!("unknown masking rule `{other}`"),
                    suggest(other, RULES),
                );
                return None;
            }
        })
    }

    /// A rule written as `{ name: argument }`.
    fn rule_with(
        &mut self,
        key: &str,
        name: &str,
        argument: &Value,
        locale: Option<Locale>,
    ) -> Option<Rule> {
        let empty = matches!(argument, Value::Null)
            || argument.as_mapping().is_some_and(serde_yaml::Mapping::is_empty);
        match name {
            "fake" => {
                let generator = self.text(key, argument)?;
                match FakeKind::from_name(generator) {
                    Some(kind) => Some(Rule::Fake { kind, locale: locale.unwrap_or(Locale::En) }),
                    None => {
                        self.error_hint(
                            key,
                            format!("unknown fake generator `{generator}`"),
                            suggest(generator, &FakeKind::names()),
                        );
                        None
                    }
                }
            }
            "constant" => match argument {
                Value::String(s) => Some(Rule::Constant(s.clone())),
                Value::Number(n) => Some(Rule::Constant(n.to_string())),
                Value::Bool(b) => Some(Rule::Constant(b.to_string())),
                _ => {
                    self.error(key, "expected a value");
                    None
                }
            },
            "partial" => {
                let value = match argument {
                    Value::Mapping(_) => {
                        let mut keep = None;
                        for (k, v) in self.map(key, argument) {
                            let at = child(key, &k);
                            match k.as_str() {
                                "keep_last" => keep = self.count(&at, &v),
                                other => self.unknown(&at, other, &["keep_last"]),
                            }
                        }
                        keep
                    }
                    _ => self.count(key, argument),
                }?;
                Some(Rule::Partial { keep_last: value as usize })
            }
            "shift-date" => {
                let days = match argument {
                    Value::Mapping(_) => {
                        let mut days = None;
                        for (k, v) in self.map(key, argument) {
                            let at = child(key, &k);
                            match k.as_str() {
                                "days" => days = self.days(&at, &v),
                                other => self.unknown(&at, other, &["days"]),
                            }
                        }
                        days.or(Some((-30, 30)))
                    }
                    _ => self.days(key, argument),
                }?;
                Some(Rule::ShiftDate { min_days: days.0, max_days: days.1 })
            }
            "noise" => {
                let ratio = match argument {
                    Value::Mapping(_) => {
                        let mut ratio = None;
                        for (k, v) in self.map(key, argument) {
                            let at = child(key, &k);
                            match k.as_str() {
                                "ratio" => ratio = self.number(&at, &v),
                                other => self.unknown(&at, other, &["ratio"]),
                            }
                        }
                        ratio
                    }
                    _ => self.number(key, argument),
                }?;
                if !(ratio > 0.0 && ratio <= 1.0) {
                    self.error(key, "expected a ratio above 0 and at most 1, such as 0.1");
                    return None;
                }
                Some(Rule::Noise { ratio })
            }
            "email" => {
                let mut keep_domain = false;
                if !empty {
                    for (k, v) in self.map(key, argument) {
                        let at = child(key, &k);
                        match k.as_str() {
                            "keep_domain" => match v.as_bool() {
                                Some(b) => keep_domain = b,
                                None => self.error(&at, "expected true or false"),
                            },
                            other => self.unknown(&at, other, &["keep_domain"]),
                        }
                    }
                }
                Some(Rule::Email { keep_domain })
            }
            "json" => {
                let mut paths = Vec::new();
                for (path, rule) in self.map(key, argument) {
                    let at = child(key, &path);
                    match mask::parse_json_path(&path) {
                        Ok(parsed) => {
                            if let Some(rule) = self.mask_rule(&at, &rule) {
                                paths.push((parsed, rule.rule));
                            }
                        }
                        Err(e) => self.error(&at, e),
                    }
                }
                if paths.is_empty() {
                    self.error(key, "expected a map of JSON paths to rules: `{ $.email: email }`");
                    return None;
                }
                Some(Rule::Json(paths))
            }
            "keep" | "hash" | "redact" | "set-null" | "keep-format" if empty => {
                self.named_rule(key, name, locale)
            }
            other => {
                self.error(key, format!("`{other}` takes no argument: write `{other}` alone"));
                None
            }
        }
    }

    /// `30` (±30 days, never 0) or `[-30, 30]`.
    fn days(&mut self, key: &str, value: &Value) -> Option<(i64, i64)> {
        if let Some(n) = value.as_i64() {
            if n <= 0 {
                self.error(key, "expected a number of days above 0");
                return None;
            }
            return Some((-n, n));
        }
        match value.as_sequence().map(|s| s.iter().map(Value::as_i64).collect::<Vec<_>>()) {
            Some(items) if items.len() == 2 && items.iter().all(Option::is_some) => {
                let (min, max) = (items[0].unwrap_or(0), items[1].unwrap_or(0));
                if min > max || (min == 0 && max == 0) {
                    self.error(key, format!("the range [{min}, {max}] moves no date"));
                    return None;
                }
                Some((min, max))
            }
            _ => {
                self.error(key, "expected days, such as 30 or [-30, 30]");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::data::seedfile::SeedFile;

    fn parse(text: &str) -> Result<SeedFile, Vec<String>> {
        SeedFile::parse(Path::new("seeds/m.yaml"), text)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_masked_file_parses() {
        let file = parse(
            "source: { csv: exports }\nsubset:\n  start: { users: { percent: 5, where: \"country = 'DE'\" }, orders: { limit: 10 } }\n  follow: children\n  relations:\n    - { from: orders.customer_id, to: users.id, in: accounts }\n    - { from: \"lines.(order_id, n)\", to: \"order_lines.(order_id, line)\" }\nmask:\n  users:\n    email: { email: { keep_domain: true } }\n    name: { fake: name, locale: de_de }\n    phone: keep-format\n    born: { shift-date: 10, by: id }\n    card: { partial: { keep_last: 4 } }\n    salary: { noise: { ratio: 0.05 } }\n    note: redact\n    prefs: { json: { \"$.contact.email\": email } }\nunmasked: warn\nkey_file: secret.key\n",
        )
        .unwrap();
        let m = &file.masked;
        assert_eq!(m.source, Some(Source::Csv(PathBuf::from("seeds/exports"))));
        assert_eq!(m.key_file, Some(PathBuf::from("seeds/secret.key")));
        assert_eq!(m.unmasked, Unmasked::Warn);
        assert_eq!(m.subset.follow, Follow::Children);
        let users = &m.subset.start["users"];
        assert_eq!((users.percent, users.filter.as_deref()), (Some(5.0), Some("country = 'DE'")));
        assert_eq!(m.subset.start["orders"].limit, Some(10));
        assert_eq!(m.subset.relations[0].database.as_deref(), Some("accounts"));
        assert_eq!(m.subset.relations[1].columns, ["order_id", "n"]);
        assert_eq!(m.subset.relations[1].ref_columns, ["order_id", "line"]);
        let rules = &m.mask["users"];
        assert_eq!(rules["email"].rule, Rule::Email { keep_domain: true });
        assert_eq!(rules["phone"].rule, Rule::KeepFormat);
        assert_eq!(rules["born"].rule, Rule::ShiftDate { min_days: -10, max_days: 10 });
        assert_eq!(rules["born"].by.as_deref(), Some("id"));
        assert_eq!(rules["card"].rule, Rule::Partial { keep_last: 4 });
        assert_eq!(rules["salary"].rule, Rule::Noise { ratio: 0.05 });
        assert!(matches!(rules["prefs"].rule, Rule::Json(ref paths) if paths.len() == 1));
    }

    #[test]
    fn masked_errors_name_the_file_key_and_line() {
        let cases: &[(&str, &str)] = &[
            (
                "mask:\n  users:\n    email: emial\n",
                "seeds/m.yaml:3:5: mask.users.email: unknown masking rule `emial`\n  hint: did you mean `email`?",
            ),
            (
                "mask:\n  users:\n    name: { fake: nmae }\n",
                "seeds/m.yaml:3:13: mask.users.name.fake: unknown fake generator `nmae`\n  hint: did you mean `name`?",
            ),
            (
                "mask:\n  users:\n    name: { hash: {}, redact: {} }\n",
                "seeds/m.yaml:3:5: mask.users.name: the rule names more than one transformer",
            ),
            (
                "mask:\n  users:\n    d: { noise: 3 }\n",
                "seeds/m.yaml:3:10: mask.users.d.noise: expected a ratio above 0 and at most 1, such as 0.1",
            ),
            (
                "mask:\n  users:\n    d: { keep-format: {}, by: id }\n",
                "seeds/m.yaml:3:27: mask.users.d.by: `by` goes with `shift-date` only",
            ),
            (
                "subset:\n  start: { users: { share: 5 } }\n",
                "seeds/m.yaml:2:21: subset.start.users.share: unknown key `share`\n  hint: expected one of `percent`, `limit`, `where`",
            ),
            (
                "subset:\n  relations:\n    - { from: orders.customer_id }\n",
                "seeds/m.yaml:3:7: subset.relations[0]: a relation needs `from` and `to`\n  hint: write `{ from: orders.customer_id, to: users.id, in: accounts }`",
            ),
            (
                "source: { url: \"${DBTWIN_TEST_UNSET_SOURCE}\" }\n",
                "seeds/m.yaml:1:11: source.url: unset variable `DBTWIN_TEST_UNSET_SOURCE`\n  hint: set it, or give a default: `${DBTWIN_TEST_UNSET_SOURCE:-value}`",
            ),
            ("unmasked: maybe\n", "seeds/m.yaml:1:1: unmasked: expected `fail` or `warn`"),
        ];
        for (text, expected) in cases {
            let errors = parse(text).err().unwrap_or_default();
            assert_eq!(errors.first().map(String::as_str), Some(*expected), "{text}");
        }
    }

    #[test]
    fn every_suggested_rule_parses() {
        use crate::data::pii::PiiKind;
        for kind in PiiKind::ALL {
            let text = format!("mask:\n  users:\n    c: {}\n", kind.suggested_rule());
            assert!(parse(&text).is_ok(), "{kind:?}: {:?}", parse(&text).err());
        }
    }

    #[test]
    fn a_source_url_is_never_shown_with_its_password() {
        let source = Source::Url("postgres://reader:s3cret@db.internal:5432/accounts".into());
        let shown = format!("{source:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db.internal"), "{shown}");
    }
}
