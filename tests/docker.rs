//! Integration stories against a real Docker Engine and real database servers, through the
//! binary: up, query with the URLs from `env`, reconcile, down, and the failure paths. Every test
//! uses its own environment name and checks that nothing of it is left behind.

mod common;

use std::time::Duration;

use common::*;
use dbtwin::runtime::{LabelFilter, Runtime, labels};
use mysql_async::prelude::Queryable;

fn demo_profiles() -> [String; 4] {
    ["-p".into(), path("profiles/shop-ci.yaml"), "-p".into(), path("profiles/offline.yaml")]
}

fn pair_profiles() -> [String; 4] {
    ["-p".into(), path("tests/profiles/pair.yaml"), "-p".into(), path("profiles/offline.yaml")]
}

async fn up(env: &str, profiles: &[String], extra: &[&str]) -> std::process::Output {
    let mut cmd = dbtwin();
    cmd.arg("up").args(profiles).args(["--env", env]).args(extra);
    run(cmd).await
}

async fn down(env: &str) {
    let mut cmd = dbtwin();
    cmd.args(["down", "--env", env]);
    assert_success(&run(cmd).await);
}

async fn pg_query(url: &str, sql: &str) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client.query(sql, &[]).await
}

async fn pg_version(url: &str) -> String {
    pg_query(url, "SHOW server_version").await.unwrap()[0].get(0)
}

async fn mysql_version(url: &str) -> String {
    let mut conn = mysql_async::Conn::from_url(url).await.unwrap();
    let v: Option<String> = conn.query_first("SELECT VERSION()").await.unwrap();
    conn.disconnect().await.unwrap();
    v.unwrap()
}

