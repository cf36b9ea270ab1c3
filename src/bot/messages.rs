//! Messages from people: `/start`, `/help`, `/whoami`, `/audit`, `/language` (and its picker),
//! replies to the bot's questions, and a polite refusal for strangers.

use std::sync::Arc;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::commands::{self, Command};
use super::context::{Ask, Press, report_in};
use super::reply::{button, polite, say, say_buttons, show};
use super::{BotError, BotState, HandlerResult, newcomers, runs};
use crate::access::{Identity, Permission, Person, may};
use crate::callback::{Callback, Keyboard};
use crate::domain::Role;
use crate::i18n::Lang;
use crate::telegram::html::escape;
use crate::tr;

/// `/start`, `/help`, `/whoami`, `/audit`, `/language`.
pub fn commands() -> UpdateHandler<BotError> {
    dptree::filter(|command: Command| {
        matches!(
            command,
            Command::Start(_)
                | Command::Help
                | Command::Whoami
                | Command::Audit
                | Command::Language(_)
        )
    })
    .endpoint(command)
}

/// The language picker's buttons.
pub fn buttons() -> UpdateHandler<BotError> {
    dptree::filter(|press: Press| matches!(press.callback, Callback::Language(_))).endpoint(chosen)
}

async fn command(ask: Ask, command: Command) -> HandlerResult {
    let (bot, chat, state, lang) = (&ask.bot, ask.chat(), &ask.state, ask.lang);
    let result = match command {
        Command::Start(_) => start(&ask).await,
        Command::Help => say(bot, state, chat, help(lang)).await,
        Command::Whoami => {
            let text = whoami(&ask.person, &ask.who, state, lang);
            say(bot, state, chat, text).await
        }
        Command::Audit => audit(bot, state, chat, &ask.who, lang).await,
        Command::Language(given) => language(&ask, &given).await,
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
            || runs::typed(bot, message, person, state, ask.lang).await?
        {
            return Ok(());
        }
        // In groups the bot only answers commands (privacy mode delivers little else anyway).
        if !message.chat.is_private() {
            return Ok(());
        }
        let chat = ask.chat();
        let hint = tr!(ask.lang, "hint-help");
        polite(state, chat, || bot.send_message(chat, hint.clone())).await?;
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
    let lang = Lang::from_telegram(
        message
            .from
            .as_ref()
            .and_then(|u| u.language_code.as_deref()),
    );
    let result = refuse_stranger(&bot, &state, chat, &person, detail, lang).await;
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
    lang: Lang,
) -> HandlerResult {
    if state.refusal(person, None, detail).await? {
        let text = tr!(lang, "stranger-refusal", id = person.id.to_string());
        polite(state, chat, || bot.send_message(chat, text.clone())).await?;
    }
    Ok(())
}

async fn start(ask: &Ask) -> HandlerResult {
    let (bot, chat, person, who, state) = (&ask.bot, ask.chat(), &ask.person, &ask.who, &ask.state);
    // Pressing Start makes a private chat reachable again.
    state.store.mark_reachable(&person.keys()).await?;
    let lang = ask.lang;
    let mut text = tr!(
        lang,
        "start-hello",
        name = escape(&person.display()),
        roles = describe(who, state, lang)
    );
    text.push_str("\n\n");
    text.push_str(&tr!(lang, "start-more"));
    say(bot, state, chat, text).await
}

/// The person's roles, database by database.
fn describe(who: &Identity, state: &BotState, lang: Lang) -> String {
    if who.is_owner() {
        let all: Vec<String> = state
            .settings
            .config()
            .databases
            .iter()
            .map(|d| format!("<b>{}</b>", escape(d.name.as_str())))
            .collect();
        return tr!(lang, "roles-owner", databases = all.join(", "));
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
    let mut parts = Vec::new();
    if !administered.is_empty() {
        parts.push(tr!(
            lang,
            "roles-admin",
            databases = administered.join(", ")
        ));
    }
    if !viewed.is_empty() {
        parts.push(tr!(lang, "roles-viewer", databases = viewed.join(", ")));
    }
    parts.join(" ")
}

fn whoami(person: &Person, who: &Identity, state: &BotState, lang: Lang) -> String {
    tr!(
        lang,
        "whoami",
        name = escape(&person.display()),
        id = person.id.to_string(),
        roles = describe(who, state, lang)
    )
}

/// What the bot does, and its commands as registered in `lang`.
fn help(lang: Lang) -> String {
    let mut text = tr!(lang, "help-intro");
    text.push_str("\n\n");
    for line in commands::file(lang).lines() {
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

async fn audit(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    who: &Identity,
    lang: Lang,
) -> HandlerResult {
    if !may(who, Permission::ReadAudit, None) {
        return say(bot, state, chat, tr!(lang, "audit-owners-only")).await;
    }
    let filter = crate::store::AuditFilter {
        limit: 20,
        ..Default::default()
    };
    let page = state.store.audit_page(&filter).await?;
    let mut text = tr!(lang, "audit-title");
    text.push('\n');
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

/// `/language`: the picker; `/language ru`, `en` or `auto`: the choice itself.
async fn language(ask: &Ask, given: &str) -> HandlerResult {
    let (bot, chat, state, lang) = (&ask.bot, ask.chat(), &ask.state, ask.lang);
    let given = given.trim();
    if given.is_empty() {
        let current = tr!(lang, "language-name");
        let text = tr!(lang, "language-current", language = current);
        let mut rows: Vec<Vec<(String, Callback)>> = vec![
            Lang::ALL
                .into_iter()
                .map(|each| button(tr!(each, "language-name"), Callback::Language(Some(each))))
                .collect(),
        ];
        rows.push(vec![button(
            tr!(lang, "language-auto"),
            Callback::Language(None),
        )]);
        say_buttons(bot, state, chat, text, rows).await?;
        return Ok(());
    }
    let choice = if given.eq_ignore_ascii_case("auto") {
        None
    } else if let Some(chosen) = Lang::parse(given) {
        Some(chosen)
    } else {
        let text = tr!(lang, "language-unknown", given = escape(given));
        return say(bot, state, chat, text).await;
    };
    let app = ask
        .message
        .from
        .as_ref()
        .and_then(|u| u.language_code.as_deref());
    let text = choose(state, &ask.person, choice, app).await?;
    say(bot, state, chat, text).await
}

/// A press on the language picker: the picker becomes the confirmation.
async fn chosen(press: Press) -> HandlerResult {
    let result = async {
        let Callback::Language(choice) = press.callback else {
            return Ok(());
        };
        let app = press.query.from.language_code.as_deref();
        let text = choose(&press.state, &press.person, choice, app).await?;
        press.answer("").await?;
        if let Some((chat, message)) = press.place {
            let keyboard = Keyboard::default();
            show(
                &press.bot,
                &press.state,
                chat,
                Some(message),
                text,
                &keyboard,
            )
            .await?;
        }
        Ok(())
    };
    let result = result.await;
    press.report(result).await
}

/// Stores the person's language (`None`: their Telegram app's, `app`), and says so in it.
async fn choose(
    state: &BotState,
    person: &Person,
    choice: Option<Lang>,
    app: Option<&str>,
) -> Result<String, BotError> {
    state.store.choose_language(person.id.get(), choice).await?;
    let now = choice.unwrap_or_else(|| Lang::from_telegram(app));
    let name = tr!(now, "language-name");
    Ok(match choice {
        Some(_) => tr!(now, "language-set", language = name),
        None => tr!(now, "language-auto-set", language = name),
    })
}
