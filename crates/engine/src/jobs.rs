//! Jobs: the retraction sweep (event 10) and the reconciliation of checkouts whose notification
//! never came (event 11). Both take their items with a lease, so two engine instances on one
//! database never handle one item at the same time.

use tpe_core::{PaymentProvider, ProviderData, RemoteStatus, StatusQuery, Timestamp};
use tpe_store::{CheckoutRecord, EventInput, StoreError};

use crate::engine::Engine;

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
    /// What the bank says about `c`; `None` when it cannot tell (unreachable, another
    /// reference answered).
    pub(crate) async fn remote_status(
        &self,
        p: &dyn PaymentProvider,
        c: &CheckoutRecord,
        now: Timestamp,
    ) -> Option<RemoteStatus> {
        // The bank transactions already seen (refusals, pending) name the tries to ask about.
        let known = match self.inner.store.checkout(&c.reference).await {
            Ok(d) => d
                .bank_transactions
                .into_iter()
                .rev()
                .map(|t| t.bank_transaction_id)
                .collect(),
            Err(_) => Vec::new(),
        };
        let q = StatusQuery::new(c.reference.clone(), c.amount, c.created_at)
            .with_transactions(known)
            .with_bank_reference(c.bank_reference.clone())
            .with_provider_data(
                c.provider_data
                    .as_deref()
                    .and_then(|d| ProviderData::new(d).ok()),
            );
        match p.query_status(&q, now).await {
            Ok(r) if r.reference != c.reference => {
                tracing::warn!(reference = %c.reference, "status query answered for another reference");
                None
            }
            Ok(r) => Some(r.status),
            Err(e) => {
                tracing::warn!(reference = %c.reference, error = %e, "status query failed: unknown");
                None
            }
        }
    }

    async fn query(&self, p: &dyn PaymentProvider, c: &CheckoutRecord, now: Timestamp) -> Remote {
        match self.remote_status(p, c, now).await {
            Some(RemoteStatus::Paid {
                bank_transaction_id,
                amount,
            }) => Remote::Paid {
                txn: bank_transaction_id,
                amount,
            },
            Some(RemoteStatus::Pending) => Remote::Pending,
            // Never a verdict: asked again at the next run.
            Some(RemoteStatus::Unclassified { code }) => {
                tracing::warn!(reference = %c.reference, %code, "status query answered a code outside the table");
                Remote::Unknown
            }
            Some(
                RemoteStatus::Refused { .. }
                | RemoteStatus::Cancelled
                | RemoteStatus::NotFound
                | RemoteStatus::Refunded { .. },
            ) => Remote::NotPaid,
            _ => Remote::Unknown,
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
                &c.reference,
                EventInput::ReconciledPaid {
                    bank_transaction_id: txn,
                    amount,
                },
                now,
            )
            .await
            .map(|_| ())
            .or_else(|e| match e {
                // Paid meanwhile by a notification (or retracted): nothing left to do.
                StoreError::Transition(_) => Ok(()),
                e => Err(e),
            })
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
        // Leased: another instance neither queries the bank for these nor retracts them until
        // the lease ends; a postponed one comes back after it.
        let items = self
            .inner
            .store
            .claim_retraction(now, t.batch, t.lease)
            .await?;
        for c in items {
            let reference = c.reference.clone();
            let Some(p) = self.inner.registry.get(&c.provider).cloned() else {
                tracing::error!(%reference, provider = %c.provider, "provider not registered: retraction postponed");
                report.postponed += 1;
                continue;
            };
            if p.profile().capabilities.status_query {
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
                .apply_event(&reference, EventInput::Retract, now)
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
        let items = self
            .inner
            .store
            .claim_reconciliation(now, t.reconcile_after, t.batch, t.lease)
            .await?;
        for c in items {
            let reference = c.reference.clone();
            let provider = self
                .inner
                .registry
                .get(&c.provider)
                .filter(|p| p.profile().capabilities.status_query)
                .cloned();
            let Some(p) = provider else {
                // Nothing to ask this provider: the store's backoff spaces the next look.
                self.inner
                    .store
                    .reschedule_reconciliation(&reference, now)
                    .await?;
                continue;
            };
            report.queried += 1;
            match self.query(p.as_ref(), &c, now).await {
                Remote::Paid { txn, amount } => {
                    self.apply_paid(&c, txn, amount, now).await?;
                    report.paid += 1;
                    tracing::info!(%reference, "reconciliation found the checkout paid");
                    continue;
                }
                Remote::Unknown => report.unreachable += 1,
                Remote::NotPaid | Remote::Pending => {}
            }
            self.inner
                .store
                .reschedule_reconciliation(&reference, now)
                .await?;
        }
        Ok(report)
    }
}
