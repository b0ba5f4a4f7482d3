//! [`TpeStore`]: the engine over tpe-store's [`PaymentStore`] (SQLite or PostgreSQL).

use std::sync::Arc;

use tpe_core::lifecycle::{CheckoutState, Event};
use tpe_core::{CheckoutStatus, Lang, PaymentReference, Timestamp, VerifiedNotification};
use tpe_store::{EventInput, PaymentStore};

use crate::store::{
    Applied, AuditEntry, BankTransaction, CheckoutDetail, CheckoutInfo, CheckoutRecord,
    EngineStore, NewCheckout, OutboxEntry, OutboxItem, Page, PaymentRecord, QuarantineEntry,
    StoreError,
};

/// An [`EngineStore`] backed by a tpe-store [`PaymentStore`].
///
/// The store does not keep the customer's language nor the description: e-mails to the
/// customer use `language` and no description.
#[derive(Debug, Clone)]
pub struct TpeStore {
    store: Arc<dyn PaymentStore>,
    language: Lang,
    worker: String,
}

impl TpeStore {
    /// Wraps `store`; `worker` names this engine instance in outbox leases.
    pub fn new(store: Arc<dyn PaymentStore>, language: Lang, worker: impl Into<String>) -> Self {
        Self {
            store,
            language,
            worker: worker.into(),
        }
    }

    fn record(&self, c: tpe_store::CheckoutRecord) -> CheckoutRecord {
        CheckoutRecord {
            state: CheckoutState {
                reference: c.reference,
                provider: c.provider,
                amount: c.amount,
                shop_order_id: c.shop_order_id,
                status: c.status,
                amount_mismatch: c.amount_mismatch,
                superseded_by: c.superseded_by,
                validated_by: c.validated_by,
                retract_at: c.retract_at,
                seen: Default::default(),
            },
            info: CheckoutInfo {
                customer_name: c.customer_name,
                customer_email: c.customer_email,
                language: self.language,
                description: String::new(),
                item_count: 0,
                delivery: c.delivery_date,
                created_at: c.created_at,
            },
            updated_at: c.updated_at,
            reconcile_attempts: c.reconcile_attempts,
        }
    }
}

fn err(e: tpe_store::StoreError) -> StoreError {
    use tpe_store::StoreError as S;
    match e {
        S::NotFound { reference } => match PaymentReference::parse(&reference) {
            Ok(r) => StoreError::UnknownReference(r),
            Err(_) => StoreError::Backend(format!("no checkout has reference {reference}")),
        },
        S::AlreadyExists { reference } => StoreError::DuplicateReference(reference),
        S::Transition(t) => StoreError::Transition(t),
        e if e.is_unavailable() => StoreError::Unavailable(e.to_string()),
        S::Corrupt { what } => StoreError::Corrupt(what),
        e => StoreError::Backend(e.to_string()),
    }
}

fn applied(a: tpe_store::Applied) -> Applied {
    Applied {
        status: a.status,
        duplicate: a.duplicate,
        effects: a.effects,
    }
}

#[async_trait::async_trait]
impl EngineStore for TpeStore {
    async fn create_checkout(&self, c: NewCheckout) -> Result<(), StoreError> {
        let s = c.state;
        let mut n = tpe_store::NewCheckout::new(
            s.reference,
            s.provider,
            s.amount,
            c.info.customer_email,
            c.info.customer_name,
            s.retract_at,
            c.info.created_at,
        );
        if let Some(o) = s.shop_order_id {
            n = n.with_shop_order(o);
        }
        if let Some(d) = c.info.delivery {
            n = n.with_delivery_date(d);
        }
        self.store.create_checkout(n).await.map(|_| ()).map_err(err)
    }

    async fn apply_event(
        &self,
        reference: &PaymentReference,
        event: Event,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        let input = match event {
            Event::ReconciledPaid {
                bank_transaction_id,
                amount,
                ..
            } => EventInput::ReconciledPaid {
                bank_transaction_id,
                amount,
            },
            Event::ManualValidation { author, note } => {
                EventInput::ManualValidation { author, note }
            }
            Event::Retract { .. } => EventInput::Retract,
            Event::BrowserReturn => EventInput::BrowserReturn,
            other => {
                return Err(StoreError::Backend(format!(
                    "event {} goes through apply_notification",
                    other.name()
                )));
            }
        };
        self.store
            .apply_event(reference, input, now)
            .await
            .map(applied)
            .map_err(err)
    }

    async fn apply_notification(
        &self,
        n: &VerifiedNotification,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        self.store
            .apply_event(&n.reference, EventInput::Notification(n.clone()), now)
            .await
            .map(applied)
            .map_err(err)
    }

