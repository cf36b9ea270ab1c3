//! The shipped monitoring files, read as the service and the tools read them: the alerting rules
//! (`alerts/postgres.rules.yml`) and the charts catalogue (`charts.yaml`, strictly in its format).

use std::collections::BTreeSet;

use serde::Deserialize;

use super::monitoring::repo_file;

/// One alerting rule of `alerts/postgres.rules.yml`.
pub struct Rule {
    pub alert: String,
    pub severity: String,
    pub expr: String,
}

pub fn yaml(path: &str) -> yaml_serde::Value {
    yaml_serde::from_str(&std::fs::read_to_string(repo_file(path)).unwrap()).unwrap()
}

pub fn shipped_rules() -> Vec<Rule> {
    rules("alerts/postgres.rules.yml")
}

/// Every alerting rule of the rules file at `path` (from the repository's top).
pub fn rules(path: &str) -> Vec<Rule> {
    let document = yaml(path);
    let groups = document["groups"].as_sequence().unwrap();
    groups
        .iter()
        .flat_map(|group| group["rules"].as_sequence().unwrap())
        .map(|rule| Rule {
            alert: rule["alert"].as_str().unwrap().to_owned(),
            severity: rule["labels"]["severity"].as_str().unwrap().to_owned(),
            expr: rule["expr"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// The (alert, severity) pairs that the promtool unit tests at `path` expect to fire.
pub fn fired_by_unit_tests(path: &str) -> BTreeSet<(String, String)> {
    let document = yaml(path);
    let mut fired = BTreeSet::new();
    for test in document["tests"].as_sequence().unwrap() {
        for case in test["alert_rule_test"].as_sequence().unwrap() {
            let alert = case["alertname"].as_str().unwrap();
            for expected in case["exp_alerts"].as_sequence().unwrap() {
                let severity = expected["exp_labels"]["severity"].as_str().unwrap();
                fired.insert((alert.to_owned(), severity.to_owned()));
            }
        }
    }
    fired
}

/// `charts.yaml`, read strictly in the format the service parses.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub charts: Vec<Chart>,
    pub status: Vec<StatusRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    pub alias: String,
    /// One text, or one per language (`{en, ru}`).
    pub title: yaml_serde::Value,
    pub description: Option<yaml_serde::Value>,
    pub unit: String,
    pub databases: Option<Vec<String>>,
    pub queries: Vec<ChartQuery>,
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartQuery {
    pub expr: String,
    pub legend: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub value: f64,
    pub label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRow {
    pub name: String,
    /// One text, or one per language (`{en, ru}`).
    pub title: yaml_serde::Value,
    pub expr: String,
    pub unit: String,
    pub warn_above: Option<f64>,
    pub warn_below: Option<f64>,
    pub critical_above: Option<f64>,
    pub critical_below: Option<f64>,
    pub chart: Option<String>,
}

pub fn catalogue() -> Catalogue {
    let text = std::fs::read_to_string(repo_file("charts.yaml")).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

/// Every expression of the catalogue: (where, expression, `{{range}}` the service gives it).
pub fn catalogue_exprs(catalogue: &Catalogue) -> Vec<(String, String, &'static str)> {
    let charts = catalogue.charts.iter().flat_map(|chart| {
        (chart.queries.iter().enumerate()).map(|(i, q)| {
            (
                format!("chart {} query {i}", chart.alias),
                q.expr.clone(),
                "2m",
            )
        })
    });
    let rows = (catalogue.status.iter())
        .map(|row| (format!("status {}", row.name), row.expr.clone(), "5m"));
    charts.chain(rows).collect()
}

/// `expr` as the service sends it for a database selected by `matchers` (e.g. `cluster="main"`).
pub fn substitute(expr: &str, matchers: &str, range: &str) -> String {
    let selector = if matchers.is_empty() {
        String::new()
    } else {
        format!("{{{matchers}}}")
    };
    expr.replace("{{selector}}", &selector)
        .replace("{{matchers}}", matchers)
        .replace("{{range}}", range)
        .replace("{{step}}", "60s")
}
