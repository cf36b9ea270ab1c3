//! Telegram chats as delivery found them: the message sent to each chat about an incident (so that
//! acknowledging or silencing edits it), groups that became supergroups, and recipients Telegram
//! will not deliver to.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Result, Store, to_millis};
use crate::domain::{IncidentId, MemberKey};

impl Store {
    /// Remembers the message sent to `chat_id` about an incident (a later send to the same chat replaces it).
    pub async fn record_message(
        &self,
        incident: IncidentId,
        chat_id: i64,
        message_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO telegram_messages (incident_id, chat_id, message_id, sent_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id, chat_id) \
             DO UPDATE SET message_id = excluded.message_id, sent_at = excluded.sent_at",
        )
        .bind(incident.0)
        .bind(chat_id)
        .bind(message_id)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The message sent to `chat_id` about an incident, if any.
    pub async fn message_in(&self, incident: IncidentId, chat_id: i64) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT message_id FROM telegram_messages WHERE incident_id = $1 AND chat_id = $2",
        )
        .bind(incident.0)
        .bind(chat_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Marks a recipient unreachable; `true` when the owners have not been told yet (and now count as
    /// told, so that exactly one caller tells them).
    pub async fn mark_unreachable(
        &self,
        recipient: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO unreachable_recipients (recipient, reason, since) VALUES ($1, $2, $3) \
             ON CONFLICT (recipient) DO NOTHING",
        )
        .bind(recipient)
        .bind(reason)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        let told = sqlx::query(
            "UPDATE unreachable_recipients SET owners_told = 1 \
             WHERE recipient = $1 AND owners_told = 0",
        )
        .bind(recipient)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(told.rows_affected() == 1)
    }

    /// A user pressed Start: they can be reached again.
    pub async fn mark_reachable(&self, members: &[MemberKey]) -> Result<()> {
        for member in members {
            sqlx::query("DELETE FROM unreachable_recipients WHERE recipient = $1")
                .bind(member.to_string())
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// A group became a supergroup: messages for `from` go to `to` from now on.
    pub async fn record_migration(&self, from: i64, to: i64, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO chat_migrations (from_chat_id, to_chat_id, migrated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (from_chat_id) DO UPDATE SET to_chat_id = excluded.to_chat_id",
        )
        .bind(from)
        .bind(to)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        // Messages already sent in the old group live on in the supergroup under the same ids.
        sqlx::query("UPDATE telegram_messages SET chat_id = $2 WHERE chat_id = $1")
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where a chat lives now, following migrations.
    pub async fn current_chat(&self, chat_id: i64) -> Result<i64> {
        let row = sqlx::query("SELECT to_chat_id FROM chat_migrations WHERE from_chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(chat_id))
    }
}
