//! The shared provider conformance suite, against the mock bank's Paybox side.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use secrecy::SecretString;
use tpe_conformance::mock_paybox::{HMAC_KEY, IDENTIFIANT, RANG, SITE};
use tpe_conformance::{Harness, MockPaybox, fixtures};
use tpe_core::{Currency, PaymentProvider};
use tpe_paybox::config::{Platform, PublicKeySource};
use tpe_paybox::{Paybox, PayboxConfig};

async fn harness() -> Harness {
    let now = fixtures::now();
    let bank = MockPaybox::spawn(now).await;
    let platform = Platform::at_base_url(&bank.base_url()).unwrap();
    let public_key = bank.public_key_pem().to_owned();
    // The contract has one currency: other currencies need another configuration.
    let build = move |currency: Currency| -> Arc<dyn PaymentProvider> {
        let mut cfg = PayboxConfig::new(SITE, RANG, IDENTIFIANT, SecretString::from(HMAC_KEY));
        cfg.platform = platform.clone();
        cfg.public_keys = vec![PublicKeySource::Pem(public_key.clone())];
        cfg.currency = currency;
        Arc::new(Paybox::new(cfg).unwrap())
    };
    Harness::new(build(Currency::EUR), bank, now)
        .with_secrets([HMAC_KEY])
        .with_currencies([Currency::EUR])
        .with_provider_for(move |currency| Some(build(currency)))
}

tpe_conformance::provider_suite!(harness());
