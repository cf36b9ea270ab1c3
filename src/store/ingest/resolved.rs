//! Resolutions, one by one after the firings of the same batch: the incident closed (or kept in the
//! history when it never fired here), its edits and resolution emails queued, its escalation stopped.

use sqlx::{AnyConnection, Row};

use super::{AlertOutcome, AlertRoute, Item, json};
use crate::alertmanager::Alert;
use crate::domain::{DatabaseName, IncidentId};
use crate::store::Result;
use crate::store::feeds::queue_edits;
use crate::store::outbox::cancel_escalation;
use crate::store::to_millis;

pub(super) async fn resolved(conn: &mut AnyConnection, item: &Item<'_>) -> Result<AlertOutcome> {
    let Item {
        alert,
        route,
        notification_id,
        now,
        traceparent,
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
    queue_edits(conn, incident, now, traceparent).await?;
    sqlx::query(
        "INSERT INTO outbox (kind, incident_id, recipient, payload, created_at, next_attempt_at, \
             traceparent) \
         SELECT 'email.resolved', incident_id, recipient, '{}', $2, $2, $3 \
         FROM outbox WHERE incident_id = $1 AND kind = 'email.escalation' AND result = 'sent'",
    )
    .bind(incident.0)
    .bind(now)
    .bind(traceparent)
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
