//! Metrics in chat: `/charts` → database → chart → span → a photo whose buttons change the span or
//! the chart in place; `/status [database]`, a health card per database with buttons to its charts;
//! and the 📈 Graph button of alert messages. Viewers may use all of it: every step asks
//! `access::may(Read)` on the database, and a group shows only its own databases.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{MaybeInaccessibleMessage, MessageId};

use super::alerts::authorised;
use super::commands::Command;
use super::context::{Ask, Press};
use super::reply::{NOT_ALLOWED, Photo, button, say, show, show_photo};
use super::{BotError, BotState, HandlerResult};
use crate::access::{Permission, Person, may};
use crate::callback::{Callback, Keyboard};
use crate::charts::fetch::Span;
use crate::charts::service::{ChartError, Picture, STILL_DRAWING};
use crate::charts::status::{Level, Reading};
use crate::charts::{Chart, format_value};
use crate::domain::{DatabaseName, IncidentId};
use crate::telegram::html::escape;

const OFF: &str = "Charts are off: the service's config names no Prometheus.";
/// Telegram's limit on a photo's caption, in characters.
const MAX_CAPTION: usize = 1024;

/// `/charts [database]` and `/status [database]`.
pub fn commands() -> UpdateHandler<BotError> {
    dptree::filter(|command: Command| matches!(command, Command::Charts(_) | Command::Status(_)))
        .endpoint(command)
}

