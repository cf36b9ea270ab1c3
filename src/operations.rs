//! Running views and actions for people: finds the item and the database, parses the arguments, plans
//! the SQL, runs it through `exec`, keeps one run per (database, action) at a time with a way to cancel
//! it, and audits every run (secrets masked). The one entry point for both the bot and REST; the
//! caller has already asked `access` whether the person may. Actions run as tasks of their own
//! (`runs`), which outlive whoever started them; views run in `views`; `masking` keeps secret
//! arguments out of reports, errors and audit rows.

mod masking;
mod runs;
mod views;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::access::Actor;
use crate::catalog::{self, Action, ArgError, Catalog, View, plan};
use crate::clock::Clock;
use crate::config::DatabaseConfig;
use crate::domain::DatabaseName;
use crate::exec::{ExecError, Outcome, Progress, Targets};
use crate::live::Live;
use crate::store::{RunStart, Store, StoreError};
use masking::mask_secrets;

pub use runs::{RunHandle, RunId, RunInfo, RunState};
pub use views::csv_line;

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
    /// The run could not be audited or claimed in the state store, so it did not start: internal.
    #[error("the state store failed: {0}")]
    State(#[from] StoreError),
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

/// What is offered now: the catalogue and the databases it runs on, replaced whole by a reload.
struct Offer {
    catalog: Arc<Catalog>,
    targets: Targets,
}

pub struct Operations {
    offer: Live<Offer>,
    store: Store,
    clock: Clock,
    runs: runs::Runs,
    /// Views running, per caller.
    viewing: Arc<Mutex<HashMap<String, usize>>>,
}

impl Operations {
    /// Runs are spawned on `tracker`; `stop` cancels them all (as `stop_runs` does).
    pub fn new(
        catalog: Arc<Catalog>,
        targets: Targets,
        store: Store,
        clock: Clock,
        tracker: TaskTracker,
        stop: CancellationToken,
    ) -> Self {
        Self {
            offer: Live::new(Offer { catalog, targets }),
            store,
            clock,
            runs: runs::Runs::new(tracker, stop),
            viewing: Arc::default(),
        }
    }

    /// The catalogue in force.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.offer.now().catalog)
    }

    /// Puts a reloaded catalogue and databases in force: runs going on keep what they started with,
    /// and the pools of a database removed or reconnected elsewhere close once its runs of now end.
    /// Nothing changes when a DSN cannot be used.
    pub fn reconfigure(
        &self,
        catalog: Arc<Catalog>,
        databases: &[DatabaseConfig],
    ) -> Result<(), ExecError> {
        let old = self.offer.now();
        let (targets, retired) = old.targets.rebuild(databases)?;
        self.offer.replace(Offer { catalog, targets });
        for target in retired {
            let runs = self.runs.clone();
            self.follow(async move {
                runs.ended_on(target.name()).await;
                target.close_pools().await;
            });
        }
        Ok(())
    }

    pub fn view(&self, alias: &str, database: &DatabaseName) -> Result<View, OpError> {
        let catalog = self.catalog();
        let view = catalog.view(alias);
        served(
            view,
            view.is_some_and(|v| v.serves(database)),
            alias,
            database,
        )
        .ok_or_else(|| OpError::UnknownView(alias.to_owned()))?
        .cloned()
    }

    pub fn action(&self, alias: &str, database: &DatabaseName) -> Result<Action, OpError> {
        let catalog = self.catalog();
        let action = catalog.action(alias);
        served(
            action,
            action.is_some_and(|a| a.serves(database)),
            alias,
            database,
        )
        .ok_or_else(|| OpError::UnknownAction(alias.to_owned()))?
        .cloned()
    }

    /// The database by name, for `choices_sql` and the like.
    pub fn target_of(&self, database: &str) -> Option<crate::exec::Target> {
        DatabaseName::parse(database)
            .ok()
            .and_then(|name| self.offer.now().targets.get(&name))
    }

    fn target(&self, database: &DatabaseName) -> Result<crate::exec::Target, OpError> {
        self.offer
            .now()
            .targets
            .get(database)
            .ok_or_else(|| OpError::UnknownDatabase(database.to_string()))
    }

    fn planned(database: &DatabaseName, e: plan::PlanError) -> OpError {
        match e {
            plan::PlanError::Argument(e) => OpError::Argument(e),
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
            .audit(
                actor,
                action,
                Some(database.as_str()),
                &detail,
                self.clock.now(),
            )
            .await
        {
            tracing::error!(error = %e, "writing the audit log failed");
        }
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
        let busy = || OpError::Busy {
            action: alias.to_owned(),
            database: database.to_string(),
        };
        let reservation = self.runs.reserve(database, alias).ok_or_else(busy)?;
        // Then across the replicas sharing the state store; held until the run ends.
        let claim = self
            .store
            .claim_run(database.as_str(), alias)
            .await?
            .ok_or_else(busy)?;
        let plan = plan::action_plan(&action, &target, &values)
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
        let id = self.store.start_run(&start, self.clock.now()).await?;
        let store = self.store.clone();
        let clock = self.clock.clone();
        // Each run is a trace of its own (exported only with `telemetry.otlp_endpoint`), whoever
        // started it: its steps are its children.
        let traced = tracing::trace_span!(
            parent: None,
            "action run",
            otel.name = %format_args!("action {alias}"),
            action = alias,
            database = database.as_str(),
            run = id,
            via = actor.via.as_str(),
            outcome = tracing::field::Empty,
        );
        let run = move |cancel: CancellationToken| async move {
            let _claim = claim;
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
            tracing::Span::current().record("outcome", outcome);
            if let Err(e) = store.finish_run(id, outcome, &detail, clock.now()).await {
                tracing::error!(error = %e, run = id, "completing a run's audit row failed");
            }
            Arc::new(report)
        };
        let handle = self.runs.spawn(id, reservation, move |cancel| {
            run(cancel).instrument(traced)
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
