//! Known-answer tests: every vector of tests/data/paybox-vectors.json (a copy of the spec's
//! file, sources kept), through the public API.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use base64::Engine as _;
use secrecy::SecretString;
use serde_json::Value;
use sha2::Digest as _;
use tpe_paybox::config::{HashAlgorithm, PublicKeySource};
use tpe_paybox::notify::check_signature;
use tpe_paybox::sign::{BankKeys, PAYBOX_PUBLIC_KEY_PEM, hmac_hex};

const VECTORS: &str = include_str!("data/paybox-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

#[test]
fn every_hmac_vector() {
    let v = vectors();
    let list = v["hmac_request"].as_array().unwrap();
    assert!(list.len() >= 5);
    for vec in list {
        let name = vec["name"].as_str().unwrap();
        assert!(vec["source"].as_str().is_some(), "{name} has a source");
        let hash: HashAlgorithm = vec["algorithm"]
            .as_str()
            .unwrap()
            .trim_start_matches("HMAC-")
            .parse()
            .unwrap();
        let fields: Vec<(String, String)> = vec["fields_in_order"]
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
        let joined = fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(joined, vec["signed_string"].as_str().unwrap(), "{name}");
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let key = SecretString::from(vec["key_hex"].as_str().unwrap().to_owned());
        let mac = hmac_hex(&key, hash, &pairs).unwrap();
        assert_eq!(
            mac,
            vec["expected_hmac_hex_upper"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn every_rsa_sample() {
    let v = vectors();
    let keys = BankKeys::load(&[PublicKeySource::Embedded]).unwrap();
    let list = v["rsa_response"].as_array().unwrap();
    assert!(list.len() >= 6);
    let (mut valid, mut invalid) = (0, 0);
    for s in list {
        let name = s["name"].as_str().unwrap();
        assert!(s["source"].as_str().is_some());
        let data = s["signed_data"].as_str().unwrap();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(s["signature_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(sig.len() as u64, s["signature_len_bytes"].as_u64().unwrap());
        let expected = s["expected_valid"].as_bool().unwrap();
        assert_eq!(
            keys.verify(data.as_bytes(), &sig).is_ok(),
            expected,
            "{name}"
        );
        // Same answer through the raw-notification path (signature URL-encoded, last).
        let enc: String = s["signature_base64"]
            .as_str()
            .unwrap()
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        let raw = format!("{data}&Sign={enc}");
        assert_eq!(
            check_signature(&keys, raw.as_bytes(), Some("Sign"), None).is_ok(),
            expected,
            "{name} raw"
        );
        if expected { valid += 1 } else { invalid += 1 }
    }
    assert!(valid >= 3 && invalid >= 3);
}

#[test]
fn highcanfly_cancel_sample_verifies_only_with_the_real_amount() {
    // Spec §4.5: the e-Transactions cancel sample verifies with amount=900 (the JSON keeps the
    // tampered amount=1000 as its negative case, with the same signature).
    let v = vectors();
    let s = v["rsa_response"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "highcanfly_amount_tampered")
        .unwrap();
    let keys = BankKeys::load(&[PublicKeySource::Embedded]).unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(s["signature_base64"].as_str().unwrap())
        .unwrap();
    let real = s["signed_data"]
        .as_str()
        .unwrap()
        .replace("amount=1000", "amount=900");
    keys.verify(real.as_bytes(), &sig).unwrap();
    assert!(real.contains("error=00001") && real.contains("payboxRef=0"));
}

#[test]
fn embedded_key_is_the_published_one() {
    let v = vectors();
    let fp = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "public_key_fingerprints")
        .unwrap();
    let body: String = PAYBOX_PUBLIC_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&der)),
        fp["der_sha256"].as_str().unwrap()
    );
}

#[test]
fn example_form_body_decodes_to_the_signed_fields() {
    let v = vectors();
    let note = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "synthetic_full_3dsv2_form_body_example")
        .unwrap();
    let body = note["application_x_www_form_urlencoded_body"]
        .as_str()
        .unwrap();
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let (last, signed) = fields.split_last().unwrap();
    assert_eq!(last.0, "PBX_HMAC");
    let pairs: Vec<(&str, &str)> = signed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let key = SecretString::from("0123456789ABCDEF".repeat(8));
    assert_eq!(
        hmac_hex(&key, HashAlgorithm::Sha512, &pairs).unwrap(),
        last.1
    );
}
