//! Live reload (`POST /-/reload`; SIGHUP in `reload_signal.rs`): a valid config is put in force at once
//! while webhooks keep arriving and an action keeps running; anything invalid, or a change only a
//! restart can take, leaves the running config serving; a changed DSN gets a new pool and a removed
//! database's pool closes once its run ends; a revoked token is refused at once; a dialogue about an
//! item that went away ends with a message. Real PostgreSQL, the fake Bot API.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;
use support::fake_telegram::{buttons, text_update};
use support::service::Ctx;
use support::{Backend, Service, TestState, alert, eventually, notification};

const OWNER: i64 = 1;
const ADMIN: i64 = 2000;
const NEW_ADMIN: i64 = 2001;
const OWNER_TOKEN: &str = "owner-token-for-reload-0123";
const VIEWER_TOKEN: &str = "viewer-token-for-reload-012";
const RETIRED_TOKEN: &str = "retired-token-for-reload-01";
const WAIT: Duration = Duration::from_secs(30);
/// The lock the `gated` action waits for while the test holds it.
const GATE: i64 = 4242;

const VIEWS: &str = r#"
views:
  - alias: whereami
    title: Where am I
    sql: SELECT current_database() AS db
  - alias: doomed
    title: Doomed view
    sql: SELECT 1 AS one
"#;

const VIEWS_AFTER: &str = r#"
views:
  - alias: whereami
    title: Where am I
    sql: SELECT current_database() AS db
  - alias: fresh
    title: Fresh view
    sql: SELECT 2 AS two
"#;

const ACTIONS: &str = r#"
actions:
  - alias: gated
    title: Pass the gate
    steps:
      - { name: gate, sql: "SELECT pg_advisory_lock(4242)" }
      - { name: pass, sql: "SELECT 1 AS passed" }
  - alias: remember
    title: Remember a note
    arguments:
      - { name: note, type: string }
    steps:
      - { name: echo, shell: "echo \"noted $PG_ARG_NOTE\"" }
"#;

const ACTIONS_AFTER: &str = r#"
actions:
  - alias: gated
    title: Pass the gate
    steps:
      - { name: gate, sql: "SELECT pg_advisory_lock(4242)" }
      - { name: pass, sql: "SELECT 1 AS passed" }
"#;

/// The config: the catalogue, `databases` (YAML list items) and the tokens (`retired` only when asked).
fn config(ctx: &Ctx<'_>, databases: &str, retired: bool) -> String {
    let retired = if retired {
        format!("\n  - {{ name: retired, token: \"{RETIRED_TOKEN}\", role: owner }}")
    } else {
        String::new()
    };
    format!(
        r#"{head}
owners: [{OWNER}]
catalog: {{ views: views.yaml, actions: actions.yaml }}
api_tokens:
  - {{ name: owner, token: "{OWNER_TOKEN}", role: owner }}
  - {{ name: viewer, token: "{VIEWER_TOKEN}", role: viewer }}{retired}
databases:
{databases}
"#,
        head = ctx.head()
    )
}

fn database(name: &str, dsn: &str, admins: &str) -> String {
    format!(
        "  - {{ name: {name}, dsn: \"{dsn}\", match: {{ cluster: {name} }}, admins: [{admins}] }}"
    )
}

