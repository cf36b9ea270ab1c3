//! Conversations about running a view or an action (see migration 0003): what was given so far and
//! what the bot waits for. Typed secrets are the exception: they are held in this process's memory
//! only, beside the row, and forgotten with it (so a restart, or another replica, asks for them again).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, to_millis};
use crate::domain::DatabaseName;

/// What a dialogue is about: running a view or an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogueKind {
    View,
    Action,
}

impl DialogueKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DialogueKind::View => "view",
            DialogueKind::Action => "action",
        }
    }

    fn parse(raw: &str) -> Result<DialogueKind> {
        match raw {
            "view" => Ok(DialogueKind::View),
            "action" => Ok(DialogueKind::Action),
            other => Err(StoreError::Corrupt {
                what: "dialogue kind",
                detail: other.to_owned(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialogue {
    pub id: i64,
    pub user_id: i64,
    pub chat_id: i64,
    pub kind: DialogueKind,
    pub database: DatabaseName,
    pub alias: String,
    /// The values given so far, except secrets.
    pub arguments: BTreeMap<String, String>,
    /// Typed secrets: never written to the store, kept in memory until the dialogue ends or expires.
    pub secrets: BTreeMap<String, String>,
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
        kind: DialogueKind::parse(&row.try_get::<String, _>("kind")?)?,
        database: super::database_name(&row.try_get::<String, _>("database_name")?)?,
        alias: row.try_get("alias")?,
        arguments: serde_json::from_str(&row.try_get::<String, _>("arguments")?)
            .map_err(corrupt)?,
        secrets: BTreeMap::new(),
        awaiting: row.try_get("awaiting")?,
        choices: serde_json::from_str(&row.try_get::<String, _>("choices")?).map_err(corrupt)?,
        confirm: row.try_get::<i64, _>("confirm")? != 0,
    })
}

impl Dialogue {
    /// Every value given so far, secrets included: what a run receives.
    pub fn values(&self) -> BTreeMap<String, String> {
        let mut values = self.arguments.clone();
        values.extend(self.secrets.clone());
        values
    }

    pub fn has_value(&self, name: &str) -> bool {
        self.arguments.contains_key(name) || self.secrets.contains_key(name)
    }
}

/// Per dialogue id: its secrets, and when they were last given.
type Held = HashMap<i64, (BTreeMap<String, String>, DateTime<Utc>)>;

/// The secrets of open dialogues. `Debug` shows only how many dialogues hold some.
#[derive(Clone, Default)]
pub(crate) struct HeldSecrets(Arc<Mutex<Held>>);

impl HeldSecrets {
    fn with<T>(&self, f: impl FnOnce(&mut Held) -> T) -> T {
        // The map stays consistent whatever panicked while holding it: every change is one call.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn put(&self, id: i64, secrets: &BTreeMap<String, String>, now: DateTime<Utc>) {
        self.with(|held| {
            if secrets.is_empty() {
                held.remove(&id);
            } else {
                held.insert(id, (secrets.clone(), now));
            }
        });
    }

    fn fill(&self, dialogue: &mut Dialogue) {
        if let Some((secrets, _)) = self.with(|held| held.get(&dialogue.id).cloned()) {
            dialogue.secrets = secrets;
        }
    }

    fn forget(&self, ids: &[i64]) {
        self.with(|held| {
            for id in ids {
                held.remove(id);
            }
        });
    }
}

impl fmt::Debug for HeldSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeldSecrets({} dialogues)", self.with(|held| held.len()))
    }
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
            secrets,
            confirm,
            ..
        } = new;
        let mut tx = self.pool.begin().await?;
        let replaced: Vec<i64> =
            sqlx::query("DELETE FROM dialogues WHERE user_id = $1 AND chat_id = $2 RETURNING id")
                .bind(user_id)
                .bind(chat_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
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
        self.secrets.forget(&replaced);
        self.secrets.put(id, secrets, now);
        Ok(id)
    }

    pub async fn dialogue(&self, id: i64) -> Result<Option<Dialogue>> {
        let sql = format!("SELECT {COLUMNS} FROM dialogues WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        self.held(row.as_ref())
    }

    /// Every open dialogue (a reload ends those whose item or database went away).
    pub async fn open_dialogues(&self) -> Result<Vec<Dialogue>> {
        let sql = format!("SELECT {COLUMNS} FROM dialogues ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(dialogue).collect()
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
        self.held(row.as_ref())
    }

    fn held(&self, row: Option<&AnyRow>) -> Result<Option<Dialogue>> {
        let Some(row) = row else { return Ok(None) };
        let mut found = dialogue(row)?;
        self.secrets.fill(&mut found);
        Ok(Some(found))
    }

    /// Saves the values given so far (secrets in memory only) and what to ask next.
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
        self.secrets.put(dialogue.id, &dialogue.secrets, now);
        Ok(())
    }

    pub async fn end_dialogue(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM dialogues WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.secrets.forget(&[id]);
        Ok(())
    }

    /// Deletes the dialogues nobody touched since `before`, and forgets their secrets (and any other
    /// secret given before then). Returns how many dialogues were deleted.
    pub async fn expire_dialogues(&self, before: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM dialogues WHERE updated_at < $1")
            .bind(to_millis(before))
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.secrets
            .with(|held| held.retain(|_, (_, given)| *given >= before));
        Ok(deleted)
    }
}
