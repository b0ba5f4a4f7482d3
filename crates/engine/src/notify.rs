//! The notification path: verify (CPU, outside any lock), apply through the group committer
//! (one transaction and one commit for every notification queued meanwhile, a savepoint each),
//! answer the bank only after that commit.
//!
//! No e-mail and no bank call happen here: effects go to the outbox and the relay delivers them.

use std::sync::atomic::Ordering;

use tpe_core::{
    Ack, Handled, PaymentProvider, ProviderError, RawNotification, Verified, VerifiedNotification,
};
use tpe_store::{QuarantineInput, RawCopy, StoreError};

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
    /// A protocol handshake (endpoint verification): answered, nothing applied.
    Handshake,
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
    /// Every answer but one comes from the provider's [`PaymentProvider::answer`], in the
    /// bank's own words: after the commit (also for a replay, an ignored event or a
    /// handshake); for forged or malformed input (nothing written, one security log line
    /// without secrets or raw bytes); for an authentic notification naming no checkout
    /// (quarantined); when the store is unavailable, so the bank retries. An unknown provider
    /// gets 404, since there is no provider to ask.
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
        let started = std::time::Instant::now();
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
                return NotificationResponse::ack(p.answer(&Handled::Rejected(&e)), O::Rejected);
            }
            Err(e) => {
                tracing::error!(provider = %p.id(), error = %e, "notification could not be verified");
                return NotificationResponse::plain(500, "not processed\n", O::Failed);
            }
        };
        let n = match &verified {
            Verified::Payment(n) => n,
            Verified::Handshake(_) => {
                tracing::info!(provider = %p.id(), "notification endpoint handshake answered");
                return NotificationResponse::ack(
                    p.answer(&Handled::Processed(&verified)),
                    O::Handshake,
                );
            }
            Verified::Ignored(i) => {
                tracing::info!(provider = %p.id(), event_type = %i.event_type, "notification ignored");
                return NotificationResponse::ack(
                    p.answer(&Handled::Processed(&verified)),
                    O::Ignored,
                );
            }
            _ => {
                tracing::info!(provider = %p.id(), "notification of an unhandled kind ignored");
                return NotificationResponse::ack(
                    p.answer(&Handled::Processed(&verified)),
                    O::Ignored,
                );
            }
        };
        if n.provider != p.id() {
            self.inner.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "tpe::security", provider = %p.id(), "notification names another provider");
            let e = ProviderError::malformed(&p.id(), "notification names another provider");
            return NotificationResponse::ack(p.answer(&Handled::Rejected(&e)), O::Rejected);
        }
        // A busy store answers within the deadline: the bank retries a 503 at once, while a
        // bank whose own timeout fires first counts a failure and may wait much longer.
        let deadline = self.inner.timings.store_deadline;
        match tokio::time::timeout(
            deadline,
            self.record(p.as_ref(), raw, n, &verified, now, started),
        )
        .await
        {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(
                    provider = %p.id(),
                    bank_reference = %n.bank_reference,
                    deadline = ?deadline,
                    "store busy past the deadline, notification refused for a retry"
                );
                NotificationResponse::ack(p.answer(&Handled::Unavailable), O::Unavailable)
            }
        }
    }

    /// Applies an authentic notification: the committer finds its checkout through the bank
    /// reference and commits the event, or it is quarantined with its bytes.
    async fn record(
        &self,
        p: &dyn PaymentProvider,
        raw: &RawNotification,
        n: &VerifiedNotification,
        verified: &Verified,
        now: tpe_core::Timestamp,
        started: std::time::Instant,
    ) -> NotificationResponse {
        use NotificationOutcome as O;
        // The bank names the payment by its bank reference: the committer finds the checkout
        // through the unique mapping (one statement for its whole batch), and the store checks
        // again that the checkout carries that bank reference.
        let result = self.committer().apply(n.clone()).await;
        match result {
            Ok(applied) => {
                tracing::info!(
                    reference = %applied.reference,
                    provider = %p.id(),
                    outcome = n.outcome.kind().as_str(),
                    status = %applied.status,
                    duplicate = applied.duplicate,
                    latency = ?started.elapsed(),
                    "notification applied"
                );
                let outcome = if applied.duplicate {
                    O::Duplicate
                } else {
                    O::Applied
                };
                NotificationResponse::ack(p.answer(&Handled::Processed(verified)), outcome)
            }
            Err(StoreError::NotFound { .. }) => {
                tracing::warn!(
                    target: "tpe::security",
                    provider = %p.id(),
                    bank_reference = %n.bank_reference,
                    "authentic notification for an unknown reference quarantined"
                );
                self.set_aside(p, raw, n, "unknown reference", now, O::UnknownReference)
                    .await
            }
            Err(StoreError::ProviderMismatch {
                reference,
                expected,
                ..
            }) => {
                tracing::warn!(
                    target: "tpe::security",
                    provider = %p.id(),
                    %reference,
                    checkout_provider = %expected,
                    "authentic notification for another provider's checkout quarantined"
                );
                self.set_aside(p, raw, n, "provider mismatch", now, O::Rejected)
                    .await
            }
            Err(e) => self.unavailable(p, &e),
        }
    }

    /// Quarantines an authentic notification that cannot be applied, with its bytes for a
    /// replay ([`Engine::replay_quarantined`]), and rejects it.
    async fn set_aside(
        &self,
        p: &dyn PaymentProvider,
        raw: &RawNotification,
        n: &VerifiedNotification,
        why: &str,
        now: tpe_core::Timestamp,
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
            n.bank_reference.as_str(),
            Some(n.bank_transaction_id.clone()),
            summary,
            why,
        )
        .with_raw(RawCopy::of(raw));
        match self.inner.store.quarantine(entry, now).await {
            Ok(_) => NotificationResponse::ack(p.answer(&Handled::UnknownCheckout), outcome),
            Err(e) => self.unavailable(p, &e),
        }
    }

    /// The store could not commit: the provider's answer for an outage (the bank retries), or
    /// a 500 when the failure is not one the store may recover from.
    fn unavailable(&self, p: &dyn PaymentProvider, e: &StoreError) -> NotificationResponse {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "store unavailable, notification refused");
            NotificationResponse::ack(
                p.answer(&Handled::Unavailable),
                NotificationOutcome::Unavailable,
            )
        } else {
            tracing::error!(error = %e, "notification could not be applied");
            NotificationResponse::plain(500, "not processed\n", NotificationOutcome::Failed)
        }
    }
}
