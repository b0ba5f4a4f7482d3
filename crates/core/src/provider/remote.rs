//! The bank's server API as the contract sees it: status queries, refunds, captures and
//! cancellations. Every request carries what `prepare` stored with the checkout.

use serde::{Deserialize, Serialize};

use super::request::{BankReference, ProviderData};
use crate::clock::Timestamp;
use crate::money::Amount;
use crate::reason::Reason;
use crate::reference::PaymentReference;

/// What to ask the bank about a checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusQuery {
    /// Checkout reference.
    pub reference: PaymentReference,
    /// The reference the bank knows the checkout by.
    pub bank_reference: BankReference,
    /// Expected amount.
    pub amount: Amount,
    /// The bank transaction ids already known for it, newest first.
    pub known_transactions: Vec<String>,
    /// Provider data recorded at prepare time (e.g. a session id).
    pub provider_data: Option<ProviderData>,
    /// When the checkout was created.
    pub created_at: Timestamp,
}

impl StatusQuery {
    /// A query for `reference`, known to the bank by the same reference unless
    /// [`Self::with_bank_reference`] says otherwise.
    pub fn new(reference: PaymentReference, amount: Amount, created_at: Timestamp) -> Self {
        Self {
            bank_reference: BankReference::of_reference(&reference),
            reference,
            amount,
            known_transactions: Vec::new(),
            provider_data: None,
            created_at,
        }
    }

    /// With known transactions.
    #[must_use]
    pub fn with_transactions(mut self, ids: Vec<String>) -> Self {
        self.known_transactions = ids;
        self
    }

    /// With provider data.
    #[must_use]
    pub fn with_provider_data(mut self, data: Option<ProviderData>) -> Self {
        self.provider_data = data;
        self
    }

    /// With the bank reference stored for the checkout.
    #[must_use]
    pub fn with_bank_reference(mut self, bank_reference: BankReference) -> Self {
        self.bank_reference = bank_reference;
        self
    }
}

/// The bank's view of a checkout. "Unknown" is not a status: it is an error (the bank could
/// not be asked), and a sweep must then try again later, never retract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RemoteStatus {
    /// Paid (authorized or captured).
    Paid {
        /// Bank transaction id.
        bank_transaction_id: String,
        /// Amount paid.
        amount: Amount,
    },
    /// Not final yet.
    Pending,
    /// Refused.
    Refused {
        /// The code.
        reason: Reason,
    },
    /// Cancelled or expired without payment.
    Cancelled,
    /// Refunded (fully or partly).
    Refunded {
        /// Bank transaction id.
        bank_transaction_id: String,
    },
    /// The bank has no payment for this reference (yet).
    NotFound,
    /// A status the provider cannot classify: never a verdict, the checkout is asked about
    /// again later.
    Unclassified {
        /// The bank's raw status or code, at most 32 characters.
        code: String,
    },
}

/// The answer of [`PaymentProvider::query_status`](super::PaymentProvider::query_status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Reference asked about.
    pub reference: PaymentReference,
    /// What the bank says.
    pub status: RemoteStatus,
}

/// A refund to ask the bank for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundRequest {
    /// Checkout reference.
    pub reference: PaymentReference,
    /// The reference the bank knows the checkout by.
    pub bank_reference: BankReference,
    /// The bank transaction to refund.
    pub bank_transaction_id: String,
    /// Amount to refund.
    pub amount: Amount,
    /// Stable key so a retried refund is not made twice.
    pub idempotency_key: String,
    /// Provider data recorded at prepare time.
    pub provider_data: Option<ProviderData>,
}

impl RefundRequest {
    /// A refund of `amount` on `bank_transaction_id`.
    pub fn new(
        reference: PaymentReference,
        bank_transaction_id: impl Into<String>,
        amount: Amount,
        idempotency_key: impl Into<String>,
    ) -> Self {
        Self {
            bank_reference: BankReference::of_reference(&reference),
            reference,
            bank_transaction_id: bank_transaction_id.into(),
            amount,
            idempotency_key: idempotency_key.into(),
            provider_data: None,
        }
    }
}

/// A refund the bank took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundReceipt {
    /// The bank's refund id.
    pub refund_id: String,
    /// Amount refunded.
    pub amount: Amount,
    /// Whether the refund is final.
    pub pending: bool,
}

/// A capture or a cancellation of an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationRequest {
    /// Checkout reference.
    pub reference: PaymentReference,
    /// The reference the bank knows the checkout by.
    pub bank_reference: BankReference,
    /// The authorization's bank transaction.
    pub bank_transaction_id: String,
    /// Amount to capture, or the authorized amount to cancel.
    pub amount: Amount,
    /// Provider data recorded at prepare time.
    pub provider_data: Option<ProviderData>,
}

impl OperationRequest {
    /// An operation on `bank_transaction_id`; the bank reference is the shop's reference unless
    /// [`Self::for_checkout`] sets the stored one.
    pub fn new(
        reference: PaymentReference,
        bank_transaction_id: impl Into<String>,
        amount: Amount,
    ) -> Self {
        Self {
            bank_reference: BankReference::of_reference(&reference),
            reference,
            bank_transaction_id: bank_transaction_id.into(),
            amount,
            provider_data: None,
        }
    }
}

/// What the bank answered to a capture or a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OperationReceipt {
    /// The bank's id of the operation.
    pub operation_id: String,
    /// Amount concerned.
    pub amount: Amount,
}

impl OperationReceipt {
    /// A receipt.
    pub fn new(operation_id: impl Into<String>, amount: Amount) -> Self {
        Self {
            operation_id: operation_id.into(),
            amount,
        }
    }
}

/// `for_checkout` of the requests that carry what `prepare` stored, written once.
macro_rules! for_checkout {
    ($($request:ty),*) => {$(
        impl $request {
            /// With the bank reference and provider data stored for the checkout.
            #[must_use]
            pub fn for_checkout(
                mut self,
                bank_reference: BankReference,
                provider_data: Option<ProviderData>,
            ) -> Self {
                self.bank_reference = bank_reference;
                self.provider_data = provider_data;
                self
            }
        }
    )*};
}

for_checkout!(RefundRequest, OperationRequest);
