//! Each route's operation, grouped as the README's HTTP API table groups them. Laid out by hand, one
//! builder call a line, so each route reads as a table (rustfmt would stack every argument).

use serde_json::{Value, json};
use utoipa::openapi::path::HttpMethod::{Delete, Get, Post};

use super::op::Caller::{Alertmanager, Anyone, ApiToken};
use super::op::{Op, operation};

const DATABASE: &str = "A configured database";
const SINCE: &str = "An RFC 3339 time, or a duration back from now";
const CURSOR: &str = "`next_cursor` of the previous page";

#[rustfmt::skip]
pub fn intake() -> Vec<Op> {
    let labels = json!({"alertname": "PostgresTooManyConnections", "cluster": "main"});
    let notification = json!({
        "version": "4", "status": "firing", "receiver": "postgram", "groupKey": "{}:{}",
        "alerts": [{"status": "firing", "labels": labels, "startsAt": "2026-11-22T11:33:15Z",
                    "fingerprint": "5f1d6c3b2a7e9d04"}],
    });
    let receipt = json!({"notification": 12,
        "alerts": [{"fingerprint": "5f1d6c3b2a7e9d04", "outcome": "opened", "incident": 42}]});
    let databases = json!({"owners": ["1000"], "databases": [{
        "name": "main", "match": {"cluster": "main"}, "admins": ["2000", "@alice"], "viewers": [],
        "chat": -1001, "email": ["dba@example.com"]}]});
    vec![
        operation(Post, "/alerts/alertmanager", "webhook", "Receive an Alertmanager notification", Alertmanager)
            .describe("Answered once the notification, its incidents and their deliveries are committed. \
                       4xx only for requests that can never succeed; 5xx when a retry may.")
            .body("AlertmanagerNotification", notification)
            .json(200, "Stored: each alert's outcome and incident", "Receipt", Some(receipt))
            .errors(&[400, 413, 500, 503]),
        operation(Get, "/incidents", "incidents", "Incidents, newest first", ApiToken)
            .query("database", "Only this database's (required of a token limited to some)", json!("main"))
            .query("status", "`firing` or `resolved`", json!("firing"))
            .query("since", SINCE, json!("2h"))
            .query("limit", "1 to 500, default 50", json!("50"))
            .query("cursor", CURSOR, json!("41"))
            .json(200, "A page of incidents", "IncidentPage", Some(incident_page()))
            .errors(&[400, 403, 404, 500]),
        operation(Get, "/incidents/{id}", "incidents", "An incident, its notifications, deliveries and messages", ApiToken)
            .path_param("id", "The incident's id", json!("42"))
            .json(200, "The incident", "IncidentDetail", None)
            .errors(&[400, 404, 500]),
        operation(Get, "/databases", "databases", "The databases the token may read", ApiToken)
            .describe("Names, alert routing, config admins and viewers, chat, fallback emails and the owners; \
                       never DSNs.")
            .json(200, "The databases", "Databases", Some(databases)),
    ]
}

fn incident_page() -> Value {
    let incident = json!({
        "id": 42, "fingerprint": "5f1d6c3b2a7e9d04", "status": "firing", "database": "main",
        "alertname": "PostgresTooManyConnections", "severity": "critical",
        "labels": {"alertname": "PostgresTooManyConnections", "cluster": "main"}, "annotations": {},
        "generator_url": "", "starts_at": "2026-11-22T11:33:15Z", "ends_at": null,
        "created_at": "2026-11-22T11:33:16Z", "updated_at": "2026-11-22T11:33:16Z",
        "resolved_at": null, "acknowledged_by": null, "acknowledged_at": null,
        "silenced_by": null, "silence_id": null, "silenced_until": null,
    });
    json!({"incidents": [incident], "next_cursor": null})
}

