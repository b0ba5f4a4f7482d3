//! The contract's promises beyond one payment: provider data kept and handed back, the bank's
//! own answer to a rejection, capabilities equal to methods, unknown codes never a verdict,
//! bank references that map back to one checkout, bounded notifications.

use tpe_core::lifecycle::{BankVerdict, CheckoutState, CheckoutStatus, Effect, Event, apply};
use tpe_core::{
    Amount, BankOutcome, Handled, NotificationLimits, OperationRequest, OutcomeKind, ProviderError,
    RawNotification, RefundRequest, RemoteStatus, StatusQuery,
};

use super::api::status_query;
use super::{CheckFailure, CheckResult, Verdict, answer_as_expected, is_panic, pay, verify};
use crate::bank::Forgery;
use crate::fixtures;
use crate::harness::Harness;

/// What `prepare` gave to keep reaches the status query: with the stored bank reference and
/// provider data, and no transaction id at all, the bank reports the paid checkout paid.
pub async fn provider_data_round_trip(h: &Harness) -> CheckResult {
    const CHECK: &str = "provider_data_round_trip";
    if !h.provider.profile().capabilities.status_query {
        return Ok(Verdict::provider_lacks("status_query"));
    }
    let paid = match pay(h, CHECK, OutcomeKind::Accepted).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    if let Some(data) = &paid.opened.prepared.provider_data {
        let round = serde_json::to_string(data)
            .ok()
            .and_then(|j| serde_json::from_str::<tpe_core::ProviderData>(&j).ok());
        if round.as_ref() != Some(data) {
            return Err(CheckFailure::new(
                CHECK,
                "the provider data does not survive storage as text",
            ));
        }
    }
    let query = status_query(&paid.opened);
    let report = h.provider.query_status(&query, h.now).await.map_err(|e| {
        CheckFailure::new(
            CHECK,
            format!("query_status with the stored provider data only: {e}"),
        )
    })?;
    match report.status {
        RemoteStatus::Paid {
            bank_transaction_id,
            ..
        } if bank_transaction_id == paid.verified.bank_transaction_id => Ok(Verdict::Passed),
        other => Err(CheckFailure::new(
            CHECK,
            format!(
                "the notification said paid as {}, query_status with the stored provider data \
                 says {other:?}",
                paid.verified.bank_transaction_id
            ),
        )),
    }
}

/// A rejected notification gets the provider's answer, in the bank's words: the status (and
/// body, where the bank reads it) the bank expects, never a 2xx that would stop a genuine
/// retry. A store outage is answered so that the bank retries.
pub async fn rejection_answered_by_provider(h: &Harness) -> CheckResult {
    const CHECK: &str = "rejection_answered_by_provider";
    let paid = match pay(h, CHECK, OutcomeKind::Accepted).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let expected = h.bank.expected_rejection();
    let mut tried = 0;
    for forgery in Forgery::ALL {
        for c in h.bank.forge(&paid.captured, forgery) {
            let result = verify(h, &c, h.now);
            let Err(e) = &result else {
                return Err(CheckFailure::new(
                    CHECK,
                    format!("a {forgery:?} notification verified"),
                ));
            };
            if is_panic(&result) || !e.is_rejection() {
                continue;
            }
            tried += 1;
            let ack = h.provider.answer(&Handled::Rejected(e));
            let what = format!("the answer to a {forgery:?} notification");
            answer_as_expected(h, CHECK, &what, &ack, &expected)?;
        }
    }
    if tried == 0 {
        return Ok(Verdict::bank_lacks("forged notifications"));
    }
    let outage = h.provider.answer(&Handled::Unavailable);
    if h.bank.expected_ack().status.contains(&outage.status) || outage.status < 500 {
        return Err(CheckFailure::new(
            CHECK,
            format!(
                "a store outage is answered {}: the bank would not retry",
                outage.status
            ),
        ));
    }
    Ok(Verdict::Passed)
}

/// Every declared capability has a working method and every undeclared one answers
/// `Unsupported`: `status_query`, `refund`, `capture`, `cancel`.
pub async fn capabilities_match_methods(h: &Harness) -> CheckResult {
    const CHECK: &str = "capabilities_match_methods";
    let caps = h.provider.profile().capabilities;
    let paid = match pay(h, CHECK, OutcomeKind::Accepted).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let opened = &paid.opened;
    let txn = paid.verified.bank_transaction_id.clone();
    let amount = opened.request.amount;
    let operation = OperationRequest::new(opened.request.reference.clone(), txn.clone(), amount)
        .for_checkout(
            opened.request.bank_reference.clone(),
            opened.prepared.provider_data.clone(),
        );
    let refund = RefundRequest::new(
        opened.request.reference.clone(),
        txn.clone(),
        small(amount),
        format!("{}-capabilities", opened.request.reference),
    )
    .for_checkout(
        opened.request.bank_reference.clone(),
        opened.prepared.provider_data.clone(),
    );
    let query: StatusQuery = status_query(opened).with_transactions(vec![txn]);
    let p = &h.provider;
    let results: [(&str, bool, Result<(), ProviderError>); 4] = [
        (
            "status_query",
            caps.status_query,
            p.query_status(&query, h.now).await.map(drop),
        ),
        (
            "refund",
            caps.refund,
            p.refund(&refund, h.now).await.map(drop),
        ),
        (
            "capture",
            caps.capture,
            p.capture(&operation, h.now).await.map(drop),
        ),
        (
            "cancel",
            caps.cancel,
            p.cancel(&operation, h.now).await.map(drop),
        ),
    ];
    for (name, declared, result) in results {
        let unsupported = matches!(result, Err(ProviderError::Unsupported { .. }));
        if declared && unsupported {
            return Err(CheckFailure::new(
                CHECK,
                format!("{name} is declared but answers Unsupported"),
            ));
        }
        if !declared && !unsupported {
            return Err(CheckFailure::new(
                CHECK,
                format!("{name} is not declared but did not answer Unsupported: {result:?}"),
            ));
        }
    }
    if caps.partial_refund && !caps.refund {
        return Err(CheckFailure::new(
            CHECK,
            "partial_refund is declared without refund",
        ));
    }
    Ok(Verdict::Passed)
}

