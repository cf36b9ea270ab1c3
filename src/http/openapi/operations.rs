//! Each route's operation, grouped as the README's HTTP API table groups them.

use serde_json::json;
use utoipa::openapi::path::HttpMethod::{Delete, Get, Post};

use super::op::Caller::{Alertmanager, Anyone, ApiToken};
use super::op::{Op, operation};

const DATABASE: &str = "A configured database";

pub fn intake() -> Vec<Op> {
    let incident_example = json!({
        "id": 42, "fingerprint": "5f1d6c3b2a7e9d04", "status": "firing", "database": "main",
        "alertname": "PostgresTooManyConnections", "severity": "critical",
        "labels": {"alertname": "PostgresTooManyConnections", "cluster": "main"}, "annotations": {},
        "generator_url": "", "starts_at": "2026-11-22T11:33:15Z", "ends_at": null,
        "created_at": "2026-11-22T11:33:16Z", "updated_at": "2026-11-22T11:33:16Z",
        "resolved_at": null, "acknowledged_by": null, "acknowledged_at": null,
        "silenced_by": null, "silence_id": null, "silenced_until": null,
    });
    vec![
        operation(Post, "/alerts/alertmanager", "webhook", "Receive an Alertmanager notification", Alertmanager)
            .describe("Answered only once the notification, its incidents and their deliveries are committed. 4xx only for requests that can never succeed; 5xx when retrying may.")
            .body("AlertmanagerNotification", json!({"version": "4", "status": "firing", "receiver": "postgram", "groupKey": "{}:{alertname=\"PostgresTooManyConnections\"}", "alerts": [{"status": "firing", "labels": {"alertname": "PostgresTooManyConnections", "cluster": "main"}, "startsAt": "2026-11-22T11:33:15Z", "fingerprint": "5f1d6c3b2a7e9d04"}]}))
            .json(200, "Stored: each alert's outcome and incident", "Receipt", Some(json!({"notification": 12, "alerts": [{"fingerprint": "5f1d6c3b2a7e9d04", "outcome": "opened", "incident": 42}]})))
            .errors(&[400, 413, 500, 503]),
        operation(Get, "/incidents", "incidents", "List incidents, newest first", ApiToken)
            .query("database", "Only this database's incidents (required for a token limited to some databases)", json!("main"))
            .query("status", "`firing` or `resolved`", json!("firing"))
            .query("since", "An RFC 3339 time or a duration back from now", json!("2h"))
            .query("limit", "1 to 500, default 50", json!("50"))
            .query("cursor", "`next_cursor` of the previous page", json!("41"))
            .json(200, "A page of incidents", "IncidentPage", Some(json!({"incidents": [incident_example], "next_cursor": null})))
            .errors(&[400, 403, 404, 500]),
        operation(Get, "/incidents/{id}", "incidents", "An incident with its notifications, deliveries and messages", ApiToken)
            .path_param("id", "The incident's id", json!("42"))
            .json(200, "The incident", "IncidentDetail", None)
            .errors(&[400, 404, 500]),
        operation(Get, "/databases", "databases", "The databases the token may read", ApiToken)
            .describe("Names, alert routing, config admins and viewers, chat and fallback emails, and the owners; never DSNs.")
            .json(200, "The databases", "Databases", Some(json!({"databases": [{"name": "main", "match": {"cluster": "main"}, "admins": ["2000", "@alice"], "viewers": [], "chat": -1001, "email": ["dba@example.com"]}], "owners": ["1000"]}))),
    ]
}

pub fn members() -> Vec<Op> {
    let member = json!({"member": "@alice", "key": "username:alice", "display": "@alice", "role": "viewer", "source": "runtime", "added_by": "token:ops", "user_id": null});
    vec![
        operation(
            Get,
            "/databases/{name}/admins",
            "members",
            "A database's members",
            ApiToken,
        )
        .describe("Owner tokens. Config members first; they cannot be changed here.")
        .path_param("name", DATABASE, json!("main"))
        .json(
            200,
            "The members",
            "Members",
            Some(json!({"database": "main", "members": [member]})),
        )
        .errors(&[403, 404, 500]),
        operation(
            Post,
            "/databases/{name}/admins",
            "members",
            "Add a member or change their role",
            ApiToken,
        )
        .path_param("name", DATABASE, json!("main"))
        .body(
            "MemberChange",
            json!({"member": "@alice", "role": "viewer"}),
        )
        .json(201, "Added", "MemberEntry", Some(member.clone()))
        .json(
            200,
            "The role changed, or nothing did",
            "MemberEntry",
            Some(member),
        )
        .errors(&[400, 403, 404, 409, 500]),
        operation(
            Delete,
            "/databases/{name}/admins/{member}",
            "members",
            "Remove a member added at runtime",
            ApiToken,
        )
        .path_param("name", DATABASE, json!("main"))
        .path_param("member", "`123` or `@alice`", json!("@alice"))
        .empty(204, "Removed")
        .errors(&[400, 403, 404, 409, 500]),
    ]
}

