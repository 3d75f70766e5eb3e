//! Discovery: read a migrations folder written for any of the tools teams already use (Flyway, sqlx,
//! dbmate, golang-migrate, diesel) and return its migrations in the order they must run, so adopting
//! dbtwin does not mean renaming a single file.
//!
//! Each file keeps its bytes as on disk (the other tools' checksums need them) next to the text to run
//! (dbmate's up section only) and the line that text starts at, so a failing statement can be reported
//! at its line in the file. Down and undo scripts are recognised and left out: dbtwin only migrates
//! forwards.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::checksum::checksum;

/// A migration version: numeric components compared numerically (`1.10` after `1.9`, `10` after `9`).
///
/// Trailing zero components are trimmed, so `1`, `1.0` and `1_0` are the same version, as Flyway
/// treats them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(Vec<u64>);

impl Version {
    /// Parses `1`, `1.1`, `1_1` (Flyway's `_` means `.`), `2024.01.15.1` or a timestamp
    /// `20240101120000`; `None` for anything else (empty components, letters, overflow).
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = Vec::new();
        for part in s.split(['.', '_']) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            parts.push(part.parse::<u64>().ok()?);
        }
        while parts.len() > 1 && parts.last() == Some(&0) {
            parts.pop();
        }
        Some(Version(parts))
    }

    /// The numeric components, trailing zeros trimmed (at least one).
    pub fn components(&self) -> &[u64] {
        &self.0
    }
}

impl fmt::Display for Version {
    /// `3`, `1.1`, `20240101120000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{part}")?;
        }
        Ok(())
    }
}

/// How a file was recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// `V<version>__<description>` and `R__<description>`.
    Flyway,
    /// `<digits>_<description>` without dbmate markers.
    Sqlx,
    /// `<digits>_<description>` with a `-- migrate:up` section.
    Dbmate,
    /// `<digits>_<description>.up` (also sqlx's reversible migrations).
    GolangMigrate,
    /// A folder `<yyyy-mm-dd-hhmmss>_<name>/` holding `up.sql`.
    Diesel,
}

/// Whether a migration runs once at its version or again whenever it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MigrationKind {
    Versioned(Version),
    /// Flyway's `R__` scripts: run after the versioned ones, again whenever their checksum changes.
    Repeatable,
}

/// One migration found in the folder.
#[derive(Clone, Debug)]
pub struct MigrationFile {
    pub kind: MigrationKind,
    /// `add orders` for `V3__add_orders.sql` (underscores become spaces, as Flyway shows them).
    pub description: String,
    /// The path relative to the folder, `/`-separated: `V3__add_orders.sql`,
    /// `2024-01-01-120000_x/up.sql`.
    pub script: String,
    /// The folder joined with `script`.
    pub path: PathBuf,
    /// The whole file as on disk.
    pub content: Vec<u8>,
    /// The text to run: the whole file (without a BOM), or dbmate's up section.
    pub body: String,
    /// The 1-based line of the file where `body` starts.
    pub body_line: usize,
    /// [`checksum`] of `body`.
    pub checksum: String,
    /// Whether to run the body inside one transaction.
    pub transactional: bool,
    pub scheme: Scheme,
}

/// What a folder holds.
#[derive(Clone, Debug)]
pub struct Discovered {
    /// The migrations in the order they run: versioned by version, then repeatables by description.
    pub files: Vec<MigrationFile>,
    /// Files with the migration extension whose names match no scheme (relative paths), for the
    /// caller to warn about: most likely a typo that would otherwise be silently skipped.
    pub ignored: Vec<String>,
}

