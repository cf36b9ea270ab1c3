//! Firing alerts of a batch, set-wise: one multi-row statement per table for the whole batch (new
//! incidents with their recipient sets, known incidents, receipts), then what the new ones queue.

use std::collections::{HashMap, HashSet};

use sqlx::{AnyConnection, Row};

use super::{AlertOutcome, Item, json};
use crate::domain::{DatabaseName, IncidentId};
use crate::store::feeds::{KnownSets, bump_feeds, recipient_sets, route_set_key};
use crate::store::outbox::{JobKind, NewJob, insert_jobs};
use crate::store::{ROWS_PER_STATEMENT, Result, StoreError, rows_sql, to_millis};

/// Opens incidents for firing alerts: inserts the new ones, finds the known ones, records receipts, and
/// queues the messages of every incident opened. Returns the recipient sets it used, to be remembered
/// once committed.
pub(super) async fn open_incidents<'a>(
    conn: &mut AnyConnection,
    firing: &[Item<'a>],
    outcomes: &mut [Vec<AlertOutcome>],
    queued: &mut Queued<'a>,
    known: &KnownSets,
) -> Result<HashMap<String, i64>> {
    // The same alert twice in one batch (HA peers racing): the first is the candidate, the rest are
    // duplicates, as they would be in separate transactions.
    let mut seen = HashSet::new();
    let candidates: Vec<&Item<'a>> = firing.iter().filter(|f| seen.insert(f.key())).collect();

    // Each candidate's recipient set, by key (computed once: a storm repeats the same few).
    let keys: Vec<Option<String>> = candidates
        .iter()
        .map(|c| route_set_key(&c.route.telegram))
        .collect();
    let sets = recipient_sets(conn, keys.iter().flatten(), known).await?;
    let set_ids: Vec<Option<i64>> = keys
        .iter()
        .map(|key| key.as_ref().and_then(|k| sets.get(k).copied()))
        .collect();
    let mut incidents = insert_incidents(conn, &candidates, &set_ids).await?;
    find_known(conn, &candidates, &mut incidents).await?;
    let received = insert_receipts(conn, &candidates, &incidents).await?;

    for item in candidates {
        let (fingerprint, starts_at) = item.key();
        if !received.contains(&(fingerprint.to_owned(), starts_at)) {
            continue; // stays Duplicate
        }
        let (incident, opened) = incidents[&(fingerprint.to_owned(), starts_at)];
        outcomes[item.at.0][item.at.1] = if opened {
            queued.add(item, incident);
            AlertOutcome::Opened(incident)
        } else {
            AlertOutcome::Recorded(incident)
        };
    }
    Ok(sets)
}

/// Incidents by (fingerprint, starts_at): their id, and whether this batch opened them.
type Incidents = HashMap<(String, i64), (IncidentId, bool)>;

