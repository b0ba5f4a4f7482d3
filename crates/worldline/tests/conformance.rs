//! The shared provider conformance suite, against the mock bank's Worldline Direct side.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use tpe_conformance::mock_worldline::{
    API_KEY_ID, API_SECRET, MERCHANT_ID, WEBHOOK_KEY_ID, WEBHOOK_SECRET,
};
use tpe_conformance::{Harness, MockWorldline, fixtures};
use tpe_worldline::{WebhookKey, Worldline, WorldlineConfig};

async fn harness() -> Harness {
    let now = fixtures::now();
    let bank = MockWorldline::spawn(now).await;
    let cfg = WorldlineConfig::new(
        MERCHANT_ID,
        API_KEY_ID,
        API_SECRET,
        [WebhookKey::new(WEBHOOK_KEY_ID, WEBHOOK_SECRET)],
    )
    .with_base_url(bank.base_url());
    let provider = Arc::new(Worldline::new(cfg).unwrap());
    Harness::new(provider, bank, now)
        .with_secrets([API_SECRET, WEBHOOK_SECRET])
        .with_currencies(tpe_conformance::fixtures::ANY_CODE_CURRENCIES)
}

tpe_conformance::provider_suite!(harness());
