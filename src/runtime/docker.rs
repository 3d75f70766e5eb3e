//! The Docker Engine runtime: the only module that sees bollard. Every bollard error is wrapped
//! here, once, with the object it concerned (`failed to pull image postgres:17`), because bollard's
//! own messages rarely say what was being done.

use std::collections::{BTreeMap, HashMap};
use std::net::ToSocketAddrs;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, EndpointSettings,
    HostConfig, Mount, MountType, NetworkCreateRequest, NetworkingConfig, PortBinding,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, ListNetworksOptions,
    ListVolumesOptions, LogsOptions, RemoveContainerOptions, RemoveVolumeOptions,
};
use futures_util::StreamExt;

use super::{
    ContainerInfo, ContainerSpec, ContainerState, DataMount, LabelFilter, ObjectInfo, PullProgress,
    Result, Runtime, RuntimeError, RuntimeErrorKind,
};

/// A connection to a Docker Engine, local or remote (`DOCKER_HOST`).
pub struct DockerRuntime {
    docker: Docker,
    connect_host: String,
    publish_ip: String,
}

/// Where the engine is and how to reach what it publishes.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// The engine address; `None` reads `DOCKER_HOST`, then the local socket.
    pub docker_host: Option<String>,
    /// An explicit host to publish on and connect to, overriding what `DOCKER_HOST` implies.
    pub host: Option<String>,
}

impl DockerRuntime {
    /// Connects to the engine and negotiates the API version (bollard speaks a newer API than
    /// Debian's engine 20.10 does; negotiation settles on the engine's).
    pub async fn connect(options: &ConnectOptions) -> Result<Self> {
        let docker_host = options
            .docker_host
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()));
        let shown =
            docker_host.clone().unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
        let unreachable = |e: bollard::errors::Error| unreachable_at(&shown, e);
        // The first request is the version's, which also shows the engine answers. On a local
        // socket it is `/_ping`, whose `Api-Version` header says the engine's version in well
        // under a millisecond, where `/version` takes several (the engine asks containerd and
        // runc theirs) on the path of every command.
        let socket = match docker_host.as_deref() {
            None => Some("/var/run/docker.sock"),
            Some(host) => host.strip_prefix("unix://"),
        };
        let pinged = match socket {
            Some(path) => api_version(path).await.map_err(|e| unreachable_at(&shown, e))?,
            None => None,
        };
        let docker = match (socket, pinged) {
            (Some(path), Some(engine)) => {
                // bollard's own version when the engine speaks it, else the engine's.
                let ours = *bollard::API_DEFAULT_VERSION;
                let version = if engine < ours { engine } else { ours };
                Docker::connect_with_unix(path, DOCKER_TIMEOUT_SECS, &version)
                    .map_err(unreachable)?
            }
            _ => {
                let docker = match &docker_host {
                    Some(host) => Docker::connect_with_host(host),
                    None => Docker::connect_with_local_defaults(),
                }
                .map_err(unreachable)?;
                docker.negotiate_version().await.map_err(unreachable)?
            }
        };

        let remote = docker_host.as_deref().and_then(remote_host);
        let (connect_host, publish_ip) = match (&options.host, remote) {
            (Some(host), _) => (host.clone(), resolve_ip(host)?),
            (None, Some(host)) => {
                let ip = resolve_ip(&host)?;
                (host, ip)
            }
            (None, None) => ("127.0.0.1".to_string(), "127.0.0.1".to_string()),
        };
        Ok(DockerRuntime { docker, connect_host, publish_ip })
    }
}

/// The engine at `shown` did not answer (`e` says how).
fn unreachable_at(shown: &str, e: impl std::error::Error + Send + Sync + 'static) -> RuntimeError {
    RuntimeError::new(
        RuntimeErrorKind::Unreachable,
        format!("cannot reach the docker engine at {shown}"),
    )
    .with_source(e)
    .with_hint(
        "start the Docker daemon (e.g. `sudo systemctl start docker` or `dockerd &`), \
         or point DOCKER_HOST at a running engine",
    )
}

/// How long one engine request may take (bollard's default).
const DOCKER_TIMEOUT_SECS: u64 = 120;

