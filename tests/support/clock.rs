//! A clock the test moves forward: the system's time plus however far the test has skipped ahead.
//! Time keeps flowing (retries, deferrals and leases work as in production); what waits for minutes
//! (an escalation, an invite's expiry) comes when the test says so instead of after real minutes.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgram::clock::{Clock, TimeSource};
use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct TestClock {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    skipped: Mutex<chrono::Duration>,
    jumped: Notify,
}

impl TestClock {
    /// The handle the service is started with.
    pub fn clock(&self) -> Clock {
        Clock::new(self.clone())
    }

    pub fn now(&self) -> DateTime<Utc> {
        TimeSource::now(self)
    }

    /// Moves the time forward by `by`, and tells the service it jumped.
    pub fn advance(&self, by: Duration) {
        *self.inner.skipped.lock().unwrap() += chrono::Duration::from_std(by).unwrap();
        self.inner.jumped.notify_waiters();
    }
}

impl TimeSource for TestClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.inner.skipped.lock().unwrap()
    }

    fn jumped(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.inner.jumped.notified())
    }
}
