//! What the integration tests share: a state store per test (an SQLite file, or a fresh PostgreSQL
//! database), the service started through its real entry point on port 0, and webhook payload builders.
#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used)]

pub mod alertmanager;
pub mod clock;
pub mod deploy_files;
pub mod fake_telegram;
pub mod monitoring;
pub mod monitoring_files;
pub mod otlp_collector;
pub mod pg_cluster;
pub mod prerequisites;
pub mod promql;
pub mod service;
pub mod smtp_sink;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use postgram::app::{self, Running};
use postgram::config::Config;
use serde_json::{Value, json};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};

#[allow(unused_imports)] // not every test binary starts a `Service`
pub use service::Service;

use clock::TestClock;

use prerequisites::Prerequisite;

/// Runs each named scenario `async fn name(backend: Backend)` once on SQLite and once on PostgreSQL.
#[allow(unused_macros)] // not every test binary runs scenarios on both backends
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

/// A bot token of the shape BotFather gives (the config refuses others); the fake accepts any.
pub const BOT_TOKEN: &str = "123456:test-bot-token-of-postgram-tests-00";
pub const WEBHOOK_TOKEN: &str = "webhook-token-for-tests-0123";
pub const API_TOKEN: &str = "api-token-for-tests-0123456789";

/// The administered databases of a test without a config: one named `main` at `dsn`.
pub fn main_targets(dsn: &str) -> postgram::exec::Targets {
    postgram::exec::Targets::new(&[postgram::config::DatabaseConfig {
        name: postgram::domain::DatabaseName::parse("main").unwrap(),
        dsn: postgram::config::Secret::new(dsn),
        matchers: std::collections::BTreeMap::new(),
        admins: Vec::new(),
        viewers: Vec::new(),
        chat: None,
        email: Vec::new(),
        reconnect_after: postgram::config::RECONNECT_AFTER,
        metrics_selector: r#"{cluster="main"}"#.to_owned(),
        language: postgram::i18n::Lang::En,
    }])
    .unwrap()
}

