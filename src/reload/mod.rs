//! Live reload, as Prometheus does it: on `SIGHUP` or `POST /-/reload`, the config and every file it
//! names are read and checked whole (as `postgram check` does); anything wrong, or a change to a key
//! only a restart can take, leaves the running settings as they are. Otherwise the new settings are
//! put in force at once — routing, members, owners, tokens, escalation, SMTP, links, the catalogue —
//! and the databases' pools follow (kept when unchanged, new for a changed DSN, closed once the
//! runs of a removed one end). Dialogues on what went away end with a message, the owners hear
//! what changed, the audit log has a row, and two metrics tell Prometheus how it went.
//!
//! `changes` compares the old settings with the new.

pub mod changes;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use tokio::sync::Notify;

use crate::access::Actor;
use crate::check;
use crate::clock::Clock;
use crate::config::Problem;
use crate::domain::{ChatId, Recipient};
use crate::members::Members;
use crate::metrics::Metrics;
use crate::operations::Operations;
use crate::settings::{InForce, Settings};
use crate::store::{DialogueKind, JobKind, News, Store};
use crate::telegram::html::escape;
use crate::tr;
pub use changes::Changes;

/// Why a reload was not applied; the running settings stay in force.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the new configuration has {} problem(s); the running one stays", .0.len())]
    Invalid(Vec<Problem>),
    #[error(
        "{} cannot change without a restart; nothing was applied",
        .0.join(", ")
    )]
    RestartOnly(Vec<&'static str>),
    #[error("{0}; nothing was applied")]
    Build(String),
}

impl ReloadError {
    /// Each problem as `file:line:col: message`, or the one sentence.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ReloadError::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

/// Everything a reload touches.
pub struct Reloader {
    /// The config file, read again at every reload.
    pub path: PathBuf,
    pub settings: InForce,
    pub operations: Arc<Operations>,
    pub members: Arc<Members>,
    pub store: Store,
    pub metrics: Metrics,
    pub clock: Clock,
    /// Wakes the delivery worker for the owners' message and the dialogues' endings.
    pub wake: Arc<Notify>,
    /// One reload at a time: a signal and a request together apply one after the other.
    pub one_at_a_time: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// Reads, checks and applies the config; records the result in the metrics and, when applied,
    /// in the audit log and the owners' chats.
    pub async fn reload(&self, actor: &Actor) -> Result<Changes, ReloadError> {
        let result = self.reload_as(actor, true).await;
        if result.is_ok() {
            // The other replicas read their config again too (the same files, in a deployment).
            if let Err(e) = self.store.tell_replicas(News::Reloaded).await {
                tracing::warn!(error = %e, "telling the other replicas of the reload failed");
            }
        }
        result
    }

    /// Reloads because another replica did: the same checks, without a second audit row or owners'
    /// message.
    pub async fn follow(&self) {
        let _ = self.reload_as(&Actor::replica(), false).await;
    }

    async fn reload_as(&self, actor: &Actor, announce: bool) -> Result<Changes, ReloadError> {
        let _one = self.one_at_a_time.lock().await;
        let result = self.apply(actor, announce).await;
        self.metrics.reloaded(result.is_ok(), self.clock.now());
        match &result {
            Ok(changes) => tracing::info!(by = %actor.name, ?changes, "configuration reloaded"),
            Err(e) => {
                for problem in e.problems() {
                    tracing::error!(by = %actor.name, "reload refused: {problem}");
                }
            }
        }
        result
    }

