//! From YAML text to a validated [`Config`], collecting every problem with its position: syntax
//! (positions from the YAML scanner), unknown keys and wrong types (each one, through `lenient.rs`),
//! missing variables and every semantic check (all of them, located through [`Positions`]).

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::raw::{RawApiToken, RawConfig, RawDatabase};
use super::report::{Report, parse};
use super::{
    AlertmanagerConfig, ApiToken, CatalogFiles, Checked, Config, DatabaseConfig, Link, Secret,
    StateLocation,
};
use crate::domain::{
    ChatId, DatabaseName, EmailAddress, MemberKey, Role, TelegramUserId, Username, parse_duration,
};
use crate::i18n::Lang;
use service::{escalation, http, telegram};

const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9750);
const DEFAULT_API_URL: &str = "https://api.telegram.org";
const DEFAULT_STATE: &str = "sqlite://postgram.db";
/// The environment variable that stands for `state` when the config has none.
const STATE_VARIABLE: &str = "POSTGRAM_STATE";
/// Shorter tokens are guessable; 16 characters is the floor `openssl rand -hex 16` comfortably clears.
const MIN_TOKEN_LEN: usize = 16;

pub fn validate(text: &str, file: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Checked {
    let (raw, mut report) = match parse::<RawConfig>(text, file, Some(lookup)) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Checked {
                draft: None,
                problems: e.problems,
            };
        }
    };
    let base = file.parent().unwrap_or(Path::new("."));
    let draft = raw.map(|mut raw| {
        // Without `state`, the environment decides (the container image points it at its volume).
        raw.state = raw.state.or_else(|| lookup(STATE_VARIABLE));
        build(raw, base, &mut report)
    });
    let (problems, source) = report.into_parts();
    let source = Arc::new(source);
    Checked {
        draft: draft.map(|config| Config {
            file: file.to_owned(),
            source,
            ..config
        }),
        problems,
    }
}

/// The config from `raw`, with a default in place of each value that has a problem (reported).
fn build(raw: RawConfig, base: &Path, report: &mut Report) -> Config {
    let telegram = telegram(report.required(raw.telegram, "telegram"), report);
    let http = http(report.required(raw.http, "http"), report);
    let state = state_location(raw.state.as_deref().unwrap_or(DEFAULT_STATE), base, report);

    let mut owners = Vec::new();
    for (i, id) in raw.owners.iter().enumerate() {
        match TelegramUserId::new(*id) {
            Ok(id) => owners.push(id),
            Err(e) => report.at(&format!("owners[{i}]"), e),
        }
    }
    if raw.owners.is_empty() && !report.has_problem_in("owners") {
        report.at(
            "owners",
            "name at least one Telegram user id: owners receive unrouted alerts and manage everything",
        );
    }

    let alertmanager = raw.alertmanager.map(|am| AlertmanagerConfig {
        url: http_url(
            &report.required(am.url, "alertmanager.url"),
            "alertmanager.url",
            report,
        ),
    });
    let smtp = raw.smtp.and_then(|smtp| self::service::smtp(smtp, report));
    let escalation = escalation(raw.escalation.as_ref(), report);
    let catalog = raw
        .catalog
        .map(|c| CatalogFiles {
            views: c.views.map(|p| base.join(p)),
            actions: c.actions.map(|p| base.join(p)),
            charts: c.charts.map(|p| base.join(p)),
        })
        .unwrap_or_default();

    let language = language(raw.language.as_deref(), Lang::default(), "language", report);
    let databases = databases(raw.databases, language, report);
    let api_tokens = api_tokens(raw.api_tokens, &databases, report);
    let links = raw
        .links
        .into_iter()
        .enumerate()
        .map(|(i, l)| Link {
            alertname: report.required(l.alertname, &format!("links[{i}].alertname")),
            views: l.views,
            actions: l.actions,
        })
        .collect();

    let prometheus = raw.prometheus.map(|p| metrics::prometheus(p, report));
    let time_zone = metrics::time_zone(raw.time_zone.as_deref(), report);
    let telemetry = raw.telemetry.map(|t| telemetry::telemetry(t, report));

    Config {
        file: PathBuf::new(),
        source: Arc::default(),
        telegram,
        http,
        state: state.unwrap_or_else(|| StateLocation::Sqlite(base.join("postgram.db"))),
        owners,
        alertmanager,
        smtp,
        escalation,
        catalog,
        databases,
        api_tokens,
        links,
        prometheus,
        time_zone,
        language,
        telemetry,
    }
}

/// A language the service speaks, by its code; `default` when absent or unknown (reported).
fn language(raw: Option<&str>, default: Lang, path: &str, report: &mut Report) -> Lang {
    let Some(raw) = raw else { return default };
    Lang::parse(raw).unwrap_or_else(|| {
        let known: Vec<&str> = Lang::ALL.iter().map(|lang| lang.code()).collect();
        report.at(
            path,
            format!(
                "{raw:?} is not a language Postgram speaks ({})",
                known.join(", ")
            ),
        );
        default
    })
}

