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
use crate::exec::{ActionReport, ExecError, Outcome, Progress, StepFailure};
use crate::i18n::Lang;
use crate::operations::OpError;
use crate::store::{Dialogue, DialogueKind};
use crate::telegram::html::escape;
use crate::tr;

/// Runs the dialogue's item; a view shows page 0 (or edits `page` into `edit`).
pub async fn run(
    bot: &Bot,
    person: &Person,
    state: &Arc<BotState>,
    dialogue: Dialogue,
    edit: Option<(MessageId, usize)>,
    lang: Lang,
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
        return not_allowed(bot, state, chat, lang).await;
    }
    if let Some((_, _, arguments, _)) = super::arguments_of(state, &dialogue)
        && super::missing(&arguments, &dialogue).is_some()
    {
        // A secret lives in memory only: after a restart, or once expired, it is asked for again.
        return Box::pin(super::advance(bot, person, state, dialogue, lang)).await;
    }
    let who = person.actor();
    if dialogue.kind == DialogueKind::Action {
        state.store.end_dialogue(dialogue.id).await?;
        // The dispatcher handles one update per chat at a time: the run goes on in its own task so
        // that the Cancel button of this very chat can be pressed meanwhile.
        let (bot, follower) = (bot.clone(), Arc::clone(state));
        state.operations.follow(async move {
            let state = follower;
            if let Err(e) = run_action(&bot, &state, chat, &who, &database, &dialogue, lang).await {
                tracing::warn!(error = %e, "reporting an action's run failed");
            }
        });
        return Ok(());
    }
    view_page(bot, state, &who, dialogue, edit, lang).await
}

/// One page of the dialogue's view: read up to that page (and one row more), shown with its buttons.
async fn view_page(
    bot: &Bot,
    state: &BotState,
    who: &Actor,
    dialogue: Dialogue,
    edit: Option<(MessageId, usize)>,
    lang: Lang,
) -> HandlerResult {
    let (chat, database) = (ChatId(dialogue.chat_id), &dialogue.database);
    let title = state
        .operations
        .catalog()
        .view(&dialogue.alias)
        .map_or(dialogue.alias.clone(), |v| v.title.get(lang).to_owned());
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
            say(bot, state, chat, failure(&e, lang)).await?;
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
        lang,
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

/// Why a run did not happen or failed, in `lang`.
fn failure(error: &OpError, lang: Lang) -> String {
    let text = match error {
        OpError::UnknownView(alias) => tr!(lang, "run-unknown-view", alias = alias),
        OpError::UnknownAction(alias) => tr!(lang, "run-unknown-action", alias = alias),
        OpError::UnknownDatabase(name) => tr!(lang, "run-unknown-database", database = name),
        OpError::NotServed { item, database } => {
            tr!(lang, "run-not-served", item = item, database = database)
        }
        OpError::Argument(e) => e.render(lang),
        OpError::TooManyViews(most) => tr!(lang, "run-too-many-views", count = *most),
        OpError::Busy { action, database } => {
            tr!(lang, "run-busy", action = action, database = database)
        }
        OpError::Exec { database, error } => {
            let error = exec_error(error, lang);
            tr!(lang, "run-exec-failed", database = database, error = error)
        }
        // The service's own failures: the person gets a reference into the log.
        OpError::Spool(_) | OpError::State(_) => super::super::internal(error, lang),
    };
    format!("⚠️ {}", escape(&text))
}

/// What went wrong on the administered database, in `lang`; PostgreSQL's own words stay as it said them.
fn exec_error(error: &ExecError, lang: Lang) -> String {
    match error {
        ExecError::TimedOut => tr!(lang, "exec-timed-out"),
        ExecError::Cancelled => tr!(lang, "exec-cancelled"),
        ExecError::Shell(reason) => tr!(lang, "exec-shell", reason = reason),
        ExecError::Unreachable(message) | ExecError::Invalid(message) => message.clone(),
        ExecError::Sql { message } => message.clone(),
    }
}

/// The whole result of a dialogue's view as a CSV document.
pub async fn csv(
    bot: &Bot,
    person: &Person,
    state: &BotState,
    dialogue: Dialogue,
    lang: Lang,
) -> HandlerResult {
    let chat = ChatId(dialogue.chat_id);
    let database = dialogue.database.clone();
    if !state
        .may(person, Permission::Read, Some(database.as_str()))
        .await?
    {
        return not_allowed(bot, state, chat, lang).await;
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
            say(bot, state, chat, failure(&e, lang)).await?;
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
    lang: Lang,
) -> HandlerResult {
    let catalog = state.operations.catalog();
    let Some(action) = catalog.actions.iter().find(|a| a.alias == dialogue.alias) else {
        return Ok(());
    };
    let title = action.title.get(lang).to_owned();
    let stop = vec![vec![button(
        tr!(lang, "runs-stop"),
        Callback::Stop {
            database: database.clone(),
            item: action.alias.clone(),
        },
    )]];
    let heading = tr!(
        lang,
        "runs-heading",
        title = escape(&title),
        database = escape(database.as_str())
    );
    let starting = tr!(lang, "runs-starting", heading = &heading);
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
            let following = Following {
                heading: &heading,
                markup,
                latest: &latest,
                lang,
            };
            match progress(bot, state, place, following, run.finished()).await {
                Some(report) => summary(&heading, &report, lang),
                None => tr!(lang, "runs-no-report"),
            }
        }
        Err(e) => failure(&e, lang),
    };
    show(bot, state, chat, Some(status), text, &Keyboard::default()).await?;
    Ok(())
}

/// What a status message follows: the run's heading, its Cancel button, the latest step reported, and
/// the language it is read in.
struct Following<'a> {
    heading: &'a str,
    markup: &'a teloxide::types::InlineKeyboardMarkup,
    latest: &'a Mutex<Option<Progress>>,
    lang: Lang,
}

