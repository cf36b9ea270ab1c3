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

use teloxide::update_listeners::webhooks;
use tokio::sync::Notify;

use crate::access::Access;
use crate::bot::{self, BotState};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::config::Config;
use crate::delivery::links::Links;
use crate::delivery::worker::{Worker, WorkerParts};
use crate::delivery::{email::Mailer, telegram::Telegram};
use crate::exec::Targets;
use crate::http::{self, AppState};
use crate::intake::Intake;
use crate::members::Members;
use crate::metrics::Metrics;
use crate::operations::Operations;
use crate::routing::{Router, SharedRouter};
use crate::silences::SilenceApi;
use crate::store::Store;
use crate::telegram::{self, reach::Reach, throttle::Throttle};

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
    let mailer = config
        .smtp
        .as_ref()
        .map(|smtp| Mailer::new(smtp.url.expose(), smtp.from.as_str()))
        .transpose()
        .context("smtp")?;
    let bot = telegram::client::bot(&config.telegram)?;
    let catalog = Arc::new(Catalog::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?);
    // No run outlives its action's timeout (and the stop that follows it) in a living process.
    let longest_run = catalog.actions.iter().map(|a| a.timeout).max();
    let longest_run = longest_run.unwrap_or_default() + std::time::Duration::from_secs(60);
    let links =
        Arc::new(Links::new(&config, Arc::clone(&catalog)).map_err(|e| anyhow::anyhow!("{e}"))?);
    let targets = Targets::new(&config.databases).context("the databases' DSNs")?;
    let tracker = TaskTracker::new();
    let operations = Arc::new(Operations::new(
        catalog,
        targets,
        store.clone(),
        clock.clone(),
        tracker.clone(),
        CancellationToken::new(),
    ));
    let listener = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("listening on {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    let config = Arc::new(config);
    let metrics = Metrics::new();
    let stop_workers = CancellationToken::new();
    let wake = Arc::new(Notify::new());
    // One throttle for everything that talks to Telegram: the worker's messages and the bot's replies.
    let throttle = Arc::new(Throttle::default());
    let lease_owner = lease_owner();
    let access = Arc::new(Access::new(&config, store.clone()));
    let router = SharedRouter::new(Router::new(&config, &[]));
    let members = Arc::new(Members::new(
        store.clone(),
        Arc::clone(&access),
        Arc::clone(&config),
        router.clone(),
        Arc::clone(&wake),
        clock.clone(),
    ));
    members
        .reload()
        .await
        .context("reading the members added at runtime")?;
    tracker.spawn(refresh_members(Arc::clone(&members), stop_workers.clone()));
    let lifetimes = Lifetimes {
        dialogues: config.telegram.dialogue_ttl,
        buttons: config.telegram.buttons_ttl,
        runs: longest_run,
    };
    tracker.spawn(housekeeping(
        store.clone(),
        clock.clone(),
        lifetimes,
        stop_workers.clone(),
    ));
    let intake = Intake::start(
        &config,
        store.clone(),
        metrics.clone(),
        &tracker,
        stop_workers.clone(),
        Arc::clone(&wake),
        router,
    );
    let worker = Arc::new(Worker::new(WorkerParts {
        store: store.clone(),
        telegram: Telegram::new(bot.clone(), store.clone(), clock.clone()),
        mailer,
        config: Arc::clone(&config),
        metrics: metrics.clone(),
        owner: lease_owner.clone(),
        wake: Arc::clone(&wake),
        throttle: Arc::clone(&throttle),
        links,
        access: Arc::clone(&access),
        stop: stop_workers.clone(),
        clock: clock.clone(),
    }));
    match store.take_back_dead_leases().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            taken_back = n,
            "took back the outbox leases of a previous process"
        ),
        Err(e) => tracing::warn!(error = %e, "taking back outbox leases failed"),
    }
    match store.end_interrupted_runs(clock.now()).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            runs = n,
            "a previous process died while actions ran: their audit rows now say interrupted"
        ),
        Err(e) => tracing::warn!(error = %e, "ending interrupted runs failed"),
    }
    tracker.spawn(worker.run());

    let bot_state = Arc::new(BotState {
        store: store.clone(),
        access: Arc::clone(&access),
        config: Arc::clone(&config),
        silences: config
            .alertmanager
            .as_ref()
            .map(|am| SilenceApi::new(&am.url)),
        wake,
        throttle,
        operations: Arc::clone(&operations),
        members: Arc::clone(&members),
        clock: clock.clone(),
    });
    let stop_bot = CancellationToken::new();
    let reach = Reach::default();
    let state = AppState {
        reach: reach.clone(),
        access,
        config: Arc::clone(&config),
        intake,
        store: store.clone(),
        metrics,
        operations: Arc::clone(&operations),
        members,
        clock,
    };
    let mut app = http::router(state);
    let bot_task = match &config.telegram.webhook {
        None => tracker.spawn(bot::run_polling(
            bot,
            bot_state,
            stop_bot.clone(),
            reach.clone(),
        )),
        Some(webhook) => {
            let url = reqwest::Url::parse(&webhook.url).context("telegram.webhook_url")?;
            let options =
                webhooks::Options::new(addr, url).secret_token(webhook.secret.expose().to_owned());
            // Without teloxide's own setup (`axum_to_router` calls setWebhook first): the bot task
            // registers the webhook itself and retries, so an unreachable Telegram never blocks start.
            let (updates, _stopped, routes) = webhooks::axum_no_setup(options);
            app = app.merge(http::telegram_webhook(routes, webhook.secret.clone()));
            tracker.spawn(bot::run_webhook(
                bot,
                bot_state,
                stop_bot.clone(),
                webhook.clone(),
                updates,
                reach.clone(),
            ))
        }
    };
    let stop_http = CancellationToken::new();
    let server = tracker.spawn({
        let stop = stop_http.clone();
        async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
    });
    tracing::info!(%addr, backend = ?store.backend(), "postgram is listening");
    Ok(Running {
        addr,
        stop_http,
        server,
        stop_bot,
        bot: bot_task,
        stop_workers,
        tracker,
        store,
        lease_owner,
        operations,
        reach,
    })
}

