//! The time of day as the service sees it: every timestamp it stores or compares (incidents and their
//! escalation, outbox due times and leases, storm spacing, dialogues, buttons, invites, tokens, runs,
//! the audit) comes from one [`Clock`], the system's in production. Waiting for a span of time
//! (the throttle, call deadlines, a Telegram call's pause before its next try) stays with tokio's
//! timer, which unit tests pause.
//! Calls nothing; `app` hands it to HTTP, the bot, the delivery worker, `members`, `operations` and
//! housekeeping.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// Where the time comes from. The system's in production; another source (a test's, say) is handed
/// to [`crate::app::start`].
pub trait TimeSource: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves when the time jumps, so that what waits for a moment to come (the delivery worker's
    /// due jobs, housekeeping's lifetimes) looks again at once. The system's time never says so: it
    /// moves steadily, and both look often anyway.
    fn jumped(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::pending())
    }
}

/// The system's time.
struct System;

impl TimeSource for System {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A cheap, shared handle on the service's time source.
#[derive(Clone)]
pub struct Clock(Arc<dyn TimeSource>);

impl Clock {
    /// The system's time: what the service runs on.
    pub fn system() -> Clock {
        Clock(Arc::new(System))
    }

    pub fn new(source: impl TimeSource) -> Clock {
        Clock(Arc::new(source))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    /// `now` plus `after`.
    pub fn after(&self, after: std::time::Duration) -> DateTime<Utc> {
        self.now() + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX)
    }

    /// See [`TimeSource::jumped`].
    pub async fn jumped(&self) {
        self.0.jumped().await;
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}
