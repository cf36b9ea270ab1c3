//! Messages from people: `/start`, `/help`, `/whoami`, `/audit`, replies to the bot's questions,
//! and a polite refusal for strangers.

use std::sync::Arc;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::commands::{BOT_COMMANDS, Command};
use super::context::{Ask, report_in};
use super::reply::{polite, say};
use super::{BotError, BotState, HandlerResult, newcomers, runs};
use crate::access::{Identity, Permission, Person, may};
use crate::domain::Role;
use crate::i18n::Lang;
use crate::telegram::html::escape;

const REFUSAL: &str = "Sorry, this bot serves the database administrators of its team only. \
                       If you should be one, ask an owner to add your Telegram id:";

/// `/start`, `/help`, `/whoami`, `/audit`.
pub fn commands() -> UpdateHandler<BotError> {
    dptree::filter(|command: Command| {
        matches!(
            command,
            Command::Start(_) | Command::Help | Command::Whoami | Command::Audit
        )
    })
    .endpoint(command)
}

async fn command(ask: Ask, command: Command) -> HandlerResult {
    let (bot, chat, state) = (&ask.bot, ask.chat(), &ask.state);
    let result = match command {
        Command::Start(_) => start(&ask).await,
        Command::Help => say(bot, state, chat, help()).await,
        Command::Whoami => say(bot, state, chat, whoami(&ask.person, &ask.who, state)).await,
        Command::Audit => audit(bot, state, chat, &ask.who).await,
        _ => Ok(()),
    };
    ask.report(result).await
}

/// Anything from a known person that is not a command: the answer a question of theirs waits for
/// (a person picked, an invite's @username, a dialogue's value), else a hint in private chats.
pub async fn other(ask: Ask) -> HandlerResult {
    let result = async {
        let (bot, message, person, state) = (&ask.bot, &ask.message, &ask.person, &ask.state);
        if newcomers::message(bot, message, person, state, ask.lang).await?
            || runs::typed(bot, message, person, state).await?
        {
            return Ok(());
        }
        // In groups the bot only answers commands (privacy mode delivers little else anyway).
        if !message.chat.is_private() {
            return Ok(());
        }
        let chat = ask.chat();
        polite(state, chat, || {
            bot.send_message(chat, "Send /help to see what I can do.")
        })
        .await?;
        Ok(())
    };
    let result = result.await;
    ask.report(result).await
}

/// Someone the service does not know: a command, or a message in a private chat, gets the way in.
pub async fn stranger(bot: Bot, message: Message, state: Arc<BotState>) -> HandlerResult {
    let Some(person) = message.from.as_ref().and_then(BotState::person) else {
        return Ok(());
    };
    let first = message.text().and_then(|t| t.split_whitespace().next());
    let detail = match first {
        Some(command) if command.starts_with('/') => serde_json::json!({ "command": command }),
        // In groups the bot only answers commands.
        _ if !message.chat.is_private() => return Ok(()),
        _ => serde_json::json!({ "message": "text" }),
    };
    let chat = message.chat.id;
    let result = refuse_stranger(&bot, &state, chat, &person, detail).await;
    let lang = Lang::from_telegram(
        message
            .from
            .as_ref()
            .and_then(|u| u.language_code.as_deref()),
    );
    report_in(&bot, &state, chat, lang, result).await
}

/// Tells a stranger how to get in, audited: once a minute at most, so that a flood of messages
/// neither fills the audit log nor spends the Telegram budget alerts need.
async fn refuse_stranger(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    person: &Person,
    detail: serde_json::Value,
) -> HandlerResult {
    if state.refusal(person, None, detail).await? {
        polite(state, chat, || {
            bot.send_message(chat, format!("{REFUSAL} {}", person.id))
        })
        .await?;
    }
    Ok(())
}

