//! The provider contract as the engine keeps it: bank references mapped back, provider data
//! stored and handed back, the provider's answer in every case, unknown codes never a verdict.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;

use common::*;
use tpe_core::CheckoutStatus;
use tpe_store::PaymentStore as _;

#[tokio::test]
async fn bank_reference_and_provider_data_are_kept_and_handed_back() {
    let shop = Shop::start().await;
    let r = shop.checkout(1000, None).await;
    let d = shop.engine.checkout_detail(&r).await.unwrap().unwrap();
    assert_eq!(
        d.checkout.bank_reference.as_str(),
        bank_reference(r.as_str())
    );
    assert_eq!(
        d.checkout.provider_data.as_deref(),
        Some(format!("session-{r}").as_str())
    );
    // The reconciliation's status query gets both back.
    shop.clock.advance(jiff::SignedDuration::from_mins(16));
    shop.bank.set(&r, Remote::Pending);
    let rep = shop
        .engine
        .run_reconciliation(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!(rep.queried, 1);
    assert_eq!(
        shop.bank.last_query.lock().unwrap().clone(),
        Some((bank_reference(r.as_str()), Some(format!("session-{r}"))))
    );
    // A notification naming the bank reference finds its checkout.
    assert_eq!(
        shop.notify(notification(r.as_str(), "T1", "accepted", 1000))
            .await,
        (200, "OK-TESTBANK".into())
    );
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
}

#[tokio::test]
async fn an_unclassified_code_leaves_the_checkout_awaiting_and_alerts_the_manager() {
    let shop = Shop::start().await;
    let r = shop.checkout(1000, None).await;
    let body = notification(r.as_str(), "T1", "unclassified:00300", 1000);
    assert_eq!(shop.notify(body.clone()).await, (200, "OK-TESTBANK".into()));
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
    // A replay alerts once.
    assert_eq!(shop.notify(body).await, (200, "OK-TESTBANK".into()));
    shop.relay().await;
    let alerts = shop.mails_to(MANAGER);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].body.contains("00300"), "{}", alerts[0].body);
    assert!(shop.mails_to(CUSTOMER).is_empty());
    // The next reconciliation asks the bank, which decides.
    shop.clock.advance(jiff::SignedDuration::from_mins(16));
    shop.bank.set(&r, Remote::Paid("T1".into(), 1000));
    let rep = shop
        .engine
        .run_reconciliation(shop.clock.now_ts())
        .await
        .unwrap();
    assert_eq!((rep.queried, rep.paid), (1, 1));
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
}

#[tokio::test]
async fn every_answer_comes_from_the_provider() {
    let shop = Shop::start().await;
    let r = shop.checkout(1000, None).await;
    let good = notification(r.as_str(), "T1", "accepted", 1000);
    let forged = good.replace("amount=1000", "amount=1");
    assert_eq!(
        shop.notify(forged).await,
        (401, "NOK-TESTBANK signature".into())
    );
    assert_eq!(
        shop.notify("ref=x&sig=zz".into()).await,
        (400, "NOK-TESTBANK malformed".into())
    );
    assert_eq!(
        shop.notify(notification("NOSUCHREF", "T1", "accepted", 1000))
            .await,
        (404, "NOK-TESTBANK unknown".into())
    );
    shop.store.down.store(true, Ordering::SeqCst);
    assert_eq!(
        shop.notify(good.clone()).await,
        (503, "RETRY-TESTBANK".into())
    );
    shop.store.down.store(false, Ordering::SeqCst);
    assert_eq!(shop.notify(good).await, (200, "OK-TESTBANK".into()));
    // A handshake is answered as the provider says, and applies nothing.
    let echo = shop
        .http
        .get(format!("{}tpe/notify/testbank", shop.base))
        .header(HANDSHAKE_HEADER, "abc123")
        .send()
        .await
        .unwrap();
    assert_eq!(echo.status().as_u16(), 200);
    assert_eq!(echo.text().await.unwrap(), "abc123");
}

#[tokio::test]
async fn the_redirect_page_submits_the_signed_fields() {
    let shop = Shop::start().await;
    let started = shop
        .engine
        .start_checkout(&PROVIDER, request(1000, None))
        .await
        .unwrap();
    let html = tpe_engine::redirect_page(&started.redirect, tpe_core::Lang::Fr);
    assert!(html.contains("method=\"get\""));
    assert!(html.contains("Continuer vers le paiement"));
}

#[tokio::test]
async fn each_provider_has_its_own_size_limit() {
    let shop = Shop::start().await;
    // A form bank: 64 KiB at most.
    let form = "a".repeat(64 * 1024 + 1);
    assert_eq!(shop.notify(form).await.0, 413);
    // A JSON webhook of 300 KiB (an event with many line items) is read and verified.
    let padding = "x".repeat(300 * 1024);
    let body = format!(
        r#"{{"id":"evt_big","type":"customer.updated","data":{{"object":{{"id":"cus_1","note":"{padding}"}}}}}}"#
    );
    let t = shop.clock.now_ts().as_second();
    let header = tpe_stripe_like::generate_test_header(body.as_bytes(), STRIPE_WEBHOOK_SECRET, t);
    let post = |body: String, header: String| {
        shop.http
            .post(format!("{}tpe/notify/stripe-like", shop.base))
            .header("content-type", "application/json")
            .header("stripe-signature", header)
            .body(body)
            .send()
    };
    let r = post(body, header).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"received":true}"#);
    // Still bounded: past 1 MiB the body is refused before any verification.
    let huge = "x".repeat(1024 * 1024 + 1);
    let r = post(huge, "t=1,v1=00".into()).await.unwrap();
    assert_eq!(r.status().as_u16(), 413);
}

