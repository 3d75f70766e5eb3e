//! The plan: the folder's files set against a database's history, with no I/O. Which files are
//! applied, which pending (in the order they will run), which were edited after they ran, which
//! the history has and the folder does not, and which failed earlier and need a hand.

use serde::Serialize;

use super::discover::{MigrationFile, MigrationKind, Version};
use crate::engine::HistoryRow;

/// An applied migration whose file changed since.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub script: String,
    pub rank: i64,
    pub recorded: String,
    pub current: String,
}

/// A migration recorded as failed (on an engine without transactional DDL, or a file that opted
/// out of its transaction): part of it may have stayed applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failed {
    pub script: String,
    pub statements_applied: i64,
    pub statements_total: i64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// Scripts applied and unchanged.
    pub applied: Vec<String>,
    /// Indexes into the files, in the order they will run: versioned ones by version, then
    /// repeatables that are new or changed.
    #[serde(skip)]
    pub pending: Vec<usize>,
    /// Scripts of `pending`, for reports.
    #[serde(rename = "pending")]
    pub pending_scripts: Vec<String>,
    /// Pending versioned scripts older than the newest applied one (a merged branch): they still
    /// run, with a warning, because on a laptop refusing them helps nobody.
    pub out_of_order: Vec<String>,
    pub changed: Vec<Changed>,
    /// History entries whose file is gone from the folder (`version script`).
    pub missing: Vec<String>,
    pub failed: Vec<Failed>,
}

impl Plan {
    /// Nothing to run and nothing wrong.
    pub fn is_clean(&self) -> bool {
        self.pending.is_empty() && self.changed.is_empty() && self.failed.is_empty()
    }
}

