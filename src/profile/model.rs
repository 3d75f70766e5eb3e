//! The validated profile: the types the rest of dbtwin reads.
//!
//! Nothing here can hold an invalid value: names follow their rules, versions are pinned, sizes are
//! bytes. The loader builds these from the raw YAML mirror; other code can only build names and
//! versions through the same checks (`new`/`parse`/`FromStr`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

/// A whole profile, after `extends`, overlays, interpolation and validation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    pub name: ProfileName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<EngineKind, BTreeMap<String, String>>,
    pub services: BTreeMap<ServiceName, Service>,
    /// Every file read, in merge order (a file extended by two overlays is applied, and listed,
    /// twice). Not part of the rendered YAML: `render` prints them as a comment.
    #[serde(skip)]
    pub sources: Vec<PathBuf>,
}

impl Profile {
    /// Every database of every service, in name order.
    pub fn databases(&self) -> impl Iterator<Item = (&ServiceName, &DatabaseName, &Database)> {
        self.services.iter().flat_map(|(service_name, service)| {
            service.databases.iter().map(move |(db_name, db)| (service_name, db_name, db))
        })
    }
}

/// A service: the databases one application owns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Service {
    pub databases: BTreeMap<DatabaseName, Database>,
}

/// One database server of a service, with everything needed to run and fill it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Database {
    pub engine: EngineKind,
    pub version: PinnedVersion,
    /// Overrides the image chosen from engine and version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A fixed host port; `None` lets the engine choose a free one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub storage: Storage,
    pub durability: Durability,
    /// The container's memory limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<ByteSize>,
    /// The database's name inside the server (default: the service name).
    pub name: String,
    /// PostgreSQL extensions to create.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    /// The application's own non-superuser role.
    pub role: AppRole,
    /// Server settings, as the server would read them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<Migrations>,
    /// The seed file that says how to fill the database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// Overrides the profile's seed for this database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// Where the migration files are, and the application's own command to apply them, if any.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Migrations {
    pub dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// The role the application connects as.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppRole {
    pub name: String,
    pub grants: Grants,
}

/// What the application's role may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grants {
    /// Owns the database's objects (may run migrations).
    Owner,
    /// Reads and writes rows.
    ReadWrite,
    /// Reads rows only.
    ReadOnly,
}

impl Grants {
    pub const ALL: [Grants; 3] = [Grants::Owner, Grants::ReadWrite, Grants::ReadOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Grants::Owner => "owner",
            Grants::ReadWrite => "readwrite",
            Grants::ReadOnly => "readonly",
        }
    }
}

/// Where the data directory lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// A named volume: survives `down` unless removed.
    #[default]
    Volume,
    /// In memory: fast, gone with the container.
    Tmpfs,
}

impl Storage {
    pub const ALL: [Storage; 2] = [Storage::Volume, Storage::Tmpfs];

    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Volume => "volume",
            Storage::Tmpfs => "tmpfs",
        }
    }
}

/// Whether the server syncs to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// The engine's normal, crash-safe settings.
    Safe,
    /// No fsync: fast, and a crash loses the data (which is reproducible from the seed anyway).
    Throwaway,
}

impl Durability {
    pub const ALL: [Durability; 2] = [Durability::Safe, Durability::Throwaway];

    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Safe => "safe",
            Durability::Throwaway => "throwaway",
        }
    }

    /// Throwaway storage needs no durability: the default follows the storage.
    pub fn default_for(storage: Storage) -> Self {
        match storage {
            Storage::Volume => Durability::Safe,
            Storage::Tmpfs => Durability::Throwaway,
        }
    }
}

/// A database kind: a closed set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Postgres,
    Mysql,
    Mariadb,
    Redis,
}

impl EngineKind {
    pub const ALL: [EngineKind; 4] =
        [EngineKind::Postgres, EngineKind::Mysql, EngineKind::Mariadb, EngineKind::Redis];

    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Postgres => "postgres",
            EngineKind::Mysql => "mysql",
            EngineKind::Mariadb => "mariadb",
            EngineKind::Redis => "redis",
        }
    }

    /// Every engine's name, for messages.
    pub fn names() -> [&'static str; 4] {
        Self::ALL.map(Self::as_str)
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no engine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown engine `{0}`")]
pub struct UnknownEngine(pub String);

impl FromStr for EngineKind {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|e| e.as_str() == s).ok_or_else(|| UnknownEngine(s.to_owned()))
    }
}

