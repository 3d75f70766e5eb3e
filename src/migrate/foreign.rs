//! Other tools' migration histories: when a database is migrated by the team's own tool (Flyway,
//! Liquibase, sqlx, refinery, dbmate or Rails, golang-migrate, goose, Alembic, Django, Prisma),
//! `status` still reports its state by reading that tool's history table and comparing it with the
//! folder. This module is pure: it names the table, gives the SELECT that reads it as text on
//! PostgreSQL and MySQL/MariaDB, turns the rows into a [`ForeignHistory`], and [`compare`]s that
//! with the files. Versions are always compared; checksums only where the tool's own checksum can
//! be recomputed from the file (Flyway, sqlx, refinery) and never pretended where it cannot
//! (Liquibase's MD5SUM covers its parsed changeset, not the file).

use std::path::Path;

use serde::Serialize;
use sha2::Digest as _;

use super::checksum::{flyway_checksum, refinery_checksum, sqlx_checksum};
use super::discover::Version;

/// A migration tool whose history table dbtwin can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Flyway,
    Liquibase,
    Sqlx,
    Refinery,
    /// dbmate, and Rails (ActiveRecord) which writes the same one-column table.
    Dbmate,
    GolangMigrate,
    Goose,
    Alembic,
    Django,
    Prisma,
}

/// The SQL dialect a SELECT is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlDialect {
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
}

impl SqlDialect {
    /// `col` as text.
    fn text(self, col: &str) -> String {
        match self {
            SqlDialect::Postgres => format!("{col}::text"),
            SqlDialect::Mysql => format!("CAST({col} AS CHAR)"),
        }
    }

    /// A binary column as lowercase hex, without PostgreSQL's `\x` prefix.
    fn hex(self, col: &str) -> String {
        match self {
            SqlDialect::Postgres => format!("encode({col}, 'hex')"),
            SqlDialect::Mysql => format!("LOWER(HEX({col}))"),
        }
    }
}

/// A boolean column as '1'/'0': PostgreSQL's `boolean` and MySQL's `tinyint(1)` both test true in
/// a CASE, so one spelling serves both dialects.
fn flag(col: &str) -> String {
    format!("CASE WHEN {col} THEN '1' ELSE '0' END")
}

/// '1' when `col` holds a value, '0' when it is NULL.
fn present(col: &str) -> String {
    format!("CASE WHEN {col} IS NULL THEN '0' ELSE '1' END")
}

impl Tool {
    pub const ALL: [Tool; 10] = [
        Tool::Flyway,
        Tool::Liquibase,
        Tool::Sqlx,
        Tool::Refinery,
        Tool::Dbmate,
        Tool::GolangMigrate,
        Tool::Goose,
        Tool::Alembic,
        Tool::Django,
        Tool::Prisma,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Flyway => "flyway",
            Tool::Liquibase => "liquibase",
            Tool::Sqlx => "sqlx",
            Tool::Refinery => "refinery",
            Tool::Dbmate => "dbmate/rails",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Goose => "goose",
            Tool::Alembic => "alembic",
            Tool::Django => "django",
            Tool::Prisma => "prisma",
        }
    }

    /// The tool's default history table, lowercase (Liquibase writes `DATABASECHANGELOG` on MySQL,
    /// where table names are case-sensitive; [`Tool::select`] spells it that way there).
    pub fn table(self) -> &'static str {
        match self {
            Tool::Flyway => "flyway_schema_history",
            Tool::Liquibase => "databasechangelog",
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Refinery => "refinery_schema_history",
            Tool::Dbmate | Tool::GolangMigrate => "schema_migrations",
            Tool::Goose => "goose_db_version",
            Tool::Alembic => "alembic_version",
            Tool::Django => "django_migrations",
            Tool::Prisma => "_prisma_migrations",
        }
    }

    /// Whether the checksum the tool records can be recomputed from the file alone.
    pub fn can_verify_checksums(self) -> bool {
        matches!(self, Tool::Flyway | Tool::Sqlx | Tool::Refinery | Tool::Prisma)
    }

    /// Columns the table must have for [`identify`] to name this tool: the ones its SELECT reads
    /// and that tell two tools sharing a table name apart.
    fn required_columns(self) -> &'static [&'static str] {
        match self {
            Tool::Flyway => &[
                "installed_rank",
                "version",
                "description",
                "type",
                "script",
                "checksum",
                "success",
            ],
            Tool::Liquibase => &["id", "author", "filename", "exectype", "md5sum", "orderexecuted"],
            Tool::Sqlx => &["version", "description", "success", "checksum"],
            Tool::Refinery => &["version", "name", "checksum"],
            Tool::Dbmate => &["version"],
            Tool::GolangMigrate => &["version", "dirty"],
            Tool::Goose => &["id", "version_id", "is_applied"],
            Tool::Alembic => &["version_num"],
            Tool::Django => &["id", "app", "name"],
            Tool::Prisma => &["migration_name", "checksum", "finished_at", "rolled_back_at"],
        }
    }

    /// A SELECT over the tool's table returning only text columns, in the order
    /// [`Tool::parse_rows`] reads them.
    pub fn select(self, dialect: SqlDialect) -> String {
        let d = dialect;
        match self {
            Tool::Flyway => format!(
                "SELECT {}, version, description, type, script, {}, {} \
                 FROM flyway_schema_history ORDER BY installed_rank",
                d.text("installed_rank"),
                d.text("checksum"),
                flag("success"),
            ),
            Tool::Liquibase => {
                let table = match d {
                    SqlDialect::Postgres => "databasechangelog",
                    SqlDialect::Mysql => "DATABASECHANGELOG",
                };
                format!(
                    "SELECT id, author, filename, exectype, md5sum FROM {table} \
                     ORDER BY orderexecuted, dateexecuted"
                )
            }
            Tool::Sqlx => format!(
                "SELECT {}, description, {}, {} FROM _sqlx_migrations ORDER BY version",
                d.text("version"),
                flag("success"),
                d.hex("checksum"),
            ),
            Tool::Refinery => format!(
                "SELECT {}, name, checksum FROM refinery_schema_history ORDER BY version",
                d.text("version"),
            ),
            Tool::Dbmate => {
                format!("SELECT {} FROM schema_migrations ORDER BY version", d.text("version"))
            }
            Tool::GolangMigrate => {
                format!("SELECT {}, {} FROM schema_migrations", d.text("version"), flag("dirty"),)
            }
            Tool::Goose => format!(
                "SELECT {}, {} FROM goose_db_version ORDER BY id",
                d.text("version_id"),
                flag("is_applied"),
            ),
            Tool::Alembic => "SELECT version_num FROM alembic_version ORDER BY version_num".into(),
            Tool::Django => "SELECT app, name FROM django_migrations ORDER BY id".into(),
            Tool::Prisma => format!(
                "SELECT migration_name, checksum, {}, {} FROM _prisma_migrations \
                 ORDER BY started_at, migration_name",
                present("finished_at"),
                present("rolled_back_at"),
            ),
        }
    }

    /// [`Tool::select`] over the table as the database actually names it (a quoted upper-case
    /// name on PostgreSQL, Liquibase's upper case on a case-sensitive MySQL).
    pub fn select_from(self, dialect: SqlDialect, table: &str) -> String {
        let quoted = match dialect {
            SqlDialect::Postgres => format!("\"{}\"", table.replace('"', "\"\"")),
            SqlDialect::Mysql => format!("`{}`", table.replace('`', "``")),
        };
        let default = match (self, dialect) {
            (Tool::Liquibase, SqlDialect::Mysql) => "DATABASECHANGELOG",
            _ => self.table(),
        };
        self.select(dialect).replacen(&format!("FROM {default}"), &format!("FROM {quoted}"), 1)
    }

    /// Reads the rows of [`Tool::select`] into the history the tool itself would act on: the
    /// latest row per migration decides, rows that record no migration (Flyway's schema marker,
    /// goose's version 0) are left out, and rolled-back or undone migrations are not applied.
    pub fn parse_rows(
        self,
        rows: Vec<Vec<Option<String>>>,
    ) -> Result<ForeignHistory, ForeignError> {
        let mut reader = Reader { tool: self, applied: Vec::new(), dirty: false };
        for (index, row) in rows.into_iter().enumerate() {
            let row = Row::new(self, index, row)?;
            reader.push(&row)?;
        }
        let Reader { applied, mut dirty, .. } = reader;
        dirty |= applied.iter().any(|a| !a.success);
        Ok(ForeignHistory { tool: self, applied, dirty })
    }

    fn columns(self) -> usize {
        match self {
            Tool::Flyway => 7,
            Tool::Liquibase => 5,
            Tool::Sqlx | Tool::Prisma => 4,
            Tool::Refinery => 3,
            Tool::GolangMigrate | Tool::Goose | Tool::Django => 2,
            Tool::Dbmate | Tool::Alembic => 1,
        }
    }
}

