//! Notifications through the public API: verified before read, refused when forged or
//! malformed, unknown codes unclassified, answered in the bank's words.
#![allow(clippy::unwrap_used)]

mod common;

use common::{fields, key, post, provider, signed};
use tpe_conformance::fixtures::now;
use tpe_core::{
    BankOutcome, Handled, HttpMethod, OutcomeKind, PaymentProvider, ProviderError, RawNotification,
    Verified,
};
use tpe_skeleton::notify::{NOT_RECEIVED, RECEIVED};

fn verify(body: &str) -> Result<Verified, ProviderError> {
    provider().verify(&post(body.to_owned()), now())
}

fn payment(body: &str) -> tpe_core::VerifiedNotification {
    match verify(body).unwrap() {
        Verified::Payment(n) => n,
        other => panic!("not a payment: {other:?}"),
    }
}

#[test]
fn sign_then_verify_round_trip() {
    let n = payment(&signed("00"));
    assert_eq!(n.provider.as_str(), "skeleton");
    assert_eq!(n.bank_reference.as_str(), "0000000000aZ");
    assert_eq!(n.bank_transaction_id, "T-778899");
    assert_eq!(
        (n.amount.minor(), n.amount.currency().alpha()),
        (4321, "EUR")
    );
    assert_eq!(
        n.outcome,
        BankOutcome::Accepted {
            authorization: Some("XY1234".into())
        }
    );
    let card = n.card.unwrap();
    assert_eq!(card.bin.as_deref(), Some("497010"));
    assert_eq!(card.last_digits.as_deref(), Some("7890"));
}

#[test]
fn field_order_and_encoding_do_not_matter_the_decoded_values_are_signed() {
    let mut f = fields("00");
    let signature = key().sign(f.iter().copied());
    f.reverse();
    let mut body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&f)
        .append_pair("signature", &signature)
        .finish();
    // The same reference with an escape the bank may use: the decoded value is what counts.
    body = body.replace("reference=0000000000aZ", "reference=0000000000a%5A");
    assert_eq!(payment(&body).bank_reference.as_str(), "0000000000aZ");
}

#[test]
fn a_get_carries_the_notification_in_its_query() {
    let raw = RawNotification::new(
        HttpMethod::Get,
        signed("00"),
        bytes::Bytes::new(),
        http::HeaderMap::new(),
        None,
    )
    .unwrap();
    assert!(provider().verify(&raw, now()).is_ok());
}

#[test]
fn every_tampered_byte_is_refused() {
    let body = signed("51");
    for i in 0..body.len() {
        let mut b = body.clone().into_bytes();
        b[i] ^= 0x01;
        let r = provider().verify(&post(b), now());
        assert!(
            matches!(
                r,
                Err(ProviderError::BadSignature { .. } | ProviderError::Malformed { .. })
            ),
            "byte {i}: {r:?}"
        );
    }
    // A changed value with a well-formed body is a bad signature.
    let forged = body.replace("amount=4321", "amount=4322");
    assert!(matches!(
        verify(&forged),
        Err(ProviderError::BadSignature { .. })
    ));
}

#[test]
fn missing_empty_or_foreign_signatures_are_refused() {
    let body = signed("00");
    let (unsigned, _) = body.rsplit_once("&signature=").unwrap();
    for forged in [
        unsigned.to_owned(),
        format!("{unsigned}&signature="),
        format!("{unsigned}&signature=zz"),
        tpe_skeleton::SigningKey::from_hex(&secrecy::SecretString::from("ab".repeat(32)))
            .unwrap()
            .signed_form(&fields("00")),
    ] {
        assert!(
            matches!(verify(&forged), Err(ProviderError::BadSignature { .. })),
            "{forged}"
        );
    }
}

#[test]
fn duplicate_fields_and_broken_escapes_are_malformed() {
    let body = signed("00");
    for forged in [
        format!("amount=1&{body}"),
        format!("{body}&signature=00"),
        body.replace("currency=EUR", "currency=E%ZR"),
        body.replace("currency=EUR", "currency=%FF"),
    ] {
        let e = verify(&forged).unwrap_err();
        assert!(
            matches!(e, ProviderError::Malformed { .. }),
            "{forged}: {e:?}"
        );
    }
    // A signed but unreadable notification is malformed too, checked after the signature.
    let mut f = fields("00");
    f[4] = ("amount", "12a");
    let e = verify(&key().signed_form(&f)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "skeleton: malformed amount must be 1 to 12 digits"
    );
    f[4] = ("amount", "4321");
    f[1] = ("merchant", "7654321");
    assert!(matches!(
        verify(&key().signed_form(&f)),
        Err(ProviderError::Malformed { .. })
    ));
}

#[test]
fn outcomes_of_the_table_and_unknown_codes() {
    let kind = |code| payment(&signed(code)).outcome.kind();
    assert_eq!(kind("00"), OutcomeKind::Accepted);
    assert_eq!(kind("17"), OutcomeKind::Cancelled);
    assert_eq!(kind("P1"), OutcomeKind::Pending);
    let refused = payment(&signed("51")).outcome;
    let BankOutcome::Refused { reason } = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(reason.code(), "51");
    assert_eq!(reason.kind(), tpe_core::ReasonKind::InsufficientFunds);
    // Authentic but outside the table: never a verdict.
    assert_eq!(
        payment(&signed("Z9")).outcome,
        BankOutcome::Unclassified { code: "Z9".into() }
    );
}

#[test]
fn answers_in_the_bank_words() {
    let p = provider();
    let verified = verify(&signed("00")).unwrap();
    let ok = p.answer(&Handled::Processed(&verified));
    assert_eq!((ok.status, ok.body.as_ref()), (200, RECEIVED));

    let forged = verify(&signed("00").replace("4321", "4322")).unwrap_err();
    let rejected = p.answer(&Handled::Rejected(&forged));
    assert_eq!(
        (rejected.status, rejected.body.as_ref()),
        (400, NOT_RECEIVED)
    );

    let unknown = p.answer(&Handled::UnknownCheckout);
    assert_eq!((unknown.status, unknown.body.as_ref()), (404, NOT_RECEIVED));

    // A store outage: the bank must retry, so never a 2xx.
    let down = p.answer(&Handled::Unavailable);
    assert_eq!((down.status, down.body.as_ref()), (503, NOT_RECEIVED));
}

#[test]
fn notifications_are_bounded_as_forms() {
    let limits = provider().profile().limits;
    assert_eq!(limits, tpe_core::NotificationLimits::FORM);
    let big = vec![b'a'; limits.max_body + 1];
    assert!(
        RawNotification::within(
            limits,
            HttpMethod::Post,
            bytes::Bytes::new(),
            big,
            http::HeaderMap::new(),
            None
        )
        .is_err()
    );
}