/// The API version the engine on the unix socket `path` speaks, from the `Api-Version` header of
/// its `/_ping` answer; `None` when the answer has no such header (the caller then negotiates
/// through `/version`). An error when nothing answers there.
async fn api_version(path: &str) -> std::io::Result<Option<bollard::ClientVersion>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::UnixStream::connect(path).await?;
        stream
            .write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
            .await?;
        // The headers are all that is needed; they come first and are short.
        let mut answer = Vec::with_capacity(1024);
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.len() < 64 * 1024 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(answer)
    };
    let answer =
        tokio::time::timeout(std::time::Duration::from_secs(DOCKER_TIMEOUT_SECS), exchange)
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "the engine did not answer")
            })??;
    Ok(ping_version(&answer))
}

/// The `Api-Version` header of an HTTP answer's head, as a version bollard can speak.
fn ping_version(answer: &[u8]) -> Option<bollard::ClientVersion> {
    let head = String::from_utf8_lossy(answer);
    let mut lines = head.split("\r\n");
    if !lines.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let value = lines.take_while(|l| !l.is_empty()).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("api-version").then(|| value.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    Some(bollard::ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// The host part of a `tcp://host:port` (or http/https) engine address.
fn remote_host(docker_host: &str) -> Option<String> {
    let rest =
        ["tcp://", "http://", "https://"].iter().find_map(|p| docker_host.strip_prefix(p))?;
    let authority = rest.split('/').next()?;
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| host.to_string())
}

fn resolve_ip(host: &str) -> Result<String> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(host.to_string());
    }
    let addr = (host, 0)
        .to_socket_addrs()
        .map_err(|e| {
            RuntimeError::new(RuntimeErrorKind::Unreachable, format!("cannot resolve host {host}"))
                .with_source(e)
        })?
        .next()
        .ok_or_else(|| {
            RuntimeError::new(RuntimeErrorKind::Unreachable, format!("host {host} has no address"))
        })?;
    Ok(addr.ip().to_string())
}

/// Wraps a bollard error with what was being done, classifying it by the engine's status code.
fn wrap(what: String) -> impl FnOnce(bollard::errors::Error) -> RuntimeError {
    move |e| {
        let kind = match &e {
            bollard::errors::Error::DockerResponseServerError { status_code: 404, .. } => {
                RuntimeErrorKind::NotFound
            }
            bollard::errors::Error::DockerResponseServerError { status_code: 409, .. } => {
                RuntimeErrorKind::Conflict
            }
            bollard::errors::Error::DockerResponseServerError { .. }
            | bollard::errors::Error::DockerStreamError { .. } => RuntimeErrorKind::Other,
            _ => RuntimeErrorKind::Unreachable,
        };
        RuntimeError::new(kind, what).with_source(e)
    }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// Splits `repo:tag` so a pull never asks for every tag of a repository (what an empty tag means
/// to the engine). Digests (`repo@sha256:…`) go through whole.
fn split_reference(image: &str) -> (String, Option<String>) {
    if image.contains('@') {
        return (image.to_string(), None);
    }
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    match image[name_start..].rfind(':') {
        Some(i) => {
            let at = name_start + i;
            (image[..at].to_string(), Some(image[at + 1..].to_string()))
        }
        None => (image.to_string(), Some("latest".to_string())),
    }
}

fn label_filters(filter: &LabelFilter) -> HashMap<String, Vec<String>> {
    let labels = filter
        .0
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    HashMap::from([("label".to_string(), labels)])
}

fn to_btree(map: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    map.unwrap_or_default().into_iter().collect()
}

fn container_info(r: ContainerInspectResponse) -> ContainerInfo {
    let config = r.config.unwrap_or_default();
    let env = config
        .env
        .unwrap_or_default()
        .into_iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let state = r.state.unwrap_or_default();
    let state = match state.status {
        Some(ContainerStateStatusEnum::CREATED) => ContainerState::Created,
        Some(ContainerStateStatusEnum::RUNNING) => ContainerState::Running,
        Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerStateStatusEnum::EXITED) => {
            ContainerState::Exited { code: state.exit_code.unwrap_or(-1) }
        }
        Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
        other => ContainerState::Other(other.map_or("unknown".into(), |s| s.to_string())),
    };
    // Published ports: what the running container has, else what its configuration asks for (a
    // stopped container publishes nothing, but its fixed ports are known).
    let configured = r.host_config.and_then(|h| h.port_bindings).unwrap_or_default();
    let live = r.network_settings.and_then(|n| n.ports).unwrap_or_default();
    let mut ports = BTreeMap::new();
    for (key, bindings) in configured.into_iter().chain(live) {
        let Some(container_port) = key.split('/').next().and_then(|p| p.parse::<u16>().ok()) else {
            continue;
        };
        let host_port = bindings
            .unwrap_or_default()
            .into_iter()
            .find_map(|b| b.host_port.and_then(|p| p.parse::<u16>().ok()));
        if let Some(host_port) = host_port {
            ports.insert(container_port, host_port);
        }
    }
    ContainerInfo {
        id: r.id.unwrap_or_default(),
        name: r.name.unwrap_or_default().trim_start_matches('/').to_string(),
        image: config.image.unwrap_or_default(),
        labels: to_btree(config.labels),
        env,
        cmd: config.cmd.unwrap_or_default(),
        state,
        ports,
    }
}

