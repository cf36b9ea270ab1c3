//! The delivery worker: claims Telegram feeds and outbox jobs with a lease and works them — a feed's new
//! alerts (one by one, or a storm digest and the messages behind it), Telegram sends, edits and
//! notices, and email (escalation, fallback, resolution). Jobs for one chat run one at a time and wait
//! for the throttle; a job that would wait long goes back to the outbox for later instead of holding a
//! task. This file is the claim loop and the recording of outcomes; `feeds`, `telegram_jobs` and
//! `email_jobs` do the work. Calls `store`, `render`, `telegram`, `email`; called by `app`.

mod email_jobs;
mod feeds;
mod telegram_jobs;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::Setup;
use super::email::Mailer;
use super::links::Links;
use super::telegram::Telegram;
use crate::access::Access;
use crate::clock::Clock;
use crate::config::Config;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::store::TELEGRAM_RENEW;
use crate::store::{ClaimedFeed, ClaimedJob, IncidentRecord, JobKind, Store, StoreError};
use crate::telegram::throttle::Throttle;
use crate::telemetry;

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
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What a worker claims: a recipient's feed of new alerts, or a job.
enum Work {
    Feed(ClaimedFeed),
    Job(ClaimedJob),
}

/// What became of a job.
enum Outcome {
    Done(String),
    Retry {
        after: Duration,
        error: String,
    },
    /// Not attempted: its turn comes later.
    Defer(Duration),
}

/// What a worker is built from.
pub struct WorkerParts {
    pub store: Store,
    pub telegram: Telegram,
    /// The config, links, access and mailer in force: read once per job.
    pub setup: Live<Setup>,
    pub metrics: Metrics,
    /// Names this process in outbox leases.
    pub owner: String,
    /// Rung when new jobs are queued.
    pub wake: Arc<Notify>,
    pub throttle: Arc<Throttle>,
    /// Stops claiming; jobs waiting for their chat's turn go back to the outbox at once.
    pub stop: CancellationToken,
    /// Due times, leases and every time recorded.
    pub clock: Clock,
}

pub struct Worker {
    store: Store,
    telegram: Telegram,
    setup: Live<Setup>,
    metrics: Metrics,
    throttle: Arc<Throttle>,
    owner: String,
    wake: Arc<Notify>,
    stop: CancellationToken,
    clock: Clock,
    chats: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Recipients waiting for a storm digest, until when (see `feeds`).
    untold: Mutex<HashMap<String, tokio::time::Instant>>,
    /// Whether this replica holds the Telegram lease: only then it claims Telegram work.
    talks: AtomicBool,
}

fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 6)).unwrap_or(6);
    Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF)
}

impl Worker {
    fn config(&self) -> Arc<Config> {
        Arc::clone(&self.setup.now().config)
    }

    fn access(&self) -> Arc<Access> {
        Arc::clone(&self.setup.now().access)
    }

    fn links(&self) -> Arc<Links> {
        Arc::clone(&self.setup.now().links)
    }

    fn mailer(&self) -> Option<Mailer> {
        self.setup.now().mailer.clone()
    }

