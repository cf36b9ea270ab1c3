//! `POST /alerts/alertmanager`: answered 200 only after the notification, its incidents and their outbox
//! jobs are committed. 4xx only for requests that can never succeed (Alertmanager does not retry them);
//! 5xx when the store failed, so Alertmanager retries.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde::Serialize;
use tracing::Instrument;

use super::{ApiError, AppState, WEBHOOK_BODY_LIMIT};
use crate::alertmanager;
use crate::domain::IncidentId;
use crate::intake::IntakeError;
use crate::store::AlertOutcome;
use crate::telemetry;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Receipt {
    /// Absent (`null`) when every alert was a duplicate and nothing was stored.
    notification: Option<i64>,
    alerts: Vec<AlertReceipt>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct AlertReceipt {
    fingerprint: String,
    /// `opened`, `resolved`, `recorded` or `duplicate` (nothing stored).
    outcome: &'static str,
    incident: Option<IncidentId>,
}

/// The root of a notification's trace (exported only with `telemetry.otlp_endpoint`): its incidents are
/// stored under it, and their deliveries continue it.
pub async fn receive(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Receipt>, ApiError> {
    let request = tracing::trace_span!(
        parent: None,
        "POST /alerts/alertmanager",
        otel.kind = "server",
        http.request.method = "POST",
        http.route = "/alerts/alertmanager",
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let answer = receive_traced(state, body)
        .instrument(request.clone())
        .await;
    let status = answer
        .as_ref()
        .map_or_else(ApiError::status, |_| StatusCode::OK);
    request.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        request.record("otel.status_code", "error");
    }
    answer
}

async fn receive_traced(
    state: AppState,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Receipt>, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: WEBHOOK_BODY_LIMIT,
            }
        } else {
            ApiError::bad_request("body", rejection.body_text())
        }
    })?;
    let notification = alertmanager::parse(&body)?;
    let fingerprints: Vec<String> = notification
        .alerts
        .iter()
        .map(|a| a.fingerprint.clone())
        .collect();
    // The body parsed as JSON, so it is UTF-8.
    let raw = String::from_utf8_lossy(&body).into_owned();
    let stored = tracing::trace_span!("store notification", alerts = fingerprints.len());
    let traceparent = telemetry::traceparent(&stored);
    let outcome = state
        .intake
        .submit(notification, raw, state.clock.now(), traceparent)
        .instrument(stored)
        .await
        .map_err(|e| match e {
            IntakeError::ShuttingDown => ApiError::Unavailable("the service is shutting down"),
            // Nothing was stored: on 503 Alertmanager retries, and nothing is lost.
            IntakeError::Store(e) => ApiError::from(&*e),
        })?;
    let alerts = fingerprints
        .into_iter()
        .zip(outcome.alerts)
        .map(|(fingerprint, result)| {
            let (outcome, incident) = match result {
                AlertOutcome::Opened(id) => ("opened", Some(id)),
                AlertOutcome::Resolved(id) => ("resolved", Some(id)),
                AlertOutcome::Recorded(id) => ("recorded", Some(id)),
                AlertOutcome::Duplicate => ("duplicate", None),
            };
            AlertReceipt {
                fingerprint,
                outcome,
                incident,
            }
        })
        .collect();
    Ok(Json(Receipt {
        notification: outcome.notification_id,
        alerts,
    }))
}
