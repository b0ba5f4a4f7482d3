//! Refunds (events 15–17): everything the checkout was paid, each bank transaction on its own
//! for its own amount, never twice (see also the repository's `docs/instalments.md`).
//!
//! | Event | Result |
//! |---|---|
//! | Refund requested: paid after retraction, the extra payment of an order, or refunded with a versement paid since | `Refunding`; one [`Effect::Refund`] per bank transaction paid and not refunded (the checkout's own payment, then each later instalment paid), each [`RefundState::Underway`] |
//! | Refund requested with nothing left to refund, or a refund under way | [`TransitionError::NotRefundable`] |
//! | The bank took a transaction's refund | that transaction [`RefundState::Refunded`] |
//! | The bank refused a transaction's refund | that transaction [`RefundState::Refused`] |
//! | The last refund under way settled | `Refunded` if every one of this request was taken, else back to where the request was made (what was refunded stays refunded; a new request gives back the rest) |
//!
//! A later instalment the bank charges after the refund is a versement like any other: the
//! checkout stays `Refunded`, and a new request refunds that transaction alone.

use serde::{Deserialize, Serialize};

use super::{CheckoutState, CheckoutStatus as S, Effect, InstalmentVerdict, TransitionError};
use crate::clock::Timestamp;
use crate::money::Amount;
use crate::provider::OutcomeKind;
use crate::reference::PaymentReference;

/// Where the refund of one bank transaction stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RefundState {
    /// Asked of the bank by the refund request named `attempt` ([`Effect::Refund`]).
    Underway {
        /// The request's attempt.
        attempt: i64,
    },
    /// The bank took it: never asked again.
    Refunded,
    /// The bank refused it; the checkout goes back to `back_to` once no refund is under way,
    /// and a new request asks again, under a later attempt.
    Refused {
        /// The state the request was made from.
        back_to: S,
        /// The refused request's attempt.
        attempt: i64,
    },
}

/// One bank transaction's money to give back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Owed {
    /// The bank transaction that paid it.
    pub bank_transaction_id: String,
    /// What it paid.
    pub amount: Amount,
    /// The later instalment it paid; `None`: the checkout's own payment.
    pub instalment: Option<u8>,
}

/// What `state` was paid through the bank and has not been refunded, which a refund request
/// asks back: the bank transaction that paid at checkout (not a later instalment's), for what
/// it paid, then each later instalment paid, on its own transaction for its own amount.
/// Another accepted try of a payment made at once is not in it (it is the manager's alert of
/// a payment received twice).
pub fn owed(state: &CheckoutState) -> Vec<Owed> {
    let later = |txn: &str| {
        state
            .instalments
            .values()
            .any(|e| e.bank_transaction_id == txn)
    };
    // Refunded before refunds were kept per bank transaction: its own payment was refunded
    // (a later versement could not be then).
    let legacy = state.status == S::Refunded && state.refunds.is_empty();
    let first = state
        .seen
        .iter()
        .find(|(txn, kind)| *kind == OutcomeKind::Accepted && !later(txn))
        .filter(|_| !legacy)
        .map(|(txn, _)| Owed {
            bank_transaction_id: txn.clone(),
            amount: state.paid_at_checkout(),
            instalment: None,
        });
    let schedule = state.schedule.as_ref();
    let versements = state
        .instalments
        .iter()
        .filter(|(_, e)| e.verdict == InstalmentVerdict::Paid)
        .filter_map(|(n, e)| {
            Some(Owed {
                bank_transaction_id: e.bank_transaction_id.clone(),
                amount: schedule?.get(*n)?.amount,
                instalment: Some(*n),
            })
        });
    first
        .into_iter()
        .chain(versements)
        .filter(|o| state.refunds.get(&o.bank_transaction_id) != Some(&RefundState::Refunded))
        .collect()
}

/// A manager's refund request at `at`.
pub(super) fn request(
    next: &mut CheckoutState,
    effects: &mut Vec<Effect>,
    at: Timestamp,
    order_paid_by: Option<&PaymentReference>,
) -> Result<(), TransitionError> {
    let (reference, status) = (next.reference.clone(), next.status);
    let extra_payment =
        status == S::Valid && order_paid_by.is_some_and(|other| *other != next.reference);
    // Refunded already, a versement paid since is refunded by the same request.
    if !matches!(status, S::PaidAfterRetraction | S::Refunded) && !extra_payment {
        return Err(TransitionError::NotRefundable { reference, status });
    }
    let owed = owed(next);
    if owed.is_empty() {
        return Err(TransitionError::NotRefundable { reference, status });
    }
    // A new attempt, hence new effect keys and idempotency keys, even within the refused
    // one's millisecond.
    let refused = next.refunds.values().filter_map(|r| match r {
        RefundState::Refused { attempt, .. } => Some(attempt.saturating_add(1)),
        _ => None,
    });
    let attempt = refused.fold(at.as_millisecond(), i64::max);
    next.status = S::Refunding;
    for o in owed {
        next.refunds.insert(
            o.bank_transaction_id.clone(),
            RefundState::Underway { attempt },
        );
        effects.push(Effect::Refund {
            bank_transaction_id: o.bank_transaction_id,
            amount: o.amount,
            attempt,
            back_to: status,
            instalment: o.instalment,
        });
    }
    Ok(())
}

/// The bank's answer on `bank_transaction_id`'s refund (`None`: every refund under way):
/// `Some(back_to)` refused, `None` taken.
pub(super) fn settle(
    next: &mut CheckoutState,
    bank_transaction_id: Option<&str>,
    refused: Option<S>,
) -> Result<(), TransitionError> {
    let (reference, status) = (next.reference.clone(), next.status);
    let no_refund = || TransitionError::NoRefundUnderway { reference, status };
    if status != S::Refunding
        || refused.is_some_and(|b| !matches!(b, S::Valid | S::PaidAfterRetraction | S::Refunded))
    {
        return Err(no_refund());
    }
    let underway: Vec<(String, i64)> = next
        .refunds
        .iter()
        .filter_map(|(txn, r)| match r {
            RefundState::Underway { attempt } => Some((txn.clone(), *attempt)),
            _ => None,
        })
        .collect();
    let answered: Vec<(String, i64)> = match bank_transaction_id {
        Some(txn) if underway.iter().any(|(u, _)| u == txn) => {
            underway.into_iter().filter(|(u, _)| u == txn).collect()
        }
        // A refund asked before refunds were kept per bank transaction.
        _ if underway.is_empty() => Vec::new(),
        Some(_) => return Err(no_refund()),
        None => underway,
    };
    for (txn, attempt) in answered {
        let outcome = match refused {
            Some(back_to) => RefundState::Refused { back_to, attempt },
            None => RefundState::Refunded,
        };
        next.refunds.insert(txn, outcome);
    }
    if next
        .refunds
        .values()
        .any(|r| matches!(r, RefundState::Underway { .. }))
    {
        return Ok(());
    }
    let back_to = next.refunds.values().find_map(|r| match r {
        RefundState::Refused { back_to, .. } => Some(*back_to),
        _ => None,
    });
    next.status = back_to.or(refused).unwrap_or(S::Refunded);
    Ok(())
}
