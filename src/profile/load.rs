//! Reading profile files: `extends` chains, overlays, merging with origin tracking, interpolation.
//!
//! Each file is parsed to a YAML value on its own (a syntax error stops that file only) and indexed
//! for lines. The files are then applied one over the other in merge order: for `-p A -p B`, A's
//! `extends` chain from its root, A, B's chain, B. Every key path remembers which file set it last,
//! so a problem found after merging (a floating version, a port used twice) points at the line of
//! the file that wrote the offending value, and relative paths resolve against that file's directory.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::error::{ProfileError, ProfileErrors};
use super::interpolate::{self, ExpandError};
use super::locate::{self, LineIndex};
use super::model::Profile;
use super::validate;

/// Loads and validates the profile made of `paths`, applied in order, reading variables from the
/// process environment.
pub fn load(paths: &[PathBuf]) -> Result<Profile, ProfileErrors> {
    load_with(paths, &|name| std::env::var(name).ok())
}

/// Loads and validates the profile made of `paths`, applied in order, reading variables through
/// `vars` (tests pass a map; `load` passes the environment).
pub fn load_with(
    paths: &[PathBuf],
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<Profile, ProfileErrors> {
    let Some(first) = paths.first() else {
        return Err(ProfileErrors(vec![
            ProfileError::new("no profile file given")
                .with_hint("name one with `-p profiles/NAME.yaml`"),
        ]));
    };
    let mut errors = Vec::new();
    let mut files = Vec::new();
    let mut documents = Vec::new();
    for path in paths {
        for (source, document) in read_chain(path, vars, &mut errors) {
            files.push(source);
            documents.push(document);
        }
    }
    // A file that could not be read leaves a hole in the merge: checking the rest would report
    // problems that are not there (a database an overlay only tweaks would lack its engine).
    if !errors.is_empty() {
        return Err(ProfileErrors(errors));
    }

    let mut merged = Merged { files, origins: HashMap::new(), failed: HashSet::new() };
    let mut document = Mapping::new();
    for (index, overlay) in documents.into_iter().enumerate() {
        merge_mapping(&mut document, overlay, "", index, &mut merged.origins);
    }
    for (key, value) in document.iter_mut() {
        let path = key_text(key);
        merged.expand(value, &path, vars, &mut errors);
    }

    let stem = first.file_stem().map(|s| s.to_string_lossy().into_owned());
    match validate::profile(document, &merged, stem.as_deref(), first) {
        Ok(profile) if errors.is_empty() => Ok(profile),
        Ok(_) => Err(ProfileErrors(errors)),
        Err(more) => {
            // An error at a value whose expansion already failed would only repeat it.
            errors.extend(more.into_iter().filter(|e| !merged.is_failed(e)));
            Err(ProfileErrors(errors))
        }
    }
}

/// The resolved profile as YAML, for `dbtwin config`: what the databases will be, with defaults
/// applied, variables expanded and paths resolved.
pub fn render(profile: &Profile) -> String {
    let mut out = format!("# profile `{}`, resolved from:\n", profile.name);
    for source in &profile.sources {
        out.push_str(&format!("#   {}\n", source.display()));
    }
    match serde_yaml::to_string(profile) {
        Ok(yaml) => out.push_str(&yaml),
        // The model holds only strings, numbers and string-keyed maps: this cannot happen, and a
        // comment is a better outcome than a panic if it ever does.
        Err(error) => out.push_str(&format!("# cannot render the profile: {error}\n")),
    }
    out
}

/// The one place YAML text is parsed.
pub(crate) fn parse_document(text: &str) -> Result<Value, serde_yaml::Error> {
    let mut value: Value = serde_yaml::from_str(text)?;
    // `<<: *defaults` merge keys, so shared settings can be written once with anchors.
    value.apply_merge()?;
    Ok(value)
}

/// One file as read: its path (as given, or joined from an `extends`) and its line index.
pub(crate) struct Source {
    pub path: PathBuf,
    pub index: LineIndex,
}

/// Reads `path` and the files it extends; returns them root first. Nothing when a file of the chain
/// could not be read (the problem is in `errors`).
fn read_chain(
    path: &Path,
    vars: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ProfileError>,
) -> Vec<(Source, Mapping)> {
    let mut chain: Vec<(Source, Mapping)> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    // The file to read next, and who named it (the error for a missing file points there).
    let mut next: Option<(PathBuf, Option<ProfileError>)> = Some((path.to_path_buf(), None));
    while let Some((file, named_by)) = next.take() {
        let identity = std::fs::canonicalize(&file).unwrap_or_else(|_| normalize(&file));
        if seen.contains(&identity) {
            let mut names: Vec<String> =
                chain.iter().map(|(s, _)| s.path.display().to_string()).collect();
            names.push(file.display().to_string());
            let error = named_by.unwrap_or_else(|| ProfileError::new(""));
            errors.push(ProfileError {
                message: format!("extends cycle: {}", names.join(" -> ")),
                ..error
            });
            return Vec::new();
        }
        seen.push(identity);

        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(error) => {
                let message = if error.kind() == std::io::ErrorKind::NotFound {
                    format!("no such file: {}", file.display())
                } else {
                    format!("cannot read {}: {}", file.display(), lowercase_io(&error))
                };
                let located = named_by.unwrap_or_else(|| ProfileError::new(""));
                errors.push(ProfileError { message, ..located });
                return Vec::new();
            }
        };
        let mut document = match parse_document(&text) {
            Ok(Value::Mapping(mapping)) => mapping,
            Ok(Value::Null) => Mapping::new(),
            Ok(_) => {
                errors.push(
                    ProfileError::new("expected a map of keys at the top of the file")
                        .with_file(&file),
                );
                return Vec::new();
            }
            Err(error) => {
                let mut located = ProfileError::new(syntax_message(&error)).with_file(&file);
                if let Some(at) = error.location() {
                    located = located.with_position(at.line(), at.column());
                }
                errors.push(located);
                return Vec::new();
            }
        };
        let index = LineIndex::build(&text);
        let at_extends = || {
            let error = ProfileError::new("").with_file(&file).with_key("extends");
            match index.get("extends") {
                Some(spot) => error.with_position(spot.line, spot.column),
                None => error,
            }
        };
        match document.remove("extends") {
            None | Some(Value::Null) => {}
            Some(Value::String(target)) => match interpolate::expand(&target, vars) {
                Ok(target) => {
                    let dir = file.parent().unwrap_or(Path::new(""));
                    next = Some((normalize(&dir.join(target)), Some(at_extends())));
                }
                Err(error) => {
                    errors.push(ProfileError {
                        message: error.message(),
                        hint: Some(error.hint()),
                        ..at_extends()
                    });
                    return Vec::new();
                }
            },
            Some(_) => {
                errors.push(ProfileError {
                    message: "`extends` names one file: expected a path".to_owned(),
                    ..at_extends()
                });
                return Vec::new();
            }
        }
        chain.push((Source { path: file, index }, document));
    }
    chain.reverse();
    chain
}

