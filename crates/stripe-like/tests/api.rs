//! `prepare`, `query_status` and `refund` against a small local PSP written here.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::{at, request};
use serde_json::{Value, json};
use tpe_core::{
    Amount, ApiErrorKind, Currency, HttpMethod, PaymentProvider, PaymentReference, ProviderData,
    ProviderError, RefundRequest, RemoteStatus, StatusQuery,
};
use tpe_stripe_like::{ApiTimeouts, Mode, StripeLike, StripeLikeConfig};

const KEY: &str = "sk_test_api_TOPSECRET";

#[derive(Debug, Clone)]
struct Seen {
    method: &'static str,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: String,
}

#[derive(Default)]
struct Psp {
    seen: Mutex<Vec<Seen>>,
    sessions: Mutex<HashMap<String, Value>>,
    list: Mutex<Vec<Value>>,
    /// path → (status, body) answered instead of the normal handler.
    overrides: Mutex<HashMap<String, (u16, String)>>,
    hang: Mutex<Option<Duration>>,
    base: Mutex<String>,
}

type S = State<Arc<Psp>>;

impl Psp {
    async fn enter(
        &self,
        method: &'static str,
        path: String,
        query: Option<String>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Response> {
        self.seen.lock().unwrap().push(Seen {
            method,
            path: path.clone(),
            query,
            headers: headers.clone(),
            body: String::from_utf8_lossy(body).into_owned(),
        });
        let hang = *self.hang.lock().unwrap();
        if let Some(d) = hang {
            tokio::time::sleep(d).await;
        }
        if headers.get("authorization").and_then(|v| v.to_str().ok())
            != Some(&format!("Bearer {KEY}"))
        {
            return Some(err(
                401,
                "invalid_request_error",
                "api_key_invalid",
                "Invalid API Key provided: sk_test_****CRET",
            ));
        }
        let o = self.overrides.lock().unwrap().get(&path).cloned();
        o.map(|(status, body)| (StatusCode::from_u16(status).unwrap(), body).into_response())
    }
}

fn err(status: u16, kind: &str, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        json!({"error": {"type": kind, "code": code, "message": message}}).to_string(),
    )
        .into_response()
}