#[rustfmt::skip]
pub fn members() -> Vec<Op> {
    let member = json!({"member": "@alice", "key": "username:alice", "display": "@alice", "role": "viewer",
                        "source": "runtime", "added_by": "token:ops", "user_id": null});
    let members = json!({"database": "main", "members": [member]});
    vec![
        operation(Get, "/databases/{name}/admins", "members", "A database's members", ApiToken)
            .describe("Owner tokens. Config members first; they cannot be changed here.")
            .path_param("name", DATABASE, json!("main"))
            .json(200, "The members", "Members", Some(members))
            .errors(&[403, 404, 500]),
        operation(Post, "/databases/{name}/admins", "members", "Add a member or change their role", ApiToken)
            .path_param("name", DATABASE, json!("main"))
            .body("MemberChange", json!({"member": "@alice", "role": "viewer"}))
            .json(201, "Added", "MemberEntry", Some(member.clone()))
            .json(200, "The role changed, or nothing did", "MemberEntry", Some(member))
            .errors(&[400, 403, 404, 409, 500]),
        operation(Delete, "/databases/{name}/admins/{member}", "members", "Remove a runtime member", ApiToken)
            .path_param("name", DATABASE, json!("main"))
            .path_param("member", "`123` or `@alice`", json!("@alice"))
            .empty(204, "Removed")
            .errors(&[400, 403, 404, 409, 500]),
    ]
}

#[rustfmt::skip]
pub fn catalog() -> Vec<Op> {
    let step = json!({"name": "insert", "rows_affected": 1, "columns": ["id"], "rows": [["1"]],
                      "exit_code": null, "stdout": "", "stderr": "", "duration_ms": 4});
    let succeeded = json!({"run_id": 7, "outcome": "succeeded", "failed_step": null, "error": null,
                           "duration_ms": 35, "steps": [step]});
    let failed = json!({"run_id": 8, "outcome": "failed", "failed_step": 1,
                        "error": "relation \"notes\" does not exist", "duration_ms": 3, "steps": []});
    let rows = json!({"columns": ["n"], "rows": [["1"]], "truncated": false});
    vec![
        operation(Get, "/views", "views", "The views, and the databases the token may run each on", ApiToken)
            .json(200, "The views", "Views", None),
        operation(Get, "/views/{alias}", "views", "Run a view", ApiToken)
            .describe("Any further query parameter is an argument of the view (`?upto=10`). \
                       Streamed: memory does not grow with the rows.")
            .path_param("alias", "The view's alias", json!("connections"))
            .required_query("database", "The database to run it on", json!("main"))
            .json(200, "The rows (CSV with `Accept: text/csv`)", "ViewResult", Some(rows))
            .other(200, "The rows as CSV", "text/csv", json!("n\n1\n"))
            .errors(&[400, 403, 404, 429, 500, 502, 504]),
        operation(Get, "/actions", "actions", "The actions, and the databases the token may run each on", ApiToken)
            .json(200, "The actions", "Actions", None),
        operation(Post, "/actions/execute/{alias}", "actions", "Run an action", ApiToken)
            .describe("Admin or owner tokens. Waits for the report unless `wait=false`; \
                       the run goes on when the caller hangs up.")
            .path_param("alias", "The action's alias", json!("remember"))
            .query("wait", "`false` to answer 202 at once", json!("false"))
            .body("ExecuteRequest", json!({"database": "main", "args": {"note": "hello"}}))
            .located(200, "It succeeded: the report", "ActionResult", succeeded)
            .located(202, "Started (`wait=false`)", "RunAccepted", json!({"run_id": 7, "state": "running"}))
            .located(422, "A step failed, was cancelled or timed out: the report", "ActionResult", failed)
            .errors(&[400, 403, 404, 409, 500, 502, 504]),
        operation(Get, "/runs/{id}", "runs", "Where a run is, and its report once it ended", ApiToken)
            .path_param("id", "The run's id", json!("7"))
            .json(200, "The run", "Run", None)
            .errors(&[403, 404, 500]),
        operation(Post, "/runs/{id}/cancel", "runs", "Stop a run", ApiToken)
            .path_param("id", "The run's id", json!("7"))
            .json(202, "Stopping", "RunAccepted", Some(json!({"run_id": 7, "state": "cancelling"})))
            .errors(&[403, 404, 409, 500]),
        operation(Get, "/audit", "audit", "The audit log, newest first", ApiToken)
            .describe("Owner tokens.")
            .query("actor", "A name (`@alice`, `token:grafana`) or a Telegram id", json!("@alice"))
            .query("database", DATABASE, json!("main"))
            .query("action", "What was done", json!("action.run"))
            .query("since", SINCE, json!("2h"))
            .query("limit", "1 to 1000, default 100", json!("100"))
            .query("cursor", CURSOR, json!("17"))
            .json(200, "A page of entries", "AuditPage", None)
            .errors(&[400, 403, 500]),
    ]
}