    pub fn new(parts: WorkerParts) -> Self {
        let WorkerParts {
            store,
            telegram,
            setup,
            metrics,
            owner,
            wake,
            throttle,
            stop,
            clock,
        } = parts;
        Self {
            store,
            telegram,
            setup,
            metrics,
            throttle,
            owner,
            wake,
            stop,
            clock,
            chats: Mutex::new(HashMap::new()),
            untold: Mutex::new(HashMap::new()),
            talks: AtomicBool::new(false),
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
        tokio::join!(
            work,
            self.renew_leases(&finished),
            self.hold_telegram(&finished)
        );
    }

    /// Keeps whether this replica talks to Telegram (holds the Telegram lease, taken by whichever of
    /// this worker and the poller asks first); the first time it does, claims at once.
    async fn hold_telegram(&self, finished: &CancellationToken) {
        let mut every = tokio::time::interval(TELEGRAM_RENEW);
        loop {
            tokio::select! {
                () = finished.cancelled() => return,
                _ = every.tick() => {}
            }
            let holds = self
                .store
                .hold_telegram(&self.owner, self.clock.now())
                .await;
            if holds != self.talks.swap(holds, Ordering::SeqCst) {
                tracing::info!(holds, "Telegram lease");
                self.wake.notify_one();
            }
        }
    }

    async fn renew_leases(&self, finished: &CancellationToken) {
        let mut every = tokio::time::interval(RENEW);
        loop {
            tokio::select! {
                () = finished.cancelled() => return,
                _ = every.tick() => {}
            }
            if let Err(e) = self
                .store
                .renew_leases(&self.owner, self.clock.after(LEASE))
                .await
            {
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
            let work = self.claim(permits.available_permits()).await;
            if work.is_empty() {
                tokio::select! {
                    () = stop.cancelled() => break 'claiming,
                    () = self.wake.notified() => {}
                    () = self.clock.jumped() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
                continue;
            }
            for one in work {
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    break 'claiming;
                };
                let worker = Arc::clone(&self);
                tasks.spawn(async move {
                    match one {
                        Work::Feed(feed) => worker.feed(feed).await,
                        Work::Job(job) => worker.perform(job).await,
                    }
                    drop(permit);
                });
            }
        }
        // Work cut short here keeps its lease until the app releases it at shutdown.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        tasks.abort_all();
    }

    /// Claims due feeds first (new alerts), then due jobs, up to `free` in all.
    async fn claim(&self, free: usize) -> Vec<Work> {
        let mut free = i64::try_from(free).unwrap_or(0).min(CLAIM_BATCH);
        let mut work = Vec::new();
        if free == 0 {
            return work;
        }
        let now = self.clock.now();
        // Only the replica holding the Telegram lease talks to Telegram; the others send email.
        let talks = self.talks.load(Ordering::SeqCst);
        if talks {
            match self.store.claim_feeds(&self.owner, now, LEASE, free).await {
                Ok(feeds) => work.extend(feeds.into_iter().map(Work::Feed)),
                Err(e) => tracing::warn!(error = %e, "claiming Telegram feeds failed"),
            }
        }
        free -= i64::try_from(work.len()).unwrap_or(free);
        if free > 0 {
            let claimed = if talks {
                self.store.claim_jobs(&self.owner, now, LEASE, free).await
            } else {
                self.store
                    .claim_email_jobs(&self.owner, now, LEASE, free)
                    .await
            };
            match claimed {
                Ok(jobs) => work.extend(jobs.into_iter().map(Work::Job)),
                Err(e) => tracing::warn!(error = %e, "claiming outbox jobs failed"),
            }
        }
        work
    }

    /// Performs a job in a span of its own, in the trace of the request that caused it (when traces
    /// are exported).
    async fn perform(&self, job: ClaimedJob) {
        let span = tracing::trace_span!(
            parent: None,
            "deliver",
            otel.name = job.kind.as_str(),
            job = job.id,
            incident = job.incident.map(|i| i.0),
            attempt = job.attempts,
        );
        telemetry::continue_trace(&span, job.traceparent.as_deref());
        self.perform_now(job).instrument(span).await;
    }

    async fn perform_now(&self, job: ClaimedJob) {
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
        if let Outcome::Retry { error, .. } = &outcome {
            tracing::info!(job = job.id, kind = %job.kind, %error, "delivery failed; will retry");
        }
        self.record("a job's outcome", || async {
            match &outcome {
                Outcome::Done(result) => {
                    self.store
                        .complete_job(job.id, &self.owner, self.clock.now(), result)
                        .await
                }
                Outcome::Retry { after, error } => {
                    self.store
                        .retry_job(job.id, &self.owner, self.clock.after(*after), error)
                        .await
                }
                Outcome::Defer(after) => {
                    let at = self.clock.after(*after);
                    self.store.defer_job(job.id, &self.owner, at).await
                }
            }
        })
        .await;
    }

    /// Writes what became of claimed work until the store takes it. Work this replica claimed stays
    /// leased to it while it lives (`renew_leases` renews them all), so a record lost while the store
    /// is away (restarting, failing over) would leave the work stuck here for good. At shutdown the
    /// lease is released instead, and the work runs again elsewhere.
    async fn record<T, F, Fut>(&self, what: &str, write: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut attempts = 0;
        loop {
            let Err(e) = write().await else {
                return;
            };
            attempts += 1;
            if attempts == 1 {
                tracing::warn!(error = %e, "recording {what} failed; trying again until the store answers");
            }
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = tokio::time::sleep(backoff(attempts).min(Duration::from_secs(5))) => {}
            }
        }
    }

    async fn incident(&self, job: &ClaimedJob) -> Result<Option<IncidentRecord>, StoreError> {
        match job.incident {
            Some(id) => self.store.incident_record(id).await,
            None => Ok(None),
        }
    }
}
