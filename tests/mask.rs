//! Masked copies against real servers, through the binary: a "production" environment filled by
//! the test is copied into a twin through a read-only role, subset along its foreign keys (a
//! cycle, a self-reference, a composite key, a table without a key), every personal column
//! masked. The story checks each transformer's shape, consistency across tables, determinism
//! across runs, that another key gives other values, that unique columns stay unique, and that
//! production is never written; then the guards: a personal column without a rule, a unique
//! column with a rule that could collide, and a planted leak, each stop the copy and name the
//! column.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use dbtwin::exit;

const DEFAULTS: &str = "defaults: { storage: tmpfs, durability: throwaway }\n";

const PROD_SCHEMA: &str = r#"
CREATE TABLE teams (id integer PRIMARY KEY, name text NOT NULL, captain_id bigint);
CREATE TABLE users (
    id          bigint PRIMARY KEY,
    email       varchar(120) NOT NULL UNIQUE,
    name        text NOT NULL,
    phone       text,
    card        text,
    iban        text,
    tax_id      text,
    answer      text,
    birth_date  date,
    balance     numeric(10,2) NOT NULL,
    settings    jsonb,
    notes       text,
    misc        text,
    team_id     integer REFERENCES teams (id)
);
ALTER TABLE teams ADD FOREIGN KEY (captain_id) REFERENCES users (id);
CREATE TABLE categories (id integer PRIMARY KEY, parent_id integer REFERENCES categories (id), label text NOT NULL);
CREATE TABLE orders (
    id            bigint PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id),
    contact_email varchar(120),
    category_id   integer REFERENCES categories (id),
    placed_at     timestamptz NOT NULL,
    amount        numeric(10,2) NOT NULL
);
CREATE TABLE order_lines (
    order_id bigint NOT NULL REFERENCES orders (id),
    line     integer NOT NULL,
    sku      text NOT NULL,
    qty      integer NOT NULL,
    PRIMARY KEY (order_id, line)
);
CREATE TABLE line_notes (
    order_id bigint NOT NULL,
    line     integer NOT NULL,
    note     text NOT NULL,
    FOREIGN KEY (order_id, line) REFERENCES order_lines (order_id, line)
);
CREATE TABLE countries (code char(2) PRIMARY KEY, label text NOT NULL);
CREATE TABLE codes (code text UNIQUE, label text NOT NULL);
ALTER TABLE orders ADD COLUMN code text REFERENCES codes (code);
CREATE TABLE versions (id integer PRIMARY KEY, prev_id integer REFERENCES versions (id), body text NOT NULL);
CREATE TABLE ledgers (id integer PRIMARY KEY);
CREATE TABLE entries (id bigint PRIMARY KEY, ledger_id bigint NOT NULL REFERENCES ledgers (id));
-- Copied as they are. Built-in types only: the rows travel in the binary format.
CREATE TABLE readings (
    id bigint PRIMARY KEY, small smallint, ratio real, exact double precision,
    amount numeric(14,4), flag boolean, label varchar(40), code char(3), raw bytea, day date,
    at_time time, at_tz timetz, stamp timestamp(3), stamp_tz timestamptz, span interval,
    uid uuid, doc json, cash money, bits bit(4), vbits bit varying(8)
);
-- An enum, its array, a domain, jsonb and a text array: as text.
CREATE TYPE mood AS ENUM ('calm', 'tense');
CREATE DOMAIN score AS numeric(5,2) CHECK (VALUE BETWEEN 0 AND 100);
CREATE TABLE moods (id integer PRIMARY KEY, mood mood NOT NULL, past mood[], share score, doc jsonb, words text[]);
-- The same masked columns twice: binary rows (built-in types), and text rows (an enum beside).
CREATE TABLE contacts (
    id bigint PRIMARY KEY, email varchar(120), phone text, born date, ref uuid, code integer,
    doc jsonb, note text, amount numeric(12,2)
);
CREATE TABLE contacts_text (LIKE contacts);
-- Empty: a binary stream of no rows is its header and trailer in one message.
CREATE TABLE archive (id bigint PRIMARY KEY, at timestamptz NOT NULL, amount numeric(12,2));
ALTER TABLE contacts_text ADD PRIMARY KEY (id), ADD COLUMN mood mood;
"#;

/// Production rows: 400 users in 8 teams (captains are users: a cycle), a category tree, orders
/// with lines and notes on some lines, and reference data.
const PROD_DATA: &str = r#"
INSERT INTO teams SELECT t, 'team ' || t, NULL FROM generate_series(1, 8) t;
INSERT INTO users SELECT i,
    'person' || i || '@corp' || (i % 5) || '.example.com',
    'Given' || i || ' Family' || (i % 37),
    '+1 (555) 01' || lpad(i::text, 3, '0'),
    '4111-1111-1111-' || lpad(i::text, 4, '0'),
    'DE89370400440532013' || lpad(i::text, 3, '0'),
    lpad(i::text, 3, '0') || '-45-6789',
    'my first pet was ' || i,
    date '1970-01-01' + (i * 37 % 15000),
    (i * 7.31)::numeric(10,2),
    jsonb_build_object('theme', 'dark', 'contact', jsonb_build_object('email', 'person' || i || '@corp' || (i % 5) || '.example.com')),
    CASE WHEN i % 3 = 0 THEN 'called on ' || i ELSE NULL END,
    'free text ' || i,
    1 + i % 8
  FROM generate_series(1, 400) i;
UPDATE teams SET captain_id = id * 10;
INSERT INTO categories VALUES (1, NULL, 'root');
INSERT INTO categories SELECT c, 1 + (c - 2) / 3, 'cat ' || c FROM generate_series(2, 20) c;
INSERT INTO orders SELECT o, 1 + (o * 7) % 400,
    CASE WHEN o % 2 = 0 THEN 'person' || (1 + (o * 7) % 400) || '@corp' || ((1 + (o * 7) % 400) % 5) || '.example.com' END,
    CASE WHEN o % 4 = 0 THEN NULL ELSE 1 + o % 20 END,
    timestamptz '2025-01-01 00:00:00+00' + o * interval '1 hour',
    (o % 500) + 0.99
  FROM generate_series(1, 1500) o;
