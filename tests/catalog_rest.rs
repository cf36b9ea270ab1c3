//! Views and actions over REST against the machine's real PostgreSQL: arguments, CSV, permissions by
//! token role, one run at a time, secrets masked, injection attempts inert, a dead database answered
//! within seconds.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;
use support::service::Ctx;
use support::{BOT_TOKEN, Service};

const VIEWER: &str = "viewer-token-0123456789";
const ADMIN: &str = "admin-token-01234567890";
const OWNER: &str = "owner-token-01234567890";
const SECRET: &str = "s3cret-Passw0rd-never-shown";
const ELSEWHERE: &str = "elsewhere-token-0123456789";

const VIEWS: &str = r#"
views:
  - alias: numbers
    title: Numbers
    arguments:
      - { name: upto, type: int, min: 0, max: 1000000, default: 10 }
      - { name: label, type: string, default: "n" }
    sql: SELECT g AS n, :label || g AS label, g % 2 = 0 AS even, now() - interval '1 day' AS ts FROM generate_series(1, :upto) g
  - alias: slow
    title: Slow
    sql: SELECT pg_sleep(5) AS slept
  - alias: only_billing
    title: Not for main
    databases: [dead]
    sql: SELECT 1
"#;

const ACTIONS: &str = r#"
actions:
  - alias: remember
    title: Store a note
    arguments:
      - { name: note, type: string }
      - { name: password, type: secret, required: false }
    steps:
      - { name: table, sql: "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)" }
      - { name: insert, sql: "INSERT INTO notes (body) VALUES (:note) RETURNING id, body" }
      - { name: echo, shell: "printf '%s|%s' \"$PG_ARG_NOTE\" \"$PG_ARG_PASSWORD\"; psql -Atc 'SELECT count(*) FROM notes'" }
  - alias: sleepy
    title: Sleep
    steps:
      - { name: sleep, sql: "SELECT pg_sleep(2)" }
  - alias: cancel_query
    title: Cancel a query
    arguments:
      - { name: pid, type: int, min: 1 }
      - { name: table, type: identifier, kind: relation, default: pg_class }
    steps:
      - { name: cancel, sql: "SELECT pg_cancel_backend(CAST(:pid AS int)) AS cancelled, count(*) > 0 AS seen FROM :table" }
  - alias: gated
    title: Pass the gate
    steps:
      - { name: table, sql: "CREATE TABLE IF NOT EXISTS passed (at timestamptz DEFAULT now())", transaction: false }
      - { name: gate, sql: "SELECT pg_advisory_lock(4242)" }
      - { name: pass, sql: "INSERT INTO passed DEFAULT VALUES" }
"#;

/// The service's config: the catalog and a token for each role, on `target` and on a database that
/// is down. These tests go through REST only: no Bot API is reachable.
fn config(ctx: &Ctx, target: &str) -> String {
    let dead = format!(
        "postgres://postgres:hunter2@127.0.0.1:{}/postgres",
        support::free_port()
    );
    format!(
        r#"
telegram: {{ token: "{BOT_TOKEN}", api_url: "http://127.0.0.1:9" }}
http: {{ listen: "127.0.0.1:0", webhook_token: "{webhook}" }}
state: "{state}"
owners: [1]
catalog: {{ views: views.yaml, actions: actions.yaml }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }} }}
  - {{ name: dead, dsn: "{dead}", match: {{ cluster: dead }} }}
api_tokens:
  - {{ name: viewer, token: "{VIEWER}", role: viewer }}
  - {{ name: admin, token: "{ADMIN}", role: admin }}
  - {{ name: owner, token: "{OWNER}", role: owner }}
  - {{ name: elsewhere, token: "{ELSEWHERE}", role: owner, databases: [dead] }}
"#,
        webhook = ctx.webhook_token,
        state = ctx.state_url,
    )
}

/// The service these tests run (`support::Service`), with their helpers.
type World = Service;

impl World {
    async fn start() -> Option<World> {
        let files = [("views.yaml", VIEWS), ("actions.yaml", ACTIONS)];
        Service::start_administering(&files, config).await
    }

