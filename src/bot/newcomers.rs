//! How people join a database from the bot: an owner picks them with Telegram's pick-a-person
//! keyboard (`MemberAdd`), or sends them a one-time invite link made for their @username
//! (`MemberInvite`), which they open with `/start`. The change itself goes through `members`; the
//! steps here check `ManageMembers` again each time, as `admins` does.

use serde_json::json;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, ForceReply, KeyboardButton, KeyboardButtonRequestUsers, KeyboardMarkup,
    ReplyMarkup, RequestId, UsersShared,
};

use super::admins::{Managing, changed, manager, readable};
use super::commands::Command;
use super::context::{Press, report_in};
use super::reply::{say, say_with};
use super::{BotError, BotState, HandlerResult};
use crate::access::Person;
use crate::callback::Callback;
use crate::domain::{MemberKey, TelegramUserId, Username};
use crate::i18n::Lang;
use crate::members::{INVITE_PREFIX, INVITE_VALID};
use crate::store::{Invite, Redeemed};
use crate::telegram::html::escape;
use crate::tr;

/// Where a chat's pending pick-a-person request is recorded: among the buttons, at a message id
/// Telegram never gives (its ids start at 1). Telegram hands back only the request's id with the person
/// picked, so the id is random and its meaning (database by name, role) is kept beside it; a newer
/// request in the same chat replaces the older one.
const PICK_REQUESTS: i64 = 0;

fn request_key(id: i32) -> String {
    format!("pick:{id}")
}

/// Add (pick a person) and Invite (a link) on a member list.
pub fn buttons() -> UpdateHandler<BotError> {
    dptree::filter(|press: Press| {
        matches!(
            press.callback,
            Callback::MemberAdd { .. } | Callback::MemberInvite { .. }
        )
    })
    .endpoint(pressed)
}

async fn pressed(press: Press) -> HandlerResult {
    let result = handle(&press).await;
    press.report(result).await
}

async fn handle(press: &Press) -> HandlerResult {
    let Some(Managing {
        name, who, chat, ..
    }) = Managing::of(press).await?
    else {
        return Ok(());
    };
    let (bot, state, person, lang) = (&press.bot, &press.state, &press.person, press.lang);
    let name = name.as_str();
    match &press.callback {
        Callback::MemberAdd { role, .. } => {
            // Telegram offers its pick-a-person keyboard in private chats only.
            if !chat.is_user() {
                return press.answer(&tr!(lang, "members-pick-in-private")).await;
            }
            // Random: a predictable id would let another pick be passed off as this one.
            let id = crate::tokens::random_id();
            let meaning = [(request_key(id), press.callback.encode())];
            state
                .store
                .put_buttons(chat.0, PICK_REQUESTS, &meaning, state.clock.now())
                .await?;
            press.answer("").await?;
            let request = KeyboardButtonRequestUsers::new(RequestId(id)).user_is_bot(false);
            let request = ButtonRequest::RequestUsers(request.request_username());
            let pick = KeyboardButton::new(tr!(lang, "members-pick-button")).request(request);
            let keyboard = KeyboardMarkup::new([[pick]]).one_time_keyboard();
            let text = tr!(
                lang,
                "members-pick",
                role = role.as_str(),
                database = escape(name)
            );
            let markup = ReplyMarkup::Keyboard(keyboard.resize_keyboard());
            say_with(bot, state, chat, text, Some(markup)).await
        }
        Callback::MemberInvite { role, .. } => {
            let started = state
                .members
                .start_invite(&who, person.id.get(), chat.0, name, *role)
                .await;
            let id = started?;
            press.answer("").await?;
            let text = tr!(
                lang,
                "members-invite-ask",
                database = escape(name),
                role = role.as_str(),
                hours = INVITE_VALID.num_hours()
            );
            let asked = say_with(bot, state, chat, text, Some(ask_username())).await;
            if asked.is_err() {
                // Nobody was asked, so no answer may be taken for one.
                state.store.drop_invite(id).await?;
            }
            asked
        }
        _ => Ok(()),
    }
}

/// `/start inv_<code>`, from anyone (an invite link works for someone the bot does not know yet:
/// that is its point): the code.
pub fn invite_links() -> UpdateHandler<BotError> {
    dptree::filter_map(|command: Command| match command {
        Command::Start(payload) => Some(InviteCode(
            payload.trim().strip_prefix(INVITE_PREFIX)?.to_owned(),
        )),
        _ => None,
    })
    .endpoint(opened)
}

/// The code of an invite link, as opened.
#[derive(Clone)]
struct InviteCode(String);

async fn opened(
    bot: Bot,
    message: Message,
    state: std::sync::Arc<BotState>,
    code: InviteCode,
) -> HandlerResult {
    let Some(person) = message.from.as_ref().and_then(BotState::person) else {
        return Ok(());
    };
    let chat = message.chat.id;
    let lang = Lang::from_telegram(
        message
            .from
            .as_ref()
            .and_then(|u| u.language_code.as_deref()),
    );
    let result = redeem(&bot, chat, &person, &state, &code.0, lang).await;
    report_in(&bot, &state, chat, lang, result).await
}

fn ask_username() -> ReplyMarkup {
    ReplyMarkup::ForceReply(ForceReply::new().input_field_placeholder("@username".to_owned()))
}

