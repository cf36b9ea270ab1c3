//! Keyboards and the tokens their buttons carry. A button's callback data is a short token; its
//! payload is recorded in the store against the message Telegram answered with, and a press is looked
//! up there, so it is honoured only on the message the bot put that button on.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::payload::Callback;
use crate::store::{Store, StoreError};

/// Rows of buttons: a label and what pressing it means.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyboard {
    pub rows: Vec<Vec<(String, Callback)>>,
}

/// The callback data of a button: 12 hex digits of its payload's SHA-256. The same payload gets the
/// same token, so an edit that keeps a button keeps it working (and "not modified" stays possible).
pub(super) fn token(payload: &str) -> String {
    crate::tokens::digest(payload)[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Keyboard {
    pub fn new(rows: Vec<Vec<(String, Callback)>>) -> Keyboard {
        Keyboard { rows }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.iter().all(Vec::is_empty)
    }

    /// The markup to send, and what its tokens mean.
    pub fn prepare(&self) -> Prepared {
        let mut meanings = Vec::new();
        // The only place callback buttons are made (clippy.toml forbids it elsewhere).
        #[allow(clippy::disallowed_methods)]
        let markup = InlineKeyboardMarkup::new(self.rows.iter().map(|row| {
            row.iter()
                .map(|(label, callback)| {
                    let payload = callback.encode();
                    let token = token(&payload);
                    meanings.push((token.clone(), payload));
                    InlineKeyboardButton::callback(label.clone(), token)
                })
                .collect::<Vec<_>>()
        }));
        meanings.sort();
        meanings.dedup();
        Prepared { markup, meanings }
    }
}

/// A keyboard ready to send. Its tokens mean nothing until recorded against the message they went out on.
#[must_use = "buttons work only once recorded against the message they were sent on"]
#[derive(Debug, Clone)]
pub struct Prepared {
    markup: InlineKeyboardMarkup,
    pub(super) meanings: Vec<(String, String)>,
}

impl Prepared {
    pub fn markup(&self) -> &InlineKeyboardMarkup {
        &self.markup
    }

    /// Records the buttons of `message` (replacing what it carried before): call once Telegram
    /// answered the send or edit.
    pub async fn record(
        &self,
        store: &Store,
        chat: i64,
        message: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        store.put_buttons(chat, message, &self.meanings, now).await
    }
}

/// What a press of `data` on `message` of `chat` means: `None` unless the bot put that button there.
pub async fn pressed(
    store: &Store,
    chat: i64,
    message: i64,
    data: &str,
) -> Result<Option<Callback>, StoreError> {
    // Tokens are 12 hex digits: anything else is refused without asking the store.
    if data.len() != 12 || !data.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let payload = store.button(chat, message, data).await?;
    Ok(payload.as_deref().and_then(Callback::parse))
}
