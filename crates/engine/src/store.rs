//! What the engine needs from a payment store: the [`EngineStore`] port.
//!
//! Each method is one database transaction. [`EngineStore::apply_event`] is the heart: it locks
//! the checkout, runs [`tpe_core::lifecycle::apply`], and writes the new state, the bank
//! transaction row, the payment record, the outbox rows, the quarantine row and the audit row
//! together, or nothing. tpe-store implements it for SQLite and PostgreSQL; [`crate::MemoryStore`]
//! implements it in memory for tests and demos.

use std::fmt;

use serde::{Deserialize, Serialize};
use tpe_core::lifecycle::{CheckoutState, Effect, Event, TransitionError};
use tpe_core::{
    Amount, CheckoutStatus, Lang, OutcomeKind, PaymentReference, ProviderId, Timestamp,
};

/// A checkout to create (event 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCheckout {
    /// Its lifecycle state (`AwaitingPayment`).
    pub state: CheckoutState,
    /// What the e-mails and the views show.
    pub info: CheckoutInfo,
}

/// The descriptive part of a checkout (never changes after creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutInfo {
    /// Customer's full name.
    pub customer_name: String,
    /// Customer's e-mail.
    pub customer_email: String,
    /// Customer's language.
    pub language: Lang,
    /// What is paid.
    pub description: String,
    /// Number of items.
    pub item_count: u32,
    /// Planned delivery date.
    pub delivery: Option<jiff::civil::Date>,
    /// When the checkout was created.
    pub created_at: Timestamp,
}

/// A stored checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRecord {
    /// Lifecycle state.
    pub state: CheckoutState,
    /// Description.
    pub info: CheckoutInfo,
    /// Last change.
    pub updated_at: Timestamp,
    /// Status queries done by reconciliation so far.
    pub reconcile_attempts: u32,
}

/// The result of [`EngineStore::apply_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The status after the event.
    pub status: CheckoutStatus,
    /// The event had already been applied: nothing was written.
    pub duplicate: bool,
    /// The effects written to the outbox.
    pub effects: Vec<Effect>,
}

/// One bank transaction (try) of a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankTransaction {
    /// The bank's id.
    pub bank_transaction_id: String,
    /// Verdict.
    pub outcome: OutcomeKind,
    /// The bank's raw code for a refusal.
    pub code: Option<String>,
    /// Amount announced.
    pub amount: Amount,
    /// When it was applied.
    pub at: Timestamp,
}

/// An outbox row as the views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Stable id.
    pub id: i64,
    /// The effect.
    pub effect: Effect,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When it was delivered, if it was.
    pub delivered_at: Option<Timestamp>,
    /// The last delivery error.
    pub last_error: Option<String>,
}

/// An outbox row claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Stable id (the e-mail `Message-ID` and the hook's idempotency key derive from it).
    pub id: i64,
    /// The checkout.
    pub reference: PaymentReference,
    /// What to do.
    pub effect: Effect,
    /// Attempts before this one.
    pub attempts: u32,
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Event name ([`Event::name`]).
    pub event: String,
    /// Status before.
    pub from: CheckoutStatus,
    /// Status after.
    pub to: CheckoutStatus,
    /// Who, for manual actions.
    pub author: Option<String>,
    /// Free text (a manager's note).
    pub note: Option<String>,
}

/// A checkout with everything the manager's detail view shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutDetail {
    /// The checkout.
    pub checkout: CheckoutRecord,
    /// Its bank transactions, in order.
    pub bank_transactions: Vec<BankTransaction>,
    /// Its effects.
    pub effects: Vec<OutboxEntry>,
    /// Its audit trail.
    pub audit: Vec<AuditEntry>,
}

/// A payment record ("versement").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// Stable id.
    pub id: i64,
    /// The checkout.
    pub reference: PaymentReference,
    /// Amount.
    pub amount: Amount,
    /// Bank transaction, if any (none for a manual validation).
    pub bank_transaction_id: Option<String>,
    /// `bank`, `reconciliation` or `manual`.
    pub source: String,
    /// When.
    pub at: Timestamp,
}

/// An authentic notification that cannot be applied (unknown reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    /// Provider.
    pub provider: ProviderId,
    /// The reference the bank named.
    pub reference: PaymentReference,
    /// Bank transaction.
    pub bank_transaction_id: String,
    /// Why.
    pub why: String,
    /// When.
    pub at: Timestamp,
}