async fn call(
    service: &Service,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", service.app.base);
    let mut request = match method {
        "POST" => service.app.client.post(url),
        _ => service.app.client.get(url),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn metrics(service: &Service) -> String {
    service.app.get_text("/metrics").await.1
}

/// Connections the service holds to the database `name` of the machine's PostgreSQL.
async fn connections_to(name: &str) -> i64 {
    let mut admin = sqlx::PgConnection::connect(&support::postgres_admin_url())
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'postgram'",
    )
    .bind(name)
    .fetch_one(&mut admin)
    .await
    .unwrap()
}

fn database_name(url: &str) -> String {
    url.rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

async fn incident_database(service: &Service, fingerprint: &str) -> String {
    service
        .state_sql(&format!(
            "SELECT COALESCE(database_name, 'owners') FROM incidents WHERE fingerprint = '{fingerprint}'"
        ))
        .await
        .concat()
}

/// The service administering a fresh database `main` (its admin [`ADMIN`]), with the catalogue
/// before any reload.
async fn start(retired: bool) -> Option<Service> {
    let files = [("views.yaml", VIEWS), ("actions.yaml", ACTIONS)];
    Service::start_administering(&files, |ctx, main| {
        config(ctx, &database("main", main, &ADMIN.to_string()), retired)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_load_loses_nothing_and_the_running_action_finishes() {
    let Some(old) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let old_url = old.url.clone();
    let files = [("views.yaml", VIEWS), ("actions.yaml", ACTIONS)];
    let Some(service) = Service::start_administering(&files, |ctx, main| {
        let databases = [
            database("main", main, &ADMIN.to_string()),
            database("old", &old_url, ""),
        ];
        config(ctx, &databases.join("\n"), true)
    })
    .await
    else {
        return;
    };
    let main_url = service.target().url.clone();
    assert!(
        metrics(&service)
            .await
            .contains("postgram_config_last_reload_successful 1")
    );

    // An action on `old` waits at the gate the test holds.
    let mut gate = sqlx::PgConnection::connect(&old_url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(GATE)
        .execute(&mut gate)
        .await
        .unwrap();
    let body = json!({ "database": "old", "args": {} });
    let (status, started) = call(
        &service,
        "POST",
        "/actions/execute/gated?wait=false",
        Some(OWNER_TOKEN),
        Some(body),
    )
    .await;
    assert_eq!(status, 202, "{started}");
    let run = started["run_id"].as_i64().unwrap();
    let old_name = database_name(&old_url);
    eventually("the action to wait at the gate", WAIT, || async {
        let mut admin = sqlx::PgConnection::connect(&support::postgres_admin_url())
            .await
            .ok()?;
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        )
        .bind(&old_name)
        .fetch_one(&mut admin)
        .await
        .ok()?;
        (waiting == 1).then_some(())
    })
    .await;

    // Webhooks keep coming, for both databases, before, during and after the reload.
    const ALERTS: usize = 120;
    let answered = Arc::new(AtomicUsize::new(0));
    let load = {
        let (base, client, answered) = (
            service.app.base.clone(),
            service.app.client.clone(),
            Arc::clone(&answered),
        );
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..ALERTS {
                let cluster = if i % 2 == 0 { "main" } else { "old" };
                let body = notification(
                    "firing",
                    vec![alert(
                        &format!("load-{i}"),
                        "firing",
                        "2026-11-30T10:00:00Z",
                        json!({"alertname": "Load", "cluster": cluster}),
                    )],
                );
                let response = client
                    .post(format!("{base}/alerts/alertmanager"))
                    .bearer_auth(support::WEBHOOK_TOKEN)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
                answered.fetch_add(1, Ordering::SeqCst);
            }
            statuses
        })
    };
    eventually("a first part of the load to be answered", WAIT, || async {
        (answered.load(Ordering::SeqCst) >= 20).then_some(())
    })
    .await;

    // `old` goes, `billing` comes, main gains an admin, the retired token and a view go, a view comes.
    let databases = [
        database("main", &main_url, &format!("{ADMIN}, {NEW_ADMIN}")),
        database("billing", &main_url, ""),
    ];
    let text = config(&service.ctx(), &databases.join("\n"), false);
    let after = [("views.yaml", VIEWS_AFTER), ("actions.yaml", ACTIONS_AFTER)];
    let (status, reloaded) = service.reload(OWNER_TOKEN, &text, &after).await;
    let during = answered.load(Ordering::SeqCst);
    assert_eq!(status, 200, "{reloaded}");
    let changes = &reloaded["changes"];
    assert_eq!(changes["databases"]["added"], json!(["billing"]));
    assert_eq!(changes["databases"]["removed"], json!(["old"]));
    assert_eq!(
        changes["members"],
        json!([format!("main: + user {NEW_ADMIN} (admin)")])
    );
    assert_eq!(changes["api_tokens"]["removed"], json!(["retired"]));
    assert_eq!(
        changes["views"],
        json!({"added": ["fresh"], "removed": ["doomed"], "changed": []})
    );
    assert_eq!(changes["actions"]["removed"], json!(["remember"]));

    // The revoked token is refused at once; the others serve the new catalogue.
    let (status, _) = call(&service, "GET", "/databases", Some(RETIRED_TOKEN), None).await;
    assert_eq!(status, 401);
    let (status, views) = call(&service, "GET", "/views", Some(OWNER_TOKEN), None).await;
    assert_eq!(status, 200);
    let aliases: Vec<&str> = views["views"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["alias"].as_str())
        .collect();
    assert_eq!(aliases, ["whereami", "fresh"]);

    // Nothing of the load was lost: every webhook answered 200, every alert stored once.
    let statuses = load.await.unwrap();
    assert!(
        during < ALERTS,
        "the reload happened while the load ran ({during} of {ALERTS} answered)"
    );
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let stored = service
        .state_sql("SELECT CAST(COUNT(*) AS TEXT) FROM incidents WHERE fingerprint LIKE 'load-%'")
        .await;
    assert_eq!(stored, [ALERTS.to_string()]);

    // The action still runs on the removed database, and finishes once the gate opens.
    assert!(
        connections_to(&old_name).await >= 1,
        "the run keeps its connection"
    );
    drop(gate);
    let report = eventually("the gated run to end", WAIT, || async {
        let (_, run) = call(
            &service,
            "GET",
            &format!("/runs/{run}"),
            Some(OWNER_TOKEN),
            None,
        )
        .await;
        (run["state"] != "running").then_some(run)
    })
    .await;
    assert_eq!(report["state"], "succeeded", "{report}");
    // Then the removed database's pools close: the service holds no connection to it.
    eventually(
        "the removed database's connections to close",
        WAIT,
        || async { (connections_to(&old_name).await == 0).then_some(()) },
    )
    .await;

    // From now on `old`'s alerts go to the owners; main's reach the new admin too.
    for (fingerprint, cluster) in [("after-old", "old"), ("after-main", "main")] {
        let body = notification(
            "firing",
            vec![alert(
                fingerprint,
                "firing",
                "2026-11-30T11:00:00Z",
                json!({"alertname": fingerprint, "cluster": cluster}),
            )],
        );
        assert_eq!(service.app.post_webhook(&body).await.0, 200);
    }
    assert_eq!(incident_database(&service, "after-old").await, "owners");
    assert_eq!(incident_database(&service, "after-main").await, "main");
    service
        .telegram
        .newest_containing(OWNER, "after-old", WAIT)
        .await;
    service
        .telegram
        .newest_containing(NEW_ADMIN, "after-main", WAIT)
        .await;

    // The owners heard what changed, once; the audit log has the row; the metrics say it worked.
    let told = service
        .telegram
        .newest_containing(OWNER, "Configuration reloaded", WAIT)
        .await;
    for needle in [
        "+ <code>billing</code>",
        "− <code>old</code>",
        "token:owner",
        "<code>retired</code>",
    ] {
        assert!(
            told.text.contains(needle),
            "{needle:?} missing from {}",
            told.text
        );
    }
    let reloads = service
        .telegram
        .messages(OWNER)
        .iter()
        .filter(|m| m.text.contains("Configuration reloaded"))
        .count();
    assert_eq!(reloads, 1);
    let audited = service
        .state_sql("SELECT actor FROM audit_log WHERE action = 'config.reload'")
        .await;
    assert_eq!(audited, ["token:owner"]);
    let exported = metrics(&service).await;
    assert!(
        exported.contains("postgram_config_last_reload_successful 1"),
        "{exported}"
    );
    assert!(exported.contains("postgram_config_last_reload_success_timestamp_seconds"));
    service.stop().await;
    old.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reload_keeps_the_running_config_serving() {
    let Some(service) = start(true).await else {
        return;
    };
    let main_url = service.target().url.clone();
    let good = config(
        &service.ctx(),
        &database("main", &main_url, &ADMIN.to_string()),
        true,
    );

    // Who may ask: owners' tokens only; GET is 405 as in Prometheus.
    let (status, _) = call(&service, "POST", "/-/reload", None, None).await;
    assert_eq!(status, 401);
    let (status, refused) = call(&service, "POST", "/-/reload", Some(VIEWER_TOKEN), None).await;
    assert_eq!(status, 403, "{refused}");
    let (status, _) = call(&service, "GET", "/-/reload", Some(OWNER_TOKEN), None).await;
    assert_eq!(status, 405);

    // A broken DSN in the config and a broken view: every problem, located; nothing applied.
    let broken = good.replace(&format!("dsn: \"{main_url}\""), "dsn: \"mysql://nope\"").replace("role: viewer", "role: viewer }\n  - { name: second-owner, token: \"second-owner-token-0123456\", role: owner");
    let bad_views = "views:\n  - alias: whereami\n    title: Where am I\n    sql: SELECT 1\n  - alias: whereami\n    title: Twice\n    sql: SELECT 2\n";
    let (status, refused) = service
        .reload(OWNER_TOKEN, &broken, &[("views.yaml", bad_views)])
        .await;
    assert_eq!(status, 400, "{refused}");
    let problems: Vec<&str> = refused["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let dsn_line = broken.lines().position(|l| l.contains("mysql://")).unwrap() + 1;
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&format!("postgram.yaml:{dsn_line}:"))),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("views.yaml:5:")),
        "{problems:?}"
    );
    assert!(
        !refused.to_string().contains("mysql://nope"),
        "the DSN is a secret: {refused}"
    );
    assert!(
        metrics(&service)
            .await
            .contains("postgram_config_last_reload_successful 0")
    );
    // The second owner token was not applied; the running config serves on.
    let (status, _) = call(
        &service,
        "GET",
        "/databases",
        Some("second-owner-token-0123456"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, rows) = call(
        &service,
        "GET",
        "/views/doomed?database=main",
        Some(OWNER_TOKEN),
        None,
    )
    .await;
    assert_eq!((status, &rows["rows"]), (200, &json!([["1"]])));
    let body = notification(
        "firing",
        vec![alert(
            "still-served",
            "firing",
            "2026-11-30T10:00:00Z",
            json!({"alertname": "Still", "cluster": "main"}),
        )],
    );
    assert_eq!(service.app.post_webhook(&body).await.0, 200);

    // Keys only a restart can take are refused by name, and the rest is not applied either.
    let moved = good.replace("127.0.0.1:0", "127.0.0.1:1").replace(
        &format!("\n  - {{ name: retired, token: \"{RETIRED_TOKEN}\", role: owner }}"),
        "",
    );
    let (status, refused) = service
        .reload(OWNER_TOKEN, &moved, &[("views.yaml", VIEWS)])
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("http.listen cannot change without a restart"),
        "{refused}"
    );
    let (status, _) = call(&service, "GET", "/databases", Some(RETIRED_TOKEN), None).await;
    assert_eq!(status, 200, "the refused reload revoked nothing");

    // The same config, fixed, is applied; nothing changed, so the owners are not told.
    let (status, reloaded) = service.reload(OWNER_TOKEN, &good, &[]).await;
    assert_eq!(status, 200, "{reloaded}");
    assert!(
        metrics(&service)
            .await
            .contains("postgram_config_last_reload_successful 1")
    );
    let audited = service
        .state_sql("SELECT CAST(COUNT(*) AS TEXT) FROM audit_log WHERE action = 'config.reload'")
        .await;
    assert_eq!(
        audited,
        ["1"],
        "refused reloads write no audit row; the applied one does"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_dsn_gets_a_new_pool_and_the_old_one_closes() {
    let Some(elsewhere) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let Some(service) = start(false).await else {
        return;
    };
    let first = database_name(&service.target().url);
    let second = database_name(&elsewhere.url);
    let whereami = || {
        call(
            &service,
            "GET",
            "/views/whereami?database=main",
            Some(OWNER_TOKEN),
            None,
        )
    };
    assert_eq!(whereami().await.1["rows"], json!([[first]]));
    assert!(connections_to(&first).await >= 1);

    let text = config(
        &service.ctx(),
        &database("main", &elsewhere.url, &ADMIN.to_string()),
        false,
    );
    let (status, reloaded) = service.reload(OWNER_TOKEN, &text, &[]).await;
    assert_eq!(status, 200, "{reloaded}");
    assert_eq!(reloaded["changes"]["databases"]["changed"], json!(["main"]));
    assert!(
        !reloaded.to_string().contains(&elsewhere.url),
        "DSNs are secrets: {reloaded}"
    );
    assert_eq!(whereami().await.1["rows"], json!([[second]]));
    eventually("the old pool to close", WAIT, || async {
        (connections_to(&first).await == 0).then_some(())
    })
    .await;
    service.stop().await;
    elsewhere.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_about_a_removed_action_ends_with_a_message() {
    let Some(service) = start(false).await else {
        return;
    };
    let main_url = service.target().url.clone();
    let say = |text: &str| {
        service
            .telegram
            .push_update(text_update(ADMIN, None, ADMIN, text))
    };
    say("/actions");
    let list = service
        .telegram
        .newest_containing(ADMIN, "main</b>: actions", WAIT)
        .await;
    let data = buttons(&list)
        .into_iter()
        .find(|(l, _)| l.contains("Remember a note"))
        .unwrap()
        .1;
    service.buttons_recorded(&list).await;
    service
        .telegram
        .press(ADMIN, None, &list, &data, WAIT)
        .await;
    service
        .telegram
        .newest_containing(ADMIN, "<b>note</b> (string)", WAIT)
        .await;

    let text = config(
        &service.ctx(),
        &database("main", &main_url, &ADMIN.to_string()),
        false,
    );
    let (status, reloaded) = service
        .reload(OWNER_TOKEN, &text, &[("actions.yaml", ACTIONS_AFTER)])
        .await;
    assert_eq!(status, 200, "{reloaded}");
    let ended = service
        .telegram
        .newest_containing(ADMIN, "has ended", WAIT)
        .await;
    assert!(
        ended.text.contains("<code>remember</code>"),
        "{}",
        ended.text
    );
    assert!(
        ended.text.contains("the action was removed"),
        "{}",
        ended.text
    );
    let open = service
        .state_sql("SELECT CAST(COUNT(*) AS TEXT) FROM dialogues")
        .await;
    assert_eq!(open, ["0"]);

    // What the person types next starts nothing: no run is audited.
    let before = service.telegram.messages(ADMIN).len();
    say("groceries");
    say("/actions");
    service
        .message_after(ADMIN, before, "main</b>: actions")
        .await;
    let runs = service
        .state_sql("SELECT CAST(COUNT(*) AS TEXT) FROM audit_log WHERE action LIKE 'action%'")
        .await;
    assert_eq!(runs, ["0"]);
    service.stop().await;
}

/// `language` is taken by a reload like any key a restart need not take: the next alert reads in the
/// new language (the admin never wrote to the bot, so they read their database's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_changes_the_language_alerts_read_in() {
    let Some(service) = start(false).await else {
        return;
    };
    let fire = |fingerprint: &str, alertname: &str| {
        notification(
            "firing",
            vec![alert(
                fingerprint,
                "firing",
                "2026-11-22T11:00:00Z",
                json!({ "alertname": alertname, "cluster": "main" }),
            )],
        )
    };
    service
        .app
        .post_webhook(&fire("1a0000000000000a", "BeforeReload"))
        .await;
    let before = service
        .telegram
        .newest_containing(ADMIN, "BeforeReload", WAIT)
        .await;
    assert!(before.text.contains("<b>FIRING</b>"), "{}", before.text);

    let main = database("main", &service.target().url, &ADMIN.to_string());
    let text = format!("{}language: ru\n", config(&service.ctx(), &main, false));
    let (status, reloaded) = service.reload(OWNER_TOKEN, &text, &[]).await;
    assert_eq!(status, 200, "{reloaded}");
    service
        .app
        .post_webhook(&fire("1a0000000000000b", "AfterReload"))
        .await;
    let after = service
        .telegram
        .newest_containing(ADMIN, "AfterReload", WAIT)
        .await;
    assert!(after.text.contains("<b>СРАБОТАЛ</b>"), "{}", after.text);
    assert!(after.text.contains("Начало: "), "{}", after.text);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_whose_telegram_speaks_russian_hears_of_a_reload_in_russian() {
    let Some(service) = start(false).await else {
        return;
    };
    service.telegram.set_language(OWNER, "ru");
    // The owner has written to the bot: the service knows the language they read.
    let before = service.telegram.messages(OWNER).len();
    service
        .telegram
        .push_update(text_update(OWNER, None, OWNER, "/whoami"));
    service.message_after(OWNER, before, "main").await;

    let main_url = service.target().url.clone();
    let text = config(
        &service.ctx(),
        &database("main", &main_url, &ADMIN.to_string()),
        false,
    );
    let (status, reloaded) = service
        .reload(OWNER_TOKEN, &text, &[("views.yaml", VIEWS_AFTER)])
        .await;
    assert_eq!(status, 200, "{reloaded}");
    let told = service
        .telegram
        .newest_containing(OWNER, "Конфигурация перезагружена", WAIT)
        .await;
    assert!(
        told.text
            .contains("<b>Представления:</b> + <code>fresh</code> · − <code>doomed</code>"),
        "{}",
        told.text
    );
    service.stop().await;
}
