//! Who is calling, and what they may do. Every decision about who may do what is made here, by
//! [`may`]: from the identity (a Telegram person — never the chat they write in — or an API token),
//! the permission, and the database concerned.
//!
//! Roles: owners (config) may do everything; a database's admins (config baseline plus members added
//! at runtime) read and act on it; its viewers read it (alerts, incidents, views) and nothing more.
//! Tokens carry a role, on every database or on the ones they list. Tokens are compared through their
//! SHA-256 digests in constant time, so neither the content nor the length of a token leaks through
//! timing; the service keeps nothing else of a token.
//!
//! Here: permissions, identities and the decision; `identify` resolves callers into identities
//! ([`Access`]).

use crate::config::Config;
use crate::domain::{DatabaseName, MemberKey, Role, TelegramUserId, Username};

mod identify;

pub use identify::Access;

/// What a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See alerts, incidents, silences and views.
    Read,
    /// Acknowledge, silence, expire a silence.
    Respond,
    /// Run (and stop) actions.
    RunActions,
    /// Add, remove and change a database's members.
    ManageMembers,
    /// Create and revoke API tokens (the whole service).
    ManageTokens,
    /// Read the audit log (the whole service).
    ReadAudit,
    /// Reload the configuration (the whole service).
    Reload,
}

impl Permission {
    /// The least role that grants it.
    pub fn needs(self) -> Role {
        match self {
            Permission::Read => Role::Viewer,
            Permission::Respond | Permission::RunActions => Role::Admin,
            Permission::ManageMembers
            | Permission::ManageTokens
            | Permission::ReadAudit
            | Permission::Reload => Role::Owner,
        }
    }

    /// Permissions about the whole service rather than one database.
    pub fn service_wide(self) -> bool {
        matches!(
            self,
            Permission::ManageTokens | Permission::ReadAudit | Permission::Reload
        )
    }
}

/// Where a role comes from: the config (locked in the bot) or a change made at runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Config,
    Runtime,
}

/// A Telegram user as the bot sees them. The account is the id: the username it carries today names
/// it in messages, but grants nothing unless it is bound to this account (claimed with `/start`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: TelegramUserId,
    /// Lowercase, without `@`.
    pub username: Option<String>,
}

impl Person {
    /// How the person is named in messages and audit: `@name`, or the id.
    pub fn display(&self) -> String {
        match &self.username {
            Some(name) => format!("@{name}"),
            None => format!("user {}", self.id),
        }
    }

    /// The person as the audit log records them.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.display(),
            telegram_id: Some(self.id.get()),
            via: Via::Bot,
        }
    }

    /// The forms a membership of this person may have: their id, and the username they carry (a
    /// name Telegram allows but a member cannot be written with names no membership).
    pub fn keys(&self) -> Vec<MemberKey> {
        let name = self
            .username
            .as_deref()
            .and_then(|n| Username::parse(n).ok());
        std::iter::once(MemberKey::Id(self.id))
            .chain(name.map(MemberKey::Username))
            .collect()
    }
}

/// The way a caller reached the service, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Bot,
    Rest,
    /// The service itself (a run found interrupted at start).
    Service,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Bot => "bot",
            Via::Rest => "rest",
            Via::Service => "service",
        }
    }
}

/// Who did something, as every audit entry records it: the name shown, the Telegram account behind
/// it (none for API tokens and the service itself), and the way in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub telegram_id: Option<i64>,
    pub via: Via,
}

impl Actor {
    /// An operator's signal to the process (SIGHUP).
    pub fn signal() -> Actor {
        Actor {
            name: "SIGHUP".to_owned(),
            telegram_id: None,
            via: Via::Service,
        }
    }

    /// Another replica sharing the state store, whose change this one follows.
    pub fn replica() -> Actor {
        Actor {
            name: "replica".to_owned(),
            telegram_id: None,
            via: Via::Service,
        }
    }

    /// The service acting on its own.
    pub fn service() -> Actor {
        Actor {
            name: "postgram".to_owned(),
            telegram_id: None,
            via: Via::Service,
        }
    }
}

/// A caller, with every role they hold, resolved once per update or request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// How the caller appears in audit and messages: `@alice`, `user 42`, `token:grafana`.
    pub name: String,
    /// The Telegram account of a person; `None` for an API token.
    telegram_id: Option<i64>,
    /// The role on every database and on what belongs to none (unrouted incidents).
    everywhere: Option<Role>,
    /// Roles on single databases (the highest wins when several apply).
    roles: Vec<(DatabaseName, Role, Source)>,
}

impl Identity {
    /// The caller as the audit log records them.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.name.clone(),
            telegram_id: self.telegram_id,
            via: if self.telegram_id.is_some() {
                Via::Bot
            } else {
                Via::Rest
            },
        }
    }

    /// The role on one database, if any, and where it comes from.
    pub fn role_on(&self, database: &str) -> Option<(Role, Source)> {
        let local = self
            .roles
            .iter()
            .filter(|(name, _, _)| name.as_str() == database)
            .map(|(_, role, source)| (*role, *source))
            .max_by_key(|(role, _)| *role);
        match (self.everywhere, local) {
            (Some(all), Some((role, source))) if role > all => Some((role, source)),
            (Some(all), _) => Some((all, Source::Config)),
            (None, local) => local,
        }
    }

    /// Whether the service knows this caller at all (strangers are told how to get in).
    pub fn is_known(&self) -> bool {
        self.everywhere.is_some() || !self.roles.is_empty()
    }

    pub fn is_owner(&self) -> bool {
        self.everywhere == Some(Role::Owner)
    }

    /// The databases of `config` on which the caller holds `permission`, in config order.
    pub fn databases<'c>(
        &self,
        config: &'c Config,
        permission: Permission,
    ) -> Vec<&'c DatabaseName> {
        config
            .databases
            .iter()
            .map(|db| &db.name)
            .filter(|name| may(self, permission, Some(name.as_str())))
            .collect()
    }
}

/// The one access decision: whether `identity` may do `permission` on `database` (`None`: something
/// that belongs to no database, such as an unrouted incident, or the whole service).
pub fn may(identity: &Identity, permission: Permission, database: Option<&str>) -> bool {
    let needs = permission.needs();
    let everywhere = identity.everywhere.is_some_and(|role| role >= needs);
    match database {
        _ if permission.service_wide() => everywhere,
        None => everywhere,
        Some(database) => identity
            .role_on(database)
            .is_some_and(|(role, _)| role >= needs),
    }
}
