//! State the delivery worker and the bot share: messages sent per incident, Telegram users met,
//! unreachable recipients, migrated chats, acknowledgements and silences (each queueing the edits of
//! every message already sent) and storm digests.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::outbox::cancel_escalation;
use super::{ROWS_PER_STATEMENT, Result, Store, rows_sql, to_millis};
use crate::domain::IncidentId;
use crate::store::JobKind;

/// What pressing Acknowledge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    Acknowledged,
    /// Someone acknowledged it first.
    AlreadyBy(String),
    NotFound,
}

/// A Telegram send waiting for its chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSend {
    pub job_id: i64,
    pub incident: IncidentId,
    pub digested: bool,
}

/// Queues an edit of every message sent about the incident (one job per recipient of its sends).
pub(crate) async fn queue_edits(
    conn: &mut AnyConnection,
    incident: IncidentId,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (kind, incident_id, recipient, created_at, next_attempt_at) \
         SELECT 'telegram.edit', incident_id, recipient, $2, $2 FROM outbox \
         WHERE incident_id = $1 AND kind = 'telegram.send'",
    )
    .bind(incident.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Remembers the message sent to `chat_id` about an incident (a later send to the same chat replaces it).
    pub async fn record_message(
        &self,
        incident: IncidentId,
        chat_id: i64,
        message_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO telegram_messages (incident_id, chat_id, message_id, sent_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id, chat_id) \
             DO UPDATE SET message_id = excluded.message_id, sent_at = excluded.sent_at",
        )
        .bind(incident.0)
        .bind(chat_id)
        .bind(message_id)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The message sent to `chat_id` about an incident, if any.
    pub async fn message_in(&self, incident: IncidentId, chat_id: i64) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT message_id FROM telegram_messages WHERE incident_id = $1 AND chat_id = $2",
        )
        .bind(incident.0)
        .bind(chat_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Records a Telegram user the bot has met, so `@username` admins resolve to their id.
    pub async fn remember_user(
        &self,
        user_id: i64,
        username: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO telegram_users (user_id, username, first_seen_at, last_seen_at) \
             VALUES ($1, $2, $3, $3) ON CONFLICT (user_id) \
             DO UPDATE SET username = excluded.username, last_seen_at = excluded.last_seen_at",
        )
        .bind(user_id)
        .bind(username.map(str::to_ascii_lowercase))
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The id of the user with this username (lowercase, without `@`), once they wrote to the bot.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT user_id FROM telegram_users WHERE username = $1 \
             ORDER BY last_seen_at DESC LIMIT 1",
        )
        .bind(username.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Marks a recipient unreachable; `true` when the owners have not been told yet (and now count as
    /// told, so that exactly one caller tells them).
    pub async fn mark_unreachable(
        &self,
        recipient: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO unreachable_recipients (recipient, reason, since) VALUES ($1, $2, $3) \
             ON CONFLICT (recipient) DO NOTHING",
        )
        .bind(recipient)
        .bind(reason)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        let told = sqlx::query(
            "UPDATE unreachable_recipients SET owners_told = 1 \
             WHERE recipient = $1 AND owners_told = 0",
        )
        .bind(recipient)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(told.rows_affected() == 1)
    }

    /// A user pressed Start: they can be reached again.
    pub async fn mark_reachable(&self, recipients: &[String]) -> Result<()> {
        for recipient in recipients {
            sqlx::query("DELETE FROM unreachable_recipients WHERE recipient = $1")
                .bind(recipient.as_str())
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// A group became a supergroup: messages for `from` go to `to` from now on.
    pub async fn record_migration(&self, from: i64, to: i64, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO chat_migrations (from_chat_id, to_chat_id, migrated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (from_chat_id) DO UPDATE SET to_chat_id = excluded.to_chat_id",
        )
        .bind(from)
        .bind(to)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        // Messages already sent in the old group live on in the supergroup under the same ids.
        sqlx::query("UPDATE telegram_messages SET chat_id = $2 WHERE chat_id = $1")
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where a chat lives now, following migrations.
    pub async fn current_chat(&self, chat_id: i64) -> Result<i64> {
        let row = sqlx::query("SELECT to_chat_id FROM chat_migrations WHERE from_chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(chat_id))
    }

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
        queue_edits(&mut tx, incident, now_ms).await?;
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
        queue_edits(&mut tx, incident, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

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
