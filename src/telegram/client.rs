//! The Bot API client: building the `Bot`, a deadline on every call, Telegram's answers sorted into
//! what the caller must do about them ([`classify`]), and the patient send that bot replies use.
//! Every call has its own deadline, because teloxide-core sleeps 10 s after any HTTP 5xx before it
//! even returns the error.

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::{ApiError, RequestError};

use super::throttle::Throttle;
use crate::config::TelegramConfig;

/// How long one Bot API call may take before it counts as failed (and is retried).
pub(crate) const CALL_DEADLINE: Duration = Duration::from_secs(5);

/// What Telegram's answer means for the job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("rate limited for {0:?}")]
    RetryAfter(Duration),
    /// The user never pressed Start, blocked the bot, or the chat does not exist: retrying will not help.
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("the group became supergroup {0}")]
    Migrated(i64),
    #[error("message is not modified")]
    NotModified,
    #[error("message to edit not found")]
    Gone,
    /// Timeouts, 5xx, network trouble: retry with backoff.
    #[error("transient failure: {0}")]
    Transient(String),
    /// Telegram refused the request itself; retrying the same request will not help.
    #[error("rejected: {0}")]
    Rejected(String),
}

impl SendError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            SendError::RetryAfter(_) => "rate_limited",
            SendError::Unreachable(_) => "unreachable",
            SendError::Migrated(_) => "migrated",
            SendError::NotModified => "not_modified",
            SendError::Gone => "gone",
            SendError::Transient(_) => "transient",
            SendError::Rejected(_) => "rejected",
        }
    }
}

pub(crate) fn classify(error: RequestError) -> SendError {
    match error {
        RequestError::RetryAfter(seconds) => SendError::RetryAfter(seconds.duration()),
        RequestError::MigrateToChatId(chat) => SendError::Migrated(chat.0),
        RequestError::Api(ApiError::MessageNotModified) => SendError::NotModified,
        RequestError::Api(ApiError::MessageToEditNotFound) => SendError::Gone,
        RequestError::Api(ApiError::InvalidToken) => {
            SendError::Transient("Telegram refused the bot token".to_owned())
        }
        RequestError::Api(api) => {
            let text = api.to_string();
            let unreachable = text.starts_with("Forbidden")
                || text.contains("can't initiate conversation")
                || text.contains("chat not found")
                || text.contains("user is deactivated")
                || text.contains("bot was kicked");
            if unreachable {
                SendError::Unreachable(text)
            } else {
                SendError::Rejected(text)
            }
        }
        // Network errors, unparsable answers (a proxy's HTML error page) and I/O are worth retrying.
        other => SendError::Transient(other.to_string()),
    }
}

/// `call`, given [`CALL_DEADLINE`] to answer, with its failure classified.
pub(crate) async fn deadline<T>(
    call: impl std::future::Future<Output = Result<T, RequestError>>,
) -> Result<T, SendError> {
    match tokio::time::timeout(CALL_DEADLINE, call).await {
        Ok(result) => result.map_err(classify),
        Err(_) => Err(SendError::Transient(format!(
            "no answer within {}s",
            CALL_DEADLINE.as_secs()
        ))),
    }
}

/// A bot pointed at `telegram.api_url`.
pub fn bot(config: &TelegramConfig) -> anyhow::Result<Bot> {
    let url = reqwest::Url::parse(&config.api_url)
        .map_err(|e| anyhow::anyhow!("telegram.api_url is not a URL: {e}"))?;
    Ok(Bot::new(config.token.expose()).set_api_url(url))
}

/// Pauses before a reply that failed for a passing reason is tried again: a reply is late rather than
/// lost, and after these the person is told nothing worse than what the log says.
const REPLY_BACKOFF: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// Makes `call` until Telegram takes it, through `throttle`'s budget of `chat` when given. A 429 —
/// the throttle cannot know of messages sent before a restart or by another replica — waits as long
/// as Telegram asks and tries again, twice at most; timeouts, 5xx and network trouble are tried again
/// after `REPLY_BACKOFF`. Only the caller waits: nothing else is held meanwhile.
pub(crate) async fn patiently<T, F, Fut>(
    throttle: Option<(&Throttle, i64)>,
    call: F,
) -> Result<T, RequestError>
where
    F: Fn() -> Fut,
    Fut: std::future::IntoFuture<Output = Result<T, RequestError>>,
{
    let (mut rate_limited, mut backoff) = (0, REPLY_BACKOFF.iter());
    loop {
        if let Some((throttle, chat)) = throttle {
            throttle.take(chat).await;
        }
        // teloxide sleeps 10 s after a 5xx before returning it: the deadline turns that into a retry.
        let answer = match tokio::time::timeout(CALL_DEADLINE, call().into_future()).await {
            Ok(answer) => answer,
            Err(_) => Err(RequestError::Io(Arc::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} s", CALL_DEADLINE.as_secs()),
            )))),
        };
        if let Some((throttle, chat)) = throttle {
            throttle.done(chat);
        }
        match answer {
            Err(RequestError::RetryAfter(wait)) if rate_limited < 2 => {
                rate_limited += 1;
                match throttle {
                    Some((throttle, chat)) => throttle.penalize(chat, wait.duration()),
                    None => tokio::time::sleep(wait.duration()).await,
                }
            }
            Err(error) => match (classify(error.clone()), backoff.next()) {
                (SendError::Transient(reason), Some(pause)) => {
                    tracing::warn!(%reason, retry_in = ?pause, "a reply failed; trying again");
                    tokio::time::sleep(*pause).await;
                }
                _ => return Err(error),
            },
            ok => return ok,
        }
    }
}