async fn start(ask: &Ask) -> HandlerResult {
    let (bot, chat, person, who, state) = (&ask.bot, ask.chat(), &ask.person, &ask.who, &ask.state);
    // Pressing Start makes a private chat reachable again.
    state.store.mark_reachable(&person.keys()).await?;
    let mut text = format!(
        "Hello {}! {}",
        escape(&person.display()),
        describe(who, state)
    );
    text.push_str("\n\nAlerts of these databases reach you here. Send /help for the commands.");
    say(bot, state, chat, text).await
}

/// The person's roles, database by database.
fn describe(who: &Identity, state: &BotState) -> String {
    if who.is_owner() {
        let all: Vec<String> = state
            .settings
            .config()
            .databases
            .iter()
            .map(|d| format!("<b>{}</b>", escape(d.name.as_str())))
            .collect();
        return format!(
            "You are an <b>owner</b>: you may do everything on every database ({}) and receive the \
             alerts that match none.",
            all.join(", ")
        );
    }
    let named = |wanted: Role| -> Vec<String> {
        state
            .settings
            .config()
            .databases
            .iter()
            .filter(|d| {
                who.role_on(d.name.as_str())
                    .is_some_and(|(role, _)| role == wanted)
            })
            .map(|d| format!("<b>{}</b>", escape(d.name.as_str())))
            .collect()
    };
    let (administered, viewed) = (named(Role::Admin), named(Role::Viewer));
    let mut text = String::new();
    if !administered.is_empty() {
        text.push_str(&format!("You administer {}.", administered.join(", ")));
    }
    if !viewed.is_empty() {
        text.push_str(&format!(
            "{}You view {} (alerts, incidents and views; no acknowledging, silencing or actions).",
            if text.is_empty() { "" } else { " " },
            viewed.join(", ")
        ));
    }
    text
}

fn whoami(person: &Person, who: &Identity, state: &BotState) -> String {
    format!(
        "You are {} (Telegram id <code>{}</code>). {}",
        escape(&person.display()),
        person.id,
        describe(who, state)
    )
}

fn help() -> String {
    let mut text = String::from(
        "<b>Postgram Admin</b> sends the alerts of your PostgreSQL databases here. Under each alert: \
         <b>Acknowledge</b> tells everyone you are on it (and stops the email escalation), \
         <b>Silence</b> creates an Alertmanager silence, <b>📈 Graph</b> plots the alert's own \
         expression around the time it fired.\n\n",
    );
    for line in BOT_COMMANDS.lines() {
        if let Some((command, description)) = line.split_once(" - ") {
            text.push_str(&format!(
                "/{} — {}\n",
                escape(command.trim()),
                escape(description.trim())
            ));
        }
    }
    text
}

async fn audit(bot: &Bot, state: &BotState, chat: ChatId, who: &Identity) -> HandlerResult {
    if !may(who, Permission::ReadAudit, None) {
        return say(bot, state, chat, "The audit log is for owners.".to_owned()).await;
    }
    let filter = crate::store::AuditFilter {
        limit: 20,
        ..Default::default()
    };
    let page = state.store.audit_page(&filter).await?;
    let mut text = String::from("<b>Audit log</b> (newest first, UTC)\n");
    for entry in page.entries {
        let outcome = entry
            .outcome
            .map(|o| format!(" · {}", escape(&o)))
            .unwrap_or_default();
        let detail = entry.detail.to_string();
        let line = format!(
            "\n{} · {} · {} · {}{outcome} · <code>{}</code>",
            entry.at.format("%Y-%m-%d %H:%M:%S"),
            escape(&entry.actor),
            escape(&entry.action),
            escape(entry.database.as_deref().unwrap_or("-")),
            escape(&detail.chars().take(120).collect::<String>())
        );
        // Telegram takes 4096 characters; the older entries are in GET /audit.
        if text.chars().count() + line.chars().count() > 3900 {
            break;
        }
        text.push_str(&line);
    }
    say(bot, state, chat, text).await
}
