//! The config file exactly as operators write it. Every struct denies unknown fields, so a typo is an
//! error with a position instead of a silently ignored setting. Every key is optional here, even those
//! the service needs: a wrong value is taken out and the rest still reads (`lenient.rs`), and
//! `validate.rs` says what is missing. Validation into domain types is in `validate.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub telegram: Option<RawTelegram>,
    pub http: Option<RawHttp>,
    pub state: Option<String>,
    #[serde(default)]
    pub owners: Vec<i64>,
    pub alertmanager: Option<RawAlertmanager>,
    pub smtp: Option<RawSmtp>,
    pub escalation: Option<RawEscalation>,
    pub catalog: Option<RawCatalog>,
    #[serde(default)]
    pub databases: Vec<RawDatabase>,
    #[serde(default)]
    pub api_tokens: Vec<RawApiToken>,
    #[serde(default)]
    pub links: Vec<RawLink>,
    pub prometheus: Option<RawPrometheus>,
    /// The zone of the times on charts, as an offset: `+03:00`, `-05:30` or `UTC`.
    pub time_zone: Option<String>,
    /// The language of group chats, emails and people the bot has not met: `en` (default) or `ru`.
    pub language: Option<String>,
    pub telemetry: Option<RawTelemetry>,
}

/// Where the service's own traces go (OTLP over HTTP); read at start only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// The collector's OTLP/HTTP base URL, `http://tempo:4318`.
    pub otlp_endpoint: Option<String>,
}

/// Where the databases' metrics are read for charts and health cards.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrometheus {
    /// May carry basic-auth credentials (`https://user:pass@host`).
    pub url: Option<String>,
    pub timeout: Option<String>,
    /// Sent with every query, e.g. `Authorization: Bearer …`; values are secrets.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// A PromQL label selector, `{cluster="main"}`.
    pub selector: Option<String>,
}

/// Views and actions offered on the messages of an alert.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub alertname: Option<String>,
    #[serde(default)]
    pub views: Vec<String>,
    #[serde(default)]
    pub actions: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelegram {
    pub token: Option<String>,
    pub api_url: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// How long an untouched view or action dialogue is kept (default 1h).
    pub dialogue_ttl: Option<String>,
    /// How long the buttons of a message are honoured (default 30d; alerts still firing keep theirs).
    pub buttons_ttl: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub listen: Option<String>,
    pub webhook_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertmanager {
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    pub url: Option<String>,
    pub from: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEscalation {
    pub ack_timeout: Option<String>,
    pub telegram_failure_after: Option<String>,
    pub severities: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalog {
    pub views: Option<String>,
    pub actions: Option<String>,
    pub charts: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub name: Option<String>,
    pub dsn: Option<String>,
    #[serde(rename = "match", default)]
    pub matchers: BTreeMap<String, String>,
    /// Ids or `@usernames`; kept as YAML values so each entry gets its own message.
    #[serde(default)]
    pub admins: Vec<yaml_serde::Value>,
    /// Like `admins`, for people who see alerts and views but may not act.
    #[serde(default)]
    pub viewers: Vec<yaml_serde::Value>,
    pub chat: Option<i64>,
    #[serde(default)]
    pub email: Vec<String>,
    pub reconnect_after: Option<String>,
    pub metrics: Option<RawMetrics>,
    /// This database's language (default: the top-level `language`).
    pub language: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApiToken {
    pub name: Option<String>,
    /// The token itself, or (for operators who keep no secret in the file) its SHA-256 in hex.
    pub token: Option<String>,
    pub token_sha256: Option<String>,
    pub role: Option<String>,
    /// The databases the token may reach; all of them when absent.
    pub databases: Option<Vec<String>>,
}
