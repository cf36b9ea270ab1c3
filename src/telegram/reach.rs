//! Whether Telegram answers, and if not, why in words a newcomer can act on: the host name does not
//! resolve, the connection is refused, TLS failed, nobody answered in time, Telegram answered HTTP 5xx,
//! or it rejected the bot token. The bot's start-up writes the [`Reach`]; `/-/ready` and `app::run`
//! read it. Nothing here ever prints the token: teloxide strips it from the URLs in its errors, and
//! the causes carry no URL at all.

use std::error::Error as StdError;
use std::fmt;

use teloxide::{ApiError, RequestError};
use tokio::sync::watch;

/// Why a call to the Bot API failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The Bot API's host name does not resolve.
    Dns,
    /// Nothing listens at the Bot API's address (or a firewall says so).
    Refused,
    /// The TLS handshake failed: a certificate, a proxy speaking plain HTTP, …
    Tls(String),
    /// No answer within the client's deadline.
    Timeout,
    /// Telegram (or a proxy in front of it) answered with an HTTP 5xx.
    ServerError(String),
    /// Telegram rejected the bot token: fatal, retrying cannot help.
    Token,
    /// Something answered that is not the Bot API (a web page): `telegram.api_url` is probably wrong.
    NotBotApi(String),
    /// Telegram refused the request for another reason.
    Api(String),
    /// Any other network failure.
    Network(String),
}

impl Cause {
    /// Whether retrying is hopeless, so that the service must stop and say so.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Cause::Token)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Dns => f.write_str(
                "DNS failure: the host name of telegram.api_url does not resolve (no network, or a typo?)",
            ),
            Cause::Refused => f.write_str(
                "connection refused: nothing listens at telegram.api_url's address (or a firewall refuses)",
            ),
            Cause::Tls(detail) => write!(f, "TLS failure: {detail}"),
            Cause::Timeout => f.write_str(
                "timeout: no answer in time (a firewall that drops packets, or a proxy that hangs)",
            ),
            Cause::ServerError(what) => write!(f, "HTTP 5xx from Telegram: {what}"),
            Cause::Token => f.write_str(
                "Telegram rejected the bot token (401 Unauthorized): check TELEGRAM_TOKEN \
                 (telegram.token), the token BotFather gave",
            ),
            Cause::NotBotApi(what) => write!(
                f,
                "the answer is not the Bot API's ({what}): check telegram.api_url"
            ),
            Cause::Api(what) => write!(f, "Telegram refused the request: {what}"),
            Cause::Network(what) => write!(f, "network failure: {what}"),
        }
    }
}

/// HTTP reason phrases of the 5xx statuses a Bot API answer may carry in JSON.
const SERVER_ERRORS: [&str; 4] = [
    "Internal Server Error",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
];

/// Sorts teloxide's error into a [`Cause`].
pub fn cause(error: &RequestError) -> Cause {
    match error {
        // teloxide reads Telegram's 401 "Unauthorized" (a wrong token) and 404 "Not Found" (a token
        // of the wrong shape) as one error: the token is wrong either way.
        RequestError::Api(ApiError::InvalidToken) => Cause::Token,
        RequestError::Api(ApiError::Unknown(text)) if SERVER_ERRORS.contains(&text.as_str()) => {
            Cause::ServerError(text.clone())
        }
        RequestError::Api(api) => Cause::Api(api.to_string()),
        RequestError::RetryAfter(wait) => {
            Cause::Api(format!("flood control, retry after {:?}", wait.duration()))
        }
        RequestError::MigrateToChatId(_) => Cause::Api(error.to_string()),
        RequestError::InvalidJson { raw, .. } => web_page(raw),
        RequestError::Network(error) => network(error),
        RequestError::Io(error) => {
            io_cause(error).unwrap_or_else(|| Cause::Network(error.to_string()))
        }
    }
}

/// An answer that is not JSON: a proxy's or web server's error page, named by its title.
fn web_page(raw: &str) -> Cause {
    let title = raw
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| title.trim().chars().take(80).collect::<String>());
    match title {
        Some(title) if title.starts_with('5') => Cause::ServerError(title),
        Some(title) => Cause::NotBotApi(format!("a page titled {title:?}")),
        None => Cause::NotBotApi("not JSON".to_owned()),
    }
}

/// Walks a reqwest error's chain (reqwest → hyper → the connector's I/O error → rustls).
pub fn network(error: &reqwest::Error) -> Cause {
    if error.is_timeout() {
        return Cause::Timeout;
    }
    chain(error).unwrap_or_else(|| Cause::Network(sources_text(error)))
}

/// The first cause named along an error's chain of sources.
fn chain(error: &(dyn StdError + 'static)) -> Option<Cause> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && let Some(cause) = io_cause(io)
        {
            return Some(cause);
        }
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(Cause::Tls(tls.to_string()));
        }
        let text = current.to_string();
        // hyper-util names the failed step "dns error"; the resolver's own text follows.
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return Some(Cause::Dns);
        }
        next = current.source();
    }
    None
}

/// The cause an I/O error names, if it names one. rustls errors travel inside I/O errors (the
/// connector wraps them twice), where `source()` skips them, so they are looked for with `get_ref`.
fn io_cause(io: &std::io::Error) -> Option<Cause> {
    let inner = io.get_ref();
    if let Some(tls) = inner.and_then(|e| e.downcast_ref::<rustls::Error>()) {
        return Some(Cause::Tls(tls.to_string()));
    }
    if let Some(cause) = inner
        .and_then(|e| e.downcast_ref::<std::io::Error>())
        .and_then(io_cause)
    {
        return Some(cause);
    }
    match io.kind() {
        std::io::ErrorKind::ConnectionRefused => Some(Cause::Refused),
        std::io::ErrorKind::TimedOut => Some(Cause::Timeout),
        _ => None,
    }
}

/// The messages of an error's sources, without the error's own (which names the URL).
pub(crate) fn sources_text(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut next = error.source();
    while let Some(current) = next {
        parts.push(current.to_string());
        next = current.source();
    }
    if parts.is_empty() {
        "the request failed".to_owned()
    } else {
        parts.join(": ")
    }
}

/// Where the conversation with Telegram stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not asked yet.
    Starting,
    /// `getMe` answered (and the commands, and the webhook, were registered).
    Answering,
    /// The last attempt failed for this cause; the bot tries again.
    NotAnswering(Cause),
    /// Telegram rejected the bot token: the service stops.
    Rejected(Cause),
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Starting => f.write_str("connecting"),
            Status::Answering => f.write_str("ok"),
            Status::NotAnswering(cause) => write!(f, "not answering yet: {cause}"),
            Status::Rejected(cause) => write!(f, "given up: {cause}"),
        }
    }
}

/// The shared status: written by the bot, read by readiness and by `app::run`.
#[derive(Debug, Clone)]
pub struct Reach(watch::Sender<Status>);

impl Default for Reach {
    fn default() -> Self {
        Self(watch::Sender::new(Status::Starting))
    }
}

impl Reach {
    pub fn set(&self, status: Status) {
        self.0.send_replace(status);
    }

    pub fn status(&self) -> Status {
        self.0.borrow().clone()
    }

    /// Waits until Telegram rejected the service for good, and says why.
    pub async fn fatal(&self) -> Cause {
        let mut watching = self.0.subscribe();
        match watching
            .wait_for(|s| matches!(s, Status::Rejected(_)))
            .await
            .map(|s| s.clone())
        {
            Ok(Status::Rejected(cause)) => cause,
            // The sender lives in `self`, so the channel cannot close while this waits.
            _ => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests;
