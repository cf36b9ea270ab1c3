//! What replicas sharing the state store agree on through it: which one holds a named lease (the
//! Telegram poller), and which Telegram updates were already handled by one of them.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Result, Store, to_millis};

/// The lease that decides which replica talks to Telegram: long-polls its updates and sends every
/// message, so that all replicas together keep Telegram's limits with one throttle.
pub const TELEGRAM: &str = "telegram";
/// A holder that stops renewing its lease loses it this long after its last renewal.
pub const LEASE: Duration = Duration::from_secs(10);
/// How often the holder renews its lease, and how often the others try to take it.
pub const RENEW: Duration = Duration::from_secs(3);

impl Store {
    /// Takes or renews the lease `name` for `owner` until `until`: `true` when `owner` holds it now
    /// (it was free, expired at `now`, or already `owner`'s).
    pub async fn hold_lease(
        &self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        if self.backend() == super::Backend::Sqlite {
            // One process per SQLite file: it holds every lease, and one restarted after a crash
            // does not wait for its predecessor's to expire.
            return Ok(true);
        }
        let taken = sqlx::query(
            "INSERT INTO service_leases (name, owner, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
             WHERE service_leases.owner = excluded.owner OR service_leases.expires_at <= $4",
        )
        .bind(name)
        .bind(owner)
        .bind(to_millis(until))
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    /// Takes or renews the Telegram lease for `owner` at `now`; a state store that does not answer
    /// holds nobody.
    pub async fn hold_telegram(&self, owner: &str, now: DateTime<Utc>) -> bool {
        let until = now + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::MAX);
        match self.hold_lease(TELEGRAM, owner, now, until).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "the Telegram lease could not be read");
                false
            }
        }
    }

    /// Gives the lease up (at shutdown), so another replica takes it at once.
    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM service_leases WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that update `id` is being handled: `false` when a replica (or this one, after a
    /// redelivery) already did, and it must not be handled again.
    pub async fn first_handling(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let recorded = sqlx::query(
            "INSERT INTO handled_updates (update_id, handled_at) VALUES ($1, $2) \
             ON CONFLICT (update_id) DO NOTHING",
        )
        .bind(id)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(recorded == 1)
    }

    /// Forgets the updates handled before `before` (Telegram redelivers an update for a day at most).
    pub async fn prune_handled_updates(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM handled_updates WHERE handled_at < $1")
                .bind(to_millis(before))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// A run of an action taken across every replica sharing the state store: on PostgreSQL a session
/// advisory lock held on a connection of its own for as long as the claim lives; on SQLite (one
/// process) nothing more than the process's own bookkeeping. Dropping it ends the session, and the
/// server frees the lock with it, whatever the run's end was.
pub struct RunClaim {
    held: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
}

impl Drop for RunClaim {
    fn drop(&mut self) {
        // Closed rather than returned to the pool: a pooled session would keep the lock.
        drop(self.held.take().map(sqlx::pool::PoolConnection::detach));
    }
}

impl Store {
    /// Claims the run of `action` on `database` for this process: `None` while another replica runs it.
    pub async fn claim_run(&self, database: &str, action: &str) -> Result<Option<RunClaim>> {
        if self.backend() == super::Backend::Sqlite {
            return Ok(Some(RunClaim { held: None }));
        }
        let digest = crate::tokens::digest(&format!("run\0{database}\0{action}"));
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        let key = i64::from_be_bytes(bytes);
        let mut conn = self.pool.acquire().await?;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        Ok(taken.then_some(RunClaim { held: Some(conn) }))
    }
}

/// The channel replicas tell each other on (PostgreSQL `LISTEN`/`NOTIFY`).
pub const CHANNEL: &str = "postgram";

/// What one replica tells the others at once, so they need not wait for a periodic check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum News {
    /// Cancel this run, wherever it runs.
    CancelRun(i64),
    /// Cancel the run of this action on this database, wherever it runs.
    CancelAction { database: String, action: String },
    /// Members were added, removed or changed: rebuild the routes.
    Members,
    /// The configuration was reloaded here: read it again.
    Reloaded,
}

/// News as it travels: who told it, and what.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Told {
    pub from: String,
    pub news: News,
}

impl Store {
    /// Tells the other replicas `news` (nothing to tell on SQLite: one process).
    pub async fn tell_replicas(&self, news: News) -> Result<()> {
        if self.backend() == super::Backend::Sqlite {
            return Ok(());
        }
        let told = Told {
            from: self.replica.to_string(),
            news,
        };
        let payload = serde_json::to_string(&told).unwrap_or_default();
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The news in `payload` when another replica told it; `None` for this one's own, or garbage.
    pub fn news_from_others(&self, payload: &str) -> Option<News> {
        let told: Told = serde_json::from_str(payload).ok()?;
        (told.from != *self.replica).then_some(told.news)
    }
}
