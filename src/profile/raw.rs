//! The serde mirror of the YAML: what a file may say, before any meaning is checked.
//!
//! Every field is optional so that partial overlay files parse; `deny_unknown_fields` everywhere so a
//! typo is an error, not a silently ignored key. Values that may be written as a number or as a string
//! to expand (`port: "${PORT:-5432}"`) are [`RawScalar`]s, turned into numbers after interpolation.
//! `services` and `databases` stay YAML mappings here: the loader deserializes each service and each
//! database on its own, so one broken database does not hide the problems of another.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

/// The top level of a profile file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a map of profile keys")]
pub(crate) struct RawProfile {
    pub name: Option<String>,
    /// Read from each file before merging; never present in the merged document.
    #[expect(dead_code, reason = "listed so that `extends` is a known key in did-you-mean hints")]
    pub extends: Option<String>,
    pub seed: Option<RawScalar>,
    pub registry: Option<String>,
    pub images: Option<BTreeMap<String, BTreeMap<String, String>>>,
    pub defaults: Option<RawDefaults>,
    /// Taken out and checked service by service before the rest is deserialized.
    #[expect(dead_code, reason = "listed so that `services` is a known key in did-you-mean hints")]
    pub services: Option<serde_yaml::Mapping>,
}

/// `defaults:` keys applied to every database that does not set them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a map with `storage`, `durability` and `memory`")]
pub(crate) struct RawDefaults {
    pub storage: Option<String>,
    pub durability: Option<String>,
    pub memory: Option<RawScalar>,
}

/// One service.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a map with `databases`")]
pub(crate) struct RawService {
    pub databases: Option<serde_yaml::Mapping>,
}

/// One database of a service.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a map of database keys (`engine`, `version`, ...)")]
pub(crate) struct RawDatabase {
    pub engine: Option<String>,
    pub version: Option<RawScalar>,
    pub image: Option<String>,
    pub port: Option<RawScalar>,
    pub storage: Option<String>,
    pub durability: Option<String>,
    pub memory: Option<RawScalar>,
    pub name: Option<String>,
    pub extensions: Option<Vec<String>>,
    pub role: Option<RawRole>,
    pub settings: Option<BTreeMap<String, RawScalar>>,
    pub migrations: Option<RawMigrations>,
    pub data: Option<String>,
    pub seed: Option<RawScalar>,
}

/// `role: { name, grants }`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a map with `name` and `grants`")]
pub(crate) struct RawRole {
    pub name: Option<String>,
    pub grants: Option<String>,
}

/// `migrations: dir` or `migrations: { dir, command }`.
#[derive(Debug, PartialEq)]
pub(crate) struct RawMigrations {
    pub dir: String,
    pub command: Option<String>,
    /// Whether it was the map form, so the loader knows whether `dir` sits at `migrations` or at
    /// `migrations.dir` (relative paths resolve against the file that wrote that key).
    pub map_form: bool,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Dir,
    Command,
}

impl<'de> Deserialize<'de> for RawMigrations {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MigrationsVisitor;

        impl<'de> Visitor<'de> for MigrationsVisitor {
            type Value = RawMigrations;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a directory path, or a map with `dir` and optional `command`")
            }

            fn visit_str<E: de::Error>(self, dir: &str) -> Result<Self::Value, E> {
                Ok(RawMigrations { dir: dir.to_owned(), command: None, map_form: false })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut dir = None;
                let mut command = None;
                // The key is read as a field identifier so that an unknown key fails while the key
                // is read, which is when serde_path_to_error records it in the path.
                while let Some(key) = map.next_key::<Field>()? {
                    match key {
                        Field::Dir => dir = Some(map.next_value::<String>()?),
                        Field::Command => command = Some(map.next_value::<String>()?),
                    }
                }
                let dir = dir.ok_or_else(|| de::Error::missing_field("dir"))?;
                Ok(RawMigrations { dir, command, map_form: true })
            }
        }

        deserializer.deserialize_any(MigrationsVisitor)
    }
}

/// A scalar that may be written as a number, a boolean or a string (to expand, or to keep as text).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RawScalar {
    Int(i128),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl<'de> Deserialize<'de> for RawScalar {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;

        impl Visitor<'_> for ScalarVisitor {
            type Value = RawScalar;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a boolean or a string")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(RawScalar::Bool(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(RawScalar::Int(v.into()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(RawScalar::Int(v.into()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(RawScalar::Float(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawScalar::Str(v.to_owned()))
            }
        }

        deserializer.deserialize_any(ScalarVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_both_forms() {
        let short: RawMigrations = serde_yaml::from_str("m/dir").unwrap();
        assert_eq!(short.dir, "m/dir");
        assert!(!short.map_form);
        let long: RawMigrations =
            serde_yaml::from_str("{ dir: m, command: sqlx migrate run }").unwrap();
        assert_eq!(long.command.as_deref(), Some("sqlx migrate run"));
        let wrong = serde_yaml::from_str::<RawMigrations>("[1]").unwrap_err();
        assert!(
            wrong
                .to_string()
                .contains("expected a directory path, or a map with `dir` and optional `command`"),
            "{wrong}"
        );
    }
}
