//! From the merged, expanded YAML to the validated [`Profile`]: every check that gives a value its
//! meaning, collecting every problem.
//!
//! The document is deserialized in pieces (the top level, each service, each database) so that one
//! database with a wrong type does not hide the problems of the next.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use super::error::{ProfileError, quoted_list, suggest};
use super::load::Merged;
use super::locate;
use super::model::{
    AppRole, ByteSize, Database, DatabaseName, Durability, EngineKind, Grants, Migrations,
    PinnedVersion, Profile, ProfileName, Service, ServiceName, Storage,
};
use super::raw::{RawDatabase, RawDefaults, RawProfile, RawRole, RawScalar, RawService};

/// Validates the merged `document`. `stem` is the first file's stem, the default profile name.
pub(crate) fn profile(
    mut document: Mapping,
    merged: &Merged,
    stem: Option<&str>,
    first: &Path,
) -> Result<Profile, Vec<ProfileError>> {
    let mut check = Checker { merged, errors: Vec::new() };
    let services = document.remove("services");
    let raw: RawProfile = check.deserialize("", Value::Mapping(document)).unwrap_or_default();

    let name = match (&raw.name, stem) {
        (Some(name), _) => {
            ProfileName::new(name).map_err(|e| check.push(check.at("name", e.to_string()))).ok()
        }
        (None, Some(stem)) => ProfileName::new(stem)
            .map_err(|e| {
                check.push(ProfileError::new(e.to_string()).with_file(first).with_hint(
                    "the profile is named after its first file: set `name:` to choose another",
                ));
            })
            .ok(),
        (None, None) => {
            check.push(ProfileError::new("the profile has no name").with_hint("set `name:`"));
            None
        }
    };
    let seed = raw.seed.as_ref().and_then(|s| check.number::<u64>("seed", "seed", SEED_HINT, s));
    let registry = raw.registry.clone();
    let images = check.images(raw.images.unwrap_or_default());
    let defaults = check.defaults(raw.defaults.unwrap_or_default());

    let mut out_services = BTreeMap::new();
    match services {
        Some(Value::Mapping(services)) if !services.is_empty() => {
            for (key, value) in services {
                let name = key_name(&key);
                if let Some((name, service)) = check.service(&name, value, &defaults) {
                    out_services.insert(name, service);
                }
            }
        }
        // An overlay may have removed every service with `null`s.
        None | Some(Value::Mapping(_)) => check.push(
            check
                .at("services", "the profile has no services")
                .with_hint("add one under `services:`"),
        ),
        Some(_) => check.push(check.at("services", "expected a map of services")),
    }
    check.ports(&out_services);
    check.variables(&out_services);

    match name {
        Some(name) if check.errors.is_empty() => Ok(Profile {
            name,
            seed,
            registry,
            images,
            services: out_services,
            sources: merged.files.iter().map(|f| f.path.clone()).collect(),
        }),
        _ => Err(check.errors),
    }
}

const PORT_HINT: &str =
    "a fixed port is a number from 1 to 65535; leave `port` out to get a free one";
const SEED_HINT: &str = "a seed is a whole number from 0 to 18446744073709551615";

/// `defaults:` once validated; each database falls back to these.
#[derive(Default)]
struct Defaults {
    storage: Option<Storage>,
    durability: Option<Durability>,
    memory: Option<ByteSize>,
}

struct Checker<'a> {
    merged: &'a Merged,
    errors: Vec<ProfileError>,
}

