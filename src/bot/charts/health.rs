//! `/status`: a health card per database, each row marked ✅ ⚠️ 🔴 ❔ against its thresholds, with
//! 📈 buttons to the charts its rows name.

use teloxide::prelude::*;

use super::super::reply::{button, show};
use super::super::{BotState, HandlerResult};
use super::shown;
use crate::access::Person;
use crate::callback::{Callback, Keyboard};
use crate::charts::fetch::Span;
use crate::charts::service::ChartError;
use crate::charts::status::{Level, Reading};
use crate::charts::{Chart, format_value};
use crate::domain::DatabaseName;
use crate::i18n::Lang;
use crate::telegram::html::escape;
use crate::tr;

/// `/status [database]`: one health card per database the person may read here.
pub(super) async fn status(
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
    let now = state.clock.now();
    let charting = state.settings.charts();
    // Every card's queries at once: the slowest database sets the pace, not their sum.
    let cards = futures_util::future::join_all(
        mine.iter()
            .map(|database| charting.status(database, now.timestamp())),
    )
    .await;
    for (database, card) in mine.iter().zip(cards) {
        let (text, rows) = health_card(state, database, card, now, lang);
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
    lang: Lang,
) -> (String, Rows) {
    let zone = state.settings.config().time_zone;
    let mut text = tr!(
        lang,
        "status-heading",
        database = escape(database.as_str()),
        time = now.with_timezone(&zone).format("%H:%M %:z").to_string(),
    );
    let readings = match card {
        Ok(readings) => readings,
        Err(e) => {
            text.push_str(&format!("\n❔ {}", escape(&e.text(lang))));
            return (text, Vec::new());
        }
    };
    if readings.is_empty() {
        text.push('\n');
        text.push_str(&tr!(lang, "status-no-rows"));
    }
    // When Prometheus failed every query, once is enough.
    let all_failed = readings.iter().all(|r| r.value.is_err());
    if let (true, Some(Err(e))) = (all_failed, readings.first().map(|r| &r.value)) {
        text.push_str(&format!("\n❔ {}", escape(&e.to_string())));
        return (text, Vec::new());
    }
    // The charts the rows name, each once, while this database still has them.
    let charting = state.settings.charts();
    let mut charts: Vec<&Chart> = Vec::new();
    for reading in &readings {
        text.push('\n');
        text.push_str(&card_line(reading, lang));
        let named = reading.row.chart.as_deref();
        if let Some(chart) = named.and_then(|alias| charting.catalogue().chart(alias))
            && chart.serves(database)
            && !charts.iter().any(|c| c.alias == chart.alias)
        {
            charts.push(chart);
        }
    }
    let rows = charts
        .chunks(2)
        .map(|pair| {
            pair.iter()
                .map(|chart| {
                    let open = Callback::Chart {
                        database: database.clone(),
                        chart: chart.alias.clone(),
                        span: Some(Span::Hour),
                    };
                    button(format!("📈 {}", chart.title.get(lang)), open)
                })
                .collect()
        })
        .collect();
    (text, rows)
}

fn card_line(reading: &Reading, lang: Lang) -> String {
    let row = &reading.row;
    let mark = match reading.level {
        Level::Ok => "✅",
        Level::Warning => "⚠️",
        Level::Critical => "🔴",
        Level::Unknown => "❔",
    };
    let value = match &reading.value {
        Ok(Some(v)) => format_value(row.unit, *v),
        Ok(None) => tr!(lang, "status-no-data"),
        Err(e) => e.to_string(),
    };
    let above = |t| tr!(lang, "status-above", value = format_value(row.unit, t));
    let below = |t| tr!(lang, "status-below", value = format_value(row.unit, t));
    let limit = match reading.level {
        Level::Critical => {
            (row.critical_above.map(above)).or_else(|| row.critical_below.map(below))
        }
        Level::Warning => (row.warn_above.map(above)).or_else(|| row.warn_below.map(below)),
        Level::Ok | Level::Unknown => None,
    };
    let limit = limit.map(|l| format!(" ({l})")).unwrap_or_default();
    format!(
        "{mark} {}: <b>{}</b>{}",
        escape(row.title.get(lang)),
        escape(&value),
        escape(&limit)
    )
}
