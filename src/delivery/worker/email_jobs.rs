//! Email jobs: escalations, resolutions and fallbacks sent through SMTP, and when Telegram's failure
//! to deliver an alert makes email stand in for it.

use super::{Outcome, Worker, backoff};
use crate::delivery::email::{Email, EmailError};
use crate::delivery::render;
use crate::domain::IncidentId;
use crate::i18n::Lang;
use crate::store::{ClaimedJob, JobKind, StoreError};
use crate::tr;

impl Worker {
    /// Telegram failed for an incident; once no admin got it for `telegram_failure_after`, email.
    pub(super) async fn telegram_failing(&self, id: IncidentId) -> Result<(), StoreError> {
        let Some(since) = self.store.telegram_failing_since(id).await? else {
            return Ok(());
        };
        let limit = i64::try_from(self.config().escalation.telegram_failure_after.as_millis())
            .unwrap_or(i64::MAX);
        if self.clock.now().timestamp_millis() - since >= limit {
            let after = self.config().escalation.telegram_failure_after.as_secs();
            let after = i64::try_from(after).unwrap_or(i64::MAX);
            self.fall_back_to_email(id, |lang| {
                tr!(
                    lang,
                    "email-reason-telegram-failing",
                    duration = lang.duration(after),
                )
            })
            .await?;
        }
        Ok(())
    }

    /// Queues one fallback email per address of the incident's database (once per incident), with the
    /// `reason` in the database's language.
    pub(super) async fn fall_back_to_email(
        &self,
        id: IncidentId,
        reason: impl FnOnce(Lang) -> String,
    ) -> Result<(), StoreError> {
        if self.mailer().is_none() {
            return Ok(());
        }
        let Some(incident) = self.store.incident_record(id).await? else {
            return Ok(());
        };
        let config = self.config();
        let reason = reason(config.language_of(incident.database.as_deref()));
        let addresses = incident
            .database
            .as_deref()
            .and_then(|name| config.databases.iter().find(|d| d.name.as_str() == name))
            .map(|db| db.email.clone())
            .unwrap_or_default();
        for address in addresses {
            // Each admin's failing send gets here, concurrently: the store's unique key decides.
            if self
                .store
                .enqueue_once(
                    JobKind::EmailFallback,
                    id,
                    address.as_str(),
                    &serde_json::json!({ "reason": reason }),
                    self.clock.now(),
                )
                .await?
            {
                self.wake.notify_one();
            }
        }
        Ok(())
    }

    pub(super) async fn email(&self, job: &ClaimedJob) -> Result<Outcome, StoreError> {
        let Some(mailer) = &self.mailer() else {
            return Ok(Outcome::Done("skipped: no smtp configured".to_owned()));
        };
        let Some(incident) = self.incident(job).await? else {
            return Ok(Outcome::Done("failed: incident not found".to_owned()));
        };
        let config = self.config();
        let escalation = &config.escalation;
        let lang = config.language_of(incident.database.as_deref());
        let reason = match job.kind {
            JobKind::EmailEscalation => {
                if incident.status == crate::domain::AlertStatus::Resolved {
                    return Ok(Outcome::Done("cancelled: resolved".to_owned()));
                }
                if incident.acknowledged_by.is_some() {
                    return Ok(Outcome::Done("cancelled: acknowledged".to_owned()));
                }
                if !escalation.severities.is_empty()
                    && !escalation.severities.contains(&incident.severity)
                {
                    return Ok(Outcome::Done("skipped: severity".to_owned()));
                }
                let timeout = i64::try_from(escalation.ack_timeout.as_secs()).unwrap_or(i64::MAX);
                tr!(
                    lang,
                    "email-reason-unacknowledged",
                    duration = lang.duration(timeout),
                )
            }
            JobKind::EmailResolved => tr!(lang, "email-reason-resolved"),
            // Written when queued, in the database's language then.
            _ => serde_json::from_str::<serde_json::Value>(&job.payload)
                .ok()
                .and_then(|p| p["reason"].as_str().map(str::to_owned))
                .unwrap_or_else(|| tr!(lang, "email-reason-undelivered")),
        };
        let body = render::email(lang, &incident, &reason, self.clock.now());
        let email = Email {
            to: vec![job.recipient.clone()],
            subject: body.subject,
            text: body.text,
            html: body.html,
        };
        let kind = job.kind.as_str();
        match mailer.send(&email).await {
            Ok(()) => {
                self.metrics.emails.with_label_values(&[kind, "sent"]).inc();
                Ok(Outcome::Done("sent".to_owned()))
            }
            Err(EmailError::Permanent(e)) | Err(EmailError::Config(e)) => {
                self.metrics
                    .emails
                    .with_label_values(&[kind, "permanent"])
                    .inc();
                tracing::error!(job = job.id, error = %e, "email refused for good");
                Ok(Outcome::Done(format!("failed: {e}")))
            }
            Err(EmailError::Transient(e)) => {
                self.metrics
                    .emails
                    .with_label_values(&[kind, "transient"])
                    .inc();
                Ok(Outcome::Retry {
                    after: backoff(job.attempts),
                    error: e,
                })
            }
        }
    }
}
