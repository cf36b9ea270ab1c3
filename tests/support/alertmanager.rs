//! The real Alertmanager binary (Debian's `prometheus-alertmanager`), started for one test on a loopback
//! port with no gossip port, routing every alert to the service's webhook.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::prerequisites::Prerequisite;
use super::{WEBHOOK_TOKEN, eventually, free_port};

/// The installed Alertmanager binary; `None` when the person asked to skip the tests that need it (it
/// fails the test when it is missing).
pub fn alertmanager_binary() -> Option<String> {
    if Prerequisite::Alertmanager.skip_requested() {
        Prerequisite::Alertmanager.skipped();
        return None;
    }
    let found = ["prometheus-alertmanager", "alertmanager"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(str::to_owned);
    match found {
        Some(binary) => Some(binary),
        None => Prerequisite::Alertmanager
            .missing("neither prometheus-alertmanager nor alertmanager runs from PATH"),
    }
}

pub struct Alertmanager {
    pub base: String,
    _child: Child,
}

pub async fn start_alertmanager(
    binary: &str,
    dir: &std::path::Path,
    webhook: &str,
) -> Alertmanager {
    let config = format!(
        r#"
route:
  receiver: postgram
  group_by: [alertname, cluster]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: postgram
    webhook_configs:
      - url: "{webhook}"
        send_resolved: true
        http_config:
          authorization: {{ type: Bearer, credentials: "{WEBHOOK_TOKEN}" }}
"#
    );
    let file = dir.join("alertmanager.yml");
    std::fs::write(&file, config).unwrap();
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // No gossip port: a single instance, and nothing listening beyond loopback.
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start alertmanager");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    eventually("Alertmanager to be ready", Duration::from_secs(20), || {
        let request = client.get(format!("{base}/-/ready")).send();
        async move { request.await.ok().filter(|r| r.status().is_success()) }
    })
    .await;
    Alertmanager {
        base,
        _child: child,
    }
}
