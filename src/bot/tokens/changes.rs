//! The steps that change tokens: the scope question, creating (shown once), revoking, and hiding a
//! shown token.

use teloxide::prelude::*;
use teloxide::types::MessageId;

use super::super::reply::{answer, button, polite, show};
use super::super::{BotState, HandlerResult};
use super::{list, name_problem, scope};
use crate::access::Actor;
use crate::callback::{Callback, Keyboard, TokenScope};
use crate::domain::Role;
use crate::telegram::html::escape;
use crate::tokens::{digest, hex, new_token};

/// The second step: every database, or one.
pub(super) async fn ask_scope(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    message: MessageId,
    role: Role,
    name: &str,
) -> HandlerResult {
    let choice = |scope| Callback::TokenNew {
        role,
        scope,
        name: name.to_owned(),
    };
    let mut rows = vec![vec![button("🌐 All databases", choice(TokenScope::All))]];
    let databases: Vec<(String, Callback)> = state
        .settings
        .config()
        .databases
        .iter()
        .map(|db| {
            let scope = TokenScope::One(db.name.clone());
            button(format!("🗄 {}", db.name), choice(scope))
        })
        .collect();
    rows.extend(databases.chunks(2).map(<[_]>::to_vec));
    let text = format!(
        "New API token <b>{}</b> as <b>{}</b>: on which databases?",
        escape(name),
        role.as_str()
    );
    show(bot, state, chat, Some(message), text, &Keyboard::new(rows)).await?;
    Ok(())
}

pub(super) struct NewToken<'a> {
    pub name: &'a str,
    pub role: Role,
    /// `None`: every database.
    pub databases: Option<Vec<String>>,
    /// The owner creating it.
    pub by: &'a Actor,
}

/// The last step: stores the token's digest, audits, and shows the token once, in a message of its own
/// that the owner deletes with its button.
pub(super) async fn create(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    chat: ChatId,
    message: MessageId,
    new: NewToken<'_>,
) -> HandlerResult {
    let taken = name_problem(state, new.name).await?;
    let token = new_token();
    let now = state.clock.now();
    let id = match taken {
        Some(_) => None,
        None => {
            state
                .store
                .create_token(
                    new.name,
                    &hex(&digest(&token)),
                    new.role,
                    new.databases.as_deref(),
                    &new.by.name,
                    now,
                )
                .await?
        }
    };
    let Some(id) = id else {
        answer(bot, query, "That name is taken now.").await?;
        let text = format!(
            "A token named <b>{}</b> exists already; send <code>/tokens NAME</code> with another \
             name.",
            escape(new.name)
        );
        show(bot, state, chat, Some(message), text, &Keyboard::default()).await?;
        return Ok(());
    };
    let detail = serde_json::json!({
        "name": new.name, "role": new.role.as_str(), "databases": new.databases,
    });
    state
        .store
        .audit(new.by, "token created", None, &detail, now)
        .await?;
    answer(bot, query, "Created: copy the token now.").await?;
    let what = format!(
        "<b>{}</b> · {} · {}",
        escape(new.name),
        new.role.as_str(),
        escape(&scope(new.databases.as_deref()))
    );
    let shown = format!(
        "🔑 New API token {what}\n\n<code>{token}</code>\n\nSend it as \
         <code>Authorization: Bearer …</code>. This is the only time it is shown — the service keeps \
         only its SHA-256 — so copy it now, then delete this message."
    );
    let hide = &Keyboard::new(vec![vec![button(
        "🙈 I saved it — delete this message",
        Callback::TokenHide,
    )]]);
    if let Err(e) = show(bot, state, chat, None, shown, hide).await {
        // A token nobody ever saw must not open the API.
        state
            .store
            .revoke_token(id, &new.by.name, state.clock.now())
            .await?;
        let detail = serde_json::json!({ "name": new.name, "reason": "it could not be shown" });
        state
            .store
            .audit(new.by, "token revoked", None, &detail, state.clock.now())
            .await?;
        return Err(e);
    }
    let done = format!("✅ Created the API token {what}: it is shown once below.");
    show(bot, state, chat, Some(message), done, &Keyboard::default()).await?;
    Ok(())
}

pub(super) async fn revoke(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    by: &Actor,
    id: i64,
    chat: ChatId,
    message: MessageId,
) -> HandlerResult {
    let name = state
        .store
        .tokens()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .map(|t| t.name);
    let Some(name) = name else {
        return answer(bot, query, "There is no such token.").await;
    };
    if state
        .store
        .revoke_token(id, &by.name, state.clock.now())
        .await?
    {
        let detail = serde_json::json!({ "name": name });
        state
            .store
            .audit(by, "token revoked", None, &detail, state.clock.now())
            .await?;
        answer(
            bot,
            query,
            &format!("Revoked {name}: it no longer opens the API."),
        )
        .await?;
    } else {
        answer(bot, query, &format!("{name} was revoked already.")).await?;
    }
    list(bot, state, chat, Some(message)).await
}

/// Deletes the message showing a token; when Telegram refuses (bots may delete only for 48 hours),
/// replaces its text instead.
pub(super) async fn hide(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    place: Option<(ChatId, MessageId)>,
) -> HandlerResult {
    let Some((chat, message)) = place else {
        return answer(bot, query, "").await;
    };
    let deleted = polite(state, chat, || bot.delete_message(chat, message)).await;
    let text = match deleted {
        Ok(_) => "Deleted.",
        Err(e) => {
            tracing::warn!(error = %e, "deleting a token message failed; hiding it");
            let hidden = "🙈 The token that was here is hidden.".to_owned();
            let edited = show(
                bot,
                state,
                chat,
                Some(message),
                hidden,
                &Keyboard::default(),
            )
            .await;
            match edited {
                Ok(_) => "Hidden.",
                Err(e) => {
                    tracing::warn!(error = %e, "hiding a token message failed");
                    "Telegram refused: please delete the message yourself."
                }
            }
        }
    };
    answer(bot, query, text).await
}
