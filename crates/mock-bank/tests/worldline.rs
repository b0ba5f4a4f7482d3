//! The Worldline Direct side against the `worldline_gcs` vectors and through HTTP: the
//! signature check of every API call (refused in the platform's shape, with the configured
//! status), hosted checkouts, the French page, signed webhooks and their retries, refunds,
//! captures, the endpoint verification.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Received, client, start_shop};
use hmac::{KeyInit, Mac};
use tpe_mock_bank::worldline::{cards, gcs_signature};
use tpe_mock_bank::{
    DEFAULT_WORLDLINE_API_KEY_ID as KEY_ID, DEFAULT_WORLDLINE_API_SECRET as SECRET,
    DEFAULT_WORLDLINE_MERCHANT_ID as PSPID, DEFAULT_WORLDLINE_WEBHOOK_KEY_ID as WH_KEY_ID,
    DEFAULT_WORLDLINE_WEBHOOK_SECRET as WH_SECRET, MockBank, MockBankConfig, Outcome, Scenario,
};

const DATE: &str = "Sun, 29 Nov 2026 12:00:00 GMT";

fn vectors() -> Vec<serde_json::Value> {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("data/worldline-vectors.json")).unwrap();
    all["worldline_gcs"].as_array().unwrap().clone()
}

/// The test's own GCS v1HMAC signer (spec §G.3), checked against the vectors below.
fn authorization(
    key_id: &str,
    secret: &str,
    method: &str,
    ct: &str,
    date: &str,
    gcs: &[(&str, &str)],
    path: &str,
) -> String {
    let mut lines: Vec<String> = gcs
        .iter()
        .map(|(n, v)| format!("{}:{}\n", n.to_lowercase(), v.trim()))
        .collect();
    lines.sort();
    let s = format!("{method}\n{ct}\n{date}\n{}{path}\n", lines.concat());
    let mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    let tag = mac.chain_update(s.as_bytes()).finalize().into_bytes();
    format!("GCS v1HMAC:{key_id}:{}", STANDARD.encode(tag))
}

#[test]
fn the_test_signer_and_the_webhook_signature_equal_the_vectors() {
    let mut seen = 0;
    for v in vectors() {
        assert!(v["source"].as_str().is_some_and(|s| !s.is_empty()));
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        match v["kind"].as_str().unwrap() {
            "request_auth" => {
                let headers = v["headers"].as_array().unwrap();
                let find = |name: &str| {
                    headers
                        .iter()
                        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
                        .map(|h| h[1].as_str().unwrap().to_owned())
                };
                let gcs: Vec<(&str, &str)> = headers
                    .iter()
                    .filter(|h| h[0].as_str().unwrap().to_lowercase().starts_with("x-gcs"))
                    .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()))
                    .collect();
                let auth = authorization(
                    &s("api_key_id"),
                    &s("secret_api_key"),
                    &s("method"),
                    &find("content-type").unwrap_or_default(),
                    &find("date").unwrap(),
                    &gcs,
                    &s("canonical_resource"),
                );
                assert_eq!(auth, s("expected_authorization"), "{}", v["name"]);
                seen += 1;
            }
            "webhook" => {
                let body = s("body");
                assert_eq!(
                    gcs_signature(&s("secret_key"), body.as_bytes()),
                    s("x_gcs_signature")
                );
                for changed in [
                    format!("{body}\n"),
                    body.replace('\n', "\r\n"),
                    body.replacen("EUR", "USD", 1),
                ] {
                    assert_ne!(
                        gcs_signature(&s("secret_key"), changed.as_bytes()),
                        s("x_gcs_signature")
                    );
                }
                seen += 1;
            }
            _ => {}
        }
    }
    assert_eq!(seen, 5);
}

struct Flow {
    bank: tpe_mock_bank::RunningBank,
    shop: common::Shop,
    shop_url: String,
    http: reqwest::Client,
}

async fn flow_with(config: MockBankConfig) -> Flow {
    let bank = MockBank::spawn(config).await.unwrap();
    let (shop, shop_url) = start_shop().await;
    Flow {
        bank,
        shop,
        shop_url,
        http: client(),
    }
}

fn body(reference: &str, amount: u64, shop: &str, mode: &str) -> serde_json::Value {
    serde_json::json!({
        "order": {
            "amountOfMoney": {"amount": amount, "currencyCode": "EUR"},
            "references": {"merchantReference": reference, "merchantParameters": "order-1"},
        },
        "hostedCheckoutSpecificInput": {"returnUrl": format!("{shop}/return?o=1"), "locale": "fr_FR"},
        "cardPaymentMethodSpecificInput": {"authorizationMode": mode},
        "feedbacks": {"webhooksUrls": [format!("{shop}/webhook")]},
    })
}

