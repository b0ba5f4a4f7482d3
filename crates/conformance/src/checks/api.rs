//! The acknowledgement, `query_status`, `refund` and `Arc<dyn PaymentProvider>`.

use std::sync::Arc;
use std::time::Duration;

use tpe_core::{
    Amount, Handled, OutcomeKind, PaymentProvider, ProviderId, RefundRequest, Registry,
    RemoteStatus, StatusQuery, Verified, VerifiedNotification,
};

use super::{
    CheckFailure, CheckResult, Opened, Verdict, answer_as_expected, pay, pay_with, standard_amount,
};
use crate::fixtures;
use crate::harness::Harness;
use crate::receiver::{NOTIFY_PATH, Receiver, Responder};

/// The acknowledgement has the status (and body, where the bank reads it) the bank expects,
/// is the same for an accepted and a refused payment (it says "received", not "paid"), and
/// the bank, answered with it, records the notification as delivered at the first attempt.
pub async fn acknowledgement_exact(h: &Harness) -> CheckResult {
    const CHECK: &str = "acknowledgement_exact";
    let provider = h.provider.clone();
    let now = h.now;
    // The shop as the engine is: verify, then answer exactly the provider's acknowledgement.
    let responder: Responder = Arc::new(move |c| {
        if c.path != NOTIFY_PATH {
            return (200, "text/plain", String::new());
        }
        match c.to_raw().map(|raw| provider.verify(&raw, now)) {
            Ok(Ok(v)) => {
                let ack = provider.answer(&Handled::Processed(&v));
                (ack.status, ack.content_type, ack.body.into_owned())
            }
            _ => (400, "text/plain", String::new()),
        }
    });
    let paid = match pay_with(
        h,
        CHECK,
        OutcomeKind::Accepted,
        Receiver::start_with(responder).await,
        |_| {},
    )
    .await?
    {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let ack = h.provider.answer(&Handled::Processed(&Verified::Payment(
        paid.verified.clone(),
    )));
    let expected = h.bank.expected_ack();
    answer_as_expected(h, CHECK, "the acknowledgement", &ack, &expected)?;
    if ack.body.len() > 1024 {
        return Err(CheckFailure::new(
            CHECK,
            "the acknowledgement body exceeds 1 KiB",
        ));
    }
    if let Ok(refused) = pay(h, CHECK, OutcomeKind::Refused).await? {
        let other = h.provider.answer(&Handled::Processed(&Verified::Payment(
            refused.verified.clone(),
        )));
        if other != ack {
            return Err(CheckFailure::new(
                CHECK,
                format!(
                    "a refused payment is acknowledged as {other:?}, an accepted one as {ack:?}"
                ),
            ));
        }
    }
    let reference = paid.opened.bank_reference();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut deliveries = h.bank.deliveries(reference);
    while deliveries.attempts.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        deliveries = h.bank.deliveries(reference);
    }
    // Leave the bank time to retry if it did not take the answer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    deliveries = h.bank.deliveries(reference);
    let acked = |s: &Option<u16>| s.is_some_and(|s| expected.status.contains(&s));
    if deliveries.attempts.is_empty()
        || deliveries.gave_up
        || deliveries
            .attempts
            .iter()
            .any(|(attempt, status)| *attempt != 1 || !acked(status))
    {
        return Err(CheckFailure::new(
            CHECK,
            format!(
                "answered with the acknowledgement, {} recorded the deliveries {:?} (gave up: {})",
                h.bank.name(),
                deliveries.attempts,
                deliveries.gave_up
            ),
        ));
    }
    Ok(Verdict::Passed)
}

