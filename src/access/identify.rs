//! Identifying callers: [`Access`] holds what the config says about people and tokens (owners, each
//! database's members, API tokens, the webhook token) and resolves a Telegram person or a presented
//! token into an [`Identity`], reading members and tokens added at runtime from the store.

use subtle::ConstantTimeEq;

use super::{Identity, Person, Source};
use crate::config::Config;
use crate::domain::{DatabaseName, MemberKey, Role, TelegramUserId, Username};
use crate::store::{Store, StoreError};
use crate::tokens::{digest, hex};

struct ConfigToken {
    sha256: [u8; 32],
    name: String,
    role: Role,
    databases: Option<Vec<DatabaseName>>,
}

struct ConfigMembers {
    database: DatabaseName,
    admins: Vec<MemberKey>,
    viewers: Vec<MemberKey>,
}

pub struct Access {
    webhook: [u8; 32],
    tokens: Vec<ConfigToken>,
    owners: Vec<TelegramUserId>,
    members: Vec<ConfigMembers>,
    store: Store,
}

/// Whether a config member is the account `id`, whose bound usernames are `names`.
fn member_matches(id: TelegramUserId, names: &[String], member: &MemberKey) -> bool {
    match member {
        MemberKey::Id(member) => *member == id,
        MemberKey::Username(name) => names.iter().any(|n| n == name.as_str()),
    }
}

fn token_identity(
    name: &str,
    role: Role,
    databases: Option<Vec<DatabaseName>>,
    source: Source,
) -> Identity {
    let name = format!("token:{name}");
    match databases {
        None => Identity {
            name,
            telegram_id: None,
            everywhere: Some(role),
            roles: Vec::new(),
        },
        Some(list) => Identity {
            name,
            telegram_id: None,
            everywhere: None,
            roles: list.into_iter().map(|db| (db, role, source)).collect(),
        },
    }
}

impl Access {
    pub fn new(config: &Config, store: Store) -> Self {
        Self {
            webhook: digest(config.http.webhook_token.expose()),
            tokens: config
                .api_tokens
                .iter()
                .map(|t| ConfigToken {
                    sha256: t.sha256,
                    name: t.name.clone(),
                    role: t.role,
                    databases: t.databases.clone(),
                })
                .collect(),
            owners: config.owners.clone(),
            members: config
                .databases
                .iter()
                .map(|db| ConfigMembers {
                    database: db.name.clone(),
                    admins: db.admins.clone(),
                    viewers: db.viewers.clone(),
                })
                .collect(),
            store,
        }
    }

    /// Everything `person` holds: owner from the config, config memberships, and runtime ones read
    /// from the state store now (so a removal takes effect at the very next press, on every replica).
    /// A membership by `@username` counts only for the account the username is bound to.
    pub async fn person(&self, person: &Person) -> Result<Identity, StoreError> {
        let everywhere = self.owners.contains(&person.id).then_some(Role::Owner);
        let names = self.store.bound_names(person.id.get()).await?;
        let mut roles = Vec::new();
        for db in &self.members {
            if db
                .admins
                .iter()
                .any(|m| member_matches(person.id, &names, m))
            {
                roles.push((db.database.clone(), Role::Admin, Source::Config));
            } else if db
                .viewers
                .iter()
                .any(|m| member_matches(person.id, &names, m))
            {
                roles.push((db.database.clone(), Role::Viewer, Source::Config));
            }
        }
        let bound = names.iter().filter_map(|name| Username::parse(name).ok());
        let keys: Vec<MemberKey> = std::iter::once(MemberKey::Id(person.id))
            .chain(bound.map(MemberKey::Username))
            .collect();
        for (database, role) in self.store.memberships(&keys).await? {
            // Members of databases no longer in the config grant nothing.
            if let Some(db) = self.members.iter().find(|d| d.database == database) {
                roles.push((db.database.clone(), role, Source::Runtime));
            }
        }
        Ok(Identity {
            name: person.display(),
            telegram_id: Some(person.id.get()),
            everywhere,
            roles,
        })
    }

    /// The identity of an API token: one from the config or one created with `/tokens` and not
    /// revoked. Every known token is compared, match or not.
    pub async fn token(&self, token: &str) -> Result<Option<Identity>, StoreError> {
        let presented = digest(token);
        let mut found = None;
        for known in &self.tokens {
            if bool::from(presented.ct_eq(&known.sha256)) {
                found = Some(token_identity(
                    &known.name,
                    known.role,
                    known.databases.clone(),
                    Source::Config,
                ));
            }
        }
        let presented_hex = hex(&presented);
        for stored in self.store.active_tokens().await? {
            if bool::from(presented_hex.as_bytes().ct_eq(stored.sha256.as_bytes())) {
                let databases = stored.databases.map(|names| {
                    names
                        .iter()
                        .filter_map(|n| DatabaseName::parse(n).ok())
                        .collect()
                });
                found = Some(token_identity(
                    &stored.name,
                    stored.role,
                    databases,
                    Source::Runtime,
                ));
            }
        }
        Ok(found)
    }

