//! What a run shows: a view's page (only that page's rows are read) with ◀ ▶ and CSV, the CSV document,
//! and an action's live progress (edited at most every few seconds, with Cancel) and its summary.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use teloxide::prelude::*;
use teloxide::types::{InputFile, MessageId, ParseMode};

use super::super::reply::{button, say, say_buttons, show};
use super::super::{BotState, HandlerResult, table};
use super::{PROGRESS_EVERY, not_allowed};
use crate::access::{Actor, Permission, Person};
use crate::callback::{Callback, Keyboard};
use crate::domain::DatabaseName;
use crate::exec::{ActionReport, Outcome, Progress};
use crate::operations::OpError;
use crate::store::{Dialogue, DialogueKind};
use crate::telegram::html::escape;

/// Runs the dialogue's item; a view shows page 0 (or edits `page` into `edit`).
pub async fn run(
    bot: &Bot,
    person: &Person,
    state: &Arc<BotState>,
    dialogue: Dialogue,
    edit: Option<(MessageId, usize)>,
) -> HandlerResult {
    let chat = ChatId(dialogue.chat_id);
    let database = dialogue.database.clone();
    if !state
        .may(
            person,
            super::permission(dialogue.kind == DialogueKind::Action),
            Some(database.as_str()),
        )
        .await?
    {
        // Removed (or made a viewer) since the dialogue began: nothing runs.
        state.store.end_dialogue(dialogue.id).await?;
        return not_allowed(bot, state, chat).await;
    }
    if let Some((_, _, arguments, _)) = super::arguments_of(state, &dialogue)
        && super::missing(&arguments, &dialogue).is_some()
    {
        // A secret lives in memory only: after a restart, or once expired, it is asked for again.
        return Box::pin(super::advance(bot, person, state, dialogue)).await;
    }
    let who = person.actor();
    if dialogue.kind == DialogueKind::Action {
        state.store.end_dialogue(dialogue.id).await?;
        // The dispatcher handles one update per chat at a time: the run goes on in its own task so
        // that the Cancel button of this very chat can be pressed meanwhile.
        let (bot, follower) = (bot.clone(), Arc::clone(state));
        state.operations.follow(async move {
            let state = follower;
            if let Err(e) = run_action(&bot, &state, chat, &who, &database, &dialogue).await {
                tracing::warn!(error = %e, "reporting an action's run failed");
            }
        });
        return Ok(());
    }
    view_page(bot, state, &who, dialogue, edit).await
}

/// One page of the dialogue's view: read up to that page (and one row more), shown with its buttons.
async fn view_page(
    bot: &Bot,
    state: &BotState,
    who: &Actor,
    dialogue: Dialogue,
    edit: Option<(MessageId, usize)>,
) -> HandlerResult {
    let (chat, database) = (ChatId(dialogue.chat_id), &dialogue.database);
    let title = state
        .operations
        .catalog()
        .view(&dialogue.alias)
        .map_or(dialogue.alias.clone(), |v| v.title.en().to_owned());
    let number = edit.map_or(0, |(_, page)| page);
    // Only this page's rows are kept: memory stays flat however many rows the view returns.
    let mut per_page = 0;
    let mut seen = 0;
    let mut kept: Vec<Vec<Option<String>>> = Vec::new();
    let result = state
        .operations
        .stream_view(
            who,
            database,
            &dialogue.alias,
            &dialogue.values(),
            // Enough rows for this page whatever its size, and one more to know a next page exists.
            Some((number + 1) * table::MAX_ROWS_PER_PAGE + 1),
            &mut |row| {
                if per_page == 0 {
                    per_page = table::rows_per_page(row.len());
                }
                if seen / per_page == number {
                    kept.push(row);
                }
                seen += 1;
            },
        )
        .await;
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            say(bot, state, chat, failure(&e)).await?;
            return Ok(());
        }
    };
    let per_page = table::rows_per_page(summary.columns.len());
    // Reading stopped after this page: when it was cut, a next page exists and the total is unknown.
    let pages = if summary.truncated {
        number + 2
    } else {
        summary.rows.div_ceil(per_page).max(1)
    };
    let text = table::render(
        &format!("{title} · {database}"),
        &table::PageRows {
            columns: &summary.columns,
            rows: &kept,
            start: number * per_page,
            total: summary.rows,
            truncated: summary.truncated,
        },
    );
    let keyboard = page_buttons(dialogue.id, number, pages);
    show(
        bot,
        state,
        chat,
        edit.map(|(message, _)| message),
        text,
        &keyboard,
    )
    .await?;
    Ok(())
}

