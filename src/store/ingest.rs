//! Writing notifications: receipts (the deduplication rule), incidents, the escalation jobs and the
//! Telegram feeds they bump, for a whole batch of notifications in one transaction (group commit).

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::feeds::{bump_feeds, ingest_in_order, queue_edits, recipient_sets, route_set_key};
use super::outbox::{JobKind, NewJob, cancel_escalation, insert_jobs};
use std::collections::{HashMap, HashSet};

use super::{ROWS_PER_STATEMENT, Result, Store, StoreError, rows_sql, to_millis};
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
                };
                match alert.status {
                    AlertStatus::Firing => firing.push(item),
                    AlertStatus::Resolved => resolving.push(item),
                }
            }
        }
        open_incidents(&mut tx, &firing, &mut outcomes, &mut queued).await?;
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

/// Opens incidents for firing alerts: inserts the new ones, finds the known ones, records receipts, and
/// queues the messages of every incident opened.
async fn open_incidents<'a>(
    conn: &mut AnyConnection,
    firing: &[Item<'a>],
    outcomes: &mut [Vec<AlertOutcome>],
    queued: &mut Queued<'a>,
) -> Result<()> {
    // The same alert twice in one batch (HA peers racing): the first is the candidate, the rest are
    // duplicates, as they would be in separate transactions.
    let mut seen = HashSet::new();
    let candidates: Vec<&Item<'a>> = firing.iter().filter(|f| seen.insert(f.key())).collect();

    let routes: Vec<&[String]> = candidates
        .iter()
        .map(|c| c.route.telegram.as_slice())
        .collect();
    let sets = recipient_sets(conn, &routes).await?;
    let mut incidents = insert_incidents(conn, &candidates, &sets).await?;
    find_known(conn, &candidates, &mut incidents).await?;
    let received = insert_receipts(conn, &candidates, &incidents).await?;

    for item in candidates {
        let (fingerprint, starts_at) = item.key();
        if !received.contains(&(fingerprint.to_owned(), starts_at)) {
            continue; // stays Duplicate
        }
        let (incident, opened) = incidents[&(fingerprint.to_owned(), starts_at)];
        outcomes[item.at.0][item.at.1] = if opened {
            queued.add(item, incident);
            AlertOutcome::Opened(incident)
        } else {
            AlertOutcome::Recorded(incident)
        };
    }
    Ok(())
}

/// Incidents by (fingerprint, starts_at): their id, and whether this batch opened them.
type Incidents = HashMap<(String, i64), (IncidentId, bool)>;

/// Inserts the candidates that are new incidents, each with the set of its Telegram recipients.
async fn insert_incidents(
    conn: &mut AnyConnection,
    candidates: &[&Item<'_>],
    sets: &HashMap<String, i64>,
) -> Result<Incidents> {
    let mut incidents = HashMap::new();
    for chunk in candidates.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO incidents (fingerprint, starts_at, ends_at, status, database_name, alertname, \
                 severity, labels, annotations, generator_url, created_at, updated_at, recipient_set) \
             VALUES {} ON CONFLICT (fingerprint, starts_at) DO NOTHING \
             RETURNING id, fingerprint, starts_at",
            rows_sql(
                chunk.len(),
                12,
                "({1}, {2}, {3}, 'firing', {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12})"
            )
        );
        let mut query = sqlx::query(&sql);
        for item in chunk {
            let alert = item.alert;
            let set = route_set_key(&item.route.telegram).and_then(|key| sets.get(&key).copied());
            query = query
                .bind(alert.fingerprint.as_str())
                .bind(to_millis(alert.starts_at))
                .bind(alert.ends_at.map(to_millis))
                .bind(item.route.database.as_ref().map(DatabaseName::as_str))
                .bind(alert.alertname())
                .bind(alert.severity())
                .bind(json(&alert.labels))
                .bind(json(&alert.annotations))
                .bind(alert.generator_url.as_str())
                .bind(item.now)
                .bind(item.now)
                .bind(set);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let key = (row.try_get("fingerprint")?, row.try_get("starts_at")?);
            incidents.insert(key, (IncidentId(row.try_get("id")?), true));
        }
    }
    Ok(incidents)
}

/// Adds the incidents that existed before (repeats of a firing alert, or out-of-order deliveries).
async fn find_known(
    conn: &mut AnyConnection,
    candidates: &[&Item<'_>],
    incidents: &mut Incidents,
) -> Result<()> {
    let known: Vec<&&Item<'_>> = candidates
        .iter()
        .filter(|c| !incidents.contains_key(&(c.alert.fingerprint.clone(), c.key().1)))
        .collect();
    for chunk in known.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id, fingerprint, starts_at FROM incidents WHERE fingerprint IN ({})",
            rows_sql(chunk.len(), 1, "{1}").replace(['(', ')'], "")
        );
        let mut query = sqlx::query(&sql);
        for item in chunk {
            query = query.bind(item.alert.fingerprint.as_str());
        }
        for row in query.fetch_all(&mut *conn).await? {
            let key = (row.try_get("fingerprint")?, row.try_get("starts_at")?);
            incidents
                .entry(key)
                .or_insert((IncidentId(row.try_get("id")?), false));
        }
    }
    Ok(())
}

