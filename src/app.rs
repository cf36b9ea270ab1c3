//! Startup and shutdown. Builds the store, intake and HTTP server from a validated config, spawns every
//! task on one tracker, and stops them in order: HTTP (graceful: in-flight requests finish), then the
//! intake writer (commits what was accepted), then leases and pools.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access::Access;
use crate::config::Config;
use crate::http::{self, AppState};
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::store::Store;

/// A started service.
pub struct Running {
    addr: SocketAddr,
    stop_http: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    stop_workers: CancellationToken,
    tracker: TaskTracker,
    store: Store,
    lease_owner: String,
}

impl Running {
    /// The address the HTTP server listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops in order and waits for every task.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_http.cancel();
        let served = self.server.await.context("HTTP server task panicked")?;
        self.stop_workers.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        match self.store.release_leases(&self.lease_owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "released outbox leases"),
            Err(e) => tracing::warn!(error = %e, "releasing outbox leases failed"),
        }
        self.store.close().await;
        served.context("HTTP server failed")
    }
}

/// Connects to the state store, binds the HTTP port and starts every task.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let store = Store::connect(&config.state)
        .await
        .context("opening the state store")?;
    let listener = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("listening on {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    let metrics = Metrics::new();
    let tracker = TaskTracker::new();
    let stop_workers = CancellationToken::new();
    let intake = Intake::start(
        &config,
        store.clone(),
        metrics.clone(),
        &tracker,
        stop_workers.clone(),
    );
    let state = AppState {
        access: Arc::new(Access::new(&config)),
        config: Arc::new(config),
        intake,
        store: store.clone(),
        metrics,
    };
    let stop_http = CancellationToken::new();
    let server = tokio::spawn({
        let stop = stop_http.clone();
        async move {
            axum::serve(listener, http::router(state))
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
    });
    tracing::info!(%addr, backend = ?store.backend(), "postgram is listening");
    Ok(Running {
        addr,
        stop_http,
        server,
        stop_workers,
        tracker,
        store,
        lease_owner: lease_owner(),
    })
}

/// Runs until SIGTERM or SIGINT, then shuts down gracefully.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    shutdown_signal().await?;
    tracing::info!("shutting down: finishing in-flight requests");
    running.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// Names this process in outbox leases: unique across replicas and restarts.
fn lease_owner() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    let started = chrono::Utc::now().timestamp_millis();
    format!("{host}:{}:{started}", std::process::id())
}
