//! `GET /openapi.json`: the API's contract as OpenAPI 3.1, assembled once from the schemas the answers
//! derive (`ToSchema`) and the shapes in `shapes`; each route is one operation in `operations`, built
//! with `op`. `tests/openapi` checks that the document and the router name the same routes and methods,
//! and that real answers match what is written here.

mod op;
mod operations;
mod shapes;

use std::sync::LazyLock;

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{InfoBuilder, PathsBuilder};

/// Every schema the operations refer to; the derive adds the ones they contain.
#[derive(OpenApi)]
#[openapi(components(schemas(
    shapes::Error,
    shapes::AlertmanagerNotification,
    super::webhook::Receipt,
    crate::store::IncidentPage,
    crate::store::IncidentDetail,
    shapes::Databases,
    shapes::Members,
    shapes::MemberEntry,
    shapes::MemberChange,
    shapes::Views,
    shapes::ViewResult,
    shapes::Actions,
    shapes::ExecuteRequest,
    shapes::ActionResult,
    shapes::RunAccepted,
    shapes::Run,
    shapes::AuditPage,
    shapes::Charts,
    shapes::ChartSeries,
    shapes::StatusCards,
    shapes::Reloaded,
    shapes::ReloadRefused,
)))]
struct Schemas;

/// The document, built on first request; it never changes while the process runs.
static DOCUMENT: LazyLock<Value> = LazyLock::new(document);

pub async fn serve() -> Response {
    let mut response = Json(&*DOCUMENT).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    response
}

/// The whole document: every route of the router, its parameters, answers and who may call it.
pub fn document() -> Value {
    let mut api = Schemas::openapi();
    api.info = InfoBuilder::new()
        .title("Postgram Admin")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Alertmanager's webhook, the incidents, views, actions, runs, audit log and charts \
             of the PostgreSQL databases Postgram administers. Every error answers `{\"error\"}`, \
             with `field` and `message` when one parameter is at fault.",
        ))
        .build();
    if let Some(components) = api.components.as_mut() {
        let bearer = |description: &str| {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.description = Some(description.to_owned());
            SecurityScheme::Http(http)
        };
        components.add_security_scheme(
            "api_token",
            bearer("An API token from the config or `/tokens`; its role decides what it may do."),
        );
        components.add_security_scheme(
            "webhook_token",
            bearer("The webhook token (`http.webhook_token`), for Alertmanager only."),
        );
    }
    let mut paths = PathsBuilder::new();
    let groups = [
        operations::intake(),
        operations::members(),
        operations::catalog(),
        operations::metrics(),
        operations::open(),
    ];
    for op in groups.into_iter().flatten() {
        paths = op.add_to(paths);
    }
    api.paths = paths.build();
    serde_json::to_value(&api).unwrap_or_default()
}