async fn redis_version(url: &str) -> String {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO").arg("server").query_async(&mut conn).await.unwrap();
    info.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_comes_up_answers_with_its_pinned_versions_and_goes_away() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("demo");
    let _cleanup = Cleanup(env.clone());

    let out = up(&env, &demo_profiles(), &[]).await;
    assert_success(&out);
    let printed = stdout(&out);
    for var in ["ACCOUNTS_MAIN_URL", "CATALOG_MAIN_URL", "ORDERS_MAIN_URL", "SESSIONS_CACHE_URL"] {
        assert!(printed.contains(var), "up prints {var}: {printed}");
    }
    assert_eq!(printed.matches(":****@").count(), 4, "up shows the four URLs redacted: {printed}");

    let urls = env_urls(&env).await;
    // The application's own role answers on each engine's protocol, at the pinned version.
    assert!(pg_version(&urls["ACCOUNTS_MAIN_URL"]).await.starts_with("17."));
    assert!(pg_version(&urls["CATALOG_MAIN_URL"]).await.starts_with("15."));
    assert!(mysql_version(&urls["ORDERS_MAIN_URL"]).await.starts_with("11.8."));
    assert!(redis_version(&urls["SESSIONS_CACHE_URL"]).await.starts_with("7.0."));

    // Passwords never appear in what `up` printed, on stdout or stderr.
    for (var, url) in &urls {
        if let Some(password) = url
            .split_once("://")
            .and_then(|(_, r)| r.split_once('@'))
            .and_then(|(u, _)| u.split_once(':'))
            .map(|(_, p)| p)
        {
            assert!(
                !printed.contains(password) && !stderr(&out).contains(password),
                "{var}'s password leaked"
            );
        }
    }

    // The application role is not a superuser and has the profile's grants; the extension exists.
    let app = &urls["ACCOUNTS_MAIN_URL"];
    assert!(app.starts_with("postgres://app:"));
    let rows =
        pg_query(app, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").await.unwrap();
    assert!(!rows[0].get::<_, bool>(0), "the app role must not be a superuser");
    let ext =
        pg_query(app, "SELECT extname FROM pg_extension WHERE extname = 'pgcrypto'").await.unwrap();
    assert_eq!(ext.len(), 1, "pgcrypto is created");
    let admin = &urls["ACCOUNTS_MAIN_ADMIN_URL"];
    pg_query(admin, "CREATE TABLE t (id int primary key)").await.unwrap();
    pg_query(app, "INSERT INTO t VALUES (1)")
        .await
        .expect("readwrite may insert into tables the admin creates");
    assert!(
        pg_query(app, "CREATE TABLE mine (id int)").await.is_err(),
        "readwrite may not create tables"
    );

    // Throwaway durability is in effect (shop-ci uses tmpfs).
    let fsync: String = pg_query(admin, "SHOW fsync").await.unwrap()[0].get(0);
    assert_eq!(fsync, "off");

    // Ports are published on 127.0.0.1 only.
    let containers = rt
        .list_containers(
            &LabelFilter::default().eq(labels::ENV, &env).eq(labels::KIND, labels::KIND_DATABASE),
        )
        .await
        .unwrap();
    assert_eq!(containers.len(), 4);
    for url in urls.values().filter(|u| u.contains("://")) {
        assert!(url.contains("@127.0.0.1:"), "{url}");
    }

    down(&env).await;
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_environments_live_side_by_side_isolated() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let (a, b) = (unique_env("side-a"), unique_env("side-b"));
    let (_ca, _cb) = (Cleanup(a.clone()), Cleanup(b.clone()));
    let profiles = pair_profiles();
    let (out_a, out_b) = tokio::join!(up(&a, &profiles, &[]), up(&b, &profiles, &[]));
    assert_success(&out_a);
    assert_success(&out_b);
    let (ua, ub) = (env_urls(&a).await, env_urls(&b).await);
    for var in ["ACCOUNTS_MAIN_URL", "SESSIONS_CACHE_URL"] {
        assert_ne!(ua[var], ub[var], "{var} differs between environments");
    }
    let port = |u: &str| u.rsplit_once(':').unwrap().1.split('/').next().unwrap().to_string();
    let pass = |u: &str| {
        u.split_once("://")
            .unwrap()
            .1
            .split_once('@')
            .unwrap()
            .0
            .split_once(':')
            .unwrap()
            .1
            .to_string()
    };
    assert_ne!(port(&ua["ACCOUNTS_MAIN_URL"]), port(&ub["ACCOUNTS_MAIN_URL"]));
    assert_ne!(pass(&ua["ACCOUNTS_MAIN_URL"]), pass(&ub["ACCOUNTS_MAIN_URL"]));

    // Data written in one is not in the other.
    pg_query(&ua["ACCOUNTS_MAIN_ADMIN_URL"], "CREATE TABLE only_in_a (id int)").await.unwrap();
    assert!(pg_query(&ub["ACCOUNTS_MAIN_ADMIN_URL"], "SELECT * FROM only_in_a").await.is_err());
    let client = redis::Client::open(ua["SESSIONS_CACHE_URL"].as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("a").query_async(&mut conn).await.unwrap();
    let client_b = redis::Client::open(ub["SESSIONS_CACHE_URL"].as_str()).unwrap();
    let mut conn_b = client_b.get_multiplexed_async_connection().await.unwrap();
    let v: Option<String> = redis::cmd("GET").arg("k").query_async(&mut conn_b).await.unwrap();
    assert_eq!(v, None);

    // `ls` shows both environments.
    let mut ls = dbtwin();
    ls.args(["ls", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&run(ls).await.stdout).unwrap();
    for env in [&a, &b] {
        let rows: Vec<_> =
            listed.as_array().unwrap().iter().filter(|r| r["env"] == env.as_str()).collect();
        assert_eq!(rows.len(), 2, "{env} has two databases in ls");
        assert!(rows.iter().all(|r| r["health"] == "healthy"), "{rows:?}");
    }

    down(&a).await;
    assert_eq!(leftovers(&rt, &a).await, Vec::<String>::new());
    assert!(!leftovers(&rt, &b).await.is_empty(), "down of one environment leaves the other alone");
    down(&b).await;
    assert_eq!(leftovers(&rt, &b).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_up_changes_nothing_and_a_version_change_needs_recreate() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("rerun");
    let _cleanup = Cleanup(env.clone());
    assert_success(&up(&env, &pair_profiles(), &[]).await);
    let filter =
        LabelFilter::default().eq(labels::ENV, &env).eq(labels::KIND, labels::KIND_DATABASE);
    let ids = |cs: Vec<dbtwin::runtime::ContainerInfo>| {
        cs.into_iter().map(|c| (c.name, c.id)).collect::<Vec<_>>()
    };
    let before = ids(rt.list_containers(&filter).await.unwrap());
    let urls_before = env_urls(&env).await;

    let again = up(&env, &pair_profiles(), &["--json"]).await;
    assert_success(&again);
    let after = ids(rt.list_containers(&filter).await.unwrap());
    assert_eq!(before, after, "the same containers, nothing re-created");
    assert_eq!(urls_before, env_urls(&env).await, "same ports and passwords");
    let events = stdout(&again);
    assert!(events.contains(r#""action":"reuse""#), "{events}");
    assert!(!events.contains(r#""event":"database_created""#), "{events}");

    // A changed version is refused without --recreate, naming what changed, and nothing changes.
    let dir = tempfile::tempdir().unwrap();
    let bumped = write_profile(
        dir.path(),
        "bump.yaml",
        "services:\n  accounts:\n    databases:\n      main: { version: \"17\" }\n",
    );
    let mut profiles = pair_profiles().to_vec();
    profiles.extend(["-p".to_string(), bumped.to_string_lossy().into_owned()]);
    let refused = up(&env, &profiles, &[]).await;
    assert_eq!(refused.status.code(), Some(dbtwin::exit::RUNTIME_FAILED), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("accounts.main: version 15 → 17"), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--recreate"));
    assert_eq!(before, ids(rt.list_containers(&filter).await.unwrap()));

    let recreated = up(&env, &profiles, &["--recreate"]).await;
    assert_success(&recreated);
    let urls = env_urls(&env).await;
    assert!(pg_version(&urls["ACCOUNTS_MAIN_URL"]).await.starts_with("17."));
    let port = |u: &str| u.rsplit_once(':').unwrap().1.split('/').next().unwrap().to_string();
    assert_eq!(
        port(&urls["ACCOUNTS_MAIN_URL"]),
        port(&urls_before["ACCOUNTS_MAIN_URL"]),
        "a recreated database keeps its port"
    );
    assert_eq!(
        urls["SESSIONS_CACHE_URL"], urls_before["SESSIONS_CACHE_URL"],
        "the unchanged database is left alone"
    );

    down(&env).await;
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_that_cannot_be_pulled_fails_cleanly() {
    let Some(rt) = docker().await else { return };
    let env = unique_env("nopull");
    let _cleanup = Cleanup(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(
        dir.path(),
        "p.yaml",
        "services:\n  a:\n    databases:\n      main: { engine: postgres, version: \"15\", image: \"dbtwin-test/not-there:15\" }\n",
    );
    let out = up(&env, &["-p".into(), p.to_string_lossy().into_owned()], &[]).await;
    assert_eq!(out.status.code(), Some(dbtwin::exit::RUNTIME_FAILED), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("failed to pull image dbtwin-test/not-there:15"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint:"));
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());

    // Machine output: JSON Lines events, ending with a result object that says what failed.
    let out = up(&env, &["-p".into(), p.to_string_lossy().into_owned()], &["--json"]).await;
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(lines.first().unwrap()["event"], "image_pull_started", "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(last["result"], "error");
    assert_eq!(last["exit_code"], dbtwin::exit::RUNTIME_FAILED);
    assert!(
        last["error"].as_str().unwrap().contains("failed to pull image dbtwin-test/not-there:15")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_never_answers_is_reported_with_its_log_and_removed() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("never");
    let _cleanup = Cleanup(env.clone());
    let dir = tempfile::tempdir().unwrap();
    // The server listens on another port inside the container, so the published one never
    // answers: the container runs, but the database is never ready. Redis is healthy beside it,
    // and is removed too.
    let p = write_profile(
        dir.path(),
        "p.yaml",
        "defaults: { storage: tmpfs }\nservices:\n  a:\n    databases:\n      main: { engine: postgres, version: \"15\", settings: { port: 5999 } }\n  b:\n    databases:\n      cache: { engine: redis, version: \"7.0\" }\n",
    );
    let profiles =
        ["-p".into(), p.to_string_lossy().into_owned(), "-p".into(), path("profiles/offline.yaml")];
    let out = up(&env, &profiles, &["--ready-timeout", "8"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(dbtwin::exit::NOT_READY), "{err}");
    assert!(err.contains("a.main did not become ready: no answer within 8s"), "{err}");
    assert!(err.contains("last lines of its log"), "{err}");
    assert!(err.contains("5999"), "the log tail shows the server's own lines: {err}");
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());

    // A server that exits at once is reported as soon as it stops, not at the deadline.
    let crash = write_profile(
        dir.path(),
        "crash.yaml",
        "defaults: { storage: tmpfs }\nservices:\n  a:\n    databases:\n      main: { engine: postgres, version: \"15\", settings: { no_such_setting: 1 } }\n",
    );
    let started = std::time::Instant::now();
    let out = up(
        &env,
        &[
            "-p".into(),
            crash.to_string_lossy().into_owned(),
            "-p".into(),
            path("profiles/offline.yaml"),
        ],
        &["--ready-timeout", "120"],
    )
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(dbtwin::exit::NOT_READY), "{err}");
    assert!(err.contains("the container stopped"), "{err}");
    assert!(err.contains("no_such_setting"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(100), "did not wait for the deadline");
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}

/// A masked copy's source is opened while the containers start: one that cannot be read stops
/// the run (exit 11, its error once, its password unseen) and everything the run made goes.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_cannot_be_read_stops_up_and_removes_everything() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("nosource");
    let _cleanup = Cleanup(env.clone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("seed.yaml"),
        "source: { url: \"postgres://reader:hunter2@127.0.0.1:1/prod\" }\n",
    )
    .unwrap();
    let p = write_profile(
        dir.path(),
        "p.yaml",
        "defaults: { storage: tmpfs }\nservices:\n  a:\n    databases:\n      main: { engine: postgres, version: \"15\", data: seed.yaml }\n  b:\n    databases:\n      cache: { engine: redis, version: \"7.0\" }\n",
    );
    let mut cmd = dbtwin();
    cmd.args(["up", "--env", &env, "-p"])
        .arg(&p)
        .args(["-p", &path("profiles/offline.yaml")])
        .env("DBTWIN_MASK_KEY", "k");
    let out = run(cmd).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(dbtwin::exit::DATABASE_UNREACHABLE), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
    assert!(err.contains("error: a.main: failed to read the source"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_during_up_leaves_nothing_behind() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("sigint");
    let _cleanup = Cleanup(env.clone());
    let mut cmd = dbtwin();
    cmd.arg("up").args(demo_profiles()).args(["--env", &env]);
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Wait until the run has created something, then interrupt it mid-way.
    let filter =
        LabelFilter::default().eq(labels::ENV, &env).eq(labels::KIND, labels::KIND_DATABASE);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while rt.list_containers(&filter).await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "up created nothing within 60s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    assert_eq!(out.status.code(), Some(dbtwin::exit::INTERRUPTED), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environment_lock_refuses_a_live_holder_and_takes_over_a_dead_one() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("lock");
    let _cleanup = Cleanup(env.clone());
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let boot =
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().trim().to_string();
    let hold = |owner: String| {
        let env = env.clone();
        async move {
            let status = std::process::Command::new("docker")
                .args([
                    "create",
                    "--name",
                    &format!("dbtwin-{env}.lock"),
                    "--label",
                    &format!("dbtwin.env={env}"),
                ])
                .args([
                    "--label",
                    "dbtwin.kind=lock",
                    "--label",
                    &format!("dbtwin.lock-owner={owner}"),
                ])
                .arg("dbtwin-offline/redis:7.0")
                .output()
                .unwrap();
            assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        }
    };
    // Held by a live process (this test): refused.
    hold(format!("{hostname}:{boot}:{}", std::process::id())).await;
    let out = up(&env, &pair_profiles(), &[]).await;
    assert_eq!(out.status.code(), Some(dbtwin::exit::LOCKED), "{}", stderr(&out));
    assert!(stderr(&out).contains("is being changed by another dbtwin"), "{}", stderr(&out));
    let holder = format!("(pid {} on {hostname})", std::process::id());
    assert!(stderr(&out).contains(&holder), "{}", stderr(&out));
    assert!(
        rt.list_containers(
            &LabelFilter::default().eq(labels::ENV, &env).eq(labels::KIND, labels::KIND_DATABASE)
        )
        .await
        .unwrap()
        .is_empty()
    );
    // `down` will not pull the environment out from under a live holder either; the hint's
    // command clears a lock whose holder is known to be gone.
    let mut refused = dbtwin();
    refused.args(["down", "--env", &env]);
    let out = run(refused).await;
    assert_eq!(out.status.code(), Some(dbtwin::exit::LOCKED), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("`docker rm -v dbtwin-{env}.lock`")),
        "{}",
        stderr(&out)
    );
    let rm = std::process::Command::new("docker")
        .args(["rm", "-v", &format!("dbtwin-{env}.lock")])
        .output()
        .unwrap();
    assert!(rm.status.success());

    // Held by a process that is gone (or by this machine before a restart): taken over.
    hold(format!("{hostname}:{boot}:999999999")).await;
    let out = up(&env, &pair_profiles(), &[]).await;
    assert_success(&out);
    assert!(stderr(&out).contains("took over the stale lock"), "{}", stderr(&out));
    down(&env).await;
    hold(format!("{hostname}:not-this-boot:{}", std::process::id())).await;
    let out = up(&env, &pair_profiles(), &[]).await;
    assert_success(&out);
    assert!(stderr(&out).contains("took over the stale lock"), "{}", stderr(&out));
    down(&env).await;
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_profiles_start_nothing() {
    let Some(rt) = docker().await else { return };
    let env = unique_env("broken");
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "version: latest",
            "services:\n  a:\n    databases:\n      main: { engine: postgres, version: latest }\n",
            "p.yaml:4:",
        ),
        (
            "unknown key",
            "services:\n  a:\n    databases:\n      main: { engine: postgres, verison: \"15\" }\n",
            "unknown key `verison`",
        ),
        ("syntax", "services:\n  a: [\n", "p.yaml:"),
    ];
    for (what, yaml, expected) in cases {
        let p = write_profile(dir.path(), "p.yaml", yaml);
        let out = up(&env, &["-p".into(), p.to_string_lossy().into_owned()], &[]).await;
        assert_eq!(
            out.status.code(),
            Some(dbtwin::exit::PROFILE_INVALID),
            "{what}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(expected), "{what}: {}", stderr(&out));
        assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new(), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_volumes_bring_the_data_back_with_their_passwords() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("keep");
    let _cleanup = Cleanup(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(
        dir.path(),
        "p.yaml",
        "services:\n  accounts:\n    databases:\n      main: { engine: postgres, version: \"15\", storage: volume }\n",
    );
    let profiles =
        ["-p".into(), p.to_string_lossy().into_owned(), "-p".into(), path("profiles/offline.yaml")];
    assert_success(&up(&env, &profiles, &[]).await);
    let urls = env_urls(&env).await;
    let admin = &urls["ACCOUNTS_MAIN_ADMIN_URL"];
    pg_query(admin, "CREATE TABLE kept (id int)").await.unwrap();
    pg_query(admin, "INSERT INTO kept VALUES (7)").await.unwrap();

    let mut keep = dbtwin();
    keep.args(["down", "--keep-volumes", "--env", &env]);
    assert_success(&run(keep).await);
    let left = leftovers(&rt, &env).await;
    assert_eq!(left, vec![format!("volume dbtwin-{env}.accounts.main.data")]);
    // `ls` shows what the environment still holds.
    let mut ls = dbtwin();
    ls.args(["ls", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&run(ls).await.stdout).unwrap();
    let rows: Vec<_> =
        listed.as_array().unwrap().iter().filter(|r| r["env"] == env.as_str()).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["state"], "kept volume");

    // A kept PostgreSQL 15 data directory cannot be opened by 17: refused before anything starts.
    let bumped = write_profile(
        dir.path(),
        "bump.yaml",
        "services:\n  accounts:\n    databases:\n      main: { version: \"17\" }\n",
    );
    let mut bumped_profiles = profiles.to_vec();
    bumped_profiles.extend(["-p".to_string(), bumped.to_string_lossy().into_owned()]);
    let refused = up(&env, &bumped_profiles, &[]).await;
    assert_eq!(refused.status.code(), Some(dbtwin::exit::RUNTIME_FAILED), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(
            "accounts.main: a kept volume holds postgres 15 data, the profile wants postgres 17"
        ),
        "{}",
        stderr(&refused)
    );

    // The data directory was initialised with the first passwords; the new container uses them.
    assert_success(&up(&env, &profiles, &[]).await);
    let again = env_urls(&env).await;
    let rows = pg_query(&again["ACCOUNTS_MAIN_URL"], "SELECT count(*) FROM kept").await.unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 1);
    down(&env).await;
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn run_logs_and_shell_reach_the_environment() {
    let Some(_rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("tools");
    let _cleanup = Cleanup(env.clone());
    assert_success(&up(&env, &pair_profiles(), &[]).await);
    let urls = env_urls(&env).await;

    // `run` passes the URLs to the command, which exits with its own code.
    let mut cmd = dbtwin();
    cmd.args(["run", "--env", &env, "--", "sh", "-c", "echo \"$ACCOUNTS_MAIN_URL\"; exit 3"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stdout(&out).trim(), urls["ACCOUNTS_MAIN_URL"]);

    // `shell` runs the engine's own client inside the container, as the application's role.
    let mut cmd = dbtwin();
    cmd.args(["shell", "--env", &env, "accounts"]);
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(b"SELECT current_user, 6 * 7 AS answer;\n").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("app") && text.contains("42"), "{text}");

    // `logs` prints the server's own log; a service with one database needs no `.DB`.
    let mut cmd = dbtwin();
    cmd.args(["logs", "--env", &env, "sessions", "--tail", "50"]);
    let out = run(cmd).await;
    assert_success(&out);
    assert!(stdout(&out).contains("Ready to accept connections"), "{}", stdout(&out));
    let mut cmd = dbtwin();
    cmd.args(["logs", "--env", &env, "nosuch"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(dbtwin::exit::NOT_FOUND));
    assert!(stderr(&out).contains("accounts.main, sessions.cache"), "{}", stderr(&out));
    down(&env).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_environment_comes_back_on_its_ports_with_its_roles() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("restart");
    let _cleanup = Cleanup(env.clone());
    assert_success(&up(&env, &pair_profiles(), &[]).await);
    let before = env_urls(&env).await;

    // A reboot or `docker stop`: the tmpfs data directories are gone with the containers' runs.
    let filter =
        LabelFilter::default().eq(labels::ENV, &env).eq(labels::KIND, labels::KIND_DATABASE);
    for c in rt.list_containers(&filter).await.unwrap() {
        let out =
            std::process::Command::new("docker").args(["stop", "-t", "1", &c.id]).output().unwrap();
        assert!(out.status.success());
    }
    // A stopped database has no URL to give: `env` says so instead of leaving it out.
    let mut cmd = dbtwin();
    cmd.args(["env", "--env", &env]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(dbtwin::exit::NOT_READY), "{}", stderr(&out));
    assert!(stderr(&out).contains("accounts.main (exited"), "{}", stderr(&out));

    let again = up(&env, &pair_profiles(), &["--json"]).await;
    assert_success(&again);
    assert!(stdout(&again).contains(r#""action":"start""#), "{}", stdout(&again));
    let after = env_urls(&env).await;
    assert_eq!(before, after, "the same ports and passwords after a restart");
    // The application's role is back although the data directory was new.
    assert!(pg_version(&after["ACCOUNTS_MAIN_URL"]).await.starts_with("15."));
    assert!(redis_version(&after["SESSIONS_CACHE_URL"]).await.starts_with("7.0."));

    // Stopped again, and meanwhile another program took accounts.main's port: it moves to a new
    // one, says so, and works; the other database keeps its port.
    for c in rt.list_containers(&filter).await.unwrap() {
        let out =
            std::process::Command::new("docker").args(["stop", "-t", "1", &c.id]).output().unwrap();
        assert!(out.status.success());
    }
    let port =
        |u: &str| u.rsplit_once(':').unwrap().1.split('/').next().unwrap().parse::<u16>().unwrap();
    let squatter =
        std::net::TcpListener::bind(("127.0.0.1", port(&after["ACCOUNTS_MAIN_URL"]))).unwrap();
    let moved = up(&env, &pair_profiles(), &[]).await;
    assert_success(&moved);
    assert!(
        stderr(&moved).contains("is taken now, so it moves to a new one"),
        "{}",
        stderr(&moved)
    );
    let now = env_urls(&env).await;
    assert_ne!(port(&now["ACCOUNTS_MAIN_URL"]), port(&after["ACCOUNTS_MAIN_URL"]));
    assert_eq!(now["SESSIONS_CACHE_URL"], after["SESSIONS_CACHE_URL"]);
    assert!(pg_version(&now["ACCOUNTS_MAIN_URL"]).await.starts_with("15."));
    drop(squatter);
    down(&env).await;
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}
