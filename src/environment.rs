//! Environment names: one running instance of a profile is an environment, and its name is part
//! of every Docker object name and label. [`EnvName`] can only hold a name that is safe there;
//! `--env auto` derives one from the git branch or the CI's branch variable.

use std::fmt;

use sha2::{Digest, Sha256};

/// The longest environment name. Object names add the service and database names to it, and
/// network aliases become DNS labels, so it stays well short of Docker's and DNS's limits.
pub const MAX_LEN: usize = 40;

/// A validated environment name: `[a-z0-9][a-z0-9_-]*`, at most [`MAX_LEN`] characters, no dots
/// (dots separate the parts of object names).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvNameError {
    #[error("invalid environment name `{name}`: {why}")]
    Invalid { name: String, why: &'static str },
    #[error("cannot derive an environment name: no git branch and no CI branch variable")]
    NoBranch,
}

impl EnvName {
    pub fn parse(name: &str) -> Result<Self, EnvNameError> {
        let invalid = |why| EnvNameError::Invalid { name: name.to_string(), why };
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if name.len() > MAX_LEN {
            return Err(invalid("it is longer than 40 characters"));
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return Err(invalid("it must start with a lowercase letter or a digit"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(invalid("use only lowercase letters, digits, `-` and `_`"));
        }
        Ok(EnvName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Resolves what the user gave (`--env`/`DBTWIN_ENV`): `auto` derives the name from the
    /// branch, anything else must be a valid name.
    pub fn resolve(given: &str) -> Result<Self, EnvNameError> {
        if given == "auto" {
            let branch = ci_branch(|k| std::env::var(k).ok()).or_else(git_branch);
            return branch.as_deref().map(Self::from_branch).ok_or(EnvNameError::NoBranch)?;
        }
        Self::parse(given)
    }

    /// Makes a branch name safe: lowercase, runs of other characters become `-`, and a name too
    /// long is cut and given a short hash of the whole branch, so two long branches that share a
    /// prefix still get different environments.
    pub fn from_branch(branch: &str) -> Result<Self, EnvNameError> {
        let branch = branch.trim();
        let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
        let branch = branch.strip_prefix("origin/").unwrap_or(branch);
        let mut safe = String::new();
        for c in branch.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                safe.push(c);
            } else if !safe.ends_with('-') {
                safe.push('-');
            }
        }
        let safe = safe.trim_matches(|c| c == '-' || c == '_').to_string();
        if safe.is_empty() {
            return Err(EnvNameError::Invalid {
                name: branch.to_string(),
                why: "the branch name has no letters or digits",
            });
        }
        if safe.len() <= MAX_LEN {
            return Self::parse(&safe);
        }
        let hash = Sha256::digest(branch.as_bytes());
        let suffix: String = hash.iter().take(3).map(|b| format!("{b:02x}")).collect();
        let cut = safe[..MAX_LEN - 7].trim_end_matches(['-', '_']);
        Self::parse(&format!("{cut}-{suffix}"))
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The branch a CI system is building, from its own variables: GitHub Actions (the PR's head
/// branch first), GitLab, Buildkite, Jenkins (multibranch `BRANCH_NAME`, git plugin `GIT_BRANCH`).
pub fn ci_branch(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    [
        "GITHUB_HEAD_REF",
        "GITHUB_REF_NAME",
        "CI_COMMIT_REF_NAME",
        "BUILDKITE_BRANCH",
        "BRANCH_NAME",
        "GIT_BRANCH",
    ]
    .iter()
    .find_map(|k| var(k).filter(|v| !v.trim().is_empty()))
}

/// The current git branch of the working directory, if any (a detached HEAD has none).
fn git_branch() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--abbrev-ref", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let branch = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !branch.is_empty() && branch != "HEAD").then_some(branch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(EnvName::parse("feature-x").is_ok());
        assert!(EnvName::parse("default").is_ok());
        for bad in ["", "Feature", "-x", "a.b", "a/b", &"x".repeat(41)] {
            assert!(EnvName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn branches_become_safe_names() {
        let cases = [
            ("feature/JIRA-12_login", "feature-jira-12_login"),
            ("refs/heads/main", "main"),
            ("origin/release/2.0", "release-2-0"),
            ("--weird--", "weird"),
        ];
        for (branch, want) in cases {
            assert_eq!(EnvName::from_branch(branch).unwrap().as_str(), want, "{branch}");
        }
        let long_a = format!("feature/{}-a", "x".repeat(60));
        let long_b = format!("feature/{}-b", "x".repeat(60));
        let (a, b) =
            (EnvName::from_branch(&long_a).unwrap(), EnvName::from_branch(&long_b).unwrap());
        assert!(a.as_str().len() <= MAX_LEN);
        assert_ne!(a, b, "long branches sharing a prefix must not share an environment");
        assert!(EnvName::from_branch("///").is_err());
    }

    #[test]
    fn ci_variables_are_read_in_order() {
        let vars = |k: &str| match k {
            "GITHUB_HEAD_REF" => Some(String::new()),
            "GITHUB_REF_NAME" => Some("main".to_string()),
            "BUILDKITE_BRANCH" => Some("other".to_string()),
            _ => None,
        };
        assert_eq!(ci_branch(vars).as_deref(), Some("main"));
        assert_eq!(ci_branch(|_| None), None);
    }
}
