//! Telegram's rate limits, kept *before* sending: about 30 messages a second overall, one a second per
//! chat, 20 a minute per group. Each limit is a sliding window over the times messages went out, with
//! a margin below Telegram's figures. A message counts from when its answer came back, not from when
//! its turn was taken: a request delayed on its way (a busy machine) must not arrive together with the
//! ones after it. Turns overall are also spaced evenly instead of taken in bursts, for the same reason.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

const GLOBAL_PER_SECOND: usize = 28;
/// The even spacing of turns overall.
const GLOBAL_SPACING: Duration = Duration::from_millis(1000 / GLOBAL_PER_SECOND as u64);
const PER_CHAT_SPACING: Duration = Duration::from_millis(1100);
const GROUP_PER_MINUTE: usize = 19;
const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_millis(61_000);

#[derive(Default)]
struct Windows {
    global: VecDeque<Instant>,
    /// When the last turn overall was taken.
    last_turn: Option<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
    /// A chat Telegram answered 429 for is quiet until then.
    penalties: HashMap<i64, Instant>,
}

/// One for the whole service: the delivery worker and the bot's replies spend the same budgets.
#[derive(Default)]
pub struct Throttle {
    windows: Mutex<Windows>,
}

fn is_group(chat: i64) -> bool {
    chat < 0
}

impl Windows {
    fn next_free(&mut self, chat: i64, now: Instant) -> Instant {
        while self
            .global
            .front()
            .is_some_and(|t| now.duration_since(*t) >= SECOND)
        {
            self.global.pop_front();
        }
        let mut free = now;
        if self.global.len() >= GLOBAL_PER_SECOND {
            free = free.max(self.global[self.global.len() - GLOBAL_PER_SECOND] + SECOND);
        }
        if let Some(last) = self.last_turn {
            free = free.max(last + GLOBAL_SPACING);
        }
        if let Some(sent) = self.chats.get_mut(&chat) {
            while sent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= MINUTE)
            {
                sent.pop_front();
            }
            if let Some(last) = sent.back() {
                free = free.max(*last + PER_CHAT_SPACING);
            }
            if is_group(chat) && sent.len() >= GROUP_PER_MINUTE {
                free = free.max(sent[sent.len() - GROUP_PER_MINUTE] + MINUTE);
            }
        }
        if let Some(until) = self.penalties.get(&chat) {
            free = free.max(*until);
        }
        free
    }
}

impl Throttle {
    /// When a message to `chat` may go out at the earliest.
    pub fn next_free(&self, chat: i64) -> Instant {
        let now = Instant::now();
        self.lock().next_free(chat, now)
    }

    /// Takes the turn of `chat` if it is free now; otherwise says when to come back.
    pub fn try_take(&self, chat: i64) -> Result<(), Instant> {
        let now = Instant::now();
        let mut windows = self.lock();
        let free = windows.next_free(chat, now);
        if free > now {
            return Err(free);
        }
        windows.global.push_back(now);
        windows.last_turn = Some(now);
        windows.chats.entry(chat).or_default().push_back(now);
        windows.penalties.remove(&chat);
        Ok(())
    }

    /// Waits for the turn of `chat` and takes it.
    pub async fn take(&self, chat: i64) {
        while let Err(at) = self.try_take(chat) {
            tokio::time::sleep_until(at).await;
        }
    }

    /// The call to `chat` has been answered. Its turn counts from now, not from when it was taken: a
    /// request delayed on its way (a busy machine, a new connection) must not arrive right before the
    /// next one, and it has arrived by the time it is answered.
    pub fn done(&self, chat: i64) {
        let now = Instant::now();
        let mut windows = self.lock();
        let Some(last) = windows
            .chats
            .get_mut(&chat)
            .and_then(|sent| sent.back_mut())
        else {
            return;
        };
        let taken = *last;
        *last = taken.max(now);
        // The same message in the overall window: every entry there is at most `now`, so it moves to
        // the back and the window stays in order.
        if let Some(at) = windows.global.iter().rposition(|t| *t == taken) {
            windows.global.remove(at);
            windows.global.push_back(taken.max(now));
        }
    }

    /// Telegram said 429 with `retry_after`: nothing goes to `chat` before then.
    pub fn penalize(&self, chat: i64, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut windows = self.lock();
        let entry = windows.penalties.entry(chat).or_insert(until);
        *entry = (*entry).max(until);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        // A panic while holding the lock leaves the windows consistent (plain pushes and pops).
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_message_per_chat_per_spacing() {
        let throttle = Throttle::default();
        let start = Instant::now();
        assert!(throttle.try_take(5).is_ok());
        assert_eq!(throttle.try_take(5), Err(start + PER_CHAT_SPACING));
        assert_eq!(
            throttle.next_free(6),
            start + GLOBAL_SPACING,
            "other chats wait only for the overall spacing"
        );
        throttle.take(5).await;
        assert_eq!(Instant::now(), start + PER_CHAT_SPACING);
    }

    #[tokio::test(start_paused = true)]
    async fn groups_get_at_most_nineteen_a_minute() {
        let throttle = Throttle::default();
        let start = Instant::now();
        for _ in 0..GROUP_PER_MINUTE {
            throttle.take(-100).await;
        }
        let twentieth = throttle.next_free(-100);
        assert_eq!(twentieth, start + MINUTE);
        // A private chat is not limited per minute.
        for _ in 0..GROUP_PER_MINUTE + 5 {
            throttle.take(7).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_global_window_holds_across_chats() {
        let throttle = Throttle::default();
        let start = Instant::now();
        for chat in 0..GLOBAL_PER_SECOND as i64 {
            throttle.take(chat).await;
        }
        let spread = GLOBAL_SPACING * (GLOBAL_PER_SECOND as u32 - 1);
        assert_eq!(
            Instant::now(),
            start + spread,
            "turns overall are spaced evenly"
        );
        assert_eq!(throttle.try_take(1000), Err(start + SECOND));
        throttle.take(1000).await;
        assert_eq!(Instant::now(), start + SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_answer_holds_its_place_in_the_global_window() {
        let throttle = Throttle::default();
        let start = Instant::now();
        throttle.take(0).await;
        tokio::time::advance(Duration::from_millis(1200)).await;
        throttle.done(0);
        for chat in 1..GLOBAL_PER_SECOND as i64 {
            throttle.take(chat).await;
        }
        // The slow message counts from its answer at 1.2 s, so the window is full until 2.2 s.
        assert_eq!(
            throttle.next_free(1000),
            start + Duration::from_millis(1200) + SECOND
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_answer_pushes_the_next_turn_back() {
        let throttle = Throttle::default();
        throttle.take(5).await;
        tokio::time::advance(Duration::from_millis(700)).await;
        throttle.done(5);
        assert_eq!(throttle.next_free(5), Instant::now() + PER_CHAT_SPACING);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_silences_the_chat_until_retry_after() {
        let throttle = Throttle::default();
        let start = Instant::now();
        throttle.penalize(9, Duration::from_secs(7));
        assert_eq!(throttle.next_free(9), start + Duration::from_secs(7));
        assert!(throttle.try_take(10).is_ok());
    }
}
