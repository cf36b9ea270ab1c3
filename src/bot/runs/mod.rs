//! Running views and actions from Telegram: `/views` and `/actions` → database (skipped when there is
//! one) → item → arguments (buttons for enums, booleans and `choices_sql`; a typed reply otherwise,
//! asked again with the error when invalid) → confirmation → run → result. The dialogue lives in the
//! state store, so a restart in the middle loses nothing but typed secrets (held in memory only), which
//! are asked for again. Runs go through `operations`; `results` shows what they return.

mod buttons;
mod dialogue;
mod results;

pub use buttons::buttons;
use dialogue::advance;
pub use dialogue::{answer, typed};
pub use results::{csv, run};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::commands::Command;
use super::context::Ask;
use super::reply::{self, button, say, say_buttons};
use super::{BotError, BotState, HandlerResult};
use crate::access::{Permission, Person, may};
use crate::callback::Callback;
use crate::catalog::{ArgType, Argument, Text};
use crate::domain::DatabaseName;
use crate::i18n::Lang;
use crate::store::{Dialogue, DialogueKind};
use crate::telegram::html::escape;
use crate::tr;

/// Progress messages are edited at most this often (Telegram's per-chat limits).
const PROGRESS_EVERY: Duration = Duration::from_secs(3);
/// Choices offered as buttons at most.
const MAX_CHOICES: usize = 20;

/// `/views` and `/actions`.
pub fn commands() -> UpdateHandler<BotError> {
    dptree::filter(|command: Command| matches!(command, Command::Views | Command::Actions))
        .endpoint(command)
}

async fn command(ask: Ask, command: Command) -> HandlerResult {
    let actions = command == Command::Actions;
    let result = start(
        &ask.bot,
        ask.chat(),
        &ask.person,
        &ask.state,
        actions,
        ask.lang,
    )
    .await;
    ask.report(result).await
}

/// The person does not administer the database (any more: membership is checked at every step).
pub(crate) async fn not_allowed(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    lang: Lang,
) -> HandlerResult {
    say(bot, state, chat, reply::not_allowed(lang)).await
}

/// "views" or "actions", in `lang`.
fn noun(actions: bool, lang: Lang) -> String {
    if actions {
        tr!(lang, "runs-actions")
    } else {
        tr!(lang, "runs-views")
    }
}

/// What running views (reading) or actions needs.
pub fn permission(actions: bool) -> Permission {
    if actions {
        Permission::RunActions
    } else {
        Permission::Read
    }
}

/// The databases the person may run views (or actions) on in this chat, with their positions in
/// the config.
async fn databases(
    chat: ChatId,
    person: &Person,
    state: &BotState,
    actions: bool,
) -> Result<Vec<(usize, DatabaseName)>, crate::store::StoreError> {
    let who = state.identity(person).await?;
    Ok(state
        .settings
        .config()
        .databases
        .iter()
        .enumerate()
        .filter(|(_, db)| may(&who, permission(actions), Some(db.name.as_str())))
        .filter(|(_, db)| state.shows(chat, Some(db.name.as_str())))
        .map(|(i, db)| (i, db.name.clone()))
        .collect())
}

/// `/views` and `/actions`: the database picker, or the list when there is one database.
async fn start(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    actions: bool,
    lang: Lang,
) -> HandlerResult {
    let mine = databases(chat, person, state, actions).await?;
    match mine.as_slice() {
        [] => {
            let text = if actions {
                tr!(lang, "runs-no-database-for-actions")
            } else {
                tr!(lang, "runs-no-database")
            };
            say(bot, state, chat, text).await?;
            Ok(())
        }
        [(index, _)] => items(bot, chat, person, state, actions, *index, lang).await,
        _ => {
            let rows = mine
                .iter()
                .map(|(_, name)| {
                    vec![button(
                        name.to_string(),
                        Callback::Items {
                            actions,
                            database: name.clone(),
                        },
                    )]
                })
                .collect();
            say_buttons(
                bot,
                state,
                chat,
                tr!(lang, "runs-which-database", kind = noun(actions, lang)),
                rows,
            )
            .await?;
            Ok(())
        }
    }
}

