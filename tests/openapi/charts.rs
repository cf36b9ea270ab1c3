//! Charts and health cards through a scripted Prometheus (axum on port 0): series and cards with data,
//! and a query Prometheus refuses, match the document.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::{Form, Json};
use reqwest::Method;
use serde_json::{Value, json};

use crate::check_all;
use crate::contract::{Contract, OWNER};
use crate::support::{API_TOKEN, Backend, Service, config_text};

/// One chart Prometheus answers, one it refuses; a health card row of each kind.
const CHARTS: &str = r#"
charts:
  - alias: load
    title: Load
    description: Backends
    unit: count
    queries:
      - expr: up{{selector}}
  - alias: refused
    title: Refused
    description: Prometheus refuses its query
    unit: count
    queries:
      - expr: refuse_me{{selector}}
status:
  - name: up
    title: Reachable
    expr: min(up{{selector}})
    unit: none
    critical_below: 1
  - name: broken
    title: Broken
    expr: refuse_me{{selector}}
    unit: ratio
    warn_above: 0.5
"#;

/// Prometheus's HTTP API (queries posted as forms) as far as the service reads it: a matrix of two points for range queries,
/// a vector for instant ones, `bad_data` for any query naming `refuse_me`.
async fn prometheus() -> String {
    let answer = |range: bool| {
        move |Form(params): Form<HashMap<String, String>>| async move {
            if params["query"].contains("refuse_me") {
                let refused =
                    json!({"status": "error", "errorType": "bad_data", "error": "refused"});
                return (StatusCode::BAD_REQUEST, Json(refused));
            }
            let data = if range {
                let start: f64 = params["start"].parse().unwrap();
                let values = json!([[start, "3"], [start + 60.0, "NaN"]]);
                json!({"resultType": "matrix", "result": [{"metric": {"job": "pg"}, "values": values}]})
            } else {
                json!({"resultType": "vector", "result": [{"metric": {}, "value": [0, "1"]}]})
            };
            (
                StatusCode::OK,
                Json(json!({"status": "success", "data": data})),
            )
        }
    };
    let app = axum::Router::new()
        .route("/api/v1/query_range", axum::routing::post(answer(true)))
        .route("/api/v1/query", axum::routing::post(answer(false)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_and_status_answers_match_their_schemas() {
    let url = prometheus().await;
    let service = Service::start_with(Backend::Sqlite, &[("charts.yaml", CHARTS)], |ctx| {
        let common = config_text(ctx.state_url, "127.0.0.1:0");
        let common = common.replace("owners: [1000]", &format!(
            "owners: [1000]\nprometheus: {{ url: \"{url}\", timeout: 5s }}\ncatalog: {{ charts: charts.yaml }}"
        ));
        format!("{common}  - {{ name: owner, token: \"{OWNER}\", role: owner }}\n")
    })
    .await
    .unwrap();
    let c = Contract::open(service).await;
    let t = Some(API_TOKEN);
    let get =
        |route, target: &str, status| (Method::GET, route, target.to_owned(), t, None, status);
    let series = c
        .check(
            Method::GET,
            "/charts/{alias}",
            "/charts/load?database=main&range=6h",
            t,
            None,
            200,
        )
        .await;
    assert_eq!(
        series["series"][0]["points"][1][1],
        Value::Null,
        "NaN is a gap"
    );
    let cards = c
        .check(
            Method::GET,
            "/status",
            "/status?database=main",
            t,
            None,
            200,
        )
        .await;
    let rows = cards["databases"][0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{cards}");
    assert!(rows[1]["error"].is_string(), "{cards}");
    check_all(
        &c,
        vec![
            get("/charts", "/charts", 200),
            get("/status", "/status", 200),
            get("/charts/{alias}", "/charts/refused?database=main", 502),
            get(
                "/charts/{alias}",
                "/charts/load?database=main&range=1y",
                400,
            ),
            get("/charts/{alias}", "/charts/nope?database=main", 404),
        ],
    )
    .await;
    c.finish().await;
}
