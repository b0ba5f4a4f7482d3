//! Notifications end to end: signed with the test key pair in tests/data (playing the bank),
//! verified through the public API.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use bytes::Bytes;
use common::*;
use tpe_core::{
    BankOutcome, HttpMethod, PaymentProvider, ProviderError, RawNotification, ReasonKind,
    ThreeDsStatus, Verified,
};
use tpe_paybox::Paybox;
use tpe_paybox::config::PublicKeySource;

const OK: &str = "M=2550&R=ORDER-2025-0001&T=30378572&S=13989865&A=XXXXXX&E=00000&C=CB&N=497010&J=90&D=2712&Y=FRA&F=Y&G=O&v=2.2.0";

fn get(p: &Paybox, query: &str) -> Result<Verified, ProviderError> {
    let raw = RawNotification::new(
        HttpMethod::Get,
        Bytes::from(query.to_owned()),
        Bytes::new(),
        http::HeaderMap::new(),
        None,
    )
    .unwrap();
    p.verify(&raw, now())
}

fn payment(v: Verified) -> tpe_core::VerifiedNotification {
    match v {
        Verified::Payment(n) => n,
        other => panic!("not a payment: {other:?}"),
    }
}

#[test]
fn accepted_payment_is_mapped() {
    let p = provider();
    let n = payment(get(&p, &signed(OK, "K")).unwrap());
    assert_eq!(n.provider, Paybox::ID);
    assert_eq!(n.bank_reference.as_str(), "ORDER-2025-0001");
    assert_eq!(n.amount.minor(), 2550);
    assert_eq!(n.amount.currency().alpha(), "EUR");
    assert_eq!(n.bank_transaction_id, "30378572:13989865");
    assert_eq!(
        n.outcome,
        BankOutcome::Accepted {
            authorization: Some("XXXXXX".into())
        }
    );
    let card = n.card.clone().unwrap();
    assert_eq!(card.brand.as_deref(), Some("CB"));
    assert_eq!(card.bin.as_deref(), Some("497010"));
    assert_eq!(card.last_digits.as_deref(), Some("90"));
    assert_eq!(card.expiry.as_deref(), Some("2712"));
    assert_eq!(card.country.as_deref(), Some("FRA"));
    let tds = n.three_ds.clone().unwrap();
    assert_eq!(tds.status, Some(ThreeDsStatus::Authenticated));
    assert_eq!(tds.liability_shift, Some(true));
    assert_eq!(tds.version.as_deref(), Some("2.2.0"));
    let ack = p.answer(&tpe_core::Handled::Processed(&Verified::Payment(n.clone())));
    assert_eq!((ack.status, ack.body.as_ref()), (200, ""));
}

#[test]
fn outcomes_by_code() {
    let p = provider();
    let with = |e: &str, s: &str| {
        let data = format!("M=2550&R=ORDER-2025-0001&T=30378572&S={s}&A=&E={e}");
        payment(get(&p, &signed(&data, "K")).unwrap())
    };
    let refused = with("00151", "13989865").outcome;
    let BankOutcome::Refused { reason } = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(
        (reason.kind(), reason.code()),
        (ReasonKind::InsufficientFunds, "00151")
    );
    let BankOutcome::Refused { reason } = with("001A1", "13989865").outcome else {
        panic!()
    };
    assert_eq!(reason.kind(), ReasonKind::AuthenticationRequired);
    // A code outside the table is never a verdict (some modules read 00100, 002xx and
    // 00300–00303 as success): unclassified, the raw code kept.
    for code in [
        "00777", "00100", "00200", "00201", "00300", "00301", "00302", "00303",
    ] {
        assert_eq!(
            with(code, "13989865").outcome,
            BankOutcome::Unclassified { code: code.into() },
            "{code}"
        );
    }
    assert_eq!(with("99999", "13989865").outcome, BankOutcome::Pending);
    // Cancel on the payment page: 00001 without a transaction number (spec §4.5).
    assert_eq!(with("00001", "0").outcome, BankOutcome::Cancelled);
    assert_eq!(with("00001", "").outcome, BankOutcome::Cancelled);
    assert_eq!(with("00030", "0").outcome, BankOutcome::Cancelled);
    // 00001 with a transaction: the authorization centre was unreachable.
    let BankOutcome::Refused { reason } = with("00001", "13989865").outcome else {
        panic!()
    };
    assert_eq!(reason.kind(), ReasonKind::IssuerUnavailable);
    // Neither success nor refusal (meaning unsure): the status query decides.
    assert!(matches!(
        with("00200", "1").outcome,
        BankOutcome::Unclassified { .. }
    ));
    assert_eq!(with("00001", "0").bank_transaction_id, "30378572:0");
}

