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
mod openapi;
mod paging;
mod reload;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{MethodRouter, delete, get, post};

pub use error::ApiError;

use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::operations::Operations;
use crate::settings::InForce;
use crate::store::Store;

/// Webhook bodies above this are refused with 413; Alertmanager's own are a few KiB per alert.
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

/// What every handler may reach.
#[derive(Clone)]
pub struct AppState {
    /// The config and what is built from it (see the accessors).
    pub settings: InForce,
    pub intake: Intake,
    pub store: Store,
    pub metrics: Metrics,
    pub operations: Arc<Operations>,
    pub members: Arc<crate::members::Members>,
    pub clock: crate::clock::Clock,
    /// Reads the config again and puts it in force (`POST /-/reload`, as SIGHUP does).
    pub reloader: Arc<crate::reload::Reloader>,
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

/// A table of routes: each path with the handlers of its methods.
type Routes = Vec<(&'static str, MethodRouter<AppState>)>;

/// Alertmanager's webhook, behind the webhook token.
fn webhook_routes() -> Routes {
    vec![("/alerts/alertmanager", post(webhook::receive))]
}

/// The REST side, behind API tokens.
fn api_routes() -> Routes {
    vec![
        ("/incidents", get(incidents::list)),
        ("/incidents/{id}", get(incidents::show)),
        ("/databases", get(databases::list)),
        (
            "/databases/{name}/admins",
            get(members::list).post(members::set),
        ),
        ("/databases/{name}/admins/{member}", delete(members::remove)),
        ("/views", get(catalog::list_views)),
        ("/views/{alias}", get(catalog::run_view)),
        ("/actions", get(catalog::list_actions)),
        ("/actions/execute/{alias}", post(catalog::execute)),
        ("/runs/{id}", get(catalog::show_run)),
        ("/runs/{id}/cancel", post(catalog::cancel_run)),
        ("/audit", get(audit::list)),
        ("/charts", get(charts::list)),
        ("/charts/{alias}", get(charts::show)),
        ("/status", get(charts::status)),
        // Owner tokens; a GET is answered 405 like Prometheus's.
        ("/-/reload", post(reload::reload)),
    ]
}

/// Open to anyone who can reach the port.
fn open_routes() -> Routes {
    vec![
        ("/-/healthy", get(health::healthy)),
        ("/-/ready", get(health::ready)),
        ("/metrics", get(health::metrics)),
        ("/openapi.json", get(openapi::serve)),
    ]
}

fn table(routes: Routes) -> Router<AppState> {
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
}

/// Every path the router answers, from the same tables it is built from: the OpenAPI document
/// describes exactly these.
pub fn paths() -> Vec<&'static str> {
    [webhook_routes(), api_routes(), open_routes()]
        .into_iter()
        .flatten()
        .map(|(path, _)| path)
        .collect()
}

pub fn router(state: AppState) -> Router {
    let webhook = table(webhook_routes())
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_webhook_token,
        ));
    let api = table(api_routes()).route_layer(middleware::from_fn_with_state(
        state.clone(),
        auth::require_api_token,
    ));
    let open = table(open_routes());
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
