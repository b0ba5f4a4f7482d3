//! The lifecycle of LIFECYCLE.md: every (state, event) pair as a table, and properties over
//! any order and repetition of notifications.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::BTreeSet;

use proptest::prelude::*;
use tpe_core::lifecycle::{
    Alert, BankVerdict, CheckoutState, CheckoutStatus, Effect, Event, TransitionError,
    ValidationSource, apply,
};
use tpe_core::{
    Amount, BankOutcome, Currency, PaymentReference, ProviderId, Reason, ReasonKind, Timestamp,
};

const RETRACT_AT: i64 = 1_800_000_000;

fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

fn reference(s: &str) -> PaymentReference {
    PaymentReference::parse(s).unwrap()
}

fn state(status: CheckoutStatus) -> CheckoutState {
    let mut s = CheckoutState::new(
        reference("REF1"),
        ProviderId::from_static("paybox"),
        eur(4321),
        Some("ORDER-7".into()),
        Timestamp::from_second(RETRACT_AT).unwrap(),
    );
    s.status = status;
    if matches!(
        status,
        CheckoutStatus::Valid
            | CheckoutStatus::PaidAfterRetraction
            | CheckoutStatus::Refunding
            | CheckoutStatus::Refunded
    ) {
        s.validated_by = Some(ValidationSource::Bank);
    }
    // T0 was applied before in every state (row 3 replays it).
    s.seen
        .insert(("T0".into(), tpe_core::OutcomeKind::Accepted));
    s
}

fn notification(txn: &str, outcome: BankOutcome, amount: Amount) -> Event {
    Event::Notification {
        verdict: BankVerdict {
            bank_transaction_id: txn.into(),
            outcome,
            amount,
            instalment: None,
        },
        order_paid_by: None,
    }
}

fn accepted() -> BankOutcome {
    BankOutcome::Accepted {
        authorization: Some("XXXXXX".into()),
    }
}

fn refused() -> BankOutcome {
    BankOutcome::Refused {
        reason: Reason::new(ReasonKind::InsufficientFunds, "00151"),
    }
}

/// The events of the table, by name.
fn events() -> Vec<(&'static str, Event)> {
    vec![
        ("accepted", notification("T1", accepted(), eur(4321))),
        ("accepted-again", notification("T0", accepted(), eur(4321))),
        (
            "accepted-other-amount",
            notification("T2", accepted(), eur(1)),
        ),
        (
            "accepted-other-currency",
            notification("T3", accepted(), Amount::new(4321, Currency::USD).unwrap()),
        ),
        (
            "accepted-order-already-paid",
            Event::Notification {
                verdict: BankVerdict {
                    bank_transaction_id: "T4".into(),
                    outcome: accepted(),
                    amount: eur(4321),
                    instalment: None,
                },
                order_paid_by: Some(reference("REF0")),
            },
        ),
        ("refused", notification("T5", refused(), eur(4321))),
        (
            "pending",
            notification("T6", BankOutcome::Pending, eur(4321)),
        ),
        (
            "cancelled",
            notification("T7", BankOutcome::Cancelled, eur(4321)),
        ),
        (
            "unclassified",
            notification("T10", BankOutcome::unclassified("00201"), eur(4321)),
        ),
        (
            "reconciled-paid",
            Event::ReconciledPaid {
                bank_transaction_id: "T8".into(),
                amount: eur(4321),
                order_paid_by: None,
            },
        ),
        (
            "manual",
            Event::ManualValidation {
                author: "gérante".into(),
                note: "virement reçu".into(),
            },
        ),
        (
            "retract-due",
            Event::Retract {
                now: Timestamp::from_second(RETRACT_AT).unwrap(),
            },
        ),
        (
            "retract-early",
            Event::Retract {
                now: Timestamp::from_millisecond(RETRACT_AT * 1000 - 1).unwrap(),
            },
        ),
        (
            "superseded",
            Event::Superseded {
                by: reference("REF9"),
            },
        ),
        ("browser-return", Event::BrowserReturn),
        (
            "reinstate",
            Event::Reinstate {
                author: "gérante".into(),
                note: "livrée quand même".into(),
            },
        ),
        ("refund", refund_request(None)),
        (
            "refund-extra-payment",
            refund_request(Some(reference("REF0"))),
        ),
        (
            "refund-succeeded",
            Event::RefundSucceeded {
                refund_id: "RF1".into(),
                bank_transaction_id: None,
            },
        ),
        (
            "refund-failed",
            Event::RefundFailed {
                reason: "refusé par la banque".into(),
                back_to: CheckoutStatus::PaidAfterRetraction,
                bank_transaction_id: None,
            },
        ),
    ]
}

