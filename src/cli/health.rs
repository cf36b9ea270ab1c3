//! `postgram health`: asks a running service's health endpoint and exits 0 only on a 2xx answer. The
//! container image's `HEALTHCHECK` uses it, as the runtime image has no HTTP client of its own.

use std::process::ExitCode;
use std::time::Duration;

/// How long the probe waits for an answer; a service that takes longer is not healthy.
const PROBE_DEADLINE: Duration = Duration::from_secs(5);

/// Probes `url`, printing the answer (or what went wrong) for `docker inspect` to show.
pub fn run(url: &str) -> ExitCode {
    let answer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
        .and_then(|runtime| runtime.block_on(probe(url)));
    match answer {
        Ok(answer) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("{problem}");
            ExitCode::FAILURE
        }
    }
}

/// GETs `url`: `Ok` with the status and body on a 2xx answer, `Err` saying what went wrong otherwise.
async fn probe(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(PROBE_DEADLINE)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {}", crate::telegram::reach::sources_text(&e)))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let answer = format!("{url}: {status}\n{}", body.trim_end());
    if status.is_success() {
        Ok(answer)
    } else {
        Err(answer)
    }
}
