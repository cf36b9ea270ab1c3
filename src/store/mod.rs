//! The service's own state: notifications, incidents, the outbox, Telegram messages, members and audit.
//! The only module that holds SQL for it. One set of queries serves both backends through sqlx's `Any`
//! driver: SQLite by default (one file, WAL, `synchronous=FULL`), PostgreSQL for several replicas.
//! Times are stored as Unix milliseconds; JSON as text.
//!
//! One file per subject: `ingest` writes notifications, incidents and their jobs; `incidents` reads the
//! history; `responses` records acknowledgements and silences; `outbox` queues, claims and leases jobs,
//! `feeds` how alerts reach each Telegram recipient (one feed per recipient, not one job per alert
//! and recipient); `delivery` holds what the worker queues on the way and defers; `chats` the Telegram messages sent,
//! migrated groups and unreachable recipients; `people`, `members`, `invites` and `tokens` who is who
//! and may what; `dialogues` and `buttons` the bot's conversations and inline buttons; `audit` and
//! `runs` the audit log.

mod audit;
mod buttons;
mod chats;
mod delivery;
mod dialogues;
mod feeds;
mod incidents;
mod ingest;
mod invites;
mod members;
mod outbox;
mod people;
pub mod primary;
mod replicas;
mod responses;
mod runs;
mod tokens;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

use crate::config::StateLocation;
use crate::domain::{DatabaseName, MemberKey, Role};

pub use audit::{AuditEntry, AuditFilter, AuditPage};
pub use dialogues::{Dialogue, DialogueKind};
pub use feeds::{BEHIND_DIGEST, ClaimedFeed, DigestLine, FeedNews, QueueSends};
pub use incidents::{
    Delivery, IncidentDetail, IncidentFilter, IncidentPage, IncidentRecord, MessageRecord,
    ReceiptRecord,
};
pub use ingest::{AlertOutcome, AlertRoute, IngestOutcome, IngestRequest};
pub use invites::{Invite, Redeemed};
pub use members::{MemberChange, MemberRecord, Notice};
pub use outbox::{ClaimedJob, JobKind, OutboxStats};
pub use people::{Binding, Claim};
pub use replicas::{CHANNEL as REPLICAS_CHANNEL, News, RunClaim};
pub use replicas::{
    LEASE as TELEGRAM_LEASE, RENEW as TELEGRAM_RENEW, TELEGRAM as TELEGRAM_LEASE_NAME,
};
pub use responses::AckOutcome;
pub use runs::RunStart;
pub use tokens::StoredToken;

/// Errors of the state store. Callers log them whole and show users only a reference.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("state store migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored {what} is not valid: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("state store: {0}")]
    Hosts(#[from] crate::config::state_hosts::HostsError),
    #[error(transparent)]
    NoPrimary(#[from] primary::NoPrimary),
}

impl StoreError {
    /// Whether the store could not be reached or is not the primary (down, restarting, failing over,
    /// or read-only): retrying later may succeed, unlike a query the store refused.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::NoPrimary(_) => true,
            StoreError::Query(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Protocol(_) => true,
                // SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown,
                // crash), and 25006 (read-only transaction: a demoted primary).
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    code.starts_with("08") || code.starts_with("57P") || code == "25006"
                }),
                _ => false,
            },
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the state store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    secrets: dialogues::HeldSecrets,
    /// Recipient sets ingest has seen committed.
    sets: feeds::KnownSets,
    /// Names this process in what it tells the other replicas, so it ignores its own news.
    replica: std::sync::Arc<str>,
    /// PostgreSQL: the DSN's hosts and the one the pool connects to now.
    primary: Option<std::sync::Arc<Primary>>,
}

/// The hosts of a PostgreSQL state DSN and the URL of the one in use (see [`primary`]).
#[derive(Debug)]
struct Primary {
    hosts: crate::config::Hosts,
    current: std::sync::Mutex<String>,
}

impl Store {
    /// What a claim's inner SELECT ends with: on PostgreSQL concurrent claimers (replicas) skip each
    /// other's rows; SQLite's single write lock serialises them anyway.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }

