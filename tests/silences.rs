//! The silence client against the real Alertmanager binary: a silence is created, read, listed and
//! expired; Alertmanager's refusals come back with its reason; a dead address is reported unreachable.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use postgram::silences::{Matcher, NewSilence, SilenceApi, SilenceError, matchers_for};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use support::free_port;

/// A running Alertmanager; killed when dropped, before its directory is removed.
struct Running {
    base: String,
    _child: Child,
    _dir: TempDir,
}

/// Starts Alertmanager, or returns `None` when the person asked to skip the tests that need it.
async fn start() -> Option<Running> {
    let binary = support::alertmanager::alertmanager_binary()?;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("am.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n",
    )
    .unwrap();
    let log = dir.path().join("am.log");
    let port = free_port();
    let mut child = Command::new(&binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // No gossip port: a single instance, and nothing listening beyond loopback.
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base, &mut child, &log).await;
    Some(Running {
        base,
        _child: child,
        _dir: dir,
    })
}

async fn wait_ready(base: &str, child: &mut Child, log: &Path) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = client.get(format!("{base}/-/ready")).send().await;
        if ready.is_ok_and(|response| response.status() == reqwest::StatusCode::OK) {
            return;
        }
        let exited = child.try_wait().unwrap();
        if exited.is_some() || Instant::now() > deadline {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("Alertmanager not ready (exit: {exited:?}):\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn labels() -> BTreeMap<String, String> {
    [("alertname", "PostgresDown"), ("cluster", "main")]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

fn one_hour(matchers: Vec<Matcher>) -> NewSilence {
    let now = Utc::now();
    NewSilence {
        matchers,
        starts_at: now,
        ends_at: now + chrono::Duration::hours(1),
        created_by: "postgram:telegram:42".to_owned(),
        comment: "maintenance of pg-main-1".to_owned(),
    }
}

#[tokio::test]
async fn a_silence_is_created_listed_and_expired() {
    let Some(running) = start().await else {
        return;
    };
    let am = SilenceApi::new(&running.base);
    let new = one_hour(matchers_for(&labels()));

    let id = am.create(&new).await.unwrap();
    let silence = am.get(&id).await.unwrap().unwrap();
    assert_eq!(silence.id, id);
    assert_eq!(silence.state, "active");
    assert_eq!(silence.matchers, new.matchers);
    assert_eq!(silence.created_by, new.created_by);
    assert_eq!(silence.comment, new.comment);
    // Alertmanager keeps milliseconds.
    assert_eq!(
        silence.ends_at.timestamp_millis(),
        new.ends_at.timestamp_millis()
    );

    let ours = am.list_active(Some("postgram:")).await.unwrap();
    assert_eq!(ours, vec![silence.clone()]);
    assert_eq!(am.list_active(None).await.unwrap(), vec![silence]);
    assert!(
        am.list_active(Some("someone-else"))
            .await
            .unwrap()
            .is_empty()
    );

    am.expire(&id).await.unwrap();
    let expired = am.get(&id).await.unwrap().unwrap();
    assert_eq!(expired.state, "expired");
    assert!(expired.ends_at <= Utc::now());
    assert!(am.list_active(None).await.unwrap().is_empty());

    // Pressing "unsilence" twice, or on a silence Alertmanager has forgotten, is not an error.
    am.expire(&id).await.unwrap();
    let unknown = "00000000-0000-0000-0000-000000000000";
    am.expire(unknown).await.unwrap();
    assert_eq!(am.get(unknown).await.unwrap(), None);
}

#[tokio::test]
async fn alertmanagers_refusal_comes_back_with_its_reason() {
    let Some(running) = start().await else {
        return;
    };
    let am = SilenceApi::new(&running.base);

    let mut backwards = one_hour(matchers_for(&labels()));
    backwards.ends_at = backwards.starts_at - chrono::Duration::minutes(5);
    match am.create(&backwards).await {
        Err(SilenceError::Rejected { status, message }) => {
            assert_eq!(status, 400);
            assert!(
                message.contains("start time must be before end time"),
                "{message}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }

    match am.create(&one_hour(Vec::new())).await {
        Err(SilenceError::Rejected { status, message }) => {
            assert_eq!(status, 422);
            assert!(message.contains("matchers"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }

    match am.get("not-a-uuid").await {
        Err(SilenceError::Rejected { status: 422, .. }) => {}
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(am.list_active(None).await.unwrap().is_empty());

    // A URL that misses the API must not make every silence look forgotten.
    let astray = SilenceApi::new(&format!("{}/prefix", running.base));
    match astray.get("00000000-0000-0000-0000-000000000000").await {
        Err(SilenceError::Rejected { status: 404, .. }) => {}
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_dead_address_is_unreachable_and_keeps_its_credentials_to_itself() {
    let port = free_port();
    let am = SilenceApi::new(&format!("http://admin:s3cret@127.0.0.1:{port}"));
    let error = am.list_active(None).await.unwrap_err();
    assert!(matches!(error, SilenceError::Unreachable(_)), "{error:?}");
    let text = format!("{error} {error:?} {am:?}");
    assert!(!text.contains("s3cret"), "{text}");

    let error = am.expire("00000000-0000-0000-0000-000000000000").await;
    assert!(
        matches!(error, Err(SilenceError::Unreachable(_))),
        "{error:?}"
    );
}
