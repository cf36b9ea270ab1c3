//! The `postgram` binary as operators run it: `check`, graceful shutdown on SIGTERM, and crash safety
//! (SIGKILL while webhooks stream in loses nothing that was answered 200).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::fake_telegram::{FakeTelegram, Fault};
use support::{
    API_TOKEN, BOT_TOKEN, Backend, TestState, WEBHOOK_TOKEN, alert, config_text, eventually,
    free_port, notification,
};
use tokio::process::Child;

const BINARY: &str = env!("CARGO_BIN_EXE_postgram");

fn write_config(state: &TestState, port: u16) -> std::path::PathBuf {
    let path = state.dir.path().join("postgram.yaml");
    std::fs::write(&path, config_text(&state.url, &format!("127.0.0.1:{port}"))).unwrap();
    path
}

/// The service's log goes to a file beside its config (appended across restarts): a pipe nobody reads
/// would fill up under a busy service and stop it mid-write.
fn log_path(config: &Path) -> std::path::PathBuf {
    config.with_extension("log")
}

async fn spawn(config: &Path, port: u16) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(config))
        .expect("service log file");
    support::spawn_postgram(BINARY, config, port, "info", Stdio::from(log)).await
}

fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .expect("kill");
    assert!(status.success());
}

async fn stored_fingerprints(port: u16) -> HashSet<String> {
    let client = reqwest::Client::new();
    let mut found = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("http://127.0.0.1:{port}/incidents?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: serde_json::Value = client
            .get(url)
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for incident in page["incidents"].as_array().unwrap() {
            found.insert(incident["fingerprint"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return found,
        }
    }
}

async fn every_acknowledged_webhook_survives_sigkill(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let port = free_port();
    let config = write_config(&state, port);
    let mut child = spawn(&config, port).await;

    // Eight clients stream distinct notifications; each remembers what was answered 200.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for client_no in 0..8 {
        let acknowledged = Arc::clone(&acknowledged);
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for i in 0..100_000 {
                let fingerprint = format!("{client_no:02x}{i:014x}");
                let body = notification(
                    "firing",
                    vec![alert(
                        &fingerprint,
                        "firing",
                        "2026-11-22T11:00:00Z",
                        serde_json::json!({ "alertname": "Crash", "cluster": "main" }),
                    )],
                );
                let response = client
                    .post(format!("http://127.0.0.1:{port}/alerts/alertmanager"))
                    .bearer_auth(WEBHOOK_TOKEN)
                    .json(&body)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 200 => acknowledged.lock().unwrap().push(fingerprint),
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => return, // the service died
                }
            }
        }));
    }
    eventually("webhooks to flow", Duration::from_secs(20), || {
        let count = acknowledged.lock().unwrap().len();
        async move { (count >= 300).then_some(()) }
    })
    .await;
    child.start_kill().expect("SIGKILL");
    child.wait().await.unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged: Vec<String> = acknowledged.lock().unwrap().clone();

    let mut restarted = spawn(&config, port).await;
    let stored = stored_fingerprints(port).await;
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|f| !stored.contains(*f))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged notifications were lost, e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(5)]
    );
    eprintln!(
        "kill -9 under a webhook stream ({backend:?}): {} acknowledged notifications, none lost",
        acknowledged.len()
    );
    signal(&restarted, "TERM");
    restarted.wait().await.unwrap();
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_acknowledged_webhook_survives_sigkill() {
    every_acknowledged_webhook_survives_sigkill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_acknowledged_webhook_survives_sigkill() {
    every_acknowledged_webhook_survives_sigkill(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully() {
    let Some(state) = TestState::new(Backend::Sqlite).await else {
        return;
    };
    let port = free_port();
    let config = write_config(&state, port);
    let mut child = spawn(&config, port).await;
    signal(&child, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("stops within seconds")
        .unwrap();
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(log_path(&config)).unwrap();
    assert!(log.contains("stopped"), "{log}");
    // The port is free again.
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port released");
}

fn check(config: &Path, env: &[(&str, &str)]) -> (bool, String, String) {
    let output = std::process::Command::new(BINARY)
        .args(["check", "--config"])
        .arg(config)
        .env_remove("TELEGRAM_TOKEN")
        .env_remove("ALERTMANAGER_TOKEN")
        .env_remove("API_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("run postgram check");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_the_shipped_sample_config() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("postgram.example.yaml");
    let env = [
        ("TELEGRAM_TOKEN", BOT_TOKEN),
        ("ALERTMANAGER_TOKEN", "a-long-enough-webhook-token"),
        ("API_TOKEN", "a-long-enough-api-token"),
    ];
    let (ok, stdout, stderr) = check(&sample, &env);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("postgram.example.yaml: OK"), "{stdout}");
    assert!(
        stdout.contains("main: alerts with {cluster=\"main\"}"),
        "{stdout}"
    );

    let (ok, _, stderr) = check(&sample, &[]);
    assert!(!ok);
    assert!(stderr.contains("postgram.example.yaml:7:10: telegram.token: environment variable TELEGRAM_TOKEN is not set"), "{stderr}");
    assert!(stderr.contains("3 problem(s) found"), "{stderr}");
}

#[test]
fn check_reports_every_problem_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postgram.yaml");
    std::fs::write(
        &file,
        format!(
            "telegram: {{ token: \"{BOT_TOKEN}\" }}\n\
             http: {{ listen: nowhere, webhook_token: \"0123456789abcdef\" }}\n\
             owners: [-5]\n\
             catalog: {{ views: missing-views.yaml }}\n"
        ),
    )
    .unwrap();
    let (ok, _, stderr) = check(&file, &[]);
    assert!(!ok);
    let name = file.display();
    assert!(
        stderr.contains(&format!(
            "{name}:2:17: http.listen: \"nowhere\" is not an address"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:3:10: owners[0]: Telegram user id -5")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{name}:4:19: catalog.views: {}: cannot read this catalogue file: No such file",
            dir.path().join("missing-views.yaml").display()
        )),
        "the catalogue is read whatever the config's problems: {stderr}"
    );

    std::fs::write(&file, format!("telegram: {{ token: \"{BOT_TOKEN}\" }}\nhttp: {{ webhook_token: \"0123456789abcdef\" }}\nowners: [5]\ncatalog: {{ views: views.yaml }}\n")).unwrap();
    std::fs::write(
        dir.path().join("views.yaml"),
        "views:\n  - alias: [unclosed\n",
    )
    .unwrap();
    let (ok, _, stderr) = check(&file, &[]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("{}:", dir.path().join("views.yaml").display())),
        "{stderr}"
    );
}

/// A config, a views file and an actions file with twelve problems between them, type errors among
/// them: one run reports them all, each at its place, as text and as JSON.
#[test]
fn check_reports_every_problem_of_every_file_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postgram.yaml");
    std::fs::write(
        &file,
        r#"telegram: { token: "${TELEGRAM_TOKEN}" }
http: { listen: nowhere, webhook_token: short }
owners: [eleven]
catalog: { views: views.yaml, actions: actions.yaml }
databases:
  - name: main
    dsn: "postgres://postgram@127.0.0.1/postgres"
    match: { cluster: main }
    chat: "not a number"
links:
  - { alertname: Slow, views: [nope], actions: [gone] }
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("views.yaml"),
        "views:\n  - alias: Bad-Alias\n    title: [t]\n    sql: SELECT :missing\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("actions.yaml"),
        "actions:\n  - alias: a\n    title: t\n    confirm: maybe\n    steps: []\n",
    )
    .unwrap();
    let config = file.display().to_string();
    let views = dir.path().join("views.yaml").display().to_string();
    let actions = dir.path().join("actions.yaml").display().to_string();
    let expected = [
        format!(
            "{config}:1:20: telegram.token: is not a bot token as BotFather gives it: the bot's id \
             (digits), ':' and 30 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"
        ),
        format!("{config}:2:17: http.listen: \"nowhere\" is not an address like 127.0.0.1:9750"),
        format!("{config}:2:41: http.webhook_token: must be at least 16 characters"),
        format!("{config}:3:10: owners[0]: invalid type: string, expected a whole number"),
        format!("{config}:9:11: databases[0].chat: invalid type: string, expected a whole number"),
        format!("{config}:11:32: links[0].views[0]: no view named \"nope\" in the catalogue"),
        format!("{config}:11:49: links[0].actions[0]: no action named \"gone\" in the catalogue"),
        format!(
            "{views}:2:12: views[0].alias: \"Bad-Alias\" must be 1-40 characters of a-z, 0-9 or '_'"
        ),
        format!(
            "{views}:3:12: views[0].title: invalid type: sequence, expected a string, or a map of \
             strings by language (en, ru)"
        ),
        format!("{views}:4:10: views[0].sql: :missing names no declared argument"),
        format!("{actions}:4:14: actions[0].confirm: invalid type: string, expected a boolean"),
        format!("{actions}:5:12: actions[0].steps: an action needs at least one step"),
    ];
    let env = [("TELEGRAM_TOKEN", "abc")];

    let (ok, stdout, stderr) = check(&file, &env);
    assert!(!ok);
    assert_eq!(stdout, "");
    let mut lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.pop(), Some("12 problem(s) found"), "{stderr}");
    // Exactly these lines: the token itself is never shown.
    assert_eq!(lines, expected, "{stderr}");

    let output = std::process::Command::new(BINARY)
        .args(["check", "--format", "json", "--config"])
        .arg(&file)
        .envs(env)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["summary"], "12 problem(s) found");
    let problems: Vec<String> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:{}:{}: {}",
                p["file"].as_str().unwrap(),
                p["line"].as_u64().unwrap(),
                p["column"].as_u64().unwrap(),
                p["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(problems, expected);

    // `postgram run` refuses to start, with the same problems.
    let output = std::process::Command::new(BINARY)
        .args(["run", "--config"])
        .arg(&file)
        .envs(env)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log = String::from_utf8_lossy(&output.stderr);
    for problem in &expected {
        assert!(log.contains(problem.as_str()), "{problem} in {log}");
    }

    // Fixed, the same files pass, in JSON too.
    let fixed = std::fs::read_to_string(&file)
        .unwrap()
        .replace("nowhere", "127.0.0.1:9750")
        .replace("short", "0123456789abcdef")
        .replace("eleven", "11")
        .replace("\"not a number\"", "-1001")
        .replace("[nope]", "[long_queries]")
        .replace("[gone]", "[]");
    std::fs::write(&file, fixed).unwrap();
    std::fs::write(
        dir.path().join("views.yaml"),
        "views:\n  - { alias: long_queries, title: t, sql: SELECT 1 }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("actions.yaml"), "actions: []\n").unwrap();
    let output = std::process::Command::new(BINARY)
        .args(["check", "--format", "json", "--config"])
        .arg(&file)
        .env("TELEGRAM_TOKEN", BOT_TOKEN)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{json}");
    assert_eq!(json["ok"], true);
    assert_eq!(json["problems"], serde_json::json!([]));
    let summary = json["summary"].as_str().unwrap();
    assert!(
        summary.contains("catalogue: 1 view(s), 0 action(s)"),
        "{summary}"
    );
}

#[test]
fn check_shows_the_smtp_server_without_credentials_and_refuses_them_in_cleartext() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postgram.yaml");
    let config = |url: &str| {
        format!(
            "telegram: {{ token: \"{BOT_TOKEN}\" }}\nhttp: {{ webhook_token: \"0123456789abcdef\" }}\nowners: [5]\n\
             smtp: {{ url: \"{url}\", from: \"postgram@example.com\" }}\n"
        )
    };
    let password = "Smtp-Pa55word-x";
    std::fs::write(
        &file,
        config(&format!("smtp://alice:{password}@mail.example.com:587")),
    )
    .unwrap();
    let (ok, stdout, stderr) = check(&file, &[]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("SMTP smtp://mail.example.com:587 (STARTTLS required)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(password) && !stdout.contains("alice"),
        "{stdout}"
    );

    for url in [
        format!("smtp+plain://alice:{password}@mail.example.com:25"),
        format!("smtp://alice:{password}@mail.example.com?tls=opportunistic"),
    ] {
        std::fs::write(&file, config(&url)).unwrap();
        let (ok, stdout, stderr) = check(&file, &[]);
        assert!(!ok, "{url}: {stdout}");
        assert!(stderr.contains("smtp.url:"), "{stderr}");
        assert!(!stderr.contains(password), "{stderr}");
    }
    std::fs::write(&file, config("smtp+plain://relay.local:25")).unwrap();
    let (ok, stdout, stderr) = check(&file, &[]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("SMTP smtp+plain://relay.local:25 (cleartext, no credentials)"),
        "{stdout}"
    );
}

#[test]
fn check_reads_only_regular_files_of_bounded_size() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postgram.yaml");
    let huge = dir.path().join("huge.yaml");
    // Sparse: 5 MiB of zeros without writing them.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(5 * 1024 * 1024)
        .unwrap();
    for (views, expected) in [
        ("/dev/zero".to_owned(), "not a regular file"),
        (huge.display().to_string(), "larger than 4 MiB"),
    ] {
        std::fs::write(
            &file,
            format!("telegram: {{ token: \"{BOT_TOKEN}\" }}\nhttp: {{ webhook_token: \"0123456789abcdef\" }}\nowners: [5]\ncatalog: {{ views: \"{views}\" }}\n"),
        )
        .unwrap();
        // Today's code answers at once; the watchdog only keeps a regression from hanging the suite.
        let child = std::process::Command::new(BINARY)
            .args(["check", "--config"])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if finished
                .recv_timeout(std::time::Duration::from_secs(60))
                .is_err()
            {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
            }
        });
        let output = child.wait_with_output().unwrap();
        let _ = done.send(());
        watchdog.join().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{views}: cannot read this catalogue file: it is {expected}"
            )),
            "{stderr}"
        );
    }
}

