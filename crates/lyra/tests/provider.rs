//! Configuration, bank references and the prepared form through the public API; no secret
//! in any output.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use secrecy::SecretString;
use tpe_core::{PaymentProvider, PaymentReference, ProviderError};
use tpe_lyra::sign::Algorithm;
use tpe_lyra::{Lyra, LyraConfig};

#[test]
fn bank_references_are_the_day_and_the_sequence() {
    let p = common::provider();
    let r = PaymentReference::parse("order-1").unwrap();
    assert_eq!(
        p.bank_reference(&r, common::now(), 1).unwrap().as_str(),
        "20250115-000001"
    );
    assert_eq!(
        p.bank_reference(&r, common::now(), 899_999)
            .unwrap()
            .as_str(),
        "20250115-899999"
    );
    for nonce in [0, 900_000, u64::MAX] {
        match p.bank_reference(&r, common::now(), nonce) {
            Err(ProviderError::InvalidRequest { field, .. }) => assert_eq!(field, "vads_trans_id"),
            other => panic!("{nonce}: {other:?}"),
        }
    }
}

#[test]
fn the_prepared_form_is_signed_and_complete() {
    let p = common::provider();
    let req = common::request_for(&p, &common::customer(), 4200, 42);
    let prepared = p.prepare_now(&req, common::now()).unwrap();
    let r = &prepared.redirect;
    assert_eq!(
        r.action.as_str(),
        "https://paiement.systempay.fr/vads-payment/"
    );
    let f = &r.fields;
    let expect = [
        ("vads_site_id", "12345678"),
        ("vads_ctx_mode", "TEST"),
        ("vads_trans_id", "000042"),
        ("vads_trans_date", "20250115093000"),
        ("vads_amount", "4200"),
        ("vads_currency", "978"),
        ("vads_order_id", "order-1042"),
        ("vads_cust_first_name", "Zoé"),
        ("vads_cust_address", "1 rue de Paris Bâtiment C"),
        ("vads_cust_country", "FR"),
        ("vads_cust_phone", "+33612345678"),
        ("vads_ship_to_last_name", "Dupont"),
        ("vads_url_check", "https://shop.example.com/pay/ipn?o=42"),
        ("vads_language", "fr"),
        ("vads_version", "V2"),
    ];
    for (name, value) in expect {
        assert_eq!(common::field(f, name), value, "{name}");
    }
    assert_eq!(
        prepared.provider_data.as_ref().unwrap().as_str(),
        "20250115093000"
    );
    // The signature is the last field and covers every vads_ field.
    let (name, sig) = f.last().unwrap();
    assert_eq!(name, "signature");
    let pairs: Vec<(&str, &str)> = f[..f.len() - 1]
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        &common::key(Algorithm::HmacSha256).sign(pairs.iter().copied()),
        sig
    );
    let names: HashMap<&str, usize> = f.iter().map(|(n, _)| (n.as_str(), 0)).collect();
    assert_eq!(names.len(), f.len(), "no field twice");
}

#[test]
fn impossible_requests_name_the_field() {
    let p = common::provider();
    let field_of = |e: ProviderError| match e {
        ProviderError::InvalidRequest { field, .. } => field.into_owned(),
        other => panic!("{other:?}"),
    };
    let req = common::request_for(&p, &common::customer(), 0, 1);
    assert_eq!(
        field_of(p.prepare_now(&req, common::now()).unwrap_err()),
        "vads_amount"
    );
    let req = common::request_for(&p, &common::customer(), tpe_lyra::MAX_AMOUNT + 1, 1);
    assert_eq!(
        field_of(p.prepare_now(&req, common::now()).unwrap_err()),
        "vads_amount"
    );
    let req = common::request_for(&p, &common::customer(), tpe_lyra::MAX_AMOUNT, 1);
    assert!(p.prepare_now(&req, common::now()).is_ok());
    let mut c = common::customer();
    c.first_name = "A".repeat(64);
    let req = common::request_for(&p, &c, 100, 1);
    assert_eq!(
        field_of(p.prepare_now(&req, common::now()).unwrap_err()),
        "vads_cust_first_name"
    );
    let mut c = common::customer();
    c.last_name = "Dupont<script>".into();
    let req = common::request_for(&p, &c, 100, 1);
    assert_eq!(
        field_of(p.prepare_now(&req, common::now()).unwrap_err()),
        "vads_cust_last_name"
    );
    // The core refuses such a postcode first; the provider bounds it on its own too.
    let mut req = common::request_for(&p, &common::customer(), 100, 1);
    req.customer.address.postcode = "75001;".into();
    assert_eq!(
        field_of(p.prepare_now(&req, common::now()).unwrap_err()),
        "vads_cust_zip"
    );
    // A trans id allocated yesterday cannot be sent today.
    let req = common::request_for(&p, &common::customer(), 100, 1);
    let tomorrow = common::now() + jiff::SignedDuration::from_hours(24);
    assert_eq!(
        field_of(p.prepare_now(&req, tomorrow).unwrap_err()),
        "vads_trans_date"
    );
    // Another currency than the shop's.
    let mut req = common::request_for(&p, &common::customer(), 100, 1);
    req.amount = tpe_core::Amount::new(100, tpe_core::Currency::USD).unwrap();
    assert_eq!(
        field_of(p.prepare_now(&req, common::now()).unwrap_err()),
        "vads_currency"
    );
}

