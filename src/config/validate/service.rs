//! The service's own settings: Telegram (token, API, webhook, lifetimes), the HTTP listener and its
//! webhook token, SMTP and escalation.

use std::net::SocketAddr;
use std::time::Duration;

use super::super::raw::{RawEscalation, RawHttp, RawSmtp, RawTelegram};
use super::super::report::Report;
use super::super::{
    EscalationConfig, HttpConfig, Secret, SmtpConfig, TelegramConfig, TelegramWebhook,
};
use super::{DEFAULT_API_URL, DEFAULT_LISTEN, MIN_TOKEN_LEN, duration, http_url};
use crate::domain::EmailAddress;

pub(super) fn telegram(raw_telegram: RawTelegram, report: &mut Report) -> TelegramConfig {
    let webhook = match (raw_telegram.webhook_url, raw_telegram.webhook_secret) {
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
    TelegramConfig {
        token: bot_token(raw_telegram.token, report),
        api_url: http_url(
            raw_telegram.api_url.as_deref().unwrap_or(DEFAULT_API_URL),
            "telegram.api_url",
            report,
        ),
        webhook,
        dialogue_ttl: duration(
            raw_telegram.dialogue_ttl.as_deref(),
            Duration::from_secs(3600),
            "telegram.dialogue_ttl",
            report,
        ),
        buttons_ttl: duration(
            raw_telegram.buttons_ttl.as_deref(),
            Duration::from_secs(30 * 24 * 3600),
            "telegram.buttons_ttl",
            report,
        ),
    }
}

pub(super) fn http(raw_http: RawHttp, report: &mut Report) -> HttpConfig {
    let listen = match raw_http.listen.as_deref() {
        None => DEFAULT_LISTEN,
        Some(listen) => listen.parse::<SocketAddr>().unwrap_or_else(|_| {
            report.at(
                "http.listen",
                format!("{listen:?} is not an address like 127.0.0.1:9750"),
            );
            DEFAULT_LISTEN
        }),
    };
    let webhook_token = report.required(raw_http.webhook_token, "http.webhook_token");
    if webhook_token.len() < MIN_TOKEN_LEN {
        report.at(
            "http.webhook_token",
            format!("must be at least {MIN_TOKEN_LEN} characters"),
        );
    }
    HttpConfig {
        listen,
        webhook_token: Secret::new(webhook_token),
    }
}

pub(super) fn smtp(smtp: RawSmtp, report: &mut Report) -> Option<SmtpConfig> {
    let url = report.required(smtp.url, "smtp.url");
    if let Err(e) = super::super::smtp::transport_url(&url) {
        report.at("smtp.url", e);
    }
    let from = report.required(smtp.from, "smtp.from");
    let from = EmailAddress::parse(&from).map_err(|e| report.at("smtp.from", e));
    Some(SmtpConfig {
        url: Secret::new(url),
        from: from.ok()?,
    })
}

pub(super) fn escalation(
    escalation: Option<&RawEscalation>,
    report: &mut Report,
) -> EscalationConfig {
    EscalationConfig {
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
    }
}

/// A bot token as BotFather gives it: the bot's id, ':', and 30 to 64 characters (35 today) of A-Z, a-z,
/// 0-9, '_' or '-'. A value of another shape would only fail later, as a 401 from Telegram.
fn bot_token(value: Option<String>, report: &mut Report) -> Secret {
    const PATH: &str = "telegram.token";
    let value = report.required(value, PATH);
    let well_formed = value.split_once(':').is_some_and(|(id, key)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && (30..=64).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if value.trim().is_empty() {
        report.at(PATH, "must not be empty");
    } else if !well_formed {
        // Never echo it: it is the bot's password.
        report.at(
            PATH,
            "is not a bot token as BotFather gives it: the bot's id (digits), ':' and 30 to 64 characters of A-Z, a-z, 0-9, '_' or '-'",
        );
    }
    Secret::new(value)
}