/// Which tool wrote `table`, given its column names; `None` when it is no history table we know.
/// `schema_migrations` is written by dbmate and Rails (`version` only) and by golang-migrate
/// (`version`, `dirty`): the `dirty` column tells them apart. A schema prefix and letter case are
/// ignored, since PostgreSQL folds to lower case and Liquibase writes upper case on MySQL.
pub fn identify(table: &str, columns: &[String]) -> Option<Tool> {
    let table = table.rsplit('.').next().unwrap_or(table).trim_matches('"').to_lowercase();
    let columns: Vec<String> = columns.iter().map(|c| c.to_lowercase()).collect();
    let has = |c: &str| columns.iter().any(|have| have == c);
    let candidates = Tool::ALL.into_iter().filter(|t| t.table() == table);
    // golang-migrate first: its columns are a superset of dbmate's.
    let mut candidates: Vec<Tool> = candidates.collect();
    candidates.sort_by_key(|t| std::cmp::Reverse(t.required_columns().len()));
    candidates.into_iter().find(|t| t.required_columns().iter().all(|c| has(c)))
}

/// A tool's history as the tool itself sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForeignHistory {
    pub tool: Tool,
    pub applied: Vec<ForeignApplied>,
    /// golang-migrate's dirty flag, or a failed row (Flyway, sqlx, Prisma, Liquibase).
    pub dirty: bool,
}

impl ForeignHistory {
    /// Django keeps every app's migrations in one table, while a migrations folder belongs to one
    /// app: keep the rows of `app` (the folder's parent directory is Django's default label).
    /// An app whose label is not its folder's name (`AppConfig.label`) has no rows under that
    /// name: then every app is kept, and [`compare`] holds the folder against the app whose rows
    /// match its files.
    pub fn for_django_app(mut self, app: &str) -> ForeignHistory {
        if self.tool == Tool::Django && self.applied.iter().any(|a| a.description == app) {
            self.applied.retain(|a| a.description == app);
        }
        self
    }
}

/// A migration file of a folder laid out the way dbtwin's own discovery does not read (see
/// [`Tool::read_folder`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolFile {
    pub version: Option<Version>,
    pub description: String,
    /// As in [`FileRef::script`]: `0001_initial.py`, `20240101120000_init/migration.sql`.
    pub script: String,
    pub content: Vec<u8>,
}

impl ToolFile {
    pub fn as_file_ref(&self) -> FileRef<'_> {
        FileRef {
            version: self.version.as_ref(),
            description: &self.description,
            script: &self.script,
            content: &self.content,
        }
    }

    /// `20240101120000_init` or `0001_initial`: the leading digits are the version.
    fn new(name: &str, script: String, content: Vec<u8>) -> ToolFile {
        let digits = name.bytes().take_while(u8::is_ascii_digit).count();
        ToolFile {
            version: Version::parse(&name[..digits]),
            description: name[digits..].trim_start_matches('_').replace('_', " "),
            script,
            content,
        }
    }
}

impl Tool {
    /// The migrations of `dir` as this tool lays them out, where that is not a layout dbtwin's
    /// own discovery reads: Prisma's folder per migration (`NAME/migration.sql`) and Django's
    /// Python modules (`0002_add_email_index.py`; Django skips names starting with `_` or `~`).
    /// `None` for the other tools, whose files discovery reads. Sorted by script, the order
    /// Prisma applies them in.
    pub fn read_folder(self, dir: &Path) -> Option<std::io::Result<Vec<ToolFile>>> {
        let read = |dir: &Path| -> std::io::Result<Vec<ToolFile>> {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
                match self {
                    Tool::Prisma => {
                        let sql = path.join("migration.sql");
                        if sql.is_file() {
                            let script = format!("{name}/migration.sql");
                            files.push(ToolFile::new(name, script, std::fs::read(&sql)?));
                        }
                    }
                    _ => {
                        let Some(module) = name.strip_suffix(".py") else { continue };
                        if path.is_file() && !module.starts_with(['_', '~']) {
                            let content = std::fs::read(&path)?;
                            files.push(ToolFile::new(module, name.to_owned(), content));
                        }
                    }
                }
            }
            files.sort_by(|a, b| a.script.cmp(&b.script));
            Ok(files)
        };
        matches!(self, Tool::Prisma | Tool::Django).then(|| read(dir))
    }
}

/// One migration in a tool's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForeignApplied {
    /// As the tool stores it: "1.1", "20240101120000", "0001_initial", a Liquibase changeset id.
    /// Empty for a Flyway repeatable migration.
    pub version: String,
    /// Flyway/sqlx: the description; refinery: the name; Django: the app; Liquibase:
    /// `filename::id::author`, the changeset's identity; empty where the tool keeps none.
    pub description: String,
    pub checksum: Option<ForeignChecksum>,
    pub success: bool,
    pub kind: AppliedKind,
    /// The file name the tool recorded (Flyway), used to match repeatable migrations.
    pub script: Option<String>,
}

/// What a history row stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppliedKind {
    /// A versioned migration.
    Versioned,
    /// A Flyway repeatable migration (no version; re-run whenever its checksum changes).
    Repeatable,
    /// A Flyway baseline: every file up to its version counts as applied without a row of its own.
    Baseline,
    /// golang-migrate's single row: every file up to its version is applied.
    Current,
}

