//! The contract at `/openapi.json` against the service itself: it names exactly the routes the router
//! answers, with their methods, and the answers the real service gives match the schemas it promises
//! for that route and status.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "../support/mod.rs"]
mod support;

mod administered;
mod charts;
mod contract;

use std::collections::BTreeSet;

use contract::{Contract, OWNER};
use reqwest::Method;
use serde_json::{Value, json};
use support::{API_TOKEN, WEBHOOK_TOKEN, alert, notification};

/// A concrete target for a route template.
fn target(route: &str) -> String {
    route
        .replace("{name}", "main")
        .replace("{member}", "@alice")
        .replace("{alias}", "x")
        .replace("{id}", "1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_names_every_route_and_method_of_the_router() {
    let contract = Contract::start().await;
    let document = &contract.document;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<&str> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // The schemas have teeth: an answer of another shape fails.
    let wrong = json!({"incidents": [{"id": "forty-two"}], "next_cursor": 3});
    let mismatches = contract
        .mismatches("/incidents", "get", 200, &wrong)
        .join("\n");
    for place in [
        "at /next_cursor",
        "at /incidents/0/id",
        "\"status\" is a required property",
    ] {
        assert!(mismatches.contains(place), "{place} in {mismatches}");
    }
    let routed: BTreeSet<&str> = postgram::http::paths().into_iter().collect();
    assert_eq!(documented, routed, "documented paths against the router's");
    for route in routed {
        // No route answers PATCH: the 405 lists the methods the router has for this path.
        let token = if route == "/alerts/alertmanager" {
            WEBHOOK_TOKEN
        } else {
            API_TOKEN
        };
        let response = contract
            .call(Method::PATCH, &target(route), Some(token), None)
            .await;
        assert_eq!(response.status(), 405, "PATCH {route}");
        let allowed: BTreeSet<String> = response.headers()["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_lowercase())
            .filter(|m| m != "head")
            .collect();
        let methods: BTreeSet<String> = document["paths"][route]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(methods, allowed, "methods of {route}");
        for (method, operation) in document["paths"][route].as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("405"),
                "{method} {route} documents its 405"
            );
            let secured = operation.get("security").is_some();
            assert_eq!(
                secured,
                responses.contains_key("401"),
                "{method} {route}: a token and its 401 go together"
            );
        }
    }
    contract.finish().await;
}

/// One call and the status it must answer: `(method, route, target, token, body, status)`.
type Case<'a> = (Method, &'a str, String, Option<&'a str>, Option<Value>, u16);

