//! IPN verification through the public API: every byte changed is refused, outcomes per spec
//! B.6, unknown values left awaiting, the acknowledgement of spec B.7.
#![allow(clippy::unwrap_used)]

mod common;

use tpe_core::{
    Ack, BankOutcome, Handled, HttpMethod, OutcomeKind, PaymentProvider, ProviderError,
    RawNotification, ReasonKind, Verified,
};
use tpe_lyra::sign::Algorithm;

fn post(body: &str) -> RawNotification {
    RawNotification::new(
        HttpMethod::Post,
        Vec::new(),
        body.as_bytes().to_vec(),
        http::HeaderMap::new(),
        None,
    )
    .unwrap()
}

#[test]
fn every_changed_byte_of_a_signed_ipn_is_refused() {
    for algorithm in [Algorithm::HmacSha256, Algorithm::Sha1] {
        let mut cfg = common::config();
        cfg.algorithm = algorithm;
        let p = tpe_lyra::Lyra::new(cfg).unwrap();
        let body = common::signed(&common::ipn_fields("AUTHORISED", "00", "00"), algorithm);
        let genuine = p.verify_bytes(body.as_bytes()).unwrap();
        let bytes = body.as_bytes();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut changed = bytes.to_vec();
                changed[i] ^= flip;
                match p.verify_bytes(&changed) {
                    Err(_) => {}
                    // `%2F` and `%2f` are one byte: the same decoded value.
                    Ok(n) if hex_case(bytes, i, flip) && n == genuine => {}
                    Ok(n) => panic!("byte {i} ^ {flip:#x} accepted: {n:?}"),
                }
            }
        }
    }
}

/// Whether flipping `flip` at `i` only changes the case of a percent escape's hex digit.
fn hex_case(bytes: &[u8], i: usize, flip: u8) -> bool {
    let escape = (i >= 1 && bytes[i - 1] == b'%') || (i >= 2 && bytes[i - 2] == b'%');
    flip == 0x20 && bytes[i].is_ascii_hexdigit() && bytes[i].is_ascii_alphabetic() && escape
}

#[test]
fn renamed_fields_are_refused_unless_listed() {
    // The names are not signed (spec B.5): `vads_extra_result` renamed in place still verifies,
    // and is refused for its name.
    let body = common::signed(
        &common::ipn_fields("AUTHORISED", "00", "00"),
        Algorithm::HmacSha256,
    );
    let renamed = body.replace("vads_extra_result=", "vads_extra_resulu=");
    match common::provider().verify_bytes(renamed.as_bytes()) {
        Err(ProviderError::Malformed { what, .. }) => {
            assert!(what.contains("vads_extra_resulu"), "{what}")
        }
        other => panic!("{other:?}"),
    }
    let mut cfg = common::config();
    cfg.extra_fields = vec!["vads_extra_resulu".into()];
    assert!(
        tpe_lyra::Lyra::new(cfg)
            .unwrap()
            .verify_bytes(renamed.as_bytes())
            .is_ok()
    );
}

#[test]
fn refusals_keep_the_issuer_code_and_classify_it() {
    let p = common::provider();
    let body = common::signed(
        &common::ipn_fields("REFUSED", "51", "05"),
        Algorithm::HmacSha256,
    );
    let n = p.verify_bytes(body.as_bytes()).unwrap();
    let BankOutcome::Refused { reason } = n.outcome else {
        panic!("{:?}", n.outcome)
    };
    assert_eq!(
        (reason.code(), reason.kind()),
        ("51", ReasonKind::InsufficientFunds)
    );
    assert_eq!(n.bank_reference.as_str(), "20250115-000042");
    let card = n.card.unwrap();
    assert_eq!(card.last_digits.as_deref(), Some("0000"));
}

