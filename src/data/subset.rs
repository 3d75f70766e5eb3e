//! Subsetting: which rows of a production source a masked copy keeps, so that every kept row's
//! parents come along and every foreign key holds in the copy.
//!
//! The tables form a graph whose edges are the declared foreign keys plus the seed files'
//! `relations` (which may point into another service's database: the graph spans every source
//! copied in the run). Tables connected to a `start` table are subset; the others are copied
//! whole. Rows are kept by a least fixpoint over scans of key columns only (never whole rows):
//! a row stays when it is a start row, when a kept row references it (its parents come along),
//! or when it is downstream of the start rows (it references a start row, or a row kept that
//! way) and either every parent it references is kept already (`follow: parents`, a child that
//! costs nothing) or `follow: children` is asked (it comes along and pulls its own parents).
//! Rows kept only as parents pull no children, so a subset does not grow back into the whole
//! database through a shared parent such as a team or a category. The sets only grow, so the
//! scans stop; cycles and self-references need nothing special. Rows and key values are
//! remembered as 64-bit hashes of their text, so memory follows the kept keys, not the data.
//!
//! Scans are spared where the answer is known: tables are scanned parents first; a table is
//! scanned again only when a parent kept more after its scan began, or when rows it does not
//! keep yet are asked for; a database source decides the start rows itself (`where`, a
//! `percent` share by a hash it computes, `limit` lowest keys first), so a start table that is
//! nobody's child reads only those, and its copy sends the same condition again; a CSV
//! export's share is decided in the table's own scan. A leaf whose rows can only reference kept
//! rows (one link, or `follow: parents`) is not scanned at all: its rows are picked while it is
//! copied, and the source is sent its parents' downstream keys as a condition. A copy whose
//! condition selects exactly the kept rows passes them on without a second look.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hasher;
use std::sync::Arc;

use siphasher::sip::SipHasher13;

use super::maskfile::Follow;
use super::seedfile::SeedFile;
use super::source::SourceDb;
use crate::engine::EngineError;
use crate::engine::bulk;
use crate::event::DbRef;
use crate::profile::ProfileError;
use crate::schema::Catalog;

/// One source database taking part in the run.
pub struct SubsetDb<'a> {
    pub db: DbRef,
    pub source: &'a SourceDb,
    /// The schema whose keys define the graph (the source's, or the target's for CSV exports).
    pub catalog: &'a Catalog,
    pub file: &'a SeedFile,
    /// Tables the copy writes.
    pub tables: BTreeSet<String>,
}

/// Key values as the source printed them: per row, its key's fields as raw text.
pub type KeyValues = Vec<Vec<Vec<u8>>>;

/// Rows' key hashes ([`hash_fields`]): uniform already, so the set hashes them no further.
pub type RowSet = HashSet<u64, std::hash::BuildHasherDefault<Unhashed>>;

/// The hasher of [`RowSet`]: a `u64` is its own hash.
#[derive(Default)]
pub struct Unhashed(u64);

impl Hasher for Unhashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// How the copy filters one table's rows.
#[derive(Debug)]
pub enum Filter {
    /// Rows whose identity (primary key) hashes into `ids`; `values` holds their identities as
    /// raw text fields (when there are few enough to send the source as a condition), and
    /// `condition` the source's own condition for exactly these rows, when it has one (a start
    /// table's `percent` or `limit` share that nothing else added rows to).
    Ids { columns: Vec<String>, ids: RowSet, values: Option<KeyValues>, condition: Option<String> },
    /// A table without a key of its own: rows referencing kept rows only.
    Children { links: Vec<Link>, follow_children: bool },
}

#[derive(Debug)]
pub struct Link {
    pub columns: Vec<String>,
    /// Key values of the parent's kept rows.
    pub kept: Arc<RowSet>,
    /// Key values of the parent's start and pulled rows.
    pub down: Arc<RowSet>,
    /// Their text, when few enough to send the source as a condition.
    pub down_values: Option<Arc<KeyValues>>,
    /// The source's own condition for exactly the rows whose link reaches the parent's start
    /// rows (the parent's `percent` share, computed on the link's columns); the parent was not
    /// scanned, so `kept` and `down` are empty.
    pub condition: Option<String>,
}

