//! The Monetico side of the mock bank as a [`BankSide`]: the page of form version 3.0, its test
//! cards, the confirmation (CGI2) URL registered for the TPE, scripts and journal; the signature
//! is the `MAC` field, last of the return's form.

use tpe_core::{Currency, OutcomeKind, Redirect};
use tpe_mock_bank::monetico::{RECEIVED, cards};
use tpe_mock_bank::{
    MONETICO_TEST_KEY, MONETICO_TEST_SOCIETE, MONETICO_TEST_TPE, Outcome, Scenario,
};
use url::Url;

use crate::bank::{
    BankError, BankSide, Captured, Channel, Completion, ExpectedAck, Forgery, Page, Refusal,
};
use crate::page;

/// The mock bank's Monetico test terminal: `TPE`.
pub const TPE: &str = MONETICO_TEST_TPE;
/// Its `societe`.
pub const SOCIETE: &str = MONETICO_TEST_SOCIETE;
/// Its 40-character security key: a secret the suite looks for in outputs.
pub const KEY: &str = MONETICO_TEST_KEY;
/// The largest amount the mock takes, in minor units (10 digits).
pub const MAX_AMOUNT: u64 = 9_999_999_999;
/// The answer the bank reads from a shop that refuses a return (spec C.6).
pub const NOT_RECEIVED: &str = "version=2\ncdr=1\n";
/// A `motifrefus` outside the published list, for the unclassified-outcome check.
pub const UNCLASSIFIED_MOTIF: &str = "motif_inconnu";

mock_side! {
    /// A mock bank serving the Monetico protocol, on `127.0.0.1:0`, with its clock fixed at `now`.
    MockMonetico
}

impl MockMonetico {
    /// `http://127.0.0.1:PORT/`: the host of `test/paiement.cgi` and `paiement.cgi`.
    pub fn base_url(&self) -> Url {
        crate::base_url(self.bank.base_url())
    }
}

#[async_trait::async_trait]
impl BankSide for MockMonetico {
    mock_side_methods!("mock-monetico", Monetico);

    async fn listen(&self, notify_url: &Url) -> Result<(), String> {
        // Monetico keeps the confirmation URL in the TPE's settings, not in the form.
        let accepted = self.bank.set_monetico_cgi2_url(TPE, notify_url.as_str());
        page::registered(accepted, "confirmation URL", notify_url)
    }

    async fn open(&self, redirect: &Redirect) -> Result<Page, Refusal> {
        page::open_form_page(&self.http, redirect, "/monetico/page/").await
    }

    fn signed_fields(&self, redirect: &Redirect) -> Vec<String> {
        // The MAC covers every posted field but itself (spec C.4).
        page::field_names(redirect, |k| k != "MAC")
    }

    async fn complete(&self, page: &Page, outcome: OutcomeKind) -> Result<Completion, BankError> {
        let (card, expected_code) = match outcome {
            OutcomeKind::Accepted => (cards::ACCEPTED, None),
            OutcomeKind::Refused => (cards::REFUSED, Some("Refus".to_owned())),
            OutcomeKind::Unclassified => {
                self.bank.script(
                    &page.reference,
                    Scenario::outcome(Outcome::Refuse {
                        code: UNCLASSIFIED_MOTIF.to_owned(),
                    }),
                );
                (cards::ACCEPTED, Some(UNCLASSIFIED_MOTIF.to_owned()))
            }
            // Monetico has no pending verdict, and a cancellation on its page is an
            // `Annulation`: a refusal, with no signed word of its own (spec C.5).
            _ => return Err(BankError::Unsupported("this outcome")),
        };
        let form = [
            ("numero", card),
            ("expiry", crate::TEST_CARD_EXPIRY),
            ("cvv", "123"),
            ("action", "pay"),
        ];
        let url = format!("{}/monetico/page/{}", self.bank.base_url(), page.handle);
        page::post_form(&self.http, url, &form, |s| s.is_success()).await?;
        Ok(Completion {
            expected_code,
            channel: Channel::ServerToServer,
        })
    }

    fn forge(&self, genuine: &Captured, forgery: Forgery) -> Vec<Captured> {
        let payload = genuine.payload();
        let Some(at) = payload.windows(5).rposition(|w| w == b"&MAC=") else {
            return Vec::new();
        };
        let data = &payload[..at];
        let mac = &payload[at + 5..];
        let join = |parts: &[&[u8]]| genuine.with_payload(parts.concat());
        match forgery {
            Forgery::Missing => vec![join(&[data])],
            Forgery::Empty => vec![join(&[data, b"&MAC="])],
            Forgery::Duplicated => vec![
                join(&[data, b"&MAC=", mac, b"&MAC=", mac]),
                join(&[b"MAC=", mac, b"&", data, b"&MAC=", mac]),
            ],
            Forgery::BadlyEncoded => vec![
                join(&[data, b"&MAC=%%%not-hex"]),
                join(&[data, b"&MAC=", &[b'z'; 40]]),
                join(&[data, b"&MAC=", &mac[..mac.len() / 2]]),
                join(&[data, b"&MAC=", mac, b"00"]),
            ],
        }
    }

    fn signature_headers(&self) -> &'static [&'static str] {
        &[]
    }

    fn currencies(&self) -> Vec<Currency> {
        vec![
            Currency::EUR,
            Currency::USD,
            Currency::GBP,
            Currency::CHF,
            Currency::JPY,
        ]
    }

    fn max_amount(&self, _currency: Currency) -> u64 {
        MAX_AMOUNT
    }

    fn expected_ack(&self) -> ExpectedAck {
        // Spec C.6: the body is read; HTTP 200.
        ExpectedAck::with_body(200..=200, RECEIVED)
    }

    fn expected_rejection(&self) -> ExpectedAck {
        ExpectedAck::with_body(400..=499, NOT_RECEIVED)
    }
}
