//! Who a person is (see migration 0007): the Telegram users the bot has met, the account each
//! username is bound to, and when each person was last refused. A username is bound by the first `/start` of an account carrying it and stays
//! bound; runtime memberships written in its `@username` form become the account's when it is bound,
//! so one person is one member.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Result, Store, StoreError, role, to_millis};
use crate::access::{Actor, Via};
use crate::domain::{MemberKey, TelegramUserId, Username};
use crate::i18n::Lang;

/// The account a username is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub user_id: i64,
    /// The last other account that claimed the username with `/start`.
    pub contested_by: Option<i64>,
}

/// What a `/start` did to the username the person carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The username is this person's from now on.
    Bound,
    /// It was theirs already.
    Own,
    /// It is bound to another account; `first`: this account had not claimed it before (tell the
    /// owners now, and only now).
    Taken { by: i64, first: bool },
}

impl Store {
    /// Claims the right to refuse `user_id` with a reply and an audit row: `true` (and the audit row
    /// written) when they were not refused since `quiet_since`, `false` otherwise, writing nothing.
    pub async fn refusal_due(
        &self,
        user_id: i64,
        quiet_since: DateTime<Utc>,
        now: DateTime<Utc>,
        (actor, database, detail): (&Actor, Option<&str>, &serde_json::Value),
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO refusals (user_id, refused_at) VALUES ($1, $2) ON CONFLICT (user_id) \
             DO UPDATE SET refused_at = excluded.refused_at WHERE refusals.refused_at <= $3",
        )
        .bind(user_id)
        .bind(to_millis(now))
        .bind(to_millis(quiet_since))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(false);
        }
        super::audit::insert(actor, "refused", database, detail, None, now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The account a username (lowercase, without @) is bound to.
    pub async fn binding(&self, username: &str) -> Result<Option<Binding>> {
        let row =
            sqlx::query("SELECT user_id, contested_by FROM username_bindings WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(Binding {
                user_id: r.try_get(0)?,
                contested_by: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// The usernames bound to an account, whatever it is called today.
    pub async fn bound_names(&self, user_id: i64) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT username FROM username_bindings WHERE user_id = $1 ORDER BY 1")
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    /// Whether any database has `member` as a runtime member.
    pub async fn is_member_anywhere(&self, member: &MemberKey) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM members WHERE member = $1 LIMIT 1")
            .bind(member.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// A `/start` of `user_id` carrying `username`: binds the name when nobody holds it (folding its
    /// runtime memberships into the account's), or says who holds it. Audited when something changed.
    pub async fn claim_username(
        &self,
        username: &str,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Claim> {
        let mut tx = self.pool.begin().await?;
        let bound = sqlx::query(
            "INSERT INTO username_bindings (username, user_id, bound_at, bound_by) \
             VALUES ($1, $2, $3, '/start') ON CONFLICT (username) DO NOTHING",
        )
        .bind(username)
        .bind(user_id)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let (claim, action) = if bound == 1 {
            fold(&mut tx, username, user_id).await?;
            (Claim::Bound, "username bound")
        } else {
            let holder: i64 =
                sqlx::query("SELECT user_id FROM username_bindings WHERE username = $1")
                    .bind(username)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
            if holder == user_id {
                return Ok(Claim::Own);
            }
            let first = sqlx::query(
                "UPDATE username_bindings SET contested_by = $2 \
                 WHERE username = $1 AND (contested_by IS NULL OR contested_by <> $2)",
            )
            .bind(username)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !first {
                return Ok(Claim::Taken { by: holder, first });
            }
            (Claim::Taken { by: holder, first }, "username contested")
        };
        let claimant = Actor {
            name: format!("user {user_id}"),
            telegram_id: Some(user_id),
            via: Via::Bot,
        };
        let detail = serde_json::json!({ "username": username, "user_id": user_id });
        super::audit::insert(&claimant, action, None, &detail, None, now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(claim)
    }

    /// Binds a username to the account that last claimed it, `user_id` (an owner's decision). `false`
    /// when that account is not the one claiming it (any more).
    pub async fn rebind_username(
        &self,
        username: &str,
        user_id: i64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE username_bindings SET user_id = $2, contested_by = NULL, bound_by = $3, \
             bound_at = $4 WHERE username = $1 AND contested_by = $2",
        )
        .bind(username)
        .bind(user_id)
        .bind(actor.name.as_str())
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done != 1 {
            return Ok(false);
        }
        let detail = serde_json::json!({ "username": username, "user_id": user_id });
        super::audit::insert(actor, "username rebound", None, &detail, None, now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a Telegram user the bot has met, so `@username` admins resolve to their id, with the
    /// language their Telegram app reports; answers the language they read (chosen with `/language`,
    /// else their app's).
    pub async fn remember_user(
        &self,
        user_id: i64,
        username: Option<&str>,
        language_code: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Lang> {
        let row = sqlx::query(
            "INSERT INTO telegram_users (user_id, username, first_seen_at, last_seen_at, language_code) \
             VALUES ($1, $2, $3, $3, $4) ON CONFLICT (user_id) \
             DO UPDATE SET username = excluded.username, last_seen_at = excluded.last_seen_at, \
             language_code = COALESCE(excluded.language_code, telegram_users.language_code) \
             RETURNING language_code, chosen_language",
        )
        .bind(user_id)
        .bind(username.map(str::to_ascii_lowercase))
        .bind(to_millis(now))
        .bind(language_code)
        .fetch_one(&self.pool)
        .await?;
        Ok(reads(row.try_get(0)?, row.try_get(1)?).unwrap_or_default())
    }

    /// The language each of `user_ids` reads, where known (absent for one who never wrote to the bot:
    /// callers fall back to the database's or the top-level language).
    pub async fn languages_of(&self, user_ids: &[i64]) -> Result<HashMap<i64, Lang>> {
        let mut languages = HashMap::with_capacity(user_ids.len());
        // One query per few hundred people: placeholders of one statement are limited.
        for ids in user_ids.chunks(500) {
            let list = (1..=ids.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT user_id, language_code, chosen_language FROM telegram_users \
                 WHERE user_id IN ({list})"
            );
            let mut query = sqlx::query(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                if let Some(lang) = reads(row.try_get(1)?, row.try_get(2)?) {
                    languages.insert(row.try_get(0)?, lang);
                }
            }
        }
        Ok(languages)
    }

    /// Sets the language a person reads (`None`: their Telegram app's again). `false` when the bot
    /// never met them.
    pub async fn choose_language(&self, user_id: i64, language: Option<Lang>) -> Result<bool> {
        let done = sqlx::query("UPDATE telegram_users SET chosen_language = $1 WHERE user_id = $2")
            .bind(language.map(Lang::code))
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The id of the user with this username (lowercase, without `@`), once they wrote to the bot.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT user_id FROM telegram_users WHERE username = $1 \
             ORDER BY last_seen_at DESC LIMIT 1",
        )
        .bind(username.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// The username a user was last seen with, lowercase without @.
    pub async fn username_of(&self, user_id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT username FROM telegram_users WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.flatten())
    }
}

/// Runtime memberships of `username:<name>` become the account's. Where the account is a member of
/// the same database already, the lower role stays: two forms of one person never add up to more.
async fn fold(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    username: &str,
    user_id: i64,
) -> Result<()> {
    // Only a valid username can name a stored member: any other name has nothing to fold.
    let Ok(name) = Username::parse(username) else {
        return Ok(());
    };
    let by_name = MemberKey::Username(name).to_string();
    let id = TelegramUserId::new(user_id).map_err(|detail| StoreError::Corrupt {
        what: "user id",
        detail,
    })?;
    let by_id = MemberKey::Id(id).to_string();
    let rows = sqlx::query("SELECT database_name, role FROM members WHERE member = $1")
        .bind(&by_name)
        .fetch_all(&mut **tx)
        .await?;
    for row in &rows {
        let database: String = row.try_get(0)?;
        let named = role(&row.try_get::<String, _>(1)?)?;
        let existing =
            sqlx::query("SELECT role FROM members WHERE database_name = $1 AND member = $2")
                .bind(&database)
                .bind(&by_id)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| role(&r.try_get::<String, _>(0)?))
                .transpose()?;
        match existing {
            Some(held) => {
                sqlx::query(
                    "UPDATE members SET role = $3 WHERE database_name = $1 AND member = $2",
                )
                .bind(&database)
                .bind(&by_id)
                .bind(held.min(named).as_str())
                .execute(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM members WHERE database_name = $1 AND member = $2")
                    .bind(&database)
                    .bind(&by_name)
                    .execute(&mut **tx)
                    .await?;
            }
            None => {
                sqlx::query(
                    "UPDATE members SET member = $3 WHERE database_name = $1 AND member = $2",
                )
                .bind(&database)
                .bind(&by_name)
                .bind(&by_id)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// The language a person reads: the one they chose, else their Telegram app's; `None` when neither
/// is known (met only through an invite or a shared contact).
fn reads(language_code: Option<String>, chosen: Option<String>) -> Option<Lang> {
    chosen
        .as_deref()
        .and_then(Lang::parse)
        .or_else(|| language_code.map(|code| Lang::from_telegram(Some(&code))))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::config::StateLocation;

    #[tokio::test]
    async fn a_persons_language_is_their_choice_else_their_apps_else_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let location = StateLocation::Sqlite(dir.path().join("s.db"));
        let store = Store::connect(&location).await.unwrap();
        let now = Utc::now();
        // Met through a shared contact: nothing said of a language, so callers use the database's.
        store
            .remember_user(7, Some("bob"), None, now)
            .await
            .unwrap();
        assert!(store.languages_of(&[7]).await.unwrap().is_empty());
        // Their app speaks Russian (a region tag too); an update without a code keeps it.
        let read = store
            .remember_user(7, None, Some("ru-RU"), now)
            .await
            .unwrap();
        assert_eq!(read, Lang::Ru);
        store.remember_user(7, None, None, now).await.unwrap();
        assert_eq!(
            store.languages_of(&[7, 8]).await.unwrap(),
            HashMap::from([(7, Lang::Ru)])
        );
        // A choice wins over the app, until it is taken back.
        assert!(store.choose_language(7, Some(Lang::En)).await.unwrap());
        assert_eq!(
            store.remember_user(7, None, Some("ru"), now).await.unwrap(),
            Lang::En
        );
        assert!(store.choose_language(7, None).await.unwrap());
        assert_eq!(store.languages_of(&[7]).await.unwrap()[&7], Lang::Ru);
        assert!(
            !store.choose_language(8, Some(Lang::Ru)).await.unwrap(),
            "never met"
        );
    }

    #[tokio::test]
    async fn a_person_is_refused_aloud_once_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let location = StateLocation::Sqlite(dir.path().join("s.db"));
        let store = Store::connect(&location).await.unwrap();
        let start = Utc::now();
        let minute = Duration::minutes(1);
        let detail = serde_json::json!({ "user_id": 5 });
        let refuse = |now: DateTime<Utc>| {
            let store = store.clone();
            let detail = detail.clone();
            async move {
                let actor = Actor {
                    name: "user 5".to_owned(),
                    telegram_id: Some(5),
                    via: Via::Bot,
                };
                let what = (&actor, None, &detail);
                store.refusal_due(5, now - minute, now, what).await.unwrap()
            }
        };
        assert!(refuse(start).await);
        assert!(!refuse(start + Duration::seconds(59)).await);
        assert!(refuse(start + minute).await, "a minute after the last one");
        assert!(!refuse(start + minute).await);
        let all = super::super::AuditFilter {
            limit: 10,
            ..Default::default()
        };
        assert_eq!(store.audit_page(&all).await.unwrap().entries.len(), 2);
    }

    #[tokio::test]
    async fn a_username_stays_with_the_account_that_claimed_it() {
        let dir = tempfile::tempdir().unwrap();
        let location = StateLocation::Sqlite(dir.path().join("s.db"));
        let store = Store::connect(&location).await.unwrap();
        let now = Utc::now();
        let owner = Actor {
            name: "@owner".to_owned(),
            telegram_id: Some(1),
            via: Via::Bot,
        };
        assert_eq!(
            store.claim_username("alice", 42, now).await.unwrap(),
            Claim::Bound
        );
        assert_eq!(
            store.claim_username("alice", 42, now).await.unwrap(),
            Claim::Own
        );
        let taken = Claim::Taken {
            by: 42,
            first: true,
        };
        assert_eq!(store.claim_username("alice", 77, now).await.unwrap(), taken);
        let again = Claim::Taken {
            by: 42,
            first: false,
        };
        assert_eq!(store.claim_username("alice", 77, now).await.unwrap(), again);
        assert!(
            !store
                .rebind_username("alice", 99, &owner, now)
                .await
                .unwrap()
        );
        assert!(
            store
                .rebind_username("alice", 77, &owner, now)
                .await
                .unwrap()
        );
        assert_eq!(store.bound_names(77).await.unwrap(), ["alice"]);
        assert!(store.bound_names(42).await.unwrap().is_empty());
    }
}
