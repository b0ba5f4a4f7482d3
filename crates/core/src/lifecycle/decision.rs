//! The manager's decisions on money that should not have come (events 14–17): reinstate a
//! checkout paid after its retraction, or refund it — or the extra payment of an order paid
//! twice — through the bank.

use super::{CheckoutState, CheckoutStatus as S, Effect, Event, TransitionError, refund};

/// Applies a decision event to `next` (a copy of the state); `Err` leaves the state as it was.
pub(super) fn apply(
    next: &mut CheckoutState,
    effects: &mut Vec<Effect>,
    event: &Event,
) -> Result<(), TransitionError> {
    match event {
        Event::Reinstate { .. } => {
            if next.status != S::PaidAfterRetraction {
                return Err(TransitionError::NotReinstatable {
                    reference: next.reference.clone(),
                    status: next.status,
                });
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
        } => refund::request(next, effects, *at, order_paid_by.as_ref())?,
        Event::RefundSucceeded {
            bank_transaction_id,
            ..
        } => refund::settle(next, bank_transaction_id.as_deref(), None)?,
        Event::RefundFailed {
            back_to,
            bank_transaction_id,
            ..
        } => refund::settle(next, bank_transaction_id.as_deref(), Some(*back_to))?,
        _ => {}
    }
    Ok(())
}
