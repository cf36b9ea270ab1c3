//! A newcomer's first ten minutes, through the real binary: `postgram init` writes a config that
//! `check` accepts and `run` starts with, the README's test alert reaches Telegram and `GET /incidents`,
//! the sample config holds no usable secret, a Telegram that does not answer says why (in the log and
//! in `/-/ready`), a rejected bot token stops the service with a clear message, and `postgram health`
//! (the container's HEALTHCHECK) tells a healthy service from a missing one.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use support::fake_telegram::FakeTelegram;
use support::{
    Backend, TestApp, TestState, config_text, eventually, free_port, postgres_admin_url,
    spawn_postgram_with,
};

const BINARY: &str = env!("CARGO_BIN_EXE_postgram");
/// A bot token of the real shape, to show that it never reaches the output.
const BOT_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
/// Every variable the sample config and `postgram init`'s config read: unset unless a test sets it.
const VARIABLES: [&str; 6] = [
    "TELEGRAM_TOKEN",
    "ALERTMANAGER_TOKEN",
    "API_TOKEN",
    "MAIN_DSN",
    "POSTGRAM_STATE",
    "POSTGRAM_LISTEN",
];

fn postgram(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(BINARY);
    command.args(args).env_remove("POSTGRAM_CONFIG");
    for name in VARIABLES {
        command.env_remove(name);
    }
    command
        .envs(env.iter().copied())
        .output()
        .expect("run postgram")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("postgram.example.yaml")
}

