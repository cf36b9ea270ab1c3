//! A dialogue's steps: ask for the next missing argument (buttons for choices, a typed reply
//! otherwise), take the answer (checked, asked again with the error), confirm, run. Membership is
//! checked at every step.

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;

use super::super::reply::{button, say_buttons};
use super::super::{BotState, HandlerResult};
use super::{MAX_CHOICES, arguments_of, missing, not_allowed, permission, run};
use crate::access::Person;
use crate::callback::Callback;
use crate::catalog::{ArgType, Argument, MASK};
use crate::i18n::Lang;
use crate::store::{Dialogue, DialogueKind};
use crate::telegram::html::escape;
use crate::tr;

/// Whether the person may still go on with their dialogue (membership is checked at every step, so
/// a removed member is served no `choices_sql` and no typed value). Ends it, saying so, when not.
async fn still_allowed(
    bot: &Bot,
    person: &Person,
    state: &BotState,
    dialogue: &Dialogue,
    lang: Lang,
) -> Result<bool, super::BotError> {
    let actions = dialogue.kind == DialogueKind::Action;
    let database = Some(dialogue.database.as_str());
    if state.may(person, permission(actions), database).await? {
        return Ok(true);
    }
    state.store.end_dialogue(dialogue.id).await?;
    not_allowed(bot, state, ChatId(dialogue.chat_id), lang).await?;
    Ok(false)
}

/// Asks for the next missing argument, or confirms, or runs.
pub(super) async fn advance(
    bot: &Bot,
    person: &Person,
    state: &Arc<BotState>,
    mut dialogue: Dialogue,
    lang: Lang,
) -> HandlerResult {
    let chat = ChatId(dialogue.chat_id);
    if !still_allowed(bot, person, state, &dialogue, lang).await? {
        return Ok(());
    }
    let Some((actions, title, arguments, confirm)) = arguments_of(state, &dialogue) else {
        state.store.end_dialogue(dialogue.id).await?;
        return Ok(());
    };
    if let Some(argument) = missing(&arguments, &dialogue) {
        return ask(bot, state, &mut dialogue, argument, None, lang).await;
    }
    if actions && confirm {
        let mut text = tr!(
            lang,
            "runs-confirm",
            title = escape(title.get(lang)),
            database = escape(dialogue.database.as_str())
        );
        text.push('\n');
        for argument in &arguments {
            let shown = match dialogue.arguments.get(&argument.name) {
                _ if dialogue.secrets.contains_key(&argument.name) => MASK.to_owned(),
                Some(value) => value.clone(),
                None => argument
                    .default
                    .as_ref()
                    .map_or_else(|| tr!(lang, "runs-no-value"), |d| d.shown()),
            };
            text.push_str(&format!(
                "\n{}: <code>{}</code>",
                escape(&argument.name),
                escape(&shown)
            ));
        }
        let rows = vec![vec![
            button(tr!(lang, "runs-run"), Callback::Confirm(dialogue.id)),
            button(tr!(lang, "runs-cancel"), Callback::Abort(dialogue.id)),
        ]];
        say_buttons(bot, state, chat, text, rows).await?;
        return Ok(());
    }
    run(bot, person, state, dialogue, None, lang).await
}

/// An argument's type as people read it ("int", "целое число").
fn kind_name(kind: &ArgType, lang: Lang) -> String {
    match kind {
        ArgType::String { .. } => tr!(lang, "arg-type-string"),
        ArgType::Int { .. } => tr!(lang, "arg-type-int"),
        ArgType::Bool => tr!(lang, "arg-type-bool"),
        ArgType::Enum { .. } => tr!(lang, "arg-type-enum"),
        ArgType::Duration => tr!(lang, "arg-type-duration"),
        ArgType::Identifier(_) => tr!(lang, "arg-type-identifier"),
        ArgType::Secret { .. } => tr!(lang, "arg-type-secret"),
    }
}