fn config_error(cfg: LyraConfig) -> String {
    match Lyra::new(cfg) {
        Err(ProviderError::Config { reason, .. }) => reason.into_owned(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_ids_and_keys_are_startup_errors_naming_the_setting() {
    let mut cfg = common::config();
    cfg.site_id = "1234567".into();
    assert!(config_error(cfg).starts_with("site_id"));
    let mut cfg = common::config();
    cfg.test_key = Some(SecretString::from("has a blank"));
    let msg = config_error(cfg);
    assert!(
        msg.starts_with("test_key") && !msg.contains("blank"),
        "{msg}"
    );
    let mut cfg = common::config();
    cfg.ctx_mode = tpe_lyra::CtxMode::Production;
    assert!(config_error(cfg).starts_with("production_key"));
    let mut cfg = common::config();
    cfg.previous_keys = vec![SecretString::from("")];
    assert!(config_error(cfg).starts_with("previous_keys"));
    let mut cfg = common::config();
    cfg.language = Some("FRA".into());
    assert!(config_error(cfg).starts_with("language"));
}

#[test]
fn toml_and_environment_share_one_schema() {
    let toml = LyraConfig::from_toml_str(
        r#"
        brand = "sogecommerce"
        site_id = "12345678"
        ctx_mode = "PRODUCTION"
        production_key = "PrOdKeY123456789"
        previous_keys = ["OldKey0123456789"]
        algorithm = "sha1"
        [rest]
        password = "prodpassword_ABC"
        "#,
    )
    .unwrap();
    let vars: HashMap<&str, &str> = [
        ("TPE_LYRA_BRAND", "sogecommerce"),
        ("TPE_LYRA_SITE_ID", "12345678"),
        ("TPE_LYRA_CTX_MODE", "PRODUCTION"),
        ("TPE_LYRA_PRODUCTION_KEY", "PrOdKeY123456789"),
        ("TPE_LYRA_PREVIOUS_KEYS", "OldKey0123456789"),
        ("TPE_LYRA_ALGORITHM", "sha1"),
        ("TPE_LYRA_REST_PASSWORD", "prodpassword_ABC"),
    ]
    .into_iter()
    .collect();
    let env = LyraConfig::from_lookup(|n| vars.get(n).map(|v| (*v).to_owned())).unwrap();
    for cfg in [toml, env] {
        assert_eq!(cfg.brand, tpe_lyra::Brand::Sogecommerce);
        assert_eq!(cfg.algorithm, Algorithm::Sha1);
        assert_eq!(cfg.previous_keys.len(), 1);
        let p = Lyra::new(cfg).unwrap();
        let shown = format!("{p:?}");
        assert!(shown.contains("sogecommerce.societegenerale.eu"), "{shown}");
        for secret in ["PrOdKeY123456789", "OldKey0123456789", "prodpassword_ABC"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
    // Errors name the variable or the key, never the secret.
    let e = LyraConfig::from_lookup(|n| (n == "TPE_LYRA_SITE_ID").then(|| "x".into()))
        .and_then(Lyra::new)
        .unwrap_err()
        .to_string();
    assert!(e.contains("site_id"), "{e}");
    let e = LyraConfig::from_lookup(|n| match n {
        "TPE_LYRA_SITE_ID" => Some("12345678".into()),
        "TPE_LYRA_ALGORITHM" => Some("md5".into()),
        _ => None,
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("TPE_LYRA_ALGORITHM"), "{e}");
    assert!(
        LyraConfig::from_lookup(|_| None)
            .unwrap_err()
            .to_string()
            .contains("TPE_LYRA_SITE_ID")
    );
    let e = LyraConfig::from_toml_str(
        "site_id = \"12345678\"\ntest_key = \"k\"\nrest = { hmac_key = \"sekrit\" }",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("rest") && !e.contains("sekrit"), "{e}");
}

#[test]
fn a_key_of_the_wrong_type_is_not_repeated_in_the_error() {
    // Found by fuzzing: serde's message quoted the value (`invalid type: integer `…``), and a
    // Lyra key is often all digits.
    for key in [
        "1122334455667788",
        "[1122334455667788]",
        "{ a = 1122334455667788 }",
    ] {
        let e = LyraConfig::from_toml_str(&format!("site_id = \"12345678\"\ntest_key = {key}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("test_key") && !e.contains("1122334455667788"),
            "{e}"
        );
    }
}

#[test]
fn no_secret_in_debug_display_or_errors() {
    let p = common::provider();
    assert!(!format!("{p:?}").contains(common::KEY));
    assert!(!format!("{:?}", common::config()).contains(common::KEY));
    assert!(!format!("{:?}", common::key(Algorithm::Sha1)).contains(common::KEY));
    let body = common::signed(
        &common::ipn_fields("AUTHORISED", "00", "00"),
        Algorithm::HmacSha256,
    );
    let forged = body.replace("4200", "4201");
    let e = p.verify_bytes(forged.as_bytes()).unwrap_err();
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(common::KEY), "{text}");
    }
    let n = p.verify_bytes(body.as_bytes()).unwrap();
    assert!(!format!("{n:?}").contains(common::KEY));
    let req = common::request_for(&p, &common::customer(), 4200, 7);
    let prepared = p.prepare_now(&req, common::now()).unwrap();
    assert!(!format!("{prepared:?}").contains(common::KEY));
}
