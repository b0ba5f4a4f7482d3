//! Values that go into and come out of the store.

use std::fmt;
use std::str::FromStr;

use std::collections::BTreeMap;

use jiff::SignedDuration;
use tpe_core::instalments::Schedule;
use tpe_core::lifecycle::{LaterInstalment, RefundState, ValidationSource};
use tpe_core::{
    Amount, BankReference, CheckoutStatus, Effect, Lang, OutcomeKind, PaymentReference, ProviderId,
    Timestamp, VerifiedNotification,
};

use crate::error::StoreError;

/// Longest `shop_order_id`.
pub const MAX_SHOP_ORDER_ID: usize = 128;
/// Longest customer e-mail (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 254;
/// Longest customer name.
pub const MAX_NAME: usize = 200;
/// Longest provider data (e.g. a session id).
pub const MAX_PROVIDER_DATA: usize = 4096;
/// Longest manual-validation author.
pub const MAX_AUTHOR: usize = 128;
/// Longest manual-validation note, quarantine summary or reason.
pub const MAX_NOTE: usize = 2000;
/// Largest page or batch.
pub const MAX_LIMIT: u32 = 1000;
/// Longest description of what is paid.
pub const MAX_DESCRIPTION: usize = 200;

/// A checkout to create (LIFECYCLE event 1), in `AwaitingPayment`.
///
/// ```
/// use tpe_core::{Amount, Currency, PaymentReference, ProviderId, Timestamp};
/// use tpe_store::NewCheckout;
/// let now = Timestamp::from_second(1_764_000_000)?;
/// let checkout = NewCheckout::new(
///     PaymentReference::parse("REF1")?, ProviderId::from_static("paybox"),
///     Amount::new(4321, Currency::EUR)?, "jeanne@example.fr", "Jeanne Martin",
///     now + jiff::SignedDuration::from_hours(48), now,
/// ).with_shop_order("order-1042");
/// assert_eq!(checkout.shop_order_id.as_deref(), Some("order-1042"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewCheckout {
    /// Payment reference sent to the bank.
    pub reference: PaymentReference,
    /// Provider the customer is sent to.
    pub provider: ProviderId,
    /// Amount to pay (more than zero).
    pub amount: Amount,
    /// The shop's order (cart) this checkout pays, shared by its retries.
    pub shop_order_id: Option<String>,
    /// Customer e-mail, for the confirmation e-mail.
    pub customer_email: String,
    /// Customer name, for e-mails and the manager's views.
    pub customer_name: String,
    /// Planned delivery date.
    pub delivery_date: Option<jiff::civil::Date>,
    /// When the checkout is retracted if still unpaid
    /// ([`tpe_core::lifecycle::retraction_time`] of the delivery date).
    pub retract_at: Timestamp,
    /// Provider data kept for status queries (e.g. a session id).
    pub provider_data: Option<String>,
    /// The reference the bank knows the checkout by; the checkout's own when `None`. Unique
    /// per provider.
    pub bank_reference: Option<BankReference>,
    /// The customer's language (their e-mails and return pages).
    pub language: Option<Lang>,
    /// What is paid (at most [`MAX_DESCRIPTION`] characters).
    pub description: Option<String>,
    /// Number of items paid.
    pub item_count: Option<u32>,
    /// Payment in instalments: the schedule, whose total is `amount`.
    pub schedule: Option<Schedule>,
    /// Creation time.
    pub created_at: Timestamp,
}

impl NewCheckout {
    /// A checkout without order, delivery date or provider data.
    pub fn new(
        reference: PaymentReference,
        provider: ProviderId,
        amount: Amount,
        customer_email: impl Into<String>,
        customer_name: impl Into<String>,
        retract_at: Timestamp,
        created_at: Timestamp,
    ) -> Self {
        Self {
            reference,
            provider,
            amount,
            shop_order_id: None,
            customer_email: customer_email.into(),
            customer_name: customer_name.into(),
            delivery_date: None,
            retract_at,
            provider_data: None,
            bank_reference: None,
            language: None,
            description: None,
            item_count: None,
            schedule: None,
            created_at,
        }
    }

    /// Paid in instalments following `schedule` (its total must be the checkout's amount).
    #[must_use]
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// With the shop's order id.
    #[must_use]
    pub fn with_shop_order(mut self, id: impl Into<String>) -> Self {
        self.shop_order_id = Some(id.into());
        self
    }

    /// With the planned delivery date.
    #[must_use]
    pub fn with_delivery_date(mut self, date: jiff::civil::Date) -> Self {
        self.delivery_date = Some(date);
        self
    }

