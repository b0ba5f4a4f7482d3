//! The Stripe-like side through the public API and real HTTP on loopback.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions panic on purpose

mod common;

use std::time::Duration;

use common::*;
use tpe_mock_bank::stripe_like::{self, cards};
use tpe_mock_bank::{
    ApiFault, DEFAULT_STRIPE_SECRET_KEY as SK, DEFAULT_STRIPE_WEBHOOK_SECRET as WHSEC, EntryKind,
    MockBank, MockBankConfig, Outcome, RunningBank, Scenario,
};

fn stripe_vector(name: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("data/other-vectors.json")).unwrap();
    v["stripe"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .unwrap()
        .clone()
}

#[test]
fn stripe_signature_equals_the_published_vector() {
    let v = stripe_vector("webhook_checkout_session_completed");
    let header = stripe_like::stripe_signature_header(
        v["secret"].as_str().unwrap(),
        v["timestamp"].as_i64().unwrap(),
        v["payload"].as_str().unwrap(),
    );
    assert_eq!(header, v["header"].as_str().unwrap());
}

fn create_pairs(reference: &str) -> Vec<(String, String)> {
    let v = stripe_vector("checkout_session_create_form_pairs");
    v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let k = p[0].as_str().unwrap().to_owned();
            let val = if k == "client_reference_id" {
                reference.to_owned()
            } else {
                p[1].as_str().unwrap().to_owned()
            };
            (k, val)
        })
        .collect()
}

struct Flow {
    bank: RunningBank,
    shop: Shop,
    http: reqwest::Client,
}

async fn flow() -> Flow {
    let bank = MockBank::spawn(MockBankConfig::for_tests()).await.unwrap();
    let (shop, shop_url) = start_shop().await;
    assert!(bank.set_stripe_webhook_url(SK, &format!("{shop_url}/webhook")));
    Flow {
        bank,
        shop,
        http: client(),
    }
}

impl Flow {
    async fn create(&self, pairs: &[(String, String)], key: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/v1/checkout/sessions", self.bank.base_url()))
            .bearer_auth(SK)
            .form(pairs);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.unwrap()
    }

    async fn session(&self, reference: &str) -> serde_json::Value {
        let resp = self.create(&create_pairs(reference), None).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn pay(&self, session: &serde_json::Value, card: &str) -> reqwest::Response {
        self.http
            .post(session["url"].as_str().unwrap())
            .form(&[
                ("card", card),
                ("exp", "12/39"),
                ("cvc", "123"),
                ("email", "buyer@example.com"),
                ("action", "pay"),
            ])
            .send()
            .await
            .unwrap()
    }
}

fn verify_webhook(r: &Received, secret: &str) -> serde_json::Value {
    let header = r.stripe_signature.clone().expect("Stripe-Signature");
    let t: i64 = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap();
    let body = String::from_utf8(r.body.clone()).unwrap();
    // Independent check with aws-lc-rs HMAC over "t.body".
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let expected =
        hex_lower(aws_lc_rs::hmac::sign(&key, format!("{t}.{body}").as_bytes()).as_ref());
    let v1 = header
        .split(',')
        .find_map(|p| p.strip_prefix("v1="))
        .unwrap();
    assert_eq!(v1, expected, "signature does not verify");
    serde_json::from_str(&body).unwrap()
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test]
async fn hosted_checkout_pays_notifies_and_refunds() {
    let f = flow().await;
    let session = f.session("order-1042").await;
    assert_eq!(session["status"], "open");
    assert_eq!(session["amount_total"], 4200);
    let page = f
        .http
        .get(session["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("42,00 €") && page.contains("order-1042"),
        "{page}"
    );
    let resp = f.pay(&session, cards::ACCEPTED).await;
    assert_eq!(resp.status(), 303);
    let id = session["id"].as_str().unwrap();
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        format!("https://shop.example.com/success?session_id={id}")
    );
    let received = f.shop.wait_for(1, 2000).await;
    let event = verify_webhook(&received[0], WHSEC);
    assert_eq!(event["type"], "checkout.session.completed");
    assert_eq!(event["data"]["object"]["payment_status"], "paid");
    assert_eq!(event["data"]["object"]["client_reference_id"], "order-1042");
    let got: serde_json::Value = f
        .http
        .get(format!("{}/v1/checkout/sessions/{id}", f.bank.base_url()))
        .bearer_auth(SK)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (got["status"].as_str(), got["payment_status"].as_str()),
        (Some("complete"), Some("paid"))
    );
    let pi = got["payment_intent"].as_str().unwrap().to_owned();
    let refund = |amount: &'static str| {
        f.http
            .post(format!("{}/v1/refunds", f.bank.base_url()))
            .bearer_auth(SK)
            .form(&[("payment_intent", pi.as_str()), ("amount", amount)])
            .send()
    };
    let r = refund("4000").await.unwrap();
    assert_eq!(r.status(), 200);
    let r: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (
            r["object"].as_str(),
            r["status"].as_str(),
            r["amount"].as_u64()
        ),
        (Some("refund"), Some("succeeded"), Some(4000))
    );
    let r = refund("201").await.unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert_eq!(e["error"]["code"], "amount_too_large");
    let j = f.bank.journal();
    assert!(j.iter().any(|e| e.kind == EntryKind::Notification
        && e.detail == "checkout.session.completed"
        && e.status == Some(200)));
}