impl Filter {
    /// Whether a row is kept, given the raw text of [`Filter::columns`] in order.
    pub fn keeps(&self, fields: &[&[u8]]) -> bool {
        match self {
            Filter::Ids { ids, .. } => ids.contains(&hash_fields(fields.iter().copied())),
            Filter::Children { links, follow_children } => {
                let mut at = 0;
                let (mut all_kept, mut reached) = (true, false);
                for link in links {
                    let part = &fields[at..at + link.columns.len()];
                    at += link.columns.len();
                    if part.iter().any(|f| *f == b"\\N") {
                        continue;
                    }
                    let h = hash_fields(part.iter().copied());
                    all_kept &= link.kept.contains(&h);
                    reached |= link.down.contains(&h);
                }
                reached && (*follow_children || all_kept)
            }
        }
    }

    /// The columns [`Filter::keeps`] reads, in order.
    pub fn columns(&self) -> Vec<String> {
        match self {
            Filter::Ids { columns, .. } => columns.clone(),
            Filter::Children { links, .. } => {
                links.iter().flat_map(|l| l.columns.iter().cloned()).collect()
            }
        }
    }
}

/// What the subset keeps of one database: a filter per subset table; absent tables are whole.
#[derive(Debug, Default)]
pub struct DbSubset {
    pub filters: BTreeMap<String, Arc<Filter>>,
    /// Passes the fixpoint took, for the report.
    pub passes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SubsetError {
    #[error("the subset does not fit the schema")]
    Plan { db: usize, errors: Vec<ProfileError> },
    #[error("failed to read {table} for the subset")]
    Read {
        db: usize,
        table: String,
        #[source]
        source: EngineError,
    },
}

/// The hash of a row's key fields as text (`\N` for NULL), the same in every table and database
/// so a foreign key's value meets its parent's.
pub fn hash_fields<'f>(fields: impl IntoIterator<Item = &'f [u8]>) -> u64 {
    let mut hasher = SipHasher13::new_with_keys(0x6462_7477_696e_7375, 0x6273_6574_2d6b_6579);
    for field in fields {
        hasher.write(field);
        hasher.write_u8(0x1f);
    }
    hasher.finish()
}

type Node = usize;

/// Kept rows of a table up to which their keys are sent to the source as a condition.
const PUSH_DOWN_MAX: usize = 1_000_000;

struct TableNode {
    db: usize,
    table: String,
    /// The key naming a row (primary key, or a unique key of NOT NULL columns).
    identity: Option<Vec<String>>,
    /// Columns scanned: identity, then every column an edge reads.
    scan: Vec<String>,
}

struct Edge {
    child: Node,
    columns: Vec<String>,
    parent: Node,
    ref_columns: Vec<String>,
}

