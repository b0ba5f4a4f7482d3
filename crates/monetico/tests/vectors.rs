//! Known-answer tests: every vector of tests/data/monetico-vectors.json (a verbatim copy of the
//! spec's `monetico` section, sources kept), through the public API.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tpe_core::{BankOutcome, OutcomeKind, PaymentProvider, ReasonKind};
use tpe_monetico::notify::{NOT_RECEIVED, RECEIVED};
use tpe_monetico::sign::{latin1, mac_string, usable_key};
use tpe_monetico::{Encoding, MacKey, Monetico, MoneticoConfig};

const VECTORS: &str = include_str!("data/monetico-vectors.json");

fn vectors() -> Vec<Value> {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    assert!(
        v["source"].as_str().is_some(),
        "the copy says where it comes from"
    );
    v["monetico"].as_array().unwrap().clone()
}

fn vector(name: &str) -> Value {
    vectors()
        .into_iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("vector {name}"))
}

fn key(v: &Value) -> MacKey {
    let k = v["key_40hex"].as_str().or(v["key_40"].as_str()).unwrap();
    MacKey::new(&SecretString::from(k)).unwrap()
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
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn hex_usable(key40: &str) -> String {
    hex::encode(
        usable_key(&SecretString::from(key40))
            .unwrap()
            .expose_secret(),
    )
}

/// Every vector is covered by one of the tests below, and says where it comes from.
#[test]
fn every_vector_is_tested_and_sourced() {
    let tested = [
        "cgi2_response_payetest_12345678",
        "cgi2_response_Annulation_4KKHUGNUNOGG",
        "cgi2_response_paiement_JXNWHZLUY65F",
        "own_request_v3_sorted",
        "own_cgi2_response_payetest",
        "legacy_key_derivation",
        "legacy_fixed_order_request",
        "kit_placeholder_key_transform",
    ];
    let all = vectors();
    assert_eq!(all.len(), tested.len());
    for v in all {
        let name = v["name"].as_str().unwrap();
        assert!(tested.contains(&name), "{name} has a test");
        assert!(
            v["checked"].as_str().is_some() || v["source"].as_str().is_some(),
            "{name} has a source"
        );
    }
}

/// The MAC string and the MAC of every vector with fields; the usable key where given.
#[test]
fn mac_string_and_mac_of_every_field_vector() {
    let mut n = 0;
    for v in vectors().iter().filter(|v| v["fields"].is_object()) {
        let name = v["name"].as_str().unwrap();
        let f = fields(v);
        assert_eq!(
            mac_string(pairs(&f)),
            v["string_to_sign"].as_str().unwrap(),
            "{name}"
        );
        let mac = key(v).sign(pairs(&f));
        assert!(
            mac.eq_ignore_ascii_case(v["expected_mac"].as_str().unwrap()),
            "{name}"
        );
        if let Some(usable) = v["usable_key_hex"].as_str() {
            assert_eq!(
                hex_usable(v["key_40hex"].as_str().unwrap()),
                usable,
                "{name}"
            );
        }
        n += 1;
    }
    assert_eq!(n, 5);
}

/// The documented returns, posted as the bank posts them (MAC in upper case as given),
/// verify through the provider; every flipped byte is refused.
#[test]
fn documented_returns_verify_and_flipped_bytes_do_not() {
    for (name, kind) in [
        ("cgi2_response_payetest_12345678", OutcomeKind::Accepted),
        (
            "cgi2_response_Annulation_4KKHUGNUNOGG",
            OutcomeKind::Refused,
        ),
        ("cgi2_response_paiement_JXNWHZLUY65F", OutcomeKind::Accepted),
        ("own_cgi2_response_payetest", OutcomeKind::Accepted),
    ] {
        let v = vector(name);
        let f = fields(&v);
        let tpe = f.iter().find(|(k, _)| k == "TPE").unwrap().1.clone();
        let k = v["key_40hex"].as_str().unwrap();
        let p = Monetico::new(MoneticoConfig::new(tpe, "monsite", SecretString::from(k))).unwrap();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&f)
            .append_pair("MAC", v["expected_mac"].as_str().unwrap())
            .finish();
        let n = p.verify_bytes(body.as_bytes()).unwrap();
        assert_eq!(n.outcome.kind(), kind, "{name}");
        let reference = f.iter().find(|(k, _)| k == "reference").unwrap();
        assert_eq!(n.bank_reference.as_str(), reference.1, "{name}");
        let mut bytes = body.clone().into_bytes();
        for i in 0..bytes.len() {
            bytes[i] ^= 0x01;
            assert!(p.verify_bytes(&bytes).is_err(), "{name}: byte {i} flipped");
            bytes[i] ^= 0x01;
        }
    }
}

