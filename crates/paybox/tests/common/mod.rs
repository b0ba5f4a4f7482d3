//! Helpers shared by the integration tests: a test RSA key pair (tests/data, test-only),
//! customers, requests and a signer playing the bank.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use base64::Engine as _;
use rsa::pkcs8::DecodePrivateKey;
use secrecy::SecretString;
use tpe_core::{
    Amount, Currency, Customer, Lang, PaymentReference, PaymentRequest, PostalAddress, ReturnUrls,
    Timestamp,
};
use tpe_paybox::config::{PublicKeySource, RetourSpec};
use tpe_paybox::{Paybox, PayboxConfig};

pub const TEST_PUBLIC_PEM: &str = include_str!("../data/test-public.pem");
pub const TEST_PRIVATE_PEM: &str = include_str!("../data/test-private.pem");
/// The public Paybox test key (spec §8).
pub const HMAC_KEY: &str = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

pub fn config() -> PayboxConfig {
    PayboxConfig::new("1999888", "32", "107904482", SecretString::from(HMAC_KEY))
        .with_public_keys(vec![PublicKeySource::Pem(TEST_PUBLIC_PEM.to_owned())])
}

pub fn provider() -> Paybox {
    Paybox::new(config()).unwrap()
}

pub fn provider_with_retour(retour: &str) -> Paybox {
    Paybox::new(config().with_retour(retour.parse::<RetourSpec>().unwrap())).unwrap()
}

pub fn now() -> Timestamp {
    "2025-01-15T09:30:00Z".parse().unwrap()
}

pub fn customer() -> Customer {
    Customer {
        first_name: "Jean".into(),
        last_name: "Dupont".into(),
        email: "jean.dupont@example.com".into(),
        phone: Some("06 12 34 56 78".into()),
        address: Some(PostalAddress {
            line1: "1 rue de Paris".into(),
            line2: None,
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

pub fn request_for(customer: &Customer, minor: u64, currency: Currency) -> PaymentRequest {
    PaymentRequest::new(
        PaymentReference::parse("ORDER-2025-0001").unwrap(),
        Amount::new(minor, currency).unwrap(),
        customer.validate_for_payment().unwrap(),
        "Commande 1042",
        2,
        urls(),
        Lang::Fr,
    )
}

pub fn request() -> PaymentRequest {
    request_for(&customer(), 2550, Currency::EUR)
}

/// Plays the bank: signs `data` with the test private key (RSA PKCS#1 v1.5 SHA-1).
pub fn sign(data: &str) -> Vec<u8> {
    use sha1::Digest;
    let key = rsa::PrivateKey::from_pkcs8_pem(TEST_PRIVATE_PEM).unwrap();
    let digest = sha1::Sha1::digest(data.as_bytes());
    key.sign(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &digest)
        .unwrap()
}

/// `data&<name>=<percent-encoded base64 signature>`, as the platform sends it.
pub fn signed(data: &str, name: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(sign(data));
    let enc = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("{data}&{name}={enc}")
}
