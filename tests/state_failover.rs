//! The state store's PostgreSQL going away under load: crashed and started again, or failed over to a
//! promoted standby named in a multi-host DSN. The real binary on a PostgreSQL server of the test's own
//! (the shared one other tests use is never stopped). While the store is down intake answers 503 (so
//! Alertmanager retries) and `/-/ready` 503; once a primary answers, intake, readiness and delivery
//! resume, and every alert ever answered 200 is stored once and told to every admin.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::Connection;
use support::fake_telegram::{FakeTelegram, alerts_told, text_update};
use support::pg_cluster::Cluster;
use support::{WEBHOOK_TOKEN, eventually, free_port};

const OWNER: i64 = 1000;
const ADMINS: [i64; 3] = [4001, 4002, 4003];
const BATCH: usize = 25;

struct Service {
    _child: tokio::process::Child,
    base: String,
    client: reqwest::Client,
}

impl Service {
    async fn start(dir: &std::path::Path, telegram: &FakeTelegram, state: &str) -> Service {
        let port = free_port();
        let admins: Vec<String> = ADMINS.iter().map(ToString::to_string).collect();
        let config = dir.join("postgram.yaml");
        std::fs::write(
            &config,
            format!(
                "telegram: {{ token: \"{bot}\", api_url: \"{api}\" }}\n\
                 http: {{ listen: \"127.0.0.1:{port}\", webhook_token: \"{WEBHOOK_TOKEN}\" }}\n\
                 state: \"{state}\"\nowners: [{OWNER}]\n\
                 databases:\n  - {{ name: main, dsn: \"postgres://postgres@127.0.0.1:5432/postgres\", \
                 match: {{ cluster: main }}, admins: [{admins}] }}\n",
                bot = support::BOT_TOKEN,
                api = telegram.api_url(),
                admins = admins.join(", "),
            ),
        )
        .unwrap();
        let binary = env!("CARGO_BIN_EXE_postgram");
        let child = support::spawn_postgram(binary, &config, port, "warn", Stdio::inherit()).await;
        Service {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        }
    }

    /// Posts batch `n` of alerts once: the HTTP status (0 when nothing answered).
    async fn post_batch(&self, n: usize) -> u16 {
        let alerts = (0..BATCH)
            .map(|i| {
                support::alert(
                    &format!("fa11{n:04}{i:08}"),
                    "firing",
                    "2026-11-30T11:00:00Z",
                    serde_json::json!({ "alertname": format!("Failover{n}x{i}"), "cluster": "main" }),
                )
            })
            .collect();
        let body = support::notification("firing", alerts);
        self.client
            .post(format!("{}/alerts/alertmanager", self.base))
            .bearer_auth(WEBHOOK_TOKEN)
            .json(&body)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16())
    }

    /// Posts batch `n` until it is answered 200, as Alertmanager retries: the other statuses seen.
    async fn deliver_batch(&self, n: usize) -> Vec<u16> {
        let refused = std::sync::Mutex::new(Vec::new());
        eventually(
            "a batch of alerts to be accepted",
            Duration::from_secs(90),
            || async {
                match self.post_batch(n).await {
                    200 => Some(()),
                    other => {
                        refused.lock().unwrap().push(other);
                        None
                    }
                }
            },
        )
        .await;
        refused.into_inner().unwrap()
    }

    async fn ready(&self) -> u16 {
        self.client
            .get(format!("{}/-/ready", self.base))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16())
    }

    /// Waits until `/-/ready` answers `status`.
    async fn wait_ready(&self, status: u16) {
        eventually(
            &format!("/-/ready to answer {status}"),
            Duration::from_secs(60),
            || async { (self.ready().await == status).then_some(()) },
        )
        .await;
    }
}

/// Every admin told of every one of `batches` batches, and each alert stored once in `store`.
async fn everything_arrived(telegram: &FakeTelegram, store: &str, batches: usize) {
    let expected = batches * BATCH;
    telegram
        .wait_for(
            "every admin to be told of every accepted alert",
            Duration::from_secs(120),
            move |t| {
                ADMINS
                    .iter()
                    .all(|chat| alerts_told(t, *chat, "Failover") >= expected)
                    .then_some(())
            },
        )
        .await;
    // The bot polls again too: a question is answered.
    telegram.push_update(text_update(OWNER, None, OWNER, "/help"));
    telegram
        .wait_for("the answer to /help", Duration::from_secs(60), |t| {
            t.messages(OWNER)
                .iter()
                .any(|m| m.text.contains("Postgram Admin"))
                .then_some(())
        })
        .await;
    let mut db = sqlx::PgConnection::connect(store).await.unwrap();
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM incidents WHERE fingerprint LIKE 'fa11%'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(
        stored,
        i64::try_from(expected).unwrap(),
        "every acknowledged alert stored once"
    );
}

/// Statuses other than 503 (or no answer while the service itself waits) while the store was away.
fn unexpected(statuses: &[u16]) -> Vec<u16> {
    statuses
        .iter()
        .copied()
        .filter(|s| *s != 503 && *s != 0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stores_postgresql_crashing_mid_storm_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let Some(store) = Cluster::start(dir.path(), "store") else {
        return;
    };
    let telegram = FakeTelegram::start().await;
    let service = Service::start(dir.path(), &telegram, &store.url()).await;
    for n in 0..4 {
        assert_eq!(service.post_batch(n).await, 200);
    }
    store.crash();
    // Nothing can be stored: intake refuses rather than answering 200 for what it could not keep.
    assert_eq!(
        service.post_batch(4).await,
        503,
        "intake answers 503 while the store is down"
    );
    service.wait_ready(503).await;
    store.start_again();
    let back = Instant::now();
    service.wait_ready(200).await;
    println!(
        "ready again {:?} after the store's PostgreSQL",
        back.elapsed()
    );
    let refused = service.deliver_batch(4).await;
    assert!(
        unexpected(&refused).is_empty(),
        "only 503 while the store recovered: {refused:?}"
    );
    for n in 5..8 {
        assert_eq!(service.post_batch(n).await, 200);
    }
    everything_arrived(&telegram, &store.url(), 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_host_state_follows_its_primary_to_a_promoted_standby() {
    let dir = tempfile::tempdir().unwrap();
    let Some(primary) = Cluster::start(dir.path(), "primary") else {
        return;
    };
    let standby = Cluster::standby_of(&primary, dir.path(), "standby");
    // Synchronous replication: what the primary acknowledged is on the standby too, so a failover
    // loses nothing that was answered 200 (as a Patroni cluster with synchronous_mode does).
    let mut db = sqlx::PgConnection::connect(&primary.url()).await.unwrap();
    sqlx::query("ALTER SYSTEM SET synchronous_standby_names = '*'")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("SELECT pg_reload_conf()")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    // The standby comes first: the service must pass over a host that does not accept writes.
    let state = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write",
        standby.port, primary.port
    );
    let telegram = FakeTelegram::start().await;
    let service = Service::start(dir.path(), &telegram, &state).await;
    for n in 0..3 {
        assert_eq!(service.post_batch(n).await, 200);
    }
    primary.crash();
    service.wait_ready(503).await;
    standby.promote();
    let promoted = Instant::now();
    let refused = service.deliver_batch(3).await;
    println!(
        "intake accepted alerts again {:?} after the standby was promoted",
        promoted.elapsed()
    );
    assert!(
        unexpected(&refused).is_empty(),
        "only 503 during the failover: {refused:?}"
    );
    service.wait_ready(200).await;
    for n in 4..6 {
        assert_eq!(service.post_batch(n).await, 200);
    }
    everything_arrived(&telegram, &standby.url(), 6).await;
}
