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
use crate::i18n::Lang;
use crate::telegram::html::escape;
use crate::tokens::{AUDIT_CREATED, AUDIT_REVOKED, AUDIT_UNSHOWN, digest, hex, new_token};
use crate::tr;

/// The second step: every database, or one.
pub(super) async fn ask_scope(
    bot: &Bot,
    state: &BotState,
    (chat, message): (ChatId, MessageId),
    role: Role,
    name: &str,
    lang: Lang,
) -> HandlerResult {
    let choice = |scope| Callback::TokenNew {
        role,
        scope,
        name: name.to_owned(),
    };
    let all = tr!(lang, "tokens-all-databases");
    let mut rows = vec![vec![button(all, choice(TokenScope::All))]];
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
    let text = tr!(
        lang,
        "tokens-which-scope",
        name = escape(name),
        role = role.as_str()
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
    (chat, message): (ChatId, MessageId),
    new: NewToken<'_>,
    lang: Lang,
) -> HandlerResult {
    let taken = name_problem(state, new.name, lang).await?;
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
        answer(bot, query, &tr!(lang, "tokens-name-taken")).await?;
        let text = tr!(lang, "tokens-name-taken-long", name = escape(new.name));
        show(bot, state, chat, Some(message), text, &Keyboard::default()).await?;
        return Ok(());
    };
    let detail = serde_json::json!({
        "name": new.name, "role": new.role.as_str(), "databases": new.databases,
    });
    state
        .store
        .audit(new.by, AUDIT_CREATED, None, &detail, now)
        .await?;
    answer(bot, query, &tr!(lang, "tokens-created-answer")).await?;
    let what = format!(
        "<b>{}</b> · {} · {}",
        escape(new.name),
        new.role.as_str(),
        escape(&scope(new.databases.as_deref(), lang))
    );
    let shown = tr!(lang, "tokens-shown", what = &what, token = &token);
    let hide = &Keyboard::new(vec![vec![button(
        tr!(lang, "tokens-hide"),
        Callback::TokenHide,
    )]]);
    if let Err(e) = show(bot, state, chat, None, shown, hide).await {
        // A token nobody ever saw must not open the API.
        state
            .store
            .revoke_token(id, &new.by.name, state.clock.now())
            .await?;
        let detail = serde_json::json!({ "name": new.name, "reason": AUDIT_UNSHOWN });
        state
            .store
            .audit(new.by, AUDIT_REVOKED, None, &detail, state.clock.now())
            .await?;
        return Err(e);
    }
    let done = tr!(lang, "tokens-created", what = &what);
    show(bot, state, chat, Some(message), done, &Keyboard::default()).await?;
    Ok(())
}

pub(super) async fn revoke(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    by: &Actor,
    id: i64,
    (chat, message): (ChatId, MessageId),
    lang: Lang,
) -> HandlerResult {
    let name = state
        .store
        .tokens()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .map(|t| t.name);
    let Some(name) = name else {
        return answer(bot, query, &tr!(lang, "tokens-no-such")).await;
    };
    if state
        .store
        .revoke_token(id, &by.name, state.clock.now())
        .await?
    {
        let detail = serde_json::json!({ "name": name });
        state
            .store
            .audit(by, AUDIT_REVOKED, None, &detail, state.clock.now())
            .await?;
        answer(bot, query, &tr!(lang, "tokens-revoked", name = &name)).await?;
    } else {
        answer(
            bot,
            query,
            &tr!(lang, "tokens-revoked-already", name = &name),
        )
        .await?;
    }
    list(bot, state, (chat, Some(message)), lang).await
}

/// Deletes the message showing a token; when Telegram refuses (bots may delete only for 48 hours),
/// replaces its text instead.
pub(super) async fn hide(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    place: Option<(ChatId, MessageId)>,
    lang: Lang,
) -> HandlerResult {
    let Some((chat, message)) = place else {
        return answer(bot, query, "").await;
    };
    let deleted = polite(state, chat, || bot.delete_message(chat, message)).await;
    let text = match deleted {
        Ok(_) => tr!(lang, "tokens-deleted"),
        Err(e) => {
            tracing::warn!(error = %e, "deleting a token message failed; hiding it");
            let hidden = tr!(lang, "tokens-hidden-text");
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
                Ok(_) => tr!(lang, "tokens-hidden"),
                Err(e) => {
                    tracing::warn!(error = %e, "hiding a token message failed");
                    tr!(lang, "tokens-delete-yourself")
                }
            }
        }
    };
    answer(bot, query, &text).await
}
