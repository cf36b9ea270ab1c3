//! Messages from people: commands, and a polite refusal for strangers.

use std::sync::Arc;

use teloxide::prelude::*;

use super::commands::{BOT_COMMANDS, Command};
use super::reply::{polite, say};
use super::{BotState, HandlerResult, admins, lists, runs, tokens};
use crate::access::{Identity, Permission, Person, may};
use crate::domain::Role;
use crate::members::INVITE_PREFIX;
use crate::telegram::html::escape;

const REFUSAL: &str = "Sorry, this bot serves the database administrators of its team only. \
                       If you should be one, ask an owner to add your Telegram id:";

pub async fn command(bot: Bot, msg: Message, cmd: Command, state: Arc<BotState>) -> HandlerResult {
    let Some(user) = msg.from.as_ref() else {
        return Ok(());
    };
    let Some(person) = BotState::person(user) else {
        return Ok(());
    };
    let chat = msg.chat.id;
    if let Command::Start(payload) = &cmd {
        // An invite link works for someone the bot does not know yet: that is its point.
        if let Some(code) = payload.trim().strip_prefix(INVITE_PREFIX) {
            return admins::redeem(&bot, chat, &person, &state, code).await;
        }
        // Start claims the username the person carries, when a membership names it.
        state.members.claim(&person).await?;
    }
    let Some(who) = state.known(&person).await? else {
        let command = msg.text().and_then(|t| t.split_whitespace().next());
        let detail = serde_json::json!({ "command": command });
        return refuse_stranger(&bot, &state, chat, &person, detail).await;
    };
    match cmd {
        Command::Start(_) => start(&bot, chat, &person, &who, &state).await,
        Command::Help => say(&bot, &state, chat, help()).await,
        Command::Whoami => say(&bot, &state, chat, whoami(&person, &who, &state)).await,
        Command::Alerts => lists::alerts(&bot, chat, &person, &state).await,
        Command::Incidents(database) => {
            lists::incidents(&bot, chat, None, &person, &state, database.trim(), None).await
        }
        Command::Silences => lists::silences(&bot, chat, &person, &state).await,
        Command::Views => runs::start(&bot, chat, &person, &state, false).await,
        Command::Actions => runs::start(&bot, chat, &person, &state, true).await,
        Command::Audit => audit(&bot, &state, chat, &who).await,
        Command::Admins => admins::show(&bot, chat, None, &person, &state, None).await,
        Command::Tokens(name) => tokens::command(&bot, chat, &person, &state, name.trim()).await,
    }
}

/// Anything that is not a command: strangers get the refusal, admins a hint.
pub async fn other(bot: Bot, msg: Message, state: Arc<BotState>) -> HandlerResult {
    let Some(user) = msg.from.as_ref() else {
        return Ok(());
    };
    let Some(person) = BotState::person(user) else {
        return Ok(());
    };
    let known = state.known(&person).await?.is_some();
    if known
        && (admins::message(&bot, &msg, &person, &state).await?
            || runs::typed(&bot, &msg, &person, &state).await?)
    {
        return Ok(());
    }
    // In groups the bot only answers commands (privacy mode delivers little else anyway).
    if !msg.chat.is_private() {
        return Ok(());
    }
    if !known {
        let detail = serde_json::json!({ "message": "text" });
        return refuse_stranger(&bot, &state, msg.chat.id, &person, detail).await;
    }
    polite(&state, msg.chat.id, || {
        bot.send_message(msg.chat.id, "Send /help to see what I can do.")
    })
    .await?;
    Ok(())
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

async fn start(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    who: &Identity,
    state: &BotState,
) -> HandlerResult {
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
            .config
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
            .config
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
         <b>Silence</b> creates an Alertmanager silence.\n\n",
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
