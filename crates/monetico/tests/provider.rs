//! The provider through its public API: configuration, prepare, verify, answers, secrets.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use base64::Engine as _;
use secrecy::SecretString;
use tpe_core::{
    Ack, BankOutcome, Currency, Handled, OutcomeKind, PaymentProvider, PaymentReference,
    ProviderError, ThreeDsStatus, Verified,
};
use tpe_monetico::notify::{NOT_RECEIVED, RECEIVED};
use tpe_monetico::{Monetico, MoneticoConfig};

fn config_error(cfg: MoneticoConfig) -> String {
    match Monetico::new(cfg) {
        Err(e @ ProviderError::Config { .. }) => e.to_string(),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn bad_settings_are_startup_errors_naming_the_setting() {
    let mut c = common::config();
    c.tpe = "12345".into();
    assert!(config_error(c).contains("tpe"));
    let mut c = common::config();
    c.societe = "mon site".into();
    assert!(config_error(c).contains("societe"));
    let mut c = common::config();
    c.language = Some("XX".into());
    assert!(config_error(c).contains("language"));
    let mut c = common::config();
    c.currency = Currency::BHD;
    assert!(config_error(c).contains("currency"));
    for bad in ["0123", "0123456789ABCDEF0123456789ABCDEF0123456Z", ""] {
        let mut c = common::config();
        c.key = SecretString::from(bad);
        let e = config_error(c);
        assert!(e.contains("key"), "{e}");
        assert!(bad.is_empty() || !e.contains(bad));
    }
}

#[test]
fn toml_and_environment_share_one_schema() {
    let toml = MoneticoConfig::from_toml_str(
        r#"
        tpe = "1234567"
        societe = "monsite"
        key = "0123456789ABCDEF0123456789ABCDEF01234567"
        environment = "production"
        base_url = "http://127.0.0.1:8080/mock/"
        language = "EN"
    "#,
    )
    .unwrap();
    let vars: HashMap<&str, &str> = [
        ("TPE_MONETICO_TPE", "1234567"),
        ("TPE_MONETICO_SOCIETE", "monsite"),
        ("TPE_MONETICO_KEY", common::KEY),
        ("TPE_MONETICO_ENVIRONMENT", "production"),
        ("TPE_MONETICO_BASE_URL", "http://127.0.0.1:8080/mock/"),
        ("TPE_MONETICO_LANGUAGE", "EN"),
    ]
    .into_iter()
    .collect();
    let env = MoneticoConfig::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned())).unwrap();
    let (a, b) = (Monetico::new(toml).unwrap(), Monetico::new(env).unwrap());
    assert_eq!(
        a.page_url().as_str(),
        "http://127.0.0.1:8080/mock/paiement.cgi"
    );
    assert_eq!(a.page_url(), b.page_url());
    let test = common::provider();
    assert_eq!(
        test.page_url().as_str(),
        "https://p.monetico-services.com/test/paiement.cgi"
    );
    let e = MoneticoConfig::from_lookup(|k| {
        (k != "TPE_MONETICO_KEY")
            .then(|| vars.get(k).map(|v| (*v).to_owned()))
            .flatten()
    })
    .unwrap_err();
    assert!(e.to_string().contains("TPE_MONETICO_KEY"));
    let e = MoneticoConfig::from_toml_str("tpe = \"1\"\nsocietee = \"x\"").unwrap_err();
    assert!(e.to_string().contains("societee"), "{e}");
}

#[test]
fn prepare_signs_the_version_3_form() {
    let p = common::provider();
    let prepared = p.prepare_now(&common::request(), common::now()).unwrap();
    let f: HashMap<&str, &str> = prepared
        .redirect
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(f["version"], "3.0");
    assert_eq!(f["TPE"], common::TPE);
    assert_eq!(f["societe"], common::SOCIETE);
    assert_eq!(f["reference"], "250115000001");
    assert_eq!(f["montant"], "25.50EUR");
    // 09:30 UTC is 10:30 in Paris in January.
    assert_eq!(f["date"], "15/01/2025:10:30:00");
    assert_eq!(f["lgue"], "FR");
    assert_eq!(f["url_retour_ok"], "https://shop.example.com/pay/ok");
    assert_eq!(f["texte-libre"], "Commande 1042 -- oeufs frais");
    assert!(f.values().all(|v| !v.is_empty() && v.is_ascii()));
    let json = base64::engine::general_purpose::STANDARD
        .decode(f["contexte_commande"])
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["billing"]["addressLine1"], "1 rue de Paris");
    assert_eq!(json["billing"]["country"], "FR");
    assert_eq!(json["billing"]["postalCode"], "75001");
    assert_eq!(json["billing"]["phone"], "+33-612345678");
    assert_eq!(json["shipping"]["city"], "Paris");
    // The MAC is the last field and is the MAC of all the others.
    let (name, mac) = prepared.redirect.fields.last().unwrap();
    assert_eq!(name, "MAC");
    let others = prepared.redirect.fields[..prepared.redirect.fields.len() - 1]
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()));
    assert_eq!(&common::key().sign(others), mac);
    assert_eq!(
        prepared.provider_data.unwrap().as_str(),
        "date=15/01/2025:10:30:00"
    );
}

