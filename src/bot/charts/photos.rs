//! Chart photos: a chart of the catalogue drawn (new, or replacing the photo pressed), and the graph of
//! an alert, sent as a reply to its message. A failure is said in a message, never a broken photo.

use teloxide::prelude::*;
use teloxide::types::MessageId;

use super::super::alerts::authorised;
use super::super::context::Press;
use super::super::reply::{NOT_ALLOWED, Photo, button, say, show_photo};
use super::super::{BotState, HandlerResult};
use super::span_row;
use crate::access::Permission;
use crate::callback::{Callback, Keyboard};
use crate::charts::fetch::Span;
use crate::charts::service::{ChartError, Picture};
use crate::charts::{Chart, zone_name};
use crate::domain::{DatabaseName, IncidentId};
use crate::telegram::html::escape;

/// Telegram's limit on a photo's caption, in characters.
const MAX_CAPTION: usize = 1024;

/// Draws a chart: a new photo, or the photo `edit` replaced in place. A failure is said in a message
/// (the photo, if any, stays as it was).
pub(super) async fn draw(
    bot: &Bot,
    chat: ChatId,
    edit: Option<MessageId>,
    state: &BotState,
    (database, alias, span): (&DatabaseName, &str, Span),
) -> HandlerResult {
    let now = state.clock.now().timestamp();
    let picture = state
        .settings
        .charts()
        .chart(database, alias, span, now)
        .await;
    let title = state
        .settings
        .charts()
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
    let charting = state.settings.charts();
    let charts: Vec<&Chart> = charting.catalogue().of(database).collect();
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
    let mut text = format!(
        "{heading}\nTimes in {}",
        zone_name(state.settings.config().time_zone)
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

/// 📈 Graph on an alert message: its expression around its firing span, as a reply to it.
pub(super) async fn alert_graph(press: &Press, id: IncidentId) -> HandlerResult {
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
    match state.settings.charts().alert(&incident, now).await {
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
