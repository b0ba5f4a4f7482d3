//! The Paybox side of the mock bank as a [`BankSide`]: hosted page, test cards, cancel button,
//! scripts and journal; the signature is the last query (or body) parameter.

use tpe_core::{Currency, OutcomeKind, Redirect};
use tpe_mock_bank::paybox::cards;
use tpe_mock_bank::{Outcome, PAYBOX_TEST_HMAC_KEY, Scenario};
use url::Url;

use crate::bank::{
    BankError, BankSide, Captured, Channel, Completion, ExpectedAck, Forgery, Page, Refusal,
};
use crate::page;

/// The mock bank's Paybox pre-production test merchant: `PBX_SITE`.
pub const SITE: &str = "1999888";
/// `PBX_RANG` of the test merchant.
pub const RANG: &str = "32";
/// `PBX_IDENTIFIANT` of the test merchant.
pub const IDENTIFIANT: &str = "107904482";
/// The test merchant's HMAC key (128 hex): a secret the suite looks for in outputs.
pub const HMAC_KEY: &str = PAYBOX_TEST_HMAC_KEY;
/// `PBX_TOTAL` has at most 10 digits.
pub const MAX_TOTAL: u64 = 9_999_999_999;
/// ISO 4217 numeric codes the mock's page accepts.
/// A result code outside Paybox's published table, for the unclassified-outcome check.
pub const UNCLASSIFIED_CODE: &str = "00300";
const CURRENCIES: [u16; 12] = [978, 840, 826, 756, 124, 36, 392, 752, 208, 578, 985, 203];

mock_side! {
    /// A mock bank serving the Paybox protocol, on `127.0.0.1:0`, with its clock fixed at `now`.
    MockPaybox
}

impl MockPaybox {
    /// `http://127.0.0.1:PORT/`: the base of the page (`/cgi/MYchoix_pagepaiement.cgi`) and
    /// of Paybox Direct (`/PPPS.php`).
    pub fn base_url(&self) -> Url {
        crate::base_url(self.bank.base_url())
    }

    /// The public key (PEM) verifying the mock's notifications.
    pub fn public_key_pem(&self) -> &str {
        self.bank.paybox_public_key_pem()
    }

    async fn submit(&self, handle: &str, form: &[(&str, &str)]) -> Result<(), BankError> {
        let url = format!("{}/paybox/page/{handle}", self.bank.base_url());
        page::post_form(&self.http, url, form, |s| s.is_success()).await
    }
}

#[async_trait::async_trait]
impl BankSide for MockPaybox {
    mock_side_methods!("mock-paybox", Paybox);

    // `listen` keeps the default: Paybox takes the notification URL from the signed form
    // (PBX_REPONDRE_A).

    async fn open(&self, redirect: &Redirect) -> Result<Page, Refusal> {
        page::open_form_page(&self.http, redirect, "/paybox/page/").await
    }

    fn signed_fields(&self, redirect: &Redirect) -> Vec<String> {
        // PBX_HMAC covers every field before it.
        page::field_names(redirect, |k| k != "PBX_HMAC")
    }

    async fn complete(&self, page: &Page, outcome: OutcomeKind) -> Result<Completion, BankError> {
        let (form, expected_code, channel) = match outcome {
            OutcomeKind::Accepted => (
                page::card_form(cards::ACCEPTED).to_vec(),
                None,
                Channel::ServerToServer,
            ),
            OutcomeKind::Refused => (
                page::card_form(cards::INSUFFICIENT_FUNDS).to_vec(),
                Some("00151".to_owned()),
                Channel::ServerToServer,
            ),
            OutcomeKind::Pending => (
                page::card_form(cards::PENDING_THEN_ACCEPTED).to_vec(),
                None,
                Channel::ServerToServer,
            ),
            // A cancel sends no IPN: the signed variables reach the shop by the browser only.
            OutcomeKind::Cancelled => (vec![("action", "cancel")], None, Channel::BrowserReturn),
            // 00300 is outside the published table (one official module reads 003xx as
            // success): the bank is scripted to answer it.
            OutcomeKind::Unclassified => {
                self.bank.script(
                    &page.reference,
                    Scenario::outcome(Outcome::Refuse {
                        code: UNCLASSIFIED_CODE.to_owned(),
                    }),
                );
                (
                    page::card_form(cards::ACCEPTED).to_vec(),
                    Some(UNCLASSIFIED_CODE.to_owned()),
                    Channel::ServerToServer,
                )
            }
            _ => return Err(BankError::Unsupported("this outcome")),
        };
        self.submit(&page.handle, &form).await?;
        Ok(Completion {
            expected_code,
            channel,
        })
    }

    fn forge(&self, genuine: &Captured, forgery: Forgery) -> Vec<Captured> {
        let payload = genuine.payload();
        let Some(amp) = payload.iter().rposition(|&b| b == b'&') else {
            return Vec::new();
        };
        let data = &payload[..amp];
        let param = &payload[amp + 1..];
        let eq = param.iter().position(|&b| b == b'=').unwrap_or(param.len());
        let name = &param[..eq];
        let sig = param.get(eq + 1..).unwrap_or_default();
        let join = |parts: &[&[u8]]| genuine.with_payload(parts.concat());
        match forgery {
            Forgery::Missing => vec![join(&[data])],
            Forgery::Empty => vec![join(&[data, b"&", name, b"="])],
            Forgery::Duplicated => vec![
                join(&[data, b"&", name, b"=", sig, b"&", name, b"=", sig]),
                join(&[name, b"=", sig, b"&", data, b"&", name, b"=", sig]),
            ],
            Forgery::BadlyEncoded => vec![
                join(&[data, b"&", name, b"=%%%not*base64!"]),
                join(&[data, b"&", name, b"=!", sig]),
                join(&[data, b"&", name, b"=", &sig[..sig.len() / 2]]),
            ],
        }
    }

    fn signature_headers(&self) -> &'static [&'static str] {
        &[]
    }

    fn currencies(&self) -> Vec<Currency> {
        CURRENCIES
            .iter()
            .filter_map(|n| Currency::from_numeric(*n).ok())
            .collect()
    }

    fn max_amount(&self, _currency: Currency) -> u64 {
        MAX_TOTAL
    }

    fn expected_ack(&self) -> ExpectedAck {
        // Spec §4.1: HTTP 200 exactly, body ignored.
        ExpectedAck::status(200..=200)
    }
}

/// `43,21 €` → 4321 EUR; `1000 ¥` → 1000 JPY; `12,34 124` → 1234 CAD.
pub(crate) fn parse_amount(shown: &str) -> Option<(u64, Currency)> {
    let (number, symbol) = shown.trim().split_once(' ')?;
    let digits: String = number.chars().filter(|c| *c != ',').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let currency = match symbol {
        "€" => Currency::EUR,
        "$" => Currency::USD,
        "£" => Currency::GBP,
        "CHF" => Currency::CHF,
        "¥" => Currency::JPY,
        numeric => Currency::from_numeric(numeric.parse().ok()?).ok()?,
    };
    Some((digits.parse().ok()?, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_shown_by_the_page() {
        assert_eq!(parse_amount("43,21 €"), Some((4321, Currency::EUR)));
        assert_eq!(parse_amount("1000 ¥"), Some((1000, Currency::JPY)));
        assert_eq!(
            parse_amount("99999999,99 €"),
            Some((9_999_999_999, Currency::EUR))
        );
        assert_eq!(parse_amount("12,34 124").map(|a| a.0), Some(1234));
        assert_eq!(parse_amount("12,34"), None);
        assert_eq!(parse_amount("x €"), None);
    }
}