/// Compares files with history. `history` is oldest first; a later row for the same migration
/// supersedes an earlier one (a repeatable applied again, a failure repaired and re-run).
/// `atomic_statements`: a statement that failed left nothing behind on this engine, so a file
/// that failed on its first statement changed nothing and is simply pending again.
pub fn plan(files: &[MigrationFile], history: &[HistoryRow], atomic_statements: bool) -> Plan {
    let mut plan = Plan::default();
    let version_of = |row: &HistoryRow| row.version.as_deref().and_then(Version::parse);
    // The latest row per migration: versioned by version, repeatables by script.
    let latest = |file: &MigrationFile| -> Option<&HistoryRow> {
        history.iter().rev().find(|row| match &file.kind {
            MigrationKind::Versioned(v) => version_of(row).as_ref() == Some(v),
            MigrationKind::Repeatable => row.version.is_none() && row.script == file.script,
        })
    };
    let newest_applied = history.iter().filter(|r| r.success).filter_map(version_of).max();
    for (index, file) in files.iter().enumerate() {
        match (latest(file), &file.kind) {
            // A failure before its first statement completed changed nothing: run it again.
            (Some(row), _) if !row.success && row.statements_applied == 0 && atomic_statements => {
                plan.pending.push(index)
            }
            (Some(row), _) if !row.success => plan.failed.push(Failed {
                script: file.script.clone(),
                statements_applied: row.statements_applied,
                statements_total: row.statements_total,
            }),
            (Some(row), MigrationKind::Versioned(_)) if row.checksum != file.checksum => {
                plan.changed.push(Changed {
                    script: file.script.clone(),
                    rank: row.rank,
                    recorded: row.checksum.clone(),
                    current: file.checksum.clone(),
                })
            }
            (Some(row), MigrationKind::Repeatable) if row.checksum != file.checksum => {
                plan.pending.push(index)
            }
            (Some(_), _) => plan.applied.push(file.script.clone()),
            (None, kind) => {
                if let (MigrationKind::Versioned(v), Some(newest)) = (kind, &newest_applied)
                    && v < newest
                {
                    plan.out_of_order.push(file.script.clone());
                }
                plan.pending.push(index);
            }
        }
    }
    for row in history {
        let known = files.iter().any(|file| match &file.kind {
            MigrationKind::Versioned(v) => version_of(row).as_ref() == Some(v),
            MigrationKind::Repeatable => row.version.is_none() && row.script == file.script,
        });
        let label = match &row.version {
            Some(v) => format!("{v} {}", row.script),
            None => row.script.clone(),
        };
        if !known && !plan.missing.contains(&label) {
            plan.missing.push(label);
        }
    }
    plan.pending_scripts = plan.pending.iter().map(|&i| files[i].script.clone()).collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::checksum::checksum;
    use crate::migrate::discover::Scheme;

    fn file(script: &str, body: &str) -> MigrationFile {
        let kind = match script.strip_prefix('V') {
            Some(rest) => {
                MigrationKind::Versioned(Version::parse(rest.split("__").next().unwrap()).unwrap())
            }
            None => MigrationKind::Repeatable,
        };
        MigrationFile {
            kind,
            description: script.into(),
            script: script.into(),
            path: script.into(),
            content: body.as_bytes().to_vec(),
            body: body.into(),
            body_line: 1,
            checksum: checksum(body),
            transactional: true,
            scheme: Scheme::Flyway,
        }
    }

    fn row(rank: i64, f: &MigrationFile, success: bool) -> HistoryRow {
        HistoryRow {
            rank,
            version: match &f.kind {
                MigrationKind::Versioned(v) => Some(v.to_string()),
                MigrationKind::Repeatable => None,
            },
            description: f.description.clone(),
            script: f.script.clone(),
            checksum: f.checksum.clone(),
            applied_at: "2026-11-25T00:00:00Z".into(),
            duration_ms: 1,
            success,
            statements_applied: if success { 2 } else { 1 },
            statements_total: 2,
        }
    }

    #[test]
    fn a_fresh_database_runs_everything_in_order() {
        let files = [file("V1__a.sql", "x"), file("V2__b.sql", "y"), file("R__views.sql", "z")];
        let p = plan(&files, &[], true);
        assert_eq!(p.pending_scripts, ["V1__a.sql", "V2__b.sql", "R__views.sql"]);
        assert!(p.applied.is_empty() && p.out_of_order.is_empty());
    }

    #[test]
    fn applied_changed_missing_and_out_of_order() {
        let v1 = file("V1__a.sql", "create table a();");
        let v2 = file("V2__b.sql", "create table b();");
        let v3 = file("V3__c.sql", "create table c();");
        let gone = file("V9__gone.sql", "");
        let edited = file("V2__b.sql", "create table b(id int);");
        let history =
            [row(1, &v1, true), row(2, &v2, true), row(3, &v3, true), row(4, &gone, true)];
        let v1_5 = file("V1_5__late.sql", "create table late();");
        let files = [v1.clone(), v1_5, edited.clone(), v3];
        let p = plan(&files, &history, true);
        assert_eq!(p.applied, ["V1__a.sql", "V3__c.sql"]);
        assert_eq!(p.pending_scripts, ["V1_5__late.sql"]);
        assert_eq!(p.out_of_order, ["V1_5__late.sql"]);
        assert_eq!(
            p.changed,
            [Changed {
                script: "V2__b.sql".into(),
                rank: 2,
                recorded: v2.checksum.clone(),
                current: edited.checksum.clone()
            }]
        );
        assert_eq!(p.missing, ["9 V9__gone.sql"]);
        assert!(!p.is_clean());
    }

    #[test]
    fn a_changed_repeatable_runs_again_and_a_failure_blocks() {
        let r = file("R__views.sql", "create view v as select 1;");
        let r2 = file("R__views.sql", "create view v as select 2;");
        let v1 = file("V1__a.sql", "x");
        let p = plan(&[v1.clone(), r2], &[row(1, &v1, false), row(2, &r, true)], true);
        assert_eq!(p.pending_scripts, ["R__views.sql"]);
        assert_eq!(
            p.failed,
            [Failed { script: "V1__a.sql".into(), statements_applied: 1, statements_total: 2 }]
        );
        assert!(p.changed.is_empty());
    }

    #[test]
    fn a_failure_that_changed_nothing_is_simply_pending() {
        let v1 = file("V1__a.sql", "x");
        let mut failed = row(1, &v1, false);
        failed.statements_applied = 0;
        let p = plan(std::slice::from_ref(&v1), &[failed], true);
        assert_eq!(p.pending_scripts, ["V1__a.sql"]);
        assert!(p.failed.is_empty());
    }

    #[test]
    fn a_failure_before_anything_ran_still_blocks_where_statements_can_half_run() {
        let v1 = file("V1__a.sql", "x");
        let mut failed = row(1, &v1, false);
        failed.statements_applied = 0;
        let p = plan(std::slice::from_ref(&v1), &[failed], false);
        assert!(p.pending.is_empty());
        assert_eq!(p.failed.len(), 1);
    }

    #[test]
    fn a_later_success_supersedes_a_failure() {
        let v1 = file("V1__a.sql", "x");
        let p = plan(std::slice::from_ref(&v1), &[row(1, &v1, false), row(2, &v1, true)], true);
        assert!(p.is_clean(), "{p:?}");
        assert_eq!(p.applied, ["V1__a.sql"]);
    }
}
