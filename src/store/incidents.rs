//! Reading the incident history: filtered, cursor-paginated lists and one incident with everything that
//! happened to it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Result, Store, StoreError, from_millis, from_millis_opt, to_millis};
use crate::alertmanager::LabelSet;
use crate::domain::{AlertStatus, DatabaseName, IncidentId};

/// Which incidents to list. Pages go from newest to oldest; `before` is the cursor (an incident id).
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub database: Option<String>,
    pub status: Option<AlertStatus>,
    /// Incidents that started at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub before: Option<IncidentId>,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IncidentRecord {
    pub id: IncidentId,
    pub fingerprint: String,
    pub status: AlertStatus,
    pub database: Option<DatabaseName>,
    pub alertname: String,
    pub severity: String,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub labels: LabelSet,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub annotations: LabelSet,
    pub generator_url: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub silenced_by: Option<String>,
    pub silence_id: Option<String>,
    pub silenced_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IncidentPage {
    pub incidents: Vec<IncidentRecord>,
    /// Pass as `cursor` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A notification that told us something about an incident.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceiptRecord {
    pub notification_id: i64,
    pub received_at: DateTime<Utc>,
    pub receiver: String,
    pub group_key: String,
    pub status: AlertStatus,
}

/// An outbox job of an incident, or a Telegram send still waiting in its recipient's feed (no job
/// yet: `id` is `None`, and its times are the incident's).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: Option<i64>,
    pub kind: String,
    pub recipient: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageRecord {
    pub chat_id: i64,
    pub message_id: i64,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentRecord,
    pub notifications: Vec<ReceiptRecord>,
    pub deliveries: Vec<Delivery>,
    pub messages: Vec<MessageRecord>,
}

pub(crate) const INCIDENT_COLUMNS: &str = "id, fingerprint, status, database_name, alertname, severity, labels, \
    annotations, generator_url, starts_at, ends_at, created_at, updated_at, resolved_at, \
    acknowledged_by, acknowledged_at, silenced_by, silence_id, silenced_until";

impl Store {
    pub async fn list_incidents(&self, filter: &IncidentFilter) -> Result<IncidentPage> {
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.database.is_some() {
            conditions.push(format!("database_name = {}", next()));
        }
        if filter.status.is_some() {
            conditions.push(format!("status = {}", next()));
        }
        if filter.since.is_some() {
            conditions.push(format!("starts_at >= {}", next()));
        }
        if filter.before.is_some() {
            conditions.push(format!("id < {}", next()));
        }
        let limit_param = next();
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents {where_clause} ORDER BY id DESC LIMIT {limit_param}"
        );
        let mut query = sqlx::query(&sql);
        if let Some(database) = &filter.database {
            query = query.bind(database.as_str());
        }
        if let Some(status) = filter.status {
            query = query.bind(status.as_str());
        }
        if let Some(since) = filter.since {
            query = query.bind(to_millis(since));
        }
        if let Some(before) = filter.before {
            query = query.bind(before.0);
        }
        // One row more than asked tells whether another page exists.
        let rows = query
            .bind(i64::from(filter.limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let mut incidents = rows.iter().map(incident).collect::<Result<Vec<_>>>()?;
        let more = incidents.len() > filter.limit as usize;
        incidents.truncate(filter.limit as usize);
        let next_cursor = more
            .then(|| incidents.last().map(|i| i.id.0.to_string()))
            .flatten();
        Ok(IncidentPage {
            incidents,
            next_cursor,
        })
    }

    /// One incident without its history.
    pub async fn incident_record(&self, id: IncidentId) -> Result<Option<IncidentRecord>> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(incident).transpose()
    }

    /// Firing incidents, newest first: of the given databases (and, with `unrouted`, those that matched
    /// none), or of every database when `databases` is `None`.
    pub async fn firing_incidents(
        &self,
        databases: Option<&[String]>,
        unrouted: bool,
        limit: u32,
    ) -> Result<Vec<IncidentRecord>> {
        let mut conditions = vec!["status = 'firing'".to_owned()];
        if let Some(databases) = databases {
            let mut any = Vec::new();
            for i in 0..databases.len() {
                any.push(format!("${}", i + 1));
            }
            let mut scope = Vec::new();
            if !any.is_empty() {
                scope.push(format!("database_name IN ({})", any.join(", ")));
            }
            if unrouted {
                scope.push("database_name IS NULL".to_owned());
            }
            if scope.is_empty() {
                return Ok(Vec::new());
            }
            conditions.push(format!("({})", scope.join(" OR ")));
        }
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE {} ORDER BY id DESC LIMIT {}",
            conditions.join(" AND "),
            limit
        );
        let mut query = sqlx::query(&sql);
        for database in databases.unwrap_or_default() {
            query = query.bind(database.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(incident).collect()
    }

    /// Several incidents by id (in id order; unknown ids are skipped).
    pub async fn incidents_by_ids(&self, ids: &[IncidentId]) -> Result<Vec<IncidentRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id IN ({}) ORDER BY id",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id.0);
            }
            for row in query.fetch_all(&self.pool).await? {
                out.push(incident(&row)?);
            }
        }
        Ok(out)
    }

    /// Incidents silenced from here whose silence has not ended.
    pub async fn silenced_incidents(&self, now: DateTime<Utc>) -> Result<Vec<IncidentRecord>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents \
             WHERE silence_id IS NOT NULL AND silenced_until > $1 ORDER BY silenced_until"
        );
        let rows = sqlx::query(&sql)
            .bind(to_millis(now))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(incident).collect()
    }

    pub async fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        let Some(row) = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(IncidentDetail {
            incident: incident(&row)?,
            notifications: receipts(&mut conn, id).await?,
            deliveries: deliveries(&mut conn, id).await?,
            messages: messages(&mut conn, id).await?,
        }))
    }
}

