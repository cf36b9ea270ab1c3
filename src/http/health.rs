//! Liveness, readiness and the Prometheus endpoint; open to anyone who can reach the port.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::AppState;

pub async fn healthy() -> &'static str {
    "OK\n"
}

/// Ready when the state store answers: without it no webhook can be accepted. Telegram is not part
/// of the verdict (alerts wait in the outbox while it is away), but the body says where it stands and,
/// when it does not answer, why — the first thing to fix on a new install.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, String) {
    let telegram = format!("telegram: {}\n", state.reach.status());
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, format!("OK\nstate store: ok\n{telegram}")),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: state store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("state store unreachable\n{telegram}"),
            )
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Outbox gauges are read at scrape time, so they are exact whichever replica did the work.
    match state.store.outbox_stats(state.clock.now()).await {
        Ok(stats) => {
            state.metrics.state_store_up.set(1);
            for s in stats {
                let kind = [s.kind.as_str()];
                state.metrics.outbox_due.with_label_values(&kind).set(s.due);
                state
                    .metrics
                    .outbox_scheduled
                    .with_label_values(&kind)
                    .set(s.scheduled);
                state
                    .metrics
                    .outbox_oldest_due_age
                    .with_label_values(&kind)
                    .set(s.oldest_due_age.as_secs_f64());
            }
        }
        Err(e) => {
            // The outbox figures keep their last values; this says they are stale, and why.
            state.metrics.state_store_up.set(0);
            tracing::warn!(error = %e, "metrics: reading outbox depth failed");
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
