//! Changing who belongs to a database, for the bot (`/admins`, invite links) and REST alike. A change
//! is allowed by `access::may` (owners manage members; config members are locked), committed with its
//! audit row and messages (a welcome with the database's firing incidents for a newcomer, a word to
//! the member and to the database's admins), and then the router is rebuilt so the next alert reaches
//! the new member list. Calls `access`, `store` and `routing` (and `tokens` for invite codes,
//! `telegram::html` for the messages); called by `bot` and `http`. Here: the member list and how a
//! member is known; `changes` sets and removes roles, `invites` and `usernames` are the two ways in.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::access::Source;
use crate::clock::Clock;
use crate::domain::{DatabaseName, MemberKey, Role, TelegramUserId, Username};
use crate::i18n::Lang;
use crate::live::Live;
use crate::routing::Router;
use crate::settings::InForce;
use crate::store::{Store, StoreError};
use crate::tr;

mod changes;
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
    settings: InForce,
    router: Live<Router>,
    wake: Arc<Notify>,
    clock: Clock,
}

/// `an admin`, `a viewer`, `an owner` (`администратором`…): a role in a sentence, in `lang`.
pub fn role_name(role: Role, lang: Lang) -> String {
    tr!(lang, "role-a", role = role.as_str())
}

impl MemberError {
    /// The refusal as a person reads it, in `lang` (`Display` is the English of logs and REST);
    /// `None` for the store's failures, which stay internal.
    pub fn text(&self, lang: Lang) -> Option<String> {
        Some(match self {
            MemberError::UnknownDatabase(database) => {
                tr!(lang, "member-error-unknown-database", database = database)
            }
            MemberError::Forbidden { who, database } => {
                tr!(
                    lang,
                    "member-error-forbidden",
                    who = who,
                    database = database
                )
            }
            MemberError::Locked(member) => tr!(lang, "member-error-locked", member = member),
            MemberError::NotMember { member, database } => tr!(
                lang,
                "member-error-not-member",
                member = member,
                database = database
            ),
            MemberError::Owner(member) => tr!(lang, "member-error-owner", member = member),
            MemberError::BadRole(role) => tr!(lang, "member-error-bad-role", role = role),
            MemberError::Store(_) => return None,
        })
    }
}

impl Members {
    pub fn new(
        store: Store,
        settings: InForce,
        router: Live<Router>,
        wake: Arc<Notify>,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            settings,
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
        self.router
            .replace(Router::new(&self.settings.config(), &runtime));
        Ok(())
    }

    /// After a change here: the routes rebuilt, and the other replicas told to rebuild theirs.
    async fn changed(&self) -> Result<(), StoreError> {
        self.reload().await?;
        self.store.tell_replicas(crate::store::News::Members).await
    }

    fn database(&self, name: &str) -> Result<DatabaseName, MemberError> {
        DatabaseName::parse(name)
            .ok()
            .and_then(|n| self.settings.config().database(&n).map(|d| d.name.clone()))
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

    /// The language a member reads: their account's (English while nobody has claimed their
    /// username).
    async fn language(&self, key: &MemberKey) -> Result<Lang, StoreError> {
        let Some(id) = self.account(key).await?.0 else {
            return Ok(Lang::default());
        };
        let languages = self.store.languages_of(&[id]).await?;
        Ok(languages.get(&id).copied().unwrap_or_default())
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
        let access = self.settings.access();
        let (admins, viewers) = access.config_members(database.as_str());
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_refusals_read_in_each_language() {
        assert_eq!(role_name(Role::Admin, Lang::En), "an admin");
        assert_eq!(role_name(Role::Viewer, Lang::Ru), "наблюдателем");
        let locked = MemberError::Locked("@eve".to_owned());
        assert_eq!(
            locked.text(Lang::En).as_deref(),
            Some("@eve is a member in the configuration file; change it there")
        );
        assert_eq!(
            locked.text(Lang::Ru).as_deref(),
            Some("@eve указан(а) в файле конфигурации; измените это там")
        );
        let store = MemberError::Store(StoreError::Corrupt {
            what: "member",
            detail: String::new(),
        });
        assert_eq!(
            store.text(Lang::Ru),
            None,
            "the store's failures stay internal"
        );
    }

    #[test]
    fn an_invite_counts_its_hours_in_russian() {
        let asked = |hours: i64| {
            tr!(
                Lang::Ru,
                "members-invite-ask",
                database = "main",
                role = "admin",
                hours = hours
            )
        };
        assert!(asked(1).contains("в течение 1 часа."), "{}", asked(1));
        assert!(asked(22).contains("в течение 22 часов."), "{}", asked(22));
        assert!(asked(48).contains("в течение 48 часов."), "{}", asked(48));
    }
}
