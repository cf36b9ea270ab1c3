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
}