/// A recorded checksum, in the tool's own form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForeignChecksum {
    /// CRC32 of the file's lines without their terminators, as a signed 32-bit integer.
    Flyway(i32),
    /// SHA-384 of the file's bytes (`bytea`/`BLOB`, read as hex).
    Sqlx(Vec<u8>),
    /// SipHash-1-3 of name, version and SQL, stored as the decimal text of a u64.
    Refinery(u64),
    /// Liquibase's MD5SUM (`9:…`): computed over the parsed changeset, so it cannot be recomputed
    /// from the file here; reported, never compared.
    Liquibase(String),
    /// SHA-256 of `migration.sql` in lowercase hex; Prisma accepts the file with CRLF line
    /// endings turned into LF too (prisma-engines' `script_matches_checksum`).
    Prisma(String),
}

impl ForeignChecksum {
    /// The recorded value as the tool displays it.
    fn display(&self) -> String {
        match self {
            ForeignChecksum::Flyway(c) => c.to_string(),
            ForeignChecksum::Sqlx(bytes) => hex(bytes),
            ForeignChecksum::Refinery(c) => c.to_string(),
            ForeignChecksum::Liquibase(c) | ForeignChecksum::Prisma(c) => c.clone(),
        }
    }
}

/// A history row that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unreadable row {row} of {table}")]
pub struct ForeignError {
    pub table: &'static str,
    /// 1-based, in the SELECT's order.
    pub row: usize,
    #[source]
    pub kind: ForeignErrorKind,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ForeignErrorKind {
    #[error("{found} columns, expected {expected}")]
    Columns { expected: usize, found: usize },
    #[error("column {column} is NULL")]
    Null { column: usize },
    #[error("column {column} holds {value:?}, not {expected}")]
    Invalid { column: usize, value: String, expected: &'static str },
}

/// One row of text columns, with errors that name the table and row.
struct Row {
    tool: Tool,
    index: usize,
    cells: Vec<Option<String>>,
}

impl Row {
    fn new(tool: Tool, index: usize, cells: Vec<Option<String>>) -> Result<Row, ForeignError> {
        let row = Row { tool, index, cells };
        if row.cells.len() != tool.columns() {
            let found = row.cells.len();
            return Err(row.error(ForeignErrorKind::Columns { expected: tool.columns(), found }));
        }
        Ok(row)
    }

    fn error(&self, kind: ForeignErrorKind) -> ForeignError {
        ForeignError { table: self.tool.table(), row: self.index + 1, kind }
    }

    fn opt(&self, column: usize) -> Option<&str> {
        self.cells[column].as_deref()
    }

    fn get(&self, column: usize) -> Result<&str, ForeignError> {
        self.opt(column).ok_or_else(|| self.error(ForeignErrorKind::Null { column: column + 1 }))
    }

    fn invalid(&self, column: usize, expected: &'static str) -> ForeignError {
        let value = self.opt(column).unwrap_or_default().to_owned();
        self.error(ForeignErrorKind::Invalid { column: column + 1, value, expected })
    }

    /// A '1'/'0' column; also accepts the spellings drivers use for booleans.
    fn flag(&self, column: usize) -> Result<bool, ForeignError> {
        match self.get(column)?.trim() {
            "1" | "t" | "true" | "TRUE" => Ok(true),
            "0" | "f" | "false" | "FALSE" => Ok(false),
            _ => Err(self.invalid(column, "a boolean")),
        }
    }

    fn number<T: std::str::FromStr>(
        &self,
        column: usize,
        what: &'static str,
    ) -> Result<T, ForeignError> {
        self.get(column)?.trim().parse().map_err(|_| self.invalid(column, what))
    }
}

/// Builds the effective history row by row.
struct Reader {
    tool: Tool,
    applied: Vec<ForeignApplied>,
    dirty: bool,
}

impl Reader {
    fn push(&mut self, row: &Row) -> Result<(), ForeignError> {
        match self.tool {
            Tool::Flyway => self.flyway(row),
            Tool::Liquibase => {
                let (id, author, filename) = (row.get(0)?, row.get(1)?, row.get(2)?);
                self.applied.push(ForeignApplied {
                    version: id.to_owned(),
                    description: format!("{filename}::{id}::{author}"),
                    checksum: row.opt(4).map(|c| ForeignChecksum::Liquibase(c.to_owned())),
                    success: row.get(3)? != "FAILED",
                    kind: AppliedKind::Versioned,
                    script: Some(filename.to_owned()),
                });
                Ok(())
            }
            Tool::Sqlx => {
                let checksum = row.get(3)?;
                let bytes = unhex(checksum).ok_or_else(|| row.invalid(3, "hex"))?;
                let entry = versioned(row.get(0)?, row.get(1)?, Some(ForeignChecksum::Sqlx(bytes)));
                self.replace(ForeignApplied { success: row.flag(2)?, ..entry });
                Ok(())
            }
            Tool::Refinery => {
                let checksum: u64 = row.number(2, "a u64 checksum")?;
                let checksum = Some(ForeignChecksum::Refinery(checksum));
                self.replace(versioned(row.get(0)?, row.get(1)?, checksum));
                Ok(())
            }
            Tool::Dbmate => {
                self.replace(versioned(row.get(0)?, "", None));
                Ok(())
            }
            Tool::GolangMigrate => {
                let dirty = row.flag(1)?;
                self.dirty |= dirty;
                let version = row.get(0)?;
                // -1 is golang-migrate's "no version", written when the first migration fails.
                if version.trim() != "-1" {
                    self.applied.push(ForeignApplied {
                        success: !dirty,
                        kind: AppliedKind::Current,
                        ..versioned(version, "", None)
                    });
                }
                Ok(())
            }
            Tool::Goose => {
                let version = row.get(0)?;
                // goose writes version 0 when it creates its table; it is no migration.
                if version.trim() == "0" {
                    return Ok(());
                }
                self.applied.retain(|a| a.version != version);
                if row.flag(1)? {
                    self.applied.push(versioned(version, "", None));
                }
                Ok(())
            }
            Tool::Alembic => {
                self.applied.push(versioned(row.get(0)?, "", None));
                Ok(())
            }
            Tool::Django => {
                self.applied.push(versioned(row.get(1)?, row.get(0)?, None));
                Ok(())
            }
            Tool::Prisma => {
                let name = row.get(0)?;
                self.applied.retain(|a| a.version != name);
                // A rolled-back attempt is neither applied nor failed: `migrate deploy` runs it
                // again. An attempt that never finished blocks Prisma until it is resolved.
                if !row.flag(3)? {
                    let checksum = ForeignChecksum::Prisma(row.get(1)?.trim().to_ascii_lowercase());
                    self.applied.push(ForeignApplied {
                        success: row.flag(2)?,
                        ..versioned(name, "", Some(checksum))
                    });
                }
                Ok(())
            }
        }
    }

    fn flyway(&mut self, row: &Row) -> Result<(), ForeignError> {
        let version = row.opt(1).unwrap_or_default().trim();
        let description = row.get(2)?;
        let kind = row.get(3)?;
        let script = row.get(4)?;
        let checksum = match row.opt(5) {
            Some(_) => Some(ForeignChecksum::Flyway(row.number(5, "an i32 checksum")?)),
            None => None,
        };
        let success = row.flag(6)?;
        let same = |a: &ForeignApplied| {
            if version.is_empty() {
                a.kind == AppliedKind::Repeatable && a.description == description
            } else {
                a.version == version && a.kind != AppliedKind::Repeatable
            }
        };
        match kind {
            // The row Flyway writes when it created the schemas itself, not a migration.
            "SCHEMA" => {}
            // Flyway Teams: an undone migration, or a row `repair` marked as deleted.
            k if k.starts_with("UNDO_") || k == "DELETE" => {
                if success {
                    self.applied.retain(|a| !same(a));
                }
            }
            _ => {
                self.applied.retain(|a| !same(a));
                let kind = match (kind, version.is_empty()) {
                    ("BASELINE", _) => AppliedKind::Baseline,
                    (_, true) => AppliedKind::Repeatable,
                    (_, false) => AppliedKind::Versioned,
                };
                self.applied.push(ForeignApplied {
                    version: version.to_owned(),
                    description: description.to_owned(),
                    checksum,
                    success,
                    kind,
                    script: Some(script.to_owned()),
                });
            }
        }
        Ok(())
    }

    /// Keeps the latest row per version.
    fn replace(&mut self, entry: ForeignApplied) {
        self.applied.retain(|a| a.version != entry.version);
        self.applied.push(entry);
    }
}

fn versioned(
    version: &str,
    description: &str,
    checksum: Option<ForeignChecksum>,
) -> ForeignApplied {
    ForeignApplied {
        version: version.trim().to_owned(),
        description: description.to_owned(),
        checksum,
        success: true,
        kind: AppliedKind::Versioned,
        script: None,
    }
}

/// A migration file as the folder has it.
#[derive(Clone, Copy, Debug)]
pub struct FileRef<'a> {
    /// `None` for a repeatable migration.
    pub version: Option<&'a Version>,
    pub description: &'a str,
    /// The file's name (or path below the folder), as reported.
    pub script: &'a str,
    pub content: &'a [u8],
}

/// A tool's history compared with the folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForeignStatus {
    pub tool: Tool,
    /// Migrations the history records as applied successfully, files or not (an Alembic head, a
    /// Flyway baseline and golang-migrate's applied files each count once).
    pub applied: usize,
    /// Scripts not applied yet, and Flyway repeatables whose checksum changed (Flyway runs them
    /// again). Always empty for Alembic and Liquibase, whose histories cannot be matched to files
    /// here: see `checksums_verified`.
    pub pending: Vec<String>,
    /// Applied scripts whose file no longer has the checksum the tool recorded.
    pub changed: Vec<ChangedChecksum>,
    /// Versions the history has and the folder does not.
    pub unknown: Vec<String>,
    /// Scripts (or versions, without a file) recorded as failed or left dirty.
    pub failed: Vec<String>,
    pub dirty: bool,
    /// True only when every applied file's checksum was recomputed and compared. False for tools
    /// that record none or one that cannot be recomputed, and for Alembic and Liquibase, where
    /// not even the pending list is known (Alembic keeps only its current head; Liquibase's
    /// changesets live inside changelog files).
    pub checksums_verified: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangedChecksum {
    pub script: String,
    pub recorded: String,
    pub current: String,
}

/// Compares a tool's history with the migration files of its folder. Versions match as numbers
/// when both sides parse (Flyway's "1.1" is file `V1_1__…`; sqlx's 20240101120000 is
/// `20240101120000_…`); names that are not numbers (Prisma's folder names, Django's
/// `0001_initial`) match the file's name without its extension. Down scripts are never pending.
pub fn compare(history: &ForeignHistory, files: &[FileRef]) -> ForeignStatus {
    let tool = history.tool;
    let files: Vec<&FileRef> = files.iter().filter(|f| !is_down_script(f.script)).collect();
    let mut status = ForeignStatus {
        tool,
        applied: history.applied.iter().filter(|a| a.success).count(),
        pending: Vec::new(),
        changed: Vec::new(),
        unknown: Vec::new(),
        failed: Vec::new(),
        dirty: history.dirty,
        checksums_verified: false,
    };
    match tool {
        Tool::Alembic | Tool::Liquibase => {
            status.failed =
                history.applied.iter().filter(|a| !a.success).map(|a| a.version.clone()).collect();
            status
        }
        Tool::GolangMigrate => compare_current(history, &files, status),
        _ => compare_rows(history, &files, status),
    }
}

/// golang-migrate keeps one row, the current version: every file up to it is applied.
fn compare_current(
    history: &ForeignHistory,
    files: &[&FileRef],
    mut status: ForeignStatus,
) -> ForeignStatus {
    let current = history.applied.first();
    let current_version = current.and_then(|c| parse_version(&c.version));
    let mut found = false;
    let mut applied = 0;
    for file in files {
        let Some(version) = file.version else { continue };
        match &current_version {
            Some(current_version) if version <= current_version => {
                let is_current = version == current_version;
                found |= is_current;
                if is_current && current.is_some_and(|c| !c.success) {
                    status.failed.push(file.script.to_owned());
                } else {
                    applied += 1;
                }
            }
            _ => status.pending.push(file.script.to_owned()),
        }
    }
    if let Some(current) = current {
        if !found {
            status.unknown.push(current.version.clone());
            if !current.success {
                status.failed.push(current.version.clone());
            }
        }
        status.applied = applied + usize::from(!found && current.success);
    }
    status
}

fn compare_rows(
    history: &ForeignHistory,
    files: &[&FileRef],
    mut status: ForeignStatus,
) -> ForeignStatus {
    let tool = history.tool;
    let entries = relevant_entries(history, files);
    let baseline = entries
        .iter()
        .filter(|a| a.kind == AppliedKind::Baseline && a.success)
        .filter_map(|a| parse_version(&a.version))
        .max();
    let mut matched = vec![false; entries.len()];
    let mut verified = tool.can_verify_checksums();
    for file in files {
        let found =
            entries.iter().position(|a| a.kind != AppliedKind::Baseline && matches(a, file));
        let Some(index) = found else {
            let below_baseline = match (&baseline, file.version) {
                (Some(baseline), Some(version)) => version <= baseline,
                _ => false,
            };
            if !below_baseline {
                status.pending.push(file.script.to_owned());
            }
            continue;
        };
        matched[index] = true;
        let entry = entries[index];
        if !entry.success {
            status.failed.push(file.script.to_owned());
            continue;
        }
        if !tool.can_verify_checksums() {
            continue;
        }
        let Some(recorded) = &entry.checksum else {
            // Flyway records no checksum for Java migrations: nothing to compare.
            verified = false;
            continue;
        };
        let Some(current) = current_checksum(recorded, entry, file) else {
            verified = false;
            continue;
        };
        if &current != recorded {
            if entry.kind == AppliedKind::Repeatable {
                // Flyway applies a changed repeatable migration again: it is pending, not drift.
                status.pending.push(file.script.to_owned());
            } else {
                status.changed.push(ChangedChecksum {
                    script: file.script.to_owned(),
                    recorded: recorded.display(),
                    current: current.display(),
                });
            }
        }
    }
    for (entry, matched) in entries.iter().zip(matched) {
        if matched || entry.kind == AppliedKind::Baseline {
            continue;
        }
        let name = if entry.version.is_empty() { &entry.description } else { &entry.version };
        status.unknown.push(name.clone());
        if !entry.success {
            status.failed.push(name.clone());
        }
    }
    status.applied = entries.iter().filter(|a| a.success).count();
    status.checksums_verified = verified;
    status
}

/// The history rows this folder can be held against. For Django, whose table mixes every app's
/// migrations, that is the app whose rows match the most files, unless the caller narrowed the
/// history with [`ForeignHistory::for_django_app`].
fn relevant_entries<'h>(
    history: &'h ForeignHistory,
    files: &[&FileRef],
) -> Vec<&'h ForeignApplied> {
    let all: Vec<&ForeignApplied> = history.applied.iter().collect();
    if history.tool != Tool::Django {
        return all;
    }
    let mut apps: Vec<&str> = all.iter().map(|a| a.description.as_str()).collect();
    apps.sort_unstable();
    apps.dedup();
    if apps.len() <= 1 {
        return all;
    }
    let score = |app: &str| {
        let rows = all.iter().filter(|a| a.description == app);
        let hits = rows.clone().filter(|a| files.iter().any(|f| matches(a, f))).count();
        // Ties go to the app with fewer rows left unmatched.
        (hits, std::cmp::Reverse(rows.count() - hits))
    };
    let best = apps.into_iter().max_by_key(|app| score(app)).unwrap_or_default();
    all.into_iter().filter(|a| a.description == best).collect()
}

