//! Cross-check with eopayment, Entr'ouvert's French payment library (PyPI, pinned in
//! `tests/sdk/requirements.txt`): `tests/sdk/eopayment_check.py` builds payment requests with
//! its `paybox`, `systempayv2` and `payzen` backends, has the mock bank accept, pay, refuse and
//! cancel them, and checks that eopayment's `response()` accepts the mock's notifications and
//! browser returns; its `worldline` backend's signed hosted checkouts are taken, paid, refused
//! and cancelled, and read back with the right result. Then this project's providers must sign
//! eopayment's request fields exactly as eopayment did.
//!
//! The library lives in the virtualenv made by `.ci/crosscheck-venv`: `TPE_PY_VENV`, by default
//! `.venv-crosscheck` at the workspace root. Without it the test says "skipped" and passes,
//! unless `REQUIRE_CROSSCHECK=1`.
#![allow(clippy::unwrap_used)]

#[path = "sdk/venv.rs"]
mod venv;

use secrecy::SecretString;
use serde_json::Value;
use tpe_mock_bank::{MockBank, MockBankConfig};

/// The fields of one signed request, in the order eopayment posted them.
fn fields(request: &Value) -> Vec<(String, String)> {
    request["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn value<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields.iter().find(|(n, _)| n == name).unwrap().1
}

/// tpe-paybox signs eopayment's Paybox fields (all before `PBX_HMAC`, in order) with the same
/// HMAC.
fn paybox_agrees(request: &Value) {
    let fields = fields(request);
    let signed: Vec<(&str, &str)> = fields
        .iter()
        .take_while(|(n, _)| n != "PBX_HMAC")
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(value(&fields, "PBX_HASH"), "SHA512");
    let key = SecretString::from(request["key_hex"].as_str().unwrap().to_owned());
    let ours = tpe_paybox::sign::hmac_hex(&key, tpe_paybox::config::HashAlgorithm::Sha512, &signed)
        .unwrap();
    assert_eq!(ours, value(&fields, "PBX_HMAC"), "PBX_HMAC over {signed:?}");
}

/// tpe-lyra signs eopayment's `vads_*` fields with the same signature.
/// tpe-worldline's v1HMAC `Authorization` of the request eopayment signed.
fn worldline_agrees(request: &Value) {
    let text = |name: &str| request[name].as_str().unwrap_or_default().to_owned();
    let mut headers = vec![
        ("Content-Type".to_owned(), text("content_type")),
        ("Date".to_owned(), text("date")),
    ];
    if let Some(key) = request["idempotence_key"].as_str() {
        headers.push(("X-GCS-Idempotence-Key".to_owned(), key.to_owned()));
    }
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let to_sign = tpe_worldline::string_to_sign(&text("method"), &headers, &text("path")).unwrap();
    let ours = tpe_worldline::authorization(&text("key_id"), &text("secret"), &to_sign).unwrap();
    assert_eq!(
        ours,
        format!("GCS v1HMAC:{}:{}", text("key_id"), text("signature")),
        "{request}"
    );
}

fn lyra_agrees(request: &Value) {
    let fields = fields(request);
    assert_eq!(request["algorithm"], "hmac_sha256");
    let key = SecretString::from(request["key"].as_str().unwrap().to_owned());
    let key =
        tpe_lyra::sign::ShopKey::new(&key, tpe_lyra::Algorithm::HmacSha256, "test_key").unwrap();
    let ours = key.sign(fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    assert_eq!(ours, value(&fields, "signature"), "signature of {fields:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eopayment_accepts_the_mock_and_our_providers_sign_as_it_does() {
    let Some(python) = venv::python() else {
        return;
    };
    let mut config = MockBankConfig::for_tests();
    // eopayment's Paybox response(callback=True) reads `code_autorisation` (A) in every
    // notification and fails without it: it expects the empty `A=` of a refusal, one of the two
    // shapes the spec reports (the mock's default is the other one, no `A`, as the real refusal
    // of spec §4.5).
    config.paybox_shapes.refusal_empty_authorization = true;
    let bank = MockBank::spawn(config).await.expect("mock bank starts");
    let signed = std::env::temp_dir().join(format!("eopayment-signed-{}.json", std::process::id()));
    let args = vec![bank.base_url().to_owned(), signed.display().to_string()];
    venv::run(python, "eopayment_check.py", args, "eopayment").await;
    let requests: Value = serde_json::from_slice(&std::fs::read(&signed).unwrap()).unwrap();
    let _ = std::fs::remove_file(&signed);
    let paybox = requests["paybox"].as_array().unwrap();
    let lyra = requests["lyra"].as_array().unwrap();
    let worldline = requests["worldline"].as_array().unwrap();
    assert_eq!(
        (paybox.len(), lyra.len(), worldline.len()),
        (3, 6, 3),
        "{requests}"
    );
    paybox.iter().for_each(paybox_agrees);
    lyra.iter().for_each(lyra_agrees);
    worldline.iter().for_each(worldline_agrees);
    println!(
        "tpe-paybox, tpe-lyra and tpe-worldline sign {} eopayment requests as eopayment does",
        paybox.len() + lyra.len() + worldline.len()
    );
}
