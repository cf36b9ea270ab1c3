//! Changing who belongs to a database, for the bot (`/admins`, invite links) and REST alike. A change
//! is allowed by `access::may` (owners manage members; config members are locked), committed with its
//! audit row and messages (a welcome with the database's firing incidents for a newcomer, a word to
//! the member and to the database's admins), and then the router is rebuilt so the next alert reaches
//! the new member list. Calls `access`, `store` and `routing` (and `tokens` for invite codes,
//! `telegram::html` for the messages); called by `bot` and `http`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::access::{Access, Actor, Identity, Permission, Source, may};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{DatabaseName, MemberKey, Recipient, Role, TelegramUserId, Username};
use crate::routing::{Router, SharedRouter};
use crate::store::{MemberChange, MemberRecord, Notice, Store, StoreError};
use crate::telegram::html::escape;

mod invites;
mod usernames;

pub use invites::{INVITE_ASKING, INVITE_PREFIX, INVITE_VALID};

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("no database named {0:?}")]
    UnknownDatabase(String),
    #[error("{who} may not manage the members of {database}")]
    Forbidden { who: String, database: String },
    #[error("{0} is a member in the configuration file; change it there")]
    Locked(String),
    #[error("{member} is not a member of {database} added here")]
    NotMember { member: String, database: String },
    #[error("owners can do everything already; {0} needs no membership")]
    Owner(String),
    #[error("members are admins or viewers, not {0}")]
    BadRole(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One line of a database's member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub key: MemberKey,
    /// `@name` when known, else `user <id>`.
    pub display: String,
    pub role: Role,
    pub source: Source,
    /// Who added a runtime member.
    pub added_by: Option<String>,
    /// The account the member is: their id, or the one their username is bound to (`None`: nobody
    /// has claimed the username with `/start` yet).
    pub user_id: Option<i64>,
    /// Another account that claimed the member's username since; an owner may bind it to that one.
    pub claimed_by: Option<i64>,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Added,
    RoleChanged { from: Role },
    Removed { was: Role },
    Unchanged,
}

pub struct Members {
    store: Store,
    access: Arc<Access>,
    config: Arc<Config>,
    router: SharedRouter,
    wake: Arc<Notify>,
    clock: Clock,
}

/// `an admin`, `a viewer`, `an owner`: a role in a sentence.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "a viewer",
        Role::Admin => "an admin",
        Role::Owner => "an owner",
    }
}

