//! Delivery of the outbox: Telegram messages (sends, edits, storm digests, notices) and email
//! (escalation, fallback, resolution). `worker` claims and performs jobs; `render` decides what they
//! say; `telegram`, `throttle` and `email` talk to the outside world; `reach` says whether Telegram
//! answers, and why not (the bot's start-up writes it, `/-/ready` and `app::run` read it).

pub mod email;
pub mod links;
pub mod reach;
pub mod render;
pub mod telegram;
pub mod throttle;
pub mod worker;
