//! The shared provider conformance suite, against the mock bank's Monetico side.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use secrecy::SecretString;
use tpe_conformance::mock_monetico::{KEY, SOCIETE, TPE};
use tpe_conformance::{Harness, MockMonetico, fixtures};
use tpe_core::{Currency, PaymentProvider};
use tpe_monetico::{Monetico, MoneticoConfig};

async fn harness() -> Harness {
    let now = fixtures::now();
    let bank = MockMonetico::spawn(now).await;
    let base = bank.base_url();
    // The contract has one currency: other currencies need another configuration.
    let build = move |currency: Currency| -> Option<Arc<dyn PaymentProvider>> {
        let mut cfg =
            MoneticoConfig::new(TPE, SOCIETE, SecretString::from(KEY)).with_base_url(base.clone());
        cfg.currency = currency;
        // `montant` has at most two decimals: no configuration takes BHD.
        Monetico::new(cfg)
            .ok()
            .map(|m| Arc::new(m) as Arc<dyn PaymentProvider>)
    };
    Harness::new(build(Currency::EUR).unwrap(), bank, now)
        .with_secrets([KEY])
        .with_currencies([Currency::EUR])
        .with_provider_for(build)
}

tpe_conformance::provider_suite!(harness());
