//! `verify` of a 2,048-byte Worldline Direct webhook (`payment.captured`, pretty-printed as the
//! platform sends it): `X-GCS-Signature` over the raw body, then the event read by serde_json.
//!
//! Run with: `taskset -c 1 cargo bench -p tpe-worldline -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tpe_conformance::timing::best_chunks;
use tpe_core::{HttpMethod, PaymentProvider, RawNotification, Timestamp, Verified};
use tpe_worldline::{WebhookKey, Worldline, WorldlineConfig, webhook_signature};

const KEY_ID: &str = "bench-key-id";
const SECRET: &str = "bench-webhook-secret-0123456789abcdef";

/// The spec's Direct event stub as a capture, padded to exactly 2 KiB.
fn event() -> String {
    let mut e = String::from(
        r#"{
   "apiVersion":"v1",
   "created":"2026-11-29T09:51:27.9529667+01:00",
   "id":"0e3ce18a-3e5d-4c77-999e-f20ddb5ec6f9",
   "merchantId":"TpeBenchPSPID",
   "payment":{
      "paymentOutput":{
         "amountOfMoney":{
            "amount":4200,
            "currencyCode":"EUR"
         },
         "references":{
            "merchantReference":"20261129-000042",
            "merchantParameters":"01JGZ6W3Y5K8ZQ9T4R2M7N1P"
         },
         "cardPaymentMethodSpecificOutput":{
            "paymentProductId":1,
            "authorisationCode":"123456",
            "card":{
               "cardNumber":"************0026",
               "expiryDate":"1230",
               "bin":"401200",
               "countryCode":"FR"
            },
            "fraudResults":{
               "fraudServiceResult":"accepted",
               "avsResult":"0",
               "cvvResult":"M"
            },
            "threeDSecureResults":{
               "version":"2.2.0",
               "flow":"frictionless",
               "cavv":"AAABBEg0VhI0VniQEjRWAAAAAAA=",
               "eci":"5",
               "schemeEci":"05",
               "authenticationStatus":"Y",
               "acsTransactionId":"1840F3EA-58FF-458E-A29E-677E13227CBA",
               "dsTransactionId":"02020000f25084f05b164c0aae5db24808a95e4b",
               "liability":"issuer"
            }
         },
         "paymentMethod":"card"
      },
      "hostedCheckoutSpecificOutput":{
         "hostedCheckoutId":"4000123456",
         "variant":"100"
      },
      "status":"CAPTURED",
      "statusOutput":{
         "isCancellable":false,
         "statusCategory":"COMPLETED",
         "statusCode":9,
         "statusCodeChangeDateTime":"20261129095127",
         "isAuthorized":true,
         "isRefundable":true
      },
      "id":"3254564310_0"
   },
   "type":"payment.captured","padding":""
}"#,
    );
    let pad = 2048usize
        .checked_sub(e.len())
        .expect("the event fits in 2 KiB");
    e = e.replacen(
        r#""padding":"""#,
        &format!(r#""padding":"{}""#, "x".repeat(pad)),
        1,
    );
    assert_eq!(e.len(), 2048);
    e
}

fn bench(c: &mut Criterion) {
    let provider = Worldline::new(WorldlineConfig::new(
        "TpeBenchPSPID",
        "api-key",
        "api-secret",
        [
            WebhookKey::new("older-key-id", "older-secret"),
            WebhookKey::new(KEY_ID, SECRET),
        ],
    ))
    .expect("config");
    let body = event();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-gcs-keyid", KEY_ID.parse().expect("header"));
    headers.insert(
        "x-gcs-signature",
        webhook_signature(SECRET, body.as_bytes())
            .parse()
            .expect("header"),
    );
    let raw = RawNotification::new(
        HttpMethod::Post,
        "",
        body.clone().into_bytes(),
        headers,
        None,
    )
    .expect("raw");
    let now = Timestamp::from_second(1_795_953_600).expect("time");
    assert!(matches!(
        provider.verify(&raw, now),
        Ok(Verified::Payment(_))
    ));
    let mut g = c.benchmark_group("worldline");
    g.throughput(Throughput::Bytes(2048));
    g.bench_function("verify_2kib_webhook", |b| {
        b.iter(|| black_box(provider.verify(black_box(&raw), now)))
    });
    g.bench_function("signature_only_2kib", |b| {
        b.iter(|| {
            black_box(
                provider.verifier().verify(
                    Some(KEY_ID.as_bytes()),
                    raw.headers()
                        .get("x-gcs-signature")
                        .map(http::HeaderValue::as_bytes),
                    black_box(raw.body()),
                ),
            )
        })
    });
    g.bench_function("serde_json_ignored_any_2kib", |b| {
        b.iter(|| {
            black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(
                raw.body(),
            )))
        })
    });
    g.bench_function("verify_2kib_webhook_best_chunks", |b| {
        b.iter_custom(|iters| best_chunks(iters, || provider.verify(black_box(&raw), now)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