/// A message that may answer this module: a person shared through the pick-a-person button, or the
/// @username an invite waits for. `true` when it was one.
pub async fn message(
    bot: &Bot,
    msg: &Message,
    person: &Person,
    state: &BotState,
    lang: Lang,
) -> Result<bool, super::BotError> {
    let chat = msg.chat.id;
    if let Some(shared) = msg.shared_users() {
        picked(bot, (chat, person), state, shared, lang).await?;
        return Ok(true);
    }
    // A command always reaches its handler: that is how an owner moves on from a question.
    let Some(text) = msg.text().map(str::trim).filter(|t| !t.starts_with('/')) else {
        return Ok(false);
    };
    let now = state.clock.now();
    let Some(invite) = state
        .store
        .awaiting_invite(person.id.get(), chat.0, now)
        .await?
    else {
        return Ok(false);
    };
    addressee(bot, (chat, person), state, invite, text, lang).await?;
    Ok(true)
}

/// The person picked with the keyboard of `MemberAdd`.
async fn picked(
    bot: &Bot,
    (chat, person): (ChatId, &Person),
    state: &BotState,
    shared: &UsersShared,
    lang: Lang,
) -> HandlerResult {
    let removal = || Some(ReplyMarkup::kb_remove());
    let asked = state
        .store
        .button(chat.0, PICK_REQUESTS, &request_key(shared.request_id.0))
        .await?;
    let config = state.settings.config();
    let target = match asked.as_deref().and_then(Callback::parse) {
        Some(Callback::MemberAdd { database, role }) => config
            .databases
            .iter()
            .find(|db| db.name == database)
            .map(|db| (db, role)),
        _ => None,
    };
    let user = shared.users.first().and_then(|u| {
        let id = TelegramUserId::new(i64::try_from(u.user_id.0).ok()?).ok()?;
        Some((id, u.username.as_deref()))
    });
    let (Some((db, role)), Some((id, username))) = (target, user) else {
        return say_with(bot, state, chat, tr!(lang, "members-stale"), removal()).await;
    };
    let name = db.name.as_str();
    let detail = json!({ "users_shared": shared.request_id.0 });
    let Some(who) = manager(bot, state, (chat, person), name, detail, lang).await? else {
        return Ok(());
    };
    // The username Telegram shares names the new member in the list and in announcements until they
    // write to the bot themselves. Without one, what is already known stays.
    if let Some(username) = username {
        let now = state.clock.now();
        state
            .store
            .remember_user(id.get(), Some(username), None, now)
            .await?;
    }
    let member = MemberKey::Id(id);
    let text = match state.members.set(&who, name, &member, role).await {
        Ok(done) => changed(
            &state.members.display(&member).await?,
            name,
            Some(role),
            done,
            lang,
        ),
        Err(e) => readable(e, lang)?,
    };
    say_with(bot, state, chat, escape(&text), removal()).await
}

/// The @username an invite waits for: issues the link, or says what is wrong and keeps waiting.
async fn addressee(
    bot: &Bot,
    (chat, person): (ChatId, &Person),
    state: &BotState,
    invite: Invite,
    text: &str,
    lang: Lang,
) -> HandlerResult {
    let database = invite.database.as_str();
    let detail = json!({ "invite": invite.id });
    if manager(bot, state, (chat, person), database, detail, lang)
        .await?
        .is_none()
    {
        // The invite dies with its creator's right to make it.
        return Ok(state.store.drop_invite(invite.id).await?);
    }
    // People often leave out the @.
    let handle = format!("@{}", text.strip_prefix('@').unwrap_or(text));
    let username = match Username::parse_handle(&handle) {
        Ok(username) => username,
        Err(e) => {
            let again = tr!(lang, "members-invite-again");
            let text = format!("⚠️ {}\n\n{again}", escape(&e));
            return say_with(bot, state, chat, text, Some(ask_username())).await;
        }
    };
    let Some(code) = state
        .members
        .issue_invite(invite.id, username.as_str())
        .await?
    else {
        return say(bot, state, chat, tr!(lang, "members-invite-replaced")).await;
    };
    // Not through the throttle: getMe writes to no chat.
    let me = bot.get_me().await?;
    let link = format!("https://t.me/{}?start={INVITE_PREFIX}{code}", me.username());
    let until = state.clock.now() + INVITE_VALID;
    let text = tr!(
        lang,
        "members-invite-link",
        username = escape(&username.to_string()),
        role = invite.role.as_str(),
        database = escape(database),
        until = until.format("%Y-%m-%d %H:%M UTC").to_string(),
        link = escape(&link),
    );
    say(bot, state, chat, text).await
}

/// `/start inv_<code>`: joins the database the invite is for, when the invite is the person's own,
/// unused and not expired.
async fn redeem(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    code: &str,
    lang: Lang,
) -> HandlerResult {
    let text = match state.members.redeem(person, code).await {
        // `members` queued the welcome and the firing incidents: this only confirms.
        Ok(Redeemed::Joined { database, role, .. }) => {
            // Opening the link pressed Start: the private chat is reachable (again).
            state.store.mark_reachable(&person.keys()).await?;
            let database = escape(&database);
            tr!(
                lang,
                "members-joined",
                role = role.as_str(),
                database = database
            )
        }
        Ok(Redeemed::Expired) => tr!(lang, "invite-expired"),
        Ok(Redeemed::Used) => tr!(lang, "invite-used"),
        Ok(Redeemed::WrongUser) if person.username.is_none() => {
            tr!(lang, "invite-not-yours-no-username")
        }
        Ok(Redeemed::WrongUser) => tr!(lang, "invite-not-yours"),
        Ok(Redeemed::Unknown) => tr!(lang, "invite-unknown"),
        Err(e) => escape(&readable(e, lang)?),
    };
    say(bot, state, chat, text).await
}
