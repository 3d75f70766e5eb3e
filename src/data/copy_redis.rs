//! The masked copy of a Redis database: every key of the source (SCAN, so keys are read as they
//! are when reached; Redis has no snapshot to read in), masked by rules keyed by key pattern, and
//! written to the target with its TTL.
//!
//! Rules name a glob pattern and, inside it, what to mask: a hash field by its name, `value` for a
//! string, `members` for the members of a set, list or sorted set (scores are kept), and
//! `key-name` for the key's own name: each of its `:`-separated segments between the pattern's
//! leading and trailing literal segments (`cart:*` masks `alice@example.com` in
//! `cart:alice@example.com`, as the same rule masks it anywhere else, so a name built from a
//! masked value still finds its key):
//!
//! ```yaml
//! mask:
//!   "session:*": { email: email, ip: keep-format }
//!   "user:*:email": { value: email }
//!   "cart:*": { key-name: email }
//! ```
//!
//! The guards are those of the table copy: personal-looking fields, values and key names without
//! a rule (judged on the first keys of each key shape) stop the copy, no masked value or name
//! segment may equal its original, and no original value of a personal field may appear in any
//! value or key name written. A `key-name` rule must be a bijection (two keys must not become
//! one).

use std::collections::BTreeMap;

use super::copy::{Leak, MaskedInput, Unruled};
use super::leak::Originals;
use super::load::{DataError, Outcome, Request};
use super::mask::{ColumnShape, Masker, Rule, ValueKind};
use super::maskfile::Unmasked;
use super::pii::{self, PiiKind, Sampler};
use crate::engine::EngineError;
use crate::engine::session::{RedisData, RedisEntry, Session};
use crate::event::{Event, Events};

/// Keys per SCAN step and per write pipeline.
const BATCH: usize = 1_000;
/// Keys sampled for the personal-data guard.
const SAMPLE_KEYS: usize = 2_000;
/// The field name of rules on key names.
const KEY_NAME: &str = "key-name";

struct FieldRule {
    pattern: String,
    field: String,
    rule: Rule,
    masker: Masker,
}