fn log_text(chunk: &LogOutput) -> &[u8] {
    match chunk {
        LogOutput::StdErr { message }
        | LogOutput::StdOut { message }
        | LogOutput::StdIn { message }
        | LogOutput::Console { message } => message,
    }
}

impl Runtime for DockerRuntime {
    fn connect_host(&self) -> &str {
        &self.connect_host
    }

    fn publish_ip(&self) -> &str {
        &self.publish_ip
    }

    async fn image_exists(&self, image: &str) -> Result<bool> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(wrap(format!("failed to inspect image {image}"))(e)),
        }
    }

    async fn pull_image(
        &self,
        image: &str,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> Result<()> {
        let (from_image, tag) = split_reference(image);
        let options =
            CreateImageOptions { from_image: Some(from_image), tag, ..Default::default() };
        let mut stream = self.docker.create_image(Some(options), None, None);
        // Per-layer byte counts; the sum is what a progress bar can show.
        let mut layers: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| {
                let mut err = wrap(format!("failed to pull image {image}"))(e);
                if err.kind != RuntimeErrorKind::Unreachable {
                    err.kind = RuntimeErrorKind::Pull;
                }
                err.with_hint(
                    "check the image name and your registry access; without a registry, build the \
                     offline images (tests/images/build) and add -p profiles/offline.yaml",
                )
            })?;
            if let (Some(id), Some(detail)) = (&info.id, &info.progress_detail) {
                let current = detail.current.unwrap_or(0).max(0) as u64;
                let total = detail.total.unwrap_or(0).max(0) as u64;
                let entry = layers.entry(id.clone()).or_default();
                entry.0 = entry.0.max(current);
                entry.1 = entry.1.max(total);
            }
            let (current, total) =
                layers.values().fold((0, 0), |(c, t), (lc, lt)| (c + lc.min(lt), t + lt));
            progress(PullProgress {
                image: image.to_string(),
                current,
                total,
                status: info.status.unwrap_or_default(),
            });
        }
        Ok(())
    }

    async fn create_network(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map(|_| ())
            .map_err(wrap(format!("failed to create network {name}")))
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        match self.docker.remove_network(name).await {
            Err(e) if !is_not_found(&e) => Err(wrap(format!("failed to remove network {name}"))(e)),
            _ => Ok(()),
        }
    }

    async fn list_networks(&self, filter: &LabelFilter) -> Result<Vec<ObjectInfo>> {
        let options = ListNetworksOptions { filters: Some(label_filters(filter)) };
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(wrap("failed to list networks".to_string()))?;
        Ok(networks
            .into_iter()
            .map(|n| ObjectInfo { name: n.name.unwrap_or_default(), labels: to_btree(n.labels) })
            .filter(|o| filter.matches(&o.labels))
            .collect())
    }

    async fn create_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(wrap(format!("failed to create volume {name}")))
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        match self.docker.remove_volume(name, Some(RemoveVolumeOptions { force: true })).await {
            Err(e) if !is_not_found(&e) => Err(wrap(format!("failed to remove volume {name}"))(e)),
            _ => Ok(()),
        }
    }

    async fn list_volumes(&self, filter: &LabelFilter) -> Result<Vec<ObjectInfo>> {
        let options = ListVolumesOptions { filters: Some(label_filters(filter)) };
        let response = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(wrap("failed to list volumes".to_string()))?;
        Ok(response
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| ObjectInfo { name: v.name, labels: v.labels.into_iter().collect() })
            .filter(|o| filter.matches(&o.labels))
            .collect())
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let port_key = format!("{}/tcp", spec.container_port);
        let binding = PortBinding {
            host_ip: Some(spec.host_ip.clone()),
            host_port: Some(spec.host_port.map(|p| p.to_string()).unwrap_or_default()),
        };
        let mount = match &spec.data {
            DataMount::Volume { name, target } => Mount {
                target: Some(target.clone()),
                source: Some(name.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            },
            DataMount::Tmpfs { target } => Mount {
                target: Some(target.clone()),
                typ: Some(MountType::TMPFS),
                ..Default::default()
            },
        };
        let host_config = HostConfig {
            port_bindings: Some(HashMap::from([(port_key.clone(), Some(vec![binding]))])),
            mounts: Some(vec![mount]),
            network_mode: Some(spec.network.clone()),
            memory: spec.memory.map(|m| m as i64),
            ..Default::default()
        };
        let networking = NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                spec.network.clone(),
                EndpointSettings {
                    aliases: Some(vec![spec.network_alias.clone()]),
                    ..Default::default()
                },
            )])),
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            entrypoint: spec.entrypoint.clone(),
            cmd: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            exposed_ports: Some(vec![port_key]),
            host_config: Some(host_config),
            networking_config: Some(networking),
            ..Default::default()
        };
        let options =
            CreateContainerOptions { name: Some(spec.name.clone()), ..Default::default() };
        self.docker
            .create_container(Some(options), body)
            .await
            .map(|r| r.id)
            .map_err(wrap(format!("failed to create container {}", spec.name)))
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.docker.start_container(id, None).await.map_err(|e| {
            let port_taken = matches!(&e, bollard::errors::Error::DockerResponseServerError { message, .. }
                if message.contains("port is already allocated") || message.contains("address already in use"));
            let mut err = wrap(format!("failed to start container {id}"))(e);
            if port_taken {
                err.kind = RuntimeErrorKind::PortInUse;
                err = err.with_hint(
                    "another process or container holds that host port: stop it, or give the database another `port`",
                );
            }
            err
        })
    }

    async fn inspect_container(&self, id: &str) -> Result<Option<ContainerInfo>> {
        match self.docker.inspect_container(id, None).await {
            Ok(r) => Ok(Some(container_info(r))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(wrap(format!("failed to inspect container {id}"))(e)),
        }
    }

    async fn list_containers(&self, filter: &LabelFilter) -> Result<Vec<ContainerInfo>> {
        let options = ListContainersOptions {
            all: true,
            filters: Some(label_filters(filter)),
            ..Default::default()
        };
        let summaries = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(wrap("failed to list containers".to_string()))?;
        let inspections = futures_util::future::join_all(
            summaries.iter().filter_map(|s| s.id.as_deref()).map(|id| self.inspect_container(id)),
        )
        .await;
        let mut infos = Vec::new();
        for info in inspections {
            // A container removed between listing and inspecting is simply gone.
            if let Some(info) = info? {
                infos.push(info);
            }
        }
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let options = RemoveContainerOptions { force: true, v: true, ..Default::default() };
        match self.docker.remove_container(id, Some(options)).await {
            Err(e) if !is_not_found(&e) => Err(wrap(format!("failed to remove container {id}"))(e)),
            _ => Ok(()),
        }
    }

    async fn logs_tail(&self, id: &str, lines: usize) -> Result<String> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(wrap(format!("failed to read the log of container {id}")))?;
            out.extend_from_slice(log_text(&chunk));
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    async fn logs_follow(
        &self,
        id: &str,
        tail: Option<usize>,
        out: &(dyn Fn(&[u8]) + Send + Sync),
    ) -> Result<()> {
        let options = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            tail: tail.map_or("all".to_string(), |n| n.to_string()),
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(wrap(format!("failed to read the log of container {id}")))?;
            out(log_text(&chunk));
        }
        Ok(())
    }
}

