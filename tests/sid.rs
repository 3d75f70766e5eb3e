//! Stories on images built from Debian sid (MySQL 9, PostgreSQL 18). sid is a moving archive, so
//! these are `#[ignore]`d in the must-pass run; `tests/run` runs them afterwards and reports their
//! outcome plainly. A missing image fails them with that reason: they never pass without running.

mod common;

use common::*;
use mysql_async::prelude::Queryable;

fn image_exists(image: &str) -> bool {
    std::process::Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "sid images are best effort: run by tests/run with --ignored"]
async fn sid_mysql_9_and_postgres_18_come_up_at_their_pinned_versions() {
    let Some(rt) = docker().await else { return };
    for image in ["dbtwin-offline/mysql:9", "dbtwin-offline/postgres:18"] {
        assert!(
            image_exists(image),
            "image {image} could not be built (Debian sid moves); see tests/images/build's output"
        );
    }
    let env = unique_env("sid");
    let _cleanup = Cleanup(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(
        dir.path(),
        "sid.yaml",
        "defaults: { storage: tmpfs }\nservices:\n  legacy:\n    databases:\n      main: { engine: mysql, version: \"9\" }\n  next:\n    databases:\n      main: { engine: postgres, version: \"18\" }\n",
    );
    let mut cmd = dbtwin();
    cmd.args(["up", "-p"]).arg(&p).args(["-p", &path("profiles/offline.yaml"), "--env", &env]);
    let out = run(cmd).await;
    assert_success(&out);
    let urls = env_urls(&env).await;

    let mut conn = mysql_async::Conn::from_url(urls["LEGACY_MAIN_URL"].as_str()).await.unwrap();
    let v: Option<String> = conn.query_first("SELECT VERSION()").await.unwrap();
    assert!(v.unwrap().starts_with("9."));
    conn.disconnect().await.unwrap();

    let (client, connection) =
        tokio_postgres::connect(&urls["NEXT_MAIN_URL"], tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let v: String = client.query_one("SHOW server_version", &[]).await.unwrap().get(0);
    assert!(v.starts_with("18."), "{v}");

    let mut down = dbtwin();
    down.args(["down", "--env", &env]);
    assert_success(&run(down).await);
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}
