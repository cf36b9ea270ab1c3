//! Bearer-token middleware: the webhook token for Alertmanager, API tokens for REST. Runs before the
//! body is read, so an unauthenticated caller cannot make the service buffer a megabyte.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, AppState};

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
        Some(token) if state.access.is_webhook_token(token) => Ok(next.run(request).await),
        _ => Err(ApiError::Unauthorized),
    }
}

pub async fn require_api_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let identity = bearer(&request)
        .and_then(|token| state.access.api_identity(token))
        .ok_or(ApiError::Unauthorized)?;
    request.extensions_mut().insert(identity);
    Ok(next.run(request).await)
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