/// Edits the status message with the latest step reported while the run goes on (at most every few
/// seconds, in the chat's turn); the run's report once it ends.
async fn progress(
    bot: &Bot,
    state: &BotState,
    (chat, status): (ChatId, MessageId),
    following: Following<'_>,
    finished: impl Future<Output = Option<Arc<ActionReport>>>,
) -> Option<Arc<ActionReport>> {
    let Following {
        heading,
        markup,
        latest,
        lang,
    } = following;
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
        let text = tr!(
            lang,
            "runs-progress",
            heading = heading,
            step = progress.step,
            of = progress.of,
            name = escape(&progress.name),
            seconds = clock.elapsed().as_secs()
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

/// Why a step failed, in the reader's language; what the database said stays as it said it.
fn step_failure(error: &StepFailure, lang: Lang) -> String {
    match error {
        StepFailure::Message(text) => text.clone(),
        StepFailure::Exited(code) => tr!(lang, "runs-step-exited", code = *code),
        StepFailure::Killed(signal) => tr!(lang, "runs-step-killed", signal = *signal),
        StepFailure::Abnormal => tr!(lang, "runs-step-abnormal"),
        StepFailure::ShellStart(reason) => tr!(lang, "runs-step-shell-start", reason = reason),
    }
}

/// The result of an action under its `heading` (title and database): outcome, each step, the first
/// rows returned, output tails.
fn summary(heading: &str, report: &ActionReport, lang: Lang) -> String {
    let (mark, outcome) = match &report.outcome {
        Outcome::Succeeded => ("✅", tr!(lang, "runs-done")),
        Outcome::Failed { step, error } => (
            "❌",
            tr!(
                lang,
                "runs-failed-at",
                step = *step,
                error = step_failure(error, lang)
            ),
        ),
        Outcome::Cancelled { step } => ("⏹", tr!(lang, "runs-cancelled-at", step = *step)),
        Outcome::TimedOut { step } => ("⌛", tr!(lang, "runs-timed-out-at", step = *step)),
    };
    let seconds = format!("{:.1}", report.duration.as_secs_f64());
    let mut text = tr!(
        lang,
        "runs-summary",
        mark = mark,
        heading = heading,
        outcome = escape(&outcome),
        seconds = seconds
    );
    text.push('\n');
    for (i, step) in report.steps.iter().enumerate() {
        let mut line = format!("\n{}. {}", i + 1, escape(&step.name));
        if let Some(rows) = step.rows_affected {
            line.push_str(" · ");
            line.push_str(&tr!(lang, "runs-rows-affected", count = rows));
        }
        if let Some(code) = step.exit_code {
            line.push_str(" · ");
            line.push_str(&tr!(lang, "runs-exit-code", code = code));
        }
        text.push_str(&line);
    }
    if let Some(table) = report.steps.iter().rev().find_map(|s| s.table.as_ref()) {
        let (page, _) = table::page(&tr!(lang, "runs-returned"), table, 0, lang);
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::exec::StepReport;

    fn report(rows: &[u64], outcome: Outcome) -> ActionReport {
        ActionReport {
            steps: rows
                .iter()
                .map(|n| StepReport {
                    name: format!("step{n}"),
                    rows_affected: Some(*n),
                    ..StepReport::default()
                })
                .collect(),
            outcome,
            duration: Duration::from_millis(1500),
        }
    }

    #[test]
    fn summaries_read_in_each_language_with_plural_rows() {
        let done = report(&[1, 3, 5, 21], Outcome::Succeeded);
        let heading = "<b>Vacuum</b>";
        let english = summary(heading, &done, Lang::En);
        assert!(
            english.starts_with("✅ <b>Vacuum</b>: done (1.5s)"),
            "{english}"
        );
        assert!(english.contains("step3 · 3 row(s)"), "{english}");
        let russian = summary(heading, &done, Lang::Ru);
        assert!(
            russian.starts_with("✅ <b>Vacuum</b>: готово (1.5 с)"),
            "{russian}"
        );
        for expected in ["1 строка", "3 строки", "5 строк", "21 строка"] {
            assert!(russian.contains(expected), "{expected} in {russian}");
        }
        let failed = report(&[], Outcome::TimedOut { step: 2 });
        assert!(summary(heading, &failed, Lang::Ru).contains("время вышло на шаге 2"));
        // A shell step's failure is worded in the reader's language; the database's own message is not.
        let exited = report(
            &[],
            Outcome::Failed {
                step: 1,
                error: StepFailure::Exited(3),
            },
        );
        assert!(summary(heading, &exited, Lang::Ru).contains("команда завершилась с кодом 3"));
        assert!(summary(heading, &exited, Lang::En).contains("the command exited with code 3"));
        let said = StepFailure::Message("division by zero".to_owned());
        let failed = report(
            &[],
            Outcome::Failed {
                step: 2,
                error: said,
            },
        );
        assert!(summary(heading, &failed, Lang::Ru).contains("ошибка на шаге 2: division by zero"));
    }

    #[test]
    fn run_failures_read_in_each_language() {
        let busy = OpError::Busy {
            action: "vacuum".to_owned(),
            database: "main".to_owned(),
        };
        assert_eq!(
            failure(&busy, Lang::En),
            "⚠️ vacuum is already running on main"
        );
        assert_eq!(
            failure(&busy, Lang::Ru),
            "⚠️ vacuum уже выполняется на main"
        );
        let late = OpError::Exec {
            database: "main".to_owned(),
            error: ExecError::TimedOut,
        };
        assert_eq!(failure(&late, Lang::Ru), "⚠️ main: время вышло");
    }
}
