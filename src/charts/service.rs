//! What the bot and the REST API ask of metrics: a chart of a database, its health card, the graph
//! of an alert — each answered within the Prometheus timeout, as a picture or a clear error, never a
//! broken photo. Rendering runs off the async threads.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::FixedOffset;

use super::alert;
use super::catalogue::Charts;
use super::fetch::{self, Drawing, Span, Window};
use super::prometheus::{Prometheus, QueryError};
use super::series::{Plot, Series, Unit};
use super::status::{self, Reading};
use super::{RenderError, format_value, limit_series, render_png};
use crate::config::Config;
use crate::domain::DatabaseName;
use crate::i18n::Lang;
use crate::store::IncidentRecord;
use crate::tr;

/// Series drawn at most; the rest are summed as "other".
pub const MAX_SERIES: usize = 8;
/// Charts drawn at once.
const RENDERS: usize = 2;
/// What a caller is told, in `lang`, while an earlier chart of theirs is still being drawn.
pub fn still_drawing(lang: Lang) -> String {
    tr!(lang, "charts-still-drawing")
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChartError {
    #[error("charts are off: the config names no Prometheus")]
    NotConfigured,
    #[error("no chart {0:?} for this database")]
    UnknownChart(String),
    #[error("no database {0:?}")]
    UnknownDatabase(String),
    #[error(
        "this alert carries no expression to plot (no g0.expr in its generator URL, no expr annotation)"
    )]
    NoExpression,
    #[error("{0}")]
    Query(#[from] QueryError),
    #[error("no data for this range")]
    NoData,
    #[error("the chart could not be drawn: {0}")]
    Render(String),
}

impl ChartError {
    /// The error as a person reads it, in `lang` (`Display` is the English of logs and REST).
    pub fn text(&self, lang: Lang) -> String {
        match self {
            ChartError::NotConfigured => tr!(lang, "chart-error-off"),
            ChartError::UnknownChart(chart) => {
                tr!(lang, "chart-error-unknown-chart", chart = chart)
            }
            ChartError::UnknownDatabase(database) => {
                tr!(lang, "chart-error-unknown-database", database = database)
            }
            ChartError::NoExpression => tr!(lang, "chart-error-no-expression"),
            // Prometheus's own words, which no catalogue can translate.
            ChartError::Query(error) => error.to_string(),
            ChartError::NoData => tr!(lang, "chart-error-no-data"),
            ChartError::Render(error) => tr!(lang, "chart-error-render", error = error),
        }
    }
}

/// A rendered chart and what its caption says.
#[derive(Debug, Clone)]
pub struct Picture {
    pub png: Vec<u8>,
    pub title: String,
    pub window: Window,
    /// Per series drawn: (name, "last … · min … · max … · avg …").
    pub summary: Vec<(String, String)>,
}

pub struct Charting {
    /// Callers drawing now: one chart at a time each, so a flood of presses or requests cannot queue
    /// up queries and renders.
    busy: Arc<Mutex<HashSet<String>>>,
    /// Renders at once: they are CPU work, and the machine's cores serve intake and delivery too.
    renders: tokio::sync::Semaphore,
    prometheus: Option<Prometheus>,
    charts: Charts,
    zone: FixedOffset,
    selectors: HashMap<DatabaseName, String>,
}

impl Charting {
    pub fn new(config: &Config, charts: Charts) -> Charting {
        Charting {
            busy: Arc::default(),
            renders: tokio::sync::Semaphore::new(RENDERS),
            prometheus: config.prometheus.as_ref().and_then(Prometheus::new),
            charts,
            zone: config.time_zone,
            selectors: config
                .databases
                .iter()
                .map(|d| (d.name.clone(), d.metrics_selector.clone()))
                .collect(),
        }
    }

    /// Marks `caller` (a person, a token) as drawing until the guard is dropped; `None` while it
    /// still draws an earlier chart.
    pub fn begin(&self, caller: &str) -> Option<Busy> {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        busy.insert(caller.to_owned()).then(|| Busy {
            set: Arc::clone(&self.busy),
            caller: caller.to_owned(),
        })
    }

    /// Whether charts are offered at all.
    pub fn enabled(&self) -> bool {
        self.prometheus.is_some()
    }

    pub fn catalogue(&self) -> &Charts {
        &self.charts
    }

    fn prometheus(&self) -> Result<&Prometheus, ChartError> {
        self.prometheus.as_ref().ok_or(ChartError::NotConfigured)
    }

    fn selector(&self, database: &DatabaseName) -> Result<&str, ChartError> {
        self.selectors
            .get(database)
            .map(String::as_str)
            .ok_or_else(|| ChartError::UnknownDatabase(database.to_string()))
    }

    /// The series of a chart of the catalogue on a database.
    pub async fn series(
        &self,
        database: &DatabaseName,
        alias: &str,
        window: Window,
        lang: Lang,
    ) -> Result<Drawing, ChartError> {
        let prometheus = self.prometheus()?;
        let selector = self.selector(database)?;
        let chart = self
            .charts
            .chart(alias)
            .filter(|c| c.serves(database))
            .ok_or_else(|| ChartError::UnknownChart(alias.to_owned()))?;
        Ok(fetch::chart(prometheus, chart, selector, window, lang).await?)
    }

    /// A chart of the catalogue on a database over the last `span`, drawn.
    pub async fn chart(
        &self,
        database: &DatabaseName,
        alias: &str,
        span: Span,
        now: i64,
        lang: Lang,
    ) -> Result<Picture, ChartError> {
        let drawing = self
            .series(database, alias, Window::last(span, now), lang)
            .await?;
        self.draw(drawing, lang).await
    }

