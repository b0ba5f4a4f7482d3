//! Stripe-like test cards understood by the hosted page (see the README for the full table).

/// Paid at once.
pub const ACCEPTED: &str = "4242424242424242";
/// Declined: `insufficient_funds`.
pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
/// Declined: `generic_decline`.
pub const GENERIC_DECLINE: &str = "4000000000000002";
/// Declined: `expired_card`.
pub const EXPIRED_CARD: &str = "4000000000000069";
/// Declined: `lost_card`.
pub const LOST_CARD: &str = "4000000000009987";
/// Declined: `stolen_card`.
pub const STOLEN_CARD: &str = "4000000000009979";
/// Declined: `incorrect_cvc`.
pub const INCORRECT_CVC: &str = "4000000000000127";
/// Declined: `processing_error`.
pub const PROCESSING_ERROR: &str = "4000000000000119";
/// Declined: `incorrect_number`.
pub const INCORRECT_NUMBER: &str = "4242424242424241";
/// Delayed payment: completed + unpaid, then `async_payment_succeeded` after the pending delay.
pub const DELAYED_SUCCEEDS: &str = "4000000000009905";
/// Delayed payment: completed + unpaid, then `async_payment_failed` after the pending delay.
pub const DELAYED_FAILS: &str = "4000000000009913";
