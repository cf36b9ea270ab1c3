//! `postgram init`: writes a starter config that `postgram check` accepts and `postgram run` starts
//! with, holding fresh random tokens (shown once, on stdout). It never overwrites a file.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::tokens::{digest, hex, new_token};

/// Writes the starter config at `path` and shows its tokens.
pub fn run(path: &Path, owners: &[i64]) -> ExitCode {
    match write(path, owners) {
        Ok(written) => {
            println!("wrote {} (readable by you only)", path.display());
            println!();
            println!("These tokens are shown this once:");
            println!(
                "  Alertmanager webhook token (http.webhook_token): {}",
                written.webhook_token
            );
            println!(
                "  API token \"api\" (viewer; the file holds only its SHA-256): {}",
                written.api_token
            );
            println!();
            println!(
                "Next: set TELEGRAM_TOKEN and MAIN_DSN, then `postgram check --config {0}` and \
                 `postgram run --config {0}`.",
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "{}: exists already; postgram init never overwrites a file (name another with --config)",
                path.display()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{}: cannot write the config: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

/// The tokens a new config was written with, for the operator to copy now.
pub struct Written {
    /// `http.webhook_token`, stored as written: Alertmanager must send it and the config has no
    /// digest form for it.
    pub webhook_token: String,
    /// The API token; the file holds only its SHA-256.
    pub api_token: String,
}

/// Writes the starter config to `path` (mode 0600: it holds the webhook token) for these owners.
/// Fails when anything already exists there.
pub fn write(path: &Path, owners: &[i64]) -> std::io::Result<Written> {
    use std::os::unix::fs::OpenOptionsExt;
    let written = Written {
        webhook_token: new_token(),
        api_token: new_token(),
    };
    let text = starter(
        owners,
        &written.webhook_token,
        &hex(&digest(&written.api_token)),
    );
    // `create_new`: an existing config, or a link placed there, is never replaced.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(written)
}

fn starter(owners: &[i64], webhook_token: &str, api_token_sha256: &str) -> String {
    let owners = owners
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"# Postgram Admin, written by `postgram init`. Every key is described in the README (Configuration);
# `postgram check --config THIS_FILE` validates it. ${{VAR}} is the environment variable VAR.

telegram:
  # From BotFather (/newbot), kept out of this file.
  token: "${{TELEGRAM_TOKEN}}"

http:
  # The container image sets POSTGRAM_LISTEN=0.0.0.0:9750.
  listen: "${{POSTGRAM_LISTEN:-127.0.0.1:9750}}"
  # Alertmanager's bearer token (the credentials_file of its webhook_config).
  webhook_token: "{webhook_token}"

# Default: $POSTGRAM_STATE, else postgram.db beside this file.
# state: "sqlite://postgram.db"

# Telegram user ids with every right (the bot's /whoami tells yours); they also get unrouted alerts.
owners: [{owners}]

# For silences created from Telegram:
# alertmanager: {{ url: "http://127.0.0.1:9093" }}
# The shipped views, actions and charts (docs/catalogue.md), when they are beside this file:
# catalog: {{ views: views.yaml, actions: actions.yaml, charts: charts.yaml }}
# Where /charts, /status and the alerts' 📈 Graph button read metrics:
# prometheus: {{ url: "http://127.0.0.1:9090" }}

databases:
  - name: main
    # postgres://user:password@host:5432/db, kept out of this file.
    dsn: "${{MAIN_DSN}}"
    # Alerts carrying these labels concern this database.
    match: {{ cluster: main }}
    # They receive its alerts and may act on them.
    admins: [{owners}]

api_tokens:
  - name: api
    # Only the SHA-256 of the token `postgram init` printed: the token itself is nowhere on disk.
    token_sha256: "{api_token_sha256}"
    role: viewer
"#
    )
}