    /// With provider data.
    #[must_use]
    pub fn with_provider_data(mut self, data: impl Into<String>) -> Self {
        self.provider_data = Some(data.into());
        self
    }

    /// With the reference the bank knows the checkout by.
    #[must_use]
    pub fn with_bank_reference(mut self, bank_reference: BankReference) -> Self {
        self.bank_reference = Some(bank_reference);
        self
    }

    /// With the customer's language.
    #[must_use]
    pub fn with_language(mut self, language: Lang) -> Self {
        self.language = Some(language);
        self
    }

    /// With a description of what is paid (1 to [`MAX_DESCRIPTION`] characters).
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// With the number of items paid.
    #[must_use]
    pub fn with_item_count(mut self, item_count: u32) -> Self {
        self.item_count = Some(item_count);
        self
    }

    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.amount.is_zero() {
            return Err(StoreError::invalid("amount", "must be more than zero"));
        }
        if let Some(o) = &self.shop_order_id {
            bounded("shop_order_id", o, 1, MAX_SHOP_ORDER_ID)?;
        }
        bounded("customer_email", &self.customer_email, 3, MAX_EMAIL)?;
        bounded("customer_name", &self.customer_name, 1, MAX_NAME)?;
        if let Some(d) = &self.provider_data {
            bounded("provider_data", d, 0, MAX_PROVIDER_DATA)?;
        }
        if let Some(d) = &self.description {
            bounded("description", d, 1, MAX_DESCRIPTION)?;
        }
        if let Some(s) = &self.schedule
            && s.total() != self.amount
        {
            return Err(StoreError::invalid(
                "schedule",
                format!("sums to {}, the checkout is {}", s.total(), self.amount),
            ));
        }
        Ok(())
    }
}

/// Checks a length in characters and refuses control characters.
pub(crate) fn bounded(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), StoreError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(StoreError::invalid(
            field,
            format!("has {n} characters, {min} to {max} are accepted"),
        ));
    }
    if field != "note" && value.chars().any(char::is_control) {
        return Err(StoreError::invalid(field, "contains a control character"));
    }
    Ok(())
}

/// An event to apply to a checkout through [`crate::PaymentStore::apply_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // notifications are the common case; boxing costs more
pub enum EventInput {
    /// A verified bank notification (events 2–8, 13). Its reference must be the checkout's and
    /// its provider the checkout's provider.
    Notification(VerifiedNotification),
    /// Reconciliation: a status query found the checkout paid (event 11).
    ReconciledPaid {
        /// The bank's id of the paid try.
        bank_transaction_id: String,
        /// Amount the bank reports.
        amount: Amount,
    },
    /// A manager validated by hand (event 9).
    ManualValidation {
        /// Who (1 to 128 characters).
        author: String,
        /// Why (at most 2000 characters).
        note: String,
    },
    /// The retraction sweep, at the `now` given to `apply_event` (event 10).
    Retract,
    /// The customer's browser came back (event 6): never changes state, writes nothing.
    BrowserReturn,
    /// A manager keeps the money of a checkout paid after its retraction (event 14).
    Reinstate {
        /// Who (1 to 128 characters).
        author: String,
        /// Why (at most 2000 characters).
        note: String,
    },
    /// A manager asks for the full refund of a checkout paid after its retraction, or of the
    /// extra payment of an order paid twice (event 15): writes an
    /// [`Effect::Refund`](tpe_core::Effect::Refund) named by the `now` given to `apply_event`.
    RequestRefund {
        /// Who (1 to 128 characters).
        author: String,
        /// Why (at most 2000 characters).
        note: String,
    },
    /// The bank took the refund of a bank transaction (event 16).
    RefundSucceeded {
        /// The bank's refund id (1 to 255 characters).
        refund_id: String,
        /// The refund effect's bank transaction; `None`: every refund under way.
        bank_transaction_id: Option<String>,
    },
    /// The bank refused the refund of a bank transaction (event 17): once no other is under
    /// way, back to the refund effect's `back_to`.
    RefundFailed {
        /// Why, in French (1 to 2000 characters).
        reason: String,
        /// The refund effect's `back_to`.
        back_to: CheckoutStatus,
        /// The refund effect's bank transaction; `None`: every refund under way.
        bank_transaction_id: Option<String>,
    },
}

/// Told by [`crate::PaymentStore::apply_events_then_commit`] when its batch is written and
/// only the commit is left; dropping it tells too, so a waiter never waits past the call.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let (writes_done, written) = tpe_store::WritesDone::channel();
/// drop(writes_done); // the call ended (or failed) before its commit
/// assert!(written.await.is_err());
/// # });
/// ```
#[derive(Debug)]
pub struct WritesDone(Option<tokio::sync::oneshot::Sender<()>>);

