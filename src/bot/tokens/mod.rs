//! `/tokens`: owners list API tokens (config ones locked, ones created here with Revoke) and create
//! them: `/tokens NAME` → role → one database or all → the token, shown once. Only its SHA-256 is kept.
//!
//! Creation is stateless: every step is a `TokenNew` button carrying the name and the role. The role
//! buttons carry the scope `Ask`, which asks for it; the scope buttons carry `All` or one database by
//! name, and create the token. Each press is authorised again (`Permission::ManageTokens`), and the
//! token is created and shown only in the owner's private chat. Creating, revoking and refusals are
//! audited — with the token's name, never the token.

mod changes;

use changes::{NewToken, ask_scope, create, hide, revoke};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::MessageId;

use super::commands::Command;
use super::context::{Ask, Press};
use super::reply::{answer, button, say, show};
use super::{BotError, BotState, HandlerResult};
use crate::access::{Permission, Person, may};
use crate::callback::{Callback, Keyboard, TokenScope, token_name_ok};
use crate::domain::Role;
use crate::i18n::Lang;
use crate::store::StoredToken;
use crate::telegram::html::escape;
use crate::tr;

/// Past this the list stops, below Telegram's 4096 characters.
const LIST_BUDGET: usize = 3500;
/// Revoke buttons shown at most (Telegram allows 100 buttons).
const REVOKE_BUTTONS: usize = 50;
/// Revoked tokens shown at most, newest first.
const REVOKED_SHOWN: usize = 10;

/// `every database`, or the list.
fn scope<S: std::fmt::Display>(databases: Option<&[S]>, lang: Lang) -> String {
    match databases {
        None => tr!(lang, "tokens-every-database"),
        Some(list) => {
            let names: Vec<String> = list.iter().map(ToString::to_string).collect();
            names.join(", ")
        }
    }
}

/// `/tokens` (list) or `/tokens NAME` (create).
async fn command(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    name: &str,
    lang: Lang,
) -> HandlerResult {
    if !may(
        &state.identity(person).await?,
        Permission::ManageTokens,
        None,
    ) {
        return say(bot, state, chat, tr!(lang, "tokens-owners-only")).await;
    }
    if name.is_empty() {
        return list(bot, state, (chat, None), lang).await;
    }
    if chat.0 != person.id.get() {
        return say(bot, state, chat, tr!(lang, "tokens-private-only")).await;
    }
    if let Some(problem) = name_problem(state, name, lang).await? {
        return say(bot, state, chat, problem).await;
    }
    let roles = [
        (Role::Viewer, tr!(lang, "tokens-role-viewer")),
        (Role::Admin, tr!(lang, "tokens-role-admin")),
        (Role::Owner, tr!(lang, "tokens-role-owner")),
    ];
    let row: Vec<(String, Callback)> = roles
        .iter()
        .map(|(role, label)| {
            let next = Callback::TokenNew {
                role: *role,
                scope: TokenScope::Ask,
                name: name.to_owned(),
            };
            button(label.as_str(), next)
        })
        .collect();
    let text = tr!(lang, "tokens-which-role", name = escape(name));
    show(bot, state, chat, None, text, &Keyboard::new(vec![row])).await?;
    Ok(())
}

/// Why `name` cannot be a new token's name, if it cannot.
async fn name_problem(
    state: &BotState,
    name: &str,
    lang: Lang,
) -> Result<Option<String>, BotError> {
    if !token_name_ok(name) {
        return Ok(Some(tr!(lang, "tokens-bad-name")));
    }
    if state
        .settings
        .config()
        .api_tokens
        .iter()
        .any(|t| t.name == name)
    {
        return Ok(Some(tr!(
            lang,
            "tokens-name-in-config",
            name = escape(name)
        )));
    }
    if state.store.tokens().await?.iter().any(|t| t.name == name) {
        return Ok(Some(tr!(lang, "tokens-name-exists", name = escape(name))));
    }
    Ok(None)
}

fn stored_line(token: &StoredToken, lang: Lang) -> String {
    let mut line = tr!(
        lang,
        "tokens-line",
        name = escape(&token.name),
        role = token.role.as_str(),
        scope = escape(&scope(token.databases.as_deref(), lang)),
        by = escape(&token.created_by),
        date = token.created_at.format("%Y-%m-%d").to_string(),
    );
    if let Some(at) = token.revoked_at {
        let revoked = tr!(
            lang,
            "tokens-revoked-on",
            date = at.format("%Y-%m-%d").to_string()
        );
        line = format!("<s>{line}</s> · {revoked}");
    }
    line
}

