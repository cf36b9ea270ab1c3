//! `/admins`: owners manage each database's members from inline keyboards. Pick a database → its
//! members with role and source (config members locked) → Add (Telegram's pick-a-person button),
//! Invite (a one-time `t.me/<bot>?start=…` link for one @username), Change role, Remove. Every change
//! goes through `members`, which checks it with `access::may`, audits and announces it; this module
//! checks `ManageMembers` again at every step, so that a refusal reads (and is audited) the same as
//! any other.

use serde_json::json;
use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, ForceReply, KeyboardButton, KeyboardButtonRequestUsers, KeyboardMarkup,
    MessageId, ReplyMarkup, RequestId, UsersShared,
};

use super::reply::{self, NOT_ALLOWED, answer, button, refuse, say, say_with};
use super::{BotError, BotState, HandlerResult};
use crate::access::{Identity, Permission, Person, Source, may};
use crate::callback::{Callback, Keyboard};
use crate::domain::{MemberKey, Role, TelegramUserId, Username};
use crate::members::{Changed, INVITE_PREFIX, INVITE_VALID, MemberError};
use crate::store::{Invite, Redeemed};
use crate::telegram::html::escape;

const STALE: &str = "This button is no longer valid; send /admins again.";

/// The person's roles now, when they may manage the members of `database`. Otherwise they are told
/// "Not allowed" (here no button press waits for an answer) and the refusal is audited as a refused
/// press is; `detail` says what was tried.
async fn manager(
    bot: &Bot,
    state: &BotState,
    (chat, person): (ChatId, &Person),
    database: &str,
    detail: serde_json::Value,
) -> Result<Option<Identity>, BotError> {
    let who = state.identity(person).await?;
    if may(&who, Permission::ManageMembers, Some(database)) {
        return Ok(Some(who));
    }
    if state.refusal(person, Some(database), detail).await? {
        // Also takes away a pick-a-person keyboard the person may still have.
        let removal = Some(ReplyMarkup::kb_remove());
        say_with(bot, state, chat, NOT_ALLOWED.to_owned(), removal).await?;
    }
    Ok(None)
}

/// What a person may read of a member error; the store's failures stay internal.
fn readable(error: MemberError) -> Result<String, BotError> {
    match error {
        MemberError::Store(e) => Err(e.into()),
        other => Ok(other.to_string()),
    }
}

fn a_role(role: Role) -> &'static str {
    match role {
        Role::Admin => "an admin",
        Role::Viewer => "a viewer",
        Role::Owner => "an owner",
    }
}

/// What a change did, in a sentence (plain text: it may answer a button press).
fn changed(who: &str, database: &str, role: Option<Role>, changed: Changed) -> String {
    match (changed, role) {
        (Changed::Removed { .. }, _) | (_, None) => {
            format!("{who} is no longer a member of {database}.")
        }
        (Changed::Unchanged, Some(role)) => {
            format!("{who} is already {} of {database}.", a_role(role))
        }
        (_, Some(role)) => format!("{who} is now {} of {database}.", a_role(role)),
    }
}

/// Where a chat's pending pick-a-person request is recorded: among the buttons, at a message id
/// Telegram never gives (its ids start at 1). Telegram hands back only the request's id with the person
/// picked, so the id is random and its meaning (database by name, role) is kept beside it; a newer
/// request in the same chat replaces the older one.
const PICK_REQUESTS: i64 = 0;

fn request_key(id: i32) -> String {
    format!("pick:{id}")
}

/// The positions of the databases whose members the caller manages.
fn managed(state: &BotState, who: &Identity) -> Vec<usize> {
    let databases = state.config.databases.iter().enumerate();
    databases
        .filter(|(_, db)| may(who, Permission::ManageMembers, Some(db.name.as_str())))
        .map(|(i, _)| i)
        .collect()
}

