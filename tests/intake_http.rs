//! The webhook and the REST read side through real HTTP, on both state backends.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[macro_use]
mod support;

use serde_json::{Value, json};
use support::{
    API_TOKEN, Backend, TestApp, TestState, WEBHOOK_TOKEN, alert, config, fixture, notification,
};

on_both_backends!(
    the_webhook_requires_its_bearer_token,
    malformed_payloads_are_refused_naming_the_field,
    oversized_bodies_are_refused_with_413,
    concurrent_duplicates_are_stored_once,
    an_incident_fires_and_resolves,
    unrouted_alerts_go_to_the_owners,
    incidents_filter_and_paginate,
    the_rest_side_requires_api_tokens_and_hides_dsns,
    every_error_answers_in_the_json_shape,
);

async fn start(backend: Backend) -> Option<(TestState, TestApp)> {
    let state = TestState::new(backend).await?;
    let app = TestApp::start(config(&state)).await;
    Some((state, app))
}

async fn finish(state: TestState, app: TestApp) {
    app.stop().await;
    state.cleanup().await;
}

fn main_alert(fingerprint: &str, status: &str) -> Value {
    alert(
        fingerprint,
        status,
        "2026-11-22T11:33:15Z",
        json!({ "alertname": "PostgresTooManyConnections", "cluster": "main", "severity": "critical" }),
    )
}

async fn incident_count(app: &TestApp) -> usize {
    let (status, page) = app.get("/incidents?limit=500").await;
    assert_eq!(status, 200, "{page}");
    page["incidents"].as_array().map_or(0, Vec::len)
}