/// The tokens `postgram init` printed, in order: the webhook token, then the API token.
fn printed_tokens(stdout: &str) -> (String, String) {
    let tokens: Vec<String> = stdout
        .split_whitespace()
        .filter(|word| word.starts_with("pgm_"))
        .map(str::to_owned)
        .collect();
    assert_eq!(tokens.len(), 2, "{stdout}");
    (tokens[0].clone(), tokens[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_a_config_that_check_accepts_and_run_starts_with() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("postgram.yaml");
    let path = config.to_str().unwrap();
    let owner = "123456789";

    let written = postgram(&["init", "--owner", owner, "--config", path], &[]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    let stdout = text(&written.stdout);
    let (webhook_token, api_token) = printed_tokens(&stdout);
    assert_ne!(webhook_token, api_token);
    let file = std::fs::read_to_string(&config).unwrap();
    assert!(file.contains(&webhook_token), "{file}");
    assert!(
        !file.contains(&api_token),
        "only the API token's digest is kept:\n{file}"
    );
    assert!(file.contains(&support::sha256_hex(&api_token)), "{file}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the file holds the webhook token");

    // Never overwritten: a second init fails and leaves the file as it was.
    let again = postgram(&["init", "--owner", "1", "--config", path], &[]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("exists already"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), file);
    // Fresh tokens every time.
    let other = dir.path().join("other.yaml");
    let other_run = postgram(
        &[
            "init",
            "--owner",
            owner,
            "--config",
            other.to_str().unwrap(),
        ],
        &[],
    );
    let (other_webhook, other_api) = printed_tokens(&text(&other_run.stdout));
    assert!(other_webhook != webhook_token && other_api != api_token);

    let dsn = postgres_admin_url();
    let env = [("TELEGRAM_TOKEN", BOT_TOKEN), ("MAIN_DSN", dsn.as_str())];
    let checked = postgram(&["check", "--config", path], &env);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    let summary = text(&checked.stdout);
    let beside = dir.path().join("postgram.db");
    assert!(
        summary.contains(&format!("state in SQLite file {}", beside.display())),
        "{summary}"
    );
    // Without `state`, the environment decides, as in the container image.
    let volume = dir.path().join("volume.db");
    let state = format!("sqlite://{}", volume.display());
    let in_volume = postgram(
        &["check", "--config", path],
        &[env[0], env[1], ("POSTGRAM_STATE", state.as_str())],
    );
    assert!(
        text(&in_volume.stdout).contains(&format!("state in SQLite file {}", volume.display())),
        "{}",
        text(&in_volume.stdout)
    );

    // Run it as written, only pointed at the fake Bot API instead of Telegram's.
    let telegram = FakeTelegram::start().await;
    let pointed = file.replace(
        "  token: \"${TELEGRAM_TOKEN}\"",
        &format!(
            "  token: \"${{TELEGRAM_TOKEN}}\"\n  api_url: \"{}\"",
            telegram.api_url()
        ),
    );
    assert_ne!(pointed, file);
    let running = dir.path().join("running.yaml");
    std::fs::write(&running, pointed).unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = spawn_postgram_with(
        BINARY,
        &running,
        port,
        "info",
        Stdio::null(),
        &[env[0], env[1], ("POSTGRAM_LISTEN", listen.as_str())],
    )
    .await;

    // The README's one curl: the shipped test alert, with the webhook token.
    let alert =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/test-alert.json"))
            .unwrap();
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(format!("{base}/alerts/alertmanager"))
            .bearer_auth(&webhook_token)
            .header("content-type", "application/json")
            .body(alert.clone())
            .send()
    };
    let outcome = |answer: serde_json::Value| answer["alerts"][0]["outcome"].clone();
    let answer: serde_json::Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(outcome(answer.clone()), "opened", "{answer}");
    let again: serde_json::Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(outcome(again.clone()), "duplicate", "{again}");
    let sent = telegram
        .wait_for(
            "the test alert in the owner's chat",
            Duration::from_secs(30),
            |t| {
                t.messages(owner.parse().unwrap())
                    .into_iter()
                    .find(|m| m.text.contains("PostgramTestAlert"))
            },
        )
        .await;
    assert!(
        sent.text.contains("A test alert, sent by hand"),
        "{}",
        sent.text
    );
    // The API token that was printed, and is kept only as a digest, opens the history.
    let history = client
        .get(format!("{base}/incidents"))
        .bearer_auth(&api_token);
    let history: serde_json::Value = history.send().await.unwrap().json().await.unwrap();
    let incidents = history["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0]["database"], "main", "{incidents:?}");
    assert_eq!(
        incidents[0]["alertname"], "PostgramTestAlert",
        "{incidents:?}"
    );

    terminate(&mut child).await;
}

async fn terminate(child: &mut tokio::process::Child) -> std::process::ExitStatus {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().await.unwrap()
}

#[test]
fn the_sample_config_holds_no_usable_secret() {
    let sample = sample();
    let sample = sample.to_str().unwrap();
    // Everything but the API token: the service still refuses, naming the variable and its line.
    let env = [
        ("TELEGRAM_TOKEN", BOT_TOKEN),
        ("ALERTMANAGER_TOKEN", "a-long-enough-webhook-token"),
    ];
    let refused = postgram(&["run", "--config", sample], &env);
    assert!(!refused.status.success());
    let log = text(&refused.stderr);
    assert!(
        log.contains("api_tokens[0].token: environment variable API_TOKEN is not set"),
        "{log}"
    );
    assert!(log.contains("invalid configuration"), "{log}");

    let bare = postgram(&["check", "--config", sample], &[]);
    assert!(!bare.status.success());
    let problems = text(&bare.stderr);
    for variable in ["TELEGRAM_TOKEN", "ALERTMANAGER_TOKEN", "API_TOKEN"] {
        assert!(
            problems.contains(&format!("environment variable {variable} is not set")),
            "{problems}"
        );
    }
}

/// The test config, with the Bot API at `api_url`.
fn config_with_api(state: &TestState, listen: &str, api_url: &str) -> String {
    config_text(&state.url, listen).replace(
        &format!(
            r#"telegram: {{ token: "{}", api_url: "http://127.0.0.1:9" }}"#,
            support::BOT_TOKEN
        ),
        &format!(r#"telegram: {{ token: "{BOT_TOKEN}", api_url: "{api_url}" }}"#),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_bot_token_stops_the_service_with_a_clear_message() {
    let state = TestState::new(Backend::Sqlite).await.unwrap();
    let telegram = FakeTelegram::start().await;
    telegram.set_unauthorized(true);
    let config = state.dir.path().join("postgram.yaml");
    let text_of = config_with_api(&state, "127.0.0.1:0", &telegram.api_url());
    assert!(text_of.contains(BOT_TOKEN));
    std::fs::write(&config, text_of).unwrap();
    let run = tokio::process::Command::new(BINARY)
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the service stops by itself")
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log = text(&output.stderr);
    assert!(
        log.contains("Telegram rejected the bot token (401 Unauthorized): check TELEGRAM_TOKEN"),
        "{log}"
    );
    let secret = BOT_TOKEN.split_once(':').unwrap().1;
    assert!(!log.contains(secret), "the token is never printed: {log}");
    assert_eq!(
        telegram.calls_to("getMe").len(),
        1,
        "no retry can help a wrong token"
    );
}

/// Polls `/-/ready` until its body contains `needle`; returns the status and body.
async fn ready_saying(base: &str, needle: &str) -> (u16, String) {
    let client = reqwest::Client::new();
    let what = format!("/-/ready to say {needle:?}");
    eventually(&what, Duration::from_secs(30), || {
        let request = client.get(format!("{base}/-/ready")).send();
        async move {
            let response = request.await.ok()?;
            let status = response.status().as_u16();
            let body = response.text().await.ok()?;
            body.contains(needle).then_some((status, body))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_named_in_the_log_and_in_readiness() {
    let state = TestState::new(Backend::Sqlite).await.unwrap();
    let closed = free_port();
    let port = free_port();
    let config = state.dir.path().join("postgram.yaml");
    let api_url = format!("http://127.0.0.1:{closed}");
    std::fs::write(
        &config,
        config_with_api(&state, &format!("127.0.0.1:{port}"), &api_url),
    )
    .unwrap();
    let mut child = spawn_postgram_with(BINARY, &config, port, "info", Stdio::piped(), &[]).await;
    let (status, body) =
        ready_saying(&format!("http://127.0.0.1:{port}"), "connection refused").await;
    assert_eq!(status, 200, "alerts are still accepted: {body}");
    assert!(
        body.contains("telegram: not answering yet: connection refused"),
        "{body}"
    );
    assert_eq!(terminate(&mut child).await.code(), Some(0));
    let mut log = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut log)
        .await
        .unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("Telegram is not answering yet"))
        .unwrap_or_else(|| panic!("no warning in {log}"));
    assert!(line.contains("connection refused"), "{line}");
    assert!(!log.contains(BOT_TOKEN.split_once(':').unwrap().1), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_answering_5xx_is_named_in_readiness_until_it_recovers() {
    let state = TestState::new(Backend::Sqlite).await.unwrap();
    let telegram = FakeTelegram::start().await;
    telegram.set_down(true);
    let text = config_with_api(&state, "127.0.0.1:0", &telegram.api_url());
    let config = postgram::config::Config::from_text(
        &text,
        &state.dir.path().join("postgram.yaml"),
        &|_| None,
    )
    .unwrap();
    let app = TestApp::start(config).await;
    // teloxide waits 10 s after a 5xx before it reports it.
    let (status, body) = ready_saying(&app.base, "HTTP 5xx").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("telegram: not answering yet: HTTP 5xx from Telegram: 502 Bad Gateway"),
        "{body}"
    );
    telegram.set_down(false);
    let (_, body) = ready_saying(&app.base, "telegram: ok").await;
    assert!(body.contains("state store: ok"), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_0_for_a_healthy_service_and_1_otherwise() {
    let state = TestState::new(Backend::Sqlite).await.unwrap();
    let app = TestApp::start(support::config(&state)).await;
    let url = format!("{}/-/healthy", app.base);
    let healthy = postgram(&["health", "--url", &url], &[]);
    assert!(healthy.status.success(), "{}", text(&healthy.stderr));
    assert!(
        text(&healthy.stdout).contains("200 OK"),
        "{}",
        text(&healthy.stdout)
    );

    let missing = postgram(
        &["health", "--url", &format!("{}/-/nothing", app.base)],
        &[],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("404"),
        "{}",
        text(&missing.stderr)
    );
    app.stop().await;

    let closed = format!("http://127.0.0.1:{}/-/healthy", free_port());
    let down = postgram(&["health", "--url", &closed], &[]);
    assert_eq!(down.status.code(), Some(1));
    assert!(
        text(&down.stderr).contains("Connection refused"),
        "{}",
        text(&down.stderr)
    );
}