impl WritesDone {
    /// A new one, and what completes when it is told (`Ok`) or dropped (`Err`).
    pub fn channel() -> (Self, tokio::sync::oneshot::Receiver<()>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (Self(Some(tx)), rx)
    }

    /// One nobody waits for.
    pub fn none() -> Self {
        Self(None)
    }

    /// Tells the waiter, once (later calls do nothing).
    pub fn tell(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// The result of [`crate::PaymentStore::apply_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// The checkout.
    pub reference: PaymentReference,
    /// A replay of a bank transaction already applied: nothing was written.
    pub duplicate: bool,
    /// State before.
    pub previous: CheckoutStatus,
    /// State after.
    pub status: CheckoutStatus,
    /// Effects written to the outbox by this call (each exists at most once per checkout).
    pub effects: Vec<Effect>,
    /// Other checkouts of the same order marked superseded by this one.
    pub superseded: Vec<PaymentReference>,
}

/// A stored checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckoutRecord {
    /// Reference.
    pub reference: PaymentReference,
    /// Provider.
    pub provider: ProviderId,
    /// Amount expected.
    pub amount: Amount,
    /// The shop's order.
    pub shop_order_id: Option<String>,
    /// State.
    pub status: CheckoutStatus,
    /// An authentic notification announced another amount or currency.
    pub amount_mismatch: bool,
    /// Another checkout of the same order became valid.
    pub superseded_by: Option<PaymentReference>,
    /// How it was validated.
    pub validated_by: Option<ValidationSource>,
    /// Customer e-mail.
    pub customer_email: String,
    /// Customer name.
    pub customer_name: String,
    /// Planned delivery date.
    pub delivery_date: Option<jiff::civil::Date>,
    /// Retraction time.
    pub retract_at: Timestamp,
    /// Provider data.
    pub provider_data: Option<String>,
    /// The reference the bank knows the checkout by.
    pub bank_reference: BankReference,
    /// The customer's language, when the shop gave it.
    pub language: Option<Lang>,
    /// What is paid, when the shop gave it.
    pub description: Option<String>,
    /// Number of items, when the shop gave it.
    pub item_count: Option<u32>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Status queries made by reconciliation so far.
    pub reconcile_attempts: u32,
    /// When reconciliation may query it next.
    pub next_reconcile_at: Option<Timestamp>,
    /// Until when a retraction sweep holds it (see [`crate::PaymentStore::claim_retraction`]).
    pub retract_lease_until: Option<Timestamp>,
    /// Payment in instalments: the schedule asked at checkout.
    pub schedule: Option<Schedule>,
    /// The bank's verdicts on the later instalments (2 and up), by number; see
    /// [`CheckoutDetail::schedule`] for the whole schedule with each instalment's state.
    pub instalments: BTreeMap<u8, LaterInstalment>,
    /// The refund of each bank transaction asked of the bank, by bank transaction id.
    pub refunds: BTreeMap<String, RefundState>,
    /// Incremented by every write.
    pub version: i64,
}

/// One bank transaction (a try at the bank's page) as received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BankTransactionRecord {
    /// Row id.
    pub id: i64,
    /// Provider.
    pub provider: ProviderId,
    /// The bank's id of the try.
    pub bank_transaction_id: String,
    /// Verdict.
    pub outcome: OutcomeKind,
    /// Amount announced.
    pub amount: Amount,
    /// `notification` or `reconciliation`.
    pub source: String,
    /// Normalized reason of a refusal ([`tpe_core::ReasonKind::as_str`]).
    pub reason_kind: Option<String>,
    /// The bank's raw code of a refusal.
    pub reason_code: Option<String>,
    /// Authorization number of an acceptance.
    pub authorization: Option<String>,
    /// Masked card summary.
    pub card: Option<String>,
    /// The provider's event id.
    pub event_id: Option<String>,
    /// The instalment it is about, for a payment in instalments.
    pub instalment: Option<u8>,
    /// When it was applied.
    pub received_at: Timestamp,
}

/// A payment record ("versement", type "Paiement en ligne").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaymentRecord {
    /// Row id (stable: use it as the accounting idempotency key).
    pub id: i64,
    /// Checkout.
    pub reference: PaymentReference,
    /// Amount.
    pub amount: Amount,
    /// Bank transaction, when known.
    pub bank_transaction_id: Option<String>,
    /// How the checkout was validated.
    pub source: ValidationSource,
    /// When.
    pub recorded_at: Timestamp,
}

