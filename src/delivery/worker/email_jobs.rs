//! Email jobs: escalations, resolutions and fallbacks sent through SMTP, and when Telegram's failure
//! to deliver an alert makes email stand in for it.

use super::{Outcome, Worker, backoff};
use crate::delivery::email::{Email, EmailError};
use crate::delivery::render;
use crate::domain::IncidentId;
use crate::store::{ClaimedJob, JobKind, StoreError};

impl Worker {
    /// Telegram failed for an incident; once no admin got it for `telegram_failure_after`, email.
    pub(super) async fn telegram_failing(&self, id: IncidentId) -> Result<(), StoreError> {
        let Some(since) = self.store.telegram_failing_since(id).await? else {
            return Ok(());
        };
        let limit = i64::try_from(self.config().escalation.telegram_failure_after.as_millis())
            .unwrap_or(i64::MAX);
        if self.clock.now().timestamp_millis() - since >= limit {
            let reason = format!(
                "Telegram has failed to deliver this alert to any admin for {}s.",
                self.config().escalation.telegram_failure_after.as_secs()
            );
            self.fall_back_to_email(id, &reason).await?;
        }
        Ok(())
    }

    /// Queues one fallback email per address of the incident's database (once per incident).
    pub(super) async fn fall_back_to_email(
        &self,
        id: IncidentId,
        reason: &str,
    ) -> Result<(), StoreError> {
        if self.mailer().is_none() {
            return Ok(());
        }
        let Some(incident) = self.store.incident_record(id).await? else {
            return Ok(());
        };
        let config = self.config();
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
        let escalation = &self.config().escalation;
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
                format!(
                    "Nobody acknowledged this alert in Telegram within {}.",
                    render::human_duration(
                        chrono::Duration::from_std(escalation.ack_timeout).unwrap_or_default()
                    )
                )
            }
            JobKind::EmailResolved => "This incident is resolved.".to_owned(),
            _ => serde_json::from_str::<serde_json::Value>(&job.payload)
                .ok()
                .and_then(|p| p["reason"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "Telegram could not deliver this alert.".to_owned()),
        };
        let body = render::email(&incident, &reason, self.clock.now());
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
