//! The Paybox side: hosted payment page, signed IPN, browser returns, `load.html`, Paybox Direct.
//!
//! Written from `../shared/specs/paybox.md`, independently of the `tpe-paybox` provider crate.
//!
//! | file | concern |
//! | --- | --- |
//! | `mod.rs` | the bank's registration: routes, state, templates |
//! | `state.rs` | page sessions and the bank ledger; the Rust control API |
//! | `request.rs` | the checks of the shop's form (merchant, fields, XML) |
//! | `hmac.rs` | the request MAC (`PBX_HMAC`, Direct `HMAC`) |
//! | `cards.rs`, `decision.rs` | test cards and the decision for an attempt |
//! | `page.rs` | the page handlers (entry, card form, challenge, cancel, `load.html`) |
//! | `conclude.rs` | ledger, journal, IPN and browser return of an attempt; pending payments |
//! | `returns.rs`, `signing.rs` | the `PBX_RETOUR` variables and their RSA signature |
//! | `direct.rs` | Paybox Direct (`PPPS.php`) |
//! | `html.rs`, `templates/` | the pages |

pub mod cards;
mod conclude;
mod decision;
mod direct;
mod hmac;
mod html;
mod page;
mod request;
mod returns;
mod signing;
mod state;

use std::any::Any;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use self::hmac::{HmacError, hmac_hex, verify_fields_hmac, verify_request_hmac};
pub use self::signing::{SHIPPED_PRIVATE_KEY_PEM, SHIPPED_PUBLIC_KEY_PEM};
pub use crate::amount::format_amount;

use crate::instalments::instalment_route;
use crate::Error;
use crate::banks::Bank;
use crate::config::MockBankConfig;
use crate::journal::Side;
use crate::state::BankState;

/// The paths of the hosted payment page (all variants share one form and one MAC rule).
pub const PAGE_PATHS: &[&str] = &[
    "/cgi/MYchoix_pagepaiement.cgi",
    "/cgi/FramepagepaiementRWD.cgi",
    "/cgi/MYframepagepaiement_ip.cgi",
    "/cgi/ChoixPaiementMobile.cgi",
    "/php/",
    "/php",
];

/// How many card attempts a payment page allows before it gives up (several bank transactions
/// under one reference).
pub const MAX_ATTEMPTS: u32 = 3;

/// The Paybox bank, as registered in `banks::ALL`.
pub(crate) struct Paybox;

impl Bank for Paybox {
    fn side(&self) -> Side {
        Side::Paybox
    }

    fn state(&self, config: &MockBankConfig) -> Result<Box<dyn Any + Send + Sync>, Error> {
        let pem = config
            .paybox_signing_key_pem
            .as_deref()
            .unwrap_or(SHIPPED_PRIVATE_KEY_PEM);
        let signer = signing::PayboxSigner::from_pem(pem)?;
        Ok(Box::new(state::PayboxState::new(signer)))
    }

    fn router(&self) -> axum::Router<BankState> {
        let mut r = axum::Router::new();
        for path in PAGE_PATHS {
            r = r.route(path, get(page::page_entry).post(page::page_entry));
        }
        r.route("/paybox/page/{id}", post(page::page_submit))
            .route("/paybox/page/{id}/3ds", post(page::challenge_submit))
            .route("/load.html", get(page::load_html))
            .route("/PPPS.php", post(direct::ppps))
            .route("/_mock/keys/paybox.pem", get(public_key))
            .route("/_mock/paybox/transactions", get(transactions))
            .route(
                "/_mock/paybox/instalments",
                instalment_route(Side::Paybox),
            )
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        html::TEMPLATES
    }

    fn instalments(&self) -> Option<crate::banks::Instalments> {
        Some(crate::banks::Instalments {
            uncharged: |state| crate::instalments::uncharged(state.paybox()),
            charge: conclude::charge_instalment,
        })
    }
}

/// `GET /_mock/keys/paybox.pem`: the key that verifies the mock's signatures.
async fn public_key(State(state): State<BankState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.paybox_public_key_pem().to_owned(),
    )
        .into_response()
}

/// `GET /_mock/paybox/transactions`: the ledger.
async fn transactions(State(state): State<BankState>) -> Response {
    axum::Json(state.paybox_transactions()).into_response()
}
