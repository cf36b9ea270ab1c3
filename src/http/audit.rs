//! `GET /audit`: the audit log for owners, newest first, filtered by `actor` (name or Telegram id),
//! `database`, `action` and `since`, paged with `cursor` like `/incidents`.

use std::collections::HashMap;

use axum::extract::State;
use axum::{Extension, Json};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::auth::require;
use super::extract::Query;
use super::paging;
use super::{ApiError, AppState};
use crate::access::{Identity, Permission};
use crate::store::{AuditEntry, AuditFilter};

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;
const PARAMETERS: [&str; 6] = ["actor", "database", "action", "since", "cursor", "limit"];

pub async fn list(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require(&identity, Permission::ReadAudit, None)?;
    let filter = filter(&params, state.clock.now())?;
    let page = state
        .store
        .audit_page(&filter)
        .await
        .map_err(|e| ApiError::from(&e))?;
    let entries: Vec<Value> = page.entries.iter().map(shown).collect();
    Ok(Json(
        json!({ "entries": entries, "next_cursor": page.next_cursor }),
    ))
}

fn filter(params: &HashMap<String, String>, now: DateTime<Utc>) -> Result<AuditFilter, ApiError> {
    paging::only(params, &PARAMETERS)?;
    let since = paging::since(params, now)?;
    let before = paging::cursor(params)?;
    let limit = paging::limit(params, DEFAULT_LIMIT, MAX_LIMIT)?;
    Ok(AuditFilter {
        actor: params.get("actor").cloned(),
        database: params.get("database").cloned(),
        action: params.get("action").cloned(),
        since,
        before,
        limit,
    })
}

/// An entry as the API shows it.
fn shown(entry: &AuditEntry) -> Value {
    json!({
        "id": entry.id,
        "at": rfc3339(entry.at),
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "via": entry.via,
        "action": entry.action,
        "database": entry.database,
        "outcome": entry.outcome,
        "finished_at": entry.finished_at.map(rfc3339),
        "detail": entry.detail,
    })
}

/// How the API writes a time: RFC 3339 in UTC, to the millisecond.
pub(super) fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
