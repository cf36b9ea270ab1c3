//! Button presses. Every press is answered at once (or the button spins), authorised by the person who
//! pressed it (in groups too), and refusals are audited.

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{MaybeInaccessibleMessage, MessageId};

use super::reply::{NOT_ALLOWED, answer, polite, refuse};
use super::{BotState, HandlerResult, admins, lists, runs, tokens};
use crate::access::{Permission, Person};
use crate::callback::{self, Callback};
use crate::domain::IncidentId;
use crate::silences::{NewSilence, matchers_for};
use crate::store::{AckOutcome, IncidentRecord};

/// The answer to a press of a button this message does not carry (any more): most often one an edit
/// replaced or `telegram.buttons_ttl` forgot, so it says where current ones are.
const NOT_OURS: &str =
    "Not allowed: this button is no longer valid here. /alerts and the lists give current ones.";

pub async fn pressed(bot: Bot, query: CallbackQuery, state: Arc<BotState>) -> HandlerResult {
    let Some(person) = BotState::person(&query.from) else {
        return Ok(());
    };
    let place = query.message.as_ref().map(|m| match m {
        MaybeInaccessibleMessage::Regular(m) => (m.chat.id, m.id),
        MaybeInaccessibleMessage::Inaccessible(m) => (m.chat.id, m.message_id),
    });
    let data = query.data.as_deref().unwrap_or_default();
    let callback = match place {
        Some((chat, message)) => {
            callback::pressed(&state.store, chat.0, i64::from(message.0), data).await?
        }
        None => None,
    };
    // Data the bot did not put on this message: forged, copied from another message, or too old.
    let Some(callback) = callback else {
        return refuse(&bot, &query, &state, &person, None, data, NOT_OURS).await;
    };
    if state.known(&person).await?.is_none() {
        let button = callback.encode();
        refuse(&bot, &query, &state, &person, None, &button, NOT_ALLOWED).await?;
        return Ok(());
    }
    match callback.clone() {
        Callback::Acknowledge(id) => acknowledge(&bot, &query, &state, &person, id).await,
        Callback::Silence(id, hours) => {
            silence(&bot, &query, &state, &person, id, hours, place).await
        }
        Callback::Unsilence(id) => unsilence(&bot, &query, &state, &person, id, place).await,
        Callback::ListAlerts => {
            answer(&bot, &query, "").await?;
            match place {
                Some((chat, _)) => lists::alerts(&bot, chat, &person, &state).await,
                None => Ok(()),
            }
        }
        Callback::Items { actions, database } => {
            answer(&bot, &query, "").await?;
            match (place, state.database_index(&database)) {
                (Some((chat, _)), Some(database)) => {
                    runs::items(&bot, chat, &person, &state, actions, database).await
                }
                _ => Ok(()),
            }
        }
        Callback::Pick {
            actions,
            database,
            item,
        } => {
            answer(&bot, &query, "").await?;
            let Some((chat, _)) = place else {
                return Ok(());
            };
            let item_on = runs::ItemOn {
                actions,
                database: &database,
                alias: &item,
            };
            runs::pick(&bot, chat, &person, &state, item_on, None).await
        }
        Callback::Link {
            actions,
            incident,
            item,
        } => {
            let Some(record) =
                authorised(&bot, &query, &state, &person, incident, &callback).await?
            else {
                return Ok(());
            };
            answer(&bot, &query, "").await?;
            let (Some((chat, _)), Some(database)) = (
                place,
                record
                    .database
                    .as_deref()
                    .and_then(|d| crate::domain::DatabaseName::parse(d).ok()),
            ) else {
                return Ok(());
            };
            let item_on = runs::ItemOn {
                actions,
                database: &database,
                alias: &item,
            };
            runs::pick(&bot, chat, &person, &state, item_on, Some(&record.labels)).await
        }
        Callback::Choose { dialogue, choice } => {
            let Some(dialogue) = own_dialogue(&bot, &query, &state, &person, dialogue).await?
            else {
                return Ok(());
            };
            answer(&bot, &query, "").await?;
            match dialogue.choices.get(choice).cloned() {
                Some(value) => runs::answer(&bot, &person, &state, dialogue, &value).await,
                None => Ok(()),
            }
        }
        Callback::Confirm(dialogue) => {
            let Some(dialogue) = own_dialogue(&bot, &query, &state, &person, dialogue).await?
            else {
                return Ok(());
            };
            answer(&bot, &query, "Running…").await?;
            runs::run(&bot, &person, &state, dialogue, None).await
        }
        Callback::Abort(dialogue) => {
            if let Some(dialogue) = own_dialogue(&bot, &query, &state, &person, dialogue).await? {
                state.store.end_dialogue(dialogue.id).await?;
                answer(&bot, &query, "Cancelled.").await?;
            }
            Ok(())
        }
        Callback::Page { dialogue, page } => {
            let Some(dialogue) = own_dialogue(&bot, &query, &state, &person, dialogue).await?
            else {
                return Ok(());
            };
            answer(&bot, &query, "").await?;
            match place {
                Some((_, message)) => {
                    runs::run(&bot, &person, &state, dialogue, Some((message, page))).await
                }
                None => Ok(()),
            }
        }
        Callback::Csv(dialogue) => {
            let Some(dialogue) = own_dialogue(&bot, &query, &state, &person, dialogue).await?
            else {
                return Ok(());
            };
            answer(&bot, &query, "Preparing the CSV…").await?;
            runs::csv(&bot, &person, &state, dialogue).await
        }
        Callback::Stop {
            database: db,
            item: alias,
        } => {
            if !state
                .may(&person, Permission::RunActions, Some(db.as_str()))
                .await?
            {
                let button = callback.encode();
                return refuse(&bot, &query, &state, &person, None, &button, NOT_ALLOWED).await;
            }
            let text = if state.operations.cancel(&db, &alias) {
                "Cancelling…"
            } else {
                "It is not running."
            };
            answer(&bot, &query, text).await
        }
        Callback::Members { database } => {
            answer(&bot, &query, "").await?;
            let index = match &database {
                Some(name) => match state.database_index(name) {
                    Some(index) => Some(index),
                    None => return Ok(()),
                },
                None => None,
            };
            match place {
                Some((chat, message)) => {
                    admins::show(&bot, chat, Some(message), &person, &state, index).await
                }
                None => Ok(()),
            }
        }
        Callback::MemberAdd { .. }
        | Callback::MemberInvite { .. }
        | Callback::MemberSet { .. }
        | Callback::MemberRebind { .. } => {
            admins::pressed(&bot, &query, &state, &person, &callback, place).await
        }
        Callback::TokenNew { .. } | Callback::TokenRevoke(_) | Callback::TokenHide => {
            tokens::pressed(&bot, &query, &state, &person, &callback, place).await
        }
        Callback::Incidents { database, before } => {
            answer(&bot, &query, "").await?;
            let name = database.map(|d| d.to_string()).unwrap_or_default();
            match place {
                Some((chat, message)) => {
                    lists::incidents(&bot, chat, Some(message), &person, &state, &name, before)
                        .await
                }
                None => Ok(()),
            }
        }
    }
}