#[rustfmt::skip]
pub fn metrics() -> Vec<Op> {
    vec![
        operation(Get, "/charts", "charts", "The charts catalogue", ApiToken)
            .json(200, "The charts, and the databases the token may read each on", "Charts", None),
        operation(Get, "/charts/{alias}", "charts", "A chart's series, or its picture", ApiToken)
            .path_param("alias", "The chart's alias", json!("connections"))
            .required_query("database", "The database", json!("main"))
            .query("range", "`1h` (default), `6h`, `24h` or `7d`", json!("6h"))
            .json(200, "The series (at most 8; the rest summed as `other`)", "ChartSeries", None)
            .other(200, "With `Accept: image/png`, the chart drawn", "image/png", json!(""))
            .errors(&[400, 403, 404, 429, 500, 502, 504]),
        operation(Get, "/status", "charts", "Health cards", ApiToken)
            .query("database", "Only this database (default: every one the token may read)", json!("main"))
            .json(200, "Each database's card", "StatusCards", None)
            .errors(&[400, 403, 404, 502, 504]),
    ]
}

fn reloaded() -> Value {
    let none = json!({"added": [], "removed": [], "changed": []});
    json!({"status": "reloaded", "changes": {
        "databases": {"added": ["billing"], "removed": [], "changed": ["main"]},
        "members": ["main: + @alice (admin)"], "owners": none, "api_tokens": none,
        "views": none, "actions": {"added": [], "removed": ["vacuum_table"], "changed": []},
        "charts": none, "other": ["escalation"]}})
}

#[rustfmt::skip]
pub fn open() -> Vec<Op> {
    let metric = "postgram_alerts_received_total{database=\"main\"} 3\n";
    vec![
        operation(Get, "/-/healthy", "health", "Liveness", Anyone)
            .other(200, "The process runs", "text/plain", json!("OK\n")),
        operation(Get, "/-/ready", "health", "Readiness", Anyone)
            .describe("Ready when the state store answers; the body says where Telegram stands too, \
                       which does not decide the status.")
            .other(200, "Ready", "text/plain", json!("OK\nstate store: ok\ntelegram: ok\n"))
            .other(503, "The state store does not answer", "text/plain", json!("state store unreachable\n")),
        operation(Get, "/metrics", "health", "Prometheus metrics", Anyone)
            .other(200, "The metrics in Prometheus's text format", "text/plain", json!(metric)),
        operation(Post, "/-/reload", "health", "Reload the configuration, as SIGHUP does", ApiToken)
            .describe("Owner tokens. The config and every file it names are read and checked whole first; \
                       any problem, or a change to `http.listen`, `state`, `telegram.token`, `telegram.api_url` \
                       or the Telegram webhook, leaves the running configuration in force. `GET` answers 405.")
            .json(200, "Applied: what changed", "Reloaded", Some(reloaded()))
            .json(400, "Refused: every problem", "ReloadRefused", Some(json!({
                "error": "the new configuration has 1 problem(s); the running one stays",
                "problems": ["postgram.yaml:12:7: databases[0].dsn: must be a postgres:// URL"]})))
            .errors(&[403]),
        operation(Get, "/openapi.json", "health", "This document", Anyone)
            .other(200, "OpenAPI 3.1", "application/json", json!({"openapi": "3.1.0"})),
    ]
}