#[test]
fn impossible_requests_are_refused_before_any_redirect() {
    let p = common::provider();
    let zero = common::request_for(&common::customer(), 0, Currency::EUR);
    let too_big = common::request_for(&common::customer(), 10_000_000_000, Currency::EUR);
    let usd = common::request_for(&common::customer(), 100, Currency::USD);
    for (req, field) in [(zero, "amount"), (too_big, "amount"), (usd, "currency")] {
        match p.prepare_now(&req, common::now()) {
            Err(ProviderError::InvalidRequest { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
    let long = common::request()
        .with_bank_reference(tpe_core::BankReference::parse("ORDER-2025-0001").unwrap());
    assert!(matches!(
        p.prepare_now(&long, common::now()),
        Err(ProviderError::InvalidRequest { field, .. }) if field == "reference"
    ));
}

#[test]
fn bank_reference_is_the_day_and_its_number() {
    let p = common::provider();
    let shop = PaymentReference::parse("CMD-1").unwrap();
    let now = common::now();
    assert_eq!(p.profile().nonce, tpe_core::NonceSource::DailySequence);
    let a = p.bank_reference(&shop, now, 1).unwrap();
    let b = p.bank_reference(&shop, now, 2).unwrap();
    assert_eq!(a.as_str(), "250115000001");
    assert_eq!(b.as_str(), "250115000002");
    assert_eq!(
        p.bank_reference(&shop, now, 999_999).unwrap().as_str(),
        "250115999999"
    );
    // The UTC day, not Paris's: 23:30 UTC on the 15th is the 15th.
    let late: tpe_core::Timestamp = "2025-01-15T23:30:00Z".parse().unwrap();
    assert!(
        p.bank_reference(&shop, late, 3)
            .unwrap()
            .as_str()
            .starts_with("250115")
    );
    assert!(matches!(
        p.bank_reference(&shop, now, 1_000_000),
        Err(ProviderError::InvalidRequest { field, .. }) if field == "reference"
    ));
}

#[test]
fn returns_verify_then_read() {
    let p = common::provider();
    let raw = common::post(common::signed("payetest", ""));
    let Verified::Payment(n) = p.verify(&raw, common::now()).unwrap() else {
        panic!("payment")
    };
    assert_eq!(n.bank_reference.as_str(), "250115000001");
    assert_eq!(n.amount.minor(), 2550);
    assert!(
        matches!(n.outcome, BankOutcome::Accepted { ref authorization } if authorization.as_deref() == Some("000000"))
    );
    let card = n.card.unwrap();
    assert_eq!(card.bin.as_deref(), Some("497010"));
    assert_eq!(card.last_digits.as_deref(), Some("07"));
    assert_eq!(card.expiry.as_deref(), Some("2812"));
    assert_eq!(card.brand.as_deref(), Some("VI"));
    let three_ds = n.three_ds.unwrap();
    assert_eq!(three_ds.status, Some(ThreeDsStatus::Authenticated));
    assert_eq!(three_ds.liability_shift, Some(true));
    assert_eq!(three_ds.version.as_deref(), Some("2.2.0"));
}

#[test]
fn masked_card_with_a_multibyte_character_is_read_without_panic() {
    // Found by fuzzing: the trailing digits were cut one byte after the last non-digit, which
    // panicked inside a multi-byte character.
    let p = common::provider();
    let fields: Vec<(&str, &str)> = common::fields("payetest", "")
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                if k == "cbmasquee" {
                    "1234XXXXXXXXXXX12é34"
                } else {
                    v
                },
            )
        })
        .collect();
    let raw = common::post(common::key().signed_form(&fields));
    let Verified::Payment(n) = p.verify(&raw, common::now()).unwrap() else {
        panic!("payment")
    };
    assert_eq!(n.card.unwrap().last_digits.as_deref(), Some("34"));
}

#[test]
fn annulation_is_a_refusal_and_a_later_paiement_another_transaction() {
    let p = common::provider();
    let refused = p
        .verify_bytes(common::signed("Annulation", "Refus").as_bytes())
        .unwrap();
    assert_eq!(refused.outcome.kind(), OutcomeKind::Refused);
    let paid = p
        .verify_bytes(common::signed("paiement", "").as_bytes())
        .unwrap();
    assert_eq!(paid.outcome.kind(), OutcomeKind::Accepted);
    assert_ne!(refused.bank_transaction_id, paid.bank_transaction_id);
    let again = p
        .verify_bytes(common::signed("paiement", "").as_bytes())
        .unwrap();
    assert_eq!(again.bank_transaction_id, paid.bank_transaction_id);
    let unknown = p
        .verify_bytes(common::signed("Annulation", "nouveau").as_bytes())
        .unwrap();
    assert_eq!(unknown.outcome, BankOutcome::unclassified("nouveau"));
}

#[test]
fn forged_returns_are_refused() {
    let p = common::provider();
    let genuine = common::signed("payetest", "");
    let (data, mac) = genuine.rsplit_once("&MAC=").unwrap();
    let other_key = tpe_monetico::MacKey::new(&SecretString::from(
        "1123456789ABCDEF0123456789ABCDEF01234567",
    ))
    .unwrap();
    for forged in [
        data.to_owned(),
        format!("{data}&MAC="),
        format!("{data}&MAC={mac}&MAC={mac}"),
        format!("{data}&MAC={}", &mac[..39]),
        format!("{data}&MAC={}", "zz".repeat(20)),
        other_key.signed_form(&common::fields("payetest", "")),
        genuine.replace("TPE=1234567", "TPE=7654321"),
    ] {
        assert!(
            p.verify_bytes(forged.as_bytes())
                .unwrap_err()
                .is_rejection()
        );
    }
    // Upper-case MAC verifies too.
    let upper = format!("{data}&MAC={}", mac.to_ascii_uppercase());
    assert!(p.verify_bytes(upper.as_bytes()).is_ok());
    // Another terminal's authentic return is malformed.
    let mut f = common::fields("payetest", "");
    f[0].1 = "7654321";
    let body = common::key().signed_form(&f);
    assert!(matches!(
        p.verify_bytes(body.as_bytes()),
        Err(ProviderError::Malformed { .. })
    ));
}

#[test]
fn acknowledgements_are_the_banks_words() {
    let p = common::provider();
    let n = p
        .verify_bytes(common::signed("Annulation", "Refus").as_bytes())
        .unwrap();
    let v = Verified::Payment(n);
    assert_eq!(p.answer(&Handled::Processed(&v)), Ack::plain(200, RECEIVED));
    let e = ProviderError::bad_signature(&Monetico::ID);
    let rejected = p.answer(&Handled::Rejected(&e));
    assert_eq!(
        (rejected.status, rejected.body.as_ref()),
        (400, NOT_RECEIVED)
    );
    assert_eq!(p.answer(&Handled::Unavailable).status, 503);
    assert_eq!(p.answer(&Handled::UnknownCheckout).body, NOT_RECEIVED);
}

#[test]
fn no_secret_in_debug_or_errors() {
    let p = common::provider();
    let mut shown = format!("{p:?} {:?} {:?}", common::config(), common::key());
    let mut c = common::config();
    c.key = SecretString::from(format!("{}Z", &common::KEY[..39]));
    shown.push_str(&format!("{:?}", Monetico::new(c).unwrap_err()));
    let prepared = p.prepare_now(&common::request(), common::now()).unwrap();
    shown.push_str(&format!("{prepared:?}"));
    for secret in [
        common::KEY,
        &common::KEY.to_ascii_lowercase(),
        &common::KEY[..16],
    ] {
        assert!(!shown.contains(secret), "{secret}");
    }
}

#[test]
fn legacy_returns_verify_over_the_fixed_order_string() {
    let mut cfg = common::config();
    cfg.mac_format = tpe_monetico::MacFormat::Legacy;
    let p = Monetico::new(cfg).unwrap();
    let fields = common::fields("paiement", "");
    let text = tpe_monetico::legacy::response_string(common::TPE, &fields);
    assert!(text.starts_with("1234567*15/01/2025_a_10:31:02*25.50EUR*250115000001*Commande 1042*3.0*paiement*oui*1228*VI**000000*"));
    // 20 slots, each followed by `*`.
    assert!(text.ends_with("*FRA*49701000******"), "{text}");
    assert_eq!(text.matches('*').count(), 20);
    let mac = common::key().mac_bytes(text.as_bytes());
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .append_pair("MAC", &mac)
        .finish();
    let n = p.verify_bytes(body.as_bytes()).unwrap();
    assert_eq!(n.outcome.kind(), OutcomeKind::Accepted);
    // The sorted MAC is not the legacy one, and a changed value is refused.
    assert!(
        p.verify_bytes(common::signed("paiement", "").as_bytes())
            .is_err()
    );
    let forged = body.replace("25.50EUR", "2.50EUR");
    assert!(
        p.verify_bytes(forged.as_bytes())
            .unwrap_err()
            .is_rejection()
    );
}

#[test]
fn a_bad_environment_variable_is_named() {
    let vars = |name: &str| match name {
        "TPE_MONETICO_TPE" => Some("1234567".to_owned()),
        "TPE_MONETICO_SOCIETE" => Some("monsite".to_owned()),
        "TPE_MONETICO_KEY" => Some(common::KEY.to_owned()),
        "TPE_MONETICO_ENVIRONMENT" => Some("staging".to_owned()),
        _ => None,
    };
    let e = MoneticoConfig::from_lookup(vars).unwrap_err().to_string();
    assert!(e.contains("TPE_MONETICO_ENVIRONMENT"), "{e}");
    assert!(!e.contains(common::KEY));
}
