//! From YAML text to a validated [`Config`], collecting every problem with its position:
//! syntax (positions from the YAML scanner), unknown keys and wrong types (yaml_serde through
//! serde_path_to_error, first one only, as serde stops there), missing variables and every semantic
//! check (all of them, located through [`Positions`]).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::{RawApiToken, RawConfig, RawDatabase};
use super::report::{Report, parse};
use super::{
    AlertmanagerConfig, ApiToken, CatalogFiles, Config, ConfigError, DatabaseConfig,
    EscalationConfig, HttpConfig, Link, Secret, SmtpConfig, StateLocation, TelegramConfig,
    TelegramWebhook,
};
use crate::domain::{
    ChatId, DatabaseName, EmailAddress, MemberRef, Role, TelegramUserId, Username, parse_duration,
};

const DEFAULT_LISTEN: &str = "127.0.0.1:9750";
const DEFAULT_API_URL: &str = "https://api.telegram.org";
const DEFAULT_STATE: &str = "sqlite://postgram.db";
/// The environment variable that stands for `state` when the config has none.
const STATE_VARIABLE: &str = "POSTGRAM_STATE";
/// Shorter tokens are guessable; 16 characters is the floor `openssl rand -hex 16` comfortably clears.
const MIN_TOKEN_LEN: usize = 16;

pub fn validate(
    text: &str,
    file: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let (raw, mut report) = parse::<RawConfig>(text, file, Some(lookup))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let config = raw
        .map(|mut raw| {
            // Without `state`, the environment decides (the container image points it at its volume).
            raw.state = raw.state.or_else(|| lookup(STATE_VARIABLE));
            raw
        })
        .and_then(|raw| build(raw, base, &mut report))
        .map(|mut config| {
            config.file = file.to_owned();
            config
        });
    report.finish(config)
}

fn build(raw: RawConfig, base: &Path, report: &mut Report<'_>) -> Option<Config> {
    let webhook = match (raw.telegram.webhook_url, raw.telegram.webhook_secret) {
        (None, None) => None,
        (None, Some(_)) => {
            report.at(
                "telegram.webhook_secret",
                "is set but telegram.webhook_url is not",
            );
            None
        }
        (Some(url), secret) => {
            let url = http_url(&url, "telegram.webhook_url", report);
            let secret = secret.unwrap_or_default();
            // Telegram's rule for secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
            let valid = (16..=256).contains(&secret.len())
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                report.at(
                    "telegram.webhook_secret",
                    "needs 16-256 characters of A-Z, a-z, 0-9, '_' or '-' when webhook_url is set",
                );
            }
            Some(TelegramWebhook {
                url,
                secret: Secret::new(secret),
            })
        }
    };
    let telegram = TelegramConfig {
        token: required_secret(raw.telegram.token, "telegram.token", report),
        api_url: http_url(
            raw.telegram.api_url.as_deref().unwrap_or(DEFAULT_API_URL),
            "telegram.api_url",
            report,
        ),
        webhook,
        dialogue_ttl: duration(
            raw.telegram.dialogue_ttl.as_deref(),
            Duration::from_secs(3600),
            "telegram.dialogue_ttl",
            report,
        ),
    };
    let listen_raw = raw.http.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = listen_raw.parse::<SocketAddr>().map_err(|_| {
        report.at(
            "http.listen",
            format!("{listen_raw:?} is not an address like 127.0.0.1:9750"),
        )
    });
    if raw.http.webhook_token.len() < MIN_TOKEN_LEN {
        report.at(
            "http.webhook_token",
            format!("must be at least {MIN_TOKEN_LEN} characters"),
        );
    }
    let state = state_location(raw.state.as_deref().unwrap_or(DEFAULT_STATE), base, report);

    let mut owners = Vec::new();
    for (i, id) in raw.owners.iter().enumerate() {
        match TelegramUserId::new(*id) {
            Ok(id) => owners.push(id),
            Err(e) => report.at(&format!("owners[{i}]"), e),
        }
    }
    if raw.owners.is_empty() {
        report.at(
            "owners",
            "name at least one Telegram user id: owners receive unrouted alerts and manage everything",
        );
    }

    let alertmanager = raw.alertmanager.map(|am| AlertmanagerConfig {
        url: http_url(&am.url, "alertmanager.url", report),
    });
    let smtp = raw.smtp.and_then(|smtp| {
        if let Err(e) = super::smtp::transport_url(&smtp.url) {
            report.at("smtp.url", e);
        }
        let from = EmailAddress::parse(&smtp.from).map_err(|e| report.at("smtp.from", e));
        Some(SmtpConfig {
            url: Secret::new(smtp.url),
            from: from.ok()?,
        })
    });
    let escalation = raw.escalation.as_ref();
    let escalation = EscalationConfig {
        ack_timeout: duration(
            escalation.and_then(|e| e.ack_timeout.as_deref()),
            Duration::from_secs(600),
            "escalation.ack_timeout",
            report,
        ),
        telegram_failure_after: duration(
            escalation.and_then(|e| e.telegram_failure_after.as_deref()),
            Duration::from_secs(120),
            "escalation.telegram_failure_after",
            report,
        ),
        severities: escalation
            .and_then(|e| e.severities.clone())
            .unwrap_or_default(),
    };
    let catalog = raw
        .catalog
        .map(|c| CatalogFiles {
            views: c.views.map(|p| base.join(p)),
            actions: c.actions.map(|p| base.join(p)),
        })
        .unwrap_or_default();

    let databases = databases(raw.databases, report);
    let api_tokens = api_tokens(raw.api_tokens, &databases, report);

    Some(Config {
        file: PathBuf::new(),
        telegram,
        http: HttpConfig {
            listen: listen.ok()?,
            webhook_token: Secret::new(raw.http.webhook_token),
        },
        state: state?,
        owners,
        alertmanager,
        smtp,
        escalation,
        catalog,
        databases,
        api_tokens,
        links: raw
            .links
            .into_iter()
            .map(|l| Link {
                alertname: l.alertname,
                views: l.views,
                actions: l.actions,
            })
            .collect(),
    })
}

