//! Why an event does not apply to a checkout.

use super::CheckoutStatus;
use crate::clock::Timestamp;
use crate::reference::PaymentReference;

/// An event that cannot apply to the checkout in its state; nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// Manual validation of a checkout that is not awaiting payment.
    #[error(
        "checkout {reference} is {status}: only a checkout awaiting payment can be validated by hand"
    )]
    NotAwaitingPayment {
        /// Reference.
        reference: PaymentReference,
        /// Its state.
        status: CheckoutStatus,
    },
    /// Retraction before its time.
    #[error("checkout {reference} cannot be retracted before {due}")]
    RetractionTooEarly {
        /// Reference.
        reference: PaymentReference,
        /// When it becomes due.
        due: Timestamp,
    },
    /// Retraction of a checkout that is not awaiting payment.
    #[error("checkout {reference} is {status} and cannot be retracted")]
    NotRetractable {
        /// Reference.
        reference: PaymentReference,
        /// Its state.
        status: CheckoutStatus,
    },
    /// Reinstatement of a checkout that was not paid after its retraction.
    #[error(
        "checkout {reference} is {status}: only a checkout paid after retraction can be reinstated"
    )]
    NotReinstatable {
        /// Reference.
        reference: PaymentReference,
        /// Its state.
        status: CheckoutStatus,
    },
    /// A refund of a checkout that is neither paid after its retraction nor the extra payment
    /// of an order paid twice (nor refunded with a versement paid since), that has a refund
    /// under way, or that has nothing paid through the bank left to refund.
    #[error(
        "checkout {reference} is {status}: only a checkout paid after retraction, or the second payment of an order, with money paid through the bank and not refunded, can be refunded"
    )]
    NotRefundable {
        /// Reference.
        reference: PaymentReference,
        /// Its state.
        status: CheckoutStatus,
    },
    /// A refund's outcome for a checkout, or a bank transaction, with no refund under way.
    #[error("checkout {reference} is {status}: no refund is under way")]
    NoRefundUnderway {
        /// Reference.
        reference: PaymentReference,
        /// Its state.
        status: CheckoutStatus,
    },
}
