//! Buttons on alert messages: acknowledge, silence for a while (a real Alertmanager silence), expire
//! the silence. Each is allowed by the presser's role on the incident's database, checked at the press.

use std::time::Duration;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::context::Press;
use super::reply::{not_allowed, polite};
use super::{BotError, HandlerResult};
use crate::access::Permission;
use crate::callback::Callback;
use crate::domain::IncidentId;
use crate::silences::{NewSilence, matchers_for};
use crate::store::{AckOutcome, IncidentRecord};
use crate::tr;

/// The buttons this module answers.
pub fn buttons() -> UpdateHandler<BotError> {
    dptree::filter(|press: Press| {
        matches!(
            press.callback,
            Callback::Acknowledge(_) | Callback::Silence(..) | Callback::Unsilence(_)
        )
    })
    .endpoint(pressed)
}

async fn pressed(press: Press) -> HandlerResult {
    let result = match press.callback {
        Callback::Acknowledge(id) => acknowledge(&press, id).await,
        Callback::Silence(id, hours) => silence(&press, id, hours).await,
        Callback::Unsilence(id) => unsilence(&press, id).await,
        _ => Ok(()),
    };
    press.report(result).await
}

/// The incident behind a button, if the person may act on it (answering the press otherwise).
pub(super) async fn authorised(
    press: &Press,
    id: IncidentId,
    permission: Permission,
) -> Result<Option<IncidentRecord>, BotError> {
    let Some(incident) = press.state.store.incident_record(id).await? else {
        press
            .answer(&tr!(press.lang, "alert-incident-gone"))
            .await?;
        return Ok(None);
    };
    let database = incident.database.as_deref();
    if !press.state.may(&press.person, permission, database).await? {
        press.refuse(database, &not_allowed(press.lang)).await?;
        return Ok(None);
    }
    Ok(Some(incident))
}

async fn acknowledge(press: &Press, id: IncidentId) -> HandlerResult {
    let (state, person, lang) = (&press.state, &press.person, press.lang);
    let Some(incident) = authorised(press, id, Permission::Respond).await? else {
        return Ok(());
    };
    let who = person.display();
    let actor = person.actor();
    match state.store.acknowledge(id, &who, state.clock.now()).await? {
        AckOutcome::Acknowledged => {
            press.answer(&tr!(lang, "alert-ack-done")).await?;
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
            press
                .answer(&tr!(lang, "alert-ack-already", by = by))
                .await?;
        }
        AckOutcome::NotFound => press.answer(&tr!(lang, "alert-incident-gone")).await?,
    }
    Ok(())
}

async fn silence(press: &Press, id: IncidentId, hours: u32) -> HandlerResult {
    let (bot, state, person, place) = (&press.bot, &press.state, &press.person, press.place);
    let lang = press.lang;
    let Some(incident) = authorised(press, id, Permission::Respond).await? else {
        return Ok(());
    };
    let Some(alertmanager) = &state.settings.silences() else {
        press
            .answer(&tr!(lang, "alert-silence-needs-alertmanager"))
            .await?;
        return Ok(());
    };
    // Alertmanager may take seconds; the press is answered first.
    press
        .answer(&tr!(lang, "alert-silencing", hours = hours))
        .await?;
    let now = state.clock.now();
    let until = now + chrono::Duration::hours(i64::from(hours));
    let who = person.display();
    let request = NewSilence {
        matchers: matchers_for(&incident.labels),
        starts_at: now,
        ends_at: until,
        created_by: who.clone(),
        // Read in Alertmanager by the whole team: in the database's language.
        comment: {
            let database = incident.database.as_deref();
            let lang = state.settings.config().language_of(database);
            tr!(
                lang,
                "alert-silence-comment",
                id = id.to_string(),
                alertname = &incident.alertname,
                database = database.map_or_else(|| tr!(lang, "email-no-database"), str::to_owned),
            )
        },
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
                    let error = e.to_string();
                    let id = id.to_string();
                    bot.send_message(
                        chat,
                        tr!(lang, "alert-silence-failed", id = id, error = error),
                    )
                })
                .await?;
            }
        }
    }
    Ok(())
}

async fn unsilence(press: &Press, id: IncidentId) -> HandlerResult {
    let (bot, state, person, place) = (&press.bot, &press.state, &press.person, press.place);
    let (lang, number) = (press.lang, id.to_string());
    let Some(incident) = authorised(press, id, Permission::Respond).await? else {
        return Ok(());
    };
    let (Some(alertmanager), Some(silence_id)) = (&state.settings.silences(), &incident.silence_id)
    else {
        press.answer(&tr!(lang, "alert-no-silence")).await?;
        return Ok(());
    };
    press.answer(&tr!(lang, "alert-expiring")).await?;
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
                    bot.send_message(chat, tr!(lang, "alert-silence-expired", id = &number))
                })
                .await?;
            }
        }
        Ok(Err(e)) => {
            if let Some((chat, _)) = place {
                polite(state, chat, || {
                    let error = e.to_string();
                    bot.send_message(
                        chat,
                        tr!(lang, "alert-expire-failed", id = &number, error = error),
                    )
                })
                .await?;
            }
        }
        Err(_) => {
            if let Some((chat, _)) = place {
                polite(state, chat, || {
                    bot.send_message(chat, tr!(lang, "alert-expire-no-answer", id = &number))
                })
                .await?;
            }
        }
    }
    Ok(())
}
