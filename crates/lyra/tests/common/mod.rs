//! Helpers shared by the integration tests: the documentation's test shop, a customer,
//! requests and a signer playing the platform.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use secrecy::SecretString;
use tpe_core::{
    Amount, BankReference, Currency, Customer, Lang, PaymentProvider, PaymentReference,
    PaymentRequest, PostalAddress, ReturnUrls, Timestamp,
};
use tpe_lyra::sign::{Algorithm, ShopKey};
use tpe_lyra::{Brand, Lyra, LyraConfig};

/// The documentation's illustrative shop (spec B.8).
pub const SITE_ID: &str = "12345678";
/// The documentation's illustrative TEST key.
pub const KEY: &str = "1122334455667788";

pub fn config() -> LyraConfig {
    LyraConfig::test(Brand::Systempay, SITE_ID, SecretString::from(KEY))
}

pub fn provider() -> Lyra {
    Lyra::new(config()).unwrap()
}

pub fn key(algorithm: Algorithm) -> ShopKey {
    ShopKey::new(&SecretString::from(KEY), algorithm, "test_key").unwrap()
}

pub fn now() -> Timestamp {
    "2025-01-15T09:30:00Z".parse().unwrap()
}

pub fn customer() -> Customer {
    Customer {
        first_name: "Zoé".into(),
        last_name: "Dupont".into(),
        email: "zoe.dupont@example.com".into(),
        phone: Some("06 12 34 56 78".into()),
        address: Some(PostalAddress {
            line1: "1 rue de Paris".into(),
            line2: Some("Bâtiment C".into()),
            postcode: "75001".into(),
            city: "Paris".into(),
            country: "FR".into(),
        }),
    }
}

pub fn urls() -> ReturnUrls {
    let u = |p: &str| format!("https://shop.example.com/pay/{p}").parse().unwrap();
    ReturnUrls {
        accepted: u("ok"),
        refused: u("ko"),
        cancelled: u("cancel"),
        pending: u("wait"),
        notify: u("ipn?o=42"),
    }
}

/// A request of `minor` EUR for the day's `nonce`-th transaction.
pub fn request_for(p: &Lyra, customer: &Customer, minor: u64, nonce: u64) -> PaymentRequest {
    let reference = PaymentReference::parse("order-1042").unwrap();
    let bank: BankReference = p.bank_reference(&reference, now(), nonce).unwrap();
    PaymentRequest::new(
        reference,
        Amount::new(minor, Currency::EUR).unwrap(),
        customer.clone().validate_for_payment().unwrap(),
        "Commande 1042",
        2,
        urls(),
        Lang::Fr,
    )
    .with_bank_reference(bank)
}

/// The fields of an IPN for transaction `123456` of 2025-01-15, status and codes given.
pub fn ipn_fields(status: &str, auth_result: &str, result: &str) -> Vec<(String, String)> {
    let f = |n: &str, v: &str| (n.to_owned(), v.to_owned());
    vec![
        f("vads_action_mode", "INTERACTIVE"),
        f("vads_amount", "4200"),
        f("vads_auth_mode", "FULL"),
        f("vads_auth_number", "3fb0de"),
        f("vads_auth_result", auth_result),
        f("vads_card_brand", "CB"),
        f("vads_card_number", "497010XXXXXX0000"),
        f("vads_ctx_mode", "TEST"),
        f("vads_currency", "978"),
        f("vads_extra_result", ""),
        f(
            "vads_hash",
            "1f0b5fe2a1d3c4b5a6978877665544332211aabbccddeeff0011223344556677",
        ),
        f("vads_order_id", "order-1042"),
        f("vads_result", result),
        f("vads_site_id", SITE_ID),
        f("vads_trans_date", "20250115093000"),
        f("vads_trans_id", "000042"),
        f("vads_trans_status", status),
        f("vads_trans_uuid", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
        f("vads_url_check_src", "PAY"),
        f("vads_version", "V2"),
    ]
}

/// `fields` signed with the test key, as the platform posts them.
pub fn signed(fields: &[(String, String)], algorithm: Algorithm) -> String {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    key(algorithm).signed_form(&pairs)
}

/// The value of the form field `name` (it must be there).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap()
}