fn refund_request(order_paid_by: Option<PaymentReference>) -> Event {
    Event::RequestRefund {
        author: "gérante".into(),
        note: "client remboursé".into(),
        at: Timestamp::from_second(RETRACT_AT + 60).unwrap(),
        order_paid_by,
    }
}

/// Expected outcome: new status (or error name), effect kinds, amount_mismatch, superseded.
type Expect = (
    Result<CheckoutStatus, &'static str>,
    &'static [&'static str],
    bool,
    bool,
);

fn expected(status: CheckoutStatus, event: &str) -> Expect {
    use CheckoutStatus::*;
    const NONE: &[&str] = &[];
    const PAID: &[&str] = &["record_payment", "confirm_customer", "supersede_siblings"];
    const MISMATCH: &[&str] = &["alert_manager", "quarantine"];
    const TWICE: &[&str] = &["record_payment", "alert_manager"];
    match (status, event) {
        // Row 2 / 11 / 13: acceptance validates an unpaid checkout.
        (AwaitingPayment, "accepted" | "reconciled-paid") => (Ok(Valid), PAID, false, false),
        (AwaitingPayment, "accepted-order-already-paid") => (
            Ok(Valid),
            &[
                "record_payment",
                "confirm_customer",
                "supersede_siblings",
                "alert_manager",
            ],
            false,
            false,
        ),
        // Row 3: a replay changes nothing.
        (s, "accepted-again") => (Ok(s), NONE, false, false),
        // Row 7: another amount or currency never validates.
        (s, "accepted-other-amount" | "accepted-other-currency") => (Ok(s), MISMATCH, true, false),
        // Row 8: money after retraction.
        (Retracted, "accepted" | "reconciled-paid" | "accepted-order-already-paid") => (
            Ok(PaidAfterRetraction),
            &["record_payment", "alert_manager"],
            false,
            false,
        ),
        // A second accepted try on a paid checkout: money received twice.
        (
            Valid | PaidAfterRetraction | Refunding | Refunded,
            "accepted" | "reconciled-paid" | "accepted-order-already-paid",
        ) => (Ok(status), TWICE, false, false),
        // Row 4 / 5: refusal e-mails the manager only while unpaid.
        (AwaitingPayment, "refused") => (Ok(AwaitingPayment), &["notify_refusal"], false, false),
        (s, "refused" | "pending" | "cancelled" | "browser-return") => (Ok(s), NONE, false, false),
        // Unknown is never a verdict: the state stays, the manager is alerted.
        (s, "unclassified") => (Ok(s), &["alert_manager"], false, false),
        // Row 9.
        (AwaitingPayment, "manual") => (Ok(Valid), PAID, false, false),
        (_, "manual") => (Err("NotAwaitingPayment"), NONE, false, false),
        // Row 10.
        (AwaitingPayment, "retract-due") => (Ok(Retracted), NONE, false, false),
        (AwaitingPayment, "retract-early") => (Err("RetractionTooEarly"), NONE, false, false),
        (_, "retract-due" | "retract-early") => (Err("NotRetractable"), NONE, false, false),
        (AwaitingPayment, "superseded") => (Ok(AwaitingPayment), NONE, false, true),
        (s, "superseded") => (Ok(s), NONE, false, false),
        // Row 14: the manager keeps the money paid after retraction.
        (PaidAfterRetraction, "reinstate") => (
            Ok(Valid),
            &["confirm_customer", "supersede_siblings"],
            false,
            false,
        ),
        (_, "reinstate") => (Err("NotReinstatable"), NONE, false, false),
        // Row 15: a refund of money after retraction, or of an order's second payment.
        (PaidAfterRetraction, "refund" | "refund-extra-payment")
        | (Valid, "refund-extra-payment") => (Ok(Refunding), &["refund"], false, false),
        (_, "refund" | "refund-extra-payment") => (Err("NotRefundable"), NONE, false, false),
        // Rows 16 and 17: the bank's answer to the refund.
        (Refunding, "refund-succeeded") => (Ok(Refunded), NONE, false, false),
        (Refunding, "refund-failed") => (Ok(PaidAfterRetraction), NONE, false, false),
        (_, "refund-succeeded" | "refund-failed") => (Err("NoRefundUnderway"), NONE, false, false),
        (s, e) => panic!("no expectation for {s:?} × {e}"),
    }
}

