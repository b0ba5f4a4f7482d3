//! tpe connects an online shop to bank payment terminals through hosted payment pages: it
//! prepares the signed redirect, verifies the bank's signed answer, explains the bank's codes and
//! runs the order-payment lifecycle so that a shop never loses a payment, never validates an
//! unpaid order and never does anything twice.
//!
//! This crate is the facade: it re-exports the workspace's crates.
//!
//! ```
//! use tpe::core::{Amount, Currency};
//! assert_eq!(Amount::parse("43,21", Currency::EUR)?.minor(), 4321);
//! # Ok::<(), tpe::core::MoneyError>(())
//! ```

pub use tpe_core as core;
pub use tpe_mock_bank as mock_bank;
pub use tpe_engine as engine;
pub use tpe_paybox as paybox;
pub use tpe_store as store;
pub use tpe_stripe_like as stripe_like;
#[doc(hidden)]
pub use tpe_demo as demo;
