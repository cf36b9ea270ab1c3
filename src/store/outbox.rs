//! The outbox of delivery jobs. Jobs are claimed with a lease (owner and expiry): a job is performed by
//! one worker at a time, and a crashed worker's jobs become claimable again when the lease expires
//! (leases are short and renewed while their owner lives; on SQLite a starting process takes back all).
//! On PostgreSQL several replicas claim concurrently with `FOR UPDATE SKIP LOCKED`; on SQLite the single
//! write lock serialises claims.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::{
    Backend, ROWS_PER_STATEMENT, Result, Store, StoreError, lease_span, rows_sql, to_millis,
};
use crate::domain::IncidentId;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// Send the alert message to a Telegram chat.
    TelegramSend,
    /// Edit the messages already sent (acknowledged, silenced, resolved).
    TelegramEdit,
    /// Email the fallback recipients: nobody acknowledged in time, or Telegram could not deliver.
    EmailEscalation,
    /// Tell the email recipients of an escalation that the incident resolved.
    EmailResolved,
    /// Email an alert that Telegram could not deliver (a recipient refused the bot, or Telegram failed
    /// for longer than `escalation.telegram_failure_after`).
    EmailFallback,
    /// A plain notice to a Telegram chat (owners told that a recipient is unreachable); text in the payload.
    TelegramNotice,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::TelegramSend,
        JobKind::TelegramEdit,
        JobKind::EmailEscalation,
        JobKind::EmailResolved,
        JobKind::EmailFallback,
        JobKind::TelegramNotice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::TelegramSend => "telegram.send",
            JobKind::TelegramEdit => "telegram.edit",
            JobKind::EmailEscalation => "email.escalation",
            JobKind::EmailResolved => "email.resolved",
            JobKind::EmailFallback => "email.fallback",
            JobKind::TelegramNotice => "telegram.notice",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobKind {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        JobKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt {
                what: "job kind",
                detail: s.to_owned(),
            })
    }
}

/// A job to insert.
#[derive(Debug, Clone)]
pub(crate) struct NewJob {
    pub kind: JobKind,
    pub incident: IncidentId,
    pub recipient: String,
    pub created_at: i64,
    pub next_attempt_at: i64,
    /// The trace the job continues (see `IngestRequest::traceparent`).
    pub traceparent: Option<String>,
}

impl NewJob {
    pub fn now(kind: JobKind, incident: IncidentId, recipient: &str, now: i64) -> Self {
        Self {
            kind,
            incident,
            recipient: recipient.to_owned(),
            created_at: now,
            next_attempt_at: now,
            traceparent: None,
        }
    }
}

pub(crate) async fn insert_jobs(conn: &mut AnyConnection, jobs: &[NewJob]) -> Result<()> {
    for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO outbox (kind, incident_id, recipient, created_at, next_attempt_at, \
                 traceparent) VALUES {}",
            rows_sql(chunk.len(), 6, "({1}, {2}, {3}, {4}, {5}, {6})")
        );
        let mut query = sqlx::query(&sql);
        for job in chunk {
            query = query
                .bind(job.kind.as_str())
                .bind(job.incident.0)
                .bind(job.recipient.as_str())
                .bind(job.created_at)
                .bind(job.next_attempt_at)
                .bind(job.traceparent.as_deref());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Cancels the incident's escalation emails not yet sent: someone is on it, or it is over.
pub(crate) async fn cancel_escalation(
    conn: &mut AnyConnection,
    incident: IncidentId,
    now: i64,
    why: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET done_at = $2, result = $3 \
         WHERE incident_id = $1 AND kind = 'email.escalation' AND done_at IS NULL",
    )
    .bind(incident.0)
    .bind(now)
    .bind(format!("cancelled: {why}"))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A job a worker now holds the lease on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: JobKind,
    pub incident: Option<IncidentId>,
    pub recipient: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// The trace its delivery continues: the W3C traceparent of the request that caused it.
    pub traceparent: Option<String>,
}

/// Pending work of one kind, for metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxStats {
    pub kind: JobKind,
    /// Jobs due now and not done.
    pub due: i64,
    /// Jobs waiting for a later time (escalations, backoff).
    pub scheduled: i64,
    /// How long the oldest due job has been waiting.
    pub oldest_due_age: Duration,
}

impl Store {
    /// Claims up to `limit` due jobs for `owner` until `now + lease`.
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>> {
        self.claim_some_jobs(owner, now, lease, limit, "").await
    }

    /// Claims like [`Store::claim_jobs`], emails only: what a replica that does not hold the Telegram
    /// lease performs.
    pub async fn claim_email_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>> {
        let emails = "AND kind LIKE 'email.%'";
        self.claim_some_jobs(owner, now, lease, limit, emails).await
    }

