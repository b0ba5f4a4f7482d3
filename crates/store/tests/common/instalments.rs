//! Payment in instalments in the store: the schedule kept with the checkout, each later
//! instalment its own bank transaction and payment record, the schedule read back with each
//! instalment's state, alone and in a group commit.

use jiff::civil::date;
use tpe_core::instalments::{Interval, Schedule};
use tpe_core::lifecycle::Alert;
use tpe_core::{BankOutcome, CheckoutStatus, Effect, Reason, ReasonKind, VerifiedNotification};
use tpe_store::{EventInput, InstalmentState, StoreError};

use super::suite::{Store, apply, at, eur, new_checkout, notification, r};

/// 43.21 € in 3: 14.41 €, then 14.40 € twice.
fn schedule() -> Schedule {
    Schedule::split(eur(4321), 3, date(2025, 11, 24), Interval::Months(1)).unwrap()
}

/// Instalment `number` of `reference` (`None`: the first, unnumbered), accepted or refused.
fn instalment(reference: &str, number: Option<u8>, accepted: bool) -> EventInput {
    let n = number.unwrap_or(1);
    let refusal = Reason::new(ReasonKind::InsufficientFunds, "51");
    let outcome = match accepted {
        true => BankOutcome::Accepted {
            authorization: Some(format!("A{n}")),
        },
        false => BankOutcome::Refused { reason: refusal },
    };
    let amount = schedule().get(n).unwrap().amount;
    let EventInput::Notification(v) = notification(reference, &format!("T{n}"), outcome, amount)
    else {
        unreachable!()
    };
    EventInput::Notification(match number {
        Some(n) => v.with_instalment(n),
        None => v,
    })
}

fn amounts(d: &tpe_store::CheckoutDetail) -> Vec<(u64, Option<String>)> {
    d.payments
        .iter()
        .map(|p| (p.amount.minor(), p.bank_transaction_id.clone()))
        .collect()
}

pub async fn instalments(store: Store) {
    // A schedule that is not of the checkout's amount is refused, nothing stored.
    let wrong = Schedule::split(eur(4000), 2, date(2025, 11, 24), Interval::Months(1)).unwrap();
    assert!(matches!(
        store
            .create_checkout(new_checkout("WRONG", None, at(0)).with_schedule(wrong))
            .await,
        Err(StoreError::Invalid {
            field: "schedule",
            ..
        })
    ));
    assert!(store.checkout(&r("WRONG")).await.is_err());

    let created = store
        .create_checkout(new_checkout("SPLIT", None, at(0)).with_schedule(schedule()))
        .await
        .unwrap();
    assert_eq!(created.schedule, Some(schedule()));

    // Instalment 3 overtakes the first: kept, no effect yet.
    let early = apply(&store, "SPLIT", instalment("SPLIT", Some(3), true)).await;
    assert_eq!(early.status, CheckoutStatus::AwaitingPayment);
    assert!(early.effects.is_empty());
    let d = store.checkout(&r("SPLIT")).await.unwrap();
    assert_eq!(
        d.schedule()[2].state,
        InstalmentState::Paid { record: None }
    );
    assert_eq!(d.schedule()[0].state, InstalmentState::Due);
    assert_eq!(d.bank_transactions[0].instalment, Some(3));

    // The first: valid, its record of the first instalment, and instalment 3's record.
    let first = apply(&store, "SPLIT", instalment("SPLIT", None, true)).await;
    assert_eq!(first.status, CheckoutStatus::Valid);
    let kinds: Vec<_> = first.effects.iter().map(Effect::kind).collect();
    assert_eq!(
        kinds,
        ["record_payment", "confirm_customer", "record_payment"]
    );
    // Instalment 2 refused: one alert, however often it is told.
    let refused = apply(&store, "SPLIT", instalment("SPLIT", Some(2), false)).await;
    assert_eq!(refused.status, CheckoutStatus::Valid);
    assert!(matches!(
        refused.effects.as_slice(),
        [Effect::AlertManager(Alert::InstalmentRefused {
            number: 2,
            ..
        })]
    ));
    for again in [
        instalment("SPLIT", Some(2), false),
        instalment("SPLIT", Some(3), true),
        instalment("SPLIT", None, true),
    ] {
        assert!(apply(&store, "SPLIT", again).await.duplicate);
    }

    let d = store.checkout(&r("SPLIT")).await.unwrap();
    assert_eq!(
        amounts(&d),
        [(1441, Some("T1".into())), (1440, Some("T3".into()))]
    );
    let s = d.schedule();
    assert_eq!(s.len(), 3);
    assert!(
        matches!(&s[0].state, InstalmentState::Paid { record: Some(p) } if p.amount.minor() == 1441)
    );
    assert!(matches!(&s[1].state, InstalmentState::Refused { reason } if reason.code() == "51"));
    assert!(matches!(
        &s[2].state,
        InstalmentState::Paid { record: Some(p) }
            if p.bank_transaction_id.as_deref() == Some("T3")
    ));
    let alerts = d
        .effects
        .iter()
        .filter(|e| matches!(e.effect, Effect::AlertManager(_)))
        .count();
    assert_eq!(alerts, 1);

    // The same story in one group commit, disordered and repeated.
    store
        .create_checkout(new_checkout("BATCH", None, at(0)).with_schedule(schedule()))
        .await
        .unwrap();
    let batch = [
        instalment("BATCH", Some(2), true),
        instalment("BATCH", Some(2), true),
        instalment("BATCH", Some(1), true),
        instalment("BATCH", Some(3), true),
        instalment("BATCH", Some(1), true),
    ]
    .into_iter()
    .map(|e| (r("BATCH"), e))
    .collect();
    for result in store.apply_events(batch, at(2000)).await {
        result.unwrap();
    }
    let d = store.checkout(&r("BATCH")).await.unwrap();
    assert_eq!(d.checkout.status, CheckoutStatus::Valid);
    let mut paid = amounts(&d);
    paid.sort();
    assert_eq!(
        paid,
        [
            (1440, Some("T2".into())),
            (1440, Some("T3".into())),
            (1441, Some("T1".into()))
        ]
    );
    assert!(
        d.schedule()
            .iter()
            .all(|i| matches!(i.state, InstalmentState::Paid { record: Some(_) }))
    );
    // A later instalment of a checkout paid at once is kept aside.
    store
        .create_checkout(new_checkout("ONCE", None, at(0)))
        .await
        .unwrap();
    let stray = VerifiedNotification::new(
        tpe_core::ProviderId::from_static("paybox"),
        tpe_core::BankReference::parse("ONCE").unwrap(),
        "T9",
        BankOutcome::Accepted {
            authorization: None,
        },
        eur(100),
    )
    .with_instalment(2);
    let kept = apply(&store, "ONCE", EventInput::Notification(stray)).await;
    assert!(matches!(
        kept.effects.as_slice(),
        [Effect::Quarantine { .. }]
    ));
    assert!(
        store
            .checkout(&r("ONCE"))
            .await
            .unwrap()
            .schedule()
            .is_empty()
    );
}