fn http_url(raw: &str, path: &str, report: &mut Report) -> String {
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

fn duration(raw: Option<&str>, default: Duration, path: &str, report: &mut Report) -> Duration {
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

fn state_location(raw: &str, base: &Path, report: &mut Report) -> Option<StateLocation> {
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
        if let Err(e) = super::Hosts::parse(raw) {
            report.at("state", e.to_string());
            return None;
        }
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

fn databases(raw: Vec<RawDatabase>, language: Lang, report: &mut Report) -> Vec<DatabaseConfig> {
    let mut seen = HashSet::new();
    let mut routes: BTreeMap<Vec<(String, String)>, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, db) in raw.into_iter().enumerate() {
        let at = |field: &str| format!("databases[{i}].{field}");
        // A database without a valid name is checked all the same, then left out.
        let name = report.required(db.name, &at("name"));
        let name = DatabaseName::parse(&name)
            .map_err(|e| report.at(&at("name"), e))
            .ok();
        if let Some(name) = &name
            && !seen.insert(name.clone())
        {
            report.at(&at("name"), format!("database {name} is defined twice"));
        }
        let dsn = report.required(db.dsn, &at("dsn"));
        if !(dsn.starts_with("postgres://") || dsn.starts_with("postgresql://")) {
            report.at(&at("dsn"), "must be a postgres:// URL");
        }
        if db.matchers.is_empty() {
            report.at(
                &at("match"),
                "name at least one label (for example { cluster: main }) that routes alerts here",
            );
        } else {
            let key: Vec<(String, String)> = db.matchers.clone().into_iter().collect();
            let this = name
                .as_ref()
                .map_or(format!("#{}", i + 1), ToString::to_string);
            if let Some(other) = routes.insert(key, this) {
                report.at(
                    &at("match"),
                    format!("database {other} already matches exactly these labels"),
                );
            }
        }
        let admins = members(&db.admins, &at("admins"), report);
        let viewers = members(&db.viewers, &at("viewers"), report);
        for (j, viewer) in viewers.iter().enumerate() {
            if admins.contains(viewer) {
                report.at(
                    &format!("databases[{i}].viewers[{j}]"),
                    format!("{} is already an admin of this database", viewer.shown()),
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
        let reconnect_after = duration(
            db.reconnect_after.as_deref(),
            super::RECONNECT_AFTER,
            &at("reconnect_after"),
            report,
        );
        let metrics_selector = metrics::selector(db.metrics, &db.matchers, i, report);
        let language = self::language(db.language.as_deref(), language, &at("language"), report);
        if let Some(name) = name {
            out.push(DatabaseConfig {
                name,
                dsn: Secret::new(dsn),
                matchers: db.matchers,
                admins,
                viewers,
                chat: db.chat.map(ChatId),
                email,
                reconnect_after,
                metrics_selector,
                language,
            });
        }
    }
    out
}

/// Telegram user ids or `@usernames`, each checked on its own.
fn members(raw: &[yaml_serde::Value], path: &str, report: &mut Report) -> Vec<MemberKey> {
    let mut out = Vec::new();
    for (j, member) in raw.iter().enumerate() {
        let parsed = match member {
            yaml_serde::Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| format!("{n} is not a Telegram user id"))
                .and_then(TelegramUserId::new)
                .map(MemberKey::Id),
            yaml_serde::Value::String(s) => Username::parse_handle(s).map(MemberKey::Username),
            _ => Err("expected a Telegram user id or an @username".to_owned()),
        };
        match parsed {
            Ok(member) if out.contains(&member) => report.at(
                &format!("{path}[{j}]"),
                format!("{} is listed twice", member.shown()),
            ),
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
        (Some(value), None) => Some(crate::tokens::digest(value)),
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
    report: &mut Report,
) -> Vec<ApiToken> {
    let mut names = HashSet::new();
    let mut values = HashSet::new();
    let mut out = Vec::new();
    for (i, token) in raw.into_iter().enumerate() {
        let at = |field: &str| format!("api_tokens[{i}].{field}");
        let name = report.required(token.name.clone(), &at("name"));
        if name.trim().is_empty() {
            report.at(&at("name"), "must not be empty");
        } else if !names.insert(name.clone()) {
            report.at(&at("name"), format!("token name {name:?} is used twice"));
        }
        let sha256 = token_digest(&token, &at, report);
        if let Some(sha256) = sha256
            && !values.insert(sha256)
        {
            report.at(&at("token"), "the same token is given twice");
        }
        let role = report.required(token.role.clone(), &at("role"));
        let role = Role::parse(&role).map_err(|e| report.at(&at("role"), e));
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
        if let (Some(sha256), Ok(role)) = (sha256, role) {
            out.push(ApiToken {
                name,
                sha256,
                role,
                databases,
            });
        }
    }
    out
}

mod metrics;
mod service;
mod telemetry;

#[cfg(test)]
mod tests;
