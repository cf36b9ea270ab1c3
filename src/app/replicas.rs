//! What the other replicas sharing a PostgreSQL state store tell this one, at once (`LISTEN` on the
//! store's channel): a run to cancel that runs here, members changed, a reload to follow. A notice
//! sent while the connection is down is lost; the periodic member refresh catches up on members,
//! and the routes are rebuilt after every reconnection. [`follow_primary`] keeps the store on the primary
//! of a multi-host state DSN.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::domain::DatabaseName;
use crate::members::Members;
use crate::operations::Operations;
use crate::reload::Reloader;
use crate::store::{News, REPLICAS_CHANNEL, Store};

/// What the news acts on.
pub(super) struct Listening {
    pub(super) store: Store,
    pub(super) operations: Arc<Operations>,
    pub(super) members: Arc<Members>,
    pub(super) reloader: Arc<Reloader>,
}

impl Listening {
    pub(super) async fn run(self, stop: CancellationToken) {
        loop {
            match self.listen(&stop).await {
                Ok(()) => return,
                Err(e) => tracing::warn!(error = %e, "listening to the other replicas failed"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }

    /// Until stopped (`Ok`) or the connection fails.
    async fn listen(&self, stop: &CancellationToken) -> Result<(), sqlx::Error> {
        // The host the store uses now: after a failover, the new primary.
        let url = self.store.primary_url().unwrap_or_default();
        let mut listener = PgListener::connect(&url).await?;
        listener.listen(REPLICAS_CHANNEL).await?;
        loop {
            let heard = tokio::select! {
                () = stop.cancelled() => return Ok(()),
                heard = listener.try_recv() => heard?,
            };
            match heard {
                Some(notice) => {
                    if let Some(news) = self.store.news_from_others(notice.payload()) {
                        self.act(news).await;
                    }
                }
                // The connection was lost and is made again at the next call: what was said
                // meanwhile is lost, so the routes are rebuilt from the store.
                None => self.act(News::Members).await,
            }
        }
    }

    async fn act(&self, news: News) {
        match news {
            News::CancelRun(id) => {
                self.operations.cancel_run(id);
            }
            News::CancelAction { database, action } => {
                if let Ok(database) = DatabaseName::parse(&database) {
                    self.operations.cancel(&database, &action);
                }
            }
            News::Members => {
                if let Err(e) = self.members.reload().await {
                    tracing::warn!(error = %e, "rebuilding the routes failed");
                }
            }
            News::Reloaded => self.reloader.follow().await,
        }
    }
}

/// How often the store checks that its PostgreSQL host still answers and accepts writes.
const PRIMARY_CHECK: Duration = Duration::from_secs(1);

/// Keeps the state store on its primary when the DSN names several hosts (see `store::primary`):
/// after a failover the pool's next connections go to the new one. Until then the store's queries
/// fail: intake answers 503 and `/-/ready` too.
pub(super) async fn follow_primary(store: Store, stop: CancellationToken) {
    let mut failing = false;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(PRIMARY_CHECK) => {}
        }
        match store.follow_primary().await {
            Ok(true) => tracing::warn!("the state store's primary moved; new connections go there"),
            Ok(false) => failing = false,
            // Logged once per outage: it is retried every second.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "no host of the state store accepts writes yet");
            }
            Err(_) => {}
        }
    }
}