impl Flow {
    async fn call(
        &self,
        method: &str,
        path: &str,
        json: Option<&serde_json::Value>,
        key: Option<&str>,
    ) -> reqwest::Response {
        let url = format!("{}{path}", self.bank.base_url());
        let gcs: Vec<(&str, &str)> = key
            .map(|k| ("X-GCS-Idempotence-Key", k))
            .into_iter()
            .collect();
        let ct = if json.is_some() {
            "application/json"
        } else {
            ""
        };
        let auth = authorization(KEY_ID, SECRET, method, ct, DATE, &gcs, path);
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .header("Date", DATE)
            .header("Authorization", auth);
        if let Some(k) = key {
            req = req.header("X-GCS-Idempotence-Key", k);
        }
        if let Some(j) = json {
            req = req
                .header("Content-Type", "application/json")
                .body(j.to_string());
        }
        req.send().await.unwrap()
    }

    async fn create(&self, reference: &str, amount: u64, mode: &str) -> serde_json::Value {
        let b = body(reference, amount, &self.shop_url, mode);
        let resp = self
            .call(
                "POST",
                &format!("/v2/{PSPID}/hostedcheckouts"),
                Some(&b),
                Some(&format!("k-{reference}")),
            )
            .await;
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    async fn pay(&self, created: &serde_json::Value, card: &str) -> reqwest::Response {
        self.http
            .post(created["redirectUrl"].as_str().unwrap())
            .form(&[
                ("card", card),
                ("exp", "12/39"),
                ("cvc", "123"),
                ("action", "pay"),
            ])
            .send()
            .await
            .unwrap()
    }
}

fn verified_event(r: &Received) -> serde_json::Value {
    let sig = r.headers.get("x-gcs-signature").unwrap().to_str().unwrap();
    assert_eq!(r.headers.get("x-gcs-keyid").unwrap(), WH_KEY_ID);
    assert_eq!(sig, gcs_signature(WH_SECRET, &r.body));
    serde_json::from_slice(&r.body).unwrap()
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_calls_are_refused_in_the_platform_shape() {
    let f = flow_with(MockBankConfig::for_tests()).await;
    let path = format!("/v2/{PSPID}/services/testconnection");
    let url = format!("{}{path}", f.bank.base_url());
    let none = f.http.get(&url).header("Date", DATE).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let e: serde_json::Value = none.json().await.unwrap();
    assert!(e["errorId"].is_string());
    assert_eq!(e["errors"][0]["httpStatusCode"], 401);
    assert!(e["errors"][0]["errorCode"].is_string());
    for auth in [
        authorization(KEY_ID, "other-secret", "GET", "", DATE, &[], &path),
        authorization(
            KEY_ID,
            SECRET,
            "GET",
            "",
            "Mon, 30 Nov 2026 12:00:00 GMT",
            &[],
            &path,
        ),
        authorization(KEY_ID, SECRET, "POST", "", DATE, &[], &path),
        authorization("unknown-key", SECRET, "GET", "", DATE, &[], &path),
    ] {
        let r = f
            .http
            .get(&url)
            .header("Date", DATE)
            .header("Authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    assert_eq!(f.call("GET", &path, None, None).await.status(), 200);
    // Another merchant's path with this key.
    let other = "/v2/OtherPSPID/services/testconnection";
    assert_eq!(f.call("GET", other, None, None).await.status(), 401);
    // The status of an authentication failure is configurable (UNSURE in the spec).
    let mut config = MockBankConfig::for_tests();
    config.worldline_auth_failure_status = 403;
    let f = flow_with(config).await;
    let r = f
        .http
        .get(format!("{}{path}", f.bank.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_checkout_is_paid_notified_refunded_and_read() {
    let f = flow_with(MockBankConfig::for_tests()).await;
    let created = f.create("20261129-000001", 4200, "SALE").await;
    let id = created["hostedCheckoutId"].as_str().unwrap();
    assert!(created["RETURNMAC"].as_str().unwrap().len() >= 16);
    // The same idempotence key answers the same checkout.
    let again = f.create("20261129-000001", 4200, "SALE").await;
    assert_eq!(again["hostedCheckoutId"], created["hostedCheckoutId"]);
    let page = f
        .http
        .get(created["redirectUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("<strong id=\"reference\">20261129-000001</strong>"));
    assert!(html.contains("<strong id=\"amount\">42,00 €</strong>"));
    assert!(html.contains("Cartes de test") && html.contains(cards::THREE_DS));
    let back = f.pay(&created, cards::ACCEPTED).await;
    assert_eq!(back.status(), 303);
    let location = back.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/return?o=1&RETURNMAC=", f.shop_url)),
        "{location}"
    );
    assert!(location.ends_with(&format!("&hostedCheckoutId={id}")));
    let got = f.shop.wait_for(1, 2000).await;
    let event = verified_event(&got[0]);
    assert_eq!(event["apiVersion"], "v1");
    assert_eq!(event["type"], "payment.captured");
    assert_eq!(event["payment"]["statusOutput"]["statusCode"], 9);
    assert_eq!(
        event["payment"]["paymentOutput"]["references"]["merchantReference"],
        "20261129-000001"
    );
    let pid = event["payment"]["id"].as_str().unwrap().to_owned();
    let hc: serde_json::Value = f
        .call(
            "GET",
            &format!("/v2/{PSPID}/hostedcheckouts/{id}"),
            None,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hc["status"], "PAYMENT_CREATED");
    assert_eq!(hc["createdPaymentOutput"]["payment"]["id"], pid.as_str());
    let refund = |amount: u64, key: &str| {
        let b = serde_json::json!({"amountOfMoney": {"amount": amount, "currencyCode": "EUR"}});
        let path = format!("/v2/{PSPID}/payments/{pid}/refund");
        let key = key.to_owned();
        let f = &f;
        async move { f.call("POST", &path, Some(&b), Some(&key)).await }
    };
    assert_eq!(refund(1000, "r1").await.status(), 201);
    assert_eq!(refund(3200, "r2").await.status(), 201);
    assert_eq!(refund(1, "r3").await.status(), 400);
    let p: serde_json::Value = f
        .call("GET", &format!("/v2/{PSPID}/payments/{pid}"), None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["status"], "REFUNDED");
    assert_eq!(
        f.call("GET", &format!("/v2/{PSPID}/payments/nope"), None, None)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn authorisations_are_captured_or_cancelled() {
    let f = flow_with(MockBankConfig::for_tests()).await;
    for (reference, op, code) in [
        ("20261129-000010", "capture", 9),
        ("20261129-000011", "cancel", 6),
    ] {
        let created = f.create(reference, 1500, "FINAL_AUTHORIZATION").await;
        f.pay(&created, cards::ACCEPTED).await;
        let pid = format!("{}_0", created["hostedCheckoutId"].as_str().unwrap());
        let p: serde_json::Value = f
            .call("GET", &format!("/v2/{PSPID}/payments/{pid}"), None, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(p["statusOutput"]["statusCode"], 5);
        let path = format!("/v2/{PSPID}/payments/{pid}/{op}");
        assert_eq!(
            f.call("POST", &path, Some(&serde_json::json!({})), Some(op))
                .await
                .status(),
            201
        );
        let p: serde_json::Value = f
            .call("GET", &format!("/v2/{PSPID}/payments/{pid}"), None, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(p["statusOutput"]["statusCode"], code);
        // Not twice.
        assert_eq!(
            f.call(
                "POST",
                &path,
                Some(&serde_json::json!({})),
                Some(&format!("{op}2"))
            )
            .await
            .status(),
            400
        );
    }
}

#[tokio::test]
async fn refused_pending_cancelled_and_scripted_outcomes() {
    let f = flow_with(MockBankConfig::for_tests()).await;
    let refused = f.create("20261129-000020", 100, "SALE").await;
    // A refusal keeps the customer on the page; a mistyped number is a refusal too.
    let again = f.pay(&refused, cards::MISTYPED).await;
    assert_eq!(again.status(), 402);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("Essayez une autre carte")
    );
    assert_eq!(f.pay(&refused, cards::REFUSED).await.status(), 402);
    let pending = f.create("20261129-000021", 100, "SALE").await;
    f.pay(&pending, cards::PENDING).await;
    let cancelled = f.create("20261129-000022", 100, "SALE").await;
    f.http
        .post(cancelled["redirectUrl"].as_str().unwrap())
        .form(&[("action", "cancel")])
        .send()
        .await
        .unwrap();
    f.bank.script(
        "20261129-000023",
        Scenario::outcome(Outcome::Refuse { code: "93".into() }),
    );
    let scripted = f.create("20261129-000023", 100, "SALE").await;
    f.pay(&scripted, cards::ACCEPTED).await;
    let got = f.shop.wait_for(6, 3000).await;
    // One payment per attempt on the page: `<checkout id>_0`, then `_1`.
    let prefix = refused["hostedCheckoutId"].as_str().unwrap();
    let ids: Vec<String> = got
        .iter()
        .filter_map(|r| {
            let e: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
            Some(e["payment"]["id"].as_str()?.to_owned())
        })
        .filter(|id| id.starts_with(prefix))
        .collect();
    assert_eq!(ids, [format!("{prefix}_0"), format!("{prefix}_1")]);
    let codes: Vec<(String, u64)> = got
        .iter()
        .map(verified_event)
        .map(|e| {
            (
                e["payment"]["paymentOutput"]["references"]["merchantReference"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                e["payment"]["statusOutput"]["statusCode"].as_u64().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("20261129-000020", 2),
        ("20261129-000021", 51),
        ("20261129-000021", 9),
        ("20261129-000022", 1),
        ("20261129-000023", 93),
    ] {
        assert!(
            codes.contains(&(expected.0.to_owned(), expected.1)),
            "{expected:?} in {codes:?}"
        );
    }
    let hc: serde_json::Value = f
        .call(
            "GET",
            &format!(
                "/v2/{PSPID}/hostedcheckouts/{}",
                cancelled["hostedCheckoutId"].as_str().unwrap()
            ),
            None,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hc["status"], "CANCELLED_BY_CONSUMER");
}

#[tokio::test]
async fn webhooks_are_retried_and_wrongly_signed_on_request() {
    let f = flow_with(MockBankConfig::for_tests()).await;
    f.shop.answer_with(&[500, 401]);
    let created = f.create("20261129-000030", 100, "SALE").await;
    f.pay(&created, cards::ACCEPTED).await;
    let got = f.shop.wait_for(3, 3000).await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].body, got[2].body);
    f.bank.script(
        "20261129-000031",
        Scenario {
            wrong_signature: true,
            ..Scenario::default()
        },
    );
    let wrong = f.create("20261129-000031", 100, "SALE").await;
    f.pay(&wrong, cards::ACCEPTED).await;
    let got = f.shop.wait_for(4, 3000).await;
    let last = got.last().unwrap();
    let sig = last
        .headers
        .get("x-gcs-signature")
        .unwrap()
        .to_str()
        .unwrap();
    assert_ne!(sig, gcs_signature(WH_SECRET, &last.body));
}

#[tokio::test]
async fn bad_requests_and_the_endpoint_verification() {
    let f = flow_with(MockBankConfig::for_tests()).await;
    let path = format!("/v2/{PSPID}/hostedcheckouts");
    for (from, to) in [
        ("\"amount\":100", "\"amount\":0"),
        ("\"EUR\"", "\"eur\""),
        // Over 40 characters, and a control character: refused (a space is taken, see below).
        (
            "20261129-000040",
            "20261129-000040-20261129-000040-20261129-0",
        ),
        ("20261129-000040", "a\\tb"),
    ] {
        let b: serde_json::Value = serde_json::from_str(
            &body("20261129-000040", 100, &f.shop_url, "SALE")
                .to_string()
                .replace(from, to),
        )
        .unwrap();
        let r = f.call("POST", &path, Some(&b), None).await;
        assert_eq!(r.status(), 400, "{to}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert!(e["errors"][0]["message"].is_string());
    }
    // A reference with a space, as shops send them in production ("<transaction> <order>").
    let spaced = body(
        "0123456789abcdef0123456789abcdef 1042",
        100,
        &f.shop_url,
        "SALE",
    );
    let r = f.call("POST", &path, Some(&spaced), None).await;
    assert_eq!(r.status(), 201);
    // The shop's endpoint must echo the verification header.
    assert!(
        !f.bank
            .verify_worldline_endpoint(&format!("{}/webhook", f.shop_url))
            .await
    );
    let echo = axum::Router::new().route(
        "/webhook",
        axum::routing::get(|h: axum::http::HeaderMap| async move {
            h.get("x-gcs-webhooks-endpoint-verification")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, echo).await.unwrap() });
    assert!(
        f.bank
            .verify_worldline_endpoint(&format!("http://{addr}/webhook"))
            .await
    );
}
