//! Delivery of the outbox: Telegram messages (sends, edits, storm digests, notices) and email
//! (escalation, fallback, resolution). `worker` claims and performs jobs; `render` decides what they
//! say; `telegram` (through the shared client of [`crate::telegram`]) and `email` talk to the outside
//! world; `links` offers the views and actions that help with an alert.

pub mod email;
pub mod links;
pub mod render;
pub mod telegram;
pub mod worker;
