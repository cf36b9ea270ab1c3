//! `/admins`: owners manage each database's members from inline keyboards. Pick a database → its
//! members with role and source (config members locked) → Add (Telegram's pick-a-person button),
//! Invite (a one-time `t.me/<bot>?start=…` link for one @username), Change role, Remove. Every change
//! goes through `members`, which checks it with `access::may`, audits and announces it; this module
//! checks `ManageMembers` again at every step, so that a refusal reads (and is audited) the same as
//! any other.

use serde_json::json;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{MessageId, ReplyMarkup};

use super::commands::Command;
use super::context::{Ask, Press};
use super::reply::{self, NOT_ALLOWED, button, say, say_with};
use super::{BotError, BotState, HandlerResult};
use crate::access::{Identity, Permission, Person, Source, may};
use crate::callback::{Callback, Keyboard};
use crate::domain::{DatabaseName, MemberKey, Role, TelegramUserId};
use crate::members::{Changed, Member, MemberError, role_name};
use crate::telegram::html::escape;

pub(super) const STALE: &str = "This button is no longer valid; send /admins again.";

/// The person's roles now, when they may manage the members of `database`. Otherwise they are told
/// "Not allowed" (here no button press waits for an answer) and the refusal is audited as a refused
/// press is; `detail` says what was tried.
pub(super) async fn manager(
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
pub(super) fn readable(error: MemberError) -> Result<String, BotError> {
    match BotError::from(error) {
        BotError::User(text) => Ok(text),
        internal => Err(internal),
    }
}

/// What a change did, in a sentence (plain text: it may answer a button press).
pub(super) fn changed(who: &str, database: &str, role: Option<Role>, changed: Changed) -> String {
    match (changed, role) {
        (Changed::Removed { .. }, _) | (_, None) => {
            format!("{who} is no longer a member of {database}.")
        }
        (Changed::Unchanged, Some(role)) => {
            format!("{who} is already {} of {database}.", role_name(role))
        }
        (_, Some(role)) => format!("{who} is now {} of {database}.", role_name(role)),
    }
}

/// The positions of the databases whose members the caller manages.
fn managed(state: &BotState, who: &Identity) -> Vec<usize> {
    let config = state.settings.config();
    config
        .databases
        .iter()
        .enumerate()
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
    let config = state.settings.config();
    let chosen = database.and_then(|i| Some((i, config.databases.get(i)?)));
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
                let name = &state.settings.config().databases[database].name;
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
    let config = state.settings.config();
    let Some(db) = config.databases.get(database) else {
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
        text.push_str(&member_line(member));
        rows.extend(member_rows(&db.name, member));
    }
    rows.extend(list_rows(&db.name, several));
    reply::show(bot, state, chat, edit, text, &Keyboard::new(rows)).await?;
    Ok(())
}

/// A member's line of the list: who, their role, where it comes from, and for a username, whose
/// account it is.
fn member_line(member: &Member) -> String {
    let source = match &member.added_by {
        Some(by) if member.source == Source::Runtime => format!("added by {}", escape(by)),
        _ => "🔒 config".to_owned(),
    };
    let role = member.role.as_str();
    let mut line = format!("\n{} · {role} · {source}", escape(&member.display));
    // A username is whoever claimed it first with /start; say who that is.
    if matches!(member.key, MemberKey::Username(_)) {
        match member.user_id {
            Some(id) => line.push_str(&format!(" · user <code>{id}</code>")),
            None => line.push_str(" · has not pressed Start yet"),
        }
        if let Some(user) = claimant(member) {
            line.push_str(&format!(" · ⚠️ claimed by user <code>{user}</code>"));
        }
    }
    line
}

/// Another account that claimed a member's username since.
fn claimant(member: &Member) -> Option<TelegramUserId> {
    let claimed = member.claimed_by?;
    TelegramUserId::new(claimed).ok()
}

/// A member's buttons: binding a claimed username to its claimant, changing the role, removing.
fn member_rows(database: &DatabaseName, member: &Member) -> Vec<Vec<(String, Callback)>> {
    let mut rows = Vec::new();
    if let (MemberKey::Username(name), Some(user)) = (&member.key, claimant(member)) {
        let rebind = Callback::MemberRebind {
            database: database.clone(),
            username: name.clone(),
            user,
        };
        rows.push(vec![button(format!("🔁 {name} is user {user}"), rebind)]);
    }
    // Config members are changed in the config only: they get no buttons.
    if member.source != Source::Runtime {
        return rows;
    }
    let shown = &member.display;
    let (other, label) = match member.role {
        Role::Admin => (Role::Viewer, "⬇ viewer"),
        _ => (Role::Admin, "⬆ admin"),
    };
    let to = |role| Callback::MemberSet {
        database: database.clone(),
        member: member.key.clone(),
        role,
    };
    rows.push(vec![
        button(format!("{label}: {shown}"), to(Some(other))),
        button(format!("✖ remove {shown}"), to(None)),
    ]);
    rows
}

/// The buttons under the list: add and invite, and the way back to the picker when `several`.
fn list_rows(database: &DatabaseName, several: bool) -> Vec<Vec<(String, Callback)>> {
    let add = |role| Callback::MemberAdd {
        database: database.clone(),
        role,
    };
    let invite = |role| Callback::MemberInvite {
        database: database.clone(),
        role,
    };
    let mut rows = vec![
        vec![
            button("➕ Add admin", add(Role::Admin)),
            button("➕ Add viewer", add(Role::Viewer)),
        ],
        vec![
            button("🔗 Invite admin", invite(Role::Admin)),
            button("🔗 Invite viewer", invite(Role::Viewer)),
        ],
    ];
    if several {
        let back = Callback::Members { database: None };
        rows.push(vec![button("◀ Databases", back)]);
    }
    rows
}

/// `/admins`.
pub fn commands() -> UpdateHandler<BotError> {
    dptree::filter(|command: Command| command == Command::Admins).endpoint(command)
}

async fn command(ask: Ask) -> HandlerResult {
    let result = show(&ask.bot, ask.chat(), None, &ask.person, &ask.state, None).await;
    ask.report(result).await
}

/// The buttons of member lists: a database's list, change a role, remove, rebind a username.
pub fn buttons() -> UpdateHandler<BotError> {
    dptree::filter(|press: Press| {
        matches!(
            press.callback,
            Callback::Members { .. } | Callback::MemberSet { .. } | Callback::MemberRebind { .. }
        )
    })
    .endpoint(pressed)
}

async fn pressed(press: Press) -> HandlerResult {
    let result = handle(&press).await;
    press.report(result).await
}

async fn handle(press: &Press) -> HandlerResult {
    let (bot, state, person) = (&press.bot, &press.state, &press.person);
    if let Callback::Members { database } = &press.callback {
        press.answer("").await?;
        let index = match database {
            Some(name) => match state.settings.config().position_of(name) {
                Some(index) => Some(index),
                None => return Ok(()),
            },
            None => None,
        };
        return match press.place {
            Some((chat, message)) => show(bot, chat, Some(message), person, state, index).await,
            None => Ok(()),
        };
    }
    let Some(Managing {
        database,
        name,
        who,
        chat,
        message,
    }) = Managing::of(press).await?
    else {
        return Ok(());
    };
    let name = name.as_str();
    match &press.callback {
        Callback::MemberSet { member, role, .. } => {
            let result = match role {
                Some(role) => state.members.set(&who, name, member, *role).await,
                None => state.members.remove(&who, name, member).await,
            };
            let done = result?;
            let shown = state.members.display(member).await?;
            press.answer(&changed(&shown, name, *role, done)).await?;
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
            press.answer(&text).await?;
            let several = managed(state, &who).len() > 1;
            list(bot, (chat, Some(message)), state, database, several).await
        }
        _ => Ok(()),
    }
}

/// A press on a database's member list by someone who may manage its members at the moment of the
/// press (not when the list was shown: a removed owner or admin is refused).
pub(super) struct Managing {
    /// Its position in the config (for the list shown after the change) and its name.
    pub database: usize,
    pub name: DatabaseName,
    pub who: Identity,
    pub chat: ChatId,
    pub message: MessageId,
}

impl Managing {
    /// `None` once the press is answered: a stale button, or a refusal (audited).
    pub(super) async fn of(press: &Press) -> Result<Option<Managing>, BotError> {
        let (Callback::MemberAdd { database, .. }
        | Callback::MemberInvite { database, .. }
        | Callback::MemberSet { database, .. }
        | Callback::MemberRebind { database, .. }) = &press.callback
        else {
            return Ok(None);
        };
        let state = &press.state;
        let config = state.settings.config();
        let (Some(database), Some((chat, message))) = (config.position_of(database), press.place)
        else {
            press.answer(STALE).await?;
            return Ok(None);
        };
        let name = config.databases[database].name.clone();
        let who = state.identity(&press.person).await?;
        if !may(&who, Permission::ManageMembers, Some(name.as_str())) {
            press.refuse(None, NOT_ALLOWED).await?;
            return Ok(None);
        }
        Ok(Some(Managing {
            database,
            name,
            who,
            chat,
            message,
        }))
    }
}
