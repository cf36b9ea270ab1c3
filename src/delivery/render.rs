//! What an incident looks like: the Telegram message (HTML, buttons) and the email (subject, text, HTML).
//! Pure functions of the stored incident and the time, so every recipient's message and every edit
//! shows the same current state.
//!
//! Telegram counts at most 4096 characters after entity parsing. Fields are cut as plain text *before*
//! escaping, least important first, so a cut never lands inside a tag or an entity.

use chrono::{DateTime, Utc};

use crate::callback::{Callback, SILENCE_HOURS};
use crate::domain::AlertStatus;
use crate::store::{DigestLine, IncidentRecord};
use crate::telegram::html::{MAX_MESSAGE_LEN, escape, printable, visible_len};

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

/// `3d 4h`, `2h 5m`, `5m 3s`, `42s`.
pub fn human_duration(duration: chrono::Duration) -> String {
    let s = duration.num_seconds().max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
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

fn compose(incident: &IncidentRecord, now: DateTime<Utc>, budget: &Budget) -> String {
    let database = incident
        .database
        .as_deref()
        .unwrap_or("no database matched");
    let status = match incident.status {
        AlertStatus::Firing => "FIRING",
        AlertStatus::Resolved => "RESOLVED",
    };
    let mut lines = vec![format!(
        "{} <b>{status}</b> · <b>{}</b> · {}",
        severity_mark(&incident.severity, incident.status),
        escape(database),
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
    lines.extend(times(incident, now));
    lines.extend(responses(incident, now));
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
        lines.push(format!(
            "severity: <code>{}</code>",
            escape(&cut(&incident.severity, 40))
        ));
    }
    lines
}

/// When it started and ended, and the links to its source and runbook.
fn times(incident: &IncidentRecord, now: DateTime<Utc>) -> Vec<String> {
    let mut lines = vec![format!(
        "Started {} ({} ago)",
        time(incident.starts_at),
        human_duration(now - incident.starts_at)
    )];
    if incident.status == AlertStatus::Resolved {
        let ended = incident.ends_at.or(incident.resolved_at).unwrap_or(now);
        lines.push(format!(
            "Resolved {} after {}",
            time(ended),
            human_duration(ended - incident.starts_at)
        ));
    }
    let links: Vec<String> = [
        (incident.generator_url.as_str(), "Source"),
        (
            incident
                .annotations
                .get("runbook_url")
                .map_or("", String::as_str),
            "Runbook",
        ),
    ]
    .into_iter()
    .filter_map(|(url, name)| link(url).map(|href| format!("<a href=\"{href}\">{name}</a>")))
    .collect();
    if !links.is_empty() {
        lines.push(links.join(" · "));
    }
    lines
}

/// Who acknowledged it, and the silence while it lasts.
fn responses(incident: &IncidentRecord, now: DateTime<Utc>) -> Vec<String> {
    let mut lines = Vec::new();
    if let (Some(by), Some(at)) = (&incident.acknowledged_by, incident.acknowledged_at) {
        lines.push(format!(
            "☑️ Acknowledged by {} at {}",
            escape(&cut(by, 80)),
            time(at)
        ));
    }
    if let (Some(by), Some(until)) = (&incident.silenced_by, incident.silenced_until)
        && until > now
    {
        lines.push(format!(
            "🔕 Silenced by {} until {}",
            escape(&cut(by, 80)),
            time(until)
        ));
    }
    lines
}

/// The alert message for an incident, as every recipient sees it now; `links` are extra buttons (one
/// row each) for the views and actions that help with it. Acknowledge and Silence are shown to those
/// who may `respond` (a viewer's copy has none: they could only be refused).
pub fn alert_message(
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
    let mut html = String::new();
    for budget in &budgets {
        html = compose(incident, now, budget);
        if visible_len(&html) <= MAX_MESSAGE_LEN {
            break;
        }
    }
    let mut buttons = if respond {
        buttons(incident, now)
    } else {
        Vec::new()
    };
    buttons.extend(links.iter().map(|link| vec![link.clone()]));
    Rendered { html, buttons }
}

fn buttons(incident: &IncidentRecord, now: DateTime<Utc>) -> Vec<Vec<(String, Callback)>> {
    if incident.status == AlertStatus::Resolved {
        return Vec::new();
    }
    let id = incident.id;
    let mut rows = Vec::new();
    if incident.acknowledged_by.is_none() {
        rows.push(vec![(
            "☑️ Acknowledge".to_owned(),
            Callback::Acknowledge(id),
        )]);
    }
    let silenced =
        incident.silence_id.is_some() && incident.silenced_until.is_some_and(|u| u > now);
    if silenced {
        rows.push(vec![(
            "🔔 Expire silence".to_owned(),
            Callback::Unsilence(id),
        )]);
    } else {
        rows.push(
            SILENCE_HOURS
                .iter()
                .map(|h| (format!("🔕 {h}h"), Callback::Silence(id, *h)))
                .collect(),
        );
    }
    rows
}

/// One line about an incident, for lists (`/alerts`, `/incidents`, digests).
pub fn incident_line(incident: &IncidentRecord, now: DateTime<Utc>) -> String {
    let mut line = format!(
        "{} <b>#{}</b> {} · {} · {}",
        severity_mark(&incident.severity, incident.status),
        incident.id,
        escape(incident.database.as_deref().unwrap_or("-")),
        escape(&cut(&incident.alertname, 60)),
        human_duration(now - incident.starts_at),
    );
    if let Some(by) = &incident.acknowledged_by {
        line.push_str(&format!(" · ☑️ {}", escape(&cut(by, 40))));
    }
    line
}

/// The storm digest: how many alerts wait for this chat, by database, alertname and severity (the
/// lines as the store counted them, biggest first).
pub fn digest_message(lines: &[DigestLine]) -> Rendered {
    let total: i64 = lines.iter().map(|l| l.count).sum();
    let mut html = format!(
        "⚠️ <b>{total} new alerts</b> arrived faster than Telegram lets them through one by one; \
         they follow as fast as it allows.\n"
    );
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
            "📋 List firing alerts".to_owned(),
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

/// The email for an incident; `reason` says why email was used (escalation, Telegram failure).
pub fn email(incident: &IncidentRecord, reason: &str, now: DateTime<Utc>) -> EmailBody {
    let status = match incident.status {
        AlertStatus::Firing => "FIRING",
        AlertStatus::Resolved => "RESOLVED",
    };
    let database = incident.database.as_deref().unwrap_or("no database");
    // Header injection is impossible through lettre, but keep the subject on one line anyway.
    let subject = cut(
        &one_line(&format!("[{status}] {database} {}", incident.alertname)),
        200,
    );
    let mut text = format!("{subject}\n\n{}\n\n", printable(reason));
    for (name, value) in &incident.annotations {
        text.push_str(&format!("{}: {}\n", printable(name), printable(value)));
    }
    text.push('\n');
    for (name, value) in &incident.labels {
        text.push_str(&format!("{}={}\n", printable(name), printable(value)));
    }
    text.push_str(&format!(
        "\nStarted {} ({} ago)\n",
        time(incident.starts_at),
        human_duration(now - incident.starts_at)
    ));
    if let Some(ended) = incident.ends_at.or(incident.resolved_at)
        && incident.status == AlertStatus::Resolved
    {
        text.push_str(&format!("Resolved {}\n", time(ended)));
    }
    if !incident.generator_url.is_empty() {
        text.push_str(&format!("Source: {}\n", printable(&incident.generator_url)));
    }
    text.push_str(&format!("Incident #{}\n", incident.id));
    let message = alert_message(incident, now, &[], false);
    let html = format!(
        "<html><body><p>{}</p><pre style=\"font-family: sans-serif\">{}</pre></body></html>",
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
