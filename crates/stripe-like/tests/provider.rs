//! Startup checks, secrets kept out of output, and the provider as `Arc<dyn PaymentProvider>`.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{at, raw};
use tpe_core::{PaymentProvider, ProviderError, ReasonKind, Verified};
use tpe_stripe_like::{ApiTimeouts, Mode, StripeLike, StripeLikeConfig, generate_test_header};

const KEY: &str = "sk_test_TEST_SECRET_KEY_42";
const WHSEC: &str = "whsec_TEST_WEBHOOK_SECRET_42";

fn config() -> StripeLikeConfig {
    StripeLikeConfig::new(Mode::Test, KEY, [WHSEC])
}

fn config_err(cfg: StripeLikeConfig) -> String {
    match StripeLike::new(cfg) {
        Err(e @ ProviderError::Config { .. }) => e.to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn configuration_is_checked_at_startup() {
    assert!(StripeLike::new(config()).is_ok());
    let live = StripeLike::new(StripeLikeConfig::new(Mode::Live, "sk_live_abc", [WHSEC])).unwrap();
    assert_eq!(live.mode(), Mode::Live);
    let e = config_err(StripeLikeConfig::new(Mode::Live, KEY, [WHSEC]));
    assert!(e.contains("test key but mode is live"), "{e}");
    let e = config_err(StripeLikeConfig::new(Mode::Test, "sk_live_abc", [WHSEC]));
    assert!(e.contains("live key but mode is test"), "{e}");
    config_err(StripeLikeConfig::new(Mode::Test, "pk_test_abc", [WHSEC]));
    config_err(StripeLikeConfig::new(Mode::Test, KEY, Vec::<String>::new()));
    config_err(StripeLikeConfig::new(Mode::Test, KEY, [""]));
    config_err(config().with_tolerance_secs(0));
    config_err(config().with_tolerance_secs(86_401));
    config_err(config().with_timeouts(Duration::ZERO, Duration::from_secs(1)));
    config_err(config().with_api_version("2024 06"));
    // Plain http only in test mode; no credentials, query or odd scheme.
    assert!(
        StripeLike::new(config().with_api_base("http://127.0.0.1:12111".parse().unwrap())).is_ok()
    );
    let live_http = StripeLikeConfig::new(Mode::Live, "sk_live_abc", [WHSEC])
        .with_api_base("http://psp.example".parse().unwrap());
    assert!(config_err(live_http).contains("https"));
    for base in [
        "ftp://psp.example",
        "https://u:p@psp.example",
        "https://psp.example/?a=1",
        "file:///tmp",
    ] {
        config_err(config().with_api_base(base.parse().unwrap()));
    }
}

#[test]
fn secrets_never_appear_in_debug_display_or_errors() {
    let cfg = config();
    let p = StripeLike::new(cfg.clone()).unwrap();
    let mut shown = format!("{cfg:?} {p:?} {:?}", p.verifier());
    // Errors of every kind this provider builds from input.
    let body =
        br#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"id":"cs_1"}}}"#;
    let header = generate_test_header(body, WHSEC, 1000);
    for (h, now) in [
        (Some(header.as_str()), 1000),
        (Some(header.as_str()), 5000),
        (None, 1000),
        (Some("t=1,v1=zz"), 1),
    ] {
        if let Err(e) = p.verify(&raw(h, body), at(now)) {
            shown.push_str(&format!(" {e} {e:?}"));
        }
    }
    let wrong_mode = StripeLike::new(StripeLikeConfig::new(Mode::Live, KEY, [WHSEC])).unwrap_err();
    shown.push_str(&format!(" {wrong_mode} {wrong_mode:?}"));
    let bad_secret = StripeLike::new(StripeLikeConfig::new(
        Mode::Test,
        KEY,
        ["whsec TEST_WEBHOOK_SECRET_42"],
    ))
    .unwrap_err();
    shown.push_str(&format!(" {bad_secret} {bad_secret:?}"));
    for secret in ["TEST_SECRET_KEY_42", "TEST_WEBHOOK_SECRET_42"] {
        assert!(!shown.contains(secret), "{secret} leaked in: {shown}");
    }
    assert!(
        shown.contains("Stale") && shown.contains("BadSignature") && shown.contains("Malformed")
    );
}

#[test]
fn works_as_a_shared_trait_object() {
    let p: Arc<dyn PaymentProvider> = Arc::new(StripeLike::new(config()).unwrap());
    assert_eq!(p.id(), StripeLike::ID);
    assert_eq!(p.id().as_str(), "stripe-like");
    let caps = p.profile().capabilities;
    assert!(caps.status_query && caps.refund && caps.partial_refund && caps.signed_timestamp);
    assert_eq!(p.profile().limits, tpe_core::NotificationLimits::JSON);
    assert!(!caps.capture && !caps.cancel);
    assert_eq!(
        p.classify("insufficient_funds").kind(),
        ReasonKind::InsufficientFunds
    );
    assert_eq!(p.classify("never_seen").kind(), ReasonKind::UnknownCode);
    for code in p.known_codes() {
        assert_ne!(p.classify(code).kind(), ReasonKind::UnknownCode, "{code}");
    }
    let body = br#"{"id":"evt_9","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}"#;
    let v = p
        .verify(
            &raw(Some(&generate_test_header(body, WHSEC, 1000)), body),
            at(1000),
        )
        .unwrap();
    assert!(matches!(&v, Verified::Ignored(i) if i.event_type == "charge.succeeded"));
    let ack = p.answer(&tpe_core::Handled::Processed(&v));
    assert_eq!(
        (ack.status, ack.content_type, &*ack.body),
        (200, "application/json", r#"{"received":true}"#)
    );
    // A forged event is refused with a non-2xx, so the PSP's genuine retries go on.
    let e = p
        .verify(
            &raw(Some(&generate_test_header(body, "whsec_other", 1000)), body),
            at(1000),
        )
        .unwrap_err();
    assert_eq!(p.answer(&tpe_core::Handled::Rejected(&e)).status, 401);
    assert_eq!(p.answer(&tpe_core::Handled::Unavailable).status, 503);
}

#[test]
fn config_from_environment_pairs_builds_a_provider() {
    let vars = [
        ("TPE_STRIPE_LIKE_MODE", "test"),
        ("TPE_STRIPE_LIKE_SECRET_KEY", KEY),
        ("TPE_STRIPE_LIKE_WEBHOOK_SECRETS", "whsec_new,whsec_old"),
        ("TPE_STRIPE_LIKE_API_BASE", "http://127.0.0.1:9"),
    ];
    let cfg = StripeLikeConfig::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    let p = StripeLike::new(cfg).unwrap();
    let body = br#"{"id":"evt_2","type":"x","data":{"object":{}}}"#;
    for s in ["whsec_new", "whsec_old"] {
        assert!(
            p.verify(&raw(Some(&generate_test_header(body, s, 7)), body), at(7))
                .is_ok()
        );
    }
}
