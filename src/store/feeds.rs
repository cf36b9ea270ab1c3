//! Telegram feeds: how alerts reach each Telegram recipient. Ingest records the set of recipients of
//! each new incident (most alerts of a database share one set) and bumps one feed row per recipient;
//! it writes no job per alert per recipient, so a storm costs rows per alert, not per alert and admin.
//! The delivery worker claims a due feed with a lease, like a job, and decides there whether the
//! recipient's new alerts go out one by one or in a digest; it then queues individual sends in the
//! outbox a few at a time. A feed's positions are incident ids: they only grow, and ingest commits
//! them in order (on PostgreSQL under an advisory lock, so replicas cannot commit out of order).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::{Backend, ROWS_PER_STATEMENT, Result, Store, lease_span, rows_sql, to_millis};
use crate::domain::{DatabaseName, IncidentId};
use crate::store::ClaimedJob;
use crate::store::JobKind;

/// The incidents of a recipient's feed: those whose recipient set holds them.
const OF_RECIPIENT: &str =
    "i.recipient_set IN (SELECT set_id FROM recipient_set_members WHERE recipient = $1)";

/// A feed a worker now holds the lease on, with its positions when claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedFeed {
    pub recipient: String,
    /// Everything up to here has been told, one by one or in a digest.
    pub told_upto: i64,
    /// Individual sends are queued up to here.
    pub queued_upto: i64,
    /// Ingests that added to the feed so far; a change by the end of the step means more arrived.
    pub bumps: i64,
}

/// New alerts in a feed beyond a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedNews {
    pub count: i64,
    /// The newest of them (the position that tells them all).
    pub newest: i64,
}

/// One line of a storm digest: how many alerts of a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestLine {
    pub database: Option<DatabaseName>,
    pub alertname: String,
    pub severity: String,
    pub count: i64,
}

/// Sends to queue from a feed: the incidents after `after` up to `upto`, at most `limit`, the first
/// due at `first` and each next one `spacing` later. With `lease`, they come back claimed by that
/// owner until that time, for the caller to perform at once. `behind_digest` marks the individual
/// messages of alerts a digest already told of (their payload says so).
pub struct QueueSends<'a> {
    pub after: i64,
    pub upto: i64,
    pub limit: i64,
    pub first: DateTime<Utc>,
    pub spacing: Duration,
    pub lease: Option<(&'a str, DateTime<Utc>)>,
    pub behind_digest: bool,
}

/// The payload of a send behind a digest.
pub const BEHIND_DIGEST: &str = r#"{"behind_digest":true}"#;

/// The stored form of a set of recipients: sorted, one per line.
fn set_key(recipients: &[String]) -> String {
    let unique: BTreeSet<&str> = recipients.iter().map(String::as_str).collect();
    unique.into_iter().collect::<Vec<_>>().join("\n")
}

/// Recipient set ids already committed, by set key. A set's row never changes once committed, so
/// ingest looks up only the sets it has not seen (in practice: one per database and membership).
#[derive(Clone, Debug, Default)]
pub(crate) struct KnownSets(Arc<Mutex<HashMap<String, i64>>>);

impl KnownSets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        // Plain inserts and reads: a panic elsewhere leaves the map consistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers sets once the transaction that read or created them has committed.
    pub(crate) fn learn(&self, sets: HashMap<String, i64>) {
        self.lock().extend(sets);
    }
}

/// The ids of the recipient sets named by `keys` (see [`route_set_key`]), creating the sets not seen
/// before. The result maps each key to its id.
pub(crate) async fn recipient_sets(
    conn: &mut AnyConnection,
    keys: impl IntoIterator<Item = &String>,
    known: &KnownSets,
) -> Result<HashMap<String, i64>> {
    let keys: BTreeSet<&String> = keys.into_iter().collect();
    let mut ids = HashMap::new();
    let mut unknown = Vec::new();
    {
        let cached = known.lock();
        for key in keys {
            match cached.get(key) {
                Some(id) => {
                    ids.insert(key.clone(), *id);
                }
                None => unknown.push(key.clone()),
            }
        }
    }
    for chunk in unknown.chunks(ROWS_PER_STATEMENT) {
        let placeholders = rows_sql(chunk.len(), 1, "{1}");
        let select = format!(
            "SELECT id, recipients FROM recipient_sets WHERE recipients IN ({})",
            placeholders.replace(['(', ')'], "")
        );
        let mut query = sqlx::query(&select);
        for key in chunk {
            query = query.bind(key.as_str());
        }
        for row in query.fetch_all(&mut *conn).await? {
            ids.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
        }
        let missing: Vec<&String> = chunk.iter().filter(|k| !ids.contains_key(*k)).collect();
        for key in missing {
            let id: i64 =
                sqlx::query("INSERT INTO recipient_sets (recipients) VALUES ($1) RETURNING id")
                    .bind(key.as_str())
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
            for recipient in key.split('\n') {
                sqlx::query(
                    "INSERT INTO recipient_set_members (set_id, recipient) VALUES ($1, $2)",
                )
                .bind(id)
                .bind(recipient)
                .execute(&mut *conn)
                .await?;
            }
            ids.insert(key.clone(), id);
        }
    }
    Ok(ids)
}

