//! Verifying an IPN of 50 fields (decode, HMAC-SHA-256 over the sorted values, read), as the
//! platform sends it and in the worst case of 30 values to decode, and preparing a form. Run:
//! `taskset -c 1 cargo bench -p tpe-lyra -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)] // a bench panics on setup errors

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tpe_core::PaymentProvider;
use tpe_lyra::sign::Algorithm;

/// The other 30 fields of an IPN with 3-D Secure and customer data, valued as the platform
/// sends them: most plain, some with spaces, accents, `@`, `=` or JSON to decode.
const REAL_IPN: &[(&str, &str)] = &[
    ("vads_bank_code", "17807"),
    ("vads_bank_label", "Banque Populaire"),
    ("vads_bank_product", "F"),
    (
        "vads_brand_management",
        r#"{"userChoice":false,"brandList":"CB|VISA","brand":"CB"}"#,
    ),
    ("vads_capture_delay", "0"),
    ("vads_card_country", "FR"),
    ("vads_contract_used", "5785350"),
    ("vads_cust_address", "12 rue des Lilas"),
    ("vads_cust_city", "Saint-Étienne"),
    ("vads_cust_country", "FR"),
    ("vads_cust_email", "zoe.dupont@example.com"),
    ("vads_cust_first_name", "Zoé"),
    ("vads_cust_last_name", "Dupont"),
    ("vads_cust_phone", "0612345678"),
    ("vads_cust_zip", "42000"),
    ("vads_effective_amount", "4200"),
    ("vads_effective_creation_date", "20250115093012"),
    ("vads_effective_currency", "978"),
    ("vads_expiry_month", "6"),
    ("vads_expiry_year", "2027"),
    ("vads_language", "fr"),
    ("vads_operation_type", "DEBIT"),
    ("vads_page_action", "PAYMENT"),
    (
        "vads_payment_certificate",
        "9e3d1a6c0a5f4b2e8c7d6b5a4f3e2d1c0b9a8f7e",
    ),
    ("vads_payment_config", "SINGLE"),
    ("vads_presentation_date", "20250115093000"),
    ("vads_threeds_auth_type", "FRICTIONLESS"),
    ("vads_threeds_cavv", "Q2F2dkNhdnZDYXZ2Q2F2dkNhdnY="),
    ("vads_threeds_eci", "05"),
    ("vads_warranty_result", "YES"),
];

/// 50 fields: the 20 of the test IPN, then `more` for each of the 30 others.
fn ipn(more: impl Fn(usize, &str) -> String) -> Vec<(String, String)> {
    let mut fields = common::ipn_fields("AUTHORISED", "00", "00");
    for (name, value) in REAL_IPN {
        assert!(!fields.iter().any(|(n, _)| n == name));
        let value = more(fields.len(), value);
        fields.push(((*name).to_owned(), value));
    }
    assert_eq!(fields.len(), 50);
    fields
}

fn benches(c: &mut Criterion) {
    let p = common::provider();
    let fields = ipn(|_, value| value.to_owned());
    // The worst case: every one of the 30 values has a space and an accent to decode.
    let escaped = common::signed(&ipn(|i, _| format!("valeur é {i}")), Algorithm::HmacSha256);
    let body = common::signed(&fields, Algorithm::HmacSha256);
    let mut g = c.benchmark_group("lyra");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_ipn_50_fields_hmac_sha256", |b| {
        b.iter(|| p.verify_bytes(black_box(body.as_bytes())).unwrap())
    });
    g.bench_function("verify_ipn_50_escaped_values_hmac_sha256", |b| {
        b.iter(|| p.verify_bytes(black_box(escaped.as_bytes())).unwrap())
    });
    let mut cfg = common::config();
    cfg.algorithm = Algorithm::Sha1;
    let sha1 = tpe_lyra::Lyra::new(cfg).unwrap();
    let body1 = common::signed(&fields, Algorithm::Sha1);
    g.bench_function("verify_ipn_50_fields_sha1", |b| {
        b.iter(|| sha1.verify_bytes(black_box(body1.as_bytes())).unwrap())
    });
    // Baselines in the same run: the strict decoding alone, the MAC alone.
    g.bench_function("baseline_form_parse", |b| {
        b.iter(|| {
            tpe_core::form::Form::parse(
                black_box(body.as_bytes()),
                tpe_core::form::FormLimits::NOTIFICATION,
            )
            .unwrap()
        })
    });
    let key = common::key(Algorithm::HmacSha256);
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    g.bench_function("baseline_sign_50_fields", |b| {
        b.iter(|| key.sign(black_box(pairs.iter().copied())))
    });
    let req = common::request_for(&p, &common::customer(), 4200, 42);
    let now = common::now();
    g.bench_function("prepare_form", |b| {
        b.iter(|| p.prepare_now(black_box(&req), now).unwrap())
    });
    g.finish();
}

criterion_group!(lyra, benches);
criterion_main!(lyra);