/// The dialogue behind a button, if it is the presser's own (answering the press otherwise).
async fn own_dialogue(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    person: &Person,
    id: i64,
) -> Result<Option<crate::store::Dialogue>, super::BotError> {
    match state.store.dialogue(id).await? {
        Some(dialogue) if dialogue.user_id == person.id.get() => Ok(Some(dialogue)),
        Some(_) => {
            answer(bot, query, "This is someone else's request.").await?;
            Ok(None)
        }
        None => {
            answer(bot, query, "This request is over; start again.").await?;
            Ok(None)
        }
    }
}

/// The incident behind a button, if the person may act on it (answering the press otherwise).
async fn authorised(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    person: &Person,
    id: IncidentId,
    callback: &Callback,
) -> Result<Option<IncidentRecord>, super::BotError> {
    let Some(incident) = state.store.incident_record(id).await? else {
        answer(bot, query, "This incident no longer exists.").await?;
        return Ok(None);
    };
    let permission = match callback {
        Callback::Link { actions, .. } => runs::permission(*actions),
        _ => Permission::Respond,
    };
    if !state
        .may(person, permission, incident.database.as_deref())
        .await?
    {
        let database = incident.database.as_deref();
        refuse(
            bot,
            query,
            state,
            person,
            database,
            &callback.encode(),
            NOT_ALLOWED,
        )
        .await?;
        return Ok(None);
    }
    Ok(Some(incident))
}

