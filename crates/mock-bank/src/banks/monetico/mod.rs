//! The Monetico Paiement side (CIC / Crédit Mutuel): the payment page of form version 3.0, the
//! signed CGI2 return to the confirmation URL registered for the TPE, browser returns.
//!
//! Written from `../shared/specs/other-providers.md` section C, independently of the
//! `tpe-monetico` provider crate.
//!
//! | file | concern |
//! | --- | --- |
//! | `mod.rs` | the bank's registration: routes, state, templates; the CGI2 URL control route |
//! | `state.rs` | TPEs, confirmation URLs, page sessions; the Rust control API, later instalments on command |
//! | `mac.rs` | the usable key and the MAC (spec C.4) |
//! | `page.rs` | the entry checks, the card form, the decision, the browser return |
//! | `cards.rs` | test cards |
//! | `cgi2.rs` | the signed return and its delivery until `cdr=0` |
//! | `html.rs`, `templates/` | the pages |

pub mod cards;
mod cgi2;
pub mod mac;
mod html;
mod page;
mod state;

use std::any::Any;
use std::collections::HashMap;

use axum::routing::{get, post};

pub use self::cgi2::RECEIVED;

use crate::Error;
use crate::banks::Bank;
use crate::config::MockBankConfig;
use crate::control::callback_registration;
use crate::instalments::instalment_route;
use crate::journal::Side;
use crate::state::BankState;

/// The Monetico bank, as registered in `banks::ALL`.
pub(crate) struct Monetico;

impl Bank for Monetico {
    fn side(&self) -> Side {
        Side::Monetico
    }

    fn state(&self, config: &MockBankConfig) -> Result<Box<dyn Any + Send + Sync>, Error> {
        let mut terminals = HashMap::new();
        let mut urls = HashMap::new();
        for t in &config.monetico_tpes {
            let key = mac::usable_key(t.key.expose()).ok_or_else(|| {
                Error::Config(format!("the key of Monetico TPE {} is not 40 characters of hexadecimal", t.tpe))
            })?;
            terminals.insert(
                t.tpe.clone(),
                state::Terminal {
                    societe: t.societe.clone(),
                    key,
                },
            );
            if let Some(url) = &t.cgi2_url {
                urls.insert(t.tpe.clone(), url.clone());
            }
        }
        Ok(Box::new(state::MoneticoState::new(terminals, urls)))
    }

    fn router(&self) -> axum::Router<BankState> {
        axum::Router::new()
            .route(
                "/test/paiement.cgi",
                get(page::entry_test).post(page::entry_test),
            )
            .route(
                "/paiement.cgi",
                get(page::entry_production).post(page::entry_production),
            )
            .route("/monetico/page/{id}", post(page::submit))
            .route(
                "/_mock/monetico/cgi2",
                callback_registration("tpe", BankState::set_monetico_cgi2_url),
            )
            .route(
                "/_mock/monetico/instalments",
                instalment_route(Side::Monetico),
            )
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        html::TEMPLATES
    }

    fn instalments(&self) -> Option<crate::banks::Instalments> {
        Some(crate::banks::Instalments {
            uncharged: |state| crate::instalments::uncharged(state.monetico()),
            charge: state::charge_instalment,
        })
    }
}