async fn command(ask: Ask, command: Command) -> HandlerResult {
    let (bot, chat, person, state) = (&ask.bot, ask.chat(), &ask.person, &ask.state);
    let caller = format!("telegram:{}", person.id.get());
    let Some(_busy) = state.charts.begin(&caller) else {
        return say(bot, state, chat, STILL_DRAWING.to_owned()).await;
    };
    let result = match command {
        Command::Charts(name) => start(bot, chat, person, state, name.trim()).await,
        Command::Status(name) => status(bot, chat, person, state, name.trim()).await,
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
        let _busy = match press.state.charts.begin(&caller) {
            Some(busy) => Some(busy),
            None if drawing => return press.answer(STILL_DRAWING).await,
            None => None,
        };
        if let Callback::AlertGraph(id) = press.callback {
            return alert_graph(&press, id).await;
        }
        press.answer("").await?;
        let (bot, person, state) = (&press.bot, &press.person, &press.state);
        let Some((chat, message)) = press.place else {
            return Ok(());
        };
        // A list or question is replaced in place; a photo cannot become text, so it gets a new one.
        let text_message = (!on_photo(&press)).then_some(message);
        match press.callback.clone() {
            Callback::Charts { database: None } => start(bot, chat, person, state, "").await,
            Callback::Charts {
                database: Some(database),
            } => {
                if readable(chat, person, state, &database).await? {
                    list(bot, chat, text_message, state, &database).await
                } else {
                    say(bot, state, chat, NOT_ALLOWED.to_owned()).await
                }
            }
            Callback::Chart {
                database,
                chart,
                span,
            } => {
                if !readable(chat, person, state, &database).await? {
                    return say(bot, state, chat, NOT_ALLOWED.to_owned()).await;
                }
                match span {
                    None => spans(bot, chat, text_message, state, &database, &chart).await,
                    Some(span) => {
                        let edit = on_photo(&press).then_some(message);
                        draw(bot, chat, edit, state, (&database, &chart, span)).await
                    }
                }
            }
            Callback::Status { database } => {
                let name = database.as_ref().map(|d| d.to_string()).unwrap_or_default();
                status(bot, chat, person, state, &name).await
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
        .config
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
) -> Result<Option<Vec<DatabaseName>>, BotError> {
    let mine = databases(chat, person, state, name).await?;
    let text = if !state.charts.enabled() {
        OFF.to_owned()
    } else if !mine.is_empty() {
        return Ok(Some(mine));
    } else if name.is_empty() {
        "You are a member of no database whose metrics this chat may show.".to_owned()
    } else {
        format!(
            "No database <b>{}</b> that you may read here.",
            escape(name)
        )
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
) -> HandlerResult {
    let Some(mine) = shown(bot, chat, person, state, name).await? else {
        return Ok(());
    };
    if let [database] = mine.as_slice() {
        return list(bot, chat, None, state, database).await;
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
    show(
        bot,
        state,
        chat,
        None,
        "Charts of which database?".to_owned(),
        &keyboard,
    )
    .await?;
    Ok(())
}

/// The charts of a database, two to a row.
async fn list(
    bot: &Bot,
    chat: ChatId,
    edit: Option<MessageId>,
    state: &BotState,
    database: &DatabaseName,
) -> HandlerResult {
    let charts: Vec<&Chart> = state.charts.catalogue().of(database).collect();
    let name = escape(database.as_str());
    let text = if charts.is_empty() {
        format!("No charts for <b>{name}</b>.")
    } else {
        format!("<b>{name}</b>: which chart?")
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
                    button(c.title.clone(), pick)
                })
                .collect()
        })
        .collect();
    show(bot, state, chat, edit, text, &Keyboard::new(rows)).await?;
    Ok(())
}

fn span_row(
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
) -> HandlerResult {
    let Some(chart) = state
        .charts
        .catalogue()
        .chart(alias)
        .filter(|c| c.serves(database))
    else {
        return say(
            bot,
            state,
            chat,
            "This chart is no longer offered.".to_owned(),
        )
        .await;
    };
    let mut text = format!(
        "<b>{}</b> on <b>{}</b>: over which span?",
        escape(&chart.title),
        escape(database.as_str())
    );
    if !chart.description.is_empty() {
        text.push_str(&format!("\n{}", escape(&chart.description)));
    }
    let back = Callback::Charts {
        database: Some(database.clone()),
    };
    let rows = vec![
        span_row(database, alias, None),
        vec![button("‹ All charts", back)],
    ];
    show(bot, state, chat, edit, text, &Keyboard::new(rows)).await?;
    Ok(())
}

/// Draws a chart: a new photo, or the photo `edit` replaced in place. A failure is said in a message
/// (the photo, if any, stays as it was).
async fn draw(
    bot: &Bot,
    chat: ChatId,
    edit: Option<MessageId>,
    state: &BotState,
    (database, alias, span): (&DatabaseName, &str, Span),
) -> HandlerResult {
    let now = state.clock.now().timestamp();
    let picture = state.charts.chart(database, alias, span, now).await;
    let title = state
        .charts
        .catalogue()
        .chart(alias)
        .map_or(alias.to_owned(), |c| c.title.clone());
    let heading = format!(
        "<b>{}</b> · {} · last {}",
        escape(&title),
        escape(database.as_str()),
        span.name()
    );
    let picture = match picture {
        Ok(picture) => picture,
        Err(e) => return failed(bot, chat, state, &heading, &e).await,
    };
    let keyboard = Keyboard::new(vec![
        span_row(database, alias, Some(span)),
        neighbours(state, database, alias, span),
        vec![button(
            "‹ All charts",
            Callback::Charts {
                database: Some(database.clone()),
            },
        )],
    ]);
    let photo = Photo {
        caption: caption(&heading, &picture, state),
        png: picture.png,
    };
    show_photo(bot, state, chat, edit, None, photo, &keyboard).await?;
    Ok(())
}

/// The previous and next chart of the database, same span.
fn neighbours(
    state: &BotState,
    database: &DatabaseName,
    alias: &str,
    span: Span,
) -> Vec<(String, Callback)> {
    let charts: Vec<&Chart> = state.charts.catalogue().of(database).collect();
    let Some(at) = charts.iter().position(|c| c.alias == alias) else {
        return Vec::new();
    };
    if charts.len() < 2 {
        return Vec::new();
    }
    let to = |c: &Chart| Callback::Chart {
        database: database.clone(),
        chart: c.alias.clone(),
        span: Some(span),
    };
    let previous = charts[(at + charts.len() - 1) % charts.len()];
    let next = charts[(at + 1) % charts.len()];
    vec![
        button(format!("◀ {}", previous.title), to(previous)),
        button(format!("{} ▶", next.title), to(next)),
    ]
}

/// The heading, the zone of the times, and per series its last, min, max and average, within
/// Telegram's caption limit.
fn caption(heading: &str, picture: &Picture, state: &BotState) -> String {
    let zone = state.config.time_zone;
    let mut text = format!(
        "{heading}\nTimes in {}",
        if zone.local_minus_utc() == 0 {
            "UTC".to_owned()
        } else {
            format!("UTC{zone}")
        }
    );
    let mut visible = text.chars().count();
    for (name, summary) in &picture.summary {
        let line = format!("\n• {name}: {summary}");
        let length = line.chars().count();
        if visible + length > MAX_CAPTION - 2 {
            text.push_str("\n…");
            break;
        }
        visible += length;
        text.push_str(&format!("\n• <b>{}</b>: {}", escape(name), escape(summary)));
    }
    text
}

async fn failed(
    bot: &Bot,
    chat: ChatId,
    state: &BotState,
    heading: &str,
    error: &ChartError,
) -> HandlerResult {
    let text = format!("📈 {heading}\n{}", escape(&error.to_string()));
    say(bot, state, chat, text).await
}

/// `/status [database]`: one health card per database the person may read here.
async fn status(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    name: &str,
) -> HandlerResult {
    let Some(mine) = shown(bot, chat, person, state, name).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    // Every card's queries at once: the slowest database sets the pace, not their sum.
    let cards = futures_util::future::join_all(
        mine.iter()
            .map(|database| state.charts.status(database, now.timestamp())),
    )
    .await;
    for (database, card) in mine.iter().zip(cards) {
        let (text, rows) = health_card(state, database, card, now);
        show(bot, state, chat, None, text, &Keyboard::new(rows)).await?;
    }
    Ok(())
}

type Rows = Vec<Vec<(String, Callback)>>;

fn health_card(
    state: &BotState,
    database: &DatabaseName,
    card: Result<Vec<Reading>, ChartError>,
    now: chrono::DateTime<chrono::Utc>,
) -> (String, Rows) {
    let zone = state.config.time_zone;
    let mut text = format!(
        "<b>{}</b> · health at {}",
        escape(database.as_str()),
        now.with_timezone(&zone).format("%H:%M %:z")
    );
    let readings = match card {
        Ok(readings) => readings,
        Err(e) => {
            text.push_str(&format!("\n❔ {}", escape(&e.to_string())));
            return (text, Vec::new());
        }
    };
    if readings.is_empty() {
        text.push_str("\nThe charts catalogue has no status rows.");
    }
    // When Prometheus failed every query, once is enough.
    let all_failed = readings.iter().all(|r| r.value.is_err());
    if let (true, Some(Err(e))) = (all_failed, readings.first().map(|r| &r.value)) {
        text.push_str(&format!("\n❔ {}", escape(&e.to_string())));
        return (text, Vec::new());
    }
    let mut charts: Vec<String> = Vec::new();
    for reading in &readings {
        text.push('\n');
        text.push_str(&card_line(reading));
        if let Some(chart) = &reading.row.chart
            && !charts.contains(chart)
            && state
                .charts
                .catalogue()
                .chart(chart)
                .is_some_and(|c| c.serves(database))
        {
            charts.push(chart.clone());
        }
    }
    let rows = charts
        .chunks(2)
        .map(|pair| {
            pair.iter()
                .filter_map(|alias| {
                    let chart = state.charts.catalogue().chart(alias)?;
                    let open = Callback::Chart {
                        database: database.clone(),
                        chart: alias.clone(),
                        span: Some(Span::Hour),
                    };
                    Some(button(format!("📈 {}", chart.title), open))
                })
                .collect()
        })
        .collect();
    (text, rows)
}

fn card_line(reading: &Reading) -> String {
    let row = &reading.row;
    let mark = match reading.level {
        Level::Ok => "✅",
        Level::Warning => "⚠️",
        Level::Critical => "🔴",
        Level::Unknown => "❔",
    };
    let value = match &reading.value {
        Ok(Some(v)) => format_value(row.unit, *v),
        Ok(None) => "no data".to_owned(),
        Err(e) => e.to_string(),
    };
    let limit = match reading.level {
        Level::Critical => row
            .critical_above
            .map(|t| format!("above {}", format_value(row.unit, t)))
            .or_else(|| {
                row.critical_below
                    .map(|t| format!("below {}", format_value(row.unit, t)))
            }),
        Level::Warning => row
            .warn_above
            .map(|t| format!("above {}", format_value(row.unit, t)))
            .or_else(|| {
                row.warn_below
                    .map(|t| format!("below {}", format_value(row.unit, t)))
            }),
        Level::Ok | Level::Unknown => None,
    };
    let limit = limit.map(|l| format!(" ({l})")).unwrap_or_default();
    format!(
        "{mark} {}: <b>{}</b>{}",
        escape(&row.title),
        escape(&value),
        escape(&limit)
    )
}

/// 📈 Graph on an alert message: its expression around its firing span, as a reply to it.
async fn alert_graph(press: &Press, id: IncidentId) -> HandlerResult {
    let Some(incident) = authorised(press, id, Permission::Read).await? else {
        return Ok(());
    };
    let (bot, state) = (&press.bot, &press.state);
    let Some((chat, message)) = press.place else {
        return press.answer("").await;
    };
    if !state.shows(chat, incident.database.as_deref()) {
        return press
            .refuse(incident.database.as_deref(), NOT_ALLOWED)
            .await;
    }
    press.answer("").await?;
    let now = state.clock.now().timestamp();
    let heading = format!(
        "<b>{}</b> · {}",
        escape(&incident.alertname),
        escape(incident.database.as_deref().unwrap_or("no database"))
    );
    match state.charts.alert(&incident, now).await {
        Ok(picture) => {
            let photo = Photo {
                caption: caption(&heading, &picture, state),
                png: picture.png,
            };
            let keyboard = Keyboard::default();
            show_photo(bot, state, chat, None, Some(message), photo, &keyboard).await?;
            Ok(())
        }
        Err(e) => failed(bot, chat, state, &heading, &e).await,
    }
}
