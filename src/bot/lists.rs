//! The lists people ask for: firing alerts, the incident history (paged), active silences. Each is one
//! message with a row of buttons per item, so a long list never floods the chat past Telegram's limits.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::MessageId;

use super::commands::Command;
use super::context::{Ask, Press};
use super::reply::{button, polite, say_buttons, show};
use super::{BotError, BotState, HandlerResult};
use crate::access::{Permission, Person, may};
use crate::callback::{Callback, Keyboard};
use crate::delivery::render::incident_line;
use crate::domain::DatabaseName;
use crate::i18n::Lang;
use crate::store::IncidentFilter;
use crate::telegram::html::escape;
use crate::tr;

const ALERTS_SHOWN: u32 = 20;
const PAGE: u32 = 10;

/// `/alerts`, `/incidents [database]`, `/silences`.
pub fn commands() -> UpdateHandler<BotError> {
    dptree::filter(|command: Command| {
        matches!(
            command,
            Command::Alerts | Command::Incidents(_) | Command::Silences
        )
    })
    .endpoint(command)
}

async fn command(ask: Ask, command: Command) -> HandlerResult {
    let (bot, chat, person, state) = (&ask.bot, ask.chat(), &ask.person, &ask.state);
    let lang = ask.lang;
    let result = match command {
        Command::Alerts => alerts(bot, chat, person, state, lang).await,
        Command::Incidents(database) => {
            let page = (database.trim(), None);
            incidents(bot, (chat, None), person, state, page, lang).await
        }
        Command::Silences => silences(bot, chat, person, state, lang).await,
        _ => Ok(()),
    };
    ask.report(result).await
}

/// The buttons that show or page a list.
pub fn buttons() -> UpdateHandler<BotError> {
    dptree::filter(|press: Press| {
        matches!(
            press.callback,
            Callback::ListAlerts | Callback::Incidents { .. }
        )
    })
    .endpoint(pressed)
}

async fn pressed(press: Press) -> HandlerResult {
    let result = async {
        press.answer("").await?;
        let (bot, person, state, lang) = (&press.bot, &press.person, &press.state, press.lang);
        let Some((chat, message)) = press.place else {
            return Ok(());
        };
        match &press.callback {
            Callback::ListAlerts => alerts(bot, chat, person, state, lang).await,
            Callback::Incidents { database, before } => {
                let name = database.as_ref().map(|d| d.to_string()).unwrap_or_default();
                let page = (name.as_str(), *before);
                incidents(bot, (chat, Some(message)), person, state, page, lang).await
            }
            _ => Ok(()),
        }
    };
    press.report(result.await).await
}

/// Firing incidents of the person's databases (owners also see unrouted ones), with Acknowledge and
/// Silence buttons.
pub async fn alerts(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    lang: Lang,
) -> HandlerResult {
    let who = state.identity(person).await?;
    let databases: Vec<String> = who
        .databases(&state.settings.config(), Permission::Read)
        .iter()
        .filter(|d| state.shows(chat, Some(d.as_str())))
        .map(|d| d.to_string())
        .collect();
    // Incidents that matched no database belong to the owners (and to no group).
    let owner = may(&who, Permission::Read, None) && state.shows(chat, None);
    let incidents = state
        .store
        .firing_incidents(
            (!owner).then_some(databases.as_slice()),
            owner,
            ALERTS_SHOWN + 1,
        )
        .await?;
    if incidents.is_empty() {
        let text = tr!(lang, "alerts-none");
        polite(state, chat, || bot.send_message(chat, text.clone())).await?;
        return Ok(());
    }
    let now = state.clock.now();
    let mut text = format!("{}\n", tr!(lang, "alerts-title"));
    let mut rows = Vec::new();
    for incident in incidents.iter().take(ALERTS_SHOWN as usize) {
        text.push('\n');
        text.push_str(&incident_line(lang, incident, now));
        let mut row = Vec::new();
        let responds = may(&who, Permission::Respond, incident.database.as_deref());
        if responds && incident.acknowledged_by.is_none() {
            row.push(button(
                format!("☑️ #{}", incident.id),
                Callback::Acknowledge(incident.id),
            ));
        }
        if responds && incident.silence_id.is_none() {
            row.push(button(
                format!("🔕 1h #{}", incident.id),
                Callback::Silence(incident.id, 1),
            ));
        }
        if !row.is_empty() {
            rows.push(row);
        }
    }
    if incidents.len() > ALERTS_SHOWN as usize {
        text.push_str(&format!("\n\n{}", tr!(lang, "alerts-more")));
    }
    say_buttons(bot, state, chat, text, rows).await?;
    Ok(())
}

