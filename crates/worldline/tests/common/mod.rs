//! Shared helpers of the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use serde_json::Value;
use tpe_core::{
    Amount, Currency, HttpMethod, Lang, PaymentReference, PaymentRequest, RawNotification,
    ReturnUrls, Timestamp,
};
use tpe_worldline::{WebhookKey, Worldline, WorldlineConfig};

/// The `worldline_gcs` vectors of the spec.
pub const VECTORS: &str = include_str!("../data/worldline-vectors.json");

/// Every vector.
pub fn vectors() -> Vec<Value> {
    let all: Value = serde_json::from_str(VECTORS).unwrap();
    all["worldline_gcs"].as_array().unwrap().clone()
}

/// A fixed instant (2026-11-29T12:00:00Z).
pub fn now() -> Timestamp {
    Timestamp::from_second(1_795_953_600).unwrap()
}

/// A provider with these webhook keys.
pub fn provider_with(keys: impl IntoIterator<Item = WebhookKey>) -> Worldline {
    Worldline::new(WorldlineConfig::new(
        "PSPID1",
        "api-key-id",
        "api-SECRETVALUE",
        keys,
    ))
    .unwrap()
}

/// A POST webhook with optional `X-GCS-KeyId` and `X-GCS-Signature`.
pub fn post(key_id: Option<&str>, signature: Option<&str>, body: &[u8]) -> RawNotification {
    let mut headers = http::HeaderMap::new();
    if let Some(k) = key_id {
        headers.insert("x-gcs-keyid", k.parse().unwrap());
    }
    if let Some(s) = signature {
        headers.insert("x-gcs-signature", s.parse().unwrap());
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