/// One outbox row: an effect to deliver after commit, and its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxEffect {
    /// Row id (stable: derive the e-mail `Message-ID` and hook idempotency keys from it).
    pub id: i64,
    /// Checkout.
    pub reference: PaymentReference,
    /// [`Effect::key`], unique per checkout.
    pub key: String,
    /// The effect.
    pub effect: Effect,
    /// When it was written.
    pub created_at: Timestamp,
    /// When it is due (moved forward by [`crate::PaymentStore::reschedule`]).
    pub due_at: Timestamp,
    /// Failed deliveries so far.
    pub attempts: u32,
    /// Last delivery error.
    pub last_error: Option<String>,
    /// Worker holding the lease.
    pub leased_by: Option<String>,
    /// End of the lease.
    pub lease_until: Option<Timestamp>,
    /// When it was delivered. Effects the store applies itself inside the transaction
    /// (`SupersedeSiblings`, `Quarantine`) are written already delivered.
    pub delivered_at: Option<Timestamp>,
    /// When the relay gave it up (see [`crate::PaymentStore::reschedule`]); it is never
    /// claimed again unless [`crate::PaymentStore::retry_given_up`] puts it back.
    pub given_up_at: Option<Timestamp>,
}

/// Failed deliveries after which the outbox gives an effect up: 20 with the default backoff
/// (30 s doubling to 1 h) is about 14 hours of retries, enough for an SMTP outage of a night.
pub const DEFAULT_OUTBOX_ATTEMPTS: u32 = 20;

/// Whether a failed delivery may succeed if tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// It may (a server down, a timeout): retried with backoff, up to the allowed attempts.
    Transient,
    /// It cannot until someone changes something (a malformed address, a broken template):
    /// given up at once.
    Permanent,
}

/// What became of an effect whose delivery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rescheduled {
    /// Due again at this time.
    Retry(Timestamp),
    /// Given up: never claimed again until retried by hand. Unless the effect was itself such
    /// an alert, an [`Alert::DeliveryGivenUp`](tpe_core::lifecycle::Alert::DeliveryGivenUp)
    /// for the manager was written in the same transaction.
    GivenUp {
        /// Failed attempts in all.
        attempts: u32,
    },
    /// Delivered meanwhile (an expired lease taken over by another worker): left so.
    AlreadyDelivered,
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditRecord {
    /// Row id.
    pub id: i64,
    /// Checkout.
    pub reference: PaymentReference,
    /// [`tpe_core::Event::name`].
    pub event: String,
    /// Author of a manual validation.
    pub author: Option<String>,
    /// Note, bank transaction or superseding checkout.
    pub detail: Option<String>,
    /// State before.
    pub status_before: CheckoutStatus,
    /// State after.
    pub status_after: CheckoutStatus,
    /// When.
    pub at: Timestamp,
}

/// A checkout with everything written about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckoutDetail {
    /// The checkout.
    pub checkout: CheckoutRecord,
    /// Its bank transactions, oldest first.
    pub bank_transactions: Vec<BankTransactionRecord>,
    /// Its payment records, oldest first.
    pub payments: Vec<PaymentRecord>,
    /// Its effects, oldest first.
    pub effects: Vec<OutboxEffect>,
    /// Its audit trail, oldest first.
    pub audit: Vec<AuditRecord>,
    /// Another checkout of the same shop order, valid and paid before this valid one: this
    /// one is then the order's extra payment, to refund.
    pub order_paid_before: Option<PaymentReference>,
}

/// An authentic notification that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuarantineInput {
    /// Provider that verified it.
    pub provider: ProviderId,
    /// The reference it names, as received (may name no checkout; at most 64 characters kept).
    pub reference: String,
    /// The bank transaction, when known.
    pub bank_transaction_id: Option<String>,
    /// A summary without secrets or card numbers (at most 2000 characters kept).
    pub summary: String,
    /// Why it was set aside.
    pub why: String,
    /// The notification as received, to replay it later (see [`QuarantineInput::with_raw`]).
    pub raw: Option<crate::RawCopy>,
}

impl QuarantineInput {
    /// A quarantine entry.
    pub fn new(
        provider: ProviderId,
        reference: impl Into<String>,
        bank_transaction_id: Option<String>,
        summary: impl Into<String>,
        why: impl Into<String>,
    ) -> Self {
        Self {
            provider,
            reference: reference.into(),
            bank_transaction_id,
            summary: summary.into(),
            why: why.into(),
            raw: None,
        }
    }

    /// Keeps the notification's bytes with the entry, so that it can be replayed once the
    /// cause is fixed; a later sighting with bytes replaces them.
    #[must_use]
    pub fn with_raw(mut self, raw: crate::RawCopy) -> Self {
        self.raw = Some(raw);
        self
    }
}

