//! Payment in instalments (spec §2): `PBX_TOTAL` the first instalment, `PBX_2MONTn` /
//! `PBX_DATEn` the later ones, all under `PBX_HMAC`, within the configured limits; the IPNs of
//! later instalments (their own `S`, their amount in `M`, `Z` `index-count`); and the mock
//! bank running a schedule.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use bytes::Bytes;
use common::*;
use secrecy::SecretString;
use tpe_conformance::instalments::three_instalments;
use tpe_conformance::mock_paybox::{HMAC_KEY as MOCK_HMAC_KEY, IDENTIFIANT, RANG, SITE};
use tpe_conformance::{MockPaybox, Receiver};
use tpe_core::instalments::{Interval, Schedule, french_day};
use tpe_core::{
    Amount, BankOutcome, Currency, HttpMethod, OutcomeKind, PaymentProvider, PaymentRequest,
    ProviderError, RawNotification, ReasonKind, Timestamp, Verified, VerifiedNotification,
};
use tpe_paybox::config::{HashAlgorithm, Platform, PublicKeySource};
use tpe_paybox::sign::hmac_hex;
use tpe_paybox::{Paybox, PayboxConfig};

/// The variables of a shop that wants the instalment of each IPN: `Z`.
const RETOUR: &str = "M:M;R:R;T:T;S:S;A:A;E:E;Z:Z;K:K";

fn in_three(minor: u64, now: Timestamp) -> PaymentRequest {
    let total = Amount::new(minor, Currency::EUR).unwrap();
    let schedule = Schedule::split(total, 3, french_day(now), Interval::Months(1)).unwrap();
    request_for(&customer(), minor, Currency::EUR)
        .with_schedule(schedule)
        .unwrap()
}

#[test]
fn the_first_is_pbx_total_and_the_later_ones_are_signed_with_it() {
    let p = provider();
    let redirect = p.prepare_redirect(&in_three(10_000, now()), now()).unwrap();
    let fields = &redirect.fields;
    let f: HashMap<&str, &str> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(f["PBX_TOTAL"], "3334", "the page charges the first");
    assert_eq!(f["PBX_2MONT1"], "3333");
    assert_eq!(f["PBX_DATE1"], "15/02/2025");
    assert_eq!(f["PBX_2MONT2"], "3333");
    assert_eq!(f["PBX_DATE2"], "15/03/2025");
    assert!(!f.contains_key("PBX_2MONT3") && !f.contains_key("PBX_DATE3"));
    assert_eq!(f["PBX_DATEVALMAX"], "2503", "the card outlives the last");
    let (name, mac) = fields.last().unwrap();
    assert_eq!(name, "PBX_HMAC");
    let pairs: Vec<(&str, &str)> = fields[..fields.len() - 1]
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let key = SecretString::from(HMAC_KEY);
    assert_eq!(&hmac_hex(&key, HashAlgorithm::Sha512, &pairs).unwrap(), mac);
    let changed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|&(k, v)| (k, if k == "PBX_2MONT2" { "3332" } else { v }))
        .collect();
    assert_ne!(
        &hmac_hex(&key, HashAlgorithm::Sha512, &changed).unwrap(),
        mac
    );
    assert_eq!(p.profile().instalments.unwrap().max_count, 4);
    // A payment in one go keeps its total and has no schedule fields.
    let single = p.prepare_redirect(&request(), now()).unwrap();
    assert!(
        !single
            .fields
            .iter()
            .any(|(k, _)| k.starts_with("PBX_2MONT"))
    );
}