INSERT INTO order_lines SELECT o, l, 'SKU-' || (o * l % 97), l FROM generate_series(1, 1500) o, generate_series(1, 2) l;
INSERT INTO line_notes SELECT o, 1, 'gift wrap' FROM generate_series(1, 1500, 5) o;
INSERT INTO countries VALUES ('DE', 'Germany'), ('FR', 'France');
INSERT INTO codes SELECT 'c' || c, 'code ' || c FROM generate_series(0, 29) c;
UPDATE orders SET code = 'c' || (id % 10);
INSERT INTO versions SELECT v, NULLIF(v - 1, 0), 'v' || v FROM generate_series(1, 100) v;
INSERT INTO ledgers SELECT 1500000000 + l FROM generate_series(1, 50) l;
INSERT INTO entries SELECT e, 1500000000 + 1 + e % 50 FROM generate_series(1, 200) e;
INSERT INTO readings SELECT r, (r % 300)::smallint - 150, r / 7.0, r / 3.0, r * 1.2345 - 900,
    r % 2 = 0, 'reading ' || r || E' tab\there', lpad((r % 1000)::text, 3, '0'), decode(md5(r::text), 'hex'),
    date '2000-02-29' + r, time '00:00:01' + r * interval '1 minute', timetz '12:00:00+05:30',
    timestamp '1999-12-31 23:59:59.123' + r * interval '1 day', timestamptz '2025-06-01 00:00:00+00' + r * interval '17 seconds',
    r * interval '1 hour 2 minutes', md5(r::text)::uuid, json_build_object('n', r, 'text', 'ü ' || r),
    (r * 1.01)::numeric::money, (r % 16)::bit(4), (r % 256)::bit(8)::varbit
  FROM generate_series(1, 300) r;
INSERT INTO readings (id) VALUES (0);
INSERT INTO contacts SELECT c, 'contact' || c || '@firm' || (c % 3) || '.example.org',
    '+44 20 7946 ' || lpad(c::text, 4, '0'),
    CASE WHEN c % 7 = 0 THEN NULL WHEN c = 1 THEN date '0044-03-15 BC' WHEN c = 2 THEN 'infinity'
         ELSE date '1960-01-01' + c * 97 END,
    md5('ref' || c)::uuid, 100000 + c * 13,
    CASE WHEN c % 5 = 0 THEN NULL ELSE jsonb_build_object('email', 'contact' || c || '@firm' || (c % 3) || '.example.org', 'tier', c % 4) END,
    'note ' || (c % 4), CASE WHEN c = 3 THEN 'NaN' ELSE (c * 1234.5 - 7000)::numeric(12,2) END
  FROM generate_series(1, 60) c;
INSERT INTO contacts_text SELECT *, 'calm' FROM contacts;
INSERT INTO moods SELECT m, CASE WHEN m % 2 = 0 THEN 'calm'::mood ELSE 'tense' END, ARRAY['calm', 'tense']::mood[],
    m % 100, jsonb_build_object('m', m), ARRAY['a', 'b ' || m] FROM generate_series(1, 50) m;
CREATE ROLE reader LOGIN PASSWORD 'reader-pw';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;
"#;

/// The twin's seed file: one rule of every kind, a subset starting from 40% of the users.
const TWIN_SEED: &str = r#"
source: { url: "${PROD_URL}" }
subset:
  start: { users: { percent: 40 }, versions: { where: "id = 100" } }
  follow: children
mask:
  users:
    email:      { email: { keep_domain: true } }
    name:       { fake: name }
    phone:      keep-format
    card:       { partial: 4 }
    iban:       set-null
    tax_id:     { constant: "000-00-0000" }
    answer:     redact
    birth_date: { shift-date: { days: [-30, 30] }, by: id }
    balance:    { noise: 0.1 }
    settings:   { json: { "$.contact.email": { email: { keep_domain: true } } } }
    notes:      hash
    misc:       keep
  orders:
    contact_email: { email: { keep_domain: true } }
  ledgers:
    id: keep-format                     # an integer key referenced from a bigint column
  contacts: &contact
    email: email
    phone: keep-format
    born:  { shift-date: { days: [-30, 30] }, by: id }
    ref:   hash
    code:  keep-format
    doc:   { json: { "$.email": email } }
    amount: { noise: 0.2 }
  contacts_text: *contact
"#;

fn profile(service: &str, data: Option<&str>) -> String {
    let data = data.map(|d| format!(", data: {d}")).unwrap_or_default();
    format!(
        "name: masktest\n{DEFAULTS}services:\n  {service}:\n    databases:\n      main: {{ engine: postgres, version: \"17\", migrations: migrations{data} }}\nimages:\n  postgres: {{ \"17\": dbtwin-offline/postgres:17 }}\n"
    )
}

/// Rows of `sql` as text columns, keyed by the first.
async fn rows(client: &tokio_postgres::Client, sql: &str) -> BTreeMap<String, Vec<Option<String>>> {
    let mut out = BTreeMap::new();
    for row in client.query(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")) {
        let values: Vec<Option<String>> = (0..row.len()).map(|i| row.get(i)).collect();
        out.insert(values[0].clone().unwrap(), values[1..].to_vec());
    }
    out
}

/// Per table, a checksum of all its rows in a stable order.
async fn checksums(client: &tokio_postgres::Client) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for table in
        ["teams", "users", "categories", "orders", "order_lines", "line_notes", "countries"]
    {
        let sql = format!(
            "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
        );
        let sum: String = client.query_one(&sql, &[]).await.unwrap().get(0);
        out.insert(table.to_string(), sum);
    }
    out
}

/// `postgres://admin:pw@host:port/db` → the same server and database as `user:password`.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (_, at) = rest.rsplit_once('@').unwrap();
    format!("{scheme}://{user}:{password}@{at}")
}

fn masked_cmd(args: &[&str], prod_url: &str, key: &str) -> std::process::Command {
    let mut cmd = dbtwin();
    cmd.args(args).env("PROD_URL", prod_url).env("DBTWIN_MASK_KEY", key);
    cmd
}

