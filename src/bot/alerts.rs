//! Buttons on alert messages: acknowledge, silence for a while (a real Alertmanager silence), expire
//! the silence. Each is allowed by the presser's role on the incident's database, checked at the press.

use std::time::Duration;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::context::Press;
use super::reply::{NOT_ALLOWED, polite};
use super::{BotError, HandlerResult};
use crate::access::Permission;
use crate::callback::Callback;
use crate::domain::IncidentId;
use crate::silences::{NewSilence, matchers_for};
use crate::store::{AckOutcome, IncidentRecord};

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
        press.answer("This incident no longer exists.").await?;
        return Ok(None);
    };
    let database = incident.database.as_deref();
    if !press.state.may(&press.person, permission, database).await? {
        press.refuse(database, NOT_ALLOWED).await?;
        return Ok(None);
    }
    Ok(Some(incident))
}

async fn acknowledge(press: &Press, id: IncidentId) -> HandlerResult {
    let (state, person) = (&press.state, &press.person);
    let Some(incident) = authorised(press, id, Permission::Respond).await? else {
        return Ok(());
    };
    let who = person.display();
    let actor = person.actor();
    match state.store.acknowledge(id, &who, state.clock.now()).await? {
        AckOutcome::Acknowledged => {
            press
                .answer("Acknowledged: everyone sees you are on it.")
                .await?;
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
                .answer(&format!("Already acknowledged by {by}."))
                .await?;
        }
        AckOutcome::NotFound => press.answer("This incident no longer exists.").await?,
    }
    Ok(())
}

async fn silence(press: &Press, id: IncidentId, hours: u32) -> HandlerResult {
    let (bot, state, person, place) = (&press.bot, &press.state, &press.person, press.place);
    let Some(incident) = authorised(press, id, Permission::Respond).await? else {
        return Ok(());
    };
    let Some(alertmanager) = &state.settings.silences() else {
        press
            .answer("Silences need alertmanager.url in the configuration.")
            .await?;
        return Ok(());
    };
    // Alertmanager may take seconds; the press is answered first.
    press.answer(&format!("Silencing for {hours}h…")).await?;
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

async fn unsilence(press: &Press, id: IncidentId) -> HandlerResult {
    let (bot, state, person, place) = (&press.bot, &press.state, &press.person, press.place);
    let Some(incident) = authorised(press, id, Permission::Respond).await? else {
        return Ok(());
    };
    let (Some(alertmanager), Some(silence_id)) = (&state.settings.silences(), &incident.silence_id)
    else {
        press.answer("There is no silence to expire.").await?;
        return Ok(());
    };
    press.answer("Expiring the silence…").await?;
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