    /// Whether `token` is the Alertmanager webhook token.
    pub fn is_webhook_token(&self, token: &str) -> bool {
        bool::from(digest(token).ct_eq(&self.webhook))
    }

    /// The config's admins and viewers of a database (locked: the bot cannot remove them).
    pub fn config_members(&self, database: &str) -> (&[MemberKey], &[MemberKey]) {
        self.members
            .iter()
            .find(|db| db.database.as_str() == database)
            .map_or((&[], &[]), |db| (&db.admins, &db.viewers))
    }

    /// Whether a member is one of the config's members of the database.
    pub fn is_config_member(&self, database: &str, member: &MemberKey) -> bool {
        let (admins, viewers) = self.config_members(database);
        admins.iter().chain(viewers).any(|m| m == member)
    }

    /// Whether the config names a member by this username (lowercase, without @).
    pub fn names_username(&self, username: &str) -> bool {
        self.members.iter().any(|db| {
            db.admins
                .iter()
                .chain(&db.viewers)
                .any(|m| matches!(m, MemberKey::Username(name) if name.as_str() == username))
        })
    }

    pub fn owners(&self) -> &[TelegramUserId] {
        &self.owners
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::Utc;

    use super::*;
    use crate::access::{Actor, Permission, Via, may};
    use crate::config::StateLocation;
    use crate::store::MemberChange;

    const CONFIG: &str = r#"
telegram: { token: "123456:test-bot-token-of-postgram-tests-00" }
http: { webhook_token: "webhook-token-0123456789" }
owners: [1]
databases:
  - { name: main, dsn: "postgres://h/db", match: { cluster: main }, admins: [10, "@alice"], viewers: [11] }
  - { name: billing, dsn: "postgres://h/db", match: { cluster: billing }, admins: [20] }
api_tokens:
  - { name: grafana, token: "grafana-token-0123456789", role: viewer }
  - { name: ops, token_sha256: "b6a1d2c4c6f9d1b0a6b1a9a3c0e1f2d3c4b5a6978899aabbccddeeff00112233", role: owner }
  - { name: billing-ci, token: "billing-token-0123456789", role: admin, databases: [billing] }
"#;

    async fn access() -> (Access, Store, tempfile::TempDir) {
        let config = Config::from_text(CONFIG, Path::new("p.yaml"), &|_| None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&StateLocation::Sqlite(dir.path().join("s.db")))
            .await
            .unwrap();
        (Access::new(&config, store.clone()), store, dir)
    }

    fn person(id: i64, username: Option<&str>) -> Person {
        Person {
            id: TelegramUserId::new(id).unwrap(),
            username: username.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn tokens_identify_their_owner_and_nothing_else() {
        let (access, store, _dir) = access().await;
        assert!(access.is_webhook_token("webhook-token-0123456789"));
        assert!(!access.is_webhook_token("webhook-token-012345678"));
        assert!(!access.is_webhook_token("grafana-token-0123456789"));
        let grafana = access
            .token("grafana-token-0123456789")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grafana.name, "token:grafana");
        assert!(may(&grafana, Permission::Read, Some("main")));
        assert!(!may(&grafana, Permission::Respond, Some("main")));
        let ci = access
            .token("billing-token-0123456789")
            .await
            .unwrap()
            .unwrap();
        assert!(may(&ci, Permission::RunActions, Some("billing")));
        assert!(!may(&ci, Permission::Read, Some("main")));
        assert!(!may(&ci, Permission::Read, None));
        assert_eq!(
            access.token("webhook-token-0123456789").await.unwrap(),
            None
        );
        assert_eq!(access.token("").await.unwrap(), None);

        // A token created at runtime works until revoked.
        let secret = "runtime-token-0123456789";
        let id = store
            .create_token(
                "rt",
                &hex(&digest(secret)),
                Role::Admin,
                None,
                "@owner",
                Utc::now(),
            )
            .await
            .unwrap()
            .unwrap();
        let rt = access.token(secret).await.unwrap().unwrap();
        assert!(
            may(&rt, Permission::Respond, Some("main"))
                && !may(&rt, Permission::ManageMembers, Some("main"))
        );
        assert!(store.revoke_token(id, "@owner", Utc::now()).await.unwrap());
        assert_eq!(access.token(secret).await.unwrap(), None);
    }

    #[test]
    fn a_token_can_be_configured_by_its_digest() {
        let config = Config::from_text(CONFIG, Path::new("p.yaml"), &|_| None).unwrap();
        let ops = &config.api_tokens[1];
        assert_eq!(
            hex(&ops.sha256),
            "b6a1d2c4c6f9d1b0a6b1a9a3c0e1f2d3c4b5a6978899aabbccddeeff00112233"
        );
        assert_eq!(
            hex(&digest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn roles_come_from_the_config_and_the_store() {
        let (access, store, _dir) = access().await;
        let owner = access.person(&person(1, None)).await.unwrap();
        let admin = access.person(&person(10, None)).await.unwrap();
        let unbound = access.person(&person(99, Some("alice"))).await.unwrap();
        assert!(
            !unbound.is_known(),
            "a username grants nothing until claimed"
        );
        store.claim_username("alice", 99, Utc::now()).await.unwrap();
        let alice = access.person(&person(99, Some("alice"))).await.unwrap();
        let impostor = access.person(&person(98, Some("alice"))).await.unwrap();
        assert!(
            !impostor.is_known(),
            "the name stays with the account that claimed it"
        );
        let viewer = access.person(&person(11, None)).await.unwrap();
        let billing = access.person(&person(20, Some("bob"))).await.unwrap();
        let stranger = access.person(&person(5, Some("mallory"))).await.unwrap();

        let all = [
            Permission::Read,
            Permission::Respond,
            Permission::RunActions,
            Permission::ManageMembers,
            Permission::ManageTokens,
            Permission::ReadAudit,
        ];
        for permission in all {
            assert!(may(&owner, permission, Some("billing")) && may(&owner, permission, None));
            assert!(!may(&stranger, permission, Some("main")));
        }
        assert!(may(&admin, Permission::Respond, Some("main")));
        assert!(may(&admin, Permission::RunActions, Some("main")));
        assert!(!may(&admin, Permission::Read, Some("billing")));
        assert!(!may(&admin, Permission::ManageMembers, Some("main")));
        assert!(
            !may(&admin, Permission::Respond, None),
            "unrouted incidents belong to the owners"
        );
        assert!(
            may(&alice, Permission::Respond, Some("main")),
            "@alice is known by her username"
        );
        assert!(may(&viewer, Permission::Read, Some("main")));
        assert!(!may(&viewer, Permission::Respond, Some("main")));
        assert!(!may(&viewer, Permission::RunActions, Some("main")));
        assert!(!may(&billing, Permission::Read, Some("main")));
        assert!(!stranger.is_known() && alice.is_known() && viewer.is_known());
        assert_eq!(viewer.role_on("main"), Some((Role::Viewer, Source::Config)));

        // A runtime member, known by username until they write to the bot.
        let by_owner = Actor {
            name: "@owner".to_owned(),
            telegram_id: Some(1),
            via: Via::Bot,
        };
        let billing_db = DatabaseName::parse("billing").unwrap();
        let mallory_key: MemberKey = "username:mallory".parse().unwrap();
        let change = |role: Option<Role>| MemberChange {
            database: &billing_db,
            member: &mallory_key,
            others: &[],
            role,
            actor: &by_owner,
            audit_detail: serde_json::json!({}),
            notices: Vec::new(),
            send_firing: false,
            at: Utc::now(),
        };
        store
            .claim_username("mallory", 5, Utc::now())
            .await
            .unwrap();
        store
            .change_member(&change(Some(Role::Viewer)))
            .await
            .unwrap();
        let mallory = access.person(&person(5, Some("mallory"))).await.unwrap();
        assert_eq!(
            mallory.role_on("billing"),
            Some((Role::Viewer, Source::Runtime))
        );
        assert!(may(&mallory, Permission::Read, Some("billing")));
        assert!(!may(&mallory, Permission::Respond, Some("billing")));
        store
            .change_member(&change(Some(Role::Admin)))
            .await
            .unwrap();
        let mallory = access.person(&person(5, Some("mallory"))).await.unwrap();
        assert!(may(&mallory, Permission::Respond, Some("billing")));
        store.change_member(&change(None)).await.unwrap();
        let mallory = access.person(&person(5, Some("mallory"))).await.unwrap();
        assert!(!mallory.is_known());
        let names = |i: &Identity| -> Vec<String> {
            i.databases(
                &Config::from_text(CONFIG, Path::new("p.yaml"), &|_| None).unwrap(),
                Permission::Read,
            )
            .iter()
            .map(ToString::to_string)
            .collect()
        };
        assert_eq!(names(&owner), ["main", "billing"]);
        assert_eq!(names(&billing), ["billing"]);
        assert_eq!(person(20, Some("bob")).display(), "@bob");
    }
}
