//! Telegram jobs: alert messages sent and edited, notices, and what a failed call
//! means for the job (wait for the chat, follow a migration, give up on an unreachable recipient).

use std::sync::Arc;
use std::time::Duration;

use super::{Outcome, Worker, backoff};
use crate::access::{Identity, Permission, Person, may};
use crate::callback::Callback;
use crate::delivery::render;
use crate::domain::TelegramUserId;
use crate::domain::{MemberKey, Recipient};
use crate::i18n::Lang;
use crate::store::{ClaimedJob, IncidentRecord, JobKind, StoreError};
use crate::telegram::client::SendError;
use crate::telegram::html::escape;
use crate::tr;

/// A job whose chat is busy for longer than this goes back to the outbox instead of waiting.
const MAX_WAIT: Duration = Duration::from_millis(1500);
/// The result of a send or edit to a person who may no longer read the incident's database.
const DROPPED: &str = "dropped: the recipient may no longer read this database";

/// Why Telegram will not deliver to a recipient, told to the owners and in the fallback email.
pub(super) enum Unreachable<'a> {
    /// A person known only by @username who never wrote to the bot: no chat to send to.
    NeverWrote,
    /// Telegram's own description (blocked, chat not found…), in Telegram's words.
    Said(&'a str),
}

impl Unreachable<'_> {
    fn text(&self, lang: Lang) -> String {
        match self {
            Unreachable::NeverWrote => tr!(lang, "alert-unreachable-never-wrote"),
            Unreachable::Said(why) => (*why).to_owned(),
        }
    }
}

impl Worker {
    /// The chat a recipient reaches, following usernames and supergroup migrations.
    pub(super) async fn chat_of(&self, recipient: &str) -> Result<Option<i64>, StoreError> {
        match recipient.parse::<Recipient>() {
            Ok(Recipient::Member(MemberKey::Id(id))) => Ok(Some(id.get())),
            // A username reaches only the account bound to it, never whoever carries it today.
            Ok(Recipient::Member(MemberKey::Username(name))) => Ok(self
                .store
                .binding(name.as_str())
                .await?
                .map(|bound| bound.user_id)),
            Ok(Recipient::Chat(chat)) => self.store.current_chat(chat.0).await.map(Some),
            Err(e) => {
                tracing::error!(recipient, error = %e, "outbox job with an unknown recipient");
                Ok(None)
            }
        }
    }

    pub(super) fn chat_lock(&self, chat: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(chats.entry(chat).or_default())
    }

    /// How long until the chat's turn, when that is too far off to wait for (without taking it).
    pub(super) fn busy(&self, chat: i64) -> Option<Duration> {
        self.busy_for(chat, MAX_WAIT)
    }

    /// How long until the chat's turn, when that is more than `patience` away.
    pub(super) fn busy_for(&self, chat: i64, patience: Duration) -> Option<Duration> {
        let wait = self
            .throttle
            .next_free(chat)
            .saturating_duration_since(tokio::time::Instant::now());
        (wait > patience).then_some(wait)
    }

    /// Waits for the chat's turn, or says to come back later when that is far off.
    pub(super) async fn turn(&self, chat: i64) -> Option<Duration> {
        let wait = self
            .throttle
            .next_free(chat)
            .saturating_duration_since(tokio::time::Instant::now());
        if wait > MAX_WAIT || self.stop.is_cancelled() {
            return Some(wait);
        }
        tokio::select! {
            () = self.throttle.take(chat) => None,
            // Shutting down: the job waits in the outbox, not in this process.
            () = self.stop.cancelled() => Some(wait),
        }
    }

    pub(super) fn count(&self, action: &str, result: &str) {
        self.metrics
            .telegram_messages
            .with_label_values(&[action, result])
            .inc();
    }

    /// How long to wait before the chat's next message when Telegram answered that the chat must wait
    /// (429: the chat is penalised in the throttle) or moved (a group became a supergroup: recorded,
    /// the next attempt goes to the new id at once); `None` for any other failure.
    pub(super) async fn chat_says_wait(
        &self,
        chat: i64,
        error: &SendError,
    ) -> Result<Option<Duration>, StoreError> {
        Ok(match error {
            SendError::RetryAfter(wait) => {
                self.metrics.telegram_rate_limited.inc();
                self.throttle.penalize(chat, *wait);
                Some(*wait)
            }
            SendError::Migrated(to) => {
                tracing::info!(from = chat, to, "group chat became a supergroup");
                self.store
                    .record_migration(chat, *to, self.clock.now())
                    .await?;
                Some(Duration::ZERO)
            }
            _ => None,
        })
    }

