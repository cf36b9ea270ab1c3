//! The Telegram side of delivery: alert messages sent and edited through the shared client
//! ([`crate::telegram`]), each with its buttons recorded, and Telegram's answers sorted into what the
//! worker must do about them.

use teloxide::prelude::*;
use teloxide::types::{MessageId, ParseMode};

use super::render::Rendered;
use crate::callback::{Keyboard, Prepared};
use crate::clock::Clock;
use crate::store::Store;
use crate::telegram::client::{SendError, deadline};

#[derive(Clone)]
pub struct Telegram {
    bot: Bot,
    /// Where the buttons of each message sent or edited are recorded.
    store: Store,
    clock: Clock,
}

impl Telegram {
    pub fn new(bot: Bot, store: Store, clock: Clock) -> Self {
        Self { bot, store, clock }
    }

    /// Records what the buttons of a message mean, once Telegram took it. Failing that, the job is
    /// tried again rather than leaving a message whose buttons do nothing.
    async fn record(&self, prepared: &Prepared, chat: i64, message: i64) -> Result<(), SendError> {
        prepared
            .record(&self.store, chat, message, self.clock.now())
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
