//! The provider through its public API: handshake, header rules, bank references, the request
//! body, configuration errors, and secrets never shown.
#![allow(clippy::unwrap_used)]

mod common;

use common::{now, post, provider_with, request};
use tpe_core::{
    Amount, Currency, HttpMethod, PaymentProvider, PaymentReference, ProviderError,
    RawNotification, Verified,
};
use tpe_worldline::{
    ApiTimeouts, AuthorizationMode, WebhookKey, Worldline, WorldlineConfig, hosted_checkout_body,
    webhook_signature,
};

const BODY: &str = r#"{"apiVersion":"v1","id":"ev-9","type":"payment.captured","payment":{"id":"42_0","paymentOutput":{"amountOfMoney":{"amount":4200,"currencyCode":"EUR"},"references":{"merchantReference":"20261129-000007"}},"status":"CAPTURED","statusOutput":{"statusCode":9}}}"#;

fn get(header: Option<&str>) -> RawNotification {
    let mut headers = http::HeaderMap::new();
    if let Some(h) = header {
        headers.insert("X-GCS-Webhooks-Endpoint-Verification", h.parse().unwrap());
    }
    RawNotification::new(HttpMethod::Get, "", Vec::new(), headers, None).unwrap()
}

#[test]
fn endpoint_verification_is_echoed() {
    let p = provider_with([WebhookKey::new("k", "s")]);
    let Verified::Handshake(ack) = p.verify(&get(Some("abc-123 xyz")), now()).unwrap() else {
        panic!()
    };
    assert_eq!((ack.status, &*ack.body), (200, "abc-123 xyz"));
    assert!(ack.content_type.starts_with("text/plain"));
    let Verified::Handshake(ack) = p.verify(&get(None), now()).unwrap() else {
        panic!()
    };
    assert_eq!((ack.status, &*ack.body), (200, ""));
    assert!(p.verify(&get(Some(&"x".repeat(257))), now()).is_err());
}

#[test]
fn a_signed_capture_is_a_paid_notification() {
    let p = provider_with([WebhookKey::new("k", "s")]);
    let sig = webhook_signature("s", BODY.as_bytes());
    let Verified::Payment(n) = p
        .verify(&post(Some("k"), Some(&sig), BODY.as_bytes()), now())
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(n.bank_reference.as_str(), "20261129-000007");
    assert_eq!(n.bank_transaction_id, "42_0");
    assert_eq!(n.amount, Amount::new(4200, Currency::EUR).unwrap());
}

#[test]
fn missing_repeated_or_badly_encoded_headers_are_refused() {
    let p = provider_with([WebhookKey::new("k", "s")]);
    let sig = webhook_signature("s", BODY.as_bytes());
    let b = BODY.as_bytes();
    let bad_sig = |r: RawNotification| {
        matches!(
            p.verify(&r, now()),
            Err(ProviderError::BadSignature { .. } | ProviderError::Malformed { .. })
        )
    };
    assert!(bad_sig(post(None, Some(&sig), b)));
    assert!(bad_sig(post(Some("k"), None, b)));
    assert!(bad_sig(post(Some("k"), Some(""), b)));
    assert!(bad_sig(post(Some("k"), Some(&sig[..43]), b)));
    let mut twice = post(Some("k"), Some(&sig), b);
    let mut headers = twice.headers().clone();
    headers.append("x-gcs-signature", sig.parse().unwrap());
    twice = RawNotification::new(HttpMethod::Post, "", b.to_vec(), headers, None).unwrap();
    assert!(bad_sig(twice));
    // Signed with another secret of the same key id.
    let other = webhook_signature("t", b);
    assert!(matches!(
        p.verify(&post(Some("k"), Some(&other), b), now()),
        Err(ProviderError::BadSignature { .. })
    ));
}

#[test]
fn bank_references_are_of_the_day_and_the_nonce() {
    let p = provider_with([WebhookKey::new("k", "s")]);
    let r = PaymentReference::parse("order-1").unwrap();
    let a = p.bank_reference(&r, now(), 1).unwrap();
    let b = p.bank_reference(&r, now(), 2).unwrap();
    assert_eq!(a.as_str(), "20261129-000001");
    assert_ne!(a, b);
    assert_eq!(p.profile().nonce, tpe_core::NonceSource::DailySequence);
    let big = p.bank_reference(&r, now(), u64::MAX).unwrap();
    assert!(big.as_str().len() <= tpe_worldline::MAX_MERCHANT_REFERENCE);
}

