//! Payment in instalments (spec C.3, C.5): `nbrech`, `dateechN`, `montantechN` in the signed
//! form, within the configured limits; the returns of later instalments (`paiement_pfN`,
//! `Annulation_pfN`, amount in `montantech`); and the mock bank running a schedule.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use tpe_conformance::instalments::three_instalments;
use tpe_conformance::{Captured, MockMonetico, Receiver};
use tpe_core::instalments::{Interval, Schedule, french_day};
use tpe_core::{
    Amount, BankOutcome, Currency, OutcomeKind, PaymentProvider, PaymentRequest, ProviderError,
    ReasonKind, Timestamp,
};
use tpe_monetico::{Monetico, MoneticoConfig};

fn in_three(minor: u64, now: Timestamp) -> PaymentRequest {
    let total = Amount::new(minor, Currency::EUR).unwrap();
    let schedule = Schedule::split(total, 3, french_day(now), Interval::Months(1)).unwrap();
    common::request_for(&common::customer(), minor, Currency::EUR)
        .with_schedule(schedule)
        .unwrap()
}

#[test]
fn the_schedule_fields_are_signed_with_the_others() {
    let p = common::provider();
    let prepared = p
        .prepare_now(&in_three(10_000, common::now()), common::now())
        .unwrap();
    let fields = &prepared.redirect.fields;
    let f: HashMap<&str, &str> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(f["montant"], "100.00EUR", "montant stays the total");
    assert_eq!(f["nbrech"], "3");
    // 15 January 2025 in Paris, then a month apart; the remainder on the first.
    assert_eq!(f["dateech1"], "15/01/2025");
    assert_eq!(f["montantech1"], "33.34EUR");
    assert_eq!(f["dateech2"], "15/02/2025");
    assert_eq!(f["montantech2"], "33.33EUR");
    assert_eq!(f["dateech3"], "15/03/2025");
    assert_eq!(f["montantech3"], "33.33EUR");
    assert!(!f.contains_key("dateech4") && !f.contains_key("montantech4"));
    // Posted in name order (digits, upper, lower case), the MAC last and over all others.
    let names: Vec<&str> = fields[..fields.len() - 1]
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let (name, mac) = fields.last().unwrap();
    assert_eq!(name, "MAC");
    let others = || {
        fields[..fields.len() - 1]
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    };
    assert_eq!(&common::key().sign(others()), mac);
    let changed = others().map(|(k, v)| (k, if k == "montantech2" { "33.34EUR" } else { v }));
    assert_ne!(&common::key().sign(changed), mac);
    assert_eq!(p.profile().instalments.unwrap().max_count, 4);
}