/// A name that breaks its rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {rule}")]
pub struct InvalidName {
    pub what: &'static str,
    pub value: String,
    pub rule: &'static str,
}

/// Checks `value` against: first char in `first`, the rest in `rest`, at most `max` chars.
fn check_name(
    what: &'static str,
    rule: &'static str,
    value: &str,
    max: usize,
    first: fn(char) -> bool,
    rest: fn(char) -> bool,
) -> Result<(), InvalidName> {
    let mut chars = value.chars();
    let ok = chars.next().is_some_and(first) && chars.all(rest) && value.len() <= max;
    if ok { Ok(()) } else { Err(InvalidName { what, value: value.to_owned(), rule }) }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $what:literal, $rule:literal, $max:literal, $first:expr, $rest:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $ty(String);

        impl $ty {
            /// The rule, as messages state it.
            pub const RULE: &'static str = $rule;

            /// Checks the name's rule.
            pub fn new(value: &str) -> Result<Self, InvalidName> {
                check_name($what, $rule, value, $max, $first, $rest)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $ty {
            type Err = InvalidName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
    };
}

fn is_lower_or_digit(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

name_type!(
    /// A profile's name: `[a-z0-9][a-z0-9_.-]*`, at most 40 characters.
    ProfileName,
    "profile name",
    "use lowercase letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 40 characters",
    40,
    is_lower_or_digit,
    |c| is_lower_or_digit(c) || matches!(c, '_' | '.' | '-')
);

name_type!(
    /// A service's name: `[a-z][a-z0-9_-]*`, at most 30 characters.
    ServiceName,
    "service name",
    "use lowercase letters, digits, `_` and `-`, starting with a letter, at most 30 characters",
    30,
    |c| c.is_ascii_lowercase(),
    |c| is_lower_or_digit(c) || matches!(c, '_' | '-')
);

name_type!(
    /// A database's name within its service: `[a-z][a-z0-9_-]*`, at most 30 characters.
    DatabaseName,
    "database name",
    "use lowercase letters, digits, `_` and `-`, starting with a letter, at most 30 characters",
    30,
    |c| c.is_ascii_lowercase(),
    |c| is_lower_or_digit(c) || matches!(c, '_' | '-')
);

/// A version that does not float: a major (`17`), an exact version (`17.6`, `17.6.1`), either with an
/// image suffix (`17-bookworm`), or an image digest (`sha256:…`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PinnedVersion {
    text: String,
    /// The numeric components; empty for a digest.
    numbers: Vec<u32>,
}

/// Why a version is not pinned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("an empty version is not a pinned version")]
    Empty,
    #[error("`{0}` is not a pinned version")]
    Floating(String),
    #[error("invalid version `{0}`")]
    Invalid(String),
}

impl VersionError {
    /// How to write a pinned version.
    pub fn hint(&self) -> &'static str {
        match self {
            VersionError::Empty | VersionError::Floating(_) => {
                "pin a major (\"17\") or an exact version (\"17.6\")"
            }
            VersionError::Invalid(_) => {
                "write a major (\"17\") or an exact version (\"17.6\"), optionally with a suffix \
                 (\"17-bookworm\"), or a digest (\"sha256:<64 hex digits>\")"
            }
        }
    }
}

/// Tags that move with every release.
const FLOATING: &[&str] =
    &["latest", "stable", "lts", "current", "edge", "mainline", "rolling", "*", "x"];