/// One minor unit of the amount's currency (a refund that any paid checkout can take).
fn small(amount: Amount) -> Amount {
    Amount::new(1, amount.currency()).unwrap_or(amount)
}

/// A result code outside the provider's table is never a verdict: the notification is
/// `Unclassified` with the raw code, and the lifecycle leaves the checkout awaiting payment
/// and alerts the manager.
pub async fn unclassified_code_leaves_awaiting(h: &Harness) -> CheckResult {
    const CHECK: &str = "unclassified_code_leaves_awaiting";
    let paid = match pay(h, CHECK, OutcomeKind::Unclassified).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let n = &paid.verified;
    if let (BankOutcome::Unclassified { code }, Some(expected)) =
        (&n.outcome, &paid.completion.expected_code)
        && code != expected
    {
        return Err(CheckFailure::new(
            CHECK,
            format!("the bank sent code {expected}, the notification keeps {code}"),
        ));
    }
    let state = CheckoutState::new(
        paid.opened.request.reference.clone(),
        h.provider.id(),
        paid.opened.request.amount,
        None,
        h.now,
    );
    let event = Event::Notification {
        verdict: BankVerdict {
            bank_transaction_id: n.bank_transaction_id.clone(),
            outcome: n.outcome.clone(),
            amount: n.amount,
        },
        order_paid_by: None,
    };
    let t = apply(&state, &event).map_err(|e| CheckFailure::new(CHECK, e.to_string()))?;
    let alerted = t
        .effects
        .iter()
        .any(|e| matches!(e, Effect::AlertManager(_)));
    if t.state.status != CheckoutStatus::AwaitingPayment || !alerted {
        return Err(CheckFailure::new(
            CHECK,
            format!(
                "an unclassified code left the checkout {} with effects {:?}",
                t.state.status, t.effects
            ),
        ));
    }
    Ok(Verdict::Passed)
}

/// Bank references are valid for the bank, differ between checkouts, and each authentic
/// notification names exactly the bank reference its checkout was prepared with.
pub async fn bank_references_map_back(h: &Harness) -> CheckResult {
    const CHECK: &str = "bank_references_map_back";
    let reference = fixtures::reference();
    let a = h.provider.bank_reference(&reference, h.now, 1);
    let b = h.provider.bank_reference(&reference, h.now, 2);
    if a.is_err() || b.is_err() {
        return Err(CheckFailure::new(
            CHECK,
            format!("bank_reference failed for a valid reference: {a:?} {b:?}"),
        ));
    }
    let first = match pay(h, CHECK, OutcomeKind::Accepted).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let second = match pay(h, CHECK, OutcomeKind::Accepted).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    for paid in [&first, &second] {
        if paid.verified.bank_reference != paid.opened.request.bank_reference {
            return Err(CheckFailure::new(
                CHECK,
                format!(
                    "checkout prepared as {} was notified as {}",
                    paid.opened.request.bank_reference, paid.verified.bank_reference
                ),
            ));
        }
    }
    if first.opened.request.bank_reference == second.opened.request.bank_reference {
        return Err(CheckFailure::new(
            CHECK,
            "two checkouts got the same bank reference",
        ));
    }
    Ok(Verdict::Passed)
}

/// The provider's notification limits hold its genuine notifications, stay within 1 MiB, and
/// a body one byte over them is refused before any verification.
pub async fn notification_limits_bounded(h: &Harness) -> CheckResult {
    const CHECK: &str = "notification_limits_bounded";
    let limits = h.provider.profile().limits;
    if limits.max_body > NotificationLimits::JSON.max_body
        || limits.max_query > NotificationLimits::JSON.max_query
    {
        return Err(CheckFailure::new(
            CHECK,
            format!("limits {limits:?} exceed 1 MiB of body or 8 KiB of query"),
        ));
    }
    let paid = match pay(h, CHECK, OutcomeKind::Accepted).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let c = &paid.captured;
    let within = |body: Vec<u8>| {
        RawNotification::within(
            limits,
            c.method,
            c.query.clone(),
            body,
            c.headers.clone(),
            None,
        )
    };
    if within(c.body.to_vec()).is_err() {
        return Err(CheckFailure::new(
            CHECK,
            format!(
                "a genuine notification of {} bytes exceeds the provider's limits {limits:?}",
                c.body.len()
            ),
        ));
    }
    if within(vec![b'a'; limits.max_body + 1]).is_ok() {
        return Err(CheckFailure::new(
            CHECK,
            "a body over the limit was accepted",
        ));
    }
    Ok(Verdict::Passed)
}
