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
use crate::store::StoredToken;
use crate::telegram::html::escape;

/// Past this the list stops, below Telegram's 4096 characters.
const LIST_BUDGET: usize = 3500;
/// Revoke buttons shown at most (Telegram allows 100 buttons).
const REVOKE_BUTTONS: usize = 50;
/// Revoked tokens shown at most, newest first.
const REVOKED_SHOWN: usize = 10;

const OWNERS_ONLY: &str = "API tokens are managed by owners.";

/// `every database`, or the list.
fn scope<S: std::fmt::Display>(databases: Option<&[S]>) -> String {
    match databases {
        None => "every database".to_owned(),
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
) -> HandlerResult {
    if !may(
        &state.identity(person).await?,
        Permission::ManageTokens,
        None,
    ) {
        return say(bot, state, chat, OWNERS_ONLY.to_owned()).await;
    }
    if name.is_empty() {
        return list(bot, state, chat, None).await;
    }
    if chat.0 != person.id.get() {
        let text = "A new token is shown only in a private chat: send me <code>/tokens NAME</code> \
                    there.";
        return say(bot, state, chat, text.to_owned()).await;
    }
    if let Some(problem) = name_problem(state, name).await? {
        return say(bot, state, chat, problem).await;
    }
    let roles = [
        (Role::Viewer, "👁 viewer"),
        (Role::Admin, "🛠 admin"),
        (Role::Owner, "👑 owner"),
    ];
    let row: Vec<(String, Callback)> = roles
        .iter()
        .map(|(role, label)| {
            let next = Callback::TokenNew {
                role: *role,
                scope: TokenScope::Ask,
                name: name.to_owned(),
            };
            button(*label, next)
        })
        .collect();
    let text = format!(
        "New API token <b>{}</b>: which role?\n\n\
         <b>viewer</b> reads incidents and views; <b>admin</b> also acts on alerts and runs actions; \
         <b>owner</b> may do everything, members and the audit log included.",
        escape(name)
    );
    show(bot, state, chat, None, text, &Keyboard::new(vec![row])).await?;
    Ok(())
}

/// Why `name` cannot be a new token's name, if it cannot.
async fn name_problem(state: &BotState, name: &str) -> Result<Option<String>, BotError> {
    if !token_name_ok(name) {
        return Ok(Some(
            "Token names are 1 to 24 characters: lowercase letters, digits, <code>-</code> and \
             <code>_</code>. For example: <code>/tokens grafana</code>"
                .to_owned(),
        ));
    }
    if state
        .settings
        .config()
        .api_tokens
        .iter()
        .any(|t| t.name == name)
    {
        return Ok(Some(format!(
            "<b>{}</b> is a token of the configuration file; choose another name.",
            escape(name)
        )));
    }
    if state.store.tokens().await?.iter().any(|t| t.name == name) {
        return Ok(Some(format!(
            "A token named <b>{}</b> exists already (revoked tokens keep their names); choose \
             another name.",
            escape(name)
        )));
    }
    Ok(None)
}

fn stored_line(token: &StoredToken) -> String {
    let mut line = format!(
        "<b>{}</b> · {} · {} · by {} on {}",
        escape(&token.name),
        token.role.as_str(),
        escape(&scope(token.databases.as_deref())),
        escape(&token.created_by),
        token.created_at.format("%Y-%m-%d"),
    );
    if let Some(at) = token.revoked_at {
        line = format!("<s>{line}</s> · revoked on {}", at.format("%Y-%m-%d"));
    }
    line
}

/// Every token: the config's (locked), then those created here, with a Revoke button each.
async fn list(bot: &Bot, state: &BotState, chat: ChatId, edit: Option<MessageId>) -> HandlerResult {
    let mut lines = Vec::new();
    for token in &state.settings.config().api_tokens {
        lines.push(format!(
            "🔒 <b>{}</b> · {} · {}",
            escape(&token.name),
            token.role.as_str(),
            escape(&scope(token.databases.as_deref()))
        ));
    }
    let stored = state.store.tokens().await?;
    let (revoked, active): (Vec<&StoredToken>, Vec<&StoredToken>) =
        stored.iter().partition(|t| t.revoked_at.is_some());
    lines.extend(active.iter().map(|t| format!("🔑 {}", stored_line(t))));
    lines.extend(
        revoked
            .iter()
            .rev()
            .take(REVOKED_SHOWN)
            .map(|t| format!("✖️ {}", stored_line(t))),
    );
    let mut text = String::from("<b>API tokens</b>\n");
    if lines.is_empty() {
        text.push_str("\nNone yet.");
    }
    for (shown, line) in lines.iter().enumerate() {
        if text.len() + line.len() > LIST_BUDGET {
            text.push_str(&format!("\n… and {} more", lines.len() - shown));
            break;
        }
        text.push('\n');
        text.push_str(line);
    }
    text.push_str(
        "\n\n🔒 tokens come from the configuration file. Send <code>/tokens NAME</code> to create \
         one (in a private chat).",
    );
    let rows = active
        .iter()
        .take(REVOKE_BUTTONS)
        .map(|t| {
            let label = format!("Revoke {}", t.name);
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
        let result = command(&ask.bot, ask.chat(), &ask.person, &ask.state, &name.0).await;
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
    let (callback, place) = (&press.callback, press.place);
    if *callback == Callback::TokenHide {
        // Whoever sees the message may hide it, whatever their role is by now.
        return hide(bot, query, state, place).await;
    }
    let who = state.identity(person).await?;
    if !may(&who, Permission::ManageTokens, None) {
        return press
            .refuse(None, &format!("Not allowed: {OWNERS_ONLY}"))
            .await;
    }
    let Some((chat, message)) = place else {
        return press.answer("This button is no longer valid.").await;
    };
    match callback {
        Callback::TokenRevoke(id) => {
            revoke(bot, query, state, &who.actor(), *id, chat, message).await
        }
        Callback::TokenNew {
            role,
            scope: TokenScope::Ask,
            name,
        } => {
            answer(bot, query, "").await?;
            ask_scope(bot, state, chat, message, *role, name).await
        }
        Callback::TokenNew { role, scope, name } => {
            let databases = match scope {
                TokenScope::Ask | TokenScope::All => None,
                TokenScope::One(name) => match state.settings.config().position_of(name) {
                    Some(_) => Some(vec![name.to_string()]),
                    None => return answer(bot, query, "This button is no longer valid.").await,
                },
            };
            if chat.0 != person.id.get() {
                return answer(bot, query, "Tokens are created only in a private chat.").await;
            }
            let by = who.actor();
            let new = NewToken {
                name,
                role: *role,
                databases,
                by: &by,
            };
            create(bot, query, state, chat, message, new).await
        }
        _ => Ok(()),
    }
}