#[test]
fn every_state_event_pair() {
    let mut pairs = 0;
    for status in CheckoutStatus::ALL {
        for (name, event) in events() {
            let before = state(status);
            let (want_status, want_effects, want_mismatch, want_superseded) =
                expected(status, name);
            let got = apply(&before, &event);
            match (got, want_status) {
                (Ok(t), Ok(s)) => {
                    assert_eq!(t.state.status, s, "{status:?} × {name}");
                    let kinds: Vec<_> = t.effects.iter().map(Effect::kind).collect();
                    assert_eq!(kinds, want_effects, "{status:?} × {name}");
                    assert_eq!(
                        t.state.amount_mismatch, want_mismatch,
                        "{status:?} × {name}"
                    );
                    assert_eq!(
                        t.state.superseded_by.is_some(),
                        want_superseded,
                        "{status:?} × {name}"
                    );
                    assert_eq!(t.duplicate, name == "accepted-again", "{status:?} × {name}");
                }
                (Err(e), Err(want)) => {
                    let got = match e {
                        TransitionError::NotAwaitingPayment { .. } => "NotAwaitingPayment",
                        TransitionError::RetractionTooEarly { .. } => "RetractionTooEarly",
                        TransitionError::NotRetractable { .. } => "NotRetractable",
                        TransitionError::NotReinstatable { .. } => "NotReinstatable",
                        TransitionError::NotRefundable { .. } => "NotRefundable",
                        TransitionError::NoRefundUnderway { .. } => "NoRefundUnderway",
                        _ => "other",
                    };
                    assert_eq!(got, want, "{status:?} × {name}");
                }
                (got, want) => panic!("{status:?} × {name}: got {got:?}, want {want:?}"),
            }
            pairs += 1;
        }
    }
    assert_eq!(pairs, 6 * 20);
}

#[test]
fn applying_any_event_twice_gives_no_new_effect() {
    for status in CheckoutStatus::ALL {
        for (name, event) in events() {
            let Ok(first) = apply(&state(status), &event) else {
                continue;
            };
            if let Ok(second) = apply(&first.state, &event) {
                let repeated: Vec<_> = second
                    .effects
                    .iter()
                    .filter(|e| first.effects.iter().any(|f| f.key() == e.key()))
                    .collect();
                assert!(
                    repeated.is_empty(),
                    "{status:?} × {name} twice repeats {repeated:?}"
                );
            }
        }
    }
}

#[test]
fn alerts_say_what_happened() {
    let t = apply(
        &state(CheckoutStatus::Retracted),
        &notification("T9", accepted(), eur(4321)),
    )
    .unwrap();
    assert!(
        t.effects
            .contains(&Effect::AlertManager(Alert::PaidAfterRetraction {
                bank_transaction_id: "T9".into()
            }))
    );
    let t = apply(
        &state(CheckoutStatus::AwaitingPayment),
        &notification("T9", accepted(), eur(4000)),
    )
    .unwrap();
    assert!(t.effects.iter().any(|e| matches!(e, Effect::AlertManager(Alert::AmountMismatch { received, .. }) if received.minor() == 4000)));
    let t = apply(
        &state(CheckoutStatus::AwaitingPayment),
        &notification("T9", BankOutcome::unclassified("00300"), eur(4321)),
    )
    .unwrap();
    assert_eq!(t.state.status, CheckoutStatus::AwaitingPayment);
    assert_eq!(
        t.effects,
        [Effect::AlertManager(Alert::UnclassifiedOutcome {
            code: "00300".into(),
            bank_transaction_id: "T9".into()
        })]
    );
}

