//! The one context each handler takes: a [`Press`] of an inline button, or an [`Ask`], a message or
//! command from a person the service knows. [`super::schema`] builds them once per update (who the
//! person is, where, and for a press what its button means), so no handler parses an update itself;
//! and both tell the person when a handler fails ([`BotError::for_person`]).

use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::types::{MaybeInaccessibleMessage, MessageId};

use super::reply::{answer, not_allowed, polite, refuse, say};
use super::{BotError, BotState, HandlerResult};
use crate::access::{Identity, Person};
use crate::callback::{self, Callback};
use crate::i18n::Lang;
use crate::tr;

/// A press of a button the bot put on this message, by a person it knows.
#[derive(Clone)]
pub struct Press {
    pub bot: Bot,
    pub state: Arc<BotState>,
    pub person: Person,
    /// The language the presser reads.
    pub lang: Lang,
    pub query: CallbackQuery,
    /// The chat and message the button is on (`None` when Telegram no longer says).
    pub place: Option<(ChatId, MessageId)>,
    pub callback: Callback,
}

impl Press {
    /// The press, when its button is one the bot put on the message it is on and the person is
    /// known; otherwise it is refused (answered and audited) and nothing else handles it.
    pub async fn resolve(bot: Bot, query: CallbackQuery, state: Arc<BotState>) -> Option<Press> {
        let person = BotState::person(&query.from)?;
        let place = query.message.as_ref().map(|m| match m {
            MaybeInaccessibleMessage::Regular(m) => (m.chat.id, m.id),
            MaybeInaccessibleMessage::Inaccessible(m) => (m.chat.id, m.message_id),
        });
        match decode(&bot, &query, &state, &person, place).await {
            Ok(Some((callback, lang))) => Some(Press {
                bot,
                state,
                person,
                lang,
                query,
                place,
                callback,
            }),
            Ok(None) => None,
            Err(error) => {
                // Nobody else answers this press: the person hears of the failure here.
                let lang = Lang::from_telegram(query.from.language_code.as_deref());
                let _ = answer(&bot, &query, &error.for_person(lang)).await;
                None
            }
        }
    }

    /// Answers the press with a notice on the presser's screen (empty: only stops the spinner).
    pub async fn answer(&self, text: &str) -> HandlerResult {
        answer(&self.bot, &self.query, text).await
    }

    /// Refuses the press with `text`, audited (see `reply::refuse`).
    pub async fn refuse(&self, database: Option<&str>, text: &str) -> HandlerResult {
        let button = self.callback.encode();
        refuse(
            &self.bot,
            &self.query,
            &self.state,
            &self.person,
            database,
            &button,
            text,
        )
        .await
    }

    /// Tells the person how a failed handler ended: as an answer to the press, or in the chat when
    /// the press was answered already.
    pub async fn report(&self, result: HandlerResult) -> HandlerResult {
        let Err(error) = result else {
            return Ok(());
        };
        let text = error.for_person(self.lang);
        if answer(&self.bot, &self.query, &text).await.is_err()
            && let Some((chat, _)) = self.place
        {
            polite(&self.state, chat, || {
                self.bot.send_message(chat, text.clone())
            })
            .await?;
        }
        Ok(())
    }
}

/// What the pressed button means on this message; `None` after refusing a button the bot did not put
/// there (forged, copied from another message, or too old) or a press by a stranger.
async fn decode(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    person: &Person,
    place: Option<(ChatId, MessageId)>,
) -> Result<Option<(Callback, Lang)>, BotError> {
    let data = query.data.as_deref().unwrap_or_default();
    let callback = match place {
        Some((chat, message)) => {
            callback::pressed(&state.store, chat.0, i64::from(message.0), data).await?
        }
        None => None,
    };
    let Some(callback) = callback else {
        // Most often a button an edit replaced or `telegram.buttons_ttl` forgot: say where current
        // ones are.
        let lang = Lang::from_telegram(query.from.language_code.as_deref());
        let text = tr!(lang, "button-not-ours");
        refuse(bot, query, state, person, None, data, &text).await?;
        return Ok(None);
    };
    let Some((_, lang)) = state
        .known(person, query.from.language_code.as_deref())
        .await?
    else {
        let button = callback.encode();
        let lang = Lang::from_telegram(query.from.language_code.as_deref());
        refuse(bot, query, state, person, None, &button, &not_allowed(lang)).await?;
        return Ok(None);
    };
    Ok(Some((callback, lang)))
}

/// A message from a person the service knows, with every role they hold now.
#[derive(Clone)]
pub struct Ask {
    pub bot: Bot,
    pub state: Arc<BotState>,
    pub person: Person,
    pub who: Identity,
    /// The language the sender reads.
    pub lang: Lang,
    pub message: Message,
}

impl Ask {
    /// The message's sender, when the service knows them (`None` for strangers, of whom nothing is
    /// kept, and for messages without a person). `/start` first claims the username the person
    /// carries, when a membership names it: that is how a member added by @username gets in.
    pub async fn admit(bot: Bot, message: Message, state: Arc<BotState>) -> Option<Ask> {
        let person = message.from.as_ref().and_then(BotState::person)?;
        let language_code = message.from.as_ref().and_then(|u| u.language_code.clone());
        let starts = message.text().is_some_and(is_start);
        let known = async {
            if starts {
                state.members.claim(&person).await?;
            }
            state.known(&person, language_code.as_deref()).await
        };
        match known.await {
            Ok(Some((who, lang))) => Some(Ask {
                bot,
                state,
                person,
                who,
                lang,
                message,
            }),
            Ok(None) => None,
            Err(error) => {
                let failed = Err(BotError::from(error));
                let lang = Lang::from_telegram(language_code.as_deref());
                let _ = report_in(&bot, &state, message.chat.id, lang, failed).await;
                None
            }
        }
    }

    pub fn chat(&self) -> ChatId {
        self.message.chat.id
    }

    /// Tells the person in the chat how a failed handler ended.
    pub async fn report(&self, result: HandlerResult) -> HandlerResult {
        report_in(&self.bot, &self.state, self.chat(), self.lang, result).await
    }
}

/// Tells the person in `chat` how a failed handler ended, in `lang`.
pub async fn report_in(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    lang: Lang,
    result: HandlerResult,
) -> HandlerResult {
    let Err(error) = result else {
        return Ok(());
    };
    let text = crate::telegram::html::escape(&error.for_person(lang));
    say(bot, state, chat, text).await
}

/// `/start`, addressed to this bot or to none.
fn is_start(text: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or_default();
    first == "/start" || first.starts_with("/start@")
}
