//! The Lyra side of the mock bank as a [`BankSide`]: `vads-payment` form, payment page, test
//! cards, cancel button, scripts and journal; the signature is the `signature` field.

use tpe_core::{Currency, OutcomeKind, Redirect};
use tpe_mock_bank::lyra::cards;
use tpe_mock_bank::{
    LYRA_PRODUCTION_KEY, LYRA_REST_PASSWORD, LYRA_TEST_KEY, LYRA_TEST_SITE_ID, Outcome, Scenario,
};
use url::Url;

use crate::bank::{
    BankError, BankSide, Captured, Channel, Completion, ExpectedAck, Forgery, Page, Refusal,
};
use crate::page;

/// The mock's Lyra test shop: `vads_site_id`.
pub const SITE_ID: &str = LYRA_TEST_SITE_ID;
/// Its TEST key: a secret the suite looks for in outputs.
pub const TEST_KEY: &str = LYRA_TEST_KEY;
/// Its PRODUCTION key.
pub const PRODUCTION_KEY: &str = LYRA_PRODUCTION_KEY;
/// Its REST API password.
pub const REST_PASSWORD: &str = LYRA_REST_PASSWORD;
/// `vads_amount` has at most 12 digits on the mock.
pub const MAX_AMOUNT: u64 = tpe_mock_bank::lyra::MAX_AMOUNT;
/// A `vads_auth_result` outside Lyra's published table, for the unclassified-outcome check.
pub const UNCLASSIFIED_CODE: &str = "X7";

mock_side! {
    /// A mock bank serving the Lyra protocol, on `127.0.0.1:0`, with its clock fixed at `now`.
    MockLyra
}

impl MockLyra {
    /// [`MockLyra::spawn`] with its shop notified in the REST V4 format (`kr-answer`,
    /// `kr-hash` with the REST password), as a shop paying through the REST API is.
    pub async fn spawn_rest(now: tpe_core::Timestamp) -> Self {
        Self::spawn_with(now, |config| {
            for shop in &mut config.lyra_shops {
                shop.rest_ipn = true;
            }
        })
        .await
    }

    /// `http://127.0.0.1:PORT/`: the platform's base (`vads-payment/` under it).
    pub fn base_url(&self) -> Url {
        crate::base_url(self.bank.base_url())
    }

    async fn submit(&self, path: &str, form: &[(&str, &str)]) -> Result<(), BankError> {
        let url = format!("{}/lyra/page/{path}", self.bank.base_url());
        page::post_form(&self.http, url, form, |s| {
            s.is_success() || s.is_redirection()
        })
        .await
    }
}

#[async_trait::async_trait]
impl BankSide for MockLyra {
    mock_side_methods!("mock-lyra", Lyra);

    // `listen` keeps the default: the IPN URL travels in the signed form (vads_url_check).

    async fn open(&self, redirect: &Redirect) -> Result<Page, Refusal> {
        page::open_form_page(&self.http, redirect, "/lyra/page/").await
    }

    fn signed_fields(&self, redirect: &Redirect) -> Vec<String> {
        // The signature covers every vads_ field.
        page::field_names(redirect, |k| k.starts_with("vads_"))
    }

    async fn complete(&self, page: &Page, outcome: OutcomeKind) -> Result<Completion, BankError> {
        let (form, expected_code) = match outcome {
            OutcomeKind::Accepted => (page::card_form(cards::ACCEPTED).to_vec(), None),
            OutcomeKind::Refused => (
                page::card_form(cards::INSUFFICIENT_FUNDS).to_vec(),
                Some("51".to_owned()),
            ),
            OutcomeKind::Pending => (page::card_form(cards::PENDING_THEN_ACCEPTED).to_vec(), None),
            // The mock's shops have the cancellation rule on: an ABANDONED IPN.
            OutcomeKind::Cancelled => (vec![("action", "cancel")], None),
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
                )
            }
            _ => return Err(BankError::Unsupported("this outcome")),
        };
        self.submit(&page.handle, &form).await?;
        Ok(Completion {
            expected_code,
            channel: Channel::ServerToServer,
        })
    }

    fn forge(&self, genuine: &Captured, forgery: Forgery) -> Vec<Captured> {
        // The signature is the last field: `signature`, or `kr-hash` in a REST IPN.
        let payload = genuine.payload();
        let Some((at, field)) = [&b"&signature="[..], b"&kr-hash="]
            .into_iter()
            .find_map(|field| find(payload, field).map(|at| (at, field)))
        else {
            return Vec::new();
        };
        let data = &payload[..at];
        let sig = &payload[at + field.len()..];
        let bare = &field[1..];
        let join = |parts: &[&[u8]]| genuine.with_payload(parts.concat());
        match forgery {
            Forgery::Missing => vec![join(&[data])],
            Forgery::Empty => vec![join(&[data, field])],
            Forgery::Duplicated => vec![
                join(&[data, field, sig, field, sig]),
                join(&[bare, sig, b"&", data, field, sig]),
            ],
            Forgery::BadlyEncoded => vec![
                join(&[data, field, b"%%%not*base64!"]),
                join(&[data, field, b"!", sig]),
                join(&[data, field, &sig[..sig.len() / 2]]),
            ],
        }
    }

    fn signature_headers(&self) -> &'static [&'static str] {
        &[]
    }

    fn currencies(&self) -> Vec<Currency> {
        tpe_mock_bank::lyra::CURRENCIES
            .iter()
            .filter_map(|n| n.parse().ok())
            .filter_map(|n| Currency::from_numeric(n).ok())
            .collect()
    }

    fn max_amount(&self, _currency: Currency) -> u64 {
        MAX_AMOUNT
    }

    fn expected_ack(&self) -> ExpectedAck {
        // Spec B.7: 200 to 206 (and some 3xx), body ignored.
        ExpectedAck::status(200..=206)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
