//! A Telegram recipient's feed: what happens to the alerts routed to one recipient. A few new alerts
//! go out one by one at once. More than the chat can take within the storm window are told in one
//! digest, counted in the store, and their individual messages follow at the chat's pace, queued a
//! chunk at a time; alerts arriving later still go first.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{LEASE, Worker, backoff};
use crate::access::{Permission, may};
use crate::delivery::render;
use crate::store::{BEHIND_DIGEST, ClaimedFeed, ClaimedJob, FeedNews, QueueSends, StoreError};

/// When a chat's new alerts would take longer than this one by one, they are told in a digest.
const STORM_WINDOW: Duration = Duration::from_secs(5);
/// The pace of one chat (Telegram: about one message a second).
const CHAT_PACE: Duration = Duration::from_millis(1150);
/// The pace of individual messages behind a digest in a group (Telegram: 20 a minute).
const GROUP_PACE: Duration = Duration::from_millis(3200);
/// Individual sends queued at once behind a digest: about a minute of a chat's pace.
const BACKLOG_CHUNK: i64 = 50;
/// How long a message behind a digest steps back while another chat still waits for its digest.
const BACKLOG_YIELD: Duration = Duration::from_secs(1);
/// How long after its expected turn a chat waiting for its digest still holds the backlog back (its
/// feed may have been taken by another process meanwhile).
const UNTOLD_GRACE: Duration = Duration::from_secs(2);

/// What became of a storm digest.
enum Digest {
    /// The chat has been told.
    Told,
    /// The chat's turn is not yet: try again after this.
    Later(Duration),
    /// No digest goes to this chat (nothing it may read, or Telegram will not deliver there): the
    /// alerts go one by one, and each send meets the reason itself.
    OneByOne,
}

fn pace(chat: Option<i64>) -> Duration {
    match chat {
        Some(chat) if chat < 0 => GROUP_PACE,
        _ => CHAT_PACE,
    }
}

impl Worker {
    /// Takes one step of a claimed feed, performs the sends it queued for at once, then records where
    /// the feed stands. The sends go first: recording the step is a commit that need not delay an
    /// alert (the feed stays leased meanwhile, and whatever arrives meanwhile makes it due again).
    pub(super) async fn feed(&self, mut feed: ClaimedFeed) {
        let (next, now) = match self.step(&mut feed).await {
            Ok(step) => step,
            Err(e) => {
                tracing::warn!(recipient = %feed.recipient, error = %e, "a Telegram feed step failed");
                (Some(self.clock.after(backoff(1))), Vec::new())
            }
        };
        for job in now {
            self.perform(job).await;
        }
        self.record("a feed's step", || {
            self.store
                .settle_feed(&feed, &self.owner, self.clock.now(), next)
        })
        .await;
    }

    /// Moves the feed's positions on; returns when it is due next and the sends to perform now.
    async fn step(
        &self,
        feed: &mut ClaimedFeed,
    ) -> Result<(Option<DateTime<Utc>>, Vec<ClaimedJob>), StoreError> {
        let chat = self.chat_of(&feed.recipient).await?;
        let mut news = self
            .store
            .feed_news(&feed.recipient, feed.told_upto)
            .await?;
        let mut backlog_from = self.clock.now();
        let mut now = Vec::new();
        if news.count > 0 {
            let many = CHAT_PACE * u32::try_from(news.count).unwrap_or(u32::MAX) > STORM_WINDOW;
            let digest = match chat {
                Some(chat) if many => self.digest(feed, chat, &mut news).await?,
                _ => Digest::OneByOne,
            };
            self.untold(&feed.recipient, &digest);
            match digest {
                Digest::Later(wait) => return Ok((Some(self.clock.after(wait)), now)),
                Digest::Told => backlog_from = self.clock.after(pace(chat)),
                // Many alerts and no digest (Telegram failing, or nothing this person may read): one
                // by one at the chat's pace, as behind a digest, so that the chat's sends do not all
                // fall due at once.
                Digest::OneByOne if many && chat.is_some() => {}
                // A few alerts, or no chat to pace (nobody to reach on Telegram): each at once.
                Digest::OneByOne => now = self.queue_now(feed, news, many).await?,
            }
            feed.told_upto = news.newest;
        }
        if feed.queued_upto >= feed.told_upto {
            return Ok((None, now));
        }
        // The messages behind a digest, a chunk at a time at the chat's pace; the feed comes back
        // when the last of the chunk is due.
        let spacing = pace(chat);
        let queued = self
            .store
            .queue_sends(
                &feed.recipient,
                &QueueSends {
                    after: feed.queued_upto,
                    upto: feed.told_upto,
                    limit: BACKLOG_CHUNK,
                    first: backlog_from,
                    spacing,
                    lease: None,
                    behind_digest: true,
                },
            )
            .await?;
        let last = queued.last().and_then(|job| job.incident);
        feed.queued_upto = last.map_or(feed.told_upto, |id| id.0);
        if feed.queued_upto >= feed.told_upto {
            return Ok((None, now));
        }
        let chunk = u32::try_from(queued.len().saturating_sub(1)).unwrap_or(u32::MAX);
        let due = backlog_from + chrono::Duration::from_std(spacing * chunk).unwrap_or_default();
        Ok((Some(due), now))
    }

