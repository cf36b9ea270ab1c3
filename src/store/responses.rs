//! What people did about an incident: acknowledging it and silencing it. Each change queues the
//! edits of every message already sent, in the same transaction.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::feeds::queue_edits;
use super::outbox::cancel_escalation;
use super::{Result, Store, to_millis};
use crate::domain::IncidentId;

/// What pressing Acknowledge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    Acknowledged,
    /// Someone acknowledged it first.
    AlreadyBy(String),
    NotFound,
}

impl Store {
    /// Records who acknowledged, queues the edits of every message and stops the escalation.
    pub async fn acknowledge(
        &self,
        incident: IncidentId,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<AckOutcome> {
        let mut tx = self.pool.begin().await?;
        let now_ms = to_millis(now);
        let done = sqlx::query(
            "UPDATE incidents SET acknowledged_by = $2, acknowledged_at = $3, updated_at = $3 \
             WHERE id = $1 AND acknowledged_by IS NULL",
        )
        .bind(incident.0)
        .bind(by)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let row = sqlx::query("SELECT acknowledged_by FROM incidents WHERE id = $1")
                .bind(incident.0)
                .fetch_optional(&mut *tx)
                .await?;
            return Ok(match row {
                None => AckOutcome::NotFound,
                Some(row) => {
                    AckOutcome::AlreadyBy(row.try_get::<Option<String>, _>(0)?.unwrap_or_default())
                }
            });
        }
        queue_edits(&mut tx, incident, now_ms, None).await?;
        cancel_escalation(&mut tx, incident, now_ms, "acknowledged").await?;
        tx.commit().await?;
        Ok(AckOutcome::Acknowledged)
    }

    /// Records a silence created for the incident (or clears it with `None`) and queues the edits.
    pub async fn set_silence(
        &self,
        incident: IncidentId,
        silence: Option<(&str, &str, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let now_ms = to_millis(now);
        let (by, id, until) = match silence {
            Some((by, id, until)) => (Some(by), Some(id), Some(to_millis(until))),
            None => (None, None, None),
        };
        sqlx::query(
            "UPDATE incidents SET silenced_by = $2, silence_id = $3, silenced_until = $4, \
                 updated_at = $5 WHERE id = $1",
        )
        .bind(incident.0)
        .bind(by)
        .bind(id)
        .bind(until)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        queue_edits(&mut tx, incident, now_ms, None).await?;
        tx.commit().await?;
        Ok(())
    }
}