/// Rebuilds the router now and then, so members added or removed through another replica sharing the
/// state store receive alerts here too. (Access checks read the store on every update; only routing
/// uses this copy.)
async fn refresh_members(members: Arc<Members>, stop: CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(15));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => {
                if let Err(e) = members.reload().await {
                    tracing::warn!(error = %e, "reloading the member list failed");
                }
            }
        }
    }
}

/// How long what housekeeping clears may live.
struct Lifetimes {
    dialogues: std::time::Duration,
    buttons: std::time::Duration,
    /// Longer than any run can last: a run still `running` after this died with its process.
    runs: std::time::Duration,
}

/// Deletes abandoned dialogues (and forgets the secrets typed into them), forgets old buttons, and
/// records runs that outlived every possible run as interrupted (their process died; on PostgreSQL
/// this is how another replica's crash is recorded).
async fn housekeeping(store: Store, clock: Clock, lifetimes: Lifetimes, stop: CancellationToken) {
    let shortest = lifetimes.dialogues.min(lifetimes.buttons);
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60).min(shortest));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A lifetime beyond chrono's range keeps everything.
    let before = |ttl: std::time::Duration| {
        chrono::Duration::from_std(ttl)
            .ok()
            .and_then(|ttl| clock.now().checked_sub_signed(ttl))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    };
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => {}
            // What the jump made old goes now rather than at the next tick.
            () = clock.jumped() => {}
        }
        if let Err(e) = store.expire_dialogues(before(lifetimes.dialogues)).await {
            tracing::warn!(error = %e, "deleting abandoned dialogues failed");
        }
        if let Err(e) = store.prune_buttons(before(lifetimes.buttons)).await {
            tracing::warn!(error = %e, "forgetting old buttons failed");
        }
        match store
            .end_runs_started_before(before(lifetimes.runs), clock.now())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                runs = n,
                "runs outlived every action's timeout: recorded as interrupted"
            ),
            Err(e) => tracing::warn!(error = %e, "ending interrupted runs failed"),
        }
    }
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
