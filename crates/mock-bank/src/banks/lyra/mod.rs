//! The Lyra side (Systempay, PayZen, Scellius, Sogecommerce): the `vads_*` payment form, the
//! French payment page with Lyra's test cards, the signed IPN with Lyra's retry schedule, the
//! browser return, and the REST API's `Order/Get` and `Transaction/CancelOrRefund`.
//!
//! Written from `../shared/specs/other-providers.md` section B, independently of the
//! `tpe-lyra` provider crate.
//!
//! | file | concern |
//! | --- | --- |
//! | `mod.rs` | the bank's registration: routes, state, templates |
//! | `state.rs` | page sessions, transactions, used trans ids; the Rust control API |
//! | `request.rs` | the checks of the shop's form (shop, mode, signature, fields) |
//! | `signing.rs` | the `vads_*` signature (HMAC-SHA-256 or SHA-1) |
//! | `cards.rs`, `decision.rs` | test cards and the decision for an attempt |
//! | `page.rs` | the page handlers (entry, card form, challenge) |
//! | `conclude.rs` | transaction, journal, IPN, browser return; pending payments; cancel |
//! | `rest.rs` | the REST API V4 (Basic auth, JSON envelope) |
//! | `html.rs`, `templates/` | the pages |

pub mod cards;
mod conclude;
mod decision;
mod html;
mod page;
mod request;
mod rest;
mod rest_ipn;
pub mod signing;
mod state;

use std::any::Any;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use self::request::{CURRENCIES, MAX_AMOUNT};

use crate::Error;
use crate::banks::Bank;
use crate::config::MockBankConfig;
use crate::journal::Side;
use crate::state::BankState;

/// The path of the payment form (spec B.1).
pub const PAGE_PATH: &str = "/vads-payment/";

/// The Lyra platform, as registered in `banks::ALL`.
pub(crate) struct Lyra;

impl Bank for Lyra {
    fn side(&self) -> Side {
        Side::Lyra
    }

    fn state(&self, config: &MockBankConfig) -> Result<Box<dyn Any + Send + Sync>, Error> {
        Ok(Box::new(state::LyraState::new(config.lyra_shops.clone())))
    }

    fn router(&self) -> axum::Router<BankState> {
        axum::Router::new()
            .route(PAGE_PATH, get(page::entry).post(page::entry))
            .route("/vads-payment", get(page::entry).post(page::entry))
            .route("/lyra/page/{id}", post(page::submit))
            .route("/lyra/page/{id}/3ds", post(page::challenge))
            .route("/api-payment/V4/Order/Get", post(rest::order_get))
            .route(
                "/api-payment/V4/Transaction/CancelOrRefund",
                post(rest::cancel_or_refund),
            )
            .route("/api-payment/V4/Transaction/Validate", post(rest::validate))
            .route("/api-payment/V4/Transaction/Cancel", post(rest::cancel))
            .route("/_mock/lyra/transactions", get(transactions))
            .route(
                "/_mock/lyra/instalments",
                crate::instalments::instalment_route(Side::Lyra),
            )
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        html::TEMPLATES
    }

    fn instalments(&self) -> Option<crate::banks::Instalments> {
        Some(crate::banks::Instalments {
            uncharged: |state| crate::instalments::uncharged(state.lyra()),
            charge: conclude::charge_instalment,
        })
    }
}

/// `GET /_mock/lyra/transactions`: the ledger.
async fn transactions(State(state): State<BankState>) -> Response {
    axum::Json(state.lyra_transactions()).into_response()
}
