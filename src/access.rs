//! Who is calling, and what they may do: Telegram users (owners, and admins of each database) for the
//! bot, API bearer tokens for REST, the webhook token for Alertmanager. Every decision about a person is
//! made here, from the person (never the chat they write in). Tokens are compared through their SHA-256 digests in constant time, so neither the
//! content nor the length of a configured token leaks through timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::domain::{AdminRef, DatabaseName, Role, TelegramUserId};

/// A caller of the REST API, as named in the config's `api_tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiIdentity {
    pub name: String,
    pub role: Role,
    /// `None`: every database.
    pub databases: Option<Vec<DatabaseName>>,
}

impl ApiIdentity {
    /// Whether the token may reach this database at all.
    pub fn reaches(&self, database: &DatabaseName) -> bool {
        self.databases
            .as_ref()
            .is_none_or(|list| list.contains(database))
    }
}

/// A Telegram user as the bot sees them.
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
}

pub struct Access {
    webhook: [u8; 32],
    tokens: Vec<([u8; 32], ApiIdentity)>,
    owners: Vec<TelegramUserId>,
    admins: Vec<(DatabaseName, Vec<AdminRef>)>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Access {
    pub fn new(config: &Config) -> Self {
        Self {
            webhook: digest(config.http.webhook_token.expose()),
            tokens: config
                .api_tokens
                .iter()
                .map(|t| {
                    (
                        digest(t.token.expose()),
                        ApiIdentity {
                            name: t.name.clone(),
                            role: t.role,
                            databases: t.databases.clone(),
                        },
                    )
                })
                .collect(),
            owners: config.owners.clone(),
            admins: config
                .databases
                .iter()
                .map(|db| (db.name.clone(), db.admins.clone()))
                .collect(),
        }
    }

    pub fn is_owner(&self, person: &Person) -> bool {
        self.owners.contains(&person.id)
    }

    fn is_listed(person: &Person, admins: &[AdminRef]) -> bool {
        admins.iter().any(|admin| match admin {
            AdminRef::Id(id) => *id == person.id,
            AdminRef::Username(name) => person.username.as_deref() == Some(name.as_str()),
        })
    }

    /// The databases `person` administers (all of them for owners), in config order.
    pub fn databases_of(&self, person: &Person) -> Vec<DatabaseName> {
        let owner = self.is_owner(person);
        self.admins
            .iter()
            .filter(|(_, admins)| owner || Self::is_listed(person, admins))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Whether `person` may act on (acknowledge, silence) an incident of `database`; incidents that
    /// matched no database belong to the owners.
    pub fn may_act_on(&self, person: &Person, database: Option<&str>) -> bool {
        if self.is_owner(person) {
            return true;
        }
        let Some(database) = database else {
            return false;
        };
        self.admins
            .iter()
            .any(|(name, admins)| name.as_str() == database && Self::is_listed(person, admins))
    }

    /// Whether the bot should talk to `person` at all.
    pub fn knows(&self, person: &Person) -> bool {
        self.is_owner(person) || !self.databases_of(person).is_empty()
    }

    /// Whether `token` is the Alertmanager webhook token.
    pub fn is_webhook_token(&self, token: &str) -> bool {
        bool::from(digest(token).ct_eq(&self.webhook))
    }

    /// The identity an API token belongs to. Every configured token is compared, match or not.
    pub fn api_identity(&self, token: &str) -> Option<ApiIdentity> {
        let presented = digest(token);
        let mut found = None;
        for (known, identity) in &self.tokens {
            if bool::from(presented.ct_eq(known)) {
                found = Some(identity.clone());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn tokens_identify_their_owner_and_nothing_else() {
        let config = Config::from_text(
            r#"
telegram: { token: "t" }
http: { webhook_token: "webhook-token-0123456789" }
owners: [1]
api_tokens:
  - { name: grafana, token: "grafana-token-0123456789", role: viewer }
  - { name: ops, token: "ops-token-0123456789abc", role: owner }
"#,
            Path::new("p.yaml"),
            &|_| None,
        )
        .unwrap();
        let access = Access::new(&config);
        assert!(access.is_webhook_token("webhook-token-0123456789"));
        assert!(!access.is_webhook_token("webhook-token-012345678"));
        assert!(!access.is_webhook_token("grafana-token-0123456789"));
        let ops = access.api_identity("ops-token-0123456789abc").unwrap();
        assert_eq!((ops.name.as_str(), ops.role), ("ops", Role::Owner));
        assert_eq!(access.api_identity("webhook-token-0123456789"), None);
        assert_eq!(access.api_identity(""), None);
    }

    fn person(id: i64, username: Option<&str>) -> Person {
        Person {
            id: TelegramUserId::new(id).unwrap(),
            username: username.map(str::to_owned),
        }
    }

    #[test]
    fn people_may_act_on_their_databases_only() {
        let config = Config::from_text(
            r#"
telegram: { token: "t" }
http: { webhook_token: "webhook-token-0123456789" }
owners: [1]
databases:
  - { name: main, dsn: "postgres://h/db", match: { cluster: main }, admins: [10, "@alice"] }
  - { name: billing, dsn: "postgres://h/db", match: { cluster: billing }, admins: [20] }
"#,
            Path::new("p.yaml"),
            &|_| None,
        )
        .unwrap();
        let access = Access::new(&config);
        let owner = person(1, None);
        let admin = person(10, None);
        let alice = person(99, Some("alice"));
        let billing = person(20, Some("bob"));
        let stranger = person(5, Some("mallory"));

        assert!(access.may_act_on(&owner, Some("billing")) && access.may_act_on(&owner, None));
        assert!(
            access.may_act_on(&admin, Some("main")) && !access.may_act_on(&admin, Some("billing"))
        );
        assert!(
            access.may_act_on(&alice, Some("main")),
            "@alice is known by her username"
        );
        assert!(!access.may_act_on(&billing, Some("main")));
        assert!(
            !access.may_act_on(&admin, None),
            "unrouted incidents belong to the owners"
        );
        assert!(!access.may_act_on(&stranger, Some("main")));
        assert!(!access.knows(&stranger) && access.knows(&alice));
        let names = |p: &Person| -> Vec<String> {
            access
                .databases_of(p)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(names(&owner), ["main", "billing"]);
        assert_eq!(names(&billing), ["billing"]);
        assert_eq!(owner.display(), "user 1");
        assert_eq!(billing.display(), "@bob");
    }
}
