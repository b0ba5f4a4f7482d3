//! The Stripe-like side: Checkout Sessions API, refunds, hosted page, signed webhooks.
//!
//! Written from section A of `../shared/specs/other-providers.md`, independently of the
//! `tpe-stripe-like` provider crate.
//!
//! | file | concern |
//! | --- | --- |
//! | `mod.rs` | the bank's registration: routes, state, templates; the webhook endpoint control route |
//! | `state.rs` | sessions, endpoints, idempotency records; the Rust control API |
//! | `api.rs` | account and parameter extractors, JSON errors (unknown routes too), paging, `Idempotency-Key` |
//! | `params.rs` | the session create and list parameters |
//! | `objects.rs` | the API objects, with every field of the PSP's published fixtures |
//! | `sessions.rs`, `intents.rs`, `prices.rs`, `refund.rs` | the REST routes |
//! | `cards.rs`, `hosted.rs` | test cards and the hosted page |
//! | `webhook.rs` | signed events and their delivery |
//! | `html.rs`, `templates/` | the pages |

pub mod cards;
mod api;
mod hosted;
mod html;
mod intents;
mod objects;
mod params;
mod prices;
mod refund;
mod sessions;
mod state;
mod webhook;

use std::any::Any;

use axum::routing::{MethodRouter, any, get, post};

pub use self::webhook::stripe_signature_header;

pub(crate) use self::api::json_errors;

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
                api(get(sessions::list_sessions).post(sessions::create_session)),
            )
            .route(
                "/v1/checkout/sessions/{id}",
                api(get(sessions::get_session)),
            )
            .route(
                "/v1/checkout/sessions/{id}/expire",
                api(post(sessions::expire_session)),
            )
            .route(
                "/v1/checkout/sessions/{id}/line_items",
                api(get(sessions::list_line_items)),
            )
            .route(
                "/v1/payment_intents/{id}",
                api(get(intents::get_intent)),
            )
            .route(
                "/v1/prices",
                api(get(prices::list_prices).post(prices::create_price)),
            )
            .route(
                "/v1/prices/{id}",
                api(get(api::get_owned::<state::Price>).post(prices::update_price)),
            )
            .route(
                "/v1/refunds",
                api(get(refund::list_refunds).post(refund::create_refund)),
            )
            .route("/v1/refunds/{id}", api(get(api::get_owned::<state::Refund>)))
            // Any other path under `/v1/` gets the API's 404, in its error shape.
            .route("/v1/{*rest}", any(api::unknown_route))
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

/// An API route whose other methods get the API's 404 in its error shape (not an empty 405).
fn api(route: MethodRouter<BankState>) -> MethodRouter<BankState> {
    route.fallback(api::unknown_route)
}