/// After a payment, `query_status` reports it paid with the amount the bank charged; after a
/// refusal, it never reports it paid.
pub async fn query_status_agrees(h: &Harness) -> CheckResult {
    const CHECK: &str = "query_status_agrees";
    if !h.provider.profile().capabilities.status_query {
        return Ok(Verdict::provider_lacks("status_query"));
    }
    let paid = match pay(h, CHECK, OutcomeKind::Accepted).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let n = &paid.verified;
    let query = status_query(&paid.opened).with_transactions(vec![n.bank_transaction_id.clone()]);
    let report =
        h.provider.query_status(&query, h.now).await.map_err(|e| {
            CheckFailure::new(CHECK, format!("query_status of a paid checkout: {e}"))
        })?;
    if report.reference != paid.opened.request.reference {
        return Err(CheckFailure::new(
            CHECK,
            format!("query_status answered for reference {}", report.reference),
        ));
    }
    let bank_amount = (paid.opened.page.amount_minor, paid.opened.page.currency);
    match &report.status {
        RemoteStatus::Paid { amount, .. } if (amount.minor(), amount.currency()) == bank_amount => {
        }
        other => {
            return Err(CheckFailure::new(
                CHECK,
                format!(
                    "the bank charged {} minor units of {}, query_status says {other:?}",
                    bank_amount.0, bank_amount.1
                ),
            ));
        }
    }
    if let Ok(refused) = pay(h, CHECK, OutcomeKind::Refused).await? {
        let n = &refused.verified;
        let query =
            status_query(&refused.opened).with_transactions(vec![n.bank_transaction_id.clone()]);
        match h.provider.query_status(&query, h.now).await {
            Ok(r)
                if matches!(
                    r.status,
                    RemoteStatus::Paid { .. } | RemoteStatus::Refunded { .. }
                ) =>
            {
                return Err(CheckFailure::new(
                    CHECK,
                    format!(
                        "the bank refused the payment, query_status says {:?}",
                        r.status
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) => {
                return Err(CheckFailure::new(
                    CHECK,
                    format!("query_status of a refused checkout: {e}"),
                ));
            }
        }
    }
    Ok(Verdict::Passed)
}

/// Refunds the bank takes are reported with their amount (partly then the rest, where partial
/// refunds are supported), and a refund beyond what was paid is an error, never `Ok`.
pub async fn refund_agrees(h: &Harness) -> CheckResult {
    const CHECK: &str = "refund_agrees";
    let caps = h.provider.profile().capabilities;
    if !caps.refund {
        return Ok(Verdict::provider_lacks("refund"));
    }
    let paid = match pay(h, CHECK, OutcomeKind::Accepted).await? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let n = &paid.verified;
    let total = paid.opened.request.amount;
    let currency = total.currency();
    let amount =
        |m: u64| Amount::new(m, currency).map_err(|e| CheckFailure::new(CHECK, e.to_string()));
    let steps: Vec<u64> = if caps.partial_refund && total.minor() > 1000 {
        vec![1000, total.minor() - 1000]
    } else {
        vec![total.minor()]
    };
    for (i, minor) in steps.iter().enumerate() {
        let request = refund_request(&paid.opened, n, amount(*minor)?, &format!("refund-{i}"));
        let receipt = h.provider.refund(&request, h.now).await.map_err(|e| {
            CheckFailure::new(CHECK, format!("refund {i} of {minor} minor units: {e}"))
        })?;
        if receipt.amount != request.amount {
            return Err(CheckFailure::new(
                CHECK,
                format!(
                    "refund {i} asked {minor} minor units, the receipt says {} of {}",
                    receipt.amount.minor(),
                    receipt.amount.currency()
                ),
            ));
        }
    }
    let beyond = refund_request(&paid.opened, n, amount(1)?, "refund-beyond");
    match h.provider.refund(&beyond, h.now).await {
        Err(_) => Ok(Verdict::Passed),
        Ok(r) => Err(CheckFailure::new(
            CHECK,
            format!("a refund beyond the amount paid was reported as taken: {r:?}"),
        )),
    }
}

/// The provider works as `Arc<dyn PaymentProvider>`: shared across tasks, registered, its
/// futures sent to another task.
pub async fn dyn_provider_works(h: &Harness) -> CheckResult {
    const CHECK: &str = "dyn_provider_works";
    fn shareable<T: Send + Sync + 'static>(_: &T) {}
    let p: Arc<dyn PaymentProvider> = h.provider.clone();
    shareable(&p);
    let id = p.id();
    if ProviderId::parse(id.as_str()).is_err() {
        return Err(CheckFailure::new(
            CHECK,
            format!("the id {id} does not parse back"),
        ));
    }
    let mut registry = Registry::new();
    registry
        .register(p.clone())
        .map_err(|e| CheckFailure::new(CHECK, e.to_string()))?;
    if registry.by_name(id.as_str()).is_none() || registry.register(p.clone()).is_ok() {
        return Err(CheckFailure::new(
            CHECK,
            "the registry does not find the provider, or takes it twice",
        ));
    }
    let receiver = Receiver::start().await;
    h.bank
        .listen(&receiver.notify_url())
        .await
        .map_err(|e| CheckFailure::new(CHECK, e))?;
    let request = fixtures::request_for(&*p, standard_amount(h), receiver.urls())
        .map_err(|e| CheckFailure::new(CHECK, format!("bank_reference through dyn: {e}")))?;
    let now = h.now;
    let task_provider = p.clone();
    let prepared = tokio::spawn(async move { task_provider.prepare(&request, now).await })
        .await
        .map_err(|e| CheckFailure::new(CHECK, format!("the prepare task failed: {e}")))?
        .map_err(|e| CheckFailure::new(CHECK, format!("prepare through dyn: {e}")))?;
    h.bank
        .open(&prepared.redirect)
        .await
        .map_err(|r| CheckFailure::new(CHECK, format!("the bank refused the redirect ({r})")))?;
    Ok(Verdict::Passed)
}

/// A status query for an opened checkout, with what `prepare` gave to keep, as the engine
/// asks it.
pub(crate) fn status_query(opened: &Opened) -> StatusQuery {
    StatusQuery::new(
        opened.request.reference.clone(),
        opened.request.amount,
        fixtures::now(),
    )
    .with_bank_reference(opened.request.bank_reference.clone())
    .with_provider_data(opened.prepared.provider_data.clone())
}

/// A refund of `amount` on the notified transaction, keyed by `key`.
fn refund_request(
    opened: &Opened,
    n: &VerifiedNotification,
    amount: Amount,
    key: &str,
) -> RefundRequest {
    RefundRequest::new(
        opened.request.reference.clone(),
        n.bank_transaction_id.clone(),
        amount,
        format!("{}-{key}", opened.request.reference),
    )
    .for_checkout(
        opened.request.bank_reference.clone(),
        opened.prepared.provider_data.clone(),
    )
}
