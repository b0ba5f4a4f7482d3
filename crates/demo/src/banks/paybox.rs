//! Paybox / Up2Pay e-Transactions against the mock bank's test merchant.

use std::sync::Arc;

use secrecy::SecretString;
use tpe_core::PaymentProvider;
use tpe_mock_bank::{PAYBOX_TEST_HMAC_KEY, RunningBank, paybox::cards};
use tpe_paybox::PayboxConfig;
use tpe_paybox::config::{IpnMethod, Platform, PublicKeySource};

use super::DemoBank;
use crate::demo::{PAYBOX_IDENTIFIANT, PAYBOX_RANG, PAYBOX_SITE, base_url};
use crate::error::DemoError;

/// The default `PBX_RETOUR` variables and `Z`: the instalment (`index-count`) a later
/// instalment's notification is about.
const RETOUR: &str = "M:M;R:R;T:T;S:S;A:A;E:E;C:C;N:N;J:J;D:D;Y:Y;F:F;G:G;v:v;Z:Z;K:K";

pub(super) struct Paybox;

#[async_trait::async_trait]
impl DemoBank for Paybox {
    /// Verifies with the mock's public key; notifications by POST, naming their instalment.
    fn provider(&self, bank: &RunningBank) -> Result<Arc<dyn PaymentProvider>, DemoError> {
        let base = base_url(bank.base_url())?;
        let platform = Platform::at_base_url(&base)
            .map_err(|e| DemoError::Tour(format!("mock bank URL {base}: {e}")))?;
        let cfg = PayboxConfig::new(PAYBOX_SITE, PAYBOX_RANG, PAYBOX_IDENTIFIANT, SecretString::from(PAYBOX_TEST_HMAC_KEY))
            .with_platform(platform)
            .with_public_keys(vec![PublicKeySource::Pem(
                bank.paybox_public_key_pem().to_owned(),
            )])
            .with_ipn_method(IpnMethod::Post)
            .with_retour(
                RETOUR
                    .parse()
                    .map_err(|e| DemoError::Tour(format!("PBX_RETOUR {RETOUR}: {e}")))?,
            );
        Ok(Arc::new(tpe_paybox::Paybox::new(cfg)?))
    }

    super::test_cards! { cards::ACCEPTED, cards::INSUFFICIENT_FUNDS,
    cards::PENDING_THEN_ACCEPTED, cards::PENDING_THEN_REFUSED, cards::INVALID_NUMBER }

    fn instalments(&self) -> Option<tpe_mock_bank::Side> {
        Some(tpe_mock_bank::Side::Paybox)
    }

}
