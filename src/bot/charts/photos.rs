//! Chart photos: a chart of the catalogue drawn (new, or replacing the photo pressed), and the graph of
//! an alert, sent as a reply to its message. A failure is said in a message, never a broken photo.

use teloxide::prelude::*;
use teloxide::types::MessageId;

use super::super::alerts::authorised;
use super::super::context::Press;
use super::super::reply::{Photo, button, not_allowed, say, show_photo};
use super::super::{BotState, HandlerResult};
use super::span_row;
use crate::access::Permission;
use crate::callback::{Callback, Keyboard};
use crate::charts::fetch::Span;
use crate::charts::service::Picture;
use crate::charts::{Chart, zone_name};
use crate::domain::{DatabaseName, IncidentId};
use crate::i18n::Lang;
use crate::telegram::html::escape;
use crate::tr;

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
    lang: Lang,
) -> HandlerResult {
    let now = state.clock.now().timestamp();
    let picture = state
        .settings
        .charts()
        .chart(database, alias, span, now, lang)
        .await;
    let title = state
        .settings
        .charts()
        .catalogue()
        .chart(alias)
        .map_or(alias.to_owned(), |c| c.title.get(lang).to_owned());
    let heading = tr!(
        lang,
        "chart-heading",
        chart = escape(&title),
        database = escape(database.as_str()),
        span = span.name(),
    );
    let picture = match picture {
        Ok(picture) => picture,
        Err(e) => return failed(bot, chat, state, &heading, &e.text(lang)).await,
    };
    let all = Callback::Charts {
        database: Some(database.clone()),
    };
    let keyboard = Keyboard::new(vec![
        span_row(database, alias, Some(span)),
        neighbours(state, database, alias, span, lang),
        vec![button(tr!(lang, "charts-all"), all)],
    ]);
    let photo = Photo {
        caption: caption(&heading, &picture, state, lang),
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
    lang: Lang,
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
        button(format!("◀ {}", previous.title.get(lang)), to(previous)),
        button(format!("{} ▶", next.title.get(lang)), to(next)),
    ]
}

/// The heading, the zone of the times, and per series its last, min, max and average, within
/// Telegram's caption limit.
fn caption(heading: &str, picture: &Picture, state: &BotState, lang: Lang) -> String {
    let zone = zone_name(state.settings.config().time_zone);
    let mut text = format!("{heading}\n{}", tr!(lang, "chart-times-in", zone = zone));
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
    error: &str,
) -> HandlerResult {
    let text = format!("📈 {heading}\n{}", escape(error));
    say(bot, state, chat, text).await
}

/// 📈 Graph on an alert message: its expression around its firing span, as a reply to it.
pub(super) async fn alert_graph(press: &Press, id: IncidentId) -> HandlerResult {
    let Some(incident) = authorised(press, id, Permission::Read).await? else {
        return Ok(());
    };
    let (bot, state, lang) = (&press.bot, &press.state, press.lang);
    let Some((chat, message)) = press.place else {
        return press.answer("").await;
    };
    if !state.shows(chat, incident.database.as_deref()) {
        return press
            .refuse(incident.database.as_deref(), &not_allowed(lang))
            .await;
    }
    press.answer("").await?;
    let now = state.clock.now().timestamp();
    let database = match incident.database.as_deref() {
        Some(database) => database.to_owned(),
        None => tr!(lang, "chart-no-database"),
    };
    let heading = format!(
        "<b>{}</b> · {}",
        escape(&incident.alertname),
        escape(&database)
    );
    match state.settings.charts().alert(&incident, now, lang).await {
        Ok(picture) => {
            let photo = Photo {
                caption: caption(&heading, &picture, state, lang),
                png: picture.png,
            };
            let keyboard = Keyboard::default();
            show_photo(bot, state, chat, None, Some(message), photo, &keyboard).await?;
            Ok(())
        }
        Err(e) => failed(bot, chat, state, &heading, &e.text(lang)).await,
    }
}