#[tokio::test]
async fn postgres_masked_subset_copy() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(migrations.join("V1__schema.sql"), PROD_SCHEMA).unwrap();

    // Production: the schema, filled by the test, with a role that may only read.
    let prod_env = unique_env("mask-prod");
    let _prod_cleanup = Cleanup(prod_env.clone());
    let prod_profile = write_profile(dir.path(), "prod.yaml", &profile("p", None));
    let mut up = dbtwin();
    up.args(["up", "-p", prod_profile.to_str().unwrap(), "--env", &prod_env]);
    assert_success(&run(up).await);
    let prod_admin = env_urls(&prod_env).await["P_MAIN_ADMIN_URL"].clone();
    let prod = pg(&prod_admin).await;
    prod.batch_execute(PROD_DATA).await.unwrap();
    let prod_url = as_user(&prod_admin, "reader", "reader-pw");
    let reader = pg(&prod_url).await;
    assert!(
        reader.batch_execute("UPDATE users SET name = 'x' WHERE id = 1").await.is_err(),
        "the source role cannot write"
    );
    let before = checksums(&prod).await;

    // The twin: a masked subset of production.
    std::fs::write(dir.path().join("seed.yaml"), TWIN_SEED).unwrap();
    let twin_profile = write_profile(dir.path(), "twin.yaml", &profile("t", Some("seed.yaml")));
    let twin_path = twin_profile.to_str().unwrap();
    let env = unique_env("mask-twin");
    let _cleanup = Cleanup(env.clone());

    // The plan checks out: every column that looks personal has a rule.
    let out = run(masked_cmd(&["mask", "--check", "-p", twin_path], &prod_url, "k1")).await;
    assert_success(&out);
    assert!(
        stdout(&out).contains("every column that looks personal has a rule"),
        "{}",
        stdout(&out)
    );

    let out = run(masked_cmd(&["up", "-p", twin_path, "--env", &env], &prod_url, "k1")).await;
    assert_success(&out);
    assert!(!stderr(&out).contains("reader-pw"), "the source password is never shown");
    let twin_admin = env_urls(&env).await["T_MAIN_ADMIN_URL"].clone();
    let twin = pg(&twin_admin).await;

    // Production was never written.
    assert_eq!(checksums(&prod).await, before);

    // The subset: some users, not all; every foreign key holds (the server validated each as it
    // came back); the cycle, the tree, the composite key and the keyless table are consistent.
    let users = scalar(&twin, "SELECT count(*) FROM users").await;
    assert!((80..400).contains(&users), "{users} users");
    for orphans in [
        "SELECT count(*) FROM orders o LEFT JOIN users u ON u.id = o.user_id WHERE u.id IS NULL",
        "SELECT count(*) FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.team_id IS NOT NULL AND t.id IS NULL",
        "SELECT count(*) FROM teams t LEFT JOIN users u ON u.id = t.captain_id WHERE t.captain_id IS NOT NULL AND u.id IS NULL",
        "SELECT count(*) FROM categories c LEFT JOIN categories p ON p.id = c.parent_id WHERE c.parent_id IS NOT NULL AND p.id IS NULL",
        "SELECT count(*) FROM line_notes n LEFT JOIN order_lines l USING (order_id, line) WHERE l.order_id IS NULL",
    ] {
        assert_eq!(scalar(&twin, orphans).await, 0, "{orphans}");
    }
    assert_eq!(
        scalar(&twin, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND convalidated").await,
        10
    );
    // An integer key masked within the narrower type's range on both sides: the bigint column
    // referencing it maps every value alike.
    assert_eq!(
        scalar(&twin, "SELECT count(*) FROM entries e JOIN ledgers l ON l.id = e.ledger_id").await,
        200
    );
    assert_eq!(
        scalar(&twin, "SELECT count(*) FROM ledgers WHERE id BETWEEN 1500000001 AND 1500000050")
            .await,
        0
    );
    // A parent without a primary key (referenced through a unique key) keeps the rows asked for;
    // a chain of 100 versions, each the parent of the next, comes back whole from its last one.
    let codes = scalar(&twin, "SELECT count(*) FROM codes").await;
    assert!((1..=10).contains(&codes), "{codes} codes");
    assert_eq!(
        scalar(
            &twin,
            "SELECT count(*) FROM orders o LEFT JOIN codes c USING (code) WHERE c.code IS NULL"
        )
        .await,
        0
    );
    assert_eq!(scalar(&twin, "SELECT count(*) FROM versions").await, 100);
    // follow: children: every order of a start user came along, with its lines.
    let orders = scalar(&twin, "SELECT count(*) FROM orders").await;
    assert!(orders > 0 && orders < 1500, "{orders} orders");
    assert_eq!(
        scalar(&twin, "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)").await,
        0
    );
    assert!(scalar(&twin, "SELECT count(*) FROM line_notes").await > 0);
    assert_eq!(scalar(&twin, "SELECT count(*) FROM countries").await, 2, "whole tables stay whole");
    // Masking is the same whichever format carried the rows: binary rows (contacts) come out as
    // text rows (contacts_text, which its enum keeps as text) do, NULLs, a BC date and infinity
    // included; and masked they are.
    let sql = "SELECT id::text, email, phone, born::text, ref::text, code::text, doc::text, note, \
               amount::text FROM";
    let binary = rows(&twin, &format!("{sql} contacts")).await;
    assert_eq!(binary.len(), 60);
    assert_eq!(binary, rows(&twin, &format!("{sql} contacts_text")).await);
    let original = rows(&prod, &format!("{sql} contacts")).await;
    for (id, masked) in &binary {
        let o = &original[id];
        for column in 0..5 {
            if o[column].as_deref().is_some_and(|v| v != "infinity") {
                assert_ne!(masked[column], o[column], "contacts {id}, column {column}");
            }
        }
        assert_eq!(masked[6], o[6], "note goes through");
        if o[7].as_deref().is_some_and(|v| v != "NaN" && v != "0.00") {
            assert_ne!(masked[7], o[7], "noise moves a numeric");
        }
        assert_eq!(masked[5].is_none(), o[5].is_none(), "NULL stays NULL");
    }
    assert_eq!(scalar(&twin, "SELECT count(*) FROM archive").await, 0);
    // Tables copied as they are arrive as they were, whichever format carried them: built-in
    // types in the binary format (NULLs too), an enum, a domain, jsonb and arrays as text.
    for table in ["readings", "moods"] {
        let sql = format!("SELECT id::text, t::text FROM {table} t");
        let (want, got) = (rows(&prod, &sql).await, rows(&twin, &sql).await);
        assert!(want.len() >= 50, "{table}: {} rows", want.len());
        assert_eq!(got, want, "{table}");
    }

    // Every transformer, row by row against production's original.
    let columns = "id::text, email, name, phone, card, iban, tax_id, answer, birth_date::text, balance::text, settings::text, notes, misc";
    let original = rows(&prod, &format!("SELECT {columns} FROM users")).await;
    let masked = rows(&twin, &format!("SELECT {columns} FROM users")).await;
    let mut emails = BTreeSet::new();
    for (id, m) in &masked {
        let o = &original[id];
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let (email, o_email) = (text(&m[0]), text(&o[0]));
        assert_ne!(email, o_email);
        assert_eq!(email.split('@').nth(1), o_email.split('@').nth(1), "keep_domain");
        assert!(emails.insert(email.clone()), "unique stays unique: {email}");
        assert_ne!(m[1], o[1], "fake name");
        let (phone, o_phone) = (text(&m[2]), text(&o[2]));
        assert_ne!(phone, o_phone);
        assert_eq!(phone.len(), o_phone.len());
        for (a, b) in phone.chars().zip(o_phone.chars()) {
            assert_eq!(a.is_ascii_digit(), b.is_ascii_digit(), "keep-format: {phone} / {o_phone}");
            if !b.is_ascii_alphanumeric() {
                assert_eq!(a, b);
            }
        }
        let (card, o_card) = (text(&m[3]), text(&o[3]));
        assert_eq!(
            &card[card.len() - 4..],
            &o_card[o_card.len() - 4..],
            "partial keeps the last 4"
        );
        assert!(card.starts_with("****-****-****-"), "{card}");
        assert_eq!(m[4], None, "set-null");
        assert_eq!(text(&m[5]), "000-00-0000", "constant");
        let answer = text(&m[6]);
        assert!(!answer.is_empty() && !answer.contains("pet"), "redact: {answer}");
        let (born, o_born) = (text(&m[7]), text(&o[7]));
        assert_ne!(born, o_born, "shift-date moves the date");
        let (balance, o_balance): (f64, f64) =
            (text(&m[8]).parse().unwrap(), text(&o[8]).parse().unwrap());
        assert!(
            (balance - o_balance).abs() <= o_balance * 0.1 + 0.01,
            "noise: {balance} / {o_balance}"
        );
        let settings: serde_json::Value = serde_json::from_str(&text(&m[9])).unwrap();
        assert_eq!(settings["theme"], "dark", "json keeps what no path names");
        assert_eq!(
            settings["contact"]["email"],
            serde_json::Value::String(email.clone()),
            "the same email masks the same in a json path"
        );
        match (&m[10], &o[10]) {
            (Some(h), Some(n)) => {
                assert!(h != n && h.chars().all(|c| c.is_ascii_hexdigit()), "hash: {h}")
            }
            (None, None) => {}
            other => panic!("hash keeps NULLs: {other:?}"),
        }
        assert_eq!(m[11], o[11], "keep");
    }
    // Consistency across tables: an order's contact email masks like its user's email.
    let mismatched = scalar(
        &twin,
        "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE o.contact_email IS NOT NULL AND o.contact_email <> u.email",
    )
    .await;
    assert_eq!(mismatched, 0);
    let originals: BTreeSet<String> = original.values().filter_map(|v| v[0].clone()).collect();
    let leaked =
        scalar(&twin, "SELECT count(*) FROM orders WHERE contact_email LIKE 'person%@corp%'").await;
    assert_eq!(leaked, 0, "no original email in orders");
    assert!(emails.is_disjoint(&originals));

    // Determinism: the same key gives the same copy; another key gives other values.
    let first = checksums(&twin).await;
    let out =
        run(masked_cmd(&["seed", "--env", &env, "-p", twin_path, "--reseed"], &prod_url, "k1"))
            .await;
    assert_success(&out);
    assert_eq!(checksums(&twin).await, first, "same key, same copy");
    let out =
        run(masked_cmd(&["seed", "--env", &env, "-p", twin_path, "--reseed"], &prod_url, "k2"))
            .await;
    assert_success(&out);
    let other = rows(&twin, "SELECT id::text, email FROM users").await;
    assert_eq!(
        other.keys().collect::<Vec<_>>(),
        masked.keys().collect::<Vec<_>>(),
        "the subset does not depend on the key"
    );
    assert!(other.iter().all(|(id, v)| v[0] != masked[id][0]), "another key, other emails");

    // No key, no copy.
    let mut seed = dbtwin();
    seed.args(["seed", "--env", &env, "-p", twin_path, "--reseed"])
        .env("PROD_URL", &prod_url)
        .env_remove("DBTWIN_MASK_KEY");
    let out = run(seed).await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}", stderr(&out));
    assert!(stderr(&out).contains("DBTWIN_MASK_KEY"), "{}", stderr(&out));

    // A source that does not answer (it is opened while the lock is taken): the run fails with
    // the source's error, said once, the twin untouched and its lock released (the next seeds
    // below take it).
    let before_unreachable = checksums(&twin).await;
    let nowhere = "postgres://reader:hunter2@127.0.0.1:1/prod";
    let out =
        run(masked_cmd(&["seed", "--env", &env, "-p", twin_path, "--reseed"], nowhere, "k1")).await;
    assert_eq!(out.status.code(), Some(exit::DATABASE_UNREACHABLE), "{}", stderr(&out));
    assert_eq!(stderr(&out).matches("failed to read the source").count(), 1, "{}", stderr(&out));
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    assert_eq!(checksums(&twin).await, before_unreachable, "nothing was touched");

    // The PII guard: columns that look personal and have no rule stop the run, by name (phone)
    // and by their values (misc holds emails here).
    prod.batch_execute("UPDATE users SET misc = 'someone' || id || '@mail.example.org'")
        .await
        .unwrap();
    let guarded = TWIN_SEED
        .replace("    phone:      keep-format\n", "")
        .replace("    misc:       keep\n", "");
    std::fs::write(dir.path().join("seed.yaml"), &guarded).unwrap();
    let out = run(masked_cmd(&["mask", "--check", "-p", twin_path], &prod_url, "k1")).await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("users.phone") && stdout(&out).contains("users.misc"),
        "{}",
        stdout(&out)
    );
    let before_guard = checksums(&twin).await;
    let out =
        run(masked_cmd(&["seed", "--env", &env, "-p", twin_path, "--reseed"], &prod_url, "k1"))
            .await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("users.phone") && stderr(&out).contains("users.misc"),
        "{}",
        stderr(&out)
    );
    assert_eq!(checksums(&twin).await, before_guard, "nothing was loaded");

    // A unique column with a rule that could collide is refused before loading.
    let colliding = TWIN_SEED.replace(
        "email:      { email: { keep_domain: true } }",
        "email:      { fake: safe_email }",
    );
    std::fs::write(dir.path().join("seed.yaml"), &colliding).unwrap();
    let out =
        run(masked_cmd(&["seed", "--env", &env, "-p", twin_path, "--reseed"], &prod_url, "k1"))
            .await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}", stderr(&out));
    assert!(stderr(&out).contains("users.email is unique"), "{}", stderr(&out));

    let shape = schema_shape(&twin).await;
    // A planted leak: a kept column holding another user's original email, in another case.
    // Its cells have few distinct words: the check asks the source which are originals.
    prod.batch_execute("UPDATE users SET misc = 'free text' ; UPDATE users SET misc = 'ping PERSON7@Corp2.example.com today' WHERE id = 3").await.unwrap();
    std::fs::write(dir.path().join("seed.yaml"), TWIN_SEED.replace("percent: 40", "percent: 100"))
        .unwrap();
    let out =
        run(masked_cmd(&["seed", "--env", &env, "-p", twin_path, "--reseed"], &prod_url, "k1"))
            .await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}", stderr(&out));
    assert!(stderr(&out).contains("users.misc: 1 cells holding"), "{}", stderr(&out));
    let report = stderr(&out).to_lowercase();
    assert!(!report.contains("person7@corp2"), "the leak report never shows the value");
    // The copy stopped with the twin's keys off: before the error, its tables were emptied and
    // every key, index and foreign key put back, validated; nothing is left pending, and the
    // seeding record says incomplete (the next seed copies again).
    assert_eq!(schema_shape(&twin).await, shape, "the schema is whole again");
    assert_eq!(
        scalar(&twin, "SELECT count(*) FROM dbtwin_state WHERE name LIKE 'seed_restore%'").await,
        0
    );
    assert_eq!(scalar(&twin, "SELECT count(*) FROM users").await, 0);
    assert_eq!(
        scalar(&twin, "SELECT count(*) FROM dbtwin_state WHERE name = 'seeded' AND value::json->>'complete' = 'false'").await,
        1
    );

    // The same leak among more distinct words than the check asks the source about: the
    // originals are read into the filter instead, and the leak is found all the same.
    let words: Vec<String> = (0..10_050).map(|i| format!("w{i}")).collect();
    prod.batch_execute(&format!(
        "UPDATE users SET misc = '{}' WHERE id = 4; \
         UPDATE users SET misc = 'ping person7@corp2.example.com' WHERE id = 3",
        words.join(" ")
    ))
    .await
    .unwrap();
    let out =
        run(masked_cmd(&["seed", "--env", &env, "-p", twin_path, "--reseed"], &prod_url, "k1"))
            .await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}", stderr(&out));
    assert!(stderr(&out).contains("users.misc: 1 cells holding"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("person7@corp2"), "the leak report never shows the value");

    for env in [&env, &prod_env] {
        let mut down = dbtwin();
        down.args(["down", "--env", env]);
        assert_success(&run(down).await);
        assert!(leftovers(&rt, env).await.is_empty());
    }
}