impl PinnedVersion {
    /// Checks that `text` pins a version.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(VersionError::Empty);
        }
        let lower = text.to_ascii_lowercase();
        if let Some(hex) = lower.strip_prefix("sha256:") {
            return if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(Self { text: lower, numbers: Vec::new() })
            } else {
                Err(VersionError::Invalid(text.to_owned()))
            };
        }
        let (head, suffix) = match lower.split_once('-') {
            Some((head, suffix)) => (head, Some(suffix)),
            None => (lower.as_str(), None),
        };
        let parts: Vec<&str> = head.split('.').collect();
        if FLOATING.contains(&lower.as_str())
            || parts.iter().any(|p| matches!(*p, "x" | "*"))
            || suffix.is_some_and(|s| FLOATING.contains(&s))
        {
            return Err(VersionError::Floating(text.to_owned()));
        }
        let numbers: Option<Vec<u32>> = parts
            .iter()
            .map(|p| {
                if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) {
                    p.parse().ok()
                } else {
                    None
                }
            })
            .collect();
        let suffix_ok = suffix.is_none_or(|s| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
        match numbers {
            Some(numbers) if numbers.len() <= 3 && suffix_ok => {
                Ok(Self { text: text.to_owned(), numbers })
            }
            _ => Err(VersionError::Invalid(text.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The major version; `None` for a digest.
    pub fn major(&self) -> Option<u32> {
        self.numbers.first().copied()
    }

    /// Whether the pin names more than a major (`17.6`), or is a digest: what parity with
    /// production wants.
    pub fn is_exact(&self) -> bool {
        self.is_digest() || self.numbers.len() >= 2
    }

    pub fn is_digest(&self) -> bool {
        self.numbers.is_empty()
    }

    /// Whether a server reporting `server_version` satisfies this pin: its leading numbers start with
    /// the pin's (`17` matches `17.6 (Debian 17.6-1)`, `17.6` does not match `17.60`). The image
    /// suffix is not something a server reports, so it is ignored; a digest matches anything.
    pub fn matches(&self, server_version: &str) -> bool {
        if self.is_digest() {
            return true;
        }
        let server = server_version.trim();
        let server = server.strip_prefix(['v', 'V']).unwrap_or(server);
        let lead: String = server.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let found: Vec<u32> = lead.split('.').map_while(|p| p.parse::<u32>().ok()).collect();
        found.len() >= self.numbers.len() && found[..self.numbers.len()] == self.numbers[..]
    }
}

impl fmt::Display for PinnedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for PinnedVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for PinnedVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// A size in bytes, written like Docker's memory limits: `512m`, `1.5g`, `256MiB`, or plain bytes.
/// Units are binary (`1k` = 1024), as Docker reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ByteSize(u64);

/// A size that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid size `{0}`")]
pub struct InvalidSize(pub String);

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

impl ByteSize {
    /// Docker refuses memory limits below 6 MiB.
    pub const MIN_MEMORY: ByteSize = ByteSize(6 * MIB);

    pub fn from_bytes(bytes: u64) -> Self {
        Self(bytes)
    }

    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Reads `512m`, `1g`, `1.5g`, `256MiB`, `1GiB`, `1024` (bytes).
    pub fn parse(text: &str) -> Result<Self, InvalidSize> {
        let invalid = || InvalidSize(text.to_owned());
        let trimmed = text.trim();
        let split =
            trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let unit = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "ki" | "kib" => KIB,
            "m" | "mb" | "mi" | "mib" => MIB,
            "g" | "gb" | "gi" | "gib" => GIB,
            _ => return Err(invalid()),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid());
        }
        if !fraction.chars().all(|c| c.is_ascii_digit()) || fraction.len() > 9 {
            return Err(invalid());
        }
        let whole: u128 = whole.parse().map_err(|_| invalid())?;
        let scale = 10u128.pow(u32::try_from(fraction.len()).map_err(|_| invalid())?);
        let fraction: u128 =
            if fraction.is_empty() { 0 } else { fraction.parse().map_err(|_| invalid())? };
        let total = whole * scale * u128::from(unit) + fraction * u128::from(unit);
        // `1.5` bytes means nothing: a fraction must land on a whole byte.
        if !total.is_multiple_of(scale) {
            return Err(invalid());
        }
        u64::try_from(total / scale).map(Self).map_err(|_| invalid())
    }
}

impl fmt::Display for ByteSize {
    /// The shortest exact form: `1g`, `512m`, `4k`, or bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        match b {
            0 => f.write_str("0"),
            _ if b.is_multiple_of(GIB) => write!(f, "{}g", b / GIB),
            _ if b.is_multiple_of(MIB) => write!(f, "{}m", b / MIB),
            _ if b.is_multiple_of(KIB) => write!(f, "{}k", b / KIB),
            _ => write!(f, "{b}"),
        }
    }
}

