//! The provider side of the contract through the public API: bank references, prepare and its
//! provider data, capabilities against methods, codes, secrets.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{KEY_HEX, MERCHANT, config, key, provider};
use secrecy::SecretString;
use tpe_conformance::fixtures::{now, request, request_for};
use tpe_core::{
    Amount, Currency, HttpMethod, OperationRequest, PaymentProvider, PaymentReference,
    ProviderError, ReasonKind, RefundRequest, ReturnUrls, StatusQuery,
};
use tpe_skeleton::{BANK_REFERENCE_LEN, MAX_AMOUNT, Skeleton, SkeletonConfig, codes};

fn urls() -> ReturnUrls {
    let u = |p: &str| url::Url::parse(&format!("https://shop.example/{p}")).unwrap();
    ReturnUrls {
        accepted: u("ok"),
        refused: u("ko"),
        cancelled: u("cancel"),
        pending: u("pending"),
        notify: u("notify"),
    }
}

fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

#[test]
fn bank_references_follow_the_bank_constraints() {
    let p = provider();
    let shop = PaymentReference::parse("CMD-1042").unwrap();
    let mut seen = std::collections::HashSet::new();
    for nonce in [0, 1, 61, 62, u64::MAX, u64::MAX - 1, 0x0123_4567_89ab_cdef] {
        let r = p.bank_reference(&shop, now(), nonce).unwrap();
        assert_eq!(r.as_str().len(), BANK_REFERENCE_LEN, "{r}");
        assert!(r.as_str().bytes().all(|b| b.is_ascii_alphanumeric()), "{r}");
        assert!(seen.insert(r), "two nonces gave the same reference");
    }
}

#[tokio::test]
async fn prepare_signs_the_form_and_returns_the_date_to_keep() {
    let p = provider();
    let req = request_for(&p, eur(4321), urls()).unwrap();
    let prepared = p.prepare(&req, now()).await.unwrap();
    let r = &prepared.redirect;
    assert_eq!(r.method, HttpMethod::Post);
    assert_eq!(r.action.as_str(), tpe_skeleton::config::PRODUCTION_PAGE);
    let get = |name: &str| {
        r.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    };
    assert_eq!(get("merchant"), MERCHANT);
    assert_eq!(get("reference"), req.bank_reference.as_str());
    assert_eq!((get("amount"), get("currency")), ("4321", "EUR"));
    assert_eq!(r.fields.last().unwrap().0, "signature");
    // The bank's check: the signature over the other fields verifies.
    let fields = r.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    key().verify(fields, get("signature")).unwrap();
    // Provider data: the transaction date the bank names the payment by, as sent.
    let data = prepared.provider_data.unwrap();
    assert_eq!(data.as_str(), "20260101");
    assert_eq!(get("date"), data.as_str());
}

#[test]
fn impossible_requests_are_refused_before_any_redirect() {
    let p = provider();
    let invalid =
        |r: Result<_, ProviderError>| matches!(r, Err(ProviderError::InvalidRequest { .. }));
    assert!(invalid(p.prepare_now(&request(eur(0), urls()), now())));
    assert!(invalid(
        p.prepare_now(&request(eur(MAX_AMOUNT + 1), urls()), now())
    ));
    assert!(
        p.prepare_now(&request(eur(MAX_AMOUNT), urls()), now())
            .is_ok()
    );
    let usd = Amount::new(100, Currency::USD).unwrap();
    assert!(invalid(p.prepare_now(&request(usd, urls()), now())));
}

#[tokio::test]
async fn undeclared_capabilities_answer_unsupported() {
    let p: Arc<dyn PaymentProvider> = Arc::new(provider());
    let caps = p.profile().capabilities;
    assert!(!(caps.status_query || caps.refund || caps.capture || caps.cancel));
    let req = request(eur(4321), urls());
    let unsupported = |r: Result<(), ProviderError>, op: &str| match r {
        Err(ProviderError::Unsupported { operation, .. }) => assert_eq!(operation, op),
        other => panic!("{op}: {other:?}"),
    };
    let query = StatusQuery::new(req.reference.clone(), req.amount, now());
    unsupported(
        p.query_status(&query, now()).await.map(drop),
        "query_status",
    );
    let refund = RefundRequest::new(req.reference.clone(), "T1", req.amount, "R1");
    unsupported(p.refund(&refund, now()).await.map(drop), "refund");
    let op = OperationRequest::new(req.reference.clone(), "T1", req.amount);
    unsupported(p.capture(&op, now()).await.map(drop), "capture");
    unsupported(p.cancel(&op, now()).await.map(drop), "cancel");
}

#[test]
fn codes_are_classified_and_classify_is_total() {
    assert_eq!(codes::TABLE.parse().map(|r| r.len()).ok(), Some(10));
    let p = provider();
    for code in p.known_codes() {
        assert_ne!(p.classify(code).kind(), ReasonKind::UnknownCode, "{code}");
    }
    for code in ["", "00", "Z9", "ééé", &"9".repeat(500)] {
        let r = p.classify(code);
        assert_eq!(r.kind(), ReasonKind::UnknownCode, "{code}");
        assert!(r.code().len() <= tpe_core::Reason::MAX_CODE_LEN);
    }
}

#[test]
fn the_key_never_shows() {
    let p = provider();
    let shown = format!("{p:?} {:?} {:?}", config(), key());
    for part in [KEY_HEX, &KEY_HEX[..16], "aabbccddeeff"] {
        assert!(!shown.contains(part), "{shown}");
    }
    // Nor in a configuration error about it.
    let bad = format!("{}zz", &KEY_HEX[2..]);
    let e = Skeleton::new(SkeletonConfig::new(
        MERCHANT,
        SecretString::from(bad.clone()),
    ))
    .unwrap_err();
    assert!(matches!(e, ProviderError::Config { .. }));
    assert!(!format!("{e} {e:?}").contains(&bad[..16]), "{e}");
    let short = SecretString::from("ab".repeat(16 - 1));
    assert!(Skeleton::new(SkeletonConfig::new(MERCHANT, short)).is_err());
    let merchant = Skeleton::new(SkeletonConfig::new("12a", SecretString::from(KEY_HEX)));
    assert!(matches!(merchant, Err(ProviderError::Config { .. })));
}

#[test]
fn configuration_from_toml() {
    let cfg = SkeletonConfig::from_toml_str(&format!(
        "merchant = \"{MERCHANT}\"\nhmac_key = \"{KEY_HEX}\"\n\
         page_url = \"http://127.0.0.1:8081/skeleton/page\"\ncurrency = \"CHF\"\n"
    ))
    .unwrap();
    assert_eq!(cfg.currency, Currency::CHF);
    assert_eq!(cfg.page_url.path(), "/skeleton/page");
    let e = SkeletonConfig::from_toml_str(&format!("hmac_key = \"{KEY_HEX}\"\nmerchant = 1\n"))
        .unwrap_err();
    assert!(!e.to_string().contains(KEY_HEX), "{e}");
}