/// serde_yaml's message without its ` at line L column C`: the location is printed in front.
pub(crate) fn syntax_message(error: &serde_yaml::Error) -> String {
    let mut message = error.to_string();
    while let Some(start) = message.find(" at line ") {
        let rest = &message[start + " at line ".len()..];
        let mut end = start
            + " at line ".len()
            + rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if let Some(column) = message[end..].strip_prefix(" column ") {
            end += " column ".len()
                + column.find(|c: char| !c.is_ascii_digit()).unwrap_or(column.len());
        }
        message.replace_range(start..end, "");
    }
    message
}

/// `No such file (os error 2)` → `no such file (os error 2)`: messages are lowercase fragments.
fn lowercase_io(error: &std::io::Error) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system (symlinks are not followed).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

/// A mapping key as it appears in key paths; keys are normalised to strings while merging, so an
/// unquoted `17:` under `images` means the same as `"17":`.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        _ => "?".to_owned(),
    }
}

/// Key path → index (in merge order) of the file that set it last.
type Origins = HashMap<String, usize>;

/// Applies `overlay` over `base`: maps merge by key, anything else replaces, `null` removes.
fn merge_mapping(
    base: &mut Mapping,
    overlay: Mapping,
    prefix: &str,
    source: usize,
    origins: &mut Origins,
) {
    for (key, value) in overlay {
        let name = key_text(&key);
        let path = locate::child(prefix, &name);
        match value {
            Value::Null => {
                base.remove(name.as_str());
                forget(origins, &path);
            }
            Value::Mapping(overlay) => {
                let slot = base
                    .entry(Value::String(name))
                    .or_insert_with(|| Value::Mapping(Mapping::new()));
                if !slot.is_mapping() {
                    forget(origins, &path);
                    *slot = Value::Mapping(Mapping::new());
                }
                origins.insert(path.clone(), source);
                if let Value::Mapping(slot) = slot {
                    merge_mapping(slot, overlay, &path, source, origins);
                }
            }
            other => {
                forget(origins, &path);
                remember(origins, &path, &other, source);
                base.insert(Value::String(name), other);
            }
        }
    }
}

