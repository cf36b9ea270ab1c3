//! What an incident looks like: the Telegram message (HTML, buttons) and the email (subject, text, HTML).
//! Pure functions of the reader's language, the stored incident and the time, so every recipient's
//! message and every edit shows the same current state; every word comes from the catalogues
//! (`locales/*/alerts.ftl`).
//!
//! Telegram counts at most 4096 characters after entity parsing. Fields are cut as plain text *before*
//! escaping, least important first, so a cut never lands inside a tag or an entity.

use chrono::{DateTime, Utc};

use crate::callback::{Callback, SILENCE_HOURS};
use crate::domain::AlertStatus;
use crate::i18n::Lang;
use crate::store::{DigestLine, IncidentRecord};
use crate::telegram::html::{MAX_MESSAGE_LEN, escape, printable, visible_len};
use crate::tr;

/// A rendered Telegram message: HTML text and rows of (label, meaning) buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    pub buttons: Vec<Vec<(String, Callback)>>,
}

/// `text` on one line (an email subject): line breaks and tabs become spaces, other control
/// characters U+FFFD.
fn one_line(text: &str) -> String {
    printable(&text.replace(['\r', '\n', '\t'], " ")).into_owned()
}

/// The first `max` characters of `text`, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn severity_mark(severity: &str, status: AlertStatus) -> &'static str {
    if status == AlertStatus::Resolved {
        return "✅";
    }
    match severity.to_ascii_lowercase().as_str() {
        "critical" | "page" | "emergency" => "🔴",
        "warning" | "warn" => "🟠",
        "info" | "informational" => "🔵",
        _ => "⚪",
    }
}

/// How long from `from` to `to`, in the reader's language (`2 h 5 min`).
fn elapsed(lang: Lang, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    lang.duration((to - from).num_seconds())
}

fn status(lang: Lang, status: AlertStatus) -> String {
    match status {
        AlertStatus::Firing => tr!(lang, "alert-status-firing"),
        AlertStatus::Resolved => tr!(lang, "alert-status-resolved"),
    }
}

/// `2026-11-22 11:33:15 UTC` (`%Z` names the zone: always UTC here).
fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S %Z").to_string()
}

