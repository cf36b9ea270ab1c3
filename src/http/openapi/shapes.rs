//! The shapes of the answers that handlers build with `json!` (and of the request bodies they read
//! field by field), for the OpenAPI document only: nothing serialises these types. `tests/openapi`
//! checks real answers against them, so a handler that changes its answer fails there.

#![allow(dead_code)] // read by the `ToSchema` derives, never constructed

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Every error: `error` says what went wrong; `field` and `message` name the one parameter at fault.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": "limit: must be a number from 1 to 500", "field": "limit", "message": "must be a number from 1 to 500"}))]
pub struct Error {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// A reload applied: what changed, compared item by item.
#[derive(Serialize, ToSchema)]
pub struct Reloaded {
    /// `reloaded`.
    status: String,
    changes: ReloadChanges,
}

#[derive(Serialize, ToSchema)]
pub struct ReloadChanges {
    databases: NamesDelta,
    /// Per database kept, the config members added and removed: `main: + @alice (admin)`.
    members: Vec<String>,
    /// Telegram ids.
    owners: NamesDelta,
    api_tokens: NamesDelta,
    views: NamesDelta,
    actions: NamesDelta,
    charts: NamesDelta,
    /// Other keys and sections that changed: `escalation`, `smtp`, `links`…
    other: Vec<String>,
}

/// Names added, removed and changed.
#[derive(Serialize, ToSchema)]
pub struct NamesDelta {
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
}

/// A reload refused; the running configuration stays in force.
#[derive(Serialize, ToSchema)]
pub struct ReloadRefused {
    error: String,
    /// Each as `file:line:column: message`, or the one reason (keys that need a restart).
    problems: Vec<String>,
}

/// An Alertmanager webhook notification (version 4); fields not listed are ignored.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerNotification {
    /// Only `"4"` is accepted.
    version: String,
    status: crate::domain::AlertStatus,
    receiver: Option<String>,
    group_key: Option<String>,
    #[serde(rename = "externalURL")]
    external_url: Option<String>,
    truncated_alerts: Option<u64>,
    alerts: Vec<AlertmanagerAlert>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    status: crate::domain::AlertStatus,
    labels: BTreeMap<String, String>,
    annotations: Option<BTreeMap<String, String>>,
    starts_at: chrono::DateTime<chrono::Utc>,
    ends_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: String,
}

#[derive(Serialize, ToSchema)]
pub struct Databases {
    databases: Vec<DatabaseEntry>,
    /// Who receives alerts that match no database.
    owners: Vec<String>,
}

/// A configured database; never its DSN.
#[derive(Serialize, ToSchema)]
pub struct DatabaseEntry {
    name: String,
    /// The labels an alert must carry to be routed here.
    #[serde(rename = "match")]
    matchers: BTreeMap<String, String>,
    admins: Vec<String>,
    viewers: Vec<String>,
    chat: Option<i64>,
    email: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Members {
    database: String,
    members: Vec<MemberEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberEntry {
    /// As people write it: `123` or `@alice`.
    member: String,
    /// `user:<id>` or `username:<name>`.
    key: String,
    display: String,
    role: Role,
    source: MemberSource,
    added_by: Option<String>,
    /// The account the member is; `null` for a username nobody has claimed yet.
    user_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Viewer,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemberSource {
    Config,
    Runtime,
}

/// A Telegram user id or an `@username`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum MemberRef {
    Id(i64),
    Username(String),
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"member": "@alice", "role": "viewer"}))]
pub struct MemberChange {
    member: MemberRef,
    role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct Argument {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    description: String,
    required: bool,
    default: Option<String>,
    /// The allowed values of an `enum` argument.
    choices: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct Views {
    views: Vec<ViewEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct ViewEntry {
    alias: String,
    title: String,
    description: String,
    /// The databases the token may run it on.
    databases: Vec<String>,
    arguments: Vec<Argument>,
}

#[derive(Serialize, ToSchema)]
pub struct Actions {
    actions: Vec<ActionEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct ActionEntry {
    alias: String,
    title: String,
    description: String,
    databases: Vec<String>,
    confirm: bool,
    arguments: Vec<Argument>,
    steps: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ViewResult {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
    /// Whether rows were left out past the view's limit.
    truncated: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"database": "main", "args": {"note": "hello"}}))]
pub struct ExecuteRequest {
    database: String,
    /// Argument values by name: strings, numbers or booleans.
    args: Option<BTreeMap<String, Value>>,
}

/// An action's step-by-step report.
#[derive(Serialize, ToSchema)]
pub struct Report {
    outcome: ReportOutcome,
    /// 1-based; `null` when it succeeded.
    failed_step: Option<u64>,
    error: Option<String>,
    duration_ms: u64,
    steps: Vec<StepReport>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportOutcome {
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
}

#[derive(Serialize, ToSchema)]
pub struct StepReport {
    name: String,
    rows_affected: Option<u64>,
    columns: Option<Vec<String>>,
    rows: Option<Vec<Vec<Option<String>>>>,
    exit_code: Option<i32>,
    stdout: String,
    stderr: String,
    duration_ms: u64,
}

/// A finished `POST /actions/execute/{alias}`: its report and run id.
#[derive(Serialize, ToSchema)]
pub struct ActionResult {
    run_id: i64,
    #[serde(flatten)]
    report: Report,
}

/// A run started without waiting (`running`) or asked to stop (`cancelling`).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"run_id": 7, "state": "running"}))]
pub struct RunAccepted {
    run_id: i64,
    state: String,
}

#[derive(Serialize, ToSchema)]
pub struct Run {
    run_id: i64,
    action: Value,
    database: Option<String>,
    /// `running`, `succeeded`, `failed`, `cancelled`, `timed_out` or `interrupted`.
    state: Option<String>,
    /// Once the run ended, when this process ran it.
    report: Option<Report>,
    /// Runs of an earlier process, from the audit log.
    started_at: Option<String>,
    finished_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; `null` on the last.
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    id: i64,
    at: chrono::DateTime<chrono::Utc>,
    actor: String,
    actor_id: Option<i64>,
    via: Option<String>,
    action: String,
    database: Option<String>,
    outcome: Option<String>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// With secrets masked.
    detail: Value,
}

#[derive(Serialize, ToSchema)]
pub struct Charts {
    /// Whether a Prometheus is configured.
    enabled: bool,
    ranges: Vec<String>,
    charts: Vec<ChartEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct ChartEntry {
    alias: String,
    title: String,
    description: String,
    unit: String,
    databases: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ChartSeries {
    alias: String,
    title: String,
    unit: String,
    database: String,
    range: String,
    /// Unix seconds.
    from: i64,
    to: i64,
    step: i64,
    series: Vec<Series>,
}

#[derive(Serialize, ToSchema)]
pub struct Series {
    name: String,
    /// `[unix seconds, value]`; a `null` value is a gap.
    points: Vec<Vec<Option<f64>>>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusCards {
    databases: Vec<StatusCard>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusCard {
    database: String,
    /// Unix seconds.
    at: i64,
    rows: Vec<StatusRow>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusRow {
    name: String,
    title: String,
    unit: String,
    value: Option<f64>,
    /// The value formatted in its unit.
    shown: Option<String>,
    level: Level,
    error: Option<String>,
    warn_above: Option<f64>,
    warn_below: Option<f64>,
    critical_above: Option<f64>,
    critical_below: Option<f64>,
    chart: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Critical,
    Unknown,
}
