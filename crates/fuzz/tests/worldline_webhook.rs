//! Worldline webhooks (`Worldline::verify_bytes`: `X-GCS-Signature` over the raw body, then the
//! event JSON), seeded with the published webhook vectors. An input is the key id, a newline,
//! the signature, a newline, and the body.

use tpe_core::ProviderError;
use tpe_fuzz::seeds::{self, OTHER_VECTORS};
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};
use tpe_mock_bank::worldline::gcs_signature;
use tpe_worldline::{WebhookKey, Worldline, WorldlineConfig};

fn split(input: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let mut parts = input.splitn(3, |&b| b == b'\n');
    let key_id = parts.next().unwrap_or_default();
    let signature = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    (key_id, signature, body)
}

fn target() -> Target {
    let vectors: Vec<_> = seeds::section(OTHER_VECTORS, "worldline_gcs")
        .into_iter()
        .filter(|v| v["kind"] == "webhook")
        .collect();
    let keys: Vec<(String, String)> = vectors
        .iter()
        .map(|v| {
            (
                seeds::text(v, "key_id").to_owned(),
                seeds::text(v, "secret_key").to_owned(),
            )
        })
        .collect();
    let provider = Worldline::new(WorldlineConfig::new(
        "PSPID1",
        "api-key-id",
        "api-secret",
        keys.iter().map(|(id, secret)| WebhookKey::new(id, secret)),
    ))
    .expect("test configuration");
    let sign = move |key_id: &[u8], body: &[u8]| {
        let secret = keys
            .iter()
            .find(|(id, _)| id.as_bytes() == key_id)
            .map_or(keys[0].1.as_str(), |(_, s)| s.as_str());
        let mut out = key_id.to_vec();
        out.push(b'\n');
        out.extend_from_slice(gcs_signature(secret, body).as_bytes());
        out.push(b'\n');
        out.extend_from_slice(body);
        out
    };
    let mut seeds = Vec::new();
    for v in &vectors {
        let body = seeds::text(v, "body");
        let key_id = seeds::text(v, "key_id");
        seeds.push(Seed::new(
            seeds::text(v, "name"),
            sign(key_id.as_bytes(), body.as_bytes()),
            Shape::Header,
        ));
        // The same event as other statuses the provider maps.
        for status in [
            "CAPTURED",
            "REJECTED",
            "CANCELLED",
            "PENDING_CAPTURE",
            "REFUNDED",
        ] {
            for from in ["\"PENDING_CAPTURE\"", "\"CAPTURED\""] {
                if body.contains(from) {
                    let other = body.replace(from, &format!("\"{status}\""));
                    seeds.push(Seed::new(
                        status,
                        sign(key_id.as_bytes(), other.as_bytes()),
                        Shape::Header,
                    ));
                }
            }
        }
    }
    let check = move |input: &[u8]| {
        let (key_id, signature, body) = split(input);
        Verdict::of(provider.verify_bytes(key_id, signature, body), |e| {
            matches!(
                e,
                ProviderError::BadSignature { .. } | ProviderError::Malformed { .. }
            )
        })
    };
    Target::new("worldline_webhook", Oracle::Signed, seeds, check).resigning(move |input| {
        let (key_id, _, body) = split(input);
        sign(key_id, body)
    })
}

tpe_fuzz::fuzz_target!(target());