fn required_secret(value: String, path: &str, report: &mut Report<'_>) -> Secret {
    if value.trim().is_empty() {
        report.at(path, "must not be empty");
    }
    Secret::new(value)
}

fn http_url(raw: &str, path: &str, report: &mut Report<'_>) -> String {
    let rest = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => {
            raw.trim_end_matches('/').to_owned()
        }
        _ => {
            report.at(
                path,
                format!("{raw:?} is not an http:// or https:// URL with a host"),
            );
            String::new()
        }
    }
}

fn duration(raw: Option<&str>, default: Duration, path: &str, report: &mut Report<'_>) -> Duration {
    match raw.map(parse_duration) {
        None => default,
        Some(Ok(d)) if !d.is_zero() => d,
        Some(Ok(_)) => {
            report.at(path, "must be longer than zero");
            default
        }
        Some(Err(e)) => {
            report.at(path, e);
            default
        }
    }
}

fn state_location(raw: &str, base: &Path, report: &mut Report<'_>) -> Option<StateLocation> {
    if let Some(file) = raw.strip_prefix("sqlite://") {
        let file = file.split('?').next().unwrap_or_default();
        if file.is_empty() || file == ":memory:" {
            report.at(
                "state",
                "needs a file (sqlite://postgram.db): an in-memory store would lose every alert on restart",
            );
            return None;
        }
        Some(StateLocation::Sqlite(resolve(base, file)))
    } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        Some(StateLocation::Postgres(Secret::new(raw)))
    } else {
        // Never echo the value: it may be a DSN with a password.
        report.at("state", "must start with sqlite:// or postgres://");
        None
    }
}

fn resolve(base: &Path, file: &str) -> PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

fn databases(raw: Vec<RawDatabase>, report: &mut Report<'_>) -> Vec<DatabaseConfig> {
    let mut seen = HashSet::new();
    let mut routes: BTreeMap<Vec<(String, String)>, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, db) in raw.into_iter().enumerate() {
        let at = |field: &str| format!("databases[{i}].{field}");
        let name = match DatabaseName::parse(&db.name) {
            Ok(name) => name,
            Err(e) => {
                report.at(&at("name"), e);
                continue;
            }
        };
        if !seen.insert(name.clone()) {
            report.at(&at("name"), format!("database {name} is defined twice"));
        }
        if !(db.dsn.starts_with("postgres://") || db.dsn.starts_with("postgresql://")) {
            report.at(&at("dsn"), "must be a postgres:// URL");
        }
        if db.matchers.is_empty() {
            report.at(
                &at("match"),
                "name at least one label (for example { cluster: main }) that routes alerts here",
            );
        }
        let key: Vec<(String, String)> = db.matchers.clone().into_iter().collect();
        if let Some(other) = routes.insert(key, name.to_string())
            && !db.matchers.is_empty()
        {
            {
                report.at(
                    &at("match"),
                    format!("database {other} already matches exactly these labels"),
                );
            }
        }
        let admins = members(&db.admins, &format!("databases[{i}].admins"), report);
        let viewers = members(&db.viewers, &format!("databases[{i}].viewers"), report);
        for (j, viewer) in viewers.iter().enumerate() {
            if admins.contains(viewer) {
                report.at(
                    &format!("databases[{i}].viewers[{j}]"),
                    format!("{viewer} is already an admin of this database"),
                );
            }
        }
        let mut email = Vec::new();
        for (j, address) in db.email.iter().enumerate() {
            match EmailAddress::parse(address) {
                Ok(address) => email.push(address),
                Err(e) => report.at(&format!("databases[{i}].email[{j}]"), e),
            }
        }
        if db.chat == Some(0) {
            report.at(&at("chat"), "0 is not a Telegram chat id");
        }
        out.push(DatabaseConfig {
            name,
            dsn: Secret::new(db.dsn),
            matchers: db.matchers,
            admins,
            viewers,
            chat: db.chat.map(ChatId),
            email,
            reconnect_after: duration(
                db.reconnect_after.as_deref(),
                super::RECONNECT_AFTER,
                &at("reconnect_after"),
                report,
            ),
        });
    }
    out
}

