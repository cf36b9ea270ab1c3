//! The inline buttons on the bot's messages (see migration 0006): what each button's token means, kept
//! per (chat, message) so a press is honoured only on the message the bot put that button on.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Result, Store, to_millis};

impl Store {
    /// Records the buttons (token, payload) the bot put on a message, replacing those it carried
    /// before (an edit); none clears them.
    pub async fn put_buttons(
        &self,
        chat: i64,
        message: i64,
        buttons: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM buttons WHERE chat_id = $1 AND message_id = $2")
            .bind(chat)
            .bind(message)
            .execute(&mut *tx)
            .await?;
        for (token, payload) in buttons {
            sqlx::query(
                "INSERT INTO buttons (chat_id, message_id, token, payload, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(chat)
            .bind(message)
            .bind(token)
            .bind(payload)
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The payload of the button `token` on a message, if the bot put one there.
    pub async fn button(&self, chat: i64, message: i64, token: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT payload FROM buttons WHERE chat_id = $1 AND message_id = $2 AND token = $3",
        )
        .bind(chat)
        .bind(message)
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("payload")).transpose()?)
    }

    /// Forgets the buttons recorded before `before`, except those on the alert messages of incidents
    /// still firing (their Acknowledge and Silence must keep working however old they are). A press of
    /// a forgotten button is refused like any unknown one; `/alerts` and the lists give fresh ones.
    pub async fn prune_buttons(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM buttons WHERE created_at < $1 AND NOT EXISTS ( \
                 SELECT 1 FROM telegram_messages m JOIN incidents i ON i.id = m.incident_id \
                 WHERE m.chat_id = buttons.chat_id AND m.message_id = buttons.message_id \
                   AND i.status = 'firing')",
        )
        .bind(to_millis(before))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
