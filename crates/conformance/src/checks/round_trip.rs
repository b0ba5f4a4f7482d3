//! prepare → pay at the bank → notification → verify keeps reference, amount, currency and
//! outcome, for each outcome the bank can express.

use tpe_core::{BankOutcome, OutcomeKind, ReasonKind};

use super::{CheckFailure, CheckResult, Verdict, pay};
use crate::harness::Harness;

/// An accepted payment round-trips.
pub async fn round_trip_accepted(h: &Harness) -> CheckResult {
    round_trip(h, "round_trip_accepted", OutcomeKind::Accepted).await
}

/// A refused payment round-trips, with the bank's code.
pub async fn round_trip_refused(h: &Harness) -> CheckResult {
    round_trip(h, "round_trip_refused", OutcomeKind::Refused).await
}

/// A pending payment round-trips.
pub async fn round_trip_pending(h: &Harness) -> CheckResult {
    round_trip(h, "round_trip_pending", OutcomeKind::Pending).await
}

/// A cancelled payment round-trips.
pub async fn round_trip_cancelled(h: &Harness) -> CheckResult {
    round_trip(h, "round_trip_cancelled", OutcomeKind::Cancelled).await
}

async fn round_trip(h: &Harness, check: &'static str, outcome: OutcomeKind) -> CheckResult {
    let paid = match pay(h, check, outcome).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let fail = |m: String| Err(CheckFailure::new(check, m));
    let (req, n) = (&paid.opened.request, &paid.verified);
    if n.bank_reference != req.bank_reference {
        return fail(format!(
            "the notification gives bank reference {}, the request has {}",
            n.bank_reference, req.bank_reference
        ));
    }
    if n.amount != req.amount {
        return fail(format!(
            "the notification gives {} minor units of {}, the request is {} of {}",
            n.amount.minor(),
            n.amount.currency(),
            req.amount.minor(),
            req.amount.currency()
        ));
    }
    if n.provider != h.provider.id() {
        return fail(format!(
            "the notification names provider {}, not {}",
            n.provider,
            h.provider.id()
        ));
    }
    if n.bank_transaction_id.is_empty() {
        return fail("the notification has an empty bank transaction id".into());
    }
    if let BankOutcome::Refused { reason } = &n.outcome {
        if let Some(code) = &paid.completion.expected_code
            && reason.code() != code
        {
            return fail(format!(
                "the bank refused with code {code}, the notification says {}",
                reason.code()
            ));
        }
        if reason.kind() == ReasonKind::UnknownCode {
            return fail(format!(
                "the bank's refusal code {} is not in the provider's table",
                reason.code()
            ));
        }
    }
    Ok(Verdict::Passed)
}
