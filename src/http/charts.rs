//! Metrics over REST: `GET /charts` (the catalogue, with the databases the caller may read),
//! `GET /charts/{alias}?database=D&range=6h` (a PNG for `Accept: image/png`, the series as JSON
//! otherwise) and `GET /status[?database=D]` (the health cards). Reading a database's metrics needs
//! the same permission as its views.

use std::collections::BTreeMap;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::require;
use super::catalog::database;
use super::extract::{Path, Query};
use super::{ApiError, AppState};
use crate::access::{Identity, Permission, may};
use crate::charts::fetch::{Span, Window};
use crate::charts::prometheus::QueryError;
use crate::charts::service::{ChartError, MAX_SERIES, still_drawing};
use crate::charts::status::Reading;
use crate::charts::{OTHER, format_value, limit_series};
use crate::domain::DatabaseName;
use crate::i18n::Lang;

impl From<ChartError> for ApiError {
    fn from(e: ChartError) -> Self {
        match &e {
            ChartError::NotConfigured
            | ChartError::UnknownChart(_)
            | ChartError::UnknownDatabase(_)
            | ChartError::NoExpression
            | ChartError::NoData => ApiError::NotFound(e.to_string()),
            ChartError::Query(QueryError::Timeout(_)) => ApiError::GatewayTimeout(e.to_string()),
            ChartError::Query(_) => ApiError::BadGateway(e.to_string()),
            ChartError::Render(_) => ApiError::internal(&e),
        }
    }
}

/// Refuses any query parameter but `allowed`, by name.
fn only(params: &BTreeMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::bad_request(
            unknown,
            "is not a parameter of this route",
        )),
        None => Ok(()),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Json<serde_json::Value> {
    let config = state.settings.config();
    let charts: Vec<_> = state
        .settings
        .charts()
        .catalogue()
        .charts
        .iter()
        .map(|c| {
            let databases: Vec<&str> = config
                .databases
                .iter()
                .filter(|d| {
                    c.serves(&d.name) && may(&identity, Permission::Read, Some(d.name.as_str()))
                })
                .map(|d| d.name.as_str())
                .collect();
            json!({
                "alias": c.alias, "title": c.title.en(), "description": c.description.en(), "unit": c.unit,
                "databases": databases,
            })
        })
        .collect();
    let ranges: Vec<&str> = Span::ALL.iter().map(|s| s.name()).collect();
    Json(
        json!({ "enabled": state.settings.charts().enabled(), "ranges": ranges, "charts": charts }),
    )
}

pub async fn show(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(alias): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    only(&params, &["database", "range"])?;
    let database = database(&state, params.get("database"))?;
    require(&identity, Permission::Read, Some(database.as_str()))?;
    let span = match params.get("range") {
        None => Span::Hour,
        Some(raw) => Span::parse(raw)
            .ok_or_else(|| ApiError::bad_request("range", "must be one of 1h, 6h, 24h, 7d"))?,
    };
    let _busy = state
        .settings
        .charts()
        .begin(&format!("api:{}", identity.name))
        .ok_or_else(|| ApiError::TooManyRequests(still_drawing(Lang::En)))?;
    let now = state.clock.now().timestamp();
    let wants_png = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("image/png"));
    if wants_png {
        let picture = state
            .settings
            .charts()
            .chart(&database, &alias, span, now, Lang::En)
            .await?;
        return Ok(([(header::CONTENT_TYPE, "image/png")], picture.png).into_response());
    }
    let drawing = state
        .settings
        .charts()
        .series(&database, &alias, Window::last(span, now), Lang::En)
        .await?;
    let series = limit_series(drawing.series, MAX_SERIES, OTHER);
    Ok(Json(json!({
        "alias": alias, "title": drawing.title, "unit": drawing.unit, "database": database.as_str(),
        "range": span.name(), "from": drawing.window.from, "to": drawing.window.to,
        "step": drawing.window.step, "series": series,
    }))
    .into_response())
}

pub async fn status(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    only(&params, &["database"])?;
    let databases: Vec<DatabaseName> = match params.get("database") {
        Some(raw) => {
            let database = database(&state, Some(raw))?;
            require(&identity, Permission::Read, Some(database.as_str()))?;
            vec![database]
        }
        None => state
            .settings
            .config()
            .databases
            .iter()
            .filter(|d| may(&identity, Permission::Read, Some(d.name.as_str())))
            .map(|d| d.name.clone())
            .collect(),
    };
    let now = state.clock.now().timestamp();
    let charting = state.settings.charts();
    let cards = futures_util::future::join_all(
        databases
            .iter()
            .map(|database| charting.status(database, now)),
    )
    .await;
    let mut out = Vec::new();
    for (database, card) in databases.iter().zip(cards) {
        let rows: Vec<_> = card?.iter().map(row).collect();
        out.push(json!({ "database": database.as_str(), "at": now, "rows": rows }));
    }
    Ok(Json(json!({ "databases": out })))
}

fn row(reading: &Reading) -> serde_json::Value {
    let r = &reading.row;
    let (value, error) = match &reading.value {
        Ok(value) => (*value, None),
        Err(e) => (None, Some(e.to_string())),
    };
    json!({
        "name": r.name, "title": r.title.en(), "unit": r.unit, "value": value,
        "shown": value.map(|v| format_value(r.unit, v)), "level": reading.level, "error": error,
        "warn_above": r.warn_above, "warn_below": r.warn_below,
        "critical_above": r.critical_above, "critical_below": r.critical_below, "chart": r.chart,
    })
}
