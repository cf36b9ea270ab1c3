//! Startup and shutdown. Builds the store, intake, delivery worker, bot and HTTP server from a validated
//! config, spawns every task on one tracker, and stops them in order: running actions (cancelled and
//! audited), HTTP (graceful: in-flight requests finish), the bot's dispatcher, then the workers (the
//! intake writer commits what was accepted, the delivery worker finishes what it started), then leases
//! and pools.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access::Actor;
use crate::clock::Clock;
use crate::config::{Config, StateLocation};
use crate::http::{self, AppState};
use crate::intake::Intake;
use crate::live::Live;
use crate::operations::Operations;
use crate::reload::Reloader;
use crate::routing::Router;
use crate::store::Store;
use crate::telegram;
use crate::telegram::reach::Reach;

mod periodic;
mod replicas;
mod steps;

use periodic::{spawn_housekeeping, start_members};
use steps::{Shared, bot_state, load, spawn_bot, start_delivery};

/// A started service.
pub struct Running {
    addr: SocketAddr,
    stop_http: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    stop_bot: CancellationToken,
    bot: JoinHandle<()>,
    stop_workers: CancellationToken,
    tracker: TaskTracker,
    store: Store,
    lease_owner: String,
    operations: Arc<Operations>,
    reach: Reach,
}

/// How long shutdown waits for cancelled runs to stop (a SQL step's cancel and rollback, a shell
/// step's TERM then KILL take seconds).
const RUNS_STOP_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

impl Running {
    /// The address the HTTP server listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether Telegram answers, and why not.
    pub fn telegram(&self) -> &Reach {
        &self.reach
    }

    /// Stops in order and waits for every task.
    pub async fn stop(self) -> anyhow::Result<()> {
        // Runs first: a request waiting for its run's report then answers with it (cancelled), and
        // every run is audited as it ends.
        self.operations.stop_runs(RUNS_STOP_LIMIT).await;
        self.stop_http.cancel();
        let served = self.server.await.context("HTTP server task panicked")?;
        self.stop_bot.cancel();
        if let Err(e) = self.bot.await {
            tracing::warn!(error = %e, "the bot task ended abnormally");
        }
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

/// Connects to the state store, binds the HTTP port and starts every task, on `clock`'s time.
pub async fn start(config: Config, clock: Clock) -> anyhow::Result<Running> {
    let store = Store::connect(&config.state)
        .await
        .context("opening the state store")?;
    let bot = telegram::client::bot(&config.telegram)?;
    let tracker = TaskTracker::new();
    let (settings, operations) = load(config, &store, &clock, &tracker)?;
    let listen = settings.config.http.listen;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let shared = Shared::new(settings, store, clock, tracker);
    let lease_owner = lease_owner();
    let router = Live::new(Router::new(&shared.settings.now().config, &[]));
    let members = start_members(&shared, router.clone()).await?;
    spawn_housekeeping(&shared);
    let intake = Intake::start(
        shared.store.clone(),
        shared.metrics.clone(),
        &shared.tracker,
        shared.stop_workers.clone(),
        Arc::clone(&shared.wake),
        router,
    );
    start_delivery(&shared, &bot, &lease_owner).await;
    let reloader = Arc::new(Reloader {
        path: shared.settings.now().config.file.clone(),
        settings: shared.settings.clone(),
        operations: Arc::clone(&operations),
        members: Arc::clone(&members),
        store: shared.store.clone(),
        metrics: shared.metrics.clone(),
        clock: shared.clock.clone(),
        wake: Arc::clone(&shared.wake),
        one_at_a_time: tokio::sync::Mutex::new(()),
    });
    shared.metrics.reloaded(true, shared.clock.now());
    if let StateLocation::Postgres(_) = &shared.settings.now().config.state {
        shared.tracker.spawn(replicas::follow_primary(
            shared.store.clone(),
            shared.stop_workers.clone(),
        ));
        let listening = replicas::Listening {
            store: shared.store.clone(),
            operations: Arc::clone(&operations),
            members: Arc::clone(&members),
            reloader: Arc::clone(&reloader),
        };
        shared
            .tracker
            .spawn(listening.run(shared.stop_workers.clone()));
    }
    shared.tracker.spawn(reload_on_hangup(
        Arc::clone(&reloader),
        shared.stop_workers.clone(),
    )?);
    let reach = Reach::default();
    let app = http::router(AppState {
        reach: reach.clone(),
        settings: shared.settings.clone(),
        intake,
        store: shared.store.clone(),
        metrics: shared.metrics.clone(),
        operations: Arc::clone(&operations),
        members: Arc::clone(&members),
        clock: shared.clock.clone(),
        reloader,
    });
    let bot_state = bot_state(&shared, &operations, members);
    let stop_bot = CancellationToken::new();
    let (app, bot) = spawn_bot(
        &shared,
        bot,
        bot_state,
        (&stop_bot, &reach),
        app,
        addr,
        &lease_owner,
    )?;
    let stop_http = CancellationToken::new();
    let server = shared.tracker.spawn({
        let stop = stop_http.clone();
        async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
    });
    tracing::info!(%addr, backend = ?shared.store.backend(), "postgram is listening");
    Ok(Running {
        addr,
        stop_http,
        server,
        stop_bot,
        bot,
        stop_workers: shared.stop_workers,
        tracker: shared.tracker,
        store: shared.store,
        lease_owner,
        operations,
        reach,
    })
}

/// Runs until SIGTERM or SIGINT, then shuts down gracefully. Telegram rejecting the bot token stops
/// it too (after the same graceful shutdown), as an error: no alert could ever reach anyone.
pub async fn run(config: Config) -> anyhow::Result<()> {
    // Installed before anything answers: a SIGTERM as soon as `/-/ready` says yes is a graceful stop.
    let signalled = shutdown_signal()?;
    let running = start(config, Clock::system()).await?;
    let reach = running.telegram().clone();
    let fatal = tokio::select! {
        () = signalled => None,
        cause = reach.fatal() => Some(cause),
    };
    tracing::info!("shutting down: finishing in-flight requests");
    running.stop().await?;
    match fatal {
        None => {
            tracing::info!("stopped");
            Ok(())
        }
        Some(cause) => Err(anyhow::anyhow!("{cause}")),
    }
}

/// Reloads on every SIGHUP until stopped (installed at start, so a SIGHUP once the port answers is
/// a reload, never the default of ending the process).
fn reload_on_hangup(
    reloader: Arc<Reloader>,
    stop: CancellationToken,
) -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    Ok(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                got = hangups.recv() => {
                    if got.is_none() {
                        return;
                    }
                    // Refusals are logged and counted by the reloader.
                    let _ = reloader.reload(&Actor::signal()).await;
                }
            }
        }
    })
}

/// Installs the SIGTERM and SIGINT handlers now; the future ends at the first of them.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// Names this process in outbox leases: unique across replicas and restarts (the start time is the
/// system's: it names the process, it is not compared with any other time).
fn lease_owner() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    let started = chrono::Utc::now().timestamp_millis();
    format!("{host}:{}:{started}", std::process::id())
}
