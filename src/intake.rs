//! Intake: from a parsed Alertmanager notification to durable incidents and outbox jobs.
//!
//! Request tasks route their alerts (in parallel) and hand them to one writer task, which commits
//! whatever has queued up meanwhile in a single transaction and then answers each request. One fsync
//! thus covers many webhooks (group commit): under load batches grow by themselves, and an idle service
//! commits each request at once. After each commit it wakes the delivery worker. Calls `routing` and
//! `store`; called by `http`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::alertmanager::Notification;
use crate::domain::DatabaseName;
use crate::live::Live;
use crate::metrics::{Metrics, UNROUTED};
use crate::routing::Router;
use crate::store::{AlertOutcome, AlertRoute, IngestOutcome, IngestRequest, Store, StoreError};

/// The most notifications one transaction takes; bounds the time any request waits behind others.
const MAX_BATCH: usize = 256;
/// Requests waiting for the writer before senders wait too (backpressure instead of unbounded memory).
const QUEUE: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the intake is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] Arc<StoreError>),
}

struct Submission {
    request: IngestRequest,
    reply: Reply,
}

/// The handle request tasks use; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    queue: mpsc::Sender<Submission>,
    router: Live<Router>,
    metrics: Metrics,
}

impl Intake {
    /// Starts the writer on `tracker`. It stops when `stop` is cancelled, after committing everything
    /// already submitted: cancel it only once no more submissions can arrive (after HTTP has drained).
    pub fn start(
        store: Store,
        metrics: Metrics,
        tracker: &TaskTracker,
        stop: CancellationToken,
        delivered: Arc<Notify>,
        router: Live<Router>,
    ) -> Intake {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tracker.spawn(write_loop(
            store,
            receiver,
            metrics.clone(),
            stop,
            delivered,
        ));
        Intake {
            queue,
            router,
            metrics,
        }
    }

    /// Stores a notification durably; returns once it is committed. `traceparent` names the trace its
    /// deliveries join (`None` when traces are not exported).
    pub async fn submit(
        &self,
        notification: Notification,
        body: String,
        received_at: DateTime<Utc>,
        traceparent: Option<String>,
    ) -> Result<IngestOutcome, IntakeError> {
        let router = self.router.now();
        let escalate_at = received_at
            + chrono::Duration::from_std(router.escalate_after).unwrap_or(chrono::Duration::MAX);
        let routes: Vec<AlertRoute> = notification
            .alerts
            .iter()
            .map(|alert| {
                let destination = router.route(&alert.labels);
                AlertRoute {
                    database: destination.database.cloned(),
                    telegram: destination
                        .telegram
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    email: destination
                        .email
                        .iter()
                        .map(|e| e.as_str().to_owned())
                        .collect(),
                    escalate_at,
                }
            })
            .collect();
        let databases: Vec<Option<DatabaseName>> =
            routes.iter().map(|r| r.database.clone()).collect();
        let (reply, answer) = oneshot::channel();
        let request = IngestRequest {
            received_at,
            body,
            notification,
            routes,
            traceparent,
        };
        self.queue
            .send(Submission { request, reply })
            .await
            .map_err(|_| IntakeError::ShuttingDown)?;
        let outcome = answer.await.map_err(|_| IntakeError::ShuttingDown)??;
        self.count(&databases, &outcome);
        Ok(outcome)
    }

    /// Counts a committed notification's alerts by database.
    fn count(&self, databases: &[Option<DatabaseName>], outcome: &IngestOutcome) {
        for (database, result) in databases.iter().zip(&outcome.alerts) {
            let database = database.as_ref().map_or(UNROUTED, DatabaseName::as_str);
            self.metrics
                .alerts_received
                .with_label_values(&[database])
                .inc();
            let counter = if *result == AlertOutcome::Duplicate {
                &self.metrics.alerts_duplicate
            } else {
                &self.metrics.alerts_routed
            };
            counter.with_label_values(&[database]).inc();
        }
    }
}

async fn write_loop(
    store: Store,
    mut receiver: mpsc::Receiver<Submission>,
    metrics: Metrics,
    stop: CancellationToken,
    delivered: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            biased;
            next = receiver.recv() => match next {
                Some(submission) => submission,
                None => break,
            },
            () = stop.cancelled() => break,
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(submission) => batch.push(submission),
                Err(_) => break,
            }
        }
        commit(&store, &metrics, &mut batch).await;
        // New outbox jobs: the delivery worker need not wait for its next poll.
        delivered.notify_one();
    }
    // Shutting down: refuse new submissions, commit what is already queued.
    receiver.close();
    while let Some(submission) = receiver.recv().await {
        batch.push(submission);
        if batch.len() == MAX_BATCH {
            commit(&store, &metrics, &mut batch).await;
        }
    }
    if !batch.is_empty() {
        commit(&store, &metrics, &mut batch).await;
    }
}

type Reply = oneshot::Sender<Result<IngestOutcome, Arc<StoreError>>>;

async fn commit(store: &Store, metrics: &Metrics, batch: &mut Vec<Submission>) {
    metrics.ingest_batch_size.observe(batch.len() as f64);
    let (requests, replies): (Vec<IngestRequest>, Vec<Reply>) =
        batch.drain(..).map(|s| (s.request, s.reply)).unzip();
    match store.ingest(&requests).await {
        Err(e) if requests.len() > 1 => {
            // One bad notification must not fail the others: commit them one by one.
            tracing::warn!(error = %e, batch = requests.len(), "batch commit failed; retrying singly");
            for (request, reply) in requests.iter().zip(replies) {
                let result = store.ingest(std::slice::from_ref(request)).await;
                answer(vec![reply], result);
            }
        }
        result => answer(replies, result),
    }
}

fn answer(replies: Vec<Reply>, result: Result<Vec<IngestOutcome>, StoreError>) {
    match result {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // The requester may have gone (client timeout); the data is committed regardless.
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "storing a notification failed");
            let e = Arc::new(e);
            for reply in replies {
                let _ = reply.send(Err(Arc::clone(&e)));
            }
        }
    }
}
