//! Preparing a redirect (with the 3-D Secure XML and the HMAC) and verifying a notification
//! (parse + RSA). Run: `cargo bench -p tpe-paybox -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)] // a bench panics on setup errors

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
    // Baselines measured in the same run (same machine load): the bare primitives.
    let keys =
        tpe_paybox::sign::BankKeys::from_pem_or_der(common::TEST_PUBLIC_PEM.as_bytes()).unwrap();
    let data = raw.rsplit_once("&K=").unwrap().0.to_owned();
    let sig = common::sign(&data);
    g.bench_function("baseline_rsa_verify_only", |b| {
        b.iter(|| keys.verify(black_box(data.as_bytes()), &sig).unwrap())
    });
    let redirect = p.prepare_redirect(&req, now).unwrap();
    let fields: Vec<(&str, &str)> = redirect.fields[..redirect.fields.len() - 1]
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let key = secrecy::SecretString::from(common::HMAC_KEY);
    g.bench_function("baseline_hmac_with_rekey", |b| {
        b.iter(|| {
            tpe_paybox::sign::hmac_hex(&key, tpe_paybox::config::HashAlgorithm::Sha512, &fields)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(paybox, benches);
criterion_main!(paybox);
