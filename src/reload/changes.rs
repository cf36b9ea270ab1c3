//! What a reload changed, compared item by item: databases, their config members, owners, API
//! tokens, views, actions, charts and the other sections. The owners' message and the audit row
//! say the same thing. Pure; secrets are compared, never shown.

use std::fmt::Debug;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::config::{Config, DatabaseConfig};
use crate::domain::MemberKey;
use crate::i18n::Lang;
use crate::telegram::html::escape;
use crate::tr;

/// Names added, removed and changed in one list.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Delta {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl Delta {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// `+ a, b · − c · changed d` (HTML).
    fn line(&self, lang: Lang) -> String {
        let list = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("<code>{}</code>", escape(n)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!("+ {}", list(&self.added)));
        }
        if !self.removed.is_empty() {
            parts.push(format!("− {}", list(&self.removed)));
        }
        if !self.changed.is_empty() {
            parts.push(tr!(lang, "reload-changed", names = list(&self.changed)));
        }
        parts.join(" · ")
    }
}

/// Compares two lists of named things: by name, then by `same`.
fn delta<T>(
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> String,
    same: impl Fn(&T, &T) -> bool,
) -> Delta {
    let find = |list: &[T], n: &str| list.iter().position(|x| name(x) == n);
    let mut delta = Delta::default();
    for item in new {
        match find(old, &name(item)) {
            None => delta.added.push(name(item)),
            Some(at) if !same(&old[at], item) => delta.changed.push(name(item)),
            Some(_) => {}
        }
    }
    delta.removed = old
        .iter()
        .filter(|item| find(new, &name(item)).is_none())
        .map(&name)
        .collect();
    delta
}

/// Equal when printed alike: every config and catalogue type prints all its fields (secrets as
/// `[redacted]`, so those are compared apart).
fn alike<T: Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Everything a reload changed.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Changes {
    pub databases: Delta,
    /// Per database kept: `main: + @alice (admin)`.
    pub members: Vec<String>,
    pub owners: Delta,
    pub api_tokens: Delta,
    pub views: Delta,
    pub actions: Delta,
    pub charts: Delta,
    /// Other keys and sections that changed (`escalation`, `smtp`, …).
    pub other: Vec<&'static str>,
}

/// How a member is named in the message: `@name` or `user 123`.
fn member(key: &MemberKey) -> String {
    match key {
        // The audit keeps this line too: it is written in English.
        MemberKey::Id(id) => tr!(Lang::En, "reload-user", id = id.to_string()),
        MemberKey::Username(name) => format!("@{}", name.as_str()),
    }
}

/// A database's settings apart from its members (those are listed one by one).
fn same_database(a: &DatabaseConfig, b: &DatabaseConfig) -> bool {
    a.dsn == b.dsn
        && a.matchers == b.matchers
        && a.chat == b.chat
        && a.email == b.email
        && a.reconnect_after == b.reconnect_after
        && a.metrics_selector == b.metrics_selector
        && a.language == b.language
}

fn member_changes(old: &DatabaseConfig, new: &DatabaseConfig) -> Option<String> {
    let mut parts = Vec::new();
    for (role, before, after) in [
        ("admin", &old.admins, &new.admins),
        ("viewer", &old.viewers, &new.viewers),
    ] {
        parts.extend(
            after
                .iter()
                .filter(|m| !before.contains(m))
                .map(|m| format!("+ {} ({role})", member(m))),
        );
        parts.extend(
            before
                .iter()
                .filter(|m| !after.contains(m))
                .map(|m| format!("− {} ({role})", member(m))),
        );
    }
    (!parts.is_empty()).then(|| format!("{}: {}", new.name, parts.join(", ")))
}

