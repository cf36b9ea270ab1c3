//! The button check a press goes through before anything else: is this data a button the bot put on
//! this message, and what does it mean (`callback::pressed`: a shape check, one keyed read of the
//! state store, the payload parsed). Measured on a store holding 10,000 messages of 6 buttons, on
//! SQLite (the default) and on PostgreSQL: median and 99th percentile of 5,000 presses of recorded
//! buttons, and of 5,000 forged ones.
//!
//! `cargo bench --bench buttons`
#![allow(clippy::unwrap_used)] // a benchmark that cannot set itself up should stop loudly

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use postgram::callback::{self, Callback, Keyboard};
use postgram::config::{Secret, StateLocation};
use postgram::domain::IncidentId;
use postgram::store::Store;
use support::{Backend, TestState};

const MESSAGES: i64 = 10_000;
const PRESSES: usize = 5_000;
const CHAT: i64 = -100_500;

/// The keyboard of an alert message: Acknowledge, three silences, a view and an action.
fn alert_keyboard(incident: i64) -> Keyboard {
    let id = IncidentId(incident);
    let link = |actions, item: &str| Callback::Link {
        actions,
        incident: id,
        item: item.to_owned(),
    };
    Keyboard::new(vec![
        vec![("Ack".to_owned(), Callback::Acknowledge(id))],
        [1, 4, 24]
            .map(|h| (format!("{h}h"), Callback::Silence(id, h)))
            .to_vec(),
        vec![("View".to_owned(), link(false, "long_running_queries"))],
        vec![("Act".to_owned(), link(true, "terminate_backend"))],
    ])
}

fn median_and_p99(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    (
        micros(times[times.len() / 2]),
        micros(times[times.len() * 99 / 100]),
    )
}

async fn measure(state: &TestState) -> ((f64, f64), (f64, f64)) {
    let location = match state.backend {
        Backend::Sqlite => StateLocation::Sqlite(state.sqlite_path()),
        Backend::Postgres => StateLocation::Postgres(Secret::new(state.url.clone())),
    };
    let store = Store::connect(&location).await.unwrap();
    let mut tokens = Vec::new();
    for message in 1..=MESSAGES {
        let prepared = alert_keyboard(message).prepare();
        prepared
            .record(&store, CHAT, message, chrono::Utc::now())
            .await
            .unwrap();
        if message % 2 == 0 {
            let payload = Callback::Acknowledge(IncidentId(message)).encode();
            let token = support::button_token(&payload);
            tokens.push((message, token));
        }
    }
    let mut honoured = Vec::with_capacity(PRESSES);
    let mut refused = Vec::with_capacity(PRESSES);
    for i in 0..PRESSES {
        let (message, token) = &tokens[(i * 7919) % tokens.len()];
        let started = Instant::now();
        let found = callback::pressed(&store, CHAT, *message, token)
            .await
            .unwrap();
        honoured.push(started.elapsed());
        assert!(matches!(found, Some(Callback::Acknowledge(_))));
        // The same token on a message that never carried it.
        let started = Instant::now();
        let found = callback::pressed(&store, CHAT, *message + 1, token)
            .await
            .unwrap();
        refused.push(started.elapsed());
        assert!(found.is_none());
    }
    store.close().await;
    (median_and_p99(honoured), median_and_p99(refused))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let Some(state) = TestState::new(backend).await else {
                println!("{backend:?}: unavailable, skipped");
                continue;
            };
            let ((median, p99), (refused_median, refused_p99)) = measure(&state).await;
            println!(
                "button check per press on {backend:?} ({MESSAGES} messages recorded): \
                 {median:.0} µs median, {p99:.0} µs p99 (a recorded button); \
                 {refused_median:.0} µs median, {refused_p99:.0} µs p99 (refused)"
            );
            state.cleanup().await;
        }
    });
}
