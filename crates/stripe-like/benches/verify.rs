//! `verify` of a `checkout.session.completed` event of 2,048 bytes and of 2,337 bytes, compact
//! and pretty-printed as the PSP sends it: signature, then the JSON read by serde_json.
//!
//! Run with: `cargo bench -p tpe-stripe-like --bench verify -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tpe_conformance::timing::best_chunks;
use tpe_core::{HttpMethod, PaymentProvider, RawNotification, Timestamp, Verified};
use tpe_stripe_like::{Mode, StripeLike, StripeLikeConfig, WebhookVerifier, generate_test_header};

const SECRET: &str = "whsec_bench_secret_0123456789abcdef";
const T: i64 = 1_735_689_600;

/// A realistic session event padded to about 2 KB with the fields the PSP really sends.
fn event() -> String {
    let mut e = format!(
        r#"{{"id":"evt_1QbEnchMark0123456789","object":"event","api_version":"2024-06-20","created":{T},"data":{{"object":{{"id":"cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ0123456789abcdefghij","object":"checkout.session","adaptive_pricing":{{"enabled":false}},"after_expiration":null,"allow_promotion_codes":null,"amount_subtotal":4200,"amount_total":4200,"automatic_tax":{{"enabled":false,"liability":null,"status":null}},"billing_address_collection":null,"cancel_url":"https://shop.example.com/cart","client_reference_id":"01JGZ6W3Y5K8ZQ9T4R2M7N1P","client_secret":null,"consent":null,"consent_collection":null,"created":{T},"currency":"eur","currency_conversion":null,"custom_fields":[],"custom_text":{{"after_submit":null,"shipping_address":null,"submit":null,"terms_of_service_acceptance":null}},"customer":null,"customer_creation":"if_required","customer_details":{{"address":{{"city":"Lyon","country":"FR","line1":"1 place Bellecour","line2":null,"postal_code":"69002","state":null}},"email":"jeanne.martin@example.fr","name":"Jeanne Martin","phone":null,"tax_exempt":"none","tax_ids":[]}},"customer_email":"jeanne.martin@example.fr","expires_at":{},"invoice":null,"invoice_creation":{{"enabled":false,"invoice_data":{{"account_tax_ids":null,"custom_fields":null,"description":null,"footer":null,"issuer":null,"metadata":{{}},"rendering_options":null}}}},"livemode":false,"locale":"fr","metadata":{{"tpe_reference":"01JGZ6W3Y5K8ZQ9T4R2M7N1P"}},"mode":"payment","payment_intent":"pi_3QbEnchMark0123456789AbCd","payment_link":null,"payment_method_collection":"if_required","payment_method_configuration_details":null,"payment_method_options":{{"card":{{"request_three_d_secure":"automatic"}}}},"payment_method_types":["card"],"payment_status":"paid","phone_number_collection":{{"enabled":false}},"recovered_from":null,"saved_payment_method_options":null,"setup_intent":null,"shipping_address_collection":null,"shipping_cost":null,"shipping_details":null,"shipping_options":[],"status":"complete","submit_type":null,"subscription":null,"success_url":"https://shop.example.com/paiement/retour?ref=01JGZ6W3Y5K8ZQ9T4R2M7N1P","total_details":{{"amount_discount":0,"amount_shipping":0,"amount_tax":0}},"ui_mode":"hosted","url":null}}}},"livemode":false,"pending_webhooks":1,"request":{{"id":null,"idempotency_key":null}},"type":"checkout.session.completed"}}"#,
        T + 86_400
    );
    while e.len() < 2048 {
        e.insert_str(e.len() - 1, r#","padding":"x""#);
    }
    e
}

/// The same event cut to exactly 2 KiB, the size the crate's speed target is set for: three
/// fields the provider never reads are left out, and a padding field makes up the rest.
fn event_2_kib() -> String {
    let mut e = event();
    for field in [
        r#""consent_collection":null,"#,
        r#""custom_text":{"after_submit":null,"shipping_address":null,"submit":null,"terms_of_service_acceptance":null},"#,
        r#""invoice_creation":{"enabled":false,"invoice_data":{"account_tax_ids":null,"custom_fields":null,"description":null,"footer":null,"issuer":null,"metadata":{},"rendering_options":null}},"#,
    ] {
        assert!(e.contains(field), "{field}");
        e = e.replacen(field, "", 1);
    }
    let field = r#","padding":"""#;
    let padding = "x".repeat(2048 - e.len() - field.len());
    e.insert_str(e.len() - 1, &format!(r#","padding":"{padding}""#));
    assert_eq!(e.len(), 2048);
    e
}

/// The event pretty-printed, as the PSP sends it (two-space indentation, a space after each
/// colon), and cut to `len` bytes when given: fields the provider never reads are left out
/// until it fits, and a padding field makes up the rest.
fn pretty(len: Option<usize>) -> String {
    let mut event: serde_json::Value = serde_json::from_str(&event()).expect("the event is JSON");
    let print = |event: &serde_json::Value| {
        serde_json::to_string_pretty(event).expect("a JSON value prints")
    };
    let Some(len) = len else {
        return print(&event);
    };
    // `,\n  "padding": ""`.
    const PADDING: usize = 17;
    for unread in [
        "invoice_creation",
        "custom_text",
        "automatic_tax",
        "total_details",
        "phone_number_collection",
        "payment_method_options",
        "adaptive_pricing",
        "consent",
        "consent_collection",
        "currency_conversion",
        "custom_fields",
        "saved_payment_method_options",
        "shipping_options",
        "shipping_address_collection",
        "shipping_cost",
        "shipping_details",
        "after_expiration",
        "allow_promotion_codes",
        "billing_address_collection",
        "payment_link",
        "payment_method_configuration_details",
        "recovered_from",
        "setup_intent",
        "submit_type",
        "subscription",
        "invoice",
        "customer",
        "client_secret",
        "ui_mode",
        "url",
    ] {
        if print(&event).len() + PADDING <= len {
            break;
        }
        if let Some(object) = event["data"]["object"].as_object_mut() {
            object.remove(unread);
        }
    }
    let room = len
        .checked_sub(print(&event).len() + PADDING)
        .expect("the event fits once its unread fields are left out");
    event["padding"] = serde_json::Value::String("x".repeat(room));
    let body = print(&event);
    assert_eq!(body.len(), len);
    body
}

fn bench(c: &mut Criterion) {
    bench_with(c, false);
    bench_with(c, true);
}

/// A signed notification of `body`, and its header.
fn signed(body: &str) -> (String, RawNotification) {
    let header = generate_test_header(body.as_bytes(), SECRET, T);
    let mut headers = http::HeaderMap::new();
    headers.insert("stripe-signature", header.parse().expect("ascii header"));
    let raw = RawNotification::new(HttpMethod::Post, "", body.to_owned(), headers, None)
        .expect("small body");
    (header, raw)
}

fn bench_with(c: &mut Criterion, best_of_chunks: bool) {
    let provider = StripeLike::new(StripeLikeConfig::new(Mode::Test, "sk_test_bench", [SECRET]))
        .expect("valid config");
    let now = Timestamp::from_second(T + 10).expect("valid time");

    let mut g = c.benchmark_group(if best_of_chunks {
        "stripe_like_verify_best_chunks"
    } else {
        "stripe_like_verify"
    });
    g.throughput(Throughput::Elements(1));
    for (body, shape) in [
        (event_2_kib(), ""),
        (event(), ""),
        (pretty(Some(2048)), "_pretty"),
        (pretty(None), "_pretty"),
    ] {
        let (_, raw) = signed(&body);
        let first = provider.verify(&raw, now);
        assert!(matches!(first, Ok(Verified::Payment(_))), "{first:?}");
        g.bench_function(format!("verify_{}_bytes{shape}", body.len()), |b| {
            run(b, best_of_chunks, || {
                provider.verify(black_box(&raw), black_box(now))
            })
        });
    }
    let body = event();
    let (header, _) = signed(&body);
    let verifier = WebhookVerifier::new([SECRET], 300).expect("valid secret");
    g.bench_function("signature_only", |b| {
        run(b, best_of_chunks, || {
            verifier.verify(
                Some(black_box(header.as_bytes())),
                black_box(body.as_bytes()),
                now,
            )
        })
    });
    let rotated = WebhookVerifier::new(["whsec_other_one", SECRET], 300).expect("valid secrets");
    g.bench_function("signature_second_of_two_secrets", |b| {
        run(b, best_of_chunks, || {
            rotated.verify(
                Some(black_box(header.as_bytes())),
                black_box(body.as_bytes()),
                now,
            )
        })
    });
    // The floor of any serde_json reading of this body, for comparison.
    g.bench_function("serde_json_skip_only", |b| {
        run(b, best_of_chunks, || {
            serde_json::from_slice::<serde::de::IgnoredAny>(black_box(body.as_bytes()))
        })
    });
    g.bench_function("serde_json_skip_only_str", |b| {
        run(b, best_of_chunks, || {
            serde_json::from_str::<serde::de::IgnoredAny>(black_box(body.as_str()))
        })
    });
    g.finish();
}

fn run<O>(b: &mut criterion::Bencher<'_>, best_of_chunks: bool, mut f: impl FnMut() -> O) {
    if best_of_chunks {
        b.iter_custom(|iters| best_chunks(iters, &mut f));
    } else {
        b.iter(f);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
