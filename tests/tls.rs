//! TLS to databases dbtwin did not start, through real servers: PostgreSQL with a certificate
//! (Debian's snakeoil, self-signed, which the offline image carries) and MariaDB 11.8, which makes
//! its own certificate at startup. libpq's meaning of the modes: `require` encrypts without
//! judging the certificate, `verify-ca` checks the chain, `verify-full` also the name.

mod common;

use common::*;
use dbtwin::engine::{Session, Target};

const PROFILE: &str = r#"
name: tls
defaults: { storage: tmpfs, durability: throwaway }
services:
  pg:
    databases:
      main:
        engine: postgres
        version: "15"
        settings:
          ssl: "on"
          ssl_cert_file: /etc/ssl/certs/ssl-cert-snakeoil.pem
          ssl_key_file: /etc/ssl/private/ssl-cert-snakeoil.key
  my:
    databases:
      main: { engine: mariadb, version: "11.8" }
"#;

/// Connects through the library and asks the server whether this very session is encrypted.
async fn encrypted(url: &str) -> Result<bool, String> {
    let target = Target::from_url(url).map_err(|e| error_text(&e))?;
    let mut session = Session::connect(&target).await.map_err(|e| error_text(&e))?;
    let sql = if url.starts_with("postgres") {
        "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    } else {
        "SELECT CASE WHEN VARIABLE_VALUE <> '' THEN 'true' ELSE 'false' END
           FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'"
    };
    let rows = session.query_text(sql).await.map_err(|e| error_text(&e))?;
    session.close().await;
    Ok(rows[0][0].as_deref() == Some("true"))
}

fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_modes_mean_what_libpq_says_on_postgres_and_mariadb() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let env = unique_env("tls");
    let _cleanup = Cleanup(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), "tls.yaml", PROFILE);
    let mut cmd = dbtwin();
    cmd.args(["up", "-q", "-p"]).arg(&profile).args(["-p", &path("profiles/offline.yaml")]);
    cmd.args(["--env", &env]);
    assert_success(&run(cmd).await);
    let urls = env_urls(&env).await;
    let (pg, my) = (&urls["PG_MAIN_ADMIN_URL"], &urls["MY_MAIN_ADMIN_URL"]);

    // The CA file for verify-ca: the server's own self-signed certificate.
    let ca = dir.path().join("ca.pem");
    let copied = std::process::Command::new("docker")
        .args(["cp", &format!("dbtwin-{env}.pg.main:/etc/ssl/certs/ssl-cert-snakeoil.pem")])
        .arg(&ca)
        .status()
        .unwrap();
    assert!(copied.success());
    let ca = ca.display().to_string();

    for (mode, expected) in [
        ("sslmode=disable", Ok(false)),
        ("sslmode=prefer", Ok(true)),
        ("sslmode=require", Ok(true)),
        (&format!("sslmode=verify-ca&sslrootcert={ca}") as &str, Ok(true)),
        // Trusted by nobody: the system's roots do not know a self-signed certificate.
        ("sslmode=verify-ca", Err("UnknownIssuer")),
        ("sslmode=verify-full", Err("UnknownIssuer")),
        // The chain is trusted, but the certificate names another host than 127.0.0.1.
        (&format!("sslmode=verify-full&sslrootcert={ca}"), Err("not valid for name")),
    ] {
        let got = encrypted(&format!("{pg}?{mode}")).await;
        match (&got, expected) {
            (Ok(e), Ok(want)) => assert_eq!(*e, want, "postgres {mode}"),
            (Err(msg), Err(want)) => assert!(msg.contains(want), "postgres {mode}: {msg}"),
            _ => panic!("postgres {mode}: got {got:?}, expected {expected:?}"),
        }
    }
    for (mode, expected) in [
        ("ssl-mode=DISABLED", Ok(false)),
        ("ssl-mode=PREFERRED", Ok(true)),
        ("ssl-mode=REQUIRED", Ok(true)),
        ("ssl-mode=VERIFY_IDENTITY", Err("UnknownIssuer")),
    ] {
        let got = encrypted(&format!("{my}?{mode}")).await;
        match (&got, expected) {
            (Ok(e), Ok(want)) => assert_eq!(*e, want, "mariadb {mode}"),
            (Err(msg), Err(want)) => assert!(msg.contains(want), "mariadb {mode}: {msg}"),
            _ => panic!("mariadb {mode}: got {got:?}, expected {expected:?}"),
        }
    }

    // Through the binary: a failed verification is an unreachable row, drift for --check, and
    // the password never shows.
    let password = pg.split(':').nth(2).unwrap().split('@').next().unwrap().to_string();
    let mut cmd = dbtwin();
    cmd.args(["status", "--check", "--url", &format!("{pg}?sslmode=verify-full")]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("unreachable"), "{}", stdout(&out));
    assert!(stderr(&out).contains("UnknownIssuer"), "{}", stderr(&out));
    assert!(!stdout(&out).contains(&password) && !stderr(&out).contains(&password));

    let mut cmd = dbtwin();
    cmd.args(["down", "--env", &env]);
    assert_success(&run(cmd).await);
    assert!(leftovers(&rt, &env).await.is_empty());
}
