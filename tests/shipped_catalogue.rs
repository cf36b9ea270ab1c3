//! Every view and action shipped in views.yaml and actions.yaml runs against the machine's real
//! PostgreSQL (actions on scratch objects this test creates), and returns what it should.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use postgram::catalog::{Catalog, parse_all, plan};
use postgram::domain::DatabaseName;
use postgram::exec::{CancellationToken, Outcome, Targets};
use sqlx::{Connection, Executor, PgConnection};
use support::{Backend, TestState};

fn catalogue() -> Catalog {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let views = std::fs::read_to_string(root.join("views.yaml")).unwrap();
    let actions = std::fs::read_to_string(root.join("actions.yaml")).unwrap();
    Catalog::from_texts(
        Some((Path::new("views.yaml"), &views)),
        Some((Path::new("actions.yaml"), &actions)),
        &[DatabaseName::parse("main").unwrap()],
    )
    .unwrap_or_else(|e| panic!("the shipped catalogue is invalid:\n{e}"))
}

fn targets(url: &str) -> Targets {
    support::main_targets(url)
}

#[test]
fn the_catalogue_is_as_large_as_promised() {
    let catalog = catalogue();
    assert!(catalog.views.len() >= 15, "{} views", catalog.views.len());
    assert!(
        catalog.actions.len() >= 10,
        "{} actions",
        catalog.actions.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_view_runs_and_returns_named_columns() {
    let Some(state) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let mut conn = PgConnection::connect(&state.url).await.unwrap();
    conn.execute("CREATE TABLE scratch_orders (id int PRIMARY KEY, note text); INSERT INTO scratch_orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g; ANALYZE scratch_orders")
        .await
        .unwrap();
    let catalog = catalogue();
    let target = targets(&state.url)
        .get(&DatabaseName::parse("main").unwrap())
        .unwrap();
    for view in &catalog.views {
        let values = parse_all(&view.arguments, &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{}: {e}", view.alias));
        let (query, options) = plan::view_query(view, &target, &values)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", view.alias));
        let table = target
            .view_table(&query, &options)
            .await
            .unwrap_or_else(|e| panic!("view {} failed: {e}", view.alias));
        assert!(
            !table.columns.is_empty(),
            "{} returns no columns",
            view.alias
        );
        for row in &table.rows {
            assert_eq!(row.len(), table.columns.len(), "{}", view.alias);
        }
    }
    // Every argument's buttons (choices_sql) come from a query that runs too.
    let arguments = catalog
        .views
        .iter()
        .flat_map(|v| &v.arguments)
        .chain(catalog.actions.iter().flat_map(|a| &a.arguments));
    for argument in arguments {
        if let Some(sql) = &argument.choices_sql {
            target
                .choices(sql, Duration::from_secs(10), 20)
                .await
                .unwrap_or_else(|e| panic!("choices_sql of {} failed: {e}", argument.name));
        }
    }
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_action_runs_on_scratch_objects() {
    let Some(state) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let unique = format!(
        "{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_subsec_micros()
    );
    let role = format!("postgram_scratch_{unique}");
    let analyst = format!("postgram_analyst_{unique}");
    let slot = format!("postgram_scratch_{unique}");
    let backups = std::env::temp_dir().join(format!("postgram-backups-{unique}"));
    std::fs::create_dir_all(&backups).unwrap();

    let mut conn = PgConnection::connect(&state.url).await.unwrap();
    conn.execute(
        format!(
            "CREATE TABLE scratch_orders (id int PRIMARY KEY, note text); \
             CREATE INDEX scratch_orders_note_idx ON scratch_orders (note); \
             INSERT INTO scratch_orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g; \
             CREATE ROLE {role}; \
             SELECT pg_create_physical_replication_slot('{slot}')"
        )
        .as_str(),
    )
    .await
    .unwrap();
    // Two sessions whose pids the cancel and terminate actions aim at.
    let mut sleepers = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..2 {
        let mut sleeper = PgConnection::connect(&state.url).await.unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut sleeper)
            .await
            .unwrap();
        pids.push(pid);
        sleepers.push(tokio::spawn(async move {
            let _ = sqlx::query("SELECT pg_sleep(30)")
                .execute(&mut sleeper)
                .await;
        }));
    }
    // Both asleep on the server before the actions aim at them.
    support::eventually("both sessions to sleep", Duration::from_secs(20), || {
        let pids = pids.clone();
        let url = state.url.clone();
        async move {
            let mut probe = PgConnection::connect(&url).await.unwrap();
            let asleep: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE pid = ANY($1) AND state = 'active' AND query = 'SELECT pg_sleep(30)'",
            )
            .bind(&pids)
            .fetch_one(&mut probe)
            .await
            .unwrap();
            (asleep == 2).then_some(())
        }
    })
    .await;

    let given: BTreeMap<&str, String> = [
        ("relname", "scratch_orders".to_owned()),
        ("index", "scratch_orders_note_idx".to_owned()),
        ("role", role.clone()),
        ("timeout", "45s".to_owned()),
        ("password", "A-long-enough-secret-123".to_owned()),
        ("directory", backups.display().to_string()),
        ("keep", "2".to_owned()),
        ("slot_name", slot.clone()),
        // Nothing on this server is that old or has waited that long: these terminate nothing.
        ("min_idle", "1h".to_owned()),
        ("min_wait", "1h".to_owned()),
        ("cap", "1".to_owned()),
    ]
    .into_iter()
    .collect();

    let catalog = catalogue();
    let target = targets(&state.url)
        .get(&DatabaseName::parse("main").unwrap())
        .unwrap();
    for action in &catalog.actions {
        let mut arguments: BTreeMap<String, String> = BTreeMap::new();
        for argument in &action.arguments {
            let value = match (action.alias.as_str(), argument.name.as_str()) {
                ("cancel_query", "pid") => Some(pids[0].to_string()),
                ("terminate_backend", "pid") => Some(pids[1].to_string()),
                ("create_readonly_role", "role") => Some(analyst.clone()),
                (_, name) => given.get(name).cloned(),
            };
            if let Some(value) = value {
                arguments.insert(argument.name.clone(), value);
            }
        }
        let values = parse_all(&action.arguments, &arguments)
            .unwrap_or_else(|e| panic!("{}: {e}", action.alias));
        let plan = plan::action_plan(action, &target, &values)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", action.alias));
        let report = target
            .run_action(&plan, &|_| {}, CancellationToken::new())
            .await;
        assert!(
            matches!(report.outcome, Outcome::Succeeded),
            "action {} did not succeed: {:?}\n{:#?}",
            action.alias,
            report.outcome,
            report.steps
        );
        if action.alias == "set_role_statement_timeout" {
            let table = report.steps.last().and_then(|s| s.table.as_ref()).unwrap();
            let column = table
                .columns
                .iter()
                .position(|c| c == "stored_as_requested");
            if let Some(column) = column {
                assert_eq!(table.rows[0][column].as_deref(), Some("true"), "{table:?}");
            }
        }
    }
    let dumps = std::fs::read_dir(&backups).unwrap().count();
    assert!(dumps >= 1, "the backup wrote a dump");
    let slots: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1")
            .bind(&slot)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(slots, 0, "the unused slot was dropped");

    for sleeper in sleepers {
        let _ = sleeper.await;
    }
    let _ = conn
        .execute(format!("DROP ROLE IF EXISTS {analyst}; DROP ROLE IF EXISTS {role}").as_str())
        .await;
    let _ = std::fs::remove_dir_all(&backups);
    state.cleanup().await;
}
