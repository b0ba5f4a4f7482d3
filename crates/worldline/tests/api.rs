//! The remote operations against the mock bank's Worldline side: prepare, verified webhooks,
//! status queries (by hosted checkout and by payment), capture and cancel of authorisations,
//! refunds, and typed errors (signature refused, faults, timeouts).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tpe_conformance::mock_worldline::{
    API_KEY_ID, API_SECRET, MERCHANT_ID, WEBHOOK_KEY_ID, WEBHOOK_SECRET,
};
use tpe_conformance::{BankSide, MockWorldline, Receiver, fixtures};
use tpe_core::{
    Amount, ApiErrorKind, Currency, OperationRequest, OutcomeKind, PaymentProvider, PaymentRequest,
    Prepared, ProviderError, RefundRequest, RemoteStatus, StatusQuery, Verified,
    VerifiedNotification,
};
use tpe_mock_bank::{ApiFault, Scenario};
use tpe_worldline::{ApiTimeouts, AuthorizationMode, WebhookKey, Worldline, WorldlineConfig};

fn config(bank: &MockWorldline) -> WorldlineConfig {
    WorldlineConfig::new(
        MERCHANT_ID,
        API_KEY_ID,
        API_SECRET,
        [WebhookKey::new(WEBHOOK_KEY_ID, WEBHOOK_SECRET)],
    )
    .with_base_url(bank.base_url())
}

struct Paid {
    request: PaymentRequest,
    prepared: Prepared,
    notification: VerifiedNotification,
}

/// Prepares a checkout of 42.00 EUR, drives the page to `outcome` and returns the last
/// verified notification.
async fn pay(p: &Worldline, bank: &MockWorldline, rx: &Receiver, outcome: OutcomeKind) -> Paid {
    let now = fixtures::now();
    let (request, prepared) =
        fixtures::prepare(p, Amount::new(4200, Currency::EUR).unwrap(), rx.urls(), now)
            .await
            .unwrap();
    let page = bank.open(&prepared.redirect).await.unwrap();
    assert_eq!(page.reference, request.bank_reference.as_str());
    bank.complete(&page, outcome).await.unwrap();
    let reference = request.bank_reference.clone();
    let notification = rx
        .wait_for(Duration::from_secs(3), |c| {
            match p.verify(&c.to_raw().ok()?, now) {
                Ok(Verified::Payment(n)) if n.bank_reference == reference => Some(n),
                _ => None,
            }
        })
        .await
        .unwrap();
    Paid {
        request,
        prepared,
        notification,
    }
}

fn query(paid: &Paid, with_transaction: bool) -> StatusQuery {
    let q = StatusQuery::new(
        paid.request.reference.clone(),
        paid.request.amount,
        fixtures::now(),
    )
    .with_bank_reference(paid.request.bank_reference.clone())
    .with_provider_data(paid.prepared.provider_data.clone());
    if with_transaction {
        q.with_transactions(vec![paid.notification.bank_transaction_id.clone()])
    } else {
        q
    }
}

fn operation(paid: &Paid) -> OperationRequest {
    OperationRequest::new(
        paid.request.reference.clone(),
        paid.notification.bank_transaction_id.clone(),
        paid.request.amount,
    )
    .for_checkout(
        paid.request.bank_reference.clone(),
        paid.prepared.provider_data.clone(),
    )
}

#[tokio::test]
async fn status_refund_and_provider_data() {
    let bank = MockWorldline::spawn(fixtures::now()).await;
    let p = Worldline::new(config(&bank)).unwrap();
    let rx = Receiver::start().await;
    let paid = pay(&p, &bank, &rx, OutcomeKind::Accepted).await;
    let data = paid.prepared.provider_data.as_ref().unwrap().as_str();
    assert!(
        data.contains("hostedCheckoutId") && data.contains("RETURNMAC"),
        "{data}"
    );
    // The browser came back with the pair the bank appended to the return URL.
    let session = tpe_worldline::SessionData::from_provider_data(
        paid.prepared.provider_data.as_ref().unwrap(),
    )
    .unwrap();
    let back = rx
        .captured()
        .into_iter()
        .find_map(|c| {
            let q: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(&c.query).into_owned().collect();
            Some((
                q.get("hostedCheckoutId")?.clone(),
                q.get("RETURNMAC")?.clone(),
            ))
        })
        .unwrap();
    assert!(session.is_return_of(&back.0, &back.1));
    assert!(!session.is_return_of(&back.0, "forged"));
    for with_transaction in [true, false] {
        let r = p
            .query_status(&query(&paid, with_transaction), fixtures::now())
            .await
            .unwrap();
        assert!(
            matches!(&r.status, RemoteStatus::Paid { amount, bank_transaction_id } if amount.minor() == 4200 && *bank_transaction_id == paid.notification.bank_transaction_id),
            "{r:?}"
        );
    }
    let refund = |minor: u64, key: &str| {
        RefundRequest::new(
            paid.request.reference.clone(),
            paid.notification.bank_transaction_id.clone(),
            Amount::new(minor, Currency::EUR).unwrap(),
            key,
        )
        .for_checkout(
            paid.request.bank_reference.clone(),
            paid.prepared.provider_data.clone(),
        )
    };
    let r = p
        .refund(&refund(4200, "k1"), fixtures::now())
        .await
        .unwrap();
    assert_eq!(r.amount.minor(), 4200);
    assert!(!r.pending);
    let e = p
        .refund(&refund(1, "k2"), fixtures::now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Api {
                kind: ApiErrorKind::InvalidRequest,
                retryable: false,
                ..
            }
        ),
        "{e:?}"
    );
    let r = p
        .query_status(&query(&paid, true), fixtures::now())
        .await
        .unwrap();
    assert!(matches!(r.status, RemoteStatus::Refunded { .. }), "{r:?}");
    // A refused payment is never reported paid; a checkout the bank does not know is not found.
    let refused = pay(&p, &bank, &rx, OutcomeKind::Refused).await;
    let r = p
        .query_status(&query(&refused, false), fixtures::now())
        .await
        .unwrap();
    assert!(
        matches!(&r.status, RemoteStatus::Refused { reason } if reason.code() == "2"),
        "{r:?}"
    );
    let unknown = query(&refused, false).with_provider_data(Some(
        tpe_core::ProviderData::new(r#"{"hostedCheckoutId":"999","RETURNMAC":"x"}"#).unwrap(),
    ));
    let r = p.query_status(&unknown, fixtures::now()).await.unwrap();
    assert_eq!(r.status, RemoteStatus::NotFound);
}

