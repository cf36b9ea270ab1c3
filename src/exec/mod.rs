//! Owns the connections to the administered databases and runs views and actions on them. It calls
//! nothing else in the crate but the domain and config types: the catalogue layer hands it plain plans
//! (SQL already using `$1..$n`, typed values, identifiers already resolved and quoted).
//!
//! - [`view`](Target::view) runs read-only SQL in a `READ ONLY` transaction and streams rows as text;
//! - [`run_action`](Target::run_action) runs SQL and shell steps in order, cancellable;
//! - every value of any PostgreSQL type comes back as text (see `rows`).
//!
//! Neither the DSN nor its password is ever logged or returned: errors name the database.

mod action;
mod rows;
mod shell;
mod target;
mod view;

use std::time::Duration;

pub use target::{Target, Targets};
pub use tokio_util::sync::CancellationToken;

/// A bound parameter; the n-th value binds `$n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A NULL of type `text`.
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
}

/// One SQL statement and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub sql: String,
    pub params: Vec<Value>,
}

/// Why running something on an administered database failed. Every message is safe to show to an admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// Connecting failed or timed out; the message names the database, never the DSN.
    #[error("{0}")]
    Unreachable(String),
    #[error("timed out")]
    TimedOut,
    #[error("cancelled")]
    Cancelled,
    /// PostgreSQL's error: message, detail, hint and SQLSTATE.
    #[error("{message}")]
    Sql { message: String },
    /// The shell step could not be started.
    #[error("could not start the shell step: {0}")]
    Shell(String),
    /// The SQL cannot be run as asked (e.g. duplicate column names in a view).
    #[error("{0}")]
    Invalid(String),
}

/// How a view runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewOptions {
    /// The view's `statement_timeout`.
    pub timeout: Duration,
    /// Rows passed on; more are reported as `truncated`.
    pub max_rows: usize,
}

/// What a streamed view returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSummary {
    pub columns: Vec<String>,
    /// Rows passed to `on_row`.
    pub rows: usize,
    /// More rows existed than were passed on.
    pub truncated: bool,
}

/// Rows as text (`None` is NULL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub truncated: bool,
}

/// An action, ready to run.
#[derive(Debug, Clone)]
pub struct ActionPlan {
    pub steps: Vec<StepPlan>,
    /// The whole action's time.
    pub timeout: Duration,
}

/// One step of an action.
#[derive(Debug, Clone)]
pub struct StepPlan {
    pub name: String,
    pub kind: StepKind,
    /// The step's own limit, within the action's.
    pub timeout: Option<Duration>,
}

/// What a step runs.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// `transaction`: share a transaction with the neighbouring transactional steps; `split`: commit the
    /// open transaction before this step and start a new one.
    Sql {
        query: Query,
        transaction: bool,
        split: bool,
    },
    /// `sh -c command` with `env` (the arguments as `PG_ARG_*`) and the target's `PG*` variables.
    Shell {
        command: String,
        env: Vec<(String, String)>,
    },
}

/// Reported when a step starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// 1-based.
    pub step: usize,
    pub of: usize,
    pub name: String,
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    pub name: String,
    pub rows_affected: Option<u64>,
    /// The rows a SQL step returned, the first 100.
    pub table: Option<Table>,
    pub exit_code: Option<i32>,
    /// The last ~2000 characters of a shell step's output.
    pub stdout_tail: String,
    pub stderr_tail: String,
    pub duration: Duration,
}

/// Why a step failed. `Display` is the English line REST, the audit and logs show; the bot words
/// each kind in its reader's language, and a server's own message stays as the server wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepFailure {
    /// What the database (or the connection to it) said.
    #[error("{0}")]
    Message(String),
    #[error("the command exited with code {0}")]
    Exited(i32),
    #[error("the command was killed by signal {0}")]
    Killed(i32),
    #[error("the command ended abnormally")]
    Abnormal,
    #[error("could not start the shell step: {0}")]
    ShellStart(String),
}

impl StepFailure {
    /// The text that may carry an argument's value (masked before it is kept or shown).
    pub fn text_mut(&mut self) -> Option<&mut String> {
        match self {
            StepFailure::Message(text) | StepFailure::ShellStart(text) => Some(text),
            _ => None,
        }
    }
}

/// How an action ended; `step` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed { step: usize, error: StepFailure },
    Cancelled { step: usize },
    TimedOut { step: usize },
}

/// What an action did: a report per step that started, and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionReport {
    pub steps: Vec<StepReport>,
    pub outcome: Outcome,
    pub duration: Duration,
}