/// Whether history entry `a` records file `f`.
fn matches(a: &ForeignApplied, f: &FileRef) -> bool {
    if a.kind == AppliedKind::Repeatable {
        // Flyway stores a repeatable's file name and its description with spaces for underscores.
        return f.version.is_none()
            && (a.script.as_deref().is_some_and(|s| file_name(s) == file_name(f.script))
                || normalize(&a.description) == normalize(f.description));
    }
    match (parse_version(&a.version), f.version) {
        (Some(recorded), Some(version)) => &recorded == version,
        // Prisma's folder names and Django's migration names are no numbers on either side.
        _ => a.version == stem(f.script),
    }
}

/// The file's checksum in the recorded checksum's form; `None` when it cannot be computed.
fn current_checksum(
    recorded: &ForeignChecksum,
    entry: &ForeignApplied,
    file: &FileRef,
) -> Option<ForeignChecksum> {
    match recorded {
        ForeignChecksum::Flyway(_) => Some(ForeignChecksum::Flyway(flyway_checksum(file.content))),
        ForeignChecksum::Sqlx(_) => Some(ForeignChecksum::Sqlx(sqlx_checksum(file.content))),
        ForeignChecksum::Refinery(_) => {
            // refinery hashes the name from the file name (underscores kept), the version as an
            // i32 and the SQL as text.
            let version: i32 = entry.version.parse().ok()?;
            let sql = std::str::from_utf8(file.content).ok()?;
            let name = refinery_name(file.script)?;
            Some(ForeignChecksum::Refinery(refinery_checksum(name, version, sql)))
        }
        ForeignChecksum::Liquibase(_) => None,
        ForeignChecksum::Prisma(recorded) => {
            // As prisma-engines' `script_matches_checksum`: the file as it is, with CRLF turned
            // into LF, or LF into CRLF; and the legacy rendering without zero padding, which
            // old Prisma versions wrote (any checksum not 64 characters long).
            let render = |bytes: &[u8]| {
                let digest = sha2::Sha256::digest(bytes);
                if recorded.len() == 64 {
                    hex(&digest)
                } else {
                    digest.iter().map(|b| format!("{b:x}")).collect()
                }
            };
            let text = String::from_utf8_lossy(file.content);
            let unix = text.replace("\r\n", "\n");
            let windows = unix.replace('\n', "\r\n");
            let as_is = render(file.content);
            let found = [unix.as_bytes(), windows.as_bytes()]
                .into_iter()
                .map(render)
                .find(|c| c == recorded);
            Some(ForeignChecksum::Prisma(found.unwrap_or(as_is)))
        }
    }
}

