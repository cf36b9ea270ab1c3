//! One-time invites (see migration 0004): an owner starts one in a chat, names the addressee, and the
//! code it issues makes whoever redeems it a member, once, before it expires.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, from_millis, from_millis_opt, role, to_millis};
use crate::domain::Role;

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

const INVITE_COLUMNS: &str = "id, database_name, role, username, created_by, expires_at, used_at";

impl Store {
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
}
