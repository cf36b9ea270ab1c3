//! Actions: SQL and shell steps in order, stopping at the first failure. Consecutive transactional SQL
//! steps share one transaction on one connection; it is committed after the last of them, or before a
//! non-transactional, `split` or shell step, and rolled back when the action stops early.
//!
//! A running SQL step is stopped with `pg_cancel_backend` on the step's backend, sent from a connection
//! of its own; the server's `statement_timeout` (the time left) stops it first on a timeout.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::rows::{self, Mode};
use super::shell::{self, Ended};
use super::target::millis;
use super::{
    ActionPlan, ActionReport, ExecError, Outcome, Progress, Query, StepFailure, StepKind, StepPlan,
    StepReport, Table, Target,
};

/// Rows of a SQL step kept in its report.
const REPORT_ROWS: usize = 100;
/// How long after its deadline a statement may run before the client cancels it itself (the server's
/// `statement_timeout` should have fired).
const BACKSTOP: Duration = Duration::from_secs(2);
/// How long a cancelled statement may take to stop before its connection is abandoned.
const CANCEL_GRACE: Duration = Duration::from_secs(5);
/// Time always granted to the final `COMMIT` and the closing `ROLLBACK`.
const END_TIME: Duration = Duration::from_secs(10);

/// The connection an action's SQL steps run on: its own, never from or back to the pool (its session
/// settings and any open transaction are the action's). Closed at the end; if the run is dropped
/// mid-step, dropping it closes the socket and the server rolls back what was open.
struct Session {
    conn: PgConnection,
    pid: i32,
    in_transaction: bool,
    /// False once a statement was abandoned mid-way: the connection's state is unknown.
    healthy: bool,
}

/// Why a step stopped the action.
enum Stop {
    Failed(StepFailure),
    Cancelled,
    TimedOut,
}

impl From<ExecError> for Stop {
    fn from(err: ExecError) -> Stop {
        match err {
            ExecError::Cancelled => Stop::Cancelled,
            ExecError::TimedOut => Stop::TimedOut,
            ExecError::Shell(reason) => Stop::Failed(StepFailure::ShellStart(reason)),
            other => Stop::Failed(StepFailure::Message(other.to_string())),
        }
    }
}

impl Stop {
    fn outcome(self, step: usize) -> Outcome {
        match self {
            Stop::Failed(error) => Outcome::Failed { step, error },
            Stop::Cancelled => Outcome::Cancelled { step },
            Stop::TimedOut => Outcome::TimedOut { step },
        }
    }
}

impl Target {
    /// Runs an action's steps in order. `progress` is called as each step starts; `cancel` stops the
    /// running step within seconds (`pg_cancel_backend`, or killing the shell's process group). One run
    /// at a time per (database, action) is the caller's to enforce.
    pub async fn run_action(
        &self,
        plan: &ActionPlan,
        progress: &(dyn Fn(Progress) + Send + Sync),
        cancel: CancellationToken,
    ) -> ActionReport {
        let started = Instant::now();
        let deadline = started + plan.timeout;
        let mut session: Option<Session> = None;
        let mut steps = Vec::with_capacity(plan.steps.len());
        let mut outcome = Outcome::Succeeded;
        for (index, step) in plan.steps.iter().enumerate() {
            let number = index + 1;
            let step_started = Instant::now();
            if cancel.is_cancelled() {
                outcome = Outcome::Cancelled { step: number };
                break;
            }
            if step_started >= deadline {
                outcome = Outcome::TimedOut { step: number };
                break;
            }
            progress(Progress {
                step: number,
                of: plan.steps.len(),
                name: step.name.clone(),
            });
            let step_deadline = step
                .timeout
                .map_or(deadline, |limit| deadline.min(step_started + limit));
            let mut report = StepReport {
                name: step.name.clone(),
                ..StepReport::default()
            };
            let traced = tracing::trace_span!(
                "step",
                otel.name = %step.name,
                step = number,
                otel.status_code = tracing::field::Empty,
            );
            let result = self
                .run_step(&mut session, step, &cancel, step_deadline, &mut report)
                .instrument(traced.clone())
                .await;
            if result.is_err() {
                traced.record("otel.status_code", "error");
            }
            report.duration = step_started.elapsed();
            steps.push(report);
            if let Err(stop) = result {
                outcome = stop.outcome(number);
                break;
            }
        }
        if let Some(open) = session.as_mut().filter(|s| s.in_transaction)
            && outcome == Outcome::Succeeded
        {
            let at = Step {
                cancel: &cancel,
                deadline: deadline.max(Instant::now() + END_TIME),
            };
            if let Err(stop) = self.end_transaction(open, at).await {
                outcome = stop.outcome(steps.len());
            }
        }
        if let Some(session) = session {
            self.close(session).await;
        }
        ActionReport {
            steps,
            outcome,
            duration: started.elapsed(),
        }
    }

    /// Runs one step until `deadline`, recording what it did in `report`; `Err` stops the action.
    async fn run_step(
        &self,
        session: &mut Option<Session>,
        step: &StepPlan,
        cancel: &CancellationToken,
        deadline: Instant,
        report: &mut StepReport,
    ) -> Result<(), Stop> {
        match &step.kind {
            StepKind::Sql {
                query,
                transaction,
                split,
            } => {
                let at = Step { cancel, deadline };
                self.sql_step(session, query, *transaction, *split, at, report)
                    .await
            }
            StepKind::Shell { command, env } => {
                self.shell_step(session, command, env, cancel, deadline, report)
                    .await
            }
        }
    }