async fn check_all(c: &Contract, cases: Vec<Case<'_>>) {
    for (method, route, target, token, body, status) in cases {
        c.check(method, route, &target, token, body, status).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_and_incident_answers_match_their_schemas() {
    let c = Contract::start().await;
    let (webhook, hook) = ("/alerts/alertmanager", Some(WEBHOOK_TOKEN));
    let labels = json!({ "alertname": "PostgresTooManyConnections", "cluster": "main" });
    let firing = alert("openapi-1", "firing", "2026-11-22T11:33:15Z", labels);
    let body = notification("firing", vec![firing]);
    let receipt = c
        .check(
            Method::POST,
            webhook,
            webhook,
            hook,
            Some(body.clone()),
            200,
        )
        .await;
    let incident = receipt["alerts"][0]["incident"].as_i64().unwrap();
    let (t, one) = (Some(API_TOKEN), "/incidents/{id}");
    let get = |route, target: &str, token, status| {
        (Method::GET, route, target.to_owned(), token, None, status)
    };
    check_all(
        &c,
        vec![
            // The same alert again: a duplicate, stored once.
            (
                Method::POST,
                webhook,
                webhook.to_owned(),
                hook,
                Some(body),
                200,
            ),
            (
                Method::POST,
                webhook,
                webhook.to_owned(),
                hook,
                Some(json!({"version": "4"})),
                400,
            ),
            (
                Method::POST,
                webhook,
                webhook.to_owned(),
                hook,
                Some(json!({ "pad": "x".repeat(1 << 20) })),
                413,
            ),
            (
                Method::POST,
                webhook,
                webhook.to_owned(),
                None,
                Some(json!({})),
                401,
            ),
            get("/incidents", "/incidents", t, 200),
            get("/incidents", "/incidents?limit=0", t, 400),
            get("/incidents", "/incidents?database=nope", t, 404),
            get("/incidents", "/incidents", None, 401),
            get(one, &format!("/incidents/{incident}"), t, 200),
            get(one, "/incidents/abc", t, 400),
            get(one, "/incidents/999999", t, 404),
            get(one, &format!("/incidents/{}", "9".repeat(9000)), t, 414),
            get("/databases", "/databases", t, 200),
        ],
    )
    .await;

    // Refusals made by the router and the outermost layer, checked against the route's own operation.
    let wrong_method = c.call(Method::DELETE, "/incidents", t, None).await;
    assert_eq!(wrong_method.status(), 405);
    c.validate(
        "/incidents",
        "get",
        405,
        &wrong_method.json().await.unwrap(),
    );
    let padded = c
        .app()
        .client
        .get(format!("{}/incidents", c.app().base))
        .bearer_auth(API_TOKEN)
        .header("x-padding", "p".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(padded.status(), 431);
    c.validate("/incidents", "get", 431, &padded.json().await.unwrap());
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_answers_match_their_schemas() {
    let c = Contract::start().await;
    let (admins, member) = (
        "/databases/{name}/admins",
        "/databases/{name}/admins/{member}",
    );
    let main = "/databases/main/admins".to_owned();
    let carol = || Some(json!({"member": "@carol", "role": "viewer"}));
    let owner = Some(OWNER);
    check_all(
        &c,
        vec![
            (Method::POST, admins, main.clone(), owner, carol(), 201),
            (Method::POST, admins, main.clone(), owner, carol(), 200),
            (
                Method::POST,
                admins,
                main.clone(),
                owner,
                Some(json!({"member": "@carol"})),
                400,
            ),
            (
                Method::POST,
                admins,
                main.clone(),
                owner,
                Some(json!({"member": 2000, "role": "viewer"})),
                409,
            ),
            (Method::GET, admins, main.clone(), owner, None, 200),
            (Method::GET, admins, main, Some(API_TOKEN), None, 403),
            (
                Method::GET,
                admins,
                "/databases/nope/admins".to_owned(),
                owner,
                None,
                404,
            ),
        ],
    )
    .await;
    let removed = c
        .call(Method::DELETE, "/databases/main/admins/@carol", owner, None)
        .await;
    assert_eq!(removed.status(), 204);
    assert!(c.document["paths"][member]["delete"]["responses"]["204"].is_object());
    let again = "/databases/main/admins/@carol".to_owned();
    check_all(&c, vec![(Method::DELETE, member, again, owner, None, 404)]).await;
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_run_audit_and_chart_answers_match_their_schemas() {
    let c = Contract::start().await;
    let (t, owner) = (Some(API_TOKEN), Some(OWNER));
    let get = |route, target: &str, token, status| {
        (Method::GET, route, target.to_owned(), token, None, status)
    };
    let (execute, action) = (
        "/actions/execute/{alias}",
        Some(json!({"database": "main"})),
    );
    check_all(
        &c,
        vec![
            get("/views", "/views", t, 200),
            get("/actions", "/actions", t, 200),
            get("/views/{alias}", "/views/x", t, 400),
            get("/views/{alias}", "/views/x?database=nope", t, 404),
            (
                Method::POST,
                execute,
                "/actions/execute/x".to_owned(),
                t,
                action.clone(),
                403,
            ),
            (
                Method::POST,
                execute,
                "/actions/execute/x?wait=maybe".to_owned(),
                t,
                action,
                400,
            ),
            get("/runs/{id}", "/runs/999", t, 404),
            (
                Method::POST,
                "/runs/{id}/cancel",
                "/runs/999/cancel".to_owned(),
                owner,
                None,
                404,
            ),
            get("/audit", "/audit", owner, 200),
            get("/audit", "/audit", t, 403),
            get("/audit", "/audit?since=soon", owner, 400),
            get("/charts", "/charts", t, 200),
            get("/charts/{alias}", "/charts/x", t, 400),
            get("/charts/{alias}", "/charts/x?database=nope", t, 404),
            get("/status", "/status?database=nope", t, 404),
        ],
    )
    .await;
    let served = c
        .check(
            Method::GET,
            "/openapi.json",
            "/openapi.json",
            None,
            None,
            200,
        )
        .await;
    assert_eq!(served, c.document);
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_answers_match_their_schemas() {
    let c = Contract::start().await;
    let (route, owner) = ("/-/reload", Some(OWNER));
    let post = |token, status| (Method::POST, route, route.to_owned(), token, None, status);
    check_all(
        &c,
        vec![
            post(owner, 200),
            post(Some(API_TOKEN), 403),
            post(None, 401),
        ],
    )
    .await;
    // Like Prometheus's, a GET is not a reload: 405, naming POST.
    let get = c.call(Method::GET, route, owner, None).await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    let config = c.service().state.dir.path().join("postgram.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\nunknown_key: 1\n")).unwrap();
    let refused = c.check(Method::POST, route, route, owner, None, 400).await;
    assert!(
        refused["problems"][0]
            .as_str()
            .unwrap()
            .contains("postgram.yaml:"),
        "{refused}"
    );
    c.finish().await;
}
