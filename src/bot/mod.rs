//! The Telegram bot: a teloxide dispatcher whose whole handler tree is [`schema`]. Handlers ask
//! `access` about the person (never the chat), call `store` and `silences`, and wake the delivery worker
//! when they queue edits. Long polling by default; webhook mode serves updates from the HTTP server.

mod admins;
mod callbacks;
pub mod commands;
mod lists;
mod messages;
mod runs;
mod table;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::{Dispatcher, HandlerExt, UpdateFilterExt};
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::types::User;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::access::{Access, Identity, Permission, Person, may};
use crate::config::{Config, TelegramWebhook};
use crate::delivery::throttle::Throttle;
use crate::domain::TelegramUserId;
use crate::silences::Alertmanager;
use crate::store::{Store, StoreError};
use commands::Command;

/// Errors of bot handlers: logged by the dispatcher; the person sees a short apology.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("Telegram: {0}")]
    Telegram(#[from] teloxide::RequestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type HandlerResult = Result<(), BotError>;

/// What every handler may reach.
pub struct BotState {
    pub store: Store,
    pub access: Arc<Access>,
    pub config: Arc<Config>,
    pub alertmanager: Option<Alertmanager>,
    /// Wakes the delivery worker after edits were queued.
    pub wake: Arc<Notify>,
    /// Shared with the delivery worker: replies count against the same per-chat limits.
    pub throttle: Arc<Throttle>,
    pub operations: Arc<crate::operations::Operations>,
    pub members: Arc<crate::members::Members>,
}

impl BotState {
    /// The person behind an update, remembered so `@username` admins resolve to them.
    /// `None` for an id Telegram never gives a person (a broken update).
    async fn person(&self, user: &User) -> Result<Option<Person>, StoreError> {
        let username = user.username.as_ref().map(|u| u.to_ascii_lowercase());
        let Some(id) = i64::try_from(user.id.0)
            .ok()
            .and_then(|id| TelegramUserId::new(id).ok())
        else {
            return Ok(None);
        };
        self.store
            .remember_user(id.get(), username.as_deref(), chrono::Utc::now())
            .await?;
        Ok(Some(Person { id, username }))
    }

    /// Every role the person holds now (read from the store on each update, so a removal takes
    /// effect at the very next message or press).
    pub async fn identity(&self, person: &Person) -> Result<Identity, StoreError> {
        self.access.person(person).await
    }

    /// Where a database named by a button stands in the config now, if it is still there.
    pub(crate) fn database_index(&self, name: &crate::domain::DatabaseName) -> Option<usize> {
        self.config.databases.iter().position(|d| &d.name == name)
    }

    /// `access::may` for a person, resolved now.
    pub async fn may(
        &self,
        person: &Person,
        permission: Permission,
        database: Option<&str>,
    ) -> Result<bool, StoreError> {
        Ok(may(&self.identity(person).await?, permission, database))
    }
}

/// Sends through the throttle shared with the delivery worker. A 429 — the throttle cannot know of
/// messages sent before a restart or by another replica — waits as long as Telegram asks and tries
/// again, twice at most, so a reply is late rather than lost.
pub(crate) async fn polite<T, F, Fut>(
    state: &BotState,
    chat: ChatId,
    call: F,
) -> Result<T, teloxide::RequestError>
where
    F: Fn() -> Fut,
    Fut: std::future::IntoFuture<Output = Result<T, teloxide::RequestError>>,
{
    for _ in 0..2 {
        state.throttle.take(chat.0).await;
        let answer = call().into_future().await;
        state.throttle.done(chat.0);
        match answer {
            Err(teloxide::RequestError::RetryAfter(wait)) => {
                state.throttle.penalize(chat.0, wait.duration());
            }
            other => return other,
        }
    }
    state.throttle.take(chat.0).await;
    let answer = call().into_future().await;
    state.throttle.done(chat.0);
    answer
}

/// Shows an HTML message with buttons: replaces `edit` in place (paging), or sends a new one.
pub(crate) async fn show(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    edit: Option<teloxide::types::MessageId>,
    html: String,
    keyboard: &crate::callback::Keyboard,
) -> HandlerResult {
    shown(bot, state, chat, edit, html, keyboard).await?;
    Ok(())
}

/// [`show`], returning the message. Every keyboard the bot shows goes through here, to record its
/// buttons against the message they are on.
pub(crate) async fn shown(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    edit: Option<teloxide::types::MessageId>,
    html: String,
    keyboard: &crate::callback::Keyboard,
) -> Result<teloxide::types::MessageId, BotError> {
    use teloxide::types::ParseMode;
    let prepared = keyboard.prepare();
    let markup = prepared.markup();
    let message = match edit {
        Some(message) => {
            let edited = polite(state, chat, || {
                bot.edit_message_text(chat, message, html.clone())
                    .parse_mode(ParseMode::Html)
                    .reply_markup(markup.clone())
            })
            .await;
            match edited {
                // The same text and buttons again: what they mean is recorded already.
                Err(teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)) => {
                    return Ok(message);
                }
                other => other?.id,
            }
        }
        None => {
            polite(state, chat, || {
                let request = bot
                    .send_message(chat, html.clone())
                    .parse_mode(ParseMode::Html);
                if keyboard.is_empty() {
                    request
                } else {
                    request.reply_markup(markup.clone())
                }
            })
            .await?
            .id
        }
    };
    if edit.is_some() || !keyboard.is_empty() {
        prepared
            .record(&state.store, chat.0, i64::from(message.0))
            .await?;
    }
    Ok(message)
}

