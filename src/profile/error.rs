//! Profile errors: each names the file, the key path and the line where the user can fix it.
//!
//! Loading collects every problem it finds instead of stopping at the first, so the error type is a
//! list ([`ProfileErrors`]) of located problems ([`ProfileError`]).

use std::fmt;
use std::path::PathBuf;

/// One problem in a profile, located as precisely as the loader could.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileError {
    /// The file the problem is in, as the user named it (or as joined from an `extends`).
    pub file: Option<PathBuf>,
    /// The key path, e.g. `services.accounts.databases.main.version`.
    pub key: Option<String>,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// What is wrong: a lowercase fragment.
    pub message: String,
    /// How to fix it, when there is something to suggest.
    pub hint: Option<String>,
}

impl ProfileError {
    /// A problem with no location yet; the `with_*` builders add one.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            file: None,
            key: None,
            line: None,
            column: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Names the file the problem is in.
    #[must_use]
    pub fn with_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Names the key path the problem is at.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the 1-based line and column.
    #[must_use]
    pub fn with_position(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Adds a hint, printed on its own line.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ProfileError {
    /// `file:line:column: key: message`, each part only when known, then `  hint: …` on the next line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(column) = self.column {
                    write!(f, ":{column}")?;
                }
            }
            f.write_str(": ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileError {}

/// Every problem found while loading a profile; never empty when returned as an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileErrors(pub Vec<ProfileError>);

impl ProfileErrors {
    /// The problems, in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, ProfileError> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never true for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a ProfileErrors {
    type Item = &'a ProfileError;
    type IntoIter = std::slice::Iter<'a, ProfileError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ProfileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileErrors {}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // A third of the word's length, at least one edit: `verison` (2 edits) finds `version`, while
    // short words don't match everything.
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The hint for an unexpected word: the close candidate, or the whole list.
pub(crate) fn suggest(word: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("expected one of {}", quoted_list(candidates)),
    }
}

/// `` `a`, `b`, `c` ``
pub(crate) fn quoted_list(items: &[&str]) -> String {
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so the common
/// `verison`/`version` slip counts as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_location() {
        let e = ProfileError::new("`latest` is not a pinned version")
            .with_file("profiles/shop.yaml")
            .with_key("services.accounts.databases.main.version")
            .with_position(12, 9)
            .with_hint("pin a major");
        assert_eq!(
            e.to_string(),
            "profiles/shop.yaml:12:9: services.accounts.databases.main.version: \
             `latest` is not a pinned version\n  hint: pin a major"
        );
        assert_eq!(ProfileError::new("boom").to_string(), "boom");
        let two = ProfileErrors(vec![ProfileError::new("a"), ProfileError::new("b")]);
        assert_eq!(two.to_string(), "a\nb");
    }

    #[test]
    fn typos_are_found() {
        assert_eq!(edit_distance("verison", "version"), 1);
        assert_eq!(did_you_mean("postgress", &["postgres", "mysql"]), Some("postgres"));
        assert_eq!(did_you_mean("zzz", &["postgres", "mysql"]), None);
    }
}
