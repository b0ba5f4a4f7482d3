//! Payment in instalments through the pure state machine: any order and repetition of the
//! instalments' notifications ends in the same state with every effect exactly once.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use jiff::civil::date;
use proptest::prelude::*;
use tpe_core::instalments::{Interval, Schedule};
use tpe_core::lifecycle::{
    Alert, BankVerdict, CheckoutState, CheckoutStatus, Effect, Event, InstalmentVerdict,
    RefundState, TransitionError, apply,
};
use tpe_core::{
    Amount, BankOutcome, Currency, PaymentReference, ProviderId, Reason, ReasonKind, Timestamp,
};

fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

/// A checkout of 100.00 € in `count` monthly instalments.
fn scheduled(count: u8) -> CheckoutState {
    let schedule =
        Schedule::split(eur(10_000), count, date(2026, 11, 29), Interval::Months(1)).unwrap();
    CheckoutState::new(
        PaymentReference::parse("REF1").unwrap(),
        ProviderId::from_static("paybox"),
        eur(10_000),
        None,
        Timestamp::from_second(1_800_000_000).unwrap(),
    )
    .with_schedule(schedule)
}

/// The notification of instalment `number` (`None`: the first, unnumbered).
fn instalment(state: &CheckoutState, number: Option<u8>, accepted: bool) -> Event {
    let n = number.unwrap_or(1);
    let outcome = if accepted {
        BankOutcome::Accepted {
            authorization: None,
        }
    } else {
        BankOutcome::Refused {
            reason: Reason::new(ReasonKind::InsufficientFunds, "51"),
        }
    };
    Event::Notification {
        verdict: BankVerdict {
            bank_transaction_id: format!("T{n}"),
            outcome,
            amount: state.schedule.as_ref().unwrap().get(n).unwrap().amount,
            instalment: number,
        },
        order_paid_by: None,
    }
}

/// Applies `events` in order; the final state and every effect.
fn run(mut state: CheckoutState, events: &[Event]) -> (CheckoutState, Vec<Effect>) {
    let mut effects = Vec::new();
    for e in events {
        let t = apply(&state, e).unwrap();
        effects.extend(t.effects);
        state = t.state;
    }
    (state, effects)
}

fn sorted_keys(effects: &[Effect]) -> Vec<String> {
    let mut keys: Vec<String> = effects.iter().map(Effect::key).collect();
    keys.sort();
    keys
}

/// A schedule, the later instalments' verdicts, how the first is numbered, each
/// notification's repetitions, and a shuffle of them all.
fn story() -> impl Strategy<Value = (u8, Vec<bool>, Vec<Event>)> {
    (2u8..=4, any::<bool>()).prop_flat_map(|(count, numbered)| {
        let later = proptest::collection::vec(any::<bool>(), usize::from(count) - 1);
        let repeats = proptest::collection::vec(1usize..=3, usize::from(count));
        (later, repeats).prop_flat_map(move |(later, repeats)| {
            let state = scheduled(count);
            let mut events = Vec::new();
            let first = instalment(&state, numbered.then_some(1), true);
            events.extend(std::iter::repeat_n(first, repeats[0]));
            for (i, accepted) in later.iter().enumerate() {
                let number = u8::try_from(i + 2).unwrap();
                let e = instalment(&state, Some(number), *accepted);
                events.extend(std::iter::repeat_n(e, repeats[i + 1]));
            }
            (Just(count), Just(later), Just(events).prop_shuffle())
        })
    })
}

