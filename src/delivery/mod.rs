//! Delivery of the outbox: Telegram messages (sends, edits, storm digests, notices) and email
//! (escalation, fallback, resolution). `worker` claims and performs jobs; `render` decides what they
//! say; `telegram` (through the shared client of [`crate::telegram`]) and `email` talk to the outside
//! world; `links` offers the views and actions that help with an alert.

pub mod email;
pub mod links;
pub mod render;
pub mod telegram;
pub mod worker;

use std::sync::Arc;

use crate::access::Access;
use crate::config::Config;

/// What the config decides about delivering: replaced whole by a reload, read once per job.
pub struct Setup {
    pub config: Arc<Config>,
    /// Who may press which button: a viewer's copy of an alert carries only what they may use.
    pub access: Arc<Access>,
    /// View and action buttons for alert messages.
    pub links: Arc<links::Links>,
    /// `None` without `smtp`: nothing is emailed.
    pub mailer: Option<email::Mailer>,
}
