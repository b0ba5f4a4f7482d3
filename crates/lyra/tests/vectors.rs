//! Every Lyra vector of the shared JSON (`lyra_vads`, `lyra_rest`) through the public API.
#![allow(clippy::unwrap_used)]

mod common;

use secrecy::SecretString;
use serde_json::Value;
use tpe_core::{BankOutcome, Currency, PaymentProvider, RawNotification};
use tpe_lyra::sign::{Algorithm, KeyRing, RestKey, ShopKey, canonical};
use tpe_lyra::{Brand, Lyra, LyraConfig, RestConfig};

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/other-vectors.json")).unwrap()
}

fn fields(v: &Value) -> Vec<(String, String)> {
    v["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

#[test]
fn the_copy_says_where_it_comes_from() {
    assert!(include_str!("data/README.md").contains("shared/specs"));
    for v in vectors()["lyra_vads"].as_array().unwrap() {
        assert!(
            v["checked"]
                .as_str()
                .is_some_and(|c| c.starts_with("VERIFIED")),
            "{}",
            v["name"]
        );
    }
    for v in vectors()["lyra_rest"].as_array().unwrap() {
        assert!(v["source"].as_str().is_some_and(|s| !s.is_empty()));
    }
}

#[test]
fn every_vads_vector_signs_and_verifies_with_both_algorithms() {
    let all = vectors();
    let list = all["lyra_vads"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    for v in list {
        let name = v["name"].as_str().unwrap();
        let key_text = v["key"].as_str().unwrap();
        let f = fields(v);
        // The signed string: the values sorted by name, `+`, the key.
        assert_eq!(
            format!("{}+{key_text}", canonical(pairs(&f))),
            v["string_to_sign"].as_str().unwrap(),
            "{name}"
        );
        for (algorithm, expected) in [
            (Algorithm::HmacSha256, "expected_signature_hmac_sha256_b64"),
            (Algorithm::Sha1, "expected_signature_sha1_hex"),
        ] {
            let expected = v[expected].as_str().unwrap();
            let key = ShopKey::new(&SecretString::from(key_text), algorithm, "test_key").unwrap();
            assert_eq!(key.sign(pairs(&f)), expected, "{name} {algorithm:?}");
            // The posted form verifies, in any field order, and fails with another key.
            let mut reversed = pairs(&f);
            reversed.reverse();
            let body = key.signed_form(&reversed);
            let ring = KeyRing::new(key.clone(), Vec::new());
            assert!(
                tpe_lyra::notify::check_vads(&ring, body.as_bytes()).is_ok(),
                "{name}"
            );
            let other =
                ShopKey::new(&SecretString::from("1122334455667789"), algorithm, "k").unwrap();
            let ring = KeyRing::new(other.clone(), Vec::new());
            assert!(
                tpe_lyra::notify::check_vads(&ring, body.as_bytes()).is_err(),
                "{name}"
            );
            // Rotation: the old key still verifies after a new one.
            let ring = KeyRing::new(other, vec![key]);
            assert!(
                tpe_lyra::notify::check_vads(&ring, body.as_bytes()).is_ok(),
                "{name}"
            );
        }
    }
}

#[test]
fn the_vads_ipn_vector_verifies_through_the_provider() {
    let all = vectors();
    let v = all["lyra_vads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "own_ipn_authorised")
        .unwrap();
    for algorithm in [Algorithm::HmacSha256, Algorithm::Sha1] {
        let mut cfg = common::config();
        cfg.algorithm = algorithm;
        let p = Lyra::new(cfg).unwrap();
        let key = common::key(algorithm);
        let body = key.signed_form(&pairs(&fields(v)));
        let n = p.verify_bytes(body.as_bytes()).unwrap();
        assert_eq!(n.bank_reference.as_str(), "20250101-a1B2c3");
        assert_eq!(n.bank_transaction_id, "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
        assert_eq!(
            (n.amount.minor(), n.amount.currency()),
            (4200, Currency::EUR)
        );
        assert!(
            matches!(n.outcome, BankOutcome::Accepted { ref authorization } if authorization.as_deref() == Some("3fb0de"))
        );
    }
}

fn rest_provider(v: &Value) -> Lyra {
    let mut cfg = LyraConfig::test(
        Brand::Payzen,
        v["shop_id"].as_str().unwrap(),
        SecretString::from("form-key-unused"),
    );
    cfg.rest = Some(
        tpe_core::toml::from_str::<RestConfig>(&format!(
            "password = {:?}\nhmac_key = {:?}",
            v["password"].as_str().unwrap(),
            v["hmac_sha256_key"].as_str().unwrap()
        ))
        .unwrap(),
    );
    Lyra::new(cfg).unwrap()
}

fn rest_body(v: &Value, answer: &str, hash: &str, key_kind: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("kr-hash", hash)
        .append_pair(
            "kr-hash-algorithm",
            v["kr-hash-algorithm"].as_str().unwrap(),
        )
        .append_pair("kr-hash-key", key_kind)
        .append_pair("kr-answer-type", v["kr-answer-type"].as_str().unwrap())
        .append_pair("kr-answer", answer)
        .finish()
}

#[test]
fn every_rest_vector_verifies_with_the_password_only() {
    let all = vectors();
    let list = all["lyra_rest"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    for v in list {
        let answer = v["kr-answer"].as_str().unwrap();
        let expected = v["expected_kr_hash"].as_str().unwrap();
        let password =
            RestKey::new(&SecretString::from(v["password"].as_str().unwrap()), "p").unwrap();
        assert_eq!(password.hash(answer), expected);
        let hmac = RestKey::new(
            &SecretString::from(v["hmac_sha256_key"].as_str().unwrap()),
            "h",
        )
        .unwrap();
        assert_ne!(
            hmac.hash(answer),
            expected,
            "the HMAC key must not match (spec B.11)"
        );

        let p = rest_provider(v);
        let body = rest_body(v, answer, expected, "password");
        let raw = RawNotification::new(
            tpe_core::HttpMethod::Post,
            Vec::new(),
            body.clone().into_bytes(),
            http::HeaderMap::new(),
            None,
        )
        .unwrap();
        let n = match p.verify(&raw, common::now()) {
            Ok(tpe_core::Verified::Payment(n)) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(n.bank_reference.as_str(), "20181108-900147");
        assert_eq!(n.bank_transaction_id, "971b6b3b9e364e87bfbe9886b3a75df4");
        assert_eq!(
            (n.amount.minor(), n.amount.currency()),
            (990, Currency::EUR)
        );
        assert!(
            matches!(n.outcome, BankOutcome::Accepted { ref authorization } if authorization.as_deref() == Some("3fe034"))
        );

        // Signed with the password, the IPN is not a browser return (pinned key kind).
        assert!(p.verify_rest_return(body.as_bytes()).is_err());
        let ret = rest_body(v, answer, &hmac.hash(answer), "sha256_hmac");
        assert!(p.verify_rest_return(ret.as_bytes()).is_ok());
        assert!(p.verify_bytes(ret.as_bytes()).is_err());

        // Escaped slashes: the raw value fails, un-escaped it passes (spec B.11, rule 4).
        let escaped = answer.replace('/', "\\/");
        let body = rest_body(v, &escaped, expected, "password");
        assert!(p.verify_bytes(body.as_bytes()).is_ok());
        // A changed answer or hash is refused.
        let body = rest_body(v, &answer.replace("990", "991"), expected, "password");
        assert!(p.verify_bytes(body.as_bytes()).is_err());
        let body = rest_body(v, answer, &expected.replace('9', "8"), "password");
        assert!(p.verify_bytes(body.as_bytes()).is_err());
        let body = rest_body(v, answer, &expected.to_uppercase(), "password");
        assert!(p.verify_bytes(body.as_bytes()).is_err());
    }
}