/// The views or actions of one database.
pub async fn items(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    actions: bool,
    database: usize,
    lang: Lang,
) -> HandlerResult {
    let config = state.settings.config();
    let Some(db) = config.databases.get(database) else {
        return Ok(());
    };
    if !state.shows(chat, Some(db.name.as_str()))
        || !state
            .may(person, permission(actions), Some(db.name.as_str()))
            .await?
    {
        return not_allowed(bot, state, chat, lang).await;
    }
    let rows: Vec<Vec<(String, Callback)>> = state
        .operations
        .catalog()
        .items(actions)
        .iter()
        .filter(|item| item.serves(&db.name))
        .map(|item| {
            let pick = Callback::Pick {
                actions,
                database: db.name.clone(),
                item: item.alias.to_owned(),
            };
            vec![button(item.title.get(lang), pick)]
        })
        .collect();
    let (database, kind) = (escape(db.name.as_str()), noun(actions, lang));
    let text = if rows.is_empty() {
        tr!(lang, "runs-none-on", kind = kind, database = database)
    } else {
        tr!(lang, "runs-list", kind = kind, database = database)
    };
    say_buttons(bot, state, chat, text, rows).await?;
    Ok(())
}

/// The item `alias` of the catalogue, if it is offered on `database` (never run anything of an
/// item on a database it does not name).
fn item(
    state: &BotState,
    actions: bool,
    alias: &str,
    database: &DatabaseName,
) -> Option<(String, Vec<Argument>)> {
    let catalog = state.operations.catalog();
    let items = catalog.items(actions);
    let item = items
        .iter()
        .find(|i| i.alias == alias && i.serves(database))?;
    Some((item.alias.to_owned(), item.arguments.to_vec()))
}

/// A catalogue item on a database: an action (or a view) by its alias.
pub struct ItemOn<'a> {
    pub actions: bool,
    pub database: &'a DatabaseName,
    pub alias: &'a str,
}

/// Starts a dialogue for an item on a database, with values already known (from an alert's labels:
/// then an action always asks for confirmation, showing them).
pub async fn pick(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &Arc<BotState>,
    item_on: ItemOn<'_>,
    known: Option<&BTreeMap<String, String>>,
    lang: Lang,
) -> HandlerResult {
    let from_alert = known.is_some();
    let known = known.cloned().unwrap_or_default();
    let ItemOn {
        actions,
        database,
        alias,
    } = item_on;
    if !state
        .may(person, permission(actions), Some(database.as_str()))
        .await?
    {
        return not_allowed(bot, state, chat, lang).await;
    }
    let Some((alias, arguments)) = item(state, actions, alias, database) else {
        let text = tr!(
            lang,
            "runs-not-offered",
            database = escape(database.as_str())
        );
        say(bot, state, chat, text).await?;
        return Ok(());
    };
    // Only values that fit are carried over from an alert; the rest are asked for.
    let given: BTreeMap<String, String> = known
        .iter()
        .filter(|(name, value)| {
            arguments.iter().any(|a| {
                &&a.name == name
                    && !matches!(a.kind, ArgType::Secret { .. })
                    && a.parse(value).is_ok()
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let kind = if actions {
        DialogueKind::Action
    } else {
        DialogueKind::View
    };
    let new = Dialogue {
        id: 0,
        user_id: person.id.get(),
        chat_id: chat.0,
        kind,
        database: database.clone(),
        alias,
        arguments: given,
        secrets: BTreeMap::new(),
        awaiting: None,
        choices: Vec::new(),
        confirm: from_alert,
    };
    let id = state.store.start_dialogue(&new, state.clock.now()).await?;
    let Some(dialogue) = state.store.dialogue(id).await? else {
        return Ok(());
    };
    advance(bot, person, state, dialogue, lang).await
}

/// The dialogue's item, while it is offered on the dialogue's database: (actions, title in every
/// language, arguments, whether to confirm).
fn arguments_of(
    state: &BotState,
    dialogue: &Dialogue,
) -> Option<(bool, Text, Vec<Argument>, bool)> {
    let actions = dialogue.kind == DialogueKind::Action;
    let database = &dialogue.database;
    let catalog = state.operations.catalog();
    let items = catalog.items(actions);
    let item = items
        .iter()
        .find(|i| i.alias == dialogue.alias && i.serves(database))?;
    Some((
        actions,
        item.title.clone(),
        item.arguments.to_vec(),
        item.confirm || dialogue.confirm,
    ))
}

/// The first required argument without a value yet.
fn missing<'a>(arguments: &'a [Argument], dialogue: &Dialogue) -> Option<&'a Argument> {
    arguments
        .iter()
        .find(|a| a.required && a.default.is_none() && !dialogue.has_value(&a.name))
}
