//! The shared provider conformance suite, against the mock bank's Stripe-like side.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use tpe_conformance::mock_stripe_like::{SECRET_KEY, WEBHOOK_SECRET};
use tpe_conformance::{Harness, MockStripeLike, fixtures};
use tpe_stripe_like::{DEFAULT_TOLERANCE_SECS, Mode, StripeLike, StripeLikeConfig};

async fn harness() -> Harness {
    let now = fixtures::now();
    let bank = MockStripeLike::spawn(now).await;
    let cfg = StripeLikeConfig::new(Mode::Test, SECRET_KEY, [WEBHOOK_SECRET])
        .with_api_base(bank.api_base());
    let provider = Arc::new(StripeLike::new(cfg).unwrap());
    Harness::new(provider, bank, now)
        .with_secrets([SECRET_KEY, WEBHOOK_SECRET])
        .with_currencies(tpe_conformance::fixtures::ANY_CODE_CURRENCIES)
        .with_tolerance_secs(DEFAULT_TOLERANCE_SECS)
}

tpe_conformance::provider_suite!(harness());