#[test]
fn the_request_body_carries_what_3ds_needs() {
    let r = request("order-1042", 4200)
        .with_bank_reference(tpe_core::BankReference::parse("20261129-000007").unwrap());
    let b = hosted_checkout_body(&r, AuthorizationMode::Sale).unwrap();
    assert_eq!(b["order"]["amountOfMoney"]["amount"], 4200);
    assert_eq!(b["order"]["amountOfMoney"]["currencyCode"], "EUR");
    assert_eq!(
        b["order"]["references"]["merchantReference"],
        "20261129-000007"
    );
    assert_eq!(b["order"]["references"]["merchantParameters"], "order-1042");
    let c = &b["order"]["customer"];
    assert!(
        c["contactDetails"]["emailAddress"]
            .as_str()
            .unwrap()
            .contains('@')
    );
    assert!(c["billingAddress"]["countryCode"].as_str().unwrap().len() == 2);
    assert!(c["personalInformation"]["name"]["surname"].is_string());
    assert_eq!(b["hostedCheckoutSpecificInput"]["locale"], "fr_FR");
    assert_eq!(
        b["hostedCheckoutSpecificInput"]["returnUrl"],
        "https://shop.example/ok"
    );
    assert_eq!(
        b["feedbacks"]["webhooksUrls"][0],
        "https://shop.example/notify"
    );
    assert_eq!(
        b["cardPaymentMethodSpecificInput"]["authorizationMode"],
        "SALE"
    );
    let bad = request("order-1042", 4200)
        .with_bank_reference(tpe_core::BankReference::parse("a.b").unwrap());
    assert!(hosted_checkout_body(&bad, AuthorizationMode::Sale).is_err());
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_call() {
    // An unreachable base URL: an error other than InvalidRequest would mean a call was made.
    let cfg = WorldlineConfig::new("PSPID1", "k", "s", [WebhookKey::new("w", "x")])
        .with_base_url("http://127.0.0.1:9/".parse().unwrap());
    let p = Worldline::new(cfg).unwrap();
    for minor in [0, tpe_worldline::MAX_AMOUNT + 1] {
        let e = p
            .prepare(&request("order-1", minor), now())
            .await
            .unwrap_err();
        assert!(matches!(e, ProviderError::InvalidRequest { .. }), "{e:?}");
    }
    let e = p
        .prepare(&request("order-1", 100), now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Transport {
                retryable: true,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn bad_configurations_name_the_setting_and_hide_secrets() {
    let ok = || {
        WorldlineConfig::new(
            "PSPID1",
            "key",
            "SECRETVALUE",
            [WebhookKey::new("w", "SECRETVALUE")],
        )
    };
    let cases: Vec<(WorldlineConfig, &str)> = vec![
        (
            WorldlineConfig::new("PSP/1", "key", "SECRETVALUE", [WebhookKey::new("w", "x")]),
            "merchant_id",
        ),
        (
            WorldlineConfig::new("PSP1", "", "SECRETVALUE", [WebhookKey::new("w", "x")]),
            "api_key_id",
        ),
        (
            WorldlineConfig::new("PSP1", "k", "SECRET VALUE", [WebhookKey::new("w", "x")]),
            "api_secret",
        ),
        (
            WorldlineConfig::new("PSP1", "k", "SECRETVALUE", []),
            "webhook",
        ),
        (
            WorldlineConfig::new("PSP1", "k", "s", [WebhookKey::new("w", "SECRET VALUE")]),
            "webhook",
        ),
        (
            ok().with_base_url("http://psp.example/".parse().unwrap()),
            "base_url",
        ),
        (
            ok().with_base_url("https://u:p@psp.example/".parse().unwrap()),
            "base_url",
        ),
        (
            ok().with_timeouts(std::time::Duration::ZERO, std::time::Duration::from_secs(1)),
            "timeout",
        ),
    ];
    for (cfg, setting) in cases {
        let e = Worldline::new(cfg).unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(text.contains(setting), "{text}");
        assert!(
            !text.contains("SECRETVALUE") && !text.contains("SECRET VALUE"),
            "{text}"
        );
    }
    let p = Worldline::new(ok()).unwrap();
    assert!(!format!("{p:?}").contains("SECRETVALUE"));
    let cfg = format!("{:?}", ok());
    assert!(!cfg.contains("SECRETVALUE"), "{cfg}");
}