fn refused_field(p: &Monetico, request: &PaymentRequest) -> String {
    match p.prepare_now(request, common::now()) {
        Err(ProviderError::InvalidRequest { field, reason, .. }) => format!("{field}: {reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn schedules_outside_the_limits_are_refused_naming_the_field() {
    let today = french_day(common::now());
    let total = Amount::new(10_000, Currency::EUR).unwrap();
    let with = |count, every| {
        let s = Schedule::split(total, count, today, every).unwrap();
        common::request_for(&common::customer(), 10_000, Currency::EUR)
            .with_schedule(s)
            .unwrap()
    };
    let p = common::provider();
    let five = refused_field(&p, &with(5, Interval::Months(1)));
    assert!(
        five.starts_with("nbrech: ") && five.contains("at most 4"),
        "{five}"
    );
    let far = refused_field(&p, &with(3, Interval::Months(3)));
    assert!(far.contains("days away"), "{far}");
    // The limits are the contract's: configured.
    let mut cfg = common::config();
    cfg.instalments = tpe_core::toml::from_str("min_amount = 5000").unwrap();
    let strict = Monetico::new(cfg).unwrap();
    let small = refused_field(&strict, &with(3, Interval::Months(1)));
    assert!(small.contains("minimum is 5000"), "{small}");
    let cfg = MoneticoConfig::from_lookup(|name| match name {
        "TPE_MONETICO_TPE" => Some(common::TPE.into()),
        "TPE_MONETICO_SOCIETE" => Some(common::SOCIETE.into()),
        "TPE_MONETICO_KEY" => Some(common::KEY.into()),
        "TPE_MONETICO_INSTALMENTS_MAX_DELAY_DAYS" => Some("20".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(cfg.instalments.max_delay_days, 20);
}

/// A return of instalment `code` signed with the test key, with `montantech`.
fn instalment_return(code: &str, motif: &str, montantech: &str) -> Vec<u8> {
    let mut f = common::fields(code, motif);
    f.push(("montantech", montantech));
    f.push(("nbrech", "3"));
    common::key().signed_form(&f).into_bytes()
}

#[test]
fn later_instalments_are_read_from_their_code_and_montantech() {
    let p = common::provider();
    let eur = |minor| Amount::new(minor, Currency::EUR).unwrap();
    let paid = p
        .verify_bytes(&instalment_return("paiement_pf2", "", "33.33EUR"))
        .unwrap();
    assert_eq!(paid.instalment, Some(2));
    assert_eq!(paid.amount, eur(3333));
    assert_eq!(paid.outcome.kind(), OutcomeKind::Accepted);
    let refused = p
        .verify_bytes(&instalment_return("Annulation_pf3", "Refus", "33.33EUR"))
        .unwrap();
    assert_eq!(refused.instalment, Some(3));
    let BankOutcome::Refused { reason } = &refused.outcome else {
        panic!("{:?}", refused.outcome)
    };
    assert_eq!(reason.kind(), ReasonKind::Declined);
    assert_eq!(reason.code(), "Refus");
    assert_ne!(paid.bank_transaction_id, refused.bank_transaction_id);
    // The first instalment: a plain code with its `montantech`.
    let first = p
        .verify_bytes(&instalment_return("payetest", "", "33.34EUR"))
        .unwrap();
    assert_eq!((first.instalment, first.amount), (Some(1), eur(3334)));
    // A payment in one go names no instalment.
    let single = p
        .verify_bytes(common::signed("payetest", "").as_bytes())
        .unwrap();
    assert_eq!(single.instalment, None);
    // An instalment number Monetico never sends is not a verdict.
    let odd = p
        .verify_bytes(&instalment_return("paiement_pf7", "", "33.33EUR"))
        .unwrap();
    assert_eq!(odd.outcome.kind(), OutcomeKind::Unclassified);
}

#[test]
fn forged_instalment_returns_are_refused() {
    let p = common::provider();
    let genuine =
        String::from_utf8(instalment_return("Annulation_pf2", "Refus", "33.33EUR")).unwrap();
    for (from, to) in [
        ("Annulation_pf2", "paiement_pf2"),
        ("montantech=33.33EUR", "montantech=3.33EUR"),
        ("Annulation_pf2", "Annulation_pf3"),
    ] {
        assert!(genuine.contains(from));
        let forged = genuine.replace(from, to);
        assert!(
            matches!(
                p.verify_bytes(forged.as_bytes()),
                Err(ProviderError::BadSignature { .. })
            ),
            "{to}"
        );
    }
}

#[tokio::test]
async fn the_mock_bank_runs_a_schedule_of_three() {
    let now = common::now();
    let mock = MockMonetico::spawn(now).await;
    // The shop acknowledges each return (`cdr=0`), so that none is sent again.
    let shop = Receiver::start_with(std::sync::Arc::new(|_: &Captured| {
        (200, "text/plain", tpe_monetico::notify::RECEIVED.to_owned())
    }))
    .await;
    let mut cfg = MoneticoConfig::new(
        tpe_conformance::mock_monetico::TPE,
        tpe_conformance::mock_monetico::SOCIETE,
        secrecy::SecretString::from(tpe_conformance::mock_monetico::KEY),
    )
    .with_base_url(mock.base_url());
    cfg.url_retour_ok = Some(shop.urls().accepted);
    let p = Monetico::new(cfg).unwrap();
    let bank = mock.bank();
    let charge = |r: &str, n, ok| bank.charge_instalment(tpe_mock_bank::Side::Monetico, r, n, ok);
    let story = three_instalments(&p, &mock, &shop, &in_three(10_000, now), now, charge)
        .await
        .unwrap();
    let amounts: Vec<u64> = story
        .notifications
        .iter()
        .map(|n| n.amount.minor())
        .collect();
    assert_eq!(amounts, [3334, 3333, 3333]);
    let BankOutcome::Refused { reason } = &story.notifications[1].outcome else {
        panic!("{:?}", story.notifications[1].outcome)
    };
    assert_eq!(reason.code(), "Refus");

    // The control route, as a person would use it: the first is the page's, an instalment
    // is charged once, an unknown payment is not found.
    let url = format!("{}_mock/monetico/instalments", mock.base_url());
    let http = reqwest::Client::new();
    let status = |body: serde_json::Value| {
        let req = http.post(&url).json(&body);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let r = story.reference.as_str();
    assert_eq!(
        status(serde_json::json!({ "reference": r, "number": 1, "accepted": true })).await,
        409
    );
    assert_eq!(
        status(serde_json::json!({ "reference": r, "number": 2, "accepted": true })).await,
        409
    );
    assert_eq!(
        status(serde_json::json!({ "reference": "NOPE", "number": 2, "accepted": true })).await,
        404
    );
    assert_eq!(status(serde_json::json!({ "reference": r })).await, 422);
}