/// The `sendMessage` calls about `alertname`, answered or not, as (chat, answered status).
fn sends_about(telegram: &FakeTelegram, alertname: &str) -> Vec<(i64, u16)> {
    telegram
        .calls_to("sendMessage")
        .iter()
        .filter(|c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.contains(alertname))
        })
        .filter_map(|c| Some((c.params["chat_id"].as_i64()?, c.status)))
        .collect()
}

async fn deliveries_resume_at_once_after_sigkill(backend: Backend) {
    let Some(state) = TestState::new(backend).await else {
        return;
    };
    let telegram = FakeTelegram::start().await;
    let port = free_port();
    let path = state.dir.path().join("postgram.yaml");
    // Without @alice, who never wrote to the bot: the owners' notice about her could otherwise be
    // the first message and take the fault meant for the alert.
    let text = config_text(&state.url, &format!("127.0.0.1:{port}"))
        .replace(
            "api_url: \"http://127.0.0.1:9\"",
            &format!("api_url: \"{}\"", telegram.api_url()),
        )
        .replace("admins: [2000, \"@alice\"]", "admins: [2000]");
    std::fs::write(&path, text).unwrap();
    // Telegram takes the first send and never answers: that job is in flight, leased.
    telegram.fail_next("sendMessage", 1, Fault::Delay(Duration::from_secs(3600)));
    let mut child = spawn(&path, port).await;
    let body = notification(
        "firing",
        vec![alert(
            "eeee000000000001",
            "firing",
            "2026-11-22T11:00:00Z",
            serde_json::json!({ "alertname": "InFlight", "cluster": "main" }),
        )],
    );
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/alerts/alertmanager"))
        .bearer_auth(WEBHOOK_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // The send that never gets its answer, and the chat it went to.
    let chat = eventually(
        "the send to reach Telegram",
        // Generous: the other process tests stream webhooks into their own services meanwhile.
        Duration::from_secs(90),
        || {
            let hung = sends_about(&telegram, "InFlight")
                .into_iter()
                .find(|(_, status)| *status == 0);
            async move { hung.map(|(chat, _)| chat) }
        },
    )
    .await;
    child.start_kill().expect("SIGKILL");
    child.wait().await.unwrap();

    // The new process sends it again within seconds, not after the dead one's lease would have run
    // out; at most one duplicate (the answer the dead process never read).
    let to_chat = |telegram: &FakeTelegram| {
        sends_about(telegram, "InFlight")
            .iter()
            .filter(|(to, _)| *to == chat)
            .count()
    };
    let restarting = std::time::Instant::now();
    let mut restarted = spawn(&path, port).await;
    eventually(
        "the send to be taken up again",
        Duration::from_secs(30),
        || {
            let sent = to_chat(&telegram);
            async move { (sent >= 2).then_some(()) }
        },
    )
    .await;
    let resent = telegram.calls_to("sendMessage").last().unwrap().at;
    eprintln!(
        "kill -9 mid-delivery ({backend:?}): the send went out again {:.1?} after the restart began",
        resent.saturating_duration_since(restarting)
    );
    signal(&restarted, "TERM");
    restarted.wait().await.unwrap();
    assert_eq!(to_chat(&telegram), 2, "at most one duplicate");
    state.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deliveries_resume_at_once_after_sigkill() {
    deliveries_resume_at_once_after_sigkill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_deliveries_resume_at_once_after_sigkill() {
    deliveries_resume_at_once_after_sigkill(Backend::Postgres).await;
}

/// A run cut off by SIGKILL is not left `running` forever: the next process (which owns the SQLite
/// file) records it as interrupted, and `GET /runs/{id}` still answers from the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_off_by_sigkill_is_recorded_as_interrupted() {
    let Some(state) = TestState::new(Backend::Sqlite).await else {
        return;
    };
    let port = free_port();
    let dir = state.dir.path();
    std::fs::write(
        dir.join("actions.yaml"),
        "actions:\n  - { alias: nap, title: Nap, steps: [{ name: nap, sql: \"SELECT pg_sleep(20)\" }] }\n",
    )
    .unwrap();
    let admin = "admin-token-for-process-tests-0123";
    let text = config_text(&state.url, &format!("127.0.0.1:{port}")).replace(
        "api_tokens:\n",
        &format!(
            "catalog: {{ actions: actions.yaml }}\napi_tokens:\n  - {{ name: ops, token: \"{admin}\", role: owner }}\n"
        ),
    );
    let path = dir.join("postgram.yaml");
    std::fs::write(&path, text).unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let run = |method: reqwest::Method, path: String| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(admin)
    };
    // The status and JSON body of a request.
    let answer = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response
                .json::<serde_json::Value>()
                .await
                .unwrap_or_default(),
        )
    };

    let mut child = spawn(&path, port).await;
    let start = run(
        reqwest::Method::POST,
        "/actions/execute/nap?wait=false".to_owned(),
    );
    let (status, started) = answer(start.json(&serde_json::json!({ "database": "main" }))).await;
    assert_eq!(status, 202, "{started}");
    let id = started["run_id"].as_i64().unwrap();
    let (_, shown) = answer(run(reqwest::Method::GET, format!("/runs/{id}"))).await;
    assert_eq!(shown["state"], "running", "{shown}");
    child.start_kill().expect("SIGKILL");
    child.wait().await.unwrap();

    let mut restarted = spawn(&path, port).await;
    let (status, shown) = answer(run(reqwest::Method::GET, format!("/runs/{id}"))).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["state"], "interrupted", "{shown}");
    assert_eq!(shown["action"], "nap", "{shown}");
    assert!(shown["finished_at"].is_string(), "{shown}");
    let (status, _) = answer(run(reqwest::Method::POST, format!("/runs/{id}/cancel"))).await;
    assert_eq!(status, 409);
    let (_, audit) = answer(run(reqwest::Method::GET, "/audit?action=action".to_owned())).await;
    assert_eq!(audit["entries"][0]["outcome"], "interrupted", "{audit}");
    assert_eq!(audit["entries"][0]["via"], "rest", "{audit}");
    let (status, _) = answer(run(reqwest::Method::GET, format!("/runs/{}", id + 100))).await;
    assert_eq!(status, 404);
    signal(&restarted, "TERM");
    restarted.wait().await.unwrap();
    state.cleanup().await;
}
