//! `tpe-mock-bank`: the bank side of Paybox, of the Stripe-like PSP and of Monetico, for people
//! and for tests.
//!
//! An axum server that speaks each bank's real wire protocol — written independently of the
//! provider crates and checked against the published vectors — with hosted payment pages a person
//! can use, signed server-to-server notifications with bounded retries, the status / refund APIs,
//! scripted outcomes and faults per payment reference, and a journal of everything received and
//! sent.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tpe_mock_bank::Error> {
//! use tpe_mock_bank::{MockBank, MockBankConfig, Outcome, Scenario};
//! let bank = MockBank::spawn(MockBankConfig::for_tests()).await?;
//! bank.script("ORDER-1", Scenario::outcome(Outcome::Refuse { code: "00151".into() }));
//! let page = format!("{}/cgi/MYchoix_pagepaiement.cgi", bank.base_url());
//! # let _ = page; Ok(()) }
//! ```

// The API objects are written whole with `serde_json::json!`, whose expansion nests per field.
#![recursion_limit = "256"]

mod amount;
pub mod banks;
mod config;
mod control;
mod error;
mod extract;
mod faults;
mod instalments;
mod journal;
mod launch;
mod layer;
mod luhn;
mod merchants;
mod notify;
mod pages;
mod scenario;
mod secret;
mod server;
mod state;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use banks::{lyra, monetico, paybox, stripe_like, worldline};
pub use config::{
    Clock, DEFAULT_STRIPE_SECRET_KEY, DEFAULT_STRIPE_WEBHOOK_SECRET, DEFAULT_WORLDLINE_API_KEY_ID,
    DEFAULT_WORLDLINE_API_SECRET, DEFAULT_WORLDLINE_MERCHANT_ID, DEFAULT_WORLDLINE_WEBHOOK_KEY_ID,
    DEFAULT_WORLDLINE_WEBHOOK_SECRET, LYRA_PRODUCTION_KEY, LYRA_REST_PASSWORD, LYRA_TEST_KEY,
    LYRA_TEST_SITE_ID, LyraShop, MONETICO_KIT_KEY, MONETICO_KIT_TPE, MONETICO_TEST_KEY,
    MONETICO_TEST_SOCIETE, MONETICO_TEST_TPE, MockBankConfig, MoneticoTpe, PAYBOX_TEST_CLE,
    PAYBOX_TEST_HMAC_KEY, PayboxMerchant, PayboxShapes, RetryPolicy, StripeAccount,
    WORLDLINE_SDK_TEST_API_KEY_ID, WORLDLINE_SDK_TEST_API_SECRET, WORLDLINE_SDK_TEST_MERCHANT_ID,
    WORLDLINE_SDK_TEST_WEBHOOK_KEY_ID, WORLDLINE_SDK_TEST_WEBHOOK_SECRET, WorldlineMerchant,
};
pub use error::Error;
pub use instalments::InstalmentError;
pub use journal::{EntryKind, JournalEntry, Side};
pub use launch::{ServeOptions, serve_until_ctrl_c};
pub use merchants::{ListedMerchant, ListedSecret, MerchantListing};
pub use scenario::{ApiFault, Outcome, Scenario};
pub use secret::Secret;
pub use server::{MockBank, RunningBank};
pub use state::BankState;

/// The router of the mock bank, for in-process use (`tower::ServiceExt::oneshot`) or serving:
/// the control API and the routes of every bank in [`banks`].
///
/// Every request is bounded in size (`max_body_bytes`) and time (`request_timeout`) and recorded
/// in the journal (except reads of the journal itself).
pub fn router(state: BankState) -> axum::Router {
    let limit = state.config().max_body_bytes;
    let timeout = state.config().request_timeout;
    let mut app = control::routes();
    for (_, bank) in banks::ALL {
        let side = bank.side();
        // `route_layer`: only the bank's own routes are tagged; a request no route serves is
        // journaled on the control side.
        app = app.merge(bank.router().route_layer(middleware::map_response(
            move |response| async move { layer::tag_side(side, response) },
        )));
    }
    app.layer(middleware::from_fn_with_state(
        state.clone(),
        layer::journal_layer,
    ))
    .layer(DefaultBodyLimit::max(limit))
    .layer(RequestBodyLimitLayer::new(limit))
    .layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
    .layer(middleware::from_fn(stripe_like::json_errors))
    .with_state(state)
}

/// Random lower-case hex of `bytes` bytes, for unguessable session ids.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes.min(64)];
    if getrandom::fill(&mut buf).is_err() {
        // No OS randomness: fall back to a time-and-counter value; ids stay unique, if guessable.
        static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = FALLBACK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return format!("{n:0width$x}", width = bytes.min(64) * 2);
    }
    hex::encode(buf)
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
