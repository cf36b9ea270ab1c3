//! Views run for people: a caller's share of the view connections, rows streamed or kept, and
//! CSV or JSON spooled to an unlinked temporary file so memory stays flat however many rows come.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::json;

use super::masking::{mask_error, secret_values};
use super::{OpError, Operations};
use crate::access::Actor;
use crate::catalog::{self, plan};
use crate::domain::DatabaseName;
use crate::exec::Table;

/// Views one caller may have running at once: half of a database's view connections, so no one
/// caller can hold them all.
const VIEWS_PER_CALLER: usize = 2;

/// A caller's place among the views running; freed when dropped.
struct Viewing {
    viewing: Arc<Mutex<HashMap<String, usize>>>,
    who: String,
}

impl Drop for Viewing {
    fn drop(&mut self) {
        let mut viewing = self.viewing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = viewing.get_mut(&self.who) {
            *n -= 1;
            if *n == 0 {
                viewing.remove(&self.who);
            }
        }
    }
}

impl Operations {
    /// Takes one of the caller's view places, or refuses when they have `VIEWS_PER_CALLER` running.
    fn start_viewing(&self, who: &str) -> Result<Viewing, OpError> {
        let mut viewing = self.viewing.lock().unwrap_or_else(|e| e.into_inner());
        let running = viewing.entry(who.to_owned()).or_default();
        if *running >= VIEWS_PER_CALLER {
            return Err(OpError::TooManyViews(VIEWS_PER_CALLER));
        }
        *running += 1;
        Ok(Viewing {
            viewing: Arc::clone(&self.viewing),
            who: who.to_owned(),
        })
    }

    /// Runs a view, calling `on_row` for each row (up to the view's cap, or `limit` when lower: a chat
    /// page needs only the rows up to its own, and reading no further keeps it fast).
    #[allow(clippy::too_many_arguments)]
    pub async fn stream_view(
        &self,
        actor: &Actor,
        database: &DatabaseName,
        alias: &str,
        given: &BTreeMap<String, String>,
        limit: Option<usize>,
        on_row: &mut (dyn FnMut(Vec<Option<String>>) + Send),
    ) -> Result<crate::exec::ViewSummary, OpError> {
        let view = self.view(alias, database)?;
        let values = catalog::parse_all(&view.arguments, given).map_err(OpError::Argument)?;
        let target = self.target(database)?;
        let _place = self.start_viewing(&actor.name)?;
        let started = Instant::now();
        let (query, mut options) = plan::view_query(&view, &target, &values)
            .await
            .map_err(|e| Self::planned(database, e))?;
        if let Some(limit) = limit {
            options.max_rows = options.max_rows.min(limit);
        }
        // PostgreSQL may quote a value back in its error ("invalid input syntax … \"value\""): the
        // audit row and the answer get the error with secrets masked, like the arguments.
        let result = target
            .view(&query, &options, on_row)
            .await
            .map_err(|e| mask_error(e, &secret_values(&values)));
        let detail = json!({
            "view": alias,
            "arguments": catalog::shown(&values),
            "outcome": match &result {
                Ok(summary) => format!("{} rows{}", summary.rows, if summary.truncated { " (truncated)" } else { "" }),
                Err(e) => format!("failed: {e}"),
            },
            "duration_ms": started.elapsed().as_millis() as u64,
        });
        self.audit(actor, "view", database, detail).await;
        result.map_err(|error| OpError::Exec {
            database: database.to_string(),
            error,
        })
    }

    /// Runs a view and keeps its rows (bounded by the view's cap).
    pub async fn view_table(
        &self,
        actor: &Actor,
        database: &DatabaseName,
        alias: &str,
        given: &BTreeMap<String, String>,
    ) -> Result<Table, OpError> {
        let mut rows = Vec::new();
        let summary = self
            .stream_view(actor, database, alias, given, None, &mut |row| {
                rows.push(row)
            })
            .await?;
        Ok(Table {
            columns: summary.columns,
            rows,
            truncated: summary.truncated,
        })
    }

    /// Runs a view into CSV: the header line, and an unlinked temporary file with the rows (it vanishes
    /// with its handle). Rows go to disk as they arrive, so memory stays flat however many there are.
    pub async fn view_csv(
        &self,
        actor: &Actor,
        database: &DatabaseName,
        alias: &str,
        given: &BTreeMap<String, String>,
    ) -> Result<(String, std::fs::File), OpError> {
        let (summary, file) = self
            .spool(actor, database, alias, given, &mut |row, out| {
                out.push_str(&csv_line(row.into_iter()));
            })
            .await?;
        let header = csv_line(summary.columns.into_iter().map(Some));
        Ok((header, file))
    }

    /// Runs a view into JSON, spooled like `view_csv`: the summary, and an unlinked temporary file
    /// holding the rows as JSON arrays separated by commas (the inside of `"rows": [...]`).
    pub async fn view_json(
        &self,
        actor: &Actor,
        database: &DatabaseName,
        alias: &str,
        given: &BTreeMap<String, String>,
    ) -> Result<(crate::exec::ViewSummary, std::fs::File), OpError> {
        let mut first = true;
        self.spool(actor, database, alias, given, &mut |row, out| {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
            out.push_str(&json!(row).to_string());
        })
        .await
    }

    /// Runs a view, writing each row as `line` renders it to an unlinked temporary file, rewound.
    async fn spool(
        &self,
        actor: &Actor,
        database: &DatabaseName,
        alias: &str,
        given: &BTreeMap<String, String>,
        line: &mut (dyn FnMut(Vec<Option<String>>, &mut String) + Send),
    ) -> Result<(crate::exec::ViewSummary, std::fs::File), OpError> {
        use std::io::{Seek, Write};
        use std::os::unix::fs::OpenOptionsExt;
        static SPOOLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "postgram-{}-{}.csv",
            std::process::id(),
            SPOOLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        // Readable by this user only from its first byte; unlinked at once, so gone with its handle.
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        let mut writer = std::io::BufWriter::new(file.try_clone()?);
        let mut failed: Option<std::io::Error> = None;
        let mut text = String::new();
        let summary = self
            .stream_view(actor, database, alias, given, None, &mut |row| {
                text.clear();
                line(row, &mut text);
                if failed.is_none()
                    && let Err(e) = writer.write_all(text.as_bytes())
                {
                    failed = Some(e);
                }
            })
            .await?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        writer.flush()?;
        drop(writer);
        file.rewind()?;
        Ok((summary, file))
    }
}

/// One CSV line, fields quoted when they need to be (RFC 4180); NULL is an empty field.
pub fn csv_line(fields: impl Iterator<Item = Option<String>>) -> String {
    let mut line = String::new();
    for (i, field) in fields.enumerate() {
        if i > 0 {
            line.push(',');
        }
        let field = field.unwrap_or_default();
        if field.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&field);
        }
    }
    line.push_str("\r\n");
    line
}
