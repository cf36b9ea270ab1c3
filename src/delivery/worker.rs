//! The delivery worker: claims outbox jobs with a lease and performs them — Telegram sends, edits and
//! notices, storm digests, and email (escalation, fallback, resolution). Jobs for one chat run one at a
//! time and wait for the throttle; a job that would wait long goes back to the outbox for later instead
//! of holding a task. Calls `store`, `render`, `telegram`, `email`; called by `app`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::email::{Email, EmailError, Mailer};
use super::links::Links;
use super::render;
use super::telegram::Telegram;
use crate::access::{Access, Permission, Person, may};
use crate::callback::Callback;
use crate::config::Config;
use crate::domain::{IncidentId, TelegramUserId};
use crate::metrics::Metrics;
use crate::routing::Recipient;
use crate::store::{ClaimedJob, IncidentRecord, JobKind, Store, StoreError};
use crate::telegram::client::SendError;
use crate::telegram::html::escape;
use crate::telegram::throttle::Throttle;

/// How long a claimed job is ours before another worker may take it, unless renewed: a process killed
/// mid-delivery holds its jobs this long at most.
const LEASE: Duration = Duration::from_secs(5);
/// How often the leases of jobs in flight are renewed; a store stalled for longer than the lease minus
/// this could let another worker take a job still in flight.
const RENEW: Duration = Duration::from_secs(1);
const CLAIM_BATCH: i64 = 64;
/// Jobs performed at once (each mostly waits on Telegram or SMTP).
const CONCURRENCY: usize = 32;
/// How often to look for jobs that became due (deferred, retried, escalations) without a wake-up.
const POLL: Duration = Duration::from_millis(200);
/// A job whose chat is busy for longer than this goes back to the outbox instead of waiting.
const MAX_WAIT: Duration = Duration::from_millis(1500);
/// When a chat's pending alerts would take longer than this one by one, they are told in a digest.
const STORM_WINDOW: Duration = Duration::from_secs(5);
/// The pace of one chat (Telegram: about one message a second).
const CHAT_PACE: Duration = Duration::from_millis(1150);
/// The pace of individual messages behind a digest in a group (Telegram: 20 a minute).
const GROUP_PACE: Duration = Duration::from_millis(3200);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The result of a send or edit to a person who may no longer read the incident's database.
const DROPPED: &str = "dropped: the recipient may no longer read this database";

/// What became of a job.
enum Outcome {
    Done(String),
    Retry {
        after: Duration,
        error: String,
    },
    /// Not attempted: its turn comes later.
    Defer(Duration),
    /// Someone else owns the job now (a digest rescheduled it).
    Released,
}

/// What a worker is built from.
pub struct WorkerParts {
    pub store: Store,
    pub telegram: Telegram,
    pub mailer: Option<Mailer>,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    /// Names this process in outbox leases.
    pub owner: String,
    /// Rung when new jobs are queued.
    pub wake: Arc<Notify>,
    pub throttle: Arc<Throttle>,
    /// View and action buttons for alert messages.
    pub links: Arc<Links>,
    /// Who may press which button: a viewer's copy of an alert carries only what they may use.
    pub access: Arc<Access>,
    /// Stops claiming; jobs waiting for their chat's turn go back to the outbox at once.
    pub stop: CancellationToken,
}

pub struct Worker {
    store: Store,
    telegram: Telegram,
    mailer: Option<Mailer>,
    config: Arc<Config>,
    metrics: Metrics,
    throttle: Arc<Throttle>,
    owner: String,
    wake: Arc<Notify>,
    links: Arc<Links>,
    access: Arc<Access>,
    stop: CancellationToken,
    chats: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 6)).unwrap_or(6);
    Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF)
}

fn at(after: Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX)
}

