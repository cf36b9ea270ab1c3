//! Who belongs to which database beyond the config (see migration 0004): members added at runtime,
//! one-time invites, and API tokens created by owners. A membership change, its audit row and the
//! messages it causes (welcome, announcements, the firing incidents a new member must see) commit
//! together, so a crash never leaves a member nobody was told about.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, from_millis, from_millis_opt, role, to_millis};
use crate::access::Actor;
use crate::domain::Role;

/// A member added at runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub database: String,
    /// `user:<id>` or `username:<name>`: the stored form of a recipient.
    pub member: String,
    pub role: Role,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

/// A message queued with a membership change: `(recipient, html)`.
pub type Notice = (String, String);

/// One membership change and what comes with it.
#[derive(Debug, Clone)]
pub struct MemberChange<'a> {
    pub database: &'a str,
    pub member: &'a str,
    /// The person's other stored forms (`username:<name>` of a bound name): folded into `member`,
    /// so one person is one member whichever form a change names.
    pub others: &'a [String],
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The person is now a member.
    Joined {
        database: String,
        role: Role,
        created_by: String,
    },
    Unknown,
    Expired,
    Used,
    /// The invite names someone else.
    WrongUser,
}

/// An invite as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: i64,
    pub database: String,
    pub role: Role,
    pub username: Option<String>,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// An API token created from the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub id: i64,
    pub name: String,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    pub role: Role,
    /// `None`: every database.
    pub databases: Option<Vec<String>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn member(row: &AnyRow) -> Result<MemberRecord> {
    Ok(MemberRecord {
        database: row.try_get("database_name")?,
        member: row.try_get("member")?,
        role: role(&row.try_get::<String, _>("role")?)?,
        added_by: row.try_get("added_by")?,
        added_at: from_millis(row.try_get("added_at")?)?,
    })
}

fn invite(row: &AnyRow) -> Result<Invite> {
    Ok(Invite {
        id: row.try_get("id")?,
        database: row.try_get("database_name")?,
        role: role(&row.try_get::<String, _>("role")?)?,
        username: row.try_get("username")?,
        created_by: row.try_get("created_by")?,
        expires_at: from_millis(row.try_get("expires_at")?)?,
        used_at: from_millis_opt(row.try_get("used_at")?)?,
    })
}

fn token(row: &AnyRow) -> Result<StoredToken> {
    let databases: Option<String> = row.try_get("databases")?;
    Ok(StoredToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        sha256: row.try_get("sha256")?,
        role: role(&row.try_get::<String, _>("role")?)?,
        databases: databases
            .map(|d| serde_json::from_str(&d))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                what: "token databases",
                detail: e.to_string(),
            })?,
        created_by: row.try_get("created_by")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        revoked_at: from_millis_opt(row.try_get("revoked_at")?)?,
    })
}

const INVITE_COLUMNS: &str = "id, database_name, role, username, created_by, expires_at, used_at";
const TOKEN_COLUMNS: &str = "id, name, sha256, role, databases, created_by, created_at, revoked_at";

impl Store {
    /// Runtime members of one database (or all), oldest first.
    pub async fn members(&self, database: Option<&str>) -> Result<Vec<MemberRecord>> {
        const COLUMNS: &str = "SELECT database_name, member, role, added_by, added_at FROM members";
        let rows = match database {
            Some(database) => {
                let sql = format!("{COLUMNS} WHERE database_name = $1 ORDER BY added_at, member");
                sqlx::query(&sql)
                    .bind(database)
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

    /// The runtime roles of a person, known by any of `keys` (`user:<id>`, `username:<name>`).
    pub async fn memberships(&self, keys: &[String]) -> Result<Vec<(String, Role)>> {
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
            query = query.bind(key.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("database_name")?,
                    role(&row.try_get::<String, _>("role")?)?,
                ))
            })
            .collect()
    }