/// A page of the incident history, newest first; `edit` replaces the page in place (the ◀ button).
/// `page`: the database named (empty: the person's only one, or all for owners) and where the page
/// starts.
pub async fn incidents(
    bot: &Bot,
    (chat, edit): (ChatId, Option<MessageId>),
    person: &Person,
    state: &BotState,
    (database, before): (&str, Option<i64>),
    lang: Lang,
) -> HandlerResult {
    let who = state.identity(person).await?;
    let mine: Vec<DatabaseName> = who
        .databases(&state.settings.config(), Permission::Read)
        .into_iter()
        .filter(|d| state.shows(chat, Some(d.as_str())))
        .cloned()
        .collect();
    let owner = may(&who, Permission::Read, None) && state.shows(chat, None);
    let scope = scope(database, &mine, owner, lang)?;
    let filter_database = scope.map(ToString::to_string);
    let filter = IncidentFilter {
        database: filter_database.clone(),
        status: None,
        since: None,
        before: before.map(crate::domain::IncidentId),
        limit: PAGE,
    };
    let page = state.store.list_incidents(&filter).await?;
    let now = state.clock.now();
    let mut text = match filter_database.as_deref() {
        Some(database) => tr!(lang, "incidents-title", database = escape(database)),
        None => tr!(lang, "incidents-title-all"),
    };
    text.push('\n');
    if page.incidents.is_empty() {
        text.push('\n');
        text.push_str(&tr!(lang, "incidents-none"));
    }
    for incident in &page.incidents {
        text.push('\n');
        text.push_str(&incident_line(lang, incident, now));
    }
    let mut row = Vec::new();
    if before.is_some() {
        row.push(button(
            tr!(lang, "incidents-newest"),
            Callback::Incidents {
                database: scope.cloned(),
                before: None,
            },
        ));
    }
    if let Some(cursor) = page.next_cursor.and_then(|c| c.parse::<i64>().ok()) {
        row.push(button(
            tr!(lang, "incidents-older"),
            Callback::Incidents {
                database: scope.cloned(),
                before: Some(cursor),
            },
        ));
    }
    let keyboard = Keyboard::new(if row.is_empty() { vec![] } else { vec![row] });
    show(bot, state, chat, edit, text, &keyboard).await?;
    Ok(())
}

/// The database named, else the person's only one; owners may also look at all of them (`None`).
fn scope<'a>(
    database: &str,
    mine: &'a [DatabaseName],
    owner: bool,
    lang: Lang,
) -> Result<Option<&'a DatabaseName>, BotError> {
    if !database.is_empty() {
        return match mine.iter().find(|d| d.as_str() == database) {
            Some(name) => Ok(Some(name)),
            None => Err(BotError::User(tr!(
                lang,
                "incidents-not-member",
                database = database
            ))),
        };
    }
    match mine {
        _ if owner => Ok(None),
        [only] => Ok(Some(only)),
        _ => {
            let names: Vec<&str> = mine.iter().map(|d| d.as_str()).collect();
            let names = names.join(" | ");
            Err(BotError::User(tr!(
                lang,
                "incidents-name-one",
                names = names
            )))
        }
    }
}

/// Silences created here that have not ended, with a button to expire each.
pub async fn silences(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    lang: Lang,
) -> HandlerResult {
    let now = state.clock.now();
    let who = state.identity(person).await?;
    let silenced: Vec<_> = state
        .store
        .silenced_incidents(now)
        .await?
        .into_iter()
        .filter(|i| may(&who, Permission::Read, i.database.as_deref()))
        .filter(|i| state.shows(chat, i.database.as_deref()))
        .collect();
    if silenced.is_empty() {
        let text = tr!(lang, "silences-none");
        polite(state, chat, || bot.send_message(chat, text.clone())).await?;
        return Ok(());
    }
    let mut text = format!("{}\n", tr!(lang, "silences-title"));
    let mut rows = Vec::new();
    for incident in &silenced {
        text.push('\n');
        text.push_str(&incident_line(lang, incident, now));
        if let (Some(by), Some(until)) = (&incident.silenced_by, incident.silenced_until) {
            let line = tr!(
                lang,
                "silences-by",
                by = escape(by),
                until = until.format("%Y-%m-%d %H:%M UTC").to_string(),
            );
            text.push_str(&format!("\n    {line}"));
        }
        // Viewers see what is silenced; expiring it is acting on it.
        if may(&who, Permission::Respond, incident.database.as_deref()) {
            rows.push(vec![button(
                tr!(lang, "silences-expire", id = incident.id.to_string()),
                Callback::Unsilence(incident.id),
            )]);
        }
    }
    say_buttons(bot, state, chat, text, rows).await?;
    Ok(())
}
