//! `POST /-/reload`: reads the config and its files again and puts them in force, as SIGHUP does.
//! Owner tokens only; 200 with what changed, 400 with every problem when the running settings stay.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::auth::require;
use super::{ApiError, AppState};
use crate::access::{Identity, Permission};

pub async fn reload(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Result<Response, ApiError> {
    require(&identity, Permission::Reload, None)?;
    Ok(match state.reloader.reload(&identity.actor()).await {
        Ok(changes) => Json(json!({ "status": "reloaded", "changes": changes })).into_response(),
        Err(refused) => {
            let body = json!({ "error": refused.to_string(), "problems": refused.problems() });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    })
}
