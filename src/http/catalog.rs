//! Views and actions over REST: `GET /views`, `GET /views/{alias}?database=D&arg=value…` (JSON, or CSV
//! for `Accept: text/csv`), `GET /actions`, `POST /actions/execute/{alias}` with `{database, args}`
//! (waits for the report unless `?wait=false`; either way answers with the run's id and `Location`),
//! `GET /runs/{id}` and `POST /runs/{id}/cancel`. Viewers may run views and read runs; admins and
//! owners run and cancel actions too.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::audit::rfc3339;
use super::auth::require;
use super::extract::{Path, Query};
use super::{ApiError, AppState};
use crate::access::{Identity, Permission, may};
use crate::catalog::{ArgType, Argument};
use crate::domain::DatabaseName;
use crate::exec::{ExecError, Outcome};
use crate::operations::{OpError, RunId, RunInfo, RunState};
use crate::store::News;

#[derive(Serialize)]
struct ArgumentView<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    description: &'a str,
    required: bool,
    default: Option<String>,
    choices: Option<&'a [String]>,
}

fn describe(arguments: &[Argument]) -> Vec<ArgumentView<'_>> {
    arguments
        .iter()
        .map(|a| ArgumentView {
            name: &a.name,
            kind: a.kind.name(),
            description: &a.description,
            required: a.required,
            default: a.default.as_ref().map(|d| d.shown()),
            choices: match &a.kind {
                ArgType::Enum { choices } => Some(choices),
                _ => None,
            },
        })
        .collect()
}

/// The databases an item serves that the caller may use it on.
fn databases(
    list: &Option<Vec<DatabaseName>>,
    state: &AppState,
    identity: &Identity,
    permission: Permission,
) -> Vec<String> {
    state
        .settings
        .config()
        .databases
        .iter()
        .map(|d| &d.name)
        .filter(|name| list.as_ref().is_none_or(|list| list.contains(name)))
        .filter(|name| may(identity, permission, Some(name.as_str())))
        .map(ToString::to_string)
        .collect()
}