    /// Sorts a failed Telegram call into the job's outcome (shared by sends, edits and notices).
    async fn failed(
        &self,
        job: &ClaimedJob,
        chat: i64,
        action: &str,
        error: SendError,
    ) -> Result<Outcome, StoreError> {
        self.count(action, error.reason());
        if let Some(wait) = self.chat_says_wait(chat, &error).await? {
            return Ok(Outcome::Defer(wait));
        }
        Ok(match error {
            // Answered by `chat_says_wait` above.
            SendError::RetryAfter(_) | SendError::Migrated(_) => Outcome::Defer(Duration::ZERO),
            SendError::Unreachable(why) => self.unreachable(job, Unreachable::Said(&why)).await?,
            SendError::Transient(e) => {
                if let Some(id) = job.incident {
                    self.telegram_failing(id).await?;
                }
                Outcome::Retry {
                    after: backoff(job.attempts),
                    error: e,
                }
            }
            SendError::Gone => Outcome::Done("message gone".to_owned()),
            SendError::NotModified => Outcome::Done("not modified".to_owned()),
            SendError::Rejected(e) => {
                tracing::error!(job = job.id, chat, error = %e, "Telegram rejected a message");
                Outcome::Done(format!("failed: {e}"))
            }
        })
    }

    pub(super) async fn send(&self, job: &ClaimedJob) -> Result<Outcome, StoreError> {
        let Some(chat) = self.chat_of(&job.recipient).await? else {
            return self.unreachable(job, Unreachable::NeverWrote).await;
        };
        // In a storm most sends find their chat busy for a while: they go back to the outbox before
        // any other work, so the state store spends its time on intake rather than on jobs that
        // cannot go out yet.
        if let Some(wait) = self.steps_back(job, chat) {
            return Ok(Outcome::Defer(wait));
        }
        let lock = self.chat_lock(chat);
        let _one_at_a_time = lock.lock().await;
        let (incident, rendered) = match self.ready(job, chat).await? {
            Ok(ready) => ready,
            Err(outcome) => return Ok(outcome),
        };
        let answer = self.telegram.send(chat, &rendered).await;
        self.throttle.done(chat);
        match answer {
            Ok(message_id) => {
                self.count("send", "ok");
                let now = self.clock.now();
                let first = job.attempts == 1 && incident.created_at <= now;
                if first {
                    let latency = (now - incident.created_at).to_std().unwrap_or_default();
                    self.metrics.delivery_latency.observe(latency.as_secs_f64());
                }
                self.store
                    .record_message(incident.id, chat, message_id, now)
                    .await?;
                Ok(Outcome::Done(message_id.to_string()))
            }
            Err(e) => self.failed(job, chat, "send", e).await,
        }
    }

    /// The person a private chat belongs to, with every role they hold now; `None` for a group chat,
    /// whose messages are decided per press by whoever presses.
    pub(super) async fn reader(&self, chat: i64) -> Result<Option<Identity>, StoreError> {
        let Ok(id) = TelegramUserId::new(chat) else {
            return Ok(None);
        };
        Ok(Some(
            self.access().person(&Person { id, username: None }).await?,
        ))
    }

    /// The language `chat` reads about `database`: a person their own (the database's until the bot
    /// has met them), a group chat the database's.
    pub(super) async fn language(
        &self,
        chat: i64,
        database: Option<&str>,
    ) -> Result<Lang, StoreError> {
        let of_database = self.config().language_of(database);
        if TelegramUserId::new(chat).is_err() {
            return Ok(of_database);
        }
        let known = self.store.languages_of(&[chat]).await?;
        Ok(known.get(&chat).copied().unwrap_or(of_database))
    }

    pub(super) async fn edit(&self, job: &ClaimedJob) -> Result<Outcome, StoreError> {
        let (Some(chat), Some(id)) = (self.chat_of(&job.recipient).await?, job.incident) else {
            return Ok(Outcome::Done("no chat to edit in".to_owned()));
        };
        let lock = self.chat_lock(chat);
        let _one_at_a_time = lock.lock().await;
        let Some(message_id) = self.store.message_in(id, chat).await? else {
            // Sends to this chat run under the same lock, so none is in flight: a pending send will
            // show the current state by itself.
            return Ok(Outcome::Done(
                "no message yet; the send shows the current state".to_owned(),
            ));
        };
        let (_, rendered) = match self.ready(job, chat).await? {
            Ok(ready) => ready,
            Err(outcome) => return Ok(outcome),
        };
        let answer = self.telegram.edit(chat, message_id, &rendered).await;
        self.throttle.done(chat);
        match answer {
            Ok(()) => {
                self.count("edit", "ok");
                Ok(Outcome::Done("edited".to_owned()))
            }
            Err(e) => self.failed(job, chat, "edit", e).await,
        }
    }

