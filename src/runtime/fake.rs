//! A recording, in-memory runtime for failure paths that a real engine rarely produces on demand
//! (a create that fails halfway through an environment, a teardown that itself fails). The real
//! paths are tested against Docker in `tests/`; this never replaces them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{
    ContainerInfo, ContainerSpec, ContainerState, LabelFilter, ObjectInfo, PullProgress, Result,
    Runtime, RuntimeError, RuntimeErrorKind,
};

#[derive(Default)]
pub struct FakeRuntime {
    pub(crate) state: Mutex<State>,
    /// Container names whose creation fails.
    pub fail_create: Vec<String>,
    /// Object names whose removal fails.
    pub fail_remove: Vec<String>,
    /// Images that exist; others "pull" successfully unless listed in `fail_pull`.
    pub images: Vec<String>,
    pub fail_pull: Vec<String>,
}

#[derive(Default)]
pub(crate) struct State {
    containers: BTreeMap<String, ContainerInfo>,
    volumes: BTreeMap<String, ObjectInfo>,
    networks: BTreeMap<String, ObjectInfo>,
    calls: Vec<String>,
    next_port: u16,
}

impl FakeRuntime {
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Every object still present, as `kind name`.
    pub fn objects(&self) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.containers
            .keys()
            .map(|n| format!("container {n}"))
            .chain(s.volumes.keys().map(|n| format!("volume {n}")))
            .chain(s.networks.keys().map(|n| format!("network {n}")))
            .collect()
    }

    /// Puts a container in place as if an earlier run had made it.
    pub fn insert_container(&self, info: ContainerInfo) {
        self.state.lock().unwrap().containers.insert(info.name.clone(), info);
    }

    fn record(&self, call: String) {
        self.state.lock().unwrap().calls.push(call);
    }

    fn failing(list: &[String], name: &str, what: &str) -> Result<()> {
        if list.iter().any(|n| n == name) {
            return Err(RuntimeError::new(
                RuntimeErrorKind::Other,
                format!("failed to {what} {name}"),
            ));
        }
        Ok(())
    }
}

impl Runtime for FakeRuntime {
    fn connect_host(&self) -> &str {
        "127.0.0.1"
    }

    fn publish_ip(&self) -> &str {
        "127.0.0.1"
    }

    async fn image_exists(&self, image: &str) -> Result<bool> {
        Ok(self.images.iter().any(|i| i == image))
    }

    async fn pull_image(
        &self,
        image: &str,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> Result<()> {
        self.record(format!("pull {image}"));
        Self::failing(&self.fail_pull, image, "pull image").map_err(|mut e| {
            e.kind = RuntimeErrorKind::Pull;
            e
        })?;
        progress(PullProgress { image: image.into(), current: 1, total: 1, status: "done".into() });
        Ok(())
    }

    async fn create_network(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        self.record(format!("create network {name}"));
        let info = ObjectInfo { name: name.into(), labels: labels.clone() };
        self.state.lock().unwrap().networks.insert(name.into(), info);
        Ok(())
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.record(format!("remove network {name}"));
        Self::failing(&self.fail_remove, name, "remove network")?;
        self.state.lock().unwrap().networks.remove(name);
        Ok(())
    }

    async fn list_networks(&self, filter: &LabelFilter) -> Result<Vec<ObjectInfo>> {
        let s = self.state.lock().unwrap();
        Ok(s.networks.values().filter(|n| filter.matches(&n.labels)).cloned().collect())
    }

    async fn create_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        self.record(format!("create volume {name}"));
        let info = ObjectInfo { name: name.into(), labels: labels.clone() };
        self.state.lock().unwrap().volumes.insert(name.into(), info);
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.record(format!("remove volume {name}"));
        Self::failing(&self.fail_remove, name, "remove volume")?;
        self.state.lock().unwrap().volumes.remove(name);
        Ok(())
    }

    async fn list_volumes(&self, filter: &LabelFilter) -> Result<Vec<ObjectInfo>> {
        let s = self.state.lock().unwrap();
        Ok(s.volumes.values().filter(|v| filter.matches(&v.labels)).cloned().collect())
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        self.record(format!("create container {}", spec.name));
        Self::failing(&self.fail_create, &spec.name, "create container")?;
        let mut s = self.state.lock().unwrap();
        if s.containers.contains_key(&spec.name) {
            return Err(RuntimeError::new(
                RuntimeErrorKind::Conflict,
                format!("name {} taken", spec.name),
            ));
        }
        // Ports nothing listens on: a probe fails at once with "connection refused".
        s.next_port += 1;
        let port = 1 + s.next_port;
        let info = ContainerInfo {
            id: spec.name.clone(),
            name: spec.name.clone(),
            image: spec.image.clone(),
            labels: spec.labels.clone(),
            env: spec.env.iter().cloned().collect(),
            cmd: spec.cmd.clone(),
            state: ContainerState::Created,
            ports: BTreeMap::from([(spec.container_port, port)]),
        };
        s.containers.insert(spec.name.clone(), info);
        Ok(spec.name.clone())
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.record(format!("start container {id}"));
        if let Some(c) = self.state.lock().unwrap().containers.get_mut(id) {
            c.state = ContainerState::Running;
        }
        Ok(())
    }

    async fn inspect_container(&self, id: &str) -> Result<Option<ContainerInfo>> {
        Ok(self.state.lock().unwrap().containers.get(id).cloned())
    }

    async fn list_containers(&self, filter: &LabelFilter) -> Result<Vec<ContainerInfo>> {
        let s = self.state.lock().unwrap();
        Ok(s.containers.values().filter(|c| filter.matches(&c.labels)).cloned().collect())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        self.record(format!("remove container {id}"));
        Self::failing(&self.fail_remove, id, "remove container")?;
        self.state.lock().unwrap().containers.remove(id);
        Ok(())
    }

    async fn logs_tail(&self, id: &str, _lines: usize) -> Result<String> {
        Ok(format!("log of {id}\n"))
    }

    async fn logs_follow(
        &self,
        id: &str,
        _tail: Option<usize>,
        out: &(dyn Fn(&[u8]) + Send + Sync),
    ) -> Result<()> {
        out(format!("log of {id}\n").as_bytes());
        Ok(())
    }
}