    /// Connects and applies the migrations of the backend.
    pub async fn connect(location: &StateLocation) -> Result<Store> {
        install_default_drivers();
        let (url, backend, primary) = match location {
            StateLocation::Sqlite(path) => (
                format!("sqlite://{}?mode=rwc", path.display()),
                Backend::Sqlite,
                None,
            ),
            StateLocation::Postgres(url) => {
                let hosts = crate::config::Hosts::parse(url.expose())?;
                let current = primary::find(&hosts).await?.to_owned();
                let primary = Primary {
                    hosts,
                    current: std::sync::Mutex::new(current.clone()),
                };
                (
                    current,
                    Backend::Postgres,
                    Some(std::sync::Arc::new(primary)),
                )
            }
        };
        let read_write = primary.as_ref().is_some_and(|p| p.hosts.read_write());
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            // SQLite has one writer at a time anyway; a few readers serve the REST side.
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL fsyncs every commit, which is
                        // what "answered 200 only after it is durable" needs.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    if read_write {
                        // A switchover may leave the old primary up as a standby: writes there fail,
                        // so the pool never keeps a connection to it.
                        let read_only: String = sqlx::query_scalar(primary::READ_ONLY)
                            .fetch_one(&mut *conn)
                            .await?;
                        if read_only != "off" {
                            return Err(sqlx::Error::Protocol(
                                "the state store's host no longer accepts writes".into(),
                            ));
                        }
                    }
                    Ok(())
                })
            });
        let pool = options.connect(&url).await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        Ok(Store {
            pool,
            backend,
            secrets: dialogues::HeldSecrets::default(),
            sets: feeds::KnownSets::default(),
            replica: crate::tokens::random_code(12).into(),
            primary,
        })
    }

    /// The URL of the PostgreSQL host the store uses now (for connections of their own, such as
    /// `LISTEN`); `None` on SQLite.
    pub fn primary_url(&self) -> Option<String> {
        let primary = self.primary.as_ref()?;
        Some(lock(&primary.current).clone())
    }

    /// When the DSN names several hosts (or asks for one that accepts writes) and the one in use
    /// fails or turned read-only: finds the primary again and points the pool's next connections at
    /// it. `true` when it moved. Called every second or so (`app`); a no-op otherwise.
    pub async fn follow_primary(&self) -> Result<bool> {
        let Some(primary) = self.primary.as_ref().filter(|p| p.hosts.must_choose()) else {
            return Ok(false);
        };
        let healthy = sqlx::query_scalar::<_, String>(primary::READ_ONLY)
            .fetch_one(&self.pool)
            .await
            .is_ok_and(|read_only| read_only == "off" || !primary.hosts.read_write());
        if healthy {
            return Ok(false);
        }
        let found = primary::find(&primary.hosts).await?.to_owned();
        let mut current = lock(&primary.current);
        if *current == found {
            return Ok(false);
        }
        let options: sqlx::any::AnyConnectOptions = found.parse()?;
        self.pool.set_connect_options(options);
        *current = found;
        Ok(true)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the store answers a trivial query (readiness).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A lock whose holder cannot leave its value half-changed (a poisoned one is as good).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt {
            what: "timestamp",
            detail: ms.to_string(),
        })
}

pub(crate) fn from_millis_opt(ms: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    ms.map(from_millis).transpose()
}

/// A stored role, read back (memberships, invites, tokens).
pub(crate) fn role(raw: &str) -> Result<Role> {
    Role::parse(raw).map_err(|detail| StoreError::Corrupt {
        what: "role",
        detail,
    })
}

pub(crate) fn database_name(raw: &str) -> Result<DatabaseName> {
    DatabaseName::parse(raw).map_err(|detail| StoreError::Corrupt {
        what: "database name",
        detail,
    })
}

pub(crate) fn member_key(raw: &str) -> Result<MemberKey> {
    raw.parse().map_err(|detail| StoreError::Corrupt {
        what: "member",
        detail,
    })
}

/// A claim's time and the end of its lease, in stored form.
pub(crate) fn lease_span(now: DateTime<Utc>, lease: Duration) -> (i64, i64) {
    let now = to_millis(now);
    let lease = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    (now, now.saturating_add(lease))
}

/// Rows per multi-row statement: at 13 parameters a row, far below SQLite's 32766-parameter limit.
pub(crate) const ROWS_PER_STATEMENT: usize = 200;

/// `rows` copies of `template`, whose `{1}`…`{width}` become consecutive `$n` placeholders.
pub(crate) fn rows_sql(rows: usize, width: usize, template: &str) -> String {
    let mut sql = String::new();
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let mut text = template.to_owned();
        for k in 1..=width {
            text = text.replace(&format!("{{{k}}}"), &format!("${}", row * width + k));
        }
        sql.push_str(&text);
    }
    sql
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_sql_numbers_placeholders_across_rows() {
        assert_eq!(
            super::rows_sql(3, 2, "({1}, 'x', {2}, {1})"),
            "($1, 'x', $2, $1), ($3, 'x', $4, $3), ($5, 'x', $6, $5)"
        );
        assert_eq!(super::rows_sql(1, 11, "({1}, {11})"), "($1, $11)");
    }
}