/// Why a folder could not be discovered.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("migrations folder {} does not exist", dir.display())]
    Missing { dir: PathBuf },
    #[error("migrations folder {} is not a folder", dir.display())]
    NotAFolder { dir: PathBuf },
    #[error("failed to read migrations folder {}", dir.display())]
    ReadDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to read migration {}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}: migration is not valid utf-8", path.display())]
    NotUtf8 { path: PathBuf, line: usize },
    #[error("{} and {} have the same version {version}", first.display(), second.display())]
    DuplicateVersion { version: Version, first: PathBuf, second: PathBuf },
    #[error(
        "{} and {} are repeatable migrations with the same description `{description}`",
        first.display(),
        second.display()
    )]
    DuplicateRepeatable { description: String, first: PathBuf, second: PathBuf },
    #[error("{}:{line}: `-- migrate:down` without a `-- migrate:up` section", path.display())]
    DbmateDownWithoutUp { path: PathBuf, line: usize },
    #[error(
        "{}:{down_line}: `-- migrate:down` comes before `-- migrate:up` (line {up_line})",
        path.display()
    )]
    DbmateDownBeforeUp { path: PathBuf, down_line: usize, up_line: usize },
}

/// Reads the migrations of `dir` whose extension is `extension` (`sql` or `redis`; a leading `.` is
/// accepted), in the order they run.
///
/// Only the folder itself is scanned, plus diesel's one-folder-per-migration layout.
pub fn discover(dir: &Path, extension: &str) -> Result<Discovered, DiscoverError> {
    let extension = extension.trim_start_matches('.');
    let entries = read_dir_sorted(dir)?;

    let mut files = Vec::new();
    let mut ignored = Vec::new();
    for (name, path, is_dir) in entries {
        if is_dir {
            if let Some(file) = diesel_migration(dir, &name, &path, extension)? {
                files.push(file);
            }
            continue;
        }
        let Some(stem) = name.strip_suffix(extension).and_then(|s| s.strip_suffix('.')) else {
            continue;
        };
        match recognise(stem) {
            Recognised::Migration { kind, description, scheme } => {
                files.push(load(dir, name.clone(), path, kind, &description, scheme)?)
            }
            Recognised::Skipped => {}
            Recognised::Unknown => ignored.push(name),
        }
    }

    order(files, ignored)
}

