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
use super::reply::{self, button, not_allowed, say, say_with};
use super::{BotError, BotState, HandlerResult};
use crate::access::{Identity, Permission, Person, Source, may};
use crate::callback::{Callback, Keyboard};
use crate::domain::{DatabaseName, MemberKey, Role, TelegramUserId};
use crate::i18n::Lang;
use crate::members::{Changed, Member, MemberError};
use crate::telegram::html::escape;
use crate::tr;

/// The person's roles now, when they may manage the members of `database`. Otherwise they are told
/// "Not allowed" (here no button press waits for an answer) and the refusal is audited as a refused
/// press is; `detail` says what was tried.
pub(super) async fn manager(
    bot: &Bot,
    state: &BotState,
    (chat, person): (ChatId, &Person),
    database: &str,
    detail: serde_json::Value,
    lang: Lang,
) -> Result<Option<Identity>, BotError> {
    let who = state.identity(person).await?;
    if may(&who, Permission::ManageMembers, Some(database)) {
        return Ok(Some(who));
    }
    if state.refusal(person, Some(database), detail).await? {
        // Also takes away a pick-a-person keyboard the person may still have.
        let removal = Some(ReplyMarkup::kb_remove());
        say_with(bot, state, chat, not_allowed(lang), removal).await?;
    }
    Ok(None)
}

/// What a person may read of a member error, in `lang`; the store's failures stay internal.
pub(super) fn readable(error: MemberError, lang: Lang) -> Result<String, BotError> {
    match error.text(lang) {
        Some(text) => Ok(text),
        None => Err(BotError::from(error)),
    }
}

