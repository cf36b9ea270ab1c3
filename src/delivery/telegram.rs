//! The Telegram side of delivery: sends and edits through teloxide, with Telegram's answers sorted into
//! what the worker must do about them. Every call has its own deadline, because teloxide-core sleeps
//! 10 s after any HTTP 5xx before it even returns the error.

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{MessageId, ParseMode};
use teloxide::{ApiError, RequestError};

use super::render::Rendered;
use crate::callback::{Keyboard, Prepared};
use crate::config::TelegramConfig;
use crate::store::Store;

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

async fn deadline<T>(
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

#[derive(Clone)]
pub struct Telegram {
    bot: Bot,
    /// Where the buttons of each message sent or edited are recorded.
    store: Store,
}

impl Telegram {
    pub fn new(bot: Bot, store: Store) -> Self {
        Self { bot, store }
    }

    /// Records what the buttons of a message mean, once Telegram took it. Failing that, the job is
    /// tried again rather than leaving a message whose buttons do nothing.
    async fn record(&self, prepared: &Prepared, chat: i64, message: i64) -> Result<(), SendError> {
        prepared
            .record(&self.store, chat, message)
            .await
            .map_err(|e| SendError::Transient(format!("recording the buttons failed: {e}")))
    }

    /// Sends a message; returns its id.
    pub async fn send(&self, chat: i64, rendered: &Rendered) -> Result<i64, SendError> {
        let mut request = self
            .bot
            .send_message(ChatId(chat), rendered.html.clone())
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview());
        let keyboard = Keyboard::new(rendered.buttons.clone());
        let prepared = keyboard.prepare();
        if !keyboard.is_empty() {
            request = request.reply_markup(prepared.markup().clone());
        }
        let message = i64::from(deadline(request.into_future()).await?.id.0);
        if !keyboard.is_empty() {
            self.record(&prepared, chat, message).await?;
        }
        Ok(message)
    }

    /// Replaces a message's text and buttons ("not modified" counts as done).
    pub async fn edit(
        &self,
        chat: i64,
        message_id: i64,
        rendered: &Rendered,
    ) -> Result<(), SendError> {
        let id = MessageId(i32::try_from(message_id).map_err(|_| SendError::Gone)?);
        let prepared = Keyboard::new(rendered.buttons.clone()).prepare();
        let request = self
            .bot
            .edit_message_text(ChatId(chat), id, rendered.html.clone())
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview())
            // An empty keyboard removes the buttons of a resolved incident.
            .reply_markup(prepared.markup().clone());
        match deadline(request.into_future()).await {
            Ok(_) => self.record(&prepared, chat, message_id).await,
            Err(SendError::NotModified) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn no_preview() -> teloxide::types::LinkPreviewOptions {
    teloxide::types::LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}
