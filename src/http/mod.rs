//! The HTTP server (axum): the Alertmanager webhook, the REST read side, health and metrics. Handlers
//! parse requests into domain types, ask `access` who is calling, and call `intake` or `store`; they never
//! hold SQL or business rules.

mod audit;
mod auth;
mod catalog;
mod charts;
mod databases;
mod error;
mod extract;
mod health;
mod incidents;
mod members;
mod observe;
mod paging;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{delete, get, post};

pub use error::ApiError;

use crate::access::Access;
use crate::config::Config;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::operations::Operations;
use crate::store::Store;

/// Webhook bodies above this are refused with 413; Alertmanager's own are a few KiB per alert.
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

/// What every handler may reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub access: Arc<Access>,
    pub intake: Intake,
    pub store: Store,
    pub metrics: Metrics,
    pub operations: Arc<Operations>,
    pub members: Arc<crate::members::Members>,
    pub clock: crate::clock::Clock,
    /// Charts and health cards from Prometheus.
    pub charts: Arc<crate::charts::service::Charting>,
    /// Whether Telegram answers (written by the bot), for `/-/ready`.
    pub reach: crate::telegram::reach::Reach,
}

/// Telegram's webhook route (from teloxide), behind a constant-time check of the secret-token header:
/// anything else posting there is refused before teloxide sees it.
pub fn telegram_webhook(routes: Router, secret: crate::config::Secret) -> Router {
    routes.layer(middleware::from_fn(move |request, next| {
        auth::require_telegram_secret(secret.clone(), request, next)
    }))
}

pub fn router(state: AppState) -> Router {
    let webhook = Router::new()
        .route("/alerts/alertmanager", post(webhook::receive))
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_webhook_token,
        ));
    let api = Router::new()
        .route("/incidents", get(incidents::list))
        .route("/incidents/{id}", get(incidents::show))
        .route("/databases", get(databases::list))
        .route(
            "/databases/{name}/admins",
            get(members::list).post(members::set),
        )
        .route("/databases/{name}/admins/{member}", delete(members::remove))
        .route("/views", get(catalog::list_views))
        .route("/views/{alias}", get(catalog::run_view))
        .route("/actions", get(catalog::list_actions))
        .route("/actions/execute/{alias}", post(catalog::execute))
        .route("/runs/{id}", get(catalog::show_run))
        .route("/runs/{id}/cancel", post(catalog::cancel_run))
        .route("/audit", get(audit::list))
        .route("/charts", get(charts::list))
        .route("/charts/{alias}", get(charts::show))
        .route("/status", get(charts::status))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_token,
        ));
    let open = Router::new()
        .route("/-/healthy", get(health::healthy))
        .route("/-/ready", get(health::ready))
        .route("/metrics", get(health::metrics));
    Router::new()
        .merge(webhook)
        .merge(api)
        .merge(open)
        .fallback(|| async { ApiError::NotFound("no such endpoint".to_owned()) })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::record,
        ))
        .layer(middleware::from_fn(error::json_errors))
        .with_state(state)
}
