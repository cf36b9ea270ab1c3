//! `GET /incidents` (filters `database`, `status`, `since`, `cursor`, `limit`) and `GET /incidents/{id}`.

use std::collections::HashMap;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};

use super::auth::require;
use super::extract::{Path, Query};
use super::paging;
use super::{ApiError, AppState};
use crate::access::{Identity, Permission, may};
use crate::domain::{AlertStatus, DatabaseName, IncidentId};
use crate::store::{IncidentDetail, IncidentFilter, IncidentPage};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;
const PARAMETERS: [&str; 5] = ["database", "status", "since", "cursor", "limit"];

pub async fn list(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<IncidentPage>, ApiError> {
    let filter = filter(&state, &params, state.clock.now())?;
    // A token limited to some databases names one of them: the history of the others is not its own.
    if !may(&identity, Permission::Read, None) {
        match filter.database.as_deref() {
            Some(database) => require(&identity, Permission::Read, Some(database))?,
            None => {
                return Err(ApiError::Forbidden(format!(
                    "{} must name one of its databases",
                    identity.name
                )));
            }
        }
    }
    let page = state
        .store
        .list_incidents(&filter)
        .await
        .map_err(|e| ApiError::from(&e))?;
    Ok(Json(page))
}

pub async fn show(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::bad_request("id", format!("{id:?} is not an incident id")))?;
    state
        .store
        .incident(IncidentId(id))
        .await
        .map_err(|e| ApiError::from(&e))?
        .filter(|detail| {
            may(
                &identity,
                Permission::Read,
                detail.incident.database.as_deref(),
            )
        })
        .map(Json)
        // Out of reach reads as absent: a limited token learns nothing about other databases.
        .ok_or_else(|| ApiError::NotFound(format!("incident {id} does not exist")))
}

fn filter(
    state: &AppState,
    params: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<IncidentFilter, ApiError> {
    paging::only(params, &PARAMETERS)?;
    let database = params
        .get("database")
        .map(|raw| {
            let name =
                DatabaseName::parse(raw).map_err(|e| ApiError::bad_request("database", e))?;
            if state.settings.config().database(&name).is_none() {
                return Err(ApiError::NotFound(format!(
                    "database {name} is not configured"
                )));
            }
            Ok(name.to_string())
        })
        .transpose()?;
    let status = params
        .get("status")
        .map(|raw| AlertStatus::parse(raw).map_err(|e| ApiError::bad_request("status", e)))
        .transpose()?;
    let since = paging::since(params, now)?;
    let before = paging::cursor(params)?.map(IncidentId);
    let limit = paging::limit(params, DEFAULT_LIMIT, MAX_LIMIT)?;
    Ok(IncidentFilter {
        database,
        status,
        since,
        before,
        limit,
    })
}
