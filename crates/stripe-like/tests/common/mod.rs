//! Shared helpers of the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use serde_json::Value;
use tpe_core::{
    Amount, Currency, HttpMethod, Lang, PaymentReference, PaymentRequest, RawNotification,
    ReturnUrls, Timestamp,
};

/// The `stripe` vectors of the spec.
pub const VECTORS: &str = include_str!("../data/stripe-vectors.json");

/// The vector named `name`.
pub fn vector(name: &str) -> Value {
    let all: Value = serde_json::from_str(VECTORS).unwrap();
    all["stripe"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
        .clone()
}

/// The instant `s` unix seconds.
pub fn at(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

/// A POST notification with an optional `Stripe-Signature`.
pub fn raw(header: Option<&str>, body: &[u8]) -> RawNotification {
    let mut headers = http::HeaderMap::new();
    if let Some(h) = header {
        headers.insert("stripe-signature", h.parse().unwrap());
    }
    RawNotification::new(HttpMethod::Post, "", body.to_vec(), headers, None).unwrap()
}

/// A checkout request for `reference` of `minor` euro cents.
pub fn request(reference: &str, minor: u64) -> PaymentRequest {
    let customer = tpe_conformance::fixtures::customer();
    let u = |p: &str| format!("https://shop.example/{p}").parse().unwrap();
    PaymentRequest::new(
        PaymentReference::parse(reference).unwrap(),
        Amount::new(minor, Currency::EUR).unwrap(),
        customer,
        "Commande 1042",
        2,
        ReturnUrls {
            accepted: u("ok"),
            refused: u("refused"),
            cancelled: u("cart"),
            pending: u("pending"),
            notify: u("notify"),
        },
        Lang::Fr,
    )
}
