//! Payment in instalments in the lifecycle (see also the repository's
//! `docs/instalments.md`).
//!
//! | Event | Checkout awaiting payment or retracted | Checkout paid (valid, paid after retraction, refunding, refunded) |
//! |---|---|---|
//! | First instalment accepted (instalment none or 1) | valid (or paid after retraction) as for a single payment; its payment record is the first instalment's amount; the later instalments already received are released | as a second acceptance of a single payment |
//! | Later instalment `n` accepted | kept in the state, no effect yet | payment record of instalment `n`'s amount, its own bank transaction |
//! | Later instalment `n` refused | kept in the state, no effect yet | alert [`Alert::InstalmentRefused`] with the bank's code explained, once per instalment; the checkout stays as it is |
//! | Later instalment accepted after a refusal of it | the success wins | payment record (the refusal's alert stays sent) |
//! | Later instalment refused after its success | nothing | nothing: a late refusal never undoes a payment |
//! | Same bank transaction and outcome again | nothing (replay) | nothing (replay) |
//! | Instalment `n` outside the schedule, or no schedule | quarantined | quarantined |
//! | Instalment `n` accepted for another amount | alert and quarantine, as event 7 | alert and quarantine |
//! | A second accepted bank transaction for a paid instalment | quarantined | quarantined |
//!
//! A later instalment that arrives before the first is applied (notifications overtake each
//! other, or the first comes only through reconciliation) is kept, not quarantined: the bank
//! did charge it. Its effects are written in the transition that makes the checkout paid, so
//! whatever the order and repetition of the notifications, each effect happens exactly once
//! and the final state is the same.

use serde::{Deserialize, Serialize};

use super::{Alert, BankVerdict, CheckoutState, CheckoutStatus, Effect, ValidationSource};
use crate::provider::BankOutcome;
use crate::reason::Reason;

/// The bank's verdict on one later instalment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LaterInstalment {
    /// The bank transaction that carried the verdict.
    pub bank_transaction_id: String,
    /// Paid or refused.
    pub verdict: InstalmentVerdict,
}

/// Whether a later instalment was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum InstalmentVerdict {
    /// The bank charged it.
    Paid,
    /// The bank could not charge it.
    Refused {
        /// The bank's code and its explanation.
        reason: Reason,
    },
}

/// The states of a checkout whose (first) payment has arrived: later instalments take effect
/// at once.
pub const PAID: [CheckoutStatus; 4] = [
    CheckoutStatus::Valid,
    CheckoutStatus::PaidAfterRetraction,
    CheckoutStatus::Refunding,
    CheckoutStatus::Refunded,
];

pub(super) fn is_paid(status: CheckoutStatus) -> bool {
    PAID.contains(&status)
}

/// Applies the verdict on instalment `number` (2 and up), already known to be new.
pub(super) fn later(
    next: &mut CheckoutState,
    effects: &mut Vec<Effect>,
    number: u8,
    verdict: &BankVerdict,
) {
    let txn = verdict.bank_transaction_id.clone();
    let quarantine = |effects: &mut Vec<Effect>, why: String| {
        effects.push(Effect::Quarantine {
            bank_transaction_id: txn.clone(),
            why,
        });
    };
    let Some(due) = next.schedule.as_ref().and_then(|s| s.get(number)) else {
        let why = match &next.schedule {
            Some(s) => format!("instalment {number} of a schedule of {}", s.count()),
            None => format!("instalment {number} of a checkout paid at once"),
        };
        return quarantine(effects, why);
    };
    let entry = LaterInstalment {
        bank_transaction_id: txn.clone(),
        verdict: InstalmentVerdict::Paid,
    };
    match &verdict.outcome {
        BankOutcome::Accepted { .. } => {
            if verdict.amount != due.amount {
                return super::mismatch(effects, due.amount, verdict.amount, txn);
            }
            if let Some(paid) = next
                .instalments
                .get(&number)
                .filter(|e| e.verdict == InstalmentVerdict::Paid)
            {
                let why = format!(
                    "instalment {number} already paid by bank transaction {}",
                    paid.bank_transaction_id
                );
                return quarantine(effects, why);
            }
            // A success wins over an earlier refusal of the same instalment.
            next.instalments.insert(number, entry);
        }
        BankOutcome::Refused { reason } => {
            if next.instalments.contains_key(&number) {
                return; // paid already, or its refusal already alerted
            }
            next.instalments.insert(
                number,
                LaterInstalment {
                    verdict: InstalmentVerdict::Refused {
                        reason: reason.clone(),
                    },
                    ..entry
                },
            );
        }
        BankOutcome::Unclassified { code } => {
            effects.push(Effect::AlertManager(Alert::UnclassifiedOutcome {
                code: code.clone(),
                bank_transaction_id: txn,
            }));
            return;
        }
        _ => return,
    }
    if is_paid(next.status) {
        effects.extend(effect(next, number));
    }
}

/// The effects of every later instalment kept while the checkout was not paid.
pub(super) fn release(next: &CheckoutState, effects: &mut Vec<Effect>) {
    for &number in next.instalments.keys() {
        effects.extend(effect(next, number));
    }
}

/// The effect of instalment `number`'s verdict on a paid checkout.
fn effect(state: &CheckoutState, number: u8) -> Option<Effect> {
    let entry = state.instalments.get(&number)?;
    let amount = state.schedule.as_ref()?.get(number)?.amount;
    let bank_transaction_id = entry.bank_transaction_id.clone();
    Some(match &entry.verdict {
        InstalmentVerdict::Paid => Effect::RecordPayment {
            amount,
            bank_transaction_id: Some(bank_transaction_id),
            source: ValidationSource::Bank,
        },
        InstalmentVerdict::Refused { reason } => Effect::AlertManager(Alert::InstalmentRefused {
            number,
            amount,
            bank_transaction_id,
            reason: reason.clone(),
        }),
    })
}
