//! The charts catalogue (`charts.yaml`, format in docs/catalogue.md): the charts offered by `/charts`,
//! the rows of the `/status` health card, and the PromQL templates behind both, validated with every
//! problem located as `file:line:column`.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::series::{Threshold, Unit};
use crate::config::report::{Report, parse};
use crate::config::text::{RawText, Text, read_text};
use crate::config::{ConfigError, Problem};
use crate::domain::DatabaseName;

/// Placeholders a query may use; the service fills them for the database and range asked for.
pub const PLACEHOLDERS: [&str; 4] = ["selector", "matchers", "range", "step"];

#[derive(Debug, Clone)]
pub struct Chart {
    pub alias: String,
    pub title: Text,
    pub description: Text,
    pub unit: Unit,
    /// `None`: every database.
    pub databases: Option<Vec<DatabaseName>>,
    pub queries: Vec<ChartQuery>,
    pub thresholds: Vec<Threshold>,
}

#[derive(Debug, Clone)]
pub struct ChartQuery {
    /// PromQL with placeholders (`{{selector}}`, `{{matchers}}`, `{{range}}`, `{{step}}`).
    pub expr: String,
    /// Series names from their labels (`{{state}}`); `None`: the labels that tell the series apart.
    pub legend: Option<String>,
}

/// One row of the health card: an instant query and the thresholds its value is marked against.
#[derive(Debug, Clone)]
pub struct StatusRow {
    pub name: String,
    pub title: Text,
    pub expr: String,
    pub unit: Unit,
    pub warn_above: Option<f64>,
    pub warn_below: Option<f64>,
    pub critical_above: Option<f64>,
    pub critical_below: Option<f64>,
    /// The chart its button opens.
    pub chart: Option<String>,
}

/// Every chart and status row.
#[derive(Debug, Clone, Default)]
pub struct Charts {
    pub charts: Vec<Chart>,
    pub status: Vec<StatusRow>,
}

impl Chart {
    pub fn serves(&self, database: &DatabaseName) -> bool {
        self.databases
            .as_ref()
            .is_none_or(|list| list.contains(database))
    }
}

impl Charts {
    pub fn chart(&self, alias: &str) -> Option<&Chart> {
        self.charts.iter().find(|c| c.alias == alias)
    }