/// `/admins` and the ◀ Databases button (no database: the picker, or the list when the person manages
/// one database), or the `Members` button of one database: its member list.
pub async fn show(
    bot: &Bot,
    chat: ChatId,
    edit: Option<MessageId>,
    person: &Person,
    state: &BotState,
    database: Option<usize>,
) -> HandlerResult {
    let chosen = database.and_then(|i| Some((i, state.config.databases.get(i)?)));
    if let Some((database, db)) = chosen {
        let button = Callback::Members {
            database: Some(db.name.clone()),
        };
        let detail = json!({ "button": button.encode() });
        let place = (chat, person);
        let Some(who) = manager(bot, state, place, db.name.as_str(), detail).await? else {
            return Ok(());
        };
        let several = managed(state, &who).len() > 1;
        return list(bot, (chat, edit), state, database, several).await;
    }
    let mine = managed(state, &state.identity(person).await?);
    match mine.as_slice() {
        [] => {
            let text = "Only owners manage members. /whoami shows your roles.";
            say(bot, state, chat, text.to_owned()).await
        }
        [only] => list(bot, (chat, edit), state, *only, false).await,
        _ => {
            let databases = mine.iter().map(|&database| {
                let name = &state.config.databases[database].name;
                let database = Some(name.clone());
                vec![button(name.as_str(), Callback::Members { database })]
            });
            let keyboard = Keyboard::new(databases.collect());
            let text = "<b>Members</b>: which database?".to_owned();
            reply::show(bot, state, chat, edit, text, &keyboard).await?;
            Ok(())
        }
    }
}

/// One database's members with their buttons; `several`: offer the way back to the picker.
async fn list(
    bot: &Bot,
    (chat, edit): (ChatId, Option<MessageId>),
    state: &BotState,
    database: usize,
    several: bool,
) -> HandlerResult {
    let Some(db) = state.config.databases.get(database) else {
        return Ok(());
    };
    let name = db.name.as_str();
    let members = match state.members.list(name).await {
        Ok(members) => members,
        Err(e) => return say(bot, state, chat, escape(&readable(e)?)).await,
    };
    let mut text = format!(
        "<b>Members of {}</b>\nOwners may do everything. Admins act on alerts and run actions; \
         viewers see alerts and views. 🔒: in the configuration file.\n",
        escape(name)
    );
    if members.is_empty() {
        text.push_str("\nNo admins or viewers yet.");
    }
    let mut rows = Vec::new();
    for member in &members {
        let (shown, role) = (&member.display, member.role);
        let source = match &member.added_by {
            Some(by) if member.source == Source::Runtime => format!("added by {}", escape(by)),
            _ => "🔒 config".to_owned(),
        };
        let line = format!("\n{} · {} · {source}", escape(shown), role.as_str());
        text.push_str(&line);
        // A username is whoever claimed it first with /start; say who that is.
        if let MemberKey::Username(name) = &member.key {
            match member.user_id {
                Some(id) => text.push_str(&format!(" · user <code>{id}</code>")),
                None => text.push_str(" · has not pressed Start yet"),
            }
            let claimed = member
                .claimed_by
                .and_then(|id| TelegramUserId::new(id).ok());
            if let Some(user) = claimed {
                text.push_str(&format!(" · ⚠️ claimed by user <code>{user}</code>"));
                let rebind = Callback::MemberRebind {
                    database: db.name.clone(),
                    username: name.clone(),
                    user,
                };
                rows.push(vec![button(format!("🔁 {name} is user {user}"), rebind)]);
            }
        }
        // Config members are changed in the config only: they get no buttons.
        if member.source != Source::Runtime {
            continue;
        }
        let member = &member.key;
        let (other, label) = match role {
            Role::Admin => (Role::Viewer, "⬇ viewer"),
            _ => (Role::Admin, "⬆ admin"),
        };
        let to = |role| Callback::MemberSet {
            database: db.name.clone(),
            member: member.clone(),
            role,
        };
        rows.push(vec![
            button(format!("{label}: {shown}"), to(Some(other))),
            button(format!("✖ remove {shown}"), to(None)),
        ]);
    }
    let add = |role| Callback::MemberAdd {
        database: db.name.clone(),
        role,
    };
    let invite = |role| Callback::MemberInvite {
        database: db.name.clone(),
        role,
    };
    rows.push(vec![
        button("➕ Add admin", add(Role::Admin)),
        button("➕ Add viewer", add(Role::Viewer)),
    ]);
    rows.push(vec![
        button("🔗 Invite admin", invite(Role::Admin)),
        button("🔗 Invite viewer", invite(Role::Viewer)),
    ]);
    if several {
        let back = Callback::Members { database: None };
        rows.push(vec![button("◀ Databases", back)]);
    }
    reply::show(bot, state, chat, edit, text, &Keyboard::new(rows)).await?;
    Ok(())
}

