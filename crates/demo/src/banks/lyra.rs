//! Lyra (Systempay, PayZen, Scellius, Sogecommerce) against the mock bank's test shop, with
//! the REST API for reconciliation and refunds.

use std::sync::Arc;

use secrecy::SecretString;
use tpe_core::PaymentProvider;
use tpe_lyra::{Brand, LyraConfig, RestConfig};
use tpe_mock_bank::{LYRA_REST_PASSWORD, LYRA_TEST_KEY, LYRA_TEST_SITE_ID, RunningBank, lyra::cards};

use super::DemoBank;
use crate::demo::base_url;
use crate::error::DemoError;
use crate::tour::Story;

/// Not a card number: the page asks again, and nothing is notified.
const MISTYPED: &str = "4970 1000";

pub(super) struct Lyra;

#[async_trait::async_trait]
impl DemoBank for Lyra {
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

    super::test_cards! { cards::ACCEPTED, cards::INSUFFICIENT_FUNDS,
    cards::PENDING_THEN_ACCEPTED, cards::PENDING_THEN_REFUSED, MISTYPED }

    fn instalments(&self) -> Option<tpe_mock_bank::Side> {
        Some(tpe_mock_bank::Side::Lyra)
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