/// Copies every key of the source into the emptied target, masked.
pub async fn copy(
    session: &mut Session,
    request: &Request<'_>,
    input: &MaskedInput,
    events: &Events,
) -> Result<Outcome, DataError> {
    let started = std::time::Instant::now();
    let file = request.file;
    if input.source.kind() != Some(crate::profile::EngineKind::Redis) {
        return Err(DataError::Plan {
            db: request.db.clone(),
            file: file.path.display().to_string(),
            errors: crate::profile::ProfileErrors(vec![
                file.error("source", "the database is redis: its source must be a redis URL"),
            ]),
        });
    }
    let text = ColumnShape::new(ValueKind::Text).with_nullable(true);
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (pattern, fields) in &file.masked.mask {
        for (field, rule) in fields {
            if field == KEY_NAME && !whole_segment_wildcards(pattern) {
                errors.push(
                    file.error(
                        &rule.key,
                        format!(
                            "{pattern}: a `key-name` rule masks whole segments between `:`, and \
                             this pattern's wildcards share a segment with other characters"
                        ),
                    )
                    .with_hint("write the pattern with whole-segment wildcards: `user:*:cart`"),
                );
            }
            if field == KEY_NAME && !rule.rule.is_bijection(&text) {
                errors.push(
                    file.error(
                        &rule.key,
                        format!(
                            "{pattern}: `{}` on key names is not a bijection: two keys could \
                             get the same name",
                            rule.rule.name()
                        ),
                    )
                    .with_hint("give key names keep-format, email or keep"),
                );
            }
            rules.push(FieldRule {
                pattern: pattern.clone(),
                field: field.clone(),
                rule: rule.rule.clone(),
                masker: Masker::new(&input.key, &rule.rule, &text),
            });
        }
    }
    if !errors.is_empty() {
        return Err(DataError::Plan {
            db: request.db.clone(),
            file: file.path.display().to_string(),
            errors: crate::profile::ProfileErrors(errors),
        });
    }
    let source_error = |source: EngineError| DataError::Source { db: request.db.clone(), source };

    // The guard: the first keys of each shape, by field name and by values.
    let mut unruled: BTreeMap<(String, String), Unruled> = BTreeMap::new();
    let mut samplers: BTreeMap<(String, String), Sampler> = BTreeMap::new();
    let mut personal: Vec<(String, String)> = Vec::new();
    let (mut cursor, mut seen) = (0, 0);
    loop {
        let (next, entries) =
            input.source.redis_batch(cursor, BATCH).await.map_err(source_error)?;
        for entry in &entries {
            let shape = key_shape(&entry.key);
            match rule_for(&rules, &entry.key, KEY_NAME) {
                Some(r) => {
                    let pair = (r.pattern.clone(), r.field.clone());
                    // As for columns: emails are looked for elsewhere (ids would be everywhere).
                    if matches!(r.rule, Rule::Email { .. }) && !personal.contains(&pair) {
                        personal.push(pair);
                    }
                }
                None => {
                    let sampler = samplers.entry((shape.clone(), KEY_NAME.into())).or_default();
                    for segment in hidden_segments(&entry.key) {
                        sampler.add(&String::from_utf8_lossy(segment));
                    }
                }
            }
            for (field, value) in values(&entry.data) {
                let ruled = rule_for(&rules, &entry.key, &field);
                let by_name = pii::by_name(&field);
                match ruled {
                    Some(r) => {
                        let kind = by_name
                            .or(matches!(r.rule, Rule::Email { .. }).then_some(PiiKind::Email));
                        if kind.is_some_and(PiiKind::high_cardinality) && r.rule != Rule::Keep {
                            let pair = (r.pattern.clone(), r.field.clone());
                            if !personal.contains(&pair) {
                                personal.push(pair);
                            }
                        }
                    }
                    None => match by_name {
                        Some(kind) if field != "value" && field != "members" => {
                            unruled.entry((shape.clone(), field.clone())).or_insert(Unruled {
                                table: shape.clone(),
                                column: field.clone(),
                                kind: kind.name(),
                                by: "name",
                                suggestion: kind.suggested_rule(),
                            });
                        }
                        _ => samplers
                            .entry((shape.clone(), field.clone()))
                            .or_default()
                            .add(&String::from_utf8_lossy(value)),
                    },
                }
            }
        }
        seen += entries.len();
        cursor = next;
        if cursor == 0 || seen >= SAMPLE_KEYS {
            break;
        }
    }
    for ((shape, field), sampler) in samplers {
        if let Some(kind) = sampler.verdict() {
            unruled.entry((shape.clone(), field.clone())).or_insert(Unruled {
                table: shape,
                column: field,
                kind: kind.name(),
                by: "values",
                suggestion: kind.suggested_rule(),
            });
        }
    }
    let unruled: Vec<Unruled> = unruled.into_values().collect();
    if !unruled.is_empty() {
        match file.masked.unmasked {
            Unmasked::Fail => {
                return Err(DataError::Unmasked {
                    db: request.db.clone(),
                    file: file.path.display().to_string(),
                    columns: unruled,
                });
            }
            Unmasked::Warn => {
                for column in &unruled {
                    events.emit(Event::Warning {
                        db: Some(request.db.clone()),
                        message: format!("copied unmasked: {column}"),
                    });
                }
            }
        }
    }

    // The originals the second leak check looks for: a first pass over the keyspace (held
    // exactly: a keyspace fits in its server's memory, and the copy writes as it goes).
    let mut originals = Originals::exact();
    if !personal.is_empty() {
        let mut cursor = 0;
        loop {
            let (next, entries) =
                input.source.redis_batch(cursor, BATCH).await.map_err(source_error)?;
            for entry in &entries {
                let personal_name = rule_for(&rules, &entry.key, KEY_NAME).is_some_and(|r| {
                    personal.iter().any(|(p, f)| *p == r.pattern && *f == r.field)
                });
                if personal_name {
                    for segment in variable_segments(&entry.key, &rules) {
                        originals.add(&input.key, String::from_utf8_lossy(segment).as_bytes());
                    }
                }
                for (field, value) in values(&entry.data) {
                    let personal_field = rule_for(&rules, &entry.key, &field).is_some_and(|r| {
                        personal.iter().any(|(p, f)| *p == r.pattern && *f == r.field)
                    });
                    if personal_field && !value.is_empty() {
                        originals.add(&input.key, String::from_utf8_lossy(value).as_bytes());
                    }
                }
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
    }
    originals.seal();

    events.emit(Event::SeedPlanned {
        db: request.db.clone(),
        tables: 1,
        rows: 0,
        kept: Vec::new(),
    });
    let wrap = |source: EngineError| DataError::Engine { db: request.db.clone(), source };
    session.prepare_load(&[], true, &[]).await.map_err(wrap)?;
    let mut leaks: BTreeMap<(String, String), Leak> = BTreeMap::new();
    let (mut cursor, mut written) = (0, 0u64);
    loop {
        let (next, entries) =
            input.source.redis_batch(cursor, BATCH).await.map_err(source_error)?;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            if let RedisData::Unsupported(kind) = &entry.data {
                events.emit(Event::Warning {
                    db: Some(request.db.clone()),
                    message: format!("{}: a {kind} is not copied", key_shape(&entry.key)),
                });
                continue;
            }
            out.push(mask_entry(&rules, &originals, entry, &mut leaks));
        }
        if !leaks.is_empty() {
            let message = leaks.values().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            // What was written is emptied again: no original stays in the target.
            let _ = session.prepare_load(&[], true, &[]).await;
            return Err(wrap(EngineError::new(format!(
                "the leak check stopped the copy: {message}"
            ))));
        }
        session.write_keys(&out).await.map_err(wrap)?;
        written += out.len() as u64;
        events.emit(Event::SeedProgress {
            db: request.db.clone(),
            table: "keys".into(),
            rows: written,
            total: written,
            elapsed_ms: started.elapsed().as_millis() as u64,
            done: next == 0,
        });
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    Ok(Outcome {
        tables: vec![("keys".into(), written)],
        rows: written,
        elapsed_ms: 0,
        kept: Vec::new(),
        skipped: None,
    })
}

/// Masks one key's values by the rules that match it; counts leaks by (shape, field).
fn mask_entry(
    rules: &[FieldRule],
    originals: &Originals,
    mut entry: RedisEntry,
    leaks: &mut BTreeMap<(String, String), Leak>,
) -> RedisEntry {
    let key = entry.key.clone();
    let mut one = |field: &str, value: &mut Vec<u8>| {
        let rule = rule_for(rules, &key, field);
        let input = String::from_utf8_lossy(value).into_owned();
        let mut output = String::new();
        let (unchanged, masked) = match rule {
            Some(r) => {
                r.masker.apply(&input, None, &mut output);
                (output == input && !r.rule.may_keep(&input), true)
            }
            None => (false, false),
        };
        // As for tables: only what goes through unmasked can carry an original.
        let json = rule.is_some_and(|r| matches!(r.rule, Rule::Json(_)));
        let found = if !masked {
            originals.found_in_text(&String::from_utf8_lossy(value))
        } else {
            json && originals.found_in_text(&output)
        };
        count_leak(leaks, &key, field, unchanged, found);
        if masked {
            *value = output.into_bytes();
        }
    };
    match &mut entry.data {
        RedisData::String(v) => one("value", v),
        RedisData::Hash(fields) => {
            for (f, v) in fields {
                let name = String::from_utf8_lossy(f).into_owned();
                one(&name, v);
            }
        }
        RedisData::Set(items) | RedisData::List(items) => {
            for v in items {
                one("members", v);
            }
        }
        RedisData::Zset(members) => {
            for (m, _) in members {
                one("members", m);
            }
        }
        RedisData::Unsupported(_) => {}
    }
    entry.key = masked_name(rules, originals, &key, leaks);
    entry
}

/// Counts a cell left equal to its original (`unchanged`) or holding one (`found`) under the
/// key's shape and the field's name (never the key itself).
fn count_leak(
    leaks: &mut BTreeMap<(String, String), Leak>,
    key: &[u8],
    field: &str,
    unchanged: bool,
    found: bool,
) {
    if !unchanged && !found {
        return;
    }
    let shape = key_shape(key);
    let leak = leaks.entry((shape.clone(), field.to_owned())).or_insert(Leak {
        table: shape,
        column: field.to_owned(),
        unchanged: 0,
        originals: 0,
    });
    leak.unchanged += u64::from(unchanged);
    leak.originals += u64::from(found);
}

/// The key's name, its segments masked by its `key-name` rule; without one, looked at for
/// originals as any value that goes through unmasked.
fn masked_name(
    rules: &[FieldRule],
    originals: &Originals,
    key: &[u8],
    leaks: &mut BTreeMap<(String, String), Leak>,
) -> Vec<u8> {
    let mut leak = |unchanged, found| count_leak(leaks, key, KEY_NAME, unchanged, found);
    let Some(rule) = rule_for(rules, key, KEY_NAME) else {
        let found = key.split(|&b| b == b':').any(|segment| {
            !segment.is_empty() && originals.found_in_text(&String::from_utf8_lossy(segment))
        });
        leak(false, found);
        return key.to_vec();
    };
    let variable = variable_positions(&rule.pattern, key);
    let mut name = Vec::with_capacity(key.len() + 16);
    for (i, segment) in key.split(|&b| b == b':').enumerate() {
        if i > 0 {
            name.push(b':');
        }
        if !variable(i) || segment.is_empty() {
            name.extend_from_slice(segment);
            continue;
        }
        // A segment of other bytes than UTF-8 cannot be masked as text (two would become one):
        // it stays, and the leak check stops the copy on it.
        let Ok(input) = std::str::from_utf8(segment) else {
            leak(true, false);
            name.extend_from_slice(segment);
            continue;
        };
        let mut output = String::new();
        rule.masker.apply(input, None, &mut output);
        leak(output == input && !rule.rule.may_keep(input), false);
        name.extend_from_slice(output.as_bytes());
    }
    name
}

/// The segments of a key's name (between `:`) that its `key-name` rule masks.
fn variable_segments<'k>(key: &'k [u8], rules: &[FieldRule]) -> Vec<&'k [u8]> {
    let Some(rule) = rule_for(rules, key, KEY_NAME) else { return Vec::new() };
    let variable = variable_positions(&rule.pattern, key);
    let segments = key.split(|&b| b == b':').enumerate();
    segments.filter(|(i, s)| variable(*i) && !s.is_empty()).map(|(_, s)| s).collect()
}

