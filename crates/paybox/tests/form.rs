//! The hosted-page form through `prepare`: field order, amounts, PSD2 (3-D Secure) data edge
//! cases, options, and the MAC over exactly the submitted fields.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::*;
use hmac::{KeyInit, Mac};
use tpe_core::{Currency, Customer, PaymentProvider, PostalAddress, ProviderError};
use tpe_paybox::Paybox;
use tpe_paybox::config::{Authentication, Capture, IpnMethod, PageSource};

fn field<'a>(r: &'a tpe_core::Redirect, name: &str) -> Option<&'a str> {
    r.fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn billing(c: &Customer) -> Result<String, ProviderError> {
    let r = provider().prepare_redirect(&request_for(c, 1000, Currency::EUR), now())?;
    Ok(field(&r, "PBX_BILLING").unwrap().to_owned())
}

#[tokio::test]
async fn fields_in_order_and_mac_over_exactly_them() {
    let p = provider();
    let r = p.prepare(&request(), now()).await.unwrap().redirect;
    assert_eq!(r.method, tpe_core::HttpMethod::Post);
    assert_eq!(
        r.action.as_str(),
        "https://tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi"
    );
    let names: Vec<&str> = r.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "PBX_SITE",
            "PBX_RANG",
            "PBX_IDENTIFIANT",
            "PBX_TOTAL",
            "PBX_DEVISE",
            "PBX_CMD",
            "PBX_PORTEUR",
            "PBX_RETOUR",
            "PBX_HASH",
            "PBX_TIME",
            "PBX_EFFECTUE",
            "PBX_REFUSE",
            "PBX_ANNULE",
            "PBX_ATTENTE",
            "PBX_REPONDRE_A",
            "PBX_SHOPPINGCART",
            "PBX_BILLING",
            "PBX_SOUHAITAUTHENT",
            "PBX_LANGUE",
            "PBX_HMAC"
        ]
    );
    assert_eq!(field(&r, "PBX_TOTAL"), Some("2550"));
    assert_eq!(field(&r, "PBX_DEVISE"), Some("978"));
    assert_eq!(field(&r, "PBX_CMD"), Some("ORDER-2025-0001"));
    assert_eq!(field(&r, "PBX_PORTEUR"), Some("jean.dupont@example.com"));
    assert_eq!(field(&r, "PBX_TIME"), Some("2025-01-15T09:30:00+00:00"));
    assert_eq!(
        field(&r, "PBX_REPONDRE_A"),
        Some("https://shop.example.com/pay/ipn?o=42")
    );
    assert_eq!(field(&r, "PBX_HASH"), Some("SHA512"));
    assert_eq!(field(&r, "PBX_LANGUE"), Some("FRA"));
    assert!(field(&r, "PBX_RETOUR").unwrap().ends_with(";K:K"));
    // Billing of the customer of vector S2 is byte-identical to the vector's XML.
    assert_eq!(
        field(&r, "PBX_BILLING"),
        Some(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Billing><Address><FirstName>Jean</FirstName><LastName>Dupont</LastName><Address1>1 rue de Paris</Address1><ZipCode>75001</ZipCode><City>Paris</City><CountryCode>250</CountryCode><CountryCodeMobilePhone>+33</CountryCodeMobilePhone><MobilePhone>0612345678</MobilePhone></Address></Billing>"
        )
    );
    // Independent HMAC over the submitted fields (RustCrypto directly).
    let (last, signed) = r.fields.split_last().unwrap();
    let msg = signed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac =
        hmac::Hmac::<sha2::Sha512>::new_from_slice(&hex::decode(HMAC_KEY).unwrap()).unwrap();
    mac.update(msg.as_bytes());
    assert_eq!(last.1, hex::encode_upper(mac.finalize().into_bytes()));
}

