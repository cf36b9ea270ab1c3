//! Metrics in chat: `/charts` → database → chart → span → a photo whose buttons change the span or
//! the chart in place; `/status [database]`, a health card per database with buttons to its charts;
//! and the 📈 Graph button of alert messages. Viewers may use all of it: every step asks
//! `access::may(Read)` on the database, and a group shows only its own databases.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{MaybeInaccessibleMessage, MessageId};

use super::commands::Command;
use super::context::{Ask, Press};
use super::reply::{button, not_allowed, say, show};
use super::{BotError, BotState, HandlerResult};
use crate::access::{Permission, Person, may};
use crate::callback::{Callback, Keyboard};
use crate::charts::Chart;
use crate::charts::fetch::Span;
use crate::charts::service::still_drawing;
use crate::domain::DatabaseName;
use crate::i18n::Lang;
use crate::telegram::html::escape;
use crate::tr;

mod health;
mod photos;

use health::status;
use photos::{alert_graph, draw};

/// `/charts [database]` and `/status [database]`.
pub fn commands() -> UpdateHandler<BotError> {
    dptree::filter(|command: Command| matches!(command, Command::Charts(_) | Command::Status(_)))
        .endpoint(command)
}

async fn command(ask: Ask, command: Command) -> HandlerResult {
    let (bot, chat, person, state) = (&ask.bot, ask.chat(), &ask.person, &ask.state);
    let lang = ask.lang;
    let caller = format!("telegram:{}", person.id.get());
    let Some(_busy) = state.settings.charts().begin(&caller) else {
        return say(bot, state, chat, still_drawing(lang)).await;
    };
    let result = match command {
        Command::Charts(name) => start(bot, chat, person, state, name.trim(), lang).await,
        Command::Status(name) => status(bot, chat, person, state, name.trim(), lang).await,
        _ => Ok(()),
    };
    ask.report(result).await
}

/// The buttons this module answers.
pub fn buttons() -> UpdateHandler<BotError> {
    dptree::filter(|press: Press| {
        matches!(
            press.callback,
            Callback::Charts { .. }
                | Callback::Chart { .. }
                | Callback::Status { .. }
                | Callback::AlertGraph(_)
        )
    })
    .endpoint(pressed)
}

async fn pressed(press: Press) -> HandlerResult {
    let result = async {
        let caller = format!("telegram:{}", press.person.id.get());
        let drawing = matches!(
            press.callback,
            Callback::AlertGraph(_)
                | Callback::Chart { span: Some(_), .. }
                | Callback::Status { .. }
        );
        let _busy = match press.state.settings.charts().begin(&caller) {
            Some(busy) => Some(busy),
            None if drawing => return press.answer(&still_drawing(press.lang)).await,
            None => None,
        };
        if let Callback::AlertGraph(id) = press.callback {
            return alert_graph(&press, id).await;
        }
        press.answer("").await?;
        let (bot, person, state, lang) = (&press.bot, &press.person, &press.state, press.lang);
        let Some((chat, message)) = press.place else {
            return Ok(());
        };
        // A list or question is replaced in place; a photo cannot become text, so it gets a new one.
        let text_message = (!on_photo(&press)).then_some(message);
        match press.callback.clone() {
            Callback::Charts { database: None } => start(bot, chat, person, state, "", lang).await,
            Callback::Charts {
                database: Some(database),
            } => {
                if readable(chat, person, state, &database).await? {
                    list(bot, chat, text_message, state, &database, lang).await
                } else {
                    say(bot, state, chat, not_allowed(lang)).await
                }
            }
            Callback::Chart {
                database,
                chart,
                span,
            } => {
                if !readable(chat, person, state, &database).await? {
                    return say(bot, state, chat, not_allowed(lang)).await;
                }
                match span {
                    None => spans(bot, chat, text_message, state, &database, &chart, lang).await,
                    Some(span) => {
                        let edit = on_photo(&press).then_some(message);
                        draw(bot, chat, edit, state, (&database, &chart, span), lang).await
                    }
                }
            }
            Callback::Status { database } => {
                let name = database.as_ref().map(|d| d.to_string()).unwrap_or_default();
                status(bot, chat, person, state, &name, lang).await
            }
            _ => Ok(()),
        }
    };
    press.report(result.await).await
}

fn on_photo(press: &Press) -> bool {
    matches!(&press.query.message, Some(MaybeInaccessibleMessage::Regular(m)) if m.photo().is_some())
}

/// Whether the person may read `database`'s metrics in this chat (a group: only its own databases).
async fn readable(
    chat: ChatId,
    person: &Person,
    state: &BotState,
    database: &DatabaseName,
) -> Result<bool, BotError> {
    Ok(state.shows(chat, Some(database.as_str()))
        && state
            .may(person, Permission::Read, Some(database.as_str()))
            .await?)
}