    /// The charts of one database, in catalogue order.
    pub fn of<'a>(&'a self, database: &'a DatabaseName) -> impl Iterator<Item = &'a Chart> + 'a {
        self.charts.iter().filter(move |c| c.serves(database))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCharts {
    #[serde(default)]
    charts: Vec<RawChart>,
    #[serde(default)]
    status: Vec<RawStatusRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChart {
    alias: Option<String>,
    title: Option<RawText>,
    #[serde(default)]
    description: RawText,
    unit: Option<String>,
    databases: Option<Vec<String>>,
    queries: Option<Vec<RawQuery>>,
    #[serde(default)]
    thresholds: Vec<RawThreshold>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    expr: Option<String>,
    legend: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    value: Option<f64>,
    #[serde(default)]
    label: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatusRow {
    name: Option<String>,
    title: Option<RawText>,
    expr: Option<String>,
    unit: Option<String>,
    warn_above: Option<f64>,
    warn_below: Option<f64>,
    critical_above: Option<f64>,
    critical_below: Option<f64>,
    chart: Option<String>,
}

/// The charts file's items with its problems; an error when nothing of it can be read.
pub fn parse_charts(
    file: &Path,
    text: &str,
    known: &[DatabaseName],
) -> Result<(Charts, Vec<Problem>), ConfigError> {
    let (raw, mut report) = parse::<RawCharts>(text, file, None)?;
    let Some(raw) = raw else {
        let (problems, _) = report.into_parts();
        return Err(ConfigError { problems });
    };
    let mut aliases = HashSet::new();
    let charts: Vec<Chart> = raw
        .charts
        .into_iter()
        .enumerate()
        .map(|(i, chart)| chart_from(i, chart, known, &mut aliases, &mut report))
        .collect();
    let mut names = HashSet::new();
    let status = raw
        .status
        .into_iter()
        .enumerate()
        .map(|(i, row)| status_from(i, row, &charts, &mut names, &mut report))
        .collect();
    let (problems, _) = report.into_parts();
    Ok((Charts { charts, status }, problems))
}

fn chart_from(
    i: usize,
    chart: RawChart,
    known: &[DatabaseName],
    aliases: &mut HashSet<String>,
    report: &mut Report,
) -> Chart {
    let at = format!("charts[{i}]");
    let alias = report.alias(chart.alias, &format!("{at}.alias"), aliases);
    let title = report.required(chart.title, &format!("{at}.title"));
    let title = read_text(title, &format!("{at}.title"), report);
    let unit = unit(chart.unit, &format!("{at}.unit"), report);
    let queries_at = format!("{at}.queries");
    let raw_queries = report.required(chart.queries, &queries_at);
    if raw_queries.is_empty() && !report.has_problem_in(&queries_at) {
        report.at(&queries_at, "a chart needs at least one query");
    }
    let queries = raw_queries
        .into_iter()
        .enumerate()
        .map(|(j, q)| {
            let at = format!("{queries_at}[{j}]");
            let expr = expression(q.expr, &format!("{at}.expr"), report);
            if let Some(legend) = &q.legend {
                placeholders(legend, &format!("{at}.legend"), None, report);
            }
            ChartQuery {
                expr,
                legend: q.legend,
            }
        })
        .collect();
    let thresholds = chart
        .thresholds
        .into_iter()
        .enumerate()
        .filter_map(|(j, t)| {
            let value = report.required(t.value, &format!("{at}.thresholds[{j}].value"));
            value.is_finite().then_some(Threshold {
                value,
                label: t.label,
            })
        })
        .collect();
    let databases = report.databases(chart.databases.as_deref(), known, &at);
    Chart {
        alias,
        title,
        description: read_text(chart.description, &format!("{at}.description"), report),
        unit,
        databases,
        queries,
        thresholds,
    }
}

fn status_from(
    i: usize,
    row: RawStatusRow,
    charts: &[Chart],
    names: &mut HashSet<String>,
    report: &mut Report,
) -> StatusRow {
    let at = format!("status[{i}]");
    let name = report.alias(row.name, &format!("{at}.name"), names);
    let title = report.required(row.title, &format!("{at}.title"));
    let title = read_text(title, &format!("{at}.title"), report);
    let expr = expression(row.expr, &format!("{at}.expr"), report);
    let unit = unit(row.unit, &format!("{at}.unit"), report);
    if let Some(chart) = &row.chart
        && !charts.iter().any(|c| &c.alias == chart)
    {
        report.at(
            &format!("{at}.chart"),
            format!("{chart:?} is not a chart of this file"),
        );
    }
    StatusRow {
        name,
        title,
        expr,
        unit,
        warn_above: row.warn_above,
        warn_below: row.warn_below,
        critical_above: row.critical_above,
        critical_below: row.critical_below,
        chart: row.chart,
    }
}

fn unit(value: Option<String>, at: &str, report: &mut Report) -> Unit {
    match value.as_deref().map(|u| (u, Unit::parse(u))) {
        None => Unit::None,
        Some((_, Some(unit))) => unit,
        Some((written, None)) => {
            report.at(
                at,
                format!(
                    "{written:?} is not a unit; use one of {}",
                    Unit::NAMES.join(", ")
                ),
            );
            Unit::None
        }
    }
}

/// A PromQL template: present, its placeholders known, and scoped to the database by its selector.
fn expression(value: Option<String>, at: &str, report: &mut Report) -> String {
    let expr = report.required(value, at);
    if expr.trim().is_empty() {
        if !report.has_problem_in(at) {
            report.at(at, "is empty");
        }
        return expr;
    }
    let used = placeholders(&expr, at, Some(&PLACEHOLDERS), report);
    if !used.iter().any(|p| p == "selector" || p == "matchers") {
        report.at(
            at,
            "uses neither {{selector}} nor {{matchers}}: it would show every database's series",
        );
    }
    expr
}

/// The `{{name}}` placeholders of `text`, each checked against `allowed` (any label name when `None`).
fn placeholders(
    text: &str,
    at: &str,
    allowed: Option<&[&str]>,
    report: &mut Report,
) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            report.at(at, "has a '{{' without its '}}'");
            break;
        };
        let name = after[..end].trim();
        let label_like = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match allowed {
            Some(allowed) if !allowed.contains(&name) => report.at(
                at,
                format!(
                    "{{{{{name}}}}} is not a placeholder; use {}",
                    allowed
                        .iter()
                        .map(|p| format!("{{{{{p}}}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            None if !label_like => {
                report.at(at, format!("{{{{{name}}}}} is not a label name"));
            }
            _ => found.push(name.to_owned()),
        }
        rest = &after[end + 2..];
    }
    found
}

#[cfg(test)]
mod tests;
