//! Trace export (`telemetry.otlp_endpoint`), through the `postgram` binary as operators run it, to a fake
//! OTLP/HTTP collector: one trace per notification from the webhook request to its Telegram
//! deliveries, one per action run, trace ids in JSON logs; and without the key, nothing exported.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::fake_telegram::FakeTelegram;
use support::otlp_collector::{ExportedSpan, OtlpCollector};
use support::{Backend, TestState, WEBHOOK_TOKEN, alert, config_text, free_port, notification};
use tokio::process::Child;

const BINARY: &str = env!("CARGO_BIN_EXE_postgram");
const OWNER_TOKEN: &str = "owner-token-for-trace-tests-0123";
/// The admin of `main` in `config_text`, and its group chat.
const ADMIN: i64 = 2000;
const GROUP: i64 = -1001;

/// The shared test config pointed at `telegram`, with an owner token, a shell-only action (`greet`,
/// two steps) and `extra` at the end.
fn write_config(
    state: &TestState,
    port: u16,
    telegram: &FakeTelegram,
    extra: &str,
) -> std::path::PathBuf {
    let dir = state.dir.path();
    std::fs::write(
        dir.join("actions.yaml"),
        "actions:\n  - { alias: greet, title: Greet, steps: [{ name: hello, shell: \"echo hello\" }, \
         { name: bye, shell: \"echo bye\" }] }\n",
    )
    .unwrap();
    // Without @alice, who never wrote to the bot (the owners' notice about her is not this test's).
    let text = config_text(&state.url, &format!("127.0.0.1:{port}"))
        .replace(
            "api_url: \"http://127.0.0.1:9\"",
            &format!("api_url: \"{}\"", telegram.api_url()),
        )
        .replace("admins: [2000, \"@alice\"]", "admins: [2000]")
        .replace(
            "api_tokens:\n",
            &format!(
                "catalog: {{ actions: actions.yaml }}\napi_tokens:\n  - {{ name: ops, token: \"{OWNER_TOKEN}\", role: owner }}\n"
            ),
        );
    let path = dir.join("postgram.yaml");
    std::fs::write(&path, format!("{text}{extra}")).unwrap();
    path
}

/// Starts the binary with JSON logs into a file beside the config.
async fn spawn(config: &Path, port: u16) -> Child {
    let log = std::fs::File::create(config.with_extension("log")).unwrap();
    support::spawn_postgram_as(
        BINARY,
        &["--log-format", "json"],
        config,
        port,
        "info",
        Stdio::from(log),
        &[],
    )
    .await
}

/// SIGTERM, and the exit status once the process has gone (after flushing its traces).
async fn stop(mut child: Child) {
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops within seconds")
        .unwrap();
    assert!(status.success(), "{status}");
}