    async fn quarantine(&self, q: QuarantineEntry) -> Result<(), StoreError> {
        let input = tpe_store::QuarantineInput::new(
            q.provider,
            q.reference.as_str(),
            Some(q.bank_transaction_id),
            "authentic notification",
            q.why,
        );
        self.store
            .quarantine(input, q.at)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn checkout(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<CheckoutRecord>, StoreError> {
        Ok(self.checkout_detail(reference).await?.map(|d| d.checkout))
    }

    async fn checkout_detail(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<CheckoutDetail>, StoreError> {
        let d = match self.store.checkout(reference).await {
            Ok(d) => d,
            Err(tpe_store::StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        let mut checkout = self.record(d.checkout);
        checkout.state.seen = d
            .bank_transactions
            .iter()
            .map(|t| (t.bank_transaction_id.clone(), t.outcome))
            .collect();
        Ok(Some(CheckoutDetail {
            checkout,
            bank_transactions: d
                .bank_transactions
                .into_iter()
                .map(|t| BankTransaction {
                    bank_transaction_id: t.bank_transaction_id,
                    outcome: t.outcome,
                    code: t.reason_code,
                    amount: t.amount,
                    at: t.received_at,
                })
                .collect(),
            effects: d
                .effects
                .into_iter()
                .map(|e| OutboxEntry {
                    id: e.id,
                    effect: e.effect,
                    attempts: e.attempts,
                    delivered_at: e.delivered_at,
                    last_error: e.last_error,
                })
                .collect(),
            audit: d
                .audit
                .into_iter()
                .map(|a| AuditEntry {
                    at: a.at,
                    event: a.event,
                    from: a.status_before,
                    to: a.status_after,
                    author: a.author,
                    note: a.detail,
                })
                .collect(),
        }))
    }

    async fn checkouts_by_state(
        &self,
        status: CheckoutStatus,
        page: Page,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let want = usize::try_from(page.limit.min(500)).unwrap_or(500);
        let mut skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let q = tpe_store::CheckoutQuery::new(Some(status), 500).after(cursor);
            let p = self.store.list_checkouts(q).await.map_err(err)?;
            for c in p.items {
                if skip > 0 {
                    skip -= 1;
                } else if out.len() < want {
                    out.push(self.record(c));
                }
            }
            if out.len() >= want || p.next.is_none() {
                return Ok(out);
            }
            cursor = p.next;
        }
    }

    async fn payment_records(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let v = self
            .store
            .payment_records(from, to, tpe_store::MAX_LIMIT)
            .await
            .map_err(err)?;
        Ok(v.into_iter()
            .map(|r| PaymentRecord {
                id: r.id,
                reference: r.reference,
                amount: r.amount,
                bank_transaction_id: r.bank_transaction_id,
                source: r.source.as_str().to_owned(),
                at: r.recorded_at,
            })
            .collect())
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        limit: u32,
        lease: jiff::SignedDuration,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let v = self
            .store
            .claim_effects(&self.worker, now, limit, lease)
            .await
            .map_err(err)?;
        Ok(v.into_iter()
            .map(|e| OutboxItem {
                id: e.id,
                reference: e.reference,
                effect: e.effect,
                attempts: e.attempts,
            })
            .collect())
    }

    async fn mark_delivered(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.store
            .mark_delivered(id, now)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn reschedule(
        &self,
        id: i64,
        now: Timestamp,
        _next_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        // The store applies its own backoff with jitter.
        self.store
            .reschedule(id, now, error)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn claim_due_for_retraction(
        &self,
        now: Timestamp,
        limit: u32,
        _lease: jiff::SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        // No lease in the store for this job: a second instance may query the bank for the same
        // checkout, and the retraction itself stays once (the transition refuses a second one).
        let v = self
            .store
            .due_for_retraction(now, limit)
            .await
            .map_err(err)?;
        Ok(v.into_iter().map(|c| self.record(c)).collect())
    }

    async fn claim_due_for_reconciliation(
        &self,
        now: Timestamp,
        created_before: Timestamp,
        limit: u32,
        lease: jiff::SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let min_age = now.duration_since(created_before);
        let v = self
            .store
            .claim_reconciliation(now, min_age, limit, lease)
            .await
            .map_err(err)?;
        Ok(v.into_iter().map(|c| self.record(c)).collect())
    }

    async fn reschedule_reconciliation(
        &self,
        reference: &PaymentReference,
        now: Timestamp,
        _next_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.store
            .reschedule_reconciliation(reference, now)
            .await
            .map(|_| ())
            .map_err(err)
    }
}