#[test]
fn post_body_and_custom_names() {
    let p = Paybox::new(
        config()
            .with_ipn_method(tpe_paybox::config::IpnMethod::Post)
            .with_retour(
                "Mt:M;Ref:R;Appel:T;Trans:S;Auto:A;Erreur:E;Sign:K"
                    .parse()
                    .unwrap(),
            ),
    )
    .unwrap();
    let body = signed(
        "Mt=100&Ref=ORDER-1&Appel=1&Trans=2&Auto=A1B2&Erreur=00000",
        "Sign",
    );
    let raw = RawNotification::new(
        HttpMethod::Post,
        Bytes::from_static(b"ignored=1"),
        Bytes::from(body.clone()),
        http::HeaderMap::new(),
        None,
    )
    .unwrap();
    let n = payment(p.verify(&raw, now()).unwrap());
    assert_eq!(
        (n.amount.minor(), n.bank_transaction_id.as_str()),
        (100, "1:2")
    );
    // The same bytes in the query of a POST are not read.
    let raw = RawNotification::new(
        HttpMethod::Post,
        Bytes::from(body),
        Bytes::new(),
        http::HeaderMap::new(),
        None,
    )
    .unwrap();
    assert!(matches!(
        p.verify(&raw, now()),
        Err(ProviderError::BadSignature { .. })
    ));
}

#[test]
fn merchant_prefix_is_skipped() {
    let p = provider();
    // The bank signs only its own variables; the notification URL's own query comes first.
    let q = format!("o=42&action=ipn&{}", signed(OK, "K"));
    let n = payment(get(&p, &q).unwrap());
    assert_eq!(n.amount.minor(), 2550);
    // Signed with the prefix included (browser returns on some accounts): also accepted.
    let q = signed(&format!("o=42&{OK}"), "K");
    assert_eq!(payment(get(&p, &q).unwrap()).amount.minor(), 2550);
    // A prefix cannot smuggle a second value of a signed variable.
    let q = signed(&format!("M=1&{OK}"), "K");
    assert!(matches!(get(&p, &q), Err(ProviderError::Malformed { .. })));
}

#[test]
fn every_single_byte_change_is_refused() {
    let p = provider();
    let good = signed(OK, "K");
    assert!(get(&p, &good).is_ok());
    let bytes = good.as_bytes();
    let mut accepted = Vec::new();
    for i in 0..bytes.len() {
        for replacement in [bytes[i] ^ 0x01, b'0', b'A'] {
            if replacement == bytes[i] {
                continue;
            }
            let mut t = bytes.to_vec();
            t[i] = replacement;
            let t = String::from_utf8_lossy(&t).into_owned();
            match get(&p, &t) {
                Err(e) => assert!(e.is_rejection(), "{i}: {e}"),
                Ok(_) => accepted.push((i, replacement)),
            }
        }
    }
    // A percent-escape's hex digit may change case (`%2F` → `%2f`): same signature bytes.
    for (i, r) in &accepted {
        let original = bytes[*i];
        assert!(
            bytes[i.saturating_sub(2)..*i].contains(&b'%') && original.eq_ignore_ascii_case(r),
            "byte {i} changed to {r:?} was accepted"
        );
    }
}