/// The public schema's constraints and indexes, each with whether it is valid, by name.
async fn schema_shape(client: &tokio_postgres::Client) -> Vec<String> {
    rows(
        client,
        "SELECT conrelid::regclass::text || '.' || conname || ' ' || contype::text || ' ' || convalidated
           FROM pg_constraint WHERE connamespace = 'public'::regnamespace
          UNION ALL
         SELECT indrelid::regclass::text || '.' || indexrelid::regclass::text || ' index ' || indisvalid
           FROM pg_index WHERE indrelid::regclass::text NOT LIKE 'pg_%'
            AND indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
          ORDER BY 1",
    )
    .await
    .into_keys()
    .collect()
}

const ACCOUNTS_SCHEMA: &str = r#"
CREATE TABLE users (id bigint PRIMARY KEY, email varchar(120) NOT NULL UNIQUE, name text NOT NULL);
CREATE TABLE tokens (code text PRIMARY KEY);
CREATE TABLE token_uses (id bigint PRIMARY KEY, code text NOT NULL REFERENCES tokens);
"#;

const SHOP_SCHEMA: &str = r#"
CREATE TABLE customers_cache (id bigint PRIMARY KEY, email varchar(120) NOT NULL UNIQUE);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, total decimal(10,2) NOT NULL, note text);
CREATE TABLE coupons (id bigint PRIMARY KEY, code varchar(20) NOT NULL);
CREATE TABLE gifts (id bigint PRIMARY KEY, code varchar(20) NOT NULL);
CREATE TABLE redemptions (id bigint PRIMARY KEY, coupon_id bigint NOT NULL REFERENCES coupons (id));
"#;

