//! The chart of an alert: its rule's expression (from `generatorURL`'s `g0.expr`, or the `expr`
//! annotation), the comparison with a constant taken off and drawn as a threshold, plotted from an
//! hour before the alert started to its end (or now), the firing span shaded, only the series of
//! this alert.

use std::collections::BTreeMap;

use super::fetch::{Drawing, Window, named};
use super::prometheus::{Prometheus, QueryError};
use super::series::{Threshold, Unit};

/// What to plot for an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertExpression {
    /// The expression without its final comparison.
    pub expr: String,
    pub threshold: Option<Threshold>,
}

/// How far before an alert's start its chart begins.
const BEFORE: i64 = 3600;
/// The longest span an alert chart covers (ending at its end or now).
const LONGEST: i64 = 7 * 24 * 3600;

/// The expression of an alert: the `expr` annotation, else `g0.expr` of its generator URL.
pub fn expression(
    generator_url: &str,
    annotations: &BTreeMap<String, String>,
) -> Option<AlertExpression> {
    let written = annotations
        .get("expr")
        .cloned()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| {
            let url = reqwest::Url::parse(generator_url).ok()?;
            let expr = url
                .query_pairs()
                .find(|(k, _)| k == "g0.expr")
                .map(|(_, v)| v.into_owned())?;
            Some(expr)
        })?;
    Some(split_threshold(written.trim()))
}

/// `left > 0.8` → (`left`, 0.8), when the expression's last top-level operation compares with a
/// number; a trailing `and`/`or`/`unless` clause is dropped first (it filters, it is not the value).
pub fn split_threshold(expr: &str) -> AlertExpression {
    let value_part = top_level(expr, &["and", "or", "unless"])
        .first()
        .map_or(expr, |&(at, _)| &expr[..at])
        .trim();
    let comparisons = top_level(value_part, &[">=", "<=", "==", "!=", ">", "<"]);
    if let Some(&(at, op)) = comparisons.last() {
        let right = value_part[at + op.len()..].trim();
        let right = right.strip_prefix("bool").unwrap_or(right).trim();
        if let Ok(value) = right.parse::<f64>()
            && value.is_finite()
        {
            return AlertExpression {
                expr: value_part[..at].trim().to_owned(),
                threshold: Some(Threshold {
                    value,
                    label: format!("{op} {right}"),
                }),
            };
        }
    }
    AlertExpression {
        expr: value_part.to_owned(),
        threshold: None,
    }
}