    /// Waits for the chat's turn and renders the alert as the chat should see it now; or the job's
    /// outcome when the turn is far off, the incident is gone or the chat may no longer read it.
    async fn ready(
        &self,
        job: &ClaimedJob,
        chat: i64,
    ) -> Result<Result<(IncidentRecord, render::Rendered), Outcome>, StoreError> {
        if let Some(wait) = self.turn(chat).await {
            return Ok(Err(Outcome::Defer(wait)));
        }
        let Some(incident) = self.incident(job).await? else {
            return Ok(Err(Outcome::Done("failed: incident not found".to_owned())));
        };
        let Some(rendered) = self.alert_message(&incident, chat).await? else {
            return Ok(Err(Outcome::Done(DROPPED.to_owned())));
        };
        Ok(Ok((incident, rendered)))
    }

    /// The alert message as this chat should see it. A group gets every button (each press is
    /// decided by the person who pressed); a person only those their role lets them use, and nothing
    /// at all (`None`) once they may no longer read the database: losing access takes effect on
    /// queued sends and edits too.
    async fn alert_message(
        &self,
        incident: &IncidentRecord,
        chat: i64,
    ) -> Result<Option<render::Rendered>, StoreError> {
        let (respond, act) = match self.reader(chat).await? {
            None => (true, true),
            Some(who) => {
                let database = incident.database.as_deref();
                if !may(&who, Permission::Read, database) {
                    tracing::info!(incident = %incident.id, chat, "recipient lost access; dropped");
                    return Ok(None);
                }
                (
                    may(&who, Permission::Respond, database),
                    may(&who, Permission::RunActions, database),
                )
            }
        };
        let lang = self.language(chat, incident.database.as_deref()).await?;
        let mut links = self.links().buttons(lang, incident);
        if !act {
            links.retain(|(_, callback)| !matches!(callback, Callback::Link { actions: true, .. }));
        }
        Ok(Some(render::alert_message(
            lang,
            incident,
            self.clock.now(),
            &links,
            respond,
        )))
    }

    pub(super) async fn notice(&self, job: &ClaimedJob) -> Result<Outcome, StoreError> {
        let Some(chat) = self.chat_of(&job.recipient).await? else {
            return Ok(Outcome::Done("unreachable: unknown chat".to_owned()));
        };
        let text = serde_json::from_str::<serde_json::Value>(&job.payload)
            .ok()
            .and_then(|p| p["text"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let lock = self.chat_lock(chat);
        let _one_at_a_time = lock.lock().await;
        if let Some(wait) = self.turn(chat).await {
            return Ok(Outcome::Defer(wait));
        }
        let rendered = render::Rendered {
            html: text,
            buttons: Vec::new(),
        };
        let answer = self.telegram.send(chat, &rendered).await;
        self.throttle.done(chat);
        match answer {
            Ok(_) => {
                self.count("notice", "ok");
                Ok(Outcome::Done("sent".to_owned()))
            }
            // An unreachable owner is not reported to the owners again.
            Err(SendError::Unreachable(why)) => Ok(Outcome::Done(format!("unreachable: {why}"))),
            Err(e) => self.failed(job, chat, "notice", e).await,
        }
    }

    /// Telegram will not deliver to this recipient: email the database's fallback recipients instead,
    /// and tell the owners once, each in their language.
    async fn unreachable(
        &self,
        job: &ClaimedJob,
        why: Unreachable<'_>,
    ) -> Result<Outcome, StoreError> {
        let now = self.clock.now();
        let config = self.config();
        // Recorded in the service's own language, as the log says it.
        let recorded = why.text(config.language);
        // Warned once, when the owners are told; a storm to the same recipient is not a storm of
        // warnings.
        if self
            .store
            .mark_unreachable(&job.recipient, &recorded, now)
            .await?
        {
            tracing::warn!(recipient = %job.recipient, reason = recorded, "Telegram recipient unreachable");
            let ids: Vec<i64> = config.owners.iter().map(|owner| owner.get()).collect();
            let languages = self.store.languages_of(&ids).await?;
            for owner in &config.owners {
                let lang = languages
                    .get(&owner.get())
                    .copied()
                    .unwrap_or(config.language);
                let text = tr!(
                    lang,
                    "alert-unreachable-owners",
                    recipient = escape(&job.recipient),
                    why = escape(&why.text(lang)),
                );
                self.store
                    .enqueue(
                        JobKind::TelegramNotice,
                        None,
                        &Recipient::user(*owner).to_string(),
                        &serde_json::json!({ "text": text }),
                        now,
                    )
                    .await?;
            }
        }
        if let Some(id) = job.incident {
            self.fall_back_to_email(id, |lang| {
                tr!(
                    lang,
                    "email-reason-unreachable",
                    recipient = &job.recipient,
                    why = why.text(lang),
                )
            })
            .await?;
        }
        Ok(Outcome::Done(format!("unreachable: {recorded}")))
    }
}
