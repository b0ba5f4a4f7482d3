//! What the tests share: the test merchant, the provider, requests, and returns signed as the
//! bank signs them.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use secrecy::SecretString;
use tpe_core::{
    Amount, BankReference, Currency, Customer, HttpMethod, Lang, PaymentReference, PaymentRequest,
    PostalAddress, RawNotification, ReturnUrls, Timestamp,
};
use tpe_monetico::{MacKey, Monetico, MoneticoConfig};

pub const TPE: &str = "1234567";
pub const SOCIETE: &str = "monsite";
/// The example-format key of the CM-CIC v3.0 documentation (spec C.7).
pub const KEY: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

pub fn config() -> MoneticoConfig {
    MoneticoConfig::new(TPE, SOCIETE, SecretString::from(KEY))
}

pub fn provider() -> Monetico {
    Monetico::new(config()).unwrap()
}

pub fn key() -> MacKey {
    MacKey::new(&SecretString::from(KEY)).unwrap()
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
        notify: u("cgi2"),
    }
}

pub fn request_for(customer: &Customer, minor: u64, currency: Currency) -> PaymentRequest {
    PaymentRequest::new(
        PaymentReference::parse("ORDER-2025-0001").unwrap(),
        Amount::new(minor, currency).unwrap(),
        customer.validate_for_payment().unwrap(),
        "Commande 1042 — œufs frais",
        2,
        urls(),
        Lang::Fr,
    )
    .with_bank_reference(BankReference::parse("250115000001").unwrap())
}

pub fn request() -> PaymentRequest {
    request_for(&customer(), 2550, Currency::EUR)
}

/// The fields of a CGI2 return of 25.50 EUR for `250115000001`, with `code-retour` and
/// `motifrefus` as given.
pub fn fields<'a>(code_retour: &'a str, motifrefus: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("TPE", TPE),
        ("date", "15/01/2025_a_10:31:02"),
        ("montant", "25.50EUR"),
        ("reference", "250115000001"),
        ("texte-libre", "Commande 1042"),
        ("code-retour", code_retour),
        ("cvx", "oui"),
        ("vld", "1228"),
        ("brand", "VI"),
        ("numauto", "000000"),
        ("motifrefus", motifrefus),
        ("originecb", "FRA"),
        ("bincb", "49701000"),
        ("cbmasquee", "49701000XXXXXX07"),
        ("modepaiement", "CB"),
        (
            "authentification",
            "eyJwcm90b2NvbCI6IjNEU2VjdXJlIiwic3RhdHVzIjoiYXV0aGVudGljYXRlZCIsInZlcnNpb24iOiIyLjIuMCIsImRldGFpbHMiOnsibGlhYmlsaXR5U2hpZnQiOiJZIiwiQVJlcyI6IkMiLCJDUmVzIjoiWSJ9fQ==",
        ),
    ]
}

/// A return body signed with the test key.
pub fn signed(code_retour: &str, motifrefus: &str) -> String {
    key().signed_form(&fields(code_retour, motifrefus))
}

/// A POSTed return.
pub fn post(body: impl Into<bytes::Bytes>) -> RawNotification {
    RawNotification::new(
        HttpMethod::Post,
        bytes::Bytes::new(),
        body,
        http::HeaderMap::new(),
        None,
    )
    .unwrap()
}