/// The entries of `dir` as (name, path, is a folder), sorted by name so results never depend on the
/// file system's order. Names that are not UTF-8 cannot match any scheme and are left out.
fn read_dir_sorted(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>, DiscoverError> {
    let read_dir_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => DiscoverError::Missing { dir: dir.to_path_buf() },
        io::ErrorKind::NotADirectory => DiscoverError::NotAFolder { dir: dir.to_path_buf() },
        _ => DiscoverError::ReadDir { dir: dir.to_path_buf(), source },
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_dir_error)? {
        let entry = entry.map_err(read_dir_error)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        // Follow symlinks: a migrations folder assembled from links is still a migrations folder.
        let is_dir = path.is_dir();
        entries.push((name, path, is_dir));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

enum Recognised {
    Migration {
        kind: MigrationKind,
        description: String,
        scheme: Scheme,
    },
    /// A down or undo script: known, deliberately not run.
    Skipped,
    Unknown,
}

/// Recognises a file name without its extension.
fn recognise(stem: &str) -> Recognised {
    if let Some(description) = stem.strip_prefix("R__") {
        return Recognised::Migration {
            kind: MigrationKind::Repeatable,
            description: describe(description),
            scheme: Scheme::Flyway,
        };
    }
    for (prefix, undo) in [("V", false), ("U", true)] {
        if let Some((version, description)) =
            stem.strip_prefix(prefix).and_then(|rest| rest.split_once("__"))
            && let Some(version) = Version::parse(version)
        {
            if undo {
                return Recognised::Skipped;
            }
            return Recognised::Migration {
                kind: MigrationKind::Versioned(version),
                description: describe(description),
                scheme: Scheme::Flyway,
            };
        }
    }
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0
        && let Some(rest) = stem[digits..].strip_prefix('_')
        && let Some(version) = Version::parse(&stem[..digits])
    {
        if rest.ends_with(".down") {
            return Recognised::Skipped;
        }
        let (rest, scheme) = match rest.strip_suffix(".up") {
            Some(rest) => (rest, Scheme::GolangMigrate),
            // Sqlx or dbmate: told apart by the content, in `load`.
            None => (rest, Scheme::Sqlx),
        };
        return Recognised::Migration {
            kind: MigrationKind::Versioned(version),
            description: describe(rest),
            scheme,
        };
    }
    Recognised::Unknown
}

/// Flyway shows `add_orders` as `add orders`; dbtwin does the same for every scheme.
fn describe(raw: &str) -> String {
    raw.replace('_', " ")
}

/// A diesel migration folder `2024-01-01-120000_name/` with `up.<extension>`, or `None` for any other
/// folder.
fn diesel_migration(
    dir: &Path,
    name: &str,
    path: &Path,
    extension: &str,
) -> Result<Option<MigrationFile>, DiscoverError> {
    let Some((stamp, rest)) = name.split_once('_') else {
        return Ok(None);
    };
    // Diesel takes the part before the first `_` and drops the dashes.
    if !stamp.bytes().any(|b| b.is_ascii_digit())
        || !stamp.bytes().all(|b| b.is_ascii_digit() || b == b'-')
    {
        return Ok(None);
    }
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let Some(version) = Version::parse(&digits) else {
        return Ok(None);
    };
    let up_name = format!("up.{extension}");
    let up = path.join(&up_name);
    if !up.is_file() {
        return Ok(None);
    }
    let mut file = load(
        dir,
        format!("{name}/{up_name}"),
        up,
        MigrationKind::Versioned(version),
        &describe(rest),
        Scheme::Diesel,
    )?;
    // Diesel's own opt-out lives in `metadata.toml`: `run_in_transaction = false`.
    let metadata = path.join("metadata.toml");
    if metadata.is_file() {
        let text = fs::read_to_string(&metadata)
            .map_err(|source| DiscoverError::ReadFile { path: metadata.clone(), source })?;
        if setting_is_false(&text, "run_in_transaction", '=') {
            file.transactional = false;
        }
    }
    Ok(Some(file))
}

/// Reads one migration file and works out its body and transaction mode.
fn load(
    dir: &Path,
    script: String,
    path: PathBuf,
    kind: MigrationKind,
    description: &str,
    mut scheme: Scheme,
) -> Result<MigrationFile, DiscoverError> {
    let content =
        fs::read(&path).map_err(|source| DiscoverError::ReadFile { path: path.clone(), source })?;
    let text = match std::str::from_utf8(&content) {
        Ok(text) => text,
        Err(e) => {
            let line = 1 + content[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
            return Err(DiscoverError::NotUtf8 { path, line });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut transactional = true;
    // Only `<digits>_x.sql` files can be dbmate's; other schemes' files are run whole, whatever
    // comments they hold.
    let sections = if scheme == Scheme::Sqlx { dbmate_sections(text, &path)? } else { None };
    let (body, body_line) = match sections {
        Some(up) => {
            scheme = Scheme::Dbmate;
            if up.options.split_whitespace().any(|o| o == "transaction:false") {
                transactional = false;
            }
            (&text[up.start..up.end], up.line)
        }
        _ => (text, 1),
    };

    if has_no_transaction_marker(text) || has_no_transaction_marker(body) {
        transactional = false;
    }
    if scheme == Scheme::Flyway {
        // Flyway's per-script configuration: `V3__x.sql.conf` next to `V3__x.sql`.
        let mut conf = path.clone().into_os_string();
        conf.push(".conf");
        let conf = PathBuf::from(conf);
        if conf.is_file() {
            let text = fs::read_to_string(&conf)
                .map_err(|source| DiscoverError::ReadFile { path: conf.clone(), source })?;
            if setting_is_false(&text, "executeInTransaction", '=') {
                transactional = false;
            }
        }
    }

    Ok(MigrationFile {
        kind,
        description: description.to_owned(),
        path: dir.join(&script),
        script,
        checksum: checksum(body),
        body: body.to_owned(),
        body_line,
        content,
        transactional,
        scheme,
    })
}

/// dbmate's up section: byte range in the text, first line, and the options after the marker.
struct UpSection<'a> {
    start: usize,
    end: usize,
    line: usize,
    options: &'a str,
}

/// Finds `-- migrate:up [options]` and `-- migrate:down` (dbmate's markers); `None` when the file has
/// neither.
fn dbmate_sections<'a>(text: &'a str, path: &Path) -> Result<Option<UpSection<'a>>, DiscoverError> {
    let mut up: Option<(usize, usize, &str)> = None; // (end of the marker line, line, options)
    let mut down: Option<(usize, usize)> = None; // (start of the marker line, line)
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let number = i + 1;
        if let Some(marker) = line
            .trim()
            .strip_prefix("--")
            .map(str::trim_start)
            .and_then(|m| m.strip_prefix("migrate:"))
        {
            if let Some(options) = marker.strip_prefix("up") {
                if up.is_none() && options.chars().next().is_none_or(char::is_whitespace) {
                    if let Some((_, down_line)) = down {
                        return Err(DiscoverError::DbmateDownBeforeUp {
                            path: path.to_path_buf(),
                            down_line,
                            up_line: number,
                        });
                    }
                    up = Some((offset + line.len(), number, options.trim()));
                }
            } else if let Some(rest) = marker.strip_prefix("down")
                && rest.chars().next().is_none_or(char::is_whitespace)
                && down.is_none()
            {
                down = Some((offset, number));
            }
        }
        offset += line.len();
    }
    match (up, down) {
        (None, None) => Ok(None),
        (None, Some((_, line))) => {
            Err(DiscoverError::DbmateDownWithoutUp { path: path.to_path_buf(), line })
        }
        (Some((start, line, options)), down) => Ok(Some(UpSection {
            start,
            end: down.map_or(text.len(), |(end, _)| end),
            line: line + 1,
            options,
        })),
    }
}

/// sqlx's `-- no-transaction` first line, or dbtwin's `-- dbtwin:no-transaction` anywhere among the
/// leading comment lines (`#` comments count too, for Redis command files).
fn has_no_transaction_marker(text: &str) -> bool {
    if text.starts_with("-- no-transaction") {
        return true;
    }
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix("--").or_else(|| line.strip_prefix('#')) else {
            return false;
        };
        if comment.trim() == "dbtwin:no-transaction" {
            return true;
        }
    }
    false
}

