//! Lyra REST V4 IPNs (`Lyra::verify_bytes` with REST settings: `kr-hash` over the `kr-answer`
//! JSON, then the answer), seeded with the published demo-shop IPN.

use hmac::{KeyInit, Mac};
use secrecy::SecretString;
use tpe_core::ProviderError;
use tpe_fuzz::seeds::{self, OTHER_VECTORS};
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};
use tpe_lyra::{Brand, Lyra, LyraConfig, RestConfig};

/// `kr-hash` of an answer: lowercase hex HMAC-SHA-256 keyed with the REST password.
fn kr_hash(password: &str, answer: &str) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(password.as_bytes()).expect("any key length");
    mac.update(answer.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn body(fields: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}

fn target() -> Target {
    let v = seeds::section(OTHER_VECTORS, "lyra_rest").remove(0);
    let password = seeds::text(&v, "password").to_owned();
    let shop_id = seeds::text(&v, "shop_id");
    let answer = seeds::text(&v, "kr-answer").to_owned();
    let mut cfg = LyraConfig::test(
        Brand::Payzen,
        shop_id,
        SecretString::from("1122334455667788"),
    );
    cfg.rest = Some(RestConfig::new(SecretString::from(password.clone())));
    let lyra = Lyra::new(cfg).expect("test configuration");
    let signed = move |answer: &str| {
        let hash = kr_hash(&password, answer);
        body(&[
            ("kr-hash", &hash),
            ("kr-hash-algorithm", "sha256_hmac"),
            ("kr-hash-key", "password"),
            ("kr-answer-type", "V4/Payment"),
            ("kr-answer", answer),
        ])
    };
    let mut seeds = vec![Seed::new("vector", signed(&answer), Shape::Form)];
    for (from, to) in [
        ("\"orderStatus\":\"PAID\"", "\"orderStatus\":\"UNPAID\""),
        ("\"orderStatus\":\"PAID\"", "\"orderStatus\":\"RUNNING\""),
        ("\"orderStatus\":\"PAID\"", "\"orderStatus\":\"ABANDONED\""),
    ] {
        seeds.push(Seed::new(
            to,
            signed(&answer.replace(from, to)),
            Shape::Form,
        ));
    }
    // The answer alone, so field mutations land inside the JSON (signed again).
    seeds.push(Seed::new("answer", signed(&answer), Shape::Json));
    let check = move |input: &[u8]| {
        Verdict::of(lyra.verify_bytes(input), |e| {
            matches!(
                e,
                ProviderError::BadSignature { .. } | ProviderError::Malformed { .. }
            )
        })
    };
    Target::new("lyra_rest", Oracle::Signed, seeds, check).resigning(move |input| {
        let answer = form_urlencoded::parse(input)
            .find(|(k, _)| k == "kr-answer")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| String::from_utf8_lossy(input).into_owned());
        signed(&answer)
    })
}

tpe_fuzz::fuzz_target!(target());
