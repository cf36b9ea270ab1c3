//! The outbox as the delivery worker works it beyond claiming: single jobs queued on the way
//! (notices, fallback emails), jobs deferred to their chat's turn, storm digests, and the condition
//! for falling back to email.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{ROWS_PER_STATEMENT, Result, Store, rows_sql, to_millis};
use crate::domain::IncidentId;
use crate::store::JobKind;

/// A Telegram send waiting for its chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSend {
    pub job_id: i64,
    pub incident: IncidentId,
    pub digested: bool,
}

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

    /// Telegram sends not yet done for `recipient`, oldest first.
    pub async fn pending_sends(&self, recipient: &str) -> Result<Vec<PendingSend>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, digest_message_id FROM outbox \
             WHERE recipient = $1 AND kind = 'telegram.send' AND done_at IS NULL ORDER BY id",
        )
        .bind(recipient)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingSend {
                    job_id: row.try_get(0)?,
                    incident: IncidentId(row.try_get(1)?),
                    digested: row.try_get::<Option<i64>, _>(2)?.is_some(),
                })
            })
            .collect()
    }

    /// Marks sends as told by a digest message and spreads them out from `first` at `spacing`, so that
    /// they follow one by one at the chat's pace while newer alerts go first. Leases are dropped.
    pub async fn mark_digested(
        &self,
        job_ids: &[i64],
        digest_message_id: i64,
        first: DateTime<Utc>,
        spacing: std::time::Duration,
    ) -> Result<()> {
        let spacing = i64::try_from(spacing.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await?;
        // One statement per chunk (a storm digest covers thousands of jobs): each job's time comes from
        // a VALUES list, whose columns both backends name column1, column2.
        for (c, chunk) in job_ids.chunks(ROWS_PER_STATEMENT).enumerate() {
            let sql = format!(
                "UPDATE outbox SET digest_message_id = ${}, next_attempt_at = v.column2, \
                     lease_owner = NULL, lease_expires_at = NULL, attempts = 0 \
                 FROM (VALUES {}) AS v WHERE outbox.id = v.column1 AND outbox.done_at IS NULL",
                chunk.len() * 2 + 1,
                rows_sql(chunk.len(), 2, "({1}, {2})")
            );
            let mut query = sqlx::query(&sql);
            for (i, id) in chunk.iter().enumerate() {
                let position = (c * ROWS_PER_STATEMENT + i) as i64;
                let at = to_millis(first).saturating_add(spacing.saturating_mul(position));
                query = query.bind(*id).bind(at);
            }
            query.bind(digest_message_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
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

    /// Whether `owner` still holds the lease on a job (a digest may have taken it back meanwhile).
    pub async fn holds_lease(&self, id: i64, owner: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM outbox WHERE id = $1 AND lease_owner = $2 AND done_at IS NULL",
        )
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}