#[test]
fn a_refund_names_the_paying_transaction_and_its_attempt() {
    let mut paid = state(CheckoutStatus::PaidAfterRetraction);
    paid.seen.clear();
    paid.seen
        .insert(("R1".into(), tpe_core::OutcomeKind::Refused));
    paid.seen
        .insert(("T9".into(), tpe_core::OutcomeKind::Accepted));
    let t = apply(&paid, &refund_request(None)).unwrap();
    let attempt = (RETRACT_AT + 60) * 1000;
    assert_eq!(
        t.effects,
        [Effect::Refund {
            bank_transaction_id: "T9".into(),
            amount: eur(4321),
            attempt,
            back_to: CheckoutStatus::PaidAfterRetraction,
            instalment: None,
        }]
    );
    assert_eq!(t.effects[0].key(), format!("refund:{attempt}"));
    // A second click finds the refund under way: refused, nothing new to do.
    let again = apply(&t.state, &refund_request(None));
    assert!(matches!(again, Err(TransitionError::NotRefundable { .. })));
    // Refused by the bank: back where it was, and the manager may try again.
    let failed = apply(
        &t.state,
        &Event::RefundFailed {
            reason: "refusé".into(),
            back_to: CheckoutStatus::PaidAfterRetraction,
            bank_transaction_id: Some("T9".into()),
        },
    )
    .unwrap();
    assert_eq!(failed.state.status, CheckoutStatus::PaidAfterRetraction);
    // Only to a paid state.
    let nowhere = apply(
        &t.state,
        &Event::RefundFailed {
            reason: "refusé".into(),
            back_to: CheckoutStatus::AwaitingPayment,
            bank_transaction_id: Some("T9".into()),
        },
    );
    assert!(matches!(
        nowhere,
        Err(TransitionError::NoRefundUnderway { .. })
    ));
    // Validated by hand, without a bank transaction: nothing the bank could refund.
    let mut manual = state(CheckoutStatus::Valid);
    manual.seen.clear();
    let none = apply(&manual, &refund_request(Some(reference("REF0"))));
    assert!(matches!(none, Err(TransitionError::NotRefundable { .. })));
    // The order's other payment is not this checkout itself.
    let own = apply(
        &state(CheckoutStatus::Valid),
        &refund_request(Some(reference("REF1"))),
    );
    assert!(matches!(own, Err(TransitionError::NotRefundable { .. })));
}

#[test]
fn retraction_is_due_at_the_start_of_the_day_after_delivery() {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    // Summer time: UTC+2.
    let at = tpe_core::lifecycle::retraction_time(jiff::civil::date(2026, 7, 14), &tz).unwrap();
    assert_eq!(at.to_string(), "2026-07-14T22:00:00Z");
    // The day clocks change (29 March 2026, 02:00 → 03:00): midnight still exists.
    let at = tpe_core::lifecycle::retraction_time(jiff::civil::date(2026, 3, 28), &tz).unwrap();
    assert_eq!(at.to_string(), "2026-03-28T23:00:00Z");
}

/// One notification of the generated set.
#[derive(Debug, Clone)]
enum Note {
    Accept,
    AcceptWrongAmount,
    Refuse(u8),
    Pending(u8),
    Cancel(u8),
}

fn to_event(n: &Note) -> Event {
    match n {
        Note::Accept => notification("PAID", accepted(), eur(4321)),
        Note::AcceptWrongAmount => notification("WRONG", accepted(), eur(4320)),
        Note::Refuse(i) => notification(&format!("R{i}"), refused(), eur(4321)),
        Note::Pending(i) => notification(&format!("P{i}"), BankOutcome::Pending, eur(4321)),
        Note::Cancel(i) => notification(&format!("C{i}"), BankOutcome::Cancelled, eur(4321)),
    }
}