/// Which segments of a key's name (by position) its pattern does not spell out: all but the
/// pattern's leading and trailing literal segments, which the name matched in place
/// (`user:*:cart` keeps `user` and `cart`; a `*` may span several segments).
fn variable_positions(pattern: &str, key: &[u8]) -> impl Fn(usize) -> bool {
    let literal = |s: &[u8]| !s.iter().any(|b| matches!(b, b'*' | b'?'));
    let segments: Vec<&[u8]> = pattern.as_bytes().split(|&b| b == b':').collect();
    let lead = segments.iter().take_while(|s| literal(s)).count();
    let trail = segments.iter().rev().take_while(|s| literal(s)).count().min(segments.len() - lead);
    let count = key.split(|&b| b == b':').count();
    move |i| i >= lead && i < count.saturating_sub(trail)
}

/// Whether every wildcard of a pattern is a whole segment (`user:*:cart`, not `user-*`): a
/// `key-name` rule masks whole segments, and a literal part beside a wildcard would be masked
/// with it.
fn whole_segment_wildcards(pattern: &str) -> bool {
    pattern.split(':').all(|s| s.chars().all(|c| matches!(c, '*' | '?')) || !s.contains(['*', '?']))
}

/// The segments of a key's name that [`key_shape`] hides: what the guard samples.
fn hidden_segments(key: &[u8]) -> impl Iterator<Item = &[u8]> {
    key.split(|&b| b == b':').filter(|s| hidden(s))
}