/// Telegram user ids or `@usernames`, each checked on its own.
fn members(raw: &[yaml_serde::Value], path: &str, report: &mut Report) -> Vec<MemberRef> {
    let mut out = Vec::new();
    for (j, member) in raw.iter().enumerate() {
        let parsed = match member {
            yaml_serde::Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| format!("{n} is not a Telegram user id"))
                .and_then(TelegramUserId::new)
                .map(MemberRef::Id),
            yaml_serde::Value::String(s) => Username::parse_handle(s).map(MemberRef::Username),
            _ => Err("expected a Telegram user id or an @username".to_owned()),
        };
        match parsed {
            Ok(member) if out.contains(&member) => {
                report.at(&format!("{path}[{j}]"), format!("{member} is listed twice"))
            }
            Ok(member) => out.push(member),
            Err(e) => report.at(&format!("{path}[{j}]"), e),
        }
    }
    out
}

/// A token's SHA-256: of `token`, or `token_sha256` as written (exactly one of the two).
fn token_digest(
    token: &RawApiToken,
    at: &dyn Fn(&str) -> String,
    report: &mut Report,
) -> Option<[u8; 32]> {
    match (&token.token, &token.token_sha256) {
        (Some(_), Some(_)) => {
            report.at(
                &at("token_sha256"),
                "give either token or token_sha256, not both",
            );
            None
        }
        (None, None) => {
            report.at(
                &at("token"),
                "is required (or token_sha256: the token's SHA-256 in hex)",
            );
            None
        }
        (Some(value), None) if value.len() < MIN_TOKEN_LEN => {
            report.at(
                &at("token"),
                format!("must be at least {MIN_TOKEN_LEN} characters"),
            );
            None
        }
        (Some(value), None) => Some(crate::access::digest(value)),
        (None, Some(hex)) => {
            let parsed = (hex.len() == 64)
                .then(|| {
                    (0..32)
                        .map(|k| u8::from_str_radix(hex.get(2 * k..2 * k + 2)?, 16).ok())
                        .collect::<Option<Vec<u8>>>()
                })
                .flatten()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
            if parsed.is_none() {
                report.at(
                    &at("token_sha256"),
                    "must be 64 hexadecimal digits (the output of `printf %s TOKEN | sha256sum`)",
                );
            }
            parsed
        }
    }
}

fn api_tokens(
    raw: Vec<RawApiToken>,
    known: &[DatabaseConfig],
    report: &mut Report<'_>,
) -> Vec<ApiToken> {
    let mut names = HashSet::new();
    let mut values = HashSet::new();
    let mut out = Vec::new();
    for (i, token) in raw.into_iter().enumerate() {
        let at = |field: &str| format!("api_tokens[{i}].{field}");
        if token.name.trim().is_empty() {
            report.at(&at("name"), "must not be empty");
        } else if !names.insert(token.name.clone()) {
            report.at(
                &at("name"),
                format!("token name {:?} is used twice", token.name),
            );
        }
        let sha256 = token_digest(&token, &at, report);
        if let Some(sha256) = sha256
            && !values.insert(sha256)
        {
            report.at(&at("token"), "the same token is given twice");
        }
        match Role::parse(&token.role) {
            Ok(role) => {
                let databases = token.databases.as_ref().map(|names| {
                    names
                        .iter()
                        .enumerate()
                        .filter_map(|(j, name)| {
                            let found = known.iter().find(|d| d.name.as_str() == name);
                            if found.is_none() {
                                report.at(
                                    &format!("api_tokens[{i}].databases[{j}]"),
                                    format!("{name:?} is not a database of the config"),
                                );
                            }
                            found.map(|d| d.name.clone())
                        })
                        .collect()
                });
                if let Some(sha256) = sha256 {
                    out.push(ApiToken {
                        name: token.name,
                        sha256,
                        role,
                        databases,
                    })
                }
            }
            Err(e) => report.at(&at("role"), e),
        }
    }
    out
}

#[cfg(test)]
mod tests;