#[test]
fn annulation_vector_keeps_its_motifrefus() {
    let v = vector("cgi2_response_Annulation_4KKHUGNUNOGG");
    let f = fields(&v);
    let p = Monetico::new(MoneticoConfig::new(
        "9344512",
        "monsite",
        SecretString::from(v["key_40hex"].as_str().unwrap()),
    ))
    .unwrap();
    let body = key(&v).signed_form(&pairs(&f));
    let n = p.verify_bytes(body.as_bytes()).unwrap();
    let BankOutcome::Refused { reason } = n.outcome else {
        panic!("refused")
    };
    assert_eq!(reason.code(), "3DSecure");
    assert_eq!(reason.kind(), ReasonKind::AuthenticationFailed);
    assert_eq!(n.amount.minor(), 19152);
}

#[test]
fn own_request_contexte_commande_is_base64_of_its_json() {
    let v = vector("own_request_v3_sorted");
    let json = v["contexte_commande_json"].as_str().unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(json);
    assert_eq!(encoded, v["fields"]["contexte_commande"].as_str().unwrap());
}

#[test]
fn own_return_acknowledgements() {
    let v = vector("own_cgi2_response_payetest");
    assert_eq!(RECEIVED, v["expected_ack_body_ok"].as_str().unwrap());
    assert_eq!(
        NOT_RECEIVED,
        v["expected_ack_body_bad_mac"].as_str().unwrap()
    );
}

#[test]
fn legacy_key_derivation_cases() {
    let v = vector("legacy_key_derivation");
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let k = c["key_40"].as_str().unwrap();
        assert_eq!(hex_usable(k), c["usable_key_hex"].as_str().unwrap(), "{k}");
    }
}

/// The legacy format behind `mac_format = "legacy"`: the vector's request, prepared by the
/// provider, has the vector's string and MAC.
#[test]
fn legacy_fixed_order_request_mac() {
    let v = vector("legacy_fixed_order_request");
    let k = v["key_40hex"].as_str().unwrap();
    let mut cfg = MoneticoConfig::new("1234567", "monsite", SecretString::from(k));
    cfg.mac_format = tpe_monetico::MacFormat::Legacy;
    let p = Monetico::new(cfg).unwrap();
    let mut customer = common::customer();
    customer.email = "buyer@example.com".into();
    let req = tpe_core::PaymentRequest::new(
        tpe_core::PaymentReference::parse("ORDER-1042").unwrap(),
        tpe_core::Amount::new(4200, tpe_core::Currency::EUR).unwrap(),
        customer.validate_for_payment().unwrap(),
        "order-1042",
        1,
        common::urls(),
        tpe_core::Lang::Fr,
    )
    .with_bank_reference(tpe_core::BankReference::parse("ORDER1042").unwrap());
    // 11:00 UTC is 12:00 in Paris on 1 January.
    let now: tpe_core::Timestamp = "2025-01-01T11:00:00Z".parse().unwrap();
    let redirect = p.prepare_now(&req, now).unwrap().redirect;
    let pairs: Vec<(&str, &str)> = redirect
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (_, mac) = pairs.last().unwrap();
    assert_eq!(
        tpe_monetico::legacy::request_string(&pairs),
        v["string_to_sign"].as_str().unwrap()
    );
    assert_eq!(*mac, v["expected_mac"].as_str().unwrap());
}

#[test]
fn kit_placeholder_key_and_both_encodings() {
    let v = vector("kit_placeholder_key_transform");
    let k = v["key_40"].as_str().unwrap();
    assert_eq!(hex_usable(k), v["usable_key_hex"].as_str().unwrap());
    let key = key(&v);
    assert_eq!(
        key.mac_bytes(v["message"].as_str().unwrap().as_bytes()),
        v["expected_mac_hex_lower"].as_str().unwrap()
    );
    let cases = v["encoding_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        let message = c["message"].as_str().unwrap();
        let bytes = match c["encoding"].as_str().unwrap() {
            "iso-8859-1" => latin1(message).unwrap(),
            "utf-8" => message.as_bytes().to_vec(),
            other => panic!("encoding {other}"),
        };
        assert_eq!(
            key.mac_bytes(&bytes),
            c["expected_mac_hex_lower"].as_str().unwrap()
        );
    }
}

/// A return with non-ASCII text verifies whether the bank hashed its UTF-8 or its ISO-8859-1
/// bytes (spec C.4 step 4), and says which.
#[test]
fn non_ascii_return_verifies_with_either_encoding() {
    let key = common::key();
    let mut f = common::fields("payetest", "");
    f.retain(|(k, _)| *k != "texte-libre");
    f.push(("texte-libre", "réservé"));
    let text = mac_string(f.iter().copied());
    let p = common::provider();
    for (bytes, encoding) in [
        (text.as_bytes().to_vec(), Encoding::Utf8),
        (latin1(&text).unwrap(), Encoding::Latin1),
    ] {
        let mac = key.mac_bytes(&bytes).to_ascii_uppercase();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&f)
            .append_pair("MAC", &mac)
            .finish();
        assert!(p.verify_bytes(body.as_bytes()).is_ok(), "{encoding:?}");
        assert_eq!(key.verify(f.iter().copied(), &mac).unwrap(), encoding);
    }
    // Neither encoding of another text.
    let mac = key.mac_bytes("autre".as_bytes());
    assert!(key.verify(f.iter().copied(), &mac).is_err());
}
