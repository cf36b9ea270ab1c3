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

use crate::access::Access;
use crate::bot::{self, BotState};
use crate::catalog::Catalog;
use crate::charts::service::Charting;
use crate::clock::Clock;
use crate::config::Config;
use crate::delivery::links::Links;
use crate::delivery::worker::{Worker, WorkerParts};
use crate::delivery::{email::Mailer, telegram::Telegram};
use crate::exec::Targets;
use crate::http;
use crate::members::Members;
use crate::metrics::Metrics;
use crate::operations::Operations;
use crate::silences::SilenceApi;
use crate::store::Store;
use crate::telegram::{self, reach::Reach, throttle::Throttle};

/// What the started tasks share.
pub(super) struct Shared {
    pub(super) config: Arc<Config>,
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
    pub(super) access: Arc<Access>,
}

impl Shared {
    pub(super) fn new(config: Config, store: Store, clock: Clock, tracker: TaskTracker) -> Shared {
        let config = Arc::new(config);
        let metrics = Metrics::new();
        let access = Arc::new(Access::new(&config, store.clone()));
        Shared {
            config,
            store,
            clock,
            tracker,
            stop_workers: CancellationToken::new(),
            wake: Arc::new(Notify::new()),
            throttle: Arc::new(Throttle::default()),
            metrics,
            access,
        }
    }
}

/// The clients of the outside world checked before anything starts: SMTP (when configured) and the
/// Bot API.
pub(super) fn clients(config: &Config) -> anyhow::Result<(Option<Mailer>, Bot)> {
    let mailer = config
        .smtp
        .as_ref()
        .map(|smtp| Mailer::new(smtp.url.expose(), smtp.from.as_str()))
        .transpose()
        .context("smtp")?;
    let bot = telegram::client::bot(&config.telegram)?;
    Ok((mailer, bot))
}

/// The catalogue and what runs it: the operations, the links alerts offer, and how long a run may last.
pub(super) struct Runs {
    pub(super) operations: Arc<Operations>,
    pub(super) links: Arc<Links>,
    /// Charts, health cards and alert graphs, from the catalogue's charts file.
    pub(super) charts: Arc<Charting>,
    /// No run outlives its action's timeout (and the stop that follows it) in a living process.
    pub(super) longest: std::time::Duration,
}

impl Runs {
    pub(super) fn load(
        config: &Config,
        store: &Store,
        clock: &Clock,
        tracker: &TaskTracker,
    ) -> anyhow::Result<Runs> {
        let catalog = Arc::new(Catalog::load(config).map_err(|e| anyhow::anyhow!("{e}"))?);
        let longest = catalog.actions.iter().map(|a| a.timeout).max();
        let longest = longest.unwrap_or_default() + std::time::Duration::from_secs(60);
        let links = Links::new(config, Arc::clone(&catalog)).map_err(|e| anyhow::anyhow!("{e}"))?;
        let charts = Arc::new(Charting::new(config, catalog.charts.clone()));
        let targets = Targets::new(&config.databases).context("the databases' DSNs")?;
        let operations = Arc::new(Operations::new(
            catalog,
            targets,
            store.clone(),
            clock.clone(),
            tracker.clone(),
            CancellationToken::new(),
        ));
        Ok(Runs {
            operations,
            links: Arc::new(links),
            charts,
            longest,
        })
    }
}

/// The delivery worker, started once what a previous process left behind is taken back (its outbox
/// leases) or recorded (its runs, interrupted).
pub(super) async fn start_delivery(
    shared: &Shared,
    bot: &Bot,
    mailer: Option<Mailer>,
    links: Arc<Links>,
    lease_owner: &str,
) {
    let (store, clock) = (&shared.store, &shared.clock);
    let worker = Arc::new(Worker::new(WorkerParts {
        store: store.clone(),
        telegram: Telegram::new(bot.clone(), store.clone(), clock.clone()),
        mailer,
        config: Arc::clone(&shared.config),
        metrics: shared.metrics.clone(),
        owner: lease_owner.to_owned(),
        wake: Arc::clone(&shared.wake),
        throttle: Arc::clone(&shared.throttle),
        links,
        access: Arc::clone(&shared.access),
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
    charts: &Arc<Charting>,
) -> Arc<BotState> {
    Arc::new(BotState {
        store: shared.store.clone(),
        access: Arc::clone(&shared.access),
        config: Arc::clone(&shared.config),
        silences: shared
            .config
            .alertmanager
            .as_ref()
            .map(|am| SilenceApi::new(&am.url)),
        wake: Arc::clone(&shared.wake),
        throttle: Arc::clone(&shared.throttle),
        operations: Arc::clone(operations),
        members,
        clock: shared.clock.clone(),
        charts: Arc::clone(charts),
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
) -> anyhow::Result<(axum::Router, JoinHandle<()>)> {
    let task = match &shared.config.telegram.webhook {
        None => shared
            .tracker
            .spawn(bot::run_polling(bot, state, stop.clone(), reach.clone())),
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