#[test]
fn amounts_are_minor_units_per_currency() {
    let p = provider();
    let total = |minor| {
        p.prepare_redirect(&request_for(&customer(), minor, Currency::EUR), now())
            .map(|r| field(&r, "PBX_TOTAL").unwrap().to_owned())
    };
    assert_eq!(total(1).unwrap(), "001");
    assert_eq!(total(999).unwrap(), "999");
    assert_eq!(total(9_999_999_999).unwrap(), "9999999999");
    for bad in [0, 10_000_000_000] {
        let e = total(bad).unwrap_err();
        assert!(matches!(e, ProviderError::InvalidRequest { .. }), "{e}");
        assert!(e.to_string().contains("PBX_TOTAL"));
    }
    // Another currency than the contract's is refused.
    let e = p
        .prepare_redirect(
            &request_for(&customer(), 100, Currency::from_alpha("USD").unwrap()),
            now(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("PBX_DEVISE"), "{e}");
    // 0 and 3 decimals.
    for (alpha, numeric) in [("JPY", "392"), ("KWD", "414")] {
        let mut cfg = config();
        cfg.currency = Currency::from_alpha(alpha).unwrap();
        let p = Paybox::new(cfg).unwrap();
        let r = p
            .prepare_redirect(
                &request_for(&customer(), 1234, Currency::from_alpha(alpha).unwrap()),
                now(),
            )
            .unwrap();
        assert_eq!(field(&r, "PBX_TOTAL"), Some("1234"));
        assert_eq!(field(&r, "PBX_DEVISE"), Some(numeric));
    }
}

#[test]
fn psd2_long_names_and_accents() {
    let mut c = customer();
    c.first_name = "Marie-Françoise Éléonore".into();
    c.last_name = "de La Tour d'Auvergne-Lauraguais".into();
    c.address.as_mut().unwrap().line1 =
        "Résidence « Les Mimosas », bâtiment B, 12 avenue du Général Leclerc".into();
    c.address.as_mut().unwrap().city = "Saint-Étienne".into();
    let b = billing(&c).unwrap();
    assert!(b.contains("<FirstName>Marie-Francoise</FirstName>"), "{b}");
    assert!(
        b.contains("<LastName>de La Tour d Auvergne</LastName>"),
        "{b}"
    );
    assert!(b.contains("<City>Saint-Etienne</City>"), "{b}");
    let a1 = b
        .split("<Address1>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert!(
        a1.len() <= 50 && a1.starts_with("Residence Les Mimosas batiment B 12"),
        "{a1}"
    );
    assert!(b.is_ascii() && !b.contains('\n'));
    assert!(!b.contains("&amp;") && !b.contains("&apos;"));
}

#[test]
fn psd2_address_line_2_present_missing_or_empty_after_cleaning() {
    let mut c = customer();
    let b = billing(&c).unwrap();
    assert!(!b.contains("Address2"), "{b}");
    c.address.as_mut().unwrap().line2 = Some("Bât. C — 3ᵉ étage".into());
    let b = billing(&c).unwrap();
    assert!(b.contains("<Address2>Bat C - 3e etage</Address2>"), "{b}");
    c.address.as_mut().unwrap().line2 = Some("***".into());
    let b = billing(&c).unwrap();
    assert!(!b.contains("Address2"), "{b}");
}

#[test]
fn psd2_foreign_phone_and_country() {
    let mut c = customer();
    c.phone = Some("+44 7911 123456".into());
    c.address = Some(PostalAddress {
        line1: "10 Downing Street".into(),
        line2: None,
        postcode: "SW1A 2AA".into(),
        city: "London".into(),
        country: "GB".into(),
    });
    let b = billing(&c).unwrap();
    assert!(b.contains("<CountryCode>826</CountryCode>"), "{b}");
    assert!(b.contains("<CountryCodeMobilePhone>+44</CountryCodeMobilePhone><MobilePhone>7911123456</MobilePhone>"), "{b}");
    assert!(b.contains("<ZipCode>SW1A 2AA</ZipCode>"), "{b}");
    c.address.as_mut().unwrap().country = "BE".into();
    c.address.as_mut().unwrap().postcode = "1000".into();
    c.phone = Some("+32 470 12 34 56".into());
    let b = billing(&c).unwrap();
    assert!(b.contains("<CountryCode>056</CountryCode>"), "{b}");
    assert!(
        b.contains("<CountryCodeMobilePhone>+32</CountryCodeMobilePhone>"),
        "{b}"
    );
}

#[test]
fn psd2_values_that_cannot_be_made_valid_are_refused() {
    let mut c = customer();
    c.first_name = "!!!".into();
    let e = billing(&c).unwrap_err();
    assert!(matches!(e, ProviderError::InvalidRequest { .. }));
    assert!(e.to_string().contains("FirstName"), "{e}");
    let mut c = customer();
    c.address.as_mut().unwrap().city = "???".into();
    assert!(billing(&c).unwrap_err().to_string().contains("City"));
    // A name in another script is transliterated, not refused.
    let mut c = customer();
    c.last_name = "王".into();
    assert!(billing(&c).unwrap().contains("<LastName>Wang</LastName>"));
}

#[test]
fn options_are_sent() {
    let mut cfg = config().with_ipn_method(IpnMethod::Post);
    cfg.source = Some(PageSource::Responsive);
    cfg.capture = Capture::Manual;
    cfg.authentication = Authentication::Challenge;
    cfg.low_value_exemption_max = Some(3000);
    let p = Paybox::new(cfg.clone()).unwrap();
    let r = p.prepare_redirect(&request(), now()).unwrap();
    assert_eq!(field(&r, "PBX_RUF1"), Some("POST"));
    assert_eq!(field(&r, "PBX_SOURCE"), Some("RWD"));
    assert_eq!(field(&r, "PBX_AUTOSEULE"), Some("O"));
    assert_eq!(field(&r, "PBX_SOUHAITAUTHENT"), Some("02")); // 25.50 <= 30.00
    let big = p
        .prepare_redirect(&request_for(&customer(), 5000, Currency::EUR), now())
        .unwrap();
    assert_eq!(field(&big, "PBX_SOUHAITAUTHENT"), Some("04"));
    cfg.capture = Capture::Deferred { days: 3 };
    cfg.authentication = Authentication::Omit;
    cfg.low_value_exemption_max = None;
    let r = Paybox::new(cfg)
        .unwrap()
        .prepare_redirect(&request(), now())
        .unwrap();
    assert_eq!(field(&r, "PBX_DIFF"), Some("03"));
    assert!(field(&r, "PBX_SOUHAITAUTHENT").is_none() && field(&r, "PBX_AUTOSEULE").is_none());
    assert_eq!(r.fields.last().unwrap().0, "PBX_HMAC");
}

#[test]
fn bad_configuration_is_a_startup_error() {
    type Change = Box<dyn Fn(&mut tpe_paybox::PayboxConfig)>;
    let cases: Vec<(&str, Change)> = vec![
        ("site", Box::new(|c| c.site = "123".into())),
        ("rang", Box::new(|c| c.rang = "3a".into())),
        (
            "identifiant",
            Box::new(|c| c.identifiant = "1234567890".into()),
        ),
        (
            "hmac key",
            Box::new(|c| c.hmac_key = "ABCD".to_owned().into()),
        ),
        (
            "public key",
            Box::new(|c| {
                c.public_keys = vec![tpe_paybox::config::PublicKeySource::Pem(
                    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into(),
                )]
            }),
        ),
        (
            "public key",
            Box::new(|c| {
                c.public_keys = vec![tpe_paybox::config::PublicKeySource::File(
                    "/nonexistent.pem".into(),
                )]
            }),
        ),
        ("page_path", Box::new(|c| c.page_path = "cgi".into())),
    ];
    for (what, change) in cases {
        let mut cfg = config();
        change(&mut cfg);
        let e = Paybox::new(cfg).unwrap_err();
        assert!(matches!(e, ProviderError::Config { .. }), "{what}: {e}");
        assert!(e.to_string().contains(what), "{what}: {e}");
    }
}