#[test]
fn missing_empty_duplicated_or_garbled_signatures_fail() {
    let p = provider();
    let good = signed(OK, "K");
    let sig = good.rsplit_once("&K=").unwrap().1;
    let cases = [
        OK.to_owned(),
        format!("{OK}&K="),
        format!("{OK}&K={sig}&K={sig}"),
        format!("{OK}&K=%%%{sig}"),
        format!("{OK}&K={}", &sig[..sig.len() / 2]),
        format!("{OK}&k={sig}"),
        format!("{good}&extra=1"),
        String::new(),
    ];
    for case in cases {
        let e = get(&p, &case).unwrap_err();
        assert!(
            matches!(e, ProviderError::BadSignature { .. }),
            "{case:.40}: {e}"
        );
        assert_eq!(e.to_string(), "paybox: signature rejected");
    }
}

#[test]
fn a_signature_by_another_key_is_refused_and_key_lists_work() {
    let good = signed(OK, "K");
    let embedded_only =
        Paybox::new(config().with_public_keys(vec![PublicKeySource::Embedded])).unwrap();
    assert!(matches!(
        get(&embedded_only, &good),
        Err(ProviderError::BadSignature { .. })
    ));
    let both = Paybox::new(config().with_public_keys(vec![
        PublicKeySource::Embedded,
        PublicKeySource::Pem(TEST_PUBLIC_PEM.to_owned()),
    ]))
    .unwrap();
    assert!(get(&both, &good).is_ok());
}

#[test]
fn authentic_but_unreadable_notifications_are_malformed() {
    let p = provider();
    for data in [
        "M=2550&R=ORDER-1&T=1&S=2",             // no E
        "M=2550&R=ORDER-1&T=1&S=2&E=0000",      // short E
        "M=25.50&R=ORDER-1&T=1&S=2&E=00000",    // amount with a separator
        "M=2550&R=has%20space&T=1&S=2&E=00000", // not one of our references
        "R=ORDER-1&T=1&S=2&E=00000",            // no amount
        "M=2550&R=ORDER-1&T=x&S=2&E=00000",     // call number not digits
        "M=2550&M=1&R=ORDER-1&T=1&S=2&E=00000", // duplicate
    ] {
        let e = get(&p, &signed(data, "K")).unwrap_err();
        assert!(matches!(e, ProviderError::Malformed { .. }), "{data}: {e}");
    }
}

#[test]
fn real_bank_signatures_verify_through_the_provider() {
    // lexik_ipn_ok (paybox-vectors.json), signed by the bank's own key.
    let p = Paybox::new(
        config()
            .with_public_keys(vec![PublicKeySource::Embedded])
            .with_retour(
                "Mt:M;Ref:R;Appel:T;Trans:S;Auto:A;Erreur:E;Sign:K"
                    .parse()
                    .unwrap(),
            ),
    )
    .unwrap();
    let q = "Mt=1000&Ref=CMD1349338388&Auto=XXXXXX&Erreur=00000&Sign=QnhlnuOpcbfUruOU7kKG%2FZmDPsDzM31VrpMIObQomYwEE%2FafhJiDPkWVN9%2Br3JVFXBsFnqo3VlOVzxQVVahXpF7eWiJoAe5LcIoqSvms96SFFv9LfndS%2F3zAO5fF%2FtR4Us3rOSUwT1Hs2AS17R3B9ATwBMhKt1l3DPw9hClpFw0%3D";
    let n = payment(get(&p, q).unwrap());
    assert_eq!(n.bank_reference.as_str(), "CMD1349338388");
    assert_eq!(n.amount.minor(), 1000);
    assert_eq!(n.bank_transaction_id, "0:0");
    assert!(matches!(n.outcome, BankOutcome::Accepted { .. }));
    let tampered = q.replace("Mt=1000", "Mt=1001");
    assert!(matches!(
        get(&p, &tampered),
        Err(ProviderError::BadSignature { .. })
    ));
}
