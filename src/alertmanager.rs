//! The Alertmanager webhook payload (version 4), parsed once into domain alerts. A payload that can never
//! be accepted comes back as a [`PayloadError`] naming the offending field, which the HTTP layer answers
//! with 400 (Alertmanager does not retry 4xx).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;

use crate::domain::AlertStatus;

/// Alertmanager's labels and annotations: string to string, ordered for stable storage and display.
pub type LabelSet = BTreeMap<String, String>;

/// One webhook notification: a group of alerts Alertmanager sends together.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub receiver: String,
    pub status: AlertStatus,
    pub group_key: String,
    pub external_url: String,
    pub truncated_alerts: u64,
    pub alerts: Vec<Alert>,
}

/// One alert of a notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub fingerprint: String,
    pub status: AlertStatus,
    pub starts_at: DateTime<Utc>,
    /// `None` while firing (Alertmanager sends the zero time `0001-01-01T00:00:00Z`).
    pub ends_at: Option<DateTime<Utc>>,
    pub labels: LabelSet,
    pub annotations: LabelSet,
    pub generator_url: String,
}

impl Alert {
    pub fn alertname(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    pub fn severity(&self) -> &str {
        self.labels.get("severity").map_or("", String::as_str)
    }
}

/// Why a payload was refused: the field (`alerts[0].startsAt`, or `body`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PayloadError {
    pub field: String,
    pub message: String,
}

impl PayloadError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    version: String,
    status: AlertStatus,
    #[serde(default)]
    receiver: String,
    #[serde(default)]
    group_key: String,
    #[serde(default, rename = "externalURL")]
    external_url: String,
    #[serde(default)]
    truncated_alerts: u64,
    alerts: Vec<PayloadAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayloadAlert {
    status: AlertStatus,
    labels: LabelSet,
    #[serde(default)]
    annotations: LabelSet,
    starts_at: DateTime<Utc>,
    #[serde(default)]
    ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    generator_url: String,
    fingerprint: String,
}

/// Only `version` is read first, so that a payload of another version is refused for its version and not
/// for whatever field it happens to lack.
#[derive(Deserialize)]
struct VersionOnly {
    version: Option<serde_json::Value>,
}

const SUPPORTED_VERSION: &str = "4";
/// Fingerprints are 16 hex digits today; the bound only keeps absurd values out of the store.
const MAX_FINGERPRINT_LEN: usize = 128;

/// Parses a webhook body.
pub fn parse(body: &[u8]) -> Result<Notification, PayloadError> {
    // serde would read a struct from a JSON array too; the webhook is always an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(PayloadError::new("body", "must be a JSON object"));
    }
    let mut json = serde_json::Deserializer::from_slice(body);
    let payload: Payload = match serde_path_to_error::deserialize(&mut json) {
        // A second document or stray bytes after the object would otherwise be stored unread.
        Ok(payload) => match json.end() {
            Ok(()) => payload,
            Err(e) => {
                return Err(PayloadError::new("body", format!("not valid JSON: {e}")));
            }
        },
        Err(e) => {
            if let Ok(VersionOnly {
                version: Some(version),
            }) = serde_json::from_slice(body)
                && version != SUPPORTED_VERSION
            {
                return Err(unsupported_version(&version.to_string()));
            }
            let path = e.path().to_string();
            let inner = e.into_inner();
            return Err(if inner.is_syntax() || inner.is_eof() {
                PayloadError::new("body", format!("not valid JSON: {inner}"))
            } else {
                PayloadError::new(
                    if path == "." { "body".to_owned() } else { path },
                    strip_position(&inner.to_string()),
                )
            });
        }
    };
    if payload.version != SUPPORTED_VERSION {
        return Err(unsupported_version(&format!("{:?}", payload.version)));
    }
    let alerts = payload
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, alert)| check_alert(i, alert))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Notification {
        receiver: payload.receiver,
        status: payload.status,
        group_key: payload.group_key,
        external_url: payload.external_url,
        truncated_alerts: payload.truncated_alerts,
        alerts,
    })
}

fn unsupported_version(found: &str) -> PayloadError {
    PayloadError::new(
        "version",
        format!("unsupported webhook version {found}; this service reads version \"4\""),
    )
}

/// serde_json appends "at line 1 column 245" to type errors; the field path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn check_alert(i: usize, alert: PayloadAlert) -> Result<Alert, PayloadError> {
    let field = |name: &str| format!("alerts[{i}].{name}");
    if alert.fingerprint.is_empty() || alert.fingerprint.len() > MAX_FINGERPRINT_LEN {
        return Err(PayloadError::new(
            field("fingerprint"),
            format!("must be 1 to {MAX_FINGERPRINT_LEN} characters"),
        ));
    }
    if is_zero_time(alert.starts_at) {
        return Err(PayloadError::new(
            field("startsAt"),
            "must be a real time, not the zero time",
        ));
    }
    if alert.labels.keys().any(String::is_empty) {
        return Err(PayloadError::new(field("labels"), "a label name is empty"));
    }
    Ok(Alert {
        fingerprint: alert.fingerprint,
        status: alert.status,
        starts_at: alert.starts_at,
        ends_at: alert.ends_at.filter(|t| !is_zero_time(*t)),
        labels: alert.labels,
        annotations: alert.annotations,
        generator_url: alert.generator_url,
    })
}

/// Go's zero `time.Time`, which Alertmanager sends as `0001-01-01T00:00:00Z`.
fn is_zero_time(t: DateTime<Utc>) -> bool {
    t.year() <= 1
}

#[cfg(test)]
mod tests;
