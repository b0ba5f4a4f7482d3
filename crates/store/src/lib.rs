//! The payment store of tpe: checkouts, bank transactions, payment records ("versements"), the
//! outbox of effects, the quarantine and the audit trail, on SQLite (embedded default) or
//! PostgreSQL (several instances), behind one dyn-compatible trait, [`PaymentStore`].
//!
//! Every lifecycle transition is one database transaction: the checkout is locked, its state
//! loaded, [`tpe_core::lifecycle::apply`] run, and the new state, the bank transaction row, the
//! payment record, the outbox rows, the superseded siblings, the quarantine row and the audit
//! row written together. A unique key on (provider, reference, bank transaction, outcome) makes
//! replays no-ops, and a unique (reference, effect key) on the outbox makes each effect exist at
//! most once. Both backends run the same code (one conformance suite in `tests/common` checks them the same way).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use tpe_core::{Amount, BankOutcome, BankReference, Currency, PaymentReference, ProviderId, Timestamp,
//!     VerifiedNotification, CheckoutStatus};
//! use tpe_store::{EventInput, NewCheckout, PaymentStore, SqliteStore};
//!
//! let store: Arc<dyn PaymentStore> = Arc::new(SqliteStore::in_memory().await?);
//! let now = Timestamp::from_second(1_764_000_000).unwrap();
//! let reference = PaymentReference::parse("REF1").unwrap();
//! let amount = Amount::new(4321, Currency::EUR).unwrap();
//! let paybox = ProviderId::from_static("paybox");
//! store.create_checkout(NewCheckout::new(reference.clone(), paybox.clone(), amount,
//!     "jeanne@example.fr", "Jeanne Martin", now + jiff::SignedDuration::from_hours(48), now)).await?;
//! let paid = VerifiedNotification::new(paybox, BankReference::of_reference(&reference), "T1",
//!     BankOutcome::Accepted { authorization: None }, amount);
//! let applied = store.apply_event(&reference, EventInput::Notification(paid.clone()), now).await?;
//! assert_eq!(applied.status, CheckoutStatus::Valid);
//! let replay = store.apply_event(&reference, EventInput::Notification(paid), now).await?;
//! assert!(replay.duplicate && replay.effects.is_empty());
//! # Ok::<(), tpe_store::StoreError>(()) }).unwrap();
//! ```

// Without a database driver only the types and the trait remain: the shared logic is unused.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(dead_code, unused_macros, unused_imports)
)]

mod core;
mod db;
mod error;
#[cfg(feature = "postgres")]
mod postgres;
mod raw;
mod refunds;
mod schedule;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
mod store_impl;
pub mod testing;
mod types;

pub use error::{BoxError, StoreError};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};
pub use raw::{MAX_RAW_HEADERS, RawCopy};
pub use schedule::{InstalmentState, ScheduledInstalment};
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SqliteOptions, SqliteStore};
pub use store::{PaymentStore, resolve_then_apply};
pub use types::{
    Applied, AuditRecord, Backoff, BankTransactionRecord, CheckoutDetail, CheckoutQuery,
    CheckoutRecord, Cursor, DEFAULT_OUTBOX_ATTEMPTS, EventInput, Failure, MAX_AUTHOR,
    MAX_DESCRIPTION, MAX_EMAIL, MAX_LIMIT, MAX_NAME, MAX_NOTE, MAX_PROVIDER_DATA,
    MAX_SHOP_ORDER_ID, NewCheckout, OutboxEffect, Page, PaymentRecord, QuarantineEntry,
    QuarantineInput, QuarantineRecord, Rescheduled, WritesDone,
};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