/// Paging for list views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Rows skipped.
    pub offset: u32,
    /// At most this many rows (capped at 500).
    pub limit: u32,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: 50,
        }
    }
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database cannot be used now (connection refused, busy, disk full, read-only): the
    /// caller retries later; for a notification the bank retries after a 503.
    #[error("payment store unavailable: {0}")]
    Unavailable(String),
    /// No checkout has this reference.
    #[error("no checkout has the reference {0}")]
    UnknownReference(PaymentReference),
    /// A checkout with this reference exists already.
    #[error("a checkout with the reference {0} exists already")]
    DuplicateReference(PaymentReference),
    /// The lifecycle refused the event; nothing was written.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// Stored data could not be read back.
    #[error("payment store data is corrupt: {0}")]
    Corrupt(String),
    /// The store refused the request (a bound, a provider mismatch) or failed otherwise.
    #[error("payment store error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether retrying later can help.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The store operations the engine uses.
#[async_trait::async_trait]
pub trait EngineStore: fmt::Debug + Send + Sync + 'static {
    /// Creates a checkout (event 1).
    async fn create_checkout(&self, checkout: NewCheckout) -> Result<(), StoreError>;

    /// Applies `event` to the checkout in one transaction (see the module docs). For
    /// notifications and reconciliations the store fills `order_paid_by` from another valid
    /// checkout of the same shop order, inside the transaction; `SupersedeSiblings` and
    /// `Quarantine` are carried out inside the transaction too. A replay returns
    /// `duplicate = true`, never an error.
    async fn apply_event(
        &self,
        reference: &PaymentReference,
        event: Event,
        now: Timestamp,
    ) -> Result<Applied, StoreError>;

    /// Applies a verified bank notification (events 2–8, 13). The default builds the
    /// [`Event::Notification`] and calls [`EngineStore::apply_event`]; a store that keeps more
    /// of the notification (card summary, authorization) overrides it.
    async fn apply_notification(
        &self,
        notification: &tpe_core::VerifiedNotification,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        let event = Event::Notification {
            verdict: tpe_core::lifecycle::BankVerdict {
                bank_transaction_id: notification.bank_transaction_id.clone(),
                outcome: notification.outcome.clone(),
                amount: notification.amount,
            },
            order_paid_by: None,
        };
        self.apply_event(&notification.reference, event, now).await
    }

    /// Keeps an authentic notification that names no known checkout.
    async fn quarantine(&self, entry: QuarantineEntry) -> Result<(), StoreError>;

    /// One checkout.
    async fn checkout(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<CheckoutRecord>, StoreError>;

    /// One checkout with its bank transactions, effects and audit trail.
    async fn checkout_detail(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<CheckoutDetail>, StoreError>;

    /// Checkouts in `status`, oldest first.
    async fn checkouts_by_state(
        &self,
        status: CheckoutStatus,
        page: Page,
    ) -> Result<Vec<CheckoutRecord>, StoreError>;

    /// Payment records with `from <= at < to`, oldest first.
    async fn payment_records(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<PaymentRecord>, StoreError>;

    /// Takes up to `limit` undelivered outbox rows due at `now` and not leased, leasing them
    /// until `now + lease` (another engine instance cannot take them meanwhile).
    async fn claim_outbox(
        &self,
        now: Timestamp,
        limit: u32,
        lease: jiff::SignedDuration,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Marks an outbox row delivered.
    async fn mark_delivered(&self, id: i64, now: Timestamp) -> Result<(), StoreError>;

    /// Releases an outbox row for another attempt, at `next_at` (a store with its own backoff
    /// policy may choose its own time after `now`).
    async fn reschedule(
        &self,
        id: i64,
        now: Timestamp,
        next_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Takes up to `limit` checkouts awaiting payment with `retract_at <= now`, leasing them.
    async fn claim_due_for_retraction(
        &self,
        now: Timestamp,
        limit: u32,
        lease: jiff::SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError>;

    /// Takes up to `limit` checkouts awaiting payment created at or before `created_before`
    /// whose next reconciliation is due at `now`, leasing them.
    async fn claim_due_for_reconciliation(
        &self,
        now: Timestamp,
        created_before: Timestamp,
        limit: u32,
        lease: jiff::SignedDuration,
    ) -> Result<Vec<CheckoutRecord>, StoreError>;

    /// Counts one more reconciliation attempt and sets when the next one is due: `next_at`,
    /// or the store's own backoff after `now`.
    async fn reschedule_reconciliation(
        &self,
        reference: &PaymentReference,
        now: Timestamp,
        next_at: Timestamp,
    ) -> Result<(), StoreError>;
}