const ACCOUNTS_SEED: &str = r#"
source: { url: "${ACCOUNTS_URL}" }
subset: { start: { users: { percent: 50 }, tokens: { percent: 30 } } }
mask:
  users: { id: keep-format, email: email, name: { fake: name } }
"#;

/// No foreign key in the shop's schema: the relation to accounts is declared here.
const SHOP_SEED: &str = r#"
source: { url: "${SHOP_URL}" }
subset:
  start: { coupons: { percent: 30 }, gifts: { percent: 50, limit: 5 } }
  relations:
    - { from: orders.customer_id, to: users.id, in: accounts }
mask:
  customers_cache: { email: email }
"#;

const LEGACY_SEED: &str = r#"
source: { csv: exports }
mask:
  users: { email: email, name: { fake: name } }
"#;

fn two_engines(twin: bool) -> String {
    let data = |file: &str| if twin { format!(", data: {file}") } else { String::new() };
    format!(
        "name: masktest\n{DEFAULTS}services:\n  accounts:\n    databases:\n      main: {{ engine: postgres, version: \"17\", migrations: accounts{} }}\n  shop:\n    databases:\n      main: {{ engine: mariadb, version: \"11.8\", migrations: shop{} }}\n{}images:\n  postgres: {{ \"17\": dbtwin-offline/postgres:17 }}\n  mariadb: {{ \"11.8\": dbtwin-offline/mariadb:11.8 }}\n",
        data("accounts.yaml"),
        data("shop.yaml"),
        if twin {
            "  legacy:\n    databases:\n      main: { engine: postgres, version: \"17\", migrations: accounts, data: legacy.yaml }\n"
        } else {
            ""
        },
    )
}

