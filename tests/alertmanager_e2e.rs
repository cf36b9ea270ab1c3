//! End to end with the real Alertmanager binary: an alert posted to Alertmanager reaches the service as
//! a webhook, appears in `GET /incidents`, and turns resolved when Alertmanager resolves it.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::alertmanager::{alertmanager_binary, start_alertmanager};
use support::{Backend, TestApp, TestState, config, eventually};

async fn incident(app: &TestApp, status: &str) -> Option<Value> {
    let (_, page) = app.get(&format!("/incidents?status={status}")).await;
    page["incidents"].as_array()?.first().cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_travels_from_alertmanager_to_the_incident_history() {
    let Some(binary) = alertmanager_binary() else {
        return;
    };
    let Some(state) = TestState::new(Backend::Sqlite).await else {
        return;
    };
    let app = TestApp::start(config(&state)).await;
    let am = start_alertmanager(
        &binary,
        state.dir.path(),
        &format!("{}/alerts/alertmanager", app.base),
    )
    .await;

    let labels = json!({ "alertname": "PostgresDown", "cluster": "main", "severity": "critical" });
    let started = chrono::Utc::now() - chrono::Duration::seconds(5);
    let post = |alert: Value| {
        let request = app
            .client
            .post(format!("{}/api/v2/alerts", am.base))
            .json(&json!([alert]))
            .send();
        async move {
            let response = request.await.expect("post to alertmanager");
            assert!(response.status().is_success(), "{}", response.status());
        }
    };
    post(json!({
        "labels": labels,
        "annotations": { "summary": "pg-main-1 is down <for real>" },
        "startsAt": started.to_rfc3339(),
        "generatorURL": "http://prometheus.local/graph",
    }))
    .await;

    let firing = eventually("the firing incident", Duration::from_secs(30), || {
        incident(&app, "firing")
    })
    .await;
    assert_eq!(firing["database"], "main");
    assert_eq!(firing["alertname"], "PostgresDown");
    assert_eq!(
        firing["annotations"]["summary"],
        "pg-main-1 is down <for real>"
    );
    let id = firing["id"].clone();

    // Alertmanager resolves an alert whose endsAt has passed, and sends the resolution.
    post(json!({
        "labels": labels,
        "annotations": { "summary": "pg-main-1 is down <for real>" },
        "startsAt": started.to_rfc3339(),
        "endsAt": chrono::Utc::now().to_rfc3339(),
    }))
    .await;
    let resolved = eventually("the resolution", Duration::from_secs(30), || {
        incident(&app, "resolved")
    })
    .await;
    assert_eq!(resolved["id"], id, "the same incident is resolved");
    assert!(resolved["ends_at"].is_string());

    let (_, detail) = app.get(&format!("/incidents/{id}")).await;
    let edits = detail["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "telegram.edit")
        .count();
    assert_eq!(
        edits, 3,
        "every message of the incident gets its resolution edit"
    );
    app.stop().await;
    state.cleanup().await;
}