    async fn sql_step(
        &self,
        session: &mut Option<Session>,
        query: &Query,
        transaction: bool,
        split: bool,
        at: Step<'_>,
        report: &mut StepReport,
    ) -> Result<(), Stop> {
        if let Some(open) = session.as_mut().filter(|s| s.in_transaction)
            && (!transaction || split)
        {
            self.end_transaction(open, at).await?;
        }
        let s = match session {
            Some(s) => s,
            None => session.insert(self.open_session().await?),
        };
        let timeout = millis(at.deadline.saturating_duration_since(Instant::now()));
        let begin = if transaction && !s.in_transaction {
            "BEGIN; "
        } else {
            ""
        };
        let prelude = format!("{begin}SET statement_timeout = {timeout}");
        let Session {
            conn, pid, healthy, ..
        } = s;
        let work = async {
            conn.execute(sqlx::raw_sql(&prelude))
                .await
                .map_err(|e| self.error(e))
        };
        self.watch(*pid, healthy, work, at).await?;
        s.in_transaction |= transaction;

        let Session {
            conn, pid, healthy, ..
        } = s;
        let mut rows = Vec::new();
        let mut keep = |row| rows.push(row);
        let work = rows::run(self, conn, query, Mode::Action, REPORT_ROWS, &mut keep);
        let fetched = self.watch(*pid, healthy, work, at).await?;
        report.rows_affected = fetched.affected;
        if !fetched.columns.is_empty() {
            report.table = Some(Table {
                columns: fetched.columns,
                rows,
                truncated: fetched.truncated,
            });
        }
        Ok(())
    }

    async fn shell_step(
        &self,
        session: &mut Option<Session>,
        command: &str,
        env: &[(String, String)],
        cancel: &CancellationToken,
        deadline: Instant,
        report: &mut StepReport,
    ) -> Result<(), Stop> {
        if let Some(open) = session.as_mut().filter(|s| s.in_transaction) {
            self.end_transaction(open, Step { cancel, deadline })
                .await?;
        }
        let mut env = env.to_vec();
        env.extend(self.shell_env());
        let run = shell::run(command, &env, cancel, deadline).await?;
        report.stdout_tail = run.stdout_tail;
        report.stderr_tail = run.stderr_tail;
        match run.ended {
            Ended::Exited(status) => {
                report.exit_code = status.code();
                match (status.code(), status.signal()) {
                    (Some(0), _) => Ok(()),
                    (Some(code), _) => Err(Stop::Failed(StepFailure::Exited(code))),
                    (None, Some(signal)) => Err(Stop::Failed(StepFailure::Killed(signal))),
                    (None, None) => Err(Stop::Failed(StepFailure::Abnormal)),
                }
            }
            Ended::Cancelled => Err(Stop::Cancelled),
            Ended::TimedOut => Err(Stop::TimedOut),
        }
    }

    async fn open_session(&self) -> Result<Session, ExecError> {
        let mut conn = self.connect().await?;
        let query = sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()").persistent(false);
        let pid =
            match tokio::time::timeout(super::target::QUICK_TIMEOUT, query.fetch_one(&mut conn))
                .await
            {
                Ok(answer) => answer.map_err(|e| self.error(e))?,
                Err(_) => return Err(ExecError::TimedOut),
            };
        Ok(Session {
            conn,
            pid,
            in_transaction: false,
            healthy: true,
        })
    }

    async fn end_transaction(&self, s: &mut Session, at: Step<'_>) -> Result<(), Stop> {
        let Session {
            conn, pid, healthy, ..
        } = s;
        let work = async { conn.execute("COMMIT").await.map_err(|e| self.error(e)) };
        self.watch(*pid, healthy, work, at).await?;
        s.in_transaction = false;
        Ok(())
    }

    /// Rolls back what is still open and closes the connection.
    async fn close(&self, mut s: Session) {
        if s.healthy && s.in_transaction {
            let rollback = tokio::time::timeout(END_TIME, s.conn.execute("ROLLBACK")).await;
            s.healthy = matches!(rollback, Ok(Ok(_)));
        }
        // Otherwise dropping the connection closes the socket, which ends the session and rolls back
        // whatever it left open.
        if s.healthy {
            let _ = tokio::time::timeout(END_TIME, s.conn.close()).await;
        }
    }

    /// Awaits `work` on the backend `pid`; on cancel, or when the server let the deadline pass, asks the
    /// server to cancel it and reports `Cancelled` or `TimedOut`. If the backend does not stop either, the
    /// connection is given up (`healthy` false).
    async fn watch<T>(
        &self,
        pid: i32,
        healthy: &mut bool,
        work: impl Future<Output = Result<T, ExecError>>,
        at: Step<'_>,
    ) -> Result<T, ExecError> {
        tokio::pin!(work);
        let mut stopping: Option<ExecError> = None;
        let mut give_up = at.deadline + BACKSTOP;
        loop {
            tokio::select! {
                result = &mut work => return match stopping {
                    Some(reason) => Err(reason),
                    None => result,
                },
                () = at.cancel.cancelled(), if stopping.is_none() => {
                    stopping = Some(ExecError::Cancelled);
                    self.cancel_backend(pid).await;
                    give_up = Instant::now() + CANCEL_GRACE;
                }
                () = tokio::time::sleep_until(give_up) => {
                    if let Some(reason) = stopping.take() {
                        *healthy = false;
                        return Err(reason);
                    }
                    stopping = Some(ExecError::TimedOut);
                    self.cancel_backend(pid).await;
                    give_up = Instant::now() + CANCEL_GRACE;
                }
            }
        }
    }
}

/// What a statement answers to: the action's cancel and the step's deadline.
#[derive(Clone, Copy)]
struct Step<'a> {
    cancel: &'a CancellationToken,
    deadline: Instant,
}
