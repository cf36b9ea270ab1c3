//! Who belongs to which database beyond the config (see migration 0004): members added at runtime
//! (invites in `invites`, API tokens in `tokens`). A membership change, its audit row and the
//! messages it causes (welcome, announcements, the firing incidents a new member must see) commit
//! together, so a crash never leaves a member nobody was told about.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Result, Store, database_name, from_millis, member_key, role, to_millis};
use crate::access::Actor;
use crate::domain::{DatabaseName, MemberKey, Recipient, Role};

/// A member added at runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub database: DatabaseName,
    pub member: MemberKey,
    pub role: Role,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

/// A message queued with a membership change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub recipient: Recipient,
    /// Telegram HTML.
    pub text: String,
}

/// One membership change and what comes with it.
#[derive(Debug, Clone)]
pub struct MemberChange<'a> {
    pub database: &'a DatabaseName,
    pub member: &'a MemberKey,
    /// The person's other forms (the usernames bound to them): folded into `member`, so one person
    /// is one member whichever form a change names.
    pub others: &'a [MemberKey],
    /// `None` removes the member.
    pub role: Option<Role>,
    pub actor: &'a Actor,
    pub audit_detail: serde_json::Value,
    pub notices: Vec<Notice>,
    /// Queue the database's firing incidents to the member (a newcomer).
    pub send_firing: bool,
    pub at: DateTime<Utc>,
}

/// The role a member had before a change (`None`: was not a runtime member).
pub type Previous = Option<Role>;

fn member(row: &AnyRow) -> Result<MemberRecord> {
    Ok(MemberRecord {
        database: database_name(&row.try_get::<String, _>("database_name")?)?,
        member: member_key(&row.try_get::<String, _>("member")?)?,
        role: role(&row.try_get::<String, _>("role")?)?,
        added_by: row.try_get("added_by")?,
        added_at: from_millis(row.try_get("added_at")?)?,
    })
}

impl Store {
    /// Runtime members of one database (or all), oldest first.
    pub async fn members(&self, database: Option<&DatabaseName>) -> Result<Vec<MemberRecord>> {
        const COLUMNS: &str = "SELECT database_name, member, role, added_by, added_at FROM members";
        let rows = match database {
            Some(database) => {
                let sql = format!("{COLUMNS} WHERE database_name = $1 ORDER BY added_at, member");
                sqlx::query(&sql)
                    .bind(database.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!("{COLUMNS} ORDER BY added_at, member");
                sqlx::query(&sql).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(member).collect()
    }

    /// The runtime roles of a person, known by any of `keys`.
    pub async fn memberships(&self, keys: &[MemberKey]) -> Result<Vec<(DatabaseName, Role)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One query for all of a person's forms: this runs on every update and for every alert sent.
        let places: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT database_name, role FROM members WHERE member IN ({})",
            places.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for key in keys {
            query = query.bind(key.to_string());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    database_name(&row.try_get::<String, _>("database_name")?)?,
                    role(&row.try_get::<String, _>("role")?)?,
                ))
            })
            .collect()
    }

    /// Adds, changes or removes a runtime member with its audit row and messages, in one transaction.
    /// Returns the member's previous role; nothing is written (and nobody told) when the change
    /// changes nothing.
    pub async fn change_member(&self, change: &MemberChange<'_>) -> Result<Previous> {
        let mut tx = self.pool.begin().await?;
        // A write first: SQLite then takes its write lock now (waiting out other writers) instead of
        // failing with "database is locked" when a transaction that began by reading tries to write;
        // PostgreSQL locks the member's row, so two changes of one member do not interleave.
        sqlx::query("UPDATE members SET role = role WHERE database_name = $1 AND member = $2")
            .bind(change.database.as_str())
            .bind(change.member.to_string())
            .execute(&mut *tx)
            .await?;
        let (previous, folded) = held(&mut tx, change).await?;
        if previous == change.role && !folded {
            return Ok(previous);
        }
        write_member(&mut tx, change).await?;
        let action = match (previous, change.role) {
            (None, Some(_)) => "member added",
            (Some(_), Some(_)) => "member role changed",
            _ => "member removed",
        };
        let database = Some(change.database.as_str());
        super::audit::insert(
            change.actor,
            action,
            database,
            &change.audit_detail,
            None,
            change.at,
        )
        .execute(&mut *tx)
        .await?;
        queue_messages(&mut tx, change).await?;
        tx.commit().await?;
        Ok(previous)
    }
}

/// The highest role the person holds in the database under any of their forms, and whether one of
/// their other forms holds one (to be folded into `member`).
async fn held(conn: &mut AnyConnection, change: &MemberChange<'_>) -> Result<(Previous, bool)> {
    let mut previous = None;
    let mut folded = false;
    for (i, member) in std::iter::once(change.member)
        .chain(change.others)
        .enumerate()
    {
        let held = sqlx::query("SELECT role FROM members WHERE database_name = $1 AND member = $2")
            .bind(change.database.as_str())
            .bind(member.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| role(&row.try_get::<String, _>(0)?))
            .transpose()?;
        folded |= i > 0 && held.is_some();
        previous = previous.max(held);
    }
    Ok((previous, folded))
}

/// Writes the change: the person's other forms go, `member` gets the new role (or goes too).
async fn write_member(conn: &mut AnyConnection, change: &MemberChange<'_>) -> Result<()> {
    let now = to_millis(change.at);
    for other in change.others {
        sqlx::query("DELETE FROM members WHERE database_name = $1 AND member = $2")
            .bind(change.database.as_str())
            .bind(other.to_string())
            .execute(&mut *conn)
            .await?;
    }
    match change.role {
        Some(new) => {
            sqlx::query(
                "INSERT INTO members (database_name, member, role, added_by, added_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (database_name, member) DO UPDATE SET role = excluded.role",
            )
            .bind(change.database.as_str())
            .bind(change.member.to_string())
            .bind(new.as_str())
            .bind(change.actor.name.as_str())
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM members WHERE database_name = $1 AND member = $2")
                .bind(change.database.as_str())
                .bind(change.member.to_string())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Queues the messages that come with the change: its notices, and a newcomer's firing incidents.
async fn queue_messages(conn: &mut AnyConnection, change: &MemberChange<'_>) -> Result<()> {
    let now = to_millis(change.at);
    for Notice { recipient, text } in &change.notices {
        sqlx::query(
            "INSERT INTO outbox (kind, recipient, payload, created_at, next_attempt_at) \
             VALUES ('telegram.notice', $1, $2, $3, $3)",
        )
        .bind(recipient.to_string())
        .bind(serde_json::json!({ "text": text }).to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    if change.send_firing {
        // After the welcome (created in the same instant, but with a larger id).
        sqlx::query(
            "INSERT INTO outbox (kind, incident_id, recipient, created_at, next_attempt_at) \
             SELECT 'telegram.send', i.id, $2, $3, $3 FROM incidents i \
             WHERE i.database_name = $1 AND i.status = 'firing' \
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.incident_id = i.id \
                               AND o.kind = 'telegram.send' AND o.recipient = $2) \
             ORDER BY i.id",
        )
        .bind(change.database.as_str())
        .bind(change.member.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
