//! The steps of [`super::start`]: what the started tasks share, the clients and the catalogue checked
//! before anything starts, then the delivery worker and the bot.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use teloxide::Bot;
use teloxide::update_listeners::webhooks;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bot::{self, BotState};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::config::Config;
use crate::delivery::telegram::Telegram;
use crate::delivery::worker::{Worker, WorkerParts};
use crate::exec::Targets;
use crate::http;
use crate::members::Members;
use crate::metrics::Metrics;
use crate::operations::Operations;
use crate::settings::{InForce, Settings};
use crate::store::Store;
use crate::telegram::{reach::Reach, throttle::Throttle};

/// What the started tasks share.
pub(super) struct Shared {
    /// The settings in force, replaced whole by a reload.
    pub(super) settings: InForce,
    pub(super) store: Store,
    pub(super) clock: Clock,
    pub(super) tracker: TaskTracker,
    /// Stops the workers (intake, delivery, the periodic tasks): last, after HTTP and the bot.
    pub(super) stop_workers: CancellationToken,
    /// Wakes the delivery worker: a commit queued jobs.
    pub(super) wake: Arc<Notify>,
    /// One throttle for everything that talks to Telegram: the worker's messages and the bot's replies.
    pub(super) throttle: Arc<Throttle>,
    pub(super) metrics: Metrics,
}

impl Shared {
    pub(super) fn new(
        settings: Settings,
        store: Store,
        clock: Clock,
        tracker: TaskTracker,
    ) -> Shared {
        Shared {
            settings: InForce::new(settings),
            store,
            clock,
            tracker,
            stop_workers: CancellationToken::new(),
            wake: Arc::new(Notify::new()),
            throttle: Arc::new(Throttle::default()),
            metrics: Metrics::new(),
        }
    }
}

/// The settings, checked whole (the config, its catalogue and the links between them, as
/// `postgram check` does), and the operations that run the catalogue on the databases.
pub(super) fn load(
    config: Config,
    store: &Store,
    clock: &Clock,
    tracker: &TaskTracker,
) -> anyhow::Result<(Settings, Arc<Operations>)> {
    let catalog = Catalog::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let targets = Targets::new(&config.databases).context("the databases' DSNs")?;
    let settings = Settings::build(config, catalog, store)?;
    let operations = Arc::new(Operations::new(
        Arc::clone(&settings.catalog),
        targets,
        store.clone(),
        clock.clone(),
        tracker.clone(),
        CancellationToken::new(),
    ));
    Ok((settings, operations))
}

/// The delivery worker, started once what a previous process left behind is taken back (its outbox
/// leases) or recorded (its runs, interrupted).
pub(super) async fn start_delivery(shared: &Shared, bot: &Bot, lease_owner: &str) {
    let (store, clock) = (&shared.store, &shared.clock);
    let worker = Arc::new(Worker::new(WorkerParts {
        store: store.clone(),
        telegram: Telegram::new(bot.clone(), store.clone(), clock.clone()),
        setup: shared.settings.delivery.clone(),
        metrics: shared.metrics.clone(),
        owner: lease_owner.to_owned(),
        wake: Arc::clone(&shared.wake),
        throttle: Arc::clone(&shared.throttle),
        stop: shared.stop_workers.clone(),
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
    shared.tracker.spawn(worker.run());
}

pub(super) fn bot_state(
    shared: &Shared,
    operations: &Arc<Operations>,
    members: Arc<Members>,
) -> Arc<BotState> {
    Arc::new(BotState {
        store: shared.store.clone(),
        settings: shared.settings.clone(),
        wake: Arc::clone(&shared.wake),
        throttle: Arc::clone(&shared.throttle),
        operations: Arc::clone(operations),
        members,
        clock: shared.clock.clone(),
    })
}

/// Spawns the bot: polling, or on updates Telegram posts to a route it adds to `app`.
pub(super) fn spawn_bot(
    shared: &Shared,
    bot: Bot,
    state: Arc<BotState>,
    (stop, reach): (&CancellationToken, &Reach),
    mut app: axum::Router,
    addr: SocketAddr,
    lease_owner: &str,
) -> anyhow::Result<(axum::Router, JoinHandle<()>)> {
    let task = match &shared.settings.now().config.telegram.webhook {
        None => shared.tracker.spawn(bot::run_polling(
            bot,
            state,
            stop.clone(),
            reach.clone(),
            lease_owner.to_owned(),
        )),
        Some(webhook) => {
            let url = reqwest::Url::parse(&webhook.url).context("telegram.webhook_url")?;
            let options =
                webhooks::Options::new(addr, url).secret_token(webhook.secret.expose().to_owned());
            // Without teloxide's own setup (`axum_to_router` calls setWebhook first): the bot task
            // registers the webhook itself and retries, so an unreachable Telegram never blocks start.
            let (updates, _stopped, routes) = webhooks::axum_no_setup(options);
            app = app.merge(http::telegram_webhook(routes, webhook.secret.clone()));
            shared.tracker.spawn(bot::run_webhook(
                bot,
                state,
                stop.clone(),
                webhook.clone(),
                updates,
                reach.clone(),
            ))
        }
    };
    Ok((app, task))
}