fn note() -> impl Strategy<Value = Note> {
    prop_oneof![
        Just(Note::Accept),
        Just(Note::AcceptWrongAmount),
        (0u8..4).prop_map(Note::Refuse),
        (0u8..3).prop_map(Note::Pending),
        (0u8..3).prop_map(Note::Cancel),
    ]
}

/// A set of notifications, then a delivery of it in a random order with random repetitions.
fn deliveries() -> impl Strategy<Value = (Vec<Note>, Vec<Note>)> {
    proptest::collection::vec(note(), 1..8).prop_flat_map(|set| {
        let n = set.len();
        (Just(set.clone()), proptest::collection::vec(0..n, n..n * 4)).prop_flat_map(
            move |(set, extra)| {
                // Every notification at least once, plus repeats, shuffled.
                let mut all: Vec<Note> = set.clone();
                all.extend(extra.iter().map(|i| set[*i].clone()));
                (Just(set), Just(all).prop_shuffle())
            },
        )
    })
}

fn run(notes: &[Note]) -> (CheckoutState, Vec<Effect>) {
    let mut s = state(CheckoutStatus::AwaitingPayment);
    let mut effects = Vec::new();
    for n in notes {
        let t = apply(&s, &to_event(n)).unwrap();
        effects.extend(t.effects);
        s = t.state;
    }
    (s, effects)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any order and any repetition of one set of verified notifications gives the same final
    /// state and the same effects, each at most once; a success always wins over a refusal.
    ///
    /// Refusal e-mails are the one order-dependent effect, by the guide's own rule (row 5: a
    /// refusal arriving after the success e-mails nobody); they are checked separately: at most
    /// once per refused try, and none for a refusal applied after the success.
    #[test]
    fn order_and_repetition_do_not_matter((set, delivery) in deliveries()) {
        let (reference_state, reference_effects) = run(&set);
        let (state, effects) = run(&delivery);

        prop_assert_eq!(state.status, reference_state.status);
        prop_assert_eq!(state.amount_mismatch, reference_state.amount_mismatch);
        prop_assert_eq!(&state.seen, &reference_state.seen);

        let keys: Vec<String> = effects.iter().map(Effect::key).collect();
        let unique: BTreeSet<&String> = keys.iter().collect();
        prop_assert_eq!(unique.len(), keys.len(), "an effect happened twice: {:?}", keys);

        let not_refusal = |e: &&Effect| !matches!(e, Effect::NotifyManagerOfRefusal { .. });
        let a: BTreeSet<String> = effects.iter().filter(not_refusal).map(Effect::key).collect();
        let b: BTreeSet<String> = reference_effects.iter().filter(not_refusal).map(Effect::key).collect();
        prop_assert_eq!(a, b);

        let paid = set.iter().any(|n| matches!(n, Note::Accept));
        prop_assert_eq!(state.status == CheckoutStatus::Valid, paid, "success must win over refusals");
        prop_assert_eq!(state.amount_mismatch, set.iter().any(|n| matches!(n, Note::AcceptWrongAmount)));

        // No refusal e-mail after the success.
        let mut s = state_after_prefix_is_paid(&delivery);
        prop_assert!(s.all(|(paid_before, is_refusal_mail)| !(paid_before && is_refusal_mail)));
    }
}

/// For each delivered notification: was the checkout already paid, and did it e-mail a refusal.
fn state_after_prefix_is_paid(notes: &[Note]) -> impl Iterator<Item = (bool, bool)> {
    let mut s = state(CheckoutStatus::AwaitingPayment);
    let mut out = Vec::new();
    for n in notes {
        let paid = s.status == CheckoutStatus::Valid;
        let t = apply(&s, &to_event(n)).unwrap();
        out.push((
            paid,
            t.effects
                .iter()
                .any(|e| matches!(e, Effect::NotifyManagerOfRefusal { .. })),
        ));
        s = t.state;
    }
    out.into_iter()
}
