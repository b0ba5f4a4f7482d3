//! A checkout's lifecycle state as the store reads it, and what a refund request would ask
//! the bank for, from [`CheckoutDetail`], so the back office shows what the lifecycle does.

use tpe_core::lifecycle::refund::{Owed, owed};
use tpe_core::{Amount, CheckoutState, OutcomeKind};

use crate::types::{CheckoutDetail, CheckoutRecord};

impl CheckoutRecord {
    /// Its lifecycle state, with the bank transactions and outcomes it has seen.
    pub(crate) fn lifecycle_state(
        &self,
        seen: impl IntoIterator<Item = (String, OutcomeKind)>,
    ) -> CheckoutState {
        CheckoutState {
            reference: self.reference.clone(),
            provider: self.provider.clone(),
            amount: self.amount,
            shop_order_id: self.shop_order_id.clone(),
            status: self.status,
            amount_mismatch: self.amount_mismatch,
            superseded_by: self.superseded_by.clone(),
            validated_by: self.validated_by.clone(),
            retract_at: self.retract_at,
            seen: seen.into_iter().collect(),
            schedule: self.schedule.clone(),
            instalments: self.instalments.clone(),
            refunds: self.refunds.clone(),
        }
    }
}

impl CheckoutDetail {
    /// The bank transactions paid and not refunded, each with its amount: what a refund
    /// request would ask the bank for now ([`tpe_core::lifecycle::refund::owed`]), whether or
    /// not the checkout's state allows one.
    pub fn to_refund(&self) -> Vec<Owed> {
        let seen = self
            .bank_transactions
            .iter()
            .map(|t| (t.bank_transaction_id.clone(), t.outcome));
        owed(&self.checkout.lifecycle_state(seen))
    }

    /// The sum of [`CheckoutDetail::to_refund`]; `None` when nothing is to refund.
    pub fn to_refund_total(&self) -> Option<Amount> {
        let owed = self.to_refund();
        let (first, rest) = owed.split_first()?;
        rest.iter()
            .try_fold(first.amount, |sum, o| sum.checked_add(o.amount).ok())
    }
}
