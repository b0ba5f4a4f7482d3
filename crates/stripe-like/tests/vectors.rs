//! Known-answer tests from the spec's `stripe` vectors (tests/data/stripe-vectors.json).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::{at, raw, vector};
use tpe_core::{Amount, BankOutcome, Currency, PaymentProvider, ProviderError, Verified};
use tpe_stripe_like::{
    CaptureMethod, CheckoutSessionParams, LineItem, Mode, SignatureError, StripeLike,
    StripeLikeConfig, WebhookVerifier, encode_pairs, generate_test_header,
};

fn provider(secrets: &[&str]) -> StripeLike {
    StripeLike::new(StripeLikeConfig::new(
        Mode::Test,
        "sk_test_vectors",
        secrets.iter().copied(),
    ))
    .unwrap()
}

fn s<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v[k].as_str().unwrap()
}

#[test]
fn generated_header_equals_the_published_one() {
    let v = vector("webhook_checkout_session_completed");
    let t = v["timestamp"].as_i64().unwrap();
    let header = generate_test_header(s(&v, "payload").as_bytes(), s(&v, "secret"), t);
    assert_eq!(header, s(&v, "header"));
    assert!(header.ends_with(s(&v, "expected_v1")));
    assert_eq!(s(&v, "signed_payload"), format!("{t}.{}", s(&v, "payload")));
}

#[test]
fn published_headers_verify_and_map_to_an_accepted_payment() {
    let v = vector("webhook_checkout_session_completed");
    let p = provider(&[s(&v, "secret")]);
    let now = at(v["accept_at_unix_time"].as_i64().unwrap());
    for h in ["header", "header_with_multiple_signatures"] {
        let verified = p
            .verify(&raw(Some(s(&v, h)), s(&v, "payload").as_bytes()), now)
            .unwrap();
        let Verified::Payment(n) = verified else {
            panic!("{verified:?}")
        };
        assert_eq!(n.bank_reference.as_str(), "order-1042");
        assert_eq!(n.bank_transaction_id, "cs_test_a1b2c3");
        assert_eq!(n.amount, Amount::new(4200, Currency::EUR).unwrap());
        assert_eq!(
            n.outcome,
            BankOutcome::Accepted {
                authorization: None
            }
        );
        assert_eq!(n.event_id.as_deref(), Some("evt_test_0001"));
    }
}

#[test]
fn tampered_body_is_refused() {
    let v = vector("webhook_checkout_session_completed");
    let p = provider(&[s(&v, "secret")]);
    let now = at(v["timestamp"].as_i64().unwrap());
    let e = p
        .verify(
            &raw(
                Some(s(&v, "header")),
                s(&v, "tampered_payload_must_fail").as_bytes(),
            ),
            now,
        )
        .unwrap_err();
    assert!(matches!(e, ProviderError::BadSignature { .. }), "{e:?}");
    // Any single flipped byte of the body or of the signature is refused.
    let body = s(&v, "payload").as_bytes();
    for i in [0, body.len() / 2, body.len() - 1] {
        let mut b = body.to_vec();
        b[i] ^= 1;
        assert!(matches!(
            p.verify(&raw(Some(s(&v, "header")), &b), now),
            Err(ProviderError::BadSignature { .. })
        ));
    }
    let mut h = s(&v, "header").to_owned();
    let last = h.pop().unwrap();
    h.push(if last == '0' { '1' } else { '0' });
    assert!(matches!(
        p.verify(&raw(Some(&h), body), now),
        Err(ProviderError::BadSignature { .. })
    ));
}

#[test]
fn wrong_secret_missing_or_garbled_header_are_refused() {
    let v = vector("webhook_checkout_session_completed");
    let body = s(&v, "payload").as_bytes();
    let now = at(v["timestamp"].as_i64().unwrap());
    let wrong = provider(&["whsec_some_other_secret"]);
    assert!(matches!(
        wrong.verify(&raw(Some(s(&v, "header")), body), now),
        Err(ProviderError::BadSignature { .. })
    ));
    let p = provider(&[s(&v, "secret")]);
    assert!(matches!(
        p.verify(&raw(None, body), now),
        Err(ProviderError::BadSignature { .. })
    ));
    for garbled in [
        "",
        "garbage",
        "t=abc,v1=00",
        "v1=e49f",
        "t=1735689600",
        "t=1735689600,v0=abc",
    ] {
        let e = p.verify(&raw(Some(garbled), body), now).unwrap_err();
        assert!(e.is_rejection(), "{garbled}: {e:?}");
        assert!(matches!(
            e,
            ProviderError::BadSignature { .. } | ProviderError::Malformed { .. }
        ));
    }
    // Two headers: refused rather than picking one.
    let mut headers = http::HeaderMap::new();
    headers.append("stripe-signature", s(&v, "header").parse().unwrap());
    headers.append("stripe-signature", "t=1,v1=00".parse().unwrap());
    let twice = tpe_core::RawNotification::new(
        tpe_core::HttpMethod::Post,
        "",
        body.to_vec(),
        headers,
        None,
    )
    .unwrap();
    assert!(p.verify(&twice, now).unwrap_err().is_rejection());
}