proptest! {
    #[test]
    fn any_order_and_repetition_gives_one_state_and_each_effect_once(
        (count, later, events) in story()
    ) {
        let (state, effects) = run(scheduled(count), &events);
        // The same story told once, in order.
        let start = scheduled(count);
        let mut canonical = vec![instalment(&start, None, true)];
        for (i, accepted) in later.iter().enumerate() {
            canonical.push(instalment(&start, Some(u8::try_from(i + 2).unwrap()), *accepted));
        }
        let (expected, expected_effects) = run(start, &canonical);
        prop_assert_eq!(&state, &expected);
        prop_assert_eq!(state.status, CheckoutStatus::Valid);
        let keys = sorted_keys(&effects);
        prop_assert_eq!(&keys, &sorted_keys(&expected_effects));
        let mut unique = keys.clone();
        unique.dedup();
        prop_assert_eq!(unique.len(), keys.len(), "an effect twice: {:?}", keys);

        let paid = later.iter().filter(|a| **a).count();
        let records: Vec<u64> = effects.iter().filter_map(|e| match e {
            Effect::RecordPayment { amount, .. } => Some(amount.minor()),
            _ => None,
        }).collect();
        prop_assert_eq!(records.len(), 1 + paid);
        let share = 10_000 / u64::from(count);
        prop_assert_eq!(records.iter().sum::<u64>(), 10_000 - share * (later.len() - paid) as u64);
        let refused = effects.iter().filter(|e| matches!(
            e, Effect::AlertManager(Alert::InstalmentRefused { .. })
        )).count();
        prop_assert_eq!(refused, later.len() - paid);
        prop_assert_eq!(effects.iter().filter(|e| **e == Effect::ConfirmToCustomer).count(), 1);
        prop_assert_eq!(state.instalments.len(), later.len());
    }
}

#[test]
fn a_refused_instalment_leaves_the_order_valid_and_alerts_once() {
    let start = scheduled(3);
    let events = [
        instalment(&start, None, true),
        instalment(&start, Some(2), false),
    ];
    let (state, effects) = run(start.clone(), &events);
    assert_eq!(state.status, CheckoutStatus::Valid);
    let alert = effects.last().unwrap();
    let Effect::AlertManager(Alert::InstalmentRefused {
        number,
        amount,
        reason,
        ..
    }) = alert
    else {
        panic!("{alert:?}")
    };
    assert_eq!((*number, amount.minor()), (2, 3_333));
    assert_eq!(reason.code(), "51");
    assert!(matches!(
        state.instalments[&2].verdict,
        InstalmentVerdict::Refused { .. }
    ));
    // A later success of the same instalment (the bank tried again) wins.
    let mut retry = instalment(&start, Some(2), true);
    if let Event::Notification { verdict, .. } = &mut retry {
        verdict.bank_transaction_id = "T2-again".into();
    }
    let t = apply(&state, &retry).unwrap();
    assert_eq!(t.state.instalments[&2].verdict, InstalmentVerdict::Paid);
    assert!(matches!(
        t.effects.as_slice(),
        [Effect::RecordPayment { amount, .. }] if amount.minor() == 3_333
    ));
}

#[test]
fn instalments_outside_the_schedule_or_of_another_amount_are_kept_aside() {
    let start = scheduled(2);
    let (valid, _) = run(start.clone(), &[instalment(&start, None, true)]);
    let mut third = instalment(&start, Some(2), true);
    if let Event::Notification { verdict, .. } = &mut third {
        verdict.instalment = Some(3);
        verdict.bank_transaction_id = "T3".into();
    }
    let t = apply(&valid, &third).unwrap();
    assert!(matches!(t.effects.as_slice(), [Effect::Quarantine { .. }]));
    assert!(t.state.instalments.is_empty());
    let mut wrong = instalment(&start, Some(2), true);
    if let Event::Notification { verdict, .. } = &mut wrong {
        verdict.amount = eur(1);
    }
    let t = apply(&valid, &wrong).unwrap();
    assert!(matches!(
        t.effects.as_slice(),
        [
            Effect::AlertManager(Alert::AmountMismatch { .. }),
            Effect::Quarantine { .. }
        ]
    ));
    // The first instalment may be announced alone or with the order's total.
    let mut total = instalment(&start, None, true);
    if let Event::Notification { verdict, .. } = &mut total {
        verdict.amount = eur(10_000);
    }
    let t = apply(&start, &total).unwrap();
    assert_eq!(t.state.status, CheckoutStatus::Valid);
    assert!(t.effects.contains(&Effect::RecordPayment {
        amount: eur(5_000),
        bank_transaction_id: Some("T1".into()),
        source: tpe_core::lifecycle::ValidationSource::Bank,
    }));
}

fn refund_at(second: i64) -> Event {
    Event::RequestRefund {
        author: "Lucie".into(),
        note: String::new(),
        at: Timestamp::from_second(second).unwrap(),
        order_paid_by: None,
    }
}