    /// Keeps track of the chats still waiting for a storm digest. While any does, the messages behind
    /// digests step back: Telegram's global budget goes first to telling every chat of its alerts.
    fn untold(&self, recipient: &str, digest: &Digest) {
        let mut untold = self.untold.lock().unwrap_or_else(|e| e.into_inner());
        match digest {
            Digest::Later(wait) => {
                let until = tokio::time::Instant::now() + *wait + UNTOLD_GRACE;
                untold.insert(recipient.to_owned(), until);
            }
            Digest::Told | Digest::OneByOne => {
                untold.remove(recipient);
            }
        }
    }

    /// How long a send steps back before taking the chat's lock: any send whose chat is busy for long;
    /// a message behind a digest whenever its chat is busy at all (it does not wait in line ahead of
    /// the chat's next digest) and while some chat still waits for its own digest.
    pub(super) fn steps_back(&self, job: &ClaimedJob, chat: i64) -> Option<Duration> {
        if job.payload != BEHIND_DIGEST {
            return self.busy(chat);
        }
        if let Some(wait) = self.busy_for(chat, Duration::ZERO) {
            return Some(wait);
        }
        let mut untold = self.untold.lock().unwrap_or_else(|e| e.into_inner());
        let now = tokio::time::Instant::now();
        untold.retain(|_, until| *until > now);
        (!untold.is_empty()).then_some(BACKLOG_YIELD)
    }

    /// Queues the feed's new alerts as sends due now, ahead of any backlog behind a digest. A few
    /// come back claimed, for this task to perform at once; more go to the outbox for every worker.
    async fn queue_now(
        &self,
        feed: &mut ClaimedFeed,
        news: FeedNews,
        many: bool,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let lease = (!many).then(|| (self.owner.as_str(), self.clock.after(LEASE)));
        let jobs = self
            .store
            .queue_sends(
                &feed.recipient,
                &QueueSends {
                    after: feed.told_upto,
                    upto: news.newest,
                    limit: news.count,
                    first: self.clock.now(),
                    spacing: Duration::ZERO,
                    lease,
                    behind_digest: false,
                },
            )
            .await?;
        if feed.queued_upto >= feed.told_upto {
            feed.queued_upto = news.newest;
        }
        if many {
            self.wake.notify_one();
            return Ok(Vec::new());
        }
        Ok(jobs)
    }

    /// Tells the chat about the feed's new alerts in one message, counted in the store; only what
    /// the person may read now (checked after waiting for the turn, so a removal meanwhile counts),
    /// and in a group everything routed to it. The news is read again once the turn is taken: alerts
    /// that arrived while it waited are told in the same message.
    async fn digest(
        &self,
        feed: &ClaimedFeed,
        chat: i64,
        news: &mut FeedNews,
    ) -> Result<Digest, StoreError> {
        if let Some(wait) = self.busy(chat) {
            return Ok(Digest::Later(wait));
        }
        let lock = self.chat_lock(chat);
        let _one_at_a_time = lock.lock().await;
        if let Some(wait) = self.turn(chat).await {
            return Ok(Digest::Later(wait));
        }
        *news = self
            .store
            .feed_news(&feed.recipient, feed.told_upto)
            .await?;
        let mut lines = self
            .store
            .digest_lines(&feed.recipient, feed.told_upto, news.newest)
            .await?;
        if let Some(who) = self.reader(chat).await? {
            lines.retain(|line| may(&who, Permission::Read, line.database.as_deref()));
        }
        if lines.is_empty() {
            return Ok(Digest::OneByOne);
        }
        // A digest of several databases reads in the language of its biggest line's.
        let lang = self.language(chat, lines[0].database.as_deref()).await?;
        let answer = self
            .telegram
            .send(chat, &render::digest_message(lang, &lines))
            .await;
        self.throttle.done(chat);
        let error = match answer {
            Ok(_) => {
                self.count("digest", "ok");
                tracing::info!(chat, alerts = news.count, "alert storm: sent a digest");
                return Ok(Digest::Told);
            }
            Err(error) => error,
        };
        self.count("digest", error.reason());
        // Unreachable, failing or refusing: the individual sends retry, fall back to email and tell
        // the owners as they do outside a storm.
        Ok(match self.chat_says_wait(chat, &error).await? {
            Some(wait) => Digest::Later(wait),
            None => Digest::OneByOne,
        })
    }
}