    /// Adds, changes or removes a runtime member with its audit row and messages, in one transaction.
    /// Returns the member's previous role; nothing is written (and nobody told) when the change
    /// changes nothing.
    pub async fn change_member(&self, change: &MemberChange<'_>) -> Result<Previous> {
        let now = to_millis(change.at);
        let mut tx = self.pool.begin().await?;
        // A write first: SQLite then takes its write lock now (waiting out other writers) instead of
        // failing with "database is locked" when a transaction that began by reading tries to write;
        // PostgreSQL locks the member's row, so two changes of one member do not interleave.
        sqlx::query("UPDATE members SET role = role WHERE database_name = $1 AND member = $2")
            .bind(change.database)
            .bind(change.member)
            .execute(&mut *tx)
            .await?;
        let mut previous = None;
        let mut folded = false;
        for (i, member) in std::iter::once(change.member)
            .chain(change.others.iter().map(String::as_str))
            .enumerate()
        {
            let held =
                sqlx::query("SELECT role FROM members WHERE database_name = $1 AND member = $2")
                    .bind(change.database)
                    .bind(member)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| role(&row.try_get::<String, _>(0)?))
                    .transpose()?;
            folded |= i > 0 && held.is_some();
            previous = previous.max(held);
        }
        if previous == change.role && !folded {
            return Ok(previous);
        }
        for other in change.others {
            sqlx::query("DELETE FROM members WHERE database_name = $1 AND member = $2")
                .bind(change.database)
                .bind(other.as_str())
                .execute(&mut *tx)
                .await?;
        }
        match change.role {
            Some(new) => {
                sqlx::query(
                    "INSERT INTO members (database_name, member, role, added_by, added_at) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (database_name, member) DO UPDATE SET role = excluded.role",
                )
                .bind(change.database)
                .bind(change.member)
                .bind(new.as_str())
                .bind(change.actor.name.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM members WHERE database_name = $1 AND member = $2")
                    .bind(change.database)
                    .bind(change.member)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let action = match (previous, change.role) {
            (None, Some(_)) => "member added",
            (Some(_), Some(_)) => "member role changed",
            _ => "member removed",
        };
        let database = Some(change.database);
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
        for (recipient, text) in &change.notices {
            sqlx::query(
                "INSERT INTO outbox (kind, recipient, payload, created_at, next_attempt_at) \
                 VALUES ('telegram.notice', $1, $2, $3, $3)",
            )
            .bind(recipient.as_str())
            .bind(serde_json::json!({ "text": text }).to_string())
            .bind(now)
            .execute(&mut *tx)
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
            .bind(change.database)
            .bind(change.member)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(previous)
    }

    /// Starts an invite: the bot now waits for the addressee's @username from `creator_id` in `chat_id`
    /// until `expires_at`. A person answers one question at a time in a chat: this replaces an earlier
    /// unfinished invite and drops a view or action dialogue of theirs there.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_invite(
        &self,
        database: &str,
        role: Role,
        created_by: &str,
        creator_id: i64,
        chat_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM invites WHERE creator_id = $1 AND chat_id = $2 AND code_sha256 IS NULL",
        )
        .bind(creator_id)
        .bind(chat_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM dialogues WHERE user_id = $1 AND chat_id = $2")
            .bind(creator_id)
            .bind(chat_id)
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query(
            "INSERT INTO invites (database_name, role, created_by, creator_id, chat_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(database)
        .bind(role.as_str())
        .bind(created_by)
        .bind(creator_id)
        .bind(chat_id)
        .bind(to_millis(now))
        .bind(to_millis(expires_at))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        tx.commit().await?;
        Ok(id)
    }

    /// The invite waiting for an addressee from this person in this chat, if it has not expired.
    pub async fn awaiting_invite(
        &self,
        creator_id: i64,
        chat_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<Invite>> {
        let sql = format!(
            "SELECT {INVITE_COLUMNS} FROM invites \
             WHERE creator_id = $1 AND chat_id = $2 AND code_sha256 IS NULL AND expires_at > $3"
        );
        let row = sqlx::query(&sql)
            .bind(creator_id)
            .bind(chat_id)
            .bind(to_millis(now))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(invite).transpose()
    }

    /// Gives a started invite its addressee and code; from now on the link works until `expires_at`.
    /// `false` when the invite no longer waits for its addressee.
    pub async fn issue_invite(
        &self,
        id: i64,
        username: &str,
        code_sha256: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE invites SET username = $2, code_sha256 = $3, expires_at = $4 \
             WHERE id = $1 AND code_sha256 IS NULL",
        )
        .bind(id)
        .bind(username)
        .bind(code_sha256)
        .bind(to_millis(expires_at))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Drops an invite still waiting for its addressee.
    pub async fn drop_invite(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM invites WHERE id = $1 AND code_sha256 IS NULL")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Uses the invite with this code for `username` (lowercase, without @), if it is theirs, unused
    /// and not expired. Marking it used is one conditional UPDATE, so two presses of the same link
    /// cannot both succeed. The membership itself is added by the caller.
    pub async fn redeem_invite(
        &self,
        code_sha256: &str,
        username: Option<&str>,
        used_by: &str,
        now: DateTime<Utc>,
    ) -> Result<Redeemed> {
        let sql = format!("SELECT {INVITE_COLUMNS} FROM invites WHERE code_sha256 = $1");
        let Some(found) = sqlx::query(&sql)
            .bind(code_sha256)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(Redeemed::Unknown);
        };
        let found = invite(&found)?;
        if found.used_at.is_some() {
            return Ok(Redeemed::Used);
        }
        if found.expires_at <= now {
            return Ok(Redeemed::Expired);
        }
        if found.username.as_deref() != username {
            return Ok(Redeemed::WrongUser);
        }
        let taken = sqlx::query(
            "UPDATE invites SET used_at = $2, used_by = $3 WHERE id = $1 AND used_at IS NULL",
        )
        .bind(found.id)
        .bind(to_millis(now))
        .bind(used_by)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(if taken == 1 {
            Redeemed::Joined {
                database: found.database,
                role: found.role,
                created_by: found.created_by,
            }
        } else {
            Redeemed::Used
        })
    }

    /// The username a user was last seen with, lowercase without @.
    pub async fn username_of(&self, user_id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT username FROM telegram_users WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.flatten())
    }

    /// Stores a new API token (its SHA-256 only). `None` when the name is taken.
    pub async fn create_token(
        &self,
        name: &str,
        sha256: &str,
        role: Role,
        databases: Option<&[String]>,
        created_by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let taken = sqlx::query("SELECT 1 FROM api_tokens WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        if taken.is_some() {
            return Ok(None);
        }
        let databases =
            databases.map(|d| serde_json::to_string(d).unwrap_or_else(|_| "[]".to_owned()));
        let id: i64 = sqlx::query(
            "INSERT INTO api_tokens (name, sha256, role, databases, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(name)
        .bind(sha256)
        .bind(role.as_str())
        .bind(databases)
        .bind(created_by)
        .bind(to_millis(now))
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(Some(id))
    }

    /// Every token created here, revoked ones too, oldest first.
    pub async fn tokens(&self) -> Result<Vec<StoredToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(token).collect()
    }

    /// Tokens that still open the API.
    pub async fn active_tokens(&self) -> Result<Vec<StoredToken>> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE revoked_at IS NULL ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(token).collect()
    }

    /// Revokes a token; `false` when there is no such active token.
    pub async fn revoke_token(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(to_millis(now))
        .bind(by)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }
}