    /// The health card of a database.
    pub async fn status(
        &self,
        database: &DatabaseName,
        now: i64,
    ) -> Result<Vec<Reading>, ChartError> {
        let prometheus = self.prometheus()?;
        let selector = self.selector(database)?;
        Ok(status::read(prometheus, &self.charts.status, selector, now).await)
    }

    /// The graph of an incident's alert: the chart its `postgram_chart` annotation names (on its
    /// database), else its own expression; the firing span shaded either way.
    pub async fn alert(
        &self,
        incident: &IncidentRecord,
        now: i64,
        lang: Lang,
    ) -> Result<Picture, ChartError> {
        let prometheus = self.prometheus()?;
        let starts = incident.starts_at.timestamp();
        let ends = incident
            .ends_at
            .or(incident.resolved_at)
            .map(|t| t.timestamp());
        let named_chart = incident
            .annotations
            .get("postgram_chart")
            .and_then(|alias| {
                let database = DatabaseName::parse(incident.database.as_deref()?).ok()?;
                Some((database, alias.trim().to_owned()))
            });
        let mut drawing = match named_chart {
            Some((database, alias)) => {
                let window = alert::window(starts, ends, now);
                let mut drawing = self.series(&database, &alias, window, lang).await?;
                drawing.title = format!("{} — {}", incident.alertname, drawing.title);
                drawing
            }
            None => {
                let expression = alert::expression(&incident.generator_url, &incident.annotations)
                    .ok_or(ChartError::NoExpression)?;
                let mut drawing = alert::drawing(
                    prometheus,
                    &incident.alertname,
                    &expression,
                    &incident.labels,
                    starts,
                    ends,
                    now,
                )
                .await?;
                drawing.unit = unit_of(&expression.expr);
                drawing
            }
        };
        drawing.shade = Some((starts, ends.unwrap_or(now)));
        self.draw(drawing, lang).await
    }

    /// Renders on a blocking thread: a chart takes tens of milliseconds of CPU.
    async fn draw(&self, drawing: Drawing, lang: Lang) -> Result<Picture, ChartError> {
        let other = tr!(lang, "chart-other");
        let series = limit_series(drawing.series, MAX_SERIES, &other);
        let summary = series
            .iter()
            .map(|s| (s.name.clone(), summary(s, drawing.unit, lang)))
            .collect();
        let zone = self.zone;
        let (title, window, unit) = (drawing.title, drawing.window, drawing.unit);
        let (thresholds, shade) = (drawing.thresholds, drawing.shade);
        let _turn = self
            .renders
            .acquire()
            .await
            .map_err(|e| ChartError::Render(e.to_string()))?;
        let png = tokio::task::spawn_blocking({
            let title = title.clone();
            move || {
                render_png(&Plot {
                    title: &title,
                    unit,
                    from: window.from,
                    to: window.to,
                    step: window.step,
                    series: &series,
                    thresholds: &thresholds,
                    shade,
                    utc_offset: zone,
                    lang,
                })
            }
        })
        .await
        .map_err(|e| ChartError::Render(e.to_string()))?
        .map_err(|e| match e {
            RenderError::NoData => ChartError::NoData,
            other => ChartError::Render(other.to_string()),
        })?;
        Ok(Picture {
            png,
            title,
            window,
            summary,
        })
    }
}

/// A caller's drawing under way; dropping it lets the caller draw again.
pub struct Busy {
    set: Arc<Mutex<HashSet<String>>>,
    caller: String,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut busy = self.set.lock().unwrap_or_else(PoisonError::into_inner);
        busy.remove(&self.caller);
    }
}

/// "last 12 · min 3 · max 40 · avg 18", each in the chart's unit.
fn summary(series: &Series, unit: Unit, lang: Lang) -> String {
    match series.stats() {
        None => tr!(lang, "chart-series-no-data"),
        Some(stats) => tr!(
            lang,
            "chart-summary",
            last = stats.last.map_or("–".to_owned(), |v| format_value(unit, v)),
            min = format_value(unit, stats.min),
            max = format_value(unit, stats.max),
            avg = format_value(unit, stats.avg),
        ),
    }
}

/// The unit an alert's expression is in, from Prometheus's naming conventions for its first metric.
fn unit_of(expr: &str) -> Unit {
    let metric = expr
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .find(|w| w.contains('_'))
        .unwrap_or_default();
    if metric.ends_with("_bytes") {
        Unit::Bytes
    } else if metric.ends_with("_seconds") || metric.ends_with("_duration") {
        Unit::Seconds
    } else if metric.ends_with("_ratio") {
        Unit::Ratio
    } else {
        Unit::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_draws_one_chart_at_a_time() {
        let config = crate::config::Config::from_text(
            "telegram: { token: \"123456:abcdefghijklmnopqrstuvwxyz0123456789\" }\n\
             http: { webhook_token: \"0123456789abcdef0123\" }\nowners: [1]\n",
            std::path::Path::new("postgram.yaml"),
            &|_| None,
        )
        .unwrap();
        let charting = Charting::new(&config, Charts::default());
        assert!(!charting.enabled());
        let first = charting.begin("telegram:7").unwrap();
        assert!(charting.begin("telegram:7").is_none());
        let other = charting.begin("telegram:8");
        assert!(other.is_some());
        drop(first);
        assert!(charting.begin("telegram:7").is_some());
    }

    #[test]
    fn an_alert_expression_names_its_unit() {
        assert_eq!(unit_of("pg_replication_lag_seconds"), Unit::Seconds);
        assert_eq!(
            unit_of(r#"pg_stat_activity_max_tx_duration{state=~"idle.*"}"#),
            Unit::Seconds
        );
        assert_eq!(unit_of("pg_database_size_bytes / 2"), Unit::Bytes);
        assert_eq!(unit_of("sum(pg_locks_count)"), Unit::None);
    }
}
