//! The monitoring loop as operators run it, from Debian's binaries: postgres_exporter with the shipped
//! `alerts/queries.yaml` scraping a test database, and Prometheus scraping it every second with a test
//! copy of `alerts/postgres.rules.yml` whose `for:` are all 1 s, so that a real condition fires in seconds.
//! Every process listens on loopback only and is killed when its handle is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};

use super::prerequisites::Prerequisite;
use super::{eventually, free_port};

pub const EXPORTER: &str = "prometheus-postgres-exporter";
pub const PROMETHEUS: &str = "prometheus";
pub const PROMTOOL: &str = "promtool";

/// How long a process may take to start, or a scraped condition to reach Prometheus's alerts.
const PATIENCE: Duration = Duration::from_secs(60);

/// A file of the repository, by its path from the top.
pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Whether the test may use Prometheus, promtool and the exporter: `false` when the person asked to skip
/// them (recorded as skipped); a missing binary fails the test.
pub fn prometheus_available() -> bool {
    if Prerequisite::Prometheus.skip_requested() {
        Prerequisite::Prometheus.skipped();
        return false;
    }
    for binary in [PROMETHEUS, PROMTOOL, EXPORTER] {
        let runs = std::process::Command::new(binary)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !runs {
            Prerequisite::Prometheus.missing(&format!("{binary} does not run from PATH"));
        }
    }
    true
}

