//! The Stripe-like side of the mock bank as a [`BankSide`]: sessions read over the API, the
//! hosted page and its test cards, session expiry, registered webhook endpoint, scripts and
//! journal; the signature is the `Stripe-Signature` header.

use http::HeaderValue;
use tpe_core::{Currency, OutcomeKind, Redirect};
use tpe_mock_bank::stripe_like::cards;
use tpe_mock_bank::{DEFAULT_STRIPE_SECRET_KEY, DEFAULT_STRIPE_WEBHOOK_SECRET};
use url::Url;

use crate::bank::{
    BankError, BankSide, Captured, Channel, Completion, ExpectedAck, Forgery, Page, Refusal,
};
use crate::page;

/// The mock's test account: secret API key (a secret the suite looks for in outputs).
pub const SECRET_KEY: &str = DEFAULT_STRIPE_SECRET_KEY;
/// The mock's test account: webhook signing secret (a secret too).
pub const WEBHOOK_SECRET: &str = DEFAULT_STRIPE_WEBHOOK_SECRET;
/// The signature header.
pub const SIGNATURE_HEADER: &str = "stripe-signature";
/// The largest session total the mock accepts.
pub const MAX_TOTAL: u64 = 99_999_999;

mock_side! {
    /// A mock bank serving the Stripe-like protocol, on `127.0.0.1:0`, with its clock fixed at `now`.
    MockStripeLike
}

impl MockStripeLike {
    /// `http://127.0.0.1:PORT/`: the API base.
    pub fn api_base(&self) -> Url {
        crate::base_url(self.bank.base_url())
    }

    async fn session(&self, id: &str) -> Result<serde_json::Value, String> {
        let url = format!("{}/v1/checkout/sessions/{id}", self.bank.base_url());
        page::read_json(self.http.get(url).bearer_auth(SECRET_KEY), "session").await
    }
}

#[async_trait::async_trait]
impl BankSide for MockStripeLike {
    mock_side_methods!("mock-stripe-like", StripeLike);

    async fn listen(&self, notify_url: &Url) -> Result<(), String> {
        let accepted = self
            .bank
            .set_stripe_webhook_url(SECRET_KEY, notify_url.as_str());
        page::registered(accepted, "webhook endpoint", notify_url)
    }

    async fn open(&self, redirect: &Redirect) -> Result<Page, Refusal> {
        let opened = page::open_api_page(&self.http, redirect, "/c/pay/").await?;
        let session = self.session(&opened.handle).await;
        opened.read("session", session, |s| {
            let currency = s["currency"].as_str()?.to_ascii_uppercase();
            Some((
                s["amount_total"].as_u64()?,
                Currency::from_alpha(&currency).ok()?,
            ))
        })
    }

    fn signed_fields(&self, _redirect: &Redirect) -> Vec<String> {
        // The session was created over the authenticated API: the redirect is a plain URL.
        Vec::new()
    }

    async fn complete(&self, page: &Page, outcome: OutcomeKind) -> Result<Completion, BankError> {
        let base = self.bank.base_url();
        let card = match outcome {
            OutcomeKind::Accepted => cards::ACCEPTED,
            // A delayed payment that fails: a verdict on the session, with its decline code.
            OutcomeKind::Refused => cards::DELAYED_FAILS,
            OutcomeKind::Pending => cards::DELAYED_SUCCEEDS,
            OutcomeKind::Cancelled => {
                let resp = self
                    .http
                    .post(format!(
                        "{base}/v1/checkout/sessions/{}/expire",
                        page.handle
                    ))
                    .bearer_auth(SECRET_KEY)
                    .send()
                    .await
                    .map_err(|e| BankError::Failed(format!("expire: {e}")))?;
                if !resp.status().is_success() {
                    return Err(BankError::Failed(format!(
                        "expire answered HTTP {}",
                        resp.status()
                    )));
                }
                return Ok(Completion {
                    expected_code: None,
                    channel: Channel::ServerToServer,
                });
            }
            _ => return Err(BankError::Unsupported("this outcome")),
        };
        let form = [
            ("email", "jeanne@example.fr"),
            ("card", card),
            ("exp", crate::TEST_CARD_EXPIRY),
            ("cvc", "123"),
            ("action", "pay"),
        ];
        let url = format!("{base}/c/pay/{}", page.handle);
        page::post_form(&self.http, url, &form, |s| s.is_success()).await?;
        Ok(Completion {
            expected_code: (outcome == OutcomeKind::Refused)
                .then(|| tpe_mock_bank::stripe_like::DELAYED_FAILURE_CODE.to_owned()),
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
        let part = |name: &str| {
            value
                .split(',')
                .find_map(|p| p.strip_prefix(name).and_then(|p| p.strip_prefix('=')))
                .unwrap_or_default()
                .to_owned()
        };
        let (t, v1) = (part("t"), part("v1"));
        let with = |values: &[&str]| {
            let mut c = genuine.clone();
            c.headers.remove(SIGNATURE_HEADER);
            for v in values {
                if let Ok(v) = HeaderValue::from_str(v) {
                    c.headers.append(SIGNATURE_HEADER, v);
                }
            }
            c
        };
        match forgery {
            Forgery::Missing => vec![with(&[])],
            Forgery::Empty => vec![with(&[""]), with(&[&format!("t={t},v1=")])],
            Forgery::Duplicated => vec![with(&[&value, &value])],
            Forgery::BadlyEncoded => vec![
                with(&[&format!("t={t},v1={}", "zz".repeat(32))]),
                with(&[&format!("t={t},v1={}", &v1[..v1.len().saturating_sub(1)])]),
                with(&[&format!("t=not-a-time,v1={v1}")]),
                with(&[&format!("t={t};v1={v1}")]),
            ],
        }
    }

    fn signature_headers(&self) -> &'static [&'static str] {
        &[SIGNATURE_HEADER]
    }

    fn currencies(&self) -> Vec<Currency> {
        // The mock takes any lower-case ISO 4217 code; these are the ones the suite uses.
        crate::fixtures::ANY_CODE_CURRENCIES.to_vec()
    }

    fn max_amount(&self, _currency: Currency) -> u64 {
        MAX_TOTAL
    }

    fn expected_ack(&self) -> ExpectedAck {
        // Any 2xx acknowledges; the body is ignored (spec §A.6).
        ExpectedAck::status(200..=299)
    }
}
