//! Loading end to end: broken profiles and the errors they give, merging, interpolation, the
//! shipped profiles, rendering.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;

/// Test files written as indented raw strings: drops the first (empty) line and the common indent,
/// so line 1 of the file is the first line of the literal's text.
fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines().map(|l| l.get(indent..).unwrap_or("").trim_end()).collect::<Vec<_>>().join("\n")
        + "\n"
}

/// A temporary project: profile files, seed files and migration folders.
struct Fixture {
    dir: tempfile::TempDir,
    vars: HashMap<String, String>,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Self {
            dir: tempfile::tempdir().unwrap(),
            vars: HashMap::from([("PG".to_owned(), "17".to_owned())]),
        };
        fixture.mkdir("seeds/m");
        fixture.write("seeds/d.yaml", "tables: {}\n");
        fixture
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, dedent(text)).unwrap();
        path
    }

    fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.path(rel)).unwrap();
    }

    fn load(&self, files: &[&str]) -> Result<Profile, ProfileErrors> {
        let paths: Vec<PathBuf> = files.iter().map(|f| self.path(f)).collect();
        load_with(&paths, &|name| self.vars.get(name).cloned())
    }

    fn ok(&self, files: &[&str]) -> Profile {
        self.load(files).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// One broken profile and the one error it must give.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    /// Profiles to load, in order; the first file when empty.
    load: &'static [&'static str],
    file: Option<&'static str>,
    line: Option<usize>,
    key: Option<&'static str>,
    /// `{dir}` stands for the fixture's directory.
    message: &'static str,
    hint: Option<&'static str>,
}

const DB: &str = "services.accounts.databases.main";