pub fn catalog() -> Vec<Op> {
    let report = json!({"run_id": 7, "outcome": "succeeded", "failed_step": null, "error": null, "duration_ms": 35, "steps": [{"name": "insert", "rows_affected": 1, "columns": ["id"], "rows": [["1"]], "exit_code": null, "stdout": "", "stderr": "", "duration_ms": 4}]});
    vec![
        operation(Get, "/views", "views", "The views, with the databases the token may run each on", ApiToken)
            .json(200, "The views", "Views", None),
        operation(Get, "/views/{alias}", "views", "Run a view", ApiToken)
            .describe("Any further query parameter is an argument of the view (`?upto=10`). Streamed: memory does not grow with the rows.")
            .path_param("alias", "The view's alias", json!("connections"))
            .required_query("database", "The database to run it on", json!("main"))
            .json(200, "The rows (CSV with `Accept: text/csv`)", "ViewResult", Some(json!({"columns": ["n"], "rows": [["1"]], "truncated": false})))
            .other(200, "The rows as CSV", "text/csv", json!("n\n1\n"))
            .errors(&[400, 403, 404, 429, 500, 502, 504]),
        operation(Get, "/actions", "actions", "The actions, with the databases the token may run each on", ApiToken)
            .json(200, "The actions", "Actions", None),
        operation(Post, "/actions/execute/{alias}", "actions", "Run an action", ApiToken)
            .describe("Admin or owner tokens. Waits for the report unless `wait=false`. The run goes on when the caller hangs up.")
            .path_param("alias", "The action's alias", json!("remember"))
            .query("wait", "`false` to answer 202 at once", json!("false"))
            .body("ExecuteRequest", json!({"database": "main", "args": {"note": "hello"}}))
            .located(200, "It succeeded: the report", "ActionResult", report)
            .located(202, "Started (`wait=false`)", "RunAccepted", json!({"run_id": 7, "state": "running"}))
            .located(422, "A step failed, was cancelled or timed out: the report", "ActionResult", json!({"run_id": 8, "outcome": "failed", "failed_step": 1, "error": "relation \"notes\" does not exist", "duration_ms": 3, "steps": []}))
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
            .query("since", "An RFC 3339 time or a duration back from now", json!("2h"))
            .query("limit", "1 to 1000, default 100", json!("100"))
            .query("cursor", "`next_cursor` of the previous page", json!("17"))
            .json(200, "A page of entries", "AuditPage", None)
            .errors(&[400, 403, 500]),
    ]
}

pub fn metrics() -> Vec<Op> {
    vec![
        operation(Get, "/charts", "charts", "The charts catalogue", ApiToken).json(
            200,
            "The charts, with the databases the token may read each on",
            "Charts",
            None,
        ),
        operation(
            Get,
            "/charts/{alias}",
            "charts",
            "A chart's series, or its picture",
            ApiToken,
        )
        .path_param("alias", "The chart's alias", json!("connections"))
        .required_query("database", "The database", json!("main"))
        .query("range", "`1h` (default), `6h`, `24h` or `7d`", json!("6h"))
        .json(
            200,
            "The series (at most 8; the rest summed as `other`)",
            "ChartSeries",
            None,
        )
        .other(
            200,
            "With `Accept: image/png`, the chart drawn",
            "image/png",
            json!(""),
        )
        .errors(&[400, 403, 404, 429, 500, 502, 504]),
        operation(Get, "/status", "charts", "Health cards", ApiToken)
            .query(
                "database",
                "Only this database (default: every one the token may read)",
                json!("main"),
            )
            .json(200, "Each database's card", "StatusCards", None)
            .errors(&[400, 403, 404, 502, 504]),
    ]
}

pub fn open() -> Vec<Op> {
    vec![
        operation(Get, "/-/healthy", "health", "Liveness", Anyone)
            .other(200, "The process runs", "text/plain", json!("OK\n")),
        operation(Get, "/-/ready", "health", "Readiness", Anyone)
            .describe("Ready when the state store answers; the body says where Telegram stands too, which does not decide the status.")
            .other(200, "Ready", "text/plain", json!("OK\nstate store: ok\ntelegram: ok\n"))
            .other(503, "The state store does not answer", "text/plain", json!("state store unreachable\ntelegram: ok\n")),
        operation(Get, "/metrics", "health", "Prometheus metrics", Anyone)
            .other(200, "The metrics in Prometheus's text format", "text/plain", json!("postgram_alerts_received_total{database=\"main\"} 3\n")),
        operation(Get, "/openapi.json", "health", "This document", Anyone)
            .other(200, "OpenAPI 3.1", "application/json", json!({"openapi": "3.1.0"})),
    ]
}
