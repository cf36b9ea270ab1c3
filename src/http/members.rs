//! A database's members over REST, for owners' tokens (`Permission::ManageMembers` on that database):
//! `GET /databases/{name}/admins` lists them (config ones first, locked), `POST` with
//! `{"member": 123 | "@alice", "role": "admin" | "viewer"}` adds one or changes their role (201 when
//! added, 200 otherwise), `DELETE /databases/{name}/admins/{member}` removes one added at runtime
//! (204). Every change goes through `members`, which audits and announces it under the token's name.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::auth::require;
use super::extract::Path;
use super::{ApiError, AppState};
use crate::access::{Identity, Permission, Source};
use crate::domain::{DatabaseName, MemberKey, Role, TelegramUserId};
use crate::members::{Changed, Member, MemberError};

impl From<MemberError> for ApiError {
    fn from(e: MemberError) -> Self {
        match e {
            MemberError::UnknownDatabase(_) | MemberError::NotMember { .. } => {
                ApiError::NotFound(e.to_string())
            }
            MemberError::Forbidden { .. } => ApiError::Forbidden(e.to_string()),
            MemberError::Locked(_) | MemberError::Owner(_) => ApiError::Conflict(e.to_string()),
            MemberError::BadRole(_) => ApiError::bad_request("role", e.to_string()),
            MemberError::Store(e) => ApiError::from(&e),
        }
    }
}

/// The database named in the path, if the config has it, once the caller may manage its members.
fn database(state: &AppState, identity: &Identity, raw: &str) -> Result<DatabaseName, ApiError> {
    let unknown = || ApiError::NotFound(format!("no database named {raw:?}"));
    let name = DatabaseName::parse(raw).map_err(|_| unknown())?;
    let name = state
        .settings
        .config()
        .database(&name)
        .map(|d| d.name.clone())
        .ok_or_else(unknown)?;
    require(identity, Permission::ManageMembers, Some(name.as_str()))?;
    Ok(name)
}

fn member_json(member: &Member) -> Value {
    json!({
        "member": member.key.shown(),
        "key": member.key.to_string(),
        "display": member.display,
        "role": member.role.as_str(),
        "source": match member.source {
            Source::Config => "config",
            Source::Runtime => "runtime",
        },
        "added_by": member.added_by,
        // The account the member is (a username: the one that claimed it with /start), or null.
        "user_id": member.user_id,
    })
}

pub async fn list(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let database = database(&state, &identity, &name)?;
    let members = state.members.list(database.as_str()).await?;
    Ok(Json(json!({
        "database": database.as_str(),
        "members": members.iter().map(member_json).collect::<Vec<_>>(),
    })))
}

/// `{"member", "role"}`, each field checked so a 400 names the one that is wrong.
fn parse_body(body: Value) -> Result<(MemberKey, Role), ApiError> {
    let Value::Object(fields) = body else {
        return Err(ApiError::bad_request(
            "body",
            "must be an object with \"member\" and \"role\"",
        ));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !["member", "role"].contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(
            unknown.as_str(),
            "unknown field; expected \"member\" and \"role\"",
        ));
    }
    let member = match fields.get("member") {
        None | Some(Value::Null) => return Err(ApiError::bad_request("member", "is required")),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("{n} is not a Telegram user id"))
            .and_then(TelegramUserId::new)
            .map(MemberKey::Id),
        Some(Value::String(s)) => s.parse(),
        Some(_) => Err("must be a Telegram user id or an @username".to_owned()),
    }
    .map_err(|e| ApiError::bad_request("member", e))?;
    let role = match fields.get("role") {
        None | Some(Value::Null) => return Err(ApiError::bad_request("role", "is required")),
        Some(Value::String(s)) if s == "admin" => Role::Admin,
        Some(Value::String(s)) if s == "viewer" => Role::Viewer,
        Some(other) => {
            return Err(ApiError::bad_request(
                "role",
                format!("{other} is not \"admin\" or \"viewer\""),
            ));
        }
    };
    Ok((member, role))
}

pub async fn set(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(name): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let database = database(&state, &identity, &name)?;
    let Json(body) = body.map_err(|e| ApiError::bad_request("body", e.body_text()))?;
    let (member, role) = parse_body(body)?;
    let changed = state
        .members
        .set(&identity, database.as_str(), &member, role)
        .await?;
    let key = state
        .members
        .stored_key(&member)
        .await
        .map_err(MemberError::from)?;
    let listed = state.members.list(database.as_str()).await?;
    let shown = listed
        .iter()
        .find(|m| m.key == key && m.source == Source::Runtime)
        .map(member_json)
        .ok_or_else(|| {
            // Removed again by someone else in between: rare, and not this request's fault.
            ApiError::Conflict(format!(
                "{} was changed concurrently; list the members",
                member.shown()
            ))
        })?;
    let status = match changed {
        Changed::Added => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(shown)).into_response())
}

pub async fn remove(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((name, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let database = database(&state, &identity, &name)?;
    let member: MemberKey = member
        .parse()
        .map_err(|e| ApiError::bad_request("member", e))?;
    state
        .members
        .remove(&identity, database.as_str(), &member)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
