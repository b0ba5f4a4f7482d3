//! The notification path: verify (CPU, outside any lock), apply through the group committer
//! (one transaction and one commit for every notification queued meanwhile, a savepoint each),
//! answer the bank only after that commit.
//!
//! No e-mail and no bank call happen here: effects go to the outbox and the relay delivers them.

use std::sync::atomic::Ordering;

use tpe_core::{Ack, RawNotification, Verified, VerifiedNotification};
use tpe_store::{EventInput, QuarantineInput, StoreError};

use crate::engine::Engine;

/// The HTTP answer to a bank notification (never a redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
    /// What happened, for logs and tests.
    pub outcome: NotificationOutcome,
}

/// What the engine did with a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotificationOutcome {
    /// Applied and committed.
    Applied,
    /// Already applied before: the same success answer.
    Duplicate,
    /// Authentic, of a kind the engine does not handle: acknowledged.
    Ignored,
    /// Forged, stale or malformed: rejected, nothing written.
    Rejected,
    /// Authentic but naming no known checkout: quarantined and rejected.
    UnknownReference,
    /// No such provider.
    UnknownProvider,
    /// The store is unavailable: the bank must retry.
    Unavailable,
    /// An internal failure (misconfiguration): the bank retries.
    Failed,
}

impl NotificationResponse {
    fn ack(ack: Ack, outcome: NotificationOutcome) -> Self {
        Self {
            status: ack.status,
            content_type: ack.content_type,
            body: ack.body.into_owned(),
            outcome,
        }
    }

    fn plain(status: u16, body: &str, outcome: NotificationOutcome) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_owned(),
            outcome,
        }
    }
}

impl Engine {
    /// Handles one server-to-server notification for `provider`, given exactly as received.
    ///
    /// Answers: the provider's exact [`Ack`] after the commit (also for a replay); 400/401 for
    /// forged or malformed input (nothing written, one security log line without secrets or
    /// raw bytes); 404 for an unknown provider or reference (an authentic notification for an
    /// unknown reference is quarantined); 503 when the store is unavailable, so the bank retries.
    pub async fn handle_notification(
        &self,
        provider: &str,
        raw: &RawNotification,
    ) -> NotificationResponse {
        use NotificationOutcome as O;
        let Some(p) = self.provider(provider) else {
            self.inner.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                target: "tpe::security",
                provider = %provider.chars().take(32).collect::<String>(),
                peer = ?raw.peer(),
                "notification for an unknown provider rejected"
            );
            return NotificationResponse::plain(404, "unknown provider\n", O::UnknownProvider);
        };
        let now = self.inner.clock.now();
        let verified = match p.verify(raw, now) {
            Ok(v) => v,
            Err(e) if e.is_rejection() => {
                self.inner.rejected.fetch_add(1, Ordering::Relaxed);
                // The error's Display names the provider and the kind of failure only.
                tracing::warn!(
                    target: "tpe::security",
                    provider = %p.id(),
                    peer = ?raw.peer(),
                    query_len = raw.query().len(),
                    body_len = raw.body().len(),
                    error = %e,
                    "notification rejected"
                );
                let status = if matches!(e, tpe_core::ProviderError::BadSignature { .. }) {
                    401
                } else {
                    400
                };
                return NotificationResponse::plain(status, "rejected\n", O::Rejected);
            }
            Err(e) => {
                tracing::error!(provider = %p.id(), error = %e, "notification could not be verified");
                return NotificationResponse::plain(500, "not processed\n", O::Failed);
            }
        };
        let n = match &verified {
            Verified::Payment(n) => n,
            Verified::Ignored(i) => {
                tracing::info!(provider = %p.id(), event_type = %i.event_type, "notification ignored");
                return NotificationResponse::ack(p.acknowledge(&verified), O::Ignored);
            }
            _ => {
                tracing::info!(provider = %p.id(), "notification of an unhandled kind ignored");
                return NotificationResponse::ack(p.acknowledge(&verified), O::Ignored);
            }
        };
        if n.provider != p.id() {
            self.inner.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "tpe::security", provider = %p.id(), "notification names another provider");
            return NotificationResponse::plain(400, "rejected\n", O::Rejected);
        }
        let result = self
            .committer()
            .apply(n.reference.clone(), EventInput::Notification(n.clone()))
            .await;
        match result {
            Ok(applied) => {
                tracing::info!(
                    reference = %n.reference,
                    provider = %p.id(),
                    outcome = n.outcome.kind().as_str(),
                    status = %applied.status,
                    duplicate = applied.duplicate,
                    "notification applied"
                );
                let outcome = if applied.duplicate {
                    O::Duplicate
                } else {
                    O::Applied
                };
                NotificationResponse::ack(p.acknowledge(&verified), outcome)
            }
            Err(StoreError::NotFound { .. }) => {
                tracing::warn!(
                    target: "tpe::security",
                    provider = %p.id(),
                    reference = %n.reference,
                    "authentic notification for an unknown reference quarantined"
                );
                self.set_aside(n, "unknown reference", now, 404, O::UnknownReference)
                    .await
            }
            Err(StoreError::ProviderMismatch { expected, .. }) => {
                tracing::warn!(
                    target: "tpe::security",
                    provider = %p.id(),
                    reference = %n.reference,
                    checkout_provider = %expected,
                    "authentic notification for another provider's checkout quarantined"
                );
                self.set_aside(n, "provider mismatch", now, 400, O::Rejected)
                    .await
            }
            Err(e) => unavailable(&e),
        }
    }

    /// Quarantines an authentic notification that cannot be applied and rejects it.
    async fn set_aside(
        &self,
        n: &VerifiedNotification,
        why: &str,
        now: tpe_core::Timestamp,
        status: u16,
        outcome: NotificationOutcome,
    ) -> NotificationResponse {
        self.inner.rejected.fetch_add(1, Ordering::Relaxed);
        let summary = format!(
            "{} {} announced {}",
            n.provider,
            n.outcome.kind().as_str(),
            n.amount
        );
        let entry = QuarantineInput::new(
            n.provider.clone(),
            n.reference.as_str(),
            Some(n.bank_transaction_id.clone()),
            summary,
            why,
        );
        match self.inner.store.quarantine(entry, now).await {
            Ok(_) => NotificationResponse::plain(status, "rejected\n", outcome),
            Err(e) => unavailable(&e),
        }
    }
}

fn unavailable(e: &StoreError) -> NotificationResponse {
    if e.is_unavailable() {
        tracing::warn!(error = %e, "store unavailable, notification refused with 503");
        NotificationResponse::plain(
            503,
            "temporarily unavailable\n",
            NotificationOutcome::Unavailable,
        )
    } else {
        tracing::error!(error = %e, "notification could not be applied");
        NotificationResponse::plain(500, "not processed\n", NotificationOutcome::Failed)
    }
}
