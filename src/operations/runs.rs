//! Runs of actions as tasks of their own on the service's tracker, independent of the request or chat
//! update that started them: a caller that goes away does not stop a run, shutdown cancels every run
//! and waits for it, and each run's audit row is written before it starts and completed when it ends.
//! Runs are found by id (the audit row's) or by (database, action), of which one runs at a time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::DatabaseName;
use crate::exec::{ActionReport, Outcome};

/// A run's id: the id of its audit row.
pub type RunId = i64;

/// Ended runs kept for `GET /runs/{id}`; older ones are forgotten (their audit rows remain).
const KEPT_ENDED: usize = 1000;

/// Where a run is.
#[derive(Debug, Clone)]
pub enum RunState {
    Running,
    /// The report, secrets masked.
    Ended(Arc<ActionReport>),
}

impl RunState {
    /// `running`, `succeeded`, `failed`, `cancelled` or `timed_out`.
    pub fn name(&self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Ended(report) => outcome_name(&report.outcome),
        }
    }
}

pub(super) fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed { .. } => "failed",
        Outcome::Cancelled { .. } => "cancelled",
        Outcome::TimedOut { .. } => "timed_out",
    }
}

/// What is known about a run.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub id: RunId,
    pub database: DatabaseName,
    pub action: String,
    pub state: RunState,
}

/// A run that started; `finished` waits for its report.
pub struct RunHandle {
    pub id: RunId,
    state: watch::Receiver<RunState>,
}

impl RunHandle {
    /// The report once the run ends; `None` if its task died without one (it panicked).
    pub async fn finished(self) -> Option<Arc<ActionReport>> {
        ended(self.state).await
    }
}

async fn ended(mut state: watch::Receiver<RunState>) -> Option<Arc<ActionReport>> {
    let ended = state
        .wait_for(|s| matches!(s, RunState::Ended(_)))
        .await
        .ok()?;
    match &*ended {
        RunState::Ended(report) => Some(Arc::clone(report)),
        RunState::Running => None,
    }
}

struct Entry {
    database: DatabaseName,
    action: String,
    cancel: CancellationToken,
    state: watch::Receiver<RunState>,
}

#[derive(Default)]
struct Registry {
    /// The (database, action) pairs taken, with the run's cancel token (already there while the
    /// run is being planned, so a cancel then stops it before its first step) and its id once known.
    busy: HashMap<(DatabaseName, String), (CancellationToken, Option<RunId>)>,
    runs: BTreeMap<RunId, Entry>,
}

/// The runs of this process.
#[derive(Clone)]
pub(super) struct Runs {
    tracker: TaskTracker,
    /// Cancels every run (shutdown); each run's own token is a child of it.
    stop: CancellationToken,
    registry: Arc<Mutex<Registry>>,
}

/// Holds a (database, action) pair from the moment it is checked until its run ends; dropped early
/// (planning failed, the caller went away before the run started), it frees the pair.
pub(super) struct Reservation {
    registry: Arc<Mutex<Registry>>,
    key: (DatabaseName, String),
    cancel: CancellationToken,
}

impl Runs {
    /// Waits for the runs on `database` that run now to end (runs started later are not waited for).
    pub(super) async fn ended_on(&self, database: &DatabaseName) {
        let running: Vec<watch::Receiver<RunState>> = lock(&self.registry)
            .runs
            .values()
            .filter(|entry| entry.database == *database)
            .map(|entry| entry.state.clone())
            .collect();
        for state in running {
            ended(state).await;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        lock(&self.registry).busy.remove(&self.key);
    }
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|e| e.into_inner())
}

impl Runs {
    pub(super) fn new(tracker: TaskTracker, stop: CancellationToken) -> Runs {
        Runs {
            tracker,
            stop,
            registry: Arc::default(),
        }
    }

    /// Takes the (database, action) pair, or `None` when a run of it is already under way.
    pub(super) fn reserve(&self, database: &DatabaseName, action: &str) -> Option<Reservation> {
        let key = (database.clone(), action.to_owned());
        let mut registry = lock(&self.registry);
        if registry.busy.contains_key(&key) {
            return None;
        }
        let cancel = self.stop.child_token();
        registry.busy.insert(key.clone(), (cancel.clone(), None));
        Some(Reservation {
            registry: Arc::clone(&self.registry),
            key,
            cancel,
        })
    }

    /// Registers run `id` and spawns `run` (given the run's cancel token) on the tracker; the
    /// reservation is freed when it ends.
    pub(super) fn spawn<F>(
        &self,
        id: RunId,
        reservation: Reservation,
        run: impl FnOnce(CancellationToken) -> F,
    ) -> RunHandle
    where
        F: Future<Output = Arc<ActionReport>> + Send + 'static,
    {
        let cancel = reservation.cancel.clone();
        let (sender, state) = watch::channel(RunState::Running);
        {
            let mut registry = lock(&self.registry);
            registry
                .busy
                .insert(reservation.key.clone(), (cancel.clone(), Some(id)));
            registry.runs.insert(
                id,
                Entry {
                    database: reservation.key.0.clone(),
                    action: reservation.key.1.clone(),
                    cancel: cancel.clone(),
                    state: state.clone(),
                },
            );
        }
        let work = run(cancel);
        let registry = Arc::clone(&self.registry);
        self.tracker.spawn(async move {
            let report = work.await;
            sender.send_replace(RunState::Ended(report));
            drop(reservation);
            forget_old(&mut lock(&registry));
        });
        RunHandle { id, state }
    }

    pub(super) fn follow(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(task);
    }

    pub(super) fn info(&self, id: RunId) -> Option<RunInfo> {
        let registry = lock(&self.registry);
        let entry = registry.runs.get(&id)?;
        Some(RunInfo {
            id,
            database: entry.database.clone(),
            action: entry.action.clone(),
            state: entry.state.borrow().clone(),
        })
    }

    /// Cancels run `id`; `false` if no such run is under way.
    pub(super) fn cancel(&self, id: RunId) -> bool {
        let registry = lock(&self.registry);
        match registry.runs.get(&id) {
            Some(entry) if matches!(*entry.state.borrow(), RunState::Running) => {
                entry.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    /// Cancels the run of an action on a database, even while it is being planned; `false` if none.
    pub(super) fn cancel_action(&self, database: &DatabaseName, action: &str) -> bool {
        let registry = lock(&self.registry);
        match registry.busy.get(&(database.clone(), action.to_owned())) {
            Some((cancel, _)) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every run and waits, at most `limit`, for them to end (each audits itself as
    /// cancelled). Returns how many were still running when the limit passed.
    pub(super) async fn stop(&self, limit: Duration) -> usize {
        self.stop.cancel();
        let waiting: Vec<_> = lock(&self.registry)
            .runs
            .values()
            .map(|entry| entry.state.clone())
            .collect();
        let all = futures_util::future::join_all(waiting.into_iter().map(ended));
        if tokio::time::timeout(limit, all).await.is_ok() {
            return 0;
        }
        lock(&self.registry)
            .runs
            .values()
            .filter(|entry| matches!(*entry.state.borrow(), RunState::Running))
            .count()
    }
}

/// Keeps the last `KEPT_ENDED` ended runs.
fn forget_old(registry: &mut Registry) {
    let ended: Vec<RunId> = registry
        .runs
        .iter()
        .filter(|(_, entry)| matches!(*entry.state.borrow(), RunState::Ended(_)))
        .map(|(id, _)| *id)
        .collect();
    for id in ended.iter().take(ended.len().saturating_sub(KEPT_ENDED)) {
        registry.runs.remove(id);
    }
}
