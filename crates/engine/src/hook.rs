//! The shop's accounting hook: each payment record is handed to it once the checkout is paid.

use std::fmt;

use serde::Serialize;
use tpe_core::lifecycle::ValidationSource;
use tpe_core::{Amount, PaymentReference, Timestamp};

/// A payment record as the hook receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRecordView {
    /// Stable id (the outbox effect's id): the idempotency key.
    pub id: i64,
    /// The checkout.
    pub reference: PaymentReference,
    /// The shop's order, if the checkout has one.
    pub shop_order_id: Option<String>,
    /// Amount received.
    pub amount: Amount,
    /// The bank transaction, if any.
    pub bank_transaction_id: Option<String>,
    /// How the checkout was validated.
    pub source: ValidationSource,
    /// When the relay handed it over.
    pub at: Timestamp,
}

/// Receives payment records ("versements") for the shop's accounting.
///
/// Called by the effects relay, at least once per record; `record.id` is stable, so an
/// implementation that keys on it is exactly once. An error makes the relay retry with backoff.
#[async_trait::async_trait]
pub trait PaymentRecordHook: fmt::Debug + Send + Sync + 'static {
    /// Hands one record to the shop.
    async fn record(&self, record: &PaymentRecordView) -> Result<(), HookError>;
}

/// The hook failed: the relay retries a transient failure later, and gives a permanent one up
/// at once (listed in the back office with a "retry" action, the manager alerted).
///
/// ```
/// use tpe_engine::HookError;
/// assert!(!HookError::transient("accounting server down").is_permanent());
/// assert!(HookError::permanent("unknown ledger account").is_permanent());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("payment record hook failed: {message}")]
pub struct HookError {
    message: String,
    permanent: bool,
}

impl HookError {
    /// A failure that may pass if tried again (a server down, a timeout).
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    /// A failure that retrying cannot fix until someone changes something.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }

    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A hook that does nothing (the record is stored anyway and shown by the views).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHook;

#[async_trait::async_trait]
impl PaymentRecordHook for NoHook {
    async fn record(&self, _record: &PaymentRecordView) -> Result<(), HookError> {
        Ok(())
    }
}