impl Checker<'_> {
    fn at(&self, key: &str, message: impl Into<String>) -> ProfileError {
        self.merged.error(key, message)
    }

    fn push(&mut self, error: ProfileError) {
        self.errors.push(error);
    }

    /// Deserializes the piece at `prefix`, turning serde's error into a located one.
    fn deserialize<T: DeserializeOwned>(&mut self, prefix: &str, value: Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(raw) => Some(raw),
            Err(error) => {
                let mut key = prefix.to_owned();
                for segment in error.path().iter() {
                    key = match segment {
                        serde_path_to_error::Segment::Seq { index } => locate::item(&key, *index),
                        serde_path_to_error::Segment::Map { key: k }
                        | serde_path_to_error::Segment::Enum { variant: k } => {
                            locate::child(&key, k)
                        }
                        serde_path_to_error::Segment::Unknown => break,
                    };
                }
                let message = error.inner().to_string();
                let located = if let Some(rest) = message.strip_prefix("unknown field `") {
                    // serde names the expected fields in backquotes: `a`, `b` or `c`.
                    let quoted: Vec<&str> = rest.split('`').step_by(2).collect();
                    let (unknown, expected) = quoted.split_first().unwrap_or((&"", &[]));
                    self.at(&key, format!("unknown key `{unknown}`"))
                        .with_hint(suggest(unknown, expected))
                } else if let Some(rest) = message.strip_prefix("missing field ") {
                    self.at(&key, format!("missing key {rest}"))
                } else {
                    self.at(&key, message)
                };
                self.push(located);
                None
            }
        }
    }

    /// A number written as a number or as a string (that may have come from a variable).
    fn number<T: TryFrom<i128> + std::str::FromStr>(
        &mut self,
        key: &str,
        what: &str,
        hint: &str,
        raw: &RawScalar,
    ) -> Option<T> {
        let parsed = match raw {
            RawScalar::Int(n) => T::try_from(*n).ok(),
            RawScalar::Str(s) => s.trim().parse::<T>().ok(),
            RawScalar::Float(_) | RawScalar::Bool(_) => None,
        };
        if parsed.is_none() {
            let error = self
                .at(key, format!("invalid {what} `{}`", self.scalar_text(key, raw)))
                .with_hint(hint);
            self.push(error);
        }
        parsed
    }

    /// A scalar as text; a float keeps its source spelling (`10.10`, not `10.1`).
    fn scalar_text(&self, key: &str, raw: &RawScalar) -> String {
        match raw {
            RawScalar::Int(n) => n.to_string(),
            RawScalar::Float(f) => {
                self.merged.text(key).map_or_else(|| f.to_string(), str::to_owned)
            }
            RawScalar::Bool(b) => b.to_string(),
            RawScalar::Str(s) => s.clone(),
        }
    }

    fn images(
        &mut self,
        images: BTreeMap<String, BTreeMap<String, String>>,
    ) -> BTreeMap<EngineKind, BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (engine, versions) in images {
            let key = locate::child("images", &engine);
            match engine.parse::<EngineKind>() {
                Ok(kind) => {
                    out.insert(kind, versions);
                }
                Err(e) => {
                    let error = self
                        .at(&key, e.to_string())
                        .with_hint(suggest(&engine, &EngineKind::names()));
                    self.push(error);
                }
            }
        }
        out
    }

    fn defaults(&mut self, raw: RawDefaults) -> Defaults {
        Defaults {
            storage: raw.storage.and_then(|s| {
                self.choice("defaults.storage", "storage", &s, &Storage::ALL, |v| v.as_str())
            }),
            durability: raw.durability.and_then(|s| {
                self.choice("defaults.durability", "durability", &s, &Durability::ALL, |v| {
                    v.as_str()
                })
            }),
            memory: raw.memory.and_then(|m| self.memory("defaults.memory", &m)),
        }
    }

    /// One of a closed set of words.
    fn choice<T: Copy>(
        &mut self,
        key: &str,
        what: &str,
        given: &str,
        all: &[T],
        name: fn(&T) -> &'static str,
    ) -> Option<T> {
        let found = all.iter().find(|v| name(v) == given).copied();
        if found.is_none() {
            let names: Vec<&str> = all.iter().map(name).collect();
            let error =
                self.at(key, format!("unknown {what} `{given}`")).with_hint(suggest(given, &names));
            self.push(error);
        }
        found
    }

    fn memory(&mut self, key: &str, raw: &RawScalar) -> Option<ByteSize> {
        let text = self.scalar_text(key, raw);
        let size = match raw {
            RawScalar::Int(n) => u64::try_from(*n).ok().map(ByteSize::from_bytes),
            RawScalar::Str(s) => ByteSize::parse(s).ok(),
            RawScalar::Float(_) | RawScalar::Bool(_) => None,
        };
        match size {
            None => {
                let error = self
                    .at(key, format!("invalid memory size `{text}`"))
                    .with_hint("write bytes, or a size such as `512m`, `1g`, `1.5g`, `256MiB`");
                self.push(error);
                None
            }
            Some(size) if size < ByteSize::MIN_MEMORY => {
                let error = self
                    .at(key, format!("memory `{text}` is below docker's minimum of 6m"))
                    .with_hint("give the database at least `6m`; most engines want `256m` or more");
                self.push(error);
                None
            }
            Some(size) => Some(size),
        }
    }

    fn service(
        &mut self,
        name: &str,
        value: Value,
        defaults: &Defaults,
    ) -> Option<(ServiceName, Service)> {
        let path = locate::child("services", name);
        let service_name = ServiceName::new(name)
            .map_err(|e| {
                let error = self.at(&path, e.to_string());
                self.push(error);
            })
            .ok();
        let raw: RawService = self.deserialize(&path, value)?;
        let databases = raw.databases.unwrap_or_default();
        if databases.is_empty() {
            let error = self
                .at(&path, "the service has no databases")
                .with_hint("add one under `databases:`, or remove the service with `null`");
            self.push(error);
            return None;
        }
        let mut out = BTreeMap::new();
        let mut complete = true;
        for (key, value) in databases {
            let db = key_name(&key);
            match self.database(
                name,
                &locate::child(&path, &format!("databases.{db}")),
                &db,
                value,
                defaults,
            ) {
                Some((db_name, database)) => {
                    out.insert(db_name, database);
                }
                None => complete = false,
            }
        }
        let service_name = service_name?;
        complete.then_some((service_name, Service { databases: out }))
    }

    fn database(
        &mut self,
        service: &str,
        path: &str,
        name: &str,
        value: Value,
        defaults: &Defaults,
    ) -> Option<(DatabaseName, Database)> {
        let db_name = DatabaseName::new(name)
            .map_err(|e| {
                let error = self.at(path, e.to_string());
                self.push(error);
            })
            .ok();
        let raw: RawDatabase = self.deserialize(path, value)?;
        let before = self.errors.len();
        let key = |k: &str| locate::child(path, k);

        let engine = match &raw.engine {
            None => {
                let error = self.at(path, "missing key `engine`").with_hint(format!(
                    "add `engine:` with one of {}",
                    quoted_list(&EngineKind::names())
                ));
                self.push(error);
                None
            }
            Some(engine) => match engine.parse::<EngineKind>() {
                Ok(kind) => Some(kind),
                Err(e) => {
                    let error = self
                        .at(&key("engine"), e.to_string())
                        .with_hint(suggest(engine, &EngineKind::names()));
                    self.push(error);
                    None
                }
            },
        };

        let version = match &raw.version {
            None => {
                let error = self.at(path, "missing key `version`").with_hint(
                    "add `version:` with a major (\"17\") or an exact version (\"17.6\")",
                );
                self.push(error);
                None
            }
            Some(RawScalar::Bool(b)) => {
                let error = self.at(&key("version"), format!("invalid version `{b}`"));
                self.push(error);
                None
            }
            Some(raw_version) => {
                let text = self.scalar_text(&key("version"), raw_version);
                match PinnedVersion::parse(&text) {
                    Ok(version) => Some(version),
                    Err(e) => {
                        let error = self.at(&key("version"), e.to_string()).with_hint(e.hint());
                        self.push(error);
                        None
                    }
                }
            }
        };

        let port = raw.port.as_ref().and_then(|p| {
            let port = self.number::<u16>(&key("port"), "port", PORT_HINT, p)?;
            if port == 0 {
                let error = self.at(&key("port"), "invalid port `0`").with_hint(PORT_HINT);
                self.push(error);
                return None;
            }
            Some(port)
        });

        let storage = match &raw.storage {
            Some(s) => self.choice(&key("storage"), "storage", s, &Storage::ALL, |v| v.as_str()),
            None => Some(defaults.storage.unwrap_or_default()),
        };
        let durability = match &raw.durability {
            Some(s) => {
                self.choice(&key("durability"), "durability", s, &Durability::ALL, |v| v.as_str())
            }
            None => Some(
                defaults
                    .durability
                    .unwrap_or_else(|| Durability::default_for(storage.unwrap_or_default())),
            ),
        };
        let memory = match &raw.memory {
            Some(m) => self.memory(&key("memory"), m),
            None => defaults.memory,
        };

        let db_inside = raw.name.clone().unwrap_or_else(|| service.to_owned());
        let valid_inside = !db_inside.is_empty()
            && db_inside.len() <= 63
            && db_inside.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if !valid_inside {
            let error = self
                .at(&key("name"), format!("invalid database name `{db_inside}`"))
                .with_hint("use letters, digits, `_` and `-`, at most 63 characters");
            self.push(error);
        }

        let extensions = raw.extensions.clone().unwrap_or_default();
        if let Some(engine) = engine
            && engine != EngineKind::Postgres
            && !extensions.is_empty()
        {
            let error = self
                .at(&key("extensions"), "extensions are only for postgres")
                .with_hint(format!("remove `extensions` from this {engine} database"));
            self.push(error);
        }
        for (i, extension) in extensions.iter().enumerate() {
            let valid = !extension.is_empty()
                && extension.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
            if !valid {
                let error = self.at(
                    &locate::item(&key("extensions"), i),
                    format!("invalid extension name `{extension}`"),
                );
                self.push(error);
            }
        }

        let role = self.role(&key("role"), engine, raw.role.as_ref());

        let settings: BTreeMap<String, String> = raw
            .settings
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), self.scalar_text(&locate::child(&key("settings"), k), v)))
            .collect();

        let migrations = raw.migrations.as_ref().and_then(|m| {
            let dir_key = if m.map_form { key("migrations.dir") } else { key("migrations") };
            let dir = self.merged.resolve(&dir_key, &m.dir);
            if !dir.is_dir() {
                let error = self.at(&dir_key, format!("no such directory: {}", dir.display()));
                self.push(error);
                return None;
            }
            Some(Migrations { dir, command: m.command.clone() })
        });

        let data = raw.data.as_ref().and_then(|d| {
            let file = self.merged.resolve(&key("data"), d);
            if !file.is_file() {
                let error = self.at(&key("data"), format!("no such file: {}", file.display()));
                self.push(error);
                return None;
            }
            Some(file)
        });

        let seed =
            raw.seed.as_ref().and_then(|s| self.number::<u64>(&key("seed"), "seed", SEED_HINT, s));

        if self.errors.len() > before {
            return None;
        }
        Some((
            db_name?,
            Database {
                engine: engine?,
                version: version?,
                image: raw.image,
                port,
                storage: storage?,
                durability: durability?,
                memory,
                name: db_inside,
                extensions,
                role: role?,
                settings,
                migrations,
                data,
                seed,
            },
        ))
    }

    fn role(
        &mut self,
        path: &str,
        engine: Option<EngineKind>,
        raw: Option<&RawRole>,
    ) -> Option<AppRole> {
        let name = raw.and_then(|r| r.name.clone()).unwrap_or_else(|| "app".to_owned());
        let name_key = locate::child(path, "name");
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && name.len() <= 32;
        let mut ok = true;
        if !valid {
            let error = self
                .at(&name_key, format!("invalid role name `{name}`"))
                .with_hint("use lowercase letters, digits and `_`, starting with a letter or `_`, at most 32 characters");
            self.push(error);
            ok = false;
        } else if name == "postgres"
            || name == "root"
            || (engine == Some(EngineKind::Redis) && name == "default")
        {
            let error = self
                .at(&name_key, format!("`{name}` is the server's admin role"))
                .with_hint("the application connects as its own non-superuser role: choose another name, such as `app`");
            self.push(error);
            ok = false;
        }
        let grants_key = locate::child(path, "grants");
        let grants = match raw.and_then(|r| r.grants.as_deref()) {
            None => Some(Grants::ReadWrite),
            Some(given) => self.choice(&grants_key, "grants", given, &Grants::ALL, |g| g.as_str()),
        };
        if engine == Some(EngineKind::Redis) && grants == Some(Grants::Owner) {
            let error = self
                .at(&grants_key, "redis has no `owner` grants")
                .with_hint("use `readwrite` or `readonly`");
            self.push(error);
            ok = false;
        }
        let grants = grants?;
        ok.then_some(AppRole { name, grants })
    }

    /// `a-b.main` and `a_b.main` would both hand the application `A_B_MAIN_URL`: report the
    /// second, naming the first.
    fn variables(&mut self, services: &BTreeMap<ServiceName, Service>) {
        let mut taken: BTreeMap<String, String> = BTreeMap::new();
        for (service, service_def) in services {
            for db in service_def.databases.keys() {
                let here = format!("{service}.{db}");
                // `a.main`'s ADMIN_URL is `a.main_admin`'s URL: both suffixes share one namespace.
                let variables = ["URL", "ADMIN_URL"]
                    .map(|suffix| url_variable(service.as_str(), db.as_str(), suffix));
                if let Some((variable, first)) = variables
                    .iter()
                    .find_map(|v| taken.get(v).map(|first| (v.clone(), first.clone())))
                {
                    let key = format!("services.{service}.databases.{db}");
                    let error = self
                        .at(&key, format!("its variable {variable} is also {first}'s"))
                        .with_hint("rename the service or database so the variables `dbtwin env` gives differ");
                    self.push(error);
                    continue;
                }
                for variable in variables {
                    taken.insert(variable, here.clone());
                }
            }
        }
    }

    /// Two databases on one fixed host port cannot both start: report the second, naming the first.
    fn ports(&mut self, services: &BTreeMap<ServiceName, Service>) {
        let mut taken: BTreeMap<u16, String> = BTreeMap::new();
        for (service, service_def) in services {
            for (db, database) in &service_def.databases {
                let Some(port) = database.port else { continue };
                let here = format!("{service}.{db}");
                match taken.get(&port) {
                    Some(first) => {
                        let key = format!("services.{service}.databases.{db}.port");
                        let error = self
                            .at(&key, format!("port {port} is already used by {first}"))
                            .with_hint("give each database its own port, or leave `port` out to get a free one");
                        self.push(error);
                    }
                    None => {
                        taken.insert(port, here);
                    }
                }
            }
        }
    }
}

/// The environment variable a database's URL is given to the application under
/// (`ACCOUNTS_MAIN_URL`, `ACCOUNTS_MAIN_ADMIN_URL`); two databases must not share one.
pub fn url_variable(service: &str, database: &str, suffix: &str) -> String {
    format!("{service}_{database}_{suffix}").to_ascii_uppercase().replace('-', "_")
}

/// A mapping key as a name (names are strings; anything else fails the name rule with its text).
fn key_name(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "?".to_owned(),
    }
}