/// Records the firing receipts; returns the (fingerprint, starts_at) pairs not received before.
async fn insert_receipts(
    conn: &mut AnyConnection,
    candidates: &[&Item<'_>],
    incidents: &Incidents,
) -> Result<HashSet<(String, i64)>> {
    let mut received = HashSet::new();
    for chunk in candidates.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO alert_receipts (notification_id, incident_id, fingerprint, status, starts_at) \
             VALUES {} ON CONFLICT (fingerprint, status, starts_at) DO NOTHING \
             RETURNING fingerprint, starts_at",
            rows_sql(chunk.len(), 4, "({1}, {2}, {3}, 'firing', {4})")
        );
        let mut query = sqlx::query(&sql);
        for item in chunk {
            let (fingerprint, starts_at) = item.key();
            let incident = incident_of(incidents, item)?;
            query = query
                .bind(item.notification_id)
                .bind(incident.0)
                .bind(fingerprint)
                .bind(starts_at);
        }
        for row in query.fetch_all(&mut *conn).await? {
            received.insert((row.try_get("fingerprint")?, row.try_get("starts_at")?));
        }
    }
    Ok(received)
}

fn incident_of(incidents: &Incidents, item: &Item<'_>) -> Result<IncidentId> {
    let (fingerprint, starts_at) = item.key();
    incidents
        .get(&(fingerprint.to_owned(), starts_at))
        .map(|(id, _)| *id)
        .ok_or_else(|| StoreError::Corrupt {
            what: "incident",
            detail: format!("no incident for fingerprint {fingerprint} after inserting it"),
        })
}

/// What the new incidents of a batch queue: their deferred escalation emails, and for each Telegram
/// recipient the first new incident in their feed.
#[derive(Default)]
struct Queued<'a> {
    jobs: Vec<NewJob>,
    feeds: HashMap<&'a str, i64>,
    now: i64,
}

impl<'a> Queued<'a> {
    fn add(&mut self, item: &Item<'a>, incident: IncidentId) {
        let route = item.route;
        self.now = self.now.max(item.now);
        for recipient in &route.telegram {
            let first = self.feeds.entry(recipient.as_str()).or_insert(incident.0);
            *first = (*first).min(incident.0);
        }
        for address in &route.email {
            let mut job = NewJob::now(JobKind::EmailEscalation, incident, address, item.now);
            job.next_attempt_at = to_millis(route.escalate_at);
            self.jobs.push(job);
        }
    }

    async fn write(&self, conn: &mut AnyConnection) -> Result<()> {
        insert_jobs(conn, &self.jobs).await?;
        bump_feeds(conn, &self.feeds, self.now).await
    }
}

async fn resolved(conn: &mut AnyConnection, item: &Item<'_>) -> Result<AlertOutcome> {
    let Item {
        alert,
        route,
        notification_id,
        now,
        ..
    } = *item;
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
        None => match insert_resolved_incident(conn, alert, route, now).await? {
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
    // Every Telegram recipient gets an edit, and every escalation email sent gets its resolution; an
    // escalation not yet due has nothing left to escalate.
    queue_edits(conn, incident, now).await?;
    sqlx::query(
        "INSERT INTO outbox (kind, incident_id, recipient, payload, created_at, next_attempt_at) \
         SELECT 'email.resolved', incident_id, recipient, '{}', $2, $2 \
         FROM outbox WHERE incident_id = $1 AND kind = 'email.escalation' AND result = 'sent'",
    )
    .bind(incident.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    cancel_escalation(conn, incident, now, "resolved").await?;
    Ok(AlertOutcome::Resolved(incident))
}

/// Keeps a resolution of an alert that never fired here in the history, unless its incident exists;
/// returns the new id.
async fn insert_resolved_incident(
    conn: &mut AnyConnection,
    alert: &Alert,
    route: &AlertRoute,
    now: i64,
) -> Result<Option<IncidentId>> {
    let row = sqlx::query(
        "INSERT INTO incidents (fingerprint, starts_at, ends_at, status, database_name, alertname, \
             severity, labels, annotations, generator_url, created_at, updated_at, resolved_at) \
         VALUES ($1, $2, $3, 'resolved', $4, $5, $6, $7, $8, $9, $10, $10, $10) \
         ON CONFLICT (fingerprint, starts_at) DO NOTHING RETURNING id",
    )
    .bind(alert.fingerprint.as_str())
    .bind(to_millis(alert.starts_at))
    .bind(alert.ends_at.map(to_millis))
    .bind(route.database.as_ref().map(DatabaseName::as_str))
    .bind(alert.alertname())
    .bind(alert.severity())
    .bind(json(&alert.labels))
    .bind(json(&alert.annotations))
    .bind(alert.generator_url.as_str())
    .bind(now)
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