async fn ask(
    bot: &Bot,
    state: &BotState,
    dialogue: &mut Dialogue,
    argument: &Argument,
    problem: Option<String>,
    lang: Lang,
) -> HandlerResult {
    let chat = ChatId(dialogue.chat_id);
    let mut offered: Vec<(String, String)> = match &argument.kind {
        ArgType::Enum { choices } => choices.iter().map(|c| (c.clone(), c.clone())).collect(),
        ArgType::Bool => vec![
            ("true".into(), tr!(lang, "runs-yes")),
            ("false".into(), tr!(lang, "runs-no")),
        ],
        _ => Vec::new(),
    };
    if let Some(sql) = &argument.choices_sql
        && let Some(target) = state.operations.target_of(dialogue.database.as_str())
    {
        match target
            .choices(sql, Duration::from_secs(10), MAX_CHOICES)
            .await
        {
            Ok(rows) => offered = rows,
            Err(e) => tracing::warn!(argument = %argument.name, error = %e, "choices_sql failed"),
        }
    }
    offered.truncate(MAX_CHOICES);
    let mut text = String::new();
    if let Some(problem) = problem {
        text.push_str(&format!("⚠️ {}\n\n", escape(&problem)));
    }
    text.push_str(&tr!(
        lang,
        "runs-argument",
        name = escape(&argument.name),
        kind = kind_name(&argument.kind, lang)
    ));
    if !argument.description.is_empty() {
        text.push_str(&format!(": {}", escape(&argument.description)));
    }
    text.push('\n');
    text.push_str(&if offered.is_empty() {
        tr!(lang, "runs-reply-value")
    } else {
        tr!(lang, "runs-choose-or-reply")
    });
    dialogue.awaiting = Some(argument.name.clone());
    dialogue.choices = offered.iter().map(|(value, _)| value.clone()).collect();
    state
        .store
        .update_dialogue(dialogue, state.clock.now())
        .await?;
    let mut rows: Vec<Vec<(String, Callback)>> = offered
        .into_iter()
        .enumerate()
        .map(|(i, (_, label))| {
            vec![button(
                label,
                Callback::Choose {
                    dialogue: dialogue.id,
                    choice: i,
                },
            )]
        })
        .collect();
    rows.push(vec![button(
        tr!(lang, "runs-cancel"),
        Callback::Abort(dialogue.id),
    )]);
    say_buttons(bot, state, chat, text, rows).await?;
    Ok(())
}

/// A value for the argument a dialogue waits for (typed, or a chosen button).
pub async fn answer(
    bot: &Bot,
    person: &Person,
    state: &Arc<BotState>,
    mut dialogue: Dialogue,
    raw: &str,
    lang: Lang,
) -> HandlerResult {
    if !still_allowed(bot, person, state, &dialogue, lang).await? {
        return Ok(());
    }
    let Some((_, _, arguments, _)) = arguments_of(state, &dialogue) else {
        return Ok(());
    };
    let Some(argument) = dialogue
        .awaiting
        .as_ref()
        .and_then(|name| arguments.iter().find(|a| &a.name == name))
        .cloned()
    else {
        return Ok(());
    };
    match argument.parse(raw) {
        Ok(_) => {
            let values = if matches!(argument.kind, ArgType::Secret { .. }) {
                &mut dialogue.secrets
            } else {
                &mut dialogue.arguments
            };
            values.insert(argument.name.clone(), raw.trim().to_owned());
            dialogue.awaiting = None;
            dialogue.choices.clear();
            state
                .store
                .update_dialogue(&dialogue, state.clock.now())
                .await?;
            advance(bot, person, state, dialogue, lang).await
        }
        Err(e) => {
            let problem = Some(e.render(lang));
            ask(bot, state, &mut dialogue, &argument, problem, lang).await
        }
    }
}

/// Typed text in a chat where the person's dialogue waits for a value; `false` when none waits.
pub async fn typed(
    bot: &Bot,
    message: &Message,
    person: &Person,
    state: &Arc<BotState>,
    lang: Lang,
) -> Result<bool, super::BotError> {
    let Some(text) = message.text() else {
        return Ok(false);
    };
    let Some(dialogue) = state
        .store
        .awaiting_dialogue(person.id.get(), message.chat.id.0)
        .await?
    else {
        return Ok(false);
    };
    let secret = arguments_of(state, &dialogue)
        .and_then(|(_, _, arguments, _)| {
            arguments
                .into_iter()
                .find(|a| Some(&a.name) == dialogue.awaiting.as_ref())
        })
        .is_some_and(|a| matches!(a.kind, ArgType::Secret { .. }));
    if secret {
        // A secret should not stay in the chat history.
        if let Err(e) = bot.delete_message(message.chat.id, message.id).await {
            tracing::warn!(error = %e, "could not delete a message holding a secret");
        }
    }
    answer(bot, person, state, dialogue, text, lang).await?;
    Ok(true)
}