impl FromStr for ByteSize {
    type Err = InvalidSize;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_version_matches() {
        let table: &[(&str, &str, bool)] = &[
            ("17", "17.6", true),
            ("17", "17.6 (Debian 17.6-1.pgdg120+1)", true),
            ("17", "17", true),
            ("17", "16.4", false),
            ("17", "170.1", false),
            ("17.6", "17.6", true),
            ("17.6", "17.60", false),
            ("17.6", "17.6.1", true),
            ("17.6", "17", false),
            ("11.8", "11.8.3-MariaDB-1:11.8.3+maria~deb13", true),
            ("11.8", "11.4.2-MariaDB", false),
            ("10.11", "10.11.6-MariaDB-0+deb12u1", true),
            ("7.0", "7.0.15", true),
            ("7.0", "7.2.4", false),
            ("8.0", "v8.0.2", true),
            ("9", "9.4.0", true),
            ("17-bookworm", "17.6 (Debian 17.6-1)", true),
            ("17.6-alpine", "17.6", true),
            ("17.6-alpine", "17.5", false),
            (
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "anything",
                true,
            ),
        ];
        for (pin, server, expected) in table {
            let version = PinnedVersion::parse(pin).unwrap();
            assert_eq!(version.matches(server), *expected, "{pin} vs {server}");
        }
    }

    #[test]
    fn pinned_version_parse() {
        for ok in ["17", "17.6", "17.6.1", "11.8", "7.0", "17-bookworm", "17.6-alpine"] {
            assert!(PinnedVersion::parse(ok).is_ok(), "{ok}");
        }
        let v = PinnedVersion::parse("17.6-alpine").unwrap();
        assert_eq!((v.major(), v.is_exact(), v.is_digest()), (Some(17), true, false));
        assert!(!PinnedVersion::parse("17").unwrap().is_exact());
        assert_eq!(PinnedVersion::parse(" "), Err(VersionError::Empty));
        for floating in ["latest", "LATEST", "stable", "lts", "*", "x", "17.x", "17-latest"] {
            assert_eq!(
                PinnedVersion::parse(floating),
                Err(VersionError::Floating(floating.to_owned())),
                "{floating}"
            );
        }
        for invalid in ["bookworm", "17.", ".6", "1.2.3.4", "17-", "sha256:abc", "v17"] {
            assert_eq!(
                PinnedVersion::parse(invalid),
                Err(VersionError::Invalid(invalid.to_owned())),
                "{invalid}"
            );
        }
    }

    #[test]
    fn byte_sizes() {
        let table: &[(&str, u64)] = &[
            ("512m", 512 * MIB),
            ("1g", GIB),
            ("1.5g", 3 * GIB / 2),
            ("256MiB", 256 * MIB),
            ("1GiB", GIB),
            ("6m", 6 * MIB),
            ("1048576", MIB),
            ("64 KB", 64 * KIB),
        ];
        for (text, bytes) in table {
            assert_eq!(ByteSize::parse(text), Ok(ByteSize(*bytes)), "{text}");
        }
        for bad in ["", "m", "1.5", "12x", "-1g", "1..5g", "1e9"] {
            assert!(ByteSize::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ByteSize(3 * GIB / 2).to_string(), "1536m");
        assert_eq!(ByteSize(GIB).to_string(), "1g");
        assert_eq!(ByteSize(1000).to_string(), "1000");
    }

    #[test]
    fn names() {
        assert!(ServiceName::new("accounts-v2").is_ok());
        assert!(ServiceName::new("2fa").is_err());
        assert!(ServiceName::new(&"a".repeat(31)).is_err());
        assert!(ProfileName::new("shop-ci.v2").is_ok());
        assert_eq!(
            DatabaseName::new("Main").unwrap_err().to_string(),
            "invalid database name `Main`: use lowercase letters, digits, `_` and `-`, \
             starting with a letter, at most 30 characters"
        );
        assert_eq!("redis".parse::<EngineKind>(), Ok(EngineKind::Redis));
    }
}
