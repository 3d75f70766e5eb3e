//! The orchestrator of `up` and `down`: decide per database what to do (create, start, reuse,
//! recreate), get the images, take the environment lock, start everything in parallel, wait until
//! each server truly answers, give the application its role, and on any failure or interruption
//! remove exactly what this run created.
//!
//! What a run created is found by label (`dbtwin.run`), not remembered in memory, so even an object
//! whose creation raced with a failure is swept up.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::data::copy::MaskedSources;
use crate::data::load::{self as seeding, DataError};
use crate::data::seedfile::SeedFile;
use crate::engine::{self, Credentials, Endpoint, ProbeError, Session, Target};
use crate::environment::EnvName;
use crate::event::{Action, DbRef, Event, Events, PlannedAction};
use crate::migrate::{self, apply::MigrateError};
use crate::profile::{Database, EngineKind, Migrations, Profile, Storage};
use crate::runtime::{
    ContainerInfo, ContainerSpec, ContainerState, DataMount, LabelFilter, ObjectInfo, Runtime,
    RuntimeError, RuntimeErrorKind, labels,
};

/// How many lines of a failing container's log an error shows.
pub const LOG_TAIL_LINES: usize = 30;

/// Options of `up`.
#[derive(Clone, Debug)]
pub struct UpOptions {
    pub env: EnvName,
    /// Replace containers that differ from the profile instead of refusing.
    pub recreate: bool,
    /// Leave what a failed run created, for debugging.
    pub keep_on_failure: bool,
    /// How long each database may take to answer.
    pub ready_timeout: Duration,
    /// Leave databases empty (no seeding).
    pub no_data: bool,
    /// Each database's seed file (by `service.database`), read and checked before anything
    /// starts.
    pub seed_files: BTreeMap<String, Arc<SeedFile>>,
}

/// A cancellation flag shared by every task of a run: set by Ctrl-C, or by the first task that
/// fails, so the others stop at their next step instead of being dropped mid-request.
#[derive(Clone, Debug)]
pub struct Cancel(Arc<watch::Sender<bool>>);

impl Default for Cancel {
    fn default() -> Self {
        Cancel(Arc::new(watch::channel(false).0))
    }
}

impl Cancel {
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the flag is set.
    pub async fn cancelled(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Sleeps, returning early (with `false`) when cancelled.
    async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.cancelled() => false,
        }
    }
}

/// Why `up` (or `down`) failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("{} database(s) differ from the profile:\n{}", .0.len(), .0.join("\n"))]
    Conflicts(Vec<String>),
    #[error("environment `{env}` is being changed by another dbtwin ({owner})")]
    Locked { env: String, owner: String },
    /// The engine refused an operation on one database (create, start: a port in use).
    #[error("{db}: {source}")]
    Engine {
        db: DbRef,
        #[source]
        source: RuntimeError,
    },
    #[error("{db} did not become ready: {reason}")]
    NotReady { db: DbRef, reason: String, log_tail: String },
    #[error("{db}: {message}")]
    Failed {
        db: DbRef,
        message: String,
        log_tail: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A database's migrations could not be applied.
    #[error("{db}: {source}")]
    Migrate {
        db: DbRef,
        #[source]
        source: Box<MigrateError>,
    },
    /// A database could not be filled.
    #[error(transparent)]
    Data(Box<DataError>),
    #[error("interrupted")]
    Interrupted,
}

impl ProvisionError {
    /// The last lines of the failing container's log, when a container failed.
    pub fn log_tail(&self) -> Option<&str> {
        match self {
            ProvisionError::NotReady { log_tail, .. } | ProvisionError::Failed { log_tail, .. } => {
                Some(log_tail.as_str()).filter(|t| !t.trim().is_empty())
            }
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            ProvisionError::Runtime(e) | ProvisionError::Engine { source: e, .. } => e.hint.clone(),
            ProvisionError::Data(e) => e.hint(),
            ProvisionError::Conflicts(_) => Some(
                "run `dbtwin up --recreate` to replace them (their data is lost), or `dbtwin down` first"
                    .into(),
            ),
            ProvisionError::Locked { env, .. } => Some(format!(
                "wait for it to finish; if that dbtwin is gone (another machine, or killed), \
                 `docker rm -v {}` releases the lock, and `dbtwin down --force --env {env}` removes \
                 the environment, lock and all",
                labels::lock_name(env)
            )),
            ProvisionError::Migrate { source, .. } => source.hint(),
            ProvisionError::NotReady { log_tail, .. } => Some(format!(
                "{}`--ready-timeout` gives a slow machine more time, `--keep-on-failure` keeps the \
                 container to inspect",
                if log_tail.trim().is_empty() { "" } else { "the server's log above says why; " }
            )),
            _ => None,
        }
    }
}

/// One database after `up`: where it answers and how to log in.
#[derive(Clone, Debug)]
pub struct ReadyDatabase {
    pub db: DbRef,
    pub engine: EngineKind,
    pub pinned: String,
    pub server_version: String,
    pub action: Action,
    pub container: String,
    pub endpoint: Endpoint,
    pub credentials: Credentials,
}

#[derive(Clone, Debug)]
pub struct UpOutcome {
    pub env: EnvName,
    pub network: String,
    pub databases: Vec<ReadyDatabase>,
}

/// What `up` will do for one database, decided before anything changes.
struct Step<'p> {
    db: DbRef,
    config: &'p Database,
    image: String,
    spec_hash: String,
    action: Action,
    existing: Option<ContainerInfo>,
}

/// The image a database runs: the profile's `image`, else the `images` map, else the official
/// image (behind the `registry` prefix when one is set).
pub fn image_for(profile: &Profile, db: &Database) -> String {
    if let Some(image) = &db.image {
        return image.clone();
    }
    if let Some(image) = profile.images.get(&db.engine).and_then(|m| m.get(db.version.as_str())) {
        return image.clone();
    }
    let official = engine::official_image(db.engine, &db.version);
    match &profile.registry {
        Some(prefix) => format!("{}/{official}", prefix.trim_end_matches('/')),
        None => official,
    }
}

/// A hash of everything that would change the container. Secrets are not part of the container's
/// arguments (the password of a running database is kept, not regenerated), so the hash is
/// stable across runs.
pub fn spec_hash(db: &Database, image: &str) -> String {
    let mut h = Sha256::new();
    let mut field = |k: &str, v: &str| {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    };
    field("engine", db.engine.as_str());
    field("version", db.version.as_str());
    field("image", image);
    for arg in engine::entrypoint(db.engine)
        .into_iter()
        .flatten()
        .chain(engine::server_args(db.engine, db))
    {
        field("arg", &arg);
    }
    field("storage", &format!("{:?}", db.storage));
    field("memory", &format!("{:?}", db.memory.as_ref().map(|m| m.bytes())));
    field("port", &format!("{:?}", db.port));
    field("database", &db.name);
    field("role", &format!("{}:{:?}", db.role.name, db.role.grants));
    for ext in &db.extensions {
        field("extension", ext);
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A free port on a loopback publish address, found by binding it for a moment, and not one that
/// any dbtwin container already has configured (a stopped one does not hold its port, but will
/// want it back) or that another database of this run was just given. `None` for any other
/// address (a remote engine's host): the engine chooses there, and a restart may move it.
fn free_port(publish_ip: &str, reserved: &Mutex<BTreeSet<u16>>) -> Option<u16> {
    let ip: std::net::IpAddr = publish_ip.parse().ok()?;
    if !ip.is_loopback() {
        return None;
    }
    let mut reserved = reserved.lock().expect("port reservations");
    for _ in 0..50 {
        let port = std::net::TcpListener::bind((ip, 0)).and_then(|l| l.local_addr()).ok()?.port();
        if reserved.insert(port) {
            return Some(port);
        }
    }
    None
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn run_id() -> String {
    let mut h = Sha256::new();
    h.update(std::process::id().to_le_bytes());
    h.update(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes(),
    );
    h.update(engine::generate_password().as_bytes());
    h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn base_labels(env: &EnvName, kind: &str, run: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::ENV.to_string(), env.to_string()),
        (labels::KIND.to_string(), kind.to_string()),
        (labels::RUN.to_string(), run.to_string()),
        (labels::CREATED_AT.to_string(), now_secs().to_string()),
    ])
}

fn env_filter(env: &EnvName) -> LabelFilter {
    LabelFilter::default().eq(labels::ENV, env.as_str())
}

/// Brings an environment up, or reconciles it with the profile when it exists.
pub async fn up<R: Runtime>(
    rt: &R,
    profile: &Profile,
    opts: &UpOptions,
    events: &Events,
    cancel: &Cancel,
) -> Result<UpOutcome, ProvisionError> {
    let run = run_id();
    let images: Vec<String> = {
        let mut v: Vec<String> =
            profile.databases().map(|(_, _, db)| image_for(profile, db)).collect();
        v.sort();
        v.dedup();
        v
    };
    ensure_images(rt, &images, events, cancel).await?;
    if cancel.is_cancelled() {
        return Err(ProvisionError::Interrupted);
    }

    let lock_image = images.first().cloned().unwrap_or_default();
    let lock = acquire_lock(rt, &opts.env, &lock_image, &run, events).await?.id;
    let result = reconcile(rt, profile, opts, events, cancel, &run).await;
    let result = match result {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            if !opts.keep_on_failure {
                let reason = match &e {
                    ProvisionError::Interrupted => "interrupted".to_string(),
                    other => other.to_string().lines().next().unwrap_or_default().to_string(),
                };
                events.emit(Event::TearingDown { reason });
                // Teardown errors must not hide the failure that caused them; they are reported
                // as warnings and the sweep goes on.
                if let Err(te) =
                    remove_matching(rt, &env_filter(&opts.env).eq(labels::RUN, &run), false, events)
                        .await
                {
                    events.emit(Event::Warning {
                        db: None,
                        message: format!("teardown incomplete: {te}"),
                    });
                }
            }
            Err(e)
        }
    };
    if let Err(e) = rt.remove_container(&lock).await {
        events
            .emit(Event::Warning { db: None, message: format!("could not release the lock: {e}") });
    }
    result
}