/// ◀ and ▶ where there is a page that way, and the whole result as CSV.
fn page_buttons(dialogue: i64, number: usize, pages: usize) -> Keyboard {
    let mut row = Vec::new();
    if number > 0 {
        let page = number - 1;
        row.push(button("◀", Callback::Page { dialogue, page }));
    }
    if number + 1 < pages {
        let page = number + 1;
        row.push(button("▶", Callback::Page { dialogue, page }));
    }
    row.push(button("CSV", Callback::Csv(dialogue)));
    Keyboard::new(vec![row])
}

fn failure(error: &OpError) -> String {
    format!("⚠️ {}", escape(&error.to_string()))
}

/// The whole result of a dialogue's view as a CSV document.
pub async fn csv(
    bot: &Bot,
    person: &Person,
    state: &BotState,
    dialogue: Dialogue,
) -> HandlerResult {
    let chat = ChatId(dialogue.chat_id);
    let database = dialogue.database.clone();
    if !state
        .may(person, Permission::Read, Some(database.as_str()))
        .await?
    {
        return not_allowed(bot, state, chat).await;
    }
    let result = state
        .operations
        .view_csv(
            &person.actor(),
            &database,
            &dialogue.alias,
            &dialogue.values(),
        )
        .await;
    match result {
        Ok((header, file)) => {
            use tokio::io::AsyncReadExt;
            let reader =
                std::io::Cursor::new(header.into_bytes()).chain(tokio::fs::File::from_std(file));
            state.throttle.take(chat.0).await;
            let sent = bot
                .send_document(
                    chat,
                    InputFile::read(reader)
                        .file_name(format!("{}-{}.csv", dialogue.alias, database)),
                )
                .await;
            state.throttle.done(chat.0);
            sent?;
        }
        Err(e) => {
            say(bot, state, chat, failure(&e)).await?;
        }
    }
    Ok(())
}

/// Runs the dialogue's action, following it in a status message (with Cancel) that ends as its summary.
async fn run_action(
    bot: &Bot,
    state: &BotState,
    chat: ChatId,
    who: &Actor,
    database: &DatabaseName,
    dialogue: &Dialogue,
) -> HandlerResult {
    let catalog = state.operations.catalog();
    let Some(action) = catalog.actions.iter().find(|a| a.alias == dialogue.alias) else {
        return Ok(());
    };
    let title = action.title.en().to_owned();
    let stop = vec![vec![button(
        "⏹ Cancel",
        Callback::Stop {
            database: database.clone(),
            item: action.alias.clone(),
        },
    )]];
    let heading = format!(
        "<b>{}</b> on <b>{}</b>",
        escape(&title),
        escape(database.as_str())
    );
    let starting = format!("⏳ {heading}: starting…");
    let status = say_buttons(bot, state, chat, starting, stop.clone()).await?;
    // Steps report through a shared slot; the message is edited from it at most every few seconds.
    let latest: Arc<Mutex<Option<Progress>>> = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&latest);
    let on_step: Arc<dyn Fn(Progress) + Send + Sync> = Arc::new(move |p| {
        *sink.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
    });
    let values = dialogue.values();
    let started = state
        .operations
        .start_action(who, database, &dialogue.alias, &values, on_step)
        .await;
    let text = match started {
        Ok(run) => {
            // The same buttons as sent: their tokens are recorded already.
            let keyboard = Keyboard::new(stop).prepare();
            let place = (chat, status);
            let markup = keyboard.markup();
            match progress(bot, state, place, &heading, markup, &latest, run.finished()).await {
                Some(report) => summary(&title, database, &report),
                None => "❌ the run ended without a report".to_owned(),
            }
        }
        Err(e) => failure(&e),
    };
    show(bot, state, chat, Some(status), text, &Keyboard::default()).await?;
    Ok(())
}