async fn receipts(conn: &mut AnyConnection, id: IncidentId) -> Result<Vec<ReceiptRecord>> {
    let rows = sqlx::query(
        "SELECT n.id, n.received_at, n.receiver, n.group_key, r.status \
         FROM alert_receipts r JOIN notifications n ON n.id = r.notification_id \
         WHERE r.incident_id = $1 ORDER BY n.id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ReceiptRecord {
                notification_id: row.try_get(0)?,
                received_at: from_millis(row.try_get(1)?)?,
                receiver: row.try_get(2)?,
                group_key: row.try_get(3)?,
                status: status(row.try_get(4)?)?,
            })
        })
        .collect()
}

async fn deliveries(conn: &mut AnyConnection, id: IncidentId) -> Result<Vec<Delivery>> {
    // One statement, so one snapshot: a send the worker queues meanwhile is listed once, as waiting in
    // the feed or as a job.
    let rows = sqlx::query(
        "SELECT id, kind, recipient, attempts, created_at, next_attempt_at, done_at, result, last_error \
         FROM (SELECT id, kind, recipient, attempts, created_at, next_attempt_at, done_at, result, \
                      last_error, 0 AS waiting \
               FROM outbox WHERE incident_id = $1 \
               UNION ALL \
               SELECT NULL, 'telegram.send', m.recipient, 0, i.created_at, i.created_at, NULL, NULL, \
                      NULL, 1 \
               FROM recipient_set_members m JOIN incidents i ON i.recipient_set = m.set_id \
               WHERE i.id = $1 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.incident_id = $1 \
                   AND o.kind = 'telegram.send' AND o.recipient = m.recipient)) AS d \
         ORDER BY waiting, id, recipient",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Delivery {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                recipient: row.try_get("recipient")?,
                attempts: row.try_get("attempts")?,
                created_at: from_millis(row.try_get("created_at")?)?,
                next_attempt_at: from_millis(row.try_get("next_attempt_at")?)?,
                done_at: from_millis_opt(row.try_get("done_at")?)?,
                result: row.try_get("result")?,
                last_error: row.try_get("last_error")?,
            })
        })
        .collect()
}

pub(crate) async fn messages(
    conn: &mut AnyConnection,
    id: IncidentId,
) -> Result<Vec<MessageRecord>> {
    let rows = sqlx::query(
        "SELECT chat_id, message_id, sent_at FROM telegram_messages WHERE incident_id = $1 \
         ORDER BY chat_id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MessageRecord {
                chat_id: row.try_get(0)?,
                message_id: row.try_get(1)?,
                sent_at: from_millis(row.try_get(2)?)?,
            })
        })
        .collect()
}

fn status(raw: String) -> Result<AlertStatus> {
    AlertStatus::parse(&raw).map_err(|detail| StoreError::Corrupt {
        what: "incident status",
        detail,
    })
}

fn labels(raw: String) -> Result<LabelSet> {
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt {
        what: "labels",
        detail: e.to_string(),
    })
}

pub(crate) fn incident(row: &AnyRow) -> Result<IncidentRecord> {
    Ok(IncidentRecord {
        id: IncidentId(row.try_get("id")?),
        fingerprint: row.try_get("fingerprint")?,
        status: status(row.try_get("status")?)?,
        database: row
            .try_get::<Option<String>, _>("database_name")?
            .as_deref()
            .map(super::database_name)
            .transpose()?,
        alertname: row.try_get("alertname")?,
        severity: row.try_get("severity")?,
        labels: labels(row.try_get("labels")?)?,
        annotations: labels(row.try_get("annotations")?)?,
        generator_url: row.try_get("generator_url")?,
        starts_at: from_millis(row.try_get("starts_at")?)?,
        ends_at: from_millis_opt(row.try_get("ends_at")?)?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
        resolved_at: from_millis_opt(row.try_get("resolved_at")?)?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        acknowledged_at: from_millis_opt(row.try_get("acknowledged_at")?)?,
        silenced_by: row.try_get("silenced_by")?,
        silence_id: row.try_get("silence_id")?,
        silenced_until: from_millis_opt(row.try_get("silenced_until")?)?,
    })
}