/// A version as the tools write it: "1.1", "1_1", "20240101120000".
fn parse_version(text: &str) -> Option<Version> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Version::parse(text)
        .or_else(|| Version::parse(&text.replace('.', "_")))
        .or_else(|| Version::parse(&text.replace('_', ".")))
}

fn is_down_script(script: &str) -> bool {
    let name = file_name(script);
    name.ends_with(".down.sql") || name.ends_with(".down.rb")
}

/// The last path component.
fn file_name(script: &str) -> &str {
    script.rsplit(['/', '\\']).next().unwrap_or(script)
}

/// The name a tool records for a file: without directories and extensions, or the folder name for
/// Prisma's `NAME/migration.sql`.
fn stem(script: &str) -> &str {
    let mut name = file_name(script);
    if name == "migration.sql" {
        let parent = script.rsplit(['/', '\\']).nth(1);
        if let Some(parent) = parent {
            return parent;
        }
    }
    for ext in [".up.sql", ".sql", ".py", ".rb", ".go", ".rs"] {
        if let Some(stripped) = name.strip_suffix(ext) {
            name = stripped;
            break;
        }
    }
    name
}

/// refinery's migration name: what follows `__` in `V1__name.sql`.
fn refinery_name(script: &str) -> Option<&str> {
    let name = file_name(script);
    let (_, rest) = name.split_once("__")?;
    Some(rest.strip_suffix(".sql").or_else(|| rest.strip_suffix(".rs")).unwrap_or(rest))
}

