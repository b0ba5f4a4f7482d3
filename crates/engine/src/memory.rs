//! [`MemoryStore`]: an [`EngineStore`] in memory, for tests, examples and demos.
//!
//! It follows the same rules as the database stores (one lock = one transaction, outbox rows
//! unique per effect key, leases for claims) but keeps nothing across restarts of the process.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use tpe_core::lifecycle::{self, Effect, Event};
use tpe_core::{BankOutcome, CheckoutStatus, OutcomeKind, PaymentReference, Timestamp};

use crate::store::{
    Applied, AuditEntry, BankTransaction, CheckoutDetail, CheckoutRecord, EngineStore, NewCheckout,
    OutboxEntry, OutboxItem, Page, PaymentRecord, QuarantineEntry, StoreError,
};

#[derive(Debug)]
struct Row {
    record: CheckoutRecord,
    txns: Vec<BankTransaction>,
    audit: Vec<AuditEntry>,
    lease_until: Option<Timestamp>,
    next_reconcile_at: Option<Timestamp>,
}

#[derive(Debug)]
struct OutboxRow {
    reference: PaymentReference,
    entry: OutboxEntry,
    next_at: Timestamp,
    lease_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct Inner {
    checkouts: BTreeMap<PaymentReference, Row>,
    outbox: Vec<OutboxRow>,
    keys: HashSet<(PaymentReference, String)>,
    records: Vec<PaymentRecord>,
    quarantine: Vec<QuarantineEntry>,
    next_id: i64,
}

/// An in-memory [`EngineStore`].
///
/// ```
/// let store = tpe_engine::MemoryStore::new();
/// assert!(store.quarantined().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The quarantine rows.
    pub fn quarantined(&self) -> Vec<QuarantineEntry> {
        self.lock().quarantine.clone()
    }
}

fn not_leased(lease: Option<Timestamp>, now: Timestamp) -> bool {
    lease.is_none_or(|l| l <= now)
}

fn add(now: Timestamp, d: jiff::SignedDuration) -> Timestamp {
    now.checked_add(d).unwrap_or(now)
}

impl Inner {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn apply(
        &mut self,
        reference: &PaymentReference,
        mut event: Event,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        let row = self
            .checkouts
            .get(reference)
            .ok_or_else(|| StoreError::UnknownReference(reference.clone()))?;
        let state = row.record.state.clone();
        // Another valid checkout of the same shop order, read in the same "transaction".
        let paid_by = state.shop_order_id.as_ref().and_then(|order| {
            self.checkouts
                .values()
                .find(|r| {
                    r.record.state.shop_order_id.as_ref() == Some(order)
                        && r.record.state.reference != *reference
                        && r.record.state.status == CheckoutStatus::Valid
                })
                .map(|r| r.record.state.reference.clone())
        });
        match &mut event {
            Event::Notification { order_paid_by, .. }
            | Event::ReconciledPaid { order_paid_by, .. } => *order_paid_by = paid_by,
            _ => {}
        }
        let t = lifecycle::apply(&state, &event)?;
        if t.duplicate {
            return Ok(Applied {
                status: t.state.status,
                duplicate: true,
                effects: Vec::new(),
            });
        }
        let txn = match &event {
            Event::Notification { verdict, .. } => Some(BankTransaction {
                bank_transaction_id: verdict.bank_transaction_id.clone(),
                outcome: verdict.outcome.kind(),
                code: match &verdict.outcome {
                    BankOutcome::Refused { reason } => Some(reason.code().to_owned()),
                    _ => None,
                },
                amount: verdict.amount,
                at: now,
            }),
            Event::ReconciledPaid {
                bank_transaction_id,
                amount,
                ..
            } => Some(BankTransaction {
                bank_transaction_id: bank_transaction_id.clone(),
                outcome: OutcomeKind::Accepted,
                code: None,
                amount: *amount,
                at: now,
            }),
            _ => None,
        };
        let mut written = Vec::new();
        for effect in &t.effects {
            if !self.keys.insert((reference.clone(), effect.key())) {
                continue;
            }
            let id = self.id();
            // Effects carried out inside the transaction are stored as delivered.
            let mut delivered_at = None;
            match effect {
                Effect::RecordPayment {
                    amount,
                    bank_transaction_id,
                    source,
                } => self.records.push(PaymentRecord {
                    id,
                    reference: reference.clone(),
                    amount: *amount,
                    bank_transaction_id: bank_transaction_id.clone(),
                    source: source.as_str().to_owned(),
                    at: now,
                }),
                Effect::Quarantine {
                    bank_transaction_id,
                    why,
                } => {
                    self.quarantine.push(QuarantineEntry {
                        provider: state.provider.clone(),
                        reference: reference.clone(),
                        bank_transaction_id: bank_transaction_id.clone(),
                        why: why.clone(),
                        at: now,
                    });
                    delivered_at = Some(now);
                }
                Effect::SupersedeSiblings => {
                    self.supersede_siblings(&t.state, now);
                    delivered_at = Some(now);
                }
                _ => {}
            }
            self.outbox.push(OutboxRow {
                reference: reference.clone(),
                entry: OutboxEntry {
                    id,
                    effect: effect.clone(),
                    attempts: 0,
                    delivered_at,
                    last_error: None,
                },
                next_at: now,
                lease_until: None,
            });
            written.push(effect.clone());
        }
        let (author, note) = match &event {
            Event::ManualValidation { author, note } => (Some(author.clone()), Some(note.clone())),
            _ => (None, None),
        };
        let Some(row) = self.checkouts.get_mut(reference) else {
            return Err(StoreError::UnknownReference(reference.clone()));
        };
        row.txns.extend(txn);
        row.audit.push(AuditEntry {
            at: now,
            event: event.name().to_owned(),
            from: state.status,
            to: t.state.status,
            author,
            note,
        });
        row.record.state = t.state.clone();
        row.record.updated_at = now;
        Ok(Applied {
            status: t.state.status,
            duplicate: false,
            effects: written,
        })
    }