/// The database's indexes, foreign keys and triggers, by name.
async fn maria_shape(conn: &mut mysql_async::Conn) -> Vec<String> {
    use mysql_async::prelude::Queryable;
    conn.query(
        "SELECT concat(TABLE_NAME, '.', INDEX_NAME, ' index ', SEQ_IN_INDEX, ' ', COLUMN_NAME)
           FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
         UNION ALL
         SELECT concat(TABLE_NAME, '.', CONSTRAINT_NAME, ' references ', REFERENCED_TABLE_NAME)
           FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()
         UNION ALL
         SELECT concat(EVENT_OBJECT_TABLE, '.', TRIGGER_NAME, ' trigger')
           FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
         ORDER BY 1",
    )
    .await
    .unwrap()
}

async fn maria(url: &str) -> mysql_async::Conn {
    mysql_async::Conn::new(mysql_async::Opts::from_url(url).unwrap()).await.unwrap()
}

#[tokio::test]
async fn masking_is_consistent_across_engines_and_a_virtual_key_spans_databases() {
    use mysql_async::prelude::Queryable;
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let dir = tempfile::tempdir().unwrap();
    for (name, schema) in [("accounts", ACCOUNTS_SCHEMA), ("shop", SHOP_SCHEMA)] {
        std::fs::create_dir(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("V1__schema.sql"), schema).unwrap();
    }
    let prod_env = unique_env("mask-prod2");
    let _prod_cleanup = Cleanup(prod_env.clone());
    let prod_profile = write_profile(dir.path(), "prod.yaml", &two_engines(false));
    let mut up = dbtwin();
    up.args(["up", "-p", prod_profile.to_str().unwrap(), "--env", &prod_env]);
    assert_success(&run(up).await);
    let urls = env_urls(&prod_env).await;
    let accounts = pg(&urls["ACCOUNTS_MAIN_ADMIN_URL"]).await;
    accounts
        .batch_execute(
            "INSERT INTO users SELECT i, 'u' || i || '@shop.example', 'Name ' || i FROM generate_series(1, 200) i;
             INSERT INTO tokens SELECT 'token-' || i FROM generate_series(1, 300) i;
             INSERT INTO token_uses SELECT i, 'token-' || (1 + i % 300) FROM generate_series(1, 600) i;
             CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;",
        )
        .await
        .unwrap();
    let mut shop = maria(&urls["SHOP_MAIN_ADMIN_URL"]).await;
    shop.query_drop("INSERT INTO customers_cache SELECT seq, concat('u', seq, '@shop.example') FROM seq_1_to_200").await.unwrap();
    shop.query_drop("INSERT INTO orders SELECT seq, 1 + seq % 200, seq % 90 + 0.5, concat('tab\\there\\\\back ', seq) FROM seq_1_to_600").await.unwrap();
    for table in ["coupons", "gifts"] {
        shop.query_drop(format!(
            "INSERT INTO {table} SELECT seq, concat('code-', seq) FROM seq_1_to_300"
        ))
        .await
        .unwrap();
    }
    shop.query_drop("INSERT INTO redemptions SELECT seq, 1 + seq % 300 FROM seq_1_to_600")
        .await
        .unwrap();
    shop.query_drop("CREATE USER reader@'%' IDENTIFIED BY 'reader-pw'").await.unwrap();
    let db: Option<String> = shop.query_first("SELECT DATABASE()").await.unwrap();
    shop.query_drop(format!("GRANT SELECT ON `{}`.* TO reader@'%'", db.unwrap())).await.unwrap();
    let shop_before: Option<String> = shop
        .query_first("SELECT md5(group_concat(concat_ws(',', id, customer_id, total, note) ORDER BY id)) FROM orders")
        .await
        .unwrap();

    // CSV exports of the same users, for a third database.
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    let mut csv = String::from("id,email,name\n");
    for i in 1..=200 {
        csv.push_str(&format!("{i},u{i}@shop.example,\"Name {i}\"\n"));
    }
    std::fs::write(exports.join("users.csv"), csv).unwrap();

    std::fs::write(dir.path().join("accounts.yaml"), ACCOUNTS_SEED).unwrap();
    std::fs::write(dir.path().join("shop.yaml"), SHOP_SEED).unwrap();
    std::fs::write(dir.path().join("legacy.yaml"), LEGACY_SEED).unwrap();
    let twin_profile = write_profile(dir.path(), "twin.yaml", &two_engines(true));
    let env = unique_env("mask-twin2");
    let _cleanup = Cleanup(env.clone());
    // `command` on the twin, reading production through the read-only role.
    let twin_cmd = |command: &str| {
        let mut cmd = dbtwin();
        cmd.args([command, "-p", twin_profile.to_str().unwrap(), "--env", &env])
            .env("ACCOUNTS_URL", as_user(&urls["ACCOUNTS_MAIN_ADMIN_URL"], "reader", "reader-pw"))
            .env("SHOP_URL", as_user(&urls["SHOP_MAIN_ADMIN_URL"], "reader", "reader-pw"))
            .env("DBTWIN_MASK_KEY", "shared-key");
        cmd
    };
    assert_success(&run(twin_cmd("up")).await);

    let twin = env_urls(&env).await;
    let accounts_twin =
        rows(&pg(&twin["ACCOUNTS_MAIN_ADMIN_URL"]).await, "SELECT id::text, email FROM users")
            .await;
    let legacy_twin =
        rows(&pg(&twin["LEGACY_MAIN_ADMIN_URL"]).await, "SELECT id::text, email FROM users").await;
    let mut shop_twin = maria(&twin["SHOP_MAIN_ADMIN_URL"]).await;
    let cache: Vec<(i64, String)> =
        shop_twin.query("SELECT id, email FROM customers_cache").await.unwrap();
    let orders: Vec<(i64, i64, String)> =
        shop_twin.query("SELECT id, customer_id, note FROM orders").await.unwrap();
    let coupons: Vec<i64> = shop_twin.query("SELECT id FROM coupons").await.unwrap();
    let gifts: Vec<(i64, String)> = shop_twin.query("SELECT id, code FROM gifts").await.unwrap();
    let tokens = rows(&pg(&twin["ACCOUNTS_MAIN_ADMIN_URL"]).await, "SELECT code FROM tokens").await;
    let token_uses: Vec<(i64, String)> = pg(&twin["ACCOUNTS_MAIN_ADMIN_URL"])
        .await
        .query("SELECT id, code FROM token_uses", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let redemptions: Vec<(i64, i64)> =
        shop_twin.query("SELECT id, coupon_id FROM redemptions").await.unwrap();

    // The subset: half the users, and the shop's orders of those users only (the relation
    // crosses from MariaDB to PostgreSQL).
    assert!((50..150).contains(&accounts_twin.len()), "{}", accounts_twin.len());
    assert!(!orders.is_empty() && orders.len() < 600, "{}", orders.len());
    for (_, customer, _) in &orders {
        assert!(
            accounts_twin.contains_key(&customer.to_string()),
            "order of customer {customer} without its user"
        );
    }
    // Shares each source decides itself: MariaDB by an integer key, with a limit taking the
    // lowest keys of the share; PostgreSQL by a text key (the users above: a bigint key).
    assert!((45..=135).contains(&coupons.len()), "{} of 300 coupons for 30%", coupons.len());
    assert_eq!(gifts.len(), 5, "{gifts:?}");
    assert!(gifts.iter().all(|(id, code)| *code == format!("code-{id}")), "{gifts:?}");
    assert!(gifts.iter().map(|(id, _)| id).max() < Some(&60), "the lowest keys of half: {gifts:?}");
    assert!((45..=135).contains(&tokens.len()), "{} of 300 tokens for 30%", tokens.len());
    // Their children (one link each, to the key): every child of a kept row, and no other,
    // whether the source computed the share on the child's link or was sent the kept keys.
    let mut expected: Vec<i64> =
        (1..=600).filter(|i| tokens.contains_key(&format!("token-{}", 1 + i % 300))).collect();
    let mut got: Vec<i64> = token_uses.iter().map(|(id, _)| *id).collect();
    got.sort();
    assert_eq!(got, expected, "the uses of the kept tokens");
    expected = (1..=600).filter(|i| coupons.contains(&(1 + i % 300))).collect();
    got = redemptions.iter().map(|(id, _)| *id).collect();
    got.sort();
    assert_eq!(got, expected, "the redemptions of the kept coupons");
    // Rows with tabs and backslashes came through MariaDB's reader intact.
    assert!(orders.iter().all(|(id, _, note)| *note == format!("tab\there\\back {id}")));
    // The same original email masks the same in PostgreSQL, MariaDB and the CSV copy.
    assert_eq!(cache.len(), 200, "a table the subset does not reach is copied whole");
    assert_eq!(legacy_twin.len(), 200);
    for (id, email) in &cache {
        assert!(!email.starts_with(&format!("u{id}@")), "{email}");
        assert_eq!(
            legacy_twin[&id.to_string()][0].as_deref(),
            Some(email.as_str()),
            "csv vs mariadb"
        );
    }
    // Accounts' ids are masked too (keep-format), and the relation gave the shop's customer_id
    // the same rule: the orders above still find their users, and each user's email is the one
    // the shop's cache masked from the same original.
    let original_id: BTreeMap<&str, i64> = cache.iter().map(|(id, e)| (e.as_str(), *id)).collect();
    for (id, v) in &accounts_twin {
        let email = v[0].as_deref().unwrap();
        let original = original_id.get(email).expect("postgres and mariadb mask one email alike");
        assert_ne!(id, &original.to_string(), "the id is masked");
    }
    let shop_after: Option<String> = shop
        .query_first("SELECT md5(group_concat(concat_ws(',', id, customer_id, total, note) ORDER BY id)) FROM orders")
        .await
        .unwrap();
    assert_eq!(shop_before, shop_after, "production was never written");

    // A copy into MariaDB that stops half-way (production's order notes now quote a customer's
    // original email): the shop's tables are emptied and their indexes, foreign keys and
    // triggers put back before the error, with no restore left pending.
    let shape = maria_shape(&mut shop_twin).await;
    shop.query_drop("UPDATE orders SET note = concat('write to u7@shop.example ', id)")
        .await
        .unwrap();
    let mut reseed = twin_cmd("seed");
    reseed.arg("--reseed");
    let out = run(reseed).await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}", stderr(&out));
    assert!(stderr(&out).contains("orders.note"), "{}", stderr(&out));
    assert_eq!(maria_shape(&mut shop_twin).await, shape, "the schema is whole again");
    let left: Vec<(i64, i64)> = shop_twin
        .query(
            "SELECT (SELECT count(*) FROM orders), \
                    (SELECT count(*) FROM dbtwin_state WHERE name LIKE 'seed_restore%')",
        )
        .await
        .unwrap();
    assert_eq!(left, [(0, 0)], "emptied, nothing pending");

    // An original of another service's source is a leak too: the notes now quote an email that
    // only the accounts database holds (the shop's own personal columns never had it).
    accounts
        .batch_execute("INSERT INTO users VALUES (201, 'solo@accounts.example', 'Solo')")
        .await
        .unwrap();
    shop.query_drop("UPDATE orders SET note = concat('ask solo@accounts.example ', id)")
        .await
        .unwrap();
    let mut reseed = twin_cmd("seed");
    reseed.arg("--reseed");
    let out = run(reseed).await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}", stderr(&out));
    assert!(stderr(&out).contains("orders.note"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("solo@"), "the value is never printed: {}", stderr(&out));
    let orders_left: Option<i64> =
        shop_twin.query_first("SELECT count(*) FROM orders").await.unwrap();
    assert_eq!(orders_left, Some(0), "nothing of the leaking table was kept");
    shop.disconnect().await.unwrap();
    shop_twin.disconnect().await.unwrap();

    for env in [&env, &prod_env] {
        let mut down = dbtwin();
        down.args(["down", "--env", env]);
        assert_success(&run(down).await);
        assert!(leftovers(&rt, env).await.is_empty());
    }
}

