//! Payment in instalments (spec B.3, B.6): `vads_payment_config=MULTI_EXT:` with each
//! instalment's day and amount, signed with the other fields, within the configured limits;
//! the IPNs of the instalments' transactions (`vads_sequence_number`, amount in
//! `vads_effective_amount`); and the mock bank running a schedule.
#![allow(clippy::unwrap_used)]

mod common;

use secrecy::SecretString;
use tpe_conformance::instalments::three_instalments;
use tpe_conformance::mock_lyra::{SITE_ID as MOCK_SITE_ID, TEST_KEY};
use tpe_conformance::{MockLyra, Receiver};
use tpe_core::instalments::{Interval, Schedule, french_day};
use tpe_core::{
    Amount, BankOutcome, Currency, HttpMethod, OutcomeKind, PaymentProvider, PaymentRequest,
    ProviderError, RawNotification, ReasonKind, Timestamp, Verified, VerifiedNotification,
};
use tpe_lyra::sign::Algorithm;
use tpe_lyra::{Brand, Lyra, LyraConfig};

fn in_instalments(p: &Lyra, count: u8, every: Interval, now: Timestamp) -> PaymentRequest {
    let total = Amount::new(10_000, Currency::EUR).unwrap();
    let schedule = Schedule::split(total, count, french_day(now), every).unwrap();
    let mut r = common::request_for(p, &common::customer(), 10_000, 1);
    r.reference = "order-1042".parse().unwrap();
    r.with_schedule(schedule).unwrap()
}

use common::field;

#[test]
fn multi_ext_says_every_day_and_amount_under_the_signature() {
    let p = common::provider();
    let now = common::now();
    let prepared = p
        .prepare_now(&in_instalments(&p, 3, Interval::Months(1), now), now)
        .unwrap();
    let f = &prepared.redirect.fields;
    assert_eq!(
        field(f, "vads_amount"),
        "10000",
        "vads_amount stays the total"
    );
    assert_eq!(
        field(f, "vads_payment_config"),
        "MULTI_EXT:20250115=3334;20250215=3333;20250315=3333"
    );
    let (name, sig) = f.last().unwrap();
    assert_eq!(name, "signature");
    let pairs: Vec<(&str, &str)> = f[..f.len() - 1]
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let key = common::key(Algorithm::HmacSha256);
    assert_eq!(&key.sign(pairs.iter().copied()), sig);
    let changed = pairs.iter().map(|&(n, v)| {
        let v = if n == "vads_payment_config" {
            "SINGLE"
        } else {
            v
        };
        (n, v)
    });
    assert_ne!(&key.sign(changed), sig);
    // A payment in one go stays SINGLE.
    let single = p
        .prepare_now(&common::request_for(&p, &common::customer(), 4200, 2), now)
        .unwrap();
    assert_eq!(
        field(&single.redirect.fields, "vads_payment_config"),
        "SINGLE"
    );
}

#[test]
fn the_count_is_the_shops_and_the_limits_name_the_field() {
    let now = common::now();
    let refusal = |p: &Lyra, count, every| match p
        .prepare_now(&in_instalments(p, count, every, now), now)
    {
        Err(ProviderError::InvalidRequest { field, reason, .. }) => format!("{field}: {reason}"),
        other => panic!("{other:?}"),
    };
    let p = common::provider();
    assert_eq!(p.profile().instalments.unwrap().max_count, 4);
    let five = refusal(&p, 5, Interval::Days(10));
    assert!(
        five.starts_with("vads_payment_config: ") && five.contains("at most 4"),
        "{five}"
    );
    let mut cfg = common::config();
    cfg.instalments = tpe_core::toml::from_str("max_count = 6\nmin_amount = 2000").unwrap();
    let six = Lyra::new(cfg).unwrap();
    assert!(
        six.prepare_now(&in_instalments(&six, 5, Interval::Days(10), now), now)
            .is_ok()
    );
    let small = refusal(&six, 6, Interval::Days(10));
    assert!(small.contains("minimum is 2000"), "{small}");
}

