//! The service's configuration: read once at start (and by `postgram check`), validated into domain types,
//! with every problem reported at once as `file:line:column: message`. Owns nothing at runtime and calls
//! nothing but the file system and the environment.

mod env;
mod lenient;
mod locate;
mod raw;
pub(crate) mod report;
mod secret;
pub mod smtp;
pub mod state_hosts;
pub mod text;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use locate::Position;
pub use report::Source;
pub use secret::Secret;
pub use state_hosts::Hosts;

use crate::domain::{ChatId, DatabaseName, EmailAddress, MemberKey, Role, TelegramUserId};
use crate::i18n::Lang;

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for messages about it).
    pub file: PathBuf,
    /// Where each of its values is written, for problems found later (links against the catalogue).
    pub source: Arc<Source>,
    pub telegram: TelegramConfig,
    pub http: HttpConfig,
    pub state: StateLocation,
    pub owners: Vec<TelegramUserId>,
    pub alertmanager: Option<AlertmanagerConfig>,
    pub smtp: Option<SmtpConfig>,
    pub escalation: EscalationConfig,
    pub catalog: CatalogFiles,
    pub databases: Vec<DatabaseConfig>,
    pub api_tokens: Vec<ApiToken>,
    /// By alertname: the views and actions offered on its messages (checked against the catalogue).
    pub links: Vec<Link>,
    /// Where charts and health cards read metrics; `None`: the bot offers neither.
    pub prometheus: Option<PrometheusConfig>,
    /// The zone of the times on charts.
    pub time_zone: chrono::FixedOffset,
    /// The language of what belongs to no database, and of each database that names none.
    pub language: Lang,
    /// Where traces are exported; `None`: no trace is made at all. Read at start only.
    pub telemetry: Option<TelemetryConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// The URL spans are posted to (OTLP/HTTP protobuf): the configured endpoint with `/v1/traces`.
    pub traces_url: String,
}

#[derive(Debug, Clone)]
pub struct PrometheusConfig {
    /// May hold basic-auth credentials: never printed.
    pub url: Secret,
    /// A query that takes longer is answered with an error instead of a chart.
    pub timeout: Duration,
    /// Extra request headers (name, value), e.g. a bearer token.
    pub headers: Vec<(String, Secret)>,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub alertname: String,
    pub views: Vec<String>,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub token: Secret,
    pub api_url: String,
    /// Receive updates by webhook at this public URL instead of long polling.
    pub webhook: Option<TelegramWebhook>,
    /// A dialogue nobody answered for this long is deleted, with the secrets typed into it.
    pub dialogue_ttl: Duration,
    /// The buttons of a message are forgotten this long after it was sent or last edited, except on
    /// the alert messages of incidents still firing.
    pub buttons_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct TelegramWebhook {
    pub url: String,
    /// Sent by Telegram in `X-Telegram-Bot-Api-Secret-Token`; anything else posting there is refused.
    pub secret: Secret,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    pub webhook_token: Secret,
}

/// Where the service keeps its own state.
#[derive(Debug, Clone)]
pub enum StateLocation {
    /// An SQLite file (absolute, or resolved against the config file's folder).
    Sqlite(PathBuf),
    /// A dedicated PostgreSQL database, for several replicas. The URL may hold a password.
    Postgres(Secret),
}

#[derive(Debug, Clone)]
pub struct AlertmanagerConfig {
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub url: Secret,
    pub from: EmailAddress,
}

#[derive(Debug, Clone)]
pub struct EscalationConfig {
    /// A firing incident nobody acknowledged for this long is emailed to the fallback recipients.
    pub ack_timeout: Duration,
    /// Telegram failing to reach any admin of a database for this long sends email instead.
    pub telegram_failure_after: Duration,
    /// Only incidents of these severities are emailed when not acknowledged; empty means all.
    pub severities: Vec<String>,
}

/// The views and actions files, resolved against the config file's folder.
#[derive(Debug, Clone, Default)]
pub struct CatalogFiles {
    pub views: Option<PathBuf>,
    pub actions: Option<PathBuf>,
    pub charts: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub name: DatabaseName,
    pub dsn: Secret,
    /// Labels an alert must carry (all of them, exactly) to be routed here.
    pub matchers: BTreeMap<String, String>,
    /// Config members: shown locked in the bot, never removed from it.
    pub admins: Vec<MemberKey>,
    pub viewers: Vec<MemberKey>,
    pub chat: Option<ChatId>,
    pub email: Vec<EmailAddress>,
    /// After a failed connection, callers are told at once that the database is unreachable for this
    /// long before one of them tries again.
    pub reconnect_after: Duration,
    /// The PromQL label selector of this database's series, braces included (`{cluster="main"}`).
    pub metrics_selector: String,
    /// The language of its group chat, its emails, and its members the bot has not met yet.
    pub language: Lang,
}

/// The default of `databases[].reconnect_after`.
pub const RECONNECT_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ApiToken {
    pub name: String,
    /// SHA-256 of the token: all the service keeps of it, whichever way it was written.
    pub sha256: [u8; 32],
    pub role: Role,
    /// `None`: every database.
    pub databases: Option<Vec<DatabaseName>>,
}

/// One problem found in a config or catalogue file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub position: Option<Position>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(Position { line, column }) => {
                write!(
                    f,
                    "{}:{line}:{column}: {}",
                    self.file.display(),
                    self.message
                )
            }
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found, in file and position order.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// A config file checked as far as it goes: what `postgram check` reports.
#[derive(Debug)]
pub struct Checked {
    /// The config built from what is valid, with defaults in place of what is not: the config itself
    /// only when there is no problem, but the catalogue files, databases and links it names can be
    /// checked either way. `None` when the file cannot be read or is not a mapping.
    pub draft: Option<Config>,
    /// In position order.
    pub problems: Vec<Problem>,
}

