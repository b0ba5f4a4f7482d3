//! Payment in instalments through the pure state machine: any order and repetition of the
//! instalments' notifications ends in the same state with every effect exactly once.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use jiff::civil::date;
use proptest::prelude::*;
use tpe_core::instalments::{Interval, Schedule};
use tpe_core::lifecycle::{
    Alert, BankVerdict, CheckoutState, CheckoutStatus, Effect, Event, InstalmentVerdict,
    TransitionError, apply,
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

/// A refund gives back what the payment in instalments paid: the first instalment's bank
/// transaction for its own amount, never the order's total; once later versements are paid
/// too, the refund is refused with the rule named.
#[test]
fn a_refund_gives_back_the_first_instalment_and_no_more() {
    let refund = || Event::RequestRefund {
        author: "Lucie".into(),
        note: String::new(),
        at: Timestamp::from_second(1_800_000_100).unwrap(),
        order_paid_by: None,
    };
    let retracted = apply(
        &scheduled(3),
        &Event::Retract {
            now: Timestamp::from_second(1_800_000_000).unwrap(),
        },
    )
    .unwrap()
    .state;
    let first = instalment(&retracted, None, true);
    let refused = instalment(&retracted, Some(2), false);
    let (paid, _) = run(retracted.clone(), &[refused, first.clone()]);
    assert_eq!(paid.status, CheckoutStatus::PaidAfterRetraction);
    let t = apply(&paid, &refund()).unwrap();
    assert_eq!(t.state.status, CheckoutStatus::Refunding);
    assert!(
        matches!(
            &t.effects[..],
            [Effect::Refund { bank_transaction_id, amount, back_to, .. }]
                if bank_transaction_id == "T1" && *amount == eur(3334)
                    && *back_to == CheckoutStatus::PaidAfterRetraction
        ),
        "{:?}",
        t.effects
    );
    // The second versement paid as well: two bank transactions, refused by name.
    let (both, _) = run(
        retracted.clone(),
        &[first, instalment(&retracted, Some(2), true)],
    );
    assert_eq!(
        apply(&both, &refund()),
        Err(TransitionError::SeveralVersements {
            reference: both.reference.clone(),
            numbers: vec![2],
        })
    );
}