#[tokio::test]
async fn authorisations_are_captured_or_cancelled() {
    let bank = MockWorldline::spawn(fixtures::now()).await;
    let cfg = config(&bank).with_authorization_mode(AuthorizationMode::FinalAuthorization);
    let p = Worldline::new(cfg).unwrap();
    let rx = Receiver::start().await;
    let captured = pay(&p, &bank, &rx, OutcomeKind::Accepted).await;
    assert_eq!(captured.notification.outcome.kind(), OutcomeKind::Accepted);
    let receipt = p
        .capture(&operation(&captured), fixtures::now())
        .await
        .unwrap();
    assert_eq!(receipt.amount.minor(), 4200);
    let r = p
        .query_status(&query(&captured, true), fixtures::now())
        .await
        .unwrap();
    assert!(matches!(r.status, RemoteStatus::Paid { .. }));
    // A retried capture carries the same idempotence key: the bank answers it again, once.
    let again = p
        .capture(&operation(&captured), fixtures::now())
        .await
        .unwrap();
    assert_eq!(again, receipt);
    // Captured already: a cancel is refused by the bank.
    assert!(
        p.cancel(&operation(&captured), fixtures::now())
            .await
            .is_err()
    );
    let cancelled = pay(&p, &bank, &rx, OutcomeKind::Accepted).await;
    p.cancel(&operation(&cancelled), fixtures::now())
        .await
        .unwrap();
    let r = p
        .query_status(&query(&cancelled, true), fixtures::now())
        .await
        .unwrap();
    assert_eq!(r.status, RemoteStatus::Cancelled);
}

#[tokio::test]
async fn api_errors_are_typed_and_bounded() {
    let now = fixtures::now();
    let bank = MockWorldline::spawn(now).await;
    let rx = Receiver::start().await;
    // A wrong API secret: the bank refuses the signature.
    let wrong = WorldlineConfig::new(
        MERCHANT_ID,
        API_KEY_ID,
        "not-the-secret",
        [WebhookKey::new(WEBHOOK_KEY_ID, WEBHOOK_SECRET)],
    )
    .with_base_url(bank.base_url());
    let p = Worldline::new(wrong).unwrap();
    let e = fixtures::prepare(&p, Amount::new(100, Currency::EUR).unwrap(), rx.urls(), now)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Api {
                kind: ApiErrorKind::Authentication,
                status: Some(401),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains(API_SECRET));
    // Faults: a 500 is retryable; a hang is cut by the request timeout.
    let p = Worldline::new(
        config(&bank).with_timeouts(Duration::from_secs(1), Duration::from_millis(300)),
    )
    .unwrap();
    let request =
        fixtures::request_for(&p, Amount::new(100, Currency::EUR).unwrap(), rx.urls()).unwrap();
    let reference = request.bank_reference.as_str().to_owned();
    for (fault, check) in [
        (
            ApiFault::Error500,
            (|e: &ProviderError| {
                matches!(
                    e,
                    ProviderError::Api {
                        kind: ApiErrorKind::Server,
                        retryable: true,
                        ..
                    }
                )
            }) as fn(&ProviderError) -> bool,
        ),
        (ApiFault::Timeout, |e: &ProviderError| {
            matches!(
                e,
                ProviderError::Transport {
                    retryable: true,
                    ..
                }
            )
        }),
    ] {
        bank.bank().script(
            reference.clone(),
            Scenario {
                api_fault: Some(fault),
                ..Scenario::default()
            },
        );
        let started = std::time::Instant::now();
        let e = p.prepare(&request, now).await.unwrap_err();
        assert!(check(&e), "{fault:?}: {e:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    bank.bank().clear_script(&reference);
    assert!(p.prepare(&request, now).await.is_ok());
}
