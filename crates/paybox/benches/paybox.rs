//! Preparing a redirect (with the 3-D Secure XML and the HMAC) and verifying a notification
//! (parse + RSA). Run: `cargo bench -p tpe-paybox -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs, unreachable_pub)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    let p = common::provider();
    let mut cust = common::customer();
    cust.first_name = "Éloïse-Françoise".into();
    cust.address.as_mut().unwrap().line2 = Some("Bâtiment C".into());
    let req = common::request_for(&cust, 2550, tpe_core::Currency::EUR);
    let now = common::now();
    let mut g = c.benchmark_group("paybox");
    g.throughput(Throughput::Elements(1));
    g.bench_function("prepare_redirect_with_3ds_xml", |b| {
        b.iter(|| p.prepare_redirect(black_box(&req), now).unwrap())
    });
    let raw = common::signed(
        "M=2550&R=ORDER-2025-0001&T=30378572&S=13989865&A=XXXXXX&E=00000&C=CB&N=497010&J=90&D=2712&Y=FRA&F=Y&G=O&v=2.2.0",
        "K",
    );
    g.bench_function("verify_notification_parse_and_rsa", |b| {
        b.iter(|| p.verify_bytes(black_box(raw.as_bytes())).unwrap())
    });
    g.finish();
}

criterion_group!(paybox, benches);
criterion_main!(paybox);