/// The docker client command that runs `argv` interactively inside a container, for `shell`.
/// An interactive terminal session is the docker client's job (raw mode, resizing, escape keys),
/// so dbtwin hands over to it rather than re-implementing it on the API. Secrets are passed by
/// name only (`-e NAME`), the client reading their values from its own environment, so they never
/// appear in a process listing.
pub fn interactive_exec(
    container: &str,
    argv: &[String],
    secrets: &[(String, String)],
) -> std::process::Command {
    use std::io::IsTerminal;
    let mut command = std::process::Command::new("docker");
    command.arg("exec").arg("-i");
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        command.arg("-t");
    }
    for (name, value) in secrets {
        command.arg("-e").arg(name);
        command.env(name, value);
    }
    command.arg(container).args(argv);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repository_and_tag() {
        let cases = [
            ("postgres:17", ("postgres", Some("17"))),
            ("registry:5000/team/postgres:17.6", ("registry:5000/team/postgres", Some("17.6"))),
            ("registry:5000/postgres", ("registry:5000/postgres", Some("latest"))),
            ("postgres@sha256:abc", ("postgres@sha256:abc", None)),
        ];
        for (input, (repo, tag)) in cases {
            let (r, t) = split_reference(input);
            assert_eq!((r.as_str(), t.as_deref()), (repo, tag), "{input}");
        }
    }

    #[test]
    fn remote_hosts_come_from_tcp_addresses_only() {
        assert_eq!(remote_host("tcp://10.0.0.5:2376").as_deref(), Some("10.0.0.5"));
        assert_eq!(remote_host("tcp://docker.internal").as_deref(), Some("docker.internal"));
        assert_eq!(remote_host("https://[::1]:2376/").as_deref(), Some("::1"));
        assert_eq!(remote_host("unix:///var/run/docker.sock"), None);
    }

    #[test]
    fn the_engine_version_comes_from_the_ping_headers() {
        let version = |answer: &str| {
            ping_version(answer.as_bytes()).map(|v| (v.major_version, v.minor_version))
        };
        let engine = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nDocker-Experimental: false\r\n\
                      Ostype: linux\r\nServer: Docker/20.10.24 (linux)\r\n\r\nOK";
        assert_eq!(version(engine), Some((1, 41)));
        // Header names are case-insensitive; the value may be padded.
        assert_eq!(version("HTTP/1.0 200 OK\r\nAPI-VERSION:  1.52 \r\n\r\n"), Some((1, 52)));
        // An answer without the header, or not HTTP, leaves the negotiation to `/version`.
        assert_eq!(version("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), None);
        assert_eq!(version("HTTP/1.1 200 OK\r\n\r\nApi-Version: 1.41\r\n"), None);
        assert_eq!(version("SSH-2.0-OpenSSH_9.2\r\n"), None);
        assert_eq!(version("HTTP/1.1 200 OK\r\nApi-Version: v2\r\n\r\n"), None);
    }

    #[tokio::test]
    async fn a_local_engine_is_asked_its_version_by_ping() {
        // A stand-in engine on a socket: answers the ping, then closes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let serving = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 1024];
            let n = stream.read(&mut request).await.unwrap();
            stream.write_all(b"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\n\r\nOK").await.unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        let version = api_version(path.to_str().unwrap()).await.unwrap().unwrap();
        assert_eq!((version.major_version, version.minor_version), (1, 43));
        assert!(serving.await.unwrap().starts_with("GET /_ping HTTP/1.1\r\n"));
        // Nothing listening: an error (the caller says the engine is unreachable).
        let missing = dir.path().join("missing.sock");
        assert!(api_version(missing.to_str().unwrap()).await.is_err());
    }
}
