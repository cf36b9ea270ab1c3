//! Views: read-only SQL in a `READ ONLY` transaction with the view's `statement_timeout` and a 5 s
//! `lock_timeout`, always rolled back. Also the `choices_sql` of arguments, which are small views.

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Executor, Postgres};

use super::rows::{self, Mode};
use super::target::millis;
use super::{ExecError, Query, Table, Target, ViewOptions, ViewSummary};

/// How long past its own timeout a view may take before the client gives up on the server (which should
/// have stopped it already).
const BACKSTOP: Duration = Duration::from_secs(5);

impl Target {
    /// Runs a view: `BEGIN READ ONLY`, `SET LOCAL statement_timeout` to `options.timeout` and
    /// `lock_timeout` to 5 s; streams the rows, calls `on_row` for each of the first `options.max_rows`
    /// and reports whether more existed. The server never sends more than one row past `max_rows`.
    pub async fn view(
        &self,
        query: &Query,
        options: &ViewOptions,
        on_row: &mut (dyn FnMut(Vec<Option<String>>) + Send),
    ) -> Result<ViewSummary, ExecError> {
        let mut held = Unsettled {
            conn: self.acquire().await?,
            settled: false,
        };
        let limit = options.timeout.saturating_add(BACKSTOP);
        let read = self.read_only(&mut held.conn, query, options, on_row);
        let result = tokio::time::timeout(limit, read)
            .await
            .map_err(|_| ExecError::TimedOut)?;
        held.settled = true;
        result
    }

    /// Runs a view and collects its rows (at most `options.max_rows`).
    pub async fn view_table(
        &self,
        query: &Query,
        options: &ViewOptions,
    ) -> Result<Table, ExecError> {
        let mut rows = Vec::new();
        let summary = self.view(query, options, &mut |row| rows.push(row)).await?;
        Ok(Table {
            columns: summary.columns,
            rows,
            truncated: summary.truncated,
        })
    }

    /// Runs a `choices_sql` query (read-only, like a view) and returns `(value, label)` pairs from its
    /// `value` and optional `label` columns, at most `limit`; rows whose value is NULL are skipped.
    pub async fn choices(
        &self,
        sql: &str,
        timeout: Duration,
        limit: usize,
    ) -> Result<Vec<(String, String)>, ExecError> {
        let query = Query {
            sql: sql.to_owned(),
            params: Vec::new(),
        };
        let options = ViewOptions {
            timeout,
            max_rows: limit,
        };
        let table = self.view_table(&query, &options).await?;
        let position = |name: &str| table.columns.iter().position(|c| c == name);
        let value = position("value").ok_or_else(|| {
            ExecError::Invalid("choices_sql must return a column named value".to_owned())
        })?;
        let label = position("label").unwrap_or(value);
        Ok(table
            .rows
            .into_iter()
            .filter_map(|mut row| {
                let value_text = row.get_mut(value)?.clone()?;
                let label_text = row
                    .get_mut(label)
                    .and_then(Option::take)
                    .unwrap_or_else(|| value_text.clone());
                Some((value_text, label_text))
            })
            .collect())
    }

    async fn read_only(
        &self,
        conn: &mut PoolConnection<Postgres>,
        query: &Query,
        options: &ViewOptions,
        on_row: &mut (dyn FnMut(Vec<Option<String>>) + Send),
    ) -> Result<ViewSummary, ExecError> {
        let begin = format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = '5s'",
            millis(options.timeout)
        );
        conn.execute(sqlx::raw_sql(&begin))
            .await
            .map_err(|e| self.error(e))?;
        let result = rows::run(self, conn, query, Mode::View, options.max_rows, on_row).await;
        // Nothing to keep: a view's transaction always ends with a rollback.
        if conn.execute(sqlx::raw_sql("ROLLBACK")).await.is_err() {
            conn.close_on_drop();
        }
        let fetched = result?;
        Ok(ViewSummary {
            columns: fetched.columns,
            rows: fetched.kept,
            truncated: fetched.truncated,
        })
    }
}

/// A pooled connection inside a view's transaction. Abandoned mid-statement (the view timed out, or its
/// caller gave up and dropped the future), its state is unknown: it is closed rather than pooled.
struct Unsettled {
    conn: PoolConnection<Postgres>,
    settled: bool,
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        if !self.settled {
            self.conn.close_on_drop();
        }
    }
}
