//! The manager's decisions on money that should not have come (events 14–17): reinstate a
//! checkout paid after its retraction, or refund it — or the extra payment of an order paid
//! twice — through the bank.

use super::{
    CheckoutState, CheckoutStatus as S, Effect, Event, InstalmentVerdict, TransitionError,
};
use crate::provider::OutcomeKind;

/// Applies a decision event to `next` (a copy of the state); `Err` leaves the state as it was.
pub(super) fn apply(
    next: &mut CheckoutState,
    effects: &mut Vec<Effect>,
    event: &Event,
) -> Result<(), TransitionError> {
    let (reference, status) = (next.reference.clone(), next.status);
    match event {
        Event::Reinstate { .. } => {
            if status != S::PaidAfterRetraction {
                return Err(TransitionError::NotReinstatable { reference, status });
            }
            // The payment record was written when the money came (event 8): what is left of
            // event 2 is the customer's confirmation and the order's other checkouts.
            next.status = S::Valid;
            effects.push(Effect::ConfirmToCustomer);
            if next.shop_order_id.is_some() {
                effects.push(Effect::SupersedeSiblings);
            }
        }
        Event::RequestRefund {
            at, order_paid_by, ..
        } => {
            let extra_payment = status == S::Valid
                && order_paid_by
                    .as_ref()
                    .is_some_and(|other| *other != next.reference);
            if status != S::PaidAfterRetraction && !extra_payment {
                return Err(TransitionError::NotRefundable { reference, status });
            }
            // A payment in instalments gives back what it paid; once later versements are
            // paid, that is several bank transactions, each refunded at the bank.
            let numbers: Vec<u8> = next
                .instalments
                .iter()
                .filter(|(_, e)| e.verdict == InstalmentVerdict::Paid)
                .map(|(n, _)| *n)
                .collect();
            if !numbers.is_empty() {
                return Err(TransitionError::SeveralVersements { reference, numbers });
            }
            // The money to give back is the bank transaction that paid at checkout (not a
            // later instalment's), for what it paid.
            let paid_by = next
                .seen
                .iter()
                .filter(|(txn, _)| {
                    !next
                        .instalments
                        .values()
                        .any(|e| e.bank_transaction_id == *txn)
                })
                .find(|(_, kind)| *kind == OutcomeKind::Accepted)
                .map(|(txn, _)| txn.clone());
            let Some(bank_transaction_id) = paid_by else {
                return Err(TransitionError::NotRefundable { reference, status });
            };
            next.status = S::Refunding;
            effects.push(Effect::Refund {
                bank_transaction_id,
                amount: next.paid_at_checkout(),
                attempt: at.as_millisecond(),
                back_to: status,
            });
        }
        Event::RefundSucceeded { .. } => {
            if status != S::Refunding {
                return Err(TransitionError::NoRefundUnderway { reference, status });
            }
            next.status = S::Refunded;
        }
        Event::RefundFailed { back_to, .. } => {
            if status != S::Refunding || !matches!(back_to, S::Valid | S::PaidAfterRetraction) {
                return Err(TransitionError::NoRefundUnderway { reference, status });
            }
            next.status = *back_to;
        }
        _ => {}
    }
    Ok(())
}
