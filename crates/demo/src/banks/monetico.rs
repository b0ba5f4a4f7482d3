//! Monetico Paiement (CIC / Crédit Mutuel) against the mock bank's test TPE.

use std::sync::Arc;

use secrecy::SecretString;
use tpe_core::PaymentProvider;
use tpe_mock_bank::{
    MONETICO_TEST_KEY, MONETICO_TEST_SOCIETE, MONETICO_TEST_TPE, RunningBank, monetico::cards,
};
use tpe_monetico::MoneticoConfig;

use super::DemoBank;
use crate::demo::base_url;
use crate::error::DemoError;
use crate::tour::Story;

/// Too short to be a card number: the page asks again, and nothing is notified.
const MISTYPED: &str = "4970 1000";

pub(super) struct Monetico;

#[async_trait::async_trait]
impl DemoBank for Monetico {
    /// The mock's test page (`test/paiement.cgi`: returns say `payetest`).
    fn provider(&self, bank: &RunningBank) -> Result<Arc<dyn PaymentProvider>, DemoError> {
        let cfg = MoneticoConfig::new(
            MONETICO_TEST_TPE,
            MONETICO_TEST_SOCIETE,
            SecretString::from(MONETICO_TEST_KEY),
        )
        .with_base_url(base_url(bank.base_url())?);
        Ok(Arc::new(tpe_monetico::Monetico::new(cfg)?))
    }

    /// The confirmation (CGI2) URL is registered on the TPE by Monetico, not sent in the form.
    fn register(&self, bank: &RunningBank, notify: &str) -> Option<bool> {
        Some(bank.set_monetico_cgi2_url(MONETICO_TEST_TPE, notify))
    }

    // No pending verdict: a late authorization (refused, then authorized) stands for one.
    super::test_cards! { cards::ACCEPTED, cards::REFUSED,
    cards::LATE_AUTHORIZATION, cards::REFUSED, MISTYPED }

    fn instalments(&self) -> Option<tpe_mock_bank::Side> {
        Some(tpe_mock_bank::Side::Monetico)
    }

    fn cannot_play(&self, story: Story) -> Option<&'static str> {
        match story {
            Story::PendingThenAccepted | Story::PendingThenRefused => Some(
                "Monetico has no pending verdict: a refusal (Annulation) may be followed by an authorization, which is a refusal then an acceptance",
            ),
            Story::TwoTriesSamePage => {
                Some("Monetico does not notify a mistyped card: the page asks again")
            }
            Story::LostThenReconciled => {
                Some("Monetico has no status query documented (spec C.9): nothing to reconcile with")
            }
            _ => None,
        }
    }
}
