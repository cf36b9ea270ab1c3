//! Shell steps: `sh -c COMMAND` in its own process group, with arguments only in the environment, stdin
//! closed and the tails of stdout and stderr kept. Stopping a step (cancel, timeout) kills the whole
//! group: `TERM`, then `KILL` 2 s later.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
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
    let pgid = child.id();
    let stdout = Tail::start(child.stdout.take());
    let stderr = Tail::start(child.stderr.take());

    let ended = tokio::select! {
        status = child.wait() => Some(status),
        () = cancel.cancelled() => None,
        () = tokio::time::sleep_until(deadline) => None,
    };
    let ended = match ended {
        Some(status) => {
            let status = status.map_err(|e| ExecError::Shell(e.to_string()))?;
            // What the step left running in its group is stopped with it.
            kill_group(pgid, "TERM").await;
            Ended::Exited(status)
        }
        None => {
            kill_group(pgid, "TERM").await;
            let _ = tokio::time::timeout(TERM_GRACE, child.wait()).await;
            kill_group(pgid, "KILL").await;
            let _ = tokio::time::timeout(TERM_GRACE, child.wait()).await;
            if cancel.is_cancelled() {
                Ended::Cancelled
            } else {
                Ended::TimedOut
            }
        }
    };
    let (stdout_tail, stderr_tail) = tokio::join!(stdout.finish(), stderr.finish());
    Ok(ShellRun {
        ended,
        stdout_tail,
        stderr_tail,
    })
}

/// Signals every process of the group `pgid` (the shell's pid, as it leads its own group).
async fn kill_group(pgid: Option<u32>, signal: &str) {
    let Some(pgid) = pgid else {
        return;
    };
    let status = tokio::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if let Err(err) = status {
        tracing::warn!(error = %err, "could not run kill for a shell step");
    }
}

/// The last bytes of a stream, read by a task of its own.
struct Tail {
    kept: Arc<Mutex<Vec<u8>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Tail {
    fn start(stream: Option<impl AsyncRead + Unpin + Send + 'static>) -> Tail {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let task = stream.map(|mut stream| {
            let kept = Arc::clone(&kept);
            tokio::spawn(async move {
                let mut buf = vec![0_u8; 8192];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * TAIL_BYTES {
                        let excess = kept.len() - TAIL_BYTES;
                        kept.drain(..excess);
                    }
                }
            })
        });
        Tail { kept, task }
    }

    /// The tail so far, once the stream has ended or, if something still holds it open, after 2 s.
    async fn finish(mut self) -> String {
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(TERM_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&kept);
        let skip = text.chars().count().saturating_sub(TAIL_CHARS);
        text.chars().skip(skip).collect()
    }
}
