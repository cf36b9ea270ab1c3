//! `/tokens`: owners list API tokens (config ones locked, ones created here with Revoke) and create
//! them: `/tokens NAME` → role → one database or all → the token, shown once. Only its SHA-256 is kept.

use teloxide::prelude::*;
use teloxide::types::MessageId;

use super::{BotState, HandlerResult};
use crate::access::Person;
use crate::callback::Callback;

/// `/tokens` (list) or `/tokens NAME` (create).
pub async fn command(
    _bot: &Bot,
    _chat: ChatId,
    _person: &Person,
    _state: &BotState,
    _name: &str,
) -> HandlerResult {
    Ok(())
}

/// `TokenNew`, `TokenRevoke`, `TokenHide`.
pub async fn pressed(
    _bot: &Bot,
    _query: &CallbackQuery,
    _state: &BotState,
    _person: &Person,
    _callback: &Callback,
    _place: Option<(ChatId, MessageId)>,
) -> HandlerResult {
    Ok(())
}
