//! The administered databases: lazily-connected pools for views and for planning, connections of their
//! own for actions, the small catalogue queries (server version, resolving names), the `PG*` variables
//! for shell steps, and how errors are reported. A database that could not be reached is not tried
//! again for a short while: callers meanwhile get the same answer at once, and then one probe speaks for
//! everyone waiting: connecting and remembering whether the server answered is `connect`.

mod connect;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgPool, PgPoolOptions, PgSslMode};

use super::ExecError;
use crate::config::DatabaseConfig;
use crate::domain::DatabaseName;
use connect::Reach;

/// Pooled connections per database for views (and `choices_sql`).
const VIEW_CONNECTIONS: u32 = 4;
/// Pooled connections per database for the small catalogue queries that plan a run, so a burst of
/// slow views cannot hold up an action (actions themselves and cancels connect on their own).
const QUICK_CONNECTIONS: u32 = 2;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// For the small catalogue queries (server version, resolving names), which have no timeout of their own.
pub(super) const QUICK_TIMEOUT: Duration = Duration::from_secs(10);

/// The administered databases, by name.
#[derive(Clone, Default)]
pub struct Targets {
    targets: BTreeMap<DatabaseName, Target>,
}

impl fmt::Debug for Targets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.targets.keys()).finish()
    }
}

impl Targets {
    /// Two lazily-connected pools per database, for views (4 connections) and for planning runs (2);
    /// connecting and acquiring time out after 3 s, so a dead server answers within seconds. Needs a
    /// Tokio runtime.
    pub fn new(databases: &[DatabaseConfig]) -> Result<Targets, ExecError> {
        let mut targets = BTreeMap::new();
        for db in databases {
            targets.insert(db.name.clone(), Target::new(db)?);
        }
        Ok(Targets { targets })
    }

    /// The targets of a reloaded config: a database whose DSN and reconnect delay did not change
    /// keeps its target (pools, known version, reachability); the others get new ones. Also returns
    /// the targets left behind (removed, or replaced), whose pools the caller closes. A DSN that is
    /// not valid refuses the whole, as at start.
    pub fn rebuild(
        &self,
        databases: &[DatabaseConfig],
    ) -> Result<(Targets, Vec<Target>), ExecError> {
        let mut targets = BTreeMap::new();
        for db in databases {
            let kept = self.targets.get(&db.name).filter(|old| {
                old.inner.dsn == db.dsn.expose() && old.inner.reconnect_after == db.reconnect_after
            });
            let target = match kept {
                Some(old) => old.clone(),
                None => Target::new(db)?,
            };
            targets.insert(db.name.clone(), target);
        }
        let retired = self
            .targets
            .iter()
            .filter(|(name, old)| {
                targets
                    .get(*name)
                    .is_none_or(|new| !Arc::ptr_eq(&new.inner, &old.inner))
            })
            .map(|(_, old)| old.clone())
            .collect();
        Ok((Targets { targets }, retired))
    }

    /// The database of that name, if configured.
    pub fn get(&self, name: &DatabaseName) -> Option<Target> {
        self.targets.get(name).cloned()
    }
}

/// One administered database: its pool and what is known about its server.
#[derive(Clone)]
pub struct Target {
    inner: Arc<Inner>,
}

