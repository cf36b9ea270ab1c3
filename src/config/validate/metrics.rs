//! Where metrics come from: the `prometheus` block, the `time_zone` of charts, and each database's
//! label selector (`databases[].metrics.selector`, by default its `match` labels).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::FixedOffset;

use super::super::raw::{RawMetrics, RawPrometheus};
use super::super::report::Report;
use super::super::{PrometheusConfig, Secret};
use super::duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn prometheus(raw: RawPrometheus, report: &mut Report) -> PrometheusConfig {
    let url = report.required(raw.url, "prometheus.url");
    let usable = reqwest::Url::parse(&url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !usable && !report.has_problem_in("prometheus.url") {
        // Not repeated in the message: it may hold a password.
        report.at(
            "prometheus.url",
            "is not an http:// or https:// URL with a host",
        );
    }
    let mut headers = Vec::new();
    for (name, value) in raw.headers {
        let at = format!("prometheus.headers.{name}");
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            report.at(&at, format!("{name:?} is not an HTTP header name"));
        } else if reqwest::header::HeaderValue::from_str(&value).is_err() {
            // Never echo the value: it is likely a token.
            report.at(&at, "is not a valid HTTP header value");
        } else {
            headers.push((name, Secret::new(value)));
        }
    }
    PrometheusConfig {
        url: Secret::new(url.trim_end_matches('/')),
        timeout: duration(
            raw.timeout.as_deref(),
            DEFAULT_TIMEOUT,
            "prometheus.timeout",
            report,
        ),
        headers,
    }
}

pub(super) fn time_zone(raw: Option<&str>, report: &mut Report) -> FixedOffset {
    let utc = FixedOffset::east_opt(0).expect("zero is a valid offset");
    let Some(raw) = raw else { return utc };
    match parse_offset(raw) {
        Some(offset) => offset,
        None => {
            report.at(
                "time_zone",
                format!("{raw:?} is not UTC or an offset like +03:00 or -05:30"),
            );
            utc
        }
    }
}

fn parse_offset(raw: &str) -> Option<FixedOffset> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("utc") || raw == "Z" {
        return FixedOffset::east_opt(0);
    }
    let raw = raw.strip_prefix("UTC").unwrap_or(raw);
    let (sign, rest) = match raw.as_bytes().first()? {
        b'+' => (1, &raw[1..]),
        b'-' => (-1, &raw[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
    let hours: i32 = hours.parse().ok().filter(|h| (0..=14).contains(h))?;
    let minutes: i32 = minutes.parse().ok().filter(|m| (0..60).contains(m))?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// The database's selector, braces included: as written (checked), else its `match` labels.
pub(super) fn selector(
    raw: Option<RawMetrics>,
    matchers: &BTreeMap<String, String>,
    database: usize,
    report: &mut Report,
) -> String {
    match raw.and_then(|m| m.selector) {
        Some(written) => match check_selector(&written) {
            Ok(()) => written.trim().to_owned(),
            Err(e) => {
                report.at(&format!("databases[{database}].metrics.selector"), e);
                from_labels(matchers)
            }
        },
        None => from_labels(matchers),
    }
}

fn from_labels(matchers: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = matchers
        .iter()
        .map(|(name, value)| format!("{name}={}", quoted(value)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A PromQL string literal.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Checks `{name op "value", …}`: the selector is pasted into every query of the charts, so anything
/// else (a closing brace, an operator) could change what they compute.
fn check_selector(text: &str) -> Result<(), String> {
    let mut rest = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or("must be a label selector in braces, like {cluster=\"main\"}")?
        .trim_start();
    let mut count = 0;
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("expected a label name at {:?}", short(rest)));
        }
        rest = rest[name_end..].trim_start();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or_else(|| format!("expected =, !=, =~ or !~ after {name}"))?;
        rest = rest[op.len()..].trim_start();
        let (value, after) = string_literal(rest)
            .ok_or_else(|| format!("expected a quoted value after {name}{op}"))?;
        if op.contains('~') {
            regex::Regex::new(&value)
                .map_err(|e| format!("the regular expression of {name} is not valid: {e}"))?;
        }
        count += 1;
        rest = after.trim_start();
        match rest.strip_prefix(',') {
            Some(more) => rest = more.trim_start(),
            None if rest.is_empty() => {}
            None => return Err(format!("expected ',' or '}}' at {:?}", short(rest))),
        }
    }
    if count == 0 {
        return Err(
            "name at least one label: an empty selector would chart every database's series".into(),
        );
    }
    Ok(())
}

/// A double- or single-quoted string (backslash escapes) or a backquoted raw one, and what follows it.
fn string_literal(text: &str) -> Option<(String, &str)> {
    let quote = text
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '\'' | '`'))?;
    let mut value = String::new();
    let mut chars = text[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote != '`' => value.push(chars.next()?.1),
            c if c == quote => return Some((value, &text[1 + i + 1..])),
            c => value.push(c),
        }
    }
    None
}

fn short(text: &str) -> String {
    text.chars().take(20).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_checked_matcher_by_matcher() {
        for good in [
            r#"{cluster="main"}"#,
            r#"{ cluster = "main", instance=~"pg-.*" , }"#,
            r#"{job!='x',env!~`a|b`}"#,
        ] {
            assert_eq!(check_selector(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("cluster=\"main\"", "braces"),
            ("{}", "at least one label"),
            ("{cluster=main}", "quoted value"),
            ("{cluster=\"main\"} or up", "braces"),
            ("{cluster=\"a\"} or up{x=\"b\"}", "expected ','"),
            ("{cluster=~\"(\"}", "regular expression"),
            ("{9x=\"a\"}", "label name"),
        ] {
            let e = check_selector(bad).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn the_default_selector_quotes_the_match_labels() {
        let labels = BTreeMap::from([
            ("cluster".to_owned(), "ma\"in".to_owned()),
            ("env".to_owned(), "prod".to_owned()),
        ]);
        let selector = from_labels(&labels);
        assert_eq!(selector, r#"{cluster="ma\"in",env="prod"}"#);
        assert_eq!(check_selector(&selector), Ok(()));
    }

    #[test]
    fn offsets_read_as_written() {
        assert_eq!(
            parse_offset("+03:00").map(|o| o.local_minus_utc()),
            Some(10800)
        );
        assert_eq!(
            parse_offset("UTC-05:30").map(|o| o.local_minus_utc()),
            Some(-19800)
        );
        assert_eq!(parse_offset("utc").map(|o| o.local_minus_utc()), Some(0));
        assert_eq!(parse_offset("Europe/Moscow"), None);
        assert_eq!(parse_offset("+25:00"), None);
    }
}
