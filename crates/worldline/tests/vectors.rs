//! Every `worldline_gcs` vector of the spec (tests/data/worldline-vectors.json) through the
//! public API, and the bodies that must fail.
#![allow(clippy::unwrap_used)]

mod common;

use common::{now, post, provider_with, vectors};
use tpe_core::{
    Amount, BankOutcome, Currency, OutcomeKind, PaymentProvider, ProviderError, Verified,
};
use tpe_worldline::{
    WebhookKey, authorization, canonical_header_value, string_to_sign, webhook_signature,
};

fn s<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v[k].as_str().unwrap()
}

#[test]
fn every_vector_has_a_source_and_is_run() {
    let all = vectors();
    assert_eq!(all.len(), 6);
    let mut kinds = std::collections::BTreeMap::new();
    for v in &all {
        assert!(!s(v, "source").is_empty(), "{}", v["name"]);
        *kinds.entry(s(v, "kind").to_owned()).or_insert(0) += 1;
    }
    assert_eq!(kinds["webhook"], 2);
    assert_eq!(kinds["request_auth"], 3);
    assert_eq!(kinds["header_value_canonicalization"], 1);
}

#[test]
fn request_signing_vectors() {
    for v in vectors().iter().filter(|v| v["kind"] == "request_auth") {
        let headers: Vec<(String, String)> = v["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().into()))
            .collect();
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let to_sign = string_to_sign(s(v, "method"), &pairs, s(v, "canonical_resource")).unwrap();
        assert_eq!(to_sign, s(v, "string_to_sign"), "{}", v["name"]);
        let auth = authorization(s(v, "api_key_id"), s(v, "secret_api_key"), &to_sign).unwrap();
        assert_eq!(auth, s(v, "expected_authorization"), "{}", v["name"]);
        assert!(auth.ends_with(s(v, "expected_signature_b64")));
        // A changed byte of the string changes the signature.
        let other = to_sign.replacen('/', "//", 1);
        assert_ne!(
            authorization(s(v, "api_key_id"), s(v, "secret_api_key"), &other).unwrap(),
            auth
        );
    }
}

#[test]
fn header_value_canonicalization_vector() {
    let v = vectors()
        .into_iter()
        .find(|v| v["kind"] == "header_value_canonicalization")
        .unwrap();
    for case in v["cases"].as_array().unwrap() {
        let (input, expected) = (case[0].as_str().unwrap(), case[1].as_str().unwrap());
        assert_eq!(canonical_header_value(input), expected, "{input:?}");
    }
}

fn webhook(name: &str) -> serde_json::Value {
    vectors().into_iter().find(|v| v["name"] == name).unwrap()
}

#[test]
fn sdk_webhook_body_verifies_and_is_ignored() {
    let v = webhook("webhook_sdk_test_body");
    let body = s(&v, "body").as_bytes();
    assert_eq!(body.len(), 765);
    assert_eq!(
        webhook_signature(s(&v, "secret_key"), body),
        s(&v, "x_gcs_signature")
    );
    let p = provider_with([WebhookKey::new(s(&v, "key_id"), s(&v, "secret_key"))]);
    // payment.paid with no merchantReference: authentic, not one of our checkouts.
    match p
        .verify(
            &post(Some(s(&v, "key_id")), Some(s(&v, "x_gcs_signature")), body),
            now(),
        )
        .unwrap()
    {
        Verified::Ignored(i) => {
            assert_eq!(i.event_type, "payment.paid");
            assert_eq!(
                i.event_id.as_deref(),
                Some("8ee793f6-4553-4749-85dc-f2ef095c5ab0")
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The withheld cases of §G.12 rebuilt: one trailing newline, CRLF line endings, one field
/// changed — all must fail.
#[test]
fn changed_bodies_fail() {
    for name in [
        "webhook_sdk_test_body",
        "direct_event_pending_capture_own_secret",
    ] {
        let v = webhook(name);
        let p = provider_with([WebhookKey::new(s(&v, "key_id"), s(&v, "secret_key"))]);
        let body = s(&v, "body");
        let sig = s(&v, "x_gcs_signature");
        let tampered = if body.contains("\"amount\": 1000") {
            body.replacen("\"amount\": 1000", "\"amount\": 1001", 1)
        } else {
            body.replacen("\"amount\":1500", "\"amount\":1501", 1)
        };
        for changed in [format!("{body}\n"), body.replace('\n', "\r\n"), tampered] {
            assert_ne!(changed, body);
            let e = p
                .verify(
                    &post(Some(s(&v, "key_id")), Some(sig), changed.as_bytes()),
                    now(),
                )
                .unwrap_err();
            assert!(
                matches!(e, ProviderError::BadSignature { .. }),
                "{name}: {e:?}"
            );
        }
    }
}

#[test]
fn direct_event_parses_as_expected() {
    let v = webhook("direct_event_pending_capture_own_secret");
    let exp = &v["expected_parse"];
    let body = s(&v, "body").as_bytes();
    assert_eq!(
        webhook_signature(s(&v, "secret_key"), body),
        s(&v, "x_gcs_signature")
    );
    let p = provider_with([
        WebhookKey::new("older-key", "older-secret"),
        WebhookKey::new(s(&v, "key_id"), s(&v, "secret_key")),
    ]);
    let Verified::Payment(n) = p
        .verify(
            &post(Some(s(&v, "key_id")), Some(s(&v, "x_gcs_signature")), body),
            now(),
        )
        .unwrap()
    else {
        panic!("not a payment")
    };
    assert_eq!(n.event_id.as_deref(), exp["event_id"].as_str());
    assert_eq!(n.bank_transaction_id, s(exp, "payment_id"));
    assert_eq!(n.bank_reference.as_str(), s(exp, "merchant_reference"));
    let currency = Currency::from_alpha(s(exp, "currency")).unwrap();
    assert_eq!(
        n.amount,
        Amount::new(exp["amount"].as_u64().unwrap(), currency).unwrap()
    );
    // statusCode 5, "authorized": paid (authorized, to capture), with the authorisation code.
    assert_eq!(s(exp, "normalized"), "authorized");
    assert_eq!(exp["status_code"], 5);
    assert_eq!(n.outcome.kind(), OutcomeKind::Accepted);
    assert_eq!(
        n.outcome,
        BankOutcome::Accepted {
            authorization: Some("test123".into())
        }
    );
    assert_eq!(
        tpe_worldline::verdict(&exp["status_code"].to_string()),
        Some(tpe_worldline::Verdict::Paid)
    );
}

#[test]
fn flipped_bytes_of_body_signature_or_key_id_are_refused() {
    let v = webhook("direct_event_pending_capture_own_secret");
    let p = provider_with([WebhookKey::new(s(&v, "key_id"), s(&v, "secret_key"))]);
    let body = s(&v, "body").as_bytes();
    let sig = s(&v, "x_gcs_signature");
    let key = s(&v, "key_id");
    for i in 0..body.len() {
        let mut b = body.to_vec();
        b[i] ^= 0x01;
        assert!(
            p.verify(&post(Some(key), Some(sig), &b), now()).is_err(),
            "body byte {i}"
        );
    }
    for i in 0..sig.len() {
        let mut b = sig.as_bytes().to_vec();
        b[i] ^= 0x01;
        let flipped = String::from_utf8(b).unwrap();
        assert!(
            p.verify(&post(Some(key), Some(&flipped), body), now())
                .is_err(),
            "signature byte {i}"
        );
    }
    for i in 0..key.len() {
        let mut b = key.as_bytes().to_vec();
        b[i] ^= 0x01;
        let flipped = String::from_utf8(b).unwrap();
        let e = p
            .verify(&post(Some(&flipped), Some(sig), body), now())
            .unwrap_err();
        assert!(
            matches!(e, ProviderError::BadSignature { .. }),
            "key id byte {i}"
        );
    }
}
