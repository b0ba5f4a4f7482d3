//! Preparing a redirect (with `contexte_commande` and the MAC) and verifying a CGI2 return
//! (strict decode, MAC string, HMAC-SHA1, read). Run:
//! `taskset -c 1 cargo bench -p tpe-monetico -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)] // a bench panics on setup errors

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tpe_core::PaymentProvider;

fn benches(c: &mut Criterion) {
    let p = common::provider();
    let req = common::request();
    let now = common::now();
    let mut g = c.benchmark_group("monetico");
    g.throughput(Throughput::Elements(1));
    g.bench_function("prepare_redirect", |b| {
        b.iter(|| p.prepare_now(black_box(&req), now).unwrap())
    });
    let raw = common::signed("payetest", "");
    g.bench_function("verify_cgi2_return", |b| {
        b.iter(|| p.verify_bytes(black_box(raw.as_bytes())).unwrap())
    });
    // Baselines measured in the same run (same machine load): the strict form decoding alone,
    // and the bare HMAC of the MAC string.
    g.bench_function("baseline_form_parse_only", |b| {
        b.iter(|| {
            tpe_core::form::Form::parse(
                black_box(raw.as_bytes()),
                tpe_core::form::FormLimits::NOTIFICATION,
            )
            .unwrap()
            .fields()
            .len()
        })
    });
    let key = common::key();
    let text = tpe_monetico::sign::mac_string(common::fields("payetest", ""));
    g.bench_function("baseline_hmac_sha1_only", |b| {
        b.iter(|| key.mac_bytes(black_box(text.as_bytes())))
    });
    g.finish();
}

criterion_group!(monetico, benches);
criterion_main!(monetico);