fn log_lines(config: &Path) -> Vec<Value> {
    std::fs::read_to_string(config.with_extension("log"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

async fn post_alert(port: u16, fingerprint: &str, alertname: &str) {
    let body = notification(
        "firing",
        vec![alert(
            fingerprint,
            "firing",
            "2026-11-22T11:00:00Z",
            json!({ "alertname": alertname, "cluster": "main" }),
        )],
    );
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/alerts/alertmanager"))
        .bearer_auth(WEBHOOK_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// Waits until the alert's `sendMessage` to each of `chats` has been answered; returns the answers'
/// statuses in the order of `chats`.
async fn sends_answered(telegram: &FakeTelegram, alertname: &str, chats: &[i64]) -> Vec<u16> {
    let what = format!("the sends of {alertname} to {chats:?} to be answered");
    telegram
        .wait_for(&what, Duration::from_secs(60), |t| {
            let sends = t.calls_to("sendMessage");
            chats
                .iter()
                .map(|chat| {
                    sends
                        .iter()
                        .find(|c| {
                            c.params["chat_id"].as_i64() == Some(*chat)
                                && c.params["text"]
                                    .as_str()
                                    .is_some_and(|t| t.contains(alertname))
                                && c.status != 0
                        })
                        .map(|c| c.status)
                })
                .collect()
        })
        .await
}

fn named<'a>(spans: &'a [ExportedSpan], name: &str) -> Vec<&'a ExportedSpan> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_is_one_trace_through_its_deliveries_and_an_action_run_another() {
    let Some(state) = TestState::new(Backend::Sqlite).await else {
        return;
    };
    let telegram = FakeTelegram::start().await;
    let collector = OtlpCollector::start().await;
    let port = free_port();
    let extra = format!(
        "telemetry: {{ otlp_endpoint: \"{}\" }}\n",
        collector.endpoint()
    );
    let config = write_config(&state, port, &telegram, &extra);
    // The admin never pressed Start: the service logs that inside the delivery's span.
    telegram.block_chat(ADMIN);
    let child = spawn(&config, port).await;

    post_alert(port, "7ace000000000001", "TracedAlert").await;
    let statuses = sends_answered(&telegram, "TracedAlert", &[GROUP, ADMIN]).await;
    assert_eq!(statuses, [200, 403]);
    let run = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/actions/execute/greet"))
        .bearer_auth(OWNER_TOKEN)
        .json(&json!({ "database": "main" }))
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), 200, "{}", run.text().await.unwrap());
    // The last spans are flushed at shutdown: once the process is gone, everything has arrived.
    stop(child).await;

    let spans = collector.spans();
    assert!(spans.iter().all(|s| s.service == "postgram"), "{spans:#?}");
    let roots = named(&spans, "POST /alerts/alertmanager");
    assert_eq!(roots.len(), 1, "{spans:#?}");
    let request = roots[0];
    assert_eq!(
        request.parent_span_id, "",
        "the request is the trace's root"
    );
    assert_eq!(request.attribute("http.response.status_code"), Some("200"));
    let trace: Vec<&ExportedSpan> = spans
        .iter()
        .filter(|s| s.trace_id == request.trace_id)
        .collect();
    let stored = named(&spans, "store notification");
    assert_eq!(stored.len(), 1, "{spans:#?}");
    assert_eq!(stored[0].trace_id, request.trace_id);
    assert_eq!(stored[0].parent_span_id, request.span_id);
    // Both sends, performed later by the delivery worker, continue the request's trace.
    let sends: Vec<&&ExportedSpan> = trace.iter().filter(|s| s.name == "telegram.send").collect();
    assert!(sends.len() >= 2, "{trace:#?}");
    for send in &sends {
        assert_eq!(send.parent_span_id, stored[0].span_id, "{send:?}");
    }

    // The action run is a trace of its own: the run, then each step.
    let runs = named(&spans, "action greet");
    assert_eq!(runs.len(), 1, "{spans:#?}");
    let run = runs[0];
    assert_eq!(run.parent_span_id, "");
    assert_ne!(run.trace_id, request.trace_id);
    assert_eq!(run.attribute("outcome"), Some("succeeded"));
    let steps: Vec<&str> = spans
        .iter()
        .filter(|s| s.trace_id == run.trace_id && s.parent_span_id == run.span_id)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(steps, ["hello", "bye"]);

    // The log line written while delivering to the blocked admin names that delivery's trace and span.
    let lines = log_lines(&config);
    let unreachable = lines
        .iter()
        .find(|l| l["message"] == "Telegram recipient unreachable")
        .unwrap_or_else(|| panic!("no such line in {lines:#?}"));
    assert_eq!(
        unreachable["trace_id"],
        request.trace_id.as_str(),
        "{unreachable}"
    );
    assert!(
        sends
            .iter()
            .any(|s| unreachable["span_id"] == s.span_id.as_str()),
        "{unreachable}"
    );
    // Lines outside any trace carry no ids.
    let listening = lines
        .iter()
        .find(|l| l["message"] == "postgram is listening")
        .unwrap();
    assert!(listening.get("trace_id").is_none(), "{listening}");
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_otlp_endpoint_nothing_is_exported() {
    let Some(state) = TestState::new(Backend::Sqlite).await else {
        return;
    };
    let telegram = FakeTelegram::start().await;
    // Listening, but named nowhere in the config.
    let collector = OtlpCollector::start().await;
    let port = free_port();
    let config = write_config(&state, port, &telegram, "");
    telegram.block_chat(ADMIN);
    let child = spawn(&config, port).await;
    post_alert(port, "7ace000000000002", "UntracedAlert").await;
    let statuses = sends_answered(&telegram, "UntracedAlert", &[GROUP, ADMIN]).await;
    assert_eq!(statuses, [200, 403]);
    stop(child).await;

    assert_eq!(collector.requests(), 0);
    let lines = log_lines(&config);
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "Telegram recipient unreachable"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().all(|l| l.get("trace_id").is_none()),
        "{lines:#?}"
    );
    state.cleanup().await;
}