/// Edits the status message with the latest step reported while the run goes on (at most every few
/// seconds, in the chat's turn); the run's report once it ends.
async fn progress(
    bot: &Bot,
    state: &BotState,
    (chat, status): (ChatId, MessageId),
    heading: &str,
    markup: &teloxide::types::InlineKeyboardMarkup,
    latest: &Mutex<Option<Progress>>,
    finished: impl Future<Output = Option<Arc<ActionReport>>>,
) -> Option<Arc<ActionReport>> {
    tokio::pin!(finished);
    let clock = Instant::now();
    let mut shown: Option<usize> = None;
    loop {
        tokio::select! {
            report = &mut finished => return report,
            () = tokio::time::sleep(PROGRESS_EVERY) => {}
        }
        let progress = latest.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(progress) = progress else { continue };
        if shown == Some(progress.step) && clock.elapsed() < PROGRESS_EVERY * 2 {
            continue;
        }
        shown = Some(progress.step);
        let text = format!(
            "⏳ {heading}: step {} of {} ({}), {}s",
            progress.step,
            progress.of,
            escape(&progress.name),
            clock.elapsed().as_secs()
        );
        // Progress shares the chat's turns with everything else sent there.
        state.throttle.take(chat.0).await;
        let _ = bot
            .edit_message_text(chat, status, text)
            .parse_mode(ParseMode::Html)
            .reply_markup(markup.clone())
            .await;
        state.throttle.done(chat.0);
    }
}

/// The result of an action: outcome, each step, the first rows returned, output tails.
fn summary(title: &str, database: &DatabaseName, report: &ActionReport) -> String {
    let (mark, outcome) = match &report.outcome {
        Outcome::Succeeded => ("✅", "done".to_owned()),
        Outcome::Failed { step, error } => ("❌", format!("failed at step {step}: {error}")),
        Outcome::Cancelled { step } => ("⏹", format!("cancelled at step {step}")),
        Outcome::TimedOut { step } => ("⌛", format!("timed out at step {step}")),
    };
    let mut text = format!(
        "{mark} <b>{}</b> on <b>{}</b>: {} ({:.1}s)\n",
        escape(title),
        escape(database.as_str()),
        escape(&outcome),
        report.duration.as_secs_f64()
    );
    for (i, step) in report.steps.iter().enumerate() {
        let mut line = format!("\n{}. {}", i + 1, escape(&step.name));
        if let Some(rows) = step.rows_affected {
            line.push_str(&format!(" · {rows} row(s)"));
        }
        if let Some(code) = step.exit_code {
            line.push_str(&format!(" · exit {code}"));
        }
        text.push_str(&line);
    }
    if let Some(table) = report.steps.iter().rev().find_map(|s| s.table.as_ref()) {
        let (page, _) = table::page("Returned", table, 0);
        if text.len() + page.len() < 3500 {
            text.push_str("\n\n");
            text.push_str(&page);
        }
    }
    for step in &report.steps {
        for (name, tail) in [("stdout", &step.stdout_tail), ("stderr", &step.stderr_tail)] {
            let tail: String = tail
                .chars()
                .rev()
                .take(600)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if !tail.trim().is_empty() && text.len() + tail.len() < 3800 {
                text.push_str(&format!(
                    "\n\n{} {name}:\n<pre>{}</pre>",
                    escape(&step.name),
                    escape(tail.trim_end())
                ));
            }
        }
    }
    text
}