fn normalize(description: &str) -> String {
    description.replace('_', " ").trim().to_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex text, with or without PostgreSQL's `\x` prefix.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let text = text.strip_prefix("\\x").unwrap_or(text);
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn texts(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn rows(rows: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
        rows.iter().map(|r| r.iter().map(|c| c.map(str::to_owned)).collect()).collect()
    }

    /// One migration file of a fixture folder, owned so that [`FileRef`]s can borrow it.
    struct File {
        version: Option<Version>,
        description: String,
        script: String,
        content: Vec<u8>,
    }

    impl File {
        fn as_ref(&self) -> FileRef<'_> {
            FileRef {
                version: self.version.as_ref(),
                description: &self.description,
                script: &self.script,
                content: &self.content,
            }
        }
    }

    /// The migration files of `tests/fixtures/foreign/<tool>/migrations`, versioned the way the
    /// tool names them (`V1_1__x.sql`, `R__x.sql`, `20240101120000_x.sql`, `NAME/migration.sql`).
    fn folder(tool: &str) -> Vec<File> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/foreign").join(tool);
        let root = root.join("migrations");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let script = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                let name = stem(&script).to_owned();
                if !(script.ends_with(".sql") || script.ends_with(".py")) || name == "__init__" {
                    continue;
                }
                let (version, description) = if let Some(rest) = name.strip_prefix("R__") {
                    (None, rest.to_owned())
                } else if let Some((v, d)) = name.strip_prefix('V').and_then(|n| n.split_once("__"))
                {
                    (parse_version(v), d.to_owned())
                } else {
                    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
                    let description = name[digits.len()..].trim_start_matches('_').to_owned();
                    (parse_version(&digits), description)
                };
                let content = std::fs::read(&path).unwrap();
                files.push(File { version, description, script, content });
            }
        }
        files.sort_by(|a, b| a.script.cmp(&b.script));
        files
    }

    fn compare_folder(history: &ForeignHistory, tool: &str) -> ForeignStatus {
        let files = folder(tool);
        let refs: Vec<FileRef> = files.iter().map(File::as_ref).collect();
        compare(history, &refs)
    }

    fn status(tool: Tool, applied: usize) -> ForeignStatus {
        ForeignStatus {
            tool,
            applied,
            pending: Vec::new(),
            changed: Vec::new(),
            unknown: Vec::new(),
            failed: Vec::new(),
            dirty: false,
            checksums_verified: tool.can_verify_checksums(),
        }
    }

    // The rows each tool's SELECT returns from tests/fixtures/foreign/<tool>.{postgres,mysql}.sql,
    // duplicated here; `fixture_checksums_are_the_ones_in_the_sql_files` keeps the two in step.
    const FLYWAY_V1: &str = "600337741";
    const FLYWAY_V1_1: &str = "1955548143";
    const FLYWAY_R_VIEW: &str = "1666975027";
    const SQLX_1: &str = "d31d7cc10bc1831608d193b5bc3085025b8e8fe0f080d7d817680a66bac2b6e074a257ab9a3d0c8db206b782ecffcfba";
    const SQLX_2: &str = "bcf1fe3138f34b59c13cfe5965b6c43f7b628ea1b55505f6f39ec144ab723f0c457c6a69a7eb76f83e0e2f098972f51b";
    const REFINERY_1: &str = "8365088458435486553";
    const REFINERY_2: &str = "3153836060219833623";

    fn fixture_rows(tool: Tool) -> Vec<Vec<Option<String>>> {
        let one = "1";
        match tool {
            Tool::Flyway => rows(&[
                &[
                    Some("1"),
                    Some("1"),
                    Some("create users"),
                    Some("SQL"),
                    Some("V1__create_users.sql"),
                    Some(FLYWAY_V1),
                    Some(one),
                ],
                &[
                    Some("2"),
                    Some("1.1"),
                    Some("add email index"),
                    Some("SQL"),
                    Some("V1_1__add_email_index.sql"),
                    Some(FLYWAY_V1_1),
                    Some(one),
                ],
                &[
                    Some("3"),
                    None,
                    Some("user view"),
                    Some("SQL"),
                    Some("R__user_view.sql"),
                    Some(FLYWAY_R_VIEW),
                    Some(one),
                ],
            ]),
            Tool::Sqlx => rows(&[
                &[Some("20240101120000"), Some("create users"), Some(one), Some(SQLX_1)],
                // PostgreSQL's text form of a bytea carries a \x prefix.
                &[
                    Some("20240102090000"),
                    Some("add email index"),
                    Some(one),
                    Some(&format!("\\x{SQLX_2}")),
                ],
            ]),
            Tool::Refinery => rows(&[
                &[Some("1"), Some("create_users"), Some(REFINERY_1)],
                &[Some("2"), Some("add_email_index"), Some(REFINERY_2)],
            ]),
            Tool::Dbmate => rows(&[&[Some("20240101120000")], &[Some("20240102090000")]]),
            Tool::GolangMigrate => rows(&[&[Some("2"), Some("0")]]),
            Tool::Goose => {
                rows(&[&[Some("0"), Some(one)], &[Some("1"), Some(one)], &[Some("2"), Some(one)]])
            }
            Tool::Alembic => rows(&[&[Some("9f8e7d6c5b4a")]]),
            Tool::Django => rows(&[
                &[Some("contenttypes"), Some("0001_initial")],
                &[Some("auth"), Some("0001_initial")],
                &[Some("contenttypes"), Some("0002_remove_content_type_name")],
                &[Some("shop"), Some("0001_initial")],
                &[Some("shop"), Some("0002_add_email_index")],
                &[Some("sessions"), Some("0001_initial")],
            ]),
            Tool::Prisma => rows(&[
                &[
                    Some("20240101120000_init"),
                    Some("a9ffaebad1156d26f65deb496ea48151744e2a026c6726b589eab24104e8c895"),
                    Some(one),
                    Some("0"),
                ],
                &[
                    Some("20240102090000_add_email_index"),
                    Some("a44f172e3ff839573c7963f0204282661a770d620bae01c5051eecd9b033e9c5"),
                    Some(one),
                    Some("0"),
                ],
            ]),
            Tool::Liquibase => rows(&[
                &[
                    Some("create-users"),
                    Some("alice"),
                    Some("changelog.sql"),
                    Some("EXECUTED"),
                    Some("9:5b4f0c1e6fb8bd0f4cf5d3d0c1b2a3e4"),
                ],
                &[
                    Some("add-email-index"),
                    Some("alice"),
                    Some("changelog.sql"),
                    Some("EXECUTED"),
                    Some("9:0d6a3e8f1c2b4a5968e7d6c5b4a39281"),
                ],
            ]),
        }
    }

    fn fixture_dir(tool: Tool) -> &'static str {
        match tool {
            Tool::Dbmate => "dbmate",
            _ => tool.name(),
        }
    }

    #[test]
    fn fixture_checksums_are_the_ones_in_the_sql_files() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/foreign");
        for (tool, values) in [
            ("flyway", &[FLYWAY_V1, FLYWAY_V1_1, FLYWAY_R_VIEW][..]),
            ("sqlx", &[SQLX_1, SQLX_2][..]),
            ("refinery", &[REFINERY_1, REFINERY_2][..]),
        ] {
            for dialect in ["postgres", "mysql"] {
                let sql = std::fs::read_to_string(fixtures.join(format!("{tool}.{dialect}.sql")))
                    .unwrap();
                for value in values {
                    assert!(sql.contains(value), "{tool}.{dialect}.sql lacks {value}");
                }
            }
        }
    }

    #[test]
    fn every_fixture_history_matches_its_folder() {
        for tool in Tool::ALL {
            let history = tool.parse_rows(fixture_rows(tool)).unwrap();
            let got = compare_folder(&history, fixture_dir(tool));
            let want = match tool {
                Tool::Flyway => status(tool, 3),
                Tool::Sqlx | Tool::Refinery | Tool::Dbmate | Tool::Goose | Tool::Prisma => {
                    status(tool, 2)
                }
                // Django's own apps are another app's history, not unknown versions.
                Tool::Django => status(tool, 2),
                Tool::GolangMigrate => ForeignStatus {
                    pending: vec!["000003_add_country.up.sql".into()],
                    ..status(tool, 2)
                },
                // Alembic keeps its head only; Liquibase's changesets live inside the changelog.
                Tool::Alembic => status(tool, 1),
                Tool::Liquibase => status(tool, 2),
            };
            assert_eq!(got, want, "{}", tool.name());
        }
    }

    #[test]
    fn a_changed_file_is_reported_with_both_checksums_in_the_tools_form() {
        for (tool, script) in [
            (Tool::Flyway, "V1__create_users.sql"),
            (Tool::Sqlx, "20240101120000_create_users.sql"),
            (Tool::Refinery, "V1__create_users.sql"),
        ] {
            let history = tool.parse_rows(fixture_rows(tool)).unwrap();
            let mut files = folder(tool.name());
            let edited = files.iter().position(|f| f.script == script).unwrap();
            files[edited].content.extend_from_slice(b"-- edited after it was applied\n");
            let refs: Vec<FileRef> = files.iter().map(File::as_ref).collect();
            let got = compare(&history, &refs);
            let content = &files[edited].content;
            let current = match tool {
                Tool::Flyway => flyway_checksum(content).to_string(),
                Tool::Sqlx => hex(&sqlx_checksum(content)),
                _ => refinery_checksum("create_users", 1, std::str::from_utf8(content).unwrap())
                    .to_string(),
            };
            let recorded = match tool {
                Tool::Flyway => FLYWAY_V1,
                Tool::Sqlx => SQLX_1,
                _ => REFINERY_1,
            };
            let changed =
                ChangedChecksum { script: script.into(), recorded: recorded.into(), current };
            assert_eq!(got.changed, vec![changed], "{}", tool.name());
            assert!(got.pending.is_empty() && got.checksums_verified, "{}", tool.name());
        }
    }

    #[test]
    fn flyway_runs_a_changed_repeatable_again_so_it_is_pending_not_changed() {
        let history = Tool::Flyway.parse_rows(fixture_rows(Tool::Flyway)).unwrap();
        let mut files = folder("flyway");
        let view = files.iter_mut().find(|f| f.script == "R__user_view.sql").unwrap();
        view.content = b"CREATE OR REPLACE VIEW user_emails AS SELECT email FROM users;\n".to_vec();
        let refs: Vec<FileRef> = files.iter().map(File::as_ref).collect();
        let got = compare(&history, &refs);
        assert_eq!(got.pending, vec!["R__user_view.sql".to_owned()]);
        assert!(got.changed.is_empty());
    }

    #[test]
    fn flyway_skips_its_schema_marker_honours_a_baseline_and_reports_failures() {
        let rows = rows(&[
            &[
                Some("1"),
                Some("0"),
                Some("<< Flyway Schema Creation >>"),
                Some("SCHEMA"),
                Some("\"app\""),
                None,
                Some("1"),
            ],
            &[
                Some("2"),
                Some("1"),
                Some("<< Flyway Baseline >>"),
                Some("BASELINE"),
                Some("<< Flyway Baseline >>"),
                None,
                Some("1"),
            ],
            &[
                Some("3"),
                Some("1.1"),
                Some("add email index"),
                Some("SQL"),
                Some("V1_1__add_email_index.sql"),
                Some(FLYWAY_V1_1),
                Some("0"),
            ],
            &[
                Some("4"),
                Some("7"),
                Some("gone"),
                Some("JDBC"),
                Some("db.migration.V7__gone"),
                None,
                Some("1"),
            ],
        ]);
        let history = Tool::Flyway.parse_rows(rows).unwrap();
        assert!(history.dirty);
        let got = compare_folder(&history, "flyway");
        let want = ForeignStatus {
            // V1 is below the baseline, so neither pending nor unknown; the view never ran.
            pending: vec!["R__user_view.sql".into()],
            unknown: vec!["7".into()],
            failed: vec!["V1_1__add_email_index.sql".into()],
            dirty: true,
            // The baseline and V7 count; the failed V1.1 does not.
            ..status(Tool::Flyway, 2)
        };
        assert_eq!(got, want);
    }

    #[test]
    fn goose_takes_the_latest_row_of_each_version_and_skips_version_zero() {
        let rows = rows(&[
            &[Some("0"), Some("1")],
            &[Some("1"), Some("1")],
            &[Some("2"), Some("1")],
            &[Some("2"), Some("0")],
        ]);
        let history = Tool::Goose.parse_rows(rows).unwrap();
        assert_eq!(history.applied.iter().map(|a| a.version.as_str()).collect::<Vec<_>>(), ["1"]);
        let got = compare_folder(&history, "goose");
        let want = ForeignStatus {
            pending: vec!["00002_add_email_index.sql".into()],
            ..status(Tool::Goose, 1)
        };
        assert_eq!(got, want);
    }

    /// SHA-256 of the fixture's `migration.sql` files, as in prisma.{postgres,mysql}.sql.
    const PRISMA_INIT: &str = "a9ffaebad1156d26f65deb496ea48151744e2a026c6726b589eab24104e8c895";
    const PRISMA_INDEX: &str = "a44f172e3ff839573c7963f0204282661a770d620bae01c5051eecd9b033e9c5";

    #[test]
    fn prisma_checksums_are_verified_and_crlf_is_no_change() {
        let history = Tool::Prisma
            .parse_rows(rows(&[&[
                Some("20240101120000_init"),
                Some(PRISMA_INIT),
                Some("1"),
                Some("0"),
            ]]))
            .unwrap();
        let content = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/foreign/prisma/migrations/20240101120000_init/migration.sql"),
        )
        .unwrap();
        let crlf = content.replace('\n', "\r\n");
        let edited = format!("{content}-- edited\n");
        for (text, changed) in
            [(content.as_str(), false), (crlf.as_str(), false), (edited.as_str(), true)]
        {
            let file = FileRef {
                version: None,
                description: "init",
                script: "20240101120000_init/migration.sql",
                content: text.as_bytes(),
            };
            let got = compare(&history, &[file]);
            assert_eq!(!got.changed.is_empty(), changed, "{got:?}");
            assert!(got.checksums_verified);
        }
    }

    #[test]
    fn prisma_rolled_back_is_pending_and_unfinished_is_failed() {
        let rows = rows(&[
            &[Some("20240101120000_init"), Some(PRISMA_INIT), Some("1"), Some("0")],
            &[Some("20240102090000_add_email_index"), Some(PRISMA_INDEX), Some("0"), Some("1")],
        ]);
        let history = Tool::Prisma.parse_rows(rows.clone()).unwrap();
        assert!(!history.dirty);
        let got = compare_folder(&history, "prisma");
        let pending = vec!["20240102090000_add_email_index/migration.sql".to_owned()];
        assert_eq!(got, ForeignStatus { pending, ..status(Tool::Prisma, 1) });

        let mut rows = rows;
        rows[1][3] = Some("0".into());
        let history = Tool::Prisma.parse_rows(rows).unwrap();
        let got = compare_folder(&history, "prisma");
        let failed = vec!["20240102090000_add_email_index/migration.sql".to_owned()];
        assert_eq!(got, ForeignStatus { failed, dirty: true, ..status(Tool::Prisma, 1) });
    }

    #[test]
    fn golang_migrate_dirty_version_is_failed_and_later_files_pending() {
        let history = Tool::GolangMigrate.parse_rows(rows(&[&[Some("2"), Some("1")]])).unwrap();
        let got = compare_folder(&history, "golang-migrate");
        let want = ForeignStatus {
            pending: vec!["000003_add_country.up.sql".into()],
            failed: vec!["000002_add_email_index.up.sql".into()],
            dirty: true,
            ..status(Tool::GolangMigrate, 1)
        };
        assert_eq!(got, want);

        let history = Tool::GolangMigrate.parse_rows(rows(&[&[Some("9"), Some("0")]])).unwrap();
        let got = compare_folder(&history, "golang-migrate");
        assert_eq!((got.applied, got.unknown, got.pending.len()), (4, vec!["9".to_owned()], 0));
    }

    #[test]
    fn django_compares_the_folders_app_only() {
        let history = Tool::Django.parse_rows(fixture_rows(Tool::Django)).unwrap();
        let narrowed = history.clone().for_django_app("auth");
        assert_eq!(narrowed.applied.len(), 1);
        let got = compare_folder(&narrowed, "django");
        let want = ForeignStatus {
            pending: vec!["0002_add_email_index.py".into()],
            ..status(Tool::Django, 1)
        };
        assert_eq!(got, want);
    }

    #[test]
    fn django_keeps_every_app_when_the_folders_app_has_no_rows() {
        // The fixture's folder is `django/migrations`, its rows are app `shop`'s.
        let history = Tool::Django.parse_rows(fixture_rows(Tool::Django)).unwrap();
        let kept = history.clone().for_django_app("django");
        assert_eq!(kept, history);
        assert_eq!(compare_folder(&kept, "django"), status(Tool::Django, 2));
    }

    #[test]
    fn prisma_and_django_folders_are_read_as_those_tools_lay_them_out() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/foreign");
        for tool in [Tool::Prisma, Tool::Django] {
            let files = tool.read_folder(&root.join(tool.name()).join("migrations")).unwrap();
            let files = files.unwrap();
            let scripts: Vec<&str> = files.iter().map(|f| f.script.as_str()).collect();
            let want = match tool {
                Tool::Prisma => [
                    "20240101120000_init/migration.sql",
                    "20240102090000_add_email_index/migration.sql",
                ],
                _ => ["0001_initial.py", "0002_add_email_index.py"],
            };
            assert_eq!(scripts, want, "{}", tool.name());
            let history = tool.parse_rows(fixture_rows(tool)).unwrap();
            let refs: Vec<FileRef> = files.iter().map(ToolFile::as_file_ref).collect();
            assert_eq!(compare(&history, &refs), status(tool, 2), "{}", tool.name());
        }
        assert!(Tool::Flyway.read_folder(&root.join("flyway/migrations")).is_none());
    }

    #[test]
    fn liquibase_reports_failed_changesets_and_never_compares() {
        let mut rows = fixture_rows(Tool::Liquibase);
        rows[1][3] = Some("FAILED".into());
        let history = Tool::Liquibase.parse_rows(rows).unwrap();
        assert_eq!(history.applied[0].description, "changelog.sql::create-users::alice");
        assert_eq!(
            history.applied[0].checksum,
            Some(ForeignChecksum::Liquibase("9:5b4f0c1e6fb8bd0f4cf5d3d0c1b2a3e4".into()))
        );
        let got = compare_folder(&history, "liquibase");
        let want = ForeignStatus {
            failed: vec!["add-email-index".into()],
            dirty: true,
            ..status(Tool::Liquibase, 1)
        };
        assert_eq!(got, want);
    }

    #[test]
    fn identify_names_the_tool_from_table_and_columns() {
        let cases: &[(&str, &[&str], Option<Tool>)] = &[
            ("schema_migrations", &["version"], Some(Tool::Dbmate)),
            ("schema_migrations", &["version", "dump"], Some(Tool::Dbmate)),
            ("schema_migrations", &["version", "dirty"], Some(Tool::GolangMigrate)),
            ("public.schema_migrations", &["VERSION", "DIRTY"], Some(Tool::GolangMigrate)),
            ("schema_migrations", &["id", "name"], None),
            (
                "DATABASECHANGELOG",
                &[
                    "ID",
                    "AUTHOR",
                    "FILENAME",
                    "DATEEXECUTED",
                    "ORDEREXECUTED",
                    "EXECTYPE",
                    "MD5SUM",
                ],
                Some(Tool::Liquibase),
            ),
            (
                "flyway_schema_history",
                &[
                    "installed_rank",
                    "version",
                    "description",
                    "type",
                    "script",
                    "checksum",
                    "installed_by",
                    "installed_on",
                    "execution_time",
                    "success",
                ],
                Some(Tool::Flyway),
            ),
            (
                "_sqlx_migrations",
                &[
                    "version",
                    "description",
                    "installed_on",
                    "success",
                    "checksum",
                    "execution_time",
                ],
                Some(Tool::Sqlx),
            ),
            (
                "refinery_schema_history",
                &["version", "name", "applied_on", "checksum"],
                Some(Tool::Refinery),
            ),
            ("goose_db_version", &["id", "version_id", "is_applied", "tstamp"], Some(Tool::Goose)),
            ("alembic_version", &["version_num"], Some(Tool::Alembic)),
            ("django_migrations", &["id", "app", "name", "applied"], Some(Tool::Django)),
            (
                "_prisma_migrations",
                &[
                    "id",
                    "checksum",
                    "finished_at",
                    "migration_name",
                    "logs",
                    "rolled_back_at",
                    "started_at",
                    "applied_steps_count",
                ],
                Some(Tool::Prisma),
            ),
            ("users", &["id", "version"], None),
        ];
        for (table, columns, want) in cases {
            assert_eq!(identify(table, &texts(columns)), *want, "{table} {columns:?}");
        }
    }

    #[test]
    fn selects_name_the_table_as_each_dialect_spells_it() {
        for tool in Tool::ALL {
            let pg = tool.select(SqlDialect::Postgres);
            assert!(pg.contains(&format!("FROM {}", tool.table())), "{pg}");
        }
        assert!(Tool::Liquibase.select(SqlDialect::Mysql).contains("FROM DATABASECHANGELOG"));
        assert!(Tool::Sqlx.select(SqlDialect::Mysql).contains("LOWER(HEX(checksum))"));
        assert!(
            Tool::Flyway.select(SqlDialect::Postgres).starts_with("SELECT installed_rank::text,")
        );
    }

    #[test]
    fn unreadable_rows_name_the_table_row_and_column() {
        let err = Tool::Refinery.parse_rows(rows(&[&[Some("1"), Some("x")]])).unwrap_err();
        assert_eq!(err.to_string(), "unreadable row 1 of refinery_schema_history");
        assert_eq!(err.kind, ForeignErrorKind::Columns { expected: 3, found: 2 });

        let err = Tool::Flyway
            .parse_rows(rows(&[&[
                Some("1"),
                Some("1"),
                Some("d"),
                Some("SQL"),
                Some("V1__d.sql"),
                Some("x1"),
                Some("1"),
            ]]))
            .unwrap_err();
        assert_eq!(err.kind.to_string(), "column 6 holds \"x1\", not an i32 checksum");

        let err = Tool::Sqlx
            .parse_rows(rows(&[&[Some("1"), Some("d"), Some("1"), Some("abc")]]))
            .unwrap_err();
        assert_eq!(err.kind.to_string(), "column 4 holds \"abc\", not hex");
    }
}