/// Where each of `operators` occurs outside parentheses, braces, brackets and strings; words only
/// as whole words.
fn top_level<'o>(expr: &str, operators: &[&'o str]) -> Vec<(usize, &'o str)> {
    let bytes = expr.as_bytes();
    let mut found = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 1;
            } else if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' | b'\'' | b'`' => quote = Some(b),
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth -= 1,
            _ if depth == 0 => {
                let word = |op: &str| {
                    let before = i.checked_sub(1).map(|j| bytes[j]);
                    let after = bytes.get(i + op.len()).copied();
                    let edge =
                        |c: Option<u8>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == b'_'));
                    edge(before) && edge(after)
                };
                if let Some(op) = operators.iter().find(|op| {
                    expr[i..].starts_with(**op)
                        && (!op.as_bytes()[0].is_ascii_alphabetic() || word(op))
                }) {
                    found.push((i, *op));
                    i += op.len();
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The window of an alert's chart: an hour before it started to its end, or now while it fires.
pub fn window(starts_at: i64, ends_at: Option<i64>, now: i64) -> Window {
    let to = ends_at
        .map_or(now, |end| (end + BEFORE / 4).min(now))
        .max(starts_at);
    let from = (starts_at - BEFORE).max(to - LONGEST);
    Window::between(from, to)
}

/// The alert's expression over its window, keeping the series that carry the alert's own labels.
pub async fn drawing(
    prometheus: &Prometheus,
    title: &str,
    expression: &AlertExpression,
    labels: &BTreeMap<String, String>,
    starts_at: i64,
    ends_at: Option<i64>,
    now: i64,
) -> Result<Drawing, QueryError> {
    let window = window(starts_at, ends_at, now);
    let answer = prometheus
        .range(&expression.expr, window.from, window.to, window.step)
        .await?;
    let own: Vec<_> = answer
        .iter()
        .filter(|s| {
            s.labels
                .iter()
                .all(|(k, v)| labels.get(k).is_none_or(|mine| mine == v))
        })
        .cloned()
        .collect();
    // An aggregation may have dropped every label that tells the alert's series apart: then all.
    let series = if own.is_empty() { answer } else { own };
    Ok(Drawing {
        title: title.to_owned(),
        unit: Unit::None,
        window,
        series: named(series, None, title),
        thresholds: expression.threshold.iter().cloned().collect(),
        shade: Some((starts_at, ends_at.unwrap_or(now))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(expr: &str) -> (String, Option<f64>) {
        let e = split_threshold(expr);
        (e.expr, e.threshold.map(|t| t.value))
    }

    #[test]
    fn a_comparison_with_a_constant_becomes_the_threshold() {
        assert_eq!(
            split(r#"pg_stat_activity_max_tx_duration{state=~"idle in transaction.*"} > 600"#),
            (
                r#"pg_stat_activity_max_tx_duration{state=~"idle in transaction.*"}"#.into(),
                Some(600.0)
            )
        );
        assert_eq!(
            split("sum without (datname, state) (pg_stat_activity_count)\n  / pg_settings_max_connections > 0.8"),
            (
                "sum without (datname, state) (pg_stat_activity_count)\n  / pg_settings_max_connections".into(),
                Some(0.8)
            )
        );
        assert_eq!(
            split("pg_replication_lag_seconds > 60 and pg_replication_is_replica == 1"),
            ("pg_replication_lag_seconds".into(), Some(60.0))
        );
        assert_eq!(split("pg_up == 0"), ("pg_up".into(), Some(0.0)));
        assert_eq!(
            split("(time() - pg_postmaster_start_time_seconds < 600)"),
            (
                "(time() - pg_postmaster_start_time_seconds < 600)".into(),
                None
            )
        );
        assert_eq!(split("a > b"), ("a > b".into(), None));
        assert_eq!(
            split(r#"x{l="a > 5"} <= 3"#),
            (r#"x{l="a > 5"}"#.into(), Some(3.0))
        );
        assert_eq!(
            split("candidate_total > bool 2"),
            ("candidate_total".into(), Some(2.0))
        );
    }

    #[test]
    fn the_expression_comes_from_the_annotation_or_the_generator_url() {
        let none = BTreeMap::new();
        let url = "http://prom:9090/graph?g0.expr=pg_up+%3D%3D+0&g0.tab=1";
        assert_eq!(
            expression(url, &none).map(|e| e.expr),
            Some("pg_up".to_owned())
        );
        let annotated = BTreeMap::from([("expr".to_owned(), "up < 1".to_owned())]);
        assert_eq!(
            expression(url, &annotated).map(|e| e.expr),
            Some("up".to_owned())
        );
        assert_eq!(expression("", &none), None);
        assert_eq!(expression("http://prom/graph?g0.tab=1", &none), None);
    }

    #[test]
    fn the_window_runs_from_an_hour_before_to_the_end_or_now() {
        let w = window(10_000, None, 20_000);
        assert!(
            w.from <= 10_000 - 3600 && w.from > 10_000 - 3600 - w.step,
            "{w:?}"
        );
        assert_eq!(w.to, 20_000);
        let old = window(0, None, 30 * 24 * 3600);
        assert!(old.to - old.from <= LONGEST + old.step);
        assert_eq!(window(10_000, Some(12_000), 50_000).to, 12_900);
    }
}
