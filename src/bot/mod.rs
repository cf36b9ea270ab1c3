//! The Telegram bot: a teloxide dispatcher whose whole handler tree is [`schema`]. Handlers ask
//! `access` about the person (never the chat), call `store` and `silences`, wake the delivery worker
//! when they queue edits, and speak through `reply` (on `telegram`'s client and throttle). Long
//! polling by default; webhook mode serves updates from the HTTP server.

mod admins;
mod alerts;
mod charts;
pub mod commands;
mod context;
mod lists;
mod messages;
mod newcomers;
mod reply;
mod runs;
mod table;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::{Dispatcher, HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::types::User;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::access::{Identity, Permission, Person, may};
use crate::config::TelegramWebhook;
use crate::domain::TelegramUserId;
use crate::i18n::Lang;
use crate::settings::InForce;
use crate::store::{Store, StoreError};
use crate::store::{TELEGRAM_LEASE_NAME, TELEGRAM_RENEW};
use crate::telegram::reach::{self, Reach, Status};
use crate::telegram::throttle::Throttle;
use crate::tr;
use commands::Command;
use context::{Ask, Press};

/// Why a handler did not finish. A `User` error is something the person may read and act on; the
/// others are the service's own failures, which the person hears of only as a reference into the
/// log (their detail may name internals).
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("{0}")]
    User(String),
    #[error("Telegram: {0}")]
    Telegram(#[from] teloxide::RequestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A member change refused for a reason the person may read (unknown database, locked, not a member…)
/// is theirs to read; the store failing is not.
impl From<crate::members::MemberError> for BotError {
    fn from(error: crate::members::MemberError) -> Self {
        match error {
            crate::members::MemberError::Store(e) => BotError::Store(e),
            other => BotError::User(other.to_string()),
        }
    }
}

impl BotError {
    /// What the person is told (plain text; a [`BotError::User`] text is in their language already). An internal failure is logged here, under a random
    /// reference the text gives, so that the team can find it.
    pub fn for_person(&self, lang: Lang) -> String {
        match self {
            BotError::User(text) => text.clone(),
            failure => internal(failure, lang),
        }
    }
}

/// What the person is told of one of the service's own failures: it is logged under a random
/// reference, which the text gives so that the team can find it.
fn internal(failure: &dyn std::fmt::Display, lang: Lang) -> String {
    let reference = crate::tokens::random_code(6);
    tracing::error!(%reference, error = %failure, "bot handler failed");
    tr!(lang, "bot-failed", reference = reference)
}

pub type HandlerResult = Result<(), BotError>;

/// What every handler may reach.
pub struct BotState {
    pub store: Store,
    /// The config and what is built from it: read once per update (see the accessors).
    pub settings: InForce,
    /// Wakes the delivery worker after edits were queued.
    pub wake: Arc<Notify>,
    /// Shared with the delivery worker: replies count against the same per-chat limits.
    pub throttle: Arc<Throttle>,
    pub operations: Arc<crate::operations::Operations>,
    pub members: Arc<crate::members::Members>,
    pub clock: crate::clock::Clock,
}

/// How long a refused person is neither answered in the chat nor audited again.
pub const REFUSAL_QUIET: chrono::Duration = chrono::Duration::minutes(1);

impl BotState {
    /// The person behind an update (nothing written: strangers cause no writes).
    /// `None` for an id Telegram never gives a person (a broken update).
    fn person(user: &User) -> Option<Person> {
        let username = user.username.as_ref().map(|u| u.to_ascii_lowercase());
        let id = i64::try_from(user.id.0)
            .ok()
            .and_then(|id| TelegramUserId::new(id).ok())?;
        Some(Person { id, username })
    }

    /// The person's roles when the service knows them, who is then remembered under the username
    /// they carry (it names them in member lists) with the language their Telegram app reports, and
    /// the language they read; `None` for a stranger, of whom nothing is kept.
    pub async fn known(
        &self,
        person: &Person,
        language_code: Option<&str>,
    ) -> Result<Option<(Identity, Lang)>, StoreError> {
        let who = self.identity(person).await?;
        if !who.is_known() {
            return Ok(None);
        }
        let username = person.username.as_deref();
        let lang = self
            .store
            .remember_user(person.id.get(), username, language_code, self.clock.now())
            .await?;
        Ok(Some((who, lang)))
    }

    /// Audits a refusal of `person`, at most once per person per `REFUSAL_QUIET`: `true` when this
    /// one was audited and may be answered in the chat, `false` when the person was refused a moment
    /// ago (then nothing is written, and nothing that spends the chat's Telegram budget is sent).
    pub async fn refusal(
        &self,
        person: &Person,
        database: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let actor = person.actor();
        self.store
            .refusal_due(
                person.id.get(),
                now - REFUSAL_QUIET,
                now,
                (&actor, database, &detail),
            )
            .await
    }

    /// Every role the person holds now (read from the store on each update, so a removal takes
    /// effect at the very next message or press).
    pub async fn identity(&self, person: &Person) -> Result<Identity, StoreError> {
        self.settings.access().person(person).await
    }

    /// Whether `chat` may show what belongs to `database` (`None`: to no database). A private chat
    /// shows all the person may see; a group only what belongs to the databases whose chat it is,
    /// whoever asks there, since everyone in the group reads the answer.
    pub fn shows(&self, chat: ChatId, database: Option<&str>) -> bool {
        if chat.is_user() {
            return true;
        }
        let Some(database) = database else {
            return false;
        };
        self.settings.config().databases.iter().any(|db| {
            db.name.as_str() == database && db.chat.is_some_and(|group| group.0 == chat.0)
        })
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

/// The whole handler tree: the one picture of what the bot does. Each feature module owns its
/// commands and its buttons and is wired here as a branch; a handler takes one context (`Ask` for
/// messages, `Press` for buttons) built once per update.
pub fn schema() -> UpdateHandler<BotError> {
    let commands = dptree::entry()
        .filter_command::<Command>()
        .branch(messages::commands())
        .branch(lists::commands())
        .branch(charts::commands())
        .branch(runs::commands())
        .branch(admins::commands())
        .branch(tokens::commands());
    let messages = Update::filter_message()
        .branch(
            dptree::entry()
                .filter_command::<Command>()
                .branch(newcomers::invite_links()),
        )
        .branch(
            dptree::filter_map_async(Ask::admit)
                .branch(commands)
                .endpoint(messages::other),
        )
        .endpoint(messages::stranger);
    let buttons = Update::filter_callback_query()
        .filter_map_async(Press::resolve)
        .branch(messages::buttons())
        .branch(alerts::buttons())
        .branch(lists::buttons())
        .branch(charts::buttons())
        .branch(runs::buttons())
        .branch(admins::buttons())
        .branch(newcomers::buttons())
        .branch(tokens::buttons());
    dptree::entry().branch(messages).branch(buttons)
}

/// Waits until Telegram answers `getMe`, then registers the commands in each language (and the
/// webhook, in webhook mode).
/// teloxide's dispatcher panics when its first `getMe` fails, so an unreachable Telegram at start is
/// waited out here instead, with the cause of each failure in `reach` and the log. A rejected token
/// cannot get better by waiting: `reach` says so (the service stops) and this returns `false`, as it
/// does when stopped first.
async fn ready(
    bot: &Bot,
    stop: &CancellationToken,
    webhook: Option<&TelegramWebhook>,
    reach: &Reach,
) -> bool {
    let mut delay = Duration::from_secs(1);
    loop {
        let attempt = async {
            bot.get_me().await?;
            // English for everyone, and each other language for Telegram apps set to it.
            for lang in Lang::ALL {
                let request = bot.set_my_commands(commands::registered(lang));
                match lang {
                    Lang::En => request.await?,
                    other => request.language_code(other.code()).await?,
                };
            }
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
                Ok(()) => {
                    reach.set(Status::Answering);
                    return true;
                }
                Err(e) => {
                    let cause = reach::cause(&e);
                    if cause.is_fatal() {
                        // Logged once, by whoever stops the service on it.
                        reach.set(Status::Rejected(cause));
                        return false;
                    }
                    tracing::warn!(%cause, retry_in = ?delay, "Telegram is not answering yet");
                    reach.set(Status::NotAnswering(cause));
                }
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
) -> Dispatcher<Bot, BotError, teloxide::dispatching::DefaultKey> {
    // Every update once, whichever replica receives it: by long polling after a takeover (updates
    // the dead poller fetched but never confirmed come again) or by webhook on any replica.
    let once = dptree::entry()
        .filter_async(|update: Update, state: Arc<BotState>| async move {
            let id = i64::from(update.id.0);
            match state.store.first_handling(id, state.clock.now()).await {
                Ok(first) => first,
                // Handled rather than lost: a duplicate answer is the lesser harm.
                Err(e) => {
                    tracing::warn!(error = %e, update = id, "recording a handled update failed");
                    true
                }
            }
        })
        .chain(schema());
    Dispatcher::builder(bot, once)
        .dependencies(dptree::deps![state])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text("bot handler failed"))
        .build()
}

/// Drives `dispatching` until it ends, asking its dispatcher (`shutdown`) to stop when `stop` fires.
async fn until_stopped(
    shutdown: teloxide::dispatching::ShutdownToken,
    stop: CancellationToken,
    dispatching: impl Future<Output = ()>,
) {
    tokio::pin!(dispatching);
    tokio::select! {
        () = &mut dispatching => return,
        () = stop.cancelled() => {}
    }
    // The token refuses while the dispatcher is still starting; try until it takes.
    loop {
        if shutdown.shutdown().is_ok() {
            break;
        }
        tokio::select! {
            () = &mut dispatching => return,
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    dispatching.await;
}

/// Runs the bot with long polling until `stop`.
///
/// Replicas sharing a state store take turns: only the holder of the Telegram lease long-polls
/// (Telegram allows one `getUpdates` at a time per bot) and sends, renewing it every few seconds; when
/// it dies, another takes the lease once it expires and polls from the first update not yet
/// confirmed, which the dead one may have handled already: [`dispatcher`] skips those.
pub async fn run_polling(
    bot: Bot,
    state: Arc<BotState>,
    stop: CancellationToken,
    reach: Reach,
    owner: String,
) {
    if !ready(&bot, &stop, None, &reach).await {
        return;
    }
    loop {
        if state.store.hold_telegram(&owner, state.clock.now()).await {
            let lost = stop.child_token();
            let heartbeat = async {
                loop {
                    tokio::time::sleep(TELEGRAM_RENEW).await;
                    if !state.store.hold_telegram(&owner, state.clock.now()).await {
                        tracing::warn!("lost the Telegram poller lease: another replica polls now");
                        return;
                    }
                }
            };
            let mut dispatcher = dispatcher(bot.clone(), Arc::clone(&state));
            let shutdown = dispatcher.shutdown_token();
            let polling = until_stopped(shutdown, lost.clone(), dispatcher.dispatch());
            tokio::pin!(polling);
            tokio::select! {
                () = &mut polling => {}
                () = heartbeat => {
                    lost.cancel();
                    polling.await;
                }
            }
        }
        if stop.is_cancelled() {
            // Another replica polls at once instead of after the lease expires.
            if let Err(e) = state.store.release_lease(TELEGRAM_LEASE_NAME, &owner).await {
                tracing::warn!(error = %e, "releasing the Telegram poller lease failed");
            }
            return;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(TELEGRAM_RENEW) => {}
        }
    }
}

/// Runs the bot on updates Telegram posts to the webhook route of the HTTP server, until `stop`.
pub async fn run_webhook<L>(
    bot: Bot,
    state: Arc<BotState>,
    stop: CancellationToken,
    webhook: TelegramWebhook,
    listener: L,
    reach: Reach,
) where
    L: teloxide::update_listeners::UpdateListener + Send,
    L::Err: std::fmt::Debug,
{
    if ready(&bot, &stop, Some(&webhook), &reach).await {
        let mut dispatcher = dispatcher(bot, state);
        let shutdown = dispatcher.shutdown_token();
        let dispatching = dispatcher
            .dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("webhook"));
        until_stopped(shutdown, stop, dispatching).await;
    }
}
