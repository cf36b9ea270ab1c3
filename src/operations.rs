//! Running views and actions for people: finds the item and the database, parses the arguments, plans
//! the SQL, runs it through `exec`, keeps one run per (database, action) at a time with a way to cancel
//! it, and audits every run (secrets masked). The one entry point for both the bot and REST; the
//! caller has already asked `access` whether the person may. Actions run as tasks of their own
//! (`runs`), which outlive whoever started them.

mod runs;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access::Actor;
use crate::catalog::{self, Action, ArgError, Catalog, View, plan};
use crate::domain::DatabaseName;
use crate::exec::{ActionReport, ExecError, Outcome, Progress, Table, Targets};
use crate::store::{RunStart, Store, StoreError};

pub use runs::{RunHandle, RunId, RunInfo, RunState};

/// Why a run did not happen or failed; every variant may be shown to the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("no view named {0:?}")]
    UnknownView(String),
    #[error("no action named {0:?}")]
    UnknownAction(String),
    #[error("no database named {0:?}")]
    UnknownDatabase(String),
    #[error("{item} does not run on {database}")]
    NotServed { item: String, database: String },
    #[error("{0}")]
    Argument(ArgError),
    #[error("at most {0} views at a time per caller: wait for one to finish")]
    TooManyViews(usize),
    #[error("{action} is already running on {database}")]
    Busy { action: String, database: String },
    #[error("{database}: {error}")]
    Exec { database: String, error: ExecError },
    /// Writing the CSV spool failed (disk full, say): internal, not the person's fault.
    #[error("spooling the CSV failed: {0}")]
    Spool(#[from] std::io::Error),
    /// The run could not be audited, so it did not start: internal.
    #[error("writing the audit log failed: {0}")]
    Audit(#[from] StoreError),
}

/// `None` when the item does not exist; an error when it exists but not for this database.
fn served<'a, T>(
    item: Option<&'a T>,
    serves: bool,
    alias: &str,
    database: &DatabaseName,
) -> Option<Result<&'a T, OpError>> {
    let item = item?;
    Some(if serves {
        Ok(item)
    } else {
        Err(OpError::NotServed {
            item: alias.to_owned(),
            database: database.to_string(),
        })
    })
}

/// Views one caller may have running at once: half of a database's view connections, so no one
/// caller can hold them all.
const VIEWS_PER_CALLER: usize = 2;