/// Plans the subsets of every database of the run together (relations may cross them).
pub async fn plan(dbs: &[SubsetDb<'_>]) -> Result<Vec<DbSubset>, SubsetError> {
    let mut result: Vec<DbSubset> = dbs.iter().map(|_| DbSubset::default()).collect();
    if dbs.iter().all(|d| d.file.masked.subset.is_whole()) {
        return Ok(result);
    }
    let (nodes, edges) = graph(dbs)?;
    let index: HashMap<(usize, &str), Node> =
        nodes.iter().enumerate().map(|(i, n)| ((n.db, n.table.as_str()), i)).collect();

    // Tables connected to a start table, whichever way the edges go.
    let mut starts: Vec<Node> = Vec::new();
    for (d, db) in dbs.iter().enumerate() {
        for table in db.file.masked.subset.start.keys() {
            starts.extend(index.get(&(d, table.as_str())).copied());
        }
    }
    let mut in_subset = vec![false; nodes.len()];
    let mut queue: VecDeque<Node> = starts.iter().copied().collect();
    while let Some(n) = queue.pop_front() {
        if std::mem::replace(&mut in_subset[n], true) {
            continue;
        }
        for e in &edges {
            if e.child == n && !in_subset[e.parent] {
                queue.push_back(e.parent);
            }
            if e.parent == n && !in_subset[e.child] {
                queue.push_back(e.child);
            }
        }
    }

    let members = parents_first(&nodes, &edges, &in_subset);
    let follow_children = |n: Node| dbs[nodes[n].db].file.masked.subset.follow == Follow::Children;
    // A leaf (nothing in the subset references it, not a start table) whose kept rows can only
    // reference kept rows is not scanned: its rows are exactly those referencing its parents'
    // downstream rows, decided while it is copied. That is the case under `follow: parents`
    // (a row comes only when every parent is kept) and for a single link.
    let deferred: Vec<bool> = (0..nodes.len())
        .map(|n| {
            let links = edges.iter().filter(|e| e.child == n && in_subset[e.parent]).count();
            in_subset[n]
                && !starts.contains(&n)
                && links > 0
                && !edges.iter().any(|e| e.parent == n && in_subset[e.child])
                && (links == 1 || !follow_children(n))
        })
        .collect();

    // The key sets, by slot: a (table, columns) pair that rows are looked up by.
    let mut slots: Vec<(Node, Vec<String>)> = Vec::new();
    let mut slot =
        |n: Node, cols: &[String]| match slots.iter().position(|(m, c)| *m == n && c == cols) {
            Some(i) => i,
            None => {
                slots.push((n, cols.to_vec()));
                slots.len() - 1
            }
        };
    struct Plan {
        /// Positions of the identity in the scanned fields.
        identity: Option<Vec<usize>>,
        /// Slots of the columns others reference (and the identity), with their positions.
        referenced: Vec<(usize, Vec<usize>)>,
        /// Parents in the subset: their node, the slot the link points at, our columns' positions.
        parents: Vec<(Node, usize, Vec<usize>)>,
    }
    let plans: Vec<Plan> = (0..nodes.len())
        .map(|n| {
            let node = &nodes[n];
            let position = |c: &String| node.scan.iter().position(|s| s == c).unwrap_or(0);
            let referenced: BTreeSet<Vec<String>> = edges
                .iter()
                .filter(|e| e.parent == n && in_subset[e.child])
                .map(|e| e.ref_columns.clone())
                .chain(node.identity.clone())
                .collect();
            Plan {
                identity: node.identity.as_ref().map(|cols| cols.iter().map(position).collect()),
                referenced: referenced
                    .into_iter()
                    .map(|cols| (slot(n, &cols), cols.iter().map(position).collect()))
                    .collect(),
                parents: edges
                    .iter()
                    .filter(|e| e.child == n && in_subset[e.parent])
                    .map(|e| {
                        (
                            e.parent,
                            slot(e.parent, &e.ref_columns),
                            e.columns.iter().map(position).collect(),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    // The key values of kept rows, of rows other kept rows need, and of start and pulled rows
    // (downstream); the text of downstream values a deferred leaf's copy can send its source.
    let mut keys: Vec<RowSet> = vec![RowSet::default(); slots.len()];
    let mut need: Vec<RowSet> = vec![RowSet::default(); slots.len()];
    let mut down: Vec<RowSet> = vec![RowSet::default(); slots.len()];
    let mut down_values: Vec<Option<KeyValues>> = (0..slots.len())
        .map(|s| {
            let wanted = (0..nodes.len())
                .any(|n| deferred[n] && plans[n].parents.iter().any(|(_, ps, _)| *ps == s));
            wanted.then(Vec::new)
        })
        .collect();

    // Start rows. A database source decides them itself (its `where`, a `percent` share by a
    // hash it computes, a `limit` in key order): a start table no other subset table is a
    // parent of reads only them in its first scan; others read their start keys first. A CSV
    // export's share is decided while its rows are scanned.
    let mut start: HashMap<Node, RowSet> = HashMap::new();
    let mut share: HashMap<Node, f64> = HashMap::new();
    let mut start_query: Vec<Option<String>> = vec![None; nodes.len()];
    // The start condition again, for the copy: when it names the same rows in every session of
    // the snapshot (no `where`, which may call now() or random()).
    let mut repeatable: Vec<Option<String>> = vec![None; nodes.len()];
    // A start table's share when it is all its rule says (no `where`, no `limit`): its rows
    // are then a pure function of their key, which a child's link can be hashed by instead.
    let mut pure_share: Vec<Option<f64>> = vec![None; nodes.len()];
    for &n in &starts {
        let node = &nodes[n];
        let db = &dbs[node.db];
        let rule = &db.file.masked.subset.start[&node.table];
        let Some(identity) = &node.identity else {
            return Err(SubsetError::Plan {
                db: node.db,
                errors: vec![db.file.error(
                    &rule.key,
                    format!("{} has no primary key to start a subset from", node.table),
                )],
            });
        };
        if !db.source.queries() {
            if rule.filter.is_some() {
                return Err(SubsetError::Plan {
                    db: node.db,
                    errors: vec![db.file.error(
                        &rule.key,
                        "`where` needs a database source; CSV exports take `percent` and `limit`",
                    )],
                });
            }
            let percent = rule.percent.unwrap_or(100.0);
            let Some(limit) = rule.limit else {
                share.insert(n, percent);
                continue;
            };
            let mut ids = RowSet::default();
            scan(db.source, node.db, &node.table, identity, None, |fields| {
                let h = hash_fields(fields.iter().copied());
                if (ids.len() as u64) < limit && sampled(h, percent) {
                    ids.insert(h);
                }
            })
            .await?;
            start.insert(n, ids);
            continue;
        }
        let mut parts: Vec<String> = rule.filter.iter().map(|f| format!("({f})")).collect();
        if let Some(p) = rule.percent.filter(|&p| p < 100.0) {
            parts.push(sample_condition(
                db,
                identity,
                integer_key(db.catalog, &node.table, identity),
                p,
            ));
        }
        let mut condition = if parts.is_empty() { "1 = 1".to_owned() } else { parts.join(" AND ") };
        if let Some(limit) = rule.limit {
            condition = format!("{condition} ORDER BY {} LIMIT {limit}", order_by(db, identity));
        }
        if rule.filter.is_none() {
            repeatable[n] = Some(condition.clone());
            if rule.limit.is_none() {
                pure_share[n] = rule.percent.filter(|&p| p < 100.0);
            }
        }
        if plans[n].parents.is_empty() {
            start_query[n] = Some(condition);
            continue;
        }
        let mut ids = RowSet::default();
        scan(db.source, node.db, &node.table, identity, Some(&condition), |fields| {
            ids.insert(hash_fields(fields.iter().copied()));
        })
        .await?;
        start.insert(n, ids);
    }

    // A start table that reads only its start rows, decided by a share alone, whose every
    // child in the subset is a leaf copied by one link to its key, on the same server, with
    // the same types: nothing needs its rows' keys, so it is not scanned at all. Each child's
    // copy asks for rows whose link falls in the same share (one hash per row, where a list of
    // the parent's keys would first be read, sent and parsed).
    let unscanned: Vec<bool> = (0..nodes.len())
        .map(|n| {
            let (Some(_), Some(identity)) = (&start_query[n], &nodes[n].identity) else {
                return false;
            };
            let mut children = edges.iter().filter(|e| e.parent == n && in_subset[e.child]);
            pure_share[n].is_some()
                && children.all(|e| {
                    let child = &nodes[e.child];
                    deferred[e.child]
                        && plans[e.child].parents.len() == 1
                        && child.db == nodes[n].db
                        && &e.ref_columns == identity
                        && e.columns.iter().zip(identity).all(|(c, p)| {
                            let ty = |t: &str, c: &str| column_type(dbs[child.db].catalog, t, c);
                            same_key_type(ty(&child.table, c), ty(&nodes[n].table, p))
                        })
                })
        })
        .collect();

    // The fixpoint.
    let mut kept: Vec<RowSet> = vec![RowSet::default(); nodes.len()];
    // The kept identities as text, while there are few enough to push down to the source.
    let mut values: Vec<Option<KeyValues>> = vec![Some(Vec::new()); nodes.len()];
    // Only tables whose inputs changed are scanned again: a table whose own rows were asked
    // for, or one of whose parents kept more after the table's last scan began. The sets only
    // grow, so this ends; each pass of a long self-referencing chain whose parents come later
    // in the scan adds at least one row.
    let mut passes = 0;
    let mut dirty: Vec<bool> = (0..nodes.len()).map(|n| !deferred[n] && !unscanned[n]).collect();
    let scanned: Vec<Node> =
        members.iter().copied().filter(|&n| !deferred[n] && !unscanned[n]).collect();
    // Scans are numbered: the last scan each table began, and the last in which it kept more.
    let (mut scans, mut began, mut grew) =
        (0usize, vec![0usize; nodes.len()], vec![0; nodes.len()]);
    loop {
        passes += 1;
        for &n in &scanned {
            if !std::mem::replace(&mut dirty[n], false) {
                continue;
            }
            scans += 1;
            began[n] = scans;
            let (mut own_changed, mut asked) = (false, HashSet::new());
            let node = &nodes[n];
            let plan = &plans[n];
            let children = follow_children(n);
            // A start table no subset table is a parent of reads only its start rows first.
            let only_start = start_query[n].take();
            let mut new_start = RowSet::default();
            let (starting, share) = (start.get(&n), share.get(&n).copied());
            let (kept, values) = (&mut kept[n], &mut values[n]);
            let db = &dbs[node.db];
            let filter = only_start.as_deref();
            scan(db.source, node.db, &node.table, &node.scan, filter, |fields| {
                let pick = |at: &[usize]| hash_fields(at.iter().map(|&i| fields[i]));
                let id = plan.identity.as_deref().map(pick);
                let is_start = match id {
                    Some(id) if only_start.is_some() => {
                        new_start.insert(id);
                        true
                    }
                    Some(id) => {
                        starting.is_some_and(|s| s.contains(&id))
                            || share.is_some_and(|p| sampled(id, p))
                    }
                    None => false,
                };
                // The identity is among the referenced keys: hashed once.
                let key = |at: &Vec<usize>| match id {
                    Some(id) if plan.identity.as_ref() == Some(at) => id,
                    _ => pick(at),
                };
                let needed = plan.referenced.iter().any(|(s, at)| need[*s].contains(&key(at)));
                // Downstream of the start rows: a child of a start row (or of such a child).
                let (mut all_kept, mut reached) = (true, false);
                for (_, s, at) in &plan.parents {
                    if at.iter().any(|&i| fields[i] == b"\\N") {
                        continue;
                    }
                    let h = pick(at);
                    all_kept &= keys[*s].contains(&h);
                    reached |= down[*s].contains(&h);
                }
                let pulled = reached && (children || all_kept);
                if !(is_start || needed || pulled) {
                    return;
                }
                if let Some(id) = id
                    && kept.insert(id)
                {
                    own_changed = true;
                    match values {
                        Some(v) if v.len() < PUSH_DOWN_MAX => v.push(
                            plan.identity.iter().flatten().map(|&i| fields[i].to_vec()).collect(),
                        ),
                        _ => *values = None,
                    }
                }
                for (s, at) in &plan.referenced {
                    let h = key(at);
                    own_changed |= keys[*s].insert(h);
                    if (is_start || pulled) && down[*s].insert(h) {
                        own_changed = true;
                        if let Some(list) = &mut down_values[*s] {
                            if list.len() < PUSH_DOWN_MAX {
                                list.push(at.iter().map(|&i| fields[i].to_vec()).collect());
                            } else {
                                down_values[*s] = None;
                            }
                        }
                    }
                }
                for (parent, s, at) in &plan.parents {
                    if at.iter().any(|&i| fields[i] == b"\\N") {
                        continue;
                    }
                    let h = pick(at);
                    // A parent row kept already needs no new scan of the parent.
                    if need[*s].insert(h) && !keys[*s].contains(&h) {
                        asked.insert(*parent);
                    }
                }
            })
            .await?;
            if only_start.is_some() {
                start.insert(n, new_start);
            }
            if own_changed {
                grew[n] = scans;
            }
            for parent in asked {
                dirty[parent] = true;
            }
        }
        // A child whose parent kept more after the child's scan began may now be downstream of
        // it or fully kept (a self-reference: when it kept more in its own scan).
        for e in &edges {
            if in_subset[e.child] && !deferred[e.child] && grew[e.parent] >= began[e.child].max(1) {
                dirty[e.child] = true;
            }
        }
        if !scanned.iter().any(|&n| dirty[n]) {
            break;
        }
    }

    let keys: Vec<Arc<RowSet>> = keys.into_iter().map(Arc::new).collect();
    let down: Vec<Arc<RowSet>> = down.into_iter().map(Arc::new).collect();
    let down_values: Vec<Option<Arc<KeyValues>>> =
        down_values.into_iter().map(|v| v.map(Arc::new)).collect();
    for &n in &members {
        let node = &nodes[n];
        let filter = match &node.identity {
            Some(columns) if !deferred[n] => {
                let ids = std::mem::take(&mut kept[n]);
                // Kept rows are start rows and more: the same count, the same rows.
                let only_start =
                    unscanned[n] || start.get(&n).is_some_and(|s| s.len() == ids.len());
                Filter::Ids {
                    columns: columns.clone(),
                    ids,
                    values: values[n].take(),
                    condition: repeatable[n].take().filter(|_| only_start),
                }
            }
            _ => Filter::Children {
                // The plan's parents are these edges, in this order, with their slots.
                links: edges
                    .iter()
                    .filter(|e| e.child == n && in_subset[e.parent])
                    .zip(&plans[n].parents)
                    .map(|(e, &(_, s, _))| Link {
                        columns: e.columns.clone(),
                        kept: keys[s].clone(),
                        down: down[s].clone(),
                        down_values: down_values[s].clone(),
                        condition: pure_share[e.parent].filter(|_| unscanned[e.parent]).map(|p| {
                            let parent = &nodes[e.parent];
                            let integer =
                                integer_key(dbs[parent.db].catalog, &parent.table, &e.ref_columns);
                            sample_condition(&dbs[node.db], &e.columns, integer, p)
                        }),
                    })
                    .collect(),
                follow_children: follow_children(n),
            },
        };
        result[node.db].filters.insert(node.table.clone(), Arc::new(filter));
        result[node.db].passes = passes;
    }
    Ok(result)
}

/// Whether a row whose identity hashes to `h` is in a deterministic `percent` share: the same
/// rows on every run, whatever the masking key.
fn sampled(h: u64, percent: f64) -> bool {
    ((h >> 11) as f64 / (1u64 << 53) as f64) * 100.0 < percent
}

/// The subset's tables, parents before their children where the graph allows (a cycle is cut
/// anywhere), so that one pass sees most parents' rows before their children's.
fn parents_first(nodes: &[TableNode], edges: &[Edge], in_subset: &[bool]) -> Vec<Node> {
    fn visit(n: Node, edges: &[Edge], in_subset: &[bool], seen: &mut [bool], out: &mut Vec<Node>) {
        if std::mem::replace(&mut seen[n], true) {
            return;
        }
        for e in edges.iter().filter(|e| e.child == n && in_subset[e.parent]) {
            visit(e.parent, edges, in_subset, seen, out);
        }
        out.push(n);
    }
    let mut seen = vec![false; nodes.len()];
    let mut out = Vec::new();
    for n in (0..nodes.len()).filter(|&n| in_subset[n]) {
        visit(n, edges, in_subset, &mut seen, &mut out);
    }
    out
}

/// Every table to copy as a node, every foreign key and relation between them as an edge.
fn graph(dbs: &[SubsetDb<'_>]) -> Result<(Vec<TableNode>, Vec<Edge>), SubsetError> {
    let mut nodes = Vec::new();
    let mut index: HashMap<(usize, String), Node> = HashMap::new();
    for (d, db) in dbs.iter().enumerate() {
        for name in &db.tables {
            let Some(table) = db.catalog.tables.get(name) else { continue };
            let not_null = |cols: &[String]| {
                cols.iter().all(|c| table.columns.iter().any(|col| &col.name == c && !col.nullable))
            };
            // The primary key, else a unique key of NOT NULL columns, else any unique key (a
            // foreign key can point at one: its referenced rows have no NULL in it).
            let uniques = || {
                table.uniques.iter().map(|k| k.columns.clone()).chain(
                    table
                        .indexes
                        .iter()
                        .filter(|i| i.unique && i.columns.iter().all(|c| has_column(table, c)))
                        .map(|i| i.columns.clone()),
                )
            };
            let identity = table
                .primary_key
                .as_ref()
                .map(|k| k.columns.clone())
                .or_else(|| uniques().find(|cols| not_null(cols)))
                .or_else(|| uniques().next());
            index.insert((d, name.clone()), nodes.len());
            nodes.push(TableNode { db: d, table: name.clone(), identity, scan: Vec::new() });
        }
    }
    let mut edges = Vec::new();
    for (d, db) in dbs.iter().enumerate() {
        let mut errors = Vec::new();
        for (name, table) in &db.catalog.tables {
            let Some(&child) = index.get(&(d, name.clone())) else { continue };
            for fk in &table.foreign_keys {
                if let Some(&parent) = index.get(&(d, fk.ref_table.clone())) {
                    edges.push(Edge {
                        child,
                        columns: fk.columns.clone(),
                        parent,
                        ref_columns: fk.ref_columns.clone(),
                    });
                }
            }
        }
        for relation in &db.file.masked.subset.relations {
            let target = match &relation.database {
                None => Some(d),
                Some(name) => resolve(dbs, name),
            };
            let Some(target) = target else {
                errors.push(db.file.error(
                    &child_key(&relation.key, "in"),
                    format!(
                        "no database `{}` is copied from a source in this run",
                        relation.database.as_deref().unwrap_or_default()
                    ),
                ));
                continue;
            };
            let checks = [
                (d, &relation.table, &relation.columns, "from"),
                (target, &relation.ref_table, &relation.ref_columns, "to"),
            ];
            let mut ok = true;
            for (db_index, table, columns, key) in checks {
                let catalog = dbs[db_index].catalog;
                match catalog.tables.get(table.as_str()) {
                    None => {
                        errors.push(db.file.error(
                            &child_key(&relation.key, key),
                            format!("no table {table} in {}", dbs[db_index].db),
                        ));
                        ok = false;
                    }
                    Some(t) => {
                        for c in columns {
                            if !t.columns.iter().any(|col| &col.name == c) {
                                errors.push(db.file.error(
                                    &child_key(&relation.key, key),
                                    format!("no column {table}.{c} in {}", dbs[db_index].db),
                                ));
                                ok = false;
                            }
                        }
                    }
                }
            }
            if !ok {
                continue;
            }
            let (Some(&child), Some(&parent)) = (
                index.get(&(d, relation.table.clone())),
                index.get(&(target, relation.ref_table.clone())),
            ) else {
                continue;
            };
            edges.push(Edge {
                child,
                columns: relation.columns.clone(),
                parent,
                ref_columns: relation.ref_columns.clone(),
            });
        }
        for (table, rule) in &db.file.masked.subset.start {
            if !index.contains_key(&(d, table.clone())) {
                errors.push(
                    db.file.error(&rule.key, format!("no table {table} is copied from the source")),
                );
            }
        }
        if !errors.is_empty() {
            return Err(SubsetError::Plan { db: d, errors });
        }
    }
    for (n, node) in nodes.iter_mut().enumerate() {
        let mut scan: Vec<String> = node.identity.clone().unwrap_or_default();
        for e in &edges {
            let columns = if e.child == n {
                &e.columns
            } else if e.parent == n {
                &e.ref_columns
            } else {
                continue;
            };
            for c in columns {
                if !scan.contains(c) {
                    scan.push(c.clone());
                }
            }
        }
        node.scan = scan;
    }
    Ok((nodes, edges))
}

fn has_column(table: &crate::schema::Table, column: &str) -> bool {
    table.columns.iter().any(|c| c.name == column)
}

/// `service` or `service.database` among the run's databases.
pub(super) fn resolve(dbs: &[SubsetDb<'_>], name: &str) -> Option<usize> {
    let (service, database) = match name.split_once('.') {
        Some((s, d)) => (s, Some(d)),
        None => (name, None),
    };
    let matching: Vec<usize> = (0..dbs.len())
        .filter(|&i| {
            dbs[i].db.service == service && database.is_none_or(|d| dbs[i].db.database == d)
        })
        .collect();
    (matching.len() == 1).then(|| matching[0])
}

fn child_key(key: &str, name: &str) -> String {
    crate::profile::child(key, name)
}

/// `ORDER BY` over the identity, quoted for the source's engine.
fn order_by(db: &SubsetDb<'_>, columns: &[String]) -> String {
    quoted(db, columns).join(", ")
}

/// Whether the source speaks MySQL's SQL (MySQL, MariaDB) rather than PostgreSQL's.
fn mysql(db: &SubsetDb<'_>) -> bool {
    db.source.kind().is_some_and(|k| k != crate::profile::EngineKind::Postgres)
}

fn quoted(db: &SubsetDb<'_>, columns: &[String]) -> Vec<String> {
    let mysql = mysql(db);
    columns
        .iter()
        .map(|c| {
            if mysql {
                format!("`{}`", c.replace('`', "``"))
            } else {
                format!("\"{}\"", c.replace('"', "\"\""))
            }
        })
        .collect()
}

/// The source's own condition for a deterministic `percent` share of a table's rows: a hash of
/// the key (`columns`) that the server computes, below the share of its range. PostgreSQL
/// hashes an `integer` key as a `bigint` (`hashint8extended`, as cheap as a modulo) and other
/// keys as text under the "C" collation (`hashtextextended`); both are the functions hash
/// partitioning relies on, stable across versions. MySQL and MariaDB take the `CRC32` of the
/// key's text. The same rows on every run and for every masking key, and the rest is never
/// sent; a child's link to the key, of the same types, falls in the share with its parent.
fn sample_condition(db: &SubsetDb<'_>, columns: &[String], integer: bool, percent: f64) -> String {
    let columns = quoted(db, columns);
    let share = |range: f64| (percent / 100.0 * range) as u64;
    if mysql(db) {
        let below = share(4_294_967_296.0);
        return format!("CRC32(CONCAT_WS(CHAR(31), {})) < {below}", columns.join(", "));
    }
    const SEED: u64 = 0x6462_7477_696e;
    let hash = match &columns[..] {
        [column] if integer => format!("hashint8extended({column}::bigint, {SEED})"),
        [column] => format!("hashtextextended({column}::text COLLATE \"C\", {SEED})"),
        _ => format!(
            "hashtextextended(concat_ws(E'\\x1f', {}) COLLATE \"C\", {SEED})",
            columns.join(", ")
        ),
    };
    let below = share((1u64 << 53) as f64);
    format!("({hash} & {}) < {below}", (1u64 << 53) - 1)
}

/// Whether `columns` of `table` are one integer column.
fn integer_key(catalog: &Catalog, table: &str, columns: &[String]) -> bool {
    match columns {
        [column] => column_type(catalog, table, column).is_some_and(integer_type),
        _ => false,
    }
}

/// Whether a link column and the key it references hash alike: the same type, or two integer
/// types (an `integer` key referenced from a `bigint` column prints, and hashes, the same).
fn same_key_type(child: Option<&str>, parent: Option<&str>) -> bool {
    match (child, parent) {
        (Some(c), Some(p)) => c == p || (integer_type(c) && integer_type(p)),
        _ => false,
    }
}

/// An integer type as PostgreSQL, MySQL or MariaDB print it.
fn integer_type(data_type: &str) -> bool {
    matches!(
        data_type.trim_end_matches(" unsigned"),
        "smallint" | "integer" | "bigint" | "tinyint" | "mediumint" | "int"
    )
}

fn column_type<'c>(catalog: &'c Catalog, table: &str, column: &str) -> Option<&'c str> {
    Some(catalog.tables.get(table)?.column(column)?.data_type.as_str())
}

/// Streams `columns` of `table` and hands each row's raw fields to `row`.
async fn scan(
    source: &SourceDb,
    db: usize,
    table: &str,
    columns: &[String],
    filter: Option<&str>,
    mut row: impl FnMut(&[&[u8]]),
) -> Result<(), SubsetError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let reading = source.stream_serial(table, columns, filter, tx);
    let consuming = async {
        while let Some(chunk) = rx.recv().await {
            let mut fields: Vec<&[u8]> = Vec::with_capacity(columns.len());
            for line in bulk::lines(&chunk) {
                fields.clear();
                fields.extend(bulk::fields(line));
                row(&fields);
            }
        }
    };
    let (read, ()) = tokio::join!(reading, consuming);
    read.map(|_| ()).map_err(|source| SubsetError::Read { db, table: table.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_hashes_with_its_key_when_their_types_print_alike() {
        assert!(same_key_type(Some("bigint"), Some("integer")));
        assert!(same_key_type(Some("int unsigned"), Some("bigint")));
        assert!(same_key_type(Some("text"), Some("text")));
        assert!(!same_key_type(Some("numeric(10,2)"), Some("integer")));
        assert!(!same_key_type(Some("character varying(20)"), Some("text")));
        assert!(!same_key_type(None, Some("integer")));
    }

    #[test]
    fn dbtwins_own_share_is_about_the_percent_asked() {
        // A CSV export's share, decided by dbtwin's hash of the key's text.
        let kept = (0..100_000u64)
            .filter(|&i| sampled(hash_fields([i.to_string().as_bytes()]), 10.0))
            .count();
        assert!((9_000..11_000).contains(&kept), "{kept}");
    }
}
