//! The outbox as the delivery worker works it beyond claiming: single jobs queued on the way
//! (notices, fallback emails), jobs deferred to their chat's turn, and the condition for falling back
//! to email.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Result, Store, to_millis};
use crate::domain::IncidentId;
use crate::store::JobKind;

impl Store {
    /// Queues one job.
    pub async fn enqueue(
        &self,
        kind: JobKind,
        incident: Option<IncidentId>,
        recipient: &str,
        payload: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox (kind, incident_id, recipient, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(kind.as_str())
        .bind(incident.map(|i| i.0))
        .bind(recipient)
        .bind(payload.to_string())
        .bind(to_millis(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Enqueues a job unless the store already holds one its unique key forbids (a fallback email about
    /// this incident to this address); `true` when it was added. One statement, so concurrent callers
    /// cannot both add it.
    pub async fn enqueue_once(
        &self,
        kind: JobKind,
        incident: IncidentId,
        recipient: &str,
        payload: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO outbox (kind, incident_id, recipient, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
        )
        .bind(kind.as_str())
        .bind(incident.0)
        .bind(recipient)
        .bind(payload.to_string())
        .bind(to_millis(at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a claimed job back until `at` without counting an attempt (it waited for its turn, it did
    /// not fail).
    pub async fn defer_job(&self, id: i64, owner: &str, at: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $3, attempts = attempts - 1, lease_owner = NULL, \
                 lease_expires_at = NULL \
             WHERE id = $1 AND lease_owner = $2 AND done_at IS NULL",
        )
        .bind(id)
        .bind(owner)
        .bind(to_millis(at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// When the first attempt of the incident's Telegram sends to its admins started failing, if every
    /// one of them is still undelivered (the condition for emailing instead).
    pub async fn telegram_failing_since(&self, incident: IncidentId) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(created_at), SUM(CASE WHEN result IS NOT NULL AND result NOT LIKE 'failed%' \
                 AND result NOT LIKE 'unreachable%' THEN 1 ELSE 0 END) \
             FROM outbox WHERE incident_id = $1 AND kind = 'telegram.send'",
        )
        .bind(incident.0)
        .fetch_one(&self.pool)
        .await?;
        let since: Option<i64> = row.try_get(0)?;
        let delivered: Option<i64> = row.try_get(1)?;
        Ok(since.filter(|_| delivered.unwrap_or(0) == 0))
    }

    /// Whether a job of `kind` for `recipient` exists for the incident (done or not).
    pub async fn has_job(
        &self,
        incident: IncidentId,
        kind: JobKind,
        recipient: &str,
    ) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM outbox WHERE incident_id = $1 AND kind = $2 AND recipient = $3 LIMIT 1",
        )
        .bind(incident.0)
        .bind(kind.as_str())
        .bind(recipient)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}
