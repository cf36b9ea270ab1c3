//! Delivery of the outbox: Telegram messages (sends, edits, storm digests, notices) and email
//! (escalation, fallback, resolution). `worker` claims and performs jobs; `render` decides what they
//! say; `telegram`, `throttle` and `email` talk to the outside world.

pub mod email;
pub mod links;
pub mod render;
pub mod telegram;
pub mod throttle;
pub mod worker;