    async fn apply(&self, actor: &Actor, announce: bool) -> Result<Changes, ReloadError> {
        let path = self.path.clone();
        let findings = tokio::task::spawn_blocking(move || check::everything(&path))
            .await
            .map_err(|e| ReloadError::Build(format!("reading the configuration failed: {e}")))?;
        let Some((config, catalog)) = findings.valid else {
            return Err(ReloadError::Invalid(findings.problems));
        };
        let old = self.settings.now();
        let restart = old.config.restart_only_changes(&config);
        if !restart.is_empty() {
            return Err(ReloadError::RestartOnly(restart));
        }
        let changes = Changes::between((&old.config, &old.catalog), (&config, &catalog));
        let settings = Settings::build(config, catalog, &self.store)
            .map_err(|e| ReloadError::Build(e.to_string()))?;
        let (catalog, config) = (Arc::clone(&settings.catalog), Arc::clone(&settings.config));
        // The catalogue and pools first, then everything that names them: a button pressed in
        // between finds its item either way.
        self.operations
            .reconfigure(catalog, &config.databases)
            .map_err(|e| ReloadError::Build(e.to_string()))?;
        self.settings.replace(settings);
        if let Err(e) = self.members.reload().await {
            // The router keeps the old members until the periodic refresh succeeds.
            tracing::warn!(error = %e, "rebuilding the routes after a reload failed");
        }
        if announce {
            self.tell(actor, &changes).await;
        }
        Ok(changes)
    }

    /// The audit row, the owners' message and the end of dialogues on what went away. The reload is
    /// applied whatever of this fails (it is logged).
    async fn tell(&self, actor: &Actor, changes: &Changes) {
        let now = self.clock.now();
        let detail = json!({ "changes": changes, "via": actor.via.as_str() });
        if let Err(e) = self
            .store
            .audit(actor, "config.reload", None, &detail, now)
            .await
        {
            tracing::error!(error = %e, "writing the audit log failed");
        }
        if !changes.is_empty() {
            // Each owner reads it in their own language.
            let owners = self.settings.now().config.owners.clone();
            let ids: Vec<i64> = owners.iter().map(|o| o.get()).collect();
            let languages = self.store.languages_of(&ids).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "reading the owners' languages failed");
                Default::default()
            });
            // An owner who never wrote to the bot reads the config's language.
            let language = self.settings.now().config.language;
            for owner in &owners {
                let lang = languages.get(&owner.get()).copied().unwrap_or(language);
                let text = json!({ "text": changes.message(&actor.name, lang) });
                let owner = Recipient::user(*owner).to_string();
                if let Err(e) = self
                    .store
                    .enqueue(JobKind::TelegramNotice, None, &owner, &text, now)
                    .await
                {
                    tracing::error!(error = %e, "queueing the reload message failed");
                }
            }
        }
        if let Err(e) = self.end_orphaned_dialogues().await {
            tracing::error!(error = %e, "ending dialogues after a reload failed");
        }
        self.wake.notify_one();
    }

    /// Ends the dialogues whose database or item is gone, each with a message in its chat.
    async fn end_orphaned_dialogues(&self) -> Result<(), crate::store::StoreError> {
        let settings = self.settings.now();
        for dialogue in self.store.open_dialogues().await? {
            let kind = dialogue.kind.as_str();
            let serves = match dialogue.kind {
                DialogueKind::View => settings
                    .catalog
                    .view(&dialogue.alias)
                    .map(|v| v.serves(&dialogue.database)),
                DialogueKind::Action => settings
                    .catalog
                    .action(&dialogue.alias)
                    .map(|a| a.serves(&dialogue.database)),
            };
            let database = dialogue.database.as_str();
            let lang = self
                .store
                .languages_of(&[dialogue.user_id])
                .await?
                .get(&dialogue.user_id)
                .copied()
                .unwrap_or_default();
            let why = if settings.config.database(&dialogue.database).is_none() {
                tr!(lang, "reload-database-removed", database = database)
            } else {
                match serves {
                    None => tr!(lang, "reload-item-removed", kind = kind),
                    Some(false) => tr!(lang, "reload-item-moved", kind = kind, database = database),
                    Some(true) => continue,
                }
            };
            self.store.end_dialogue(dialogue.id).await?;
            let text = tr!(
                lang,
                "reload-dialogue-ended",
                kind = kind,
                item = escape(&dialogue.alias),
                database = escape(database),
                why = escape(&why),
            );
            let chat = Recipient::Chat(ChatId(dialogue.chat_id)).to_string();
            let text = json!({ "text": text });
            let now = self.clock.now();
            self.store
                .enqueue(JobKind::TelegramNotice, None, &chat, &text, now)
                .await?;
        }
        Ok(())
    }
}
