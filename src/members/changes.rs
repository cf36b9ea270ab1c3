//! Changing a membership: making someone an admin or viewer, removing them. Each change is checked
//! (`ManageMembers` on the database; config members and owners are not runtime members), committed with
//! its audit row and the messages to the member and the database's admins, then the router is rebuilt.

use chrono::{DateTime, Utc};

use super::{Changed, MemberError, Members};
use crate::access::{Actor, Identity, Permission, may};
use crate::domain::{DatabaseName, MemberKey, Recipient, Role};
use crate::i18n::Lang;
use crate::store::{MemberChange, MemberRecord, Notice};
use crate::telegram::html::escape;
use crate::tr;

impl Members {
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
    pub(super) fn managed(
        &self,
        actor: &Identity,
        database: &str,
    ) -> Result<DatabaseName, MemberError> {
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
    pub(super) async fn eligible(
        &self,
        database: &DatabaseName,
        member: &MemberKey,
    ) -> Result<(), MemberError> {
        let mut forms = self.forms(member).await?;
        forms.push(member.clone());
        for form in &forms {
            if self
                .settings
                .access()
                .is_config_member(database.as_str(), form)
            {
                return Err(MemberError::Locked(member.shown()));
            }
            if let MemberKey::Id(id) = form
                && self.settings.access().owners().contains(id)
            {
                return Err(MemberError::Owner(member.shown()));
            }
        }
        Ok(())
    }

    pub(super) async fn apply(
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
        // Each reads it in their own language.
        let said = |lang| announcements(&actor.name, database, &who, changed, role, lang);
        let (to_member, _) = said(self.language(&key).await?);
        let mut notices = vec![Notice {
            recipient: Recipient::Member(key.clone()),
            text: to_member,
        }];
        for admin in self.admins_of(database, &runtime) {
            if !forms.contains(&admin) {
                let (_, to_admin) = said(self.language(&admin).await?);
                notices.push(Notice {
                    recipient: Recipient::Member(admin),
                    text: to_admin,
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
        self.changed().await?;
        self.wake.notify_one();
        Ok(changed)
    }

    /// The admins of a database (config and runtime): who hears of membership changes.
    fn admins_of(&self, database: &DatabaseName, runtime: &[MemberRecord]) -> Vec<MemberKey> {
        let access = self.settings.access();
        let (admins, _) = access.config_members(database.as_str());
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
    lang: Lang,
) -> (String, String) {
    let (by, db, who) = (escape(by), escape(database.as_str()), escape(who));
    let (by, db, who) = (by.as_str(), db.as_str(), who.as_str());
    match (changed, role.map(Role::as_str)) {
        (Changed::Added, Some(role)) => (
            tr!(lang, "member-welcome", by = by, role = role, database = db),
            tr!(
                lang,
                "member-added",
                by = by,
                member = who,
                role = role,
                database = db
            ),
        ),
        (Changed::RoleChanged { .. }, Some(role)) => (
            tr!(lang, "member-you-now", by = by, role = role, database = db),
            tr!(
                lang,
                "member-made",
                by = by,
                member = who,
                role = role,
                database = db
            ),
        ),
        _ => (
            tr!(lang, "member-you-removed", by = by, database = db),
            tr!(lang, "member-removed", by = by, member = who, database = db),
        ),
    }
}
