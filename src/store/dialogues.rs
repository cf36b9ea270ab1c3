//! Conversations about running a view or an action (see migration 0003): what was given so far and
//! what the bot waits for.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, to_millis};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialogue {
    pub id: i64,
    pub user_id: i64,
    pub chat_id: i64,
    /// `view` or `action`.
    pub kind: String,
    pub database: String,
    pub alias: String,
    pub arguments: BTreeMap<String, String>,
    pub awaiting: Option<String>,
    pub choices: Vec<String>,
    /// Ask for confirmation before running, whatever the action says (started from an alert).
    pub confirm: bool,
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        what: "dialogue",
        detail: e.to_string(),
    }
}

fn dialogue(row: &AnyRow) -> Result<Dialogue> {
    Ok(Dialogue {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        chat_id: row.try_get("chat_id")?,
        kind: row.try_get("kind")?,
        database: row.try_get("database_name")?,
        alias: row.try_get("alias")?,
        arguments: serde_json::from_str(&row.try_get::<String, _>("arguments")?)
            .map_err(corrupt)?,
        awaiting: row.try_get("awaiting")?,
        choices: serde_json::from_str(&row.try_get::<String, _>("choices")?).map_err(corrupt)?,
        confirm: row.try_get::<i64, _>("confirm")? != 0,
    })
}

const COLUMNS: &str =
    "id, user_id, chat_id, kind, database_name, alias, arguments, awaiting, choices, confirm";

impl Store {
    /// Starts a dialogue (its `id` is ignored), replacing any other of the same person in the same chat
    /// and an invite of theirs there still waiting for its addressee (one question at a time).
    pub async fn start_dialogue(&self, new: &Dialogue, now: DateTime<Utc>) -> Result<i64> {
        let Dialogue {
            user_id,
            chat_id,
            kind,
            database,
            alias,
            arguments,
            confirm,
            ..
        } = new;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM dialogues WHERE user_id = $1 AND chat_id = $2")
            .bind(user_id)
            .bind(chat_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM invites WHERE creator_id = $1 AND chat_id = $2 AND code_sha256 IS NULL",
        )
        .bind(user_id)
        .bind(chat_id)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query(
            "INSERT INTO dialogues (user_id, chat_id, kind, database_name, alias, arguments, created_at, updated_at, confirm) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id",
        )
        .bind(*user_id)
        .bind(*chat_id)
        .bind(kind.as_str())
        .bind(database.as_str())
        .bind(alias.as_str())
        .bind(serde_json::to_string(arguments).map_err(corrupt)?)
        .bind(to_millis(now))
        .bind(i64::from(*confirm))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn dialogue(&self, id: i64) -> Result<Option<Dialogue>> {
        let sql = format!("SELECT {COLUMNS} FROM dialogues WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dialogue).transpose()
    }

    /// The person's dialogue in this chat that waits for a typed value, if any.
    pub async fn awaiting_dialogue(&self, user_id: i64, chat_id: i64) -> Result<Option<Dialogue>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM dialogues WHERE user_id = $1 AND chat_id = $2 AND awaiting IS NOT NULL"
        );
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dialogue).transpose()
    }

    /// Saves the values given so far and what to ask next.
    pub async fn update_dialogue(&self, dialogue: &Dialogue, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE dialogues SET arguments = $2, awaiting = $3, choices = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(dialogue.id)
        .bind(serde_json::to_string(&dialogue.arguments).map_err(corrupt)?)
        .bind(dialogue.awaiting.as_deref())
        .bind(serde_json::to_string(&dialogue.choices).map_err(corrupt)?)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn end_dialogue(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM dialogues WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