impl Changes {
    pub fn between(old: (&Config, &Catalog), new: (&Config, &Catalog)) -> Changes {
        let ((config, catalog), (next, next_catalog)) = (old, new);
        let members = next
            .databases
            .iter()
            .filter_map(|db| {
                let before = config.database(&db.name)?;
                member_changes(before, db)
            })
            .collect();
        let owners: Vec<String> = config.owners.iter().map(ToString::to_string).collect();
        let next_owners: Vec<String> = next.owners.iter().map(ToString::to_string).collect();
        let other = [
            (
                "http.webhook_token",
                config.http.webhook_token != next.http.webhook_token,
            ),
            ("escalation", !alike(&config.escalation, &next.escalation)),
            ("language", config.language != next.language),
            (
                "smtp",
                !alike(&config.smtp, &next.smtp)
                    || config.smtp.as_ref().map(|s| &s.url) != next.smtp.as_ref().map(|s| &s.url),
            ),
            (
                "alertmanager",
                !alike(&config.alertmanager, &next.alertmanager),
            ),
            (
                "prometheus",
                !alike(&config.prometheus, &next.prometheus)
                    || config.prometheus.as_ref().map(|p| (&p.url, &p.headers))
                        != next.prometheus.as_ref().map(|p| (&p.url, &p.headers)),
            ),
            ("links", !alike(&config.links, &next.links)),
            ("time_zone", config.time_zone != next.time_zone),
            (
                "telegram.dialogue_ttl",
                config.telegram.dialogue_ttl != next.telegram.dialogue_ttl,
            ),
            (
                "telegram.buttons_ttl",
                config.telegram.buttons_ttl != next.telegram.buttons_ttl,
            ),
            ("catalog", !alike(&config.catalog, &next.catalog)),
        ]
        .into_iter()
        .filter_map(|(key, changed)| changed.then_some(key))
        .collect();
        Changes {
            databases: delta(
                &config.databases,
                &next.databases,
                |d| d.name.to_string(),
                same_database,
            ),
            members,
            owners: delta(&owners, &next_owners, Clone::clone, |_, _| true),
            api_tokens: delta(
                &config.api_tokens,
                &next.api_tokens,
                |t| t.name.clone(),
                |a, b| a.sha256 == b.sha256 && a.role == b.role && a.databases == b.databases,
            ),
            views: delta(
                &catalog.views,
                &next_catalog.views,
                |v| v.alias.clone(),
                alike,
            ),
            actions: delta(
                &catalog.actions,
                &next_catalog.actions,
                |a| a.alias.clone(),
                alike,
            ),
            charts: delta(
                &catalog.charts.charts,
                &next_catalog.charts.charts,
                |c| c.alias.clone(),
                alike,
            ),
            other,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }

    /// The owners' message (HTML) in `lang`: one line per kind of change.
    pub fn message(&self, by: &str, lang: Lang) -> String {
        let mut text = tr!(lang, "reload-title", by = escape(by));
        if self.is_empty() {
            text.push('\n');
            text.push_str(&tr!(lang, "reload-nothing"));
            return text;
        }
        for (label, delta) in [
            (tr!(lang, "reload-databases"), &self.databases),
            (tr!(lang, "reload-owners"), &self.owners),
            (tr!(lang, "reload-api-tokens"), &self.api_tokens),
            (tr!(lang, "reload-views"), &self.views),
            (tr!(lang, "reload-actions"), &self.actions),
            (tr!(lang, "reload-charts"), &self.charts),
        ] {
            if !delta.is_empty() {
                text.push_str(&format!("\n<b>{label}:</b> {}", delta.line(lang)));
            }
        }
        if !self.members.is_empty() {
            let lines: Vec<String> = self.members.iter().map(|m| escape(m)).collect();
            let label = tr!(lang, "reload-members");
            text.push_str(&format!("\n<b>{label}:</b> {}", lines.join("; ")));
        }
        if !self.other.is_empty() {
            let label = tr!(lang, "reload-other");
            text.push_str(&format!("\n<b>{label}:</b> {}", self.other.join(", ")));
        }
        text
    }
}