pub async fn list_views(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Json<serde_json::Value> {
    let views: Vec<_> = state
        .operations
        .catalog()
        .views
        .iter()
        .map(|v| {
            json!({
                "alias": v.alias, "title": v.title.en(), "description": v.description.en(),
                "databases": databases(&v.databases, &state, &identity, Permission::Read), "arguments": describe(&v.arguments),
            })
        })
        .collect();
    Json(json!({ "views": views }))
}

pub async fn list_actions(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Json<serde_json::Value> {
    let actions: Vec<_> = state
        .operations
        .catalog()
        .actions
        .iter()
        .map(|a| {
            json!({
                "alias": a.alias, "title": a.title.en(), "description": a.description.en(),
                "databases": databases(&a.databases, &state, &identity, Permission::RunActions), "confirm": a.confirm,
                "arguments": describe(&a.arguments),
                "steps": a.steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({ "actions": actions }))
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::UnknownView(_) | OpError::UnknownAction(_) | OpError::UnknownDatabase(_) => {
                ApiError::NotFound(e.to_string())
            }
            OpError::NotServed { .. } => ApiError::NotFound(e.to_string()),
            OpError::Argument(e) => {
                ApiError::bad_request(e.name.clone(), e.message(crate::i18n::Lang::En))
            }
            OpError::Busy { .. } => ApiError::Conflict(e.to_string()),
            OpError::TooManyViews(_) => ApiError::TooManyRequests(e.to_string()),
            OpError::Spool(e) => ApiError::internal(&e),
            OpError::State(e) => ApiError::from(&e),
            OpError::Exec { ref error, .. } => match error {
                ExecError::Unreachable(_) => ApiError::BadGateway(e.to_string()),
                ExecError::TimedOut => ApiError::GatewayTimeout(e.to_string()),
                _ => ApiError::BadGateway(e.to_string()),
            },
        }
    }
}

/// The database a request names (`400` when it is missing or malformed, `404` when unknown).
pub(super) fn database(state: &AppState, raw: Option<&String>) -> Result<DatabaseName, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::bad_request("database", "is required"))?;
    let name = DatabaseName::parse(raw).map_err(|e| ApiError::bad_request("database", e))?;
    state
        .settings
        .config()
        .database(&name)
        .map(|d| d.name.clone())
        .ok_or_else(|| ApiError::NotFound(format!("no database named {raw:?}")))
}

pub async fn run_view(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(alias): Path<String>,
    Query(mut params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let database = database(&state, params.remove("database").as_ref())?;
    require(&identity, Permission::Read, Some(database.as_str()))?;
    let who = identity.actor();
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    if !wants_csv {
        // Spooled, then streamed: however many rows, memory holds none of them.
        let (summary, file) = state
            .operations
            .view_json(&who, &database, &alias, &params)
            .await?;
        let head = format!(r#"{{"columns":{},"rows":["#, json!(summary.columns));
        let tail = format!(r#"],"truncated":{}}}"#, summary.truncated);
        let rows = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
        let body = futures_util::StreamExt::chain(
            futures_util::StreamExt::chain(bytes_once(head), rows),
            bytes_once(tail),
        );
        let json = [(header::CONTENT_TYPE, "application/json")];
        return Ok((json, Body::from_stream(body)).into_response());
    }
    let (header, file) = state
        .operations
        .view_csv(&who, &database, &alias, &params)
        .await?;
    let rows = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    let body = Body::from_stream(futures_util::StreamExt::chain(bytes_once(header), rows));
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}

/// One chunk of a streamed body.
fn bytes_once(
    text: String,
) -> impl futures_util::Stream<Item = std::io::Result<axum::body::Bytes>> {
    futures_util::stream::once(async move { Ok(axum::body::Bytes::from(text)) })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    database: String,
    #[serde(default)]
    args: BTreeMap<String, serde_json::Value>,
}

pub async fn execute(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(alias): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
    body: Result<Json<ExecuteRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let wait = match params.get("wait").map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(ApiError::bad_request("wait", "must be true or false")),
    };
    if let Some(unknown) = params.keys().find(|k| k.as_str() != "wait") {
        return Err(ApiError::bad_request(
            unknown,
            "is not a parameter of this route",
        ));
    }
    let Json(request) = body.map_err(|e| ApiError::bad_request("body", e.body_text()))?;
    let database = database(&state, Some(&request.database))?;
    require(&identity, Permission::RunActions, Some(database.as_str()))?;
    let mut args = BTreeMap::new();
    for (name, value) in request.args {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => {
                return Err(ApiError::bad_request(
                    name,
                    "must be a string, number or boolean",
                ));
            }
        };
        args.insert(name, text);
    }
    let who = identity.actor();
    let run = state
        .operations
        .start_action(&who, &database, &alias, &args, Arc::new(|_| {}))
        .await?;
    let id = run.id;
    let location = [(header::LOCATION, format!("/runs/{id}"))];
    if !wait {
        let body = json!({ "run_id": id, "state": RunState::Running.name() });
        return Ok((StatusCode::ACCEPTED, location, Json(body)).into_response());
    }
    // The run is a task of its own: if the caller hangs up here, it goes on and is audited.
    let report = run
        .finished()
        .await
        .ok_or_else(|| ApiError::internal(&format!("run {id} ended without a report")))?;
    let status = match report.outcome {
        Outcome::Succeeded => StatusCode::OK,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut body = report_json(&report);
    body["run_id"] = json!(id);
    Ok((status, location, Json(body)).into_response())
}

/// The run `raw` names, if the caller may `permission` on its database; 404 for an unknown run.
fn run_for(
    state: &AppState,
    identity: &Identity,
    raw: &str,
    permission: Permission,
) -> Result<RunInfo, ApiError> {
    let missing = || ApiError::NotFound(format!("no run {raw:?}"));
    let id: RunId = raw.parse().map_err(|_| missing())?;
    let run = state.operations.run(id).ok_or_else(missing)?;
    require(identity, permission, Some(run.database.as_str()))?;
    Ok(run)
}

fn run_json(run: &RunInfo) -> serde_json::Value {
    json!({
        "run_id": run.id, "action": run.action, "database": run.database.as_str(),
        "state": run.state.name(),
        "report": match &run.state {
            RunState::Running => serde_json::Value::Null,
            RunState::Ended(report) => report_json(report),
        },
    })
}

/// A run this process does not hold, as its audit row tells it: one that ended before the service
/// restarted (`interrupted` when the process died under it), or one another replica runs.
async fn recorded_run(
    state: &AppState,
    identity: &Identity,
    raw: &str,
    permission: Permission,
) -> Result<serde_json::Value, ApiError> {
    let missing = || ApiError::NotFound(format!("no run {raw:?}"));
    let id: RunId = raw.parse().map_err(|_| missing())?;
    let entry = state
        .store
        .recorded_run(id)
        .await
        .map_err(|e| ApiError::from(&e))?
        .ok_or_else(missing)?;
    require(identity, permission, entry.database.as_deref())?;
    Ok(json!({
        "run_id": entry.id, "action": entry.detail.get("action"), "database": entry.database,
        "state": entry.outcome, "report": serde_json::Value::Null,
        "started_at": rfc3339(entry.at), "finished_at": entry.finished_at.map(rfc3339),
    }))
}

/// `GET /runs/{id}`: where the run is, and its report once it ended (runs of this process; older ones
/// from the audit log, without their report).
pub async fn show_run(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match run_for(&state, &identity, &raw, Permission::Read) {
        Err(ApiError::NotFound(_)) => Ok(Json(
            recorded_run(&state, &identity, &raw, Permission::Read).await?,
        )),
        run => Ok(Json(run_json(&run?))),
    }
}

/// `POST /runs/{id}/cancel`: stops a run under way (202); 409 when it already ended.
pub async fn cancel_run(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let run = match run_for(&state, &identity, &raw, Permission::RunActions) {
        Err(ApiError::NotFound(_)) => {
            let recorded = recorded_run(&state, &identity, &raw, Permission::RunActions).await?;
            let shown = recorded["state"].as_str().unwrap_or("unknown");
            let id = recorded["run_id"].as_i64();
            return match id.filter(|_| shown == "running") {
                // Another replica sharing the state store runs it: it hears of the cancel at once.
                Some(id) if state.store.backend() == crate::store::Backend::Postgres => {
                    state
                        .store
                        .tell_replicas(News::CancelRun(id))
                        .await
                        .map_err(|e| ApiError::from(&e))?;
                    let body = json!({ "run_id": id, "state": "cancelling" });
                    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
                }
                _ => Err(ApiError::Conflict(format!(
                    "run {raw} is not running in this process ({shown})"
                ))),
            };
        }
        run => run?,
    };
    if !state.operations.cancel_run(run.id) {
        return Err(ApiError::Conflict(format!(
            "run {} has already ended ({})",
            run.id,
            run.state.name()
        )));
    }
    let body = json!({ "run_id": run.id, "state": "cancelling" });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

fn report_json(report: &crate::exec::ActionReport) -> serde_json::Value {
    let (outcome, step, error) = match &report.outcome {
        Outcome::Succeeded => ("succeeded", None, None),
        Outcome::Failed { step, error } => ("failed", Some(*step), Some(error.to_string())),
        Outcome::Cancelled { step } => ("cancelled", Some(*step), None),
        Outcome::TimedOut { step } => ("timed_out", Some(*step), None),
    };
    json!({
        "outcome": outcome, "failed_step": step, "error": error,
        "duration_ms": report.duration.as_millis() as u64,
        "steps": report.steps.iter().map(|s| json!({
            "name": s.name, "rows_affected": s.rows_affected,
            "columns": s.table.as_ref().map(|t| &t.columns), "rows": s.table.as_ref().map(|t| &t.rows),
            "exit_code": s.exit_code, "stdout": s.stdout_tail, "stderr": s.stderr_tail,
            "duration_ms": s.duration.as_millis() as u64,
        })).collect::<Vec<_>>(),
    })
}
