//! Secrets and identifiers on their way to the administered PostgreSQL (the real one of the machine):
//! a `secret` argument with `hash: scram-sha-256` (as in the shipped `create_readonly_role`) is replaced
//! by its SCRAM-SHA-256 verifier before anything is sent, and that verifier is exactly what PostgreSQL
//! computes and stores for the password; a failed view's error and audit row mask secrets; CSV spools
//! are private; shell steps get identifiers resolved and quoted beside the typed ones.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use postgram::access::{Actor, Via};
use postgram::catalog::{ArgValue, Catalog, MASK, parse_all, plan, scram};
use postgram::config::StateLocation;
use postgram::domain::DatabaseName;
use postgram::exec::{ActionReport, CancellationToken, Outcome, Targets};
use postgram::operations::Operations;
use postgram::store::Store;
use sqlx::{Connection, Executor, PgConnection};
use support::{Backend, TestState};

const PASSWORD: &str = "Analyst-Password-0123";

fn catalogue(actions: &str) -> Catalog {
    with_views("views: []", actions)
}

fn with_views(views: &str, actions: &str) -> Catalog {
    Catalog::from_texts(
        Some((Path::new("views.yaml"), views)),
        Some((Path::new("actions.yaml"), actions)),
        &[DatabaseName::parse("main").unwrap()],
    )
    .unwrap_or_else(|e| panic!("the catalogue is invalid:\n{e}"))
}

fn targets(url: &str) -> Targets {
    support::main_targets(url)
}

/// Runs `alias` of `catalog` on the test's database; returns the values as sent and the report.
async fn run(
    catalog: &Catalog,
    url: &str,
    alias: &str,
    given: &[(&str, &str)],
) -> (BTreeMap<String, ArgValue>, ActionReport) {
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
    (values, report)
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

/// An API token's caller.
fn alice() -> Actor {
    Actor {
        name: "token:alice".to_owned(),
        telegram_id: None,
        via: Via::Rest,
    }
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
    let (values, _) = run(
        &catalogue(&actions),
        &state.url,
        "create_readonly_role",
        &[("role", &role), ("password", PASSWORD)],
    )
    .await;
    let sent = values["password"].for_shell();
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

/// The service's operations on the test's database, with `views`, and its state store.
async fn operations(state: &TestState, views: &str) -> (Operations, Store) {
    let store = Store::connect(&StateLocation::Sqlite(state.dir.path().join("state.db")))
        .await
        .unwrap();
    let catalog = Arc::new(with_views(views, "actions: []"));
    let operations = Operations::new(
        catalog,
        targets(&state.url),
        store.clone(),
        postgram::clock::Clock::system(),
        tokio_util::task::TaskTracker::new(),
        tokio_util::sync::CancellationToken::new(),
    );
    (operations, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_views_error_and_audit_row_mask_its_secret() {
    let Some(state) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let views = r#"
views:
  - alias: check_token
    title: Check a token
    arguments:
      - { name: token, type: secret }
    sql: SELECT :token::int AS n
"#;
    let (operations, store) = operations(&state, views).await;
    let given = BTreeMap::from([("token".to_owned(), PASSWORD.to_owned())]);
    let main = DatabaseName::parse("main").unwrap();
    let error = operations
        .stream_view(&alice(), &main, "check_token", &given, None, &mut |_| {})
        .await
        .unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("invalid input syntax"), "{shown}");
    assert!(
        !shown.contains(PASSWORD),
        "the error shows the secret: {shown}"
    );
    let audit: Vec<String> = {
        let url = format!("sqlite://{}", state.dir.path().join("state.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT detail FROM audit_log")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(audit[0].contains("failed"), "{}", audit[0]);
    assert!(audit[0].contains(MASK), "{}", audit[0]);
    assert!(
        !audit[0].contains(PASSWORD),
        "the audit row shows the secret: {}",
        audit[0]
    );
    store.close().await;
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_spools_are_readable_by_the_service_alone() {
    let Some(state) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let views = r#"
views:
  - alias: numbers
    title: Numbers
    sql: SELECT g AS n FROM generate_series(1, 3) g
"#;
    let (operations, store) = operations(&state, views).await;
    let main = DatabaseName::parse("main").unwrap();
    let (header, file) = operations
        .view_csv(&alice(), &main, "numbers", &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(header, "n\r\n");
    let mode = file.metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the spool's mode is {mode:o}");
    store.close().await;
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_steps_get_the_resolved_quoted_identifier_beside_the_typed_one() {
    let Some(state) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let mut conn = PgConnection::connect(&state.url).await.unwrap();
    conn.execute("CREATE TABLE \"Odd Name\" (id int)")
        .await
        .unwrap();
    let actions = r#"
actions:
  - alias: show
    title: Show the table argument
    arguments:
      - { name: table, type: identifier, kind: relation }
    steps:
      - { name: show, shell: "printf '%s|%s' \"$PG_ARG_TABLE\" \"$PG_ARG_TABLE_QUOTED\"" }
"#;
    let (_, report) = run(
        &catalogue(actions),
        &state.url,
        "show",
        &[("table", "public.\"Odd Name\"")],
    )
    .await;
    assert_eq!(
        report.steps[0].stdout_tail,
        "public.\"Odd Name\"|\"Odd Name\""
    );
    state.cleanup().await;
}
