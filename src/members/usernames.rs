//! Usernames and accounts: a member added by @username is whoever first claims that name with
//! `/start`; another account claiming it later stays a stranger until an owner rebinds the name.

use super::{MemberError, Members};
use crate::access::{Identity, Person};
use crate::domain::{MemberKey, Recipient, TelegramUserId, Username};
use crate::store::{Claim, JobKind, StoreError};
use crate::telegram::html::escape;
use crate::tr;

impl Members {
    /// A `/start` of `person`: binds the username they carry when a membership names it and no
    /// account holds it yet. When another account holds it, the person stays a stranger and the
    /// owners are told, once per account.
    pub async fn claim(&self, person: &Person) -> Result<(), StoreError> {
        let Some(name) = person.username.as_deref() else {
            return Ok(());
        };
        let bound = self.store.binding(name).await?;
        // An unknown name binds nothing: strangers cause no writes.
        let named = self.settings.access().names_username(name)
            || match Username::parse(name) {
                Ok(name) => {
                    self.store
                        .is_member_anywhere(&MemberKey::Username(name))
                        .await?
                }
                // A name no member can be written with names no membership.
                Err(_) => false,
            };
        if bound.is_none() && !named {
            return Ok(());
        }
        let now = self.clock.now();
        match self
            .store
            .claim_username(name, person.id.get(), now)
            .await?
        {
            Claim::Bound => self.changed().await?,
            Claim::Taken { by, first: true } => {
                // Each owner reads it in their own language.
                let owners = self.settings.access().owners().to_vec();
                let ids: Vec<i64> = owners.iter().map(|o| o.get()).collect();
                let languages = self.store.languages_of(&ids).await?;
                let language = self.settings.config().language;
                for owner in owners {
                    let lang = languages.get(&owner.get()).copied().unwrap_or(language);
                    let text = tr!(
                        lang,
                        "username-taken",
                        account = person.id.to_string(),
                        username = escape(name),
                        owner = by.to_string(),
                    );
                    let owner = Recipient::user(owner).to_string();
                    let text = serde_json::json!({ "text": text });
                    let kind = JobKind::TelegramNotice;
                    self.store.enqueue(kind, None, &owner, &text, now).await?;
                }
                self.wake.notify_one();
            }
            Claim::Taken { .. } | Claim::Own => {}
        }
        Ok(())
    }

    /// Binds `username` to the account that claimed it since (`user`), on an owner's decision.
    /// `false` when that account is not the one claiming it (any more).
    pub async fn rebind(
        &self,
        actor: &Identity,
        database: &str,
        username: &Username,
        user: TelegramUserId,
    ) -> Result<bool, MemberError> {
        self.managed(actor, database)?;
        let now = self.clock.now();
        let name = username.as_str();
        let done = self
            .store
            .rebind_username(name, user.get(), &actor.actor(), now)
            .await?;
        if done {
            self.changed().await?;
        }
        Ok(done)
    }
}
