//! Verifying an IPN of 50 fields (decode, HMAC-SHA-256 over the sorted values, read), and
//! preparing a form. Run:
//! `taskset -c 1 cargo bench -p tpe-lyra -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)] // a bench panics on setup errors

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tpe_lyra::sign::Algorithm;

fn benches(c: &mut Criterion) {
    let p = common::provider();
    let mut fields = common::ipn_fields("AUTHORISED", "00", "00");
    // Up to 50 documented fields, as a real IPN with 3-D Secure and customer data.
    for name in tpe_lyra::fields::KNOWN {
        if fields.len() == 50 {
            break;
        }
        if !fields.iter().any(|(n, _)| n == name) {
            let value = format!("valeur é {}", fields.len());
            fields.push(((*name).to_owned(), value));
        }
    }
    assert_eq!(fields.len(), 50);
    let body = common::signed(&fields, Algorithm::HmacSha256);
    let mut g = c.benchmark_group("lyra");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_ipn_50_fields_hmac_sha256", |b| {
        b.iter(|| p.verify_bytes(black_box(body.as_bytes())).unwrap())
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
