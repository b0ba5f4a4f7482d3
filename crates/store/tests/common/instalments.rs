//! Payment in instalments in the store: the schedule kept with the checkout, each later
//! instalment its own bank transaction and payment record, the schedule read back with each
//! instalment's state, alone and in a group commit.

use jiff::civil::date;
use tpe_core::instalments::{Interval, Schedule};
use tpe_core::lifecycle::{Alert, RefundState};
use tpe_core::{BankOutcome, CheckoutStatus, Effect, Reason, ReasonKind, VerifiedNotification};
use tpe_store::{EventInput, InstalmentState, StoreError};

use super::suite::{Store, accepted, apply, at, eur, new_checkout, notification, r};

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

    refunds(&store).await;
}

/// The refund of a payment in instalments kept per bank transaction on both databases: one
/// effect per versement, each answer recorded with the checkout, alone or in a group commit,
/// and a new request asks only what is left.
async fn refunds(store: &Store) {
    // The order's second payment, in instalments, all three paid: refundable.
    for (name, schedule) in [("ONE", None), ("MANY", Some(schedule()))] {
        let new = new_checkout(name, Some("ORDER-I"), at(0));
        let new = match schedule {
            Some(s) => new.with_schedule(s),
            None => new,
        };
        store.create_checkout(new).await.unwrap();
    }
    apply(store, "ONE", accepted("ONE", "T1")).await;
    for n in [None, Some(2), Some(3)] {
        apply(store, "MANY", instalment("MANY", n, true)).await;
    }
    let d = store.checkout(&r("MANY")).await.unwrap();
    assert_eq!(d.to_refund_total(), Some(eur(4321)), "every versement");
    let request = || EventInput::RequestRefund {
        author: "Lucie".into(),
        note: String::new(),
    };
    let asked = store.apply_event(&r("MANY"), request(), at(3000)).await;
    let asked = asked.unwrap();
    assert_eq!(asked.status, CheckoutStatus::Refunding);
    let refunds: Vec<_> = asked
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Refund {
                bank_transaction_id,
                amount,
                ..
            } => Some((bank_transaction_id.as_str(), amount.minor())),
            _ => None,
        })
        .collect();
    assert_eq!(refunds, [("T1", 1441), ("T2", 1440), ("T3", 1440)]);
    let d = store.checkout(&r("MANY")).await.unwrap();
    assert_eq!(d.checkout.refunds.len(), 3);
    assert!(
        d.checkout
            .refunds
            .values()
            .all(|s| matches!(s, RefundState::Underway { .. }))
    );
    // T1 taken and T2 refused in one group commit, T1 told twice.
    let taken = |txn: &str| EventInput::RefundSucceeded {
        refund_id: format!("RF-{txn}"),
        bank_transaction_id: Some(txn.into()),
    };
    let answers = [
        taken("T1"),
        EventInput::RefundFailed {
            reason: "refusé".into(),
            back_to: CheckoutStatus::Valid,
            bank_transaction_id: Some("T2".into()),
        },
        taken("T1"),
    ];
    let results = store
        .apply_events(
            answers.into_iter().map(|e| (r("MANY"), e)).collect(),
            at(4000),
        )
        .await;
    assert!(results[0].is_ok() && results[1].is_ok());
    assert!(matches!(results[2], Err(StoreError::Transition(_))));
    let last = apply(store, "MANY", taken("T3")).await;
    assert_eq!(last.status, CheckoutStatus::Valid, "T2 refused");
    let d = store.checkout(&r("MANY")).await.unwrap();
    let states: Vec<_> = d.checkout.refunds.iter().collect();
    assert!(matches!(
        states[..],
        [
            (_, RefundState::Refunded),
            (
                _,
                RefundState::Refused {
                    back_to: CheckoutStatus::Valid,
                    ..
                }
            ),
            (_, RefundState::Refunded),
        ]
    ));
    let owed: Vec<_> = d
        .to_refund()
        .into_iter()
        .map(|o| (o.bank_transaction_id, o.amount.minor(), o.instalment))
        .collect();
    assert_eq!(owed, [("T2".to_owned(), 1440, Some(2))]);
    // Asked again: T2 alone.
    let again = store.apply_event(&r("MANY"), request(), at(5000)).await;
    let again = again.unwrap();
    assert!(matches!(
        again.effects.as_slice(),
        [Effect::Refund { bank_transaction_id, instalment: Some(2), .. }] if bank_transaction_id == "T2"
    ));
    let done = apply(store, "MANY", taken("T2")).await;
    assert_eq!(done.status, CheckoutStatus::Refunded);
    let d = store.checkout(&r("MANY")).await.unwrap();
    assert_eq!(d.to_refund_total(), None);
}