async fn ensure_images<R: Runtime>(
    rt: &R,
    images: &[String],
    events: &Events,
    cancel: &Cancel,
) -> Result<(), ProvisionError> {
    let pulls = images.iter().map(|image| async move {
        if rt.image_exists(image).await? {
            events.emit(Event::ImagePresent { image: image.clone() });
            return Ok::<(), ProvisionError>(());
        }
        if cancel.is_cancelled() {
            return Err(ProvisionError::Interrupted);
        }
        events.emit(Event::ImagePullStarted { image: image.clone() });
        let progress_events = events.clone();
        let progress = move |p: crate::runtime::PullProgress| {
            progress_events.emit(Event::ImagePullProgress {
                image: p.image,
                current: p.current,
                total: p.total,
            });
        };
        tokio::select! {
            r = rt.pull_image(image, &progress) => r?,
            _ = cancel.cancelled() => return Err(ProvisionError::Interrupted),
        }
        events.emit(Event::ImagePulled { image: image.clone() });
        Ok(())
    });
    let results = futures_util::future::join_all(pulls).await;
    results.into_iter().collect::<Result<Vec<()>, _>>().map(|_| ())
}

const UNKNOWN_HOST: &str = "unknown-host";
const UNKNOWN_BOOT: &str = "unknown-boot";

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| UNKNOWN_HOST.to_string())
}

/// This boot of this machine: a pid is only meaningful within one boot.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| UNKNOWN_BOOT.to_string())
}

/// When process `pid` of this machine started (clock ticks since boot: `/proc/PID/stat`, field
/// 22) and whether it has exited and only waits to be reaped (state `Z`); `None` without such a
/// process, or without `/proc`.
fn process_start(pid: u32) -> Option<(u64, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2, the command's name, is in parentheses and may hold both spaces and parentheses.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let start = fields.get(19)?.parse().ok()?;
    Some((start, fields.first() == Some(&"Z")))
}

/// Who holds a lock: `host:boot:pid` ([`labels::LOCK_OWNER`]), and when that process started
/// ([`labels::LOCK_START`]) where that can be read.
fn lock_owner() -> (String, Option<u64>) {
    let pid = std::process::id();
    (format!("{}:{}:{pid}", hostname(), boot_id()), process_start(pid).map(|(start, _)| start))
}

/// A lock's owner for people: `pid 123 on host` (its boot id says nothing to a reader); as it is
/// when it is not dbtwin's format.
fn describe_owner(owner: &str) -> String {
    let mut parts = owner.rsplitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(pid), Some(_), Some(host)) => format!("pid {pid} on {host}"),
        _ => owner.to_string(),
    }
}

/// Whether the process that holds a lock is gone. Decidable only for an owner on this host, on a
/// system with `/proc`: a different boot means the machine restarted since; else its pid must
/// have exited (a process that exited and was not reaped yet counts as gone), or belong to a
/// process that started at another time than the owner's `start` (the pid was used again).
/// Anything undecidable counts as alive: a lock is never taken from a live `up`.
fn owner_is_gone(owner: &str, start: Option<&str>) -> bool {
    let mut parts = owner.rsplitn(3, ':');
    let (Some(pid), Some(boot), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (this_host, this_boot) = (hostname(), boot_id());
    if host != this_host || this_host == UNKNOWN_HOST || this_boot == UNKNOWN_BOOT {
        return false;
    }
    if !std::path::Path::new("/proc/self").exists() {
        return false;
    }
    if boot != this_boot {
        return true;
    }
    let Ok(pid) = pid.parse::<u32>() else { return false };
    match process_start(pid) {
        Some((_, true)) => true,
        Some((now, false)) => start.and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s != now),
        // Unreadable while the process exists: alive, as far as anyone can tell.
        None => !std::path::Path::new(&format!("/proc/{pid}")).exists(),
    }
}

/// A lock container's holder, as people read it, unless it is gone.
fn live_holder(lock: &ContainerInfo) -> Option<String> {
    let owner = lock.label(labels::LOCK_OWNER).unwrap_or("unknown");
    (!owner_is_gone(owner, lock.label(labels::LOCK_START))).then(|| describe_owner(owner))
}

/// A held environment lock.
struct Lock {
    /// The lock container's id.
    id: String,
    /// Whether it was taken over from a run that died holding it.
    taken_over: bool,
}