async fn the_webhook_requires_its_bearer_token(backend: Backend) {
    let Some((state, app)) = start(backend).await else {
        return;
    };
    let body = fixture("1.json").to_string().into_bytes();
    for token in [None, Some("wrong"), Some(API_TOKEN), Some("")] {
        let (status, answer) = app.post_raw(body.clone(), token).await;
        assert_eq!(status, 401, "token {token:?}: {answer}");
        assert_eq!(answer["error"], "missing or unknown bearer token");
    }
    let response = app
        .client
        .post(format!("{}/alerts/alertmanager", app.base))
        .header("authorization", format!("Basic {WEBHOOK_TOKEN}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        incident_count(&app).await,
        0,
        "refused requests store nothing"
    );

    let (status, _) = app.post_raw(body, Some(WEBHOOK_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(incident_count(&app).await, 1);
    finish(state, app).await;
}

async fn malformed_payloads_are_refused_naming_the_field(backend: Backend) {
    let Some((state, app)) = start(backend).await else {
        return;
    };
    let mut wrong_version = fixture("1.json");
    wrong_version["version"] = json!("3");
    let mut no_fingerprint = fixture("1.json");
    no_fingerprint["alerts"][0]
        .as_object_mut()
        .unwrap()
        .remove("fingerprint");
    let mut bad_time = fixture("1.json");
    bad_time["alerts"][0]["startsAt"] = json!("last tuesday");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{\"version\": \"4\", ".to_vec(), "body"),
        (b"".to_vec(), "body"),
        (wrong_version.to_string().into_bytes(), "version"),
        (no_fingerprint.to_string().into_bytes(), "alerts[0]"),
        (bad_time.to_string().into_bytes(), "alerts[0].startsAt"),
        // A valid notification followed by anything else is not one notification.
        (
            format!("{} garbage", fixture("1.json")).into_bytes(),
            "body",
        ),
        (format!("{0}{0}", fixture("1.json")).into_bytes(), "body"),
    ];
    for (body, field) in cases {
        let (status, answer) = app.post_raw(body, Some(WEBHOOK_TOKEN)).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["field"], field, "{answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(incident_count(&app).await, 0);
    finish(state, app).await;
}

async fn oversized_bodies_are_refused_with_413(backend: Backend) {
    let Some((state, app)) = start(backend).await else {
        return;
    };
    let mut big = fixture("1.json");
    big["alerts"][0]["annotations"]["description"] = json!("x".repeat(1024 * 1024));
    let (status, answer) = app.post_webhook(&big).await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("1048576"));

    // Just under the limit is fine, and the huge value is kept whole.
    big["alerts"][0]["annotations"]["description"] = json!("y".repeat(1000 * 1000));
    let (status, answer) = app.post_webhook(&big).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["alerts"][0]["incident"].as_i64().unwrap();
    let (_, incident) = app.get(&format!("/incidents/{id}")).await;
    assert_eq!(
        incident["annotations"]["description"]
            .as_str()
            .unwrap()
            .len(),
        1000 * 1000
    );
    finish(state, app).await;
}

async fn concurrent_duplicates_are_stored_once(backend: Backend) {
    let Some((state, app)) = start(backend).await else {
        return;
    };
    // HA Alertmanager peers and retries: the same notification many times at once.
    let body = notification(
        "firing",
        vec![
            main_alert("aaaa000000000001", "firing"),
            main_alert("aaaa000000000002", "firing"),
        ],
    );
    let posts = (0..40).map(|_| app.post_webhook(&body));
    let answers = futures_util::future::join_all(posts).await;
    let mut opened = 0;
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        for alert in answer["alerts"].as_array().unwrap() {
            match alert["outcome"].as_str().unwrap() {
                "opened" => opened += 1,
                "duplicate" => {}
                other => panic!("unexpected outcome {other}"),
            }
        }
    }
    assert_eq!(opened, 2, "each alert opens exactly one incident");
    assert_eq!(incident_count(&app).await, 2);
    let stored = answers.iter().filter(|(_, a)| !a["notification"].is_null());
    assert_eq!(stored.count(), 1, "duplicates leave no notification behind");

    let (_, page) = app.get("/incidents").await;
    for incident in page["incidents"].as_array().unwrap() {
        let (_, detail) = app.get(&format!("/incidents/{}", incident["id"])).await;
        // Admins 2000 and @alice, the group chat, and one fallback email: queued once (the sends
        // in their recipients' feeds or already in the outbox, in whichever order the worker got
        // to them). The delivery worker may have queued more since, e.g. email for @alice, who
        // never wrote to the bot.
        let mut kinds: Vec<&str> = detail["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .filter(|k| ["telegram.send", "email.escalation"].contains(k))
            .collect();
        kinds.sort_unstable();
        assert_eq!(
            kinds,
            [
                "email.escalation",
                "telegram.send",
                "telegram.send",
                "telegram.send",
            ]
        );
        assert_eq!(detail["notifications"].as_array().unwrap().len(), 1);
    }
    finish(state, app).await;
}

async fn an_incident_fires_and_resolves(backend: Backend) {
    let Some((state, app)) = start(backend).await else {
        return;
    };
    let (status, answer) = app.post_webhook(&fixture("1.json")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["alerts"][0]["outcome"], "opened");
    let id = answer["alerts"][0]["incident"].as_i64().unwrap();

    let (_, page) = app.get("/incidents?status=firing").await;
    let incident = &page["incidents"][0];
    assert_eq!(incident["id"], id);
    assert_eq!(incident["database"], "main");
    assert_eq!(incident["alertname"], "PostgresReplicationLag");
    assert_eq!(incident["severity"], "critical");
    assert_eq!(incident["annotations"]["summary"], "Replication lag > 30s");
    assert_eq!(incident["starts_at"], "2026-11-22T11:33:15Z");
    assert!(incident["ends_at"].is_null());

    let (status, answer) = app.post_webhook(&fixture("2.json")).await;
    assert_eq!(status, 200);
    assert_eq!(answer["alerts"][0]["outcome"], "resolved");
    assert_eq!(answer["alerts"][0]["incident"], id);

    let (_, detail) = app.get(&format!("/incidents/{id}")).await;
    assert_eq!(detail["status"], "resolved");
    assert_eq!(detail["ends_at"], "2026-11-22T11:33:28Z");
    assert!(detail["resolved_at"].is_string());
    let statuses: Vec<&str> = detail["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["firing", "resolved"]);
    let deliveries = detail["deliveries"].as_array().unwrap();
    let edits: Vec<&str> = deliveries
        .iter()
        .filter(|d| d["kind"] == "telegram.edit")
        .map(|d| d["recipient"].as_str().unwrap())
        .collect();
    let mut edits = edits;
    edits.sort_unstable();
    assert_eq!(edits, ["chat:-1001", "user:2000", "username:alice"]);
    let escalation = deliveries
        .iter()
        .find(|d| d["kind"] == "email.escalation")
        .unwrap();
    assert_eq!(escalation["result"], "cancelled: resolved");
    assert!(
        !deliveries.iter().any(|d| d["kind"] == "email.resolved"),
        "no email went out, so none is resolved"
    );

    // The resolution again (HA peer): nothing more is queued.
    let (status, answer) = app.post_webhook(&fixture("2.json")).await;
    assert_eq!(status, 200);
    assert_eq!(answer["alerts"][0]["outcome"], "duplicate");
    let (_, again) = app.get(&format!("/incidents/{id}")).await;
    let count = |detail: &Value, kind: &str| {
        detail["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"] == kind)
            .count()
    };
    assert_eq!(count(&again, "telegram.edit"), 3);
    assert_eq!(count(&again, "telegram.send"), 3);
    assert_eq!(incident_count(&app).await, 1);

    // A resolution for an alert never seen firing is kept in the history, with nothing to send.
    let (_, answer) = app.post_webhook(&fixture("4.json")).await;
    assert_eq!(answer["alerts"][0]["outcome"], "recorded");
    let (_, page) = app.get("/incidents?status=resolved").await;
    assert_eq!(page["incidents"].as_array().unwrap().len(), 2);
    finish(state, app).await;
}

async fn unrouted_alerts_go_to_the_owners(backend: Backend) {
    let Some((state, app)) = start(backend).await else {
        return;
    };
    let (status, answer) = app.post_webhook(&fixture("3.json")).await;
    assert_eq!(status, 200);
    let id = answer["alerts"][0]["incident"].as_i64().unwrap();
    let (_, detail) = app.get(&format!("/incidents/{id}")).await;
    assert!(detail["database"].is_null());
    let recipients: Vec<&str> = detail["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(recipients, ["user:1000"]);

    let (_, metrics) = app.get_text("/metrics").await;
    assert!(
        metrics.contains("postgram_alerts_routed_total{database=\"_unrouted\"} 1"),
        "{metrics}"
    );
    finish(state, app).await;
}

async fn incidents_filter_and_paginate(backend: Backend) {
    let Some((state, app)) = start(backend).await else {
        return;
    };
    // Ten alerts in one notification: five for main, five for billing, an hour apart.
    let alerts = (0..10)
        .map(|i| {
            let cluster = if i % 2 == 0 { "main" } else { "billing" };
            alert(
                &format!("bbbb{i:012}"),
                "firing",
                &format!("2026-11-22T{:02}:00:00Z", i + 1),
                json!({ "alertname": format!("Alert{i}"), "cluster": cluster }),
            )
        })
        .collect();
    let (status, answer) = app.post_webhook(&notification("firing", alerts)).await;
    assert_eq!(status, 200, "{answer}");
    let resolve = notification(
        "resolved",
        vec![alert(
            "bbbb000000000001",
            "resolved",
            "2026-11-22T02:00:00Z",
            json!({ "alertname": "Alert1", "cluster": "billing" }),
        )],
    );
    app.post_webhook(&resolve).await;

    let names = |page: &Value| -> Vec<String> {
        page["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["alertname"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, billing) = app.get("/incidents?database=billing").await;
    assert_eq!(
        names(&billing),
        ["Alert9", "Alert7", "Alert5", "Alert3", "Alert1"]
    );
    let (_, firing_billing) = app.get("/incidents?database=billing&status=firing").await;
    assert_eq!(
        names(&firing_billing),
        ["Alert9", "Alert7", "Alert5", "Alert3"]
    );
    let (_, recent) = app.get("/incidents?since=2026-11-22T08:00:00Z").await;
    assert_eq!(names(&recent), ["Alert9", "Alert8", "Alert7"]);

    // Walk every page of three.
    let mut seen = Vec::new();
    let mut path = "/incidents?limit=3".to_owned();
    loop {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/incidents?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..10).rev().map(|i| format!("Alert{i}")).collect();
    assert_eq!(seen, expected);

    for (query, field) in [
        ("status=burning", "status"),
        ("since=soon", "since"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("cursor=abc", "cursor"),
        ("database=Bad%20Name", "database"),
        ("colour=red", "colour"),
    ] {
        let (status, answer) = app.get(&format!("/incidents?{query}")).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(answer["field"], field, "{query}");
    }
    let (status, answer) = app.get("/incidents?database=nosuch").await;
    assert_eq!(status, 404);
    assert!(answer["error"].as_str().unwrap().contains("nosuch"));
    let (status, _) = app.get("/incidents/999999").await;
    assert_eq!(status, 404);
    let (status, answer) = app.get("/incidents/abc").await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("id")));
    finish(state, app).await;
}

async fn the_rest_side_requires_api_tokens_and_hides_dsns(backend: Backend) {
    let Some((state, app)) = start(backend).await else {
        return;
    };
    for path in ["/incidents", "/incidents/1", "/databases"] {
        for token in [None, Some(WEBHOOK_TOKEN), Some("nope")] {
            let mut request = app.client.get(format!("{}{path}", app.base));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{path} with {token:?}");
        }
    }
    let (status, databases) = app.get("/databases").await;
    assert_eq!(status, 200);
    assert_eq!(databases["databases"][0]["name"], "main");
    assert_eq!(
        databases["databases"][0]["match"],
        json!({ "cluster": "main" })
    );
    assert_eq!(
        databases["databases"][0]["admins"],
        json!(["2000", "@alice"])
    );
    assert_eq!(databases["owners"], json!(["1000"]));
    let text = databases.to_string();
    assert!(
        !text.contains("postgres://") && !text.contains("dsn"),
        "{text}"
    );

    assert_eq!(app.get_text("/-/healthy").await.0, 200);
    assert_eq!(app.get_text("/-/ready").await.0, 200);
    app.post_webhook(&fixture("1.json")).await;
    app.post_webhook(&fixture("1.json")).await;
    let (status, metrics) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    for expected in [
        "postgram_state_store_up 1",
        "postgram_alerts_received_total{database=\"main\"} 2",
        "postgram_alerts_duplicate_total{database=\"main\"} 1",
        "postgram_alerts_routed_total{database=\"main\"} 1",
        "postgram_outbox_due_jobs{kind=\"telegram.send\"}",
        "postgram_outbox_scheduled_jobs{kind=\"email.escalation\"} 1",
        "postgram_http_requests_total{method=\"POST\",route=\"/alerts/alertmanager\",status=\"200\"} 2",
        "postgram_http_request_duration_seconds_bucket{method=\"GET\",route=\"/databases\"",
        "postgram_outbox_oldest_due_age_seconds{kind=\"telegram.send\"}",
    ] {
        assert!(metrics.contains(expected), "missing {expected}:\n{metrics}");
    }
    let (status, _) = app.get_text("/no/such/route").await;
    assert_eq!(status, 404);
    finish(state, app).await;
}

async fn every_error_answers_in_the_json_shape(backend: Backend) {
    let Some((state, app)) = start(backend).await else {
        return;
    };
    let send = |method: reqwest::Method, path: String, header: Option<String>| {
        let mut request = app
            .client
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(API_TOKEN);
        if let Some(value) = header {
            request = request.header("x-padding", value);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let allow = response
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, allow, body)
        }
    };
    let long = "x".repeat(9 * 1024);
    let cases = [
        (
            reqwest::Method::DELETE,
            "/incidents".to_owned(),
            None,
            405,
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/incidents?cursor={long}"),
            None,
            414,
            None,
        ),
        (
            reqwest::Method::GET,
            "/incidents".to_owned(),
            Some("y".repeat(17 * 1024)),
            431,
            None,
        ),
        (
            reqwest::Method::GET,
            "/incidents/%ff".to_owned(),
            None,
            400,
            Some("id"),
        ),
        (
            reqwest::Method::GET,
            "/views/connections?database=%ff".to_owned(),
            None,
            400,
            Some("database"),
        ),
    ];
    for (method, path, header, expected, field) in cases {
        let shown = format!("{method} {}", &path[..path.len().min(40)]);
        let (status, allow, body) = send(method, path, header).await;
        assert_eq!(status, expected, "{shown}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{shown}: the answer is not the JSON error shape: {body}"
        );
        assert_eq!(body["field"].as_str(), field, "{shown}: {body}");
        if status == 405 {
            assert!(allow.is_some(), "{shown}: a 405 keeps its Allow header");
        }
    }
    finish(state, app).await;
}

/// A state store that stops answering shows at the next scrape (`postgram_state_store_up 0`) and in
/// `/-/ready`, and both recover with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_store_that_stops_answering_shows_in_metrics_and_readiness() {
    use sqlx::Connection;
    let Some(state) = TestState::new(Backend::Postgres).await else {
        return;
    };
    let app = TestApp::start(config(&state)).await;
    let database = state
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let mut admin = sqlx::PgConnection::connect(&support::postgres_admin_url())
        .await
        .unwrap();
    let set = |allow: bool| format!("ALTER DATABASE \"{database}\" WITH ALLOW_CONNECTIONS {allow}");
    sqlx::query(&set(false)).execute(&mut admin).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&database)
        .execute(&mut admin)
        .await
        .unwrap();
    let (status, metrics) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("postgram_state_store_up 0"), "{metrics}");
    assert_eq!(app.get_text("/-/ready").await.0, 503);

    sqlx::query(&set(true)).execute(&mut admin).await.unwrap();
    support::eventually(
        "the store to answer again",
        std::time::Duration::from_secs(30),
        || async {
            let (_, metrics) = app.get_text("/metrics").await;
            metrics.contains("postgram_state_store_up 1").then_some(())
        },
    )
    .await;
    assert_eq!(app.get_text("/-/ready").await.0, 200);
    app.stop().await;
    state.cleanup().await;
}