/// Each value of a key with the name rules use for it.
fn values(data: &RedisData) -> Vec<(String, &Vec<u8>)> {
    match data {
        RedisData::String(v) => vec![("value".into(), v)],
        RedisData::Hash(fields) => {
            fields.iter().map(|(f, v)| (String::from_utf8_lossy(f).into_owned(), v)).collect()
        }
        RedisData::Set(items) | RedisData::List(items) => {
            items.iter().map(|v| ("members".into(), v)).collect()
        }
        RedisData::Zset(members) => members.iter().map(|(m, _)| ("members".into(), m)).collect(),
        RedisData::Unsupported(_) => Vec::new(),
    }
}

fn rule_for<'r>(rules: &'r [FieldRule], key: &[u8], field: &str) -> Option<&'r FieldRule> {
    rules.iter().find(|r| r.field == field && glob(r.pattern.as_bytes(), key))
}

/// A key's shape for reports, never the key itself: segments that may identify someone (holding
/// a digit or an `@`, or long) become `*` (`session:81f3` → `session:*`,
/// `user:alice@example.com:cart` → `user:*:cart`).
fn key_shape(key: &[u8]) -> String {
    String::from_utf8_lossy(key)
        .split(':')
        .map(|s| if hidden(s.as_bytes()) { "*" } else { s })
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether a segment of a key's name may identify someone: a digit or an `@` in it, or long.
fn hidden(segment: &[u8]) -> bool {
    segment.len() > 24 || segment.iter().any(|&b| b.is_ascii_digit() || b == b'@')
}

/// Redis-style glob: `*` any run, `?` any one byte, the rest literal.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mask::MaskKey;
    use std::sync::Arc;

    #[test]
    fn globs_match_like_redis() {
        for (pattern, key, expected) in [
            ("session:*", "session:81f3", true),
            ("session:*", "sessions:1", false),
            ("user:*:email", "user:42:email", true),
            ("user:*:email", "user:42:name", false),
            ("a?c", "abc", true),
            ("*", "anything", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(glob(pattern.as_bytes(), key.as_bytes()), expected, "{pattern} {key}");
        }
    }

    #[test]
    fn key_names_mask_the_segments_their_pattern_does_not_spell_out() {
        let key = Arc::new(MaskKey::derive(b"k"));
        let text = ColumnShape::new(ValueKind::Text);
        let rules = [FieldRule {
            pattern: "cart:*:items".into(),
            field: KEY_NAME.into(),
            rule: Rule::KeepFormat,
            masker: Masker::new(&key, &Rule::KeepFormat, &text),
        }];
        let name = b"cart:ab12:items";
        assert_eq!(variable_segments(name, &rules), [&b"ab12"[..]]);
        // By position: a segment equal to a literal word elsewhere is still masked, and a `*`
        // may span segments.
        assert_eq!(variable_segments(b"cart:items:items", &rules), [&b"items"[..]]);
        assert_eq!(variable_segments(b"cart:a:b:items", &rules), [&b"a"[..], b"b"]);
        assert!(whole_segment_wildcards("user:*:cart") && whole_segment_wildcards("a:??:*"));
        assert!(!whole_segment_wildcards("user-*:cart"));
        // A segment that is not UTF-8 is not masked as text: it stays, and stops the copy.
        let mut leaks = BTreeMap::new();
        assert_eq!(
            masked_name(&rules, &Originals::exact(), b"cart:\xff:items", &mut leaks),
            b"cart:\xff:items"
        );
        assert_eq!(leaks.values().map(|l| l.unchanged).sum::<u64>(), 1);
        let mut leaks = BTreeMap::new();
        let masked = masked_name(&rules, &Originals::exact(), name, &mut leaks);
        let masked = String::from_utf8(masked).unwrap();
        let parts: Vec<&str> = masked.split(':').collect();
        assert_eq!((parts[0], parts[2]), ("cart", "items"), "{masked}");
        assert_ne!(parts[1], "ab12");
        assert!(parts[1].chars().take(2).all(|c| c.is_ascii_alphabetic()), "{masked}");
        assert!(leaks.is_empty());
        // Without a rule the name goes through, looked at for originals.
        let mut originals = Originals::exact();
        originals.add(&key, b"alice@example.com");
        originals.seal();
        let name = b"session:alice@example.com";
        assert_eq!(masked_name(&rules, &originals, name, &mut leaks), name);
        assert_eq!(leaks.values().map(|l| l.originals).sum::<u64>(), 1);
    }

    #[test]
    fn key_shapes_hide_ids() {
        assert_eq!(key_shape(b"session:81f3e2"), "session:*");
        assert_eq!(key_shape(b"user:42:email"), "user:*:email");
        assert_eq!(key_shape(b"feature:flags"), "feature:flags");
        assert_eq!(key_shape(b"user:alice@example.com:cart"), "user:*:cart");
    }
}