/// What a change did, in a sentence (plain text: it may answer a button press).
pub(super) fn changed(
    who: &str,
    database: &str,
    role: Option<Role>,
    changed: Changed,
    lang: Lang,
) -> String {
    match (changed, role) {
        (Changed::Removed { .. }, _) | (_, None) => {
            tr!(lang, "member-no-longer", member = who, database = database)
        }
        (Changed::Unchanged, Some(role)) => tr!(
            lang,
            "member-already",
            member = who,
            role = role.as_str(),
            database = database
        ),
        (_, Some(role)) => tr!(
            lang,
            "member-now",
            member = who,
            role = role.as_str(),
            database = database
        ),
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
    lang: Lang,
) -> HandlerResult {
    let config = state.settings.config();
    let chosen = database.and_then(|i| Some((i, config.databases.get(i)?)));
    if let Some((database, db)) = chosen {
        let button = Callback::Members {
            database: Some(db.name.clone()),
        };
        let detail = json!({ "button": button.encode() });
        let place = (chat, person);
        let Some(who) = manager(bot, state, place, db.name.as_str(), detail, lang).await? else {
            return Ok(());
        };
        let several = managed(state, &who).len() > 1;
        return list(bot, (chat, edit), state, database, several, lang).await;
    }
    let mine = managed(state, &state.identity(person).await?);
    match mine.as_slice() {
        [] => say(bot, state, chat, tr!(lang, "members-only-owners")).await,
        [only] => list(bot, (chat, edit), state, *only, false, lang).await,
        _ => {
            let databases = mine.iter().map(|&database| {
                let name = &state.settings.config().databases[database].name;
                let database = Some(name.clone());
                vec![button(name.as_str(), Callback::Members { database })]
            });
            let keyboard = Keyboard::new(databases.collect());
            let text = tr!(lang, "members-which-database");
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
    lang: Lang,
) -> HandlerResult {
    let config = state.settings.config();
    let Some(db) = config.databases.get(database) else {
        return Ok(());
    };
    let name = db.name.as_str();
    let members = match state.members.list(name).await {
        Ok(members) => members,
        Err(e) => return say(bot, state, chat, escape(&readable(e, lang)?)).await,
    };
    let title = tr!(lang, "members-title", database = escape(name));
    let mut text = format!("{title}\n{}\n", tr!(lang, "members-legend"));
    if members.is_empty() {
        text.push('\n');
        text.push_str(&tr!(lang, "members-none"));
    }
    let mut rows = Vec::new();
    for member in &members {
        text.push_str(&member_line(member, lang));
        rows.extend(member_rows(&db.name, member, lang));
    }
    rows.extend(list_rows(&db.name, several, lang));
    reply::show(bot, state, chat, edit, text, &Keyboard::new(rows)).await?;
    Ok(())
}

/// A member's line of the list: who, their role, where it comes from, and for a username, whose
/// account it is.
fn member_line(member: &Member, lang: Lang) -> String {
    let source = match &member.added_by {
        Some(by) if member.source == Source::Runtime => {
            tr!(lang, "members-added-by", by = escape(by))
        }
        _ => tr!(lang, "members-from-config"),
    };
    let role = member.role.as_str();
    let mut line = format!("\n{} · {role} · {source}", escape(&member.display));
    // A username is whoever claimed it first with /start; say who that is.
    if matches!(member.key, MemberKey::Username(_)) {
        match member.user_id {
            Some(id) => line.push_str(&format!(
                " · {}",
                tr!(lang, "members-user", id = id.to_string())
            )),
            None => line.push_str(&format!(" · {}", tr!(lang, "members-not-started"))),
        }
        if let Some(user) = claimant(member) {
            let claimed = tr!(lang, "members-claimed-by", id = user.to_string());
            line.push_str(&format!(" · {claimed}"));
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
fn member_rows(
    database: &DatabaseName,
    member: &Member,
    lang: Lang,
) -> Vec<Vec<(String, Callback)>> {
    let mut rows = Vec::new();
    if let (MemberKey::Username(name), Some(user)) = (&member.key, claimant(member)) {
        let rebind = Callback::MemberRebind {
            database: database.clone(),
            username: name.clone(),
            user,
        };
        let label = tr!(
            lang,
            "members-rebind-button",
            username = name.to_string(),
            id = user.to_string()
        );
        rows.push(vec![button(label, rebind)]);
    }
    // Config members are changed in the config only: they get no buttons.
    if member.source != Source::Runtime {
        return rows;
    }
    let shown = &member.display;
    let (other, label) = match member.role {
        Role::Admin => (Role::Viewer, tr!(lang, "members-to-viewer", member = shown)),
        _ => (Role::Admin, tr!(lang, "members-to-admin", member = shown)),
    };
    let to = |role| Callback::MemberSet {
        database: database.clone(),
        member: member.key.clone(),
        role,
    };
    rows.push(vec![
        button(label, to(Some(other))),
        button(tr!(lang, "members-remove", member = shown), to(None)),
    ]);
    rows
}

/// The buttons under the list: add and invite, and the way back to the picker when `several`.
fn list_rows(database: &DatabaseName, several: bool, lang: Lang) -> Vec<Vec<(String, Callback)>> {
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
            button(tr!(lang, "members-add-admin"), add(Role::Admin)),
            button(tr!(lang, "members-add-viewer"), add(Role::Viewer)),
        ],
        vec![
            button(tr!(lang, "members-invite-admin"), invite(Role::Admin)),
            button(tr!(lang, "members-invite-viewer"), invite(Role::Viewer)),
        ],
    ];
    if several {
        let back = Callback::Members { database: None };
        rows.push(vec![button(tr!(lang, "members-databases"), back)]);
    }
    rows
}

/// `/admins`.
pub fn commands() -> UpdateHandler<BotError> {
    dptree::filter(|command: Command| command == Command::Admins).endpoint(command)
}

async fn command(ask: Ask) -> HandlerResult {
    let (bot, chat, person, state) = (&ask.bot, ask.chat(), &ask.person, &ask.state);
    let result = show(bot, chat, None, person, state, None, ask.lang).await;
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
    let (bot, state, person, lang) = (&press.bot, &press.state, &press.person, press.lang);
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
            Some((chat, message)) => {
                show(bot, chat, Some(message), person, state, index, lang).await
            }
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
            let done = match result {
                Ok(done) => done,
                Err(e) => return Err(BotError::User(readable(e, lang)?)),
            };
            let shown = state.members.display(member).await?;
            press
                .answer(&changed(&shown, name, *role, done, lang))
                .await?;
            if done == Changed::Unchanged {
                return Ok(()); // the list shows it already; an identical edit would be refused
            }
            let several = managed(state, &who).len() > 1;
            list(bot, (chat, Some(message)), state, database, several, lang).await
        }
        Callback::MemberRebind { username, user, .. } => {
            let text = match state.members.rebind(&who, name, username, *user).await {
                Ok(true) => tr!(
                    lang,
                    "members-rebound",
                    username = username.to_string(),
                    id = user.to_string()
                ),
                Ok(false) => tr!(
                    lang,
                    "members-not-claimed",
                    username = username.to_string(),
                    id = user.to_string()
                ),
                Err(e) => readable(e, lang)?,
            };
            press.answer(&text).await?;
            let several = managed(state, &who).len() > 1;
            list(bot, (chat, Some(message)), state, database, several, lang).await
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
            press.answer(&tr!(press.lang, "members-stale")).await?;
            return Ok(None);
        };
        let name = config.databases[database].name.clone();
        let who = state.identity(&press.person).await?;
        if !may(&who, Permission::ManageMembers, Some(name.as_str())) {
            press.refuse(None, &not_allowed(press.lang)).await?;
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
