//! Views in chat and actions over REST, with the real binary, the real PostgreSQL and the fake Bot API:
//! - a view of 100,000 rows: time from the button press to the first page in chat, and to the whole CSV
//!   document; peak resident memory for 10,000 and for 100,000 rows (it should not grow with the rows);
//! - the overhead of an action (`SELECT 1` through `POST /actions/execute`) over the bare SQL.
//!
//! `cargo bench --bench views`
#![allow(clippy::unwrap_used)] // a benchmark that cannot set itself up should stop loudly

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;
use support::fake_telegram::{FakeTelegram, SentMessage, callback_update, text_update};
use support::{Backend, TestState, free_port};
use tokio::process::Child;

const ADMIN: i64 = 2000;
const TOKEN: &str = "bench-admin-token-0123456789";

struct Service {
    state: TestState,
    target: TestState,
    telegram: FakeTelegram,
    child: Child,
    port: u16,
}

async fn start(rows: u64) -> Service {
    let state = TestState::new(Backend::Sqlite).await.unwrap();
    let target = TestState::new(Backend::Postgres).await.unwrap();
    let telegram = FakeTelegram::start().await;
    let port = free_port();
    let dir = state.dir.path();
    std::fs::write(
        dir.join("views.yaml"),
        format!(
            "views:\n  - alias: big\n    title: Big\n    max_rows: 200000\n    arguments:\n      - {{ name: rows, type: int, default: {rows} }}\n    sql: SELECT g AS n, md5(g::text) AS hash, now() AS at FROM generate_series(1, :rows) g\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("actions.yaml"),
        "actions:\n  - alias: one\n    title: One\n    steps:\n      - { name: one, sql: SELECT 1 }\n",
    )
    .unwrap();
    let config = format!(
        r#"
telegram: {{ token: "{bot_token}", api_url: "{api}" }}
http: {{ listen: "127.0.0.1:{port}", webhook_token: "{webhook}" }}
state: "{state}"
owners: [1]
catalog: {{ views: views.yaml, actions: actions.yaml }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }}, admins: [{ADMIN}] }}
api_tokens:
  - {{ name: bench, token: "{TOKEN}", role: admin }}
"#,
        api = telegram.api_url(),
        bot_token = support::BOT_TOKEN,
        webhook = support::WEBHOOK_TOKEN,
        state = state.url,
        target = target.url,
    );
    let path = dir.join("postgram.yaml");
    std::fs::write(&path, config).unwrap();
    let child = support::spawn_postgram(
        env!("CARGO_BIN_EXE_postgram"),
        &path,
        port,
        "warn",
        Stdio::inherit(),
    )
    .await;
    telegram
        .wait_for("the bot to poll", Duration::from_secs(10), |t| {
            t.calls_to("getUpdates").first().cloned()
        })
        .await;
    Service {
        state,
        target,
        telegram,
        child,
        port,
    }
}

fn peak_mib(child: &Child) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id().unwrap())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn newest(
    telegram: &FakeTelegram,
    after: usize,
    needle: &'static str,
) -> (SentMessage, Instant) {
    telegram
        .wait_for(needle, Duration::from_secs(120), move |t| {
            let messages = t.messages(ADMIN);
            messages
                .iter()
                .skip(after)
                .find(|m| m.text.contains(needle))
                .map(|m| (m.clone(), m.sent_at))
        })
        .await
}

fn press(telegram: &FakeTelegram, message: &SentMessage, data: &str) -> Instant {
    let at = Instant::now();
    telegram.push_update(callback_update(
        ADMIN,
        None,
        ADMIN,
        message.message_id,
        data,
    ));
    at
}

/// (first page, whole CSV) for one run of the view; the service's peak memory after it.
async fn view(service: &Service) -> (Duration, Duration, f64) {
    let telegram = &service.telegram;
    let before = telegram.messages(ADMIN).len();
    telegram.push_update(text_update(ADMIN, None, ADMIN, "/views"));
    let (list, _) = newest(telegram, before, "main</b>: views").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let count = telegram.messages(ADMIN).len();
    let pressed = press(telegram, &list, "vp:0:0");
    let (page, shown) = newest(telegram, count, "Big · main").await;
    let first_page = shown.duration_since(pressed);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let csv_data = page
        .reply_markup
        .as_ref()
        .and_then(|m| m["inline_keyboard"][0].as_array().cloned())
        .unwrap()
        .iter()
        .find(|b| b["text"] == "CSV")
        .map(|b| b["callback_data"].as_str().unwrap().to_owned())
        .unwrap();
    let count = telegram.messages(ADMIN).len();
    let pressed = press(telegram, &page, &csv_data);
    let (_, sent) = newest(telegram, count, "document:").await;
    (
        first_page,
        sent.duration_since(pressed),
        peak_mib(&service.child),
    )
}

async fn stop(mut service: Service) {
    service.child.start_kill().ok();
    service.child.wait().await.ok();
    service.target.cleanup().await;
    service.state.cleanup().await;
}

async fn action_overhead(service: &Service) -> (Duration, Duration) {
    let client = reqwest::Client::new();
    let mut bare = Vec::new();
    let mut conn = sqlx::PgConnection::connect(&service.target.url)
        .await
        .unwrap();
    for _ in 0..50 {
        let at = Instant::now();
        sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
        bare.push(at.elapsed());
    }
    let mut action = Vec::new();
    for _ in 0..50 {
        let at = Instant::now();
        let response = client
            .post(format!(
                "http://127.0.0.1:{}/actions/execute/one",
                service.port
            ))
            .bearer_auth(TOKEN)
            .json(&json!({ "database": "main" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        action.push(at.elapsed());
    }
    bare.sort();
    action.sort();
    (bare[25], action[25])
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let small = start(10_000).await;
        let (_, _, peak_small) = view(&small).await;
        stop(small).await;
        let big = start(100_000).await;
        let (first_page, csv, peak_big) = view(&big).await;
        let (bare, action) = action_overhead(&big).await;
        stop(big).await;
        println!(
            "view of 100,000 rows: first page in chat after {:.0} ms, whole CSV after {:.0} ms",
            first_page.as_secs_f64() * 1e3,
            csv.as_secs_f64() * 1e3
        );
        println!("peak RSS: {peak_small:.1} MiB with 10,000 rows, {peak_big:.1} MiB with 100,000 rows");
        println!(
            "action overhead: SELECT 1 bare {:.2} ms, as an action over REST {:.2} ms (median of 50)",
            bare.as_secs_f64() * 1e3,
            action.as_secs_f64() * 1e3
        );
    });
}