impl Members {
    pub fn new(
        store: Store,
        access: Arc<Access>,
        config: Arc<Config>,
        router: SharedRouter,
        wake: Arc<Notify>,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            access,
            config,
            router,
            wake,
            clock,
        }
    }

    /// Rebuilds the router from the config and the stored members (after a change here, and now and
    /// then for changes made by another replica).
    pub async fn reload(&self) -> Result<(), StoreError> {
        let runtime: Vec<(DatabaseName, MemberKey)> = self
            .store
            .members(None)
            .await?
            .into_iter()
            .map(|m| (m.database, m.member))
            .collect();
        self.router.replace(Router::new(&self.config, &runtime));
        Ok(())
    }

    fn database(&self, name: &str) -> Result<DatabaseName, MemberError> {
        DatabaseName::parse(name)
            .ok()
            .and_then(|n| self.config.database(&n).map(|d| d.name.clone()))
            .ok_or_else(|| MemberError::UnknownDatabase(name.to_owned()))
    }

    /// `@name` when known, else `user <id>`: how lists and messages name a member.
    pub async fn display(&self, key: &MemberKey) -> Result<String, StoreError> {
        Ok(match key {
            MemberKey::Username(name) => name.to_string(),
            MemberKey::Id(id) => match self.store.username_of(id.get()).await? {
                Some(name) => format!("@{name}"),
                None => format!("user {id}"),
            },
        })
    }

    /// The account a stored member is, and another account claiming its username.
    async fn account(&self, key: &MemberKey) -> Result<(Option<i64>, Option<i64>), StoreError> {
        Ok(match key {
            MemberKey::Id(id) => (Some(id.get()), None),
            MemberKey::Username(name) => match self.store.binding(name.as_str()).await? {
                Some(bound) => (Some(bound.user_id), bound.contested_by),
                None => (None, None),
            },
        })
    }

    /// Every stored form of the person `member` names, the one to store first: a username bound to
    /// an account is that account, known by its id and every name bound to it.
    async fn forms(&self, member: &MemberKey) -> Result<Vec<MemberKey>, StoreError> {
        let id = match member {
            MemberKey::Id(id) => Some(*id),
            MemberKey::Username(name) => self
                .store
                .binding(name.as_str())
                .await?
                .and_then(|bound| TelegramUserId::new(bound.user_id).ok()),
        };
        let Some(id) = id else {
            return Ok(vec![member.clone()]);
        };
        let mut forms = vec![MemberKey::Id(id)];
        for name in self.store.bound_names(id.get()).await? {
            if let Ok(name) = Username::parse(&name) {
                forms.push(MemberKey::Username(name));
            }
        }
        Ok(forms)
    }

    /// How `member` is stored: by the account's id once their username is bound, else as given.
    pub async fn stored_key(&self, member: &MemberKey) -> Result<MemberKey, StoreError> {
        let forms = self.forms(member).await?;
        Ok(forms.into_iter().next().unwrap_or_else(|| member.clone()))
    }

    /// The members of a database: the config's (locked) first, then those added here.
    pub async fn list(&self, database: &str) -> Result<Vec<Member>, MemberError> {
        let database = self.database(database)?;
        let (admins, viewers) = self.access.config_members(database.as_str());
        let mut out = Vec::new();
        for (member, role) in admins
            .iter()
            .map(|m| (m, Role::Admin))
            .chain(viewers.iter().map(|m| (m, Role::Viewer)))
        {
            let (user_id, claimed_by) = self.account(member).await?;
            out.push(Member {
                display: self.display(member).await?,
                key: member.clone(),
                role,
                source: Source::Config,
                added_by: None,
                user_id,
                claimed_by,
            });
        }
        for record in self.store.members(Some(&database)).await? {
            let (user_id, claimed_by) = self.account(&record.member).await?;
            out.push(Member {
                display: self.display(&record.member).await?,
                key: record.member,
                role: record.role,
                source: Source::Runtime,
                added_by: Some(record.added_by),
                user_id,
                claimed_by,
            });
        }
        Ok(out)
    }

    /// Makes `member` an admin or viewer of `database` (adding them, or changing their role).
    pub async fn set(
        &self,
        actor: &Identity,
        database: &str,
        member: &MemberKey,
        role: Role,
    ) -> Result<Changed, MemberError> {
        let database = self.allowed(actor, database, member).await?;
        self.apply(
            &actor.actor(),
            &database,
            member,
            Some(role),
            self.clock.now(),
        )
        .await
    }

    /// Removes a member added here.
    pub async fn remove(
        &self,
        actor: &Identity,
        database: &str,
        member: &MemberKey,
    ) -> Result<Changed, MemberError> {
        let database = self.allowed(actor, database, member).await?;
        match self
            .apply(&actor.actor(), &database, member, None, self.clock.now())
            .await?
        {
            Changed::Unchanged => Err(MemberError::NotMember {
                member: member.shown(),
                database: database.to_string(),
            }),
            changed => Ok(changed),
        }
    }

    async fn allowed(
        &self,
        actor: &Identity,
        database: &str,
        member: &MemberKey,
    ) -> Result<DatabaseName, MemberError> {
        let database = self.managed(actor, database)?;
        self.eligible(&database, member).await?;
        Ok(database)
    }

    /// The database named, when `actor` may manage its members.
    fn managed(&self, actor: &Identity, database: &str) -> Result<DatabaseName, MemberError> {
        let database = self.database(database)?;
        if !may(actor, Permission::ManageMembers, Some(database.as_str())) {
            return Err(MemberError::Forbidden {
                who: actor.name.clone(),
                database: database.to_string(),
            });
        }
        Ok(database)
    }

    /// Config members and owners are not runtime members: a runtime row for them could never be
    /// removed from the bot (config members are locked) or would mean nothing (owners). A person is
    /// matched by id and by every username bound to them, so `@alice` in the config is also user 42
    /// once Alice has claimed her name with `/start`.
    async fn eligible(
        &self,
        database: &DatabaseName,
        member: &MemberKey,
    ) -> Result<(), MemberError> {
        let mut forms = self.forms(member).await?;
        forms.push(member.clone());
        for form in &forms {
            if self.access.is_config_member(database.as_str(), form) {
                return Err(MemberError::Locked(member.shown()));
            }
            if let MemberKey::Id(id) = form
                && self.access.owners().contains(id)
            {
                return Err(MemberError::Owner(member.shown()));
            }
        }
        Ok(())
    }

    async fn apply(
        &self,
        actor: &Actor,
        database: &DatabaseName,
        member: &MemberKey,
        role: Option<Role>,
        at: DateTime<Utc>,
    ) -> Result<Changed, MemberError> {
        if role == Some(Role::Owner) {
            return Err(MemberError::BadRole("owner".to_owned()));
        }
        // One person is one member, whichever form names them: the change applies to every form.
        let forms = self.forms(member).await?;
        let Some((key, others)) = forms.split_first() else {
            return Ok(Changed::Unchanged);
        };
        let key = key.clone();
        let who = self.display(&key).await?;
        let runtime = self.store.members(Some(database)).await?;
        let held = |form: &MemberKey| runtime.iter().find(|m| &m.member == form).map(|m| m.role);
        let previous = forms.iter().filter_map(held).max();
        let folded = others.iter().any(|form| held(form).is_some());
        let changed = match (previous, role) {
            (a, b) if a == b && !folded => return Ok(Changed::Unchanged),
            (a, b) if a == b => Changed::Unchanged,
            (None, Some(_)) => Changed::Added,
            (Some(from), Some(_)) => Changed::RoleChanged { from },
            (Some(was), None) => Changed::Removed { was },
            (None, None) => return Ok(Changed::Unchanged),
        };
        let (to_member, to_admins) = announcements(&actor.name, database, &who, changed, role);
        let mut notices = vec![Notice {
            recipient: Recipient::Member(key.clone()),
            text: to_member,
        }];
        for admin in self.admins_of(database, &runtime) {
            if !forms.contains(&admin) {
                notices.push(Notice {
                    recipient: Recipient::Member(admin),
                    text: to_admins.clone(),
                });
            }
        }
        if changed == Changed::Unchanged {
            // Only the forms are folded into one: nothing to tell anyone.
            notices.clear();
        }
        let change = MemberChange {
            database,
            member: &key,
            others,
            role,
            actor,
            audit_detail: serde_json::json!({
                "member": key.to_string(),
                "role": role.map(Role::as_str),
                "previous": previous.map(Role::as_str),
            }),
            notices,
            send_firing: changed == Changed::Added,
            at,
        };
        self.store.change_member(&change).await?;
        self.reload().await?;
        self.wake.notify_one();
        Ok(changed)
    }

    /// The admins of a database (config and runtime): who hears of membership changes.
    fn admins_of(&self, database: &DatabaseName, runtime: &[MemberRecord]) -> Vec<MemberKey> {
        let (admins, _) = self.access.config_members(database.as_str());
        let mut out: Vec<MemberKey> = admins.to_vec();
        for record in runtime {
            if record.role == Role::Admin && !out.contains(&record.member) {
                out.push(record.member.clone());
            }
        }
        out
    }
}

/// What the member and the database's admins are told of a change (Telegram HTML).
fn announcements(
    by: &str,
    database: &DatabaseName,
    who: &str,
    changed: Changed,
    role: Option<Role>,
) -> (String, String) {
    let (by, db, who) = (escape(by), escape(database.as_str()), escape(who));
    match (changed, role) {
        (Changed::Added, Some(role)) => (
            format!(
                "👋 {by} made you {} of <b>{db}</b>. Its alerts reach you here from now on; \
                 those firing now follow. Send /help to see what you can do.",
                role_name(role)
            ),
            format!(
                "👥 {by} added {} as {} of <b>{db}</b>.",
                who,
                role_name(role)
            ),
        ),
        (Changed::RoleChanged { .. }, Some(role)) => (
            format!("👥 {by} made you {} of <b>{db}</b>.", role_name(role)),
            format!("👥 {by} made {} {} of <b>{db}</b>.", who, role_name(role)),
        ),
        _ => (
            format!("👥 {by} removed you from <b>{db}</b>: its alerts no longer reach you."),
            format!("👥 {by} removed {} from <b>{db}</b>.", who),
        ),
    }
}
