//! Durable ingest: throughput and latency of `POST /alerts/alertmanager` against the real `postgram`
//! binary, for SQLite and PostgreSQL state, one and ten alerts per notification, one and 32 concurrent
//! clients. Every request carries new alerts, so every one is a real commit (with its escalation jobs
//! and Telegram feeds).
//!
//! `cargo bench --bench ingest` (set `BENCH_SECONDS` to change the measuring time per case).
#![allow(clippy::unwrap_used)] // a benchmark that cannot set itself up should stop loudly

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::fake_telegram::FakeTelegram;
use support::{Backend, TestState, WEBHOOK_TOKEN, alert, free_port, notification};
use tokio::process::Child;

struct Case {
    backend: Backend,
    alerts_per_notification: usize,
    concurrency: usize,
}

struct Figures {
    alerts_per_second: f64,
    requests: usize,
    p50: Duration,
    p99: Duration,
    mean_batch: f64,
}

static NEXT_FINGERPRINT: AtomicU64 = AtomicU64::new(0);

fn body(alerts: usize) -> Vec<u8> {
    let alerts = (0..alerts)
        .map(|_| {
            let n = NEXT_FINGERPRINT.fetch_add(1, Ordering::Relaxed);
            alert(
                &format!("{n:016x}"),
                "firing",
                "2026-11-22T11:00:00Z",
                json!({ "alertname": "BenchAlert", "cluster": "main", "severity": "warning",
                        "instance": "pg-main-1:9187" }),
            )
        })
        .collect();
    notification("firing", alerts).to_string().into_bytes()
}

/// The service as it runs in production: Telegram reachable (the tests' fake Bot API, which enforces
/// Telegram's limits), two admins and a group chat per alert, so the delivery worker works alongside.
async fn start_service(state: &TestState, port: u16, telegram: &FakeTelegram) -> Child {
    let config = state.dir.path().join("postgram.yaml");
    let text = format!(
        r#"
telegram: {{ token: "{bot_token}", api_url: "{api}" }}
http: {{ listen: "127.0.0.1:{port}", webhook_token: "{WEBHOOK_TOKEN}" }}
state: "{state}"
owners: [1000]
databases:
  - {{ name: main, dsn: "postgres://postgres@127.0.0.1:5432/postgres", match: {{ cluster: main }}, admins: [2000, 2001], chat: -1001 }}
"#,
        api = telegram.api_url(),
        bot_token = support::BOT_TOKEN,
        state = state.url,
    );
    std::fs::write(&config, text).unwrap();
    support::spawn_postgram(
        env!("CARGO_BIN_EXE_postgram"),
        &config,
        port,
        "warn",
        Stdio::inherit(),
    )
    .await
}

async fn mean_batch(client: &reqwest::Client, port: u16) -> f64 {
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    value("postgram_ingest_batch_notifications_sum")
        / value("postgram_ingest_batch_notifications_count").max(1.0)
}

async fn run(case: &Case, measure: Duration) -> Option<Figures> {
    let state = TestState::new(case.backend).await?;
    let port = free_port();
    let telegram = FakeTelegram::start().await;
    let mut service = start_service(&state, port, &telegram).await;
    let url = format!("http://127.0.0.1:{port}/alerts/alertmanager");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(case.concurrency)
        .build()
        .unwrap();

    let warmup = Duration::from_millis(500);
    let started = Instant::now();
    let workers = (0..case.concurrency).map(|_| {
        let client = client.clone();
        let url = url.clone();
        let alerts = case.alerts_per_notification;
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < warmup + measure {
                let body = body(alerts);
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(WEBHOOK_TOKEN)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                if sent.duration_since(started) >= warmup {
                    latencies.push(sent.elapsed());
                }
            }
            latencies
        })
    });
    let mut latencies: Vec<Duration> = Vec::new();
    for worker in workers.collect::<Vec<_>>() {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed() - warmup;
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let figures = Figures {
        alerts_per_second: (latencies.len() * case.alerts_per_notification) as f64
            / elapsed.as_secs_f64(),
        requests: latencies.len(),
        p50: pick(0.50),
        p99: pick(0.99),
        mean_batch: mean_batch(&client, port).await,
    };
    service.start_kill().ok();
    service.wait().await.ok();
    state.cleanup().await;
    Some(figures)
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters cases by backend name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| state | alerts/notification | concurrency | alerts/s | requests | p50 | p99 | notifications/commit |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let name = format!("{backend:?}").to_lowercase();
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        for alerts_per_notification in [1, 10] {
            for concurrency in [1, 32] {
                let case = Case {
                    backend,
                    alerts_per_notification,
                    concurrency,
                };
                let Some(f) = runtime.block_on(run(&case, Duration::from_secs(seconds))) else {
                    println!("| {name} | skipped: PostgreSQL unreachable |||||||");
                    continue;
                };
                println!(
                    "| {name} | {alerts_per_notification} | {concurrency} | {:.0} | {} | {:.2} ms | {:.2} ms | {:.1} |",
                    f.alerts_per_second,
                    f.requests,
                    f.p50.as_secs_f64() * 1e3,
                    f.p99.as_secs_f64() * 1e3,
                    f.mean_batch
                );
            }
        }
    }
}