impl Worker {
    pub fn new(parts: WorkerParts) -> Self {
        let WorkerParts {
            store,
            telegram,
            mailer,
            config,
            metrics,
            owner,
            wake,
            throttle,
            links,
            access,
            stop,
        } = parts;
        Self {
            store,
            telegram,
            mailer,
            config,
            metrics,
            throttle,
            owner,
            wake,
            links,
            access,
            stop,
            chats: Mutex::new(HashMap::new()),
        }
    }

    /// Claims and performs jobs until stopped, renewing the leases of the jobs in flight; then lets
    /// running jobs finish for a few seconds.
    pub async fn run(self: Arc<Self>) {
        let finished = CancellationToken::new();
        let work = async {
            Arc::clone(&self).claim_and_perform().await;
            finished.cancel();
        };
        tokio::join!(work, self.renew_leases(&finished));
    }

    async fn renew_leases(&self, finished: &CancellationToken) {
        let mut every = tokio::time::interval(RENEW);
        loop {
            tokio::select! {
                () = finished.cancelled() => return,
                _ = every.tick() => {}
            }
            if let Err(e) = self.store.renew_leases(&self.owner, at(LEASE)).await {
                tracing::warn!(error = %e, "renewing outbox leases failed");
            }
        }
    }

    async fn claim_and_perform(self: Arc<Self>) {
        let stop = self.stop.clone();
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let mut tasks = JoinSet::new();
        'claiming: loop {
            while tasks.try_join_next().is_some() {}
            let free = i64::try_from(permits.available_permits())
                .unwrap_or(0)
                .min(CLAIM_BATCH);
            let jobs = if free == 0 {
                Vec::new()
            } else {
                match self
                    .store
                    .claim_jobs(&self.owner, Utc::now(), LEASE, free)
                    .await
                {
                    Ok(jobs) => jobs,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming outbox jobs failed");
                        Vec::new()
                    }
                }
            };
            if jobs.is_empty() {
                tokio::select! {
                    () = stop.cancelled() => break 'claiming,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
                continue;
            }
            for job in jobs {
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    break 'claiming;
                };
                let worker = Arc::clone(&self);
                tasks.spawn(async move {
                    worker.perform(job).await;
                    drop(permit);
                });
            }
        }
        // Jobs cut short here keep their lease until the app releases it at shutdown.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        tasks.abort_all();
    }

    async fn perform(&self, job: ClaimedJob) {
        let outcome = match job.kind {
            JobKind::TelegramSend => self.send(&job).await,
            JobKind::TelegramEdit => self.edit(&job).await,
            JobKind::TelegramNotice => self.notice(&job).await,
            JobKind::EmailEscalation | JobKind::EmailResolved | JobKind::EmailFallback => {
                self.email(&job).await
            }
        };
        let outcome = outcome.unwrap_or_else(|e| Outcome::Retry {
            after: backoff(job.attempts),
            error: format!("state store: {e}"),
        });
        let recorded = match outcome {
            Outcome::Done(result) => {
                self.store
                    .complete_job(job.id, &self.owner, Utc::now(), &result)
                    .await
            }
            Outcome::Retry { after, error } => {
                tracing::info!(job = job.id, kind = %job.kind, %error, "delivery failed; will retry");
                self.store
                    .retry_job(job.id, &self.owner, at(after), &error)
                    .await
            }
            Outcome::Defer(after) => self.store.defer_job(job.id, &self.owner, at(after)).await,
            Outcome::Released => Ok(true),
        };
        if let Err(e) = recorded {
            tracing::warn!(job = job.id, error = %e, "recording a job's outcome failed; it will run again");
        }
    }

    /// The chat a recipient reaches, following usernames and supergroup migrations.
    async fn chat_of(&self, recipient: &str) -> Result<Option<i64>, StoreError> {
        match recipient.parse::<Recipient>() {
            Ok(Recipient::User(id)) => Ok(Some(id.get())),
            // A username reaches only the account bound to it, never whoever carries it today.
            Ok(Recipient::Username(name)) => Ok(self
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

    fn chat_lock(&self, chat: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(chats.entry(chat).or_default())
    }

    /// How long until the chat's turn, when that is too far off to wait for (without taking it).
    fn busy(&self, chat: i64) -> Option<Duration> {
        let wait = self
            .throttle
            .next_free(chat)
            .saturating_duration_since(tokio::time::Instant::now());
        (wait > MAX_WAIT).then_some(wait)
    }

    /// Waits for the chat's turn, or says to come back later when that is far off.
    async fn turn(&self, chat: i64) -> Option<Duration> {
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

    async fn incident(&self, job: &ClaimedJob) -> Result<Option<IncidentRecord>, StoreError> {
        match job.incident {
            Some(id) => self.store.incident_record(id).await,
            None => Ok(None),
        }
    }

    fn count(&self, action: &str, result: &str) {
        self.metrics
            .telegram_messages
            .with_label_values(&[action, result])
            .inc();
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
        Ok(match error {
            SendError::RetryAfter(wait) => {
                self.metrics.telegram_rate_limited.inc();
                self.throttle.penalize(chat, wait);
                Outcome::Defer(wait)
            }
            SendError::Migrated(to) => {
                tracing::info!(from = chat, to, "group chat became a supergroup");
                self.store.record_migration(chat, to, Utc::now()).await?;
                Outcome::Defer(Duration::ZERO)
            }
            SendError::Unreachable(why) => self.unreachable(job, &why).await?,
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

    async fn send(&self, job: &ClaimedJob) -> Result<Outcome, StoreError> {
        let Some(chat) = self.chat_of(&job.recipient).await? else {
            return self
                .unreachable(job, "has not written to the bot yet")
                .await;
        };
        // In a storm most sends find their chat busy for a while: they go back to the outbox before
        // any other work (the digest check reads every pending send of the chat), so the state store
        // spends its time on intake rather than on jobs that cannot go out yet.
        if let Some(wait) = self.busy(chat) {
            return Ok(Outcome::Defer(wait));
        }
        let lock = self.chat_lock(chat);
        let _one_at_a_time = lock.lock().await;
        if !self.store.holds_lease(job.id, &self.owner).await? {
            return Ok(Outcome::Released);
        }
        if let Some(outcome) = self.digest(job, chat).await? {
            return Ok(outcome);
        }
        if let Some(wait) = self.turn(chat).await {
            return Ok(Outcome::Defer(wait));
        }
        let Some(incident) = self.incident(job).await? else {
            return Ok(Outcome::Done("failed: incident not found".to_owned()));
        };
        let Some(rendered) = self.alert_message(&incident, chat).await? else {
            return Ok(Outcome::Done(DROPPED.to_owned()));
        };
        let answer = self.telegram.send(chat, &rendered).await;
        self.throttle.done(chat);
        match answer {
            Ok(message_id) => {
                self.count("send", "ok");
                let first = job.attempts == 1 && incident.created_at <= Utc::now();
                if first {
                    let latency = (Utc::now() - incident.created_at)
                        .to_std()
                        .unwrap_or_default();
                    self.metrics.delivery_latency.observe(latency.as_secs_f64());
                }
                self.store
                    .record_message(incident.id, chat, message_id, Utc::now())
                    .await?;
                Ok(Outcome::Done(message_id.to_string()))
            }
            Err(e) => self.failed(job, chat, "send", e).await,
        }
    }

    /// During a storm, tells the chat about all its waiting alerts in one message and spreads the
    /// individual messages out behind it; `None` when there is no storm.
    async fn digest(&self, job: &ClaimedJob, chat: i64) -> Result<Option<Outcome>, StoreError> {
        let pending = self.store.pending_sends(&job.recipient).await?;
        let fresh: Vec<_> = pending.iter().filter(|p| !p.digested).collect();
        if CHAT_PACE * u32::try_from(fresh.len()).unwrap_or(u32::MAX) <= STORM_WINDOW {
            return Ok(None);
        }
        let spacing = if chat < 0 { GROUP_PACE } else { CHAT_PACE };
        if let Some(wait) = self.turn(chat).await {
            return Ok(Some(Outcome::Defer(wait)));
        }
        let ids: Vec<IncidentId> = fresh.iter().map(|p| p.incident).collect();
        let incidents = self.store.incidents_by_ids(&ids).await?;
        let rendered = render::digest_message(&incidents);
        let answer = self.telegram.send(chat, &rendered).await;
        self.throttle.done(chat);
        match answer {
            Ok(message_id) => {
                self.count("digest", "ok");
                let jobs: Vec<i64> = fresh.iter().map(|p| p.job_id).collect();
                self.store
                    .mark_digested(&jobs, message_id, at(spacing), spacing)
                    .await?;
                tracing::info!(chat, alerts = jobs.len(), "alert storm: sent a digest");
                Ok(Some(Outcome::Released))
            }
            Err(e) => self.failed(job, chat, "digest", e).await.map(Some),
        }
    }

    async fn edit(&self, job: &ClaimedJob) -> Result<Outcome, StoreError> {
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
        if let Some(wait) = self.turn(chat).await {
            return Ok(Outcome::Defer(wait));
        }
        let Some(incident) = self.incident(job).await? else {
            return Ok(Outcome::Done("failed: incident not found".to_owned()));
        };
        let Some(rendered) = self.alert_message(&incident, chat).await? else {
            return Ok(Outcome::Done(DROPPED.to_owned()));
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

    /// The alert message as this chat should see it. A group gets every button (each press is
    /// decided by the person who pressed); a person only those their role lets them use, and nothing
    /// at all (`None`) once they may no longer read the database: losing access takes effect on
    /// queued sends and edits too.
    async fn alert_message(
        &self,
        incident: &IncidentRecord,
        chat: i64,
    ) -> Result<Option<render::Rendered>, StoreError> {
        let mut links = self.links.buttons(incident);
        let (respond, act) = match TelegramUserId::new(chat) {
            Err(_) => (true, true),
            Ok(id) => {
                let person = Person { id, username: None };
                let who = self.access.person(&person).await?;
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
        if !act {
            links.retain(|(_, callback)| !matches!(callback, Callback::Link { actions: true, .. }));
        }
        Ok(Some(render::alert_message(
            incident,
            Utc::now(),
            &links,
            respond,
        )))
    }

    async fn notice(&self, job: &ClaimedJob) -> Result<Outcome, StoreError> {
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
    /// and tell the owners once.
    async fn unreachable(&self, job: &ClaimedJob, why: &str) -> Result<Outcome, StoreError> {
        tracing::warn!(recipient = %job.recipient, reason = why, "Telegram recipient unreachable");
        let now = Utc::now();
        if self
            .store
            .mark_unreachable(&job.recipient, why, now)
            .await?
        {
            let text = format!(
                "⚠️ Postgram cannot reach <code>{}</code> on Telegram ({}). Their alerts go to the \
                 fallback email recipients until they press Start in a private chat with the bot.",
                escape(&job.recipient),
                escape(why)
            );
            for owner in &self.config.owners {
                self.store
                    .enqueue(
                        JobKind::TelegramNotice,
                        None,
                        &Recipient::User(*owner).to_string(),
                        &serde_json::json!({ "text": text }),
                        now,
                    )
                    .await?;
            }
        }
        if let Some(id) = job.incident {
            let reason = format!(
                "Telegram could not deliver this alert to {}: {why}.",
                job.recipient
            );
            self.fall_back_to_email(id, &reason).await?;
        }
        Ok(Outcome::Done(format!("unreachable: {why}")))
    }

    /// Telegram failed for an incident; once no admin got it for `telegram_failure_after`, email.
    async fn telegram_failing(&self, id: IncidentId) -> Result<(), StoreError> {
        let Some(since) = self.store.telegram_failing_since(id).await? else {
            return Ok(());
        };
        let limit = i64::try_from(self.config.escalation.telegram_failure_after.as_millis())
            .unwrap_or(i64::MAX);
        if Utc::now().timestamp_millis() - since >= limit {
            let reason = format!(
                "Telegram has failed to deliver this alert to any admin for {}s.",
                self.config.escalation.telegram_failure_after.as_secs()
            );
            self.fall_back_to_email(id, &reason).await?;
        }
        Ok(())
    }

    /// Queues one fallback email per address of the incident's database (once per incident).
    async fn fall_back_to_email(&self, id: IncidentId, reason: &str) -> Result<(), StoreError> {
        if self.mailer.is_none() {
            return Ok(());
        }
        let Some(incident) = self.store.incident_record(id).await? else {
            return Ok(());
        };
        let addresses = incident
            .database
            .as_deref()
            .and_then(|name| {
                self.config
                    .databases
                    .iter()
                    .find(|d| d.name.as_str() == name)
            })
            .map(|db| db.email.clone())
            .unwrap_or_default();
        for address in addresses {
            // Each admin's failing send gets here, concurrently: the store's unique key decides.
            if self
                .store
                .enqueue_once(
                    JobKind::EmailFallback,
                    id,
                    address.as_str(),
                    &serde_json::json!({ "reason": reason }),
                    Utc::now(),
                )
                .await?
            {
                self.wake.notify_one();
            }
        }
        Ok(())
    }

    async fn email(&self, job: &ClaimedJob) -> Result<Outcome, StoreError> {
        let Some(mailer) = &self.mailer else {
            return Ok(Outcome::Done("skipped: no smtp configured".to_owned()));
        };
        let Some(incident) = self.incident(job).await? else {
            return Ok(Outcome::Done("failed: incident not found".to_owned()));
        };
        let escalation = &self.config.escalation;
        let reason = match job.kind {
            JobKind::EmailEscalation => {
                if incident.status == crate::domain::AlertStatus::Resolved {
                    return Ok(Outcome::Done("cancelled: resolved".to_owned()));
                }
                if incident.acknowledged_by.is_some() {
                    return Ok(Outcome::Done("cancelled: acknowledged".to_owned()));
                }
                if !escalation.severities.is_empty()
                    && !escalation.severities.contains(&incident.severity)
                {
                    return Ok(Outcome::Done("skipped: severity".to_owned()));
                }
                format!(
                    "Nobody acknowledged this alert in Telegram within {}.",
                    render::human_duration(
                        chrono::Duration::from_std(escalation.ack_timeout).unwrap_or_default()
                    )
                )
            }
            JobKind::EmailResolved => "This incident is resolved.".to_owned(),
            _ => serde_json::from_str::<serde_json::Value>(&job.payload)
                .ok()
                .and_then(|p| p["reason"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "Telegram could not deliver this alert.".to_owned()),
        };
        let body = render::email(&incident, &reason, Utc::now());
        let email = Email {
            to: vec![job.recipient.clone()],
            subject: body.subject,
            text: body.text,
            html: body.html,
        };
        let kind = job.kind.as_str();
        match mailer.send(&email).await {
            Ok(()) => {
                self.metrics.emails.with_label_values(&[kind, "sent"]).inc();
                Ok(Outcome::Done("sent".to_owned()))
            }
            Err(EmailError::Permanent(e)) | Err(EmailError::Config(e)) => {
                self.metrics
                    .emails
                    .with_label_values(&[kind, "permanent"])
                    .inc();
                tracing::error!(job = job.id, error = %e, "email refused for good");
                Ok(Outcome::Done(format!("failed: {e}")))
            }
            Err(EmailError::Transient(e)) => {
                self.metrics
                    .emails
                    .with_label_values(&[kind, "transient"])
                    .inc();
                Ok(Outcome::Retry {
                    after: backoff(job.attempts),
                    error: e,
                })
            }
        }
    }
}
