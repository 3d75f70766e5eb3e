//! The human reporter: on a terminal, a live line per database and a bar per image pull; in CI or
//! a pipe, plain lines. Everything goes to stderr; stdout is for results.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::event::{Action, Event};

pub(super) struct Human {
    bars: Option<Bars>,
    verbose: u8,
}

struct Bars {
    multi: MultiProgress,
    lines: Mutex<BTreeMap<String, ProgressBar>>,
    /// Each database's summary line (ready, version, role) kept while migrations show progress,
    /// so the finished line says what the database is rather than its last migration.
    summaries: Mutex<BTreeMap<String, String>>,
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:<24} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn seed_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {prefix:<24} [{bar:30}] {human_pos}/{human_len} {wide_msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

fn rate(rows: u64, ms: u64) -> String {
    (rows * 1000).checked_div(ms).map_or_else(|| "-".to_owned(), thousands)
}

fn done_style() -> ProgressStyle {
    ProgressStyle::with_template("✓ {prefix:<24} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn pull_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} pull {prefix:<24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// Prints warnings only.
pub(super) fn quiet(e: &Event) {
    if let Event::Warning { db, message } = e {
        match db {
            Some(db) => eprintln!("warning: {db}: {message}"),
            None => eprintln!("warning: {message}"),
        }
    }
}

impl Human {
    pub(super) fn new(bars: bool, verbose: u8) -> Self {
        let bars = bars.then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            lines: Mutex::new(BTreeMap::new()),
            summaries: Mutex::new(BTreeMap::new()),
        });
        Human { bars, verbose }
    }

    pub(super) fn finish(&self) {
        if let Some(b) = &self.bars {
            // Finished lines stay on screen: they are the record of what happened.
            for (_, bar) in std::mem::take(&mut *b.lines.lock().expect("reporter lock")) {
                if !bar.is_finished() {
                    bar.finish();
                }
            }
        }
    }

    fn println(&self, line: String) {
        match &self.bars {
            Some(b) => {
                let _ = b.multi.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// The live line for a key (a database or an image), made on first use.
    fn line(&self, key: &str, style: ProgressStyle) -> Option<ProgressBar> {
        let b = self.bars.as_ref()?;
        let mut lines = b.lines.lock().expect("reporter lock");
        let bar = lines.entry(key.to_string()).or_insert_with(|| {
            let bar = b.multi.add(ProgressBar::new_spinner().with_style(style));
            bar.set_prefix(key.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Some(bar.clone())
    }

    /// Marks a live line done, keeping its last message.
    fn done(&self, key: &str, message: String) {
        if let Some(bar) = self.line(key, spinner_style()) {
            bar.set_style(done_style());
            bar.finish_with_message(message);
        }
    }

    fn remember(&self, key: &str, summary: String) {
        if let Some(b) = &self.bars {
            b.summaries.lock().expect("reporter lock").insert(key.to_string(), summary);
        }
    }

    fn recall(&self, key: &str) -> Option<String> {
        self.bars.as_ref()?.summaries.lock().expect("reporter lock").remove(key)
    }

    pub(super) fn event(&self, e: &Event) {
        match e {
            Event::Plan { env, actions } => {
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for a in actions {
                    *counts.entry(a.action.as_str()).or_default() += 1;
                }
                let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
                self.println(format!(
                    "environment {env}: {} database(s): {}",
                    actions.len(),
                    summary.join(", ")
                ));
                for a in actions {
                    if let Some(bar) = self.line(&a.db.to_string(), spinner_style()) {
                        bar.set_message(match a.action {
                            Action::Reuse => "checking",
                            _ => "starting",
                        });
                    }
                }
            }
            Event::ImagePresent { image } => {
                if self.verbose > 0 {
                    self.println(format!("image {image} present"));
                }
            }
            Event::ImagePullStarted { image } => {
                match self.line(&format!("image:{image}"), pull_style()) {
                    Some(bar) => bar.set_prefix(image.clone()),
                    None => self.println(format!("pulling {image}")),
                }
            }
            Event::ImagePullProgress { image, current, total } => {
                if let Some(bar) = self.line(&format!("image:{image}"), pull_style()) {
                    bar.set_length(*total);
                    bar.set_position(*current);
                }
            }
            Event::ImagePulled { image } => {
                match self.line(&format!("image:{image}"), pull_style()) {
                    Some(bar) => bar.finish_with_message("pulled"),
                    None => self.println(format!("pulled {image}")),
                }
            }
            Event::NetworkCreated { name } => {
                if self.verbose > 0 {
                    self.println(format!("network {name} created"));
                }
            }
            Event::LockAcquired { env } => {
                if self.verbose > 1 {
                    self.println(format!("lock on {env} taken"));
                }
            }
            Event::LockTakenOver { env, owner } => self.println(format!(
                "took over the stale lock of {env} (held by {owner}, no longer running)"
            )),
            Event::DatabaseCreated { db, container } => {
                match self.line(&db.to_string(), spinner_style()) {
                    Some(bar) => bar.set_message(format!("created {container}")),
                    None => self.println(format!("{db}: created {container}")),
                }
            }
            Event::DatabaseStarted { db, port } => {
                match self.line(&db.to_string(), spinner_style()) {
                    Some(bar) => bar.set_message(format!("started on port {port}, waiting")),
                    None => self.println(format!("{db}: started on port {port}")),
                }
            }
            Event::DatabaseWaiting { db, attempt, reason } => {
                if let Some(bar) = self.line(&db.to_string(), spinner_style()) {
                    bar.set_message(format!("waiting (attempt {attempt}: {reason})"));
                } else if self.verbose > 0 {
                    self.println(format!("{db}: waiting (attempt {attempt}: {reason})"));
                }
            }
            Event::DatabaseReady { db, engine, pinned, server_version, elapsed_ms } => {
                // PostgreSQL reports `15.20 (Debian 15.20-0+deb12u1)`; the first word is the version.
                let version = server_version.split_whitespace().next().unwrap_or(server_version);
                let msg = format!(
                    "ready in {:.1}s: {engine} {version} (pinned {pinned})",
                    *elapsed_ms as f64 / 1000.0
                );
                let key = db.to_string();
                match self.line(&key, spinner_style()) {
                    Some(bar) => bar.set_message(msg),
                    None => self.println(format!("{db}: {msg}")),
                }
            }
            Event::DatabaseConfigured { db, role, extensions } => {
                let ext = if extensions.is_empty() {
                    String::new()
                } else {
                    format!(", extensions {}", extensions.join(", "))
                };
                match self.line(&db.to_string(), spinner_style()) {
                    Some(bar) => bar.set_message(format!("{} · role {role}{ext}", bar.message())),
                    None => {
                        if self.verbose > 0 {
                            self.println(format!("{db}: role {role}{ext}"));
                        }
                    }
                }
            }
            Event::MigrationsPlanned { db, applied, pending } => {
                let key = db.to_string();
                match self.line(&key, spinner_style()) {
                    Some(bar) if *pending > 0 => {
                        self.remember(&key, bar.message());
                        bar.set_message(format!("migrating: {pending} pending"));
                    }
                    Some(_) => {}
                    None if *pending > 0 => self.println(format!(
                        "{db}: {pending} migration(s) to apply ({applied} already applied)"
                    )),
                    None => {}
                }
            }
            Event::MigrationApplied { db, script, elapsed_ms } => {
                match self.line(&db.to_string(), spinner_style()) {
                    Some(bar) => bar.set_message(format!("migrating: applied {script}")),
                    None => self.println(format!("{db}: applied {script} ({elapsed_ms} ms)")),
                }
            }
            Event::MigrationCommand { db, command } => {
                match self.line(&db.to_string(), spinner_style()) {
                    Some(bar) => {
                        self.remember(&db.to_string(), bar.message());
                        bar.set_message(format!("running `{command}`"));
                    }
                    None => self.println(format!("{db}: running `{command}`")),
                }
            }
            Event::DatabaseDone { db, migrations_applied } => {
                let key = db.to_string();
                if let Some(bar) = self.line(&key, spinner_style()) {
                    let base = self.recall(&key).unwrap_or_else(|| bar.message());
                    let msg = match migrations_applied {
                        0 => base,
                        n => format!("{base} · {n} migration(s) applied"),
                    };
                    self.done(&key, msg);
                }
            }
            Event::SeedPlanned { db, tables, rows, kept } => {
                let mut line =
                    format!("{db}: seeding {tables} table(s), {} rows", thousands(*rows));
                if !kept.is_empty() {
                    line.push_str(&format!(
                        " (kept as the migrations filled them: {})",
                        kept.join(", ")
                    ));
                }
                self.println(line);
            }
            Event::SeedProgress { db, table, rows, total, elapsed_ms, done } => {
                let key = format!("seed:{db}:{table}");
                let rate = rate(*rows, *elapsed_ms);
                match self.line(&key, seed_style()) {
                    Some(bar) => {
                        bar.set_prefix(format!("{db} {table}"));
                        bar.set_length(*total);
                        bar.set_position(*rows);
                        bar.set_message(format!("{rate} rows/s"));
                        if *done {
                            self.done(
                                &key,
                                format!(
                                    "{} rows in {} ({rate} rows/s)",
                                    thousands(*rows),
                                    seconds(*elapsed_ms)
                                ),
                            );
                        }
                    }
                    None if *done => self.println(format!(
                        "{db}: {table}: {} rows in {} ({rate} rows/s)",
                        thousands(*rows),
                        seconds(*elapsed_ms)
                    )),
                    None => {}
                }
            }
            Event::SeedKeysRestored { db, elapsed_ms } => self.println(format!(
                "{db}: keys, indexes and foreign keys rebuilt and validated in {}",
                seconds(*elapsed_ms)
            )),
            Event::SeedDone { db, rows, elapsed_ms, skipped } => match skipped {
                Some(reason) => self.println(format!(
                    "{db}: not seeded again: {reason} (--reseed empties and refills)"
                )),
                None => self.println(format!(
                    "{db}: seeded {} rows in {}",
                    thousands(*rows),
                    seconds(*elapsed_ms)
                )),
            },
            Event::Warning { db, message } => match db {
                Some(db) => self.println(format!("warning: {db}: {message}")),
                None => self.println(format!("warning: {message}")),
            },
            Event::TearingDown { reason } => {
                self.finish_bars();
                self.println(format!("removing what this run created ({reason})"));
            }
            Event::Removed { kind, name } => {
                if self.verbose > 0 || self.bars.is_none() {
                    self.println(format!("removed {kind} {name}"));
                }
            }
        }
    }

    fn finish_bars(&self) {
        if let Some(b) = &self.bars {
            for bar in b.lines.lock().expect("reporter lock").values() {
                bar.abandon();
            }
        }
    }
}
