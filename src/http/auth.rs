//! Bearer-token middleware: the webhook token for Alertmanager, API tokens for REST. Runs before the
//! body is read, so an unauthenticated caller cannot make the service buffer a megabyte.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, AppState};
use crate::access::{Identity, Permission, may};

fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub async fn require_webhook_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match bearer(&request) {
        Some(token) if state.settings.access().is_webhook_token(token) => {
            Ok(next.run(request).await)
        }
        _ => Err(ApiError::Unauthorized),
    }
}

pub async fn require_api_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = bearer(&request).ok_or(ApiError::Unauthorized)?;
    let identity = state
        .settings
        .access()
        .token(token)
        .await
        .map_err(|e| ApiError::from(&e))?
        // Unknown and revoked tokens alike.
        .ok_or(ApiError::Unauthorized)?;
    request.extensions_mut().insert(identity);
    Ok(next.run(request).await)
}

/// 403 unless `access::may` allows it: the one check every REST route makes.
pub fn require(
    identity: &Identity,
    permission: Permission,
    database: Option<&str>,
) -> Result<(), ApiError> {
    if may(identity, permission, database) {
        return Ok(());
    }
    let what = match permission {
        Permission::Read => "read",
        Permission::Respond => "respond to alerts of",
        Permission::RunActions => "run actions on",
        Permission::ManageMembers => "manage the members of",
        Permission::ManageTokens => "manage API tokens of",
        Permission::ReadAudit => "read the audit log of",
        Permission::Reload => "reload the configuration of",
    };
    let target = match database {
        _ if permission.service_wide() => "this service".to_owned(),
        Some(database) => format!("database {database}"),
        None => "every database".to_owned(),
    };
    Err(ApiError::Forbidden(format!(
        "{} may not {what} {target}",
        identity.name
    )))
}

/// The header Telegram sends with every webhook post when a secret token was set.
const TELEGRAM_SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub async fn require_telegram_secret(
    secret: crate::config::Secret,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    use subtle::ConstantTimeEq;
    let presented = request
        .headers()
        .get(TELEGRAM_SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let expected = secret.expose().as_bytes();
    // Lengths are compared first: the secret's length is no secret worth a timing-safe compare.
    if presented.len() == expected.len() && bool::from(presented.ct_eq(expected)) {
        Ok(next.run(request).await)
    } else {
        Err(ApiError::Unauthorized)
    }
}
