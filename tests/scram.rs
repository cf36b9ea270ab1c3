//! Role passwords never reach the server: a `secret` argument with `hash: scram-sha-256` (as in the
//! shipped `create_readonly_role`) is replaced by its SCRAM-SHA-256 verifier before anything is sent,
//! and that verifier is exactly what the real PostgreSQL computes and stores for the password.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use postgram::catalog::{Catalog, parse_all, plan, scram};
use postgram::config::{DatabaseConfig, Secret};
use postgram::domain::DatabaseName;
use postgram::exec::{CancellationToken, Outcome, Targets};
use sqlx::{Connection, Executor, PgConnection};
use support::{Backend, TestState};

const PASSWORD: &str = "Analyst-Password-0123";

fn catalogue(actions: &str) -> Catalog {
    Catalog::from_texts(
        None,
        Some((Path::new("actions.yaml"), actions)),
        &[DatabaseName::parse("main").unwrap()],
    )
    .unwrap_or_else(|e| panic!("the catalogue is invalid:\n{e}"))
}

fn targets(url: &str) -> Targets {
    Targets::new(&[DatabaseConfig {
        name: DatabaseName::parse("main").unwrap(),
        dsn: Secret::new(url),
        matchers: BTreeMap::new(),
        admins: Vec::new(),
        viewers: Vec::new(),
        chat: None,
        email: Vec::new(),
    }])
    .unwrap()
}

/// Runs `alias` of `catalog` on the test's database; returns the password argument's value as sent.
async fn run(catalog: &Catalog, url: &str, alias: &str, given: &[(&str, &str)]) -> String {
    let action = catalog.actions.iter().find(|a| a.alias == alias).unwrap();
    let given: BTreeMap<String, String> = given
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let values = parse_all(&action.arguments, &given).unwrap();
    let targets = targets(url);
    let target = targets.get(&DatabaseName::parse("main").unwrap()).unwrap();
    let plan = plan::action_plan(action, &target, &values).await.unwrap();
    let report = target
        .run_action(&plan, &|_| {}, CancellationToken::new())
        .await;
    assert!(
        matches!(report.outcome, Outcome::Succeeded),
        "{alias}: {:?}\n{:#?}",
        report.outcome,
        report.steps
    );
    values["password"].for_shell()
}

async fn stored_password(conn: &mut PgConnection, role: &str) -> String {
    sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
        .bind(role)
        .fetch_one(conn)
        .await
        .unwrap()
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_subsec_micros()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_verifier_is_the_one_postgresql_computes() {
    let Some(state) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let mut conn = PgConnection::connect(&state.url).await.unwrap();
    let role = unique("postgram_scram");
    conn.execute(
        format!(
            "SET password_encryption = 'scram-sha-256'; CREATE ROLE {role} PASSWORD '{PASSWORD}'"
        )
        .as_str(),
    )
    .await
    .unwrap();
    let stored = stored_password(&mut conn, &role).await;
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");
    // The same password with PostgreSQL's salt gives PostgreSQL's verifier, byte for byte.
    assert!(scram::verifies(&stored, PASSWORD), "{stored}");
    assert!(!scram::verifies(&stored, "Analyst-Password-0124"));
    let _ = conn.execute(format!("DROP ROLE {role}").as_str()).await;
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_create_readonly_role_sends_only_the_verifier() {
    let Some(state) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let actions =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("actions.yaml"))
            .unwrap();
    let role = unique("postgram_analyst");
    let sent = run(
        &catalogue(&actions),
        &state.url,
        "create_readonly_role",
        &[("role", &role), ("password", PASSWORD)],
    )
    .await;
    assert!(!sent.contains(PASSWORD), "the password itself was sent");
    let mut conn = PgConnection::connect(&state.url).await.unwrap();
    let stored = stored_password(&mut conn, &role).await;
    // The server stored what it was given: the verifier computed here, never the password.
    assert_eq!(stored, sent);
    assert!(scram::verifies(&stored, PASSWORD), "{stored}");
    let _ = conn
        .execute(format!("DROP OWNED BY {role}; DROP ROLE {role}").as_str())
        .await;
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hashed_secret_reaches_sql_and_shell_steps_as_its_verifier() {
    let Some(state) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let actions = r#"
actions:
  - alias: record
    title: Record what is sent
    arguments:
      - { name: password, type: secret, hash: scram-sha-256 }
    steps:
      - { name: sql, sql: "CREATE TABLE sent AS SELECT :password::text AS value" }
      - name: shell
        shell: psql --no-psqlrc --quiet -c "INSERT INTO sent VALUES ('$PG_ARG_PASSWORD')"
"#;
    run(
        &catalogue(actions),
        &state.url,
        "record",
        &[("password", PASSWORD)],
    )
    .await;
    let mut conn = PgConnection::connect(&state.url).await.unwrap();
    let sent: Vec<String> = sqlx::query_scalar("SELECT value FROM sent")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(sent.len(), 2);
    for value in sent {
        assert!(!value.contains(PASSWORD), "{value}");
        assert!(scram::verifies(&value, PASSWORD), "{value}");
    }
    state.cleanup().await;
}