/// The member-management buttons: `MemberAdd`, `MemberInvite`, `MemberSet`.
pub async fn pressed(
    bot: &Bot,
    query: &CallbackQuery,
    state: &BotState,
    person: &Person,
    callback: &Callback,
    place: Option<(ChatId, MessageId)>,
) -> HandlerResult {
    let (Callback::MemberAdd { database, .. }
    | Callback::MemberInvite { database, .. }
    | Callback::MemberSet { database, .. }
    | Callback::MemberRebind { database, .. }) = callback
    else {
        return Ok(());
    };
    let (Some(database), Some((chat, message))) = (state.database_index(database), place) else {
        return answer(bot, query, STALE).await;
    };
    let db = &state.config.databases[database];
    let name = db.name.as_str();
    // The presser's roles now, not when the list was shown: a removed owner or admin is refused.
    let who = state.identity(person).await?;
    if !may(&who, Permission::ManageMembers, Some(name)) {
        return refuse(
            bot,
            query,
            state,
            person,
            None,
            &callback.encode(),
            NOT_ALLOWED,
        )
        .await;
    }
    match callback {
        Callback::MemberSet { member, role, .. } => {
            let result = match role {
                Some(role) => state.members.set(&who, name, member, *role).await,
                None => state.members.remove(&who, name, member).await,
            };
            let done = match result {
                Ok(done) => done,
                Err(e) => return answer(bot, query, &readable(e)?).await,
            };
            let shown = state.members.display(member).await?;
            answer(bot, query, &changed(&shown, name, *role, done)).await?;
            if done == Changed::Unchanged {
                return Ok(()); // the list shows it already; an identical edit would be refused
            }
            let several = managed(state, &who).len() > 1;
            list(bot, (chat, Some(message)), state, database, several).await
        }
        Callback::MemberRebind { username, user, .. } => {
            let text = match state.members.rebind(&who, name, username, *user).await {
                Ok(true) => format!("{username} is user {user} from now on."),
                Ok(false) => format!("User {user} no longer claims {username}."),
                Err(e) => readable(e)?,
            };
            answer(bot, query, &text).await?;
            let several = managed(state, &who).len() > 1;
            list(bot, (chat, Some(message)), state, database, several).await
        }
        Callback::MemberAdd { role, .. } => {
            // Telegram offers its pick-a-person keyboard in private chats only.
            if !chat.is_user() {
                let text = "Picking a person works in a private chat with me; here, invite them.";
                return answer(bot, query, text).await;
            }
            // Random: a predictable id would let another pick be passed off as this one.
            let id = crate::tokens::random_id();
            let meaning = [(request_key(id), callback.encode())];
            state
                .store
                .put_buttons(chat.0, PICK_REQUESTS, &meaning, state.clock.now())
                .await?;
            answer(bot, query, "").await?;
            let request = KeyboardButtonRequestUsers::new(RequestId(id)).user_is_bot(false);
            let request = ButtonRequest::RequestUsers(request.request_username());
            let pick = KeyboardButton::new("👤 Choose a person").request(request);
            let keyboard = KeyboardMarkup::new([[pick]]).one_time_keyboard();
            let text = format!(
                "Press <b>👤 Choose a person</b> below to pick who becomes {} of <b>{}</b>.\n\n\
                 They should press Start in a private chat with me: until they do, Telegram does not \
                 let me write to them, and their alerts go to the database's fallback email.",
                a_role(*role),
                escape(name)
            );
            let markup = ReplyMarkup::Keyboard(keyboard.resize_keyboard());
            say_with(bot, state, chat, text, Some(markup)).await
        }
        Callback::MemberInvite { role, .. } => {
            let started = state
                .members
                .start_invite(&who, person.id.get(), chat.0, name, *role)
                .await;
            let id = match started {
                Ok(id) => id,
                Err(e) => return answer(bot, query, &readable(e)?).await,
            };
            answer(bot, query, "").await?;
            let text = format!(
                "Send the @username of the person to invite to <b>{}</b> as {}. The link will work \
                 once, for them only, for {} hours.",
                escape(name),
                role.as_str(),
                INVITE_VALID.num_hours()
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
) -> Result<bool, super::BotError> {
    let chat = msg.chat.id;
    if let Some(shared) = msg.shared_users() {
        picked(bot, (chat, person), state, shared).await?;
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
    addressee(bot, (chat, person), state, invite, text).await?;
    Ok(true)
}

/// The person picked with the keyboard of `MemberAdd`.
async fn picked(
    bot: &Bot,
    (chat, person): (ChatId, &Person),
    state: &BotState,
    shared: &UsersShared,
) -> HandlerResult {
    let removal = || Some(ReplyMarkup::kb_remove());
    let asked = state
        .store
        .button(chat.0, PICK_REQUESTS, &request_key(shared.request_id.0))
        .await?;
    let target = match asked.as_deref().and_then(Callback::parse) {
        Some(Callback::MemberAdd { database, role }) => state
            .config
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
        return say_with(bot, state, chat, STALE.to_owned(), removal()).await;
    };
    let name = db.name.as_str();
    let detail = json!({ "users_shared": shared.request_id.0 });
    let Some(who) = manager(bot, state, (chat, person), name, detail).await? else {
        return Ok(());
    };
    // The username Telegram shares names the new member in the list and in announcements until they
    // write to the bot themselves. Without one, what is already known stays.
    if let Some(username) = username {
        let now = state.clock.now();
        state
            .store
            .remember_user(id.get(), Some(username), now)
            .await?;
    }
    let member = MemberKey::Id(id);
    let text = match state.members.set(&who, name, &member, role).await {
        Ok(done) => changed(
            &state.members.display(&member).await?,
            name,
            Some(role),
            done,
        ),
        Err(e) => readable(e)?,
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
) -> HandlerResult {
    let database = invite.database.as_str();
    let detail = json!({ "invite": invite.id });
    if manager(bot, state, (chat, person), database, detail)
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
            let again = "Send the @username of the person to invite, or /admins to start over.";
            let text = format!("⚠️ {}\n\n{again}", escape(&e));
            return say_with(bot, state, chat, text, Some(ask_username())).await;
        }
    };
    let Some(code) = state
        .members
        .issue_invite(invite.id, username.as_str())
        .await?
    else {
        let text = "This invite was replaced or cancelled meanwhile; start again from /admins.";
        return say(bot, state, chat, text.to_owned()).await;
    };
    // Not through the throttle: getMe writes to no chat.
    let me = bot.get_me().await?;
    let link = format!("https://t.me/{}?start={INVITE_PREFIX}{code}", me.username());
    let until = state.clock.now() + INVITE_VALID;
    let text = format!(
        "🔗 Send this link to {}. Opened by them, it makes them {} of <b>{}</b>; it works once, \
         until {}.\n\n{}",
        escape(&username.to_string()),
        a_role(invite.role),
        escape(database),
        until.format("%Y-%m-%d %H:%M UTC"),
        escape(&link)
    );
    say(bot, state, chat, text).await
}

/// `/start inv_<code>`: joins the database the invite is for, when the invite is the person's own,
/// unused and not expired.
pub async fn redeem(
    bot: &Bot,
    chat: ChatId,
    person: &Person,
    state: &BotState,
    code: &str,
) -> HandlerResult {
    let again = "ask an owner for a new one.";
    let text = match state.members.redeem(person, code).await {
        // `members` queued the welcome and the firing incidents: this only confirms.
        Ok(Redeemed::Joined { database, role, .. }) => {
            // Opening the link pressed Start: the private chat is reachable (again).
            state.store.mark_reachable(&person.keys()).await?;
            let database = escape(&database);
            format!("✅ You are now {} of <b>{database}</b>.", a_role(role))
        }
        Ok(Redeemed::Expired) => format!("This invite has expired; {again}"),
        Ok(Redeemed::Used) => format!("This invite was already used; {again}"),
        Ok(Redeemed::WrongUser) if person.username.is_none() => {
            "This invite is for someone else. If it is for you, set a Telegram username and open \
             the link again."
                .to_owned()
        }
        Ok(Redeemed::WrongUser) => "This invite is for someone else.".to_owned(),
        Ok(Redeemed::Unknown) => format!("This invite link is not valid; {again}"),
        Err(e) => escape(&readable(e)?),
    };
    say(bot, state, chat, text).await
}