struct Inner {
    name: DatabaseName,
    /// For views.
    pool: PgPool,
    /// For the small catalogue queries.
    quick: PgPool,
    options: PgConnectOptions,
    /// As configured, to tell whether a reload changed it; never printed.
    dsn: String,
    /// From the DSN, for `PGPASSWORD` and for scrubbing messages.
    password: Option<String>,
    major: tokio::sync::OnceCell<u32>,
    reach: Mutex<Reach>,
    /// Held by the one caller connecting to a server not known to answer; the others wait for its result.
    probe: tokio::sync::Mutex<()>,
    reconnect_after: Duration,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Target {
    fn new(db: &DatabaseConfig) -> Result<Target, ExecError> {
        let dsn = db.dsn.expose();
        let invalid = || {
            ExecError::Invalid(format!(
                "database {}: the DSN is not a valid postgres:// URL",
                db.name
            ))
        };
        let options = PgConnectOptions::from_str(dsn)
            .map_err(|_| invalid())?
            .application_name("postgram")
            // Statements are the catalogue's and audited by the caller; sqlx's slow-statement warnings
            // would only repeat every deliberate VACUUM.
            .disable_statement_logging();
        let url = reqwest::Url::parse(dsn).map_err(|_| invalid())?;
        let password = url.password().map(percent_decode);
        let pool = |size| {
            PgPoolOptions::new()
                .max_connections(size)
                .min_connections(0)
                .acquire_timeout(CONNECT_TIMEOUT)
                .idle_timeout(Some(Duration::from_secs(300)))
                .connect_lazy_with(options.clone())
        };
        let (quick, pool) = (pool(QUICK_CONNECTIONS), pool(VIEW_CONNECTIONS));
        Ok(Target {
            inner: Arc::new(Inner {
                name: db.name.clone(),
                pool,
                quick,
                options,
                dsn: dsn.to_owned(),
                password,
                major: tokio::sync::OnceCell::new(),
                reach: Mutex::new(Reach::Unknown),
                probe: tokio::sync::Mutex::new(()),
                reconnect_after: db.reconnect_after,
            }),
        })
    }

    /// The database's name in the config.
    pub fn name(&self) -> &DatabaseName {
        &self.inner.name
    }

    /// Closes the pools: waits for the connections in use to come back, then closes every one
    /// (an action's own connection is not the pools'; it ends with its run).
    pub async fn close_pools(&self) {
        self.inner.pool.close().await;
        self.inner.quick.close().await;
    }

    /// The server's major version (`server_version_num / 10000`), asked once.
    pub async fn server_major(&self) -> Result<u32, ExecError> {
        let major = self
            .inner
            .major
            .get_or_try_init(|| async {
                let mut conn = self.acquire_quick().await?;
                let query = sqlx::query_scalar::<_, i32>(
                    "SELECT current_setting('server_version_num')::int4",
                )
                .persistent(false);
                let answer = tokio::time::timeout(QUICK_TIMEOUT, query.fetch_one(&mut *conn)).await;

                let num = self.settle(&mut conn, answer)?;
                Ok::<u32, ExecError>(u32::try_from(num / 10000).unwrap_or(0))
            })
            .await?;
        Ok(*major)
    }

    /// The relation `name` (SQL syntax: quoted, schema-qualified when needed) as `to_regclass` prints it,
    /// or `None` when there is no such relation or the name is not valid.
    pub async fn resolve_relation(&self, name: &str) -> Result<Option<String>, ExecError> {
        let mut conn = self.acquire_quick().await?;
        let query = sqlx::query_scalar::<_, Option<String>>("SELECT to_regclass($1)::text")
            .bind(name)
            .persistent(false);
        let answer = tokio::time::timeout(QUICK_TIMEOUT, query.fetch_one(&mut *conn)).await;

        match self.settle(&mut conn, answer) {
            Err(ExecError::Sql { message })
                if message.contains("SQLSTATE 42602") || message.contains("SQLSTATE 42601") =>
            {
                Ok(None)
            }
            other => other,
        }
    }

    /// The role `name` (exactly as named, or double-quoted), quoted with `quote_ident`; `None` when no
    /// such role exists.
    pub async fn resolve_role(&self, name: &str) -> Result<Option<String>, ExecError> {
        let exact = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            Some(quoted) if !quoted.is_empty() => quoted.replace("\"\"", "\""),
            _ => name.to_owned(),
        };
        let mut conn = self.acquire_quick().await?;
        let query = sqlx::query_scalar::<_, String>(
            "SELECT quote_ident(rolname) FROM pg_catalog.pg_roles WHERE rolname = $1",
        )
        .bind(exact)
        .persistent(false);
        let answer = tokio::time::timeout(QUICK_TIMEOUT, query.fetch_optional(&mut *conn)).await;

        self.settle(&mut conn, answer)
    }

    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE` and, when the DSN has one, `PGPASSWORD` (and `PGSSLMODE`
    /// when the DSN sets `sslmode`), so that `psql` and `pg_dump` in shell steps reach this database.
    pub fn shell_env(&self) -> Vec<(String, String)> {
        let options = &self.inner.options;
        let host = match options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => options.get_host().to_owned(),
        };
        let user = options.get_username().to_owned();
        let database = options.get_database().unwrap_or(&user).to_owned();
        let mut env = vec![
            ("PGHOST".to_owned(), host),
            ("PGPORT".to_owned(), options.get_port().to_string()),
            ("PGUSER".to_owned(), user),
            ("PGDATABASE".to_owned(), database),
        ];
        if let Some(password) = &self.inner.password {
            env.push(("PGPASSWORD".to_owned(), password.clone()));
        }
        let sslmode = match options.get_ssl_mode() {
            PgSslMode::Disable => Some("disable"),
            PgSslMode::Allow => Some("allow"),
            PgSslMode::Prefer => None,
            PgSslMode::Require => Some("require"),
            PgSslMode::VerifyCa => Some("verify-ca"),
            PgSslMode::VerifyFull => Some("verify-full"),
        };
        if let Some(mode) = sslmode {
            env.push(("PGSSLMODE".to_owned(), mode.to_owned()));
        }
        env
    }

    /// The result of a small catalogue query run under `QUICK_TIMEOUT`; a connection that did not answer
    /// in time is closed rather than returned to the pool.
    pub(super) fn settle<T>(
        &self,
        conn: &mut PoolConnection<Postgres>,
        result: Result<Result<T, sqlx::Error>, tokio::time::error::Elapsed>,
    ) -> Result<T, ExecError> {
        match result {
            Ok(result) => result.map_err(|e| self.error(e)),
            Err(_) => {
                conn.close_on_drop();
                Err(ExecError::TimedOut)
            }
        }
    }

    /// Asks the server to cancel what backend `pid` is running, from a connection of its own.
    pub(super) async fn cancel_backend(&self, pid: i32) {
        let mut conn = match self.connect().await {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(database = %self.inner.name, error = %err, "could not cancel a backend");
                return;
            }
        };
        let query = sqlx::query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .persistent(false);
        match tokio::time::timeout(QUICK_TIMEOUT, query.execute(&mut conn)).await {
            Ok(Ok(_)) => {
                let _ = tokio::time::timeout(QUICK_TIMEOUT, sqlx::Connection::close(conn)).await;
            }
            Ok(Err(err)) => {
                let err = self.error(err);
                tracing::warn!(database = %self.inner.name, error = %err, "could not cancel a backend");
            }
            Err(_) => {
                tracing::warn!(database = %self.inner.name, "cancelling a backend timed out");
            }
        }
    }

    /// Maps an error of a statement: PostgreSQL's own errors become `Sql` (or `TimedOut` for a statement
    /// timeout), lost connections `Unreachable`.
    pub(super) fn error(&self, err: sqlx::Error) -> ExecError {
        match err {
            sqlx::Error::Database(db) => match db.try_downcast_ref::<PgDatabaseError>() {
                Some(pg) if pg.code() == "57014" && pg.message().contains("statement timeout") => {
                    ExecError::TimedOut
                }
                Some(pg) => {
                    let mut message = pg.message().to_owned();
                    if let Some(detail) = pg.detail() {
                        message.push_str(&format!("\nDETAIL: {detail}"));
                    }
                    if let Some(hint) = pg.hint() {
                        message.push_str(&format!("\nHINT: {hint}"));
                    }
                    message.push_str(&format!("\n(SQLSTATE {})", pg.code()));
                    ExecError::Sql { message }
                }
                None => ExecError::Sql {
                    message: db.message().to_owned(),
                },
            },
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => ExecError::Unreachable(self.scrub(&format!(
                "lost the connection to database {}: {err}",
                self.inner.name
            ))),
            sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => {
                ExecError::Invalid(format!("could not read a row: {err}"))
            }
            other => ExecError::Sql {
                message: self.scrub(&other.to_string()),
            },
        }
    }

    /// Removes the password from a message that might quote connection details.
    fn scrub(&self, message: &str) -> String {
        match &self.inner.password {
            Some(password) if !password.is_empty() => message.replace(password.as_str(), "••••••"),
            _ => message.to_owned(),
        }
    }
}

/// The user info of a URL is percent-encoded; `PGPASSWORD` wants the password itself.
fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `SET statement_timeout` wants milliseconds; 0 would mean no limit.
pub(super) fn millis(timeout: Duration) -> u64 {
    u64::try_from(timeout.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, i32::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_plain_text_and_decodes_escapes() {
        assert_eq!(percent_decode("p%40ss%2Fw%3Ard"), "p@ss/w:rd");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn millis_never_disables_the_timeout() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), i32::MAX as u64);
    }
}