/// Every token: the config's (locked), then those created here, with a Revoke button each.
async fn list(
    bot: &Bot,
    state: &BotState,
    (chat, edit): (ChatId, Option<MessageId>),
    lang: Lang,
) -> HandlerResult {
    let mut lines = Vec::new();
    for token in &state.settings.config().api_tokens {
        lines.push(format!(
            "🔒 <b>{}</b> · {} · {}",
            escape(&token.name),
            token.role.as_str(),
            escape(&scope(token.databases.as_deref(), lang))
        ));
    }
    let stored = state.store.tokens().await?;
    let (revoked, active): (Vec<&StoredToken>, Vec<&StoredToken>) =
        stored.iter().partition(|t| t.revoked_at.is_some());
    lines.extend(
        active
            .iter()
            .map(|t| format!("🔑 {}", stored_line(t, lang))),
    );
    lines.extend(
        revoked
            .iter()
            .rev()
            .take(REVOKED_SHOWN)
            .map(|t| format!("✖️ {}", stored_line(t, lang))),
    );
    let mut text = format!("{}\n", tr!(lang, "tokens-title"));
    if lines.is_empty() {
        text.push('\n');
        text.push_str(&tr!(lang, "tokens-none"));
    }
    for (shown, line) in lines.iter().enumerate() {
        if text.len() + line.len() > LIST_BUDGET {
            let more = tr!(lang, "tokens-more", count = lines.len() - shown);
            text.push_str(&format!("\n{more}"));
            break;
        }
        text.push('\n');
        text.push_str(line);
    }
    text.push_str(&format!("\n\n{}", tr!(lang, "tokens-footer")));
    let rows = active
        .iter()
        .take(REVOKE_BUTTONS)
        .map(|t| {
            let label = tr!(lang, "tokens-revoke", name = &t.name);
            vec![button(label, Callback::TokenRevoke(t.id))]
        })
        .collect::<Vec<_>>();
    show(bot, state, chat, edit, text, &Keyboard::new(rows)).await?;
    Ok(())
}

/// `TokenNew`, `TokenRevoke`, `TokenHide`.
/// `/tokens` (list) or `/tokens NAME` (create).
pub fn commands() -> UpdateHandler<BotError> {
    dptree::filter_map(|command: Command| match command {
        Command::Tokens(name) => Some(TokenName(name.trim().to_owned())),
        _ => None,
    })
    .endpoint(|ask: Ask, name: TokenName| async move {
        let (bot, person, state) = (&ask.bot, &ask.person, &ask.state);
        let result = command(bot, ask.chat(), person, state, &name.0, ask.lang).await;
        ask.report(result).await
    })
}

/// What follows `/tokens`: the name of a token to create, or nothing.
#[derive(Clone)]
struct TokenName(String);

/// The token buttons: create (role, then scope), revoke, hide a shown token.
pub fn buttons() -> UpdateHandler<BotError> {
    dptree::filter(|press: Press| {
        matches!(
            press.callback,
            Callback::TokenNew { .. } | Callback::TokenRevoke(_) | Callback::TokenHide
        )
    })
    .endpoint(pressed)
}

async fn pressed(press: Press) -> HandlerResult {
    let result = handle(&press).await;
    press.report(result).await
}

async fn handle(press: &Press) -> HandlerResult {
    let (bot, query, state, person) = (&press.bot, &press.query, &press.state, &press.person);
    let (callback, place, lang) = (&press.callback, press.place, press.lang);
    if *callback == Callback::TokenHide {
        // Whoever sees the message may hide it, whatever their role is by now.
        return hide(bot, query, state, place, lang).await;
    }
    let who = state.identity(person).await?;
    if !may(&who, Permission::ManageTokens, None) {
        return press.refuse(None, &tr!(lang, "tokens-not-allowed")).await;
    }
    let Some((chat, message)) = place else {
        return press.answer(&tr!(lang, "tokens-stale")).await;
    };
    match callback {
        Callback::TokenRevoke(id) => {
            let place = (chat, message);
            revoke(bot, query, state, &who.actor(), *id, place, lang).await
        }
        Callback::TokenNew {
            role,
            scope: TokenScope::Ask,
            name,
        } => {
            answer(bot, query, "").await?;
            ask_scope(bot, state, (chat, message), *role, name, lang).await
        }
        Callback::TokenNew { role, scope, name } => {
            let databases = match scope {
                TokenScope::Ask | TokenScope::All => None,
                TokenScope::One(name) => match state.settings.config().position_of(name) {
                    Some(_) => Some(vec![name.to_string()]),
                    None => return answer(bot, query, &tr!(lang, "tokens-stale")).await,
                },
            };
            if chat.0 != person.id.get() {
                return answer(bot, query, &tr!(lang, "tokens-create-in-private")).await;
            }
            let by = who.actor();
            let new = NewToken {
                name,
                role: *role,
                databases,
                by: &by,
            };
            create(bot, query, state, (chat, message), new, lang).await
        }
        _ => Ok(()),
    }
}
