//! The Worldline Direct / CAWL side of the mock bank as a [`BankSide`]: hosted checkouts
//! created over the signed API, the hosted page and its test cards, the checkout as the bank
//! understood it (read on the control API), scripts and journal; the signature is the
//! `X-GCS-Signature` header with its `X-GCS-KeyId`.

use http::HeaderValue;
use tpe_core::{Currency, OutcomeKind, Redirect};
use tpe_mock_bank::worldline::{MAX_AMOUNT, cards};
use tpe_mock_bank::{
    DEFAULT_WORLDLINE_API_KEY_ID, DEFAULT_WORLDLINE_API_SECRET, DEFAULT_WORLDLINE_MERCHANT_ID,
    DEFAULT_WORLDLINE_WEBHOOK_KEY_ID, DEFAULT_WORLDLINE_WEBHOOK_SECRET,
};
use url::Url;

use crate::bank::{
    BankError, BankSide, Captured, Channel, Completion, ExpectedAck, Forgery, Page, Refusal,
};
use crate::page;

/// The mock's test merchant: its PSPID.
pub const MERCHANT_ID: &str = DEFAULT_WORLDLINE_MERCHANT_ID;
/// The mock's test merchant: its API key id.
pub const API_KEY_ID: &str = DEFAULT_WORLDLINE_API_KEY_ID;
/// The mock's test merchant: its API secret (a secret the suite looks for in outputs).
pub const API_SECRET: &str = DEFAULT_WORLDLINE_API_SECRET;
/// The mock's test merchant: its webhook key id.
pub const WEBHOOK_KEY_ID: &str = DEFAULT_WORLDLINE_WEBHOOK_KEY_ID;
/// The mock's test merchant: its webhook secret (a secret too).
pub const WEBHOOK_SECRET: &str = DEFAULT_WORLDLINE_WEBHOOK_SECRET;
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-gcs-signature";
/// The key id header.
pub const KEY_ID_HEADER: &str = "x-gcs-keyid";

mock_side! {
    /// A mock bank serving the Worldline Direct protocol, on `127.0.0.1:0`, its clock at `now`.
    MockWorldline
}

impl MockWorldline {
    /// `http://127.0.0.1:PORT/`: the API base URL.
    pub fn base_url(&self) -> Url {
        crate::base_url(self.bank.base_url())
    }

    async fn checkout(&self, id: &str) -> Result<serde_json::Value, String> {
        let url = format!("{}/_mock/worldline/checkouts/{id}", self.bank.base_url());
        page::read_json(self.http.get(url), "checkout").await
    }
}

#[async_trait::async_trait]
impl BankSide for MockWorldline {
    mock_side_methods!("mock-worldline", Worldline);

    async fn listen(&self, notify_url: &Url) -> Result<(), String> {
        // The checkout names its webhook URL (`feedbacks.webhooksUrls`); the registered
        // endpoint is the fallback for checkouts that name none.
        let accepted = self
            .bank
            .set_worldline_webhook_url(MERCHANT_ID, notify_url.as_str());
        page::registered(accepted, "webhook endpoint", notify_url)
    }

    async fn open(&self, redirect: &Redirect) -> Result<Page, Refusal> {
        let opened = page::open_api_page(&self.http, redirect, "/hostedcheckout/").await?;
        let checkout = self.checkout(&opened.handle).await;
        opened.read("checkout", checkout, |c| {
            let currency = Currency::from_alpha(c["currencyCode"].as_str()?).ok()?;
            Some((c["amount"].as_u64()?, currency))
        })
    }

    fn signed_fields(&self, _redirect: &Redirect) -> Vec<String> {
        // The checkout was created over the signed API: the redirect is a plain URL.
        Vec::new()
    }

    async fn complete(&self, page: &Page, outcome: OutcomeKind) -> Result<Completion, BankError> {
        let (form, code): (Vec<(&str, &str)>, Option<u32>) = match outcome {
            OutcomeKind::Accepted => (vec![("card", cards::ACCEPTED)], None),
            OutcomeKind::Refused => (vec![("card", cards::REFUSED)], Some(cards::REFUSED_CODE)),
            OutcomeKind::Pending => (vec![("card", cards::PENDING)], None),
            OutcomeKind::Unclassified => (
                vec![("card", cards::UNCLASSIFIED)],
                Some(cards::UNCLASSIFIED_CODE),
            ),
            OutcomeKind::Cancelled => (vec![("action", "cancel")], None),
            _ => return Err(BankError::Unsupported("this outcome")),
        };
        let mut form = form;
        if outcome != OutcomeKind::Cancelled {
            form.extend([
                ("exp", crate::TEST_CARD_EXPIRY),
                ("cvc", "123"),
                ("action", "pay"),
            ]);
        }
        let url = format!("{}/hostedcheckout/{}", self.bank.base_url(), page.handle);
        // A refusal keeps the customer on the page (402) for another card.
        let refused = outcome == OutcomeKind::Refused;
        page::post_form(&self.http, url, &form, |s| {
            if refused {
                s == http::StatusCode::PAYMENT_REQUIRED
            } else {
                s.is_success()
            }
        })
        .await?;
        Ok(Completion {
            expected_code: code.map(|c| c.to_string()),
            channel: Channel::ServerToServer,
        })
    }

    fn forge(&self, genuine: &Captured, forgery: Forgery) -> Vec<Captured> {
        let Some(value) = genuine
            .headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            return Vec::new();
        };
        let with = |name: &'static str, values: &[&str]| {
            let mut c = genuine.clone();
            c.headers.remove(name);
            for v in values {
                if let Ok(v) = HeaderValue::from_str(v) {
                    c.headers.append(name, v);
                }
            }
            c
        };
        match forgery {
            Forgery::Missing => vec![with(SIGNATURE_HEADER, &[]), with(KEY_ID_HEADER, &[])],
            Forgery::Empty => vec![with(SIGNATURE_HEADER, &[""]), with(KEY_ID_HEADER, &[""])],
            Forgery::Duplicated => vec![
                with(SIGNATURE_HEADER, &[&value, &value]),
                with(KEY_ID_HEADER, &[WEBHOOK_KEY_ID, WEBHOOK_KEY_ID]),
            ],
            Forgery::BadlyEncoded => vec![
                with(SIGNATURE_HEADER, &[&"!".repeat(44)]),
                with(SIGNATURE_HEADER, &[value.trim_end_matches('=')]),
                with(SIGNATURE_HEADER, &[&value[..value.len().saturating_sub(4)]]),
                with(SIGNATURE_HEADER, &[&format!("{value}AAAA")]),
            ],
        }
    }

    fn signature_headers(&self) -> &'static [&'static str] {
        &[SIGNATURE_HEADER, KEY_ID_HEADER]
    }

    fn currencies(&self) -> Vec<Currency> {
        // The mock takes any upper-case ISO 4217 code; these are the ones the suite uses.
        crate::fixtures::ANY_CODE_CURRENCIES.to_vec()
    }

    fn max_amount(&self, _currency: Currency) -> u64 {
        MAX_AMOUNT
    }

    fn expected_ack(&self) -> ExpectedAck {
        // Any 2xx acknowledges; the body is ignored (spec §G.9).
        ExpectedAck::status(200..=299)
    }
}
