//! Runs in the audit log: a run's row is written when it starts and completed when it ends, so a run cut
//! off by a crash still shows who started what, where, and that it never finished.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Result, Store, to_millis};
use crate::access::Actor;

/// What a run's audit row records when it starts.
pub struct RunStart<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub database: &'a str,
    /// Arguments (secrets masked), `via` and the like.
    pub detail: &'a serde_json::Value,
}

impl Store {
    /// Writes the audit row of a run that is starting (outcome `running`); its id is the run's id.
    pub async fn start_run(&self, run: &RunStart<'_>, now: DateTime<Utc>) -> Result<i64> {
        let row = super::audit::insert(
            run.actor,
            run.action,
            Some(run.database),
            run.detail,
            Some("running"),
            now,
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Completes a run's audit row: its outcome, the detail as it ended, and when.
    pub async fn finish_run(
        &self,
        id: i64,
        outcome: &str,
        detail: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE audit_log SET outcome = $1, detail = $2, finished_at = $3 WHERE id = $4",
        )
        .bind(outcome)
        .bind(detail.to_string())
        .bind(to_millis(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
