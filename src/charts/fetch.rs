//! From a chart of the catalogue (or an alert's expression) to the series to draw: placeholders
//! filled for one database and time span, queries run at once, series named by their legends.

use std::collections::BTreeMap;

use serde::Serialize;

use super::catalogue::Chart;
use super::prometheus::{Labelled, Prometheus, QueryError};
use super::series::{Series, Threshold, Unit};
use crate::i18n::Lang;

/// The time spans offered on chart buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Span {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "6h")]
    SixHours,
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
}

impl Span {
    pub const ALL: [Span; 4] = [Span::Hour, Span::SixHours, Span::Day, Span::Week];

    pub fn name(self) -> &'static str {
        match self {
            Span::Hour => "1h",
            Span::SixHours => "6h",
            Span::Day => "24h",
            Span::Week => "7d",
        }
    }

    pub fn parse(text: &str) -> Option<Span> {
        Span::ALL.into_iter().find(|s| s.name() == text)
    }

    pub fn seconds(self) -> i64 {
        match self {
            Span::Hour => 3600,
            Span::SixHours => 6 * 3600,
            Span::Day => 24 * 3600,
            Span::Week => 7 * 24 * 3600,
        }
    }
}

/// A window of time to chart, in unix seconds, and the step between points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    pub from: i64,
    pub to: i64,
    pub step: i64,
}

/// About this many points per series: enough for a 1280 px wide chart, far from Prometheus's 11,000.
const POINTS: i64 = 360;
/// Prometheus's default scrape interval: a finer step only repeats samples.
const MIN_STEP: i64 = 15;

impl Window {
    /// The last `span` before `now`.
    pub fn last(span: Span, now: i64) -> Window {
        Window::between(now - span.seconds(), now)
    }

    /// `from` to `to`, with a step that gives about [`POINTS`] points. Prometheus evaluates at
    /// `from + k·step`: `from` is moved back so that the last point falls on `to` itself, and the
    /// newest samples are always on the chart.
    pub fn between(from: i64, to: i64) -> Window {
        let to = to.max(from + MIN_STEP);
        let step = ((to - from) / POINTS).max(MIN_STEP);
        let from = to - (to - from + step - 1) / step * step;
        Window { from, to, step }
    }

    /// A rate window for this step: four steps, at least a minute (four scrapes of the default
    /// interval), so that `rate()` always has samples to work with.
    pub fn rate_range(self) -> i64 {
        (4 * self.step).max(60)
    }
}

/// The series of one chart, ready to draw.
#[derive(Debug, Clone, Serialize)]
pub struct Drawing {
    pub title: String,
    pub unit: Unit,
    pub window: Window,
    pub series: Vec<Series>,
    #[serde(skip)]
    pub thresholds: Vec<Threshold>,
    /// An alert's firing span, shaded.
    #[serde(skip)]
    pub shade: Option<(i64, i64)>,
}

/// `text` with each `{{name}}` replaced by `value(name)`; unknown names are left as written.
pub fn substitute(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + end].trim();
        out.push_str(&rest[..start]);
        match value(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &rest[start + 2 + end + 2..];
    }
    out.push_str(rest);
    out
}

/// A query template filled for a database's `selector` (braces included) and a window.
pub fn fill(template: &str, selector: &str, window: Window) -> String {
    substitute(template, |name| match name {
        "selector" => Some(selector.to_owned()),
        "matchers" => Some(
            selector
                .trim()
                .trim_start_matches('{')
                .trim_end_matches('}')
                .to_owned(),
        ),
        "range" => Some(format!("{}s", window.rate_range())),
        "step" => Some(format!("{}s", window.step)),
        _ => None,
    })
}