/// The set key a route's recipients are stored under (sorted, one per line), `None` for no recipient.
pub(crate) fn route_set_key(recipients: &[String]) -> Option<String> {
    (!recipients.is_empty()).then(|| set_key(recipients))
}

/// Makes the feeds of these recipients due at `now`: each maps to the first new incident for it. A
/// feed seen for the first time starts just before that incident.
pub(crate) async fn bump_feeds(
    conn: &mut AnyConnection,
    firsts: &HashMap<&str, i64>,
    now: i64,
) -> Result<()> {
    let mut rows: Vec<(&str, i64)> = firsts.iter().map(|(r, first)| (*r, *first)).collect();
    rows.sort_unstable();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO telegram_feeds (recipient, told_upto, queued_upto, bumps, next_attempt_at) \
             VALUES {} ON CONFLICT (recipient) DO UPDATE SET bumps = telegram_feeds.bumps + 1, \
                 next_attempt_at = CASE WHEN telegram_feeds.next_attempt_at IS NULL \
                     OR telegram_feeds.next_attempt_at > excluded.next_attempt_at \
                     THEN excluded.next_attempt_at ELSE telegram_feeds.next_attempt_at END",
            rows_sql(chunk.len(), 3, "({1}, {2}, {2}, 1, {3})")
        );
        let mut query = sqlx::query(&sql);
        for (recipient, first) in chunk {
            query = query.bind(*recipient).bind(first - 1).bind(now);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// On PostgreSQL, makes concurrent ingests (several replicas) commit one after another, so that
/// incident ids become visible in order and a feed's position never passes one still uncommitted.
pub(crate) async fn ingest_in_order(conn: &mut AnyConnection, backend: Backend) -> Result<()> {
    if backend == Backend::Postgres {
        // Any constant serves: the lock is only ever taken here, and released at commit.
        sqlx::query("SELECT pg_advisory_xact_lock(7143290561)")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The Telegram recipients of incident `$1`: its recipient set, and anyone sent it outside the set
/// (a member who joined while it fired).
pub(crate) const RECIPIENTS_OF_INCIDENT: &str = "SELECT m.recipient FROM recipient_set_members m JOIN incidents i ON i.recipient_set = m.set_id \
     WHERE i.id = $1 \
     UNION SELECT recipient FROM outbox WHERE incident_id = $1 AND kind = 'telegram.send'";

/// Queues an edit of the incident's message for each of its Telegram recipients (acknowledged,
/// silenced, resolved). A recipient whose message has not gone yet is sent the current state instead,
/// and the edit finds nothing to do.
pub(crate) async fn queue_edits(
    conn: &mut AnyConnection,
    incident: IncidentId,
    now: i64,
    traceparent: Option<&str>,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO outbox (kind, incident_id, recipient, created_at, next_attempt_at, traceparent) \
         SELECT 'telegram.edit', $1, r.recipient, $2, $2, $3 FROM ({RECIPIENTS_OF_INCIDENT}) AS r \
         ORDER BY r.recipient"
    ))
    .bind(incident.0)
    .bind(now)
    .bind(traceparent)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Claims up to `limit` due feeds for `owner` until `now + lease`.
    pub async fn claim_feeds(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedFeed>> {
        let lock = self.skip_locked();
        let (now_ms, until) = lease_span(now, lease);
        let sql = format!(
            "UPDATE telegram_feeds SET lease_owner = $1, lease_expires_at = $2 \
             WHERE recipient IN (SELECT recipient FROM telegram_feeds \
                 WHERE next_attempt_at <= $3 AND (lease_expires_at IS NULL OR lease_expires_at <= $3) \
                 ORDER BY next_attempt_at LIMIT $4 {lock}) \
             RETURNING recipient, told_upto, queued_upto, bumps"
        );
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(until)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(ClaimedFeed {
                    recipient: row.try_get(0)?,
                    told_upto: row.try_get(1)?,
                    queued_upto: row.try_get(2)?,
                    bumps: row.try_get(3)?,
                })
            })
            .collect()
    }

    /// The alerts of a recipient's feed after `after`.
    pub async fn feed_news(&self, recipient: &str, after: i64) -> Result<FeedNews> {
        let row = sqlx::query(&format!(
            "SELECT COUNT(*), MAX(i.id) FROM incidents i WHERE {OF_RECIPIENT} AND i.id > $2"
        ))
        .bind(recipient)
        .bind(after)
        .fetch_one(&self.pool)
        .await?;
        Ok(FeedNews {
            count: row.try_get(0)?,
            newest: row.try_get::<Option<i64>, _>(1)?.unwrap_or(after),
        })
    }

    /// A storm digest's figures, counted in the store: the alerts of the feed in `(after, upto]` by
    /// database, alertname and severity, most frequent first.
    pub async fn digest_lines(
        &self,
        recipient: &str,
        after: i64,
        upto: i64,
    ) -> Result<Vec<DigestLine>> {
        let rows = sqlx::query(&format!(
            "SELECT i.database_name, i.alertname, i.severity, COUNT(*) AS n FROM incidents i \
             WHERE {OF_RECIPIENT} AND i.id > $2 AND i.id <= $3 \
             GROUP BY i.database_name, i.alertname, i.severity \
             ORDER BY n DESC, i.database_name, i.alertname, i.severity"
        ))
        .bind(recipient)
        .bind(after)
        .bind(upto)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DigestLine {
                    database: row
                        .try_get::<Option<String>, _>(0)?
                        .as_deref()
                        .map(super::database_name)
                        .transpose()?,
                    alertname: row.try_get(1)?,
                    severity: row.try_get(2)?,
                    count: row.try_get(3)?,
                })
            })
            .collect()
    }

    /// Queues individual sends from a feed (none twice: a send already queued for an incident and
    /// recipient is skipped), and returns them in order; claimed ones when `lease` is given.
    pub async fn queue_sends(
        &self,
        recipient: &str,
        what: &QueueSends<'_>,
    ) -> Result<Vec<ClaimedJob>> {
        let (owner, until) = match what.lease {
            Some((owner, until)) => (Some(owner), Some(to_millis(until))),
            None => (None, None),
        };
        let spacing = i64::try_from(what.spacing.as_millis()).unwrap_or(i64::MAX);
        let payload = if what.behind_digest {
            BEHIND_DIGEST
        } else {
            "{}"
        };
        let rows = sqlx::query(&format!(
            "INSERT INTO outbox (kind, incident_id, recipient, created_at, next_attempt_at, \
                 lease_owner, lease_expires_at, attempts, payload, traceparent) \
             SELECT 'telegram.send', s.id, $1, $5, \
                 $6 + (ROW_NUMBER() OVER (ORDER BY s.id) - 1) * $7, $8, $9, $10, $11, s.traceparent \
             FROM (SELECT i.id, i.traceparent FROM incidents i \
                   WHERE {OF_RECIPIENT} AND i.id > $2 AND i.id <= $3 \
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.incident_id = i.id \
                                   AND o.kind = 'telegram.send' AND o.recipient = $1) \
                   ORDER BY i.id LIMIT $4) AS s \
             RETURNING id, incident_id, attempts, traceparent"
        ))
        .bind(recipient)
        .bind(what.after)
        .bind(what.upto)
        .bind(what.limit)
        .bind(to_millis(what.first))
        .bind(to_millis(what.first))
        .bind(spacing)
        .bind(owner)
        .bind(until)
        .bind(i64::from(owner.is_some()))
        .bind(payload)
        .fetch_all(&self.pool)
        .await?;
        let mut jobs = rows
            .iter()
            .map(|row| {
                Ok(ClaimedJob {
                    id: row.try_get(0)?,
                    kind: JobKind::TelegramSend,
                    incident: Some(IncidentId(row.try_get(1)?)),
                    recipient: recipient.to_owned(),
                    payload: payload.to_owned(),
                    attempts: row.try_get(2)?,
                    traceparent: row.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|job| job.incident.map(|i| i.0));
        Ok(jobs)
    }

    /// Records where a feed stands after a step and when it is due next (`None`: nothing left),
    /// releasing the lease. If an ingest added to the feed during the step, it is due at once.
    pub async fn settle_feed(
        &self,
        feed: &ClaimedFeed,
        owner: &str,
        now: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE telegram_feeds SET told_upto = $3, queued_upto = $4, \
                 next_attempt_at = CASE WHEN bumps <> $5 THEN $6 ELSE $7 END, \
                 lease_owner = NULL, lease_expires_at = NULL \
             WHERE recipient = $1 AND lease_owner = $2",
        )
        .bind(feed.recipient.as_str())
        .bind(owner)
        .bind(feed.told_upto)
        .bind(feed.queued_upto)
        .bind(feed.bumps)
        .bind(to_millis(now))
        .bind(next.map(to_millis))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
