//! The masked copy of one database: production rows from a [`SourceDb`], the subset's rows only,
//! each personal value replaced on the way, loaded through the same bulk path as synthetic rows.
//!
//! Before a row moves, the plan is checked: every rule names a column that exists and fits its
//! type; a rule on a key spreads to the columns that reference it (so joins line up); a unique
//! column must get a bijection; and every column that looks personal (by its name, and by a
//! sample of its values) must have a rule, or the run stops with the list (`unmasked: fail`).
//!
//! Rows stream from the source to the target a table per connection: the source's text lines
//! are split into fields, masked fields are unescaped, transformed and escaped again, the others
//! pass through as bytes. Two leak checks run on the way: no masked cell may equal its own
//! original (unless its rule keeps values by design), and no original value of a
//! high-cardinality personal column, of this database's source or of any other database source
//! of the run, may appear, whole or as a word, in any text cell that goes through without a rule
//! (or in the parts of a JSON document no path names). The cells the second check looks at are
//! held, each distinct cell once, until their table has gone by; then the sources, when all are
//! PostgreSQL, are asked which of their candidates (the cells and their words, a few thousand at
//! most, and a few lookups per copy) are originals, an exact answer from a scan each server does
//! alone. Past those bounds, and otherwise, the originals are read into a filter of bounded size
//! ([`super::leak`]), while the rows flow when the source reads tables side by side, and the
//! filter's suspects are confirmed against the originals, read again, before the table commits.
//! Either check stops the table's load before it commits and names the columns.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::sync::mpsc::Sender;

use super::binary::Codec;
use super::leak::{Originals, Suspects};
use super::load::{CHUNK_BYTES, CHUNKS_IN_FLIGHT, DataError, Fill, Outcome, Request, fill_table};
use super::mask::{ColumnShape, MaskKey, Masker, Rule, ValueKind, shape_of};
use super::maskfile::{MaskRule, Unmasked};
use super::pii::{self, PiiKind, Sampler};
use super::seedfile::SeedFile;
use super::source::SourceDb;
use super::subset::{DbSubset, Filter, SubsetDb, SubsetError};
use crate::engine::EngineError;
use crate::engine::bulk::{self, Format, push_field, unescape};
use crate::engine::session::{Restore, Session};
use crate::event::DbRef;
use crate::event::{Event, Events};
use crate::profile::{EngineKind, ProfileError, ProfileErrors, suggest};
use crate::schema::{Catalog, Column, Table};

/// Threads masking one table's rows.
const MASK_THREADS: usize = 2;
/// Rows sampled per table to find personal values in columns without a rule.
const SAMPLE_ROWS: u64 = 500;

/// What a masked copy needs besides the request: the open source, its subset, the key.
pub struct MaskedInput {
    pub source: Arc<SourceDb>,
    pub subset: Arc<DbSubset>,
    pub key: Arc<MaskKey>,
    /// Rules that come from another database's seed file through a relation (a key masked
    /// there is masked the same way here, so the join across services still matches).
    pub inherited: Rules,
    /// The run's other database sources with their personal columns: their originals must not
    /// appear here either (a notes column quoting another service's customer).
    pub foreign: Vec<(Arc<SourceDb>, Personal)>,
}

/// High-cardinality personal columns with a rule, by table: the originals the second leak check
/// looks for.
pub type Personal = Vec<(String, Vec<String>)>;

/// Masking rules by (table, column).
pub type Rules = BTreeMap<(String, String), MaskRule>;

/// The production sources of one run, opened and subset together on first use (a relation may
/// cross databases, so one database's subset depends on another's), then shared by every
/// database's copy. Their snapshots stay open until this is dropped. Opened once: a failure is
/// kept and given to every database that asks after it, never tried again.
pub struct MaskedSources {
    files: Vec<(DbRef, Arc<SeedFile>)>,
    /// False for `mask --check`, which reads no rows beyond samples.
    subsets: bool,
    cell: tokio::sync::OnceCell<Result<Inputs, Arc<DataError>>>,
}

/// Each database's source, subset and key.
type Inputs = BTreeMap<DbRef, Arc<MaskedInput>>;

impl MaskedSources {
    /// The sources of those `files` that copy one.
    pub fn new(files: impl IntoIterator<Item = (DbRef, Arc<SeedFile>)>) -> MaskedSources {
        let files = files.into_iter().filter(|(_, f)| f.masked.source.is_some()).collect();
        MaskedSources { files, subsets: true, cell: tokio::sync::OnceCell::new() }
    }

    /// Sources for checking a plan only: the subsets are not worked out.
    pub fn for_check(files: impl IntoIterator<Item = (DbRef, Arc<SeedFile>)>) -> MaskedSources {
        MaskedSources { subsets: false, ..MaskedSources::new(files) }
    }

    /// The databases that copy a source.
    pub fn databases(&self) -> impl Iterator<Item = &(DbRef, Arc<SeedFile>)> {
        self.files.iter()
    }

    /// `db`'s source, subset and key (opening every source of the run the first time).
    pub async fn input(&self, db: &DbRef) -> Result<Option<Arc<MaskedInput>>, DataError> {
        let inputs = self.opened().await?;
        Ok(inputs.get(db).cloned())
    }

    /// Opens every source and plans the subsets now, for a command that knows it will copy
    /// them: the work overlaps with what comes before the first copy (the environment's lock,
    /// containers starting, the targets read), and so do the sessions of each source's parallel
    /// reads. Only reads the sources.
    pub async fn open(&self) -> Result<(), DataError> {
        if self.files.is_empty() {
            return Ok(());
        }
        let inputs = self.opened().await?;
        let readers = inputs.values().filter(|i| i.source.parallel()).map(|input| {
            input.source.open_readers(super::load::streams().min(input.source.tables().len()))
        });
        futures_util::future::join_all(readers).await;
        Ok(())
    }

    async fn opened(&self) -> Result<&Inputs, DataError> {
        let opened = self
            .cell
            .get_or_init(|| async { prepare(&self.files, self.subsets).await.map_err(Arc::new) })
            .await;
        opened.as_ref().map_err(|e| DataError::Shared(e.clone()))
    }
}

/// Opens every source (in parallel), reads each key, and plans the subsets together.
async fn prepare(files: &[(DbRef, Arc<SeedFile>)], subsets: bool) -> Result<Inputs, DataError> {
    let opened = futures_util::future::join_all(files.iter().map(|(db, file)| async move {
        let key = mask_key(db, file)?;
        let source = file.masked.source.as_ref().expect("only files with a source come here");
        if matches!(source, super::maskfile::Source::Csv(_)) && !file.masked.subset.is_whole() {
            return Err(DataError::Plan {
                db: db.clone(),
                file: file.path.display().to_string(),
                errors: ProfileErrors(vec![file.error(
                    "subset",
                    "a subset needs a database source; CSV exports are copied whole",
                )]),
            });
        }
        let source = SourceDb::open(source)
            .await
            .map_err(|source| DataError::Source { db: db.clone(), source })?;
        Ok((key, source))
    }))
    .await;
    let mut sources = Vec::new();
    for result in opened {
        sources.push(result?);
    }
    let empty = Catalog::default();
    let subset_dbs: Vec<SubsetDb<'_>> = files
        .iter()
        .zip(&sources)
        .map(|((db, file), (_, source))| SubsetDb {
            db: db.clone(),
            source,
            catalog: source.catalog().unwrap_or(&empty),
            file,
            tables: source.tables().into_iter().filter(|t| !file.tables.contains_key(t)).collect(),
        })
        .collect();
    let planned = if subsets {
        super::subset::plan(&subset_dbs).await
    } else {
        Ok(subset_dbs.iter().map(|_| DbSubset::default()).collect())
    };
    let subsets = planned.map_err(|e| match e {
        SubsetError::Plan { db, errors } => DataError::Plan {
            db: files[db].0.clone(),
            file: files[db].1.path.display().to_string(),
            errors: ProfileErrors(errors),
        },
        SubsetError::Read { db, table, source } => DataError::Source {
            db: files[db].0.clone(),
            source: EngineError::new(format!("failed to read {table} for the subset"))
                .with_source(source),
        },
    })?;
    let mut inherited = inherit_rules(&subset_dbs)?;
    drop(subset_dbs);
    let (keys, sources): (Vec<MaskKey>, Vec<Arc<SourceDb>>) =
        sources.into_iter().map(|(key, source)| (key, Arc::new(source))).unzip();
    let personal: Vec<Personal> = files
        .iter()
        .zip(&sources)
        .map(|((_, file), source)| source_personal(file, source))
        .collect();
    Ok(files
        .iter()
        .zip(keys)
        .zip(subsets)
        .enumerate()
        .map(|(d, (((db, _), key), subset))| {
            let foreign = sources
                .iter()
                .zip(&personal)
                .enumerate()
                .filter(|&(other, (_, columns))| other != d && !columns.is_empty())
                .map(|(_, (source, columns))| (source.clone(), columns.clone()))
                .collect();
            let input = MaskedInput {
                source: sources[d].clone(),
                subset: Arc::new(subset),
                key: Arc::new(key),
                inherited: std::mem::take(&mut inherited[d]),
                foreign,
            };
            (db.clone(), Arc::new(input))
        })
        .collect())
}

/// A source's personal columns as another database's copy looks for them: those its seed file
/// gives a rule that are high-cardinality personal, read from the source's own catalog. A CSV
/// export has no catalog of its own: its originals are looked for in its own copy only.
fn source_personal(file: &SeedFile, source: &SourceDb) -> Personal {
    let Some(catalog) = source.catalog() else { return Vec::new() };
    let copied: BTreeMap<String, Vec<String>> = catalog
        .tables
        .iter()
        .filter(|(name, _)| !file.tables.contains_key(*name))
        .map(|(name, t)| (name.clone(), t.columns.iter().map(|c| c.name.clone()).collect()))
        .collect();
    let rules = resolve_rules(file, catalog, &copied, &mut Vec::new());
    let mut personal: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((table, column), rule) in &rules {
        if let Some(t) = catalog.tables.get(table)
            && is_personal(table, column, rule, t)
        {
            personal.entry(table.clone()).or_default().push(column.clone());
        }
    }
    personal.into_iter().collect()
}