#[test]
fn statuses_give_outcomes_and_unknown_values_stay_awaiting() {
    let p = common::provider();
    let cases = [
        ("AUTHORISED", "00", OutcomeKind::Accepted),
        ("CAPTURED", "00", OutcomeKind::Accepted),
        ("AUTHORISED_TO_VALIDATE", "00", OutcomeKind::Accepted),
        ("WAITING_AUTHORISATION", "", OutcomeKind::Pending),
        ("UNDER_VERIFICATION", "", OutcomeKind::Pending),
        ("ABANDONED", "", OutcomeKind::Cancelled),
        ("CANCELLED", "", OutcomeKind::Cancelled),
        ("EXPIRED", "", OutcomeKind::Refused),
        ("REFUSED", "05", OutcomeKind::Refused),
        ("REFUSED", "X9", OutcomeKind::Unclassified),
        ("SOMETHING_NEW", "00", OutcomeKind::Unclassified),
    ];
    for (status, auth, kind) in cases {
        let body = common::signed(
            &common::ipn_fields(status, auth, "05"),
            Algorithm::HmacSha256,
        );
        let n = p.verify_bytes(body.as_bytes()).unwrap();
        assert_eq!(n.outcome.kind(), kind, "{status} {auth}");
    }
}

#[test]
fn duplicates_missing_signatures_and_other_shops_are_refused() {
    let p = common::provider();
    let body = common::signed(
        &common::ipn_fields("AUTHORISED", "00", "00"),
        Algorithm::HmacSha256,
    );
    let malformed = |b: &str| {
        matches!(
            p.verify_bytes(b.as_bytes()),
            Err(ProviderError::Malformed { .. })
        )
    };
    let bad = |b: &str| {
        matches!(
            p.verify_bytes(b.as_bytes()),
            Err(ProviderError::BadSignature { .. })
        )
    };
    let (data, sig) = body.rsplit_once("&signature=").unwrap();
    assert!(bad(data));
    assert!(bad(&format!("{data}&signature=")));
    assert!(malformed(&format!("{body}&signature={sig}")));
    assert!(malformed(&format!("vads_amount=1&{body}")));
    assert!(malformed(&format!("{data}&signature=%zz")));
    // An added vads_ field is signed too.
    assert!(bad(&format!("vads_extra=1&{body}")));
    // Another shop's or another mode's notification, validly signed with this key.
    let mut f = common::ipn_fields("AUTHORISED", "00", "00");
    f[13].1 = "87654321".into();
    assert!(malformed(&common::signed(&f, Algorithm::HmacSha256)));
    let mut f = common::ipn_fields("AUTHORISED", "00", "00");
    f[7].1 = "PRODUCTION".into();
    assert!(malformed(&common::signed(&f, Algorithm::HmacSha256)));
    // Signed with SHA-1 while the shop is on HMAC-SHA-256.
    assert!(bad(&common::signed(
        &common::ipn_fields("AUTHORISED", "00", "00"),
        Algorithm::Sha1
    )));
}

#[test]
fn the_ipn_is_a_post_and_is_acknowledged_per_the_spec() {
    let p = common::provider();
    let body = common::signed(
        &common::ipn_fields("AUTHORISED", "00", "00"),
        Algorithm::HmacSha256,
    );
    let verified = p.verify(&post(&body), common::now()).unwrap();
    assert!(matches!(verified, Verified::Payment(_)));
    let get = RawNotification::new(
        HttpMethod::Get,
        body.as_bytes().to_vec(),
        Vec::new(),
        http::HeaderMap::new(),
        None,
    )
    .unwrap();
    assert!(p.verify(&get, common::now()).is_err());
    assert_eq!(
        p.answer(&Handled::Processed(&verified)),
        Ack::plain(200, "OK")
    );
    let err = ProviderError::bad_signature(&tpe_lyra::Lyra::ID);
    let rejected = p.answer(&Handled::Rejected(&err));
    assert!((400..500).contains(&rejected.status));
    assert_eq!(p.answer(&Handled::Unavailable).status, 503);
    assert_eq!(p.answer(&Handled::UnknownCheckout).status, 404);
}
