//! Shared by the integration tests: reaching Docker (a hard failure in CI, a skip elsewhere),
//! making sure the offline images exist (built once, by the project's script), unique environment
//! names, running the binary, and checking that an environment left nothing behind.

#![allow(dead_code, reason = "each test binary uses a different part of this module")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use dbtwin::runtime::docker::{ConnectOptions, DockerRuntime};
use dbtwin::runtime::{LabelFilter, Runtime, labels};

/// The images every must-pass test uses (bookworm and trixie builds).
pub const MUST_PASS_IMAGES: &[&str] = &[
    "dbtwin-offline/postgres:15",
    "dbtwin-offline/postgres:17",
    "dbtwin-offline/mariadb:10.11",
    "dbtwin-offline/mariadb:11.8",
    "dbtwin-offline/redis:7.0",
    "dbtwin-offline/redis:8.0",
];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn path(relative: &str) -> String {
    root().join(relative).to_string_lossy().into_owned()
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A connected runtime, or `None` (test skipped, said plainly) when Docker is unreachable outside
/// CI. In CI an unreachable Docker fails the test: it must never pass silently.
pub async fn docker() -> Option<DockerRuntime> {
    match DockerRuntime::connect(&ConnectOptions::default()).await {
        Ok(rt) => {
            ensure_images();
            Some(rt)
        }
        Err(e) if in_ci() => panic!("CI is set but Docker is unreachable: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: Docker is unreachable ({e}); set CI=1 to make this a failure");
            None
        }
    }
}

/// Builds the offline images once per test run (the script skips those that exist).
fn ensure_images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let missing: Vec<&str> = MUST_PASS_IMAGES
            .iter()
            .copied()
            .filter(|image| {
                !std::process::Command::new("docker")
                    .args(["image", "inspect", image])
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        eprintln!("building missing offline images: {missing:?}");
        let names: Vec<String> =
            missing.iter().map(|m| m.trim_start_matches("dbtwin-offline/").to_string()).collect();
        let status = std::process::Command::new(root().join("tests/images/build"))
            .args(&names)
            .status()
            .expect("run tests/images/build");
        assert!(status.success(), "tests/images/build failed for {missing:?}");
    });
}

/// A fresh environment name per call: tests run in parallel and must never share one.
pub fn unique_env(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("t-{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// How many container tests run at once: each starts several database servers, and these
/// machines have 2 cores. A permit is held for the whole test.
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

pub struct Slot(
    #[allow(dead_code, reason = "held for its Drop")] tokio::sync::SemaphorePermit<'static>,
);

impl Slot {
    pub async fn take() -> Slot {
        Slot(SLOTS.acquire().await.expect("the semaphore is never closed"))
    }
}

/// The dbtwin binary, with a clean environment for the variables dbtwin reads.
pub fn dbtwin() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dbtwin"));
    cmd.env_remove("DBTWIN_ENV").env_remove("DBTWIN_PROFILE").env_remove("DBTWIN_HOST");
    cmd.current_dir(root());
    cmd
}

/// Runs the binary to completion (off the async runtime's threads).
pub async fn run(mut cmd: std::process::Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run dbtwin")).await.unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
pub fn assert_success(o: &Output) {
    assert!(
        o.status.success(),
        "dbtwin failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

/// Every object (container, volume, network) carrying the environment's label.
pub async fn leftovers(rt: &DockerRuntime, env: &str) -> Vec<String> {
    let filter = LabelFilter::default().eq(labels::ENV, env);
    let mut left: Vec<String> = rt
        .list_containers(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|c| format!("container {}", c.name))
        .collect();
    left.extend(
        rt.list_volumes(&filter).await.unwrap().into_iter().map(|v| format!("volume {}", v.name)),
    );
    left.extend(
        rt.list_networks(&filter).await.unwrap().into_iter().map(|n| format!("network {}", n.name)),
    );
    left
}

/// Removes an environment whatever happened in the test, so a failing test does not leak.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = dbtwin().args(["down", "-q", "--force", "--env", &self.0]).output();
    }
}

/// The URLs `dbtwin env --format json` prints.
pub async fn env_urls(env: &str) -> BTreeMap<String, String> {
    let mut cmd = dbtwin();
    cmd.args(["env", "--env", env, "--format", "json", "--admin"]);
    let out = run(cmd).await;
    assert_success(&out);
    serde_json::from_slice(&out.stdout).expect("env prints a JSON object")
}

/// Writes a profile into a fresh directory and returns its path.
pub fn write_profile(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, yaml).unwrap();
    p
}

/// A PostgreSQL client on `url`, its connection driven in the background.
pub async fn pg(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// The one integer `sql` returns.
pub async fn scalar(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}