/// Drops the origins of `path` and everything under it.
fn forget(origins: &mut Origins, path: &str) {
    origins.retain(|p, _| {
        !(p == path || p.strip_prefix(path).is_some_and(|rest| rest.starts_with(['.', '['])))
    });
}

/// Records `source` as the origin of `path` and everything inside `value` (a replaced list keeps
/// its items' lines).
fn remember(origins: &mut Origins, path: &str, value: &Value, source: usize) {
    origins.insert(path.to_owned(), source);
    match value {
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                remember(origins, &locate::item(path, i), item, source);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map {
                remember(origins, &locate::child(path, &key_text(key)), item, source);
            }
        }
        _ => {}
    }
}

/// The merged document's bookkeeping: which file set each key, and where that file says it.
pub(crate) struct Merged {
    pub files: Vec<Source>,
    origins: Origins,
    /// Key paths whose variables could not be expanded: later checks stay quiet about them.
    failed: HashSet<String>,
}

impl Merged {
    /// An error at `key`, located in the file that set it (or the nearest enclosing key it set).
    pub fn error(&self, key: &str, message: impl Into<String>) -> ProfileError {
        let mut error = ProfileError::new(message);
        if !key.is_empty() {
            error = error.with_key(key);
        }
        let mut file = None;
        let mut current = Some(key);
        while let Some(path) = current {
            if let Some(source) = file.or_else(|| self.origins.get(path).copied()) {
                file = Some(source);
                if let Some(spot) = self.files[source].index.get(path) {
                    error = error.with_position(spot.line, spot.column);
                    break;
                }
            }
            current = locate::parent(path);
        }
        match file {
            Some(source) => error.with_file(&self.files[source].path),
            None => error,
        }
    }

    /// The source text of the scalar at `key`, as its file wrote it.
    pub fn text(&self, key: &str) -> Option<&str> {
        let source = *self.origins.get(key)?;
        self.files[source].index.get(key)?.text.as_deref()
    }

    /// `value` as a path: relative paths resolve against the directory of the file that set `key`.
    pub fn resolve(&self, key: &str, value: &str) -> PathBuf {
        let mut current = Some(key);
        let mut dir = Path::new("");
        while let Some(path) = current {
            if let Some(&source) = self.origins.get(path) {
                dir = self.files[source].path.parent().unwrap_or(Path::new(""));
                break;
            }
            current = locate::parent(path);
        }
        normalize(&dir.join(value))
    }

    fn is_failed(&self, error: &ProfileError) -> bool {
        error.key.as_ref().is_some_and(|key| self.failed.contains(key))
    }

    /// Expands variables in every string value under `path`.
    fn expand(
        &mut self,
        value: &mut Value,
        path: &str,
        vars: &dyn Fn(&str) -> Option<String>,
        errors: &mut Vec<ProfileError>,
    ) {
        match value {
            Value::String(text) => match interpolate::expand(text, vars) {
                Ok(expanded) => *text = expanded,
                Err(error) => {
                    errors.push(self.expand_error(path, &error));
                    self.failed.insert(path.to_owned());
                }
            },
            Value::Sequence(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.expand(item, &locate::item(path, i), vars, errors);
                }
            }
            Value::Mapping(map) => {
                for (key, item) in map.iter_mut() {
                    let path = locate::child(path, &key_text(key));
                    self.expand(item, &path, vars, errors);
                }
            }
            Value::Tagged(tagged) => self.expand(&mut tagged.value, path, vars, errors),
            _ => {}
        }
    }

    fn expand_error(&self, path: &str, error: &ExpandError) -> ProfileError {
        self.error(path, error.message()).with_hint(error.hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(Path::new("profiles/../seeds/./x")), PathBuf::from("seeds/x"));
        assert_eq!(normalize(Path::new("../a/../../b")), PathBuf::from("../../b"));
        assert_eq!(normalize(Path::new("/a/../../b")), PathBuf::from("/b"));
    }
}