/// Whether a `key = value` file sets `key` to `false`.
fn setting_is_false(text: &str, key: &str, separator: char) -> bool {
    text.lines().any(|line| {
        line.split_once(separator).is_some_and(|(k, v)| {
            k.trim() == key && v.trim().trim_matches('"').eq_ignore_ascii_case("false")
        })
    })
}

/// Sorts versioned migrations by version, then repeatables by description, refusing duplicates.
fn order(files: Vec<MigrationFile>, ignored: Vec<String>) -> Result<Discovered, DiscoverError> {
    let mut versioned: BTreeMap<Version, MigrationFile> = BTreeMap::new();
    let mut repeatable: BTreeMap<String, MigrationFile> = BTreeMap::new();
    for file in files {
        match &file.kind {
            MigrationKind::Versioned(version) => {
                if let Some(first) = versioned.get(version) {
                    return Err(DiscoverError::DuplicateVersion {
                        version: version.clone(),
                        first: first.path.clone(),
                        second: file.path,
                    });
                }
                versioned.insert(version.clone(), file);
            }
            MigrationKind::Repeatable => {
                if let Some(first) = repeatable.get(&file.description) {
                    return Err(DiscoverError::DuplicateRepeatable {
                        description: file.description.clone(),
                        first: first.path.clone(),
                        second: file.path,
                    });
                }
                repeatable.insert(file.description.clone(), file);
            }
        }
    }
    Ok(Discovered {
        files: versioned.into_values().chain(repeatable.into_values()).collect(),
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, content) in files {
            let path = dir.path().join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("create parent");
            }
            fs::write(path, content).expect("write file");
        }
        dir
    }

    fn scripts(found: &Discovered) -> Vec<&str> {
        found.files.iter().map(|f| f.script.as_str()).collect()
    }

    fn one(found: &Discovered, script: &str) -> MigrationFile {
        found
            .files
            .iter()
            .find(|f| f.script == script)
            .cloned()
            .unwrap_or_else(|| panic!("{script} not discovered in {:?}", scripts(found)))
    }

    #[test]
    fn versions_compare_numerically() {
        let v = |s| Version::parse(s).expect(s);
        assert!(v("10") > v("9"));
        assert!(v("1.10") > v("1.9"));
        assert_eq!(v("1_1"), v("1.1"));
        assert_eq!(v("1"), v("1.0"));
        assert_eq!(v("1.0.0").components(), &[1]);
        assert_eq!(v("0").components(), &[0]);
        assert_eq!(v("2024.01.15.1").to_string(), "2024.1.15.1");
        assert_eq!(v("20240101120000").to_string(), "20240101120000");
        for bad in ["", "1.", ".1", "1..2", "1a", "v1", "99999999999999999999999"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn flyway_files_in_numeric_order_with_repeatables_last() {
        let dir = folder(&[
            ("V10__ten.sql", "SELECT 10;"),
            ("V2__two.sql", "SELECT 2;"),
            ("V1.10__one_ten.sql", "SELECT 1.10;"),
            ("V1_9__one_nine.sql", "SELECT 1.9;"),
            ("R__views.sql", "CREATE VIEW v AS SELECT 1;"),
            ("R__a_function.sql", "SELECT 'f';"),
            ("U2__undo_two.sql", "SELECT -2;"),
            ("README.md", "# migrations"),
            (".gitkeep", ""),
            ("V3_oops.sql", "SELECT 3;"),
        ]);
        let found = discover(dir.path(), "sql").expect("discover");
        assert_eq!(
            scripts(&found),
            [
                "V1_9__one_nine.sql",
                "V1.10__one_ten.sql",
                "V2__two.sql",
                "V10__ten.sql",
                "R__a_function.sql",
                "R__views.sql",
            ]
        );
        assert_eq!(found.ignored, ["V3_oops.sql"]);
        let first = &found.files[0];
        assert_eq!(first.description, "one nine");
        assert_eq!(first.kind, MigrationKind::Versioned(Version(vec![1, 9])));
        assert_eq!(first.scheme, Scheme::Flyway);
        assert_eq!(first.path, dir.path().join("V1_9__one_nine.sql"));
        assert_eq!(first.body, "SELECT 1.9;");
        assert_eq!(first.body_line, 1);
        assert_eq!(first.checksum, checksum("SELECT 1.9;"));
        assert!(first.transactional);
        assert_eq!(found.files[4].kind, MigrationKind::Repeatable);
        assert_eq!(found.files[4].description, "a function");
    }

    #[test]
    fn sqlx_golang_migrate_and_dbmate_files() {
        let dir = folder(&[
            ("20240101120000_create_users.sql", "CREATE TABLE users ();\n"),
            ("20240102120000_add_orders.up.sql", "CREATE TABLE orders ();\n"),
            ("20240102120000_add_orders.down.sql", "DROP TABLE orders;\n"),
            (
                "20240103120000_add_items.sql",
                "-- migrate:up\nCREATE TABLE items ();\n\n-- migrate:down\nDROP TABLE items;\n",
            ),
            ("3_small.sql", "SELECT 3;"),
        ]);
        let found = discover(dir.path(), ".sql").expect("discover");
        assert_eq!(
            scripts(&found),
            [
                "3_small.sql",
                "20240101120000_create_users.sql",
                "20240102120000_add_orders.up.sql",
                "20240103120000_add_items.sql",
            ]
        );
        assert!(found.ignored.is_empty());
        let schemes: Vec<Scheme> = found.files.iter().map(|f| f.scheme).collect();
        assert_eq!(schemes, [Scheme::Sqlx, Scheme::Sqlx, Scheme::GolangMigrate, Scheme::Dbmate]);
        assert_eq!(found.files[2].description, "add orders");
        let items = &found.files[3];
        assert_eq!(items.body, "CREATE TABLE items ();\n\n");
        assert_eq!(items.body_line, 2);
        assert_eq!(items.checksum, checksum("CREATE TABLE items ();"));
        assert_eq!(
            items.content,
            b"-- migrate:up\nCREATE TABLE items ();\n\n-- migrate:down\nDROP TABLE items;\n"
        );
    }

    #[test]
    fn dbmate_up_section_after_a_header_starts_at_its_line() {
        let dir = folder(&[(
            "1_x.sql",
            "-- header comment\n\n--migrate:up\n\nSELECT 1;\n-- migrate:down\nSELECT 2;\n",
        )]);
        let found = discover(dir.path(), "sql").expect("discover");
        let file = &found.files[0];
        assert_eq!(file.scheme, Scheme::Dbmate);
        assert_eq!(file.body, "\nSELECT 1;\n");
        assert_eq!(file.body_line, 4);
    }

    #[test]
    fn dbmate_down_without_up_is_an_error() {
        let dir = folder(&[("1_x.sql", "SELECT 1;\n-- migrate:down\nSELECT 2;\n")]);
        let err = discover(dir.path(), "sql").expect_err("down without up");
        assert!(matches!(err, DiscoverError::DbmateDownWithoutUp { line: 2, .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "{}:2: `-- migrate:down` without a `-- migrate:up` section",
                dir.path().join("1_x.sql").display()
            )
        );

        let dir = folder(&[("1_x.sql", "-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;\n")]);
        let err = discover(dir.path(), "sql").expect_err("down before up");
        assert!(matches!(err, DiscoverError::DbmateDownBeforeUp { down_line: 1, up_line: 3, .. }));
    }

    #[test]
    fn dbmate_markers_only_count_in_dbmate_names() {
        let dir = folder(&[
            ("V1__x.sql", "SELECT 1;\n-- migrate:down\n"),
            ("2_y.up.sql", "-- migrate:up\nSELECT 2;\n"),
        ]);
        let found = discover(dir.path(), "sql").expect("discover");
        assert_eq!(found.files[0].scheme, Scheme::Flyway);
        assert_eq!(found.files[0].body, "SELECT 1;\n-- migrate:down\n");
        assert_eq!(found.files[1].scheme, Scheme::GolangMigrate);
        assert_eq!(found.files[1].body_line, 1);
    }

    #[test]
    fn every_transaction_opt_out() {
        let dir = folder(&[
            ("V1__flyway.sql", "CREATE INDEX CONCURRENTLY a ON t (a);"),
            ("V1__flyway.sql.conf", "# per-script\nexecuteInTransaction = false\n"),
            ("V2__flyway_on.sql", "SELECT 1;"),
            ("V2__flyway_on.sql.conf", "executeInTransaction=true\n"),
            ("3_sqlx.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY b ON t (b);"),
            (
                "4_dbmate.sql",
                "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY c ON t (c);\n",
            ),
            (
                "5_dbtwin.up.sql",
                "-- builds an index online\n\n-- dbtwin:no-transaction\nCREATE INDEX CONCURRENTLY d ON t (d);",
            ),
            ("6_late_marker.sql", "SELECT 1;\n-- dbtwin:no-transaction\n"),
            ("7_plain.sql", "SELECT 1;"),
        ]);
        let found = discover(dir.path(), "sql").expect("discover");
        let modes: Vec<(&str, bool)> =
            found.files.iter().map(|f| (f.script.as_str(), f.transactional)).collect();
        assert_eq!(
            modes,
            [
                ("V1__flyway.sql", false),
                ("V2__flyway_on.sql", true),
                ("3_sqlx.sql", false),
                ("4_dbmate.sql", false),
                ("5_dbtwin.up.sql", false),
                ("6_late_marker.sql", true),
                ("7_plain.sql", true),
            ]
        );
    }

    #[test]
    fn diesel_folders() {
        let dir = folder(&[
            ("2024-01-02-093000_add_orders/up.sql", "CREATE TABLE orders ();"),
            ("2024-01-02-093000_add_orders/down.sql", "DROP TABLE orders;"),
            ("2024-01-01-120000_create_users/up.sql", "CREATE TABLE users ();"),
            ("2024-01-01-120000_create_users/down.sql", "DROP TABLE users;"),
            ("2024-01-03-000000_concurrent/up.sql", "CREATE INDEX CONCURRENTLY i ON orders (id);"),
            ("2024-01-03-000000_concurrent/metadata.toml", "run_in_transaction = false\n"),
            ("notes/up.sql", "SELECT 'not a migration';"),
        ]);
        let found = discover(dir.path(), "sql").expect("discover");
        assert_eq!(
            scripts(&found),
            [
                "2024-01-01-120000_create_users/up.sql",
                "2024-01-02-093000_add_orders/up.sql",
                "2024-01-03-000000_concurrent/up.sql",
            ]
        );
        let users = one(&found, "2024-01-01-120000_create_users/up.sql");
        assert_eq!(users.kind, MigrationKind::Versioned(Version(vec![20240101120000])));
        assert_eq!(users.description, "create users");
        assert_eq!(users.scheme, Scheme::Diesel);
        assert_eq!(users.path, dir.path().join("2024-01-01-120000_create_users/up.sql"));
        assert!(users.transactional);
        assert!(!one(&found, "2024-01-03-000000_concurrent/up.sql").transactional);
    }

    #[test]
    fn duplicate_versions_name_both_files() {
        let dir = folder(&[("V1__a.sql", "SELECT 1;"), ("V1.0__b.sql", "SELECT 2;")]);
        let err = discover(dir.path(), "sql").expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            format!(
                "{} and {} have the same version 1",
                dir.path().join("V1.0__b.sql").display(),
                dir.path().join("V1__a.sql").display()
            )
        );

        let dir = folder(&[("V1__a.sql", "SELECT 1;"), ("1_b.sql", "SELECT 2;")]);
        assert!(matches!(discover(dir.path(), "sql"), Err(DiscoverError::DuplicateVersion { .. })));
    }

    #[test]
    fn crlf_bom_and_lf_files_have_the_same_checksum() {
        let dir = folder(&[
            ("V1__lf.sql", "CREATE TABLE t (id int);\nSELECT 1;\n"),
            ("V2__crlf.sql", "\u{feff}CREATE TABLE t (id int);\r\nSELECT 1;"),
        ]);
        let found = discover(dir.path(), "sql").expect("discover");
        assert_eq!(found.files[0].checksum, found.files[1].checksum);
        assert_ne!(found.files[0].content, found.files[1].content);
        // The BOM never reaches the server.
        assert!(found.files[1].body.starts_with("CREATE"));
    }

    #[test]
    fn redis_files_use_their_own_extension() {
        let dir = folder(&[
            ("V1__seed_flags.redis", "SET flag on\n"),
            ("V2__other.sql", "SELECT 1;"),
            ("V3_typo.redis", "SET x 1\n"),
        ]);
        let found = discover(dir.path(), "redis").expect("discover");
        assert_eq!(scripts(&found), ["V1__seed_flags.redis"]);
        assert_eq!(found.ignored, ["V3_typo.redis"]);
    }

    #[test]
    fn folder_and_file_errors() {
        let dir = folder(&[("V1__bad.sql", "SELECT 1;\nSELECT '\u{e9}';\n")]);
        let missing = dir.path().join("nope");
        let err = discover(&missing, "sql").expect_err("missing");
        assert_eq!(
            err.to_string(),
            format!("migrations folder {} does not exist", missing.display())
        );
        let file = dir.path().join("V1__bad.sql");
        assert!(matches!(discover(&file, "sql"), Err(DiscoverError::NotAFolder { .. })));

        fs::write(&file, b"SELECT 1;\nSELECT '\xe9';\n").expect("write latin-1");
        let err = discover(dir.path(), "sql").expect_err("not utf-8");
        assert_eq!(err.to_string(), format!("{}:2: migration is not valid utf-8", file.display()));
    }
}
