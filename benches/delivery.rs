//! Alert delivery against the fake Bot API server, with the real `postgram` binary:
//! - latency from webhook sent to `sendMessage` received, with no rate-limit pressure (every alert goes
//!   to a chat that is idle, at a pace under Telegram's global limit);
//! - storms of 1,000 alerts to 10 admins and of 10,000 alerts to 100 admins: seconds until every admin
//!   has been told of every alert, against the physical limit (Telegram's ≈ 30 messages a second
//!   overall: one message per chat takes chats / 30 s), messages sent, 429s received;
//! - resident memory idle and at the storm's peak.
//!
//! `cargo bench --bench delivery` (`-- latency` or `-- storm` for one part)
#![allow(clippy::unwrap_used)] // a benchmark that cannot set itself up should stop loudly

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use support::fake_telegram::{FakeTelegram, alerts_told};
use support::{Backend, TestState, WEBHOOK_TOKEN, alert, free_port, notification};
use tokio::process::Child;

const LATENCY_CHATS: usize = 50;
const LATENCY_ALERTS: usize = 300;

fn config(state: &TestState, port: u16, api: &str, databases: &str) -> String {
    format!(
        r#"
telegram: {{ token: "{bot_token}", api_url: "{api}" }}
http: {{ listen: "127.0.0.1:{port}", webhook_token: "{WEBHOOK_TOKEN}" }}
state: "{}"
owners: [1]
databases:
{databases}
"#,
        state.url,
        bot_token = support::BOT_TOKEN,
    )
}

async fn start(state: &TestState, text: String, port: u16) -> Child {
    let path = state.dir.path().join("postgram.yaml");
    std::fs::write(&path, text).unwrap();
    support::spawn_postgram(
        env!("CARGO_BIN_EXE_postgram"),
        &path,
        port,
        // `BENCH_LOG=info` shows the service's own account of the run (digests, deferrals, 429s).
        &std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".to_owned()),
        Stdio::inherit(),
    )
    .await
}

/// (resident now, peak resident) in MiB, from /proc.
fn memory(child: &Child) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id().unwrap())).unwrap();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn post(client: &reqwest::Client, port: u16, body: &serde_json::Value) {
    let response = client
        .post(format!("http://127.0.0.1:{port}/alerts/alertmanager"))
        .bearer_auth(WEBHOOK_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn latency() -> (Duration, Duration, f64) {
    let state = TestState::new(Backend::Sqlite).await.unwrap();
    let telegram = FakeTelegram::start().await;
    let port = free_port();
    let databases: String = (0..LATENCY_CHATS)
        .map(|i| {
            format!(
                "  - {{ name: db{i}, dsn: \"postgres://x@127.0.0.1/db\", match: {{ cluster: c{i} }}, admins: [{}] }}\n",
                5000 + i
            )
        })
        .collect();
    let mut child = start(
        &state,
        config(&state, port, &telegram.api_url(), &databases),
        port,
    )
    .await;
    telegram
        .wait_for("the bot to start", Duration::from_secs(10), |t| {
            t.calls_to("getUpdates").first().cloned()
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle, _) = memory(&child);

    let client = reqwest::Client::new();
    let mut sent_at = Vec::new();
    for i in 0..LATENCY_ALERTS {
        let body = notification(
            "firing",
            vec![alert(
                &format!("{i:016x}"),
                "firing",
                "2026-11-22T11:00:00Z",
                json!({ "alertname": format!("Latency{i:04}x"), "cluster": format!("c{}", i % LATENCY_CHATS) }),
            )],
        );
        sent_at.push(Instant::now());
        post(&client, port, &body).await;
        // 20 alerts a second: under the global limit, and each chat idle for 2.5 s between its alerts.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let calls = telegram
        .wait_for("every alert to be sent", Duration::from_secs(60), |t| {
            let sends: Vec<_> = t
                .calls_to("sendMessage")
                .into_iter()
                .filter(|c| c.status == 200)
                .collect();
            (sends.len() >= LATENCY_ALERTS).then_some(sends)
        })
        .await;
    let mut latencies: Vec<Duration> = calls
        .iter()
        .filter_map(|call| {
            let text = call.params["text"].as_str()?;
            let at = text.find("Latency")?;
            let i: usize = text[at + 7..at + 11].parse().ok()?;
            Some(call.at.duration_since(sent_at[i]))
        })
        .collect();
    latencies.sort();
    assert_eq!(latencies.len(), LATENCY_ALERTS);
    assert_eq!(telegram.too_many_requests(), 0);
    child.start_kill().ok();
    state.cleanup().await;
    (
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100],
        idle,
    )
}

struct Storm {
    informed: Duration,
    messages: usize,
    too_many: usize,
    peak: f64,
}

/// `alerts` firing at once (in notifications of 100) for a database with `admins` admins.
async fn storm(alerts: usize, admins: usize) -> Storm {
    let state = TestState::new(Backend::Sqlite).await.unwrap();
    let telegram = FakeTelegram::start().await;
    let port = free_port();
    let admins: Vec<i64> = (3001..).take(admins).collect();
    let list: Vec<String> = admins.iter().map(ToString::to_string).collect();
    let databases = format!(
        "  - {{ name: main, dsn: \"postgres://x@127.0.0.1/db\", match: {{ cluster: main }}, admins: [{}] }}\n",
        list.join(", ")
    );
    let mut child = start(
        &state,
        config(&state, port, &telegram.api_url(), &databases),
        port,
    )
    .await;
    let client = reqwest::Client::new();
    let started = Instant::now();
    for batch in 0..alerts.div_ceil(100) {
        let alerts = (0..100.min(alerts - batch * 100))
            .map(|i| {
                alert(
                    &format!("{batch:04}{i:012}"),
                    "firing",
                    "2026-11-22T11:00:00Z",
                    json!({ "alertname": format!("Storm{}", i % 7), "cluster": "main" }),
                )
            })
            .collect();
        post(&client, port, &notification("firing", alerts)).await;
    }
    let everyone = admins.clone();
    telegram
        .wait_for("every admin informed", Duration::from_secs(300), move |t| {
            everyone
                .iter()
                .all(|chat| alerts_told(t, *chat, "Storm") >= alerts)
                .then_some(())
        })
        .await;
    let informed = started.elapsed();
    // Let the individual messages flow for a few seconds, then read the peak.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, peak) = memory(&child);
    let figures = Storm {
        informed,
        messages: telegram.all_messages().len(),
        too_many: telegram.too_many_requests(),
        peak,
    };
    child.start_kill().ok();
    state.cleanup().await;
    figures
}

fn main() {
    // `cargo bench` passes `--bench`; `latency` or `storm` runs only that part.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |part: &str| filter.is_empty() || filter.iter().any(|f| f == part);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if wanted("latency") {
        let (p50, p99, idle) = runtime.block_on(latency());
        println!(
            "webhook → sendMessage ({LATENCY_ALERTS} alerts, no rate-limit pressure): p50 {:.1} ms, p99 {:.1} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
        println!("RSS idle: {idle:.1} MiB");
    }
    if !wanted("storm") {
        return;
    }
    for (alerts, admins) in [(1_000, 10), (10_000, 100)] {
        let storm = runtime.block_on(storm(alerts, admins));
        println!(
            "storm of {alerts} alerts to {admins} admins: every admin told of every alert after \
             {:.2} s (goal {:.2} s); {} messages sent within 5 s more; {} × 429; peak RSS {:.1} MiB",
            storm.informed.as_secs_f64(),
            admins as f64 / 30.0 + 1.0,
            storm.messages,
            storm.too_many,
            storm.peak
        );
    }
}