fn refusal(p: &Paybox, request: &PaymentRequest) -> String {
    match p.prepare_now(request, now()) {
        Err(ProviderError::InvalidRequest { field, reason, .. }) => format!("{field}: {reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn schedules_outside_the_limits_are_refused_naming_the_field() {
    let total = Amount::new(10_000, Currency::EUR).unwrap();
    let with = |count, every| {
        let s = Schedule::split(total, count, french_day(now()), every).unwrap();
        request_for(&customer(), 10_000, Currency::EUR)
            .with_schedule(s)
            .unwrap()
    };
    let refused = refusal(&provider(), &with(5, Interval::Months(1)));
    assert!(
        refused.starts_with("PBX_2MONT1: ") && refused.contains("at most 4"),
        "{refused}"
    );
    let mut cfg = config();
    cfg.instalments = toml_limits("max_delay_days = 40");
    let far = refusal(&Paybox::new(cfg).unwrap(), &with(3, Interval::Months(1)));
    assert!(far.contains("days away, the bank allows 40"), "{far}");
    let late = request_for(&customer(), 10_000, Currency::EUR)
        .with_schedule(
            Schedule::split(
                total,
                2,
                french_day(now()).tomorrow().unwrap(),
                Interval::Days(7),
            )
            .unwrap(),
        )
        .unwrap();
    assert!(refusal(&provider(), &late).contains("first instalment"));
}

fn toml_limits(text: &str) -> tpe_core::instalments::InstalmentSettings {
    PayboxConfig::from_toml_str(&format!(
        "site = \"1999888\"\nrang = \"32\"\nidentifiant = \"107904482\"\nhmac_key = \"{HMAC_KEY}\"\n[instalments]\n{text}\n"
    ))
    .unwrap()
    .instalments
}

fn ipn(p: &Paybox, data: &str) -> Result<VerifiedNotification, ProviderError> {
    let raw = RawNotification::new(
        HttpMethod::Get,
        Bytes::from(signed(data, "K")),
        Bytes::new(),
        http::HeaderMap::new(),
        None,
    )
    .unwrap();
    match p.verify(&raw, now())? {
        Verified::Payment(n) => Ok(n),
        other => panic!("{other:?}"),
    }
}

#[test]
fn later_instalments_are_read_from_z() {
    let p = provider_with_retour(RETOUR);
    let second = ipn(
        &p,
        "M=3333&R=ORDER-2025-0001&T=30378572&S=13989866&A=&E=00151&Z=2-3",
    )
    .unwrap();
    assert_eq!(second.instalment, Some(2));
    assert_eq!(second.amount.minor(), 3333);
    let BankOutcome::Refused { reason } = &second.outcome else {
        panic!("{:?}", second.outcome)
    };
    assert_eq!(reason.kind(), ReasonKind::InsufficientFunds);
    let third = ipn(
        &p,
        "M=3333&R=ORDER-2025-0001&T=30378572&S=13989867&A=XXXXXX&E=00000&Z=3-3",
    )
    .unwrap();
    assert_eq!(
        (third.instalment, third.outcome.kind()),
        (Some(3), OutcomeKind::Accepted)
    );
    assert_ne!(second.bank_transaction_id, third.bank_transaction_id);
    // Not `index-count` of a schedule: no instalment.
    for z in ["", "1-1", "4-3", "x-3", "2"] {
        let n = ipn(
            &p,
            &format!("M=3333&R=ORDER-2025-0001&T=1&S=2&A=X&E=00000&Z={z}"),
        )
        .unwrap();
        assert_eq!(n.instalment, None, "{z}");
    }
    // Forged: the signature covers Z, M and E.
    let genuine = signed("M=3333&R=ORDER-2025-0001&T=1&S=2&A=&E=00151&Z=2-3", "K");
    for (from, to) in [
        ("E=00151", "E=00000"),
        ("Z=2-3", "Z=3-3"),
        ("M=3333", "M=0333"),
    ] {
        let raw = RawNotification::new(
            HttpMethod::Get,
            Bytes::from(genuine.replace(from, to)),
            Bytes::new(),
            http::HeaderMap::new(),
            None,
        )
        .unwrap();
        assert!(
            matches!(
                p.verify(&raw, now()),
                Err(ProviderError::BadSignature { .. })
            ),
            "{to}"
        );
    }
}

#[tokio::test]
async fn the_mock_bank_runs_a_schedule_of_three() {
    let now = now();
    let mock = MockPaybox::spawn(now).await;
    let mut cfg = PayboxConfig::new(SITE, RANG, IDENTIFIANT, SecretString::from(MOCK_HMAC_KEY))
        .with_retour(RETOUR.parse().unwrap());
    cfg.platform = Platform::at_base_url(&mock.base_url()).unwrap();
    cfg.public_keys = vec![PublicKeySource::Pem(mock.public_key_pem().to_owned())];
    let p = Paybox::new(cfg).unwrap();
    let shop = Receiver::start().await;
    let bank = mock.bank();
    let charge = |r: &str, n, ok| bank.charge_instalment(tpe_mock_bank::Side::Paybox, r, n, ok);
    let story = three_instalments(&p, &mock, &shop, &in_three(10_000, now), now, charge)
        .await
        .unwrap();
    let BankOutcome::Refused { reason } = &story.notifications[1].outcome else {
        panic!()
    };
    assert_eq!(reason.code(), "00151");
    let ledger = bank.paybox_transactions();
    assert_eq!(ledger.len(), 3);
    assert_eq!(ledger[1]["amount"], 3333);
}
