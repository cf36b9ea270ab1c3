//! Which database an alert concerns, and who must hear about it. Built from the config and the members
//! added at runtime; pure (no I/O). Held in a [`crate::live::Live`], replaced whole when membership
//! or the config changes.
//!
//! An alert belongs to the first database (in config order) whose `match` labels it all carries with equal
//! values. Alerts that match no database go to the owners, so nothing is ever dropped for lack of a route.

use crate::alertmanager::LabelSet;
use crate::config::Config;
use crate::domain::{DatabaseName, EmailAddress, MemberKey, Recipient};

/// Where one alert goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination<'a> {
    /// `None` when no database matched: the alert goes to the owners.
    pub database: Option<&'a DatabaseName>,
    pub telegram: &'a [Recipient],
    pub email: &'a [EmailAddress],
}

struct Route {
    database: DatabaseName,
    matchers: Vec<(String, String)>,
    telegram: Vec<Recipient>,
    email: Vec<EmailAddress>,
}

/// Routes alerts by their labels.
pub struct Router {
    routes: Vec<Route>,
    owners: Vec<Recipient>,
    /// A firing incident nobody acknowledged for this long is escalated (the config's, kept here so
    /// that one value read per notification decides both where and when).
    pub escalate_after: std::time::Duration,
}

impl Router {
    /// Routes for the config's databases; `members` are the runtime members as `(database, member)`.
    pub fn new(config: &Config, members: &[(DatabaseName, MemberKey)]) -> Self {
        let routes = config
            .databases
            .iter()
            .map(|db| {
                let mut telegram: Vec<Recipient> = Vec::new();
                let configured = db
                    .admins
                    .iter()
                    .chain(&db.viewers)
                    .cloned()
                    .map(Recipient::Member);
                let runtime = members
                    .iter()
                    .filter(|(name, _)| *name == db.name)
                    .map(|(_, member)| Recipient::Member(member.clone()));
                let chat = db.chat.map(Recipient::Chat);
                for recipient in configured.chain(runtime).chain(chat) {
                    if !telegram.contains(&recipient) {
                        telegram.push(recipient);
                    }
                }
                Route {
                    database: db.name.clone(),
                    matchers: db.matchers.clone().into_iter().collect(),
                    telegram,
                    // Without SMTP nobody is emailed, whatever the database lists.
                    email: if config.smtp.is_some() {
                        db.email.clone()
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        let owners = config.owners.iter().copied().map(Recipient::user).collect();
        Self {
            routes,
            owners,
            escalate_after: config.escalation.ack_timeout,
        }
    }

    pub fn route(&self, labels: &LabelSet) -> Destination<'_> {
        let matched = self.routes.iter().find(|route| {
            route
                .matchers
                .iter()
                .all(|(name, value)| labels.get(name) == Some(value))
        });
        match matched {
            Some(route) => Destination {
                database: Some(&route.database),
                telegram: &route.telegram,
                email: &route.email,
            },
            None => Destination {
                database: None,
                telegram: &self.owners,
                email: &[],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::domain::TelegramUserId;

    const CONFIG: &str = r#"
telegram: { token: "123456:test-bot-token-of-postgram-tests-00" }
http: { webhook_token: "0123456789abcdef" }
owners: [1, 2]
smtp: { url: "smtp://mail.example.com:587", from: "postgram@example.com" }
databases:
  - name: main
    dsn: "postgres://x@h/db"
    match: { cluster: main }
    admins: [10, "@alice"]
    viewers: [11]
    chat: -100
    email: [dba@example.com]
  - name: main-replica
    dsn: "postgres://x@h/db"
    match: { cluster: main, role: replica }
  - name: billing
    dsn: "postgres://x@h/db"
    match: { cluster: billing, env: prod }
    admins: [20]
"#;

    fn router() -> Router {
        router_of(CONFIG)
    }

    fn router_of(text: &str) -> Router {
        let config = Config::from_text(text, Path::new("p.yaml"), &|_| None).unwrap();
        let runtime = [
            (
                DatabaseName::parse("main").unwrap(),
                "user:12".parse().unwrap(),
            ),
            (
                DatabaseName::parse("main").unwrap(),
                "user:10".parse().unwrap(),
            ),
            (
                DatabaseName::parse("gone").unwrap(),
                "user:13".parse().unwrap(),
            ),
        ];
        Router::new(&config, &runtime)
    }

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn routes_by_every_matcher_in_config_order() {
        let router = router();
        let main = router.route(&labels(&[("cluster", "main"), ("alertname", "X")]));
        assert_eq!(main.database.map(DatabaseName::as_str), Some("main"));
        let recipients: Vec<String> = main.telegram.iter().map(ToString::to_string).collect();
        assert_eq!(
            recipients,
            [
                "user:10",
                "username:alice",
                "user:11",
                "user:12",
                "chat:-100"
            ],
            "config admins and viewers, runtime members, then the group; each once"
        );
        assert_eq!(main.email.len(), 1);
        let without_smtp = router_of(&CONFIG.replace("smtp:", "# smtp:"));
        let unmailed = without_smtp.route(&labels(&[("cluster", "main")]));
        assert!(unmailed.email.is_empty(), "nobody is emailed without SMTP");

        // The first matching database wins, even when a later one is more specific.
        let replica = router.route(&labels(&[("cluster", "main"), ("role", "replica")]));
        assert_eq!(replica.database.map(DatabaseName::as_str), Some("main"));

        let billing = router.route(&labels(&[("cluster", "billing"), ("env", "prod")]));
        assert_eq!(billing.database.map(DatabaseName::as_str), Some("billing"));
        let partial = router.route(&labels(&[("cluster", "billing"), ("env", "staging")]));
        assert_eq!(partial.database, None);
    }

    #[test]
    fn unrouted_alerts_go_to_the_owners() {
        let router = router();
        let lost = router.route(&labels(&[("alertname", "DiskFull")]));
        assert_eq!(lost.database, None);
        assert_eq!(
            lost.telegram,
            [
                Recipient::user(TelegramUserId::new(1).unwrap()),
                Recipient::user(TelegramUserId::new(2).unwrap())
            ]
        );
        assert!(lost.email.is_empty());
    }
}
