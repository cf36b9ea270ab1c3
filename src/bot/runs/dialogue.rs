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
use crate::store::{Dialogue, DialogueKind};
use crate::telegram::html::escape;

/// Whether the person may still go on with their dialogue (membership is checked at every step, so
/// a removed member is served no `choices_sql` and no typed value). Ends it, saying so, when not.
async fn still_allowed(
    bot: &Bot,
    person: &Person,
    state: &BotState,
    dialogue: &Dialogue,
) -> Result<bool, super::BotError> {
    let actions = dialogue.kind == DialogueKind::Action;
    let database = Some(dialogue.database.as_str());
    if state.may(person, permission(actions), database).await? {
        return Ok(true);
    }
    state.store.end_dialogue(dialogue.id).await?;
    not_allowed(bot, state, ChatId(dialogue.chat_id)).await?;
    Ok(false)
}

/// Asks for the next missing argument, or confirms, or runs.
pub(super) async fn advance(
    bot: &Bot,
    person: &Person,
    state: &Arc<BotState>,
    mut dialogue: Dialogue,
) -> HandlerResult {
    let chat = ChatId(dialogue.chat_id);
    if !still_allowed(bot, person, state, &dialogue).await? {
        return Ok(());
    }
    let Some((actions, title, arguments, confirm)) = arguments_of(state, &dialogue) else {
        state.store.end_dialogue(dialogue.id).await?;
        return Ok(());
    };
    if let Some(argument) = missing(&arguments, &dialogue) {
        return ask(bot, state, &mut dialogue, argument, None).await;
    }
    if actions && confirm {
        let mut text = format!(
            "Run <b>{}</b> on <b>{}</b>?\n",
            escape(&title),
            escape(dialogue.database.as_str())
        );
        for argument in &arguments {
            let shown = match dialogue.arguments.get(&argument.name) {
                _ if dialogue.secrets.contains_key(&argument.name) => MASK.to_owned(),
                Some(value) => value.clone(),
                None => argument
                    .default
                    .as_ref()
                    .map_or("(none)".to_owned(), |d| d.shown()),
            };
            text.push_str(&format!(
                "\n{}: <code>{}</code>",
                escape(&argument.name),
                escape(&shown)
            ));
        }
        let rows = vec![vec![
            button("✅ Run", Callback::Confirm(dialogue.id)),
            button("✖ Cancel", Callback::Abort(dialogue.id)),
        ]];
        say_buttons(bot, state, chat, text, rows).await?;
        return Ok(());
    }
    run(bot, person, state, dialogue, None).await
}

async fn ask(
    bot: &Bot,
    state: &BotState,
    dialogue: &mut Dialogue,
    argument: &Argument,
    problem: Option<String>,
) -> HandlerResult {
    let chat = ChatId(dialogue.chat_id);
    let mut offered: Vec<(String, String)> = match &argument.kind {
        ArgType::Enum { choices } => choices.iter().map(|c| (c.clone(), c.clone())).collect(),
        ArgType::Bool => vec![("true".into(), "yes".into()), ("false".into(), "no".into())],
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
    text.push_str(&format!(
        "<b>{}</b> ({})",
        escape(&argument.name),
        argument.kind.name()
    ));
    if !argument.description.is_empty() {
        text.push_str(&format!(": {}", escape(&argument.description)));
    }
    text.push_str(if offered.is_empty() {
        "\nReply with the value."
    } else {
        "\nChoose, or reply with a value."
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
    rows.push(vec![button("✖ Cancel", Callback::Abort(dialogue.id))]);
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
) -> HandlerResult {
    if !still_allowed(bot, person, state, &dialogue).await? {
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
            advance(bot, person, state, dialogue).await
        }
        Err(e) => ask(bot, state, &mut dialogue, &argument, Some(e.to_string())).await,
    }
}

/// Typed text in a chat where the person's dialogue waits for a value; `false` when none waits.
pub async fn typed(
    bot: &Bot,
    message: &Message,
    person: &Person,
    state: &Arc<BotState>,
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
    answer(bot, person, state, dialogue, text).await?;
    Ok(true)
}
