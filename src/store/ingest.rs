//! Writing notifications: receipts (the deduplication rule), incidents and the outbox jobs they cause,
//! for a whole batch of notifications in one transaction (group commit).

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::outbox::{JobKind, NewJob, insert_jobs};
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
    pub async fn ingest(&self, batch: &[IngestRequest]) -> Result<Vec<IngestOutcome>> {
        let mut tx = self.pool.begin().await?;
        let mut jobs = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for request in batch {
            outcomes.push(ingest_one(&mut tx, request, &mut jobs).await?);
        }
        insert_jobs(&mut tx, &jobs).await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}

async fn ingest_one(
    conn: &mut AnyConnection,
    request: &IngestRequest,
    jobs: &mut Vec<NewJob>,
) -> Result<IngestOutcome> {
    let now = to_millis(request.received_at);
    let notification = &request.notification;
    // The row is written first because receipts point at it, and removed again below if every alert
    // turns out to be a duplicate, so that a repeat leaves no trace.
    let notification_id: i64 = sqlx::query(
        "INSERT INTO notifications (received_at, receiver, status, group_key, alert_count, body) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(now)
    .bind(notification.receiver.as_str())
    .bind(notification.status.as_str())
    .bind(notification.group_key.as_str())
    .bind(i64::try_from(notification.alerts.len()).unwrap_or(i64::MAX))
    .bind(request.body.as_str())
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;

    let mut alerts = Vec::with_capacity(notification.alerts.len());
    for (alert, route) in notification.alerts.iter().zip(&request.routes) {
        let outcome = match alert.status {
            AlertStatus::Firing => firing(conn, notification_id, alert, route, now, jobs).await?,
            AlertStatus::Resolved => resolved(conn, notification_id, alert, route, now).await?,
        };
        alerts.push(outcome);
    }
    if alerts.iter().all(|a| *a == AlertOutcome::Duplicate) {
        sqlx::query("DELETE FROM notifications WHERE id = $1")
            .bind(notification_id)
            .execute(&mut *conn)
            .await?;
        return Ok(IngestOutcome {
            notification_id: None,
            alerts,
        });
    }
    Ok(IngestOutcome {
        notification_id: Some(notification_id),
        alerts,
    })
}

async fn firing(
    conn: &mut AnyConnection,
    notification_id: i64,
    alert: &Alert,
    route: &AlertRoute,
    now: i64,
    jobs: &mut Vec<NewJob>,
) -> Result<AlertOutcome> {
    let opened = insert_incident(conn, alert, route, AlertStatus::Firing, now).await?;
    let incident = match opened {
        Some(id) => id,
        None => find_incident(conn, alert).await?,
    };
    if !insert_receipt(conn, notification_id, incident, alert).await? {
        return Ok(AlertOutcome::Duplicate);
    }
    if opened.is_none() {
        // Fired again with the same startsAt after we stored it (out-of-order delivery).
        return Ok(AlertOutcome::Recorded(incident));
    }
    for recipient in &route.telegram {
        jobs.push(NewJob::now(JobKind::TelegramSend, incident, recipient, now));
    }
    for address in &route.email {
        let mut job = NewJob::now(JobKind::EmailEscalation, incident, address, now);
        job.next_attempt_at = to_millis(route.escalate_at);
        jobs.push(job);
    }
    Ok(AlertOutcome::Opened(incident))
}

async fn resolved(
    conn: &mut AnyConnection,
    notification_id: i64,
    alert: &Alert,
    route: &AlertRoute,
    now: i64,
) -> Result<AlertOutcome> {
    let ends_at = alert.ends_at.map(to_millis);
    let closed: Option<i64> = sqlx::query(
        "UPDATE incidents SET status = 'resolved', ends_at = $1, resolved_at = $2, updated_at = $2 \
         WHERE fingerprint = $3 AND starts_at = $4 AND status = 'firing' RETURNING id",
    )
    .bind(ends_at)
    .bind(now)
    .bind(alert.fingerprint.as_str())
    .bind(to_millis(alert.starts_at))
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| row.try_get(0))
    .transpose()?;
    let incident = match closed {
        Some(id) => IncidentId(id),
        None => match insert_incident(conn, alert, route, AlertStatus::Resolved, now).await? {
            Some(id) => id,
            None => find_incident(conn, alert).await?,
        },
    };
    if !insert_receipt(conn, notification_id, incident, alert).await? {
        return Ok(AlertOutcome::Duplicate);
    }
    if closed.is_none() {
        return Ok(AlertOutcome::Recorded(incident));
    }
    // Every message sent gets an edit, and every fallback email sent gets its resolution; an escalation
    // not yet due has nothing left to escalate.
    sqlx::query(
        "INSERT INTO outbox (kind, incident_id, recipient, payload, created_at, next_attempt_at) \
         SELECT CASE kind WHEN 'telegram.send' THEN 'telegram.edit' ELSE 'email.resolved' END, \
                incident_id, recipient, '{}', $2, $2 \
         FROM outbox WHERE incident_id = $1 \
           AND (kind = 'telegram.send' OR (kind = 'email.escalation' AND result = 'sent'))",
    )
    .bind(incident.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE outbox SET done_at = $2, result = 'cancelled: resolved' \
         WHERE incident_id = $1 AND kind = 'email.escalation' AND done_at IS NULL",
    )
    .bind(incident.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(AlertOutcome::Resolved(incident))
}

/// Inserts the incident unless (fingerprint, startsAt) exists; returns the new id.
async fn insert_incident(
    conn: &mut AnyConnection,
    alert: &Alert,
    route: &AlertRoute,
    status: AlertStatus,
    now: i64,
) -> Result<Option<IncidentId>> {
    let resolved_at = (status == AlertStatus::Resolved).then_some(now);
    let row = sqlx::query(
        "INSERT INTO incidents (fingerprint, starts_at, ends_at, status, database_name, alertname, \
             severity, labels, annotations, generator_url, created_at, updated_at, resolved_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) \
         ON CONFLICT (fingerprint, starts_at) DO NOTHING RETURNING id",
    )
    .bind(alert.fingerprint.as_str())
    .bind(to_millis(alert.starts_at))
    .bind(alert.ends_at.map(to_millis))
    .bind(status.as_str())
    .bind(route.database.as_ref().map(DatabaseName::as_str))
    .bind(alert.alertname())
    .bind(alert.severity())
    .bind(json(&alert.labels))
    .bind(json(&alert.annotations))
    .bind(alert.generator_url.as_str())
    .bind(now)
    .bind(resolved_at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?.map(IncidentId))
}

async fn find_incident(conn: &mut AnyConnection, alert: &Alert) -> Result<IncidentId> {
    let id: i64 = sqlx::query("SELECT id FROM incidents WHERE fingerprint = $1 AND starts_at = $2")
        .bind(alert.fingerprint.as_str())
        .bind(to_millis(alert.starts_at))
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    Ok(IncidentId(id))
}

/// Records that this notification told us about the alert; `false` if it had been told before.
async fn insert_receipt(
    conn: &mut AnyConnection,
    notification_id: i64,
    incident: IncidentId,
    alert: &Alert,
) -> Result<bool> {
    let row = sqlx::query(
        "INSERT INTO alert_receipts (notification_id, incident_id, fingerprint, status, starts_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fingerprint, status, starts_at) DO NOTHING \
         RETURNING id",
    )
    .bind(notification_id)
    .bind(incident.0)
    .bind(alert.fingerprint.as_str())
    .bind(alert.status.as_str())
    .bind(to_millis(alert.starts_at))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

fn json(labels: &crate::alertmanager::LabelSet) -> String {
    // A map of strings always serialises.
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_owned())
}
