//! Invite links: an owner names a database, a role and the addressee's @username; the link works
//! once, for that person only, until it expires. Only a digest of its code is kept.

use super::{MemberError, Members};
use crate::access::{Actor, Identity, Via};
use crate::domain::{MemberKey, Role};
use crate::store::{Redeemed, StoreError};
use crate::tokens::{digest, hex, random_code};

/// How long an invite link works.
pub const INVITE_VALID: chrono::Duration = chrono::Duration::hours(24);
/// How long the bot waits for the @username of an invite's addressee.
pub const INVITE_ASKING: chrono::Duration = chrono::Duration::minutes(10);
/// The prefix of an invite in a `/start` deep link.
pub const INVITE_PREFIX: &str = "inv_";

impl Members {
    /// Starts an invite to `database` as `role`: the bot then asks `creator` for the addressee.
    pub async fn start_invite(
        &self,
        actor: &Identity,
        creator_id: i64,
        chat_id: i64,
        database: &str,
        role: Role,
    ) -> Result<i64, MemberError> {
        let database = self.managed(actor, database)?;
        if role == Role::Owner {
            return Err(MemberError::BadRole("owner".to_owned()));
        }
        let now = self.clock.now();
        Ok(self
            .store
            .start_invite(
                database.as_str(),
                role,
                &actor.name,
                creator_id,
                chat_id,
                now,
                now + INVITE_ASKING,
            )
            .await?)
    }

    /// Gives a started invite its addressee; returns the code for the deep link (kept only hashed),
    /// or `None` when the invite is no longer waiting (replaced or issued meanwhile).
    pub async fn issue_invite(
        &self,
        id: i64,
        username: &str,
    ) -> Result<Option<String>, StoreError> {
        let code = random_code(16);
        let hash = hex(&digest(&code));
        let issued = self
            .store
            .issue_invite(id, username, &hash, self.clock.now() + INVITE_VALID)
            .await?;
        Ok(issued.then_some(code))
    }

    /// Uses an invite for `person` (who opened the link): on success they are a member now.
    pub async fn redeem(
        &self,
        person: &crate::access::Person,
        code: &str,
    ) -> Result<Redeemed, MemberError> {
        let hash = hex(&digest(code));
        let now = self.clock.now();
        // A username bound to another account is not this person's, whatever Telegram says today.
        if let Some(name) = person.username.as_deref()
            && let Some(bound) = self.store.binding(name).await?
            && bound.user_id != person.id.get()
        {
            return Ok(Redeemed::WrongUser);
        }
        let outcome = self
            .store
            .redeem_invite(&hash, person.username.as_deref(), &person.display(), now)
            .await?;
        if let Redeemed::Joined {
            database,
            role,
            created_by,
        } = &outcome
        {
            let Ok(database) = self.database(database) else {
                return Ok(Redeemed::Unknown);
            };
            let member = MemberKey::Id(person.id);
            // A member now: the bot names them by the username they carry.
            let username = person.username.as_deref();
            self.store
                .remember_user(person.id.get(), username, None, now)
                .await?;
            // The invite is used up either way: it was for this person, who needs no other.
            self.eligible(&database, &member).await?;
            // The link was its creator's decision: the audit and the welcome name them.
            let actor = Actor {
                name: format!("{created_by} (invite link)"),
                telegram_id: None,
                via: Via::Bot,
            };
            self.apply(&actor, &database, &member, Some(*role), now)
                .await?;
        }
        Ok(outcome)
    }
}