/// The PostgreSQL server of the tests, as a superuser: `POSTGRAM_TEST_POSTGRES` (`scripts/test` creates a
/// role with a password and sets it), else the local server's `postgres` user without a password.
pub fn postgres_admin_url() -> String {
    std::env::var("POSTGRAM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where one test keeps its state; removed when dropped (PostgreSQL databases are dropped by the next
/// test run if a test panicked first).
pub struct TestState {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    /// The `state:` value for the config.
    pub url: String,
    postgres_db: Option<String>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

async fn admin_connection() -> Result<PgConnection, sqlx::Error> {
    tokio::time::timeout(
        Duration::from_secs(5),
        PgConnection::connect(&postgres_admin_url()),
    )
    .await
    .map_err(|_| sqlx::Error::PoolTimedOut)?
}

impl TestState {
    /// A fresh store, or `None` when PostgreSQL is wanted and the person asked to skip it (it fails the
    /// test when it is unreachable).
    pub async fn new(backend: Backend) -> Option<TestState> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => Some(TestState {
                backend,
                url: format!("sqlite://{}", dir.path().join("state.db").display()),
                dir,
                postgres_db: None,
            }),
            Backend::Postgres => {
                if Prerequisite::Postgres.skip_requested() {
                    Prerequisite::Postgres.skipped();
                    return None;
                }
                let mut admin = match admin_connection().await {
                    Ok(conn) => conn,
                    Err(e) => Prerequisite::Postgres.missing(&format!(
                        "connecting to {} failed: {e}",
                        prerequisites::without_password(&postgres_admin_url())
                    )),
                };
                drop_stale_databases(&mut admin).await;
                let now = chrono::Utc::now().timestamp();
                let name = format!(
                    "postgram_test_{now}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                let url = postgres_admin_url();
                let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
                Some(TestState {
                    backend,
                    url: format!("{base}/{name}"),
                    dir,
                    postgres_db: Some(name),
                })
            }
        }
    }

    /// A direct pool on the test's PostgreSQL database (PostgreSQL backend only).
    pub async fn postgres_pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .expect("connect to the test database")
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    /// Drops the PostgreSQL database; call at the end of a test.
    pub async fn cleanup(self) {
        if let Some(name) = &self.postgres_db
            && let Ok(mut admin) = admin_connection().await
        {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// Test databases older than an hour belong to runs that panicked before cleaning up.
async fn drop_stale_databases(admin: &mut PgConnection) {
    let cutoff = chrono::Utc::now().timestamp() - 3600;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'postgram_test_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let created: i64 = name
            .trim_start_matches("postgram_test_")
            .split('_')
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(i64::MAX);
        if created < cutoff {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// The config every test starts from: two databases, an owner, a viewer API token.
pub fn config_text(state_url: &str, listen: &str) -> String {
    format!(
        r#"
telegram: {{ token: "{BOT_TOKEN}", api_url: "http://127.0.0.1:9" }}
http: {{ listen: "{listen}", webhook_token: "{WEBHOOK_TOKEN}" }}
state: "{state_url}"
owners: [1000]
smtp: {{ url: "smtp://127.0.0.1:9", from: "postgram@example.com" }}
escalation: {{ ack_timeout: 10m }}
databases:
  - name: main
    dsn: "postgres://postgres@127.0.0.1:5432/postgres"
    match: {{ cluster: main }}
    admins: [2000, "@alice"]
    chat: -1001
    email: [dba@example.com]
  - name: billing
    dsn: "postgres://postgres@127.0.0.1:5432/postgres"
    match: {{ cluster: billing }}
    admins: [3000]
api_tokens:
  - {{ name: tests, token: "{API_TOKEN}", role: viewer }}
"#
    )
}

pub fn config(state: &TestState) -> Config {
    let text = config_text(&state.url, "127.0.0.1:0");
    Config::from_text(&text, &state.dir.path().join("postgram.yaml"), &|_| None)
        .expect("test config is valid")
}

/// The service, started in this process through `app::start`.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The service's time, which the test may move forward.
    pub clock: TestClock,
    running: Running,
}

impl TestApp {
    pub async fn start(config: Config) -> TestApp {
        TestApp::start_on(config, TestClock::default()).await
    }

    /// Starts the service on `clock` (a restart keeps the time the test moved to).
    pub async fn start_on(config: Config, clock: TestClock) -> TestApp {
        let running = app::start(config, clock.clock())
            .await
            .expect("service starts");
        TestApp {
            base: format!("http://{}", running.addr()),
            client: reqwest::Client::new(),
            clock,
            running,
        }
    }

    pub async fn stop(self) {
        self.running.stop().await.expect("clean shutdown");
    }

    pub async fn post_webhook(&self, body: &Value) -> (u16, Value) {
        self.post_raw(body.to_string().into_bytes(), Some(WEBHOOK_TOKEN))
            .await
    }

    pub async fn post_raw(&self, body: Vec<u8>, token: Option<&str>) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/alerts/alertmanager", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

/// The SHA-256 of `text` in lowercase hex, as the config (`token_sha256`) and the store keep API tokens.
/// The callback data the service puts on a button whose payload is `payload` (see `callback::Keyboard`).
pub fn button_token(payload: &str) -> String {
    sha256_hex(payload)[..12].to_owned()
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One alert for a webhook payload.
pub fn alert(fingerprint: &str, status: &str, starts_at: &str, labels: Value) -> Value {
    let ends_at = if status == "firing" {
        "0001-01-01T00:00:00Z".to_owned()
    } else {
        "2026-11-22T12:00:00Z".to_owned()
    };
    json!({
        "status": status,
        "labels": labels,
        "annotations": { "summary": format!("alert {fingerprint}"), "description": "a < b & c > d" },
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus.local/graph",
        "fingerprint": fingerprint,
    })
}

/// A webhook notification (version 4) carrying `alerts`.
pub fn notification(status: &str, alerts: Vec<Value>) -> Value {
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"test\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "postgram",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.local",
        "alerts": alerts,
    })
}

pub fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/alertmanager")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON")
}

/// A loopback port that was free a moment ago (for processes that need an address up front).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `check` until it returns `Some`, failing after `limit`. For waiting on other processes, whose
/// progress the test cannot observe any other way.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `postgram` binary, run as operators run it: `postgram run --config FILE`, logging at `level` to
/// `stderr`. Returns once `/-/ready` answers on `port`.
pub async fn spawn_postgram(
    binary: &str,
    config: &Path,
    port: u16,
    level: &str,
    stderr: std::process::Stdio,
) -> tokio::process::Child {
    spawn_postgram_with(binary, config, port, level, stderr, &[]).await
}

/// [`spawn_postgram`] with these environment variables set for the service.
pub async fn spawn_postgram_with(
    binary: &str,
    config: &Path,
    port: u16,
    level: &str,
    stderr: std::process::Stdio,
    env: &[(&str, &str)],
) -> tokio::process::Child {
    spawn_postgram_as(binary, &[], config, port, level, stderr, env).await
}

/// [`spawn_postgram_with`] with these options before `run` (`--log-format json`).
pub async fn spawn_postgram_as(
    binary: &str,
    options: &[&str],
    config: &Path,
    port: u16,
    level: &str,
    stderr: std::process::Stdio,
    env: &[(&str, &str)],
) -> tokio::process::Child {
    let child = tokio::process::Command::new(binary)
        .args(options)
        .args(["run", "--config"])
        .arg(config)
        .envs(env.iter().copied())
        .env("RUST_LOG", level)
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("start postgram");
    let client = reqwest::Client::new();
    eventually("postgram to be ready", Duration::from_secs(20), || {
        let request = client
            .get(format!("http://127.0.0.1:{port}/-/ready"))
            .send();
        async move { request.await.ok().filter(|r| r.status().is_success()) }
    })
    .await;
    child
}
