//! API tokens created by owners from the bot (see migration 0004): only their SHA-256 is stored.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, from_millis, from_millis_opt, role, to_millis};
use crate::domain::Role;

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

const TOKEN_COLUMNS: &str = "id, name, sha256, role, databases, created_by, created_at, revoked_at";

impl Store {
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