impl Checked {
    pub fn into_result(self) -> Result<Config, ConfigError> {
        match self.draft {
            Some(config) if self.problems.is_empty() => Ok(config),
            _ => Err(ConfigError {
                problems: self.problems,
            }),
        }
    }
}

/// The largest config or catalogue file read: the shipped catalogue is under 100 KiB.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a config or catalogue file (`what` names it in errors): only a regular file, at most
/// [`MAX_FILE_BYTES`] — a path such as `/dev/zero` or a FIFO would otherwise never end. The problem
/// has a position only when the file was read but is not text.
pub fn read_file(path: &Path, what: &str) -> Result<String, Problem> {
    use std::io::Read;
    let problem = |message: String| Problem {
        file: path.to_owned(),
        position: None,
        message,
    };
    let file =
        std::fs::File::open(path).map_err(|e| problem(format!("cannot read {what}: {e}")))?;
    let metadata = file
        .metadata()
        .map_err(|e| problem(format!("cannot read {what}: {e}")))?;
    if !metadata.is_file() {
        return Err(problem(format!(
            "cannot read {what}: it is not a regular file"
        )));
    }
    let mut bytes = Vec::new();
    // `take` as well as the size check: the file may grow while it is read.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| problem(format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(problem(format!(
            "cannot read {what}: it is larger than {} MiB",
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // The prefix is valid UTF-8 by definition; its last line ends where the bad byte is.
        let before = String::from_utf8_lossy(valid);
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        Problem {
            position: Some(Position { line, column }),
            ..problem(format!("cannot read {what}: not UTF-8 text"))
        }
    })
}