/// Labels worth showing: all but those already in the title.
fn key_labels(incident: &IncidentRecord) -> Vec<(&str, &str)> {
    incident
        .labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "severity"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn link(url: &str) -> Option<String> {
    (url.starts_with("http://") || url.starts_with("https://")).then(|| escape(url))
}

/// Budgets (in characters, before escaping) for the parts that may be long, least important first.
struct Budget {
    description: usize,
    label_value: usize,
    labels: usize,
    summary: usize,
}

/// The message within `budget`: the title, summary, description and labels, then `tail` (the times,
/// links and responses, which no budget cuts).
fn compose(lang: Lang, incident: &IncidentRecord, budget: &Budget, tail: &[String]) -> String {
    let database = match incident.database.as_deref() {
        Some(database) => escape(database),
        None => escape(&tr!(lang, "alert-no-database")),
    };
    let mut lines = vec![format!(
        "{} <b>{}</b> · <b>{database}</b> · {}",
        severity_mark(&incident.severity, incident.status),
        status(lang, incident.status),
        escape(&cut(&incident.alertname, 200)),
    )];
    if let Some(summary) = incident.annotations.get("summary") {
        lines.push(format!("<b>{}</b>", escape(&cut(summary, budget.summary))));
    }
    if let Some(description) = incident.annotations.get("description")
        && budget.description > 0
    {
        lines.push(escape(&cut(description, budget.description)));
    }
    lines.push(String::new());
    lines.extend(labels(incident, budget));
    lines.extend(tail.iter().cloned());
    lines.join("\n")
}

/// The alert's key labels and its severity, within the budget.
fn labels(incident: &IncidentRecord, budget: &Budget) -> Vec<String> {
    let mut lines: Vec<String> = key_labels(incident)
        .into_iter()
        .take(budget.labels)
        .map(|(name, value)| {
            format!(
                "{}: <code>{}</code>",
                escape(&cut(name, 60)),
                escape(&cut(value, budget.label_value))
            )
        })
        .collect();
    if !incident.severity.is_empty() {
        // The label's own name, like the other labels above it.
        lines.push(format!(
            "severity: <code>{}</code>",
            escape(&cut(&incident.severity, 40))
        ));
    }
    lines
}

/// When it started and ended, and the links to its source and runbook.
fn times(lang: Lang, incident: &IncidentRecord, now: DateTime<Utc>) -> Vec<String> {
    let mut lines = vec![escape(&tr!(
        lang,
        "alert-started",
        time = time(incident.starts_at),
        ago = elapsed(lang, incident.starts_at, now),
    ))];
    if incident.status == AlertStatus::Resolved {
        let ended = incident.ends_at.or(incident.resolved_at).unwrap_or(now);
        lines.push(escape(&tr!(
            lang,
            "alert-resolved",
            time = time(ended),
            duration = elapsed(lang, incident.starts_at, ended),
        )));
    }
    let anchor = |href: String, name: String| format!("<a href=\"{href}\">{}</a>", escape(&name));
    let mut links = Vec::new();
    if let Some(href) = link(&incident.generator_url) {
        links.push(anchor(href, tr!(lang, "alert-link-source")));
    }
    if let Some(href) = incident
        .annotations
        .get("runbook_url")
        .and_then(|url| link(url))
    {
        links.push(anchor(href, tr!(lang, "alert-link-runbook")));
    }
    if !links.is_empty() {
        lines.push(links.join(" · "));
    }
    lines
}

/// Who acknowledged it, and the silence while it lasts.
fn responses(lang: Lang, incident: &IncidentRecord, now: DateTime<Utc>) -> Vec<String> {
    let mut lines = Vec::new();
    if let (Some(by), Some(at)) = (&incident.acknowledged_by, incident.acknowledged_at) {
        lines.push(escape(&tr!(
            lang,
            "alert-acknowledged",
            by = cut(by, 80),
            time = time(at),
        )));
    }
    if let (Some(by), Some(until)) = (&incident.silenced_by, incident.silenced_until)
        && until > now
    {
        lines.push(escape(&tr!(
            lang,
            "alert-silenced",
            by = cut(by, 80),
            time = time(until),
        )));
    }
    lines
}

/// The alert message for an incident, as every recipient reading `lang` sees it now; `links` are
/// extra buttons (one row each) for the views and actions that help with it. Acknowledge and Silence
/// are shown to those who may `respond` (a viewer's copy has none: they could only be refused).
pub fn alert_message(
    lang: Lang,
    incident: &IncidentRecord,
    now: DateTime<Utc>,
    links: &[(String, Callback)],
    respond: bool,
) -> Rendered {
    // Shrink the least important parts until the message fits.
    let budgets = [
        Budget {
            description: 1500,
            label_value: 200,
            labels: 30,
            summary: 500,
        },
        Budget {
            description: 500,
            label_value: 100,
            labels: 20,
            summary: 300,
        },
        Budget {
            description: 100,
            label_value: 60,
            labels: 10,
            summary: 200,
        },
        Budget {
            description: 0,
            label_value: 40,
            labels: 5,
            summary: 200,
        },
        Budget {
            description: 0,
            label_value: 20,
            labels: 0,
            summary: 100,
        },
    ];
    // The same whatever the budget: formatted once.
    let mut tail = times(lang, incident, now);
    tail.extend(responses(lang, incident, now));
    let mut html = String::new();
    for budget in &budgets {
        html = compose(lang, incident, budget, &tail);
        if visible_len(&html) <= MAX_MESSAGE_LEN {
            break;
        }
    }
    let mut buttons = if respond {
        buttons(lang, incident, now)
    } else {
        Vec::new()
    };
    buttons.extend(links.iter().map(|link| vec![link.clone()]));
    Rendered { html, buttons }
}

fn buttons(
    lang: Lang,
    incident: &IncidentRecord,
    now: DateTime<Utc>,
) -> Vec<Vec<(String, Callback)>> {
    if incident.status == AlertStatus::Resolved {
        return Vec::new();
    }
    let id = incident.id;
    let mut rows = Vec::new();
    if incident.acknowledged_by.is_none() {
        rows.push(vec![(
            tr!(lang, "alert-button-acknowledge"),
            Callback::Acknowledge(id),
        )]);
    }
    let silenced =
        incident.silence_id.is_some() && incident.silenced_until.is_some_and(|u| u > now);
    if silenced {
        rows.push(vec![(
            tr!(lang, "alert-button-expire-silence"),
            Callback::Unsilence(id),
        )]);
    } else {
        rows.push(
            SILENCE_HOURS
                .iter()
                .map(|h| {
                    (
                        tr!(lang, "alert-button-silence", hours = *h),
                        Callback::Silence(id, *h),
                    )
                })
                .collect(),
        );
    }
    rows
}

/// One line about an incident, for lists (`/alerts`, `/incidents`, digests).
pub fn incident_line(lang: Lang, incident: &IncidentRecord, now: DateTime<Utc>) -> String {
    let mut line = format!(
        "{} <b>#{}</b> {} · {} · {}",
        severity_mark(&incident.severity, incident.status),
        incident.id,
        escape(incident.database.as_deref().unwrap_or("-")),
        escape(&cut(&incident.alertname, 60)),
        elapsed(lang, incident.starts_at, now),
    );
    if let Some(by) = &incident.acknowledged_by {
        line.push_str(&format!(" · ☑️ {}", escape(&cut(by, 40))));
    }
    line
}

/// The storm digest: how many alerts wait for this chat, by database, alertname and severity (the
/// lines as the store counted them, biggest first).
pub fn digest_message(lang: Lang, lines: &[DigestLine]) -> Rendered {
    let total: i64 = lines.iter().map(|l| l.count).sum();
    let mut html = tr!(lang, "digest-title", count = total);
    html.push('\n');
    for line in lines {
        let text = format!(
            "\n{} {} · {} × {}",
            severity_mark(&line.severity, AlertStatus::Firing),
            escape(&cut(line.database.as_deref().unwrap_or("-"), 63)),
            escape(&cut(&line.alertname, 80)),
            line.count,
        );
        if visible_len(&html) + visible_len(&text) > MAX_MESSAGE_LEN - 40 {
            html.push_str("\n…");
            break;
        }
        html.push_str(&text);
    }
    Rendered {
        html,
        buttons: vec![vec![(
            tr!(lang, "digest-button-list"),
            Callback::ListAlerts,
        )]],
    }
}

/// An email about an incident: subject, plain text and HTML.
pub struct EmailBody {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The email for an incident in `lang`; `reason` says why email was used (escalation, Telegram
/// failure), in the same language.
pub fn email(lang: Lang, incident: &IncidentRecord, reason: &str, now: DateTime<Utc>) -> EmailBody {
    let database = match incident.database.as_deref() {
        Some(database) => database.to_owned(),
        None => tr!(lang, "email-no-database"),
    };
    // Header injection is impossible through lettre, but keep the subject on one line anyway.
    let subject = tr!(
        lang,
        "email-subject",
        status = status(lang, incident.status),
        database = database,
        alertname = &incident.alertname,
    );
    let subject = cut(&one_line(&subject), 200);
    let mut text = format!("{subject}\n\n{}\n\n", printable(reason));
    for (name, value) in &incident.annotations {
        text.push_str(&format!("{}: {}\n", printable(name), printable(value)));
    }
    text.push('\n');
    for (name, value) in &incident.labels {
        text.push_str(&format!("{}={}\n", printable(name), printable(value)));
    }
    let started = tr!(
        lang,
        "alert-started",
        time = time(incident.starts_at),
        ago = elapsed(lang, incident.starts_at, now),
    );
    text.push_str(&format!("\n{started}\n"));
    if let Some(ended) = incident.ends_at.or(incident.resolved_at)
        && incident.status == AlertStatus::Resolved
    {
        text.push_str(&tr!(lang, "email-resolved", time = time(ended)));
        text.push('\n');
    }
    if !incident.generator_url.is_empty() {
        let url = printable(&incident.generator_url);
        text.push_str(&tr!(lang, "email-source", url = url.as_ref()));
        text.push('\n');
    }
    text.push_str(&tr!(lang, "email-incident", id = incident.id.to_string()));
    text.push('\n');
    let message = alert_message(lang, incident, now, &[], false);
    let html = format!(
        "<html lang=\"{lang}\"><body><p>{}</p><pre style=\"font-family: sans-serif\">{}</pre></body></html>",
        escape(reason),
        message.html
    );
    EmailBody {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests;