async fn create(State(p): S, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = p
        .enter(
            "POST",
            "/v1/checkout/sessions".into(),
            None,
            &headers,
            &body,
        )
        .await
    {
        return r;
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let id = format!("cs_test_{}", form["client_reference_id"].replace('-', "_"));
    let base = p.base.lock().unwrap().clone();
    let s = json!({
        "id": id, "object": "checkout.session", "status": "open", "payment_status": "unpaid",
        "amount_total": form["line_items[0][price_data][unit_amount]"].parse::<u64>().unwrap(),
        "currency": form["line_items[0][price_data][currency]"],
        "client_reference_id": form["client_reference_id"],
        "metadata": {"tpe_reference": form["metadata[tpe_reference]"]},
        "payment_intent": null,
        "url": format!("{base}/c/pay/{id}"),
    });
    p.sessions.lock().unwrap().insert(id, s.clone());
    s.to_string().into_response()
}

async fn retrieve(
    State(p): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = p
        .enter(
            "GET",
            format!("/v1/checkout/sessions/{id}"),
            q,
            &headers,
            b"",
        )
        .await
    {
        return r;
    }
    match p.sessions.lock().unwrap().get(&id) {
        Some(s) => s.to_string().into_response(),
        None => err(
            404,
            "invalid_request_error",
            "resource_missing",
            "No such checkout.session",
        ),
    }
}

async fn list(State(p): S, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    if let Some(r) = p
        .enter("GET", "/v1/checkout/sessions".into(), q, &headers, b"")
        .await
    {
        return r;
    }
    json!({"object": "list", "data": *p.list.lock().unwrap(), "has_more": false})
        .to_string()
        .into_response()
}

async fn refund(State(p): S, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = p
        .enter("POST", "/v1/refunds".into(), None, &headers, &body)
        .await
    {
        return r;
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    json!({"id": "re_1", "object": "refund", "amount": form["amount"].parse::<u64>().unwrap(),
        "currency": "eur", "payment_intent": form["payment_intent"], "status": "succeeded"})
    .to_string()
    .into_response()
}

async fn serve() -> (Arc<Psp>, String) {
    let psp = Arc::new(Psp::default());
    let app = Router::new()
        .route("/v1/checkout/sessions", post(create).get(list))
        .route("/v1/checkout/sessions/{id}", get(retrieve))
        .route("/v1/refunds", post(refund))
        .with_state(psp.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *psp.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (psp, base)
}

fn provider(base: &str) -> StripeLike {
    StripeLike::new(
        StripeLikeConfig::new(Mode::Test, KEY, ["whsec_api"])
            .with_api_base(base.parse().unwrap())
            .with_api_version("2024-06-20")
            .with_timeouts(Duration::from_secs(2), Duration::from_millis(500)),
    )
    .unwrap()
}

fn query(reference: &str) -> StatusQuery {
    StatusQuery::new(
        PaymentReference::parse(reference).unwrap(),
        Amount::new(4200, Currency::EUR).unwrap(),
        at(1_735_689_600),
    )
}

#[tokio::test]
async fn prepare_creates_a_session_and_redirects_to_it() {
    let (psp, base) = serve().await;
    let p = provider(&base);
    let req = request("REF-1", 4200);
    let prepared = p.prepare(&req, at(0)).await.unwrap();
    // The session id is kept with the checkout for status queries and refunds.
    assert_eq!(
        prepared.provider_data.as_ref().map(ProviderData::as_str),
        Some("cs_test_REF_1")
    );
    let redirect = prepared.redirect;
    assert_eq!(redirect.method, HttpMethod::Get);
    assert_eq!(
        redirect.action.as_str(),
        format!("{base}/c/pay/cs_test_REF_1")
    );
    assert!(redirect.fields.is_empty());
    assert_eq!(
        StripeLike::session_id_from_redirect(&redirect).as_deref(),
        Some("cs_test_REF_1")
    );
    // Retried: the same Idempotency-Key, so the PSP answers with the same session.
    p.prepare(&req, at(0)).await.unwrap();
    let seen = psp.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let first = &seen[0];
    assert_eq!(
        (first.method, first.path.as_str()),
        ("POST", "/v1/checkout/sessions")
    );
    let h = |k: &str| first.headers.get(k).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h("idempotency-key"), "tpe-checkout-REF-1");
    assert_eq!(
        h("idempotency-key"),
        seen[1].headers["idempotency-key"].to_str().unwrap()
    );
    assert_eq!(h("content-type"), "application/x-www-form-urlencoded");
    assert_eq!(h("stripe-version"), "2024-06-20");
    let form: HashMap<String, String> = url::form_urlencoded::parse(first.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(form["mode"], "payment");
    assert_eq!(form["success_url"], "https://shop.example/ok");
    assert_eq!(form["cancel_url"], "https://shop.example/cart");
    assert_eq!(form["client_reference_id"], "REF-1");
    assert_eq!(form["customer_email"], "jeanne@example.fr");
    assert_eq!(form["line_items[0][price_data][unit_amount]"], "4200");
    assert_eq!(form["line_items[0][price_data][currency]"], "eur");
    assert_eq!(form["line_items[0][quantity]"], "1");
    assert_eq!(form["metadata[tpe_reference]"], "REF-1");
    assert_eq!(
        form["payment_intent_data[metadata][tpe_reference]"],
        "REF-1"
    );
    let created = p.create_session(&request("REF-2", 100)).await.unwrap();
    assert_eq!(created.id, "cs_test_REF_2");
}

#[tokio::test]
async fn api_errors_are_typed() {
    let (psp, base) = serve().await;
    let p = provider(&base);
    let cases: &[(u16, &str, &str, ApiErrorKind, bool)] = &[
        (
            400,
            "invalid_request_error",
            "parameter_missing",
            ApiErrorKind::InvalidRequest,
            false,
        ),
        (
            400,
            "idempotency_error",
            "idempotency_key_in_use",
            ApiErrorKind::Idempotency,
            false,
        ),
        (
            402,
            "card_error",
            "card_declined",
            ApiErrorKind::Card,
            false,
        ),
        (
            403,
            "invalid_request_error",
            "forbidden",
            ApiErrorKind::Permission,
            false,
        ),
        (
            429,
            "invalid_request_error",
            "rate_limit",
            ApiErrorKind::RateLimit,
            true,
        ),
        (500, "api_error", "internal", ApiErrorKind::Server, true),
        (503, "api_error", "unavailable", ApiErrorKind::Server, true),
    ];
    for (status, kind, code, expect, retryable) in cases {
        let body = json!({"error": {"type": kind, "code": code, "message": "m"}}).to_string();
        psp.overrides
            .lock()
            .unwrap()
            .insert("/v1/checkout/sessions".into(), (*status, body));
        match p.prepare(&request("REF-E", 100), at(0)).await {
            Err(ProviderError::Api {
                kind,
                retryable: r,
                status: s,
                code: c,
                ..
            }) => {
                assert_eq!(
                    (kind, r, s, c.as_deref()),
                    (*expect, *retryable, Some(*status), Some(*code))
                );
            }
            other => panic!("{status}: {other:?}"),
        }
    }
    // A wrong key: authentication, and the key is never echoed.
    psp.overrides.lock().unwrap().clear();
    let wrong = StripeLike::new(
        StripeLikeConfig::new(Mode::Test, "sk_test_wrong_KEYVALUE", ["whsec_api"])
            .with_api_base(base.parse().unwrap()),
    )
    .unwrap();
    let e = wrong
        .prepare(&request("REF-A", 100), at(0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Api {
                kind: ApiErrorKind::Authentication,
                retryable: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains("KEYVALUE"));
    // A session without a usable URL is an unreadable answer.
    psp.overrides.lock().unwrap().insert(
        "/v1/checkout/sessions".into(),
        (
            200,
            json!({"id": "cs_test_x", "url": "javascript:alert(1)"}).to_string(),
        ),
    );
    assert!(matches!(
        p.prepare(&request("REF-U", 100), at(0)).await,
        Err(ProviderError::Transport {
            retryable: false,
            ..
        })
    ));
    psp.overrides
        .lock()
        .unwrap()
        .insert("/v1/checkout/sessions".into(), (200, "{not json".into()));
    assert!(matches!(
        p.prepare(&request("REF-U", 100), at(0)).await,
        Err(ProviderError::Transport {
            retryable: false,
            ..
        })
    ));
}

#[tokio::test]
async fn timeouts_connection_failures_and_huge_answers() {
    let (psp, base) = serve().await;
    let p = provider(&base);
    *psp.hang.lock().unwrap() = Some(Duration::from_secs(3));
    let e = p.prepare(&request("REF-T", 100), at(0)).await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Transport {
                retryable: true,
                ..
            }
        ),
        "{e:?}"
    );
    *psp.hang.lock().unwrap() = None;
    psp.overrides.lock().unwrap().insert(
        "/v1/checkout/sessions".into(),
        (200, "x".repeat(tpe_stripe_like::MAX_RESPONSE + 1)),
    );
    let e = p.prepare(&request("REF-H", 100), at(0)).await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Transport {
                retryable: false,
                ..
            }
        ),
        "{e:?}"
    );
    // Nothing listens on a port that was just released.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let e = provider(&closed)
        .prepare(&request("REF-C", 100), at(0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Transport {
                retryable: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_retryable());
}

#[tokio::test]
async fn query_status_reads_the_session() {
    let (psp, base) = serve().await;
    let p = provider(&base);
    let put = |id: &str, status: &str, ps: &str, reference: &str| {
        psp.sessions.lock().unwrap().insert(id.into(), json!({
            "id": id, "status": status, "payment_status": ps, "amount_total": 4200, "currency": "eur",
            "client_reference_id": reference, "payment_intent": "pi_1"}));
    };
    put("cs_paid", "complete", "paid", "REF-Q");
    let r = p
        .query_status(
            &query("REF-Q").with_provider_data(Some(ProviderData::new("cs_paid").unwrap())),
            at(0),
        )
        .await
        .unwrap();
    assert_eq!(
        r.status,
        RemoteStatus::Paid {
            bank_transaction_id: "cs_paid".into(),
            amount: Amount::new(4200, Currency::EUR).unwrap()
        }
    );
    let seen = psp.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.path, "/v1/checkout/sessions/cs_paid");
    assert_eq!(seen.query.as_deref(), Some("expand%5B%5D=payment_intent"));
    for (status, ps, expect) in [
        ("open", "unpaid", RemoteStatus::Pending),
        ("complete", "unpaid", RemoteStatus::Pending),
        ("expired", "unpaid", RemoteStatus::Cancelled),
    ] {
        put("cs_x", status, ps, "REF-Q");
        let q = query("REF-Q").with_transactions(vec!["cs_x".into()]);
        assert_eq!(
            p.query_status(&q, at(0)).await.unwrap().status,
            expect,
            "{status}/{ps}"
        );
    }
    // A paid session wins over an expired one of the same reference.
    put("cs_old", "expired", "unpaid", "REF-Q");
    let q = query("REF-Q").with_transactions(vec!["cs_old".into(), "cs_paid".into()]);
    assert!(matches!(
        p.query_status(&q, at(0)).await.unwrap().status,
        RemoteStatus::Paid { .. }
    ));
    // A session of another reference is not taken, and nothing is listed: the stored
    // session id is the way to the checkout's session.
    put("cs_other", "complete", "paid", "REF-OTHER");
    let before = psp.seen.lock().unwrap().len();
    let q = query("REF-Q").with_provider_data(Some(ProviderData::new("cs_other").unwrap()));
    assert_eq!(
        p.query_status(&q, at(0)).await.unwrap().status,
        RemoteStatus::NotFound
    );
    let seen = psp.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), before + 1);
    assert_eq!(seen[before].path, "/v1/checkout/sessions/cs_other");
    // Unknown ids and no provider data: not found, without listing sessions by time.
    let q = query("REF-L").with_transactions(vec!["cs_gone".into(), "pi_ignored".into()]);
    assert_eq!(
        p.query_status(&q, at(0)).await.unwrap().status,
        RemoteStatus::NotFound
    );
    assert!(
        psp.seen
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.path != "/v1/checkout/sessions" || r.method != "GET"),
        "sessions are never listed"
    );
    // The PSP unreachable: an error (status unknown), never a status.
    psp.overrides
        .lock()
        .unwrap()
        .insert("/v1/checkout/sessions/cs_paid".into(), (500, String::new()));
    let e = p
        .query_status(
            &query("REF-Q").with_provider_data(Some(ProviderData::new("cs_paid").unwrap())),
            at(0),
        )
        .await
        .unwrap_err();
    assert!(e.is_retryable());
}