/// The databases the person may read in this chat, in config order; only `name` when given.
async fn databases(
    chat: ChatId,
    person: &Person,
    state: &BotState,
    name: &str,
) -> Result<Vec<DatabaseName>, BotError> {
    let who = state.identity(person).await?;
    Ok(state
        .settings
        .config()
        .databases
        .iter()
        .filter(|db| name.is_empty() || db.name.as_str() == name)
        .filter(|db| may(&who, Permission::Read, Some(db.name.as_str())))
        .filter(|db| state.shows(chat, Some(db.name.as_str())))
        .map(|db| db.name.clone())
        .collect())
}

/// The databases whose metrics to show (those the person may read here; only `name` when given), or
/// `None` once the person was told why there are none: charts off, or no (such) database here.
async fn shown(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    name: &str,
    lang: Lang,
) -> Result<Option<Vec<DatabaseName>>, BotError> {
    let mine = databases(chat, person, state, name).await?;
    let text = if !state.settings.charts().enabled() {
        tr!(lang, "charts-off")
    } else if !mine.is_empty() {
        return Ok(Some(mine));
    } else if name.is_empty() {
        tr!(lang, "charts-no-database-here")
    } else {
        tr!(lang, "charts-no-such-database", database = escape(name))
    };
    say(bot, state, chat, text).await?;
    Ok(None)
}

/// `/charts`: the database picker, or the charts of the only (or named) database.
async fn start(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    name: &str,
    lang: Lang,
) -> HandlerResult {
    let Some(mine) = shown(bot, chat, person, state, name, lang).await? else {
        return Ok(());
    };
    if let [database] = mine.as_slice() {
        return list(bot, chat, None, state, database, lang).await;
    }
    let rows = mine
        .iter()
        .map(|d| {
            let open = Callback::Charts {
                database: Some(d.clone()),
            };
            vec![button(d.to_string(), open)]
        })
        .collect();
    let keyboard = Keyboard::new(rows);
    let text = tr!(lang, "charts-which-database");
    show(bot, state, chat, None, text, &keyboard).await?;
    Ok(())
}

/// The charts of a database, two to a row.
async fn list(
    bot: &Bot,
    chat: ChatId,
    edit: Option<MessageId>,
    state: &BotState,
    database: &DatabaseName,
    lang: Lang,
) -> HandlerResult {
    let charting = state.settings.charts();
    let charts: Vec<&Chart> = charting.catalogue().of(database).collect();
    let name = escape(database.as_str());
    let text = if charts.is_empty() {
        tr!(lang, "charts-none", database = name)
    } else {
        tr!(lang, "charts-which-chart", database = name)
    };
    let rows = charts
        .chunks(2)
        .map(|pair| {
            pair.iter()
                .map(|c| {
                    let pick = Callback::Chart {
                        database: database.clone(),
                        chart: c.alias.clone(),
                        span: None,
                    };
                    button(c.title.get(lang), pick)
                })
                .collect()
        })
        .collect();
    show(bot, state, chat, edit, text, &Keyboard::new(rows)).await?;
    Ok(())
}

pub(super) fn span_row(
    database: &DatabaseName,
    chart: &str,
    current: Option<Span>,
) -> Vec<(String, Callback)> {
    Span::ALL
        .into_iter()
        .map(|span| {
            let label = if Some(span) == current {
                format!("• {}", span.name())
            } else {
                span.name().to_owned()
            };
            let draw = Callback::Chart {
                database: database.clone(),
                chart: chart.to_owned(),
                span: Some(span),
            };
            button(label, draw)
        })
        .collect()
}

/// Which span of a chart: 1h · 6h · 24h · 7d.
async fn spans(
    bot: &Bot,
    chat: ChatId,
    edit: Option<MessageId>,
    state: &BotState,
    database: &DatabaseName,
    alias: &str,
    lang: Lang,
) -> HandlerResult {
    let charting = state.settings.charts();
    let Some(chart) = charting
        .catalogue()
        .chart(alias)
        .filter(|c| c.serves(database))
    else {
        return say(bot, state, chat, tr!(lang, "charts-gone")).await;
    };
    let mut text = tr!(
        lang,
        "charts-which-span",
        chart = escape(chart.title.get(lang)),
        database = escape(database.as_str()),
    );
    let description = chart.description.get(lang);
    if !description.is_empty() {
        text.push_str(&format!("\n{}", escape(description)));
    }
    let back = Callback::Charts {
        database: Some(database.clone()),
    };
    let rows = vec![
        span_row(database, alias, None),
        vec![button(tr!(lang, "charts-all"), back)],
    ];
    show(bot, state, chat, edit, text, &Keyboard::new(rows)).await?;
    Ok(())
}
