//! An administered database that cannot be reached, over REST: a closed port fails at once, a server
//! that never answers is asked once for everyone waiting, and for a short while after a failure callers
//! are told at once since when it is unreachable; after that while, it is asked again.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::Service;
use support::fake_telegram::{buttons, text_update};
use tokio::net::TcpListener;

/// Eight callers: each may run two views at a time.
const VIEWERS: [&str; 8] = [
    "viewer-token-0-123456789",
    "viewer-token-1-123456789",
    "viewer-token-2-123456789",
    "viewer-token-3-123456789",
    "viewer-token-4-123456789",
    "viewer-token-5-123456789",
    "viewer-token-6-123456789",
    "viewer-token-7-123456789",
];
const ADMIN: i64 = 2000;
const VIEWS: &str = "views:\n  - { alias: one, title: One, sql: SELECT 1 AS one }\n";

/// The service with one database, `down`, at `dsn` (`None`: the test's real database at `port`).
async fn start(port: u16, real: bool, reconnect_after: &str) -> Option<Service> {
    let reconnect_after = reconnect_after.to_owned();
    let tokens: String = VIEWERS
        .iter()
        .enumerate()
        .map(|(i, token)| format!("  - {{ name: viewer{i}, token: \"{token}\", role: viewer }}\n"))
        .collect();
    Service::start_administering(&[("views.yaml", VIEWS)], move |ctx, target| {
        let mut dsn = reqwest::Url::parse(target).unwrap();
        if !real {
            dsn.set_path("/postgres");
        }
        dsn.set_port(Some(port)).unwrap();
        format!(
            r#"
{head}
owners: [1]
catalog: {{ views: views.yaml }}
databases:
  - {{ name: down, dsn: "{dsn}", match: {{ cluster: down }}, reconnect_after: {reconnect_after}, admins: [{ADMIN}] }}
api_tokens:
{tokens}"#,
            head = ctx.head(),
        )
    })
    .await
}

async fn view(world: &Service, token: &str) -> (u16, String) {
    let response = world
        .app
        .client
        .get(format!("{}/views/one?database=down", world.app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Eight views asked at once; their answers.
async fn eight_views(world: &Arc<Service>) -> Vec<(u16, String)> {
    let mut asks = tokio::task::JoinSet::new();
    for token in VIEWERS {
        let world = world.clone();
        asks.spawn(async move { view(&world, token).await });
    }
    asks.join_all().await
}

/// Answers of the circuit breaker: they name since when the database is unreachable.
fn from_the_breaker(answers: &[(u16, String)]) -> usize {
    answers
        .iter()
        .filter(|(_, body)| body.contains("unreachable since"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_fails_at_once_for_everyone() {
    let Some(world) = start(support::free_port(), false, "5s").await else {
        return;
    };
    let world = Arc::new(world);
    let asked = std::time::Instant::now();
    let answers = eight_views(&world).await;
    eprintln!(
        "closed port: 8 concurrent views answered 502 within {:.1?}",
        asked.elapsed()
    );
    for (status, body) in &answers {
        assert_eq!(*status, 502, "{body}");
        assert!(body.contains("database down is unreachable"), "{body}");
        // Refused, not waited out until a timeout.
        assert!(body.contains("refused"), "{body}");
        assert!(!body.contains("no connection within"), "{body}");
    }
    assert_eq!(from_the_breaker(&answers), 7, "{answers:?}");
    Arc::into_inner(world).unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_asked_once_for_everyone() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counting = accepted.clone();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counting.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    let Some(world) = start(port, false, "1m").await else {
        return;
    };
    let world = Arc::new(world);
    let asked = std::time::Instant::now();
    let answers = eight_views(&world).await;
    eprintln!(
        "silent listener: 8 concurrent views answered 502 within {:.1?}, {} connection attempt(s)",
        asked.elapsed(),
        accepted.load(Ordering::SeqCst)
    );
    for (status, body) in &answers {
        assert_eq!(*status, 502, "{body}");
        assert!(body.contains("no connection within"), "{body}");
    }
    assert_eq!(from_the_breaker(&answers), 7, "{answers:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one probe for all");
    silent.abort();
    Arc::into_inner(world).unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_is_asked_again_after_the_window() {
    let port = support::free_port();
    let Some(world) = start(port, true, "200ms").await else {
        return;
    };
    let (status, body) = view(&world, VIEWERS[0]).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("refused"), "{body}");

    // The database comes up at that port: a relay to the real server.
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = world.target().url.clone();
    let server = reqwest::Url::parse(&server).unwrap();
    let server = format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    );
    let relay = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let server = server.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(server).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });

    let body = support::eventually("the view to answer", Duration::from_secs(30), || async {
        let (status, body) = view(&world, VIEWERS[0]).await;
        if status == 200 {
            return Some(body);
        }
        assert!(body.contains("unreachable since"), "{body}");
        None
    })
    .await;
    assert!(body.contains("one"), "{body}");
    relay.abort();
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_says_since_when_a_database_is_unreachable() {
    let Some(world) = start(support::free_port(), false, "1m").await else {
        return;
    };
    let wait = Duration::from_secs(20);
    let telegram = &world.telegram;
    for answer in ["refused", "unreachable since"] {
        telegram.push_update(text_update(ADMIN, None, ADMIN, "/views"));
        let list = telegram
            .newest_containing(ADMIN, "down</b>: views", wait)
            .await;
        let data = buttons(&list)
            .into_iter()
            .find(|(label, _)| label.contains("One"))
            .unwrap()
            .1;
        world.buttons_recorded(&list).await;
        telegram.press(ADMIN, None, &list, &data, wait).await;
        let told = telegram.newest_containing(ADMIN, answer, wait).await;
        assert!(
            told.text.contains("database down is unreachable"),
            "{}",
            told.text
        );
    }
    world.stop().await;
}