/// Inserts the candidates that are new incidents, each with the set of its Telegram recipients
/// (`set_ids`, one per candidate).
async fn insert_incidents(
    conn: &mut AnyConnection,
    candidates: &[&Item<'_>],
    set_ids: &[Option<i64>],
) -> Result<Incidents> {
    let mut incidents = HashMap::new();
    for (chunk, sets) in candidates
        .chunks(ROWS_PER_STATEMENT)
        .zip(set_ids.chunks(ROWS_PER_STATEMENT))
    {
        let sql = format!(
            "INSERT INTO incidents (fingerprint, starts_at, ends_at, status, database_name, alertname, \
                 severity, labels, annotations, generator_url, created_at, updated_at, recipient_set, \
                 traceparent) \
             VALUES {} ON CONFLICT (fingerprint, starts_at) DO NOTHING \
             RETURNING id, fingerprint, starts_at",
            rows_sql(
                chunk.len(),
                13,
                "({1}, {2}, {3}, 'firing', {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13})"
            )
        );
        let mut query = sqlx::query(&sql);
        for (item, set) in chunk.iter().zip(sets) {
            let alert = item.alert;
            query = query
                .bind(alert.fingerprint.as_str())
                .bind(to_millis(alert.starts_at))
                .bind(alert.ends_at.map(to_millis))
                .bind(item.route.database.as_ref().map(DatabaseName::as_str))
                .bind(alert.alertname())
                .bind(alert.severity())
                .bind(json(&alert.labels))
                .bind(json(&alert.annotations))
                .bind(alert.generator_url.as_str())
                .bind(item.now)
                .bind(item.now)
                .bind(*set)
                .bind(item.traceparent);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let key = (row.try_get("fingerprint")?, row.try_get("starts_at")?);
            incidents.insert(key, (IncidentId(row.try_get("id")?), true));
        }
    }
    Ok(incidents)
}

/// Adds the incidents that existed before (repeats of a firing alert, or out-of-order deliveries).
async fn find_known(
    conn: &mut AnyConnection,
    candidates: &[&Item<'_>],
    incidents: &mut Incidents,
) -> Result<()> {
    let known: Vec<&&Item<'_>> = candidates
        .iter()
        .filter(|c| !incidents.contains_key(&(c.alert.fingerprint.clone(), c.key().1)))
        .collect();
    for chunk in known.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id, fingerprint, starts_at FROM incidents WHERE fingerprint IN ({})",
            rows_sql(chunk.len(), 1, "{1}").replace(['(', ')'], "")
        );
        let mut query = sqlx::query(&sql);
        for item in chunk {
            query = query.bind(item.alert.fingerprint.as_str());
        }
        for row in query.fetch_all(&mut *conn).await? {
            let key = (row.try_get("fingerprint")?, row.try_get("starts_at")?);
            incidents
                .entry(key)
                .or_insert((IncidentId(row.try_get("id")?), false));
        }
    }
    Ok(())
}

/// Records the firing receipts; returns the (fingerprint, starts_at) pairs not received before.
async fn insert_receipts(
    conn: &mut AnyConnection,
    candidates: &[&Item<'_>],
    incidents: &Incidents,
) -> Result<HashSet<(String, i64)>> {
    let mut received = HashSet::new();
    for chunk in candidates.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO alert_receipts (notification_id, incident_id, fingerprint, status, starts_at) \
             VALUES {} ON CONFLICT (fingerprint, status, starts_at) DO NOTHING \
             RETURNING fingerprint, starts_at",
            rows_sql(chunk.len(), 4, "({1}, {2}, {3}, 'firing', {4})")
        );
        let mut query = sqlx::query(&sql);
        for item in chunk {
            let (fingerprint, starts_at) = item.key();
            let incident = incident_of(incidents, item)?;
            query = query
                .bind(item.notification_id)
                .bind(incident.0)
                .bind(fingerprint)
                .bind(starts_at);
        }
        for row in query.fetch_all(&mut *conn).await? {
            received.insert((row.try_get("fingerprint")?, row.try_get("starts_at")?));
        }
    }
    Ok(received)
}

fn incident_of(incidents: &Incidents, item: &Item<'_>) -> Result<IncidentId> {
    let (fingerprint, starts_at) = item.key();
    incidents
        .get(&(fingerprint.to_owned(), starts_at))
        .map(|(id, _)| *id)
        .ok_or_else(|| StoreError::Corrupt {
            what: "incident",
            detail: format!("no incident for fingerprint {fingerprint} after inserting it"),
        })
}

/// What the new incidents of a batch queue: their deferred escalation emails, and for each Telegram
/// recipient the first new incident in their feed.
#[derive(Default)]
pub(super) struct Queued<'a> {
    jobs: Vec<NewJob>,
    feeds: HashMap<&'a str, i64>,
    now: i64,
}

impl<'a> Queued<'a> {
    fn add(&mut self, item: &Item<'a>, incident: IncidentId) {
        let route = item.route;
        self.now = self.now.max(item.now);
        for recipient in &route.telegram {
            let first = self.feeds.entry(recipient.as_str()).or_insert(incident.0);
            *first = (*first).min(incident.0);
        }
        for address in &route.email {
            let mut job = NewJob::now(JobKind::EmailEscalation, incident, address, item.now);
            job.next_attempt_at = to_millis(route.escalate_at);
            job.traceparent = item.traceparent.map(str::to_owned);
            self.jobs.push(job);
        }
    }

    pub(super) async fn write(&self, conn: &mut AnyConnection) -> Result<()> {
        insert_jobs(conn, &self.jobs).await?;
        bump_feeds(conn, &self.feeds, self.now).await
    }
}
