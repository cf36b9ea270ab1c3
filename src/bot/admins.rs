//! `/admins`: owners manage each database's members from inline keyboards. Pick a database → its
//! members with role and source (config members locked) → Add (Telegram's pick-a-person button),
//! Invite (a one-time `t.me/<bot>?start=…` link for one @username), Change role, Remove. Every change
//! goes through `members`, which checks it with `access::may`, audits and announces it.

use teloxide::prelude::*;
use teloxide::types::MessageId;

use super::{BotState, HandlerResult};
use crate::access::Person;
use crate::callback::Callback;

/// `/admins` (no database yet) or the `Members` button (one database): the member list.
pub async fn show(
    _bot: &Bot,
    _chat: ChatId,
    _edit: Option<MessageId>,
    _person: &Person,
    _state: &BotState,
    _database: Option<usize>,
) -> HandlerResult {
    Ok(())
}

/// The member-management buttons: `MemberAdd`, `MemberInvite`, `MemberSet`.
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

/// A message that may answer this module: a person shared through the pick-a-person button, or the
/// @username an invite waits for. `true` when it was one.
pub async fn message(
    _bot: &Bot,
    _msg: &Message,
    _person: &Person,
    _state: &BotState,
) -> Result<bool, super::BotError> {
    Ok(false)
}

/// `/start inv_<code>`: joins the database the invite is for, when the invite is the person's own,
/// unused and not expired.
pub async fn redeem(
    _bot: &Bot,
    _chat: ChatId,
    _person: &Person,
    _state: &BotState,
    _code: &str,
) -> HandlerResult {
    Ok(())
}