pub struct Operations {
    catalog: Arc<Catalog>,
    targets: Targets,
    store: Store,
    runs: runs::Runs,
    /// Views running, per caller.
    viewing: Arc<Mutex<HashMap<String, usize>>>,
}

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
    /// Runs are spawned on `tracker`; `stop` cancels them all (as `stop_runs` does).
    pub fn new(
        catalog: Arc<Catalog>,
        targets: Targets,
        store: Store,
        tracker: TaskTracker,
        stop: CancellationToken,
    ) -> Self {
        Self {
            catalog,
            targets,
            store,
            runs: runs::Runs::new(tracker, stop),
            viewing: Arc::default(),
        }
    }

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

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn view(&self, alias: &str, database: &DatabaseName) -> Result<&View, OpError> {
        let view = self.catalog.view(alias);
        served(
            view,
            view.is_some_and(|v| v.serves(database)),
            alias,
            database,
        )
        .ok_or_else(|| OpError::UnknownView(alias.to_owned()))?
    }

    pub fn action(&self, alias: &str, database: &DatabaseName) -> Result<&Action, OpError> {
        let action = self.catalog.action(alias);
        served(
            action,
            action.is_some_and(|a| a.serves(database)),
            alias,
            database,
        )
        .ok_or_else(|| OpError::UnknownAction(alias.to_owned()))?
    }

    /// The database by name, for `choices_sql` and the like.
    pub fn target_of(&self, database: &str) -> Option<crate::exec::Target> {
        DatabaseName::parse(database)
            .ok()
            .and_then(|name| self.targets.get(&name))
    }

    fn target(&self, database: &DatabaseName) -> Result<crate::exec::Target, OpError> {
        self.targets
            .get(database)
            .ok_or_else(|| OpError::UnknownDatabase(database.to_string()))
    }

    fn planned(database: &DatabaseName, e: plan::PlanError) -> OpError {
        match e {
            plan::PlanError::Argument { name, message } => {
                OpError::Argument(ArgError { name, message })
            }
            plan::PlanError::Exec(error) => OpError::Exec {
                database: database.to_string(),
                error,
            },
        }
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        database: &DatabaseName,
        detail: serde_json::Value,
    ) {
        let mut detail = detail;
        detail["via"] = json!(actor.via.as_str());
        if let Err(e) = self
            .store
            .audit(actor, action, Some(database.as_str()), &detail, Utc::now())
            .await
        {
            tracing::error!(error = %e, "writing the audit log failed");
        }
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
        let (query, mut options) = plan::view_query(view, &target, &values)
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

    /// Starts an action (one run per database and action at a time): checks and plans it, writes its
    /// audit row, then runs it in a task of its own that neither the caller going away nor anything
    /// but `cancel`, `cancel_run` or `stop_runs` stops. `progress` hears of each step.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_action(
        &self,
        actor: &Actor,
        database: &DatabaseName,
        alias: &str,
        given: &BTreeMap<String, String>,
        progress: Arc<dyn Fn(Progress) + Send + Sync>,
    ) -> Result<RunHandle, OpError> {
        let action = self.action(alias, database)?;
        let values = catalog::parse_all(&action.arguments, given).map_err(OpError::Argument)?;
        let target = self.target(database)?;
        let reservation = self
            .runs
            .reserve(database, alias)
            .ok_or_else(|| OpError::Busy {
                action: alias.to_owned(),
                database: database.to_string(),
            })?;
        let plan = plan::action_plan(action, &target, &values)
            .await
            .map_err(|e| Self::planned(database, e))?;
        let mut detail = json!({
            "action": alias,
            "arguments": catalog::shown(&values),
            "via": actor.via.as_str(),
            "outcome": "running",
        });
        let start = RunStart {
            actor,
            action: "action",
            database: database.as_str(),
            detail: &detail,
        };
        let id = self.store.start_run(&start, Utc::now()).await?;
        let store = self.store.clone();
        let handle = self.runs.spawn(id, reservation, move |cancel| async move {
            let mut report = target.run_action(&plan, &*progress, cancel).await;
            mask_secrets(&mut report, &values);
            detail["outcome"] = json!(match &report.outcome {
                Outcome::Succeeded => "succeeded".to_owned(),
                Outcome::Failed { step, error } => format!("failed at step {step}: {error}"),
                Outcome::Cancelled { step } => format!("cancelled at step {step}"),
                Outcome::TimedOut { step } => format!("timed out at step {step}"),
            });
            detail["duration_ms"] = json!(report.duration.as_millis() as u64);
            let outcome = runs::outcome_name(&report.outcome);
            if let Err(e) = store.finish_run(id, outcome, &detail, Utc::now()).await {
                tracing::error!(error = %e, run = id, "completing a run's audit row failed");
            }
            Arc::new(report)
        });
        Ok(handle)
    }

    /// A run of this process, by id.
    pub fn run(&self, id: RunId) -> Option<RunInfo> {
        self.runs.info(id)
    }

    /// Cancels run `id`; `false` if it is not under way.
    pub fn cancel_run(&self, id: RunId) -> bool {
        self.runs.cancel(id)
    }

    /// Cancels the running action; `false` if none runs.
    pub fn cancel(&self, database: &DatabaseName, alias: &str) -> bool {
        self.runs.cancel_action(database, alias)
    }

    /// Spawns work that follows a run (a chat's progress and summary) on the runs' tracker, so shutdown
    /// waits for it too.
    pub fn follow(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.runs.follow(task);
    }

    /// Shutdown: cancels every run and waits at most `limit` for them to end, audited as cancelled.
    pub async fn stop_runs(&self, limit: Duration) {
        let left = self.runs.stop(limit).await;
        if left > 0 {
            tracing::warn!(runs = left, "runs still stopping at shutdown");
        }
    }
}

/// Replaces every secret value in a report (step output, returned rows, errors) with the mask: a
/// command may echo its environment, and PostgreSQL may quote a statement back.
fn mask_secrets(report: &mut ActionReport, values: &BTreeMap<String, catalog::ArgValue>) {
    let secrets = secret_values(values);
    if secrets.is_empty() {
        return;
    }
    let mask = |text: &mut String| mask_text(text, &secrets);
    for step in &mut report.steps {
        mask(&mut step.stdout_tail);
        mask(&mut step.stderr_tail);
        if let Some(table) = &mut step.table {
            for cell in table.rows.iter_mut().flatten().flatten() {
                mask(cell);
            }
        }
    }
    if let Outcome::Failed { error, .. } = &mut report.outcome {
        mask(error);
    }
}

/// The values of the secret arguments, as they are sent.
fn secret_values(values: &BTreeMap<String, catalog::ArgValue>) -> Vec<String> {
    values
        .values()
        .filter(|v| v.is_secret())
        .map(catalog::ArgValue::for_shell)
        .filter(|s| !s.is_empty())
        .collect()
}

fn mask_text(text: &mut String, secrets: &[String]) {
    for secret in secrets {
        if text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), catalog::MASK);
        }
    }
}

/// The error with every secret value in its text masked.
fn mask_error(error: ExecError, secrets: &[String]) -> ExecError {
    match error {
        ExecError::Sql { mut message } => {
            mask_text(&mut message, secrets);
            ExecError::Sql { message }
        }
        ExecError::Invalid(mut message) => {
            mask_text(&mut message, secrets);
            ExecError::Invalid(message)
        }
        other => other,
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