#[tokio::test]
async fn refund_finds_the_payment_intent_of_the_session() {
    let (psp, base) = serve().await;
    let p = provider(&base);
    psp.sessions.lock().unwrap().insert(
        "cs_r".into(),
        json!({
        "id": "cs_r", "status": "complete", "payment_status": "paid", "amount_total": 4200,
        "currency": "eur", "client_reference_id": "REF-R", "payment_intent": "pi_r"}),
    );
    let reference = PaymentReference::parse("REF-R").unwrap();
    let eur = |m| Amount::new(m, Currency::EUR).unwrap();
    let receipt = p
        .refund(
            &RefundRequest::new(reference.clone(), "cs_r", eur(1000), "refund-REF-R-1"),
            at(0),
        )
        .await
        .unwrap();
    assert_eq!(
        (receipt.refund_id.as_str(), receipt.amount, receipt.pending),
        ("re_1", eur(1000), false)
    );
    let seen = psp.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.path, "/v1/refunds");
    assert_eq!(seen.headers["idempotency-key"], "refund-REF-R-1");
    let form: HashMap<String, String> = url::form_urlencoded::parse(seen.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        (form["payment_intent"].as_str(), form["amount"].as_str()),
        ("pi_r", "1000")
    );
    // A payment intent id is used as is.
    p.refund(
        &RefundRequest::new(reference.clone(), "pi_direct", eur(5), "k2"),
        at(0),
    )
    .await
    .unwrap();
    let seen = psp.seen.lock().unwrap().last().cloned().unwrap();
    assert!(seen.body.contains("payment_intent=pi_direct"));
    // Refused before any call: bad key, zero amount, another reference's session, bad id.
    for (tx, amount, key) in [("cs_r", 10, ""), ("cs_r", 0, "k"), ("cs/../x", 10, "k")] {
        let e = p
            .refund(
                &RefundRequest::new(reference.clone(), tx, eur(amount), key),
                at(0),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ProviderError::InvalidRequest { .. }), "{e:?}");
    }
    let other = PaymentReference::parse("REF-X").unwrap();
    let e = p
        .refund(&RefundRequest::new(other, "cs_r", eur(10), "k3"), at(0))
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::InvalidRequest { .. }), "{e:?}");
    psp.overrides.lock().unwrap().insert("/v1/refunds".into(), (400,
        json!({"error": {"type": "invalid_request_error", "code": "charge_already_refunded", "message": "already"}}).to_string()));
    let e = p
        .refund(
            &RefundRequest::new(reference, "pi_direct", eur(5), "k4"),
            at(0),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Api {
                kind: ApiErrorKind::InvalidRequest,
                ..
            }
        ),
        "{e:?}"
    );
}
