//! The tasks that keep the service's state current while it runs: the member list (for routing) and
//! housekeeping (abandoned dialogues, old buttons, runs whose process died), and their start.

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::steps::Shared;
use crate::clock::Clock;
use crate::live::Live;
use crate::members::Members;
use crate::routing::Router;
use crate::settings::{InForce, Settings};
use crate::store::Store;

/// The members added at runtime, read before anything is routed and kept current.
pub(super) async fn start_members(
    shared: &Shared,
    router: Live<Router>,
) -> anyhow::Result<Arc<Members>> {
    let members = Arc::new(Members::new(
        shared.store.clone(),
        shared.settings.clone(),
        router,
        Arc::clone(&shared.wake),
        shared.clock.clone(),
    ));
    members
        .reload()
        .await
        .context("reading the members added at runtime")?;
    let refresh = refresh_members(Arc::clone(&members), shared.stop_workers.clone());
    shared.tracker.spawn(refresh);
    Ok(members)
}

pub(super) fn spawn_housekeeping(shared: &Shared) {
    shared.tracker.spawn(housekeeping(
        shared.store.clone(),
        shared.clock.clone(),
        shared.settings.clone(),
        shared.stop_workers.clone(),
    ));
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

/// How long what housekeeping clears may live, by the settings in force.
struct Lifetimes {
    dialogues: std::time::Duration,
    buttons: std::time::Duration,
    /// Longer than any run can last: a run still `running` after this died with its process.
    runs: std::time::Duration,
}

impl Lifetimes {
    fn of(settings: &Settings) -> Lifetimes {
        let longest = settings.catalog.actions.iter().map(|a| a.timeout).max();
        Lifetimes {
            dialogues: settings.config.telegram.dialogue_ttl,
            buttons: settings.config.telegram.buttons_ttl,
            // The stop that follows a timeout takes seconds more.
            runs: longest.unwrap_or_default() + std::time::Duration::from_secs(60),
        }
    }
}

/// Deletes abandoned dialogues (and forgets the secrets typed into them), forgets old buttons, and
/// records runs that outlived every possible run as interrupted (their process died; on PostgreSQL
/// this is how another replica's crash is recorded).
async fn housekeeping(store: Store, clock: Clock, settings: InForce, stop: CancellationToken) {
    let first = Lifetimes::of(&settings.now());
    let shortest = first.dialogues.min(first.buttons);
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
        let lifetimes = Lifetimes::of(&settings.now());
        if let Err(e) = store.expire_dialogues(before(lifetimes.dialogues)).await {
            tracing::warn!(error = %e, "deleting abandoned dialogues failed");
        }
        if let Err(e) = store.prune_buttons(before(lifetimes.buttons)).await {
            tracing::warn!(error = %e, "forgetting old buttons failed");
        }
        // Telegram gives up redelivering an update within a day.
        let day = std::time::Duration::from_secs(24 * 3600);
        if let Err(e) = store.prune_handled_updates(before(day)).await {
            tracing::warn!(error = %e, "forgetting handled updates failed");
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
