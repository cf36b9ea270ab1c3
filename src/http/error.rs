//! The API's errors. What a caller may read (a field and its problem, a missing resource) is its own
//! variant; anything internal is logged whole where it happens and answered with a short reference.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::alertmanager::PayloadError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or unknown bearer token")]
    Unauthorized,
    #[error("{field}: {message}")]
    BadRequest { field: String, message: String },
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The caller has too much under way; retrying later may succeed.
    #[error("{0}")]
    TooManyRequests(String),
    /// The administered database failed or is unreachable: its message, never internals.
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    GatewayTimeout(String),
    #[error("{0}")]
    Unavailable(&'static str),
    /// An internal failure, already logged under this reference.
    #[error("internal error (reference {0})")]
    Internal(String),
    #[error("the request target is longer than {limit} bytes")]
    UriTooLong { limit: usize },
    #[error("the request headers are larger than {limit} bytes")]
    HeadersTooLarge { limit: usize },
    /// An answer that axum or a layer made in its own words (405, a plain-text rejection), reshaped.
    #[error("{message}")]
    Other { status: StatusCode, message: String },
}

impl ApiError {
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Logs `error` with a fresh reference and returns the answer that names only the reference.
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        let reference = reference();
        tracing::error!(reference = %reference, error = %error, "request failed");
        ApiError::Internal(reference)
    }

    pub(super) fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::Other { status, .. } => *status,
        }
    }
}

impl From<&StoreError> for ApiError {
    /// A store that is away (down, restarting, failing over) is 503: the same request succeeds once
    /// it is back, and Alertmanager retries on it. Anything else is internal.
    fn from(e: &StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "the state store is unavailable; the request is refused");
            ApiError::Unavailable("the state store is unavailable; retry later")
        } else {
            ApiError::internal(e)
        }
    }
}

impl From<PayloadError> for ApiError {
    fn from(e: PayloadError) -> Self {
        ApiError::BadRequest {
            field: e.field,
            message: e.message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            ApiError::BadRequest { field, message } => {
                json!({ "error": self.to_string(), "field": field, "message": message })
            }
            _ => json!({ "error": self.to_string() }),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Request targets above this are refused with 414 (hyper's own limit, near 64 KiB, answers without a body).
pub const URI_LIMIT: usize = 8 * 1024;
/// Request headers above this, names and values together, are refused with 431.
pub const HEADERS_LIMIT: usize = 16 * 1024;

/// The outermost layer: refuses oversized request targets and headers, and gives every error answer
/// that is not already JSON the API's shape (axum's 405 has no body, its rejections are plain text),
/// keeping its headers (`Allow` on a 405).
pub async fn json_errors(request: Request, next: Next) -> Response {
    if request.uri().to_string().len() > URI_LIMIT {
        return ApiError::UriTooLong { limit: URI_LIMIT }.into_response();
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > HEADERS_LIMIT {
        return ApiError::HeadersTooLarge {
            limit: HEADERS_LIMIT,
        }
        .into_response();
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = if !text.is_empty() {
        text
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        format!("this endpoint answers only {allowed}")
    } else {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_owned()
    };
    let mut reshaped = ApiError::Other { status, message }.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            reshaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    reshaped
}

/// A short, unique-enough reference tying an answer to its log line.
fn reference() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{:08x}",
        nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(16)
    )
}