fn refunded(txn: &str) -> Event {
    Event::RefundSucceeded {
        refund_id: format!("RF-{txn}"),
        bank_transaction_id: Some(txn.into()),
    }
}

/// A checkout of 100.00 € in three, retracted unpaid, then paid: its first instalment and
/// the later ones whose verdict is `true` (`T<n>`).
fn paid_after_retraction(later: &[bool]) -> CheckoutState {
    let retracted = apply(
        &scheduled(3),
        &Event::Retract {
            now: Timestamp::from_second(1_800_000_000).unwrap(),
        },
    )
    .unwrap()
    .state;
    let mut events = vec![instalment(&retracted, None, true)];
    for (i, accepted) in later.iter().enumerate() {
        let n = u8::try_from(i + 2).unwrap();
        events.push(instalment(&retracted, Some(n), *accepted));
    }
    let (paid, _) = run(retracted, &events);
    assert_eq!(paid.status, CheckoutStatus::PaidAfterRetraction);
    paid
}

/// The refunds asked: bank transaction, amount in minor units, instalment.
fn refunds(effects: &[Effect]) -> Vec<(String, u64, Option<u8>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Refund {
                bank_transaction_id,
                amount,
                instalment,
                ..
            } => Some((bank_transaction_id.clone(), amount.minor(), *instalment)),
            _ => None,
        })
        .collect()
}

/// A refund gives back every versement on its own bank transaction for its own amount,
/// never the order's total; the order is refunded when the last is; a second request, or an
/// answer repeated, does nothing more.
#[test]
fn a_refund_gives_back_every_versement_on_its_own_transaction() {
    let paid = paid_after_retraction(&[true, true]);
    let t = apply(&paid, &refund_at(1_800_000_100)).unwrap();
    assert_eq!(t.state.status, CheckoutStatus::Refunding);
    assert_eq!(
        refunds(&t.effects),
        [
            ("T1".into(), 3334, None),
            ("T2".into(), 3333, Some(2)),
            ("T3".into(), 3333, Some(3)),
        ]
    );
    let keys = sorted_keys(&t.effects);
    assert_eq!(
        keys,
        [
            "refund:1800000100000",
            "refund:1800000100000:2",
            "refund:1800000100000:3"
        ]
    );
    assert!(t.effects.iter().all(|e| matches!(
        e,
        Effect::Refund {
            back_to: CheckoutStatus::PaidAfterRetraction,
            ..
        }
    )));
    assert!(matches!(
        apply(&t.state, &refund_at(1_800_000_200)),
        Err(TransitionError::NotRefundable { .. })
    ));
    let (two, _) = run(t.state.clone(), &[refunded("T2"), refunded("T1")]);
    assert_eq!(two.status, CheckoutStatus::Refunding, "T3 under way");
    assert!(matches!(
        apply(&two, &refunded("T2")),
        Err(TransitionError::NoRefundUnderway { .. })
    ));
    let (done, effects) = run(two, &[refunded("T3")]);
    assert_eq!(done.status, CheckoutStatus::Refunded);
    assert!(effects.is_empty());
    assert!(done.refunds.values().all(|r| *r == RefundState::Refunded));
    assert!(matches!(
        apply(&done, &refund_at(1_800_000_300)),
        Err(TransitionError::NotRefundable { .. })
    ));

    // The second instalment refused: what was paid, the first and the third.
    let holes = paid_after_retraction(&[false, true]);
    let t = apply(&holes, &refund_at(1_800_000_100)).unwrap();
    assert_eq!(
        refunds(&t.effects),
        [("T1".into(), 3334, None), ("T3".into(), 3333, Some(3))]
    );
}

