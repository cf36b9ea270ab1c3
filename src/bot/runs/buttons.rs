//! The buttons of a run's dialogue, from the database picker to the result's pages: each names the
//! database and item by name, or the dialogue by id (honoured only for the person it belongs to).

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::super::alerts::authorised;
use super::super::context::Press;
use super::super::reply::not_allowed;
use super::super::{BotError, HandlerResult};
use super::{ItemOn, answer, csv, items, permission, pick, run};
use crate::access::Permission;
use crate::callback::Callback;
use crate::store::{Dialogue, News};
use crate::tr;

/// The buttons this module answers.
pub fn buttons() -> UpdateHandler<BotError> {
    dptree::filter(|press: Press| {
        matches!(
            press.callback,
            Callback::Items { .. }
                | Callback::Pick { .. }
                | Callback::Link { .. }
                | Callback::Choose { .. }
                | Callback::Confirm(_)
                | Callback::Abort(_)
                | Callback::Page { .. }
                | Callback::Csv(_)
                | Callback::Stop { .. }
        )
    })
    .endpoint(pressed)
}

async fn pressed(press: Press) -> HandlerResult {
    let result = handle(&press).await;
    press.report(result).await
}

async fn handle(press: &Press) -> HandlerResult {
    match press.callback.clone() {
        Callback::Choose { dialogue, choice } => {
            let Some(dialogue) = own_dialogue(press, dialogue).await? else {
                return Ok(());
            };
            press.answer("").await?;
            match dialogue.choices.get(choice).cloned() {
                Some(value) => {
                    let (bot, person, state) = (&press.bot, &press.person, &press.state);
                    answer(bot, person, state, dialogue, &value, press.lang).await
                }
                None => Ok(()),
            }
        }
        Callback::Confirm(dialogue) => {
            let Some(dialogue) = own_dialogue(press, dialogue).await? else {
                return Ok(());
            };
            press.answer(&tr!(press.lang, "runs-running")).await?;
            run(
                &press.bot,
                &press.person,
                &press.state,
                dialogue,
                None,
                press.lang,
            )
            .await
        }
        Callback::Abort(dialogue) => {
            if let Some(dialogue) = own_dialogue(press, dialogue).await? {
                press.state.store.end_dialogue(dialogue.id).await?;
                press.answer(&tr!(press.lang, "runs-cancelled")).await?;
            }
            Ok(())
        }
        Callback::Page { dialogue, page } => {
            let Some(dialogue) = own_dialogue(press, dialogue).await? else {
                return Ok(());
            };
            press.answer("").await?;
            match press.place {
                Some((_, message)) => {
                    let edit = Some((message, page));
                    let (bot, person, state) = (&press.bot, &press.person, &press.state);
                    run(bot, person, state, dialogue, edit, press.lang).await
                }
                None => Ok(()),
            }
        }
        Callback::Csv(dialogue) => {
            let Some(dialogue) = own_dialogue(press, dialogue).await? else {
                return Ok(());
            };
            press.answer(&tr!(press.lang, "runs-preparing-csv")).await?;
            csv(
                &press.bot,
                &press.person,
                &press.state,
                dialogue,
                press.lang,
            )
            .await
        }
        Callback::Stop { database, item } => {
            let may = (press.state)
                .may(
                    &press.person,
                    Permission::RunActions,
                    Some(database.as_str()),
                )
                .await?;
            if !may {
                return press.refuse(None, &not_allowed(press.lang)).await;
            }
            let store = &press.state.store;
            let text = if press.state.operations.cancel(&database, &item) {
                tr!(press.lang, "runs-cancelling")
            } else if store.backend() == crate::store::Backend::Postgres {
                // It may run on another replica sharing the state store, which hears of it at once.
                let news = News::CancelAction {
                    database: database.to_string(),
                    action: item.clone(),
                };
                store.tell_replicas(news).await?;
                tr!(press.lang, "runs-cancelling-elsewhere")
            } else {
                tr!(press.lang, "runs-not-running")
            };
            press.answer(&text).await
        }
        other => start(press, other).await,
    }
}

/// The buttons that start a dialogue: a database's items, an item, an item linked to an alert.
async fn start(press: &Press, callback: Callback) -> HandlerResult {
    let (bot, person, state) = (&press.bot, &press.person, &press.state);
    match callback {
        Callback::Items { actions, database } => {
            press.answer("").await?;
            match (press.place, state.settings.config().position_of(&database)) {
                (Some((chat, _)), Some(database)) => {
                    items(bot, chat, person, state, actions, database, press.lang).await
                }
                _ => Ok(()),
            }
        }
        Callback::Pick {
            actions,
            database,
            item,
        } => {
            press.answer("").await?;
            let Some((chat, _)) = press.place else {
                return Ok(());
            };
            let item_on = ItemOn {
                actions,
                database: &database,
                alias: &item,
            };
            pick(bot, chat, person, state, item_on, None, press.lang).await
        }
        Callback::Link {
            actions,
            incident,
            item,
        } => {
            let Some(record) = authorised(press, incident, permission(actions)).await? else {
                return Ok(());
            };
            press.answer("").await?;
            let database = record.database.clone();
            let (Some((chat, _)), Some(database)) = (press.place, database) else {
                return Ok(());
            };
            let item_on = ItemOn {
                actions,
                database: &database,
                alias: &item,
            };
            let labels = Some(&record.labels);
            pick(bot, chat, person, state, item_on, labels, press.lang).await
        }
        _ => Ok(()),
    }
}

/// The dialogue behind a button, if it is the presser's own (answering the press otherwise).
async fn own_dialogue(press: &Press, id: i64) -> Result<Option<Dialogue>, BotError> {
    match press.state.store.dialogue(id).await? {
        Some(dialogue) if dialogue.user_id == press.person.id.get() => Ok(Some(dialogue)),
        Some(_) => {
            press.answer(&tr!(press.lang, "runs-not-yours")).await?;
            Ok(None)
        }
        None => {
            press.answer(&tr!(press.lang, "runs-over")).await?;
            Ok(None)
        }
    }
}
