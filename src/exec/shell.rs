//! Shell steps: `sh -c COMMAND` in its own process group, with arguments only in the environment, stdin
//! closed and the tails of stdout and stderr kept. Stopping a step (cancel, timeout, shutdown) kills the
//! whole group: `TERM`, then `KILL` 2 s later; a step dropped mid-way has its group killed at once.

use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::ExecError;

/// Characters of each stream kept.
const TAIL_CHARS: usize = 2000;
/// Bytes kept while reading: enough for `TAIL_CHARS` characters of any width.
const TAIL_BYTES: usize = 4 * TAIL_CHARS;
const TERM_GRACE: Duration = Duration::from_secs(2);

/// The service's environment is not the step's business (it may hold the secrets the config was built
/// from); only these variables pass through.
const INHERITED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TZ",
    "TMPDIR",
    "PGPASSFILE",
    "PGSERVICEFILE",
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
];

/// How a shell step ended.
#[derive(Debug)]
pub(super) enum Ended {
    Exited(ExitStatus),
    Cancelled,
    TimedOut,
}

#[derive(Debug)]
pub(super) struct ShellRun {
    pub ended: Ended,
    pub stdout_tail: String,
    pub stderr_tail: String,
}

/// Runs `command` until it exits, `cancel` fires or `deadline` passes; `env` is applied in order (later
/// entries win).
pub(super) async fn run(
    command: &str,
    env: &[(String, String)],
    cancel: &CancellationToken,
    deadline: Instant,
) -> Result<ShellRun, ExecError> {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .process_group(0)
        .kill_on_drop(true)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear();
    for key in INHERITED {
        if let Some(value) = std::env::var_os(key) {
            cmd.env(key, value);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd.spawn().map_err(|e| ExecError::Shell(e.to_string()))?;
    // Dropped before the end (the run itself was dropped), the guard kills the whole group at once:
    // `kill_on_drop` alone would reach only the shell, not what it started.
    let mut group = Group(child.id());
    let (stdout, stderr) = (Tail::default(), Tail::default());
    let reading = futures_util::future::join(
        stdout.read(child.stdout.take()),
        stderr.read(child.stderr.take()),
    );
    tokio::pin!(reading);
    let mut read = false;
    let ended = loop {
        tokio::select! {
            status = child.wait() => break Some(status),
            () = cancel.cancelled() => break None,
            () = tokio::time::sleep_until(deadline) => break None,
            _ = &mut reading, if !read => read = true,
        }
    };
    let ended = match ended {
        Some(status) => {
            let status = status.map_err(|e| ExecError::Shell(e.to_string()))?;
            // What the step left running in its group is stopped with it.
            group.signal("TERM").await;
            Ended::Exited(status)
        }
        None => {
            group.signal("TERM").await;
            let _ = tokio::time::timeout(TERM_GRACE, child.wait()).await;
            group.signal("KILL").await;
            let _ = tokio::time::timeout(TERM_GRACE, child.wait()).await;
            if cancel.is_cancelled() {
                Ended::Cancelled
            } else {
                Ended::TimedOut
            }
        }
    };
    group.0 = None;
    // Whatever still holds the pipes open (a process that left the group) gets 2 s more.
    if !read {
        let _ = tokio::time::timeout(TERM_GRACE, &mut reading).await;
    }
    Ok(ShellRun {
        ended,
        stdout_tail: stdout.text(),
        stderr_tail: stderr.text(),
    })
}

/// The step's process group (the shell's pid, as it leads its own group); `None` once it is stopped.
struct Group(Option<u32>);

impl Group {
    /// Signals every process of the group.
    async fn signal(&self, signal: &str) {
        let Some(pgid) = self.0 else {
            return;
        };
        let status = tokio::process::Command::new("kill")
            .args(kill_args(signal, pgid))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        if let Err(err) = status {
            tracing::warn!(error = %err, "could not run kill for a shell step");
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            let status = std::process::Command::new("kill")
                .args(kill_args("KILL", pgid))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if let Err(err) = status {
                tracing::warn!(error = %err, "could not run kill for a shell step");
            }
        }
    }
}

fn kill_args(signal: &str, pgid: u32) -> [String; 3] {
    [format!("-{signal}"), "--".to_owned(), format!("-{pgid}")]
}

/// The last bytes of a stream.
#[derive(Default)]
struct Tail {
    kept: Mutex<Vec<u8>>,
}

impl Tail {
    /// Reads `stream` to its end, keeping its last bytes.
    async fn read(&self, stream: Option<impl AsyncRead + Unpin>) {
        let Some(mut stream) = stream else {
            return;
        };
        let mut buf = vec![0_u8; 8192];
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > 2 * TAIL_BYTES {
                let excess = kept.len() - TAIL_BYTES;
                kept.drain(..excess);
            }
        }
    }

    /// The last `TAIL_CHARS` characters read.
    fn text(&self) -> String {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&kept);
        let skip = text.chars().count().saturating_sub(TAIL_CHARS);
        text.chars().skip(skip).collect()
    }
}
