//! `Annulation` is not terminal (spec C.5): through the lifecycle, a refusal leaves the
//! checkout awaiting payment and a later `paiement` for the same reference validates it, while
//! the same return sent again changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use tpe_core::lifecycle::{BankVerdict, CheckoutState, CheckoutStatus, Event, apply};
use tpe_core::{PaymentReference, VerifiedNotification};

fn event(n: &VerifiedNotification) -> Event {
    Event::Notification {
        verdict: BankVerdict {
            bank_transaction_id: n.bank_transaction_id.clone(),
            outcome: n.outcome.clone(),
            amount: n.amount,
            instalment: n.instalment,
        },
        order_paid_by: None,
    }
}

#[test]
fn annulation_then_paiement_validates_the_checkout() {
    let p = common::provider();
    let refused = p
        .verify_bytes(common::signed("Annulation", "Refus").as_bytes())
        .unwrap();
    let paid = p
        .verify_bytes(common::signed("paiement", "").as_bytes())
        .unwrap();
    let state = CheckoutState::new(
        PaymentReference::parse("CMD-1042").unwrap(),
        tpe_core::PaymentProvider::id(&p),
        paid.amount,
        None,
        common::now(),
    );
    let after_refusal = apply(&state, &event(&refused)).unwrap();
    assert_eq!(after_refusal.state.status, CheckoutStatus::AwaitingPayment);
    let again = apply(&after_refusal.state, &event(&refused)).unwrap();
    assert_eq!(again.state.status, CheckoutStatus::AwaitingPayment);
    let after_payment = apply(&again.state, &event(&paid)).unwrap();
    assert_eq!(after_payment.state.status, CheckoutStatus::Valid);
    // A late refusal never downgrades a paid checkout.
    let late = apply(&after_payment.state, &event(&refused)).unwrap();
    assert_eq!(late.state.status, CheckoutStatus::Valid);
}
