//! Writing notifications: receipts (the deduplication rule), incidents, the escalation jobs and the
//! Telegram feeds they bump, for a whole batch of notifications in one transaction (group commit).
//! Firing alerts, the bulk of any load, are written set-wise in `firing`; resolutions one by one in
//! `resolved`.

mod firing;
mod resolved;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use firing::{Queued, open_incidents};
use resolved::resolved;

use super::feeds::ingest_in_order;
use super::{Result, Store, to_millis};
use crate::alertmanager::{Alert, Notification};
use crate::domain::{AlertStatus, DatabaseName, IncidentId};

/// A parsed notification with the routing decided for each of its alerts.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub received_at: DateTime<Utc>,
    /// The body as received, kept for audit.
    pub body: String,
    pub notification: Notification,
    /// One per alert, in the order of `notification.alerts`.
    pub routes: Vec<AlertRoute>,
    /// The W3C traceparent of the request, when traces are exported: kept with the incidents and jobs
    /// it stores, whose deliveries continue its trace.
    pub traceparent: Option<String>,
}

/// Where one alert goes, in the stored forms of its recipients.
#[derive(Debug, Clone)]
pub struct AlertRoute {
    pub database: Option<DatabaseName>,
    /// Telegram recipients (`user:…`, `username:…`, `chat:…`).
    pub telegram: Vec<String>,
    /// Fallback email addresses, emailed if nobody acknowledges by `escalate_at`.
    pub email: Vec<String>,
    pub escalate_at: DateTime<Utc>,
}

/// What a notification changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    /// `None` when every alert in it was a duplicate: nothing was stored.
    pub notification_id: Option<i64>,
    pub alerts: Vec<AlertOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertOutcome {
    /// A new firing incident; its messages are queued.
    Opened(IncidentId),
    /// A firing incident was resolved; edits of its messages are queued.
    Resolved(IncidentId),
    /// Stored for the history only (a resolution of an incident that never fired here, say).
    Recorded(IncidentId),
    /// Seen before with the same (fingerprint, status, startsAt): nothing changed.
    Duplicate,
}

impl Store {
    /// Stores a batch of notifications in one transaction and returns what each one changed.
    ///
    /// Firing alerts, the bulk of any load, are written set-wise: one multi-row statement per table for
    /// the whole batch, because per-statement overhead, not SQLite itself, bounds the throughput.
    /// Resolutions follow one by one, after the firings of the same batch.
    pub async fn ingest(&self, batch: &[IngestRequest]) -> Result<Vec<IngestOutcome>> {
        let mut tx = self.pool.begin().await?;
        ingest_in_order(&mut tx, self.backend).await?;
        let mut ids = Vec::with_capacity(batch.len());
        for request in batch {
            ids.push(insert_notification(&mut tx, request).await?);
        }
        let mut outcomes: Vec<Vec<AlertOutcome>> = batch
            .iter()
            .map(|r| vec![AlertOutcome::Duplicate; r.notification.alerts.len()])
            .collect();
        let mut queued = Queued::default();

        let mut firing = Vec::new();
        let mut resolving = Vec::new();
        for (r, request) in batch.iter().enumerate() {
            let alerts = request.notification.alerts.iter().zip(&request.routes);
            for (i, (alert, route)) in alerts.enumerate() {
                let item = Item {
                    at: (r, i),
                    alert,
                    route,
                    notification_id: ids[r],
                    now: to_millis(request.received_at),
                    traceparent: request.traceparent.as_deref(),
                };
                match alert.status {
                    AlertStatus::Firing => firing.push(item),
                    AlertStatus::Resolved => resolving.push(item),
                }
            }
        }
        let sets = open_incidents(&mut tx, &firing, &mut outcomes, &mut queued, &self.sets).await?;
        for item in &resolving {
            outcomes[item.at.0][item.at.1] = resolved(&mut tx, item).await?;
        }
        queued.write(&mut tx).await?;

        // A notification that brought nothing new leaves no trace.
        let mut result = Vec::with_capacity(batch.len());
        for (id, alerts) in ids.into_iter().zip(outcomes) {
            let stored = alerts.iter().any(|a| *a != AlertOutcome::Duplicate);
            if !stored {
                sqlx::query("DELETE FROM notifications WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            result.push(IngestOutcome {
                notification_id: stored.then_some(id),
                alerts,
            });
        }
        tx.commit().await?;
        self.sets.learn(sets);
        Ok(result)
    }
}

/// One alert of the batch, with where its outcome goes (notification, alert index).
struct Item<'a> {
    at: (usize, usize),
    alert: &'a Alert,
    route: &'a AlertRoute,
    notification_id: i64,
    now: i64,
    traceparent: Option<&'a str>,
}

impl Item<'_> {
    fn key(&self) -> (&str, i64) {
        (
            self.alert.fingerprint.as_str(),
            to_millis(self.alert.starts_at),
        )
    }
}

async fn insert_notification(conn: &mut AnyConnection, request: &IngestRequest) -> Result<i64> {
    let notification = &request.notification;
    let id = sqlx::query(
        "INSERT INTO notifications (received_at, receiver, status, group_key, alert_count, body) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(to_millis(request.received_at))
    .bind(notification.receiver.as_str())
    .bind(notification.status.as_str())
    .bind(notification.group_key.as_str())
    .bind(i64::try_from(notification.alerts.len()).unwrap_or(i64::MAX))
    .bind(request.body.as_str())
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    Ok(id)
}

fn json(labels: &crate::alertmanager::LabelSet) -> String {
    // A map of strings always serialises.
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_owned())
}
