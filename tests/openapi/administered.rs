//! Views, actions and runs against the machine's real PostgreSQL: their answers, with data and in
//! failure, match the document.

use reqwest::Method;
use serde_json::json;

use crate::check_all;
use crate::contract::{Contract, OWNER};
use crate::support;

const VIEWS: &str = r#"
views:
  - alias: numbers
    title: Numbers
    arguments:
      - { name: upto, type: int, min: 1, max: 100, default: 3 }
    sql: SELECT g AS n, 'row ' || g AS label FROM generate_series(1, :upto) g
"#;

const ACTIONS: &str = r#"
actions:
  - alias: count
    title: Count
    steps:
      - { name: count, sql: "SELECT count(*) AS n FROM pg_class" }
      - { name: echo, shell: "printf done" }
  - alias: broken
    title: Fails
    steps:
      - { name: missing, sql: "SELECT * FROM no_such_table_here" }
"#;

/// The catalogue above on a real PostgreSQL database, and a database that is down.
fn administering(ctx: &support::service::Ctx, target: &str) -> String {
    let dead = format!(
        "postgres://postgres@127.0.0.1:{}/postgres",
        support::free_port()
    );
    format!(
        r#"{head}
owners: [1]
catalog: {{ views: views.yaml, actions: actions.yaml }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }} }}
  - {{ name: dead, dsn: "{dead}", match: {{ cluster: dead }} }}
api_tokens:
  - {{ name: owner, token: "{OWNER}", role: owner }}
"#,
        head = ctx.head(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_action_and_run_answers_match_their_schemas() {
    let files = [("views.yaml", VIEWS), ("actions.yaml", ACTIONS)];
    let Some(c) = Contract::administering(&files, administering).await else {
        return;
    };
    let owner = Some(OWNER);
    let view = "/views/{alias}";
    let rows = c
        .check(
            Method::GET,
            view,
            "/views/numbers?database=main",
            owner,
            None,
            200,
        )
        .await;
    assert_eq!(rows["rows"].as_array().unwrap().len(), 3);
    let execute = "/actions/execute/{alias}";
    let on_main = || Some(json!({"database": "main"}));
    let run = c
        .check(
            Method::POST,
            execute,
            "/actions/execute/count",
            owner,
            on_main(),
            200,
        )
        .await;
    let id = run["run_id"].as_i64().unwrap();
    let failed = c
        .check(
            Method::POST,
            execute,
            "/actions/execute/broken",
            owner,
            on_main(),
            422,
        )
        .await;
    assert_eq!(failed["outcome"], "failed");
    let get = |route, target: String, status| (Method::GET, route, target, owner, None, status);
    let cancel = "/runs/{id}/cancel";
    check_all(
        &c,
        vec![
            get(view, "/views/numbers?database=main&upto=0".to_owned(), 400),
            get(view, "/views/numbers?database=dead".to_owned(), 502),
            get("/views", "/views".to_owned(), 200),
            get("/actions", "/actions".to_owned(), 200),
            get("/runs/{id}", format!("/runs/{id}"), 200),
            (
                Method::POST,
                cancel,
                format!("/runs/{id}/cancel"),
                owner,
                None,
                409,
            ),
            get("/audit", "/audit?limit=5".to_owned(), 200),
        ],
    )
    .await;
    // Not waiting: 202 at once; the run is then read by its id whatever its state.
    let started = c
        .check(
            Method::POST,
            execute,
            "/actions/execute/count?wait=false",
            owner,
            on_main(),
            202,
        )
        .await;
    let started = started["run_id"].as_i64().unwrap();
    c.check(
        Method::GET,
        "/runs/{id}",
        &format!("/runs/{started}"),
        owner,
        None,
        200,
    )
    .await;
    c.finish().await;
}