/// `promtool ARGS` run from the repository's top: (success, stdout and stderr).
pub fn promtool(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(PROMTOOL)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// postgres_exporter 0.11 with the shipped custom queries.
pub struct Exporter {
    /// Its metrics page.
    pub url: String,
    /// `host:port`, for a scrape config.
    pub target: String,
    _child: Child,
}

/// Starts the exporter on a free loopback port for the database at `pg_url`; returns once it serves
/// metrics from PostgreSQL (`pg_up 1`).
pub async fn start_exporter(pg_url: &str) -> Exporter {
    let port = free_port();
    let target = format!("127.0.0.1:{port}");
    // lib/pq, in the exporter, insists on TLS unless told otherwise; the tests' server is on loopback.
    let separator = if pg_url.contains('?') { '&' } else { '?' };
    let dsn = if pg_url.contains("sslmode=") {
        pg_url.to_owned()
    } else {
        format!("{pg_url}{separator}sslmode=disable")
    };
    // The DSN carries a password: it goes through the environment and the exporter's output is dropped.
    let child = Command::new(EXPORTER)
        .env("DATA_SOURCE_NAME", dsn)
        .arg(format!("--web.listen-address={target}"))
        .arg(format!(
            "--extend.query-path={}",
            repo_file("alerts/queries.yaml").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start prometheus-postgres-exporter");
    let url = format!("http://{target}/metrics");
    let client = reqwest::Client::new();
    eventually("the exporter to reach PostgreSQL", PATIENCE, || {
        let request = client.get(&url).send();
        async move {
            let text = request.await.ok()?.text().await.ok()?;
            text.lines().any(|l| l == "pg_up 1").then_some(())
        }
    })
    .await;
    Exporter {
        url,
        target,
        _child: child,
    }
}

/// The shipped alerting rules, changed for a test that waits for a real condition to fire.
#[derive(Debug, Clone)]
pub struct TestRules {
    document: yaml_serde::Value,
}

impl TestRules {
    /// `alerts/postgres.rules.yml` with every `for:` shortened to 1 s.
    pub fn shipped() -> TestRules {
        let text = std::fs::read_to_string(repo_file("alerts/postgres.rules.yml")).unwrap();
        let mut document: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
        for rule in rules_mut(&mut document) {
            rule["for"] = yaml_serde::Value::String("1s".to_owned());
        }
        TestRules { document }
    }

    /// Replaces `from` by `to` in the expression of every rule of `alert` (e.g. "> 600" by "> 1"); fails
    /// unless each of them contains `from` once.
    pub fn with_expr_change(mut self, alert: &str, from: &str, to: &str) -> TestRules {
        let mut changed = 0;
        for rule in rules_mut(&mut self.document) {
            if rule["alert"].as_str() != Some(alert) {
                continue;
            }
            let expr = rule["expr"].as_str().unwrap().to_owned();
            assert_eq!(expr.matches(from).count(), 1, "{from:?} in {alert}: {expr}");
            rule["expr"] = yaml_serde::Value::String(expr.replace(from, to));
            changed += 1;
        }
        assert!(changed > 0, "no rule alerts {alert}");
        self
    }

    fn text(&self) -> String {
        yaml_serde::to_string(&self.document).unwrap()
    }
}

fn rules_mut(document: &mut yaml_serde::Value) -> Vec<&mut yaml_serde::Value> {
    let groups = document["groups"].as_sequence_mut().unwrap();
    groups
        .iter_mut()
        .flat_map(|group| group["rules"].as_sequence_mut().unwrap().iter_mut())
        .collect()
}

/// One scrape target and the labels the scrape config puts on its series (e.g. `cluster: main`).
pub type ScrapeTarget<'a> = (&'a str, &'a [(&'a str, &'a str)]);

/// Prometheus 2.42, scraping and evaluating every second.
pub struct Prometheus {
    pub url: String,
    client: reqwest::Client,
    _child: Child,
    _dir: tempfile::TempDir,
}

/// Starts Prometheus on a free loopback port with `rules`, sending alerts to `alertmanager` (its base URL)
/// when given; returns once `/-/ready` answers.
pub async fn start_prometheus(
    scrape: &[ScrapeTarget<'_>],
    rules: &TestRules,
    alertmanager: Option<&str>,
) -> Prometheus {
    start_prometheus_on(free_port(), scrape, rules, alertmanager).await
}

/// Like [`start_prometheus`], on `port` (for a service configured with its URL before it starts).
pub async fn start_prometheus_on(
    port: u16,
    scrape: &[ScrapeTarget<'_>],
    rules: &TestRules,
    alertmanager: Option<&str>,
) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), rules.text()).unwrap();
    let targets: Vec<Value> = scrape
        .iter()
        .map(|(target, labels)| {
            let labels: serde_json::Map<String, Value> = labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect();
            serde_json::json!({ "targets": [target], "labels": labels })
        })
        .collect();
    let alerting = alertmanager.map(|url| {
        let host = url.trim_start_matches("http://").trim_end_matches('/');
        serde_json::json!({ "alertmanagers": [{ "static_configs": [{ "targets": [host] }] }] })
    });
    // JSON is YAML: no hand-built YAML quoting. The timeout may not exceed the 1 s interval.
    let config = serde_json::json!({
        "global": { "scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s" },
        "rule_files": ["rules.yml"],
        "alerting": alerting.unwrap_or_else(|| serde_json::json!({})),
        "scrape_configs": [{ "job_name": "postgres", "static_configs": targets }],
    });
    std::fs::write(dir.path().join("prometheus.yml"), config.to_string()).unwrap();
    let child = Command::new(PROMETHEUS)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start prometheus");
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    eventually("Prometheus to be ready", PATIENCE, || {
        let request = client.get(format!("{url}/-/ready")).send();
        async move { request.await.ok().filter(|r| r.status().is_success()) }
    })
    .await;
    Prometheus {
        url,
        client,
        _child: child,
        _dir: dir,
    }
}

impl Prometheus {
    /// `GET /api/v1/query`: the `data` of a success, or Prometheus's error text.
    pub async fn query(&self, query: &str) -> Result<Value, String> {
        let response = self
            .client
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if body["status"] == "success" {
            Ok(body["data"].clone())
        } else {
            Err(format!("{}: {}", body["errorType"], body["error"]))
        }
    }

    /// The result of an instant query that must succeed.
    pub async fn instant(&self, query: &str) -> Value {
        self.query(query)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    /// Waits until `query` returns at least one series; returns the result.
    pub async fn wait_for_series(&self, query: &str) -> Vec<Value> {
        eventually(&format!("series for {query}"), PATIENCE, || async move {
            let data = self.instant(query).await;
            data["result"].as_array().filter(|r| !r.is_empty()).cloned()
        })
        .await
    }

    /// The `data` of `GET {path}` (e.g. `/api/v1/alertmanagers`).
    pub async fn api(&self, path: &str) -> Value {
        let body: Value = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(body["status"], "success", "GET {path}: {body}");
        body["data"].clone()
    }

    /// The alerts of `alertname` whose labels include `labels`, pending or firing (`GET /api/v1/alerts`).
    pub async fn alerts(&self, alertname: &str, labels: &[(&str, &str)]) -> Vec<Value> {
        self.api("/api/v1/alerts").await["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["labels"]["alertname"] == alertname)
            .filter(|a| labels.iter().all(|(k, v)| a["labels"][*k] == *v))
            .cloned()
            .collect()
    }

    /// Waits until an alert of `alertname` carrying `labels` is firing; returns it.
    pub async fn wait_for_firing(&self, alertname: &str, labels: &[(&str, &str)]) -> Value {
        eventually(&format!("{alertname} to fire"), PATIENCE, || async move {
            let alerts = self.alerts(alertname, labels).await;
            alerts.into_iter().find(|a| a["state"] == "firing")
        })
        .await
    }

    /// Waits until no alert of `alertname` carrying `labels` is pending or firing any more.
    pub async fn wait_for_resolved(&self, alertname: &str, labels: &[(&str, &str)]) {
        eventually(
            &format!("{alertname} to resolve"),
            PATIENCE,
            || async move {
                self.alerts(alertname, labels)
                    .await
                    .is_empty()
                    .then_some(())
            },
        )
        .await
    }
}

/// The real exporter on the tests' PostgreSQL and Prometheus scraping it as `cluster: main` (the shipped
/// rules loaded), once Prometheus has rates to show; `None` when the person asked to skip them.
pub async fn watching_main() -> Option<(Exporter, Prometheus)> {
    if !prometheus_available() {
        return None;
    }
    let exporter = start_exporter(&super::postgres_admin_url()).await;
    let labels: &[(&str, &str)] = &[("cluster", "main")];
    let prometheus =
        start_prometheus(&[(&exporter.target, labels)], &TestRules::shipped(), None).await;
    prometheus
        .wait_for_series(r#"rate(pg_stat_database_xact_commit{cluster="main"}[1m])"#)
        .await;
    Some((exporter, prometheus))
}
