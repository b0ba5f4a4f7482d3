//! The shared provider conformance suite, against the mock bank's Lyra side: once with the
//! shop notified by `vads_*` IPNs, once in the REST V4 format (`kr-answer` signed with the REST
//! password). The same provider verifies both formats on one notification route.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use secrecy::SecretString;
use tpe_conformance::mock_lyra::{REST_PASSWORD, SITE_ID, TEST_KEY};
use tpe_conformance::{Harness, MockLyra, fixtures};
use tpe_core::{Currency, PaymentProvider};
use tpe_lyra::{Brand, Lyra, LyraConfig, RestConfig};

async fn harness(rest_ipn: bool) -> Harness {
    let now = fixtures::now();
    let bank = if rest_ipn {
        MockLyra::spawn_rest(now).await
    } else {
        MockLyra::spawn(now).await
    };
    let base = bank.base_url();
    // The contract has one currency: other currencies need another configuration.
    let build = move |currency: Currency| -> Arc<dyn PaymentProvider> {
        let mut cfg = LyraConfig::test(Brand::Systempay, SITE_ID, SecretString::from(TEST_KEY))
            .with_base_url(base.clone());
        cfg.currency = currency;
        cfg.rest = Some(RestConfig::new(SecretString::from(REST_PASSWORD)));
        Arc::new(Lyra::new(cfg).unwrap())
    };
    Harness::new(build(Currency::EUR), bank, now)
        .with_secrets([TEST_KEY, REST_PASSWORD])
        .with_currencies([Currency::EUR])
        .with_provider_for(move |currency| Some(build(currency)))
}

/// The `vads_*` IPN.
mod vads {
    tpe_conformance::provider_suite!(super::harness(false));
}

/// The REST V4 IPN.
mod rest {
    tpe_conformance::provider_suite!(super::harness(true));
}