impl Config {
    /// Reads and validates the config file at `path`, substituting variables from the process
    /// environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::check(path).into_result()
    }

    /// Like [`Config::load`], keeping what could be read when there are problems.
    pub fn check(path: &Path) -> Checked {
        match read_file(path, "the config file") {
            Ok(text) => validate::validate(&text, path, &|name| std::env::var(name).ok()),
            Err(problem) => Checked {
                draft: None,
                problems: vec![problem],
            },
        }
    }

    /// Validates config `text` as if read from `path` (relative paths in it are resolved against the
    /// file's folder), looking variables up with `lookup`.
    pub fn from_text(
        text: &str,
        path: &Path,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        validate::validate(text, path, lookup).into_result()
    }

    pub fn database(&self, name: &DatabaseName) -> Option<&DatabaseConfig> {
        self.databases.iter().find(|db| &db.name == name)
    }

    /// The language of what concerns the database named `database` (its group chat, its emails):
    /// its own, else the top-level one (also for no database, or one no longer configured).
    pub fn language_of(&self, database: Option<&str>) -> Lang {
        database
            .and_then(|name| self.databases.iter().find(|db| db.name.as_str() == name))
            .map_or(self.language, |db| db.language)
    }

    /// The keys a running service cannot take from a reload, by name, that differ in `new`: the port
    /// is bound, the state store open, the bot's token and way of receiving updates registered with
    /// Telegram, and the trace exporter running.
    pub fn restart_only_changes(&self, new: &Config) -> Vec<&'static str> {
        let state = |s: &StateLocation| match s {
            StateLocation::Sqlite(path) => path.display().to_string(),
            StateLocation::Postgres(url) => url.expose().to_owned(),
        };
        let url = |t: &TelegramConfig| t.webhook.as_ref().map(|w| w.url.clone());
        let secret = |t: &TelegramConfig| t.webhook.as_ref().map(|w| w.secret.expose().to_owned());
        [
            ("http.listen", self.http.listen != new.http.listen),
            ("state", state(&self.state) != state(&new.state)),
            (
                "telegram.token",
                self.telegram.token.expose() != new.telegram.token.expose(),
            ),
            (
                "telegram.api_url",
                self.telegram.api_url != new.telegram.api_url,
            ),
            (
                "telegram.webhook_url",
                url(&self.telegram) != url(&new.telegram),
            ),
            (
                "telegram.webhook_secret",
                secret(&self.telegram) != secret(&new.telegram),
            ),
            // The exporter is set up once, before anything else starts.
            (
                "telemetry.otlp_endpoint",
                self.telemetry.as_ref().map(|t| &t.traces_url)
                    != new.telemetry.as_ref().map(|t| &t.traces_url),
            ),
        ]
        .into_iter()
        .filter_map(|(key, changed)| changed.then_some(key))
        .collect()
    }

    /// Where the database of that name is in `databases` (buttons name databases; keyboards list them
    /// by position).
    pub fn position_of(&self, name: &DatabaseName) -> Option<usize> {
        self.databases.iter().position(|db| &db.name == name)
    }

    /// A one-paragraph summary for `postgram check`.
    pub fn summary(&self) -> String {
        let state = match &self.state {
            StateLocation::Sqlite(path) => format!("SQLite file {}", path.display()),
            StateLocation::Postgres(_) => "PostgreSQL".to_owned(),
        };
        let mut lines = vec![
            format!(
                "{} database(s), {} owner(s), {} API token(s); state in {state}; listening on {}",
                self.databases.len(),
                self.owners.len(),
                self.api_tokens.len(),
                self.http.listen
            ),
            format!(
                "escalation: email after {}s without acknowledgement, after {}s of Telegram failures; SMTP {}; Alertmanager silences {}",
                self.escalation.ack_timeout.as_secs(),
                self.escalation.telegram_failure_after.as_secs(),
                self.smtp
                    .as_ref()
                    .map_or("not configured".to_owned(), |smtp| {
                        let url = smtp.url.expose();
                        let security = smtp::transport_url(url)
                            .map_or(String::new(), |(_, s)| format!(" ({s})"));
                        format!("{}{security}", smtp::without_credentials(url))
                    }),
                if self.alertmanager.is_some() {
                    "enabled"
                } else {
                    "disabled"
                },
            ),
        ];
        if let Some(telemetry) = &self.telemetry {
            lines.push(format!(
                "traces: exported over OTLP/HTTP to {}",
                telemetry.traces_url
            ));
        }
        for db in &self.databases {
            let matchers: Vec<String> = db
                .matchers
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            lines.push(format!(
                "  {}: alerts with {{{}}}; {} admin(s), {} viewer(s){}; {} fallback email(s)",
                db.name,
                matchers.join(", "),
                db.admins.len(),
                db.viewers.len(),
                if db.chat.is_some() {
                    " and a group chat"
                } else {
                    ""
                },
                db.email.len()
            ));
        }
        lines.join("\n")
    }
}