/// A quarantined notification with the bytes it arrived with, when they were kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuarantineEntry {
    /// The entry.
    pub record: QuarantineRecord,
    /// The notification as received; `None` for an entry set aside inside a transition (an
    /// amount mismatch) or written before the bytes were kept.
    pub raw: Option<crate::RawCopy>,
}

/// A quarantined notification; the same one received again raises `seen_count`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuarantineRecord {
    /// Row id.
    pub id: i64,
    /// Provider.
    pub provider: ProviderId,
    /// Reference as received.
    pub reference: String,
    /// Bank transaction (empty when unknown).
    pub bank_transaction_id: String,
    /// Summary.
    pub summary: String,
    /// Why.
    pub why: String,
    /// First received.
    pub first_at: Timestamp,
    /// Last received.
    pub last_at: Timestamp,
    /// Times received.
    pub seen_count: u32,
}

/// Where a page of checkouts continues: after this (creation time, reference), newest first.
/// Printable and parseable, to go in a URL.
///
/// ```
/// use tpe_store::Cursor;
/// let c: Cursor = "1764000000000.REF1".parse()?;
/// assert_eq!(c.to_string(), "1764000000000.REF1");
/// assert!("nonsense".parse::<Cursor>().is_err());
/// # Ok::<(), tpe_store::StoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub(crate) created_at: i64,
    pub(crate) reference: PaymentReference,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.created_at, self.reference)
    }
}

impl FromStr for Cursor {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::invalid("cursor", "expected <milliseconds>.<reference>");
        let (ms, reference) = s.split_once('.').ok_or_else(bad)?;
        Ok(Self {
            created_at: ms.parse().map_err(|_| bad())?,
            reference: PaymentReference::parse(reference).map_err(|_| bad())?,
        })
    }
}

/// Which checkouts to list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckoutQuery {
    /// Only this state (`AwaitingPayment` is the guide's "En attente de paiement").
    pub status: Option<CheckoutStatus>,
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Continue after this cursor.
    pub cursor: Option<Cursor>,
}

impl CheckoutQuery {
    /// The first page of `limit` checkouts in `status` (all states when `None`), newest first.
    pub fn new(status: Option<CheckoutStatus>, limit: u32) -> Self {
        Self {
            status,
            limit,
            cursor: None,
        }
    }

    /// Continue after `cursor`.
    #[must_use]
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// A page of checkouts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// Checkouts, newest first.
    pub items: Vec<CheckoutRecord>,
    /// The cursor of the next page, when there may be one.
    pub next: Option<Cursor>,
}

/// Exponential backoff: `base × 2^attempts`, capped at `max`, plus a deterministic jitter of
/// up to a tenth derived from the row (the store never draws random numbers in a transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// First delay.
    pub base: SignedDuration,
    /// Largest delay.
    pub max: SignedDuration,
}

impl Backoff {
    /// Outbox default: 30 s doubling to 1 h (an SMTP outage of an hour is retried ~7 times).
    pub const OUTBOX: Self = Self {
        base: SignedDuration::from_secs(30),
        max: SignedDuration::from_hours(1),
    };
    /// Reconciliation default: 5 min doubling to 6 h.
    pub const RECONCILE: Self = Self {
        base: SignedDuration::from_mins(5),
        max: SignedDuration::from_hours(6),
    };

    /// The delay after `attempts` failures (1 for the first), with `salt` choosing the jitter.
    ///
    /// ```
    /// use jiff::SignedDuration;
    /// use tpe_store::Backoff;
    /// let b = Backoff { base: SignedDuration::from_secs(10), max: SignedDuration::from_secs(100) };
    /// assert_eq!(b.delay(1, 0), SignedDuration::from_secs(10));
    /// assert_eq!(b.delay(2, 0), SignedDuration::from_secs(20));
    /// assert_eq!(b.delay(30, 0), SignedDuration::from_secs(100));
    /// assert!(b.delay(2, 7) > b.delay(2, 0));
    /// ```
    pub fn delay(&self, attempts: u32, salt: i64) -> SignedDuration {
        let base = self.base.as_millis().max(1);
        let max = self.max.as_millis().max(base);
        let shift = attempts.saturating_sub(1).min(40);
        let raw = base.saturating_mul(1_i128 << shift).min(max);
        let tenth = raw / 10;
        let jitter = tenth * i128::from(salt.rem_euclid(10)) / 10;
        let ms = i64::try_from(raw + jitter).unwrap_or(i64::MAX);
        SignedDuration::from_millis(ms)
    }
}
