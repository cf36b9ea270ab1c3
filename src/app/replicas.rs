//! What the other replicas sharing a PostgreSQL state store tell this one, at once (`LISTEN` on the
//! store's channel): a run to cancel that runs here, members changed, a reload to follow. A notice
//! sent while the connection is down is lost; the periodic member refresh catches up on members,
//! and the routes are rebuilt after every reconnection.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::config::Secret;
use crate::domain::DatabaseName;
use crate::members::Members;
use crate::operations::Operations;
use crate::reload::Reloader;
use crate::store::{News, REPLICAS_CHANNEL, Store};

/// What the news acts on.
pub(super) struct Listening {
    pub(super) url: Secret,
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
        let mut listener = PgListener::connect(self.url.expose()).await?;
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