/// The hosted page speaks the session's `locale`: French for `fr`, English otherwise.
#[tokio::test]
async fn the_page_follows_the_session_locale() {
    let f = flow().await;
    let mut pairs = create_pairs("order-fr");
    pairs.push(("locale".into(), "fr".into()));
    let fr: serde_json::Value = f.create(&pairs, None).await.json().await.unwrap();
    let page = |s: serde_json::Value| {
        let http = f.http.clone();
        async move {
            http.get(s["url"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page(fr.clone()).await;
    assert!(
        html.contains("Numéro de carte") && html.contains(">Payer<"),
        "{html}"
    );
    let declined = f
        .pay(&fr, cards::INSUFFICIENT_FUNDS)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        declined.contains("Votre carte a été refusée (insufficient_funds)"),
        "{declined}"
    );
    let en = f.session("order-en").await;
    let html = page(en).await;
    assert!(
        html.contains("Card number") && !html.contains("Numéro de carte"),
        "{html}"
    );
    let mut bad = create_pairs("order-bad");
    bad.push(("locale".into(), "fr<script>".into()));
    assert_eq!(f.create(&bad, None).await.status(), 400);
}

#[tokio::test]
async fn declines_stay_on_the_page_and_a_later_card_pays() {
    let f = flow().await;
    let session = f.session("order-decline").await;
    let resp = f.pay(&session, cards::INSUFFICIENT_FUNDS).await;
    assert_eq!(resp.status(), 402);
    assert!(resp.text().await.unwrap().contains("insufficient_funds"));
    for card in [
        cards::GENERIC_DECLINE,
        cards::EXPIRED_CARD,
        cards::INCORRECT_NUMBER,
    ] {
        assert_eq!(f.pay(&session, card).await.status(), 402);
    }
    // Each decline: a signed `payment_intent.payment_failed` about the same payment intent,
    // carrying `payment_intent_data[metadata]` and the error; the session stays open.
    let declines = f.shop.wait_for(4, 2000).await;
    assert_eq!(declines.len(), 4);
    let events: Vec<serde_json::Value> =
        declines.iter().map(|r| verify_webhook(r, WHSEC)).collect();
    let pi = events[0]["data"]["object"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(pi.starts_with("pi_"), "{pi}");
    let mut ids = std::collections::HashSet::new();
    for (e, (code, decline)) in events.iter().zip([
        ("card_declined", Some("insufficient_funds")),
        ("card_declined", Some("generic_decline")),
        ("expired_card", Some("expired_card")),
        ("incorrect_number", None),
    ]) {
        assert!(ids.insert(e["id"].as_str().unwrap().to_owned()));
        assert_eq!(e["type"], stripe_like::PAYMENT_FAILED);
        let o = &e["data"]["object"];
        assert_eq!(o["object"], "payment_intent");
        assert_eq!(o["id"], pi.as_str());
        assert_eq!(
            (o["amount"].as_u64(), o["currency"].as_str()),
            (Some(4200), Some("eur"))
        );
        assert_eq!(o["metadata"]["order_id"], "1042");
        assert_eq!(o["status"], "requires_payment_method");
        let err = &o["last_payment_error"];
        assert_eq!(err["type"], "card_error");
        assert_eq!(err["code"], code);
        assert_eq!(err["decline_code"].as_str(), decline);
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(f.pay(&session, cards::ACCEPTED).await.status(), 303);
    let received = f.shop.wait_for(5, 2000).await;
    assert_eq!(received.len(), 5);
    let paid = verify_webhook(&received[4], WHSEC);
    assert_eq!(paid["type"], "checkout.session.completed");
    // The same payment intent, now succeeded.
    assert_eq!(paid["data"]["object"]["payment_intent"], pi.as_str());
    let details: Vec<_> = f
        .bank
        .journal()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Decision)
        .map(|e| e.detail)
        .collect();
    assert_eq!(
        details,
        [
            "insufficient_funds",
            "generic_decline",
            "expired_card",
            "incorrect_number",
            "paid"
        ]
    );
    let failed = f
        .bank
        .journal()
        .into_iter()
        .filter(|e| {
            e.kind == EntryKind::Notification
                && e.detail == stripe_like::PAYMENT_FAILED
                && e.reference.as_deref() == Some("order-decline")
                && e.status == Some(200)
        })
        .count();
    assert_eq!(failed, 4, "each decline journaled with the shop's answer");
}

#[tokio::test]
async fn a_declined_card_notification_is_retried_until_acknowledged() {
    let f = flow().await;
    let session = f.session("order-decline-retry").await;
    f.shop.answer_with(&[500]);
    assert_eq!(f.pay(&session, cards::LOST_CARD).await.status(), 402);
    let received = f.shop.wait_for(2, 5000).await;
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].body, received[1].body,
        "the same event, redelivered"
    );
    let e = verify_webhook(&received[1], WHSEC);
    assert_eq!(
        e["data"]["object"]["last_payment_error"]["decline_code"],
        "lost_card"
    );
    let failed = |e: &tpe_mock_bank::JournalEntry| {
        e.kind == EntryKind::Notification && e.detail == stripe_like::PAYMENT_FAILED
    };
    let (journal, _) = f
        .bank
        .wait_for_journal(Duration::from_secs(2), |j| {
            j.iter().filter(|e| failed(e)).count() >= 2
        })
        .await;
    let attempts: Vec<_> = journal
        .into_iter()
        .filter(failed)
        .map(|e| (e.attempt, e.status))
        .collect();
    assert_eq!(attempts, [(Some(1), Some(500)), (Some(2), Some(200))]);
}

#[tokio::test]
async fn delayed_payment_completes_unpaid_then_async_events() {
    let f = flow().await;
    let s1 = f.session("order-async-ok").await;
    f.pay(&s1, cards::DELAYED_SUCCEEDS).await;
    let s2 = f.session("order-async-ko").await;
    f.pay(&s2, cards::DELAYED_FAILS).await;
    let received = f.shop.wait_for(4, 3000).await;
    let events: Vec<(String, String, String)> = received
        .iter()
        .map(|r| {
            let e = verify_webhook(r, WHSEC);
            (
                e["data"]["object"]["client_reference_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                e["type"].as_str().unwrap().to_owned(),
                e["data"]["object"]["payment_status"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    let of = |r: &str| {
        events
            .iter()
            .filter(|e| e.0 == r)
            .map(|e| (e.1.clone(), e.2.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("order-async-ok"),
        [
            ("checkout.session.completed".into(), "unpaid".into()),
            (
                "checkout.session.async_payment_succeeded".into(),
                "paid".into()
            )
        ]
    );
    assert_eq!(
        of("order-async-ko"),
        [
            ("checkout.session.completed".into(), "unpaid".into()),
            (
                "checkout.session.async_payment_failed".into(),
                "unpaid".into()
            )
        ]
    ); // The failure carries the payment intent expanded, with its decline code.
    let failed = received
        .iter()
        .map(|r| verify_webhook(r, WHSEC))
        .find(|e| e["type"] == "checkout.session.async_payment_failed")
        .unwrap();
    let pi = &failed["data"]["object"]["payment_intent"];
    assert_eq!(pi["object"], "payment_intent");
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(
        pi["last_payment_error"]["decline_code"],
        stripe_like::DELAYED_FAILURE_CODE
    );
    // A scripted failure uses the script's code.
    let s3 = f.session("order-async-scripted").await;
    f.bank.script(
        "order-async-scripted",
        Scenario::outcome(Outcome::PendingThenRefuse {
            code: "do_not_honor".into(),
        }),
    );
    f.pay(&s3, cards::ACCEPTED).await;
    let received = f.shop.wait_for(6, 3000).await;
    let e = received
        .iter()
        .map(|r| verify_webhook(r, WHSEC))
        .find(|e| {
            e["type"] == "checkout.session.async_payment_failed"
                && e["data"]["object"]["client_reference_id"] == "order-async-scripted"
        })
        .unwrap();
    assert_eq!(
        e["data"]["object"]["payment_intent"]["last_payment_error"]["decline_code"],
        "do_not_honor"
    );
}

#[tokio::test]
async fn sessions_are_listed_newest_first_with_filters_and_cursors() {
    let f = flow().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            f.session(&format!("order-list-{i}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let list = |q: &str| {
        let url = format!("{}/v1/checkout/sessions{q}", f.bank.base_url());
        let http = f.http.clone();
        async move {
            let r = http.get(url).bearer_auth(SK).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let ids_of = |v: &serde_json::Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let (status, all) = list("").await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            all["object"].as_str(),
            all["url"].as_str(),
            all["has_more"].as_bool()
        ),
        (Some("list"), Some("/v1/checkout/sessions"), Some(false))
    );
    assert_eq!(ids_of(&all), newest_first);
    assert_eq!(all["data"][0]["client_reference_id"], "order-list-4");
    // Pages of two, forwards with starting_after, back with ending_before.
    let (_, p1) = list("?limit=2").await;
    assert_eq!(
        (ids_of(&p1), p1["has_more"].as_bool()),
        (newest_first[..2].to_vec(), Some(true))
    );
    let (_, p2) = list(&format!("?limit=2&starting_after={}", newest_first[1])).await;
    assert_eq!(
        (ids_of(&p2), p2["has_more"].as_bool()),
        (newest_first[2..4].to_vec(), Some(true))
    );
    let (_, p3) = list(&format!("?limit=2&starting_after={}", newest_first[3])).await;
    assert_eq!(
        (ids_of(&p3), p3["has_more"].as_bool()),
        (newest_first[4..].to_vec(), Some(false))
    );
    let (_, back) = list(&format!("?limit=2&ending_before={}", newest_first[4])).await;
    assert_eq!(
        (ids_of(&back), back["has_more"].as_bool()),
        (newest_first[2..4].to_vec(), Some(true))
    );
    // Filters: creation time (the system clock: the sessions may straddle a second), status,
    // payment intent.
    let times: Vec<i64> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["created"].as_i64().unwrap())
        .collect();
    let (first, last) = (times[4], times[0]);
    let (_, none) = list(&format!("?created[gt]={last}")).await;
    assert_eq!(ids_of(&none), Vec::<String>::new());
    let (_, window) = list(&format!(
        "?created[gte]={first}&created[lte]={last}&limit=100"
    ))
    .await;
    assert_eq!(ids_of(&window).len(), 5);
    let (_, before) = list(&format!("?created[lt]={first}")).await;
    assert!(ids_of(&before).is_empty());
    let paid = f
        .http
        .get(all["data"][0]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    assert_eq!(f.pay(&all["data"][0], cards::ACCEPTED).await.status(), 303);
    let (_, complete) = list("?status=complete&expand[]=data.payment_intent").await;
    assert_eq!(ids_of(&complete), [newest_first[0].clone()]);
    let pi = complete["data"][0]["payment_intent"].clone();
    assert_eq!(pi["status"], "succeeded");
    let pi = pi["id"].as_str().unwrap();
    let (_, by_pi) = list(&format!("?payment_intent={pi}")).await;
    assert_eq!(ids_of(&by_pi), [newest_first[0].clone()]);
    assert_eq!(by_pi["data"][0]["payment_intent"], pi);
    let (_, open) = list("?status=open").await;
    assert_eq!(ids_of(&open), newest_first[1..].to_vec());
    // Errors: bad limit, unknown cursor, both cursors, unknown parameter, bad auth.
    for q in [
        "?limit=0".to_owned(),
        "?limit=101".to_owned(),
        "?status=paid".to_owned(),
        "?created[gte]=soon".to_owned(),
        "?colour=blue".to_owned(),
        format!("?starting_after={}&ending_before={}", ids[0], ids[1]),
    ] {
        let (status, e) = list(&q).await;
        assert_eq!(status, 400, "{q}");
        assert_eq!(e["error"]["type"], "invalid_request_error", "{q}");
    }
    let (status, e) = list("?starting_after=cs_test_nosuch").await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("resource_missing"))
    );
    let r = f
        .http
        .get(format!("{}/v1/checkout/sessions", f.bank.base_url()))
        .bearer_auth("sk_test_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn another_accounts_sessions_are_not_listed() {
    let mut config = MockBankConfig::for_tests();
    config.stripe_accounts.push(tpe_mock_bank::StripeAccount {
        secret_key: tpe_mock_bank::Secret::new("sk_test_other_account"),
        ..tpe_mock_bank::StripeAccount::default()
    });
    let bank = MockBank::spawn(config).await.unwrap();
    let http = client();
    let create = http
        .post(format!("{}/v1/checkout/sessions", bank.base_url()))
        .bearer_auth(SK)
        .form(&create_pairs("order-mine"))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 200);
    let mine: serde_json::Value = create.json().await.unwrap();
    let list = |key: &'static str| {
        http.get(format!("{}/v1/checkout/sessions", bank.base_url()))
            .bearer_auth(key)
            .send()
    };
    let v: serde_json::Value = list(SK).await.unwrap().json().await.unwrap();
    assert_eq!(v["data"][0]["id"], mine["id"]);
    let v: serde_json::Value = list("sk_test_other_account")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0));
    let cursor = format!(
        "{}/v1/checkout/sessions?starting_after={}",
        bank.base_url(),
        mine["id"].as_str().unwrap()
    );
    let r = http
        .get(cursor)
        .bearer_auth("sk_test_other_account")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn idempotency_auth_and_validation_errors() {
    let f = flow().await;
    let pairs = create_pairs("order-idem");
    let a = f.create(&pairs, Some("key-1")).await;
    let b = f.create(&pairs, Some("key-1")).await;
    assert_eq!(a.status(), 200);
    assert_eq!(
        b.headers()
            .get("Idempotent-Replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());
    let mut other = pairs.clone();
    other[7].1 = "4300".into();
    let c = f.create(&other, Some("key-1")).await;
    assert_eq!(c.status(), 400);
    let e: serde_json::Value = c.json().await.unwrap();
    assert_eq!(e["error"]["type"], "idempotency_error");
    for k in ["type", "code", "decline_code", "message", "param"] {
        assert!(e["error"].get(k).is_some(), "{k}");
    }
    // Without a key, two sessions.
    let x: serde_json::Value = f.create(&pairs, None).await.json().await.unwrap();
    let y: serde_json::Value = f.create(&pairs, None).await.json().await.unwrap();
    assert_ne!(x["id"], y["id"]);
    // Bad key.
    let r = f
        .http
        .post(format!("{}/v1/checkout/sessions", f.bank.base_url()))
        .bearer_auth("sk_test_wrong")
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Unknown parameter is named.
    let mut bad = pairs.clone();
    bad.push(("amount".into(), "4200".into()));
    let r = f.create(&bad, None).await;
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["param"], "amount");
    // Unknown session.
    let r = f
        .http
        .get(format!(
            "{}/v1/checkout/sessions/cs_test_nope",
            f.bank.base_url()
        ))
        .bearer_auth(SK)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn webhook_faults_retries_wrong_signature_duplicates_and_expiry() {
    let f = flow().await;
    f.shop.answer_with(&[500, 500, 500]);
    let s = f.session("order-retry").await;
    f.pay(&s, cards::ACCEPTED).await;
    let (j, ok) = f
        .bank
        .wait_for_journal(Duration::from_secs(5), |j| {
            j.iter().any(|e| e.detail == "gave_up")
        })
        .await;
    assert!(ok);
    assert_eq!(
        j.iter()
            .filter(|e| e.kind == EntryKind::Notification)
            .count(),
        3
    );
    f.bank.clear_journal();
    f.bank.script(
        "order-wrong",
        Scenario {
            wrong_signature: true,
            duplicate: 1,
            ..Scenario::default()
        },
    );
    let s = f.session("order-wrong").await;
    f.pay(&s, cards::ACCEPTED).await;
    let received = f.shop.wait_for(5, 3000).await;
    let wrong: Vec<_> = received[3..].to_vec();
    assert_eq!(wrong.len(), 2);
    let body = String::from_utf8(wrong[0].body.clone()).unwrap();
    let header = wrong[0].stripe_signature.clone().unwrap();
    let t: i64 = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(
        header,
        stripe_like::stripe_signature_header(WHSEC, t, &body)
    );
    // Scripted refusal and expiry.
    f.bank.script(
        "order-refused",
        Scenario::outcome(Outcome::Refuse {
            code: "lost_card".into(),
        }),
    );
    let s = f.session("order-refused").await;
    let page = f.pay(&s, cards::ACCEPTED).await.text().await.unwrap();
    assert!(page.contains("lost_card"));
    let r = f
        .http
        .post(format!(
            "{}/v1/checkout/sessions/{}/expire",
            f.bank.base_url(),
            s["id"].as_str().unwrap()
        ))
        .bearer_auth(SK)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let received = f.shop.wait_for(6, 3000).await;
    let last = verify_webhook(received.last().unwrap(), WHSEC);
    assert_eq!(last["type"], "checkout.session.expired");
}

#[tokio::test]
async fn api_faults_500_and_timeout() {
    let f = flow().await;
    f.bank.script(
        "order-500",
        Scenario {
            api_fault: Some(ApiFault::Error500),
            ..Scenario::default()
        },
    );
    assert_eq!(
        f.create(&create_pairs("order-500"), Some("k"))
            .await
            .status(),
        500
    );
    // Not stored: the same key works once the fault is gone.
    f.bank.clear_script("order-500");
    assert_eq!(
        f.create(&create_pairs("order-500"), Some("k"))
            .await
            .status(),
        200
    );
    f.bank.script(
        "order-slow",
        Scenario {
            api_fault: Some(ApiFault::Timeout),
            ..Scenario::default()
        },
    );
    let err = f
        .http
        .post(format!("{}/v1/checkout/sessions", f.bank.base_url()))
        .bearer_auth(SK)
        .form(&create_pairs("order-slow"))
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // Abandon: no webhook.
    f.bank
        .script("order-gone", Scenario::outcome(Outcome::Abandon));
    let s = f.session("order-gone").await;
    assert_eq!(f.pay(&s, cards::ACCEPTED).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(f.shop.received().is_empty());
    let j = f.bank.journal();
    assert!(
        j.iter().any(|e| e.detail == "fault_500") && j.iter().any(|e| e.detail == "fault_timeout")
    );
    assert!(
        j.iter()
            .any(|e| e.kind == EntryKind::Decision && e.detail == "abandoned")
    );
}

// ---- The platform's objects, routes and parameters as its official SDKs use them. ----

/// The key set of a resource in the PSP's published fixtures (`data/stripe-fixtures.json`).
fn fixture_keys(resource: &str) -> std::collections::BTreeSet<String> {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("data/stripe-fixtures.json")).unwrap();
    v["resources"][resource]
        .as_object()
        .unwrap_or_else(|| panic!("no fixture for {resource}"))
        .keys()
        .cloned()
        .collect()
}

/// Asserts that `object` has exactly the fixture's fields of `resource`, plus `extra`.
fn assert_fixture_fields(object: &serde_json::Value, resource: &str, extra: &[&str]) {
    let mut want = fixture_keys(resource);
    want.extend(extra.iter().map(|s| (*s).to_owned()));
    let got: std::collections::BTreeSet<String> =
        object.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        got,
        want,
        "{resource}: missing {:?}, unexpected {:?}",
        want.difference(&got).collect::<Vec<_>>(),
        got.difference(&want).collect::<Vec<_>>()
    );
}

impl Flow {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.bank.base_url())
    }

    async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(SK)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post_json(&self, path: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(SK)
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn price(&self, amount: &str, name: &str) -> serde_json::Value {
        let (status, price) = self
            .post_json(
                "/v1/prices",
                &[
                    ("currency", "eur"),
                    ("unit_amount", amount),
                    ("product_data[name]", name),
                ],
            )
            .await;
        assert_eq!(status, 200, "{price}");
        price
    }

    /// A session of `price_id` ×2 and an inline 4,00 € sticker ×3, with the parameters the
    /// platform documents for collecting customer details; its line items expanded.
    async fn rich_session(&self, price_id: &str) -> serde_json::Value {
        let (status, s) = self
            .post_json(
                "/v1/checkout/sessions",
                &[
                    ("mode", "payment"),
                    ("success_url", "https://shop.example.com/ok"),
                    ("client_reference_id", "order-rich"),
                    ("line_items[0][price]", price_id),
                    ("line_items[0][quantity]", "2"),
                    ("line_items[1][price_data][currency]", "eur"),
                    ("line_items[1][price_data][unit_amount]", "400"),
                    ("line_items[1][price_data][product_data][name]", "Sticker"),
                    ("line_items[1][quantity]", "3"),
                    ("billing_address_collection", "required"),
                    ("phone_number_collection[enabled]", "true"),
                    ("customer_creation", "always"),
                    ("payment_method_types[0]", "card"),
                    ("payment_intent_data[description]", "Order rich"),
                    ("expand[]", "line_items"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{s}");
        s
    }
}

#[tokio::test]
async fn objects_have_every_field_of_the_published_fixtures() {
    let f = flow().await;
    let price = f.price("1500", "T-shirt").await;
    assert_fixture_fields(&price, "price", &[]);
    assert_eq!(
        (
            price["type"].as_str(),
            price["unit_amount_decimal"].as_str()
        ),
        (Some("one_time"), Some("1500"))
    );
    let s = f.rich_session(price["id"].as_str().unwrap()).await;
    assert_fixture_fields(&s, "checkout.session", &["line_items"]);
    assert_eq!(s["amount_total"], 4200);
    for item in s["line_items"]["data"].as_array().unwrap() {
        assert_fixture_fields(item, "item", &[]);
        assert_fixture_fields(&item["price"], "price", &[]);
    }
    assert_eq!(s["line_items"]["data"][0]["price"]["id"], price["id"]);
    assert_eq!(s["line_items"]["data"][1]["price"]["active"], false);
    // Fields the official SDKs read on every session.
    assert_eq!(s["ui_mode"], "hosted");
    assert_eq!(s["payment_method_types"], serde_json::json!(["card"]));
    assert_eq!(s["total_details"]["amount_discount"], 0);
    assert_eq!(s["customer"], serde_json::Value::Null);
    assert_eq!(s["locale"], serde_json::Value::Null);
    let id = s["id"].as_str().unwrap();
    let (_, plain) = f.get_json(&format!("/v1/checkout/sessions/{id}")).await;
    assert_fixture_fields(&plain, "checkout.session", &[]);
    assert_eq!(f.pay(&s, cards::ACCEPTED).await.status(), 303);
    let (_, paid) = f.get_json(&format!("/v1/checkout/sessions/{id}")).await;
    assert_fixture_fields(&paid, "checkout.session", &[]);
    let pi = paid["payment_intent"].as_str().unwrap();
    let (status, intent) = f.get_json(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(status, 200);
    assert_fixture_fields(&intent, "payment_intent", &[]);
    assert_eq!(
        (
            intent["status"].as_str(),
            intent["amount_received"].as_u64(),
            intent["description"].as_str()
        ),
        (Some("succeeded"), Some(4200), Some("Order rich"))
    );
    let (status, refund) = f
        .post_json("/v1/refunds", &[("payment_intent", pi), ("amount", "100")])
        .await;
    assert_eq!(status, 200);
    assert_fixture_fields(&refund, "refund", &[]);
    assert_eq!(refund["charge"], intent["latest_charge"]);
    assert!(
        refund["balance_transaction"]
            .as_str()
            .unwrap()
            .starts_with("txn_")
    );
}

#[tokio::test]
async fn the_customer_details_the_session_asked_for_are_collected() {
    let f = flow().await;
    let price = f.price("1500", "T-shirt").await;
    let s = f.rich_session(price["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            s["billing_address_collection"].as_str(),
            s["phone_number_collection"]["enabled"].as_bool(),
            s["customer_creation"].as_str()
        ),
        (Some("required"), Some(true), Some("always"))
    );
    let page = f
        .http
        .get(s["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"phone\"") && page.contains("name=\"country\""));
    let r = f
        .http
        .post(s["url"].as_str().unwrap())
        .form(&[
            ("card", cards::ACCEPTED),
            ("exp", "12/39"),
            ("cvc", "123"),
            ("email", "buyer@example.com"),
            ("phone", "+33612345678"),
            ("name", "Jeanne Martin"),
            ("country", "fr"),
            ("action", "pay"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let id = s["id"].as_str().unwrap();
    let (_, paid) = f.get_json(&format!("/v1/checkout/sessions/{id}")).await;
    assert!(paid["customer"].as_str().unwrap().starts_with("cus_"));
    let d = &paid["customer_details"];
    assert_eq!(
        (
            d["phone"].as_str(),
            d["name"].as_str(),
            d["address"]["country"].as_str(),
            d["email"].as_str()
        ),
        (
            Some("+33612345678"),
            Some("Jeanne Martin"),
            Some("FR"),
            Some("buyer@example.com")
        )
    );
    // The webhook carries the same session.
    let event = verify_webhook(&f.shop.wait_for(1, 2000).await[0], WHSEC);
    assert_eq!(event["data"]["object"]["customer"], paid["customer"]);
    // Refused values name their parameter.
    for (k, v) in [
        ("billing_address_collection", "sometimes"),
        ("phone_number_collection[enabled]", "yes"),
        ("customer_creation", "never"),
    ] {
        let mut pairs = create_pairs("order-bad-param");
        pairs.push((k.into(), v.into()));
        let e: serde_json::Value = f.create(&pairs, None).await.json().await.unwrap();
        assert_eq!(e["error"]["param"], k);
    }
}

#[tokio::test]
async fn line_items_are_listed_in_order_with_paging_and_expanded_on_demand() {
    let f = flow().await;
    let price = f.price("1500", "T-shirt").await;
    let s = f.rich_session(price["id"].as_str().unwrap()).await;
    let id = s["id"].as_str().unwrap();
    let items = &s["line_items"];
    assert_eq!(
        items["url"],
        format!("/v1/checkout/sessions/{id}/line_items")
    );
    assert_eq!(items["has_more"], false);
    let ids: Vec<&str> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let path = format!("/v1/checkout/sessions/{id}/line_items");
    let (status, first) = f.get_json(&format!("{path}?limit=1")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (first["data"][0]["id"].as_str(), first["has_more"].as_bool()),
        (Some(ids[0]), Some(true))
    );
    assert_eq!(first["data"][0]["amount_total"], 3000);
    assert_eq!(first["data"][0]["description"], "T-shirt");
    let (_, second) = f
        .get_json(&format!("{path}?limit=1&starting_after={}", ids[0]))
        .await;
    assert_eq!(
        (
            second["data"][0]["id"].as_str(),
            second["has_more"].as_bool()
        ),
        (Some(ids[1]), Some(false))
    );
    let (_, back) = f
        .get_json(&format!("{path}?ending_before={}", ids[1]))
        .await;
    assert_eq!(back["data"][0]["id"].as_str(), Some(ids[0]));
    // Expanded on retrieve (`expand[0]=` as the SDKs send it), absent otherwise.
    let (_, got) = f
        .get_json(&format!(
            "/v1/checkout/sessions/{id}?expand%5B0%5D=line_items"
        ))
        .await;
    assert_eq!(got["line_items"]["data"], items["data"]);
    let (_, plain) = f.get_json(&format!("/v1/checkout/sessions/{id}")).await;
    assert!(plain.get("line_items").is_none());
    // And on the list (`data.line_items`).
    let (_, listed) = f
        .get_json("/v1/checkout/sessions?expand[]=data.line_items")
        .await;
    assert_eq!(listed["data"][0]["line_items"]["data"], items["data"]);
    for (query, param) in [
        ("?expand[]=customer", "expand"),
        ("?limit=0", "limit"),
        ("?colour=red", "colour"),
    ] {
        let target = if param == "expand" {
            format!("/v1/checkout/sessions/{id}{query}")
        } else {
            format!("{path}{query}")
        };
        let (status, e) = f.get_json(&target).await;
        assert_eq!((status, e["error"]["param"].as_str()), (400, Some(param)));
    }
    let (status, e) = f
        .get_json("/v1/checkout/sessions/cs_test_nope/line_items")
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("resource_missing"))
    );
    // A line item needs one of price and price_data; an unknown price is named.
    let mut pairs = create_pairs("order-price");
    pairs.retain(|(k, _)| !k.starts_with("line_items"));
    pairs.push(("line_items[0][price]".into(), "price_nope".into()));
    pairs.push(("line_items[0][quantity]".into(), "1".into()));
    let e: serde_json::Value = f.create(&pairs, None).await.json().await.unwrap();
    assert_eq!(e["error"]["param"], "line_items[0][price]");
    assert_eq!(e["error"]["message"], "No such price: 'price_nope'");
}

#[tokio::test]
async fn prices_are_created_listed_read_and_updated() {
    let f = flow().await;
    let a = f.price("1500", "T-shirt").await;
    let product = a["product"].as_str().unwrap();
    let (status, b) = f
        .post_json(
            "/v1/prices",
            &[
                ("currency", "eur"),
                ("unit_amount", "250"),
                ("product", product),
                ("lookup_key", "small"),
                ("metadata[sku]", "S-1"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(
        (b["product"].as_str(), b["metadata"]["sku"].as_str()),
        (Some(product), Some("S-1"))
    );
    let c = f.price("990", "Mug").await;
    let (_, page) = f.get_json("/v1/prices?limit=2").await;
    assert_eq!(page["url"], "/v1/prices");
    assert_eq!(
        (
            page["data"][0]["id"].as_str(),
            page["data"][1]["id"].as_str(),
            page["has_more"].as_bool()
        ),
        (c["id"].as_str(), b["id"].as_str(), Some(true))
    );
    let (_, rest) = f
        .get_json(&format!(
            "/v1/prices?limit=2&starting_after={}",
            b["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rest["data"][0]["id"], a["id"]);
    let (_, by_key) = f.get_json("/v1/prices?lookup_keys[]=small").await;
    assert_eq!(by_key["data"].as_array().unwrap().len(), 1);
    let (_, by_product) = f.get_json(&format!("/v1/prices?product={product}")).await;
    assert_eq!(by_product["data"].as_array().unwrap().len(), 2);
    let cid = c["id"].as_str().unwrap();
    let (status, off) = f
        .post_json(&format!("/v1/prices/{cid}"), &[("active", "false")])
        .await;
    assert_eq!((status, off["active"].as_bool()), (200, Some(false)));
    let (_, read) = f.get_json(&format!("/v1/prices/{cid}")).await;
    assert_eq!(read["active"], false);
    let (_, active) = f.get_json("/v1/prices?active=true").await;
    assert_eq!(active["data"].as_array().unwrap().len(), 2);
    // An inactive price cannot be sold.
    let mut pairs = create_pairs("order-inactive");
    pairs.retain(|(k, _)| !k.starts_with("line_items"));
    pairs.push(("line_items[0][price]".into(), cid.into()));
    pairs.push(("line_items[0][quantity]".into(), "1".into()));
    assert_eq!(f.create(&pairs, None).await.status(), 400);
    for (form, param) in [
        (
            vec![("unit_amount", "100"), ("product_data[name]", "X")],
            "currency",
        ),
        (
            vec![("currency", "eur"), ("product_data[name]", "X")],
            "unit_amount",
        ),
        (vec![("currency", "eur"), ("unit_amount", "100")], "product"),
        (
            vec![
                ("currency", "eur"),
                ("unit_amount", "100"),
                ("product", "prod_nope"),
            ],
            "product",
        ),
        (
            vec![
                ("currency", "eur"),
                ("unit_amount", "100"),
                ("product_data[name]", "X"),
                ("recurring[interval]", "month"),
            ],
            "recurring[interval]",
        ),
        (
            vec![
                ("currency", "eur"),
                ("unit_amount", "100"),
                ("product", product),
                ("lookup_key", "small"),
            ],
            "lookup_key",
        ),
    ] {
        let (status, e) = f.post_json("/v1/prices", &form).await;
        assert_eq!(
            (status, e["error"]["param"].as_str()),
            (400, Some(param)),
            "{e}"
        );
    }
    let (status, e) = f.get_json("/v1/prices/price_nope").await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("resource_missing"))
    );
}

#[tokio::test]
async fn refunds_by_intent_or_charge_are_listed_and_read() {
    let f = flow().await;
    let s = f.session("order-refunds").await;
    assert_eq!(f.pay(&s, cards::ACCEPTED).await.status(), 303);
    let id = s["id"].as_str().unwrap();
    let (_, paid) = f
        .get_json(&format!(
            "/v1/checkout/sessions/{id}?expand[]=payment_intent"
        ))
        .await;
    let pi = paid["payment_intent"]["id"].as_str().unwrap();
    let charge = paid["payment_intent"]["latest_charge"].as_str().unwrap();
    let (_, first) = f
        .post_json("/v1/refunds", &[("payment_intent", pi), ("amount", "1000")])
        .await;
    let (status, second) = f.post_json("/v1/refunds", &[("charge", charge)]).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        (second["amount"].as_u64(), second["payment_intent"].as_str()),
        (Some(3200), Some(pi))
    );
    let (_, listed) = f
        .get_json(&format!("/v1/refunds?payment_intent={pi}&limit=1"))
        .await;
    assert_eq!(
        (
            listed["data"][0]["id"].as_str(),
            listed["has_more"].as_bool(),
            listed["url"].as_str()
        ),
        (second["id"].as_str(), Some(true), Some("/v1/refunds"))
    );
    let (_, by_charge) = f.get_json(&format!("/v1/refunds?charge={charge}")).await;
    assert_eq!(by_charge["data"].as_array().unwrap().len(), 2);
    let rid = first["id"].as_str().unwrap();
    let (status, read) = f.get_json(&format!("/v1/refunds/{rid}")).await;
    assert_eq!((status, read["amount"].as_u64()), (200, Some(1000)));
    for (form, status, code) in [
        (vec![("charge", charge)], 400, "charge_already_refunded"),
        (vec![("charge", "ch_nope")], 404, "resource_missing"),
        (
            vec![("charge", charge), ("payment_intent", pi)],
            400,
            "parameter_invalid",
        ),
        (vec![("amount", "100")], 400, "parameter_missing"),
    ] {
        let (got, e) = f.post_json("/v1/refunds", &form).await;
        assert_eq!(
            (got, e["error"]["code"].as_str()),
            (status, Some(code)),
            "{e}"
        );
    }
    let (status, e) = f.get_json("/v1/refunds/re_nope").await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("resource_missing"))
    );
    let (status, e) = f.get_json("/v1/payment_intents/pi_nope").await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("resource_missing"))
    );
}

#[tokio::test]
async fn basic_and_bearer_auth_and_every_error_in_the_json_shape() {
    let f = flow().await;
    let url = f.url("/v1/checkout/sessions");
    // `curl -u sk_…:` sends HTTP Basic with the key as user name.
    let r = f
        .http
        .get(&url)
        .basic_auth(SK, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = f
        .http
        .get(&url)
        .basic_auth(SK, None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let error_shape = |e: &serde_json::Value| {
        ["type", "message"]
            .iter()
            .all(|k| e["error"][k].is_string())
    };
    for req in [
        f.http.get(&url),
        f.http.get(&url).bearer_auth("sk_test_wrong"),
        f.http.get(&url).basic_auth("sk_test_wrong", Some("")),
        f.http.get(&url).header("Authorization", "Basic !!!"),
    ] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().contains_key("www-authenticate"));
        let e: serde_json::Value = r.json().await.unwrap();
        assert!(error_shape(&e), "{e}");
        assert!(
            !e.to_string().contains("sk_test_wrong"),
            "the key is echoed"
        );
    }
    // Unknown routes and methods: a 404 in the JSON shape, never an empty body.
    for (method, path) in [
        ("GET", "/v1/charges"),
        ("GET", "/v1/checkout/sessions/cs_x/nothing"),
        ("DELETE", "/v1/checkout/sessions"),
        ("PUT", "/v1/refunds"),
        ("POST", "/v1/payment_intents/pi_x"),
    ] {
        let r = f
            .http
            .request(method.parse().unwrap(), f.url(path))
            .bearer_auth(SK)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert!(error_shape(&e), "{e}");
        assert_eq!(
            e["error"]["message"],
            format!("Unrecognized request URL ({method}: {path}).")
        );
    }
    // A malformed body, and a scripted fault.
    let r = f
        .http
        .post(&url)
        .bearer_auth(SK)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("a=%zz")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(error_shape(&r.json().await.unwrap()));
    // Over `max_body_bytes`: refused by the size layer, still in the JSON shape.
    let r = f
        .http
        .post(&url)
        .bearer_auth(SK)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("metadata[big]={}", "x".repeat(70 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(error_shape(&r.json().await.unwrap()));
    f.bank.script(
        "order-fault",
        Scenario {
            api_fault: Some(ApiFault::Error500),
            ..Scenario::default()
        },
    );
    let r = f.create(&create_pairs("order-fault"), None).await;
    assert_eq!(r.status(), 500);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "api_error");
}
