//! The Worldline Direct / CAWL side: the signed server API (hosted checkouts, payments,
//! capture, cancel, refund), the French hosted page with its test cards, signed webhooks with
//! retries, and the webhook endpoint verification call.
//!
//! Written from section G of `../shared/specs/other-providers.md`, independently of the
//! `tpe-worldline` provider crate.
//!
//! | file | concern |
//! | --- | --- |
//! | `mod.rs` | the bank's registration: routes, state, templates; control routes |
//! | `auth.rs` | the `GCS v1HMAC` request check and the platform's error shape |
//! | `api.rs` | the API routes |
//! | `state.rs` | checkouts, payments, idempotent answers; the JSON shapes |
//! | `cards.rs`, `page.rs` | test cards and the hosted page |
//! | `webhook.rs` | signed events, their delivery, the endpoint verification |
//! | `html.rs`, `templates/` | the pages |

mod api;
mod auth;
pub mod cards;
mod html;
mod page;
mod state;
mod webhook;

use std::any::Any;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;

pub use self::api::MAX_AMOUNT;
pub use self::webhook::{VERIFICATION_HEADER, gcs_signature};

use crate::Error;
use crate::banks::Bank;
use crate::config::MockBankConfig;
use crate::control::callback_registration;
use crate::journal::Side;
use crate::state::{BankState, Store};

/// Worldline Direct / CAWL, as registered in `banks::ALL`.
pub(crate) struct Worldline;

impl Bank for Worldline {
    fn side(&self) -> Side {
        Side::Worldline
    }

    fn state(&self, _config: &MockBankConfig) -> Result<Box<dyn Any + Send + Sync>, Error> {
        Ok(Box::new(state::WorldlineState::default()))
    }

    fn router(&self) -> axum::Router<BankState> {
        axum::Router::new()
            .route(
                "/v2/{merchant}/hostedcheckouts",
                post(api::create_hosted_checkout),
            )
            .route(
                "/v2/{merchant}/hostedcheckouts/{id}",
                get(api::get_hosted_checkout),
            )
            .route("/v2/{merchant}/payments/{id}", get(api::get_payment))
            .route(
                "/v2/{merchant}/payments/{id}/details",
                get(api::get_payment_details),
            )
            .route("/v2/{merchant}/payments/{id}/{op}", post(api::operation))
            .route(
                "/v2/{merchant}/services/testconnection",
                get(api::test_connection),
            )
            .route("/hostedcheckout/{id}", get(page::show).post(page::submit))
            .route("/hostedcheckout/{id}/3ds", post(page::challenge))
            .route(
                "/_mock/worldline/webhook",
                callback_registration("merchant_id", BankState::set_worldline_webhook_url),
            )
            .route("/_mock/worldline/verify-endpoint", post(verify_endpoint))
            .route("/_mock/worldline/checkouts/{id}", get(checkout_summary))
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        html::TEMPLATES
    }
}

/// The body of `POST /_mock/worldline/verify-endpoint`.
#[derive(Deserialize)]
struct VerifyEndpoint {
    url: String,
}

/// `POST /_mock/worldline/verify-endpoint`: runs the endpoint verification call.
async fn verify_endpoint(
    State(state): State<BankState>,
    Json(body): Json<VerifyEndpoint>,
) -> Json<serde_json::Value> {
    let ok = state.verify_worldline_endpoint(&body.url).await;
    Json(serde_json::json!({ "result": if ok { "Valid" } else { "Invalid" } }))
}

/// `GET /_mock/worldline/checkouts/{id}`: what the bank understood of a checkout (amount,
/// currency, reference, status), for tests and the demo, without the API signature.
async fn checkout_summary(
    State(state): State<BankState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    state
        .worldline()
        .with(|d| {
            d.checkouts.get(&id).map(|c| {
                serde_json::json!({
                    "amount": c.amount,
                    "currencyCode": c.currency,
                    "merchantReference": c.merchant_reference,
                    "status": c.status,
                    "paymentId": c.payment_id,
                })
            })
        })
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}
