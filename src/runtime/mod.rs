//! Where databases run. The [`Runtime`] trait is the seam between dbtwin and a container engine:
//! the Docker implementation lives in [`docker`] (the only module that sees bollard), and failure
//! tests use a recording fake. Everything here speaks in dbtwin's own types, so no engine type leaks
//! upwards.

pub mod docker;
#[cfg(test)]
pub mod fake;
pub mod labels;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::SystemTime;

/// Everything needed to create one database container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// Environment variables; values may be secrets and are never logged.
    pub env: Vec<(String, String)>,
    /// Replaces the image's entrypoint when set.
    pub entrypoint: Option<Vec<String>>,
    /// Arguments given to the entrypoint.
    pub cmd: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// The port the server listens on inside the container.
    pub container_port: u16,
    /// The host port to publish on; `None` lets the engine choose a free one.
    pub host_port: Option<u16>,
    /// The host address to publish on (127.0.0.1 unless configured otherwise).
    pub host_ip: String,
    pub network: String,
    /// The name other containers on the network reach this one by.
    pub network_alias: String,
    pub data: DataMount,
    /// Memory limit in bytes.
    pub memory: Option<u64>,
}

/// Where a database keeps its data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataMount {
    /// A named volume mounted at `target`.
    Volume { name: String, target: String },
    /// An in-memory filesystem at `target`: fast, gone with the container.
    Tmpfs { target: String },
}

/// The state of a container as the engine reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Restarting,
    Paused,
    Exited { code: i64 },
    Dead,
    Other(String),
}

impl ContainerState {
    pub fn is_running(&self) -> bool {
        matches!(self, ContainerState::Running)
    }

    pub fn label(&self) -> String {
        match self {
            ContainerState::Created => "created".into(),
            ContainerState::Running => "running".into(),
            ContainerState::Restarting => "restarting".into(),
            ContainerState::Paused => "paused".into(),
            ContainerState::Exited { code } => format!("exited ({code})"),
            ContainerState::Dead => "dead".into(),
            ContainerState::Other(s) => s.clone(),
        }
    }
}

/// What dbtwin needs to know about an existing container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub cmd: Vec<String>,
    pub state: ContainerState,
    /// Published ports: container port → host port.
    pub ports: BTreeMap<u16, u16>,
}

impl ContainerInfo {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// A network or a volume: a name and its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// Progress of an image pull, as the engine reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullProgress {
    pub image: String,
    /// Bytes downloaded so far and the total, summed over the layers seen.
    pub current: u64,
    pub total: u64,
    pub status: String,
}

/// Which objects a listing returns: those carrying every given label (a value of `None` means
/// "has the label, whatever its value").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelFilter(pub Vec<(String, Option<String>)>);

impl LabelFilter {
    pub fn has(mut self, key: &str) -> Self {
        self.0.push((key.to_string(), None));
        self
    }

    pub fn eq(mut self, key: &str, value: &str) -> Self {
        self.0.push((key.to_string(), Some(value.to_string())));
        self
    }

    /// Whether a set of labels passes this filter.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|(k, v)| match (labels.get(k), v) {
            (Some(_), None) => true,
            (Some(have), Some(want)) => have == want,
            (None, _) => false,
        })
    }
}

/// What kind of runtime failure happened; decides the exit code and whether a retry can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeErrorKind {
    /// The engine could not be reached at all.
    Unreachable,
    /// The object does not exist.
    NotFound,
    /// An object of that name exists already.
    Conflict,
    /// An image could not be pulled.
    Pull,
    /// A host port to publish on is taken by another process or container.
    PortInUse,
    /// Anything else the engine refused.
    Other,
}

/// A runtime failure: what failed (`failed to pull image postgres:17`), its kind, and the engine's
/// own error as the source.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RuntimeError {
    pub kind: RuntimeErrorKind,
    pub message: String,
    pub hint: Option<String>,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl RuntimeError {
    pub fn new(kind: RuntimeErrorKind, message: impl Into<String>) -> Self {
        RuntimeError { kind, message: message.into(), hint: None, source: None }
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

pub type Result<T> = std::result::Result<T, RuntimeError>;

/// A container engine. Every method names the object it acts on in its error.
pub trait Runtime: Send + Sync {
    /// The host a client on this machine connects to for a published port.
    fn connect_host(&self) -> &str;
    /// The host address ports are published on.
    fn publish_ip(&self) -> &str;

    fn image_exists(&self, image: &str) -> impl Future<Output = Result<bool>> + Send;
    fn pull_image(
        &self,
        image: &str,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> impl Future<Output = Result<()>> + Send;

    fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn remove_network(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn list_networks(
        &self,
        filter: &LabelFilter,
    ) -> impl Future<Output = Result<Vec<ObjectInfo>>> + Send;

    fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn list_volumes(
        &self,
        filter: &LabelFilter,
    ) -> impl Future<Output = Result<Vec<ObjectInfo>>> + Send;

    /// Creates a container (not started). Fails with [`RuntimeErrorKind::Conflict`] when the name
    /// is taken: that atomicity is what the environment lock relies on.
    fn create_container(&self, spec: &ContainerSpec)
    -> impl Future<Output = Result<String>> + Send;
    fn start_container(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// `Ok(None)` when no such container exists.
    fn inspect_container(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ContainerInfo>>> + Send;
    /// Every container (running or not) whose labels pass the filter.
    fn list_containers(
        &self,
        filter: &LabelFilter,
    ) -> impl Future<Output = Result<Vec<ContainerInfo>>> + Send;
    /// Removes a container, killing it if it runs, with its anonymous volumes.
    fn remove_container(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// The last `lines` lines of the container's output (stdout and stderr interleaved).
    fn logs_tail(&self, id: &str, lines: usize) -> impl Future<Output = Result<String>> + Send;
    /// Follows the container's output, writing each chunk to `out` until the container stops.
    fn logs_follow(
        &self,
        id: &str,
        tail: Option<usize>,
        out: &(dyn Fn(&[u8]) + Send + Sync),
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The time a container was created, for `ls`: from the `dbtwin.created-at` label.
pub fn created_at(info: &ContainerInfo) -> Option<SystemTime> {
    let secs: u64 = info.label(labels::CREATED_AT)?.parse().ok()?;
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}