async fn acknowledge(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    person: &Person,
    id: IncidentId,
) -> HandlerResult {
    let callback = Callback::Acknowledge(id);
    let Some(incident) = authorised(bot, query, state, person, id, &callback).await? else {
        return Ok(());
    };
    let who = person.display();
    let actor = person.actor();
    match state.store.acknowledge(id, &who, state.clock.now()).await? {
        AckOutcome::Acknowledged => {
            answer(bot, query, "Acknowledged: everyone sees you are on it.").await?;
            state.wake.notify_one();
            state
                .store
                .audit(
                    &actor,
                    "acknowledge",
                    incident.database.as_deref(),
                    &serde_json::json!({ "incident": id }),
                    state.clock.now(),
                )
                .await?;
        }
        AckOutcome::AlreadyBy(by) => {
            answer(bot, query, &format!("Already acknowledged by {by}.")).await?;
        }
        AckOutcome::NotFound => answer(bot, query, "This incident no longer exists.").await?,
    }
    Ok(())
}

async fn silence(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    person: &Person,
    id: IncidentId,
    hours: u32,
    place: Option<(ChatId, MessageId)>,
) -> HandlerResult {
    let callback = Callback::Silence(id, hours);
    let Some(incident) = authorised(bot, query, state, person, id, &callback).await? else {
        return Ok(());
    };
    let Some(alertmanager) = &state.alertmanager else {
        answer(
            bot,
            query,
            "Silences need alertmanager.url in the configuration.",
        )
        .await?;
        return Ok(());
    };
    // Alertmanager may take seconds; the press is answered first.
    answer(bot, query, &format!("Silencing for {hours}h…")).await?;
    let now = state.clock.now();
    let until = now + chrono::Duration::hours(i64::from(hours));
    let who = person.display();
    let request = NewSilence {
        matchers: matchers_for(&incident.labels),
        starts_at: now,
        ends_at: until,
        created_by: who.clone(),
        comment: format!(
            "From Postgram, incident #{id}: {} on {}",
            incident.alertname,
            incident.database.as_deref().unwrap_or("no database")
        ),
    };
    match alertmanager.create(&request).await {
        Ok(silence_id) => {
            state
                .store
                .set_silence(id, Some((&who, &silence_id, until)), now)
                .await?;
            state.wake.notify_one();
            state
                .store
                .audit(
                    &person.actor(),
                    "silence",
                    incident.database.as_deref(),
                    &serde_json::json!({ "incident": id, "silence": silence_id, "hours": hours }),
                    now,
                )
                .await?;
        }
        Err(e) => {
            tracing::warn!(incident = %id, error = %e, "creating a silence failed");
            if let Some((chat, _)) = place {
                polite(state, chat, || {
                    bot.send_message(chat, format!("Could not create the silence for #{id}: {e}"))
                })
                .await?;
            }
        }
    }
    Ok(())
}

async fn unsilence(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    person: &Person,
    id: IncidentId,
    place: Option<(ChatId, MessageId)>,
) -> HandlerResult {
    let callback = Callback::Unsilence(id);
    let Some(incident) = authorised(bot, query, state, person, id, &callback).await? else {
        return Ok(());
    };
    let (Some(alertmanager), Some(silence_id)) = (&state.alertmanager, &incident.silence_id) else {
        answer(bot, query, "There is no silence to expire.").await?;
        return Ok(());
    };
    answer(bot, query, "Expiring the silence…").await?;
    let expired =
        tokio::time::timeout(Duration::from_secs(10), alertmanager.expire(silence_id)).await;
    match expired {
        Ok(Ok(())) => {
            state.store.set_silence(id, None, state.clock.now()).await?;
            state.wake.notify_one();
            state
                .store
                .audit(
                    &person.actor(),
                    "expire silence",
                    incident.database.as_deref(),
                    &serde_json::json!({ "incident": id, "silence": silence_id }),
                    state.clock.now(),
                )
                .await?;
            if let Some((chat, _)) = place {
                polite(state, chat, || {
                    bot.send_message(chat, format!("🔔 The silence of #{id} is expired."))
                })
                .await?;
            }
        }
        Ok(Err(e)) => {
            if let Some((chat, _)) = place {
                polite(state, chat, || {
                    bot.send_message(chat, format!("Could not expire the silence of #{id}: {e}"))
                })
                .await?;
            }
        }
        Err(_) => {
            if let Some((chat, _)) = place {
                polite(state, chat, || {
                    bot.send_message(
                        chat,
                        format!(
                            "Alertmanager did not answer; the silence of #{id} may still be active."
                        ),
                    )
                })
                .await?;
            }
        }
    }
    Ok(())
}
