//! The REST API operations against the mock bank's Lyra side: a payment under manual
//! validation is reported paid, captured once (`Transaction/Validate`), then refunded; another
//! one is cancelled (`Transaction/Cancel`) and reported cancelled.
#![allow(clippy::unwrap_used)]

use secrecy::SecretString;
use tpe_conformance::mock_lyra::{REST_PASSWORD, SITE_ID, TEST_KEY};
use tpe_conformance::{BankSide, MockLyra, Receiver, fixtures};
use tpe_core::{
    Amount, Currency, OperationRequest, OutcomeKind, PaymentProvider, ProviderError, RefundRequest,
    RemoteStatus, StatusQuery,
};
use tpe_lyra::{Brand, Lyra, LyraConfig, RestConfig};

async fn paid(bank: &MockLyra, lyra: &Lyra) -> (tpe_core::PaymentRequest, String) {
    let receiver = Receiver::start().await;
    let (request, prepared) = fixtures::prepare(
        lyra,
        Amount::new(4321, Currency::EUR).unwrap(),
        receiver.urls(),
        fixtures::now(),
    )
    .await
    .unwrap();
    assert!(
        prepared
            .redirect
            .fields
            .iter()
            .any(|(n, v)| n == "vads_validation_mode" && v == "1")
    );
    let page = bank.open(&prepared.redirect).await.unwrap();
    bank.complete(&page, OutcomeKind::Accepted).await.unwrap();
    let query = StatusQuery::new(request.reference.clone(), request.amount, fixtures::now())
        .with_bank_reference(request.bank_reference.clone());
    let report = lyra.query_status(&query, fixtures::now()).await.unwrap();
    let RemoteStatus::Paid {
        bank_transaction_id,
        amount,
    } = report.status
    else {
        panic!("{:?}", report.status)
    };
    assert_eq!(amount, request.amount);
    (request, bank_transaction_id)
}

#[tokio::test]
async fn manual_validation_capture_refund_and_cancel() {
    let bank = MockLyra::spawn(fixtures::now()).await;
    let mut cfg = LyraConfig::test(Brand::Systempay, SITE_ID, SecretString::from(TEST_KEY))
        .with_base_url(bank.base_url());
    cfg.manual_validation = true;
    cfg.rest = Some(RestConfig::new(SecretString::from(REST_PASSWORD)));
    let lyra = Lyra::new(cfg).unwrap();
    let caps = lyra.profile().capabilities;
    assert!(caps.status_query && caps.refund && caps.capture && caps.cancel);

    let (request, uuid) = paid(&bank, &lyra).await;
    let op = OperationRequest::new(request.reference.clone(), uuid.clone(), request.amount);
    let refund = |minor: u64, key: &str| {
        RefundRequest::new(
            request.reference.clone(),
            uuid.clone(),
            Amount::new(minor, Currency::EUR).unwrap(),
            key,
        )
    };
    // Not captured yet: no refund.
    assert!(
        lyra.refund(&refund(100, "r0"), fixtures::now())
            .await
            .is_err()
    );
    let receipt = lyra.capture(&op, fixtures::now()).await.unwrap();
    assert_eq!(
        (receipt.operation_id.as_str(), receipt.amount),
        (uuid.as_str(), request.amount)
    );
    match lyra.capture(&op, fixtures::now()).await {
        Err(ProviderError::Api { code, .. }) => assert_eq!(code.as_deref(), Some("PSP_020")),
        other => panic!("a second capture: {other:?}"),
    }
    let r = lyra
        .refund(&refund(4321, "r1"), fixtures::now())
        .await
        .unwrap();
    assert_eq!(r.amount.minor(), 4321);
    assert!(
        lyra.cancel(&op, fixtures::now()).await.is_err(),
        "refunded: nothing to cancel"
    );

    let (request, uuid) = paid(&bank, &lyra).await;
    let op = OperationRequest::new(request.reference.clone(), uuid, request.amount);
    lyra.cancel(&op, fixtures::now()).await.unwrap();
    let query = StatusQuery::new(request.reference.clone(), request.amount, fixtures::now());
    let report = lyra.query_status(&query, fixtures::now()).await.unwrap();
    assert_eq!(report.status, RemoteStatus::Cancelled);
}

#[tokio::test]
async fn api_errors_are_typed() {
    let bank = MockLyra::spawn(fixtures::now()).await;
    let mut cfg = LyraConfig::test(Brand::Systempay, SITE_ID, SecretString::from(TEST_KEY))
        .with_base_url(bank.base_url());
    cfg.rest = Some(RestConfig::new(SecretString::from("wrong-password")));
    let lyra = Lyra::new(cfg).unwrap();
    let reference = fixtures::reference();
    let query = StatusQuery::new(
        reference,
        Amount::new(1, Currency::EUR).unwrap(),
        fixtures::now(),
    );
    match lyra.query_status(&query, fixtures::now()).await {
        Err(e @ ProviderError::Api { .. }) => {
            assert!(!e.is_retryable());
            assert!(!e.to_string().contains("wrong-password"));
        }
        other => panic!("{other:?}"),
    }
    // Nothing listens here: a retryable transport failure.
    let mut cfg = LyraConfig::test(Brand::Systempay, SITE_ID, SecretString::from(TEST_KEY))
        .with_base_url("http://127.0.0.1:9/".parse().unwrap());
    cfg.rest = Some(RestConfig::new(SecretString::from(REST_PASSWORD)));
    let lyra = Lyra::new(cfg).unwrap();
    let query = StatusQuery::new(
        fixtures::reference(),
        Amount::new(1, Currency::EUR).unwrap(),
        fixtures::now(),
    );
    match lyra.query_status(&query, fixtures::now()).await {
        Err(e @ ProviderError::Transport { .. }) => assert!(e.is_retryable()),
        other => panic!("{other:?}"),
    }
}