/// The whole handler tree.
pub fn schema() -> teloxide::dispatching::UpdateHandler<BotError> {
    dptree::entry()
        .branch(
            Update::filter_message()
                .filter_command::<Command>()
                .endpoint(messages::command),
        )
        .branch(Update::filter_message().endpoint(messages::other))
        .branch(Update::filter_callback_query().endpoint(callbacks::pressed))
}

/// Waits until Telegram answers `getMe`, then registers the commands (and the webhook, in webhook mode).
/// teloxide's dispatcher panics when its first `getMe` fails, so an unreachable Telegram at start is
/// waited out here instead. `false` when stopped first.
async fn ready(bot: &Bot, stop: &CancellationToken, webhook: Option<&TelegramWebhook>) -> bool {
    let mut delay = Duration::from_secs(1);
    loop {
        let attempt = async {
            bot.get_me().await?;
            bot.set_my_commands(commands::registered()).await?;
            if let Some(webhook) = webhook {
                let url = reqwest::Url::parse(&webhook.url).map_err(|e| {
                    teloxide::RequestError::Io(std::sync::Arc::new(std::io::Error::other(e)))
                })?;
                bot.set_webhook(url)
                    .secret_token(webhook.secret.expose().to_owned())
                    .await?;
            }
            Ok::<_, teloxide::RequestError>(())
        };
        tokio::select! {
            () = stop.cancelled() => return false,
            result = attempt => match result {
                Ok(()) => return true,
                Err(e) => tracing::warn!(error = %e, retry_in = ?delay, "Telegram is not answering yet"),
            },
        }
        tokio::select! {
            () = stop.cancelled() => return false,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

fn dispatcher(
    bot: Bot,
    state: Arc<BotState>,
    stop: CancellationToken,
) -> Dispatcher<Bot, BotError, teloxide::dispatching::DefaultKey> {
    let dispatcher = Dispatcher::builder(bot, schema())
        .dependencies(dptree::deps![state])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text("bot handler failed"))
        .build();
    let shutdown = dispatcher.shutdown_token();
    tokio::spawn(async move {
        stop.cancelled().await;
        // The token refuses while the dispatcher is still starting; try until it takes.
        loop {
            match shutdown.shutdown() {
                Ok(done) => {
                    done.await;
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    dispatcher
}

/// Runs the bot with long polling until `stop`.
pub async fn run_polling(bot: Bot, state: Arc<BotState>, stop: CancellationToken) {
    if ready(&bot, &stop, None).await {
        dispatcher(bot, state, stop).dispatch().await;
    }
}

/// Runs the bot on updates Telegram posts to the webhook route of the HTTP server, until `stop`.
pub async fn run_webhook<L>(
    bot: Bot,
    state: Arc<BotState>,
    stop: CancellationToken,
    webhook: TelegramWebhook,
    listener: L,
) where
    L: teloxide::update_listeners::UpdateListener + Send,
    L::Err: std::fmt::Debug,
{
    if ready(&bot, &stop, Some(&webhook)).await {
        dispatcher(bot, state, stop)
            .dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("webhook"))
            .await;
    }
}