/// Whether the leak check looks for the originals of `table.column`, which has `rule`: a
/// high-cardinality personal column (by its name, or an email by its rule) whose rule changes
/// its text.
fn is_personal(table: &str, column: &str, rule: &MaskRule, t: &Table) -> bool {
    let kind = pii::by_column(table, column).or(match rule.rule {
        Rule::Email { .. } => Some(PiiKind::Email),
        _ => None,
    });
    kind.is_some_and(PiiKind::high_cardinality)
        && rule.rule != Rule::Keep
        && shape(t, column).is_some_and(|shape| textual(&shape))
}

/// Rules that cross databases along relations: a key column with a rule on one side and none on
/// the other gets the same rule there; two different rules on the two sides are an error (the
/// join could never match).
fn inherit_rules(dbs: &[SubsetDb<'_>]) -> Result<Vec<Rules>, DataError> {
    let mut inherited: Vec<Rules> = dbs.iter().map(|_| BTreeMap::new()).collect();
    for (d, db) in dbs.iter().enumerate() {
        for relation in &db.file.masked.subset.relations {
            let Some(t) = relation.database.as_deref().and_then(|n| super::subset::resolve(dbs, n))
            else {
                continue;
            };
            let other = dbs[t].file;
            for (column, ref_column) in relation.columns.iter().zip(&relation.ref_columns) {
                let here = db.file.masked.mask.get(&relation.table).and_then(|m| m.get(column));
                let there =
                    other.masked.mask.get(&relation.ref_table).and_then(|m| m.get(ref_column));
                match (here, there) {
                    (Some(a), Some(b)) if a.rule != b.rule => {
                        return Err(DataError::Plan {
                            db: db.db.clone(),
                            file: db.file.path.display().to_string(),
                            errors: ProfileErrors(vec![db.file.error(
                                &a.key,
                                format!(
                                    "{}.{column} references {}.{ref_column} in {} through a \
                                     relation, and their rules differ: the join would no longer match",
                                    relation.table, relation.ref_table, dbs[t].db
                                ),
                            )]),
                        });
                    }
                    (None, Some(rule)) => {
                        inherited[d].insert((relation.table.clone(), column.clone()), rule.clone());
                    }
                    (Some(rule), None) => {
                        let at = (relation.ref_table.clone(), ref_column.clone());
                        inherited[t].insert(at, rule.clone());
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(inherited)
}

/// The masking secret: `DBTWIN_MASK_KEY`, else the file `DBTWIN_MASK_KEY_FILE` or the seed
/// file's `key_file` names. There is no default: with a known key anyone could mask a list of
/// candidate values and match them against a copy.
pub fn mask_key(db: &DbRef, file: &SeedFile) -> Result<MaskKey, DataError> {
    if let Ok(secret) = std::env::var("DBTWIN_MASK_KEY")
        && !secret.is_empty()
    {
        return Ok(MaskKey::derive(secret.as_bytes()));
    }
    let path = std::env::var_os("DBTWIN_MASK_KEY_FILE")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| file.masked.key_file.clone());
    let Some(path) = path else {
        return Err(DataError::Key {
            db: db.clone(),
            message: "DBTWIN_MASK_KEY is not set".into(),
        });
    };
    let secret = std::fs::read(&path).map_err(|e| DataError::Key {
        db: db.clone(),
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let secret = secret.trim_ascii_end();
    if secret.is_empty() {
        return Err(DataError::Key {
            db: db.clone(),
            message: format!("{} is empty", path.display()),
        });
    }
    Ok(MaskKey::derive(secret))
}

/// A column that looks personal and has no rule.
#[derive(Clone, Debug, Serialize)]
pub struct Unruled {
    pub table: String,
    pub column: String,
    pub kind: &'static str,
    /// How it was found: `name` or `values`.
    pub by: &'static str,
    pub suggestion: &'static str,
}

impl std::fmt::Display for Unruled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}: looks like {} (by its {}); a rule such as `{}`",
            self.table, self.column, self.kind, self.by, self.suggestion
        )
    }
}

/// A column found leaking by the checks.
#[derive(Clone, Debug, Serialize)]
pub struct Leak {
    pub table: String,
    pub column: String,
    /// Cells equal to their own original.
    pub unchanged: u64,
    /// Cells holding an original personal value, whole or as a word.
    pub originals: u64,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}:", self.table, self.column)?;
        if self.unchanged > 0 {
            write!(f, " {} cells equal to their original", self.unchanged)?;
        }
        if self.originals > 0 {
            write!(f, " {} cells holding an original personal value", self.originals)?;
        }
        Ok(())
    }
}

/// One column's transformation, ready to run.
struct ColumnMask {
    masker: Masker,
    rule: Rule,
    /// The field whose original value keys the rule (`shift-date … by`).
    by: Option<usize>,
}

/// A table's copy, planned.
struct TablePlan {
    name: String,
    columns: Vec<String>,
    masks: Vec<Option<ColumnMask>>,
    /// Fields checked for original personal values.
    scanned: Vec<bool>,
    /// The subset's filter and the fields it reads.
    filter: Option<(Arc<Filter>, Vec<usize>)>,
    /// The subset's rows as a condition the source evaluates (fewer rows to read and send).
    pushed: Option<String>,
    estimate: u64,
    /// How the rows travel: binary between two PostgreSQL servers when the types allow
    /// ([`binary_format`]).
    format: Format,
    /// In the binary format, how each column's values read as text and back (`None` where no
    /// rule needs it).
    codecs: Vec<Option<Codec>>,
}

/// Everything the plan found wrong, at once.
pub struct Checked {
    tables: Vec<TablePlan>,
    /// Columns whose originals the second leak check looks for.
    personal: Vec<(String, Vec<String>)>,
    pub unruled: Vec<Unruled>,
    /// Tables of the target the source does not hold (left empty).
    pub absent: Vec<String>,
}

/// Plans and checks a copy without reading a row beyond the PII samples: `dbtwin mask --check`
/// and the start of every copy.
pub async fn check(
    db: &DbRef,
    file: &SeedFile,
    target_kind: EngineKind,
    catalog: &Catalog,
    input: &MaskedInput,
) -> Result<Checked, DataError> {
    let source = &input.source;
    let plan_error = |errors: Vec<ProfileError>| DataError::Plan {
        db: db.clone(),
        file: file.path.display().to_string(),
        errors: ProfileErrors(errors),
    };
    if let Some(kind) = source.kind() {
        let family = |k: EngineKind| if k == EngineKind::Mariadb { EngineKind::Mysql } else { k };
        if family(kind) != family(target_kind) {
            return Err(plan_error(vec![file.error(
                "source",
                format!(
                    "the source is {} and the database is {}: a copy goes between the same engine",
                    kind.as_str(),
                    target_kind.as_str()
                ),
            )]));
        }
    }
    let mut errors = Vec::new();
    let mut copied: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut absent = Vec::new();
    for (name, table) in &catalog.tables {
        if file.tables.contains_key(name) {
            continue;
        }
        let Some(source_columns) = source.columns(name) else {
            absent.push(name.clone());
            continue;
        };
        let mut columns = Vec::new();
        for column in &table.columns {
            let generated = column
                .generated
                .as_deref()
                .is_some_and(|g| g.starts_with("stored") || g.starts_with("virtual"));
            if generated {
                continue;
            }
            if source_columns.contains(&column.name) {
                columns.push(column.name.clone());
            } else if !column.nullable && column.default.is_none() {
                errors.push(file.error(
                    "source",
                    format!(
                        "{name}.{} is NOT NULL without a default, and the source has no such column",
                        column.name
                    ),
                ));
            }
        }
        copied.insert(name.clone(), columns);
    }

    // Rules: names exist, fit their columns.
    let mut rules = resolve_rules(file, catalog, &copied, &mut errors);
    for (at, rule) in &input.inherited {
        if copied.get(&at.0).is_some_and(|columns| columns.contains(&at.1)) {
            rules.entry(at.clone()).or_insert_with(|| rule.clone());
        }
    }
    if !errors.is_empty() {
        return Err(plan_error(errors));
    }

    // A unique column needs a bijection, or two rows could collide.
    for (name, table) in &catalog.tables {
        for (key_name, columns) in unique_keys(table) {
            for column in &columns {
                let Some(rule) = rules.get(&(name.clone(), column.clone())) else { continue };
                let Some(shape) = shape(table, column) else { continue };
                let nulls_only = rule.rule == Rule::SetNull && shape.nullable;
                if !rule.rule.is_bijection(&shape) && !nulls_only {
                    errors.push(
                        file.error(
                            &rule.key,
                            format!(
                                "{name}.{column} is unique ({key_name}) and `{}` is not a \
                                 bijection: two rows could get the same value",
                                rule.rule.name()
                            ),
                        )
                        .with_hint(
                            "give unique columns keep-format, email, or hash (integers, uuids): \
                             they map distinct values to distinct values",
                        ),
                    );
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(plan_error(errors));
    }

    // Personal columns without a rule: by name, then by their values.
    let mut unruled = Vec::new();
    let mut personal: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, columns) in &copied {
        let table = &catalog.tables[name];
        let mut sample: Vec<(usize, Sampler)> = Vec::new();
        for (at, column) in columns.iter().enumerate() {
            if shape(table, column).is_none() {
                continue;
            }
            let rule = rules.get(&(name.clone(), column.clone()));
            let by_name = pii::by_column(name, column);
            match (rule, by_name) {
                (Some(rule), _) => {
                    if is_personal(name, column, rule, table) {
                        personal.entry(name.clone()).or_default().push(column.clone());
                    }
                }
                (None, Some(kind)) => unruled.push(Unruled {
                    table: name.clone(),
                    column: column.clone(),
                    kind: kind.name(),
                    by: "name",
                    suggestion: kind.suggested_rule(),
                }),
                (None, None)
                    if table.column(column).is_some_and(may_be_personal)
                        && !key_column(table, column) =>
                {
                    sample.push((at, Sampler::new()));
                }
                (None, None) => {}
            }
        }
        if sample.is_empty() {
            continue;
        }
        let wanted: Vec<String> = sample.iter().map(|(i, _)| columns[*i].clone()).collect();
        let filter = source.queries().then(|| format!("1 = 1 LIMIT {SAMPLE_ROWS}"));
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
        let reading = source.stream_serial(name, &wanted, filter.as_deref(), tx);
        let sampling = async {
            let mut rows = 0;
            while let Some(chunk) = rx.recv().await {
                for line in bulk::lines(&chunk) {
                    for (field, (_, sampler)) in bulk::fields(line).zip(&mut sample) {
                        if field != b"\\N" {
                            sampler.add(&unescape(field));
                        }
                    }
                    rows += 1;
                }
                if rows >= SAMPLE_ROWS {
                    break;
                }
            }
            drop(rx);
        };
        let (read, ()) = tokio::join!(reading, sampling);
        read.map_err(|source| DataError::Source { db: db.clone(), source })?;
        for (at, sampler) in &sample {
            if let Some(kind) = sampler.verdict() {
                unruled.push(Unruled {
                    table: name.clone(),
                    column: columns[*at].clone(),
                    kind: kind.name(),
                    by: "values",
                    suggestion: kind.suggested_rule(),
                });
            }
        }
    }

    let ranges = shared_ranges(file, catalog, &rules);
    let mut tables = Vec::new();
    for (name, columns) in copied {
        let table = &catalog.tables[&name];
        let masks = columns
            .iter()
            .map(|column| {
                let rule = rules.get(&(name.clone(), column.clone()))?;
                // `keep` copies the bytes as they are (binary values included).
                if rule.rule == Rule::Keep {
                    return None;
                }
                let mut shape = shape(table, column)?;
                if let Some(&(min, max)) = ranges.get(&(name.clone(), column.clone())) {
                    shape = shape.with_int_range(min, max);
                }
                Some(ColumnMask {
                    masker: Masker::new(&input.key, &rule.rule, &shape),
                    rule: rule.rule.clone(),
                    by: rule.by.as_ref().and_then(|b| columns.iter().position(|c| c == b)),
                })
            })
            .collect();
        let scanned = columns.iter().map(|c| table.column(c).is_some_and(holds_text)).collect();
        let filter = match input.subset.filters.get(&name) {
            None => None,
            Some(f) => {
                let at: Option<Vec<usize>> =
                    f.columns().iter().map(|c| columns.iter().position(|x| x == c)).collect();
                let Some(at) = at else {
                    return Err(plan_error(vec![file.error(
                        "subset",
                        format!(
                            "{name}: the subset's key columns ({}) are not all copied",
                            f.columns().join(", ")
                        ),
                    )]));
                };
                Some((f.clone(), at))
            }
        };
        let estimate = source
            .catalog()
            .and_then(|c| c.tables.get(&name))
            .and_then(|t| t.approx_rows)
            .unwrap_or(0);
        let (pushed, exact) = match filter.as_ref().and_then(|(f, _)| push_down(f, source.kind())) {
            Some((condition, exact)) => (Some(condition), exact),
            None => (None, false),
        };
        // The source sends exactly the kept rows: the copy passes them on unfiltered.
        let filter = filter.filter(|_| !exact);
        let mut plan = TablePlan {
            name,
            columns,
            masks,
            scanned,
            filter,
            pushed,
            estimate,
            format: Format::Text,
            codecs: Vec::new(),
        };
        if let Some(codecs) = binary_format(source, target_kind, catalog, &plan) {
            (plan.format, plan.codecs) = (Format::Binary, codecs);
        }
        tables.push(plan);
    }
    Ok(Checked { tables, personal: personal.into_iter().collect(), unruled, absent })
}

/// Copies the source's rows into the target's tables, masked. The target's tables the copy
/// writes are emptied first. `catalog` is the target's and `loaders` sessions to it, when read
/// and opened ahead.
pub async fn copy(
    session: &mut Session,
    request: &Request<'_>,
    input: &MaskedInput,
    catalog: Option<Catalog>,
    mut loaders: Vec<Session>,
    events: &Events,
) -> Result<Outcome, DataError> {
    let wrap = |source: EngineError| DataError::Engine { db: request.db.clone(), source };
    // With a source read in parallel, the sessions of the parallel streams (the target's and
    // the source's) connect while the plan is checked and the target is readied, unless they
    // were opened ahead.
    let streams = if input.source.parallel() {
        super::load::streams().min(input.source.tables().len())
    } else {
        0
    };
    let spare = loaders.split_off(streams.min(loaders.len()));
    let opening = async {
        let more = (loaders.len()..streams).map(|_| Session::connect(request.target));
        let (more, (), ()) = tokio::join!(
            futures_util::future::join_all(more),
            input.source.open_readers(streams),
            super::load::close_all(spare),
        );
        loaders.extend(more.into_iter().flatten());
        loaders
    };
    let checking = async {
        let catalog = match catalog {
            Some(catalog) => catalog,
            None => session.catalog().await.map_err(wrap)?,
        };
        check(&request.db, request.file, request.target.kind, &catalog, input).await
    };
    let (loaders, checked) = tokio::join!(opening, checking);
    let loaders = std::sync::Mutex::new(loaders);
    let copied = copy_checked(session, request, input, checked?, &loaders, events).await;
    for loader in loaders.into_inner().unwrap_or_default() {
        loader.close().await;
    }
    copied
}

/// [`copy`] once the plan checked out.
async fn copy_checked(
    session: &mut Session,
    request: &Request<'_>,
    input: &MaskedInput,
    checked: Checked,
    loaders: &std::sync::Mutex<Vec<Session>>,
    events: &Events,
) -> Result<Outcome, DataError> {
    let wrap = |source: EngineError| DataError::Engine { db: request.db.clone(), source };
    if !checked.unruled.is_empty() {
        match request.file.masked.unmasked {
            Unmasked::Fail => {
                return Err(DataError::Unmasked {
                    db: request.db.clone(),
                    file: request.file.path.display().to_string(),
                    columns: checked.unruled,
                });
            }
            Unmasked::Warn => {
                for column in &checked.unruled {
                    events.emit(Event::Warning {
                        db: Some(request.db.clone()),
                        message: format!("copied unmasked: {column}"),
                    });
                }
            }
        }
    }
    for table in &checked.absent {
        events.emit(Event::Warning {
            db: Some(request.db.clone()),
            message: format!("{table}: not in the source; left empty"),
        });
    }
    let names: Vec<String> = checked.tables.iter().map(|t| t.name.clone()).collect();
    events.emit(Event::SeedPlanned {
        db: request.db.clone(),
        tables: names.len(),
        rows: checked.tables.iter().map(|t| t.estimate).sum(),
        kept: Vec::new(),
    });
    let mut emptied = names.clone();
    emptied.extend(checked.absent.iter().cloned());
    let leak = Arc::new(LeakCheck::new(input, &checked.personal));
    // With a source that reads tables on connections of their own, the originals are read only
    // when a table's cells cannot be looked up on the source instead (too many distinct words),
    // and then while the rows flow; a serial source reads them before its first table.
    let lazy = input.source.parallel()
        && input.source.queries()
        && leak.can_look_up()
        && !leak.sources.is_empty();
    let finished = tokio::sync::Notify::new();
    let reading = async {
        if lazy {
            tokio::select! {
                () = leak.wanted.notified() => {}
                () = finished.notified() => return Ok(()),
            }
        }
        let read = originals(request, input, &leak.sources).await;
        let (originals, failed) = match read {
            Ok(originals) => (Some(originals), None),
            Err(e) => (None, Some(e)),
        };
        let _ = leak.originals.set(originals);
        failed.map_or(Ok(()), Err)
    };
    let tables: Vec<Arc<TablePlan>> = checked.tables.into_iter().map(Arc::new).collect();
    // The target gets ready (its keys taken off, its tables emptied) while the originals are
    // read, when they are; with a parallel source the rows flow meanwhile too: the cells the
    // leak check looks at wait for them, never the load (only its commit does). From here the
    // keys may be off: a failure empties the tables and puts them back.
    let loaded = async {
        let (restore, results) = if input.source.parallel() {
            let (read, loaded) = tokio::join!(reading, async {
                let loaded = async {
                    let restore =
                        session.prepare_load(&emptied, true, &names).await.map_err(wrap)?;
                    let results =
                        load_tables(request, input, &tables, &restore, &leak, loaders, events)
                            .await?;
                    Ok::<_, DataError>((restore, results))
                }
                .await;
                finished.notify_one();
                loaded
            });
            read?;
            loaded?
        } else {
            let (read, restore) =
                tokio::join!(reading, session.prepare_load(&emptied, true, &names));
            read?;
            let restore = restore.map_err(wrap)?;
            let results =
                load_tables(request, input, &tables, &restore, &leak, loaders, events).await?;
            (restore, results)
        };
        let (_, other_keys) = super::load::split_keys(&restore, &names);
        super::load::restore_rest(session, request, &restore, other_keys, events).await?;
        Ok::<_, DataError>(results)
    }
    .await;
    let mut counts = match loaded {
        Ok(results) => results,
        Err(e) => return Err(super::load::abandon(session, request, &emptied, e, events).await),
    };
    counts.sort_by_key(|(name, _)| names.iter().position(|n| n == name));
    let rows = counts.iter().map(|(_, n)| n).sum();
    Ok(Outcome { tables: counts, rows, elapsed_ms: 0, kept: Vec::new(), skipped: None })
}

/// Binary rows between two PostgreSQL servers of release 10 or later, for a table with no filter
/// on the client whose columns are all of the same built-in type on both sides (the server takes
/// a binary value only into its own type); each column the leak check reads as it is must have
/// its text as its binary form, and each masked column (and each a rule is keyed `by`) a
/// [`Codec`]. Returns the codecs, per column. A text `COPY` spends most of its time printing and
/// parsing values (a timestamp, a numeric) on both servers; the binary one moves them as they
/// are stored.
fn binary_format(
    source: &SourceDb,
    target_kind: EngineKind,
    target: &Catalog,
    plan: &TablePlan,
) -> Option<Vec<Option<Codec>>> {
    use crate::engine::postgres::{binary_copyable, binary_is_text};
    let from = source.catalog()?;
    let release = |c: &Catalog| {
        let digits = c.server_version.chars().take_while(char::is_ascii_digit);
        digits.collect::<String>().parse::<u32>().ok()
    };
    let recent = [from, target].into_iter().all(|c| release(c).is_some_and(|r| r >= 10));
    let (Some(EngineKind::Postgres), EngineKind::Postgres, true, Some(from), Some(target)) = (
        source.kind(),
        target_kind,
        recent,
        from.tables.get(&plan.name),
        target.tables.get(&plan.name),
    ) else {
        return None;
    };
    if plan.filter.is_some() {
        return None;
    }
    let keys: Vec<usize> = plan.masks.iter().flatten().filter_map(|m| m.by).collect();
    let mut codecs = Vec::with_capacity(plan.columns.len());
    for (i, name) in plan.columns.iter().enumerate() {
        let (to, from) = (target.column(name)?, from.column(name)?);
        let ty = &to.data_type;
        if *ty != from.data_type || !binary_copyable(ty) {
            return None;
        }
        let masked = plan.masks[i].is_some();
        if !masked && plan.scanned[i] && !binary_is_text(ty) {
            return None;
        }
        let codec = Codec::of(ty);
        if (masked || keys.contains(&i)) && codec.is_none() {
            return None;
        }
        codecs.push(codec);
    }
    Some(codecs)
}

/// Loads every table's masked rows, [`streams`](super::load::streams) at once when the source
/// can read tables side by side.
async fn load_tables(
    request: &Request<'_>,
    input: &MaskedInput,
    tables: &[Arc<TablePlan>],
    restore: &Restore,
    leak: &Arc<LeakCheck>,
    loaders: &std::sync::Mutex<Vec<Session>>,
    events: &Events,
) -> Result<Vec<(String, u64)>, DataError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let (own_keys, _) = super::load::split_keys(restore, &names);
    let parallel = if input.source.parallel() { super::load::streams() } else { 1 };
    stream::iter(tables.iter().cloned())
        .map(|plan| {
            let fill = Fill {
                name: plan.name.clone(),
                columns: plan.columns.clone(),
                total: plan.estimate,
                keys: own_keys.get(&plan.name).map_or(&[][..], Vec::as_slice),
                format: plan.format,
                session: loaders.lock().ok().and_then(|mut l| l.pop()),
            };
            let (source, leak) = (input.source.clone(), leak.clone());
            let produce = move |tx: Sender<Vec<u8>>, done: Arc<AtomicU64>| async move {
                masked_rows(&source, plan, leak, tx, done).await
            };
            let name = fill.name.clone();
            async move { fill_table(request, fill, produce, events).await.map(|rows| (name, rows)) }
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await
}

/// What the second leak check needs: where to look originals up, the originals' filter once
/// read, and where to read them again to confirm its suspects.
struct LeakCheck {
    /// Set once the originals are read; `None` when reading them failed.
    originals: std::sync::OnceLock<Option<Originals>>,
    /// Notified when a table needs the originals read (a lazy read starts then).
    wanted: tokio::sync::Notify,
    /// Where the originals are, and of which columns: this database's source first, then the
    /// run's other sources (each with personal columns).
    sources: Vec<(Arc<SourceDb>, Personal)>,
    key: Arc<MaskKey>,
    /// Candidates already looked up on the source: fingerprint → whether it is an original.
    looked: std::sync::Mutex<HashMap<u64, bool>>,
    /// Lookups sent so far.
    lookups: std::sync::atomic::AtomicUsize,
}

/// Why a masking thread stopped before the end of its table.
enum Stop {
    /// The originals could not be read (the read's own error is reported by the copy).
    NoOriginals,
    /// The first leak check found a cell equal to its original.
    Leak(Stats),
    /// A masked value is no value of its column's type (binary rows only; text rows let the
    /// server say so).
    Invalid(String),
}

/// Lookups of held cells on the source per copy; after them, the originals are read instead.
const LOOKUPS_MAX: usize = 4;
/// Distinct candidates (cells and their words) one lookup sends at most, and their bytes.
const LOOKUP_CANDIDATES: usize = 10_000;
const LOOKUP_BYTES: usize = 512 << 10;

impl LeakCheck {
    fn new(input: &MaskedInput, personal: &[(String, Vec<String>)]) -> LeakCheck {
        let own = (input.source.clone(), personal.to_vec());
        let sources: Vec<(Arc<SourceDb>, Personal)> = std::iter::once(own)
            .chain(input.foreign.iter().cloned())
            .filter(|(_, personal)| !personal.is_empty())
            .collect();
        let check = LeakCheck {
            originals: std::sync::OnceLock::new(),
            wanted: tokio::sync::Notify::new(),
            sources,
            key: input.key.clone(),
            looked: std::sync::Mutex::new(HashMap::new()),
            lookups: std::sync::atomic::AtomicUsize::new(0),
        };
        if check.sources.is_empty() {
            let _ = check.originals.set(Some(Originals::exact()));
        }
        check
    }

    /// Whether every source can be asked which candidates are originals (PostgreSQL); else the
    /// originals are read.
    fn can_look_up(&self) -> bool {
        self.sources.iter().all(|(source, _)| source.kind() == Some(EngineKind::Postgres))
    }

    /// The originals when they have been read.
    fn ready(&self) -> Result<Option<&Originals>, Stop> {
        match self.originals.get() {
            None => Ok(None),
            Some(read) => read.as_ref().map(Some).ok_or(Stop::NoOriginals),
        }
    }

    /// The originals, read for this call if they are not yet (blocking).
    fn wait(&self) -> Result<&Originals, Stop> {
        self.wanted.notify_one();
        self.originals.wait().as_ref().ok_or(Stop::NoOriginals)
    }

    /// Looks the held cells of a table at, once every one of its rows has gone by: against the
    /// originals when they are read, else by asking the source which of the cells' distinct
    /// candidates are originals; too many candidates, or too many lookups, and the originals
    /// are read after all.
    async fn settle(self: &Arc<Self>, held: Held, stats: &mut Stats) -> Result<(), String> {
        if held.is_empty() {
            return Ok(());
        }
        let no_originals = || "the originals the leak check needs could not be read".to_owned();
        if self.originals.get().is_none() {
            match self.look_up(&held).await {
                Ok(Some(originals)) => {
                    for (column, cells) in held.cells.iter().enumerate() {
                        for (text, count) in cells {
                            let print = |c: &[u8]| super::leak::fingerprint(&self.key, c);
                            if super::leak::candidates(text).any(|c| originals.contains(&print(c)))
                            {
                                stats.originals[column] += count;
                            }
                        }
                    }
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => return Err(format!("failed to look originals up on the source: {e}")),
            }
        }
        let leak = self.clone();
        let mut held = held;
        let mut found = Stats::new(stats.originals.len());
        let found = tokio::task::spawn_blocking(move || {
            let originals = leak.wait().map_err(|_| ())?;
            held.settle(originals, &mut found);
            Ok::<_, ()>(found)
        })
        .await
        .map_err(|_| no_originals())?
        .map_err(|()| no_originals())?;
        stats.merge(found);
        Ok(())
    }

    /// The fingerprints, among the held cells' candidates, of originals: asked of the source
    /// (those not asked before), on the snapshot's own session. `None` when there are too many
    /// to ask, or the source cannot be asked.
    async fn look_up(&self, held: &Held) -> Result<Option<HashSet<u64>>, EngineError> {
        // PostgreSQL sources only: a source that is read table after table (MySQL) has its
        // originals read before the first table instead.
        if !self.can_look_up() {
            return Ok(None);
        }
        let mut asked: BTreeMap<u64, String> = BTreeMap::new();
        let mut all = HashSet::new();
        let mut bytes = 0;
        {
            let looked = self.looked.lock().expect("lookups never panic holding the lock");
            for text in held.cells.iter().flat_map(HashMap::keys) {
                for candidate in super::leak::candidates(text) {
                    let print = super::leak::fingerprint(&self.key, candidate);
                    if all.insert(print) && !looked.contains_key(&print) {
                        bytes += candidate.len();
                        let folded = String::from_utf8_lossy(candidate).to_ascii_lowercase();
                        asked.insert(print, folded);
                    }
                }
                if asked.len() > LOOKUP_CANDIDATES || bytes > LOOKUP_BYTES {
                    return Ok(None);
                }
            }
        }
        if !asked.is_empty() {
            if self.lookups.fetch_add(1, Ordering::Relaxed) >= LOOKUPS_MAX {
                return Ok(None);
            }
            let values: Vec<&str> = asked.values().map(String::as_str).collect();
            let mut originals = HashSet::new();
            for (source, personal) in &self.sources {
                for (table, columns) in personal {
                    let filter = folded_in(columns, &values);
                    read_values(source, table, columns, Some(&filter), |value| {
                        originals.insert(super::leak::fingerprint(&self.key, value));
                    })
                    .await?;
                }
            }
            let mut looked = self.looked.lock().expect("lookups never panic holding the lock");
            for print in asked.keys() {
                looked.insert(*print, originals.contains(print));
            }
        }
        let looked = self.looked.lock().expect("lookups never panic holding the lock");
        Ok(Some(all.into_iter().filter(|p| looked.get(p) == Some(&true)).collect()))
    }

    /// Cells per column holding a confirmed original: the suspects looked for among the
    /// originals, read once more.
    async fn confirm(&self, suspects: &Suspects) -> Result<Vec<u64>, EngineError> {
        let prints = suspects.prints();
        let mut confirmed = std::collections::HashSet::new();
        for (source, personal) in &self.sources {
            read_originals(source, personal, |value| {
                super::leak::confirm(&self.key, &prints, &mut confirmed, value);
            })
            .await?;
        }
        Ok(suspects.cells(&confirmed))
    }
}

/// Reads one table from the source, keeps the subset's rows, masks them, and writes the text
/// into `tx`. The leak checks run here: a leak fails the table before its load commits.
async fn masked_rows(
    source: &SourceDb,
    plan: Arc<TablePlan>,
    leak: Arc<LeakCheck>,
    tx: Sender<Vec<u8>>,
    done: Arc<AtomicU64>,
) -> Result<u64, String> {
    let (raw_tx, raw_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
    let (pushed, format) = (plan.pushed.as_deref(), plan.format);
    let reading = source.stream(&plan.name, &plan.columns, pushed, format, raw_tx);
    // Chunks are independent (binary ones hold rows only: the loader writes the stream's header
    // and trailer) and row order does not matter: a table with rules is masked on two threads, so
    // one wide table does not wait on one core.
    let workers = if plan.masks.iter().any(Option::is_some) { MASK_THREADS } else { 1 };
    let raw_rx = Arc::new(std::sync::Mutex::new(raw_rx));
    // The cells the first thread holds after its first chunk are looked up on the source while
    // the rows flow: a column of few distinct values shows them all early, and the lookup at
    // the end of the table then has nothing left to ask.
    let (early_tx, mut early_rx) = tokio::sync::mpsc::channel::<Held>(1);
    let masking = (0..workers).map(|worker| {
        let (plan, leak, raw_rx, tx, done) =
            (plan.clone(), leak.clone(), raw_rx.clone(), tx.clone(), done.clone());
        let mut early = (worker == 0).then(|| early_tx.clone());
        tokio::task::spawn_blocking(move || {
            let mut stats = Stats::new(plan.columns.len());
            let mut held = Held::default();
            let mut rows = 0u64;
            let mut out = Vec::with_capacity(CHUNK_BYTES + 4096);
            loop {
                // The lock is held only while waiting for the next chunk.
                let Ok(mut receiver) = raw_rx.lock() else { break };
                let chunk = receiver.blocking_recv();
                drop(receiver);
                let Some(chunk) = chunk else { break };
                let mut originals = leak.ready()?;
                if originals.is_none() && held.bytes >= HELD_MAX {
                    originals = Some(leak.wait()?);
                }
                if let Some(originals) = originals {
                    held.settle(originals, &mut stats);
                }
                let before = rows;
                rows += mask_chunk(&plan, originals, &chunk, &mut out, &mut stats, &mut held)
                    .map_err(Stop::Invalid)?;
                done.fetch_add(rows - before, Ordering::Relaxed);
                if originals.is_none()
                    && !held.is_empty()
                    && let Some(early) = early.take()
                {
                    let _ = early.try_send(held.clone());
                }
                if stats.unchanged.iter().any(|&n| n > 0) {
                    return Err(Stop::Leak(stats));
                }
                if out.len() >= CHUNK_BYTES {
                    let full = std::mem::replace(&mut out, Vec::with_capacity(CHUNK_BYTES + 4096));
                    if tx.blocking_send(full).is_err() {
                        return Ok((rows, stats, held));
                    }
                }
            }
            if !out.is_empty() {
                let _ = tx.blocking_send(out);
            }
            if let Some(originals) = leak.ready()? {
                held.settle(originals, &mut stats);
            }
            Ok((rows, stats, held))
        })
    });
    let masking = futures_util::future::join_all(masking.collect::<Vec<_>>());
    drop((tx, early_tx));
    let looking = async {
        while let Some(cells) = early_rx.recv().await {
            // A failure here is met again, and reported, by the lookup at the end.
            let _ = leak.look_up(&cells).await;
        }
    };
    let (read, masked, ()) = tokio::join!(reading, masking, looking);
    let mut rows = 0;
    let mut stats = Stats::new(plan.columns.len());
    let mut held = Held::default();
    for worker in masked {
        match worker.map_err(|_| "the masking stopped early".to_owned())? {
            Err(Stop::NoOriginals) => {
                return Err("the originals the leak check needs could not be read".to_owned());
            }
            Err(Stop::Leak(found)) => {
                stats.merge(found);
                return Err(stats.report(&plan));
            }
            Err(Stop::Invalid(message)) => return Err(message),
            Ok((n, found, cells)) => {
                rows += n;
                stats.merge(found);
                held.merge(cells);
            }
        }
    }
    read.map_err(|e| format!("failed to read the source: {e}"))?;
    // The cells still held, and the filter's suspects, are settled before the rows commit.
    leak.settle(held, &mut stats).await?;
    if !stats.suspects.is_empty() {
        let confirmed = leak
            .confirm(&stats.suspects)
            .await
            .map_err(|e| format!("failed to read the originals again for the leak check: {e}"))?;
        stats.originals.iter_mut().zip(confirmed).for_each(|(n, more)| *n += more);
    }
    if stats.originals.iter().any(|&n| n > 0) {
        return Err(stats.report(&plan));
    }
    Ok(rows)
}

/// Bytes of distinct cells a masking thread holds for the leak check while the originals are
/// read; beyond them it waits for the originals.
const HELD_MAX: usize = 4 << 20;

/// Cells the leak check looks at, held (unescaped, each distinct cell once with its count)
/// until the originals are known: a column of a few distinct values costs a few entries.
#[derive(Clone, Default)]
struct Held {
    /// Per column: cell → count (a fast hash: every cell the check looks at comes here).
    cells: Vec<HashMap<Box<[u8]>, u64, foldhash::fast::RandomState>>,
    bytes: usize,
}

impl Held {
    fn push(&mut self, column: usize, text: &[u8]) {
        if self.cells.len() <= column {
            self.cells.resize_with(column + 1, Default::default);
        }
        // Looked up without allocating; a new cell is copied once.
        match self.cells[column].get_mut(text) {
            Some(count) => *count += 1,
            None => {
                self.bytes += text.len() + 64;
                self.cells[column].insert(Box::from(text), 1);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Takes another thread's cells in.
    fn merge(&mut self, other: Held) {
        for (column, cells) in other.cells.into_iter().enumerate() {
            for (text, count) in cells {
                if self.cells.len() <= column {
                    self.cells.resize_with(column + 1, Default::default);
                }
                match self.cells[column].get_mut(&text) {
                    Some(n) => *n += count,
                    None => {
                        self.bytes += text.len() + 64;
                        self.cells[column].insert(text, count);
                    }
                }
            }
        }
    }

    /// Looks at every held cell, and forgets them.
    fn settle(&mut self, originals: &Originals, stats: &mut Stats) {
        for (column, cells) in self.cells.iter_mut().enumerate() {
            for (text, count) in cells.drain() {
                originals.suspects_in_text(&text, |print| {
                    stats.suspects.add_cells(column, print, count);
                });
            }
        }
        self.bytes = 0;
    }
}

/// Per-column counts of the leak checks.
struct Stats {
    unchanged: Vec<u64>,
    /// Cells that may hold an original, by the filter.
    suspects: Suspects,
    /// Cells holding an original, once confirmed.
    originals: Vec<u64>,
}

impl Stats {
    fn new(columns: usize) -> Stats {
        Stats {
            unchanged: vec![0; columns],
            suspects: Suspects::new(columns),
            originals: vec![0; columns],
        }
    }

    fn merge(&mut self, other: Stats) {
        for (mine, theirs) in self.unchanged.iter_mut().zip(&other.unchanged) {
            *mine += theirs;
        }
        self.suspects.merge(other.suspects);
    }

    /// The leak check's message, naming the columns and never a value.
    fn report(&self, plan: &TablePlan) -> String {
        let leaks: Vec<String> = (0..plan.columns.len())
            .filter(|&i| self.unchanged[i] > 0 || self.originals[i] > 0)
            .map(|i| {
                Leak {
                    table: plan.name.clone(),
                    column: plan.columns[i].clone(),
                    unchanged: self.unchanged[i],
                    originals: self.originals[i],
                }
                .to_string()
            })
            .collect();
        format!("the leak check stopped the copy: {}", leaks.join("; "))
    }
}

/// Looks at one cell (`escaped` as the bulk format carries it, or not) for originals, or holds
/// it until they are known.
fn look(
    originals: Option<&Originals>,
    held: &mut Held,
    stats: &mut Stats,
    column: usize,
    cell: &[u8],
    escaped: bool,
) {
    // A cell with nothing distinctive has no word that is (escapes add none either).
    if originals.is_some_and(Originals::is_empty) || !super::leak::distinctive(cell) {
        return;
    }
    // ASCII without escapes is its own text: neither unescaped nor checked as UTF-8.
    let plain = cell.is_ascii() && !(escaped && cell.contains(&b'\\'));
    let text = if plain {
        std::borrow::Cow::Borrowed(cell)
    } else if escaped {
        std::borrow::Cow::Owned(unescape(cell).into_owned().into_bytes())
    } else {
        std::borrow::Cow::Owned(String::from_utf8_lossy(cell).into_owned().into_bytes())
    };
    match originals {
        Some(originals) => {
            originals.suspects_in_text(&text, |print| stats.suspects.add(column, print))
        }
        None => held.push(column, &text),
    }
}

/// Masks the whole lines of `chunk` into `out`; returns the rows written.
fn mask_chunk(
    plan: &TablePlan,
    originals: Option<&Originals>,
    chunk: &[u8],
    out: &mut Vec<u8>,
    stats: &mut Stats,
    held: &mut Held,
) -> Result<u64, String> {
    let mut rows = 0;
    // Nothing to change and nothing to leave out: the chunk goes on as it came (whole lines),
    // after its text cells are looked at for originals.
    if plan.filter.is_none() && plan.masks.iter().all(Option::is_none) {
        let last = plan.scanned.iter().rposition(|s| *s);
        let Some(last) = last.filter(|_| originals.is_none_or(|o| !o.is_empty())) else {
            out.extend_from_slice(chunk);
            return Ok(plan.format.count_rows(chunk));
        };
        if plan.format == Format::Binary {
            // The cells the check reads are text as they are (`binary_format`).
            for row in bulk::binary_rows(chunk) {
                rows += 1;
                for (i, field) in bulk::binary_fields(row).enumerate().take(last + 1) {
                    if let (true, Some(field)) = (plan.scanned[i], field) {
                        look(originals, held, stats, i, field, false);
                    }
                }
            }
            out.extend_from_slice(chunk);
            return Ok(rows);
        }
        for line in bulk::lines(chunk) {
            rows += 1;
            for (i, field) in bulk::fields(line).enumerate().take(last + 1) {
                if plan.scanned[i] && field != b"\\N" {
                    look(originals, held, stats, i, field, true);
                }
            }
        }
        out.extend_from_slice(chunk);
        return Ok(rows);
    }
    if plan.format == Format::Binary {
        return mask_binary(plan, originals, chunk, out, stats, held);
    }
    let mut fields: Vec<&[u8]> = Vec::with_capacity(plan.columns.len());
    let mut picked: Vec<&[u8]> = Vec::new();
    let (mut input, mut output) = (String::new(), String::new());
    for line in bulk::lines(chunk) {
        fields.clear();
        fields.extend(bulk::fields(line));
        if let Some((filter, at)) = &plan.filter {
            picked.clear();
            picked.extend(at.iter().map(|&i| fields[i]));
            if !filter.keeps(&picked) {
                continue;
            }
        }
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            let Some(mask) = &plan.masks[i] else {
                if plan.scanned[i] && *field != b"\\N" {
                    look(originals, held, stats, i, field, true);
                }
                out.extend_from_slice(field);
                continue;
            };
            if *field == b"\\N" {
                out.extend_from_slice(field);
                continue;
            }
            input.clear();
            input.push_str(&unescape(field));
            output.clear();
            // A NULL key keys nothing: the rule keys by the value itself.
            let tweak = mask.by.filter(|&b| fields[b] != b"\\N").map(|b| unescape(fields[b]));
            if !mask.masker.apply(&input, tweak.as_deref(), &mut output) {
                out.extend_from_slice(b"\\N");
                continue;
            }
            if output == input && !mask.rule.may_keep(&input) {
                stats.unchanged[i] += 1;
            }
            // A masked value equal to someone else's original is chance, not a leak (a
            // bijection over a dense domain such as 9-digit ids must hit some); only what a
            // rule passes through unmasked, the parts of a JSON document no path names, can
            // carry an original.
            if plan.scanned[i] && matches!(mask.rule, Rule::Json(_)) {
                look(originals, held, stats, i, output.as_bytes(), false);
            }
            push_field(out, Some(output.as_bytes()));
        }
        out.push(b'\n');
        rows += 1;
    }
    Ok(rows)
}

/// [`mask_chunk`] for binary rows: masked values are read as text by their column's codec, and
/// written back by it.
fn mask_binary(
    plan: &TablePlan,
    originals: Option<&Originals>,
    chunk: &[u8],
    out: &mut Vec<u8>,
    stats: &mut Stats,
    held: &mut Held,
) -> Result<u64, String> {
    let mut rows = 0;
    let mut fields: Vec<Option<&[u8]>> = Vec::with_capacity(plan.columns.len());
    let (mut input, mut output, mut tweak) = (String::new(), String::new(), String::new());
    let invalid = |i: usize, what: &str| {
        format!("{}.{}: {what} a value of its type", plan.name, plan.columns[i])
    };
    for row in bulk::binary_rows(chunk) {
        fields.clear();
        fields.extend(bulk::binary_fields(row));
        out.extend_from_slice(&row[..2]);
        for (i, field) in fields.iter().enumerate() {
            let (Some(mask), Some(value)) = (&plan.masks[i], field) else {
                if let (true, Some(value)) = (plan.scanned[i], field) {
                    look(originals, held, stats, i, value, false);
                }
                bulk::push_binary_field(out, *field);
                continue;
            };
            let codec = plan.codecs[i].ok_or_else(|| invalid(i, "no codec reads"))?;
            input.clear();
            if !codec.read(value, &mut input) {
                return Err(invalid(i, "the source sent what is not"));
            }
            // As for text rows: a NULL key keys nothing, the rule keys by the value itself.
            let by = match mask.by.map(|b| (fields[b], plan.codecs[b])) {
                Some((Some(key), Some(codec))) => {
                    tweak.clear();
                    codec.read(key, &mut tweak).then_some(tweak.as_str())
                }
                _ => None,
            };
            output.clear();
            if !mask.masker.apply(&input, by, &mut output) {
                bulk::push_binary_field(out, None);
                continue;
            }
            if output == input && !mask.rule.may_keep(&input) {
                stats.unchanged[i] += 1;
            }
            if plan.scanned[i] && matches!(mask.rule, Rule::Json(_)) {
                look(originals, held, stats, i, output.as_bytes(), false);
            }
            if !codec.write(&output, out) {
                return Err(invalid(i, "a rule's output is not"));
            }
        }
        rows += 1;
    }
    Ok(rows)
}

/// Reads the original values of the personal columns the second leak check looks for:
/// `each` gets every value (unescaped). Serial, on the snapshot's own session.
async fn read_originals(
    source: &SourceDb,
    personal: &[(String, Vec<String>)],
    mut each: impl FnMut(&[u8]),
) -> Result<(), EngineError> {
    for (table, columns) in personal {
        read_values(source, table, columns, None, &mut each).await?;
    }
    Ok(())
}

/// Every non-empty value (unescaped) of `columns` of `table`, of the rows matching `filter`.
async fn read_values(
    source: &SourceDb,
    table: &str,
    columns: &[String],
    filter: Option<&str>,
    mut each: impl FnMut(&[u8]),
) -> Result<(), EngineError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
    let reading = source.stream_serial(table, columns, filter, tx);
    let collecting = async {
        while let Some(chunk) = rx.recv().await {
            for line in bulk::lines(&chunk) {
                for field in bulk::fields(line) {
                    if field != b"\\N" && !field.is_empty() {
                        each(unescape(field).as_bytes());
                    }
                }
            }
        }
    };
    let (read, ()) = tokio::join!(reading, collecting);
    read.map(|_| ())
}

/// The originals of every source's personal columns, in a filter sized by the sources' row
/// estimates.
async fn originals(
    request: &Request<'_>,
    input: &MaskedInput,
    sources: &[(Arc<SourceDb>, Personal)],
) -> Result<Originals, DataError> {
    if sources.is_empty() {
        return Ok(Originals::exact());
    }
    let expected: u64 = sources
        .iter()
        .flat_map(|(source, personal)| {
            personal.iter().map(move |(table, columns)| {
                let rows = source.catalog().and_then(|c| c.tables.get(table)?.approx_rows);
                rows.unwrap_or(0) * columns.len() as u64
            })
        })
        .sum();
    let mut originals = Originals::bounded(expected);
    for (source, personal) in sources {
        read_originals(source, personal, |value| originals.add(&input.key, value))
            .await
            .map_err(|source| DataError::Source { db: request.db.clone(), source })?;
    }
    originals.seal();
    Ok(originals)
}

/// The rules that apply, per (table, column): the file's, and those spread along foreign keys
/// (a key's rule goes to the columns referencing it, and back), so a join still matches.
fn resolve_rules(
    file: &super::seedfile::SeedFile,
    catalog: &Catalog,
    copied: &BTreeMap<String, Vec<String>>,
    errors: &mut Vec<ProfileError>,
) -> BTreeMap<(String, String), MaskRule> {
    let mut rules: BTreeMap<(String, String), MaskRule> = BTreeMap::new();
    let table_names: Vec<&str> = copied.keys().map(String::as_str).collect();
    for (table, columns) in &file.masked.mask {
        let Some(names) = copied.get(table) else {
            let key = format!("mask.{table}");
            let message = if catalog.tables.contains_key(table) {
                format!("{table} is not copied from the source (the seed file generates it)")
            } else {
                format!("the schema has no table `{table}`")
            };
            errors.push(file.error(&key, message).with_hint(suggest(table, &table_names)));
            continue;
        };
        let t = &catalog.tables[table];
        let column_names: Vec<&str> = names.iter().map(String::as_str).collect();
        for (column, rule) in columns {
            let Some(shape) = shape(t, column) else {
                errors.push(
                    file.error(&rule.key, format!("table `{table}` has no column `{column}`"))
                        .with_hint(suggest(column, &column_names)),
                );
                continue;
            };
            if let Err(message) = rule.rule.check(&shape) {
                errors.push(file.error(&rule.key, format!("{table}.{column}: {message}")));
                continue;
            }
            if let Some(by) = &rule.by
                && !names.contains(by)
            {
                errors.push(
                    file.error(
                        &format!("{}.by", rule.key),
                        format!("table `{table}` has no column `{by}`"),
                    )
                    .with_hint(suggest(by, &column_names)),
                );
                continue;
            }
            rules.insert((table.clone(), column.clone()), rule.clone());
        }
    }
    // Spread along foreign keys until nothing changes (chains of keys).
    let links = key_links(file, catalog);
    loop {
        let mut changed = false;
        for (child, parent) in &links {
            for (from, to) in [(parent, child), (child, parent)] {
                let Some(rule) = rules.get(from).cloned() else { continue };
                match rules.get(to) {
                    None if copied.get(&to.0).is_some_and(|cols| cols.contains(&to.1)) => {
                        rules.insert(to.clone(), rule);
                        changed = true;
                    }
                    Some(other) if other.rule != rule.rule => {
                        errors.push(file.error(
                            &other.key,
                            format!(
                                "{}.{} references {}.{} (or is referenced by it) and has another \
                                 rule: a join would no longer match",
                                to.0, to.1, from.0, from.1
                            ),
                        ));
                        return rules;
                    }
                    _ => {}
                }
            }
        }
        if !changed {
            return rules;
        }
    }
}

/// Column pairs joined by a key: (child table, column) → (parent table, column), from the
/// schema's foreign keys and the seed file's relations inside this database.
type Link = ((String, String), (String, String));

fn key_links(file: &SeedFile, catalog: &Catalog) -> Vec<Link> {
    let mut links: Vec<Link> = Vec::new();
    for (name, table) in &catalog.tables {
        for fk in &table.foreign_keys {
            for (c, r) in fk.columns.iter().zip(&fk.ref_columns) {
                links.push(((name.clone(), c.clone()), (fk.ref_table.clone(), r.clone())));
            }
        }
    }
    for relation in file.masked.subset.relations.iter().filter(|r| r.database.is_none()) {
        for (c, r) in relation.columns.iter().zip(&relation.ref_columns) {
            links.push((
                (relation.table.clone(), c.clone()),
                (relation.ref_table.clone(), r.clone()),
            ));
        }
    }
    links
}

/// Integer columns joined by keys are masked within the narrowest range among them: an
/// `integer` key and a `bigint` column referencing it then map every value alike (a permutation
/// kept in range by cycle walking depends on the range).
fn shared_ranges(
    file: &SeedFile,
    catalog: &Catalog,
    rules: &Rules,
) -> BTreeMap<(String, String), (i128, i128)> {
    let range_of = |at: &(String, String)| -> Option<(i128, i128)> {
        let shape = shape(catalog.tables.get(&at.0)?, &at.1)?;
        (shape.kind == ValueKind::Integer)
            .then(|| shape.int_range.unwrap_or((i64::MIN.into(), i64::MAX.into())))
    };
    let mut ranges: BTreeMap<(String, String), (i128, i128)> = BTreeMap::new();
    let links = key_links(file, catalog);
    // Narrow along the links until nothing changes (a chain of keys shares one range).
    loop {
        let mut changed = false;
        for (a, b) in &links {
            if !rules.contains_key(a) || !rules.contains_key(b) {
                continue;
            }
            let (Some(ra), Some(rb)) = (
                ranges.get(a).copied().or_else(|| range_of(a)),
                ranges.get(b).copied().or_else(|| range_of(b)),
            ) else {
                continue;
            };
            let narrow = (ra.0.max(rb.0), ra.1.min(rb.1));
            for at in [a, b] {
                if ranges.get(at) != Some(&narrow) {
                    ranges.insert(at.clone(), narrow);
                    changed = true;
                }
            }
        }
        if !changed {
            return ranges;
        }
    }
}

/// The table's primary key, unique constraints and unique indexes on plain columns.
fn unique_keys(table: &Table) -> Vec<(String, Vec<String>)> {
    let columns: BTreeSet<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    table
        .primary_key
        .iter()
        .chain(&table.uniques)
        .map(|k| (k.name.clone(), k.columns.clone()))
        .chain(table.indexes.iter().filter(|i| i.unique).map(|i| {
            // An expression (`lower(email)`) is unique over the columns it names: a rule that
            // is not a bijection could make two of its values collide as well.
            let named = i
                .columns
                .iter()
                .flat_map(|part| part.split(|c: char| !(c.is_alphanumeric() || c == '_')))
                .filter(|word| columns.contains(word))
                .map(str::to_owned)
                .collect::<BTreeSet<_>>();
            (i.name.clone(), named.into_iter().collect())
        }))
        .collect()
}

fn shape(table: &Table, column: &str) -> Option<ColumnShape> {
    table.columns.iter().find(|c| c.name == column).map(shape_of)
}

fn textual(shape: &ColumnShape) -> bool {
    matches!(shape.kind, ValueKind::Text | ValueKind::Json | ValueKind::Other)
}

/// Built-in types whose values are never free text nor personal: bits, durations, times of
/// day, money, points, and `bytea` (which prints as hex).
const NEVER_PERSONAL: &[&str] = &[
    "bit",
    "varbit",
    "bit varying",
    "interval",
    "time",
    "timetz",
    "time with time zone",
    "time without time zone",
    "year",
    "money",
    "oid",
    "bytea",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
];

/// Built-in types that hold no text but may be personal (an IP, a device's address): the PII
/// guard samples them, the leak check does not read them.
const ADDRESSES: &[&str] = &["inet", "cidr", "macaddr", "macaddr8"];

/// Whether the PII guard samples a column without a rule: text, JSON, arrays and types it
/// cannot tell from text, and addresses; not numbers, dates, nor [`NEVER_PERSONAL`] types.
fn may_be_personal(column: &Column) -> bool {
    textual(&shape_of(column))
        && (column.data_type.ends_with("[]")
            || !NEVER_PERSONAL.contains(&column.base_type.trim().to_lowercase().as_str()))
}

/// Whether the second leak check reads a column's cells: what [`may_be_personal`], save
/// addresses (no email, phone or card number can be written in one).
fn holds_text(column: &Column) -> bool {
    may_be_personal(column)
        && (column.data_type.ends_with("[]")
            || !ADDRESSES.contains(&column.base_type.trim().to_lowercase().as_str()))
}

/// Whether the column is part of a key (its values are identifiers, not personal text).
fn key_column(table: &Table, column: &str) -> bool {
    let c = column.to_owned();
    table.primary_key.as_ref().is_some_and(|k| k.columns == [c.clone()])
        || table.foreign_keys.iter().any(|fk| fk.columns.contains(&c))
}

/// The subset's kept rows of a table as a condition the source evaluates, so only those rows
/// are read and sent: the start rows' own condition, `id = ANY('{1,7,…}')` or `(a, b) IN (('1',
/// 'x'), …)`; for a table kept as its parents' children, the same over each link's downstream
/// values, joined by `OR`. Quoted as text (each engine casts to the column's type), escaped for
/// the engine. With whether it is exact: the rows it selects are the rows the filter keeps,
/// compared as the server compares them, so they need no second look (a child with several
/// links under `follow: parents` does: each of its parents must be kept). `None` when a list is
/// too long to have been kept, or the source is not a database.
fn push_down(filter: &Filter, kind: Option<EngineKind>) -> Option<(String, bool)> {
    let mysql = match kind? {
        EngineKind::Postgres => false,
        EngineKind::Mysql | EngineKind::Mariadb => true,
        EngineKind::Redis => return None,
    };
    match filter {
        Filter::Ids { condition: Some(condition), .. } => Some((condition.clone(), true)),
        Filter::Ids { columns, values: Some(values), .. } => {
            Some((in_list(columns, values, mysql), true))
        }
        Filter::Ids { values: None, .. } => None,
        Filter::Children { links, follow_children } => {
            let parts: Option<Vec<String>> = links
                .iter()
                .map(|l| match (&l.condition, &l.down_values) {
                    (Some(condition), _) => Some(condition.clone()),
                    (None, Some(values)) => Some(in_list(&l.columns, values, mysql)),
                    (None, None) => None,
                })
                .collect();
            let exact = *follow_children || links.len() == 1;
            Some((format!("({})", parts?.join(" OR ")), exact))
        }
    }
}

/// `columns IN (values)` for one engine's SQL; `1 = 0` for no values.
fn in_list(columns: &[String], values: &[Vec<Vec<u8>>], mysql: bool) -> String {
    if values.is_empty() {
        return "1 = 0".into();
    }
    let single = columns.len() == 1;
    if single && !mysql {
        // One array literal: PostgreSQL parses it much faster than a list of constants.
        let mut array = String::with_capacity(values.len() * 12);
        array.push('{');
        for (i, row) in values.iter().enumerate() {
            if i > 0 {
                array.push(',');
            }
            array.push('"');
            for c in unescape(&row[0]).chars() {
                if c == '"' || c == '\\' {
                    array.push('\\');
                }
                array.push(c);
            }
            array.push('"');
        }
        array.push('}');
        return format!("{} = ANY({})", ident(&columns[0], false), quote(&array, false));
    }
    let quote = |raw: &[u8]| quote(&unescape(raw), mysql);
    let ident = |c: &String| ident(c, mysql);
    let mut sql = String::with_capacity(values.len() * 12);
    if single {
        sql.push_str(&ident(&columns[0]));
    } else {
        sql.push('(');
        sql.push_str(&columns.iter().map(ident).collect::<Vec<_>>().join(", "));
        sql.push(')');
    }
    sql.push_str(" IN (");
    for (i, row) in values.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        if single {
            sql.push_str(&quote(&row[0]));
        } else {
            sql.push('(');
            sql.push_str(&row.iter().map(|f| quote(f)).collect::<Vec<_>>().join(", "));
            sql.push(')');
        }
    }
    sql.push(')');
    sql
}

/// PostgreSQL's condition for rows where one of `columns`, as text and ASCII case folded (the
/// "C" collation folds nothing else, as the fingerprints do), is among `values`, folded already.
fn folded_in(columns: &[String], values: &[&str]) -> String {
    let list = values.iter().map(|v| quote(v, false)).collect::<Vec<_>>().join(", ");
    // Folding ASCII keeps a value's length in characters (whatever the server's encoding), a
    // cheaper test than folding: most rows are passed over before any. When every value is
    // ASCII, its length in bytes is as exact (an original with any other byte cannot fold to
    // it, and ASCII is one byte a character in every server encoding) and cheaper still: the
    // server reads it off the value's header instead of counting characters.
    let ascii = values.iter().all(|v| v.is_ascii());
    let lengths: BTreeSet<usize> = values.iter().map(|v| v.chars().count()).collect();
    let lengths = lengths.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
    let length = if ascii { "octet_length" } else { "length" };
    let parts: Vec<String> = columns
        .iter()
        .map(|c| {
            let text = format!("({})::text", ident(c, false));
            format!("({length}({text}) IN ({lengths}) AND lower({text} COLLATE \"C\") IN ({list}))")
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

/// A string literal of one engine's SQL.
fn quote(text: &str, mysql: bool) -> String {
    let escaped = if mysql {
        text.replace('\\', "\\\\").replace('\'', "''")
    } else {
        text.replace('\'', "''")
    };
    format!("'{escaped}'")
}

/// A quoted identifier of one engine's SQL.
fn ident(name: &str, mysql: bool) -> String {
    if mysql {
        format!("`{}`", name.replace('`', "``"))
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_keys_are_pushed_down_quoted_for_the_engine() {
        let filter = Filter::Ids {
            columns: vec!["id".into(), "k\"ey".into()],
            ids: Default::default(),
            values: Some(vec![
                vec![b"1".to_vec(), b"it's".to_vec()],
                vec![b"2".to_vec(), b"a\\\\b".to_vec()],
            ]),
            condition: None,
        };
        let exact = |sql: &str| Some((sql.to_owned(), true));
        assert_eq!(
            push_down(&filter, Some(EngineKind::Postgres)),
            exact(r#"("id", "k""ey") IN (('1', 'it''s'), ('2', 'a\b'))"#)
        );
        assert_eq!(
            push_down(&filter, Some(EngineKind::Mariadb)),
            exact(r#"(`id`, `k"ey`) IN (('1', 'it''s'), ('2', 'a\\b'))"#)
        );
        let none = Filter::Ids {
            columns: vec!["id".into()],
            ids: Default::default(),
            values: None,
            condition: None,
        };
        assert_eq!(push_down(&none, Some(EngineKind::Postgres)), None);
        let empty = Filter::Ids {
            columns: vec!["id".into()],
            ids: Default::default(),
            values: Some(vec![]),
            condition: None,
        };
        assert_eq!(push_down(&empty, Some(EngineKind::Postgres)), exact("1 = 0"));
        // Start rows the source names itself: their condition, whatever the values.
        let sampled = Filter::Ids {
            columns: vec!["id".into()],
            ids: Default::default(),
            values: Some(vec![vec![b"1".to_vec()]]),
            condition: Some("hashed(id) < 5".into()),
        };
        assert_eq!(push_down(&sampled, Some(EngineKind::Postgres)), exact("hashed(id) < 5"));

        // A table kept as its parents' children: any link to a downstream parent row.
        let link = |columns: &[&str], values: Option<super::super::subset::KeyValues>| {
            super::super::subset::Link {
                columns: columns.iter().map(|c| c.to_string()).collect(),
                kept: Default::default(),
                down: Default::default(),
                down_values: values.map(Arc::new),
                condition: None,
            }
        };
        let children_links = || {
            vec![
                link(&["user_id"], Some(vec![vec![b"7".to_vec()], vec![b"9".to_vec()]])),
                link(&["a", "b"], Some(vec![vec![b"x".to_vec(), b"y".to_vec()]])),
                link(&["c"], Some(vec![])),
            ]
        };
        let children = Filter::Children { links: children_links(), follow_children: true };
        assert_eq!(
            push_down(&children, Some(EngineKind::Postgres)),
            exact(r#"("user_id" = ANY('{"7","9"}') OR ("a", "b") IN (('x', 'y')) OR 1 = 0)"#)
        );
        assert_eq!(
            push_down(&children, Some(EngineKind::Mysql)),
            exact(r#"(`user_id` IN ('7', '9') OR (`a`, `b`) IN (('x', 'y')) OR 1 = 0)"#)
        );
        // Under `follow: parents` a row with several links needs each parent kept: the rows
        // the source sends are looked at again. With one link, any is each.
        let parents = Filter::Children { links: children_links(), follow_children: false };
        assert_eq!(push_down(&parents, Some(EngineKind::Postgres)).map(|(_, e)| e), Some(false));
        let one = Filter::Children {
            links: vec![link(&["user_id"], Some(vec![vec![b"7".to_vec()]]))],
            follow_children: false,
        };
        assert_eq!(
            push_down(&one, Some(EngineKind::Postgres)),
            exact(r#""user_id" = ANY('{"7"}')"#).map(|(s, e)| (format!("({s})"), e))
        );
        // One key column on PostgreSQL: an array literal, its elements quoted for the array
        // and the whole for SQL.
        let odd = Filter::Ids {
            columns: vec!["name".into()],
            ids: Default::default(),
            values: Some(vec![vec![br#"a"b\\c'd"#.to_vec()], vec![b"e f".to_vec()]]),
            condition: None,
        };
        assert_eq!(
            push_down(&odd, Some(EngineKind::Postgres)),
            exact(r#""name" = ANY('{"a\"b\\c''d","e f"}')"#)
        );
        // One link whose values were too many to keep: nothing can be sent.
        let unknown = Filter::Children {
            links: vec![link(&["user_id"], Some(vec![])), link(&["c"], None)],
            follow_children: false,
        };
        assert_eq!(push_down(&unknown, Some(EngineKind::Mysql)), None);
    }

    #[test]
    fn lookups_fold_each_column() {
        let columns = vec!["email".to_owned(), "ph\"one".to_owned()];
        assert_eq!(
            folded_in(&columns, &["it's", "a\\b"]),
            r#"((octet_length(("email")::text) IN (3, 4) AND lower(("email")::text COLLATE "C") IN ('it''s', 'a\b')) OR (octet_length(("ph""one")::text) IN (3, 4) AND lower(("ph""one")::text COLLATE "C") IN ('it''s', 'a\b')))"#
        );
        // Beyond ASCII, lengths in characters (UTF-8 bytes are not the server's in every encoding).
        assert_eq!(
            folded_in(&columns[..1], &["é@x", "ab"]),
            r#"((length(("email")::text) IN (2, 3) AND lower(("email")::text COLLATE "C") IN ('é@x', 'ab')))"#
        );
    }

    #[test]
    fn masking_a_dense_domain_is_not_a_leak_but_a_copied_original_is() {
        // 5,000 ids in a domain of 100,000: a bijection maps some onto other people's ids.
        let key = Arc::new(MaskKey::derive(b"k"));
        let ids: Vec<String> =
            (0..5_000).map(|i| format!("{:02}-{:03}", i % 100, i / 100)).collect();
        let mut originals = Originals::bounded(ids.len() as u64);
        for id in &ids {
            originals.add(&key, id.as_bytes());
        }
        originals.seal();
        let text = ColumnShape::new(ValueKind::Text);
        let plan = TablePlan {
            name: "people".into(),
            columns: vec!["tax_id".into(), "note".into()],
            masks: vec![
                Some(ColumnMask {
                    masker: Masker::new(&key, &Rule::KeepFormat, &text),
                    rule: Rule::KeepFormat,
                    by: None,
                }),
                None,
            ],
            scanned: vec![true, true],
            filter: None,
            pushed: None,
            estimate: 0,
            format: Format::Text,
            codecs: Vec::new(),
        };
        let mut chunk = Vec::new();
        for id in &ids {
            chunk.extend_from_slice(format!("{id}\tnothing here\n").as_bytes());
        }
        chunk.extend_from_slice(format!("{}\tcall about {}\n", ids[5], ids[9]).as_bytes());
        let (mut out, mut stats) = (Vec::new(), Stats::new(2));
        let mut held = Held::default();
        assert_eq!(
            mask_chunk(&plan, Some(&originals), &chunk, &mut out, &mut stats, &mut held).unwrap(),
            5_001
        );
        let known: std::collections::HashSet<&[u8]> = ids.iter().map(|i| i.as_bytes()).collect();
        let collisions =
            out.split(|&b| b == b'\n').take(5_000).filter(|l| known.contains(&l[..6])).count();
        assert!(collisions > 0, "the test needs a dense domain");
        // The filter's suspects, confirmed against the originals as a copy does.
        let prints = stats.suspects.prints();
        let mut confirmed = std::collections::HashSet::new();
        for id in &ids {
            super::super::leak::confirm(&key, &prints, &mut confirmed, id.as_bytes());
        }
        assert_eq!(
            stats.suspects.cells(&confirmed),
            [0, 1],
            "only the note copied as it was counts"
        );
        assert_eq!(stats.unchanged, [0, 0]);

        // Before the originals are read, the same cells are held, and settle alike.
        let (mut later, mut held) = (Stats::new(2), Held::default());
        let rows = mask_chunk(&plan, None, &chunk, &mut Vec::new(), &mut later, &mut held);
        assert_eq!(rows, Ok(5_001));
        assert!(later.suspects.is_empty() && !held.is_empty());
        // "nothing here" holds nothing an original can be (no digit, no @): not held at all.
        assert_eq!(held.cells[1].len(), 1);
        assert!(!held.cells[1].contains_key(&b"nothing here"[..]));
        held.settle(&originals, &mut later);
        assert!(held.is_empty());
        assert_eq!(later.suspects.columns, stats.suspects.columns);
    }

    /// A binary plan over (id bigint, code integer masked by `rule`, note text).
    fn binary_plan(rule: Rule, codec: Codec) -> TablePlan {
        let key = Arc::new(MaskKey::derive(b"k"));
        let shape = ColumnShape::new(ValueKind::Integer).with_int_range(0, 99_999);
        TablePlan {
            name: "accounts".into(),
            columns: vec!["id".into(), "code".into(), "note".into()],
            masks: vec![
                None,
                Some(ColumnMask { masker: Masker::new(&key, &rule, &shape), rule, by: None }),
                None,
            ],
            scanned: vec![false, false, true],
            filter: None,
            pushed: None,
            estimate: 0,
            format: Format::Binary,
            codecs: vec![Some(Codec::Int8), Some(codec), Some(Codec::Text)],
        }
    }

    #[test]
    fn binary_rows_are_masked_in_place_and_a_value_of_no_type_stops_the_copy() {
        let mut chunk = Vec::new();
        for (id, code) in [(1i64, Some(12_345i32)), (2, None)] {
            chunk.extend_from_slice(&3i16.to_be_bytes());
            bulk::push_binary_field(&mut chunk, Some(&id.to_be_bytes()));
            let code = code.map(i32::to_be_bytes);
            bulk::push_binary_field(&mut chunk, code.as_ref().map(|c| &c[..]));
            bulk::push_binary_field(&mut chunk, Some(b"kept as it is"));
        }
        let plan = binary_plan(Rule::KeepFormat, Codec::Int4);
        let (mut out, mut stats, mut held) = (Vec::new(), Stats::new(3), Held::default());
        let rows = mask_chunk(&plan, None, &chunk, &mut out, &mut stats, &mut held);
        assert_eq!(rows, Ok(2));
        let rows: Vec<Vec<Option<&[u8]>>> =
            bulk::binary_rows(&out).map(|r| bulk::binary_fields(r).collect()).collect();
        assert_eq!(rows.len(), 2);
        let code =
            |row: &[Option<&[u8]>]| row[1].map(|c| i32::from_be_bytes(c.try_into().unwrap()));
        let masked = code(&rows[0]).unwrap();
        assert!((0..=99_999).contains(&masked) && masked != 12_345, "{masked}");
        assert_eq!(code(&rows[1]), None, "NULL stays NULL");
        for (row, id) in rows.iter().zip([1i64, 2]) {
            assert_eq!(row[0], Some(&id.to_be_bytes()[..]));
            assert_eq!(row[2], Some(&b"kept as it is"[..]));
        }
        // The same rule over text rows gives the same value.
        let mut text = Vec::new();
        let text_plan =
            TablePlan { format: Format::Text, ..binary_plan(Rule::KeepFormat, Codec::Int4) };
        let rows = mask_chunk(&text_plan, None, b"1\t12345\tx\n", &mut text, &mut stats, &mut held);
        assert_eq!(rows, Ok(1));
        assert_eq!(text, format!("1\t{masked}\tx\n").into_bytes());
        // A rule whose output is no value of the column's type (a word into an integer) stops
        // the copy, naming the column.
        let plan = binary_plan(Rule::Constant("unknown".into()), Codec::Int4);
        let stopped = mask_chunk(&plan, None, &chunk, &mut Vec::new(), &mut stats, &mut held);
        let message = stopped.unwrap_err();
        assert!(message.contains("accounts.code"), "{message}");
    }
}
