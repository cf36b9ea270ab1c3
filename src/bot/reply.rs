//! How the bot speaks: messages in HTML (with a reply keyboard or question, or with inline buttons
//! recorded against the message they are on), answers to button presses, and refusals. Every reply
//! goes through [`polite`] or [`answer`], so it is throttled with the delivery worker and retried
//! patiently (`telegram::client::patiently`). Handlers decide what to say; this module only says it.

use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, MessageId, ParseMode, ReplyMarkup};

use super::{BotError, BotState, HandlerResult};
use crate::access::Person;
use crate::callback::{Callback, Keyboard};
use crate::i18n::Lang;
use crate::telegram::client::patiently;
use crate::tr;

/// What a person is told, in their language, when their role does not permit what they tried.
pub fn not_allowed(lang: Lang) -> String {
    tr!(lang, "not-allowed")
}

/// One inline button: its label and what pressing it means.
pub fn button(label: impl Into<String>, callback: Callback) -> (String, Callback) {
    (label.into(), callback)
}

/// Sends through the throttle shared with the delivery worker. A 429 — the throttle cannot know of
/// messages sent before a restart or by another replica — waits as long as Telegram asks and tries
/// again, twice at most; timeouts, 5xx and network trouble are tried again after a short backoff.
/// Only this chat's handler waits: the dispatcher keeps serving other chats meanwhile.
pub async fn polite<T, F, Fut>(
    state: &BotState,
    chat: ChatId,
    call: F,
) -> Result<T, teloxide::RequestError>
where
    F: Fn() -> Fut,
    Fut: std::future::IntoFuture<Output = Result<T, teloxide::RequestError>>,
{
    patiently(Some((&state.throttle, chat.0)), call).await
}

/// Answers a press (a spinner otherwise), retried like [`polite`]; not a chat message, so not throttled.
pub async fn answer(bot: &Bot, query: &CallbackQuery, text: &str) -> HandlerResult {
    patiently(None, || {
        let request = bot.answer_callback_query(query.id.clone());
        if text.is_empty() {
            request
        } else {
            request.text(text)
        }
    })
    .await?;
    Ok(())
}

/// Sends an HTML message.
pub async fn say(bot: &Bot, state: &BotState, chat: ChatId, html: String) -> HandlerResult {
    say_with(bot, state, chat, html, None).await
}

/// Sends an HTML message, with a reply keyboard, a question or a keyboard removal when given.
pub async fn say_with(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    html: String,
    markup: Option<ReplyMarkup>,
) -> HandlerResult {
    polite(state, chat, || {
        let request = bot.send_message(chat, html.clone());
        match &markup {
            Some(markup) => request.reply_markup(markup.clone()),
            None => request,
        }
        .parse_mode(ParseMode::Html)
    })
    .await?;
    Ok(())
}

/// Sends an HTML message with rows of inline buttons; returns the message.
pub async fn say_buttons(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    html: String,
    rows: Vec<Vec<(String, Callback)>>,
) -> Result<MessageId, BotError> {
    show(bot, state, chat, None, html, &Keyboard::new(rows)).await
}

/// Shows an HTML message with buttons: replaces `edit` in place (paging), or sends a new one; returns
/// the message. Every keyboard the bot shows goes through here, to record its buttons against the
/// message they are on.
pub async fn show(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    edit: Option<MessageId>,
    html: String,
    keyboard: &Keyboard,
) -> Result<MessageId, BotError> {
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
            // The same text and buttons again: what they mean is recorded already.
            if !changed(edited)? {
                return Ok(message);
            }
            message
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
            .record(
                &state.store,
                chat.0,
                i64::from(message.0),
                state.clock.now(),
            )
            .await?;
    }
    Ok(message)
}

/// Whether an edit changed the message: Telegram refuses one that would leave it as it is, which is
/// no failure for whoever asked for it.
fn changed<T>(edited: Result<T, teloxide::RequestError>) -> Result<bool, teloxide::RequestError> {
    match edited {
        Ok(_) => Ok(true),
        Err(teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Refuses a press with `text` ("Not allowed: …"), and writes an audit row saying who tried what (at
/// most one a minute per person: see `BotState::refusal`): `button` is the press's payload, or its
/// raw data when the bot never put that button on the message. The press is answered every time, as
/// Telegram wants; the answer is a notice on the presser's screen, not a message in the chat.
pub async fn refuse(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    person: &Person,
    database: Option<&str>,
    button: &str,
    text: &str,
) -> HandlerResult {
    // Recorded before the person hears of it: whoever sees the answer finds the entry.
    let detail = serde_json::json!({ "button": button });
    state.refusal(person, database, detail).await?;
    answer(bot, query, text).await
}

/// A photo to show: PNG bytes and an HTML caption.
pub struct Photo {
    pub png: Vec<u8>,
    pub caption: String,
}

/// Shows a photo with buttons: replaces the photo of `edit` in place (editMessageMedia), or sends a
/// new one (as a reply to `reply_to` when given); records the buttons like [`show`].
pub async fn show_photo(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    edit: Option<MessageId>,
    reply_to: Option<MessageId>,
    photo: Photo,
    keyboard: &Keyboard,
) -> Result<MessageId, BotError> {
    use teloxide::types::{InputFile, InputMedia, InputMediaPhoto, ReplyParameters};
    let prepared = keyboard.prepare();
    let markup = prepared.markup();
    let file = || InputFile::memory(photo.png.clone()).file_name("chart.png");
    let message = match edit {
        Some(message) => {
            let edited = polite(state, chat, || {
                let media = InputMediaPhoto::new(file())
                    .caption(photo.caption.clone())
                    .parse_mode(ParseMode::Html);
                bot.edit_message_media(chat, message, InputMedia::Photo(media))
                    .reply_markup(markup.clone())
            })
            .await;
            // The same picture and buttons again (a span pressed twice within a scrape).
            if !changed(edited)? {
                return Ok(message);
            }
            message
        }
        None => {
            polite(state, chat, || {
                let request = bot
                    .send_photo(chat, file())
                    .caption(photo.caption.clone())
                    .parse_mode(ParseMode::Html)
                    .reply_markup(markup.clone());
                match reply_to {
                    Some(to) => request
                        .reply_parameters(ReplyParameters::new(to).allow_sending_without_reply()),
                    None => request,
                }
            })
            .await?
            .id
        }
    };
    prepared
        .record(
            &state.store,
            chat.0,
            i64::from(message.0),
            state.clock.now(),
        )
        .await?;
    Ok(message)
}
