//! Connecting to an administered database, and remembering whether it answered: a database that
//! could not be reached is not tried again for a short while, and then one probe speaks for everyone
//! waiting.

use std::sync::PoisonError;

use chrono::{DateTime, Utc};
use sqlx::ConnectOptions;
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool};
use tokio::time::Instant;

use super::{CONNECT_TIMEOUT, QUICK_TIMEOUT, Target};
use crate::exec::ExecError;

/// What the last connection attempt said about the server.
pub(super) enum Reach {
    Unknown,
    Up,
    Down {
        since: DateTime<Utc>,
        reason: String,
        /// Until then, callers are answered without trying.
        until: Instant,
    },
}

impl Target {
    /// A connection from the views' pool, or `Unreachable` naming the database.
    pub(in crate::exec) async fn acquire(&self) -> Result<PoolConnection<Postgres>, ExecError> {
        self.acquire_from(&self.inner.pool).await
    }

    /// A connection from the pool of the small catalogue queries.
    pub(super) async fn acquire_quick(&self) -> Result<PoolConnection<Postgres>, ExecError> {
        self.acquire_from(&self.inner.quick).await
    }

    async fn acquire_from(&self, pool: &PgPool) -> Result<PoolConnection<Postgres>, ExecError> {
        // The pool retries a refused connection until its timeout; a server not known to answer is
        // asked once, directly, so a closed port fails at once.
        if !self.known_up()? {
            let _probe = self.inner.probe.lock().await;
            if !self.known_up()? {
                let conn = self.dial().await?;
                let _ = tokio::time::timeout(QUICK_TIMEOUT, sqlx::Connection::close(conn)).await;
            }
        }
        pool.acquire().await.map_err(|err| match err {
            // A busy pool times out too: that alone does not make the server unreachable, but the
            // next caller asks it directly.
            sqlx::Error::PoolTimedOut => {
                let mut reach = self
                    .inner
                    .reach
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                // A failure recorded meanwhile by another caller stands.
                if matches!(*reach, Reach::Up) {
                    *reach = Reach::Unknown;
                }
                drop(reach);
                self.unreachable(&err)
            }
            err => self.trip(&err),
        })
    }

    /// A connection of its own, outside the pool: actions and cancels run on these, so a burst of
    /// views holding every pooled connection cannot delay them, and a connection whose session an
    /// action touched is closed with it, never handed to someone else.
    pub(in crate::exec) async fn connect(&self) -> Result<PgConnection, ExecError> {
        if self.known_up()? {
            return self.dial().await;
        }
        let _probe = self.inner.probe.lock().await;
        self.known_up()?;
        self.dial().await
    }

    /// `true` when the last attempt reached the server, `false` when it must be asked; while a recent
    /// failure holds, that failure (naming since when), at once.
    fn known_up(&self) -> Result<bool, ExecError> {
        let reach = self
            .inner
            .reach
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*reach {
            Reach::Up => Ok(true),
            Reach::Down {
                since,
                reason,
                until,
            } if Instant::now() < *until => Err(ExecError::Unreachable(format!(
                "database {} is unreachable since {} UTC (tried again from {} UTC): {reason}",
                self.inner.name,
                since.format("%H:%M:%S"),
                (Utc::now() + (*until - Instant::now())).format("%H:%M:%S"),
            ))),
            _ => Ok(false),
        }
    }

    /// Connects directly, recording what that says about the server.
    async fn dial(&self) -> Result<PgConnection, ExecError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.inner.options.connect()).await {
            Ok(Ok(conn)) => {
                self.set_reach(Reach::Up);
                Ok(conn)
            }
            Ok(Err(err)) => Err(self.trip(&err)),
            Err(_) => Err(self.trip(&sqlx::Error::PoolTimedOut)),
        }
    }

    fn set_reach(&self, reach: Reach) {
        *self
            .inner
            .reach
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = reach;
    }

    /// Records a failed connection: nobody tries again for `reconnect_after`.
    fn trip(&self, err: &sqlx::Error) -> ExecError {
        let error = self.unreachable(err);
        let mut reach = self
            .inner
            .reach
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let since = match &*reach {
            Reach::Down { since, .. } => *since,
            _ => Utc::now(),
        };
        *reach = Reach::Down {
            since,
            reason: self.reason(err),
            until: Instant::now() + self.inner.reconnect_after,
        };
        error
    }

    fn reason(&self, err: &sqlx::Error) -> String {
        let reason = match err {
            sqlx::Error::PoolTimedOut => {
                format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())
            }
            sqlx::Error::Database(db) => db.message().to_owned(),
            other => other.to_string(),
        };
        self.scrub(&reason)
    }

    fn unreachable(&self, err: &sqlx::Error) -> ExecError {
        let reason = self.reason(err);
        tracing::warn!(database = %self.inner.name, reason = %reason, "administered database unreachable");
        ExecError::Unreachable(format!(
            "database {} is unreachable: {reason}",
            self.inner.name
        ))
    }
}
