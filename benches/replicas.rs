//! One replica against three on one PostgreSQL state store (all on this machine's two cores): webhook
//! ingest at concurrency 32 spread round-robin, and a storm of 1,000 alerts to 10 admins from the
//! first webhook to the last admin told (the fake Bot API enforcing Telegram's limits).
//!
//! `cargo bench --bench replicas` (set `BENCH_SECONDS` to change the ingest measuring time, default 5).
#![allow(clippy::unwrap_used)] // a benchmark that cannot set itself up should stop loudly

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::fake_telegram::{FakeTelegram, alerts_told};
use support::{Backend, TestState, WEBHOOK_TOKEN, alert, free_port, notification};
use tokio::process::Child;

const ADMINS: std::ops::RangeInclusive<i64> = 3001..=3010;
static NEXT: AtomicU64 = AtomicU64::new(0);

/// `replicas` copies of the binary on `state`; their base URLs.
async fn start(
    state: &TestState,
    telegram: &FakeTelegram,
    replicas: usize,
) -> (Vec<Child>, Vec<String>) {
    let admins: Vec<String> = ADMINS.map(|a| a.to_string()).collect();
    let (mut children, mut bases) = (Vec::new(), Vec::new());
    for n in 0..replicas {
        let port = free_port();
        let config = state.dir.path().join(format!("replica-{n}.yaml"));
        let text = format!(
            "telegram: {{ token: \"{bot}\", api_url: \"{api}\" }}\n\
             http: {{ listen: \"127.0.0.1:{port}\", webhook_token: \"{WEBHOOK_TOKEN}\" }}\n\
             state: \"{state}\"\nowners: [1000]\ndatabases:\n  - {{ name: main, \
             dsn: \"postgres://postgres@127.0.0.1:5432/postgres\", match: {{ cluster: main }}, \
             admins: [{admins}] }}\n",
            bot = support::BOT_TOKEN,
            api = telegram.api_url(),
            state = state.url,
            admins = admins.join(", "),
        );
        std::fs::write(&config, text).unwrap();
        let binary = env!("CARGO_BIN_EXE_postgram");
        children
            .push(support::spawn_postgram(binary, &config, port, "warn", Stdio::inherit()).await);
        bases.push(format!("http://127.0.0.1:{port}/alerts/alertmanager"));
    }
    (children, bases)
}

fn alerts(count: usize, alertname: &str) -> serde_json::Value {
    let alerts = (0..count)
        .map(|_| {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            alert(
                &format!("{n:016x}"),
                "firing",
                "2026-11-30T11:00:00Z",
                json!({ "alertname": format!("{alertname}{n}"), "cluster": "main" }),
            )
        })
        .collect();
    notification("firing", alerts)
}

async fn stop(children: Vec<Child>, state: TestState) {
    for mut child in children {
        child.start_kill().ok();
        child.wait().await.ok();
    }
    state.cleanup().await;
}

/// Alerts per second, p50 and p99 of 32 clients posting one alert per notification, round-robin.
async fn ingest(replicas: usize, measure: Duration) -> (f64, Duration, Duration) {
    let state = TestState::new(Backend::Postgres).await.unwrap();
    let telegram = FakeTelegram::start().await;
    let (children, bases) = start(&state, &telegram, replicas).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(32)
        .build()
        .unwrap();
    let warmup = Duration::from_millis(500);
    let started = Instant::now();
    let workers = (0..32).map(|w| {
        let (client, bases) = (client.clone(), bases.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut turn = w;
            while started.elapsed() < warmup + measure {
                let body = alerts(1, "Ingest");
                let sent = Instant::now();
                let url = &bases[turn % bases.len()];
                turn += 1;
                let response = client
                    .post(url)
                    .bearer_auth(WEBHOOK_TOKEN)
                    .json(&body)
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
    let mut latencies = Vec::new();
    for worker in workers.collect::<Vec<_>>() {
        latencies.extend(worker.await.unwrap());
    }
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let rate = latencies.len() as f64 / (started.elapsed() - warmup).as_secs_f64();
    let figures = (rate, pick(0.5), pick(0.99));
    stop(children, state).await;
    figures
}

/// From the first of ten notifications of 100 alerts to every admin told of all 1,000; and the 429s.
async fn storm(replicas: usize) -> (Duration, usize) {
    let state = TestState::new(Backend::Postgres).await.unwrap();
    let telegram = FakeTelegram::start().await;
    let (children, bases) = start(&state, &telegram, replicas).await;
    let client = reqwest::Client::new();
    let started = Instant::now();
    for batch in 0..10 {
        let body = alerts(100, "Storm");
        let url = &bases[batch % bases.len()];
        let response = client
            .post(url)
            .bearer_auth(WEBHOOK_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    telegram
        .wait_for("every admin told", Duration::from_secs(300), |t| {
            ADMINS
                .into_iter()
                .all(|admin| alerts_told(t, admin, "Storm") >= 1000)
                .then_some(())
        })
        .await;
    let figures = (started.elapsed(), telegram.too_many_requests());
    stop(children, state).await;
    figures
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| replicas | ingest alerts/s (c=32) | p50 | p99 | storm: 1,000 alerts to 10 admins told in | 429s |"
    );
    println!("|---|---|---|---|---|---|");
    for replicas in [1, 3] {
        let (rate, p50, p99) = runtime.block_on(ingest(replicas, Duration::from_secs(seconds)));
        let (told, too_many) = runtime.block_on(storm(replicas));
        println!(
            "| {replicas} | {rate:.0} | {:.1} ms | {:.1} ms | {:.1} s | {too_many} |",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            told.as_secs_f64()
        );
    }
}