const REDIS_SEED: &str = r#"
source: { url: "${PROD_URL}" }
mask:
  "session:*":    { email: email, ip: keep-format }
  "user:*:email": { value: email }
  "visitors":     { members: email }
  "cart:*":       { key-name: email }
"#;

#[tokio::test]
async fn redis_keys_are_copied_masked_with_their_ttls() {
    let Some(rt) = docker().await else { return };
    let _slot = Slot::take().await;
    let dir = tempfile::tempdir().unwrap();
    let redis_profile = |data: Option<&str>| {
        let data = data.map(|d| format!(", data: {d}")).unwrap_or_default();
        format!(
            "name: masktest\nservices:\n  r:\n    databases:\n      cache: {{ engine: redis, version: \"7.0\"{data} }}\nimages:\n  redis: {{ \"7.0\": dbtwin-offline/redis:7.0 }}\n"
        )
    };
    let prod_env = unique_env("mask-prod-redis");
    let _prod_cleanup = Cleanup(prod_env.clone());
    let prod_profile = write_profile(dir.path(), "prod.yaml", &redis_profile(None));
    let mut up = dbtwin();
    up.args(["up", "-p", prod_profile.to_str().unwrap(), "--env", &prod_env]);
    assert_success(&run(up).await);
    let prod_admin = env_urls(&prod_env).await["R_CACHE_ADMIN_URL"].clone();
    let client = redis::Client::open(prod_admin.as_str()).unwrap();
    let mut prod = client.get_multiplexed_async_connection().await.unwrap();
    let mut pipe = redis::pipe();
    for i in 1..=50 {
        let email = format!("p{i}@people.example");
        pipe.cmd("HSET")
            .arg(format!("session:{i}"))
            .arg("email")
            .arg(&email)
            .arg("ip")
            .arg(format!("10.0.0.{i}"))
            .arg("theme")
            .arg("dark")
            .ignore();
        pipe.cmd("EXPIRE").arg(format!("session:{i}")).arg(3600).ignore();
        pipe.cmd("SET").arg(format!("user:{i}:email")).arg(&email).ignore();
        pipe.cmd("SADD").arg("visitors").arg(&email).ignore();
        if i <= 10 {
            // A key named after its person.
            pipe.cmd("SADD")
                .arg(format!("cart:{email}"))
                .arg("sku-1")
                .arg(format!("sku-{i}"))
                .ignore();
        }
    }
    pipe.cmd("ZADD").arg("board").arg(3).arg("alpha").arg(1).arg("beta").ignore();
    pipe.cmd("ACL")
        .arg("SETUSER")
        .arg("reader")
        .arg("on")
        .arg(">reader-pw")
        .arg("~*")
        .arg("&*")
        .arg("+@read")
        .arg("+@connection")
        .ignore();
    pipe.query_async::<()>(&mut prod).await.unwrap();
    let prod_url = as_user(&prod_admin, "reader", "reader-pw");

    std::fs::write(dir.path().join("seed.yaml"), REDIS_SEED).unwrap();
    let twin_profile = write_profile(dir.path(), "twin.yaml", &redis_profile(Some("seed.yaml")));
    let env = unique_env("mask-twin-redis");
    let _cleanup = Cleanup(env.clone());
    let out = run(masked_cmd(
        &["up", "-p", twin_profile.to_str().unwrap(), "--env", &env],
        &prod_url,
        "k1",
    ))
    .await;
    assert_success(&out);
    let twin_url = env_urls(&env).await["R_CACHE_ADMIN_URL"].clone();
    let mut twin = redis::Client::open(twin_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    let sessions: Vec<String> =
        redis::cmd("KEYS").arg("session:*").query_async(&mut twin).await.unwrap();
    assert_eq!(sessions.len(), 50);
    let mut masked_emails = BTreeSet::new();
    for i in 1..=50 {
        let fields: BTreeMap<String, String> =
            redis::cmd("HGETALL").arg(format!("session:{i}")).query_async(&mut twin).await.unwrap();
        assert_ne!(fields["email"], format!("p{i}@people.example"));
        assert_ne!(fields["ip"], format!("10.0.0.{i}"));
        assert_eq!(
            fields["ip"].matches('.').count(),
            3,
            "keep-format keeps the dots: {}",
            fields["ip"]
        );
        assert_eq!(fields["theme"], "dark");
        let ttl: i64 =
            redis::cmd("TTL").arg(format!("session:{i}")).query_async(&mut twin).await.unwrap();
        assert!((1..=3600).contains(&ttl), "the TTL came along: {ttl}");
        let email: String =
            redis::cmd("GET").arg(format!("user:{i}:email")).query_async(&mut twin).await.unwrap();
        assert_eq!(email, fields["email"], "the same email masks the same in a hash and a string");
        masked_emails.insert(email);
    }
    let visitors: BTreeSet<String> =
        redis::cmd("SMEMBERS").arg("visitors").query_async(&mut twin).await.unwrap();
    assert_eq!(visitors, masked_emails, "set members too");
    // Key names: the email in `cart:EMAIL` is masked as everywhere else, so the masked session's
    // email still finds its cart; no original name is left.
    let carts: Vec<String> = redis::cmd("KEYS").arg("cart:*").query_async(&mut twin).await.unwrap();
    assert_eq!(carts.len(), 10, "{carts:?}");
    for i in 1..=10 {
        let email: String =
            redis::cmd("GET").arg(format!("user:{i}:email")).query_async(&mut twin).await.unwrap();
        let items: BTreeSet<String> = redis::cmd("SMEMBERS")
            .arg(format!("cart:{email}"))
            .query_async(&mut twin)
            .await
            .unwrap();
        assert_eq!(
            items,
            BTreeSet::from(["sku-1".to_string(), format!("sku-{i}")]),
            "cart:{email}"
        );
        assert!(!carts.contains(&format!("cart:p{i}@people.example")));
    }
    let board: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg("board")
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(&mut twin)
        .await
        .unwrap();
    assert_eq!(board, [("beta".to_string(), 1.0), ("alpha".to_string(), 3.0)]);

    // Seeds the twin again from another seed file.
    let reseed = |seed: String| {
        std::fs::write(dir.path().join("seed.yaml"), seed).unwrap();
        let args = ["seed", "--env", &env, "-p", twin_profile.to_str().unwrap(), "--reseed"];
        run(masked_cmd(&args, &prod_url, "k1"))
    };
    // An unruled personal field (`ip`, by its name) stops the copy.
    let out = reseed(REDIS_SEED.replace(", ip: keep-format", "")).await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}", stderr(&out));
    assert!(stderr(&out).contains("session:*.ip"), "{}", stderr(&out));
    // So does a key name that holds an email, by its values; a rule that could make two names
    // one is refused before anything is read.
    let out = reseed(REDIS_SEED.replace("  \"cart:*\":       { key-name: email }\n", "")).await;
    assert_eq!(out.status.code(), Some(exit::DATA_FAILED), "{}", stderr(&out));
    assert!(stderr(&out).contains("cart:*.key-name"), "{}", stderr(&out));
    assert!(stderr(&out).contains("email"), "{}", stderr(&out));
    let out = reseed(REDIS_SEED.replace("{ key-name: email }", "{ key-name: redact }")).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a bijection"), "{}", stderr(&out));
    assert!(stderr(&out).contains("seed.yaml"), "names the file: {}", stderr(&out));

    for env in [&env, &prod_env] {
        let mut down = dbtwin();
        down.args(["down", "--env", env]);
        assert_success(&run(down).await);
        assert!(leftovers(&rt, env).await.is_empty());
    }
}