/// A later instalment the bank charges after the refund is recorded and refunded by a new
/// request, alone.
#[test]
fn a_versement_after_the_refund_is_refunded_by_a_new_request() {
    let paid = paid_after_retraction(&[]);
    let t = apply(&paid, &refund_at(1_800_000_100)).unwrap();
    assert_eq!(refunds(&t.effects), [("T1".into(), 3334, None)]);
    let (done, _) = run(t.state, &[refunded("T1")]);
    assert_eq!(done.status, CheckoutStatus::Refunded);
    let (late, effects) = run(done, &[instalment(&paid, Some(2), true)]);
    assert_eq!(late.status, CheckoutStatus::Refunded);
    assert!(matches!(
        &effects[..],
        [Effect::RecordPayment { amount, .. }] if amount.minor() == 3333
    ));
    let t = apply(&late, &refund_at(1_800_000_200)).unwrap();
    assert_eq!(refunds(&t.effects), [("T2".into(), 3333, Some(2))]);
    assert!(matches!(
        &t.effects[..],
        [Effect::Refund {
            back_to: CheckoutStatus::Refunded,
            ..
        }]
    ));
    let (again, _) = run(t.state, &[refunded("T2")]);
    assert_eq!(again.status, CheckoutStatus::Refunded);
    assert!(matches!(
        apply(&again, &refund_at(1_800_000_300)),
        Err(TransitionError::NotRefundable { .. })
    ));
}

/// The bank refuses one transaction's refund: the others are taken, the checkout goes back
/// once none is under way, and the next request asks for that one alone.
#[test]
fn a_refused_refund_is_asked_again_alone() {
    let paid = paid_after_retraction(&[true, true]);
    let t = apply(&paid, &refund_at(1_800_000_100)).unwrap();
    let refused = Event::RefundFailed {
        reason: "refusé".into(),
        back_to: CheckoutStatus::PaidAfterRetraction,
        bank_transaction_id: Some("T2".into()),
    };
    let (partly, _) = run(t.state, &[refused, refunded("T1")]);
    assert_eq!(partly.status, CheckoutStatus::Refunding, "T3 under way");
    let (back, _) = run(partly, &[refunded("T3")]);
    assert_eq!(back.status, CheckoutStatus::PaidAfterRetraction);
    let t = apply(&back, &refund_at(1_800_000_200)).unwrap();
    assert_eq!(refunds(&t.effects), [("T2".into(), 3333, Some(2))]);
    assert_eq!(sorted_keys(&t.effects), ["refund:1800000200000:2"]);
    // Asked again within the refused request's millisecond: still a new attempt.
    let soon = apply(&back, &refund_at(1_800_000_100)).unwrap();
    assert_eq!(sorted_keys(&soon.effects), ["refund:1800000100001:2"]);
    let (done, _) = run(t.state, &[refunded("T2")]);
    assert_eq!(done.status, CheckoutStatus::Refunded);
}

proptest! {
    /// Whatever the versements paid and the order and repetition of the bank's answers, the
    /// refund asks each paid transaction once for its amount, the sum refunded is the sum
    /// paid, and the order ends refunded.
    #[test]
    fn a_refund_gives_back_the_sum_paid_once(
        (later, answers) in proptest::collection::vec(any::<bool>(), 2).prop_flat_map(|later| {
            let paid = 1 + later.iter().filter(|a| **a).count();
            let answers = proptest::collection::vec(0..paid, paid..paid * 3)
                .prop_map(move |mut a| { a.extend(0..paid); a })
                .prop_shuffle();
            (Just(later), answers)
        })
    ) {
        let paid = paid_after_retraction(&later);
        let (_, records) = run(scheduled(3), &[instalment(&paid, None, true)]);
        let t = apply(&paid, &refund_at(1_800_000_100)).unwrap();
        let asked = refunds(&t.effects);
        let txns: Vec<String> = asked.iter().map(|(txn, _, _)| txn.clone()).collect();
        let mut state = t.state;
        for i in answers {
            if let Ok(next) = apply(&state, &refunded(&txns[i])) {
                prop_assert!(next.effects.is_empty());
                state = next.state;
            }
        }
        prop_assert_eq!(state.status, CheckoutStatus::Refunded);
        prop_assert_eq!(state.refunds.len(), txns.len());
        let first = records.iter().find_map(|e| match e {
            Effect::RecordPayment { amount, .. } => Some(amount.minor()),
            _ => None,
        }).unwrap();
        let sum_paid = first + 3333 * (txns.len() as u64 - 1);
        prop_assert_eq!(asked.iter().map(|(_, m, _)| m).sum::<u64>(), sum_paid);
    }
}
