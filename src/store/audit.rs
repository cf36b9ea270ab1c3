//! The audit log: appending an entry, and reading it newest first with filters and a cursor, as
//! `GET /audit` and the bot's `/audit` show it.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Result, Store, from_millis, from_millis_opt, to_millis};
use crate::access::Actor;

/// Which entries to list. Pages go from newest to oldest; `before` is the cursor (an entry id).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The actor's name (`@alice`, `token:grafana`) or Telegram id.
    pub actor: Option<String>,
    pub database: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub before: Option<i64>,
    pub limit: u32,
}

/// One entry. `detail` is stored with secrets already masked.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// The Telegram account behind the actor; `None` for API tokens and the service.
    pub actor_id: Option<i64>,
    /// `bot`, `rest` or `service`; `None` for entries older than the record of it.
    pub via: Option<String>,
    pub action: String,
    pub database: Option<String>,
    /// A run's outcome (`running` until it ends); `None` for entries that are not runs.
    pub outcome: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The one statement that appends to the audit log; every writer of the store binds through it, in
/// its own transaction where it has one. `outcome` is a run's (`running` until it ends).
pub(super) fn insert<'q>(
    actor: &'q Actor,
    action: &'q str,
    database: Option<&'q str>,
    detail: &serde_json::Value,
    outcome: Option<&'q str>,
    now: DateTime<Utc>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, actor_id, via, action, database_name, detail, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(to_millis(now))
    .bind(actor.name.as_str())
    .bind(actor.telegram_id)
    .bind(actor.via.as_str())
    .bind(action)
    .bind(database)
    .bind(detail.to_string())
    .bind(outcome)
}

impl Store {
    /// Appends to the audit log.
    pub async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        database: Option<&str>,
        detail: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        insert(actor, action, database, detail, None, now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A page of the audit log, newest first.
    pub async fn audit_page(&self, filter: &AuditFilter) -> Result<AuditPage> {
        // Every condition is always present and switched off by a NULL parameter, so one statement
        // serves every combination of filters on both backends.
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log \
             WHERE ($1 IS NULL OR actor = $1 OR CAST(actor_id AS TEXT) = $1) \
               AND ($2 IS NULL OR database_name = $2) AND ($3 IS NULL OR action = $3) \
               AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR id < $5) \
             ORDER BY id DESC LIMIT $6"
        ))
        .bind(filter.actor.as_deref())
        .bind(filter.database.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.since.map(to_millis))
        .bind(filter.before)
        .bind(i64::from(filter.limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut entries = rows.iter().map(entry).collect::<Result<Vec<_>>>()?;
        let more = entries.len() > filter.limit as usize;
        entries.truncate(filter.limit as usize);
        let next_cursor = more
            .then(|| entries.last().map(|e| e.id.to_string()))
            .flatten();
        Ok(AuditPage {
            entries,
            next_cursor,
        })
    }

    /// The audit row of run `id` (an action's), whichever process ran it.
    pub async fn recorded_run(&self, id: i64) -> Result<Option<AuditEntry>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE id = $1 AND action = 'action'"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(entry).transpose()
    }

    /// Ends the runs still `running` that started before `before`, when no run can last that long: their
    /// process died under them (on PostgreSQL, any replica's). `interrupted`, at `now`.
    pub async fn end_runs_started_before(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE audit_log SET outcome = 'interrupted', finished_at = $1 \
             WHERE outcome = 'running' AND at < $2",
        )
        .bind(to_millis(now))
        .bind(to_millis(before))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Ends the runs a previous process left `running` when it died: `interrupted`, now. Only on
    /// SQLite, whose file one process owns: on PostgreSQL another replica may be running them.
    pub async fn end_interrupted_runs(&self, now: DateTime<Utc>) -> Result<u64> {
        if self.backend != Backend::Sqlite {
            return Ok(0);
        }
        // Every run started before now: none of them can be running in this new process.
        self.end_runs_started_before(now + chrono::Duration::milliseconds(1), now)
            .await
    }
}

const COLUMNS: &str =
    "id, at, actor, actor_id, via, action, database_name, outcome, finished_at, detail";

fn entry(row: &AnyRow) -> Result<AuditEntry> {
    let detail: String = row.try_get("detail")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: from_millis(row.try_get("at")?)?,
        actor: row.try_get("actor")?,
        actor_id: row.try_get("actor_id")?,
        via: row.try_get("via")?,
        action: row.try_get("action")?,
        database: row.try_get("database_name")?,
        outcome: row.try_get("outcome")?,
        finished_at: from_millis_opt(row.try_get("finished_at")?)?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
    })
}
