//! Lyra (Systempay, PayZen, Scellius, Sogecommerce) against the mock bank's test shop, with
//! the REST API for reconciliation and refunds.

use std::sync::Arc;

use secrecy::SecretString;
use tpe_core::{PaymentProvider, ProviderId};
use tpe_lyra::{Brand, LyraConfig, RestConfig};
use tpe_mock_bank::{LYRA_REST_PASSWORD, LYRA_TEST_KEY, LYRA_TEST_SITE_ID, RunningBank, lyra::cards};

use super::{Card, DemoBank, form_action};
use crate::demo::base_url;
use crate::error::DemoError;
use crate::tour::Story;

/// Not a card number: the page asks again, and nothing is notified.
const MISTYPED: &str = "4970 1000";

pub(super) struct Lyra;

#[async_trait::async_trait]
impl DemoBank for Lyra {
    fn id(&self) -> ProviderId {
        tpe_lyra::Lyra::ID
    }

    fn label(&self) -> &'static str {
        "Lyra (Systempay)"
    }

    /// The mock's test shop in TEST mode; the IPN URL travels in the signed form.
    fn provider(&self, bank: &RunningBank) -> Result<Arc<dyn PaymentProvider>, DemoError> {
        let mut cfg = LyraConfig::test(
            Brand::Systempay,
            LYRA_TEST_SITE_ID,
            SecretString::from(LYRA_TEST_KEY),
        )
        .with_base_url(base_url(bank.base_url())?);
        cfg.rest = Some(RestConfig::new(SecretString::from(LYRA_REST_PASSWORD)));
        Ok(Arc::new(tpe_lyra::Lyra::new(cfg)?))
    }

    fn card(&self, card: Card) -> &'static str {
        match card {
            Card::Accepted => cards::ACCEPTED,
            Card::Refused => cards::INSUFFICIENT_FUNDS,
            Card::PendingThenAccepted => cards::PENDING_THEN_ACCEPTED,
            Card::PendingThenRefused => cards::PENDING_THEN_REFUSED,
            Card::Mistyped => MISTYPED,
        }
    }

    fn instalments(&self) -> Option<tpe_mock_bank::Side> {
        Some(tpe_mock_bank::Side::Lyra)
    }

    fn card_form(&self, html: &str) -> Option<String> {
        form_action(html, "/lyra/page/")
    }

    fn card_fields<'a>(&self, number: &'a str) -> Vec<(&'static str, &'a str)> {
        vec![
            ("numero", number),
            ("expiry", "12/99"),
            ("cvv", "123"),
            ("action", "pay"),
        ]
    }

    fn cannot_play(&self, story: Story) -> Option<&'static str> {
        match story {
            Story::TwoTriesSamePage => Some(
                "Lyra does not notify a mistyped card (the page asks again), and a refusal ends the transaction id",
            ),
            _ => None,
        }
    }
}
