//! Live reload at scale: `POST /-/reload` against the real `postgram` binary whose config names 50
//! databases and whose catalogue holds 200 items (100 views, 100 actions with arguments). Each reload
//! changes something (one database's DSN, one view's SQL, one admin, alternately), so every one
//! compares, rebuilds, swaps, closes a pool, audits and tells the owners. Reports the time of a reload
//! as the operator sees it (request to answer) and the process's resident memory after start, after
//! the first reloads and after all of them.
//!
//! `cargo bench --bench reload` (set `BENCH_RELOADS` to change the number of reloads, default 100).
#![allow(clippy::unwrap_used)] // a benchmark that cannot set itself up should stop loudly

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::fake_telegram::FakeTelegram;
use support::{Backend, TestState, WEBHOOK_TOKEN, free_port};

const DATABASES: usize = 50;
const VIEWS: usize = 100;
const ACTIONS: usize = 100;
const OWNER_TOKEN: &str = "owner-token-for-the-reload-bench";
/// Reloads before the first memory reading: allocator pools and caches fill on the first ones.
const WARMUP: usize = 10;

fn config(port: u16, api: &str, state: &str, round: usize) -> String {
    let mut text = format!(
        r#"telegram: {{ token: "{bot}", api_url: "{api}" }}
http: {{ listen: "127.0.0.1:{port}", webhook_token: "{WEBHOOK_TOKEN}" }}
state: "{state}"
owners: [1000]
catalog: {{ views: views.yaml, actions: actions.yaml }}
api_tokens:
  - {{ name: owner, token: "{OWNER_TOKEN}", role: owner }}
databases:
"#,
        bot = support::BOT_TOKEN
    );
    for i in 0..DATABASES {
        // Round by round, one database moves (a new pool; the old one closes) and one gains an admin.
        let moved = if i == round % DATABASES && round % 2 == 1 {
            "?application_name=moved"
        } else {
            ""
        };
        let extra = if i == (round + 7) % DATABASES {
            ", 3000"
        } else {
            ""
        };
        writeln!(
            text,
            "  - {{ name: db{i:02}, dsn: \"postgres://postgres@127.0.0.1:5432/postgres{moved}\", \
             match: {{ cluster: c{i:02} }}, admins: [2000{extra}], chat: -100{i} }}"
        )
        .unwrap();
    }
    text
}

fn views(round: usize) -> String {
    let mut text = String::from("views:\n");
    for i in 0..VIEWS {
        let limit = if i == round % VIEWS { 20 + round } else { 10 };
        writeln!(
            text,
            "  - alias: view_{i:03}\n    title: View {i}\n    description: Rows of view {i}\n    \
             arguments:\n      - {{ name: upto, type: int, min: 1, max: 1000, default: {limit} }}\n    \
             sql: SELECT g FROM generate_series(1, :upto) g"
        )
        .unwrap();
    }
    text
}

fn actions() -> String {
    let mut text = String::from("actions:\n");
    for i in 0..ACTIONS {
        writeln!(
            text,
            "  - alias: action_{i:03}\n    title: Action {i}\n    arguments:\n      \
             - {{ name: table, type: identifier, kind: relation }}\n      \
             - {{ name: note, type: string, required: false }}\n    steps:\n      \
             - {{ name: analyze, sql: \"ANALYZE :table\" }}"
        )
        .unwrap();
    }
    text
}

fn write_files(dir: &Path, port: u16, api: &str, state: &str, round: usize) {
    std::fs::write(dir.join("postgram.yaml"), config(port, api, state, round)).unwrap();
    std::fs::write(dir.join("views.yaml"), views(round)).unwrap();
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

async fn reload(client: &reqwest::Client, port: u16) -> Duration {
    let started = Instant::now();
    let response = client
        .post(format!("http://127.0.0.1:{port}/-/reload"))
        .bearer_auth(OWNER_TOKEN)
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    took
}

fn main() {
    let reloads: usize = std::env::var("BENCH_RELOADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let state = TestState::new(Backend::Sqlite).await.unwrap();
        let telegram = FakeTelegram::start().await;
        let port = free_port();
        let dir = state.dir.path();
        write_files(dir, port, &telegram.api_url(), &state.url, 0);
        std::fs::write(dir.join("actions.yaml"), actions()).unwrap();
        let config = dir.join("postgram.yaml");
        let binary = env!("CARGO_BIN_EXE_postgram");
        let mut service =
            support::spawn_postgram(binary, &config, port, "warn", Stdio::inherit()).await;
        let pid = service.id().unwrap();
        let client = reqwest::Client::new();
        let at_start = rss_kib(pid);

        let mut times = Vec::new();
        let mut after_warmup = 0;
        for round in 1..=reloads {
            write_files(dir, port, &telegram.api_url(), &state.url, round);
            times.push(reload(&client, port).await);
            if round == WARMUP {
                after_warmup = rss_kib(pid);
            }
        }
        let at_end = rss_kib(pid);
        times.sort();
        let pick = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| databases | catalogue items | reloads | p50 | p95 | max | RSS at start | after {WARMUP} reloads | after {reloads} |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        println!(
            "| {DATABASES} | {} | {reloads} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
            VIEWS + ACTIONS,
            ms(pick(0.50)),
            ms(pick(0.95)),
            ms(times[times.len() - 1]),
            at_start as f64 / 1024.0,
            after_warmup as f64 / 1024.0,
            at_end as f64 / 1024.0,
        );
        service.start_kill().ok();
        service.wait().await.ok();
        state.cleanup().await;
    });
}