    fn supersede_siblings(&mut self, valid: &lifecycle::CheckoutState, now: Timestamp) {
        let Some(order) = valid.shop_order_id.clone() else {
            return;
        };
        let siblings: Vec<_> = self
            .checkouts
            .values()
            .filter(|r| {
                r.record.state.shop_order_id.as_ref() == Some(&order)
                    && r.record.state.reference != valid.reference
            })
            .map(|r| r.record.state.reference.clone())
            .collect();
        for s in siblings {
            if let Some(row) = self.checkouts.get_mut(&s) {
                let ev = Event::Superseded {
                    by: valid.reference.clone(),
                };
                if let Ok(t) = lifecycle::apply(&row.record.state, &ev)
                    && t.state != row.record.state
                {
                    row.record.state = t.state;
                    row.record.updated_at = now;
                    row.audit.push(AuditEntry {
                        at: now,
                        event: ev.name().to_owned(),
                        from: row.record.state.status,
                        to: row.record.state.status,
                        author: None,
                        note: None,
                    });
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl EngineStore for MemoryStore {
    async fn create_checkout(&self, checkout: NewCheckout) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let reference = checkout.state.reference.clone();
        if inner.checkouts.contains_key(&reference) {
            return Err(StoreError::DuplicateReference(reference));
        }
        let created = checkout.info.created_at;
        inner.checkouts.insert(
            reference,
            Row {
                record: CheckoutRecord {
                    state: checkout.state,
                    info: checkout.info,
                    updated_at: created,
                    reconcile_attempts: 0,
                },
                txns: Vec::new(),
                audit: Vec::new(),
                lease_until: None,
                next_reconcile_at: None,
            },
        );
        Ok(())
    }

    async fn apply_event(
        &self,
        reference: &PaymentReference,
        event: Event,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        self.lock().apply(reference, event, now)
    }

    async fn quarantine(&self, entry: QuarantineEntry) -> Result<(), StoreError> {
        self.lock().quarantine.push(entry);
        Ok(())
    }

    async fn checkout(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<CheckoutRecord>, StoreError> {
        Ok(self
            .lock()
            .checkouts
            .get(reference)
            .map(|r| r.record.clone()))
    }

    async fn checkout_detail(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<CheckoutDetail>, StoreError> {
        let inner = self.lock();
        Ok(inner.checkouts.get(reference).map(|r| CheckoutDetail {
            checkout: r.record.clone(),
            bank_transactions: r.txns.clone(),
            effects: inner
                .outbox
                .iter()
                .filter(|o| o.reference == *reference)
                .map(|o| o.entry.clone())
                .collect(),
            audit: r.audit.clone(),
        }))
    }

    async fn checkouts_by_state(
        &self,
        status: CheckoutStatus,
        page: Page,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let inner = self.lock();
        let mut v: Vec<_> = inner
            .checkouts
            .values()
            .filter(|r| r.record.state.status == status)
            .map(|r| r.record.clone())
            .collect();
        v.sort_by_key(|r| (r.info.created_at, r.state.reference.clone()));
        Ok(v.into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(page.limit.min(500)).unwrap_or(500))
            .collect())
    }

    async fn payment_records(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        Ok(self
            .lock()
            .records
            .iter()
            .filter(|r| from <= r.at && r.at < to)
            .cloned()
            .collect())
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        limit: u32,
        lease: jiff::SignedDuration,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut inner = self.lock();
        let mut out = Vec::new();
        for o in &mut inner.outbox {
            if out.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                break;
            }
            if o.entry.delivered_at.is_none() && o.next_at <= now && not_leased(o.lease_until, now)
            {
                o.lease_until = Some(add(now, lease));
                out.push(OutboxItem {
                    id: o.entry.id,
                    reference: o.reference.clone(),
                    effect: o.entry.effect.clone(),
                    attempts: o.entry.attempts,
                });
            }
        }
        Ok(out)
    }

    async fn mark_delivered(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(o) = inner.outbox.iter_mut().find(|o| o.entry.id == id) {
            o.entry.delivered_at.get_or_insert(now);
            o.entry.attempts = o.entry.attempts.saturating_add(1);
            o.lease_until = None;
        }
        Ok(())
    }

    async fn reschedule(
        &self,
        id: i64,
        _now: Timestamp,
        next_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(o) = inner.outbox.iter_mut().find(|o| o.entry.id == id) {
            o.entry.attempts = o.entry.attempts.saturating_add(1);
            o.entry.last_error = Some(error.chars().take(500).collect());
            o.next_at = next_at;
            o.lease_until = None;
        }
        Ok(())
    }

    async fn claim_due_for_retraction(
        &self,
        now: Timestamp,
        limit: u32,
        lease: jiff::SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let mut inner = self.lock();
        let mut out = Vec::new();
        for r in inner.checkouts.values_mut() {
            if out.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                break;
            }
            if r.record.state.status == CheckoutStatus::AwaitingPayment
                && r.record.state.retract_at <= now
                && not_leased(r.lease_until, now)
            {
                r.lease_until = Some(add(now, lease));
                out.push(r.record.clone());
            }
        }
        Ok(out)
    }

    async fn claim_due_for_reconciliation(
        &self,
        now: Timestamp,
        created_before: Timestamp,
        limit: u32,
        lease: jiff::SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError> {
        let mut inner = self.lock();
        let mut out = Vec::new();
        for r in inner.checkouts.values_mut() {
            if out.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                break;
            }
            if r.record.state.status == CheckoutStatus::AwaitingPayment
                && r.record.info.created_at <= created_before
                && r.next_reconcile_at.is_none_or(|t| t <= now)
                && not_leased(r.lease_until, now)
            {
                r.lease_until = Some(add(now, lease));
                out.push(r.record.clone());
            }
        }
        Ok(out)
    }

    async fn reschedule_reconciliation(
        &self,
        reference: &PaymentReference,
        _now: Timestamp,
        next_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(r) = inner.checkouts.get_mut(reference) {
            r.record.reconcile_attempts = r.record.reconcile_attempts.saturating_add(1);
            r.next_reconcile_at = Some(next_at);
            r.lease_until = None;
        }
        Ok(())
    }
}
