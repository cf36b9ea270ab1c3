//! The whole monitoring loop on real components: postgres_exporter scrapes PostgreSQL, Prometheus
//! evaluates the shipped rules (a test copy with 1 s `for:` and the idle threshold at 1 s), a session
//! left idle in transaction fires PostgresIdleInTransaction, Alertmanager posts it to the service, and
//! the admin — in the fake Bot API — sees the alert with its view, action and 📈 Graph buttons, finds the
//! session with the view, terminates it with the action, and sees the message turn resolved when
//! Prometheus resolves the alert; the graph of the resolved alert is a real PNG.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use sqlx::Connection;
use support::alertmanager::{alertmanager_binary, start_alertmanager};
use support::fake_telegram::buttons;
use support::monitoring::{
    TestRules, prometheus_available, repo_file, start_exporter, start_prometheus_on,
};
use support::service::Service;
use support::{BOT_TOKEN, free_port};

const ADMIN: i64 = 5100;
/// Prometheus evaluates every second, Alertmanager groups for a second: the alert comes within seconds.
const WAIT: Duration = Duration::from_secs(90);
/// How the idle session names itself, to be found in the view's table.
const MARKER: &str = "postgram-loop-idle";

/// The shipped catalogue, with the idle thresholds of the linked view and action at one second (the
/// test cannot leave a session idle for the shipped minutes).
fn catalogue() -> (String, String) {
    let views = std::fs::read_to_string(repo_file("views.yaml")).unwrap();
    let actions = std::fs::read_to_string(repo_file("actions.yaml")).unwrap();
    let view_default = "default: 1m\n        description: Only sessions idle at least this long.";
    let action_default = "default: 10m\n        description: Only sessions idle in transaction";
    assert_eq!(views.matches(view_default).count(), 1);
    assert_eq!(actions.matches(action_default).count(), 1);
    (
        views.replace(view_default, &view_default.replace("1m", "1s")),
        actions.replace(action_default, &action_default.replace("10m", "1s")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_fires_is_found_terminated_and_resolves_in_chat() {
    if !prometheus_available() {
        return;
    }
    let Some(alertmanager) = alertmanager_binary() else {
        return;
    };
    // The service's port is chosen first: Alertmanager posts to it, Prometheus to Alertmanager, and the
    // service reads Prometheus.
    let port = free_port();
    let am_dir = tempfile::tempdir().unwrap();
    let am = start_alertmanager(
        &alertmanager,
        am_dir.path(),
        &format!("http://127.0.0.1:{port}/alerts/alertmanager"),
    )
    .await;
    let (views, actions) = catalogue();
    let files = [
        ("views.yaml", views.as_str()),
        ("actions.yaml", actions.as_str()),
        (
            "charts.yaml",
            &std::fs::read_to_string(repo_file("charts.yaml")).unwrap(),
        ),
    ];
    let prometheus_port = free_port();
    let url = format!("http://127.0.0.1:{prometheus_port}");
    // The target database exists once the service is set up; the exporter and Prometheus follow it.
    let world = Service::start_administering(&files, |ctx, target| {
        format!(
            r#"telegram: {{ token: "{BOT_TOKEN}", api_url: "{api}" }}
http: {{ listen: "127.0.0.1:{port}", webhook_token: "{webhook}" }}
state: "{state}"
owners: [1]
alertmanager: {{ url: "{am}" }}
prometheus: {{ url: "{url}", timeout: 10s }}
catalog: {{ views: views.yaml, actions: actions.yaml, charts: charts.yaml }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }}, admins: [{ADMIN}] }}
"#,
            api = ctx.api_url,
            webhook = ctx.webhook_token,
            state = ctx.state_url,
            am = am.base,
        )
    })
    .await;
    let Some(world) = world else { return };
    let target = world.target().url.clone();
    let exporter = start_exporter(&target).await;
    let rules = TestRules::shipped().with_expr_change("PostgresIdleInTransaction", "> 600", "> 1");
    let labels: &[(&str, &str)] = &[("cluster", "main")];
    let scrape = [(exporter.target.as_str(), labels)];
    let prometheus = start_prometheus_on(prometheus_port, &scrape, &rules, Some(&am.base)).await;

    // A real condition: a session that began a transaction and went idle.
    let separator = if target.contains('?') { '&' } else { '?' };
    let mut idle =
        sqlx::PgConnection::connect(&format!("{target}{separator}application_name={MARKER}"))
            .await
            .unwrap();
    sqlx::query("BEGIN").execute(&mut idle).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut idle).await.unwrap();

    let alert = world
        .telegram
        .newest_containing(ADMIN, "idle-in-transaction session", WAIT)
        .await;
    let labels: Vec<String> = buttons(&alert).into_iter().map(|b| b.0).collect();
    for expected in [
        "Acknowledge",
        "🔎 Idle in transaction",
        "⚙️ Terminate idle-in-transaction sessions",
        "📈 Graph",
    ] {
        assert!(
            labels.iter().any(|l| l.contains(expected)),
            "{expected} in {labels:?}"
        );
    }

    world
        .press_labelled(ADMIN, &alert, "🔎 Idle in transaction")
        .await;
    let table = world
        .telegram
        .newest_containing(ADMIN, "Idle in transaction · main", WAIT)
        .await;
    assert!(
        table.text.contains(MARKER),
        "the view shows the session: {}",
        table.text
    );

    world.press_labelled(ADMIN, &alert, "⚙️ Terminate").await;
    let confirm = world
        .telegram
        .newest_containing(ADMIN, "Run <b>Terminate", WAIT)
        .await;
    world.press_labelled(ADMIN, &confirm, "Run").await;
    let done = world
        .telegram
        .newest_containing(
            ADMIN,
            "✅ <b>Terminate idle-in-transaction sessions</b>",
            WAIT,
        )
        .await;
    assert!(done.text.contains("main"), "{}", done.text);
    let gone = sqlx::query("SELECT 1").execute(&mut idle).await;
    assert!(gone.is_err(), "the action terminated the idle session");

    prometheus
        .wait_for_resolved("PostgresIdleInTransaction", &[])
        .await;
    let (chat, id) = (alert.chat_id, alert.message_id);
    let resolved = world
        .telegram
        .wait_for("the alert message to turn resolved", WAIT, move |t| {
            t.messages(chat)
                .into_iter()
                .find(|m| m.message_id == id && m.text.contains("Resolved"))
        })
        .await;
    world.press_labelled(ADMIN, &resolved, "📈 Graph").await;
    let graph = world
        .telegram
        .newest_photo_containing(ADMIN, "PostgresIdleInTransaction", WAIT)
        .await;
    let png = graph.photo.as_deref().unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "a drawn chart, not an empty frame");
    drop(prometheus);
    world.stop().await;
}