/// Takes the environment lock: a container that is never started, whose name is unique per
/// engine, so creating it is atomic even for two machines sharing one engine.
async fn acquire_lock<R: Runtime>(
    rt: &R,
    env: &EnvName,
    image: &str,
    run: &str,
    events: &Events,
) -> Result<Lock, ProvisionError> {
    let name = labels::lock_name(env.as_str());
    let mut lock_labels = base_labels(env, labels::KIND_LOCK, run);
    // Not part of the run: teardown (by run label) must not release the lock before it is done.
    lock_labels.remove(labels::RUN);
    let (owner, start) = lock_owner();
    lock_labels.insert(labels::LOCK_OWNER.to_string(), owner);
    if let Some(start) = start {
        lock_labels.insert(labels::LOCK_START.to_string(), start.to_string());
    }
    let spec = ContainerSpec {
        name: name.clone(),
        image: image.to_string(),
        env: vec![],
        entrypoint: None,
        cmd: vec![],
        labels: lock_labels,
        container_port: 1,
        host_port: None,
        host_ip: rt.publish_ip().to_string(),
        network: "none".to_string(),
        network_alias: "lock".to_string(),
        data: DataMount::Tmpfs { target: "/dbtwin-lock".to_string() },
        memory: None,
    };
    let mut last_owner = "unknown".to_string();
    let mut taken_over = false;
    for _ in 0..5 {
        match rt.create_container(&spec).await {
            Ok(id) => {
                events.emit(Event::LockAcquired { env: env.to_string() });
                return Ok(Lock { id, taken_over });
            }
            Err(e) if e.kind == RuntimeErrorKind::Conflict => {
                // The holder may be releasing it right now: then the name is free again soon.
                let Some(holder) = rt.inspect_container(&name).await? else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                last_owner = holder.label(labels::LOCK_OWNER).unwrap_or("unknown").to_string();
                if let Some(owner) = live_holder(&holder) {
                    return Err(ProvisionError::Locked { env: env.to_string(), owner });
                }
                // The holder died without releasing it (killed, machine restarted): take it
                // over, removing exactly that container (by id, never by name, which a live
                // process may have taken in between).
                rt.remove_container(&holder.id).await?;
                taken_over = true;
                events.emit(Event::LockTakenOver {
                    env: env.to_string(),
                    owner: describe_owner(&last_owner),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ProvisionError::Locked { env: env.to_string(), owner: describe_owner(&last_owner) })
}

/// Decides every database's action, refusing before any change when a container differs from
/// the profile and `--recreate` was not given.
/// Also returns the environment's databases that the profile no longer names.
/// `containers` are every dbtwin container on the engine.
async fn plan<'p, R: Runtime>(
    rt: &R,
    profile: &'p Profile,
    opts: &UpOptions,
    containers: &[ContainerInfo],
) -> Result<(Vec<Step<'p>>, Vec<DbRef>), ProvisionError> {
    let ours = env_filter(&opts.env).eq(labels::KIND, labels::KIND_DATABASE);
    let mut by_name: BTreeMap<String, ContainerInfo> = containers
        .iter()
        .filter(|c| ours.matches(&c.labels))
        .map(|c| (c.name.clone(), c.clone()))
        .collect();
    // Kept volumes (`down --keep-volumes`): a data directory of another engine or version cannot
    // be opened by this one, so it is a difference like a container's.
    let volumes: BTreeMap<String, ObjectInfo> = rt
        .list_volumes(&env_filter(&opts.env).eq(labels::KIND, labels::KIND_VOLUME))
        .await?
        .into_iter()
        .map(|v| (v.name.clone(), v))
        .collect();
    let mut steps = Vec::new();
    let mut conflicts = Vec::new();
    for (service, name, config) in profile.databases() {
        let db = DbRef::new(service.as_str(), name.as_str());
        let image = image_for(profile, config);
        let spec_hash = spec_hash(config, &image);
        let container = labels::container_name(opts.env.as_str(), service.as_str(), name.as_str());
        let existing = by_name.remove(&container);
        let volume =
            volumes.get(&labels::volume_name(opts.env.as_str(), service.as_str(), name.as_str()));
        let kept_differs = volume.filter(|_| config.storage == Storage::Volume).and_then(|v| {
            let (engine, version) = (v.labels.get(labels::ENGINE), v.labels.get(labels::VERSION));
            // Data directories move within a major version (15 → 15.20), not across majors.
            let major = version
                .and_then(|v| crate::profile::PinnedVersion::parse(v).ok())
                .and_then(|v| v.major());
            (engine.map(String::as_str) != Some(config.engine.as_str())
                || major != config.version.major())
            .then(|| {
                format!(
                    "  {db}: a kept volume holds {} {} data, the profile wants {} {}",
                    engine.map_or("?", |s| s.as_str()),
                    version.map_or("?", |s| s.as_str()),
                    config.engine,
                    config.version.as_str()
                )
            })
        });
        let action = match &existing {
            None => match kept_differs {
                None => Action::Create,
                Some(_) if opts.recreate => Action::Recreate,
                Some(difference) => {
                    conflicts.push(difference);
                    Action::Create
                }
            },
            Some(c) if c.label(labels::SPEC) == Some(spec_hash.as_str()) => {
                if c.state.is_running() { Action::Reuse } else { Action::Start }
            }
            Some(c) => {
                if opts.recreate {
                    Action::Recreate
                } else {
                    conflicts.push(describe_difference(&db, c, config, &image));
                    Action::Reuse
                }
            }
        };
        steps.push(Step { db, config, image, spec_hash, action, existing });
    }
    if !conflicts.is_empty() {
        return Err(ProvisionError::Conflicts(conflicts));
    }
    // What is left are databases the profile no longer names: left alone, but said.
    let orphans = by_name
        .into_values()
        .map(|c| {
            DbRef::new(
                c.label(labels::SERVICE).unwrap_or("?"),
                c.label(labels::DATABASE).unwrap_or("?"),
            )
        })
        .collect();
    Ok((steps, orphans))
}

fn describe_difference(db: &DbRef, c: &ContainerInfo, config: &Database, image: &str) -> String {
    let mut what = Vec::new();
    let have = |k| c.label(k).unwrap_or("?").to_string();
    if have(labels::ENGINE) != config.engine.as_str() {
        what.push(format!("engine {} → {}", have(labels::ENGINE), config.engine));
    }
    if have(labels::VERSION) != config.version.as_str() {
        what.push(format!("version {} → {}", have(labels::VERSION), config.version.as_str()));
    }
    if c.image != image {
        what.push(format!("image {} → {image}", c.image));
    }
    if what.is_empty() {
        what.push("settings changed (arguments, storage, memory, port or role)".to_string());
    }
    format!("  {db}: {}", what.join(", "))
}

async fn reconcile<R: Runtime>(
    rt: &R,
    profile: &Profile,
    opts: &UpOptions,
    events: &Events,
    cancel: &Cancel,
    run: &str,
) -> Result<UpOutcome, ProvisionError> {
    // One listing serves the plan and the port reservations below.
    let containers = rt.list_containers(&LabelFilter::default().has(labels::ENV)).await?;
    let (steps, orphans) = plan(rt, profile, opts, &containers).await?;
    for db in orphans {
        events.emit(Event::Warning {
            db: Some(db.clone()),
            message: format!(
                "is in environment {} but no longer in the profile; `docker rm -fv {}` removes it",
                opts.env,
                labels::container_name(opts.env.as_str(), &db.service, &db.database)
            ),
        });
    }
    events.emit(Event::Plan {
        env: opts.env.to_string(),
        actions: steps
            .iter()
            .map(|s| PlannedAction { db: s.db.clone(), action: s.action })
            .collect(),
    });

    let network = labels::network_name(opts.env.as_str());
    // Looked up by exact name whatever its labels: the engine lets two networks share a name
    // through the API, and a stranger's network of our name must not be joined or duplicated.
    let same_name: Vec<ObjectInfo> = rt
        .list_networks(&LabelFilter::default())
        .await?
        .into_iter()
        .filter(|n| n.name == network)
        .collect();
    match same_name.as_slice() {
        [] => {
            rt.create_network(&network, &base_labels(&opts.env, labels::KIND_NETWORK, run)).await?;
            events.emit(Event::NetworkCreated { name: network.clone() });
        }
        [ours] if ours.labels.get(labels::ENV).map(String::as_str) == Some(opts.env.as_str()) => {}
        _ => {
            return Err(RuntimeError::new(
                RuntimeErrorKind::Conflict,
                format!(
                    "a network named {network} exists that dbtwin did not make (or several do)"
                ),
            )
            .with_hint(format!("remove it (`docker network rm {network}`) or choose another --env"))
            .into());
        }
    }

    // Ports any dbtwin container has configured, stopped ones included: never handed out again.
    let reserved: BTreeSet<u16> =
        containers.iter().flat_map(|c| c.ports.values().copied()).collect();
    let cx = RunContext {
        rt,
        profile,
        opts,
        network: &network,
        run,
        events,
        cancel,
        reserved: Mutex::new(reserved),
        sources: MaskedSources::new(
            opts.seed_files.iter().filter_map(|(name, file)| Some((db_ref(name)?, file.clone()))),
        ),
    };
    let cx = &cx;
    // Every database in parallel; the first failure cancels the rest at their next step (the
    // shared flag is the same one Ctrl-C sets), and all tasks are awaited, never dropped
    // mid-request, before teardown starts.
    let tasks = steps.iter().map(|step| async move {
        let r = bring_up(cx, step).await;
        if r.is_err() {
            cancel.cancel();
        }
        r
    });
    // A database created by this run is surely seeded: when one copies a source, the sources
    // open (read-only) and their subsets are planned while the containers start, and a source
    // that cannot be read stops the run before any seeding.
    let copies = !opts.no_data
        && steps.iter().any(|s| {
            matches!(s.action, Action::Create | Action::Recreate)
                && opts.seed_files.get(&s.db.to_string()).is_some_and(|f| f.masked.source.is_some())
        });
    let opening = async {
        if !copies {
            return Ok(());
        }
        let opened = tokio::select! {
            opened = cx.sources.open() => opened.map_err(|e| ProvisionError::Data(Box::new(e))),
            () = cancel.cancelled() => return Ok(()),
        };
        if opened.is_err() {
            cancel.cancel();
        }
        opened
    };
    let (results, opened) = tokio::join!(futures_util::future::join_all(tasks), opening);
    let mut databases = Vec::new();
    let mut first_error = opened.err();
    for r in results {
        match r {
            Ok(db) => databases.push(db),
            // An interruption caused by another task's failure is not the story; the failure is.
            Err(ProvisionError::Interrupted) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if databases.len() != steps.len() {
        return Err(ProvisionError::Interrupted);
    }
    Ok(UpOutcome { env: opts.env.clone(), network, databases })
}

/// What every database task of one `up` run shares.
struct RunContext<'a, R> {
    rt: &'a R,
    profile: &'a Profile,
    opts: &'a UpOptions,
    network: &'a str,
    /// This run's id, the `dbtwin.run` label of everything it creates.
    run: &'a str,
    events: &'a Events,
    cancel: &'a Cancel,
    /// Host ports given out already (see [`free_port`]).
    reserved: Mutex<BTreeSet<u16>>,
    /// Production sources of masked copies, opened when the first database needs one.
    sources: MaskedSources,
}

async fn bring_up<R: Runtime>(
    cx: &RunContext<'_, R>,
    step: &Step<'_>,
) -> Result<ReadyDatabase, ProvisionError> {
    let (rt, opts, events, cancel) = (cx.rt, cx.opts, cx.events, cx.cancel);
    let config = step.config;
    let kind = config.engine;
    let env = opts.env.as_str();
    let container_name = labels::container_name(env, &step.db.service, &step.db.database);
    let engine_error =
        |source: RuntimeError| ProvisionError::Engine { db: step.db.clone(), source };
    let fail = |message: String, source: Option<RuntimeError>| ProvisionError::Failed {
        db: step.db.clone(),
        message,
        log_tail: String::new(),
        source: source.map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
    };

    let (container_id, credentials) = match step.action {
        Action::Reuse | Action::Start => {
            let c = step.existing.as_ref().expect("reuse and start have a container");
            let creds = engine::credentials_from_env(kind, &c.env).ok_or_else(|| {
                fail(
                    format!(
                        "container {} lacks dbtwin's credentials; recreate it with --recreate",
                        c.name
                    ),
                    None,
                )
            })?;
            let mut moved = false;
            if step.action == Action::Start {
                if cancel.is_cancelled() {
                    return Err(ProvisionError::Interrupted);
                }
                match rt.start_container(&c.id).await {
                    Ok(()) => {}
                    // Its port was taken while it was stopped (another program; after a reboot,
                    // anything): it moves to a new one, keeping its volume and credentials.
                    Err(e) if e.kind == RuntimeErrorKind::PortInUse && config.port.is_none() => {
                        let old = c.ports.get(&engine::container_port(kind)).copied().unwrap_or(0);
                        events.emit(Event::Warning {
                            db: Some(step.db.clone()),
                            message: format!(
                                "its port {old} is taken now, so it moves to a new one: run `dbtwin env` again for its URL"
                            ),
                        });
                        rt.remove_container(&c.id).await.map_err(engine_error)?;
                        moved = true;
                    }
                    Err(e) => return Err(engine_error(e)),
                }
            }
            if moved { create_and_start(cx, step, None).await? } else { (c.id.clone(), creds) }
        }
        Action::Create | Action::Recreate => {
            let mut keep_port = None;
            if let Some(old) = &step.existing {
                // A recreated database keeps its port, so URLs stay valid.
                keep_port = old.ports.get(&engine::container_port(kind)).copied();
                rt.remove_container(&old.id).await.map_err(engine_error)?;
            }
            if step.action == Action::Recreate {
                rt.remove_volume(&labels::volume_name(env, &step.db.service, &step.db.database))
                    .await
                    .map_err(engine_error)?;
            }
            let fixed = config.port.or(keep_port);
            create_and_start(cx, step, fixed).await?
        }
    };

    let info = rt
        .inspect_container(&container_id)
        .await?
        .ok_or_else(|| fail(format!("container {container_name} vanished"), None))?;
    let port = *info.ports.get(&engine::container_port(kind)).ok_or_else(|| {
        fail(
            format!(
                "container {container_name} publishes no port for {}",
                engine::container_port(kind)
            ),
            None,
        )
    })?;
    if step.action != Action::Reuse {
        events.emit(Event::DatabaseStarted { db: step.db.clone(), port });
    }
    let endpoint = Endpoint { host: rt.connect_host().to_string(), port };

    let started = Instant::now();
    let server_version = wait_ready(
        rt,
        &step.db,
        kind,
        &container_id,
        &endpoint,
        &credentials,
        opts.ready_timeout,
        events,
        cancel,
    )
    .await?;
    events.emit(Event::DatabaseReady {
        db: step.db.clone(),
        engine: kind.to_string(),
        pinned: config.version.as_str().to_string(),
        server_version: server_version.clone(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    });
    if !config.version.matches(&server_version) {
        events.emit(Event::Warning {
            db: Some(step.db.clone()),
            message: format!(
                "pinned version {} but the server reports {server_version}",
                config.version.as_str()
            ),
        });
    }

    // A started container may have come back with a fresh data directory (tmpfs after a reboot
    // or `docker stop`): configuring is idempotent, so it runs for every database this run
    // created or started; a running one is left alone.
    if step.action != Action::Reuse {
        if let Err(e) = engine::configure(kind, &endpoint, &credentials, config).await {
            let log_tail = rt.logs_tail(&container_id, LOG_TAIL_LINES).await.unwrap_or_default();
            return Err(ProvisionError::Failed {
                db: step.db.clone(),
                message: "failed to prepare the database for the application".to_string(),
                log_tail,
                source: Some(Box::new(e)),
            });
        }
        events.emit(Event::DatabaseConfigured {
            db: step.db.clone(),
            role: credentials.app_user.clone(),
            extensions: config.extensions.clone(),
        });
    }

    let mut migrations_applied = 0;
    if let Some(migrations) = &config.migrations {
        if cancel.is_cancelled() {
            return Err(ProvisionError::Interrupted);
        }
        let admin_url = engine::admin_url(kind, &endpoint, &credentials);
        let request = migrate::apply::Request {
            db: step.db.clone(),
            kind,
            dir: &migrations.dir,
            command: migrations.command.as_deref(),
            admin_url: &admin_url,
            repair: false,
        };
        let outcome = migrate_one(&Target::admin(kind, &endpoint, &credentials), &request, events)
            .await
            .map_err(|source| ProvisionError::Migrate {
                db: step.db.clone(),
                source: Box::new(source),
            })?;
        migrations_applied = outcome.applied.len();
    }
    events.emit(Event::DatabaseDone { db: step.db.clone(), migrations_applied });

    // Seeded once: a database seeded before (the record is in the database) is left alone.
    if !opts.no_data
        && let Some(file) = opts.seed_files.get(&step.db.to_string())
    {
        if cancel.is_cancelled() {
            return Err(ProvisionError::Interrupted);
        }
        let target = Target::admin(kind, &endpoint, &credentials);
        let request = seeding::Request {
            db: step.db.clone(),
            target: &target,
            file,
            seed: config.seed.or(cx.profile.seed).unwrap_or(0),
            scale: 1.0,
            reseed: false,
            sources: Some(&cx.sources),
        };
        tokio::select! {
            result = seeding::seed(&request, None, events) => {
                result.map_err(|e| ProvisionError::Data(Box::new(e)))?;
            }
            () = cancel.cancelled() => return Err(ProvisionError::Interrupted),
        }
    }

    Ok(ReadyDatabase {
        db: step.db.clone(),
        engine: kind,
        pinned: config.version.as_str().to_string(),
        server_version,
        action: step.action,
        container: container_name,
        endpoint,
        credentials,
    })
}

/// Creates a database's container and starts it. Unless the port is fixed (by the profile, or a
/// recreated database keeping its own), a free one is chosen here and written into the container,
/// so a restarted container (a reboot, `docker stop`) comes back on the same port; should another
/// process take it between choosing and starting, another is chosen.
async fn create_and_start<R: Runtime>(
    cx: &RunContext<'_, R>,
    step: &Step<'_>,
    fixed: Option<u16>,
) -> Result<(String, Credentials), ProvisionError> {
    let (rt, opts, events, cancel, reserved) = (cx.rt, cx.opts, cx.events, cx.cancel, &cx.reserved);
    let engine_error =
        |source: RuntimeError| ProvisionError::Engine { db: step.db.clone(), source };
    let container_name =
        labels::container_name(opts.env.as_str(), &step.db.service, &step.db.database);
    let mut attempts = 0;
    loop {
        if cancel.is_cancelled() {
            return Err(ProvisionError::Interrupted);
        }
        let host_port = fixed.or_else(|| free_port(rt.publish_ip(), reserved));
        let (id, creds) = create(cx, step, host_port).await?;
        events.emit(Event::DatabaseCreated {
            db: step.db.clone(),
            container: container_name.clone(),
        });
        match rt.start_container(&id).await {
            Ok(()) => return Ok((id, creds)),
            Err(e) if e.kind == RuntimeErrorKind::PortInUse && fixed.is_none() && attempts < 3 => {
                attempts += 1;
                rt.remove_container(&id).await.map_err(engine_error)?;
            }
            Err(e) => return Err(engine_error(e)),
        }
    }
}

async fn create<R: Runtime>(
    cx: &RunContext<'_, R>,
    step: &Step<'_>,
    host_port: Option<u16>,
) -> Result<(String, Credentials), ProvisionError> {
    let (rt, profile, opts, network, run) = (cx.rt, cx.profile, cx.opts, cx.network, cx.run);
    let config = step.config;
    let kind = config.engine;
    let env = opts.env.as_str();
    let (service, database) = (step.db.service.as_str(), step.db.database.as_str());
    let volume = labels::volume_name(env, service, database);

    let mut object_labels = base_labels(&opts.env, labels::KIND_DATABASE, run);
    object_labels.extend([
        (labels::SERVICE.to_string(), service.to_string()),
        (labels::DATABASE.to_string(), database.to_string()),
        (labels::ENGINE.to_string(), kind.to_string()),
        (labels::VERSION.to_string(), config.version.as_str().to_string()),
        (labels::PROFILE.to_string(), profile.name.as_str().to_string()),
        (labels::DB_NAME.to_string(), config.name.clone()),
        (labels::APP_USER.to_string(), config.role.name.clone()),
    ]);
    if let Some(data) = &config.data {
        let file = std::path::absolute(data).unwrap_or_else(|_| data.clone());
        object_labels.insert(labels::DATA.to_string(), file.display().to_string());
    }
    if let Some(seed) = config.seed.or(profile.seed) {
        object_labels.insert(labels::SEED.to_string(), seed.to_string());
    }
    if let Some(m) = &config.migrations {
        let dir = std::path::absolute(&m.dir).unwrap_or_else(|_| m.dir.clone());
        object_labels.insert(labels::MIGRATIONS.to_string(), dir.display().to_string());
        if let Some(command) = &m.command {
            object_labels.insert(labels::MIGRATIONS_COMMAND.to_string(), command.clone());
        }
    }

    // A volume kept by `down --keep-volumes` holds a data directory initialised with the old
    // passwords; the new container must use them, so they travel with the volume.
    let mut credentials = engine::new_credentials(kind, config);
    let data = match config.storage {
        Storage::Tmpfs => {
            DataMount::Tmpfs { target: engine::data_dir(kind, &config.version).to_string() }
        }
        Storage::Volume => {
            let existing = rt
                .list_volumes(&env_filter(&opts.env).eq(labels::KIND, labels::KIND_VOLUME))
                .await?;
            match existing.iter().find(|v| v.name == volume) {
                Some(v) => {
                    if let Some(kept) = credentials_from_volume(kind, v) {
                        credentials = kept;
                    }
                }
                None => {
                    let mut volume_labels = object_labels.clone();
                    volume_labels.insert(labels::KIND.to_string(), labels::KIND_VOLUME.to_string());
                    volume_labels.extend(volume_secret_labels(&credentials));
                    rt.create_volume(&volume, &volume_labels).await?;
                }
            }
            DataMount::Volume {
                name: volume,
                target: engine::data_dir(kind, &config.version).to_string(),
            }
        }
    };
    object_labels.insert(labels::SPEC.to_string(), step.spec_hash.clone());

    let spec = ContainerSpec {
        name: labels::container_name(env, service, database),
        image: step.image.clone(),
        env: engine::container_env(kind, &credentials),
        entrypoint: engine::entrypoint(kind),
        cmd: engine::server_args(kind, config),
        labels: object_labels,
        container_port: engine::container_port(kind),
        host_port,
        host_ip: rt.publish_ip().to_string(),
        network: network.to_string(),
        network_alias: format!("{service}.{database}"),
        data,
        memory: config.memory.as_ref().map(|m| m.bytes()),
    };
    Ok((rt.create_container(&spec).await?, credentials))
}

const VOLUME_ADMIN_PASSWORD: &str = "dbtwin.admin-password";
const VOLUME_APP_PASSWORD: &str = "dbtwin.app-password";

fn volume_secret_labels(c: &Credentials) -> [(String, String); 2] {
    [
        (VOLUME_ADMIN_PASSWORD.to_string(), c.admin_password.clone()),
        (VOLUME_APP_PASSWORD.to_string(), c.app_password.clone()),
    ]
}

fn credentials_from_volume(kind: EngineKind, v: &ObjectInfo) -> Option<Credentials> {
    Some(Credentials {
        admin_user: engine::admin_user(kind).to_string(),
        admin_password: v.labels.get(VOLUME_ADMIN_PASSWORD)?.clone(),
        app_user: v.labels.get(labels::APP_USER)?.clone(),
        app_password: v.labels.get(VOLUME_APP_PASSWORD)?.clone(),
        database: match kind {
            EngineKind::Redis => "0".to_string(),
            _ => v.labels.get(labels::DB_NAME)?.clone(),
        },
    })
}

/// The first pause between readiness probes, and the longest. A failed probe is one local TCP
/// connection that the engine's port proxy drops, so probing often is cheap, while every pause
/// longer than needed is time added to `up` (measured: with a 1 s cap, `up` noticed a ready
/// MariaDB 0.5-0.8 s late).
const PROBE_DELAY_FIRST: Duration = Duration::from_millis(50);
const PROBE_DELAY_MAX: Duration = Duration::from_millis(200);
/// How often a waiting database's container state is checked (an API call to the engine).
const STATE_CHECK_EVERY: Duration = Duration::from_secs(1);

/// Probes until the server answers a real query, with backoff, until the deadline. Stops early
/// when the container exits (no point waiting for a crashed server) or the run is cancelled.
#[expect(clippy::too_many_arguments, reason = "all needed, one call site")]
async fn wait_ready<R: Runtime>(
    rt: &R,
    db: &DbRef,
    kind: EngineKind,
    container: &str,
    at: &Endpoint,
    creds: &Credentials,
    timeout: Duration,
    events: &Events,
    cancel: &Cancel,
) -> Result<String, ProvisionError> {
    let deadline = Instant::now() + timeout;
    let mut delay = PROBE_DELAY_FIRST;
    let mut attempt = 0u32;
    let mut last_state_check: Option<Instant> = None;
    let not_ready = |reason: String, log_tail: String| ProvisionError::NotReady {
        db: db.clone(),
        reason,
        log_tail,
    };
    loop {
        if cancel.is_cancelled() {
            return Err(ProvisionError::Interrupted);
        }
        attempt += 1;
        let last: ProbeError = match engine::probe(kind, at, creds).await {
            Ok(version) => return Ok(version),
            Err(e) if !e.retryable => {
                let tail = rt.logs_tail(container, LOG_TAIL_LINES).await.unwrap_or_default();
                return Err(not_ready(e.message, tail));
            }
            Err(e) => e,
        };
        let now = Instant::now();
        if last_state_check.is_none_or(|t| now - t >= STATE_CHECK_EVERY) || now >= deadline {
            last_state_check = Some(now);
            match rt.inspect_container(container).await?.map(|c| c.state) {
                Some(ContainerState::Running) => {}
                Some(state) => {
                    let tail = rt.logs_tail(container, LOG_TAIL_LINES).await.unwrap_or_default();
                    return Err(not_ready(
                        format!("the container stopped: {}", state.label()),
                        tail,
                    ));
                }
                None => return Err(not_ready("the container was removed".into(), String::new())),
            }
        }
        if now >= deadline {
            let tail = rt.logs_tail(container, LOG_TAIL_LINES).await.unwrap_or_default();
            return Err(not_ready(
                format!("no answer within {}s (last error: {})", timeout.as_secs(), last.message),
                tail,
            ));
        }
        events.emit(Event::DatabaseWaiting { db: db.clone(), attempt, reason: last.message });
        if !cancel.sleep(delay.min(deadline - now)).await {
            return Err(ProvisionError::Interrupted);
        }
        delay = (delay * 3 / 2).min(PROBE_DELAY_MAX);
    }
}

/// Removes every container, then volume (unless kept), then network matching the filter. It
/// goes on past a failed removal, so one stuck object does not keep the rest alive, and returns
/// the first error at the end.
pub async fn remove_matching<R: Runtime>(
    rt: &R,
    filter: &LabelFilter,
    keep_volumes: bool,
    events: &Events,
) -> Result<Removed, RuntimeError> {
    let mut removed = Removed::default();
    let mut first_error = None;
    let containers = rt.list_containers(filter).await?;
    let results =
        futures_util::future::join_all(containers.iter().map(|c| rt.remove_container(&c.id))).await;
    for (c, r) in containers.iter().zip(results) {
        match r {
            Ok(()) => {
                events.emit(Event::Removed { kind: "container".into(), name: c.name.clone() });
                removed.containers.push(c.name.clone());
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if !keep_volumes {
        for v in rt.list_volumes(filter).await? {
            match rt.remove_volume(&v.name).await {
                Ok(()) => {
                    events.emit(Event::Removed { kind: "volume".into(), name: v.name.clone() });
                    removed.volumes.push(v.name);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    for n in rt.list_networks(filter).await? {
        match rt.remove_network(&n.name).await {
            Ok(()) => {
                events.emit(Event::Removed { kind: "network".into(), name: n.name.clone() });
                removed.networks.push(n.name);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

/// What `down` removed.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Removed {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub networks: Vec<String>,
    /// Environments left alone because a live `up` holds their lock (`down --all`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// The live dbtwin run that holds an environment's lock now, as people read it (`pid N on
/// HOST`); `None` when none does (a lock whose holder is gone holds nothing).
pub async fn lock_holder<R: Runtime>(
    rt: &R,
    env: &EnvName,
) -> Result<Option<String>, ProvisionError> {
    let Some(lock) = rt.inspect_container(&labels::lock_name(env.as_str())).await? else {
        return Ok(None);
    };
    Ok(live_holder(&lock))
}

/// Removes an environment (or, with `None`, every environment) and everything it holds. An
/// environment whose lock a live `up` holds is not pulled out from under it: for one environment
/// that is an error, for all of them it is skipped and reported. `force` removes it anyway (a
/// lock left by another machine's killed `up` cannot be told from a live one).
pub async fn down<R: Runtime>(
    rt: &R,
    env: Option<&EnvName>,
    keep_volumes: bool,
    force: bool,
    events: &Events,
) -> Result<Removed, ProvisionError> {
    let filter = match env {
        Some(env) => env_filter(env),
        None => LabelFilter::default().has(labels::ENV),
    };
    let mut locked: BTreeMap<String, String> = BTreeMap::new();
    if !force {
        for lock in rt.list_containers(&filter.clone().eq(labels::KIND, labels::KIND_LOCK)).await? {
            if let Some(owner) = live_holder(&lock) {
                locked.insert(lock.label(labels::ENV).unwrap_or("?").to_string(), owner);
            }
        }
    }
    if let (Some(env), Some((_, owner))) = (env, locked.iter().next()) {
        return Err(ProvisionError::Locked { env: env.to_string(), owner: owner.clone() });
    }
    if locked.is_empty() {
        return Ok(remove_matching(rt, &filter, keep_volumes, events).await?);
    }
    // Every environment but the locked ones.
    let mut envs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    envs.extend(
        rt.list_containers(&filter)
            .await?
            .iter()
            .filter_map(|c| c.label(labels::ENV).map(String::from)),
    );
    envs.extend(
        rt.list_volumes(&filter)
            .await?
            .into_iter()
            .filter_map(|v| v.labels.get(labels::ENV).cloned()),
    );
    envs.extend(
        rt.list_networks(&filter)
            .await?
            .into_iter()
            .filter_map(|n| n.labels.get(labels::ENV).cloned()),
    );
    let mut removed = Removed::default();
    for env in envs.iter().filter(|e| !locked.contains_key(*e)) {
        let r =
            remove_matching(rt, &LabelFilter::default().eq(labels::ENV, env), keep_volumes, events)
                .await?;
        removed.containers.extend(r.containers);
        removed.volumes.extend(r.volumes);
        removed.networks.extend(r.networks);
    }
    removed.skipped =
        locked.into_iter().map(|(env, owner)| format!("{env} (locked by {owner})")).collect();
    Ok(removed)
}

/// What an environment holds besides running databases: data volumes kept without a container
/// (`down --keep-volumes`), and the lock of an `up` in progress (or of one that was killed).
#[derive(Clone, Debug, Default)]
pub struct Extras {
    /// `(env, database, engine, version)` of each kept volume.
    pub kept_volumes: Vec<(String, DbRef, String, String)>,
    /// Environment → lock owner.
    pub locks: BTreeMap<String, String>,
}

pub async fn extras<R: Runtime>(rt: &R) -> Result<Extras, RuntimeError> {
    let containers: BTreeSet<String> = rt
        .list_containers(&LabelFilter::default().has(labels::ENV))
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut extras = Extras::default();
    for c in rt
        .list_containers(
            &LabelFilter::default().has(labels::ENV).eq(labels::KIND, labels::KIND_LOCK),
        )
        .await?
    {
        let env = c.label(labels::ENV).unwrap_or("?").to_string();
        extras.locks.insert(env, c.label(labels::LOCK_OWNER).unwrap_or("unknown").to_string());
    }
    for v in rt
        .list_volumes(
            &LabelFilter::default().has(labels::ENV).eq(labels::KIND, labels::KIND_VOLUME),
        )
        .await?
    {
        let get = |k: &str| v.labels.get(k).cloned().unwrap_or_else(|| "?".to_string());
        let (env, service, database) =
            (get(labels::ENV), get(labels::SERVICE), get(labels::DATABASE));
        if !containers.contains(&labels::container_name(&env, &service, &database)) {
            extras.kept_volumes.push((
                env,
                DbRef::new(service, database),
                get(labels::ENGINE),
                get(labels::VERSION),
            ));
        }
    }
    Ok(extras)
}

/// A database container of some environment, read back from the engine.
#[derive(Clone, Debug)]
pub struct RunningDatabase {
    pub env: String,
    pub db: DbRef,
    pub engine: Option<EngineKind>,
    pub version: String,
    pub profile: String,
    pub container: String,
    pub state: ContainerState,
    pub created_at: Option<SystemTime>,
    pub endpoint: Option<Endpoint>,
    pub credentials: Option<Credentials>,
    pub image: String,
    /// The migrations the database was created with (labels), for `migrate` and `status`
    /// without a profile.
    pub migrations: Option<Migrations>,
    /// The seed file and seed it was created with (labels), for `seed` without a profile.
    pub data: Option<std::path::PathBuf>,
    pub seed: Option<u64>,
}

/// Every database container of an environment (or of all, with `None`), sorted by environment,
/// service and database.
pub async fn databases<R: Runtime>(
    rt: &R,
    env: Option<&EnvName>,
) -> Result<Vec<RunningDatabase>, RuntimeError> {
    let mut filter = LabelFilter::default().eq(labels::KIND, labels::KIND_DATABASE);
    filter = match env {
        Some(env) => filter.eq(labels::ENV, env.as_str()),
        None => filter.has(labels::ENV),
    };
    let mut out: Vec<RunningDatabase> = rt
        .list_containers(&filter)
        .await?
        .into_iter()
        .map(|c| {
            let engine: Option<EngineKind> = c.label(labels::ENGINE).and_then(|e| e.parse().ok());
            let endpoint = engine
                .and_then(|k| c.ports.get(&engine::container_port(k)))
                .map(|p| Endpoint { host: rt.connect_host().to_string(), port: *p });
            RunningDatabase {
                env: c.label(labels::ENV).unwrap_or_default().to_string(),
                db: DbRef::new(
                    c.label(labels::SERVICE).unwrap_or("?"),
                    c.label(labels::DATABASE).unwrap_or("?"),
                ),
                engine,
                version: c.label(labels::VERSION).unwrap_or("?").to_string(),
                profile: c.label(labels::PROFILE).unwrap_or("?").to_string(),
                created_at: crate::runtime::created_at(&c),
                credentials: engine.and_then(|k| engine::credentials_from_env(k, &c.env)),
                migrations: c.label(labels::MIGRATIONS).map(|dir| Migrations {
                    dir: dir.into(),
                    command: c.label(labels::MIGRATIONS_COMMAND).map(str::to_string),
                }),
                data: c.label(labels::DATA).map(Into::into),
                seed: c.label(labels::SEED).and_then(|s| s.parse().ok()),
                image: c.image,
                container: c.name,
                state: c.state,
                endpoint,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.env, &a.db).cmp(&(&b.env, &b.db)));
    Ok(out)
}

/// Connects to one database and brings its schema up to its migrations folder.
pub async fn migrate_one(
    target: &Target,
    request: &migrate::apply::Request<'_>,
    events: &Events,
) -> Result<migrate::apply::Outcome, MigrateError> {
    let mut session = Session::connect(target).await?;
    let outcome = migrate::apply::migrate(&mut session, request, events).await;
    session.close().await;
    outcome
}

/// One database of a running environment to migrate.
pub struct MigrateTarget {
    pub db: DbRef,
    pub kind: EngineKind,
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub migrations: Migrations,
}

/// `dbtwin migrate`: applies pending migrations to databases of a running environment, in
/// parallel across databases, holding the environment's lock so an `up` cannot interleave.
/// Every database runs to its end; the first failure is returned after all have finished.
pub async fn migrate_environment<R: Runtime>(
    rt: &R,
    env: &EnvName,
    lock_image: &str,
    targets: &[MigrateTarget],
    repair: bool,
    events: &Events,
) -> Result<Vec<(DbRef, migrate::apply::Outcome)>, ProvisionError> {
    let run = run_id();
    let lock = acquire_lock(rt, env, lock_image, &run, events).await?.id;
    let work = targets.iter().map(|t| async move {
        let admin_url = engine::admin_url(t.kind, &t.endpoint, &t.credentials);
        let request = migrate::apply::Request {
            db: t.db.clone(),
            kind: t.kind,
            dir: &t.migrations.dir,
            command: t.migrations.command.as_deref(),
            admin_url: &admin_url,
            repair,
        };
        let target = Target::admin(t.kind, &t.endpoint, &t.credentials);
        let outcome = migrate_one(&target, &request, events).await.map_err(|source| {
            ProvisionError::Migrate { db: t.db.clone(), source: Box::new(source) }
        })?;
        events.emit(Event::DatabaseDone {
            db: t.db.clone(),
            migrations_applied: outcome.applied.len(),
        });
        Ok::<_, ProvisionError>((t.db.clone(), outcome))
    });
    let results = futures_util::future::join_all(work).await;
    release_and_collect(rt, &lock, results, events).await
}

/// How `seed` fills: row counts scaled, and whether seeded databases are emptied and refilled.
#[derive(Clone, Copy, Debug)]
pub struct SeedOptions {
    pub scale: f64,
    pub reseed: bool,
}

/// `service.database` → its [`DbRef`].
fn db_ref(name: &str) -> Option<DbRef> {
    name.split_once('.').map(|(service, database)| DbRef::new(service, database))
}

/// One database of a running environment to seed.
pub struct SeedTarget {
    pub db: DbRef,
    pub kind: EngineKind,
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub file: Arc<SeedFile>,
    pub seed: u64,
}

/// `dbtwin seed`: fills databases of a running environment, in parallel, holding the
/// environment's lock. Every database runs to its end; the first failure is returned after all
/// have finished.
pub async fn seed_environment<R: Runtime>(
    rt: &R,
    env: &EnvName,
    lock_image: &str,
    targets: &[SeedTarget],
    options: SeedOptions,
    events: &Events,
    cancel: &Cancel,
) -> Result<Vec<(DbRef, seeding::Outcome)>, ProvisionError> {
    let run = run_id();
    // Only the databases seeded now: a source is opened for none other, and relations reach only
    // these databases' sources.
    let sources = MaskedSources::new(targets.iter().map(|t| (t.db.clone(), t.file.clone())));
    let sources = &sources;
    let admins: Vec<Target> =
        targets.iter().map(|t| Target::admin(t.kind, &t.endpoint, &t.credentials)).collect();
    let locked = async {
        // Each database is read (never written) while the lock is being taken; what was read
        // counts once the lock is held only if the database shows no write since.
        let reading = targets
            .iter()
            .zip(&admins)
            .map(|(t, target)| seeding::Ahead::read(target, &t.file, options.reseed));
        // Ctrl-C stops the reads; the lock is taken all the same, then released.
        let reading = async {
            tokio::select! {
                ahead = futures_util::future::join_all(reading) => Some(ahead),
                () = cancel.cancelled() => None,
            }
        };
        let (lock, ahead) = tokio::join!(acquire_lock(rt, env, lock_image, &run, events), reading);
        let lock = lock?;
        let Some(ahead) = ahead else {
            let interrupted =
                vec![Err::<(DbRef, seeding::Outcome), _>(ProvisionError::Interrupted)];
            return release_and_collect(rt, &lock.id, interrupted, events).await;
        };
        let work = targets.iter().zip(&admins).zip(ahead).map(|((t, target), ahead)| async move {
            let ahead = if lock.taken_over { ahead.map(seeding::Ahead::forget) } else { ahead };
            let request = seeding::Request {
                db: t.db.clone(),
                target,
                file: &t.file,
                seed: t.seed,
                scale: options.scale,
                reseed: options.reseed,
                sources: Some(sources),
            };
            let outcome = tokio::select! {
                outcome = seeding::seed(&request, Some(ahead), events) => {
                    outcome.map_err(|e| ProvisionError::Data(Box::new(e)))?
                }
                () = cancel.cancelled() => return Err(ProvisionError::Interrupted),
            };
            Ok::<_, ProvisionError>((t.db.clone(), outcome))
        });
        let results = futures_util::future::join_all(work).await;
        release_and_collect(rt, &lock.id, results, events).await
    };
    // With --reseed every source is copied: the sources open (read-only) and their subsets are
    // planned while the lock is taken and the targets are read. A failure there is each copy's
    // error when it asks for its source. Without --reseed a database seeded before is skipped,
    // and the sources open only when one is not.
    let warming = async {
        if options.reseed {
            let _ = sources.open().await;
        }
        std::future::pending().await
    };
    tokio::select! {
        outcome = locked => outcome,
        never = warming => never,
    }
}

/// The end of a command that works on every database of an environment under its lock: the lock
/// is released, then the first failure is the error and the others are warned about, so none
/// vanishes with it.
async fn release_and_collect<R: Runtime, T>(
    rt: &R,
    lock: &str,
    results: Vec<Result<T, ProvisionError>>,
    events: &Events,
) -> Result<Vec<T>, ProvisionError> {
    if let Err(e) = rt.remove_container(lock).await {
        events
            .emit(Event::Warning { db: None, message: format!("could not release the lock: {e}") });
    }
    let mut outcomes = Vec::new();
    let mut first = None;
    for result in results {
        match result {
            Ok(o) => outcomes.push(o),
            Err(e) if first.is_none() => first = Some(e),
            Err(e) => {
                events.emit(Event::Warning { db: None, message: format!("also failed: {e}") })
            }
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(outcomes),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::runtime::fake::FakeRuntime;

    fn profile(yaml: &str) -> Profile {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yaml");
        std::fs::write(&path, yaml).unwrap();
        crate::profile::load_with(&[path], &|_| None).unwrap()
    }

    const TWO_REDIS: &str = "services:\n  a:\n    databases:\n      main: { engine: redis, version: \"7.0\" }\n  b:\n    databases:\n      main: { engine: redis, version: \"7.0\" }\n";

    fn options(env: &str) -> UpOptions {
        UpOptions {
            env: EnvName::parse(env).unwrap(),
            recreate: false,
            keep_on_failure: false,
            ready_timeout: Duration::from_secs(30),
            no_data: false,
            seed_files: BTreeMap::new(),
        }
    }

    fn recording() -> (Events, std::sync::Arc<Mutex<Vec<Event>>>) {
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        (Events::new(move |e| sink.lock().unwrap().push(e.clone())), seen)
    }

    #[tokio::test]
    async fn a_create_failing_halfway_removes_everything_the_run_made() {
        let rt = FakeRuntime {
            images: vec!["redis:7.0".into()],
            fail_create: vec!["dbtwin-t.b.main".into()],
            ..Default::default()
        };
        let (events, seen) = recording();
        let err = up(&rt, &profile(TWO_REDIS), &options("t"), &events, &Cancel::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("failed to create container dbtwin-t.b.main"), "{err}");
        assert_eq!(rt.objects(), Vec::<String>::new(), "calls: {:#?}", rt.calls());
        // a.main was created and started before b.main failed; it and its volume went again.
        let calls = rt.calls();
        assert!(calls.contains(&"start container dbtwin-t.a.main".to_string()), "{calls:#?}");
        assert!(calls.contains(&"remove volume dbtwin-t.a.main.data".to_string()), "{calls:#?}");
        assert!(seen.lock().unwrap().iter().any(|e| matches!(e, Event::TearingDown { .. })));
    }

    #[tokio::test]
    async fn a_failing_teardown_is_a_warning_and_the_cause_stays_the_error() {
        let rt = FakeRuntime {
            images: vec!["redis:7.0".into()],
            fail_create: vec!["dbtwin-t.b.main".into()],
            fail_remove: vec!["dbtwin-t.a.main.data".into()],
            ..Default::default()
        };
        let (events, seen) = recording();
        let err = up(&rt, &profile(TWO_REDIS), &options("t"), &events, &Cancel::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("failed to create container dbtwin-t.b.main"), "{err}");
        let warned = seen.lock().unwrap().iter().any(
            |e| matches!(e, Event::Warning { message, .. } if message.contains("teardown incomplete")),
        );
        assert!(warned);
        // Everything else went, the lock included.
        assert_eq!(rt.objects(), vec!["volume dbtwin-t.a.main.data".to_string()]);
    }

    #[tokio::test]
    async fn a_pull_failure_creates_nothing() {
        let rt = FakeRuntime { fail_pull: vec!["redis:7.0".into()], ..Default::default() };
        let err = up(&rt, &profile(TWO_REDIS), &options("t"), &Events::none(), &Cancel::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ProvisionError::Runtime(e) if e.kind == RuntimeErrorKind::Pull),
            "{err}"
        );
        assert!(rt.calls().iter().all(|c| !c.starts_with("create")), "{:?}", rt.calls());
    }

    #[tokio::test]
    async fn a_database_that_differs_is_refused_before_anything_changes() {
        let rt = FakeRuntime { images: vec!["redis:7.0".into()], ..Default::default() };
        let old = ContainerInfo {
            id: "dbtwin-t.a.main".into(),
            name: "dbtwin-t.a.main".into(),
            image: "redis:6.2".into(),
            labels: BTreeMap::from([
                (labels::ENV.to_string(), "t".to_string()),
                (labels::KIND.to_string(), labels::KIND_DATABASE.to_string()),
                (labels::ENGINE.to_string(), "redis".to_string()),
                (labels::VERSION.to_string(), "6.2".to_string()),
                (labels::SPEC.to_string(), "old".to_string()),
            ]),
            env: BTreeMap::new(),
            cmd: vec![],
            state: ContainerState::Running,
            ports: BTreeMap::from([(6379, 40000)]),
        };
        rt.insert_container(old);
        let err = up(&rt, &profile(TWO_REDIS), &options("t"), &Events::none(), &Cancel::default())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "1 database(s) differ from the profile:\n  a.main: version 6.2 → 7.0, image redis:6.2 → redis:7.0"
        );
        let changes: Vec<String> = rt
            .calls()
            .into_iter()
            .filter(|c| !c.contains(".lock"))
            .filter(|c| {
                c.starts_with("create") || c.starts_with("remove") || c.starts_with("start")
            })
            .collect();
        assert_eq!(changes, Vec::<String>::new());
    }

    #[tokio::test]
    async fn cancelling_stops_waiting_databases_and_removes_them() {
        let rt = FakeRuntime { images: vec!["redis:7.0".into()], ..Default::default() };
        let cancel = Cancel::default();
        let (events, seen) = recording();
        // Nothing answers on the fake's ports, so both databases wait until the cancel.
        let trigger = {
            let (cancel, seen) = (cancel.clone(), seen.clone());
            async move {
                while !seen
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|e| matches!(e, Event::DatabaseWaiting { .. }))
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                cancel.cancel();
            }
        };
        let profile = profile(TWO_REDIS);
        let opts = options("t");
        let (result, ()) = tokio::join!(up(&rt, &profile, &opts, &events, &cancel), trigger);
        assert!(matches!(result, Err(ProvisionError::Interrupted)), "{result:?}");
        assert_eq!(rt.objects(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn ctrl_c_while_seed_reads_ahead_stops_it_and_releases_the_lock() {
        // A server that takes the connection and never answers: the read ahead waits on it.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                open.push(socket);
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let file = SeedFile::parse(&dir.path().join("seed.yaml"), "tables: {}\n").unwrap();
        let target = SeedTarget {
            db: DbRef::new("a", "main"),
            kind: EngineKind::Postgres,
            endpoint: Endpoint { host: "127.0.0.1".into(), port },
            credentials: Credentials {
                admin_user: "postgres".into(),
                admin_password: "pw".into(),
                app_user: "app".into(),
                app_password: "pw".into(),
                database: "app".into(),
            },
            file: Arc::new(file),
            seed: 1,
        };
        let rt = FakeRuntime::default();
        let cancel = Cancel::default();
        let trigger = {
            let cancel = cancel.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                cancel.cancel();
            }
        };
        let env = EnvName::parse("t").unwrap();
        let options = SeedOptions { scale: 1.0, reseed: true };
        let (targets, events) = ([target], Events::none());
        let seeding = seed_environment(&rt, &env, "img", &targets, options, &events, &cancel);
        // Not a speed check: left alone, the read ahead would end at the connect timeout (5 s,
        // then the run stops as interrupted all the same); the cancel must end it long before.
        let (result, ()) =
            tokio::time::timeout(Duration::from_secs(3), async { tokio::join!(seeding, trigger) })
                .await
                .expect("the read ahead stopped at the cancel");
        assert!(matches!(result, Err(ProvisionError::Interrupted)), "{result:?}");
        assert_eq!(rt.objects(), Vec::<String>::new(), "the lock was released");
        assert!(rt.calls().iter().any(|c| c.contains("lock")), "{:?}", rt.calls());
        held.abort();
    }

    fn container(name: &str, env: &str, kind: &str, extra: &[(&str, String)]) -> ContainerInfo {
        let mut labels = BTreeMap::from([
            (labels::ENV.to_string(), env.to_string()),
            (labels::KIND.to_string(), kind.to_string()),
        ]);
        labels.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        ContainerInfo {
            id: name.into(),
            name: name.into(),
            image: "redis:7.0".into(),
            labels,
            env: BTreeMap::new(),
            cmd: vec![],
            state: ContainerState::Running,
            ports: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn down_all_skips_an_environment_a_live_up_holds_and_force_does_not() {
        let rt = FakeRuntime::default();
        let live = [(labels::LOCK_OWNER, lock_owner().0)];
        rt.insert_container(container("dbtwin-a.lock", "a", labels::KIND_LOCK, &live));
        rt.insert_container(container("dbtwin-a.x.main", "a", labels::KIND_DATABASE, &[]));
        rt.insert_container(container("dbtwin-b.x.main", "b", labels::KIND_DATABASE, &[]));

        let one =
            down(&rt, Some(&EnvName::parse("a").unwrap()), false, false, &Events::none()).await;
        assert!(matches!(one, Err(ProvisionError::Locked { .. })), "{one:?}");

        let removed = down(&rt, None, false, false, &Events::none()).await.unwrap();
        assert_eq!(removed.containers, vec!["dbtwin-b.x.main".to_string()]);
        assert_eq!(removed.skipped.len(), 1);
        assert!(removed.skipped[0].starts_with("a (locked by "), "{:?}", removed.skipped);

        let forced = down(&rt, None, false, true, &Events::none()).await.unwrap();
        assert_eq!(forced.containers.len(), 2);
        assert_eq!(rt.objects(), Vec::<String>::new());
    }

    #[test]
    fn lock_owners_are_gone_only_when_that_is_certain() {
        let (owner, start) = lock_owner();
        let start = start.expect("this process has a /proc entry").to_string();
        assert!(!owner_is_gone(&owner, Some(&start)), "this process is alive");
        assert!(!owner_is_gone(&owner, None), "written by a dbtwin that recorded no start");
        let host = hostname();
        assert!(owner_is_gone(&format!("{host}:{}:999999999", boot_id()), None), "no such pid");
        assert!(
            owner_is_gone(&format!("{host}:an-earlier-boot:1"), None),
            "the machine restarted since"
        );
        assert!(
            !owner_is_gone("another-machine:some-boot:1", None),
            "another host cannot be checked"
        );
        assert!(!owner_is_gone("an-old-format:1", None));
        // The pid used again by a process that started at another time.
        let later = (start.parse::<u64>().unwrap() + 1).to_string();
        assert!(owner_is_gone(&owner, Some(&later)), "{owner} started at {later}");
        // Exited, not reaped yet (what a `kill -9` leaves until its parent waits).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let zombie = format!("{host}:{}:{}", boot_id(), child.id());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while process_start(child.id()).is_some_and(|(_, exited)| !exited) {
            assert!(std::time::Instant::now() < deadline, "`true` never exited");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(owner_is_gone(&zombie, None), "{zombie}");
        child.wait().unwrap();
        assert!(owner_is_gone(&zombie, None), "reaped: {zombie}");
        assert_eq!(describe_owner("vm:a-boot:42"), "pid 42 on vm");
        assert_eq!(describe_owner("unknown"), "unknown");
    }

    #[test]
    fn images_come_from_the_override_the_map_or_the_official_name_behind_the_registry() {
        let p = profile(
            "registry: mirror.example.com/hub/\nimages: { redis: { \"7.0\": local/redis:7 } }\nservices:\n  a:\n    databases:\n      main: { engine: redis, version: \"7.0\" }\n      pg: { engine: postgres, version: \"17.6\" }\n      own: { engine: postgres, version: \"15\", image: \"team/pg:15-postgis\" }\n",
        );
        let images: BTreeMap<String, String> =
            p.databases().map(|(_, name, db)| (name.to_string(), image_for(&p, db))).collect();
        assert_eq!(images["main"], "local/redis:7");
        assert_eq!(images["pg"], "mirror.example.com/hub/postgres:17.6");
        assert_eq!(images["own"], "team/pg:15-postgis");
    }

    #[test]
    fn the_spec_hash_ignores_secrets_and_sees_settings() {
        let p = profile(TWO_REDIS);
        let db = p.databases().next().unwrap().2.clone();
        let h = spec_hash(&db, "redis:7.0");
        assert_eq!(h, spec_hash(&db, "redis:7.0"));
        assert_ne!(h, spec_hash(&db, "redis:7.0.15"));
        let mut changed = db.clone();
        changed.settings.insert("maxmemory".into(), "100mb".into());
        assert_ne!(h, spec_hash(&changed, "redis:7.0"));
    }
}