    /// `only` narrows the due jobs with a constant condition.
    async fn claim_some_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
        only: &'static str,
    ) -> Result<Vec<ClaimedJob>> {
        let lock = self.skip_locked();
        let (now_ms, until) = lease_span(now, lease);
        let sql = format!(
            "UPDATE outbox SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox \
                          WHERE done_at IS NULL AND next_attempt_at <= $3 \
                            AND (lease_expires_at IS NULL OR lease_expires_at <= $3) {only} \
                          ORDER BY next_attempt_at, id LIMIT $4 {lock}) \
             RETURNING id, kind, incident_id, recipient, payload, attempts, traceparent"
        );
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(until)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut jobs = rows
            .into_iter()
            .map(|row| {
                Ok(ClaimedJob {
                    id: row.try_get("id")?,
                    kind: row.try_get::<String, _>("kind")?.parse()?,
                    incident: row
                        .try_get::<Option<i64>, _>("incident_id")?
                        .map(IncidentId),
                    recipient: row.try_get("recipient")?,
                    payload: row.try_get("payload")?,
                    attempts: row.try_get("attempts")?,
                    traceparent: row.try_get("traceparent")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|job| job.id);
        Ok(jobs)
    }

    /// Marks a job done with its result (a Telegram message id, "sent", …). `false` if `owner` no longer
    /// holds the lease, in which case nothing changes.
    pub async fn complete_job(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        result: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET done_at = $3, result = $4, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $1 AND lease_owner = $2 AND done_at IS NULL",
        )
        .bind(id)
        .bind(owner)
        .bind(to_millis(now))
        .bind(result)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a job back for another attempt at `retry_at`, recording why this one failed.
    pub async fn retry_job(
        &self,
        id: i64,
        owner: &str,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $3, last_error = $4, lease_owner = NULL, \
                 lease_expires_at = NULL \
             WHERE id = $1 AND lease_owner = $2 AND done_at IS NULL",
        )
        .bind(id)
        .bind(owner)
        .bind(to_millis(retry_at))
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Releases every lease `owner` holds (jobs and Telegram feeds), at shutdown, so another process
    /// need not wait for expiry.
    pub async fn release_leases(&self, owner: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE outbox SET lease_owner = NULL, lease_expires_at = NULL \
             WHERE lease_owner = $1 AND done_at IS NULL",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        let feeds = sqlx::query(
            "UPDATE telegram_feeds SET lease_owner = NULL, lease_expires_at = NULL \
             WHERE lease_owner = $1",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() + feeds.rows_affected())
    }

    /// Extends every lease `owner` holds (jobs and Telegram feeds) to `until`: leases are short and
    /// renewed while their owner lives, so a process killed mid-delivery holds its work for seconds,
    /// not minutes.
    pub async fn renew_leases(&self, owner: &str, until: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE outbox SET lease_expires_at = $2 WHERE lease_owner = $1 AND done_at IS NULL",
        )
        .bind(owner)
        .bind(to_millis(until))
        .execute(&self.pool)
        .await?;
        let feeds =
            sqlx::query("UPDATE telegram_feeds SET lease_expires_at = $2 WHERE lease_owner = $1")
                .bind(owner)
                .bind(to_millis(until))
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() + feeds.rows_affected())
    }

    /// At start: on SQLite one process owns the file, so every lease in it was left by a process that
    /// is gone, and all are taken back at once. On PostgreSQL other replicas may be alive: their leases
    /// lapse on their own once nobody renews them. Returns how many were taken back.
    pub async fn take_back_dead_leases(&self) -> Result<u64> {
        if self.backend != Backend::Sqlite {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE outbox SET lease_owner = NULL, lease_expires_at = NULL \
             WHERE lease_owner IS NOT NULL AND done_at IS NULL",
        )
        .execute(&self.pool)
        .await?;
        let feeds = sqlx::query(
            "UPDATE telegram_feeds SET lease_owner = NULL, lease_expires_at = NULL \
             WHERE lease_owner IS NOT NULL",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() + feeds.rows_affected())
    }

    /// Pending work by kind (every kind is listed, with zeros). Telegram sends include the alerts
    /// still waiting in recipients' feeds.
    pub async fn outbox_stats(&self, now: DateTime<Utc>) -> Result<Vec<OutboxStats>> {
        let now_ms = to_millis(now);
        let rows = sqlx::query(
            "SELECT kind, \
                    SUM(CASE WHEN next_attempt_at <= $1 THEN 1 ELSE 0 END) AS due, \
                    SUM(CASE WHEN next_attempt_at > $1 THEN 1 ELSE 0 END) AS scheduled, \
                    MIN(CASE WHEN next_attempt_at <= $1 THEN next_attempt_at END) AS oldest \
             FROM outbox WHERE done_at IS NULL GROUP BY kind",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut stats: Vec<OutboxStats> = JobKind::ALL
            .into_iter()
            .map(|kind| OutboxStats {
                kind,
                due: 0,
                scheduled: 0,
                oldest_due_age: Duration::ZERO,
            })
            .collect();
        // Alerts still waiting in Telegram feeds are sends not yet queued: they count as sends, due
        // when their feed is.
        let waiting = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN f.next_attempt_at <= $1 THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN f.next_attempt_at > $1 THEN 1 ELSE 0 END), 0) \
             FROM telegram_feeds f \
             JOIN recipient_set_members m ON m.recipient = f.recipient \
             JOIN incidents i ON i.recipient_set = m.set_id AND i.id > f.queued_upto \
             WHERE f.next_attempt_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox o \
                 WHERE o.incident_id = i.id AND o.kind = 'telegram.send' AND o.recipient = f.recipient)",
        )
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?;
        if let Some(sends) = stats.iter_mut().find(|s| s.kind == JobKind::TelegramSend) {
            sends.due += waiting.try_get::<i64, _>(0)?;
            sends.scheduled += waiting.try_get::<i64, _>(1)?;
        }
        for row in rows {
            let kind: JobKind = row.try_get::<String, _>("kind")?.parse()?;
            let oldest: Option<i64> = row.try_get("oldest")?;
            if let Some(entry) = stats.iter_mut().find(|s| s.kind == kind) {
                entry.due += row.try_get::<i64, _>("due")?;
                entry.scheduled += row.try_get::<i64, _>("scheduled")?;
                entry.oldest_due_age = oldest
                    .map(|t| Duration::from_millis(u64::try_from(now_ms - t).unwrap_or(0)))
                    .unwrap_or_default();
            }
        }
        Ok(stats)
    }
}