#[test]
fn tolerance_is_applied_in_the_past_and_in_the_future() {
    let v = vector("webhook_checkout_session_completed");
    let p = provider(&[s(&v, "secret")]);
    let body = s(&v, "payload").as_bytes();
    let t = v["timestamp"].as_i64().unwrap();
    let check = |now: i64| p.verify(&raw(Some(s(&v, "header")), body), at(now));
    assert!(check(v["accept_at_unix_time"].as_i64().unwrap()).is_ok());
    match check(v["reject_at_unix_time"].as_i64().unwrap()) {
        Err(ProviderError::Stale {
            age_secs: 301,
            tolerance_secs: 300,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(check(t - 300).is_ok());
    match check(t - 301) {
        Err(ProviderError::Stale { age_secs: -301, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn multi_v1_rotation_with_several_secrets() {
    let v = vector("webhook_checkout_session_completed");
    let body = s(&v, "payload").as_bytes();
    let t = v["timestamp"].as_i64().unwrap();
    // The endpoint is configured with the new and the old secret; the PSP signs with both.
    let p = provider(&["whsec_new_one", s(&v, "secret")]);
    let new_sig = generate_test_header(body, "whsec_new_one", t);
    let old_sig = s(&v, "header");
    let both = format!("{old_sig},v1={}", &new_sig["t=1735689600,v1=".len()..]);
    for h in [new_sig.as_str(), old_sig, both.as_str()] {
        assert!(p.verify(&raw(Some(h), body), at(t)).is_ok(), "{h}");
    }
    // Only the retired secret signs: refused by an endpoint that dropped it.
    let only_new = provider(&["whsec_new_one"]);
    assert!(only_new.verify(&raw(Some(old_sig), body), at(t)).is_err());
    // The verifier alone says why.
    let verifier = WebhookVerifier::new(["whsec_new_one"], 300).unwrap();
    assert_eq!(
        verifier.verify(Some(old_sig.as_bytes()), body, at(t)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn checkout_session_form_pairs_match_the_sdk_encoder() {
    let v = vector("checkout_session_create_form_pairs");
    let expected: Vec<(String, String)> = v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut params = CheckoutSessionParams::new(
        "https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}"
            .parse()
            .unwrap(),
    );
    params.cancel_url = Some("https://shop.example.com/cart".parse().unwrap());
    params.client_reference_id = Some("order-1042".into());
    params.customer_email = Some("buyer@example.com".into());
    params.line_items.push(LineItem {
        name: "Order 1042".into(),
        unit_amount: Amount::new(4200, Currency::EUR).unwrap(),
        quantity: 1,
    });
    params.metadata.push(("order_id".into(), "1042".into()));
    params
        .payment_intent_metadata
        .push(("order_id".into(), "1042".into()));
    params.capture_method = Some(CaptureMethod::Automatic);
    assert_eq!(params.form_pairs(), expected);
    // The body decodes back to the same pairs, in order.
    let body = params.encode();
    assert!(body.starts_with("mode=payment&success_url=https%3A%2F%2Fshop.example.com%2Fsuccess%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D&"));
    assert!(body.contains("&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=eur&"));
    let decoded: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(decoded, expected);
    assert_eq!(encode_pairs(&expected), body);
}

#[test]
fn session_for_a_checkout() {
    let req = common::request("REF-42", 1999);
    let pairs = CheckoutSessionParams::for_request(&req)
        .unwrap()
        .form_pairs();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("mode"), Some("payment"));
    assert_eq!(get("success_url"), Some("https://shop.example/ok"));
    assert_eq!(get("cancel_url"), Some("https://shop.example/cart"));
    assert_eq!(get("client_reference_id"), Some("REF-42"));
    assert_eq!(get("customer_email"), Some("jeanne@example.fr"));
    assert_eq!(get("line_items[0][quantity]"), Some("1"));
    assert_eq!(get("line_items[0][price_data][currency]"), Some("eur"));
    assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("1999"));
    assert_eq!(
        get("line_items[0][price_data][product_data][name]"),
        Some("Commande 1042")
    );
    assert_eq!(get("metadata[tpe_reference]"), Some("REF-42"));
    assert_eq!(
        get("payment_intent_data[metadata][tpe_reference]"),
        Some("REF-42")
    );
    assert_eq!(get("locale"), Some("fr"));
    assert_eq!(get("payment_intent_data[capture_method]"), None);
    let zero = common::request("REF-0", 0);
    assert!(matches!(
        CheckoutSessionParams::for_request(&zero),
        Err(ProviderError::InvalidRequest { .. })
    ));
}

/// The event is read while its MAC is computed, but the signature is judged first: a broken
/// body under a wrong signature is a bad signature, and only a signed one is malformed.
#[test]
fn the_signature_is_judged_before_the_event() {
    let v = vector("webhook_checkout_session_completed");
    let t = v["timestamp"].as_i64().unwrap();
    let now = at(t);
    let p = provider(&["whsec_old_one", s(&v, "secret")]);
    let payload = s(&v, "payload");
    for body in [&payload[..payload.len() / 2], "not json", "[1,2]", ""] {
        let wrong = generate_test_header(body.as_bytes(), "whsec_unknown", t);
        let e = p.verify(&raw(Some(&wrong), body.as_bytes()), now);
        assert!(
            matches!(e, Err(ProviderError::BadSignature { .. })),
            "{body}: {e:?}"
        );
        let signed = generate_test_header(body.as_bytes(), s(&v, "secret"), t);
        let e = p.verify(&raw(Some(&signed), body.as_bytes()), now);
        assert!(
            matches!(e, Err(ProviderError::Malformed { .. })),
            "{body}: {e:?}"
        );
    }
    // The whole event, signed by the second secret (rotation) or stale.
    let signed = generate_test_header(payload.as_bytes(), s(&v, "secret"), t);
    assert!(matches!(
        p.verify(&raw(Some(&signed), payload.as_bytes()), now),
        Ok(Verified::Payment(_))
    ));
    let stale = generate_test_header(payload.as_bytes(), s(&v, "secret"), t - 301);
    assert!(matches!(
        p.verify(&raw(Some(&stale), payload.as_bytes()), now),
        Err(ProviderError::Stale { .. })
    ));
}
