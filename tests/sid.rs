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
    // Migrations on both: MySQL 9 with a DELIMITER trigger, PostgreSQL 18 with a virtual
    // generated column (new in 18), so the catalog readers meet what these versions add.
    let legacy = dir.path().join("legacy");
    let next = dir.path().join("next");
    std::fs::create_dir_all(&legacy).unwrap();
    std::fs::create_dir_all(&next).unwrap();
    std::fs::write(
        legacy.join("V1__init.sql"),
        "CREATE TABLE customers (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,\n\
         email VARCHAR(200) NOT NULL UNIQUE, created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\
         CREATE TABLE orders (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,\n\
         customer_id BIGINT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL CHECK (total >= 0),\n\
         CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id));\n",
    )
    .unwrap();
    std::fs::write(
        legacy.join("V2__audit.sql"),
        "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50) NOT NULL);\n\
         DELIMITER //\n\
         CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW\n\
         BEGIN\n  INSERT INTO audit (what) VALUES ('order');\nEND//\n\
         DELIMITER ;\n",
    )
    .unwrap();
    std::fs::write(
        next.join("V1__init.sql"),
        "CREATE TYPE state AS ENUM ('new', 'done');\n\
         CREATE TABLE tasks (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n\
         title text NOT NULL, state state NOT NULL DEFAULT 'new',\n\
         title_length int GENERATED ALWAYS AS (length(title)) VIRTUAL);\n",
    )
    .unwrap();
    let p = write_profile(
        dir.path(),
        "sid.yaml",
        "defaults: { storage: tmpfs }\nservices:\n  legacy:\n    databases:\n      main: { engine: mysql, version: \"9\", migrations: legacy }\n  next:\n    databases:\n      main: { engine: postgres, version: \"18\", migrations: next }\n",
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

    let mut status = dbtwin();
    status.args(["status", "--check", "--json", "--env", &env]);
    let out = run(status).await;
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for row in doc["databases"].as_array().unwrap() {
        assert_eq!(row["migrations"]["pending"], serde_json::json!([]), "{row}");
        assert_eq!(row["drift"], serde_json::json!([]), "{row}");
    }
    let legacy_applied = doc["databases"][0]["migrations"]["applied"].as_u64();
    assert_eq!(legacy_applied, Some(2), "{doc}");

    let mut down = dbtwin();
    down.args(["down", "--env", &env]);
    assert_success(&run(down).await);
    assert_eq!(leftovers(&rt, &env).await, Vec::<String>::new());
}