fn verify(p: &Lyra, fields: &[(String, String)]) -> Result<VerifiedNotification, ProviderError> {
    let body = common::signed(fields, Algorithm::HmacSha256);
    let raw = RawNotification::new(
        HttpMethod::Post,
        Vec::new(),
        body.into_bytes(),
        http::HeaderMap::new(),
        None,
    )
    .unwrap();
    match p.verify(&raw, common::now())? {
        Verified::Payment(n) => Ok(n),
        other => panic!("{other:?}"),
    }
}

fn instalment_ipn(status: &str, auth: &str, result: &str, sequence: &str) -> Vec<(String, String)> {
    let mut f = common::ipn_fields(status, auth, result);
    f.retain(|(n, _)| n != "vads_amount");
    f.extend([
        ("vads_amount".to_owned(), "10000".to_owned()),
        ("vads_effective_amount".to_owned(), "3333".to_owned()),
        (
            "vads_payment_config".to_owned(),
            "MULTI_EXT:20250115=3334;20250215=3333;20250315=3333".to_owned(),
        ),
        ("vads_sequence_number".to_owned(), sequence.to_owned()),
    ]);
    f.sort();
    f
}

#[test]
fn instalment_ipns_are_read_from_their_sequence_number() {
    let p = common::provider();
    let refused = verify(&p, &instalment_ipn("REFUSED", "51", "05", "2")).unwrap();
    assert_eq!(refused.instalment, Some(2));
    assert_eq!(refused.amount.minor(), 3333);
    let BankOutcome::Refused { reason } = &refused.outcome else {
        panic!("{:?}", refused.outcome)
    };
    assert_eq!(reason.kind(), ReasonKind::InsufficientFunds);
    let paid = verify(&p, &instalment_ipn("AUTHORISED", "00", "00", "3")).unwrap();
    assert_eq!(
        (paid.instalment, paid.outcome.kind()),
        (Some(3), OutcomeKind::Accepted)
    );
    // A payment in one go names no instalment, whatever its sequence number.
    let mut single = common::ipn_fields("AUTHORISED", "00", "00");
    single.push(("vads_payment_config".to_owned(), "SINGLE".to_owned()));
    single.push(("vads_sequence_number".to_owned(), "1".to_owned()));
    single.sort();
    let n = verify(&p, &single).unwrap();
    assert_eq!((n.instalment, n.amount.minor()), (None, 4200));
    // Forged: the signature covers the sequence number and the effective amount.
    let genuine = common::signed(
        &instalment_ipn("REFUSED", "51", "05", "2"),
        Algorithm::HmacSha256,
    );
    for (from, to) in [
        ("vads_sequence_number=2", "vads_sequence_number=3"),
        ("vads_effective_amount=3333", "vads_effective_amount=333"),
        ("vads_trans_status=REFUSED", "vads_trans_status=AUTHORISED"),
    ] {
        assert!(genuine.contains(from), "{from}");
        let raw = RawNotification::new(
            HttpMethod::Post,
            Vec::new(),
            genuine.replace(from, to).into_bytes(),
            http::HeaderMap::new(),
            None,
        )
        .unwrap();
        assert!(
            matches!(
                p.verify(&raw, common::now()),
                Err(ProviderError::BadSignature { .. })
            ),
            "{to}"
        );
    }
}

#[tokio::test]
async fn the_mock_bank_runs_a_schedule_of_three() {
    let now = common::now();
    let mock = MockLyra::spawn(now).await;
    let cfg = LyraConfig::test(Brand::Systempay, MOCK_SITE_ID, SecretString::from(TEST_KEY))
        .with_base_url(mock.base_url());
    let p = Lyra::new(cfg).unwrap();
    let shop = Receiver::start().await;
    let bank = mock.bank();
    let request = in_instalments(&p, 3, Interval::Months(1), now);
    let charge = |r: &str, n, ok| bank.charge_instalment(tpe_mock_bank::Side::Lyra, r, n, ok);
    let story = three_instalments(&p, &mock, &shop, &request, now, charge)
        .await
        .unwrap();
    let BankOutcome::Refused { reason } = &story.notifications[1].outcome else {
        panic!("{:?}", story.notifications[1].outcome)
    };
    assert_eq!(reason.code(), "51");
    assert_eq!(bank.lyra_transactions().len(), 3);
}