/// Runs every query of `chart` for the database of `selector` over `window`, at once; titled in
/// `lang`.
pub async fn chart(
    prometheus: &Prometheus,
    chart: &Chart,
    selector: &str,
    window: Window,
    lang: Lang,
) -> Result<Drawing, QueryError> {
    let answers = futures_util::future::join_all(chart.queries.iter().map(|q| {
        let query = fill(&q.expr, selector, window);
        async move {
            prometheus
                .range(&query, window.from, window.to, window.step)
                .await
        }
    }))
    .await;
    let mut series = Vec::new();
    for (query, answer) in chart.queries.iter().zip(answers) {
        series.extend(named(
            answer?,
            query.legend.as_deref(),
            chart.title.get(lang),
        ));
    }
    Ok(Drawing {
        title: chart.title.get(lang).to_owned(),
        unit: chart.unit,
        window,
        series,
        thresholds: chart.thresholds.clone(),
        shade: None,
    })
}

/// Series named by `legend` (`{{label}}` placeholders), else by the labels that tell them apart, else
/// by `fallback`.
pub fn named(answer: Vec<Labelled>, legend: Option<&str>, fallback: &str) -> Vec<Series> {
    let varying: Vec<String> = match answer.first() {
        Some(first) => {
            let mut keys: Vec<String> = answer
                .iter()
                .flat_map(|s| s.labels.keys())
                .filter(|k| {
                    answer
                        .iter()
                        .any(|s| s.labels.get(*k) != first.labels.get(*k))
                })
                .cloned()
                .collect();
            keys.sort();
            keys.dedup();
            keys
        }
        None => Vec::new(),
    };
    answer
        .into_iter()
        .map(|s| {
            let name = match legend {
                Some(legend) => substitute(legend, |label| {
                    Some(s.labels.get(label).cloned().unwrap_or_default())
                }),
                None if varying.is_empty() => fallback.to_owned(),
                None => describe(&s.labels, &varying),
            };
            Series {
                name: if name.trim().is_empty() {
                    fallback.to_owned()
                } else {
                    name
                },
                points: s.points,
            }
        })
        .collect()
}

/// `a=1, b=2` of the `keys` of `labels`; one key shows its value alone.
fn describe(labels: &BTreeMap<String, String>, keys: &[String]) -> String {
    if let [key] = keys {
        return labels.get(key).cloned().unwrap_or_default();
    }
    keys.iter()
        .filter_map(|k| labels.get(k).map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_for_the_database_and_window() {
        let window = Window::between(7200, 7200 + 6 * 3600);
        assert_eq!(window.step, 60);
        let query = fill(
            "rate(x{{selector}}[{{range}}]) + y{a=\"1\",{{ matchers }}} # {{step}} {{other}}",
            r#"{cluster="main"}"#,
            window,
        );
        assert_eq!(
            query,
            r#"rate(x{cluster="main"}[240s]) + y{a="1",cluster="main"} # 60s {{other}}"#
        );
    }

    #[test]
    fn windows_end_on_a_point_and_keep_points_few() {
        for span in Span::ALL {
            let w = Window::last(span, 1_764_500_123);
            assert_eq!((w.to - w.from) % w.step, 0, "the last point is at `to`");
            assert!(w.to - w.from >= span.seconds());
            assert!((w.to - w.from) / w.step <= POINTS + 1, "{span:?}");
            assert_eq!(Span::parse(span.name()), Some(span));
        }
        assert_eq!(Window::last(Span::Hour, 1_000_000).step, MIN_STEP);
    }

    #[test]
    fn series_are_named_by_legend_or_by_what_differs() {
        let s = |pairs: &[(&str, &str)]| Labelled {
            labels: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            points: vec![(0, 1.0)],
        };
        let answer = vec![
            s(&[("instance", "a"), ("state", "idle")]),
            s(&[("instance", "a"), ("state", "active")]),
        ];
        let names = |v: Vec<Series>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(names(named(answer.clone(), None, "T")), ["idle", "active"]);
        assert_eq!(
            names(named(answer.clone(), Some("{{instance}}: {{state}}"), "T")),
            ["a: idle", "a: active"]
        );
        assert_eq!(names(named(vec![s(&[("x", "1")])], None, "T")), ["T"]);
        assert_eq!(names(named(answer, Some("{{missing}}"), "T")), ["T", "T"]);
    }
}
