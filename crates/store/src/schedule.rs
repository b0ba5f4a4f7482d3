//! A checkout's schedule of instalments with each instalment's state, as the back office
//! shows it: read from [`CheckoutDetail`], so both databases answer alike.

use tpe_core::Reason;
use tpe_core::instalments::Instalment;
use tpe_core::lifecycle::{InstalmentVerdict, PAID};

use crate::types::{CheckoutDetail, PaymentRecord};

/// One instalment of a schedule and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScheduledInstalment {
    /// Its number (1 is the first, charged at checkout).
    pub number: u8,
    /// Its amount and due date.
    pub instalment: Instalment,
    /// Paid, due or refused.
    pub state: InstalmentState,
}

/// Where an instalment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstalmentState {
    /// The bank charged it.
    Paid {
        /// Its payment record; none for a later instalment charged before the first was
        /// (it is written when the first is).
        record: Option<PaymentRecord>,
    },
    /// Not charged yet.
    Due,
    /// The bank could not charge it.
    Refused {
        /// The bank's code and its explanation.
        reason: Reason,
    },
}

impl CheckoutDetail {
    /// The checkout's schedule with each instalment's state; empty for a checkout paid at
    /// once.
    pub fn schedule(&self) -> Vec<ScheduledInstalment> {
        let checkout = &self.checkout;
        let Some(schedule) = &checkout.schedule else {
            return Vec::new();
        };
        let record_of = |txn: &str| {
            self.payments
                .iter()
                .find(|p| p.bank_transaction_id.as_deref() == Some(txn))
                .cloned()
        };
        // The first's record: the checkout's first one that no later instalment names.
        let first = self
            .payments
            .iter()
            .find(|p| {
                !checkout.instalments.values().any(|l| {
                    Some(l.bank_transaction_id.as_str()) == p.bank_transaction_id.as_deref()
                })
            })
            .cloned();
        (1u8..)
            .zip(schedule.instalments())
            .map(|(number, instalment)| {
                let state = if number == 1 {
                    if PAID.contains(&checkout.status) {
                        InstalmentState::Paid {
                            record: first.clone(),
                        }
                    } else {
                        InstalmentState::Due
                    }
                } else {
                    match checkout.instalments.get(&number) {
                        None => InstalmentState::Due,
                        Some(l) => match &l.verdict {
                            InstalmentVerdict::Refused { reason } => InstalmentState::Refused {
                                reason: reason.clone(),
                            },
                            _ => InstalmentState::Paid {
                                record: record_of(&l.bank_transaction_id),
                            },
                        },
                    }
                };
                ScheduledInstalment {
                    number,
                    instalment: *instalment,
                    state,
                }
            })
            .collect()
    }
}
