//! Jobs: the retraction sweep (event 10) and the reconciliation of checkouts whose notification
//! never came (event 11). Both take their items with a lease, so two engine instances on one
//! database never handle one item at the same time.

use tpe_core::lifecycle::Event;
use tpe_core::{PaymentProvider, RemoteStatus, StatusQuery, Timestamp};

use crate::engine::Engine;
use crate::store::{CheckoutRecord, StoreError};

/// What one retraction run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetractionReport {
    /// Checkouts retracted.
    pub retracted: u32,
    /// Checkouts the bank reported paid: validated instead.
    pub paid: u32,
    /// Checkouts left for a later run (bank unreachable or payment still pending).
    pub postponed: u32,
}

/// What one reconciliation run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconciliationReport {
    /// Status queries made.
    pub queried: u32,
    /// Checkouts found paid and validated.
    pub paid: u32,
    /// Queries that failed (unknown: tried again later).
    pub unreachable: u32,
}

/// The bank's answer as the jobs need it.
enum Remote {
    Paid {
        txn: String,
        amount: tpe_core::Amount,
    },
    NotPaid,
    Pending,
    Unknown,
}

impl Engine {
    async fn query(&self, p: &dyn PaymentProvider, c: &CheckoutRecord, now: Timestamp) -> Remote {
        let q = StatusQuery::new(c.state.reference.clone(), c.state.amount, c.info.created_at)
            .with_transactions(c.state.seen.iter().map(|(t, _)| t.clone()).collect());
        match p.query_status(&q, now).await {
            Ok(r) if r.reference != c.state.reference => {
                tracing::warn!(reference = %c.state.reference, "status query answered for another reference");
                Remote::Unknown
            }
            Ok(r) => match r.status {
                RemoteStatus::Paid {
                    bank_transaction_id,
                    amount,
                } => Remote::Paid {
                    txn: bank_transaction_id,
                    amount,
                },
                RemoteStatus::Pending => Remote::Pending,
                RemoteStatus::Refused { .. }
                | RemoteStatus::Cancelled
                | RemoteStatus::NotFound
                | RemoteStatus::Refunded { .. } => Remote::NotPaid,
                _ => Remote::Unknown,
            },
            Err(e) => {
                tracing::warn!(reference = %c.state.reference, error = %e, "status query failed: unknown");
                Remote::Unknown
            }
        }
    }

    async fn apply_paid(
        &self,
        c: &CheckoutRecord,
        txn: String,
        amount: tpe_core::Amount,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.inner
            .store
            .apply_event(
                &c.state.reference,
                Event::ReconciledPaid {
                    bank_transaction_id: txn,
                    amount,
                    order_paid_by: None,
                },
                now,
            )
            .await
            .map(|_| ())
    }

    /// Retracts the checkouts awaiting payment whose `retract_at` is at or before `now`, each
    /// after a bank status query where the provider has one: paid → validated (event 11);
    /// unreachable or pending → left for a later run, never retracted on "unknown".
    ///
    /// # Errors
    /// [`StoreError`] when the store fails; items already done stay done.
    pub async fn run_retraction(&self, now: Timestamp) -> Result<RetractionReport, StoreError> {
        let t = self.inner.timings;
        let mut report = RetractionReport::default();
        let items = self
            .inner
            .store
            .claim_due_for_retraction(now, t.batch, t.lease)
            .await?;
        for c in items {
            let reference = c.state.reference.clone();
            let Some(p) = self.inner.registry.get(&c.state.provider).cloned() else {
                tracing::error!(%reference, provider = %c.state.provider, "provider not registered: retraction postponed");
                report.postponed += 1;
                continue;
            };
            if p.capabilities().status_query {
                match self.query(p.as_ref(), &c, now).await {
                    Remote::Paid { txn, amount } => {
                        self.apply_paid(&c, txn, amount, now).await?;
                        report.paid += 1;
                        continue;
                    }
                    Remote::Pending | Remote::Unknown => {
                        report.postponed += 1;
                        continue;
                    }
                    Remote::NotPaid => {}
                }
            }
            match self
                .inner
                .store
                .apply_event(&reference, Event::Retract { now }, now)
                .await
            {
                Ok(_) => {
                    tracing::info!(%reference, "checkout retracted");
                    report.retracted += 1;
                }
                // It changed meanwhile (paid by a notification): nothing to do.
                Err(StoreError::Transition(e)) => {
                    tracing::info!(%reference, reason = %e, "retraction skipped");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Queries the bank for checkouts awaiting payment more than
    /// [`crate::Timings::reconcile_after`] after their creation, with doubling backoff, and
    /// applies what it finds (paid → event 11, exactly the effects of the notification).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn run_reconciliation(
        &self,
        now: Timestamp,
    ) -> Result<ReconciliationReport, StoreError> {
        let t = self.inner.timings;
        let mut report = ReconciliationReport::default();
        let created_before = now.checked_sub(t.reconcile_after).unwrap_or(now);
        let items = self
            .inner
            .store
            .claim_due_for_reconciliation(now, created_before, t.batch, t.lease)
            .await?;
        for c in items {
            let reference = c.state.reference.clone();
            let provider = self
                .inner
                .registry
                .get(&c.state.provider)
                .filter(|p| p.capabilities().status_query)
                .cloned();
            let Some(p) = provider else {
                // Nothing to ask: look again only at the retraction time.
                self.inner
                    .store
                    .reschedule_reconciliation(&reference, now, c.state.retract_at)
                    .await?;
                continue;
            };
            report.queried += 1;
            match self.query(p.as_ref(), &c, now).await {
                Remote::Paid { txn, amount } => {
                    self.apply_paid(&c, txn, amount, now).await?;
                    report.paid += 1;
                    tracing::info!(%reference, "reconciliation found the checkout paid");
                }
                Remote::Unknown => report.unreachable += 1,
                Remote::NotPaid | Remote::Pending => {}
            }
            let factor = 1i32
                .checked_shl(c.reconcile_attempts.min(16))
                .unwrap_or(i32::MAX);
            let delay = t
                .reconcile_backoff
                .checked_mul(factor)
                .unwrap_or(t.reconcile_backoff_max)
                .min(t.reconcile_backoff_max);
            self.inner
                .store
                .reschedule_reconciliation(&reference, now, now.checked_add(delay).unwrap_or(now))
                .await?;
        }
        Ok(report)
    }
}