    async fn get(&self, token: &str, path: &str, csv: bool) -> (u16, String) {
        let mut request = self
            .app
            .client
            .get(format!("{}{path}", self.app.base))
            .bearer_auth(token);
        if csv {
            request = request.header("accept", "text/csv");
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn execute(&self, token: &str, alias: &str, body: Value) -> (u16, Value) {
        let response = self
            .app
            .client
            .post(format!("{}/actions/execute/{alias}", self.app.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

impl World {
    /// Holds the advisory lock the `gated` action waits for, until the connection is dropped.
    async fn close_gate(&self) -> sqlx::PgConnection {
        let mut conn = sqlx::PgConnection::connect(&self.target().url)
            .await
            .unwrap();
        sqlx::query("SELECT pg_advisory_lock(4242)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    }

    /// Waits until a run of `gated` waits at the gate (its second step).
    async fn at_gate(&self) {
        let url = self.target().url.clone();
        support::eventually("a run at the gate", Duration::from_secs(30), || async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                 AND query LIKE '%pg_advisory_lock(4242)%' AND pid <> pg_backend_pid() \
                 AND datname = current_database()",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            (waiting == 1).then_some(())
        })
        .await;
    }

    async fn passed(&self) -> i64 {
        let mut conn = sqlx::PgConnection::connect(&self.target().url)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT count(*) FROM passed")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }

    /// Starts `gated` without waiting: the run's id, after checking the answer's `Location`.
    async fn start_gated(&self) -> i64 {
        let response = self
            .app
            .client
            .post(format!(
                "{}/actions/execute/gated?wait=false",
                self.app.base
            ))
            .bearer_auth(ADMIN)
            .json(&json!({ "database": "main" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        let id = body["run_id"].as_i64().unwrap();
        assert_eq!(location, format!("/runs/{id}"));
        assert_eq!(body["state"], "running");
        id
    }

    async fn post(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .app
            .client
            .post(format!("{}{path}", self.app.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// The audit log's entry of the latest run of `gated`, once `ready` accepts its outcome.
    async fn gated_audit(&self, ready: impl Fn(&str) -> bool) -> Value {
        support::eventually("the run's audit row", Duration::from_secs(30), || async {
            let (_, audit) = self.get(OWNER, "/audit?limit=20", false).await;
            let audit: Value = serde_json::from_str(&audit).unwrap();
            let entry = audit["entries"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["detail"]["action"] == "gated")
                .cloned()?;
            ready(entry["detail"]["outcome"].as_str()?).then_some(entry)
        })
        .await
    }

    /// `GET /runs/{id}` once its state is no longer `running`.
    async fn ended(&self, id: i64) -> Value {
        support::eventually("the run to end", Duration::from_secs(30), || async {
            let (status, body) = self.get(VIEWER, &format!("/runs/{id}"), false).await;
            assert_eq!(status, 200, "{body}");
            let run: Value = serde_json::from_str(&body).unwrap();
            (run["state"] != "running").then_some(run)
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_hangs_up_does_not_stop_its_audited_run() {
    let Some(world) = World::start().await else {
        return;
    };
    let gate = world.close_gate().await;
    let request = tokio::spawn(
        world
            .app
            .client
            .post(format!("{}/actions/execute/gated", world.app.base))
            .bearer_auth(ADMIN)
            .json(&json!({ "database": "main" }))
            .send(),
    );
    // Audited as it starts, before any step has run to its end.
    let entry = world.gated_audit(|outcome| outcome == "running").await;
    assert_eq!(entry["actor"], "token:admin");
    assert_eq!(entry["detail"]["via"], "rest");
    world.at_gate().await;
    request.abort();
    assert!(
        request.await.unwrap_err().is_cancelled(),
        "the caller hung up"
    );
    drop(gate);
    let entry = world.gated_audit(|outcome| outcome != "running").await;
    assert_eq!(entry["detail"]["outcome"], "succeeded", "{entry}");
    assert!(entry["detail"]["duration_ms"].is_u64(), "{entry}");
    assert_eq!(world.passed().await, 1, "the run went on to commit");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_reported_by_id_and_cancelled_over_rest() {
    let Some(world) = World::start().await else {
        return;
    };
    let gate = world.close_gate().await;
    let id = world.start_gated().await;
    let (status, body) = world.get(VIEWER, &format!("/runs/{id}"), false).await;
    assert_eq!(status, 200, "viewers may read a run: {body}");
    let run: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&run["state"], &run["action"], &run["database"]),
        (&json!("running"), &json!("gated"), &json!("main"))
    );
    assert_eq!(run["report"], Value::Null);
    world.at_gate().await;
    let (status, _) = world.get(ELSEWHERE, &format!("/runs/{id}"), false).await;
    assert_eq!(status, 403, "not on its database");
    let (status, _) = world.post(VIEWER, &format!("/runs/{id}/cancel")).await;
    assert_eq!(status, 403, "viewers may not cancel");
    let (status, body) = world.post(ADMIN, &format!("/runs/{id}/cancel")).await;
    assert_eq!(status, 202, "{body}");
    let run = world.ended(id).await;
    assert_eq!(run["state"], "cancelled", "{run}");
    assert_eq!(run["report"]["failed_step"], 2, "{run}");
    let (status, body) = world.post(ADMIN, &format!("/runs/{id}/cancel")).await;
    assert_eq!(status, 409, "{body}");
    let entry = world.gated_audit(|outcome| outcome != "running").await;
    assert_eq!(entry["detail"]["outcome"], "cancelled at step 2", "{entry}");

    let id = world.start_gated().await;
    drop(gate);
    let run = world.ended(id).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["report"]["steps"].as_array().unwrap().len(), 3, "{run}");
    assert_eq!(world.passed().await, 1);
    for path in ["/runs/999999", "/runs/x"] {
        let (status, _) = world.get(VIEWER, path, false).await;
        assert_eq!(status, 404, "{path}");
    }
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_running_actions_and_audits_them() {
    let Some(world) = World::start().await else {
        return;
    };
    let _gate = world.close_gate().await;
    world.start_gated().await;
    world.gated_audit(|outcome| outcome == "running").await;
    world.at_gate().await;
    // Stopping returns (the run is cancelled, not waited for) and the run's row is completed.
    let world = tokio::time::timeout(Duration::from_secs(60), world.restart())
        .await
        .expect("shutdown does not wait for the gate");
    let entry = world.gated_audit(|outcome| outcome != "running").await;
    assert_eq!(entry["detail"]["outcome"], "cancelled at step 2", "{entry}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_slow_views_does_not_starve_an_action() {
    let Some(world) = World::start().await else {
        return;
    };
    let (tokens, views): (Vec<_>, Vec<_>) = (0..8)
        .map(|i| {
            let token = [VIEWER, OWNER][i % 2];
            (token, world.get(token, "/views/slow?database=main", false))
        })
        .unzip();
    let views = futures_util::future::join_all(views);
    let action = async {
        // Once the views hold every connection of theirs.
        let url = world.target().url.clone();
        support::eventually("the views to run", Duration::from_secs(10), || async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let slow: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE query LIKE '%pg_sleep(5)%' AND pid <> pg_backend_pid() \
                 AND datname = current_database()",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            (slow >= 4).then_some(())
        })
        .await;
        world
            .execute(
                ADMIN,
                "cancel_query",
                json!({ "database": "main", "args": { "pid": 1 } }),
            )
            .await
    };
    let (views, (status, report)) = tokio::join!(views, action);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["steps"][0]["rows"][0][1], "true", "{report}");
    let mut answered = std::collections::BTreeMap::<(&str, u16), usize>::new();
    for (token, (status, body)) in tokens.into_iter().zip(views) {
        assert!(matches!(status, 200 | 429), "{status}: {body}");
        if status == 429 {
            assert!(body.contains("views at a time"), "{body}");
        }
        *answered.entry((token, status)).or_default() += 1;
    }
    // Two callers may each have two running: the views' four connections, and no more.
    for token in [VIEWER, OWNER] {
        assert_eq!(answered.get(&(token, 200)), Some(&2), "{answered:?}");
        assert_eq!(answered.get(&(token, 429)), Some(&2), "{answered:?}");
    }
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_answer_json_and_csv_and_name_what_is_wrong() {
    let Some(world) = World::start().await else {
        return;
    };
    let (status, body) = world
        .get(VIEWER, "/views/numbers?database=main&upto=3&label=x", false)
        .await;
    assert_eq!(status, 200, "{body}");
    let table: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(table["columns"], json!(["n", "label", "even", "ts"]));
    assert_eq!(table["rows"][0][0], "1");
    assert_eq!(table["rows"][2][1], "x3");
    assert_eq!(table["rows"][1][2], "true");
    assert_eq!(table["truncated"], false);
    for (upto, rows, truncated) in [(0, 0, false), (20_000, 10_000, true)] {
        let path = format!("/views/numbers?database=main&upto={upto}");
        let (status, body) = world.get(VIEWER, &path, false).await;
        assert_eq!(status, 200, "{body}");
        let table: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(table["rows"].as_array().unwrap().len(), rows, "{upto}");
        assert_eq!(table["truncated"], truncated, "{upto}");
    }

    let (status, csv) = world
        .get(
            VIEWER,
            "/views/numbers?database=main&upto=100000&label=a,b",
            true,
        )
        .await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "n,label,even,ts");
    assert!(lines[1].starts_with("1,\"a,b1\",false,"), "{}", lines[1]);
    assert_eq!(
        lines.len(),
        10_000 + 2,
        "capped at the default 10,000 rows, then an empty line"
    );

    for (path, status, needle) in [
        ("/views/nope?database=main", 404, "no view named \\\"nope"),
        (
            "/views/numbers?database=nowhere",
            404,
            "no database named \\\"nowhere",
        ),
        ("/views/numbers", 400, "database"),
        ("/views/numbers?database=main&upto=-1", 400, "upto"),
        ("/views/numbers?database=main&colour=red", 400, "colour"),
        (
            "/views/only_billing?database=main",
            404,
            "does not run on main",
        ),
    ] {
        let (got, body) = world.get(VIEWER, path, false).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(needle), "{path}: {body}");
    }
    let (status, list) = world.get(VIEWER, "/views", false).await;
    assert_eq!(status, 200);
    assert!(list.contains("\"alias\":\"numbers\""));
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_run_in_order_with_bound_arguments_and_roles() {
    let Some(world) = World::start().await else {
        return;
    };
    let body = json!({ "database": "main", "args": { "note": "hello" } });
    let (status, _) = world.execute(VIEWER, "remember", body.clone()).await;
    assert_eq!(status, 403, "viewers may not run actions");
    let (status, report) = world.execute(ADMIN, "remember", body).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["outcome"], "succeeded");
    assert_eq!(report["steps"][1]["rows"][0], json!(["1", "hello"]));
    assert_eq!(report["steps"][2]["stdout"], "hello|1\n");

    let (status, report) = world
        .execute(ADMIN, "remember", json!({ "database": "main", "args": {} }))
        .await;
    assert_eq!(
        (status, report["field"].as_str()),
        (400, Some("note")),
        "{report}"
    );
    let (status, _) = world
        .execute(ADMIN, "nope", json!({ "database": "main" }))
        .await;
    assert_eq!(status, 404);

    // One run per database and action at a time.
    let first = world.execute(ADMIN, "sleepy", json!({ "database": "main" }));
    let second = async {
        // Once the first is under way (its audit row says running), a second is refused.
        support::eventually(
            "the first run to start",
            Duration::from_secs(20),
            || async {
                let (_, audit) = world
                    .get(OWNER, "/audit?action=action&limit=5", false)
                    .await;
                audit.contains(r#""outcome":"running""#).then_some(())
            },
        )
        .await;
        world
            .execute(ADMIN, "sleepy", json!({ "database": "main" }))
            .await
    };
    let ((one, _), (two, busy)) = tokio::join!(first, second);
    assert_eq!((one, two), (200, 409), "{busy}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_attempts_are_data_and_secrets_never_show() {
    let Some(world) = World::start().await else {
        return;
    };
    let corpus = [
        "'; DROP TABLE notes; --",
        "\"; DROP TABLE notes; --",
        "$(touch /tmp/postgram-pwned)",
        "`touch /tmp/postgram-pwned`",
        "a\nb; DROP TABLE notes",
        "x' OR '1'='1",
        &"long".repeat(2000),
    ];
    for note in corpus {
        let (status, report) = world
            .execute(
                ADMIN,
                "remember",
                json!({ "database": "main", "args": { "note": note, "password": SECRET } }),
            )
            .await;
        assert_eq!(status, 200, "{note:?}: {report}");
        assert_eq!(report["steps"][1]["rows"][0][1], note, "stored verbatim");
        let text = report.to_string();
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
        assert!(text.contains("••••••"), "the secret shows masked: {text}");
    }
    let (status, _) = world
        .execute(
            ADMIN,
            "remember",
            json!({ "database": "main", "args": { "note": "nul\u{0}byte" } }),
        )
        .await;
    assert_eq!(status, 400);
    assert!(!std::path::Path::new("/tmp/postgram-pwned").exists());
    let mut conn = sqlx::PgConnection::connect(&world.target().url)
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        count,
        corpus.len() as i64,
        "the table survived every attempt"
    );

    let (status, _) = world.get(ADMIN, "/audit", false).await;
    assert_eq!(status, 403, "the audit log is for owners");
    let (status, audit) = world.get(OWNER, "/audit?limit=50", false).await;
    assert_eq!(status, 200);
    assert!(audit.contains("\"password\":\"••••••\""), "{audit}");
    assert!(!audit.contains(SECRET));
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_database_answers_within_seconds_without_its_password() {
    let Some(world) = World::start().await else {
        return;
    };
    // The pool's connect timeout answers; the deadline here only keeps a hang from stalling the suite.
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(30),
        world.get(VIEWER, "/views/only_billing?database=dead", false),
    )
    .await
    .expect("an answer, not a hang");
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("dead"), "{body}");
    assert!(!body.contains("hunter2"), "{body}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_limited_to_other_databases_reaches_nothing_here() {
    let Some(world) = World::start().await else {
        return;
    };
    let (status, body) = world
        .get(ELSEWHERE, "/views/numbers?database=main", false)
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = world
        .execute(
            ELSEWHERE,
            "remember",
            json!({ "database": "main", "args": { "note": "x" } }),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = world.get(ELSEWHERE, "/incidents", false).await;
    assert_eq!(status, 403, "must name one of its databases");
    let (status, _) = world
        .get(ELSEWHERE, "/incidents?database=main", false)
        .await;
    assert_eq!(status, 403);
    let (status, _) = world
        .get(ELSEWHERE, "/incidents?database=dead", false)
        .await;
    assert_eq!(status, 200);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_filtered_and_paged_like_the_incidents() {
    let Some(world) = World::start().await else {
        return;
    };
    for upto in 1..=3 {
        let (status, _) = world
            .get(
                VIEWER,
                &format!("/views/numbers?database=main&upto={upto}"),
                false,
            )
            .await;
        assert_eq!(status, 200);
    }
    let body = json!({ "database": "main", "args": { "note": "audited", "password": SECRET } });
    let (status, _) = world.execute(ADMIN, "remember", body).await;
    assert_eq!(status, 200);

    let service = &world;
    let page = |query: &'static str| async move {
        let (status, text) = service.get(OWNER, &format!("/audit?{query}"), false).await;
        assert_eq!(status, 200, "{query}: {text}");
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let everything = page("limit=1000").await;
    let entries = everything["entries"].as_array().unwrap();
    let run = entries
        .iter()
        .find(|e| e["action"] == "action")
        .expect("the run is audited");
    assert_eq!(run["outcome"], "succeeded", "{run}");
    assert_eq!(run["via"], "rest", "{run}");
    assert!(
        run["actor_id"].is_null(),
        "an API token has no Telegram account: {run}"
    );
    assert_eq!(run["database"], "main", "{run}");
    assert!(run["id"].as_i64().is_some_and(|id| id > 0), "{run}");
    for field in ["at", "finished_at"] {
        let at = run[field].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "{field}: {at}"
        );
    }
    assert!(!everything.to_string().contains(SECRET));

    // Filters: the three views by their actor and action, two a page, newest first.
    let first = page("action=view&limit=2").await;
    let views: Vec<&Value> = first["entries"].as_array().unwrap().iter().collect();
    assert_eq!(views.len(), 2);
    assert!(views.iter().all(|e| e["action"] == "view"), "{first}");
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, rest) = world
        .get(
            OWNER,
            &format!("/audit?action=view&limit=2&cursor={cursor}"),
            false,
        )
        .await;
    let rest: Value = serde_json::from_str(&rest).unwrap();
    let older = rest["entries"].as_array().unwrap();
    assert_eq!(older.len(), 1, "{rest}");
    assert!(older[0]["id"].as_i64() < views[1]["id"].as_i64());
    assert!(rest["next_cursor"].is_null(), "{rest}");
    let actor = views[0]["actor"].as_str().unwrap().to_owned();
    let (_, by_actor) = world
        .get(
            OWNER,
            &format!("/audit?actor={actor}&database=main&since=1h"),
            false,
        )
        .await;
    let by_actor: Value = serde_json::from_str(&by_actor).unwrap();
    assert_eq!(
        by_actor["entries"].as_array().unwrap().len(),
        3,
        "{by_actor}"
    );
    let none = page("since=2999-01-01T00:00:00Z").await;
    assert!(none["entries"].as_array().unwrap().is_empty(), "{none}");

    for (query, field) in [
        ("cursor=abc", "cursor"),
        ("limit=0", "limit"),
        ("since=later", "since"),
        ("who=me", "who"),
    ] {
        let (status, answer) = world.get(OWNER, &format!("/audit?{query}"), false).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert!(
            answer.contains(&format!("\"field\":\"{field}\"")),
            "{query}: {answer}"
        );
    }
    world.stop().await;
}