/// Ten checkouts at once from two engines over one database: a bank with short ids of the day
/// (`NonceSource::DailySequence`) gets ten consecutive numbers, none twice, each mapping back
/// to its checkout.
async fn daily_bank_references_never_repeat(db: common::db::Db) {
    let bank = std::sync::Arc::new(TestBank::default());
    bank.daily.store(true, Ordering::Relaxed);
    let clock = tpe_core::clock::ManualClock::new(start_time());
    let mut shops = Vec::new();
    for _ in 0..2 {
        let store = db.open().await;
        shops.push(
            Shop::start_shared(
                store,
                bank.clone(),
                clock.clone(),
                tpe_engine::MemoryMailer::new(),
            )
            .await,
        );
    }
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let engine = shops[i % 2].engine.clone();
            tokio::spawn(async move {
                engine
                    .start_checkout(&PROVIDER, request(1000, None))
                    .await
                    .unwrap()
                    .reference
            })
        })
        .collect();
    let day = start_time()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .strftime("%Y%m%d")
        .to_string();
    let mut got = std::collections::BTreeSet::new();
    for t in tasks {
        let reference = t.await.unwrap();
        let d = shops[0]
            .engine
            .checkout_detail(&reference)
            .await
            .unwrap()
            .unwrap();
        let bank_reference = d.checkout.bank_reference;
        assert_eq!(
            shops[1]
                .store
                .resolve_bank_reference(&PROVIDER, &bank_reference)
                .await
                .unwrap(),
            Some(reference)
        );
        assert!(got.insert(bank_reference.to_string()));
    }
    let expected: std::collections::BTreeSet<String> =
        (1..=10).map(|n| format!("{day}-{n:06}")).collect();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn daily_bank_references_on_sqlite() {
    daily_bank_references_never_repeat(common::db::Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn daily_bank_references_on_postgres() {
    if let Some(db) = common::db::Db::postgres() {
        daily_bank_references_never_repeat(db).await;
    }
}

/// A store too busy to answer: the notification gets the provider's "unavailable" answer
/// within the engine's deadline (2 s by default), so the bank retries; the retry is applied
/// once the store answers again (here 3 s after the first lookup began).
#[tokio::test]
async fn a_busy_store_is_answered_within_the_deadline() {
    let shop = Shop::start().await;
    let r = shop.checkout(1000, None).await;
    shop.store.stall_ms.store(3_000, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let (status, _) = shop
        .notify(notification(r.as_str(), "T1", "accepted", 1000))
        .await;
    let waited = started.elapsed();
    assert_eq!(status, 503);
    assert!(
        waited >= std::time::Duration::from_millis(1900)
            && waited < std::time::Duration::from_secs(4),
        "answered after {waited:?}"
    );
    assert_eq!(shop.status(&r).await, CheckoutStatus::AwaitingPayment);
    shop.store.stall_ms.store(0, Ordering::SeqCst);
    assert_eq!(
        shop.notify(notification(r.as_str(), "T1", "accepted", 1000))
            .await,
        (200, "OK-TESTBANK".into())
    );
    assert_eq!(shop.status(&r).await, CheckoutStatus::Valid);
}

/// The notification route takes only what the bank sends: its methods (HEAD and the others
/// answered `405` with `Allow`, nothing done), its media type (`415`), and a body whose
/// transfer is broken is `400`, not `413`.
#[tokio::test]
async fn the_notification_route_takes_only_what_the_bank_sends() {
    let shop = Shop::start().await;
    let reference = shop.checkout(4200, None).await;
    let form = notification(reference.as_str(), "T1", "accepted", 4200);
    let url = format!("{}tpe/notify/testbank", shop.base);
    let r = shop.http.head(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "GET, POST");
    // GET to a bank that only posts.
    let r = shop
        .http
        .get(format!("{}tpe/notify/stripe-like?a=1", shop.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let r = shop.http.put(&url).body(form.clone()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let r = shop
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    // A JSON bank refuses a form, whatever it says.
    let r = shop
        .http
        .post(format!("{}tpe/notify/stripe-like", shop.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    // A broken chunk size.
    let addr = shop
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /tpe/notify/testbank HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         zz\r\nabc\r\n0\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut tcp, request.as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0u8; 64];
    let n = tokio::io::AsyncReadExt::read(&mut tcp, &mut answer)
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    // None of it reached the bank: the checkout still awaits, and the bank's own form works.
    assert_eq!(
        shop.status(&reference).await,
        CheckoutStatus::AwaitingPayment
    );
    assert_eq!(shop.notify(form).await.0, 200);
    assert_eq!(shop.status(&reference).await, CheckoutStatus::Valid);
}
