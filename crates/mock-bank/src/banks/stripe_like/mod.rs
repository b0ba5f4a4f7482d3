//! The Stripe-like side: Checkout Sessions API, refunds, hosted page, signed webhooks.
//!
//! Written from section A of `../shared/specs/other-providers.md`, independently of the
//! `tpe-stripe-like` provider crate.
//!
//! | file | concern |
//! | --- | --- |
//! | `mod.rs` | the bank's registration: routes, state, templates; the webhook endpoint control route |
//! | `state.rs` | sessions, endpoints, idempotency records; the Rust control API |
//! | `api.rs` | account and parameter extractors, JSON errors, `Idempotency-Key` |
//! | `params.rs` | the create and list parameters |
//! | `sessions.rs`, `refund.rs` | the REST routes |
//! | `cards.rs`, `hosted.rs` | test cards and the hosted page |
//! | `webhook.rs` | signed events and their delivery |
//! | `html.rs`, `templates/` | the pages |

pub mod cards;
mod api;
mod hosted;
mod html;
mod params;
mod refund;
mod sessions;
mod state;
mod webhook;

use std::any::Any;

use axum::routing::{get, post};

pub use self::webhook::stripe_signature_header;

use crate::Error;
use crate::banks::Bank;
use crate::config::MockBankConfig;
use crate::control::callback_registration;
use crate::journal::Side;
use crate::state::BankState;

/// The API version written in events.
pub const API_VERSION: &str = "2024-06-20";

/// The decline code of a delayed payment that fails by test card (no script).
pub const DELAYED_FAILURE_CODE: &str = "insufficient_funds";

/// The event of a card declined on the hosted page; its object is the payment intent.
pub const PAYMENT_FAILED: &str = "payment_intent.payment_failed";

/// The Stripe-like PSP, as registered in `banks::ALL`.
pub(crate) struct StripeLike;

impl Bank for StripeLike {
    fn side(&self) -> Side {
        Side::StripeLike
    }

    fn state(&self, _config: &MockBankConfig) -> Result<Box<dyn Any + Send + Sync>, Error> {
        Ok(Box::new(state::StripeState::default()))
    }

    fn router(&self) -> axum::Router<BankState> {
        axum::Router::new()
            .route(
                "/v1/checkout/sessions",
                get(sessions::list_sessions).post(sessions::create_session),
            )
            .route("/v1/checkout/sessions/{id}", get(sessions::get_session))
            .route(
                "/v1/checkout/sessions/{id}/expire",
                post(sessions::expire_session),
            )
            .route("/v1/refunds", post(refund::create_refund))
            .route(
                "/c/pay/{id}",
                get(hosted::hosted_page).post(hosted::hosted_submit),
            )
            .route(
                "/_mock/stripe/webhook",
                callback_registration("secret_key", BankState::set_stripe_webhook_url),
            )
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        html::TEMPLATES
    }
}