/// A valid base other cases build on.
const BASE: (&str, &str) = (
    "base.yaml",
    r#"
    services:
      accounts:
        databases:
          main:
            engine: postgres
            version: "17"
            port: 15432
    "#,
);

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "syntax error",
            files: &[(
                "p.yaml",
                "
                services:
                  accounts: a: b
                ",
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(2),
            key: None,
            message: "mapping values are not allowed in this context",
            hint: None,
        },
        Case {
            name: "port that is not a number",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: "17"
                        port: "abc"
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(7),
            key: Some("services.accounts.databases.main.port"),
            message: "invalid port `abc`",
            hint: Some(
                "a fixed port is a number from 1 to 65535; leave `port` out to get a free one",
            ),
        },
        Case {
            name: "port out of range",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main: { engine: postgres, version: "17", port: 70000 }
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(4),
            key: Some("services.accounts.databases.main.port"),
            message: "invalid port `70000`",
            hint: Some(
                "a fixed port is a number from 1 to 65535; leave `port` out to get a free one",
            ),
        },
        Case {
            name: "type error: a string where a list goes",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: "17"
                        extensions: pgcrypto
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(7),
            key: Some("services.accounts.databases.main.extensions"),
            message: "invalid type: string \"pgcrypto\", expected a sequence",
            hint: None,
        },
        Case {
            name: "unknown top-level key with a close match",
            files: &[(
                "p.yaml",
                r#"
                registy: mirror.example.com
                services:
                  accounts:
                    databases:
                      main: { engine: postgres, version: "17" }
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(1),
            key: Some("registy"),
            message: "unknown key `registy`",
            hint: Some("did you mean `registry`?"),
        },
        Case {
            name: "unknown top-level key, nothing close",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main: { engine: postgres, version: "17" }
                colour: red
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(5),
            key: Some("colour"),
            message: "unknown key `colour`",
            hint: Some(
                "expected one of `name`, `extends`, `seed`, `registry`, `images`, `defaults`, `services`",
            ),
        },
        Case {
            name: "unknown database key with a did-you-mean",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        verison: "17"
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(6),
            key: Some("services.accounts.databases.main.verison"),
            message: "unknown key `verison`",
            hint: Some("did you mean `version`?"),
        },
        Case {
            name: "unknown engine",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main: { engine: postgress, version: "17" }
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(4),
            key: Some("services.accounts.databases.main.engine"),
            message: "unknown engine `postgress`",
            hint: Some("did you mean `postgres`?"),
        },
        Case {
            name: "empty version",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: ""
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(6),
            key: Some("services.accounts.databases.main.version"),
            message: "an empty version is not a pinned version",
            hint: Some("pin a major (\"17\") or an exact version (\"17.6\")"),
        },
        Case {
            name: "latest",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: latest
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(6),
            key: Some("services.accounts.databases.main.version"),
            message: "`latest` is not a pinned version",
            hint: Some("pin a major (\"17\") or an exact version (\"17.6\")"),
        },
        Case {
            name: "latest set by an overlay points at the overlay",
            files: &[
                BASE,
                (
                    "ci.yaml",
                    r#"
                # the overlay
                services:
                  accounts:
                    databases:
                      main: { version: Latest }
                "#,
                ),
            ],
            load: &["base.yaml", "ci.yaml"],
            file: Some("ci.yaml"),
            line: Some(5),
            key: Some("services.accounts.databases.main.version"),
            message: "`Latest` is not a pinned version",
            hint: Some("pin a major (\"17\") or an exact version (\"17.6\")"),
        },
        Case {
            name: "missing engine",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        version: "17"
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(4),
            key: Some(DB),
            message: "missing key `engine`",
            hint: Some("add `engine:` with one of `postgres`, `mysql`, `mariadb`, `redis`"),
        },
        Case {
            name: "missing version",
            files: &[(
                "p.yaml",
                "
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                ",
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(4),
            key: Some(DB),
            message: "missing key `version`",
            hint: Some("add `version:` with a major (\"17\") or an exact version (\"17.6\")"),
        },
        Case {
            name: "two databases on one port across an overlay",
            files: &[
                BASE,
                (
                    "more.yaml",
                    r#"
                services:
                  catalog:
                    databases:
                      main:
                        engine: postgres
                        version: "15"
                        port: 15432
                "#,
                ),
            ],
            load: &["base.yaml", "more.yaml"],
            file: Some("more.yaml"),
            line: Some(7),
            key: Some("services.catalog.databases.main.port"),
            message: "port 15432 is already used by accounts.main",
            hint: Some("give each database its own port, or leave `port` out to get a free one"),
        },
        Case {
            name: "two databases whose URL variables collide",
            files: &[(
                "p.yaml",
                "services:\n  a-b:\n    databases:\n      main: { engine: redis, version: \"7.0\" }\n  a_b:\n    databases:\n      main: { engine: redis, version: \"7.0\" }\n",
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(7),
            key: Some("services.a_b.databases.main"),
            message: "its variable A_B_MAIN_URL is also a-b.main's",
            hint: Some("rename the service or database so the variables `dbtwin env` gives differ"),
        },
        Case {
            name: "a database whose URL is another's admin URL",
            files: &[(
                "p.yaml",
                "services:\n  a:\n    databases:\n      main: { engine: redis, version: \"7.0\" }\n      main_admin: { engine: redis, version: \"7.0\" }\n",
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(5),
            key: Some("services.a.databases.main_admin"),
            message: "its variable A_MAIN_ADMIN_URL is also a.main's",
            hint: Some("rename the service or database so the variables `dbtwin env` gives differ"),
        },
        Case {
            name: "extends cycle",
            files: &[("a.yaml", "extends: b.yaml\n"), ("b.yaml", "# b\nextends: a.yaml\n")],
            load: &[],
            file: Some("b.yaml"),
            line: Some(2),
            key: Some("extends"),
            message: "extends cycle: {dir}/a.yaml -> {dir}/b.yaml -> {dir}/a.yaml",
            hint: None,
        },
        Case {
            name: "missing extends file",
            files: &[("p.yaml", "seed: 1\nextends: nowhere/base.yaml\n")],
            load: &[],
            file: Some("p.yaml"),
            line: Some(2),
            key: Some("extends"),
            message: "no such file: {dir}/nowhere/base.yaml",
            hint: None,
        },
        Case {
            name: "unset variable",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: "${PG}"
                        port: "${NO_SUCH_PORT}"
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(7),
            key: Some("services.accounts.databases.main.port"),
            message: "unset variable `NO_SUCH_PORT`",
            hint: Some("set it, or give a default: `${NO_SUCH_PORT:-value}`"),
        },
        Case {
            name: "malformed ${",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: "17"
                        image: "my/pg:${TAG"
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(7),
            key: Some("services.accounts.databases.main.image"),
            message: "malformed `${` in `my/pg:${TAG`",
            hint: Some("write `${NAME}` or `${NAME:-default}`, and `$$` for a literal `$`"),
        },
        Case {
            name: "extensions on mariadb",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: mariadb
                        version: "11.8"
                        extensions: [pgcrypto]
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(7),
            key: Some("services.accounts.databases.main.extensions"),
            message: "extensions are only for postgres",
            hint: Some("remove `extensions` from this mariadb database"),
        },
        Case {
            name: "bad memory",
            files: &[(
                "p.yaml",
                r#"
                defaults:
                  memory: lots
                services:
                  accounts:
                    databases:
                      main: { engine: postgres, version: "17" }
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(2),
            key: Some("defaults.memory"),
            message: "invalid memory size `lots`",
            hint: Some("write bytes, or a size such as `512m`, `1g`, `1.5g`, `256MiB`"),
        },
        Case {
            name: "memory below docker's minimum",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main: { engine: postgres, version: "17", memory: 4m }
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(4),
            key: Some("services.accounts.databases.main.memory"),
            message: "memory `4m` is below docker's minimum of 6m",
            hint: Some("give the database at least `6m`; most engines want `256m` or more"),
        },
        Case {
            name: "bad service name",
            files: &[(
                "p.yaml",
                r#"
                services:
                  Accounts:
                    databases:
                      main: { engine: postgres, version: "17" }
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(2),
            key: Some("services.Accounts"),
            message: "invalid service name `Accounts`: use lowercase letters, digits, `_` and `-`, \
                      starting with a letter, at most 30 characters",
            hint: None,
        },
        Case {
            name: "missing migrations directory, map form, relative to the file",
            files: &[(
                "profiles/p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: "17"
                        migrations: { dir: ../seeds/nope, command: "sqlx migrate run" }
                "#,
            )],
            load: &["profiles/p.yaml"],
            file: Some("profiles/p.yaml"),
            line: Some(7),
            key: Some("services.accounts.databases.main.migrations.dir"),
            message: "no such directory: {dir}/seeds/nope",
            hint: None,
        },
        Case {
            name: "missing data file",
            files: &[(
                "profiles/p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: "17"
                        migrations: ../seeds/m
                        data: ../seeds/missing.yaml
                "#,
            )],
            load: &["profiles/p.yaml"],
            file: Some("profiles/p.yaml"),
            line: Some(8),
            key: Some("services.accounts.databases.main.data"),
            message: "no such file: {dir}/seeds/missing.yaml",
            hint: None,
        },
        Case {
            name: "migrations of the wrong shape",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: "17"
                        migrations: [a, b]
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(7),
            key: Some("services.accounts.databases.main.migrations"),
            message: "invalid type: sequence, expected a directory path, or a map with `dir` and \
                      optional `command`",
            hint: None,
        },
        Case {
            name: "unknown key in the migrations map",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main:
                        engine: postgres
                        version: "17"
                        migrations:
                          dirs: seeds/m
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(8),
            key: Some("services.accounts.databases.main.migrations.dirs"),
            message: "unknown key `dirs`",
            hint: Some("did you mean `dir`?"),
        },
        Case {
            name: "owner grants on redis",
            files: &[(
                "p.yaml",
                r#"
                services:
                  sessions:
                    databases:
                      cache:
                        engine: redis
                        version: "7.0"
                        role: { grants: owner }
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(7),
            key: Some("services.sessions.databases.cache.role.grants"),
            message: "redis has no `owner` grants",
            hint: Some("use `readwrite` or `readonly`"),
        },
        Case {
            name: "the admin role as the application's role",
            files: &[(
                "p.yaml",
                r#"
                services:
                  orders:
                    databases:
                      main:
                        engine: mysql
                        version: "9"
                        role:
                          name: root
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(8),
            key: Some("services.orders.databases.main.role.name"),
            message: "`root` is the server's admin role",
            hint: Some(
                "the application connects as its own non-superuser role: choose another name, such as `app`",
            ),
        },
        Case {
            name: "a service with no databases",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts:
                    databases:
                      main: { engine: postgres, version: "17" }
                  empty:
                    databases: {}
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(5),
            key: Some("services.empty"),
            message: "the service has no databases",
            hint: Some("add one under `databases:`, or remove the service with `null`"),
        },
        Case {
            name: "images for an unknown engine",
            files: &[
                BASE,
                (
                    "img.yaml",
                    r#"
                images:
                  postgres: { "17": local/pg:17 }
                  mongo: { "7": local/mongo:7 }
                "#,
                ),
            ],
            load: &["base.yaml", "img.yaml"],
            file: Some("img.yaml"),
            line: Some(3),
            key: Some("images.mongo"),
            message: "unknown engine `mongo`",
            hint: Some("expected one of `postgres`, `mysql`, `mariadb`, `redis`"),
        },
        Case {
            name: "bad profile name",
            files: &[(
                "p.yaml",
                r#"
                name: Shop
                services:
                  accounts:
                    databases:
                      main: { engine: postgres, version: "17" }
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(1),
            key: Some("name"),
            message: "invalid profile name `Shop`: use lowercase letters, digits, `_`, `.` and `-`, \
                      starting with a letter or digit, at most 40 characters",
            hint: None,
        },
        Case {
            name: "a service that is not a map",
            files: &[(
                "p.yaml",
                r#"
                services:
                  accounts: postgres
                "#,
            )],
            load: &[],
            file: Some("p.yaml"),
            line: Some(2),
            key: Some("services.accounts"),
            message: "invalid type: string \"postgres\", expected a map with `databases`",
            hint: None,
        },
        Case {
            name: "an overlay that removes every service",
            files: &[BASE, ("none.yaml", "services:\n  accounts: null\n")],
            load: &["base.yaml", "none.yaml"],
            file: Some("none.yaml"),
            line: Some(1),
            key: Some("services"),
            message: "the profile has no services",
            hint: Some("add one under `services:`"),
        },
        Case {
            name: "missing profile file",
            files: &[],
            load: &["nope.yaml"],
            file: None,
            line: None,
            key: None,
            message: "no such file: {dir}/nope.yaml",
            hint: None,
        },
    ]
}

#[test]
fn broken_profiles_say_what_and_where() {
    let cases = cases();
    assert!(cases.len() >= 20);
    for case in cases {
        let fixture = Fixture::new();
        for (name, text) in case.files {
            fixture.write(name, text);
        }
        let load: Vec<&str> =
            if case.load.is_empty() { vec![case.files[0].0] } else { case.load.to_vec() };
        let errors = match fixture.load(&load) {
            Ok(profile) => panic!("{}: loaded: {profile:?}", case.name),
            Err(errors) => errors,
        };
        assert_eq!(errors.len(), 1, "{}: {errors}", case.name);
        let error = &errors.0[0];
        let dir = fixture.dir.path().display().to_string();
        assert_eq!(error.message, case.message.replace("{dir}", &dir), "{}", case.name);
        assert_eq!(error.key.as_deref(), case.key, "{}", case.name);
        assert_eq!(error.line, case.line, "{}: {error}", case.name);
        assert_eq!(error.file, case.file.map(|f| fixture.path(f)), "{}", case.name);
        assert_eq!(error.hint.as_deref(), case.hint, "{}", case.name);
    }
}

#[test]
fn every_problem_in_a_file_is_reported() {
    let fixture = Fixture::new();
    fixture.write(
        "p.yaml",
        r#"
        seed: many
        services:
          accounts:
            databases:
              main:
                engine: postgres
                version: latest
                port: 5432
              replica:
                engine: postgress
                verison: "17"
          catalog:
            databases:
              main:
                engine: mariadb
                version: "11.8"
                port: 5432
                extensions: [citext]
                role: { grants: admin }
        "#,
    );
    let errors = fixture.load(&["p.yaml"]).unwrap_err();
    let found: Vec<(usize, &str, &str)> = errors
        .iter()
        .map(|e| (e.line.unwrap(), e.key.as_deref().unwrap(), e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (1, "seed", "invalid seed `many`"),
            (7, "services.accounts.databases.main.version", "`latest` is not a pinned version"),
            (11, "services.accounts.databases.replica.verison", "unknown key `verison`"),
            (18, "services.catalog.databases.main.extensions", "extensions are only for postgres"),
            (19, "services.catalog.databases.main.role.grants", "unknown grants `admin`"),
        ],
        "{errors}"
    );
    // The port clash is not reported: accounts.main is already broken, and a clash with a database
    // that will not start would only be noise.
    let text = errors.to_string();
    assert!(
        text.starts_with(&format!(
            "{}:1:1: seed: invalid seed `many`\n  hint: ",
            fixture.path("p.yaml").display()
        )),
        "{text}"
    );
}

#[test]
fn column_is_reported() {
    let fixture = Fixture::new();
    fixture.write(
        "p.yaml",
        r#"
        services:
          accounts:
            databases:
              main: { engine: postgres, version: "latest" }
        "#,
    );
    let errors = fixture.load(&["p.yaml"]).unwrap_err();
    assert_eq!((errors.0[0].line, errors.0[0].column), (Some(4), Some(33)));
}

fn accounts(profile: &Profile) -> &Database {
    let service = ServiceName::new("accounts").unwrap();
    let db = DatabaseName::new("main").unwrap();
    &profile.services[&service].databases[&db]
}

#[test]
fn overlays_override_scalars_and_merge_maps() {
    let fixture = Fixture::new();
    fixture.write(
        "a.yaml",
        r#"
        seed: 1
        services:
          accounts:
            databases:
              main:
                engine: postgres
                version: "16"
                settings: { max_connections: 100, work_mem: 4MB }
                extensions: [pgcrypto, citext]
        "#,
    );
    fixture.write(
        "b.yaml",
        r#"
        seed: 2
        services:
          accounts:
            databases:
              main:
                version: "17"
                settings: { work_mem: 8MB, fsync: false }
                extensions: [hstore]
        "#,
    );
    let profile = fixture.ok(&["a.yaml", "b.yaml"]);
    assert_eq!(profile.seed, Some(2));
    let db = accounts(&profile);
    assert_eq!(db.version.as_str(), "17");
    assert_eq!(
        db.settings,
        [("fsync", "false"), ("max_connections", "100"), ("work_mem", "8MB")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into()
    );
    // Lists replace: things that merge are keyed by name.
    assert_eq!(db.extensions, ["hstore"]);
    assert_eq!(profile.name.as_str(), "a");
    assert_eq!(profile.sources, [fixture.path("a.yaml"), fixture.path("b.yaml")]);

    // The other order: A's values win.
    let reversed = fixture.ok(&["b.yaml", "a.yaml"]);
    assert_eq!(reversed.seed, Some(1));
    assert_eq!(accounts(&reversed).version.as_str(), "16");
    assert_eq!(accounts(&reversed).extensions, ["pgcrypto", "citext"]);
    assert_eq!(reversed.name.as_str(), "b");
}

#[test]
fn null_removes_a_service() {
    let fixture = Fixture::new();
    fixture.write(
        "shop.yaml",
        r#"
        services:
          accounts:
            databases:
              main: { engine: postgres, version: "17", port: 5432 }
          sessions:
            databases:
              cache: { engine: redis, version: "7.0" }
        "#,
    );
    fixture.write(
        "lean.yaml",
        "services:\n  sessions: null\n  accounts: { databases: { main: { port: null } } }\n",
    );
    let profile = fixture.ok(&["shop.yaml", "lean.yaml"]);
    let names: Vec<&str> = profile.services.keys().map(ServiceName::as_str).collect();
    assert_eq!(names, ["accounts"]);
    assert_eq!(accounts(&profile).port, None);
}

#[test]
fn extends_chain_of_three_with_paths_relative_to_each_file() {
    let fixture = Fixture::new();
    fixture.mkdir("base/migrations");
    fixture.write("base/data.yaml", "tables: {}\n");
    fixture.write("ci/data.yaml", "tables: {}\n");
    fixture.write(
        "base/root.yaml",
        r#"
        seed: 1
        defaults: { memory: 512m }
        services:
          accounts:
            databases:
              main:
                engine: postgres
                version: "17"
                migrations: migrations
                data: data.yaml
        "#,
    );
    fixture.write(
        "mid/middle.yaml",
        "extends: ../base/root.yaml\nseed: 2\ndefaults: { storage: tmpfs }\n",
    );
    fixture.write(
        "ci/top.yaml",
        r#"
        extends: ../mid/middle.yaml
        services:
          accounts:
            databases:
              main: { data: ./data.yaml }
        "#,
    );
    let profile = fixture.ok(&["ci/top.yaml"]);
    assert_eq!(profile.name.as_str(), "top");
    assert_eq!(profile.seed, Some(2));
    assert_eq!(
        profile.sources,
        [
            fixture.path("base/root.yaml"),
            fixture.path("mid/middle.yaml"),
            fixture.path("ci/top.yaml"),
        ]
    );
    let db = accounts(&profile);
    // `migrations` was written in base/, `data` overridden in ci/.
    assert_eq!(
        db.migrations,
        Some(Migrations { dir: fixture.path("base/migrations"), command: None })
    );
    assert_eq!(db.data, Some(fixture.path("ci/data.yaml")));
    assert_eq!(db.storage, Storage::Tmpfs);
    assert_eq!(db.durability, Durability::Throwaway);
    assert_eq!(db.memory, Some(ByteSize::parse("512m").unwrap()));
    assert_eq!(db.name, "accounts");
    assert_eq!(db.role, AppRole { name: "app".to_owned(), grants: Grants::ReadWrite });
}

#[test]
fn relative_paths_keep_what_the_user_gave() {
    // Paths stay relative when the user's were: errors and `config` print what they typed.
    let fixture = Fixture::new();
    fixture.write(
        "profiles/p.yaml",
        r#"
        services:
          accounts:
            databases:
              main: { engine: postgres, version: "17", data: ../seeds/missing.yaml }
        "#,
    );
    let relative = PathBuf::from(format!("{}/./profiles/p.yaml", fixture.dir.path().display()));
    let errors = load_with(std::slice::from_ref(&relative), &|_| None).unwrap_err();
    assert_eq!(errors.0[0].file.as_ref(), Some(&relative));
    assert_eq!(
        errors.0[0].message,
        format!("no such file: {}", fixture.path("seeds/missing.yaml").display())
    );
}

#[test]
fn variables_expand_in_values() {
    let mut fixture = Fixture::new();
    fixture.vars.insert("IMAGE_TAG".to_owned(), "17.6".to_owned());
    fixture.write(
        "p.yaml",
        r#"
        seed: "${SEED:-42}"
        services:
          accounts:
            databases:
              main:
                engine: postgres
                version: "${PG}"
                image: "mirror/pg:${IMAGE_TAG}"
                port: "${PORT:-5432}"
                settings: { password_note: "costs $$5", "${NOT_A_KEY}": "kept" }
        "#,
    );
    let profile = fixture.ok(&["p.yaml"]);
    assert_eq!(profile.seed, Some(42));
    let db = accounts(&profile);
    assert_eq!(db.version.as_str(), "17");
    assert_eq!(db.image.as_deref(), Some("mirror/pg:17.6"));
    assert_eq!(db.port, Some(5432));
    assert_eq!(db.settings["password_note"], "costs $5");
    assert_eq!(db.settings["${NOT_A_KEY}"], "kept");

    fixture.vars.insert("PORT".to_owned(), "6543".to_owned());
    assert_eq!(accounts(&fixture.ok(&["p.yaml"])).port, Some(6543));
}

#[test]
fn unquoted_numbers_keep_their_spelling() {
    let fixture = Fixture::new();
    fixture.write(
        "p.yaml",
        r#"
        images: { mariadb: { 10.11: local/mariadb:10.11 } }
        services:
          accounts:
            databases:
              main: { engine: mariadb, version: 10.10, memory: 268435456 }
        "#,
    );
    let profile = fixture.ok(&["p.yaml"]);
    let db = accounts(&profile);
    assert_eq!(db.version.as_str(), "10.10");
    assert_eq!(db.memory.map(ByteSize::bytes), Some(256 * 1024 * 1024));
    assert_eq!(db.durability, Durability::Safe);
}

/// The repository's root: `file!()` is relative to it in the main crate (tests run there) and
/// absolute in a crate that mounts this module by path, so joining it to the working directory works
/// in both.
fn repo_root() -> PathBuf {
    let this = std::path::absolute(file!()).unwrap();
    // src/profile/tests.rs → the directory holding src/
    this.ancestors().nth(3).unwrap().to_path_buf()
}

#[test]
fn shipped_profiles_load() {
    let profiles = repo_root().join("profiles");
    let mut count = 0;
    for entry in std::fs::read_dir(&profiles).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml")
            && path.file_stem() != Some("offline".as_ref())
        {
            load_with(std::slice::from_ref(&path), &|_| None).unwrap_or_else(|e| panic!("{e}"));
            count += 1;
        }
    }
    assert!(count >= 2);

    // offline.yaml only makes sense over a profile.
    let both = [profiles.join("shop.yaml"), profiles.join("offline.yaml")];
    let shop = load_with(&both, &|_| None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shop.name.as_str(), "shop");
    assert_eq!(shop.seed, Some(42));
    for (service, db, database) in shop.databases() {
        let local = &shop.images[&database.engine][database.version.as_str()];
        assert!(local.starts_with("dbtwin-offline/"), "{service}.{db}: {local}");
    }
    let engines: Vec<(&str, &str)> =
        shop.databases().map(|(s, _, d)| (s.as_str(), d.engine.as_str())).collect();
    assert_eq!(
        engines,
        [
            ("accounts", "postgres"),
            ("catalog", "postgres"),
            ("orders", "mariadb"),
            ("sessions", "redis")
        ]
    );

    let ci = load_with(&[profiles.join("shop-ci.yaml")], &|_| None).unwrap();
    assert!(ci.databases().all(|(_, _, d)| d.storage == Storage::Tmpfs));
    assert_eq!(ci.name.as_str(), "shop");
}

#[test]
fn render_round_trips() {
    let profiles = repo_root().join("profiles");
    let original =
        load_with(&[profiles.join("shop-ci.yaml"), profiles.join("offline.yaml")], &|_| None)
            .unwrap();
    let rendered = render(&original);
    assert!(rendered.starts_with("# profile `shop`, resolved from:\n#   "), "{rendered}");

    let fixture = Fixture::new();
    let file = fixture.path("rendered.yaml");
    std::fs::write(&file, &rendered).unwrap();
    let mut again = load_with(std::slice::from_ref(&file), &|_| None)
        .unwrap_or_else(|e| panic!("{e}\n{rendered}"));
    assert_eq!(again.sources, [file]);
    again.sources.clone_from(&original.sources);
    assert_eq!(again, original, "{rendered}");
}

#[test]
fn no_paths_is_an_error() {
    let errors = load(&[]).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "no profile file given\n  hint: name one with `-p profiles/NAME.yaml`"
    );
}

#[test]
fn repo_root_is_found() {
    assert!(repo_root().join("src/profile/mod.rs").is_file(), "{}", repo_root().display());
    assert!(Path::new(file!()).ends_with("src/profile/tests.rs"));
}
