//! Stripe-like webhook events (`Stripe-Signature` over the raw body, then the event JSON),
//! through `PaymentProvider::verify`. An input is the header value, a newline, and the body.

use tpe_core::{HttpMethod, PaymentProvider, ProviderError, RawNotification, Timestamp};
use tpe_fuzz::seeds::{self, OTHER_VECTORS};
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};
use tpe_stripe_like::{Mode as StripeMode, StripeLike, StripeLikeConfig, generate_test_header};

/// Event types the provider reads, besides the vector's.
const TYPES: &[&str] = &[
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.payment_failed",
    "payment_intent.succeeded",
    "charge.refunded",
];

fn split(input: &[u8]) -> (&[u8], &[u8]) {
    match input.iter().position(|&b| b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[]),
    }
}

fn target() -> Target {
    let vector = seeds::section(OTHER_VECTORS, "stripe")
        .into_iter()
        .find(|v| v["name"] == "webhook_checkout_session_completed")
        .expect("the webhook vector");
    let secret = seeds::text(&vector, "secret").to_owned();
    let t = vector["timestamp"].as_i64().expect("timestamp");
    let payload = seeds::text(&vector, "payload").to_owned();
    let now = Timestamp::from_second(t + 10).expect("instant");
    let provider = StripeLike::new(StripeLikeConfig::new(
        StripeMode::Test,
        "sk_test_fuzz",
        [secret.as_str()],
    ))
    .expect("test configuration");
    let signed = move |body: &[u8]| {
        let mut out = generate_test_header(body, &secret, t).into_bytes();
        out.push(b'\n');
        out.extend_from_slice(body);
        out
    };
    let mut seeds = vec![Seed::new(
        "vector",
        signed(payload.as_bytes()),
        Shape::Header,
    )];
    for kind in TYPES {
        let body = payload.replace("checkout.session.completed", kind);
        seeds.push(Seed::new(*kind, signed(body.as_bytes()), Shape::Header));
    }
    let payment_failed = payload
        .replace("checkout.session.completed", "payment_intent.payment_failed")
        .replace("\"id\":\"cs_test_a1b2c3\",\"object\":\"checkout.session\"", "\"id\":\"pi_test_0001\",\"object\":\"payment_intent\",\"last_payment_error\":{\"code\":\"card_declined\",\"decline_code\":\"insufficient_funds\"}");
    seeds.push(Seed::new(
        "payment_failed",
        signed(payment_failed.as_bytes()),
        Shape::Header,
    ));
    let check = move |input: &[u8]| {
        let (header, body) = split(input);
        let mut headers = http::HeaderMap::new();
        match http::HeaderValue::from_bytes(header) {
            Ok(value) => {
                headers.insert("stripe-signature", value);
            }
            // Not a header value: the HTTP layer never hands such a request over.
            Err(_) => return Verdict::Refused,
        }
        let Ok(raw) = RawNotification::new(HttpMethod::Post, "", body.to_vec(), headers, None)
        else {
            return Verdict::Refused;
        };
        Verdict::of(provider.verify(&raw, now), |e| {
            matches!(
                e,
                ProviderError::BadSignature { .. }
                    | ProviderError::Malformed { .. }
                    | ProviderError::Stale { .. }
            )
        })
    };
    Target::new("stripe_like_webhook", Oracle::Signed, seeds, check)
        .resigning(move |input| signed(split(input).1))
}

tpe_fuzz::fuzz_target!(target());
